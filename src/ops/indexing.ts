// Index ops: embedding lookup, index-select / gather with scatter-add backwards,
// functional index-add (MoE combine), and top-k.
import { floatArray } from '../tensor/storage.js';
import { Tensor, numelOf } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { contiguous } from './shape.js';

function checkIdx(op: string, idx: Int32Array, n: number): void {
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= n) throw new TensorError(op, `index ${idx[i]} at position ${i} is outside [0, ${n})`);
  }
}

function idxArray(op: string, idx: Tensor | Int32Array): Int32Array {
  if (idx instanceof Int32Array) return idx;
  if (idx.dtype !== 'i32') throw new TensorError(op, `expected int32 indices, found float32 ${fmtShape(idx.shape)}`);
  return contiguous(idx).i32();
}

/** Rows of x along dim at the given indices: x [..., n, ...], idx [m] → [..., m, ...]. */
export function indexSelect(x: Tensor, dim: number, idx: Tensor | Int32Array): Tensor {
  const d = x.dim(dim);
  const ix = idxArray('indexSelect', idx);
  const n = x.shape[d];
  checkIdx('indexSelect', ix, n);
  const outer = numelOf(x.shape.slice(0, d));
  const inner = numelOf(x.shape.slice(d + 1));
  const m = ix.length;
  const shape = [...x.shape];
  shape[d] = m;
  const xc = contiguous(x);
  const out = Tensor.empty(shape);
  backend().indexSelect(outer, n, inner, m, out.f32(), xc.f32(), ix);
  return out.withNode([xc], () => ({
    op: 'indexSelect', inputs: [xc],
    backward: (g) => {
      const gc = contiguous(g);
      const dx = Tensor.zeros(x.shape);
      backend().indexAdd(outer, n, inner, m, dx.f32(), gc.f32(), ix);
      return [dx];
    },
  }));
}

/** Embedding lookup: weight [V, D], ids int32 [...] → [..., D]; backward scatter-adds into the rows used. */
export function embedding(weight: Tensor, ids: Tensor | Int32Array): Tensor {
  if (weight.ndim !== 2) throw new TensorError('embedding', `expected a weight [V, D], found ${fmtShape(weight.shape)}`);
  const shape = ids instanceof Int32Array ? [ids.length] : ids.shape;
  const flat = indexSelect(weight, 0, ids);
  return flat.reshape([...shape, weight.shape[1]]);
}

/**
 * base with rows of src added at idx along dim 0: out = base; out[idx[j]] += src[j].
 * base [n, ...], src [m, ...], idx [m]. Gradients: d base = g, d src = g[idx].
 */
export function indexAdd(base: Tensor, idx: Tensor | Int32Array, src: Tensor): Tensor {
  const ix = idxArray('indexAdd', idx);
  const n = base.shape[0], m = ix.length;
  const inner = numelOf(base.shape.slice(1));
  if (src.shape[0] !== m || numelOf(src.shape.slice(1)) !== inner) {
    throw new TensorError('indexAdd', `src ${fmtShape(src.shape)} must be [${m}, ...${fmtShape(base.shape.slice(1))}] for base ${fmtShape(base.shape)}`);
  }
  checkIdx('indexAdd', ix, n);
  const out = base.clone();
  const sc = contiguous(src);
  backend().indexAdd(1, n, inner, m, out.f32(), sc.f32(), ix);
  return out.withNode([base, src], () => ({
    op: 'indexAdd', inputs: [base, src],
    backward: (g) => {
      const gc = contiguous(g);
      let gs: Tensor | null = null;
      if (src.requiresGrad) {
        gs = Tensor.empty(src.shape);
        backend().indexSelect(1, n, inner, m, gs.f32(), gc.f32(), ix);
      }
      return [base.requiresGrad ? gc : null, gs];
    },
  }));
}

/**
 * The MoE combine, fused: out [n, ...] = 0; out[idx[j]] += w[j] · src[j] where src = concat(srcs, 0)
 * (srcs: the experts' outputs [m_e, ...] in dispatch order, Σ m_e = m), w [m], idx [m].
 * Replaces concat → mul → indexAdd (and their three backwards) by one pass each way:
 * d src[j] = w[j] · g[idx[j]], d w[j] = ⟨src[j], g[idx[j]]⟩.
 */
