// Rejection sampling's filters and R1-Zero cleaning case by case (found by mutation testing,
// docs/mutation.md): each reason for dropping a trace on a trace that has only that fault, the
// boundaries of the length and readability limits (a trace exactly at a limit is kept), the order in
// which reasons are counted, and the rewrite of a verified R1-Zero completion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getTask } from '../src/tasks/index.js';
import { cleanR1Zero, filterTraces } from '../src/rl/r1/rejection.js';
import type { Trace } from '../src/rl/r1/rejection.js';
import { readability } from '../src/rl/r1/readability.js';

const p = getTask('add').generate(1, 1); // Compute 92 + 58 = 150
const steps = getTask('add').work(p).trace;
const good = `${steps}\n</think>\n\nThe answer is 150.`;
const trace = (completion: string, o: Partial<Trace> = {}): Trace => ({ problem: p, messages: [{ role: 'user', content: p.prompt }], completion, tokens: 30, truncated: false, source: 'policy', ...o });
const LIMITS = { minReadability: 1, maxTokens: 30, maxSummaryChars: 'The answer is 150.'.length };

test('filterTraces: each limit is inclusive (a trace exactly at it is kept), one past it is dropped as overlong', () => {
  assert.equal(readability(steps), 1);
  assert.deepEqual(filterTraces([trace(good)], LIMITS).stats, { input: 1, kept: 1, incorrect: 0, mixed: 0, overlong: 0, unreadable: 0, duplicate: 0 });
  assert.equal(filterTraces([trace(good, { tokens: 31 })], LIMITS).stats.overlong, 1);
  assert.equal(filterTraces([trace(good)], { ...LIMITS, maxSummaryChars: LIMITS.maxSummaryChars - 1 }).stats.overlong, 1);
  assert.equal(filterTraces([trace(good, { truncated: true })], LIMITS).stats.overlong, 1);
  // readability exactly at the threshold is kept; just above it, dropped
  const half = `colmun wrte\n92 + 58 = 150\n</think>\n\nThe answer is 150.`;
  const r = readability('colmun wrte\n92 + 58 = 150');
  assert.equal(r, 0.5);
  assert.equal(filterTraces([trace(half)], { ...LIMITS, minReadability: r }).stats.kept, 1);
  assert.equal(filterTraces([trace(half)], { ...LIMITS, minReadability: r + 1e-9 }).stats.unreadable, 1);
});

test('filterTraces: the first reason that applies is the one counted (incorrect before overlong before unreadable before duplicate)', () => {
  const bad = `colmun wrte\n</think>\n\nThe answer is 151.`;
  // wrong, truncated and unreadable: incorrect
  assert.equal(filterTraces([trace(bad, { truncated: true })], LIMITS).stats.incorrect, 1);
  // right, truncated and unreadable: overlong
  assert.deepEqual(filterTraces([trace(bad.replace('151', '150'), { truncated: true })], LIMITS).stats, { input: 1, kept: 0, incorrect: 0, mixed: 0, overlong: 1, unreadable: 0, duplicate: 0 });
  // a dropped trace is not remembered for the duplicate check: a later readable copy… differs in text, so
  // check instead that an unreadable first copy does not make the second a duplicate
  const u = trace(bad.replace('151', '150'));
  const s = filterTraces([u, u], { ...LIMITS, minReadability: 0 }).stats;
  assert.deepEqual([s.kept, s.duplicate], [1, 1]);
  const t = filterTraces([u, u], LIMITS).stats;
  assert.deepEqual([t.kept, t.unreadable, t.duplicate], [0, 2, 0]);
  // the same completion for another conversation is not a duplicate; whitespace differences are
  const other = trace(good, { messages: [{ role: 'user', content: 'What is 92 + 58?' }] });
  const spaced = trace(good.replace('\n</think>', '   \n\n</think>'));
  const d = filterTraces([trace(good), other, spaced], LIMITS);
  assert.deepEqual([d.stats.kept, d.stats.duplicate], [2, 1]);
  assert.deepEqual(d.kept.map((x) => x.messages[0]!.content), [p.prompt, 'What is 92 + 58?']);
});

test('filterTraces: foreign markup counts as mixed only in a closed response; an unclosed one with it is incorrect', () => {
  const s = filterTraces([
    trace(`${steps}\n</think>\n\n<answer>150</answer>`), //             tags in the summary: mixed
    trace(`${steps}\nUser: hi\n</think>\n\nThe answer is 150.`), //     chat marker in the reasoning: mixed
    trace(`${steps}\n<answer>150</answer>`), //                          never closed: incorrect
    trace(`${steps}\n</think>\nx</think>\n\nThe answer is 150.`), //   two closings (not closed): incorrect
    trace(`${steps}\n</think>\n\nThe answer is 150`), //                 no period: still correct, kept
  ], LIMITS).stats;
  assert.deepEqual(s, { input: 5, kept: 1, incorrect: 2, mixed: 2, overlong: 0, unreadable: 0, duplicate: 0 });
});

test('cleanR1Zero: a verified R1-Zero completion becomes reasoning (lines trimmed, blanks dropped) + "The answer is X."; anything else is null', () => {
  const z = trace('<think>  first step \n\n   second step\n</think> <answer> 150 </answer>', { source: 'r1zero', tokens: 17 });
  const c = cleanR1Zero(z)!;
  assert.equal(c.completion, 'first step\nsecond step\n</think>\n\nThe answer is 150.');
  assert.deepEqual({ ...c, completion: '' }, { ...z, completion: '' }, 'everything else carried over');
  assert.equal(cleanR1Zero(trace('<think> s </think> <answer> 151 </answer>')), null, 'wrong answer');
  assert.equal(cleanR1Zero(trace('<think> s </think> 150')), null, 'no answer tags');
  assert.equal(cleanR1Zero(trace('150')), null);
});
