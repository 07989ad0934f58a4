// The R1 pipeline's SFT rows case by case (found by mutation testing, docs/mutation.md): written rows,
// trace rows, the training problems' layout and split, the general rows' categories and replies, and
// the four kinds of multi-turn conversation in turn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getTask, splitOf } from '../src/tasks/index.js';
import { CATEGORIES, REPLIES, TRAIN_GENERAL } from '../src/data/conversations.js';
import { generalCategoryShares, generalRows, multiTurnRows, problemsPerCombo, traceRow, trainProblems, writtenResponse, writtenRow } from '../src/rl/r1/data.js';
import { parseR1, r1Verify } from '../src/rl/r1/format.js';
import { readability } from '../src/rl/r1/readability.js';
import type { Trace } from '../src/rl/r1/rejection.js';

const p = getTask('add').generate(1, 1); // Compute 92 + 58 = 150

test('written and trace rows: the user\'s text, then a full R1-format response; the source', () => {
  const resp = writtenResponse(p);
  assert.equal(resp, `<think>\n${getTask('add').work(p).trace}\n</think>\n\nThe answer is 150.`);
  assert.equal(r1Verify(p, resp).correct, true);
  assert.deepEqual(writtenRow(p, p.prompt), { messages: [{ role: 'user', content: p.prompt }, { role: 'assistant', content: resp }], source: 'written' });
  // asked in other words, the reasoning first says which computation the words ask for
  const restated = `<think>\nThe question asks for 92 + 58.\n${getTask('add').work(p).trace}\n</think>\n\nThe answer is 150.`;
  assert.equal(writtenResponse(p, 'A jar has 92 marbles and someone puts in 58 more. How many marbles are in the jar?'), restated);
  assert.deepEqual(writtenRow(p, 'what is 92+58'), { messages: [{ role: 'user', content: 'what is 92+58' }, { role: 'assistant', content: restated }], source: 'written' });
  assert.equal(writtenResponse(p, ` ${p.prompt} `), resp, 'the task\'s own wording (spaces aside) is not restated');
  assert.equal(r1Verify(p, restated).correct, true);
  assert.equal(readability(parseR1(restated).thinking), 1, 'the restating line is a readable step');
  // families whose prompt is not an expression ("Sort in ascending order: …") are not restated
  const s = getTask('sort').generate(1, 1);
  assert.equal(writtenResponse(s, 'Put them in order'), writtenResponse(s));
  assert.equal(writtenRow(p, 'x', 'cold-start').source, 'cold-start');
  const t: Trace = { problem: p, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }, { role: 'user', content: p.prompt }], completion: 'a\n</think>\n\nThe answer is 150.', tokens: 9, truncated: false, source: 'r1zero' };
  assert.deepEqual(traceRow(t), { messages: [...t.messages, { role: 'assistant', content: '<think>\na\n</think>\n\nThe answer is 150.' }], source: 'r1zero' });
  assert.equal(t.messages.length, 3, 'the trace itself is not changed');
});

test('trainProblems: n per family and difficulty, family by family, from the training split; seed and stream both matter', () => {
  const ps = trainProblems(['add', 'sub'], [1, 2], 3, 7, 'sft');
  assert.deepEqual(ps.map((q) => `${q.family}${q.difficulty}`), ['add1', 'add1', 'add1', 'add2', 'add2', 'add2', 'sub1', 'sub1', 'sub1', 'sub2', 'sub2', 'sub2']);
  for (const q of ps) assert.equal(splitOf(q), 'train');
  assert.equal(new Set(ps.map((q) => q.prompt)).size, 12, 'all different');
  assert.deepEqual(trainProblems(['add', 'sub'], [1, 2], 3, 7, 'sft'), ps, 'deterministic');
  const key = (a: typeof ps) => a.map((q) => q.prompt).join('|');
  assert.notEqual(key(trainProblems(['add', 'sub'], [1, 2], 3, 8, 'sft')), key(ps), 'another seed');
  assert.notEqual(key(trainProblems(['add', 'sub'], [1, 2], 3, 7, 'rs')), key(ps), 'another stream');
  // the stream is per family: sub's problems do not depend on whether add is listed
  assert.deepEqual(trainProblems(['sub'], [1, 2], 3, 7, 'sft'), ps.slice(6));
});

