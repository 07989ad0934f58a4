// Checkpoints of a pipeline-parallel run: every rank writes the tensors it owns (the lowest rank
// holding a tensor owns it) as one shard of a Hugging Face sharded model directory
// (model-0000{r+1}-of-0000{R}.safetensors, indexed by model.safetensors.index.json) and its AdamW
// moments as optimizer-0000{r+1}-of-0000{R}.safetensors, all into the temporary folder of one
// checkpoint; rank 0 then writes the index, config, tokenizer and trainer state and marks the folder
// complete (saveTrainerCheckpoint's atomic rename, `latest` and pruning). So the checkpoint is a
// plain model directory: `loadModel`, `tinyseek serve` and a single-process `--resume` read it, and a
// pipeline run resumes from it or from a single-process checkpoint, each rank reading only its tensors.
import path from 'node:path';
import type { DeepseekV3 } from '../model/model.js';
import { configToHF } from '../model/config.js';
import type { AdamW } from '../nn/optim.js';
import type { Tensor } from '../tensor/index.js';
import { saveSafetensors, writeFileAtomic, readModelDir, readFloat32, INDEX_FILE, HF_METADATA, CONFIG_FILE, GENERATION_CONFIG_FILE, CheckpointError } from '../io/index.js';
import type { TensorRecord } from '../io/index.js';
import type { Communicator } from '../parallel/mpi.js';
import { CollectiveError } from '../parallel/root-first.js';
import type { StageLayout } from '../parallel/stages.js';
import { saveTrainerCheckpoint } from './checkpoint.js';
export { readOptimizerState } from './checkpoint.js';
import type { TrainerState } from './checkpoint.js';

/** File of rank r's weights among R. */
export function rankShard(r: number, ranks: number): string {
  return `model-${String(r + 1).padStart(5, '0')}-of-${String(ranks).padStart(5, '0')}.safetensors`;
}

/** File of rank r's optimizer moments among R. */
export function rankOptimizerShard(r: number, ranks: number): string {
  return `optimizer-${String(r + 1).padStart(5, '0')}-of-${String(ranks).padStart(5, '0')}.safetensors`;
}

/** The MTP layers' copies of the shared embedding and head that a model directory carries (as saveModel writes them). */
function mtpCopyNames(model: DeepseekV3): { emb: string; head: string }[] {
  const out = [];
  for (let k = 0; k < model.cfg.numNextnPredictLayers; k++) {
    const L = model.cfg.numHiddenLayers + k;
    out.push({ emb: `model.layers.${L}.embed_tokens.weight`, head: `model.layers.${L}.shared_head.head.weight` });
  }
  return out;
}

/**
 * What a checkpoint writes of this rank: every tensor of the whole model (name and shape, so that any
 * rank can write the index), the data of the tensors it owns, and its trainable tensors' AdamW
 * moments. By default the model's own tensors; under PP × EP the stage's experts gathered over the
 * EP group (src/parallel/expert-parallel.ts gatherExperts), so the files are a plain --pp run's.
 */
export interface CheckpointView {
  tensors: [string, number[]][];
  data(name: string): Float32Array;
  moments: { step: number; params: [string, number[]][]; m: Record<string, Float32Array>; v: Record<string, Float32Array> };
}

/** The view of a model and optimizer whose tensors are all here (names of released tensors included). */
export function modelView(model: DeepseekV3, opt: AdamW): CheckpointView {
  const byName = new Map(model.namedTensors());
  const o = opt.stateDict();
  return {
    tensors: model.namedTensors().map(([n, t]) => [n, [...t.shape]]),
    data: (n) => byName.get(n)!.f32(),
    moments: { step: o.step, params: opt.params.map(([n, p]) => [n, [...p.shape]]), m: o.m, v: o.v },
  };
}

/** The weight records rank `r` writes: the tensors it owns, plus the MTP copies on the owner of the head. */
function ownedRecords(model: DeepseekV3, layout: StageLayout, r: number, view: CheckpointView): TensorRecord[] {
  const recs: TensorRecord[] = [];
  for (const [name, shape] of view.tensors) if (layout.owns(r, name)) recs.push({ name, dtype: 'F32', shape: [...shape], data: view.data(name) });
  if (layout.owns(r, model.lmHead ? 'lm_head.weight' : 'model.norm.weight')) {
    const emb = model.model.embedTokens.weight, head = model.headWeight();
    for (const c of mtpCopyNames(model)) {
      recs.push({ name: c.emb, dtype: 'F32', shape: [...emb.shape], data: emb.f32() });
      recs.push({ name: c.head, dtype: 'F32', shape: [...head.shape], data: head.f32() });
    }
  }
  return recs;
}

/** Every rank's shard file per tensor name and the total size (computable on any rank from the layout). */
function indexOf(model: DeepseekV3, layout: StageLayout, view: CheckpointView): { weight_map: Record<string, string>; total_size: number } {
  const R = layout.schedule.ranks;
  const map: Record<string, string> = {};
  let total = 0;
  for (const [name, shape] of view.tensors) {
    map[name] = rankShard(layout.holders(name)[0], R);
    total += 4 * shape.reduce((a, b) => a * b, 1);
  }
  const headOwner = layout.holders(model.lmHead ? 'lm_head.weight' : 'model.norm.weight')[0];
  const emb = model.model.embedTokens.weight, head = model.headWeight();
  for (const c of mtpCopyNames(model)) {
    map[c.emb] = rankShard(headOwner, R);
    map[c.head] = rankShard(headOwner, R);
    total += 4 * (emb.numel + head.numel);
  }
  return { weight_map: map, total_size: total };
}

