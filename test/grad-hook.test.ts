// Tensor.registerPostAccumulateGradHook: the autograd engine calls it once per backward pass for each
// leaf, after that leaf's gradient of the pass is complete (data parallelism posts all-reduces from it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../src/tensor/index.js';

test('a post-accumulate-grad hook runs once per backward per leaf, with the final gradient, in backward order', () => {
  const a = Tensor.from([1, 2, 3]).requiresGrad_();
  const b = Tensor.from([4, 5, 6]).requiresGrad_();
  const unused = Tensor.from([7]).requiresGrad_();
  const seen: { name: string; grad: number[] }[] = [];
  a.name = 'a';
  b.name = 'b';
  for (const t of [a, b, unused]) t.registerPostAccumulateGradHook((p) => seen.push({ name: p.name, grad: p.grad!.toArray() }));
  // a is used twice (two paths whose gradients meet), b once, and late in the forward: backward finishes b first.
  const y = a.mul(a).sum().add(a.mul(b).sum());
  y.backward();
  assert.deepEqual(seen.map((s) => s.name), ['b', 'a']);
  assert.deepEqual(seen.find((s) => s.name === 'a')!.grad, [2 * 1 + 4, 2 * 2 + 5, 2 * 3 + 6]); // complete, not a partial sum
  assert.deepEqual(seen.find((s) => s.name === 'b')!.grad, [1, 2, 3]);
  // a second pass accumulates and fires again; the hook sees the accumulated gradient
  seen.length = 0;
  a.mul(b).sum().backward();
  assert.deepEqual(seen.map((s) => s.name).sort(), ['a', 'b']);
  assert.deepEqual(seen.find((s) => s.name === 'b')!.grad, [2, 4, 6]);
});

test('a removed hook no longer runs', () => {
  const a = Tensor.from([1, 2]).requiresGrad_();
  let n = 0;
  const remove = a.registerPostAccumulateGradHook(() => n++);
  a.sum().backward();
  remove();
  a.sum().backward();
  assert.equal(n, 1);
  assert.deepEqual(a.grad!.toArray(), [2, 2]);
});
