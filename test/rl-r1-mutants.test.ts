// The R1 format, readability and stage rewards case by case (found by mutation testing,
// docs/mutation.md): each rule of the definitions in src/rl/r1/format.ts and readability.ts on a
// line that breaks only that rule, and the stage rewards on both kinds of prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getTask } from '../src/tasks/index.js';
import type { Problem } from '../src/tasks/index.js';
import { parseR1, r1Response, answerSummary, summaryAnswer, hasForeignMarkup, r1FormatOk, r1ReplyOk, r1Verify } from '../src/rl/r1/format.js';
import { readability, readableStep, reasoningSteps, targetVocabulary, MAX_STEP_CHARS } from '../src/rl/r1/readability.js';
import { r1RewardFunctions, readabilityReward, isChat, CHAT_FAMILY } from '../src/rl/r1/rewards.js';

test('parseR1: the opening <think> (with or without its newline, after leading blanks) is dropped; thinking is trimmed of blank lines, the summary of spaces', () => {
  assert.deepEqual(parseR1('  <think>\nstep\n</think>\n\n  reply  '), { thinking: 'step', summary: 'reply', closed: true });
  assert.deepEqual(parseR1('<think>step</think>r'), { thinking: 'step', summary: 'r', closed: true });
  assert.deepEqual(parseR1('\n\n  step 1\nstep 2\n\n</think>x'), { thinking: '  step 1\nstep 2', summary: 'x', closed: true }, 'only blank lines are trimmed, not indentation');
  assert.deepEqual(parseR1('a <think>\nb</think>c'), { thinking: 'a <think>\nb', summary: 'c', closed: true }, 'a <think> later in the text stays');
  assert.deepEqual(parseR1('<think>\nnever closes\n'), { thinking: 'never closes\n', summary: '', closed: false });
  assert.deepEqual(parseR1('a</think>b</think>c'), { thinking: 'a', summary: 'b</think>c', closed: false });
  assert.deepEqual(parseR1('</think>'), { thinking: '', summary: '', closed: true });
  assert.equal(r1Response('t', 's'), '<think>\nt\n</think>\n\ns');
  assert.equal(answerSummary('-7'), 'The answer is -7.');
});

test('summaryAnswer: one line "The answer is X." (any case, period optional, spaces trimmed); anything else is null', () => {
  assert.equal(summaryAnswer('The answer is 42.'), '42');
  assert.equal(summaryAnswer('  THE ANSWER IS   1, 2, 3 .  '), '1, 2, 3');
  assert.equal(summaryAnswer('the answer is 3.5'), '3.5');
  assert.equal(summaryAnswer('The answer is 3.5.'), '3.5');
  assert.equal(summaryAnswer('The answer is  '), null, 'no X');
  assert.equal(summaryAnswer('The answer is'), null);
  assert.equal(summaryAnswer('So the answer is 4.'), null, 'must start the line');
  assert.equal(summaryAnswer('The answer is 4.\nThe answer is 5.'), null, 'two lines');
  assert.equal(summaryAnswer(''), null);
});

test('foreign markup: think/answer tags, R1 special-token brackets and chat role markers; ordinary text is not', () => {
  for (const t of ['<think>', '</think>', '<answer>', 'x </answer>', '<｜end▁of▁sentence｜>', 'a ｜> b', 'User: hi', 'then Assistant: ok']) assert.equal(hasForeignMarkup(t), true, t);
  for (const t of ['3 < 4 > 2', 'the user said', 'Users: many', '<thinking>', 'answer: 4']) assert.equal(hasForeignMarkup(t), false, t);
});

