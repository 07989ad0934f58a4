// GRPO's learner against independent hand computations: the batch layout written out by hand, and one
// learner step (float64, reference backend) whose loss, clip fractions and parameter gradients are
// recomputed from the model's logits with the paper's formulas (gradients by central differences),
// on a group whose rewards differ and whose policy has moved away from π_old in every direction
// the clip distinguishes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, tidy, noGrad, setFloat64Mode } from '../src/tensor/index.js';
import { referenceBackend, setBackend, backend } from '../src/backend/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { assembleBatch, policyGradient } from '../src/rl/grpo.js';
import type { BatchSequence } from '../src/rl/grpo.js';
import { aggregationWeights } from '../src/rl/loss.js';
import { groupAdvantages } from '../src/rl/advantages.js';
import { AdamW } from '../src/nn/optim.js';

test('assembleBatch: ids [N, L+1] right-padded; completion token j of a P-token prompt is the target at position P − 1 + j', () => {
  const seqs: BatchSequence[] = [
    { prompt: [10, 11, 12], completion: [20, 21], logprobs: [-0.5, -1.5], advantage: 0.75, useful: true },
    { prompt: [13], completion: [22, 23, 24, 25], logprobs: [-1, -2, -3, -4], advantage: -0.25, useful: true },
    { prompt: [14, 15], completion: [26], logprobs: [-9], advantage: 2, useful: false }, // e.g. truncated, masked
  ];
  const b = assembleBatch(seqs, 99);
  assert.equal(b.N, 3);
  assert.equal(b.L, 4); // the longest sequence has 5 tokens: 4 input positions
  assert.deepEqual(Array.from(b.ids), [
    10, 11, 12, 20, 21,
    13, 22, 23, 24, 25,
    14, 15, 26, 99, 99,
  ]);
  // position t predicts ids[t + 1]: row 0's targets are 11 12 20 21, so the completion is at t = 2, 3.
  assert.deepEqual(Array.from(b.mask), [
    0, 0, 1, 1,
    1, 1, 1, 1,
    0, 0, 0, 0,
  ]);
  assert.deepEqual(Array.from(b.old), [
    0, 0, -0.5, -1.5,
    -1, -2, -3, -4,
    0, -9, 0, 0,
  ]);
  assert.deepEqual(Array.from(b.adv), [
    0, 0, 0.75, 0.75,
    -0.25, -0.25, -0.25, -0.25,
    0, 2, 0, 0,
  ]);
});

