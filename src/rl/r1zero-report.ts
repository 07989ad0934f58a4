// The R1-Zero experiment's report: docs/results/r1-zero-<preset>.json (the measurements) and, rendered
// from that JSON alone, r1-zero-<preset>.md with its curves as SVG (so `tinyseek r1-zero --render`
// redraws a report without re-running anything).
import fs from 'node:fs';
import path from 'node:path';
import { lineChartSvg } from '../analysis/line-chart.js';
import { writeFileAtomic } from '../io/index.js';
import type { FamilyScores as EvalFamilyScores } from '../infer/evaluate.js';
import type { BehaviourCurves } from './behaviour.js';

/** One model's scores on one task family (fractions). */
export interface FamilyScores {
  pass1: number;
  cons: number;
  lenient_pass1: number;
  greedy: number;
  format: number;
  mean_length: number;
}

/** The report's JSON. */
export interface R1ZeroReport {
  preset: string;
  base: string;
  rl_run: string;
  rl_minutes: number;
  /** Base evaluation + RL + RL evaluation, minutes (absent in reports written before it was recorded). */
  total_minutes?: number;
  rl_steps: number;
  /** The GRPO recipe (families, difficulties, hyper-parameters). */
  recipe: { tasks: { families: string[]; difficulties: number[] }; eval: { difficulties?: number[] }; [k: string]: unknown };
  /** How the evaluation was run. */
  eval?: { n: number; k: number; difficulties: number[]; temperature: number; top_p: number; seed: number };
  families: Record<string, { base: FamilyScores; rl: FamilyScores }>;
  curves: { step: number[]; reward: number[]; accuracy: number[]; mean_length: number[]; format?: number[] };
  /** What the thinking did per step, from the logged completions (recipes with `logCompletions`). */
  behaviour?: BehaviourCurves;
}

/** Means of the first and the last fifth of a curve. */
function ends(a: readonly number[]): [number, number, number] {
  const n = a.length, q = Math.max(1, Math.floor(n / 5));
  const avg = (x: readonly number[]) => x.reduce((s, v) => s + v, 0) / Math.max(1, x.length);
  return [avg(a.slice(0, q)), avg(a.slice(n - q)), q];
}

/** The report's section on the thinking's behaviour (empty without logged completions). */
function behaviourMarkdown(rep: R1ZeroReport): string[] {
  const b = rep.behaviour;
  if (!b || b.step.length === 0) return [];
  const [t0, t1, q] = ends(b.tokens);
  const verdict = t1 > 1.1 * t0 ? `grew by ${(100 * (t1 / t0 - 1)).toFixed(0)}%` : t1 < 0.9 * t0 ? `shrank by ${(100 * (1 - t1 / t0)).toFixed(0)}%` : 'stayed flat (within ±10%)';
  const row = (name: string, a: readonly number[], fmt: (x: number) => string) => {
    const [x0, x1] = ends(a);
    return `| ${name} | ${fmt(x0)} | ${fmt(x1)} |`;
  };
  const f1 = (x: number) => x.toFixed(1), fp = (x: number) => `${pct(x)}%`;
  return [
    '## What the thinking did',
    '',
    `From the ${b.n.reduce((s, x) => s + x, 0)} completions logged during RL (\`completions.jsonl\`, the first ${b.n[0]} of each step). ` +
      `Thinking length ${verdict}: ${t0.toFixed(1)} → ${t1.toFixed(1)} tokens (mean of the first ${q} logged steps → the last ${q}). ` +
      'Column steps are worked arithmetic ("column 3: 6 + 6 = 12, write 2, carry 1"), tries are candidates of a search ("try 9 * 9 = 81 … dead end"), ' +
      'and re-check words are R1\'s ("wait", "verify", "check", …), which no training document contains.',
    '',
    `| per completion | first ${q} steps | last ${q} steps |`,
    '|---|---:|---:|',
    row('tokens', b.tokens, f1),
    row('correct', b.accuracy, fp),
    row('column steps', b.column_steps, f1),
    row('tries', b.tries, f1),
    row('rejects a candidate ("dead end")', b.dead_end_rate, fp),
    row('uses a re-check word', b.recheck_rate, fp),
    '',
    `![thinking behaviour](r1-zero-${rep.preset}-behaviour.svg)`,
    '',
  ];
}

