// GGUF v3 container: byte layout against the spec, all metadata types, F32/F16/BF16/Q8_0
// tensors, alignment, atomic writes, and malformed files (every truncation, crafted fields, fuzz).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { f16ToF32Array, f32ToBf16Array, f32ToF16Array, bf16ToF32Array } from '../src/io/dtypes.js';
import { GgufError } from '../src/io/errors.js';
import { gguf, GgufFile, writeGguf, type GgufTensorInput } from '../src/io/gguf.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-gguf-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const tmp = () => path.join(root, `${n++}.gguf`);

test('byte layout of a minimal file matches the GGUF v3 spec', () => {
  const p = tmp();
  const size = writeGguf(p, { 'general.architecture': 'x' }, [{ name: 'a', shape: [2], type: 'F32', data: new Float32Array([1, 2]) }]);
  const w = (parts: (Buffer | number[])[]) => Buffer.concat(parts.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x))));
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
  const u64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
  const str = (s: string) => w([u64(Buffer.byteLength(s)), Buffer.from(s)]);
  const header = w([
    Buffer.from('GGUF'), u32(3), u64(1), u64(1),
    str('general.architecture'), u32(8), str('x'),
    str('a'), u32(1), u64(2), u32(0), u64(0),
  ]);
  assert.equal(header.length, 98);
  const data = Buffer.alloc(8);
  data.writeFloatLE(1, 0);
  data.writeFloatLE(2, 4);
  const expected = w([header, Buffer.alloc(128 - 98), data, Buffer.alloc(24)]);
  assert.equal(size, 160);
  assert.deepEqual(fs.readFileSync(p), expected);
});

