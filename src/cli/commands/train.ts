// `tinyseek pretrain` and `tinyseek sft`: run a recipe (built-in per preset, or --config FILE).
import type { Command } from 'commander';
import path from 'node:path';
import { CliError, EXIT_USAGE } from '../errors.js';
import { builtinRecipe, loadRunRecipe, parseRunRecipe } from '../../train/recipe.js';
import type { Recipe } from '../../train/recipe.js';
import type { DataParallelConfig } from '../../train/trainer.js';
import type { Mpi } from '../../parallel/mpi.js';

interface TrainFlags {
  preset?: string;
  config?: string;
  out?: string;
  steps?: number;
  seed?: number;
  resume?: boolean;
  data?: string;
  init?: string;
  quiet?: boolean;
  dp?: number;
  ep?: number;
  epGroups?: number;
  zero1?: boolean;
  bucketMb?: number;
  pp?: number;
  schedule?: string;
  chunks?: number;
  trace?: string;
}

function resolveRecipe(kind: 'pretrain' | 'sft', f: TrainFlags): Recipe {
  if (f.config && f.preset) throw new CliError('give either --preset or --config, not both');
  let r: Recipe;
  try {
    r = f.config ? loadRunRecipe(f.config) : builtinRecipe(kind, f.preset ?? 'mini');
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (r.kind !== kind) throw new CliError(`recipe ${f.config} is a ${r.kind} recipe; use \`tinyseek ${r.kind}\``);
  const o = structuredClone(r) as { train: { steps: number }; seed: number; data: { file?: string }; model: { init?: string } };
  if (f.steps !== undefined) o.train.steps = f.steps;
  if (f.seed !== undefined) o.seed = f.seed;
  if (f.data) o.data.file = f.data;
  if (f.init) o.model.init = f.init;
  return parseRunRecipe(o);
}

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} expects a non-negative integer, found "${v}"`);
  return n;
};

const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${name} expects a positive integer, found "${v}"`);
  return n;
};

const positiveNumber = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`--${name} expects a positive number, found "${v}"`);
  return n;
};

/**
 * Ends this rank of a job every rank of which found the same bad input: prints the message, waits
 * until every rank has printed it (MPI_Barrier), and exits with the usage status — so that mpirun,
 * which kills the job when the first rank exits non-zero, cannot cut another rank's message short.
 */
export async function endAllRanks(message: string): Promise<never> {
  const { Mpi } = await import('../../parallel/mpi.js');
  const mpi = Mpi.init();
  console.error(`tinyseek: ${message}`);
  mpi.world.barrier();
  mpi.finalize();
  process.exit(EXIT_USAGE);
}

/**
 * Checks --dp/--ep against how the process was launched and the model (every rank reaches the same
 * verdict and reports it, see endAllRanks), then initializes MPI. Null for a single-process run.
 */
async function startDataParallel(f: TrainFlags, r: Recipe): Promise<DataParallelConfig | null> {
  const { launchedWorldSize, mpiUnavailableReason } = await import('../../parallel/mpi.js');
  try {
    return await startRanks(f, r);
  } catch (e) {
    if (e instanceof CliError && launchedWorldSize() !== null && !mpiUnavailableReason()) return endAllRanks(e.message);
    throw e;
  }
}

/** A multi-rank run started without mpirun. */
export function notLaunchedMessage(kind: string, flags: string, ranks: number): string {
  return `${flags} needs ${ranks} processes: start it as \`mpirun -np ${ranks} tinyseek ${kind} ... ${flags}\` (as root in a container also set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; add --oversubscribe when ranks exceed cores)`;
}

/**
 * Starts MPI for a data-parallel command (`grpo`, `r1-zero`, `distill` with --dp N): checks the launch
 * (mpirun's world size against N) and the command's own `problem` (null: none), with every rank
 * reaching the same verdict and reporting it once. Null for a single-process run.
 */
export async function startDpRanks(command: string, dp: number, problem: string | null): Promise<{ comm: import('../../parallel/mpi.js').Communicator } | null> {
  const { launchedWorldSize, mpiUnavailableReason } = await import('../../parallel/mpi.js');
  const world = launchedWorldSize();
  const bad = world === null ? (dp > 1 ? notLaunchedMessage(command, `--dp ${dp}`, dp) : null)
    : world !== dp ? dpMismatchMessage(dp, world)
    : problem;
  if (bad) {
    if (world !== null && world > 1 && !mpiUnavailableReason()) return endAllRanks(bad);
    throw new CliError(bad);
  }
  if (dp === 1) return null;
  return { comm: (await startMpi('tinyseek')).world };
}

