// Runs a scaling sweep: builds the shared data once (one corpus split into training and a fixed
// validation set, one tokenizer), then every run of the plan in order of cost, each as a pretraining
// recipe from recipes/scaling-<sweep>/ through the trainer (resumable from its checkpoints), then its
// held-out loss. A finished run leaves val.json and is skipped on a rerun, so the sweep resumes where
// it was stopped. Results go to <root>/results.json; the accuracy study (sweep-accuracy.ts), the analysis
// and the report are separate steps.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadRecipe as loadDataRecipe, buildCorpus } from '../data/index.js';
import type { CorpusDocument } from '../data/index.js';
import { Tokenizer } from '../tokenizer/index.js';
import { writeFileAtomic } from '../io/index.js';
import { loadModel } from '../model/checkpoint.js';
import { loadRunRecipe, RECIPES_DIR } from '../train/recipe.js';
import type { Recipe } from '../train/recipe.js';
import { validationLoss } from '../train/val-loss.js';
import { finished } from '../train/interrupted.js';
import { planRuns, runRecipe, type SweepPlan, type SweepRun } from './sweep-plan.js';

/** The measured outcome of one run. */
export interface RunResult extends SweepRun {
  valLoss: number;
  valTokens: number;
  /** Mean training cross-entropy over the last 10% of steps. */
  trainCe: number;
  /** Sum of the training steps' wall time, and the run's whole wall time (data, saving, validation). */
  trainSeconds: number;
  wallSeconds: number;
  /** Cores the process could use. */
  cores: number;
  /** CPU time the process spent on the run (user + system, all threads): the cost when the machine is shared. */
  cpuSeconds: number;
}

/** Where a sweep keeps its files. */
export function sweepRoot(p: SweepPlan): string {
  return path.join('runs', `scaling-${p.name}`);
}

/** The directory of a sweep's committed recipes. */
export function sweepRecipesDir(p: SweepPlan): string {
  return path.join(RECIPES_DIR, `scaling-${p.name}`);
}

/** The recipes of a plan as files (name → JSON text), `dataDir` relative to the repository. */
export function recipeFiles(p: SweepPlan): Map<string, string> {
  const data = path.join(sweepRoot(p), 'data');
  return new Map(planRuns(p).map((r) => [`${r.name}.json`, JSON.stringify(runRecipe(p, r, data), null, 2) + '\n']));
}

/** Writes the plan's recipes into recipes/scaling-<sweep>/ (removing stale ones). */
export function writeRecipes(p: SweepPlan, dir = sweepRecipesDir(p)): number {
  fs.mkdirSync(dir, { recursive: true });
  const files = recipeFiles(p);
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.json') && !files.has(f)) fs.rmSync(path.join(dir, f));
  for (const [f, text] of files) writeFileAtomic(path.join(dir, f), text);
  return files.size;
}

