// Distillation recipes (recipes/distill-<preset>.json, zod-validated): the teacher, the student, the
// training prompts, how the teacher is sampled and filtered, the mode and its loss, and the `train`
// block of an SFT recipe (the student is trained by the one trainer, src/train/trainer.ts).
//
//   trace-sft   teacher samples k per prompt → verified-correct, readable ones (R1's rejection filters)
//               → SFT on reasoning + summary (DeepSeek-R1-Distill's method)
//   answer-sft  the same kept samples with the reasoning removed: SFT on the final answer only
//   logit-kd    forward KL to the teacher's next-token distribution along its kept traces (τ, top-k)
//   gkd         on-policy: the student samples, the teacher scores every position; JSD(β) (β = 1:
//               reverse KL, β = 0: forward KL) on the student's own tokens (Agarwal et al. 2024);
//               with λ < 1 that share of steps only, the rest on the teacher's kept traces
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RECIPES_DIR } from '../train/recipe.js';
import { filterSchema } from '../rl/r1/config.js';
import { parseRecipeWith } from '../train/parse-recipe.js';

/** The distillation modes. */
export const DISTILL_MODES = ['trace-sft', 'answer-sft', 'logit-kd', 'gkd'] as const;
export type DistillMode = (typeof DISTILL_MODES)[number];

const filter = filterSchema;

export const distillRecipeSchema = z.object({
  kind: z.literal('distill').default('distill'),
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash, underscore'),
  mode: z.enum(DISTILL_MODES),
  seed: z.number().int().nonnegative().default(0),
  /** The teacher model directory (e.g. models/tinyseek-r1-mini). */
  teacher: z.string(),
  student: z.object({
    /** The student's starting model directory (a pretrained base: recipes/pretrain-student-<preset>.json). */
    init: z.string(),
    /** The student's preset name (documentation; the weights and shapes come from `init`). */
    preset: z.string().default('student-mini'),
    /** When `init` does not exist yet: pretrain it first with recipes/pretrain-<pretrain>.json (into init's parent run folder). */
    pretrain: z.string().optional(),
  }),
  /** Training prompts: `n` per family and difficulty from the tasks' training split. */
  prompts: z.object({ families: z.array(z.string()).min(1), difficulties: z.array(z.number().int()).min(1), n: z.number().int().positive() }),
  /** How the teacher answers the prompts (trace-sft, answer-sft, logit-kd). */
  teacherSampling: z.object({
    /** Samples per prompt (rejection sampling keeps the verified ones). */
    k: z.number().int().positive().default(4),
    temperature: z.number().positive().default(1),
    maxNewTokens: z.number().int().positive().default(128),
    /** Chat template of the teacher's prompts ("default": R1 format; an R1-Zero teacher's are cleaned into it). */
    template: z.enum(['default', 'r1zero']).default('default'),
    filter: filter.prefault({}),
  }).prefault({}),
  /** Logit KD (forward KL along the teacher's kept traces). */
  kd: z.object({
    temperature: z.number().positive().default(1),
    /** Keep only the teacher's k most likely tokens per position, renormalized (0: the full vocabulary). */
    topK: z.number().int().nonnegative().default(0),
    /** Compute the teacher's top-k once for every training row and store it in <out>/teacher-topk/ (needs topK > 0). */
    store: z.boolean().default(false),
  }).prefault({}),
  /** On-policy distillation (GKD). */
  gkd: z.object({
    /** JSD(β): 0 = forward KL, 1 = reverse KL, between = generalized JSD. */
    beta: z.number().min(0).max(1).default(0.5),
    temperature: z.number().positive().default(1),
    /** The student's sampling temperature for its own completions. */
    sampleTemperature: z.number().positive().default(1),
    maxNewTokens: z.number().int().positive().default(96),
    /**
     * GKD's λ (TRL's `lmbda`): the share of steps trained on the student's own samples; the other
     * steps train on the teacher's kept traces (the dataset), with the same JSD(β). 1: fully
     * on-policy (the teacher generates nothing); below 1 the teacher samples traces as for logit-kd.
     */
    lambda: z.number().min(0).max(1).default(1),
  }).prefault({}),
  /** The `train` block of an SFT recipe (src/train/recipe.ts). */
  train: z.record(z.string(), z.unknown()),
  eval: z.record(z.string(), z.unknown()).default({}),
  checkpoint: z.object({ every: z.number().int().nonnegative().default(50) }).prefault({}),
}).superRefine((r, ctx) => {
  if (r.kd.store && r.kd.topK === 0) ctx.addIssue({ code: 'custom', path: ['kd', 'store'], message: 'storing the teacher\'s logits keeps its top-k: set kd.topK > 0' });
});

/** A validated distillation recipe. */
export type DistillRecipe = z.infer<typeof distillRecipeSchema>;

/** Parses a distillation recipe object, listing every problem with its path. */
export function parseDistillRecipe(obj: unknown, where = 'recipe'): DistillRecipe {
  return parseRecipeWith(distillRecipeSchema, obj, where);
}

/** Reads a distillation recipe file. */
export function loadDistillRecipe(file: string): DistillRecipe {
  let obj: unknown;
  try {
    obj = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read recipe ${file}: ${(e as Error).message}`);
  }
  return parseDistillRecipe(obj, file);
}

/** The built-in recipe recipes/distill-<preset>.json. */
export function builtinDistillRecipe(preset: string): DistillRecipe {
  const file = path.join(RECIPES_DIR, `distill-${preset}.json`);
  if (preset.startsWith('study-')) throw new Error(`recipes/distill-${preset}.json is a study recipe: run it with \`tinyseek distill-study --preset ${preset.slice('study-'.length)}\``);
  if (!fs.existsSync(file)) {
    const have = fs.existsSync(RECIPES_DIR) ? fs.readdirSync(RECIPES_DIR).filter((f) => f.startsWith('distill-') && !f.startsWith('distill-study-') && f.endsWith('.json')).map((f) => f.slice('distill-'.length, -5)) : [];
    throw new Error(`no built-in distillation recipe for preset "${preset}"; available: ${have.join(', ') || '(none)'}; or pass --recipe FILE`);
  }
  return loadDistillRecipe(file);
}
