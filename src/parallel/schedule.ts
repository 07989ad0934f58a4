// Pipeline-parallel schedules as data: for each rank, the ordered list of compute operations it runs
// in one training step. Four methods:
//
//   1F1B      PipeDream-flush: warm-up forwards, alternating F/B, cool-down backwards.
//   ZB1P      Zero Bubble ZB-H1 (Qi et al. 2023): backward split into B (input gradient) and W
//             (weight gradient); W is postponed to fill the cool-down, peak memory as 1F1B.
//   DualPipe  DeepSeek-V3 §3.2.1: two pipelines fed from both ends; rank r holds stage r of the
//             forward-direction pipeline and stage PP-1-r of the reverse one. The 8 steps below follow
//             `DualPipe.step` in deepseek-ai/DualPipe (dualpipe/dualpipe.py) operation for operation.
//   DualPipeV The "cut-in-half" V shape (dualpipe/dualpipev.py): PP stages on PP/2 ranks, rank r
//             holds stages r and PP-1-r of a single pipeline.
//
// An op names what is computed, never how it is communicated: a runtime (the simulator in
// analysis/bubble.ts, later the MPI trainer) derives the neighbour to receive from / send to with
// `stageOf` + `rankOfStage`: an F of stage s needs stage s-1's F output of the same chunk (nothing at
// s = 0); a B of stage s needs stage s+1's input gradient (at the last stage: its own loss). DeepSeek's
// implementation additionally batches receives one op ahead to keep NCCL's batched p2p matched; that
// placement is a transport detail, not part of the order.
//
// DualPipe step (per rank; H = PP/2, h = min(r, PP-1-r), C = chunks/2 per direction; "0" = the
// pipeline whose inputs enter at this rank's end of the line, "1" = the other one):
//   1 nF0       2(H-h-1) × F0
//   2 nF0F1     (h+1) × (F0, F1)
//   3 nB1W1F1   (H-h-1) × (B1 input-only, W1, F1)
//   4 nF0B1F1B0 (C-PP+h+1) × ((F0&B1), (F1&B0)); the middle ranks run their first F0, B1 unoverlapped
//   5 nB1F1B0   (H-h-1) × (B1, (F1&B0))
//   6 nB1B0     (h+1) × (B1, B0); input-only (W deferred) from the middle iteration on
//   7 nWB0      (H-h-1) × (W, B0 input-only)
//   8 nW        (h+1) × W
// DualPipeV: the same with r, N = PP/2 ranks and `chunks` in place of h, H and C (step 4 runs
// chunks − 2N + r + 1 times; the special first pair is on the last rank).

/** The four schedules. */
export type PipelineMethod = '1f1b' | 'zb1p' | 'dualpipe' | 'dualpipev';

/** All methods, in the order the comparison table lists them. */
export const PIPELINE_METHODS: readonly PipelineMethod[] = ['1f1b', 'zb1p', 'dualpipe', 'dualpipev'];

/** Display names. */
export const METHOD_NAMES: Record<PipelineMethod, string> = {
  '1f1b': '1F1B',
  zb1p: 'ZB1P',
  dualpipe: 'DualPipe',
  dualpipev: 'DualPipeV',
};

/**
 * Which of a rank's stage modules an op runs (the reference's `self.module[phase]` after its
 * `phase ^= is_in_second_half`): 1F1B/ZB1P always 0; DualPipe 0 = the forward-direction pipeline
 * (data enters at rank 0), 1 = the reverse one; DualPipeV 0 = stage r (going down the V),
 * 1 = stage PP-1-r (coming back up).
 */
export type Phase = 0 | 1;

/** Forward of one micro-batch (chunk) through this rank's `phase` stage. */
export interface ForwardOp {
  kind: 'F';
  phase: Phase;
  chunk: number;
}

/**
 * Backward of one chunk. `zb: false` = the full backward (input and weight gradients, duration B);
 * `zb: true` = input gradient only (duration B − W), its weight gradient deferred to a later W op.
 */
export interface BackwardOp {
  kind: 'B';
  phase: Phase;
  chunk: number;
  zb: boolean;
}

/** The deferred weight gradient of an earlier `zb` backward (DualPipe pops them FIFO). */
export interface WeightOp {
  kind: 'W';
  phase: Phase;
  chunk: number;
}

/** A forward chunk and a full backward chunk of the other phase run overlapped (duration F&B). */
export interface OverlappedOp {
  kind: 'FB';
  /** The forward half. */
  phase: Phase;
  chunk: number;
  /** The backward half. */
  bPhase: Phase;
  bChunk: number;
}

/** One compute operation of a rank. */
export type PipeOp = ForwardOp | BackwardOp | WeightOp | OverlappedOp;

