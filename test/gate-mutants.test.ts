// Router cases the gate oracle does not reach (found by mutation testing, docs/mutation.md): ties
// between group scores go to the lower group, and DeepSeek-V2's rule that norm_topk_prob only
// normalizes when more than one expert is chosen.
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
