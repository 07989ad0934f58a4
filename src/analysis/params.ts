// Parameter counts of a DeepSeek-V3/V2 configuration, per component, total and activated per token —
// computed from the config alone (no model instance), tensor by tensor as the HF checkpoint stores them.
//
// Conventions (stated once, used everywhere):
// - total: every parameter tensor of the main model once (embed_tokens, 61 layers, norm, lm_head;
//   a tied head counts once).
// - activated: the parameters a token's forward pass computes with. The embedding is a table lookup,
//   so it activates one row (hidden_size values); everything else is a matrix the token multiplies
//   by: attention, the dense MLP or the K routed + shared experts, the router, the norms and the
//   output head. This is the N of the 6·N·D training-FLOPs rule used by `tinyseek cost`.
//   `activatedWithEmbeddingTable` counts the whole table instead, as DeepSeek's weight card words it.
// - MTP (num_nextn_predict_layers modules): enorm, hnorm, eh_proj, one full decoder layer and
//   shared_head.norm; its embedding and head are shared with the main model and not counted in
//   mtpTotal. mtpActivated = the module's own activated parameters + the shared head's matmul (and
//   one embedding row); mtpActivatedWithEmbeddingTable adds both shared tables whole, as the card does.
import { isMoeLayer, qkHeadDim, type ModelConfig } from '../model/config.js';

/** One row of the breakdown. */
export interface ComponentCount {
  /** embedding, attention, dense_mlp, routed_experts, shared_experts, gate, norms, head (main model); mtp_* for MTP. */
  name: string;
  total: number;
  activated: number;
}

/** Parameter counts of one configuration. */
export interface ParamCounts {
  components: ComponentCount[];
  total: number;
  activated: number;
  activatedWithEmbeddingTable: number;
  mtpComponents: ComponentCount[];
  mtpTotal: number;
  mtpActivated: number;
  mtpActivatedWithEmbeddingTable: number;
  /** eh_proj's parameters over all MTP modules (reported apart: the weight card's MTP figures leave it out). */
  mtpEhProj: number;
}

/** Parameters of one MLA block: q path (low-rank or not), kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj. */
export function attentionParams(c: ModelConfig): number {
  const d = c.hiddenSize;
  const h = c.numAttentionHeads;
  const q = c.qLoraRank === null
    ? d * h * qkHeadDim(c) // q_proj
    : d * c.qLoraRank + c.qLoraRank + c.qLoraRank * h * qkHeadDim(c); // q_a_proj, q_a_layernorm, q_b_proj
  const kv = d * (c.kvLoraRank + c.qkRopeHeadDim) + c.kvLoraRank + c.kvLoraRank * h * (c.qkNopeHeadDim + c.vHeadDim);
  const o = h * c.vHeadDim * d;
  return q + kv + o;
}

/** Parameters of one SwiGLU MLP of width `inter` (gate_proj, up_proj, down_proj). */
export function mlpParams(c: ModelConfig, inter: number): number {
  return 3 * c.hiddenSize * inter;
}

/** Router parameters of one MoE layer: gate.weight [E, d] plus e_score_correction_bias [E] for noaux_tc. */
export function gateParams(c: ModelConfig): number {
  return c.nRoutedExperts * c.hiddenSize + (c.topkMethod === 'noaux_tc' ? c.nRoutedExperts : 0);
}

interface LayerCount {
  attention: ComponentCount;
  dense: ComponentCount;
  routed: ComponentCount;
  shared: ComponentCount;
  gate: ComponentCount;
  norms: ComponentCount;
}

function layerCount(c: ModelConfig, idx: number): LayerCount {
  const attn = attentionParams(c);
  const expert = mlpParams(c, c.moeIntermediateSize);
  const moe = isMoeLayer(c, idx);
  const dense = moe ? 0 : mlpParams(c, c.intermediateSize);
  const routedTotal = moe ? c.nRoutedExperts * expert : 0;
  const routedActive = moe ? c.numExpertsPerTok * expert : 0;
  const shared = moe ? c.nSharedExperts * expert : 0;
  const gate = moe ? gateParams(c) : 0;
  const norms = 2 * c.hiddenSize; // input_layernorm, post_attention_layernorm
  return {
    attention: { name: 'attention', total: attn, activated: attn },
    dense: { name: 'dense_mlp', total: dense, activated: dense },
    routed: { name: 'routed_experts', total: routedTotal, activated: routedActive },
    shared: { name: 'shared_experts', total: shared, activated: shared },
    gate: { name: 'gate', total: gate, activated: gate },
    norms: { name: 'norms', total: norms, activated: norms },
  };
}

function add(into: ComponentCount, from: ComponentCount): void {
  into.total += from.total;
  into.activated += from.activated;
}

function sum(rows: ComponentCount[], key: 'total' | 'activated'): number {
  return rows.reduce((a, r) => a + r[key], 0);
}

