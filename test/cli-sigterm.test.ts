// SIGTERM — what `kill`, `timeout`, `docker stop` and a batch scheduler's preemption send before
// SIGKILL — to a real `tinyseek pretrain` and `tinyseek grpo` process: the run stops at the end of
// its step with a complete checkpoint (exit status 130, "interrupted at step N"), even with periodic
// checkpoints off, and `--resume` continues from that step, so no step is lost or repeated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nanoModel } from './helpers/nano-model.js';
import { readMetrics } from '../src/train/metrics.js';
import { onStopSignals } from '../src/train/interrupted.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/index.js');
let root = '';
before(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-sigterm-')); });
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Logged training steps of a run (the lines with a loss or a reward). */
const loggedSteps = (out: string) => readMetrics(path.join(out, 'metrics.jsonl')).filter((m) => typeof m.loss === 'number' || typeof m.reward === 'number').map((m) => m.step);

/** Runs the CLI; sends SIGTERM once the run has logged `after` more steps than `from`. Resolves with its exit status and output. */
function runAndTerm(args: string[], out: string, from: number, after: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; sentAt: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '', stderr = '', sentAt = -1;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const poll = setInterval(() => {
      let steps: number[] = [];
      try { steps = loggedSteps(out); } catch { /* not written yet */ }
      const last = steps.at(-1) ?? 0;
      if (sentAt < 0 && last >= from + after) { sentAt = last; child.kill('SIGTERM'); }
    }, 10);
    const limit = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearInterval(poll); clearTimeout(limit); resolve({ code, signal, stdout, stderr, sentAt }); });
  });
}

/** The checks after one SIGTERM: exit 130, the message, a complete checkpoint at the last logged step, no final model. */
function assertStoppedCleanly(r: Awaited<ReturnType<typeof runAndTerm>>, out: string, total: number): number {
  assert.ok(r.sentAt > 0, `SIGTERM was sent (stderr: ${r.stderr})`);
  assert.equal(r.signal, null, `the process handled SIGTERM instead of dying of it (stderr: ${r.stderr})`);
  assert.equal(r.code, 130, `exit status (stdout: ${r.stdout}; stderr: ${r.stderr})`);
  const m = /interrupted at step (\d+); checkpoint ([^\s;]+)/.exec(r.stdout);
  assert.ok(m, `stdout names the step and checkpoint: ${r.stdout}`);
  const step = Number(m[1]);
  assert.ok(step >= r.sentAt && step < total, `stopped at step ${step} (SIGTERM after ${r.sentAt} of ${total})`);
  assert.equal(m[2], path.join(out, 'checkpoints', `step-${String(step).padStart(6, '0')}`));
  assert.ok(fs.existsSync(path.join(m[2]!, 'COMPLETE')), 'the checkpoint is complete');
  assert.equal(loggedSteps(out).at(-1), step, 'the last logged step is the checkpoint\'s');
  assert.ok(!fs.existsSync(path.join(out, 'final')), 'no final model from a stopped run');
  return step;
}

test('onStopSignals: SIGINT and SIGTERM in a single-process run; SIGINT only under MPI; removed again', () => {
  const before0 = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
  const off = onStopSignals(() => {}, false);
  assert.deepEqual([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], [before0[0]! + 1, before0[1]! + 1]);
  off();
  const offMpi = onStopSignals(() => {}, true);
  assert.deepEqual([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], [before0[0]! + 1, before0[1]!]);
  offMpi();
  assert.deepEqual([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], before0);
});

test('SIGTERM to `tinyseek pretrain`: a checkpoint at the step it stopped (periodic checkpoints off); --resume goes on from there', async () => {
  const recipe = JSON.parse(fs.readFileSync(path.resolve(path.dirname(cli), '../../../recipes/pretrain-nano.json'), 'utf8'));
  const total = 5000;
  recipe.name = 'sigterm-pretrain';
  recipe.train.steps = total;
  recipe.checkpoint = { every: 0 };
  const file = path.join(root, 'pretrain.json');
  fs.writeFileSync(file, JSON.stringify(recipe));
  const out = path.join(root, 'pretrain');
  const first = assertStoppedCleanly(await runAndTerm(['pretrain', '--config', file, '--out', out, '--quiet'], out, 0, 3), out, total);
  const again = await runAndTerm(['pretrain', '--config', file, '--out', out, '--quiet', '--resume'], out, first, 3);
  assert.match(again.stderr, new RegExp(`resume: continuing from step ${first} `));
  const second = assertStoppedCleanly(again, out, total);
  assert.ok(second > first);
  assert.deepEqual(loggedSteps(out), Array.from({ length: second }, (_, i) => i + 1), 'every step logged once');
});

test('SIGTERM to `tinyseek grpo`: the same, for an RL run', async () => {
  const init = nanoModel(path.join(root, 'nano'));
  const total = 2000;
  const file = path.join(root, 'grpo.json');
  fs.writeFileSync(file, JSON.stringify({
    name: 'sigterm-grpo', seed: 1, init, tasks: { families: ['add'], difficulties: [1] },
    steps: total, promptsPerStep: 2, numGenerations: 2, maxCompletionLength: 6, lr: 1e-3, microBatch: 4, checkpoint: { every: 0 }, eval: { every: 0 },
  }));
  const out = path.join(root, 'grpo');
  const first = assertStoppedCleanly(await runAndTerm(['grpo', '--config', file, '--out', out, '--quiet'], out, 0, 2), out, total);
  const second = assertStoppedCleanly(await runAndTerm(['grpo', '--config', file, '--out', out, '--quiet', '--resume'], out, first, 2), out, total);
  assert.ok(second > first);
  assert.deepEqual(loggedSteps(out), Array.from({ length: second }, (_, i) => i + 1), 'every step logged once');
});
