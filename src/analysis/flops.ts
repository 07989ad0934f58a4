// Training compute as DeepSeek LLM §3.2 counts it: the model scale M is the non-embedding FLOPs per
// token, attention included, and a run's compute is C = M·D (D = training tokens), not 6·N·D.
//
//   DeepSeek LLM (standard MHA, SwiGLU of width 8/3·d):  M = 72·n_layer·d² + 12·n_layer·d·l_seq
//
// Read as: 6 FLOPs (forward 2 + backward 4) per non-embedding parameter (12·d² per layer) plus the
// attention over the full context, forward 2·l_seq per query/key or probability/value width per layer
// (QKᵀ and P·V, 2·d·l_seq each), × 3 for forward + backward.
//
// For tinyseek's DeepSeek-V3 configs the same definition, made general:
//   M = 6·N_act,non-emb + 6·n_layer·l_seq·n_h·(d_qk + d_v)
// - N_act,non-emb: the parameters a token computes with (`countParams(c).activated`: attention, the
//   dense MLP or the shared + top-k routed experts, the router, norms), minus the embedding row and the
//   output head (DeepSeek LLM's 6N₁ leaves out both; its 6N₂ adds the vocabulary matmul back).
// - MLA trains in its naive form, so attention's widths are n_h·(qk_nope + qk_rope) for QKᵀ and
//   n_h·v_head_dim for P·V. With n_h·d_qk = n_h·d_v = d this is 12·n_layer·d·l_seq exactly.
// - l_seq counts the full context for every token, as DeepSeek LLM does (`tinyseek cost` counts the
//   causal average (l_seq + 1)/2 instead; the two differ by the factor 2·l_seq/(l_seq + 1)).
// The output head (6·vocab·d per token) and the MTP modules are computed in training but are not part
// of M; they are returned apart so a report can state the whole cost.
import { qkHeadDim, type ModelConfig } from '../model/config.js';
import { countParams } from './params.js';

/** The model scale of one configuration at one context length. */
export interface ModelScale {
  /** Non-embedding parameters a token activates (no embedding row, no output head). */
  nonEmbeddingActivated: number;
  /** 6 · nonEmbeddingActivated. */
  paramFlops: number;
  /** 6 · n_layer · l_seq · n_h · (d_qk + d_v): attention over the full context, forward + backward. */
  attentionFlops: number;
  /** M = paramFlops + attentionFlops (FLOPs per token). */
  M: number;
  /** 6 · vocab · d: the output head's matmul, not in M. */
  headFlops: number;
  /** MTP modules per token (their activated parameters incl. the shared head, and their attention), not in M. */
  mtpFlops: number;
  seqLen: number;
}

/** DeepSeek LLM's closed form for a standard dense transformer: M = 72·n_layer·d² + 12·n_layer·d·l_seq. */
export function deepseekLlmM(nLayer: number, d: number, seqLen: number): number {
  return 72 * nLayer * d * d + 12 * nLayer * d * seqLen;
}

/**
 * M for a generic transformer described by its non-embedding activated parameters, depth and the
 * total widths of QKᵀ and P·V (n_h·d_qk, n_h·d_v). A standard MHA + SwiGLU(8/3·d) layer has 12·d²
 * parameters and widths d, d, which gives DeepSeek LLM's formula.
 */
export function modelScaleFlops(nonEmbeddingActivated: number, nLayer: number, qkWidth: number, vWidth: number, seqLen: number): number {
  for (const [k, v] of [['non-embedding parameters', nonEmbeddingActivated], ['layers', nLayer], ['qk width', qkWidth], ['v width', vWidth], ['sequence length', seqLen]] as const) {
    if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`model scale: ${k} must be a positive number, found ${v}`);
  }
  return 6 * nonEmbeddingActivated + 6 * nLayer * seqLen * (qkWidth + vWidth);
}

/** M (DeepSeek LLM's non-embedding FLOPs per token, attention included) of a DeepSeek-V3/V2 config. */
export function modelScale(c: ModelConfig, seqLen: number): ModelScale {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new RangeError(`sequence length must be a positive integer, found ${seqLen}`);
  const counts = countParams(c);
  const d = c.hiddenSize;
  const head = counts.components.find((x) => x.name === 'head')!.activated; // vocab · d
  const nonEmb = counts.activated - d - head;
  const qkW = c.numAttentionHeads * qkHeadDim(c);
  const vW = c.numAttentionHeads * c.vHeadDim;
  const M = modelScaleFlops(nonEmb, c.numHiddenLayers, qkW, vW, seqLen);
  const attentionFlops = 6 * c.numHiddenLayers * seqLen * (qkW + vW);
  const mtpAttention = 6 * c.numNextnPredictLayers * seqLen * (qkW + vW);
  // mtpActivated includes one embedding row per module; the row is a lookup, not a matmul.
  const mtpFlops = c.numNextnPredictLayers === 0 ? 0 : 6 * (counts.mtpActivated - c.numNextnPredictLayers * d) + mtpAttention;
  return { nonEmbeddingActivated: nonEmb, paramFlops: 6 * nonEmb, attentionFlops, M, headFlops: 6 * head, mtpFlops, seqLen };
}

/** Training compute C = M·D of a run of `tokens` tokens (DeepSeek LLM's definition). */
export function trainingCompute(c: ModelConfig, seqLen: number, tokens: number): number {
  if (!(tokens > 0)) throw new RangeError(`tokens must be > 0, found ${tokens}`);
  return modelScale(c, seqLen).M * tokens;
}
