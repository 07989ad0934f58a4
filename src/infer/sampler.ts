// Token sampling from one row of logits: greedy, temperature, then top-k, top-p (nucleus) and min-p,
// in that order (as Hugging Face's warpers and vLLM): each filter sees the distribution renormalized
// over what the previous one kept, then one token is drawn from what is left.
import type { Rng } from '../tensor/random.js';

/** Sampling parameters of one request. */
export interface SamplingParams {
  /** 0 = greedy (argmax). Default 1. */
  temperature?: number;
  /** Nucleus mass in (0, 1]: keep the fewest most likely tokens whose mass reaches it. Default 1 (off). */
  topP?: number;
  /** Keep only the k most likely tokens; 0 = off. */
  topK?: number;
  /** Keep only tokens with probability ≥ minP × the most likely token's; 0 = off. */
  minP?: number;
}

/** The sampled token and its log-probability under the temperature-scaled distribution (before top-k/top-p). */
export interface Sample {
  token: number;
  logprob: number;
}

/**
 * Samples a token from logits (length V). The returned log-probability is log softmax(logits / T)
 * at the token (T = 1 for greedy): what GRPO uses as π_old, independent of the truncation.
 * Ties in probability are ordered by token id (the lower id is kept first).
 */
export function sampleToken(logits: Float32Array, p: SamplingParams, rng: Rng, scratch?: Float64Array): Sample {
  const V = logits.length;
  const T = p.temperature ?? 1;
  const invT = T > 0 ? 1 / T : 1;
  let mx = -Infinity, arg = 0;
  for (let i = 0; i < V; i++) if (logits[i] > mx) { mx = logits[i]; arg = i; }
  if (T <= 0) {
    // Greedy: only the normalizer of the logprob (the same sum as below, without storing the terms).
    let z = 0;
    for (let i = 0; i < V; i++) z += Math.exp(logits[i] - mx);
    return { token: arg, logprob: logits[arg] - mx - Math.log(z) };
  }
  const probs = scratch && scratch.length >= V ? scratch : new Float64Array(V); // unnormalized: e^{(l − max)/T}
  let z = 0;
  for (let i = 0; i < V; i++) { const e = Math.exp((logits[i] - mx) * invT); probs[i] = e; z += e; }
  const logZ = Math.log(z);
  const logprobOf = (tok: number) => (logits[tok] - mx) * invT - logZ;
  if (T <= 0) return { token: arg, logprob: logprobOf(arg) };

  const topK = p.topK ?? 0, topP = p.topP ?? 1, minP = p.minP ?? 0;
  if ((topK > 0 && topK < V) || topP < 1 || minP > 0) {
    // Sort candidate ids by probability (descending, ties by id); the kept set is a prefix of it.
    const ids = Array.from({ length: V }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
    let keep = topK > 0 ? Math.min(topK, V) : V;
    const massOf = (n: number) => { let m = 0; for (let j = 0; j < n; j++) m += probs[ids[j]]; return m; };
    if (topP < 1) {
      // The shortest prefix whose mass (renormalized over the top-k set) reaches topP.
      const target = topP * massOf(keep);
      let cum = 0, n = 0;
      while (n < keep) {
        cum += probs[ids[n++]];
        if (cum >= target) break;
      }
      keep = n;
    }
    if (minP > 0) {
      const threshold = minP * probs[ids[0]];
      while (keep > 1 && probs[ids[keep - 1]] < threshold) keep--;
    }
    let u = rng.uniform() * massOf(keep);
    for (let j = 0; j < keep; j++) {
      u -= probs[ids[j]];
      if (u <= 0) return { token: ids[j], logprob: logprobOf(ids[j]) };
    }
    return { token: ids[keep - 1], logprob: logprobOf(ids[keep - 1]) };
  }
  let u = rng.uniform() * z;
  for (let i = 0; i < V; i++) {
    u -= probs[i];
    if (u <= 0) return { token: i, logprob: logprobOf(i) };
  }
  return { token: arg, logprob: logprobOf(arg) };
}
