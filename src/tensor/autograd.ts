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
  // Topological order by iterative DFS.
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
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
      if (c.requiresGrad && !visited.has(c)) stack.push([c, 0]);
    } else {
      stack.pop();
      order.push(t);
    }
  }
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    const seed = grad ?? onesLike(root);
    grads.set(root, seed);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        accumulateLeaf(t, g);
        if (g !== seed) g.dispose();
        continue;
      }
      const gs = t.node.backward(g);
      const inputs = t.node.inputs;
      for (let j = 0; j < inputs.length; j++) {
        const inp = inputs[j];
        const gi = gs[j];
        if (!gi || !inp.requiresGrad) continue;
        if (gi.shape.length !== inp.shape.length || gi.shape.some((d, q) => d !== inp.shape[q])) {
          throw new TensorError(`backward of ${t.node.op}`, `gradient shape ${fmtShape(gi.shape)} does not match input shape ${fmtShape(inp.shape)}`);
        }
        const prev = grads.get(inp);
        if (prev) {
          grads.set(inp, prev.add(gi));
        } else grads.set(inp, gi);
      }
    }
  });
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
