// One learner pass of GRPO over a batch of rollouts: the batch layout (prompt ‖ completion ids,
// completion masks, behaviour log-probs and advantages per target position), the policy's token
// log-probs (and entropy) at temperature T, and forward + backward of the clipped objective
// micro-batch by micro-batch. The behaviour log-probs are the sampler's, recorded with the
// rollout, so rollouts sampled by an older policy version are corrected by the importance ratio
// π_θ/π_behav and clipped (asynchronous rollouts, bounded staleness).
import { Tensor, tidy, noGrad } from '../tensor/index.js';
import type { CausalLM } from '../model/causal-lm.js';
import { mulScalar, nllFromLogits } from '../ops/index.js';
import { grpoLoss } from './loss.js';
import type { GrpoLossOptions } from './loss.js';

/** Per-row entropy (nats) of softmax(logits) for logits [rows, V] laid out flat. */
function rowEntropy(logits: Float32Array, rows: number, V: number): Float32Array {
  const ent = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, logits[r * V + v]);
    let z = 0, s = 0;
    for (let v = 0; v < V; v++) { const l = logits[r * V + v] - mx, e = Math.exp(l); z += e; s += e * l; }
    ent[r] = Math.log(z) - s / z; // H = log Z − E[l]
  }
  return ent;
}

/**
 * Token log-probs (temperature-scaled) of each rollout's completion under `model`: [N, L] layout.
 * With `wantEntropy`, also the per-token entropy of the (temperature-scaled) distribution, read off
 * the same forward pass (no gradient flows through it).
 */
export function completionLogprobs(
  model: CausalLM, ids: Int32Array, N: number, L: number, temperature: number, withGrad: boolean, wantEntropy = !withGrad,
): { logp: Tensor; entropy: Float32Array | null; targets: Int32Array } {
  const inputs = new Int32Array(N * L), targets = new Int32Array(N * L);
  for (let i = 0; i < N; i++) for (let t = 0; t < L; t++) {
    inputs[i * L + t] = ids[i * (L + 1) + t];
    targets[i * L + t] = ids[i * (L + 1) + t + 1];
  }
  const run = () => {
    const logits = model.forward(Tensor.ints(inputs, [N, L])).logits;
    const scaled = temperature === 1 ? logits : mulScalar(logits, 1 / temperature);
    const logp = mulScalar(nllFromLogits(scaled, Tensor.ints(targets, [N, L])), -1);
    const entropy = wantEntropy ? rowEntropy(scaled.contiguous().f32(), N * L, model.cfg.vocabSize) : null;
    return { logp, entropy, targets };
  };
  return withGrad ? run() : noGrad(run);
}

/** One sequence of a GRPO batch: its prompt, the sampled completion with its log-probs under π_old, its advantage. */
export interface BatchSequence {
  prompt: readonly number[];
  completion: readonly number[];
  /** log π_old of each completion token (as sampled). */
  logprobs: ArrayLike<number>;
  advantage: number;
  /** False: the sequence is in the batch but masked out of the loss (DAPO's overlong masking). */
  useful: boolean;
}

/** A GRPO batch: ids [N, L+1] (prompt ‖ completion, right-padded) and, per target position, [N, L] arrays. */
export interface GrpoBatch {
  N: number;
  L: number;
  /** [N, L+1] */
  ids: Int32Array;
  /** [N, L]: 1 where target position t (predicting ids[t+1]) is a completion token of a useful sequence. */
  mask: Float32Array;
  /** [N, L]: log π_old of the target token (0 outside completions). */
  old: Float32Array;
  /** [N, L]: the sequence's advantage at its completion targets (0 elsewhere). */
  adv: Float32Array;
}

/**
 * Lays out a GRPO batch. Input position t predicts ids[t + 1], so with a prompt of P tokens the
 * completion's j-th token is the target at position P − 1 + j.
 */
export function assembleBatch(seqs: readonly BatchSequence[], padId: number): GrpoBatch {
  const N = seqs.length;
  const L = Math.max(...seqs.map((x) => x.prompt.length + x.completion.length)) - 1;
  const ids = new Int32Array(N * (L + 1)).fill(padId);
  const mask = new Float32Array(N * L), old = new Float32Array(N * L), adv = new Float32Array(N * L);
  seqs.forEach((x, i) => {
    const P = x.prompt.length, C = x.completion.length;
    ids.set(x.prompt, i * (L + 1));
    ids.set(x.completion, i * (L + 1) + P);
    for (let j = 0; j < C; j++) {
      const pos = i * L + P - 1 + j;
      mask[pos] = x.useful ? 1 : 0;
      old[pos] = x.logprobs[j];
      adv[pos] = x.advantage;
    }
  });
  return { N, L, ids, mask, old, adv };
}

/** Settings of a learner pass: the loss's clipping and KL, the sampling temperature, the micro-batch size. */
export interface PassOptions extends GrpoLossOptions {
  temperature: number;
  microBatch: number;
  /** Called before the last micro-batch's backward (data parallelism arms its gradient all-reduce there). */
  beforeLastBackward?: () => void;
}

/** What one learner pass measured over the batch's loss tokens. */
export interface PassStats {
  /** The batch loss (the sum of the micro-batches' losses). */
  loss: number;
  clipLow: number;
  clipHigh: number;
  kl: number;
  tokens: number;
  /** Mean entropy of π_θ over completion tokens (null unless asked for). */
  entropy: number | null;
}

/**
 * One learner pass over a GRPO batch: forward and backward of the clipped objective micro-batch by
 * micro-batch, adding ∇ of the batch loss into the policy's gradients (the caller zeroes, clips and steps).
 * weights [N, L] are the aggregation weights; refLp [N, L] the reference log-probs (null when β = 0).
 */
export function policyGradient(
  policy: CausalLM, b: GrpoBatch, weights: Float32Array, refLp: Float32Array | null, o: PassOptions, wantEntropy: boolean,
): PassStats {
  const { N, L } = b;
  let loss = 0, low = 0, high = 0, kl = 0, tokens = 0, entSum = 0, entCount = 0;
  for (let s = 0; s < N; s += o.microBatch) {
    const m = Math.min(o.microBatch, N - s);
    const part = (a: Float32Array) => a.subarray(s * L, (s + m) * L);
    tidy(() => {
      const cur = completionLogprobs(policy, b.ids.subarray(s * (L + 1), (s + m) * (L + 1)), m, L, o.temperature, true, wantEntropy);
      if (cur.entropy) for (let q = 0; q < m * L; q++) if (b.mask[s * L + q]) { entSum += cur.entropy[q]; entCount++; }
      const res = grpoLoss(cur.logp, part(b.old), refLp ? part(refLp) : null, part(b.adv), part(weights), o);
      if (s + m === N) o.beforeLastBackward?.();
      res.loss.backward();
      loss += res.loss.item();
      low += res.stats.clipLow * res.stats.tokens;
      high += res.stats.clipHigh * res.stats.tokens;
      kl += res.stats.kl * res.stats.tokens;
      tokens += res.stats.tokens;
    });
  }
  return {
    loss, tokens, clipLow: tokens ? low / tokens : 0, clipHigh: tokens ? high / tokens : 0, kl: tokens ? kl / tokens : 0,
    entropy: wantEntropy ? (entCount ? entSum / entCount : 0) : null,
  };
}
