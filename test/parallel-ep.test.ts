// Expert parallelism over real Open MPI (`mpirun --oversubscribe`, up to 4 ranks on this 2-core
// machine), on the nano model (8 routed experts, top-2, an MoE layer and an MoE MTP layer): for
// EP ∈ {2, 4} and DP 2 × EP 2 (plain and ZeRO-1) the step-1 loss and every gradient equal the
// single-process step on the same global batch (each rank checking the experts it holds), the
// per-expert token counts are equal exactly, and five steps later the gathered full model (and the
// AdamW moments in the checkpoint) agree. A checkpoint written under EP resumes in the same layout
// bit-exactly, in one process and under another layout. Node-limited routing bounds the nodes per
// token. Bad layouts (EP not dividing the experts, DP × EP ≠ world, --ep-groups not matching
// n_group) and a model directory with expert tensors missing end every rank with one message.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe, writeCorpus, readCorpus } from '../src/data/index.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { loadAsFloat32, saveSafetensors } from '../src/io/index.js';
import { mpiSkip, mpiEnv, mpirun } from './helpers/mpi.js';
import { assertGradsClose as shared, readDump as read, readGrads } from './helpers/dp-dump.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/test
const worker = path.join(here, 'helpers', 'dp-worker.js');
const cli = path.join(here, '..', 'src', 'cli', 'index.js');
const TOL = 1e-5;

const skip = mpiSkip;

const env = mpiEnv;

let dir = '';
function recipe(steps: number, overrides: Record<string, unknown> = {}) {
  return {
    kind: 'pretrain', name: 'ep-test', seed: 3,
    model: { preset: 'nano', overrides },
    tokenizer: { path: path.join(dir, 'tok') },
    data: { file: path.join(dir, 'corpus.jsonl') },
    train: { steps, batchSize: 4, seqLen: 32, lr: { peak: 0.002, warmup: 2 }, mtpWeight: 0.3, biasUpdateSpeed: 0.001 },
    eval: { every: 0, final: false },
    checkpoint: { every: 0 },
  };
}

interface EpStats { ranks: number; dp: number; dispatch_bytes: number; combine_bytes: number; backward_bytes: number; tokens: number; rows: number; ranks_per_token: number; nodes_per_token: number }
interface Dump { names: [string, number][]; steps: { step: number; loss: number; counts: number[][]; ep?: EpStats }[] }
const readDump = (prefix: string, rank = 0): Dump => read<Dump['steps'][number]>(prefix, rank);

function runWorker(n: number, job: Record<string, unknown>): void {
  const args = [worker, JSON.stringify(job)];
  const [cmd, argv] = n === 1 ? [process.execPath, args] as const : mpirun(n, args);
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${n} rank(s) failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
}

const assertGradsClose = (ref: Dump, refGrads: Float32Array, got: Dump, grads: Float32Array, what: string) => { shared(ref, refGrads, got, grads, what, TOL); };

/** ‖a − b‖ / ‖b‖ ≤ TOL per tensor of two safetensors files (names filtered by prefix). */
function assertTensorsClose(fa: string, fb: string, what: string, prefix = ''): void {
  const A = new Map(loadAsFloat32(fa).map((r) => [r.name, r.data as Float32Array]));
  const B = new Map(loadAsFloat32(fb).map((r) => [r.name, r.data as Float32Array]));
  assert.deepEqual([...A.keys()].sort(), [...B.keys()].sort(), `${what}: the same tensors (the full model, every expert)`);
  for (const [n, x] of A) {
    if (!n.startsWith(prefix)) continue;
    const y = B.get(n)!;
    let d = 0, m = 0;
    for (let i = 0; i < x.length; i++) { d += (x[i] - y[i]) ** 2; m += y[i] ** 2; }
    assert.ok(Math.sqrt(d) <= TOL * Math.sqrt(m), `${what}: ${n} differs (relative ${Math.sqrt(d / m)})`);
  }
}

const finalCkpt = (out: string, file: string) => {
  const root = path.join(out, 'checkpoints');
  const name = fs.readFileSync(path.join(root, 'latest'), 'utf8').trim();
  return path.join(root, name, file);
};

before(() => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-ep-'));
  writeCorpus(path.join(dir, 'corpus.jsonl'), loadRecipe('default'), { seed: 3, tokens: 20000 });
  Tokenizer.train(readCorpus(path.join(dir, 'corpus.jsonl')).map((d) => d.text), { vocabSize: 400 }).save(path.join(dir, 'tok'));
  runWorker(1, { recipe: recipe(5), out: path.join(dir, 'ref'), dp: 1, dump: path.join(dir, 'ref') });
});

