// Rule-based rewards (R1-Zero: accuracy + format, no neural reward model).
//   accuracy  1 if the well-formed completion's <answer> solves the problem (the task's own verifier)
//   format    1 if the completion is exactly <think>…</think> then <answer>…</answer>, once each, in order
//   length    optional: a small bonus for longer reasoning, capped (off by default)
// Known reward hacks score zero: an empty <answer></answer>, repeated tags, an answer outside the tags.
import type { Problem } from '../tasks/index.js';
import { getTask } from '../tasks/index.js';

/** Per-completion facts a reward function may use. */
export interface CompletionInfo {
  problem: Problem;
  /** Decoded completion (without the EOS token). */
  text: string;
  /** Completion length in tokens. */
  length: number;
  /** True when generation stopped at the token limit. */
  truncated: boolean;
}

/** A named reward function. */
export interface RewardFn {
  name: string;
  weight: number;
  fn(info: CompletionInfo): number;
}

/** Accuracy: the verifier on the <answer> content of a well-formed completion. */
export function accuracyReward(info: CompletionInfo): number {
  const v = getTask(info.problem.family).verify(info.problem, info.text);
  return v.formatOk && v.correct ? 1 : 0;
}

/** Format: <think>…</think><answer>…</answer> exactly once each, in order, both non-empty. */
export function formatReward(info: CompletionInfo): number {
  return getTask(info.problem.family).verify(info.problem, info.text).formatOk ? 1 : 0;
}

/** Length: min(1, tokens / target) for well-formed completions (rewards thinking longer; off by default). */
export function lengthReward(target: number): (info: CompletionInfo) => number {
  return (info) => (getTask(info.problem.family).verify(info.problem, info.text).formatOk ? Math.min(1, info.length / target) : 0);
}

/** The reward functions of a config: accuracy and format by default. */
export function rewardFunctions(weights: { accuracy?: number; format?: number; length?: number; lengthTarget?: number } = {}): RewardFn[] {
  const fns: RewardFn[] = [
    { name: 'accuracy', weight: weights.accuracy ?? 1, fn: accuracyReward },
    { name: 'format', weight: weights.format ?? 0.5, fn: formatReward },
  ];
  if (weights.length) fns.push({ name: 'length', weight: weights.length, fn: lengthReward(weights.lengthTarget ?? 128) });
  return fns;
}

/** Scores completions: the weighted total and each function's raw values. */
export function scoreCompletions(fns: readonly RewardFn[], infos: readonly CompletionInfo[]): { total: Float64Array; perFn: Record<string, Float64Array> } {
  const total = new Float64Array(infos.length);
  const perFn: Record<string, Float64Array> = {};
  for (const f of fns) {
    const v = new Float64Array(infos.length);
    infos.forEach((info, i) => {
      v[i] = f.fn(info);
      total[i] += f.weight * v[i];
    });
    perFn[f.name] = v;
  }
  return { total, perFn };
}
