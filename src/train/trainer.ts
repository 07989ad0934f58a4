// The pretraining / SFT trainer: packed (or chat) batches → model.loss (DeepseekV3: CE + λ·MTP + balance;
// a dense Qwen2 / Llama student: CE)
// → backward → global-norm clip → AdamW on DeepSeek-V3's schedule shape → auxiliary-loss-free bias
// update from the step's expert load. Metrics to `<out>/metrics.jsonl`, checkpoints that resume
// bit-exactly, Ctrl-C saves and exits, periodic held-out greedy evaluation.
import fs from 'node:fs';
import path from 'node:path';
import { Tensor, tidy, noGrad, emptyPool } from '../tensor/index.js';
import { resolveAnyConfig } from '../model/presets.js';
import { ConfigError } from '../model/config.js';
import { anyConfigFromHF, anyConfigToHF, asDeepseek, createModel, deepseekConfig, loadAnyConfigPath } from '../model/registry.js';
import type { AnyModelConfig } from '../model/registry.js';
import type { CausalLM } from '../model/causal-lm.js';
import { loadModel, saveModel } from '../model/checkpoint.js';
import { AdamW, clipGradNorm } from '../nn/optim.js';
import { deepseekV3Schedule, warmupCosine } from '../nn/schedule.js';
import { Tokenizer } from '../tokenizer/index.js';
import { loadRecipe, readCorpus, writeCorpus } from '../data/index.js';
import { copyFileAtomic, writeFileAtomic } from '../io/index.js';
import { Generator } from '../infer/generator.js';
import { evaluate } from '../infer/evaluate.js';
import type { EvalReport } from '../infer/evaluate.js';
import type { Problem, VerifyResult } from '../tasks/index.js';
import { MetricsWriter } from './metrics.js';
import { PackedDataset, encodeDocuments } from './packing.js';
import { copyProbe } from '../infer/copy-probe.js';
import { SftDataset } from './sft-data.js';
import { parseRunRecipe } from './recipe.js';
import type { Recipe } from './recipe.js';
import { loadTrainerCheckpoint, openRun, saveTrainerCheckpoint, recipeDifferences, recipeChangedMessage, unlockRun } from './checkpoint.js';
import { Progress } from './progress.js';
import type { Communicator } from '../parallel/mpi.js';
import { DataParallel } from '../parallel/data-parallel.js';
import type { ReduceStats } from '../parallel/data-parallel.js';
import { ShardedAdamW } from '../parallel/zero.js';
import { rootFirst, everyRank, CollectiveError } from '../parallel/root-first.js';
import { ExpertParallel, expertLayoutProblem, isExpertParam } from '../parallel/expert-parallel.js';
import type { AllToAllStats } from '../parallel/expert-parallel.js';
import { OptimizerGroup } from '../parallel/optimizer-group.js';
import type { SteppingOptimizer } from '../parallel/optimizer-group.js';
import type { OptimizerState } from '../nn/optim.js';
import { expertLoad } from '../model/moe.js';
import { DeepseekV3 } from '../model/model.js';
import type { LossDenominators } from '../model/model.js';
import { onStopSignals } from './interrupted.js';

/** How to run. */
export interface TrainOptions {
  recipe: Recipe;
  /** Run directory (metrics, checkpoints, final model). */
  out: string;
  /** Continue the run in `out` from its latest checkpoint. */
  resume?: boolean;
  /** Stop after this step (for tests: simulate an interruption). */
  stopAfter?: number;
  /** No progress bar / log lines. */
  quiet?: boolean;
  /** Called after every step with its metrics. */
  onStep?: (m: StepMetrics) => void;
  /** Data parallelism: this process is rank `comm.rank` of `comm.size`, each training on its shard of every global batch. */
  dp?: DataParallelConfig;
  /** Called once per step when the gradients are final (summed over ranks), before clipping. */
  onGradients?: (step: number, params: [string, Tensor][]) => void;
  /** Replaces the model's own loss (and optionally the batches) of an SFT run: distillation (src/distill). */
  objective?: TrainObjective;
  /**
   * How the in-training evaluation prompts and checks a model (default: the R1-Zero template and the
   * tasks' <answer> verifier). A model trained on R1's chat format (distillation students) is asked
   * with that template and checked with R1's verifier, or its strict score stays 0 whatever it learns.
   */
  evalFormat?: { template: string; verify: (p: Problem, completion: string) => VerifyResult };
}

