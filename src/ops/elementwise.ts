// Elementwise ops with broadcasting; each forward sits next to its backward.
import { Tensor } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import type { BinaryOp, UnaryOp } from '../backend/kernels.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { broadcastShapes, contiguous, expand, sumTo } from './shape.js';

/** Strides of x when broadcast to `shape` (0 on broadcast dims). */
function bcastStrides(x: Tensor, shape: readonly number[]): Int32Array {
  const nd = shape.length;
  const st = new Int32Array(nd);
  for (let i = 0; i < nd; i++) {
    const j = i - (nd - x.ndim);
    st[i] = j < 0 || x.shape[j] === 1 ? 0 : x.strides[j];
  }
  return st;
}

function checkF32(op: string, ...xs: Tensor[]): void {
  for (const x of xs) if (x.dtype !== 'f32') throw new TensorError(op, `expected float32 tensors, found int32 of shape ${fmtShape(x.shape)}`);
}

/** out = a op b with broadcasting; inputs may be any strided views. */
function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  checkF32(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = Tensor.empty(shape);
  const ad = a.storage.data as Float32Array, bd = b.storage.data as Float32Array;
  backend().binary(op, Int32Array.from(shape), out.f32(), ad.subarray(a.offset), bcastStrides(a, shape), bd.subarray(b.offset), bcastStrides(b, shape));
  return out;
}

/** a + b (broadcasting). */
export function add(a: Tensor, b: Tensor): Tensor {
  return binaryRaw('add', a, b).withNode([a, b], () => ({
    op: 'add', inputs: [a, b],
    backward: (g) => [a.requiresGrad ? sumTo(g, a.shape) : null, b.requiresGrad ? sumTo(g, b.shape) : null],
  }));
}

/** a − b (broadcasting). */
export function sub(a: Tensor, b: Tensor): Tensor {
  return binaryRaw('sub', a, b).withNode([a, b], () => ({
    op: 'sub', inputs: [a, b],
    backward: (g) => [a.requiresGrad ? sumTo(g, a.shape) : null, b.requiresGrad ? sumTo(neg(g), b.shape) : null],
  }));
}

/** a ⊙ b (broadcasting). */
export function mul(a: Tensor, b: Tensor): Tensor {
  return binaryRaw('mul', a, b).withNode([a, b], () => ({
    op: 'mul', inputs: [a, b],
    backward: (g) => [
      a.requiresGrad ? sumTo(binaryRaw('mul', g, b), a.shape) : null,
      b.requiresGrad ? sumTo(binaryRaw('mul', g, a), b.shape) : null,
    ],
  }));
}

/** a / b (broadcasting). */
export function div(a: Tensor, b: Tensor): Tensor {
  return binaryRaw('div', a, b).withNode([a, b], () => ({
    op: 'div', inputs: [a, b],
    backward: (g) => {
      const ga = binaryRaw('div', g, b);
      // d/db (a/b) = −a/b² = −(g/b)·(a/b)
      const gb = b.requiresGrad ? neg(binaryRaw('mul', ga, binaryRaw('div', a, b))) : null;
      return [a.requiresGrad ? sumTo(ga, a.shape) : null, gb ? sumTo(gb, b.shape) : null];
    },
  }));
}

/** a ^ b elementwise (broadcasting; a > 0 where b is non-integer). */
export function pow(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('pow', a, b);
  return out.withNode([a, b], () => ({
    op: 'pow', inputs: [a, b],
    backward: (g) => {
      // d/da = b·a^(b−1) = b·out/a ; d/db = out·ln a
      const ga = a.requiresGrad ? sumTo(binaryRaw('mul', g, binaryRaw('mul', b, binaryRaw('pow', a, addScalarRaw(b, -1)))), a.shape) : null;
      const gb = b.requiresGrad ? sumTo(binaryRaw('mul', g, binaryRaw('mul', out, unaryRaw('log', a, 0))), b.shape) : null;
      return [ga, gb];
    },
  }));
}

