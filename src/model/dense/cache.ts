// The KV cache of grouped-query attention: per layer and token the rotated keys and the values of
// the num_key_value_heads heads — 2 · Hkv · head_dim values (an MLA cache holds kv_lora_rank +
// qk_rope_head_dim) — for a fixed number of sequence slots. Same slot/length interface as the MLA
// cache (../cache.ts), so the generator's continuous batching and prefix sharing work on both.
import { Tensor, isGradEnabled } from '../../tensor/index.js';
import { SlotCache } from '../slot-cache.js';
import { contiguous } from '../../ops/index.js';
import type { DenseConfig } from './config.js';

/** GQA KV cache: `slots` sequences of up to `maxLen` tokens; per layer [slots, maxLen, 2·Hkv·head_dim] — a token's keys [Hkv, hd] then its values [Hkv, hd]. */
export class GqaKVCache extends SlotCache {
  /** Hkv·head_dim: where a token's values start. */
  readonly kvDim: number;

  constructor(readonly cfg: DenseConfig, slots: number, maxLen: number, layers = cfg.numHiddenLayers) {
    super(slots, maxLen, 2 * cfg.numKeyValueHeads * cfg.headDim, layers);
    this.kvDim = cfg.numKeyValueHeads * cfg.headDim;
  }
}

/** Where a forward pass reads and writes the GQA cache. */
export interface GqaCacheView {
  cache: GqaKVCache;
  /** Cache slot of each batch row [B]. */
  slots: Int32Array;
}

/** Reusable read buffers of a cache (generation only). */
interface Scratch { keys: Float32Array; values: Float32Array; mask: Float32Array }
const scratch = new WeakMap<GqaKVCache, Scratch>();

function view(s: Scratch, which: keyof Scratch, n: number): Float32Array {
  if (s[which].length < n) s[which] = new Float32Array(Math.max(n, Math.ceil(s[which].length * 1.5)));
  return s[which].subarray(0, n);
}

/**
 * Writes this step's k, v [B, T, Hkv, hd] into layer `layer` at each row's slot after its `starts[b]`
 * tokens, and returns every cached key and value [B, Lmax, Hkv, hd] (rows padded to the longest) with
 * an additive mask [B, T, Lmax]: 0 where key j ≤ starts[b] + t, −∞ elsewhere (causality and padding).
 * Without gradients the results live in per-cache scratch buffers, valid until the next call.
 */
export function gqaAppendAndRead(v: GqaCacheView, layer: number, k: Tensor, val: Tensor, starts: Int32Array): { keys: Tensor; values: Tensor; mask: Tensor } {
  const { cache, slots } = v;
  const [B, T, Hkv, hd] = k.shape;
  const kd = cache.kvDim, w = cache.width;
  const buf = cache.data[layer];
  const kc = contiguous(k).f32(), vc = contiguous(val).f32();
  let Lmax = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const dst = (slots[b] * cache.maxLen + starts[b] + t) * w;
      const src = (b * T + t) * kd;
      buf.set(kc.subarray(src, src + kd), dst);
      buf.set(vc.subarray(src, src + kd), dst + kd);
    }
    Lmax = Math.max(Lmax, starts[b] + T);
  }
  let keys: Tensor, values: Tensor, mask: Tensor;
  if (isGradEnabled()) {
    keys = Tensor.empty([B, Lmax, Hkv, hd]);
    values = Tensor.empty([B, Lmax, Hkv, hd]);
    mask = Tensor.empty([B, T, Lmax]);
  } else {
    let s = scratch.get(cache);
    if (!s) scratch.set(cache, (s = { keys: new Float32Array(0), values: new Float32Array(0), mask: new Float32Array(0) }));
    keys = Tensor.from(view(s, 'keys', B * Lmax * kd), [B, Lmax, Hkv, hd]);
    values = Tensor.from(view(s, 'values', B * Lmax * kd), [B, Lmax, Hkv, hd]);
    mask = Tensor.from(view(s, 'mask', B * T * Lmax), [B, T, Lmax]);
  }
  const ko = keys.f32(), vo = values.f32(), md = mask.f32();
  for (let b = 0; b < B; b++) {
    const len = starts[b] + T;
    const base = slots[b] * cache.maxLen * w;
    for (let j = 0; j < len; j++) {
      const src = base + j * w, dst = (b * Lmax + j) * kd;
      ko.set(buf.subarray(src, src + kd), dst);
      vo.set(buf.subarray(src + kd, src + w), dst);
    }
    if (len < Lmax) {
      ko.fill(0, (b * Lmax + len) * kd, (b + 1) * Lmax * kd);
      vo.fill(0, (b * Lmax + len) * kd, (b + 1) * Lmax * kd);
    }
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * Lmax;
      const lim = starts[b] + t + 1; // keys [0, lim) are visible
      md.fill(0, row, row + lim);
      md.fill(-Infinity, row + lim, row + Lmax);
    }
  }
  return { keys, values, mask };
}