/** A micro-batch as flat arrays: ids [n, T+1], target weights [n, T], and the dataset rows it came from. */
export interface ObjectiveBatch {
  ids: Int32Array;
  weights: Float32Array;
  rows: number[];
  /** The run's example index of row 0 (rows are examples g0, g0 + 1, …: the same under any data-parallel split). */
  g0?: number;
}

/**
 * A training objective other than the model's own loss, for SFT-kind runs (single process): e.g. KL
 * to a teacher's next-token distribution (src/distill/objectives.ts). Everything else — data order,
 * optimizer, schedule, clipping, checkpoints, resume, metrics, the final model — stays the trainer's.
 */
export interface TrainObjective {
  /**
   * This micro-batch's rows, given the dataset's rows [g0, g0 + n) (on-policy methods replace the
   * responses with the student's own samples). Runs outside the autograd scope. Default: the dataset's.
   */
  batch?(base: ObjectiveBatch, model: CausalLM, step: number): Promise<ObjectiveBatch>;
  /** The micro-batch's loss: ids [n, T+1] (inputs ids[:, :T], targets ids[:, 1:]), weights [n, T]. */
  loss(model: CausalLM, ids: Tensor, weights: Tensor, batch: ObjectiveBatch): { loss: Tensor; ce: number; tokens: number; extra?: Record<string, number> };
}

/** How a run is spread over data-parallel ranks (see src/parallel/data-parallel.ts). */
export interface DataParallelConfig {
  comm: Communicator;
  /** Shard the AdamW moments over the ranks (ZeRO stage 1). */
  zero1?: boolean;
  /** Gradient bucket capacity in bytes (default 25 MiB; the first bucket 1 MiB). */
  bucketBytes?: number;
  /**
   * Expert parallelism: the routed experts are spread over groups of `ep` ranks (all-to-all dispatch
   * and combine); the world is DP × EP ranks (see src/parallel/expert-parallel.ts). Default 1.
   */
  ep?: number;
  /** Node-limited routing: the EP ranks form this many "nodes" (the gate's n_group must equal it). */
  epGroups?: number;
}

/** Metrics of one optimizer step. */
export interface StepMetrics {
  step: number;
  loss: number;
  ce: number;
  mtp_loss: number;
  balance_loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  tokens_per_s: number;
  step_time_s: number;
  /** Data-parallel runs: gradient all-reduce of the step (buckets posted during backward, seconds waited after it). */
  dp?: { ranks: number; buckets: number; posted_during_backward: number; bytes: number; wait_s: number };
  /**
   * Expert-parallel runs: the step's all-to-alls summed over all ranks (bytes sent to other ranks in
   * dispatch, combine and backward; seconds inside the all-to-alls, summed over ranks) and the routed
   * tokens' distinct EP ranks and nodes per token.
   */
  ep?: { ranks: number; dp: number; layers: number; dispatch_bytes: number; combine_bytes: number; backward_bytes: number; a2a_s: number; tokens: number; rows: number; ranks_per_token: number; nodes_per_token: number; remote_nodes_per_token: number };
  expert_load: { layer: number; counts: number[]; max_over_mean: number }[];
}

/** The outcome of a run. */
export interface TrainResult {
  finalDir: string;
  lastStep: number;
  interrupted: boolean;
  history: StepMetrics[];
  evals: { step: number; report: EvalReport }[];
}