test('r1FormatOk and r1ReplyOk: each requirement on its own', () => {
  const ok = '<think>\n3 + 4 = 7\n</think>\n\nThe answer is 7.';
  assert.equal(r1FormatOk(ok), true);
  assert.equal(r1FormatOk('3 + 4 = 7\n</think>\n\nThe answer is 7.'), true, 'the template opened <think> already');
  assert.equal(r1FormatOk('3 + 4 = 7\n\nThe answer is 7.'), false, 'not closed');
  assert.equal(r1FormatOk('<think>\n \n</think>\n\nThe answer is 7.'), false, 'empty reasoning');
  assert.equal(r1FormatOk('<think>\n3 + 4 = 7\n</think>\n\nIt is 7.'), false, 'no answer line');
  assert.equal(r1FormatOk('<think>\n3 + 4 = 7 <answer>7</answer>\n</think>\n\nThe answer is 7.'), false, 'markup in the reasoning');
  assert.equal(r1FormatOk('<think>\n3 + 4 = 7\n</think>\n\nThe answer is <answer>7</answer>.'), false, 'markup in the summary');
  assert.equal(r1ReplyOk('</think>\n\nHello there!'), true, 'a reply may have empty reasoning');
  assert.equal(r1ReplyOk('thinking\n</think>\n\n'), false, 'an empty reply');
  assert.equal(r1ReplyOk('thinking\n\nHello'), false, 'not closed');
  assert.equal(r1ReplyOk('thinking\n</think>\n\nUser: more?'), false, 'a role marker in the reply');
  assert.equal(r1ReplyOk('User: x\n</think>\n\nHello'), false, 'a role marker in the reasoning');
});

test('r1Verify: correct only for a well-formed response whose summary answer the task accepts', () => {
  const p = getTask('add').generate(5, 1);
  const ans = String(Number(p.meta.a) + Number(p.meta.b));
  const wrong = String(Number(ans) + 1);
  assert.deepEqual(r1Verify(p, r1Response('adding', answerSummary(ans))), { correct: true, formatOk: true, extracted: ans });
  assert.deepEqual(r1Verify(p, r1Response('adding', answerSummary(wrong))), { correct: false, formatOk: true, extracted: wrong });
  // the right answer in a malformed response (a tag in the reasoning): extracted, but not correct
  assert.deepEqual(r1Verify(p, r1Response('<answer>', answerSummary(ans))), { correct: false, formatOk: false, extracted: ans });
  // not closed: nothing extracted
  assert.deepEqual(r1Verify(p, `adding\nThe answer is ${ans}.`), { correct: false, formatOk: false, extracted: null });
});

test('readableStep: each rule broken on its own', () => {
  const v = targetVocabulary();
  for (const w of ['so', 'wait', 'check', 'the', 'answer']) assert.ok(v.has(w), w);
  assert.ok(!v.has('colmun') && !v.has('zebra'));
  assert.equal(targetVocabulary(), v, 'built once');
  const good = 'so 3 + 4 = 7';
  assert.equal(readableStep(good), true);
  assert.equal(readableStep(`  ${good}  `), true, 'surrounding spaces do not count');
  assert.equal(readableStep(''), false);
  assert.equal(readableStep('   '), false);
  // length: exactly MAX_STEP_CHARS is fine, one more is not
  const digits = (n: number) => Array.from({ length: n }, (_, i) => String(i % 10)).join('');
  assert.equal(readableStep(digits(MAX_STEP_CHARS)), true);
  assert.equal(readableStep(digits(MAX_STEP_CHARS + 1)), false);
  assert.equal(readableStep('so 3 + 4 = 7 & more'), false, 'a character outside the alphabet');
  assert.equal(readableStep('so 3 + 4 = 7 "quoted"'), false);
  assert.equal(readableStep("so (3 + 4) * 2 = 14; 14 / 2 = 7, 7 - 1 < 9 > 2 [ok]: 50% 'yes' !?"), false, '"ok" is not a word of the vocabulary');
  assert.equal(readableStep("so (3 + 4) * 2 = 14; 14 / 2 = 7, 7 - 1 < 9 > 2 [yes]: 50% 'yes' !?"), true, 'every punctuation mark of the alphabet');
  assert.equal(readableStep('so 3 + 4 = 7 User: hi'), false, 'chat marker');
  assert.equal(readableStep('= + ( )'), false, 'no word or number');
  assert.equal(readableStep('42'), true, 'a number alone is a step');
  assert.equal(readableStep('so zebra = 7'), false, 'a word outside the vocabulary');
  assert.equal(readableStep('So THE Answer = 7'), true, 'words compare in lower case');
  assert.equal(readableStep('7 7 7'), false, 'a number three times in a row');
  assert.equal(readableStep('so so so 7'), false);
  assert.equal(readableStep('7 7 8 7'), true, 'twice in a row is fine');
  assert.equal(readableStep('7 8 7 8 7'), true, 'three times, not in a row');
  assert.equal(readableStep('so 3 + 4 = 7', ' so 3 + 4 = 7 '), false, 'a copy of the step before');
  assert.equal(readableStep('so 3 + 4 = 7', 'so 3 + 4 = 8'), true);
});

