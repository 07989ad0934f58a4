// Grouped linear: the routed experts' matmuls in one op. Rows of x are grouped (the MoE dispatch sorts
// tokens by expert); group e's rows [offsets[e], offsets[e+1]) are multiplied by its own weight W[e]:
//   forward   y_e  = x_e · W_eᵀ          x [M, K], W [E, N, K] (stacked [out, in] weights), y [M, N]
//   backward  dx_e = dy_e · W_e,   dW_e = dy_eᵀ · x_e
// One native call per product runs whole experts in parallel (single-threaded BLAS each), which
// beats threading each small expert GEMM separately.
import { Tensor } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { contiguous } from './shape.js';

/** Row offsets [E + 1] → desc (M, N, K, offA, offB, offC per group) for the three products. */
function descriptors(offsets: Int32Array, N: number, K: number) {
  const E = offsets.length - 1;
  const fwd = new Int32Array(6 * E), dx = new Int32Array(6 * E), dw = new Int32Array(6 * E);
  for (let e = 0; e < E; e++) {
    const r = offsets[e], m = offsets[e + 1] - r;
    fwd.set([m, N, K, r * K, e * N * K, r * N], 6 * e); // y_e [m, N] = x_e [m, K] · W_eᵀ
    dx.set([m, K, N, r * N, e * N * K, r * K], 6 * e); // dx_e [m, K] = dy_e [m, N] · W_e [N, K]
    dw.set([N, K, m, r * N, r * K, e * N * K], 6 * e); // dW_e [N, K] = dy_eᵀ [N, m] · x_e [m, K]
  }
  return { fwd, dx, dw };
}

/** x [M, K] with rows grouped by `offsets` [E + 1] (0 = o_0 ≤ … ≤ o_E = M), w [E, N, K] → [M, N]. */
export function groupedLinear(x: Tensor, w: Tensor, offsets: Int32Array): Tensor {
  if (x.ndim !== 2 || w.ndim !== 3) throw new TensorError('groupedLinear', `expected x [M, K] and w [E, N, K], found ${fmtShape(x.shape)} and ${fmtShape(w.shape)}`);
  const [M, K] = x.shape;
  const [E, N, Kw] = w.shape;
  if (Kw !== K) throw new TensorError('groupedLinear', `x has ${K} features but w expects ${Kw} (w ${fmtShape(w.shape)})`);
  if (offsets.length !== E + 1 || offsets[0] !== 0 || offsets[E] !== M) {
    throw new TensorError('groupedLinear', `expected ${E + 1} row offsets from 0 to ${M}, found [${Array.from(offsets.slice(0, 12)).join(', ')}${offsets.length > 12 ? ', …' : ''}]`);
  }
  for (let e = 0; e < E; e++) {
    if (offsets[e + 1] < offsets[e]) throw new TensorError('groupedLinear', `row offsets must not decrease, found ${offsets[e]} then ${offsets[e + 1]} at group ${e}`);
  }
  const xc = contiguous(x), wc = contiguous(w);
  const d = descriptors(offsets, N, K);
  const y = Tensor.empty([M, N]);
  backend().gemmGrouped(false, true, d.fwd, K, K, N, xc.f32(), wc.f32(), y.f32());
  return y.withNode([xc, wc], () => ({
    op: 'groupedLinear', inputs: [xc, wc],
    backward: (g) => {
      const gc = contiguous(g);
      let gx: Tensor | null = null, gw: Tensor | null = null;
      if (xc.requiresGrad) {
        gx = Tensor.empty([M, K]);
        backend().gemmGrouped(false, false, d.dx, N, K, K, gc.f32(), wc.f32(), gx.f32());
      }
      if (wc.requiresGrad) {
        gw = Tensor.zeros([E, N, K]); // experts without rows keep a zero gradient
        backend().gemmGrouped(true, false, d.dw, N, K, K, gc.f32(), xc.f32(), gw.f32());
      }
      return [gx, gw];
    },
  }));
}
