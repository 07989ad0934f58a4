// Where a GRPO step's scored groups come from. In-process (the default): the learner's own
// generator runs the rollout role and its reward functions the reward role, on the current policy.
// Distributed: a queue of rollout workers (../parallel/rollout-queue.ts) runs both elsewhere.
import type { Generator } from '../infer/generator.js';
import type { PromptSampler } from './prompts.js';
import { rollout } from './rollout.js';
import type { SamplingSettings } from './rollout.js';
import { score } from './reward.js';
import type { ScoredGroup, Scorer } from './reward.js';

/** A source of scored rollouts for the learner. */
export interface RolloutSource {
  /** The scored groups of attempt `attempt` of step `step`: `n` new prompts, sampled and scored. */
  groups(step: number, attempt: number, n: number): Promise<ScoredGroup[]>;
  /** Tokens generated for the learner so far (for tokens/s). */
  generatedTokens(): number;
  /** The learner has made policy version `version` (= steps done). */
  published?(version: number): Promise<void>;
  /** Metrics of the step just sampled, beyond the GRPO ones (queue depth, staleness, …). */
  stepMetrics?(): Promise<Record<string, number>>;
  /** Numbers for the progress line. */
  progressFields?(): Record<string, number>;
  /** What a checkpoint of step `step` must hold to resume the source. */
  checkpointState?(step: number): Record<string, unknown>;
  /** A checkpoint of step `step` is complete: work before it is no longer needed. */
  checkpointed?(step: number): Promise<void>;
  close(): Promise<void>;
}

/** The in-process source: prompts → rollout on the learner's generator → score. */
export class InProcessRollouts implements RolloutSource {
  constructor(private readonly gen: Generator, private readonly prompts: PromptSampler, private readonly sampling: SamplingSettings, private readonly scorer: Scorer) {}

  async groups(step: number, attempt: number, n: number): Promise<ScoredGroup[]> {
    const groups = this.prompts.next(step, attempt, n);
    return score(await rollout(this.gen, { version: step, groups }, this.sampling), this.scorer);
  }

  generatedTokens(): number {
    return this.gen.stats.generatedTokens;
  }

  async close(): Promise<void> {}
}
