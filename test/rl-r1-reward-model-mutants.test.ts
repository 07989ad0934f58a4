// The stage-4 reward model (src/rl/r1/reward-model.ts) against independent computations: every dense
// feature at its boundaries, the hashed unigram / bigram / prompt-cross features written out from
// their definition, the softplus's linear tail and its gradient, scoring, pair accuracy (ties are not
// wins), the saved file's round trip and its refusals, and training's loss curve from w = 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor } from '../src/tensor/index.js';
import { btLoss, rmFeatures, trainRewardModel, LinearRewardModel } from '../src/rl/r1/reward-model.js';
import { replyVocabulary } from '../src/data/conversations.js';
import type { PreferencePair } from '../src/data/conversations.js';
import { targetVocabulary } from '../src/rl/r1/readability.js';
import { hashSeed } from '../src/tasks/rng.js';

const DENSE = 7;
const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** φ(prompt, answer) written out from the module's definition, in float64. */
function expectedFeatures(prompt: string, answer: string, dim: number): number[] {
  const tok = (s: string) => s.toLowerCase().match(/[a-z']+|\d+|[^\sa-z'\d]/g) ?? [];
  const a = tok(answer), p = tok(prompt).filter((w) => /[a-z]/.test(w)), n = a.length;
  const known = new Set([...replyVocabulary(), ...targetVocabulary()]);
  const f = new Array<number>(dim).fill(0);
  f[0] = n === 0 ? 1 : 0;
  f[1] = n >= 1 && n <= 3 ? 1 : 0;
  f[2] = n >= 41 ? 1 : 0;
  f[3] = n ? (n - new Set(a).size) / n : 0;
  f[4] = /<think>|<\/think>|<answer>|<\/answer>|｜/.test(answer) ? 1 : 0;
  f[5] = answer.trim().toLowerCase().startsWith('the answer is') ? 1 : 0;
  const alpha = a.filter((w) => /^[a-z']+$/.test(w));
  f[6] = alpha.length ? alpha.filter((w) => !known.has(w)).length / alpha.length : 0;
  const H = dim - DENSE;
  const put = (key: string, v: number) => { f[DENSE + (hashSeed('rm', key) % H)] += v; };
  for (const w of a) put(`u:${w}`, 1 / Math.sqrt(Math.max(n, 1)));
  for (let i = 0; i + 1 < n; i++) put(`b:${a[i]} ${a[i + 1]}`, 1 / Math.sqrt(Math.max(n, 1)));
  const answerWords = [...new Set(a.filter((w) => /[a-z]/.test(w)))];
  for (const pw of new Set(p)) for (const w of answerWords) put(`x:${pw}|${w}`, 1 / Math.sqrt(Math.max(1, n * p.length)));
  return f;
}

function assertFeatures(prompt: string, answer: string, dim = 97): Float32Array {
  const got = rmFeatures(prompt, answer, dim), want = expectedFeatures(prompt, answer, dim);
  assert.equal(got.length, dim);
  for (let i = 0; i < dim; i++) close(got[i]!, want[i]!, 1e-6);
  return got;
}

test('rmFeatures: every feature equals its definition, on answers at each dense feature\'s boundaries', () => {
  const words = (k: number) => Array.from({ length: k }, (_, i) => `w${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`).join(' ');
  const cases: [string, string][] = [
    ['Hello there', ''],
    ['Hello there', 'Hi'],
    ['Hello there', 'Hi there friend'], // 3 words: short
    ['Hello there', 'Hi there my friend'], // 4 words: not short
    ['Tell me a story', words(40)], // 40 words: not long
    ['Tell me a story', words(41)], // 41: long
    ['who are you', 'I am I am I am tinyseek'], // repetition
    ['who are you', '<think> I am tinyseek </think>'],
    ['who are you', 'I am <｜Assistant｜> tinyseek'],
    ['what is this', '  The answer is 5.'],
    ['what is this', 'So the answer is 5.'],
    ['what is this', 'the ANSWER is five'],
    ['what can you do', 'I can add numbers and sort lists'], // known words
    ['what can you do', 'I cn ad numbrs and srt lists'], // misspellings
    ['What is 3 + 4? Please, please help', "It's 7: 3 + 4 = 7, and that's it"], // digits, punctuation, apostrophes, duplicate prompt words
    ['12 34', 'hello 56'], // a prompt with no words
  ];
  for (const [p, a] of cases) assertFeatures(p, a);
  // Spot values, so a mistake shared by the definition above and the module still shows.
  const e = rmFeatures('x', '', 64);
  assert.deepEqual(Array.from(e), [1, ...new Array(63).fill(0)], 'the empty answer: only the empty indicator');
  const short = rmFeatures('x', 'hi there friend', 64), four = rmFeatures('x', 'hi there my friend', 64);
  assert.deepEqual([short[1], four[1]], [1, 0]);
  assert.deepEqual([rmFeatures('x', words(40), 64)[2], rmFeatures('x', words(41), 64)[2]], [0, 1]);
  close(rmFeatures('x', 'a a a b', 64)[3]!, 0.5);
  assert.deepEqual([rmFeatures('x', '<answer>1', 64)[4], rmFeatures('x', 'think answer', 64)[4]], [1, 0]);
  assert.deepEqual([rmFeatures('x', ' The answer is 3', 64)[5], rmFeatures('x', 'Then the answer is 3', 64)[5]], [1, 0]);
  close(rmFeatures('x', 'xqzv add', 64)[6]!, 0.5, 1e-7);
  close(rmFeatures('x', '42', 64)[6]!, 0, 0); // no alphabetic word: no unknown share
});

test('btLoss: the linear tail above 80 and its gradient; L2 off at 0', () => {
  // x = −Δ = 100 (above the linear threshold): loss 100 + log(1 + e^80) − 80 ≈ 100; gradient −(φc − φr)·1.
  const w = Tensor.from(Float32Array.from([50]), [1, 1]).requiresGrad_();
  const L = btLoss(w, Tensor.from(Float32Array.from([0]), [1, 1]), Tensor.from(Float32Array.from([2]), [1, 1]), 0);
  close(L.item(), 100, 1e-3);
  L.backward();
  close(w.grad!.f32()[0]!, 2, 1e-4); // ∂/∂w softplus(−(0 − 2)w) = 2·σ(100) = 2
  // Just below the threshold the smooth branch: x = 79.
  const w2 = Tensor.from(Float32Array.from([39.5]), [1, 1]);
  close(btLoss(w2, Tensor.from(Float32Array.from([0]), [1, 1]), Tensor.from(Float32Array.from([2]), [1, 1]), 0).item(), 79, 1e-3);
  // A large positive margin: loss ≈ e^−Δ → 0, never negative.
  const w3 = Tensor.from(Float32Array.from([50]), [1, 1]);
  const small = btLoss(w3, Tensor.from(Float32Array.from([2]), [1, 1]), Tensor.from(Float32Array.from([0]), [1, 1]), 0).item();
  assert.ok(small >= 0 && small < 1e-30, `${small}`);
  // L2: (λ/2)‖w‖² is added exactly; λ = 0 adds nothing.
  const wv = Tensor.from(Float32Array.from([1, -2]), [2, 1]);
  const c = Tensor.from(Float32Array.from([0, 0]), [1, 2]), r = Tensor.from(Float32Array.from([0, 0]), [1, 2]);
  close(btLoss(wv, c, r, 0).item(), Math.log(2));
  close(btLoss(wv, c, r, 0.2).item(), Math.log(2) + 0.1 * 5);
  // Two pairs average, not sum.
  const c2 = Tensor.from(Float32Array.from([1, 0, 0, 1]), [2, 2]), r2 = Tensor.from(Float32Array.from([0, 0, 0, 0]), [2, 2]);
  close(btLoss(wv, c2, r2, 0).item(), (Math.log(1 + Math.exp(-1)) + Math.log(1 + Math.exp(2))) / 2, 1e-6);
});

test('LinearRewardModel: score is w·φ, pair accuracy counts strict wins (ties lose), save/load round trip and refusals', () => {
  const dim = 64;
  const w = Float32Array.from({ length: dim }, (_, i) => Math.sin(i + 1));
  const m = new LinearRewardModel(dim, w);
  const f = rmFeatures('who are you', 'I am tinyseek', dim);
  let s = 0;
  for (let i = 0; i < dim; i++) s += f[i]! * w[i]!;
  close(m.score('who are you', 'I am tinyseek'), s, 1e-6);
  assert.ok(Number.isNaN(m.pairAccuracy([])));
  const pair = (chosen: string, rejected: string): PreferencePair => ({ prompt: 'who are you', chosen, rejected, kind: 'garbled' });
  const better = m.score('who are you', 'I am tinyseek') > m.score('who are you', '') ? ['I am tinyseek', ''] : ['', 'I am tinyseek'];
  assert.equal(m.pairAccuracy([pair(better[0]!, better[1]!)]), 1);
  assert.equal(m.pairAccuracy([pair(better[1]!, better[0]!)]), 0);
  assert.equal(m.pairAccuracy([pair('same', 'same')]), 0, 'a tie is not a win');
  assert.equal(m.pairAccuracy([pair(better[0]!, better[1]!), pair('same', 'same'), pair(better[1]!, better[0]!), pair(better[0]!, better[1]!)]), 0.5);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-rm-'));
  try {
    const file = path.join(dir, 'rm.json');
    m.save(file);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { kind: string; dim: number; w: number[] };
    assert.equal(saved.kind, 'linear-bt');
    assert.equal(saved.dim, dim);
    const back = LinearRewardModel.load(file);
    assert.equal(back.dim, dim);
    assert.deepEqual(Array.from(back.w), Array.from(w));
    assert.equal(back.score('hi', 'hello there'), m.score('hi', 'hello there'));
    fs.writeFileSync(file, JSON.stringify({ kind: 'mlp', dim: 2, w: [1, 2] }));
    assert.throws(() => LinearRewardModel.load(file), (e: Error) => e.message === `${file}: expected a linear-bt reward model of dim 2, found mlp with 2 weights`);
    fs.writeFileSync(file, JSON.stringify({ kind: 'linear-bt', dim: 3, w: [1, 2] }));
    assert.throws(() => LinearRewardModel.load(file), (e: Error) => e.message === `${file}: expected a linear-bt reward model of dim 3, found linear-bt with 2 weights`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('trainRewardModel: full-batch AdamW from w = 0 — first loss ln 2, one loss per step, the learned weights rank the pairs', () => {
  const pairs: PreferencePair[] = [
    { prompt: 'hello', chosen: 'Hi! I am tinyseek.', rejected: 'The answer is 4.', kind: 'number' },
    { prompt: 'who are you', chosen: 'I am tinyseek, a small model.', rejected: '', kind: 'empty' },
    { prompt: 'thanks', chosen: "You're welcome!", rejected: 'welcome welcome welcome welcome', kind: 'repetition' },
  ];
  const { model, losses } = trainRewardModel(pairs, { dim: 128, steps: 25, lr: 0.05, l2: 0 });
  assert.equal(losses.length, 25);
  close(losses[0]!, Math.log(2), 1e-6);
  for (let i = 1; i < losses.length; i++) assert.ok(losses[i]! < losses[i - 1]!, `loss rose at step ${i}: ${losses[i - 1]} → ${losses[i]}`);
  assert.equal(model.dim, 128);
  assert.equal(model.pairAccuracy(pairs), 1);
  // The returned weights are the trained ones: the loss at them is the loss after the last step (below the last logged one).
  const N = pairs.length, D = 128;
  const c = new Float32Array(N * D), r = new Float32Array(N * D);
  pairs.forEach((p, i) => { c.set(rmFeatures(p.prompt, p.chosen, D), i * D); r.set(rmFeatures(p.prompt, p.rejected, D), i * D); });
  const after = btLoss(Tensor.from(model.w, [D, 1]), Tensor.from(c, [N, D]), Tensor.from(r, [N, D]), 0).item();
  assert.ok(after < losses.at(-1)!, `${after} vs ${losses.at(-1)}`);
  // L2 pulls the weights in: the same run with λ > 0 ends with a smaller ‖w‖.
  const norm = (x: Float32Array) => Math.hypot(...x);
  assert.ok(norm(trainRewardModel(pairs, { dim: 128, steps: 25, lr: 0.05, l2: 0.5 }).model.w) < norm(model.w));
  // Zero steps: the zero model, which ties every pair.
  const none = trainRewardModel(pairs, { dim: 128, steps: 0, lr: 0.05, l2: 0 });
  assert.deepEqual(none.losses, []);
  assert.ok(none.model.w.every((x) => x === 0));
});
