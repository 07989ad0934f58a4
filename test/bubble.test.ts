// bubble: the schedules' structure (DualPipe's 8 steps), the simulated bubble against each method's
// formula under its stated timing assumptions, memory columns, drawings, CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildSchedule,
  checkSchedule,
  neighbours,
  PIPELINE_METHODS,
  ScheduleError,
  scheduleDualPipe,
  scheduleDualPipeV,
  type PipeOp,
  type PipelineSchedule,
} from '../src/parallel/schedule.js';
import { bubbleFormula, compareSchedules, formulaAssumptions, simulate, textTimeline, timelineSvg, type OpTimes } from '../src/analysis/bubble.js';

const CLI = fileURLToPath(new URL('../src/cli/index.js', import.meta.url));

/** F0, F1, I1 (input-only B), B0, W, X01 (F0 overlapped with B1) — compact op codes. */
function code(op: PipeOp): string {
  switch (op.kind) {
    case 'F':
      return `F${op.phase}`;
    case 'B':
      return `${op.zb ? 'I' : 'B'}${op.phase}`;
    case 'W':
      return 'W';
    case 'FB':
      return `X${op.phase}${op.bPhase}`;
  }
}

const rep = (n: number, s: string): string => Array.from({ length: n }, () => s).join(' ');

test('DualPipe PP=8, 20 chunks: rank 0 and middle rank 3 follow the reference 8 steps', () => {
  const s = scheduleDualPipe(8, 20);
  // rank 0: h=0, H=4, C=10 → steps 6, 1, 3, 3, 3, 1, 3, 1
  const r0 = [
    rep(6, 'F0'), 'F0 F1', rep(3, 'I1 W F1'), rep(3, 'X01 X10'), rep(3, 'B1 X10'), 'B1 I0', rep(3, 'W I0'), 'W',
  ].join(' ');
  assert.equal(s.ops[0].map(code).join(' '), r0);
  // rank 3 (middle, h=3): steps 0, 4, 0, 6 (first pair not overlapped), 0, 4 (split from i=2), 0, 4
  const r3 = [rep(4, 'F0 F1'), 'F0 B1 X10', rep(5, 'X01 X10'), 'B1 B0 B1 B0 I1 I0 I1 I0', rep(4, 'W')].join(' ');
  assert.equal(s.ops[3].map(code).join(' '), r3);
  // second-half ranks mirror the first half with phases swapped (the reference's phase ^= 1)
  const swap = (c: string) => c.replace(/[01]/g, (d) => (d === '0' ? '1' : '0'));
  for (let r = 4; r < 8; r++) assert.equal(s.ops[r].map(code).map(swap).join(' '), s.ops[7 - r].map(code).join(' '));
  // W ops pop the deferred backwards first-in first-out
  const w0 = s.ops[0].filter((o) => o.kind === 'W').map((o) => `${o.phase}:${o.chunk}`);
  assert.deepEqual(w0, ['1:0', '1:1', '1:2', '0:6', '0:7', '0:8', '0:9']);
});

test('DualPipeV PP=8 (4 ranks), 10 chunks: the last rank turns the V without overlapping its first pair', () => {
  const s = scheduleDualPipeV(8, 10);
  assert.equal(s.ranks, 4);
  assert.deepEqual(s.placement[3], [{ pipeline: 0, stage: 3 }, { pipeline: 0, stage: 4 }]);
  // rank 3 = N-1: steps 0, 4, 0, 10-8+3+1 = 6, 0, 4, 0, 4
  const r3 = [rep(4, 'F0 F1'), 'F0 B1 X10', rep(5, 'X01 X10'), 'B1 B0 B1 B0 I1 I0 I1 I0', rep(4, 'W')].join(' ');
  assert.equal(s.ops[3].map(code).join(' '), r3);
  assert.equal(s.ops[0].map(code).slice(0, 7).join(' '), rep(6, 'F0') + ' F0');
});

test('neighbours: DualPipe pipelines run in opposite directions; DualPipeV turns on its last rank', () => {
  const d = scheduleDualPipe(8, 16);
  assert.deepEqual(neighbours(d, 0, 0), { prev: null, next: { rank: 1, phase: 0 } });
  assert.deepEqual(neighbours(d, 0, 1), { prev: { rank: 1, phase: 1 }, next: null });
  assert.deepEqual(neighbours(d, 7, 1), { prev: null, next: { rank: 6, phase: 1 } });
  const v = scheduleDualPipeV(8, 8);
  assert.deepEqual(neighbours(v, 3, 0), { prev: { rank: 2, phase: 0 }, next: { rank: 3, phase: 1 } });
  assert.deepEqual(neighbours(v, 0, 1), { prev: { rank: 1, phase: 1 }, next: null });
});

