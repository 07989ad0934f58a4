// The learner role of GRPO: scored groups → group-relative advantages → μ optimizer passes of the
// clipped objective (minus β·KL to a frozen reference that is reset every N steps) → a new policy
// version. It owns the policy, the reference model and the optimizer, and checkpoints all three.
import path from 'node:path';
import { tidy, noGrad } from '../tensor/index.js';
import type { CausalLM } from '../model/causal-lm.js';
import { saveModel } from '../model/checkpoint.js';
import { AdamW, clipGradNorm } from '../nn/optim.js';
import { saveTrainerCheckpoint } from '../train/checkpoint.js';
import type { GrpoRecipe } from './config.js';
import type { ScoredGroup } from './reward.js';
import { groupAdvantages } from './advantages.js';
import { aggregationWeights } from './loss.js';
import type { AggregationDenominators } from './loss.js';
import { assembleBatch, completionLogprobs, policyGradient } from './policy-gradient.js';
import type { PassStats } from './policy-gradient.js';
import type { DataParallel } from '../parallel/data-parallel.js';
import { rankShare } from './data-parallel.js';

/** What one update measured (the first of the μ passes). */
export interface UpdateStats {
  loss: number;
  clipLow: number;
  clipHigh: number;
  kl: number;
  entropy: number;
  gradNorm: number;
  /** The learning rate after the update. */
  lr: number;
}

/** Copies weights (and buffers) from one model to another of the same config. */
export function copyWeights(dst: CausalLM, src: CausalLM): void {
  const s = new Map(src.namedTensors());
  for (const [n, t] of dst.namedTensors()) t.f32().set(s.get(n)!.f32());
}

/** Advantages Â of every completion of `groups` (flattened in group order), group-relative. */
export function advantages(groups: readonly ScoredGroup[], r: GrpoRecipe): Float64Array {
  return groupAdvantages(groups.flatMap((g) => g.rewards), r.numGenerations, r.scaleRewards);
}

/** The loss denominators of a step's groups: all their sequences, and the completion tokens of those the loss counts. */
function denominators(groups: readonly ScoredGroup[], r: GrpoRecipe): AggregationDenominators {
  let sequences = 0, tokens = 0;
  for (const g of groups) g.completions.forEach((c, j) => {
    sequences++;
    if (!(r.overlong === 'mask' && g.truncated[j])) tokens += c.tokens.length;
  });
  return { sequences, tokens };
}

/** This rank's groups of a step (rank r: groups r, r + N, …) and their advantages. */
function learnerShare(groups: readonly ScoredGroup[], adv: Float64Array, dp: DataParallel): { groups: ScoredGroup[]; adv: Float64Array } {
  const mine = rankShare(groups.map((g, i) => i), dp.rank, dp.size);
  const G = groups[0]?.completions.length ?? 0;
  return { groups: mine.map((i) => groups[i]), adv: Float64Array.from(mine.flatMap((i) => Array.from(adv.subarray(i * G, (i + 1) * G)))) };
}

/** A pass's statistics over all ranks (collective): the losses add up, the token means are re-weighted. */
function reducePass(dp: DataParallel, p: PassStats): PassStats {
  const [loss, low, high, kl, tokens, ent] = dp.sum([p.loss, p.clipLow * p.tokens, p.clipHigh * p.tokens, p.kl * p.tokens, p.tokens, (p.entropy ?? 0) * p.tokens]);
  const mean = (x: number) => (tokens ? x / tokens : 0);
  return { loss, tokens, clipLow: mean(low), clipHigh: mean(high), kl: mean(kl), entropy: p.entropy === null ? null : mean(ent) };
}

/** The GRPO learner: policy, optional reference model, AdamW. */
export class Learner {
  readonly opt: AdamW;

  /**
   * `restore` reloads the optimizer state of a checkpoint. `dp`: data parallelism over the policy's
   * parameters — this rank trains on its share of every step's groups and the gradients are summed
   * over the ranks (see ./data-parallel.ts).
   */
  constructor(
    readonly policy: CausalLM, readonly ref: CausalLM | null, private readonly r: GrpoRecipe, private readonly padId: number,
    restore?: (o: AdamW) => void, private readonly dp: DataParallel | null = null,
  ) {
    ref?.eval();
    policy.eval(); // no balance loss or routing statistics during RL; the routing bias stays fixed
    this.opt = new AdamW(policy.namedParameters(), { lr: r.lr, weightDecay: r.weightDecay });
    restore?.(this.opt);
  }

