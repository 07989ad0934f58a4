// Small fitting tools shared by the scaling-law fits: a power law y = k·x^e by least squares on
// logarithms, a least-squares parabola, percentiles, and a seeded bootstrap.
import { Rng } from '../tensor/random.js';

/** y = k · x^exponent. */
export interface PowerLaw {
  k: number;
  exponent: number;
}

/** Least squares of ln y on ln x (every x, y > 0; at least two distinct x). */
export function fitPowerLaw(x: readonly number[], y: readonly number[]): PowerLaw {
  if (x.length !== y.length) throw new RangeError(`power law: ${x.length} x values but ${y.length} y values`);
  if (x.length < 2) throw new RangeError(`power law: needs at least 2 points, found ${x.length}`);
  for (let i = 0; i < x.length; i++) {
    if (!(x[i] > 0) || !(y[i] > 0)) throw new RangeError(`power law: x and y must be positive, found x = ${x[i]}, y = ${y[i]} at point ${i}`);
  }
  const lx = x.map(Math.log), ly = y.map(Math.log);
  const mx = lx.reduce((a, v) => a + v, 0) / lx.length, my = ly.reduce((a, v) => a + v, 0) / ly.length;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < lx.length; i++) { sxy += (lx[i] - mx) * (ly[i] - my); sxx += (lx[i] - mx) ** 2; }
  if (sxx === 0) throw new RangeError('power law: all x values are equal');
  const exponent = sxy / sxx;
  return { k: Math.exp(my - exponent * mx), exponent };
}

/** Evaluates a power law at x. */
export function powerLawAt(p: PowerLaw, x: number): number {
  return p.k * Math.pow(x, p.exponent);
}

/** y = p0 + p1·x + p2·x², least squares (at least three distinct x). */
export function fitParabola(x: readonly number[], y: readonly number[]): [number, number, number] {
  if (x.length !== y.length || x.length < 3) throw new RangeError(`parabola: needs ≥ 3 (x, y) pairs, found ${x.length} x and ${y.length} y`);
  // Normal equations on centred x for conditioning, then shifted back.
  const m = x.reduce((a, v) => a + v, 0) / x.length;
  const S = [0, 0, 0, 0, 0], T = [0, 0, 0];
  for (let i = 0; i < x.length; i++) {
    const u = x[i] - m;
    let p = 1;
    for (let k = 0; k < 5; k++) { S[k] += p; if (k < 3) T[k] += p * y[i]; p *= u; }
  }
  const A = [[S[0], S[1], S[2]], [S[1], S[2], S[3]], [S[2], S[3], S[4]]];
  const c = solve3(A, T);
  if (!c) throw new RangeError('parabola: fewer than three distinct x values');
  // c0 + c1 (x−m) + c2 (x−m)² → p0 + p1 x + p2 x²
  return [c[0] - c[1] * m + c[2] * m * m, c[1] - 2 * c[2] * m, c[2]];
}

function solve3(A: number[][], b: number[]): number[] | null {
  const M = A.map((r, i) => [...r, b[i]]);
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(M[r][col]) > Math.abs(M[piv][col])) piv = r;
    const scale = Math.max(...M.map((r) => Math.abs(r[col])));
    if (Math.abs(M[piv][col]) <= 1e-12 * (scale || 1)) return null;
    [M[col], M[piv]] = [M[piv], M[col]];
    for (let r = 0; r < 3; r++) {
      if (r === col) continue;
      const f = M[r][col] / M[col][col];
      for (let k = col; k < 4; k++) M[r][k] -= f * M[col][k];
    }
  }
  return [M[0][3] / M[0][0], M[1][3] / M[1][1], M[2][3] / M[2][2]];
}

/** The q-quantile (0…1) of values, linear interpolation between order statistics (numpy's default). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values');
  const s = [...values].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** An interval from bootstrap replicates: the 10th and 90th percentiles (as Chinchilla reports), and how many replicates fitted. */
export interface Interval {
  lo: number;
  hi: number;
  /** 2.5th and 97.5th percentiles. */
  lo95: number;
  hi95: number;
  replicates: number;
}

/** Indices 0..n−1 drawn with replacement. */
export function resampleIndices(n: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => rng.int(n));
}

/**
 * Seeded bootstrap: `replicates` times, `fit(rng)` resamples and refits, returning named statistics or
 * null when the resample cannot be fitted (counted, not silently dropped). Returns the 10th–90th
 * (and 2.5th–97.5th) percentile interval of each statistic.
 */
export function bootstrap(replicates: number, seed: number, fit: (rng: Rng) => Record<string, number> | null): { intervals: Record<string, Interval>; failed: number } {
  const rng = new Rng(seed);
  const acc: Record<string, number[]> = {};
  let failed = 0;
  for (let r = 0; r < replicates; r++) {
    const s = fit(rng);
    if (!s) { failed++; continue; }
    for (const [k, v] of Object.entries(s)) {
      if (!Number.isFinite(v)) continue;
      (acc[k] ??= []).push(v);
    }
  }
  const intervals: Record<string, Interval> = {};
  for (const [k, v] of Object.entries(acc)) intervals[k] = { lo: percentile(v, 0.1), hi: percentile(v, 0.9), lo95: percentile(v, 0.025), hi95: percentile(v, 0.975), replicates: v.length };
  return { intervals, failed };
}
