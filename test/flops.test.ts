// flops: DeepSeek LLM's model scale M against its closed form, against the parameter counts `tinyseek
// params` uses and against the training FLOPs `tinyseek cost` uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPreset } from '../src/model/presets.js';
import { configFromHF, configToHF } from '../src/model/config.js';
import { countParams } from '../src/analysis/params.js';
import { attentionShape, trainingFlops } from '../src/analysis/cost.js';
import { deepseekLlmM, modelScale, modelScaleFlops, trainingCompute } from '../src/analysis/flops.js';

test('DeepSeek LLM 7B: M = 72·n·d² + 12·n·d·l = 4.23e10 (30 layers, d = 4096, l = 4096)', () => {
  const m = deepseekLlmM(30, 4096, 4096);
  assert.equal(m, 72 * 30 * 4096 ** 2 + 12 * 30 * 4096 * 4096);
  assert.ok(Math.abs(m - 4.23e10) / 4.23e10 < 0.005, `M = ${m}`);
  // Table 3's point: 6N₁/M at 8 layers, d = 512, 4K context is 0.43 (parameters alone undercount small models).
  const ratio = (72 * 8 * 512 ** 2) / deepseekLlmM(8, 512, 4096);
  assert.ok(Math.abs(ratio - 0.43) < 0.005, `6N1/M = ${ratio}`);
});

test('the general form reduces to DeepSeek LLM\'s for a standard MHA + SwiGLU(8/3·d) layer', () => {
  for (const [n, d, l] of [[30, 4096, 4096], [95, 8192, 4096], [8, 512, 4096], [4, 192, 256]]) {
    const perLayer = 4 * d * d + 3 * d * (8 / 3) * d; // q, k, v, o + gate, up, down
    assert.equal(modelScaleFlops(n * perLayer, n, d, d, l), deepseekLlmM(n, d, l));
  }
});

test('V3 configs: M − attention = 6 × (activated parameters of `params` − embedding row − head)', () => {
  for (const name of ['mini', 'nano', 'deepseek-v3', 'deepseek-v2-lite']) {
    const c = getPreset(name);
    const p = countParams(c);
    const s = modelScale(c, 256);
    const head = c.vocabSize * c.hiddenSize;
    assert.equal(s.nonEmbeddingActivated, p.activated - c.hiddenSize - head, name);
    assert.equal(s.M - s.attentionFlops, 6 * (p.activated - c.hiddenSize - head), name);
    assert.equal(s.headFlops, 6 * head, name);
    // attention: 6 · n_layer · l · n_h · (d_qk + d_v) with MLA's naive widths
    const h = c.numAttentionHeads;
    assert.equal(s.attentionFlops, 6 * c.numHiddenLayers * 256 * h * (c.qkNopeHeadDim + c.qkRopeHeadDim + c.vHeadDim), name);
  }
});

test('C = M·D relates to `cost`\'s 6·N·D + causal attention exactly', () => {
  for (const name of ['mini', 'deepseek-v3']) {
    const c = getPreset(name);
    const S = name === 'mini' ? 256 : 4096, D = 1e9;
    const s = modelScale(c, S);
    const t = trainingFlops(countParams(c).activated, D, attentionShape(c, S));
    // cost counts the embedding row and the head in its N, and attention over the causal average (S+1)/2.
    const fromCost = t.dense - 6 * (c.hiddenSize + c.vocabSize * c.hiddenSize) * D + t.attention * (2 * S) / (S + 1);
    const C = trainingCompute(c, S, D);
    assert.ok(Math.abs(C - fromCost) / C < 1e-12, `${name}: ${C} vs ${fromCost}`);
  }
});

test('the dense variant (first_k_dense_replace = num_hidden_layers) activates every layer\'s dense MLP', () => {
  const moe = getPreset('mini');
  const dense = configFromHF({ ...configToHF(moe), first_k_dense_replace: moe.numHiddenLayers });
  const s = modelScale(dense, 256);
  const d = dense.hiddenSize;
  const attnPerLayer = countParams(dense).components.find((x) => x.name === 'attention')!.activated / dense.numHiddenLayers;
  const perLayer = attnPerLayer + 3 * d * dense.intermediateSize + 2 * d;
  assert.equal(s.nonEmbeddingActivated, dense.numHiddenLayers * perLayer + d);
  assert.ok(modelScale(moe, 256).nonEmbeddingActivated < s.nonEmbeddingActivated);
});

test('MTP is reported apart, not in M', () => {
  const c = getPreset('mini');
  const noMtp = configFromHF({ ...configToHF(c), num_nextn_predict_layers: 0 });
  assert.equal(modelScale(c, 256).M, modelScale(noMtp, 256).M);
  assert.ok(modelScale(c, 256).mtpFlops > 0);
  assert.equal(modelScale(noMtp, 256).mtpFlops, 0);
});

test('bad input names what was expected', () => {
  assert.throws(() => modelScale(getPreset('mini'), 0), /sequence length must be a positive integer, found 0/);
  assert.throws(() => trainingCompute(getPreset('mini'), 256, -1), /tokens must be > 0, found -1/);
  assert.throws(() => modelScaleFlops(NaN, 1, 1, 1, 1), /non-embedding parameters must be a positive number, found NaN/);
});
