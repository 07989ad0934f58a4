// Chinchilla's Approach 2, IsoFLOP profiles (Hoffmann et al. 2022, §3.2), with DeepSeek LLM's compute
// C = M·D: at each budget C_k several model scales M are trained for D = C_k/M tokens; a parabola
// L = p0 + p1·x + p2·x², x = ln M, through their final losses gives M_opt = exp(−p1/(2·p2)); then
// M_opt = k_M·C^a and D_opt = C/M_opt = k_D·C^b (b = 1 − a) by least squares on logarithms.
// A parabola that opens downwards, or whose minimum lies outside the sizes trained, is flagged: its
// M_opt is an extrapolation (the budget's grid did not straddle the optimum).
// Near the minimum: a profile whose losses rise steeply and unevenly away from the optimum is not a
// parabola in ln M over its whole range; fitting each budget's parabola to the sizes nearest its
// lowest-loss run (`nearMinimum`) reads the curvature where it matters. Its uncertainty comes from a
// noise bootstrap with the measured seed-to-seed spread of the loss (`noiseBootstrapIsoFlop`), which
// redoes the selection in every replicate (which run is lowest is itself noisy).
import { bootstrap, fitParabola, fitPowerLaw, type PowerLaw } from './power-law.js';

/** One run of an IsoFLOP study. */
export interface IsoRun {
  /** The budget this run belongs to (its nominal C). */
  budget: number;
  /** Model scale (non-embedding FLOPs per token). */
  M: number;
  L: number;
}

/** The parabola of one budget. */
export interface IsoParabola {
  budget: number;
  p: [number, number, number];
  Mopt: number;
  Lopt: number;
  Dopt: number;
  /** The minimum lies within the trained sizes and the parabola opens upwards. */
  inside: boolean;
  runs: number;
}

/** The whole approach-2 fit. */
export interface IsoFlopFit {
  parabolas: IsoParabola[];
  /** M_opt = k·C^a. */
  Mopt: PowerLaw;
  /** D_opt = k·C^b. */
  Dopt: PowerLaw;
}

/** The parabola of one budget's runs (≥ 3 distinct sizes). */
export function isoParabola(budget: number, runs: readonly { M: number; L: number }[]): IsoParabola {
  const x = runs.map((r) => Math.log(r.M)), y = runs.map((r) => r.L);
  const p = fitParabola(x, y);
  const xo = -p[1] / (2 * p[2]);
  const inside = p[2] > 0 && xo >= Math.min(...x) && xo <= Math.max(...x);
  const Mopt = Math.exp(xo);
  return { budget, p, Mopt, Lopt: p[0] + p[1] * xo + p[2] * xo * xo, Dopt: budget / Mopt, inside, runs: runs.length };
}

/** Groups runs by budget (ascending). */
export function byBudget<T extends { budget: number }>(runs: readonly T[]): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const r of [...runs].sort((a, b) => a.budget - b.budget)) {
    const g = m.get(r.budget) ?? [];
    g.push(r);
    m.set(r.budget, g);
  }
  return m;
}

/**
 * Each budget's runs cut to the `n` sizes nearest in ln M to its lowest-loss run (that run included;
 * ties in distance go to the smaller M). Budgets keep their order; runs keep theirs.
 */
export function nearMinimum<T extends IsoRun>(runs: readonly T[], n: number): T[] {
  if (!(Number.isInteger(n) && n >= 3)) throw new RangeError(`nearMinimum: a parabola needs at least 3 sizes per budget; got n = ${n}`);
  const keep = new Set<T>();
  for (const g of byBudget(runs).values()) {
    const best = g.reduce((a, r) => (r.L < a.L ? r : a));
    const near = [...g].sort((a, b) => Math.abs(Math.log(a.M / best.M)) - Math.abs(Math.log(b.M / best.M)) || a.M - b.M).slice(0, n);
    for (const r of near) keep.add(r);
  }
  return runs.filter((r) => keep.has(r));
}

