// ModelConfig: the DeepSeek-V3 / V2 model configuration, read from and written to a Hugging Face
// `config.json` with its key names unchanged (snake_case on disk, camelCase here).
//
// HF key → field (the reference code's `ModelArgs` name in brackets):
//   hidden_size → hiddenSize [dim], intermediate_size → intermediateSize [inter_dim],
//   moe_intermediate_size → moeIntermediateSize [moe_inter_dim], num_hidden_layers [n_layers],
//   first_k_dense_replace [n_dense_layers], num_experts_per_tok [n_activated_experts],
//   n_group [n_expert_groups], topk_group [n_limited_groups], scoring_func [score_func],
//   routed_scaling_factor [route_scale], q_lora_rank (null → no low-rank query, HF `q_proj`), …
// Keys this interface does not model (num_key_value_heads, hidden_act, quantization_config, …) are
// kept in `extra` and written back unchanged, so a real config.json round-trips exactly.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** YaRN context extension (`rope_scaling` with `type: "yarn"`), applied to the decoupled RoPE key only. */
export interface YarnScaling {
  type: 'yarn';
  /** s in the paper: 40 for V3 (4K → 160K). */
  factor: number;
  /** The context length the model was pre-trained at (4096 for V3). */
  originalMaxPositionEmbeddings: number;
  betaFast: number;
  betaSlow: number;
  mscale: number;
  /** Drives the softmax-scale correction mscale² (see softmaxScale). */
  mscaleAllDim: number;
  /** rope_scaling keys not modelled above, written back unchanged. */
  extra: Record<string, unknown>;
}

/** Router scoring function: V3 uses sigmoid affinities, V2 softmax. */
export type ScoringFunc = 'sigmoid' | 'softmax';

/** Expert-selection method: V3 `noaux_tc` (bias-corrected, group top-2 sum), V2 `group_limited_greedy`, V2-Lite `greedy`. */
export type TopkMethod = 'noaux_tc' | 'greedy' | 'group_limited_greedy';

/** The model families this project reads and writes. */
export type ModelType = 'deepseek_v3' | 'deepseek_v2';

/** The DeepSeek-V3/V2 configuration (HF `config.json`, camelCase). */
export interface ModelConfig {
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  /** Width of the dense SwiGLU MLP of the first `firstKDenseReplace` layers. */
  intermediateSize: number;
  /** Width of one routed or shared expert. */
  moeIntermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  nRoutedExperts: number;
  nSharedExperts: number;
  /** K_r: routed experts activated per token. */
  numExpertsPerTok: number;
  /** Expert groups (nodes in V3's node-limited routing). */
  nGroup: number;
  /** M: groups a token may route to. */
  topkGroup: number;
  routedScalingFactor: number;
  scoringFunc: ScoringFunc;
  topkMethod: TopkMethod;
  normTopkProb: boolean;
  /** Layers 0..k-1 use a dense MLP, the rest MoE. */
  firstKDenseReplace: number;
  /** d_c' (query compression); null = no low-rank query (V2-Lite). */
  qLoraRank: number | null;
  /** d_c (KV compression): the latent cached per token. */
  kvLoraRank: number;
  qkNopeHeadDim: number;
  /** d_h^R: the decoupled RoPE dimension, shared by all heads for keys. */
  qkRopeHeadDim: number;
  vHeadDim: number;
  ropeTheta: number;
  ropeScaling: YarnScaling | null;
  rmsNormEps: number;
  /** D: number of Multi-Token Prediction modules (V3: 1). */
  numNextnPredictLayers: number;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  bosTokenId: number;
  eosTokenId: number;
  /** α of the complementary sequence-wise balance loss (paper: 0.0001; HF copies carry 0.001). */
  auxLossAlpha: number;
  /** Whether the balance loss is computed per sequence (`seq_aux`). */
  seqAux: boolean;
  /** Unknown config.json keys, kept and written back unchanged. */
  extra: Record<string, unknown>;
}

