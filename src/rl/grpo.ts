// The GRPO trainer (DeepSeekMath §4.1; R1-Zero), as its algorithm: for each step, sample a group of
// G completions per prompt from π_old (rollout role, ./rollout.ts), score them (reward role,
// ./reward.ts), turn rewards into group-relative advantages and update the policy (learner role,
// ./learner.ts). By default the three roles run in this process; with `rolloutWorkers` the rollout
// and reward roles run in `tinyseek rollout-worker` processes fed through a BullMQ queue on Redis
// (../parallel/rollout-queue.ts), asynchronously with bounded staleness; with `dp` the run is split
// over MPI ranks by prompt group (./data-parallel.ts), sampling and training exactly what one
// process would. Metrics are named as TRL's; runs checkpoint and resume exactly.
import fs from 'node:fs';
import path from 'node:path';
import type { Rng } from '../tensor/index.js';
import { emptyPool } from '../tensor/index.js';
import { createModel, modelConfig } from '../model/registry.js';
import { loadModel, saveModel } from '../model/checkpoint.js';
import { Tokenizer } from '../tokenizer/index.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { Problem } from '../tasks/index.js';
import { Generator } from '../infer/generator.js';
import { completionStops, evaluate, promptIds } from '../infer/evaluate.js';
import type { EvalReport } from '../infer/evaluate.js';
import { MetricsWriter } from '../train/metrics.js';
import { Progress } from '../train/progress.js';
import type { ProgressMetrics } from '../train/progress.js';
import { loadTrainerCheckpoint, openRun, recipeDifferences, recipeChangedMessage, unlockRun } from '../train/checkpoint.js';
import { writeFileAtomic } from '../io/index.js';
import type { Communicator } from '../parallel/mpi.js';
import { DataParallel } from '../parallel/data-parallel.js';
import { rootFirst, CollectiveError } from '../parallel/root-first.js';
import { DataParallelRollouts, dpSplitProblem } from './data-parallel.js';
import { parseGrpoRecipe } from './config.js';
import type { GrpoRecipe } from './config.js';
import { rewardFunctions } from './rewards.js';
import type { RewardFn } from './rewards.js';
import { groupStd } from './advantages.js';
import { rewardSpec } from './reward.js';
import type { ScoredGroup, Scorer } from './reward.js';
import type { SamplingSettings } from './rollout.js';
import { PromptSampler } from './prompts.js';
import { InProcessRollouts } from './rollout-source.js';
import type { RolloutSource } from './rollout-source.js';
import { Learner, advantages, copyWeights } from './learner.js';
import { noSignalNote, stepRecord } from './step-metrics.js';
import type { StepRecord } from './step-metrics.js';
import { onStopSignals } from '../train/interrupted.js';

export { completionLogprobs, assembleBatch, policyGradient } from './policy-gradient.js';
export type { BatchSequence, GrpoBatch, PassOptions, PassStats } from './policy-gradient.js';
export { noSignalNote } from './step-metrics.js';

/** Rollouts by worker processes through a BullMQ queue on Redis instead of in this process. */
export interface RolloutWorkersOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Rollouts may be sampled by a policy up to this many versions older than the one they train (0: synchronous). */
  maxStaleness: number;
  /** Queue name (default tinyseek-rollouts). */
  queue?: string;
  /** The shared directory where policy versions are published (default <out>/policy-versions). */
  publishDir?: string;
  /** Give up when Redis stays unreachable this long (ms; default 120000). */
  redisTimeoutMs?: number;
}

/** Options of a GRPO run. */
export interface GrpoOptions {
  recipe: GrpoRecipe;
  out: string;
  resume?: boolean;
  quiet?: boolean;
  /** Stop after this step (tests). */
  stopAfter?: number;
  /** Called after every step with its metrics and the groups it sampled (on every data-parallel rank). */
  onStep?: (m: Record<string, number> & { step: number }, sampled: readonly ScoredGroup[]) => void;
  /** Reward functions replacing the recipe's rule rewards (R1 stages 2 and 4; in-process only). */
  rewardFns?: RewardFn[];
  /** Draws a step's prompts instead of the recipe's task problems (R1 stage 4 mixes in general prompts). */
  samplePrompts?: (rng: Rng, n: number) => Problem[];
  /** The prompt ids of a problem, instead of its prompt under the recipe's template (multi-turn prompts). */
  encodePrompt?: (p: Problem) => number[];
  /** Distributed rollouts (absent: in-process). */
  rolloutWorkers?: RolloutWorkersOptions;
  /** Data parallelism: this process is rank `comm.rank` of `comm.size` (see ./data-parallel.ts). */
  dp?: { comm: Communicator; bucketBytes?: number };
}