test('generalRows: a training prompt of each category (a quarter lower-cased), the category\'s reply after an empty reasoning block', () => {
  const rows = generalRows(200, 3);
  assert.equal(rows.length, 200);
  const cats = new Set<string>();
  let lowered = 0;
  for (const r of rows) {
    const cat = r.source.replace(/^general:/, '') as (typeof CATEGORIES)[number];
    assert.ok(CATEGORIES.includes(cat), r.source);
    cats.add(cat);
    const [u, a] = r.messages;
    assert.equal(u!.role, 'user');
    const exact = TRAIN_GENERAL[cat].includes(u!.content);
    if (!exact) {
      assert.ok(TRAIN_GENERAL[cat].some((t) => t.toLowerCase() === u!.content), `"${u!.content}" is a ${cat} training prompt, lower-cased`);
      lowered++;
    }
    assert.equal(a!.role, 'assistant');
    assert.match(a!.content, /^<think>\n\n<\/think>\n\n/);
    assert.ok(REPLIES[cat].includes(parseR1(a!.content).summary), `reply of ${cat}: ${a!.content}`);
  }
  assert.deepEqual([...cats].sort(), [...CATEGORIES].sort(), 'every category, the last one included');
  // prompts already in lower case count as exact; the lower-cased share of the rest is about 1/4
  assert.ok(lowered > 15 && lowered < 70, `lower-cased ${lowered} of 200`);
  assert.deepEqual(generalRows(200, 3), rows);
});

test('generalRows: categories drawn in proportion to the square root of their prompt counts, so out-of-scope wordings are not each seen once', () => {
  const shares = generalCategoryShares();
  const roots = CATEGORIES.map((c) => Math.sqrt(TRAIN_GENERAL[c].length));
  const sum = roots.reduce((a, b) => a + b, 0);
  CATEGORIES.forEach((c, i) => assert.ok(Math.abs(shares[c] - roots[i]! / sum) < 1e-12, `${c}: ${shares[c]}`));
  assert.deepEqual(generalCategoryShares({ greeting: ['a'], identity: ['a', 'b', 'c', 'd'], capabilities: ['a'], out_of_scope: Array(16).fill('x'), thanks: ['a'] }),
    { greeting: 1 / 9, identity: 2 / 9, capabilities: 1 / 9, out_of_scope: 4 / 9, thanks: 1 / 9 });
  const rows = generalRows(4000, 11);
  const counts = Object.fromEntries(CATEGORIES.map((c) => [c, rows.filter((r) => r.source === `general:${c}`).length]));
  for (const c of CATEGORIES) {
    const expected = 4000 * shares[c];
    // binomial: 4 standard deviations
    assert.ok(Math.abs(counts[c]! - expected) < 4 * Math.sqrt(expected), `${c}: ${counts[c]} rows, expected about ${expected.toFixed(0)}`);
  }
  assert.ok(counts.out_of_scope! > 2 * counts.capabilities!, JSON.stringify(counts));
});

