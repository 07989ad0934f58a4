// Shape ops: views (reshape, transpose, permute, slice, expand, squeeze) and copies
// (contiguous, concat), each with its backward.
import { Tensor, numelOf, contiguousStrides } from '../tensor/tensor.js';
import type { Shape } from '../tensor/tensor.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { backend } from '../backend/index.js';

/** Row-major copy of a strided tensor (identity for the graph). */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  const out = x.dtype === 'i32' ? Tensor.ints(new Int32Array(x.numel), x.shape) : Tensor.empty(x.shape);
  if (x.dtype === 'i32') {
    const src = x.storage.data as Int32Array, dst = out.i32();
    let i = 0;
    const idx = new Array<number>(x.ndim).fill(0);
    const n = x.numel;
    for (let k = 0; k < n; k++) {
      let o = x.offset;
      for (let d = 0; d < x.ndim; d++) o += idx[d] * x.strides[d];
      dst[i++] = src[o];
      for (let d = x.ndim - 1; d >= 0; d--) { if (++idx[d] < x.shape[d]) break; idx[d] = 0; }
    }
    return out;
  }
  backend().copyStrided(Int32Array.from(x.shape), out.f32(), x.storage.data as Float32Array, Int32Array.from(x.strides), x.offset);
  return out.withNode([x], () => ({ op: 'contiguous', inputs: [x], backward: (g) => [g] }));
}

/** Same elements with a new shape (one entry may be −1). */
export function reshape(x: Tensor, shapeIn: number[]): Tensor {
  const shape = [...shapeIn];
  const neg = shape.indexOf(-1);
  if (neg >= 0) {
    const rest = shape.reduce((a, d, i) => (i === neg ? a : a * d), 1);
    if (rest === 0 || x.numel % rest !== 0) throw new TensorError('reshape', `cannot infer −1 to reshape ${fmtShape(x.shape)} into ${fmtShape(shapeIn)}`);
    shape[neg] = x.numel / rest;
  }
  if (numelOf(shape) !== x.numel) throw new TensorError('reshape', `cannot reshape ${fmtShape(x.shape)} (${x.numel} elements) into ${fmtShape(shapeIn)}`);
  const src = x.isContiguous() ? x : contiguous(x);
  const out = src.makeView(shape, contiguousStrides(shape), src.offset);
  const inShape = x.shape;
  return out.withNode([src], () => ({ op: 'reshape', inputs: [src], backward: (g) => [reshape(g, inShape)] }));
}

/** Reorders dimensions (view). */
export function permute(x: Tensor, dims: number[]): Tensor {
  if (dims.length !== x.ndim) throw new TensorError('permute', `expected ${x.ndim} dims, found ${fmtShape(dims)}`);
  const nd = dims.map((d) => x.dim(d));
  if (new Set(nd).size !== nd.length) throw new TensorError('permute', `dims ${fmtShape(dims)} are not a permutation`);
  const out = x.makeView(nd.map((d) => x.shape[d]), nd.map((d) => x.strides[d]), x.offset);
  const inv = new Array<number>(nd.length);
  nd.forEach((d, i) => (inv[d] = i));
  return out.withNode([x], () => ({ op: 'permute', inputs: [x], backward: (g) => [permute(g, inv)] }));
}

/** Swaps two dimensions (view). */
export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  const dims = x.shape.map((_, i) => i);
  const a = x.dim(d0), b = x.dim(d1);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

/** Elements [start, end) along a dimension (view). Negative indices count from the end. */
export function slice(x: Tensor, dim: number, start: number, end: number): Tensor {
  const d = x.dim(dim);
  const n = x.shape[d];
  const s = start < 0 ? start + n : start;
  const e = end < 0 ? end + n : Math.min(end, n);
  if (s < 0 || s > e || e > n) throw new TensorError('slice', `range [${start}, ${end}) out of bounds for dim ${dim} of ${fmtShape(x.shape)}`);
  const shape = [...x.shape];
  shape[d] = e - s;
  const out = x.makeView(shape, x.strides, x.offset + s * x.strides[d]);
  const inShape = x.shape;
  return out.withNode([x], () => ({
    op: 'slice',
    inputs: [x],
    backward: (g) => {
      const gx = Tensor.zeros(inShape);
      const gc = contiguous(g);
      const st = contiguousStrides(inShape);
      backend().addStrided(Int32Array.from(g.shape), gx.f32(), Int32Array.from(st), s * st[d], gc.f32());
      return [gx];
    },
  }));
}

/** Splits along a dimension into pieces of the given sizes (views). */
export function split(x: Tensor, sizes: number[], dim: number): Tensor[] {
  const d = x.dim(dim);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== x.shape[d]) throw new TensorError('split', `sizes ${fmtShape(sizes)} sum to ${total}, expected dim ${dim} size ${x.shape[d]} of ${fmtShape(x.shape)}`);
  const out: Tensor[] = [];
  let s = 0;
  for (const n of sizes) {
    out.push(slice(x, d, s, s + n));
    s += n;
  }
  return out;
}

