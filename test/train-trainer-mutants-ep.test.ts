// The trainer's expert-parallel and multi-rank paths, sized for mutation testing (docs/mutation.md):
// a 4-step run on a two-layer nano model (one MoE layer, one MoE MTP layer, 8 routed experts, top-2)
// under real Open MPI, against the same run in one process. test/parallel-ep.test.ts checks the same
// layouts at more length; this file is the one the trainer's mutation target runs, with the ranks'
// coverage passed back to the runner (helpers/child-coverage.ts), so a mutant in the EP, ZeRO-1 or
// rank-0-only code is run against it instead of counting as uncovered.
//   EP 2:                 losses, gradients, expert counts, the all-to-all metrics, the gathered
//                         checkpoint (model and AdamW moments) and final model; an interrupted run
//                         resumes bit-identically; rank 0 alone writes the run's files.
//   EP 2 + ZeRO-1:        the experts' moments stay whole (one replica), the rest are sharded.
//   DP 2 × EP 2 + ZeRO-1: the experts' gradients are summed over their replicas, their moments sharded
//                         over them; the log line's memory figures.
//   EP 3 over 8 experts:  refused on every rank with one message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAsFloat32 } from '../src/io/index.js';
import { mpiSkip, mpiEnv, mpirun } from './helpers/mpi.js';
import { childCoverage } from './helpers/child-coverage.js';
import { assertGradsClose, readDump as read, readGrads } from './helpers/dp-dump.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/test
const worker = path.join(here, 'helpers', 'dp-worker.js');
const skip = mpiSkip;
const TOL = 1e-5;
const E = 8, K = 2, B = 4, T = 16, STEPS = 4;

let dir = '';
const recipe = () => ({
  kind: 'pretrain', name: 'ep-mutants', seed: 6,
  model: { preset: 'nano', overrides: { num_hidden_layers: 2, first_k_dense_replace: 1, num_nextn_predict_layers: 1 } },
  tokenizer: { vocabSize: 300 },
  data: { file: path.join(dir, 'corpus.jsonl') },
  train: { steps: STEPS, batchSize: B, seqLen: T, lr: { peak: 0.01, warmup: 1, schedule: 'constant' }, mtpWeight: 0.3, biasUpdateSpeed: 0.01 },
  eval: { every: 0, final: false },
  checkpoint: { every: 2 },
});

interface EpStats { ranks: number; dp: number; layers: number; dispatch_bytes: number; combine_bytes: number; backward_bytes: number; tokens: number; rows: number; ranks_per_token: number; nodes_per_token: number; remote_nodes_per_token: number }
interface Step { step: number; loss: number; ce: number; grad_norm: number; counts: number[][]; dp?: { ranks: number; buckets: number; bytes: number }; ep?: EpStats }
interface Dump { names: [string, number][]; steps: Step[] }
const readDump = (prefix: string, rank = 0): Dump => read<Step>(prefix, rank);

