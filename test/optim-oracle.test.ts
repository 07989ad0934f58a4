// AdamW against a closed-form trace: a float64 loop of the formulas as PyTorch's torch.optim.AdamW
// defines them (decoupled weight decay, bias-corrected moments), fed gradients that change sign and
// size at every step and a learning rate that changes too; then against @tensorflow/tfjs-core's
// Adam (weight decay 0, where the two conventions coincide). Both backends when the addon is built.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type * as TF from '@tensorflow/tfjs-core';
import { Tensor } from '../src/tensor/index.js';
import { backend, setBackend, referenceBackend, nativeBackendOrNull } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/index.js';
import { AdamW } from '../src/nn/optim.js';
import { loadTfjs } from './helpers/tfjs.js';

let tf: typeof TF;
before(async () => {
  tf = await loadTfjs();
});

const STEPS = 8;
/** Gradient of element i at step t (1-based): changes sign and magnitude from step to step. */
const grad = (t: number, i: number) => Math.sin(1.7 * t + 0.9 * i) * (1 + 0.5 * Math.cos(0.6 * t * (i + 1))) + (t % 3 === 0 ? 0.8 : -0.3);
const lrAt = (t: number) => 0.05 * (1 + 0.3 * Math.sin(t)); // a schedule: the rate changes between steps

interface Hyper { beta1: number; beta2: number; eps: number; weightDecay: number }

/**
 * torch.optim.AdamW, step t = 1, 2, …:
 *   θ ← θ − lr·λ·θ
 *   m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
 *   m̂ = m / (1 − β1ᵗ)              v̂ = v / (1 − β2ᵗ)
 *   θ ← θ − lr·m̂ / (√v̂ + ε)
 */
function adamwTrace(theta0: number[], h: Hyper, decay: boolean): number[][] {
  const th = theta0.slice(), m = th.map(() => 0), v = th.map(() => 0);
  const out: number[][] = [];
  for (let t = 1; t <= STEPS; t++) {
    const lr = lrAt(t);
    for (let i = 0; i < th.length; i++) {
      const g = grad(t, i);
      if (decay) th[i] -= lr * h.weightDecay * th[i];
      m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
      v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
      const mhat = m[i] / (1 - h.beta1 ** t), vhat = v[i] / (1 - h.beta2 ** t);
      th[i] -= (lr * mhat) / (Math.sqrt(vhat) + h.eps);
    }
    out.push(th.slice());
  }
  return out;
}

function backends(): [string, Kernels][] {
  const nat = nativeBackendOrNull();
  return [['reference', referenceBackend()], ...(nat ? [['native', nat] as [string, Kernels]] : [])];
}

const W0 = [0.7, -1.2, 0.05, 2.0, -0.4, 0.9]; // a [2, 3] weight: decayed
const B0 = [0.3, -0.8]; //                       a [2] vector: not decayed (ndim < 2)

for (const h of [
  { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 }, // DeepSeek-V3's
  { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }, // PyTorch's defaults
  { beta1: 0.5, beta2: 0.8, eps: 1e-3, weightDecay: 0.3 }, // far from both: ε matters
] as Hyper[]) {
  test(`AdamW follows the closed-form PyTorch trace for ${STEPS} steps with changing gradients and lr (β1 ${h.beta1}, β2 ${h.beta2}, ε ${h.eps}, λ ${h.weightDecay})`, () => {
    const want = { w: adamwTrace(W0, h, true), b: adamwTrace(B0, h, false) };
    // The test must be able to see a swapped β1/β2: the swapped trace is far from the right one.
    const swapped = adamwTrace(W0, { ...h, beta1: h.beta2, beta2: h.beta1 }, true);
    const sep = Math.max(...swapped.at(-1)!.map((x, i) => Math.abs(x - want.w.at(-1)![i])));
    assert.ok(sep > 1e-3, `swapped betas move the weights by only ${sep}`);
    const prev = backend();
    try {
      for (const [bname, k] of backends()) {
        setBackend(k);
        const w = Tensor.from(W0, [2, 3]).requiresGrad_(), b = Tensor.from(B0, [2]).requiresGrad_();
        const opt = new AdamW([['w', w], ['b', b]], { lr: 1, ...h });
        for (let t = 1; t <= STEPS; t++) {
          w.grad = Tensor.from(W0.map((_, i) => grad(t, i)), [2, 3]);
          b.grad = Tensor.from(B0.map((_, i) => grad(t, i)), [2]);
          opt.lr = lrAt(t);
          opt.step();
          for (const [name, p, exp] of [['w', w, want.w[t - 1]], ['b', b, want.b[t - 1]]] as const) {
            p.f32().forEach((x, i) => assert.ok(Math.abs(x - exp[i]) < 2e-6 * (1 + Math.abs(exp[i])), `${bname}: step ${t} ${name}[${i}] = ${x}, PyTorch formula ${exp[i]}`));
          }
        }
        assert.equal(opt.stepCount, STEPS);
      }
    } finally {
      setBackend(prev);
    }
  });
}

test('AdamW with weight decay 0 matches tfjs-core Adam step by step (changing gradients, β1 0.9, β2 0.95)', () => {
  const h = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 };
  const lr = 0.05;
  const w = Tensor.from(W0, [2, 3]).requiresGrad_();
  const opt = new AdamW([['w', w]], { lr, ...h, noDecay: () => false });
  const tw = tf.variable(tf.tensor2d(W0, [2, 3]), true, 'w');
  const tOpt = tf.train.adam(lr, h.beta1, h.beta2, h.eps);
  for (let t = 1; t <= STEPS; t++) {
    const g = W0.map((_, i) => grad(t, i));
    w.grad = Tensor.from(g, [2, 3]);
    opt.step();
    tOpt.applyGradients([{ name: 'w', tensor: tf.tensor2d(g, [2, 3]) }]);
    const theirs = tw.dataSync();
    w.f32().forEach((x, i) => assert.ok(Math.abs(x - theirs[i]) < 2e-6 * (1 + Math.abs(theirs[i])), `step ${t} w[${i}] = ${x}, tfjs ${theirs[i]}`));
  }
  tOpt.dispose();
  tw.dispose();
});
