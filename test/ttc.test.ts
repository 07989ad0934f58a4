// Test-time compute: the pass@k estimator and cons@k against brute-force enumeration over subsets;
// budget forcing on the shipped model (the answer is forced at exactly B thinking tokens, the thinking
// is the model's own greedy continuation, "Wait" replaces an early </think>); the report end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/tensor/random.js';
import { bestOfK, consAtK, majority, passAtK, type Vote } from '../src/analysis/pass-at-k.js';
import { LinearRewardModel } from '../src/rl/r1/reward-model.js';
import { CATEGORIES, HELDOUT_GENERAL } from '../src/data/conversations.js';
import { loadModel } from '../src/model/checkpoint.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { Generator } from '../src/infer/generator.js';
import { generateWithBudget } from '../src/infer/budget-forcing.js';
import { heldOutProblems, promptIds } from '../src/infer/evaluate.js';
import { answerOf, measureTestTimeCompute, TTC_DEFAULTS } from '../src/scaling/ttc.js';
import { comparisonOf, renderTtcReport, writeTtcReport } from '../src/scaling/ttc-report.js';

const MODEL = fileURLToPath(new URL('../../models/tinyseek-r1-mini', import.meta.url));

/** Every k-subset of 0..n−1. */
function* subsets(n: number, k: number, start = 0, acc: number[] = []): IterableIterator<number[]> {
  if (acc.length === k) { yield acc.slice(); return; }
  for (let i = start; i <= n - (k - acc.length); i++) {
    acc.push(i);
    yield* subsets(n, k, i + 1, acc);
    acc.pop();
  }
}

test('pass@k equals the fraction of k-subsets holding a correct sample (brute force, n ≤ 10)', () => {
  for (let n = 1; n <= 10; n++) for (let c = 0; c <= n; c++) for (let k = 1; k <= n; k++) {
    let hit = 0, all = 0;
    for (const s of subsets(n, k)) { all++; if (s.some((i) => i < c)) hit++; }
    const est = passAtK(n, c, k);
    assert.ok(Math.abs(est - hit / all) < 1e-12, `n=${n} c=${c} k=${k}: ${est} vs ${hit / all}`);
  }
  // n = 200 as Chen et al. (stable product, no overflow of C(200, k))
  assert.ok(Math.abs(passAtK(200, 10, 1) - 0.05) < 1e-12);
  assert.throws(() => passAtK(4, 5, 1), /0 ≤ c ≤ n, found n = 4, c = 5/);
  assert.throws(() => passAtK(4, 1, 5), /1 ≤ k ≤ n/);
});

test('cons@k: the majority vote, and its subset average against exact enumeration', () => {
  const v = (answer: string | null, correct = false): Vote => ({ answer, correct });
  assert.equal(majority([v('3'), v('5', true), v('5', true), v(null)])?.answer, '5');
  assert.equal(majority([v('3'), v('5', true)])?.answer, '3', 'a tie goes to the answer seen first');
  assert.equal(majority([v(null), v(null)]), null);
  // 8 samples: 3 × "5" (correct), 3 × "7", 1 × "2", 1 × no answer
  const votes = [v('5', true), v('7'), v('5', true), v('2'), v('7'), v(null), v('5', true), v('7')];
  for (const k of [1, 2, 3, 5, 7]) {
    // exact: over all k-subsets, ties broken uniformly (a random order makes each tied answer first equally often)
    let sum = 0, all = 0;
    for (const s of subsets(votes.length, k)) {
      all++;
      const counts = new Map<string, { n: number; correct: boolean }>();
      for (const i of s) if (votes[i].answer !== null) {
        const e = counts.get(votes[i].answer!) ?? { n: 0, correct: votes[i].correct };
        e.n++;
        counts.set(votes[i].answer!, e);
      }
      const top = Math.max(0, ...[...counts.values()].map((e) => e.n));
      const tied = [...counts.values()].filter((e) => e.n === top && top > 0);
      if (tied.length) sum += tied.filter((e) => e.correct).length / tied.length;
    }
    const exact = sum / all;
    const draws = 6000;
    const est = consAtK(votes, k, new Rng(k), draws);
    const sd = Math.sqrt(exact * (1 - exact) / draws);
    assert.ok(Math.abs(est - exact) <= 4 * sd + 1e-9, `k=${k}: ${est} vs exact ${exact} (sd ${sd})`);
  }
  assert.equal(consAtK(votes, 8, new Rng(0)), 1, 'k = n: "5" and "7" tie at 3 and "5" came first');
  assert.throws(() => consAtK(votes, 9, new Rng(0)), /1 ≤ k ≤ n = 8, found k = 9/);
});