/** A stage of a pipeline: `pipeline` 0/1 (DualPipe has two, fed from opposite ends), `stage` 0..PP-1 in data order. */
export interface StageRef {
  pipeline: number;
  stage: number;
}

/** One training step of a pipeline-parallel method, as data. */
export interface PipelineSchedule {
  method: PipelineMethod;
  /** Number of pipeline stages (the model is cut into PP pieces). */
  pp: number;
  /** Number of devices: PP, or PP/2 for DualPipeV. */
  ranks: number;
  /** Micro-batches in the step (DualPipe: both directions together, half each). */
  chunks: number;
  /** Micro-batches per pipeline. */
  chunksPerPipeline: number;
  /** Number of pipelines (2 for DualPipe). */
  pipelines: number;
  /** placement[rank][phase] = the stage that rank runs for that phase. */
  placement: StageRef[][];
  /** ops[rank] in execution order. */
  ops: PipeOp[][];
}

/** A schedule the parameters cannot produce (odd PP, too few chunks, …). */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/** The stage a rank runs for a phase. */
export function stageOf(s: PipelineSchedule, rank: number, phase: Phase): StageRef {
  const ref = s.placement[rank]?.[phase];
  if (!ref) throw new ScheduleError(`${s.method}: rank ${rank} has no phase ${phase}`);
  return ref;
}

/** The rank (and phase) holding a stage of a pipeline. */
export function rankOfStage(s: PipelineSchedule, ref: StageRef): { rank: number; phase: Phase } {
  for (let r = 0; r < s.ranks; r++) {
    const p = s.placement[r].findIndex((x) => x.pipeline === ref.pipeline && x.stage === ref.stage);
    if (p >= 0) return { rank: r, phase: p as Phase };
  }
  throw new ScheduleError(`${s.method}: no rank holds pipeline ${ref.pipeline} stage ${ref.stage}`);
}

/**
 * Where a (rank, phase) exchanges activations: `prev` sends it forward inputs and receives its input
 * gradients, `next` receives its forward outputs and sends it output gradients; null at a pipeline's
 * ends. In DualPipeV the last rank's two phases are each other's neighbours (the turn of the V, local).
 */
export function neighbours(
  s: PipelineSchedule,
  rank: number,
  phase: Phase,
): { prev: { rank: number; phase: Phase } | null; next: { rank: number; phase: Phase } | null } {
  const { pipeline, stage } = stageOf(s, rank, phase);
  return {
    prev: stage === 0 ? null : rankOfStage(s, { pipeline, stage: stage - 1 }),
    next: stage === s.pp - 1 ? null : rankOfStage(s, { pipeline, stage: stage + 1 }),
  };
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new ScheduleError(`${name}: expected a positive integer, found ${v}`);
}

/**
 * Records ops for one rank, numbering chunks per phase in order (as the reference's
 * current_f_chunk_id / current_b_chunk_id do) and pairing W ops with deferred backwards FIFO.
 */
class RankBuilder {
  readonly ops: PipeOp[] = [];
  private f = [0, 0];
  private b = [0, 0];
  private deferred: { phase: Phase; chunk: number }[] = [];

  F(phase: Phase): void {
    this.ops.push({ kind: 'F', phase, chunk: this.f[phase]++ });
  }

  B(phase: Phase, zb = false): void {
    const chunk = this.b[phase]++;
    if (zb) this.deferred.push({ phase, chunk });
    this.ops.push({ kind: 'B', phase, chunk, zb });
  }

  W(): void {
    const w = this.deferred.shift();
    if (!w) throw new ScheduleError('W with no deferred weight gradient (the reference asserts "Pop empty queue")');
    this.ops.push({ kind: 'W', phase: w.phase, chunk: w.chunk });
  }

  FB(fPhase: Phase, bPhase: Phase): void {
    this.ops.push({ kind: 'FB', phase: fPhase, chunk: this.f[fPhase]++, bPhase, bChunk: this.b[bPhase]++ });
  }

  done(): PipeOp[] {
    if (this.deferred.length) throw new ScheduleError('weight gradients left in the queue at the end of the step');
    return this.ops;
  }
}

/** 1F1B: rank r runs min(PP-r-1, m) warm-up forwards, then (F, B) pairs, then the remaining backwards. */
export function schedule1F1B(pp: number, chunks: number): PipelineSchedule {
  positiveInt('pp', pp);
  positiveInt('chunks', chunks);
  const ops: PipeOp[][] = [];
  for (let r = 0; r < pp; r++) {
    const rb = new RankBuilder();
    const warmup = Math.min(pp - r - 1, chunks);
    for (let i = 0; i < warmup; i++) rb.F(0);
    for (let i = 0; i < chunks - warmup; i++) {
      rb.F(0);
      rb.B(0);
    }
    for (let i = 0; i < warmup; i++) rb.B(0);
    ops.push(rb.done());
  }
  return singlePipeline('1f1b', pp, chunks, ops);
}

