// Test-time compute of a reasoning model, measured on held-out task problems:
// 1. samples per problem: n samples at T = 0.6, top-p 0.95 (DeepSeek-R1's evaluation settings) →
//    pass@k (Chen et al.'s unbiased estimator) and majority-vote cons@k for k = 1…n;
// 2. a thinking budget (s1's budget forcing, greedy as s1 runs it): the thinking capped at B tokens for
//    B from 0 past the model's natural length, then extended with "Wait" (1, 2, 4 times);
// both against generated tokens per problem, the inference-compute axis.
// Answers are read leniently from the text after the last `</think>` (the whole completion when the
// model never closed its thinking): the last number / list / expression, as `tinyseek eval` does for
// models trained on R1's chat format ("… </think> The answer is X.").
import type { Tokenizer } from '../tokenizer/index.js';
import type { Generator } from '../infer/generator.js';
import { heldOutProblems, promptIds } from '../infer/evaluate.js';
import { generateWithBudget } from '../infer/budget-forcing.js';
import { consAtK, passAtK, type Vote } from '../analysis/pass-at-k.js';
import { getTask, lenientExtract, taskNames, type Problem } from '../tasks/index.js';
import { Rng } from '../tensor/random.js';

/** What to measure. */
export interface TtcOptions {
  families?: string[];
  difficulties: number[];
  /** Problems per (family, difficulty). */
  n: number;
  /** Samples per problem (≥ the largest k). */
  samples: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  /** Thinking budgets B (cap only). */
  budgets: number[];
  /** Numbers of "Wait" extensions, each run at budget `waitCap`. */
  waits: number[];
  waitCap: number;
  maxAnswerTokens: number;
  template: string;
  seed: number;
  /** Random subsets per k for cons@k (k < samples). */
  consDraws: number;
}

/** Defaults of `tinyseek ttc`. */
export const TTC_DEFAULTS: TtcOptions = {
  difficulties: [1, 2, 3], n: 2, samples: 64, temperature: 0.6, topP: 0.95, maxTokens: 200,
  budgets: [0, 8, 16, 32, 48, 64, 96, 128, 192, 256], waits: [1, 2, 4], waitCap: 384, maxAnswerTokens: 24,
  template: 'default', seed: 0, consDraws: 200,
};

/** One point of the budget-forcing curve. */
export interface BudgetPoint {
  budget: number;
  waits: number;
  accuracy: number;
  meanThinking: number;
  /** Mean tokens the model generated per problem (thinking + answer). */
  meanGenerated: number;
  /** Fraction of problems whose thinking was cut at exactly B. */
  forced: number;
  meanWaitsUsed: number;
}

/** The whole measurement. */
export interface TtcReport {
  model: string;
  options: TtcOptions;
  problems: number;
  families: string[];
  sampling: {
    k: number[];
    passAtK: number[];
    consAtK: number[];
    /** Mean completion tokens per sample. */
    meanTokens: number;
    /** k · meanTokens. */
    tokensPerProblem: number[];
    /** Mean thinking tokens per sample (before `</think>`; all of it when never closed). */
    meanThinking: number;
    /** Fraction of samples that closed their thinking. */
    closedThinking: number;
    perFamily: { family: string; problems: number; pass1: number; passMax: number; consMax: number }[];
  };
  budget: BudgetPoint[];
  seconds: { sampling: number; budget: number };
}

/** The answer of a completion: lenient extraction from the text after the last `</think>`. */
export function answerOf(family: string, text: string): string | null {
  const i = text.lastIndexOf('</think>');
  const part = i >= 0 ? text.slice(i + '</think>'.length) : text;
  const a = lenientExtract(family, part);
  return a === null ? null : a.replace(/\s+/g, ' ').trim();
}

function vote(p: Problem, text: string): Vote {
  const answer = answerOf(p.family, text);
  return { answer, correct: answer !== null && getTask(p.family).check(p, answer) };
}

