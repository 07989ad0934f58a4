// The R1 pipeline's report card (nanochat style): docs/results/r1-<preset>.json holds the measurements,
// r1-<preset>.md is rendered from it: per stage wall time, then per stage model the held-out scores.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../io/index.js';
import type { R1Eval } from './evaluate.js';

/** One stage's marker: what it produced, how long it took. */
export interface StageRecord {
  stage: string;
  dir: string;
  seconds: number;
  /** True when this run found the stage complete and skipped it (seconds are from the run that did it). */
  skipped?: boolean;
  /** The recipe settings the stage ran with (JSON), to notice a changed recipe on a rerun. */
  settings?: string;
  info: Record<string, unknown>;
}

/** The report's JSON. */
export interface R1Report {
  /** The model-size preset of the recipe (nano, mini). */
  preset: string;
  name: string;
  /**
   * What `--preset` named when it differs from `preset` (a recipe such as "small-prose", whose model is
   * mini, or a recipe file); absent for recipes/r1-<preset>.json.
   */
  recipe_arg?: string;
  out: string;
  recipe: unknown;
  stages: StageRecord[];
  evals: Record<string, R1Eval>;
  total_seconds: number;
}

// A measurement that does not exist is NaN in memory and null once the report is written as JSON
// (JSON has no NaN): both show as "–", so a report re-rendered from its JSON reads as the original.
const pct = (x: number | null | undefined) => (typeof x !== 'number' || Number.isNaN(x) ? '–' : (100 * x).toFixed(1));
const num = (x: unknown, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');

function curveLine(name: string, c: Record<string, number[]> | undefined): string | null {
  if (!c || !c.reward?.length) return null;
  const n = c.reward.length, q = Math.max(1, Math.floor(n / 4));
  const avg = (a: number[]) => a.filter((x) => Number.isFinite(x)).reduce((s, x, _, all) => s + x / all.length, 0);
  const parts = ['reward', 'accuracy', 'format', 'readability', 'preference', 'mean_length']
    .filter((k) => c[k]?.some((x) => Number.isFinite(x)))
    .map((k) => `${k} ${avg(c[k]!.slice(0, q)).toFixed(3)} → ${avg(c[k]!.slice(n - q)).toFixed(3)}`);
  return `- ${name} (${n} steps; mean of the first ${q} steps → the last ${q}): ${parts.join('; ')}`;
}

/** The Markdown of a report. */
export function r1ReportMarkdown(rep: R1Report): string {
  const arg = rep.recipe_arg ?? rep.preset;
  const L: string[] = [
    arg === rep.preset ? `# DeepSeek-R1's four-stage pipeline on tinyseek-${rep.preset}` : `# DeepSeek-R1's four-stage pipeline: ${rep.name} (a tinyseek-${rep.preset} model)`,
    '',
    `Command: \`npx tinyseek r1 --preset ${arg}\` (run folder \`${rep.out}\`; every stage is skipped on a rerun once complete). Wall time of all stages: **${(rep.stages.reduce((a, s) => a + s.seconds, 0) / 60).toFixed(1)} min** on this 2-core machine (shared with other jobs)${rep.stages.some((s) => s.skipped) ? `; this invocation, which found some stages complete, took ${(rep.total_seconds / 60).toFixed(1)} min` : ''}.`,
    '',
    '## Stages',
    '',
    '| stage | wall time | what it produced |',
    '|---|---|---|',
  ];
  for (const s of rep.stages) {
    const i = s.info;
    let what = '';
    if (s.stage === 'base') what = `base model \`${i.model}\``;
    else if (s.stage === 'r1zero') what = i.trained ? `R1-Zero GRPO, ${i.steps} steps` : `existing R1-Zero model \`${i.model}\``;
    else if (s.stage === 'stage1-data') what = `${i.sampled} R1-Zero samples → ${i.verified_correct} verified correct → ${i.from_r1zero} kept after filters ${JSON.stringify(i.filter)}; + ${i.written} written worked solutions = ${i.rows} rows`;
    else if (s.stage.endsWith('-sft')) what = `SFT ${i.steps} steps, CE ${num(i.first_ce, 3)} → ${num(i.last_ce, 3)}`;
    else if (s.stage.includes('-rl')) what = `GRPO ${i.steps} steps`;
    else if (s.stage === 'stage3-data') what = `${i.sampled} stage-2 samples → ${i.from_stage2} kept ${JSON.stringify(i.filter)}; mixture ${i.rows} rows by source ${JSON.stringify(i.by_source)}`;
    else if (s.stage === 'rm') what = `Bradley–Terry RM on ${i.train_pairs} pairs: train pair accuracy ${pct(i.train_accuracy as number)}%, **held-out pair accuracy ${pct(i.heldout_accuracy as number)}%** (${i.heldout_pairs} pairs on held-out prompts; by kind ${Object.entries((i.heldout_accuracy_by_kind ?? {}) as Record<string, number>).map(([k, v]) => `${k} ${pct(v)}`).join(', ')}); loss ${num(i.first_loss, 3)} → ${num(i.last_loss, 3)}`;
    else if (s.stage === 'stage3-eval') what = 'evaluation of the stage-3 model (needs the RM)';
    L.push(`| ${s.stage} | ${s.seconds.toFixed(0)} s${s.skipped ? ' (earlier run)' : ''} | ${what} |`);
  }
  const curves = rep.stages.map((s) => curveLine(s.stage, s.info.curve as Record<string, number[]> | undefined)).filter((x): x is string => x !== null);
  if (curves.length) L.push('', 'GRPO rewards during each RL stage:', '', ...curves);

  const names = Object.keys(rep.evals);
  if (names.length) {
    const e0 = rep.evals[names[0]!]!;
    const fams = e0.families.map((f) => f.family);
    L.push('', '## Held-out evaluation per stage model', '',
      `Test-split problems (${e0.families[0]?.problems ?? 0} per family) in the training wording: pass@1 and cons@k from k samples at T = 0.6, top-p 0.95; "strict" = R1 format (reasoning, \`</think>\`, "The answer is X.") and the verifier; "lenient" = the last number anywhere. ` +
      'Held-out phrasings use templates never used in training (src/rl/r1/phrasings-heldout.ts); second turn = a test problem asked after another problem and its answer; general = held-out general prompts, scored by the stage-4 reward model on the final answer only.',
      '',
      '| model | ' + fams.map((f) => `${f} pass@1 strict / lenient`).join(' | ') + ' | cons@k strict / lenient (mean) | greedy | well-formed | readability (mean / fully readable) | thinking tokens | held-out phrasings strict / lenient | second turn strict / lenient | general: RM score / clean reply / empty |',
      '|---|' + fams.map(() => '---|').join('') + '---|---|---|---|---|---|---|---|');
    for (const n of names) {
      const e = rep.evals[n]!;
      L.push(`| ${n} | ` + e.families.map((f) => `${pct(f.pass1)} / ${pct(f.lenient_pass1)}`).join(' | ') +
        ` | ${pct(e.mean.cons)} / ${pct(e.mean.lenient_cons)} | ${pct(e.mean.greedy)} | ${pct(e.mean.well_formed)} | ${num(e.mean.readability)} / ${pct(e.mean.readable_rate)}% | ${num(e.mean.mean_thinking_tokens, 1)} | ${pct(e.phrasings.strict)} / ${pct(e.phrasings.lenient)} (${e.phrasings.prompts}) | ${pct(e.second_turn.strict)} / ${pct(e.second_turn.lenient)} (${e.second_turn.prompts}) | ${num(e.general.rm_score)} / ${pct(e.general.clean_reply)} / ${pct(e.general.empty_reply)} |`);
    }
    const w = rep.evals['stage2-rl'], wo = rep.evals['stage2-rl-no-readability'];
    if (w && wo) {
      L.push('', `What the readability reward costs (stage 2 with it vs the same RL without it): pass@1 strict ${pct(w.mean.pass1)} vs ${pct(wo.mean.pass1)}, lenient ${pct(w.mean.lenient_pass1)} vs ${pct(wo.mean.lenient_pass1)}, ` +
        `greedy ${pct(w.mean.greedy)} vs ${pct(wo.mean.greedy)}; readability ${num(w.mean.readability)} vs ${num(wo.mean.readability)} (fully readable ${pct(w.mean.readable_rate)}% vs ${pct(wo.mean.readable_rate)}%); well-formed ${pct(w.mean.well_formed)}% vs ${pct(wo.mean.well_formed)}%.`);
    }
    const N = e0.families[0]?.problems ?? 0;
    L.push('', `Percentages. The RM score is only measured once the reward model exists (stage 3 on); "–" before. ` +
      `Noise: with ${N} test problems per family one problem moves a family's cons@k and greedy score by ${N ? (100 / N).toFixed(1) : '–'} points, and a 95% interval on a pass@1 near p is about ±2·√(p(1−p)/${N}) (±${N ? (200 * Math.sqrt(0.25 / N)).toFixed(0) : '–'} points at p = 0.5); the phrasing and second-turn rows are greedy over the prompt counts in parentheses. ` +
      'The RL curves\' accuracy is a mean over all rollouts, including general prompts (stage 4), which score 0 on it.', '', '## Greedy replies of the final model to the issue\'s prompts', '');
    const last = rep.evals[names.at(-1)!]!;
    for (const x of last.examples) L.push(`- \`${x.prompt}\` → \`${JSON.stringify(x.reply)}\``);
  }
  L.push('');
  return L.join('\n');
}

/** The report's file stem: r1-<preset>, or the recipe's name (r1-<name>) for any other recipe, so that it does not overwrite the preset's report. */
export function r1ReportStem(rep: R1Report): string {
  if ((rep.recipe_arg ?? rep.preset) === rep.preset) return `r1-${rep.preset}`;
  return rep.name.startsWith('r1-') ? rep.name : `r1-${rep.name}`;
}

/** Writes <stem>.{json,md} (r1ReportStem) into `dir`; returns the Markdown's path. */
export function writeR1Report(rep: R1Report, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const stem = path.join(dir, r1ReportStem(rep));
  writeFileAtomic(`${stem}.json`, JSON.stringify(rep, null, 2) + '\n'); // NaN and ±Infinity become null
  writeFileAtomic(`${stem}.md`, r1ReportMarkdown(rep));
  return `${stem}.md`;
}
