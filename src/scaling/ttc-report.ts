// The test-time compute report: docs/results/test-time.json (the measurement) and, rendered from that
// JSON alone, test-time.md with three SVG plots (accuracy against samples per problem, against the
// thinking budget, and against generated tokens per problem).
import fs from 'node:fs';
import path from 'node:path';
import { lineChartSvg } from '../analysis/line-chart.js';
import { writeFileAtomic } from '../io/index.js';
import type { BudgetPoint, TtcReport } from './ttc.js';

/** Another model's report drawn beside this one (`tinyseek ttc --compare OTHER.json`): a snapshot of its curves, so the report still renders from its own JSON. */
export interface TtcComparison {
  /** The other report's model name and JSON file. */
  model: string;
  file: string;
  /** Its problems and options that must match for the curves to be comparable. */
  problems: number;
  families: string[];
  samples: number;
  sampling: Pick<TtcReport['sampling'], 'k' | 'passAtK' | 'consAtK' | 'tokensPerProblem' | 'meanTokens' | 'meanThinking' | 'closedThinking'>;
  budget: BudgetPoint[];
}

/** The comparison snapshot of another report; refuses one measured on other problems (families, difficulties, n, seed or samples differ). */
export function comparisonOf(mine: TtcReport, other: TtcReport, file: string): TtcComparison {
  const o = mine.options, p = other.options;
  const differs = (['difficulties', 'n', 'seed', 'samples', 'maxTokens'] as const).filter((k) => JSON.stringify(o[k]) !== JSON.stringify(p[k]));
  if (JSON.stringify(mine.families) !== JSON.stringify(other.families)) differs.unshift('families' as never);
  if (differs.length) throw new Error(`--compare ${file}: measured on other problems or settings (${differs.map((k) => `${k}: ${JSON.stringify((k as string) === 'families' ? other.families : p[k])} there, ${JSON.stringify((k as string) === 'families' ? mine.families : o[k])} here`).join('; ')}); measure both with the same --families, --difficulties, --n, --seed, --samples and --max-tokens`);
  const s = other.sampling;
  return {
    model: other.model, file, problems: other.problems, families: other.families, samples: p.samples,
    sampling: { k: s.k, passAtK: s.passAtK, consAtK: s.consAtK, tokensPerProblem: s.tokensPerProblem, meanTokens: s.meanTokens, meanThinking: s.meanThinking, closedThinking: s.closedThinking },
    budget: other.budget,
  };
}

/** The comparison's table rows: the headline numbers of both models side by side. */
function comparisonLines(r: TtcReport & { compare?: TtcComparison }): string[] {
  const c = r.compare;
  if (!c) return [];
  const s = r.sampling, n = r.options.samples;
  const greedyNatural = (b: BudgetPoint[]) => {
    const caps = b.filter((x) => x.waits === 0).sort((x, y) => y.budget - x.budget);
    return caps.length ? `${pct(caps[0].accuracy)} (B = ${caps[0].budget})` : '–';
  };
  const bestCap = (b: BudgetPoint[]) => Math.max(...b.map((x) => x.accuracy));
  return [
    `## Beside ${c.model}`, '',
    `The same ${r.problems} problems, samples and budgets, measured on ${c.model} (\`${c.file}\`); its curves are drawn dashed in the compute plot above.`, '',
    `| | ${r.model} | ${c.model} |`, '|---|---|---|',
    `| pass@1 % | ${pct(s.passAtK[0])} | ${pct(c.sampling.passAtK[0])} |`,
    `| pass@${n} % | ${pct(s.passAtK.at(-1)!)} | ${pct(c.sampling.passAtK.at(-1)!)} |`,
    `| cons@${n} % | ${pct(s.consAtK.at(-1)!)} | ${pct(c.sampling.consAtK.at(-1)!)} |`,
    `| mean tokens per sample | ${s.meanTokens.toFixed(1)} | ${c.sampling.meanTokens.toFixed(1)} |`,
    `| mean thinking tokens per sample | ${s.meanThinking.toFixed(1)} | ${c.sampling.meanThinking.toFixed(1)} |`,
    `| samples that close their thinking % | ${pct(s.closedThinking)} | ${pct(c.sampling.closedThinking)} |`,
    `| greedy accuracy at the largest cap % | ${greedyNatural(r.budget)} | ${greedyNatural(c.budget)} |`,
    `| best greedy accuracy over the budgets % | ${pct(bestCap(r.budget))} | ${pct(bestCap(c.budget))} |`,
    '',
  ];
}

const pct = (x: number) => (100 * x).toFixed(1);

