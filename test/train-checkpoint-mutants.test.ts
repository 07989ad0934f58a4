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
  // bash starts `sleep 0.1` in the background, then becomes `sleep 60` (killed below), which never
  // reaps it: a zombie. (A short parent sleep let a loaded machine reap the zombie before the check.)
  const parent = spawn('bash', ['-c', 'sleep 0.1 & echo $!; exec sleep 60']);
  try {
    const zombie = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    const until = Date.now() + 10_000;
    const stat = () => (fs.existsSync(`/proc/${zombie}/stat`) ? fs.readFileSync(`/proc/${zombie}/stat`, 'utf8') : '');
    while (!/\) Z/.test(stat()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.match(stat(), /\) Z/, 'the background sleep is a zombie now');
    assert.equal(processAlive(zombie), false, 'a zombie holds nothing');
    assert.equal(processAlive(parent.pid!), true);
  } finally {
    parent.kill('SIGKILL');
  }
  await new Promise((r) => parent.once('exit', r));
  assert.equal(processAlive(parent.pid!), false);
});

test('saveTrainerCheckpoint with writeModel: the caller writes the model files into the checkpoint folder (no optimizer.safetensors of its own); no model and no writeModel is refused', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-tckpt-wm-'));
  try {
    const seen: string[] = [];
    const opt = { stateDict: () => { throw new Error('the optimizer is the writer\'s business'); } } as unknown as AdamW;
    const dir = saveTrainerCheckpoint(out, null, opt, { step: 4, seed: 1, recipe: {} }, {}, {
      writeModel: (tmp) => {
        seen.push(tmp);
        assert.ok(fs.statSync(tmp).isDirectory(), 'the folder exists when the writer is called');
        fs.writeFileSync(path.join(tmp, 'model.safetensors'), 'x');
        fs.writeFileSync(path.join(tmp, 'optimizer-00000-of-00001.safetensors'), 'y');
      },
    });
    assert.equal(dir, path.join(out, 'checkpoints', 'step-000004'));
    assert.equal(seen.length, 1);
    assert.match(path.basename(seen[0]!), /^\.step-000004\.tmp-\d+$/);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['COMPLETE', 'model.safetensors', 'optimizer-00000-of-00001.safetensors', 'trainer_state.json']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'COMPLETE'), 'utf8')).files, { 'model.safetensors': 1, 'optimizer-00000-of-00001.safetensors': 1, 'trainer_state.json': fs.statSync(path.join(dir, 'trainer_state.json')).size });
    assert.throws(() => saveTrainerCheckpoint(out, null, opt, { step: 5, seed: 1, recipe: {} }, {}),
      { message: `cannot save checkpoint step-000005 to ${path.join(out, 'checkpoints', `.step-000005.tmp-${process.pid}`)}: saveTrainerCheckpoint: no model and no writeModel (removed the partial folder; the previous checkpoints are untouched)` });
    assert.ok(!fs.existsSync(path.join(out, 'checkpoints', `.step-000005.tmp-${process.pid}`)));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('readOptimizerState: optimizer.safetensors or the shards a pipeline run writes, merged; the update count the files record, else the step; other files ignored', async () => {
  const { readOptimizerState } = await import('../src/train/checkpoint.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-optstate-'));
  try {
    assert.throws(() => readOptimizerState(dir, 3), { message: `${dir}: no optimizer.safetensors or optimizer-*-of-*.safetensors` });
    const rec = (name: string, x: number) => ({ name, dtype: 'F32' as const, shape: [2], data: Float32Array.of(x, x + 1) });
    saveSafetensors(path.join(dir, 'optimizer-00000-of-00002.safetensors'), [rec('m.a', 1), rec('v.a', 3), rec('x.a', 9)], { step: '17' });
    saveSafetensors(path.join(dir, 'optimizer-00001-of-00002.safetensors'), [rec('m.b', 5), rec('v.b', 7)], { step: '17' });
    // names that are not optimizer shards: ignored (a wrong one would add 'm.c' or fail to parse)
    for (const f of ['optimizer-0-of-2.safetensors', 'optimizer-00002-of-2.safetensors', 'xoptimizer-00002-of-00003.safetensors', 'optimizer-00002-of-00003.safetensors.tmp', 'optimizer-0000a-of-00003.safetensors', 'optimizer-00002-of-0000b.safetensors']) {
      saveSafetensors(path.join(dir, f), [rec('m.c', 0)], { step: '99' });
    }
    const s = readOptimizerState(dir, 3);
    assert.equal(s.step, 17, 'the count the files record');
    assert.deepEqual(Object.keys(s.m).sort(), ['a', 'b']);
    assert.deepEqual(Object.keys(s.v).sort(), ['a', 'b']);
    assert.deepEqual([...s.m.a!, ...s.v.a!, ...s.m.b!, ...s.v.b!], [1, 2, 3, 4, 5, 6, 7, 8]);
    // no recorded count, or one that is not a whole number: the step given
    const dir2 = path.join(dir, 'two');
    fs.mkdirSync(dir2);
    saveSafetensors(path.join(dir2, 'optimizer.safetensors'), [rec('m.a', 1), rec('v.a', 3)]);
    assert.equal(readOptimizerState(dir2, 3).step, 3);
    for (const bad of ['12a', 'a12', '1.5', '', '-4']) {
      saveSafetensors(path.join(dir2, 'optimizer.safetensors'), [rec('m.a', 1), rec('v.a', 3)], { step: bad });
      assert.equal(readOptimizerState(dir2, 3).step, 3, JSON.stringify(bad));
    }
    saveSafetensors(path.join(dir2, 'optimizer.safetensors'), [rec('m.a', 1), rec('v.a', 3)], { step: '120' });
    assert.equal(readOptimizerState(dir2, 3).step, 120);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('recipeDifferences: key order and undefined values are no difference; a value turned object or array is one; a recipe that is not an object is compared whole', () => {
  const id = <T>(o: unknown) => o as T;
  // key order, at every depth, including inside arrays
  assert.deepEqual(recipeDifferences({ b: { y: 1, x: [{ q: 1, p: 2 }] }, a: 1 }, { a: 1, b: { x: [{ p: 2, q: 1 }], y: 1 } }, id), []);
  // an explicitly undefined setting is no setting
  assert.deepEqual(recipeDifferences({ a: 1, b: undefined }, { a: 1 }, id), []);
  assert.deepEqual(recipeDifferences({ a: [{ k: 1, u: undefined }] }, { a: [{ k: 1 }] }, id), []);
  // a value compared with an object or an array is one difference at its path, not one per key
  assert.deepEqual(recipeDifferences({ a: 1, b: 2 }, { a: 1, b: { c: 2 } }, id), ['b']);
  assert.deepEqual(recipeDifferences({ a: { c: 2 } }, { a: [2] }, id), ['a']);
  assert.deepEqual(recipeDifferences({ a: [1] }, { a: { 0: 1 } }, id), ['a']);
  assert.deepEqual(recipeDifferences({ a: null }, { a: {} }, id), ['a']);
  // keys of both sides, in sorted order
  assert.deepEqual(recipeDifferences({ z: 1, m: 1 }, { b: 1, m: 2 }, id), ['b', 'm', 'z']);
  // whole recipes that are not objects: compared as values (budget keys only apply to objects)
  assert.deepEqual(recipeDifferences(3, 4, id), ['(the whole recipe)']);
  assert.deepEqual(recipeDifferences('a', 'a', id), []);
  assert.deepEqual(recipeDifferences([1, { maxMinutes: 2 }], [1, { maxMinutes: 3 }], id), ['[1].maxMinutes']);
  assert.deepEqual(recipeDifferences(undefined, undefined, id), []);
  assert.deepEqual(recipeDifferences(undefined, null, id), []);
  assert.deepEqual(recipeDifferences(undefined, 0, id), ['(the whole recipe)']);
  // six differences are all named; the seventh is counted
  const six = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
  assert.match(recipeChangedMessage('o', six), /in p1, p2, p3, p4, p5, p6; run with/);
  assert.match(recipeChangedMessage('o', [...six, 'p7']), /in p1, p2, p3, p4, p5, p6, and 1 more; run with/);
  assert.ok(!recipeChangedMessage('o', six).includes('(see'));
});
