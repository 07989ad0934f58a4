// The R1 pipeline's parts against hand computations: the Bradley–Terry reward-model loss and gradient,
// rejection sampling's filters, the readability (language-consistency) reward on hand-written thinking,
// the multi-turn SFT template (earlier turns keep only their answers, as DeepSeek-R1's chat template),
// and the disjointness of training and held-out phrasings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../src/tensor/index.js';
import { btLoss, rmFeatures, trainRewardModel } from '../src/rl/r1/reward-model.js';
import { filterTraces } from '../src/rl/r1/rejection.js';
import type { Trace } from '../src/rl/r1/rejection.js';
import { readability, readableStep } from '../src/rl/r1/readability.js';
import { parseR1, r1FormatOk, r1Response, r1Verify, answerSummary, summaryAnswer } from '../src/rl/r1/format.js';
import { TRAIN_PHRASINGS, fillPhrasing, phrasingsFor, pickPhrasing, trainPhrasing } from '../src/rl/r1/phrasings.js';
import { HELDOUT_PHRASINGS } from '../src/rl/r1/phrasings-heldout.js';
import { story, STORY_PARTS } from '../src/rl/r1/stories.js';
import { multiTurnRows, writtenResponse } from '../src/rl/r1/data.js';
import { HELDOUT_GENERAL, TRAIN_GENERAL, CATEGORIES, REPLIES, generalPrompts, heldoutMarkersIn, preferencePairs, rejectedKinds } from '../src/data/conversations.js';
import { getTask, sampleProblem, streamSeed, taskNames } from '../src/tasks/index.js';
import { Rng } from '../src/tasks/rng.js';
import { Tokenizer, applyChatTemplate, SPECIAL } from '../src/tokenizer/index.js';
import type { ChatMessage } from '../src/tokenizer/index.js';
import { encodeExample } from '../src/train/sft-data.js';
import { r1RewardFunctions } from '../src/rl/r1/rewards.js';
import { baseRecipeOf, checkR1Recipe, runStage } from '../src/rl/r1/pipeline.js';
import { loadR1Recipe, parseR1Recipe } from '../src/rl/r1/config.js';
import os from 'node:os';

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);
const sig = (x: number) => 1 / (1 + Math.exp(-x));

test('reward model: Bradley–Terry loss and gradient equal a hand computation', () => {
  // Two pairs, three features: Δ_i = (φc_i − φr_i) · w.
  const w0 = [0.5, -1, 2];
  const c = [[1, 0, 0.5], [0, 2, 1]];
  const r = [[0, 1, 0], [1, 0, 3]];
  const l2 = 0.1;
  const d = c.map((ci, i) => ci.map((x, j) => x - r[i]![j]!));
  const delta = d.map((di) => di.reduce((s, x, j) => s + x * w0[j]!, 0)); // [1.5, -7]
  const loss = delta.reduce((s, x) => s + Math.log(1 + Math.exp(-x)), 0) / 2 + (l2 / 2) * w0.reduce((s, x) => s + x * x, 0);
  const grad = w0.map((wj, j) => -d.reduce((s, di, i) => s + sig(-delta[i]!) * di[j]!, 0) / 2 + l2 * wj);
  const w = Tensor.from(Float32Array.from(w0), [3, 1]).requiresGrad_();
  const L = btLoss(w, Tensor.from(Float32Array.from(c.flat()), [2, 3]), Tensor.from(Float32Array.from(r.flat()), [2, 3]), l2);
  close(L.item(), loss);
  L.backward();
  const g = w.grad!.f32();
  for (let j = 0; j < 3; j++) close(g[j]!, grad[j]!);
  // At w = 0 the gradient is −½·mean(φc − φr) (training can start there); a large margin stays finite: Δ = −200 gives loss 200.
  const w1 = Tensor.zeros([3, 1]).requiresGrad_();
  btLoss(w1, Tensor.from(Float32Array.from(c.flat()), [2, 3]), Tensor.from(Float32Array.from(r.flat()), [2, 3]), 0).backward();
  for (let j = 0; j < 3; j++) close(w1.grad!.f32()[j]!, -0.25 * (d[0]![j]! + d[1]![j]!));
  const big = btLoss(Tensor.from(Float32Array.from([100]), [1, 1]), Tensor.from(Float32Array.from([0]), [1, 1]), Tensor.from(Float32Array.from([2]), [1, 1]), 0);
  close(big.item(), 200, 1e-3);
});