/**
 * Starts MPI for a multi-rank command (MPI_THREAD_FUNNELED) and arranges that a rank stopped by
 * mpirun's SIGTERM (another rank failed) says so as "<who> rank r/n: stopped by mpirun because …",
 * even from inside a blocking MPI call. An unavailable MPI is a CliError.
 */
export async function startMpi(who: string): Promise<Mpi> {
  const { Mpi, MpiUnavailableError } = await import('../../parallel/mpi.js');
  let mpi: Mpi;
  try {
    mpi = Mpi.init('funneled');
  } catch (e) {
    throw new CliError(e instanceof MpiUnavailableError ? e.message : `cannot start MPI: ${(e as Error).message}`);
  }
  mpi.onTerminate(`${who} rank ${mpi.rank}/${mpi.size}: stopped by mpirun because `);
  return mpi;
}

/** --dp N under mpirun with another number of processes. */
export function dpMismatchMessage(dp: number, world: number): string {
  return `--dp ${dp} does not match mpirun's ${world} processes; give --dp ${world}, or start mpirun -np ${dp}`;
}

async function startRanks(f: TrainFlags, r: Recipe): Promise<DataParallelConfig | null> {
  const { launchedWorldSize } = await import('../../parallel/mpi.js');
  const dp = f.dp ?? 1, ep = f.ep ?? 1;
  const ranks = dp * ep;
  const world = launchedWorldSize();
  const flags = ep > 1 ? `--dp ${dp} --ep ${ep}` : `--dp ${dp}`;
  if (world === null && ranks > 1) throw new CliError(notLaunchedMessage(r.kind, flags, ranks));
  if (ep === 1 && f.epGroups !== undefined && f.epGroups > 1) throw new CliError(`--ep-groups ${f.epGroups} groups expert-parallel ranks into nodes; it needs --ep N with N > 1`);
  if (ep > 1) {
    // Checked from the recipe's config before MPI starts, so that every rank prints the same verdict.
    const { recipeConfig } = await import('../../train/trainer.js');
    const { loadConfigPath } = await import('../../model/config.js');
    const { expertLayoutProblem } = await import('../../parallel/expert-parallel.js');
    const { deepseekConfig } = await import('../../model/registry.js');
    let cfg;
    try {
      cfg = r.model.init ? loadConfigPath(r.model.init) : deepseekConfig(recipeConfig(r), '--ep');
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    const problem = expertLayoutProblem(cfg, { world: world ?? 1, dp, ep, epGroups: f.epGroups });
    if (problem) throw new CliError(problem);
  } else if (world !== null && world !== dp) throw new CliError(dpMismatchMessage(dp, world));
  if (ranks === 1) {
    if (f.zero1) throw new CliError('--zero1 shards the optimizer over data-parallel ranks; it needs --dp N with N > 1');
    return null;
  }
  if (r.train.batchSize % ranks !== 0) throw new CliError(`train.batchSize ${r.train.batchSize} cannot be split over ${ranks} ranks (${flags}; every rank trains on its own rows); choose a batch size divisible by ${ranks}`);
  return { comm: (await startMpi('tinyseek')).world, zero1: f.zero1, bucketBytes: f.bucketMb !== undefined ? Math.round(f.bucketMb * 2 ** 20) : undefined, ep, epGroups: f.epGroups };
}

/**
 * Checks --pp/--dp/--schedule/--chunks against the model and the launch before MPI starts (every rank
 * finds the same mistake, prints it once and exits: no rank waits for another, see endAllRanks),
 * then initializes MPI. Null without --pp (or --pp 1).
 */
async function startPipeline(f: TrainFlags, r: Recipe): Promise<import('../../train/pipeline-trainer.js').PipelineConfig | null> {
  const { launchedWorldSize, mpiUnavailableReason } = await import('../../parallel/mpi.js');
  try {
    return await startPipelineRanks(f, r);
  } catch (e) {
    const world = launchedWorldSize();
    if (e instanceof CliError && world !== null && world > 1 && !mpiUnavailableReason()) return endAllRanks(e.message);
    throw e;
  }
}

async function startPipelineRanks(f: TrainFlags, r: Recipe): Promise<import('../../train/pipeline-trainer.js').PipelineConfig | null> {
  const { launchedWorldSize } = await import('../../parallel/mpi.js');
  const { PIPELINE_METHODS } = await import('../../parallel/schedule.js');
  const pp = f.pp ?? 1;
  if (pp === 1) {
    if (f.schedule || f.chunks || f.trace) throw new CliError('--schedule, --chunks and --trace are pipeline options; they need --pp N with N > 1');
    return null;
  }
  const dp = f.dp ?? 1, ep = f.ep ?? 1;
  if (f.epGroups !== undefined) throw new CliError(`--ep-groups (node-limited routing over EP "nodes") is an option of --ep without --pp; with --pp the gate's own group-limited routing (n_group, topk_group) still applies`);
  if (f.zero1 || f.bucketMb !== undefined) throw new CliError(`--zero1 and --bucket-mb are options of the data-parallel trainer without --pp; with --pp ${pp}${dp > 1 ? ` --dp ${dp}` : ''}${ep > 1 ? ` --ep ${ep}` : ''} the stage gradients are all-reduced once per step and every rank keeps its stages' full AdamW moments`);
  const method = (f.schedule ?? '1f1b') as (typeof PIPELINE_METHODS)[number];
  if (!PIPELINE_METHODS.includes(method)) throw new CliError(`--schedule expects one of ${PIPELINE_METHODS.join(', ')}, found "${f.schedule}"`);
  const chunks = f.chunks ?? 2 * pp;
  const { checkPipeline } = await import('../../train/pipeline-trainer.js');
  const { recipeConfig } = await import('../../train/trainer.js');
  const { loadConfigPath } = await import('../../model/config.js');
  const world = launchedWorldSize();
  const ranks = (method === 'dualpipev' ? pp / 2 : pp) * dp * ep;
  const flags = `--pp ${pp}${dp > 1 ? ` --dp ${dp}` : ''}${ep > 1 ? ` --ep ${ep}` : ''} --schedule ${method}`;
  if (world === null) throw new CliError(`${flags} runs on ${ranks} processes: start it as \`mpirun -np ${ranks} tinyseek ${r.kind} ... ${flags}\` (as root in a container also set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; add --oversubscribe when ranks exceed cores)`);
  try {
    const cfg = r.model.init ? loadConfigPath(r.model.init) : recipeConfig(r);
    if (ep > 1) {
      // expert parallelism inside each stage: the routed experts must split evenly over the EP ranks
      const { expertLayoutProblem } = await import('../../parallel/expert-parallel.js');
      const { deepseekConfig } = await import('../../model/registry.js');
      const problem = expertLayoutProblem(deepseekConfig(cfg, '--ep'), { world: dp * ep, dp, ep });
      if (problem) throw new Error(problem);
    }
    checkPipeline(pp, method, chunks, cfg.numHiddenLayers, world, r.train.batchSize, dp, ep);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  return { comm: (await startMpi('tinyseek')).world, pp, dp, ep, method, chunks, trace: f.trace };
}

/**
 * Runs a data-parallel command body on this rank. An error every rank raised together (rank 0's
 * verdict, CollectiveError) finalizes MPI and is reported normally; an error of this rank alone is
 * printed with the rank and ends the whole job with MPI_Abort, so no rank is left waiting for it.
 */
export async function runOnRanks<T>(dp: { comm: unknown } | null, body: () => Promise<T>): Promise<T> {
  if (!dp) return body();
  const { Mpi } = await import('../../parallel/mpi.js');
  const { CollectiveError } = await import('../../parallel/root-first.js');
  const mpi = Mpi.init();
  let res: T;
  try {
    res = await body();
  } catch (e) {
    if (e instanceof CollectiveError) return endAllRanks(e.message);
    console.error(`tinyseek rank ${mpi.rank}/${mpi.size}: ${(e as Error).message}`);
    if (process.env.TINYSEEK_DEBUG) console.error((e as Error).stack);
    return mpi.abort(1);
  }
  mpi.finalize();
  return res;
}

/** Registers `tinyseek pretrain` and `tinyseek sft`. */
export function register(program: Command): void {
  for (const kind of ['pretrain', 'sft'] as const) {
    program
      .command(kind)
      .description(kind === 'pretrain'
        ? 'pretrain a base model on the task corpus (tokenizer, packing, AdamW on the V3 schedule, MTP, aux-loss-free balancing)'
        : 'supervised fine-tuning on chat-formatted (prompt, response) pairs, loss on the response only')
      .option('--preset <name>', 'built-in recipe recipes/<kind>-<preset>.json (default mini)')
      .option('--config <file>', 'a recipe JSON file')
      .option('--out <dir>', 'run directory (default runs/<recipe name>)')
      .option('--steps <n>', 'override train.steps', int('steps'))
      .option('--seed <s>', 'override the seed', int('seed'))
      .option('--resume', 'continue the run in --out from its latest checkpoint', false)
      .option('--data <file>', kind === 'sft' ? 'JSONL of {prompt, response} or {messages}' : 'an existing corpus JSONL (default: build the recipe\'s)')
      .option('--init <dir>', 'start from this model directory')
      .option('--quiet', 'no progress output', false)
      .option('--dp <n>', 'data-parallel ranks: run under `mpirun -np N` with --dp N (each rank trains on 1/N of every global batch); with --pp, N replicas of the pipeline (mpirun -np PP×N, PP/2×N for dualpipev)', positive('dp'))
      .option('--ep <n>', 'expert-parallel ranks: the routed experts are spread over N ranks (all-to-all dispatch/combine); mpirun -np DP×EP (with --pp: within each stage, mpirun -np PP×DP×EP)', positive('ep'))
      .option('--ep-groups <g>', 'with --ep: node-limited routing, the EP ranks form G nodes (needs n_group = G; a token reaches at most topk_group nodes)', positive('ep-groups'))
      .option('--zero1', 'with --dp: shard the AdamW moments over the ranks (ZeRO stage 1)', false)
      .option('--bucket-mb <mb>', 'with --dp: gradient all-reduce bucket size in MiB (default 25, first bucket 1)', positiveNumber('bucket-mb'))
      .option('--pp <n>', 'pipeline stages: run under `mpirun -np N` (N = PP, or PP/2 for dualpipev; times --dp replicas); the model is cut into PP stages by layers', positive('pp'))
      .option('--schedule <name>', 'with --pp: 1f1b, zb1p, dualpipe or dualpipev (default 1f1b)')
      .option('--chunks <n>', 'with --pp: micro-batches per step and replica (default 2·PP; train.batchSize must be a multiple of chunks × DP)', positive('chunks'))
      .option('--trace <prefix>', 'with --pp: write each rank\'s timeline to <prefix>.rank<r>.json (Chrome trace events: open in ui.perfetto.dev or chrome://tracing)')
      .action(async (f: TrainFlags) => {
        const r = resolveRecipe(kind, f);
        // Imported here so that `tinyseek --help` and the light commands start fast.
        const { train } = await import('../../train/trainer.js');
        const { formatEvalTable } = await import('../../infer/evaluate.js');
        const out = f.out ?? path.join('runs', r.name);
        const pp = await startPipeline(f, r);
        const dp = pp ? null : await startDataParallel(f, r);
        const res = pp
          ? await runOnRanks(pp, async () => (await import('../../train/pipeline-trainer.js')).trainPipeline({ recipe: r, out, resume: f.resume, quiet: f.quiet, pp }))
          : await runOnRanks(dp, () => train({ recipe: r, out, resume: f.resume, quiet: f.quiet, dp: dp ?? undefined }));
        if ((dp && dp.comm.rank !== 0) || (pp && pp.comm.rank !== 0)) return;
        const last = res.history.at(-1);
        if (res.interrupted) {
          console.log(`interrupted at step ${res.lastStep}; checkpoint ${res.finalDir}`);
          process.exitCode = 130;
          return;
        }
        console.log(`done: ${res.lastStep} steps → ${res.finalDir}${last ? ` (final ce ${last.ce.toFixed(4)}, total loss with MTP and balance terms ${last.loss.toFixed(4)}, ${Math.round(last.tokens_per_s)} tok/s)` : ''}`);
        const ev = res.evals.at(-1);
        if (ev) console.log(`\nheld-out greedy accuracy at step ${ev.step} (%):\n${formatEvalTable(ev.report)}`);
      });
  }
}
