// The tensors a DeepseekV3 of a configuration holds — names and shapes, without allocating one — and
// what it costs to build: its element count and the bytes its float32 storage and RoPE tables need.
// Loading checks a directory's config against its weights' headers with these before any allocation,
// so that a config.json of 5M tokens or a million experts fails in milliseconds instead of after
// minutes and gigabytes. Names and order are those of `DeepseekV3.namedTensors()` (a test keeps them equal).
import os from 'node:os';
import type { ModelConfig } from './config.js';
import { ConfigError, isMoeLayer, qkHeadDim } from './config.js';

/** One tensor of the model: its HF name and shape. */
export interface ModelTensor {
  name: string;
  shape: number[];
}

function* mlp(p: string, dim: number, inter: number): Generator<ModelTensor> {
  yield { name: `${p}gate_proj.weight`, shape: [inter, dim] };
  yield { name: `${p}up_proj.weight`, shape: [inter, dim] };
  yield { name: `${p}down_proj.weight`, shape: [dim, inter] };
}

function isMoe(c: ModelConfig, idx: number): boolean {
  return c.nRoutedExperts > 0 && isMoeLayer(c, idx);
}

/** The tensors of decoder layer `idx` under prefix `p` (`model.layers.{idx}.`). */
function* layer(c: ModelConfig, idx: number, p: string): Generator<ModelTensor> {
  const D = c.hiddenSize, H = c.numAttentionHeads;
  yield { name: `${p}input_layernorm.weight`, shape: [D] };
  const a = `${p}self_attn.`;
  if (c.qLoraRank) {
    yield { name: `${a}q_a_proj.weight`, shape: [c.qLoraRank, D] };
    yield { name: `${a}q_a_layernorm.weight`, shape: [c.qLoraRank] };
    yield { name: `${a}q_b_proj.weight`, shape: [H * qkHeadDim(c), c.qLoraRank] };
  } else {
    yield { name: `${a}q_proj.weight`, shape: [H * qkHeadDim(c), D] };
  }
  yield { name: `${a}kv_a_proj_with_mqa.weight`, shape: [c.kvLoraRank + c.qkRopeHeadDim, D] };
  yield { name: `${a}kv_a_layernorm.weight`, shape: [c.kvLoraRank] };
  yield { name: `${a}kv_b_proj.weight`, shape: [H * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank] };
  yield { name: `${a}o_proj.weight`, shape: [D, H * c.vHeadDim] };
  yield { name: `${p}post_attention_layernorm.weight`, shape: [D] };
  if (!isMoe(c, idx)) {
    yield* mlp(`${p}mlp.`, D, c.intermediateSize);
    return;
  }
  yield { name: `${p}mlp.gate.weight`, shape: [c.nRoutedExperts, D] };
  if (c.topkMethod === 'noaux_tc') yield { name: `${p}mlp.gate.e_score_correction_bias`, shape: [c.nRoutedExperts] };
  for (let e = 0; e < c.nRoutedExperts; e++) yield* mlp(`${p}mlp.experts.${e}.`, D, c.moeIntermediateSize);
  if (c.nSharedExperts > 0) yield* mlp(`${p}mlp.shared_experts.`, D, c.nSharedExperts * c.moeIntermediateSize);
}

/**
 * Every tensor of `new DeepseekV3(cfg)` in `namedTensors()` order (embedding, layers, norm, MTP
 * modules, lm_head unless tied), generated lazily: nothing of the model's size is allocated.
 */
export function* modelTensors(c: ModelConfig): Generator<ModelTensor> {
  const D = c.hiddenSize;
  yield { name: 'model.embed_tokens.weight', shape: [c.vocabSize, D] };
  for (let l = 0; l < c.numHiddenLayers; l++) yield* layer(c, l, `model.layers.${l}.`);
  yield { name: 'model.norm.weight', shape: [D] };
  for (let k = 0; k < c.numNextnPredictLayers; k++) {
    const p = `model.layers.${c.numHiddenLayers + k}.`;
    yield { name: `${p}enorm.weight`, shape: [D] };
    yield { name: `${p}hnorm.weight`, shape: [D] };
    yield { name: `${p}eh_proj.weight`, shape: [D, 2 * D] };
    yield* layer(c, c.numHiddenLayers + k, p);
    yield { name: `${p}shared_head.norm.weight`, shape: [D] };
  }
  if (!c.tieWordEmbeddings) yield { name: 'lm_head.weight', shape: [c.vocabSize, D] };
}

