// Trainer checkpoints under faults: a real kill -9 at each point of a checkpoint save, a `latest` that
// names a missing or half-deleted folder, temporary folders left by killed saves, and a save that runs
// out of space (RLIMIT_FSIZE → EFBIG). Resume must pick the newest complete checkpoint, keep the
// metrics history, clean up, and say what it did.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { parseRunRecipe } from '../src/train/recipe.js';
import { train } from '../src/train/trainer.js';
import type { TrainResult } from '../src/train/trainer.js';
import { readMetrics } from '../src/train/metrics.js';
import { saveTrainerCheckpoint } from '../src/train/checkpoint.js';
import { DeepseekV3 } from '../src/model/model.js';
import { getPreset } from '../src/model/presets.js';
import { AdamW } from '../src/nn/optim.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-ckcrash-'));
const mod = (p: string) => new URL(`../src/${p}`, import.meta.url).href;

const recipeObj = {
  kind: 'pretrain', name: 'test-crash', seed: 5,
  model: { preset: 'nano' },
  tokenizer: { vocabSize: 300 },
  data: { recipe: 'default', tokens: 6000 },
  train: { steps: 8, batchSize: 2, seqLen: 32, lr: { peak: 0.01, warmup: 2 } },
  eval: { every: 0, final: false },
  checkpoint: { every: 4 },
};
const recipe = parseRunRecipe(recipeObj);

/** A finished 8-step run (checkpoints step-4 and step-8, 8 metrics lines), built once and copied per test. */
let finished: string | null = null;
async function finishedRun(): Promise<string> {
  if (!finished) {
    finished = tmp();
    await train({ recipe, out: finished, quiet: true });
  }
  const copy = tmp();
  fs.cpSync(finished, copy, { recursive: true });
  return copy;
}

/** Runs `fn` with console.error captured; returns its result (or error) and the lines printed. */
async function captureStderr<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: Error; lines: string[] }> {
  const lines: string[] = [];
  const m = mock.method(console, 'error', (...a: unknown[]) => { lines.push(a.map(String).join(' ')); });
  try {
    return { value: await fn(), lines };
  } catch (e) {
    return { error: e as Error, lines };
  } finally {
    m.mock.restore();
  }
}

const steps = (out: string) => readMetrics(path.join(out, 'metrics.jsonl')).map((m) => m.step);
const ckptEntries = (out: string) => fs.readdirSync(path.join(out, 'checkpoints')).sort();

