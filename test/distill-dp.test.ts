// `tinyseek distill --dp 2` under real Open MPI (`mpirun --oversubscribe -np 2`) against the same
// recipe in one process, for the two objectives that run a teacher (logit KD along the teacher's
// traces, and GKD on the student's own samples, half the steps on-policy): rank 0 writes the same
// teacher data, every step's loss and student CE agree (relative ≤ 1e-5), and so do the final
// student's weights. Also: --dp without mpirun, and a batch the ranks cannot split, are refused with
// one clear message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../src/tokenizer/index.js';
import { saveModel } from '../src/model/checkpoint.js';
import { createModel, anyConfigFromHF, anyConfigToHF } from '../src/model/registry.js';
import { resolveAnyConfig } from '../src/model/presets.js';
import { loadAsFloat32 } from '../src/io/index.js';
import { mpiSkip, mpiEnv } from './helpers/mpi.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/test
const cli = path.join(here, '..', 'src', 'cli', 'index.js');
const TEACHER = path.resolve(here, '../../models/tinyseek-r1-mini');
const TOL = 1e-5;

const skip = mpiSkip;
const env = { ...mpiEnv, NO_COLOR: '1' };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-distill-dp-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function student(): string {
  const dir = path.join(tmp, 'student');
  if (fs.existsSync(path.join(dir, 'config.json'))) return dir;
  const tok = Tokenizer.fromDir(TEACHER);
  const cfg = anyConfigFromHF({ ...anyConfigToHF(resolveAnyConfig('student-nano')), vocab_size: tok.vocabSize });
  const files = Object.fromEntries(['tokenizer.json', 'tokenizer_config.json'].map((f) => [f, fs.readFileSync(path.join(TEACHER, f))]));
  saveModel(dir, createModel(cfg, 7), { tokenizerFiles: files });
  return dir;
}

function recipeFile(mode: 'logit-kd' | 'gkd', extra: Record<string, unknown> = {}): string {
  const f = path.join(tmp, `${mode}-${Object.keys(extra).join('-') || 'plain'}.json`);
  fs.writeFileSync(f, JSON.stringify({
    name: `dp-${mode}`, mode, seed: 3, teacher: TEACHER, student: { preset: 'student-nano', init: student() },
    prompts: { families: ['add'], difficulties: [1], n: 12 },
    teacherSampling: { k: 2, temperature: 1, maxNewTokens: 96, filter: { minReadability: 1, maxTokens: 120, maxSummaryChars: 60 } },
    // lr 1e-4: AdamW divides each gradient by its own RMS, so a coordinate whose gradient is small after
    // cancellation turns the ~1e-7 relative difference of another summation order into an update
    // difference proportional to lr. At 3e-3 the final weights ended 4e-5 (logit KD) and 1.7e-4 (GKD)
    // apart with the shipped teacher of 2026-11-30; at 1e-4 the same differences are ~30× smaller, while
    // a rank whose gradients were not reduced would still move weights by ~lr·steps/scale ≈ 5e-3.
    train: { steps: 3, batchSize: 4, gradAccum: 2, seqLen: 128, lr: { peak: 0.0001, warmup: 1, schedule: 'constant' }, weightDecay: 0 },
    eval: { final: false }, checkpoint: { every: 0 },
    ...extra,
  }));
  return f;
}

const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 300_000 });
const metrics = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((m) => typeof m.loss === 'number');
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-6, Math.abs(a), Math.abs(b));

