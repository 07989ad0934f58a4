// Crash safety of trainer checkpoints, in process (found by mutation testing, docs/mutation.md; the
// crash suite kills child processes mid-save, whose coverage the mutation runner does not see):
// when a folder counts as complete, what the start of a run recovers or removes, what --resume
// picks and says, what a refusal names, the run lock, and a save that fails part-way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Tensor } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { AdamW } from '../src/nn/optim.js';
import {
  saveTrainerCheckpoint, loadTrainerCheckpoint, listCheckpoints, checkpointStatus, recoverCheckpoints, openRun, lockRun, unlockRun, COMPLETE_FILE,
} from '../src/train/checkpoint.js';

const cfg = { ...getPreset('nano'), numHiddenLayers: 1, firstKDenseReplace: 1, numNextnPredictLayers: 0 };
const model = new DeepseekV3(cfg, 3);
const opt = new AdamW(model.namedParameters(), { lr: 1e-2 });
for (const [, p] of model.namedParameters()) p.grad = Tensor.full(p.shape, 0.01);
opt.step();

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-ckrec-'));
const name = (s: number) => `step-${String(s).padStart(6, '0')}`;
const save = (out: string, step: number, extra: Record<string, unknown> = {}) =>
  saveTrainerCheckpoint(out, model, opt, { step, seed: 1, recipe: { r: 1 }, ...extra }, { 'tokenizer.json': '{"t":1}' });
const entries = (dir: string) => fs.readdirSync(dir).sort();
/** What `say` received. */
function sayer(): { say: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { say: (m) => lines.push(m), lines };
}

