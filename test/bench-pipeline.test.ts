// The logic of `tinyseek bench pipeline`: the Chrome trace-event conversion of pipeline timelines, the
// bubble of a timeline, the per-kind op times, and the executor's replay mode, which must send and
// receive exactly what real compute does (same ops in the same order, same messages to the same
// ranks with the same tags and lengths) — checked against real runs under mpirun. No timings are
// asserted.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toTraceEvents, timelineBubble, eventName } from '../src/parallel/trace.js';
import type { TimelineEvent } from '../src/parallel/pipeline.js';
import { buildSchedule } from '../src/parallel/schedule.js';
import { loadRecipe, writeCorpus, readCorpus } from '../src/data/index.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { recipeConfig } from '../src/train/trainer.js';
import { parseRunRecipe } from '../src/train/recipe.js';
import { runJob, opTimes } from '../bench/pipeline.js';
import type { RankResult } from '../bench/_pipeline-rank.js';
import { mpiSkip } from './helpers/mpi.js';

const ev = (name: string, phase: number, chunk: number, start: number, end: number, extra: Partial<TimelineEvent> = {}): TimelineEvent => ({ name, phase, chunk, start, end, ...extra });

// rank 0: F0#0, F0#1 (waited 2 ms inside), B0#0 (input only), W0#0, an F&B pair; rank 1 starts 5 ms later
const rank0: TimelineEvent[] = [
  ev('F', 0, 0, 0, 10),
  ev('wait', 0, 1, 10.5, 12.5), ev('F', 0, 1, 10.2, 20),
  ev('B(input)', 0, 0, 21, 30),
  ev('W', 0, 0, 30, 34),
  ev('FB', 0, 2, 35, 50, { bPhase: 1, bChunk: 1 }),
];
const rank1: TimelineEvent[] = [ev('wait', 0, 0, 0, 6), ev('F', 0, 0, 0, 16), ev('B', 0, 0, 16, 40)];

test('trace events: valid JSON, every op and wait present once, named, on its rank and thread, monotone per rank', () => {
  const t = JSON.parse(JSON.stringify(toTraceEvents([{ rank: 0, startedAt: 1000, timeline: rank0 }, { rank: 1, startedAt: 1005, timeline: rank1, label: 'rank 1: stage 1' }]))) as ReturnType<typeof toTraceEvents>;
  assert.equal(t.displayTimeUnit, 'ms');
  const xs = t.traceEvents.filter((e) => e.ph === 'X');
  assert.equal(xs.length, rank0.length + rank1.length, 'one complete event per timeline entry');
  for (const e of xs) {
    assert.ok(Number.isInteger(e.ts) && Number.isInteger(e.dur) && e.dur! >= 0, `ts/dur are integer µs: ${JSON.stringify(e)}`);
    assert.equal(e.tid, e.cat === 'wait' ? 1 : 0, 'waits on thread 1, ops on thread 0');
  }
  assert.deepEqual(xs.filter((e) => e.pid === 0 && e.tid === 0).map((e) => e.name), ['F0 #0', 'F0 #1', 'I0 #0', 'W0 #0', 'F0 #2 & B1 #1']);
  assert.deepEqual(xs.filter((e) => e.pid === 1).map((e) => e.name), ['F0 #0', 'wait (chunk 0, phase 0)', 'B0 #0'], 'an op before the wait it encloses');
  // the shared clock: rank 1 started 5 ms after rank 0, the origin
  assert.equal(xs.find((e) => e.pid === 0 && e.name === 'F0 #0')!.ts, 0);
  assert.equal(xs.find((e) => e.pid === 1 && e.name === 'F0 #0')!.ts, 5000);
  assert.equal(xs.find((e) => e.pid === 0 && e.name === 'W0 #0')!.dur, 4000);
  for (const pid of [0, 1]) {
    const ops = xs.filter((e) => e.pid === pid && e.tid === 0);
    for (let i = 1; i < ops.length; i++) assert.ok(ops[i].ts! >= ops[i - 1].ts! + ops[i - 1].dur!, `rank ${pid}: ops do not overlap and go forward in time`);
  }
  const names = t.traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.args!.name);
  assert.deepEqual(names, ['rank 0', 'rank 1: stage 1']);
  assert.equal(eventName(ev('B', 1, 7, 0, 1)), 'B1 #7');
});