function compare(mode: 'logit-kd' | 'gkd', extra: Record<string, unknown> = {}): void {
  const r = recipeFile(mode, extra);
  const one = path.join(tmp, `${mode}-one`), two = path.join(tmp, `${mode}-two`);
  const a = run(process.execPath, [cli, 'distill', '--recipe', r, '--out', one, '--quiet']);
  assert.equal(a.status, 0, a.stderr);
  const b = run('mpirun', ['--oversubscribe', '-np', '2', process.execPath, cli, 'distill', '--recipe', r, '--out', two, '--quiet', '--dp', '2']);
  assert.equal(b.status, 0, b.stderr + b.stdout);
  assert.equal(fs.readFileSync(path.join(two, 'teacher', 'data.jsonl'), 'utf8'), fs.readFileSync(path.join(one, 'teacher', 'data.jsonl'), 'utf8'), 'the same teacher data');
  const ma = metrics(one), mb = metrics(two);
  assert.equal(mb.length, ma.length);
  for (let i = 0; i < ma.length; i++) {
    assert.ok(rel(mb[i]!.loss!, ma[i]!.loss!) <= TOL, `${mode} step ${i + 1} loss: DP 2 ${mb[i]!.loss}, one process ${ma[i]!.loss}`);
    assert.ok(rel(mb[i]!.ce!, ma[i]!.ce!) <= TOL, `${mode} step ${i + 1} ce: DP 2 ${mb[i]!.ce}, one process ${ma[i]!.ce}`);
    assert.equal(mb[i]!.tokens, ma[i]!.tokens);
    assert.equal(mb[i]!.teacher_tokens, ma[i]!.teacher_tokens);
    if (mode === 'gkd') assert.equal(mb[i]!.on_policy, ma[i]!.on_policy);
    assert.ok(rel(mb[i]!.kd_loss!, ma[i]!.kd_loss!) <= TOL);
  }
  const wa = new Map(loadAsFloat32(path.join(one, 'final', 'model.safetensors')).map((t) => [t.name, t.data as Float32Array]));
  let worst = 0, where = '';
  for (const t of loadAsFloat32(path.join(two, 'final', 'model.safetensors'))) {
    // The key bias's gradient is exactly 0 in exact arithmetic (softmax over keys does not change when
    // every key of a query moves by the same q·b), so what AdamW steps on is round-off, normalized to
    // ±lr: two summation orders give unrelated steps. It is left out of the comparison.
    if (t.name.endsWith('k_proj.bias')) continue;
    const x = t.data as Float32Array, y = wa.get(t.name)!;
    let scale = 0;
    for (const v of y) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(x[i]! - y[i]!) / Math.max(scale, 1e-6);
      if (d > worst) { worst = d; where = `${t.name}[${i}]`; }
    }
  }
  assert.ok(worst <= TOL, `${mode}: final weights differ by ${worst} (relative to the tensor's largest value) at ${where}`);
}

test('distill --dp 2, logit KD: the teacher scores each rank\'s rows; losses and final weights equal one process', { skip }, () => compare('logit-kd'));

test('distill --dp 2, GKD with λ = 0.5: each rank samples its rows with the single process\'s seeds; losses and final weights equal one process', { skip }, () => compare('gkd', { gkd: { beta: 0.5, maxNewTokens: 48, lambda: 0.5 } }));

test('distill --dp: refused without mpirun and when the batch does not split over the ranks', { skip }, () => {
  const r = recipeFile('logit-kd');
  const a = run(process.execPath, [cli, 'distill', '--recipe', r, '--out', path.join(tmp, 'x'), '--dp', '2']);
  assert.equal(a.status, 2, a.stderr);
  assert.match(a.stderr, /--dp 2 needs 2 processes: start it as `mpirun -np 2 tinyseek distill/);
  const odd = recipeFile('gkd', { train: { steps: 1, batchSize: 3, seqLen: 128, lr: { peak: 0.003, warmup: 1, schedule: 'constant' } } });
  const b = run('mpirun', ['--oversubscribe', '-np', '2', process.execPath, cli, 'distill', '--recipe', odd, '--out', path.join(tmp, 'y'), '--dp', '2']);
  assert.notEqual(b.status, 0);
  assert.match(b.stderr + b.stdout, /train\.batchSize 3 cannot be split over 2 ranks/);
});
