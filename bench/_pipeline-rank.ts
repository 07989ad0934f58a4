// One rank of a `tinyseek bench pipeline` job (under mpirun; directly for the single-process run).
// argv[2] is a JSON job:
//   { mode: 'train', recipe, out, pp, method, chunks, result, traffic?, trace? }
//       pp 0: the single-process trainer; else the pipeline trainer (real compute). Every rank
//       writes `<result>.rank<r>.json`: its step metrics and, per step, its executor result
//       (timeline, waits, total, peaks; the message log when `traffic`).
//   { mode: 'replay', pp, method, chunks, actShape, times, steps, result, traffic? }
//       the executor in replay mode (src/parallel/pipeline.ts): no model, every op a sleep of its
//       duration in `times` (ms), the real MPI messages of [b, T, D] float32 buffers; a barrier
//       before each step so the ranks start together.
import { train } from '../src/train/trainer.js';
import { trainPipeline } from '../src/train/pipeline-trainer.js';
import type { StepMetrics } from '../src/train/trainer.js';
import { parseRunRecipe } from '../src/train/recipe.js';
import { Mpi } from '../src/parallel/mpi.js';
import { PipelineExecutor } from '../src/parallel/pipeline.js';
import type { PipelineStepResult } from '../src/parallel/pipeline.js';
import { buildSchedule, checkSchedule } from '../src/parallel/schedule.js';
import type { PipelineMethod } from '../src/parallel/schedule.js';
import type { OpTimes } from '../src/analysis/bubble.js';
import type { MicroBatch } from '../src/parallel/pipeline-stage.js';
import { writeFileAtomic } from '../src/io/index.js';

/** What every rank writes. */
export interface RankResult {
  rank: number;
  steps: { step: number; tokens_per_s: number; step_time_s: number }[];
  runs: (Omit<PipelineStepResult, 'traffic'> & { step: number; micro: number; traffic?: PipelineStepResult['traffic'] })[];
}

interface Job {
  mode: 'train' | 'replay';
  recipe?: unknown;
  out?: string;
  pp: number;
  method: PipelineMethod;
  chunks: number;
  actShape?: [number, number, number];
  times?: OpTimes;
  steps?: number;
  result: string;
  traffic?: boolean;
  /** train mode: also write the trainer's `--trace` files with this prefix. */
  trace?: string;
}

const job = JSON.parse(process.argv[2]) as Job;
let mpi: Mpi | null = null;
if (job.pp > 0) {
  mpi = Mpi.init();
  mpi.onTerminate(`bench pipeline rank ${mpi.rank}: stopped by mpirun because `);
}
const rank = mpi?.rank ?? 0;
const out: RankResult = { rank, steps: [], runs: [] };
const keep = (step: number, micro: number, res: PipelineStepResult) => {
  const { traffic, ...rest } = res;
  out.runs.push({ ...rest, step, micro, ...(job.traffic ? { traffic } : {}) });
};
try {
  if (job.mode === 'train') {
    const recipe = parseRunRecipe(job.recipe);
    const onStep = (m: StepMetrics) => out.steps.push({ step: m.step, tokens_per_s: m.tokens_per_s, step_time_s: m.step_time_s });
    if (mpi) await trainPipeline({ recipe, out: job.out!, quiet: true, onStep, pp: { comm: mpi.world, pp: job.pp, method: job.method, chunks: job.chunks, onTimeline: keep, trace: job.trace } });
    else await train({ recipe, out: job.out!, quiet: true, onStep });
  } else {
    if (!mpi) throw new Error('replay runs under mpirun (pp ≥ 1)');
    const s = buildSchedule(job.method, job.pp, job.chunks);
    checkSchedule(s);
    const exec = new PipelineExecutor(mpi.world, s, [], job.actShape!);
    exec.replay = job.times!;
    const noBatch = (): MicroBatch => { throw new Error('replay reads no batch'); };
    for (let step = 1; step <= (job.steps ?? 1); step++) {
      mpi.world.barrier();
      keep(step, 0, exec.run(noBatch, { denominators: null as never }));
    }
    mpi.world.barrier();
  }
  writeFileAtomic(`${job.result}.rank${rank}.json`, JSON.stringify(out));
} catch (e) {
  console.error(`bench pipeline rank ${rank}: ${(e as Error).message}`);
  if (mpi) mpi.abort(1);
  process.exit(1);
}
mpi?.finalize();
