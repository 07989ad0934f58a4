// The distillation losses (src/distill/kd-loss.ts) against hand computations written here in float64
// straight from the definitions (forward KL with temperature and top-k renormalization, reverse KL,
// generalized JSD and its limits), and their gradients against central finite differences of those
// hand computations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../src/tensor/index.js';
import { kdLoss, topkLogits, KdLossError } from '../src/distill/kd-loss.js';
import type { Divergence, TeacherLogits } from '../src/distill/kd-loss.js';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** softmax(x/τ) in float64. */
function softmax(x: number[], tau: number): number[] {
  const m = Math.max(...x.map((v) => v / tau));
  const e = x.map((v) => Math.exp(v / tau - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
const KL = (a: number[], b: number[]) => a.reduce((s, ai, i) => s + (ai > 0 ? ai * Math.log(ai / b[i]!) : 0), 0);

/** The hand loss: τ² Σ_n w_n D(p_n, q_n) / Σ w, D from the definitions. */
function handLoss(z: number[][], zt: number[][], d: Divergence, tau: number, w: number[], topK = 0): number {
  let tot = 0, W = 0;
  z.forEach((zs, n) => {
    const q = softmax(zs, tau);
    let p = softmax(zt[n]!, tau);
    if (topK > 0) {
      const keep = [...zt[n]!.keys()].sort((a, b) => zt[n]![b]! - zt[n]![a]!).slice(0, topK);
      const s = keep.reduce((acc, i) => acc + Math.exp(zt[n]![i]! / tau), 0);
      p = p.map((_, i) => (keep.includes(i) ? Math.exp(zt[n]![i]! / tau) / s : 0));
    }
    let D: number;
    if (d.kind === 'forward_kl') D = KL(p, q);
    else if (d.kind === 'reverse_kl') D = KL(q, p);
    else {
      const m = p.map((pi, i) => d.beta * pi + (1 - d.beta) * q[i]!);
      D = d.beta * KL(p, m) + (1 - d.beta) * KL(q, m);
    }
    tot += w[n]! * D;
    W += w[n]!;
  });
  return (tau * tau * tot) / W;
}

const Z = [[0.3, -1.2, 2.0, 0.5, -0.4], [1.1, 0.2, -0.7, 0.0, 0.9], [-0.5, 0.8, 0.1, 1.7, -2.0]];
const ZT = [[1.0, -0.3, 0.4, 2.2, -1.0], [0.0, 1.5, -0.2, 0.3, 0.6], [0.9, -1.1, 0.5, 0.2, 1.3]];
const W = [1, 0.5, 2];
const N = Z.length, V = Z[0]!.length;

/** kdLoss on Z (value and ∂/∂z) for a teacher and options. */
function opLoss(teacher: TeacherLogits, d: Divergence, tau: number, w = W, z = Z): { value: number; grad: Float32Array } {
  const x = Tensor.from(Float32Array.from(z.flat()), [1, N, V]).requiresGrad_();
  const L = kdLoss(x, teacher, { divergence: d, temperature: tau, weights: Float32Array.from(w) });
  L.backward();
  return { value: L.item(), grad: Float32Array.from(x.grad!.f32()) };
}
const full = (): TeacherLogits => ({ kind: 'full', logits: Float32Array.from(ZT.flat()) });

/** The op's gradient against central differences of the hand loss (float64, h = 1e-5). */
function checkGrad(grad: Float32Array, f: (z: number[][]) => number, what: string): void {
  const h = 1e-5;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < V; i++) {
      const zp = Z.map((r) => [...r]), zm = Z.map((r) => [...r]);
      zp[n]![i]! += h;
      zm[n]![i]! -= h;
      close(grad[n * V + i]!, (f(zp) - f(zm)) / (2 * h), 2e-5, `${what} ∂L/∂z[${n},${i}]`);
    }
  }
}

/** f32 inputs: the hand computation reads the same rounded values the op sees. */
const f32 = (m: number[][]) => m.map((r) => Array.from(Float32Array.from(r)));
const Zr = f32(Z), ZTr = f32(ZT);

for (const tau of [1, 2.5]) {
  test(`forward KL at τ = ${tau}: value and gradient equal the hand computation (with the τ² factor)`, () => {
    const d: Divergence = { kind: 'forward_kl' };
    const r = opLoss(full(), d, tau);
    close(r.value, handLoss(Zr, ZTr, d, tau, W), 1e-6, 'loss');
    checkGrad(r.grad, (z) => handLoss(z, ZTr, d, tau, W), 'forward KL');
    // ∂L/∂z = τ·w/Σw·(q − p) in closed form, at one position
    const q = softmax(Zr[1]!, tau), p = softmax(ZTr[1]!, tau);
    for (let i = 0; i < V; i++) close(r.grad[V + i]!, (tau * 0.5 / 3.5) * (q[i]! - p[i]!), 1e-6, 'closed form');
  });
}

test('forward KL with a top-k teacher: renormalized over the k kept ids; top-k from full logits and from a store agree', () => {
  const d: Divergence = { kind: 'forward_kl' };
  const tau = 1.5, k = 2;
  const top = topkLogits(Float32Array.from(ZT.flat()), N, V, k);
  // the top-2 ids of each row, largest first
  assert.deepEqual([...top.ids], [3, 0, 1, 4, 4, 0]);
  const r = opLoss({ kind: 'topk', k, ...top }, d, tau);
  close(r.value, handLoss(Zr, ZTr, d, tau, W, k), 1e-6, 'loss');
  checkGrad(r.grad, (z) => handLoss(z, ZTr, d, tau, W, k), 'top-k forward KL');
  // truncation changes the loss (the test can tell full from truncated)
  assert.ok(Math.abs(r.value - handLoss(Zr, ZTr, d, tau, W)) > 1e-3);
  // k = V is the full distribution
  const all = topkLogits(Float32Array.from(ZT.flat()), N, V, V);
  close(opLoss({ kind: 'topk', k: V, ...all }, d, tau).value, handLoss(Zr, ZTr, d, tau, W), 1e-6, 'k = V');
});

test('reverse KL: value and gradient equal the hand computation', () => {
  const d: Divergence = { kind: 'reverse_kl' };
  for (const tau of [1, 0.7]) {
    const r = opLoss(full(), d, tau);
    close(r.value, handLoss(Zr, ZTr, d, tau, W), 1e-6, 'loss');
    checkGrad(r.grad, (z) => handLoss(z, ZTr, d, tau, W), `reverse KL τ=${tau}`);
    // reverse ≠ forward on these distributions
    assert.ok(Math.abs(r.value - handLoss(Zr, ZTr, { kind: 'forward_kl' }, tau, W)) > 1e-3);
  }
});

test('generalized JSD at β = 0.5: value, gradient, symmetry; β = 0 and 1 are forward and reverse KL', () => {
  const d: Divergence = { kind: 'jsd', beta: 0.5 };
  const r = opLoss(full(), d, 1);
  close(r.value, handLoss(Zr, ZTr, d, 1, W), 1e-6, 'loss');
  checkGrad(r.grad, (z) => handLoss(z, ZTr, d, 1, W), 'JSD(0.5)');
  // JSD(0.5) is the symmetric Jensen–Shannon divergence, ≤ log 2 per position
  const swapped = opLoss({ kind: 'full', logits: Float32Array.from(Z.flat()) }, d, 1, W, ZT);
  close(swapped.value, r.value, 1e-6, 'symmetric');
  assert.ok(r.value < Math.log(2));
  for (const beta of [0.2, 0.9]) {
    const dj: Divergence = { kind: 'jsd', beta };
    const rj = opLoss(full(), dj, 2);
    close(rj.value, handLoss(Zr, ZTr, dj, 2, W), 1e-6, `JSD(${beta})`);
    checkGrad(rj.grad, (z) => handLoss(z, ZTr, dj, 2, W), `JSD(${beta})`);
  }
  close(opLoss(full(), { kind: 'jsd', beta: 0 }, 1).value, handLoss(Zr, ZTr, { kind: 'forward_kl' }, 1, W), 1e-6, 'β = 0');
  close(opLoss(full(), { kind: 'jsd', beta: 1 }, 1).value, handLoss(Zr, ZTr, { kind: 'reverse_kl' }, 1, W), 1e-6, 'β = 1');
});

test('generalized JSD limits: JSD(β)/β → forward KL as β → 0 and JSD(β)/(1−β) → reverse KL as β → 1', () => {
  const fwd = handLoss(Zr, ZTr, { kind: 'forward_kl' }, 1, W), rev = handLoss(Zr, ZTr, { kind: 'reverse_kl' }, 1, W);
  let prevF = Infinity, prevR = Infinity;
  for (const eps of [1e-1, 1e-2, 1e-3]) {
    const f = opLoss(full(), { kind: 'jsd', beta: eps }, 1).value / eps;
    const r = opLoss(full(), { kind: 'jsd', beta: 1 - eps }, 1).value / eps;
    const eF = Math.abs(f - fwd), eR = Math.abs(r - rev);
    assert.ok(eF < prevF && eR < prevR, `the error shrinks with β's distance to the end (${eF}, ${eR} at ε=${eps})`);
    prevF = eF;
    prevR = eR;
  }
  assert.ok(prevF < 0.01 * fwd && prevR < 0.01 * rev, `within 1% at ε = 1e-3: ${prevF}, ${prevR}`);
});

test('weights: a zero-weight position contributes nothing to the loss or the gradient', () => {
  const d: Divergence = { kind: 'jsd', beta: 0.3 };
  const r = opLoss(full(), d, 1, [1, 0, 2]);
  close(r.value, handLoss([Zr[0]!, Zr[2]!], [ZTr[0]!, ZTr[2]!], d, 1, [1, 2]), 1e-6, 'masked loss');
  for (let i = 0; i < V; i++) assert.equal(r.grad[V + i], 0);
});

test('bad arguments are refused with what was expected: top-k with reverse KL / JSD, β outside [0, 1], shapes', () => {
  const top = { kind: 'topk' as const, k: 2, ...topkLogits(Float32Array.from(ZT.flat()), N, V, 2) };
  const x = Tensor.from(Float32Array.from(Z.flat()), [N, V]);
  assert.throws(() => kdLoss(x, top, { divergence: { kind: 'reverse_kl' } }), (e: Error) => e instanceof KdLossError && /top-k.*log p.*full distribution/.test(e.message));
  assert.throws(() => kdLoss(x, top, { divergence: { kind: 'jsd', beta: 0.5 } }), KdLossError);
  assert.throws(() => kdLoss(x, full(), { divergence: { kind: 'jsd', beta: 1.5 } }), /β must be in \[0, 1\], found 1.5/);
  assert.throws(() => kdLoss(x, { kind: 'full', logits: new Float32Array(7) }, { divergence: { kind: 'forward_kl' } }), /expected N·V = 3·5 = 15/);
  assert.throws(() => kdLoss(x, full(), { divergence: { kind: 'forward_kl' }, temperature: 0 }), /temperature must be positive/);
});
