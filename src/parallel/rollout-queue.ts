// The learner's side of distributed rollouts: prompt groups go on a BullMQ queue as jobs tagged
// with a policy version; `tinyseek rollout-worker` processes (any number, any machine that sees
// the publish directory) sample and score them; the learner collects the results by job id.
//
// Asynchrony with bounded staleness: when step s begins (policy version s), the groups of steps
// s … s + maxStaleness are on the queue, those of step s + maxStaleness tagged with version s; so
// workers sample ahead while the learner trains, and the rollouts step t trains on were sampled by
// version ≥ t − maxStaleness. The importance ratio π_θ/π_behav (π_behav: the worker's recorded
// log-probs) corrects and clips them. Tags are a function of the step, not of timing, so a run is
// the same whichever worker takes a job, and a replay (retry, resume) reproduces it exactly.
//
// Faults. A worker killed mid-job stops renewing the job's lock; another worker's stalled-job check
// puts it back on the queue and it runs again (same result: same version, same seeds). A job has
// one id per (run, step, attempt, group), so it is added once however often the learner asks, and
// collected once. The learner's checkpoint holds the run id and the groups planned ahead; a resumed
// learner re-adds them (a no-op for jobs still in Redis, whose results it then reads) and repeats
// nothing else. Redis restarts: ioredis reconnects, commands wait meanwhile, and a job missing
// after a restart without persistence is added again.
import path from 'node:path';
import crypto from 'node:crypto';
import { Queue } from 'bullmq';
import type { Job } from 'bullmq';
import type { CausalLM } from '../model/causal-lm.js';
import type { GrpoRecipe } from '../rl/config.js';
import type { PromptSampler } from '../rl/prompts.js';
import type { PromptGroup, SamplingSettings } from '../rl/rollout.js';
import type { RewardSpec, ScoredGroup } from '../rl/reward.js';
import type { RolloutSource } from '../rl/rollout-source.js';
import { redisConnection } from './redis-url.js';
import { publishModelFiles, publishVersion, pruneVersions } from './policy-store.js';
import { ROLLOUT_QUEUE, rollJobId } from './rollout-job.js';
import type { RolloutJobData, RolloutJobResult } from './rollout-job.js';

/** Groups of one step's attempt, planned (on the queue) with the version that samples them. */
interface Planned {
  step: number;
  attempt: number;
  version: number;
  groups: PromptGroup[];
}

/** Options of the learner's rollout queue. */
export interface RolloutQueueOptions {
  url: string;
  maxStaleness: number;
  queue?: string;
  publishDir?: string;
  redisTimeoutMs?: number;
  out: string;
  recipe: GrpoRecipe;
  sampling: SamplingSettings;
  reward: RewardSpec;
  prompts: PromptSampler;
  policy: CausalLM;
  tokFiles: Record<string, Uint8Array>;
  /** The step the run starts (or resumes) at: the policy's version. */
  start: number;
  /** The checkpoint state of a resumed run. */
  state: Record<string, unknown> | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A RolloutSource backed by BullMQ workers. */
export class RolloutQueue implements RolloutSource {
  private readonly planned = new Map<string, Planned>();
  private version: number;
  private tokens = 0;
  /** Ids of the jobs collected since the last checkpoint. */
  private readonly collected: string[] = [];
  private readonly stats = { staleness: [] as number[], tokens: 0, waitS: 0, workerS: 0, t: performance.now(), depth: 0, active: 0, workers: 0, readds: 0 };

  private constructor(private readonly o: RolloutQueueOptions, private readonly queue: Queue, readonly run: string, readonly publishDir: string) {
    this.version = o.start;
  }