function unaryRaw(op: UnaryOp, x: Tensor, param: number): Tensor {
  checkF32(op, x);
  const xc = contiguous(x);
  const out = Tensor.empty(x.shape);
  backend().unary(op, out.numel, out.f32(), xc.f32(), param);
  return out;
}

function addScalarRaw(x: Tensor, c: number): Tensor {
  return unaryRaw('addScalar', x, c);
}

/** A differentiable unary op through the kernels' unary/unaryBackward pair. */
function unary(op: UnaryOp, x: Tensor, param = 0): Tensor {
  const xc = contiguous(x);
  const out = unaryRaw(op, xc, param);
  return out.withNode([xc], () => ({
    op, inputs: [xc],
    backward: (g) => {
      const gc = contiguous(g);
      const dx = Tensor.empty(x.shape);
      backend().unaryBackward(op, dx.numel, dx.f32(), xc.f32(), out.f32(), gc.f32(), param, false);
      return [dx];
    },
  }));
}

/** −x */
export const neg = (x: Tensor): Tensor => unary('neg', x);
/** eˣ */
export const exp = (x: Tensor): Tensor => unary('exp', x);
/** ln x */
export const log = (x: Tensor): Tensor => unary('log', x);
/** √x */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
/** 1/√x */
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
/** x² */
export const square = (x: Tensor): Tensor => unary('square', x);
/** |x| */
export const abs = (x: Tensor): Tensor => unary('abs', x);
/** σ(x) = 1/(1+e⁻ˣ) */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/** SiLU(x) = x·σ(x) */
export const silu = (x: Tensor): Tensor => unary('silu', x);
/** GELU (tanh approximation) */
export const gelu = (x: Tensor): Tensor => unary('gelu', x);
/** max(x, 0) */
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** tanh x */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/** xᵖ for a scalar p */
export const powScalar = (x: Tensor, p: number): Tensor => unary('powScalar', x, p);
/** c·x */
export const mulScalar = (x: Tensor, c: number): Tensor => unary('mulScalar', x, c);
/** x + c */
export const addScalar = (x: Tensor, c: number): Tensor => unary('addScalar', x, c);

/**
 * min(a, b) elementwise (broadcasting). The gradient goes to the smaller input; at a tie each gets
 * half (as torch.minimum), so min(x, x) has gradient 1.
 */
export function minimum(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('min', a, b);
  return out.withNode([a, b], () => ({
    op: 'minimum', inputs: [a, b],
    backward: (g) => {
      const shape = out.shape;
      const ac = contiguous(expand(a, shape)).f32(), bc = contiguous(expand(b, shape)).f32();
      const gc = contiguous(g).f32();
      const ga = Tensor.empty(shape), gb = Tensor.empty(shape);
      const da = ga.f32(), db = gb.f32();
      for (let i = 0; i < da.length; i++) {
        const w = ac[i] < bc[i] ? 1 : ac[i] > bc[i] ? 0 : 0.5;
        da[i] = gc[i] * w;
        db[i] = gc[i] * (1 - w);
      }
      return [a.requiresGrad ? sumTo(ga, a.shape) : null, b.requiresGrad ? sumTo(gb, b.shape) : null];
    },
  }));
}

/** min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  checkF32('clamp', x);
  if (!(lo <= hi)) throw new TensorError('clamp', `expected lo ≤ hi, found lo=${lo} hi=${hi}`);
  const xc = contiguous(x);
  const out = Tensor.empty(x.shape);
  backend().clamp(out.numel, out.f32(), xc.f32(), lo, hi);
  return out.withNode([xc], () => ({
    op: 'clamp', inputs: [xc],
    backward: (g) => {
      const gc = contiguous(g).f32();
      const xd = xc.f32();
      const dx = Tensor.empty(x.shape);
      const d = dx.f32();
      for (let i = 0; i < d.length; i++) d[i] = xd[i] >= lo && xd[i] <= hi ? gc[i] : 0;
      return [dx];
    },
  }));
}
