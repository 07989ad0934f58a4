// `tinyseek rollout-worker`: a GRPO rollout worker on a BullMQ queue (see src/parallel/rollout-worker.ts).
import type { Command } from 'commander';
import { CliError } from '../errors.js';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} expects a non-negative integer, found "${v}"`);
  return n;
};

/** Registers the rollout-worker command. */
export function register(program: Command): void {
  program
    .command('rollout-worker')
    .description('sample and score GRPO rollouts for a learner started with `tinyseek grpo --rollout-workers URL` (any number of workers, on any machine that sees the learner\'s publish directory at the same path)')
    .requiredOption('--redis <url>', 'the Redis the learner uses (redis://host:port)')
    .option('--queue <name>', 'queue name', 'tinyseek-rollouts')
    .option('--lock-ms <ms>', 'job lock and stalled-job check interval: a killed worker\'s job is retried elsewhere after about twice this', int('lock-ms'), 30000)
    .option('--delay-ms <ms>', 'wait this long before each job (simulates a slow machine; fault drills)', int('delay-ms'), 0)
    .option('--max-jobs <n>', 'exit after this many jobs', int('max-jobs'))
    .option('--name <name>', 'worker name (default host-pid)')
    .action(async (f: { redis: string; queue: string; lockMs: number; delayMs: number; maxJobs?: number; name?: string }) => {
      const { redisConnection } = await import('../../parallel/redis-url.js');
      try {
        redisConnection(f.redis);
      } catch (e) {
        throw new CliError(`--redis: ${(e as Error).message}`);
      }
      if (f.lockMs < 1000) throw new CliError(`--lock-ms expects at least 1000 (a shorter lock expires while a job runs), found ${f.lockMs}`);
      const { runRolloutWorker } = await import('../../parallel/rollout-worker.js');
      const t = await runRolloutWorker({ redis: f.redis, queue: f.queue, lockMs: f.lockMs, delayMs: f.delayMs, maxJobs: f.maxJobs, name: f.name });
      console.log(`rollout-worker: ${t.jobs} jobs, ${t.tokens} tokens, ${t.seconds.toFixed(1)} s generating`);
    });
}
