// Loading stored tensors as float32: F16/BF16/F8/F64 converted exactly (F64 rounded), and FP8
// weights with a `<name>_scale_inv` companion dequantised by 128×128 blocks, the companion
// consumed. Integer and bool tensors pass through raw.

import { bf16ToF32Array, e4m3ToF32Array, e5m2ToF32Array, f16ToF32Array } from './dtypes.js';
import { IoError } from './errors.js';
import { dequantFp8Blocks, SCALE_INV_SUFFIX } from './fp8.js';
import { DTYPE_BYTES, FLOAT_DTYPES, type TensorData, type TensorInfo, type TensorRecord } from './record.js';
import { openCheckpoint } from './sharded.js';
import type { TensorSource } from './source.js';

/** Converts raw data of a floating dtype to a Float32Array (returns `data` itself if already F32). */
export function toFloat32(rec: TensorRecord): Float32Array {
  const d: TensorData = rec.data;
  switch (rec.dtype) {
    case 'F32': return d as Float32Array;
    case 'F16': return f16ToF32Array(d as Uint16Array);
    case 'BF16': return bf16ToF32Array(d as Uint16Array);
    case 'F8_E4M3': return e4m3ToF32Array(d as Uint8Array);
    case 'F8_E5M2': return e5m2ToF32Array(d as Uint8Array);
    case 'F64': return Float32Array.from(d as Float64Array);
    default: throw new IoError(`tensor "${rec.name}": dtype ${rec.dtype} is not a floating type; cannot convert to float32`);
  }
}

/** True if `name` is an FP8 weight in `src` that has a block-scale companion. */
function hasScale(src: TensorSource, name: string): boolean {
  const d = src.info(name).dtype;
  return (d === 'F8_E4M3' || d === 'F8_E5M2') && src.has(name + SCALE_INV_SUFFIX);
}

/** Reads one floating tensor as float32, dequantising FP8 block scales if a companion exists. */
export function readFloat32(src: TensorSource, name: string): Float32Array {
  const rec = src.read(name);
  if (!hasScale(src, name)) return toFloat32(rec);
  const scale = src.read(name + SCALE_INV_SUFFIX);
  if (!FLOAT_DTYPES.has(scale.dtype)) throw new IoError(`${src.path}: scale tensor "${scale.name}" has dtype ${scale.dtype}, expected a float`);
  const w = rec.dtype === 'F8_E4M3' ? (rec.data as Uint8Array) : null;
  if (!w) throw new IoError(`${src.path}: "${name}" is ${rec.dtype}; block scales are supported for F8_E4M3 weights`);
  return dequantFp8Blocks(w, rec.shape, toFloat32(scale), scale.shape, `${src.path}: "${name}"`);
}

/** Names whose data `loadAsFloat32` returns: all keys except consumed `_scale_inv` companions. */
export function loadedNames(src: TensorSource): string[] {
  const consumed = new Set<string>();
  for (const k of src.keys()) if (hasScale(src, k)) consumed.add(k + SCALE_INV_SUFFIX);
  return src.keys().filter((k) => !consumed.has(k));
}

/** Infos of the tensors as `loadAsFloat32` returns them (floats reported as F32, scales consumed). */
export function loadedTensorInfos(src: TensorSource): TensorInfo[] {
  return loadedNames(src).map((k) => {
    const i = src.info(k);
    return FLOAT_DTYPES.has(i.dtype) ? { ...i, dtype: 'F32', byteLength: (i.byteLength / DTYPE_BYTES[i.dtype]) * 4 } : i;
  });
}

/**
 * Loads tensors (all, or `names`) from a source or a path (a .safetensors file, or a directory with
 * model.safetensors.index.json or model.safetensors). Floating tensors come back as F32 records
 * with Float32Array data; FP8 weights are dequantised and their `_scale_inv` tensors omitted;
 * integer/bool tensors are returned raw.
 */
export function loadAsFloat32(src: TensorSource | string, names?: readonly string[]): TensorRecord[] {
  const source = typeof src === 'string' ? openCheckpoint(src) : src;
  try {
    return (names ?? loadedNames(source)).map((name) => {
      const info = source.info(name);
      if (!FLOAT_DTYPES.has(info.dtype)) return source.read(name);
      return { name, dtype: 'F32', shape: info.shape, data: readFloat32(source, name) };
    });
  } finally {
    if (typeof src === 'string') source.close();
  }
}
