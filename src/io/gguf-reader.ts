// GGUF reader: parses the header of a GGUF v2/v3 file with bounds checks on every count and
// length (nothing is allocated beyond what the file can hold), validates tensor layout as ggml
// does, and reads tensor data lazily by offset.

import fs from 'node:fs';
import { bf16ToF32Array, f16ToF32Array } from './dtypes.js';
import { GgufError } from './errors.js';
import {
  alignUp, dequantizeQ8_0, GGML_MAX_DIMS, GGML_MAX_NAME, GGML_TYPES, ggmlBytes, ggmlTypeName, GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC, GGUF_TYPE_BYTES, GGUF_TYPE_NAME, GGUF_VERSION,
  type GgmlTypeName, type GgufScalarType, type GgufValue,
} from './gguf-format.js';

/** A tensor described in a GGUF header. */
export interface GgufTensorInfo {
  name: string;
  type: GgmlTypeName;
  /** ggml dims, innermost first (ne[0] = row length). */
  dims: number[];
  /** Row-major shape (dims reversed), as PyTorch would write it. */
  shape: number[];
  numel: number;
  /** Offset within the data section. */
  offset: number;
  byteLength: number;
}

const READ_CHUNK = 1 << 20;

/** Bounded sequential reader over a file descriptor. */
class Cursor {
  pos = 0;
  private buf = Buffer.alloc(0);
  private bufStart = 0;

  constructor(private readonly fd: number, readonly size: number, private readonly file: string) {}

  remaining(): number {
    return this.size - this.pos;
  }

  /** Makes `n` bytes at `pos` available and returns their offset in `buf`; throws if the file ends first. */
  private take(n: number, what: string): number {
    if (n > this.size - this.pos) {
      throw new GgufError(`${this.file}: file ends at byte ${this.size} while reading ${what} (needs ${n} bytes at offset ${this.pos})`);
    }
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.length) {
      const len = Math.min(Math.max(n, READ_CHUNK), this.size - this.pos);
      const buf = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const r = fs.readSync(this.fd, buf, got, len - got, this.pos + got);
        if (r === 0) throw new GgufError(`${this.file}: file shrank while reading ${what}`);
        got += r;
      }
      this.buf = buf;
      this.bufStart = this.pos;
    }
    const at = this.pos - this.bufStart;
    this.pos += n;
    return at;
  }

  u8(what: string): number { const at = this.take(1, what); return this.buf.readUInt8(at); }
  i8(what: string): number { const at = this.take(1, what); return this.buf.readInt8(at); }
  u16(what: string): number { const at = this.take(2, what); return this.buf.readUInt16LE(at); }
  i16(what: string): number { const at = this.take(2, what); return this.buf.readInt16LE(at); }
  u32(what: string): number { const at = this.take(4, what); return this.buf.readUInt32LE(at); }
  i32(what: string): number { const at = this.take(4, what); return this.buf.readInt32LE(at); }
  f32(what: string): number { const at = this.take(4, what); return this.buf.readFloatLE(at); }
  f64(what: string): number { const at = this.take(8, what); return this.buf.readDoubleLE(at); }
  u64(what: string): bigint { const at = this.take(8, what); return this.buf.readBigUInt64LE(at); }
  i64(what: string): bigint { const at = this.take(8, what); return this.buf.readBigInt64LE(at); }

  /** A u64 count/length that must fit in the rest of the file at `minBytes` per item. */
  count(what: string, minBytes: number): number {
    const at = this.pos;
    const n = this.u64(what);
    if (n * BigInt(minBytes) > BigInt(this.size - this.pos)) {
      throw new GgufError(`${this.file}: ${what} is ${n} at offset ${at}, but only ${this.size - this.pos} bytes remain in the file`);
    }
    return Number(n);
  }

  str(what: string): string {
    const n = this.count(`length of ${what}`, 1);
    const at = this.take(n, what); // take() may replace this.buf, so read it only afterwards
    return this.buf.toString('utf8', at, at + n);
  }
}

function readScalar(c: Cursor, type: GgufScalarType, what: string, file: string): GgufValue['value'] {
  switch (type) {
    case 'uint8': return c.u8(what);
    case 'int8': return c.i8(what);
    case 'uint16': return c.u16(what);
    case 'int16': return c.i16(what);
    case 'uint32': return c.u32(what);
    case 'int32': return c.i32(what);
    case 'float32': return c.f32(what);
    case 'float64': return c.f64(what);
    case 'uint64': return c.u64(what);
    case 'int64': return c.i64(what);
    case 'string': return c.str(what);
    case 'bool': {
      const at = c.pos;
      const b = c.u8(what);
      if (b > 1) throw new GgufError(`${file}: ${what}: bool byte at offset ${at} is ${b}, expected 0 or 1`);
      return b === 1;
    }
  }
}

