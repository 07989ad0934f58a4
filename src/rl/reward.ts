// The reward role of GRPO: sampled groups → the same groups scored. Each completion is decoded
// (without its EOS), verified and scored by the weighted reward functions of ./rewards.ts (rule
// rewards; the R1 pipeline passes its own list, which may include the reward model of
// ./r1/reward-model.ts), plus DAPO's soft overlong punishment when the recipe asks for it.
// Workers build their functions from a RewardSpec (plain data, sent in the job); a caller's own
// functions (closures) run in the learner's process only.
import type { SampledGroup } from './rollout.js';
import { rewardFunctions, scoreCompletions } from './rewards.js';
import type { CompletionInfo, RewardFn } from './rewards.js';
import type { GrpoRecipe } from './config.js';

/** How a run turns completions into rewards: the rule-reward weights and the overlong handling. */
export interface RewardSpec {
  rewards: GrpoRecipe['rewards'];
  /** Truncated completions: nothing, masked from the loss (by the learner), or a soft penalty here. */
  overlong: GrpoRecipe['overlong'];
  overlongCache: number;
  maxCompletionLength: number;
}

/** The reward spec of a recipe. */
export function rewardSpec(r: GrpoRecipe): RewardSpec {
  return { rewards: r.rewards, overlong: r.overlong, overlongCache: r.overlongCache, maxCompletionLength: r.maxCompletionLength };
}

/** A sampled group with each completion's total reward, truncation, and every function's raw value. */
export interface ScoredGroup extends SampledGroup {
  rewards: number[];
  truncated: boolean[];
  /** Raw value of each reward function (by name) per completion. */
  perFn: Record<string, number[]>;
}

/** What the reward role needs besides the groups: the functions and the tokenizer's decoder. */
export interface Scorer {
  fns: readonly RewardFn[];
  spec: RewardSpec;
  decode: (ids: number[]) => string;
  eosId: number;
}

/** The scorer of a spec with its rule rewards (what a rollout worker uses). */
export function ruleScorer(spec: RewardSpec, decode: (ids: number[]) => string, eosId: number): Scorer {
  return { fns: rewardFunctions(spec.rewards), spec, decode, eosId };
}

/** DAPO's soft overlong punishment over the last `cache` tokens of the budget (< 0; −1 at the limit), or null before them. */
export function softOverlongPenalty(length: number, maxLength: number, cache: number): number | null {
  return length > maxLength - cache ? Math.max(-1, (maxLength - cache - length) / Math.max(1, cache)) : null;
}

/** Scores every completion of every group. */
export function score(groups: readonly SampledGroup[], s: Scorer): ScoredGroup[] {
  const infos: CompletionInfo[] = groups.flatMap((g) => g.completions.map((c) => {
    const toks = c.finishReason === 'stop' && c.tokens.at(-1) === s.eosId ? c.tokens.slice(0, -1) : c.tokens;
    return { problem: g.problem, text: s.decode(toks), length: c.tokens.length, truncated: c.finishReason === 'length' };
  }));
  const { total, perFn } = scoreCompletions(s.fns, infos);
  if (s.spec.overlong === 'soft') {
    infos.forEach((info, k) => {
      const p = softOverlongPenalty(info.length, s.spec.maxCompletionLength, s.spec.overlongCache);
      if (p !== null) total[k] += p;
    });
  }
  let k = 0;
  return groups.map((g) => {
    const n = g.completions.length, from = k;
    k += n;
    return {
      ...g,
      rewards: Array.from(total.subarray(from, k)),
      truncated: infos.slice(from, k).map((x) => x.truncated),
      perFn: Object.fromEntries(Object.entries(perFn).map(([name, v]) => [name, Array.from(v.subarray(from, k))])),
    };
  });
}
