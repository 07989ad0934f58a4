// `tinyseek bubble`: pipeline bubbles of 1F1B, ZB1P, DualPipe and DualPipeV — the formula next to the
// value simulated from each method's actual schedule — and their per-rank timelines (text or SVG).
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { CliError, EXIT_FAILURE } from '../errors.js';
import { writeFileAtomic } from '../../io/index.js';
import { compareSchedules, textTimeline, timelineSvg, type BubbleRow, type OpTimes } from '../../analysis/bubble.js';
import { ScheduleError } from '../../parallel/schedule.js';
import { formatTable } from '../../analysis/table.js';

interface BubbleOptions {
  pp: number;
  chunks: number;
  f: number;
  b: number;
  w: number;
  fb: number;
  cols: number;
  timeline: boolean;
  svg?: string;
  json: boolean;
}

function num(name: string, integer = false): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
      throw new CliError(`${name}: expected ${integer ? 'a non-negative integer' : 'a number ≥ 0'}, found "${v}"`);
    }
    return n;
  };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toFixed(4)));
}

/** The JSON object `tinyseek bubble --json` prints. */
export function bubbleJson(pp: number, chunks: number, t: OpTimes, rows: BubbleRow[]): Record<string, unknown> {
  return {
    pp,
    chunks,
    times: { F: t.F, B: t.B, W: t.W, FB: t.FB },
    methods: rows.map((r) => ({
      method: r.name,
      bubble_formula: r.formula,
      bubble_formula_value: r.formulaBubble,
      bubble_simulated: r.simulatedBubble,
      bubble_per_rank: r.rankBubbles,
      formula_exact_assumptions: r.assumptions,
      assumptions_hold: r.assumptionsHold,
      params_per_device: r.params,
      stages_per_device: r.paramsSimulated,
      activation_per_device_formula: r.activationFormula,
      activation_per_device_simulated: r.activationSimulated,
      devices: r.deviceCount,
      makespan: r.makespan,
    })),
  };
}

/** The comparison table and the notes on timing assumptions. */
export function bubbleText(pp: number, chunks: number, t: OpTimes, rows: BubbleRow[]): string[] {
  const out = [
    `Pipeline bubbles at PP = ${pp} stages, ${chunks} micro-batches; F = ${fmt(t.F)}, B = ${fmt(t.B)} (full backward), W = ${fmt(t.W)}, F&B = ${fmt(t.FB)}`,
    '',
    ...formatTable(
      [
        ['Method', 'Bubble', 'formula', 'simulated', 'Params/dev', 'Activation/dev', 'simulated', '#Devices', 'makespan'],
        ...rows.map((r) => [
          r.name,
          r.formula,
          fmt(r.formulaBubble),
          fmt(r.simulatedBubble),
          r.params,
          `${r.activation} = ${r.activationFormula}`,
          String(r.activationSimulated),
          `${r.devices} = ${r.deviceCount}`,
          fmt(r.makespan),
        ]),
      ],
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    'simulated bubble = makespan − busy time, for the rank that idles most; activation = peak stage activations a device holds.',
    'Timing model: B = full backward = input part (B−W) + weight part W; a zero-bubble backward runs B−W and its W later;',
    'F&B = one forward and one full backward overlapped; an op waits for its neighbour stage\'s output; communication is free.',
    '',
  ];
  out.push(
    ...formatTable(
      [
        ['Method', 'formula exact when', 'here'],
        ...rows.map((r) => [r.name, r.assumptions, r.assumptionsHold ? 'holds' : 'does NOT hold: trust the simulated value']),
      ],
      ['l', 'l', 'l'],
    ),
  );
  return out;
}

/** Writes a file through the one atomic-write helper, reporting a failure as a CliError. */
function writeAtomic(file: string, text: string): void {
  try {
    writeFileAtomic(file, text);
  } catch (e) {
    throw new CliError(`cannot write ${file}: ${(e as Error).message}`, EXIT_FAILURE);
  }
}

/** Registers `tinyseek bubble`. */
export function register(program: Command): void {
  program
    .command('bubble')
    .description('pipeline bubble and memory of 1F1B, ZB1P, DualPipe and DualPipeV: formula vs simulated schedule, with timelines')
    .option('--pp <n>', 'pipeline stages (even)', num('--pp', true), 8)
    .option('--chunks <n>', 'micro-batches per step (even, ≥ 2·PP)', num('--chunks', true), 20)
    .option('--f <t>', 'forward chunk time F', num('--f'), 1)
    .option('--b <t>', 'full backward chunk time B (input + weight gradients)', num('--b'), 2)
    .option('--w <t>', 'weight-gradient part W of B', num('--w'), 1)
    .option('--fb <t>', 'overlapped forward & backward chunk time F&B', num('--fb'), 2.5)
    .option('--cols <n>', 'characters per time unit in the text timelines', num('--cols', true), 2)
    .option('--no-timeline', 'print only the table')
    .option('--svg <file>', 'also draw the timelines as SVG')
    .option('--json', 'print one JSON object', false)
    .action((o: BubbleOptions) => {
      const times: OpTimes = { F: o.f, B: o.b, W: o.w, FB: o.fb };
      if (o.cols < 1) throw new CliError('--cols: expected at least 1');
      if (o.svg !== undefined) {
        // A directory that is not there is bad input (2), as in `export`; a write that then fails is a runtime failure (1).
        const parent = path.dirname(path.resolve(o.svg));
        if (!existsSync(parent) || !statSync(parent).isDirectory()) throw new CliError(`cannot write ${o.svg}: directory ${parent} does not exist`);
      }
      let rows: BubbleRow[];
      try {
        rows = compareSchedules(o.pp, o.chunks, times);
      } catch (e) {
        if (e instanceof ScheduleError || e instanceof RangeError) throw new CliError(e.message);
        throw e;
      }
      if (o.svg !== undefined) {
        const title = `PP = ${o.pp}, ${o.chunks} micro-batches, F = ${fmt(o.f)}, B = ${fmt(o.b)}, W = ${fmt(o.w)}, F&B = ${fmt(o.fb)}`;
        writeAtomic(o.svg, timelineSvg(rows, title));
      }
      if (o.json) {
        console.log(JSON.stringify(bubbleJson(o.pp, o.chunks, times, rows)));
        return;
      }
      const out = bubbleText(o.pp, o.chunks, times, rows);
      if (o.timeline) {
        out.push('', 'Timelines (F forward, B full backward, I input-gradient backward, W weight gradient, X overlapped F&B;');
        out.push(`upper case phase 0, lower case phase 1; '.' idle; ${o.cols} characters per time unit):`);
        for (const r of rows) {
          out.push('', `${r.name} — bubble ${fmt(r.simulatedBubble)}, makespan ${fmt(r.makespan)}`);
          out.push(...textTimeline(r.simulation, o.cols));
        }
      }
      if (o.svg !== undefined) out.push('', `wrote ${o.svg}`);
      console.log(out.join('\n'));
    });
}
