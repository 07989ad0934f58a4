// DenseConfig: the configuration of a dense Qwen2 / Llama decoder — the architecture of
// DeepSeek-R1-Distill-Qwen (`Qwen2ForCausalLM`) and DeepSeek-R1-Distill-Llama (`LlamaForCausalLM`) —
// read from and written to a Hugging Face `config.json` with its key names unchanged, as
// transformers' `Qwen2Config` / `LlamaConfig` define them.
//
// HF key → field: vocab_size, hidden_size, intermediate_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads (GQA; absent = num_attention_heads), head_dim (absent =
// hidden_size / num_attention_heads), hidden_act (silu only), max_position_embeddings,
// rms_norm_eps, rope_theta, rope_scaling (null only), tie_word_embeddings, bos/eos_token_id.
// Biases: Qwen2 always has q/k/v biases and none on o_proj (modeling_qwen2.py hard-codes them);
// Llama has biases on q/k/v AND o_proj exactly when `attention_bias` is true.
// Unknown keys (sliding_window, max_window_layers, torch_dtype, …) are kept in `extra` and written back.
import { ConfigError } from '../config.js';

/** The dense families tinyseek builds. */
export type DenseModelType = 'qwen2' | 'llama';

/** A dense decoder configuration (HF `config.json`, camelCase). */
export interface DenseConfig {
  modelType: DenseModelType;
  vocabSize: number;
  hiddenSize: number;
  /** Width of the SwiGLU MLP. */
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Key/value heads (GQA: each serves numAttentionHeads / numKeyValueHeads query heads). */
  numKeyValueHeads: number;
  /** Per-head width of q, k and v (all RoPE-rotated, rotate-half). */
  headDim: number;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  /** Biases on q_proj, k_proj, v_proj (Qwen2: always; Llama: attention_bias). */
  qkvBias: boolean;
  /** Bias on o_proj (Qwen2: never; Llama: attention_bias). */
  oBias: boolean;
  bosTokenId: number;
  eosTokenId: number;
  /** A dense model has no Multi-Token Prediction module (asked by generation code of every model). */
  numNextnPredictLayers: 0;
  /** Unknown config.json keys, kept and written back unchanged. */
  extra: Record<string, unknown>;
}

type Json = Record<string, unknown>;

const KNOWN_KEYS = [
  'model_type', 'architectures', 'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers',
  'num_attention_heads', 'num_key_value_heads', 'head_dim', 'hidden_act', 'max_position_embeddings',
  'rms_norm_eps', 'rope_theta', 'rope_scaling', 'tie_word_embeddings', 'bos_token_id', 'eos_token_id',
];

/** Llama's attention_bias is a known key (it sets the biases); for Qwen2 it means nothing and stays in extra. */
function knownKeys(t: DenseModelType): string[] {
  return t === 'llama' ? [...KNOWN_KEYS, 'attention_bias'] : KNOWN_KEYS;
}

/** Defaults of transformers' Qwen2Config / LlamaConfig for keys a config.json may leave out. */
const DEFAULTS: Record<DenseModelType, Json> = {
  qwen2: { hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 10000, rope_scaling: null, tie_word_embeddings: false },
  llama: { hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 10000, rope_scaling: null, tie_word_embeddings: false, attention_bias: false, bos_token_id: 1, eos_token_id: 2 },
};

/** Keys a dense model directory's config.json must state (they set tensor shapes or the RoPE table). */
export const DENSE_REQUIRED_KEYS = [
  'model_type', 'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'max_position_embeddings',
] as const;

/** The `architectures` entry of each family. */
export function denseArchitecture(t: DenseModelType): string {
  return t === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM';
}

/** Whether a config.json's model_type names a dense family. */
export function isDenseModelType(t: unknown): t is DenseModelType {
  return t === 'qwen2' || t === 'llama';
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (key missing)';
  if (v === null) return 'null';
  if (typeof v === 'string') return `"${v}" (string)`;
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : String(v);
}

