// The plain tensor record the io layer reads and writes: a name, a safetensors dtype, a
// row-major shape and a typed array holding the raw elements. No dependency on src/tensor.

import { IoError } from './errors.js';

/** Element types of the safetensors format that tinyseek reads (names exactly as in the header). */
export type DType =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'F8_E4M3' | 'F8_E5M2'
  | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** Every typed array a record may carry. */
export type TensorData =
  | Float64Array | Float32Array | Int32Array | Int16Array | Int8Array
  | Uint32Array | Uint16Array | Uint8Array | BigInt64Array | BigUint64Array;

/**
 * One tensor: `data` holds numel(shape) elements in row-major order, in the raw array type of
 * `dtype` (see `rawArrayKind`): F16/BF16 as Uint16Array bit patterns, F8_* and BOOL as Uint8Array.
 */
export interface TensorRecord {
  name: string;
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** Name, dtype and shape of a stored tensor plus its size in bytes (what a header says). */
export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  byteLength: number;
}

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** Floating dtypes that `loadAsFloat32` converts to Float32Array. */
export const FLOAT_DTYPES: ReadonlySet<DType> = new Set<DType>(['F64', 'F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2']);

/** True if `s` is one of the dtype names above. */
export function isDType(s: unknown): s is DType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** Name of the typed-array class that holds a dtype's raw elements. */
export type RawArrayKind =
  | 'Float64Array' | 'Float32Array' | 'Int32Array' | 'Int16Array' | 'Int8Array'
  | 'Uint32Array' | 'Uint16Array' | 'Uint8Array' | 'BigInt64Array' | 'BigUint64Array';

const RAW_KIND: Readonly<Record<DType, RawArrayKind>> = {
  F64: 'Float64Array', F32: 'Float32Array', F16: 'Uint16Array', BF16: 'Uint16Array',
  F8_E4M3: 'Uint8Array', F8_E5M2: 'Uint8Array', I64: 'BigInt64Array', I32: 'Int32Array',
  I16: 'Int16Array', I8: 'Int8Array', U64: 'BigUint64Array', U32: 'Uint32Array',
  U16: 'Uint16Array', U8: 'Uint8Array', BOOL: 'Uint8Array',
};

/** The typed-array class name that holds `dtype`'s raw elements (F16/BF16 → Uint16Array, …). */
export function rawArrayKind(dtype: DType): RawArrayKind {
  return RAW_KIND[dtype];
}

/** The typed-array class of `data` (e.g. 'Float32Array'; a Node Buffer counts as 'Uint8Array'). */
export function arrayKind(data: TensorData): RawArrayKind {
  // instanceof, not constructor.name: a Node Buffer is a Uint8Array whose constructor is Buffer.
  if (data instanceof Float32Array) return 'Float32Array';
  if (data instanceof Uint16Array) return 'Uint16Array';
  if (data instanceof Uint8Array) return 'Uint8Array';
  if (data instanceof Int32Array) return 'Int32Array';
  if (data instanceof Float64Array) return 'Float64Array';
  if (data instanceof Int16Array) return 'Int16Array';
  if (data instanceof Int8Array) return 'Int8Array';
  if (data instanceof Uint32Array) return 'Uint32Array';
  if (data instanceof BigInt64Array) return 'BigInt64Array';
  if (data instanceof BigUint64Array) return 'BigUint64Array';
  throw new IoError(`expected a typed array, found ${Object.prototype.toString.call(data)}`);
}

/**
 * A typed array of `dtype`'s raw kind viewing `bytes` (which must be aligned to the element size;
 * freshly allocated buffers are). Little-endian, as safetensors and GGUF store data.
 */
export function rawView(dtype: DType, bytes: Uint8Array): TensorData {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  const b = bytes.buffer, o = bytes.byteOffset;
  switch (RAW_KIND[dtype]) {
    case 'Float64Array': return new Float64Array(b, o, n);
    case 'Float32Array': return new Float32Array(b, o, n);
    case 'Int32Array': return new Int32Array(b, o, n);
    case 'Int16Array': return new Int16Array(b, o, n);
    case 'Int8Array': return new Int8Array(b, o, n);
    case 'Uint32Array': return new Uint32Array(b, o, n);
    case 'Uint16Array': return new Uint16Array(b, o, n);
    case 'Uint8Array': return new Uint8Array(b, o, n);
    case 'BigInt64Array': return new BigInt64Array(b, o, n);
    case 'BigUint64Array': return new BigUint64Array(b, o, n);
  }
}

/** The bytes of a typed array (a view, no copy). */
export function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Number of elements of `shape`; returns -1 if a dimension is not a non-negative safe integer or
 * the product exceeds Number.MAX_SAFE_INTEGER (callers turn that into their own error).
 */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return -1;
    n *= d;
    if (!Number.isSafeInteger(n)) return -1;
  }
  return n;
}

/** `[a, b, c]` as text, for error messages. */
export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('tinyseek io requires a little-endian host (safetensors and GGUF are little-endian)');
}