test('multiTurnRows: follow-up, greeting then problem, thanks, out of scope, in turn; problem turns answered correctly', () => {
  const rows = multiTurnRows(8, ['add', 'sub'], [1], 5);
  assert.deepEqual(rows.map((r) => r.source), ['multi:follow-up', 'multi:greeting-then-problem', 'multi:thanks', 'multi:out_of_scope', 'multi:follow-up', 'multi:greeting-then-problem', 'multi:thanks', 'multi:out_of_scope']);
  for (const r of rows) {
    assert.deepEqual(r.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
    const last = r.messages[3]!.content;
    if (r.source === 'multi:follow-up' || r.source === 'multi:greeting-then-problem') {
      assert.ok(parseR1(last).thinking.length > 0 && /^The answer is .+\.$/.test(parseR1(last).summary), `reasoned answer: ${last}`);
    } else {
      assert.match(last, /^<think>\n\n<\/think>\n\n/);
      const cat = r.source === 'multi:thanks' ? 'thanks' : 'out_of_scope';
      assert.ok(TRAIN_GENERAL[cat].includes(r.messages[2]!.content), r.messages[2]!.content);
      assert.ok(REPLIES[cat].includes(parseR1(last).summary));
    }
    if (r.source === 'multi:greeting-then-problem') {
      assert.ok(TRAIN_GENERAL.greeting.includes(r.messages[0]!.content), r.messages[0]!.content);
      assert.ok(REPLIES.greeting.includes(parseR1(r.messages[1]!.content).summary));
    } else {
      assert.ok(parseR1(r.messages[1]!.content).thinking.length > 0, 'a problem first, answered with reasoning');
    }
    if (r.source === 'multi:follow-up') {
      const q = r.messages[2]!.content;
      assert.match(q, /^(And |Now |What about this one: |Next: |ok, )?[^A-Z]/, `follow-up starts lower-case after its lead: ${q}`);
    }
  }
  assert.deepEqual(multiTurnRows(8, ['add', 'sub'], [1], 5), rows);
});

test('multiTurnRows: a problem asked in other words than the task\'s is restated as its computation first, with the user\'s numbers', () => {
  const rows = multiTurnRows(200, ['add', 'sub'], [1], 13);
  let restated = 0, plain = 0;
  for (const r of rows) {
    for (let i = 1; i < r.messages.length; i += 2) {
      const thinking = parseR1(r.messages[i]!.content).thinking;
      if (!thinking) continue;
      const user = r.messages[i - 1]!.content;
      const m = /^The question asks for (\d+) ([+-]) (\d+)\.\n/.exec(thinking);
      if (m) {
        restated++;
        for (const n of [m[1]!, m[3]!]) assert.ok(user.includes(n), `${n} not in "${user}"`);
        assert.ok(!/^Compute \d+ [+-] \d+$/.test(user), `the task's own wording restated: ${user}`);
      } else {
        plain++;
        assert.ok(!thinking.startsWith('The question'), thinking);
        assert.match(user, /Compute \d+ [+-] \d+$/i, `asked in other words but not restated: ${user}`);
      }
    }
  }
  assert.ok(restated > 100 && plain > 5, `${restated} restated, ${plain} in the task's wording`);
});

test('multiTurnRows: every follow-up lead is used, the problem text always follows it (no "{q}" left), lower-cased only after a problem', () => {
  const rows = multiTurnRows(200, ['add', 'sub'], [1], 11);
  const LEADS = ['And ', 'Now ', 'What about this one: ', 'Next: ', 'ok, '];
  const leadOf = (s: string) => LEADS.find((l) => s.startsWith(l)) ?? '';
  const used = new Set<string>();
  let upperAfterGreeting = 0;
  for (const r of rows) {
    for (const m of r.messages) assert.ok(!m.content.includes('{q}'), m.content);
    if (r.source !== 'multi:follow-up' && r.source !== 'multi:greeting-then-problem') continue;
    const q = r.messages[2]!.content, lead = leadOf(q), rest = q.slice(lead.length);
    assert.ok(rest.length > 5, `a problem follows the lead: "${q}"`);
    if (r.source === 'multi:follow-up') {
      used.add(lead);
      assert.ok(rest[0] === rest[0]!.toLowerCase(), `lower-cased after a problem: "${q}"`);
      // only the first letter changes: never doubled ("cCompute"; a typo never moves a word's first letter)
      assert.ok(!/^([a-z])\1/i.test(rest), `first letter doubled: "${q}"`);
    } else if (/^[A-Z]/.test(rest)) upperAfterGreeting++;
  }
  assert.deepEqual([...used].sort(), ['', ...LEADS].sort(), 'every lead, and none');
  assert.ok(upperAfterGreeting > 0, 'after a greeting the problem keeps its capital');
});

test('problemsPerCombo: enough problems per (family, difficulty) to reach the total over all of them', () => {
  assert.equal(problemsPerCombo(4, ['add', 'sub'], [1]), 2);
  assert.equal(problemsPerCombo(12, ['add', 'sub'], [1, 2, 3]), 2);
  assert.equal(problemsPerCombo(13, ['add', 'sub'], [1, 2, 3]), 3, 'rounded up: 18 ≥ 13');
  assert.equal(problemsPerCombo(5, ['add', 'sub', 'sort'], [1, 2]), 1);
  assert.equal(problemsPerCombo(1, ['add'], [1]), 1);
});
