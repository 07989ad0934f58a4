// The GGUF v3 container (ggml's model file): constants, metadata value types, ggml tensor
// types and their block sizes, and the Q8_0 block codec. Layout:
//   "GGUF" | u32 version=3 | u64 n_tensors | u64 n_kv | n_kv × (string key, u32 type, value)
//   | n_tensors × (string name, u32 n_dims, u64 ne[n_dims] innermost-first, u32 ggml_type, u64 offset)
//   | zero padding to `general.alignment` (default 32) | data: each tensor at its offset, padded.
// Strings are u64 length + UTF-8 bytes; arrays are u32 item type + u64 count + items. All LE.

import { f16BitsToF32, f32ToF16Bits } from './dtypes.js';

/** "GGUF" as the first four bytes. */
export const GGUF_MAGIC = 0x46554747;
/** The version this module writes. */
export const GGUF_VERSION = 3;
/** Alignment used when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's limit on tensor name length (bytes, exclusive): GGML_MAX_NAME. */
export const GGML_MAX_NAME = 64;
/** ggml's limit on tensor rank: GGML_MAX_DIMS. */
export const GGML_MAX_DIMS = 4;

/** Scalar metadata value types. */
export type GgufScalarType =
  | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'bool' | 'string' | 'uint64' | 'int64' | 'float64';
/** Metadata types stored as JS numbers. */
export type GgufNumberType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';
/** Metadata types stored as JS bigints. */
export type GgufBigIntType = 'uint64' | 'int64';

/** Type ids on disk (gguf_type). */
export const GGUF_TYPE_ID: Readonly<Record<GgufScalarType | 'array', number>> = {
  uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9, uint64: 10, int64: 11, float64: 12,
};
/** Type id → name. */
export const GGUF_TYPE_NAME: readonly (GgufScalarType | 'array')[] = [
  'uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64',
];
/** Bytes per element of fixed-size value types. */
export const GGUF_TYPE_BYTES: Readonly<Record<Exclude<GgufScalarType, 'string'>, number>> = {
  uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, bool: 1, uint64: 8, int64: 8, float64: 8,
};

/** An array metadata value (of scalars or strings; ggml rejects arrays of arrays, so do we). */
export type GgufArray =
  | { type: 'array'; itemType: GgufNumberType; value: number[] }
  | { type: 'array'; itemType: GgufBigIntType; value: bigint[] }
  | { type: 'array'; itemType: 'bool'; value: boolean[] }
  | { type: 'array'; itemType: 'string'; value: string[] };

/** A typed metadata value, as stored. */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | GgufArray;

/**
 * What the writer accepts for a metadata value: a typed GgufValue, or a string, boolean, string[]
 * or boolean[] (unambiguous). Numbers must be typed (llama.cpp checks types: u32 vs f32 matters),
 * with the `gguf.*` helpers; typed arrays map to their own type (Float32Array → float32, …).
 */
export type GgufInputValue =
  | GgufValue | string | boolean | string[] | boolean[]
  | Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array
  | BigInt64Array | BigUint64Array;

/** Typed metadata value constructors: `gguf.u32(2)`, `gguf.f32(1e-6)`, `gguf.arr('string', [...])`. */
export const gguf = {
  /** uint8 */ u8: (value: number): GgufValue => ({ type: 'uint8', value }),
  /** int8 */ i8: (value: number): GgufValue => ({ type: 'int8', value }),
  /** uint16 */ u16: (value: number): GgufValue => ({ type: 'uint16', value }),
  /** int16 */ i16: (value: number): GgufValue => ({ type: 'int16', value }),
  /** uint32 */ u32: (value: number): GgufValue => ({ type: 'uint32', value }),
  /** int32 */ i32: (value: number): GgufValue => ({ type: 'int32', value }),
  /** float32 */ f32: (value: number): GgufValue => ({ type: 'float32', value }),
  /** float64 */ f64: (value: number): GgufValue => ({ type: 'float64', value }),
  /** uint64 */ u64: (value: bigint | number): GgufValue => ({ type: 'uint64', value: BigInt(value) }),
  /** int64 */ i64: (value: bigint | number): GgufValue => ({ type: 'int64', value: BigInt(value) }),
  /** bool */ bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  /** string */ str: (value: string): GgufValue => ({ type: 'string', value }),
  /** array of numbers of one type */
  arr: (itemType: GgufNumberType, value: ArrayLike<number>): GgufArray => ({ type: 'array', itemType, value: Array.from(value) }),
  /** array of 64-bit integers */
  arr64: (itemType: GgufBigIntType, value: ArrayLike<bigint | number>): GgufArray =>
    ({ type: 'array', itemType, value: Array.from(value, (v) => BigInt(v)) }),
  /** array of strings */
  strs: (value: readonly string[]): GgufArray => ({ type: 'array', itemType: 'string', value: [...value] }),
  /** array of bools */
  bools: (value: readonly boolean[]): GgufArray => ({ type: 'array', itemType: 'bool', value: [...value] }),
};

