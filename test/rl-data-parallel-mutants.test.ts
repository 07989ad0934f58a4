// GRPO data parallelism (src/rl/data-parallel.ts) in this process (found by mutation testing,
// docs/mutation.md): the divisibility check's message, which groups a rank takes, the all-gather of
// the scored groups (counts, displacements, order by group index, the byte count, the errors for an
// index out of range, sent twice or by no rank), and DataParallelRollouts on a nano model: each rank
// samples exactly its share with the single process's seeds, gets the whole draw back, counts every
// rank's tokens and reports the step's split of the work.
//
// The real MPI path is covered by test/grpo-dp.test.ts under mpirun (child processes). Here a fake
// binding stands in for the other ranks: `new Communicator(fake, 0)` is "rank r of N", and the fake's
// allgather / allgatherv / allreduce fill in the OTHER ranks' parts from data the test supplies,
// written at the counts and displacements the code passes (a wrong displacement or count garbles the
// gathered JSON or overruns the buffer), so the gathering logic can be checked in-process.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Communicator } from '../src/parallel/mpi.js';
import type { MpiBuffer, NumericBuffer } from '../src/parallel/mpi.js';
import { dpSplitProblem, rankShare, allGatherGroups, DataParallelRollouts } from '../src/rl/data-parallel.js';
import { InProcessRollouts } from '../src/rl/rollout-source.js';
import { PromptSampler } from '../src/rl/prompts.js';
import { parseGrpoRecipe } from '../src/rl/config.js';
import { rewardSpec, ruleScorer } from '../src/rl/reward.js';
import type { ScoredGroup, Scorer } from '../src/rl/reward.js';
import type { SamplingSettings } from '../src/rl/rollout.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { Generator } from '../src/infer/generator.js';
import type { Problem } from '../src/tasks/index.js';

const utf8 = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** "Rank `rank` of `size`": the other ranks' contributions to the next collectives come from `parts` and `stats`. */
class FakeRanks {
  /** The scored groups (any JSON) each other rank contributes to the next gather; this rank's entry is unused. */
  parts: unknown[][] = [];
  /** The vector each other rank contributes to the next all-reduce; this rank's entry is unused. */
  stats: number[][] = [];
  /** The collectives called, in order. */
  readonly log: string[] = [];
  /** What this rank passed to each all-reduce (copied before reducing). */
  readonly reduced: number[][] = [];
  constructor(readonly rank: number, readonly size: number) {}

  comm(): Communicator {
    const self = this;
    const handle = (c: number) => assert.equal(c, 0, 'the communicator handle');
    const binding = {
      commRank(c: number) { handle(c); return self.rank; },
      commSize(c: number) { handle(c); return self.size; },
      /** recv[q·n, (q+1)·n) = rank q's send: this rank's from `s`, the others' byte counts from `parts`. */
      allgather(s: MpiBuffer, r: MpiBuffer, c: number) {
        handle(c);
        self.log.push('allgather');
        assert.ok(s instanceof Int32Array && r instanceof Int32Array, 'allgather of Int32Array counts');
        assert.equal(s.length, 1);
        assert.equal(r.length, self.size, 'one count per rank');
        for (let q = 0; q < self.size; q++) r[q] = q === self.rank ? s[0]! : self.bytes(q).length;
      },
      /** In place: rank q's block buf[displs[q], displs[q] + counts[q]) is written from rank q (this rank's block stays). */
      allgatherv(b: MpiBuffer, counts: Int32Array, displs: Int32Array, c: number) {
        handle(c);
        self.log.push('allgatherv');
        assert.ok(b instanceof Uint8Array, 'allgatherv of bytes');
        assert.equal(counts.length, self.size);
        assert.equal(displs.length, self.size);
        for (let q = 0; q < self.size; q++) {
          if (q === self.rank) continue;
          const bytes = self.bytes(q);
          assert.equal(counts[q], bytes.length, `count of rank ${q}'s block`);
          assert.ok(displs[q]! >= 0 && displs[q]! + bytes.length <= b.length, `rank ${q}'s block ${displs[q]} + ${bytes.length} lies in the buffer of ${b.length}`);
          b.set(bytes, displs[q]);
        }
      },
      /** In place: element-wise sum (0), max (1) or min (2) of this rank's vector and the others' `stats`. */
      allreduce(b: NumericBuffer, op: number, c: number) {
        handle(c);
        self.log.push('allreduce');
        self.reduced.push([...b]);
        for (let q = 0; q < self.size; q++) {
          if (q === self.rank) continue;
          const o = self.stats[q]!;
          assert.equal(o.length, b.length);
          for (let i = 0; i < b.length; i++) b[i] = op === 0 ? b[i]! + o[i]! : op === 1 ? Math.max(b[i]!, o[i]!) : op === 2 ? Math.min(b[i]!, o[i]!) : NaN;
        }
      },
    };
    return new Communicator(binding as never, 0);
  }