/**
 * ZB1P (ZB-H1): rank r's x-th slot holds (F_x, B_{x-(PP-1-r)}, W_{x-(PP-1)}), each present when its
 * index lies in [0, m). So rank r starts like 1F1B, then runs its B's input-only and postpones every
 * W by r slots — the W's fill the cool-down bubble; in-flight activations stay ≤ PP as in 1F1B.
 */
export function scheduleZB1P(pp: number, chunks: number): PipelineSchedule {
  positiveInt('pp', pp);
  positiveInt('chunks', chunks);
  const ops: PipeOp[][] = [];
  for (let r = 0; r < pp; r++) {
    const rb = new RankBuilder();
    for (let x = 0; x < chunks + pp - 1; x++) {
      const b = x - (pp - 1 - r);
      const w = x - (pp - 1);
      if (x < chunks) rb.F(0);
      if (b >= 0 && b < chunks) rb.B(0, true);
      if (w >= 0 && w < chunks) rb.W();
    }
    ops.push(rb.done());
  }
  return singlePipeline('zb1p', pp, chunks, ops);
}

function singlePipeline(method: PipelineMethod, pp: number, chunks: number, ops: PipeOp[][]): PipelineSchedule {
  return {
    method,
    pp,
    ranks: pp,
    chunks,
    chunksPerPipeline: chunks,
    pipelines: 1,
    placement: Array.from({ length: pp }, (_, r) => [{ pipeline: 0, stage: r }]),
    ops,
  };
}

/**
 * The 8 steps shared by DualPipe and DualPipeV for one rank. `h`/`H` are the half-rank index and
 * count (DualPipeV: rank and ranks), `C` the chunks per pipeline phase, `n4` the step-4 count, and
 * `local(p)` maps the step's local phase to the module index (DualPipe flips it on the second half).
 */
function dualSteps(h: number, H: number, n4: number, special: boolean, local: (p: Phase) => Phase): PipeOp[] {
  const rb = new RankBuilder();
  const F = (p: Phase): void => rb.F(local(p));
  const B = (p: Phase, zb = false): void => rb.B(local(p), zb);
  const FB = (f: Phase, b: Phase): void => rb.FB(local(f), local(b));
  // Step 1: nF0
  for (let i = 0; i < 2 * (H - h - 1); i++) F(0);
  // Step 2: nF0F1
  for (let i = 0; i < h + 1; i++) {
    F(0);
    F(1);
  }
  // Step 3: nB1W1F1 — zero-bubble split: send the input gradient first, then the weight gradient.
  for (let i = 0; i < H - h - 1; i++) {
    B(1, true);
    rb.W();
    F(1);
  }
  // Step 4 (main): nF0B1F1B0 — overlapped pairs. The middle ranks do not overlap their first pair.
  for (let i = 0; i < n4; i++) {
    if (i === 0 && special) {
      F(0);
      B(1);
    } else {
      FB(0, 1);
    }
    FB(1, 0);
  }
  // Step 5: nB1F1B0
  for (let i = 0; i < H - h - 1; i++) {
    B(1);
    FB(1, 0);
  }
  // Step 6: nB1B0 — the second half of these backwards defer their weight gradients.
  let zb = false;
  const n6 = h + 1;
  for (let i = 0; i < n6; i++) {
    if (i === Math.floor(n6 / 2) && h % 2 === 1) zb = true;
    B(1, zb);
    if (i === Math.floor(n6 / 2) && h % 2 === 0) zb = true;
    B(0, zb);
  }
  // Step 7: nWB0
  for (let i = 0; i < H - h - 1; i++) {
    rb.W();
    B(0, true);
  }
  // Step 8: nW
  for (let i = 0; i < h + 1; i++) rb.W();
  return rb.done();
}

/**
 * DualPipe (dualpipe.py): PP even; chunks even and ≥ 2·PP (half enter at rank 0, half at rank PP-1).
 * Rank r: module 0 = stage r of pipeline 0 (forward direction), module 1 = stage PP-1-r of pipeline 1.
 */
export function scheduleDualPipe(pp: number, chunks: number): PipelineSchedule {
  positiveInt('pp', pp);
  positiveInt('chunks', chunks);
  if (pp % 2 !== 0) throw new ScheduleError(`DualPipe needs an even number of stages; found PP = ${pp}`);
  if (chunks % 2 !== 0 || chunks < 2 * pp) {
    throw new ScheduleError(`DualPipe needs an even number of chunks ≥ 2·PP = ${2 * pp}; found ${chunks}`);
  }
  const H = pp / 2;
  const C = chunks / 2;
  const ops: PipeOp[][] = [];
  const placement: StageRef[][] = [];
  for (let r = 0; r < pp; r++) {
    const second = r >= H;
    const h = Math.min(r, pp - 1 - r);
    const local = (p: Phase): Phase => ((p ^ (second ? 1 : 0)) as Phase);
    ops.push(dualSteps(h, H, C - pp + h + 1, h === H - 1, local));
    placement.push([
      { pipeline: 0, stage: r },
      { pipeline: 1, stage: pp - 1 - r },
    ]);
  }
  return { method: 'dualpipe', pp, ranks: pp, chunks, chunksPerPipeline: C, pipelines: 2, placement, ops };
}