/** Broadcasts size-1 dims (and new leading dims) to `shape` (view with zero strides). */
export function expand(x: Tensor, shape: Shape): Tensor {
  const nd = shape.length;
  if (nd < x.ndim) throw new TensorError('expand', `cannot expand ${fmtShape(x.shape)} to fewer dims ${fmtShape(shape)}`);
  const strides = new Array<number>(nd);
  const out = [...shape];
  for (let i = 0; i < nd; i++) {
    const j = i - (nd - x.ndim);
    if (j < 0) { strides[i] = 0; continue; }
    if (out[i] === -1) out[i] = x.shape[j];
    if (x.shape[j] === out[i]) strides[i] = x.strides[j];
    else if (x.shape[j] === 1) strides[i] = 0;
    else throw new TensorError('expand', `cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  const v = x.makeView(out, strides, x.offset);
  const inShape = x.shape;
  return v.withNode([x], () => ({ op: 'expand', inputs: [x], backward: (g) => [sumTo(g, inShape)] }));
}

/** Inserts a size-1 dimension at d (view). */
export function unsqueeze(x: Tensor, d: number): Tensor {
  const pos = d < 0 ? d + x.ndim + 1 : d;
  const shape = [...x.shape];
  shape.splice(pos, 0, 1);
  return reshape(x, shape);
}

/** Removes a size-1 dimension (view). */
export function squeeze(x: Tensor, d: number): Tensor {
  const dd = x.dim(d);
  if (x.shape[dd] !== 1) throw new TensorError('squeeze', `dim ${d} of ${fmtShape(x.shape)} is not 1`);
  const shape = [...x.shape];
  shape.splice(dd, 1);
  return reshape(x, shape);
}

/** Sums a gradient over broadcast dimensions back to `shape` (the backward of broadcasting). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  let cur = g;
  // Reduce leading dims entirely.
  if (lead > 0) {
    const gc = contiguous(cur);
    const outer = numelOf(g.shape.slice(0, lead));
    const inner = numelOf(g.shape.slice(lead));
    const out = Tensor.empty(g.shape.slice(lead));
    backend().reduce('sum', 1, outer, inner, out.f32(), gc.f32(), null);
    cur = out;
  }
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1 && cur.shape[i] !== 1) {
      const gc = contiguous(cur);
      const outer = numelOf(cur.shape.slice(0, i));
      const inner = numelOf(cur.shape.slice(i + 1));
      const os = [...cur.shape];
      os[i] = 1;
      const out = Tensor.empty(os);
      backend().reduce('sum', outer, cur.shape[i], inner, out.f32(), gc.f32(), null);
      cur = out;
    } else if (shape[i] !== cur.shape[i]) {
      throw new TensorError('sumTo', `cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
    }
  }
  return cur;
}

/** Concatenates tensors along a dimension. */
export function concat(xs: Tensor[], dim: number): Tensor {
  if (xs.length === 0) throw new TensorError('concat', 'expected at least one tensor');
  const d = xs[0].dim(dim);
  const ref = xs[0].shape;
  let total = 0;
  for (const x of xs) {
    if (x.ndim !== ref.length || x.shape.some((s, i) => i !== d && s !== ref[i])) {
      throw new TensorError('concat', `shapes must match except in dim ${dim}: ${xs.map((t) => fmtShape(t.shape)).join(' vs ')}`);
    }
    total += x.shape[d];
  }
  const shape = [...ref];
  shape[d] = total;
  const out = Tensor.zeros(shape); // addStrided accumulates, so start from zero
  const outer = numelOf(ref.slice(0, d));
  const inner = numelOf(ref.slice(d + 1));
  const od = out.f32();
  let off = 0;
  for (const x of xs) {
    const n = x.shape[d];
    // Copy x into out[:, off:off+n, :] through a strided view of out.
    const xc = contiguous(x);
    const dstStrides = Int32Array.from([total * inner, inner, 1]);
    backend().addStrided(Int32Array.from([outer, n, inner]), od, dstStrides, off * inner, xc.f32());
    off += n;
  }
  return out.withNode(xs, () => ({
    op: 'concat',
    inputs: xs,
    backward: (g) => split(contiguous(g), xs.map((x) => x.shape[d]), d).map((t) => contiguous(t)),
  }));
}

/** where(cond, a, b): a where cond ≠ 0 else b, broadcasting all three. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
  const c = contiguous(expand(cond, shape));
  const ac = contiguous(expand(a, shape));
  const bc = contiguous(expand(b, shape));
  const out = Tensor.empty(shape);
  const n = out.numel;
  const cf = c.dtype === 'i32' ? Float32Array.from(c.i32()) : c.f32();
  backend().where(n, out.f32(), cf, ac.f32(), bc.f32());
  return out.withNode([a, b], () => ({
    op: 'where',
    inputs: [a, b],
    backward: (g) => {
      const gc = contiguous(g);
      const zero = Tensor.zeros(shape);
      const ga = Tensor.empty(shape), gb = Tensor.empty(shape);
      backend().where(n, ga.f32(), cf, gc.f32(), zero.f32());
      backend().where(n, gb.f32(), cf, zero.f32(), gc.f32());
      return [a.requiresGrad ? sumTo(ga, a.shape) : null, b.requiresGrad ? sumTo(gb, b.shape) : null];
    },
  }));
}

/** The broadcast shape of two shapes (NumPy rules), or an error naming both. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new TensorError(op, `shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}
