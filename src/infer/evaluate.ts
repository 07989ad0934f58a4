// Evaluation on held-out task problems, as R1 reports it: pass@1 estimated from k samples
// (T = 0.6, top-p = 0.95), cons@k (majority vote over extracted answers), greedy accuracy —
// plus the lenient measure (last number/list/expression anywhere, tags ignored) that shows
// whether a gain is more than learning the output format.
import type { Tokenizer } from '../tokenizer/index.js';
import type { Problem, VerifyResult } from '../tasks/index.js';
import { getTask, lenientExtract, sampleProblem, streamSeed, taskNames } from '../tasks/index.js';
import type { Generator, GenerateRequest } from './generator.js';

/** What to evaluate. */
export interface EvalOptions {
  families?: string[];
  difficulties: number[];
  /** Problems per (family, difficulty). */
  n: number;
  /** Samples per problem for pass@1 / cons@k (0 = greedy only). */
  k: number;
  temperature?: number;
  topP?: number;
  maxNewTokens: number;
  /** Seed of the held-out problem stream and the samplers. */
  seed?: number;
  /** Chat template name used to build prompts (default r1zero). */
  template?: string;
  /** The strict check of a completion (default: the task's R1-Zero verifier, <answer> tags); a model trained on another output format passes that format's verifier. */
  verify?: (p: Problem, completion: string) => VerifyResult;
}

/** Scores of one family (fractions in [0, 1]). */
export interface FamilyScores {
  family: string;
  problems: number;
  greedy: number;
  greedyLenient: number;
  pass1: number;
  cons: number;
  lenientPass1: number;
  /** Fraction of completions in the strict check's format (R1-Zero: <think>…</think><answer>…</answer>; R1: reasoning, </think>, "The answer is X."). */
  formatRate: number;
  /** Mean completion length in tokens (sampled completions, or greedy when k = 0). */
  meanLength: number;
}

/** A full evaluation. */
export interface EvalReport {
  options: EvalOptions;
  families: FamilyScores[];
  /** Unweighted means over families. */
  mean: Omit<FamilyScores, 'family' | 'problems'>;
  seconds: number;
}

/** Held-out problems: the test split, from a stream disjoint from training data by construction. */
export function heldOutProblems(family: string, difficulty: number, n: number, seed = 0): Problem[] {
  return Array.from({ length: n }, (_, i) => sampleProblem(family, difficulty, 'test', streamSeed('test', seed, family, difficulty, i)));
}

/** The prompt ids of a problem under a chat template (R1-Zero by default). */
export function promptIds(tok: Tokenizer, p: Problem, template = 'r1zero'): number[] {
  const text = tok.applyChatTemplate([{ role: 'user', content: p.prompt }], { template, addGenerationPrompt: true });
  return tok.encode(text, { allowSpecial: true });
}

/** Token ids that end a completion: EOS and `</answer>`. */
export function completionStops(tok: Tokenizer): number[] {
  const ids = [tok.eosId];
  try { ids.push(tok.idOf('</answer>')); } catch { /* tokenizer without answer tags */ }
  return ids;
}

function normalize(ans: string | null): string | null {
  return ans === null ? null : ans.replace(/\s+/g, ' ').trim();
}

