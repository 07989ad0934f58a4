// Optimizer behaviour the hand-computed AdamW step does not reach (found by mutation testing,
// docs/mutation.md): the default no-decay rule, parameters without a gradient, state validation
// and resume, SGD momentum, and when global-norm clipping applies (PyTorch's clip_grad_norm_ rule).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, tidy } from '../src/tensor/index.js';
import { AdamW, SGD, clipGradNorm } from '../src/nn/optim.js';
import type { OptimizerState } from '../src/nn/optim.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('AdamW by default decays matrices but not vectors (norm weights, biases)', () => {
  const w = Tensor.from([1, 2, 3, 4], [2, 2]).requiresGrad_();
  const b = Tensor.from([1, 2]).requiresGrad_();
  w.grad = Tensor.zeros([2, 2]);
  b.grad = Tensor.zeros([2]);
  new AdamW([['w', w], ['b', b]], { lr: 0.1, weightDecay: 0.1 }).step();
  // zero gradient: the Adam update is 0, so only decoupled decay p·(1 − lr·wd) moves a parameter
  [1, 2, 3, 4].forEach((v, i) => close(w.f32()[i], v * 0.99, 1e-6, `w[${i}]`));
  assert.deepEqual([...b.f32()], [1, 2]);
});

test('AdamW treats a parameter without a gradient as a zero gradient: moments decay, weight decay applies', () => {
  const p = Tensor.from([1, -1], [1, 2]).requiresGrad_();
  const opt = new AdamW([['p', p]], { lr: 0.1, beta1: 0.9, beta2: 0.95, eps: 0, weightDecay: 0.1 });
  p.grad = Tensor.from([0.5, -0.25], [1, 2]);
  opt.step(); // step 1: update lr·sign(g)
  const after1 = [1 * 0.99 - 0.1, -1 * 0.99 + 0.1];
  after1.forEach((v, i) => close(p.f32()[i], v, 1e-6, `step 1 [${i}]`));
  p.grad = null;
  tidy(() => opt.step()); // step 2 with no gradient, inside a scope (as the trainer's step is)
  // m = 0.9·0.1·g, v = 0.95·0.05·g²; m̂ = m/(1−0.9²), v̂ = v/(1−0.95²)
  const ratio = (0.9 * 0.1 / (1 - 0.81)) / Math.sqrt(0.95 * 0.05 / (1 - 0.95 ** 2));
  const after2 = after1.map((v, i) => v * 0.99 - 0.1 * ratio * Math.sign([0.5, -0.25][i]));
  after2.forEach((v, i) => close(p.f32()[i], v, 1e-5, `step 2 [${i}]`));
  // the zero gradient it created outlives the scope (it is the parameter's, not the step's)
  assert.doesNotThrow(() => p.zeroGrad());
  assert.deepEqual([...p.grad!.f32()], [0, 0]);
});

test('AdamW state round-trips through stateDict: a resumed optimizer continues identically', () => {
  const mk = () => Tensor.from([0.5, -1.5, 2, 0.25], [2, 2]).requiresGrad_();
  const grads = [[0.1, -0.2, 0.3, 0.05], [-0.4, 0.1, 0.2, 0.3], [0.2, 0.2, -0.1, 0.5]];
  const a = mk();
  const optA = new AdamW([['w', a]], { lr: 0.05 });
  for (const g of grads.slice(0, 2)) { a.grad = Tensor.from(g, [2, 2]); optA.step(); }
  const b = Tensor.from([...a.f32()], [2, 2]).requiresGrad_();
  const optB = new AdamW([['w', b]], { lr: 0.05 });
  const s = optA.stateDict();
  optB.loadStateDict({ step: s.step, m: { w: Float32Array.from(s.m.w) }, v: { w: Float32Array.from(s.v.w) } });
  assert.equal(optB.stepCount, 2);
  a.grad = Tensor.from(grads[2], [2, 2]); optA.step();
  b.grad = Tensor.from(grads[2], [2, 2]); optB.step();
  assert.deepEqual([...b.f32()], [...a.f32()]);
});

