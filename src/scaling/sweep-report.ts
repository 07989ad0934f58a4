// The scaling report: <stem>.json (plan, every run's measurement, the analysis) and, rendered from it,
// <stem>.md with SVG plots: IsoFLOP profiles with their parabolas, the compute-optimal frontier on
// log-log axes with the fitted power laws and their bootstrap bands, and loss against compute for MoE
// and dense.
import fs from 'node:fs';
import path from 'node:path';
import { lineChartSvg, type Series } from '../analysis/line-chart.js';
import { nearMinimum } from '../analysis/isoflop.js';
import { writeFileAtomic } from '../io/index.js';
import type { SweepPlan } from './sweep-plan.js';
import type { RunResult } from './sweep.js';
import type { SweepAnalysis } from './sweep-analysis.js';
import type { AccuracyResult } from './sweep-accuracy.js';

/** The report's JSON. */
export interface SweepReport {
  command: string;
  plan: SweepPlan;
  runs: RunResult[];
  analysis: SweepAnalysis;
  /** Greedy accuracy after the same fine-tune, of the study's models (absent in reports made before it existed). */
  accuracy?: AccuracyResult[];
}

/** DeepSeek LLM's IsoFLOP fit (§3.2): M_opt = 0.1715·C^0.5243, D_opt = 5.8316·C^0.4757. */
const DEEPSEEK_MOPT = { k: 0.1715, exponent: 0.5243 };

const e = (x: number, d = 2) => x.toExponential(d).replace('e+', 'e');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');
const iv = (i?: { lo: number; hi: number }) => (i ? `${f3(i.lo)}–${f3(i.hi)}` : '–');
/** A bootstrap whose replicates mostly failed leaves a biased remainder: no interval or band is drawn from it. */
const fair = (failed: number, replicates: number) => failed <= replicates / 2;
const iv95 = (i?: { lo95: number; hi95: number }) => (i ? `${f3(i.lo95)}–${f3(i.hi95)}` : '–');