test('all metadata types and F32/F16/BF16/Q8_0 tensors round trip', () => {
  const p = tmp();
  const w2 = new Float32Array(6 * 4).map((_, i) => Math.sin(i) * 100);
  const w3 = new Float32Array(2 * 3 * 32).map((_, i) => Math.cos(i) * 3);
  const metadata = {
    'general.architecture': 'deepseek2',
    'general.name': 'tïny – model',
    'test.u8': gguf.u8(255), 'test.i8': gguf.i8(-128), 'test.u16': gguf.u16(65535), 'test.i16': gguf.i16(-32768),
    'test.u32': gguf.u32(4294967295), 'test.i32': gguf.i32(-2147483648), 'test.f32': gguf.f32(1e-6),
    'test.f64': gguf.f64(Math.PI), 'test.u64': gguf.u64(2n ** 64n - 1n), 'test.i64': gguf.i64(-(2n ** 63n)),
    'test.bool': true, 'test.bool_false': gguf.bool(false),
    'tokenizer.ggml.tokens': ['<s>', '</s>', 'héllo', ''],
    'tokenizer.ggml.scores': new Float32Array([0, -1.5, 2.25, 0]),
    'tokenizer.ggml.token_type': new Int32Array([3, 3, 1, 1]),
    'test.arr_u8': gguf.arr('uint8', [0, 255]), 'test.arr_i16': gguf.arr('int16', [-5, 5]),
    'test.arr_f64': gguf.arr('float64', [0.1, -0.2]), 'test.arr_u64': gguf.arr64('uint64', [1n, 2n ** 63n]),
    'test.arr_i64': gguf.arr64('int64', [-1, 7]), 'test.arr_bool': [true, false, true], 'test.empty': gguf.arr('uint32', []),
  };
  const tensors: GgufTensorInput[] = [
    { name: 'token_embd.weight', shape: [6, 4], type: 'F32', data: w2 },
    { name: 'blk.0.ffn_down.weight', shape: [6, 4], type: 'F16', data: w2 },
    { name: 'blk.0.f16_raw', shape: [3], type: 'F16', data: new Uint16Array([0x3c00, 0x7c00, 0x0001]) },
    { name: 'blk.0.bf16', shape: [6, 4], type: 'BF16', data: w2 },
    { name: 'blk.0.ffn_up_exps.weight', shape: [2, 3, 32], type: 'Q8_0', data: () => w3 },
    { name: 'output_norm.weight', shape: [1], type: 'F32', data: new Float32Array([0.5]) },
  ];
  writeGguf(p, metadata, tensors);
  const f = GgufFile.open(p);
  try {
    assert.equal(f.version, 3);
    assert.equal(f.alignment, 32);
    assert.equal(f.dataOffset % 32, 0);
    assert.deepEqual([...f.metadata.keys()], Object.keys(metadata));
    assert.deepEqual(f.get('general.architecture'), { type: 'string', value: 'deepseek2' });
    assert.deepEqual(f.get('general.name'), { type: 'string', value: 'tïny – model' });
    assert.deepEqual(f.get('test.u8'), { type: 'uint8', value: 255 });
    assert.deepEqual(f.get('test.i8'), { type: 'int8', value: -128 });
    assert.deepEqual(f.get('test.u16'), { type: 'uint16', value: 65535 });
    assert.deepEqual(f.get('test.i16'), { type: 'int16', value: -32768 });
    assert.deepEqual(f.get('test.u32'), { type: 'uint32', value: 4294967295 });
    assert.deepEqual(f.get('test.i32'), { type: 'int32', value: -2147483648 });
    assert.deepEqual(f.get('test.f32'), { type: 'float32', value: Math.fround(1e-6) });
    assert.deepEqual(f.get('test.f64'), { type: 'float64', value: Math.PI });
    assert.deepEqual(f.get('test.u64'), { type: 'uint64', value: 2n ** 64n - 1n });
    assert.deepEqual(f.get('test.i64'), { type: 'int64', value: -(2n ** 63n) });
    assert.deepEqual(f.get('test.bool'), { type: 'bool', value: true });
    assert.deepEqual(f.get('test.bool_false'), { type: 'bool', value: false });
    assert.deepEqual(f.get('tokenizer.ggml.tokens'), { type: 'array', itemType: 'string', value: ['<s>', '</s>', 'héllo', ''] });
    assert.deepEqual(f.get('tokenizer.ggml.scores'), { type: 'array', itemType: 'float32', value: [0, -1.5, 2.25, 0] });
    assert.deepEqual(f.get('tokenizer.ggml.token_type'), { type: 'array', itemType: 'int32', value: [3, 3, 1, 1] });
    assert.deepEqual(f.get('test.arr_u8'), { type: 'array', itemType: 'uint8', value: [0, 255] });
    assert.deepEqual(f.get('test.arr_i16'), { type: 'array', itemType: 'int16', value: [-5, 5] });
    assert.deepEqual(f.get('test.arr_f64'), { type: 'array', itemType: 'float64', value: [0.1, -0.2] });
    assert.deepEqual(f.get('test.arr_u64'), { type: 'array', itemType: 'uint64', value: [1n, 2n ** 63n] });
    assert.deepEqual(f.get('test.arr_i64'), { type: 'array', itemType: 'int64', value: [-1n, 7n] });
    assert.deepEqual(f.get('test.arr_bool'), { type: 'array', itemType: 'bool', value: [true, false, true] });
    assert.deepEqual(f.get('test.empty'), { type: 'array', itemType: 'uint32', value: [] });

    assert.deepEqual(f.tensors.map((t) => [t.name, t.type, t.dims, t.shape]), [
      ['token_embd.weight', 'F32', [4, 6], [6, 4]],
      ['blk.0.ffn_down.weight', 'F16', [4, 6], [6, 4]],
      ['blk.0.f16_raw', 'F16', [3], [3]],
      ['blk.0.bf16', 'BF16', [4, 6], [6, 4]],
      ['blk.0.ffn_up_exps.weight', 'Q8_0', [32, 3, 2], [2, 3, 32]],
      ['output_norm.weight', 'F32', [1], [1]],
    ]);
    for (const t of f.tensors) assert.equal(t.offset % 32, 0, t.name);
    assert.deepEqual(f.readTensorF32('token_embd.weight'), w2);
    assert.deepEqual(f.readTensorF32('blk.0.ffn_down.weight'), f16ToF32Array(f32ToF16Array(w2)));
    assert.deepEqual(new Uint16Array(f.readTensorBytes('blk.0.ffn_down.weight').buffer), f32ToF16Array(w2));
    assert.deepEqual([...f.readTensorF32('blk.0.f16_raw')], [1, Infinity, 2 ** -24]);
    assert.deepEqual(f.readTensorF32('blk.0.bf16'), bf16ToF32Array(f32ToBf16Array(w2)));
    const q = f.readTensorF32('blk.0.ffn_up_exps.weight');
    assert.equal(f.tensor('blk.0.ffn_up_exps.weight').byteLength, 6 * 34);
    for (let i = 0; i < w3.length; i++) assert.ok(Math.abs(q[i] - w3[i]) <= 3 / 127, `q8_0 element ${i}`);
    assert.deepEqual([...f.readTensorF32('output_norm.weight')], [0.5]);
  } finally {
    f.close();
  }
});

