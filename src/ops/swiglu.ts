// SwiGLU's gating, fused: one pass over the stacked gate/up projections instead of silu, then mul
// (and one pass back instead of their two backwards). DeepSeek's MLP is w2(silu(w1 x) ⊙ w3 x); with
// w1 and w3 stacked as one [2·inter, dim] weight, h = x·[w1; w3]ᵀ holds [a | b] per row and
//   forward   y  = silu(a) ⊙ b                                     [..., inter]
//   backward  da = dy ⊙ b ⊙ σ(a)(1 + a(1 − σ(a))),  db = dy ⊙ silu(a)   [..., 2·inter]
import { Tensor, numelOf } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { contiguous } from './shape.js';

/** h [..., 2·inter] (gate half first, then up half) → silu(gate) ⊙ up [..., inter]. */
export function swiglu(h: Tensor): Tensor {
  const two = h.shape[h.ndim - 1];
  if (h.ndim < 1 || two % 2 !== 0) throw new TensorError('swiglu', `expected [..., 2·inter] (an even last dim), found ${fmtShape(h.shape)}`);
  const inter = two / 2;
  const rows = numelOf(h.shape.slice(0, -1));
  const hc = contiguous(h);
  const y = Tensor.empty([...h.shape.slice(0, -1), inter]);
  backend().swiglu(rows, inter, y.f32(), hc.f32());
  return y.withNode([hc], () => ({
    op: 'swiglu', inputs: [hc],
    backward: (g) => {
      const gc = contiguous(g);
      const dh = Tensor.empty(hc.shape);
      backend().swigluBackward(rows, inter, dh.f32(), hc.f32(), gc.f32());
      return [dh];
    },
  }));
}
