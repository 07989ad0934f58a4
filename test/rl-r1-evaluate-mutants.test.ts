// The R1 pipeline's per-stage evaluation (src/rl/r1/evaluate.ts) against hand-counted numbers (found
// by mutation testing, docs/mutation.md). A scripted generator stands in for the model: it decodes
// each request's prompt, recognises the problem or conversation (the shipped model's tokenizer and
// default chat template, rendered by hand here) and answers with a chosen R1-format reply — greedy
// or sampled by the request's temperature, the sample picked by the request's seed — so every
// sample's verdicts (strict, lenient, well-formed, readability, reasoning length) are known, and
// every field of the result is checked exactly, along with the requests the evaluation makes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../src/tokenizer/index.js';
import { getTask } from '../src/tasks/index.js';
import type { Problem } from '../src/tasks/index.js';
import { heldOutProblems } from '../src/infer/evaluate.js';
import type { Generator, GenerateRequest, GenerateResult } from '../src/infer/generator.js';
import { evaluateFamilies, evaluateR1 } from '../src/rl/r1/evaluate.js';
import type { R1Eval, R1EvalOptions, R1FamilyEval } from '../src/rl/r1/evaluate.js';
import { answerSummary, r1Response } from '../src/rl/r1/format.js';
import { readability } from '../src/rl/r1/readability.js';
import type { RewardModel } from '../src/rl/r1/reward-model.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tok = Tokenizer.fromDir(path.join(root, 'models/tinyseek-r1-mini'));
const EOS = tok.eosId;
/** completionStops: EOS and </answer>. */
const STOPS = [tok.eosId, tok.idOf('</answer>')];
const ntok = (s: string) => tok.encode(s).length;

// The default chat template of the shipped model, by hand: an assistant turn keeps only its text after </think>.
const BOS = '<｜begin▁of▁sentence｜>', USER = '<｜User｜>', ASSISTANT = '<｜Assistant｜>', END = '<｜end▁of▁sentence｜>';
const chat1 = (u: string) => `${BOS}${USER}${u}${ASSISTANT}<think>\n`;
const chat2 = (u1: string, a: string, u2: string) => `${BOS}${USER}${u1}${ASSISTANT}\n\n${a}${END}${USER}${u2}${ASSISTANT}<think>\n`;
const ids = (text: string) => tok.encode(text, { allowSpecial: true });

// ---------------------------------------------------------------------------------------------
// Replies of known verdicts

interface Item { p: Problem; trace: string; answer: string; wrong: string }
function item(p: Problem): Item {
  const w = getTask(p.family).work(p);
  const wrong = p.family === 'sort' ? w.answer.split(', ').reverse().join(', ') : String(Number(w.answer) + 1);
  return { p, trace: w.trace, answer: w.answer, wrong };
}
const lastLine = (s: string) => s.split('\n').at(-1)!;
const GARBLED = 'colmun wrte';
/**
 * Reply kinds: strict ✓ / lenient ✓ / well-formed / readability / reasoning (thinking) text
 *   g  ✓ ✓ wf 1  trace, EOS appended (stripped before scoring)
 *   n  ✓ ✓ wf 1  trace, "The answer is X" with no period and no EOS (the last token is part of X)
 *   w  ✗ ✗ wf 1  trace, a wrong answer
 *   u  ✗ ✓ –  1  never closes: trace + a last line "X" (the whole text is the reasoning)
 *   m  ✗ ✓ –  1  trace, "<answer>X</answer>" as the summary (foreign markup)
 *   x  ✗ ✓ –  0  empty reasoning (not well-formed), "The answer is X."
 *   h  ✓ ✓ wf ½  "colmun wrte" + the trace's last line
 *   s  ✓ ✓ wf 1  trace, the sorted list with double spaces ("The answer is 1,  2,  3.")
 */