test('Q8_0 blocks match a hand computation (d = amax/127 as f16, round half away from zero)', () => {
  const p = tmp();
  const x = new Float32Array(32).map((_, j) => j - 15.5); // -15.5 … 15.5
  x[31] = 127; // amax 127 → d = 1 exactly
  writeGguf(p, {}, [{ name: 'q', shape: [32], type: 'Q8_0', data: x }]);
  const f = GgufFile.open(p);
  const b = Buffer.from(f.readTensorBytes('q'));
  assert.equal(b.length, 34);
  assert.equal(b.readUInt16LE(0), 0x3c00);
  const qs = [...new Int8Array(b.buffer, b.byteOffset + 2, 32)];
  assert.deepEqual(qs.slice(0, 4), [-16, -15, -14, -13]); // -15.5 → -16, -14.5 → -15 (away from zero)
  assert.deepEqual(qs.slice(14, 18), [-2, -1, 1, 2]); // -1.5, -0.5, 0.5, 1.5
  assert.equal(qs[31], 127);
  assert.deepEqual([...f.readTensorF32('q')], qs);
  f.close();
});

test('alignment: custom general.alignment pads header and every tensor', () => {
  const p = tmp();
  const size = writeGguf(p, { 'general.architecture': 'x' }, [
    { name: 'a', shape: [3], type: 'F32', data: new Float32Array([1, 2, 3]) },
    { name: 'b', shape: [1], type: 'F16', data: new Float32Array([1]) },
  ], { alignment: 64 });
  const f = GgufFile.open(p);
  assert.equal(f.alignment, 64);
  assert.deepEqual(f.get('general.alignment'), { type: 'uint32', value: 64 });
  assert.equal(f.dataOffset % 64, 0);
  assert.deepEqual(f.tensors.map((t) => t.offset), [0, 64]);
  assert.equal(size, f.dataOffset + 128);
  assert.deepEqual([...f.readTensorF32('b')], [1]);
  f.close();
  assert.throws(() => writeGguf(tmp(), {}, [], { alignment: 24 }), /power of two/);
});

test('tensor data given as functions is produced one tensor at a time, in order', () => {
  const calls: string[] = [];
  const mk = (name: string) => ({ name, shape: [4], type: 'F32' as const, data: () => { calls.push(name); return new Float32Array(4).fill(calls.length); } });
  const p = tmp();
  writeGguf(p, {}, [mk('x'), mk('y'), mk('z')]);
  assert.deepEqual(calls, ['x', 'y', 'z']);
  const f = GgufFile.open(p);
  assert.deepEqual([...f.readTensorF32('z')], [3, 3, 3, 3]);
  f.close();
});

