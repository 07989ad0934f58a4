// The distillation study's recipe (recipes/distill-study-<preset>.json, zod-validated): one teacher, one
// student base, and the arms' shared student compute budget (steps × batchSize × seqLen), from which every
// arm's own recipe (src/distill/config.ts, src/rl/config.ts) is built:
//
//   base         the student base, no training
//   grpo         GRPO on the student, R1-Zero template (steps = budget.steps, promptsPerStep × numGenerations = batchSize)
//   trace-sft    SFT on the teacher's verified traces
//   answer-sft   SFT on the same traces' answers only
//   logit-kd     forward KL to the teacher's logits along its traces
//   gkd          on-policy JSD(β) on the student's own samples
//   trace-grpo   trace SFT for sftSteps, then GRPO for the remaining steps (same total)
//   teacher      the teacher, evaluated
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RECIPES_DIR } from '../train/recipe.js';
import { distillRecipeSchema } from './config.js';
import { parseRecipeWith } from '../train/parse-recipe.js';

/** The study's arms, in the report's order. */
export const STUDY_ARMS = ['base', 'grpo', 'trace-sft', 'answer-sft', 'logit-kd', 'gkd', 'trace-grpo', 'teacher'] as const;
export type StudyArm = (typeof STUDY_ARMS)[number];

/** The output format an arm is evaluated in: the one it was trained for. */
export type EvalFormat = 'r1' | 'r1zero';

/**
 * The student base is a pretrained model (its corpus holds worked solutions in the R1-Zero
 * conversation format), scored as `tinyseek eval` scores base models: R1-Zero's template and <answer>
 * tags. GRPO on the student runs R1-Zero-style (R1-Zero template, <answer> rewards), so it is scored
 * in that format too. Every other arm is trained on, and scored in, R1's chat format.
 */
export const ARM_FORMAT: Readonly<Record<StudyArm, EvalFormat>> = {
  base: 'r1zero', grpo: 'r1zero', 'trace-sft': 'r1', 'answer-sft': 'r1', 'logit-kd': 'r1', gkd: 'r1', 'trace-grpo': 'r1', teacher: 'r1',
};

const shared = distillRecipeSchema.shape;

export const studyRecipeSchema = z.object({
  kind: z.literal('distill-study'),
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash, underscore'),
  preset: z.string(),
  seed: z.number().int().nonnegative().default(0),
  teacher: z.string(),
  student: shared.student,
  prompts: shared.prompts,
  teacherSampling: shared.teacherSampling,
  kd: shared.kd,
  gkd: shared.gkd,
  /** Every trained arm's student compute: steps × batchSize sequences of up to seqLen tokens. */
  budget: z.object({ steps: z.number().int().positive(), batchSize: z.number().int().positive(), seqLen: z.number().int().positive() }),
  /** The SFT arms' `train` block without steps/batchSize/seqLen (those are the budget's). */
  train: z.record(z.string(), z.unknown()).default({}),
  /** GRPO settings (src/rl/config.ts) without steps/promptsPerStep/init/template/tasks (the budget's and the study's). */
  grpo: z.object({ numGenerations: z.number().int().min(2) }).catchall(z.unknown()),
  /** Arm 7: trace-SFT steps; GRPO gets budget.steps − sftSteps. */
  traceThenGrpo: z.object({ sftSteps: z.number().int().positive() }),
  /** Held-out accuracy (greedy) every this many steps in arms 3, 5, 6: the accuracy-vs-tokens plot. */
  curveEvery: z.number().int().positive(),
  /** The held-out evaluation of every arm (src/rl/r1/evaluate.ts: pass@1 and cons@k from k samples). */
  eval: z.object({ n: z.number().int().positive(), k: z.number().int().positive(), maxNewTokens: z.number().int().positive(), seed: z.number().int().nonnegative().default(0) }),
  /** The issue's bar: the teacher beats the student base by this many points (pass@1 strict, mean over the trained families). */
  barPoints: z.number().default(15),
}).superRefine((r, ctx) => {
  for (const k of ['steps', 'batchSize', 'seqLen']) if (k in r.train) ctx.addIssue({ code: 'custom', path: ['train', k], message: `the budget sets ${k} for every arm (budget.${k}); remove it here` });
  for (const k of ['steps', 'promptsPerStep', 'init', 'template', 'tasks']) if (k in r.grpo) ctx.addIssue({ code: 'custom', path: ['grpo', k], message: `the study sets ${k} (from the budget / R1-Zero template / prompts); remove it here` });
  if (r.budget.batchSize % r.grpo.numGenerations !== 0) ctx.addIssue({ code: 'custom', path: ['grpo', 'numGenerations'], message: `must divide budget.batchSize (${r.budget.batchSize}) so GRPO trains the same sequences per step; found ${r.grpo.numGenerations}` });
  const mcl = r.grpo.maxCompletionLength;
  if (typeof mcl === 'number' && mcl >= r.budget.seqLen) ctx.addIssue({ code: 'custom', path: ['grpo', 'maxCompletionLength'], message: `a GRPO sequence (prompt + completion) must fit budget.seqLen (${r.budget.seqLen}); found ${mcl}` });
  if (r.gkd.maxNewTokens >= r.budget.seqLen) ctx.addIssue({ code: 'custom', path: ['gkd', 'maxNewTokens'], message: `a GKD sequence (prompt + sample) must fit budget.seqLen (${r.budget.seqLen}); found ${r.gkd.maxNewTokens}` });
  if (r.traceThenGrpo.sftSteps >= r.budget.steps) ctx.addIssue({ code: 'custom', path: ['traceThenGrpo', 'sftSteps'], message: `must be below budget.steps (${r.budget.steps}) to leave GRPO steps; found ${r.traceThenGrpo.sftSteps}` });
});

/** A validated study recipe. */
export type StudyRecipe = z.infer<typeof studyRecipeSchema>;

/** Parses a study recipe object, listing every problem with its path. */
export function parseStudyRecipe(obj: unknown, where = 'recipe'): StudyRecipe {
  return parseRecipeWith(studyRecipeSchema, obj, where);
}

/** Reads a study recipe file. */
export function loadStudyRecipe(file: string): StudyRecipe {
  let obj: unknown;
  try {
    obj = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read recipe ${file}: ${(e as Error).message}`);
  }
  return parseStudyRecipe(obj, file);
}

/** The built-in recipe recipes/distill-study-<preset>.json. */
export function builtinStudyRecipe(preset: string): StudyRecipe {
  const file = path.join(RECIPES_DIR, `distill-study-${preset}.json`);
  if (!fs.existsSync(file)) {
    const have = fs.existsSync(RECIPES_DIR) ? fs.readdirSync(RECIPES_DIR).filter((f) => f.startsWith('distill-study-') && f.endsWith('.json')).map((f) => f.slice('distill-study-'.length, -5)) : [];
    throw new Error(`no built-in distillation study recipe for preset "${preset}"; available: ${have.join(', ') || '(none)'}; or pass --recipe FILE`);
  }
  return loadStudyRecipe(file);
}