test('best-of-k equals the share of k-subsets whose highest-scored sample is good (brute force, ties to the earlier sample)', () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 30; trial++) {
    const n = 1 + rng.int(9);
    // scores from a small set, so ties happen
    const scores = Array.from({ length: n }, () => rng.int(4));
    const good = Array.from({ length: n }, () => rng.uniform() < 0.5);
    for (let k = 1; k <= n; k++) {
      let hit = 0, all = 0;
      for (const sub of subsets(n, k)) {
        const best = sub.reduce((a, i) => (scores[i]! > scores[a]! ? i : a));
        hit += good[best] ? 1 : 0;
        all++;
      }
      assert.ok(Math.abs(bestOfK(scores, good, k) - hit / all) < 1e-12, `n ${n} k ${k}: ${bestOfK(scores, good, k)} vs ${hit / all}`);
    }
    // k = 1 is a random pick (pass@1); k = n keeps the top-scored sample
    assert.ok(Math.abs(bestOfK(scores, good, 1) - passAtK(n, good.filter(Boolean).length, 1)) < 1e-12);
  }
  assert.throws(() => bestOfK([1, 2], [true], 1), /one score per sample: 2 scores, 1 outcomes/);
  assert.throws(() => bestOfK([1, 2], [true, false], 3), /1 ≤ k ≤ n = 2, found k = 3/);
});

test('answers are read after the last </think>', () => {
  assert.equal(answerOf('add', '<think>\n3 + 4 = 7\n</think>\n\nThe answer is 8.'), '8');
  assert.equal(answerOf('add', '<think>\n3 + 4 = 7, so 7'), '7', 'no </think>: the whole completion');
  assert.equal(answerOf('add', 'x = 7 </think> no number here'), null);
});

