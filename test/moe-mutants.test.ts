// MoE behaviour the dispatch, bias-update and balance-loss tests in model.test.ts do not reach
// (found by mutation testing, docs/mutation.md): expert-load statistics, when the balance loss is
// computed, its average over sequences, and the bias update's no-op cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Rng, tidy, noGrad } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import type { ModelConfig } from '../src/model/config.js';
import { MoE } from '../src/model/moe.js';

const nano = (over: Partial<ModelConfig> = {}): ModelConfig => ({ ...getPreset('nano'), ...over });

/** Tokens per expert of a routing, counted from the gate's own decision. */
function countsOf(moe: MoE, x: Tensor): number[] {
  const idx = moe.gate.forward(x.reshape(x.shape[0] * x.shape[1], x.shape[2])).indices.i32();
  const c = new Array<number>(moe.cfg.nRoutedExperts).fill(0);
  for (const e of idx) c[e]++;
  return c;
}

test('expert load: training forwards accumulate tokens per expert, eval forwards do not; takeLoad reports and resets', () => {
  const cfg = nano();
  const moe = new MoE(cfg, new Rng(3), 0.5);
  noGrad(() => tidy(() => {
    const x1 = Tensor.randn([2, 6, cfg.hiddenSize], new Rng(1));
    const x2 = Tensor.randn([1, 5, cfg.hiddenSize], new Rng(2));
    moe.forward(x1);
    moe.forward(x2);
    moe.eval();
    moe.forward(Tensor.randn([1, 7, cfg.hiddenSize], new Rng(9)));
    moe.train();
    const want = countsOf(moe, x1).map((c, e) => c + countsOf(moe, x2)[e]);
    assert.equal(want.reduce((a, b) => a + b, 0), (12 + 5) * cfg.numExpertsPerTok);
    const load = moe.takeLoad();
    assert.deepEqual(load.counts, want);
    const mean = want.reduce((a, b) => a + b, 0) / want.length, max = Math.max(...want);
    assert.ok(max > mean, 'this routing is unbalanced');
    assert.ok(Math.abs(load.maxOverMean - max / mean) < 1e-12);
    assert.ok(Math.abs(load.maxViolation - (max - mean) / mean) < 1e-12);
    const empty = moe.takeLoad();
    assert.deepEqual(empty, { counts: new Array(cfg.nRoutedExperts).fill(0), maxOverMean: 1, maxViolation: 0 });
  }));
});

test('the balance loss exists only while training with α > 0, and then equals balanceLoss of the routing', () => {
  const x = () => Tensor.randn([2, 4, 64], new Rng(5));
  tidy(() => {
    const off = new MoE(nano({ auxLossAlpha: 0 }), new Rng(1), 0.5);
    off.forward(x());
    assert.equal(off.lastBalanceLoss, null, 'α = 0');
    const on = new MoE(nano({ auxLossAlpha: 0.01 }), new Rng(1), 0.5);
    on.eval();
    on.forward(x());
    assert.equal(on.lastBalanceLoss, null, 'eval');
    on.train();
    on.forward(x());
    const got = on.lastBalanceLoss as Tensor | null; // (the assert above narrowed the property)
    assert.ok(got, 'training with α > 0');
    const { indices, scores } = on.gate.forward(x().reshape(8, 64));
    assert.ok(Math.abs(got.item() - on.balanceLoss(scores, indices.i32(), 2, 4).item()) < 1e-9);
    assert.ok(got.item() > 0);
  });
});

test('the sequence-wise balance loss of a batch is the mean of each sequence\'s own loss', () => {
  const cfg = nano({ auxLossAlpha: 0.01 });
  const moe = new MoE(cfg, new Rng(4), 0.5);
  noGrad(() => tidy(() => {
    const T = 3, E = cfg.nRoutedExperts, k = cfg.numExpertsPerTok;
    const { indices, scores } = moe.gate.forward(Tensor.randn([2 * T, cfg.hiddenSize], new Rng(6)));
    const idx = indices.i32(), s = scores.toFloat32Array();
    const both = moe.balanceLoss(scores, idx, 2, T).item();
    const one = (b: number) => moe.balanceLoss(Tensor.from(s.slice(b * T * E, (b + 1) * T * E), [T, E]), idx.slice(b * T * k, (b + 1) * T * k), 1, T).item();
    assert.ok(Math.abs(both - (one(0) + one(1)) / 2) < 1e-9, `${both} vs mean of ${one(0)}, ${one(1)}`);
    assert.ok(Math.abs(one(0) - one(1)) > 1e-6, 'the two sequences differ');
    // by hand (V3 eqs. 17–20) with T = 3, so that f's factor N_r/(K_r·T) = 8/6 is not 1
    let L = 0;
    for (let b = 0; b < 2; b++) for (let i = 0; i < E; i++) {
      let cnt = 0, P = 0;
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * E;
        for (let j = 0; j < k; j++) if (idx[(b * T + t) * k + j] === i) cnt++;
        let z = 0;
        for (let e = 0; e < E; e++) z += s[row + e];
        P += s[row + i] / z / T;
      }
      L += ((E / (k * T)) * cnt) * P / 2;
    }
    assert.ok(Math.abs(both - 0.01 * L) < 1e-7, `${both} vs by hand ${0.01 * L}`);
  }));
});

test('the bias update is a no-op for γ = 0 and for a gate without a bias (V2 routing)', () => {
  const moe = new MoE(nano(), new Rng(1), 0.5);
  moe.updateBias([10, 0, 5, 5, 5, 5, 5, 5], 0);
  assert.deepEqual([...moe.gate.bias!.f32()], new Array(8).fill(0));
  const v2 = new MoE(nano({ topkMethod: 'greedy', scoringFunc: 'softmax', nGroup: 1, topkGroup: 1 }), new Rng(1), 0.5);
  assert.equal(v2.gate.bias, null);
  assert.doesNotThrow(() => v2.updateBias([10, 0, 5, 5, 5, 5, 5, 5], 0.001));
});

test('without shared experts the output is the routed experts\' weighted sum alone', () => {
  const cfg = nano({ nSharedExperts: 0 });
  const moe = new MoE(cfg, new Rng(2), 0.5);
  assert.equal(moe.sharedExperts, null);
  noGrad(() => tidy(() => {
    const x = Tensor.randn([1, 3, cfg.hiddenSize], new Rng(3));
    const y = moe.forward(x).toFloat32Array();
    const flat = x.reshape(3, cfg.hiddenSize);
    const { indices, weights } = moe.gate.forward(flat);
    const idx = indices.i32(), w = weights.toFloat32Array(), D = cfg.hiddenSize;
    const ref = new Float64Array(3 * D);
    for (let n = 0; n < 3; n++) for (let j = 0; j < 2; j++) {
      const out = moe.experts[idx[n * 2 + j]].forward(flat).toFloat32Array();
      for (let d = 0; d < D; d++) ref[n * D + d] += w[n * 2 + j] * out[n * D + d];
    }
    for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(y[i] - ref[i]) < 1e-5 * (1 + Math.abs(ref[i])), `[${i}] ${y[i]} vs ${ref[i]}`);
  }));
});
