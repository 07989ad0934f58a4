// The behaviour curves' counting rules (src/rl/behaviour.ts), at their edges: every spelling of R1's
// re-check words, where the thinking starts and ends, which lines count as a column step or a tried
// candidate, which logged records are read, and the step order of the curves.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { behaviourCurves, thinkingCounts, thinkingOf } from '../src/rl/behaviour.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-behaviour-mut-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the re-check words in each spelling, whole words only', () => {
  for (const w of ['wait', 'Wait', 'verify', 'verified', 'verification', 'check', 'checking', 'double-check', 're-check', 'recheck', 're-evaluate', 'reevaluate']) {
    assert.equal(thinkingCounts(`<think>so ${w} it</think>`).recheckWords, 1, w);
  }
  for (const w of ['waiter', 'checks', 'checked', 'rechecking', 'evaluate']) assert.equal(thinkingCounts(`<think>so ${w} it</think>`).recheckWords, 0, w);
});

test('the thinking: inside <think> (to the end if unclosed), else before <answer>, else everything', () => {
  assert.equal(thinkingOf('<think>a b</think> c'), 'a b');
  assert.equal(thinkingOf('x <think>a b'), 'a b');
  assert.equal(thinkingOf('a b <answer>5</answer>'), 'a b ');
  assert.equal(thinkingOf('<answer>5</answer>'), '', 'an answer at the very start: no thinking');
  assert.equal(thinkingOf('abc'), 'abc', 'no tags: all of it, to the last character');
  assert.equal(thinkingCounts('<think>\n  ab \n</think>').chars, 2, 'characters of the trimmed thinking');
});

test('column steps and tries: a line that starts with them (after spaces), any number of digits', () => {
  const c = thinkingCounts('<think>column 1: 3 + 8 = 11\n  column 12: 1 + 1 = 2\n\tcolumn 2: 0 + 0 = 0\nxcolumn 3: no\nsee column 4: no\ntry 9 * 9 = 81: dead end\n   try 2 + 2\n try 4\nretry 5\nwe try 3\n</think>');
  assert.equal(c.columnSteps, 3);
  assert.equal(c.tries, 3);
  assert.equal(c.deadEnds, 1);
});

test('curves: only records with a numeric step and a string completion, without a family filter every family, steps in numeric order, a missing reward counts as wrong', () => {
  const file = path.join(dir, 'completions.jsonl');
  const rows = [
    { step: 10, completion: '<think>column 1: 1 + 1 = 2</think>', tokens: 4, rewards: { accuracy: 1 }, family: 'add' },
    { step: 9, completion: '<think>try 1</think>', tokens: 6, family: 'countdown' },
    { step: 2, completion: 'x', tokens: 2, rewards: { accuracy: 0 }, family: 'sort' },
    { step: '2', completion: 'skipped: the step is a string', tokens: 100 },
    { step: 2, tokens: 100 },
    { step: 2, completion: 7, tokens: 100 },
    { step: 10, completion: 'no family logged', tokens: 8 },
  ];
  fs.writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n\n   \n{"step": 2, "compl`);
  const c = behaviourCurves(file);
  assert.deepEqual(c.step, [2, 9, 10]);
  assert.deepEqual(c.tokens, [2, 6, 6]);
  assert.deepEqual(c.n, [1, 1, 2]);
  assert.deepEqual(c.accuracy, [0, 0, 0.5]);
  assert.deepEqual(c.column_steps, [0, 0, 0.5]);
  assert.deepEqual(c.tries, [0, 1, 0]);
  // a family filter keeps the records that name no family
  const f = behaviourCurves(file, ['add', 'sort']);
  assert.deepEqual([f.step, f.n], [[2, 10], [1, 2]]);
  assert.deepEqual(behaviourCurves(file, ['sort']).n, [1, 1]);
});
