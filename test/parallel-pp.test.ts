// Pipeline parallelism over real Open MPI (`mpirun --oversubscribe -np N` on this 2-core machine):
// for each schedule and PP ∈ {2, 4} (DualPipeV: 4 stages on 2 ranks), one training step's loss and
// every parameter's gradient (summed over the ranks holding it) equal the single-process step on the
// same global batch (relative ≤ 1e-5), the expert counts are equal, and 5 steps later the weights
// (with clipping, MTP and the auxiliary-loss-free bias update on) agree. The model is nano with 4
// decoder layers (one per stage at PP 4); the per-rank checkpoint it writes loads in one process.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe, writeCorpus, readCorpus } from '../src/data/index.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { loadModel } from '../src/model/checkpoint.js';
import { processAlive } from '../src/train/checkpoint.js';
import { mpiSkip, mpiEnv } from './helpers/mpi.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/test
const worker = path.join(here, 'helpers', 'pp-worker.js');
const TOL = 1e-5;

const skip = mpiSkip;

const env = mpiEnv;

let dir = '';
function recipe(steps: number) {
  return {
    kind: 'pretrain', name: 'pp-test', seed: 3,
    model: { preset: 'nano', overrides: { num_hidden_layers: 4 } },
    tokenizer: { path: path.join(dir, 'tok') },
    data: { file: path.join(dir, 'corpus.jsonl') },
    // clip 0.5: the step-1 gradient norm is above it, so clipping with the global norm is exercised
    train: { steps, batchSize: 8, seqLen: 16, clip: 0.5, lr: { peak: 0.002, warmup: 2 }, mtpWeight: 0.3, biasUpdateSpeed: 0.001 },
    eval: { every: 0, final: false },
    checkpoint: { every: 0 },
  };
}

interface Dump { names: [string, number][]; steps: { step: number; loss: number; grad_norm: number; counts: number[][] }[] }
const readDump = (prefix: string, rank = 0): Dump => JSON.parse(fs.readFileSync(`${prefix}.${rank}.json`, 'utf8')) as Dump;
const readGrads = (prefix: string, rank = 0) => { const b = fs.readFileSync(`${prefix}.${rank}.grads`); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };

/** name → gradient of one run's dump (one rank). */
function gradMap(prefix: string, rank: number): Map<string, Float32Array> {
  const d = readDump(prefix, rank), g = readGrads(prefix, rank);
  const m = new Map<string, Float32Array>();
  let o = 0;
  for (const [n, k] of d.names) { m.set(n, g.subarray(o, o + k)); o += k; }
  return m;
}

