// safetensors reader/writer: round trips, header layout, FP8 block dequantisation, atomic writes
// and every malformed-file case.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { bf16ToF32Array, e4m3BitsToF32, f16ToF32Array, f32ToBf16Array } from '../src/io/dtypes.js';
import { IoError, SafetensorsError } from '../src/io/errors.js';
import { loadAsFloat32, loadedTensorInfos, readFloat32 } from '../src/io/float32.js';
import { dequantFp8Blocks, quantFp8Blocks } from '../src/io/fp8.js';
import type { TensorRecord } from '../src/io/record.js';
import { loadSafetensors, saveSafetensors, SafetensorsFile } from '../src/io/safetensors.js';
import { canMapFiles } from '../src/backend/mmap.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-st-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const tmp = (name = 'x.safetensors') => path.join(root, `${n++}-${name}`);

/** A deterministic pseudo-random Float32Array. */
function randn(len: number, seed: number): Float32Array {
  const out = new Float32Array(len);
  let s = seed >>> 0;
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 4;
  }
  return out;
}

const bits32 = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

test('round trip is bit-exact for F32 (incl. NaN payloads, -0, inf, subnormals), F16, BF16 and raw ints', () => {
  const special = new Float32Array(8);
  bits32(special).set([0x7fc00001, 0xff800000, 0x80000000, 0x00000001, 0x7f7fffff, 0x3f800000, 0x7fa00000, 0xdeadbeef]);
  const all16 = new Uint16Array(65536).map((_, i) => i);
  const recs: TensorRecord[] = [
    { name: 'special', dtype: 'F32', shape: [2, 4], data: special },
    { name: 'w', dtype: 'F32', shape: [3, 5, 7], data: randn(105, 1) },
    { name: 'h16', dtype: 'F16', shape: [256, 256], data: all16 },
    { name: 'b16', dtype: 'BF16', shape: [65536], data: all16.slice() },
    { name: 'ids', dtype: 'I32', shape: [3], data: new Int32Array([-1, 0, 2147483647]) },
    { name: 'big', dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 5n]) },
    { name: 'mask', dtype: 'BOOL', shape: [4], data: new Uint8Array([1, 0, 0, 1]) },
    { name: 'bytes', dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
    { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([3.5]) },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  ];
  const p = tmp();
  saveSafetensors(p, recs, { format: 'pt', note: 'ünïcode' });
  const back = loadSafetensors(p);
  assert.deepEqual(back.map((r) => r.name).sort(), recs.map((r) => r.name).sort());
  for (const r of recs) {
    const b = back.find((x) => x.name === r.name)!;
    assert.equal(b.dtype, r.dtype, r.name);
    assert.deepEqual(b.shape, r.shape, r.name);
    assert.equal(b.data.constructor, r.data.constructor, r.name);
    assert.deepEqual(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength), Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength), r.name);
  }
  const f = SafetensorsFile.open(p);
  try {
    assert.deepEqual(f.metadata, { format: 'pt', note: 'ünïcode' });
    assert.deepEqual(f.keys(), recs.map((r) => r.name), 'tensors are stored in the order given');
    assert.equal(f.dataStart % 8, 0, 'header padded to 8 bytes');
  } finally {
    f.close();
  }
});

test('header bytes match the reference implementation layout', () => {
  const p = tmp();
  saveSafetensors(p, [{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]);
  const buf = fs.readFileSync(p);
  const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
  assert.equal(Number(buf.readBigUInt64LE(0)), padded.length);
  assert.equal(buf.subarray(8, 8 + padded.length).toString('utf8'), padded);
  assert.deepEqual([...new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + padded.length, buf.byteOffset + buf.length))], [1, 2]);
});