for (const [dp, ep, zero1] of [[1, 2, false], [1, 4, false], [2, 2, false], [2, 2, true]] as const) {
  const name = `${dp > 1 ? `DP ${dp} × ` : ''}EP ${ep}${zero1 ? ' + ZeRO-1' : ''}`;
  test(`${name}: step-1 loss and gradients, expert counts and 5-step weights equal the single process`, { skip, timeout: 120_000 }, () => {
    const n = dp * ep;
    const out = path.join(dir, `dp${dp}ep${ep}${zero1 ? 'z' : ''}`);
    runWorker(n, { recipe: recipe(5), out, dp, ep, zero1, bucketBytes: 16_000, dump: out });
    const ref = readDump(path.join(dir, 'ref'));
    const g0 = readGrads(path.join(dir, 'ref'));
    const got = readDump(out);
    const l0 = ref.steps[0].loss, l1 = got.steps[0].loss;
    assert.ok(Math.abs(l1 - l0) <= TOL * Math.abs(l0), `step-1 loss ${l1} vs single process ${l0}`);
    const E = 8, layers = 2; // nano: 8 routed experts in layer 1 and in the MTP layer
    for (let r = 0; r < n; r++) {
      const d = readDump(out, r);
      assertGradsClose(ref, g0, d, readGrads(out, r), `rank ${r}`);
      // rank r = (d, e) holds experts [e·E/EP, (e+1)·E/EP) of every MoE layer, and nothing else of the experts
      const e = r % ep;
      const held = new Set(d.names.map(([nm]) => /\.experts\.(\d+)\./.exec(nm)?.[1]).filter((x): x is string => !!x).map(Number));
      assert.deepEqual([...held].sort((a, b) => a - b), Array.from({ length: E / ep }, (_, j) => e * (E / ep) + j), `rank ${r} holds its experts only`);
      assert.equal(d.names.filter(([nm]) => nm.includes('.experts.')).length, layers * (E / ep) * 3, `rank ${r}: 3 weights per held expert per MoE layer`);
      assert.deepEqual(d.steps.map((s) => s.loss), got.steps.map((s) => s.loss), `rank ${r} reports the global loss`);
    }
    assert.deepEqual(got.steps.map((s) => s.counts), ref.steps.map((s) => s.counts), 'per-expert token counts of every step (global)');
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(got.steps[i].loss - ref.steps[i].loss) <= TOL * ref.steps[i].loss, `loss of step ${i + 1}`);
    const s = got.steps[0].ep!;
    assert.equal(s.ranks, ep);
    assert.equal(s.dp, dp);
    // every routed row of a token is dispatched once and combined once; rows whose expert lives on
    // another rank cross the network: 4 bytes × D per row each way, and backward moves both again
    assert.ok(s.dispatch_bytes > 0 && s.dispatch_bytes === s.combine_bytes && s.backward_bytes === 2 * s.dispatch_bytes, JSON.stringify(s));
    assert.ok(s.dispatch_bytes <= s.rows * 64 * 4 && s.dispatch_bytes % (64 * 4) === 0, `bytes are whole rows of D = 64 floats: ${JSON.stringify(s)}`);
    assertTensorsClose(path.join(out, 'final', 'model.safetensors'), path.join(dir, 'ref', 'final', 'model.safetensors'), 'weights after 5 steps');
    assertTensorsClose(finalCkpt(out, 'optimizer.safetensors'), finalCkpt(path.join(dir, 'ref'), 'optimizer.safetensors'), 'AdamW moments', 'm.');
  });
}

test('an EP 2 checkpoint resumes exactly under EP 2, and in one process and under DP 2 × EP 2', { skip, timeout: 180_000 }, () => {
  const full = path.join(dir, 'dp1ep2');
  if (!fs.existsSync(path.join(full, 'final'))) runWorker(2, { recipe: recipe(5), out: full, dp: 1, ep: 2, bucketBytes: 16_000, dump: full });
  const part = path.join(dir, 'resume-ep2');
  runWorker(2, { recipe: recipe(5), out: part, dp: 1, ep: 2, bucketBytes: 16_000, dump: part, stopAfter: 3 });
  fs.cpSync(part, path.join(dir, 'resume-one'), { recursive: true });
  fs.cpSync(part, path.join(dir, 'resume-dp2ep2'), { recursive: true });
  runWorker(2, { recipe: recipe(5), out: part, dp: 1, ep: 2, bucketBytes: 16_000, dump: part, resume: true });
  assert.deepEqual(fs.readFileSync(path.join(part, 'final', 'model.safetensors')), fs.readFileSync(path.join(full, 'final', 'model.safetensors')), 'bit-identical to the uninterrupted EP 2 run');
  const one = path.join(dir, 'resume-one');
  runWorker(1, { recipe: recipe(5), out: one, dp: 1, dump: one, resume: true });
  assertTensorsClose(path.join(one, 'final', 'model.safetensors'), path.join(dir, 'ref', 'final', 'model.safetensors'), 'EP checkpoint resumed in one process');
  const other = path.join(dir, 'resume-dp2ep2');
  runWorker(4, { recipe: recipe(5), out: other, dp: 2, ep: 2, bucketBytes: 16_000, dump: other, resume: true });
  assertTensorsClose(path.join(other, 'final', 'model.safetensors'), path.join(dir, 'ref', 'final', 'model.safetensors'), 'EP 2 checkpoint resumed under DP 2 × EP 2');
});