/** Runs the worker on n ranks (n = 1: one process, no MPI); returns its stderr. `timeout` ends a hung job even if this process is killed. */
function run(n: number, job: Record<string, unknown>, expectOk = true): { status: number | null; stderr: string } {
  const cov = childCoverage(mpiEnv);
  const args = [worker, JSON.stringify(job)];
  const [cmd, argv] = n === 1 ? [process.execPath, args] as const : mpirun(n, args);
  const r = spawnSync('timeout', ['-k', '5', '150', cmd, ...argv], { env: cov.env, encoding: 'utf8' });
  cov.collect();
  if (expectOk) assert.equal(r.status, 0, `${n} rank(s) failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { status: r.status, stderr: r.stderr };
}

const tensors = (file: string) => new Map(loadAsFloat32(file).map((r) => [r.name, r.data as Float32Array]));
const ckpt = (out: string, step: number, file: string) => path.join(out, 'checkpoints', `step-${String(step).padStart(6, '0')}`, file);

/** Every tensor of b in a (and no other), each within `tol` relative (L2; Adam steps amplify float32 summation-order differences in tiny gradients to ~1e-5). */
function assertClose(fa: string, fb: string, what: string, tol = 1e-4): void {
  const A = tensors(fa), Bm = tensors(fb);
  assert.deepEqual([...A.keys()].sort(), [...Bm.keys()].sort(), `${what}: the same tensors (every expert, gathered)`);
  for (const [n, x] of A) {
    const y = Bm.get(n)!;
    let d = 0, m = 0;
    for (let i = 0; i < x.length; i++) { d += (x[i]! - y[i]!) ** 2; m += y[i]! ** 2; }
    assert.ok(Math.sqrt(d) <= tol * Math.sqrt(m) || d === 0, `${what}: ${n} differs (relative ${Math.sqrt(d / m)})`);
  }
}

/** Each gradient rank `r` holds equals the one-process gradient of that name, and the dump holds nothing else. */
function assertGrads(ref: Dump, g0: Float32Array, got: Dump, g: Float32Array, what: string): void {
  assert.equal(assertGradsClose(ref, g0, got, g, what, TOL), g.length, `${what}: the dump holds the named gradients only`);
}

function assertLosses(ref: Dump, got: Dump, what: string): void {
  assert.deepEqual(got.steps.map((s) => s.step), ref.steps.map((s) => s.step), what);
  got.steps.forEach((s, i) => {
    const r = ref.steps[i]!;
    for (const k of ['loss', 'ce', 'grad_norm'] as const) assert.ok(Math.abs(s[k] - r[k]) <= TOL * Math.max(1, Math.abs(r[k])), `${what} step ${s.step}: ${k} ${s[k]} vs ${r[k]}`);
  });
  assert.deepEqual(got.steps.map((s) => s.counts), ref.steps.map((s) => s.counts), `${what}: the global per-expert token counts of every step`);
}

/** The experts rank r holds: [e·E/EP, (e+1)·E/EP) of each MoE layer, e = r mod EP. */
function heldExperts(d: Dump): number[] {
  return [...new Set(d.names.map(([n]) => /\.experts\.(\d+)\./.exec(n)?.[1]).filter((x): x is string => !!x).map(Number))].sort((a, b) => a - b);
}

before(() => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-trainer-ep-'));
  const docs = Array.from({ length: 80 }, (_, i) => ({ text: `${i} + ${(i * 7) % 13} = ${i + ((i * 7) % 13)}. Twice ${i} is ${2 * i}; ${i} minus ${i % 5} is ${i - (i % 5)}.`, problems: [] }));
  fs.writeFileSync(path.join(dir, 'corpus.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  run(1, { recipe: recipe(), out: path.join(dir, 'ref'), dp: 1, dump: path.join(dir, 'ref') });
});

after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

test('EP 2: losses, gradients, expert counts and all-to-all metrics equal one process; the checkpoint and final model are gathered whole; rank 0 alone writes files; resume is exact', { skip, timeout: 400_000 }, () => {
  const ref = readDump(path.join(dir, 'ref'));
  const g0 = readGrads(path.join(dir, 'ref'));
  const out = path.join(dir, 'ep2');
  const { stderr } = run(2, { recipe: recipe(), out, dp: 1, ep: 2, bucketBytes: 8000, dump: out, quiet: false });
  const got = readDump(out);
  assertLosses(ref, got, 'EP 2');
  for (const r of [0, 1]) {
    const d = readDump(out, r);
    assertGrads(ref, g0, d, readGrads(out, r), `rank ${r}`);
    assert.deepEqual(heldExperts(d), [0, 1, 2, 3].map((j) => r * 4 + j), `rank ${r} holds its four experts`);
    assert.deepEqual(d.steps.map((s) => s.loss), got.steps.map((s) => s.loss), `rank ${r} reports the global loss`);
  }
  for (const s of got.steps) {
    const e = s.ep!;
    assert.deepEqual([e.ranks, e.dp, e.layers], [2, 1, 2], `EP metrics: 2 EP ranks, 1 replica, 2 MoE layers: ${JSON.stringify(e)}`);
    assert.equal(e.rows, K * e.tokens, `top-${K}: ${JSON.stringify(e)}`);
    assert.equal(e.tokens, B * T + B * (T - 1), 'the global batch\'s tokens through the MoE layer and the MTP layer (T − 1 positions)');
    assert.ok(e.ranks_per_token > 1 && e.ranks_per_token < 2, `some tokens reach both ranks, some one: ${e.ranks_per_token}`);
    assert.equal(e.nodes_per_token, 1, 'one node');
    assert.equal(e.remote_nodes_per_token, 0);
    assert.ok(e.dispatch_bytes > 0 && e.dispatch_bytes === e.combine_bytes && e.backward_bytes === 2 * e.dispatch_bytes, JSON.stringify(e));
    assert.equal(e.dispatch_bytes % (64 * 4), 0, 'whole rows of D = 64 floats');
    assert.ok(e.dispatch_bytes < e.rows * 64 * 4, 'only the rows whose expert is on the other rank cross');
    assert.equal(s.dp!.ranks, 2);
    assert.ok(s.dp!.buckets > 1, `8000-byte buckets: ${s.dp!.buckets}`);
  }
  // rank 0 writes; the other rank neither logs nor writes (one resume line, one metrics line per step)
  assert.equal(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, STEPS);
  assert.doesNotMatch(stderr, /zero1/);
  for (const s of [2, STEPS]) {
    assertClose(ckpt(out, s, 'model.safetensors'), ckpt(path.join(dir, 'ref'), s, 'model.safetensors'), `EP 2 checkpoint of step ${s}`);
    assertClose(ckpt(out, s, 'optimizer.safetensors'), ckpt(path.join(dir, 'ref'), s, 'optimizer.safetensors'), `EP 2 AdamW moments at step ${s}`);
  }
  assertClose(path.join(out, 'final', 'model.safetensors'), path.join(dir, 'ref', 'final', 'model.safetensors'), 'EP 2 final model');
  assert.ok(fs.existsSync(path.join(out, 'final', 'tokenizer.json')), 'the final model carries the tokenizer');

  // stop after step 3 (a checkpoint of the gathered model and moments), then resume: bit-identical
  const part = path.join(dir, 'ep2-part');
  run(2, { recipe: recipe(), out: part, dp: 1, ep: 2, bucketBytes: 8000, dump: part, stopAfter: 3 });
  assert.ok(!fs.existsSync(path.join(part, 'final')));
  const resumed = run(2, { recipe: recipe(), out: part, dp: 1, ep: 2, bucketBytes: 8000, dump: part, resume: true, quiet: false });
  assert.equal(resumed.stderr.match(/resume: continuing from step 3/g)?.length, 1, `rank 0 alone says it resumes:\n${resumed.stderr}`);
  assert.deepEqual(fs.readFileSync(path.join(part, 'final', 'model.safetensors')), fs.readFileSync(path.join(out, 'final', 'model.safetensors')), 'the resumed run ends bit-identical to the uninterrupted one');
  assert.deepEqual(readDump(part).steps.map((s) => s.loss), got.steps.slice(3).map((s) => s.loss), 'the resumed step\'s loss');
});

test('ZeRO-1 under EP: with one replica per expert (EP 2) the experts\' moments stay whole; with DP 2 × EP 2 they are sharded over the replicas; both train as one process', { skip, timeout: 400_000 }, () => {
  const ref = readDump(path.join(dir, 'ref'));
  const g0 = readGrads(path.join(dir, 'ref'));
  for (const [dp, n] of [[1, 2], [2, 4]] as const) {
    const out = path.join(dir, `dp${dp}ep2z`);
    const { stderr } = run(n, { recipe: recipe(), out, dp, ep: 2, zero1: true, dump: out, quiet: false });
    const got = readDump(out);
    assertLosses(ref, got, `DP ${dp} × EP 2 + ZeRO-1`);
    for (let r = 0; r < n; r++) assertGrads(ref, g0, readDump(out, r), readGrads(out, r), `DP ${dp} × EP 2 rank ${r}`);
    assert.equal(got.steps[0]!.ep!.dp, dp);
    assertClose(ckpt(out, STEPS, 'optimizer.safetensors'), ckpt(path.join(dir, 'ref'), STEPS, 'optimizer.safetensors'), `DP ${dp} × EP 2 + ZeRO-1: the gathered AdamW moments`);
    assertClose(path.join(out, 'final', 'model.safetensors'), path.join(dir, 'ref', 'final', 'model.safetensors'), `DP ${dp} × EP 2 + ZeRO-1: final model`);
    // the memory line: 8 bytes (m and v) per parameter a rank holds; shared ones sharded over the
    // world, the experts over their `dp` replicas
    const names = readDump(out).names;
    const shared = names.filter(([nm]) => !nm.includes('.experts.')).reduce((a, [, k]) => a + k, 0);
    const experts = names.filter(([nm]) => nm.includes('.experts.')).reduce((a, [, k]) => a + k, 0);
    const m = /zero1: AdamW moments sharded over (\d+) ranks \(experts' over their (\d+) replicas\): ([\d.]+) MiB per rank instead of ([\d.]+) MiB/.exec(stderr);
    assert.ok(m, `the ZeRO-1 line:\n${stderr}`);
    assert.deepEqual([Number(m[1]), Number(m[2])], [n, dp]);
    const mib = (b: number) => Number((b / 2 ** 20).toFixed(2));
    assert.equal(Number(m[4]), mib(8 * (shared + experts)), 'unsharded: the moments of every parameter this rank holds');
    assert.ok(Math.abs(Number(m[3]) - mib(8 * (shared / n + experts / dp))) <= 0.011, `sharded: ${m[3]} MiB vs ${mib(8 * (shared / n + experts / dp))}`);
    assert.equal(stderr.match(/zero1:/g)!.length, 1, 'rank 0 alone logs');
  }
});

test('EP 3 does not divide 8 experts: every rank stops with one message, nothing is trained', { skip, timeout: 120_000 }, () => {
  const out = path.join(dir, 'ep3');
  const r = run(3, { recipe: recipe(), out, dp: 1, ep: 3, dump: out }, false);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--ep 3 does not divide the model's 8 routed experts \(n_routed_experts\); choose an EP size that divides 8/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(!fs.existsSync(path.join(out, 'metrics.jsonl')));
});
