// Reasoning accuracy against training compute: the models of a finished sweep, each fine-tuned the
// same way on worked solutions of the task families (the `sft` kind, `data.sftTasks`), then scored on
// held-out test problems by greedy decoding (the trainer's final evaluation). Which models: the
// compute-optimal one of each budget and architecture (lowest validation loss), or every IsoFLOP run.
// Next to the accuracy, a continuous measure that moves before accuracy does: the pretrained model's
// digit NLL on held-out worked solutions (the copy probe, src/infer/copy-probe.ts; ln 10 ≈ 2.30 nats
// means it only knows a digit comes).
// The SFT is identical for every model, so the accuracy differences come from pretraining; its compute
// (the same token count for every model) is not in C. Each model's fine-tune lives in
// runs/<name>/sft/ (resumable); accuracy.json there marks it done.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../io/index.js';
import type { Recipe } from '../train/recipe.js';
import type { EvalReport } from '../infer/evaluate.js';
import { finished } from '../train/interrupted.js';
import { loadModel } from '../model/checkpoint.js';
import { Tokenizer } from '../tokenizer/index.js';
import { copyProbe } from '../infer/copy-probe.js';
import type { SweepPlan } from './sweep-plan.js';
import type { RunResult } from './sweep.js';

/** The fine-tune and evaluation every model of the accuracy study gets. */
export interface AccuracySpec {
  /** Which models: the lowest-loss IsoFLOP run per budget and architecture, or every IsoFLOP run. */
  runs: 'best' | 'all';
  /** Task families (default: all), difficulties, worked solutions per (family, difficulty). */
  families?: string[];
  difficulties: number[];
  n: number;
  steps: number;
  batchSize: number;
  lr: number;
  /** Held-out test problems per (family, difficulty), and the generation cap. */
  evalN: number;
  maxNewTokens: number;
}

/** One model's accuracy. */
export interface AccuracyResult {
  name: string;
  arch: RunResult['arch'];
  budget: number;
  M: number;
  C: number;
  valLoss: number;
  /** Greedy accuracy, the unweighted mean over families, and per family (fractions). */
  greedy: number;
  byFamily: Record<string, number>;
  problems: number;
  sftSeconds: number;
  /** The pretrained model's mean digit NLL on held-out worked solutions (nats per digit), and per family. */
  digitNll: number;
  digitNllByFamily: Record<string, number>;
}

/** The models the study fine-tunes, in order of compute. */
export function accuracyRuns(spec: AccuracySpec, results: readonly RunResult[]): RunResult[] {
  const iso = results.filter((r) => r.study === 'isoflop');
  if (spec.runs === 'all') return [...iso].sort((a, b) => a.C - b.C || a.name.localeCompare(b.name));
  const best = new Map<string, RunResult>();
  for (const r of iso) {
    const k = `${r.arch} ${r.budget}`;
    const b = best.get(k);
    if (!b || r.valLoss < b.valLoss) best.set(k, r);
  }
  return [...best.values()].sort((a, b) => a.budget - b.budget || a.arch.localeCompare(b.arch));
}

/** The fine-tuning recipe of one sweep model (`runsDir`: where the sweep's runs live). */
export function accuracyRecipe(p: SweepPlan, spec: AccuracySpec, r: RunResult, runsDir: string): Recipe {
  return {
    kind: 'sft', name: `${r.name}-sft`, seed: p.seed,
    model: { preset: 'mini', init: path.join(runsDir, r.name, 'final') },
    tokenizer: { vocabSize: p.vocabSize },
    data: { sftTasks: { ...(spec.families ? { families: spec.families } : {}), difficulties: spec.difficulties, n: spec.n } },
    train: {
      steps: spec.steps, batchSize: spec.batchSize, seqLen: p.seqLen, gradAccum: 1,
      lr: { peak: spec.lr, warmup: Math.max(1, Math.round(spec.steps / 10)), schedule: 'cosine', constantFrac: 0, decayEndFrac: 1, decayTo: spec.lr / 10 },
      weightDecay: 0, beta1: 0.9, beta2: 0.95, clip: 1.0, mtpWeight: 0, biasUpdateSpeed: 0, documentMask: false,
    },
    eval: { every: 0, final: true, n: spec.evalN, difficulties: spec.difficulties, ...(spec.families ? { families: spec.families } : {}), maxNewTokens: spec.maxNewTokens, probeEvery: 0 },
    checkpoint: { every: Math.max(25, Math.round(spec.steps / 3)) },
  } as Recipe;
}

