// The analysis of a finished sweep: per architecture, IsoFLOP parabolas (Chinchilla approach 2) →
// M_opt ∝ C^a, D_opt ∝ C^b with residual-bootstrap intervals and bands; the parametric fit
// L(N, D) = E + A/N^α + B/D^β (approach 3, N = M/6 so that C = 6·N·D) with a run bootstrap; MoE
// against dense at equal compute; the batch-size / learning-rate law (DeepSeek LLM §3.1); and the
// sweep's own cost next to the compute-optimal run it points to.
import { bootstrapIsoFlop, fitIsoFlop, nearMinimum, noiseBootstrapIsoFlop, type IsoFlopFit, type IsoRun } from '../analysis/isoflop.js';
import { bootstrapParametric, fitParametric, type ParametricFit } from '../analysis/chinchilla-fit.js';
import { deepseekHyper, fitHyperparams, type HyperFit } from '../analysis/hyperparam-fit.js';
import { powerLawAt, type Interval } from '../analysis/power-law.js';
import type { SweepPlan, SweepSize } from './sweep-plan.js';
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
  /** The seed replicates: the IsoFLOP run's loss first, then each other seed's; their sample standard deviation. */
  seedNoise: { budget: number; size: SweepSize; seeds: number[]; losses: number[]; sd: number } | null;
  /**
   * Approach 2 near the minimum: each budget's parabola through the NEAR_WINDOW sizes nearest its
   * lowest-loss run; intervals from a noise bootstrap at the pooled seed σ (none without replicates).
   */
  near: { window: number; fit: IsoFlopFit | null; intervals: Record<string, Interval>; failed: number; band: { C: number[]; lo: number[]; hi: number[] } } | null;
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
  /** Pooled seed-to-seed standard deviation of the final loss (root mean of the architectures' variances), null without replicates. */
  seedSigma: number | null;
  /**
   * The compute-optimal run at the largest budget and its cost next to the sweep's: from the MoE fit
   * over all sizes when every parabola's minimum is inside its sizes, else from the MoE fit near the
   * minimum (`method`); reliable = the chosen fit's minima are all inside their sizes.
   */
  finalRun: { budget: number; Mopt: number; Dopt: number; sweepOverFinal: number; reliable: boolean; method: 'all sizes' | 'near the minimum' } | null;
  replicates: number;
}

/** Sizes per budget in the near-minimum fit: the lowest-loss run and the two sizes nearest it in ln M (the least that can bracket a minimum). */
export const NEAR_WINDOW = 3;

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
    const sp = p.seeds;
    const reps = sp ? results.filter((r) => r.arch === arch && r.study === 'seed' && r.budget === sp.budget && r.size.layers === sp.size.layers && r.size.hidden === sp.size.hidden) : [];
    const centre = sp ? rs.find((r) => r.budget === sp.budget && r.size.layers === sp.size.layers && r.size.hidden === sp.size.hidden) : undefined;
    const seedNoise = sp && centre && reps.length ? (() => {
      const losses = [centre.valLoss, ...reps.map((r) => r.valLoss)];
      const mean = losses.reduce((a, x) => a + x, 0) / losses.length;
      return { budget: sp.budget, size: sp.size, seeds: [p.seed, ...reps.map((r) => r.seed ?? p.seed)], losses, sd: Math.sqrt(losses.reduce((a, x) => a + (x - mean) ** 2, 0) / (losses.length - 1)) };
    })() : null;
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
    archs.push({ arch, runs: rs.length, iso, isoIntervals, isoFailed, band, parametric, parametricIntervals, seedNoise, near: null, bestPerBudget, note });
  }
  // The seed σ pooled over the architectures, then each architecture's fit near the minimum with it.
  const vars = archs.flatMap((x) => (x.seedNoise ? [x.seedNoise.sd ** 2] : []));
  const seedSigma = vars.length ? Math.sqrt(vars.reduce((a, v) => a + v, 0) / vars.length) : null;
  for (const x of archs) {
    const isoRuns: IsoRun[] = results.filter((r) => r.arch === x.arch && r.study === 'isoflop').map((r) => ({ budget: r.budget, M: r.M, L: r.valLoss }));
    const grid = bandGrid(p.budgets);
    const near: NonNullable<ArchAnalysis['near']> = { window: NEAR_WINDOW, fit: null, intervals: {}, failed: 0, band: { C: grid, lo: [], hi: [] } };
    try {
      near.fit = fitIsoFlop(nearMinimum(isoRuns, NEAR_WINDOW));
      for (const pb of near.fit.parabolas) if (!pb.inside) x.note.push(`near the minimum, budget ${pb.budget.toExponential(1)}: the parabola through the ${NEAR_WINDOW} sizes nearest the lowest loss has its minimum outside them (or opens downwards)`);
      if (seedSigma !== null) {
        const b = noiseBootstrapIsoFlop(isoRuns, seedSigma, replicates, seed + 2, (r) => nearMinimum(r, NEAR_WINDOW), grid);
        near.failed = b.failed;
        near.intervals = Object.fromEntries(Object.entries(b.intervals).filter(([k]) => !k.startsWith('Mopt@')));
        grid.forEach((_C, i) => {
          const q = b.intervals[`Mopt@${i}`];
          near.band.lo.push(q ? q.lo : NaN);
          near.band.hi.push(q ? q.hi : NaN);
        });
      } else x.note.push('no seed replicates, so the fit near the minimum has no interval');
    } catch (e) {
      x.note.push(`IsoFLOP fit near the minimum not possible: ${(e as Error).message}`);
    }
    x.near = near;
  }
  // Hyperparameters: the grid runs plus the IsoFLOP run of the same size at the grid's budgets (its centre).
  const hs = results.filter((r) => r.study !== 'seed' && r.arch === 'moe' && p.hyper.budgets.includes(r.budget) && r.size.layers === p.hyper.size.layers && r.size.hidden === p.hyper.size.hidden);
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
  const moeArch = archs.find((a) => a.arch === 'moe');
  const Cmax = Math.max(...p.budgets);
  const inside = (f: IsoFlopFit | null | undefined) => !!f && f.parabolas.every((q) => q.inside);
  const chosen = inside(moeArch?.iso) ? { fit: moeArch!.iso!, method: 'all sizes' as const }
    : moeArch?.near?.fit ? { fit: moeArch.near.fit, method: 'near the minimum' as const }
      : moeArch?.iso ? { fit: moeArch.iso, method: 'all sizes' as const } : null;
  const finalRun = chosen ? (() => {
    const M = powerLawAt(chosen.fit.Mopt, Cmax);
    return { budget: Cmax, Mopt: M, Dopt: Cmax / M, sweepOverFinal: totals.C / Cmax, reliable: inside(chosen.fit), method: chosen.method };
  })() : null;
  return { sweep: p.name, archs, hyper, totals, finalRun, seedSigma, replicates };
}
