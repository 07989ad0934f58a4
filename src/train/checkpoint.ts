// Trainer checkpoints: `<out>/checkpoints/step-NNNNNN/` holds a Hugging Face model directory (with
// the tokenizer), `optimizer.safetensors` (AdamW moments), `trainer_state.json` and, written last,
// `COMPLETE`: a manifest of every file in the folder with its size. `<out>/checkpoints/latest` names
// the newest save.
//
// A save never shows a partial folder under a step name and never drops the last complete copy of a step:
//   1. everything is written to `.step-N.tmp-PID/`, the COMPLETE manifest last;
//   2. a re-save of an existing `step-N` first renames the old folder aside to `.step-N.old-PID`;
//   3. the new folder is renamed to `step-N`, then `latest` is rewritten atomically;
//   4. the old copy is deleted, and checkpoints beyond `keep` are pruned (each renamed to
//      `.step-N.del-PID` before it is deleted, so a half-deleted folder never keeps a step name).
// A kill at any point leaves a complete `step-N` or a complete `.step-N.tmp-PID` / `.step-N.old-PID`;
// `recoverCheckpoints` (run at every start) puts such a copy back in place and deletes other leftovers.
// Resume takes the newest complete checkpoint that loads (`latest` is only advisory) and says what it
// skipped. Checkpoints written before the manifest existed (no COMPLETE file) count as complete when
// config.json, the weights, optimizer.safetensors and a readable trainer_state.json are all there.
import fs from 'node:fs';
import path from 'node:path';
import type { CausalLM } from '../model/causal-lm.js';
import { saveModel, loadModel } from '../model/checkpoint.js';
import type { AdamW, OptimizerState } from '../nn/optim.js';
import { saveSafetensors, loadAsFloat32, writeFileAtomic, syncDir, CheckpointError, INDEX_FILE, SINGLE_FILE, SafetensorsFile } from '../io/index.js';
import type { TensorRecord } from '../io/index.js';
import { faultPoint } from '../io/fault.js';
import { readMetrics } from './metrics.js';

/** Everything besides weights and moments that a resumed run needs. */
export interface TrainerState {
  step: number;
  seed: number;
  /** The recipe the run was started with (a resume must not silently change it). */
  recipe: unknown;
  /** Free-form extra state (e.g. sampler RNG states of RL runs). */
  extra?: Record<string, unknown>;
}

/** Name of the completeness marker, written last into a checkpoint folder. */
export const COMPLETE_FILE = 'COMPLETE';
const STEP_RE = /^step-(\d+)$/;
/** Leftovers of interrupted saves: `.step-N.tmp-PID` (new copy), `.step-N.old-PID` (replaced copy), `.step-N.del-PID` (being pruned), `latest.tmp-PID`. */
const LEFTOVER_RE = /^(?:\.(step-\d+)\.(tmp|old|del)-\d+|latest\.tmp-\d+)$/;

/** Options of `saveTrainerCheckpoint`. */
export interface SaveCheckpointOptions {
  /** How many complete checkpoints to keep (default 2). */
  keep?: number;
  /** Writes extra files into the checkpoint folder before it is marked complete (e.g. GRPO's reference model). */
  writeExtra?: (dir: string) => void;
  /** Writes the weights and optimizer moments instead of `model`/`opt` (a pipeline run: every rank writes its shards). */
  writeModel?: (dir: string) => void;
}

function stepName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** Every file under `dir`, as paths relative to it. */
function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Deletes a folder by renaming it aside first, so a kill mid-delete never leaves a partial folder under its name. */
function removeDir(root: string, name: string): void {
  const aside = path.join(root, `.${name}.del-${process.pid}`);
  fs.renameSync(path.join(root, name), aside);
  fs.rmSync(aside, { recursive: true, force: true });
}

/**
 * Saves a checkpoint of step `state.step` (replacing an existing one of that step safely) and prunes
 * all but the newest `keep` complete ones. Returns its directory. A save that fails (e.g. disk full)
 * removes its temporary folder and throws a CheckpointError naming the path; older checkpoints stay.
 */
