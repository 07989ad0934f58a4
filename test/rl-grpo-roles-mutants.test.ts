// The GRPO roles' small pieces against hand computations (found by mutation testing, docs/mutation.md):
// a step's metrics record (TRL's names) on groups worked out by hand, the reward role's EOS stripping,
// truncation flags, per-function slices and DAPO's soft overlong punishment, and the prompt sampler's
// group keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noSignalNote, stepRecord } from '../src/rl/step-metrics.js';
import type { UpdateStats } from '../src/rl/learner.js';
import { score, softOverlongPenalty, rewardSpec, ruleScorer } from '../src/rl/reward.js';
import type { ScoredGroup, Scorer } from '../src/rl/reward.js';
import type { SampledGroup } from '../src/rl/rollout.js';
import type { CompletionInfo } from '../src/rl/rewards.js';
import { PromptSampler } from '../src/rl/prompts.js';
import { parseGrpoRecipe } from '../src/rl/config.js';
import { sampleProblem } from '../src/tasks/index.js';
import type { Problem } from '../src/tasks/index.js';

const problem: Problem = sampleProblem('add', 1, 'train', 1);
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

/** A scored group with completions of the given lengths (tokens 1, 2, …). */
function group(rewards: number[], lengths: number[], truncated: boolean[], perFn: Record<string, number[]>, index = 0): ScoredGroup {
  return {
    problem, prompt: [7, 8], step: 0, attempt: 0, index, version: 0,
    completions: lengths.map((n) => ({ tokens: Array.from({ length: n }, (_, i) => i + 1), logprobs: new Array<number>(n).fill(-1), finishReason: 'length' as const })),
    rewards, truncated, perFn,
  };
}

const STATS: UpdateStats = { loss: 0.25, clipLow: 0.125, clipHigh: 0.0625, kl: 0.01, entropy: 1.5, gradNorm: 3, lr: 0.001 };

test('stepRecord: a step\'s metrics by hand (two sampled groups, one used, two reward functions)', () => {
  const a = group([1, 0, 0.5], [3, 5, 7], [false, true, true], { accuracy: [1, 0, 0], format: [0.5, 0.5, 1] });
  const b = group([2, 2, 2], [4, 4, 1], [false, false, false], { accuracy: [1, 1, 1], format: [1, 1, 1] }, 1);
  const rec = stepRecord(4, { sampled: [a, b], used: [a], stats: STATS, rewardNames: ['accuracy', 'format'], stepSeconds: 2.5, generationTokensPerS: 40, elapsedMinutes: 0.75 });
  // rewards 1, 0, 0.5, 2, 2, 2: mean 7.5/6 = 1.25; squared deviations 0.0625 + 1.5625 + 0.5625 + 3·0.5625 = 3.875; sample var 3.875/5
  const want: Record<string, number> = {
    step: 5, loss: 0.25, reward: 1.25, reward_std: Math.sqrt(3.875 / 5),
    frac_reward_zero_std: 0.5, // group b's rewards are all equal, a's are not
    'completions/mean_length': 24 / 6, 'completions/min_length': 1, 'completions/max_length': 7,
    'completions/clipped_ratio': 2 / 6,
    kl: 0.01, entropy: 1.5, 'clip_ratio/low_mean': 0.125, 'clip_ratio/high_mean': 0.0625, 'clip_ratio/region_mean': 0.1875,
    grad_norm: 3, lr: 0.001, num_groups_used: 1, step_time: 2.5, generation_tokens_per_s: 40, elapsed_minutes: 0.75,
    // accuracy 1, 0, 0, 1, 1, 1: mean 4/6, deviations² 2·(1/9) + 4·(1/9)·… by hand: (1/3)²·4 + (2/3)²·2 = 4/9 + 8/9 = 12/9; var 12/9/5
    'rewards/accuracy/mean': 4 / 6, 'rewards/accuracy/std': Math.sqrt(12 / 9 / 5),
    // format 0.5, 0.5, 1, 1, 1, 1: mean 5/6; deviations² 2·(1/3)² + 4·(1/6)² = 2/9 + 1/9 = 1/3; var 1/15
    'rewards/format/mean': 5 / 6, 'rewards/format/std': Math.sqrt(1 / 15),
  };
  assert.deepEqual(Object.keys(rec).sort(), Object.keys(want).sort());
  for (const [k, v] of Object.entries(want)) close(rec[k], v, k);
});