/** Runs the measurement with one generator. */
export async function measureTestTimeCompute(gen: Generator, tok: Tokenizer, modelName: string, o: TtcOptions, log: (m: string) => void = () => {}): Promise<TtcReport> {
  if (o.samples < 1) throw new RangeError(`ttc: samples must be ≥ 1, found ${o.samples}`);
  const families = o.families ?? taskNames();
  const problems = families.flatMap((f) => o.difficulties.flatMap((d) => heldOutProblems(f, d, o.n, o.seed)));
  const prompts = problems.map((p) => promptIds(tok, p, o.template));
  const thinkEnd = tok.idOf('</think>');
  const decode = (ids: number[]) => tok.decode(ids.length && ids[ids.length - 1] === tok.eosId ? ids.slice(0, -1) : ids, { skipSpecial: false });

  // 1. Samples per problem.
  const t0 = performance.now();
  log(`sampling: ${problems.length} problems × ${o.samples} samples (T = ${o.temperature}, top-p ${o.topP}, ≤ ${o.maxTokens} tokens)`);
  const reqs = prompts.flatMap((prompt, i) => Array.from({ length: o.samples }, (_, j) => ({
    prompt, maxNewTokens: o.maxTokens, sampling: { temperature: o.temperature, topP: o.topP },
    seed: o.seed * 1_000_003 + i * 1009 + j, stopTokenIds: [tok.eosId],
  })));
  const outs = await gen.generateAll(reqs);
  const votes: Vote[][] = problems.map((p, i) => outs.slice(i * o.samples, (i + 1) * o.samples).map((r) => vote(p, decode(r.tokens))));
  let tokens = 0, thinking = 0, closed = 0;
  for (const r of outs) {
    tokens += r.tokens.length;
    const e = r.tokens.indexOf(thinkEnd);
    thinking += e >= 0 ? e : r.tokens.length;
    if (e >= 0) closed++;
  }
  const ks = Array.from({ length: o.samples }, (_, i) => i + 1);
  const rng = new Rng(o.seed + 17);
  const mean = (f: (i: number) => number) => problems.reduce((a, _, i) => a + f(i), 0) / problems.length;
  const correct = votes.map((v) => v.filter((x) => x.correct).length);
  const pass = ks.map((k) => mean((i) => passAtK(o.samples, correct[i], k)));
  const cons = ks.map((k) => mean((i) => consAtK(votes[i], k, rng, o.consDraws)));
  const meanTokens = tokens / outs.length;
  const perFamily = families.map((family) => {
    const idx = problems.map((p, i) => (p.family === family ? i : -1)).filter((i) => i >= 0);
    const m = (f: (i: number) => number) => idx.reduce((a, i) => a + f(i), 0) / idx.length;
    return {
      family, problems: idx.length,
      pass1: m((i) => passAtK(o.samples, correct[i], 1)), passMax: m((i) => passAtK(o.samples, correct[i], o.samples)),
      consMax: m((i) => consAtK(votes[i], o.samples, rng)),
    };
  });
  const tSampling = (performance.now() - t0) / 1000;

  // 2. Thinking budgets (greedy).
  const t1 = performance.now();
  const waitIds = tok.encode('Wait');
  const settings = [...o.budgets.map((b) => ({ budget: b, waits: 0 })), ...o.waits.map((w) => ({ budget: o.waitCap, waits: w }))];
  const budget: BudgetPoint[] = [];
  for (const s of settings) {
    log(`budget forcing: B = ${s.budget}${s.waits ? `, ${s.waits} × "Wait"` : ''}`);
    const res = await Promise.all(prompts.map((prompt, i) => generateWithBudget(gen, prompt, {
      budget: s.budget, waits: s.waits, thinkEndId: thinkEnd, eosId: tok.eosId, waitIds, maxAnswerTokens: o.maxAnswerTokens, seed: o.seed + i,
    })));
    const acc = res.filter((r, i) => vote(problems[i], decode([thinkEnd, ...r.answer])).correct).length / problems.length;
    const avg = (f: (r: (typeof res)[number]) => number) => res.reduce((a, r) => a + f(r), 0) / res.length;
    budget.push({
      budget: s.budget, waits: s.waits, accuracy: acc, meanThinking: avg((r) => r.thinking.length), meanGenerated: avg((r) => r.generated),
      forced: avg((r) => (r.forced ? 1 : 0)), meanWaitsUsed: avg((r) => r.waitsUsed),
    });
  }
  return {
    model: modelName, options: o, problems: problems.length, families,
    sampling: {
      k: ks, passAtK: pass, consAtK: cons, meanTokens, tokensPerProblem: ks.map((k) => k * meanTokens),
      meanThinking: thinking / outs.length, closedThinking: closed / outs.length, perFamily,
    },
    budget,
    seconds: { sampling: tSampling, budget: (performance.now() - t1) / 1000 },
  };
}
