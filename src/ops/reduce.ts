// Reductions over dimensions: sum, mean, max (with argmax for the backward).
import { floatArray } from '../tensor/storage.js';
import { Tensor, numelOf } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { contiguous, expand, reshape } from './shape.js';

function normDims(x: Tensor, dims?: number | number[]): number[] {
  if (dims === undefined) return x.shape.map((_, i) => i);
  const ds = (Array.isArray(dims) ? dims : [dims]).map((d) => x.dim(d));
  return [...new Set(ds)].sort((a, b) => a - b);
}

function keptShape(shape: readonly number[], dims: number[]): number[] {
  return shape.map((d, i) => (dims.includes(i) ? 1 : d));
}

/** Sum over one dim of a contiguous tensor, keeping it as size 1 (no graph). */
function sumDimRaw(x: Tensor, d: number): Tensor {
  const outer = numelOf(x.shape.slice(0, d));
  const inner = numelOf(x.shape.slice(d + 1));
  const shape = [...x.shape];
  shape[d] = 1;
  const out = Tensor.empty(shape);
  backend().reduce('sum', outer, x.shape[d], inner, out.f32(), x.f32(), null);
  return out;
}

/** Σ over dims (all dims by default). */
export function sum(x: Tensor, dims?: number | number[], keepdim = false): Tensor {
  const ds = normDims(x, dims);
  let cur = contiguous(x);
  for (const d of ds) {
    if (cur.shape[d] === 1) continue;
    cur = sumDimRaw(cur, d);
  }
  if (cur === x) cur = x.clone();
  const kept = keptShape(x.shape, ds);
  const outShape = keepdim ? kept : x.shape.filter((_, i) => !ds.includes(i));
  const out = cur.shape.length === outShape.length && cur.shape.every((d, i) => d === outShape[i]) ? cur : reshapeRaw(cur, outShape);
  const inShape = x.shape;
  return out.withNode([x], () => ({
    op: 'sum', inputs: [x],
    backward: (g) => [contiguous(expand(reshape(g, kept), inShape))],
  }));
}

/** Mean over dims (all dims by default). */
export function mean(x: Tensor, dims?: number | number[], keepdim = false): Tensor {
  const ds = normDims(x, dims);
  const n = ds.reduce((a, d) => a * x.shape[d], 1);
  return sum(x, ds, keepdim).mul(1 / n);
}

/** Max over one dim; the gradient goes to the first maximal element. */
export function max(x: Tensor, dim: number, keepdim = false): Tensor {
  const d = x.dim(dim);
  const xc = contiguous(x);
  const outer = numelOf(x.shape.slice(0, d));
  const inner = numelOf(x.shape.slice(d + 1));
  const n = x.shape[d];
  const kept = keptShape(x.shape, [d]);
  const out = Tensor.empty(kept);
  const arg = new Int32Array(outer * inner);
  backend().reduce('max', outer, n, inner, out.f32(), xc.f32(), arg);
  const res = keepdim ? out : reshapeRaw(out, x.shape.filter((_, i) => i !== d));
  return res.withNode([x], () => ({
    op: 'max', inputs: [x],
    backward: (g) => {
      const gc = contiguous(g);
      const dx = Tensor.zeros(x.shape);
      backend().scatterAdd(outer, n, inner, 1, dx.f32(), gc.f32(), arg);
      return [dx];
    },
  }));
}

/** Index of the maximum along a dim, as an int32 tensor (no gradient). */
export function argmax(x: Tensor, dim: number): Tensor {
  const d = x.dim(dim);
  const xc = contiguous(x);
  const outer = numelOf(x.shape.slice(0, d));
  const inner = numelOf(x.shape.slice(d + 1));
  const tmp = floatArray(outer * inner);
  const arg = new Int32Array(outer * inner);
  backend().reduce('max', outer, x.shape[d], inner, tmp, xc.f32(), arg);
  return Tensor.ints(arg, x.shape.filter((_, i) => i !== d));
}

function reshapeRaw(x: Tensor, shape: number[]): Tensor {
  const v = x.makeView(shape);
  x.dispose();
  return v;
}