/** The Markdown of a report. */
export function sweepMarkdown(r: SweepReport, stem: string): string {
  const { plan: p, analysis: a } = r;
  const t = a.totals;
  const L: string[] = [
    `# Scaling laws measured on tinyseek: ${p.name}`,
    '',
    `Produced by \`${r.command}\`. ${t.runs} pretraining runs of the \`mini\` family (sizes by depth and width; MoE = 8 routed experts top-2 + 1 shared, layer 0 dense; dense = every layer a SwiGLU MLP of 8/3·d; no MTP module) on the default corpus (${p.corpusTokens.toLocaleString('en-US')} pre-tokens, a ${p.vocabSize}-token BPE), sequences of ${p.seqLen}, AdamW (β 0.9/0.95, wd 0.1), warmup + cosine to peak/10 over each run's own length. Every run is a recipe under \`recipes/scaling-${p.name}/\`.`,
    '',
    `**Compute** is DeepSeek LLM's C = M·D (§3.2): M = non-embedding FLOPs per token with attention, 6·N_act,non-emb + 6·n_layer·l_seq·n_h·(d_qk + d_v) for MLA (\`src/analysis/flops.ts\`). The output head (6·vocab·d per token) is not in M; here it adds ${(100 * t.headFlops / t.C).toFixed(0)}% to the sweep's FLOPs (a vocabulary of ${p.vocabSize.toLocaleString('en-US')} against widths of ${Math.min(...p.sizes.map((z) => z.hidden))}–${Math.max(...p.sizes.map((z) => z.hidden))}). **Loss** is the held-out cross-entropy (nats per token) on a fixed validation split of the corpus (every ${p.valEvery}th document, ${p.valTokens.toLocaleString('en-US')} pre-tokens at most), never trained on.`,
    '',
    `**Cost of the sweep**: ${e(t.C)} FLOPs of M·D (${e(t.C + t.headFlops)} with the head) over ${t.tokens.toLocaleString('en-US')} training tokens; ${(t.wallSeconds / 3600).toFixed(2)} hours of wall time (${(t.trainSeconds / 3600).toFixed(2)} h in training steps), ${t.coreHours.toFixed(2)} core-hours (wall time × ${r.runs[0]?.cores ?? '?'} cores) and ${t.cpuHours.toFixed(2)} CPU-hours actually used by the process (less than the core-hours when other jobs shared the machine).`,
  ];
  if (a.finalRun) {
    const fr = a.finalRun;
    const where = fr.reliable
      ? `By the MoE IsoFLOP fit ${fr.method === 'all sizes' ? 'over all sizes' : `near the minimum (the fit over all sizes does not locate it)`}, the compute-optimal run at the largest budget (${e(fr.budget, 1)} FLOPs) has M_opt ≈ ${e(fr.Mopt)} and D_opt ≈ ${e(fr.Dopt)} tokens.`
      : `The MoE IsoFLOP fits do not locate the optimum (some parabola's minimum lies outside the sizes trained), so no M_opt is quoted for a final run.`;
    L.push('', `${where} A final run at the largest budget costs ${e(fr.budget, 1)} FLOPs; the whole sweep spent ${fr.sweepOverFinal.toFixed(1)}× that — the seed's point that the experiments behind a final run cost more than the run itself.`);
  }
  const noisy = a.archs.filter((x) => x.seedNoise);
  if (noisy.length) {
    const sn = noisy[0]!.seedNoise!;
    L.push('', '## Seed noise', '',
      `The IsoFLOP run of L${sn.size.layers} × d ${sn.size.hidden} at ${e(sn.budget, 1)} trained again with other seeds (initialisation and data order; the same data and validation set), per architecture:`, '',
      '| arch | seeds | validation losses | standard deviation |', '|---|---|---|---|');
    for (const x of noisy) L.push(`| ${x.arch} | ${x.seedNoise!.seeds.join(', ')} | ${x.seedNoise!.losses.map((v) => v.toFixed(4)).join(', ')} | ${x.seedNoise!.sd.toFixed(4)} |`);
    L.push('', `Pooled seed-to-seed standard deviation of the final loss: **σ = ${a.seedSigma!.toFixed(4)}** nats/token (${noisy.reduce((k, x) => k + x.seedNoise!.losses.length, 0)} runs; a difference between two single runs has a standard deviation of √2·σ = ${(Math.SQRT2 * a.seedSigma!).toFixed(4)}). It is measured at one size and budget and assumed for all.`);
    if (noisy.length === 2) {
      const [u, v] = noisy.map((x) => ({ arch: x.arch, n: x.seedNoise!.losses.length, mean: x.seedNoise!.losses.reduce((q, y) => q + y, 0) / x.seedNoise!.losses.length, sd: x.seedNoise!.sd }));
      const se = Math.sqrt(u!.sd ** 2 / u!.n + v!.sd ** 2 / v!.n);
      L.push('', `Mean over the seeds at this point: ${u!.arch} ${u!.mean.toFixed(4)}, ${v!.arch} ${v!.mean.toFixed(4)}; ${v!.arch} minus ${u!.arch} = ${(v!.mean - u!.mean).toFixed(4)} (${((v!.mean - u!.mean) / se).toFixed(1)} standard errors). The single-seed comparison below uses seed ${p.seed} only.`);
    }
  }
  for (const x of a.archs) {
    L.push('', `## ${x.arch === 'moe' ? 'MoE' : 'Dense'}: IsoFLOP profiles (Chinchilla approach 2)`, '');
    if (x.iso) {
      L.push('| budget C | runs | M_opt | D_opt (tokens) | L at M_opt | minimum inside the sizes |', '|---|---|---|---|---|---|');
      for (const pb of x.iso.parabolas) L.push(`| ${e(pb.budget, 1)} | ${pb.runs} | ${e(pb.Mopt)} | ${e(pb.Dopt)} | ${pb.Lopt.toFixed(3)} | ${pb.inside ? 'yes' : '**no**'} |`);
      // When most replicates fail, the survivors are a biased subset: no interval is quoted.
      const ok = fair(x.isoFailed, a.replicates);
      L.push('', `M_opt = ${e(x.iso.Mopt.k, 3)}·C^**${f3(x.iso.Mopt.exponent)}** (80% interval ${ok ? iv(x.isoIntervals.a) : '–'}), D_opt = ${e(x.iso.Dopt.k, 3)}·C^**${f3(x.iso.Dopt.exponent)}** (${ok ? iv(x.isoIntervals.b) : '–'}); residual bootstrap, ${a.replicates} replicates${x.isoFailed ? `, ${x.isoFailed} failed${ok ? '' : ' (more than half: the rest are no fair sample, so no interval is quoted)'}` : ''}. Chinchilla's approach 2: a = 0.49 (0.462–0.534), b = 0.51; DeepSeek LLM: a = 0.524, b = 0.476.`);
    }
    if (x.parametric) {
      const q = x.parametric, pi = x.parametricIntervals;
      L.push('', `Parametric fit (approach 3, N = M/6, Huber δ = 10⁻³ on log-loss): L = ${q.E.toFixed(3)} + ${e(q.A)}/N^${f3(q.alpha)} + ${e(q.B)}/D^${f3(q.beta)}; α ${iv(pi.alpha)}, β ${iv(pi.beta)} (80% intervals, run bootstrap); so a = β/(α+β) = **${f3(q.a)}** (${iv(pi.a)}), b = ${f3(q.b)} (${iv(pi.b)}). Chinchilla: α 0.34, β 0.28, a = 0.46.`);
    }
    if (x.near?.fit) {
      const nf = x.near.fit, ni = fair(x.near.failed, a.replicates) ? x.near.intervals : {};
      L.push('', `**Near the minimum.** Each budget's parabola through the ${x.near.window} sizes nearest (in ln M) to its lowest-loss run, so the fit reads the curvature around the optimum rather than the steep, uneven rise far from it. This view was added to the analysis after the fit over all sizes had failed on this sweep's first runs: it is a choice made after seeing the data.`, '',
        '| budget C | sizes | M_opt | D_opt (tokens) | L at M_opt | minimum inside the sizes |', '|---|---|---|---|---|---|');
      for (const pb of nf.parabolas) L.push(`| ${e(pb.budget, 1)} | ${pb.runs} | ${e(pb.Mopt)} | ${e(pb.Dopt)} | ${pb.Lopt.toFixed(3)} | ${pb.inside ? 'yes' : '**no**'} |`);
      L.push('', `M_opt = ${e(nf.Mopt.k, 3)}·C^**${f3(nf.Mopt.exponent)}** (80% interval ${iv(ni.a)}, 95% ${iv95(ni.a)}), D_opt = ${e(nf.Dopt.k, 3)}·C^**${f3(nf.Dopt.exponent)}** (80% ${iv(ni.b)}); ${ni.a ? `noise bootstrap at the seed σ (${a.replicates} replicates, every run's loss perturbed by N(0, σ²) and the sizes chosen again${x.near.failed ? `; ${x.near.failed} replicates failed (a parabola opened downwards) and are left out` : ''})` : !fair(x.near.failed, a.replicates) ? `no interval: ${x.near.failed} of ${a.replicates} noise-bootstrap replicates failed` : 'no interval (no seed replicates)'}.`);
    }
    for (const n of x.note) L.push('', `Note: ${n}.`);
    L.push('', `![IsoFLOP profiles, ${x.arch}](${stem}-isoflop-${x.arch}.svg)`);
  }
  const hidden = a.archs.filter((x) => x.iso && !x.iso.parabolas.every((q) => q.inside)).map((x) => x.arch);
  L.push('', '## Compute-optimal frontier', '', `![M_opt against C](${stem}-frontier.svg)`, '');
  if (hidden.length) L.push(`The fit over all sizes is not drawn for ${hidden.join(' and ')}: some of its parabolas have their minimum outside the sizes trained.`, '');
  if (a.archs.length > 1) {
    L.push('## MoE against dense at equal compute', '', `| budget C | ${a.archs.map((x) => `best ${x.arch} loss`).join(' | ')} |`, `|---|${a.archs.map(() => '---').join('|')}|`);
    for (const C of p.budgets) L.push(`| ${e(C, 1)} | ${a.archs.map((x) => { const b = x.bestPerBudget.find((y) => y.budget === C); return b ? `${b.loss.toFixed(3)} (${b.name.replace(/^isoflop-\w+-C[^-]+-/, '')})` : '–'; }).join(' | ')} |`);
    if (a.seedSigma !== null && a.archs.length === 2) {
      const [u, v] = a.archs;
      const diffs = p.budgets.map((C) => { const bu = u!.bestPerBudget.find((y) => y.budget === C), bv = v!.bestPerBudget.find((y) => y.budget === C); return bu && bv ? `${e(C, 1)}: ${(bv.loss - bu.loss).toFixed(3)} (${((bv.loss - bu.loss) / (Math.SQRT2 * a.seedSigma!)).toFixed(1)} standard deviations)` : null; }).filter(Boolean);
      L.push('', `Best ${v!.arch} minus best ${u!.arch}, against the seed noise of a difference of two runs (√2·σ): ${diffs.join('; ')}.`);
    }
    L.push('', `![loss against compute](${stem}-loss.svg)`, '');
  }
  if (r.accuracy?.length) {
    const acc = r.accuracy, sp = p.accuracy;
    const fams = [...new Set(acc.flatMap((x) => Object.keys(x.byFamily)))];
    L.push('## Reasoning accuracy against compute', '',
      `${sp.runs === 'best' ? 'The lowest-loss model of each budget and architecture' : 'Every IsoFLOP model'}, fine-tuned alike on worked solutions (${sp.steps} steps × ${sp.batchSize} sequences, ${sp.n} solutions per family and difficulty ${sp.difficulties.join(', ')}, peak lr ${sp.lr}; this compute is the same for every model and not in C), then greedy decoding on ${sp.evalN} held-out test problems per family and difficulty (${acc[0]!.problems} problems per model; one problem is ${(100 / acc[0]!.problems).toFixed(1)} points, and a 95% interval on an accuracy near p is about ±2·√(p(1−p)/${acc[0]!.problems})).`, '',
      `Next to it, the pretrained model's digit NLL on held-out worked solutions (the copy probe: teacher-forced, nats per digit token after "Solution:"; ln 10 ≈ 2.30 means it only knows that a digit comes), which moves before accuracy does.`, '',
      `| budget C | arch | model | val loss | digit NLL | greedy accuracy | ${fams.map((f) => `${f} %`).join(' | ')} |`, `|---|---|---|---|---|---|${fams.map(() => '---').join('|')}|`);
    for (const x of acc) L.push(`| ${e(x.budget, 1)} | ${x.arch} | ${x.name.replace(/^isoflop-\w+-C[^-]+-/, '')} | ${x.valLoss.toFixed(3)} | ${x.digitNll === undefined ? '–' : f3(x.digitNll)} | **${(100 * x.greedy).toFixed(1)}%** | ${fams.map((f) => (x.byFamily[f] === undefined ? '–' : (100 * x.byFamily[f]!).toFixed(0))).join(' | ')} |`);
    L.push('', `![accuracy against compute](${stem}-accuracy.svg)`, '', `![digit NLL against compute](${stem}-digit-nll.svg)`, '');
  }
  if (a.hyper) {
    const h = a.hyper;
    L.push('## Batch size and learning rate (DeepSeek LLM §3.1)', '',
      `Grid on L${p.hyper.size.layers} × d ${p.hyper.size.hidden} (MoE): batch sizes ${p.hyper.batchSizes.map((b) => b * p.seqLen).join(', ')} tokens × peak learning rates ${p.hyper.lrs.join(', ')} at budgets ${p.hyper.budgets.map((c) => e(c, 1)).join(', ')}. Near-optimal = within ${(100 * h.tolerance).toFixed(2)}% of the budget's lowest loss.`, '',
      '| budget C | best batch (tokens) | best lr | best loss | near-optimal runs | DeepSeek LLM\'s B_opt / η_opt at C |', '|---|---|---|---|---|---|');
    for (const b of h.best) {
      const ds = h.deepseek.find((d) => d.budget === b.budget)!;
      L.push(`| ${e(b.budget, 1)} | ${b.batchTokens} | ${b.lr} | ${b.L.toFixed(4)} | ${h.nearOptimal.filter((r) => r.budget === b.budget).length} | ${Math.round(ds.batchTokens)} / ${ds.lr.toExponential(2)} |`);
    }
    L.push('', h.batch && h.lr
      ? `Fitted through the near-optimal runs: B_opt = ${e(h.batch.k)}·C^${f3(h.batch.exponent)}, η_opt = ${e(h.lr.k)}·C^${f3(h.lr.exponent)} (DeepSeek LLM: 0.2920·C^0.3271, 0.3118·C^−0.1250). Over two budgets these are two-point lines: the direction, not the exponent, is what they can show.`
      : 'The near-optimal runs span fewer than two budgets, so no exponent can be read.',
    `The presets' values (batch ${h.presets.batchTokens} tokens, lr ${h.presets.lr}) are ${h.nearOptimal.some((r) => r.batchTokens === h.presets.batchTokens && r.lr === h.presets.lr) ? '' : '**not** '}among the near-optimal runs.`, '');
  }
  L.push('## What is different here', '',
    `- The models are tiny (M ≈ 10⁵–10⁷ FLOPs per token; the embedding and head, left out of M, are a large share of the parameters and of the wall time), the ${p.budgets.length} budgets span ${(Math.max(...p.budgets) / Math.min(...p.budgets)).toFixed(0)}× (Chinchilla: 9 budgets over 500×), and at most ${p.sizes.length} sizes per budget leave each parabola and each power law with one or two degrees of freedom: expect intervals far wider than the papers'.`,
    '- The data are synthetic task text (worked arithmetic, sorting, countdown), far more regular than web text: DeepSeek LLM found that the better the data, the larger a (more of the extra compute should go into the model); its values for three datasets run from 0.450 to 0.578.',
    a.seedSigma === null
      ? '- One seed per run: seed-to-seed noise in the final loss is of the order of the differences near an optimum.'
      : `- One seed per run apart from the replicates: the measured seed-to-seed σ of ${a.seedSigma.toFixed(4)} nats/token is of the order of the differences between neighbouring sizes near an optimum, so which size is lowest at a budget is itself uncertain (the noise bootstrap of the fit near the minimum redoes that choice in every replicate).`,
    '');
  return L.join('\n');
}

function parabolaCurve(pb: { p: [number, number, number] }, Ms: number[], pad = 0.2): { x: number[]; y: number[] } {
  const lo = Math.log(Math.min(...Ms)) - pad, hi = Math.log(Math.max(...Ms)) + pad;
  const xs = Array.from({ length: 30 }, (_, i) => lo + ((hi - lo) * i) / 29);
  return { x: xs.map(Math.exp), y: xs.map((x) => pb.p[0] + pb.p[1] * x + pb.p[2] * x * x) };
}

/** The M values of the near-minimum window of one budget's runs (as nearMinimum picks them). */
function nearWindowMs(rs: readonly RunResult[], n: number): number[] {
  return nearMinimum(rs.map((u) => ({ budget: u.budget, M: u.M, L: u.valLoss })), n).map((u) => u.M);
}

async function renderFiles(r: SweepReport, base: string, stem: string): Promise<void> {
  const { analysis: a, runs } = r;
  for (const x of a.archs) {
    const series: Series[] = [];
    for (const C of r.plan.budgets) {
      const rs = runs.filter((u) => u.arch === x.arch && u.study === 'isoflop' && u.budget === C).sort((u, v) => u.M - v.M);
      if (!rs.length) continue;
      series.push({ name: `C = ${e(C, 1)}`, x: rs.map((u) => u.M), y: rs.map((u) => u.valLoss), mark: 'point' });
      const pb = x.iso?.parabolas.find((q) => q.budget === C);
      if (pb) series.push({ name: `C = ${e(C, 1)}`, ...parabolaCurve(pb, rs.map((u) => u.M)), dash: true }); // same name: same colour as its points
      const nb = x.near?.fit?.parabolas.find((q) => q.budget === C);
      if (nb) {
        const win = nearWindowMs(rs, x.near!.window);
        series.push({ name: `C = ${e(C, 1)}`, ...parabolaCurve(nb, win, 0.1) }); // solid: the fit near the minimum, over its sizes
      }
    }
    writeFileAtomic(`${base}-isoflop-${x.arch}.svg`, await lineChartSvg({ title: `IsoFLOP profiles (${x.arch})`, xTitle: 'M (non-embedding FLOPs per token)', yTitle: 'validation loss (nats/token)', logX: true, series }));
  }
  const fr: Series[] = [];
  for (const x of a.archs) {
    // A fit whose parabolas extrapolate (minimum outside the sizes) would stretch the axis over decades
    // and hide the rest: the frontier shows only fits whose minima are all inside their sizes.
    if (!x.iso || !x.iso.parabolas.every((q) => q.inside)) continue;
    fr.push({ name: `${x.arch}: parabola minima`, x: x.iso.parabolas.map((q) => q.budget), y: x.iso.parabolas.map((q) => q.Mopt), mark: 'point' });
    const k = x.iso.Mopt.k, ex = x.iso.Mopt.exponent;
    // The band exists only when the bootstrap succeeded (its failure is one of the report's notes).
    const banded = x.band.lo.length === x.band.C.length && fair(x.isoFailed, a.replicates);
    fr.push({ name: `${x.arch}: M_opt ∝ C^${ex.toFixed(2)}${banded ? ' (80% band)' : ''}`, x: x.band.C, y: x.band.C.map((C) => k * Math.pow(C, ex)), ...(banded ? { band: { lo: x.band.lo, hi: x.band.hi } } : {}) });
  }
  for (const x of a.archs) {
    const nf = x.near?.fit;
    if (!nf) continue;
    fr.push({ name: `${x.arch}: minima near the lowest loss`, x: nf.parabolas.map((q) => q.budget), y: nf.parabolas.map((q) => q.Mopt), mark: 'point' });
    const banded = x.near!.band.lo.length === x.near!.band.C.length && fair(x.near!.failed, a.replicates);
    fr.push({ name: `${x.arch} near the minimum: M_opt ∝ C^${nf.Mopt.exponent.toFixed(2)}${banded ? ' (80% band)' : ''}`, x: x.near!.band.C, y: x.near!.band.C.map((C) => nf.Mopt.k * Math.pow(C, nf.Mopt.exponent)), ...(banded ? { band: { lo: x.near!.band.lo, hi: x.near!.band.hi } } : {}) });
  }
  if (fr.length) {
    const C = a.archs[0].band.C;
    fr.push({ name: 'DeepSeek LLM: 0.1715·C^0.524', x: C, y: C.map((c) => DEEPSEEK_MOPT.k * Math.pow(c, DEEPSEEK_MOPT.exponent)), dash: true });
    writeFileAtomic(`${base}-frontier.svg`, await lineChartSvg({ title: 'compute-optimal model scale', xTitle: 'C = M·D (FLOPs)', yTitle: 'M_opt (FLOPs per token)', logX: true, logY: true, series: fr }));
  }
  if (a.archs.length > 1) {
    const ls: Series[] = [];
    for (const x of a.archs) {
      const rs = runs.filter((u) => u.arch === x.arch && u.study === 'isoflop');
      ls.push({ name: `${x.arch} runs`, x: rs.map((u) => u.C), y: rs.map((u) => u.valLoss), mark: 'point' });
      ls.push({ name: `${x.arch} best per budget`, x: x.bestPerBudget.map((b) => b.budget), y: x.bestPerBudget.map((b) => b.loss), mark: 'line+point' });
    }
    writeFileAtomic(`${base}-loss.svg`, await lineChartSvg({ title: 'validation loss against compute', xTitle: 'C = M·D (FLOPs)', yTitle: 'validation loss (nats/token)', logX: true, logY: true, series: ls }));
  }
  if (r.accuracy?.length) {
    const as: Series[] = [];
    for (const arch of [...new Set(r.accuracy.map((x) => x.arch))]) {
      const xs = r.accuracy.filter((x) => x.arch === arch).sort((u, v) => u.C - v.C);
      as.push({ name: arch, x: xs.map((x) => x.C), y: xs.map((x) => 100 * x.greedy), mark: 'line+point' });
    }
    writeFileAtomic(`${base}-accuracy.svg`, await lineChartSvg({ title: 'held-out greedy accuracy after the same fine-tune', xTitle: 'pretraining compute C = M·D (FLOPs)', yTitle: 'greedy accuracy (%)', logX: true, series: as }));
    const ns: Series[] = [];
    for (const arch of [...new Set(r.accuracy.map((x) => x.arch))]) {
      const xs = r.accuracy.filter((x) => x.arch === arch && x.digitNll !== undefined).sort((u, v) => u.C - v.C);
      if (xs.length) ns.push({ name: arch, x: xs.map((x) => x.C), y: xs.map((x) => x.digitNll), mark: 'line+point' });
    }
    if (ns.length) writeFileAtomic(`${base}-digit-nll.svg`, await lineChartSvg({ title: 'digit NLL on held-out worked solutions (pretrained models)', xTitle: 'pretraining compute C = M·D (FLOPs)', yTitle: 'nats per digit token', logX: true, series: ns }));
  }
  writeFileAtomic(`${base}.md`, sweepMarkdown(r, stem));
}

/** Writes <dir>/<stem>.{json,md} and the SVGs; returns the Markdown's path. */
export async function writeSweepReport(r: SweepReport, dir: string, stem = 'scaling'): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, stem);
  writeFileAtomic(`${base}.json`, JSON.stringify(r, null, 2) + '\n');
  await renderFiles(r, base, stem);
  return `${base}.md`;
}

/** Redraws the Markdown and SVGs from the JSON. */
export async function renderSweepReport(jsonFile: string): Promise<string> {
  if (!fs.existsSync(jsonFile)) throw new Error(`no report at ${jsonFile}: run \`tinyseek scaling --preset sweep\` first`);
  const r = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as SweepReport;
  for (const k of ['plan', 'runs', 'analysis'] as const) if (!(k in r)) throw new Error(`${jsonFile} is not a scaling report: it has no "${k}" field`);
  const base = jsonFile.replace(/\.json$/, '');
  await renderFiles(r, base, path.basename(base));
  return `${base}.md`;
}
