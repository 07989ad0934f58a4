// The GRPO objective (DeepSeekMath eq. 3) with the options the field added since:
//
//   r_t   = π_θ(o_t | q, o_<t) / π_old(o_t | q, o_<t)
//   obj_t = min(r_t Â, clip(r_t, 1 − ε_low, 1 + ε_high) Â)            (clip-higher: DAPO)
//   kl_t  = π_ref/π_θ − log(π_ref/π_θ) − 1                           (the unbiased k3 estimator, ≥ 0)
//   L     = − Σ_t w_t (obj_t − β kl_t)
// with the aggregation weights w_t:
//   grpo     1 / (|o_i| · N)        per-sequence mean, then mean over sequences (DeepSeekMath)
//   dapo     1 / Σ_i |o_i|           token-level mean over the batch (DAPO)
//   dr_grpo  1 / (N · L_max)         sum ÷ a constant (Dr. GRPO)
// Because w is fixed for the whole batch, micro-batches simply add up to the batch loss.
import { Tensor } from '../tensor/index.js';
import { exp, mul, sub, sum, addScalar, mulScalar, minimum, clamp } from '../ops/index.js';

/** Loss aggregation mode. */
export type LossType = 'grpo' | 'dapo' | 'dr_grpo';

/** Clipping and KL settings. */
export interface GrpoLossOptions {
  epsLow: number;
  epsHigh: number;
  /** KL weight β (0: no reference model). */
  beta: number;
}

/** The batch-wide counts the weights divide by: sequences (grpo, dr_grpo) and loss tokens Σ|o_i| (dapo). */
export interface AggregationDenominators {
  sequences: number;
  tokens: number;
}

/**
 * Per-token weights w [N, L] (0 outside completions) for an aggregation mode. `global`: the counts
 * of the whole batch when these N rows are one data-parallel rank's share of it (default: the rows'
 * own counts), so that the ranks' losses add up to the whole batch's loss.
 */
export function aggregationWeights(mask: Float32Array, N: number, L: number, type: LossType, maxCompletionLength: number, global?: AggregationDenominators): Float32Array {
  const w = new Float32Array(N * L);
  let total = 0;
  const lens = new Float64Array(N);
  for (let i = 0; i < N; i++) for (let t = 0; t < L; t++) lens[i] += mask[i * L + t];
  for (let i = 0; i < N; i++) total += lens[i];
  const S = global?.sequences ?? N;
  if (global) total = global.tokens;
  for (let i = 0; i < N; i++) {
    const c = type === 'grpo' ? (lens[i] > 0 ? 1 / (lens[i] * S) : 0) : type === 'dapo' ? (total > 0 ? 1 / total : 0) : 1 / (S * maxCompletionLength);
    for (let t = 0; t < L; t++) w[i * L + t] = mask[i * L + t] * c;
  }
  return w;
}

/** Statistics of the clipped objective over the tokens with weight > 0. */
export interface GrpoLossStats {
  /** Fraction of tokens with Â < 0 and r < 1 − ε_low (clipped from below). */
  clipLow: number;
  /** Fraction with Â > 0 and r > 1 + ε_high. */
  clipHigh: number;
  /** Mean k3 KL per token (0 without a reference). */
  kl: number;
  tokens: number;
}

/** The k3 estimator of KL(π_θ ‖ π_ref) per token from d = log π_ref − log π_θ: e^d − d − 1 (≥ 0, unbiased). */
export function k3(d: Tensor): Tensor {
  return addScalar(sub(exp(d), d), -1);
}

/**
 * The GRPO loss of one micro-batch. logp [m, L] (π_θ log-probs, differentiable); oldLogp, refLogp,
 * advantages-per-token and weights as plain arrays of the same layout ([m, L]); refLogp null when β = 0.
 */
export function grpoLoss(
  logp: Tensor, oldLogp: Float32Array, refLogp: Float32Array | null, adv: Float32Array, weights: Float32Array, o: GrpoLossOptions,
): { loss: Tensor; stats: GrpoLossStats } {
  const shape = logp.shape;
  const A = Tensor.from(adv, shape);
  const ratio = exp(sub(logp, Tensor.from(oldLogp, shape))); // r
  // min(r·Â, clip(r, 1 − ε_low, 1 + ε_high)·Â): where the clipped branch is the smaller one, clamp
  // passes no gradient, so the token contributes none (the min's gradient follows its smaller branch).
  let obj = minimum(mul(ratio, A), mul(clamp(ratio, 1 - o.epsLow, 1 + o.epsHigh), A));
  const kl = refLogp ? k3(sub(Tensor.from(refLogp, shape), logp)) : null; // d = log(π_ref/π_θ)
  if (kl && o.beta > 0) obj = sub(obj, mulScalar(kl, o.beta));
  const loss = mulScalar(sum(mul(obj, Tensor.from(weights, shape))), -1);

  // Statistics over the tokens that count (weight > 0).
  const lp = logp.contiguous().f32();
  const klv = kl ? kl.f32() : null;
  let low = 0, high = 0, tokens = 0, klSum = 0;
  for (let i = 0; i < lp.length; i++) {
    if (weights[i] === 0) continue;
    tokens++;
    const r = Math.exp(lp[i] - oldLogp[i]);
    if (adv[i] > 0 && r > 1 + o.epsHigh) high++;
    if (adv[i] < 0 && r < 1 - o.epsLow) low++;
    if (klv) klSum += klv[i];
  }
  return { loss, stats: { clipLow: tokens ? low / tokens : 0, clipHigh: tokens ? high / tokens : 0, kl: tokens ? klSum / tokens : 0, tokens } };
}
