// Pipeline-parallel pretraining / SFT under mpirun: the model cut into PP stages by layers
// (src/parallel/stages.ts), each rank allocating only its stages' weights and AdamW moments, one
// schedule (1F1B, ZB1P, DualPipe, DualPipeV; src/parallel/schedule.ts) executed per step by
// src/parallel/pipeline.ts. The step is the single-process trainer's step on the same global batch:
//
//   - the batch of B rows is cut into `chunks` micro-batches of B/chunks rows (DualPipe: the first
//     half enters at rank 0, the second at rank PP−1, as upstream feeds its two directions); every
//     micro-batch's loss is normalized by the whole batch's counts, so the micro-batch losses (and
//     their gradients) add up to the batch's;
//   - gradient accumulation runs the schedule once per accumulation batch with the seeds scaled 1/A;
//   - a tensor held by several ranks (the last stage's copy of the embedding for MTP; every stage under
//     DualPipe) has its gradient summed over its holders (MPI_Allreduce on a communicator of exactly
//     those ranks), as upstream sums the two copies' gradients;
//   - the global gradient norm sums each tensor once (at its owner) over all ranks; every rank clips
//     with it;
//   - the expert loads are summed over all ranks, so every copy of an MoE layer applies the same
//     auxiliary-loss-free bias update;
//   - checkpoints: every rank writes its own tensors (src/train/pipeline-checkpoint.ts).
//
// With data parallelism (`dp` > 1, DeepSeek-V3's PP × DP): the world of R·DP ranks is DP replicas of
// an R-rank pipeline — world rank w is pipeline rank w mod R of replica ⌊w / R⌋ (two MPI_Comm_splits:
// one communicator per replica for the schedule, one per pipeline rank across the replicas for the
// gradients). Replica d trains on rows [d·B/DP, (d+1)·B/DP) of every global batch (as --dp alone
// shards it), cut into `chunks` micro-batches, every loss normalized by the global batch's counts; after
// the schedule, each rank's stage gradients are summed with the same pipeline rank's on the other
// replicas (MPI_Allreduce of one flat buffer). The loss terms, token counts and expert loads are
// summed over the whole world; the gradient norm is replica 0's (every replica holds the same sums);
// checkpoints are written by replica 0 alone, the same files as a plain --pp run's.
//
// With expert parallelism (`ep` > 1, V3's PP × EP, optionally × DP): the replicas are DP·EP, replica
// d·EP + e; within each stage the routed experts of every MoE layer are spread over the EP replicas
// of one data-parallel group (replica d·EP + e holds experts [e·E/EP, (e+1)·E/EP); gate, shared experts
// and every non-expert tensor stay whole), and tokens travel to them by the MPI_Alltoallv dispatch and
// combine of src/parallel/expert-parallel.ts on a per-stage EP sub-communicator (the same pipeline
// rank on the EP replicas: ExpertParallel on the cross-replica communicator). Each EP replica trains on
// its own rows, like a DP replica: non-expert gradients are summed over all DP·EP replicas, expert
// gradients over the DP replicas holding the same experts. Every replica executes the same schedule
// (the same ops in the same order, each op's autograd graph the same, and the all-to-all nodes of a
// stage lie on one dependency chain, so forward and backward — full, input-only or deferred weight
// passes alike — issue them in the same order), which is what keeps the EP peers' all-to-alls
// matched under every schedule, the bidirectional ones included. The expert loads are summed over the
// world (global loads, identical biases); the gradient norm counts non-expert tensors at replica 0 and
// expert tensors at the EP replicas of data-parallel group 0; checkpoints gather each stage's experts
// over its EP group and replica 0 writes them: the same files as a plain --pp run's.
import { faultPoint } from '../io/fault.js';
import fs from 'node:fs';
import path from 'node:path';
import { Tensor, noGrad, tidy, emptyPool } from '../tensor/index.js';
import { DeepseekV3 } from '../model/model.js';
import { configFromHF } from '../model/config.js';
import { readModelDir, writeFileAtomic } from '../io/index.js';
import { AdamW } from '../nn/optim.js';
import { backend } from '../backend/index.js';
import { MetricsWriter } from './metrics.js';
import { PackedDataset } from './packing.js';
import { Progress } from './progress.js';
import { openRun, recipeDifferences, recipeChangedMessage, unlockRun, readOptimizerState } from './checkpoint.js';
import type { TrainerState } from './checkpoint.js';
import { parseRunRecipe } from './recipe.js';
import { checkRecipeFitsModel, learningRate, prepareData, recipeConfig, tokenizerFiles } from './trainer.js';
import type { StepMetrics, TrainOptions, TrainResult } from './trainer.js';
import { savePipelineCheckpoint, loadHeldTensors } from './pipeline-checkpoint.js';
import type { Communicator } from '../parallel/mpi.js';
import { rootFirst, CollectiveError } from '../parallel/root-first.js';
import { buildSchedule, checkSchedule, METHOD_NAMES } from '../parallel/schedule.js';
import type { PipelineMethod, PipelineSchedule } from '../parallel/schedule.js';
import { StageLayout } from '../parallel/stages.js';
import { PipelineStage } from '../parallel/pipeline-stage.js';
import type { MicroBatch } from '../parallel/pipeline-stage.js';
import { PipelineExecutor } from '../parallel/pipeline.js';
import { toTraceEvents } from '../parallel/trace.js';
import type { RankTimeline } from '../parallel/trace.js';
import type { PipelineStepResult } from '../parallel/pipeline.js';
import { expertLoad } from '../model/moe.js';
import { isDenseConfig } from '../model/registry.js';
import { ExpertParallel, expertLayoutProblem, isExpertParam } from '../parallel/expert-parallel.js';
import type { CheckpointView } from './pipeline-checkpoint.js';
import { onStopSignals } from './interrupted.js';

