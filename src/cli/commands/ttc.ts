// `tinyseek ttc MODEL_DIR`: test-time compute of a reasoning model (pass@k and cons@k against samples
// per problem, accuracy against a thinking budget with budget forcing, best-of-N with the R1 pipeline's
// reward model when the model directory has one), report in docs/results.
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { CliError } from '../errors.js';
import { MODEL_DIR_HELP, modelDirOrShipped } from '../shipped-model.js';

const intList = (name: string) => (v: string) => {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isInteger(x) || x < 0)) throw new CliError(`--${name} expects comma-separated non-negative integers, found "${v}"`);
  return xs;
};
const num = (name: string, integer = false) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new CliError(`--${name} expects a non-negative ${integer ? 'integer' : 'number'}, found "${v}"`);
  return n;
};

/** Registers `tinyseek ttc`. */
export function register(program: Command): void {
  program
    .command('ttc')
    .description('test-time compute: pass@k / cons@k for k = 1…n and accuracy against a thinking budget (budget forcing, "Wait" extension)')
    .argument('[model_dir]', MODEL_DIR_HELP)
    .option('--families <list>', 'comma-separated task families (default all)', (v: string) => v.split(',').map((s) => s.trim()))
    .option('--difficulties <list>', 'difficulty levels', intList('difficulties'), [1, 2, 3])
    .option('--n <n>', 'problems per family and difficulty', num('n', true), 2)
    .option('--samples <n>', 'samples per problem (k runs 1…n)', num('samples', true), 64)
    .option('--max-tokens <n>', 'completion limit of the samples', num('max-tokens', true), 200)
    .option('--budgets <list>', 'thinking budgets B (cap only)', intList('budgets'), [0, 8, 16, 32, 48, 64, 96, 128, 192, 256])
    .option('--waits <list>', '"Wait" extensions to measure, at --wait-cap', intList('waits'), [1, 2, 4])
    .option('--wait-cap <n>', 'thinking budget of the "Wait" runs', num('wait-cap', true), 384)
    .option('--template <name>', 'chat template (default: R1\'s, which opens <think>)', 'default')
    .option('--seed <s>', 'seed of the problems and samplers', num('seed', true), 0)
    .option('--report <dir>', 'report directory', 'docs/results')
    .option('--name <stem>', 'report file stem', 'test-time')
    .option('--rm <file>', 'reward model for best-of-N (default: MODEL_DIR/reward-model.json when it exists; "none" to skip)')
    .option('--compare <json>', "another model's report (a ttc JSON measured with the same problems and settings) to draw beside this one")
    .option('--render', 'only redraw the report (Markdown and SVGs) from its JSON', false)
    .action(async (dirArg: string | undefined, f: { families?: string[]; difficulties: number[]; n: number; samples: number; maxTokens: number; budgets: number[]; waits: number[]; waitCap: number; template: string; seed: number; report: string; name: string; rm?: string; compare?: string; render: boolean }) => {
      const { renderTtcReport, writeTtcReport, comparisonOf } = await import('../../scaling/ttc-report.js');
      if (f.render) {
        const file = path.join(f.report, `${f.name}.json`);
        if (!fs.existsSync(file)) throw new CliError(`no report at ${file}: run \`tinyseek ttc MODEL_DIR\` first`);
        try {
          console.log(`report: ${await renderTtcReport(file)}`);
        } catch (e) {
          throw new CliError((e as Error).message);
        }
        return;
      }
      let other = null;
      if (f.compare) {
        if (!fs.existsSync(f.compare)) throw new CliError(`--compare ${f.compare}: no such file (expected a report written by \`tinyseek ttc\`, e.g. docs/results/test-time.json)`);
        try {
          other = JSON.parse(fs.readFileSync(f.compare, 'utf8'));
        } catch (e) {
          throw new CliError(`--compare ${f.compare}: not JSON (${(e as Error).message})`);
        }
        for (const k of ['sampling', 'budget', 'options']) if (!other || typeof other !== 'object' || !(k in other)) throw new CliError(`--compare ${f.compare}: not a test-time report (it has no "${k}" field)`);
      }
      const dir = modelDirOrShipped(dirArg);
      if (!fs.existsSync(path.join(dir, 'config.json'))) throw new CliError(`${dir} is not a model directory (no config.json)`);
      if (f.samples < 1) throw new CliError('--samples must be at least 1');
      const { loadModel } = await import('../../model/checkpoint.js');
      const { Tokenizer } = await import('../../tokenizer/index.js');
      const { Generator } = await import('../../infer/generator.js');
      const { measureTestTimeCompute, TTC_DEFAULTS } = await import('../../scaling/ttc.js');
      const { taskNames } = await import('../../tasks/index.js');
      for (const fam of f.families ?? []) if (!taskNames().includes(fam)) throw new CliError(`--families: unknown task family "${fam}"; expected some of ${taskNames().join(', ')}`);
      const model = loadModel(dir);
      model.eval();
      const tok = Tokenizer.fromDir(dir);
      try { tok.idOf('</think>'); } catch { throw new CliError(`${dir}: the tokenizer has no </think> token, so the thinking cannot be delimited`); }
      const gen = new Generator(model, { maxBatch: 128, maxLen: Math.min(512, model.cfg.maxPositionEmbeddings) });
      const opts = { ...TTC_DEFAULTS, families: f.families, difficulties: f.difficulties, n: f.n, samples: f.samples, maxTokens: f.maxTokens, budgets: f.budgets, waits: f.waits, waitCap: f.waitCap, template: f.template, seed: f.seed };
      const rmFile = f.rm === 'none' ? null : f.rm ?? (fs.existsSync(path.join(dir, 'reward-model.json')) ? path.join(dir, 'reward-model.json') : null);
      let rm = null;
      if (rmFile) {
        if (!fs.existsSync(rmFile)) throw new CliError(`--rm ${rmFile}: no such file (expected a reward model saved by the R1 pipeline, <run>/rm/reward-model.json)`);
        const { LinearRewardModel } = await import('../../rl/r1/reward-model.js');
        try {
          rm = { model: LinearRewardModel.load(rmFile), source: path.relative(process.cwd(), rmFile) || rmFile };
        } catch (e) {
          throw new CliError(`--rm ${rmFile}: ${(e as Error).message}`);
        }
      }
      if (other) {
        const bad = (['difficulties', 'n', 'seed', 'samples', 'maxTokens'] as const).filter((k) => JSON.stringify(other.options[k]) !== JSON.stringify(opts[k]));
        if (bad.length) throw new CliError(`--compare ${f.compare}: measured with other settings (${bad.map((k) => `${k} ${JSON.stringify(other.options[k])} there, ${JSON.stringify(opts[k])} here`).join('; ')}); use the same ones so both models see the same problems`);
      }
      const argv = process.argv.slice(2).join(' ');
      let rep;
      try {
        rep = await measureTestTimeCompute(gen, tok, path.basename(path.resolve(dir)), opts, (m) => console.error(m), rm);
      } catch (e) {
        if (e instanceof RangeError) throw new CliError(e.message);
        throw e;
      }
      let compare;
      try {
        compare = other ? comparisonOf(rep, other, f.compare!) : undefined;
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      const md = await writeTtcReport(compare ? { ...rep, compare } : rep, f.report, f.name, `npx tinyseek ${argv}`);
      const s = rep.sampling;
      console.log(`pass@1 ${(100 * s.passAtK[0]).toFixed(1)}%, pass@${f.samples} ${(100 * s.passAtK.at(-1)!).toFixed(1)}%, cons@${f.samples} ${(100 * s.consAtK.at(-1)!).toFixed(1)}% (${rep.problems} problems)`);
      console.log(`report: ${md}`);
    });
}
