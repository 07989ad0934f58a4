// config: HF config.json round trips, defaults, unknown keys, validation errors, derived values, presets, loading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  configFromHF,
  configToHF,
  isMoeLayer,
  loadConfigFile,
  qkHeadDim,
  softmaxScale,
  validateConfig,
  type ModelConfig,
} from '../src/model/config.js';
import { getPreset, getAnyPreset, presetNames, resolveConfig } from '../src/model/presets.js';
import { anyConfigFromHF, anyConfigToHF } from '../src/model/registry.js';
import { countParams } from '../src/analysis/params.js';

// DeepSeek-V3's config.json as shipped on the Hub (all keys, including ones ModelConfig keeps in `extra`).
const V3_CONFIG_JSON = {
  architectures: ['DeepseekV3ForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  auto_map: {
    AutoConfig: 'configuration_deepseek.DeepseekV3Config',
    AutoModel: 'modeling_deepseek.DeepseekV3Model',
    AutoModelForCausalLM: 'modeling_deepseek.DeepseekV3ForCausalLM',
  },
  aux_loss_alpha: 0.001,
  bos_token_id: 0,
  eos_token_id: 1,
  ep_size: 1,
  first_k_dense_replace: 3,
  hidden_act: 'silu',
  hidden_size: 7168,
  initializer_range: 0.02,
  intermediate_size: 18432,
  kv_lora_rank: 512,
  max_position_embeddings: 163840,
  model_type: 'deepseek_v3',
  moe_intermediate_size: 2048,
  moe_layer_freq: 1,
  n_group: 8,
  n_routed_experts: 256,
  n_shared_experts: 1,
  norm_topk_prob: true,
  num_attention_heads: 128,
  num_experts_per_tok: 8,
  num_hidden_layers: 61,
  num_key_value_heads: 128,
  num_nextn_predict_layers: 1,
  pretraining_tp: 1,
  q_lora_rank: 1536,
  qk_nope_head_dim: 128,
  qk_rope_head_dim: 64,
  quantization_config: { activation_scheme: 'dynamic', fmt: 'e4m3', quant_method: 'fp8', weight_block_size: [128, 128] },
  rms_norm_eps: 1e-6,
  rope_scaling: {
    beta_fast: 32,
    beta_slow: 1,
    factor: 40,
    mscale: 1.0,
    mscale_all_dim: 1.0,
    original_max_position_embeddings: 4096,
    type: 'yarn',
  },
  rope_theta: 10000,
  routed_scaling_factor: 2.5,
  scoring_func: 'sigmoid',
  seq_aux: true,
  tie_word_embeddings: false,
  topk_group: 4,
  topk_method: 'noaux_tc',
  torch_dtype: 'bfloat16',
  transformers_version: '4.46.3',
  use_cache: true,
  v_head_dim: 128,
  vocab_size: 129280,
};

// DeepSeek-V2-Lite: q_lora_rank null (q_proj), softmax + greedy routing, mscale 0.707.
const V2_LITE_CONFIG_JSON = {
  architectures: ['DeepseekV2ForCausalLM'],
  aux_loss_alpha: 0.001,
  bos_token_id: 100000,
  eos_token_id: 100001,
  first_k_dense_replace: 1,
  hidden_act: 'silu',
  hidden_size: 2048,
  intermediate_size: 10944,
  kv_lora_rank: 512,
  max_position_embeddings: 163840,
  model_type: 'deepseek_v2',
  moe_intermediate_size: 1408,
  moe_layer_freq: 1,
  n_group: 1,
  n_routed_experts: 64,
  n_shared_experts: 2,
  norm_topk_prob: false,
  num_attention_heads: 16,
  num_experts_per_tok: 6,
  num_hidden_layers: 27,
  num_key_value_heads: 16,
  q_lora_rank: null,
  qk_nope_head_dim: 128,
  qk_rope_head_dim: 64,
  rms_norm_eps: 1e-6,
  rope_scaling: { beta_fast: 32, beta_slow: 1, factor: 40, mscale: 0.707, mscale_all_dim: 0.707, original_max_position_embeddings: 4096, type: 'yarn' },
  rope_theta: 10000,
  routed_scaling_factor: 1.0,
  scoring_func: 'softmax',
  seq_aux: true,
  tie_word_embeddings: false,
  topk_group: 1,
  topk_method: 'greedy',
  v_head_dim: 128,
  vocab_size: 102400,
  num_nextn_predict_layers: 0,
};

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

