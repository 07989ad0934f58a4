// The R1-Zero experiment on tinyseek's own base model: pretrain (if needed) → evaluate the base →
// GRPO with accuracy + format rewards only, under a time budget → evaluate again → report
// (docs/results/r1-zero-<preset>.{md,json}) with strict and lenient accuracies and the reward /
// completion-length curves.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { builtinRecipe } from '../train/recipe.js';
import { train } from '../train/trainer.js';
import { loadGrpoRecipe, parseGrpoRecipe } from './config.js';
import type { GrpoRecipe } from './config.js';
import { grpo } from './grpo.js';
import { loadModel } from '../model/checkpoint.js';
import { Tokenizer } from '../tokenizer/index.js';
import { Generator } from '../infer/generator.js';
import { evaluate, formatEvalTable } from '../infer/evaluate.js';
import type { EvalOptions, EvalReport } from '../infer/evaluate.js';
import { readMetrics } from '../train/metrics.js';
import { writeFileAtomic } from '../io/index.js';
import { familyScores, readReport, writeReport } from './r1zero-report.js';
import type { R1ZeroReport } from './r1zero-report.js';
import { finished } from '../train/interrupted.js';
import { behaviourCurves } from './behaviour.js';
import type { Communicator } from '../parallel/mpi.js';
import { CollectiveError } from '../parallel/root-first.js';

/** Options of the experiment. */
export interface R1ZeroOptions {
  /** Names the report (r1-zero-<preset>.*) and, unless `recipe` is given, the recipe: recipes/grpo-<preset>.json. */
  preset: string;
  /** The GRPO recipe to run instead of the preset's (a library caller's own experiment). */
  recipe?: GrpoRecipe;
  base?: string;
  out?: string;
  minutes: number;
  reportDir: string;
  resume?: boolean;
  /** The RL stage data-parallel (see ./data-parallel.ts); rank 0 alone evaluates and writes the report. */
  dp?: { comm: Communicator };
}

/** The held-out evaluation of the experiment (n ≥ 50 problems per family and level, k ≥ 8 samples). */
function evalOptions(r: GrpoRecipe): EvalOptions {
  return {
    families: r.tasks.families, difficulties: r.eval.difficulties ?? r.tasks.difficulties, n: Math.max(r.eval.n, 50), k: Math.max(r.eval.k, 8),
    maxNewTokens: r.maxCompletionLength, seed: 12345, template: r.template, temperature: 0.6, topP: 0.95,
  };
}

async function evalModel(dir: string, r: GrpoRecipe): Promise<EvalReport> {
  const model = loadModel(dir);
  model.eval();
  const tok = Tokenizer.fromDir(dir);
  const gen = new Generator(model, { maxBatch: 128, maxLen: Math.min(512, model.cfg.maxPositionEmbeddings) });
  return evaluate(gen, tok, evalOptions(r));
}

/**
 * The base model's evaluation, cached under `cacheDir` by a hash of its weights, tokenizer and the
 * evaluation options (evaluation is deterministic given those), so a second RL run from the same
 * base does not spend minutes re-measuring it.
 */
async function evalBaseCached(dir: string, r: GrpoRecipe, cacheDir: string): Promise<EvalReport> {
  const h = createHash('sha256');
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors') || f.startsWith('tokenizer') || f === 'config.json').sort()) {
    h.update(f);
    h.update(fs.readFileSync(path.join(dir, f)));
  }
  h.update(JSON.stringify(evalOptions(r)));
  const file = path.join(cacheDir, `${h.digest('hex').slice(0, 16)}.json`);
  if (fs.existsSync(file)) {
    console.error(`r1-zero: base evaluation from cache ${file}`);
    return JSON.parse(fs.readFileSync(file, 'utf8')) as EvalReport;
  }
  const report = await evalModel(dir, r);
  fs.mkdirSync(cacheDir, { recursive: true });
  writeFileAtomic(file, JSON.stringify(report));
  return report;
}

