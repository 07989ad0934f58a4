// The pipeline executor: walks `ops[rank]` of a schedule (src/parallel/schedule.ts) over MPI.
//
//   F  (phase, chunk)  input = the previous stage's activations (received) or the micro-batch's
//                      tokens; forward; output sent to the next stage.
//   B  (phase, chunk)  seed = the next stage's input gradient (received) on the output, plus the
//                      stage's own loss terms; backward (full, or input-only when `zb` with the weight
//                      gradients deferred); the input gradient sent to the previous stage.
//   W  (phase, chunk)  the deferred weight gradients of an input-only B.
//   FB                 an F and a B of the other phase. On a CPU rank they run one after the other
//                      (as the reference's default `overlapped_forward_backward` does); what overlaps
//                      is communication, which is in flight while either computes.
//
// Communication: every receive is an MPI_Irecv posted `lookahead` ops before the op that needs it
// (DeepSeek's DualPipe posts one op ahead), every send an MPI_Isend posted as soon as its data
// exists; a rank blocks only in the Wait of a receive whose data the schedule has not yet produced.
// Activations and gradients cross between neighbouring stages as float32 [b, T, D] messages tagged by
// (kind, pipeline, stage boundary, chunk); a boundary inside one rank (DualPipeV's turn at the last
// rank) is handed over in memory. The sends are completed at the end of the step.
//
// Replay (`replay` set, for `tinyseek bench pipeline` where ranks outnumber cores): every op's compute
// is replaced by a sleep of its duration (F, B, B − W for an input-only B, W, F&B: analysis/bubble.ts's
// opDuration) while the communication stays the real one — the same receives posted as far ahead, the
// same sends of [b, T, D] float32 buffers to the same ranks with the same tags, in the same op order —
// so the schedule, not the core count, decides the timeline. No stage module is needed.
import { Tensor, capture, backwardFrom, backwardInputs } from '../tensor/index.js';
import type { DeferredWeightGrad } from '../tensor/index.js';
import type { Communicator, Request } from './mpi.js';
import { waitAll } from './mpi.js';
import type { PipelineSchedule, PipeOp, Phase } from './schedule.js';
import { stageOf, neighbours } from './schedule.js';
import type { MicroBatch, PipelineStage, StageForward, StageLossOptions } from './pipeline-stage.js';
import { opDuration } from '../analysis/bubble.js';
import type { OpTimes } from '../analysis/bubble.js';

/** One entry of a rank's timeline (milliseconds since the step started). */
export interface TimelineEvent {
  /** 'F', 'B', 'W', 'FB' or 'wait' (blocked in a receive). */
  name: string;
  phase: number;
  chunk: number;
  /** An FB's backward half. */
  bPhase?: number;
  bChunk?: number;
  start: number;
  end: number;
}

/** The sums of a step's loss terms computed on this rank (the step's values are their sums over ranks). */
export interface PipelineStepResult {
  loss: number;
  ce: number;
  mtp: number;
  balance: number;
  tokens: number;
  /** Time blocked in receives, ms. */
  waitMs: number;
  /** Wall time of the step on this rank, ms. */
  totalMs: number;
  /** When the step started (ms since the epoch: performance.timeOrigin + now, a clock the ranks share), the origin of the timeline's times. */
  startedAt: number;
  timeline: TimelineEvent[];
  /** Most micro-batches whose activations this rank held at once (forward done, backward not finished). */
  peakInFlight: number;
  /** Most bytes of forward tensors (distinct storages) kept alive at once for later backwards (0 in replay). */
  peakActivationBytes: number;
  /** Every message this rank posted, in posting order: receives when posted, sends when started. */
  traffic: TrafficEntry[];
}

/** One message of a step: direction, the other rank, the MPI tag and its length in float32s. */
export interface TrafficEntry {
  dir: 'send' | 'recv';
  peer: number;
  tag: number;
  floats: number;
}

