// Real processes for the distributed-rollout tests: `tinyseek rollout-worker` and `tinyseek grpo`
// learners, spawned from the compiled CLI, their output collected line by line, killable with -9.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseGrpoRecipe } from '../../src/rl/config.js';
import type { GrpoRecipe } from '../../src/rl/config.js';
import { outcome } from './grpo-runs.js';
import type { RunOutcome } from './grpo-runs.js';

/** The compiled CLI. */
export const CLI = fileURLToPath(new URL('../../src/cli/index.js', import.meta.url));

/** One thread per process: the 2-core test machine runs a learner and two workers at once. */
export const PROC_ENV = { ...process.env, TINYSEEK_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

/** Metrics that depend on timing or on the machine's load, not on the computation. */
export const VOLATILE = new Set(['rollout/queue_depth', 'rollout/active_jobs', 'rollout/workers', 'rollout/tokens_per_s', 'rollout/learner_idle_frac', 'rollout/readded_jobs']);

/** A spawned process with its output lines. */
export class Proc {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess, readonly label: string) {
    const take = (d: Buffer) => this.lines.push(...d.toString().split('\n').filter(Boolean));
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  /** Waits for an output line matching `re` (throws after `ms`, naming what was seen). */
  async waitFor(re: RegExp, ms = 180_000): Promise<string> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit) return hit;
      if (this.child.exitCode !== null || Date.now() - t0 > ms) throw new Error(`${this.label}: no line matching ${re} (${this.child.exitCode !== null ? `exited ${this.child.exitCode}` : 'timed out'}); output:\n${this.lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** kill -9 and wait until it is gone. */
  async kill9(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** SIGTERM (a worker closes cleanly) and wait. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await this.exited;
    }
  }
}

/** Starts a rollout worker. */
export function startWorker(url: string, queue: string, name: string, extra: string[] = []): Proc {
  return new Proc(spawn(process.execPath, [CLI, 'rollout-worker', '--redis', url, '--queue', queue, '--lock-ms', '2000', '--name', name, ...extra], { env: PROC_ENV }), `worker ${name}`);
}

/** Starts a learner: `tinyseek grpo --config <recipe> --out <out> --rollout-workers <url> …`. */
export function startLearner(recipeFile: string, out: string, url: string, queue: string, maxStaleness: number, extra: string[] = []): Proc {
  return new Proc(spawn(process.execPath, [CLI, 'grpo', '--config', recipeFile, '--out', out, '--rollout-workers', url, '--rollout-queue', queue, '--max-staleness', String(maxStaleness), ...extra], { env: PROC_ENV }), `learner ${path.basename(out)}`);
}

/** The recipe of the distributed tests (rewards vary through the soft overlong penalty), written to `<root>/recipe.json`. */
export function writeRecipe(root: string, init: string, steps = 4): { file: string; recipe: GrpoRecipe } {
  const recipe = parseGrpoRecipe({
    name: 'rollouts', seed: 3, init, tasks: { families: ['add', 'sub'], difficulties: [1] }, steps, promptsPerStep: 3, numGenerations: 4,
    maxCompletionLength: 12, overlong: 'soft', overlongCache: 12, lr: 1e-3, microBatch: 12, checkpoint: { every: 1 },
  });
  const file = path.join(root, 'recipe.json');
  fs.writeFileSync(file, JSON.stringify(recipe));
  return { file, recipe };
}

/** A finished run's outcome, without the metrics that depend on timing. */
export function runOutcome(out: string, lastStep: number): RunOutcome {
  const o = outcome(out, lastStep, []);
  o.metrics = o.metrics.map((m) => Object.fromEntries(Object.entries(m).filter(([k]) => !VOLATILE.has(k))) as Record<string, number>);
  return o;
}

/** A unique queue name per test (the tests may share one Redis). */
export function queueName(tag: string): string {
  return `test-${tag}-${process.pid}-${Date.now().toString(36)}`;
}
