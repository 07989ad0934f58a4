// Optimizers (AdamW, SGD) and global-norm gradient clipping.
import { Tensor } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { floatArray } from '../tensor/storage.js';

/** AdamW hyperparameters; defaults are DeepSeek-V3's (β1 0.9, β2 0.95, ε 1e-8, weight decay 0.1). */
export interface AdamWOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Parameters that get no weight decay (e.g. norms, biases); decided by a name predicate. */
  noDecay?: (name: string, t: Tensor) => boolean;
}

/** Serializable optimizer state (moments per parameter name and the step count). */
export interface OptimizerState {
  step: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

/** Decoupled-weight-decay Adam (Loshchilov & Hutter), bias-corrected, one fused kernel per tensor. */
export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  stepCount = 0;
  private readonly m = new Map<Tensor, Float32Array>();
  private readonly v = new Map<Tensor, Float32Array>();
  private readonly decay = new Map<Tensor, boolean>();

  constructor(readonly params: [string, Tensor][], opts: AdamWOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.95;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.1;
    const noDecay = opts.noDecay ?? ((_n: string, t: Tensor) => t.ndim < 2);
    for (const [n, p] of params) {
      this.m.set(p, floatArray(p.numel));
      this.v.set(p, floatArray(p.numel));
      this.decay.set(p, !noDecay(n, p));
    }
  }

  /**
   * One update of every parameter. A parameter that received no gradient this step (e.g. an expert
   * no token was routed to) is updated with a zero gradient — its moments decay and weight decay
   * applies — as with contiguous gradient buffers (Megatron); this keeps a resumed run identical
   * to an uninterrupted one.
   */
  step(): void {
    this.stepCount++;
    const k = backend();
    for (const [, p] of this.params) {
      if (!p.grad) p.grad = Tensor.zeros(p.shape, { track: false });
      const wd = this.decay.get(p) ? this.weightDecay : 0;
      k.adamw(p.numel, p.f32(), p.grad.f32(), this.m.get(p)!, this.v.get(p)!, this.lr, this.beta1, this.beta2, this.eps, wd, this.stepCount);
    }
  }

  /** Clears all gradients. */
  zeroGrad(): void {
    for (const [, p] of this.params) p.zeroGrad();
  }

  /** State for checkpoints (moments keyed by parameter name). */
  stateDict(): OptimizerState {
    const m: Record<string, Float32Array> = {}, v: Record<string, Float32Array> = {};
    for (const [n, p] of this.params) {
      m[n] = this.m.get(p)!;
      v[n] = this.v.get(p)!;
    }
    return { step: this.stepCount, m, v };
  }

  /** Restores state saved by stateDict (every parameter must be present with its size). */
  loadStateDict(s: OptimizerState): void {
    for (const [n, p] of this.params) {
      const mm = s.m[n], vv = s.v[n];
      if (!mm || !vv || mm.length !== p.numel || vv.length !== p.numel) {
        throw new Error(`AdamW.loadStateDict: state for ${n} is missing or has the wrong size (expected ${p.numel})`);
      }
      this.m.get(p)!.set(mm);
      this.v.get(p)!.set(vv);
    }
    this.stepCount = s.step;
  }
}

/** Plain SGD with optional momentum. */
export class SGD {
  private readonly buf = new Map<Tensor, Float32Array>();
  constructor(readonly params: [string, Tensor][], public lr = 1e-2, readonly momentum = 0) {}

  /** p −= lr·(momentum buffer or gradient). */
  step(): void {
    const k = backend();
    for (const [, p] of this.params) {
      if (!p.grad) continue;
      const g = p.grad.f32();
      if (this.momentum > 0) {
        let b = this.buf.get(p);
        if (!b) this.buf.set(p, (b = floatArray(p.numel)));
        for (let i = 0; i < b.length; i++) b[i] = this.momentum * b[i] + g[i];
        k.axpy(p.numel, -this.lr, b, p.f32());
      } else k.axpy(p.numel, -this.lr, g, p.f32());
    }
  }

  /** Clears all gradients. */
  zeroGrad(): void {
    for (const [, p] of this.params) p.zeroGrad();
  }
}

/** Scales all gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  const k = backend();
  let ss = 0;
  for (const p of params) if (p.grad) ss += k.sumSquares(p.numel, p.grad.f32());
  const norm = Math.sqrt(ss);
  if (Number.isFinite(norm) && norm > maxNorm && maxNorm > 0) {
    const c = maxNorm / (norm + 1e-6);
    for (const p of params) if (p.grad) k.unary('mulScalar', p.numel, p.grad.f32(), p.grad.f32(), c);
  }
  return norm;
}
