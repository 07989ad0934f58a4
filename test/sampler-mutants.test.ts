// Sampler case the enumeration oracle does not reach (found by mutation testing, docs/mutation.md):
// min-p keeps a token whose probability equals min_p × the top probability exactly ("≥", as in
// Hugging Face's MinPLogitsWarper), and the kept set does not depend on a caller's scratch buffer.
// Draws placed exactly on the boundaries of the cumulative distribution (with a fixed draw) check the
// inverse-CDF walk and its rounding fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/tensor/index.js';
import type { Rng as RngType } from '../src/tensor/random.js';
import { sampleToken } from '../src/infer/sampler.js';

test('min-p keeps a token exactly at the threshold', () => {
  const logits = Float32Array.from([0, -0.5, -10]);
  const minP = Math.exp(logits[1] - logits[0]); // p1 / p0 exactly, computed as the sampler does
  const rng = new Rng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 300; i++) seen.add(sampleToken(logits, { minP }, rng).token);
  assert.deepEqual([...seen].sort(), [0, 1], 'token 1 (at the threshold) is kept, token 2 is not');
});

test('a scratch buffer, too short or longer than the vocabulary, does not change what is sampled', () => {
  const logits = Float32Array.from([0.5, -1, 2, 0, 1.5]);
  for (const p of [{}, { topK: 3 }, { topP: 0.7 }, { minP: 0.2, temperature: 0.8 }]) {
    const draw = (scratch?: Float64Array) => { const rng = new Rng(11); return Array.from({ length: 50 }, () => sampleToken(logits, p, rng, scratch)); };
    const plain = draw();
    assert.deepEqual(draw(new Float64Array(2)), plain, `short scratch ${JSON.stringify(p)}`);
    assert.deepEqual(draw(new Float64Array(9).fill(7)), plain, `long scratch ${JSON.stringify(p)}`);
  }
});

/**
 * A random source fixed at one draw u ∈ [0, 1), to place the draw exactly on a boundary of the
 * cumulative distribution (the enumeration oracle samples many draws and cannot hit those).
 */
const fixedDraw = (u: number) => ({ uniform: () => u }) as unknown as RngType;

/** The token the inverse CDF gives for draw u over the kept tokens `ids` with masses `p`: the first whose cumulative mass reaches u · (their total). Exact rationals here (integer masses). */
function inverseCdf(ids: number[], p: number[], u: number): number {
  const total = ids.reduce((a, i) => a + p[i], 0);
  let cum = 0;
  for (const i of ids) { cum += p[i]; if (cum >= u * total) return i; }
  throw new Error('unreachable');
}

test('a draw exactly on a cumulative boundary takes the token that reaches it (the generalized inverse CDF), with and without truncation', () => {
  // equal logits: every unnormalized mass is exactly 1, so the boundaries are exact in floating point
  const p = [1, 1, 1, 1];
  const flat = Float32Array.from([0, 0, 0, 0]);
  for (const u of [0, 0.25, 0.5, 0.75]) assert.equal(sampleToken(flat, {}, fixedDraw(u)).token, inverseCdf([0, 1, 2, 3], p, u), `u = ${u}`);
  assert.equal(sampleToken(flat, {}, fixedDraw(0.25)).token, 0, 'u = 1/4 ends exactly at token 0');
  // top-k 2 of 3: tokens 0 and 1 kept (mass 1 each); u = 1/2 ends exactly at token 0
  const three = Float32Array.from([0, 0, -5]);
  assert.equal(sampleToken(three, { topK: 2 }, fixedDraw(0.5)).token, inverseCdf([0, 1], p, 0.5));
  assert.equal(sampleToken(three, { topK: 2 }, fixedDraw(0.5)).token, 0);
  assert.equal(sampleToken(three, { topK: 2 }, fixedDraw(0.51)).token, 1);
});

test('the largest draw below 1 takes the last kept token, even when rounding leaves mass over after subtracting every kept token', () => {
  // Found by search: with these logits and top-k 7, u·mass minus the 7 kept masses (in order) is
  // +1e-16 in floating point, so the walk ends without a token and the sampler must fall back to the last kept one.
  const logits = Float32Array.from([3.1342341899871826, -2.9255294799804688, 0.6247157454490662, -0.4028761386871338, -1.1393834352493286,
    0.3821330964565277, 2.510869026184082, 0.17604795098304749, -1.1620160341262817]);
  const byProb = [...logits.keys()].sort((a, b) => logits[b] - logits[a] || a - b);
  const u = 1 - 2 ** -53;
  const s = sampleToken(logits, { topK: 7 }, fixedDraw(u));
  assert.equal(s.token, byProb[6], 'the 7th most likely token');
  const mx = Math.max(...logits), z = Array.from(logits).reduce((a, l) => a + Math.exp(l - mx), 0);
  assert.ok(Math.abs(s.logprob - (logits[byProb[6]] - mx - Math.log(z))) < 1e-12, 'its log-probability under the full distribution');
  // the smallest draw takes the most likely token
  assert.equal(sampleToken(logits, { topK: 7 }, fixedDraw(0)).token, byProb[0]);
});

test('min-p above 1 empties the definition\'s kept set; the sampler still keeps the most likely token (at least one is always kept)', () => {
  // By enumeration: {i : p_i ≥ min_p · p_max} is empty for min_p > 1, so the rule that at least one
  // token survives (Hugging Face's min_tokens_to_keep = 1) leaves exactly the argmax. (The CLI and the
  // API reject min_p > 1; a library caller can still pass it.)
  const L = [0.2, 1.7, -0.4, 1.1, 0.9];
  const mx = Math.max(...L), z = L.reduce((a, l) => a + Math.exp(l - mx), 0);
  const p = L.map((l) => Math.exp(l - mx) / z);
  for (const minP of [1.01, 1.5, 4]) {
    const kept = p.flatMap((q, i) => (q >= minP * Math.max(...p) ? [i] : []));
    assert.deepEqual(kept, [], `min_p ${minP} keeps nothing by the definition`);
    const rng = new Rng(5);
    for (let n = 0; n < 40; n++) {
      const s = sampleToken(Float32Array.from(L), { minP }, rng);
      assert.equal(s.token, 1, `min_p ${minP}: the most likely token`);
      assert.ok(Math.abs(s.logprob - Math.log(p[1])) < 1e-6, `its log-probability ${s.logprob} vs ${Math.log(p[1])}`);
    }
  }
});
