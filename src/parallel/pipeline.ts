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
import { Tensor, capture, backwardFrom, backwardInputs } from '../tensor/index.js';
import type { DeferredWeightGrad } from '../tensor/index.js';
import type { Communicator, Request } from './mpi.js';
import { waitAll } from './mpi.js';
import type { PipelineSchedule, PipeOp, Phase } from './schedule.js';
import { stageOf, neighbours } from './schedule.js';
import type { MicroBatch, PipelineStage, StageForward, StageLossOptions } from './pipeline-stage.js';

/** One entry of a rank's timeline (milliseconds since the step started). */
export interface TimelineEvent {
  /** 'F', 'B', 'W', 'FB' or 'wait' (blocked in a receive). */
  name: string;
  phase: number;
  chunk: number;
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
  /** When the step started (Date.now() clock, ms), the origin of the timeline's times. */
  startedAt: number;
  timeline: TimelineEvent[];
  /** Most micro-batches whose activations this rank held at once (forward done, backward not finished). */
  peakInFlight: number;
}

interface ChunkState {
  input: Tensor | null;
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
    const res: PipelineStepResult = { loss: 0, ce: 0, mtp: 0, balance: 0, tokens: 0, waitMs: 0, totalMs: 0, startedAt: Date.now(), timeline, peakInFlight: 0 };
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

    const forward = (phase: Phase, chunk: number) => {
      const stage = this.stages[phase];
      const { pipeline, stage: sIdx } = stageOf(s, r, phase);
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
      const st: ChunkState = { input, fwd, tensors, deferred: null, sent: null };
      states.set(key(phase, chunk), st);
      res.peakInFlight = Math.max(res.peakInFlight, states.size);
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
          st.sent = this.comm.isend(out.f32(), next.rank, this.tag(0, pipeline, sIdx, chunk));
          sends.push(st.sent);
        }
      }
    };

    const finishChunk = (phase: Phase, chunk: number, st: ChunkState) => {
      // the activation send completed long ago (the gradient that came back depends on it); wait to be sure before freeing
      if (st.sent && !st.sent.completed) st.sent.wait();
      for (const t of st.tensors) t.dispose();
      states.delete(key(phase, chunk));
    };

    const backward = (phase: Phase, chunk: number, zb: boolean) => {
      const stage = this.stages[phase];
      const { pipeline, stage: sIdx } = stageOf(s, r, phase);
      const st = states.get(key(phase, chunk));
      if (!st) throw new Error(`pipeline rank ${r}: backward of phase ${phase} chunk ${chunk} before its forward`);
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
          sends.push(this.comm.isend(g.f32(), prev.rank, this.tag(1, pipeline, sIdx - 1, chunk)));
        }
      }
      if (!zb) finishChunk(phase, chunk, st);
    };

    const weight = (phase: Phase, chunk: number) => {
      const st = states.get(key(phase, chunk));
      if (!st?.deferred) throw new Error(`pipeline rank ${r}: W of phase ${phase} chunk ${chunk} without a deferred backward`);
      const { tensors } = capture(() => st.deferred!.run());
      for (const t of tensors) t.dispose();
      finishChunk(phase, chunk, st);
    };

    for (let i = 0; i < ops.length; i++) {
      postUpTo(i + this.lookahead);
      const op = ops[i];
      const start = now();
      if (op.kind === 'F') forward(op.phase, op.chunk);
      else if (op.kind === 'B') backward(op.phase, op.chunk, op.zb);
      else if (op.kind === 'W') weight(op.phase, op.chunk);
      else {
        forward(op.phase, op.chunk);
        backward(op.bPhase, op.bChunk, false);
      }
      // an op's span includes the waits of its receives (recorded as nested 'wait' events)
      timeline.push({ name: op.kind === 'B' && op.zb ? 'B(input)' : op.kind, phase: op.phase, chunk: op.chunk, start, end: now() });
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
