// Adapter from the raw N-API addon (native/) to the `Kernels` interface.
// The addon's functions take exactly the arguments of the Kernels methods, with the
// op-name strings replaced by the integer codes of BINARY_OPS / UNARY_OPS and booleans as 0/1.
import { BINARY_OPS, UNARY_OPS, GEMM16_PATHS } from './kernels.js';
import type { Kernels, Gemm16Path } from './kernels.js';

type Fn = (...args: unknown[]) => unknown;

/** Wraps the loaded addon object as a `Kernels` backend; throws if a function is missing. */
export function wrapNativeAddon(addon: Record<string, unknown>): Kernels {
  const f = (name: string): Fn => {
    const fn = addon[name];
    if (typeof fn !== 'function') throw new Error(`native addon lacks function "${name}" (stale build? run npm run build)`);
    return fn as Fn;
  };
  const gemm = f('gemm'), binary = f('binary'), unary = f('unary'), unaryBackward = f('unaryBackward');
  const clamp = f('clamp'), copyStrided = f('copyStrided'), addStrided = f('addStrided'), reduce = f('reduce');
  const softmax = f('softmax'), softmaxBackward = f('softmaxBackward'), logSoftmax = f('logSoftmax');
  const logSoftmaxBackward = f('logSoftmaxBackward'), crossEntropy = f('crossEntropy');
  const crossEntropyBackward = f('crossEntropyBackward'), rmsNorm = f('rmsNorm'), rmsNormBackward = f('rmsNormBackward');
  const rope = f('rope'), attention = f('attention'), attentionBackward = f('attentionBackward');
  const indexSelect = f('indexSelect'), indexAdd = f('indexAdd'), gather = f('gather'), scatterAdd = f('scatterAdd');
  const gemmGrouped = f('gemmGrouped');
  const swiglu = f('swiglu'), swigluBackward = f('swigluBackward');
  const weightedIndexAdd = f('weightedIndexAdd'), weightedIndexAddBackward = f('weightedIndexAddBackward');
  const gemm16 = f('gemm16'), gemm16Grouped = f('gemm16Grouped'), gemm16Path = f('gemm16Path'), setGemm16Path = f('setGemm16Path');
  const topk = f('topk'), where = f('where'), sumSquares = f('sumSquares'), axpy = f('axpy'), adamw = f('adamw');
  return {
    name: 'native',
    gemm: (batch, tA, tB, M, N, K, alpha, A, sA, lda, B, sB, ldb, beta, C, sC, ldc) =>
      void gemm(batch, tA ? 1 : 0, tB ? 1 : 0, M, N, K, alpha, A, sA, lda, B, sB, ldb, beta, C, sC, ldc),
    gemm16: (M, N, K, x, W, f16, y) => void gemm16(M, N, K, x, W, f16 ? 1 : 0, y),
    gemm16Grouped: (desc, K, ldy, x, Ws, f16, y) => void gemm16Grouped(desc, K, ldy, x, Ws, f16 ? 1 : 0, y),
    gemm16Path: () => gemm16Path() as Gemm16Path,
    setGemm16Path: (p) => setGemm16Path(p === 'auto' ? -1 : GEMM16_PATHS.indexOf(p)) as Gemm16Path,
    binary: (op, shape, out, a, as, b, bs) => void binary(BINARY_OPS[op], shape, out, a, as, b, bs),
    unary: (op, n, out, x, p) => void unary(UNARY_OPS[op], n, out, x, p),
    unaryBackward: (op, n, dx, x, y, dy, p, acc) => void unaryBackward(UNARY_OPS[op], n, dx, x, y, dy, p, acc ? 1 : 0),
    clamp: (n, out, x, lo, hi) => void clamp(n, out, x, lo, hi),
    copyStrided: (shape, out, src, strides, offset) => void copyStrided(shape, out, src, strides, offset),
    addStrided: (shape, dst, strides, offset, src) => void addStrided(shape, dst, strides, offset, src),
    reduce: (op, outer, n, inner, out, x, argmax) => void reduce(op === 'sum' ? 0 : 1, outer, n, inner, out, x, argmax),
    softmax: (r, c, y, x) => void softmax(r, c, y, x),
    softmaxBackward: (r, c, dx, y, dy) => void softmaxBackward(r, c, dx, y, dy),
    logSoftmax: (r, c, y, x) => void logSoftmax(r, c, y, x),
    logSoftmaxBackward: (r, c, dx, y, dy) => void logSoftmaxBackward(r, c, dx, y, dy),
    crossEntropy: (r, c, nll, lse, x, t, ig) => void crossEntropy(r, c, nll, lse, x, t, ig),
    crossEntropyBackward: (r, c, dx, x, lse, t, dnll, ig) => void crossEntropyBackward(r, c, dx, x, lse, t, dnll, ig),
    rmsNorm: (r, d, y, rstd, x, w, eps) => void rmsNorm(r, d, y, rstd, x, w, eps),
    rmsNormBackward: (r, d, dx, dw, dy, x, w, rstd) => void rmsNormBackward(r, d, dx, dw, dy, x, w, rstd),
    rope: (rows, heads, dim, out, x, pos, cos, sin, inv) => void rope(rows, heads, dim, out, x, pos, cos, sin, inv ? 1 : 0),
    attention: (B, Tq, Tk, H, Hkv, Dk, Dv, scale, causal, q, k, v, mask, mbs, out, probs) =>
      void attention(B, Tq, Tk, H, Hkv, Dk, Dv, scale, causal ? 1 : 0, q, k, v, mask, mbs, out, probs),
    attentionBackward: (B, Tq, Tk, H, Hkv, Dk, Dv, scale, q, k, v, probs, dout, dq, dk, dv) =>
      void attentionBackward(B, Tq, Tk, H, Hkv, Dk, Dv, scale, q, k, v, probs, dout, dq, dk, dv),
    indexSelect: (o, n, i, m, out, x, idx) => void indexSelect(o, n, i, m, out, x, idx),
    indexAdd: (o, n, i, m, dx, dout, idx) => void indexAdd(o, n, i, m, dx, dout, idx),
    gemmGrouped: (tA, tB, desc, lda, ldb, ldc, A, B, C) => void gemmGrouped(tA ? 1 : 0, tB ? 1 : 0, desc, lda, ldb, ldc, A, B, C),
    swiglu: (rows, inter, out, h) => void swiglu(rows, inter, out, h),
    swigluBackward: (rows, inter, dh, h, dy) => void swigluBackward(rows, inter, dh, h, dy),
    weightedIndexAdd: (n, i, m, out, src, w, idx) => void weightedIndexAdd(n, i, m, out, src, w, idx),
    weightedIndexAddBackward: (n, i, m, dsrc, dw, src, w, dy, idx) => void weightedIndexAddBackward(n, i, m, dsrc, dw, src, w, dy, idx),
    gather: (o, n, i, m, out, x, idx) => void gather(o, n, i, m, out, x, idx),
    scatterAdd: (o, n, i, m, dx, dout, idx) => void scatterAdd(o, n, i, m, dx, dout, idx),
    topk: (r, c, k, values, indices, x) => void topk(r, c, k, values, indices, x),
    where: (n, out, cond, a, b) => void where(n, out, cond, a, b),
    sumSquares: (n, x) => sumSquares(n, x) as number,
    axpy: (n, alpha, x, y) => void axpy(n, alpha, x, y),
    adamw: (n, p, g, m, v, lr, b1, b2, eps, wd, step) => void adamw(n, p, g, m, v, lr, b1, b2, eps, wd, step),
  };
}
