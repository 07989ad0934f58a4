// The phrasings' pieces, exactly: the slots a template can use (read off each family's problem), the
// left-over-things rule at its boundary (a = b), the typo and the four kinds of surface noise. The
// r1-pipeline suite checks what must hold over many drawn problems (numbers kept, held-out wordings
// never produced, the weights); this suite pins what each function returns. The mutation run
// (scripts/mutation-targets.mjs: src/rl/r1/phrasings.ts) picks it up by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TRAIN_PHRASINGS, addNoise, fillPhrasing, phrasingSlots, phrasingsFor, typo } from '../src/rl/r1/phrasings.js';
import { story } from '../src/rl/r1/stories.js';
import { Rng, getTask, sampleProblem, taskNames, type Problem } from '../src/tasks/index.js';

const problem = (family: string, prompt: string, meta: Problem['meta']): Problem => ({ family, difficulty: 1, seed: 1, prompt, answer: '', meta });

test('phrasingSlots: each family\'s slots, and nothing else', () => {
  const add = problem('add', 'Compute 55 + 7', { a: 55, b: 7 });
  assert.deepEqual(phrasingSlots(add), {
    prompt: 'Compute 55 + 7', expr: '55 + 7', words: '55 plus 7', a: '55', b: '7',
    story: story(55, 7, 'more', 55 * 1009 + 7), story2: story(55, 7, 'more', 55 * 1009 + 7 + 500_000),
  });
  const sub = problem('sub', 'Compute 41 - 9', { a: 41, b: 9 });
  assert.deepEqual(phrasingSlots(sub), {
    prompt: 'Compute 41 - 9', expr: '41 - 9', words: '41 minus 9', a: '41', b: '9',
    story: story(41, 9, 'fewer', 41 * 1009 + 9), story2: story(41, 9, 'fewer', 41 * 1009 + 9 + 500_000),
  });
  // below zero: no story (it would count things that are not there)
  assert.deepEqual(phrasingSlots(problem('sub', 'Compute 9 - 41', { a: 9, b: 41 })), { prompt: 'Compute 9 - 41', expr: '9 - 41', words: '9 minus 41', a: '9', b: '41' });
  assert.deepEqual(phrasingSlots(problem('mul', 'Compute 64 * 8', { a: 64, b: 8 })), { prompt: 'Compute 64 * 8', expr: '64 * 8', words: '64 times 8', a: '64', b: '8' });
  assert.deepEqual(phrasingSlots(problem('mod', 'Compute 115 mod 10', { form: 'a', a: 115, b: 0, c: 0, m: 10 })),
    { prompt: 'Compute 115 mod 10', expr: '115 mod 10', words: '115 modulo 10', a: '115', b: '0' });
  assert.deepEqual(phrasingSlots(problem('sort', 'Sort in ascending order: 33, 59, 42', { list: [33, 59, 42] })),
    { prompt: 'Sort in ascending order: 33, 59, 42', list: '33, 59, 42' });
  assert.deepEqual(phrasingSlots(problem('countdown', 'Using the numbers 42, 28, make 70. Use + - * / and each number at most once', { numbers: [42, 28], target: 70 })),
    { prompt: 'Using the numbers 42, 28, make 70. Use + - * / and each number at most once', numbers: '42, 28', target: '70' });
  assert.deepEqual(phrasingSlots(problem('linear', 'Solve for x: x - 59 = -37', { a: 1, b: -59, c: 0, d: -37 })),
    { prompt: 'Solve for x: x - 59 = -37', a: '1', b: '-59', eq: 'x - 59 = -37' });
  // an expression with several operators, and a prompt that merely contains "Compute" is not an expression
  assert.equal(phrasingSlots(problem('add', 'Compute 1 + 2 - 3 * 4', { a: 1, b: 2 })).words, '1 plus 2 minus 3 times 4');
  assert.equal(phrasingSlots(problem('add', 'Please Compute 1 + 2', { a: 1, b: 2 })).expr, undefined);
  assert.equal(phrasingSlots(problem('linear', 'Then Solve for x: x = 1', {})).eq, undefined);
  // numbers that are not there give no slot (and so no story)
  assert.deepEqual(phrasingSlots(problem('add', 'Compute 2 + 3', { a: 2 })), { prompt: 'Compute 2 + 3', expr: '2 + 3', words: '2 plus 3', a: '2' });
  assert.deepEqual(phrasingSlots(problem('add', 'Compute 2 + 3', { b: 3 })), { prompt: 'Compute 2 + 3', expr: '2 + 3', words: '2 plus 3', b: '3' });
});

test('phrasingSlots: every family the tasks generate gets exactly the slots its templates need', () => {
  for (const family of taskNames()) {
    const p = sampleProblem(family, getTask(family).difficulties[0]!, 'train', 3);
    const s = phrasingSlots(p);
    for (const [k, v] of Object.entries(s)) assert.ok(typeof v === 'string' && v.length > 0 && !v.includes('undefined'), `${family}: slot ${k} = ${JSON.stringify(v)}`);
    // each family has at least one wording beyond the task's own prompt
    assert.ok(phrasingsFor(TRAIN_PHRASINGS, p).length >= 2, family);
  }
});

