// Sharded checkpoints as Hugging Face writes them: model-00001-of-0000N.safetensors plus
// model.safetensors.index.json = {"metadata": {"total_size": N}, "weight_map": {tensor: file}},
// and `openCheckpoint`, which follows an index, a single model.safetensors, or a file path.

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { SafetensorsError } from './errors.js';
import type { TensorInfo, TensorRecord } from './record.js';
import { saveSafetensors, SafetensorsFile, storedBytes, type SaveOptions } from './safetensors.js';
import type { OpenOptions, TensorSource } from './source.js';

/** File name of the index of a sharded checkpoint. */
export const INDEX_FILE = 'model.safetensors.index.json';
/** File name of an unsharded checkpoint. */
export const SINGLE_FILE = 'model.safetensors';
const SHARD_RE = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** Name of shard `i` (1-based) of `n`: model-00001-of-00003.safetensors. */
export function shardName(i: number, n: number): string {
  return `model-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
}

/** Metadata written into each shard unless overridden (transformers refuses files without `format`). */
export const HF_METADATA: Readonly<Record<string, string>> = { format: 'pt' };

/** Options of `saveSharded` / `saveCheckpoint`. */
export interface ShardOptions extends SaveOptions {
  /** Largest shard size in bytes; a tensor larger than this gets a shard of its own. */
  maxShardBytes: number;
  /** Metadata for every shard (merged over {format: "pt"}). */
  metadata?: Record<string, string>;
}

/** Splits records, in order, into shards of at most `maxBytes` stored bytes (greedy, as transformers does). */
export function planShards(records: readonly TensorRecord[], maxBytes: number, options: SaveOptions = {}): TensorRecord[][] {
  if (!(maxBytes > 0)) throw new SafetensorsError(`maxShardBytes must be a positive number, got ${maxBytes}`);
  const shards: TensorRecord[][] = [];
  let cur: TensorRecord[] = [];
  let size = 0;
  for (const r of records) {
    const b = storedBytes(r, options);
    if (cur.length > 0 && size + b > maxBytes) {
      shards.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(r);
    size += b;
  }
  if (cur.length > 0 || shards.length === 0) shards.push(cur);
  return shards;
}

/** Removes checkpoint files in `dir` not in `keep` (stale shards/index/single file of an older save). */
function removeStale(dir: string, keep: ReadonlySet<string>): void {
  for (const f of fs.readdirSync(dir)) {
    if ((SHARD_RE.test(f) || f === SINGLE_FILE || f === INDEX_FILE) && !keep.has(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
}

/**
 * Writes records as model-0000i-of-0000N.safetensors shards plus model.safetensors.index.json into
 * `dir` (created if needed). Every file is written atomically; the index is written last, then
 * checkpoint files of an older save (other shard sets, model.safetensors) are removed.
 */
export function saveSharded(dir: string, records: readonly TensorRecord[], options: ShardOptions): { files: string[]; totalSize: number } {
  fs.mkdirSync(dir, { recursive: true });
  const shards = planShards(records, options.maxShardBytes, options);
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  let totalSize = 0;
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(r.name)) throw new SafetensorsError(`${dir}: tensor name "${r.name}" appears twice`);
    seen.add(r.name);
  }
  shards.forEach((recs, i) => {
    const file = shardName(i + 1, shards.length);
    saveSafetensors(path.join(dir, file), recs, { ...HF_METADATA, ...options.metadata }, options);
    files.push(file);
    for (const r of recs) {
      weightMap[r.name] = file;
      totalSize += storedBytes(r, options);
    }
  });
  const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
  writeFileAtomic(path.join(dir, INDEX_FILE), JSON.stringify(index, null, 2) + '\n');
  removeStale(dir, new Set([...files, INDEX_FILE]));
  return { files, totalSize };
}

/**
 * Writes a checkpoint into `dir`: one model.safetensors, or shards + index when `maxShardBytes` is
 * given and the tensors exceed it. Files of the other layout left by an older save are removed.
 */
export function saveCheckpoint(
  dir: string, records: readonly TensorRecord[], options: Partial<ShardOptions> = {},
): { files: string[]; totalSize: number } {
  const total = records.reduce((s, r) => s + storedBytes(r, options), 0);
  if (options.maxShardBytes !== undefined && total > options.maxShardBytes) {
    return saveSharded(dir, records, { ...options, maxShardBytes: options.maxShardBytes });
  }
  fs.mkdirSync(dir, { recursive: true });
  saveSafetensors(path.join(dir, SINGLE_FILE), records, { ...HF_METADATA, ...options.metadata }, options);
  removeStale(dir, new Set([SINGLE_FILE]));
  return { files: [SINGLE_FILE], totalSize: total };
}

/** A sharded checkpoint opened through its index: one lazy TensorSource over all shards. */
export class ShardedCheckpoint implements TensorSource {
  private readonly files = new Map<string, SafetensorsFile>();
  private readonly weightMap: Map<string, string>;

  private constructor(readonly path: string, readonly dir: string, weightMap: Map<string, string>) {
    this.weightMap = weightMap;
  }

  /** Opens an index file, validates it and every shard header; all problems are reported at once. */
  static open(indexPath: string, opts: OpenOptions = {}): ShardedCheckpoint {
    const dir = path.dirname(indexPath);
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
    } catch (e) {
      throw new SafetensorsError(`${indexPath}: cannot read index (${(e as Error).message})`);
    }
    const wm = (parsed as { weight_map?: unknown } | null)?.weight_map;
    if (wm === null || typeof wm !== 'object' || Array.isArray(wm)) {
      throw new SafetensorsError(`${indexPath}: expected {"metadata": {...}, "weight_map": {tensor: file}}, found no weight_map object`);
    }
    const weightMap = new Map<string, string>();
    const problems: string[] = [];
    for (const [name, file] of Object.entries(wm as Record<string, unknown>)) {
      if (typeof file !== 'string' || file !== path.basename(file) || file === '..' || file === '.' || file === '') {
        problems.push(`"${name}" maps to ${JSON.stringify(file)}, not a file name in the same directory`);
      } else weightMap.set(name, file);
    }
    const ck = new ShardedCheckpoint(indexPath, dir, weightMap);
    try {
      for (const file of new Set(weightMap.values())) {
        try {
          ck.files.set(file, SafetensorsFile.open(path.join(dir, file), opts));
        } catch (e) {
          const users = [...weightMap].filter(([, f]) => f === file).map(([n]) => `"${n}"`);
          const shown = users.slice(0, 3).join(', ') + (users.length > 3 ? `, … (${users.length} tensors)` : '');
          problems.push(`shard for ${shown}: ${(e as Error).message}`);
        }
      }
      for (const [name, file] of weightMap) {
        const f = ck.files.get(file);
        if (f && !f.has(name)) problems.push(`"${name}" is mapped to ${file}, which does not contain it`);
      }
      if (problems.length > 0) {
        throw new SafetensorsError(`${indexPath}: ${problems.length} problem(s) with the sharded checkpoint:\n  ${problems.join('\n  ')}`);
      }
    } catch (e) {
      ck.close();
      throw e;
    }
    return ck;
  }

  /** Tensor names in index order. */
  keys(): string[] {
    return [...this.weightMap.keys()];
  }

  /** True if the index maps that name. */
  has(name: string): boolean {
    return this.weightMap.has(name);
  }

  private fileOf(name: string): SafetensorsFile {
    const file = this.weightMap.get(name);
    const f = file === undefined ? undefined : this.files.get(file);
    if (!f) throw new SafetensorsError(`${this.path}: no tensor named "${name}" (the index maps ${this.weightMap.size} tensors)`);
    return f;
  }

  /** Shard file name holding a tensor. */
  shardOf(name: string): string {
    return path.basename(this.fileOf(name).path);
  }

  /** Dtype, shape and byte size of one tensor. */
  info(name: string): TensorInfo {
    const { dtype, shape, byteLength } = this.fileOf(name).info(name);
    return { name, dtype, shape, byteLength };
  }

  /** Reads one tensor (raw) from its shard. */
  read(name: string): TensorRecord {
    return this.fileOf(name).read(name);
  }

  /** Closes every shard. */
  close(): void {
    for (const f of this.files.values()) f.close();
  }
}

/**
 * Opens a checkpoint lazily: a .safetensors file, an index .json file, or a directory holding
 * model.safetensors.index.json (preferred) or model.safetensors.
 */
export function openCheckpoint(p: string, opts: OpenOptions = {}): TensorSource {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    throw new SafetensorsError(`${p}: cannot open checkpoint (${(e as Error).message})`);
  }
  if (!st.isDirectory()) return p.endsWith('.json') ? ShardedCheckpoint.open(p, opts) : SafetensorsFile.open(p, opts);
  const index = path.join(p, INDEX_FILE);
  if (fs.existsSync(index)) return ShardedCheckpoint.open(index, opts);
  const single = path.join(p, SINGLE_FILE);
  if (fs.existsSync(single)) return SafetensorsFile.open(single, opts);
  const present = fs.readdirSync(p).filter((f) => f.endsWith('.safetensors') || f.endsWith('.json'));
  throw new SafetensorsError(`${p}: no ${INDEX_FILE} or ${SINGLE_FILE} found (present: ${present.length ? present.join(', ') : 'none'})`);
}
