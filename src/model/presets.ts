// Named model configurations: two small ones that run here (nano for tests, mini for the demo) and
// the real DeepSeek shapes (for counting parameters, KV cache and cost; far too large to instantiate).
import { ConfigError, loadConfigPath, validateConfig, type ModelConfig, type YarnScaling } from './config.js';
import { validateDenseConfig, type DenseConfig } from './dense/config.js';
import { loadAnyConfigPath, type AnyModelConfig } from './registry.js';

function yarn(factor: number, original: number, mscale: number, mscaleAllDim: number): YarnScaling {
  return { type: 'yarn', factor, originalMaxPositionEmbeddings: original, betaFast: 32, betaSlow: 1, mscale, mscaleAllDim, extra: {} };
}

/** Keys real DeepSeek config.json files carry that ModelConfig keeps in `extra`. */
function hfExtras(): Record<string, unknown> {
  return {
    num_key_value_heads: 0, // filled per preset (= num_attention_heads)
    hidden_act: 'silu',
    moe_layer_freq: 1,
    ep_size: 1,
    attention_bias: false,
    attention_dropout: 0.0,
    initializer_range: 0.02,
    pretraining_tp: 1,
    use_cache: true,
  };
}

function withHeads(c: ModelConfig): ModelConfig {
  if ('num_key_value_heads' in c.extra) c.extra.num_key_value_heads = c.numAttentionHeads;
  validateConfig(c);
  return c;
}

/** `nano`: the test model (well under 1M parameters), every feature on: q-LoRA, YaRN, groups, MTP. */
function nano(): ModelConfig {
  return withHeads({
    modelType: 'deepseek_v3', vocabSize: 512, hiddenSize: 64, intermediateSize: 128, moeIntermediateSize: 32,
    numHiddenLayers: 2, firstKDenseReplace: 1, numAttentionHeads: 4,
    nRoutedExperts: 8, nSharedExperts: 1, numExpertsPerTok: 2, nGroup: 4, topkGroup: 2,
    scoringFunc: 'sigmoid', topkMethod: 'noaux_tc', normTopkProb: true, routedScalingFactor: 1.0,
    qLoraRank: 32, kvLoraRank: 32, qkNopeHeadDim: 16, qkRopeHeadDim: 8, vHeadDim: 16,
    numNextnPredictLayers: 1, maxPositionEmbeddings: 256, ropeTheta: 10000, ropeScaling: yarn(4, 64, 1, 1),
    rmsNormEps: 1e-6, tieWordEmbeddings: false, bosTokenId: 0, eosTokenId: 1, auxLossAlpha: 0.0001, seqAux: true,
    extra: hfExtras(),
  });
}

/** `mini`: the demo model (a few million parameters), sized to train in minutes on 2 CPU cores. */
function mini(): ModelConfig {
  return withHeads({
    modelType: 'deepseek_v3', vocabSize: 1024, hiddenSize: 192, intermediateSize: 512, moeIntermediateSize: 128,
    numHiddenLayers: 4, firstKDenseReplace: 1, numAttentionHeads: 4,
    nRoutedExperts: 8, nSharedExperts: 1, numExpertsPerTok: 2, nGroup: 4, topkGroup: 2,
    scoringFunc: 'sigmoid', topkMethod: 'noaux_tc', normTopkProb: true, routedScalingFactor: 1.0,
    qLoraRank: 96, kvLoraRank: 64, qkNopeHeadDim: 32, qkRopeHeadDim: 16, vHeadDim: 32,
    numNextnPredictLayers: 1, maxPositionEmbeddings: 512, ropeTheta: 10000, ropeScaling: null,
    rmsNormEps: 1e-6, tieWordEmbeddings: false, bosTokenId: 0, eosTokenId: 1, auxLossAlpha: 0.0001, seqAux: true,
    extra: hfExtras(),
  });
}