/** Fine-tunes and evaluates the study's models (skipping those already done); returns every result. */
export async function runSweepAccuracy(p: SweepPlan, results: readonly RunResult[], runsDir: string, o: { quiet?: boolean; log?: (m: string) => void } = {}): Promise<AccuracyResult[]> {
  const spec = p.accuracy;
  const log = o.log ?? ((m: string) => console.error(m));
  const { train } = await import('../train/trainer.js');
  const out: AccuracyResult[] = [];
  const runs = accuracyRuns(spec, results);
  for (const [i, r] of runs.entries()) {
    const dir = path.join(runsDir, r.name, 'sft');
    const done = path.join(dir, 'accuracy.json');
    if (fs.existsSync(done)) {
      const prev = JSON.parse(fs.readFileSync(done, 'utf8')) as AccuracyResult;
      if (prev.digitNll === undefined) { // written before the probe was part of the study
        Object.assign(prev, probe(p, spec, path.join(runsDir, r.name, 'final')));
        writeFileAtomic(done, JSON.stringify(prev, null, 2) + '\n');
      }
      out.push(prev);
      continue;
    }
    if (!fs.existsSync(path.join(runsDir, r.name, 'final', 'config.json'))) throw new Error(`accuracy: ${r.name} has no trained model in ${path.join(runsDir, r.name, 'final')}`);
    log(`[accuracy ${i + 1}/${runs.length}] ${r.name}: SFT ${spec.steps} steps, then greedy on ${spec.evalN} held-out problems per family and difficulty`);
    const t0 = performance.now();
    finished(await train({ recipe: accuracyRecipe(p, spec, r, runsDir), out: dir, resume: true, quiet: o.quiet }), `scaling accuracy: ${r.name}`);
    const ev = JSON.parse(fs.readFileSync(path.join(dir, 'eval.json'), 'utf8')) as EvalReport & { step: number };
    const res: AccuracyResult = {
      name: r.name, arch: r.arch, budget: r.budget, M: r.M, C: r.C, valLoss: r.valLoss,
      greedy: ev.mean.greedy, byFamily: Object.fromEntries(ev.families.map((f) => [f.family, f.greedy])),
      problems: ev.families.reduce((a, f) => a + f.problems, 0), sftSeconds: (performance.now() - t0) / 1000,
      ...probe(p, spec, path.join(runsDir, r.name, 'final')),
    };
    writeFileAtomic(done, JSON.stringify(res, null, 2) + '\n');
    log(`${r.name}: greedy accuracy ${(100 * res.greedy).toFixed(1)}% after SFT; pretrained digit NLL ${res.digitNll.toFixed(3)}`);
    out.push(res);
  }
  return out;
}

/** The copy probe on a pretrained model: held-out worked solutions of the study's families at its highest difficulty. */
function probe(p: SweepPlan, spec: AccuracySpec, dir: string): { digitNll: number; digitNllByFamily: Record<string, number> } {
  const model = loadModel(dir);
  model.eval();
  const rep = copyProbe(model, Tokenizer.fromDir(dir), { families: spec.families, n: spec.evalN, difficulty: Math.max(...spec.difficulties), seed: p.seed });
  return { digitNll: rep.meanDigitNll, digitNllByFamily: Object.fromEntries(rep.families.map((f) => [f.family, f.digitNll])) };
}
