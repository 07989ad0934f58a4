// Pipeline bubbles, measured by running the schedules of parallel/schedule.ts through a discrete-event
// simulation, next to the formulas of the DualPipe README / DeepSeek-V3 report (Table 2).
//
// Model of time:
// - Each rank runs its ops strictly in order, one at a time. Durations: F (forward chunk), B (full
//   backward chunk = input gradient + weight gradient), an input-only backward `zb` takes B − W (ZB
//   splits B into B_input = B − W and W), W (weight gradient), FB (a forward and a full backward of the
//   other phase run overlapped, "F&B").
// - An op starts when its rank is free and its inputs exist: an F of stage s needs the F of stage s−1
//   (same pipeline, same chunk) finished; a B needs the B of stage s+1 finished (at the last stage: its
//   own F). Outputs of an FB are available when the FB ends. Communication takes no time.
// - bubble(rank) = makespan − busy(rank), where makespan runs from the first op's start to the last
//   op's end over all ranks. The schedule's bubble is the largest over ranks (the middle ranks for
//   DualPipe; all ranks are equal for 1F1B/ZB1P).
// - Activations: a chunk's stage activation is held from the start of its F until its full B ends,
//   or until its W ends when the backward was split (the weight gradient still needs the inputs).
//
// When the formulas are exact (checked by test/bubble.test.ts; sufficient conditions):
//   1F1B       (PP−1)(F+B)           any F, B (chunks ≥ PP).
//   ZB1P       (PP−1)(F+B−2W)        W ≤ F and W ≤ B − W.
//   DualPipe   (PP/2−1)(F&B+B−3W)    F = B − W (a forward takes as long as an input-gradient
//   DualPipeV                        backward), W ≤ F, and B ≤ F&B ≤ F + B.
// Outside these the simulated value is the truth for the given durations and the formula an estimate.
import {
  buildSchedule,
  METHOD_NAMES,
  PIPELINE_METHODS,
  ScheduleError,
  stageOf,
  type PipelineMethod,
  type PipelineSchedule,
  type PipeOp,
} from '../parallel/schedule.js';

/** Durations of the four kinds of work (any time unit). */
export interface OpTimes {
  /** Forward chunk. */
  F: number;
  /** Full backward chunk (input + weight gradient). */
  B: number;
  /** Weight-gradient part of B. */
  W: number;
  /** A forward and a backward chunk overlapped ("F&B"). */
  FB: number;
}

/** An op with its simulated start and end. */
export interface TimedOp {
  op: PipeOp;
  start: number;
  end: number;
}

/** One rank's simulated timeline. */
export interface RankTimeline {
  rank: number;
  ops: TimedOp[];
  busy: number;
  bubble: number;
  /** Peak number of stage activations held at once. */
  peakActivations: number;
}

/** A simulated step. */
export interface Simulation {
  schedule: PipelineSchedule;
  times: OpTimes;
  makespan: number;
  ranks: RankTimeline[];
  /** max over ranks of makespan − busy. */
  bubble: number;
  /** max over ranks of peakActivations. */
  peakActivations: number;
}

/** Duration of one op. */
export function opDuration(op: PipeOp, t: OpTimes): number {
  switch (op.kind) {
    case 'F':
      return t.F;
    case 'B':
      return op.zb ? t.B - t.W : t.B;
    case 'W':
      return t.W;
    case 'FB':
      return t.FB;
  }
}

function checkTimes(t: OpTimes): void {
  for (const k of ['F', 'B', 'W', 'FB'] as const) {
    if (!Number.isFinite(t[k]) || t[k] < 0) throw new RangeError(`${k}: expected a time ≥ 0, found ${t[k]}`);
  }
  if (t.W > t.B) throw new RangeError(`W (${t.W}) cannot exceed the full backward B (${t.B}): B = B_input + W`);
}

