// Data parallelism over real Open MPI (`mpirun --oversubscribe -np N`, N up to 4 on this 2-core
// machine): for DP ∈ {2, 4}, with and without ZeRO-1, the step-1 loss and every parameter's gradient
// equal the single-process step on the same global batch, the per-expert token counts are equal
// exactly, and five steps later the weights (and AdamW moments in the checkpoint) agree. Also: an
// interrupted DP run resumes exactly, a --dp that does not match mpirun ends every rank with one
// message, and a rank killed mid-step ends the job with a message naming it on the surviving rank.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe, writeCorpus, readCorpus } from '../src/data/index.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { loadAsFloat32 } from '../src/io/index.js';
import { mpiSkip, mpiEnv, mpirun } from './helpers/mpi.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/test
const worker = path.join(here, 'helpers', 'dp-worker.js');
const cli = path.join(here, '..', 'src', 'cli', 'index.js');
const TOL = 1e-5;
// The AdamW moments after 5 steps: an expert that gets one token on some rank runs a matrix-vector
// product there (native/src/gemv.c) where the single process runs a matrix product over several
// tokens, so the two sum in different orders, and 5 steps of moments accumulate it (measured: 1.0e-5
// relative on one expert's m with gemv.c, under 1e-5 with cblas_sgemv; a wrong reduction is off by
// a factor of the rank count).
const TOL_MOMENTS = 5e-5;

const skip = mpiSkip;

const env = mpiEnv;

let dir = '';
function recipe(steps: number, over: Record<string, unknown> = {}) {
  return {
    kind: 'pretrain', name: 'dp-test', seed: 3,
    model: { preset: 'nano' },
    tokenizer: { path: path.join(dir, 'tok') },
    data: { file: path.join(dir, 'corpus.jsonl') },
    // lr 2e-3: Adam turns the ~1e-7 float differences of a different summation order into update
    // differences proportional to lr; at 1e-2 the 5-step weights differ by ~3e-5 (norm-relative).
    train: { steps, batchSize: 4, seqLen: 32, lr: { peak: 0.002, warmup: 2 }, mtpWeight: 0.3, biasUpdateSpeed: 0.001 },
    eval: { every: 0, final: false },
    checkpoint: { every: 0 },
    ...over,
  };
}

interface Dump { names: [string, number][]; steps: { step: number; loss: number; grad_norm: number; counts: number[][]; dp?: { buckets: number; posted_during_backward: number } }[] }
const readDump = (prefix: string, rank = 0): Dump => JSON.parse(fs.readFileSync(`${prefix}.${rank}.json`, 'utf8')) as Dump;
const readGrads = (prefix: string, rank = 0) => { const b = fs.readFileSync(`${prefix}.${rank}.grads`); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };

