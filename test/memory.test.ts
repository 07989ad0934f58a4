// A training loop's memory stays flat: 1,000 steps of forward + backward + AdamW inside
// tidy() leave the number of live buffers unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Rng, tidy, liveBuffers } from '../src/tensor/index.js';
import { Linear, RMSNorm, Embedding } from '../src/nn/layers.js';
import { AdamW, clipGradNorm } from '../src/nn/optim.js';
import { Module } from '../src/nn/module.js';
import * as O from '../src/ops/index.js';

class Tiny extends Module {
  emb: Embedding; norm: RMSNorm; up: Linear; down: Linear; head: Linear;
  constructor(rng: Rng) {
    super();
    this.emb = this.module('emb', new Embedding(16, 8, rng));
    this.norm = this.module('norm', new RMSNorm(8));
    this.up = this.module('up', new Linear(8, 16, rng));
    this.down = this.module('down', new Linear(16, 8, rng));
    this.head = this.module('head', new Linear(8, 16, rng));
  }
  forward(ids: Tensor): Tensor {
    const h = this.emb.forward(ids).reshape(1, 6, 1, 8);
    const a = O.attention(h, h, h).reshape(6, 8);
    const x = this.norm.forward(a);
    return this.head.forward(this.down.forward(O.silu(this.up.forward(x))).add(x));
  }
}

test('1,000 training steps keep live buffers flat', () => {
  const rng = new Rng(3);
  const model = new Tiny(rng);
  const opt = new AdamW(model.namedParameters(), { lr: 1e-2 });
  const ids = Tensor.ints([1, 2, 3, 4, 5, 6]);
  const targets = Tensor.ints([2, 3, 4, 5, 6, 7]);
  const step = () =>
    tidy(() => {
      opt.zeroGrad();
      const loss = O.crossEntropy(model.forward(ids), targets);
      loss.backward();
      clipGradNorm(model.parameters(), 1.0);
      opt.step();
      return loss.item();
    });
  const first = step();
  for (let i = 0; i < 10; i++) step();
  const baseline = liveBuffers();
  let last = first;
  for (let i = 0; i < 1000; i++) last = step();
  assert.equal(liveBuffers(), baseline, `live buffers grew from ${baseline} to ${liveBuffers()}`);
  assert.ok(last < first * 0.5, `loss should fall: ${first} → ${last}`);
});

test('using a tensor after its scope ended throws a clear error', () => {
  const t = tidy(() => {
    Tensor.ones([2]).mul(2);
    return Tensor.ones([2]);
  });
  assert.equal(t.sum().item(), 2);
  let inner: Tensor | null = null;
  tidy(() => { inner = Tensor.ones([3]); });
  assert.throws(() => inner!.f32(), /used after it was disposed/);
});
