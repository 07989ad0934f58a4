// GRPO rollouts: in-process against rollout workers on a BullMQ queue (a redis-server started here
// on a free loopback port). Four 20-step runs of the same recipe and seed from the shipped mini
// model: in-process (the peer: generation inside the learner, all cores), then the learner with 1
// and 2 `tinyseek rollout-worker` processes at maxStaleness 1, and with 1 worker at maxStaleness 0
// (synchronous). Reports rollout tokens/s (completion tokens sampled ÷ the run's wall time), the
// learner's idle fraction (time spent waiting for rollouts), the staleness distribution and the
// reward curves; writes docs/results/rollouts.{json,md} with --json off. The ratio printed is
// tokens/s with 2 workers over 1 worker, and distributed over in-process.
// TINYSEEK_BENCH_STEPS overrides the 20 steps (the default run takes a few minutes: 4 runs).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from '../src/cli/commands/bench.js';
import { writeFileAtomic } from '../src/io/index.js';
import { readMetrics } from '../src/train/metrics.js';
import { report } from './_util.js';

export const description = 'GRPO rollout tokens/s: 1 and 2 rollout workers (BullMQ/Redis) vs in-process; learner idle fraction; reward curves';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const CLI = path.join(repo, 'dist/src/cli/index.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

/** Runs a command to completion; throws with its output on failure. */
function tinyseek(args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tinyseek ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
}

interface RunStats {
  name: string;
  workers: number;
  maxStaleness: number | null;
  steps: number;
  wallS: number;
  tokens: number;
  tokensPerS: number;
  learnerIdle: number | null;
  staleness: Record<string, number> | null;
  reward: number[];
}

/** The stats of a finished run folder. */
function stats(name: string, out: string, workers: number, maxStaleness: number | null, P: number, G: number): RunStats {
  const m = readMetrics(path.join(out, 'metrics.jsonl')).filter((x) => 'loss' in x) as Record<string, number>[];
  const tokens = m.reduce((n, x) => n + x['completions/mean_length'] * P * G, 0);
  const wallS = m.at(-1)!.elapsed_minutes * 60;
  const stepT = m.reduce((n, x) => n + x.step_time, 0);
  const idle = workers > 0 ? m.reduce((n, x) => n + x['rollout/learner_idle_frac'] * x.step_time, 0) / stepT : null;
  let staleness: Record<string, number> | null = null;
  if (maxStaleness !== null) {
    staleness = {};
    for (let k = 0; k <= maxStaleness; k++) staleness[k] = m.reduce((n, x) => n + x[`rollout/staleness_${k}`], 0) / m.length;
  }
  return { name, workers, maxStaleness, steps: m.length, wallS, tokens, tokensPerS: tokens / wallS, learnerIdle: idle, staleness, reward: m.map((x) => x.reward) };
}

export async function run(o: BenchOptions): Promise<void> {
  const bin = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!bin) throw new Error('bench rollouts needs redis-server (apt-get install redis-server)');
  const steps = Number(process.env.TINYSEEK_BENCH_STEPS ?? 20);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-bench-rollouts-'));
  const port = await freePort();
  const redis = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', root], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const one = { ...process.env, TINYSEEK_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
  const P = 4, G = 8;
  const recipe = {
    name: 'bench-rollouts', seed: 1, init: path.join(repo, 'models/tinyseek-r1-mini'), template: 'default',
    tasks: { families: ['add', 'sub'], difficulties: [1] }, steps, promptsPerStep: P, numGenerations: G, maxCompletionLength: 48,
    overlong: 'soft', overlongCache: 24, lr: 2e-4, microBatch: 16, checkpoint: { every: 0 },
  };
  const recipeFile = path.join(root, 'recipe.json');
  fs.writeFileSync(recipeFile, JSON.stringify(recipe));
  const results: RunStats[] = [];
  const loadBefore = os.loadavg()[0];
  try {
    await new Promise((r) => setTimeout(r, 300));
    tinyseek(['grpo', '--config', recipeFile, '--out', path.join(root, 'inproc'), '--quiet'], process.env);
    results.push(stats('in-process', path.join(root, 'inproc'), 0, null, P, G));
    for (const [workers, s] of [[1, 1], [2, 1], [1, 0]] as const) {
      const name = `${workers}w-s${s}`, queue = `bench-${name}`;
      const ws = Array.from({ length: workers }, (_, i) => spawn(process.execPath, [CLI, 'rollout-worker', '--redis', url, '--queue', queue, '--name', `${name}-${i}`], { env: one, stdio: 'ignore' }));
      try {
        tinyseek(['grpo', '--config', recipeFile, '--out', path.join(root, name), '--quiet', '--rollout-workers', url, '--rollout-queue', queue, '--max-staleness', String(s)], one);
      } finally {
        for (const w of ws) w.kill('SIGTERM');
      }
      results.push(stats(`${workers} worker${workers > 1 ? 's' : ''}, maxStaleness ${s}`, path.join(root, name), workers, s, P, G));
    }
  } finally {
    redis.kill('SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  }
  const [inproc, w1, w2, sync] = results;
  const rows = results.map((r) => ({
    run: r.name, steps: r.steps, 'wall s': r.wallS, 'tokens': Math.round(r.tokens), 'tok/s': r.tokensPerS,
    'learner idle': r.learnerIdle === null ? '-' : r.learnerIdle.toFixed(3), 'mean reward': r.reward.reduce((a, b) => a + b, 0) / r.reward.length,
  }));
  report(rows, o.json, 'GRPO rollouts: in-process vs BullMQ rollout workers (same recipe and seed)');
  const ratio2v1 = w2.tokensPerS / w1.tokensPerS, ratioDist = w2.tokensPerS / inproc.tokensPerS;
  const syncSame = sync.reward.every((x, i) => x === inproc.reward[i]);
  if (o.json) console.log(JSON.stringify({ ratio_2_workers_vs_1: ratio2v1, ratio_2_workers_vs_in_process: ratioDist, sync_rewards_equal_in_process: syncSame }));
  else console.log(`ratio: 2 workers / 1 worker ${ratio2v1.toFixed(2)}×; 2 workers / in-process ${ratioDist.toFixed(2)}×; synchronous (maxStaleness 0) rewards equal the in-process ones at every step: ${syncSame}`);
  const load = [loadBefore, os.loadavg()[0]];
  if (!o.json) writeReport(results, ratio2v1, ratioDist, syncSame, recipe, load);
}

/** docs/results/rollouts.{json,md}. */
function writeReport(results: RunStats[], ratio2v1: number, ratioDist: number, syncSame: boolean, recipe: Record<string, unknown>, load: number[]): void {
  const dir = path.join(repo, 'docs/results');
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`;
  writeFileAtomic(path.join(dir, 'rollouts.json'), JSON.stringify({ command: 'npx tinyseek bench rollouts', machine, date: new Date().toISOString().slice(0, 10), load_average_1min: load, recipe, runs: results, ratio_2_workers_vs_1: ratio2v1, ratio_2_workers_vs_in_process: ratioDist, sync_rewards_equal_in_process: syncSame }, null, 1) + '\n');
  const f = (x: number, d = 1) => x.toFixed(d);
  const lines = [
    '# GRPO rollouts: in-process vs rollout workers on BullMQ/Redis',
    '',
    `Command: \`npx tinyseek bench rollouts\` (machine: ${machine}; every distributed process pinned to one thread, the in-process run uses all cores).`,
    `Load average (1 min) at the start and end: ${load.map((x) => x.toFixed(1)).join(' and ')} — other jobs shared the cores, so absolute speeds are low and noisy; the runs are sequential, so they shared alike only roughly.`,
    `Recipe: the shipped mini model, ${recipe.steps} steps, ${recipe.promptsPerStep} prompts × ${recipe.numGenerations} completions of ≤ ${recipe.maxCompletionLength} tokens per step, soft overlong reward, seed ${recipe.seed}.`,
    '',
    '| run | wall s | completion tokens | rollout tok/s | learner idle | staleness (share of groups) | mean reward |',
    '|---|---|---|---|---|---|---|',
    ...results.map((r) => `| ${r.name} | ${f(r.wallS)} | ${Math.round(r.tokens)} | ${f(r.tokensPerS)} | ${r.learnerIdle === null ? '–' : f(r.learnerIdle, 2)} | ${r.staleness ? Object.entries(r.staleness).map(([k, v]) => `${k}: ${f(v, 2)}`).join(', ') : '–'} | ${f(r.reward.reduce((a, b) => a + b, 0) / r.reward.length, 4)} |`),
    '',
    `Ratios: 2 workers / 1 worker **${f(ratio2v1, 2)}×** rollout tokens/s; 2 workers / in-process **${f(ratioDist, 2)}×**.`,
    `Synchronous workers (maxStaleness 0) sample exactly the in-process completions: rewards equal at every step: **${syncSame}**.`,
    '',
    '## Reward per step',
    '',
    `| step | ${results.map((r) => r.name).join(' | ')} |`,
    `|---|${results.map(() => '---').join('|')}|`,
    ...results[0].reward.map((_, i) => `| ${i + 1} | ${results.map((r) => f(r.reward[i] ?? NaN, 4)).join(' | ')} |`),
    '',
  ];
  writeFileAtomic(path.join(dir, 'rollouts.md'), lines.join('\n'));
}