/** Names of the ggml tensor types this module knows (sizes for all; conversions for F32/F16/BF16/Q8_0). */
export type GgmlTypeName =
  | 'F32' | 'F16' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q8_0' | 'Q8_1'
  | 'Q2_K' | 'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K' | 'Q8_K' | 'I8' | 'I16' | 'I32' | 'I64' | 'F64' | 'BF16';

/** ggml type id, elements per block and bytes per block. */
export const GGML_TYPES: Readonly<Record<GgmlTypeName, { id: number; block: number; bytes: number }>> = {
  F32: { id: 0, block: 1, bytes: 4 }, F16: { id: 1, block: 1, bytes: 2 },
  Q4_0: { id: 2, block: 32, bytes: 18 }, Q4_1: { id: 3, block: 32, bytes: 20 },
  Q5_0: { id: 6, block: 32, bytes: 22 }, Q5_1: { id: 7, block: 32, bytes: 24 },
  Q8_0: { id: 8, block: 32, bytes: 34 }, Q8_1: { id: 9, block: 32, bytes: 36 },
  Q2_K: { id: 10, block: 256, bytes: 84 }, Q3_K: { id: 11, block: 256, bytes: 110 },
  Q4_K: { id: 12, block: 256, bytes: 144 }, Q5_K: { id: 13, block: 256, bytes: 176 },
  Q6_K: { id: 14, block: 256, bytes: 210 }, Q8_K: { id: 15, block: 256, bytes: 292 },
  I8: { id: 24, block: 1, bytes: 1 }, I16: { id: 25, block: 1, bytes: 2 }, I32: { id: 26, block: 1, bytes: 4 },
  I64: { id: 27, block: 1, bytes: 8 }, F64: { id: 28, block: 1, bytes: 8 }, BF16: { id: 30, block: 1, bytes: 2 },
};

/** ggml type id → name (undefined for types this module does not know). */
export function ggmlTypeName(id: number): GgmlTypeName | undefined {
  for (const [name, t] of Object.entries(GGML_TYPES)) if (t.id === id) return name as GgmlTypeName;
  return undefined;
}

/** Bytes of a tensor of `numel` elements of `type` (numel must be a multiple of the block size). */
export function ggmlBytes(type: GgmlTypeName, numel: number): number {
  const t = GGML_TYPES[type];
  return (numel / t.block) * t.bytes;
}

/** Rounds `n` up to a multiple of `align`. */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/**
 * Quantises float32 values (a multiple of 32) to Q8_0 blocks {f16 d, int8 q[32]} as gguf-py does:
 * d = max|x| / 127, q = round-half-away(x / d), d stored as binary16.
 */
export function quantizeQ8_0(x: Float32Array, out: Uint8Array = new Uint8Array((x.length / 32) * 34)): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
    const d = Math.fround(amax / 127);
    dv.setUint16(b * 34, f32ToF16Bits(d), true);
    for (let j = 0; j < 32; j++) {
      const v = d === 0 ? 0 : Math.fround(x[b * 32 + j] / d);
      const q = Math.sign(v) * Math.round(Math.abs(v));
      dv.setInt8(b * 34 + 2 + j, q);
    }
  }
  return out;
}

/** Dequantises Q8_0 blocks to float32: x = f16(d) × q. */
export function dequantizeQ8_0(bytes: Uint8Array, out: Float32Array = new Float32Array((bytes.length / 34) * 32)): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < bytes.length / 34; b++) {
    const d = f16BitsToF32(dv.getUint16(b * 34, true));
    for (let j = 0; j < 32; j++) out[b * 32 + j] = d * dv.getInt8(b * 34 + 2 + j);
  }
  return out;
}
