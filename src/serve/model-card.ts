// What the web chat shows before the first question (GET /api/model): the served model's size
// (parameters total and activated per token, layers, experts, context) and a few example prompts.
// The examples are real task problems rendered by their families (src/tasks) from a fixed seed, so
// their wording is exactly the wording the model was trained on ("Compute 32 + 64"); they come from
// the test split (problems the model never saw) at the easiest level.
import { countAnyParams } from '../analysis/dense-params.js';
import { isDenseConfig, modelConfig } from '../model/registry.js';
import { hashSeed, sampleProblem, taskNames } from '../tasks/index.js';
import type { ModelHost } from './model-host.js';

/**
 * The families the shipped model (models/tinyseek-r1-mini) answers best, best first: its pass@1 on
 * held-out test problems is add 55.8%, countdown 53.2%, sort 49.2%, sub 24.5% (README, "The shipped
 * model"; docs/results/r1-mini.md); sort and countdown are within noise of each other (one problem
 * is 4 points), so the order the previous model measured (sort first) is kept.
 */
export const DEFAULT_EXAMPLE_FAMILIES: readonly string[] = ['add', 'sort', 'countdown', 'sub'];

/** One example prompt. */
export interface ExamplePrompt {
  family: string;
  prompt: string;
}

/** The body of GET /api/model. */
export interface ModelCard {
  id: string;
  parameters: {
    /** Every parameter, the MTP modules included. */
    total: number;
    /** Parameters a token's forward pass computes with (main model; the embedding counts one row). */
    activated: number;
    /** The MTP modules' own parameters (part of total). */
    mtp: number;
  };
  layers: number;
  routed_experts: number;
  experts_per_token: number;
  shared_experts: number;
  context_length: number;
  /** What the examples' families are, in words ("small arithmetic, sorting and countdown problems"), or null without examples. */
  skills: string | null;
  examples: ExamplePrompt[];
}

/** Throws unless every name is a task family (for --examples). */
export function checkExampleFamilies(families: readonly string[]): void {
  const known = taskNames();
  const bad = families.filter((f) => !known.includes(f));
  if (bad.length) throw new Error(`unknown task famil${bad.length > 1 ? 'ies' : 'y'} ${bad.map((f) => JSON.stringify(f)).join(', ')}; expected some of: ${known.join(', ')}`);
}

/** One example prompt per family: a test-split problem of level 1 drawn from `seed`. */
export function examplePrompts(families: readonly string[], seed = 0): ExamplePrompt[] {
  checkExampleFamilies(families);
  return families.map((family) => ({ family, prompt: sampleProblem(family, 1, 'test', hashSeed('web-examples', seed, family)).prompt }));
}

const ARITHMETIC = new Set(['add', 'sub', 'mul', 'mod', 'linear']);
const KIND_ORDER = ['arithmetic', 'sorting', 'countdown'];

/** The families in words: "small arithmetic, sorting and countdown problems". */
export function skillsText(families: readonly string[]): string | null {
  const named = new Set(families.map((f) => (ARITHMETIC.has(f) ? 'arithmetic' : f === 'sort' ? 'sorting' : f)));
  const kinds = [...named].sort((a, b) => KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b));
  if (!kinds.length) return null;
  const list = kinds.length === 1 ? kinds[0] : `${kinds.slice(0, -1).join(', ')} and ${kinds.at(-1)}`;
  return `small ${list} problems`;
}

/** The card of a served model with examples from `families`. */
export function modelCard(host: ModelHost, families: readonly string[] = DEFAULT_EXAMPLE_FAMILIES, seed = 0): ModelCard {
  const c = modelConfig(host.lm.model);
  const p = countAnyParams(c);
  const moe = !isDenseConfig(c); // a dense student has no experts
  return {
    id: host.id,
    parameters: { total: p.total + p.mtpTotal, activated: p.activated, mtp: p.mtpTotal },
    layers: c.numHiddenLayers,
    routed_experts: moe ? c.nRoutedExperts : 0,
    experts_per_token: moe ? c.numExpertsPerTok : 0,
    shared_experts: moe ? c.nSharedExperts : 0,
    context_length: host.contextLength,
    skills: skillsText(families),
    examples: examplePrompts(families, seed),
  };
}
