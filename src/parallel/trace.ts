// A pipeline step's per-rank timelines (src/parallel/pipeline.ts) as Chrome trace-event JSON, and the
// bubble they show.
//
// Trace format (the "JSON Object Format" of the Trace Event Format, read by https://ui.perfetto.dev
// and chrome://tracing): one process per rank (pid = rank, named by `label`), thread 0 = the ops,
// thread 1 = the waits. Every op and every wait is a complete event (ph 'X', ts and dur in µs) on a
// clock shared by the ranks (ms since the epoch at the event → µs since `origin`). Op names: F0 #3 =
// forward of chunk 3 through the rank's phase-0 stage, B1 #3 full backward, I1 #3 input-gradient
// backward (zero bubble), W1 #3 its deferred weight gradient, F0 #5 & B1 #2 an overlapped pair.
import type { TimelineEvent } from './pipeline.js';

/** One rank's timeline of a step: `startedAt` = when its step began (ms since the epoch), the events' origin. */
export interface RankTimeline {
  rank: number;
  startedAt: number;
  timeline: TimelineEvent[];
  /** Process name shown in the viewer (default "rank r"). */
  label?: string;
}

/** A Chrome trace event. */
export interface TraceEvent {
  name: string;
  cat?: string;
  ph: 'X' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  args?: Record<string, unknown>;
}

/** The label of a timeline event, as shown in the trace. */
export function eventName(e: TimelineEvent): string {
  switch (e.name) {
    case 'wait':
      return `wait (chunk ${e.chunk}, phase ${e.phase})`;
    case 'B(input)':
      return `I${e.phase} #${e.chunk}`;
    case 'FB':
      return `F${e.phase} #${e.chunk} & B${e.bPhase ?? '?'} #${e.bChunk ?? '?'}`;
    default:
      return `${e.name}${e.phase} #${e.chunk}`;
  }
}

/**
 * The trace of one step over all ranks. `origin` (ms since the epoch) becomes ts 0; default the
 * earliest rank start. Events are sorted by (pid, ts).
 */
export function toTraceEvents(ranks: RankTimeline[], origin = Math.min(...ranks.map((r) => r.startedAt))): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' } {
  const meta: TraceEvent[] = [];
  const events: TraceEvent[] = [];
  for (const r of ranks) {
    meta.push({ name: 'process_name', ph: 'M', pid: r.rank, tid: 0, args: { name: r.label ?? `rank ${r.rank}` } });
    meta.push({ name: 'process_sort_index', ph: 'M', pid: r.rank, tid: 0, args: { sort_index: r.rank } });
    meta.push({ name: 'thread_name', ph: 'M', pid: r.rank, tid: 0, args: { name: 'ops' } });
    meta.push({ name: 'thread_name', ph: 'M', pid: r.rank, tid: 1, args: { name: 'waits (blocked in a receive)' } });
    const off = r.startedAt - origin; // ms
    for (const e of r.timeline) {
      const wait = e.name === 'wait';
      const args: Record<string, unknown> = { op: e.name, phase: e.phase, chunk: e.chunk };
      if (e.bPhase !== undefined) Object.assign(args, { bPhase: e.bPhase, bChunk: e.bChunk });
      events.push({
        name: eventName(e), cat: wait ? 'wait' : 'compute', ph: 'X', pid: r.rank, tid: wait ? 1 : 0,
        ts: Math.round((off + e.start) * 1000), dur: Math.max(0, Math.round((e.end - e.start) * 1000)), args,
      });
    }
  }
  events.sort((a, b) => a.pid - b.pid || a.ts! - b.ts! || a.tid - b.tid);
  return { traceEvents: [...meta, ...events], displayTimeUnit: 'ms' };
}

/** Busy and idle time of one rank's step: busy = the ops' spans minus the waits nested in them. */
export interface RankBubble {
  totalMs: number;
  busyMs: number;
  idleMs: number;
  /** idle / total. */
  bubble: number;
}

/** The bubble of one rank's step from its timeline and its wall time (totalMs ≥ the last event's end). */
export function timelineBubble(timeline: TimelineEvent[], totalMs: number): RankBubble {
  if (!(totalMs > 0)) throw new RangeError(`a step's total time must be > 0 ms, found ${totalMs}`);
  let ops = 0, waits = 0;
  for (const e of timeline) {
    if (e.end < e.start) throw new RangeError(`timeline event ${e.name} ends (${e.end}) before it starts (${e.start})`);
    if (e.name === 'wait') waits += e.end - e.start;
    else ops += e.end - e.start;
  }
  const busyMs = Math.max(0, ops - waits);
  const idleMs = Math.max(0, totalMs - busyMs);
  return { totalMs, busyMs, idleMs, bubble: idleMs / totalMs };
}