  private bytes(q: number): Uint8Array {
    const p = this.parts[q];
    assert.ok(p, `the test supplies rank ${q}'s part`);
    return utf8(p);
  }
}

/** A stand-in scored group: only `index` matters to the gather (and a non-ASCII tag, so bytes ≠ characters). */
const fakeGroup = (index: number, from: number) => ({ index, from, note: `grupo ${index} → rank ${from} ✓` });

test('dpSplitProblem: null when promptsPerStep divides over the ranks, else the exact message', () => {
  assert.equal(dpSplitProblem(4, 4), null);
  assert.equal(dpSplitProblem(8, 4), null);
  assert.equal(dpSplitProblem(3, 1), null);
  assert.equal(dpSplitProblem(6, 2), null);
  const msg = (p: number, n: number) => `promptsPerStep ${p} cannot be split over ${n} data-parallel ranks (every rank samples and trains on whole prompt groups, the same number each); choose a promptsPerStep divisible by ${n}`;
  assert.equal(dpSplitProblem(6, 4), msg(6, 4));
  assert.equal(dpSplitProblem(1, 2), msg(1, 2));
  assert.equal(dpSplitProblem(5, 4), msg(5, 4));
  assert.equal(dpSplitProblem(2, 4), msg(2, 4));
  assert.equal(dpSplitProblem(7, 3), 'promptsPerStep 7 cannot be split over 3 data-parallel ranks (every rank samples and trains on whole prompt groups, the same number each); choose a promptsPerStep divisible by 3');
});

test('rankShare: rank r of N takes positions r, r + N, r + 2N, …; nothing for a rank beyond the list', () => {
  const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  assert.deepEqual(rankShare(items, 0, 1), items);
  assert.deepEqual(rankShare(items, 0, 2), ['a', 'c', 'e', 'g']);
  assert.deepEqual(rankShare(items, 1, 2), ['b', 'd', 'f']);
  assert.deepEqual(rankShare(items, 0, 3), ['a', 'd', 'g']);
  assert.deepEqual(rankShare(items, 1, 3), ['b', 'e']);
  assert.deepEqual(rankShare(items, 2, 3), ['c', 'f']);
  assert.deepEqual(rankShare(items, 6, 7), ['g']);
  assert.deepEqual(rankShare(items, 4, 8), ['e']);
  assert.deepEqual(rankShare(items, 7, 8), []);
  assert.deepEqual(rankShare(['x', 'y'], 2, 4), []);
  assert.deepEqual(rankShare(['x', 'y'], 3, 4), []);
  assert.deepEqual(rankShare([], 0, 2), []);
  // every position goes to exactly one rank
  for (const size of [1, 2, 3, 4, 5]) {
    const all = Array.from({ length: size }, (_, r) => rankShare(items, r, size)).flat().sort();
    assert.deepEqual(all, items, `size ${size}`);
  }
  assert.deepEqual(rankShare(items, 0, 3), [items[0], items[3], items[6]]);
});