type Kind = 'g' | 'n' | 'w' | 'u' | 'm' | 'x' | 'h' | 's';
interface Reply { text: string; eos: boolean }
function reply(kind: Kind, it: Item): Reply {
  switch (kind) {
    case 'g': return { text: r1Response(it.trace, answerSummary(it.answer)), eos: true };
    case 'n': return { text: r1Response(it.trace, `The answer is ${it.answer}`), eos: false };
    case 'w': return { text: r1Response(it.trace, answerSummary(it.wrong)), eos: true };
    case 'u': return { text: `${it.trace}\n${it.answer}`, eos: false };
    case 'm': return { text: r1Response(it.trace, `<answer>${it.answer}</answer>`), eos: true };
    case 'x': return { text: r1Response('', answerSummary(it.answer)), eos: true };
    case 'h': return { text: r1Response(`${GARBLED}\n${lastLine(it.trace)}`, answerSummary(it.answer)), eos: false };
    case 's': return { text: r1Response(it.trace, answerSummary(it.answer.replace(/, /g, ',  '))), eos: true };
  }
}
/** Token counts of the reasoning of each kind. */
const T = (it: Item) => ntok(it.trace);
const TU = (it: Item) => ntok(`${it.trace}\n${it.answer}`);
const TH = (it: Item) => ntok(`${GARBLED}\n${lastLine(it.trace)}`);

// ---------------------------------------------------------------------------------------------
// The scripted generator

type Handler = (r: GenerateRequest) => Reply;
class ScriptedGenerator {
  readonly calls: GenerateRequest[][] = [];
  constructor(readonly handlers: Map<string, Handler>) {}
  async generateAll(reqs: GenerateRequest[]): Promise<GenerateResult[]> {
    this.calls.push(reqs);
    await new Promise((res) => setTimeout(res, 10));
    return reqs.map((r) => {
      const prompt = tok.decode(Array.from(r.prompt));
      assert.deepEqual(Array.from(r.prompt), ids(prompt), 'the chat markers are special tokens, one id each');
      const h = this.handlers.get(prompt);
      if (!h) throw new Error(`unexpected prompt ${JSON.stringify(prompt)}`);
      const a = h(r);
      assert.equal(tok.decode(tok.encode(a.text)), a.text);
      const tokens = [...tok.encode(a.text), ...(a.eos ? [EOS] : [])];
      return { tokens, logprobs: tokens.map(() => -1), finishReason: 'stop' as const, promptTokens: r.prompt.length };
    });
  }
  get gen(): Generator { return this as unknown as Generator; }
}

const SEED = 7;
/** o.seed * 1_000_003 + i * 1009 + j */
const sampleSeed = (i: number, j: number) => 7_000_021 + i * 1009 + j;

interface FamilyScript { greedy: string; samples: string[] }
/** Handlers of the families part: greedy replies by problem, samples by problem and sample index (read off the seed). */
function familyHandlers(h: Map<string, Handler>, family: string, items: Item[], s: FamilyScript, k: number): void {
  items.forEach((it, i) => {
    const key = chat1(it.p.prompt);
    assert.ok(!h.has(key));
    h.set(key, (r) => {
      if (r.sampling?.temperature === 0) return reply(s.greedy[i] as Kind, it);
      const j = r.seed! - sampleSeed(i, 0);
      assert.ok(j >= 0 && j < k, `${family} problem ${i}: seed ${r.seed}`);
      return reply(s.samples[i]![j] as Kind, it);
    });
  });
}

// The problems: test split, seed 7 (families) and 8 (phrasings, second turns), difficulties 1 then 2.
const ADD = [...heldOutProblems('add', 1, 2, SEED), ...heldOutProblems('add', 2, 2, SEED)].map(item);
const SORT = [...heldOutProblems('sort', 1, 2, SEED), ...heldOutProblems('sort', 2, 2, SEED)].map(item);
const ADD2 = [...heldOutProblems('add', 1, 1, SEED + 1), ...heldOutProblems('add', 2, 1, SEED + 1)].map(item);
const SORT2 = [...heldOutProblems('sort', 1, 1, SEED + 1), ...heldOutProblems('sort', 2, 1, SEED + 1)].map(item);

