// Budget forcing (s1, Muennighoff et al. 2025): control how long a reasoning model thinks.
// - Cap: when the thinking reaches B tokens, end it by appending the end-of-thinking delimiter
//   (`</think>`) and let the model write its answer.
// - Extend: when the model ends its thinking early, suppress the delimiter and append "Wait" instead,
//   up to `waits` times, so it thinks on (never beyond B).
// The prompt is assumed to open the thinking already (R1's template ends in `<think>\n`); thinking
// tokens are those generated after the prompt and before `</think>`, the appended "Wait"s included.
// An end-of-sequence token inside the thinking ends it like `</think>` does.
import type { Generator } from './generator.js';
import type { SamplingParams } from './sampler.js';

/** What to force. */
export interface BudgetForcingOptions {
  /** B: most thinking tokens (0 = answer at once). */
  budget: number;
  /** How many early ends of thinking to replace by `waitIds` (0 = cap only). */
  waits: number;
  /** The end-of-thinking delimiter's id (`</think>`). */
  thinkEndId: number;
  /** End of sequence. */
  eosId: number;
  /** The ids of "Wait" (appended to extend). */
  waitIds: readonly number[];
  /** Longest answer after `</think>`. */
  maxAnswerTokens: number;
  /** Tokens that end the answer (default: EOS). */
  answerStops?: readonly number[];
  sampling?: SamplingParams;
  seed?: number;
}

/** The outcome of one forced generation. */
export interface BudgetForcingResult {
  /** Thinking tokens (≤ budget), "Wait"s included, `</think>` excluded. */
  thinking: number[];
  /** The thinking was cut at exactly `budget` tokens. */
  forced: boolean;
  /** "Wait"s appended. */
  waitsUsed: number;
  /** The answer after `</think>` (including its stop token, if any). */
  answer: number[];
  /** prompt + thinking + `</think>` + answer: the whole sequence. */
  sequence: number[];
  /** Tokens the model generated (thinking without the appended "Wait"s, plus the answer). */
  generated: number;
}

/** Generates one completion with the thinking capped at `budget` tokens and extended by "Wait" `waits` times. */
export async function generateWithBudget(gen: Generator, prompt: readonly number[], o: BudgetForcingOptions): Promise<BudgetForcingResult> {
  if (!Number.isInteger(o.budget) || o.budget < 0) throw new RangeError(`budget forcing: budget must be an integer ≥ 0, found ${o.budget}`);
  if (!Number.isInteger(o.waits) || o.waits < 0) throw new RangeError(`budget forcing: waits must be an integer ≥ 0, found ${o.waits}`);
  if (o.waits > 0 && o.waitIds.length === 0) throw new RangeError('budget forcing: waits > 0 needs the ids of "Wait"');
  const room = gen.maxLen - prompt.length - 1 - o.maxAnswerTokens;
  if (o.budget > room) {
    throw new RangeError(`budget forcing: budget ${o.budget} + ${o.maxAnswerTokens} answer tokens + the ${prompt.length}-token prompt exceed the generator's ${gen.maxLen} positions (at most ${Math.max(0, room)} thinking tokens fit)`);
  }
  const thinking: number[] = [];
  let forced = false, waitsUsed = 0, generated = 0, segment = 0;
  const seed = o.seed ?? 0;
  while (true) {
    const remaining = o.budget - thinking.length;
    if (remaining <= 0) { forced = true; break; }
    const r = await gen.generate({
      prompt: [...prompt, ...thinking], maxNewTokens: remaining, sampling: o.sampling ?? { temperature: 0 },
      seed: seed * 7919 + segment++, stopTokenIds: [o.thinkEndId, o.eosId],
    });
    generated += r.tokens.length;
    const last = r.tokens.at(-1);
    const ended = r.finishReason === 'stop' && (last === o.thinkEndId || last === o.eosId);
    thinking.push(...(ended ? r.tokens.slice(0, -1) : r.tokens));
    if (!ended) { forced = thinking.length >= o.budget; break; }
    // Extend: the "Wait" must fit with room for at least one more thinking token.
    if (waitsUsed < o.waits && thinking.length + o.waitIds.length < o.budget) {
      thinking.push(...o.waitIds);
      waitsUsed++;
      continue;
    }
    break;
  }
  const head = [...prompt, ...thinking, o.thinkEndId];
  const a = await gen.generate({
    prompt: head, maxNewTokens: o.maxAnswerTokens, sampling: o.sampling ?? { temperature: 0 },
    seed: seed * 7919 + segment, stopTokenIds: o.answerStops ?? [o.eosId],
  });
  generated += a.tokens.length;
  return { thinking, forced, waitsUsed, answer: a.tokens, sequence: [...head, ...a.tokens], generated };
}
