// Streaming GGUF v3 writer: the header (metadata + tensor infos) is built in memory, then each
// tensor's data is produced (a typed array, or a function called just in time), converted in
// chunks and written, so a model is never held twice. Written to a temp file and renamed.

import { withAtomicFile, type AtomicFile } from './atomic.js';
import { f32ToBf16Array, f32ToF16Array } from './dtypes.js';
import { GgufError } from './errors.js';
import {
  alignUp, GGML_MAX_DIMS, GGML_MAX_NAME, GGML_TYPES, ggmlBytes, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC,
  GGUF_TYPE_ID, GGUF_VERSION, quantizeQ8_0,
  type GgmlTypeName, type GgufArray, type GgufInputValue, type GgufScalarType, type GgufValue,
} from './gguf-format.js';
import { bytesOf, shapeStr } from './record.js';

/** Tensor data the writer accepts: Float32Array (converted to the tensor's type), raw Uint16Array bits for F16/BF16, Int32Array for I32, or raw bytes of exactly the stored size. */
export type GgufTensorData = Float32Array | Uint16Array | Int32Array | Uint8Array;

/** A tensor to write. `shape` is row-major (PyTorch order); it is stored reversed as ggml dims. */
export interface GgufTensorInput {
  name: string;
  shape: readonly number[];
  type: GgmlTypeName;
  /** The data, or a function producing it when the tensor is written (keeps memory to one tensor). */
  data: GgufTensorData | (() => GgufTensorData);
}

/** Metadata to write, in order: a record or a Map of key → value. */
export type GgufMetadataInput = Record<string, GgufInputValue> | Map<string, GgufInputValue>;

/** Options of `writeGguf`. */
export interface GgufWriteOptions {
  /** Data alignment; written as `general.alignment` (u32) when not the default 32. */
  alignment?: number;
}

/** Little-endian byte builder for the header. */
class Bytes {
  private chunks: Uint8Array[] = [];
  private cur = Buffer.alloc(1 << 16);
  private pos = 0;
  length = 0;

  private room(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.chunks.push(this.cur.subarray(0, this.pos));
    this.cur = Buffer.alloc(Math.max(1 << 16, n));
    this.pos = 0;
  }
  u8(v: number) { this.room(1); this.cur.writeUInt8(v, this.pos); this.pos += 1; this.length += 1; }
  i8(v: number) { this.room(1); this.cur.writeInt8(v, this.pos); this.pos += 1; this.length += 1; }
  u16(v: number) { this.room(2); this.cur.writeUInt16LE(v, this.pos); this.pos += 2; this.length += 2; }
  i16(v: number) { this.room(2); this.cur.writeInt16LE(v, this.pos); this.pos += 2; this.length += 2; }
  u32(v: number) { this.room(4); this.cur.writeUInt32LE(v, this.pos); this.pos += 4; this.length += 4; }
  i32(v: number) { this.room(4); this.cur.writeInt32LE(v, this.pos); this.pos += 4; this.length += 4; }
  f32(v: number) { this.room(4); this.cur.writeFloatLE(v, this.pos); this.pos += 4; this.length += 4; }
  f64(v: number) { this.room(8); this.cur.writeDoubleLE(v, this.pos); this.pos += 8; this.length += 8; }
  u64(v: bigint) { this.room(8); this.cur.writeBigUInt64LE(v, this.pos); this.pos += 8; this.length += 8; }
  i64(v: bigint) { this.room(8); this.cur.writeBigInt64LE(v, this.pos); this.pos += 8; this.length += 8; }
  raw(b: Uint8Array) { this.room(b.length); this.cur.set(b, this.pos); this.pos += b.length; this.length += b.length; }
  str(s: string) { const b = Buffer.from(s, 'utf8'); this.u64(BigInt(b.length)); this.raw(b); }
  /** All bytes written so far. */
  done(): Uint8Array { return Buffer.concat([...this.chunks, this.cur.subarray(0, this.pos)]); }
}