test('budget forcing on the shipped model: </think> is forced at exactly B thinking tokens', async () => {
  const model = loadModel(MODEL);
  model.eval();
  const tok = Tokenizer.fromDir(MODEL);
  const gen = new Generator(model, { maxBatch: 8, maxLen: 512 });
  const think = tok.idOf('</think>');
  const p = heldOutProblems('add', 2, 1, 0)[0];
  const prompt = promptIds(tok, p, 'default');
  assert.equal(tok.decode(prompt.slice(-2)), '<think>\n', 'the template opens the thinking');
  const free = await gen.generate({ prompt, maxNewTokens: 300, sampling: { temperature: 0 }, stopTokenIds: [think, tok.eosId] });
  assert.equal(free.tokens.at(-1), think, 'the model closes its thinking by itself');
  const natural = free.tokens.length - 1;
  assert.ok(natural > 10, `natural thinking of ${natural} tokens`);
  const base = { waits: 0, thinkEndId: think, eosId: tok.eosId, waitIds: tok.encode('Wait'), maxAnswerTokens: 16 };
  for (const B of [0, 1, 7, natural - 3]) {
    const r = await generateWithBudget(gen, prompt, { ...base, budget: B });
    assert.equal(r.thinking.length, B, `B = ${B}`);
    assert.equal(r.forced, true);
    // count the tokens between the prompt and the forced </think> in the sequence itself
    assert.equal(r.sequence.indexOf(think, prompt.length), prompt.length + B, `B = ${B}: </think> at ${r.sequence.indexOf(think, prompt.length) - prompt.length}`);
    assert.deepEqual(r.thinking, free.tokens.slice(0, B), 'the thinking is the model\'s own greedy continuation');
    assert.deepEqual(r.sequence.slice(0, prompt.length), prompt);
  }
  // a budget beyond the natural length does not force
  const loose = await generateWithBudget(gen, prompt, { ...base, budget: natural + 20 });
  assert.equal(loose.forced, false);
  assert.deepEqual(loose.thinking, free.tokens.slice(0, natural));
  // "Wait": the early </think> is replaced, the model thinks on, never past B
  const waitIds = tok.encode('Wait');
  const B = natural + 40;
  const ext = await generateWithBudget(gen, prompt, { ...base, budget: B, waits: 1 });
  assert.equal(ext.waitsUsed, 1);
  assert.deepEqual(ext.thinking.slice(0, natural + waitIds.length), [...free.tokens.slice(0, natural), ...waitIds]);
  assert.ok(ext.thinking.length > natural + waitIds.length && ext.thinking.length <= B, `thinking ${ext.thinking.length}, B ${B}`);
  assert.equal(ext.sequence.indexOf(think, prompt.length), prompt.length + ext.thinking.length);
  assert.equal(ext.sequence.filter((t) => t === think).length, 1, 'one </think> only: the first was suppressed');
  await assert.rejects(generateWithBudget(gen, prompt, { ...base, budget: 600 }), /exceed the generator's 512 positions/);
  await assert.rejects(generateWithBudget(gen, prompt, { ...base, budget: -1 }), /budget must be an integer ≥ 0, found -1/);
});

test('ttc refuses a thinking budget or "Wait" cap that cannot fit beside the longest prompt before it samples anything', async () => {
  const model = loadModel(MODEL);
  model.eval();
  const tok = Tokenizer.fromDir(MODEL);
  const gen = new Generator(model, { maxBatch: 8, maxLen: 512 });
  let calls = 0;
  const counting = Object.create(gen) as Generator;
  counting.generateAll = (async (...a: Parameters<Generator['generateAll']>) => { calls++; return gen.generateAll(...a); }) as Generator['generateAll'];
  const o = { ...TTC_DEFAULTS, families: ['add'], difficulties: [1], n: 1, samples: 2, maxTokens: 40, budgets: [0], waits: [1], consDraws: 10 };
  // R1-Zero's template makes a prompt of ~100 tokens: a "Wait" cap of 450 + 24 answer tokens does not fit in 512
  await assert.rejects(measureTestTimeCompute(counting, tok, 'm', { ...o, template: 'r1zero', waitCap: 450 }), /--wait-cap 450 cannot fit: with the longest prompt \(\d+ tokens, template "r1zero"\) and 24 answer tokens, at most \d+ thinking tokens fit in the generator's 512 positions/);
  await assert.rejects(measureTestTimeCompute(counting, tok, 'm', { ...o, budgets: [0, 500], waits: [] }), /--budgets 500 cannot fit/);
  assert.equal(calls, 0, 'nothing was sampled');
});

test('tinyseek ttc end to end on the shipped model (tiny settings) with its reward model: JSON, Markdown, four SVGs, re-render', async () => {
  const model = loadModel(MODEL);
  model.eval();
  const tok = Tokenizer.fromDir(MODEL);
  const gen = new Generator(model, { maxBatch: 16, maxLen: 512 });
  const rm = LinearRewardModel.load(path.join(MODEL, 'reward-model.json'));
  const rep = await measureTestTimeCompute(gen, tok, 'tinyseek-r1-mini', { ...TTC_DEFAULTS, families: ['add'], difficulties: [1], n: 2, samples: 4, maxTokens: 120, budgets: [0, 8], waits: [1], waitCap: 200, consDraws: 50 }, () => {}, { model: rm, source: 'models/tinyseek-r1-mini/reward-model.json' });
  // best-of-N: k = 1 is a random pick (pass@1 on tasks); the RM's pick is never better than any-of-k
  const b = rep.bestOfN!;
  assert.deepEqual(b.k, [1, 2, 4]);
  assert.ok(Math.abs(b.task[0]! - rep.sampling.passAtK[0]!) < 1e-12);
  for (let i = 0; i < b.k.length; i++) {
    assert.ok(b.task[i]! <= rep.sampling.passAtK[b.k[i]! - 1]! + 1e-12);
    assert.ok(b.general.bestOfK[i]! <= b.general.anyOfK[i]! + 1e-12);
  }
  assert.equal(b.general.prompts, CATEGORIES.flatMap((c) => HELDOUT_GENERAL[c]).length);
  assert.ok(Math.abs(b.general.bestOfK[0]! - b.general.anyOfK[0]!) < 1e-12, 'k = 1: the pick is the sample');
  assert.equal(rep.problems, 2);
  assert.deepEqual(rep.sampling.k, [1, 2, 3, 4]);
  for (let i = 1; i < 4; i++) assert.ok(rep.sampling.passAtK[i] >= rep.sampling.passAtK[i - 1] - 1e-12, 'pass@k never falls with k');
  assert.equal(rep.budget.length, 3);
  assert.equal(rep.budget[0].meanThinking, 0);
  assert.equal(rep.budget[1].meanThinking, 8);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttc-'));
  const md = await writeTtcReport(rep, dir, 'tt', 'npx tinyseek ttc test');
  for (const f of ['tt.json', 'tt.md', 'tt-samples.svg', 'tt-budget.svg', 'tt-compute.svg', 'tt-best-of-n.svg']) assert.ok(fs.existsSync(path.join(dir, f)), f);
  const text = fs.readFileSync(md, 'utf8');
  assert.match(text, /\| pass@k % \|/);
  assert.match(text, /npx tinyseek ttc test/);
  assert.match(text, /## Best-of-N with the reward model[\s\S]*\| tasks: best-of-k accuracy % \|/);
  assert.match(fs.readFileSync(path.join(dir, 'tt-compute.svg'), 'utf8'), /<svg /);
  fs.rmSync(path.join(dir, 'tt.md'));
  assert.equal(await renderTtcReport(path.join(dir, 'tt.json')), path.join(dir, 'tt.md'));
  assert.equal(fs.readFileSync(path.join(dir, 'tt.md'), 'utf8'), text);
  // --compare: another model's report on the same problems is tabulated beside this one and drawn in the compute plot
  const other = { ...rep, model: 'other-model', sampling: { ...rep.sampling, passAtK: rep.sampling.passAtK.map(() => 0.125), meanThinking: 42.5 } };
  const compare = comparisonOf(rep, other, 'other.json');
  await writeTtcReport({ ...rep, compare }, dir, 'cmp', 'npx tinyseek ttc test --compare other.json');
  const cmd = fs.readFileSync(path.join(dir, 'cmp.md'), 'utf8');
  assert.match(cmd, /## Beside other-model/);
  assert.match(cmd, /\| pass@1 % \| [0-9.]+ \| 12\.5 \|/);
  assert.match(cmd, /\| mean thinking tokens per sample \| [0-9.]+ \| 42\.5 \|/);
  assert.match(fs.readFileSync(path.join(dir, 'cmp-compute.svg'), 'utf8'), /other-model: cons@k/);
  fs.rmSync(path.join(dir, 'cmp.md'));
  await renderTtcReport(path.join(dir, 'cmp.json'));
  assert.equal(fs.readFileSync(path.join(dir, 'cmp.md'), 'utf8'), cmd, 'the comparison renders from the JSON alone');
  assert.throws(() => comparisonOf(rep, { ...other, options: { ...rep.options, n: 3 } }, 'x.json'), /x\.json: measured on other problems or settings \(n: 3 there, 2 here\)/);
  assert.throws(() => comparisonOf(rep, { ...other, families: ['sub'] }, 'x.json'), /families: \["sub"\] there, \["add"\] here/);
  fs.rmSync(dir, { recursive: true });
});
