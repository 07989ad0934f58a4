// Router cases the gate oracle does not reach (found by mutation testing, docs/mutation.md): ties
// between group scores go to the lower group, and DeepSeek-V2's rule that norm_topk_prob only
// normalizes when more than one expert is chosen; greedy routing ignoring n_group, V3 normalizing a
// single weight, and groups of one expert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Rng, noGrad, tidy } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import type { ModelConfig } from '../src/model/config.js';
import { Gate, selectExperts } from '../src/model/gate.js';

test('tied group scores keep the lower-indexed group', () => {
  // groups {0,1} and {2,3} both score 0.6 (top-2 sum) and 0.5 (max); one group is kept
  const s = Float32Array.from([0.5, 0.1, 0.1, 0.5]);
  assert.deepEqual([...selectExperts(s, null, 1, 4, 1, 2, 1, 'top2sum')], [0]);
  assert.deepEqual([...selectExperts(s, null, 1, 4, 1, 2, 1, 'max')], [0]);
  // three groups, two kept: the tie between groups 1 and 2 for the second place goes to group 1
  const t = Float32Array.from([0.9, 0.9, 0.2, 0.3, 0.3, 0.2]);
  assert.deepEqual([...selectExperts(t, null, 1, 6, 4, 3, 2, 'top2sum')], [0, 1, 3, 2]);
});

test('DeepSeek-V2 routing: norm_topk_prob normalizes the weights only when k > 1', () => {
  const v2 = (k: number): ModelConfig => ({
    ...getPreset('nano'), modelType: 'deepseek_v2', scoringFunc: 'softmax', topkMethod: 'greedy', nGroup: 1, topkGroup: 1,
    normTopkProb: true, numExpertsPerTok: k, routedScalingFactor: 1,
  });
  noGrad(() => tidy(() => {
    const x = Tensor.randn([3, 64], new Rng(2));
    for (const k of [1, 2]) {
      const gate = new Gate(v2(k), new Rng(7), 0.5);
      const { indices, weights, scores } = gate.forward(x);
      const idx = indices.i32(), w = weights.toFloat32Array(), s = scores.toFloat32Array();
      for (let n = 0; n < 3; n++) {
        const raw = Array.from({ length: k }, (_, j) => s[n * 8 + idx[n * k + j]]);
        const sum = raw.reduce((a, b) => a + b, 0);
        for (let j = 0; j < k; j++) {
          const want = k > 1 ? raw[j] / sum : raw[j];
          assert.ok(Math.abs(w[n * k + j] - want) < 1e-6, `k=${k} token ${n} slot ${j}: ${w[n * k + j]} vs ${want}`);
        }
        if (k === 1) assert.ok(w[n] < 0.99, 'a single softmax weight is not renormalized to 1');
      }
    }
  }));
});

/** A gate whose logits are x·Wᵀ with W set by hand ([E, D] row-major). */
function handGate(cfg: ModelConfig, w: number[]): Gate {
  const gate = new Gate(cfg, new Rng(1), 0.1);
  gate.weight.f32().set(w);
  return gate;
}

/** Top-k of plain scores, highest first (ties → lower index): the greedy rule written out. */
function topk(s: number[], k: number): number[] {
  return s.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map(([, i]) => i);
}

test('greedy routing (DeepSeek-V2 topk_method "greedy") ignores n_group: plain top-k over the softmax scores', () => {
  const cfg: ModelConfig = {
    ...getPreset('nano'), modelType: 'deepseek_v2', scoringFunc: 'softmax', topkMethod: 'greedy', nRoutedExperts: 4, nGroup: 2, topkGroup: 1,
    numExpertsPerTok: 2, normTopkProb: false, routedScalingFactor: 1, hiddenSize: 4,
  };
  // x = e_0: logits are column 0 of W; the best two experts (0 and 2) are in different groups,
  // so group-limited routing with one group kept would pick 0 and 1 instead
  const logits = [3, 1, 2.5, -1];
  const gate = handGate(cfg, logits.flatMap((l) => [l, 0, 0, 0]));
  noGrad(() => tidy(() => {
    const { indices, weights } = gate.forward(Tensor.from(Float32Array.from([1, 0, 0, 0]), [1, 4]));
    const z = logits.map(Math.exp), Z = z.reduce((a, b) => a + b, 0);
    const want = topk(z.map((v) => v / Z), 2);
    assert.deepEqual([...indices.i32()], want);
    assert.deepEqual(want, [0, 2]);
    const w = weights.toFloat32Array();
    want.forEach((e, j) => assert.ok(Math.abs(w[j] - z[e] / Z) < 1e-6, `weight ${j}`));
  }));
});

test('DeepSeek-V3 normalizes even a single chosen weight (norm_topk_prob, k = 1): the weight is 1 (times routed_scaling_factor)', () => {
  for (const scale of [1, 2.5]) {
    const cfg: ModelConfig = {
      ...getPreset('nano'), modelType: 'deepseek_v3', scoringFunc: 'sigmoid', topkMethod: 'noaux_tc', nRoutedExperts: 4, nGroup: 1, topkGroup: 1,
      numExpertsPerTok: 1, normTopkProb: true, routedScalingFactor: scale, hiddenSize: 4,
    };
    const gate = handGate(cfg, [0.3, 0, 0, 0, -2, 0, 0, 0, 1, 0, 0, 0, 0.1, 0, 0, 0]);
    noGrad(() => tidy(() => {
      const { indices, weights } = gate.forward(Tensor.from(Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0]), [2, 4]));
      assert.deepEqual([...indices.i32()], [2, 0], 'token 0: highest logit; token 1: all logits 0, lowest index');
      for (const w of weights.toFloat32Array()) assert.ok(Math.abs(w - scale) < 1e-6, `weight ${w}, expected ${scale}`);
    }));
  }
});

test('groups of one expert (n_group = n_routed_experts): a group scores its one expert, so the kept groups are the topk_group best experts', () => {
  // E = 4 in 4 groups, keep 2 groups, choose 2: the two best experts, whatever the rule
  const s = Float32Array.from([0.1, 0.2, 0.9, 0.7]);
  for (const rule of ['top2sum', 'max'] as const) assert.deepEqual([...selectExperts(s, null, 1, 4, 2, 4, 2, rule)], [2, 3]);
  // with a bias that lifts expert 0 into the kept groups
  const b = Float32Array.from([0.75, 0, 0, 0]);
  assert.deepEqual([...selectExperts(s, b, 1, 4, 2, 4, 2, 'top2sum')], [2, 0]);
});
