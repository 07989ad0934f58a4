// The target language of the readability reward, word by word (found by mutation testing,
// docs/mutation.md): the connectives src/rl/r1/readability.ts promises a reasoner may use beside the
// worked solutions' words. Dropping one from the list would silently lower the reward of every step
// that uses it; each is checked in a step that is otherwise readable, and a word outside the list is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readableStep, targetVocabulary } from '../src/rl/r1/readability.js';

/** The connectives, as documented (R1 stage 2's "target language" for tinyseek's reasoning). */
const CONNECTIVES = [
  'a', 'an', 'the', 'so', 'then', 'now', 'next', 'first', 'second', 'finally', 'wait', 'check', 'checking',
  'again', 'let', 'me', 'we', 'i', 'it', 'is', 'are', 'was', 'be', 'this', 'that', 'gives', 'get', 'got',
  'equals', 'answer', 'result', 'total', 'sum', 'difference', 'product', 'remainder', 'step', 'correct',
  'yes', 'no', 'not', 'and', 'or', 'of', 'to', 'from', 'by', 'with', 'plus', 'minus', 'times', 'divided',
  'modulo', 'mod', 'number', 'numbers', 'digit', 'digits', 'question', 'asks', 'compute', 'what', 'which',
  'because', 'therefore', 'hence', 'right', 'left', 'in', 'on', 'at', 'for', 'x', 'each', 'all', 'one',
  'two',
];

test('every connective of the target language is in the vocabulary, and a step using it is readable', () => {
  const v = targetVocabulary();
  for (const w of CONNECTIVES) {
    assert.ok(v.has(w), `"${w}" is in the target vocabulary`);
    assert.ok(readableStep(`so ${w} 12 + 3 = 15`), `a step with "${w}" is readable`);
  }
  // a word in none of the worked solutions and not a connective
  assert.equal(v.has('banana'), false);
  assert.equal(readableStep('so banana 12 + 3 = 15'), false);
});
