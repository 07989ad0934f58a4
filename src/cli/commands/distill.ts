// `tinyseek distill`: a teacher into a student (trace SFT, answer-only SFT, logit KD, on-policy GKD)
// from a recipe (recipes/distill-<preset>.json or --recipe FILE), resumable.
import type { Command } from 'commander';
import path from 'node:path';
import { CliError } from '../errors.js';
import { builtinDistillRecipe, loadDistillRecipe, parseDistillRecipe } from '../../distill/config.js';
import type { DistillRecipe } from '../../distill/config.js';

interface DistillFlags {
  preset?: string;
  recipe?: string;
  out?: string;
  teacher?: string;
  student?: string;
  steps?: number;
  seed?: number;
  resume?: boolean;
  quiet?: boolean;
  dp?: number;
}

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} expects a non-negative integer, found "${v}"`);
  return n;
};

function resolve(f: DistillFlags): DistillRecipe {
  if (f.recipe && f.preset) throw new CliError('give either --preset or --recipe, not both');
  if (!f.recipe && !f.preset) throw new CliError('give --preset NAME (recipes/distill-NAME.json, e.g. trace-sft-nano) or --recipe FILE');
  try {
    const r = f.recipe ? loadDistillRecipe(f.recipe) : builtinDistillRecipe(f.preset!);
    const o = structuredClone(r) as DistillRecipe;
    if (f.teacher) o.teacher = f.teacher;
    if (f.student) o.student = { ...o.student, init: f.student };
    if (f.steps !== undefined) o.train = { ...o.train, steps: f.steps };
    if (f.seed !== undefined) o.seed = f.seed;
    return parseDistillRecipe(o, f.recipe ?? `recipes/distill-${f.preset}.json`);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/**
 * Checks `distill --dp N` against how the process was launched and the recipe (every rank reaches the
 * same verdict and reports it once), then starts MPI. Null for a single-process run.
 */
async function startDistillRanks(dp: number, batchSize: number): Promise<{ comm: import('../../parallel/mpi.js').Communicator } | null> {
  const { startDpRanks } = await import('./train.js');
  return startDpRanks('distill', dp, batchSize % dp !== 0 ? `train.batchSize ${batchSize} cannot be split over ${dp} ranks (--dp ${dp}; every rank trains on its own rows); choose a batch size divisible by ${dp}` : null);
}

/** Registers `tinyseek distill`. */
export function register(program: Command): void {
  program
    .command('distill')
    .description('distill a teacher into a student: trace-sft (R1-Distill), answer-sft, logit-kd (forward KL, τ, top-k), gkd (on-policy JSD(β)/reverse KL); writes a loadable model directory')
    .option('--preset <name>', 'built-in recipe recipes/distill-<name>.json (e.g. trace-sft-nano, logit-kd-mini)')
    .option('--recipe <file>', 'a distillation recipe JSON file')
    .option('--out <dir>', 'run directory (default runs/<recipe name>); the student lands in <out>/final')
    .option('--teacher <dir>', 'override the teacher model directory')
    .option('--student <dir>', 'override the student\'s starting model directory')
    .option('--steps <n>', 'override train.steps', int('steps'))
    .option('--seed <s>', 'override the seed', int('seed'))
    .option('--resume', 'continue the run in --out from its latest checkpoint', false)
    .option('--quiet', 'no progress output', false)
    .option('--dp <n>', 'data-parallel ranks: run under `mpirun -np N` with --dp N (rank 0 writes the teacher\'s data; each rank trains on 1/N of every global batch)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new CliError(`--dp expects a positive integer, found "${v}"`);
      return n;
    })
    .action(async (f: DistillFlags) => {
      const r = resolve(f);
      const { distill, studentRecipe } = await import('../../distill/distill.js');
      const { DistillError } = await import('../../distill/vocabulary.js');
      const { runOnRanks } = await import('./train.js');
      const out = f.out ?? path.join('runs', r.name);
      let batch: number;
      try {
        batch = studentRecipe(r, 'data.jsonl').train.batchSize;
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      const dp = await startDistillRanks(f.dp ?? 1, batch);
      let res;
      try {
        res = await runOnRanks(dp, () => distill({ recipe: r, out, resume: f.resume, quiet: f.quiet || (dp !== null && dp.comm.rank !== 0), dp: dp ?? undefined }));
      } catch (e) {
        if (e instanceof DistillError) throw new CliError(e.message);
        throw e;
      }
      if (dp && dp.comm.rank !== 0) return;
      if (res.interrupted) {
        console.log(`interrupted at step ${res.lastStep}; checkpoint ${res.finalDir}; continue with --resume`);
        process.exitCode = 130;
        return;
      }
      const last = res.history.at(-1);
      console.log(`done: ${r.mode}, ${res.lastStep} steps → ${res.finalDir}${last ? ` (final loss ${last.loss.toFixed(4)}, student ce ${last.ce.toFixed(4)})` : ''}`);
      const ev = res.evals.at(-1);
      if (ev) {
        const { formatEvalTable } = await import('../../infer/evaluate.js');
        console.log(`\nheld-out greedy accuracy at step ${ev.step} (%):\n${formatEvalTable(ev.report)}`);
      }
    });
}