test('allGatherGroups as each rank of 3 with uneven shares: every group, ordered by index; bytes = all ranks\' JSON', () => {
  for (const n of [5, 7]) {
    const shares = [0, 1, 2].map((q) => rankShare(Array.from({ length: n }, (_, i) => i), q, 3).map((i) => fakeGroup(i, q)));
    const union = shares.flat().sort((a, b) => a.index - b.index);
    const total = shares.reduce((s, p) => s + utf8(p).length, 0);
    for (const rank of [0, 1, 2]) {
      const f = new FakeRanks(rank, 3);
      f.parts = shares;
      const { groups, bytes } = allGatherGroups(f.comm(), shares[rank] as unknown as ScoredGroup[], n);
      assert.equal(groups.length, n);
      assert.deepEqual(groups, union, `n ${n}, rank ${rank}`);
      assert.deepEqual(groups.map((g) => g.index), Array.from({ length: n }, (_, i) => i));
      assert.equal(bytes, total, `n ${n}, rank ${rank}: bytes`);
      assert.deepEqual(f.log, ['allgather', 'allgatherv']);
    }
  }
  // the parts need not be strided, nor each rank's in order: only the indices matter
  const f = new FakeRanks(1, 3);
  f.parts = [[fakeGroup(3, 0), fakeGroup(0, 0)], [], [fakeGroup(2, 2), fakeGroup(1, 2)]];
  const { groups, bytes } = allGatherGroups(f.comm(), [], 4);
  assert.deepEqual(groups.map((g) => [g.index, (g as unknown as { from: number }).from]), [[0, 0], [1, 2], [2, 2], [3, 0]]);
  assert.equal(bytes, utf8(f.parts[0]).length + 2 + utf8(f.parts[2]).length);
  // this rank's share is the only one: ranks 0 and 2 send empty lists
  const g = new FakeRanks(2, 3);
  g.parts = [[], [], []];
  const mine = [fakeGroup(0, 2), fakeGroup(1, 2)];
  const got = allGatherGroups(g.comm(), mine as unknown as ScoredGroup[], 2);
  assert.deepEqual(got.groups, mine);
  assert.equal(got.bytes, 2 + 2 + utf8(mine).length);
});

test('allGatherGroups: the exact errors for an index out of range, sent twice, or sent by no rank', () => {
  const gather = (rank: number, parts: unknown[][], n: number) => {
    const f = new FakeRanks(rank, 3);
    f.parts = parts;
    return () => allGatherGroups(f.comm(), parts[rank] as unknown as ScoredGroup[], n);
  };
  const g = fakeGroup;
  const err = (m: string) => (e: unknown) => { assert.ok(e instanceof Error); assert.equal(e.message, m); return true; };
  // negative, from rank 2 (this rank 0)
  assert.throws(gather(0, [[g(0, 0), g(3, 0)], [g(1, 1), g(4, 1)], [g(2, 2), g(-1, 2)]], 5),
    err('GRPO data parallelism: rank 2 sent group -1, which is out of range 0…4 or already sent'));
  // index n, from rank 1 (this rank 2)
  assert.throws(gather(2, [[g(0, 0), g(3, 0)], [g(1, 1), g(5, 1)], [g(2, 2), g(4, 2)]], 5),
    err('GRPO data parallelism: rank 1 sent group 5, which is out of range 0…4 or already sent'));
  // index n from this rank (rank 1) itself, n = 7
  assert.throws(gather(1, [[g(0, 0), g(3, 0), g(6, 0)], [g(1, 1), g(7, 1)], [g(2, 2), g(5, 2), g(4, 2)]], 7),
    err('GRPO data parallelism: rank 1 sent group 7, which is out of range 0…6 or already sent'));
  // n − 1 and 0 are in range
  assert.doesNotThrow(gather(1, [[g(0, 0)], [g(1, 1)], [g(2, 2)]], 3));
  // a duplicate: the later rank is named
  assert.throws(gather(1, [[g(0, 0), g(3, 0)], [g(1, 1), g(4, 1)], [g(2, 2), g(3, 2)]], 5),
    err('GRPO data parallelism: rank 2 sent group 3, which is out of range 0…4 or already sent'));
  // a duplicate of index 0 within one rank's part
  assert.throws(gather(0, [[g(0, 0), g(0, 0)], [g(1, 1)], [g(2, 2)]], 3),
    err('GRPO data parallelism: rank 0 sent group 0, which is out of range 0…2 or already sent'));
  // missing: the first missing index is named
  assert.throws(gather(1, [[g(0, 0), g(3, 0)], [g(1, 1)], [g(2, 2)]], 5),
    err('GRPO data parallelism: no rank sampled group 4 of 5'));
  assert.throws(gather(2, [[g(0, 0), g(3, 0), g(6, 0)], [g(1, 1)], [g(2, 2), g(5, 2)]], 7),
    err('GRPO data parallelism: no rank sampled group 4 of 7'));
  assert.throws(gather(0, [[g(3, 0)], [g(1, 1)], [g(2, 2)]], 4),
    err('GRPO data parallelism: no rank sampled group 0 of 4'));
  assert.throws(gather(0, [[], [], []], 1),
    err('GRPO data parallelism: no rank sampled group 0 of 1'));
});

