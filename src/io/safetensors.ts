// safetensors files: a lazy reader that reads the header once and each tensor by offset on
// demand (a 600 GB checkpoint is never loaded whole), and an atomic streaming writer.
// Format: https://github.com/huggingface/safetensors (8-byte LE header length, JSON header, data).

import fs from 'node:fs';
import { withAtomicFile, type AtomicFile } from './atomic.js';
import { f32ToBf16Array, f32ToF16Array } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import {
  arrayKind, bytesOf, DTYPE_BYTES, numelOf, rawArrayKind, rawView, shapeStr,
  type DType, type TensorData, type TensorInfo, type TensorRecord,
} from './record.js';
import {
  buildSafetensorsHeader, MAX_HEADER_BYTES, parseSafetensorsHeader, type StoredTensor,
} from './safetensors-header.js';
import type { OpenOptions, TensorSource } from './source.js';
import { mapFile } from '../backend/mmap.js';

/** Reads `length` bytes at `position` into a new buffer; throws if the file ends first. */
export function readExact(fd: number, position: number, length: number, file: string, what: string): Uint8Array {
  const out = new Uint8Array(length);
  let off = 0;
  while (off < length) {
    const n = fs.readSync(fd, out, off, Math.min(length - off, 1 << 30), position + off);
    if (n === 0) {
      throw new SafetensorsError(`${file}: file ends while reading ${what} (wanted ${length} bytes at offset ${position}, got ${off})`);
    }
    off += n;
  }
  return out;
}

/** An open safetensors file: header parsed and validated, tensors read by offset on demand. */
export class SafetensorsFile implements TensorSource {
  /** The `__metadata__` string map (empty if absent). */
  readonly metadata: Record<string, string>;
  /** File offset where the data section starts (8 + header length). */
  readonly dataStart: number;
  private readonly byName: Map<string, StoredTensor>;
  private readonly order: StoredTensor[];
  private fd: number | null;
  /** The whole file, memory-mapped (OpenOptions.mmap), or null: tensors are then read with pread. */
  private map: Uint8Array | null = null;

  private constructor(readonly path: string, fd: number, dataStart: number, header: ReturnType<typeof parseSafetensorsHeader>) {
    this.fd = fd;
    this.dataStart = dataStart;
    this.metadata = header.metadata;
    this.order = header.tensors;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /**
   * Opens and validates `path` (reads only the header). Throws SafetensorsError if malformed. With
   * `mmap` the file is memory-mapped and every read is a view into the mapping (no copy; pages load
   * from disk when first touched); see OpenOptions.
   */
  static open(path: string, opts: OpenOptions = {}): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      throw new SafetensorsError(`${path}: cannot open (${(e as Error).message})`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 8) throw new SafetensorsError(`${path}: file is ${size} bytes, too short for the 8-byte header length`);
      const lenBytes = readExact(fd, 0, 8, path, 'the header length');
      const n = Buffer.from(lenBytes.buffer).readBigUInt64LE(0);
      if (n > BigInt(MAX_HEADER_BYTES)) {
        throw new SafetensorsError(`${path}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (file is ${size} bytes)`);
      }
      const headerLen = Number(n);
      if (8 + headerLen > size) {
        throw new SafetensorsError(`${path}: header length ${headerLen} runs past the end of the file (${size} bytes; at most ${size - 8} available)`);
      }
      const json = readExact(fd, 8, headerLen, path, 'the header');
      const header = parseSafetensorsHeader(json, size - 8 - headerLen, path);
      const f = new SafetensorsFile(path, fd, 8 + headerLen, header);
      if (opts.mmap) {
        try {
          f.map = mapFile(path);
        } catch (e) {
          throw new SafetensorsError(`${path}: ${(e as Error).message}`);
        }
        if (f.map.byteLength !== size) throw new SafetensorsError(`${path}: the file changed while it was opened (${size} bytes, then ${f.map.byteLength})`);
      }
      return f;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Tensor names in file (offset) order. */
  keys(): string[] {
    return this.order.map((t) => t.name);
  }

  /** True if the file stores a tensor of that name. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Dtype, shape, byte size and data-section offsets of one tensor. */
  info(name: string): StoredTensor {
    const t = this.byName.get(name);
    if (!t) throw new SafetensorsError(`${this.path}: no tensor named "${name}" (the file has ${this.order.length} tensors)`);
    return { ...t, shape: [...t.shape] };
  }

  /** Infos of all tensors in file order. */
  infos(): TensorInfo[] {
    return this.order.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape], byteLength: t.byteLength }));
  }

  /** Whether reads are views into a memory mapping of the file. */
  get mapped(): boolean {
    return this.map !== null;
  }

  /** Reads one tensor's raw bytes (memory-mapped: a view into the mapping, which stays valid after close()). */
  readBytes(name: string): Uint8Array {
    const t = this.info(name);
    if (this.fd === null) throw new SafetensorsError(`${this.path}: read of "${name}" after close()`);
    if (this.map) return this.map.subarray(this.dataStart + t.begin, this.dataStart + t.begin + t.byteLength);
    return readExact(this.fd, this.dataStart + t.begin, t.byteLength, this.path, `tensor "${name}"`);
  }

  /**
   * Reads one tensor as a record with its raw typed array (F16/BF16 → Uint16Array bits, F8 →
   * Uint8Array). Memory-mapped, the array views the mapping unless the tensor's offset is not a
   * multiple of its element size (typed arrays need alignment): then it is a copy.
   */
  read(name: string): TensorRecord {
    const t = this.info(name);
    let bytes = this.readBytes(name);
    if (bytes.byteOffset % DTYPE_BYTES[t.dtype] !== 0) bytes = bytes.slice();
    return { name, dtype: t.dtype, shape: t.shape, data: rawView(t.dtype, bytes) };
  }

  /** Closes the file handle (a mapping stays alive while views into it are referenced). */
  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    this.map = null;
  }
}

