// GRPO run recipes (zod-validated JSON), with TRL-like names and DeepSeek's defaults where they exist.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RECIPES_DIR } from '../train/recipe.js';
import { parseRecipeWith } from '../train/parse-recipe.js';

export const grpoRecipeSchema = z.object({
  kind: z.literal('grpo').default('grpo'),
  name: z.string().regex(/^[A-Za-z0-9._-]+$/),
  seed: z.number().int().nonnegative().default(0),
  /** The policy's starting point: a model directory (with tokenizer files). */
  init: z.string(),
  tasks: z.object({
    families: z.array(z.string()).min(1),
    difficulties: z.array(z.number().int()).min(1),
  }),
  /** Chat template for prompts: the R1-Zero template verbatim by default. */
  template: z.string().default('r1zero'),
  steps: z.number().int().positive(),
  /** Prompts per step; each gets `numGenerations` completions (a group). */
  promptsPerStep: z.number().int().positive().default(8),
  numGenerations: z.number().int().min(2).default(8),
  maxCompletionLength: z.number().int().positive().default(256),
  temperature: z.number().positive().default(1.0),
  topP: z.number().positive().max(1).default(1.0),
  lr: z.number().positive().default(1e-4),
  warmup: z.number().int().nonnegative().default(0),
  weightDecay: z.number().nonnegative().default(0),
  clip: z.number().positive().default(1.0),
  /** KL weight β; 0 loads no reference model. */
  beta: z.number().nonnegative().default(0),
  epsLow: z.number().nonnegative().default(0.2),
  epsHigh: z.number().nonnegative().default(0.28),
  /** μ: optimization passes over each batch of rollouts. */
  numIterations: z.number().int().positive().default(1),
  lossType: z.enum(['grpo', 'dapo', 'dr_grpo']).default('dapo'),
  scaleRewards: z.enum(['group', 'batch', 'none']).default('group'),
  /** Reset the reference model to the policy every N steps (0 = never; R1: 400). */
  refResetEvery: z.number().int().nonnegative().default(0),
  /** Groups whose rewards all match: keep, drop, or replace by new prompts (DAPO). */
  dynamicSampling: z.enum(['off', 'drop', 'replace']).default('off'),
  /** Truncated completions: nothing, mask from the loss, or a soft length penalty (DAPO). */
  overlong: z.enum(['none', 'mask', 'soft']).default('none'),
  overlongCache: z.number().int().nonnegative().default(32),
  rewards: z.object({
    accuracy: z.number().default(1),
    format: z.number().default(0.5),
    length: z.number().default(0),
    lengthTarget: z.number().int().positive().default(128),
  }).prefault({}),
  /** Sequences per forward/backward micro-batch. */
  microBatch: z.number().int().positive().default(16),
  eval: z.object({
    every: z.number().int().nonnegative().default(0),
    n: z.number().int().positive().default(20),
    k: z.number().int().nonnegative().default(4),
    difficulties: z.array(z.number().int()).optional(),
  }).prefault({}),
  checkpoint: z.object({ every: z.number().int().nonnegative().default(25) }).prefault({}),
  /**
   * Stop after this many minutes of RL in this invocation (0 = no limit). A budget, not part of the
   * run's definition: a resumed run gets the full budget again and may change it (BUDGET_KEYS).
   */
  maxMinutes: z.number().nonnegative().default(0),
  /**
   * Completions written to `<run>/completions.jsonl` per step (TRL's `log_completions`): the first
   * N of the step's sampled completions, in group order, with their prompt, problem and rewards.
   * 0 = none.
   */
  logCompletions: z.number().int().nonnegative().default(0),
});

/** A validated GRPO recipe. */
export type GrpoRecipe = z.infer<typeof grpoRecipeSchema>;

/** Parses a GRPO recipe object, listing every problem. */
export function parseGrpoRecipe(obj: unknown, where = 'recipe'): GrpoRecipe {
  return parseRecipeWith(grpoRecipeSchema, obj, where);
}

/** Reads a GRPO recipe file, or the built-in recipes/grpo-<name>.json. */
export function loadGrpoRecipe(fileOrPreset: string): GrpoRecipe {
  const file = fs.existsSync(fileOrPreset) ? fileOrPreset : path.join(RECIPES_DIR, `grpo-${fileOrPreset}.json`);
  if (!fs.existsSync(file)) throw new Error(`no GRPO recipe ${fileOrPreset} (neither a file nor recipes/grpo-${fileOrPreset}.json)`);
  let obj: unknown;
  try {
    obj = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
  return parseGrpoRecipe(obj, file);
}
