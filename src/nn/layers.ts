// Basic layers: Linear (no bias by default, as in DeepSeek), Embedding, RMSNorm.
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../tensor/random.js';
import { Module } from './module.js';
import { TensorError } from '../tensor/errors.js';
import { linear, linear16 } from '../ops/matmul.js';
import type { Weight16 } from '../ops/matmul.js';
import { Storage } from '../tensor/storage.js';
import { add } from '../ops/elementwise.js';
import { embedding } from '../ops/indexing.js';
import { rmsNorm } from '../ops/norm.js';

let deferInit = false;

/**
 * Builds modules whose Linear weights get no float32 data (an empty storage, filled later by
 * `Linear.allocate` or replaced by `keep16`): a loader that keeps weights 16-bit then never holds
 * the float32 copy, so memory peaks at the 16-bit size.
 */
export function withDeferredLinearInit<T>(fn: () => T): T {
  const prev = deferInit;
  deferInit = true;
  try {
    return fn();
  } finally {
    deferInit = prev;
  }
}

/** y = x·Wᵀ (+ b); W [out, in] as in PyTorch checkpoints; init N(0, std). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, rng: Rng, opts: { bias?: boolean; std?: number } = {}) {
    super();
    this.weight = this.param('weight', deferInit
      ? new Tensor(new Storage(new Float32Array(0), false), [outFeatures, inFeatures])
      : Tensor.randn([outFeatures, inFeatures], rng, opts.std ?? 0.02));
    this.bias = opts.bias ? this.param('bias', Tensor.zeros([outFeatures], { track: false })) : null;
  }
  /** The weight as 16-bit bits when kept resident 16-bit (keep16), else null. */
  weight16: Weight16 | null = null;

  /**
   * Inference only: holds the weight as BF16/F16 bits [out, in] (half the bytes of float32) and frees
   * its float32 data; forward then widens on the fly (linear16). The weight tensor keeps its shape and
   * name, but reading its data, training (train(true)) or a forward that records gradients is refused
   * with an error naming the `weights` load option.
   */
  keep16(dtype: 'bf16' | 'f16', bits: Uint16Array): void {
    if (bits.length !== this.outFeatures * this.inFeatures) {
      throw new TensorError('Linear.keep16', `expected ${this.outFeatures}×${this.inFeatures} = ${this.outFeatures * this.inFeatures} weights, found ${bits.length}`);
    }
    this.weight16 = { dtype, bits, shape: [this.outFeatures, this.inFeatures] };
    this.weight.storage.discard();
    this.weight.storage = new Storage(new Float32Array(0), false);
  }

  /** Gives a weight built under withDeferredLinearInit its float32 storage (zeros) if it has none. */
  allocate(): void {
    if (this.weight.storage.data.length === 0 && this.weight.numel > 0) this.weight.storage = new Storage(new Float32Array(this.weight.numel), false);
  }

  override train(on = true): this {
    if (on && this.weight16) {
      throw new TensorError('Linear.train', `weight ${this.weight.name || `[${this.outFeatures}, ${this.inFeatures}]`} is resident ${this.weight16.dtype}: the model was loaded with weights '${this.weight16.dtype}' (--weights ${this.weight16.dtype}), which is inference-only; load it with weights 'f32' (--weights f32, the default) to train`);
    }
    return super.train(on);
  }

  /** x [..., in] → [..., out] */
  forward(x: Tensor): Tensor {
    const y = this.weight16 ? linear16(x, this.weight16) : linear(x, this.weight);
    return this.bias ? add(y, this.bias) : y;
  }
}

/** Token embedding table [V, D]. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly dim: number, rng: Rng, std = 0.02) {
    super();
    this.weight = this.param('weight', Tensor.randn([numEmbeddings, dim], rng, std));
  }
  /** ids int32 [...] → [..., D] */
  forward(ids: Tensor | Int32Array): Tensor {
    return embedding(this.weight, ids);
  }
}

/** RMSNorm with a learned scale initialized to ones. */
export class RMSNorm extends Module {
  readonly weight: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-6) {
    super();
    this.weight = this.param('weight', Tensor.ones([dim]));
  }
  /** x [..., D] → [..., D] */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}