test('stepRecord of a step that sampled nothing: zeros, not NaN or ±Infinity', () => {
  const rec = stepRecord(0, { sampled: [], used: [], stats: { ...STATS, loss: 0 }, rewardNames: ['accuracy'], stepSeconds: 1, generationTokensPerS: 0, elapsedMinutes: 0 });
  for (const k of ['frac_reward_zero_std', 'completions/min_length', 'completions/max_length', 'completions/clipped_ratio', 'reward', 'completions/mean_length', 'num_groups_used']) {
    assert.equal(rec[k], 0, k);
  }
  assert.equal(rec.step, 1);
});

test('DAPO soft overlong punishment by hand: 0 → −1 over the last `cache` tokens of the budget', () => {
  // budget 10, cache 4: lengths ≤ 6 unpunished; 7 → −1/4, 8 → −2/4, 10 → −1, 12 → −1 (capped)
  assert.equal(softOverlongPenalty(6, 10, 4), null);
  assert.equal(softOverlongPenalty(5, 10, 4), null);
  assert.equal(softOverlongPenalty(7, 10, 4), -0.25);
  assert.equal(softOverlongPenalty(8, 10, 4), -0.5);
  assert.equal(softOverlongPenalty(10, 10, 4), -1);
  assert.equal(softOverlongPenalty(12, 10, 4), -1);
  // no cache: only lengths beyond the budget, at −1 per token over it (capped at −1)
  assert.equal(softOverlongPenalty(10, 10, 0), null);
  assert.equal(softOverlongPenalty(11, 10, 0), -1);
});

/** A sampled group whose completions have the given tokens and finish reasons. */
function sampled(comps: [number[], 'stop' | 'length'][], index: number): SampledGroup {
  return { problem, prompt: [5], step: 3, attempt: 1, index, version: 3, completions: comps.map(([tokens, finishReason]) => ({ tokens, logprobs: tokens.map(() => -0.5), finishReason })) };
}

test('score: EOS dropped only from a completion that stopped on it, truncation flags, weighted totals, per-function values sliced by group, soft overlong penalty', () => {
  const EOS = 9;
  const seen: CompletionInfo[] = [];
  const fns = [
    { name: 'len', weight: 2, fn: (i: CompletionInfo) => { seen.push(i); return i.text.length; } },
    { name: 'nines', weight: -1, fn: (i: CompletionInfo) => (i.text.match(/9/g) ?? []).length },
  ];
  const groups = [
    sampled([[[1, 2, EOS], 'stop'], [[1, 9, 2, 3, 4, 5], 'length']], 0),
    sampled([[[3, EOS], 'length'], [[4, 4, 4, EOS], 'stop'], [[2], 'stop']], 1),
  ];
  const decode = (ids: number[]) => ids.join('');
  const base = { rewards: { accuracy: 1, format: 0.5, length: 0, lengthTarget: 128 }, maxCompletionLength: 6, overlongCache: 3 };
  const s: Scorer = { fns, spec: { ...base, overlong: 'none' }, decode, eosId: EOS };
  const out = score(groups, s);
  // texts: '12' (EOS stripped), '192345' (truncated, kept whole), '39' (hit the limit on EOS: kept), '444', '2'
  assert.deepEqual(seen.map((i) => [i.text, i.length, i.truncated]), [['12', 3, false], ['192345', 6, true], ['39', 2, true], ['444', 4, false], ['2', 1, false]]);
  assert.deepEqual(out.map((g) => g.truncated), [[false, true], [true, false, false]]);
  assert.deepEqual(out.map((g) => g.perFn), [{ len: [2, 6], nines: [0, 1] }, { len: [2, 3, 1], nines: [1, 0, 0] }]);
  assert.deepEqual(out.map((g) => g.rewards), [[4, 11], [3, 6, 2]]);
  assert.deepEqual(out.map((g) => [g.index, g.step, g.attempt, g.version, g.completions.length]), [[0, 3, 1, 3, 2], [1, 3, 1, 3, 3]]);
  // soft: budget 6, cache 3 → lengths 4, 5, 6 get −1/3, −2/3, −1
  const soft = score(groups, { ...s, spec: { ...base, overlong: 'soft' } });
  const want = [[4, 11 - 1], [3, 6 - 1 / 3, 2]];
  soft.forEach((g, i) => g.rewards.forEach((r, j) => close(r, want[i][j], `soft reward ${i}.${j}`)));
  // 'mask' leaves the rewards alone (the learner masks the tokens)
  assert.deepEqual(score(groups, { ...s, spec: { ...base, overlong: 'mask' } }).map((g) => g.rewards), [[4, 11], [3, 6, 2]]);
});