/** Learning rate at a step for a recipe (DeepSeek-V3's warmup → constant → cosine → constant by default). */
export function learningRate(r: Recipe, step: number): number {
  const lr = r.train.lr, total = r.train.steps;
  if (lr.schedule === 'constant') return step < lr.warmup ? (lr.peak * (step + 1)) / lr.warmup : lr.peak;
  if (lr.schedule === 'cosine') return warmupCosine(step, { peak: lr.peak, min: lr.decayTo ?? lr.peak / 10, warmup: lr.warmup, total });
  return deepseekV3Schedule(step, {
    peak: lr.peak, warmup: lr.warmup,
    constantUntil: Math.max(lr.warmup, Math.round(lr.constantFrac * total)),
    decayEnd: Math.max(lr.warmup, Math.round(lr.decayEndFrac * total)),
    decayTo: lr.decayTo ?? lr.peak / 10,
    final: lr.final ?? lr.peak / 30,
  });
}

/** The model config of a recipe (preset or config path, plus HF-key overrides). */
export function recipeConfig(r: Recipe, vocabSize?: number): AnyModelConfig {
  const base = anyConfigToHF(resolveAnyConfig(r.model.preset));
  const unknown = Object.keys(r.model.overrides).filter((k) => !(k in base));
  if (unknown.length) {
    const keys = Object.keys(base).sort().join(', ');
    throw new ConfigError(
      `model.overrides: ${unknown.map((k) => JSON.stringify(k)).join(', ')} ${unknown.length === 1 ? 'is not a key' : 'are not keys'} of the ${JSON.stringify(r.model.preset)} config.json; expected some of: ${keys}`,
      'model.overrides', keys, unknown.join(', '),
    );
  }
  const merged = { ...base, ...r.model.overrides, ...(vocabSize ? { vocab_size: vocabSize } : {}) };
  return anyConfigFromHF(merged);
}

/**
 * Checks, before any data is built or weights are allocated, that the recipe's sequences fit the
 * model's RoPE table: train.seqLen positions must not exceed max_position_embeddings (of model.init's
 * config.json when the run starts from a model directory, else of the preset with its overrides).
 */
export function checkRecipeFitsModel(r: Recipe): void {
  const cfg = r.model.init ? loadAnyConfigPath(r.model.init) : recipeConfig(r);
  const from = r.model.init ? `model.init ${r.model.init}` : `model.preset ${JSON.stringify(r.model.preset)}`;
  if (r.train.seqLen > cfg.maxPositionEmbeddings) {
    throw new ConfigError(
      `recipe "${r.name}": train.seqLen ${r.train.seqLen} exceeds the model's max_position_embeddings ${cfg.maxPositionEmbeddings} (${from}); ` +
        `lower train.seqLen to at most ${cfg.maxPositionEmbeddings} or raise max_position_embeddings in model.overrides`,
      'max_position_embeddings', `at least train.seqLen (${r.train.seqLen})`, String(cfg.maxPositionEmbeddings),
    );
  }
}

function log(quiet: boolean | undefined, msg: string): void {
  if (!quiet) console.error(msg);
}

