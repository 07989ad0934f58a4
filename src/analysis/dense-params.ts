// Parameter counts of a dense Qwen2 / Llama configuration (the distillation students), per component,
// in the conventions of ./params.ts: activated = what a token computes with (one embedding row, every
// layer, the full head matmul). A dense model activates every layer parameter; it has no MTP module.
import type { DenseConfig } from '../model/dense/config.js';
import { isDenseConfig, type AnyModelConfig } from '../model/registry.js';
import { countParams, type ComponentCount, type ParamCounts } from './params.js';

/** Parameters of one GQA attention block: q/k/v/o projections and their biases. */
export function denseAttentionParams(c: DenseConfig): number {
  const d = c.hiddenSize, q = c.numAttentionHeads * c.headDim, kv = c.numKeyValueHeads * c.headDim;
  return d * q + 2 * d * kv + q * d + (c.qkvBias ? q + 2 * kv : 0) + (c.oBias ? d : 0);
}

/** Counts a dense model's parameters per component (embedding, attention, dense_mlp, norms, head). */
export function countDenseParams(c: DenseConfig): ParamCounts {
  const d = c.hiddenSize, L = c.numHiddenLayers, table = c.vocabSize * d;
  const row = (name: string, total: number, activated = total): ComponentCount => ({ name, total, activated });
  const components = [
    row('embedding', table, d),
    row('attention', L * denseAttentionParams(c)),
    row('dense_mlp', L * 3 * d * c.intermediateSize),
    row('norms', (2 * L + 1) * d),
    row('head', c.tieWordEmbeddings ? 0 : table, table),
  ];
  const total = components.reduce((a, r) => a + r.total, 0);
  const activated = components.reduce((a, r) => a + r.activated, 0);
  return {
    components, total, activated, activatedWithEmbeddingTable: activated - d + table,
    mtpComponents: [], mtpTotal: 0, mtpActivated: 0, mtpActivatedWithEmbeddingTable: 0, mtpEhProj: 0,
  };
}

/** Parameter counts of a configuration of any architecture. */
export function countAnyParams(c: AnyModelConfig): ParamCounts {
  return isDenseConfig(c) ? countDenseParams(c) : countParams(c);
}