test('readability: the share of readable steps over non-blank lines; each step is compared with the one before', () => {
  assert.deepEqual(reasoningSteps('\n a \n\n b\n  \n'), ['a', 'b']);
  assert.equal(readability(''), 0);
  assert.equal(readability('so 3 + 4 = 7'), 1);
  assert.equal(readability('so 3 + 4 = 7\n\nzebra\n3 + 4 = 7\n3 + 4 = 7'), 2 / 4);
  // the first step has no step before it, even when a later one repeats it
  assert.equal(readability('3 + 4 = 7\n5\n3 + 4 = 7'), 1);
  assert.equal(readability('zebra\nzebra'), 0);
});

test('the R1 stage rewards on task and chat prompts; weights of 0 leave readability and preference out; preference needs a reward model', () => {
  const p: Problem = getTask('add').generate(5, 1);
  const ans = String(Number(p.meta.a) + Number(p.meta.b));
  const chat: Problem = { family: CHAT_FAMILY, difficulty: 0, seed: 0, prompt: 'Say hi', answer: '', meta: {} };
  assert.equal(isChat(chat), true);
  assert.equal(isChat(p), false);
  const info = (problem: Problem, text: string) => ({ problem, text, length: 5, truncated: false });
  const rm = { score: (prompt: string, reply: string) => (prompt === 'Say hi' && reply === 'Hi there' ? Math.log(3) : -100) };
  const all = r1RewardFunctions({ accuracy: 1, format: 0.5, readability: 0.25, preference: 2 }, rm);
  assert.deepEqual(all.map((f) => [f.name, f.weight]), [['accuracy', 1], ['format', 0.5], ['readability', 0.25], ['preference', 2]]);
  const run = (text: string, problem: Problem) => all.map((f) => f.fn(info(problem, text)));
  // a correct task answer with half its reasoning readable
  assert.deepEqual(run(`zebra\n3 + 4 = 7\n</think>\n\nThe answer is ${ans}.`, p), [1, 1, 0.5, 0]);
  // a wrong one, well formed
  assert.deepEqual(run(`3 + 4 = 7\n</think>\n\nThe answer is ${Number(ans) + 1}.`, p), [0, 1, 1, 0]);
  // unclosed reasoning: no accuracy, format or readability
  assert.deepEqual(run(`3 + 4 = 7\nThe answer is ${ans}.`, p), [0, 0, 0, 0]);
  // chat: format is the reply check, preference σ(score of the reply only) = σ(ln 3) = 3/4
  const pref = run('let me think\n</think>\n\nHi there', chat);
  assert.deepEqual(pref.slice(0, 3), [0, 1, 0]);
  assert.ok(Math.abs(pref[3] - 0.75) < 1e-12, `σ(ln 3) = 0.75, got ${pref[3]}`);
  assert.deepEqual(run('Hi there', chat), [0, 0, 0, 0], 'unclosed: no preference');
  assert.deepEqual(run('</think>\n\nThe answer is 4.', chat).slice(0, 2), [0, 1], 'a chat reply is never scored for accuracy');
  assert.equal(readabilityReward(info(p, '3 + 4 = 7\nzebra\n</think>\n\nx')), 0.5);
  assert.equal(readabilityReward(info(p, '3 + 4 = 7')), 0, 'not closed');
  // weights 0 leave the optional rewards out; no reward model, no preference
  assert.deepEqual(r1RewardFunctions({ accuracy: 1, format: 1, readability: 0, preference: 0 }, rm).map((f) => f.name), ['accuracy', 'format']);
  assert.deepEqual(r1RewardFunctions({ accuracy: 1, format: 1, readability: 0, preference: 1 }, null).map((f) => f.name), ['accuracy', 'format']);
  assert.deepEqual(r1RewardFunctions({ accuracy: 0, format: 0, readability: 1, preference: 0 }, rm).map((f) => [f.name, f.weight]), [['accuracy', 0], ['format', 0], ['readability', 1]]);
});