function readType(c: Cursor, what: string, file: string): GgufScalarType | 'array' {
  const at = c.pos;
  const id = c.u32(what);
  const name = GGUF_TYPE_NAME[id];
  if (name === undefined) throw new GgufError(`${file}: ${what} at offset ${at} is ${id}, expected a GGUF value type 0..${GGUF_TYPE_NAME.length - 1}`);
  return name;
}

function readValue(c: Cursor, key: string, file: string): GgufValue {
  const what = `value of "${key}"`;
  const type = readType(c, `type of "${key}"`, file);
  if (type !== 'array') return { type, value: readScalar(c, type, what, file) } as GgufValue;
  const itemType = readType(c, `array item type of "${key}"`, file);
  if (itemType === 'array') throw new GgufError(`${file}: "${key}" is an array of arrays, which GGUF readers (ggml) do not accept`);
  const n = c.count(`array length of "${key}"`, itemType === 'string' ? 8 : GGUF_TYPE_BYTES[itemType]);
  const value: GgufValue['value'][] = new Array(n);
  for (let i = 0; i < n; i++) value[i] = readScalar(c, itemType, `${what}[${i}]`, file);
  return { type: 'array', itemType, value } as GgufValue;
}

/** An open GGUF file: version, metadata, tensor infos; tensor data read on demand. */
export class GgufFile {
  /** Metadata in file order. */
  readonly metadata = new Map<string, GgufValue>();
  /** Tensor infos in file order. */
  readonly tensors: GgufTensorInfo[] = [];
  /** File offset of the data section. */
  readonly dataOffset: number;
  /** GGUF version (2 or 3). */
  readonly version: number;
  /** Data alignment in bytes (`general.alignment`, default 32). */
  readonly alignment: number;
  /** Size of the file in bytes. */
  readonly fileSize: number;
  private fd: number | null;
  private readonly byName = new Map<string, GgufTensorInfo>();

  private constructor(readonly path: string, fd: number) {
    this.fd = fd;
    const file = path;
    const size = fs.fstatSync(fd).size;
    this.fileSize = size;
    const c = new Cursor(fd, size, file);
    const magic = c.u32('the magic "GGUF"');
    if (magic !== GGUF_MAGIC) {
      const got = Buffer.alloc(4);
      got.writeUInt32LE(magic);
      throw new GgufError(`${file}: not a GGUF file (magic is ${JSON.stringify(got.toString('latin1'))}, expected "GGUF")`);
    }
    const version = c.u32('the version');
    if (version === 0 || (version & 0xffff) === 0) throw new GgufError(`${file}: GGUF version ${version} is invalid (a big-endian file?)`);
    if (version === 1) throw new GgufError(`${file}: GGUF version 1 is not supported (expected 2 or 3)`);
    if (version > GGUF_VERSION) throw new GgufError(`${file}: GGUF version ${version} is newer than supported (${GGUF_VERSION})`);
    this.version = version;
    const nTensors = c.count('the tensor count', 25);
    const nKv = c.count('the metadata count', 14);
    for (let i = 0; i < nKv; i++) {
      const key = c.str(`metadata key ${i}`);
      if (key === '') throw new GgufError(`${file}: metadata key ${i} is empty`);
      if (this.metadata.has(key)) throw new GgufError(`${file}: metadata key "${key}" appears twice`);
      this.metadata.set(key, readValue(c, key, file));
    }
    const al = this.metadata.get('general.alignment');
    if (al && al.type !== 'uint32') throw new GgufError(`${file}: general.alignment must be uint32, found ${al.type}`);
    const alignment = al ? (al.value as number) : GGUF_DEFAULT_ALIGNMENT;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) throw new GgufError(`${file}: general.alignment ${alignment} is not a power of two`);
    this.alignment = alignment;