test('reward model: training ranks held-out pairs (prompts never trained on) better than chance', () => {
  const trainPairs = preferencePairs(generalPrompts(TRAIN_GENERAL), 7, 1);
  const held = preferencePairs(generalPrompts(HELDOUT_GENERAL), 7, 2);
  // Every category gets the same number of pairs and every kind of rejected answer of its own; a prompt
  // the model can answer has the refusal among its rejected answers, an out-of-scope request does not.
  for (const [pairs, list] of [[trainPairs, TRAIN_GENERAL], [held, HELDOUT_GENERAL]] as const) {
    const category = new Map(generalPrompts(list).map((g) => [g.text, g.category]));
    const per = CATEGORIES.map((c) => pairs.filter((p) => category.get(p.prompt) === c));
    assert.equal(new Set(per.map((x) => x.length)).size, 1, `pairs per category: ${per.map((x) => x.length)}`);
    CATEGORIES.forEach((c, i) => assert.deepEqual(new Set(per[i]!.map((p) => p.kind)), new Set(rejectedKinds(c)), c));
  }
  assert.deepEqual(new Set(rejectedKinds('greeting')), new Set(['empty', 'off_topic', 'number', 'repetition', 'garbled', 'misspelled', 'leaked', 'refusal']));
  assert.ok(!rejectedKinds('out_of_scope').includes('refusal'));
  // The refusal is rejected about as often as it is chosen (within a fifth), so its words are not good in themselves.
  const refusals = new Set(REPLIES.out_of_scope);
  const chosenRefusal = trainPairs.filter((p) => refusals.has(p.chosen)).length, rejectedRefusal = trainPairs.filter((p) => refusals.has(p.rejected)).length;
  assert.ok(Math.abs(chosenRefusal - rejectedRefusal) < 0.2 * chosenRefusal, `refusal chosen ${chosenRefusal}, rejected ${rejectedRefusal}`);
  for (const p of trainPairs.filter((x) => x.kind === 'refusal')) assert.ok(refusals.has(p.rejected) && !refusals.has(p.chosen), p.prompt);
  const { model, losses } = trainRewardModel(trainPairs, { dim: 1024, steps: 60, lr: 0.05, l2: 1e-4 });
  assert.ok(losses.at(-1)! < losses[0]! * 0.5, `loss ${losses[0]} → ${losses.at(-1)}`);
  close(losses[0]!, Math.log(2), 1e-6); // w = 0: every pair is a coin flip
  assert.ok(model.pairAccuracy(trainPairs) > 0.9);
  assert.ok(model.pairAccuracy(held) > 0.7, `held-out pair accuracy ${model.pairAccuracy(held)}`);
  // Held-out greetings, capability questions and thanks: the category's best reply beats the best refusal.
  for (const c of ['greeting', 'capabilities', 'thanks'] as const) {
    for (const prompt of HELDOUT_GENERAL[c]) {
      const own = Math.max(...REPLIES[c].map((y) => model.score(prompt, y))), refusal = Math.max(...REPLIES.out_of_scope.map((y) => model.score(prompt, y)));
      assert.ok(own > refusal, `"${prompt}": ${c} reply ${own.toFixed(3)} vs refusal ${refusal.toFixed(3)}`);
    }
  }
  assert.equal(rmFeatures('hi', 'hello there', 64).length, 64);
  // A tiny model's garble of the right words scores below the clean reply.
  const clean = REPLIES.identity[0]!;
  assert.ok(model.score('Who are you?', clean) > model.score('Who are you?', 'I t tinys a t I on a t, a I on arithmetic, arithmetic, and simplesn pimplesU.'));
});

test('no two categories\' replies begin with the same word, so the first token of a reply commits to one category', () => {
  const firstWord = (r: string) => /^[A-Za-z]+/.exec(r)![0].toLowerCase(); // "I'm" and "I can" both begin with "i"
  for (const c of CATEGORIES) for (const c2 of CATEGORIES) {
    if (c === c2) continue;
    const shared = REPLIES[c].map(firstWord).filter((w) => REPLIES[c2].map(firstWord).includes(w));
    assert.deepEqual(shared, [], `${c} and ${c2} replies both begin with ${shared.join(', ')}`);
  }
});

