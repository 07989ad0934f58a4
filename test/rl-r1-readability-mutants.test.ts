// The target language of the readability reward, word by word (found by mutation testing,
// docs/mutation.md): the connectives src/rl/r1/readability.ts promises a reasoner may use beside the
// worked solutions' words. Dropping one from the list would silently lower the reward of every step
// that uses it; each is checked in a step that is otherwise readable, and a word outside the list is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONNECTIVES as LISTED, readability, readableStep, targetVocabulary } from '../src/rl/r1/readability.js';
import { getTask, sampleProblem, streamSeed, taskNames } from '../src/tasks/index.js';

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

test('the worked solutions\' own words are the target language: every family\'s worked solution (problems the vocabulary never sampled) reads 1', () => {
  for (const family of taskNames()) {
    for (const d of getTask(family).difficulties) {
      for (let i = 0; i < 1; i++) {
        const p = sampleProblem(family, d, 'test', streamSeed('test', 99, family, d, i));
        assert.equal(readability(getTask(family).work(p).trace), 1, `${family} d${d} #${i}`);
      }
    }
  }
  assert.ok(targetVocabulary().has('column') && targetVocabulary().has('carry'), 'words of the addition walkthrough');
});

test('rule 1 on its own: length, alphabet; a step is trimmed before it is compared with the one before', () => {
  const ok = '12 + 3 = 15';
  assert.equal(readableStep(ok), true);
  const long = `so ${'1'.repeat(118)}`;
  assert.equal(long.length, 121);
  assert.equal(readableStep(long.slice(0, 120)), true, 'exactly 120 characters');
  assert.equal(readableStep(long), false, '121 characters');
  assert.equal(readableStep('12 + 3 = 15 @'), false, 'a character outside the alphabet');
  assert.equal(readableStep('@ 12 + 3 = 15'), false, 'a character outside the alphabet, at the start');
  assert.equal(readableStep(`  ${ok}  `, ok), false, 'a copy of the step before, up to surrounding spaces');
  assert.equal(readableStep(`  ${ok}`, `${ok}  `), false);
});

test('rule 3 counts numbers whole: 555 is one number, not a digit repeated three times', () => {
  assert.equal(readableStep('so 555 + 1 = 556'), true);
  assert.equal(readableStep('so 5 5 5 + 1'), false);
});

test('the source lists only connectives the worked solutions lack: every documented word is either listed or a solution word, never both', () => {
  const worked = new Set<string>();
  for (const family of taskNames()) {
    const task = getTask(family);
    for (const d of task.difficulties) {
      for (let i = 0; i < 12; i++) {
        const p = sampleProblem(family, d, 'train', streamSeed('train', 7, family, d, i));
        for (const w of task.work(p).trace.toLowerCase().match(/[a-z]+/g) ?? []) worked.add(w);
      }
    }
  }
  assert.deepEqual(LISTED.filter((w) => worked.has(w)), [], 'listed words the solutions already use');
  assert.deepEqual(CONNECTIVES.filter((w) => !worked.has(w) && !LISTED.includes(w)), [], 'documented words neither listed nor in the solutions');
});
