// Gradient checking: analytic gradients from backward() against central finite differences,
// both computed in float64 (reference backend in float64 mode).
import { Tensor, Rng, tidy, noGrad } from '../../src/tensor/index.js';
import * as O from '../../src/ops/index.js';

/** Result of comparing analytic and numeric gradients. */
export interface GradCheckResult {
  maxAbsErr: number;
  maxRelErr: number;
  checked: number;
  worst: string;
}

/**
 * Checks d/dx Σ(f(xs) ⊙ R) for a fixed random R against central differences with step h.
 * Up to `maxPerInput` elements of each input are probed.
 */
export function gradCheck(inputs: Tensor[], f: (xs: Tensor[]) => Tensor, noGradIdx: number[] = [], h = 1e-6, maxPerInput = 24): GradCheckResult {
  const rng = new Rng(1234);
  for (const [i, x] of inputs.entries()) if (!noGradIdx.includes(i)) x.requiresGrad_(true);
  const out0 = noGrad(() => f(inputs));
  const R = Tensor.rand(out0.shape, rng, -1, 1);
  const lossOf = (xs: Tensor[]) => O.sum(O.mul(f(xs), R));
  tidy(() => { lossOf(inputs).backward(); });
  let maxAbs = 0, maxRel = 0, checked = 0, worst = '';
  for (const [i, x] of inputs.entries()) {
    if (noGradIdx.includes(i)) continue;
    const g = x.grad ? x.grad.f32() : new Float64Array(x.numel);
    const d = x.f32();
    const n = x.numel;
    const step = Math.max(1, Math.floor(n / maxPerInput));
    for (let j = 0; j < n; j += step) {
      const orig = d[j];
      d[j] = orig + h;
      const lp = noGrad(() => tidy(() => lossOf(inputs).item()));
      d[j] = orig - h;
      const lm = noGrad(() => tidy(() => lossOf(inputs).item()));
      d[j] = orig;
      const num = (lp - lm) / (2 * h);
      const ana = g[j];
      const abs = Math.abs(num - ana);
      const rel = abs / Math.max(1e-3, Math.abs(num));
      checked++;
      if (abs > maxAbs) { maxAbs = abs; worst = `input ${i} elem ${j}: analytic ${ana}, numeric ${num}`; }
      if (rel > maxRel) maxRel = rel;
    }
  }
  return { maxAbsErr: maxAbs, maxRelErr: maxRel, checked, worst };
}