/** Runs the schedule's ops under the dependency rules above; throws a ScheduleError on deadlock. */
export function simulate(s: PipelineSchedule, times: OpTimes): Simulation {
  checkTimes(times);
  const lastStage = s.pp - 1;
  const key = (pipeline: number, stage: number, chunk: number): string => `${pipeline}:${stage}:${chunk}`;
  const fDone = new Map<string, number>();
  const bDone = new Map<string, number>();
  const pc = new Array<number>(s.ranks).fill(0);
  const clock = new Array<number>(s.ranks).fill(0);
  const timed: TimedOp[][] = Array.from({ length: s.ranks }, () => []);

  // When the input of a forward / backward of (rank, phase, chunk) is ready, or undefined if not yet.
  const fReady = (r: number, phase: 0 | 1, chunk: number): number | undefined => {
    const { pipeline, stage } = stageOf(s, r, phase);
    return stage === 0 ? 0 : fDone.get(key(pipeline, stage - 1, chunk));
  };
  const bReady = (r: number, phase: 0 | 1, chunk: number): number | undefined => {
    const { pipeline, stage } = stageOf(s, r, phase);
    return stage === lastStage ? fDone.get(key(pipeline, stage, chunk)) : bDone.get(key(pipeline, stage + 1, chunk));
  };

  let progressed = true;
  while (progressed) {
    progressed = false;
    for (let r = 0; r < s.ranks; r++) {
      while (pc[r] < s.ops[r].length) {
        const op = s.ops[r][pc[r]];
        const deps: (number | undefined)[] = [];
        if (op.kind === 'F' || op.kind === 'FB') deps.push(fReady(r, op.phase, op.chunk));
        if (op.kind === 'B') deps.push(bReady(r, op.phase, op.chunk));
        if (op.kind === 'FB') deps.push(bReady(r, op.bPhase, op.bChunk));
        if (deps.some((d) => d === undefined)) break;
        const start = Math.max(clock[r], ...(deps as number[]));
        const end = start + opDuration(op, times);
        if (op.kind === 'F' || op.kind === 'FB') {
          const { pipeline, stage } = stageOf(s, r, op.phase);
          fDone.set(key(pipeline, stage, op.chunk), end);
        }
        if (op.kind === 'B') {
          const { pipeline, stage } = stageOf(s, r, op.phase);
          bDone.set(key(pipeline, stage, op.chunk), end);
        }
        if (op.kind === 'FB') {
          const { pipeline, stage } = stageOf(s, r, op.bPhase);
          bDone.set(key(pipeline, stage, op.bChunk), end);
        }
        timed[r].push({ op, start, end });
        clock[r] = end;
        pc[r]++;
        progressed = true;
      }
    }
  }
  const stuck = pc.findIndex((p, r) => p < s.ops[r].length);
  if (stuck >= 0) {
    throw new ScheduleError(`${s.method}: deadlock — rank ${stuck} waits forever at op ${pc[stuck]} (${JSON.stringify(s.ops[stuck][pc[stuck]])})`);
  }
  const t0 = Math.min(...timed.map((t) => (t.length ? t[0].start : Infinity)));
  const t1 = Math.max(...timed.map((t) => (t.length ? t[t.length - 1].end : -Infinity)));
  const makespan = t1 - t0;
  const ranks = timed.map((ops, rank): RankTimeline => {
    const busy = ops.reduce((a, o) => a + (o.end - o.start), 0);
    return { rank, ops, busy, bubble: makespan - busy, peakActivations: peakActivations(ops) };
  });
  return {
    schedule: s,
    times,
    makespan,
    ranks,
    bubble: Math.max(...ranks.map((r) => r.bubble)),
    peakActivations: Math.max(...ranks.map((r) => r.peakActivations)),
  };
}

/** Peak count of stage activations alive on one rank (an FB holds its new F's activation while its B is still alive). */
function peakActivations(ops: TimedOp[]): number {
  let alive = 0;
  let peak = 0;
  for (const { op } of ops) {
    if (op.kind === 'F' || op.kind === 'FB') alive++;
    peak = Math.max(peak, alive);
    if (op.kind === 'FB' || (op.kind === 'B' && !op.zb) || op.kind === 'W') alive--;
  }
  return peak;
}

/** The bubble formula of a method, as text and as a value. */
export function bubbleFormula(method: PipelineMethod, pp: number, t: OpTimes): { text: string; value: number } {
  switch (method) {
    case '1f1b':
      return { text: '(PP-1)(F+B)', value: (pp - 1) * (t.F + t.B) };
    case 'zb1p':
      return { text: '(PP-1)(F+B-2W)', value: (pp - 1) * (t.F + t.B - 2 * t.W) };
    case 'dualpipe':
    case 'dualpipev':
      return { text: '(PP/2-1)(F&B+B-3W)', value: (pp / 2 - 1) * (t.FB + t.B - 3 * t.W) };
  }
}