const PHRASINGS: [Item, string[]][] = [
  [ADD2[0]!, ["What's 7 + 72?", 'Evaluate 7 + 72.', 'Tell me what 7 plus 72 equals', 'Help me with 7 + 72', 'A shelf holds 7 books and 72 more arrive. How many books are on the shelf now?', 'What do you get if you add 72 to 7?']],
  [ADD2[1]!, ["What's 573 + 12?", 'Evaluate 573 + 12.', 'Tell me what 573 plus 12 equals', 'Help me with 573 + 12', 'A shelf holds 573 books and 12 more arrive. How many books are on the shelf now?', 'What do you get if you add 12 to 573?']],
  [SORT2[0]!, ['Arrange 96, 98, 65 from least to greatest.', 'Can you list 96, 98, 65 in ascending order?']],
  [SORT2[1]!, ['Arrange 15, 42, 98, 23 from least to greatest.', 'Can you list 15, 42, 98, 23 in ascending order?']],
];
// The second turn of a problem follows the NEXT problem of its family's list (wrapping) and that one's answer.
const TURN2: [string, Item, Kind][] = [
  [chat2('Compute 573 + 12', 'The answer is 585.', 'Compute 7 + 72'), ADD2[0]!, 'g'],
  [chat2('Compute 7 + 72', 'The answer is 79.', 'Compute 573 + 12'), ADD2[1]!, 'w'],
  [chat2('Sort in ascending order: 15, 42, 98, 23', 'The answer is 15, 23, 42, 98.', 'Sort in ascending order: 96, 98, 65'), SORT2[0]!, 'u'],
  [chat2('Sort in ascending order: 96, 98, 65', 'The answer is 65, 96, 98.', 'Sort in ascending order: 15, 42, 98, 23'), SORT2[1]!, 'n'],
];
const GENERAL_PROMPTS = [
  'Good evening!', 'Hiya', 'Hello there, how are you?', "Hey, what's your name?", 'Are you a robot?', 'Tell me about yourself',
  'What are you able to do?', 'What topics do you know?', 'Can you help me with homework?', 'Can you tell me a joke?', 'What time is it?',
  'Who is the president of France?', 'Summarize this article for me', 'Thanks a lot!', 'Cheers, that helped',
];
/** Replies to the general prompts and their summaries (what the reward model is shown). */
const GENERAL: [Reply, string][] = [
  [{ text: r1Response('', 'Good evening to you too.'), eos: true }, 'Good evening to you too.'], // clean, 24 chars
  [{ text: r1Response('greet back', 'Hi'), eos: false }, 'Hi'], //                                  clean, 2
  [{ text: 'Hello there', eos: true }, ''], //                                                      never closes: empty
  [{ text: r1Response('', 'User: my name'), eos: true }, 'User: my name'], //                       chat marker: not clean, 13
  [{ text: r1Response('think', ''), eos: true }, ''], //                                            empty summary
  [{ text: '', eos: false }, ''], //                                                                no token at all: empty
  [{ text: r1Response('', 'I can do sums.'), eos: true }, 'I can do sums.'], //                      clean, 14
  ...Array.from({ length: 8 }, (_, i): [Reply, string] => [{ text: r1Response('', 'Sure.'), eos: i % 2 === 0 }, 'Sure.']), // clean, 5 each
];
const LONG = r1Response('', `The answer is 81. ${'Really. '.repeat(50)}`);
const EXAMPLES: [string, Reply, string, string][] = [
  [chat1('Compute 23 + 58'), { text: r1Response('23 + 58 = 81', 'The answer is 81.'), eos: true }, 'user: Compute 23 + 58', r1Response('23 + 58 = 81', 'The answer is 81.')],
  [chat1('What is 23 + 58?'), { text: LONG, eos: false }, 'user: What is 23 + 58?', LONG.slice(0, 300)],
  [chat1('What is 23 plus 58?'), { text: 'The answer is 81', eos: false }, 'user: What is 23 plus 58?', 'The answer is 81'],
  [chat1('Hello, who are you?'), { text: r1Response('', 'I am tinyseek.'), eos: true }, 'user: Hello, who are you?', r1Response('', 'I am tinyseek.')],
  [chat2('Compute 23 + 58', 'The answer is 81.', 'Compute 40 - 17'), { text: r1Response('40 - 17 = 23', 'The answer is 23.'), eos: true },
    'user: Compute 23 + 58 / assistant: The answer is 81. / user: Compute 40 - 17', r1Response('40 - 17 = 23', 'The answer is 23.')],
];

