// completionLogprobs (src/rl/policy-gradient.ts): token log-probs and the per-token entropy of the
// temperature-scaled distribution, against hand computations in float64 — including logits far
// from 0, where the entropy must be computed in the max-shifted form to stay finite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../src/tensor/index.js';
import type { CausalLM } from '../src/model/causal-lm.js';
import { assembleBatch, completionLogprobs, policyGradient } from '../src/rl/policy-gradient.js';
import { aggregationWeights } from '../src/rl/loss.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';

/** A stand-in whose forward returns fixed logits [N, L, V] (the entropy and log-prob arithmetic is what is tested). */
function fixedLogits(logits: number[][][]): CausalLM {
  const N = logits.length, L = logits[0]!.length, V = logits[0]![0]!.length;
  return {
    cfg: { vocabSize: V },
    forward: () => ({ logits: Tensor.from(Float32Array.from(logits.flat(2)), [N, L, V]), hidden: Tensor.from(new Float32Array(N * L), [N, L, 1]) }),
  } as unknown as CausalLM;
}

function hand(row: number[], T: number): { logp: (v: number) => number; H: number } {
  const z = row.map((x) => x / T);
  const m = Math.max(...z);
  const Z = z.reduce((a, x) => a + Math.exp(x - m), 0);
  const p = z.map((x) => Math.exp(x - m) / Z);
  return { logp: (v) => z[v]! - m - Math.log(Z), H: -p.reduce((a, pi) => a + (pi > 0 ? pi * Math.log(pi) : 0), 0) };
}

test('completionLogprobs: log-probs of the targets and entropies at T = 1 and T = 0.7, including logits near ±500', () => {
  const rows = [[2, -1, 0.5, 3], [500, 499, -500, 0], [-480, -481, -479, -490]];
  const ids = Int32Array.of(0, 3, 1, 2); // one sequence, L = 3: inputs 0 3 1, targets 3 1 2
  for (const T of [1, 0.7]) {
    const r = completionLogprobs(fixedLogits([rows]), ids, 1, 3, T, false, true);
    const lp = r.logp.f32();
    const want = [hand(rows[0]!, T).logp(3), hand(rows[1]!, T).logp(1), hand(rows[2]!, T).logp(2)];
    for (let t = 0; t < 3; t++) assert.ok(Math.abs(lp[t]! - want[t]!) < 1e-4, `T=${T} logp[${t}] ${lp[t]} vs ${want[t]}`);
    assert.deepEqual([...r.targets], [3, 1, 2]);
    for (let t = 0; t < 3; t++) {
      const H = hand(rows[t]!, T).H;
      assert.ok(Number.isFinite(r.entropy![t]!) && Math.abs(r.entropy![t]! - H) < 1e-4, `T=${T} entropy[${t}] ${r.entropy![t]} vs ${H}`);
    }
  }
});

test('completionLogprobs: rows are laid out [N, L] from ids [N, L+1]; no entropy unless asked', () => {
  const a = [[1, 0, 0], [0, 1, 0]], b = [[0, 0, 1], [1, 1, 0]];
  const r = completionLogprobs(fixedLogits([a, b]), Int32Array.of(0, 1, 2, 2, 0, 1), 2, 2, 1, false, false);
  assert.equal(r.entropy, null);
  assert.deepEqual([...r.targets], [1, 2, 0, 1]);
  const lp = r.logp.f32();
  const want = [hand(a[0]!, 1).logp(1), hand(a[1]!, 1).logp(2), hand(b[0]!, 1).logp(0), hand(b[1]!, 1).logp(1)];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(lp[i]! - want[i]!) < 1e-5, `logp[${i}] ${lp[i]} vs ${want[i]}`);
});

test('policyGradient calls beforeLastBackward once, after the last micro-batch\'s forward and before its backward (where data parallelism arms its all-reduce)', () => {
  const model = new DeepseekV3(getPreset('nano'), 3); // near-uniform over 512 tokens: log-probs ≈ −6.2, so the ratios are ≈ 1 (unclipped)
  const seqs = Array.from({ length: 5 }, (_, i) => ({
    prompt: [1, 2 + i], completion: [5 + i, 7, 9], logprobs: [-6.2, -6.3, -6.2], advantage: i % 2 ? 1 : -1, useful: true,
  }));
  const batch = assembleBatch(seqs, 0);
  const w = aggregationWeights(batch.mask, batch.N, batch.L, 'dapo', 3);
  let forwards = 0, backwardsBefore = -1, calls = 0;
  const f = model.forward.bind(model);
  model.forward = (ids, o) => { forwards++; return f(ids, o); };
  const p0 = model.namedParameters().find(([n]) => n === 'lm_head.weight')![1];
  const gradSum = () => (p0.grad ? p0.grad.f32().reduce((a, x) => a + Math.abs(x), 0) : 0);
  let gradAtCall = -1;
  policyGradient(model, batch, w, null, {
    epsLow: 0.2, epsHigh: 0.28, beta: 0, temperature: 1, microBatch: 2,
    beforeLastBackward: () => { calls++; backwardsBefore = forwards; gradAtCall = gradSum(); },
  }, false);
  assert.equal(calls, 1, 'once per pass');
  assert.equal(backwardsBefore, 3, 'after the third (last) micro-batch\'s forward: 5 sequences in micro-batches of 2');
  assert.ok(gradAtCall >= 0 && gradSum() !== gradAtCall, 'the last micro-batch\'s backward comes after the call');
});

test('policyGradient\'s entropy is the mean of π_θ\'s per-token entropy over completion tokens only, across micro-batches', () => {
  const model = new DeepseekV3(getPreset('nano'), 4);
  // Completions of different lengths, so the mask leaves padded positions out.
  const seqs = Array.from({ length: 5 }, (_, i) => ({
    prompt: [1, 2 + i], completion: Array.from({ length: 1 + (i % 3) }, (_, j) => 5 + i + j), logprobs: Array.from({ length: 1 + (i % 3) }, () => -6.2),
    advantage: i % 2 ? 1 : -1, useful: true,
  }));
  const batch = assembleBatch(seqs, 0);
  const w = aggregationWeights(batch.mask, batch.N, batch.L, 'dapo', 3);
  const all = completionLogprobs(model, batch.ids, batch.N, batch.L, 0.8, false, true);
  let sum = 0, count = 0;
  for (let q = 0; q < batch.N * batch.L; q++) if (batch.mask[q]) { sum += all.entropy![q]!; count++; }
  assert.ok(count < batch.N * batch.L, 'some positions are padding');
  const o = { epsLow: 0.2, epsHigh: 0.28, beta: 0, temperature: 0.8, microBatch: 2 };
  const stats = policyGradient(model, batch, w, null, o, true);
  assert.ok(Math.abs(stats.entropy! - sum / count) < 1e-5, `entropy ${stats.entropy} vs ${sum / count}`);
  assert.equal(policyGradient(model, batch, w, null, o, false).entropy, null);
});
