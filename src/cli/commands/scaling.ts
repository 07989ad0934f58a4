// `tinyseek scaling --preset sweep`: the IsoFLOP / hyperparameter sweep (every run a recipe under
// recipes/scaling-<preset>/, resumable), then its analysis and report (docs/results/scaling.{md,json}).
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { CliError } from '../errors.js';

interface ScalingFlags {
  preset: string;
  writeRecipes: boolean;
  plan: boolean;
  only?: string;
  report?: string;
  name: string;
  replicates: number;
  render: boolean;
  quiet: boolean;
}

/** Registers `tinyseek scaling`. */
export function register(program: Command): void {
  program
    .command('scaling')
    .description('scaling laws on tinyseek\'s own runs: IsoFLOP sweep (C = M·D), Chinchilla approaches 2 and 3, batch/LR law, MoE vs dense, accuracy after a fine-tune against compute; report with plots')
    .option('--preset <name>', 'sweep: sweep (about two hours here when the machine is quiet) or sweep-tiny (minutes; checks the machinery)', 'sweep')
    .option('--plan', 'print the runs, their compute and the time estimate, and exit', false)
    .option('--write-recipes', 'write the plan\'s recipes into recipes/scaling-<preset>/ and exit', false)
    .option('--only <text>', 'run only the runs whose name contains this (no report)')
    .option('--report <dir>', 'report directory (default docs/results for sweep, runs/scaling-<preset>/report otherwise)')
    .option('--name <stem>', 'report file stem', 'scaling')
    .option('--replicates <n>', 'bootstrap replicates', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 10) throw new CliError(`--replicates expects an integer ≥ 10, found "${v}"`);
      return n;
    }, 1000)
    .option('--render', 'only redraw the report (Markdown and SVGs) from its JSON', false)
    .option('--quiet', 'no per-step progress', false)
    .action(async (f: ScalingFlags) => {
      const { getSweep, planRuns, planTotals } = await import('../../scaling/sweep-plan.js');
      let p;
      try { p = getSweep(f.preset); } catch (e) { throw new CliError((e as Error).message); }
      const reportDir = f.report ?? (p.name === 'sweep' ? 'docs/results' : path.join('runs', `scaling-${p.name}`, 'report'));
      const { writeSweepReport, renderSweepReport } = await import('../../scaling/sweep-report.js');
      if (f.render) {
        const file = path.join(reportDir, `${f.name}.json`);
        if (!fs.existsSync(file)) throw new CliError(`no report at ${file}: run \`tinyseek scaling --preset ${p.name}\` first`);
        try {
          console.log(`report: ${await renderSweepReport(file)}`);
        } catch (e) {
          throw new CliError((e as Error).message);
        }
        return;
      }
      const { runSweep, writeRecipes, sweepRecipesDir, sweepRoot } = await import('../../scaling/sweep.js');
      if (f.writeRecipes) {
        console.log(`${writeRecipes(p)} recipes in ${sweepRecipesDir(p)}`);
        return;
      }
      if (f.plan) {
        const runs = planRuns(p);
        for (const r of runs) console.log(`${r.name.padEnd(44)} M ${r.M.toExponential(2)}  ${String(r.steps).padStart(5)} steps  ${r.tokens.toLocaleString('en-US').padStart(11)} tokens  C ${r.C.toExponential(2)}`);
        const t = planTotals(p, runs);
        console.log(`${t.runs} runs, C = ${t.C.toExponential(2)} FLOPs (+ ${t.headFlops.toExponential(2)} in the head), ${t.tokens.toLocaleString('en-US')} tokens; estimated ${t.estimatedHours.toFixed(1)} h of training on a quiet 2-core machine (assumed ${p.flopsPerSecond.toExponential(1)} FLOP/s + ${p.secondsPerToken * 1e6} µs per token), plus about half a minute per run of data loading and saving`);
        return;
      }
      if (!fs.existsSync(sweepRecipesDir(p))) throw new CliError(`no recipes in ${sweepRecipesDir(p)}: write them with \`tinyseek scaling --preset ${p.name} --write-recipes\``);
      let results;
      try {
        results = await runSweep(p, { only: f.only, quiet: f.quiet });
      } catch (e) {
        if (/differs from the .* plan|missing recipe/.test((e as Error).message)) throw new CliError((e as Error).message);
        throw e;
      }
      if (f.only) {
        console.log(`${results.length} runs finished (no report for a partial sweep)`);
        return;
      }
      const { runSweepAccuracy } = await import('../../scaling/sweep-accuracy.js');
      const accuracy = await runSweepAccuracy(p, results, path.join(sweepRoot(p), 'runs'), { quiet: f.quiet });
      const { analyseSweep } = await import('../../scaling/sweep-analysis.js');
      const analysis = analyseSweep(p, results, f.replicates);
      const md = await writeSweepReport({ command: `npx tinyseek ${process.argv.slice(2).join(' ')}`, plan: p, runs: results, analysis, accuracy }, reportDir, f.name);
      for (const a of analysis.archs) {
        if (a.iso) console.log(`${a.arch}: M_opt ∝ C^${a.iso.Mopt.exponent.toFixed(3)}, D_opt ∝ C^${a.iso.Dopt.exponent.toFixed(3)} (IsoFLOP)${a.parametric ? `; parametric a = ${a.parametric.a.toFixed(3)}` : ''}`);
      }
      for (const x of accuracy) console.log(`${x.name}: greedy accuracy ${(100 * x.greedy).toFixed(1)}% after the fine-tune; pretrained digit NLL ${x.digitNll.toFixed(3)}`);
      console.log(`sweep: ${analysis.totals.C.toExponential(2)} FLOPs, ${analysis.totals.coreHours.toFixed(2)} core-hours`);
      console.log(`report: ${md}`);
    });
}