test('F32 data saved as BF16/F16 (per tensor) is rounded once; loadAsFloat32 widens exactly', () => {
  const w = randn(64, 7);
  const p = tmp();
  saveSafetensors(p, [
    { name: 'as_bf16', dtype: 'BF16', shape: [8, 8], data: w }, // declared on the record
    { name: 'as_f16', dtype: 'F32', shape: [8, 8], data: w }, // chosen by options.dtype
    { name: 'keep', dtype: 'F32', shape: [8, 8], data: w },
  ], undefined, { dtype: (name) => (name === 'as_f16' ? 'F16' : 'F32') });
  const f = SafetensorsFile.open(p);
  try {
    assert.equal(f.info('as_bf16').dtype, 'BF16');
    assert.equal(f.info('as_f16').dtype, 'F16');
    assert.equal(f.info('keep').dtype, 'F32');
    assert.deepEqual(f.read('as_bf16').data, f32ToBf16Array(w));
    const loaded = loadAsFloat32(f);
    const get = (k: string) => loaded.find((r) => r.name === k)!;
    assert.equal(get('as_bf16').dtype, 'F32');
    assert.deepEqual(get('as_bf16').data, bf16ToF32Array(f32ToBf16Array(w)));
    assert.deepEqual(get('as_f16').data, f16ToF32Array(f.read('as_f16').data as Uint16Array));
    assert.deepEqual(get('keep').data, w);
  } finally {
    f.close();
  }
});

test('FP8 E4M3 weight [130, 200] with 128×128 block scales is dequantised on load; scales consumed', () => {
  const shape = [130, 200];
  const w = randn(130 * 200, 3);
  // make block magnitudes differ so each scale matters
  for (let i = 0; i < 130; i++) for (let j = 0; j < 200; j++) w[i * 200 + j] *= (i < 128 ? 1 : 10) * (j < 128 ? 1 : 0.01);
  const q = quantFp8Blocks(w, shape);
  assert.deepEqual(q.scaleShape, [2, 2]);
  const p = tmp();
  saveSafetensors(p, [
    { name: 'layer.weight', dtype: 'F8_E4M3', shape, data: q.weight },
    { name: 'layer.weight_scale_inv', dtype: 'F32', shape: q.scaleShape, data: q.scale },
    { name: 'norm.weight', dtype: 'BF16', shape: [4], data: new Uint16Array([0x3f80, 0x4000, 0xbf80, 0]) },
  ]);
  const f = SafetensorsFile.open(p);
  try {
    const loaded = loadAsFloat32(f);
    assert.deepEqual(loaded.map((r) => r.name), ['layer.weight', 'norm.weight']);
    assert.deepEqual(loadedTensorInfos(f).map((i) => [i.name, i.dtype, i.shape]), [['layer.weight', 'F32', [130, 200]], ['norm.weight', 'F32', [4]]]);
    const got = loaded[0].data as Float32Array;
    assert.deepEqual(loaded[0].shape, shape);
    // hand computation: W[i,j] = e4m3(q[i,j]) * scale[floor(i/128), floor(j/128)], in float32
    for (let i = 0; i < 130; i++) {
      for (let j = 0; j < 200; j++) {
        const want = Math.fround(e4m3BitsToF32(q.weight[i * 200 + j]) * q.scale[Math.floor(i / 128) * 2 + Math.floor(j / 128)]);
        if (!Object.is(got[i * 200 + j], want)) assert.fail(`[${i},${j}]: got ${got[i * 200 + j]}, want ${want}`);
      }
    }
    // and the quantisation is faithful: E4M3 has 3 mantissa bits → relative error ≤ 2^-4 (+ subnormals)
    for (let k = 0; k < w.length; k++) {
      const s = q.scale[Math.floor(k / 200 / 128) * 2 + Math.floor((k % 200) / 128)];
      assert.ok(Math.abs(got[k] - w[k]) <= Math.abs(w[k]) / 16 + s * 2 ** -10, `element ${k}`);
    }
    assert.deepEqual([...(loaded[1].data as Float32Array)], [1, 2, -1, 0]);
    assert.deepEqual(readFloat32(f, 'layer.weight'), got);
  } finally {
    f.close();
  }
});

