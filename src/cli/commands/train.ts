// `tinyseek pretrain` and `tinyseek sft`: run a recipe (built-in per preset, or --config FILE).
import type { Command } from 'commander';
import path from 'node:path';
import { CliError } from '../errors.js';
import { builtinRecipe, loadRunRecipe, parseRunRecipe } from '../../train/recipe.js';
import type { Recipe } from '../../train/recipe.js';

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
      .action(async (f: TrainFlags) => {
        const r = resolveRecipe(kind, f);
        // Imported here so that `tinyseek --help` and the light commands start fast.
        const { train } = await import('../../train/trainer.js');
        const { formatEvalTable } = await import('../../infer/evaluate.js');
        const out = f.out ?? path.join('runs', r.name);
        const res = await train({ recipe: r, out, resume: f.resume, quiet: f.quiet });
        const last = res.history.at(-1);
        if (res.interrupted) {
          console.log(`interrupted at step ${res.lastStep}; checkpoint ${res.finalDir}`);
          return;
        }
        console.log(`done: ${res.lastStep} steps → ${res.finalDir}${last ? ` (final ce ${last.ce.toFixed(4)}, total loss with MTP and balance terms ${last.loss.toFixed(4)}, ${Math.round(last.tokens_per_s)} tok/s)` : ''}`);
        const ev = res.evals.at(-1);
        if (ev) console.log(`\nheld-out greedy accuracy at step ${ev.step} (%):\n${formatEvalTable(ev.report)}`);
      });
  }
}
