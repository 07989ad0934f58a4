// Scaling-law fitting on synthetic data with known exponents: Nelder–Mead on test functions, the
// power law and parabola on exact data, Chinchilla's approach 3 and approach 2 recovering α, β, a, b
// within their bootstrap intervals, and DeepSeek LLM's batch-size / learning-rate law.
// The checks use the 95 % intervals: an 80 % interval misses the truth one time in five by design.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/tensor/random.js';
import { nelderMead } from '../src/analysis/nelder-mead.js';
import { fitParabola, fitPowerLaw, percentile } from '../src/analysis/power-law.js';
import { bootstrapParametric, fitParametric, huber, parametricOptimum, predictLoss, type LossPoint } from '../src/analysis/chinchilla-fit.js';
import { bootstrapIsoFlop, fitIsoFlop, isoParabola, nearMinimum, noiseBootstrapIsoFlop, type IsoRun } from '../src/analysis/isoflop.js';
import { deepseekHyper, fitHyperparams, type HyperRun } from '../src/analysis/hyperparam-fit.js';

test('Nelder–Mead finds the minimum of Rosenbrock and of a shifted quadratic', () => {
  const rosen = (x: number[]) => 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2;
  const r = nelderMead(rosen, [-1.2, 1], { maxIter: 5000, xTol: 1e-10, fTol: 1e-14 });
  assert.ok(r.converged);
  assert.ok(Math.abs(r.x[0] - 1) < 1e-4 && Math.abs(r.x[1] - 1) < 1e-4, `x = ${r.x}`);
  const q = nelderMead((x) => x.reduce((a, v, i) => a + (i + 1) * (v - i) ** 2, 0), [5, 5, 5, 5], { maxIter: 10000, xTol: 1e-9, fTol: 1e-16 });
  q.x.forEach((v, i) => assert.ok(Math.abs(v - i) < 1e-4, `x${i} = ${v}`));
  // NaN regions count as +∞
  const n = nelderMead((x) => (x[0] < 0 ? NaN : (x[0] - 2) ** 2), [1]);
  assert.ok(Math.abs(n.x[0] - 2) < 1e-3);
  assert.throws(() => nelderMead(() => 0, []), /at least one coordinate/);
});

test('power law and parabola are exact on exact data; bad input is named', () => {
  const x = [1e12, 3e12, 1e13, 3e13];
  const p = fitPowerLaw(x, x.map((c) => 0.17 * c ** 0.52));
  assert.ok(Math.abs(p.exponent - 0.52) < 1e-12 && Math.abs(p.k - 0.17) / 0.17 < 1e-9);
  const [a, b, c] = fitParabola([10, 11, 12, 13], [10, 11, 12, 13].map((u) => 3 - 2 * u + 0.5 * u * u));
  assert.ok(Math.abs(a - 3) < 1e-6 && Math.abs(b + 2) < 1e-7 && Math.abs(c - 0.5) < 1e-9, `${a} ${b} ${c}`);
  assert.throws(() => fitPowerLaw([1], [1]), /at least 2 points, found 1/);
  assert.throws(() => fitPowerLaw([1, -2], [1, 1]), /must be positive, found x = -2/);
  assert.throws(() => fitParabola([1, 1, 1], [1, 2, 3]), /fewer than three distinct x/);
  assert.equal(percentile([3, 1, 2, 4], 0.5), 2.5);
  assert.equal(huber(0.5, 1), 0.125);
  assert.equal(huber(3, 1), 2.5);
});

// Chinchilla's fitted law (unrounded, Epoch's reading) as the ground truth.
interface Law { E: number; A: number; B: number; alpha: number; beta: number }
const CHINCHILLA: Law = { E: Math.exp(0.5267), A: Math.exp(6.0073), B: Math.exp(6.0179), alpha: 0.33917, beta: 0.28491 };
/** A law with α = β, for which IsoFLOP parabolas in ln M carry no shape bias (Czech et al. 2026). */
const SYMMETRIC: Law = { E: 1.8, A: 400, B: 900, alpha: 0.3, beta: 0.3 };
let TRUE = CHINCHILLA;
const aOf = (l: Law) => l.beta / (l.alpha + l.beta); // N_opt ∝ C^a
let TRUE_A = aOf(TRUE);
const trueLoss = (N: number, D: number) => TRUE.E + TRUE.A / N ** TRUE.alpha + TRUE.B / D ** TRUE.beta;
let G = ((TRUE.alpha * TRUE.A) / (TRUE.beta * TRUE.B)) ** (1 / (TRUE.alpha + TRUE.beta));
function useLaw(l: Law): void {
  TRUE = l;
  TRUE_A = aOf(l);
  G = ((l.alpha * l.A) / (l.beta * l.B)) ** (1 / (l.alpha + l.beta));
}

