// The prompts of a GRPO run: problems drawn from the recipe's task families and difficulties (or
// by the caller, e.g. the R1 pipeline's general prompts) with a seeded generator that is saved in
// checkpoints, then encoded under the recipe's template (or by the caller: multi-turn prompts).
import { Rng } from '../tensor/index.js';
import { sampleProblem, hashSeed } from '../tasks/index.js';
import type { Problem } from '../tasks/index.js';
import type { GrpoRecipe } from './config.js';
import type { PromptGroup } from './rollout.js';

/** Draws a step's prompts. */
export class PromptSampler {
  readonly rng: Rng;

  constructor(
    private readonly r: GrpoRecipe,
    private readonly encode: (p: Problem) => number[],
    private readonly draw?: (rng: Rng, n: number) => Problem[],
  ) {
    this.rng = new Rng(hashSeed('grpo-prompts', r.seed));
  }

  /** `n` new prompt groups for attempt `attempt` of step `step`, indexed 0 … n − 1. */
  next(step: number, attempt: number, n: number): PromptGroup[] {
    const problems = this.draw ? this.draw(this.rng, n) : Array.from({ length: n }, () => {
      const fam = this.r.tasks.families[this.rng.int(this.r.tasks.families.length)];
      const d = this.r.tasks.difficulties[this.rng.int(this.r.tasks.difficulties.length)];
      return sampleProblem(fam, d, 'train', this.rng.nextU32());
    });
    return problems.map((problem, index) => ({ problem, prompt: this.encode(problem), step, attempt, index }));
  }
}
