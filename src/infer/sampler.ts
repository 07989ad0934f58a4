// Token sampling from one row of logits: greedy, temperature, top-k, top-p (nucleus).
import type { Rng } from '../tensor/random.js';

/** Sampling parameters of one request. */
export interface SamplingParams {
  /** 0 = greedy (argmax). Default 1. */
  temperature?: number;
  /** Nucleus mass in (0, 1]. Default 1 (off). */
  topP?: number;
  /** Keep only the k most likely tokens; 0 = off. */
  topK?: number;
}

/** The sampled token and its log-probability under the temperature-scaled distribution (before top-k/top-p). */
export interface Sample {
  token: number;
  logprob: number;
}

/**
 * Samples a token from logits (length V). The returned log-probability is log softmax(logits / T)
 * at the token (T = 1 for greedy): what GRPO uses as π_old, independent of the truncation.
 */
export function sampleToken(logits: Float32Array, p: SamplingParams, rng: Rng, scratch?: Float64Array): Sample {
  const V = logits.length;
  const T = p.temperature ?? 1;
  const invT = T > 0 ? 1 / T : 1;
  let mx = -Infinity, arg = 0;
  for (let i = 0; i < V; i++) if (logits[i] > mx) { mx = logits[i]; arg = i; }
  const probs = scratch && scratch.length >= V ? scratch : new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) { const e = Math.exp((logits[i] - mx) * invT); probs[i] = e; z += e; }
  const logZ = Math.log(z);
  const logprobOf = (tok: number) => (logits[tok] - mx) * invT - logZ;
  if (T <= 0) return { token: arg, logprob: logprobOf(arg) };

  const topK = p.topK ?? 0, topP = p.topP ?? 1;
  if ((topK > 0 && topK < V) || topP < 1) {
    // Sort candidate ids by probability (descending, ties by id) and cut.
    const ids = Array.from({ length: V }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
    let keep = topK > 0 ? Math.min(topK, V) : V;
    if (topP < 1) {
      let cum = 0, n = 0;
      for (; n < keep; n++) {
        cum += probs[ids[n]] / z;
        if (cum >= topP) { n++; break; }
      }
      keep = Math.max(1, Math.min(keep, n));
    }
    let mass = 0;
    for (let j = 0; j < keep; j++) mass += probs[ids[j]];
    let u = rng.uniform() * mass;
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
