// An independent oracle: a sample of ops and their gradients against @tensorflow/tfjs-core (cpu backend).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type * as TF from '@tensorflow/tfjs-core';
import { Tensor, Rng, tidy } from '../src/tensor/index.js';
import * as O from '../src/ops/index.js';
import { loadTfjs } from './helpers/tfjs.js';

type tfTensor = TF.Tensor;
let tf: typeof TF;
before(async () => {
  tf = await loadTfjs();
});

type Case = {
  name: string;
  shapes: number[][];
  ours: (xs: Tensor[]) => Tensor;
  theirs: (xs: tfTensor[]) => tfTensor;
};

const cases: Case[] = [
  { name: 'batched matmul with transposes', shapes: [[2, 4, 3], [2, 5, 4]], ours: ([a, b]) => O.matmul(O.transpose(a, 1, 2), O.transpose(b, 1, 2)), theirs: ([a, b]) => tf.matMul(a, b, true, true) },
  { name: 'softmax', shapes: [[3, 7]], ours: ([a]) => O.softmax(a), theirs: ([a]) => tf.softmax(a) },
  { name: 'logSoftmax', shapes: [[3, 7]], ours: ([a]) => O.logSoftmax(a), theirs: ([a]) => tf.logSoftmax(a) },
  { name: 'sigmoid·relu', shapes: [[4, 5]], ours: ([a]) => O.mul(O.sigmoid(a), O.relu(a)), theirs: ([a]) => tf.mul(tf.sigmoid(a), tf.relu(a)) },
  { name: 'rms via square/mean/rsqrt', shapes: [[4, 6]], ours: ([a]) => O.mul(a, O.rsqrt(O.addScalar(O.mean(O.square(a), -1, true), 1e-6))), theirs: ([a]) => tf.mul(a, tf.rsqrt(tf.add(tf.mean(tf.square(a), -1, true), 1e-6))) },
  { name: 'slice + concat', shapes: [[3, 6]], ours: ([a]) => O.concat([O.slice(a, 1, 4, 6), O.slice(a, 1, 0, 3)], 1), theirs: ([a]) => tf.concat([tf.slice(a, [0, 4], [3, 2]), tf.slice(a, [0, 0], [3, 3])], 1) },
  { name: 'where', shapes: [[2, 3], [2, 3]], ours: ([a, b]) => O.where(Tensor.from([1, 0, 0, 1, 1, 0], [2, 3]), a, b), theirs: ([a, b]) => tf.where(tf.tensor2d([1, 0, 0, 1, 1, 0], [2, 3], 'bool'), a, b) },
  { name: 'gather rows (embedding)', shapes: [[6, 3]], ours: ([a]) => O.indexSelect(a, 0, Int32Array.from([5, 1, 1])), theirs: ([a]) => tf.gather(a, tf.tensor1d([5, 1, 1], 'int32')) },
];

for (const c of cases) {
  test(`tfjs oracle: ${c.name}`, () => {
    const rng = new Rng(21);
    const xs = c.shapes.map((s) => Tensor.rand(s, rng, -2, 2).requiresGrad_());
    const R = tidy(() => Tensor.rand(c.ours(xs).shape, new Rng(2), -1, 1));
    let y: number[] = [];
    tidy(() => {
      const out = c.ours(xs);
      y = out.toArray();
      O.sum(O.mul(out, R)).backward();
    });
    const txs = xs.map((x) => tf.tensor(x.toArray(), x.shape));
    const tR = tf.tensor(R.toArray(), R.shape);
    const ty = c.theirs(txs);
    const grads = tf.grads((...a: tfTensor[]) => tf.sum(tf.mul(c.theirs(a), tR)))(txs);
    const tyv = Array.from(ty.dataSync());
    tyv.forEach((v, i) => assert.ok(Math.abs(v - y[i]) < 1e-4, `output[${i}] ours ${y[i]} tfjs ${v}`));
    grads.forEach((g, j) => {
      const gv = Array.from(g.dataSync());
      const ours = xs[j].grad!.toArray();
      gv.forEach((v, i) => assert.ok(Math.abs(v - ours[i]) < 1e-4, `grad ${j}[${i}] ours ${ours[i]} tfjs ${v}`));
    });
  });
}