/** Spawns `--resume` of the run in `out` in a child process and SIGKILLs it when it reaches fault point `point`. */
async function killResumeAt(out: string, point: string): Promise<string> {
  const script = `
    const { train } = await import(${JSON.stringify(mod('train/trainer.js'))});
    const { parseRunRecipe } = await import(${JSON.stringify(mod('train/recipe.js'))});
    await train({ recipe: parseRunRecipe(${JSON.stringify(recipeObj)}), out: ${JSON.stringify(out)}, resume: true, quiet: true });
    console.error('child: finished');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, TINYSEEK_FAULT_POINT: point }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes(`fault point ${point}`)) { child.kill('SIGKILL'); resolve(); }
    });
    void exited.then(() => resolve());
  });
  const { signal } = await exited;
  assert.equal(signal, 'SIGKILL', `the child should have been killed at ${point}; it exited instead:\n${stderr}`);
  return stderr;
}

const POINTS = [
  'checkpoint:files-written', // the new step's files are half written under the temporary name
  'checkpoint:complete', // the new folder is complete (marker written) but not yet in place
  'checkpoint:old-aside', // the old step-N is out of the way, the new one not yet in place
  'checkpoint:in-place', // the new step-N is in place, `latest` not yet updated
  'checkpoint:latest', // `latest` updated, the old copy not yet deleted
];

for (const point of POINTS) {
  test(`kill -9 while re-saving an existing step (${point}): --resume continues from the newest complete checkpoint, metrics intact`, async () => {
    const out = await finishedRun();
    await killResumeAt(out, point);
    const temps = ckptEntries(out).filter((f) => f.startsWith('.') || f.includes('.tmp-'));
    if (point === 'checkpoint:old-aside') {
      // The window of the reported bug: no step-000008 folder while `latest` names it.
      assert.ok(!fs.existsSync(path.join(out, 'checkpoints', 'step-000008')), 'killed while step-000008 is out of place');
      assert.equal(fs.readFileSync(path.join(out, 'checkpoints', 'latest'), 'utf8').trim(), 'step-000008');
    }
    const { value: res, error, lines } = await captureStderr(() => train({ recipe, out, resume: true, quiet: true }));
    assert.equal(error, undefined, `resume failed: ${error?.message}\n${lines.join('\n')}`);
    const r = res as TrainResult;
    assert.equal(r.lastStep, 8);
    assert.equal(r.history.length, 0, `resumed from step ${8 - r.history.length}, not from step 8`);
    assert.deepEqual(steps(out), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(ckptEntries(out), ['latest', 'step-000004', 'step-000008']);
    assert.equal(fs.readFileSync(path.join(out, 'checkpoints', 'latest'), 'utf8').trim(), 'step-000008');
    for (const t of temps) assert.ok(lines.some((l) => l.includes(t)), `a message names the leftover ${t}:\n${lines.join('\n')}`);
    assert.ok(lines.some((l) => /resume: continuing from step 8/.test(l)), lines.join('\n'));
  });
}

test('latest naming a missing folder: --resume falls back to the newest complete checkpoint, keeps metrics up to it, and says so', async () => {
  const out = await finishedRun();
  fs.rmSync(path.join(out, 'checkpoints', 'step-000008'), { recursive: true });
  let atFirstStep: number[] = [];
  const { value: res, error, lines } = await captureStderr(() => train({
    recipe, out, resume: true, quiet: true,
    onStep: (m) => { if (m.step === 5) atFirstStep = steps(out); },
  }));
  assert.equal(error, undefined, `resume failed: ${error?.message}`);
  const r = res as TrainResult;
  assert.equal(r.history[0]?.step, 5, 'resumed from step 4');
  assert.deepEqual(atFirstStep, [1, 2, 3, 4, 5], 'metrics kept up to the resumed step, not truncated to nothing');
  assert.deepEqual(steps(out), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(lines.some((l) => l.includes('step-000008') && /missing|does not exist/.test(l) && l.includes('step-000004')), lines.join('\n'));
  assert.equal(fs.readFileSync(path.join(out, 'checkpoints', 'latest'), 'utf8').trim(), 'step-000008');
});

test('a half-deleted newest checkpoint (config.json gone) is skipped with a warning', async () => {
  const out = await finishedRun();
  fs.rmSync(path.join(out, 'checkpoints', 'step-000008', 'config.json'));
  const { value: res, error, lines } = await captureStderr(() => train({ recipe, out, resume: true, quiet: true }));
  assert.equal(error, undefined, `resume failed: ${error?.message}`);
  assert.equal((res as TrainResult).history[0]?.step, 5);
  assert.ok(lines.some((l) => l.includes('step-000008') && /incomplete|skipp/.test(l)), lines.join('\n'));
  assert.deepEqual(steps(out), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(ckptEntries(out), ['latest', 'step-000004', 'step-000008']);
});

test('checkpoints written before the COMPLETE marker existed still resume (judged by their files), and the message says so', async () => {
  const out = await finishedRun();
  for (const s of ['step-000004', 'step-000008']) fs.rmSync(path.join(out, 'checkpoints', s, 'COMPLETE'));
  const { value: res, error, lines } = await captureStderr(() => train({ recipe, out, resume: true, quiet: true }));
  assert.equal(error, undefined, `resume failed: ${error?.message}`);
  assert.equal((res as TrainResult).history.length, 0, 'resumed from step 8');
  assert.ok(lines.some((l) => l.includes('step-000008') && /predates/.test(l)), lines.join('\n'));
  assert.ok(fs.existsSync(path.join(out, 'checkpoints', 'step-000008', 'COMPLETE')), 'the re-save writes the marker');
});

test('a run folder with metrics but no complete checkpoint is never silently restarted from step 0', async () => {
  const out = await finishedRun();
  fs.rmSync(path.join(out, 'checkpoints'), { recursive: true });
  const before = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8');
  for (const resume of [true, false]) {
    const { error } = await captureStderr(() => train({ recipe, out, resume, quiet: true }));
    assert.ok(error, `train(resume: ${resume}) should refuse`);
    assert.match(error.message, /metrics\.jsonl/);
    assert.match(error.message, /8 steps|step 8/);
    assert.equal(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8'), before, 'metrics untouched');
  }
});

test('temporary folders and files left by killed saves are removed at the next start', async () => {
  const out = await finishedRun();
  const root = path.join(out, 'checkpoints');
  fs.mkdirSync(path.join(root, '.step-000012.tmp-4242421'));
  fs.writeFileSync(path.join(root, '.step-000012.tmp-4242421', 'model.safetensors'), 'partial');
  fs.writeFileSync(path.join(root, 'latest.tmp-4242421'), 'step-0000');
  fs.writeFileSync(path.join(out, 'metrics.jsonl.tmp-4242421'), '{"step":1');
  const { error, lines } = await captureStderr(() => train({ recipe, out, resume: true, quiet: true }));
  assert.equal(error, undefined, error?.message);
  assert.deepEqual(ckptEntries(out), ['latest', 'step-000004', 'step-000008']);
  assert.ok(!fs.existsSync(path.join(out, 'metrics.jsonl.tmp-4242421')));
  for (const t of ['.step-000012.tmp-4242421', 'latest.tmp-4242421', 'metrics.jsonl.tmp-4242421']) {
    assert.ok(lines.some((l) => l.includes(t)), `a message names ${t}:\n${lines.join('\n')}`);
  }
});

test('a save that runs out of space (RLIMIT_FSIZE → EFBIG) removes its temporary folder and names the path', { skip: spawnSync('prlimit', ['--version']).status !== 0 && 'no prlimit' }, () => {
  const out = tmp();
  const model = new DeepseekV3(getPreset('nano'), 1);
  const opt = new AdamW(model.namedParameters(), { lr: 1e-3 });
  saveTrainerCheckpoint(out, model, opt, { step: 2, seed: 1, recipe: {} }, {});
  const script = `
    process.on('SIGXFSZ', () => {}); // ignored: writes past the limit fail with EFBIG instead of killing us
    const { saveTrainerCheckpoint } = await import(${JSON.stringify(mod('train/checkpoint.js'))});
    const { DeepseekV3 } = await import(${JSON.stringify(mod('model/model.js'))});
    const { getPreset } = await import(${JSON.stringify(mod('model/presets.js'))});
    const { AdamW } = await import(${JSON.stringify(mod('nn/optim.js'))});
    const model = new DeepseekV3(getPreset('nano'), 2);
    const opt = new AdamW(model.namedParameters(), { lr: 1e-3 });
    try {
      saveTrainerCheckpoint(${JSON.stringify(out)}, model, opt, { step: 4, seed: 1, recipe: {} }, {});
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, message: e.message }));
    }`;
  const r = spawnSync('prlimit', ['--fsize=65536', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ok: boolean; message?: string };
  assert.equal(res.ok, false, 'the save should fail past the file size limit');
  assert.match(res.message!, /file too large|EFBIG/);
  assert.ok(res.message!.includes(path.join(out, 'checkpoints')), `the error names the path: ${res.message}`);
  assert.deepEqual(ckptEntries(out), ['latest', 'step-000002'], 'no partial folder left behind');
  assert.equal(fs.readFileSync(path.join(out, 'checkpoints', 'latest'), 'utf8').trim(), 'step-000002');
});

test('two runs never share a folder: a live run holds run.lock, a second start is refused naming its pid; a killed run\'s lock is taken over', async () => {
  const out = await finishedRun();
  const script = `
    const { train } = await import(${JSON.stringify(mod('train/trainer.js'))});
    const { parseRunRecipe } = await import(${JSON.stringify(mod('train/recipe.js'))});
    await train({ recipe: parseRunRecipe(${JSON.stringify(recipeObj)}), out: ${JSON.stringify(out)}, resume: true, quiet: true });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, TINYSEEK_FAULT_POINT: 'checkpoint:files-written' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let stderr = '';
  await new Promise<void>((resolve) => {
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); if (stderr.includes('fault point')) resolve(); });
    void exited.then(() => resolve());
  });
  assert.match(stderr, /fault point checkpoint:files-written/, stderr);
  // The child is alive, paused inside its save with a temporary folder in flight.
  const inflight = ckptEntries(out).filter((f) => f.includes('.tmp-'));
  assert.equal(inflight.length, 1, ckptEntries(out).join(', '));
  const second = await captureStderr(() => train({ recipe, out, resume: true, quiet: true }));
  assert.ok(second.error, 'a second run on the same folder must be refused');
  assert.match(second.error.message, new RegExp(`in use by another run \\(process ${child.pid}`));
  assert.deepEqual(ckptEntries(out).filter((f) => f.includes('.tmp-')), inflight, 'the live run\'s save in flight was left alone');
  child.kill('SIGKILL');
  await exited;
  const third = await captureStderr(() => train({ recipe, out, resume: true, quiet: true }));
  assert.ifError(third.error);
  assert.ok(third.lines.some((l) => l.includes('run.lock') && l.includes(`process ${child.pid}, which is no longer running`)), third.lines.join('\n'));
  assert.ok(!fs.existsSync(path.join(out, 'run.lock')), 'the lock is released when the run ends');
  assert.deepEqual(steps(out), [1, 2, 3, 4, 5, 6, 7, 8]);
});