test('writer errors: untyped numbers, bad values, names, shapes, and atomic failure midway', () => {
  const dir = fs.mkdtempSync(path.join(root, 'w-'));
  const p = path.join(dir, 'out.gguf');
  const ok = { name: 'a', shape: [2], type: 'F32' as const, data: new Float32Array(2) };
  assert.throws(() => writeGguf(p, { 'x.n': 3 as unknown as string }, []), (e: Error) => e instanceof GgufError && /must be typed/.test(e.message));
  assert.throws(() => writeGguf(p, { 'x.arr': [1, 2] as unknown as string[] }, []), /gguf.arr/);
  assert.throws(() => writeGguf(p, { 'x.u8': gguf.u8(256) }, []), /uint8 needs an integer in \[0, 255\], got 256/);
  assert.throws(() => writeGguf(p, { 'x.u32': gguf.u32(1.5) }, []), /uint32 needs an integer/);
  assert.throws(() => writeGguf(p, {}, [{ ...ok, name: 'n'.repeat(64) }]), /name must be 1..63 bytes/);
  assert.throws(() => writeGguf(p, {}, [{ ...ok, shape: [1, 1, 1, 1, 2] }]), /1..4 dimensions/);
  assert.throws(() => writeGguf(p, {}, [{ ...ok, type: 'Q8_0', shape: [2, 16] }]), /multiple of 32/);
  assert.throws(() => writeGguf(p, {}, [ok, ok]), /appears twice/);
  assert.deepEqual(fs.readdirSync(dir), []);
  writeGguf(p, {}, [ok]);
  const before = fs.readFileSync(p);
  assert.throws(() => writeGguf(p, {}, [ok, { ...ok, name: 'bad', shape: [3] }]), (e: Error) =>
    e instanceof GgufError && /tensor "bad": shape \[3\] needs 3 elements, data has 2/.test(e.message));
  assert.throws(() => writeGguf(p, {}, [ok, { ...ok, name: 'thrower', data: () => { throw new Error('boom'); } }]), /boom/);
  assert.deepEqual(fs.readFileSync(p), before);
  assert.deepEqual(fs.readdirSync(dir), ['out.gguf']);
});

// ---- malformed files ----

function sample(): { path: string; bytes: Buffer; dataEnd: number } {
  const p = tmp();
  writeGguf(p, { 'general.architecture': 'x', 'general.alignment': gguf.u32(32), 'k.arr': gguf.arr('int32', [1, 2, 3]), 'k.s': ['a', 'b'] }, [
    { name: 'a', shape: [2, 3], type: 'F32', data: new Float32Array(6) },
    { name: 'b', shape: [32], type: 'Q8_0', data: new Float32Array(32) },
  ]);
  const f = GgufFile.open(p);
  const last = f.tensors[f.tensors.length - 1];
  const dataEnd = f.dataOffset + last.offset + last.byteLength;
  f.close();
  return { path: p, bytes: fs.readFileSync(p), dataEnd };
}

function rejects(bytes: Buffer, re: RegExp): void {
  const p = tmp();
  fs.writeFileSync(p, bytes);
  assert.throws(() => GgufFile.open(p), (e: Error) => {
    assert.ok(e instanceof GgufError, `expected GgufError, got ${e}`);
    assert.ok(e.message.includes(p), e.message);
    assert.match(e.message, re);
    return true;
  });
}

test('malformed: every truncation of a valid file is a clear GgufError', () => {
  const { bytes, dataEnd } = sample();
  for (let len = 0; len < dataEnd; len++) rejects(bytes.subarray(0, len), /file ends|runs past the end|remain in the file/);
  const p = tmp();
  fs.writeFileSync(p, bytes.subarray(0, dataEnd)); // only the final padding missing: still readable
  GgufFile.open(p).close();
});

test('malformed: magic, versions', () => {
  const { bytes } = sample();
  const m = Buffer.from(bytes);
  m.write('GGML', 0);
  rejects(m, /not a GGUF file \(magic is "GGML", expected "GGUF"\)/);
  const v = (ver: number) => { const b = Buffer.from(bytes); b.writeUInt32LE(ver, 4); return b; };
  rejects(v(1), /version 1 is not supported/);
  rejects(v(4), /version 4 is newer/);
  rejects(v(0x03000000), /big-endian/);
});