test('every schedule passes its bookkeeping check (each chunk F then B once, every deferred W done)', () => {
  for (const pp of [2, 4, 6, 8, 16]) {
    for (const chunks of [2 * pp, 2 * pp + 6, 3 * pp + 4]) {
      if (chunks % 2) continue;
      for (const m of PIPELINE_METHODS) checkSchedule(buildSchedule(m, pp, chunks));
    }
  }
  const s = scheduleDualPipe(4, 8);
  const broken: PipelineSchedule = { ...s, ops: s.ops.map((o, r) => (r === 0 ? o.slice(1) : o)) };
  assert.throws(() => checkSchedule(broken), ScheduleError);
  assert.throws(() => scheduleDualPipe(6, 10), /chunks ≥ 2·PP = 12/);
  assert.throws(() => scheduleDualPipe(5, 20), /even number of stages/);
});

// The published formulas at PP = 8 with F = 1, B = 2, W = 1, F&B = 2.5 (DeepSeek-V3 Table 2 / DualPipe README):
//   1F1B 7·3 = 21, ZB1P 7·(3−2) = 7, DualPipe and DualPipeV 3·(2.5+2−3) = 4.5
test('PP = 8: simulated bubble = formula for every method (21, 7, 4.5, 4.5)', () => {
  const t: OpTimes = { F: 1, B: 2, W: 1, FB: 2.5 };
  const rows = compareSchedules(8, 20, t);
  assert.deepEqual(rows.map((r) => r.formulaBubble), [21, 7, 4.5, 4.5]);
  assert.deepEqual(rows.map((r) => r.simulatedBubble), [21, 7, 4.5, 4.5]);
  assert.deepEqual(rows.map((r) => r.assumptionsHold), [true, true, true, true]);
  // memory and devices: 1×/1×/2×/2× parameters, PP/PP/PP+1/PP+1 activations, PP/PP/PP/PP/2 devices
  assert.deepEqual(rows.map((r) => r.paramsSimulated), [1, 1, 2, 2]);
  assert.deepEqual(rows.map((r) => r.activationSimulated), [8, 8, 9, 9]);
  assert.deepEqual(rows.map((r) => r.activationFormula), [8, 8, 9, 9]);
  assert.deepEqual(rows.map((r) => r.deviceCount), [8, 8, 8, 4]);
  // DualPipe: the middle ranks carry the formula's bubble, outer ranks less (they overlap fewer pairs)
  assert.deepEqual(rows[2].rankBubbles, [3.5, 4, 4.5, 4.5, 4.5, 4.5, 4, 3.5]);
});

test('simulated = formula across PP and timings that satisfy the stated assumptions', () => {
  // DualPipe family: F = B − W, W ≤ F, B ≤ F&B ≤ F + B. ZB1P: W ≤ F, W ≤ B − W. 1F1B: anything.
  const timings: OpTimes[] = [
    { F: 1, B: 2, W: 1, FB: 3 },
    { F: 1, B: 2, W: 1, FB: 2 },
    { F: 1.5, B: 2, W: 0.5, FB: 3 },
    { F: 2, B: 3, W: 1, FB: 4.25 },
  ];
  for (const pp of [2, 4, 6, 8, 16]) {
    for (const t of timings) {
      for (const chunks of [2 * pp, 2 * pp + 4]) {
        for (const row of compareSchedules(pp, chunks, t)) {
          assert.ok(row.assumptionsHold);
          assert.ok(Math.abs(row.simulatedBubble - row.formulaBubble) < 1e-9, `${row.name} PP=${pp} chunks=${chunks} ${JSON.stringify(t)}: ${row.simulatedBubble} vs ${row.formulaBubble}`);
        }
      }
    }
  }
  // 1F1B holds for any F, B
  const s = buildSchedule('1f1b', 8, 13);
  assert.equal(simulate(s, { F: 1.3, B: 2.9, W: 0, FB: 0 }).bubble.toFixed(9), (7 * (1.3 + 2.9)).toFixed(9));
});

