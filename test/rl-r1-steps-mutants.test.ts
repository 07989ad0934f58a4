// The step check of rejection sampling (src/rl/r1/steps.ts): arithmetic claims in reasoning text are
// found and evaluated with the usual precedence; a false one drops the trace (wrongStep), a true one,
// an unparsed one (parentheses) or a plain assignment never does — and no worked solution the tasks
// write for themselves is ever flagged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalArithmetic, falseSteps } from '../src/rl/r1/steps.js';
import { filterTraces } from '../src/rl/r1/rejection.js';
import type { Trace } from '../src/rl/r1/rejection.js';
import { getTask, taskNames } from '../src/tasks/index.js';

test('evalArithmetic: * / mod before + −, left to right; signs; division by zero and malformed input give null', () => {
  assert.equal(evalArithmetic('3 + 4 * 2 - 6 / 3'), 9);
  assert.equal(evalArithmetic('10 - 3 - 2'), 5, 'left to right, not 10 − (3 − 2)');
  assert.equal(evalArithmetic('2 * 3 * 4'), 24);
  assert.equal(evalArithmetic('20 / 2 / 5'), 2);
  assert.equal(evalArithmetic('389 mod 5'), 4);
  assert.equal(evalArithmetic('-5 mod 3'), 1, 'mod is non-negative, as the task defines it');
  assert.equal(evalArithmetic('7 - -3'), 10);
  assert.equal(evalArithmetic('-4 + 1'), -3);
  assert.equal(evalArithmetic('1-2'), -1, 'a minus between numbers is subtraction, not a sign');
  assert.equal(evalArithmetic('6 × 7 ÷ 3'), 14);
  assert.equal(evalArithmetic('42'), 42);
  assert.equal(evalArithmetic('5 / 0'), null);
  assert.equal(evalArithmetic('5 mod 0'), null);
  assert.equal(evalArithmetic('5 +'), null);
  assert.equal(evalArithmetic(''), null);
  assert.equal(evalArithmetic('3 * +2'), 6, 'a "+" where a number is expected is a sign that keeps it positive');
  assert.equal(evalArithmetic('3 * -2'), -6);
});

test('falseSteps: claims without spaces around the operators, and a division by zero on either side', () => {
  assert.deepEqual(falseSteps('so 10-3 = 8 and 7*3 = 20 but 4+4 = 8'), ['10-3 = 8', '7*3 = 20']);
  assert.deepEqual(falseSteps('5 / 0 = 0'), ['5 / 0 = 0'], 'a claim that divides by zero is false even when the other side is 0');
  assert.deepEqual(falseSteps('0 = 5 / 0'), ['0 = 5 / 0']);
  assert.deepEqual(falseSteps('0 mod 0 = 0'), ['0 mod 0 = 0']);
});

test('falseSteps: finds the false claims in order, either side may be the expression; leaves true, parenthesized and plain ones alone', () => {
  const text = 'column 1: 8 + 4 = 12, write 2, carry 1\ncolumn 2: 9 + 0 + 9 = 10, write 0\n389 = 175 * 5 + 4, so 389 mod 5 = 4\n16 - 4 = 2';
  assert.deepEqual(falseSteps(text), ['9 + 0 + 9 = 10', '389 = 175 * 5 + 4', '16 - 4 = 2']);
  for (const ok of ['94 + 8 = 102', '389 = 77 * 5 + 4', '389 mod 5 = 4', '7 - 10 = -3', '12 / 4 = 3', 'try 23 - 5 = 18: reached 18', 'x = 5', 'carry = 1', '12 = 12', '3 + 4 * 2 = 11']) {
    assert.deepEqual(falseSteps(ok), [], ok);
  }
  for (const unparsed of ['(3 + 5) * 2 = 17', '2 * (3 + 5) = 17', '17 = (3 + 5) * 2', '3 + 5) * 2 = 17']) assert.deepEqual(falseSteps(unparsed), [], `${unparsed}: not checked`);
  assert.deepEqual(falseSteps('12 / 0 = 3'), ['12 / 0 = 3']);
  assert.deepEqual(falseSteps('1.5 + 2 = 3.5'), [], 'decimals are not integers: not checked');
  assert.deepEqual(falseSteps('a 2 + 2 = 5 b 3 + 3 = 6'), ['2 + 2 = 5']);
});