/** Scores of one family as stored in the report. */
export function familyScores(s: EvalFamilyScores): FamilyScores {
  return { pass1: s.pass1, cons: s.cons, lenient_pass1: s.lenientPass1, greedy: s.greedy, format: s.formatRate, mean_length: s.meanLength };
}

const pct = (x: number) => (100 * x).toFixed(1);
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;

/** Families whose pass@1 rose by at least `points` (fraction) on both the strict and the lenient measure. */
export function familiesImproved(rep: R1ZeroReport, points = 0.15): string[] {
  return Object.entries(rep.families)
    .filter(([, f]) => f.rl.pass1 - f.base.pass1 >= points - 1e-9 && f.rl.lenient_pass1 - f.base.lenient_pass1 >= points - 1e-9)
    .map(([name]) => name);
}

/** The Markdown of the report. */
export function reportMarkdown(rep: R1ZeroReport): string {
  const fams = Object.entries(rep.families);
  const ev = rep.eval;
  const rows = fams.map(([name, { base: b, rl: a }]) =>
    `| ${name} | ${pct(b.pass1)} → **${pct(a.pass1)}** (${signed(a.pass1 - b.pass1)}) | ${pct(b.lenient_pass1)} → **${pct(a.lenient_pass1)}** (${signed(a.lenient_pass1 - b.lenient_pass1)}) | ${pct(b.cons)} → ${pct(a.cons)} | ${pct(b.greedy)} → ${pct(a.greedy)} | ${pct(b.format)} → ${pct(a.format)} | ${b.mean_length.toFixed(0)} → ${a.mean_length.toFixed(0)} |`);
  const improved = familiesImproved(rep);
  const L = rep.curves.mean_length, n = L.length, q = Math.max(1, Math.floor(n / 5));
  const avg = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);
  const r = rep.recipe as Record<string, unknown>;
  const lines = [
    // The title names the base model the RL started from (a preset's default base or --base DIR).
    `# R1-Zero on base model \`${rep.base}\` (recipe grpo-${rep.preset})`,
    '',
    `Command: \`tinyseek r1-zero --preset ${rep.preset} --base ${rep.base}${r.maxMinutes !== undefined ? ` --minutes ${r.maxMinutes}` : ''}\` (RL run in \`${rep.rl_run}\`; \`tinyseek r1-zero --render\` redraws this page from [r1-zero-${rep.preset}.json](r1-zero-${rep.preset}.json)).`,
    '',
    `GRPO with rule-based rewards only (accuracy ${JSON.stringify((r.rewards as Record<string, number> | undefined)?.accuracy ?? 1)}, format ${JSON.stringify((r.rewards as Record<string, number> | undefined)?.format ?? 0)}), the R1-Zero template verbatim, ` +
      `on training-split problems of ${rep.recipe.tasks.families.join(', ')} at difficulty ${rep.recipe.tasks.difficulties.join(', ')}: ` +
      `${rep.rl_steps} steps in ${rep.rl_minutes.toFixed(1)} minutes of RL on this 2-core machine` +
      (rep.total_minutes !== undefined ? ` (${rep.total_minutes.toFixed(1)} minutes with both evaluations).` : '.'),
    `Settings: G = ${r.numGenerations} completions per prompt, ${r.promptsPerStep} prompts per step, T = ${r.temperature}, lr ${r.lr}, β = ${r.beta}, ε = ${r.epsLow}/${r.epsHigh}, ` +
      `loss ${r.lossType}, advantages scaled by ${r.scaleRewards} std, dynamic sampling "${r.dynamicSampling}", overlong "${r.overlong}", reference reset every ${r.refResetEvery} steps.`,
    '',
    `Held-out test-split problems${ev ? ` (${ev.n} per family and difficulty ${ev.difficulties.join(', ')}; pass@1 and cons@${ev.k} from k = ${ev.k} samples at T = ${ev.temperature}, top-p = ${ev.top_p}; greedy from one more)` : ''}. ` +
      '"Lenient" ignores the tags and takes the last number / list / expression anywhere in the completion, so a gain there is not a gain in format alone.',
    '',
    '| family | pass@1 % (base → RL) | lenient pass@1 % | cons@k % | greedy % | well-formed % | mean length (tokens) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    improved.length
      ? `pass@1 rose by ≥ 15 points on both measures for: ${improved.join(', ')}.`
      : 'No family gained 15 points on both measures.',
    '',
    `Completion length during RL: ${avg(L.slice(0, q)).toFixed(1)} tokens (mean of the first ${q} steps) → ${avg(L.slice(n - q)).toFixed(1)} (last ${q}).`,
    '',
    `![reward](r1-zero-${rep.preset}-reward.svg)`,
    '',
    `![completion length](r1-zero-${rep.preset}-length.svg)`,
    '',
    ...behaviourMarkdown(rep),
  ];
  return lines.join('\n');
}

