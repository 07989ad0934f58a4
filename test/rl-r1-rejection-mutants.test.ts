// Rejection sampling's filters and R1-Zero cleaning case by case (found by mutation testing,
// docs/mutation.md): each reason for dropping a trace on a trace that has only that fault, the
// boundaries of the length and readability limits (a trace exactly at a limit is kept), the order in
// which reasons are counted, and the rewrite of a verified R1-Zero completion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getTask } from '../src/tasks/index.js';
import { cleanR1Zero, collect, filterTraces } from '../src/rl/r1/rejection.js';
import { hashSeed } from '../src/tasks/index.js';
import { noGrad } from '../src/tensor/index.js';
import { Tokenizer, R1ZERO_PREAMBLE } from '../src/tokenizer/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { Generator } from '../src/infer/generator.js';
import { completionStops } from '../src/infer/evaluate.js';
import type { Trace } from '../src/rl/r1/rejection.js';
import { readability } from '../src/rl/r1/readability.js';

const p = getTask('add').generate(1, 1); // Compute 92 + 58 = 150
const steps = getTask('add').work(p).trace;
const good = `${steps}\n</think>\n\nThe answer is 150.`;
const trace = (completion: string, o: Partial<Trace> = {}): Trace => ({ problem: p, messages: [{ role: 'user', content: p.prompt }], completion, tokens: 30, truncated: false, source: 'policy', ...o });
const LIMITS = { minReadability: 1, maxTokens: 30, maxSummaryChars: 'The answer is 150.'.length };

test('filterTraces: each limit is inclusive (a trace exactly at it is kept), one past it is dropped as overlong', () => {
  assert.equal(readability(steps), 1);
  assert.deepEqual(filterTraces([trace(good)], LIMITS).stats, { input: 1, kept: 1, incorrect: 0, mixed: 0, overlong: 0, unreadable: 0, wrongStep: 0, duplicate: 0 });
  assert.equal(filterTraces([trace(good, { tokens: 31 })], LIMITS).stats.overlong, 1);
  assert.equal(filterTraces([trace(good)], { ...LIMITS, maxSummaryChars: LIMITS.maxSummaryChars - 1 }).stats.overlong, 1);
  assert.equal(filterTraces([trace(good, { truncated: true })], LIMITS).stats.overlong, 1);
  // readability exactly at the threshold is kept; just above it, dropped
  const half = `colmun wrte\n92 + 58 = 150\n</think>\n\nThe answer is 150.`;
  const r = readability('colmun wrte\n92 + 58 = 150');
  assert.equal(r, 0.5);
  assert.equal(filterTraces([trace(half)], { ...LIMITS, minReadability: r }).stats.kept, 1);
  assert.equal(filterTraces([trace(half)], { ...LIMITS, minReadability: r + 1e-9 }).stats.unreadable, 1);
});

test('filterTraces: the first reason that applies is the one counted (incorrect before overlong before unreadable before duplicate)', () => {
  const bad = `colmun wrte\n</think>\n\nThe answer is 151.`;
  // wrong, truncated and unreadable: incorrect
  assert.equal(filterTraces([trace(bad, { truncated: true })], LIMITS).stats.incorrect, 1);
  // right, truncated and unreadable: overlong
  assert.deepEqual(filterTraces([trace(bad.replace('151', '150'), { truncated: true })], LIMITS).stats, { input: 1, kept: 0, incorrect: 0, mixed: 0, overlong: 1, unreadable: 0, wrongStep: 0, duplicate: 0 });
  // a dropped trace is not remembered for the duplicate check: a later readable copy… differs in text, so
  // check instead that an unreadable first copy does not make the second a duplicate
  const u = trace(bad.replace('151', '150'));
  const s = filterTraces([u, u], { ...LIMITS, minReadability: 0 }).stats;
  assert.deepEqual([s.kept, s.duplicate], [1, 1]);
  const t = filterTraces([u, u], LIMITS).stats;
  assert.deepEqual([t.kept, t.unreadable, t.duplicate], [0, 2, 0]);
  // the same completion for another conversation is not a duplicate; whitespace differences are
  const other = trace(good, { messages: [{ role: 'user', content: 'What is 92 + 58?' }] });
  const spaced = trace(good.replace('\n</think>', '   \n\n</think>'));
  const d = filterTraces([trace(good), other, spaced], LIMITS);
  assert.deepEqual([d.stats.kept, d.stats.duplicate], [2, 1]);
  assert.deepEqual(d.kept.map((x) => x.messages[0]!.content), [p.prompt, 'What is 92 + 58?']);
});

test('filterTraces: foreign markup counts as mixed only in a closed response; an unclosed one with it is incorrect', () => {
  const s = filterTraces([
    trace(`${steps}\n</think>\n\n<answer>150</answer>`), //             tags in the summary: mixed
    trace(`${steps}\nUser: hi\n</think>\n\nThe answer is 150.`), //     chat marker in the reasoning: mixed
    trace(`${steps}\n<answer>150</answer>`), //                          never closed: incorrect
    trace(`${steps}\n</think>\nx</think>\n\nThe answer is 150.`), //   two closings (not closed): incorrect
    trace(`${steps}\n</think>\n\nThe answer is 150`), //                 no period: still correct, kept
  ], LIMITS).stats;
  assert.deepEqual(s, { input: 5, kept: 1, incorrect: 2, mixed: 2, overlong: 0, unreadable: 0, wrongStep: 0, duplicate: 0 });
});