test('AdamW.loadStateDict rejects missing or wrongly sized moments, naming the parameter', () => {
  const p = Tensor.from([1, 2, 3], [3]).requiresGrad_();
  const opt = new AdamW([['layer.w', p]]);
  const ok = () => new Float32Array(3), short = () => new Float32Array(2);
  const bad: OptimizerState[] = [
    { step: 1, m: {}, v: { 'layer.w': ok() } },
    { step: 1, m: { 'layer.w': ok() }, v: {} },
    { step: 1, m: { 'layer.w': short() }, v: { 'layer.w': ok() } },
    { step: 1, m: { 'layer.w': ok() }, v: { 'layer.w': short() } },
  ];
  for (const s of bad) assert.throws(() => opt.loadStateDict(s), /state for layer\.w is missing or has the wrong size \(expected 3\)/);
  assert.equal(opt.stepCount, 0, 'a rejected state leaves the step count alone');
});

test('SGD with momentum accumulates a velocity buffer; parameters without a gradient are skipped', () => {
  const p = Tensor.from([1]).requiresGrad_();
  const idle = Tensor.from([7]).requiresGrad_();
  const opt = new SGD([['p', p], ['idle', idle]], 0.1, 0.9);
  p.grad = Tensor.from([1]);
  opt.step(); // b = 1
  close(p.f32()[0], 0.9, 1e-7, 'step 1');
  opt.step(); // b = 0.9·1 + 1 = 1.9
  close(p.f32()[0], 0.9 - 0.19, 1e-6, 'step 2');
  p.grad = Tensor.from([-2]);
  opt.step(); // b = 0.9·1.9 − 2 = −0.29
  close(p.f32()[0], 0.71 + 0.029, 1e-6, 'step 3');
  assert.deepEqual([...idle.f32()], [7]);
});

test('clipGradNorm leaves gradients at or under the limit bit-for-bit and returns the norm', () => {
  const a = Tensor.from([3]).requiresGrad_(), b = Tensor.from([4]).requiresGrad_();
  a.grad = Tensor.from([3]); b.grad = Tensor.from([4]);
  assert.equal(clipGradNorm([a, b], 5), 5);
  assert.equal(clipGradNorm([a, b], 6), 5);
  assert.deepEqual([a.grad.f32()[0], b.grad.f32()[0]], [3, 4]);
});

test('clipGradNorm with maxNorm ≤ 0 or a non-finite norm does not clip', () => {
  const a = Tensor.from([3, 4]).requiresGrad_();
  a.grad = Tensor.from([3, 4]);
  assert.equal(clipGradNorm([a], 0), 5);
  assert.deepEqual([...a.grad.f32()], [3, 4]);
  const c = Tensor.from([1, 1]).requiresGrad_();
  c.grad = Tensor.from([Infinity, 2]);
  assert.equal(clipGradNorm([c], 1), Infinity);
  assert.deepEqual([...c.grad.f32()], [Infinity, 2]);
});

test('clipGradNorm scales by max/(norm + 1e-6) like torch.nn.utils.clip_grad_norm_, skipping gradient-less parameters', () => {
  const a = Tensor.from([0, 0]).requiresGrad_(), none = Tensor.from([1]).requiresGrad_();
  a.grad = Tensor.from([3e-6, 4e-6]); // norm 5e-6
  close(clipGradNorm([none, a], 1e-6), 5e-6, 1e-12, 'returned norm');
  const c = 1e-6 / (5e-6 + 1e-6);
  close(a.grad.f32()[0], 3e-6 * c, 1e-12, 'g0');
  close(a.grad.f32()[1], 4e-6 * c, 1e-12, 'g1');
  assert.equal(none.grad, null);
});

test('SGD.zeroGrad clears every gradient', () => {
  const a = Tensor.from([1, 2]).requiresGrad_();
  a.grad = Tensor.from([3, 4]);
  const opt = new SGD([['a', a]], 0.1);
  opt.zeroGrad();
  assert.deepEqual([...a.grad.f32()], [0, 0]);
});
