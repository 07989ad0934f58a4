// The R1 pipeline recipe (recipes/r1-<preset>.json, zod-validated): the base, the task mix, and one
// section per stage. GRPO sections hold GRPO recipe fields (src/rl/config.ts; init, name, tasks and
// template are filled in by the pipeline); SFT sections hold the `train` block of an SFT recipe.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RECIPES_DIR } from '../../train/recipe.js';
import { parseRecipeWith } from '../../train/parse-recipe.js';

const grpoSection = z.record(z.string(), z.unknown());
const sftSection = z.object({ train: z.record(z.string(), z.unknown()), seqLen: z.number().int().positive().optional() });
const weights = z.object({
  accuracy: z.number().default(1),
  format: z.number().default(0.25),
  readability: z.number().default(0),
  preference: z.number().default(0),
});
/** Rejection sampling's filters (src/rl/r1/rejection.ts), shared by the R1 pipeline and distillation. */
export const filterSchema = z.object({
  minReadability: z.number().min(0).max(1).default(1),
  maxTokens: z.number().int().positive().default(200),
  maxSummaryChars: z.number().int().positive().default(80),
  /** Drop traces whose reasoning states false arithmetic ("9 + 0 + 9 = 10"; src/rl/r1/steps.ts). */
  checkSteps: z.boolean().default(true),
});
const filter = filterSchema;

export const r1RecipeSchema = z.object({
  kind: z.literal('r1').default('r1'),
  name: z.string().regex(/^[A-Za-z0-9._-]+$/),
  preset: z.string(),
  seed: z.number().int().nonnegative().default(0),
  /** The base model (pretrained first when missing, with `baseRecipe`). */
  base: z.string(),
  /** The pretraining recipe that builds a missing base (a file; default recipes/pretrain-<preset>.json). */
  baseRecipe: z.string().optional(),
  tasks: z.object({ families: z.array(z.string()).min(1), difficulties: z.array(z.number().int()).min(1) }),
  /** The R1-Zero model the cold-start traces are sampled from: an existing directory, or trained here with `grpo`. */
  r1zero: z.object({ init: z.string().optional(), grpo: grpoSection.default({}) }),
  coldStart: z.object({
    prompts: z.number().int().nonnegative(),
    samples: z.number().int().positive(),
    temperature: z.number().positive().default(1),
    maxNewTokens: z.number().int().positive(),
    /** Written worked solutions per family and difficulty. */
    writtenPerFamily: z.number().int().nonnegative(),
    filter: filter.prefault({}),
  }),
  sft1: sftSection,
  rl2: z.object({ grpo: grpoSection, rewards: weights.prefault({}), /** Also run stage 2 without the readability reward (its cost in accuracy). */ ablation: z.boolean().default(false) }),
  rejection: z.object({
    prompts: z.number().int().nonnegative(),
    samples: z.number().int().positive(),
    temperature: z.number().positive().default(1),
    maxNewTokens: z.number().int().positive(),
    filter: filter.prefault({}),
    /** Written worked solutions (under training phrasings) per family and difficulty, added to the sampled ones. */
    writtenPerFamily: z.number().int().nonnegative(),
    /** Non-reasoning examples: single-turn general, and multi-turn conversations. */
    general: z.number().int().nonnegative(),
    multiTurn: z.number().int().nonnegative(),
    /**
     * Share of each category's training general prompts kept out of these SFT rows (single- and
     * multi-turn) and asked only by stage 4's RL (splitGeneral); 0 = both use them all.
     */
    rlOnlyGeneral: z.number().min(0).max(0.9).default(0),
  }),
  sft3: sftSection,
  rewardModel: z.object({
    dim: z.number().int().min(64).default(2048),
    steps: z.number().int().positive().default(200),
    lr: z.number().positive().default(0.05),
    l2: z.number().nonnegative().default(1e-4),
    pairsPerPrompt: z.number().int().positive().default(7),
  }).prefault({}),
  rl4: z.object({ grpo: grpoSection, rewards: weights.prefault({}), generalShare: z.number().min(0).max(1).default(0.5) }),
  eval: z.object({
    n: z.number().int().positive().default(20),
    k: z.number().int().positive().default(4),
    maxNewTokens: z.number().int().positive().default(128),
    phrasingN: z.number().int().positive().default(10),
    seed: z.number().int().nonnegative().default(12345),
  }).prefault({}),
});

/** A validated R1 pipeline recipe. */
export type R1Recipe = z.infer<typeof r1RecipeSchema>;

/** Parses an R1 recipe object, listing every problem. */
export function parseR1Recipe(obj: unknown, where = 'recipe'): R1Recipe {
  return parseRecipeWith(r1RecipeSchema, obj, where);
}

/** Reads an R1 recipe file, or the built-in recipes/r1-<preset>.json. */
export function loadR1Recipe(fileOrPreset: string): R1Recipe {
  const file = fs.existsSync(fileOrPreset) ? fileOrPreset : path.join(RECIPES_DIR, `r1-${fileOrPreset}.json`);
  if (!fs.existsSync(file)) throw new Error(`no R1 recipe ${fileOrPreset} (neither a file nor recipes/r1-${fileOrPreset}.json)`);
  let obj: unknown;
  try {
    obj = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
  return parseR1Recipe(obj, file);
}
