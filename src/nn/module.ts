// Module: a tree of named parameters and submodules. Names join with '.', so a model's
// `namedParameters()` are exactly its Hugging Face tensor names
// (e.g. `model.layers.0.self_attn.kv_a_proj_with_mqa.weight`).
import { Tensor } from '../tensor/tensor.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { keep } from '../tensor/scope.js';

/** Base class of layers and models. */
export class Module {
  private readonly _params = new Map<string, Tensor>();
  private readonly _modules = new Map<string, Module>();
  /** Training mode flag (tinyseek has no dropout; kept for API parity and for MoE statistics). */
  training = true;

  /** Registers a parameter tensor (a leaf that requires grad) under a local name. */
  param(name: string, t: Tensor): Tensor {
    keep(t).requiresGrad_(true);
    this._params.set(name, t);
    return t;
  }

  /** Registers a non-trainable tensor saved with the parameters (e.g. the gate's e_score_correction_bias). */
  buffer(name: string, t: Tensor): Tensor {
    keep(t).requiresGrad_(false);
    this._params.set(name, t);
    return t;
  }

  /** Registers a submodule under a local name (dots allowed, e.g. "experts.3"). */
  module<M extends Module>(name: string, m: M): M {
    this._modules.set(name, m);
    return m;
  }

  /** Removes a submodule registered under a local name (expert parallelism drops the experts another rank holds). */
  removeModule(name: string): void {
    if (!this._modules.delete(name)) throw new TensorError('removeModule', `no submodule named "${name}"`);
  }

  /** All tensors (parameters and buffers) with full dotted names, in registration order. */
  namedTensors(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this._params) out.push([prefix + n, t]);
    for (const [n, m] of this._modules) out.push(...m.namedTensors(`${prefix}${n}.`));
    return out;
  }

  /** This module and every submodule, with full dotted names ('' for this one), depth first. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, m] of this._modules) out.push(...m.namedModules(`${prefix}${n}.`));
    return out;
  }

  /** Trainable parameters with full dotted names. */
  namedParameters(prefix = ''): [string, Tensor][] {
    return this.namedTensors(prefix).filter(([, t]) => t.requiresGrad);
  }

  /** Trainable parameters. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Number of trainable parameters. */
  numParameters(): number {
    return this.parameters().reduce((a, t) => a + t.numel, 0);
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Sets training mode recursively. */
  train(on = true): this {
    this.training = on;
    for (const m of this._modules.values()) m.train(on);
    return this;
  }

  /** Inference mode. */
  eval(): this {
    return this.train(false);
  }

  /** name → tensor map of all tensors, after naming each tensor (`t.name`). */
  stateDict(): Map<string, Tensor> {
    const m = new Map<string, Tensor>();
    for (const [n, t] of this.namedTensors()) {
      t.name = n;
      m.set(n, t);
    }
    return m;
  }

  /**
   * Copies values from a name → data map into the tensors (shapes must match). Reports every
   * missing, unexpected and mis-shaped entry at once when `strict`.
   */
  loadStateDict(src: Map<string, { shape: readonly number[]; data: Float32Array }>, strict = true): void {
    const own = this.stateDict();
    const problems: string[] = [];
    for (const [n, t] of own) {
      const s = src.get(n);
      if (!s) { problems.push(`missing ${n} ${fmtShape(t.shape)}`); continue; }
      if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
        problems.push(`${n}: expected shape ${fmtShape(t.shape)}, found ${fmtShape(s.shape)}`);
        continue;
      }
      t.f32().set(s.data);
    }
    for (const n of src.keys()) if (!own.has(n)) problems.push(`unexpected ${n}`);
    if (strict && problems.length) throw new TensorError('loadStateDict', `${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  }
}
