// The rollout role of GRPO: a batch of prompt groups and the policy version that must sample them
// → G completions per prompt, each with its per-token behaviour log-probs log π_behav(o_t | q, o_<t)
// (temperature-scaled, as sampled). The same function runs inside the learner's process and inside
// `tinyseek rollout-worker` processes; every completion draws from its own seeded sampler, so a
// group's completions depend only on (weights, prompt, seed), not on which process or batch ran it.
import type { Generator, FinishReason } from '../infer/generator.js';
import type { Problem } from '../tasks/index.js';
import { hashSeed } from '../tasks/index.js';

/** A prompt to sample G completions of, with the key its samplers' seeds derive from. */
export interface PromptGroup {
  problem: Problem;
  /** Prompt token ids. */
  prompt: number[];
  /** The step, the dynamic-sampling attempt and the group's index within that attempt. */
  step: number;
  attempt: number;
  index: number;
}

/** Sampling settings of a run (the recipe's, plus the tokenizer's stop ids). */
export interface SamplingSettings {
  seed: number;
  /** G */
  numGenerations: number;
  maxCompletionLength: number;
  temperature: number;
  topP: number;
  stopTokenIds: number[];
}

/** A rollout request: prompt groups and the policy version whose weights sample them. */
export interface RolloutRequest {
  version: number;
  groups: PromptGroup[];
}

/** One sampled completion: tokens and their behaviour log-probs (same length). */
export interface Completion {
  tokens: number[];
  logprobs: number[];
  finishReason: FinishReason;
}

/** A prompt group with its G completions, sampled by policy `version`. */
export interface SampledGroup extends PromptGroup {
  version: number;
  completions: Completion[];
}

/** The seed of completion j of a group: the same key as before the roles were split (exact replays). */
export function completionSeed(seed: number, g: PromptGroup, j: number): number {
  return hashSeed('grpo-sample', seed, g.step, g.attempt, g.index, j);
}

/**
 * Samples G completions for every group of the request with `gen` (whose model must hold the
 * weights of `req.version`), all groups batched together. Returns the groups in request order.
 */
export async function rollout(gen: Generator, req: RolloutRequest, s: SamplingSettings): Promise<SampledGroup[]> {
  const G = s.numGenerations;
  const reqs = req.groups.flatMap((g) => Array.from({ length: G }, (_, j) => ({
    prompt: g.prompt, maxNewTokens: s.maxCompletionLength, sampling: { temperature: s.temperature, topP: s.topP },
    seed: completionSeed(s.seed, g, j), stopTokenIds: s.stopTokenIds,
  })));
  const results = await gen.generateAll(reqs);
  return req.groups.map((g, i) => ({
    ...g,
    version: req.version,
    completions: results.slice(i * G, (i + 1) * G).map((r) => ({ tokens: r.tokens, logprobs: r.logprobs, finishReason: r.finishReason })),
  }));
}
