// The GRPO trainer (DeepSeekMath §4.1; R1-Zero): for each prompt sample a group of G completions
// from π_old with the shared Generator, score them with rule-based rewards, turn rewards into
// group-relative advantages, and take μ optimizer passes of the clipped objective (minus β·KL to a
// frozen reference reset every N steps). Metrics are named as TRL's; runs checkpoint and resume exactly.
import fs from 'node:fs';
import path from 'node:path';
import { Tensor, Rng, tidy, noGrad } from '../tensor/index.js';
import type { CausalLM } from '../model/causal-lm.js';
import { createModel, modelConfig } from '../model/registry.js';
import { loadModel } from '../model/checkpoint.js';
import { AdamW, clipGradNorm } from '../nn/optim.js';
import { Tokenizer } from '../tokenizer/index.js';
import { sampleProblem, hashSeed } from '../tasks/index.js';
import type { Problem } from '../tasks/index.js';
import { Generator } from '../infer/generator.js';
import type { GenerateResult } from '../infer/generator.js';
import { completionStops, evaluate, promptIds } from '../infer/evaluate.js';
import type { EvalReport } from '../infer/evaluate.js';
import { mulScalar, nllFromLogits } from '../ops/index.js';
import { MetricsWriter } from '../train/metrics.js';
import { Progress } from '../train/progress.js';
import type { ProgressMetrics } from '../train/progress.js';
import { loadTrainerCheckpoint, openRun, saveTrainerCheckpoint, sameRecipe, unlockRun } from '../train/checkpoint.js';
import { writeFileAtomic } from '../io/index.js';
import { saveModel } from '../model/checkpoint.js';
import { parseGrpoRecipe } from './config.js';
import type { GrpoRecipe } from './config.js';
import { rewardFunctions, scoreCompletions } from './rewards.js';
import type { CompletionInfo, RewardFn } from './rewards.js';
import { groupAdvantages, groupStd, meanStd } from './advantages.js';
import { aggregationWeights, grpoLoss } from './loss.js';
import type { GrpoLossOptions } from './loss.js';

/** Options of a GRPO run. */
export interface GrpoOptions {
  recipe: GrpoRecipe;
  out: string;
  resume?: boolean;
  quiet?: boolean;
  /** Stop after this step (tests). */
  stopAfter?: number;
  onStep?: (m: Record<string, number> & { step: number }) => void;
  /** Reward functions replacing the recipe's rule rewards (R1 stages 2 and 4). */
  rewardFns?: RewardFn[];
  /** Draws a step's prompts instead of the recipe's task problems (R1 stage 4 mixes in general prompts). */
  samplePrompts?: (rng: Rng, n: number) => Problem[];
  /** The prompt ids of a problem, instead of its prompt under the recipe's template (multi-turn prompts). */
  encodePrompt?: (p: Problem) => number[];
}

/** One rollout: a prompt's completion with its reward and advantage. */
interface Rollout {
  problem: Problem;
  prompt: number[];
  result: GenerateResult;
  reward: number;
  advantage: number;
  truncated: boolean;
}

/** Copies weights (and buffers) from one model to another of the same config. */
function copyWeights(dst: CausalLM, src: CausalLM): void {
  const s = new Map(src.namedTensors());
  for (const [n, t] of dst.namedTensors()) t.f32().set(s.get(n)!.f32());
}

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

/**
 * The progress note of a step whose every group had equal rewards — all advantages are 0, so the
 * rewards teach nothing (only the KL term, if any, moves the policy) — or undefined when some group
 * had a spread: `no signal: all 8 groups had equal rewards (every reward 0)`.
 */
export function noSignalNote(groups: readonly (readonly number[])[]): string | undefined {
  if (groups.some((g) => g.some((r) => r !== g[0]))) return undefined;
  const all = groups.flat();
  const same = all.length > 0 && all.every((r) => r === all[0]) ? ` (every reward ${Number(all[0].toFixed(4))})` : '';
  const n = groups.length;
  return `no signal: ${n === 1 ? 'the only group had' : `all ${n} groups had`} equal rewards${same}`;
}

/** Runs (or resumes) GRPO. Returns the final model directory. */
export async function grpo(opts: GrpoOptions): Promise<{ finalDir: string; lastStep: number; evals: { step: number; report: EvalReport }[] }> {
  try {
    return await grpoLocked(opts);
  } finally {
    unlockRun(opts.out); // taken by openRun
  }
}

