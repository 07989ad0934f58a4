// The autograd tape: each op result records a GradNode (its inputs and a backward
// function); `runBackward` walks the recorded graph in reverse topological order.
import type { Tensor } from './tensor.js';
import { TensorError, fmtShape } from './errors.js';
import { noGrad } from './scope.js';
import { backend } from '../backend/index.js';

/** One recorded op: its inputs and the function mapping the output gradient to input gradients. */
export interface GradNode {
  /** Op name, for errors and debugging. */
  op: string;
  inputs: Tensor[];
  /** Returns one gradient per input (null where the input needs none); shapes equal the inputs'. */
  backward(grad: Tensor): (Tensor | null)[];
}

/** Reverse-mode differentiation from `root` (scalar unless `grad` is given); leaves accumulate into `.grad`. */
export function runBackward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) throw new TensorError('backward', `the tensor ${fmtShape(root.shape)} does not require grad (no parameter in its graph, or computed under noGrad)`);
  if (!grad && root.numel !== 1) throw new TensorError('backward', `expected a scalar loss or an explicit gradient, found shape ${fmtShape(root.shape)}`);
  backwardFrom([[root, grad]]);
}

/** A root of a backward pass and its output gradient (omitted: ones, for a scalar loss). */
export type BackwardSeed = [Tensor, Tensor | undefined];

/**
 * Reverse-mode differentiation from several roots at once (a pipeline stage: its output with the
 * gradient received from the next stage, plus its own scalar loss terms). Roots that do not require
 * grad are skipped. Equivalent to one backward of Σ_i <root_i, grad_i>.
 */
export function backwardFrom(seeds: BackwardSeed[]): void {
  const live = seeds.filter(([t]) => t.requiresGrad);
  if (!live.length) return;
  const order = topoOrder(live.map(([t]) => t), () => true);
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    const mine = new Set<Tensor>(); // seed gradients the caller owns (never disposed here)
    for (const [t, g] of live) {
      const seed = g ?? onesLike(t);
      mine.add(seed);
      addGrad(grads, t, seed);
    }
    propagate(order, grads, mine, () => true, null);
  });
}

/**
 * The weight-gradient half of a split backward (Zero Bubble's W): the output gradients of the ops
 * whose weight-side inputs were skipped by `backwardInputs`, kept until `run()`.
 */
export class DeferredWeightGrad {
  private done = false;
  constructor(private readonly items: { node: GradNode; grad: Tensor; toInput: boolean[] }[]) {}

  /** Number of ops whose weight gradients are pending. */
  get pending(): number {
    return this.done ? 0 : this.items.length;
  }

  /** Computes the deferred weight gradients and accumulates them into the parameters' `.grad`. */
  run(): void {
    if (this.done) throw new TensorError('backward', 'the deferred weight gradient was already computed');
    this.done = true;
    noGrad(() => {
      const grads = new Map<Tensor, Tensor>();
      const none = new Set<Tensor>();
      for (const { node, grad, toInput } of this.items) {
        const gs = withGradOff(node.inputs, toInput, () => node.backward(grad));
        node.inputs.forEach((inp, j) => {
          const gi = gs[j];
          if (!toInput[j] && gi && inp.requiresGrad) addGrad(grads, inp, checkShape(node, gi, inp));
        });
      }
      const roots = [...grads.keys()];
      if (roots.length) propagate(topoOrder(roots, () => true), grads, none, () => true, null);
    });
    this.items.length = 0;
  }
}

/**
 * Zero Bubble's B: the backward from `seeds` restricted to what the gradient of the `inputs` needs
 * (the activations received from the previous stage), leaving the parameters' weight gradients for
 * the returned DeferredWeightGrad. Every op on the path from the seeds to the inputs runs its backward
 * with its weight-side operands marked as not requiring grad (so a linear computes dX and skips dW),
 * and its output gradient is kept for the W pass. Leaves in `inputs` accumulate into `.grad` now.
 * backwardInputs + run() accumulate the same gradients as backwardFrom (up to summation order).
 */
export function backwardInputs(seeds: BackwardSeed[], inputs: Tensor[]): DeferredWeightGrad {
  const live = seeds.filter(([t]) => t.requiresGrad);
  const deferred: { node: GradNode; grad: Tensor; toInput: boolean[] }[] = [];
  if (!live.length) return new DeferredWeightGrad(deferred);
  const order = topoOrder(live.map(([t]) => t), () => true);
  // toInput(t): an input leaf is reachable from t (t lies on a path root → input)
  const inputSet = new Set(inputs);
  const toInput = new Set<Tensor>();
  for (const t of order) {
    if (t.node ? t.node.inputs.some((x) => toInput.has(x)) : inputSet.has(t)) toInput.add(t);
  }
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    const mine = new Set<Tensor>();
    for (const [t, g] of live) {
      const seed = g ?? onesLike(t);
      mine.add(seed);
      if (toInput.has(t)) addGrad(grads, t, seed);
      else if (t.node) deferred.push({ node: t.node, grad: seed, toInput: t.node.inputs.map(() => false) }); // a root with no path to the inputs: all W
    }
    propagate(order, grads, mine, (t) => toInput.has(t), (node, g, mask) => deferred.push({ node, grad: g, toInput: mask }));
  });
  return new DeferredWeightGrad(deferred);
}