/** An IsoFLOP sweep: 4 budgets over 3 decades, 5 sizes each straddling the true optimum, 0.3 % log-normal noise. */
function synthetic(seed: number, noise = 0.003): { iso: IsoRun[]; points: LossPoint[] } {
  const rng = new Rng(seed);
  const iso: IsoRun[] = [], points: LossPoint[] = [];
  for (const C of [1e18, 1e19, 1e20, 1e21]) {
    const Nopt = G * (C / 6) ** TRUE_A;
    for (const f of [1 / 4, 1 / 2, 1, 2, 4]) {
      const N = Nopt * f * (1 + 0.1 * (rng.uniform() - 0.5)); // sizes are not exactly log-spaced in practice
      const D = C / (6 * N);
      const L = trueLoss(N, D) * Math.exp(noise * rng.normal());
      iso.push({ budget: C, M: 6 * N, L });
      points.push({ N, D, L });
    }
  }
  return { iso, points };
}

test('approach 3 (Huber on log-loss, grid + Nelder–Mead) recovers α, β, a within their bootstrap intervals', () => {
  useLaw(CHINCHILLA);
  const { points } = synthetic(1);
  const fit = fitParametric(points);
  // noise-free data would be fitted exactly: check the objective is at the noise level
  const exact = fitParametric(points.map((p) => ({ ...p, L: trueLoss(p.N, p.D) })));
  assert.ok(Math.abs(exact.alpha - TRUE.alpha) < 0.01 && Math.abs(exact.beta - TRUE.beta) < 0.01, `noise-free: α ${exact.alpha}, β ${exact.beta}`);
  assert.ok(Math.abs(predictLoss(exact, 1e9, 2e10) - trueLoss(1e9, 2e10)) < 1e-3);
  const { intervals, failed } = bootstrapParametric(points, fit, 60, 7);
  assert.ok(failed < 6, `${failed} failed replicates`);
  for (const [k, truth] of [['alpha', TRUE.alpha], ['beta', TRUE.beta], ['a', TRUE_A]] as const) {
    const iv = intervals[k];
    assert.ok(iv.lo95 <= truth && truth <= iv.hi95, `${k}: true ${truth} outside [${iv.lo95}, ${iv.hi95}] (point ${fit[k]})`);
    assert.ok(iv.lo <= fit[k] && fit[k] <= iv.hi, `${k}: the point estimate ${fit[k]} lies outside its own 80 % interval`);
  }
  // the frontier of the fit: N_opt at 1e20 within 25 % of the truth
  const no = parametricOptimum(fit, 1e20).N, nt = G * (1e20 / 6) ** TRUE_A;
  assert.ok(Math.abs(no / nt - 1) < 0.25, `N_opt ${no} vs ${nt}`);
});

test('approach 2 (IsoFLOP parabolas) recovers a and b = 1 − a within their bootstrap intervals (α = β)', () => {
  useLaw(SYMMETRIC);
  // Noise-free, the parabolas recover a exactly (α = β: no shape bias) and the interval collapses on it.
  const exact = fitIsoFlop(synthetic(2, 0).iso);
  assert.ok(Math.abs(exact.Mopt.exponent - 0.5) < 1e-3, `noise-free a = ${exact.Mopt.exponent}`);
  for (const seed of [2, 3, 4]) {
    const { iso } = synthetic(seed);
    const { intervals, failed } = bootstrapIsoFlop(iso, 400, seed);
    assert.equal(failed, 0);
    const a = intervals.a;
    assert.ok(a.lo95 <= TRUE_A && TRUE_A <= a.hi95, `seed ${seed}: true a ${TRUE_A} outside [${a.lo95}, ${a.hi95}]`);
    assert.ok(intervals.b.lo95 <= 1 - TRUE_A && 1 - TRUE_A <= intervals.b.hi95);
  }
  const { iso } = synthetic(2);
  const fit = fitIsoFlop(iso);
  assert.equal(fit.parabolas.length, 4);
  for (const p of fit.parabolas) assert.ok(p.inside, `budget ${p.budget}: minimum outside the grid`);
  assert.ok(Math.abs(fit.Mopt.exponent + fit.Dopt.exponent - 1) < 1e-9, 'D_opt = C/M_opt, so a + b = 1');
  // a parabola whose sizes all sit on one side of the optimum is flagged
  const Nopt = G * (1e19 / 6) ** TRUE_A;
  const side = isoParabola(1e19, [4, 8, 16].map((f) => ({ M: 6 * Nopt * f, L: trueLoss(Nopt * f, 1e19 / (6 * Nopt * f)) })));
  assert.equal(side.inside, false);
});