/** Handlers of everything evaluateR1 asks besides the families. */
function restHandlers(h: Map<string, Handler>): void {
  const add = (key: string, f: Handler) => { assert.ok(!h.has(key), key); h.set(key, f); };
  for (const [it, texts] of PHRASINGS) texts.forEach((t, i) => add(chat1(t), () => reply((['g', 'u', 'w'] as const)[i % 3]!, it)));
  for (const [key, it, kind] of TURN2) add(key, () => reply(kind, it));
  GENERAL_PROMPTS.forEach((q, i) => add(chat1(q), () => GENERAL[i]![0]));
  for (const [key, r] of EXAMPLES) add(key, () => r);
}

const ADD_SCRIPT: FamilyScript = { greedy: 'xwun', samples: ['gwwg', 'wuww', 'xuuu', 'whhn'] };
const SORT_SCRIPT: FamilyScript = { greedy: 'gnxg', samples: ['gsww', 'sgww', 'wwwm', 'wgnh'] };
const O: R1EvalOptions = { families: ['add', 'sort'], difficulties: [1, 2], n: 2, k: 4, maxNewTokens: 77, phrasingN: 1, seed: SEED };

function mainGenerator(): ScriptedGenerator {
  const h = new Map<string, Handler>();
  familyHandlers(h, 'add', ADD, ADD_SCRIPT, O.k);
  familyHandlers(h, 'sort', SORT, SORT_SCRIPT, O.k);
  restHandlers(h);
  return new ScriptedGenerator(h);
}

// Hand count, per problem (strict ✓, lenient ✓, well-formed, readability, fully readable; strict/lenient majority):
// add  P0 gwwg: 2 2 4 4 4; votes [A W W A] tie → the first (A): ✓ / ✓
//      P1 wuww: 0 1 3 4 4; [W – W W] ✗ / [W A W W] ✗
//      P2 xuuu: 0 4 0 3 3; all strict votes empty ✗ / [A A A A] ✓
//      P3 whhn: 3 3 4 3 2; [W A A A] ✓ / ✓          greedy x w u n: 1 of 4
// sort Q0 gsww: 2 2 4 4 4; [A A' W W], A' = A with double spaces, the same vote → tie → A ✓ / [A A W W] ✓
//      Q1 sgww: 2 2 4 4 4; [A' A W W] → tie → A' ✓ / ✓  (A' first: its vote must be stored under the normalised key)
//      Q2 wwwm: 0 1 3 4 4; ✗ / [W W W A] ✗
//      Q3 wgnh: 3 3 4 3.5 3; [W A A A] ✓ / ✓         greedy g n x g: 3 of 4
const EXPECTED_FAMILIES: R1FamilyEval[] = [
  {
    family: 'add', problems: 4, pass1: 5 / 16, lenient_pass1: 10 / 16, cons: 2 / 4, lenient_cons: 3 / 4, greedy: 1 / 4,
    well_formed: 11 / 16, readability: 14 / 16, readable_rate: 13 / 16,
    mean_thinking_tokens: (4 * T(ADD[0]!) + 3 * T(ADD[1]!) + TU(ADD[1]!) + 3 * TU(ADD[2]!) + 2 * T(ADD[3]!) + 2 * TH(ADD[3]!)) / 16,
  },
  {
    family: 'sort', problems: 4, pass1: 7 / 16, lenient_pass1: 8 / 16, cons: 3 / 4, lenient_cons: 3 / 4, greedy: 3 / 4,
    well_formed: 15 / 16, readability: 15.5 / 16, readable_rate: 15 / 16,
    mean_thinking_tokens: (4 * T(SORT[0]!) + 4 * T(SORT[1]!) + 4 * T(SORT[2]!) + 3 * T(SORT[3]!) + TH(SORT[3]!)) / 16,
  },
];
const EXPECTED_MEAN: R1Eval['mean'] = {
  pass1: 12 / 32, lenient_pass1: 18 / 32, cons: 0.625, lenient_cons: 0.75, greedy: 0.5, well_formed: 26 / 32, readability: 29.5 / 32, readable_rate: 28 / 32,
  mean_thinking_tokens: (EXPECTED_FAMILIES[0]!.mean_thinking_tokens + EXPECTED_FAMILIES[1]!.mean_thinking_tokens) / 2,
};