/** Runs the whole experiment and writes the report. */
export async function runR1Zero(o: R1ZeroOptions): Promise<void> {
  // The base: --base, else the recipe's init (runs/pretrain-<p>/final is pretrained from recipes/pretrain-<p>.json if missing).
  const recipe = o.recipe ?? loadGrpoRecipe(o.preset);
  const base = o.base ?? recipe.init;
  const comm = o.dp?.comm ?? null, root = !comm || comm.rank === 0;
  if (!fs.existsSync(path.join(base, 'config.json'))) {
    const p = /(?:^|[\\/])runs[\\/]pretrain-([\w-]+)[\\/]final$/.exec(base)?.[1];
    const Err = comm ? CollectiveError : Error; // under --dp every rank reaches this verdict: one message each, no abort
    if (!p || o.base) throw new Err(`no base model at ${base} (no config.json); pass --base with a model directory`);
    if (comm) throw new Err(`no base model at ${base} (no config.json): pretrain it first (\`tinyseek pretrain --preset ${p}\`, or with --dp under mpirun), then run r1-zero --dp`);
    console.error(`r1-zero: no base model at ${base}; pretraining it first (recipes/pretrain-${p}.json)`);
    finished(await train({ recipe: builtinRecipe('pretrain', p), out: path.dirname(base), resume: true }), 'r1-zero: pretraining the base');
  }
  const r = parseGrpoRecipe({ ...recipe, init: base, maxMinutes: o.minutes });
  const out = o.out ?? path.join('runs', `r1-zero-${o.preset}`);
  const tAll = performance.now();
  // Under --dp rank 0 evaluates the models and writes the report; every rank runs the RL stage.
  if (root) console.error('r1-zero: evaluating the base model');
  const before = root ? await evalBaseCached(base, r, path.join(path.dirname(out), '.eval-cache')) : null;
  if (before) console.error(formatEvalTable(before));
  const t0 = performance.now();
  const res = finished(await grpo({ recipe: r, out, resume: o.resume, dp: o.dp }), 'r1-zero: RL');
  const rlMinutes = (performance.now() - t0) / 60000;
  if (!root || !before) return;
  console.error('r1-zero: evaluating the RL model');
  const after = await evalModel(res.finalDir, r);
  console.error(formatEvalTable(after));

  const m = readMetrics(path.join(out, 'metrics.jsonl')).filter((x) => typeof x.reward === 'number');
  const eo = evalOptions(r);
  const rep: R1ZeroReport = {
    preset: o.preset, base, rl_run: out, rl_minutes: rlMinutes, total_minutes: (performance.now() - tAll) / 60000, rl_steps: res.lastStep, recipe: r,
    eval: { n: eo.n, k: eo.k, difficulties: eo.difficulties, temperature: eo.temperature!, top_p: eo.topP!, seed: eo.seed! },
    families: Object.fromEntries(before.families.map((b, i) => [b.family, { base: familyScores(b), rl: familyScores(after.families[i]) }])),
    curves: {
      step: m.map((x) => x.step), reward: m.map((x) => x.reward as number), accuracy: m.map((x) => x['rewards/accuracy/mean'] as number),
      format: m.map((x) => x['rewards/format/mean'] as number), mean_length: m.map((x) => x['completions/mean_length'] as number),
    },
    ...(fs.existsSync(path.join(out, 'completions.jsonl')) ? { behaviour: behaviourCurves(path.join(out, 'completions.jsonl')) } : {}),
  };
  console.log(`report: ${await writeReport(rep, o.reportDir)}`);
}

/** Redraws a report (Markdown and SVGs) from its JSON. */
export async function renderR1ZeroReport(preset: string, reportDir: string): Promise<string> {
  return writeReport(readReport(path.join(reportDir, `r1-zero-${preset}.json`)), reportDir);
}