test('FP8 block scales map to the right tiles (ones × distinct scales)', () => {
  const shape = [130, 200];
  const ones = new Uint8Array(130 * 200).fill(0x38); // e4m3 1.0
  const scale = new Float32Array([1, 2, 4, 8]);
  const out = dequantFp8Blocks(ones, shape, scale, [2, 2]);
  assert.equal(out[0], 1);
  assert.equal(out[127 * 200 + 127], 1);
  assert.equal(out[127], 1);
  assert.equal(out[128], 2);
  assert.equal(out[199], 2);
  assert.equal(out[128 * 200], 4);
  assert.equal(out[129 * 200 + 127], 4);
  assert.equal(out[128 * 200 + 128], 8);
  assert.equal(out[129 * 200 + 199], 8);
  assert.throws(() => dequantFp8Blocks(ones, shape, scale, [1, 4]), (e: Error) => e instanceof IoError && /\[2, 2\]/.test(e.message) && /\[1, 4\]/.test(e.message));
});

test('lazy reader: info() and read() of one tensor; unknown name and use after close are errors', () => {
  const p = tmp();
  saveSafetensors(p, [
    { name: 'a', dtype: 'F32', shape: [1000], data: randn(1000, 1) },
    { name: 'b', dtype: 'I32', shape: [2], data: new Int32Array([7, 8]) },
  ]);
  const f = SafetensorsFile.open(p);
  assert.deepEqual(f.info('b').shape, [2]);
  assert.equal(f.info('b').byteLength, 8);
  assert.deepEqual([...f.read('b').data as Int32Array], [7, 8]);
  assert.throws(() => f.read('nope'), (e: Error) => e instanceof SafetensorsError && e.message.includes('"nope"') && e.message.includes(p));
  f.close();
  assert.throws(() => f.read('a'), SafetensorsError);
});

test('atomic write: a record failing midway leaves no file at the destination and no temp file', () => {
  const good: TensorRecord = { name: 'good', dtype: 'F32', shape: [4], data: new Float32Array(4) };
  const bad: TensorRecord = { name: 'bad', dtype: 'F32', shape: [2, 3], data: new Float32Array(5) };
  const dir = fs.mkdtempSync(path.join(root, 'atomic-'));
  const fresh = path.join(dir, 'fresh.safetensors');
  assert.throws(() => saveSafetensors(fresh, [good, bad]), (e: Error) =>
    e instanceof SafetensorsError && e.message.includes('"bad"') && e.message.includes('[2, 3]') && e.message.includes('6') && e.message.includes('5'));
  assert.deepEqual(fs.readdirSync(dir), []);
  // overwriting: the old file stays intact
  const existing = path.join(dir, 'existing.safetensors');
  saveSafetensors(existing, [good]);
  const before = fs.readFileSync(existing);
  assert.throws(() => saveSafetensors(existing, [good, { ...good, name: 'g2' }, bad]), SafetensorsError);
  assert.deepEqual(fs.readFileSync(existing), before);
  assert.deepEqual(fs.readdirSync(dir), ['existing.safetensors']);
  // wrong array type for the dtype
  assert.throws(() => saveSafetensors(existing, [{ name: 'x', dtype: 'I32', shape: [1], data: new Float32Array(1) }]),
    (e: Error) => e instanceof SafetensorsError && /I32 needs data as Int32Array, found Float32Array/.test(e.message));
  assert.throws(() => saveSafetensors(existing, [good, good]), /appears twice/);
  assert.deepEqual(fs.readdirSync(dir), ['existing.safetensors']);
});

// ---- malformed files ----

/** Writes a crafted file: an 8-byte length (default: the header's), a header string, then `data` bytes. */
function craft(header: string | Buffer | object, dataBytes = 0, declaredLen?: number | bigint): string {
  const json = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(declaredLen ?? json.length));
  const p = tmp('bad.safetensors');
  fs.writeFileSync(p, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  return p;
}