test('bubble of a hand-built timeline: idle = step − (op spans − the waits inside them)', () => {
  // ops: 10 + 9.8 + 9 + 4 + 15 = 47.8 ms, waits 2 ms → busy 45.8 of 60
  const b = timelineBubble(rank0, 60);
  assert.ok(Math.abs(b.busyMs - 45.8) < 1e-9, `busy ${b.busyMs}`);
  assert.ok(Math.abs(b.idleMs - 14.2) < 1e-9, `idle ${b.idleMs}`);
  assert.ok(Math.abs(b.bubble - 14.2 / 60) < 1e-12);
  // rank 1: 16 + 24 − 6 = 34 of 40
  assert.ok(Math.abs(timelineBubble(rank1, 40).bubble - 6 / 40) < 1e-12);
  assert.equal(timelineBubble([], 10).bubble, 1, 'no ops: all idle');
  assert.throws(() => timelineBubble(rank0, 0), /total time must be > 0 ms, found 0/);
  assert.throws(() => timelineBubble([ev('F', 0, 0, 5, 4)], 10), /ends \(4\) before it starts \(5\)/);
});

test('op times: per (kind, stage) medians without the waits inside the ops, averaged over the stages', () => {
  // a rank running stage 0, one running stage 1, and a DualPipe-like rank whose phase 0 is stage 1
  const s0: TimelineEvent[] = [
    ev('F', 0, 0, 0, 10), ev('F', 0, 1, 10, 22), ev('F', 0, 2, 22, 30), // 10, 12, 8 → 10
    ev('B', 0, 0, 50, 70), ev('B(input)', 0, 1, 70, 82), ev('W', 0, 1, 82, 90),
  ];
  const s1: TimelineEvent[] = [
    ev('wait', 0, 0, 30, 35), ev('F', 0, 0, 30, 49), // 19 − 5 = 14
    ev('B', 0, 0, 50, 80), ev('W', 0, 1, 80, 90),
  ];
  const dual: TimelineEvent[] = [
    ev('FB', 0, 3, 0, 40, { bPhase: 1, bChunk: 1 }), // forward of stage 1: 40
    ev('FB', 1, 3, 40, 70, { bPhase: 0, bChunk: 1 }), // forward of stage 0: 30
  ];
  const t = opTimes([{ timeline: s0, stages: [0] }, { timeline: s1, stages: [1] }, { timeline: dual, stages: [1, 0] }]);
  assert.equal(t.F, 12); // (10 + 14) / 2
  assert.equal(t.B, 25); // (20 + 30) / 2
  assert.equal(t.W, 9); // (8 + 10) / 2
  assert.equal(t.B_input, 12);
  assert.equal(t.FB, 35);
  assert.deepEqual(t.perStage['F:1'], [14, 1]);
  assert.deepEqual(t.perStage['FB:1'], [40, 1]);
  assert.throws(() => opTimes([{ timeline: [ev('F', 0, 0, 0, 1)], stages: [0] }]), /no B op in the measured timelines/);
});

// ---- replay mode against real compute, under mpirun

const skip = mpiSkip;

let dir = '';
const recipe = () => ({
  kind: 'pretrain', name: 'bench-pipeline-test', seed: 3,
  model: { preset: 'nano', overrides: { num_hidden_layers: 4 } },
  tokenizer: { path: path.join(dir, 'tok') },
  data: { file: path.join(dir, 'corpus.jsonl') },
  train: { steps: 1, batchSize: 8, seqLen: 16, lr: { peak: 0.002, warmup: 2 } },
  eval: { every: 0, final: false },
  checkpoint: { every: 0 },
});