function runWorker(n: number, job: Record<string, unknown>): void {
  const args = [worker, JSON.stringify(job)];
  const [cmd, argv] = n === 1 ? [process.execPath, args] as const : mpirun(n, args);
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, `${n} rank(s) failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
}

/** max |a − b| / max |b| over each parameter's gradient. */
function assertGradsClose(names: [string, number][], a: Float32Array, b: Float32Array, what: string): void {
  let o = 0;
  for (const [n, k] of names) {
    let d = 0, m = 0;
    for (let i = o; i < o + k; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
    assert.ok(d <= TOL * m || d === 0, `${what}: gradient of ${n} differs by ${d} (max |g| ${m}, relative ${d / m})`);
    o += k;
  }
}

/** ‖a − b‖ / ‖b‖ per tensor of two safetensors files (names filtered by prefix). */
function assertTensorsClose(fa: string, fb: string, what: string, prefix = '', tol = TOL): void {
  const A = new Map(loadAsFloat32(fa).map((r) => [r.name, r.data as Float32Array]));
  const B = new Map(loadAsFloat32(fb).map((r) => [r.name, r.data as Float32Array]));
  assert.deepEqual([...A.keys()].sort(), [...B.keys()].sort(), `${what}: the same tensors`);
  for (const [n, x] of A) {
    if (!n.startsWith(prefix)) continue;
    const y = B.get(n)!;
    let d = 0, m = 0;
    for (let i = 0; i < x.length; i++) { d += (x[i] - y[i]) ** 2; m += y[i] ** 2; }
    assert.ok(Math.sqrt(d) <= tol * Math.sqrt(m), `${what}: ${n} differs (relative ${Math.sqrt(d / m)})`);
  }
}

const finalCkpt = (out: string, file: string) => {
  const root = path.join(out, 'checkpoints');
  const name = fs.readFileSync(path.join(root, 'latest'), 'utf8').trim();
  return path.join(root, name, file);
};

before(() => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-dp-'));
  writeCorpus(path.join(dir, 'corpus.jsonl'), loadRecipe('default'), { seed: 3, tokens: 20000 });
  Tokenizer.train(readCorpus(path.join(dir, 'corpus.jsonl')).map((d) => d.text), { vocabSize: 400 }).save(path.join(dir, 'tok'));
  runWorker(1, { recipe: recipe(5), out: path.join(dir, 'ref'), dp: 1, dump: path.join(dir, 'ref') });
});

for (const [dp, zero1] of [[2, false], [2, true], [4, false], [4, true]] as const) {
  test(`DP ${dp}${zero1 ? ' + ZeRO-1' : ''}: step-1 loss and gradients, expert counts and 5-step weights equal the single process`, { skip, timeout: 300_000 }, () => {
    const tag = `dp${dp}${zero1 ? 'z' : ''}`;
    const out = path.join(dir, tag);
    // small buckets, so that the mini model spans several and some are posted during backward
    runWorker(dp, { recipe: recipe(5), out, dp, zero1, bucketBytes: 16_000, dump: out });
    const ref = readDump(path.join(dir, 'ref'));
    const got = readDump(out);
    assert.deepEqual(got.names, ref.names);
    const l0 = ref.steps[0].loss, l1 = got.steps[0].loss;
    assert.ok(Math.abs(l1 - l0) <= TOL * Math.abs(l0), `step-1 loss ${l1} vs single process ${l0}`);
    const g0 = readGrads(path.join(dir, 'ref'));
    for (let r = 0; r < dp; r++) {
      assertGradsClose(ref.names, readGrads(out, r), g0, `rank ${r}`);
      assert.deepEqual(readGrads(out, r), readGrads(out, 0), `rank ${r} holds the same reduced gradients as rank 0`);
      assert.deepEqual(readDump(out, r).steps.map((s) => s.loss), got.steps.map((s) => s.loss), `rank ${r} reports the global loss`);
    }
    const stats = got.steps[0].dp!;
    assert.ok(stats.buckets > 1 && stats.posted_during_backward > 0, `buckets are posted while backward runs: ${JSON.stringify(stats)}`);
    assert.deepEqual(got.steps.map((s) => s.counts), ref.steps.map((s) => s.counts), 'per-expert token counts of every step (global, all-reduced)');
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(got.steps[i].loss - ref.steps[i].loss) <= 1e-5 * ref.steps[i].loss, `loss of step ${i + 1}`);
    assertTensorsClose(path.join(out, 'final', 'model.safetensors'), path.join(dir, 'ref', 'final', 'model.safetensors'), 'weights after 5 steps');
    // the checkpoint holds the full moments whatever the layout (ZeRO-1 gathers them), so it resumes anywhere
    assertTensorsClose(finalCkpt(out, 'optimizer.safetensors'), finalCkpt(path.join(dir, 'ref'), 'optimizer.safetensors'), 'AdamW moments', 'm.', TOL_MOMENTS);
  });
}

test('an interrupted DP 2 + ZeRO-1 run resumes exactly; its checkpoint also resumes in one process', { skip, timeout: 300_000 }, () => {
  const full = path.join(dir, 'dp2z');
  if (!fs.existsSync(path.join(full, 'final'))) runWorker(2, { recipe: recipe(5), out: full, dp: 2, zero1: true, bucketBytes: 16_000, dump: full });
  const part = path.join(dir, 'resume2');
  runWorker(2, { recipe: recipe(5), out: part, dp: 2, zero1: true, bucketBytes: 16_000, dump: part, stopAfter: 3 });
  fs.cpSync(part, path.join(dir, 'resume1'), { recursive: true });
  runWorker(2, { recipe: recipe(5), out: part, dp: 2, zero1: true, bucketBytes: 16_000, dump: part, resume: true });
  assert.deepEqual(fs.readFileSync(path.join(part, 'final', 'model.safetensors')), fs.readFileSync(path.join(full, 'final', 'model.safetensors')), 'bit-identical to the uninterrupted DP run');
  const one = path.join(dir, 'resume1');
  runWorker(1, { recipe: recipe(5), out: one, dp: 1, dump: one, resume: true });
  assertTensorsClose(path.join(one, 'final', 'model.safetensors'), path.join(dir, 'ref', 'final', 'model.safetensors'), 'DP checkpoint resumed in one process');
});

test('--dp that does not match the launch ends every rank with one clear message', { skip, timeout: 120_000 }, () => {
  fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify(recipe(3)));
  const alone = spawnSync(process.execPath, [cli, 'pretrain', '--config', path.join(dir, 'r.json'), '--out', path.join(dir, 'bad0'), '--dp', '2'], { env, encoding: 'utf8' });
  assert.equal(alone.status, 2);
  assert.match(alone.stderr, /--dp 2 needs 2 processes: start it as `mpirun -np 2/);
  const [cmd, argv] = mpirun(2, [cli, 'pretrain', '--config', path.join(dir, 'r.json'), '--out', path.join(dir, 'bad1'), '--dp', '3']);
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 60_000 });
  assert.notEqual(r.status, 0);
  const lines = r.stderr.split('\n').filter((l) => l.includes("--dp 3 does not match mpirun's 2 processes"));
  // Each rank prints the message and exits 2 before MPI starts; mpirun kills the other ranks as soon as
  // the first one exits, so on a loaded machine a slower rank may be killed before it prints.
  assert.ok(lines.length >= 1 && lines.length <= 2, `one message per rank that got to print it:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

/** Pid of the child of `parent` whose environment says it is MPI rank `rank`. */
function rankPid(parent: number, rank: number): number | null {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== parent) continue;
      if (fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(p);
    } catch {
      // the process ended meanwhile
    }
  }
  return null;
}

/** Whether a process exists and is not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('a rank killed mid-run ends the whole job, and the surviving rank names it', { skip, timeout: 180_000 }, async () => {
  const out = path.join(dir, 'killed');
  fs.writeFileSync(path.join(dir, 'long.json'), JSON.stringify(recipe(100_000)));
  const [cmd, argv] = mpirun(2, [cli, 'pretrain', '--config', path.join(dir, 'long.json'), '--out', out, '--dp', '2', '--quiet']);
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  // wait until both ranks are training (a few steps logged), then kill rank 1 for real
  const metrics = path.join(out, 'metrics.jsonl');
  while (!(fs.existsSync(metrics) && fs.readFileSync(metrics, 'utf8').split('\n').length > 3)) {
    if (child.exitCode !== null) assert.fail(`the job ended before training:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const victim = rankPid(child.pid!, 1), survivor = rankPid(child.pid!, 0);
  assert.ok(victim && survivor, 'found both ranks');
  process.kill(victim, 'SIGKILL');
  const code = await exited;
  assert.notEqual(code, 0);
  assert.match(output, /process rank 1 .*exited on signal 9/, `mpirun names the failed rank:\n${output}`);
  assert.match(output, new RegExp(`tinyseek rank 0/2: stopped by mpirun because rank 1 \\(pid ${victim}\\) died`), `the surviving rank names it:\n${output}`);
  assert.equal(running(survivor), false, 'rank 0 is not left running');
});