/** Ends every rank with the same error when any rank failed (`mine` = this rank's error or null). */
function agree(comm: Communicator, mine: string | null, what: string): void {
  const flags = comm.allgather(Int32Array.of(mine ? 1 : 0), new Int32Array(comm.size));
  const bad = [...flags].map((f, r) => (f ? r : -1)).filter((r) => r >= 0);
  if (!bad.length) return;
  // the first failing rank's message, on every rank
  const msg = comm.bcastJson(comm.rank === bad[0] ? mine : undefined, bad[0]);
  throw new CollectiveError(`${what}: rank ${bad[0]} failed: ${msg}`);
}

/**
 * Saves a checkpoint of a pipeline run (collective: every rank calls it). Returns the checkpoint's
 * directory on every rank.
 */
export function savePipelineCheckpoint(
  comm: Communicator, out: string, model: DeepseekV3, layout: StageLayout, opt: AdamW, state: TrainerState,
  tokenizerFiles: Record<string, string | Uint8Array>, view: CheckpointView = modelView(model, opt),
): string {
  const R = comm.size, r = comm.rank;
  const writeOwn = (dir: string) => {
    saveSafetensors(path.join(dir, rankShard(r, R)), ownedRecords(model, layout, r, view), { ...HF_METADATA });
    const o = view.moments;
    const recs: TensorRecord[] = [];
    for (const [n, shape] of o.params) {
      if (!layout.owns(r, n)) continue;
      recs.push({ name: `m.${n}`, dtype: 'F32', shape: [...shape], data: o.m[n] });
      recs.push({ name: `v.${n}`, dtype: 'F32', shape: [...shape], data: o.v[n] });
    }
    saveSafetensors(path.join(dir, rankOptimizerShard(r, R)), recs, { step: String(o.step) });
  };
  let result: string | null = null;
  let error: string | null = null;
  let tmpSent = false;
  if (r === 0) {
    try {
      result = saveTrainerCheckpoint(out, null, opt, state, tokenizerFiles, {
        writeModel: (tmp) => {
          comm.bcastJson<string | null>(tmp, 0); // the other ranks write into the same temporary folder
          tmpSent = true;
          let mine: string | null = null;
          try {
            writeOwn(tmp);
          } catch (e) {
            mine = (e as Error).message;
          }
          agree(comm, mine, `checkpoint of step ${state.step}`);
          writeFileAtomic(path.join(tmp, INDEX_FILE), JSON.stringify({ metadata: { total_size: indexOf(model, layout, view).total_size }, weight_map: indexOf(model, layout, view).weight_map }, null, 2) + '\n');
          writeFileAtomic(path.join(tmp, GENERATION_CONFIG_FILE), JSON.stringify({ bos_token_id: model.cfg.bosTokenId, eos_token_id: model.cfg.eosTokenId, do_sample: true, temperature: 0.6, top_p: 0.95 }, null, 2) + '\n');
          for (const [name, data] of Object.entries(tokenizerFiles)) writeFileAtomic(path.join(tmp, name), data);
          writeFileAtomic(path.join(tmp, CONFIG_FILE), JSON.stringify(configToHF(model.cfg), null, 2) + '\n');
        },
      });
    } catch (e) {
      error = (e as Error).message;
    }
  } else {
    // rank 0 broadcasts the temporary folder, or null when it failed before creating it
    const tmp = comm.bcastJson<string | null>(undefined, 0);
    if (tmp !== null) {
      let mine: string | null = null;
      try {
        writeOwn(tmp);
      } catch (e) {
        mine = (e as Error).message;
      }
      agree(comm, mine, `checkpoint of step ${state.step}`);
    }
  }
  if (r === 0 && error !== null && !tmpSent) comm.bcastJson<string | null>(null, 0); // the others are still waiting for the folder
  const final = comm.bcastJson<{ dir: string | null; error: string | null }>(r === 0 ? { dir: result, error } : undefined, 0);
  if (!final.dir) throw new CollectiveError(final.error ?? 'checkpoint failed');
  return final.dir;
}

/** Loads the tensors `rank` holds from a model directory (sharded or not) into a model's tensors. */
export function loadHeldTensors(dir: string, tensors: [string, Tensor][]): void {
  const md = readModelDir(dir);
  try {
    for (const [name, t] of tensors) {
      if (!md.tensors.has(name)) throw new CheckpointError(`${dir}: tensor ${name} is missing`);
      const data = readFloat32(md.tensors, name);
      if (data.length !== t.numel) throw new CheckpointError(`${dir}: ${name} has ${data.length} elements, expected ${t.numel}`);
      t.f32().set(data);
    }
  } finally {
    md.tensors.close();
  }
}