/** The Markdown of a report (the plots are referenced by file name beside it). */
export function ttcMarkdown(r: TtcReport & { compare?: TtcComparison }, stem: string, command: string): string {
  const s = r.sampling, o = r.options;
  const at = (k: number) => s.k.indexOf(k);
  const ks = [1, 2, 4, 8, 16, 32, 64].filter((k) => at(k) >= 0);
  const caps = r.budget.filter((b) => b.waits === 0);
  const ext = r.budget.filter((b) => b.waits > 0);
  const natural = s.meanThinking;
  const lines = [
    `# Test-time compute: ${r.model}`,
    '',
    `Measured with \`${command}\` on ${r.problems} held-out test-split problems (${r.families.join(', ')}; difficulties ${o.difficulties.join(', ')}; ${o.n} per family and difficulty; chat template "${o.template}").`,
    'Answers are read leniently from the text after the last `</think>` (the last number / list / expression). The machine was shared with other jobs while this ran, so no timings are reported.',
    '',
    '## Samples per problem',
    '',
    `${o.samples} samples per problem at T = ${o.temperature}, top-p ${o.topP}, at most ${o.maxTokens} tokens (mean ${s.meanTokens.toFixed(1)} tokens, ${s.meanThinking.toFixed(1)} of them thinking; ${pct(s.closedThinking)}% of samples close their thinking). pass@k is Chen et al.'s unbiased estimator; cons@k is the majority vote of k samples (for k < ${o.samples} the mean over ${o.consDraws} random subsets of the ${o.samples}).`,
    '',
    `| k | ${ks.join(' | ')} |`,
    `|---|${ks.map(() => '---').join('|')}|`,
    `| pass@k % | ${ks.map((k) => pct(s.passAtK[at(k)])).join(' | ')} |`,
    `| cons@k % | ${ks.map((k) => pct(s.consAtK[at(k)])).join(' | ')} |`,
    `| generated tokens per problem | ${ks.map((k) => Math.round(s.tokensPerProblem[at(k)]).toLocaleString('en-US')).join(' | ')} |`,
    '',
    `| family | problems | pass@1 % | pass@${o.samples} % | cons@${o.samples} % |`,
    '|---|---|---|---|---|',
    ...s.perFamily.map((f) => `| ${f.family} | ${f.problems} | ${pct(f.pass1)} | ${pct(f.passMax)} | ${pct(f.consMax)} |`),
    '',
    `![pass@k and cons@k against k](${stem}-samples.svg)`,
    '',
    '## Thinking budget (budget forcing)',
    '',
    `Greedy decoding. The thinking is cut at B tokens by appending \`</think>\` (then the model writes its answer, at most ${o.maxAnswerTokens} tokens); "Wait" rows replace each early \`</think>\` by "Wait" up to that many times, at B = ${o.waitCap}. The model's natural thinking length is ${natural.toFixed(1)} tokens on average (sampled).`,
    '',
    '| B | "Wait"s | accuracy % | mean thinking tokens | mean generated tokens | cut at B % | "Wait"s used |',
    '|---|---|---|---|---|---|---|',
    ...[...caps, ...ext].map((b) => `| ${b.budget} | ${b.waits} | ${pct(b.accuracy)} | ${b.meanThinking.toFixed(1)} | ${b.meanGenerated.toFixed(1)} | ${pct(b.forced)} | ${b.meanWaitsUsed.toFixed(2)} |`),
    '',
    `![accuracy against the thinking budget](${stem}-budget.svg)`,
    '',
    '## Accuracy against generated tokens per problem',
    '',
    `![accuracy against generated tokens per problem](${stem}-compute.svg)`,
    '',
    ...comparisonLines(r),
  ];
  const b = r.bestOfN;
  if (b) {
    const bi = (k: number) => b.k.indexOf(k);
    const bk = ks.filter((k) => bi(k) >= 0);
    lines.push('## Best-of-N with the reward model', '',
      `The reward model \`${b.rm}\` (the R1 pipeline's Bradley–Terry model, trained on chosen/rejected replies to general prompts) scores each sample's final answer (the text after \`</think>\`), as R1 judges helpfulness; of k samples the highest-scored is kept. Exact expectation over the k-subsets of the ${o.samples} samples. On the task problems the kept answer is checked as above; on the ${b.general.prompts} held-out general prompts (${o.samples} replies each, mean ${b.general.meanTokens.toFixed(1)} tokens) the kept reply is checked by the rule the R1 evaluation's clean-reply rate uses (an answer in words, no thinking leaked) — a rule that overlaps with what the reward model was trained to prefer, so this measures how well the RM finds what it was taught, not independent quality.`, '',
      `| k | ${bk.join(' | ')} |`,
      `|---|${bk.map(() => '---').join('|')}|`,
      `| tasks: best-of-k accuracy % | ${bk.map((k) => pct(b.task[bi(k)])).join(' | ')} |`,
      `| tasks: pass@k % (any of k) | ${bk.map((k) => pct(s.passAtK[at(k)])).join(' | ')} |`,
      `| general: best-of-k clean replies % | ${bk.map((k) => pct(b.general.bestOfK[bi(k)])).join(' | ')} |`,
      `| general: any of k clean % | ${bk.map((k) => pct(b.general.anyOfK[bi(k)])).join(' | ')} |`,
      '', `![best-of-N against k](${stem}-best-of-n.svg)`, '');
  }
  return lines.join('\n');
}