/** How a run is cut into pipeline stages. */
export interface PipelineConfig {
  /** Every rank of the run: PP ranks, or PP ranks × `dp` replicas. */
  comm: Communicator;
  /** Number of stages. */
  pp: number;
  /** Data-parallel replicas of the pipeline (default 1). */
  dp?: number;
  /** Expert-parallel ranks per stage (default 1): the routed experts of each stage spread over `ep` replicas of the pipeline. */
  ep?: number;
  method: PipelineMethod;
  /** Micro-batches per step (default: 2·PP, the fewest every schedule accepts). */
  chunks?: number;
  /** Write each rank's timeline of every step here as Chrome trace-event JSON (`<trace>.rank<r>.json`). */
  trace?: string;
  /** Called on every rank with each executed schedule's result (timeline, waits, peak activations). */
  onTimeline?: (step: number, micro: number, res: PipelineStepResult) => void;
}

/** Pipeline metrics of a step (added to StepMetrics.pp). */
export interface PipelineStepMetrics {
  method: PipelineMethod;
  stages: number;
  /** Ranks of one pipeline. */
  ranks: number;
  /** Data-parallel replicas of the pipeline. */
  dp: number;
  /** Expert-parallel ranks per stage (replicas of the pipeline sharing each stage's routed experts). */
  ep: number;
  /** Micro-batches per replica per step. */
  chunks: number;
  /** Over ranks: time blocked in receives / step time, and the largest per-rank activation count. */
  bubble: number;
  peak_in_flight: number;
}

/**
 * Checks a pipeline configuration (with `dp` replicas of the pipeline) against the model and the
 * launch, before anything is allocated.
 */
