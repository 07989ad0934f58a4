// Trainer checkpoints without a training run (found by mutation testing, docs/mutation.md; the
// train suite covers them only through 30 s of training): the directory layout and `latest`,
// what a load restores, pruning to the newest `keep`, and when two recipes count as the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { AdamW } from '../src/nn/optim.js';
import { saveSafetensors, loadSafetensors } from '../src/io/index.js';
import { saveTrainerCheckpoint, loadTrainerCheckpoint, listCheckpoints, sameRecipe, recipeDifferences, recipeChangedMessage } from '../src/train/checkpoint.js';

/** The newest complete checkpoint's folder (what --resume starts from), or null. */
const latestCheckpoint = (out: string): string | null => listCheckpoints(out).find((c) => c.complete)?.dir ?? null;

const cfg = { ...getPreset('nano'), numHiddenLayers: 1, firstKDenseReplace: 1, numNextnPredictLayers: 0 };

/** A model and an optimizer that has taken two steps (non-zero moments). */
function trained(seed: number): { model: DeepseekV3; opt: AdamW } {
  const model = new DeepseekV3(cfg, seed);
  const opt = new AdamW(model.namedParameters(), { lr: 1e-2 });
  for (let s = 0; s < 2; s++) {
    for (const [, p] of model.namedParameters()) p.grad = Tensor.full(p.shape, 0.01 * (s + 1));
    opt.step();
  }
  return { model, opt };
}

