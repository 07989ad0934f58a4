// Test-time compute of a reasoning model, measured on held-out task problems:
// 1. samples per problem: n samples at T = 0.6, top-p 0.95 (DeepSeek-R1's evaluation settings) →
//    pass@k (Chen et al.'s unbiased estimator) and majority-vote cons@k for k = 1…n;
// 2. a thinking budget (s1's budget forcing, greedy as s1 runs it): the thinking capped at B tokens for
//    B from 0 past the model's natural length, then extended with "Wait" (1, 2, 4 times);
// 3. best-of-N with a reward model (when given one, e.g. the R1 pipeline's, shipped with the model as
//    reward-model.json): of k samples the one the RM scores highest is kept (exact expectation over
//    k-subsets of the n samples, `bestOfK`), on the task problems (kept answer correct?) and on the
//    held-out general prompts (kept reply clean, by the rule the R1 evaluation uses?);
// all against generated tokens per problem, the inference-compute axis.
// Answers are read leniently from the text after the last `</think>` (the whole completion when the
// model never closed its thinking): the last number / list / expression, as `tinyseek eval` does for
// models trained on R1's chat format ("… </think> The answer is X.").
import type { Tokenizer } from '../tokenizer/index.js';
import type { Generator } from '../infer/generator.js';
import { heldOutProblems, promptIds } from '../infer/evaluate.js';
import { generateWithBudget } from '../infer/budget-forcing.js';
import { bestOfK, consAtK, passAtK, type Vote } from '../analysis/pass-at-k.js';
import { CATEGORIES, HELDOUT_GENERAL } from '../data/conversations.js';
import { parseR1, r1ReplyOk } from '../rl/r1/format.js';
import type { RewardModel } from '../rl/r1/reward-model.js';
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
  /** Best-of-N with a reward model (absent without one). */
  bestOfN?: {
    /** Where the reward model came from. */
    rm: string;
    k: number[];
    /** Task problems: expected accuracy of the RM's pick of k samples (the same samples as pass@k). */
    task: number[];
    /** Held-out general prompts, `samples` replies each: the clean-reply rate of the RM's pick, and of any of k (the oracle). */
    general: { prompts: number; bestOfK: number[]; anyOfK: number[]; meanTokens: number };
  };
  seconds: { sampling: number; budget: number; bestOfN?: number };
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
export async function measureTestTimeCompute(gen: Generator, tok: Tokenizer, modelName: string, o: TtcOptions, log: (m: string) => void = () => {}, rm: { model: RewardModel; source: string } | null = null): Promise<TtcReport> {
  if (o.samples < 1) throw new RangeError(`ttc: samples must be ≥ 1, found ${o.samples}`);
  const families = o.families ?? taskNames();
  const problems = families.flatMap((f) => o.difficulties.flatMap((d) => heldOutProblems(f, d, o.n, o.seed)));
  const prompts = problems.map((p) => promptIds(tok, p, o.template));
  const thinkEnd = tok.idOf('</think>');
  // Every thinking budget must fit beside the longest prompt and the forced answer: checked before any
  // sampling, so a budget that cannot fit fails at once rather than after the whole measurement.
  const longest = Math.max(0, ...prompts.map((p) => p.length));
  const room = gen.maxLen - longest - 1 - o.maxAnswerTokens;
  const tooBig = [...o.budgets.map((b) => ['--budgets', b] as const), ...(o.waits.length ? [['--wait-cap', o.waitCap] as const] : [])].filter(([, b]) => b > room);
  if (tooBig.length) {
    throw new RangeError(`ttc: ${tooBig.map(([flag, b]) => `${flag} ${b}`).join(', ')} cannot fit: with the longest prompt (${longest} tokens, template "${o.template}") and ${o.maxAnswerTokens} answer tokens, at most ${Math.max(0, room)} thinking tokens fit in the generator's ${gen.maxLen} positions`);
  }
  const decode = (ids: number[]) => tok.decode(ids.length && ids[ids.length - 1] === tok.eosId ? ids.slice(0, -1) : ids, { skipSpecial: false });

  // 1. Samples per problem.
  const t0 = performance.now();
  log(`sampling: ${problems.length} problems × ${o.samples} samples (T = ${o.temperature}, top-p ${o.topP}, ≤ ${o.maxTokens} tokens)`);
  const reqs = prompts.flatMap((prompt, i) => Array.from({ length: o.samples }, (_, j) => ({
    prompt, maxNewTokens: o.maxTokens, sampling: { temperature: o.temperature, topP: o.topP },
    seed: o.seed * 1_000_003 + i * 1009 + j, stopTokenIds: [tok.eosId],
  })));
  const outs = await gen.generateAll(reqs);
  const texts: string[][] = problems.map((_, i) => outs.slice(i * o.samples, (i + 1) * o.samples).map((r) => decode(r.tokens)));
  const votes: Vote[][] = problems.map((p, i) => texts[i].map((t) => vote(p, t)));
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
  // 3. Best-of-N with the reward model, judged on the final answer (the summary after </think>) as R1 judges helpfulness.
  let bestOfN: TtcReport['bestOfN'];
  const t2 = performance.now();
  if (rm) {
    const bk = ks.filter((k) => (k & (k - 1)) === 0 || k === o.samples);
    // Each sample scored once (on its final answer), then every k reads the same scores.
    const taskScores = texts.map((ts, i) => ts.map((t) => rm.model.score(problems[i].prompt, parseR1(t).summary)));
    const taskGood = votes.map((vs) => vs.map((v) => v.correct));
    const task = bk.map((k) => mean((i) => bestOfK(taskScores[i], taskGood[i], k)));
    const gp = CATEGORIES.flatMap((c) => HELDOUT_GENERAL[c]);
    log(`best-of-N: ${gp.length} held-out general prompts × ${o.samples} samples`);
    const gIds = gp.map((text) => tok.encode(tok.applyChatTemplate([{ role: 'user', content: text }], { template: o.template, addGenerationPrompt: true }), { allowSpecial: true }));
    const gOuts = await gen.generateAll(gIds.flatMap((prompt, i) => Array.from({ length: o.samples }, (_, j) => ({
      prompt, maxNewTokens: o.maxTokens, sampling: { temperature: o.temperature, topP: o.topP },
      seed: o.seed * 1_000_003 + 500_000 + i * 1009 + j, stopTokenIds: [tok.eosId],
    }))));
    const replies = gp.map((_, i) => gOuts.slice(i * o.samples, (i + 1) * o.samples).map((r) => decode(r.tokens)));
    const gm = (f: (i: number) => number) => gp.reduce((a, _, i) => a + f(i), 0) / gp.length;
    const clean = replies.map((rs) => rs.map((t) => r1ReplyOk(t)));
    const gScores = replies.map((rs, i) => rs.map((t) => rm.model.score(gp[i], parseR1(t).summary)));
    bestOfN = {
      rm: rm.source, k: bk, task,
      general: {
        prompts: gp.length,
        bestOfK: bk.map((k) => gm((i) => bestOfK(gScores[i], clean[i], k))),
        anyOfK: bk.map((k) => gm((i) => passAtK(o.samples, clean[i].filter(Boolean).length, k))),
        meanTokens: gOuts.reduce((a, r) => a + r.tokens.length, 0) / gOuts.length,
      },
    };
  }
  return {
    model: modelName, options: o, problems: problems.length, families,
    sampling: {
      k: ks, passAtK: pass, consAtK: cons, meanTokens, tokensPerProblem: ks.map((k) => k * meanTokens),
      meanThinking: thinking / outs.length, closedThinking: closed / outs.length, perFamily,
    },
    budget,
    ...(bestOfN ? { bestOfN } : {}),
    seconds: { sampling: tSampling, budget: (t2 - t1) / 1000, ...(bestOfN ? { bestOfN: (performance.now() - t2) / 1000 } : {}) },
  };
}
