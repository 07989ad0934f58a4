// Named model configurations: two small ones that run here (nano for tests, mini for the demo) and
// the real DeepSeek shapes (for counting parameters, KV cache and cost; far too large to instantiate).
import { ConfigError, loadConfigPath, validateConfig, type ModelConfig, type YarnScaling } from './config.js';

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

const PRESETS: Record<string, () => ModelConfig> = {
  nano,
  mini,
  'deepseek-v3': deepseekV3,
  'deepseek-v2-lite': deepseekV2Lite,
  'deepseek-v2': deepseekV2,
};

/** The preset names, in a stable order. */
export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** A fresh copy of a named preset; a ConfigError listing the names if unknown. */
export function getPreset(name: string): ModelConfig {
  const make = PRESETS[name];
  if (!make) throw new ConfigError(`unknown model preset "${name}"; expected one of: ${presetNames().join(', ')}`, 'preset', presetNames().join(', '), name);
  return make();
}

/** A preset name, a config.json path, or a model directory holding config.json → validated config. */
export function resolveConfig(nameOrPath: string): ModelConfig {
  if (PRESETS[nameOrPath]) return getPreset(nameOrPath);
  try {
    return loadConfigPath(nameOrPath);
  } catch (e) {
    if (e instanceof ConfigError && e.message.startsWith('no such file or directory')) {
      throw new ConfigError(
        `"${nameOrPath}" is neither a model preset (${presetNames().join(', ')}) nor a config.json file or model directory`,
      );
    }
    throw e;
  }
}
