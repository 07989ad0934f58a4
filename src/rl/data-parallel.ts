// GRPO under data parallelism (`mpirun -np N tinyseek grpo ... --dp N`). Every rank holds the whole
// policy (and reference model) and the same prompt generator, so every rank draws the same prompts
// for a step; the work is split by prompt group, a group (all G completions of one prompt) never
// straddling ranks:
//
// - Rollout and reward roles: of the n groups of a draw (indexed 0 … n − 1, the same indices a
//   single process uses), rank r samples and scores groups r, r + N, r + 2N, … (strided, so any n
//   splits, including the uneven redraws of dynamic sampling). Each completion's sampler is seeded by
//   (seed, step, attempt, group index, j) — see ./rollout.ts — never by its place in a batch, so a DP
//   run samples exactly the completions a single process samples. The scored groups are then
//   all-gathered (JSON over MPI_Allgatherv), so every rank holds the step's whole list in group order:
//   dynamic sampling's keep/drop/redraw decisions, the advantages (including 'batch' scaling) and the
//   step's reward and length metrics are then computed exactly as in one process, identically on
//   every rank.
// - Learner role: rank r trains on groups r, r + N, … of the groups the step uses, with the loss
//   weights' denominators (sequences, loss tokens) of the whole step (../rl/loss.ts), so the ranks'
//   losses add up to the single-process loss; gradients are summed by ../parallel/data-parallel.ts's
//   bucketed all-reduce, clipped on the global norm, and every rank takes the same AdamW step.
import type { Communicator } from '../parallel/mpi.js';
import type { Generator } from '../infer/generator.js';
import type { PromptSampler } from './prompts.js';
import { rollout } from './rollout.js';
import type { SamplingSettings } from './rollout.js';
import { score } from './reward.js';
import type { ScoredGroup, Scorer } from './reward.js';
import type { RolloutSource } from './rollout-source.js';

/** Why a recipe's steps cannot be split over `size` data-parallel ranks, or null. */
export function dpSplitProblem(promptsPerStep: number, size: number): string | null {
  return promptsPerStep % size === 0 ? null
    : `promptsPerStep ${promptsPerStep} cannot be split over ${size} data-parallel ranks (every rank samples and trains on whole prompt groups, the same number each); choose a promptsPerStep divisible by ${size}`;
}

/** The items of a list that rank `rank` of `size` takes: positions rank, rank + size, … */
export function rankShare<T>(items: readonly T[], rank: number, size: number): T[] {
  return items.filter((_, i) => i % size === rank);
}

/**
 * Every rank's scored groups, on every rank, ordered by group index (collective). `n`: the number
 * of groups of the draw; every index 0 … n − 1 must arrive exactly once.
 */
export function allGatherGroups(comm: Communicator, mine: readonly ScoredGroup[], n: number): { groups: ScoredGroup[]; bytes: number } {
  const bytes = new TextEncoder().encode(JSON.stringify(mine));
  const counts = comm.allgather(Int32Array.of(bytes.length), new Int32Array(comm.size));
  const displs = new Int32Array(comm.size);
  for (let r = 1; r < comm.size; r++) displs[r] = displs[r - 1] + counts[r - 1];
  const buf = new Uint8Array(displs[comm.size - 1] + counts[comm.size - 1]);
  buf.set(bytes, displs[comm.rank]);
  comm.allgatherv(buf, counts, displs);
  const groups: ScoredGroup[] = new Array(n);
  for (let r = 0; r < comm.size; r++) {
    const part = JSON.parse(new TextDecoder().decode(buf.subarray(displs[r], displs[r] + counts[r]))) as ScoredGroup[];
    for (const g of part) {
      if (g.index < 0 || g.index >= n || groups[g.index]) throw new Error(`GRPO data parallelism: rank ${r} sent group ${g.index}, which is out of range 0…${n - 1} or already sent`);
      groups[g.index] = g;
    }
  }
  for (let i = 0; i < n; i++) if (!groups[i]) throw new Error(`GRPO data parallelism: no rank sampled group ${i} of ${n}`);
  return { groups, bytes: buf.length };
}

/** The rollout source of a data-parallel run: this rank samples and scores its share of every draw; the ranks exchange the results. */
export class DataParallelRollouts implements RolloutSource {
  private tokens = 0;
  private step = { groups: 0, genS: 0, bytes: 0 };

  constructor(
    private readonly comm: Communicator, private readonly gen: Generator, private readonly prompts: PromptSampler,
    private readonly sampling: SamplingSettings, private readonly scorer: Scorer,
  ) {}

  async groups(step: number, attempt: number, n: number): Promise<ScoredGroup[]> {
    if (attempt === 0) this.step = { groups: 0, genS: 0, bytes: 0 };
    const all = this.prompts.next(step, attempt, n); // every rank draws every prompt: the generator stays in step
    const mine = rankShare(all, this.comm.rank, this.comm.size);
    const t0 = performance.now();
    const scored = mine.length ? score(await rollout(this.gen, { version: step, groups: mine }, this.sampling), this.scorer) : [];
    this.step.genS += (performance.now() - t0) / 1000;
    this.step.groups += mine.length;
    const { groups, bytes } = allGatherGroups(this.comm, scored, n);
    this.step.bytes += bytes;
    for (const g of groups) for (const c of g.completions) this.tokens += c.tokens.length;
    return groups;
  }

  /** Tokens generated for the learner by all ranks together. */
  generatedTokens(): number {
    return this.tokens;
  }

  /**
   * The step's split of the rollout work (collective): the fewest and most groups a rank sampled,
   * the slowest and fastest rank's sampling + scoring seconds, and the bytes all-gathered.
   */
  async stepMetrics(): Promise<Record<string, number>> {
    const mx = this.comm.allreduce(Float64Array.of(this.step.groups, this.step.genS, -this.step.groups, -this.step.genS), 'max');
    return {
      'dp/ranks': this.comm.size, 'dp/groups_per_rank_max': mx[0], 'dp/groups_per_rank_min': -mx[2],
      'dp/rollout_s_max': mx[1], 'dp/rollout_s_min': -mx[3], 'dp/gathered_bytes': this.step.bytes,
    };
  }

  async close(): Promise<void> {}
}
