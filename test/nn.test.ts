// nn: module naming, AdamW against a hand-computed update, clipping, schedules, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Rng } from '../src/tensor/index.js';
import { Module } from '../src/nn/module.js';
import { Linear, RMSNorm } from '../src/nn/layers.js';
import { AdamW, SGD, clipGradNorm } from '../src/nn/optim.js';
import { warmupCosine, deepseekV3Schedule } from '../src/nn/schedule.js';
import * as O from '../src/ops/index.js';

test('module parameter names join with dots (HF tensor names)', () => {
  class Attn extends Module { q = this.module('q_proj', new Linear(4, 4, new Rng(1))); }
  class Layer extends Module { a = this.module('self_attn', new Attn()); n = this.module('input_layernorm', new RMSNorm(4)); }
  class M extends Module { l = this.module('model.layers.0', new Layer()); }
  const names = new M().namedParameters().map(([n]) => n);
  assert.deepEqual(names, ['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.input_layernorm.weight']);
});

test('AdamW matches a hand-computed step (decoupled decay, bias correction)', () => {
  const p = Tensor.from([1, -2]).requiresGrad_();
  p.grad = Tensor.from([0.5, 0.25]);
  const opt = new AdamW([['w', p]], { lr: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, noDecay: () => false });
  opt.step();
  // step 1: m̂ = g, v̂ = g², update = lr·g/(|g|+eps) = 0.1·sign(g); decay first: p·(1 − 0.01)
  const exp = [1 * 0.99 - 0.1, -2 * 0.99 - 0.1];
  p.f32().forEach((v, i) => assert.ok(Math.abs(v - exp[i]) < 1e-6, `${v} vs ${exp[i]}`));
  opt.step();
  // step 2 with the same gradient: m = 0.19·g·... m̂ = g, v̂ = g² again → same size of step
  const exp2 = [exp[0] * 0.99 - 0.1, exp[1] * 0.99 - 0.1];
  p.f32().forEach((v, i) => assert.ok(Math.abs(v - exp2[i]) < 1e-5, `${v} vs ${exp2[i]}`));
});

test('SGD step and global-norm clipping', () => {
  const a = Tensor.from([3, 0]).requiresGrad_();
  const b = Tensor.from([4]).requiresGrad_();
  a.grad = Tensor.from([3, 0]);
  b.grad = Tensor.from([4]);
  const n = clipGradNorm([a, b], 1);
  assert.ok(Math.abs(n - 5) < 1e-6);
  assert.ok(Math.abs(a.grad.f32()[0] - 0.6) < 1e-5 && Math.abs(b.grad.f32()[0] - 0.8) < 1e-5);
  new SGD([['a', a]], 1).step();
  assert.ok(Math.abs(a.f32()[0] - 2.4) < 1e-5);
});

test('schedules: warmup + cosine, and DeepSeek-V3 shape', () => {
  assert.equal(warmupCosine(0, { peak: 1, warmup: 10, total: 110 }), 0.1);
  assert.equal(warmupCosine(10, { peak: 1, warmup: 10, total: 110 }), 1);
  assert.ok(Math.abs(warmupCosine(60, { peak: 1, warmup: 10, total: 110 }) - 0.5) < 1e-9);
  const o = { peak: 2.2e-4, warmup: 2, constantUntil: 10, decayEnd: 20, decayTo: 2.2e-5, final: 7.3e-6 };
  assert.equal(deepseekV3Schedule(5, o), 2.2e-4);
  assert.ok(Math.abs(deepseekV3Schedule(15, o) - (2.2e-5 + 0.5 * (2.2e-4 - 2.2e-5))) < 1e-12);
  assert.equal(deepseekV3Schedule(25, o), 7.3e-6);
});

test('shape errors name the op and both shapes', () => {
  assert.throws(() => O.matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5])), /matmul: inner dimensions differ: \[2, 3\] · \[4, 5\]/);
  assert.throws(() => O.add(Tensor.zeros([2, 3]), Tensor.zeros([4])), /add: shapes \[2, 3\] and \[4\] do not broadcast/);
  assert.throws(() => O.linear(Tensor.zeros([2, 3]), Tensor.zeros([4, 5])), /linear: input \[2, 3\].*weight \[4, 5\]/);
  assert.throws(() => Tensor.zeros([6]).reshape(4, 2), /reshape: cannot reshape \[6\]/);
  assert.throws(() => O.crossEntropy(Tensor.zeros([2, 3]), Tensor.ints([0, 3])), /target 3 at position 1 is outside \[0, 3\)/);
});

test('detach cuts the graph; noGrad records nothing', () => {
  const w = Tensor.from([2]).requiresGrad_();
  const y = w.mul(3).detach().mul(w);
  y.sum().backward();
  assert.equal(w.grad!.f32()[0], 6);
});