/**
 * DualPipeV (dualpipev.py): PP even stages on N = PP/2 ranks; chunks ≥ 2·N = PP. Rank r: module 0 =
 * stage r, module 1 = stage PP-1-r; the last rank turns stage N-1's output into stage N's input locally.
 */
export function scheduleDualPipeV(pp: number, chunks: number): PipelineSchedule {
  positiveInt('pp', pp);
  positiveInt('chunks', chunks);
  if (pp % 2 !== 0) throw new ScheduleError(`DualPipeV needs an even number of stages; found PP = ${pp}`);
  const N = pp / 2;
  if (chunks < 2 * N) throw new ScheduleError(`DualPipeV needs chunks ≥ 2·(PP/2) = ${2 * N}; found ${chunks}`);
  const ops: PipeOp[][] = [];
  const placement: StageRef[][] = [];
  for (let r = 0; r < N; r++) {
    ops.push(dualSteps(r, N, chunks - 2 * N + r + 1, r === N - 1, (p) => p));
    placement.push([
      { pipeline: 0, stage: r },
      { pipeline: 0, stage: pp - 1 - r },
    ]);
  }
  return { method: 'dualpipev', pp, ranks: N, chunks, chunksPerPipeline: chunks, pipelines: 1, placement, ops };
}

/** The schedule of a method. */
export function buildSchedule(method: PipelineMethod, pp: number, chunks: number): PipelineSchedule {
  switch (method) {
    case '1f1b':
      return schedule1F1B(pp, chunks);
    case 'zb1p':
      return scheduleZB1P(pp, chunks);
    case 'dualpipe':
      return scheduleDualPipe(pp, chunks);
    case 'dualpipev':
      return scheduleDualPipeV(pp, chunks);
  }
}

/**
 * Checks a schedule's bookkeeping: every (rank, phase) runs each of its pipeline's chunks exactly once
 * forward and once backward, in chunk order, F before B; every input-only B gets exactly one later W.
 * Throws a ScheduleError describing the first violation.
 */
export function checkSchedule(s: PipelineSchedule): void {
  for (let r = 0; r < s.ranks; r++) {
    const phases = s.placement[r].length;
    const nextF = new Array<number>(phases).fill(0);
    const nextB = new Array<number>(phases).fill(0);
    const pendingW = new Set<string>();
    const where = (i: number): string => `${s.method} rank ${r} op ${i}`;
    const f = (i: number, p: Phase, c: number): void => {
      if (c !== nextF[p]) throw new ScheduleError(`${where(i)}: forward of chunk ${c}, expected chunk ${nextF[p]} (phase ${p})`);
      nextF[p]++;
    };
    const b = (i: number, p: Phase, c: number, zb: boolean): void => {
      if (c !== nextB[p]) throw new ScheduleError(`${where(i)}: backward of chunk ${c}, expected chunk ${nextB[p]} (phase ${p})`);
      if (c >= nextF[p]) throw new ScheduleError(`${where(i)}: backward of chunk ${c} before its forward (phase ${p})`);
      nextB[p]++;
      if (zb) pendingW.add(`${p}:${c}`);
    };
    s.ops[r].forEach((op, i) => {
      if (op.kind === 'F') f(i, op.phase, op.chunk);
      else if (op.kind === 'B') b(i, op.phase, op.chunk, op.zb);
      else if (op.kind === 'FB') {
        f(i, op.phase, op.chunk);
        b(i, op.bPhase, op.bChunk, false);
      } else if (!pendingW.delete(`${op.phase}:${op.chunk}`)) {
        throw new ScheduleError(`${where(i)}: W of phase ${op.phase} chunk ${op.chunk} without a deferred backward`);
      }
    });
    for (let p = 0; p < phases; p++) {
      if (nextF[p] !== s.chunksPerPipeline || nextB[p] !== s.chunksPerPipeline) {
        throw new ScheduleError(
          `${s.method} rank ${r} phase ${p}: ${nextF[p]} forwards and ${nextB[p]} backwards, expected ${s.chunksPerPipeline} of each`,
        );
      }
    }
    if (pendingW.size) throw new ScheduleError(`${s.method} rank ${r}: ${pendingW.size} weight gradients never computed`);
  }
}
