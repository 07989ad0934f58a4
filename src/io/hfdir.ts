// A Hugging Face–style model directory: config.json, generation_config.json, the weights
// (model.safetensors, or shards + model.safetensors.index.json) and tokenizer files.

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { CheckpointError } from './errors.js';
import type { TensorRecord } from './record.js';
import type { SaveOptions } from './safetensors.js';
import { openCheckpoint, saveCheckpoint } from './sharded.js';
import type { OpenOptions } from './source.js';
import type { TensorSource } from './source.js';

/** A JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object (config.json, generation_config.json). */
export type JsonObject = { [key: string]: JsonValue };

/** File names of the model directory. */
export const CONFIG_FILE = 'config.json';
/** generation_config.json */
export const GENERATION_CONFIG_FILE = 'generation_config.json';
/** Tokenizer files copied with a model when present (as transformers / DeepSeek's convert.py do). */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.model', 'vocab.json', 'merges.txt'];

/** What `writeModelDir` writes. */
export interface ModelDirContents {
  config: object;
  generationConfig?: object;
  tensors: readonly TensorRecord[];
  /** Extra files by plain file name (e.g. tokenizer.json, tokenizer_config.json). */
  tokenizerFiles?: Record<string, string | Uint8Array>;
  /** Shard the weights when they exceed this many bytes; default: one model.safetensors. */
  shardBytes?: number;
  /** Storage dtype for F32 tensors (F32, F16 or BF16; per name with a function). */
  dtype?: SaveOptions['dtype'];
  /** Extra safetensors metadata (merged over {format: "pt"}). */
  metadata?: Record<string, string>;
}

function checkFileName(dir: string, name: string): void {
  if (name === '' || name === '.' || name === '..' || name !== path.basename(name) || name.includes('\\')) {
    throw new CheckpointError(`${dir}: "${name}" is not a plain file name (no directories allowed)`);
  }
}

function jsonText(v: object): string {
  return JSON.stringify(v, null, 2) + '\n';
}

/**
 * Writes a model directory (created if needed, or overwritten): config.json, generation_config.json
 * (if given), weights, tokenizer files. Each file is written atomically; config.json is written last
 * so a directory with a config is complete. Weights of an older save in another layout are removed.
 */
export function writeModelDir(dir: string, contents: ModelDirContents): void {
  const extra = Object.entries(contents.tokenizerFiles ?? {});
  for (const [name] of extra) checkFileName(dir, name);
  fs.mkdirSync(dir, { recursive: true });
  saveCheckpoint(dir, contents.tensors, { maxShardBytes: contents.shardBytes, dtype: contents.dtype, metadata: contents.metadata });
  for (const [name, data] of extra) writeFileAtomic(path.join(dir, name), data);
  if (contents.generationConfig) writeFileAtomic(path.join(dir, GENERATION_CONFIG_FILE), jsonText(contents.generationConfig));
  writeFileAtomic(path.join(dir, CONFIG_FILE), jsonText(contents.config));
}

/** A model directory opened by `readModelDir`; close `tensors` when done. */
export interface ModelDir {
  dir: string;
  config: JsonObject;
  generationConfig: JsonObject | null;
  /** Lazy access to the weights (index, or model.safetensors). */
  tensors: TensorSource;
  /** Tokenizer files present in the directory (names from TOKENIZER_FILES). */
  tokenizerFiles: string[];
}

function readJsonObject(file: string, required: boolean): JsonObject | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CheckpointError(`${file}: cannot read (${(e as Error).message})`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CheckpointError(`${file}: expected a JSON object, found ${Array.isArray(v) ? 'an array' : typeof v}`);
  return v as JsonObject;
}

/** Opens a model directory: parses config.json (required) and generation_config.json, opens the weights lazily. */
export function readModelDir(dir: string, opts: OpenOptions = {}): ModelDir {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CheckpointError(`${dir}: not a directory`);
  const config = readJsonObject(path.join(dir, CONFIG_FILE), true) as JsonObject;
  const generationConfig = readJsonObject(path.join(dir, GENERATION_CONFIG_FILE), false);
  const tensors = openCheckpoint(dir, opts);
  const tokenizerFiles = TOKENIZER_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
  return { dir, config, generationConfig, tensors, tokenizerFiles };
}