const rmCalls: [string, string][] = [];
const RM: RewardModel = { score(prompt: string, answer: string) { rmCalls.push([prompt, answer]); return answer.length; } };
let mainRun: Promise<{ r: R1Eval; g: ScriptedGenerator; wall: number }> | null = null;
function runMain() {
  mainRun ??= (async () => {
    const g = mainGenerator();
    const t0 = performance.now();
    const r = await evaluateR1(g.gen, tok, O, RM);
    return { r, g, wall: (performance.now() - t0) / 1000 };
  })();
  return mainRun;
}

test('the material is what the hand count assumes: the problems, readable worked solutions, reply verdicts', () => {
  assert.deepEqual(ADD.map((x) => [x.p.prompt, x.answer]), [['Compute 23 + 5', '28'], ['Compute 13 + 43', '56'], ['Compute 184 + 699', '883'], ['Compute 619 + 793', '1412']]);
  assert.deepEqual(SORT.map((x) => [x.p.prompt, x.answer]), [
    ['Sort in ascending order: 13, 87, 56', '13, 56, 87'], ['Sort in ascending order: 62, 27, 94', '27, 62, 94'],
    ['Sort in ascending order: 90, 10, 52, 57', '10, 52, 57, 90'], ['Sort in ascending order: 1, 30, 53, 91', '1, 30, 53, 91'],
  ]);
  assert.deepEqual([...ADD2, ...SORT2].map((x) => x.answer), ['79', '585', '65, 96, 98', '15, 23, 42, 98']);
  for (const it of [...ADD, ...SORT, ...ADD2, ...SORT2]) {
    assert.equal(readability(it.trace), 1, it.p.prompt);
    assert.equal(readability(`${it.trace}\n${it.answer}`), 1, it.p.prompt);
    assert.equal(readability(`${GARBLED}\n${lastLine(it.trace)}`), 0.5, it.p.prompt);
  }
  // distinct reasoning lengths, so that a sample read from the wrong slot shows
  assert.equal(new Set(ADD.map(T)).size, 4);
});

test('evaluateR1: per-family pass@1, cons@k (ties go to the first answer, whitespace normalised), greedy, form, readability, thinking length, and their mean', async () => {
  const { r } = await runMain();
  assert.deepEqual(r.families, EXPECTED_FAMILIES);
  assert.deepEqual(r.mean, EXPECTED_MEAN);
});

test('evaluateR1: held-out phrasings, second turns (after the next problem of the list), general prompts with the RM, the examples', async () => {
  const { r } = await runMain();
  // phrasings: per problem the templates' replies are g, u, w, g, u, w (add: 6 templates; sort: 2)
  assert.deepEqual(r.phrasings, { prompts: 16, strict: 6 / 16, lenient: 12 / 16 });
  // second turns: g, w, u, n
  assert.deepEqual(r.second_turn, { prompts: 4, strict: 2 / 4, lenient: 3 / 4 });
  // clean: 0, 1, 6 and the 8 "Sure."; empty: 2, 4, 5; RM = summary length: 24 + 2 + 13 + 14 + 8·5 = 93
  assert.deepEqual(r.general, { prompts: 15, rm_score: 93 / 15, clean_reply: 11 / 15, empty_reply: 3 / 15 });
  assert.deepEqual(rmCalls, GENERAL_PROMPTS.map((q, i) => [q, GENERAL[i]![1]]));
  assert.ok(LONG.length > 300);
  assert.deepEqual(r.examples, EXAMPLES.map(([, , prompt, reply]) => ({ prompt, reply })));
  assert.equal(r.examples[1]!.reply.length, 300);
  assert.deepEqual(Object.keys(r), ['families', 'mean', 'phrasings', 'second_turn', 'general', 'examples', 'seconds']);
});