test('rewardSpec and ruleScorer carry the recipe\'s reward weights and overlong settings', () => {
  const r = parseGrpoRecipe({ name: 'x', init: '/nonexistent', tasks: { families: ['add'], difficulties: [1] }, steps: 1, overlong: 'soft', overlongCache: 5, maxCompletionLength: 40, rewards: { accuracy: 2, format: 0.25, length: 0.5, lengthTarget: 10 } });
  const spec = rewardSpec(r);
  assert.deepEqual(spec, { rewards: { accuracy: 2, format: 0.25, length: 0.5, lengthTarget: 10 }, overlong: 'soft', overlongCache: 5, maxCompletionLength: 40 });
  const sc = ruleScorer(spec, (ids) => ids.join(','), 3);
  assert.deepEqual(sc.fns.map((f) => [f.name, f.weight]), [['accuracy', 2], ['format', 0.25], ['length', 0.5]]);
  assert.equal(sc.eosId, 3);
  assert.equal(sc.decode([1, 2]), '1,2');
});

test('PromptSampler: groups keyed by (step, attempt, index), prompts encoded, problems from the recipe\'s families and difficulties, seeded', () => {
  const r = parseGrpoRecipe({ name: 'x', seed: 4, init: '/nonexistent', tasks: { families: ['add', 'sort'], difficulties: [1, 2] }, steps: 1 });
  const enc = (p: Problem) => [p.prompt.length, 1];
  const a = new PromptSampler(r, enc), b = new PromptSampler(r, enc);
  const ga = a.next(5, 2, 6);
  assert.deepEqual(ga.map((g) => [g.step, g.attempt, g.index]), [0, 1, 2, 3, 4, 5].map((i) => [5, 2, i]));
  for (const g of ga) {
    assert.deepEqual(g.prompt, [g.problem.prompt.length, 1]);
    assert.ok(['add', 'sort'].includes(g.problem.family), g.problem.family);
  }
  assert.deepEqual(b.next(5, 2, 6).map((g) => g.problem), ga.map((g) => g.problem), 'same seed, same problems');
  const later = a.next(5, 2, 6).map((g) => g.problem);
  assert.notDeepEqual(later, ga.map((g) => g.problem), 'the generator moves on');
  // over many draws, both families appear
  const fams = new Set(a.next(0, 0, 40).map((g) => g.problem.family));
  assert.deepEqual([...fams].sort(), ['add', 'sort']);
  // a caller's draw replaces the recipe's problems and receives the sampler's generator
  const rngs: unknown[] = [];
  const c: PromptSampler = new PromptSampler(r, enc, (rng, n): Problem[] => { rngs.push(rng); return Array.from({ length: n }, () => problem); });
  assert.deepEqual(c.next(1, 0, 2).map((g) => [g.problem, g.index]), [[problem, 0], [problem, 1]]);
  assert.equal(rngs[0], c.rng);
});

test('noSignalNote: no groups, or groups without completions, read "no signal" without a reward value', () => {
  assert.equal(noSignalNote([]), 'no signal: all 0 groups had equal rewards');
  assert.equal(noSignalNote([[]]), 'no signal: the only group had equal rewards');
  assert.equal(noSignalNote([[0.5, 0.5], [0.5, 0.5]]), 'no signal: all 2 groups had equal rewards (every reward 0.5)');
  assert.equal(noSignalNote([[0.5, 0.5], [1, 1]]), 'no signal: all 2 groups had equal rewards');
  assert.equal(noSignalNote([[0.5, 0.5], [1, 0]]), undefined);
});