export function saveTrainerCheckpoint(
  out: string, model: CausalLM | null, opt: Pick<AdamW, 'stateDict'>, state: TrainerState,
  tokenizerFiles: Record<string, string | Uint8Array>, options: SaveCheckpointOptions = {},
): string {
  const keep = options.keep ?? 2;
  const root = path.join(out, 'checkpoints');
  fs.mkdirSync(root, { recursive: true });
  const name = stepName(state.step);
  const final = path.join(root, name);
  const tmp = path.join(root, `.${name}.tmp-${process.pid}`);
  try {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (options.writeModel) {
      fs.mkdirSync(tmp, { recursive: true });
      options.writeModel(tmp);
    } else {
      if (!model) throw new CheckpointError('saveTrainerCheckpoint: no model and no writeModel');
      saveModel(tmp, model, { tokenizerFiles });
      const o = opt.stateDict();
      const recs: TensorRecord[] = [];
      for (const [n, p] of model.namedParameters()) {
        recs.push({ name: `m.${n}`, dtype: 'F32', shape: [...p.shape], data: o.m[n] });
        recs.push({ name: `v.${n}`, dtype: 'F32', shape: [...p.shape], data: o.v[n] });
      }
      saveSafetensors(path.join(tmp, 'optimizer.safetensors'), recs, { step: String(o.step) });
    }
    faultPoint('checkpoint:files-written');
    writeFileAtomic(path.join(tmp, 'trainer_state.json'), JSON.stringify(state, null, 2) + '\n');
    options.writeExtra?.(tmp);
    const files: Record<string, number> = {};
    for (const f of listFiles(tmp)) files[f] = fs.statSync(path.join(tmp, f)).size;
    writeFileAtomic(path.join(tmp, COMPLETE_FILE), JSON.stringify({ step: state.step, files }, null, 2) + '\n');
  } catch (e) {
    let cleaned = 'removed the partial folder';
    try {
      fs.rmSync(tmp, { recursive: true, force: true });
    } catch (e2) {
      cleaned = `could not remove the partial folder: ${(e2 as Error).message}`;
    }
    throw new CheckpointError(`cannot save checkpoint ${name} to ${tmp}: ${(e as Error).message} (${cleaned}; the previous checkpoints are untouched)`);
  }
  faultPoint('checkpoint:complete');
  let old: string | null = null;
  if (fs.existsSync(final)) {
    old = path.join(root, `.${name}.old-${process.pid}`);
    fs.rmSync(old, { recursive: true, force: true });
    fs.renameSync(final, old);
    faultPoint('checkpoint:old-aside');
  }
  try {
    fs.renameSync(tmp, final);
  } catch (e) {
    if (old) fs.renameSync(old, final); // put the previous copy back
    throw new CheckpointError(`cannot move checkpoint ${tmp} to ${final}: ${(e as Error).message}${old ? ' (the previous copy is back in place)' : ''}`);
  }
  syncDir(root);
  faultPoint('checkpoint:in-place');
  writeFileAtomic(path.join(root, 'latest'), name + '\n');
  faultPoint('checkpoint:latest');
  if (old) fs.rmSync(old, { recursive: true, force: true });
  // Prune: keep the newest `keep` complete checkpoints (always including this one); incomplete
  // folders are left for the user to look at (resume warns about them).
  const complete = listCheckpoints(out).filter((c) => c.complete && c.name !== name);
  for (const c of complete.slice(Math.max(0, keep - 1))) removeDir(root, c.name);
  return final;
}

/** A checkpoint folder of a run and whether it can be resumed from. */
export interface CheckpointStatus {
  name: string;
  dir: string;
  step: number;
  complete: boolean;
  /** Written before the COMPLETE marker existed (judged by its files). */
  legacy: boolean;
  /** Why it is incomplete. */
  problem?: string;
}