/** `deepseek-v3`: DeepSeek-V3 / R1, 671B (HF config.json values; reference config_671B). */
function deepseekV3(): ModelConfig {
  return withHeads({
    modelType: 'deepseek_v3', vocabSize: 129280, hiddenSize: 7168, intermediateSize: 18432, moeIntermediateSize: 2048,
    numHiddenLayers: 61, firstKDenseReplace: 3, numAttentionHeads: 128,
    nRoutedExperts: 256, nSharedExperts: 1, numExpertsPerTok: 8, nGroup: 8, topkGroup: 4,
    scoringFunc: 'sigmoid', topkMethod: 'noaux_tc', normTopkProb: true, routedScalingFactor: 2.5,
    qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128,
    numNextnPredictLayers: 1, maxPositionEmbeddings: 163840, ropeTheta: 10000, ropeScaling: yarn(40, 4096, 1.0, 1.0),
    rmsNormEps: 1e-6, tieWordEmbeddings: false, bosTokenId: 0, eosTokenId: 1, auxLossAlpha: 0.001, seqAux: true,
    extra: hfExtras(),
  });
}

/** `deepseek-v2-lite`: DeepSeek-V2-Lite, 16B (reference ModelArgs defaults; no low-rank query, softmax/greedy routing). */
function deepseekV2Lite(): ModelConfig {
  return withHeads({
    modelType: 'deepseek_v2', vocabSize: 102400, hiddenSize: 2048, intermediateSize: 10944, moeIntermediateSize: 1408,
    numHiddenLayers: 27, firstKDenseReplace: 1, numAttentionHeads: 16,
    nRoutedExperts: 64, nSharedExperts: 2, numExpertsPerTok: 6, nGroup: 1, topkGroup: 1,
    scoringFunc: 'softmax', topkMethod: 'greedy', normTopkProb: false, routedScalingFactor: 1.0,
    qLoraRank: null, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128,
    numNextnPredictLayers: 0, maxPositionEmbeddings: 163840, ropeTheta: 10000, ropeScaling: yarn(40, 4096, 0.707, 0.707),
    rmsNormEps: 1e-6, tieWordEmbeddings: false, bosTokenId: 100000, eosTokenId: 100001, auxLossAlpha: 0.001, seqAux: true,
    extra: hfExtras(),
  });
}

/** `deepseek-v2`: DeepSeek-V2, 236B (reference config_236B; group-limited greedy routing over 8 groups, keep 3). */
function deepseekV2(): ModelConfig {
  return withHeads({
    modelType: 'deepseek_v2', vocabSize: 102400, hiddenSize: 5120, intermediateSize: 12288, moeIntermediateSize: 1536,
    numHiddenLayers: 60, firstKDenseReplace: 1, numAttentionHeads: 128,
    nRoutedExperts: 160, nSharedExperts: 2, numExpertsPerTok: 6, nGroup: 8, topkGroup: 3,
    scoringFunc: 'softmax', topkMethod: 'group_limited_greedy', normTopkProb: false, routedScalingFactor: 16.0,
    qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128,
    numNextnPredictLayers: 0, maxPositionEmbeddings: 163840, ropeTheta: 10000, ropeScaling: yarn(40, 4096, 0.707, 0.707),
    rmsNormEps: 1e-6, tieWordEmbeddings: false, bosTokenId: 100000, eosTokenId: 100001, auxLossAlpha: 0.001, seqAux: true,
    extra: hfExtras(),
  });
}

/**
 * Keys of DeepSeek-R1-Distill-Qwen's config.json that DenseConfig keeps in `extra` (sliding window
 * present but off, as in the distilled checkpoints).
 */
function qwen2Extras(layers: number, maxPos: number): Record<string, unknown> {
  return {
    attention_dropout: 0.0, initializer_range: 0.02, max_window_layers: layers, sliding_window: maxPos,
    use_cache: true, use_mrope: false, use_sliding_window: false,
  };
}

/**
 * `student-nano`: the dense Qwen2 student of `nano` for tests — about a fifth of nano's activated
 * parameters (22.9K of 108.6K: `tinyseek params --preset student-nano`), GQA with 2 query heads per kv head.
 */
function studentNano(): DenseConfig {
  const c: DenseConfig = {
    modelType: 'qwen2', vocabSize: 512, hiddenSize: 24, intermediateSize: 48, numHiddenLayers: 2,
    numAttentionHeads: 2, numKeyValueHeads: 1, headDim: 12, maxPositionEmbeddings: 256, rmsNormEps: 1e-6,
    ropeTheta: 10000, tieWordEmbeddings: false, qkvBias: true, oBias: false, bosTokenId: 0, eosTokenId: 1,
    numNextnPredictLayers: 0, extra: qwen2Extras(2, 256),
  };
  validateDenseConfig(c);
  return c;
}