test('COMPLETE lists every file of the folder with its size; a folder counts as complete only when they all match', () => {
  const out = tmp();
  try {
    const dir = save(out, 7);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, COMPLETE_FILE), 'utf8'));
    assert.equal(manifest.step, 7);
    const files = entries(dir).filter((f) => f !== COMPLETE_FILE);
    assert.deepEqual(Object.keys(manifest.files).sort(), files);
    for (const f of files) assert.equal(manifest.files[f], fs.statSync(path.join(dir, f)).size, f);
    assert.deepEqual(checkpointStatus(dir), { name: name(7), dir, step: 7, complete: true, legacy: false });
    // a file shorter than the manifest says
    const cfgFile = path.join(dir, 'config.json');
    const text = fs.readFileSync(cfgFile, 'utf8');
    fs.writeFileSync(cfgFile, text.slice(1));
    assert.deepEqual(checkpointStatus(dir), {
      name: name(7), dir, step: 7, complete: false, legacy: false, problem: `config.json is ${text.length - 1} bytes, ${COMPLETE_FILE} says ${text.length}`,
    });
    fs.rmSync(cfgFile);
    assert.deepEqual(checkpointStatus(dir), { name: name(7), dir, step: 7, complete: false, legacy: false, problem: 'config.json is missing' });
    fs.writeFileSync(cfgFile, text);
    assert.equal(checkpointStatus(dir).complete, true);
    // an unreadable manifest, and one without "files"
    const m = path.join(dir, COMPLETE_FILE);
    fs.writeFileSync(m, '{"step": 7, "fil');
    assert.match(checkpointStatus(dir).problem!, /^COMPLETE is unreadable \(.+\)$/);
    fs.writeFileSync(m, '{"step": 7}');
    assert.equal(checkpointStatus(dir).problem, 'COMPLETE is unreadable (no "files")');
    fs.writeFileSync(m, '{"step": 7, "files": 3}');
    assert.equal(checkpointStatus(dir).problem, 'COMPLETE is unreadable (no "files")');
    assert.equal(checkpointStatus(dir).legacy, false);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('checkpoints from before the COMPLETE marker count as complete when config, weights (single or sharded), optimizer and a readable trainer state are there', () => {
  const out = tmp();
  try {
    const dir = save(out, 3);
    fs.rmSync(path.join(dir, COMPLETE_FILE));
    assert.deepEqual(checkpointStatus(dir), { name: name(3), dir, step: 3, complete: true, legacy: true });
    for (const f of ['config.json', 'optimizer.safetensors', 'trainer_state.json', 'model.safetensors']) {
      const p = path.join(dir, f), keep = fs.readFileSync(p);
      fs.rmSync(p);
      assert.deepEqual(checkpointStatus(dir), { name: name(3), dir, step: 3, complete: false, legacy: true, problem: `${f} is missing (and there is no ${COMPLETE_FILE} marker)` });
      fs.writeFileSync(p, keep);
    }
    // sharded weights: the index is required instead of model.safetensors
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), '{}');
    assert.equal(checkpointStatus(dir).complete, true);
    fs.rmSync(path.join(dir, 'model.safetensors'));
    assert.equal(checkpointStatus(dir).complete, true, 'sharded: model.safetensors is not required');
    fs.rmSync(path.join(dir, 'model.safetensors.index.json'));
    assert.equal(checkpointStatus(dir).problem, `model.safetensors is missing (and there is no ${COMPLETE_FILE} marker)`);
    fs.writeFileSync(path.join(dir, 'model.safetensors'), 'x');
    const st = path.join(dir, 'trainer_state.json');
    fs.writeFileSync(st, '{"seed": 1}');
    assert.deepEqual(checkpointStatus(dir), { name: name(3), dir, step: 3, complete: false, legacy: true, problem: 'trainer_state.json is unreadable (no step)' });
    fs.writeFileSync(st, '{');
    assert.match(checkpointStatus(dir).problem!, /^trainer_state\.json is unreadable \(.+\)$/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('listCheckpoints: step-N folders only, newest step first (by number)', () => {
  const out = tmp();
  try {
    assert.deepEqual(listCheckpoints(out), []);
    for (const s of [9, 100, 20]) save(out, s);
    // keep = 2 pruned step 9 when 20 was written
    const root = path.join(out, 'checkpoints');
    fs.mkdirSync(path.join(root, 'step-1000000'));
    fs.writeFileSync(path.join(root, 'step-000005'), 'a file, not a folder');
    fs.mkdirSync(path.join(root, 'other'));
    fs.mkdirSync(path.join(root, 'old-step-000007'));
    fs.mkdirSync(path.join(root, 'step-000008-copy'));
    const l = listCheckpoints(out);
    assert.deepEqual(l.map((c) => [c.name, c.step, c.complete]), [['step-1000000', 1000000, false], [name(100), 100, true], [name(20), 20, true]]);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('recoverCheckpoints: a complete copy whose step folder is missing is put back (the newer tmp before the older old); every other leftover is removed', () => {
  const out = tmp();
  try {
    const root = path.join(out, 'checkpoints');
    assert.deepEqual(recoverCheckpoints(path.join(out, 'nothing-here')), []);
    save(out, 1);
    save(out, 2);
    // step 2: a re-save was killed after moving the old copy aside and before the new one was in place
    fs.renameSync(path.join(root, name(2)), path.join(root, `.${name(2)}.old-111`));
    fs.cpSync(path.join(root, `.${name(2)}.old-111`), path.join(root, `.${name(2)}.tmp-222`), { recursive: true });
    fs.writeFileSync(path.join(root, `.${name(2)}.tmp-222`, 'trainer_state.json'), JSON.stringify({ step: 2, seed: 42, recipe: { r: 1 } }));
    // rewrite the tmp copy's manifest so it stays complete with the changed state
    const files: Record<string, number> = {};
    for (const f of fs.readdirSync(path.join(root, `.${name(2)}.tmp-222`))) if (f !== COMPLETE_FILE) files[f] = fs.statSync(path.join(root, `.${name(2)}.tmp-222`, f)).size;
    fs.writeFileSync(path.join(root, `.${name(2)}.tmp-222`, COMPLETE_FILE), JSON.stringify({ step: 2, files }));
    // step 3: an incomplete new copy (never restored); step 1: a folder being pruned (never restored)
    fs.mkdirSync(path.join(root, `.${name(3)}.tmp-333`));
    fs.cpSync(path.join(root, name(1)), path.join(root, `.${name(4)}.del-444`), { recursive: true });
    // step 5: a complete copy that predates the marker (not restored: it cannot be verified)
    fs.cpSync(path.join(root, name(1)), path.join(root, `.${name(5)}.old-555`), { recursive: true });
    fs.rmSync(path.join(root, `.${name(5)}.old-555`, COMPLETE_FILE));
    fs.writeFileSync(path.join(root, 'latest.tmp-666'), 'step-000002\n');
    fs.writeFileSync(path.join(out, 'metrics.jsonl.tmp-777'), '');
    fs.mkdirSync(path.join(out, 'keep.tmp-888'));
    fs.writeFileSync(path.join(out, 'notes.tmp'), '');
    fs.writeFileSync(path.join(out, 'notes.tmp-5.txt'), '');
    fs.mkdirSync(path.join(root, `x.${name(6)}.tmp-1`));
    fs.mkdirSync(path.join(root, `.${name(6)}.tmp-1.keep`));
    const msgs = recoverCheckpoints(out);
    assert.deepEqual(msgs.slice().sort(), [
      `checkpoints: recovered ${path.join(root, name(2))} from .${name(2)}.tmp-222, a complete copy left by an interrupted save`,
      `checkpoints: removed ${path.join(root, `.${name(2)}.old-111`)}, left by an interrupted save`,
      `checkpoints: removed ${path.join(root, `.${name(3)}.tmp-333`)}, left by an interrupted save`,
      `checkpoints: removed ${path.join(root, `.${name(4)}.del-444`)}, left by an interrupted save`,
      `checkpoints: removed ${path.join(root, `.${name(5)}.old-555`)}, left by an interrupted save`,
      `checkpoints: removed ${path.join(root, 'latest.tmp-666')}, left by an interrupted save`,
      `removed ${path.join(out, 'metrics.jsonl.tmp-777')}, left by an interrupted write`,
    ].sort());
    assert.ok(msgs[0].startsWith('checkpoints: recovered'), 'tmp copies are handled before old ones');
    assert.deepEqual(entries(root), [`.${name(6)}.tmp-1.keep`, 'latest', name(1), name(2), `x.${name(6)}.tmp-1`], 'names that only contain a leftover pattern are not leftovers');
    assert.equal(loadTrainerCheckpoint(path.join(root, name(2))).state.seed, 42, 'the newer (tmp) copy was restored');
    assert.deepEqual(entries(out), ['checkpoints', 'keep.tmp-888', 'notes.tmp', 'notes.tmp-5.txt']);
    assert.deepEqual(recoverCheckpoints(out), [], 'nothing left to do');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('openRun: a fresh folder starts at 0; history without --resume is refused naming what is there; --resume takes the newest complete checkpoint that loads and says what it skipped', () => {
  const out = tmp();
  try {
    const load = (dir: string) => loadTrainerCheckpoint(dir);
    const s0 = sayer();
    assert.equal(openRun(out, false, load, s0.say), null);
    assert.deepEqual(s0.lines, []);
    unlockRun(out);
    const r0 = sayer();
    assert.equal(openRun(out, true, load, r0.say), null);
    assert.deepEqual(r0.lines, [`resume: no checkpoint in ${out}; starting from step 0`]);
    unlockRun(out);

    const root = path.join(out, 'checkpoints');
    save(out, 4);
    save(out, 6);
    fs.writeFileSync(path.join(out, 'metrics.jsonl'), [1, 2, 6, 3].map((step) => JSON.stringify({ step, loss: 1 })).join('\n') + '\n');
    fs.mkdirSync(path.join(root, name(8)));
    assert.throws(() => openRun(out, false, load, () => {}), (e: Error) => {
      assert.equal(e.message, `${out} already holds a run (metrics.jsonl with 6 steps; complete checkpoints ${name(6)}, ${name(4)}; incomplete checkpoints ${name(8)} (config.json is missing (and there is no ${COMPLETE_FILE} marker))); pass --resume to continue it, or choose another --out`);
      return true;
    });
    unlockRun(out);

    // --resume: step 8 is incomplete, step 6 does not load (its weights are corrupt), step 4 loads
    const w6 = path.join(root, name(6), 'model.safetensors');
    const size = fs.statSync(w6).size;
    fs.writeFileSync(w6, Buffer.alloc(size, 0xff));
    const s1 = sayer();
    const got = openRun(out, true, load, s1.say)!;
    assert.equal(got.dir, path.join(root, name(4)));
    assert.equal(got.step, 4);
    assert.equal(got.loaded.state.step, 4);
    assert.equal(s1.lines.length, 2, s1.lines.join('\n'));
    assert.equal(s1.lines[0], `resume: skipping ${name(8)}: incomplete (config.json is missing (and there is no ${COMPLETE_FILE} marker)); resuming from ${name(4)}, the newest complete checkpoint`);
    assert.match(s1.lines[1], new RegExp(`^resume: skipping ${name(6)}: it does not load \\(.+\\); resuming from ${name(4)}, the newest complete checkpoint$`));
    unlockRun(out);

    // nothing loads: refused, naming why
    fs.writeFileSync(path.join(root, name(4), 'model.safetensors'), Buffer.alloc(fs.statSync(path.join(root, name(4), 'model.safetensors')).size, 0xff));
    assert.throws(() => openRun(out, true, load, () => {}), (e: Error) => {
      assert.ok(e.message.startsWith(`--resume: ${out} has no complete checkpoint to resume from (it holds metrics.jsonl with 6 steps; complete checkpoints ${name(6)}, ${name(4)}; incomplete checkpoints ${name(8)} (`), e.message);
      assert.match(e.message, new RegExp(`; ${name(6)} does not load \\(.+\\); ${name(4)} does not load \\(.+\\)\\); refusing to start over from step 0 on top of that history\\. Move it away to start afresh, or choose another --out$`));
      return true;
    });
    unlockRun(out);
    // only an incomplete checkpoint, no metrics: refused too (no silent restart), and without --resume the advice is to move it away
    fs.rmSync(path.join(out, 'metrics.jsonl'));
    fs.rmSync(path.join(root, name(4)), { recursive: true });
    fs.rmSync(path.join(root, name(6)), { recursive: true });
    assert.throws(() => openRun(out, false, load, () => {}), new RegExp(`already holds a run \\(incomplete checkpoints ${name(8)} \\(.+\\)\\); it has no complete checkpoint to resume from, so move it away to start afresh, or choose another --out$`));
    unlockRun(out);
    assert.throws(() => openRun(out, true, load, () => {}), /has no complete checkpoint to resume from \(it holds incomplete checkpoints step-000008 \(.+\)\); refusing/);
    unlockRun(out);
    // two incomplete checkpoints are listed apart; metrics without any checkpoint are history too
    fs.mkdirSync(path.join(root, name(9)));
    assert.throws(() => openRun(out, false, load, () => {}), new RegExp(`\\(incomplete checkpoints ${name(9)} \\(config\\.json is missing \\(and there is no COMPLETE marker\\)\\), ${name(8)} \\(config`));
    unlockRun(out);
    fs.rmSync(root, { recursive: true });
    fs.writeFileSync(path.join(out, 'metrics.jsonl'), JSON.stringify({ step: 3, loss: 1 }) + '\n');
    assert.throws(() => openRun(out, false, load, () => {}), (e: Error) => {
      assert.equal(e.message, `${out} already holds a run (metrics.jsonl with 3 steps); it has no complete checkpoint to resume from, so move it away to start afresh, or choose another --out`);
      return true;
    });
    unlockRun(out);
    // without a `say`, the decisions go to stderr
    fs.rmSync(path.join(out, 'metrics.jsonl'));
    const lines: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => { lines.push(a.map(String).join(' ')); };
    try {
      assert.equal(openRun(out, true, load), null);
    } finally {
      console.error = orig;
      unlockRun(out);
    }
    assert.deepEqual(lines, [`resume: no checkpoint in ${out}; starting from step 0`]);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('openRun --resume: what it says when latest lags behind or names nothing, and for a checkpoint from before the marker', () => {
  const out = tmp();
  try {
    const load = (dir: string) => loadTrainerCheckpoint(dir);
    const root = path.join(out, 'checkpoints');
    save(out, 2);
    save(out, 5);
    // a save of 5 was interrupted before it updated latest
    fs.writeFileSync(path.join(root, 'latest'), `${name(2)}\n`);
    const a = sayer();
    assert.equal(openRun(out, true, load, a.say)!.step, 5);
    assert.deepEqual(a.lines, [`resume: checkpoints/latest names ${name(2)}, but ${name(5)} is newer and complete (a save was interrupted before it updated latest); resuming from ${name(5)}, the newest complete checkpoint`]);
    unlockRun(out);
    // latest names a folder that is gone
    fs.writeFileSync(path.join(root, 'latest'), `${name(9)}\n`);
    const b = sayer();
    assert.equal(openRun(out, true, load, b.say)!.step, 5);
    assert.deepEqual(b.lines, [`resume: checkpoints/latest names ${name(9)}, which does not exist; resuming from ${name(5)}, the newest complete checkpoint`]);
    unlockRun(out);
    // latest agrees: nothing to say; a legacy checkpoint says so
    fs.writeFileSync(path.join(root, 'latest'), `${name(5)}\n`);
    fs.rmSync(path.join(root, name(5), COMPLETE_FILE));
    const c = sayer();
    assert.equal(openRun(out, true, load, c.say)!.step, 5);
    assert.deepEqual(c.lines, [`resume: ${name(5)} predates completeness markers; it has all its files, so it counts as complete`]);
    unlockRun(out);
    // no latest file at all
    fs.rmSync(path.join(root, 'latest'));
    const d = sayer();
    assert.equal(openRun(out, true, load, d.say)!.step, 5);
    assert.equal(d.lines.length, 1);
    unlockRun(out);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('the run lock: held by this process (re-entrant), refused for a live process naming its pid, taken over from a dead or unreadable one; unlock removes only our own', () => {
  const out = tmp();
  try {
    const lock = path.join(out, 'run.lock');
    assert.deepEqual(lockRun(out), []);
    assert.equal(fs.readFileSync(lock, 'utf8'), `${process.pid}\n`);
    assert.deepEqual(lockRun(out), [], 're-entrant');
    unlockRun(out);
    assert.ok(!fs.existsSync(lock));
    unlockRun(out); // not held: nothing happens
    // a live process (our parent) holds it
    const live = process.ppid;
    fs.writeFileSync(lock, `${live}\n`);
    assert.throws(() => lockRun(out), (e: Error) => {
      assert.equal(e.message, `${out} is in use by another run (process ${live} holds ${lock}); wait for it to finish or stop it, or choose another --out`);
      return true;
    });
    assert.equal(fs.readFileSync(lock, 'utf8'), `${live}\n`, 'the live lock stays');
    // a process that has exited
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    fs.writeFileSync(lock, `${dead}\n`);
    assert.deepEqual(lockRun(out), [`removed ${lock}, left by process ${dead}, which is no longer running`]);
    assert.equal(fs.readFileSync(lock, 'utf8'), `${process.pid}\n`);
    // someone else's lock file replaced ours while we held it: unlock leaves it alone
    fs.writeFileSync(lock, `${live}\n`);
    unlockRun(out);
    assert.ok(fs.existsSync(lock));
    fs.writeFileSync(lock, 'garbage');
    assert.deepEqual(lockRun(out), [`removed ${lock}, left by an earlier run (unreadable pid)`]);
    unlockRun(out);
    fs.writeFileSync(lock, `${process.pid}\n`);
    assert.deepEqual(lockRun(out), [`removed ${lock}, left by an earlier run in this process`]);
    unlockRun(out);
    assert.ok(!fs.existsSync(lock));
    // the folder cannot hold a lock file
    const notDir = path.join(out, 'file');
    fs.writeFileSync(notDir, '');
    assert.throws(() => lockRun(notDir), /file\/run\.lock: cannot create the run lock \(.*ENOTDIR.*\)$/);
  } finally {
    unlockRun(out);
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('a save that fails part-way removes its temporary folder, names the path, and leaves the previous checkpoints; a re-save replaces the old copy', () => {
  const out = tmp();
  try {
    const root = path.join(out, 'checkpoints');
    save(out, 1);
    assert.throws(
      () => saveTrainerCheckpoint(out, model, opt, { step: 2, seed: 1, recipe: {} }, {}, { writeExtra: () => { throw new Error('disk full'); } }),
      (e: Error) => {
        assert.equal(e.name, 'CheckpointError');
        assert.ok(e.message.endsWith(`cannot save checkpoint ${name(2)} to ${path.join(root, `.${name(2)}.tmp-${process.pid}`)}: disk full (removed the partial folder; the previous checkpoints are untouched)`), e.message);
        return true;
      },
    );
    assert.deepEqual(entries(root), ['latest', name(1)]);
    assert.equal(fs.readFileSync(path.join(root, 'latest'), 'utf8'), `${name(1)}\n`);
    // writeExtra files are part of the checkpoint and its manifest
    const dir = saveTrainerCheckpoint(out, model, opt, { step: 2, seed: 1, recipe: {} }, {}, {
      writeExtra: (d) => {
        fs.writeFileSync(path.join(d, 'ref.bin'), 'abc');
        fs.mkdirSync(path.join(d, 'ref'));
        fs.writeFileSync(path.join(d, 'ref', 'w.bin'), 'abcde');
      },
    });
    const listed = JSON.parse(fs.readFileSync(path.join(dir, COMPLETE_FILE), 'utf8')).files;
    assert.equal(listed['ref.bin'], 3);
    assert.equal(listed['ref/w.bin'], 5, 'files in subfolders are listed by their relative path');
    assert.ok(!('ref' in listed), 'folders are not listed');
    // re-saving step 2: the new copy replaces the old one, no leftovers
    saveTrainerCheckpoint(out, model, opt, { step: 2, seed: 8, recipe: {} }, {});
    assert.deepEqual(entries(root), ['latest', name(1), name(2)]);
    assert.equal(loadTrainerCheckpoint(dir).state.seed, 8);
    assert.ok(!fs.existsSync(path.join(dir, 'ref.bin')) && !fs.existsSync(path.join(dir, 'ref')));
    // the moments saved are the optimizer's, under m./v. names, with its step count
    const c = loadTrainerCheckpoint(dir);
    const fresh = new AdamW(c.model.namedParameters());
    c.optimizer(fresh);
    const a = opt.stateDict(), b = fresh.stateDict();
    assert.equal(b.step, a.step, 'the optimizer\'s own update count (1), not the trainer state\'s step 2');
    assert.equal(a.step, 1);
    for (const n of Object.keys(a.m)) assert.deepEqual([b.m[n], b.v[n]], [a.m[n], a.v[n]], n);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('a run lock is released when the process exits without unlocking (the exit hook)', () => {
  const out = tmp();
  try {
    const mod = new URL('../src/train/checkpoint.js', import.meta.url).href;
    const code = `const m = await import(${JSON.stringify(mod)}); m.lockRun(${JSON.stringify(out)}); m.lockRun(${JSON.stringify(path.join(out, 'b'))}); process.stdout.write(require('node:fs').readFileSync(${JSON.stringify(path.join(out, 'run.lock'))}, 'utf8'));`;
    fs.mkdirSync(path.join(out, 'b'));
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code.replace("require('node:fs')", '(await import("node:fs")).default')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+\n$/, 'the child held the lock');
    assert.ok(!fs.existsSync(path.join(out, 'run.lock')), 'released at exit');
    assert.ok(!fs.existsSync(path.join(out, 'b', 'run.lock')), 'every lock it held');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
