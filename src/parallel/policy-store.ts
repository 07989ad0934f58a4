// Policy versions published by the learner for rollout workers: one safetensors file per version
// in a shared directory, `<dir>/v000012.safetensors` (float32, written to a temporary name and
// renamed, so a worker never reads a half-written version), beside `<dir>/model/` with config.json
// and the tokenizer files (written once).
//
// Why files and not Redis blobs: a version is the whole model (tens of MB for the mini model,
// gigabytes for real ones). Redis keeps every value in RAM and serves it from one thread, so
// blobs would double the learner's memory in Redis and stall every queue operation while a
// worker downloads weights; BullMQ jobs stay small (a prompt group) only if weights travel
// elsewhere. A file is immutable once renamed, carries its version in its name and metadata,
// is read with the same safetensors code as every checkpoint, and any shared filesystem
// (NFS, a cluster's scratch space; on one machine a local folder) makes it visible to workers.
import fs from 'node:fs';
import path from 'node:path';
import type { CausalLM } from '../model/causal-lm.js';
import { anyConfigFromHF, anyConfigToHF, createModel, modelConfig } from '../model/registry.js';
import { SafetensorsFile, saveSafetensors, toFloat32, writeFileAtomic } from '../io/index.js';
import type { TensorRecord } from '../io/index.js';
import { Tokenizer } from '../tokenizer/index.js';

/** The file of policy version `v` in `dir`. */
export function versionFile(dir: string, v: number): string {
  return path.join(dir, `v${String(v).padStart(6, '0')}.safetensors`);
}

/** Writes config.json and the tokenizer files under `<dir>/model` (once per run). */
export function publishModelFiles(dir: string, policy: CausalLM, tokFiles: Record<string, Uint8Array>): void {
  const m = path.join(dir, 'model');
  fs.mkdirSync(m, { recursive: true });
  for (const [f, data] of Object.entries(tokFiles)) writeFileAtomic(path.join(m, f), data);
  writeFileAtomic(path.join(m, 'config.json'), JSON.stringify(anyConfigToHF(modelConfig(policy)), null, 2) + '\n');
}

/** Publishes the policy's weights as version `v` (atomically). */
export function publishVersion(dir: string, v: number, policy: CausalLM): void {
  const recs: TensorRecord[] = policy.namedTensors().map(([name, t]) => ({ name, dtype: 'F32', shape: [...t.shape], data: t.f32() }));
  saveSafetensors(versionFile(dir, v), recs, { version: String(v) });
}

/** Removes published versions below `keepFrom`. */
export function pruneVersions(dir: string, keepFrom: number): void {
  for (const f of fs.readdirSync(dir)) {
    const m = /^v(\d{6})\.safetensors$/.exec(f);
    if (m && Number(m[1]) < keepFrom) fs.rmSync(path.join(dir, f), { force: true });
  }
}

/** A model (config of `<dir>/model`) and its tokenizer, as a worker holds them. */
export function openPublishedModel(dir: string): { model: CausalLM; tok: Tokenizer } {
  const cfgFile = path.join(dir, 'model', 'config.json');
  if (!fs.existsSync(cfgFile)) throw new Error(`${cfgFile} not found: is ${dir} the learner's publish directory, visible at the same path on this machine?`);
  const model = createModel(anyConfigFromHF(JSON.parse(fs.readFileSync(cfgFile, 'utf8')), { requireKeys: true }), 0);
  model.eval();
  return { model, tok: Tokenizer.fromDir(path.join(dir, 'model')) };
}

/** Loads version `v` of `dir` into `model`, checking every name and shape. */
export function loadVersion(dir: string, v: number, model: CausalLM): void {
  const file = versionFile(dir, v);
  if (!fs.existsSync(file)) throw new Error(`policy version ${v} not found: ${file} (pruned, or the publish directory is not shared with this machine)`);
  const f = SafetensorsFile.open(file);
  try {
    if (f.metadata.version !== String(v)) throw new Error(`${file}: holds version ${f.metadata.version ?? '(none)'}, expected ${v}`);
    const names = new Set(f.keys());
    for (const [name, t] of model.namedTensors()) {
      if (!names.has(name)) throw new Error(`${file}: tensor ${name} missing`);
      const rec = f.read(name);
      if (rec.shape.join(',') !== t.shape.join(',')) throw new Error(`${file}: tensor ${name} has shape [${rec.shape}], expected [${t.shape}]`);
      t.f32().set(toFloat32(rec));
    }
  } finally {
    f.close();
  }
}
