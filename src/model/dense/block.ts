// A Qwen2 / Llama decoder layer (`Qwen2DecoderLayer`): pre-norm residual blocks
//   h = x + self_attn(input_layernorm(x));  out = h + mlp(post_attention_layernorm(h))
// with the SwiGLU MLP down_proj(silu(gate_proj h) ⊙ up_proj h) that DeepSeek's dense layers share (../mlp.ts).
import { Tensor, Rng, isGradEnabled } from '../../tensor/index.js';
import { Module } from '../../nn/module.js';
import { RMSNorm } from '../../nn/layers.js';
import { residual } from '../../nn/residual.js';
import { MLP } from '../mlp.js';
import type { DenseConfig } from './config.js';
import { DenseAttention } from './attention.js';
import type { DenseAttnContext } from './attention.js';

/** One decoder layer (HF `model.layers.{L}`). */
export class DenseBlock extends Module {
  readonly inputLayernorm: RMSNorm;
  readonly selfAttn: DenseAttention;
  readonly postAttentionLayernorm: RMSNorm;
  readonly mlp: MLP;

  constructor(cfg: DenseConfig, readonly layerIdx: number, rng: Rng, std: number) {
    super();
    this.inputLayernorm = this.module('input_layernorm', new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps));
    this.selfAttn = this.module('self_attn', new DenseAttention(cfg, layerIdx, rng, std));
    this.postAttentionLayernorm = this.module('post_attention_layernorm', new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps));
    this.mlp = this.module('mlp', new MLP(cfg.hiddenSize, cfg.intermediateSize, rng, std));
  }

  /** h [B, T, D] → [B, T, D]. */
  forward(h: Tensor, ctx: DenseAttnContext): Tensor {
    // Inference (no gradients, eval mode: no balance loss left behind) releases each half's intermediates early.
    const release = !isGradEnabled() && !this.training;
    const a = residual(h, (x) => this.selfAttn.forward(this.inputLayernorm.forward(x), ctx), release);
    const out = residual(a, (x) => this.mlp.forward(this.postAttentionLayernorm.forward(x)), release);
    if (release) a.dispose(); // nothing else holds it
    return out;
  }
}