/**
 * A dense Qwen2 student of `mini` (R1-Distill-Qwen's layout at toy size: vocabulary 1024, 512
 * positions, 4 query heads over 2 kv heads, q/k/v biases, untied head) of the given depth and width.
 */
function miniStudent(layers: number, hidden: number, intermediate: number): DenseConfig {
  const c: DenseConfig = {
    modelType: 'qwen2', vocabSize: 1024, hiddenSize: hidden, intermediateSize: intermediate, numHiddenLayers: layers,
    numAttentionHeads: 4, numKeyValueHeads: 2, headDim: hidden / 4, maxPositionEmbeddings: 512, rmsNormEps: 1e-6,
    ropeTheta: 10000, tieWordEmbeddings: false, qkvBias: true, oBias: false, bosTokenId: 0, eosTokenId: 1,
    numNextnPredictLayers: 0, extra: qwen2Extras(layers, 512),
  };
  validateDenseConfig(c);
  return c;
}

/** `student-mini`: about a fifth of mini's activated parameters (312K of 1.54M), 4 layers, d = 64. */
const studentMini = () => miniStudent(4, 64, 256);
/**
 * `student-micro`: about a twelfth of mini's activated parameters (126K), 3 layers, d = 48; for a
 * distillation study whose student must not already solve what the teacher solves.
 */
const studentMicro = () => miniStudent(3, 48, 128);
/** `student-pico`: `student-micro` at d = 40 — about a fifteenth of mini's activated parameters (102K). */
const studentPico = () => miniStudent(3, 40, 128);

const PRESETS: Record<string, () => ModelConfig> = {
  nano,
  mini,
  'deepseek-v3': deepseekV3,
  'deepseek-v2-lite': deepseekV2Lite,
  'deepseek-v2': deepseekV2,
};

/** Dense (Qwen2 / Llama) presets: the distillation students. */
const DENSE_PRESETS: Record<string, () => DenseConfig> = {
  'student-nano': studentNano,
  'student-mini': studentMini,
  'student-micro': studentMicro,
  'student-pico': studentPico,
};

/** The preset names, in a stable order (DeepSeek ones, then the dense students). */
export function presetNames(): string[] {
  return [...Object.keys(PRESETS), ...Object.keys(DENSE_PRESETS)];
}

function unknownPreset(name: string): ConfigError {
  return new ConfigError(`unknown model preset "${name}"; expected one of: ${presetNames().join(', ')}`, 'preset', presetNames().join(', '), name);
}

/** A fresh copy of a named DeepSeek preset; a ConfigError listing the names if unknown or dense. */
export function getPreset(name: string): ModelConfig {
  const make = PRESETS[name];
  if (DENSE_PRESETS[name]) throw new ConfigError(`model preset "${name}" is a dense ${DENSE_PRESETS[name]().modelType} model, not DeepSeek-V3/V2 (this needs one of: ${Object.keys(PRESETS).join(', ')})`, 'preset', Object.keys(PRESETS).join(', '), name);
  if (!make) throw unknownPreset(name);
  return make();
}

/** A fresh copy of a named preset of any architecture; a ConfigError listing the names if unknown. */
export function getAnyPreset(name: string): AnyModelConfig {
  const make = PRESETS[name] ?? DENSE_PRESETS[name];
  if (!make) throw unknownPreset(name);
  return make();
}

function neitherError(nameOrPath: string, e: unknown): unknown {
  if (e instanceof ConfigError && e.message.startsWith('no such file or directory')) {
    return new ConfigError(`"${nameOrPath}" is neither a model preset (${presetNames().join(', ')}) nor a config.json file or model directory`);
  }
  return e;
}

/** A DeepSeek preset name, a config.json path, or a model directory holding config.json → validated config. */
export function resolveConfig(nameOrPath: string): ModelConfig {
  if (PRESETS[nameOrPath] || DENSE_PRESETS[nameOrPath]) return getPreset(nameOrPath);
  try {
    return loadConfigPath(nameOrPath);
  } catch (e) {
    throw neitherError(nameOrPath, e);
  }
}

/** A preset name of any architecture, a config.json path, or a model directory → validated config. */
export function resolveAnyConfig(nameOrPath: string): AnyModelConfig {
  if (PRESETS[nameOrPath] || DENSE_PRESETS[nameOrPath]) return getAnyPreset(nameOrPath);
  try {
    return loadAnyConfigPath(nameOrPath);
  } catch (e) {
    throw neitherError(nameOrPath, e);
  }
}
