// Matrix products: batched matmul with transposed views passed to GEMM without copies,
// and `linear` (y = x·Wᵀ with W stored [out, in] as in PyTorch / Hugging Face checkpoints).
import { Tensor, numelOf } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { isGradEnabled } from '../tensor/scope.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { contiguous, expand, reshape, sumTo, transpose, broadcastShapes } from './shape.js';

/** How a [.., R, C] operand is laid out for GEMM: transposed or not, leading dim, batch stride. */
interface GemmOperand {
  data: Float32Array;
  trans: boolean;
  ld: number;
  batchStride: number;
  keep: Tensor;
}

/**
 * Describes x (shape [...batch, R, C], batch dims already equal to the target's) for GEMM,
 * copying only when its layout cannot be expressed with (trans, ld, batchStride).
 */
function operand(x: Tensor, batch: number): GemmOperand {
  const nd = x.ndim;
  const R = x.shape[nd - 2], C = x.shape[nd - 1];
  const sr = x.strides[nd - 2], sc = x.strides[nd - 1];
  let trans: boolean | null = null;
  let ld = 0;
  if (sc === 1 || C === 1) { trans = false; ld = R === 1 ? Math.max(C, 1) : sr; if (ld < C) trans = null; }
  if (trans === null && (sr === 1 || R === 1)) { trans = true; ld = C === 1 ? Math.max(R, 1) : sc; if (ld < R) trans = null; }
  // Batch dims must collapse to one uniform stride (or all be zero = broadcast).
  let batchStride = 0;
  let ok = trans !== null;
  if (ok && nd > 2) {
    const bdims = x.shape.slice(0, nd - 2);
    const bst = x.strides.slice(0, nd - 2);
    const allZero = bst.every((s, i) => s === 0 || bdims[i] === 1);
    if (allZero) batchStride = 0;
    else {
      // innermost non-trivial batch dim gives the stride; others must nest.
      let expect = -1;
      for (let i = bdims.length - 1; i >= 0; i--) {
        if (bdims[i] === 1) continue;
        if (expect < 0) { batchStride = bst[i]; expect = bst[i] * bdims[i]; }
        else if (bst[i] !== expect) { ok = false; break; }
        else expect = bst[i] * bdims[i];
      }
      if (batchStride === 0 && batch > 1) ok = false;
    }
  }
  if (!ok) {
    const xc = contiguous(x);
    return { data: xc.f32(), trans: false, ld: C, batchStride: R * C, keep: xc };
  }
  const data = (x.storage.data as Float32Array).subarray(x.offset);
  return { data, trans: trans as boolean, ld, batchStride, keep: x };
}

/** Batched matrix product a [..., M, K] · b [..., K, N] → [..., M, N], broadcasting batch dims. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw new TensorError('matmul', 'expected float32 operands');
  if (a.ndim < 2 || b.ndim < 2) throw new TensorError('matmul', `expected operands with ≥ 2 dims, found ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const M = a.shape[a.ndim - 2], K = a.shape[a.ndim - 1];
  const K2 = b.shape[b.ndim - 2], N = b.shape[b.ndim - 1];
  if (K !== K2) throw new TensorError('matmul', `inner dimensions differ: ${fmtShape(a.shape)} · ${fmtShape(b.shape)}`);

  // Fast path: b is a plain matrix and a's batch dims fold into M.
  if (b.ndim === 2 && a.ndim > 2) {
    const a2 = a.isContiguous() ? reshape(a, [-1, K]) : null;
    if (a2) {
      const y = matmul2d(a2, b);
      return reshape(y, [...a.shape.slice(0, -1), N]);
    }
  }
  const batchShape = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = numelOf(batchShape);
  const ae = a.ndim - 2 === batchShape.length && a.shape.slice(0, -2).every((d, i) => d === batchShape[i]) ? a : expand(a, [...batchShape, M, K]);
  const be = b.ndim - 2 === batchShape.length && b.shape.slice(0, -2).every((d, i) => d === batchShape[i]) ? b : expand(b, [...batchShape, K, N]);
  const out = Tensor.empty([...batchShape, M, N]);
  gemmInto(ae, be, out, batch, M, N, K);
  return out.withNode([a, b], () => ({
    op: 'matmul', inputs: [a, b],
    backward: (g) => [
      a.requiresGrad ? sumTo(matmul(g, transpose(b, -1, -2)), a.shape) : null,
      b.requiresGrad ? sumTo(matmul(transpose(a, -1, -2), g), b.shape) : null,
    ],
  }));
}

function gemmInto(a: Tensor, b: Tensor, out: Tensor, batch: number, M: number, N: number, K: number): void {
  if (M === 0 || N === 0) return;
  if (K === 0) { out.f32().fill(0); return; }
  const A = operand(a, batch), B = operand(b, batch);
  backend().gemm(batch, A.trans, B.trans, M, N, K, 1, A.data, A.batchStride, A.ld, B.data, B.batchStride, B.ld, 0, out.f32(), M * N, N);
}

/** 2-D product with its backward (used by matmul's fast path). */
function matmul2d(a: Tensor, b: Tensor): Tensor {
  const M = a.shape[0], K = a.shape[1], N = b.shape[1];
  const out = Tensor.empty([M, N]);
  gemmInto(a, b, out, 1, M, N, K);
  return out.withNode([a, b], () => ({
    op: 'matmul', inputs: [a, b],
    backward: (g) => [
      a.requiresGrad ? matmul2d(g, transpose(b, 0, 1)) : null,
      b.requiresGrad ? matmul2d(transpose(a, 0, 1), g) : null,
    ],
  }));
}