/** The memory/devices columns of the table, as the README states them. */
export function formulaColumns(method: PipelineMethod, pp: number): { params: string; activation: string; activationValue: number; devices: string; deviceValue: number } {
  switch (method) {
    case '1f1b':
    case 'zb1p':
      return { params: '1×', activation: 'PP', activationValue: pp, devices: 'PP', deviceValue: pp };
    case 'dualpipe':
      return { params: '2×', activation: 'PP+1', activationValue: pp + 1, devices: 'PP', deviceValue: pp };
    case 'dualpipev':
      return { params: '2×', activation: 'PP+1', activationValue: pp + 1, devices: 'PP/2', deviceValue: pp / 2 };
  }
}

/** Whether the timing assumptions that make a method's formula exact hold, and what they are. */
export function formulaAssumptions(method: PipelineMethod, t: OpTimes): { holds: boolean; text: string } {
  const eps = 1e-9;
  switch (method) {
    case '1f1b':
      return { holds: true, text: 'always (B = full backward, chunks ≥ PP)' };
    case 'zb1p':
      return { holds: t.W <= t.F + eps && t.W <= t.B - t.W + eps, text: 'W ≤ F and W ≤ B−W (B split into B_input = B−W and W)' };
    case 'dualpipe':
    case 'dualpipev':
      return {
        holds: Math.abs(t.F - (t.B - t.W)) <= eps && t.W <= t.F + eps && t.FB >= t.B - eps && t.FB <= t.F + t.B + eps,
        text: 'F = B−W, W ≤ F, B ≤ F&B ≤ F+B',
      };
  }
}

/** One row of the comparison table. */
export interface BubbleRow {
  method: PipelineMethod;
  name: string;
  formula: string;
  formulaBubble: number;
  simulatedBubble: number;
  /** Per-rank bubbles, rank order. */
  rankBubbles: number[];
  assumptionsHold: boolean;
  assumptions: string;
  params: string;
  /** Stages per device relative to 1F1B's one. */
  paramsSimulated: number;
  activation: string;
  activationFormula: number;
  activationSimulated: number;
  devices: string;
  deviceCount: number;
  makespan: number;
  simulation: Simulation;
}