test('training and held-out general prompts are disjoint', () => {
  for (const c of CATEGORIES) for (const t of HELDOUT_GENERAL[c]) {
    for (const c2 of CATEGORIES) assert.ok(!TRAIN_GENERAL[c2].some((x) => x.toLowerCase() === t.toLowerCase()), t);
  }
});

test('no training general prompt shares a held-out marker word, has a digit or repeats; every held-out out-of-scope prompt has a marker', () => {
  const all = CATEGORIES.flatMap((c) => TRAIN_GENERAL[c]);
  assert.deepEqual(all.filter((t) => heldoutMarkersIn(t).length > 0), []);
  assert.deepEqual(all.filter((t) => /\d/.test(t)), [], 'a digit in a general prompt would teach that numbers can mean chat');
  assert.equal(new Set(all.map((t) => t.toLowerCase())).size, all.length);
  for (const c of ['greeting', 'capabilities', 'out_of_scope', 'thanks'] as const) for (const t of HELDOUT_GENERAL[c]) assert.ok(heldoutMarkersIn(t).length > 0, t);
  assert.deepEqual(heldoutMarkersIn('Summarize this email'), ['summar']);
  assert.deepEqual(heldoutMarkersIn('a comfortable table at nighttime'), [], 'markers match from a word start only');
  assert.ok(TRAIN_GENERAL.out_of_scope.length >= 200, 'out-of-scope requests come in many wordings');
});

test('out-of-scope prompts include the arithmetic phrasings\' frames and words with no numbers in them, so neither alone reads as a problem', () => {
  const oos = TRAIN_GENERAL.out_of_scope;
  for (const frame of ['What is ', 'Calculate ', 'Can you work out ', 'How much is ', 'Find ', 'What does ', 'Please solve ', 'Quick question: ']) {
    assert.ok(oos.filter((t) => t.startsWith(frame)).length >= 5, frame);
  }
  for (const word of ['sum', 'add', 'subtract', 'multiply', 'sort', 'solve', 'count', 'difference', 'product', 'left']) {
    assert.ok(oos.some((t) => new RegExp(String.raw`\b${word}\b`, 'i').test(t)), word);
  }
  // and capability questions come in the out-of-scope shapes too, so the shape alone does not mean "refuse"
  for (const shape of [/^Can you help me with /, /^How much do you know about /]) {
    assert.ok(TRAIN_GENERAL.capabilities.some((t) => shape.test(t)) && oos.some((t) => shape.test(t)), String(shape));
  }
});

test('readability: worked solutions score 1; garbled, stuttering, tagged or run-on thinking scores less', () => {
  for (const family of taskNames()) {
    for (const d of getTask(family).difficulties) {
      const p = sampleProblem(family, d, 'test', streamSeed('test', 99, family, d, 0));
      assert.equal(readability(getTask(family).work(p).trace), 1, `${family} d${d}`);
    }
  }
  const good = 'add column by column from the right\ncolumn 1: 3 + 8 = 11, write 1, carry 1\ncolumn 2: 2 + 5 + 1 = 8, write 8\n23 + 58 = 81';
  assert.equal(readability(good), 1);
  assert.equal(readability('wait, let me check again\n23 + 58 = 81'), 1);
  // Out-of-vocabulary fragments (garbled BPE), a stutter, a repeated line, tags, a run-on line.
  assert.equal(readableStep('colmun 1: 3 + 8 = 11 wrte 1'), false);
  assert.equal(readableStep('column column column 1'), false);
  assert.equal(readableStep('3 + 8 = 11', '3 + 8 = 11'), false);
  assert.equal(readableStep('3 + 8 = 11 <answer>81</answer>'), false);
  assert.equal(readableStep(`${'column 1: 3 + 8 = 11, '.repeat(7)}`), false);
  assert.equal(readableStep('列 1: 3 + 8 = 11'), false);
  assert.equal(readableStep('+ = ,'), false); // no word or number
  const bad = 'add column by column from the right\ncolmun 1: 3 + 8 = 11\n3 + 8 = 11\n3 + 8 = 11';
  close(readability(bad), 2 / 4); // line 2 garbled, line 4 repeats line 3
  assert.equal(readability(''), 0);
  assert.equal(readability('\n \n'), 0);
});