/**
 * y = x · Wᵀ, x [..., in], W [out, in] → y [..., out]. The weight gradient is computed as
 * dW = dyᵀ · x directly in W's [out, in] layout (one GEMM, no transposed copy).
 */
export function linear(x: Tensor, w: Tensor): Tensor {
  if (w.ndim !== 2) throw new TensorError('linear', `expected a weight [out, in], found ${fmtShape(w.shape)}`);
  const [O, I] = w.shape;
  if (x.shape[x.ndim - 1] !== I) throw new TensorError('linear', `input ${fmtShape(x.shape)} does not end in the weight's in-features ${I} (weight ${fmtShape(w.shape)})`);
  const xc = contiguous(x);
  const wc = contiguous(w);
  const rows = xc.numel / I;
  const out = Tensor.empty([...x.shape.slice(0, -1), O]);
  if (rows > 0 && O > 0) backend().gemm(1, false, true, rows, O, I, 1, xc.f32(), 0, I, wc.f32(), 0, I, 0, out.f32(), 0, O);
  return out.withNode([xc, wc], () => ({
    op: 'linear', inputs: [xc, wc],
    backward: (g) => {
      const gc = contiguous(g);
      let dx: Tensor | null = null, dw: Tensor | null = null;
      if (rows === 0) return [xc.requiresGrad ? Tensor.zeros(xc.shape) : null, wc.requiresGrad ? Tensor.zeros([O, I]) : null];
      if (xc.requiresGrad) {
        dx = Tensor.empty(xc.shape);
        backend().gemm(1, false, false, rows, I, O, 1, gc.f32(), 0, O, wc.f32(), 0, I, 0, dx.f32(), 0, I);
      }
      if (wc.requiresGrad) {
        dw = Tensor.empty([O, I]);
        backend().gemm(1, true, false, O, I, rows, 1, gc.f32(), 0, O, xc.f32(), 0, I, 0, dw.f32(), 0, I);
      }
      return [dx, dw];
    },
  }));
}

/** A weight [out, in] held as 16-bit bits: BF16 or IEEE F16. */
export interface Weight16 {
  readonly dtype: 'bf16' | 'f16';
  /** [out, in] row-major bit patterns */
  readonly bits: Uint16Array;
  readonly shape: readonly [number, number];
}

/**
 * y = x · Wᵀ with W resident 16-bit, x [..., in] → y [..., out], widened on the fly by the backend's
 * gemm16 (native: AVX2 GEMV/GEMM). Inference only: it records no graph, so it refuses inputs that
 * need a gradient while gradients are recorded.
 */
export function linear16(x: Tensor, w: Weight16): Tensor {
  const [O, I] = w.shape;
  if (x.shape[x.ndim - 1] !== I) throw new TensorError('linear16', `input ${fmtShape(x.shape)} does not end in the weight's in-features ${I} (weight ${fmtShape(w.shape)})`);
  if (isGradEnabled() && x.requiresGrad) {
    throw new TensorError('linear16', `a 16-bit resident weight ${fmtShape(w.shape)} (${w.dtype}) has no gradient: the model was loaded with weights '${w.dtype}', which is inference-only; load it with weights 'f32' (--weights f32) to train`);
  }
  const xc = contiguous(x);
  const rows = xc.numel / I;
  const out = Tensor.empty([...x.shape.slice(0, -1), O]);
  if (rows > 0 && O > 0) backend().gemm16(rows, O, I, xc.f32(), w.bits, w.dtype === 'f16', out.f32());
  return out;
}
