// Trainer checkpoints: `<out>/checkpoints/step-NNNNNN/` holds a Hugging Face model directory (with
// the tokenizer), `optimizer.safetensors` (AdamW moments) and `trainer_state.json`; `<out>/checkpoints/latest`
// names the newest. A checkpoint directory is written under a temporary name and renamed into place,
// so a crash never leaves a half-written checkpoint behind `latest`.
import fs from 'node:fs';
import path from 'node:path';
import type { DeepseekV3 } from '../model/model.js';
import { saveModel, loadModel } from '../model/checkpoint.js';
import type { AdamW, OptimizerState } from '../nn/optim.js';
import { saveSafetensors, loadAsFloat32, writeFileAtomic } from '../io/index.js';
import type { TensorRecord } from '../io/index.js';
import { faultPoint } from '../io/fault.js';

/** Everything besides weights and moments that a resumed run needs. */
export interface TrainerState {
  step: number;
  seed: number;
  /** The recipe the run was started with (a resume must not silently change it). */
  recipe: unknown;
  /** Free-form extra state (e.g. sampler RNG states of RL runs). */
  extra?: Record<string, unknown>;
}

/** Saves a checkpoint; keeps the newest `keep` checkpoints. Returns its directory. */
export function saveTrainerCheckpoint(
  out: string, model: DeepseekV3, opt: AdamW, state: TrainerState,
  tokenizerFiles: Record<string, string | Uint8Array>, keep = 2,
): string {
  const root = path.join(out, 'checkpoints');
  fs.mkdirSync(root, { recursive: true });
  const name = `step-${String(state.step).padStart(6, '0')}`;
  const final = path.join(root, name);
  const tmp = path.join(root, `.${name}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  saveModel(tmp, model, { tokenizerFiles });
  const o = opt.stateDict();
  const recs: TensorRecord[] = [];
  for (const [n, p] of model.namedParameters()) {
    recs.push({ name: `m.${n}`, dtype: 'F32', shape: [...p.shape], data: o.m[n] });
    recs.push({ name: `v.${n}`, dtype: 'F32', shape: [...p.shape], data: o.v[n] });
  }
  saveSafetensors(path.join(tmp, 'optimizer.safetensors'), recs, { step: String(o.step) });
  faultPoint('checkpoint:files-written');
  writeFileAtomic(path.join(tmp, 'trainer_state.json'), JSON.stringify(state, null, 2) + '\n');
  faultPoint('checkpoint:complete');
  fs.rmSync(final, { recursive: true, force: true });
  faultPoint('checkpoint:old-aside');
  fs.renameSync(tmp, final);
  faultPoint('checkpoint:in-place');
  writeFileAtomic(path.join(root, 'latest'), name + '\n');
  faultPoint('checkpoint:latest');
  // Prune older checkpoints.
  const all = fs.readdirSync(root).filter((f) => /^step-\d+$/.test(f)).sort();
  for (const f of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(path.join(root, f), { recursive: true, force: true });
  return final;
}

/** The newest checkpoint directory of a run, or null. */
export function latestCheckpoint(out: string): string | null {
  const file = path.join(out, 'checkpoints', 'latest');
  if (!fs.existsSync(file)) return null;
  const dir = path.join(out, 'checkpoints', fs.readFileSync(file, 'utf8').trim());
  return fs.existsSync(dir) ? dir : null;
}

/** Loads a checkpoint's model, trainer state and optimizer moments (applied to `opt` by the caller). */
export function loadTrainerCheckpoint(dir: string): { model: DeepseekV3; state: TrainerState; optimizer: (opt: AdamW) => void } {
  const model = loadModel(dir);
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
  const recs = loadAsFloat32(path.join(dir, 'optimizer.safetensors'));
  const optimizer = (opt: AdamW) => {
    const s: OptimizerState = { step: state.step, m: {}, v: {} };
    for (const r of recs) {
      const which = r.name.slice(0, 2), name = r.name.slice(2);
      if (which === 'm.') s.m[name] = r.data as Float32Array;
      else if (which === 'v.') s.v[name] = r.data as Float32Array;
    }
    opt.loadStateDict(s);
  };
  return { model, state, optimizer };
}

/** JSON with object keys sorted, so two equal recipes compare equal whatever their key order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Whether a resumed run's recipe is the one its checkpoint was started with. The stored recipe is
 * re-validated through `parse` first, so an option added (with its default) after the run started
 * does not count as a change.
 */
export function sameRecipe<R>(stored: unknown, current: R, parse: (obj: unknown) => R): boolean {
  let normalized: R;
  try {
    normalized = parse(stored);
  } catch {
    return false;
  }
  return canonicalJson(normalized) === canonicalJson(current);
}