/** Parabolas per budget, then the power laws of M_opt and D_opt in C (≥ 2 budgets). */
export function fitIsoFlop(runs: readonly IsoRun[]): IsoFlopFit {
  const groups = byBudget(runs);
  if (groups.size < 2) throw new RangeError(`IsoFLOP fit: needs at least 2 budgets, found ${groups.size}`);
  const parabolas = [...groups].map(([C, g]) => isoParabola(C, g));
  const C = parabolas.map((p) => p.budget);
  return {
    parabolas,
    Mopt: fitPowerLaw(C, parabolas.map((p) => p.Mopt)),
    Dopt: fitPowerLaw(C, parabolas.map((p) => p.Dopt)),
  };
}

/**
 * A bootstrap replicate's fit, or null when it fails: a parabola that opens downwards, or an M_opt so
 * far outside the sizes that it underflows to 0 or overflows (the power law then has no logarithm).
 */
function refit(sample: readonly IsoRun[]): IsoFlopFit | null {
  let f: IsoFlopFit;
  try {
    f = fitIsoFlop(sample);
  } catch {
    return null;
  }
  return f.parabolas.some((p) => !(p.p[2] > 0 && p.Mopt > 0 && Number.isFinite(p.Mopt))) ? null : f;
}

/** What a bootstrap replicate keeps: the exponents a and b, and M_opt at each of `bandC` (`Mopt@i`). */
function replicateStats(f: IsoFlopFit, bandC: readonly number[]): Record<string, number> {
  const band = Object.fromEntries(bandC.map((C, i) => [`Mopt@${i}`, f.Mopt.k * Math.pow(C, f.Mopt.exponent)]));
  return { a: f.Mopt.exponent, b: f.Dopt.exponent, ...band };
}

/**
 * Bootstrap of the IsoFLOP fit by resampling residuals (the design — which sizes were trained at which
 * budget — stays fixed): each budget's parabola is fitted, the residuals of all budgets are pooled
 * (inflated by √(n/(n − 3k)) for the 3 parameters per parabola), and each replicate adds residuals drawn
 * with replacement to the fitted losses and refits everything. With 4–6 sizes per budget, resampling the
 * runs themselves would leave some budget with fewer than 3 distinct sizes in about a third of the
 * replicates and skew the rest. A replicate whose parabola opens downwards (or whose M_opt under- or
 * overflows) counts as failed.
 * `bandC`: compute values at which each replicate's M_opt(C) is also kept (`Mopt@i`), for a band.
 */
export function bootstrapIsoFlop(runs: readonly IsoRun[], replicates: number, seed: number, bandC: readonly number[] = []) {
  const fit = fitIsoFlop(runs);
  const groups = [...byBudget(runs).values()];
  const fitted = groups.map((g, k) => g.map((r) => { const x = Math.log(r.M), p = fit.parabolas[k].p; return p[0] + p[1] * x + p[2] * x * x; }));
  const resid = groups.flatMap((g, k) => g.map((r, i) => r.L - fitted[k][i]));
  const dof = resid.length - 3 * groups.length;
  const inflate = dof > 0 ? Math.sqrt(resid.length / dof) : 1;
  return bootstrap(replicates, seed, (rng) => {
    const sample = groups.flatMap((g, k) => g.map((r, i) => ({ ...r, L: fitted[k][i] + inflate * resid[rng.int(resid.length)] })));
    const f = refit(sample);
    if (!f) return null;
    return replicateStats(f, bandC);
  });
}

/**
 * Noise bootstrap of an IsoFLOP fit: each replicate adds independent N(0, σ²) noise to every run's loss
 * (σ: the measured seed-to-seed standard deviation of the final loss), applies `select` (for example
 * `(rs) => nearMinimum(rs, 3)`, so the choice of sizes is redone on the noisy losses), and refits. A
 * replicate whose parabola opens downwards counts as failed. `bandC` as in bootstrapIsoFlop.
 */
export function noiseBootstrapIsoFlop(runs: readonly IsoRun[], sigma: number, replicates: number, seed: number, select: (rs: IsoRun[]) => IsoRun[] = (rs) => rs, bandC: readonly number[] = []) {
  if (!(sigma >= 0 && Number.isFinite(sigma))) throw new RangeError(`noise bootstrap: σ must be a finite number ≥ 0, got ${sigma}`);
  return bootstrap(replicates, seed, (rng) => {
    const f = refit(select(runs.map((r) => ({ ...r, L: r.L + sigma * rng.normal() }))));
    if (!f) return null;
    return replicateStats(f, bandC);
  });
}
