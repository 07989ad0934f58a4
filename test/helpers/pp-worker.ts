// One rank of a pipeline-parallel training run for test/parallel-pp.test.ts, started by the test
// under `mpirun -np N`, or directly (pp 1) for the single-process reference (the plain trainer).
// argv[2] is a JSON job: { recipe, out, pp, dp?, ep?, method, chunks?, dump, stopAfter?, resume?, trace? }
// (dp: replicas of the pipeline, for test/parallel-ppdp.test.ts; ep: expert-parallel ranks per stage,
// for test/parallel-ppep.test.ts).
// Every rank writes `<dump>.<rank>.grads` (its tensors' step-1 gradients after the sum over their
// holders, before clipping; float32 in the order of `names`) and `<dump>.<rank>.json` (names and
// sizes, each step's loss, grad norm and expert counts).
import fs from 'node:fs';
import { train } from '../../src/train/trainer.js';
import { trainPipeline } from '../../src/train/pipeline-trainer.js';
import type { StepMetrics } from '../../src/train/trainer.js';
import type { PipelineMethod } from '../../src/parallel/schedule.js';
import { parseRunRecipe } from '../../src/train/recipe.js';
import { Mpi } from '../../src/parallel/mpi.js';
import { writeFileAtomic } from '../../src/io/index.js';
import type { Tensor } from '../../src/tensor/index.js';

interface Job {
  recipe: unknown;
  out: string;
  pp: number;
  dp?: number;
  ep?: number;
  method: PipelineMethod;
  chunks?: number;
  dump: string;
  stopAfter?: number;
  resume?: boolean;
  trace?: string;
}

const job = JSON.parse(process.argv[2]) as Job;
let mpi: Mpi | null = null;
if (job.pp > 1) {
  mpi = Mpi.init();
  mpi.onTerminate(`pp-worker rank ${mpi.rank}: stopped by mpirun because `);
}
const rank = mpi?.rank ?? 0;
const names: [string, number][] = [];
const steps: { step: number; loss: number; ce: number; mtp: number; balance: number; grad_norm: number; counts: number[][]; pp?: unknown }[] = [];
const onGradients = (step: number, params: [string, Tensor][]) => {
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
};
const onStep = (m: StepMetrics) => steps.push({ step: m.step, loss: m.loss, ce: m.ce, mtp: m.mtp_loss, balance: m.balance_loss, grad_norm: m.grad_norm, counts: m.expert_load.map((l) => l.counts), pp: (m as { pp?: unknown }).pp });
try {
  const recipe = parseRunRecipe(job.recipe);
  if (mpi) await trainPipeline({ recipe, out: job.out, quiet: true, stopAfter: job.stopAfter, resume: job.resume, onGradients, onStep, pp: { comm: mpi.world, pp: job.pp, dp: job.dp, ep: job.ep, method: job.method, chunks: job.chunks, trace: job.trace } });
  else await train({ recipe, out: job.out, quiet: true, stopAfter: job.stopAfter, resume: job.resume, onGradients, onStep });
  writeFileAtomic(`${job.dump}.${rank}.json`, JSON.stringify({ names, steps }));
} catch (e) {
  console.error(`pp-worker rank ${rank}: ${(e as Error).message}`);
  if (mpi) mpi.abort(1);
  process.exit(1);
}
mpi?.finalize();
void fs;
