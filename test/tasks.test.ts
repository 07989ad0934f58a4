// Every task family: deterministic generation, its verifier accepts its own worked solutions
// (≥ 200 seeds × every difficulty) and rejects corrupted answers (property tests).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Rng, allTasks, getTask, hashSeed, lenientCorrect, lenientExtract, taskNames, type Problem } from '../src/tasks/index.js';

const SEEDS = 200;
const wrap = (trace: string, answer: string): string => `<think>\n${trace}\n</think> <answer>${answer}</answer>`;

test('the registry has the seven required families with levels 1..5', () => {
  assert.deepEqual(taskNames(), ['add', 'sub', 'mul', 'countdown', 'sort', 'mod', 'linear']);
  for (const t of allTasks()) assert.deepEqual([...t.difficulties], [1, 2, 3, 4, 5]);
  assert.throws(() => getTask('division'), /unknown task family "division"; expected one of: add, sub/);
  assert.throws(() => getTask('add').generate(1, 6), /expected difficulty in 1, 2, 3, 4, 5; found 6/);
});

for (const task of allTasks()) {
  test(`${task.name}: generation is deterministic and the reference answer checks`, () => {
    for (const d of task.difficulties) {
      for (let s = 0; s < 50; s++) {
        const p = task.generate(s, d);
        assert.deepEqual(task.generate(s, d), p);
        assert.equal(p.family, task.name);
        assert.equal(p.difficulty, d);
        assert.equal(p.seed, s);
        assert.ok(!/[.?!]$/.test(p.prompt), `prompt ends without punctuation: ${p.prompt}`);
        assert.ok(task.check(p, p.answer), `reference answer ${p.answer} fails for ${p.prompt}`);
        assert.deepEqual(JSON.parse(JSON.stringify(p)), p, 'problems are JSON-safe');
      }
    }
  });

  test(`${task.name}: the verifier accepts the worked solution over ${SEEDS} seeds × every difficulty`, () => {
    for (const d of task.difficulties) {
      const prompts = new Set<string>();
      for (let s = 0; s < SEEDS; s++) {
        const p = task.generate(hashSeed('worked', s), d);
        prompts.add(p.prompt);
        const w = task.work(p);
        assert.equal(task.solve(p), w.trace);
        const v = task.verify(p, wrap(w.trace, w.answer));
        assert.deepEqual(v, { correct: true, formatOk: true, extracted: w.answer }, `${p.prompt}\n${w.trace}`);
        if (task.name !== 'countdown') assert.equal(w.answer, p.answer, 'worked answer is the canonical answer');
        assert.ok(lenientCorrect(p, w.trace), `the trace itself ends in the answer: ${w.trace}`);
        assert.ok(!w.trace.includes('<think>') && !w.trace.includes('<answer>'), 'traces never contain tags');
      }
      assert.ok(prompts.size > SEEDS * 0.8, `${task.name} d${d}: expected varied problems; found ${prompts.size} distinct of ${SEEDS}`);
    }
  });
}

/** A wrong answer of the same shape as the right one. */
function corrupt(p: Problem, rng: Rng): string[] {
  const t = getTask(p.family);
  const a = t.work(p).answer;
  const out: string[] = [];
  if (p.family === 'sort') {
    const xs = a.split(', ').map(Number);
    const i = rng.int(0, xs.length - 2);
    if (xs[i] !== xs[i + 1]) {
      const swapped = [...xs];
      [swapped[i], swapped[i + 1]] = [swapped[i + 1] as number, swapped[i] as number];
      out.push(swapped.join(', '));
    }
    out.push(xs.slice(1).join(', '), [...xs, 5].join(', '), xs.map((x, j) => (j === i ? x + 1 : x)).join(', '));
  } else if (p.family === 'countdown') {
    const numbers = p.meta.numbers as number[];
    const target = p.meta.target as number;
    const notGiven = [...Array(200).keys()].find((k) => k > 1 && !numbers.includes(k)) as number;
    const x = Number(/\d+/.exec(a)?.[0]); // a number the solution already uses
    const given = numbers.filter((v) => v === x).length;
    const used = (a.match(new RegExp(`\\b${x}\\b`, 'g')) ?? []).length;
    out.push(`${a} + ${notGiven}`); // a number that is not given
    if (used + 2 > given) out.push(`${a} + ${x} - ${x}`); // right value, but a number used more often than given
    out.push(`(${a}) * ${notGiven} / ${notGiven}`); // right value, numbers not given
    out.push(String(target)); // the target itself is not a given number
    out.push(`${a} + 0`); // 0 is never given
  } else {
    const n = BigInt(a.replace(/^x = /, ''));
    const k = BigInt(rng.int(1, 1000));
    out.push(String(n + k), String(n - k), `${a}0`, `-${a}`.replace('--', ''));
    if (n !== 0n) out.push(String(-n));
  }
  return out.filter((x) => x !== a);
}