/** Elements of one decoder layer (the same tensors as `layer`, counted in O(1)). */
function layerElements(c: ModelConfig, idx: number): number {
  const D = c.hiddenSize, H = c.numAttentionHeads;
  const q = c.qLoraRank ? c.qLoraRank * D + c.qLoraRank + H * qkHeadDim(c) * c.qLoraRank : H * qkHeadDim(c) * D;
  const kv = (c.kvLoraRank + c.qkRopeHeadDim) * D + c.kvLoraRank + H * (c.qkNopeHeadDim + c.vHeadDim) * c.kvLoraRank;
  const attn = q + kv + D * H * c.vHeadDim;
  const ffn = !isMoe(c, idx)
    ? 3 * D * c.intermediateSize
    : c.nRoutedExperts * D + (c.topkMethod === 'noaux_tc' ? c.nRoutedExperts : 0) +
      (c.nRoutedExperts + c.nSharedExperts) * 3 * D * c.moeIntermediateSize;
  return 2 * D + attn + ffn;
}

/** Elements of every tensor `modelTensors` lists, computed without listing them (O(layers)). */
export function modelElements(c: ModelConfig): number {
  const D = c.hiddenSize;
  let n = c.vocabSize * D * (c.tieWordEmbeddings ? 1 : 2) + D;
  for (let l = 0; l < c.numHiddenLayers; l++) n += layerElements(c, l);
  for (let k = 0; k < c.numNextnPredictLayers; k++) n += 3 * D + 2 * D * D + layerElements(c, c.numHiddenLayers + k);
  return n;
}

/** Elements of the routed experts of every MoE layer, the MTP layers' included (what expert parallelism spreads over ranks). */
export function routedExpertElements(c: ModelConfig): number {
  let moeLayers = 0;
  for (let l = 0; l < c.numHiddenLayers + c.numNextnPredictLayers; l++) if (isMoe(c, l)) moeLayers++;
  return moeLayers * c.nRoutedExperts * 3 * c.hiddenSize * c.moeIntermediateSize;
}

/** What building the model costs in memory: float32 parameters plus the RoPE cos/sin tables. */
export interface ModelFootprint {
  elements: number;
  parameterBytes: number;
  ropeBytes: number;
  totalBytes: number;
}

/**
 * Bytes `new DeepseekV3(cfg)` allocates (parameters as float32, RoPE tables over max_position_embeddings);
 * with `expertParts` > 1, what one rank holds when the routed experts are spread over that many ranks.
 */
export function modelFootprint(c: ModelConfig, expertParts = 1): ModelFootprint {
  const elements = modelElements(c) - routedExpertElements(c) * (1 - 1 / expertParts);
  const parameterBytes = elements * 4;
  const ropeBytes = 2 * c.maxPositionEmbeddings * (c.qkRopeHeadDim / 2) * 4;
  return { elements, parameterBytes, ropeBytes, totalBytes: parameterBytes + ropeBytes };
}

/** Bytes the process can still allocate: the OS's available memory, within a cgroup limit if any. */
export function availableMemoryBytes(): number {
  const p = process as NodeJS.Process & { availableMemory?: () => number };
  const avail = typeof p.availableMemory === 'function' ? p.availableMemory() : os.freemem();
  return avail > 0 ? avail : os.freemem();
}

/** "1.5 GiB", "12.0 MiB", "900 B". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

/** The config keys that size the model, for messages: "vocab_size 512, hidden_size 64, …". */
export function sizeKeys(c: ModelConfig): string {
  return [
    `vocab_size ${c.vocabSize}`, `hidden_size ${c.hiddenSize}`, `num_hidden_layers ${c.numHiddenLayers}`,
    `n_routed_experts ${c.nRoutedExperts}`, `moe_intermediate_size ${c.moeIntermediateSize}`, `intermediate_size ${c.intermediateSize}`,
    `num_attention_heads ${c.numAttentionHeads}`, `max_position_embeddings ${c.maxPositionEmbeddings}`,
  ].join(', ');
}

/**
 * Throws a ConfigError if building the model would need more memory than `limit` bytes (default: what
 * is available now) — before anything is allocated, instead of minutes of allocation and a crash.
 */
export function checkModelFitsMemory(c: ModelConfig, limit = availableMemoryBytes(), where = 'config', expertParts = 1): void {
  const f = modelFootprint(c, expertParts);
  if (f.totalBytes <= limit) return;
  throw new ConfigError(
    `${where}: the model needs ${formatBytes(f.totalBytes)}${expertParts > 1 ? ` per rank with its routed experts spread over ${expertParts} ranks` : ''} (${f.elements.toLocaleString('en-US')} float32 parameters = ${formatBytes(f.parameterBytes)}, ` +
      `RoPE tables ${formatBytes(f.ropeBytes)}) but only ${formatBytes(limit)} of memory is available (${sizeKeys(c)})`,
    undefined, `at most ${formatBytes(limit)}`, formatBytes(f.totalBytes),
  );
}
