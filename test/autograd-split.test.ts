// Zero Bubble's split backward on the autograd tape: `backwardInputs` computes only the gradient of a
// stage's input (B) and defers the weight gradients; `DeferredWeightGrad.run()` (W) then gives the
// parameters the same gradients the full backward does. Checked on a linear chain by hand and on two
// real DeepSeek-V3 decoder layers (MLA + DeepSeekMoE with its balance loss) against `backwardFrom`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Rng, backwardFrom, backwardInputs, capture } from '../src/tensor/index.js';
import { DeepseekV3 } from '../src/model/model.js';
import { resolveConfig } from '../src/model/presets.js';
import { linear } from '../src/ops/index.js';

function close(a: Float32Array, b: Float32Array, what: string, tol = 1e-5): void {
  assert.equal(a.length, b.length, what);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  assert.ok(m > 0, `${what}: a non-zero reference gradient`);
  assert.ok(d <= tol * m, `${what}: differs by ${d} (max |g| ${m})`);
}

test('B computes dX only, W then computes dW: a two-layer linear chain', () => {
  const rng = new Rng(1);
  const x = Tensor.randn([3, 4], rng).requiresGrad_();
  const w1 = Tensor.randn([5, 4], rng).requiresGrad_();
  const w2 = Tensor.randn([2, 5], rng).requiresGrad_();
  const g = Tensor.randn([3, 2], rng);
  const y = linear(linear(x, w1).tanh(), w2);
  const w = backwardInputs([[y, g]], [x]);
  assert.ok(x.grad, 'the input gradient is there after B');
  assert.equal(w1.grad, null, 'no weight gradient after B');
  assert.equal(w2.grad, null, 'no weight gradient after B');
  assert.equal(w.pending, 2, 'both linears deferred their dW');
  const dx = x.grad!.toFloat32Array();
  w.run();
  assert.equal(w.pending, 0);
  assert.throws(() => w.run(), /already computed/);
  const split = [w1.grad!.toFloat32Array(), w2.grad!.toFloat32Array()];
  for (const t of [x, w1, w2]) t.grad = null;
  backwardFrom([[linear(linear(x, w1).tanh(), w2), g]]);
  close(dx, x.grad!.toFloat32Array(), 'dx');
  close(split[0], w1.grad!.toFloat32Array(), 'dW1');
  close(split[1], w2.grad!.toFloat32Array(), 'dW2');
});

test('a stage with no input to differentiate (the first one) leaves everything to W', () => {
  const rng = new Rng(2);
  const w = Tensor.randn([3, 3], rng).requiresGrad_();
  const x = Tensor.randn([2, 3], rng); // token embeddings come from a parameter, not a received activation
  const loss = linear(x, w).square().sum();
  const d = backwardInputs([[loss, undefined]], []);
  assert.equal(w.grad, null);
  d.run();
  const split = w.grad!.toFloat32Array();
  w.grad = null;
  linear(x, w).square().sum().backward();
  close(split, w.grad!.toFloat32Array(), 'dW');
});

test('two DeepSeek-V3 decoder layers (MLA, DeepSeekMoE, balance loss): B + W equals the full backward', () => {
  const cfg = resolveConfig('nano');
  cfg.numHiddenLayers = 3;
  const model = new DeepseekV3(cfg, 5);
  model.train();
  const rng = new Rng(9);
  const [B, T, D] = [2, 12, cfg.hiddenSize];
  const ids = Tensor.ints(Int32Array.from({ length: B * (T + 1) }, (_, i) => (i * 37) % cfg.vocabSize), [B, T + 1]);
  const gOut = Tensor.randn([B, T, D], rng, 0.1);
  const h0 = Tensor.randn([B, T, D], rng);
  const params = model.namedParameters().filter(([n]) => n.startsWith('model.layers.1.') || n.startsWith('model.layers.2.'));
  const run = (split: boolean) => {
    for (const [, p] of model.parameters().entries()) p.grad = null;
    const h = Tensor.from(h0.toFloat32Array(), [B, T, D]).requiresGrad_();
    const { result } = capture(() => {
      const { ctx } = model.trainingContext(ids);
      const out = model.runLayers(h, ctx, 1, 3);
      const aux = model.balanceLoss(model.moeLayers(), B)!;
      return { out, aux: aux.loss };
    });
    const seeds: [Tensor, Tensor | undefined][] = [[result.out, gOut], [result.aux, undefined]];
    if (split) {
      const w = backwardInputs(seeds, [h]);
      assert.ok(params.every(([, p]) => p.grad === null), 'B leaves every weight gradient for W');
      assert.ok(w.pending > 10, `many ops deferred (${w.pending})`);
      w.run();
    } else backwardFrom(seeds);
    return { dh: h.grad!.toFloat32Array(), dw: params.map(([n, p]) => [n, p.grad ? p.grad.toFloat32Array() : null] as const) };
  };
  const full = run(false);
  const split = run(true);
  close(split.dh, full.dh, 'input gradient');
  let checked = 0;
  for (let i = 0; i < params.length; i++) {
    const [n, a] = split.dw[i];
    const b = full.dw[i][1];
    assert.equal(a === null, b === null, `${n}: gradient presence`);
    if (a && b && b.some((v) => v !== 0)) { close(a, b, n); checked++; }
  }
  assert.ok(checked > 20, `compared ${checked} parameter gradients`);
});
