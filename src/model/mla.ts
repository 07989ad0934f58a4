// Multi-head Latent Attention (DeepSeek-V2 §2.1, V3 eqs. 1–11; inference/model.py `MLA`).
//
//   q      = q_b_proj(q_a_layernorm(q_a_proj(x)))  or  q_proj(x)       [B, T, H, dn + dr]
//   q_pe   = RoPE(q[..., dn:])                      (adjacent pairs, YaRN)
//   kv     = kv_a_proj_with_mqa(x) → c_kv [B, T, r], k_pe [B, T, dr]; k_pe = RoPE(k_pe), shared by heads
//   naive:  k_nope, v = kv_b_proj(kv_a_layernorm(c_kv)) split per head; k = [k_nope ; k_pe]
//   absorb: W_UK folded into the query (q_lat = q_nope·W_UK [B, T, H, r]), W_UV into the output;
//           attention runs over the latent [norm(c_kv) ; k_pe] with ONE kv head — the only thing cached.
//   scale  = (dn + dr)^-½ · mscale²  (YaRN)
// Both forms are exact and differentiable; training uses naive, generation absorb.
import { Tensor, Rng, isGradEnabled } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { Linear, RMSNorm } from '../nn/layers.js';
import type { ModelConfig } from './config.js';
import { softmaxScale } from './config.js';
import { TensorError } from '../tensor/errors.js';
import type { CacheView, KVCache } from './cache.js';
import type { RopeTables } from '../ops/rope.js';
import { attention, concat, contiguous, expand, matmul, permute, reshape, rope, slice, split } from '../ops/index.js';
import { mlaDecode, mlaDecodeSupported } from './mla-decode.js';
import { arrayPathsApply } from './scratch.js';

/** Which of the two exact MLA forms to run (as `attn_impl` in DeepSeek's reference). */
export type AttnImpl = 'naive' | 'absorb';

/** Per-forward context shared by all layers. */
export interface AttnContext {
  /** Absolute position of each (batch row, token), int32 [B·T]. */
  positions: Int32Array;
  rope: RopeTables;
  impl: AttnImpl;
  /** KV cache to read and append to (generation). */
  cache?: CacheView;
  /** Cached tokens per row before this forward, [B] (with a cache). */
  starts?: Int32Array;
  /**
   * Document mask for packed training rows, additive [B, T, T]: 0 where query and key are in the same
   * document, −∞ across documents (causality is applied on top). Without a cache only.
   */
  docMask?: Tensor;
}

/** One MLA attention layer with Hugging Face tensor names under `self_attn`. */
export class MLA extends Module {
  readonly H: number;
  readonly dn: number;
  readonly dr: number;
  readonly dv: number;
  readonly r: number;
  readonly qProj: Linear | null = null;
  readonly qAProj: Linear | null = null;
  readonly qANorm: RMSNorm | null = null;
  readonly qBProj: Linear | null = null;
  readonly kvAProj: Linear;
  readonly kvANorm: RMSNorm;
  readonly kvBProj: Linear;
  readonly oProj: Linear;
  readonly scale: number;
  /** Most query rows (B·T·H) of a cached step that mla-decode.ts runs; more take the tensor path. */
  static decodeMaxRows = 64;

  constructor(readonly cfg: ModelConfig, readonly layerIdx: number, rng: Rng, std: number) {
    super();
    const D = cfg.hiddenSize;
    this.H = cfg.numAttentionHeads;
    this.dn = cfg.qkNopeHeadDim;
    this.dr = cfg.qkRopeHeadDim;
    this.dv = cfg.vHeadDim;
    this.r = cfg.kvLoraRank;
    const qk = this.dn + this.dr;
    if (cfg.qLoraRank) {
      this.qAProj = this.module('q_a_proj', new Linear(D, cfg.qLoraRank, rng, { std }));
      this.qANorm = this.module('q_a_layernorm', new RMSNorm(cfg.qLoraRank, cfg.rmsNormEps));
      this.qBProj = this.module('q_b_proj', new Linear(cfg.qLoraRank, this.H * qk, rng, { std }));
    } else {
      this.qProj = this.module('q_proj', new Linear(D, this.H * qk, rng, { std }));
    }
    this.kvAProj = this.module('kv_a_proj_with_mqa', new Linear(D, this.r + this.dr, rng, { std }));
    this.kvANorm = this.module('kv_a_layernorm', new RMSNorm(this.r, cfg.rmsNormEps));
    this.kvBProj = this.module('kv_b_proj', new Linear(this.r, this.H * (this.dn + this.dv), rng, { std }));
    this.oProj = this.module('o_proj', new Linear(this.H * this.dv, D, rng, { std }));
    this.scale = softmaxScale(cfg);
  }