test('node-limited routing: with --ep-groups 2 and topk_group 1 every token reaches one node; without the limit more', { skip, timeout: 120_000 }, () => {
  // 4 EP ranks as 2 nodes of 2; n_group 2 makes gate group g = node g's experts; top-4 of 8 experts
  for (const [limit, topkGroup] of [[true, 1], [false, 2]] as const) {
    const out = path.join(dir, `nodes${topkGroup}`);
    const over = { n_group: 2, topk_group: topkGroup, num_experts_per_tok: 4 };
    runWorker(4, { recipe: recipe(1, over), out, dp: 1, ep: 4, epGroups: 2, dump: out });
    const s = readDump(out).steps[0].ep!;
    assert.equal(s.rows, 4 * s.tokens);
    if (limit) {
      assert.equal(s.nodes_per_token, 1, `every token's 4 experts on one node: ${JSON.stringify(s)}`);
      assert.ok(s.ranks_per_token <= 2);
    } else assert.ok(s.nodes_per_token > 1 && s.nodes_per_token <= 2, `unlimited routing spans both nodes for some tokens: ${JSON.stringify(s)}`);
  }
});

/** Runs the CLI under mpirun; returns stderr and asserts a non-zero exit with `message` once per rank and no stack trace. */
function expectCollectiveError(n: number, args: string[], message: RegExp): string {
  const [cmd, argv] = mpirun(n, [cli, ...args]);
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 90_000 });
  assert.notEqual(r.status, 0, `the job fails:\n${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => message.test(l));
  assert.equal(lines.length, n, `one message per rank (${n}):\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  return r.stderr;
}

test('bad layouts end every rank with one clear message', { skip, timeout: 180_000 }, () => {
  fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify(recipe(2)));
  const base = ['pretrain', '--config', path.join(dir, 'r.json'), '--quiet'];
  expectCollectiveError(3, [...base, '--out', path.join(dir, 'bad-a'), '--ep', '3'], /--ep 3 does not divide the model's 8 routed experts/);
  expectCollectiveError(2, [...base, '--out', path.join(dir, 'bad-b'), '--dp', '2', '--ep', '2'], /--dp 2 × --ep 2 = 4 ranks, but mpirun started 2/);
  expectCollectiveError(2, [...base, '--out', path.join(dir, 'bad-c'), '--ep', '2', '--ep-groups', '2'], /--ep-groups 2: node-limited routing .* n_group must equal 2 \(found n_group 4/);
  const alone = spawnSync(process.execPath, [cli, ...base, '--out', path.join(dir, 'bad-d'), '--ep', '2'], { env, encoding: 'utf8' });
  assert.equal(alone.status, 2);
  assert.match(alone.stderr, /--dp 1 --ep 2 needs 2 processes: start it as `mpirun -np 2/);
});

test('a model directory whose expert tensors are missing ends every EP rank with one message naming them', { skip, timeout: 120_000 }, () => {
  const src = path.join(dir, 'dp1ep2', 'final');
  if (!fs.existsSync(src)) runWorker(2, { recipe: recipe(5), out: path.join(dir, 'dp1ep2'), dp: 1, ep: 2, bucketBytes: 16_000, dump: path.join(dir, 'dp1ep2') });
  const bad = path.join(dir, 'no-expert-5');
  fs.cpSync(src, bad, { recursive: true });
  const kept = loadAsFloat32(path.join(src, 'model.safetensors')).filter((r) => !r.name.startsWith('model.layers.1.mlp.experts.5.'));
  saveSafetensors(path.join(bad, 'model.safetensors'), kept.map((r) => ({ name: r.name, dtype: 'F32', shape: [...r.shape], data: r.data as Float32Array })));
  fs.writeFileSync(path.join(dir, 'init.json'), JSON.stringify({ ...recipe(2), model: { preset: 'nano', init: bad } }));
  const err = expectCollectiveError(2, ['pretrain', '--config', path.join(dir, 'init.json'), '--out', path.join(dir, 'bad-e'), '--ep', '2', '--quiet'], /no-expert-5: tensors do not match the model: 3 missing/);
  for (const w of ['gate_proj', 'up_proj', 'down_proj']) assert.match(err, new RegExp(`model\\.layers\\.1\\.mlp\\.experts\\.5\\.${w}\\.weight`));
});

test('under EP the periodic and final evaluations run on every rank (each takes part in the all-to-alls), rank 0 records them once', { skip, timeout: 120_000 }, () => {
  const out = path.join(dir, 'ep2-eval');
  const r = { ...recipe(2), eval: { every: 1, final: true, n: 2, difficulties: [1], families: ['add'], maxNewTokens: 8 } };
  runWorker(2, { recipe: r, out, dp: 1, ep: 2, dump: out });
  const lines = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; eval?: unknown });
  assert.deepEqual(lines.filter((l) => l.eval).map((l) => l.step), [1, 2], 'one evaluation record per step');
  const ev = JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8')) as { step: number; families: { family: string }[] };
  assert.equal(ev.step, 2);
  assert.deepEqual(ev.families.map((f) => f.family), ['add']);
});
