// One rank of a GRPO run for test/grpo-dp.test.ts, started by the test either directly (single
// process, the reference) or under `mpirun -np N`. argv[2] is a JSON job:
//   { recipe, out, dp, dump, stopAfter?, resume?, parityReward? }
// (parityReward: the caller's own reward function instead of the recipe's rule rewards — 'all':
// |o| mod 2; 'mul-only': the same for multiplication problems and 0 for all others, whose groups then
// have no spread, so dynamic sampling drops them)
// Every rank writes `<dump>.<rank>.json`: each step's metrics record and the groups it sampled
// (attempt, index, the completions' tokens), as the rank sees them after the all-gather.
import { grpo } from '../../src/rl/grpo.js';
import { parseGrpoRecipe } from '../../src/rl/config.js';
import { Mpi } from '../../src/parallel/mpi.js';
import { writeFileAtomic } from '../../src/io/index.js';

interface Job {
  recipe: unknown;
  out: string;
  dp: number;
  dump: string;
  stopAfter?: number;
  resume?: boolean;
  parityReward?: 'all' | 'mul-only';
}

const job = JSON.parse(process.argv[2]) as Job;
let mpi: Mpi | null = null;
if (job.dp > 1) {
  mpi = Mpi.init();
  mpi.onTerminate(`grpo-dp-worker rank ${mpi.rank}: stopped by mpirun because `);
}
const rank = mpi?.rank ?? 0;
const steps: { rec: Record<string, number>; groups: { attempt: number; index: number; tokens: number[][] }[] }[] = [];
try {
  await grpo({
    recipe: parseGrpoRecipe(job.recipe), out: job.out, quiet: true, stopAfter: job.stopAfter, resume: job.resume,
    dp: mpi ? { comm: mpi.world, bucketBytes: 16_000 } : undefined,
    rewardFns: job.parityReward ? [{ name: 'parity', weight: 1, fn: (info) => (job.parityReward === 'mul-only' && info.problem.family !== 'mul' ? 0 : info.length % 2) }] : undefined,
    onStep: (rec, sampled) => steps.push({ rec: { ...rec }, groups: sampled.map((g) => ({ attempt: g.attempt, index: g.index, tokens: g.completions.map((c) => c.tokens) })) }),
  });
  writeFileAtomic(`${job.dump}.${rank}.json`, JSON.stringify({ steps }));
} catch (e) {
  console.error(`grpo-dp-worker rank ${rank}: ${(e as Error).message}`);
  if (mpi) mpi.abort(1);
  process.exit(1);
}
mpi?.finalize();