test('a trainer checkpoint restores weights, state and AdamW moments; latest names the newest', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-tckpt-'));
  try {
    assert.equal(latestCheckpoint(out), null, 'no checkpoint yet');
    const { model, opt } = trained(3);
    const state = { step: 12, seed: 5, recipe: { name: 'r', lr: 0.1 }, extra: { promptRng: [1, 2, 3, 4] } };
    const dir = saveTrainerCheckpoint(out, model, opt, state, { 'tokenizer_config.json': '{}' });
    assert.equal(dir, path.join(out, 'checkpoints', 'step-000012'));
    assert.equal(fs.readFileSync(path.join(out, 'checkpoints', 'latest'), 'utf8'), 'step-000012\n');
    assert.equal(latestCheckpoint(out), dir);
    assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).sort(), ['latest', 'step-000012'], 'no temporary directory left behind');
    for (const f of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'tokenizer_config.json']) {
      assert.ok(fs.existsSync(path.join(dir, f)), f);
    }

    const c = loadTrainerCheckpoint(dir);
    assert.deepEqual(c.state, state);
    const want = new Map(model.namedTensors());
    for (const [n, t] of c.model.namedTensors()) assert.deepEqual([...t.f32()], [...want.get(n)!.f32()], n);
    const fresh = new AdamW(c.model.namedParameters(), { lr: 1e-2 });
    c.optimizer(fresh);
    assert.equal(fresh.stepCount, 2, 'the update count is the optimizer\'s own (2, saved with its moments), not the trainer state\'s step 12');
    const a = opt.stateDict(), b = fresh.stateDict();
    for (const n of Object.keys(a.m)) {
      assert.deepEqual([...b.m[n]], [...a.m[n]], `m.${n}`);
      assert.deepEqual([...b.v[n]], [...a.v[n]], `v.${n}`);
      assert.ok(a.v[n].some((x) => x !== 0), 'moments are non-trivial');
    }

    // `latest` is advisory: naming a missing folder does not hide the complete checkpoint
    fs.writeFileSync(path.join(out, 'checkpoints', 'latest'), 'step-000099\n');
    assert.equal(latestCheckpoint(out), dir);

    // an optimizer file that records no update count (older checkpoints): the trainer state's step
    const optFile = path.join(dir, 'optimizer.safetensors');
    saveSafetensors(optFile, loadSafetensors(optFile));
    const older = new AdamW(c.model.namedParameters(), { lr: 1e-2 });
    loadTrainerCheckpoint(dir).optimizer(older);
    assert.equal(older.stepCount, 12);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('saving keeps the newest `keep` checkpoints and overwrites one of the same step', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-tckpt-'));
  try {
    const { model, opt } = trained(1);
    for (const step of [1, 2, 3]) saveTrainerCheckpoint(out, model, opt, { step, seed: 0, recipe: {} }, {});
    assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).sort(), ['latest', 'step-000002', 'step-000003']);
    saveTrainerCheckpoint(out, model, opt, { step: 4, seed: 0, recipe: {} }, {}, { keep: 3 });
    assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).sort(), ['latest', 'step-000002', 'step-000003', 'step-000004']);
    // a temporary directory left by a crash of this same process is replaced
    const stale = path.join(out, 'checkpoints', `.step-000004.tmp-${process.pid}`);
    fs.mkdirSync(stale);
    fs.writeFileSync(path.join(stale, 'junk'), 'x');
    saveTrainerCheckpoint(out, model, opt, { step: 4, seed: 9, recipe: {} }, {}, { keep: 3 });
    assert.ok(!fs.existsSync(stale));
    assert.equal(loadTrainerCheckpoint(path.join(out, 'checkpoints', 'step-000004')).state.seed, 9);
    assert.equal(latestCheckpoint(out), path.join(out, 'checkpoints', 'step-000004'));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('pruning keeps the checkpoint just written and the highest other steps, whatever order they were written in', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-tckpt-'));
  try {
    const { model, opt } = trained(2);
    const kept = () => fs.readdirSync(path.join(out, 'checkpoints')).filter((f) => f.startsWith('step-')).sort();
    for (const step of [30, 10, 20]) saveTrainerCheckpoint(out, model, opt, { step, seed: 0, recipe: {} }, {}, { keep: 2 });
    assert.deepEqual(kept(), ['step-000020', 'step-000030'], 'the older of the others (10) is pruned');
    // A lower step written last is the run's current state (e.g. resumed from it): it is never the one pruned.
    saveTrainerCheckpoint(out, model, opt, { step: 5, seed: 0, recipe: {} }, {}, { keep: 2 });
    assert.deepEqual(kept(), ['step-000005', 'step-000030']);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('sameRecipe: key order and defaults added later do not matter; values, nesting and arrays do', () => {
  type R = { a: number; b: { c: string; d?: number[] }; e: number };
  const parse = (o: unknown): R => {
    const x = o as Partial<R>;
    if (typeof x.a !== 'number' || !x.b) throw new Error('invalid');
    return { a: x.a, b: x.b, e: x.e ?? 7 }; // `e` was added with a default
  };
  const cur: R = { a: 1, b: { c: 'x', d: [1, 2] }, e: 7 };
  assert.ok(sameRecipe({ b: { d: [1, 2], c: 'x' }, a: 1 }, cur, parse));
  assert.ok(sameRecipe({ a: 1, b: { c: 'x', d: [1, 2], z: undefined }, e: 7 }, cur, parse), 'undefined keys are absent keys');
  assert.ok(!sameRecipe({ a: 2, b: { c: 'x', d: [1, 2] } }, cur, parse));
  assert.ok(!sameRecipe({ a: 1, b: { c: 'y', d: [1, 2] } }, cur, parse));
  assert.ok(!sameRecipe({ a: 1, b: { c: 'x', d: [2, 1] } }, cur, parse), 'array order matters');
  assert.ok(!sameRecipe({ a: 1, b: { c: 'x', d: [1, 2] }, e: 8 }, cur, parse));
  assert.ok(!sameRecipe({ a: 1, b: { c: 'x', d: [1, 2, 3] } }, cur, parse));
  assert.ok(!sameRecipe({ a: 1, b: { c: 'x', d: [12] } }, cur, parse), 'array elements stay apart');
  assert.ok(!sameRecipe({ a: 1, b: { c: 'x' } }, cur, parse), 'a missing nested key');
  assert.ok(!sameRecipe({ a: '1', b: { c: 'x', d: [1, 2] } }, cur, parse), 'stored recipe no longer valid');
  assert.ok(!sameRecipe(null, cur, parse));
});

test('recipeDifferences names each changed setting by its path; the budget keys (maxMinutes, checkpoint) may change on resume', () => {
  type R = { a: number; b: { c: string; d: number[] }; maxMinutes?: number; checkpoint?: { every: number } };
  const parse = (o: unknown): R => {
    const x = o as R;
    if (typeof x.a !== 'number') throw new Error('a: expected a number');
    return x;
  };
  const cur: R = { a: 1, b: { c: 'x', d: [1, 2] }, maxMinutes: 40, checkpoint: { every: 25 } };
  assert.deepEqual(recipeDifferences({ a: 1, b: { c: 'x', d: [1, 2] }, maxMinutes: 15, checkpoint: { every: 50 } }, cur, parse), []);
  assert.ok(sameRecipe({ a: 1, b: { c: 'x', d: [1, 2] } }, cur, parse), 'a budget key absent from the stored recipe is no change either');
  assert.deepEqual(recipeDifferences({ a: 2, b: { c: 'y', d: [1, 3] }, maxMinutes: 40 }, cur, parse), ['a', 'b.c', 'b.d[1]']);
  assert.deepEqual(recipeDifferences({ a: 1, b: { c: 'x', d: [1] } }, cur, parse), ['b.d']);
  assert.deepEqual(recipeDifferences({ a: 1, b: { c: 'x', d: [1, 2], e: 0 } }, cur, parse), ['b.e'], 'a key only one side has');
  const bad = recipeDifferences({ a: 'one' }, cur, parse);
  assert.equal(bad.length, 1);
  assert.match(bad[0], /no longer validates: a: expected a number/);
  // Nested budget-looking keys are settings like any other: only the top level is budget.
  const nested = { a: 1, b: { c: 'x', d: [1, 2], maxMinutes: 3 } } as unknown as R;
  assert.deepEqual(recipeDifferences(nested, cur, parse), ['b.maxMinutes']);
  const msg = recipeChangedMessage('runs/x', ['a', 'b.c'], 'runs/x/checkpoints/step-000010/trainer_state.json');
  assert.match(msg, /differs from the one runs\/x was started with, in a, b\.c \(see runs\/x\/checkpoints/);
  assert.match(msg, /only maxMinutes and checkpoint may change on resume/);
  assert.match(recipeChangedMessage('o', ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8']), /p6, and 2 more;/);
});

test('processAlive: a running process is alive; an exited one and a zombie (exited, never reaped) are not', async () => {
  const { processAlive } = await import('../src/train/checkpoint.js');
  const { spawn } = await import('node:child_process');
  assert.equal(processAlive(process.pid), true);
  // bash starts `sleep 0.1` in the background, then becomes `sleep 3`, which never reaps it: a zombie
  const parent = spawn('bash', ['-c', 'sleep 0.1 & echo $!; exec sleep 3']);
  try {
    const zombie = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    const until = Date.now() + 10_000;
    while (!/\) Z/.test(fs.existsSync(`/proc/${zombie}/stat`) ? fs.readFileSync(`/proc/${zombie}/stat`, 'utf8') : '') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.equal(processAlive(zombie), false, 'a zombie holds nothing');
    assert.equal(processAlive(parent.pid!), true);
  } finally {
    parent.kill('SIGKILL');
  }
  await new Promise((r) => parent.once('exit', r));
  assert.equal(processAlive(parent.pid!), false);
});
