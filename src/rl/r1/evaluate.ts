// The R1 pipeline's per-stage evaluation, on held-out material only:
//   families     test-split problems in their canonical wording: pass@1 and cons@k from k samples
//                (T = 0.6, top-p 0.95), strict (R1 format + verifier) and lenient (last number
//                anywhere), greedy strict, well-formed rate, readability, mean reasoning length
//   phrasings    test-split problems under the HELD-OUT phrasings (greedy; strict and lenient)
//   second turn  a test problem asked after an earlier problem and its answer (greedy)
//   general      held-out general prompts: the reward model's score of the final answer, clean-reply rate
//   examples     greedy replies to the prompts, for reading
import type { Tokenizer, ChatMessage } from '../../tokenizer/index.js';
import type { Problem } from '../../tasks/index.js';
import { getTask, lenientExtract } from '../../tasks/index.js';
import type { Generator, GenerateRequest } from '../../infer/generator.js';
import { completionStops, heldOutProblems } from '../../infer/evaluate.js';
import { CATEGORIES, HELDOUT_GENERAL } from '../../data/conversations.js';
import { answerSummary, parseR1, r1Response, r1ReplyOk, r1Verify } from './format.js';
import { readability } from './readability.js';
import { fillPhrasing, phrasingsFor } from './phrasings.js';
import { HELDOUT_PHRASINGS } from './phrasings-heldout.js';
import type { RewardModel } from './reward-model.js';

/** What to evaluate. */
export interface R1EvalOptions {
  families: string[];
  difficulties: number[];
  n: number;
  k: number;
  maxNewTokens: number;
  /** Problems per family for the phrasing and second-turn measures. */
  phrasingN: number;
  seed: number;
}

/** Scores of one family (fractions; lengths in tokens). */
export interface R1FamilyEval {
  family: string;
  problems: number;
  pass1: number;
  lenient_pass1: number;
  cons: number;
  lenient_cons: number;
  greedy: number;
  well_formed: number;
  /** Mean readability of the sampled reasoning, and the share of samples whose reasoning is fully readable. */
  readability: number;
  readable_rate: number;
  mean_thinking_tokens: number;
}

/** A stage model's evaluation. */
export interface R1Eval {
  families: R1FamilyEval[];
  mean: Omit<R1FamilyEval, 'family' | 'problems'>;
  phrasings: { prompts: number; strict: number; lenient: number };
  second_turn: { prompts: number; strict: number; lenient: number };
  general: { prompts: number; rm_score: number; clean_reply: number; empty_reply: number };
  examples: { prompt: string; reply: string }[];
  seconds: number;
}

/** The prompts, shown verbatim in the report. */
export const EXAMPLE_PROMPTS: readonly ChatMessage[][] = [
  [{ role: 'user', content: 'Compute 23 + 58' }],
  [{ role: 'user', content: 'What is 23 + 58?' }],
  [{ role: 'user', content: 'What is 23 plus 58?' }],
  [{ role: 'user', content: 'Hello, who are you?' }],
  [{ role: 'user', content: 'Compute 23 + 58' }, { role: 'assistant', content: r1Response('', answerSummary('81')) }, { role: 'user', content: 'Compute 40 - 17' }],
];

function majority(answers: (string | null)[], ok: (a: string) => boolean): boolean {
  const votes = new Map<string, number>();
  for (const a of answers) if (a) votes.set(a.replace(/\s+/g, ' ').trim(), (votes.get(a.replace(/\s+/g, ' ').trim()) ?? 0) + 1);
  let best: string | null = null, n = 0;
  for (const [a, c] of votes) if (c > n) { best = a; n = c; }
  return best !== null && ok(best);
}