/** Writes <dir>/<stem>.{json,md} and the SVGs (three, four with best-of-N); returns the Markdown's path. */
export async function writeTtcReport(r: TtcReport & { compare?: TtcComparison }, dir: string, stem = 'test-time', command = 'tinyseek ttc'): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, stem);
  writeFileAtomic(`${base}.json`, JSON.stringify({ command, ...r }, null, 2) + '\n');
  await renderTtcFiles(r, base, stem, command);
  return `${base}.md`;
}

async function renderTtcFiles(r: TtcReport & { compare?: TtcComparison }, base: string, stem: string, command: string): Promise<void> {
  const s = r.sampling;
  const caps = r.budget.filter((b) => b.waits === 0).sort((a, b) => a.budget - b.budget);
  const ext = r.budget.filter((b) => b.waits > 0).sort((a, b) => a.waits - b.waits);
  writeFileAtomic(`${base}-samples.svg`, await lineChartSvg({
    title: `accuracy against samples per problem (${r.problems} problems)`, xTitle: 'k (samples per problem)', yTitle: 'accuracy', logX: true,
    series: [{ name: 'pass@k', x: s.k, y: s.passAtK }, { name: 'cons@k (majority vote)', x: s.k, y: s.consAtK }],
  }));
  writeFileAtomic(`${base}-budget.svg`, await lineChartSvg({
    title: 'accuracy against the thinking budget (greedy, budget forcing)', xTitle: 'mean thinking tokens', yTitle: 'accuracy',
    series: [
      { name: 'cap at B', x: caps.map((b) => b.meanThinking), y: caps.map((b) => b.accuracy), mark: 'line+point' },
      ...(ext.length ? [{ name: `extend with "Wait" (B = ${ext[0].budget})`, x: ext.map((b) => b.meanThinking), y: ext.map((b) => b.accuracy), mark: 'line+point' as const }] : []),
    ],
  }));
  writeFileAtomic(`${base}-compute.svg`, await lineChartSvg({
    title: 'accuracy against generated tokens per problem', xTitle: 'generated tokens per problem', yTitle: 'accuracy', logX: true,
    series: [
      { name: 'cons@k (k samples)', x: s.tokensPerProblem, y: s.consAtK },
      { name: 'pass@k (k samples)', x: s.tokensPerProblem, y: s.passAtK, dash: true },
      { name: 'budget forcing (1 greedy sample)', x: caps.map((b) => b.meanGenerated), y: caps.map((b) => b.accuracy), mark: 'line+point' },
      ...(ext.length ? [{ name: '"Wait" extension', x: ext.map((b) => b.meanGenerated), y: ext.map((b) => b.accuracy), mark: 'point' as const }] : []),
      ...(r.compare ? comparisonSeries(r.compare) : []),
    ],
  }));
  if (r.bestOfN) {
    const b = r.bestOfN;
    writeFileAtomic(`${base}-best-of-n.svg`, await lineChartSvg({
      title: 'best-of-N with the reward model', xTitle: 'k (samples per prompt)', yTitle: 'share', logX: true,
      series: [
        { name: 'tasks: RM pick correct', x: b.k, y: b.task, mark: 'line+point' },
        { name: 'tasks: any of k correct (pass@k)', x: s.k, y: s.passAtK, dash: true },
        { name: 'general: RM pick clean', x: b.k, y: b.general.bestOfK, mark: 'line+point' },
        { name: 'general: any of k clean', x: b.k, y: b.general.anyOfK, dash: true },
      ],
    }));
  }
  writeFileAtomic(`${base}.md`, ttcMarkdown(r, stem, command));
}

/** The other model's compute curves (dashed): its majority vote and its budget forcing. */
function comparisonSeries(c: TtcComparison) {
  const caps = c.budget.filter((b) => b.waits === 0).sort((a, b) => a.budget - b.budget);
  return [
    { name: `${c.model}: cons@k`, x: c.sampling.tokensPerProblem, y: c.sampling.consAtK, dash: true },
    { name: `${c.model}: budget forcing`, x: caps.map((b) => b.meanGenerated), y: caps.map((b) => b.accuracy), mark: 'line+point' as const, dash: true },
  ];
}

/** Redraws the Markdown and SVGs of a report from its JSON. */
export async function renderTtcReport(jsonFile: string): Promise<string> {
  if (!fs.existsSync(jsonFile)) throw new Error(`no report at ${jsonFile}: run \`tinyseek ttc MODEL_DIR\` first`);
  const r = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as TtcReport & { command?: string };
  for (const k of ['sampling', 'budget', 'options'] as const) if (!(k in r)) throw new Error(`${jsonFile} is not a test-time report: it has no "${k}" field`);
  const base = jsonFile.replace(/\.json$/, '');
  await renderTtcFiles(r, base, path.basename(base), r.command ?? 'tinyseek ttc');
  return `${base}.md`;
}
