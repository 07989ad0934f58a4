// Corpus recipes: a JSON mixture of components (worked solutions, bare question → answer pairs,
// plain problem text, English prose), each with a share of the corpus tokens and per-family weights and
// difficulty ranges. Built-in recipes live in recipes/data/NAME.json.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { getTask, taskNames } from '../tasks/index.js';
import { DataError } from './errors.js';

const FamilyMixSchema = z
  .object({
    /** Relative share of this component's documents (default 1). */
    weight: z.number().positive().default(1),
    /** Inclusive difficulty range [lo, hi]; each document draws a level uniformly. */
    difficulty: z.tuple([z.number().int(), z.number().int()]),
  })
  .strict();

const ComponentSchema = z
  .object({
    kind: z.enum(['worked', 'bare', 'text', 'prose']),
    /** Share of the corpus tokens (normalized over components). */
    weight: z.number().positive(),
    /** worked only: relative shares of the document formats. */
    formats: z.object({ plain: z.number().nonnegative().default(0), r1zero: z.number().nonnegative().default(0) }).strict().optional(),
    /** text: problem statements per document (default 4); prose: paragraphs per document (default 1). */
    perDocument: z.number().int().min(1).max(64).optional(),
    /** prose only: where the paragraphs come from (the Brown corpus, src/data/prose.ts). */
    source: z.enum(['brown']).optional(),
    /** Every kind but prose: the problem families and their difficulty ranges. */
    families: z.record(z.string(), FamilyMixSchema).optional(),
  })
  .strict();

const RecipeSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    seed: z.number().int().default(0),
    /** Corpus size in tokens (counted as described in docs/data.md). */
    tokens: z.number().int().positive(),
    components: z.array(ComponentSchema).min(1),
  })
  .strict();

/** A parsed, validated recipe. */
export type Recipe = z.infer<typeof RecipeSchema>;
/** One component of a recipe. */
export type RecipeComponent = z.infer<typeof ComponentSchema>;

/** Directory of the built-in recipes (recipes/data at the repository root). */
export const RECIPE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../recipes/data');

/** Validates a recipe object: schema, known families, difficulty ranges, formats. */
export function parseRecipe(raw: unknown, source = 'recipe'): Recipe {
  const r = RecipeSchema.safeParse(raw);
  if (!r.success) {
    throw new DataError(`${source}: ${r.error.issues.map((x) => `${x.path.join('.') || '(top)'}: ${x.message}`).join('; ')}`);
  }
  const recipe = r.data;
  recipe.components.forEach((c, ci) => {
    const where = `${source}: components[${ci}] (${c.kind})`;
    if (c.kind === 'prose') {
      if (c.families !== undefined) throw new DataError(`${where}: a prose component draws English paragraphs, not problems; found "families"`);
      if (c.formats !== undefined) throw new DataError(`${where}: "formats" applies to worked components only; found it on a prose component`);
      c.source ??= 'brown';
      return;
    }
    if (c.source !== undefined) throw new DataError(`${where}: "source" applies to prose components only`);
    if (c.families === undefined) throw new DataError(`${where}: expected "families" (the problem families and their difficulty ranges); found none`);
    const names = Object.keys(c.families);
    if (names.length === 0) throw new DataError(`${where}: expected at least one family; found none`);
    for (const name of names) {
      if (!taskNames().includes(name)) throw new DataError(`${where}: unknown family ${JSON.stringify(name)}; expected one of ${taskNames().join(', ')}`);
      const levels = getTask(name).difficulties;
      const [lo, hi] = (c.families[name] as { difficulty: [number, number] }).difficulty;
      if (lo > hi || !levels.includes(lo) || !levels.includes(hi)) {
        throw new DataError(`${where}.families.${name}: expected a difficulty range [lo, hi] within ${levels[0]}..${levels[levels.length - 1]}; found [${lo}, ${hi}]`);
      }
    }
    if (c.kind === 'worked') {
      const f = c.formats ?? { plain: 1, r1zero: 0 };
      if (f.plain + f.r1zero <= 0) throw new DataError(`${where}.formats: expected a positive share for plain or r1zero; found ${JSON.stringify(f)}`);
    } else if (c.formats !== undefined) {
      throw new DataError(`${where}: "formats" applies to worked components only; found it on a ${c.kind} component`);
    }
    if (c.perDocument !== undefined && c.kind !== 'text') throw new DataError(`${where}: "perDocument" applies to text and prose components only`);
  });
  return recipe;
}

/** Loads a recipe by built-in name (recipes/data/NAME.json) or by path to a .json file. */
export function loadRecipe(nameOrPath: string): Recipe {
  const isPath = nameOrPath.endsWith('.json') || nameOrPath.includes('/') || nameOrPath.includes(path.sep);
  const file = isPath ? path.resolve(nameOrPath) : path.join(RECIPE_DIR, `${nameOrPath}.json`);
  if (!fs.existsSync(file)) {
    const builtins = fs.existsSync(RECIPE_DIR) ? fs.readdirSync(RECIPE_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : [];
    throw new DataError(`recipe ${JSON.stringify(nameOrPath)}: expected a built-in name (${builtins.join(', ') || 'none found'}) or a path to a .json file; found no file at ${file}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(`${file}: expected JSON; ${(e as Error).message}`);
  }
  return parseRecipe(raw, file);
}
