// Reward functions beyond the reward-hack cases in grpo.test.ts (found by mutation testing,
// docs/mutation.md): the default weights, the optional capped length bonus, and per-function scores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleProblem } from '../src/tasks/index.js';
import { rewardFunctions, scoreCompletions, lengthReward } from '../src/rl/rewards.js';
import type { CompletionInfo } from '../src/rl/rewards.js';

const p = sampleProblem('add', 2, 'train', 7);
const good = `<think>\nadd them\n</think> <answer>${p.answer}</answer>`;
const wrong = `<think>\nadd them\n</think> <answer>${Number(p.answer) + 1}</answer>`;
const info = (text: string, length = 10): CompletionInfo => ({ problem: p, text, length, truncated: false });

test('default rewards: accuracy weight 1 and format weight 0.5, no length bonus', () => {
  const fns = rewardFunctions();
  assert.deepEqual(fns.map((f) => [f.name, f.weight]), [['accuracy', 1], ['format', 0.5]]);
  const { total, perFn } = scoreCompletions(fns, [info(good), info(wrong), info('no tags')]);
  assert.deepEqual([...total], [1.5, 0.5, 0]);
  assert.deepEqual([...perFn.accuracy], [1, 0, 0]);
  assert.deepEqual([...perFn.format], [1, 1, 0]);
  assert.deepEqual(Object.keys(perFn), ['accuracy', 'format']);
});

test('the length bonus is min(1, tokens / target) for well-formed completions, 0 otherwise', () => {
  const fns = rewardFunctions({ accuracy: 2, format: 0, length: 0.25, lengthTarget: 40 });
  assert.deepEqual(fns.map((f) => [f.name, f.weight]), [['accuracy', 2], ['format', 0], ['length', 0.25]]);
  const { total, perFn } = scoreCompletions(fns, [info(good, 10), info(wrong, 80), info('no tags', 80)]);
  assert.deepEqual([...perFn.length], [0.25, 1, 0]);
  assert.deepEqual([...total], [2 + 0.25 * 0.25, 0.25, 0]);
  // its default target is 128 tokens
  const dflt = rewardFunctions({ length: 1 }).find((f) => f.name === 'length')!;
  assert.equal(dflt.fn(info(good, 64)), 0.5);
  assert.equal(lengthReward(10)(info(good, 5)), 0.5);
  assert.equal(lengthReward(10)(info(good, 50)), 1);
});
