// SwiGLU feed-forward: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)) — DeepSeek's w2(silu(w1 x) * w3 x).
// Used for dense layers, for each routed expert and for the shared experts.
import { Tensor, Rng } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { mul, silu } from '../ops/index.js';

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
  /** x [..., dim] → [..., dim] */
  forward(x: Tensor): Tensor {
    return this.downProj.forward(mul(silu(this.gateProj.forward(x)), this.upProj.forward(x)));
  }
}
