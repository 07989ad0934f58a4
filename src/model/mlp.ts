// SwiGLU feed-forward: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)) — DeepSeek's w2(silu(w1 x) * w3 x).
// Used for dense layers, for each routed expert and for the shared experts.
import { Tensor, Rng } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { concat, contiguous, groupedLinear16, linear, mul, reshape, silu, swiglu } from '../ops/index.js';
import { isGradEnabled } from '../tensor/index.js';
import { backend } from '../backend/index.js';

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
    const g16 = this.gateProj.weight16, u16 = this.upProj.weight16;
    if (g16 && u16 && g16.dtype === u16.dtype && !this.gateProj.bias && !this.upProj.bias) {
      // 16-bit resident weights (Linear.keep16) are not copied into a stack: one grouped call writes
      // gate_proj x into columns [0, I) and up_proj x into [I, 2I), at any row count.
      const D = x.shape[x.ndim - 1], I = g16.shape[0], rows = x.numel / D;
      const x2 = reshape(x, [rows, D]);
      const h = groupedLinear16(x2, [{ r0: 0, rows, col: 0, weight: g16 }, { r0: 0, rows, col: I, weight: u16 }], 2 * I);
      return this.downProj.forward(reshape(swiglu(h), [...x.shape.slice(0, -1), I]));
    }
    if (x.numel / x.shape[x.ndim - 1] < MLP.stackedMinRows || g16 || u16) {
      const I = this.gateProj.outFeatures;
      if (!g16 && !u16 && !isGradEnabled() && !this.gateProj.bias && !this.upProj.bias && I % 8 === 0) {
        return this.downProj.forward(reshape(swiglu(this.gateUpInto(x)), [...x.shape.slice(0, -1), I]));
      }
      return this.downProj.forward(mul(silu(this.gateProj.forward(x)), this.upProj.forward(x)));
    }
    const w13 = concat([this.gateProj.weight, this.upProj.weight], 0); // [2·inter, dim]
    return this.downProj.forward(swiglu(linear(x, w13)));
  }

  /**
   * Inference with few rows (decode): gate_proj x and up_proj x written side by side into one
   * h [rows, 2·inter] (gate in columns [0, inter), up in [inter, 2·inter)) by two GEMMs with row
   * stride 2·inter, for the fused SwiGLU — the same products as the two linears (bit for bit), without
   * their two outputs, the silu and the mul. x [..., dim] → h [rows, 2·inter]; no gradient. Used when
   * inter is a multiple of 8: the fused SwiGLU's scalar tail rounds differently from silu's vector one.
   */
  private gateUpInto(x: Tensor): Tensor {
    const D = x.shape[x.ndim - 1], I = this.gateProj.outFeatures, rows = x.numel / D;
    const xc = contiguous(x).f32();
    const h = Tensor.empty([rows, 2 * I]);
    const hf = h.f32();
    if (rows > 0 && I > 0) {
      const k = backend();
      k.gemm(1, false, true, rows, I, D, 1, xc, 0, D, this.gateProj.weight.f32(), 0, D, 0, hf, 0, 2 * I);
      k.gemm(1, false, true, rows, I, D, 1, xc, 0, D, this.upProj.weight.f32(), 0, D, 0, hf.subarray(I), 0, 2 * I);
    }
    return h;
  }
}