test('evaluateR1: the requests — prompts in order, greedy at T = 0 without a seed, samples at T = 0.6 / top-p 0.95 with seeds seed·1000003 + i·1009 + j, maxNewTokens and stop ids passed', async () => {
  const { r, g, wall } = await runMain();
  assert.deepEqual(g.calls.map((c) => c.length), [4, 16, 4, 16, 16, 4, 15, 5]);
  const greedy = (text: string): GenerateRequest => ({ prompt: ids(text), maxNewTokens: 77, sampling: { temperature: 0 }, stopTokenIds: STOPS });
  const sampled = (text: string, i: number, j: number): GenerateRequest => ({ prompt: ids(text), maxNewTokens: 77, sampling: { temperature: 0.6, topP: 0.95 }, seed: sampleSeed(i, j), stopTokenIds: STOPS });
  const samples = (items: Item[]) => items.flatMap((it, i) => [0, 1, 2, 3].map((j) => sampled(chat1(it.p.prompt), i, j)));
  assert.deepEqual(g.calls[0], ADD.map((it) => greedy(chat1(it.p.prompt))));
  assert.deepEqual(g.calls[1], samples(ADD));
  assert.deepEqual(g.calls[1]!.map((q) => q.seed), [7000021, 7000022, 7000023, 7000024, 7001030, 7001031, 7001032, 7001033, 7002039, 7002040, 7002041, 7002042, 7003048, 7003049, 7003050, 7003051]);
  assert.deepEqual(g.calls[2], SORT.map((it) => greedy(chat1(it.p.prompt))));
  assert.deepEqual(g.calls[3], samples(SORT));
  assert.deepEqual(g.calls[4], PHRASINGS.flatMap(([, texts]) => texts.map((t) => greedy(chat1(t)))));
  assert.deepEqual(g.calls[5], TURN2.map(([key]) => greedy(key)));
  assert.deepEqual(g.calls[6], GENERAL_PROMPTS.map((q) => greedy(chat1(q))));
  assert.deepEqual(g.calls[7], EXAMPLES.map(([key]) => greedy(key)));
  assert.deepEqual(STOPS, [1, 8]);
  // seconds: the call's own wall time (each generateAll waits 10 ms; at least 6 of them run one after another)
  assert.ok(r.seconds >= 0.05 && r.seconds <= wall, `${r.seconds} s (wall ${wall} s)`);
});

test('evaluateFamilies alone: the same numbers, only families and mean', async () => {
  const g = mainGenerator();
  const r = await evaluateFamilies(g.gen, tok, { families: O.families, difficulties: O.difficulties, n: O.n, k: O.k, maxNewTokens: O.maxNewTokens, seed: O.seed });
  assert.deepEqual(r, { families: EXPECTED_FAMILIES, mean: EXPECTED_MEAN });
  assert.deepEqual(g.calls.map((c) => c.length), [4, 16, 4, 16]);
});

test('evaluateFamilies: a tie with the wrong answer first is lost, a lone vote wins; k = 0 scores the samples 0 (not NaN); n = 0 and no family', async () => {
  const two = ADD.slice(0, 2);
  const o = { families: ['add'], difficulties: [1], n: 2, k: 2, maxNewTokens: 5, seed: SEED };
  const h = new Map<string, Handler>();
  // P0 wg: votes [W A] tie → W ✗ / ✗;  P1 gx: strict votes [A –] → A (one vote) ✓, lenient [A A] ✓
  familyHandlers(h, 'add', two, { greedy: 'gx', samples: ['wg', 'gx'] }, 2);
  const r = await evaluateFamilies(new ScriptedGenerator(h).gen, tok, o);
  const f: R1FamilyEval = {
    family: 'add', problems: 2, pass1: 2 / 4, lenient_pass1: 3 / 4, cons: 1 / 2, lenient_cons: 1 / 2, greedy: 1 / 2,
    well_formed: 3 / 4, readability: 3 / 4, readable_rate: 3 / 4, mean_thinking_tokens: (2 * T(two[0]!) + T(two[1]!)) / 4,
  };
  const { family: _f, problems: _p, ...mean } = f;
  assert.deepEqual(r, { families: [f], mean });

  // k = 0: no samples; the sample scores are 0 / max(1, 0), majority over nothing fails
  const g0 = new ScriptedGenerator(h);
  const r0 = await evaluateFamilies(g0.gen, tok, { ...o, k: 0 });
  assert.deepEqual(g0.calls.map((c) => c.length), [2, 0]);
  const f0: R1FamilyEval = { family: 'add', problems: 2, pass1: 0, lenient_pass1: 0, cons: 0, lenient_cons: 0, greedy: 1 / 2, well_formed: 0, readability: 0, readable_rate: 0, mean_thinking_tokens: 0 };
  assert.deepEqual(r0.families, [f0]);

  // n = 0: no problem; per-sample scores 0, per-problem scores 0/0
  const rn = await evaluateFamilies(new ScriptedGenerator(new Map()).gen, tok, { ...o, n: 0 });
  assert.deepEqual(rn.families, [{ family: 'add', problems: 0, pass1: 0, lenient_pass1: 0, cons: NaN, lenient_cons: NaN, greedy: NaN, well_formed: 0, readability: 0, readable_rate: 0, mean_thinking_tokens: 0 }]);

  // no family: the mean over none is 0
  const none = new ScriptedGenerator(new Map());
  const re = await evaluateFamilies(none.gen, tok, { ...o, families: [] });
  assert.deepEqual(re, { families: [], mean: { pass1: 0, lenient_pass1: 0, cons: 0, lenient_cons: 0, greedy: 0, well_formed: 0, readability: 0, readable_rate: 0, mean_thinking_tokens: 0 } });
  assert.equal(none.calls.length, 0);
});

