// `tinyseek grpo`, `tinyseek eval` and `tinyseek r1-zero`: reinforcement learning with verifiable
// rewards, held-out evaluation as R1 reports it, and the R1-Zero experiment end to end.
import { WEIGHTS_HELP, MMAP_HELP, weightsArg } from './generate.js';
import type { WeightsMode } from '../../model/checkpoint.js';
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { CliError } from '../errors.js';
// The implementations are imported when a command runs, so that `tinyseek --help` and the
// light commands start without loading GRPO, the evaluator and Vega (about a second of CPU).

const num = (name: string, int = false) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (int && !Number.isInteger(n))) throw new CliError(`--${name} expects a non-negative ${int ? 'integer' : 'number'}, found "${v}"`);
  return n;
};
const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${name} expects a positive integer, found "${v}"`);
  return n;
};

/**
 * Checks `grpo --dp N` (or `r1-zero --dp N`) against how the process was launched and the recipe (every rank reaches the
 * same verdict and reports it once), then starts MPI. Null for a single-process run.
 */
async function startGrpoRanks(command: 'grpo' | 'r1-zero', dp: number, promptsPerStep: number, rolloutWorkers: boolean): Promise<{ comm: import('../../parallel/mpi.js').Communicator } | null> {
  const { startDpRanks } = await import('./train.js');
  const { dpSplitProblem } = await import('../../rl/data-parallel.js');
  const problem = dp > 1 && rolloutWorkers ? '--dp and --rollout-workers do not combine: a data-parallel run samples its rollouts on its own ranks' : dpSplitProblem(promptsPerStep, dp);
  return startDpRanks(command, dp, problem);
}

/** Registers the RL commands. */
export function register(program: Command): void {
  program
    .command('grpo')
    .description('GRPO with rule-based rewards from a recipe (recipes/grpo-<name>.json or a file)')
    .requiredOption('--config <fileOrName>', 'GRPO recipe')
    .option('--init <dir>', 'override the starting model directory')
    .option('--out <dir>', 'run directory (default runs/<name>)')
    .option('--steps <n>', 'override steps', num('steps', true))
    .option('--resume', 'continue the run in --out', false)
    .option('--quiet', 'no progress output', false)
    .option('--rollout-workers <url>', 'sample rollouts in `tinyseek rollout-worker` processes through a BullMQ queue on this Redis (redis://host:port)')
    .option('--max-staleness <n>', 'with --rollout-workers: train on rollouts sampled by a policy up to n versions old (0 = synchronous)', num('max-staleness', true), 1)
    .option('--rollout-queue <name>', 'with --rollout-workers: the queue name', 'tinyseek-rollouts')
    .option('--publish-dir <dir>', 'with --rollout-workers: where policy versions are published for the workers (a shared directory; default <out>/policy-versions)')
    .option('--dp <n>', 'data-parallel ranks: run under `mpirun -np N` with --dp N (each rank samples, scores and trains on 1/N of every step\'s prompt groups)', positive('dp'))
    .action(async (f: { config: string; init?: string; out?: string; steps?: number; resume: boolean; quiet: boolean; rolloutWorkers?: string; maxStaleness: number; rolloutQueue: string; publishDir?: string; dp?: number }) => {
      const { loadGrpoRecipe, parseGrpoRecipe } = await import('../../rl/config.js');
      const { grpo } = await import('../../rl/grpo.js');
      let r;
      try {
        r = loadGrpoRecipe(f.config);
        r = parseGrpoRecipe({ ...r, ...(f.init ? { init: f.init } : {}), ...(f.steps ? { steps: f.steps } : {}) });
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      if (!fs.existsSync(path.join(r.init, 'config.json'))) throw new CliError(`the starting model ${r.init} is not a model directory (no config.json); train one with \`tinyseek pretrain\``);
      let rolloutWorkers: import('../../rl/grpo.js').RolloutWorkersOptions | undefined;
      if (f.rolloutWorkers) {
        const { redisConnection } = await import('../../parallel/redis-url.js');
        try {
          redisConnection(f.rolloutWorkers);
        } catch (e) {
          throw new CliError(`--rollout-workers: ${(e as Error).message}`);
        }
        rolloutWorkers = { url: f.rolloutWorkers, maxStaleness: f.maxStaleness, queue: f.rolloutQueue, publishDir: f.publishDir };
      }
      const dp = await startGrpoRanks('grpo', f.dp ?? 1, r.promptsPerStep, rolloutWorkers !== undefined);
      const { runOnRanks } = await import('./train.js');
      const res = await runOnRanks(dp, () => grpo({ recipe: r!, out: f.out ?? path.join('runs', r!.name), resume: f.resume, quiet: f.quiet, rolloutWorkers, dp: dp ?? undefined }));
      if (dp && dp.comm.rank !== 0) return;
      if (res.interrupted) {
        console.log(`interrupted at step ${res.lastStep}; checkpoint ${res.finalDir}; continue with --resume`);
        process.exitCode = 130;
        return;
      }
      console.log(`done: ${res.lastStep} steps → ${res.finalDir}`);
    });

  program
    .command('eval')
    .description('held-out pass@1 (k samples, T=0.6, top-p 0.95), cons@k and greedy accuracy per task family')
    .argument('<model_dir>', 'model directory')
    .option('--families <list>', 'comma-separated task families (default all)', list)
    .option('--difficulties <list>', 'comma-separated difficulty levels', (v) => list(v).map(Number), [1, 2, 3])
    .option('--n <n>', 'problems per family and difficulty', num('n', true), 20)
    .option('--k <k>', 'samples per problem (0 = greedy only)', num('k', true), 8)
    .option('--temperature <t>', 'sampling temperature', num('temperature'), 0.6)
    .option('--top-p <p>', 'nucleus mass', num('top-p'), 0.95)
    .option('--max-tokens <n>', 'completion limit', num('max-tokens', true), 256)
    .option('--template <name>', 'chat template of the prompts: a name in the model\'s tokenizer_config.json (default: its "default" template, as serve and chat use) or r1zero (base and R1-Zero models)')
    .option('--seed <s>', 'seed of the held-out problems and samplers', num('seed', true), 0)
    .option('--out <file>', 'also write the JSON report to this file')
    .option('--json', 'print JSON', false)
    .option('--no-mtp', 'do not load the MTP module (model.layers.{num_hidden_layers}.*): less memory')
    .option('--weights <w>', WEIGHTS_HELP, weightsArg, 'f32' as WeightsMode)
    .option('--mmap', MMAP_HELP, false)
    .action(async (dir: string, f: { families?: string[]; difficulties: number[]; n: number; k: number; temperature: number; topP: number; maxTokens: number; template?: string; seed: number; out?: string; json: boolean; mtp: boolean; weights: WeightsMode; mmap: boolean }) => {
      if (!fs.existsSync(path.join(dir, 'config.json'))) throw new CliError(`${dir} is not a model directory (no config.json)`);
      const { loadModel } = await import('../../model/checkpoint.js');
      const { Tokenizer } = await import('../../tokenizer/index.js');
      const { Generator } = await import('../../infer/generator.js');
      const { evaluate, formatEvalTable } = await import('../../infer/evaluate.js');
      const { writeFileAtomic } = await import('../../io/index.js');
      if (f.mmap && f.weights === 'f32') throw new CliError('--mmap maps 16-bit weights; add --weights bf16 or --weights f16 (the checkpoint\'s 16-bit dtype)');
      const model = loadModel(dir, { mtp: f.mtp, weights: f.weights, mmap: f.mmap });
      model.eval();
      const tok = Tokenizer.fromDir(dir);
      const gen = new Generator(model, { maxBatch: 128, maxLen: Math.min(512, model.cfg.maxPositionEmbeddings) });
      const template = f.template ?? 'default';
      if (!(template in tok.templates) && template !== 'r1zero' && !template.includes('{')) {
        throw new CliError(`--template: expected one of ${Object.keys(tok.templates).join(', ')} (from ${dir}/tokenizer_config.json); found "${template}"`);
      }
      // The strict check is the format the template asks for: R1-Zero's <answer> tags under the R1-Zero
      // template, R1's "reasoning </think> The answer is X." under any chat template.
      const { r1Verify } = await import('../../rl/r1/format.js');
      const verify = template === 'r1zero' ? undefined : r1Verify;
      const rep = await evaluate(gen, tok, { families: f.families, difficulties: f.difficulties, n: f.n, k: f.k, temperature: f.temperature, topP: f.topP, maxNewTokens: f.maxTokens, seed: f.seed, template, verify });
      if (f.out) writeFileAtomic(f.out, JSON.stringify(rep, null, 2) + '\n');
      if (f.json) console.log(JSON.stringify(rep));
      else console.log(`${formatEvalTable(rep)}\n(${rep.seconds.toFixed(1)} s; percentages; difficulties ${f.difficulties.join(',')}, ${f.n} problems each; template "${template}")`);
      if (f.template === undefined && !(rep.mean.formatRate > 0) && !(rep.mean.greedy > 0) && !(rep.mean.pass1 > 0)) {
        console.error('note: no completion scored or was in the chat format under the "default" template; a base or R1-Zero model answers the R1-Zero prompt: pass --template r1zero');
      }
    });

  program
    .command('r1-zero')
    .description('the R1-Zero experiment: base model → GRPO with accuracy + format rewards only → before/after evaluation and report')
    .option('--preset <name>', 'experiment preset (recipes/grpo-<preset>.json; base from recipes/pretrain-<preset>.json)', 'mini')
    .option('--base <dir>', 'base model directory (default: the recipe\'s init, e.g. runs/pretrain-mini/final, pretrained first if missing)')
    .option('--out <dir>', 'RL run directory (default runs/r1-zero-<preset>)')
    .option('--minutes <m>', 'RL time budget in minutes', num('minutes'), 60)
    .option('--report <dir>', 'where to write the report', 'docs/results')
    .option('--resume', 'continue an interrupted RL run', false)
    .option('--render', 'only redraw the report (Markdown and SVG curves) from its JSON', false)
    .option('--dp <n>', 'the RL stage data-parallel: run under `mpirun -np N` with --dp N (rank 0 evaluates and writes the report; the base must exist)', positive('dp'))
    .action(async (f: { preset: string; base?: string; out?: string; minutes: number; report: string; resume: boolean; render: boolean; dp?: number }) => {
      const { renderR1ZeroReport, runR1Zero } = await import('../../rl/r1zero.js');
      if (f.render) {
        const { readReport } = await import('../../rl/r1zero-report.js');
        try {
          readReport(path.join(f.report, `r1-zero-${f.preset}.json`));
        } catch (e) {
          throw new CliError((e as Error).message);
        }
        console.log(`report: ${await renderR1ZeroReport(f.preset, f.report)}`);
        return;
      }
      let promptsPerStep = 0;
      if (f.dp !== undefined) {
        const { loadGrpoRecipe } = await import('../../rl/config.js');
        try {
          promptsPerStep = loadGrpoRecipe(f.preset).promptsPerStep;
        } catch (e) {
          throw new CliError((e as Error).message);
        }
      }
      const dp = await startGrpoRanks('r1-zero', f.dp ?? 1, promptsPerStep, false);
      const { runOnRanks } = await import('./train.js');
      await runOnRanks(dp, () => runR1Zero({ preset: f.preset, base: f.base, out: f.out, minutes: f.minutes, reportDir: f.report, resume: f.resume, dp: dp ?? undefined }));
    });
}