/** The result of a run. */
export interface GrpoResult {
  finalDir: string;
  lastStep: number;
  /** Stopped by Ctrl-C (SIGINT): `finalDir` is the checkpoint of `lastStep`; `--resume` continues. */
  interrupted: boolean;
  evals: { step: number; report: EvalReport }[];
}

/** Everything a running GRPO loop holds. */
interface Run {
  r: GrpoRecipe;
  opts: GrpoOptions;
  tok: Tokenizer;
  tokFiles: Record<string, Uint8Array>;
  learner: Learner;
  prompts: PromptSampler;
  gen: Generator;
  scorer: Scorer;
  sampling: SamplingSettings;
  metrics: MetricsWriter;
  /** completions.jsonl, when the recipe logs completions. */
  completions: MetricsWriter | null;
  start: number;
  /** Checkpoint state of the rollout source, when resuming. */
  sourceState: Record<string, unknown> | null;
  /** Data parallelism (null: one process). */
  dp: DataParallel | null;
  /** Whether this process writes the run's files and logs (rank 0, or the only process). */
  root: boolean;
}

/** Runs (or resumes) GRPO. Returns the final model directory. */
export async function grpo(opts: GrpoOptions): Promise<GrpoResult> {
  try {
    return await grpoLocked(opts);
  } finally {
    unlockRun(opts.out); // taken by openRun
    emptyPool(); // the next run in this process has other shapes
  }
}

/**
 * Opens the run folder (resuming from its newest complete checkpoint, with the reference model when
 * β > 0) and builds the learner, the prompt sampler, the generator and the scorer.
 */
function openGrpoRun(opts: GrpoOptions): Run {
  const r = opts.recipe, out = opts.out;
  const comm = opts.dp?.comm ?? null;
  const root = !comm || comm.rank === 0;
  if (comm && opts.rolloutWorkers) throw new CollectiveError('--dp and --rollout-workers do not combine: a data-parallel run samples its rollouts on its own ranks');
  const split = comm && dpSplitProblem(r.promptsPerStep, comm.size);
  if (split) throw new CollectiveError(split);
  // Rank 0 takes the run lock, cleans up after killed saves and chooses the checkpoint; the others load it.
  const load = (dir: string) => ({ ckpt: loadTrainerCheckpoint(dir), ref: r.beta > 0 ? loadModel(path.join(dir, 'ref')) : null });
  let loaded = null as ReturnType<typeof load> | null;
  const resumeDir = rootFirst(comm, () => {
    const resumed = openRun(out, opts.resume ?? false, load);
    const ck = resumed?.loaded.ckpt;
    const diffs = ck ? recipeDifferences(ck.state.recipe, r, parseGrpoRecipe) : [];
    if (diffs.length) throw new Error(recipeChangedMessage(out, diffs));
    loaded = resumed?.loaded ?? null;
    return resumed?.dir ?? null;
  });
  if (!root && resumeDir) loaded = load(resumeDir);
  const tok = Tokenizer.fromDir(r.init);
  const tokFiles: Record<string, Uint8Array> = {};
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) if (fs.existsSync(path.join(r.init, f))) tokFiles[f] = fs.readFileSync(path.join(r.init, f));
  const prompts = new PromptSampler(r, opts.encodePrompt ?? ((p) => promptIds(tok, p, r.template)), opts.samplePrompts);
  const c = loaded?.ckpt;
  if (c) {
    prompts.rng.setState((c.state.extra?.promptRng as number[]) ?? []);
    if (root) console.error(`resume: continuing from step ${c.state.step} (${resumeDir})`);
  }
  const policy = c ? c.model : loadModel(r.init);
  let ref = loaded?.ref ?? null;
  if (r.beta > 0 && !ref) {
    ref = createModel(modelConfig(policy), 0);
    copyWeights(ref, policy);
  }
  let dp: DataParallel | null = null;
  if (comm) {
    dp = new DataParallel(comm, policy.namedParameters(), { bucketBytes: opts.dp?.bucketBytes });
    dp.broadcast([...policy.namedTensors(), ...(ref?.namedTensors() ?? [])].map(([, t]) => t)); // every rank starts from rank 0's weights, as DDP
  }
  const learner = new Learner(policy, ref, r, tok.padId, c?.optimizer, dp);
  const gen = rolloutGenerator(policy, r, (ids) => tok.decode(ids));
  const sampling: SamplingSettings = { seed: r.seed, numGenerations: r.numGenerations, maxCompletionLength: r.maxCompletionLength, temperature: r.temperature, topP: r.topP, stopTokenIds: completionStops(tok) };
  const scorer: Scorer = { fns: opts.rewardFns ?? rewardFunctions(r.rewards), spec: rewardSpec(r), decode: (ids) => tok.decode(ids), eosId: tok.eosId };
  const start = c ? c.state.step : 0;
  const metrics = new MetricsWriter(out);
  const completions = r.logCompletions > 0 ? new MetricsWriter(out, 'completions.jsonl') : null;
  for (const w of [metrics, completions]) {
    if (!w || !root) continue;
    if (start > 0) w.truncateAfter(start);
    else if (fs.existsSync(w.file)) fs.rmSync(w.file);
  }
  if (root) writeFileAtomic(path.join(out, 'recipe.json'), JSON.stringify(r, null, 2) + '\n');
  const sourceState = (c?.state.extra?.rollouts as Record<string, unknown> | undefined) ?? null;
  return { r, opts, tok, tokFiles, learner, prompts, gen, scorer, sampling, metrics, completions, start, sourceState, dp, root };
}