  /** Connects, publishes the model files and the starting version, and re-adds a resumed run's planned groups. */
  static async open(o: RolloutQueueOptions): Promise<RolloutQueue> {
    if (!Number.isInteger(o.maxStaleness) || o.maxStaleness < 0) throw new Error(`maxStaleness: expected a non-negative integer, found ${o.maxStaleness}`);
    const queue = new Queue(o.queue ?? ROLLOUT_QUEUE, { connection: redisConnection(o.url) });
    queue.on('error', () => { /* reconnecting; calls wait (see redisConnection) */ });
    const q = new RolloutQueue(o, queue, (o.state?.run as string | undefined) ?? crypto.randomBytes(6).toString('hex'), path.resolve(o.publishDir ?? path.join(o.out, 'policy-versions')));
    try {
      await q.redis('connect', () => queue.waitUntilReady());
      publishModelFiles(q.publishDir, o.policy, o.tokFiles);
      publishVersion(q.publishDir, o.start, o.policy);
      for (const p of (o.state?.planned as Planned[] | undefined) ?? []) {
        q.planned.set(`${p.step}/${p.attempt}`, p);
        await q.add(p);
      }
    } catch (e) {
      await queue.close().catch(() => undefined); // a failed open leaves no connection retrying in the background
      throw e;
    }
    return q;
  }