test('corrupted answers are rejected (property over families, levels and seeds)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...taskNames()), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 2 ** 31 }), (family, d, seed) => {
      const t = getTask(family);
      const p = t.generate(seed, d);
      for (const bad of corrupt(p, new Rng(seed))) {
        // "-0" and "00" are the same number as 0
        if (/^-?0+$/.test(bad) && /^-?0+$/.test(p.answer)) continue;
        const v = t.verify(p, wrap('reasoning', bad));
        assert.equal(v.correct, false, `${family} d${d}: accepted ${JSON.stringify(bad)} for ${p.prompt} (answer ${p.answer})`);
        assert.equal(v.formatOk, true);
      }
    }),
    { numRuns: 1500 },
  );
});

test('numeric answers compare numerically after trimming; non-integers never match', () => {
  const t = getTask('add');
  const p = t.generate(7, 2);
  const n = p.answer;
  for (const ok of [n, ` ${n} `, `+${n}`, `0${n}`, `\n${n}\n`]) assert.ok(t.verify(p, wrap('r', ok)).correct, ok);
  for (const bad of [`${n}.0`, `${n}.`, `${n} ${n}`, `${n}!`, `${n}e0`, '', ' ', `${n}/1`, `x${n}`, `0x${Number(n).toString(16)}`]) {
    assert.equal(t.verify(p, wrap('r', bad)).correct, false, JSON.stringify(bad));
  }
  const s = getTask('sub');
  const neg = s.generate(3, 1);
  const q = { ...neg, meta: { a: 5, b: 12 }, answer: '-7' };
  assert.ok(s.check(q, '-7') && s.check(q, '−7') && !s.check(q, '7') && !s.check(q, '- 7'));
  const lin = getTask('linear');
  const lp = lin.generate(1, 3);
  assert.ok(lin.check(lp, `x = ${lp.answer}`) && lin.check(lp, `x=${lp.answer}`) && !lin.check(lp, `y = ${lp.answer}`));
  const md = getTask('mod');
  const mp = md.generate(5, 4);
  const m = mp.meta.m as number;
  assert.equal(md.check(mp, String(Number(mp.answer) + m)), false, 'a residue outside [0, m) is not the answer');
});

test('sort answers: brackets, commas or spaces accepted; wrong order, length or values rejected', () => {
  const t = getTask('sort');
  const p = { ...t.generate(1, 1), meta: { list: [9, -3, 5] } };
  for (const ok of ['-3, 5, 9', '[-3, 5, 9]', '-3 5 9', '-3,5,9', ' [ -3 ,5, 9 ] ', '−3, 5, 9']) assert.ok(t.check(p, ok), ok);
  for (const bad of ['5, -3, 9', '-3, 5', '-3, 5, 9, 9', '-3, 5, 10', '3, 5, 9', '', '[]', '-3, 5, 9.', '-3; 5; 9']) assert.equal(t.check(p, bad), false, bad);
});

test('lenientExtract ignores the tags and takes the last number / list / expression', () => {
  assert.equal(lenientExtract('add', 'so the sum is 579. Done'), '579');
  assert.equal(lenientExtract('add', '<think>12</think> <answer>The answer is 34</answer>'), '34');
  assert.equal(lenientExtract('sub', 'x is -12'), '-12');
  assert.equal(lenientExtract('add', 'no digits here'), null);
  assert.equal(lenientExtract('sort', 'sorted: 1, 2, 3 and then 7'), '1, 2, 3');
  assert.equal(lenientExtract('sort', 'list [ -4, 0 ,12 ]'), '-4, 0, 12');
  assert.equal(lenientExtract('countdown', 'try 3 * 4 = 12. So (50 + 25) - 3 = 72'), '(50 + 25) - 3');
  // A worked search then the tagged answer: the answer, not the search line run into it.
  assert.equal(lenientExtract('countdown', '<think>\n25 + 50 = 75\n</think> <answer>19 + 13</answer>'), '19 + 13');
  assert.equal(lenientExtract('countdown', '<think>25 + 50 = 75</think><answer>19 + 13</answer>'), '19 + 13');
  assert.equal(lenientExtract('countdown', 'so 75 19 + 13'), '19 + 13');
  assert.equal(lenientExtract('countdown', 'answer: (so 50 + 25)'), '50 + 25');
  assert.equal(lenientExtract('countdown', 'nothing'), null);
  assert.equal(lenientExtract('linear', 'x = -5'), '-5');
  const p = getTask('add').generate(11, 3);
  assert.ok(lenientCorrect(p, `I think it is ${p.answer}`));
  assert.equal(getTask('add').verify(p, `I think it is ${p.answer}`).correct, false, 'strict verify needs the answer tags');
});