/**
 * The generator a run samples (and evaluates) with: room for a step's completions at once (twice the
 * prompts when dynamic sampling replaces flat groups; at most 256 sequences) and at most 512 positions.
 */
export function rolloutGenerator(policy: CausalLM, r: GrpoRecipe, decode: (ids: number[]) => string): Generator {
  const perStep = r.promptsPerStep * r.numGenerations * (r.dynamicSampling === 'replace' ? 2 : 1);
  return new Generator(policy, { maxBatch: Math.min(256, perStep), maxLen: Math.min(policy.cfg.maxPositionEmbeddings, 512), decode });
}

/** The rollout source of a run: this process, or a queue of rollout workers. */
async function openSource(run: Run): Promise<RolloutSource> {
  const w = run.opts.rolloutWorkers;
  if (run.dp) return new DataParallelRollouts(run.dp.comm, run.gen, run.prompts, run.sampling, run.scorer);
  if (!w) return new InProcessRollouts(run.gen, run.prompts, run.sampling, run.scorer);
  if (run.opts.rewardFns) throw new Error('rollout workers score with the recipe\'s rule rewards; a caller\'s own reward functions (rewardFns) run in-process only');
  const { RolloutQueue } = await import('../parallel/rollout-queue.js');
  return RolloutQueue.open({
    ...w, out: run.opts.out, recipe: run.r, sampling: run.sampling, reward: run.scorer.spec, prompts: run.prompts,
    policy: run.learner.policy, tokFiles: run.tokFiles, start: run.start, state: run.sourceState,
  });
}

/**
 * Sample → score: the groups of step `step`. With dynamic sampling, groups whose rewards are all
 * equal are dropped ('drop') or replaced by groups of new prompts, up to 4 attempts ('replace').
 */
async function sampleStep(run: Run, source: RolloutSource, step: number): Promise<{ sampled: ScoredGroup[]; used: ScoredGroup[] }> {
  const r = run.r;
  const sampled: ScoredGroup[] = [], used: ScoredGroup[] = [];
  for (let attempt = 0; used.length < r.promptsPerStep && attempt < 4; attempt++) {
    const need = r.promptsPerStep - used.length;
    const groups = await source.groups(step, attempt, attempt === 0 || r.dynamicSampling !== 'replace' ? need : need * 2);
    sampled.push(...groups);
    for (const g of groups) {
      if (r.dynamicSampling !== 'off' && groupStd(g.rewards, r.numGenerations)[0] === 0) continue;
      if (used.length < r.promptsPerStep) used.push(g);
    }
    if (r.dynamicSampling !== 'replace') break;
  }
  return { sampled, used };
}

/** One GRPO step: sample → score → advantage → update. Returns its metrics record. */
async function grpoStep(run: Run, source: RolloutSource, step: number, t0: number): Promise<{ rec: StepRecord; sampled: ScoredGroup[] }> {
  const tStep = performance.now();
  run.learner.beginStep(step);
  const tokens0 = source.generatedTokens();
  const { sampled, used } = await sampleStep(run, source, step);
  const genSeconds = (performance.now() - tStep) / 1000;
  const adv = advantages(used, run.r);
  const stats = run.learner.update(step, used, adv);
  const rec = stepRecord(step, {
    sampled, used, stats, rewardNames: run.scorer.fns.map((f) => f.name),
    stepSeconds: (performance.now() - tStep) / 1000,
    generationTokensPerS: (source.generatedTokens() - tokens0) / Math.max(1e-9, genSeconds),
    elapsedMinutes: (performance.now() - t0) / 60000,
  });
  Object.assign(rec, (await source.stepMetrics?.()) ?? {});
  return { rec, sampled };
}