/** Writes r1-zero-<preset>.{json,md} and the curves' SVGs into `dir`. */
export async function writeReport(rep: R1ZeroReport, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const stem = path.join(dir, `r1-zero-${rep.preset}`);
  const c = rep.curves;
  const smooth = Math.max(1, Math.round(c.step.length / 15));
  writeFileAtomic(`${stem}.json`, JSON.stringify(rep, null, 2) + '\n');
  writeFileAtomic(`${stem}-reward.svg`, await lineChartSvg({
    title: 'GRPO rewards per step (mean over the step\'s rollouts)', xTitle: 'step', yTitle: 'reward', smooth,
    series: [
      { name: 'total', x: c.step, y: c.reward },
      { name: 'accuracy', x: c.step, y: c.accuracy },
      ...(c.format ? [{ name: 'format', x: c.step, y: c.format }] : []),
    ],
  }));
  writeFileAtomic(`${stem}-length.svg`, await lineChartSvg({
    title: 'completion length per GRPO step (mean over the step\'s rollouts)', xTitle: 'step', yTitle: 'tokens', smooth,
    series: [{ name: 'mean length', x: c.step, y: c.mean_length }],
  }));
  const b = rep.behaviour;
  if (b && b.step.length > 0) {
    const bs = Math.max(1, Math.round(b.step.length / 15));
    writeFileAtomic(`${stem}-behaviour.svg`, await lineChartSvg({
      title: 'thinking per logged completion, by GRPO step', xTitle: 'step', yTitle: 'per completion', smooth: bs,
      series: [
        { name: 'column steps', x: b.step, y: b.column_steps },
        { name: 'tries', x: b.step, y: b.tries },
        { name: 'rejects a candidate (share)', x: b.step, y: b.dead_end_rate },
        { name: 're-check word (share)', x: b.step, y: b.recheck_rate },
        { name: 'correct (share)', x: b.step, y: b.accuracy },
      ],
    }));
  }
  writeFileAtomic(`${stem}.md`, reportMarkdown(rep));
  return `${stem}.md`;
}

/** Reads a report's JSON, with a clear error when it is missing or not one. */
export function readReport(file: string): R1ZeroReport {
  if (!fs.existsSync(file)) throw new Error(`no report at ${file}: run \`tinyseek r1-zero\` first`);
  const rep = JSON.parse(fs.readFileSync(file, 'utf8')) as R1ZeroReport;
  for (const k of ['preset', 'families', 'curves', 'recipe'] as const) {
    if (!(k in rep)) throw new Error(`${file} is not an r1-zero report: it has no "${k}" field`);
  }
  return rep;
}