test('V3 config.json → ModelConfig → config.json is deep-equal (unknown keys kept)', () => {
  const c = configFromHF(clone(V3_CONFIG_JSON));
  assert.equal(c.hiddenSize, 7168);
  assert.equal(c.nRoutedExperts, 256);
  assert.equal(c.qLoraRank, 1536);
  assert.deepEqual(c.ropeScaling && [c.ropeScaling.factor, c.ropeScaling.originalMaxPositionEmbeddings, c.ropeScaling.mscaleAllDim], [40, 4096, 1]);
  assert.deepEqual(c.extra.quantization_config, V3_CONFIG_JSON.quantization_config);
  assert.equal(c.extra.torch_dtype, 'bfloat16');
  assert.deepEqual(configToHF(c), V3_CONFIG_JSON);
});

test('V2-Lite config.json round-trips with q_lora_rank null', () => {
  const c = configFromHF(clone(V2_LITE_CONFIG_JSON));
  assert.equal(c.qLoraRank, null);
  assert.equal(c.modelType, 'deepseek_v2');
  assert.equal(c.scoringFunc, 'softmax');
  assert.deepEqual(configToHF(c), V2_LITE_CONFIG_JSON);
});

test('unknown keys, also inside rope_scaling, survive a round trip', () => {
  const j = { ...clone(V3_CONFIG_JSON), my_custom_key: { nested: [1, 2, 3] }, rope_scaling: { ...V3_CONFIG_JSON.rope_scaling, experimental: 'x' } };
  const back = configToHF(configFromHF(j));
  assert.deepEqual(back, j);
  assert.deepEqual(back.my_custom_key, { nested: [1, 2, 3] });
});

test('missing optional keys take the HF defaults of the model type; architectures is written', () => {
  const c = configFromHF({ model_type: 'deepseek_v3', hidden_size: 256, num_hidden_layers: 4 });
  assert.equal(c.hiddenSize, 256);
  assert.equal(c.numHiddenLayers, 4);
  assert.equal(c.nRoutedExperts, 256);
  assert.equal(c.scoringFunc, 'sigmoid');
  assert.equal(c.topkMethod, 'noaux_tc');
  assert.equal(c.numNextnPredictLayers, 1);
  assert.deepEqual(configToHF(c).architectures, ['DeepseekV3ForCausalLM']);
  const v2 = configFromHF({ model_type: 'deepseek_v2', n_group: null, topk_group: null });
  assert.equal(v2.scoringFunc, 'softmax');
  assert.equal(v2.nGroup, 1);
  assert.deepEqual(configToHF(v2).architectures, ['DeepseekV2ForCausalLM']);
});

test('every preset (the dense students too) survives config → config.json → config', () => {
  for (const name of presetNames()) {
    const c = getAnyPreset(name);
    assert.deepEqual(anyConfigFromHF(JSON.parse(JSON.stringify(anyConfigToHF(c)))), c, name);
  }
});

/** Asserts that a mutation of the V3 config.json throws a ConfigError naming the key, the expectation and the value. */
function rejects(mutate: (j: Record<string, unknown>) => void, key: string, expected: RegExp, found: string): void {
  const j: Record<string, unknown> = clone(V3_CONFIG_JSON);
  mutate(j);
  assert.throws(
    () => configFromHF(j),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
      assert.equal(e.key, key);
      assert.ok(e.message.includes(`"${key}"`), e.message);
      assert.match(e.message, expected);
      assert.ok(e.message.includes(found), `"${found}" not in: ${e.message}`);
      return true;
    },
  );
}

test('invalid routing configurations name the key, the expected and the found value', () => {
  rejects((j) => (j.n_routed_experts = 250), 'n_routed_experts', /multiple of n_group \(8\)/, 'found 250');
  rejects((j) => (j.topk_group = 9), 'topk_group', /at most n_group \(8\)/, 'found 9');
  rejects((j) => (j.num_experts_per_tok = 300), 'num_experts_per_tok', /at most n_routed_experts \(256\)/, 'found 300');
  // 8 groups of 32 experts, keep 1 group: at most 32 experts reachable.
  rejects((j) => { j.topk_group = 1; j.num_experts_per_tok = 40; }, 'num_experts_per_tok', /1 × 32 = 32/, 'found 40');
  rejects((j) => (j.qk_rope_head_dim = 63), 'qk_rope_head_dim', /even/, 'found 63');
  rejects((j) => (j.scoring_func = 'relu'), 'scoring_func', /"sigmoid", "softmax"/, '"relu"');
  rejects((j) => (j.topk_method = 'random'), 'topk_method', /noaux_tc/, '"random"');
  rejects((j) => { j.n_group = 256; j.topk_group = 256; }, 'n_group', /top-2/, 'found 256');
  rejects((j) => (j.first_k_dense_replace = 62), 'first_k_dense_replace', /at most num_hidden_layers \(61\)/, 'found 62');
  rejects((j) => (j.eos_token_id = 129280), 'eos_token_id', /less than vocab_size/, 'found 129280');
});