/** A trace for problem p with the given completion. */
function trace(p: ReturnType<typeof sampleProblem>, completion: string, o: Partial<Trace> = {}): Trace {
  return { problem: p, messages: [{ role: 'user', content: p.prompt }], completion, tokens: 30, truncated: false, source: 'policy', ...o };
}

test('rejection sampling: keeps correct readable traces; drops incorrect, mixed, overlong, unreadable and duplicates', () => {
  const p = getTask('add').generate(1, 1);
  const a = Number(p.meta.a), b = Number(p.meta.b);
  const steps = getTask('add').work(p).trace;
  const good = `${steps}\n</think>\n\nThe answer is ${a + b}.`;
  const traces: Trace[] = [
    trace(p, good),                                                                   // kept
    trace(p, good),                                                                   // duplicate
    trace(p, `${steps}\n\n</think>\n\n  The answer is ${a + b}.`),                     // same text up to whitespace: duplicate
    trace(p, `${steps}\n</think>\n\nThe answer is ${a + b + 1}.`),                    // incorrect
    trace(p, `${steps}\n</think>\n\n<answer>${a + b}</answer>`),                       // mixed (R1-Zero answer tags as the summary)
    trace(p, `${steps}\n<answer>${a + b}</answer>\n</think>\n\nThe answer is ${a + b}.`), // mixed (R1-Zero tags in the reasoning)
    trace(p, `${steps}\n</think>\n\nThe answer is ${a + b}.`, { truncated: true }),    // overlong
    trace(p, `${steps}\n</think>\n\nThe answer is ${a + b}.`, { tokens: 500 }),        // overlong
    trace(p, `colmun wrte ${a}\n</think>\n\nThe answer is ${a + b}.`),                // unreadable
    trace(p, `${a} + ${b} = ${a + b}\n</think>\n\nThe answer is ${a + b}.`, { messages: [{ role: 'user', content: `What is ${a} + ${b}?` }] }), // kept: another prompt
  ];
  const { kept, stats } = filterTraces(traces, { minReadability: 1, maxTokens: 200, maxSummaryChars: 60 });
  assert.deepEqual(stats, { input: 10, kept: 2, incorrect: 1, mixed: 2, overlong: 2, unreadable: 1, wrongStep: 0, duplicate: 2 });
  assert.equal(kept[0]!.completion, good);
  // A summary that is a long paragraph is overlong; a lower readability threshold keeps partly readable reasoning.
  const para = trace(p, `${steps}\n</think>\n\nThe answer is ${a + b}.`.replace('The answer', `${'so '.repeat(30)}the answer`));
  assert.equal(r1Verify(p, para.completion).correct, false);
  const half = trace(p, `colmun wrte\n${a} + ${b} = ${a + b}\n</think>\n\nThe answer is ${a + b}.`);
  assert.equal(filterTraces([half], { minReadability: 0.5, maxTokens: 200, maxSummaryChars: 60 }).stats.kept, 1);
  assert.equal(filterTraces([half], { minReadability: 0.9, maxTokens: 200, maxSummaryChars: 60 }).stats.unreadable, 1);
  const long = trace(p, `${steps}\n</think>\n\nThe answer is ${a + b}.`);
  assert.equal(filterTraces([long], { minReadability: 1, maxTokens: 200, maxSummaryChars: 10 }).stats.overlong, 1);
});

