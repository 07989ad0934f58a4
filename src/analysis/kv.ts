// KV-cache size per token for MHA, GQA, MQA and MLA (DeepSeek-V2 Table 1), per layer and for the
// whole model, and for a context length × batch.
//
// Elements cached per token per layer (n_h heads of dimension d_h, n_g groups, d_c = kv_lora_rank,
// d_h^R = qk_rope_head_dim):
//   MHA  2·n_h·d_h        GQA  2·n_g·d_h        MQA  2·d_h        MLA  d_c + d_h^R
// For an MLA configuration the comparison uses the same n_h and d_h = qk_nope_head_dim (the paper's
// per-head dimension; 128 for V3). MLA's cache equals GQA with (d_c + d_h^R)/(2·d_h) groups (2.25 for V3).
// Also shown: what the *naive* MLA form caches (keys expanded per head with their RoPE part, and
// values), n_h·(qk_nope + qk_rope + v_head_dim) — the reference code's k_cache/v_cache.
// Layers: the main model's num_hidden_layers (an MTP module used for speculative decoding caches one more layer).
import type { ModelConfig } from '../model/config.js';

/** Storage types for the cache. */
export type KvDtype = 'bf16' | 'f16' | 'f32' | 'fp8';

/** Bytes per element of each cache dtype. */
export const KV_DTYPE_BYTES: Record<KvDtype, number> = { bf16: 2, f16: 2, f32: 4, fp8: 1 };

/** The attention variants compared. */
export type KvScheme = 'MHA' | 'GQA' | 'MQA' | 'MLA' | 'MLA-naive';

/** Cache size of one attention scheme. */
export interface KvRow {
  scheme: KvScheme;
  /** The V2-paper formula for elements per token per layer. */
  formula: string;
  elementsPerTokenPerLayer: number;
  elementsPerToken: number;
  bytesPerToken: number;
  /** elements × context × batch. */
  elementsTotal: number;
  bytesTotal: number;
  /** Relative to MHA. */
  ratioToMha: number;
}

/** The KV report for one configuration. */
export interface KvReport {
  layers: number;
  heads: number;
  headDim: number;
  groups: number;
  kvLoraRank: number;
  ropeDim: number;
  dtype: KvDtype;
  bytesPerElement: number;
  context: number;
  batch: number;
  /** MLA's cache expressed as a GQA group count: (d_c + d_h^R) / (2·d_h). */
  mlaEquivalentGroups: number;
  rows: KvRow[];
}

/** Options of kvReport. */
export interface KvOptions {
  context?: number;
  batch?: number;
  /** GQA group count (default 8). */
  groups?: number;
  dtype?: KvDtype;
}

/** Computes the cache per token (per layer, whole model) and for context × batch for each scheme. */
export function kvReport(c: ModelConfig, o: KvOptions = {}): KvReport {
  const context = o.context ?? 4096;
  const batch = o.batch ?? 1;
  const groups = o.groups ?? 8;
  const dtype = o.dtype ?? 'bf16';
  for (const [k, v] of [['context', context], ['batch', batch], ['groups', groups]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${k}: expected a positive integer, found ${v}`);
  }
  if (!(dtype in KV_DTYPE_BYTES)) throw new RangeError(`dtype: expected one of ${Object.keys(KV_DTYPE_BYTES).join(', ')}, found ${dtype}`);
  const nh = c.numAttentionHeads;
  const dh = c.qkNopeHeadDim;
  const l = c.numHiddenLayers;
  const bytes = KV_DTYPE_BYTES[dtype];
  const perLayer: [KvScheme, string, number][] = [
    ['MHA', '2·n_h·d_h', 2 * nh * dh],
    ['GQA', '2·n_g·d_h', 2 * groups * dh],
    ['MQA', '2·d_h', 2 * dh],
    ['MLA', 'd_c + d_h^R', c.kvLoraRank + c.qkRopeHeadDim],
    ['MLA-naive', 'n_h·(d_nope + d_rope + d_v)', nh * (c.qkNopeHeadDim + c.qkRopeHeadDim + c.vHeadDim)],
  ];
  const mha = 2 * nh * dh * l;
  const rows = perLayer.map(([scheme, formula, e]): KvRow => ({
    scheme,
    formula,
    elementsPerTokenPerLayer: e,
    elementsPerToken: e * l,
    bytesPerToken: e * l * bytes,
    elementsTotal: e * l * context * batch,
    bytesTotal: e * l * context * batch * bytes,
    ratioToMha: (e * l) / mha,
  }));
  return {
    layers: l,
    heads: nh,
    headDim: dh,
    groups,
    kvLoraRank: c.kvLoraRank,
    ropeDim: c.qkRopeHeadDim,
    dtype,
    bytesPerElement: bytes,
    context,
    batch,
    mlaEquivalentGroups: (c.kvLoraRank + c.qkRopeHeadDim) / (2 * dh),
    rows,
  };
}

/** Looks up one scheme's row. */
export function kvRow(r: KvReport, scheme: KvScheme): KvRow {
  const row = r.rows.find((x) => x.scheme === scheme);
  if (!row) throw new Error(`no KV row for ${scheme}`);
  return row;
}

/** 70272 → "68.6 KiB"; binary units. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}
