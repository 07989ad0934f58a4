// RMSNorm, fused: y = x / sqrt(mean(x²) + eps) * w over the last dimension.
import { allocF32, floatArray } from '../tensor/storage.js';
import { isGradEnabled } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { contiguous } from './shape.js';

/** RMSNorm over the last dim: x [..., D], w [D]. */
export function rmsNorm(x: Tensor, w: Tensor, eps: number): Tensor {
  const D = x.shape[x.ndim - 1];
  if (w.ndim !== 1 || w.shape[0] !== D) throw new TensorError('rmsNorm', `weight ${fmtShape(w.shape)} does not match the input's last dim ${D} (input ${fmtShape(x.shape)})`);
  const xc = contiguous(x);
  const wc = contiguous(w);
  const rows = D === 0 ? 0 : x.numel / D;
  const y = Tensor.empty(x.shape);
  // 1/rms per row is kept for the backward pass; without one (inference) it is scratch from the pool.
  const scratch = isGradEnabled() && (xc.requiresGrad || wc.requiresGrad) ? null : allocF32(rows);
  const rstd = scratch ? (scratch.data as Float32Array).subarray(0, rows) : floatArray(rows);
  backend().rmsNorm(rows, D, y.f32(), rstd, xc.f32(), wc.f32(), eps);
  scratch?.release();
  return y.withNode([xc, wc], () => ({
    op: 'rmsNorm', inputs: [xc, wc],
    backward: (g) => {
      const gc = contiguous(g);
      const dx = Tensor.empty(x.shape);
      const dw = Tensor.zeros([D]);
      backend().rmsNormBackward(rows, D, dx.f32(), dw.f32(), gc.f32(), xc.f32(), wc.f32(), rstd);
      return [xc.requiresGrad ? dx : null, wc.requiresGrad ? dw : null];
    },
  }));
}