test('R1 format: parse, strict verdict and the stage rewards', () => {
  const p = getTask('add').generate(3, 1);
  const ans = String(Number(p.meta.a) + Number(p.meta.b));
  const resp = r1Response('a step', answerSummary(ans));
  assert.deepEqual(parseR1(resp), { thinking: 'a step', summary: `The answer is ${ans}.`, closed: true });
  assert.deepEqual(parseR1('a step\n</think>\n\nx'), { thinking: 'a step', summary: 'x', closed: true });
  assert.equal(parseR1('no close').closed, false);
  assert.equal(parseR1('a</think>b</think>c').closed, false);
  assert.equal(summaryAnswer('the answer is 42'), '42');
  assert.equal(summaryAnswer('The answer is 42.\nmore'), null);
  assert.equal(r1FormatOk(resp), true);
  assert.equal(r1FormatOk(`\n</think>\n\nThe answer is ${ans}.`), false); // empty reasoning
  assert.equal(r1Verify(p, resp).correct, true);
  const fns = r1RewardFunctions({ accuracy: 1, format: 0.25, readability: 0.5, preference: 1 }, { score: () => 0 });
  const info = { problem: p, text: resp.replace(/^<think>\n/, ''), length: 10, truncated: false };
  assert.deepEqual(fns.map((f) => [f.name, f.fn(info)]), [['accuracy', 1], ['format', 1], ['readability', 1], ['preference', 0]]);
  const chat = { ...info, problem: { family: 'chat', difficulty: 0, seed: 0, prompt: 'Hello', answer: '', meta: {} }, text: '\n</think>\n\nHi!' };
  assert.deepEqual(fns.map((f) => [f.name, f.fn(chat)]), [['accuracy', 0], ['format', 1], ['readability', 0], ['preference', 0.5]]);
});

/** DeepSeek-R1's chat template semantics, written independently: bos, then per message "<｜User｜>content" or "<｜Assistant｜>" + content.split('</think>')[-1] + eos, then "<｜Assistant｜><think>\n". */
function r1Reference(msgs: ChatMessage[]): string {
  let s = SPECIAL.bos;
  for (const m of msgs) {
    if (m.role === 'user') s += SPECIAL.user + m.content;
    else if (m.role === 'assistant') s += SPECIAL.assistant + m.content.split('</think>').at(-1) + SPECIAL.eos;
  }
  return s + `${SPECIAL.assistant}<think>\n`;
}

test('multi-turn SFT examples: earlier turns keep only their answers; only the last turn\'s reasoning is trained', () => {
  const rows = multiTurnRows(8, ['add', 'sub'], [1], 5);
  const tok = Tokenizer.train(rows.flatMap((r) => r.messages.map((m) => m.content)), { vocabSize: 400 });
  for (const row of rows) {
    const msgs = row.messages;
    assert.equal(msgs.length, 4);
    const promptText = applyChatTemplate(msgs.slice(0, -1), { addGenerationPrompt: true });
    assert.equal(promptText, r1Reference(msgs.slice(0, -1)));
    // The earlier assistant turn's reasoning is gone from the context, its answer is there.
    const earlier = parseR1(msgs[1]!.content);
    if (earlier.thinking) assert.ok(!promptText.includes(earlier.thinking), row.source);
    assert.ok(promptText.includes(`${SPECIAL.assistant}\n\n${earlier.summary}${SPECIAL.eos}`));
    assert.equal((promptText.match(/<think>/g) ?? []).length, 1); // only the generation prompt's
    // encodeExample trains on exactly the last turn (its reasoning and answer) and EOS.
    const ex = encodeExample({ messages: msgs }, tok, 512);
    const P = tok.encode(promptText, { allowSpecial: true }).length;
    const trained = Array.from(ex.ids).filter((_, t) => t > 0 && ex.weights[t - 1] === 1);
    assert.equal(ex.weights.slice(0, P - 1).reduce((a, x) => a + x, 0), 0);
    const last = msgs[3]!.content.replace(/^<think>\n/, '');
    assert.equal(tok.decode(trained), last + SPECIAL.eos);
  }
  assert.deepEqual(new Set(rows.map((r) => r.source)), new Set(['multi:follow-up', 'multi:greeting-then-problem', 'multi:thanks', 'multi:out_of_scope']));
});