/** Runs the evaluation with one generator (all requests batched together). */
export async function evaluate(gen: Generator, tok: Tokenizer, opts: EvalOptions): Promise<EvalReport> {
  const t0 = performance.now();
  const families = opts.families ?? taskNames();
  const stops = completionStops(tok);
  // The completion as the verifiers expect it: without the EOS token that ended it.
  const decode = (ids: number[]) => tok.decode(ids.length && ids[ids.length - 1] === tok.eosId ? ids.slice(0, -1) : ids);
  const seed = opts.seed ?? 0;
  const rows: FamilyScores[] = [];
  for (const family of families) {
    const task = getTask(family);
    const verify = opts.verify ?? ((p: Problem, c: string) => task.verify(p, c));
    const problems = opts.difficulties.flatMap((d) => heldOutProblems(family, d, opts.n, seed));
    const prompts = problems.map((p) => promptIds(tok, p, opts.template));
    const greedyReqs: GenerateRequest[] = prompts.map((prompt) => ({ prompt, maxNewTokens: opts.maxNewTokens, sampling: { temperature: 0 }, stopTokenIds: stops }));
    const sampleReqs: GenerateRequest[] = [];
    prompts.forEach((prompt, i) => {
      for (let j = 0; j < opts.k; j++) {
        sampleReqs.push({ prompt, maxNewTokens: opts.maxNewTokens, sampling: { temperature: opts.temperature ?? 0.6, topP: opts.topP ?? 0.95 }, seed: seed * 1_000_003 + i * 1009 + j, stopTokenIds: stops });
      }
    });
    const [greedy, samples] = await Promise.all([gen.generateAll(greedyReqs), gen.generateAll(sampleReqs)]);
    let g = 0, gl = 0, p1 = 0, cons = 0, lp1 = 0, fmt = 0, len = 0;
    problems.forEach((p, i) => {
      const gt = decode(greedy[i].tokens);
      if (verify(p, gt).correct) g++;
      const le = lenientExtract(family, gt);
      if (le !== null && task.check(p, le)) gl++;
      if (opts.k === 0) { len += greedy[i].tokens.length; fmt += verify(p, gt).formatOk ? 1 : 0; return; }
      const votes = new Map<string, { n: number; correct: boolean; first: number }>();
      for (let j = 0; j < opts.k; j++) {
        const r = samples[i * opts.k + j];
        const text = decode(r.tokens);
        const v = verify(p, text);
        len += r.tokens.length;
        if (v.correct) p1 += 1 / opts.k;
        if (v.formatOk) fmt++;
        const lx = lenientExtract(family, text);
        if (lx !== null && task.check(p, lx)) lp1 += 1 / opts.k;
        const key = normalize(v.extracted);
        if (key) {
          const e = votes.get(key) ?? { n: 0, correct: v.correct, first: j };
          e.n++;
          votes.set(key, e);
        }
      }
      let best: { n: number; correct: boolean; first: number } | null = null;
      for (const e of votes.values()) if (!best || e.n > best.n || (e.n === best.n && e.first < best.first)) best = e;
      if (best?.correct) cons++;
    });
    const N = problems.length;
    const S = opts.k === 0 ? N : N * opts.k;
    rows.push({
      family, problems: N, greedy: g / N, greedyLenient: gl / N,
      pass1: opts.k ? p1 / N : NaN, cons: opts.k ? cons / N : NaN, lenientPass1: opts.k ? lp1 / N : NaN,
      formatRate: fmt / S, meanLength: len / S,
    });
  }
  const avg = (f: (r: FamilyScores) => number) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
  return {
    options: opts,
    families: rows,
    mean: {
      greedy: avg((r) => r.greedy), greedyLenient: avg((r) => r.greedyLenient), pass1: avg((r) => r.pass1), cons: avg((r) => r.cons),
      lenientPass1: avg((r) => r.lenientPass1), formatRate: avg((r) => r.formatRate), meanLength: avg((r) => r.meanLength),
    },
    seconds: (performance.now() - t0) / 1000,
  };
}

/** A plain-text table of an evaluation (percentages). */
export function formatEvalTable(rep: EvalReport): string {
  const pct = (x: number) => (Number.isNaN(x) ? '   -' : (100 * x).toFixed(1).padStart(5));
  const k = rep.options.k;
  const head = `family     problems  greedy  greedy(lenient)  pass@1(k=${k})  cons@${k}  pass@1 lenient  format  mean len`;
  const lines = rep.families.map((r) =>
    `${r.family.padEnd(10)} ${String(r.problems).padStart(8)}  ${pct(r.greedy)}  ${pct(r.greedyLenient).padStart(15)}  ${pct(r.pass1).padStart(12)}  ${pct(r.cons).padStart(6)}  ${pct(r.lenientPass1).padStart(14)}  ${pct(r.formatRate).padStart(6)}  ${r.meanLength.toFixed(1).padStart(8)}`);
  const m = rep.mean;
  lines.push(`${'mean'.padEnd(10)} ${''.padStart(8)}  ${pct(m.greedy)}  ${pct(m.greedyLenient).padStart(15)}  ${pct(m.pass1).padStart(12)}  ${pct(m.cons).padStart(6)}  ${pct(m.lenientPass1).padStart(14)}  ${pct(m.formatRate).padStart(6)}  ${m.meanLength.toFixed(1).padStart(8)}`);
  return [head, ...lines].join('\n');
}
