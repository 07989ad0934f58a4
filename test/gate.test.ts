// The router (Gate.forward) on scores chosen by hand: 12 experts in 4 groups of 3, keep 2 groups,
// 3 experts per token. The scores are built so that DeepSeek-V3's group score (noaux_tc: the sum of
// the group's top-2 biased scores) and V2's (group_limited_greedy: the group's maximum) keep
// different groups, so each model type must pick its own experts; the bias must change which experts
// are chosen but not their weights; normalization and routed_scaling_factor are applied as configured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Rng, noGrad, tidy } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import { Gate } from '../src/model/gate.js';
import type { ModelConfig } from '../src/model/config.js';

// Affinities s_e by group:                         top-2 sum   max
const S = [
  0.95, 0.10, 0.05, // group 0                      1.05        0.95
  0.70, 0.68, 0.20, // group 1                      1.38        0.70
  0.80, 0.30, 0.60, // group 2                      1.40        0.80
  0.40, 0.35, 0.50, // group 3                      0.90        0.50
];
// V3 keeps groups 2 and 1 → experts 6 (0.80), 3 (0.70), 4 (0.68).
// V2 keeps groups 0 and 2 → experts 0 (0.95), 6 (0.80), 8 (0.60).

function cfgOf(o: Partial<ModelConfig>): ModelConfig {
  return { ...getPreset('nano'), nRoutedExperts: 12, nGroup: 4, topkGroup: 2, numExpertsPerTok: 3, ...o };
}

/** A gate whose scores for the input e_0 are exactly the affinities S (weight column 0 = σ⁻¹(S) or log S). */
function gateWithScores(cfg: ModelConfig): { gate: Gate; x: Tensor } {
  const gate = new Gate(cfg, new Rng(1), 0.02);
  const D = cfg.hiddenSize, w = gate.weight.f32();
  w.fill(0);
  S.forEach((s, e) => { w[e * D] = cfg.scoringFunc === 'sigmoid' ? Math.log(s / (1 - s)) : Math.log(s); });
  const x = new Float32Array(2 * D);
  x[0] = 1;
  x[D] = 1; // two identical tokens
  return { gate, x: Tensor.from(x, [2, D]) };
}

function route(cfg: ModelConfig, bias?: Record<number, number>): { experts: number[][]; weights: number[][]; scores: number[] } {
  const { gate, x } = gateWithScores(cfg);
  if (bias) for (const [e, b] of Object.entries(bias)) gate.bias!.f32()[Number(e)] = b;
  return noGrad(() => tidy(() => {
    const r = gate.forward(x);
    const idx = Array.from(r.indices.i32()), w = Array.from(r.weights.toFloat32Array());
    const k = cfg.numExpertsPerTok;
    return {
      experts: [idx.slice(0, k), idx.slice(k, 2 * k)],
      weights: [w.slice(0, k), w.slice(k, 2 * k)],
      scores: Array.from(r.scores.toFloat32Array().subarray(0, cfg.nRoutedExperts)),
    };
  }));
}

const closeAll = (a: number[], b: number[], what: string) => a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-6, `${what}: ${a} vs ${b}`));

test('V3 (noaux_tc, sigmoid): groups by the sum of their top-2 scores; weights normalized × routed_scaling_factor', () => {
  const r = route(cfgOf({ routedScalingFactor: 2.5 }));
  closeAll(r.scores, S, 'sigmoid scores');
  assert.deepEqual(r.experts, [[6, 3, 4], [6, 3, 4]], 'V3 keeps groups 2 (1.40) and 1 (1.38), not group 0 (max 0.95)');
  const sum = 0.8 + 0.7 + 0.68;
  closeAll(r.weights[0], [0.8, 0.7, 0.68].map((s) => (2.5 * s) / sum), 'weights');
});

test('V3 without norm_topk_prob: weights are the raw sigmoid scores × routed_scaling_factor', () => {
  const r = route(cfgOf({ routedScalingFactor: 2.5, normTopkProb: false }));
  assert.deepEqual(r.experts[0], [6, 3, 4]);
  closeAll(r.weights[0], [2.0, 1.75, 1.7], 'weights');
});

test('V3: the correction bias changes which experts are chosen, never their weights', () => {
  // +0.25 on expert 8: group 2's biased top-2 sum becomes 1.65 (groups 2, 1 still kept) and expert 8
  // (0.85 biased) now beats 6 (0.80) and 3 (0.70); its weight comes from its unbiased score 0.60.
  const r = route(cfgOf({ routedScalingFactor: 2.5 }), { 8: 0.25 });
  assert.deepEqual(r.experts[0], [8, 6, 3]);
  closeAll(r.weights[0], [0.6, 0.8, 0.7].map((s) => (2.5 * s) / 2.1), 'weights from unbiased scores');
  // A bias can bring in a whole group. +0.5 on expert 10: group 3's biased top-2 sum 0.85 + 0.50 = 1.35
  // still loses to group 1's 1.38, so nothing changes; +0.6: 1.45 beats it, groups 3 and 2 are kept.
  assert.deepEqual(route(cfgOf({}), { 10: 0.5 }).experts[0], [6, 3, 4]);
  const g3 = route(cfgOf({}), { 10: 0.6 });
  assert.deepEqual(g3.experts[0], [10, 6, 8]);
  closeAll(g3.weights[0], [0.35, 0.8, 0.6].map((s) => s / 1.75), 'weights (routed_scaling_factor 1)');
});

test('V2 (group_limited_greedy, softmax): groups by their maximum; weights are softmax scores × routed_scaling_factor', () => {
  const cfg = cfgOf({ modelType: 'deepseek_v2', scoringFunc: 'softmax', topkMethod: 'group_limited_greedy', normTopkProb: false, routedScalingFactor: 1.5 });
  const r = route(cfg);
  const Z = S.reduce((a, b) => a + b, 0);
  closeAll(r.scores, S.map((s) => s / Z), 'softmax scores');
  assert.deepEqual(r.experts, [[0, 6, 8], [0, 6, 8]], 'V2 keeps groups 0 (max 0.95) and 2 (0.80)');
  closeAll(r.weights[0], [0.95, 0.8, 0.6].map((s) => (1.5 * s) / Z), 'weights');
});