function int(j: Json, key: string): number {
  const v = j[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw ConfigError.forKey(key, 'an integer', v);
  return v;
}

function num(j: Json, key: string): number {
  const v = j[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw ConfigError.forKey(key, 'a number', v);
  return v;
}

function bool(j: Json, key: string): boolean {
  const v = j[key];
  if (typeof v !== 'boolean') throw ConfigError.forKey(key, 'true or false', v);
  return v;
}

/**
 * Reads a Hugging Face Qwen2 / Llama `config.json` object (keys unchanged; missing optional keys get
 * transformers' defaults; with `requireKeys` the shape keys must be present) and validates it.
 */
export function denseConfigFromHF(json: unknown, opts: { requireKeys?: boolean } = {}): DenseConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`config.json: expected a JSON object, found ${describe(json)}`);
  const o = json as Json;
  if (!isDenseModelType(o.model_type)) throw ConfigError.forKey('model_type', '"qwen2" or "llama"', o.model_type);
  const modelType = o.model_type;
  if (opts.requireKeys) {
    const missing = DENSE_REQUIRED_KEYS.filter((k) => o[k] === undefined);
    if (missing.length > 0) {
      throw new ConfigError(
        `config.json: missing ${missing.length === 1 ? 'key' : `${missing.length} keys`} ${missing.map((k) => `"${k}"`).join(', ')}; ` +
          'a model directory\'s config must state every key that sets a tensor shape',
        missing[0], 'present', 'nothing (key missing)',
      );
    }
  }
  const j: Json = { ...DEFAULTS[modelType], ...o };
  // transformers writes null for "absent" (num_key_value_heads, head_dim).
  if (j.num_key_value_heads === undefined || j.num_key_value_heads === null) j.num_key_value_heads = j.num_attention_heads;
  const H = int(j, 'num_attention_heads');
  const D = int(j, 'hidden_size');
  const explicitHeadDim = j.head_dim !== undefined && j.head_dim !== null;
  if (!explicitHeadDim && H > 0 && D % H !== 0) {
    throw ConfigError.forKey('hidden_size', `a multiple of num_attention_heads (${H}) when head_dim is not given`, D);
  }
  const act = j.hidden_act;
  if (act !== 'silu') throw ConfigError.forKey('hidden_act', '"silu" (SwiGLU, the activation of Qwen2 and Llama)', act);
  if (j.rope_scaling !== null) {
    throw ConfigError.forKey('rope_scaling', 'null (plain RoPE; linear, dynamic, yarn and llama3 scaling are not implemented)', j.rope_scaling);
  }
  if (j.use_sliding_window === true) {
    throw ConfigError.forKey('use_sliding_window', 'false (sliding-window attention is not implemented)', true);
  }
  if (modelType === 'llama' && j.mlp_bias === true) throw ConfigError.forKey('mlp_bias', 'false (MLP biases are not implemented)', true);
  const eos = j.eos_token_id;
  if (Array.isArray(eos)) throw ConfigError.forKey('eos_token_id', 'one integer (a list of end tokens is not supported)', eos);
  const attnBias = modelType === 'llama' ? bool(j, 'attention_bias') : true;
  const extra: Json = {};
  const known = knownKeys(modelType);
  for (const [k, v] of Object.entries(o)) if (!known.includes(k)) extra[k] = v;
  // `architectures` is written from model_type; one that says something else is kept.
  const arch = o.architectures;
  if (arch !== undefined && !(Array.isArray(arch) && arch.length === 1 && arch[0] === denseArchitecture(modelType))) extra.architectures = arch;
  const c: DenseConfig = {
    modelType,
    vocabSize: int(j, 'vocab_size'),
    hiddenSize: D,
    intermediateSize: int(j, 'intermediate_size'),
    numHiddenLayers: int(j, 'num_hidden_layers'),
    numAttentionHeads: H,
    numKeyValueHeads: int(j, 'num_key_value_heads'),
    headDim: explicitHeadDim ? int(j, 'head_dim') : D / H,
    maxPositionEmbeddings: int(j, 'max_position_embeddings'),
    rmsNormEps: num(j, 'rms_norm_eps'),
    ropeTheta: num(j, 'rope_theta'),
    tieWordEmbeddings: bool(j, 'tie_word_embeddings'),
    qkvBias: attnBias,
    oBias: modelType === 'llama' ? attnBias : false,
    bosTokenId: int(j, 'bos_token_id'),
    eosTokenId: int(j, 'eos_token_id'),
    numNextnPredictLayers: 0,
    extra,
  };
  validateDenseConfig(c);
  return c;
}

