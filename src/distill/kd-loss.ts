// Knowledge-distillation losses between a student's and a teacher's next-token distributions, one
// autograd op with its forward and backward side by side (as ops/loss.ts's cross-entropy).
//
// Per position n, with temperature τ, student logits z [V] and teacher distribution p:
//   q = softmax(z / τ)                       the student's distribution
//   p = softmax(z_T / τ)                     the teacher's (full vocabulary), or, top-k truncated,
//       p_i = exp(z_T,i / τ) / Σ_{j∈K} exp(z_T,j / τ) on the k stored ids K, 0 elsewhere (renormalized)
// and a divergence D_n(p, q):
//   forward KL  KL(p‖q) = Σ p (log p − log q)                 (Hinton et al. 2015; along teacher traces)
//   reverse KL  KL(q‖p) = Σ q (log q − log p)                 (mode seeking; GKD's β = 1)
//   JSD(β)      β KL(p‖m) + (1−β) KL(q‖m),  m = β p + (1−β) q  (Agarwal et al. 2024, GKD; as TRL's
//               generalized_jsd_loss: β = 0 is forward KL and β = 1 reverse KL, its limits once
//               divided by β resp. 1−β)
// The loss is τ² · Σ_n w_n D_n / Σ_n w_n (τ² keeps the gradient's scale independent of τ, Hinton §2).
//
// Backward: with s = z/τ and g_i = ∂D/∂q_i, ∂D/∂s_j = q_j (g_j − Σ_i q_i g_i) (the softmax Jacobian), and
//   forward KL  g_i = −p_i / q_i          →  ∂D/∂s = q − p
//   reverse KL  g_i = log q_i − log p_i + 1 →  ∂D/∂s_j = q_j (log q_j − log p_j − KL(q‖p))
//   JSD(β)      g_i = (1−β)(log q_i − log m_i)   (the p- and q-terms of ∂m cancel)
// so ∂L/∂z_j = τ · w_n / Σw · ∂D/∂s_j. Teacher values carry no gradient (they are targets).
// Computed in float64 per position.
import { Tensor } from '../tensor/index.js';
import { contiguous } from '../ops/shape.js';

/** Which divergence to minimize. */
export type Divergence = { kind: 'forward_kl' } | { kind: 'reverse_kl' } | { kind: 'jsd'; beta: number };

/** The teacher's distribution at every position: full-vocabulary logits, or the top-k ids and their logits. */
export type TeacherLogits =
  | { kind: 'full'; /** [N, V] */ logits: Float32Array }
  | { kind: 'topk'; k: number; /** [N, k] */ ids: Int32Array; /** [N, k] */ logits: Float32Array };

/** Options of kdLoss. */
export interface KdOptions {
  divergence: Divergence;
  /** Temperature τ of both softmaxes (default 1). */
  temperature?: number;
  /** [N] weight per position (0 skips it); default all 1. */
  weights?: Float32Array;
}

/** A KD loss whose arguments do not fit (shapes, top-k with a divergence that needs the full distribution, β outside [0, 1]). */
export class KdLossError extends Error {
  constructor(message: string) {
    super(`kdLoss: ${message}`);
    this.name = 'KdLossError';
  }
}

/** log-softmax of x/τ into out (float64). */
function logSoftmaxInto(x: Float32Array, off: number, n: number, tau: number, out: Float64Array): void {
  let mx = -Infinity;
  for (let i = 0; i < n; i++) mx = Math.max(mx, x[off + i]! / tau);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[off + i]! / tau - mx);
  const lse = mx + Math.log(s);
  for (let i = 0; i < n; i++) out[i] = x[off + i]! / tau - lse;
}

/**
 * The teacher's log-probabilities at position n over the full vocabulary (−∞ outside the top-k
 * ids when truncated), temperature-scaled and renormalized.
 */
function teacherLogProbs(t: TeacherLogits, n: number, V: number, tau: number, out: Float64Array, tmp: Float64Array): void {
  if (t.kind === 'full') return logSoftmaxInto(t.logits, n * V, V, tau, out);
  out.fill(-Infinity);
  logSoftmaxInto(t.logits, n * t.k, t.k, tau, tmp);
  for (let j = 0; j < t.k; j++) {
    const id = t.ids[n * t.k + j]!;
    if (id < 0 || id >= V) throw new KdLossError(`teacher top-k id ${id} at position ${n} is outside the vocabulary [0, ${V})`);
    out[id] = tmp[j]!;
  }
}

/**
 * D(p, q) at one position and its gradient ∂D/∂s (s = z/τ) into grad; lq, lp are log q and log p.
 * Terms with p_i = 0 contribute 0 to Σ p log(p/·) (0·log 0 = 0).
 */