  /** x [B, T, D] → [B, T, D]. */
  forward(x: Tensor, ctx: AttnContext): Tensor {
    const [B, T] = x.shape;
    const { H, dn, dr, dv, r } = this;
    // Generation steps of a few rows without gradients: the same computation on plain arrays
    // (mla-decode.ts), bit for bit. Its copies are JS loops, which lose to the tensor path's native
    // strided copies at many rows (batch-64 decode measured ~8% slower with it).
    if (ctx.cache && ctx.impl === 'absorb' && !ctx.docMask && B * T * H <= MLA.decodeMaxRows && arrayPathsApply() && mlaDecodeSupported(this)) return mlaDecode(this, x, ctx);
    // Queries.
    const qFlat = this.qProj ? this.qProj.forward(x) : this.qBProj!.forward(this.qANorm!.forward(this.qAProj!.forward(x)));
    const q = reshape(qFlat, [B, T, H, dn + dr]);
    const [qNope, qPeRaw] = split(q, [dn, dr], -1);
    const qPe = rope(qPeRaw, ctx.positions, ctx.rope); // [B, T, H, dr]
    // Latent keys/values: the normalized c_kv and the shared, rotated k_pe.
    const kv = this.kvAProj.forward(x); // [B, T, r + dr]
    const [cKv, kPeRaw] = split(kv, [r, dr], -1);
    const kPe = rope(reshape(kPeRaw, [B, T, 1, dr]), ctx.positions, ctx.rope); // [B, T, 1, dr]
    const latent = concat([reshape(this.kvANorm.forward(cKv), [B, T, 1, r]), kPe], -1); // [B, T, 1, r + dr]

    // With a cache: append this step's latents, then attend over everything cached so far.
    // The absorbed form reads the mask per (token, head) row (see below), the naive one per token.
    let keys = latent; // [B, Tk, 1, r + dr]
    let mask: Tensor | null = ctx.docMask ?? null;
    let causal = true;
    if (ctx.cache) {
      if (ctx.docMask) throw new TensorError('MLA', 'a document mask applies to training forwards, not to cached generation');
      const got = appendAndRead(ctx.cache, this.layerIdx, latent, ctx.starts!, ctx.impl === 'absorb' ? H : 1);
      keys = got.keys;
      mask = got.mask;
      causal = false; // the mask carries causality per row
    }
    const Tk = keys.shape[1];

    let o: Tensor; // [B, T, H, dv]
    if (ctx.impl === 'naive') {
      const [cAll, kPeAll] = split(keys, [r, dr], -1);
      const kvb = reshape(this.kvBProj.forward(reshape(cAll, [B, Tk, r])), [B, Tk, H, dn + dv]);
      const [kNope, v] = split(kvb, [dn, dv], -1);
      const k = concat([kNope, expand(kPeAll, [B, Tk, H, dr])], -1); // [B, Tk, H, dn + dr]
      const qFull = concat([qNope, qPe], -1);
      o = attention(qFull, k, v, { scale: this.scale, causal, mask });
    } else {
      // W = kv_b_proj.weight viewed [H, dn + dv, r]; W_UK = W[:, :dn], W_UV = W[:, dn:].
      const W = reshape(this.kvBProj.weight, [H, dn + dv, r]);
      const wUK = slice(W, 1, 0, dn); // [H, dn, r]
      const wUV = slice(W, 1, dn, dn + dv); // [H, dv, r]
      const qh = reshape(contiguous(permute(qNope, [2, 0, 1, 3])), [H, B * T, dn]);
      const qLat = permute(reshape(matmul(qh, wUK), [H, B, T, r]), [1, 2, 0, 3]); // [B, T, H, r]
      const qAbs = concat([qLat, qPe], -1); // [B, T, H, r + dr]
      let oLat: Tensor; // [B, T, H, r]
      if (ctx.cache) {
        // One latent kv head shared by all heads (MQA): the H heads of a token are H query rows
        // against the same keys — [B, T·H, 1, r + dr] — so the kernel runs one GEMM per sequence
        // instead of H matrix-vector products; the mask has one row per (token, head). The values
        // are the keys themselves (v = c_kv is their first r columns): attending with v = keys and
        // dropping the last dr output columns avoids copying a strided [B, Tk, 1, r] view.
        const q2 = reshape(qAbs, [B, T * H, 1, r + dr]);
        const o2 = attention(q2, keys, keys, { scale: this.scale, causal: false, mask }); // [B, T·H, 1, r + dr]
        oLat = slice(reshape(o2, [B, T, H, r + dr]), 3, 0, r);
      } else {
        const v = slice(keys, 3, 0, r); // [B, Tk, 1, r]
        oLat = attention(qAbs, keys, v, { scale: this.scale, causal, mask });
      }
      const oh = reshape(contiguous(permute(oLat, [2, 0, 1, 3])), [H, B * T, r]);
      o = permute(reshape(matmul(oh, permute(wUV, [0, 2, 1])), [H, B, T, dv]), [1, 2, 0, 3]); // [B, T, H, dv]
    }
    return this.oProj.forward(reshape(o, [B, T, H * dv]));
  }
}