const INT_RANGE: Readonly<Record<string, [number, number]>> = {
  uint8: [0, 0xff], int8: [-0x80, 0x7f], uint16: [0, 0xffff], int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff], int32: [-0x80000000, 0x7fffffff],
};

/** Turns an accepted input value into a typed GgufValue (see GgufInputValue). */
export function toGgufValue(key: string, v: GgufInputValue): GgufValue {
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'boolean') return { type: 'bool', value: v };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { type: 'array', itemType: 'string', value: v as string[] };
    if (v.every((x) => typeof x === 'boolean')) return { type: 'array', itemType: 'bool', value: v as boolean[] };
    throw new GgufError(`metadata "${key}": a plain array must hold only strings or only booleans; type numeric arrays with gguf.arr(...) or a typed array`);
  }
  if (ArrayBuffer.isView(v)) {
    if (v instanceof Float32Array) return { type: 'array', itemType: 'float32', value: Array.from(v) };
    if (v instanceof Float64Array) return { type: 'array', itemType: 'float64', value: Array.from(v) };
    if (v instanceof Int32Array) return { type: 'array', itemType: 'int32', value: Array.from(v) };
    if (v instanceof Uint32Array) return { type: 'array', itemType: 'uint32', value: Array.from(v) };
    if (v instanceof Int16Array) return { type: 'array', itemType: 'int16', value: Array.from(v) };
    if (v instanceof Uint16Array) return { type: 'array', itemType: 'uint16', value: Array.from(v) };
    if (v instanceof Int8Array) return { type: 'array', itemType: 'int8', value: Array.from(v) };
    if (v instanceof Uint8Array) return { type: 'array', itemType: 'uint8', value: Array.from(v) };
    if (v instanceof BigInt64Array) return { type: 'array', itemType: 'int64', value: Array.from(v) };
    return { type: 'array', itemType: 'uint64', value: Array.from(v as BigUint64Array) };
  }
  if (v !== null && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string') return v as GgufValue;
  throw new GgufError(`metadata "${key}": ${typeof v} values must be typed (use gguf.u32(...), gguf.f32(...), …)`);
}

function checkScalar(key: string, type: GgufScalarType, v: unknown): void {
  const bad = (want: string) => {
    throw new GgufError(`metadata "${key}": ${type} needs ${want}, got ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}`);
  };
  if (type in INT_RANGE) {
    const [lo, hi] = INT_RANGE[type];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(`an integer in [${lo}, ${hi}]`);
  } else if (type === 'float32' || type === 'float64') {
    if (typeof v !== 'number') bad('a number');
  } else if (type === 'uint64') {
    if (typeof v !== 'bigint' || v < 0n || v >= 1n << 64n) bad('a bigint in [0, 2^64)');
  } else if (type === 'int64') {
    if (typeof v !== 'bigint' || v < -(1n << 63n) || v >= 1n << 63n) bad('a bigint in [-2^63, 2^63)');
  } else if (type === 'bool') {
    if (typeof v !== 'boolean') bad('a boolean');
  } else if (type === 'string') {
    if (typeof v !== 'string') bad('a string');
  } else bad('a known type');
}

function writeScalar(out: Bytes, type: GgufScalarType, v: unknown): void {
  switch (type) {
    case 'uint8': return out.u8(v as number);
    case 'int8': return out.i8(v as number);
    case 'uint16': return out.u16(v as number);
    case 'int16': return out.i16(v as number);
    case 'uint32': return out.u32(v as number);
    case 'int32': return out.i32(v as number);
    case 'float32': return out.f32(v as number);
    case 'float64': return out.f64(v as number);
    case 'uint64': return out.u64(v as bigint);
    case 'int64': return out.i64(v as bigint);
    case 'bool': return out.u8(v ? 1 : 0);
    case 'string': return out.str(v as string);
  }
}

