// GRPO loss cases beyond the hand computation in grpo.test.ts (found by mutation testing,
// docs/mutation.md): empty completions and batches, a reference model with β = 0, statistics
// that count only weighted tokens, and ratios exactly at the clip bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../src/tensor/index.js';
import { aggregationWeights, grpoLoss } from '../src/rl/loss.js';

const close = (a: number, b: number, what: string, tol = 1e-6) => assert.ok(Math.abs(a - b) < tol, `${what}: ${a} vs ${b}`);

test('aggregation weights: an empty completion weighs nothing (no division by zero) in every mode', () => {
  const mask = Float32Array.from([0, 0, 0, 1, 1, 0]); // sequence 0 empty, sequence 1 has 2 tokens
  assert.deepEqual([...aggregationWeights(mask, 2, 3, 'grpo', 4)], [0, 0, 0, 0.25, 0.25, 0]);
  assert.deepEqual([...aggregationWeights(mask, 2, 3, 'dapo', 4)], [0, 0, 0, 0.5, 0.5, 0]);
  assert.deepEqual([...aggregationWeights(mask, 2, 3, 'dr_grpo', 4)], [0, 0, 0, 0.125, 0.125, 0]);
  const none = new Float32Array(6);
  for (const t of ['grpo', 'dapo', 'dr_grpo'] as const) assert.deepEqual([...aggregationWeights(none, 2, 3, t, 4)], [0, 0, 0, 0, 0, 0], t);
});

test('a batch with no weighted tokens has zero loss and zero statistics', () => {
  const logp = Tensor.from([-1, -2], [1, 2]);
  const { loss, stats } = grpoLoss(logp, Float32Array.from([-3, 0]), Float32Array.from([0, 0]), Float32Array.from([1, -1]), new Float32Array(2), { epsLow: 0.2, epsHigh: 0.2, beta: 0.5 });
  close(loss.item(), 0, 'loss');
  assert.deepEqual(stats, { clipLow: 0, clipHigh: 0, kl: 0, tokens: 0 });
});

test('with β = 0 a reference changes nothing in the loss but its KL is still measured, over weighted tokens only', () => {
  const lp = [-1, -0.5, -2];
  const old = Float32Array.from([-1.1, -0.5, -1]), ref = Float32Array.from([-1.5, -0.25, -9]), adv = Float32Array.from([0.5, -1, 2]);
  const w = Float32Array.from([0.5, 0.5, 0]); // the third token is outside the completion
  const o = { epsLow: 0.2, epsHigh: 0.28, beta: 0 };
  const withRef = grpoLoss(Tensor.from(lp, [1, 3]), old, ref, adv, w, o);
  const without = grpoLoss(Tensor.from(lp, [1, 3]), old, null, adv, w, o);
  close(withRef.loss.item(), without.loss.item(), 'loss');
  const k3 = (d: number) => Math.exp(d) - d - 1;
  close(withRef.stats.kl, (k3(-1.5 + 1) + k3(-0.25 + 0.5)) / 2, 'mean k3 over the two weighted tokens');
  assert.equal(withRef.stats.tokens, 2);
  assert.equal(without.stats.kl, 0);
  // the β term enters with its weight when β > 0
  const beta = grpoLoss(Tensor.from(lp, [1, 3]), old, ref, adv, w, { ...o, beta: 0.1 });
  close(beta.loss.item(), without.loss.item() + 0.1 * 0.5 * (k3(-0.5) + k3(0.25)), 'loss + β·Σ w·k3');
});

test('clip statistics: ratios exactly at 1 ± ε are not clipped; the sign of Â decides which side counts', () => {
  // r = e^(lp − old): tokens at r = 1.25 (= 1 + ε_high), 0.8 (= 1 − ε_low) with both signs of Â
  const old = Float32Array.from([0, 0, 0, 0, 0, 0]);
  const lp = [Math.log(1.25), Math.log(0.8), Math.log(1.5), Math.log(0.5), Math.log(1.5), Math.log(0.5)];
  const adv = Float32Array.from([1, -1, -1, 1, 1, -1]);
  const w = new Float32Array(6).fill(1 / 6);
  const { stats } = grpoLoss(Tensor.from(lp, [1, 6]), old, null, adv, w, { epsLow: 0.2, epsHigh: 0.25, beta: 0 });
  // only token 4 (r 1.5, Â > 0) is clipped high and token 5 (r 0.5, Â < 0) clipped low
  close(stats.clipHigh, 1 / 6, 'clipHigh');
  close(stats.clipLow, 1 / 6, 'clipLow');
  // r = 1 exactly with ε = 0 sits on both bounds: not clipped
  const at = grpoLoss(Tensor.from([-0.7, -0.7], [1, 2]), Float32Array.from([-0.7, -0.7]), null, Float32Array.from([1, -1]), Float32Array.from([0.5, 0.5]), { epsLow: 0, epsHigh: 0, beta: 0 });
  assert.deepEqual([at.stats.clipHigh, at.stats.clipLow], [0, 0]);
});
