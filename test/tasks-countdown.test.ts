// The Countdown verifier: its own tokenizer and recursive-descent parser (never eval), exact
// rational arithmetic, each number used at most once, and every malformed input rejected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkCountdown, evaluate, getTask, parseExpression } from '../src/tasks/index.js';

const NUMS = [3, 7, 25, 50];
const ok = (expr: string, target: number, numbers = NUMS): boolean => checkCountdown(numbers, target, expr);

test('valid expressions over the given numbers reach the target', () => {
  assert.ok(ok('50 + 25 + 7 - 3', 79));
  assert.ok(ok('(50 + 25) * 3', 225));
  assert.equal(ok('50 * 3 / (25 - 7)', 8), false, '150 / 18 is not 8');
  assert.ok(ok('((50))', 50), 'redundant parentheses are fine');
  assert.ok(ok('  50+25  ', 75), 'whitespace is optional');
  assert.ok(ok('50 + 25 = 75', 75), 'a trailing "= target" is allowed');
  assert.ok(ok('3', 3), 'a single given number is an expression');
});

test('exact rational arithmetic: 7 / 2 * 2 = 7, and 50 / 3 * 3 = 50', () => {
  assert.ok(ok('7 / 2 * 2', 7, [7, 2, 2]));
  assert.ok(ok('50 / 3 * 3', 50, [50, 3, 3]));
  assert.ok(ok('(7 / 2 + 25 / 2) * 3', 48, [7, 2, 25, 2, 3]));
  assert.ok(ok('25 / 2 * 2 + 7 / 2 * 2', 32, [25, 2, 2, 7, 2, 2]));
  const r = parseExpression('1 / 3 + 1 / 6');
  assert.ok(r.ok);
  assert.deepEqual(evaluate(r.expr), { num: 1n, den: 2n });
});

test('unicode operators × ÷ − (and · –) are accepted', () => {
  assert.ok(ok('(50 − 25) × 3', 75));
  assert.ok(ok('50 ÷ 25 × 7', 14));
  assert.ok(ok('50 – 7 · 3', 29));
});

test('unbalanced or malformed expressions are rejected', () => {
  for (const bad of ['(50 + 25', '50 + 25)', '((50 + 25)', '50 +', '+ 50', '50 25', '()', '', ' ', '50 + * 25', '50 ** 2', '(50)(25)', '50 + (25', ')50(']) {
    assert.equal(parseExpression(bad).ok, false, JSON.stringify(bad));
    assert.equal(ok(bad, 75), false, JSON.stringify(bad));
  }
  const r = parseExpression('(50 + 25');
  assert.ok(!r.ok && /expected "\)" at the end/.test(r.error), JSON.stringify(r));
});

test('numbers not given, reused numbers, unary minus and decimals are rejected', () => {
  assert.equal(ok('50 + 25 + 4', 79), false, '4 is not given');
  assert.equal(ok('50 + 50 - 25', 75), false, '50 is given once but used twice');
  assert.equal(ok('50 + 50 - 25', 75, [50, 50, 25]), true, 'a number given twice may be used twice');
  assert.equal(ok('-3 + 50 + 25 + 3', 75), false, 'no unary minus');
  assert.equal(ok('50 + 25.0', 75), false, 'no decimals');
  assert.equal(ok('50 + 25,0', 75), false, 'no decimal commas');
  assert.equal(ok('050 + 25', 75), true, 'leading zeros are the same number');
  assert.equal(ok('75', 75), false, 'the target itself is not a given number');
});

test('division by zero makes an answer incorrect, never throws', () => {
  assert.equal(ok('50 / (25 - 25)', 0, [50, 25, 25]), false);
  assert.equal(ok('7 / (3 - 3) * 0', 0, [7, 3, 3, 0]), false);
  const r = parseExpression('1 / 0');
  assert.ok(r.ok);
  assert.equal(evaluate(r.expr), null);
});

test('the right-hand side of "=" must be the target; only one "=" allowed', () => {
  assert.equal(ok('50 + 25 = 76', 75), false);
  assert.equal(ok('50 + 25 = 75 = 75', 75), false);
  assert.equal(ok('= 75', 75), false);
});

test('code, names and other characters are rejected by the lexer (no eval anywhere)', () => {
  for (const bad of ['process.exit(1)', '50 + 25; 3', 'Math.max(50, 25)', '50 + 25 // 3', '0x32 + 25', '5e1 + 25', '50 % 25', '50 ^ 2', '2 ** 3', 'x']) {
    assert.equal(ok(bad, 75), false, bad);
  }
  const r = parseExpression('50 + a');
  assert.ok(!r.ok && /unexpected character "a" at 5/.test(r.error));
});

test('pathological inputs are bounded: deep nesting and very long expressions fail cleanly', () => {
  const deep = '('.repeat(100) + '50' + ')'.repeat(100);
  assert.equal(parseExpression(deep).ok, false);
  assert.equal(parseExpression('50 + '.repeat(200) + '1').ok, false);
  assert.ok(parseExpression('('.repeat(30) + '50' + ')'.repeat(30)).ok);
});

test('parser agrees with direct evaluation on random well-formed expressions (property)', () => {
  type Tree = { v: number; s: string };
  const leaf = fc.integer({ min: 1, max: 99 }).map((v) => ({ v, s: String(v) }));
  const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
    t: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.tuple(tie('t'), fc.constantFrom('+', '-', '*'), tie('t')).map(([a, op, b]) => ({
        v: op === '+' ? a.v + b.v : op === '-' ? a.v - b.v : a.v * b.v,
        s: `(${a.s} ${op} ${b.s})`,
      })),
    ),
  })).t;
  fc.assert(
    fc.property(tree, (t) => {
      const r = parseExpression(t.s);
      if (!r.ok) return false;
      const v = evaluate(r.expr);
      return v !== null && v.den === 1n && v.num === BigInt(t.v);
    }),
    { numRuns: 500 },
  );
});

test('generated problems are solvable and their reference answer is a valid expression', () => {
  const t = getTask('countdown');
  for (let d = 1; d <= 5; d++) {
    for (let s = 0; s < 100; s++) {
      const p = t.generate(s, d);
      const numbers = p.meta.numbers as number[];
      assert.ok(!numbers.includes(p.meta.target as number), 'the target is never one of the numbers');
      assert.ok(t.check(p, p.answer));
      assert.ok(t.check(p, t.work(p).answer));
    }
  }
});
