// SwiGLU feed-forward: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)) — DeepSeek's w2(silu(w1 x) * w3 x).
// Used for dense layers, for each routed expert and for the shared experts.
import { Tensor, Rng } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { concat, contiguous, groupedLinear16, linear, mul, reshape, silu, swiglu } from '../ops/index.js';
import { backend } from '../backend/index.js';
import { Scratch, arrayPathsApply } from './scratch.js';

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
  /** Intermediates of the inference path on plain arrays (created on first use). */
  private scratch: Scratch | null = null;

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
      if (arrayPathsApply() && this.arraysSupported()) {
        // Inference (decode): the products and the fused SwiGLU on plain arrays, no tensor per step.
        const D = x.shape[x.ndim - 1];
        const y = Tensor.empty(x.shape);
        this.forwardArrays(contiguous(x).f32(), x.numel / D, y.f32(), (this.scratch ??= new Scratch()));
        return y;
      }
      return this.downProj.forward(mul(silu(this.gateProj.forward(x)), this.upProj.forward(x)));
    }
    const w13 = concat([this.gateProj.weight, this.upProj.weight], 0); // [2·inter, dim]
    return this.downProj.forward(swiglu(linear(x, w13)));
  }

  /**
   * Whether forwardArrays applies: float32 weights without biases and inter a multiple of 8 (the
   * fused SwiGLU's scalar tail rounds differently from silu's vector one).
   */
  arraysSupported(): boolean {
    const ls = [this.gateProj, this.upProj, this.downProj];
    return ls.every((l) => !l.weight16 && !l.bias) && this.gateProj.outFeatures % 8 === 0;
  }

  /**
   * The few-row inference forward on plain arrays: y [rows, dim] = down_proj(swiglu(h)) with h = [gate_proj x ;
   * up_proj x] [rows, 2·inter], for x [rows, dim]: gate_proj and up_proj written side by side (row stride
   * 2·inter) for the fused SwiGLU — the same products as the two linears, bit for bit, and the same
   * values as silu(gate_proj x) ⊙ up_proj x (inter % 8 = 0) — without tensors; h and the SwiGLU output
   * live in `scratch`. Only where arraysSupported() and rows < stackedMinRows (more rows stack the
   * weights into one GEMM, whose sums differ).
   */
  forwardArrays(x: Float32Array, rows: number, y: Float32Array, scratch: Scratch): void {
    const D = this.gateProj.inFeatures, I = this.gateProj.outFeatures;
    const k = backend();
    const h = scratch.get('mlp.h', rows * 2 * I), g = scratch.get('mlp.swiglu', rows * I);
    k.gemm(1, false, true, rows, I, D, 1, x, 0, D, this.gateProj.weight.f32(), 0, D, 0, h, 0, 2 * I);
    k.gemm(1, false, true, rows, I, D, 1, x, 0, D, this.upProj.weight.f32(), 0, D, 0, h.subarray(I), 0, 2 * I);
    k.swiglu(rows, I, g, h);
    k.gemm(1, false, true, rows, D, I, 1, g, 0, I, this.downProj.weight.f32(), 0, I, 0, y, 0, D);
  }
}
