// In-process GRPO reproduces, bit for bit, the metrics and final weights stored before grpo() was
// split into rollout, reward and learner roles (test/fixtures/grpo-reference-<backend>.json).
// TINYSEEK_WRITE_FIXTURES=1 rewrites the fixture instead of comparing (only ever done on the code
// the fixture is meant to pin down, and committed with the commit that says so).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { grpo } from '../src/rl/grpo.js';
import { backend, nativeBackendOrNull } from '../src/backend/index.js';
import { FIXTURES, outcome, referenceRuns, writeInitModel } from './helpers/grpo-runs.js';
import type { RunOutcome } from './helpers/grpo-runs.js';
import { writeFileAtomic } from '../src/io/index.js';

const backendName = backend() === nativeBackendOrNull() ? 'native' : 'reference';
const file = path.join(FIXTURES, `grpo-reference-${backendName}.json`);
const WRITE = process.env.TINYSEEK_WRITE_FIXTURES === '1';

test(`in-process GRPO matches the stored pre-split runs bit for bit (${backendName} backend)`, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-grpo-ref-'));
  try {
    const init = path.join(root, 'init');
    writeInitModel(init);
    const got: Record<string, RunOutcome> = {};
    for (const run of referenceRuns(init)) {
      const out = path.join(root, run.name);
      const res = await grpo({ recipe: run.recipe, out, quiet: true, ...run.extra });
      got[run.name] = outcome(out, res.lastStep, res.evals);
    }
    if (WRITE) {
      fs.mkdirSync(FIXTURES, { recursive: true });
      writeFileAtomic(file, JSON.stringify({ backend: backendName, runs: got }, null, 1) + '\n');
      return;
    }
    assert.ok(fs.existsSync(file), `no fixture ${file}: it is produced on the pre-split code with TINYSEEK_WRITE_FIXTURES=1`);
    const want = JSON.parse(fs.readFileSync(file, 'utf8')) as { runs: Record<string, RunOutcome> };
    // The runs must actually learn something for the comparison to mean anything.
    for (const [name, r] of Object.entries(want.runs)) {
      assert.ok(r.metrics.some((m) => m.loss !== 0 && m.grad_norm > 0 && m.reward_std > 0), `fixture run ${name} has a step with signal`);
    }
    for (const name of Object.keys(want.runs)) {
      const g = got[name], w = want.runs[name];
      assert.equal(g.lastStep, w.lastStep, `run ${name}: last step`);
      assert.deepEqual(g.metrics, w.metrics, `run ${name}: metrics`);
      assert.deepEqual(g.evals, w.evals, `run ${name}: evaluations`);
      assert.deepEqual(g.sample, w.sample, `run ${name}: sampled final weights`);
      assert.equal(g.finalWeightsSha256, w.finalWeightsSha256, `run ${name}: hash of the final weights`);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