/** Writes a checkpoint of step `step`: learner, prompt generator, rollout source (rank 0 only: every rank holds the same state). */
async function saveRun(run: Run, source: RolloutSource, step: number): Promise<string> {
  if (!run.root) return '';
  const rollouts = source.checkpointState?.(step);
  const dir = run.learner.save(run.opts.out, step, { promptRng: run.prompts.rng.getState(), ...(rollouts ? { rollouts } : {}) }, run.tokFiles);
  await source.checkpointed?.(step);
  return dir;
}

/** Logs a step: metrics.jsonl, the caller's hook, the progress line. */
function logStep(run: Run, source: RolloutSource, progress: Progress, rec: StepRecord, sampled: readonly ScoredGroup[]): void {
  if (run.root) run.metrics.write(rec);
  if (run.completions && run.root) logCompletions(run, rec.step, sampled);
  run.opts.onStep?.(rec, sampled);
  const shown: ProgressMetrics = { reward: rec.reward, tokS: rec.generation_tokens_per_s, len: rec['completions/mean_length'] };
  for (const f of run.scorer.fns) shown[f.name] = rec[`rewards/${f.name}/mean`];
  Object.assign(shown, source.progressFields?.() ?? {});
  progress.update(rec.step, shown, noSignalNote(sampled.map((g) => g.rewards)));
}

/** The first `logCompletions` completions of a step, in group order, to completions.jsonl. */
function logCompletions(run: Run, step: number, sampled: readonly ScoredGroup[]): void {
  let left = run.r.logCompletions;
  for (const g of sampled) {
    for (let j = 0; j < g.completions.length && left > 0; j++, left--) {
      const c = g.completions[j]!;
      run.completions!.write({
        step, group: g.index, attempt: g.attempt, family: g.problem.family, difficulty: g.problem.difficulty, answer: g.problem.answer,
        prompt: g.problem.prompt, completion: run.scorer.decode(c.tokens.filter((t) => t !== run.scorer.eosId)), tokens: c.tokens.length,
        finish_reason: c.finishReason, reward: g.rewards[j], rewards: Object.fromEntries(Object.entries(g.perFn).map(([k, v]) => [k, v[j]])),
      });
    }
  }
}

/** Held-out evaluation every `eval.every` steps, recorded in metrics.jsonl. */
async function maybeEvaluate(run: Run, done: number, evals: GrpoResult['evals']): Promise<void> {
  const r = run.r;
  if (!(r.eval.every > 0 && done % r.eval.every === 0) || !run.root) return; // under DP the other ranks go on to the next step's collectives
  const report = await evaluate(run.gen, run.tok, { families: r.tasks.families, difficulties: r.eval.difficulties ?? r.tasks.difficulties, n: r.eval.n, k: r.eval.k, maxNewTokens: r.maxCompletionLength, seed: r.seed, template: r.template });
  evals.push({ step: done, report });
  run.metrics.write({ step: done, eval_pass1: report.mean.pass1, eval_greedy: report.mean.greedy, eval_lenient_pass1: report.mean.lenientPass1 });
}

async function grpoLocked(opts: GrpoOptions): Promise<GrpoResult> {
  const run = openGrpoRun(opts);
  const r = run.r;
  const source = await openSource(run);
  const progress = new Progress(r.steps, run.start, opts.quiet || !run.root, 'grpo', 'reward');
  const evals: GrpoResult['evals'] = [];
  const t0 = performance.now();
  let interrupted = false;
  const onStop = () => { interrupted = true; };
  const offSignals = onStopSignals(onStop, run.dp !== null);
  let step = run.start;
  try {
    for (; step < r.steps; step++) {
      if (opts.stopAfter !== undefined && step >= opts.stopAfter) break;
      let late = r.maxMinutes > 0 && (performance.now() - t0) / 60000 >= r.maxMinutes;
      if (run.dp) [interrupted, late] = run.dp.max([interrupted ? 1 : 0, late ? 1 : 0]).map((x) => x > 0); // the ranks stop together
      if (interrupted || late) break;
      const { rec, sampled } = await grpoStep(run, source, step, t0);
      await source.published?.(step + 1);
      logStep(run, source, progress, rec, sampled);
      const done = step + 1;
      if (r.checkpoint.every > 0 && done % r.checkpoint.every === 0 && done < r.steps) await saveRun(run, source, done);
      await maybeEvaluate(run, done, evals);
    }
    if (step < r.steps && (interrupted || opts.stopAfter !== undefined)) return { finalDir: await saveRun(run, source, step), lastStep: step, evals, interrupted };
    const finalDir = path.join(opts.out, 'final');
    if (run.root) saveModel(finalDir, run.learner.policy, { tokenizerFiles: run.tokFiles });
    await saveRun(run, source, step);
    return { finalDir, lastStep: step, evals, interrupted: false };
  } finally {
    offSignals();
    progress.stop();
    await source.close();
  }
}