test('near the minimum: each budget keeps the lowest-loss run and the sizes nearest it in ln M; bad windows are refused', () => {
  const runs: IsoRun[] = [
    { budget: 1, M: 100, L: 3 }, { budget: 1, M: 200, L: 2 }, { budget: 1, M: 400, L: 2.5 }, { budget: 1, M: 800, L: 4 }, { budget: 1, M: 1600, L: 9 },
    { budget: 2, M: 100, L: 1 }, { budget: 2, M: 200, L: 2 }, { budget: 2, M: 300, L: 3 }, { budget: 2, M: 800, L: 4 },
  ];
  const near = nearMinimum(runs, 3);
  assert.deepEqual(near.filter((r) => r.budget === 1).map((r) => r.M), [100, 200, 400], 'the minimum (200) and one size on each side');
  assert.deepEqual(near.filter((r) => r.budget === 2).map((r) => r.M), [100, 200, 300], 'a minimum at the edge: the two nearest on its one side');
  assert.deepEqual(nearMinimum(runs, 4).filter((r) => r.budget === 1).map((r) => r.M), [100, 200, 400, 800], 'ties in distance (×2 either side) go to the smaller size, then the next');
  assert.equal(nearMinimum(runs, 10).length, runs.length);
  assert.throws(() => nearMinimum(runs, 2), /at least 3 sizes per budget; got n = 2/);
  assert.throws(() => noiseBootstrapIsoFlop(runs, -1, 10, 1), /σ must be a finite number ≥ 0, got -1/);
});

test('near the minimum on a profile that is not a parabola far from it: the all-sizes fit is pulled off, the near fit recovers a within its noise-bootstrap interval', () => {
  useLaw(SYMMETRIC);
  // 7 sizes per budget over a factor 64, with a steep penalty for the largest ones (like tinyseek's deep, narrow
  // sizes that train badly in few steps): far from the optimum the profile is no parabola in ln M.
  const sigma = 0.004;
  const make = (seed: number) => {
    const rng = new Rng(seed);
    const iso: IsoRun[] = [];
    for (const C of [1e18, 1e19, 1e20]) {
      const Nopt = G * (C / 6) ** TRUE_A;
      for (const f of [1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8]) {
        const N = Nopt * f;
        const L = trueLoss(N, C / (6 * N)) + (f >= 4 ? 0.4 * Math.log2(f) ** 2 : 0) + sigma * rng.normal();
        iso.push({ budget: C, M: 6 * N, L });
      }
    }
    return iso;
  };
  const runs = make(7);
  const all = fitIsoFlop(runs);
  assert.ok(all.parabolas.some((p) => Math.abs(Math.log(p.Mopt / (6 * G * (p.budget / 6) ** TRUE_A))) > 0.5), 'the all-sizes parabolas miss the optimum by more than a factor 1.6');
  const near = fitIsoFlop(nearMinimum(runs, 3));
  assert.ok(near.parabolas.every((p) => p.inside && p.runs === 3));
  for (const seed of [3, 4]) {
    const b = noiseBootstrapIsoFlop(make(seed), sigma, 300, seed, (rs) => nearMinimum(rs, 3));
    const a = b.intervals.a!;
    assert.ok(a.lo95 <= TRUE_A && TRUE_A <= a.hi95, `seed ${seed}: true a ${TRUE_A} outside [${a.lo95}, ${a.hi95}]`);
    assert.ok(b.failed < 30, `${b.failed} failed replicates`);
  }
  // with no noise the bootstrap collapses on the fit
  const z = noiseBootstrapIsoFlop(runs, 0, 20, 1, (rs) => nearMinimum(rs, 3));
  assert.ok(Math.abs(z.intervals.a!.lo - near.Mopt.exponent) < 1e-12 && Math.abs(z.intervals.a!.hi - near.Mopt.exponent) < 1e-12);
});

