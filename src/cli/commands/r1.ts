// `tinyseek r1`: DeepSeek-R1's four-stage pipeline (cold start → reasoning RL → rejection sampling + SFT
// → RL for all scenarios) end to end, resumable stage by stage, with its report card.
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { loadR1Recipe, parseR1Recipe } from '../../rl/r1/config.js';
import { runR1Pipeline } from '../../rl/r1/pipeline.js';

/** Registers `tinyseek r1`. */
export function register(program: Command): void {
  program
    .command('r1')
    .description("DeepSeek-R1's four-stage pipeline: cold-start SFT, reasoning RL, rejection sampling + SFT, RL for all scenarios; report in docs/results/r1-<preset>.{md,json} (or r1-<recipe name> for a recipe of another name)")
    .option('--preset <name>', 'pipeline recipe (recipes/r1-<preset>.json) or a recipe file', 'nano')
    .option('--base <dir>', 'base model directory (default from the recipe; pretrained first if missing)')
    .option('--r1zero <dir>', 'an existing R1-Zero model to sample the cold-start traces from (instead of training one)')
    .option('--out <dir>', 'run folder (default runs/<recipe name>); complete stages in it are skipped')
    .option('--report <dir>', 'where to write the report', 'docs/results')
    .option('--quiet', 'no progress output', false)
    .action(async (f: { preset: string; base?: string; r1zero?: string; out?: string; report: string; quiet: boolean }) => {
      let r;
      try {
        r = loadR1Recipe(f.preset);
        if (f.base) r = parseR1Recipe({ ...r, base: f.base });
        if (f.r1zero) r = parseR1Recipe({ ...r, r1zero: { ...r.r1zero, init: f.r1zero } });
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      console.log(`report: ${await runR1Pipeline({ recipe: r, out: f.out, reportDir: f.report, quiet: f.quiet, recipeArg: f.preset })}`);
    });
}
