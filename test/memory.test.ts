// A training loop's memory stays flat: 1,000 steps of forward + backward + AdamW inside
// tidy() leave the number of live buffers unchanged, and a step under the pool's limit reuses
// every buffer instead of allocating afresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Rng, tidy, liveBuffers, freshAllocations, pooledBufferBytes, poolLimitBytes, setPoolLimitBytes } from '../src/tensor/index.js';
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

/** One training step of Tiny inside tidy() (forward, backward, clipping, AdamW); returns the loss. */
function trainer(seed: number): () => number {
  const model = new Tiny(new Rng(seed));
  const opt = new AdamW(model.namedParameters(), { lr: 1e-2 });
  const ids = Tensor.ints([1, 2, 3, 4, 5, 6]);
  const targets = Tensor.ints([2, 3, 4, 5, 6, 7]);
  return () => tidy(() => {
    opt.zeroGrad();
    const loss = O.crossEntropy(model.forward(ids), targets);
    loss.backward();
    clipGradNorm(model.parameters(), 1.0);
    opt.step();
    return loss.item();
  });
}

test('the buffer pool: a step under its limit reuses every buffer (no fresh allocation); over it, steps allocate afresh', () => {
  const step = trainer(4);
  try {
    setPoolLimitBytes(poolLimitBytes());
    for (let i = 0; i < 3; i++) step();
    const before = freshAllocations();
    for (let i = 0; i < 20; i++) step();
    assert.equal(freshAllocations(), before, 'steady state allocates nothing new');
    assert.ok(pooledBufferBytes() > 0 && pooledBufferBytes() <= poolLimitBytes());
    // a limit of zero keeps nothing: every step's intermediates are new arrays
    setPoolLimitBytes(0);
    assert.equal(pooledBufferBytes(), 0, 'lowering the limit frees what exceeds it');
    const b0 = freshAllocations();
    step();
    const perStep = freshAllocations() - b0;
    assert.ok(perStep > 10, `a step made ${perStep} fresh allocations`);
    step();
    assert.equal(freshAllocations() - b0, 2 * perStep);
  } finally {
    setPoolLimitBytes(poolLimitBytes());
  }
});

test('the pool limit: TINYSEEK_POOL_MB, else a quarter of memory and at least 1 GiB; a bad value is a clear error', () => {
  const GiB = 2 ** 30;
  assert.equal(poolLimitBytes({}, 24 * GiB), 6 * GiB);
  assert.equal(poolLimitBytes({}, 2 * GiB), GiB);
  assert.equal(poolLimitBytes({ TINYSEEK_POOL_MB: '3000' }, 24 * GiB), 3000 * 2 ** 20);
  assert.equal(poolLimitBytes({ TINYSEEK_POOL_MB: '0' }, 24 * GiB), 0);
  assert.equal(poolLimitBytes({ TINYSEEK_POOL_MB: '' }, 8 * GiB), 2 * GiB);
  assert.throws(() => poolLimitBytes({ TINYSEEK_POOL_MB: '2G' }), /TINYSEEK_POOL_MB must be a number of megabytes \(0 or more\); found "2G"/);
  assert.throws(() => poolLimitBytes({ TINYSEEK_POOL_MB: '-5' }), /found "-5"/);
  assert.throws(() => setPoolLimitBytes(-1), /the pool limit must be 0 or more bytes; found -1/);
});

test('1,000 training steps keep live buffers flat', () => {
  const step = trainer(3);
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