/** Builds the shared data once: <root>/data/{train,val}.jsonl and tokenizer/ (a DONE marker makes it idempotent). */
export function prepareSweepData(p: SweepPlan, root: string, log: (m: string) => void): { valTexts: string[] } {
  const dir = path.join(root, 'data');
  const done = path.join(dir, 'DONE');
  if (!fs.existsSync(done)) {
    fs.mkdirSync(dir, { recursive: true });
    const t0 = performance.now();
    const { documents } = buildCorpus(loadDataRecipe(p.dataRecipe), { seed: p.seed, tokens: p.corpusTokens });
    const val: CorpusDocument[] = [], train: CorpusDocument[] = [];
    let valTokens = 0;
    documents.forEach((d, i) => {
      if (i % p.valEvery === 0 && valTokens < p.valTokens) { val.push(d); valTokens += d.tokens; } else train.push(d);
    });
    const jsonl = (ds: CorpusDocument[]) => ds.map((d) => JSON.stringify(d)).join('\n') + '\n';
    writeFileAtomic(path.join(dir, 'train.jsonl'), jsonl(train));
    writeFileAtomic(path.join(dir, 'val.jsonl'), jsonl(val));
    const tok = Tokenizer.train(train.map((d) => d.text), { vocabSize: p.vocabSize });
    tok.save(path.join(dir, 'tokenizer'));
    writeFileAtomic(done, JSON.stringify({ train: train.length, val: val.length, valTokens, vocab: tok.vocabSize }) + '\n');
    log(`data: ${train.length} training and ${val.length} validation documents (${valTokens} pre-tokens), tokenizer of ${tok.vocabSize}, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const valTexts = fs.readFileSync(path.join(dir, 'val.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => (JSON.parse(l) as CorpusDocument).text);
  return { valTexts };
}

/** Options of a sweep run. */
export interface SweepOptions {
  /** Only runs whose name contains this. */
  only?: string;
  quiet?: boolean;
  log?: (m: string) => void;
}

/** Runs (or resumes) every run of a plan; returns the results of all finished runs. */
export async function runSweep(p: SweepPlan, o: SweepOptions = {}): Promise<RunResult[]> {
  const log = o.log ?? ((m: string) => console.error(m));
  const root = sweepRoot(p);
  const runs = planRuns(p).filter((r) => !o.only || r.name.includes(o.only));
  // The committed recipes must be this plan's: a stale recipe directory is an error, not a silent mix.
  const want = recipeFiles(p);
  const dir = sweepRecipesDir(p);
  for (const r of runs) {
    const file = path.join(dir, `${r.name}.json`);
    if (!fs.existsSync(file)) throw new Error(`missing recipe ${file}: write the sweep's recipes with \`tinyseek scaling --preset ${p.name} --write-recipes\``);
    if (fs.readFileSync(file, 'utf8') !== want.get(`${r.name}.json`)) throw new Error(`${file} differs from the ${p.name} plan in src/scaling/sweep-plan.ts; rewrite the recipes with \`tinyseek scaling --preset ${p.name} --write-recipes\``);
  }
  const { valTexts } = prepareSweepData(p, root, log);
  const { train } = await import('../train/trainer.js');
  const { Tokenizer: Tok } = await import('../tokenizer/index.js');
  const tok = Tok.fromDir(path.join(root, 'data', 'tokenizer'));
  const results: RunResult[] = [];
  for (const [i, r] of runs.entries()) {
    const out = path.join(root, 'runs', r.name);
    const done = path.join(out, 'val.json');
    if (fs.existsSync(done)) {
      const prev = JSON.parse(fs.readFileSync(done, 'utf8')) as RunResult;
      for (const k of ['M', 'steps', 'batchSize', 'lr', 'tokens'] as const) {
        if (prev[k] !== r[k]) throw new Error(`${out} was trained by a different plan (${k} ${prev[k]}, the plan now says ${r[k]}); move it away to run it again`);
      }
      results.push(prev);
      continue;
    }
    log(`[${i + 1}/${runs.length}] ${r.name}: M = ${r.M.toExponential(2)}, ${r.steps} steps × ${r.batchSize} × ${p.seqLen} = ${r.tokens.toLocaleString('en-US')} tokens, C = ${r.C.toExponential(2)}`);
    const recipe: Recipe = loadRunRecipe(path.join(dir, `${r.name}.json`));
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const finalDir = path.join(out, 'final');
    if (!fs.existsSync(path.join(finalDir, 'config.json'))) {
      // Ctrl-C saves the run's checkpoint and ends the sweep with one line (RunInterrupted); a rerun resumes it.
      try {
        finished(await train({ recipe, out, resume: true, quiet: o.quiet }), `scaling: ${r.name}`);
      } catch (e) {
        // A run killed before its first complete checkpoint holds metrics but nothing to resume from:
        // the sweep owns this folder, so it starts the run afresh (at most one checkpoint interval lost).
        if (!/no complete checkpoint to resume from/.test((e as Error).message)) throw e;
        log(`${r.name}: ${(e as Error).message.split(';')[0]}; starting it afresh`);
        fs.rmSync(out, { recursive: true, force: true });
        finished(await train({ recipe, out, resume: true, quiet: o.quiet }), `scaling: ${r.name}`);
      }
    }
    const model = loadModel(finalDir);
    const v = validationLoss(model, tok, valTexts, { seqLen: p.seqLen, documentMask: p.documentMask });
    const metrics = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { step: number; ce?: number; step_time_s?: number }).filter((m) => m.ce !== undefined);
    const tail = metrics.slice(-Math.max(1, Math.round(metrics.length / 10)));
    const res: RunResult = {
      ...r, valLoss: v.loss, valTokens: v.tokens,
      trainCe: tail.reduce((a, m) => a + m.ce!, 0) / tail.length,
      trainSeconds: metrics.reduce((a, m) => a + (m.step_time_s ?? 0), 0),
      wallSeconds: (performance.now() - t0) / 1000,
      cores: os.availableParallelism(),
      cpuSeconds: (() => { const c = process.cpuUsage(cpu0); return (c.user + c.system) / 1e6; })(),
    };
    writeFileAtomic(done, JSON.stringify(res, null, 2) + '\n');
    fs.rmSync(path.join(out, 'corpus.jsonl'), { force: true }); // the trainer's copy of the shared corpus
    log(`${r.name}: validation loss ${v.loss.toFixed(4)} (train ce ${res.trainCe.toFixed(4)}), ${res.wallSeconds.toFixed(0)} s`);
    results.push(res);
  }
  writeFileAtomic(path.join(root, 'results.json'), JSON.stringify({ sweep: p.name, plan: p, runs: results }, null, 2) + '\n');
  return results;
}
