// Accuracy against samples per problem.
// pass@k: the unbiased estimator of Chen et al. 2021 (openai/human-eval, evaluation.py): from n ≥ k
//   samples of which c are correct, pass@k = 1 − C(n−c, k)/C(n, k), computed stably as
//   1 − ∏_{i=n−c+1..n} (1 − k/i), and 1 when n − c < k.
// cons@k: majority vote over k samples (DeepSeek-R1 §3: cons@64 = the majority answer of 64 samples);
//   for k < n it is the expected accuracy of the vote over k samples drawn without replacement from the
//   n, estimated on `draws` seeded random subsets (ties go to the answer seen first in the subset's
//   random order); for k = n it is the single vote over all samples in their order.
import { Rng } from '../tensor/random.js';

/** Unbiased pass@k of one problem from n samples with c correct. */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || n < 1 || c < 0 || c > n || k < 1 || k > n) {
    throw new RangeError(`pass@k needs integers 1 ≤ k ≤ n and 0 ≤ c ≤ n, found n = ${n}, c = ${c}, k = ${k}`);
  }
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** One sample's extracted answer (null = none) and whether it is correct. */
export interface Vote {
  answer: string | null;
  correct: boolean;
}

/** The majority answer of votes in the given order (ties: first seen); null when no vote has an answer. */
export function majority(votes: readonly Vote[]): Vote | null {
  const tally = new Map<string, { n: number; first: number; vote: Vote }>();
  votes.forEach((v, i) => {
    if (v.answer === null) return;
    const e = tally.get(v.answer) ?? { n: 0, first: i, vote: v };
    e.n++;
    tally.set(v.answer, e);
  });
  let best: { n: number; first: number; vote: Vote } | null = null;
  for (const e of tally.values()) if (!best || e.n > best.n || (e.n === best.n && e.first < best.first)) best = e;
  return best?.vote ?? null;
}

/** Expected cons@k of one problem's n votes (see the file comment). */
export function consAtK(votes: readonly Vote[], k: number, rng: Rng, draws = 200): number {
  const n = votes.length;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`cons@k needs an integer 1 ≤ k ≤ n = ${n}, found k = ${k}`);
  if (k === n) return majority(votes)?.correct ? 1 : 0;
  const idx = votes.map((_, i) => i);
  let hits = 0;
  for (let d = 0; d < draws; d++) {
    // partial Fisher–Yates: the first k of a random permutation, in random order
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(n - i);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    if (majority(idx.slice(0, k).map((i) => votes[i]))?.correct) hits++;
  }
  return hits / draws;
}

/**
 * Expected best-of-k of one problem's n scored samples: k of the n are drawn without replacement, the
 * one a reward model scores highest is kept, and the result is its `good` (correct answer, clean
 * reply, …). Exact, not sampled: with the samples ranked by score (ties: the earlier sample ranks
 * higher), the r-th ranked (0-based) is the kept one exactly when it is drawn and none ranked above it
 * is, with probability C(n−1−r, k−1)/C(n, k).
 */
export function bestOfK(scores: readonly number[], good: readonly boolean[], k: number): number {
  const n = scores.length;
  if (good.length !== n) throw new RangeError(`best-of-k needs one score per sample: ${n} scores, ${good.length} outcomes`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`best-of-k needs an integer 1 ≤ k ≤ n = ${n}, found k = ${k}`);
  const order = scores.map((s, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  // p_r = C(n−1−r, k−1)/C(n, k): p_0 = k/n, p_{r+1} = p_r · (n−k−r)/(n−1−r)
  let p = k / n, e = 0;
  for (let r = 0; r <= n - k; r++) {
    if (good[order[r]!]) e += p;
    p *= (n - k - r) / (n - 1 - r);
  }
  return e;
}
