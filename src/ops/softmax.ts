// Fused, numerically stable softmax and log-softmax over one dimension.
import { Tensor } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { contiguous, transpose } from './shape.js';

type RowKernel = 'softmax' | 'logSoftmax';

function rowwise(kind: RowKernel, x: Tensor, dim: number): Tensor {
  const d = x.dim(dim);
  if (d !== x.ndim - 1) {
    // Move dim last, apply, move back (the transposes are views; contiguous() copies once).
    return transpose(rowwise(kind, contiguous(transpose(x, d, -1)), -1), d, -1);
  }
  const xc = contiguous(x);
  const cols = x.shape[d];
  const rows = cols === 0 ? 0 : x.numel / cols;
  const y = Tensor.empty(x.shape);
  if (kind === 'softmax') backend().softmax(rows, cols, y.f32(), xc.f32());
  else backend().logSoftmax(rows, cols, y.f32(), xc.f32());
  return y.withNode([xc], () => ({
    op: kind, inputs: [xc],
    backward: (g) => {
      const gc = contiguous(g);
      const dx = Tensor.empty(x.shape);
      if (kind === 'softmax') backend().softmaxBackward(rows, cols, dx.f32(), y.f32(), gc.f32());
      else backend().logSoftmaxBackward(rows, cols, dx.f32(), y.f32(), gc.f32());
      return [dx];
    },
  }));
}

/** softmax along dim: exp(x − max) / Σ exp(x − max). */
export function softmax(x: Tensor, dim = -1): Tensor {
  return rowwise('softmax', x, dim);
}

/** log-softmax along dim: x − logsumexp(x). */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return rowwise('logSoftmax', x, dim);
}
