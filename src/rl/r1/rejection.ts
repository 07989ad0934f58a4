// Rejection sampling (R1 stages 1 and 3) as two roles with one input and one output type each:
//   collect(model, prompts, settings) → Trace[]   sample completions per prompt from a model
//   filterTraces(Trace[], settings)   → { kept: Trace[], dropped }   keep the verified-correct, readable ones
// plus cleanR1Zero(Trace) → Trace, which rewrites an R1-Zero completion (<think>…</think> <answer>…</answer>)
// into R1's readable format (reasoning, then a summary answer), as DeepSeek cleaned R1-Zero outputs for
// the cold start. The filters, in order: incorrect (the verifier rejects the summary's answer or the
// format), mixed (markup of another format in it: answer tags, a second think tag, chat markers),
// overlong (truncated, too many tokens, or a summary longer than one short line), unreadable
// (readability of the reasoning below the threshold), wrong step (the reasoning states false arithmetic,
// "9 + 0 + 9 = 10", though the answer is right: steps.ts), duplicate (same prompt and same normalized text).
import type { ChatMessage } from '../../tokenizer/index.js';
import type { Tokenizer } from '../../tokenizer/index.js';
import type { Problem } from '../../tasks/index.js';
import { getTask, hashSeed } from '../../tasks/index.js';
import type { Generator } from '../../infer/generator.js';
import { completionStops } from '../../infer/evaluate.js';
import { answerSummary, hasForeignMarkup, parseR1, r1Response, r1Verify } from './format.js';
import { readability } from './readability.js';
import { falseSteps } from './steps.js';

/** One sampled (or written) answer to a prompt. */
export interface Trace {
  problem: Problem;
  /** The conversation up to the answer (the last message is the user's). */
  messages: ChatMessage[];
  /** The completion, in R1 format (reasoning, </think>, summary), without the opening "<think>\n". */
  completion: string;
  /** Completion length in tokens. */
  tokens: number;
  truncated: boolean;
  source: 'r1zero' | 'policy' | 'written';
}

/** What to sample. */
export interface CollectOptions {
  samples: number;
  temperature: number;
  topP?: number;
  maxNewTokens: number;
  /** Chat template of the prompts ("default" for R1, "r1zero" for R1-Zero models). */
  template: string;
  seed: number;
  source: Trace['source'];
}

/** Samples `samples` completions for each prompt. */
export async function collect(gen: Generator, tok: Tokenizer, prompts: readonly { problem: Problem; messages: ChatMessage[] }[], o: CollectOptions): Promise<Trace[]> {
  const stops = completionStops(tok);
  const reqs = prompts.flatMap((p, i) => {
    const ids = tok.encode(tok.applyChatTemplate(p.messages, { template: o.template, addGenerationPrompt: true }), { allowSpecial: true });
    return Array.from({ length: o.samples }, (_, j) => ({
      prompt: ids, maxNewTokens: o.maxNewTokens, sampling: { temperature: o.temperature, topP: o.topP ?? 1 },
      seed: hashSeed('collect', o.seed, i, j), stopTokenIds: stops,
    }));
  });
  const res = await gen.generateAll(reqs);
  return res.map((r, k) => {
    const p = prompts[Math.floor(k / o.samples)]!;
    const toks = r.finishReason === 'stop' && r.tokens.at(-1) === tok.eosId ? r.tokens.slice(0, -1) : r.tokens;
    return { problem: p.problem, messages: p.messages, completion: tok.decode(toks), tokens: r.tokens.length, truncated: r.finishReason === 'length', source: o.source };
  });
}

/**
 * An R1-Zero completion rewritten into R1's format when the R1-Zero verifier accepts it: the
 * <think> content becomes the reasoning and the <answer> content the summary "The answer is X.".
 * Null when it is not verified correct (nothing to clean).
 */
export function cleanR1Zero(t: Trace): Trace | null {
  const v = getTask(t.problem.family).verify(t.problem, t.completion);
  if (!v.correct || !v.formatOk || v.extracted === null) return null;
  const m = /<think>([\s\S]*)<\/think>/.exec(t.completion);
  const thinking = (m?.[1] ?? '').split('\n').map((l) => l.trim()).filter(Boolean).join('\n');
  return { ...t, completion: r1Response(thinking, answerSummary(v.extracted.trim())).replace(/^<think>\n/, '') };
}

/** Filter settings. */
export interface FilterOptions {
  /** Least readability of the reasoning to keep a trace (R1: drop unreadable chains of thought). */
  minReadability: number;
  /** Longest completion kept, in tokens. */
  maxTokens: number;
  /** Longest summary kept, in characters (R1 drops long paragraphs). */
  maxSummaryChars: number;
  /** Drop traces whose reasoning states false arithmetic (default true). */
  checkSteps?: boolean;
}

/** Why traces were dropped, counted. */
export interface FilterStats {
  input: number;
  kept: number;
  incorrect: number;
  mixed: number;
  overlong: number;
  unreadable: number;
  wrongStep: number;
  duplicate: number;
}

/** The filters of rejection sampling; each trace is dropped for the first reason that applies. */
export function filterTraces(traces: readonly Trace[], o: FilterOptions): { kept: Trace[]; stats: FilterStats } {
  const stats: FilterStats = { input: traces.length, kept: 0, incorrect: 0, mixed: 0, overlong: 0, unreadable: 0, wrongStep: 0, duplicate: 0 };
  const seen = new Set<string>();
  const kept: Trace[] = [];
  for (const t of traces) {
    const parts = parseR1(t.completion);
    if (!r1Verify(t.problem, t.completion).correct) {
      // The strict verdict also fails on foreign markup; count that as mixed, the rest as incorrect.
      if (parts.closed && (hasForeignMarkup(parts.thinking) || hasForeignMarkup(parts.summary))) stats.mixed++;
      else stats.incorrect++;
      continue;
    }
    if (t.truncated || t.tokens > o.maxTokens || parts.summary.length > o.maxSummaryChars) { stats.overlong++; continue; }
    if (readability(parts.thinking) < o.minReadability) { stats.unreadable++; continue; }
    if (o.checkSteps !== false && falseSteps(parts.thinking).length > 0) { stats.wrongStep++; continue; }
    const key = `${JSON.stringify(t.messages)}\u0000${t.completion.replace(/\s+/g, ' ').trim()}`;
    if (seen.has(key)) { stats.duplicate++; continue; }
    seen.add(key);
    kept.push(t);
  }
  stats.kept = kept.length;
  return { kept, stats };
}