before(() => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-bench-pp-'));
  writeCorpus(path.join(dir, 'corpus.jsonl'), loadRecipe('default'), { seed: 3, tokens: 8000 });
  Tokenizer.train(readCorpus(path.join(dir, 'corpus.jsonl')).map((d) => d.text), { vocabSize: 300 }).save(path.join(dir, 'tok'));
});

const opsOf = (r: RankResult) => r.runs[0].timeline.filter((e) => e.name !== 'wait').map((e) => `${e.name}${e.phase}#${e.chunk}${e.bChunk !== undefined ? `&${e.bPhase}#${e.bChunk}` : ''}`);

for (const [method, pp, ranks, chunks] of [['1f1b', 2, 2, 4], ['dualpipev', 4, 2, 8]] as const) {
  test(`replay mode, ${method} PP ${pp} on ${ranks} ranks, one step: the ops and messages of real compute, each op a sleep`, { skip, timeout: 180_000 }, () => {
    const D = recipeConfig(parseRunRecipe(recipe()), 300).hiddenSize;
    const real = runJob({ mode: 'train', recipe: recipe(), out: path.join(dir, `${method}-run`), pp, method, chunks, result: path.join(dir, `${method}-real`), traffic: true, trace: path.join(dir, `${method}-trace`) }, ranks, 120_000).results;
    const times = { F: 2, B: 4, W: 1, FB: 5 };
    const replay = runJob({ mode: 'replay', pp, method, chunks, actShape: [8 / chunks, 16, D], times, steps: 1, result: path.join(dir, `${method}-replay`), traffic: true }, ranks, 120_000).results;
    const s = buildSchedule(method, pp, chunks);
    for (let r = 0; r < ranks; r++) {
      const a = real[r].runs[0], b = replay[r].runs[0];
      assert.equal(opsOf(real[r]).length, s.ops[r].length, `rank ${r}: every op of the schedule ran`);
      assert.deepEqual(opsOf(replay[r]), opsOf(real[r]), `rank ${r}: same ops in the same order`);
      assert.ok(a.traffic!.length > 0, `rank ${r} exchanged messages`);
      assert.deepEqual(b.traffic, a.traffic, `rank ${r}: same messages (direction, peer, tag, float32 count) in the same order`);
      for (const m of a.traffic!) assert.equal(m.floats, (8 / chunks) * 16 * D, 'a message is one micro-batch of activations [b, T, D]');
      assert.equal(b.peakInFlight, a.peakInFlight, `rank ${r}: same peak of chunks in flight`);
      assert.ok(a.peakActivationBytes > 0, 'real compute measures the activation bytes it keeps');
      assert.equal(b.peakActivationBytes, 0, 'replay keeps no activations');
      assert.equal(b.loss, 0, 'replay computes nothing');
      // the replay's timeline converts into a valid trace with its ops monotone in time
      const t = toTraceEvents([{ rank: r, startedAt: b.startedAt, timeline: b.timeline }]).traceEvents.filter((e) => e.ph === 'X' && e.tid === 0);
      assert.equal(t.length, s.ops[r].length);
      for (let i = 1; i < t.length; i++) assert.ok(t[i].ts! >= t[i - 1].ts!, 'ops in time order');
    }
    assert.equal(real.reduce((n, x) => n + x.runs[0].tokens, 0), 8 * 16, 'real compute ran the model on the whole batch');
    // the trainer's --trace files: one per rank, every op of the step as a complete event, on the epoch clock
    for (let r = 0; r < ranks; r++) {
      const t = JSON.parse(fs.readFileSync(path.join(dir, `${method}-trace.rank${r}.json`), 'utf8')) as ReturnType<typeof toTraceEvents>;
      const ops = t.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'compute');
      assert.equal(ops.length, s.ops[r].length, `rank ${r}: every op in the --trace file`);
      assert.ok(ops.every((e) => e.pid === r && Math.abs(e.ts! / 1000 - real[r].runs[0].startedAt) < 3_600_000), 'µs since the epoch, pid = rank');
    }
  });
}
