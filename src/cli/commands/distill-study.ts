// `tinyseek distill-study`: the distillation study (issue #14) — base, GRPO, trace SFT, answer-only SFT,
// logit KD, GKD, trace SFT → GRPO and the teacher under one student compute budget, each arm resumable;
// report docs/results/distill-<preset>.{md,json} (src/distill/study.ts).
import type { Command } from 'commander';
import path from 'node:path';
import { CliError } from '../errors.js';
import { builtinStudyRecipe, loadStudyRecipe, parseStudyRecipe } from '../../distill/study-config.js';
import type { StudyRecipe } from '../../distill/study-config.js';

interface StudyFlags {
  preset?: string;
  recipe?: string;
  out?: string;
  reportDir: string;
  teacher?: string;
  render?: boolean;
  quiet?: boolean;
}

function resolve(f: StudyFlags): StudyRecipe {
  if (f.recipe && f.preset) throw new CliError('give either --preset or --recipe, not both');
  if (!f.recipe && !f.preset) throw new CliError('give --preset nano|mini (recipes/distill-study-<preset>.json) or --recipe FILE');
  try {
    const r = f.recipe ? loadStudyRecipe(f.recipe) : builtinStudyRecipe(f.preset!);
    return f.teacher ? parseStudyRecipe({ ...r, teacher: f.teacher }, f.recipe ?? `recipes/distill-study-${f.preset}.json`) : r;
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** Registers `tinyseek distill-study`. */
export function register(program: Command): void {
  program
    .command('distill-study')
    .description('the distillation study: student base, GRPO, trace SFT, answer-only SFT, logit KD, GKD, trace SFT → GRPO and the teacher at equal student compute; report docs/results/distill-<preset>.{md,json}')
    .option('--preset <name>', 'built-in recipe recipes/distill-study-<name>.json (nano, mini)')
    .option('--recipe <file>', 'a study recipe JSON file')
    .option('--out <dir>', 'run directory (default runs/<recipe name>); complete arms are skipped on a rerun')
    .option('--report-dir <dir>', 'where the report goes', 'docs/results')
    .option('--teacher <dir>', 'override the teacher model directory')
    .option('--render', 'only redraw the .md and plot from the report\'s JSON', false)
    .option('--quiet', 'no progress output', false)
    .action(async (f: StudyFlags) => {
      if (f.render) {
        const preset = f.preset ?? (f.recipe ? resolve(f).preset : undefined);
        if (!preset) throw new CliError('--render needs --preset (or --recipe) to name the report');
        const { renderStudyReport } = await import('../../distill/study-report.js');
        try {
          console.log(`rendered ${await renderStudyReport(f.reportDir, preset)}`);
        } catch (e) {
          throw new CliError((e as Error).message);
        }
        return;
      }
      const r = resolve(f);
      const { runStudy } = await import('../../distill/study.js');
      const { DistillError } = await import('../../distill/vocabulary.js');
      try {
        const md = await runStudy({ recipe: r, out: f.out ?? path.join('runs', r.name), reportDir: f.reportDir, quiet: f.quiet });
        console.log(`report: ${md}`);
      } catch (e) {
        if (e instanceof DistillError) throw new CliError(e.message);
        throw e;
      }
    });
}
