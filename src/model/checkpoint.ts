// Saving and loading a DeepseekV3 as a Hugging Face–style model directory: config.json with HF keys,
// generation_config.json, safetensors weights under DeepSeek's tensor names (MTP layers with their
// copies of embed_tokens and shared_head.head, as real checkpoints carry), tokenizer files.
import fs from 'node:fs';
import path from 'node:path';
import { DeepseekV3 } from './model.js';
import type { ModelConfig } from './config.js';
import { configFromHF, configToHF } from './config.js';
import { readModelDir, writeModelDir, loadedTensorInfos, readFloat32, checkTensors, CheckpointError } from '../io/index.js';
import type { TensorRecord, ExpectedTensor, SaveOptions } from '../io/index.js';

/** Options for saving. */
export interface SaveModelOptions {
  /** Files to write beside the weights (tokenizer.json, tokenizer_config.json, ...). */
  tokenizerFiles?: Record<string, string | Uint8Array>;
  /** Storage dtype of float tensors (default F32: exact round trips). */
  dtype?: SaveOptions['dtype'];
  /** Extra generation_config.json keys. */
  generation?: Record<string, unknown>;
  /** Shard weights above this many bytes. */
  shardBytes?: number;
}

/** The names of the MTP layers' copies of the shared embedding and head. */
function mtpCopies(cfg: ModelConfig): { emb: string; head: string }[] {
  const out = [];
  for (let k = 0; k < cfg.numNextnPredictLayers; k++) {
    const L = cfg.numHiddenLayers + k;
    out.push({ emb: `model.layers.${L}.embed_tokens.weight`, head: `model.layers.${L}.shared_head.head.weight` });
  }
  return out;
}

/** The tensor records of a model, in its own order, plus the MTP copies. */
export function modelRecords(model: DeepseekV3): TensorRecord[] {
  const recs: TensorRecord[] = model.namedTensors().map(([name, t]) => ({ name, dtype: 'F32', shape: [...t.shape], data: t.f32() }));
  const emb = model.model.embedTokens.weight, head = model.headWeight();
  for (const c of mtpCopies(model.cfg)) {
    recs.push({ name: c.emb, dtype: 'F32', shape: [...emb.shape], data: emb.f32() });
    recs.push({ name: c.head, dtype: 'F32', shape: [...head.shape], data: head.f32() });
  }
  return recs;
}

/** Writes a model directory (every file atomically; config.json last). */
export function saveModel(dir: string, model: DeepseekV3, opts: SaveModelOptions = {}): void {
  const cfg = model.cfg;
  writeModelDir(dir, {
    config: configToHF(cfg),
    generationConfig: {
      bos_token_id: cfg.bosTokenId,
      eos_token_id: cfg.eosTokenId,
      do_sample: true,
      temperature: 0.6, // DeepSeek-R1's recommended sampling
      top_p: 0.95,
      ...opts.generation,
    },
    tensors: modelRecords(model),
    tokenizerFiles: opts.tokenizerFiles,
    dtype: opts.dtype,
    shardBytes: opts.shardBytes,
  });
}

/**
 * Loads a model directory (a tinyseek save or a DeepSeek checkpoint of a small configuration):
 * every expected tensor is checked (name, shape) and all problems are reported at once; FP8 weights
 * with `weight_scale_inv` are dequantized. The MTP copies of embedding/head may be present or not.
 */
export function loadModel(dir: string): DeepseekV3 {
  const md = readModelDir(dir);
  try {
    const cfg = configFromHF(md.config);
    const model = new DeepseekV3(cfg, 0);
    const own = model.stateDict();
    const expected: ExpectedTensor[] = [...own].map(([name, t]) => ({ name, shape: t.shape }));
    const found = loadedTensorInfos(md.tensors);
    const optional = new Set(mtpCopies(cfg).flatMap((c) => [c.emb, c.head]));
    // A tied-embedding checkpoint may still carry lm_head.weight; MTP copies are optional.
    const foundChecked = found.filter((f) => !optional.has(f.name) && !(cfg.tieWordEmbeddings && f.name === 'lm_head.weight'));
    checkTensors(expected, foundChecked, dir);
    for (const [name, t] of own) {
      const data = readFloat32(md.tensors, name);
      t.f32().set(data);
    }
    return model;
  } finally {
    md.tensors.close();
  }
}

/** Whether a directory looks like a model directory (has config.json and weights). */
export function isModelDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json')) && (fs.existsSync(path.join(dir, 'model.safetensors')) || fs.existsSync(path.join(dir, 'model.safetensors.index.json')));
}

export { CheckpointError };
