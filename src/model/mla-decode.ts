// The absorbed MLA of a cached generation step on plain arrays (no autograd, no tensor per op).
//
// MLA.forward with a cache builds ~25 tensors per layer and step (splits, ropes, concats, permuted
// copies, the padded key copy and its mask); at batch-1 decode of a small model that bookkeeping costs
// more than the arithmetic. This runs the same kernels with the same arguments in the same order on
// reusable scratch arrays, so its output equals MLA.forward's bit for bit:
//
//   q       = q_b_proj(rmsNorm(q_a_proj(x)))  or  q_proj(x)           [BT, H, dn + dr]
//   qPe     = rope(q[..., dn:])                                           [BT, H, dr]
//   kv      = kv_a_proj_with_mqa(x);  latent = [rmsNorm(kv[:, :r]) ; rope(kv[:, r:])]   [BT, r + dr]
//   cache  ← latent (each row's slot, after its cached tokens)
//   qLat    = q[..., :dn] · W_UK per head (one batched GEMM over the heads)   [H, BT, r]
//   o2      = attention([qLat ; qPe] as [B, T·H, 1, r + dr], keys = values = the cached latents)
//   o       = o2[..., :r] · W_UVᵀ per head                                    [H, BT, dv]
//   out     = o_proj(o as [BT, H·dv])                                          [BT, D]
//
// With one sequence the keys are read straight from the cache (no copy: they are contiguous there);
// with several they are copied into one padded buffer, as appendAndRead does.
import { Tensor } from '../tensor/index.js';
import { backend } from '../backend/index.js';
import { contiguous } from '../ops/index.js';
import type { MLA, AttnContext } from './mla.js';
import { Scratch } from './scratch.js';

/** dst[d0 .. d0 + n) = src[s0 .. s0 + n) (short runs: no view object as `set(subarray)` would make). */
function copy(dst: Float32Array, d0: number, src: Float32Array, s0: number, n: number): void {
  for (let i = 0; i < n; i++) dst[d0 + i] = src[s0 + i];
}

/** The scratch arrays of each MLA layer. */
const scratchOf = new WeakMap<MLA, Scratch>();

/** Whether `mla` can take the array path: float32 weights without biases (every DeepSeek MLA). */
export function mlaDecodeSupported(mla: MLA): boolean {
  const lins = [mla.qProj, mla.qAProj, mla.qBProj, mla.kvAProj, mla.kvBProj, mla.oProj];
  return lins.every((l) => !l || (!l.weight16 && !l.bias));
}

