// SFT data of the R1 pipeline as {messages} JSONL rows (src/train/sft-data.ts reads them): written
// worked solutions, rejection-sampled traces, and the non-reasoning conversations of stage 3. Every
// assistant message is a full R1-format response; when it is an EARLIER turn of a conversation the
// chat template drops its reasoning (R1's template keeps only the answers of earlier turns), so only
// the last turn's reasoning is ever trained on.
import type { ChatMessage } from '../../tokenizer/index.js';
import type { Problem } from '../../tasks/index.js';
import { getTask, sampleProblem, streamSeed } from '../../tasks/index.js';
import { Rng, hashSeed } from '../../tasks/rng.js';
import { CATEGORIES, TRAIN_GENERAL, generalReply, generalResponse } from '../../data/conversations.js';
import type { ChatCategory } from '../../data/conversations.js';
import { answerSummary, r1Response } from './format.js';
import { trainPhrasing } from './phrasings.js';
import type { Trace } from './rejection.js';

/** One SFT row, with where it came from. */
export interface SftRow {
  messages: ChatMessage[];
  template?: string;
  source: string;
}

/**
 * The written worked solution of a problem as an R1-format response. When the user asked an
 * arithmetic problem in other words than the task's ("A jar has 23 marbles and someone puts in 5
 * more…", "What is 23 plus 5?"), the reasoning first says which computation the words ask for
 * ("The question asks for 23 + 5."), as R1's reasoning restates a question before working on it.
 */
export function writtenResponse(p: Problem, asked: string = p.prompt): string {
  const w = getTask(p.family).work(p);
  const restate = asked.trim() !== p.prompt && p.prompt.startsWith('Compute ') ? `The question asks for ${p.prompt.slice('Compute '.length)}.\n` : '';
  return r1Response(restate + w.trace, answerSummary(w.answer));
}

/** A single-turn example: the user's text, the written response. */
export function writtenRow(p: Problem, userText: string, source = 'written'): SftRow {
  return { messages: [{ role: 'user', content: userText }, { role: 'assistant', content: writtenResponse(p, userText) }], source };
}

/** A kept trace as an SFT row (its conversation, then its completion as the assistant's turn). */
export function traceRow(t: Trace): SftRow {
  return { messages: [...t.messages, { role: 'assistant', content: `<think>\n${t.completion}` }], source: t.source };
}

/** Problems per (family, difficulty) so that at least `total` are drawn over all of them. */
export function problemsPerCombo(total: number, families: readonly string[], difficulties: readonly number[]): number {
  return Math.ceil(total / (families.length * difficulties.length));
}

/** Training problems: `n` per family and difficulty from the training split's stream. */
export function trainProblems(families: readonly string[], difficulties: readonly number[], n: number, seed: number, stream: string): Problem[] {
  return families.flatMap((f) => difficulties.flatMap((d) => Array.from({ length: n }, (_, i) => sampleProblem(f, d, 'train', streamSeed('train', seed, `${stream}:${f}`, d, i)))));
}

const FOLLOW_UPS = ['And {q}', 'Now {q}', 'What about this one: {q}', 'Next: {q}', '{q}', 'ok, {q}'];

/**
 * The share of single-turn general examples each category gets: proportional to the square root of
 * how many training prompts it has. Out-of-scope requests come in hundreds of wordings and greetings in
 * a few dozen; a uniform share (attempts 1–10 of the R1 mini pipeline) showed each out-of-scope
 * wording about once and each greeting a dozen times, while out-of-scope prompts are where the model
 * failed. The square root gives the varied category more examples without drowning the small ones.
 */
export function generalCategoryShares(prompts: Readonly<Record<ChatCategory, readonly string[]>> = TRAIN_GENERAL): Record<ChatCategory, number> {
  const w = CATEGORIES.map((c) => Math.sqrt(prompts[c].length));
  const total = w.reduce((a, b) => a + b, 0);
  return Object.fromEntries(CATEGORIES.map((c, i) => [c, w[i]! / total])) as Record<ChatCategory, number>;
}

type GeneralSet = Readonly<Record<ChatCategory, readonly string[]>>;

/**
 * Splits each category's training general prompts into the ones stage 3's SFT rows use and the ones
 * stage 4's RL asks. With `rlOnly` = 0 both are the whole training set (every recipe before this
 * setting). With `rlOnly` > 0 a prompt goes to RL only when hashSeed('rl-only-general', prompt) falls
 * in that share, so the split does not depend on the prompts' order; each side keeps at least one
 * prompt per category (the one with the smallest hash moves to RL, the largest back to SFT; a
 * category of one prompt is on both sides).
 * Why: stage 4 samples prompts the policy was fine-tuned on, which it already answers right, so its
 * groups agree and give no gradient; prompts it has not seen are where the reward model can teach it.
 */
