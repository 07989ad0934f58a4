// The R1-Zero report: which families count as improved, the Markdown, and the Vega-Lite SVG curves,
// all rendered from the report's JSON alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { familiesImproved, readReport, reportMarkdown, writeReport } from '../src/rl/r1zero-report.js';
import type { R1ZeroReport, FamilyScores } from '../src/rl/r1zero-report.js';
import { lineChartSpec, lineChartSvg } from '../src/analysis/line-chart.js';

const scores = (pass1: number, lenient: number): FamilyScores => ({ pass1, cons: pass1, lenient_pass1: lenient, greedy: pass1, format: 1, mean_length: 80 });

function report(): R1ZeroReport {
  const step = Array.from({ length: 30 }, (_, i) => i + 1);
  return {
    preset: 'test', base: 'runs/base', rl_run: 'runs/rl', rl_minutes: 12.5, total_minutes: 20, rl_steps: 30,
    recipe: { tasks: { families: ['add', 'sort', 'mod'], difficulties: [2] }, eval: { difficulties: [2] }, numGenerations: 16, promptsPerStep: 8, temperature: 1, lr: 2e-4, rewards: { accuracy: 1, format: 0.5 } },
    eval: { n: 50, k: 8, difficulties: [2], temperature: 0.6, top_p: 0.95, seed: 1 },
    families: {
      add: { base: scores(0.10, 0.10), rl: scores(0.30, 0.28) }, // +20 / +18: improved
      sort: { base: scores(0.40, 0.40), rl: scores(0.60, 0.50) }, // lenient only +10: not
      mod: { base: scores(0.10, 0.10), rl: scores(0.20, 0.20) }, // +10: not
    },
    curves: { step, reward: step.map((s) => 0.6 + s / 100), accuracy: step.map((s) => 0.1 + s / 100), format: step.map(() => 1), mean_length: step.map((s) => 80 + s) },
  };
}

test('a family counts as improved only with ≥ 15 points on both the strict and the lenient pass@1', () => {
  assert.deepEqual(familiesImproved(report()), ['add']);
  assert.deepEqual(familiesImproved(report(), 0.1).sort(), ['add', 'mod', 'sort']);
});

test('the Markdown lists every family with base → RL and the signed gain', () => {
  const md = reportMarkdown(report());
  assert.match(md, /\| add \| 10\.0 → \*\*30\.0\*\* \(\+20\.0\) \| 10\.0 → \*\*28\.0\*\* \(\+18\.0\)/);
  assert.match(md, /\| sort \|/);
  assert.match(md, /for: add\./);
  assert.match(md, /30 steps in 12\.5 minutes/);
  assert.match(md, /83\.5 tokens .* → 107\.5/); // mean length of the first 6 steps → the last 6
});

test('curves render as SVG through Vega-Lite, and the report round-trips through its JSON', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-report-'));
  const md = await writeReport(report(), dir);
  assert.equal(md, path.join(dir, 'r1-zero-test.md'));
  for (const f of ['r1-zero-test-reward.svg', 'r1-zero-test-length.svg']) {
    const svg = fs.readFileSync(path.join(dir, f), 'utf8');
    assert.match(svg, /^<svg /);
    assert.match(svg, /<path /, `${f} draws lines`);
  }
  assert.deepEqual(readReport(path.join(dir, 'r1-zero-test.json')), report());
  assert.throws(() => readReport(path.join(dir, 'missing.json')), /no report at/);
  fs.writeFileSync(path.join(dir, 'bad.json'), '{"preset":"x"}');
  assert.throws(() => readReport(path.join(dir, 'bad.json')), /not an r1-zero report: it has no "families"/);
});

test('line chart: mismatched series lengths are refused; smoothing adds a moving-average layer', async () => {
  assert.throws(() => lineChartSpec({ title: 't', xTitle: 'x', yTitle: 'y', series: [{ name: 'a', x: [1, 2], y: [1] }] }), /series a has 2 x values but 1 y values/);
  const spec = lineChartSpec({ title: 't', xTitle: 'x', yTitle: 'y', smooth: 5, series: [{ name: 'a', x: [1, 2, 3], y: [1, 2, 3] }] }) as { layer: unknown[] };
  assert.equal(spec.layer.length, 2);
  assert.match(await lineChartSvg({ title: 't', xTitle: 'x', yTitle: 'y', series: [{ name: 'a', x: [1, 2, 3], y: [3, 1, 2] }] }), /<svg /);
});

test('with logged completions the report says whether the thinking grew, with its behaviour table and chart', async () => {
  const base = report();
  const step = Array.from({ length: 10 }, (_, i) => i + 1);
  // Tokens 15 + 5·step: the first two steps average 22.5, the last two 62.5.
  const rep: R1ZeroReport = {
    ...base,
    behaviour: {
      step, n: step.map(() => 32), tokens: step.map((s) => 15 + 5 * s), accuracy: step.map((s) => s / 20), column_steps: step.map((s) => s / 2),
      tries: step.map(() => 0), dead_end_rate: step.map(() => 0), recheck_rate: step.map(() => 0),
    },
  };
  const md = reportMarkdown(rep);
  assert.match(md, /Thinking length grew by 178%: 22\.5 → 62\.5 tokens \(mean of the first 2 logged steps → the last 2\)/);
  assert.match(md, /\| column steps \| 0\.8 \| 4\.8 \|/);
  assert.match(md, /\| correct \| 7\.5% \| 47\.5% \|/);
  assert.match(md, /From the 320 completions logged/);
  const flat = reportMarkdown({ ...rep, behaviour: { ...rep.behaviour!, tokens: step.map(() => 50) } });
  assert.match(flat, /Thinking length stayed flat \(within ±10%\): 50\.0 → 50\.0/);
  assert.doesNotMatch(reportMarkdown(base), /What the thinking did/, 'no section without logged completions');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-report-'));
  try {
    await writeReport(rep, dir);
    assert.match(fs.readFileSync(path.join(dir, 'r1-zero-test-behaviour.svg'), 'utf8'), /^<svg /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
