// A pre-norm decoder layer: x = x + attn(input_layernorm(x)); x = x + ffn(post_attention_layernorm(x)),
// with a dense SwiGLU MLP for the first `first_k_dense_replace` layers and DeepSeekMoE after.
import { Tensor, Rng, isGradEnabled } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { RMSNorm } from '../nn/layers.js';
import type { ModelConfig } from './config.js';
import { isMoeLayer } from './config.js';
import { MLA } from './mla.js';
import type { AttnContext } from './mla.js';
import { MLP } from './mlp.js';
import { MoE } from './moe.js';
import { residual } from '../nn/residual.js';

/** One decoder layer (HF `model.layers.{L}`). */
export class Block extends Module {
  readonly inputLayernorm: RMSNorm;
  readonly selfAttn: MLA;
  readonly postAttentionLayernorm: RMSNorm;
  readonly mlp: MLP | MoE;

  /** `cacheLayer` is this layer's index in the KV cache (MTP layers use their own caches). */
  constructor(cfg: ModelConfig, readonly layerIdx: number, rng: Rng, std: number, moe = cfg.nRoutedExperts > 0 && isMoeLayer(cfg, layerIdx), cacheLayer = layerIdx) {
    super();
    this.inputLayernorm = this.module('input_layernorm', new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps));
    this.selfAttn = this.module('self_attn', new MLA(cfg, cacheLayer, rng, std));
    this.postAttentionLayernorm = this.module('post_attention_layernorm', new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps));
    this.mlp = moe ? this.module('mlp', new MoE(cfg, rng, std)) : this.module('mlp', new MLP(cfg.hiddenSize, cfg.intermediateSize, rng, std));
  }

  /** h [B, T, D] → [B, T, D]. */
  forward(h: Tensor, ctx: AttnContext): Tensor {
    // Inference (no gradients, eval mode: no balance loss left behind) releases each half's intermediates early.
    const release = !isGradEnabled() && !this.training;
    const a = residual(h, (x) => this.selfAttn.forward(this.inputLayernorm.forward(x), ctx), release);
    const out = residual(a, (x) => this.mlp.forward(this.postAttentionLayernorm.forward(x)), release);
    if (release) a.dispose(); // nothing else holds it
    return out;
  }
}