/** Counts parameters per component, total and activated, for the main model and the MTP modules. */
export function countParams(c: ModelConfig): ParamCounts {
  const d = c.hiddenSize;
  const table = c.vocabSize * d;
  const comp = (name: string): ComponentCount => ({ name, total: 0, activated: 0 });
  const embedding: ComponentCount = { name: 'embedding', total: table, activated: d };
  const attention = comp('attention');
  const dense = comp('dense_mlp');
  const routed = comp('routed_experts');
  const shared = comp('shared_experts');
  const gate = comp('gate');
  const norms = comp('norms');
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const lc = layerCount(c, l);
    add(attention, lc.attention);
    add(dense, lc.dense);
    add(routed, lc.routed);
    add(shared, lc.shared);
    add(gate, lc.gate);
    add(norms, lc.norms);
  }
  add(norms, { name: 'norm', total: d, activated: d }); // model.norm
  // A tied head is the embedding table again: no new parameters, but still a [vocab × d] matmul.
  const head: ComponentCount = { name: 'head', total: c.tieWordEmbeddings ? 0 : table, activated: table };
  const components = [embedding, attention, dense, routed, shared, gate, norms, head];

  const mtpAttention = comp('mtp_attention');
  const mtpDense = comp('mtp_dense_mlp');
  const mtpRouted = comp('mtp_routed_experts');
  const mtpShared = comp('mtp_shared_experts');
  const mtpGate = comp('mtp_gate');
  const mtpNorms = comp('mtp_norms');
  const mtpProj = comp('mtp_eh_proj');
  for (let k = 0; k < c.numNextnPredictLayers; k++) {
    const lc = layerCount(c, c.numHiddenLayers + k);
    add(mtpAttention, lc.attention);
    add(mtpDense, lc.dense);
    add(mtpRouted, lc.routed);
    add(mtpShared, lc.shared);
    add(mtpGate, lc.gate);
    add(mtpNorms, lc.norms);
    add(mtpNorms, { name: '', total: 3 * d, activated: 3 * d }); // enorm, hnorm, shared_head.norm
    add(mtpProj, { name: '', total: 2 * d * d, activated: 2 * d * d }); // eh_proj [d, 2d]
  }
  const mtpComponents = [mtpProj, mtpAttention, mtpDense, mtpRouted, mtpShared, mtpGate, mtpNorms].filter((r) => r.total > 0);
  const mtpOwnActive = sum(mtpComponents, 'activated');
  const D = c.numNextnPredictLayers;
  const total = sum(components, 'total');
  const activated = sum(components, 'activated');
  return {
    components,
    total,
    activated,
    activatedWithEmbeddingTable: activated - d + table,
    mtpComponents,
    mtpTotal: sum(mtpComponents, 'total'),
    // each MTP module looks up one embedding row and runs the shared head once per token
    mtpActivated: D === 0 ? 0 : mtpOwnActive + D * (d + table),
    mtpActivatedWithEmbeddingTable: D === 0 ? 0 : mtpOwnActive + 2 * table,
    mtpEhProj: mtpProj.total,
  };
}

/**
 * Elements stored in a DeepSeek HF checkpoint: every parameter, the MTP modules with their own copies
 * of embed_tokens and shared_head.head, plus — for FP8 checkpoints — one fp32 `weight_scale_inv` per
 * 128×128 block of every quantized Linear (all but embeddings, head, router and norms).
 * DeepSeek-R1/V3: 684,531,386,000 — a cross-check of the per-tensor counting above.
 */
export function checkpointElements(c: ModelConfig, fp8BlockSize: number | null = 128): number {
  const d = c.hiddenSize;
  const h = c.numAttentionHeads;
  const blocks = (out: number, inp: number): number =>
    fp8BlockSize === null ? 0 : Math.ceil(out / fp8BlockSize) * Math.ceil(inp / fp8BlockSize);
  const linear = (out: number, inp: number): number => out * inp + blocks(out, inp);
  const mlp = (inter: number): number => 2 * linear(inter, d) + linear(d, inter);
  const layer = (idx: number): number => {
    const q = c.qLoraRank === null
      ? linear(h * qkHeadDim(c), d)
      : linear(c.qLoraRank, d) + c.qLoraRank + linear(h * qkHeadDim(c), c.qLoraRank);
    const kv = linear(c.kvLoraRank + c.qkRopeHeadDim, d) + c.kvLoraRank + linear(h * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank);
    const o = linear(d, h * c.vHeadDim);
    const ffn = isMoeLayer(c, idx)
      ? gateParams(c) + (c.nRoutedExperts + c.nSharedExperts) * mlp(c.moeIntermediateSize)
      : mlp(c.intermediateSize);
    return q + kv + o + ffn + 2 * d;
  };
  const table = c.vocabSize * d;
  let n = table + (c.tieWordEmbeddings ? 0 : table) + d;
  for (let l = 0; l < c.numHiddenLayers; l++) n += layer(l);
  for (let k = 0; k < c.numNextnPredictLayers; k++) {
    // eh_proj stays bf16 in the released checkpoints; embed_tokens and shared_head.head are copies.
    n += layer(c.numHiddenLayers + k) + 3 * d + 2 * d * d + 2 * table;
  }
  return n;
}

/** DeepSeek's published figures for V3 (README_WEIGHTS.md): main 671B / 36.7B activated, MTP 11.5B / 2.4B. */
export const DEEPSEEK_V3_MODEL_CARD = {
  total: 671e9,
  activated: 36.7e9,
  mtpTotal: 11.5e9,
  mtpActivated: 2.4e9,
} as const;