/**
 * A nano policy's rollout setting: prompts from a seeded sampler, the rule scorer with DAPO's soft
 * overlong penalty (so rewards vary with length). The generators decode one sequence at a time
 * (maxBatch 1), so a completion's arithmetic does not depend on which others share its batch and a
 * rank's share has the single process's log-probs to the bit (batched, they differ by rounding).
 */
function setting() {
  const model = new DeepseekV3({ ...getPreset('nano'), vocabSize: 24, numNextnPredictLayers: 0 }, 3);
  const r = parseGrpoRecipe({
    name: 'dp', seed: 6, init: '/nonexistent', tasks: { families: ['add', 'sort'], difficulties: [1, 2] }, steps: 1,
    numGenerations: 2, maxCompletionLength: 5, overlong: 'soft', overlongCache: 3,
  });
  const encode = (p: Problem) => [...p.prompt.slice(0, 7)].map((ch) => (ch.charCodeAt(0) % 22) + 1);
  const s: SamplingSettings = { seed: r.seed, numGenerations: 2, maxCompletionLength: 5, temperature: 1, topP: 1, stopTokenIds: [0, 7] };
  /** Decoding advances a virtual clock by 250 ms, so a rank's sampling + scoring time is 0.25 s per completion it scored. */
  const clock = { ms: 0 };
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const decode = (ids: number[]) => { clock.ms += 250; return ids.map((i) => letters[i]).join(''); };
  const scorer: Scorer = ruleScorer(rewardSpec(r), decode, 0);
  return {
    clock, s, scorer,
    gen: () => new Generator(model, { maxBatch: 1, maxLen: 64 }),
    prompts: () => new PromptSampler(r, encode),
  };
}

/** The draws of the run: (step, attempt, n); attempt 1 of step 2 redraws 3 (uneven), the last asks for one group only. */
const DRAWS: [number, number, number][] = [[2, 0, 5], [2, 1, 3], [3, 0, 4], [3, 1, 1]];

test('DataParallelRollouts as rank 0 and 1 of 2 and rank 2 of 3: exactly the single process\'s groups, every rank\'s tokens, the step\'s split of the work', async () => {
  const set = setting();
  // the single-process reference
  const ref = new InProcessRollouts(set.gen(), set.prompts(), set.s, set.scorer);
  const want: ScoredGroup[][] = [];
  for (const [step, attempt, n] of DRAWS) want.push(await ref.groups(step, attempt, n));
  const tokensOf = (gs: ScoredGroup[]) => gs.reduce((t, g) => t + g.completions.reduce((u, c) => u + c.tokens.length, 0), 0);
  assert.deepEqual(want.map((w) => w.map((g) => g.index)), [[0, 1, 2, 3, 4], [0, 1, 2], [0, 1, 2, 3], [0]]);
  const rewards = new Set(want.flat().flatMap((g) => g.rewards));
  assert.ok(rewards.size >= 2, `the rewards vary (${[...rewards]})`);
  assert.ok(want.flat().every((g) => g.completions.every((c) => c.tokens.length > 0)));
  assert.equal(ref.generatedTokens(), want.reduce((t, w) => t + tokensOf(w), 0));

  for (const [rank, size] of [[0, 2], [1, 2], [2, 3]] as const) {
    const f = new FakeRanks(rank, size);
    const gen = set.gen();
    const dp = new DataParallelRollouts(f.comm(), gen, set.prompts(), set.s, set.scorer);
    assert.equal(dp.generatedTokens(), 0);
    const now = mock.method(performance, 'now', () => set.clock.ms);
    try {
      let tokens = 0, stepGroups = 0, stepS = 0, stepBytes = 0, ownTokens = 0;
      for (const [k, [step, attempt, n]] of DRAWS.entries()) {
        const what = `rank ${rank} of ${size}, step ${step} attempt ${attempt}`;
        f.parts = Array.from({ length: size }, (_, q) => rankShare(want[k]!, q, size));
        const mine = rankShare(want[k]!, rank, size);
        const genBefore = gen.stats.generatedTokens;
        const got = await dp.groups(step, attempt, n);
        // same completions (tokens, log-probs, finish), rewards, per-function values, keys: the single process's draw
        assert.deepEqual(got, want[k], what);
        // this rank sampled its share only (an empty share samples nothing and still gathers)
        ownTokens += tokensOf(mine);
        assert.equal(gen.stats.generatedTokens - genBefore, tokensOf(mine), `${what}: tokens sampled here`);
        assert.equal(gen.stats.generatedTokens, ownTokens);
        tokens += tokensOf(want[k]!);
        assert.equal(dp.generatedTokens(), tokens, `${what}: all ranks' tokens, accumulated`);
        // the step's split: reset on attempt 0, accumulated over the step's later attempts
        if (attempt === 0) stepGroups = stepS = stepBytes = 0;
        stepGroups += mine.length;
        stepS += mine.length * set.s.numGenerations * 0.25;
        stepBytes += f.parts.reduce((b, p) => b + utf8(p).length, 0);
        // the others' split: one fewer or one more group than this rank, 4 s or 0.5 s
        const other = [stepGroups + (rank === 0 ? -1 : 1), k % 2 ? 0.5 : 4];
        f.stats = Array.from({ length: size }, () => [other[0]!, other[1]!, -other[0]!, -other[1]!]);
        const reduced = f.reduced.length;
        const m = await dp.stepMetrics();
        assert.equal(f.reduced.length, reduced + 1);
        assert.deepEqual(f.reduced.at(-1), [stepGroups, stepS, -stepGroups, -stepS], `${what}: this rank's [groups, seconds, −groups, −seconds]`);
        assert.deepEqual(m, {
          'dp/ranks': size,
          'dp/groups_per_rank_max': Math.max(stepGroups, other[0]!), 'dp/groups_per_rank_min': Math.min(stepGroups, other[0]!),
          'dp/rollout_s_max': Math.max(stepS, other[1]!), 'dp/rollout_s_min': Math.min(stepS, other[1]!),
          'dp/gathered_bytes': stepBytes,
        }, what);
      }
      assert.deepEqual(f.log, DRAWS.flatMap(() => ['allgather', 'allgatherv', 'allreduce']));
    } finally {
      now.mock.restore();
    }
    await dp.close();
  }
});