  /** Resets the reference model to the policy at the start of every `refResetEvery`-th step. */
  beginStep(step: number): void {
    if (this.ref && this.r.refResetEvery > 0 && step > 0 && step % this.r.refResetEvery === 0) copyWeights(this.ref, this.policy);
  }

  /** One GRPO update from the groups used at `step` and their advantages (no groups: nothing moves). */
  update(step: number, groups: readonly ScoredGroup[], adv: Float64Array): UpdateStats {
    const r = this.r, dp = this.dp;
    if (groups.length === 0) return { loss: 0, clipLow: 0, clipHigh: 0, kl: 0, entropy: 0, gradNorm: 0, lr: this.opt.lr }; // on every rank alike
    // Under data parallelism: this rank's groups, weighted by the denominators of all the step's groups.
    const global = dp ? denominators(groups, r) : undefined;
    if (dp) ({ groups, adv } = learnerShare(groups, adv, dp));
    const seqs = groups.flatMap((g) => g.completions.map((c, j) => ({ c, truncated: g.truncated[j], prompt: g.prompt })));
    const N = seqs.length; // 0 only on a data-parallel rank whose share is empty: it still takes part in the all-reduce
    const batch = N === 0 ? null : assembleBatch(seqs.map((x, i) => ({
      prompt: x.prompt, completion: x.c.tokens, logprobs: x.c.logprobs, advantage: adv[i], useful: !(r.overlong === 'mask' && x.truncated),
    })), this.padId);
    const weights = batch && aggregationWeights(batch.mask, N, batch.L, r.lossType, r.maxCompletionLength, global);
    const refLp = batch && this.refLogprobs(batch.ids, N, batch.L);
    let stats: UpdateStats | null = null;
    for (let it = 0; it < r.numIterations; it++) { // μ passes; the step's statistics are the first pass's
      this.opt.zeroGrad();
      let pass: PassStats = batch
        ? policyGradient(this.policy, batch, weights!, refLp, { epsLow: r.epsLow, epsHigh: r.epsHigh, beta: r.beta, temperature: r.temperature, microBatch: r.microBatch, beforeLastBackward: dp ? () => dp.beginBackward() : undefined }, it === 0)
        : { loss: 0, tokens: 0, clipLow: 0, clipHigh: 0, kl: 0, entropy: it === 0 ? 0 : null };
      if (dp) {
        if (!batch) dp.beginBackward();
        dp.finish(); // the gradients are now the sums over the ranks: the whole step's gradient
        pass = reducePass(dp, pass);
      }
      this.opt.lr = r.warmup > 0 && step < r.warmup ? (r.lr * (step + 1)) / r.warmup : r.lr;
      const gn = clipGradNorm(this.policy.parameters(), r.clip);
      noGrad(() => this.opt.step());
      stats ??= { loss: pass.loss, clipLow: pass.clipLow, clipHigh: pass.clipHigh, kl: pass.kl, entropy: pass.entropy ?? 0, gradNorm: gn, lr: 0 };
    }
    return { ...stats!, lr: this.opt.lr };
  }

  /** Reference log-probs [N, L] of a batch, once per batch (no gradient); null without a reference. */
  private refLogprobs(ids: Int32Array, N: number, L: number): Float32Array | null {
    const ref = this.ref;
    if (!ref) return null;
    const out = new Float32Array(N * L);
    for (let s = 0; s < N; s += this.r.microBatch) {
      const m = Math.min(this.r.microBatch, N - s);
      tidy(() => out.set(completionLogprobs(ref, ids.subarray(s * (L + 1), (s + m) * (L + 1)), m, L, this.r.temperature, false, false).logp.contiguous().f32(), s * L));
    }
    return out;
  }

  /** Writes a crash-safe checkpoint of step `step` (the reference model inside it); returns its folder. */
  save(out: string, step: number, extra: Record<string, unknown>, tokFiles: Record<string, Uint8Array>): string {
    const ref = this.ref;
    return saveTrainerCheckpoint(out, this.policy, this.opt, { step, seed: this.r.seed, recipe: this.r, extra }, tokFiles, {
      writeExtra: ref ? (dir) => saveModel(path.join(dir, 'ref'), ref) : undefined,
    });
  }
}