/** Reusable read buffers of a cache (generation only: no autograd keeps them alive). */
interface ReadScratch {
  keys: Float32Array;
  mask: Float32Array;
}
const scratch = new WeakMap<KVCache, ReadScratch>();

/** A float view of n elements from a grow-only scratch array. */
function scratchView(s: ReadScratch, which: 'keys' | 'mask', n: number): Float32Array {
  if (s[which].length < n) s[which] = new Float32Array(Math.max(n, Math.ceil(s[which].length * 1.5)));
  return s[which].subarray(0, n);
}

/**
 * Writes latent [B, T, 1, w] into the cache at each row's slot after its `starts[b]` tokens, and returns
 * keys [B, Lmax, 1, w] (rows padded to the longest) with an additive mask [B, T·maskHeads, Lmax] that is
 * 0 where key j ≤ starts[b] + t and −∞ elsewhere (causality and padding in one); row (t, h) of a
 * sequence is the mask of token t, repeated for `maskHeads` heads (1: one row per token).
 * Without gradients the keys and mask live in per-cache scratch buffers (no allocation per step);
 * they are valid until the next call on the same cache.
 */
function appendAndRead(view: CacheView, layer: number, latent: Tensor, starts: Int32Array, maskHeads = 1): { keys: Tensor; mask: Tensor } {
  const { cache, slots } = view;
  const [B, T, , w] = latent.shape;
  const buf = cache.data[layer];
  const lat = contiguous(latent).f32();
  let Lmax = 0;
  for (let b = 0; b < B; b++) {
    const base = (slots[b] * cache.maxLen + starts[b]) * w;
    buf.set(lat.subarray(b * T * w, (b + 1) * T * w), base);
    Lmax = Math.max(Lmax, starts[b] + T);
  }
  const R = T * maskHeads;
  let keys: Tensor, mask: Tensor;
  if (isGradEnabled()) {
    keys = Tensor.empty([B, Lmax, 1, w]);
    mask = Tensor.empty([B, R, Lmax]);
  } else {
    let s = scratch.get(cache);
    if (!s) scratch.set(cache, (s = { keys: new Float32Array(0), mask: new Float32Array(0) }));
    keys = Tensor.from(scratchView(s, 'keys', B * Lmax * w), [B, Lmax, 1, w]);
    mask = Tensor.from(scratchView(s, 'mask', B * R * Lmax), [B, R, Lmax]);
  }
  const kd = keys.f32();
  const md = mask.f32();
  for (let b = 0; b < B; b++) {
    const len = starts[b] + T;
    const src = slots[b] * cache.maxLen * w;
    kd.set(buf.subarray(src, src + len * w), b * Lmax * w);
    if (len < Lmax) kd.fill(0, (b * Lmax + len) * w, (b + 1) * Lmax * w);
    for (let t = 0; t < T; t++) {
      const row = (b * R + t * maskHeads) * Lmax;
      const lim = starts[b] + t + 1; // keys [0, lim) are visible
      md.fill(0, row, row + lim);
      md.fill(-Infinity, row + lim, row + Lmax);
      for (let h = 1; h < maskHeads; h++) md.copyWithin(row + h * Lmax, row, row + Lmax);
    }
  }
  return { keys, mask };
}