test('a story of things left over applies when a = b (nothing goes below zero), not when a < b', () => {
  const stories = TRAIN_PHRASINGS.filter((x) => x.when).map((x) => x.template);
  const equal = problem('sub', 'Compute 7 - 7', { a: 7, b: 7 });
  const below = problem('sub', 'Compute 7 - 8', { a: 7, b: 8 });
  const got = phrasingsFor(TRAIN_PHRASINGS, equal);
  for (const t of stories) assert.ok(got.includes(t), `7 - 7: "${t}" missing`);
  assert.ok(got.includes('{story}') && got.includes('{story2}'));
  const gotBelow = phrasingsFor(TRAIN_PHRASINGS, below);
  for (const t of [...stories, '{story}', '{story2}']) assert.ok(!gotBelow.includes(t), `7 - 8: "${t}" offered`);
  assert.equal(phrasingSlots(equal).story, story(7, 7, 'fewer', 7 * 1009 + 7));
});

test('fillPhrasing: fills every slot; null when one is missing', () => {
  const p = problem('add', 'Compute 55 + 7', { a: 55, b: 7 });
  assert.equal(fillPhrasing('Add {a} and {b}, i.e. {expr} ({words})', p), 'Add 55 and 7, i.e. 55 + 7 (55 plus 7)');
  assert.equal(fillPhrasing('Sort {list}', p), null);
  assert.equal(fillPhrasing('no slots', p), 'no slots');
});

test('typo: swaps two adjacent letters inside a word of four or more letters, never its first letter; every such pair is reachable', () => {
  const text = 'I am here, at the stable: 12 boxes';
  // the words a typo may touch: "here", "stable", "boxes" (not "I", "am", "at", "the")
  const allowed = new Map<number, string>();
  for (const [start, w] of [[5, 'here'], [18, 'stable'], [29, 'boxes']] as const) for (let i = 1; i + 1 < w.length; i++) allowed.set(start + i, w);
  const seen = new Set<number>();
  for (let seed = 0; seed < 400; seed++) {
    const out = typo(text, new Rng(seed));
    assert.equal(out.length, text.length);
    const diff = [...text].map((c, i) => (c !== out[i] ? i : -1)).filter((i) => i >= 0);
    assert.equal(diff.length, 2, `${seed}: ${JSON.stringify(out)}`);
    const [i, j] = diff as [number, number];
    assert.equal(j, i + 1, `${seed}: not adjacent: ${JSON.stringify(out)}`);
    assert.ok(allowed.has(i), `${seed}: swapped at ${i}: ${JSON.stringify(out)}`);
    assert.equal(out[i], text[j]);
    assert.equal(out[j], text[i]);
    seen.add(i);
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [...allowed.keys()].sort((a, b) => a - b));
  // no word of four letters: unchanged
  assert.equal(typo('a bc def 1234 x-y', new Rng(1)), 'a bc def 1234 x-y');
  // a word of exactly four letters: its second and third, or third and fourth letters
  const four = new Set<string>();
  for (let seed = 0; seed < 40; seed++) four.add(typo('an abcd', new Rng(seed)));
  assert.deepEqual([...four].sort(), ['an abdc', 'an acbd']);
});

test('addNoise: as is, lower case, "Please …", "…, please" or a typo, each drawn', () => {
  const text = 'What is 23 + 58?';
  const seen = new Map<string, number>();
  for (let seed = 0; seed < 300; seed++) {
    const out = addNoise(text, new Rng(seed));
    let kind: string;
    if (out === text) kind = 'as is';
    else if (out === 'what is 23 + 58?') kind = 'lower';
    else if (out === 'Please what is 23 + 58?') kind = 'please first';
    else if (out === 'What is 23 + 58, please') kind = 'please last';
    else if (out === 'Waht is 23 + 58?' || out === 'Whta is 23 + 58?') kind = 'typo';
    else assert.fail(`${seed}: unexpected ${JSON.stringify(out)}`);
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
  }
  assert.deepEqual([...seen.keys()].sort(), ['as is', 'lower', 'please first', 'please last', 'typo']);
  // "as is" is two of the six draws; each other kind one
  assert.ok(seen.get('as is')! > seen.get('lower')! * 1.4, JSON.stringify([...seen]));
  // "…, please" drops a final full stop too, and keeps an inner one
  const last = (t: string) => { for (let s = 0; s < 100; s++) { const o = addNoise(t, new Rng(s)); if (o.endsWith(', please')) return o; } return null; };
  assert.equal(last('Find 3.5 + 4.'), 'Find 3.5 + 4, please');
  assert.equal(last('Compute 3 + 4'), 'Compute 3 + 4, please');
});
