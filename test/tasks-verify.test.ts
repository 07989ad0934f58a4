// verify(): the R1-Zero format judged exactly, the last <answer> extracted, and the known reward
// hacks (empty answers, repeated tags, answers outside the tags, stuffed answers) scored as such.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractAnswer, getTask, isWellFormed, type Problem } from '../src/tasks/index.js';

const add = getTask('add');
const p: Problem = { ...add.generate(1, 1), meta: { a: 12, b: 30 }, answer: '42', prompt: 'Compute 12 + 30' };
const v = (completion: string) => add.verify(p, completion);

test('the canonical format is correct and well-formed; whitespace around parts is allowed', () => {
  assert.deepEqual(v('<think>\n2 + 0 = 2, 1 + 3 = 4\n</think> <answer>42</answer>'), { correct: true, formatOk: true, extracted: '42' });
  assert.deepEqual(v('  \n<think>x</think>\n\n<answer> 42 </answer>\n'), { correct: true, formatOk: true, extracted: ' 42 ' });
  assert.deepEqual(v('<think>x</think><answer>42</answer>'), { correct: true, formatOk: true, extracted: '42' });
});

test('a wrong answer in a good format: formatOk but not correct', () => {
  assert.deepEqual(v('<think>x</think> <answer>41</answer>'), { correct: false, formatOk: true, extracted: '41' });
});

test('empty answers and empty thinking are never rewarded', () => {
  assert.deepEqual(v('<think>x</think> <answer></answer>'), { correct: false, formatOk: false, extracted: '' });
  assert.deepEqual(v('<think>x</think> <answer>   </answer>'), { correct: false, formatOk: false, extracted: '   ' });
  assert.deepEqual(v('<think> </think> <answer>42</answer>'), { correct: true, formatOk: false, extracted: '42' });
});

test('repeated tags break the format; the LAST answer is the one scored', () => {
  assert.deepEqual(v('<think>x</think> <answer>41</answer> <answer>42</answer>'), { correct: true, formatOk: false, extracted: '42' });
  assert.deepEqual(v('<think>x</think> <answer>42</answer> <answer>41</answer>'), { correct: false, formatOk: false, extracted: '41' });
  assert.deepEqual(v('<think>x</think> <answer>42</answer></answer>'), { correct: true, formatOk: false, extracted: '42' }); // TinyZero#66
  assert.deepEqual(v('<think>x</think><think>y</think> <answer>42</answer>'), { correct: true, formatOk: false, extracted: '42' });
  assert.deepEqual(v('<think>x</think> <answer>42</answer><think>y</think>'), { correct: true, formatOk: false, extracted: '42' });
  assert.equal(v('<think>x<answer>1</answer></think> <answer>42</answer>').formatOk, false, 'an answer hidden in the thinking breaks the format');
});

test('answers outside the tags are not extracted', () => {
  assert.deepEqual(v('The answer is 42'), { correct: false, formatOk: false, extracted: null });
  assert.deepEqual(v('<think>12 + 30 = 42</think> 42'), { correct: false, formatOk: false, extracted: null });
  assert.deepEqual(v('<think>x</think> <answer>42'), { correct: false, formatOk: false, extracted: null }, 'unclosed answer');
  assert.deepEqual(v('<answer>42</answer>'), { correct: true, formatOk: false, extracted: '42' }, 'no thinking: correct but badly formatted');
});

test('text around the format, wrong order, or stuffed answers fail', () => {
  assert.equal(v('Sure! <think>x</think> <answer>42</answer>').formatOk, false);
  assert.equal(v('<think>x</think> <answer>42</answer> hope that helps').formatOk, false);
  assert.equal(v('<answer>42</answer> <think>x</think>').formatOk, false);
  assert.equal(v('<think>x</think> so <answer>42</answer>').formatOk, false);
  for (const stuffed of ['41 42 43', '41, 42', '42 or 43', 'about 42', '42 (probably)', '<answer>42']) {
    assert.equal(v(`<think>x</think> <answer>${stuffed}</answer>`).correct, false, stuffed);
  }
  assert.equal(v('<THINK>x</THINK> <ANSWER>42</ANSWER>').correct, false, 'tags are case-sensitive');
});

test('extractAnswer / isWellFormed directly', () => {
  assert.equal(extractAnswer('a <answer>1</answer> b <answer>2</answer> c'), '2');
  assert.equal(extractAnswer('<answer>\nmulti\nline\n</answer>'), '\nmulti\nline\n');
  assert.equal(extractAnswer(''), null);
  assert.ok(isWellFormed('<think>a</think><answer>b</answer>'));
  assert.ok(!isWellFormed(''));
});

test('every family is scored the same way on format (sort and countdown included)', () => {
  const sort = getTask('sort');
  const sp = sort.generate(3, 2);
  assert.deepEqual(sort.verify(sp, `<think>x</think> <answer>${sp.answer}</answer>`), { correct: true, formatOk: true, extracted: sp.answer });
  assert.equal(sort.verify(sp, `<think>x</think> <answer></answer>`).correct, false);
  const cd = getTask('countdown');
  const cp = cd.generate(3, 3);
  assert.equal(cd.verify(cp, `<think>x</think> <answer>${cp.answer} = ${cp.meta.target}</answer>`).correct, true);
  assert.equal(cd.verify(cp, `<think>x</think> <answer>${cp.meta.target}</answer>`).correct, false, 'the target alone is not an expression over the numbers');
  assert.equal(cd.verify(cp, `<think>x</think> ${cp.answer}`).correct, false);
});