test('non-positive sizes and wrong types are rejected', () => {
  rejects((j) => (j.hidden_size = 0), 'hidden_size', /positive integer/, 'found 0');
  rejects((j) => (j.num_hidden_layers = -1), 'num_hidden_layers', /positive integer/, 'found -1');
  rejects((j) => (j.hidden_size = '7168'), 'hidden_size', /an integer/, '"7168" (string)');
  rejects((j) => (j.kv_lora_rank = 1.5), 'kv_lora_rank', /an integer/, 'found 1.5');
  rejects((j) => (j.q_lora_rank = 0), 'q_lora_rank', /positive integer/, 'found 0');
  rejects((j) => (j.norm_topk_prob = 'yes'), 'norm_topk_prob', /true or false/, '"yes" (string)');
  rejects((j) => (j.rope_scaling = { type: 'linear', factor: 2 }), 'rope_scaling.type', /"yarn"/, '"linear"');
  rejects((j) => (j.rope_scaling = { ...V3_CONFIG_JSON.rope_scaling, beta_fast: 0.5 }), 'rope_scaling.beta_fast', /greater than beta_slow/, 'found 0.5');
  rejects((j) => (j.model_type = 'llama'), 'model_type', /"deepseek_v3", "deepseek_v2"/, '"llama"');
  rejects((j) => (j.rope_theta = -1), 'rope_theta', /a positive number/, 'found -1');
});

test('config values tinyseek does not implement are refused naming the key and the value', () => {
  rejects((j) => (j.hidden_act = 'gelu'), 'hidden_act', /"silu".*not implemented/, '"gelu"');
  rejects((j) => (j.hidden_act = 'relu'), 'hidden_act', /not implemented/, '"relu"');
  rejects((j) => (j.attention_bias = true), 'attention_bias', /false.*not implemented/, 'found true');
  rejects((j) => (j.mlp_bias = true), 'mlp_bias', /not implemented/, 'found true');
  rejects((j) => (j.attention_dropout = 0.1), 'attention_dropout', /not implemented/, 'found 0.1');
  rejects((j) => (j.num_key_value_heads = 8), 'num_key_value_heads', /num_attention_heads \(128\)/, 'found 8');
  rejects((j) => (j.rope_interleave = false), 'rope_interleave', /rotate-half RoPE is not implemented/, 'found false');
  rejects((j) => (j.rope_scaling = { type: 'dynamic', factor: 2 }), 'rope_scaling.type', /"yarn"/, '"dynamic"');
  rejects((j) => (j.rope_scaling = { rope_type: 'llama3', factor: 8 }), 'rope_scaling.type', /"yarn"/, '"llama3"');
  rejects((j) => (j.rope_scaling = { ...V3_CONFIG_JSON.rope_scaling, attention_factor: 1.2 }), 'rope_scaling.attention_factor', /not implemented/, 'found 1.2');
  rejects((j) => (j.rope_scaling = { ...V3_CONFIG_JSON.rope_scaling, truncate: false }), 'rope_scaling.truncate', /not implemented/, 'found false');
  rejects((j) => (j.scoring_func = 'sqrtsoftplus'), 'scoring_func', /"sigmoid", "softmax"/, '"sqrtsoftplus"');
  rejects((j) => (j.topk_method = 'noaux'), 'topk_method', /"noaux_tc", "greedy", "group_limited_greedy"/, '"noaux"');
  rejects((j) => (j.quantization_config = { quant_method: 'gptq', bits: 4 }), 'quantization_config.quant_method', /"fp8".*not implemented/, '"gptq"');
  rejects((j) => (j.quantization_config = { ...V3_CONFIG_JSON.quantization_config, weight_block_size: [64, 64] }), 'quantization_config.weight_block_size', /\[128, 128\]/, '[64, 64]');
  rejects((j) => (j.quantization_config = { ...V3_CONFIG_JSON.quantization_config, fmt: 'e5m2' }), 'quantization_config.fmt', /"e4m3"/, '"e5m2"');
  rejects((j) => (j.quantization_config = { ...V3_CONFIG_JSON.quantization_config, activation_scheme: 'static' }), 'quantization_config.activation_scheme', /"dynamic"/, '"static"');
  rejects((j) => (j.ep_size = 0), 'ep_size', /a positive integer/, 'found 0');
  // What V3, V3.1 and HF write is accepted.
  for (const ok of [
    (j: Record<string, unknown>) => (j.hidden_act = 'swish'),
    (j: Record<string, unknown>) => (j.rope_interleave = true),
    (j: Record<string, unknown>) => (j.quantization_config = { ...V3_CONFIG_JSON.quantization_config, scale_fmt: 'ue8m0' }),
    (j: Record<string, unknown>) => (j.rope_scaling = { ...V3_CONFIG_JSON.rope_scaling, truncate: true }),
  ]) {
    const j: Record<string, unknown> = clone(V3_CONFIG_JSON);
    ok(j);
    assert.deepEqual(configToHF(configFromHF(j)), j);
  }
  // A config edited in code is held to the same rules.
  const c = getPreset('nano');
  c.extra.hidden_act = 'gelu';
  assert.throws(() => validateConfig(c), /config key "hidden_act": expected "silu".*found "gelu"/);
});

