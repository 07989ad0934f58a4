// Chinchilla's Approach 3 (Hoffmann et al. 2022, §3.3, App. D.2): fit L̂(N, D) = E + A/N^α + B/D^β to
// every run's final loss by minimising
//   Σ_i Huber_δ( LSE(a − α·ln N_i, b − β·ln D_i, e) − ln L_i ),   A = e^a, B = e^b, E = e^e, δ = 10⁻³,
// from a grid of starting points (α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25}).
// Chinchilla ran L-BFGS from every grid point; here the objective is evaluated on the whole grid and
// Nelder–Mead runs from the best `starts` of them (the loss surface is smooth in 5 parameters).
// The compute-optimal frontier under C = 6·N·D is closed-form:
//   N_opt = G·(C/6)^a, D_opt = G⁻¹·(C/6)^b, G = (αA/(βB))^(1/(α+β)), a = β/(α+β), b = α/(α+β).
// tinyseek counts C = M·D (DeepSeek LLM), so its N is the effective parameter count M/6, which makes
// C = 6·N·D hold exactly.
import { nelderMead } from './nelder-mead.js';
import { bootstrap, resampleIndices } from './power-law.js';

/** One run: effective parameters N, tokens D, final held-out loss L. */
export interface LossPoint {
  N: number;
  D: number;
  L: number;
}

/** A fitted L̂(N, D) and the frontier it implies. */
export interface ParametricFit {
  E: number;
  A: number;
  B: number;
  alpha: number;
  beta: number;
  /** N_opt ∝ C^a, D_opt ∝ C^b. */
  a: number;
  b: number;
  G: number;
  /** Huber objective at the minimum (sum over runs). */
  objective: number;
  delta: number;
}

/** Huber loss: r²/2 for |r| ≤ δ, δ·(|r| − δ/2) beyond. */
export function huber(r: number, delta: number): number {
  const x = Math.abs(r);
  return x <= delta ? 0.5 * x * x : delta * (x - 0.5 * delta);
}

function lse3(x: number, y: number, z: number): number {
  const m = Math.max(x, y, z);
  return m + Math.log(Math.exp(x - m) + Math.exp(y - m) + Math.exp(z - m));
}

/** The Huber objective of parameters [a, b, e, α, β] on pre-logged points. */
function objective(p: readonly number[], lnN: Float64Array, lnD: Float64Array, lnL: Float64Array, delta: number): number {
  const [a, b, e, al, be] = p;
  let s = 0;
  for (let i = 0; i < lnN.length; i++) s += huber(lse3(a - al * lnN[i], b - be * lnD[i], e) - lnL[i], delta);
  return s;
}

/** Chinchilla's grid of initialisations, as [a, b, e, α, β]. */
export function chinchillaGrid(): number[][] {
  const g: number[][] = [];
  for (let al = 0; al <= 2; al += 0.5) for (let be = 0; be <= 2; be += 0.5) for (let e = -1; e <= 1; e += 0.5) {
    for (let a = 0; a <= 25; a += 5) for (let b = 0; b <= 25; b += 5) g.push([a, b, e, al, be]);
  }
  return g;
}

/** Options of the fit. */
export interface ParametricFitOptions {
  /** Huber δ (Chinchilla: 1e-3). */
  delta?: number;
  /** Nelder–Mead runs from the best this many grid points (default 8). */
  starts?: number;
  /** Extra starting points [a, b, e, α, β] (e.g. the full-data fit, when bootstrapping). */
  extraStarts?: number[][];
}

/** Fits L̂(N, D) = E + A/N^α + B/D^β to the points (at least 5: the fit has 5 parameters). */
export function fitParametric(points: readonly LossPoint[], o: ParametricFitOptions = {}): ParametricFit {
  if (points.length < 5) throw new RangeError(`parametric fit: needs at least 5 runs for 5 parameters, found ${points.length}`);
  for (const [i, p] of points.entries()) {
    if (!(p.N > 0 && p.D > 0 && p.L > 0)) throw new RangeError(`parametric fit: run ${i} needs N, D, L > 0, found N = ${p.N}, D = ${p.D}, L = ${p.L}`);
  }
  const delta = o.delta ?? 1e-3;
  const lnN = Float64Array.from(points, (p) => Math.log(p.N));
  const lnD = Float64Array.from(points, (p) => Math.log(p.D));
  const lnL = Float64Array.from(points, (p) => Math.log(p.L));
  const f = (p: number[]) => objective(p, lnN, lnD, lnL, delta);
  const scored = chinchillaGrid().map((p) => ({ p, v: f(p) })).sort((x, y) => x.v - y.v);
  const starts = [...scored.slice(0, o.starts ?? 8).map((s) => s.p), ...(o.extraStarts ?? [])];
  let best = { x: starts[0], fx: Infinity };
  for (const s of starts) {
    // Two restarts from the previous minimum: Nelder–Mead can stall on a collapsed simplex.
    let r = nelderMead(f, s, { step: [1, 1, 0.5, 0.1, 0.1], maxIter: 3000, xTol: 1e-7, fTol: 1e-14 });
    for (let k = 0; k < 2; k++) r = nelderMead(f, r.x, { step: [0.5, 0.5, 0.1, 0.05, 0.05], maxIter: 3000, xTol: 1e-8, fTol: 1e-15 });
    if (r.fx < best.fx) best = r;
  }
  const [a, b, e, alpha, beta] = best.x;
  const A = Math.exp(a), B = Math.exp(b);
  return {
    E: Math.exp(e), A, B, alpha, beta,
    a: beta / (alpha + beta), b: alpha / (alpha + beta),
    G: Math.pow((alpha * A) / (beta * B), 1 / (alpha + beta)),
    objective: best.fx, delta,
  };
}

/** L̂(N, D) of a fit. */
export function predictLoss(f: ParametricFit, N: number, D: number): number {
  return f.E + f.A / Math.pow(N, f.alpha) + f.B / Math.pow(D, f.beta);
}

/** The compute-optimal N and D of a fit at C = 6·N·D. */
export function parametricOptimum(f: ParametricFit, C: number): { N: number; D: number } {
  return { N: f.G * Math.pow(C / 6, f.a), D: Math.pow(C / 6, f.b) / f.G };
}

/** The fit's parameters as the [a, b, e, α, β] vector the objective uses (a bootstrap start). */
export function fitVector(f: ParametricFit): number[] {
  return [Math.log(f.A), Math.log(f.B), Math.log(f.E), f.alpha, f.beta];
}

/** Bootstrap of the parametric fit: runs resampled with replacement, refitted `replicates` times; 10th–90th percentiles. */
export function bootstrapParametric(points: readonly LossPoint[], fit: ParametricFit, replicates: number, seed: number, o: ParametricFitOptions = {}) {
  return bootstrap(replicates, seed, (rng) => {
    const sample = resampleIndices(points.length, rng).map((i) => points[i]);
    if (new Set(sample).size < 5) return null;
    const f = fitParametric(sample, { ...o, starts: o.starts ?? 3, extraStarts: [fitVector(fit)] });
    return { E: f.E, A: f.A, B: f.B, alpha: f.alpha, beta: f.beta, a: f.a, b: f.b };
  });
}