export function checkPipeline(pp: number, method: PipelineMethod, chunks: number, numLayers: number, worldSize: number, batchSize: number, dp = 1, ep = 1): PipelineSchedule {
  const s = buildSchedule(method, pp, chunks); // odd PP for DualPipe, chunks < 2·PP, …
  checkSchedule(s);
  if (pp > numLayers) throw new Error(`--pp ${pp}: ${pp} stages need at least ${pp} decoder layers, the model has num_hidden_layers = ${numLayers}`);
  if (!Number.isInteger(dp) || dp < 1) throw new Error(`--dp expects a positive integer, found ${dp}`);
  if (!Number.isInteger(ep) || ep < 1) throw new Error(`--ep expects a positive integer, found ${ep}`);
  if (s.ranks * dp * ep !== worldSize) {
    const need = method === 'dualpipev' ? `PP/2 = ${s.ranks} processes (DualPipeV puts two stages on each rank)` : `${s.ranks} processes`;
    if (ep > 1) {
      const dpPart = dp > 1 ? ` --dp ${dp}` : '';
      throw new Error(`--pp ${pp}${dpPart} --ep ${ep} --schedule ${method} needs ${s.ranks}${dp > 1 ? ` × ${dp}` : ''} × ${ep} = ${s.ranks * dp * ep} processes (${need} per pipeline, times ${dp > 1 ? `${dp} data-parallel × ` : ''}${ep} expert-parallel replicas); mpirun started ${worldSize}`);
    }
    if (dp === 1) throw new Error(`--pp ${pp} --schedule ${method} needs ${need}; mpirun started ${worldSize}`);
    throw new Error(`--pp ${pp} --dp ${dp} --schedule ${method} needs ${s.ranks} × ${dp} = ${s.ranks * dp} processes (${need} per pipeline, times ${dp} data-parallel replicas); mpirun started ${worldSize}`);
  }
  if (dp * ep > 1 && batchSize % (dp * ep * chunks) !== 0) {
    const what = ep > 1 ? `${dp * ep} replicas (--dp ${dp} × --ep ${ep}: every expert-parallel rank trains on its own rows)` : `${dp} data-parallel replicas`;
    throw new Error(`train.batchSize ${batchSize} cannot be split over ${what} and cut into ${chunks} equal micro-batches each (${ep > 1 ? '--dp × --ep × --chunks' : '--dp × --chunks'}); use a multiple of ${dp * ep * chunks}`);
  }
  if (batchSize % chunks !== 0) throw new Error(`train.batchSize ${batchSize} cannot be cut into ${chunks} equal micro-batches (--chunks); use a multiple of ${chunks}`);
  return s;
}

function log(quiet: boolean | undefined, msg: string): void {
  if (!quiet) console.error(msg);
}

/** Runs (or resumes) a pretraining or SFT run with pipeline parallelism; every rank of `pp.comm` calls it. */
export async function trainPipeline(opts: TrainOptions & { pp: PipelineConfig }): Promise<TrainResult> {
  try {
    return await trainLocked(opts);
  } finally {
    if (opts.pp.comm.rank === 0) unlockRun(opts.out);
    emptyPool(); // the next run in this process has other shapes
  }
}