test('evaluateR1 without a reward model: RM score NaN; no phrasing problems → 0 prompts scored 0, not NaN', async () => {
  const h = new Map<string, Handler>();
  familyHandlers(h, 'sort', SORT.slice(0, 1), { greedy: 'w', samples: ['g'] }, 1);
  restHandlers(h);
  const g = new ScriptedGenerator(h);
  const before = rmCalls.length;
  const r = await evaluateR1(g.gen, tok, { families: ['sort'], difficulties: [1], n: 1, k: 1, maxNewTokens: 9, phrasingN: 0, seed: SEED }, null);
  assert.equal(rmCalls.length, before);
  assert.deepEqual(g.calls.map((c) => c.length), [1, 1, 0, 0, 15, 5]);
  assert.deepEqual(r.families, [{
    family: 'sort', problems: 1, pass1: 1, lenient_pass1: 1, cons: 1, lenient_cons: 1, greedy: 0, well_formed: 1, readability: 1, readable_rate: 1, mean_thinking_tokens: T(SORT[0]!),
  }]);
  assert.deepEqual(r.phrasings, { prompts: 0, strict: 0, lenient: 0 });
  assert.deepEqual(r.second_turn, { prompts: 0, strict: 0, lenient: 0 });
  assert.deepEqual(r.general, { prompts: 15, rm_score: NaN, clean_reply: 11 / 15, empty_reply: 3 / 15 });
  assert.deepEqual(g.calls[1], [{ prompt: ids(chat1(SORT[0]!.p.prompt)), maxNewTokens: 9, sampling: { temperature: 0.6, topP: 0.95 }, seed: 7_000_021, stopTokenIds: STOPS }]);
  assert.ok(g.calls.slice(4).flat().every((q) => q.maxNewTokens === 9));
});

test('replies with no number at all score 0 everywhere (nothing to extract is not an error)', async () => {
  const silent = {
    async generateAll(reqs: GenerateRequest[]): Promise<GenerateResult[]> {
      return reqs.map((r) => {
        const tokens = [...tok.encode(r1Response('I do not know how.', 'No idea.')), EOS];
        return { tokens, logprobs: tokens.map(() => -1), finishReason: 'stop' as const, promptTokens: r.prompt.length };
      });
    },
  } as unknown as Generator;
  const r = await evaluateR1(silent, tok, { families: ['add', 'sort'], difficulties: [1], n: 2, k: 2, maxNewTokens: 9, phrasingN: 1, seed: SEED }, null);
  for (const f of r.families) assert.deepEqual([f.pass1, f.lenient_pass1, f.cons, f.lenient_cons, f.greedy], [0, 0, 0, 0, 0], f.family);
  assert.deepEqual([r.phrasings.strict, r.phrasings.lenient, r.second_turn.strict, r.second_turn.lenient], [0, 0, 0, 0]);
  assert.ok(r.phrasings.prompts > 0 && r.second_turn.prompts > 0);
});