function rejects(p: string, ...patterns: RegExp[]): void {
  assert.throws(() => SafetensorsFile.open(p), (e: Error) => {
    assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${e}`);
    assert.ok(e.message.includes(p), `message names the file: ${e.message}`);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

const t = (dtype: string, shape: number[], off: number[]) => ({ dtype, shape, data_offsets: off });

test('malformed: file shorter than 8 bytes, empty file', () => {
  const p = tmp('short.safetensors');
  fs.writeFileSync(p, Buffer.from([1, 2, 3]));
  rejects(p, /3 bytes, too short/);
  const e = tmp('empty.safetensors');
  fs.writeFileSync(e, Buffer.alloc(0));
  rejects(e, /0 bytes/);
});

test('malformed: header length past the end of the file (truncated header)', () => {
  rejects(craft({ a: t('F32', [1], [0, 4]) }, 4, 500), /header length 500 runs past the end of the file/);
});

test('malformed: absurd header length is refused before allocating', () => {
  rejects(craft('{}', 0, 2n ** 62n), /exceeds the 100000000-byte limit/);
  rejects(craft('{}', 0, 100_000_001), /exceeds/);
});

test('malformed: invalid JSON, non-object header, bad UTF-8, non-string metadata', () => {
  rejects(craft('{"a": {"dtype": "F32",'), /not valid JSON/);
  rejects(craft('[1, 2]'), /must be a JSON object/);
  rejects(craft(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), /not valid UTF-8/);
  rejects(craft({ __metadata__: { format: 1 } }), /__metadata__ value of "format" must be a string/);
});

test('malformed: unknown dtype', () => {
  rejects(craft({ a: t('F7', [1], [0, 1]) }, 1), /tensor "a": unknown dtype "F7"/, /expected one of F64, F32/);
});

test('malformed: shape × dtype size does not match the byte range', () => {
  rejects(craft({ a: t('F32', [2, 3], [0, 20]) }, 20), /dtype F32 × shape \[2, 3\] needs 24 bytes, but data_offsets \[0, 20\] hold 20/);
});

test('malformed: offsets out of range of the file', () => {
  rejects(craft({ a: t('F32', [2, 3], [0, 24]) }, 16), /run past the end of the data section \(16 bytes\)/);
});

test('malformed: overlapping offsets', () => {
  rejects(craft({ a: t('F32', [4], [0, 16]), b: t('F32', [4], [8, 24]) }, 24), /tensor "b".*overlap the previous tensor, which ends at 16/);
});

test('malformed: gap between tensors, and trailing bytes not covered', () => {
  rejects(craft({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [16, 24]) }, 24), /tensor "b".*leave a gap after byte 8/);
  rejects(craft({ a: t('F32', [2], [0, 8]) }, 12), /cover 8 bytes of the data section but it has 12/);
});

test('malformed: negative numbers, end before begin, non-integer offsets', () => {
  rejects(craft({ a: t('F32', [-2], [0, 8]) }, 8), /shape must be an array of non-negative integers, found \[-2\]/);
  rejects(craft({ a: t('F32', [2], [-8, 0]) }, 8), /data_offsets must be \[begin, end\] with non-negative integers/);
  rejects(craft({ a: t('F32', [0], [8, 0]) }, 8), /end before they begin/);
  rejects(craft({ a: t('F32', [2], [0, 8.5]) }, 8), /non-negative integers/);
  rejects(craft({ a: { dtype: 'F32', shape: [2] } }, 8), /data_offsets must be/);
});

test('malformed: a shape whose element count overflows is rejected, not allocated', () => {
  rejects(craft({ a: t('U8', [2 ** 30, 2 ** 30, 2 ** 30], [0, 8]) }, 8), /too many elements/);
});

test('a valid file with zero tensors and only metadata opens', () => {
  const f = SafetensorsFile.open(craft({ __metadata__: { a: 'b' } }));
  assert.deepEqual(f.keys(), []);
  assert.deepEqual(f.metadata, { a: 'b' });
  f.close();
});

test('every truncation of a valid file, and random header corruption, give SafetensorsError (or a valid parse)', () => {
  const p = tmp();
  saveSafetensors(p, [
    { name: 'a', dtype: 'F32', shape: [2, 3], data: randn(6, 1) },
    { name: 'b', dtype: 'BF16', shape: [5], data: new Uint16Array(5) },
  ], { format: 'pt' });
  const bytes = fs.readFileSync(p);
  const q = path.join(root, 'cut.safetensors');
  for (let len = 0; len < bytes.length; len++) {
    fs.writeFileSync(q, bytes.subarray(0, len));
    assert.throws(() => SafetensorsFile.open(q), SafetensorsError, `truncated to ${len} bytes`);
  }
  const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
  let seed = 5;
  const rnd = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32; };
  for (let it = 0; it < 500; it++) {
    const b = Buffer.from(bytes);
    for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) b[Math.floor(rnd() * headerEnd)] = Math.floor(rnd() * 256);
    fs.writeFileSync(q, b);
    try {
      SafetensorsFile.open(q).close();
    } catch (e) {
      if (!(e instanceof SafetensorsError)) assert.fail(`iteration ${it}: ${(e as Error).stack}`);
    }
  }
});

test('memory-mapped reads (mmap): the same records as pread, views into one mapping; a misaligned tensor is copied', { skip: canMapFiles() ? false : 'native addon unavailable' }, () => {
  // Hand-built file: a U8 [1] tensor first puts the F16 tensor at data offset 1 (not 2-aligned) and
  // the F32 tensor at offset 7 (not 4-aligned); the header is padded so the data section starts at 8·k.
  const u8 = Uint8Array.of(9), f16 = Uint16Array.of(0x3c00, 0x4000, 0xc000), f32 = Float32Array.of(1.5, -2.25);
  let header = JSON.stringify({
    a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
    b: { dtype: 'F16', shape: [3], data_offsets: [1, 7] },
    c: { dtype: 'F32', shape: [2], data_offsets: [7, 15] },
    pad: { dtype: 'U8', shape: [1], data_offsets: [15, 16] },
    d: { dtype: 'BF16', shape: [2], data_offsets: [16, 20] },
  });
  header += ' '.repeat((8 - (header.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const data = Buffer.alloc(20);
  data.set(u8, 0);
  data.set(new Uint8Array(f16.buffer), 1);
  data.set(new Uint8Array(f32.buffer), 7);
  data.set(new Uint8Array(Uint16Array.of(0x3f80, 0xbf80).buffer), 16);
  const p = tmp('mapped.safetensors');
  fs.writeFileSync(p, Buffer.concat([len, Buffer.from(header), data]));
  const plain = SafetensorsFile.open(p), mapped = SafetensorsFile.open(p, { mmap: true });
  try {
    assert.equal(plain.mapped, false);
    assert.equal(mapped.mapped, true);
    for (const k of plain.keys()) assert.deepEqual(mapped.read(k), plain.read(k), k);
    const size = fs.statSync(p).size;
    const d = mapped.read('d').data, a = mapped.read('a').data;
    assert.equal(d.buffer.byteLength, size, 'an aligned tensor views the mapping of the whole file');
    assert.equal(a.buffer, d.buffer);
    assert.notEqual(mapped.read('b').data.buffer, d.buffer, 'the misaligned F16 tensor is a copy');
    assert.notEqual(mapped.read('c').data.buffer, d.buffer, 'the misaligned F32 tensor is a copy');
    assert.deepEqual([...mapped.read('c').data as Float32Array], [1.5, -2.25]);
  } finally {
    plain.close();
    mapped.close();
  }
  assert.throws(() => mapped.read('a'), /read of "a" after close\(\)/);
});