export function weightedIndexAdd(n: number, srcs: readonly Tensor[], w: Tensor, idx: Int32Array): Tensor {
  if (srcs.length === 0) throw new TensorError('weightedIndexAdd', 'expected at least one source tensor, found none');
  const rowShape = srcs[0].shape.slice(1);
  const inner = numelOf(rowShape);
  let m = 0;
  for (const s of srcs) {
    if (s.ndim < 1 || numelOf(s.shape.slice(1)) !== inner) {
      throw new TensorError('weightedIndexAdd', `every source must be [rows, ...${fmtShape(rowShape)}], found ${fmtShape(s.shape)}`);
    }
    m += s.shape[0];
  }
  if (idx.length !== m || w.numel !== m) {
    throw new TensorError('weightedIndexAdd', `expected ${m} indices and weights (the sources' rows), found ${idx.length} indices and weights ${fmtShape(w.shape)}`);
  }
  checkIdx('weightedIndexAdd', idx, n);
  const parts = srcs.map((s) => contiguous(s));
  const wc = contiguous(w);
  const out = Tensor.zeros([n, ...rowShape]);
  const wf = wc.f32(), of = out.f32();
  let off = 0;
  for (const p of parts) {
    const rows = p.shape[0];
    backend().weightedIndexAdd(n, inner, rows, of, p.f32(), wf.subarray(off, off + rows), idx.subarray(off, off + rows));
    off += rows;
  }
  return out.withNode([...parts, wc], () => ({
    op: 'weightedIndexAdd', inputs: [...parts, wc],
    backward: (g) => {
      const gc = contiguous(g);
      const dw = Tensor.empty(wc.shape);
      const dwf = dw.f32(), gf = gc.f32();
      const grads: (Tensor | null)[] = [];
      let o = 0;
      for (const p of parts) {
        const rows = p.shape[0];
        const ds = Tensor.empty(p.shape);
        backend().weightedIndexAddBackward(n, inner, rows, ds.f32(), dwf.subarray(o, o + rows), p.f32(), wf.subarray(o, o + rows), gf, idx.subarray(o, o + rows));
        grads.push(p.requiresGrad ? ds : null);
        o += rows;
      }
      grads.push(wc.requiresGrad ? dw : null);
      return grads;
    },
  }));
}

/** torch.gather: out[..., j, ...] = x[..., idx[..., j, ...], ...] along dim; idx int32 with x's rank. */
export function gather(x: Tensor, dim: number, idx: Tensor): Tensor {
  const d = x.dim(dim);
  if (idx.ndim !== x.ndim || idx.shape.some((s, i) => i !== d && s !== x.shape[i])) {
    throw new TensorError('gather', `index ${fmtShape(idx.shape)} must match input ${fmtShape(x.shape)} except in dim ${dim}`);
  }
  const ix = idxArray('gather', idx);
  const n = x.shape[d], m = idx.shape[d];
  checkIdx('gather', ix, n);
  const outer = numelOf(x.shape.slice(0, d));
  const inner = numelOf(x.shape.slice(d + 1));
  const xc = contiguous(x);
  const out = Tensor.empty(idx.shape);
  backend().gather(outer, n, inner, m, out.f32(), xc.f32(), ix);
  return out.withNode([xc], () => ({
    op: 'gather', inputs: [xc],
    backward: (g) => {
      const gc = contiguous(g);
      const dx = Tensor.zeros(x.shape);
      backend().scatterAdd(outer, n, inner, m, dx.f32(), gc.f32(), ix);
      return [dx];
    },
  }));
}

/** Top-k along the last dim, sorted descending: values (differentiable, via gather) and int32 indices. */
export function topk(x: Tensor, k: number): { values: Tensor; indices: Tensor } {
  const C = x.shape[x.ndim - 1];
  if (!Number.isInteger(k) || k < 0 || k > C) throw new TensorError('topk', `k = ${k} is outside [0, ${C}] for input ${fmtShape(x.shape)}`);
  const rows = C === 0 ? 0 : x.numel / C;
  const xc = contiguous(x);
  const vals = floatArray(rows * k);
  const ind = new Int32Array(rows * k);
  backend().topk(rows, C, k, vals, ind, xc.f32());
  const shape = [...x.shape.slice(0, -1), k];
  const indices = Tensor.ints(ind, shape);
  return { values: gather(x, -1, indices), indices };
}
