// The files `npm run mutate` mutates, and how each one's candidate test files are chosen.
// Shared by stryker.config.mjs (one Stryker run per target) and scripts/mutation-report.mjs.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));

/**
 * End-to-end suites left out of mutation runs: each spawns CLIs, servers or a browser and takes
 * 20–40 s, and exercises the same code paths as the unit suites. A mutant only they would kill
 * shows up as a survivor, which is the point: the unit suites should catch it.
 */
export const SLOW_SUITES = ['cli-generate', 'serve-web', 'serve-api', 'gguf-llama'];

/**
 * Rough seconds per suite on this project's 2-core machine: candidate tests run fastest first, so a
 * mutant a quick suite kills never waits for a slow one. The 30 s train suite is a candidate only
 * for targets under src/train/ (others have faster suites that reach the same code).
 */
const SECONDS = {
  'nn': 1, 'gate': 1, 'config': 1, 'checkpoint': 1.2, 'memory': 1.5, 'ops-parity': 1.7, 'report': 1.8, 'ops-grad': 2,
  'generator': 2.4, 'sampler': 3.3, 'grpo-oracle': 3.9, 'rl-grpo-roles-mutants': 0.5, 'model': 4.1, 'backend-parity': 5.2, 'kv': 5.6,
  'tfjs-oracle': 6.8, 'optim-oracle': 8.6, 'grpo': 11.8, 'train': 31, 'train-step-oracle': 12,
  'rl-r1zero-mutants': 20, 'rl-r1zero-pretrain-mutants': 30, 'rl-r1-pipeline-mutants': 12, 'rl-r1-pipeline-mutants-coldstart': 13,
  'train-trainer-mutants-objective': 4, 'train-trainer-mutants-dp': 6, 'train-trainer-mutants-ep': 25,
};
const seconds = (n) => SECONDS[n] ?? (n.endsWith('-mutants') ? 0.5 : 3);

/**
 * Targets in the order `npm run mutate` runs them. `file` is mutated whole unless `methods` names
 * the methods (of the object literal in the file) to restrict mutation to; `tests` overrides the
 * test files found by the import graph; `env` is set for the Stryker process and its test runs.
 */