/** MLA.forward for x [B, T, D] with a cache, the absorbed form, no gradients → [B, T, D]. */
export function mlaDecode(mla: MLA, x: Tensor, ctx: AttnContext): Tensor {
  const [B, T, D] = x.shape;
  const { H, dn, dr, dv, r } = mla;
  const w = r + dr, qk = dn + dr, BT = B * T;
  const { cache, slots } = ctx.cache!;
  const starts = ctx.starts!, pos = ctx.positions, tables = ctx.rope;
  const k = backend();
  let s = scratchOf.get(mla);
  if (!s) scratchOf.set(mla, (s = new Scratch()));
  const xf = contiguous(x).f32();
  const lin = (name: string, inp: Float32Array, rows: number, weight: Tensor, I: number, O: number): Float32Array => {
    const out = s.get(name, rows * O);
    k.gemm(1, false, true, rows, O, I, 1, inp, 0, I, weight.f32(), 0, I, 0, out, 0, O);
    return out;
  };
  const norm = (name: string, inp: Float32Array, rows: number, dim: number, weight: Tensor, eps: number): Float32Array => {
    const out = s.get(name, rows * dim);
    k.rmsNorm(rows, dim, out, s.get('rstd', rows), inp, weight.f32(), eps);
    return out;
  };

  // Queries [BT, H, dn + dr].
  let q: Float32Array;
  if (mla.qProj) q = lin('q', xf, BT, mla.qProj.weight, D, H * qk);
  else {
    const qr = mla.qAProj!.outFeatures;
    const qa = lin('qa', xf, BT, mla.qAProj!.weight, D, qr);
    q = lin('q', norm('qaNorm', qa, BT, qr, mla.qANorm!.weight, mla.qANorm!.eps), BT, mla.qBProj!.weight, qr, H * qk);
  }
  // q[..., dn:] → contiguous [BT, H, dr] → rotated; q[..., :dn] → [H, BT, dn] (heads outermost, for the batched GEMM).
  const qPeRaw = s.get('qPeRaw', BT * H * dr), qh = s.get('qh', H * BT * dn);
  for (let i = 0; i < BT; i++) for (let h = 0; h < H; h++) {
    const src = (i * H + h) * qk;
    copy(qPeRaw, (i * H + h) * dr, q, src + dn, dr);
    copy(qh, (h * BT + i) * dn, q, src, dn);
  }
  const qPe = s.get('qPe', BT * H * dr);
  k.rope(BT, H, dr, qPe, qPeRaw, pos, tables.cos, tables.sin, false);

  // Latents [BT, r + dr]: the normalized c_kv beside the rotated k_pe.
  const kv = lin('kv', xf, BT, mla.kvAProj.weight, D, w);
  const cKv = s.get('cKv', BT * r), kPeRaw = s.get('kPeRaw', BT * dr);
  for (let i = 0; i < BT; i++) {
    copy(cKv, i * r, kv, i * w, r);
    copy(kPeRaw, i * dr, kv, i * w + r, dr);
  }
  const cN = norm('cN', cKv, BT, r, mla.kvANorm.weight, mla.kvANorm.eps);
  const kPe = s.get('kPe', BT * dr);
  k.rope(BT, 1, dr, kPe, kPeRaw, pos, tables.cos, tables.sin, false);

  // Append to the cache; keys [B, Lmax, 1, w] and the additive mask [B, T·H, Lmax] (appendAndRead's).
  const buf = cache.data[mla.layerIdx];
  let Lmax = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const i = b * T + t, at = (slots[b] * cache.maxLen + starts[b] + t) * w;
      copy(buf, at, cN, i * r, r);
      copy(buf, at + r, kPe, i * dr, dr);
    }
    Lmax = Math.max(Lmax, starts[b] + T);
  }
  let keys: Float32Array;
  if (B === 1) keys = buf.subarray(slots[0] * cache.maxLen * w, (slots[0] * cache.maxLen + Lmax) * w);
  else {
    keys = s.get('keys', B * Lmax * w);
    for (let b = 0; b < B; b++) {
      const len = starts[b] + T, src = slots[b] * cache.maxLen * w;
      keys.set(buf.subarray(src, src + len * w), b * Lmax * w);
      if (len < Lmax) keys.fill(0, (b * Lmax + len) * w, (b + 1) * Lmax * w);
    }
  }
  const R = T * H;
  const mask = s.get('mask', B * R * Lmax);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const row = (b * R + t * H) * Lmax, lim = starts[b] + t + 1;
    mask.fill(0, row, row + lim);
    mask.fill(-Infinity, row + lim, row + Lmax);
    for (let h = 1; h < H; h++) mask.copyWithin(row + h * Lmax, row, row + Lmax);
  }

  // qLat [H, BT, r] = qh · W_UK per head; W = kv_b_proj.weight viewed [H, dn + dv, r].
  const W = mla.kvBProj.weight.f32();
  const qLat = s.get('qLat', H * BT * r);
  k.gemm(H, false, false, BT, r, dn, 1, qh, BT * dn, dn, W, (dn + dv) * r, r, 0, qLat, BT * r, r);
  // qAbs [B, T·H, 1, w] = [qLat ; qPe] per (token, head).
  const qAbs = s.get('qAbs', BT * H * w);
  for (let i = 0; i < BT; i++) for (let h = 0; h < H; h++) {
    const at = (i * H + h) * w;
    copy(qAbs, at, qLat, (h * BT + i) * r, r);
    copy(qAbs, at + r, qPe, (i * H + h) * dr, dr);
  }
  // Values = keys (v = c_kv is their first r columns); the last dr output columns are dropped below.
  const o2 = s.get('o2', BT * H * w);
  k.attention(B, R, Lmax, 1, 1, w, w, mla.scale, false, qAbs, keys, keys, mask, B === 1 ? 0 : R * Lmax, o2, s.get('probs', B * R * Lmax));
  // oh [H, BT, r] = o2[..., :r] with heads outermost; o [H, BT, dv] = oh · W_UVᵀ per head.
  const oh = s.get('oh', H * BT * r);
  for (let i = 0; i < BT; i++) for (let h = 0; h < H; h++) copy(oh, (h * BT + i) * r, o2, (i * H + h) * w, r);
  const oHead = s.get('oHead', H * BT * dv);
  k.gemm(H, false, true, BT, dv, r, 1, oh, BT * r, r, W.subarray(dn * r), (dn + dv) * r, r, 0, oHead, BT * dv, dv);
  // [BT, H·dv] → o_proj.
  const o = s.get('o', BT * H * dv);
  for (let i = 0; i < BT; i++) for (let h = 0; h < H; h++) copy(o, (i * H + h) * dv, oHead, (h * BT + i) * dv, dv);
  const out = Tensor.empty([B, T, D]);
  k.gemm(1, false, true, BT, D, H * dv, 1, o, 0, H * dv, mla.oProj.weight.f32(), 0, H * dv, 0, out.f32(), 0, D);
  return out;
}