async function trainLocked(opts: TrainOptions & { pp: PipelineConfig }): Promise<TrainResult> {
  const r = opts.recipe;
  const out = opts.out;
  const world = opts.pp.comm;
  const worldRank = world.rank;
  const root = worldRank === 0;
  const quiet = opts.quiet || !root;
  const chunks = opts.pp.chunks ?? 2 * opts.pp.pp;
  const DP = opts.pp.dp ?? 1;
  const EP = opts.pp.ep ?? 1;
  const replicas = DP * EP;
  // Checks every rank can make on its own; a failure is the same on every rank (one message each, no hang).
  checkRecipeFitsModel(r);
  const cfg0 = r.model.init ? configFromHF(readModelDir(r.model.init).config) : recipeConfig(r);
  const schedule = checkPipeline(opts.pp.pp, opts.pp.method, chunks, cfg0.numHiddenLayers, world.size, r.train.batchSize, DP, EP);
  if (EP > 1) {
    const problem = isDenseConfig(cfg0) ? `--ep ${EP}: expert parallelism needs a DeepSeek-V3 (MoE) model; found a dense ${cfg0.modelType} model` : expertLayoutProblem(cfg0, { world: replicas, dp: DP, ep: EP });
    if (problem) throw new CollectiveError(problem); // the same verdict on every rank, before any collective
  }
  // the replica this rank belongs to (d·EP + e), its pipeline (ranks 0..R−1) and its peers on the other replicas
  const replica = Math.floor(worldRank / schedule.ranks);
  const comm = replicas > 1 ? world.split(replica, worldRank % schedule.ranks)! : world;
  const dpComm = replicas > 1 ? world.split(worldRank % schedule.ranks, replica)! : null;
  // this stage's EP group (same pipeline rank and data-parallel group) and its expert replicas (same e)
  const ep = EP > 1 ? new ExpertParallel(dpComm!, EP) : null;
  const group = Math.floor(replica / EP); // data-parallel group d
  const rank = comm.rank;

  // Rank 0 takes the run lock, cleans up, picks the checkpoint to resume from and writes the corpus
  // and tokenizer; then every rank reads them.
  let prepared: ReturnType<typeof prepareData> | null = null;
  const resumed = rootFirst(world, () => {
    const o = openRun(out, opts.resume ?? false, (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as TrainerState);
    prepared = prepareData(r, out, quiet);
    return o ? { dir: o.dir, state: o.loaded } : null;
  });
  const { tok, data } = prepared ?? prepareData(r, out, true);
  const tokFiles = tokenizerFiles(tok);
  const diffs = resumed ? recipeDifferences(resumed.state.recipe, r, parseRunRecipe) : [];
  if (resumed && diffs.length) throw new CollectiveError(recipeChangedMessage(out, diffs, `${resumed.dir}/trainer_state.json`));

  // The whole model is built from the seed (so every rank's weights are the single-process run's),
  // then every tensor this rank does not hold is released: only its stages stay allocated.
  const cfg = r.model.init ? cfg0 : recipeConfig(r, tok.vocabSize);
  if (isDenseConfig(cfg)) throw new CollectiveError(`--pp: pipeline parallelism splits DeepSeek-V3 models; found a dense ${cfg.modelType} model`);
  const model = new DeepseekV3(cfg, r.seed);
  model.train();
  const layout = new StageLayout(cfg, schedule);
  // every tensor of the whole model (checkpoints under EP write them all, gathered)
  const wholeTensors: [string, number[]][] = model.namedTensors().map(([n, t]) => [n, [...t.shape]]);
  const wholeParams: [string, number[]][] = model.namedTensors().filter(([, t]) => t.requiresGrad).map(([n, t]) => [n, [...t.shape]]);
  const all = model.namedTensors();
  if (ep) ep.shard(model); // keeps this EP rank's routed experts, dispatches through all-to-alls on ep.ep
  const kept = new Set(model.namedTensors().map(([, t]) => t));
  for (const [n, t] of all) if (!kept.has(t) || !layout.holds(rank, n)) t.dispose();
  const held = model.namedTensors().filter(([n]) => layout.holds(rank, n));
  const from = resumed?.dir ?? r.model.init;
  if (from) loadHeldTensors(from, held);
  const start = resumed?.state.step ?? 0;
  const reps = [DP > 1 ? `${DP} data-parallel` : '', EP > 1 ? `${EP} expert-parallel` : ''].filter(Boolean).join(' × ');
  const perRank = EP > 1 ? `; ${cfg.nRoutedExperts / EP} of the ${cfg.nRoutedExperts} routed experts per rank and MoE layer` : '';
  log(quiet, `pipeline: ${METHOD_NAMES[schedule.method]}, ${schedule.pp} stages on ${schedule.ranks} ranks${replicas > 1 ? ` × ${reps} replicas (${schedule.ranks * replicas} ranks)` : ''}${perRank}, ${chunks} micro-batches per ${replicas > 1 ? 'replica and ' : ''}step\n  ${layout.describe().join('\n  ')}`);

  const params = held.filter(([, t]) => t.requiresGrad);
  const hp = { lr: r.train.lr.peak, beta1: r.train.beta1, beta2: r.train.beta2, eps: 1e-8, weightDecay: r.train.weightDecay };
  const opt = new AdamW(params, hp);
  if (resumed) {
    const s = readOptimizerState(resumed.dir, resumed.state.step);
    // every rank reads only its own tensors' moments
    opt.loadStateDict({ step: s.step, m: Object.fromEntries(params.map(([n]) => [n, s.m[n]])), v: Object.fromEntries(params.map(([n]) => [n, s.v[n]])) });
  }

  const stages = schedule.placement[rank].map((ref) => new PipelineStage(model, ref.stage, schedule.pp, layout.layers[ref.stage]));
  const B = r.train.batchSize, A = r.train.gradAccum, T = r.train.seqLen;
  const rows = B / replicas; // this replica's rows of every global batch
  const b = rows / chunks;
  const exec = new PipelineExecutor(comm, schedule, stages, [b, T, cfg.hiddenSize]);
  const groups = gradientGroups(comm, layout, params, model.namedTensors().map(([n]) => n));
  // non-expert gradients summed over every replica; a routed expert's over the replicas holding it
  const replicaSum = dpComm ? replicaGradients(dpComm, params.filter(([n]) => !ep || !isExpertParam(n))) : null;
  const expertSum = ep && ep.replicas.size > 1 ? replicaGradients(ep.replicas, params.filter(([n]) => isExpertParam(n))) : null;
  // the tensors this rank counts in the global norm: each once, at its owner, in replica 0 (an expert: in its EP replica of group 0)
  const ownedParams = params.filter(([n]) => layout.owns(rank, n) && (ep && isExpertParam(n) ? group === 0 : replica === 0)).map(([, t]) => t);
  const heldMoeLayers = new Set(model.model.layers.filter((l) => layout.holds(rank, `model.layers.${l.layerIdx}.input_layernorm.weight`)).map((l) => l.layerIdx));

  const metrics = new MetricsWriter(out);
  if (root) {
    if (start > 0) metrics.truncateAfter(start);
    else if (fs.existsSync(metrics.file)) fs.rmSync(metrics.file);
  }
  let sigint = false;
  const onStop = () => { sigint = true; };
  const offSignals = onStopSignals(onStop, true); // always MPI ranks
  const history: StepMetrics[] = [];
  const progress = new Progress(r.train.steps, start, quiet);
  // Under EP, a stage's experts and their moments gathered over its EP group (collective over ep.ep).
  const gathered = (): CheckpointView => {
    const E = cfg.nRoutedExperts;
    const o = opt.stateDict();
    const w = ep!.gatherExperts(held.map(([n, t]) => [n, t.f32()]), E);
    const m = Object.fromEntries(ep!.gatherExperts(params.map(([n]) => [n, o.m[n]]), E));
    const v = Object.fromEntries(ep!.gatherExperts(params.map(([n]) => [n, o.v[n]]), E));
    return { tensors: wholeTensors, data: (n) => w.get(n)!, moments: { step: o.step, params: wholeParams.filter(([n]) => layout.holds(rank, n)), m, v } };
  };
  // replica 0 writes (its pipeline's ranks, each its own tensors); the others learn the outcome from world rank 0
  const save = (step: number): string => {
    if (!dpComm) return savePipelineCheckpoint(comm, out, model, layout, opt, { step, seed: r.seed, recipe: r }, tokFiles);
    const res: { dir: string | null; error: string | null } = { dir: null, error: null };
    const view = ep && group === 0 ? gathered() : undefined; // the EP replicas of group 0 send their experts
    if (replica === 0) {
      try {
        res.dir = savePipelineCheckpoint(comm, out, model, layout, opt, { step, seed: r.seed, recipe: r }, tokFiles, view);
      } catch (e) {
        res.error = (e as Error).message;
      }
    }
    const got = world.bcastJson(root ? res : undefined, 0);
    if (!got.dir) throw new CollectiveError(got.error ?? 'checkpoint failed');
    return got.dir;
  };
  const traces: RankTimeline[] = [];
  let step = start;
  let interrupted = false;
  try {
    for (; step < r.train.steps; step++) {
      if (opts.stopAfter !== undefined && step >= opts.stopAfter) break;
      faultPoint(`pipeline:rank${worldRank}:step${step + 1}`); // crash tests: one rank stops here, to be killed mid-run
      const t0 = performance.now();
      const lr = learningRate(r, step);
      opt.lr = lr;
      opt.zeroGrad();
      let loss = 0, ce = 0, mtp = 0, bal = 0, tokens = 0, waitMs = 0, totalMs = 0, peak = 0;
      for (let a = 0; a < A; a++) {
        const g = (step * A + a) * B;
        tidy(() => {
          const batch: MicroBatch = data instanceof PackedDataset ? { ids: Tensor.ints(data.batch(g, B), [B, T + 1]) } : data.batch(g, B);
          const lossOpts = { mtpWeight: r.train.mtpWeight, documentMask: r.train.documentMask && data instanceof PackedDataset };
          const denominators = model.lossDenominators(batch.ids, { ...lossOpts, weights: batch.weights });
          const micro = (pipeline: number, chunk: number): MicroBatch => {
            const i = replica * chunks + pipeline * schedule.chunksPerPipeline + chunk; // micro-batch i of the global batch
            const ids = Tensor.ints(batch.ids.i32().subarray(i * b * (T + 1), (i + 1) * b * (T + 1)), [b, T + 1]);
            const weights = batch.weights ? Tensor.from(batch.weights.contiguous().f32().slice(i * b * T, (i + 1) * b * T), [b, T]) : undefined;
            return { ids, weights };
          };
          const res: PipelineStepResult = exec.run(micro, { ...lossOpts, denominators }, 1 / A);
          loss += res.loss / A; ce += res.ce / A; mtp += res.mtp / A; bal += res.balance / A; tokens += res.tokens;
          waitMs += res.waitMs; totalMs += res.totalMs; peak = Math.max(peak, res.peakInFlight);
          if (opts.pp.trace) traces.push({ rank: worldRank, startedAt: res.startedAt, timeline: res.timeline });
          opts.pp.onTimeline?.(step + 1, a, res);
        });
      }
      for (const gr of groups) gr.reduce();
      replicaSum?.();
      expertSum?.();
      // the step's numbers over all ranks (each computed where its stage ran) and a stop agreed by all
      const sums = Array.from(world.allreduce(Float64Array.of(loss, ce, mtp, bal, tokens, sigint ? 1 : 0), 'sum'));
      [loss, ce, mtp, bal, tokens] = sums;
      interrupted = sums[5] > 0;
      const bubbleAll = world.allreduce(Float64Array.of(waitMs / Math.max(totalMs, 1e-9), peak), 'max');
      // global expert loads: every layer's counts, zero where this rank does not run it
      const local = model.takeExpertLoad();
      const counts = Array.from(world.allreduce(Float64Array.from(local.flatMap((l) => l.load.counts)), 'sum'));
      let o = 0;
      const loads = local.map(({ layer, load }) => ({ layer, load: expertLoad(counts.slice(o, (o += load.counts.length))) }));
      opts.onGradients?.(step + 1, params);
      // global gradient norm: each tensor once, at its owner (of replica 0: every replica holds the same sums)
      const k = backend();
      let ss = 0;
      for (const p of ownedParams) if (p.grad) ss += k.sumSquares(p.numel, p.grad.f32());
      const gradNorm = Math.sqrt(world.allreduce(Float64Array.of(ss), 'sum')[0]);
      if (Number.isFinite(gradNorm) && gradNorm > r.train.clip && r.train.clip > 0) {
        const c = r.train.clip / (gradNorm + 1e-6);
        for (const [, p] of params) if (p.grad) k.unary('mulScalar', p.numel, p.grad.f32(), p.grad.f32(), c);
      }
      noGrad(() => opt.step());
      model.updateRoutingBias(loads.filter((l) => heldMoeLayers.has(l.layer)), r.train.biasUpdateSpeed);
      const dt = (performance.now() - t0) / 1000;
      const m: StepMetrics & { pp: PipelineStepMetrics } = {
        step: step + 1, loss, ce, mtp_loss: mtp, balance_loss: bal, lr, grad_norm: gradNorm, tokens,
        tokens_per_s: tokens / dt, step_time_s: dt,
        expert_load: loads.map(({ layer, load }) => ({ layer, counts: load.counts, max_over_mean: load.maxOverMean })),
        pp: { method: schedule.method, stages: schedule.pp, ranks: schedule.ranks, dp: DP, ep: EP, chunks, bubble: bubbleAll[0], peak_in_flight: bubbleAll[1] },
      };
      if (!Number.isFinite(loss)) throw new CollectiveError(`step ${step + 1}: loss is ${loss} (diverged); lower train.lr.peak or check the data`);
      if (root) metrics.write({ ...m });
      history.push(m);
      opts.onStep?.(m);
      progress.update(step + 1, { ce: m.ce, tokS: m.tokens_per_s });
      const done = step + 1;
      if (interrupted) { step++; break; }
      if (r.checkpoint.every > 0 && done % r.checkpoint.every === 0 && done < r.train.steps) save(done);
    }
  } finally {
    offSignals();
    progress.stop();
  }
  if (opts.pp.trace) {
    // one file per rank, times in µs since the epoch (a clock the ranks share)
    fs.mkdirSync(path.dirname(path.resolve(opts.pp.trace)), { recursive: true });
    writeFileAtomic(`${opts.pp.trace}.rank${worldRank}.json`, JSON.stringify(toTraceEvents(traces, 0)));
  }
  if (interrupted || (opts.stopAfter !== undefined && step < r.train.steps)) {
    const dir = save(step);
    log(quiet, interrupted ? `interrupted: saved ${dir}; continue with --resume` : `stopped at step ${step}: saved ${dir}`);
    return { finalDir: dir, lastStep: step, interrupted: true, history, evals: [] };
  }
  const dir = save(step);
  // the final model directory is the last checkpoint's weights (a sharded model directory, loadable anywhere)
  const finalDir = path.join(out, 'final');
  if (root) {
    fs.rmSync(finalDir, { recursive: true, force: true });
    fs.cpSync(dir, `${finalDir}.tmp-${process.pid}`, { recursive: true, filter: (src) => !/optimizer-|trainer_state|COMPLETE/.test(path.basename(src)) });
    fs.renameSync(`${finalDir}.tmp-${process.pid}`, finalDir);
  }
  world.barrier();
  return { finalDir, lastStep: step, interrupted: false, history, evals: [] };
}

/**
 * The sum of this rank's stage gradients with the same pipeline rank's on the other data-parallel
 * replicas: one MPI_Allreduce of all its parameters' gradients packed into one flat buffer (a
 * parameter without a gradient contributes zeros and gets the sum).
 */
function replicaGradients(dpComm: Communicator, params: [string, Tensor][]): () => void {
  const flat = new Float32Array(params.reduce((a, [, t]) => a + t.numel, 0));
  return () => {
    let o = 0;
    for (const [, t] of params) {
      if (t.grad) flat.set(t.grad.f32(), o);
      else flat.fill(0, o, o + t.numel);
      o += t.numel;
    }
    dpComm.allreduce(flat, 'sum');
    o = 0;
    for (const [, t] of params) {
      if (!t.grad) t.grad = Tensor.zeros(t.shape, { track: false });
      t.grad.f32().set(flat.subarray(o, o + t.numel));
      o += t.numel;
    }
  };
}

/** The gradients of tensors held by several ranks, summed over exactly their holders. */
interface GradientGroup {
  reduce(): void;
}

/**
 * One communicator per distinct set of holders with more than one rank (every rank takes part in
 * every split, in the same order, as MPI_Comm_split requires), and this rank's tensors of each set.
 */
function gradientGroups(comm: Communicator, layout: StageLayout, params: [string, Tensor][], names: string[]): GradientGroup[] {
  const sets = new Map<string, number[]>();
  for (const name of names) {
    const h = layout.holders(name);
    if (h.length > 1) sets.set(h.join(','), h);
  }
  const out: GradientGroup[] = [];
  for (const key of [...sets.keys()].sort()) {
    const members = sets.get(key)!;
    const sub = comm.split(members.includes(comm.rank) ? 0 : -1);
    if (!sub) continue;
    const mine = params.filter(([n]) => layout.holders(n).join(',') === key).map(([, t]) => t);
    const n = mine.reduce((a, t) => a + t.numel, 0);
    const flat = new Float32Array(n);
    out.push({
      reduce: () => {
        let o = 0;
        for (const t of mine) {
          if (t.grad) flat.set(t.grad.f32(), o);
          else flat.fill(0, o, o + t.numel);
          o += t.numel;
        }
        sub.allreduce(flat, 'sum');
        o = 0;
        for (const t of mine) {
          if (!t.grad) t.grad = Tensor.zeros(t.shape, { track: false });
          t.grad.f32().set(flat.subarray(o, o + t.numel));
          o += t.numel;
        }
      },
    });
  }
  return out;
}