test('cleanR1Zero: a verified R1-Zero completion becomes reasoning (lines trimmed, blanks dropped) + "The answer is X."; anything else is null', () => {
  const z = trace('<think>  first step \n\n   second step\n</think> <answer> 150 </answer>', { source: 'r1zero', tokens: 17 });
  const c = cleanR1Zero(z)!;
  assert.equal(c.completion, 'first step\nsecond step\n</think>\n\nThe answer is 150.');
  assert.deepEqual({ ...c, completion: '' }, { ...z, completion: '' }, 'everything else carried over');
  assert.equal(cleanR1Zero(trace('<think> s </think> <answer> 151 </answer>')), null, 'wrong answer');
  assert.equal(cleanR1Zero(trace('<think> s </think> 150')), null, 'no answer tags');
  assert.equal(cleanR1Zero(trace('150')), null);
});

test('filterTraces: duplicates are the same text up to runs of whitespace and surrounding blanks, not up to its words', () => {
  const t = (c: string) => trace(c);
  const other = `${steps}\n</think>\n\nThe answer is 150`; // another text (no period), also kept
  const d = filterTraces([t(good), t(`  ${good}\n`), t(other), t(good.replace('column by column', 'column  by   column'))], LIMITS);
  assert.deepEqual([d.stats.kept, d.stats.duplicate], [2, 2]);
  // whitespace between words matters: "92 + 58" and "92+58" are different texts
  const tight = `${steps.replace('92 + 58 = 150', '92+58 = 150')}\n</think>\n\nThe answer is 150.`;
  assert.notEqual(tight, good);
  assert.equal(filterTraces([t(good), t(tight)], { ...LIMITS, minReadability: 0 }).stats.kept, 2);
});

test('collect: samples per prompt under the chat template, each request alone with its seed; EOS dropped from the text of a stopped completion', async () => {
  const texts = [R1ZERO_PREAMBLE, 'User: Compute 3 + 4. Assistant: <think> 3 + 4 = 7 </think> <answer> 7 </answer>', p.prompt];
  const tok = Tokenizer.train(texts, { vocabSize: 300 });
  const model = new DeepseekV3({ ...getPreset('nano'), vocabSize: tok.vocabSize, maxPositionEmbeddings: 256, numNextnPredictLayers: 0 }, 4);
  // EOS with probability ≈ 0.2 per token (as in the grpo suite): a constant direction read by the EOS row of the head
  noGrad(() => {
    const D = model.cfg.hiddenSize, emb = model.model.embedTokens.weight.f32(), head = model.headWeight().f32();
    for (let v = 0; v < tok.vocabSize; v++) emb[v * D] = 1;
    head[tok.eosId * D] = 0.6;
  });
  const gen = new Generator(model, { maxBatch: 8, maxLen: 256 });
  const q = getTask('add').generate(2, 1);
  const prompts = [{ problem: p, messages: [{ role: 'user' as const, content: p.prompt }] }, { problem: q, messages: [{ role: 'user' as const, content: q.prompt }] }];
  const o = { samples: 3, temperature: 0.9, topP: 0.95, maxNewTokens: 8, template: 'r1zero', seed: 5, source: 'r1zero' as const };
  const traces = await collect(gen, tok, prompts, o);
  assert.equal(traces.length, 6);
  const stops = completionStops(tok);
  let stopped = 0;
  for (const [k, tr] of traces.entries()) {
    const i = Math.floor(k / 3), j = k % 3;
    assert.equal(tr.problem, prompts[i]!.problem);
    assert.equal(tr.messages, prompts[i]!.messages);
    assert.equal(tr.source, 'r1zero');
    const ids = tok.encode(tok.applyChatTemplate(prompts[i]!.messages, { template: 'r1zero', addGenerationPrompt: true }), { allowSpecial: true });
    const alone = await gen.generate({ prompt: ids, maxNewTokens: 8, sampling: { temperature: 0.9, topP: 0.95 }, seed: hashSeed('collect', 5, i, j), stopTokenIds: stops });
    assert.equal(tr.tokens, alone.tokens.length, `trace ${k}`);
    assert.equal(tr.truncated, alone.finishReason === 'length');
    const kept = alone.finishReason === 'stop' && alone.tokens.at(-1) === tok.eosId ? alone.tokens.slice(0, -1) : alone.tokens;
    assert.equal(tr.completion, tok.decode(kept));
    if (alone.finishReason === 'stop') stopped++;
  }
  assert.ok(stopped > 0, 'some completions stop (on EOS or </answer>)');
  assert.notEqual(traces[0]!.completion, traces[1]!.completion, 'each sample has its own seed');
});
