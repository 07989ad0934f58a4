// The DeepSeekMoE router (DeepSeek-V3 eqs. 12–16 and inference/model.py `Gate`).
//
//   s = x·Wᵀ; s = sigmoid(s) (V3) or softmax(s) (V2)            scores [N, E]
//   selection uses s + b (e_score_correction_bias) — b affects WHICH experts, never the weights
//   group-limited routing: groups of E/n_group experts, group score = sum of its top-2 biased
//   scores (V3, noaux_tc) or max (V2, group_limited_greedy); keep topk_group groups, mask the rest to −∞
//   idx = topk(masked, k); w = s.gather(idx) (unbiased); w /= Σw if norm_topk_prob; w *= routed_scaling_factor
import { Tensor, Rng } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import type { ModelConfig } from './config.js';
import { linear, sigmoid, softmax, gather, sum, div, addScalar, mulScalar, contiguous } from '../ops/index.js';
import { backend } from '../backend/index.js';

/** Routing decision for N tokens. */
export interface Routing {
  /** Selected experts per token, int32 [N, k]. */
  indices: Tensor;
  /** Their combine weights (differentiable), [N, k]. */
  weights: Tensor;
  /** Unbiased affinity scores s (differentiable), [N, E] — used by the sequence-wise balance loss. */
  scores: Tensor;
}

/** Chooses experts on biased scores with group limits; pure function on plain arrays (testable by hand). */
export function selectExperts(
  scores: Float32Array, bias: Float32Array | null, N: number, E: number, k: number,
  nGroup: number, topkGroup: number, groupScore: 'top2sum' | 'max',
): Int32Array {
  const out = new Int32Array(N * k);
  const per = E / nGroup;
  const s = new Float64Array(E);
  const gs = new Float64Array(nGroup);
  const taken = new Uint8Array(Math.max(E, nGroup));
  for (let n = 0; n < N; n++) {
    for (let e = 0; e < E; e++) s[e] = scores[n * E + e] + (bias ? bias[e] : 0);
    if (nGroup > 1) {
      for (let g = 0; g < nGroup; g++) {
        let a = -Infinity, b = -Infinity; // top two of the group
        for (let j = 0; j < per; j++) {
          const v = s[g * per + j];
          if (v > a) { b = a; a = v; } else if (v > b) b = v;
        }
        gs[g] = groupScore === 'max' ? a : a + (per > 1 ? b : 0);
      }
      // keep the topk_group best groups (ties → lower group index), mask the others to −∞
      taken.fill(0, 0, nGroup);
      for (let r = 0; r < topkGroup; r++) {
        let best = -1;
        for (let g = 0; g < nGroup; g++) if (!taken[g] && (best < 0 || gs[g] > gs[best])) best = g;
        taken[best] = 1;
      }
      for (let g = 0; g < nGroup; g++) if (!taken[g]) for (let j = 0; j < per; j++) s[g * per + j] = -Infinity;
    }
    // top-k by repeated selection (k is small): highest first, ties → lower expert index
    taken.fill(0, 0, E);
    for (let j = 0; j < k; j++) {
      let best = -1;
      for (let e = 0; e < E; e++) if (!taken[e] && (best < 0 || s[e] > s[best])) best = e;
      taken[best] = 1;
      out[n * k + j] = best;
    }
  }
  return out;
}

/** The router: weight [E, D] and, for noaux_tc, the e_score_correction_bias [E] (a buffer, no gradient). */
export class Gate extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly cfg: ModelConfig, rng: Rng, std: number) {
    super();
    this.weight = this.param('weight', Tensor.randn([cfg.nRoutedExperts, cfg.hiddenSize], rng, std));
    this.bias = cfg.topkMethod === 'noaux_tc' ? this.buffer('e_score_correction_bias', Tensor.zeros([cfg.nRoutedExperts], { track: false })) : null;
  }

  /** x [N, D] → routing of every token. */
  forward(x: Tensor): Routing {
    const c = this.cfg;
    const E = c.nRoutedExperts, k = c.numExpertsPerTok, N = x.shape[0];
    const logits = linear(x, this.weight); // [N, E]
    const scores = c.scoringFunc === 'sigmoid' ? sigmoid(logits) : softmax(logits, -1);
    const grouped = c.topkMethod !== 'greedy' && c.nGroup > 1;
    const idx = selectExperts(
      scores.contiguous().f32(), this.bias ? this.bias.f32() : null, N, E, k,
      grouped ? c.nGroup : 1, grouped ? c.topkGroup : 1, c.topkMethod === 'noaux_tc' ? 'top2sum' : 'max',
    );
    const indices = Tensor.ints(idx, [N, k]);
    let weights = gather(scores, -1, indices); // unbiased scores of the chosen experts
    // HF deepseek_v3 normalizes whenever norm_topk_prob; deepseek_v2 only when k > 1.
    if (c.normTopkProb && (c.modelType === 'deepseek_v3' || k > 1)) weights = div(weights, addScalar(sum(weights, -1, true), 1e-20));
    if (c.routedScalingFactor !== 1) weights = mulScalar(weights, c.routedScalingFactor);
    return { indices, weights, scores };
  }

  /**
   * The routing of `forward` on plain arrays, for inference (no gradient, no scores kept): x [N, D] →
   * idx [N, k] and weights [N, k]. The same kernels in the same order (the logits GEMM, sigmoid or
   * softmax), the weights' sum in float64 rounded once as the sum kernel does, and every other step
   * rounded to float32 as the float32 kernels do, so the values equal `forward`'s bit for bit.
   */
  route(x: Tensor): { idx: Int32Array; weights: Float32Array } {
    const c = this.cfg;
    const E = c.nRoutedExperts, k = c.numExpertsPerTok, [N, D] = x.shape;
    const kern = backend();
    const logits = new Float32Array(N * E), scores = new Float32Array(N * E);
    kern.gemm(1, false, true, N, E, D, 1, contiguous(x).f32(), 0, D, this.weight.f32(), 0, D, 0, logits, 0, E);
    if (c.scoringFunc === 'sigmoid') kern.unary('sigmoid', N * E, scores, logits, 0);
    else kern.softmax(N, E, scores, logits);
    const grouped = c.topkMethod !== 'greedy' && c.nGroup > 1;
    const idx = selectExperts(
      scores, this.bias ? this.bias.f32() : null, N, E, k,
      grouped ? c.nGroup : 1, grouped ? c.topkGroup : 1, c.topkMethod === 'noaux_tc' ? 'top2sum' : 'max',
    );
    const weights = new Float32Array(N * k);
    for (let a = 0; a < N * k; a++) weights[a] = scores[Math.floor(a / k) * E + idx[a]];
    const norm = c.normTopkProb && (c.modelType === 'deepseek_v3' || k > 1);
    const eps = Math.fround(1e-20), f = Math.fround(c.routedScalingFactor);
    for (let n = 0; n < N; n++) {
      if (norm && k > 1) {
        let s = 0;
        for (let j = 0; j < k; j++) s += weights[n * k + j];
        const d = Math.fround(Math.fround(s) + eps);
        for (let j = 0; j < k; j++) weights[n * k + j] = Math.fround(weights[n * k + j] / d);
      } else if (norm) weights[n * k] = Math.fround(weights[n * k] / Math.fround(weights[n * k] + eps));
      if (c.routedScalingFactor !== 1) for (let j = 0; j < k; j++) weights[n * k + j] = Math.fround(weights[n * k + j] * f);
    }
    return { idx, weights };
  }
}
