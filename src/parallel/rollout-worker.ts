// `tinyseek rollout-worker`: takes rollout jobs from the BullMQ queue, loads the job's policy
// version from the learner's publish directory when it holds another one, samples and scores the
// group, and returns it. One job at a time per process (generation already uses every core the
// process is given); run one process per machine, or more on a many-core machine with
// TINYSEEK_NUM_THREADS set. A worker killed mid-job loses its lock after `lockMs` and another
// worker's stalled-job check puts the job back on the queue.
import { Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { redisConnection } from './redis-url.js';
import { ROLLOUT_QUEUE, RolloutProcessor, workerName } from './rollout-job.js';
import type { RolloutJobData, RolloutJobResult } from './rollout-job.js';

/** Options of a rollout worker. */
export interface RolloutWorkerOptions {
  redis: string;
  queue?: string;
  /** Job lock duration and stalled-job check interval (ms; BullMQ's default 30000). */
  lockMs?: number;
  /** Wait this long before each job (simulates a slower machine; the fault tests use it to kill a worker mid-job). */
  delayMs?: number;
  name?: string;
  /** Log lines to stdout (`job <id> start`, `job <id> done …`). */
  log?: (line: string) => void;
  /** Stop after this many jobs (benchmarks, tests). */
  maxJobs?: number;
}

/** Runs a worker until SIGINT/SIGTERM (or maxJobs); resolves when it has closed. */
export async function runRolloutWorker(o: RolloutWorkerOptions): Promise<{ jobs: number; tokens: number; seconds: number }> {
  const name = o.name ?? workerName();
  const log = o.log ?? ((l: string) => console.log(l));
  const proc = new RolloutProcessor(name);
  const lockMs = o.lockMs ?? 30_000;
  const totals = { jobs: 0, tokens: 0, seconds: 0 };
  let closing: Promise<void> | null = null;
  const worker = new Worker<RolloutJobData, RolloutJobResult>(o.queue ?? ROLLOUT_QUEUE, async (job: Job<RolloutJobData, RolloutJobResult>) => {
    log(`job ${job.id} start (version ${job.data.version}, attempt ${job.attemptsMade + 1}, stalled ${job.stalledCounter})`);
    if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
    const res = await proc.process(job.data);
    totals.jobs++;
    totals.tokens += res.tokens;
    totals.seconds += res.seconds;
    log(`job ${job.id} done (${res.tokens} tokens, ${res.seconds.toFixed(3)} s)`);
    if (o.maxJobs !== undefined && totals.jobs >= o.maxJobs) setImmediate(() => void stop());
    return res;
  }, { connection: redisConnection(o.redis), concurrency: 1, lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: 10, name, autorun: false });
  let lastErr = '';
  worker.on('error', (e) => {
    if (e.message !== lastErr) console.error(`rollout-worker ${name}: ${e.message}`);
    lastErr = e.message;
  });
  worker.on('failed', (job, e) => console.error(`rollout-worker ${name}: job ${job?.id} failed: ${e.message}`));
  const stop = () => (closing ??= worker.close());
  // A clean close waits for the job in hand and for Redis; a second signal, or 10 s without Redis, forces it.
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) process.exit(130);
    void stop();
    setTimeout(() => void worker.close(true).finally(() => process.exit(130)), 10_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await worker.waitUntilReady();
    log(`rollout-worker ${name}: ready on ${o.queue ?? ROLLOUT_QUEUE} at ${o.redis}`);
    await worker.run();
    await closing;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return totals;
}
