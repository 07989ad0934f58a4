// One rank of a `tinyseek bench parallel` job (started directly for 1 rank, else under mpirun).
// argv[2] is a JSON job { recipe, out, dp, ep, epGroups?, result }. Trains, then (with more than
// one rank) times a blocking MPI_Allreduce of the step's gradient bytes — the all-reduce time with
// nothing to hide it behind — and rank 0 writes { steps, allreduceS } to `result`.
import fs from 'node:fs';
import { train } from '../src/train/trainer.js';
import type { DataParallelConfig, StepMetrics } from '../src/train/trainer.js';
import { parseRunRecipe } from '../src/train/recipe.js';
import { Mpi } from '../src/parallel/mpi.js';
import { median } from './_util.js';

interface Job { recipe: unknown; out: string; dp: number; ep: number; epGroups?: number; result: string }

const job = JSON.parse(process.argv[2]) as Job;
let cfg: DataParallelConfig | undefined;
let mpi: Mpi | null = null;
if (job.dp * job.ep > 1) {
  mpi = Mpi.init();
  mpi.onTerminate(`bench parallel rank ${mpi.rank}: stopped by mpirun because `);
  cfg = { comm: mpi.world, ep: job.ep, epGroups: job.epGroups };
}
const steps: StepMetrics[] = [];
try {
  await train({ recipe: parseRunRecipe(job.recipe), out: job.out, quiet: true, dp: cfg, onStep: (m) => steps.push(m) });
  let allreduceS = 0;
  if (mpi && steps.length && steps[0].dp) {
    // the world-wide buckets (expert replicas' reduce, if any, is a separate, smaller one)
    const buf = new Float32Array(steps[0].dp.bytes / 4);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      mpi.world.barrier();
      const t0 = performance.now();
      mpi.world.allreduce(buf, 'sum');
      times.push((performance.now() - t0) / 1000);
    }
    allreduceS = median(times);
  }
  if (!mpi || mpi.rank === 0) fs.writeFileSync(job.result, JSON.stringify({ steps, allreduceS }));
} catch (e) {
  console.error(`bench parallel rank ${mpi?.rank ?? 0}: ${(e as Error).message}`);
  if (mpi) mpi.abort(1);
  process.exit(1);
}
mpi?.finalize();