test('no worked solution of any task family, at any difficulty, states a false step', () => {
  for (const name of taskNames()) {
    const task = getTask(name);
    for (const d of [1, 2, 3]) {
      for (let i = 0; i < 60; i++) {
        const p = task.generate(1000 * d + i, d);
        const w = task.work(p).trace;
        assert.deepEqual(falseSteps(w), [], `${name} d${d} #${i}: ${p.prompt}\n${w}`);
      }
    }
  }
});

test('filterTraces drops a correct answer reached through a false step (wrongStep), after the readability check; checkSteps false keeps it', () => {
  const p = getTask('add').generate(1, 1);
  const steps = getTask('add').work(p).trace;
  const ans = `The answer is ${p.answer}.`;
  const trace = (thinking: string): Trace => ({ problem: p, messages: [{ role: 'user', content: p.prompt }], completion: `${thinking}\n</think>\n\n${ans}`, tokens: 30, truncated: false, source: 'policy' });
  const limits = { minReadability: 1, maxTokens: 200, maxSummaryChars: 80 };
  const m = steps.match(/(\d+) \+ (\d+) = (\d+)/)!;
  const wrong = steps.replace(m[0], `${m[1]} + ${m[2]} = ${Number(m[3]) + 1}`);
  assert.notEqual(wrong, steps);
  const r = filterTraces([trace(steps), trace(wrong)], limits);
  assert.deepEqual(r.stats, { input: 2, kept: 1, incorrect: 0, mixed: 0, overlong: 0, unreadable: 0, wrongStep: 1, duplicate: 0 });
  assert.equal(r.kept[0]!.completion, trace(steps).completion);
  assert.equal(filterTraces([trace(wrong)], { ...limits, checkSteps: false }).stats.kept, 1);
  assert.equal(filterTraces([trace(wrong)], { ...limits, checkSteps: true }).stats.wrongStep, 1);
});

test('falseSteps: the comparisons a subtraction states are claims ("63 is less than 36" is false), merged in order with the equations', () => {
  assert.deepEqual(falseSteps('63 is less than 36, so compute 36 - 63 and make it negative'), ['63 is less than 36']);
  assert.deepEqual(falseSteps('15 is at least 97, so subtract column by column from the right'), ['15 is at least 97']);
  for (const ok of ['21 is less than 56, so', '97 is at least 15, so', '40 is at least 40, so', '-3 is less than 2', '7 is less than 10']) assert.deepEqual(falseSteps(ok), [], ok);
  assert.deepEqual(falseSteps('40 is less than 40'), ['40 is less than 40'], 'equal operands: "less than" is false');
  assert.deepEqual(falseSteps('1 + 1 = 3\n9 is less than 2\n2 + 2 = 5'), ['1 + 1 = 3', '9 is less than 2', '2 + 2 = 5'], 'in position order');
  assert.deepEqual(falseSteps('12.5 is less than 3'), [], 'a decimal is not read as its integer tail');
});

test('sub worked solutions name both operands on the first line, whichever is larger, and the comparison is true', () => {
  const sub = getTask('sub');
  for (const [a, b, first] of [[97, 15, '97 is at least 15, so subtract column by column from the right'], [40, 40, '40 is at least 40, so subtract column by column from the right'], [21, 56, '21 is less than 56, so compute 56 - 21 and make it negative']] as const) {
    const w = sub.work({ family: 'sub', difficulty: 1, seed: 0, prompt: `Compute ${a} - ${b}`, answer: String(a - b), meta: { a, b } });
    assert.equal(w.trace.split('\n')[0], first);
    assert.equal(w.answer, String(a - b));
    assert.deepEqual(falseSteps(w.trace), []);
  }
});
