// Faults of distributed GRPO rollouts, with real processes and kill -9 against a real Redis. The
// queue tags every group with the policy version that samples it as a function of the step, so a
// run does not depend on which worker does what: each faulty run must end with exactly the metrics
// and final weights of an undisturbed run (no group lost, none counted twice, no update repeated).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeInitModel } from './helpers/grpo-runs.js';
import type { RunOutcome } from './helpers/grpo-runs.js';
import { RedisServer, redisServerBinary, redisUnavailable, testRedis } from './helpers/redis.js';
import { queueName, runOutcome, startLearner, startWorker, writeRecipe } from './helpers/rollout-procs.js';
import type { Proc } from './helpers/rollout-procs.js';
import { toolSkip } from './helpers/tools.js';

const skip = toolSkip('Redis', await redisUnavailable());
const skipServer = toolSkip('redis-server', redisServerBinary() ? null : 'redis-server is not installed (apt-get install redis-server)');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-rollout-faults-'));
let url = '';
let server: RedisServer | null = null;
let recipeFile = '';
let reference: RunOutcome;
const procs: Proc[] = [];
const STEPS = 4;

/** Runs a learner to the end and returns its outcome. */
async function finish(learner: Proc, out: string): Promise<RunOutcome> {
  procs.push(learner);
  const code = await learner.exited;
  assert.equal(code, 0, `${learner.label} exited ${code}:\n${learner.lines.join('\n')}`);
  return runOutcome(out, STEPS);
}

/** Lines of metrics.jsonl (0 when absent). */
function metricLines(out: string): number {
  const f = path.join(out, 'metrics.jsonl');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;
}

before(async () => {
  if (skip) return;
  ({ url, server } = await testRedis(path.join(root, 'redis')));
  writeInitModel(path.join(root, 'init'));
  recipeFile = writeRecipe(root, path.join(root, 'init'), STEPS).file;
  // The undisturbed run every faulty one must reproduce.
  const queue = queueName('ref');
  procs.push(startWorker(url, queue, 'ref-w1'), startWorker(url, queue, 'ref-w2'));
  reference = await finish(startLearner(recipeFile, path.join(root, 'ref'), url, queue, 1, ['--quiet']), path.join(root, 'ref'));
  assert.ok(reference.metrics.every((m) => m.grad_norm > 0), 'the reference run learns');
});

after(async () => {
  for (const p of procs) await p.kill9();
  await server?.kill9();
  fs.rmSync(root, { recursive: true, force: true });
});

test('a worker killed (-9) mid-job: its job stalls, another worker runs it, the run is unchanged', { skip }, async () => {
  const queue = queueName('wkill');
  // The victim waits 5 s inside each job, so it is surely mid-job when killed.
  const victim = startWorker(url, queue, 'victim', ['--delay-ms', '5000']);
  procs.push(victim);
  await victim.waitFor(/ready/);
  const out = path.join(root, 'wkill');
  const learner = startLearner(recipeFile, out, url, queue, 1, ['--quiet']);
  const started = await victim.waitFor(/^job \S+ start/);
  const id = /^job (\S+) start/.exec(started)![1];
  await victim.kill9();
  const rescuer = startWorker(url, queue, 'rescuer');
  procs.push(rescuer);
  const got = await finish(learner, out);
  // BullMQ's stalled-job check put the job back: the rescuer ran it with its stalled counter at 1.
  assert.ok(rescuer.lines.some((l) => l.startsWith(`job ${id} start`) && / stalled 1\)/.test(l)), `rescuer log:\n${rescuer.lines.join('\n')}`);
  assert.deepEqual(got, reference);
});

test('the learner killed (-9) after a checkpoint resumes from it and the queue: no update repeated, none lost', { skip }, async () => {
  const queue = queueName('lkill');
  procs.push(startWorker(url, queue, 'lkill-w1'), startWorker(url, queue, 'lkill-w2'));
  const out = path.join(root, 'lkill');
  const first = startLearner(recipeFile, out, url, queue, 1, ['--quiet']);
  procs.push(first);
  const t0 = Date.now();
  while (metricLines(out) < 2) {
    assert.ok(first.child.exitCode === null && Date.now() - t0 < 180_000, `the learner did not reach step 2:\n${first.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await first.kill9();
  assert.ok(metricLines(out) < STEPS + 1, 'killed before the end');
  const resumed = startLearner(recipeFile, out, url, queue, 1, ['--quiet', '--resume']);
  const got = await finish(resumed, out);
  assert.ok(resumed.lines.some((l) => /^resume: continuing from step [12] /.test(l)), resumed.lines.join('\n'));
  // Each step's metrics once, and the final weights of the undisturbed run: every update applied exactly once.
  assert.deepEqual(got.metrics.map((m) => m.step), reference.metrics.map((m) => m.step));
  assert.deepEqual(got, reference);
});

test('Redis killed (-9) and restarted empty mid-run: workers and learner reconnect, lost jobs are queued again, the run is unchanged', { skip: skip || skipServer }, async () => {
  const own = await RedisServer.start(redisServerBinary()!, path.join(root, 'redis-restart'));
  try {
    const queue = queueName('redis');
    procs.push(startWorker(own.url, queue, 'redis-w1'), startWorker(own.url, queue, 'redis-w2'));
    const out = path.join(root, 'redis');
    const learner = startLearner(recipeFile, out, own.url, queue, 1, ['--quiet']);
    procs.push(learner);
    const t0 = Date.now();
    while (metricLines(out) < 1) {
      assert.ok(learner.child.exitCode === null && Date.now() - t0 < 180_000, `the learner did not reach step 1:\n${learner.lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await own.kill9();
    await new Promise((r) => setTimeout(r, 1500));
    await own.restart();
    const got = await finish(learner, out);
    const raw = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>);
    assert.ok(raw.reduce((n, m) => n + (m['rollout/readded_jobs'] ?? 0), 0) > 0, 'jobs lost with Redis were queued again');
    assert.deepEqual(got, reference);
  } finally {
    await own.kill9();
  }
});
