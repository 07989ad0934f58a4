// Multi-Token Prediction module (DeepSeek-V3 §2.2), stored as `model.layers.{num_hidden_layers + k}`.
//
//   h'_i = eh_proj([enorm(Emb(t_{i+k})) ; hnorm(h^{k−1}_i)])    (embedding first, as real checkpoints)
//   h^k  = TRM_k(h')                                             (one full decoder layer)
//   P^k_{i+k+1} = OutHead(shared_head.norm(h^k_i))              (embedding and head shared with the main model)
// h^0 is the main model's final hidden state after its final norm (the input of lm_head), as the
// inference engines that run DeepSeek's checkpoints feed it.
import { Tensor, Rng } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { Linear, RMSNorm } from '../nn/layers.js';
import type { ModelConfig } from './config.js';
import { Block } from './block.js';
import type { AttnContext } from './mla.js';
import { concat } from '../ops/index.js';

/** One MTP depth. */
export class MTPModule extends Module {
  readonly enorm: RMSNorm;
  readonly hnorm: RMSNorm;
  readonly ehProj: Linear;
  readonly block: Block;
  readonly headNorm: RMSNorm;

  constructor(cfg: ModelConfig, readonly depth: number, rng: Rng, std: number) {
    super();
    const D = cfg.hiddenSize;
    const layerIdx = cfg.numHiddenLayers + depth - 1;
    this.enorm = this.module('enorm', new RMSNorm(D, cfg.rmsNormEps));
    this.hnorm = this.module('hnorm', new RMSNorm(D, cfg.rmsNormEps));
    this.ehProj = this.module('eh_proj', new Linear(2 * D, D, rng, { std }));
    // The decoder layer's tensors sit directly under model.layers.{N} (self_attn.*, mlp.*, *_layernorm).
    // Its attention caches into layer depth−1 of a separate MTP KVCache (see DeepseekV3.newMtpCache).
    this.block = new Block(cfg, layerIdx, rng, std, undefined, depth - 1);
    for (const [n, m] of [['input_layernorm', this.block.inputLayernorm], ['self_attn', this.block.selfAttn], ['post_attention_layernorm', this.block.postAttentionLayernorm], ['mlp', this.block.mlp]] as const) {
      this.module(n, m);
    }
    this.headNorm = this.module('shared_head.norm', new RMSNorm(D, cfg.rmsNormEps));
  }

  /**
   * h [B, T, D] (previous depth's hidden states for positions i) and emb [B, T, D] (embeddings of the
   * tokens at i + depth) → this depth's hidden states [B, T, D] (before shared_head.norm).
   */
  forward(h: Tensor, emb: Tensor, ctx: AttnContext): Tensor {
    const x = this.ehProj.forward(concat([this.enorm.forward(emb), this.hnorm.forward(h)], -1));
    return this.block.forward(x, ctx);
  }
}