function runWorker(n: number, job: Record<string, unknown>): { stderr: string; status: number | null } {
  const args = [worker, JSON.stringify(job)];
  const r = job.pp === 1
    ? spawnSync(process.execPath, args, { env, encoding: 'utf8', timeout: 120_000 })
    : spawnSync('mpirun', ['--oversubscribe', '-np', String(n), process.execPath, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  return { stderr: `${r.stdout}\n${r.stderr}`, status: r.status };
}

before(() => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-pp-'));
  writeCorpus(path.join(dir, 'corpus.jsonl'), loadRecipe('default'), { seed: 3, tokens: 20000 });
  Tokenizer.train(readCorpus(path.join(dir, 'corpus.jsonl')).map((d) => d.text), { vocabSize: 400 }).save(path.join(dir, 'tok'));
  const r = runWorker(1, { recipe: recipe(5), out: path.join(dir, 'ref'), pp: 1, dump: path.join(dir, 'ref') });
  assert.equal(r.status, 0, r.stderr);
});

const cases: [string, number, number, number][] = [
  // [schedule, stages, ranks, chunks]
  ['1f1b', 2, 2, 4], ['1f1b', 4, 4, 8],
  ['zb1p', 2, 2, 4], ['zb1p', 4, 4, 8],
  ['dualpipe', 2, 2, 4], ['dualpipe', 4, 4, 8],
  ['dualpipev', 2, 1, 4], ['dualpipev', 4, 2, 8],
];

for (const [method, pp, ranks, chunks] of cases) {
  test(`${method} PP ${pp} on ${ranks} rank(s), ${chunks} micro-batches: step-1 loss and gradients, expert counts and 5-step weights equal the single process`, { skip, timeout: 180_000 }, () => {
    const out = path.join(dir, `${method}${pp}`);
    const r = runWorker(ranks, { recipe: recipe(5), out, pp, method, chunks, dump: out });
    assert.equal(r.status, 0, `${ranks} ranks failed:\n${r.stderr}`);
    const ref = readDump(path.join(dir, 'ref'));
    const refGrads = gradMap(path.join(dir, 'ref'), 0);
    const got = readDump(out);
    const l0 = ref.steps[0].loss, l1 = got.steps[0].loss;
    assert.ok(Math.abs(l1 - l0) <= TOL * Math.abs(l0), `step-1 loss ${l1} vs single process ${l0}`);
    assert.ok(Math.abs(got.steps[0].grad_norm - ref.steps[0].grad_norm) <= TOL * ref.steps[0].grad_norm, `global grad norm ${got.steps[0].grad_norm} vs ${ref.steps[0].grad_norm}`);
    const seen = new Set<string>();
    for (let k = 0; k < ranks; k++) {
      for (const [n, g] of gradMap(out, k)) {
        const want = refGrads.get(n);
        assert.ok(want, `rank ${k} holds ${n}, which the model does not have`);
        let d = 0, m = 0;
        for (let i = 0; i < g.length; i++) { d = Math.max(d, Math.abs(g[i] - want[i])); m = Math.max(m, Math.abs(want[i])); }
        assert.ok(d <= TOL * m || d === 0, `rank ${k}: gradient of ${n} differs by ${d} (max |g| ${m}, relative ${d / m})`);
        seen.add(n);
      }
    }
    assert.deepEqual([...seen].sort(), [...refGrads.keys()].sort(), 'every parameter is held by some rank');
    for (let i = 0; i < 5; i++) {
      assert.ok(Math.abs(got.steps[i].loss - ref.steps[i].loss) <= TOL * ref.steps[i].loss, `loss of step ${i + 1}: ${got.steps[i].loss} vs ${ref.steps[i].loss}`);
      assert.deepEqual(got.steps[i].counts, ref.steps[i].counts, `expert counts of step ${i + 1}`);
    }
    // the per-rank checkpoint is a model directory a single process loads
    const a = loadModel(path.join(out, 'final'), { onWarning: () => {} }).stateDict();
    const b = loadModel(path.join(dir, 'ref', 'final'), { onWarning: () => {} }).stateDict();
    for (const [n, t] of b) {
      const x = a.get(n)!.f32(), y = t.f32();
      let d = 0, m = 0;
      for (let i = 0; i < x.length; i++) { d += (x[i] - y[i]) ** 2; m += y[i] ** 2; }
      assert.ok(Math.sqrt(d) <= TOL * Math.sqrt(m) || d === 0, `weights after 5 steps: ${n} differs (relative ${Math.sqrt(d / m)})`);
    }
  });
}

test('an interrupted 1F1B PP 2 run resumes exactly; its per-rank checkpoint resumes in one process, and a single-process checkpoint resumes under PP', { skip, timeout: 240_000 }, () => {
  const full = path.join(dir, '1f1b2');
  if (!fs.existsSync(path.join(full, 'final'))) assert.equal(runWorker(2, { recipe: recipe(5), out: full, pp: 2, method: '1f1b', chunks: 4, dump: full }).status, 0);
  const part = path.join(dir, 'resume-pp');
  let r = runWorker(2, { recipe: recipe(5), out: part, pp: 2, method: '1f1b', chunks: 4, dump: part, stopAfter: 3 });
  assert.equal(r.status, 0, r.stderr);
  fs.cpSync(part, path.join(dir, 'resume-one'), { recursive: true });
  r = runWorker(2, { recipe: recipe(5), out: part, pp: 2, method: '1f1b', chunks: 4, dump: part, resume: true });
  assert.equal(r.status, 0, r.stderr);
  for (const f of fs.readdirSync(path.join(full, 'final')).filter((f) => f.endsWith('.safetensors'))) {
    assert.deepEqual(fs.readFileSync(path.join(part, 'final', f)), fs.readFileSync(path.join(full, 'final', f)), `${f}: bit-identical to the uninterrupted run`);
  }
  // the PP checkpoint (two rank shards + two optimizer shards) resumes in the single-process trainer
  const one = path.join(dir, 'resume-one');
  r = runWorker(1, { recipe: recipe(5), out: one, pp: 1, dump: one, resume: true });
  assert.equal(r.status, 0, r.stderr);
  const close = (x: string, y: string, what: string) => {
    const a = loadModel(x, { onWarning: () => {} }).stateDict(), b = loadModel(y, { onWarning: () => {} }).stateDict();
    for (const [n, t] of b) {
      const p = a.get(n)!.f32(), q = t.f32();
      let d = 0, m = 0;
      for (let i = 0; i < p.length; i++) { d += (p[i] - q[i]) ** 2; m += q[i] ** 2; }
      assert.ok(Math.sqrt(d) <= TOL * Math.sqrt(m) || d === 0, `${what}: ${n} differs (relative ${Math.sqrt(d / m)})`);
    }
  };
  close(path.join(one, 'final'), path.join(dir, 'ref', 'final'), 'PP checkpoint resumed in one process');
  // and the other way: a single-process checkpoint at step 3 resumes under DualPipeV (4 stages, 2 ranks)
  const single = path.join(dir, 'single3');
  r = runWorker(1, { recipe: recipe(5), out: single, pp: 1, dump: single, stopAfter: 3 });
  assert.equal(r.status, 0, r.stderr);
  r = runWorker(2, { recipe: recipe(5), out: single, pp: 4, method: 'dualpipev', chunks: 8, dump: single, resume: true });
  assert.equal(r.status, 0, r.stderr);
  close(path.join(single, 'final'), path.join(dir, 'ref', 'final'), 'single-process checkpoint resumed under DualPipeV');
});

test('bad pipeline settings end every rank with one clear message, no hang and no stack trace', { skip, timeout: 180_000 }, () => {
  const cli = path.join(here, '..', 'src', 'cli', 'index.js');
  fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify(recipe(2)));
  const shallow = { ...recipe(2), model: { preset: 'nano', overrides: { num_hidden_layers: 1 } } };
  fs.writeFileSync(path.join(dir, 'shallow.json'), JSON.stringify(shallow));
  const cases: [string, string[], RegExp][] = [
    ['odd PP for DualPipe', ['--pp', '3', '--schedule', 'dualpipe'], /DualPipe needs an even number of stages; found PP = 3/],
    ['too few chunks', ['--pp', '2', '--schedule', 'dualpipe', '--chunks', '2'], /DualPipe needs an even number of chunks ≥ 2·PP = 4; found 2/],
    ['PP ≠ world size', ['--pp', '4', '--schedule', 'zb1p'], /--pp 4 --schedule zb1p needs 4 processes; mpirun started 2/],
    ['more stages than layers', ['--pp', '2', '--config', path.join(dir, 'shallow.json')], /2 stages need at least 2 decoder layers, the model has num_hidden_layers = 1/],
    ['unknown schedule', ['--pp', '2', '--schedule', 'gpipe'], /--schedule expects one of 1f1b, zb1p, dualpipe, dualpipev, found "gpipe"/],
  ];
  for (const [what, flags, msg] of cases) {
    const args = flags.includes('--config') ? flags : [...flags, '--config', path.join(dir, 'r.json')];
    const r = spawnSync('mpirun', ['--oversubscribe', '-np', '2', process.execPath, cli, 'pretrain', '--out', path.join(dir, `bad-${what.replace(/\W+/g, '-')}`), ...args], { env, encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0, `${what}: must fail`);
    assert.equal(r.stderr.split('\n').filter((l) => msg.test(l)).length, 2, `${what}: one message per rank:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  }
  const alone = spawnSync(process.execPath, [cli, 'pretrain', '--config', path.join(dir, 'r.json'), '--out', path.join(dir, 'bad-alone'), '--pp', '2'], { env, encoding: 'utf8' });
  assert.equal(alone.status, 2);
  assert.match(alone.stderr, /--pp 2 --schedule 1f1b runs on 2 processes: start it as `mpirun -np 2/);
});

test('a rank killed mid-run ends the whole job (no hang, the dead rank named); the run resumes from its last checkpoint', { skip, timeout: 240_000 }, async () => {
  const cli = path.join(here, '..', 'src', 'cli', 'index.js');
  const out = path.join(dir, 'rank-killed');
  const r = { ...recipe(5), checkpoint: { every: 1 } };
  fs.writeFileSync(path.join(dir, 'killed.json'), JSON.stringify(r));
  const args = ['--oversubscribe', '-np', '2', process.execPath, cli, 'pretrain', '--config', path.join(dir, 'killed.json'), '--out', out, '--pp', '2', '--quiet'];
  // rank 1 stops at the start of step 3 (steps 1 and 2 checkpointed) and is killed there with SIGKILL
  const child = spawn('mpirun', args, { env: { ...env, TINYSEEK_FAULT_POINT: 'pipeline:rank1:step3' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const pid = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rank 1 never reached the fault point:\n${stderr}`)), 150_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /fault point pipeline:rank1:step3 \(pid (\d+)\)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
  });
  process.kill(pid, 'SIGKILL');
  const code = await Promise.race([exited, new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), 60_000))]);
  if (code === 'hang') child.kill('SIGKILL');
  assert.notEqual(code, 'hang', `mpirun still running 60 s after rank 1 died:\n${stderr}`);
  assert.notEqual(code, 0);
  assert.match(stderr, /rank 1/, `the dead rank is named:\n${stderr}`);
  assert.doesNotMatch(stderr, /fault point pipeline:rank0/, 'rank 0 never reached a fault point of its own');
  assert.equal(fs.readFileSync(path.join(out, 'checkpoints', 'latest'), 'utf8').trim(), 'step-000002', 'the last complete checkpoint is step 2');
  // no rank is left behind: rank 0 (the run lock's holder) ends too, shortly after mpirun reports
  const holder = Number(fs.readFileSync(path.join(out, 'run.lock'), 'utf8').trim());
  const until = Date.now() + 60_000;
  while (processAlive(holder) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  assert.ok(!processAlive(holder), `rank 0 (pid ${holder}) still running 60 s after the job ended`);
  // resume: both ranks restart from step 2 and finish
  const again = spawnSync('mpirun', [...args, '--resume'], { env, encoding: 'utf8', timeout: 180_000 });
  assert.equal(again.status, 0, again.stderr);
  assert.ok(fs.existsSync(path.join(out, 'final', 'config.json')));
  const m = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step?: number }).filter((x) => typeof x.step === 'number');
  assert.deepEqual(m.map((x) => x.step), [1, 2, 3, 4, 5], 'steps 1–2 from the killed run, 3–5 from the resume, none twice');
});