async function grpoLocked(opts: GrpoOptions): Promise<{ finalDir: string; lastStep: number; evals: { step: number; report: EvalReport }[] }> {
  const r = opts.recipe;
  const out = opts.out;
  // Cleans up after killed saves; refuses to start over a folder with history; picks the newest
  // complete checkpoint (with its reference model when beta > 0) on --resume.
  const resumed = openRun(out, opts.resume ?? false, (dir) => ({
    ckpt: loadTrainerCheckpoint(dir),
    ref: r.beta > 0 ? loadModel(path.join(dir, 'ref')) : null,
  }));

  const tok = Tokenizer.fromDir(r.init);
  const tokFiles: Record<string, Uint8Array> = {};
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) if (fs.existsSync(path.join(r.init, f))) tokFiles[f] = fs.readFileSync(path.join(r.init, f));

  let policy: CausalLM;
  let start = 0;
  let promptRng = new Rng(hashSeed('grpo-prompts', r.seed));
  let restore: ((o: AdamW) => void) | null = null;
  let ref: CausalLM | null = null;
  if (resumed) {
    const c = resumed.loaded.ckpt;
    if (!sameRecipe(c.state.recipe, r, parseGrpoRecipe)) throw new Error(`--resume: the recipe differs from the one ${out} was started with`);
    policy = c.model;
    start = c.state.step;
    restore = c.optimizer;
    promptRng.setState((c.state.extra?.promptRng as number[]) ?? []);
    ref = resumed.loaded.ref;
    console.error(`resume: continuing from step ${start} (${resumed.dir})`);
  } else {
    policy = loadModel(r.init);
  }
  if (r.beta > 0 && !ref) {
    ref = createModel(modelConfig(policy), 0);
    copyWeights(ref, policy);
  }
  ref?.eval();
  policy.eval(); // no balance loss or routing statistics during RL; the routing bias stays fixed
  const opt = new AdamW(policy.namedParameters(), { lr: r.lr, weightDecay: r.weightDecay });
  if (restore) restore(opt);

  const gen = new Generator(policy, { maxBatch: Math.min(256, r.promptsPerStep * r.numGenerations * (r.dynamicSampling === 'replace' ? 2 : 1)), maxLen: Math.min(policy.cfg.maxPositionEmbeddings, 512), decode: (ids) => tok.decode(ids) });
  const stops = completionStops(tok);
  const fns = opts.rewardFns ?? rewardFunctions(r.rewards);
  const metrics = new MetricsWriter(out);
  if (start > 0) metrics.truncateAfter(start);
  else if (fs.existsSync(metrics.file)) fs.rmSync(metrics.file);
  writeFileAtomic(path.join(out, 'recipe.json'), JSON.stringify(r, null, 2) + '\n');

  const G = r.numGenerations;
  const progress = new Progress(r.steps, start, opts.quiet, 'grpo', 'reward');
  const evals: { step: number; report: EvalReport }[] = [];
  const t0 = performance.now();
  let interrupted = false;
  const onSigint = () => { interrupted = true; };
  process.on('SIGINT', onSigint);
  const save = (step: number) => {
    // The reference model is written inside the checkpoint before it is marked complete.
    return saveTrainerCheckpoint(out, policy, opt, { step, seed: r.seed, recipe: r, extra: { promptRng: promptRng.getState() } }, tokFiles, {
      writeExtra: ref ? (dir) => saveModel(path.join(dir, 'ref'), ref!) : undefined,
    });
  };
  const samplePrompts = (n: number): Problem[] => opts.samplePrompts ? opts.samplePrompts(promptRng, n) : Array.from({ length: n }, () => {
    const fam = r.tasks.families[promptRng.int(r.tasks.families.length)];
    const d = r.tasks.difficulties[promptRng.int(r.tasks.difficulties.length)];
    return sampleProblem(fam, d, 'train', promptRng.nextU32());
  });

  let step = start;
  try {
    for (; step < r.steps; step++) {
      if (interrupted || (opts.stopAfter !== undefined && step >= opts.stopAfter)) break;
      if (r.maxMinutes > 0 && (performance.now() - t0) / 60000 >= r.maxMinutes) break;
      const tStep = performance.now();
      if (ref && r.refResetEvery > 0 && step > 0 && step % r.refResetEvery === 0) copyWeights(ref, policy);

      // ---- rollouts
      const tGen = performance.now();
      const genTokens0 = gen.stats.generatedTokens;
      const rollouts: Rollout[] = [];
      let allGroups: Rollout[][] = [];
      let attempts = 0;
      while (rollouts.length < r.promptsPerStep * G && attempts < 4) {
        const need = r.promptsPerStep - rollouts.length / G;
        const problems = samplePrompts(attempts === 0 || r.dynamicSampling !== 'replace' ? need : need * 2);
        const prompts = problems.map((p) => (opts.encodePrompt ? opts.encodePrompt(p) : promptIds(tok, p, r.template)));
        const reqs = problems.flatMap((p, i) => Array.from({ length: G }, (_, j) => ({
          prompt: prompts[i], maxNewTokens: r.maxCompletionLength, sampling: { temperature: r.temperature, topP: r.topP },
          seed: hashSeed('grpo-sample', r.seed, step, attempts, i, j), stopTokenIds: stops,
        })));
        const results = await gen.generateAll(reqs);
        const infos: CompletionInfo[] = results.map((res, k) => {
          const toks = res.finishReason === 'stop' && res.tokens.at(-1) === tok.eosId ? res.tokens.slice(0, -1) : res.tokens;
          return { problem: problems[Math.floor(k / G)], text: tok.decode(toks), length: res.tokens.length, truncated: res.finishReason === 'length' };
        });
        const { total } = scoreCompletions(fns, infos);
        if (r.overlong === 'soft') {
          // DAPO's soft overlong punishment over the last `overlongCache` tokens of the budget.
          const Lmax = r.maxCompletionLength, cache = r.overlongCache;
          infos.forEach((info, k) => { if (info.length > Lmax - cache) total[k] += Math.max(-1, (Lmax - cache - info.length) / Math.max(1, cache)); });
        }
        const groups: Rollout[][] = problems.map((p, i) => Array.from({ length: G }, (_, j) => {
          const k = i * G + j;
          return { problem: p, prompt: prompts[i], result: results[k], reward: total[k], advantage: 0, truncated: infos[k].truncated };
        }));
        allGroups = allGroups.concat(groups);
        for (const g of groups) {
          const std = groupStd(g.map((x) => x.reward), G)[0];
          if (r.dynamicSampling !== 'off' && std === 0) continue;
          if (rollouts.length < r.promptsPerStep * G) rollouts.push(...g);
        }
        attempts++;
        if (r.dynamicSampling !== 'replace') break;
      }
      const genSeconds = (performance.now() - tGen) / 1000;
      const genTokens = gen.stats.generatedTokens - genTokens0;

      // ---- advantages
      const adv = groupAdvantages(rollouts.map((x) => x.reward), G, r.scaleRewards);
      rollouts.forEach((x, i) => (x.advantage = adv[i]));

      // ---- the batch: [N, L+1] ids (right-padded), completion masks, old log-probs, per-token advantages
      const N = rollouts.length;
      let stepStats = { loss: 0, clipLow: 0, clipHigh: 0, kl: 0, entropy: 0, gradNorm: 0 };
      if (N > 0) {
        const { L, ids, mask, old, adv: advTok } = assembleBatch(rollouts.map((x) => ({
          prompt: x.prompt, completion: x.result.tokens, logprobs: x.result.logprobs, advantage: x.advantage,
          useful: !(r.overlong === 'mask' && x.truncated),
        })), tok.padId);
        const weights = aggregationWeights(mask, N, L, r.lossType, r.maxCompletionLength);
        // Reference log-probs, once per batch (no gradient).
        let refLp: Float32Array | null = null;
        if (ref) {
          refLp = new Float32Array(N * L);
          for (let s = 0; s < N; s += r.microBatch) {
            const m = Math.min(r.microBatch, N - s);
            tidy(() => refLp!.set(completionLogprobs(ref!, ids.subarray(s * (L + 1), (s + m) * (L + 1)), m, L, r.temperature, false, false).logp.contiguous().f32(), s * L));
          }
        }
        // μ optimization passes over the rollouts; the step's statistics are the first pass's.
        const batch: GrpoBatch = { N, L, ids, mask, old, adv: advTok };
        for (let it = 0; it < r.numIterations; it++) {
          opt.zeroGrad();
          const pass = policyGradient(policy, batch, weights, refLp, { epsLow: r.epsLow, epsHigh: r.epsHigh, beta: r.beta, temperature: r.temperature, microBatch: r.microBatch }, it === 0);
          opt.lr = r.warmup > 0 && step < r.warmup ? (r.lr * (step + 1)) / r.warmup : r.lr;
          const gn = clipGradNorm(policy.parameters(), r.clip);
          noGrad(() => opt.step());
          if (it === 0) stepStats = { loss: pass.loss, clipLow: pass.clipLow, clipHigh: pass.clipHigh, kl: pass.kl, entropy: pass.entropy ?? 0, gradNorm: gn };
        }
      }

      // ---- metrics (TRL names)
      const rewardsAll = allGroups.flat().map((x) => x.reward);
      const mean = (a: number[]) => meanStd(a).mean;
      const std = (a: number[]) => meanStd(a).std;
      const lens = allGroups.flat().map((x) => x.result.tokens.length);
      const zeroStd = allGroups.filter((g) => groupStd(g.map((x) => x.reward), G)[0] === 0).length / Math.max(1, allGroups.length);
      const rec: Record<string, number> & { step: number } = {
        step: step + 1,
        loss: stepStats.loss,
        reward: mean(rewardsAll),
        reward_std: std(rewardsAll),
        frac_reward_zero_std: zeroStd,
        'completions/mean_length': mean(lens),
        'completions/min_length': lens.length ? Math.min(...lens) : 0,
        'completions/max_length': lens.length ? Math.max(...lens) : 0,
        'completions/clipped_ratio': allGroups.flat().filter((x) => x.truncated).length / Math.max(1, lens.length),
        kl: stepStats.kl,
        entropy: stepStats.entropy,
        'clip_ratio/low_mean': stepStats.clipLow,
        'clip_ratio/high_mean': stepStats.clipHigh,
        'clip_ratio/region_mean': stepStats.clipLow + stepStats.clipHigh,
        grad_norm: stepStats.gradNorm,
        lr: opt.lr,
        num_groups_used: N / G,
        step_time: (performance.now() - tStep) / 1000,
        generation_tokens_per_s: genTokens / Math.max(1e-9, genSeconds),
        elapsed_minutes: (performance.now() - t0) / 60000,
      };
      for (const f of fns) {
        const vals = allGroups.flat().map((x) => {
          const info: CompletionInfo = { problem: x.problem, text: tok.decode(x.result.tokens.at(-1) === tok.eosId ? x.result.tokens.slice(0, -1) : x.result.tokens), length: x.result.tokens.length, truncated: x.truncated };
          return f.fn(info);
        });
        rec[`rewards/${f.name}/mean`] = mean(vals);
        rec[`rewards/${f.name}/std`] = std(vals);
      }
      metrics.write(rec);
      opts.onStep?.(rec);
      const shown: ProgressMetrics = { reward: rec.reward, tokS: rec.generation_tokens_per_s, len: rec['completions/mean_length'] };
      for (const f of fns) shown[f.name] = rec[`rewards/${f.name}/mean`];
      progress.update(step + 1, shown, noSignalNote(allGroups.map((g) => g.map((x) => x.reward))));
      const done = step + 1;
      if (r.checkpoint.every > 0 && done % r.checkpoint.every === 0 && done < r.steps) save(done);
      if (r.eval.every > 0 && done % r.eval.every === 0) {
        const report = await evaluate(gen, tok, { families: r.tasks.families, difficulties: r.eval.difficulties ?? r.tasks.difficulties, n: r.eval.n, k: r.eval.k, maxNewTokens: r.maxCompletionLength, seed: r.seed, template: r.template });
        evals.push({ step: done, report });
        metrics.write({ step: done, eval_pass1: report.mean.pass1, eval_greedy: report.mean.greedy, eval_lenient_pass1: report.mean.lenientPass1 });
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    progress.stop();
  }
  if (step < r.steps && (interrupted || opts.stopAfter !== undefined)) {
    const dir = save(step);
    return { finalDir: dir, lastStep: step, evals };
  }
  const finalDir = path.join(out, 'final');
  saveModel(finalDir, policy, { tokenizerFiles: tokFiles });
  save(step);
  return { finalDir, lastStep: step, evals };
}
