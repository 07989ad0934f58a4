// Basic layers: Linear (no bias by default, as in DeepSeek), Embedding, RMSNorm.
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../tensor/random.js';
import { Module } from './module.js';
import { linear } from '../ops/matmul.js';
import { add } from '../ops/elementwise.js';
import { embedding } from '../ops/indexing.js';
import { rmsNorm } from '../ops/norm.js';

/** y = x·Wᵀ (+ b); W [out, in] as in PyTorch checkpoints; init N(0, std). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, rng: Rng, opts: { bias?: boolean; std?: number } = {}) {
    super();
    this.weight = this.param('weight', Tensor.randn([outFeatures, inFeatures], rng, opts.std ?? 0.02));
    this.bias = opts.bias ? this.param('bias', Tensor.zeros([outFeatures], { track: false })) : null;
  }
  /** x [..., in] → [..., out] */
  forward(x: Tensor): Tensor {
    const y = linear(x, this.weight);
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