export function splitGeneral(rlOnly: number, prompts: GeneralSet = TRAIN_GENERAL): { sft: GeneralSet; rl: GeneralSet } {
  if (!(rlOnly >= 0 && rlOnly < 1)) throw new Error(`rlOnlyGeneral: expected a share in [0, 1), found ${rlOnly}`);
  if (rlOnly === 0) return { sft: prompts, rl: prompts };
  const sft = {} as Record<ChatCategory, string[]>, rl = {} as Record<ChatCategory, string[]>;
  for (const c of CATEGORIES) {
    const h = (t: string) => hashSeed('rl-only-general', t) / 2 ** 32;
    const byHash = [...prompts[c]].sort((a, b) => h(a) - h(b));
    if (byHash.length < 2) { sft[c] = [...prompts[c]]; rl[c] = [...prompts[c]]; continue; } // one prompt cannot be split: both use it
    const cut = Math.min(Math.max(byHash.filter((t) => h(t) < rlOnly).length, 1), byHash.length - 1);
    const rlSet = new Set(byHash.slice(0, cut));
    rl[c] = prompts[c].filter((t) => rlSet.has(t));
    sft[c] = prompts[c].filter((t) => !rlSet.has(t));
  }
  return { sft, rl };
}

/** Single-turn general examples: a training prompt of a category (categories drawn by `generalCategoryShares`, a quarter lower-cased), an honest reply with an empty reasoning block. */
export function generalRows(n: number, seed: number, prompts: GeneralSet = TRAIN_GENERAL): SftRow[] {
  const rng = new Rng(seed);
  const shares = generalCategoryShares(prompts);
  const drawCategory = (): ChatCategory => {
    let u = rng.next();
    for (const c of CATEGORIES) if ((u -= shares[c]) < 0) return c;
    return CATEGORIES[CATEGORIES.length - 1]!;
  };
  return Array.from({ length: n }, () => {
    const category = drawCategory();
    const text = rng.pick(prompts[category]);
    return { messages: [{ role: 'user' as const, content: rng.chance(0.25) ? text.toLowerCase() : text }, { role: 'assistant' as const, content: generalResponse(generalReply(category, rng)) }], source: `general:${category}` };
  });
}

/**
 * Multi-turn examples: a problem and its answer, then a follow-up problem (reasoned); a greeting, then a
 * problem; a problem, then thanks or an out-of-scope question (answered without reasoning).
 */
export function multiTurnRows(n: number, families: readonly string[], difficulties: readonly number[], seed: number, prompts: GeneralSet = TRAIN_GENERAL): SftRow[] {
  const rng = new Rng(seed);
  const problem = (i: number, k: number) => sampleProblem(rng.pick(families), rng.pick(difficulties), 'train', streamSeed('train', seed, 'multi-turn', k, i));
  return Array.from({ length: n }, (_, i) => {
    const kind = i % 4;
    const p1 = problem(i, 0);
    const q1 = trainPhrasing(p1, rng);
    const first: ChatMessage[] = [{ role: 'user', content: q1 }, { role: 'assistant', content: writtenResponse(p1, q1) }];
    if (kind === 0 || kind === 1) {
      const p2 = problem(i, 1);
      const q = trainPhrasing(p2, rng);
      const lead: ChatMessage[] = kind === 0 ? first : (() => {
        const c: ChatCategory = 'greeting';
        return [{ role: 'user' as const, content: rng.pick(prompts[c]) }, { role: 'assistant' as const, content: generalResponse(generalReply(c, rng)) }];
      })();
      return { messages: [...lead, { role: 'user' as const, content: rng.pick(FOLLOW_UPS).replace('{q}', kind === 0 ? q[0]!.toLowerCase() + q.slice(1) : q) }, { role: 'assistant' as const, content: writtenResponse(p2, q) }], source: kind === 0 ? 'multi:follow-up' : 'multi:greeting-then-problem' };
    }
    const c: ChatCategory = kind === 2 ? 'thanks' : 'out_of_scope';
    return { messages: [...first, { role: 'user' as const, content: rng.pick(prompts[c]) }, { role: 'assistant' as const, content: generalResponse(generalReply(c, rng)) }], source: `multi:${c}` };
  });
}