/** Whether a checkpoint folder is complete: its COMPLETE manifest matches the files, or (older saves) all required files are there. */
export function checkpointStatus(dir: string): CheckpointStatus {
  const name = path.basename(dir);
  const step = Number(STEP_RE.exec(name)?.[1] ?? NaN);
  const bad = (problem: string, legacy: boolean): CheckpointStatus => ({ name, dir, step, complete: false, legacy, problem });
  const marker = path.join(dir, COMPLETE_FILE);
  if (fs.existsSync(marker)) {
    let files: Record<string, number>;
    try {
      files = (JSON.parse(fs.readFileSync(marker, 'utf8')) as { files: Record<string, number> }).files;
      if (!files || typeof files !== 'object') throw new Error('no "files"');
    } catch (e) {
      return bad(`${COMPLETE_FILE} is unreadable (${(e as Error).message})`, false);
    }
    for (const [f, size] of Object.entries(files)) {
      let actual: number;
      try {
        actual = fs.statSync(path.join(dir, f)).size;
      } catch {
        return bad(`${f} is missing`, false);
      }
      if (actual !== size) return bad(`${f} is ${actual} bytes, ${COMPLETE_FILE} says ${size}`, false);
    }
    return { name, dir, step, complete: true, legacy: false };
  }
  // A checkpoint from before the marker existed: complete if every required file is there.
  const required = ['config.json', 'optimizer.safetensors', 'trainer_state.json'];
  required.push(fs.existsSync(path.join(dir, INDEX_FILE)) ? INDEX_FILE : SINGLE_FILE);
  for (const f of required) if (!fs.existsSync(path.join(dir, f))) return bad(`${f} is missing (and there is no ${COMPLETE_FILE} marker)`, true);
  try {
    const st = JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
    if (typeof st.step !== 'number') throw new Error('no step');
  } catch (e) {
    return bad(`trainer_state.json is unreadable (${(e as Error).message})`, true);
  }
  return { name, dir, step, complete: true, legacy: true };
}

/** The `step-N` folders of a run, newest first, each with its completeness. */
export function listCheckpoints(out: string): CheckpointStatus[] {
  const root = path.join(out, 'checkpoints');
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).filter((f) => STEP_RE.test(f) && fs.statSync(path.join(root, f)).isDirectory())
    .map((f) => checkpointStatus(path.join(root, f)))
    .sort((a, b) => b.step - a.step);
}

/**
 * Cleans up after saves that were killed: a complete copy of a step whose `step-N` folder is missing
 * (killed between the renames of a re-save) is put back in place; every other leftover
 * (`.step-N.tmp-PID`, `.step-N.old-PID`, `.step-N.del-PID`, `latest.tmp-PID`, and `*.tmp-PID` files of
 * atomic writes in the run folder) is deleted. Returns one message per action.
 */
export function recoverCheckpoints(out: string): string[] {
  const msgs: string[] = [];
  const root = path.join(out, 'checkpoints');
  if (fs.existsSync(root)) {
    const leftovers = fs.readdirSync(root).filter((f) => LEFTOVER_RE.test(f));
    // Newer copies (tmp) before older ones (old); pruned folders (del) are never restored.
    const rank = (f: string) => (f.includes('.tmp-') ? 0 : f.includes('.old-') ? 1 : 2);
    for (const f of [...leftovers].sort((a, b) => rank(a) - rank(b))) {
      const m = LEFTOVER_RE.exec(f)!;
      const step = m[1], kind = m[2];
      const p = path.join(root, f);
      if (step && kind !== 'del' && !fs.existsSync(path.join(root, step)) && checkpointStatus(p).complete && !checkpointStatus(p).legacy) {
        fs.renameSync(p, path.join(root, step));
        msgs.push(`checkpoints: recovered ${path.join(root, step)} from ${f}, a complete copy left by an interrupted save`);
        continue;
      }
      fs.rmSync(p, { recursive: true, force: true });
      msgs.push(`checkpoints: removed ${p}, left by an interrupted save`);
    }
    if (leftovers.length) syncDir(root);
  }
  if (fs.existsSync(out)) {
    for (const f of fs.readdirSync(out)) {
      const p = path.join(out, f);
      if (/\.tmp-\d+$/.test(f) && fs.lstatSync(p).isFile()) {
        fs.rmSync(p, { force: true });
        msgs.push(`removed ${p}, left by an interrupted write`);
      }
    }
  }
  return msgs;
}