/** Writes the HF `config.json` object of a dense config (HF key names; unknown keys back unchanged). */
export function denseConfigToHF(c: DenseConfig): Record<string, unknown> {
  const out: Json = {
    architectures: [denseArchitecture(c.modelType)],
    model_type: c.modelType,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    num_key_value_heads: c.numKeyValueHeads,
  };
  if (c.headDim * c.numAttentionHeads !== c.hiddenSize) out.head_dim = c.headDim;
  Object.assign(out, {
    hidden_act: 'silu',
    max_position_embeddings: c.maxPositionEmbeddings,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling: null,
    tie_word_embeddings: c.tieWordEmbeddings,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
  });
  if (c.modelType === 'llama') out.attention_bias = c.qkvBias;
  return { ...out, ...c.extra };
}

function positiveInt(key: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw ConfigError.forKey(key, 'a positive integer', v);
}

/** Checks sizes and the GQA / RoPE constraints; throws a ConfigError naming the HF key, the expected and the found value. */
export function validateDenseConfig(c: DenseConfig): void {
  if (!isDenseModelType(c.modelType)) throw ConfigError.forKey('model_type', '"qwen2" or "llama"', c.modelType);
  const positives: [string, unknown][] = [
    ['vocab_size', c.vocabSize], ['hidden_size', c.hiddenSize], ['intermediate_size', c.intermediateSize],
    ['num_hidden_layers', c.numHiddenLayers], ['num_attention_heads', c.numAttentionHeads],
    ['num_key_value_heads', c.numKeyValueHeads], ['head_dim', c.headDim], ['max_position_embeddings', c.maxPositionEmbeddings],
  ];
  for (const [k, v] of positives) positiveInt(k, v);
  if (c.numAttentionHeads % c.numKeyValueHeads !== 0) {
    throw ConfigError.forKey('num_key_value_heads', `a divisor of num_attention_heads (${c.numAttentionHeads}) (each key/value head serves a group of query heads)`, c.numKeyValueHeads);
  }
  if (c.headDim % 2 !== 0) throw ConfigError.forKey('head_dim', 'an even number (RoPE rotates the two halves of each head)', c.headDim);
  if (!(c.rmsNormEps > 0) || !Number.isFinite(c.rmsNormEps)) throw ConfigError.forKey('rms_norm_eps', 'a positive number', c.rmsNormEps);
  if (!(c.ropeTheta > 0) || !Number.isFinite(c.ropeTheta)) throw ConfigError.forKey('rope_theta', 'a positive number', c.ropeTheta);
  for (const [k, v] of [['tie_word_embeddings', c.tieWordEmbeddings], ['attention_bias', c.qkvBias]] as const) {
    if (typeof v !== 'boolean') throw ConfigError.forKey(k, 'true or false', v);
  }
  for (const [k, v] of [['bos_token_id', c.bosTokenId], ['eos_token_id', c.eosTokenId]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw ConfigError.forKey(k, 'an integer ≥ 0', v);
    if (v >= c.vocabSize) throw ConfigError.forKey(k, `less than vocab_size (${c.vocabSize})`, v);
  }
}