export const TARGETS = [
  { file: 'src/nn/optim.ts' },
  // The router's and the sampler's own suites (the only ones that killed their mutants in full runs):
  // the training and RL suites that also reach them add minutes per equivalent mutant.
  { file: 'src/model/gate.ts', tests: ['gate-mutants', 'gate', 'moe-mutants', 'model'] },
  { file: 'src/infer/sampler.ts', tests: ['sampler-mutants', 'sampler', 'generator'] },
  { file: 'src/rl/advantages.ts' },
  { file: 'src/rl/loss.ts' },
  // GRPO, split by role (rollout-source.ts, rollout.ts, reward.ts, learner.ts, policy-gradient.ts)
  // with its driver (grpo.ts). Each runs against the hand-computation suites (grpo-oracle: one learner
  // step in float64; rl-grpo-roles-mutants: the roles' pieces; rl-<role>-mutants, picked up by name)
  // and the grpo suite; the driver also against rl-grpo-mutants (grpo() on a nano model, path by path). Left out: grpo-reference
  // (it runs grpo() in a child process, whose coverage the runner does not see), rollouts-* (Redis
  // and worker processes) and r1-pipeline (minutes of training).
  { file: 'src/rl/grpo.ts', tests: ['grpo'] },
  { file: 'src/rl/policy-gradient.ts', tests: ['grpo-oracle', 'grpo'] },
  { file: 'src/rl/learner.ts', tests: ['grpo-oracle', 'rl-grpo-roles-mutants', 'grpo'] },
  { file: 'src/rl/reward.ts', tests: ['rl-grpo-roles-mutants', 'grpo'] },
  { file: 'src/rl/rollout.ts', tests: ['rl-grpo-roles-mutants', 'grpo'] },
  { file: 'src/rl/rollout-source.ts', tests: ['rl-grpo-roles-mutants', 'rl-rollout-mutants', 'grpo'] },
  { file: 'src/rl/prompts.ts', tests: ['rl-grpo-roles-mutants', 'grpo'] },
  { file: 'src/rl/step-metrics.ts', tests: ['rl-grpo-roles-mutants', 'grpo'] },
  { file: 'src/rl/rewards.ts' },
  { file: 'src/rl/config.ts' },
  // The R1-Zero driver: its in-process suites (the CLI suites run it in child processes, unseen by the
  // runner); the pretrain-the-base-first suite (about 30 s) last.
  { file: 'src/rl/r1zero.ts', tests: ['rl-r1zero-mutants', 'rl-r1zero-pretrain-mutants'] },
  // The R1-Zero report: its own suite (cli-messages and serve-hardening also reach it, through child processes).
  { file: 'src/rl/r1zero-report.ts', tests: ['report'] },
  // The R1 pipeline's pieces. The format, readability and reward rules run against their unit suite
  // only (the r1-pipeline suite trains models and runs stages end to end).
  { file: 'src/rl/r1/format.ts', tests: ['rl-r1-mutants'] },
  { file: 'src/rl/r1/readability.ts', tests: ['rl-r1-mutants'] },
  { file: 'src/rl/r1/rewards.ts', tests: ['rl-r1-mutants'] },
  // Rejection sampling's filters and the SFT rows: their unit suites (rl-r1-rejection-mutants,
  // rl-r1-data-mutants) and the R1 rules' suite. collect() samples with a model and is reached only
  // by the r1-pipeline suite's stages (minutes): its mutants show up as survivors.
  { file: 'src/rl/r1/rejection.ts', tests: ['rl-r1-mutants'] },
  // The step check (false arithmetic in a kept trace's reasoning): its own suite, picked up by name.
  { file: 'src/rl/r1/steps.ts', tests: ['rl-r1-mutants'] },
  // The reward model: its features, Bradley–Terry loss and training (r1-pipeline: the loss and
  // gradient against a hand computation, held-out ranking; its pipeline-stage tests are fast on this path).
  { file: 'src/rl/r1/reward-model.ts', tests: ['rl-r1-mutants', 'r1-pipeline'] },
  { file: 'src/rl/r1/data.ts', tests: ['rl-r1-mutants'] },
  // Added to src/rl/ after the first mutation runs: the phrasings and composed stories of the SFT data,
  // the R1 recipe's schema (their unit suite, r1-pipeline: a few seconds), and R1-Zero's behaviour curves.
  { file: 'src/rl/r1/phrasings.ts', tests: ['r1-pipeline'] },
  { file: 'src/rl/r1/stories.ts', tests: ['r1-pipeline'] },
  { file: 'src/rl/r1/config.ts', tests: ['r1-pipeline'] },
  { file: 'src/rl/behaviour.ts', tests: ['rl-behaviour'] },
  // Added last: the drivers and reports around the core, each against its own in-process suite
  // (picked up by name). Data parallelism: a fake binding plays the other ranks (the mpirun suite
  // grpo-dp runs the real thing in child processes). The pipeline: all stages on a nano base (about
  // 15 s), then the rejection-sampling stages on the shipped model.
  { file: 'src/rl/data-parallel.ts', tests: [] },
  { file: 'src/rl/r1/evaluate.ts', tests: [] },
  { file: 'src/rl/r1/report.ts', tests: [] },
  { file: 'src/rl/r1/pipeline.ts', tests: [] },
  { file: 'src/model/moe.ts' },
  {
    // Only the attention and RoPE kernels of the pure-TS backend; its tests run on that backend.
    file: 'src/backend/reference.ts', name: 'backend-reference-attention-rope',
    methods: ['rope', 'attention', 'attentionBackward'],
    tests: ['ops-parity', 'ops-grad', 'backend-parity', 'model'],
    env: { TINYSEEK_BACKEND: 'reference' },
  },
  {
    // Its in-process suites only: the crash suite (33 s) kills child processes mid-save, whose
    // coverage the runner does not see, and the training suites reach it through whole runs.
    file: 'src/train/checkpoint.ts', tests: ['train-checkpoint-mutants', 'train-checkpoint-recovery-mutants'],
  },
  {
    // The trainer's own suites only: the end-to-end suites that also call train() (train, r1-pipeline,
    // cli-messages, serve-hardening, checkpoint-crash) add minutes per surviving mutant; a mutant only
    // they would kill shows up as a survivor.
    file: 'src/train/trainer.ts', tests: ['train-trainer-mutants', 'train-step-oracle'],
  },
].map((t) => ({ ...t, name: t.name ?? t.file.replace(/^src\//, '').replace(/\.ts$/, '').replaceAll('/', '-') }));

/** Finds a target by its file path or name. */
export function findTarget(key) {
  const k = key.replace(/^\.\//, '');
  return TARGETS.find((t) => t.file === k || t.name === k);
}

/** The Stryker `mutate` entries of a target: the file, or one line range per named method. */
export function mutatePatterns(t) {
  if (!t.methods) return [t.file];
  const lines = readFileSync(path.join(root, t.file), 'utf8').split('\n');
  return t.methods.map((m) => {
    const start = lines.findIndex((l) => new RegExp(`^\\s*${m}\\(`).test(l));
    if (start < 0) throw new Error(`mutation target ${t.name}: method ${m}( not found in ${t.file}`);
    const indent = lines[start].match(/^\s*/)[0];
    let end = start + 1;
    while (end < lines.length && !lines[end].startsWith(`${indent}}`)) end++;
    if (end === lines.length) throw new Error(`mutation target ${t.name}: end of ${m} not found in ${t.file}`);
    return `${t.file}:${start + 1}-${end + 1}`;
  });
}

// --- candidate tests: test files whose import graph reaches the target ------------------------
const importCache = new Map();
function imports(file) {
  let out = importCache.get(file);
  if (out) return out;
  out = [];
  importCache.set(file, out);
  let src;
  try { src = readFileSync(file, 'utf8'); } catch { return out; }
  const re = /(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|import\s+['"](\.[^'"]+)['"]/g;
  for (const m of src.matchAll(re)) {
    const p = path.resolve(path.dirname(file), m[1] ?? m[2] ?? m[3]);
    out.push(p.endsWith('.js') ? `${p.slice(0, -3)}.ts` : p);
  }
  return out;
}
function reaches(from, target) {
  const seen = new Set(), stack = [from];
  while (stack.length) {
    const f = stack.pop();
    if (f === target) return true;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...imports(f));
  }
  return false;
}

/** Compiled test files (dist/test/*.test.js) Stryker may run for a target. */
export function candidateTests(t) {
  const all = readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.ts')).map((f) => f.slice(0, -'.test.ts'.length));
  const chosen = t.tests
    ? all.filter((n) => t.tests.includes(n) || n.startsWith(`${t.name}-mutants`))
    : all.filter((n) => !SLOW_SUITES.includes(n) && (n !== 'train' || t.file.startsWith('src/train/'))
      && reaches(path.join(root, 'test', `${n}.test.ts`), path.join(root, t.file)));
  return chosen.sort((a, b) => seconds(a) - seconds(b) || a.localeCompare(b)).map((n) => `dist/test/${n}.test.js`);
}