/** Blocks the thread for `ms` milliseconds without using the CPU. */
function sleep(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

interface ChunkState {
  input: Tensor | null;
  /** Bytes of the forward's distinct storages (what this chunk holds until its backward finishes). */
  bytes: number;
  fwd: StageForward;
  tensors: Set<Tensor>;
  deferred: DeferredWeightGrad | null;
  sent: Request | null;
}

interface Recv {
  buf: Float32Array;
  req: Request;
}

/** Runs one rank's part of a pipeline schedule. */
export class PipelineExecutor {
  readonly rank: number;
  /** How many ops ahead receives are posted. */
  lookahead = 2;
  /** Replay mode (see the top of the file): op durations in ms; null = real compute. */
  replay: OpTimes | null = null;

  /**
   * `stages[phase]` = this rank's stage module for that phase (DualPipe/DualPipeV: two). `actShape`
   * = [b, T, D] of the messages between stages.
   */
  constructor(readonly comm: Communicator, readonly schedule: PipelineSchedule, readonly stages: PipelineStage[], readonly actShape: [number, number, number]) {
    this.rank = comm.rank;
    if (comm.size !== schedule.ranks) throw new Error(`the ${schedule.method} schedule needs ${schedule.ranks} ranks, the communicator has ${comm.size}`);
    const tags = 2 * schedule.pipelines * schedule.pp * schedule.chunksPerPipeline;
    if (tags > 32767) throw new Error(`${tags} message tags exceed MPI's guaranteed tag range (32767): use fewer chunks or stages`);
  }

  private tag(kind: 0 | 1, pipeline: number, boundary: number, chunk: number): number {
    const s = this.schedule;
    return ((pipeline * s.pp + boundary) * s.chunksPerPipeline + chunk) * 2 + kind;
  }

  /**
   * One step: every op of this rank in order. `batch(pipeline, chunk)` gives a micro-batch (only the
   * ranks whose stages need it call it), `scale` multiplies the loss seeds (1/gradAccum).
   */
  run(batch: (pipeline: number, chunk: number) => MicroBatch, opts: StageLossOptions, scale = 1): PipelineStepResult {
    const s = this.schedule;
    const r = this.rank;
    const ops = s.ops[r];
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const timeline: TimelineEvent[] = [];
    const states = new Map<string, ChunkState>();
    const key = (phase: Phase, chunk: number) => `${phase}:${chunk}`;
    const recvs = new Map<string, Recv>();
    const local = new Map<string, Tensor>(); // in-rank handovers (the V's turn)
    const sends: Request[] = [];
    const keepAlive: Tensor[] = []; // gradients being sent
    const traffic: TrafficEntry[] = [];
    const res: PipelineStepResult = { loss: 0, ce: 0, mtp: 0, balance: 0, tokens: 0, waitMs: 0, totalMs: 0, startedAt: performance.timeOrigin + t0, timeline, peakInFlight: 0, peakActivationBytes: 0, traffic };
    const replay = this.replay;
    let liveBytes = 0;
    // storages of the model's own tensors: a view of a weight made in a forward (a transpose) is not an activation
    const weights = new Set<unknown>(replay ? [] : this.stages.flatMap((st) => st.model.namedTensors().map(([, t]) => t.storage)));
    const isend = (buf: Float32Array, to: number, tag: number): Request => {
      traffic.push({ dir: 'send', peer: to, tag, floats: buf.length });
      return this.comm.isend(buf, to, tag);
    };
    const numel = this.actShape[0] * this.actShape[1] * this.actShape[2];

    // What an op receives: [kind, from rank, tag, key] for each message (kind 0 = activation for an F, 1 = gradient for a B).
    const needs = (op: PipeOp): { kind: 0 | 1; from: number; tag: number; k: string }[] => {
      const out: { kind: 0 | 1; from: number; tag: number; k: string }[] = [];
      const f = (phase: Phase, chunk: number) => {
        const { pipeline, stage } = stageOf(s, r, phase);
        const prev = neighbours(s, r, phase).prev;
        if (prev && prev.rank !== r) out.push({ kind: 0, from: prev.rank, tag: this.tag(0, pipeline, stage - 1, chunk), k: `a:${pipeline}:${stage}:${chunk}` });
      };
      const b = (phase: Phase, chunk: number) => {
        const { pipeline, stage } = stageOf(s, r, phase);
        const next = neighbours(s, r, phase).next;
        if (next && next.rank !== r) out.push({ kind: 1, from: next.rank, tag: this.tag(1, pipeline, stage, chunk), k: `g:${pipeline}:${stage}:${chunk}` });
      };
      if (op.kind === 'F') f(op.phase, op.chunk);
      else if (op.kind === 'B') b(op.phase, op.chunk);
      else if (op.kind === 'FB') { f(op.phase, op.chunk); b(op.bPhase, op.bChunk); }
      return out;
    };
    let posted = 0;
    const postUpTo = (i: number) => {
      for (; posted <= Math.min(i, ops.length - 1); posted++) {
        for (const n of needs(ops[posted])) {
          const buf = new Float32Array(numel);
          traffic.push({ dir: 'recv', peer: n.from, tag: n.tag, floats: numel });
          recvs.set(n.k, { buf, req: this.comm.irecv(buf, n.from, n.tag) });
        }
      }
    };
    const receive = (k: string, phase: number, chunk: number): Float32Array => {
      const rv = recvs.get(k);
      if (!rv) throw new Error(`pipeline rank ${r}: no receive posted for ${k}`);
      recvs.delete(k);
      if (!rv.req.completed && !rv.req.test()) {
        const a = now();
        rv.req.wait();
        const e = now();
        res.waitMs += e - a;
        timeline.push({ name: 'wait', phase, chunk, start: a, end: e });
      }
      return rv.buf;
    };

    const forward = (phase: Phase, chunk: number, replayMs = replay?.F ?? 0) => {
      const { pipeline, stage: sIdx } = stageOf(s, r, phase);
      if (replay) return replayForward(phase, chunk, pipeline, sIdx, replayMs);
      const stage = this.stages[phase];
      let input: Tensor | null = null;
      if (!stage.first) {
        const prev = neighbours(s, r, phase).prev!;
        if (prev.rank === r) {
          const h = local.get(`a:${pipeline}:${sIdx}:${chunk}`);
          if (!h) throw new Error(`pipeline rank ${r}: stage ${sIdx - 1}'s output of chunk ${chunk} is not there`);
          local.delete(`a:${pipeline}:${sIdx}:${chunk}`);
          input = h;
        } else input = Tensor.from(receive(`a:${pipeline}:${sIdx}:${chunk}`, phase, chunk), this.actShape);
        input.requiresGrad_(true);
      }
      const mb = batch(pipeline, chunk);
      const { result: fwd, tensors } = capture(() => stage.forward(input, mb, opts));
      if (input) tensors.add(input);
      const storages = new Set<unknown>();
      let bytes = 0;
      for (const t of tensors) if (!storages.has(t.storage) && !weights.has(t.storage)) { storages.add(t.storage); bytes += t.storage.data.byteLength; }
      const st: ChunkState = { input, bytes, fwd, tensors, deferred: null, sent: null };
      states.set(key(phase, chunk), st);
      res.peakInFlight = Math.max(res.peakInFlight, states.size);
      liveBytes += bytes;
      res.peakActivationBytes = Math.max(res.peakActivationBytes, liveBytes);
      res.ce += fwd.ce; res.mtp += fwd.mtp; res.balance += fwd.balance; res.tokens += fwd.tokens;
      if (fwd.loss) res.loss += fwd.loss.item();
      if (fwd.out) {
        const next = neighbours(s, r, phase).next!;
        if (next.rank === r) {
          // the V's turn: the next stage reads this output as its own leaf (a view: no copy)
          local.set(`a:${pipeline}:${sIdx + 1}:${chunk}`, fwd.out.detach());
        } else {
          const out = fwd.out.contiguous();
          if (out !== fwd.out) tensors.add(out);
          st.sent = isend(out.f32(), next.rank, this.tag(0, pipeline, sIdx, chunk));
          sends.push(st.sent);
        }
      }
    };

    const finishChunk = (phase: Phase, chunk: number, st: ChunkState) => {
      // the activation send completed long ago (the gradient that came back depends on it); wait to be sure before freeing
      if (st.sent && !st.sent.completed) st.sent.wait();
      for (const t of st.tensors) t.dispose();
      liveBytes -= st.bytes;
      states.delete(key(phase, chunk));
    };

    const backward = (phase: Phase, chunk: number, zb: boolean, replayMs = replay ? (zb ? replay.B - replay.W : replay.B) : 0) => {
      const { pipeline, stage: sIdx } = stageOf(s, r, phase);
      const st = states.get(key(phase, chunk));
      if (!st) throw new Error(`pipeline rank ${r}: backward of phase ${phase} chunk ${chunk} before its forward`);
      if (replay) return replayBackward(phase, chunk, pipeline, sIdx, zb, st, replayMs);
      const stage = this.stages[phase];
      let outGrad: Tensor | null = null;
      if (!stage.last) {
        const next = neighbours(s, r, phase).next!;
        if (next.rank === r) {
          outGrad = local.get(`g:${pipeline}:${sIdx}:${chunk}`) ?? null;
          local.delete(`g:${pipeline}:${sIdx}:${chunk}`);
          if (!outGrad) throw new Error(`pipeline rank ${r}: stage ${sIdx + 1}'s input gradient of chunk ${chunk} is not there`);
        } else outGrad = Tensor.from(receive(`g:${pipeline}:${sIdx}:${chunk}`, phase, chunk), this.actShape);
      }
      const seeds = stage.seeds(st.fwd, outGrad, scale);
      const { tensors } = capture(() => {
        if (zb) st.deferred = backwardInputs(seeds, st.input ? [st.input] : []);
        else backwardFrom(seeds);
      });
      for (const t of tensors) st.tensors.add(t);
      if (outGrad) st.tensors.add(outGrad);
      if (!stage.first) {
        const g = st.input!.grad;
        if (!g) throw new Error(`pipeline rank ${r}: stage ${sIdx} produced no input gradient for chunk ${chunk}`);
        const prev = neighbours(s, r, phase).prev!;
        if (prev.rank === r) local.set(`g:${pipeline}:${sIdx - 1}:${chunk}`, g);
        else {
          keepAlive.push(g);
          sends.push(isend(g.f32(), prev.rank, this.tag(1, pipeline, sIdx - 1, chunk)));
        }
      }
      if (!zb) finishChunk(phase, chunk, st);
    };

    const weight = (phase: Phase, chunk: number) => {
      const st = states.get(key(phase, chunk));
      if (!st?.deferred) throw new Error(`pipeline rank ${r}: W of phase ${phase} chunk ${chunk} without a deferred backward`);
      if (replay) {
        sleep(replay.W);
        finishChunk(phase, chunk, st);
        return;
      }
      const { tensors } = capture(() => st.deferred!.run());
      for (const t of tensors) t.dispose();
      finishChunk(phase, chunk, st);
    };

    // Replay: the same receives, handovers and sends as forward/backward above, with a sleep for the compute.
    const nothing = null as unknown as StageForward;
    const noDeferred = {} as DeferredWeightGrad; // marks an input-only B whose W is pending
    const replayForward = (phase: Phase, chunk: number, pipeline: number, sIdx: number, ms: number) => {
      const { prev, next } = neighbours(s, r, phase);
      if (prev) {
        if (prev.rank === r) {
          if (!local.delete(`a:${pipeline}:${sIdx}:${chunk}`)) throw new Error(`pipeline rank ${r}: stage ${sIdx - 1}'s output of chunk ${chunk} is not there`);
        } else receive(`a:${pipeline}:${sIdx}:${chunk}`, phase, chunk);
      }
      sleep(ms);
      const st: ChunkState = { input: null, bytes: 0, fwd: nothing, tensors: new Set(), deferred: null, sent: null };
      states.set(key(phase, chunk), st);
      res.peakInFlight = Math.max(res.peakInFlight, states.size);
      if (next) {
        if (next.rank === r) local.set(`a:${pipeline}:${sIdx + 1}:${chunk}`, null as unknown as Tensor);
        else {
          st.sent = isend(new Float32Array(numel), next.rank, this.tag(0, pipeline, sIdx, chunk));
          sends.push(st.sent);
        }
      }
    };
    const replayBackward = (phase: Phase, chunk: number, pipeline: number, sIdx: number, zb: boolean, st: ChunkState, ms: number) => {
      const { prev, next } = neighbours(s, r, phase);
      if (next) {
        if (next.rank === r) {
          if (!local.delete(`g:${pipeline}:${sIdx}:${chunk}`)) throw new Error(`pipeline rank ${r}: stage ${sIdx + 1}'s input gradient of chunk ${chunk} is not there`);
        } else receive(`g:${pipeline}:${sIdx}:${chunk}`, phase, chunk);
      }
      sleep(ms);
      if (prev) {
        if (prev.rank === r) local.set(`g:${pipeline}:${sIdx - 1}:${chunk}`, null as unknown as Tensor);
        else sends.push(isend(new Float32Array(numel), prev.rank, this.tag(1, pipeline, sIdx - 1, chunk)));
      }
      if (zb) st.deferred = noDeferred;
      else finishChunk(phase, chunk, st);
    };

    for (let i = 0; i < ops.length; i++) {
      postUpTo(i + this.lookahead);
      const op = ops[i];
      const start = now();
      if (op.kind === 'F') forward(op.phase, op.chunk);
      else if (op.kind === 'B') backward(op.phase, op.chunk, op.zb);
      else if (op.kind === 'W') weight(op.phase, op.chunk);
      else if (replay) {
        // F&B takes its own measured duration, split between its halves as F : B (they run one after
        // the other on a CPU rank, so the forward's output leaves before the backward starts)
        const fb = opDuration(op, replay), share = replay.F + replay.B > 0 ? replay.F / (replay.F + replay.B) : 0.5;
        forward(op.phase, op.chunk, fb * share);
        backward(op.bPhase, op.bChunk, false, fb * (1 - share));
      } else {
        forward(op.phase, op.chunk);
        backward(op.bPhase, op.bChunk, false);
      }
      // an op's span includes the waits of its receives (recorded as nested 'wait' events)
      const ev: TimelineEvent = { name: op.kind === 'B' && op.zb ? 'B(input)' : op.kind, phase: op.phase, chunk: op.chunk, start, end: now() };
      if (op.kind === 'FB') { ev.bPhase = op.bPhase; ev.bChunk = op.bChunk; }
      timeline.push(ev);
    }
    const a = now();
    waitAll(sends);
    res.waitMs += now() - a;
    if (states.size || local.size || recvs.size) throw new Error(`pipeline rank ${r}: ${states.size} chunks, ${local.size} handovers and ${recvs.size} receives left at the end of the step`);
    keepAlive.length = 0;
    res.totalMs = now();
    return res;
  }
}