  /** Runs a Redis call, retrying through disconnections for up to redisTimeoutMs. */
  private async redis<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const limit = this.o.redisTimeoutMs ?? 120_000, t0 = performance.now();
    let said = false;
    for (;;) {
      try {
        let timer: NodeJS.Timeout | undefined;
        const noReply = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('no reply')), Math.max(1000, limit - (performance.now() - t0))); });
        try {
          return await Promise.race([fn(), noReply]);
        } finally {
          clearTimeout(timer);
        }
      } catch (e) {
        const waited = performance.now() - t0;
        if (waited >= limit) throw new Error(`Redis at ${this.o.url} unreachable for ${Math.round(waited / 1000)} s (${what}): ${(e as Error).message}`);
        if (!said) console.error(`rollouts: Redis at ${this.o.url}: ${(e as Error).message}; retrying (${what})`);
        said = true;
        await sleep(250);
      }
    }
  }

  /** Adds the jobs of planned groups (a job whose id exists is left as it is). */
  private async add(p: Planned, only?: number): Promise<void> {
    const jobs = p.groups.filter((g) => only === undefined || g.index === only).map((g) => ({
      name: 'rollout',
      data: { run: this.run, publishDir: this.publishDir, version: p.version, group: g, sampling: this.o.sampling, reward: this.o.reward } satisfies RolloutJobData,
      opts: { jobId: rollJobId(this.run, p.step, p.attempt, g.index), attempts: 3, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: false, removeOnFail: false },
    }));
    await this.redis('add jobs', () => this.queue.addBulk(jobs));
  }

  /** Plans (and queues) `n` new groups for a step's attempt, sampled by the current version. */
  private async plan(step: number, attempt: number, n: number): Promise<Planned> {
    const p: Planned = { step, attempt, version: this.version, groups: this.o.prompts.next(step, attempt, n) };
    this.planned.set(`${step}/${attempt}`, p);
    await this.add(p);
    return p;
  }

  async groups(step: number, attempt: number, n: number): Promise<ScoredGroup[]> {
    const p = this.planned.get(`${step}/${attempt}`) ?? (await this.plan(step, attempt, n));
    if (p.groups.length !== n) throw new Error(`rollouts: step ${step} attempt ${attempt} was planned with ${p.groups.length} groups, ${n} asked for (a resumed run with another recipe?)`);
    if (attempt === 0) {
      for (let t = step + 1; t <= step + this.o.maxStaleness && t < this.o.recipe.steps; t++) {
        if (!this.planned.has(`${t}/0`)) await this.plan(t, 0, this.o.recipe.promptsPerStep);
      }
    }
    const results = await this.collect(p);
    this.planned.delete(`${step}/${attempt}`);
    for (const r of results) {
      this.stats.staleness.push(this.version - r.group.version);
      this.stats.tokens += r.tokens;
      this.stats.workerS += r.seconds;
      this.tokens += r.tokens;
    }
    return results.map((r) => r.group);
  }

  /** Waits for every job of a planned attempt; re-adds lost jobs and retries failed ones. */
  private async collect(p: Planned): Promise<RolloutJobResult[]> {
    const t0 = performance.now();
    const out: (RolloutJobResult | undefined)[] = new Array<RolloutJobResult | undefined>(p.groups.length).fill(undefined);
    const retried = new Map<number, number>();
    let lastSay = t0;
    while (out.some((x) => x === undefined)) {
      for (const g of p.groups) {
        if (out[g.index]) continue;
        const id = rollJobId(this.run, p.step, p.attempt, g.index);
        const job = (await this.redis('read job', () => this.queue.getJob(id))) as Job<RolloutJobData, RolloutJobResult> | undefined;
        if (!job) { // lost with a Redis that restarted without its data
          this.stats.readds++;
          await this.add(p, g.index);
          continue;
        }
        // The job as read holds its return value once completed (its state, read apart, may be newer than the read).
        if (job.finishedOn && job.returnvalue) {
          out[g.index] = job.returnvalue;
          continue;
        }
        if (!job.failedReason) continue;
        const state = await this.redis('job state', () => job.getState());
        if (state === 'failed') {
          const n = (retried.get(g.index) ?? 0) + 1;
          if (n > 3) throw new Error(`rollout job ${id} failed ${n} times: ${job.failedReason}`);
          retried.set(g.index, n);
          console.error(`rollouts: job ${id} failed (${job.failedReason}); retrying`);
          await this.redis('retry job', () => job.retry('failed'));
        }
      }
      if (out.every((x) => x !== undefined)) break;
      if (performance.now() - lastSay > 15_000) {
        lastSay = performance.now();
        const w = await this.redis('count workers', () => this.queue.getWorkersCount());
        console.error(`rollouts: waiting for step ${p.step + 1}'s groups (${out.filter((x) => !x).length} left, ${w} worker(s) connected${w === 0 ? ': start some with `tinyseek rollout-worker --redis ' + this.o.url + '`' : ''})`);
      }
      await sleep(20);
    }
    this.stats.waitS += (performance.now() - t0) / 1000;
    this.collected.push(...p.groups.map((g) => rollJobId(this.run, p.step, p.attempt, g.index)));
    return out as RolloutJobResult[];
  }

  generatedTokens(): number {
    return this.tokens;
  }

  /** Publishes version `version` for the workers. */
  async published(version: number): Promise<void> {
    this.version = version;
    publishVersion(this.publishDir, version, this.o.policy);
  }

  async stepMetrics(): Promise<Record<string, number>> {
    const counts = await this.redis('count jobs', () => this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active'));
    this.stats.depth = counts.waiting + counts.prioritized + counts.delayed;
    this.stats.active = counts.active;
    this.stats.workers = await this.redis('count workers', () => this.queue.getWorkersCount());
    const s = this.stats, now = performance.now(), wall = (now - s.t) / 1000;
    const st = s.staleness;
    const rec: Record<string, number> = {
      'rollout/staleness_mean': st.length ? st.reduce((a, b) => a + b, 0) / st.length : 0,
      'rollout/staleness_max': st.length ? Math.max(...st) : 0,
      'rollout/queue_depth': s.depth,
      'rollout/active_jobs': s.active,
      'rollout/workers': s.workers,
      'rollout/tokens_per_s': s.tokens / Math.max(1e-9, wall),
      'rollout/learner_idle_frac': Math.min(1, s.waitS / Math.max(1e-9, wall)),
      'rollout/readded_jobs': s.readds,
    };
    for (let k = 0; k <= this.o.maxStaleness; k++) rec[`rollout/staleness_${k}`] = st.length ? st.filter((x) => x === k).length / st.length : 0;
    Object.assign(s, { staleness: [], tokens: 0, waitS: 0, workerS: 0, t: now, readds: 0 });
    return rec;
  }

  progressFields(): Record<string, number> {
    return { queue: this.stats.depth, workers: this.stats.workers };
  }

  checkpointState(step: number): Record<string, unknown> {
    return { run: this.run, planned: [...this.planned.values()].filter((p) => p.step >= step) };
  }

  /** Removes the collected jobs (all of steps before `step`) and the versions no resumed run can need. */
  async checkpointed(step: number): Promise<void> {
    const ids = this.collected.splice(0);
    await this.redis('remove jobs', async () => { for (const id of ids) await this.queue.remove(id); });
    pruneVersions(this.publishDir, step - this.o.maxStaleness);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