/** Prepares (or reloads, on resume) the tokenizer and the training data of a run (also used by the pipeline trainer). */
export function prepareData(r: Recipe, out: string, quiet?: boolean): { tok: Tokenizer; data: PackedDataset | SftDataset } {
  const tokDir = path.join(out, 'tokenizer');
  if (r.kind === 'sft') {
    if (!r.data.file && !r.data.sftTasks) throw new Error('an SFT recipe needs data.file (a JSONL of {"prompt", "response"} or {"messages"}) or data.sftTasks');
    const tok = r.tokenizer.path ? Tokenizer.fromDir(r.tokenizer.path) : r.model.init ? Tokenizer.fromDir(r.model.init) : null;
    if (!tok) throw new Error('an SFT recipe needs tokenizer.path or model.init (a model directory with tokenizer files)');
    const data = r.data.file ? SftDataset.fromFile(r.data.file, tok, r.train.seqLen, r.seed) : SftDataset.fromTasks(r.data.sftTasks!, tok, r.train.seqLen, r.seed);
    return { tok, data };
  }
  // Pretraining corpus: written once into the run directory, so a resume reads the very same documents.
  const corpusFile = path.join(out, 'corpus.jsonl');
  if (!fs.existsSync(corpusFile)) {
    if (r.data.file) copyFileAtomic(r.data.file, corpusFile);
    else {
      const t0 = performance.now();
      const dataRecipe = loadRecipe(r.data.recipe);
      writeCorpus(corpusFile, dataRecipe, { seed: r.seed, tokens: r.data.tokens });
      log(quiet, `data: built corpus "${dataRecipe.name}" into ${corpusFile} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  const texts = readCorpus(corpusFile).map((d) => d.text);
  let tok: Tokenizer;
  if (r.tokenizer.path) tok = Tokenizer.fromDir(r.tokenizer.path);
  else if (fs.existsSync(path.join(tokDir, 'tokenizer.json'))) tok = Tokenizer.fromDir(tokDir);
  else {
    const t0 = performance.now();
    tok = Tokenizer.train(texts, { vocabSize: r.tokenizer.vocabSize });
    tok.save(tokDir);
    log(quiet, `tokenizer: trained byte-level BPE, ${tok.vocabSize} tokens, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const ids = encodeDocuments(tok, texts);
  return { tok, data: new PackedDataset(ids, r.train.seqLen, r.seed, tok.bosId, tok.eosId) };
}

export function tokenizerFiles(tok: Tokenizer): Record<string, string | Uint8Array> {
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'tinyseek-tok-'));
  tok.save(dir);
  const files: Record<string, string | Uint8Array> = {};
  for (const f of fs.readdirSync(dir)) files[f] = fs.readFileSync(path.join(dir, f));
  fs.rmSync(dir, { recursive: true, force: true });
  return files;
}

/** Runs (or resumes) a pretraining or SFT run. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  try {
    return await trainLocked(opts);
  } finally {
    unlockRun(opts.out); // taken by openRun
    emptyPool(); // the next run in this process has other shapes
  }
}

async function trainLocked(opts: TrainOptions): Promise<TrainResult> {
  const r = opts.recipe;
  const out = opts.out;
  checkRecipeFitsModel(r); // before anything is written
  const comm = opts.dp?.comm ?? null;
  const epSize = comm ? opts.dp?.ep ?? 1 : 1;
  const root = !comm || comm.rank === 0; // the rank that writes files and logs
  const quiet = opts.quiet || !root;
  // Cleans up after killed saves; refuses to start over a folder with history; picks the newest
  // complete checkpoint on --resume (printing what it skipped). Rank 0 does this and writes the corpus
  // and tokenizer; the other ranks then load what it chose.
  let resumed: ReturnType<typeof openRun<ReturnType<typeof loadTrainerCheckpoint>>> = null;
  let prepared: ReturnType<typeof prepareData> | null = null;
  const resumeDir = rootFirst(comm, () => {
    resumed = openRun(out, opts.resume ?? false, loadTrainerCheckpoint);
    prepared = prepareData(r, out, quiet);
    return resumed?.dir ?? null;
  });
  if (!root && resumeDir) resumed = { dir: resumeDir, step: 0, loaded: loadTrainerCheckpoint(resumeDir) };
  const { tok, data } = prepared ?? prepareData(r, out, true);
  const tokFiles = tokenizerFiles(tok);

  let model: CausalLM;
  let start = 0;
  let restoreOpt: ((o: AdamW | ShardedAdamW) => void) | null = null;
  if (resumed) {
    const c = (resumed as NonNullable<typeof resumed>).loaded;
    const diffs = recipeDifferences(c.state.recipe, r, parseRunRecipe);
    if (diffs.length) throw new Error(recipeChangedMessage(out, diffs, `${resumed.dir}/trainer_state.json`));
    model = c.model;
    start = c.state.step;
    restoreOpt = c.optimizer;
    if (root) console.error(`resume: continuing from step ${start} (${resumed.dir})`);
  } else if (r.model.init) {
    // every rank reads the directory; a bad one (e.g. expert tensors missing) stops all with one message
    model = everyRank(comm, () => {
      const m = loadModel(r.model.init!);
      if (m.cfg.vocabSize !== tok.vocabSize) throw new Error(`model.init ${r.model.init} has vocab ${m.cfg.vocabSize}, the tokenizer ${tok.vocabSize}`);
      return m;
    });
  } else {
    model = createModel(recipeConfig(r, tok.vocabSize), r.seed);
  }
  model.train();
  const hp = { lr: r.train.lr.peak, beta1: r.train.beta1, beta2: r.train.beta2, eps: 1e-8, weightDecay: r.train.weightDecay };
  let dp: DataParallel | null = null;
  // Expert parallelism: each rank keeps its E/EP routed experts; their gradients are summed over the
  // expert's data-parallel replicas only (expDp), everything else over the whole world (dp).
  let ep: ExpertParallel | null = null;
  let expDp: DataParallel | null = null;
  if (comm && epSize > 1) {
    const problem = expertLayoutProblem(deepseekConfig(model.cfg, '--ep'), { world: comm.size, dp: comm.size / epSize, ep: epSize, epGroups: opts.dp?.epGroups });
    if (problem) throw new CollectiveError(problem); // the same verdict on every rank
    ep = new ExpertParallel(comm, epSize, opts.dp?.epGroups ?? 1);
    ep.shard(asDeepseek(model, '--ep'));
  }
  const shared = model.namedParameters().filter(([n]) => !ep || !isExpertParam(n));
  const experts = ep ? model.namedParameters().filter(([n]) => isExpertParam(n)) : [];
  if (comm) {
    dp = new DataParallel(comm, shared, { bucketBytes: opts.dp?.bucketBytes });
    dp.broadcast(model.namedTensors().filter(([n]) => !ep || !isExpertParam(n)).map(([, t]) => t)); // every rank starts from rank 0's weights, as DDP
    if (ep && ep.replicas.size > 1) {
      expDp = new DataParallel(ep.replicas, experts, { bucketBytes: opts.dp?.bucketBytes });
      expDp.broadcast(experts.map(([, t]) => t));
    }
  }
  let opt: SteppingOptimizer;
  if (comm && opts.dp?.zero1) {
    const parts: SteppingOptimizer[] = [new ShardedAdamW(comm, shared, hp)];
    if (experts.length) parts.push(ep!.replicas.size > 1 ? new ShardedAdamW(ep!.replicas, experts, hp) : new AdamW(experts, hp));
    opt = parts.length === 1 ? parts[0] : new OptimizerGroup(parts);
    const mem = parts.map((p) => (p instanceof ShardedAdamW ? p.memory() : { shardedBytes: 8 * experts.reduce((a, [, t]) => a + t.numel, 0), unshardedBytes: 8 * experts.reduce((a, [, t]) => a + t.numel, 0) }));
    const sh = mem.reduce((a, m) => a + m.shardedBytes, 0), un = mem.reduce((a, m) => a + m.unshardedBytes, 0);
    log(quiet, `zero1: AdamW moments sharded over ${comm.size} ranks${ep ? ` (experts' over their ${ep.replicas.size} replicas)` : ''}: ${(sh / 2 ** 20).toFixed(2)} MiB per rank instead of ${(un / 2 ** 20).toFixed(2)} MiB`);
  } else opt = new AdamW(model.namedParameters(), hp);
  if (restoreOpt) restoreOpt(opt as AdamW);

  const metrics = new MetricsWriter(out);
  if (root) {
    writeFileAtomic(path.join(out, 'recipe.json'), JSON.stringify(r, null, 2) + '\n');
    // Lines after the resumed step are from the interrupted part of the run; starting at step 0 is
    // only allowed when the file holds no records (openRun refuses otherwise).
    if (start > 0) metrics.truncateAfter(start);
    else if (fs.existsSync(metrics.file)) fs.rmSync(metrics.file);
  }

  let interrupted = false;
  let sigint = false; // under data parallelism the ranks agree on stopping at the end of a step
  const onStop = () => {
    sigint = true;
    if (!dp) interrupted = true;
  };
  const offSignals = onStopSignals(onStop, comm !== null);
  const history: StepMetrics[] = [];
  const evals: { step: number; report: EvalReport }[] = [];
  const B = r.train.batchSize, A = r.train.gradAccum, T = r.train.seqLen;
  const progress = new Progress(r.train.steps, start, quiet);
  // ZeRO-1 gathers the moments and EP the experts from every rank (all ranks call save); rank 0
  // writes the checkpoint of the full model, which loads in any layout.
  const save = (step: number) => {
    const full = ep ? gatherFull(ep, model, opt.stateDict(), root) : { model, state: opt.stateDict() };
    return root ? saveTrainerCheckpoint(out, full.model!, { stateDict: () => full.state }, { step, seed: r.seed, recipe: r }, tokFiles) : '';
  };
  const rows = dp ? dp.shard(B) : { start: 0, count: B }; // this rank's rows of every global batch
  const objective = opts.objective ?? null;
  if (objective && (ep || !(data instanceof SftDataset))) throw new Error('a training objective (distillation) needs an SFT-kind run without expert parallelism');
  let step = start;
  try {
    for (; step < r.train.steps; step++) {
      // The step loop is synchronous: let the event loop run once per step, or a SIGINT (Ctrl-C)
      // would only be dispatched after the whole run.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (interrupted) break;
      if (opts.stopAfter !== undefined && step >= opts.stopAfter) break;
      const t0 = performance.now();
      const lr = learningRate(r, step);
      opt.lr = lr;
      opt.zeroGrad();
      let loss = 0, ce = 0, mtp = 0, bal = 0, tokens = 0;
      const extra: Record<string, number> = {};
      let reduced: ReduceStats | null = null;
      for (let a = 0; a < A; a++) {
        const g = (step * A + a) * B + rows.start;
        if (objective) {
          const base = { ...(data as SftDataset).batchArrays(g, rows.count), g0: g };
          const ob = objective.batch ? await objective.batch(base, model, step) : base;
          // An objective's loss is a weighted mean over its micro-batch (Σ w·D / Σ w). Under data
          // parallelism each rank's is scaled by its share of the global Σ w, so the shares sum to the
          // single-process loss of the whole micro-batch; rates in `extra` are scaled alike and averaged
          // over the micro-batches, counts (keys ending in _tokens) summed over micro-batches and ranks.
          let share = 1;
          if (dp) {
            let w = 0;
            for (const x of ob.weights) w += x;
            const total = dp.sum([w])[0]!;
            share = total > 0 ? w / total : 0;
            if (a === A - 1) dp.beginBackward();
          }
          model.train();
          tidy(() => {
            const res = objective.loss(model, Tensor.ints(ob.ids, [rows.count, T + 1]), Tensor.from(ob.weights, [rows.count, T]), ob);
            res.loss.mul(share / A).backward();
            loss += (res.loss.item() * share) / A;
            ce += (res.ce * share) / A;
            tokens += res.tokens;
            for (const [k, v] of Object.entries(res.extra ?? {})) extra[k] = (extra[k] ?? 0) + (k.endsWith('_tokens') ? v : (v * share) / A);
          });
          continue;
        }
        tidy(() => {
          const batch = data instanceof PackedDataset
            ? { ids: Tensor.ints(data.batch(g, rows.count), [rows.count, T + 1]), weights: undefined }
            : data.batch(g, rows.count);
          const lossOpts = { mtpWeight: r.train.mtpWeight, weights: batch.weights, documentMask: r.train.documentMask && data instanceof PackedDataset };
          // Data parallelism: normalize by the global batch's counts (this rank's loss is its share), and
          // reduce the gradients during the last micro-batch's backward.
          const denominators = dp ? globalDenominators(dp, model.lossDenominators(batch.ids, lossOpts)) : undefined;
          if (dp && a === A - 1) {
            dp.beginBackward();
            expDp?.beginBackward();
          }
          const res = model.loss(batch.ids, { ...lossOpts, denominators });
          res.loss.mul(1 / A).backward();
          loss += res.loss.item() / A;
          ce += res.ce / A;
          mtp += res.mtp / A;
          bal += res.balance / A;
          tokens += res.tokens;
        });
      }
      let loads = model.takeExpertLoad();
      let a2a: AllToAllStats | null = null;
      if (dp) {
        reduced = dp.finish();
        if (expDp) {
          const x = expDp.finish();
          reduced = { buckets: reduced.buckets + x.buckets, postedDuringBackward: reduced.postedDuringBackward + x.postedDuringBackward, bytes: reduced.bytes + x.bytes, waitS: reduced.waitS + x.waitS };
        }
        // the step's numbers of the global batch, and whether any rank was interrupted
        const sums = dp.sum([loss, ce, mtp, bal, tokens, sigint ? 1 : 0]);
        [loss, ce, mtp, bal, tokens] = sums;
        const keys = Object.keys(extra).sort(); // an objective's extras (the same keys on every rank)
        const ex = dp.sum(keys.map((k) => extra[k]!));
        keys.forEach((k, i) => { extra[k] = ex[i]!; });
        interrupted = sums[5] > 0; // all ranks stop after the same step
        const counts = dp.sum(loads.flatMap((l) => l.load.counts)); // global expert loads, so every rank keeps the same biases
        let o = 0;
        loads = loads.map(({ layer, load }) => ({ layer, load: expertLoad(counts.slice(o, (o += load.counts.length))) }));
        if (ep) {
          const s = ep.takeStats();
          const t = dp.sum([s.layers, s.dispatchBytes, s.combineBytes, s.backwardBytes, s.seconds, s.tokens, s.rows, s.distinctRanks, s.distinctNodes, s.remoteNodes]);
          a2a = { layers: s.layers, dispatchBytes: t[1], combineBytes: t[2], backwardBytes: t[3], seconds: t[4], tokens: t[5], rows: t[6], distinctRanks: t[7], distinctNodes: t[8], remoteNodes: t[9] };
        }
      }
      opts.onGradients?.(step + 1, model.namedParameters());
      // gradients are the global sums: this is the global norm (under EP the experts' squares summed over the EP group)
      const gradNorm = ep ? ep.clipGradNorm(model.namedParameters(), r.train.clip) : clipGradNorm(model.parameters(), r.train.clip);
      noGrad(() => opt.step());
      model.updateRoutingBias(loads, r.train.biasUpdateSpeed);
      const dt = (performance.now() - t0) / 1000;
      const m: StepMetrics = {
        step: step + 1, loss, ce, mtp_loss: mtp, balance_loss: bal, lr, grad_norm: gradNorm, tokens, ...extra,
        tokens_per_s: tokens / dt, step_time_s: dt,
        expert_load: loads.map(({ layer, load }) => ({ layer, counts: load.counts, max_over_mean: load.maxOverMean })),
        ...(reduced ? { dp: { ranks: dp!.size, buckets: reduced.buckets, posted_during_backward: reduced.postedDuringBackward, bytes: reduced.bytes, wait_s: reduced.waitS } } : {}),
        ...(a2a ? {
          ep: {
            ranks: ep!.epSize, dp: ep!.dpSize, layers: a2a.layers, dispatch_bytes: a2a.dispatchBytes, combine_bytes: a2a.combineBytes, backward_bytes: a2a.backwardBytes, a2a_s: a2a.seconds,
            tokens: a2a.tokens, rows: a2a.rows, ranks_per_token: a2a.tokens ? a2a.distinctRanks / a2a.tokens : 0, nodes_per_token: a2a.tokens ? a2a.distinctNodes / a2a.tokens : 0,
            remote_nodes_per_token: a2a.tokens ? a2a.remoteNodes / a2a.tokens : 0,
          },
        } : {}),
      };
      if (!Number.isFinite(loss)) throw new Error(`step ${step + 1}: loss is ${loss} (diverged); lower train.lr.peak or check the data`);
      if (root) metrics.write({ ...m });
      history.push(m);
      opts.onStep?.(m);
      progress.update(step + 1, { ce: m.ce, tokS: m.tokens_per_s });
      const done = step + 1;
      if (r.checkpoint.every > 0 && done % r.checkpoint.every === 0 && done < r.train.steps) save(done);
      // Evaluation is rank 0's (the others go on to the next step's collectives) — except under expert
      // parallelism, where every rank must take part in the experts' all-to-alls: all ranks generate
      // the same greedy completions (identical weights and inputs) and rank 0 records them.
      if (!root && !ep) continue;
      if (r.eval.probeEvery > 0 && done % r.eval.probeEvery === 0) {
        model.eval();
        const probe = copyProbe(model, tok, { seed: r.seed + 1000 });
        model.train();
        if (root) metrics.write({ step: done, digit_nll: probe.meanDigitNll, digit_nll_by_family: Object.fromEntries(probe.families.map((f) => [f.family, f.digitNll])) });
      }
      if (r.eval.every > 0 && done % r.eval.every === 0) {
        const report = await runEval(model, tok, r, opts.evalFormat);
        evals.push({ step: done, report });
        if (root) metrics.write({ step: done, eval: report.families.map((f) => ({ family: f.family, greedy: f.greedy, greedy_lenient: f.greedyLenient })), eval_greedy_mean: report.mean.greedy });
        model.train();
      }
    }
  } finally {
    offSignals();
    progress.stop();
  }
  if (interrupted || (opts.stopAfter !== undefined && step < r.train.steps)) {
    const dir = save(step);
    log(quiet, interrupted ? `interrupted: saved ${dir}; continue with --resume` : `stopped at step ${step}: saved ${dir}`);
    return { finalDir: dir, lastStep: step, interrupted: true, history, evals };
  }
  const finalDir = path.join(out, 'final');
  const whole = ep ? gatherFull(ep, model, null, root).model : model;
  if (root) saveModel(finalDir, whole!, { tokenizerFiles: tokFiles });
  save(step);
  if (r.eval.final && (root || ep)) {
    const report = evals.at(-1)?.step === step ? evals.at(-1)!.report : await runEval(model, tok, r, opts.evalFormat);
    if (evals.at(-1)?.step !== step) evals.push({ step, report });
    if (root) writeFileAtomic(path.join(out, 'eval.json'), JSON.stringify({ step, ...report }, null, 2) + '\n');
  }
  return { finalDir, lastStep: step, interrupted: false, history, evals };
}

/**
 * The full model and optimizer state of an expert-parallel run, gathered over the EP group
 * (collective); the model is built on the root rank only (null elsewhere).
 */
function gatherFull(ep: ExpertParallel, lm: CausalLM, state: OptimizerState | null, root: boolean): { model: DeepseekV3 | null; state: OptimizerState } {
  const model = asDeepseek(lm, '--ep');
  const E = model.cfg.nRoutedExperts;
  const tensors = ep.gatherExperts(model.namedTensors().map(([n, t]) => [n, t.f32()]), E);
  const st: OptimizerState = { step: state?.step ?? 0, m: {}, v: {} };
  if (state) {
    st.m = Object.fromEntries(ep.gatherExperts(Object.entries(state.m), E));
    st.v = Object.fromEntries(ep.gatherExperts(Object.entries(state.v), E));
  }
  if (!root) return { model: null, state: st };
  const full = new DeepseekV3(model.cfg, 0);
  for (const [n, t] of full.namedTensors()) {
    const d = tensors.get(n);
    if (!d || d.length !== t.numel) throw new Error(`expert parallelism: gathering the full model found no ${n} of ${t.numel} values`);
    t.f32().set(d);
  }
  return { model: full, state: st };
}

/** The loss normalizers of a data-parallel micro-batch: this rank's counts summed over all ranks. */
function globalDenominators(dp: DataParallel, local: LossDenominators): LossDenominators {
  const [ce, sequences, ...mtp] = dp.sum([local.ce, local.sequences, ...local.mtp]);
  return { ce, mtp, sequences };
}

/** Held-out greedy accuracy per task family (the trainer's periodic evaluation). */
export async function runEval(model: CausalLM, tok: Tokenizer, r: Recipe, format?: TrainOptions['evalFormat']): Promise<EvalReport> {
  model.eval();
  const gen = new Generator(model, { maxBatch: 64, maxLen: Math.min(model.cfg.maxPositionEmbeddings, 512) });
  return evaluate(gen, tok, { families: r.eval.families, difficulties: r.eval.difficulties, n: r.eval.n, k: 0, maxNewTokens: r.eval.maxNewTokens, seed: r.seed, ...(format ? { template: format.template, verify: format.verify } : {}) });
}
