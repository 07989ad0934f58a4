// Grouped-query self-attention of Qwen2 / Llama (transformers' `Qwen2Attention` / `LlamaAttention`):
//
//   q = q_proj(x) [B, T, H, hd],  k = k_proj(x), v = v_proj(x) [B, T, Hkv, hd]   (q/k/v biases: Qwen2;
//                                                                                 attention_bias: Llama)
//   q, k = RoPE_rotate_half(q, k; rope_theta)
//   o = softmax(q·kᵀ / √hd + causal mask) · v, query head h reading kv head ⌊h / (H/Hkv)⌋ (repeat_kv)
//   out = o_proj(o [B, T, H·hd])                                                  (bias: Llama attention_bias)
// The fused attention op takes Hkv < H directly (no repeated copies of k and v).
import { Tensor, Rng } from '../../tensor/index.js';
import { TensorError } from '../../tensor/errors.js';
import { Module } from '../../nn/module.js';
import { Linear } from '../../nn/layers.js';
import { attention, reshape } from '../../ops/index.js';
import type { RopeTables } from '../../ops/rope.js';
import type { DenseConfig } from './config.js';
import type { GqaCacheView } from './cache.js';
import { gqaAppendAndRead } from './cache.js';
import { ropeHalf } from './rotary.js';

/** Per-forward context shared by all layers. */
export interface DenseAttnContext {
  /** Absolute position of each (batch row, token), int32 [B·T]. */
  positions: Int32Array;
  rope: RopeTables;
  /** KV cache to read and append to (generation). */
  cache?: GqaCacheView;
  /** Cached tokens per row before this forward, [B] (with a cache). */
  starts?: Int32Array;
  /** Packed training rows: additive [B, T, T] mask, −∞ across documents (causality on top). */
  docMask?: Tensor;
}

/** One GQA attention layer with Hugging Face tensor names under `self_attn`. */
export class DenseAttention extends Module {
  readonly H: number;
  readonly Hkv: number;
  readonly hd: number;
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly oProj: Linear;

  constructor(cfg: DenseConfig, readonly layerIdx: number, rng: Rng, std: number) {
    super();
    const D = cfg.hiddenSize;
    this.H = cfg.numAttentionHeads;
    this.Hkv = cfg.numKeyValueHeads;
    this.hd = cfg.headDim;
    this.qProj = this.module('q_proj', new Linear(D, this.H * this.hd, rng, { std, bias: cfg.qkvBias }));
    this.kProj = this.module('k_proj', new Linear(D, this.Hkv * this.hd, rng, { std, bias: cfg.qkvBias }));
    this.vProj = this.module('v_proj', new Linear(D, this.Hkv * this.hd, rng, { std, bias: cfg.qkvBias }));
    this.oProj = this.module('o_proj', new Linear(this.H * this.hd, D, rng, { std, bias: cfg.oBias }));
  }

  /** x [B, T, D] → [B, T, D]. */
  forward(x: Tensor, ctx: DenseAttnContext): Tensor {
    const [B, T] = x.shape;
    const { H, Hkv, hd } = this;
    const q = ropeHalf(reshape(this.qProj.forward(x), [B, T, H, hd]), ctx.positions, ctx.rope); // [B, T, H, hd]
    let k = ropeHalf(reshape(this.kProj.forward(x), [B, T, Hkv, hd]), ctx.positions, ctx.rope); // [B, T, Hkv, hd]
    let v = reshape(this.vProj.forward(x), [B, T, Hkv, hd]); // [B, T, Hkv, hd]
    let mask: Tensor | null = ctx.docMask ?? null;
    let causal = true;
    if (ctx.cache) {
      if (ctx.docMask) throw new TensorError('DenseAttention', 'a document mask applies to training forwards, not to cached generation');
      const got = gqaAppendAndRead(ctx.cache, this.layerIdx, k, v, ctx.starts!);
      k = got.keys; // [B, Lmax, Hkv, hd]
      v = got.values;
      mask = got.mask; // [B, T, Lmax]: causality and padding per row
      causal = false;
    }
    const o = attention(q, k, v, { scale: 1 / Math.sqrt(hd), causal, mask }); // [B, T, H, hd]
    return this.oProj.forward(reshape(o, [B, T, H * hd]));
  }
}