test('DataParallelRollouts: the hand-checked split of a step (rank 0 of 2, n = 5 then a redraw of 3)', async () => {
  const set = setting();
  const ref = new InProcessRollouts(set.gen(), set.prompts(), set.s, set.scorer);
  const a = await ref.groups(1, 0, 5), b = await ref.groups(1, 1, 3);
  const f = new FakeRanks(0, 2);
  const dp = new DataParallelRollouts(f.comm(), set.gen(), set.prompts(), set.s, set.scorer);
  const now = mock.method(performance, 'now', () => set.clock.ms);
  try {
    f.parts = [[], [a[1], a[3]]];
    assert.deepEqual(await dp.groups(1, 0, 5), a);
    // rank 0 sampled groups 0, 2, 4 (6 completions: 1.5 s); rank 1 reports 2 groups in 3 s
    f.stats = [[], [2, 3, -2, -3]];
    let m = await dp.stepMetrics();
    assert.equal(m['dp/ranks'], 2);
    assert.equal(m['dp/groups_per_rank_max'], 3);
    assert.equal(m['dp/groups_per_rank_min'], 2);
    assert.equal(m['dp/rollout_s_max'], 3);
    assert.equal(m['dp/rollout_s_min'], 1.5);
    assert.equal(m['dp/gathered_bytes'], utf8([a[0], a[2], a[4]]).length + utf8([a[1], a[3]]).length);
    f.parts = [[], [b[1]]];
    assert.deepEqual(await dp.groups(1, 1, 3), b);
    // the redraw adds groups 0 and 2 (4 completions: 1 s): 5 groups in 2.5 s over the step; rank 1: 3 in 4.5 s
    f.stats = [[], [3, 4.5, -3, -4.5]];
    m = await dp.stepMetrics();
    assert.deepEqual([m['dp/groups_per_rank_max'], m['dp/groups_per_rank_min'], m['dp/rollout_s_max'], m['dp/rollout_s_min']], [5, 3, 4.5, 2.5]);
    assert.equal(m['dp/gathered_bytes'], utf8([a[0], a[2], a[4]]).length + utf8([a[1], a[3]]).length + utf8([b[0], b[2]]).length + utf8([b[1]]).length);
  } finally {
    now.mock.restore();
  }
});