test('outside the assumptions the formula is not exact (the simulation is not the formula in disguise)', () => {
  const t: OpTimes = { F: 1, B: 2, W: 0.25, FB: 2.5 }; // F ≠ B − W
  assert.equal(formulaAssumptions('dualpipe', t).holds, false);
  const sim = simulate(buildSchedule('dualpipe', 8, 20), t).bubble;
  assert.notEqual(sim, bubbleFormula('dualpipe', 8, t).value);
  const z: OpTimes = { F: 1, B: 2, W: 1.5, FB: 3 }; // W > B − W
  assert.equal(formulaAssumptions('zb1p', z).holds, false);
  assert.notEqual(simulate(buildSchedule('zb1p', 8, 20), z).bubble, bubbleFormula('zb1p', 8, z).value);
});

test('a schedule whose dependencies cannot be met is reported as a deadlock', () => {
  const s = buildSchedule('1f1b', 4, 8);
  // rank 3 (last stage) asks for chunk 1's forward input first: rank 2 can never have sent it
  const ops = s.ops.map((o) => o.slice());
  ops[2] = ops[2].filter((op) => !(op.kind === 'F' && op.chunk === 1));
  assert.throws(() => simulate({ ...s, ops }, { F: 1, B: 2, W: 1, FB: 3 }), /deadlock/);
  assert.throws(() => simulate(s, { F: 1, B: 1, W: 2, FB: 3 }), /cannot exceed the full backward/);
});

test('text and SVG timelines', () => {
  const rows = compareSchedules(4, 8, { F: 1, B: 2, W: 1, FB: 2.5 });
  const lines = textTimeline(rows[0].simulation, 2);
  assert.equal(lines.length, 4);
  assert.ok(lines[0].startsWith('rank 0 |F=F=F=F='), lines[0]);
  const bar = (l: string) => l.lastIndexOf('|');
  assert.ok(lines.every((l) => bar(l) === bar(lines[0])), 'rows are equally long');
  assert.ok(lines.every((l) => l.endsWith('bubble 9')), '1F1B at PP=4: (4−1)(1+2) = 9 on every rank');
  const svg = timelineSvg(rows, 'test & check');
  assert.ok(svg.startsWith('<?xml'));
  assert.ok(svg.includes('test &amp; check'));
  const opCount = rows.reduce((a, r) => a + r.simulation.ranks.reduce((b, k) => b + k.ops.length, 0), 0);
  assert.equal((svg.match(/<title>/g) ?? []).length, opCount);
});

test('CLI: bubble --json, --svg written atomically, bad input', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tinyseek-bubble-'));
  try {
    const file = path.join(dir, 'timeline.svg');
    const r = spawnSync(process.execPath, [CLI, 'bubble', '--pp', '8', '--chunks', '20', '--f', '1', '--b', '2', '--w', '1', '--fb', '2.5', '--json', '--svg', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { methods: { method: string; bubble_formula_value: number; bubble_simulated: number }[] };
    assert.deepEqual(j.methods.map((m) => [m.method, m.bubble_formula_value, m.bubble_simulated]), [
      ['1F1B', 21, 21], ['ZB1P', 7, 7], ['DualPipe', 4.5, 4.5], ['DualPipeV', 4.5, 4.5],
    ]);
    assert.ok(readFileSync(file, 'utf8').includes('</svg>'));
    assert.deepEqual(readdirSync(dir), ['timeline.svg'], 'no temporary file left behind');
    const text = spawnSync(process.execPath, [CLI, 'bubble', '--pp', '4', '--chunks', '8'], { encoding: 'utf8' });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /DualPipeV\s+\(PP\/2-1\)\(F&B\+B-3W\)\s+1\.5\s+1\.5/);
    const odd = spawnSync(process.execPath, [CLI, 'bubble', '--pp', '7'], { encoding: 'utf8' });
    assert.equal(odd.status, 2);
    assert.match(odd.stderr, /PP must be an even integer/);
    const bad = spawnSync(process.execPath, [CLI, 'bubble', '--svg', path.join(dir, 'no/such/dir/x.svg')], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /cannot write/);
    assert.ok(!existsSync(path.join(dir, 'no')));
  } finally {
    rmSync(dir, { recursive: true });
  }
});
