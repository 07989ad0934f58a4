// Advantage edge cases beyond grpo.test.ts (found by mutation testing, docs/mutation.md): the
// default ε = 1e-4 and scaling, groups whose rewards all match, sample std of tiny inputs, and
// rewards that do not form groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupAdvantages, groupStd, meanStd } from '../src/rl/advantages.js';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('meanStd: sample (n − 1) std of a slice; 0 for fewer than two values; 0 mean for none', () => {
  const x = [9, 1, 2, 3, 9];
  const s = meanStd(x, 1, 3);
  close(s.mean, 2, 'mean of [1, 2, 3]');
  close(s.std, 1, 'sample std of [1, 2, 3]');
  assert.deepEqual(meanStd([5], 0, 1), { mean: 5, std: 0 });
  assert.deepEqual(meanStd([], 0, 0), { mean: 0, std: 0 });
  const all = meanStd([1, 2, 3, 4]);
  close(all.mean, 2.5, 'whole array');
  close(all.std, Math.sqrt(5 / 3), 'whole array');
  close(meanStd([1, 2, 3, 4], 2).std, Math.SQRT1_2, 'from an offset to the end');
});

test('group advantages with the default ε = 1e-4 and default group scaling', () => {
  const r = [1, 0, 3, 3];
  const a = groupAdvantages(r, 2);
  close(a[0], 0.5 / (Math.SQRT1_2 + 1e-4), 'above the mean');
  close(a[1], -0.5 / (Math.SQRT1_2 + 1e-4), 'below the mean');
  assert.deepEqual([a[2], a[3]], [0, 0], 'a group whose rewards all match teaches nothing');
  const b = groupAdvantages(r, 2, 'batch');
  const sd = meanStd(r).std;
  close(b[0], 0.5 / (sd + 1e-4), 'batch std with the default ε');
  close(b[1], -0.5 / (sd + 1e-4), 'batch std with the default ε');
  assert.deepEqual(Array.from(groupStd(r, 2)), [Math.SQRT1_2, 0]);
});

test('rewards that do not form whole groups are rejected', () => {
  assert.throws(() => groupAdvantages([1, 2, 3], 2), /^Error: advantages: 3 rewards do not form groups of 2$/);
  assert.throws(() => groupAdvantages([1, 2], 0), /advantages: 2 rewards do not form groups of 0/);
  assert.throws(() => groupAdvantages([1, 2], -1), /advantages: 2 rewards do not form groups of -1/);
  assert.deepEqual(Array.from(groupAdvantages([4], 1, 'none')), [0]);
  assert.deepEqual(Array.from(groupAdvantages([], 3)), []);
});