test('the sweep\'s own MoE profiles: the all-sizes bootstrap counts replicates whose M_opt under- or overflows as failed instead of throwing; the near-minimum fit is inside at every budget', () => {
  // budget, M, validation loss of docs/results/scaling.json's MoE IsoFLOP runs (2026-12-01)
  const runs: IsoRun[] = ([
    [3e11, 1.66e5, 1.1341], [3e11, 2.477e5, 1.1018], [3e11, 5.204e5, 1.372], [3e11, 1.015e6, 1.9399], [3e11, 1.563e6, 1.6702],
    [1e12, 1.66e5, 0.9894], [1e12, 2.477e5, 0.9718], [1e12, 5.204e5, 0.9716], [1e12, 1.015e6, 1.0388], [1e12, 1.563e6, 1.0459], [1e12, 4.57e6, 1.3445],
    [3e12, 1.66e5, 0.9466], [3e12, 2.477e5, 0.9346], [3e12, 5.204e5, 0.9225], [3e12, 1.015e6, 0.9272], [3e12, 1.563e6, 0.9296], [3e12, 4.57e6, 0.9832],
  ] as const).map(([budget, M, L]) => ({ budget, M, L }));
  const all = fitIsoFlop(runs);
  assert.equal(all.parabolas[0]!.inside, false, 'at 3e11 the all-sizes parabola extrapolates');
  const b = bootstrapIsoFlop(runs, 200, 1);
  assert.ok(b.failed > 0 && b.failed <= 200, `${b.failed} failed`);
  const near = fitIsoFlop(nearMinimum(runs, 3));
  assert.ok(near.parabolas.every((p) => p.inside), near.parabolas.map((p) => p.Mopt).join(', '));
  assert.ok(near.Mopt.exponent > 0.2 && near.Mopt.exponent < 0.8, `near-minimum a = ${near.Mopt.exponent}`);
  const nb = noiseBootstrapIsoFlop(runs, 0.0034, 200, 1, (rs) => nearMinimum(rs, 3));
  assert.ok(nb.intervals.a!.lo < near.Mopt.exponent && near.Mopt.exponent < nb.intervals.a!.hi);
});

test('approach 2 on Chinchilla\'s law (α ≠ β): the parabolas\' known shape bias stays below 0.02 in a', () => {
  useLaw(CHINCHILLA);
  const { iso } = synthetic(2, 0);
  const a = fitIsoFlop(iso).Mopt.exponent;
  assert.ok(Math.abs(a - TRUE_A) < 0.02, `a = ${a}, true ${TRUE_A}`);
});

test('DeepSeek LLM §3.1: near-optimal batch sizes and learning rates → power laws with the planted exponents', () => {
  // Loss bowls in (ln B, ln η) centred on B* = 0.29·C^0.33, η* = 0.31·C^−0.125.
  const runs: HyperRun[] = [];
  for (const C of [1e17, 1e18, 1e19]) {
    const { batchTokens: Bs, lr: es } = deepseekHyper(C);
    for (const fb of [0.5, 1, 2]) for (const fe of [0.5, 1, 2]) {
      const L = 2 + 0.02 * Math.log(fb) ** 2 + 0.02 * Math.log(fe) ** 2;
      runs.push({ budget: C, batchTokens: Bs * fb, lr: es * fe, L });
    }
  }
  const f = fitHyperparams(runs);
  // only the centre of each bowl is within 0.25 % (0.02·ln2² = 0.0096 > 0.0025·2)
  assert.equal(f.nearOptimal.length, 3);
  assert.ok(Math.abs(f.batch!.exponent - 0.3271) < 1e-9 && Math.abs(f.lr!.exponent + 0.125) < 1e-9);
  assert.ok(Math.abs(f.batch!.k - 0.292) / 0.292 < 1e-6);
  // one budget: no exponent can be read
  assert.equal(fitHyperparams(runs.filter((r) => r.budget === 1e17)).batch, null);
});
