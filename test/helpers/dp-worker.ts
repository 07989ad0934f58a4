// One rank of a data-parallel training run for test/parallel-dp.test.ts, started by the test either
// directly (single process, the reference) or under `mpirun -np N`. argv[2] is a JSON job:
//   { recipe, out, dp, ep?, epGroups?, zero1?, bucketBytes?, dump, stopAfter?, resume?, quiet? }
// (world = dp × ep ranks; under expert parallelism each rank dumps the gradients of the parameters it holds)
// Every rank writes `<dump>.<rank>.grads` (the step-1 gradients after the all-reduce, float32 in
// parameter order) and `<dump>.<rank>.json` (parameter names and sizes, each step's loss and grad norm).
import fs from 'node:fs';
import { train } from '../../src/train/trainer.js';
import type { DataParallelConfig } from '../../src/train/trainer.js';
import { parseRunRecipe } from '../../src/train/recipe.js';
import { Mpi } from '../../src/parallel/mpi.js';
import { writeFileAtomic } from '../../src/io/index.js';

interface Job {
  recipe: unknown;
  out: string;
  dp: number;
  ep?: number;
  epGroups?: number;
  zero1?: boolean;
  bucketBytes?: number;
  dump: string;
  stopAfter?: number;
  resume?: boolean;
  /** Print what the run says (default: quiet). */
  quiet?: boolean;
}

const job = JSON.parse(process.argv[2]) as Job;
let dp: DataParallelConfig | undefined;
let mpi: Mpi | null = null;
if (job.dp * (job.ep ?? 1) > 1) {
  mpi = Mpi.init();
  mpi.onTerminate(`dp-worker rank ${mpi.rank}: stopped by mpirun because `);
  dp = { comm: mpi.world, zero1: job.zero1, bucketBytes: job.bucketBytes, ep: job.ep, epGroups: job.epGroups };
}
const rank = mpi?.rank ?? 0;
const names: [string, number][] = [];
const steps: { step: number; loss: number; ce: number; grad_norm: number; counts: number[][]; dp?: unknown; ep?: unknown }[] = [];
try {
  await train({
    recipe: parseRunRecipe(job.recipe), out: job.out, quiet: job.quiet ?? true, dp, stopAfter: job.stopAfter, resume: job.resume,
    onGradients: (step, params) => {
      if (step !== 1) return;
      const total = params.reduce((a, [, p]) => a + p.numel, 0);
      const flat = new Float32Array(total);
      let o = 0;
      for (const [n, p] of params) {
        names.push([n, p.numel]);
        flat.set(p.grad ? p.grad.f32() : new Float32Array(p.numel), o);
        o += p.numel;
      }
      writeFileAtomic(`${job.dump}.${rank}.grads`, new Uint8Array(flat.buffer));
    },
    onStep: (m) => steps.push({ step: m.step, loss: m.loss, ce: m.ce, grad_norm: m.grad_norm, counts: m.expert_load.map((l) => l.counts), dp: m.dp, ep: m.ep }),
  });
  writeFileAtomic(`${job.dump}.${rank}.json`, JSON.stringify({ names, steps }));
} catch (e) {
  console.error(`dp-worker rank ${rank}: ${(e as Error).message}`);
  if (mpi) mpi.abort(1);
  process.exit(1);
}
mpi?.finalize();
