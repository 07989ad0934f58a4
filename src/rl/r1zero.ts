// The R1-Zero experiment on tinyseek's own base model: pretrain (if needed) → evaluate the base →
// GRPO with accuracy + format rewards only, under a time budget → evaluate again → report
// (docs/results/r1-zero-<preset>.{md,json}) with strict and lenient accuracies and the reward /
// completion-length curves.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { builtinRecipe } from '../train/recipe.js';
import { train } from '../train/trainer.js';
import { loadGrpoRecipe, parseGrpoRecipe } from './config.js';
import type { GrpoRecipe } from './config.js';
import { grpo } from './grpo.js';
import { loadModel } from '../model/checkpoint.js';
import { Tokenizer } from '../tokenizer/index.js';
import { Generator } from '../infer/generator.js';
import { evaluate, formatEvalTable } from '../infer/evaluate.js';
import type { EvalOptions, EvalReport } from '../infer/evaluate.js';
import { readMetrics } from '../train/metrics.js';
import { writeFileAtomic } from '../io/index.js';

/** Options of the experiment. */
export interface R1ZeroOptions {
  preset: string;
  base?: string;
  out?: string;
  minutes: number;
  reportDir: string;
  resume?: boolean;
}

/** The held-out evaluation of the experiment (n ≥ 50 problems per family and level, k ≥ 8 samples). */
function evalOptions(r: GrpoRecipe): EvalOptions {
  return {
    families: r.tasks.families, difficulties: r.eval.difficulties ?? r.tasks.difficulties, n: Math.max(r.eval.n, 50), k: Math.max(r.eval.k, 8),
    maxNewTokens: r.maxCompletionLength, seed: 12345, template: r.template,
  };
}

async function evalModel(dir: string, r: GrpoRecipe): Promise<EvalReport> {
  const model = loadModel(dir);
  model.eval();
  const tok = Tokenizer.fromDir(dir);
  const gen = new Generator(model, { maxBatch: 128, maxLen: Math.min(512, model.cfg.maxPositionEmbeddings) });
  return evaluate(gen, tok, evalOptions(r));
}

/**
 * The base model's evaluation, cached under `cacheDir` by a hash of its weights, tokenizer and the
 * evaluation options (evaluation is deterministic given those), so a second RL run from the same
 * base does not spend minutes re-measuring it.
 */
async function evalBaseCached(dir: string, r: GrpoRecipe, cacheDir: string): Promise<EvalReport> {
  const h = createHash('sha256');
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors') || f.startsWith('tokenizer') || f === 'config.json').sort()) {
    h.update(f);
    h.update(fs.readFileSync(path.join(dir, f)));
  }
  h.update(JSON.stringify(evalOptions(r)));
  const file = path.join(cacheDir, `${h.digest('hex').slice(0, 16)}.json`);
  if (fs.existsSync(file)) {
    console.error(`r1-zero: base evaluation from cache ${file}`);
    return JSON.parse(fs.readFileSync(file, 'utf8')) as EvalReport;
  }
  const report = await evalModel(dir, r);
  fs.mkdirSync(cacheDir, { recursive: true });
  writeFileAtomic(file, JSON.stringify(report));
  return report;
}

