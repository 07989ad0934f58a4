// Distributed GRPO rollouts against a real Redis with real worker processes: synchronous mode
// samples exactly the completions the in-process run samples; asynchronous mode trains on
// rollouts at most maxStaleness versions old, every group once, and reports the staleness,
// queue depth and workers on the progress line and in metrics.jsonl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { grpo } from '../src/rl/grpo.js';
import { readMetrics } from '../src/train/metrics.js';
import { redisConnection } from '../src/parallel/redis-url.js';
import { loadVersion, openPublishedModel, publishModelFiles, publishVersion, pruneVersions, versionFile } from '../src/parallel/policy-store.js';
import { rollJobId } from '../src/parallel/rollout-job.js';
import { loadModel } from '../src/model/checkpoint.js';
import { writeInitModel } from './helpers/grpo-runs.js';
import { redisUnavailable, testRedis } from './helpers/redis.js';
import type { RedisServer } from './helpers/redis.js';
import { queueName, startWorker, writeRecipe } from './helpers/rollout-procs.js';
import type { Proc } from './helpers/rollout-procs.js';
import { toolSkip } from './helpers/tools.js';

const skip = toolSkip('Redis', await redisUnavailable());
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-rollouts-'));
let url = '';
let server: RedisServer | null = null;
const procs: Proc[] = [];

before(async () => {
  if (skip) return;
  ({ url, server } = await testRedis(path.join(root, 'redis')));
  writeInitModel(path.join(root, 'init'));
});

after(async () => {
  for (const p of procs) await p.kill9();
  await server?.kill9();
  fs.rmSync(root, { recursive: true, force: true });
});

type M = Record<string, number>;
const metricsOf = (out: string) => readMetrics(path.join(out, 'metrics.jsonl')) as M[];

test('a bad Redis URL is refused with what was expected', () => {
  assert.throws(() => redisConnection('http://localhost:6379'), /expected a redis:\/\/ URL, found "http:\/\/localhost:6379"/);
  assert.throws(() => redisConnection('not a url'), /expected a Redis URL like redis:\/\/127\.0\.0\.1:6379, found "not a url"/);
});

test('policy versions: published and loaded bit for bit, a wrong or missing version named', () => {
  const dir = path.join(root, 'store');
  const init = path.join(root, 'store-init');
  writeInitModel(init);
  const policy = loadModel(init);
  publishModelFiles(dir, policy, { 'tokenizer.json': fs.readFileSync(path.join(init, 'tokenizer.json')) });
  publishVersion(dir, 7, policy);
  const { model } = openPublishedModel(dir);
  loadVersion(dir, 7, model);
  const want = new Map(policy.namedTensors());
  for (const [n, t] of model.namedTensors()) assert.deepEqual(t.f32(), want.get(n)!.f32(), n);
  fs.copyFileSync(versionFile(dir, 7), versionFile(dir, 8));
  assert.throws(() => loadVersion(dir, 8, model), /v000008\.safetensors: holds version 7, expected 8/);
  assert.throws(() => loadVersion(dir, 9, model), /policy version 9 not found: .*v000009\.safetensors/);
  pruneVersions(dir, 8);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['model', 'v000008.safetensors']);
  assert.throws(() => openPublishedModel(path.join(root, 'nowhere')), /config\.json not found: is .*nowhere the learner's publish directory/);
  assert.doesNotMatch(rollJobId('abc', 1, 0, 2), /:/, 'BullMQ job ids may not hold a colon');
});

test('synchronous rollout workers (maxStaleness 0) sample exactly the in-process completions', { skip }, async () => {
  const { recipe } = writeRecipe(root, path.join(root, 'init'), 3);
  await grpo({ recipe, out: path.join(root, 'local'), quiet: true });
  const queue = queueName('sync');
  procs.push(startWorker(url, queue, 'sync-w1'));
  await grpo({ recipe, out: path.join(root, 'sync'), quiet: true, rolloutWorkers: { url, queue, maxStaleness: 0 } });
  const a = metricsOf(path.join(root, 'local')), b = metricsOf(path.join(root, 'sync'));
  assert.equal(b.length, 3);
  for (let i = 0; i < 3; i++) {
    // Same seeds, same weights: the same tokens, so the same rewards and lengths, exactly.
    for (const k of ['reward', 'reward_std', 'completions/mean_length', 'completions/max_length', 'rewards/format/mean', 'num_groups_used']) assert.equal(b[i][k], a[i][k], `step ${i + 1} ${k}`);
    assert.equal(b[i]['rollout/staleness_max'], 0);
    // The behaviour log-probs come from a batch of one group instead of all groups: the float sums
    // differ in the last bits, so the loss agrees to rounding.
    for (const k of ['loss', 'grad_norm', 'entropy']) assert.ok(Math.abs(b[i][k] - a[i][k]) <= 1e-4 * Math.max(1, Math.abs(a[i][k])), `step ${i + 1} ${k}: ${b[i][k]} vs ${a[i][k]}`);
    assert.ok(a[i].grad_norm > 0 && a[i].reward_std > 0, 'the run learns');
  }
});

test('asynchronous rollouts (maxStaleness 1) on two workers: bounded staleness, every group once, progress shows queue and workers', { skip }, async () => {
  const { recipe } = writeRecipe(root, path.join(root, 'init'), 4);
  const queue = queueName('async');
  const w = [startWorker(url, queue, 'async-w1'), startWorker(url, queue, 'async-w2')];
  procs.push(...w);
  await Promise.all(w.map((p) => p.waitFor(/ready/)));
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try {
    await grpo({ recipe, out: path.join(root, 'async'), quiet: false, rolloutWorkers: { url, queue, maxStaleness: 1 } });
  } finally {
    console.error = orig;
  }
  const m = metricsOf(path.join(root, 'async')).filter((x) => 'loss' in x);
  assert.equal(m.length, 4);
  // Step 1's groups come from version 0 (nothing older exists); every later step's from the version before it.
  assert.deepEqual(m.map((x) => [x['rollout/staleness_0'], x['rollout/staleness_1']]), [[1, 0], [0, 1], [0, 1], [0, 1]]);
  assert.ok(m.every((x) => x.num_groups_used === 3 && x.grad_norm > 0));
  // Every job was done by a worker, and no group was collected twice: 4 steps × 3 groups, each id once per worker log.
  const done = w.flatMap((p) => p.lines.filter((l) => / done /.test(l)).map((l) => /^job (\S+) done/.exec(l)![1]));
  assert.equal(new Set(done).size, 12, done.join(' '));
  assert.ok(w.every((p) => p.lines.some((l) => / done /.test(l))), 'both workers took jobs');
  const steps = lines.filter((l) => l.startsWith('step '));
  assert.equal(steps.length, 4, lines.join('\n'));
  for (const l of steps) assert.match(l, / tok\/s .* queue \d+ workers 2 /, l);
  // The learner's checkpoints removed the jobs it had consumed and kept only the versions a resume can need.
  const versions = fs.readdirSync(path.join(root, 'async', 'policy-versions')).filter((f) => f.endsWith('.safetensors'));
  assert.deepEqual(versions, ['v000003.safetensors', 'v000004.safetensors']);
});
