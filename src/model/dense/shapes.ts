// The tensors a dense Qwen2 / Llama model holds — Hugging Face names and shapes, without allocating
// one — and what building it costs. Loading checks a directory's config against its weights' headers
// with these before any allocation (as ../shapes.ts does for DeepSeek-V3). Names and order are those
// of `DenseForCausalLM.namedTensors()` (a test keeps them equal).
import type { DenseConfig } from './config.js';
import type { ModelTensor, ModelFootprint } from '../shapes.js';
import { ConfigError } from '../config.js';
import { availableMemoryBytes, formatBytes } from '../shapes.js';

/** The tensors of decoder layer `l` (`model.layers.{l}.`). */
function* layer(c: DenseConfig, l: number): Generator<ModelTensor> {
  const D = c.hiddenSize, q = c.numAttentionHeads * c.headDim, kv = c.numKeyValueHeads * c.headDim;
  const p = `model.layers.${l}.`;
  yield { name: `${p}input_layernorm.weight`, shape: [D] };
  const a = `${p}self_attn.`;
  yield { name: `${a}q_proj.weight`, shape: [q, D] };
  if (c.qkvBias) yield { name: `${a}q_proj.bias`, shape: [q] };
  yield { name: `${a}k_proj.weight`, shape: [kv, D] };
  if (c.qkvBias) yield { name: `${a}k_proj.bias`, shape: [kv] };
  yield { name: `${a}v_proj.weight`, shape: [kv, D] };
  if (c.qkvBias) yield { name: `${a}v_proj.bias`, shape: [kv] };
  yield { name: `${a}o_proj.weight`, shape: [D, q] };
  if (c.oBias) yield { name: `${a}o_proj.bias`, shape: [D] };
  yield { name: `${p}post_attention_layernorm.weight`, shape: [D] };
  yield { name: `${p}mlp.gate_proj.weight`, shape: [c.intermediateSize, D] };
  yield { name: `${p}mlp.up_proj.weight`, shape: [c.intermediateSize, D] };
  yield { name: `${p}mlp.down_proj.weight`, shape: [D, c.intermediateSize] };
}

/** Every tensor of `new DenseForCausalLM(cfg)` in `namedTensors()` order (lm_head unless tied), lazily. */
export function* denseTensors(c: DenseConfig): Generator<ModelTensor> {
  yield { name: 'model.embed_tokens.weight', shape: [c.vocabSize, c.hiddenSize] };
  for (let l = 0; l < c.numHiddenLayers; l++) yield* layer(c, l);
  yield { name: 'model.norm.weight', shape: [c.hiddenSize] };
  if (!c.tieWordEmbeddings) yield { name: 'lm_head.weight', shape: [c.vocabSize, c.hiddenSize] };
}

/** Elements of one decoder layer (the tensors of `layer`, counted in O(1)). */
export function denseLayerElements(c: DenseConfig): number {
  const D = c.hiddenSize, q = c.numAttentionHeads * c.headDim, kv = c.numKeyValueHeads * c.headDim;
  const attn = q * D + 2 * kv * D + D * q + (c.qkvBias ? q + 2 * kv : 0) + (c.oBias ? D : 0);
  return 2 * D + attn + 3 * D * c.intermediateSize;
}

/** Elements of every tensor `denseTensors` lists, without listing them. */
export function denseElements(c: DenseConfig): number {
  return c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2) + c.hiddenSize + c.numHiddenLayers * denseLayerElements(c);
}

/** Bytes `new DenseForCausalLM(cfg)` allocates: float32 parameters plus the RoPE cos/sin tables. */
export function denseFootprint(c: DenseConfig): ModelFootprint {
  const elements = denseElements(c);
  const parameterBytes = elements * 4;
  const ropeBytes = 2 * c.maxPositionEmbeddings * (c.headDim / 2) * 4;
  return { elements, parameterBytes, ropeBytes, totalBytes: parameterBytes + ropeBytes };
}

/** The config keys that size a dense model, for messages. */
export function denseSizeKeys(c: DenseConfig): string {
  return [
    `vocab_size ${c.vocabSize}`, `hidden_size ${c.hiddenSize}`, `num_hidden_layers ${c.numHiddenLayers}`,
    `intermediate_size ${c.intermediateSize}`, `num_attention_heads ${c.numAttentionHeads}`,
    `num_key_value_heads ${c.numKeyValueHeads}`, `max_position_embeddings ${c.maxPositionEmbeddings}`,
  ].join(', ');
}

/** Throws a ConfigError if the model would need more than `limit` bytes — before anything is allocated. */
export function checkDenseFitsMemory(c: DenseConfig, limit = availableMemoryBytes(), where = 'config'): void {
  const f = denseFootprint(c);
  if (f.totalBytes <= limit) return;
  throw new ConfigError(
    `${where}: the model needs ${formatBytes(f.totalBytes)} (${f.elements.toLocaleString('en-US')} float32 parameters = ${formatBytes(f.parameterBytes)}, ` +
      `RoPE tables ${formatBytes(f.ropeBytes)}) but only ${formatBytes(limit)} of memory is available (${denseSizeKeys(c)})`,
    undefined, `at most ${formatBytes(limit)}`, formatBytes(f.totalBytes),
  );
}