/** The families part of the evaluation: held-out pass@1 and cons@k (strict and lenient), greedy, form, thinking length. */
export async function evaluateFamilies(gen: Generator, tok: Tokenizer, o: Pick<R1EvalOptions, 'families' | 'difficulties' | 'n' | 'k' | 'maxNewTokens' | 'seed'> & {
  /**
   * The output format the model was trained for: "r1" (default: the model's chat template, R1's
   * verifier: reasoning, </think>, "The answer is X.") or "r1zero" (the R1-Zero template, the tasks'
   * <answer> verifier), so that an R1-Zero-style RL model is scored in its own format.
   */
  format?: 'r1' | 'r1zero';
}): Promise<Pick<R1Eval, 'families' | 'mean'>> {
  const stops = completionStops(tok);
  const zero = o.format === 'r1zero';
  const ids = (msgs: ChatMessage[]) => tok.encode(tok.applyChatTemplate(msgs, { addGenerationPrompt: true, ...(zero ? { template: 'r1zero' } : {}) }), { allowSpecial: true });
  const verify = (p: Problem, text: string) => (zero ? getTask(p.family).verify(p, text) : r1Verify(p, text));
  const decode = (t: number[]) => tok.decode(t.length && t[t.length - 1] === tok.eosId ? t.slice(0, -1) : t);
  const greedyReq = (msgs: ChatMessage[]): GenerateRequest => ({ prompt: ids(msgs), maxNewTokens: o.maxNewTokens, sampling: { temperature: 0 }, stopTokenIds: stops });
  const greedyAll = async (convs: ChatMessage[][]) => (await gen.generateAll(convs.map(greedyReq))).map((r) => decode(r.tokens));

  const families: R1FamilyEval[] = [];
  for (const family of o.families) {
    const task = getTask(family);
    const problems = o.difficulties.flatMap((d) => heldOutProblems(family, d, o.n, o.seed));
    const convs = problems.map((p) => [{ role: 'user' as const, content: p.prompt }]);
    const sampleReqs: GenerateRequest[] = convs.flatMap((c, i) => Array.from({ length: o.k }, (_, j) => ({
      prompt: ids(c), maxNewTokens: o.maxNewTokens, sampling: { temperature: 0.6, topP: 0.95 }, seed: o.seed * 1_000_003 + i * 1009 + j, stopTokenIds: stops,
    })));
    const [greedy, samples] = await Promise.all([greedyAll(convs), gen.generateAll(sampleReqs)]);
    let p1 = 0, lp1 = 0, cons = 0, lcons = 0, g = 0, wf = 0, rd = 0, rr = 0, tl = 0;
    problems.forEach((p, i) => {
      if (verify(p, greedy[i]!).correct) g++;
      const strictAns: (string | null)[] = [], lenAns: (string | null)[] = [];
      for (let j = 0; j < o.k; j++) {
        const text = decode(samples[i * o.k + j]!.tokens);
        const v = verify(p, text);
        const lx = lenientExtract(family, text);
        if (v.correct) p1++;
        if (lx !== null && task.check(p, lx)) lp1++;
        if (v.formatOk) wf++;
        strictAns.push(v.formatOk ? v.extracted : null);
        lenAns.push(lx);
        const parts = parseR1(text);
        const r = readability(parts.thinking);
        rd += r;
        if (r === 1) rr++;
        tl += tok.encode(parts.thinking).length;
      }
      if (majority(strictAns, (a) => task.check(p, a))) cons++;
      if (majority(lenAns, (a) => task.check(p, a))) lcons++;
    });
    const N = problems.length, S = Math.max(1, N * o.k);
    families.push({
      family, problems: N, pass1: p1 / S, lenient_pass1: lp1 / S, cons: cons / N, lenient_cons: lcons / N, greedy: g / N,
      well_formed: wf / S, readability: rd / S, readable_rate: rr / S, mean_thinking_tokens: tl / S,
    });
  }
  const avg = (f: (r: R1FamilyEval) => number) => families.reduce((a, r) => a + f(r), 0) / Math.max(1, families.length);
  const mean = {
    pass1: avg((r) => r.pass1), lenient_pass1: avg((r) => r.lenient_pass1), cons: avg((r) => r.cons), lenient_cons: avg((r) => r.lenient_cons),
    greedy: avg((r) => r.greedy), well_formed: avg((r) => r.well_formed), readability: avg((r) => r.readability), readable_rate: avg((r) => r.readable_rate),
    mean_thinking_tokens: avg((r) => r.mean_thinking_tokens),
  };
  return { families, mean };
}