/** How many steps a run's metrics.jsonl records (its largest step; 0 if none). */
function metricsSteps(out: string): number {
  const file = path.join(out, 'metrics.jsonl');
  if (!fs.existsSync(file)) return 0;
  return readMetrics(file).reduce((a, r) => Math.max(a, r.step), 0);
}

/** A one-line description of what a run folder holds (for refusals). */
function describeRun(out: string, ckpts: CheckpointStatus[]): string {
  const parts: string[] = [];
  const n = metricsSteps(out);
  if (n > 0) parts.push(`metrics.jsonl with ${n} steps`);
  const complete = ckpts.filter((c) => c.complete).map((c) => c.name);
  const partial = ckpts.filter((c) => !c.complete).map((c) => `${c.name} (${c.problem})`);
  if (complete.length) parts.push(`complete checkpoints ${complete.join(', ')}`);
  if (partial.length) parts.push(`incomplete checkpoints ${partial.join(', ')}`);
  return parts.join('; ');
}

/** Run folders this process holds the lock of (released when the process exits). */
const heldLocks = new Set<string>();
let exitHookInstalled = false;

/** True if a process with this pid exists (signal 0 checks without signalling). */
/**
 * Whether process `pid` is running. A zombie (exited, not yet reaped by its parent — in a container
 * whose init does not reap, a killed run can stay one) counts as gone: it holds nothing.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; the state follows the last ')' (comm may contain spaces)
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (not Linux): kill(pid, 0) is all there is
  }
}

/**
 * Takes `<out>/run.lock` (created exclusively, holding this process's pid) so that two runs never
 * share a folder: a second start would otherwise delete the first one's in-flight saves as leftovers.
 * A lock whose process is gone (killed) is taken over, with a message; one held by a live process
 * is refused. Re-entrant within a process; released at exit.
 */
export function lockRun(out: string): string[] {
  const file = path.join(out, 'run.lock');
  const key = path.resolve(file);
  if (heldLocks.has(key)) return [];
  const msgs: string[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      heldLocks.add(key);
      if (!exitHookInstalled) { process.on('exit', releaseLocks); exitHookInstalled = true; }
      return msgs;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new CheckpointError(`${file}: cannot create the run lock (${(e as Error).message})`);
    }
    const text = fs.readFileSync(file, 'utf8').trim();
    const pid = /^\d+$/.test(text) ? Number(text) : NaN;
    if (Number.isFinite(pid) && pid !== process.pid && processAlive(pid)) {
      throw new CheckpointError(`${out} is in use by another run (process ${pid} holds ${file}); wait for it to finish or stop it, or choose another --out`);
    }
    fs.rmSync(file, { force: true });
    const who = !Number.isFinite(pid) ? 'an earlier run (unreadable pid)' : pid === process.pid ? 'an earlier run in this process' : `process ${pid}, which is no longer running`;
    msgs.push(`removed ${file}, left by ${who}`);
  }
  throw new CheckpointError(`${file}: another process took the run lock at the same moment; try again`);
}

/** Releases the lock of one run folder (at the end of a run). */
export function unlockRun(out: string): void {
  const key = path.resolve(path.join(out, 'run.lock'));
  if (!heldLocks.delete(key)) return;
  try {
    if (fs.readFileSync(key, 'utf8').trim() === String(process.pid)) fs.rmSync(key, { force: true });
  } catch {
    // already gone
  }
}

/** Releases every run lock this process holds (at exit). */
function releaseLocks(): void {
  for (const f of heldLocks) {
    try {
      if (fs.readFileSync(f, 'utf8').trim() === String(process.pid)) fs.rmSync(f, { force: true });
    } catch {
      // already gone
    }
  }
  heldLocks.clear();
}

