// In-process GRPO reproduces, bit for bit, the metrics and final weights stored before grpo() was
// split into rollout, reward and learner roles (test/fixtures/grpo-reference-<backend>.json).
// The runs go in a child process pinned to one thread, so that the bits do not depend on the
// machine's core count, and with OpenBLAS's kernel pinned to its AVX2 one (Haswell), so that they do
// not depend on the CPU either: left to choose, OpenBLAS picks its AVX-512 kernels on an AVX-512 machine
// (SkylakeX, Cooperlake, …), which sum in another order (the CI's machine differed from the one that
// recorded the fixture in the 8th digit of every loss). tinyseek's own float32 kernels are compiled for
// x86-64-v3 and do not dispatch at run time; TINYSEEK_GEMM16 pins the 16-bit ones all the same, and
// TINYSEEK_GEMV=blas keeps the matrix-vector products (the rollouts' decode steps) on OpenBLAS's sgemv, as
// when the fixture was recorded (native/src/gemv.c sums in another order).
// TINYSEEK_WRITE_FIXTURES=1 rewrites the fixture instead of comparing (only
// ever done on the code the fixture is meant to pin down, and committed with a commit that says so).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backend, nativeBackendOrNull } from '../src/backend/index.js';
import { FIXTURES } from './helpers/grpo-runs.js';
import type { RunOutcome } from './helpers/grpo-runs.js';

const backendName = backend() === nativeBackendOrNull() ? 'native' : 'reference';
const file = path.join(FIXTURES, `grpo-reference-${backendName}.json`);
const MAIN = fileURLToPath(new URL('./helpers/grpo-reference-main.js', import.meta.url));
const WRITE = process.env.TINYSEEK_WRITE_FIXTURES === '1';

test(`in-process GRPO matches the stored pre-split runs bit for bit (${backendName} backend)`, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-grpo-ref-'));
  try {
    const outFile = path.join(root, 'outcome.json');
    const env = { ...process.env, TINYSEEK_BACKEND: backendName, TINYSEEK_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', OPENBLAS_CORETYPE: 'Haswell', TINYSEEK_GEMM16: 'avx2', TINYSEEK_GEMV: 'blas' };
    const r = spawnSync(process.execPath, [MAIN, outFile, path.join(root, 'work')], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, `the reference runs failed:\n${r.stderr}`);
    if (WRITE) {
      fs.mkdirSync(FIXTURES, { recursive: true });
      fs.copyFileSync(outFile, file);
      return;
    }
    assert.ok(fs.existsSync(file), `no fixture ${file}: it is produced on the pre-split code with TINYSEEK_WRITE_FIXTURES=1`);
    const want = JSON.parse(fs.readFileSync(file, 'utf8')) as { runs: Record<string, RunOutcome> };
    const got = (JSON.parse(fs.readFileSync(outFile, 'utf8')) as { runs: Record<string, RunOutcome> }).runs;
    // The runs must actually learn something for the comparison to mean anything.
    for (const [name, w] of Object.entries(want.runs)) {
      assert.ok(w.metrics.some((m) => m.loss !== 0 && m.grad_norm > 0 && m.reward_std > 0), `fixture run ${name} has a step with signal`);
    }
    assert.deepEqual(Object.keys(got), Object.keys(want.runs));
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