    let expected = 0;
    const infos: GgufTensorInfo[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = c.str(`tensor name ${i}`);
      const where = `tensor "${name}"`;
      if (Buffer.byteLength(name) >= GGML_MAX_NAME) throw new GgufError(`${file}: ${where}: name is ${Buffer.byteLength(name)} bytes, ggml allows at most ${GGML_MAX_NAME - 1}`);
      if (this.byName.has(name)) throw new GgufError(`${file}: tensor name "${name}" appears twice`);
      const nDims = c.u32(`${where} n_dims`);
      if (nDims > GGML_MAX_DIMS) throw new GgufError(`${file}: ${where} has ${nDims} dims, at most ${GGML_MAX_DIMS} allowed`);
      const dims: number[] = [];
      let numel = 1;
      for (let d = 0; d < nDims; d++) {
        const ne = c.u64(`${where} dim ${d}`);
        if (ne > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`${file}: ${where} dim ${d} is ${ne}, too large`);
        dims.push(Number(ne));
        numel *= Number(ne);
        if (!Number.isSafeInteger(numel)) throw new GgufError(`${file}: ${where} dims [${dims.join(', ')}…] have too many elements`);
      }
      const typeAt = c.pos;
      const typeId = c.u32(`${where} type`);
      const type = ggmlTypeName(typeId);
      if (!type) throw new GgufError(`${file}: ${where} has ggml type ${typeId} at offset ${typeAt}, which this reader does not know (known: ${Object.keys(GGML_TYPES).join(', ')})`);
      const block = GGML_TYPES[type].block;
      if ((dims[0] ?? 1) % block !== 0) throw new GgufError(`${file}: ${where}: ${type} needs ne[0] to be a multiple of ${block}, found ${dims[0]}`);
      const offset = c.u64(`${where} offset`);
      if (offset !== BigInt(expected)) {
        throw new GgufError(`${file}: ${where} has data offset ${offset}, expected ${expected} (tensors must follow each other in order, each padded to ${alignment} bytes)`);
      }
      const byteLength = ggmlBytes(type, numel);
      const info: GgufTensorInfo = { name, type, dims, shape: [...dims].reverse(), numel, offset: expected, byteLength };
      infos.push(info);
      this.byName.set(name, info);
      expected += alignUp(byteLength, alignment);
    }
    this.dataOffset = nTensors > 0 ? alignUp(c.pos, alignment) : c.pos;
    for (const t of infos) {
      const end = this.dataOffset + t.offset + t.byteLength;
      if (end > size) {
        throw new GgufError(`${file}: tensor "${t.name}" data [${this.dataOffset + t.offset}, ${end}) runs past the end of the file (${size} bytes)`);
      }
    }
    this.tensors = infos;
  }

  /** Opens and validates a GGUF file (reads the header only). Throws GgufError if malformed. */
  static open(path: string): GgufFile {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      throw new GgufError(`${path}: cannot open (${(e as Error).message})`);
    }
    try {
      return new GgufFile(path, fd);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** A metadata value, or undefined. */
  get(key: string): GgufValue | undefined {
    return this.metadata.get(key);
  }

  /** Info of a tensor (throws if absent). */
  tensor(name: string): GgufTensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new GgufError(`${this.path}: no tensor named "${name}" (the file has ${this.tensors.length})`);
    return t;
  }

  /** Reads a tensor's raw bytes. */
  readTensorBytes(name: string): Uint8Array {
    const t = this.tensor(name);
    if (this.fd === null) throw new GgufError(`${this.path}: read of "${name}" after close()`);
    const out = new Uint8Array(t.byteLength);
    let got = 0;
    while (got < out.length) {
      const r = fs.readSync(this.fd, out, got, Math.min(out.length - got, 1 << 30), this.dataOffset + t.offset + got);
      if (r === 0) throw new GgufError(`${this.path}: file ends while reading tensor "${name}"`);
      got += r;
    }
    return out;
  }

  /** Reads a tensor as float32 (row-major `shape`); supports F32, F16, BF16 and Q8_0. */
  readTensorF32(name: string): Float32Array {
    const t = this.tensor(name);
    const b = this.readTensorBytes(name);
    switch (t.type) {
      case 'F32': return new Float32Array(b.buffer, 0, t.numel);
      case 'F16': return f16ToF32Array(new Uint16Array(b.buffer, 0, t.numel));
      case 'BF16': return bf16ToF32Array(new Uint16Array(b.buffer, 0, t.numel));
      case 'Q8_0': return dequantizeQ8_0(b);
      default: throw new GgufError(`${this.path}: tensor "${name}" has type ${t.type}; float32 conversion supports F32, F16, BF16, Q8_0`);
    }
  }

  /** Closes the file. */
  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }
}
