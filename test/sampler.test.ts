// The sampler against exact enumeration over small vocabularies: for temperature, top-k, top-p,
// min-p and their combinations, the kept set and its renormalized probabilities are computed from
// the definitions (token by token, not by the sampler's loop), then 20,000 seeded draws must never
// leave the kept set and must pass a chi-square goodness-of-fit test (α = 0.001). Boundary cases:
// top-p exactly at a cumulative boundary, ties in probability (broken by token id), top-k = 1, greedy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/tensor/index.js';
import { sampleToken } from '../src/infer/sampler.js';
import type { SamplingParams } from '../src/infer/sampler.js';

/** softmax(l / T) in float64. */
function softmax(l: number[], T: number): number[] {
  const z = l.map((x) => x / T);
  const mx = Math.max(...z);
  const e = z.map((x) => Math.exp(x - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/**
 * The distribution the sampler must draw from, by definition (temperature, then top-k, top-p, min-p,
 * each renormalized over what the previous filter kept). Token i "comes before" j when p_i > p_j, or
 * p_i = p_j and i < j.
 *   top-k: i is kept iff fewer than k tokens come before it
 *   top-p: i is kept iff the (renormalized) mass of the kept tokens before it is < p
 *   min-p: i is kept iff p_i ≥ min_p · max p
 */
function expected(l: number[], s: SamplingParams): number[] {
  const p = softmax(l, s.temperature ?? 1);
  const V = p.length;
  const before = (j: number, i: number) => p[j] > p[i] || (p[j] === p[i] && j < i);
  let kept = p.map(() => true);
  if (s.topK) kept = kept.map((_, i) => p.filter((_, j) => before(j, i)).length < s.topK!);
  if (s.topP !== undefined && s.topP < 1) {
    const mass = p.reduce((a, q, j) => a + (kept[j] ? q : 0), 0);
    kept = kept.map((k, i) => k && p.reduce((a, q, j) => a + (kept[j] && before(j, i) ? q : 0), 0) / mass < s.topP!);
  }
  if (s.minP) {
    const pmax = Math.max(...p);
    kept = kept.map((k, i) => k && p[i] >= s.minP! * pmax);
  }
  const mass = p.reduce((a, q, j) => a + (kept[j] ? q : 0), 0);
  return Array.from({ length: V }, (_, i) => (kept[i] ? p[i] / mass : 0));
}

/** Upper α = 0.001 quantile of χ²(df), Wilson–Hilferty (accurate to a few % for df ≥ 1). */
function chi2Critical(df: number): number {
  const z = 3.090232; // Φ⁻¹(0.999)
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

const LOGITS = [2.0, 1.5, 1.5, 0.3, -0.2, -1.0, 0.9, 0.1]; // tokens 1 and 2 tie

const CASES: SamplingParams[] = [
  { temperature: 1 },
  { temperature: 0.7 },
  { temperature: 1.6 },
  { topK: 3 }, //                  cuts between the tied tokens 1, 2 and token 6: keeps {0, 1, 2}
  { topK: 2 }, //                  cuts inside the tie: keeps {0, 1} (the lower id)
  { topP: 0.5 },
  { topP: 0.8 },
  { topP: 0.95, temperature: 1.4 },
  { topK: 4, topP: 0.7 }, //       top-p over the renormalized top-4
  { topK: 5, topP: 0.9, temperature: 0.8 },
  { minP: 0.3 },
  { minP: 0.1, temperature: 1.5 },
  { topK: 6, topP: 0.9, minP: 0.25 },
];

for (const s of CASES) {
  test(`sampler frequencies match the exact distribution: ${JSON.stringify(s)}`, () => {
    const q = expected(LOGITS, s);
    const logp = softmax(LOGITS, s.temperature ?? 1).map(Math.log);
    const M = 20_000;
    const counts = new Array<number>(LOGITS.length).fill(0);
    const rng = new Rng(1234);
    const logits = Float32Array.from(LOGITS);
    for (let n = 0; n < M; n++) {
      const { token, logprob } = sampleToken(logits, s, rng);
      counts[token]++;
      if (n < 50) assert.ok(Math.abs(logprob - logp[token]) < 1e-6, `logprob of ${token}: ${logprob} vs log softmax(l/T) ${logp[token]}`);
    }
    const kept = q.flatMap((x, i) => (x > 0 ? [i] : []));
    for (let i = 0; i < q.length; i++) if (q[i] === 0) assert.equal(counts[i], 0, `token ${i} is outside the kept set {${kept}} but was drawn ${counts[i]} times`);
    let chi2 = 0;
    for (const i of kept) chi2 += (counts[i] - M * q[i]) ** 2 / (M * q[i]);
    const df = kept.length - 1;
    if (df > 0) assert.ok(chi2 < chi2Critical(df), `χ² = ${chi2.toFixed(1)} ≥ ${chi2Critical(df).toFixed(1)} (df ${df}); counts ${counts} vs expected ${q.map((x) => (M * x).toFixed(0))}`);
    else assert.equal(counts[kept[0]], M);
  });
}

test('the kept sets of the boundary cases, from the definitions', () => {
  // Spot checks of the oracle itself on cases worked out by hand.
  const keptOf = (l: number[], s: SamplingParams) => expected(l, s).flatMap((x, i) => (x > 0 ? [i] : []));
  assert.deepEqual(keptOf(LOGITS, { topK: 2 }), [0, 1]);
  assert.deepEqual(keptOf(LOGITS, { topK: 3 }), [0, 1, 2]);
  assert.deepEqual(keptOf([0, 0, 0, 0], { topP: 0.5 }), [0, 1]);
  assert.deepEqual(keptOf([0, 0, 0, 0], { topP: 0.5 + 1e-9 }), [0, 1, 2]);
  assert.deepEqual(keptOf([0, 0, 0, 0], { topP: 0.25 }), [0]);
});

test('top-p exactly at a cumulative boundary keeps the tokens that reach it, and no more; ties go to the lower id', () => {
  // Four equally likely tokens (probabilities exactly 1/4 in floating point): cumulative mass 1/4, 1/2, 3/4, 1.
  const flat = Float32Array.from([0, 0, 0, 0]);
  const draw = (s: SamplingParams, n = 4000) => {
    const rng = new Rng(7);
    const c = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) c[sampleToken(flat, s, rng).token]++;
    return c;
  };
  const at = draw({ topP: 0.5 });
  assert.equal(at[2] + at[3], 0, `top-p 0.5 reaches its mass with tokens {0, 1}; drew ${at}`);
  assert.ok(at[0] > 1800 && at[1] > 1800, `both kept tokens are drawn about equally: ${at}`);
  const above = draw({ topP: 0.5 + 1e-9 });
  assert.equal(above[3], 0, `top-p just above 1/2 keeps {0, 1, 2}; drew ${above}`);
  assert.ok(above[2] > 1100, `token 2 is kept just above the boundary: ${above}`);
  assert.deepEqual(draw({ topP: 0.25 }), [4000, 0, 0, 0], 'top-p 1/4: only the first of the tied tokens');
  assert.deepEqual(draw({ topP: 0.75 }).slice(3), [0]);
  // top-p over a top-k set is renormalized: with top-k 2 the two kept tokens have 1/2 each, so
  // top-p 0.5 keeps one of them (top-p over the full distribution would have kept both).
  assert.deepEqual(draw({ topK: 2, topP: 0.5 }), [4000, 0, 0, 0]);
});

test('greedy and top-k 1 take the argmax (lowest id among ties); min-p 1 keeps only the most likely (both, when tied)', () => {
  const l = Float32Array.from([0.5, 3, 3, -1]);
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) {
    assert.equal(sampleToken(l, { temperature: 0 }, rng).token, 1);
    assert.equal(sampleToken(l, { topK: 1 }, rng).token, 1);
    const t = sampleToken(l, { minP: 1, temperature: 1.3 }, rng).token;
    assert.ok(t === 1 || t === 2, `min-p 1 keeps the two tied most likely tokens, drew ${t}`);
  }
  const p = softmax([0.5, 3, 3, -1], 1);
  const g = sampleToken(l, { temperature: 0 }, rng);
  assert.ok(Math.abs(g.logprob - Math.log(p[1])) < 1e-6, 'greedy reports log softmax(l) of the argmax');
});
