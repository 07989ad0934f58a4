// Run recipes: everything a pretraining or SFT run needs, as one JSON file validated with zod.
// `tinyseek pretrain --preset mini` uses recipes/pretrain-mini.json; `--config FILE` any other.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseRecipeWith } from './parse-recipe.js';

const lrSchema = z.object({
  peak: z.number().positive(),
  /** Warmup steps. */
  warmup: z.number().int().nonnegative().default(20),
  /** 'deepseek' = warmup → constant → cosine → constant (V3); 'cosine' = warmup → cosine. */
  schedule: z.enum(['deepseek', 'cosine', 'constant']).default('deepseek'),
  /** deepseek: fraction of steps held at peak before the cosine. */
  constantFrac: z.number().min(0).max(1).default(0.6),
  /** deepseek: fraction of steps at which the cosine ends. */
  decayEndFrac: z.number().min(0).max(1).default(0.95),
  /** Learning rate at the end of the cosine (V3: peak/10), and after it (V3: peak/30). */
  decayTo: z.number().nonnegative().optional(),
  final: z.number().nonnegative().optional(),
});

export const recipeSchema = z.object({
  kind: z.enum(['pretrain', 'sft']).default('pretrain'),
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash, underscore'),
  seed: z.number().int().nonnegative().default(0),
  model: z.object({
    /** Preset name, or a path to a config.json / model directory. */
    preset: z.string().default('mini'),
    /** Hugging Face config keys overriding the preset (e.g. {"num_hidden_layers": 2}). */
    overrides: z.record(z.string(), z.unknown()).default({}),
    /** Start from this model directory's weights (SFT, or continued pretraining). */
    init: z.string().optional(),
  }).prefault({}),
  tokenizer: z.object({
    /** Train a byte-level BPE of this size on the corpus, unless `path` names an existing tokenizer. */
    vocabSize: z.number().int().min(300).default(1024),
    path: z.string().optional(),
  }).prefault({}),
  data: z.object({
    /** Corpus recipe (tinyseek data build) for pretraining. */
    recipe: z.string().default('default'),
    /** Corpus size in tokens (overrides the data recipe's). */
    tokens: z.number().int().positive().optional(),
    /** An existing corpus JSONL (documents) or, for SFT, a JSONL of {prompt, response} or {messages}. */
    file: z.string().optional(),
    /** SFT from the task families' worked solutions (chat format): problems per family and difficulty. */
    sftTasks: z.object({ families: z.array(z.string()).optional(), difficulties: z.array(z.number().int()), n: z.number().int().positive() }).optional(),
  }).prefault({}),
  train: z.object({
    steps: z.number().int().positive(),
    /** Sequences per micro-batch. */
    batchSize: z.number().int().positive().default(16),
    seqLen: z.number().int().positive().default(256),
    gradAccum: z.number().int().positive().default(1),
    lr: lrSchema,
    weightDecay: z.number().nonnegative().default(0.1),
    beta1: z.number().default(0.9),
    beta2: z.number().default(0.95),
    clip: z.number().positive().default(1.0),
    /** MTP loss weight λ (V3: 0.3, then 0.1). */
    mtpWeight: z.number().nonnegative().default(0.3),
    /** Bias update speed γ of auxiliary-loss-free balancing (V3: 0.001). */
    biasUpdateSpeed: z.number().nonnegative().default(0.001),
    /** Attend only within each packed document (Llama-3 style; DeepSeek-V3 trained without it). */
    documentMask: z.boolean().default(false),
  }),
  eval: z.object({
    every: z.number().int().nonnegative().default(0),
    /** Evaluate the final model (written to <out>/eval.json). */
    final: z.boolean().default(true),
    /** Problems per family and difficulty. */
    n: z.number().int().positive().default(20),
    difficulties: z.array(z.number().int()).default([1, 2, 3]),
    families: z.array(z.string()).optional(),
    maxNewTokens: z.number().int().positive().default(200),
    /** Every this many steps, the copy probe (digit NLL of held-out worked solutions) into metrics.jsonl; 0 = off. */
    probeEvery: z.number().int().nonnegative().default(0),
  }).prefault({}),
  checkpoint: z.object({ every: z.number().int().nonnegative().default(100) }).prefault({}),
});

/** A validated recipe. */
export type Recipe = z.infer<typeof recipeSchema>;

/** Directory of the built-in recipes (repo/recipes). */
export const RECIPES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../recipes');

/** Parses and validates a recipe object; the error lists every problem with its path. */
export function parseRunRecipe(obj: unknown, where = 'recipe'): Recipe {
  return parseRecipeWith(recipeSchema, obj, where);
}

/** Reads a recipe file (JSON). */
export function loadRunRecipe(file: string): Recipe {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read recipe ${file}: ${(e as Error).message}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new Error(`recipe ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseRunRecipe(obj, file);
}

/** The built-in recipe for a preset and run kind (recipes/<kind>-<preset>.json). */
export function builtinRecipe(kind: 'pretrain' | 'sft', preset: string): Recipe {
  const file = path.join(RECIPES_DIR, `${kind}-${preset}.json`);
  if (!fs.existsSync(file)) {
    const have = fs.existsSync(RECIPES_DIR) ? fs.readdirSync(RECIPES_DIR).filter((f) => f.startsWith(kind + '-')).map((f) => f.slice(kind.length + 1, -5)) : [];
    throw new Error(`no built-in ${kind} recipe for preset "${preset}"; available: ${have.join(', ') || '(none)'}; or pass --config FILE`);
  }
  return loadRunRecipe(file);
}
