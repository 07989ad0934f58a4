// Sharded checkpoints: shard planning, file names, index JSON, loading through the index,
// overwriting with another layout, and malformed indexes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { SafetensorsError } from '../src/io/errors.js';
import { loadAsFloat32 } from '../src/io/float32.js';
import { quantFp8Blocks } from '../src/io/fp8.js';
import type { TensorRecord } from '../src/io/record.js';
import { saveSafetensors } from '../src/io/safetensors.js';
import { INDEX_FILE, openCheckpoint, saveCheckpoint, saveSharded, ShardedCheckpoint, shardName } from '../src/io/sharded.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-shard-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => path.join(root, `d${n++}`);

const f32 = (name: string, len: number, v = 0): TensorRecord =>
  ({ name, dtype: 'F32', shape: [len], data: new Float32Array(len).map((_, i) => i + v) });

test('saveSharded: greedy shards by size, HF names and index; loads back bit-exactly through the index', () => {
  const dir = newDir();
  const recs = [f32('a', 100), f32('b', 100, 1), f32('c', 300, 2), f32('d', 50, 3), f32('e', 10, 4)];
  // 400 + 400 = 800 > 900? no → a,b in shard 1; c (1200 B) alone (bigger than the limit); d, e together
  const res = saveSharded(dir, recs, { maxShardBytes: 900 });
  assert.deepEqual(res.files, [shardName(1, 3), shardName(2, 3), shardName(3, 3)]);
  assert.equal(shardName(1, 3), 'model-00001-of-00003.safetensors');
  assert.deepEqual(fs.readdirSync(dir).sort(), [...res.files, INDEX_FILE].sort());
  const index = JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), 'utf8'));
  assert.deepEqual(index, {
    metadata: { total_size: 4 * (100 + 100 + 300 + 50 + 10) },
    weight_map: { a: res.files[0], b: res.files[0], c: res.files[1], d: res.files[2], e: res.files[2] },
  });
  const src = openCheckpoint(dir);
  try {
    assert.ok(src instanceof ShardedCheckpoint);
    assert.deepEqual(src.keys(), ['a', 'b', 'c', 'd', 'e']);
    assert.equal((src as ShardedCheckpoint).shardOf('c'), res.files[1]);
    for (const r of recs) assert.deepEqual(src.read(r.name).data, r.data);
  } finally {
    src.close();
  }
  // each shard carries the HF format metadata
  const shard = fs.readFileSync(path.join(dir, res.files[0]));
  assert.match(shard.subarray(8, 8 + Number(shard.readBigUInt64LE(0))).toString(), /"__metadata__":\{"format":"pt"\}/);
});

test('saveCheckpoint switches layouts and removes the stale one', () => {
  const dir = newDir();
  const recs = [f32('a', 100), f32('b', 100, 1), f32('c', 100, 2)];
  saveSharded(dir, recs, { maxShardBytes: 400 });
  assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('-of-00003.safetensors')).length, 3);
  saveSharded(dir, recs, { maxShardBytes: 800 }); // 2 shards now: the 3-shard files must go
  assert.deepEqual(fs.readdirSync(dir).sort(), [INDEX_FILE, shardName(1, 2), shardName(2, 2)].sort());
  saveCheckpoint(dir, [f32('z', 3, 9)]); // single file: index and shards must go
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  const loaded = loadAsFloat32(dir);
  assert.deepEqual(loaded.map((r) => r.name), ['z']);
  saveCheckpoint(dir, recs, { maxShardBytes: 500 });
  assert.ok(!fs.existsSync(path.join(dir, 'model.safetensors')));
  assert.deepEqual(loadAsFloat32(dir).map((r) => r.name), ['a', 'b', 'c']);
  saveCheckpoint(dir, recs, { maxShardBytes: 10_000 }); // fits in one: unsharded
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
});

test('FP8 weight and its scale in different shards are dequantised together', () => {
  const dir = newDir();
  const w = new Float32Array(130 * 200).map((_, i) => Math.sin(i));
  const q = quantFp8Blocks(w, [130, 200]);
  saveSharded(dir, [
    { name: 'x.weight', dtype: 'F8_E4M3', shape: [130, 200], data: q.weight },
    { name: 'x.weight_scale_inv', dtype: 'F32', shape: q.scaleShape, data: q.scale },
  ], { maxShardBytes: 130 * 200 });
  assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).length, 2);
  const [rec, ...rest] = loadAsFloat32(dir);
  assert.equal(rest.length, 0);
  assert.equal(rec.name, 'x.weight');
  const got = rec.data as Float32Array;
  for (let k = 0; k < w.length; k++) assert.ok(Math.abs(got[k] - w[k]) <= Math.abs(w[k]) / 16 + 1e-3, `element ${k}`);
});

test('malformed index: missing shard, wrong mapping, path outside the directory — all reported at once', () => {
  const dir = newDir();
  const { files } = saveSharded(dir, [f32('a', 10), f32('b', 10)], { maxShardBytes: 40 });
  const indexPath = path.join(dir, INDEX_FILE);
  fs.writeFileSync(indexPath, JSON.stringify({
    metadata: { total_size: 80 },
    weight_map: { a: files[0], b: files[0], c: 'model-00009-of-00009.safetensors', d: '../evil.safetensors' },
  }));
  assert.throws(() => openCheckpoint(dir), (e: Error) => {
    assert.ok(e instanceof SafetensorsError);
    assert.match(e.message, /3 problem/);
    assert.match(e.message, /"d" maps to "..\/evil.safetensors", not a file name/);
    assert.match(e.message, /model-00009-of-00009.safetensors: cannot open/);
    assert.match(e.message, /"b" is mapped to model-00001-of-00002.safetensors, which does not contain it/);
    assert.match(e.message, /shard for "c": .*model-00009-of-00009/);
    return true;
  });
  fs.writeFileSync(indexPath, '{"metadata": {}, "weight_map": [');
  assert.throws(() => openCheckpoint(dir), /cannot read index/);
  fs.writeFileSync(indexPath, '{"metadata": {}}');
  assert.throws(() => openCheckpoint(dir), /found no weight_map object/);
});

test('a corrupt shard is reported with its file name', () => {
  const dir = newDir();
  const { files } = saveSharded(dir, [f32('a', 10), f32('b', 10)], { maxShardBytes: 40 });
  const p = path.join(dir, files[1]);
  fs.truncateSync(p, fs.statSync(p).size - 4);
  assert.throws(() => openCheckpoint(dir), (e: Error) => e instanceof SafetensorsError && e.message.includes(files[1]) && /data section/.test(e.message));
});

test('openCheckpoint: file path, index path, and an empty directory', () => {
  const dir = newDir();
  fs.mkdirSync(dir);
  assert.throws(() => openCheckpoint(dir), /no model.safetensors.index.json or model.safetensors found/);
  const file = path.join(dir, 'w.safetensors');
  saveSafetensors(file, [f32('a', 2)]);
  const s = openCheckpoint(file);
  assert.deepEqual(s.keys(), ['a']);
  s.close();
  saveSharded(dir, [f32('q', 2)], { maxShardBytes: 1 });
  const s2 = openCheckpoint(path.join(dir, INDEX_FILE));
  assert.deepEqual(s2.keys(), ['q']);
  s2.close();
  assert.throws(() => openCheckpoint(path.join(dir, 'missing')), /cannot open checkpoint/);
});
