// runR1Zero's first-run path (src/rl/r1zero.ts), in-process so mutation testing sees it: the preset's
// base (runs/pretrain-nano/final, relative to the working directory) does not exist yet, so the
// experiment pretrains it from recipes/pretrain-nano.json first, saying so; Ctrl-C during that
// pretraining ends with one line naming it, and the same call again resumes the pretraining from its
// checkpoint instead of starting over. About 30 s (a 60-step nano pretraining and the experiment).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runR1Zero } from '../src/rl/r1zero.js';
import { readReport } from '../src/rl/r1zero-report.js';
import { readMetrics } from '../src/train/metrics.js';
import { RunInterrupted } from '../src/train/interrupted.js';
import { captureStderr } from './helpers/stderr.js';
import { sigintOnceHandled } from './helpers/sigint.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-r1zero-pretrain-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('without a base, the experiment pretrains the preset\'s base first; Ctrl-C during that pretraining is resumed by the next call', { timeout: 600_000 }, async () => {
  const cwd = process.cwd();
  process.chdir(root);
  const log = console.log;
  console.log = () => {};
  try {
    const opts = { preset: 'nano', minutes: 0.001, reportDir: 'report' }; // the RL run's folder by default: runs/r1-zero-nano
    const stop = sigintOnceHandled();
    let lines: string[] = [];
    try {
      await assert.rejects((async () => { ({ lines } = await captureStderr(() => runR1Zero(opts))); })(),
        (e: Error) => e instanceof RunInterrupted && /^r1-zero: pretraining the base: interrupted at step \d+ \(checkpoint runs.pretrain-nano.*\); run the same command again to resume$/.test(e.message) && e.lastStep < 60);
    } finally {
      stop();
    }
    const base = path.join('runs', 'pretrain-nano', 'final');
    assert.ok(!fs.existsSync(path.join(base, 'config.json')), 'the pretraining stopped before its final model');
    const stepsBefore = readMetrics(path.join('runs', 'pretrain-nano', 'metrics.jsonl')).map((x) => x.step);
    assert.ok(stepsBefore.length >= 1 && stepsBefore.length < 60, `steps logged before Ctrl-C: ${stepsBefore}`);

    ({ lines } = await captureStderr(() => runR1Zero(opts)));
    assert.equal(lines[0], `r1-zero: no base model at ${base}; pretraining it first (recipes/pretrain-nano.json)`);
    assert.ok(lines.some((l) => /^resume(d)?:? .*step \d+/.test(l)), `the pretraining resumed from its checkpoint:\n${lines.slice(0, 6).join('\n')}`);
    const steps = readMetrics(path.join('runs', 'pretrain-nano', 'metrics.jsonl')).map((x) => x.step);
    assert.deepEqual(steps, [...new Set(steps)].sort((a, b) => a - b), 'no step logged twice');
    assert.equal(steps[steps.length - 1], 60);
    assert.equal(JSON.parse(fs.readFileSync(path.join('runs', 'pretrain-nano', 'recipe.json'), 'utf8')).name, 'pretrain-nano');
    assert.ok(fs.existsSync(path.join(base, 'config.json')), 'the base model was saved where the recipe looks for it');
    const rep = readReport(path.join('report', 'r1-zero-nano.json'));
    assert.equal(rep.base, base);
    assert.ok(rep.rl_steps >= 1);
    assert.equal(rep.rl_run, path.join('runs', 'r1-zero-nano'));
    assert.ok(fs.existsSync(path.join('runs', 'r1-zero-nano', 'final', 'config.json')), 'the RL run in its default folder');
  } finally {
    console.log = log;
    process.chdir(cwd);
  }
});