/** A checkpoint a run resumes from, with what its loader returned. */
export interface Resumed<T> {
  dir: string;
  step: number;
  loaded: T;
}

/**
 * Opens a run folder at the start of a run. First cleans up after killed saves. Then, with `resume`,
 * loads the newest complete checkpoint that `load` accepts, saying which checkpoints it skipped and
 * why (and when `latest` names another one); without `resume`, checks that the folder holds no
 * history. Returns null when the run starts from step 0. Never starts over a folder that holds
 * metrics or checkpoints: throws an error saying what is there instead. `say` prints one line
 * per decision (stderr by default).
 */
export function openRun<T>(out: string, resume: boolean, load: (dir: string) => T, say: (msg: string) => void = (m) => console.error(m)): Resumed<T> | null {
  fs.mkdirSync(out, { recursive: true });
  for (const m of lockRun(out)) say(m);
  for (const m of recoverCheckpoints(out)) say(m);
  const ckpts = listCheckpoints(out);
  const history = metricsSteps(out) > 0 || ckpts.length > 0;
  if (!resume) {
    if (!history) return null;
    const how = ckpts.some((c) => c.complete) ? 'pass --resume to continue it' : 'it has no complete checkpoint to resume from, so move it away to start afresh';
    throw new CheckpointError(`${out} already holds a run (${describeRun(out, ckpts)}); ${how}, or choose another --out`);
  }
  const latestFile = path.join(out, 'checkpoints', 'latest');
  const latest = fs.existsSync(latestFile) ? fs.readFileSync(latestFile, 'utf8').trim() : null;
  const skipped: string[] = [];
  const unloadable: string[] = [];
  for (const c of ckpts) {
    if (!c.complete) {
      skipped.push(`skipping ${c.name}: incomplete (${c.problem})`);
      continue;
    }
    let loaded: T;
    try {
      loaded = load(c.dir);
    } catch (e) {
      skipped.push(`skipping ${c.name}: it does not load (${(e as Error).message})`);
      unloadable.push(`${c.name} does not load (${(e as Error).message})`);
      continue;
    }
    const named = ckpts.find((x) => x.name === latest);
    if (latest && latest !== c.name && !named) skipped.unshift(`checkpoints/latest names ${latest}, which does not exist`);
    if (latest && latest !== c.name && named?.complete && named.step < c.step) skipped.unshift(`checkpoints/latest names ${latest}, but ${c.name} is newer and complete (a save was interrupted before it updated latest)`);
    for (const s of skipped) say(`resume: ${s}; resuming from ${c.name}, the newest complete checkpoint`);
    if (c.legacy) say(`resume: ${c.name} predates completeness markers; it has all its files, so it counts as complete`);
    return { dir: c.dir, step: c.step, loaded };
  }
  if (history) {
    throw new CheckpointError(`--resume: ${out} has no complete checkpoint to resume from (it holds ${describeRun(out, ckpts)}${unloadable.length ? `; ${unloadable.join('; ')}` : ''}); refusing to start over from step 0 on top of that history. Move it away to start afresh, or choose another --out`);
  }
  say(`resume: no checkpoint in ${out}; starting from step 0`);
  return null;
}

/** Loads a checkpoint's model, trainer state and optimizer moments (applied to `opt` by the caller). */
export function loadTrainerCheckpoint(dir: string): { model: CausalLM; state: TrainerState; optimizer: (opt: Pick<AdamW, 'loadStateDict'>) => void } {
  const model = loadModel(dir);
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
  const s = readOptimizerState(dir, state.step);
  const optimizer = (opt: Pick<AdamW, 'loadStateDict'>) => opt.loadStateDict(s);
  return { model, state, optimizer };
}

/**
 * The optimizer moments of a checkpoint: optimizer.safetensors (a single-process or data-parallel
 * run) or the optimizer-0000i-of-0000N.safetensors shards every rank of a pipeline run writes, merged.
 * Its update count is the one the files record; `step` only for files that record none.
 */
