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
    .action(async (f: DistillFlags) => {
      const r = resolve(f);
      const { distill } = await import('../../distill/distill.js');
      const { DistillError } = await import('../../distill/vocabulary.js');
      const out = f.out ?? path.join('runs', r.name);
      let res;
      try {
        res = await distill({ recipe: r, out, resume: f.resume, quiet: f.quiet });
      } catch (e) {
        if (e instanceof DistillError) throw new CliError(e.message);
        throw e;
      }
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
