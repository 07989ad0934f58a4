// The analysis of a finished sweep: per architecture, IsoFLOP parabolas (Chinchilla approach 2) →
// M_opt ∝ C^a, D_opt ∝ C^b with residual-bootstrap intervals and bands; the parametric fit
// L(N, D) = E + A/N^α + B/D^β (approach 3, N = M/6 so that C = 6·N·D) with a run bootstrap; MoE
// against dense at equal compute; the batch-size / learning-rate law (DeepSeek LLM §3.1); and the
// sweep's own cost next to the compute-optimal run it points to.
import { bootstrapIsoFlop, fitIsoFlop, type IsoFlopFit } from '../analysis/isoflop.js';
import { bootstrapParametric, fitParametric, type ParametricFit } from '../analysis/chinchilla-fit.js';
import { deepseekHyper, fitHyperparams, type HyperFit } from '../analysis/hyperparam-fit.js';
import { powerLawAt, type Interval } from '../analysis/power-law.js';
import type { SweepPlan } from './sweep-plan.js';
import type { RunResult } from './sweep.js';

/** The fits of one architecture. */
export interface ArchAnalysis {
  arch: string;
  runs: number;
  iso: IsoFlopFit | null;
  isoIntervals: Record<string, Interval>;
  isoFailed: number;
  /** C grid of the band and M_opt's 10th/90th percentile at each. */
  band: { C: number[]; lo: number[]; hi: number[] };
  parametric: ParametricFit | null;
  parametricIntervals: Record<string, Interval>;
  /** Lowest validation loss per budget. */
  bestPerBudget: { budget: number; loss: number; name: string }[];
  note: string[];
}

/** Everything the report shows. */
export interface SweepAnalysis {
  sweep: string;
  archs: ArchAnalysis[];
  hyper: (HyperFit & { presets: { batchTokens: number; lr: number }; deepseek: { budget: number; batchTokens: number; lr: number }[] }) | null;
  totals: { runs: number; C: number; headFlops: number; tokens: number; trainSeconds: number; wallSeconds: number; coreHours: number; cpuHours: number };
  /** The compute-optimal run at the largest budget (from approach 2 of the MoE fit; reliable = every parabola's minimum inside its sizes), and its cost next to the sweep's. */
  finalRun: { budget: number; Mopt: number; Dopt: number; sweepOverFinal: number; reliable: boolean } | null;
  replicates: number;
}

const bandGrid = (budgets: number[], n = 12) => {
  const lo = Math.log(Math.min(...budgets)) - 0.3, hi = Math.log(Math.max(...budgets)) + 0.3;
  return Array.from({ length: n }, (_, i) => Math.exp(lo + ((hi - lo) * i) / (n - 1)));
};

/** Analyses the results of a sweep (`replicates` bootstrap replicates for approach 2; a quarter of them for approach 3, which is slower). */
export function analyseSweep(p: SweepPlan, results: readonly RunResult[], replicates = 1000, seed = 0): SweepAnalysis {
  const archs: ArchAnalysis[] = [];
  for (const arch of p.archs) {
    const rs = results.filter((r) => r.arch === arch && r.study === 'isoflop');
    if (rs.length === 0) continue;
    const note: string[] = [];
    const isoRuns = rs.map((r) => ({ budget: r.budget, M: r.M, L: r.valLoss }));
    let iso: IsoFlopFit | null = null, isoIntervals: Record<string, Interval> = {}, isoFailed = 0;
    const grid = bandGrid(p.budgets);
    const band = { C: grid, lo: [] as number[], hi: [] as number[] };
    try {
      iso = fitIsoFlop(isoRuns);
      for (const pb of iso.parabolas) if (!pb.inside) note.push(`budget ${pb.budget.toExponential(1)}: the parabola's minimum lies outside the sizes trained (or it opens downwards), so its M_opt is an extrapolation`);
      const b = bootstrapIsoFlop(isoRuns, replicates, seed, grid);
      isoFailed = b.failed;
      isoIntervals = Object.fromEntries(Object.entries(b.intervals).filter(([k]) => !k.startsWith('Mopt@')));
      grid.forEach((C, i) => {
        const iv = b.intervals[`Mopt@${i}`];
        band.lo.push(iv ? iv.lo : NaN);
        band.hi.push(iv ? iv.hi : NaN);
      });
    } catch (e) {
      note.push(`IsoFLOP fit not possible: ${(e as Error).message}`);
    }
    let parametric: ParametricFit | null = null, parametricIntervals: Record<string, Interval> = {};
    const pts = rs.map((r) => ({ N: r.N, D: r.tokens, L: r.valLoss }));
    if (pts.length >= 5) {
      parametric = fitParametric(pts);
      parametricIntervals = bootstrapParametric(pts, parametric, Math.max(20, Math.round(replicates / 4)), seed + 1).intervals;
    } else note.push(`parametric fit skipped: ${pts.length} runs, 5 needed`);
    const bestPerBudget = p.budgets.map((C) => {
      const g = rs.filter((r) => r.budget === C);
      const best = g.reduce((a, r) => (r.valLoss < a.valLoss ? r : a), g[0]);
      return best ? { budget: C, loss: best.valLoss, name: best.name } : null;
    }).filter((x): x is { budget: number; loss: number; name: string } => x !== null);
    archs.push({ arch, runs: rs.length, iso, isoIntervals, isoFailed, band, parametric, parametricIntervals, bestPerBudget, note });
  }
  // Hyperparameters: the grid runs plus the IsoFLOP run of the same size at the grid's budgets (its centre).
  const hs = results.filter((r) => r.arch === 'moe' && p.hyper.budgets.includes(r.budget) && r.size.layers === p.hyper.size.layers && r.size.hidden === p.hyper.size.hidden);
  const hyperRuns = hs.map((r) => ({ budget: r.budget, batchTokens: r.batchSize * p.seqLen, lr: r.lr, L: r.valLoss }));
  const hyper = hyperRuns.length ? {
    ...fitHyperparams(hyperRuns),
    presets: { batchTokens: p.batchSize * p.seqLen, lr: p.lr },
    deepseek: p.hyper.budgets.map((C) => ({ budget: C, ...deepseekHyper(C) })),
  } : null;
  const sum = (f: (r: RunResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const wall = sum((r) => r.wallSeconds);
  const totals = {
    runs: results.length, C: sum((r) => r.C), headFlops: sum((r) => r.headFlops), tokens: sum((r) => r.tokens),
    trainSeconds: sum((r) => r.trainSeconds), wallSeconds: wall, coreHours: sum((r) => r.wallSeconds * r.cores) / 3600,
    cpuHours: sum((r) => r.cpuSeconds ?? 0) / 3600,
  };
  const moe = archs.find((a) => a.arch === 'moe')?.iso;
  const Cmax = Math.max(...p.budgets);
  const finalRun = moe ? (() => {
    const M = powerLawAt(moe.Mopt, Cmax);
    return { budget: Cmax, Mopt: M, Dopt: Cmax / M, sweepOverFinal: totals.C / Cmax, reliable: moe.parabolas.every((q) => q.inside) };
  })() : null;
  return { sweep: p.name, archs, hyper, totals, finalRun, replicates };
}