test('malformed: absurd counts and lengths are refused before allocating', () => {
  const { bytes } = sample();
  const b1 = Buffer.from(bytes);
  b1.writeBigUInt64LE(2n ** 62n, 8); // tensor count
  rejects(b1, /tensor count is 4611686018427387904 at offset 8, but only \d+ bytes remain/);
  const b2 = Buffer.from(bytes);
  b2.writeBigUInt64LE(2n ** 60n, 24); // length of the first key
  rejects(b2, /length of metadata key 0 is 1152921504606846976/);
  const b3 = Buffer.from(bytes);
  const at = b3.indexOf('k.arr') + 5 + 4 + 4; // key, array type, item type → count
  b3.writeBigUInt64LE(2n ** 40n, at);
  rejects(b3, /array length of "k.arr" is 1099511627776/);
});

test('malformed: bad value type, alignment, duplicate key, tensor type/dims/offset', () => {
  const { bytes } = sample();
  const typeAt = (key: string) => bytes.indexOf(key) + key.length;
  const b1 = Buffer.from(bytes);
  b1.writeUInt32LE(13, typeAt('general.architecture'));
  rejects(b1, /type of "general.architecture" at offset \d+ is 13/);
  const b2 = Buffer.from(bytes);
  b2.writeUInt32LE(24, typeAt('general.alignment') + 4);
  rejects(b2, /general.alignment 24 is not a power of two/);
  const b3 = Buffer.from(bytes);
  b3.writeUInt32LE(5, typeAt('general.alignment'));
  rejects(b3, /general.alignment must be uint32, found int32/);
  // duplicate key: write keys "k.a" and "k.b", then rename "k.b" to "k.a" in place
  const p = tmp();
  writeGguf(p, { 'k.a': 'x', 'k.b': 'y' }, []);
  const d = fs.readFileSync(p);
  d.write('k.a', d.indexOf('k.b'));
  rejects(d, /metadata key "k.a" appears twice/);
  // tensor info fields: find tensor "b" (name length 1 then "b"), then n_dims, dims, type, offset
  const tb = bytes.lastIndexOf(Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('b')]));
  const nDimsAt = tb + 9, dim0At = nDimsAt + 4, typeIdAt = dim0At + 8, offAt = typeIdAt + 4;
  assert.equal(bytes.readUInt32LE(nDimsAt), 1);
  assert.equal(bytes.readUInt32LE(typeIdAt), 8);
  const t1 = Buffer.from(bytes);
  t1.writeUInt32LE(99, typeIdAt);
  rejects(t1, /tensor "b" has ggml type 99/);
  const t2 = Buffer.from(bytes);
  t2.writeUInt32LE(5, nDimsAt);
  rejects(t2, /tensor "b" has 5 dims, at most 4/);
  const t3 = Buffer.from(bytes);
  t3.writeBigUInt64LE(31n, dim0At);
  rejects(t3, /Q8_0 needs ne\[0\] to be a multiple of 32, found 31/);
  const t4 = Buffer.from(bytes);
  t4.writeBigUInt64LE(64n, offAt);
  rejects(t4, /tensor "b" has data offset 64, expected 32/);
  const t5 = Buffer.from(bytes);
  t5.writeBigUInt64LE(2n ** 20n, dim0At);
  rejects(t5, /tensor "b" data \[\d+, \d+\) runs past the end of the file/);
});

test('fuzz: random byte corruption of the header gives GgufError or a valid parse, never another error', () => {
  const { path: valid, bytes } = sample();
  let seed = 1;
  const rnd = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32; };
  const f = GgufFile.open(valid);
  const headerEnd = f.dataOffset;
  f.close();
  for (let it = 0; it < 500; it++) {
    const b = Buffer.from(bytes);
    const flips = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < flips; k++) b[Math.floor(rnd() * Math.min(headerEnd, b.length))] = Math.floor(rnd() * 256);
    const p = path.join(root, 'fuzz.gguf');
    fs.writeFileSync(p, b);
    try {
      GgufFile.open(p).close();
    } catch (e) {
      if (!(e instanceof GgufError)) assert.fail(`iteration ${it}: ${(e as Error).stack}`);
    }
  }
});
