// The R1 summary's one-line rule (found by mutation testing, docs/mutation.md): "The answer is X."
// must be one line; a line break anywhere in it (even one the pattern's \s would accept) rejects it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getTask } from '../src/tasks/index.js';
import { summaryAnswer, r1FormatOk, r1Verify } from '../src/rl/r1/format.js';

test('a summary broken over lines has no answer, even where the break sits in the pattern\'s whitespace', () => {
  assert.equal(summaryAnswer('The answer is 42.'), '42');
  assert.equal(summaryAnswer('The answer is\n42.'), null);
  assert.equal(summaryAnswer('The answer is \n 42'), null);
  assert.equal(summaryAnswer('The answer is 42\n.'), null);
  const p = getTask('add').generate(1, 1); // 92 + 58 = 150
  assert.equal(r1Verify(p, 'step\n</think>\n\nThe answer is 150.').correct, true);
  assert.equal(r1FormatOk('step\n</think>\n\nThe answer is\n150.'), false);
  assert.equal(r1Verify(p, 'step\n</think>\n\nThe answer is\n150.').correct, false);
});
