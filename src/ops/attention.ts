// Scaled-dot-product attention as one fused op (forward + backward), in the [B, T, H, D]
// layout that projections produce, so no transposes are needed around it.
import { allocF32, floatArray } from '../tensor/storage.js';
import { isGradEnabled } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { contiguous } from './shape.js';

/** Options of attention. */
export interface AttentionOptions {
  /** Multiplier of q·k (default 1/√Dk). */
  scale?: number;
  /** Query i (absolute position Tk − Tq + i) sees keys j ≤ Tk − Tq + i. Default true. */
  causal?: boolean;
  /** Additive mask [Tq, Tk] or [B, Tq, Tk] (e.g. −∞ for padding); not differentiated. */
  mask?: Tensor | null;
}

/**
 * softmax(q·kᵀ·scale + mask)·v per head. q [B, Tq, H, Dk], k [B, Tk, Hkv, Dk], v [B, Tk, Hkv, Dv]
 * with H a multiple of Hkv (grouped / multi-query attention) → [B, Tq, H, Dv].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) throw new TensorError('attention', `expected 4-d q, k, v [B, T, H, D], found ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`);
  const [B, Tq, H, Dk] = q.shape;
  const [Bk, Tk, Hkv, Dk2] = k.shape;
  const [Bv, Tv, Hv, Dv] = v.shape;
  const causal = opts.causal ?? true;
  if (Bk !== B || Bv !== B || Tv !== Tk || Hv !== Hkv || Dk2 !== Dk || Hkv === 0 || H % Hkv !== 0 || (causal && Tq > Tk)) {
    throw new TensorError('attention', `incompatible shapes q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} (need equal B, Tk = Tv, Dk equal, H % Hkv = 0, and Tq ≤ Tk when causal)`);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(Dk);
  let maskData: Float32Array | null = null;
  let maskBatchStride = 0;
  if (opts.mask) {
    const m = contiguous(opts.mask);
    if (m.numel === Tq * Tk) maskBatchStride = 0;
    else if (m.numel === B * Tq * Tk) maskBatchStride = Tq * Tk;
    else throw new TensorError('attention', `mask ${fmtShape(m.shape)} is neither [Tq, Tk] = [${Tq}, ${Tk}] nor [B, Tq, Tk]`);
    maskData = m.f32();
  }
  const qc = contiguous(q), kc = contiguous(k), vc = contiguous(v);
  const out = Tensor.empty([B, Tq, H, Dv]);
  // The probabilities are kept for the backward pass; without one (inference) they are scratch from the pool.
  const nProbs = B * H * Tq * Tk;
  const scratch = isGradEnabled() && (qc.requiresGrad || kc.requiresGrad || vc.requiresGrad) ? null : allocF32(nProbs);
  const probs = scratch ? (scratch.data as Float32Array).subarray(0, nProbs) : floatArray(nProbs);
  backend().attention(B, Tq, Tk, H, Hkv, Dk, Dv, scale, causal, qc.f32(), kc.f32(), vc.f32(), maskData, maskBatchStride, out.f32(), probs);
  scratch?.release();
  return out.withNode([qc, kc, vc], () => ({
    op: 'attention', inputs: [qc, kc, vc],
    backward: (g) => {
      const gc = contiguous(g);
      const dq = Tensor.empty(qc.shape), dk = Tensor.empty(kc.shape), dv = Tensor.empty(vc.shape);
      backend().attentionBackward(B, Tq, Tk, H, Hkv, Dk, Dv, scale, qc.f32(), kc.f32(), vc.f32(), probs, gc.f32(), dq.f32(), dk.f32(), dv.f32());
      return [dq, dk, dv];
    },
  }));
}
