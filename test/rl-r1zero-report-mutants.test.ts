// The R1-Zero report's Markdown, whole: a report with every part (evaluation settings, both reward
// weights, a time limit, total minutes, the behaviour section) rendered exactly as the reviewed
// fixture test/fixtures/r1zero-report.md, and the variants each optional part has (defaults when
// absent, the length verdict at its ±10% boundaries, the improved-family rule at exactly 15 points).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { familiesImproved, reportMarkdown, writeReport } from '../src/rl/r1zero-report.js';
import type { R1ZeroReport, FamilyScores } from '../src/rl/r1zero-report.js';

const fixture = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/r1zero-report.md');
const s = (pass1: number, lenient: number, length = 80): FamilyScores => ({ pass1, cons: pass1 + 0.05, lenient_pass1: lenient, greedy: pass1 - 0.05, format: 0.9, mean_length: length });

function full(): R1ZeroReport {
  const step = Array.from({ length: 10 }, (_, i) => i + 1);
  return {
    preset: 'mini', base: 'runs/base/final', rl_run: 'runs/r1-zero-mini/run', rl_minutes: 41.25, total_minutes: 55.5, rl_steps: 120,
    recipe: {
      tasks: { families: ['add', 'sub'], difficulties: [1, 3] }, eval: { difficulties: [3] }, maxMinutes: 45,
      numGenerations: 16, promptsPerStep: 8, temperature: 1, lr: 0.0002, beta: 0.001, epsLow: 0.2, epsHigh: 0.28,
      lossType: 'dapo', scaleRewards: 'group', dynamicSampling: 'replace', overlong: 'mask', refResetEvery: 100, rewards: { accuracy: 1, format: 0.5 },
    },
    eval: { n: 25, k: 8, difficulties: [1, 3], temperature: 0.6, top_p: 0.95, seed: 9 },
    families: { add: { base: s(0.1, 0.2, 90), rl: s(0.25, 0.35, 70) }, sub: { base: s(0.5, 0.5), rl: s(0.4, 0.45, 101) } },
    curves: { step, reward: step.map((x) => x / 10), accuracy: step.map((x) => x / 20), format: step.map(() => 1), mean_length: step.map((x) => 60 + 2 * x) },
    behaviour: {
      step, n: step.map(() => 16), tokens: step.map((x) => 40 + 4 * x), accuracy: step.map((x) => x / 10), column_steps: step.map((x) => x / 4),
      tries: step.map((x) => 10 - x), dead_end_rate: step.map((x) => x / 40), recheck_rate: step.map((x) => (x > 8 ? 0.5 : 0)),
    },
  };
}

test('the whole Markdown of a complete report equals the reviewed fixture', () => {
  assert.equal(reportMarkdown(full()), fs.readFileSync(fixture, 'utf8'));
});

test('optional parts: defaults without reward weights, a time limit, total minutes, eval settings or behaviour', () => {
  const r = full();
  delete (r.recipe as Record<string, unknown>).rewards;
  delete (r.recipe as Record<string, unknown>).maxMinutes;
  delete r.total_minutes;
  delete r.eval;
  delete r.behaviour;
  const md = reportMarkdown(r);
  assert.match(md, /rule-based rewards only \(accuracy 1, format 0\)/);
  assert.match(md, /Command: `tinyseek r1-zero --preset mini --base runs\/base\/final` \(RL run/);
  assert.match(md, /120 steps in 41\.3 minutes of RL on this 2-core machine\.\n/);
  assert.match(md, /\nHeld-out test-split problems\. "Lenient"/);
  assert.doesNotMatch(md, /What the thinking did/);
  assert.ok(md.endsWith('![completion length](r1-zero-mini-length.svg)\n'));
  const zero = full();
  (zero.recipe as Record<string, unknown>).rewards = { accuracy: 0, format: 0 };
  assert.match(reportMarkdown(zero), /\(accuracy 0, format 0\)/, 'a weight of 0 is shown as 0, not replaced by the default');
  const none = full();
  none.behaviour = { ...none.behaviour!, step: [], tokens: [], n: [], accuracy: [], column_steps: [], tries: [], dead_end_rate: [], recheck_rate: [] };
  assert.doesNotMatch(reportMarkdown(none), /What the thinking did/, 'an empty behaviour log has no section');
});

test('the length verdict: grew above +10%, shrank below −10%, flat between (boundaries included in flat)', () => {
  const verdict = (first: number, last: number) => {
    const r = full();
    r.behaviour = { ...r.behaviour!, tokens: r.behaviour!.step.map((x) => (x <= 2 ? first : x > 8 ? last : 0)) };
    return /Thinking length ([^:]+):/.exec(reportMarkdown(r))![1];
  };
  assert.equal(verdict(100, 111), 'grew by 11%');
  assert.equal(verdict(100, 110), 'stayed flat (within ±10%)');
  assert.equal(verdict(100, 90), 'stayed flat (within ±10%)');
  assert.equal(verdict(100, 89), 'shrank by 11%');
  assert.equal(verdict(100, 50), 'shrank by 50%');
});

test('improved families: exactly 15 points on both measures counts, 15 on one only does not', () => {
  const r = full();
  r.families = {
    both: { base: s(0.1, 0.2), rl: s(0.25, 0.35) },
    strictOnly: { base: s(0.1, 0.2), rl: s(0.25, 0.34) },
    lenientOnly: { base: s(0.1, 0.2), rl: s(0.24, 0.35) },
    down: { base: s(0.5, 0.5), rl: s(0.2, 0.2) },
  };
  assert.deepEqual(familiesImproved(r), ['both']);
  assert.deepEqual(familiesImproved(r, 0.3), []);
  assert.deepEqual(familiesImproved(r, -0.3).sort(), ['both', 'down', 'lenientOnly', 'strictOnly']);
  assert.match(reportMarkdown(r), /pass@1 rose by ≥ 15 points on both measures for: both\./);
  r.families = { down: r.families.down! };
  assert.match(reportMarkdown(r), /No family gained 15 points on both measures\./);
  r.families = { same: { base: s(0.3, 0.3), rl: s(0.3, 0.3) } };
  assert.match(reportMarkdown(r), /\| same \| 30\.0 → \*\*30\.0\*\* \(\+0\.0\)/, 'no change is +0.0');
});

test('writeReport writes the JSON, the Markdown and the charts; the behaviour chart only with a behaviour log', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-r1zrep-'));
  try {
    const md = await writeReport(full(), dir);
    assert.equal(fs.readFileSync(md, 'utf8'), reportMarkdown(full()));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'r1-zero-mini.json'), 'utf8')), full());
    for (const f of ['reward', 'length', 'behaviour']) assert.match(fs.readFileSync(path.join(dir, `r1-zero-mini-${f}.svg`), 'utf8'), /^<svg /);
    const reward = fs.readFileSync(path.join(dir, 'r1-zero-mini-reward.svg'), 'utf8');
    for (const name of ['total', 'accuracy', 'format']) assert.ok(reward.includes(name), `reward chart has ${name}`);
    const noFormat = full();
    delete noFormat.curves.format;
    delete noFormat.behaviour;
    const dir2 = path.join(dir, 'b');
    await writeReport(noFormat, dir2);
    assert.ok(!fs.existsSync(path.join(dir2, 'r1-zero-mini-behaviour.svg')));
    assert.ok(!fs.readFileSync(path.join(dir2, 'r1-zero-mini-reward.svg'), 'utf8').includes('format'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