/** Runs the evaluation with one generator; `rm` scores the general replies (NaN without one). */
export async function evaluateR1(gen: Generator, tok: Tokenizer, o: R1EvalOptions, rm: RewardModel | null): Promise<R1Eval> {
  const t0 = performance.now();
  const stops = completionStops(tok);
  const ids = (msgs: ChatMessage[]) => tok.encode(tok.applyChatTemplate(msgs, { addGenerationPrompt: true }), { allowSpecial: true });
  const decode = (t: number[]) => tok.decode(t.length && t[t.length - 1] === tok.eosId ? t.slice(0, -1) : t);
  const greedyReq = (msgs: ChatMessage[]): GenerateRequest => ({ prompt: ids(msgs), maxNewTokens: o.maxNewTokens, sampling: { temperature: 0 }, stopTokenIds: stops });
  const greedyAll = async (convs: ChatMessage[][]) => (await gen.generateAll(convs.map(greedyReq))).map((r) => decode(r.tokens));
  const { families, mean } = await evaluateFamilies(gen, tok, o);

  // Held-out phrasings and second turns (greedy), on test problems.
  const phr: { p: Problem; msgs: ChatMessage[] }[] = [];
  const turn2: { p: Problem; msgs: ChatMessage[] }[] = [];
  for (const family of o.families) {
    const ps = o.difficulties.flatMap((d) => heldOutProblems(family, d, o.phrasingN, o.seed + 1));
    ps.forEach((p, i) => {
      for (const t of phrasingsFor(HELDOUT_PHRASINGS, p)) phr.push({ p, msgs: [{ role: 'user', content: fillPhrasing(t, p)! }] });
      const first = ps[(i + 1) % ps.length]!;
      const w = getTask(first.family).work(first);
      turn2.push({ p, msgs: [{ role: 'user', content: first.prompt }, { role: 'assistant', content: r1Response(w.trace, answerSummary(w.answer)) }, { role: 'user', content: p.prompt }] });
    });
  }
  const score = async (items: { p: Problem; msgs: ChatMessage[] }[]) => {
    const out = await greedyAll(items.map((x) => x.msgs));
    let s = 0, l = 0;
    items.forEach((x, i) => {
      if (r1Verify(x.p, out[i]!).correct) s++;
      const lx = lenientExtract(x.p.family, out[i]!);
      if (lx !== null && getTask(x.p.family).check(x.p, lx)) l++;
    });
    return { prompts: items.length, strict: s / Math.max(1, items.length), lenient: l / Math.max(1, items.length) };
  };
  const phrasings = await score(phr);
  const second_turn = await score(turn2);

  // Held-out general prompts.
  const gp = CATEGORIES.flatMap((c) => HELDOUT_GENERAL[c]);
  const greplies = await greedyAll(gp.map((text) => [{ role: 'user' as const, content: text }]));
  let rms = 0, clean = 0, empty = 0;
  greplies.forEach((text, i) => {
    const s = parseR1(text).summary;
    if (rm) rms += rm.score(gp[i]!, s);
    if (r1ReplyOk(text)) clean++;
    if (s.length === 0) empty++;
  });
  const examplesOut = await greedyAll(EXAMPLE_PROMPTS.map((m) => [...m]));
  return {
    families, mean, phrasings, second_turn,
    general: { prompts: gp.length, rm_score: rm ? rms / gp.length : NaN, clean_reply: clean / gp.length, empty_reply: empty / gp.length },
    examples: EXAMPLE_PROMPTS.map((m, i) => ({ prompt: m.map((x) => `${x.role}: ${x.role === 'assistant' ? parseR1(x.content).summary : x.content}`).join(' / '), reply: examplesOut[i]!.slice(0, 300) })),
    seconds: (performance.now() - t0) / 1000,
  };
}