/** Reads every tensor of a safetensors file (raw dtypes), in file order. */
export function loadSafetensors(path: string): TensorRecord[] {
  const f = SafetensorsFile.open(path);
  try {
    return f.keys().map((k) => f.read(k));
  } finally {
    f.close();
  }
}

/** Float dtypes the writer can convert Float32Array data to. */
export type StoreDtype = 'F32' | 'F16' | 'BF16';

/** Options of `saveSafetensors`. */
export interface SaveOptions {
  /** Storage dtype for records declared 'F32' (all of them, or chosen per tensor name). Default: F32. */
  dtype?: StoreDtype | ((name: string) => StoreDtype);
}

/** The dtype a record is stored as: its own, or `options.dtype` for an F32 record. */
export function storedDtype(r: Pick<TensorRecord, 'name' | 'dtype'>, options: SaveOptions = {}): DType {
  if (r.dtype !== 'F32' || options.dtype === undefined) return r.dtype;
  return typeof options.dtype === 'function' ? options.dtype(r.name) : options.dtype;
}

/** Stored size in bytes of a record under `options`. */
export function storedBytes(r: Pick<TensorRecord, 'name' | 'dtype' | 'shape'>, options: SaveOptions = {}): number {
  return Math.max(0, numelOf(r.shape)) * DTYPE_BYTES[storedDtype(r, options)];
}

const CHUNK = 1 << 20;

/** Streams one record's data as `dtype` into `out`, converting Float32Array → F16/BF16 in chunks. */
function writeData(out: AtomicFile, r: TensorRecord, dtype: DType, file: string): void {
  const numel = numelOf(r.shape);
  const where = `${file}: tensor "${r.name}"`;
  if (!r.data || typeof r.data !== 'object' || !ArrayBuffer.isView(r.data)) {
    throw new SafetensorsError(`${where}: data must be a typed array`);
  }
  const data: TensorData = r.data;
  if (data.length !== numel) {
    throw new SafetensorsError(`${where}: shape ${shapeStr(r.shape)} needs ${numel} elements but data has ${data.length}`);
  }
  const kind = arrayKind(data);
  if (kind === rawArrayKind(dtype)) {
    out.write(bytesOf(data));
    return;
  }
  if ((dtype === 'F16' || dtype === 'BF16') && data instanceof Float32Array) {
    const buf = new Uint16Array(Math.min(CHUNK, numel));
    for (let i = 0; i < numel; i += CHUNK) {
      const src = data.subarray(i, Math.min(numel, i + CHUNK));
      const dst = buf.subarray(0, src.length);
      if (dtype === 'F16') f32ToF16Array(src, dst);
      else f32ToBf16Array(src, dst);
      out.write(bytesOf(dst));
    }
    return;
  }
  const allowed = dtype === 'F16' || dtype === 'BF16' ? `${rawArrayKind(dtype)} (raw bits) or Float32Array` : rawArrayKind(dtype);
  throw new SafetensorsError(`${where}: dtype ${dtype} needs data as ${allowed}, found ${kind}`);
}

/**
 * Writes `records` to `path` atomically (temp file + rename), tensors in the order given, header
 * padded to 8 bytes. Records are stored in their own dtype from their raw typed array, except that
 * Float32Array data is converted for F16/BF16 (declared on the record or chosen by `options.dtype`).
 * Each record's data is checked as it is written; on any error nothing is left at `path`.
 */
export function saveSafetensors(
  path: string,
  records: readonly TensorRecord[],
  metadata?: Record<string, string>,
  options: SaveOptions = {},
): void {
  const dtypes = records.map((r) => {
    const d = storedDtype(r, options);
    if (!DTYPE_BYTES[d]) throw new SafetensorsError(`${path}: tensor "${r.name}": unknown dtype ${JSON.stringify(d)}`);
    return d;
  });
  const header = buildSafetensorsHeader(
    records.map((r, i) => ({ name: r.name, dtype: dtypes[i], shape: r.shape })),
    metadata,
    path,
  );
  withAtomicFile(path, (out) => {
    out.write(header.bytes);
    records.forEach((r, i) => writeData(out, r, dtypes[i], path));
  });
}