/** A small SVG line chart of one metric over steps. */
export function lineChartSvg(title: string, xs: number[], ys: number[], w = 480, h = 200): string {
  const pad = 36;
  const xmin = Math.min(...xs), xmax = Math.max(...xs), ymin = Math.min(0, ...ys), ymax = Math.max(...ys, ymin + 1e-9);
  const X = (x: number) => pad + ((x - xmin) / Math.max(1e-9, xmax - xmin)) * (w - 2 * pad);
  const Y = (y: number) => h - pad - ((y - ymin) / Math.max(1e-9, ymax - ymin)) * (h - 2 * pad);
  const pts = xs.map((x, i) => `${X(x).toFixed(1)},${Y(ys[i]).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11">` +
    `<rect width="${w}" height="${h}" fill="white"/><text x="${pad}" y="16" font-size="13">${title}</text>` +
    `<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#888"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#888"/>` +
    `<text x="${pad}" y="${h - pad + 14}">${xmin}</text><text x="${w - pad - 20}" y="${h - pad + 14}">${xmax}</text>` +
    `<text x="2" y="${Y(ymax) + 4}">${ymax.toFixed(2)}</text><text x="2" y="${Y(ymin) + 4}">${ymin.toFixed(2)}</text>` +
    `<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="${pts}"/></svg>\n`;
}

/** Runs the whole experiment and writes the report. */
export async function runR1Zero(o: R1ZeroOptions): Promise<void> {
  const base = o.base ?? path.join('runs', `pretrain-${o.preset}`, 'final');
  if (!fs.existsSync(path.join(base, 'config.json'))) {
    console.error(`r1-zero: no base model at ${base}; pretraining it first (recipes/pretrain-${o.preset}.json)`);
    const pr = builtinRecipe('pretrain', o.preset);
    await train({ recipe: pr, out: path.dirname(base), resume: true });
  }
  const r = parseGrpoRecipe({ ...loadGrpoRecipe(o.preset), init: base, maxMinutes: o.minutes });
  const out = o.out ?? path.join('runs', `r1-zero-${o.preset}`);
  console.error('r1-zero: evaluating the base model');
  const before = await evalBaseCached(base, r, path.join(path.dirname(out), '.eval-cache'));
  console.error(formatEvalTable(before));
  const t0 = performance.now();
  const res = await grpo({ recipe: r, out, resume: o.resume });
  const rlMinutes = (performance.now() - t0) / 60000;
  console.error('r1-zero: evaluating the RL model');
  const after = await evalModel(res.finalDir, r);
  console.error(formatEvalTable(after));

  const m = readMetrics(path.join(out, 'metrics.jsonl')).filter((x) => typeof x.reward === 'number');
  const steps = m.map((x) => x.step);
  const json = {
    preset: o.preset, base, rl_run: out, rl_minutes: rlMinutes, rl_steps: res.lastStep, recipe: r,
    families: Object.fromEntries(before.families.map((b, i) => {
      const a = after.families[i];
      const pick = (s: typeof b) => ({ pass1: s.pass1, cons: s.cons, lenient_pass1: s.lenientPass1, greedy: s.greedy, format: s.formatRate, mean_length: s.meanLength });
      return [b.family, { base: pick(b), rl: pick(a) }];
    })),
    curves: { step: steps, reward: m.map((x) => x.reward), accuracy: m.map((x) => x['rewards/accuracy/mean']), mean_length: m.map((x) => x['completions/mean_length']) },
  };
  fs.mkdirSync(o.reportDir, { recursive: true });
  const stem = path.join(o.reportDir, `r1-zero-${o.preset}`);
  writeFileAtomic(`${stem}.json`, JSON.stringify(json, null, 2) + '\n');
  writeFileAtomic(`${stem}-reward.svg`, lineChartSvg('reward (mean over rollouts) per GRPO step', steps, m.map((x) => x.reward as number)));
  writeFileAtomic(`${stem}-length.svg`, lineChartSvg('completion length (tokens) per GRPO step', steps, m.map((x) => x['completions/mean_length'] as number)));
  const pct = (x: number) => (100 * x).toFixed(1);
  const rows = before.families.map((b, i) => {
    const a = after.families[i];
    return `| ${b.family} | ${pct(b.pass1)} → **${pct(a.pass1)}** | ${pct(b.cons)} → ${pct(a.cons)} | ${pct(b.lenientPass1)} → **${pct(a.lenientPass1)}** | ${b.meanLength.toFixed(0)} → ${a.meanLength.toFixed(0)} |`;
  });
  const md = `# R1-Zero on tinyseek-${o.preset}\n\nCommand: \`tinyseek r1-zero --preset ${o.preset} --minutes ${o.minutes}\` (base: \`${base}\`; RL run: \`${out}\`).\n\n` +
    `GRPO with accuracy + format rewards only (R1-Zero template verbatim), ${res.lastStep} steps in ${rlMinutes.toFixed(1)} minutes on this 2-core machine. ` +
    `Held-out test-split problems (difficulties ${(r.eval.difficulties ?? r.tasks.difficulties).join(', ')}); pass@1 estimated from k samples at T = 0.6, top-p = 0.95; ` +
    `"lenient" ignores the tags and takes the last number/list/expression in the completion.\n\n` +
    `| family | pass@1 % (base → RL) | cons@k % | lenient pass@1 % | mean length |\n|---|---|---|---|---|\n${rows.join('\n')}\n\n` +
    `![reward](r1-zero-${o.preset}-reward.svg)\n\n![length](r1-zero-${o.preset}-length.svg)\n`;
  writeFileAtomic(`${stem}.md`, md);
  console.log(`report: ${stem}.md`);
}
