// Cross-entropy fused with log-softmax, with an ignore index and per-token weights
// (supervised losses use ignore; RL losses weight each token).
import { floatArray } from '../tensor/storage.js';
import { Tensor } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { contiguous, reshape } from './shape.js';
import { mul } from './elementwise.js';
import { sum } from './reduce.js';

/** Options of crossEntropy. */
export interface CrossEntropyOptions {
  /** Targets equal to this contribute nothing (default −100, as PyTorch). */
  ignoreIndex?: number;
  /** Per-token weights [N] (or the targets' shape). */
  weights?: Tensor;
  /** 'mean' = Σ w·nll / Σ w over non-ignored tokens; 'sum'; 'none' = per-token weighted nll. */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Per-token negative log-likelihood −log softmax(logits)[target], fused.
 * logits [..., V], targets int32 [...] → nll [...] (0 where ignored).
 */
export function nllFromLogits(logits: Tensor, targets: Tensor, ignoreIndex = -100): Tensor {
  const V = logits.shape[logits.ndim - 1];
  const lead = logits.shape.slice(0, -1);
  if (targets.dtype !== 'i32') throw new TensorError('crossEntropy', `expected int32 targets, found float32 ${fmtShape(targets.shape)}`);
  if (targets.numel !== logits.numel / V) throw new TensorError('crossEntropy', `targets ${fmtShape(targets.shape)} do not match logits ${fmtShape(logits.shape)}`);
  const N = targets.numel;
  const t = contiguous(targets).i32();
  for (let i = 0; i < N; i++) {
    if (t[i] !== ignoreIndex && (t[i] < 0 || t[i] >= V)) throw new TensorError('crossEntropy', `target ${t[i]} at position ${i} is outside [0, ${V}) (and is not the ignore index ${ignoreIndex})`);
  }
  const xc = contiguous(logits);
  const nll = Tensor.empty(lead);
  const lse = floatArray(N);
  backend().crossEntropy(N, V, nll.f32(), lse, xc.f32(), t, ignoreIndex);
  return nll.withNode([xc], () => ({
    op: 'crossEntropy', inputs: [xc],
    backward: (g) => {
      const gc = contiguous(g);
      const dx = Tensor.empty(xc.shape);
      backend().crossEntropyBackward(N, V, dx.f32(), xc.f32(), lse, t, gc.f32(), ignoreIndex);
      return [dx];
    },
  }));
}

/** Cross-entropy loss from logits [..., V] and int32 targets [...]. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const ignore = opts.ignoreIndex ?? -100;
  let nll = nllFromLogits(logits, targets, ignore);
  const tt = contiguous(targets).i32();
  let denom = 0;
  if (opts.weights) {
    if (opts.weights.numel !== nll.numel) throw new TensorError('crossEntropy', `weights ${fmtShape(opts.weights.shape)} do not match targets ${fmtShape(targets.shape)}`);
    const w = reshape(opts.weights, nll.shape);
    nll = mul(nll, w);
    const wd = contiguous(w).f32();
    for (let i = 0; i < tt.length; i++) if (tt[i] !== ignore) denom += wd[i];
  } else {
    for (let i = 0; i < tt.length; i++) if (tt[i] !== ignore) denom += 1;
  }
  const red = opts.reduction ?? 'mean';
  if (red === 'none') return nll;
  const s = sum(nll);
  return red === 'sum' ? s : s.mul(denom > 0 ? 1 / denom : 0);
}
