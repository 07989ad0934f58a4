// A GRPO step's metrics line (TRL's names) and the progress note of a step that learned nothing.
import type { ScoredGroup } from './reward.js';
import type { UpdateStats } from './learner.js';
import { groupStd, meanStd } from './advantages.js';

/** A metrics record of metrics.jsonl. */
export type StepRecord = Record<string, number> & { step: number };

/** What a step sampled and used, and how long it took. */
export interface StepOutcome {
  /** Every group sampled this step (dynamic sampling may have dropped some). */
  sampled: readonly ScoredGroup[];
  /** The groups the update used. */
  used: readonly ScoredGroup[];
  stats: UpdateStats;
  /** Names of the reward functions (their raw values are in each group's perFn). */
  rewardNames: readonly string[];
  stepSeconds: number;
  generationTokensPerS: number;
  elapsedMinutes: number;
}

/** The metrics record of step `step` (0-based; recorded as step + 1). */
export function stepRecord(step: number, o: StepOutcome): StepRecord {
  const mean = (a: number[]) => meanStd(a).mean;
  const std = (a: number[]) => meanStd(a).std;
  const rewardsAll = o.sampled.flatMap((g) => g.rewards);
  const lens = o.sampled.flatMap((g) => g.completions.map((c) => c.tokens.length));
  const zeroStd = o.sampled.filter((g) => groupStd(g.rewards, g.rewards.length)[0] === 0).length / Math.max(1, o.sampled.length);
  const s = o.stats;
  const rec: StepRecord = {
    step: step + 1,
    loss: s.loss,
    reward: mean(rewardsAll),
    reward_std: std(rewardsAll),
    frac_reward_zero_std: zeroStd,
    'completions/mean_length': mean(lens),
    'completions/min_length': lens.length ? Math.min(...lens) : 0,
    'completions/max_length': lens.length ? Math.max(...lens) : 0,
    'completions/clipped_ratio': o.sampled.flatMap((g) => g.truncated).filter((t) => t).length / Math.max(1, lens.length),
    kl: s.kl,
    entropy: s.entropy,
    'clip_ratio/low_mean': s.clipLow,
    'clip_ratio/high_mean': s.clipHigh,
    'clip_ratio/region_mean': s.clipLow + s.clipHigh,
    grad_norm: s.gradNorm,
    lr: s.lr,
    num_groups_used: o.used.length,
    step_time: o.stepSeconds,
    generation_tokens_per_s: o.generationTokensPerS,
    elapsed_minutes: o.elapsedMinutes,
  };
  for (const name of o.rewardNames) {
    const vals = o.sampled.flatMap((g) => g.perFn[name]);
    rec[`rewards/${name}/mean`] = mean(vals);
    rec[`rewards/${name}/std`] = std(vals);
  }
  return rec;
}

/**
 * The progress note of a step whose every group had equal rewards — all advantages are 0, so the
 * rewards teach nothing (only the KL term, if any, moves the policy) — or undefined when some group
 * had a spread: `no signal: all 8 groups had equal rewards (every reward 0)`.
 */
export function noSignalNote(groups: readonly (readonly number[])[]): string | undefined {
  if (groups.some((g) => g.some((r) => r !== g[0]))) return undefined;
  const all = groups.flat();
  const same = all.length > 0 && all.every((r) => r === all[0]) ? ` (every reward ${Number(all[0].toFixed(4))})` : '';
  const n = groups.length;
  return `no signal: ${n === 1 ? 'the only group had' : `all ${n} groups had`} equal rewards${same}`;
}