/** An invalid or unreadable configuration; names the key, what was expected and what was found. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly key?: string,
    readonly expected?: string,
    readonly found?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }

  /** A ConfigError for one HF key: `config key "k": expected …, found …`. */
  static forKey(key: string, expected: string, found: unknown): ConfigError {
    const f = describe(found);
    return new ConfigError(`config key "${key}": expected ${expected}, found ${f}`, key, expected, f);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (key missing)';
  if (v === null) return 'null';
  if (typeof v === 'string') return `"${v}" (string)`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : String(v);
}

// ---------------------------------------------------------------------------------------------
// Reading: HF config.json → ModelConfig

type Json = Record<string, unknown>;

const KNOWN_KEYS = [
  'model_type', 'vocab_size', 'hidden_size', 'intermediate_size', 'moe_intermediate_size',
  'num_hidden_layers', 'num_attention_heads', 'n_routed_experts', 'n_shared_experts',
  'num_experts_per_tok', 'n_group', 'topk_group', 'routed_scaling_factor', 'scoring_func',
  'topk_method', 'norm_topk_prob', 'first_k_dense_replace', 'q_lora_rank', 'kv_lora_rank',
  'qk_nope_head_dim', 'qk_rope_head_dim', 'v_head_dim', 'rope_theta', 'rope_scaling',
  'rms_norm_eps', 'num_nextn_predict_layers', 'tie_word_embeddings', 'max_position_embeddings',
  'bos_token_id', 'eos_token_id', 'aux_loss_alpha', 'seq_aux',
] as const;

const YARN_KEYS = ['type', 'factor', 'original_max_position_embeddings', 'beta_fast', 'beta_slow', 'mscale', 'mscale_all_dim'];

/**
 * Defaults for keys missing from a config.json: those of DeepSeek's own `configuration_deepseek.py`
 * (V3 = the 671B model; V2 = the values its V2 checkpoints ship with). Keys the HF classes default to
 * null (n_group, topk_group for V2) default to 1 group here.
 */
