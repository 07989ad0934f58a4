// SwiGLU feed-forward: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)) — DeepSeek's w2(silu(w1 x) * w3 x).
// Used for dense layers, for each routed expert and for the shared experts.
import { Tensor, Rng } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { concat, linear, mul, silu, swiglu } from '../ops/index.js';

/** SwiGLU MLP with Hugging Face names gate_proj (w1), up_proj (w3), down_proj (w2). */
export class MLP extends Module {
  readonly gateProj: Linear;
  readonly upProj: Linear;
  readonly downProj: Linear;
  constructor(dim: number, interDim: number, rng: Rng, std: number) {
    super();
    this.gateProj = this.module('gate_proj', new Linear(dim, interDim, rng, { std }));
    this.upProj = this.module('up_proj', new Linear(dim, interDim, rng, { std }));
    this.downProj = this.module('down_proj', new Linear(interDim, dim, rng, { std }));
  }
  /**
   * Rows (tokens) from which gate_proj and up_proj run as one GEMM over their stacked weights; with
   * fewer (decode), stacking the weights costs more than the two matrix-vector products it saves.
   */
  static stackedMinRows = 32;

  /**
   * x [..., dim] → [..., dim]. With enough rows, gate_proj and up_proj run as one GEMM over their
   * stacked weights [2·inter, dim] (one larger matmul instead of two, which matters for small
   * experts), then the fused SwiGLU gating; otherwise silu(gate_proj x) ⊙ up_proj x directly.
   */
  forward(x: Tensor): Tensor {
    // 16-bit resident weights (Linear.keep16) cannot be stacked: each projection widens its own.
    if (x.numel / x.shape[x.ndim - 1] < MLP.stackedMinRows || this.gateProj.weight16 || this.upProj.weight16) {
      return this.downProj.forward(mul(silu(this.gateProj.forward(x)), this.upProj.forward(x)));
    }
    const w13 = concat([this.gateProj.weight, this.upProj.weight], 0); // [2·inter, dim]
    return this.downProj.forward(swiglu(linear(x, w13)));
  }
}