function writeArray(out: Bytes, key: string, a: GgufArray): void {
  const t: GgufScalarType = a.itemType;
  if (!(t in GGUF_TYPE_ID) || (t as string) === 'array') throw new GgufError(`metadata "${key}": array item type must be a scalar type or string, got ${JSON.stringify(t)}`);
  if (!Array.isArray(a.value)) throw new GgufError(`metadata "${key}": array value must be a JS array`);
  out.u32(GGUF_TYPE_ID[t]);
  out.u64(BigInt(a.value.length));
  for (const x of a.value as unknown[]) checkScalar(key, t, x);
  for (const x of a.value as unknown[]) writeScalar(out, t, x);
}

function writeValue(out: Bytes, key: string, v: GgufValue): void {
  if (!(v.type in GGUF_TYPE_ID)) throw new GgufError(`metadata "${key}": unknown value type ${JSON.stringify(v.type)}`);
  out.u32(GGUF_TYPE_ID[v.type]);
  if (v.type === 'array') writeArray(out, key, v);
  else {
    checkScalar(key, v.type, v.value);
    writeScalar(out, v.type, v.value);
  }
}

/** Validates a tensor input and returns its ggml dims (innermost first), element count and byte size. */
function tensorLayout(t: GgufTensorInput, file: string): { dims: number[]; numel: number; bytes: number } {
  const where = `${file}: tensor "${t.name}"`;
  const nameBytes = Buffer.byteLength(t.name, 'utf8');
  if (nameBytes === 0 || nameBytes >= GGML_MAX_NAME) throw new GgufError(`${where}: name must be 1..${GGML_MAX_NAME - 1} bytes (ggml's limit), found ${nameBytes}`);
  const type = GGML_TYPES[t.type];
  if (!type) throw new GgufError(`${where}: unknown ggml type ${JSON.stringify(t.type)}`);
  if (t.shape.length < 1 || t.shape.length > GGML_MAX_DIMS) throw new GgufError(`${where}: shape ${shapeStr(t.shape)} must have 1..${GGML_MAX_DIMS} dimensions`);
  let numel = 1;
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new GgufError(`${where}: shape ${shapeStr(t.shape)} must be non-negative integers`);
    numel *= d;
  }
  const dims = [...t.shape].reverse();
  if (dims[0] % type.block !== 0) throw new GgufError(`${where}: ${t.type} needs the last dimension to be a multiple of ${type.block}, shape is ${shapeStr(t.shape)}`);
  return { dims, numel, bytes: ggmlBytes(t.type, numel) };
}

const CHUNK = 1 << 20; // elements converted per step (a multiple of 32 and of every block size)

/** Writes one tensor's data, converted to its ggml type. */
function writeTensorData(out: AtomicFile, t: GgufTensorInput, numel: number, bytes: number, file: string): void {
  const where = `${file}: tensor "${t.name}"`;
  const data = typeof t.data === 'function' ? t.data() : t.data;
  if (data instanceof Float32Array) {
    if (data.length !== numel) throw new GgufError(`${where}: shape ${shapeStr(t.shape)} needs ${numel} elements, data has ${data.length}`);
    if (t.type === 'F32') return out.write(bytesOf(data));
    if (t.type !== 'F16' && t.type !== 'BF16' && t.type !== 'Q8_0') {
      throw new GgufError(`${where}: cannot convert Float32Array to ${t.type} (supported: F32, F16, BF16, Q8_0); pass raw bytes instead`);
    }
    for (let i = 0; i < numel; i += CHUNK) {
      const src = data.subarray(i, Math.min(numel, i + CHUNK));
      if (t.type === 'F16') out.write(bytesOf(f32ToF16Array(src)));
      else if (t.type === 'BF16') out.write(bytesOf(f32ToBf16Array(src)));
      else out.write(quantizeQ8_0(src));
    }
    return;
  }
  if (data instanceof Uint16Array && (t.type === 'F16' || t.type === 'BF16')) {
    if (data.length !== numel) throw new GgufError(`${where}: shape ${shapeStr(t.shape)} needs ${numel} elements, data has ${data.length}`);
    return out.write(bytesOf(data));
  }
  if (data instanceof Int32Array && t.type === 'I32') {
    if (data.length !== numel) throw new GgufError(`${where}: shape ${shapeStr(t.shape)} needs ${numel} elements, data has ${data.length}`);
    return out.write(bytesOf(data));
  }
  if (data instanceof Uint8Array) {
    if (data.length !== bytes) throw new GgufError(`${where}: ${t.type} ${shapeStr(t.shape)} is ${bytes} bytes, raw data has ${data.length}`);
    return out.write(data);
  }
  throw new GgufError(`${where}: data for ${t.type} must be a Float32Array or raw bytes (Uint8Array)${t.type === 'F16' || t.type === 'BF16' ? ' or Uint16Array bits' : ''}`);
}