/** Builds, simulates and tabulates all four methods for one PP, chunk count and set of durations. */
export function compareSchedules(pp: number, chunks: number, times: OpTimes): BubbleRow[] {
  if (!Number.isInteger(pp) || pp < 2 || pp % 2 !== 0) throw new ScheduleError(`PP must be an even integer ≥ 2, found ${pp}`);
  if (!Number.isInteger(chunks) || chunks % 2 !== 0 || chunks < 2 * pp) {
    throw new ScheduleError(`chunks must be even and ≥ 2·PP = ${2 * pp} (DualPipe's requirement), found ${chunks}`);
  }
  return PIPELINE_METHODS.map((method): BubbleRow => {
    const sim = simulate(buildSchedule(method, pp, chunks), times);
    const f = bubbleFormula(method, pp, times);
    const cols = formulaColumns(method, pp);
    const a = formulaAssumptions(method, times);
    return {
      method,
      name: METHOD_NAMES[method],
      formula: f.text,
      formulaBubble: f.value,
      simulatedBubble: sim.bubble,
      rankBubbles: sim.ranks.map((r) => r.bubble),
      assumptionsHold: a.holds,
      assumptions: a.text,
      params: cols.params,
      paramsSimulated: sim.schedule.placement[0].length,
      activation: cols.activation,
      activationFormula: cols.activationValue,
      activationSimulated: sim.peakActivations,
      devices: cols.devices,
      deviceCount: sim.schedule.ranks,
      makespan: sim.makespan,
      simulation: sim,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Drawings

function opLabel(op: PipeOp): string {
  switch (op.kind) {
    case 'F':
      return `F${op.chunk}`;
    case 'B':
      return `${op.zb ? 'I' : 'B'}${op.chunk}`;
    case 'W':
      return `W${op.chunk}`;
    case 'FB':
      return `F${op.chunk}&B${op.bChunk}`;
  }
}

/**
 * A text timeline per rank, `cols` characters per time unit. Each op is a block that starts with its
 * letter and is filled with '=': F forward, B full backward, I input-gradient backward (B split by
 * zero-bubble), W weight gradient, X overlapped F&B. Upper case = phase 0, lower case = phase 1
 * (for an X, the phase of its forward half). '.' is idle time.
 */
export function textTimeline(sim: Simulation, cols = 2): string[] {
  const width = Math.ceil(sim.makespan * cols);
  const t0 = Math.min(...sim.ranks.map((r) => (r.ops.length ? r.ops[0].start : 0)));
  const pad = String(sim.ranks.length - 1).length;
  return sim.ranks.map((r) => {
    const row = new Array<string>(width).fill('.');
    for (const { op, start, end } of r.ops) {
      const a = Math.round((start - t0) * cols);
      const b = Math.max(a + 1, Math.round((end - t0) * cols));
      const letter = op.kind === 'FB' ? 'X' : op.kind === 'B' && op.zb ? 'I' : op.kind;
      for (let i = a; i < b && i < width; i++) row[i] = i === a ? (op.phase === 1 ? letter.toLowerCase() : letter) : '=';
    }
    return `rank ${String(r.rank).padStart(pad)} |${row.join('')}| bubble ${fmt(r.bubble)}`;
  });
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2).replace(/0+$/, '');
}

const COLORS: Record<string, [string, string]> = {
  F: ['#f4a259', '#f9d3ae'],
  B: ['#5b8e7d', '#a9cbbf'],
  b: ['#8cb369', '#c9e0b4'],
  W: ['#4d7ea8', '#a8c3db'],
  FB: ['#9e6ebd', '#d3bde3'],
};

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An SVG drawing of the simulated timelines of several methods, one block of rank rows per method. */
export function timelineSvg(rows: BubbleRow[], title: string): string {
  const unit = 14; // px per time unit
  const rowH = 18;
  const left = 70;
  const maxSpan = Math.max(...rows.map((r) => r.makespan));
  const widthPx = Math.ceil(left + maxSpan * unit + 20);
  const parts: string[] = [];
  let y = 30;
  parts.push(`<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  for (const row of rows) {
    y += 22;
    parts.push(
      `<text x="10" y="${y}" font-size="13" font-weight="bold">${escapeXml(
        `${row.name}: bubble ${fmt(row.simulatedBubble)} (formula ${row.formula} = ${fmt(row.formulaBubble)}), makespan ${fmt(row.makespan)}`,
      )}</text>`,
    );
    y += 6;
    const sim = row.simulation;
    const t0 = Math.min(...sim.ranks.map((r) => (r.ops.length ? r.ops[0].start : 0)));
    for (const r of sim.ranks) {
      parts.push(`<text x="10" y="${y + 13}" font-size="11">rank ${r.rank}</text>`);
      parts.push(`<rect x="${left}" y="${y}" width="${(sim.makespan * unit).toFixed(1)}" height="${rowH - 2}" fill="#f2f2f2"/>`);
      for (const { op, start, end } of r.ops) {
        const k = op.kind === 'B' && op.zb ? 'b' : op.kind;
        const color = COLORS[k][op.phase];
        const x = left + (start - t0) * unit;
        const w = (end - start) * unit;
        const label = opLabel(op);
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 2}" fill="${color}" stroke="#333" stroke-width="0.5"><title>${escapeXml(
            `${label} phase ${op.phase}: ${fmt(start)}–${fmt(end)}`,
          )}</title></rect>`,
        );
        if (w >= label.length * 6) {
          parts.push(`<text x="${(x + w / 2).toFixed(1)}" y="${y + 12}" font-size="9" text-anchor="middle">${escapeXml(label)}</text>`);
        }
      }
      y += rowH;
    }
  }
  y += 20;
  const legend = [['F', 'F forward'], ['B', 'B full backward'], ['b', 'I input-gradient backward (B−W)'], ['W', 'W weight gradient'], ['FB', 'F&B overlapped']];
  legend.forEach(([k, text], i) => {
    const x = 10 + i * 170;
    parts.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLORS[k][0]}"/><rect x="${x + 12}" y="${y - 10}" width="12" height="12" fill="${COLORS[k][1]}"/>`);
    parts.push(`<text x="${x + 30}" y="${y}" font-size="11">${escapeXml(text)}</text>`);
  });
  parts.push(`<text x="10" y="${y + 18}" font-size="11">dark: phase 0 (forward-direction pipeline / down the V), light: phase 1</text>`);
  const heightPx = y + 30;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" font-family="monospace">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