test('held-out phrasings never coincide with training phrasings, and no training-data code imports them', () => {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9+\-*=]/g, '');
  const trainT = new Set(TRAIN_PHRASINGS.map((x) => x.template));
  for (const h of HELDOUT_PHRASINGS) assert.ok(!trainT.has(h.template), h.template);
  const rng = new Rng(3);
  for (const family of taskNames()) {
    for (const d of getTask(family).difficulties) {
      for (let i = 0; i < 5; i++) {
        const p = sampleProblem(family, d, 'test', streamSeed('test', 1, family, d, i));
        const train = new Set(phrasingsFor(TRAIN_PHRASINGS, p).map((t) => norm(fillPhrasing(t, p)!)));
        for (let j = 0; j < 20; j++) train.add(norm(trainPhrasing(p, rng)));
        const held = phrasingsFor(HELDOUT_PHRASINGS, p).map((t) => fillPhrasing(t, p)!);
        assert.ok(held.length > 0, `${family}: no held-out phrasing`);
        for (const h of held) assert.ok(!train.has(norm(h)), `${family}: held-out "${h}" equals a training phrasing`);
        // Every phrasing keeps the problem's answer checkable.
        assert.ok(getTask(family).check(p, p.answer));
      }
    }
  }
  // Only the evaluation reads the held-out file.
  const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
  const importers: string[] = [];
  const walk = (d: string) => { for (const f of fs.readdirSync(d)) { const q = path.join(d, f); if (fs.statSync(q).isDirectory()) walk(q); else if (f.endsWith('.ts') && /(?:from|import)\s*\(?\s*['"][^'"]*phrasings-heldout/.test(fs.readFileSync(q, 'utf8'))) importers.push(path.relative(src, q)); } };
  walk(src);
  assert.deepEqual(importers.sort(), ['rl/r1/evaluate.ts']);
});

test('story phrasings of subtraction (things left over) apply only when nothing goes below zero', () => {
  const stories = TRAIN_PHRASINGS.filter((x) => x.families.includes('sub') && x.when).map((x) => x.template);
  assert.ok(stories.length >= 4 && stories.some((t) => t.includes('coins')));
  let below = 0, above = 0;
  for (let i = 0; i < 200; i++) {
    const p = sampleProblem('sub', 2, 'train', streamSeed('train', 7, 'sub', 2, i));
    const got = phrasingsFor(TRAIN_PHRASINGS, p);
    const a = p.meta.a as number, b = p.meta.b as number;
    if (a < b) { below++; for (const t of stories) assert.ok(!got.includes(t), `${a} - ${b}: "${t}" offered`); } else { above++; for (const t of stories) assert.ok(got.includes(t), `${a} - ${b}: "${t}" missing`); }
    assert.ok(got.includes('Subtract {b} from {a}'), 'plain wordings apply to every problem');
  }
  assert.ok(below > 0 && above > 0, `both cases drawn (${below} below zero, ${above} not)`);
});

test('written responses are in R1 format and verified correct', () => {
  for (const family of taskNames()) {
    const p = sampleProblem(family, getTask(family).difficulties[0]!, 'train', 11);
    assert.equal(r1Verify(p, writtenResponse(p)).correct, true, family);
  }
});

test('pipeline stages: a complete stage is skipped on a rerun; a failed one leaves no marker and runs again', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-r1-stage-'));
  try {
    const said: string[] = [];
    let runs = 0;
    await assert.rejects(runStage(path.join(dir, 's'), 's', async () => { runs++; throw new Error('killed'); }, (m) => said.push(m)), /killed/);
    assert.equal(fs.existsSync(path.join(dir, 's', 'STAGE.json')), false);
    const a = await runStage(path.join(dir, 's'), 's', async () => { runs++; return { x: 1 }; }, (m) => said.push(m), { steps: 3 });
    const b = await runStage(path.join(dir, 's'), 's', async () => { runs++; return { x: 2 }; }, (m) => said.push(m), { steps: 3 });
    assert.equal(runs, 2);
    assert.deepEqual([a.info, a.skipped, b.info, b.skipped, b.seconds], [{ x: 1 }, undefined, { x: 1 }, true, a.seconds]);
    await runStage(path.join(dir, 's'), 's', async () => ({}), (m) => said.push(m), { steps: 4 });
    assert.ok(said.some((m) => m.includes('settings for this stage changed')), said.join('\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pipeline recipes: r1-nano and r1-mini check out section by section; a bad section is refused up front', () => {
  for (const preset of ['nano', 'mini']) checkR1Recipe(loadR1Recipe(preset));
  const r = loadR1Recipe('nano');
  assert.throws(() => checkR1Recipe(parseR1Recipe({ ...r, rl4: { ...r.rl4, grpo: { ...r.rl4.grpo, lr: -1 } } })), /r1-nano-stage4 \(recipe section\) is invalid:\n {2}lr/);
  assert.throws(() => checkR1Recipe(parseR1Recipe({ ...r, tasks: { families: ['add'], difficulties: [9] } })), /add has no difficulty 9/);
  assert.throws(() => checkR1Recipe(parseR1Recipe({ ...r, sft3: { train: { steps: 0 } } })), /r1-nano-stage3/);
});

test('a missing base is pretrained with baseRecipe (a file from the working directory or the package root), else the preset\'s built-in recipe; a bad one is refused up front', () => {
  const r = loadR1Recipe('nano');
  const missing = path.join(os.tmpdir(), 'tinyseek-no-such-base', 'final');
  // default: recipes/pretrain-<preset>.json
  const def = baseRecipeOf({ ...r, base: missing });
  assert.deepEqual([def.file, def.recipe.name, def.recipe.kind], ['recipes/pretrain-nano.json', 'pretrain-nano', 'pretrain']);
  // recipes/r1-small-prose.json names its own: found from any working directory (here the temp dir)
  const small = loadR1Recipe('small-prose');
  const cwd = process.cwd();
  process.chdir(os.tmpdir());
  try {
    const got = baseRecipeOf({ ...small, base: missing });
    assert.deepEqual([got.file, got.recipe.name, got.recipe.train.steps], ['recipes/pretrain-small-prose.json', 'pretrain-small-prose', 4300]);
    assert.equal(got.recipe.model.overrides?.hidden_size, 256);
  } finally {
    process.chdir(cwd);
  }
  // a file that does not exist, a recipe of another kind, and a base that a pretraining run cannot write
  assert.throws(() => checkR1Recipe({ ...r, base: missing, baseRecipe: 'recipes/pretrain-nanoo.json' }), /r1-nano: baseRecipe recipes\/pretrain-nanoo.json not found \(looked in /);
  assert.throws(() => checkR1Recipe({ ...r, base: missing, baseRecipe: 'recipes/sft-nano.json' }), /r1-nano: baseRecipe recipes\/sft-nano.json is a sft recipe; expected "kind": "pretrain"/);
  assert.throws(() => checkR1Recipe({ ...r, base: path.join(os.tmpdir(), 'tinyseek-no-such-base', 'model') }), /base .*tinyseek-no-such-base.model does not exist and cannot be pretrained there: .* must be a path ending in \/final/);
  // an existing base needs no pretraining recipe: a bad baseRecipe is not looked at
  checkR1Recipe({ ...loadR1Recipe('mini'), baseRecipe: 'recipes/pretrain-nanoo.json' });
});

test('composed word problems: the answer is a + b or a − b, the same problem reads the same way, they vary, and no part uses the held-out stories\' words', () => {
  const seen = new Set<string>();
  for (let a = 10; a < 60; a += 7) {
    for (let b = 1; b < 40; b += 5) {
      const more = story(a, b, 'more', a * 1009 + b);
      assert.equal(more, story(a, b, 'more', a * 1009 + b));
      const nums = (s: string) => (s.match(/\d+/g) ?? []).map(Number);
      assert.deepEqual(nums(more), [a, b], more);
      assert.match(more, /How many|total/);
      seen.add(more.replace(/\d+/g, 'N'));
      if (a >= b) assert.deepEqual(nums(story(a, b, 'fewer', a + b)), [a, b]);
    }
  }
  assert.ok(seen.size > 30, `only ${seen.size} distinct add stories`);
  // the held-out word problems' own words (phrasings-heldout.ts) stay out of training
  assert.ok(STORY_PARTS.length > 60 && ['apples', 'A van carries', 'Priya', 'are sold', 'collects', 'How many {items} remain?'].every((x) => STORY_PARTS.includes(x)), 'the check below reads every part');
  for (const part of STORY_PARTS) assert.doesNotMatch(part, /shelf|books|arrive|away from|take/i, part);
  for (const h of HELDOUT_PHRASINGS) for (const part of STORY_PARTS) if (part.length > 8) assert.ok(!h.template.includes(part), `${part} in ${h.template}`);
});

test('training phrasings are drawn by weight: the composed stories are about a third of the phrased add rows, and of the sub rows they apply to', () => {
  const weight = (t: string) => TRAIN_PHRASINGS.find((x) => x.template === t)!.weight ?? 1;
  assert.equal(weight('{story}'), 5);
  assert.equal(weight('Add {a} and {b}'), 1);
  for (const family of ['add', 'sub']) {
    const rng = new Rng(5);
    const count = new Map<string, number>();
    let n = 0, want = 0;
    for (let i = 0; i < 4000; i++) {
      const p = sampleProblem(family, 2, 'train', streamSeed('train', 9, family, 2, i));
      const ts = phrasingsFor(TRAIN_PHRASINGS, p);
      if (!ts.includes('{story}')) continue;
      n++;
      const t = pickPhrasing(p, rng);
      assert.ok(ts.includes(t), `${t} does not apply to ${p.prompt}`);
      count.set(t, (count.get(t) ?? 0) + 1);
      assert.equal(ts.reduce((s, x) => s + weight(x), 0), ts.length + 8, 'two stories of weight 5, the rest 1');
      want += 10 / (ts.length + 8);
    }
    want /= n;
    const share = ((count.get('{story}') ?? 0) + (count.get('{story2}') ?? 0)) / n;
    assert.ok(Math.abs(share - want) < 0.04 && share > 0.25, `${family}: stories drawn ${share.toFixed(3)} of ${n}, weights give ${want.toFixed(3)}`);
    assert.ok((count.get('{prompt}') ?? 0) > 0.02 * n, `${family}: the canonical wording still drawn`);
  }
});

test('every phrasing, training and held-out, keeps all of the problem\'s numbers in the text (a wording that drops one asks another question)', () => {
  const nums = (s: string) => (s.match(/\d+/g) ?? []).map(Number).sort((a, b) => a - b);
  for (const [kind, list] of [['train', TRAIN_PHRASINGS], ['held-out', HELDOUT_PHRASINGS]] as const) {
    for (const ph of list) {
      for (const family of ph.families) {
        if (!taskNames().includes(family)) continue;
        let applied = 0;
        for (let i = 0; i < 40 && applied < 3; i++) {
          const p = sampleProblem(family, getTask(family).difficulties[0]!, 'test', streamSeed('test', 21, family, 0, i));
          if (!phrasingsFor(list, p).includes(ph.template)) continue;
          applied++;
          const text = fillPhrasing(ph.template, p)!;
          assert.ok(text.trim().length > 0, `${kind} "${ph.template}" is empty`);
          const want = nums(p.prompt), got = nums(text);
          for (const n of want) assert.ok(got.includes(n), `${kind} "${ph.template}" for ${p.prompt}: ${n} missing from "${text}"`);
        }
        assert.ok(applied > 0, `${kind} "${ph.template}" applies to no ${family} problem`);
      }
    }
  }
});

test('composed word problems say what happens: "more" stories add (place or person), "fewer" stories take away, and the question is filled in', () => {
  const has = (s: string, parts: readonly string[]) => parts.some((p) => s.includes(p));
  const MORE = [' more are ', ' more come in', ' more join them', ' more.'], FEWER = ['are removed', 'are carried out', 'are sold', 'are given away', 'are lost', 'gives away', 'loses', 'sells', 'uses', 'trades'];
  let place = 0, person = 0;
  for (let key = 0; key < 300; key++) {
    const more = story(31, 12, 'more', key), fewer = story(31, 12, 'fewer', key);
    assert.ok(has(more, MORE) && !has(more, FEWER), `an addition story: ${more}`);
    assert.ok(has(fewer, FEWER) && !has(fewer, MORE), `a subtraction story: ${fewer}`);
    for (const s of [more, fewer]) {
      assert.doesNotMatch(s, /\{|\}| {2}|\bundefined\b/, s);
      assert.match(s, /^[A-Z].*\. [A-Z][^.]*\?$/, s);
      const items = s.match(/\b31 (\w+)/)![1]!;
      assert.ok(s.endsWith('?') && s.slice(s.lastIndexOf('. ')).includes(items), `the question asks about the ${items}: ${s}`);
    }
    if (/ has 31 \w+\. Then /.test(more)) {
      person++;
      assert.match(more, /have now\?$/);
      assert.match(fewer, /have left\?$/);
    } else {
      place++;
      assert.match(fewer, /left\?$|remain\?$|now\?$/);
      assert.doesNotMatch(more, /left\?$|remain\?$/, `an addition story asks for what is there, not what is left: ${more}`);
    }
  }
  assert.ok(place > 50 && person > 50, `both kinds of story: ${place} about a place, ${person} about a person`);
});