const DEFAULTS: Record<ModelType, Json> = {
  deepseek_v3: {
    vocab_size: 129280, hidden_size: 7168, intermediate_size: 18432, moe_intermediate_size: 2048,
    num_hidden_layers: 61, num_attention_heads: 128, n_routed_experts: 256, n_shared_experts: 1,
    num_experts_per_tok: 8, n_group: 8, topk_group: 4, routed_scaling_factor: 2.5, scoring_func: 'sigmoid',
    topk_method: 'noaux_tc', norm_topk_prob: true, first_k_dense_replace: 3, q_lora_rank: 1536,
    kv_lora_rank: 512, qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128, rope_theta: 10000,
    rope_scaling: null, rms_norm_eps: 1e-6, num_nextn_predict_layers: 1, tie_word_embeddings: false,
    max_position_embeddings: 4096, bos_token_id: 0, eos_token_id: 1, aux_loss_alpha: 0.001, seq_aux: true,
  },
  deepseek_v2: {
    vocab_size: 102400, hidden_size: 4096, intermediate_size: 11008, moe_intermediate_size: 1407,
    num_hidden_layers: 30, num_attention_heads: 32, n_routed_experts: 64, n_shared_experts: 2,
    num_experts_per_tok: 6, n_group: 1, topk_group: 1, routed_scaling_factor: 1.0, scoring_func: 'softmax',
    topk_method: 'greedy', norm_topk_prob: false, first_k_dense_replace: 0, q_lora_rank: 1536,
    kv_lora_rank: 512, qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128, rope_theta: 10000,
    rope_scaling: null, rms_norm_eps: 1e-6, num_nextn_predict_layers: 0, tie_word_embeddings: false,
    max_position_embeddings: 2048, bos_token_id: 100000, eos_token_id: 100001, aux_loss_alpha: 0.001, seq_aux: true,
  },
};

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(j: Json, key: string, prefix = ''): number {
  const v = j[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw ConfigError.forKey(prefix + key, 'a number', v);
  return v;
}

function int(j: Json, key: string, prefix = ''): number {
  const v = j[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw ConfigError.forKey(prefix + key, 'an integer', v);
  return v;
}

function bool(j: Json, key: string): boolean {
  const v = j[key];
  if (typeof v !== 'boolean') throw ConfigError.forKey(key, 'true or false', v);
  return v;
}

function oneOf<T extends string>(j: Json, key: string, allowed: readonly T[]): T {
  const v = j[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw ConfigError.forKey(key, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, v);
  }
  return v as T;
}

function readYarn(v: unknown): YarnScaling | null {
  if (v === null) return null;
  if (!isObject(v)) throw ConfigError.forKey('rope_scaling', 'null or an object', v);
  const type = v.type ?? v.rope_type;
  if (type !== 'yarn') throw ConfigError.forKey('rope_scaling.type', '"yarn" (the only scaling DeepSeek uses)', type);
  const extra: Json = {};
  for (const [k, val] of Object.entries(v)) if (!YARN_KEYS.includes(k)) extra[k] = val;
  return {
    type: 'yarn',
    factor: num(v, 'factor', 'rope_scaling.'),
    originalMaxPositionEmbeddings: int(v, 'original_max_position_embeddings', 'rope_scaling.'),
    betaFast: num(v, 'beta_fast', 'rope_scaling.'),
    betaSlow: num(v, 'beta_slow', 'rope_scaling.'),
    // mscale / mscale_all_dim default to 1 as in DeepSeek's YaRN helpers.
    mscale: v.mscale === undefined ? 1 : num(v, 'mscale', 'rope_scaling.'),
    mscaleAllDim: v.mscale_all_dim === undefined ? 1 : num(v, 'mscale_all_dim', 'rope_scaling.'),
    extra,
  };
}

/**
 * Keys a model directory's config.json must state: model_type and every key that sets a tensor's
 * shape or the RoPE table's length. Their defaults are those of the 671B DeepSeek-V3 (or of V2), so
 * filling them in for a directory would describe another model than its weights (`{}` would build
 * 671B parameters). Real DeepSeek V2/V3 configs carry all of them (q_lora_rank as null for V2-Lite).
 */
export const REQUIRED_KEYS = [
  'model_type', 'vocab_size', 'hidden_size', 'intermediate_size', 'moe_intermediate_size', 'num_hidden_layers',
  'num_attention_heads', 'n_routed_experts', 'n_shared_experts', 'num_experts_per_tok', 'first_k_dense_replace',
  'q_lora_rank', 'kv_lora_rank', 'qk_nope_head_dim', 'qk_rope_head_dim', 'v_head_dim', 'max_position_embeddings',
] as const;

/** Options of configFromHF. */
export interface ConfigReadOptions {
  /** Every key of REQUIRED_KEYS must be present (a model directory's config); default false (a partial config over the HF defaults). */
  requireKeys?: boolean;
}

/**
 * Reads a Hugging Face `config.json` object (keys unchanged); missing optional keys get the HF
 * defaults (with `requireKeys`, missing shape keys are an error instead); validates.
 */
export function configFromHF(json: unknown, opts: ConfigReadOptions = {}): ModelConfig {
  if (!isObject(json)) throw new ConfigError(`config.json: expected a JSON object, found ${describe(json)}`);
  if (opts.requireKeys) {
    const missing = REQUIRED_KEYS.filter((k) => json[k] === undefined);
    if (missing.length > 0) {
      const list = missing.map((k) => `"${k}"`).join(', ');
      throw new ConfigError(
        `config.json: missing ${missing.length === 1 ? 'key' : `${missing.length} keys`} ${list}; a model directory's config must state every key that sets a tensor shape ` +
          `(tinyseek does not fill them in from the 671B DeepSeek-V3's defaults)`,
        missing[0], 'present', 'nothing (key missing)',
      );
    }
  }
  const modelType = json.model_type === undefined ? 'deepseek_v3' : oneOf(json, 'model_type', ['deepseek_v3', 'deepseek_v2'] as const);
  const j: Json = { ...DEFAULTS[modelType], ...json };
  // HF writes n_group/topk_group as null when routing is not group-limited, and n_shared_experts
  // as null for a model without shared experts (its modeling code tests `is not None`).
  if (j.n_group === null) j.n_group = 1;
  if (j.topk_group === null) j.topk_group = 1;
  if (j.n_shared_experts === null) j.n_shared_experts = 0;
  const qLora = j.q_lora_rank;
  const extra: Json = {};
  for (const [k, v] of Object.entries(json)) if (!(KNOWN_KEYS as readonly string[]).includes(k)) extra[k] = v;
  // `architectures` is written from model_type; keep it only if it says something else.
  const arch = extra.architectures;
  if (Array.isArray(arch) && arch.length === 1 && arch[0] === architectureFor(modelType)) {
    delete extra.architectures;
  }
  const c: ModelConfig = {
    modelType,
    vocabSize: int(j, 'vocab_size'),
    hiddenSize: int(j, 'hidden_size'),
    intermediateSize: int(j, 'intermediate_size'),
    moeIntermediateSize: int(j, 'moe_intermediate_size'),
    numHiddenLayers: int(j, 'num_hidden_layers'),
    numAttentionHeads: int(j, 'num_attention_heads'),
    nRoutedExperts: int(j, 'n_routed_experts'),
    nSharedExperts: int(j, 'n_shared_experts'),
    numExpertsPerTok: int(j, 'num_experts_per_tok'),
    nGroup: int(j, 'n_group'),
    topkGroup: int(j, 'topk_group'),
    routedScalingFactor: num(j, 'routed_scaling_factor'),
    scoringFunc: oneOf(j, 'scoring_func', ['sigmoid', 'softmax'] as const),
    topkMethod: oneOf(j, 'topk_method', ['noaux_tc', 'greedy', 'group_limited_greedy'] as const),
    normTopkProb: bool(j, 'norm_topk_prob'),
    firstKDenseReplace: int(j, 'first_k_dense_replace'),
    qLoraRank: qLora === null ? null : int(j, 'q_lora_rank'),
    kvLoraRank: int(j, 'kv_lora_rank'),
    qkNopeHeadDim: int(j, 'qk_nope_head_dim'),
    qkRopeHeadDim: int(j, 'qk_rope_head_dim'),
    vHeadDim: int(j, 'v_head_dim'),
    ropeTheta: num(j, 'rope_theta'),
    ropeScaling: readYarn(j.rope_scaling),
    rmsNormEps: num(j, 'rms_norm_eps'),
    numNextnPredictLayers: int(j, 'num_nextn_predict_layers'),
    tieWordEmbeddings: bool(j, 'tie_word_embeddings'),
    maxPositionEmbeddings: int(j, 'max_position_embeddings'),
    bosTokenId: int(j, 'bos_token_id'),
    eosTokenId: int(j, 'eos_token_id'),
    auxLossAlpha: num(j, 'aux_loss_alpha'),
    seqAux: bool(j, 'seq_aux'),
    extra,
  };
  validateConfig(c);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Writing: ModelConfig → HF config.json

/** The `architectures` entry HF loaders look for. */
export function architectureFor(modelType: ModelType): string {
  return modelType === 'deepseek_v2' ? 'DeepseekV2ForCausalLM' : 'DeepseekV3ForCausalLM';
}

function yarnToHF(y: YarnScaling): Json {
  const out: Json = {};
  // A copy that named the type `rope_type` keeps that spelling (it is in `extra`).
  if (!('rope_type' in y.extra)) out.type = y.type;
  Object.assign(out, {
    factor: y.factor,
    original_max_position_embeddings: y.originalMaxPositionEmbeddings,
    beta_fast: y.betaFast,
    beta_slow: y.betaSlow,
    mscale: y.mscale,
    mscale_all_dim: y.mscaleAllDim,
  });
  return { ...out, ...y.extra };
}

/** Writes the HF `config.json` object: HF key names, `architectures`, and the unknown keys back unchanged. */
export function configToHF(c: ModelConfig): Record<string, unknown> {
  const out: Json = {
    architectures: [architectureFor(c.modelType)],
    model_type: c.modelType,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    moe_intermediate_size: c.moeIntermediateSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    n_routed_experts: c.nRoutedExperts,
    n_shared_experts: c.nSharedExperts,
    num_experts_per_tok: c.numExpertsPerTok,
    n_group: c.nGroup,
    topk_group: c.topkGroup,
    routed_scaling_factor: c.routedScalingFactor,
    scoring_func: c.scoringFunc,
    topk_method: c.topkMethod,
    norm_topk_prob: c.normTopkProb,
    first_k_dense_replace: c.firstKDenseReplace,
    q_lora_rank: c.qLoraRank,
    kv_lora_rank: c.kvLoraRank,
    qk_nope_head_dim: c.qkNopeHeadDim,
    qk_rope_head_dim: c.qkRopeHeadDim,
    v_head_dim: c.vHeadDim,
    rope_theta: c.ropeTheta,
    rope_scaling: c.ropeScaling === null ? null : yarnToHF(c.ropeScaling),
    rms_norm_eps: c.rmsNormEps,
    num_nextn_predict_layers: c.numNextnPredictLayers,
    tie_word_embeddings: c.tieWordEmbeddings,
    max_position_embeddings: c.maxPositionEmbeddings,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    aux_loss_alpha: c.auxLossAlpha,
    seq_aux: c.seqAux,
  };
  return { ...out, ...c.extra };
}

// ---------------------------------------------------------------------------------------------
// Validation

function positiveInt(key: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw ConfigError.forKey(key, 'a positive integer', v);
}

function nonNegativeInt(key: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw ConfigError.forKey(key, 'an integer ≥ 0', v);
}

function positiveNumber(key: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw ConfigError.forKey(key, 'a positive number', v);
}

/** Checks types, sizes and the routing constraints; throws a ConfigError naming the HF key, the expected and the found value. */
export function validateConfig(c: ModelConfig): void {
  if (c.modelType !== 'deepseek_v3' && c.modelType !== 'deepseek_v2') {
    throw ConfigError.forKey('model_type', '"deepseek_v3" or "deepseek_v2"', c.modelType);
  }
  const positives: [string, unknown][] = [
    ['vocab_size', c.vocabSize], ['hidden_size', c.hiddenSize], ['intermediate_size', c.intermediateSize],
    ['moe_intermediate_size', c.moeIntermediateSize], ['num_hidden_layers', c.numHiddenLayers],
    ['num_attention_heads', c.numAttentionHeads], ['n_routed_experts', c.nRoutedExperts],
    ['num_experts_per_tok', c.numExpertsPerTok], ['n_group', c.nGroup], ['topk_group', c.topkGroup],
    ['kv_lora_rank', c.kvLoraRank], ['qk_nope_head_dim', c.qkNopeHeadDim], ['qk_rope_head_dim', c.qkRopeHeadDim],
    ['v_head_dim', c.vHeadDim], ['max_position_embeddings', c.maxPositionEmbeddings],
  ];
  for (const [k, v] of positives) positiveInt(k, v);
  const nonNegatives: [string, unknown][] = [
    ['n_shared_experts', c.nSharedExperts], ['first_k_dense_replace', c.firstKDenseReplace],
    ['num_nextn_predict_layers', c.numNextnPredictLayers], ['bos_token_id', c.bosTokenId], ['eos_token_id', c.eosTokenId],
  ];
  for (const [k, v] of nonNegatives) nonNegativeInt(k, v);
  if (c.qLoraRank !== null) positiveInt('q_lora_rank', c.qLoraRank);
  positiveNumber('rope_theta', c.ropeTheta);
  positiveNumber('rms_norm_eps', c.rmsNormEps);
  positiveNumber('routed_scaling_factor', c.routedScalingFactor);
  if (typeof c.auxLossAlpha !== 'number' || !(c.auxLossAlpha >= 0)) throw ConfigError.forKey('aux_loss_alpha', 'a number ≥ 0', c.auxLossAlpha);
  for (const [k, v] of [['norm_topk_prob', c.normTopkProb], ['tie_word_embeddings', c.tieWordEmbeddings], ['seq_aux', c.seqAux]] as const) {
    if (typeof v !== 'boolean') throw ConfigError.forKey(k, 'true or false', v);
  }
  if (c.scoringFunc !== 'sigmoid' && c.scoringFunc !== 'softmax') {
    throw ConfigError.forKey('scoring_func', '"sigmoid" or "softmax"', c.scoringFunc);
  }
  if (!['noaux_tc', 'greedy', 'group_limited_greedy'].includes(c.topkMethod)) {
    throw ConfigError.forKey('topk_method', '"noaux_tc", "greedy" or "group_limited_greedy"', c.topkMethod);
  }
  // Decoupled RoPE rotates adjacent pairs, so its dimension must be even.
  if (c.qkRopeHeadDim % 2 !== 0) throw ConfigError.forKey('qk_rope_head_dim', 'an even number (RoPE rotates pairs)', c.qkRopeHeadDim);
  if (c.firstKDenseReplace > c.numHiddenLayers) {
    throw ConfigError.forKey('first_k_dense_replace', `at most num_hidden_layers (${c.numHiddenLayers})`, c.firstKDenseReplace);
  }
  // Group-limited routing: experts split evenly into groups, a token keeps topk_group groups and
  // must find num_experts_per_tok experts inside them.
  if (c.nRoutedExperts % c.nGroup !== 0) {
    throw ConfigError.forKey('n_routed_experts', `a multiple of n_group (${c.nGroup})`, c.nRoutedExperts);
  }
  if (c.topkGroup > c.nGroup) throw ConfigError.forKey('topk_group', `at most n_group (${c.nGroup})`, c.topkGroup);
  if (c.numExpertsPerTok > c.nRoutedExperts) {
    throw ConfigError.forKey('num_experts_per_tok', `at most n_routed_experts (${c.nRoutedExperts})`, c.numExpertsPerTok);
  }
  const perGroup = c.nRoutedExperts / c.nGroup;
  if (c.numExpertsPerTok > c.topkGroup * perGroup) {
    throw ConfigError.forKey(
      'num_experts_per_tok',
      `at most topk_group × experts per group = ${c.topkGroup} × ${perGroup} = ${c.topkGroup * perGroup} (the kept groups must hold enough experts)`,
      c.numExpertsPerTok,
    );
  }
  // noaux_tc scores a group by the sum of its top-2 biased affinities.
  if (c.topkMethod === 'noaux_tc' && perGroup < 2) {
    throw ConfigError.forKey('n_group', `at most n_routed_experts / 2 = ${c.nRoutedExperts / 2} (noaux_tc sums the top-2 scores per group)`, c.nGroup);
  }
  if (c.bosTokenId >= c.vocabSize) throw ConfigError.forKey('bos_token_id', `less than vocab_size (${c.vocabSize})`, c.bosTokenId);
  if (c.eosTokenId >= c.vocabSize) throw ConfigError.forKey('eos_token_id', `less than vocab_size (${c.vocabSize})`, c.eosTokenId);
  const y = c.ropeScaling;
  if (y !== null) {
    if (y.type !== 'yarn') throw ConfigError.forKey('rope_scaling.type', '"yarn"', y.type);
    positiveNumber('rope_scaling.factor', y.factor);
    positiveInt('rope_scaling.original_max_position_embeddings', y.originalMaxPositionEmbeddings);
    positiveNumber('rope_scaling.beta_fast', y.betaFast);
    positiveNumber('rope_scaling.beta_slow', y.betaSlow);
    if (y.betaFast <= y.betaSlow) throw ConfigError.forKey('rope_scaling.beta_fast', `greater than beta_slow (${y.betaSlow})`, y.betaFast);
    if (!(y.mscale >= 0)) throw ConfigError.forKey('rope_scaling.mscale', 'a number ≥ 0', y.mscale);
    if (!(y.mscaleAllDim >= 0)) throw ConfigError.forKey('rope_scaling.mscale_all_dim', 'a number ≥ 0', y.mscaleAllDim);
  }
  const freq = c.extra.moe_layer_freq;
  if (freq !== undefined) positiveInt('moe_layer_freq', freq);
  checkImplemented(c);
}

/** A config.json key kept in `extra` whose value changes what the model computes, and the values tinyseek runs. */
interface ImplementedValue {
  key: string;
  ok: (v: unknown, c: ModelConfig) => boolean;
  expected: (c: ModelConfig) => string;
}

const isPositiveInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * Keys Hugging Face's DeepseekV2/V3 configurations (and transformers' generic ones) carry that
 * ModelConfig does not model, with the only values tinyseek implements. Anything else would be run
 * as something it is not (a "gelu" model run with SiLU), so it is refused naming the key and value.
 * Absent keys take HF's defaults, which are the implemented values. Keys that only concern training
 * infrastructure or bookkeeping (ep_size, pretraining_tp, initializer_range, use_cache, torch_dtype,
 * transformers_version, auto_map) do not change the function computed and are kept unchecked.
 */
const IMPLEMENTED: readonly ImplementedValue[] = [
  // transformers' ACT2FN maps both "silu" and "swish" to SiLU; DeepSeek's MLP is SwiGLU.
  { key: 'hidden_act', ok: (v) => v === 'silu' || v === 'swish', expected: () => '"silu" (SwiGLU; "swish" is the same function); other activations are not implemented' },
  { key: 'attention_bias', ok: (v) => v === false, expected: () => 'false (MLA\'s projections have no bias; attention biases are not implemented)' },
  { key: 'mlp_bias', ok: (v) => v === false, expected: () => 'false (MLP biases are not implemented)' },
  { key: 'attention_dropout', ok: (v) => v === 0, expected: () => '0 (attention dropout is not implemented)' },
  // MLA up-projects one key and value per head from the shared latent: there are no KV groups.
  { key: 'num_key_value_heads', ok: (v, c) => v === null || v === c.numAttentionHeads, expected: (c) => `num_attention_heads (${c.numAttentionHeads}): MLA has one key/value head per query head` },
  // transformers' DeepseekV3Config: true = DeepSeek's RoPE on adjacent pairs, which tinyseek runs.
  { key: 'rope_interleave', ok: (v) => v === true, expected: () => 'true (RoPE on adjacent pairs as DeepSeek\'s checkpoints; rotate-half RoPE is not implemented)' },
  { key: 'ep_size', ok: isPositiveInt, expected: () => 'a positive integer' },
  { key: 'pretraining_tp', ok: isPositiveInt, expected: () => 'a positive integer' },
];

/** The only quantization tinyseek reads: DeepSeek-V3's block FP8 (dequantized on load). */
export const V3_QUANTIZATION_CONFIG = { activation_scheme: 'dynamic', fmt: 'e4m3', quant_method: 'fp8', weight_block_size: [128, 128] } as const;

function checkQuantization(q: unknown): void {
  if (!isObject(q)) throw ConfigError.forKey('quantization_config', 'an object', q);
  if (q.quant_method !== 'fp8') {
    throw ConfigError.forKey('quantization_config.quant_method', '"fp8" (DeepSeek-V3\'s block FP8; other quantization methods are not implemented)', q.quant_method);
  }
  if (q.fmt !== undefined && q.fmt !== 'e4m3') throw ConfigError.forKey('quantization_config.fmt', '"e4m3" (other FP8 formats are not implemented)', q.fmt);
  const b = q.weight_block_size;
  if (!Array.isArray(b) || b.length !== 2 || b[0] !== 128 || b[1] !== 128) {
    throw ConfigError.forKey('quantization_config.weight_block_size', '[128, 128] (other block sizes are not implemented)', Array.isArray(b) ? `[${b.join(', ')}]` : b);
  }
  // Static activation scales would come as input_scale tensors; weights are dequantized and
  // activations stay in float32, so only the dynamic scheme (no stored activation scales) is read.
  if (q.activation_scheme !== undefined && q.activation_scheme !== 'dynamic') {
    throw ConfigError.forKey('quantization_config.activation_scheme', '"dynamic" (static activation scales are not implemented)', q.activation_scheme);
  }
  // scale_fmt ("ue8m0", V3.1) rounds activation scales to powers of two inside FP8 GEMMs; weights
  // dequantized on load are unaffected.
  if (q.scale_fmt !== undefined && q.scale_fmt !== null && q.scale_fmt !== 'ue8m0') {
    throw ConfigError.forKey('quantization_config.scale_fmt', '"ue8m0" or absent', q.scale_fmt);
  }
}

/** Refuses config values tinyseek does not implement (see IMPLEMENTED), naming the key and the value. */
function checkImplemented(c: ModelConfig): void {
  for (const r of IMPLEMENTED) {
    const v = c.extra[r.key];
    if (v !== undefined && !r.ok(v, c)) throw ConfigError.forKey(r.key, r.expected(c), v);
  }
  if (c.extra.quantization_config !== undefined && c.extra.quantization_config !== null) checkQuantization(c.extra.quantization_config);
  const y = c.ropeScaling;
  if (y !== null) {
    // transformers' YaRN: an explicit attention_factor replaces the mscale ratio; truncate=false
    // keeps the correction range unrounded. DeepSeek uses neither.
    if (y.extra.attention_factor !== undefined && y.extra.attention_factor !== null) {
      throw ConfigError.forKey('rope_scaling.attention_factor', 'absent (YaRN\'s temperature comes from mscale / mscale_all_dim; an explicit attention_factor is not implemented)', y.extra.attention_factor);
    }
    if (y.extra.truncate !== undefined && y.extra.truncate !== true) {
      throw ConfigError.forKey('rope_scaling.truncate', 'true or absent (unrounded YaRN correction ranges are not implemented)', y.extra.truncate);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Derived quantities

/** Per-head query/key width: qk_nope_head_dim + qk_rope_head_dim (192 for V3). */
export function qkHeadDim(c: ModelConfig): number {
  return c.qkNopeHeadDim + c.qkRopeHeadDim;
}

/** YaRN's attention-temperature factor 0.1·m·ln(s) + 1 (1 when s ≤ 1). */
export function yarnMscale(factor: number, mscale: number): number {
  return factor <= 1 ? 1 : 0.1 * mscale * Math.log(factor) + 1;
}

/**
 * The attention softmax scale: qkHeadDim^-0.5 × mscale², mscale = 0.1·mscale_all_dim·ln(factor) + 1.
 * We follow Hugging Face's rule — applied whenever rope_scaling is YaRN with factor > 1 (and
 * mscale_all_dim ≠ 0) — not the reference demo's, which applies it only when its max_seq_len exceeds
 * original_seq_len (always true at its default 16384). V3: 192^-0.5 × 1.36889² = 0.135234.
 */
export function softmaxScale(c: ModelConfig): number {
  let scale = qkHeadDim(c) ** -0.5;
  const y = c.ropeScaling;
  if (y !== null && y.factor > 1 && y.mscaleAllDim !== 0) {
    const m = yarnMscale(y.factor, y.mscaleAllDim);
    scale *= m * m;
  }
  return scale;
}

/** Whether decoder layer `layerIdx` (MTP layers continue the numbering) has an MoE FFN rather than the dense MLP. */
export function isMoeLayer(c: ModelConfig, layerIdx: number): boolean {
  const freq = typeof c.extra.moe_layer_freq === 'number' ? c.extra.moe_layer_freq : 1;
  return layerIdx >= c.firstKDenseReplace && layerIdx % freq === 0;
}

// ---------------------------------------------------------------------------------------------
// Loading

/** Reads and validates a config.json file. */
export function loadConfigFile(file: string, opts: ConfigReadOptions = {}): ModelConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return configFromHF(json, opts);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message.replace(/^config\.json: /, '')}`, e.key, e.expected, e.found);
    throw e;
  }
}

/** Loads a path that is either a config.json file or a model directory holding one. */
export function loadConfigPath(fileOrDir: string): ModelConfig {
  let st;
  try {
    st = statSync(fileOrDir);
  } catch {
    throw new ConfigError(`no such file or directory: ${fileOrDir}`);
  }
  if (!st.isDirectory()) return loadConfigFile(fileOrDir);
  const file = path.join(fileOrDir, 'config.json');
  try {
    statSync(file);
  } catch {
    throw new ConfigError(`model directory ${fileOrDir} has no config.json`);
  }
  return loadConfigFile(file, { requireKeys: true });
}
