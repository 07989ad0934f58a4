// The storage layout DeepSeek publishes V3/R1 in (reference §1.9): every Linear weight of a decoder
// layer — attention projections, dense MLP, routed and shared experts, the MTP layer's included — as
// FP8 E4M3 with an F32 `weight_scale_inv` of 128×128 blocks; the router bias
// (`e_score_correction_bias`) in F32; everything else (embeddings, lm_head, norms, the router
// weight `mlp.gate.weight`, the MTP layer's `eh_proj` and its embedding/head copies) in BF16.
// The BF16 layout is the same without FP8 (what `fp8_cast_bf16.py` writes: FP8 weights dequantized
// to BF16, the F32 bias unchanged).
import { quantFp8Blocks, SCALE_INV_SUFFIX } from '../io/index.js';
import type { TensorRecord } from '../io/index.js';
import { V3_QUANTIZATION_CONFIG } from './config.js';

/** The two layouts: BF16 (`fp8_cast_bf16.py`'s output) and FP8 as published on the Hub. */
export type PublishedLayout = 'bf16' | 'fp8';

const FP8_WEIGHT = /^model\.layers\.\d+\.(self_attn\.(q_proj|q_a_proj|q_b_proj|kv_a_proj_with_mqa|kv_b_proj|o_proj)|mlp\.(experts\.\d+\.|shared_experts\.)?(gate_proj|up_proj|down_proj))\.weight$/;

/** True if DeepSeek publishes this tensor as FP8 with a block-scale companion. */
export function isPublishedFp8(name: string): boolean {
  return FP8_WEIGHT.test(name);
}

/** The stored dtype of a tensor that is not FP8: F32 for the router bias and block scales, BF16 otherwise. */
export function publishedDtype(name: string): 'F32' | 'BF16' {
  return name.endsWith('.e_score_correction_bias') || name.endsWith(SCALE_INV_SUFFIX) ? 'F32' : 'BF16';
}

/**
 * Float32 records → records in a published layout: for 'fp8', each FP8-published weight becomes an
 * F8_E4M3 record [out, in] plus its F32 `weight_scale_inv` [⌈out/128⌉, ⌈in/128⌉] (scales amax/448);
 * the other records are returned unchanged (store them with `publishedDtype`).
 */
export function publishedRecords(records: readonly TensorRecord[], layout: PublishedLayout): TensorRecord[] {
  if (layout === 'bf16') return [...records];
  return records.flatMap((r) => {
    if (!isPublishedFp8(r.name)) return [r];
    const q = quantFp8Blocks(r.data as Float32Array, r.shape);
    return [
      { name: r.name, dtype: 'F8_E4M3' as const, shape: [...r.shape], data: q.weight },
      { name: r.name + SCALE_INV_SUFFIX, dtype: 'F32' as const, shape: q.scaleShape, data: q.scale },
    ];
  });
}

/** The config.json keys a published layout adds: V3's `quantization_config` for FP8, nothing for BF16. */
export function publishedConfigKeys(layout: PublishedLayout): Record<string, unknown> {
  return layout === 'fp8' ? { quantization_config: structuredClone(V3_QUANTIZATION_CONFIG) } : {};
}