export function divergenceAt(d: Divergence, lq: Float64Array, lp: Float64Array, grad: Float64Array | null): number {
  const V = lq.length;
  let D = 0;
  if (d.kind === 'forward_kl') {
    for (let i = 0; i < V; i++) {
      const p = Math.exp(lp[i]!);
      if (p > 0) D += p * (lp[i]! - lq[i]!);
      if (grad) grad[i] = Math.exp(lq[i]!) - p;
    }
    return D;
  }
  if (d.kind === 'reverse_kl') {
    for (let i = 0; i < V; i++) D += Math.exp(lq[i]!) * (lq[i]! - lp[i]!);
    if (grad) for (let i = 0; i < V; i++) grad[i] = Math.exp(lq[i]!) * (lq[i]! - lp[i]! - D);
    return D;
  }
  const b = d.beta;
  if (b === 0) return divergenceAt({ kind: 'forward_kl' }, lq, lp, grad);
  if (b === 1) return divergenceAt({ kind: 'reverse_kl' }, lq, lp, grad);
  // m = β p + (1−β) q; log m by log-sum-exp of the two weighted terms
  let gq = 0; // Σ_i q_i g_i
  for (let i = 0; i < V; i++) {
    const a = Math.log(b) + lp[i]!, c = Math.log(1 - b) + lq[i]!;
    const hi = Math.max(a, c);
    const lm = hi + Math.log(Math.exp(a - hi) + Math.exp(c - hi));
    const p = Math.exp(lp[i]!), q = Math.exp(lq[i]!);
    if (p > 0) D += b * p * (lp[i]! - lm);
    D += (1 - b) * q * (lq[i]! - lm);
    if (grad) {
      grad[i] = (1 - b) * (lq[i]! - lm); // g_i, turned into ∂D/∂s below
      gq += q * grad[i]!;
    }
  }
  if (grad) for (let i = 0; i < V; i++) grad[i] = Math.exp(lq[i]!) * (grad[i]! - gq);
  return D;
}

/**
 * The distillation loss τ² · Σ_n w_n D_n(p_n, q_n) / Σ_n w_n.
 * studentLogits [N, V] (or [B, T, V]; N = B·T) → scalar, differentiable in the student's logits.
 */
export function kdLoss(studentLogits: Tensor, teacher: TeacherLogits, o: KdOptions): Tensor {
  const V = studentLogits.shape[studentLogits.ndim - 1]!;
  const N = studentLogits.numel / V;
  const tau = o.temperature ?? 1;
  if (!(tau > 0)) throw new KdLossError(`temperature must be positive, found ${tau}`);
  if (o.divergence.kind === 'jsd' && !(o.divergence.beta >= 0 && o.divergence.beta <= 1)) throw new KdLossError(`JSD β must be in [0, 1], found ${o.divergence.beta}`);
  if (teacher.kind === 'full' && teacher.logits.length !== N * V) throw new KdLossError(`teacher logits have ${teacher.logits.length} values, expected N·V = ${N}·${V} = ${N * V} (the student's logits)`);
  if (teacher.kind === 'topk') {
    if (teacher.ids.length !== N * teacher.k || teacher.logits.length !== N * teacher.k) throw new KdLossError(`teacher top-k has ${teacher.ids.length} ids and ${teacher.logits.length} logits, expected N·k = ${N}·${teacher.k} = ${N * teacher.k} each`);
    const forwardOnly = o.divergence.kind === 'forward_kl' || (o.divergence.kind === 'jsd' && o.divergence.beta === 0);
    if (!forwardOnly) throw new KdLossError(`a top-k truncated teacher gives p = 0 outside its k ids, where reverse KL and JSD need log p; use the full distribution (no top-k) for ${o.divergence.kind}`);
  }
  const w = o.weights ?? new Float32Array(N).fill(1);
  if (w.length !== N) throw new KdLossError(`weights have ${w.length} values, expected one per position (${N})`);
  let W = 0;
  for (let n = 0; n < N; n++) W += w[n]!;
  const zc = contiguous(studentLogits);
  const z = zc.f32();
  // [N, V] ∂L/∂z, filled in the forward pass (the backward only scales it)
  const dz = new Float32Array(N * V);
  const lq = new Float64Array(V), lp = new Float64Array(V), tmp = new Float64Array(teacher.kind === 'topk' ? teacher.k : 0), g = new Float64Array(V);
  let total = 0;
  for (let n = 0; n < N; n++) {
    if (w[n] === 0) continue;
    logSoftmaxInto(z, n * V, V, tau, lq);
    teacherLogProbs(teacher, n, V, tau, lp, tmp);
    total += w[n]! * divergenceAt(o.divergence, lq, lp, g);
    const scale = (tau * w[n]!) / W;
    for (let i = 0; i < V; i++) dz[n * V + i] = scale * g[i]!;
  }
  const loss = Tensor.from(Float32Array.of(W > 0 ? (tau * tau * total) / W : 0), []);
  return loss.withNode([zc], () => ({
    op: 'kdLoss', inputs: [zc],
    backward: (gOut) => {
      const s = gOut.item();
      const dx = Tensor.from(new Float32Array(N * V), zc.shape);
      const d = dx.f32();
      for (let i = 0; i < d.length; i++) d[i] = s * dz[i]!;
      return [dx];
    },
  }));
}

/** The k largest of each row of teacher logits [N, V] → ids and logits [N, k] (what a top-k store keeps). */
export function topkLogits(logits: Float32Array, N: number, V: number, k: number): { ids: Int32Array; logits: Float32Array } {
  if (!(k >= 1 && k <= V)) throw new KdLossError(`top-k needs 1 ≤ k ≤ V = ${V}, found ${k}`);
  const ids = new Int32Array(N * k), vals = new Float32Array(N * k);
  const idx = Array.from({ length: V }, (_, i) => i);
  for (let n = 0; n < N; n++) {
    const row = logits.subarray(n * V, (n + 1) * V);
    idx.sort((a, b) => row[b]! - row[a]! || a - b);
    for (let j = 0; j < k; j++) {
      ids[n * k + j] = idx[j]!;
      vals[n * k + j] = row[idx[j]!]!;
    }
  }
  return { ids, logits: vals };
}
