// Nelder–Mead simplex minimisation (Lagarias et al. 1998, the standard coefficients: reflection 1,
// expansion 2, contraction 1/2, shrink 1/2), as scipy.optimize's 'Nelder-Mead' runs it: an initial
// simplex of x0 and x0 with one coordinate moved by `step`, stopping when both the simplex's spread in
// x and in f are below the tolerances. Used for the few-parameter scaling-law fits (no gradients).

/** Options of a minimisation. */
export interface NelderMeadOptions {
  /** Initial simplex edge per coordinate (default 5% of |x0_i|, or 0.00025 where x0_i = 0, as scipy). */
  step?: number | number[];
  maxIter?: number;
  /** Stop when max |x_i − x_best| ≤ xTol and max |f_i − f_best| ≤ fTol. */
  xTol?: number;
  fTol?: number;
}

/** The result of a minimisation. */
export interface NelderMeadResult {
  x: number[];
  fx: number;
  iterations: number;
  converged: boolean;
}

/** Minimises f from x0. Non-finite values of f count as +∞ (the simplex moves away from them). */
export function nelderMead(f: (x: number[]) => number, x0: readonly number[], o: NelderMeadOptions = {}): NelderMeadResult {
  const n = x0.length;
  if (n === 0) throw new RangeError('nelderMead: x0 must have at least one coordinate');
  const maxIter = o.maxIter ?? 200 * n;
  const xTol = o.xTol ?? 1e-8, fTol = o.fTol ?? 1e-10;
  const F = (x: number[]) => {
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  const steps = Array.from({ length: n }, (_, i) => {
    const s = Array.isArray(o.step) ? o.step[i] : o.step;
    return s ?? (x0[i] !== 0 ? 0.05 * x0[i] : 0.00025);
  });
  let pts: number[][] = [x0.slice()];
  for (let i = 0; i < n; i++) {
    const p = x0.slice();
    p[i] += steps[i];
    pts.push(p);
  }
  let vals = pts.map(F);
  let it = 0;
  const order = () => {
    const idx = pts.map((_, i) => i).sort((a, b) => vals[a] - vals[b]);
    pts = idx.map((i) => pts[i]);
    vals = idx.map((i) => vals[i]);
  };
  order();
  let converged = false;
  for (; it < maxIter; it++) {
    let dx = 0, df = 0;
    for (let i = 1; i <= n; i++) {
      df = Math.max(df, Math.abs(vals[i] - vals[0]));
      for (let j = 0; j < n; j++) dx = Math.max(dx, Math.abs(pts[i][j] - pts[0][j]));
    }
    if (dx <= xTol && df <= fTol) { converged = true; break; }
    const c = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) c[j] += pts[i][j] / n;
    const worst = pts[n];
    const along = (t: number) => c.map((cj, j) => cj + t * (cj - worst[j]));
    const xr = along(1), fr = F(xr);
    if (fr < vals[0]) {
      const xe = along(2), fe = F(xe);
      if (fe < fr) { pts[n] = xe; vals[n] = fe; } else { pts[n] = xr; vals[n] = fr; }
    } else if (fr < vals[n - 1]) {
      pts[n] = xr; vals[n] = fr;
    } else {
      const outside = fr < vals[n];
      const xc = along(outside ? 0.5 : -0.5), fc = F(xc);
      if (fc < (outside ? fr : vals[n])) {
        pts[n] = xc; vals[n] = fc;
      } else {
        for (let i = 1; i <= n; i++) {
          pts[i] = pts[i].map((v, j) => pts[0][j] + 0.5 * (v - pts[0][j]));
          vals[i] = F(pts[i]);
        }
      }
    }
    order();
  }
  return { x: pts[0], fx: vals[0], iterations: it, converged };
}