test('one GRPO learner step against a hand computation (float64): loss, clip fractions, gradients, the AdamW update', () => {
  const prev = backend();
  setBackend(referenceBackend());
  setFloat64Mode(true);
  try {
    const cfg = { ...getPreset('nano'), vocabSize: 16, numNextnPredictLayers: 0 };
    const model = new DeepseekV3(cfg, 7);
    model.eval();
    const o = { epsLow: 0.2, epsHigh: 0.28, beta: 0.05, temperature: 0.8, microBatch: 3 };
    // One group of G = 4 completions of the same prompt with different rewards.
    const prompt = [3, 5, 7];
    const completions = [[4, 9, 1], [8, 2], [10, 11, 12, 13], [14, 1]];
    const rewards = [1, 0, 0.5, 0];
    const A = groupAdvantages(rewards, 4, 'group');
    assert.ok(A[0] > 0 && A[1] < 0 && A[2] > 0 && A[3] < 0);
    // The ratio π_θ/π_old wanted at each completion token: every region of the clip for both signs of Â.
    const ratios = [
      [0.5, 1.6, 1.1], //       Â > 0: r < 1 − ε (not clipped), r > 1 + ε_high (clipped), inside
      [1.7, 0.4], //            Â < 0: r > 1 + ε (not clipped), r < 1 − ε_low (clipped)
      [0.9, 1.5, 0.3, 1.0], //  Â > 0: inside, clipped high, r < 1 − ε, r = 1
      [0.6, 2.0], //            Â < 0: clipped low, r > 1 + ε
    ];
    const clippedHigh = 2, clippedLow = 2, nTok = 11;

    // log π_θ(o_j | q, o_<j) at temperature T, by hand from each sequence's own (unpadded) forward pass.
    const handLogprobs = (): number[][] => completions.map((c) => noGrad(() => tidy(() => {
      const seq = [...prompt, ...c];
      const logits = Float64Array.from(model.forward(Tensor.ints(seq.slice(0, -1), [1, seq.length - 1])).logits.f32());
      const V = cfg.vocabSize;
      return { v: c.map((tokn, j) => {
        const t = prompt.length - 1 + j; // the position whose next token is c[j]
        const z = Array.from(logits.subarray(t * V, (t + 1) * V), (x) => x / o.temperature);
        const mx = Math.max(...z);
        const lse = mx + Math.log(z.reduce((s, x) => s + Math.exp(x - mx), 0));
        return z[tokn] - lse;
      }) };
    })).v);
    const cur0 = handLogprobs();
    const old = cur0.map((lps, i) => lps.map((lp, j) => lp - Math.log(ratios[i][j])));
    const ref = cur0.map((lps, i) => lps.map((lp, j) => lp + 0.3 * Math.sin(3 * i + j)));
    // L = −(1/N) Σ_i (1/|o_i|) Σ_j [min(r·Â, clip(r, 1 − ε_low, 1 + ε_high)·Â) − β·(π_ref/π_θ − log(π_ref/π_θ) − 1)]
    const handLoss = (cur: number[][]): number => {
      let total = 0;
      cur.forEach((lps, i) => {
        let s = 0;
        lps.forEach((lp, j) => {
          const r = Math.exp(lp - old[i][j]);
          const clipped = Math.min(Math.max(r, 1 - o.epsLow), 1 + o.epsHigh);
          const d = ref[i][j] - lp;
          s += Math.min(r * A[i], clipped * A[i]) - o.beta * (Math.exp(d) - d - 1);
        });
        total += s / lps.length;
      });
      return -total / cur.length;
    };

    const seqs: BatchSequence[] = completions.map((c, i) => ({ prompt, completion: c, logprobs: old[i], advantage: A[i], useful: true }));
    const b = assembleBatch(seqs, 0);
    const refLp = new Float64Array(b.N * b.L) as unknown as Float32Array; // float64 mode: plain arrays are float64 too
    const oldLp = new Float64Array(b.N * b.L) as unknown as Float32Array;
    const adv = new Float64Array(b.N * b.L) as unknown as Float32Array;
    completions.forEach((c, i) => c.forEach((_, j) => {
      const pos = i * b.L + prompt.length - 1 + j;
      refLp[pos] = ref[i][j];
      oldLp[pos] = old[i][j]; // the float32 arrays of assembleBatch would round π_old: keep float64 here
      adv[pos] = A[i];
    }));
    assert.deepEqual(Array.from(b.mask).map((m, k) => m === 1 ? k : -1).filter((k) => k >= 0), Array.from(adv).map((a, k) => a !== 0 ? k : -1).filter((k) => k >= 0));
    const batch = { ...b, old: oldLp, adv };
    // 'grpo' aggregation: 1/(|o_i|·N) on completion tokens (in float64; the library's float32 weights agree)
    const weights = new Float64Array(b.N * b.L) as unknown as Float32Array;
    b.mask.forEach((m, k) => { weights[k] = m / (completions[Math.floor(k / b.L)].length * b.N); });
    const libWeights = aggregationWeights(b.mask, b.N, b.L, 'grpo', 0);
    libWeights.forEach((w, k) => assert.equal(w, Math.fround(weights[k])));
    const params = new Map(model.namedParameters());
    const pass = policyGradient(model, batch, weights, refLp, o, false);

    assert.equal(pass.tokens, nTok);
    assert.ok(Math.abs(pass.loss - handLoss(cur0)) < 1e-10, `loss ${pass.loss} vs hand ${handLoss(cur0)}`);
    assert.ok(Math.abs(pass.clipHigh - clippedHigh / nTok) < 1e-12, `clip_ratio/high ${pass.clipHigh} vs ${clippedHigh}/${nTok}`);
    assert.ok(Math.abs(pass.clipLow - clippedLow / nTok) < 1e-12, `clip_ratio/low ${pass.clipLow} vs ${clippedLow}/${nTok}`);
    let klHand = 0;
    cur0.forEach((lps, i) => lps.forEach((lp, j) => { const d = ref[i][j] - lp; klHand += Math.exp(d) - d - 1; }));
    assert.ok(Math.abs(pass.kl - klHand / nTok) < 1e-10, `kl ${pass.kl} vs ${klHand / nTok}`);

    // Gradients of a few parameters against central differences of the hand loss.
    const probes: [string, number][] = [
      ['lm_head.weight', 9 * cfg.hiddenSize + 3], // the row of a completion token
      ['lm_head.weight', 2 * cfg.hiddenSize + 17],
      ['model.layers.1.self_attn.kv_b_proj.weight', 37],
      ['model.embed_tokens.weight', 5 * cfg.hiddenSize + 11], // a prompt token's embedding
    ];
    const grads: number[] = [];
    for (const [name, j] of probes) {
      const p = params.get(name)!;
      const d = p.f32(), g = p.grad!.f32()[j];
      const x0 = d[j], h = 1e-6;
      d[j] = x0 + h;
      const lp = handLoss(handLogprobs());
      d[j] = x0 - h;
      const lm = handLoss(handLogprobs());
      d[j] = x0;
      const num = (lp - lm) / (2 * h);
      assert.ok(Math.abs(num) > 1e-5, `${name}[${j}]: the probe should have a gradient (numeric ${num})`);
      assert.ok(Math.abs(num - g) < 1e-7 + 1e-5 * Math.abs(num), `${name}[${j}]: analytic ${g} numeric ${num}`);
      grads.push(g);
    }

    // The policy moves: AdamW's first step is −lr·ĝ/(|ĝ| + ε) with ĝ the gradient (m̂ = g, v̂ = g²).
    const opt = new AdamW(model.namedParameters(), { lr: 0.01, weightDecay: 0 });
    const before = probes.map(([name, j]) => params.get(name)!.f32()[j]);
    noGrad(() => opt.step());
    probes.forEach(([name, j], k) => {
      const want = before[k] - 0.01 * grads[k] / (Math.abs(grads[k]) + 1e-8);
      assert.ok(Math.abs(params.get(name)!.f32()[j] - want) < 1e-12, `${name}[${j}] after the step: ${params.get(name)!.f32()[j]} vs ${want}`);
    });
    const cur1 = handLogprobs();
    assert.ok(cur1.flat().some((lp, k) => Math.abs(lp - cur0.flat()[k]) > 1e-4), 'the step changed the policy');
  } finally {
    setFloat64Mode(false);
    setBackend(prev);
  }
});