export function readOptimizerState(dir: string, step: number): OptimizerState {
  const files = fs.readdirSync(dir).filter((f) => f === 'optimizer.safetensors' || /^optimizer-\d{5}-of-\d{5}\.safetensors$/.test(f));
  if (!files.length) throw new CheckpointError(`${dir}: no optimizer.safetensors or optimizer-*-of-*.safetensors`);
  const s: OptimizerState = { step, m: {}, v: {} };
  for (const f of files) {
    // The optimizer's own update count, saved with its moments: it differs from the trainer's step
    // when a step makes several updates (GRPO's μ passes), and Adam's bias correction depends on it.
    const meta = SafetensorsFile.open(path.join(dir, f));
    const saved = meta.metadata.step;
    meta.close();
    if (saved !== undefined && /^\d+$/.test(saved)) s.step = Number(saved);
    for (const rec of loadAsFloat32(path.join(dir, f))) {
      const which = rec.name.slice(0, 2), name = rec.name.slice(2);
      if (which === 'm.') s.m[name] = rec.data as Float32Array;
      else if (which === 'v.') s.v[name] = rec.data as Float32Array;
    }
  }
  return s;
}

/**
 * Settings that budget a run rather than define it: how long one invocation may train and how
 * often it checkpoints. A resume may change them (give a resumed run another 20 minutes) without
 * changing what the run computes.
 */
export const BUDGET_KEYS = ['maxMinutes', 'checkpoint'] as const;

/** The dotted paths where two recipes differ (`lr.peak`, `rewards.format`, `tasks.families[1]`), in order. */
function differences(a: unknown, b: unknown, at: string, out: string[]): void {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) { out.push(at); return; }
    a.forEach((x, i) => differences(x, b[i], `${at}[${i}]`, out));
    return;
  }
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) differences(a[k], b[k], at ? `${at}.${k}` : k, out);
    return;
  }
  // Two objects or two arrays were walked above (so key order never counts); anything else is
  // compared as a value, and a value against an object or array is one difference at its path.
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(at || '(the whole recipe)');
}

/**
 * Where a resumed run's recipe departs from the one its checkpoint was started with: dotted paths,
 * empty when they are the same run. The stored recipe is re-validated through `parse` first, so an
 * option added (with its default) after the run started does not count as a change; the budget keys
 * (BUDGET_KEYS, top level) never count. A stored recipe that no longer validates is one difference.
 */
export function recipeDifferences<R>(stored: unknown, current: R, parse: (obj: unknown) => R): string[] {
  let normalized: R;
  try {
    normalized = parse(stored);
  } catch (e) {
    return [`(the stored recipe no longer validates: ${(e as Error).message.split('\n')[0]})`];
  }
  const strip = (v: unknown): unknown => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    const o: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    for (const k of BUDGET_KEYS) delete o[k];
    return o;
  };
  const out: string[] = [];
  differences(JSON.parse(JSON.stringify(strip(normalized)) ?? 'null'), JSON.parse(JSON.stringify(strip(current)) ?? 'null'), '', out);
  return out;
}

/** Whether a resumed run's recipe is the one its checkpoint was started with (recipeDifferences is empty). */
export function sameRecipe<R>(stored: unknown, current: R, parse: (obj: unknown) => R): boolean {
  return recipeDifferences(stored, current, parse).length === 0;
}

/** The refusal a resume with a changed recipe gets: which settings changed, and what to do. */
export function recipeChangedMessage(out: string, diffs: string[], where?: string): string {
  const shown = diffs.slice(0, 6).join(', ') + (diffs.length > 6 ? `, and ${diffs.length - 6} more` : '');
  return `--resume: the recipe differs from the one ${out} was started with, in ${shown}${where ? ` (see ${where})` : ''}; `
    + `run with the original recipe, or start a fresh run in a new directory (only ${BUDGET_KEYS.join(' and ')} may change on resume)`;
}