/**
 * Writes a GGUF v3 file atomically: metadata in the order given, then tensor infos and data in the
 * order given, each tensor aligned (and the file padded) to the alignment. Returns the file size.
 */
export function writeGguf(
  path: string, metadata: GgufMetadataInput, tensors: readonly GgufTensorInput[], options: GgufWriteOptions = {},
): number {
  const entries: [string, GgufValue][] = [];
  const seenKeys = new Set<string>();
  for (const [k, v] of metadata instanceof Map ? metadata.entries() : Object.entries(metadata)) {
    if (k === '') throw new GgufError(`${path}: metadata keys must not be empty`);
    if (seenKeys.has(k)) throw new GgufError(`${path}: metadata key "${k}" appears twice`);
    seenKeys.add(k);
    entries.push([k, toGgufValue(k, v)]);
  }
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignEntry = entries.find(([k]) => k === 'general.alignment');
  if (alignEntry) {
    const v = alignEntry[1];
    if (v.type !== 'uint32') throw new GgufError(`${path}: general.alignment must be uint32, got ${v.type}`);
    alignment = v.value;
    if (options.alignment !== undefined && options.alignment !== alignment) {
      throw new GgufError(`${path}: options.alignment ${options.alignment} disagrees with general.alignment ${alignment}`);
    }
  } else if (options.alignment !== undefined && options.alignment !== GGUF_DEFAULT_ALIGNMENT) {
    alignment = options.alignment;
    entries.push(['general.alignment', { type: 'uint32', value: alignment }]);
  }
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new GgufError(`${path}: alignment must be a power of two, got ${alignment}`);
  }

  const h = new Bytes();
  h.u32(GGUF_MAGIC);
  h.u32(GGUF_VERSION);
  h.u64(BigInt(tensors.length));
  h.u64(BigInt(entries.length));
  for (const [k, v] of entries) {
    h.str(k);
    writeValue(h, k, v);
  }
  const names = new Set<string>();
  const layouts = tensors.map((t) => {
    if (names.has(t.name)) throw new GgufError(`${path}: tensor name "${t.name}" appears twice`);
    names.add(t.name);
    return tensorLayout(t, path);
  });
  let offset = 0;
  for (let i = 0; i < tensors.length; i++) {
    const { dims, bytes } = layouts[i];
    h.str(tensors[i].name);
    h.u32(dims.length);
    for (const d of dims) h.u64(BigInt(d));
    h.u32(GGML_TYPES[tensors[i].type].id);
    h.u64(BigInt(offset));
    offset += alignUp(bytes, alignment);
  }
  const header = h.done();
  const padded = tensors.length > 0 ? alignUp(header.length, alignment) : header.length;

  return withAtomicFile(path, (out) => {
    out.write(header);
    out.write(new Uint8Array(padded - header.length));
    tensors.forEach((t, i) => {
      const { numel, bytes } = layouts[i];
      const start = out.position;
      writeTensorData(out, t, numel, bytes, path);
      const written = out.position - start;
      if (written !== bytes) throw new GgufError(`${path}: tensor "${t.name}": wrote ${written} bytes, expected ${bytes}`);
      out.write(new Uint8Array(alignUp(bytes, alignment) - bytes));
    });
    return out.position;
  });
}