test('n_shared_experts: null is accepted as Hugging Face does (no shared experts)', () => {
  const j: Record<string, unknown> = clone(V3_CONFIG_JSON);
  j.n_shared_experts = null;
  const c = configFromHF(j);
  assert.equal(c.nSharedExperts, 0);
  assert.equal(configToHF(c).n_shared_experts, 0);
  const noShared = countParams(c).total, withShared = countParams(configFromHF(V3_CONFIG_JSON)).total;
  // One shared expert per MoE layer: 58 layers × 3 × 7168 × 2048.
  assert.equal(withShared - noShared, 58 * 3 * 7168 * 2048);
});

test('validateConfig catches edits made in code', () => {
  const c = getPreset('nano');
  c.topkGroup = 5;
  assert.throws(() => validateConfig(c), /topk_group.*at most n_group \(4\).*found 5/);
  assert.throws(() => configFromHF('not an object'), ConfigError);
});

test('derived values: qk head dim, softmax scale with YaRN mscale², MoE layers', () => {
  const v3 = getPreset('deepseek-v3');
  assert.equal(qkHeadDim(v3), 192);
  // 192^-0.5 × (0.1·ln 40 + 1)² = 0.135234 (reference §1.3)
  assert.ok(Math.abs(softmaxScale(v3) - 0.135234) < 1e-6, String(softmaxScale(v3)));
  // V2-Lite: mscale_all_dim 0.707 → 0.11472
  assert.ok(Math.abs(softmaxScale(getPreset('deepseek-v2-lite')) - 0.11472) < 1e-5);
  // no rope_scaling → plain 1/sqrt(d)
  const mini = getPreset('mini');
  assert.ok(Math.abs(softmaxScale(mini) - 1 / Math.sqrt(48)) < 1e-15);
  // factor ≤ 1 → no correction
  const flat = getPreset('nano');
  flat.ropeScaling = { ...flat.ropeScaling!, factor: 1 };
  assert.ok(Math.abs(softmaxScale(flat) - 1 / Math.sqrt(24)) < 1e-15);
  assert.deepEqual([0, 1, 2, 3, 60, 61].map((l) => isMoeLayer(v3, l)), [false, false, false, true, true, true]);
});

test('presets: nano well under 1M parameters, mini a few million, names listed on error', () => {
  const nano = countParams(getPreset('nano'));
  assert.ok(nano.total + nano.mtpTotal < 1_000_000, String(nano.total));
  const mini = countParams(getPreset('mini'));
  assert.ok(mini.total > 1e6 && mini.total < 10e6, String(mini.total));
  assert.throws(() => getPreset('gpt-5'), (e: unknown) => e instanceof ConfigError && /nano, mini, deepseek-v3, deepseek-v2-lite/.test(e.message));
  const p: ModelConfig = getPreset('deepseek-v3');
  p.hiddenSize = 1;
  assert.equal(getPreset('deepseek-v3').hiddenSize, 7168, 'getPreset returns a fresh copy');
});

test('resolveConfig: preset name, config.json file, model directory, and clear errors', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tinyseek-config-'));
  try {
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(V2_LITE_CONFIG_JSON));
    assert.equal(resolveConfig('nano').hiddenSize, 64);
    assert.equal(resolveConfig(dir).hiddenSize, 2048);
    assert.equal(resolveConfig(path.join(dir, 'config.json')).numHiddenLayers, 27);
    assert.throws(() => resolveConfig(path.join(dir, 'nope')), /neither a model preset \(nano, mini/);
    const empty = mkdtempSync(path.join(tmpdir(), 'tinyseek-empty-'));
    assert.throws(() => resolveConfig(empty), /has no config.json/);
    rmSync(empty, { recursive: true });
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"hidden_size": ');
    assert.throws(() => loadConfigFile(bad), (e: unknown) => e instanceof ConfigError && e.message.includes(bad) && /not valid JSON/.test(e.message));
    const wrong = path.join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ ...V3_CONFIG_JSON, n_group: 7 }));
    assert.throws(() => loadConfigFile(wrong), (e: unknown) => e instanceof ConfigError && e.message.startsWith(wrong) && e.key === 'n_routed_experts');
  } finally {
    rmSync(dir, { recursive: true });
  }
});
