// Grouped linear over 16-bit resident weights: several weights W_g [N_g, K] (BF16 or F16 bits) applied
// to row blocks of one x, each writing its own column block of one y, in one native call that widens
// every weight once for all of its rows (backend gemm16Grouped). The MoE runs its routed experts this
// way (rows grouped by expert) and an MLP its gate_proj beside its up_proj (the same rows, columns
// [0, I) and [I, 2I)), which float32 weights do by stacking the weights instead — 16-bit weights are
// not copied. Inference only, like linear16: no graph is recorded.
import { Tensor } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { isGradEnabled } from '../tensor/scope.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { contiguous } from './shape.js';
import type { Weight16 } from './matmul.js';

/** One weight of a grouped 16-bit linear: rows [r0, r0 + rows) of x times weightᵀ → y[those rows, col .. col + out). */
export interface Linear16Part {
  r0: number;
  rows: number;
  col: number;
  weight: Weight16;
}

/**
 * x [M, K], parts → y [M, cols] with y[r0 .. r0+rows, col .. col+N) = x[r0 .. r0+rows] · Wᵀ for each
 * part (W [N, K]); elements no part writes are 0. Every weight must have K in-features and one dtype.
 */
export function groupedLinear16(x: Tensor, parts: readonly Linear16Part[], cols: number): Tensor {
  if (x.ndim !== 2) throw new TensorError('groupedLinear16', `expected x [M, K], found ${fmtShape(x.shape)}`);
  const [M, K] = x.shape;
  if (!Number.isInteger(cols) || cols < 0) throw new TensorError('groupedLinear16', `expected a non-negative integer column count, found ${cols}`);
  if (isGradEnabled() && x.requiresGrad) {
    throw new TensorError('groupedLinear16', '16-bit resident weights have no gradient: the model was loaded with 16-bit weights, which is inference-only; load it with weights \'f32\' (--weights f32) to train');
  }
  const dtype = parts[0]?.weight.dtype ?? 'bf16';
  const desc = new Int32Array(5 * parts.length);
  const Ws: Uint16Array[] = [];
  const index = new Map<Uint16Array, number>();
  parts.forEach((p, g) => {
    const [N, Kw] = p.weight.shape;
    if (Kw !== K) throw new TensorError('groupedLinear16', `part ${g}: weight ${fmtShape(p.weight.shape)} does not take x's ${K} features (x ${fmtShape(x.shape)})`);
    if (p.weight.dtype !== dtype) throw new TensorError('groupedLinear16', `part ${g}: weight is ${p.weight.dtype} but part 0's is ${dtype}; one call takes one dtype`);
    if (!(Number.isInteger(p.r0) && Number.isInteger(p.rows) && p.r0 >= 0 && p.rows >= 0 && p.r0 + p.rows <= M)) {
      throw new TensorError('groupedLinear16', `part ${g}: rows [${p.r0}, ${p.r0 + p.rows}) are not within x's ${M} rows`);
    }
    if (!(Number.isInteger(p.col) && p.col >= 0 && p.col + N <= cols)) {
      throw new TensorError('groupedLinear16', `part ${g}: columns [${p.col}, ${p.col + N}) are not within y's ${cols} columns`);
    }
    let w = index.get(p.weight.bits);
    if (w === undefined) index.set(p.weight.bits, w = Ws.push(p.weight.bits) - 1);
    desc.set([p.r0, p.rows, p.col, N, w], 5 * g);
  });
  const y = Tensor.zeros([M, cols]); // what no part writes stays 0; parts must not overlap (they run in parallel)
  if (parts.length > 0 && M > 0 && cols > 0) backend().gemm16Grouped(desc, K, cols, contiguous(x).f32(), Ws, dtype === 'f16', y.f32());
  return y;
}