/** Tensors reachable from the roots through inputs that require grad, inputs before their consumers. */
function topoOrder(roots: Tensor[], follow: (t: Tensor) => boolean): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  for (const root of roots) {
    const stack: [Tensor, number][] = [[root, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [t, i] = top;
      if (i === 0) {
        if (visited.has(t)) { stack.pop(); continue; }
        visited.add(t);
      }
      const inputs = t.node ? t.node.inputs : [];
      if (i < inputs.length) {
        top[1]++;
        const c = inputs[i];
        if (c.requiresGrad && !visited.has(c) && follow(c)) stack.push([c, 0]);
      } else {
        stack.pop();
        order.push(t);
      }
    }
  }
  return order;
}

/**
 * Walks `order` backwards, mapping each tensor's gradient to its inputs' (only inputs passing
 * `keep`); leaves accumulate. With `defer`, an op's inputs that fail `keep` are marked as not
 * requiring grad while its backward runs, and (node, output gradient, mask) is handed to `defer`.
 */
function propagate(
  order: Tensor[],
  grads: Map<Tensor, Tensor>,
  mine: Set<Tensor>,
  keep: (t: Tensor) => boolean,
  defer: ((node: GradNode, g: Tensor, toInput: boolean[]) => void) | null,
): void {
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const g = grads.get(t);
    if (!g) continue;
    grads.delete(t);
    if (!t.node) {
      accumulateLeaf(t, g);
      if (!mine.has(g)) g.dispose();
      continue;
    }
    const node = t.node;
    const inputs = node.inputs;
    let gs: (Tensor | null)[];
    if (defer) {
      const mask = inputs.map((x) => keep(x));
      gs = withGradOff(inputs, mask.map((m) => !m), () => node.backward(g));
      if (inputs.some((x, j) => !mask[j] && x.requiresGrad)) {
        mine.add(g); // kept for the W pass: never disposed by a leaf that receives it unchanged
        defer(node, g, mask);
      }
    } else gs = node.backward(g);
    for (let j = 0; j < inputs.length; j++) {
      const inp = inputs[j];
      const gi = gs[j];
      if (!gi || !inp.requiresGrad || !keep(inp)) continue;
      addGrad(grads, inp, checkShape(node, gi, inp));
    }
  }
}

/** Runs fn with `requiresGrad` off on the inputs where off[j] (restored afterwards). */
function withGradOff<T>(inputs: Tensor[], off: boolean[], fn: () => T): T {
  const saved = inputs.map((x) => x.requiresGrad);
  inputs.forEach((x, j) => { if (off[j]) x.requiresGrad = false; });
  try {
    return fn();
  } finally {
    // restore in reverse: an input listed twice gets its original flag back
    for (let j = inputs.length - 1; j >= 0; j--) inputs[j].requiresGrad = saved[j];
  }
}

function checkShape(node: GradNode, gi: Tensor, inp: Tensor): Tensor {
  if (gi.shape.length !== inp.shape.length || gi.shape.some((d, q) => d !== inp.shape[q])) {
    throw new TensorError(`backward of ${node.op}`, `gradient shape ${fmtShape(gi.shape)} does not match input shape ${fmtShape(inp.shape)}`);
  }
  return gi;
}

function addGrad(grads: Map<Tensor, Tensor>, t: Tensor, g: Tensor): void {
  const prev = grads.get(t);
  grads.set(t, prev ? prev.add(g) : g);
}

function onesLike(t: Tensor): Tensor {
  const Ctor = t.constructor as unknown as { full(shape: readonly number[], v: number): Tensor };
  return Ctor.full(t.shape, 1);
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  const Ctor = leaf.constructor as unknown as { zeros(shape: readonly number[], opts: { track: boolean }): Tensor };
  if (!leaf.grad) leaf.grad = Ctor.zeros(leaf.shape, { track: false });
  const gc = g.contiguous();
  const dst = leaf.grad.f32();
  backend().axpy(dst.length, 1, gc.f32(), dst);
  if (gc !== g) gc.dispose();
  leaf.runGradHooks();
}
