// DeepSeek-V3's block-scaled FP8 weights: an F8_E4M3 weight [out, in] with an F32 companion
// `<name>_scale_inv` of shape [ceil(out/128), ceil(in/128)]; dequantisation multiplies every
// 128×128 tile by its scale (`weight_dequant` in DeepSeek-V3 inference/kernel.py).

import { e4m3ToF32Array, f32ToE4m3Array } from './dtypes.js';
import { IoError } from './errors.js';
import { shapeStr } from './record.js';

/** Tile size of DeepSeek's FP8 block quantisation. */
export const FP8_BLOCK = 128;

/** Suffix of the companion scale tensor: `X.weight` → `X.weight_scale_inv`. */
export const SCALE_INV_SUFFIX = '_scale_inv';

/** Shape of the scale tensor for a 2-D weight: [ceil(out/block), ceil(in/block)]. */
export function fp8ScaleShape(shape: readonly number[], block = FP8_BLOCK): number[] {
  return [Math.ceil(shape[0] / block), Math.ceil(shape[1] / block)];
}

/**
 * Dequantises an E4M3 weight [out, in] with block scales [ceil(out/b), ceil(in/b)]:
 * W[i, j] = e4m3(w[i, j]) × scale[⌊i/b⌋, ⌊j/b⌋], computed in float32. `name` is for errors.
 */
export function dequantFp8Blocks(
  weight: Uint8Array, shape: readonly number[], scale: Float32Array, scaleShape: readonly number[],
  name = 'weight', block = FP8_BLOCK,
): Float32Array {
  if (shape.length !== 2) throw new IoError(`${name}: FP8 block dequantisation needs a 2-D weight, found shape ${shapeStr(shape)}`);
  const [rows, cols] = shape;
  const want = fp8ScaleShape(shape, block);
  if (scaleShape.length !== 2 || scaleShape[0] !== want[0] || scaleShape[1] !== want[1]) {
    throw new IoError(`${name}: weight ${shapeStr(shape)} needs ${block}×${block} block scales of shape ${shapeStr(want)}, found ${shapeStr(scaleShape)}`);
  }
  if (weight.length !== rows * cols || scale.length !== want[0] * want[1]) {
    throw new IoError(`${name}: data lengths (${weight.length}, ${scale.length}) do not match shapes ${shapeStr(shape)}, ${shapeStr(want)}`);
  }
  const out = e4m3ToF32Array(weight);
  const sCols = want[1];
  for (let i = 0; i < rows; i++) {
    const sRow = ((i / block) | 0) * sCols;
    const base = i * cols;
    for (let jb = 0; jb < sCols; jb++) {
      const s = scale[sRow + jb];
      const end = Math.min(cols, (jb + 1) * block);
      for (let j = jb * block; j < end; j++) out[base + j] *= s; // float32 store rounds the product once
    }
  }
  return out;
}

/**
 * Quantises a float32 weight [out, in] to E4M3 with per-tile scales amax/448 (the inverse of
 * `dequantFp8Blocks`, for making FP8 checkpoints and test fixtures). All-zero tiles get scale 1.
 */
export function quantFp8Blocks(
  w: Float32Array, shape: readonly number[], block = FP8_BLOCK,
): { weight: Uint8Array; scale: Float32Array; scaleShape: number[] } {
  if (shape.length !== 2 || w.length !== shape[0] * shape[1]) {
    throw new IoError(`FP8 quantisation needs a 2-D weight whose data matches its shape, found ${shapeStr(shape)} with ${w.length} elements`);
  }
  const [rows, cols] = shape;
  const scaleShape = fp8ScaleShape(shape, block);
  const scale = new Float32Array(scaleShape[0] * scaleShape[1]);
  const scaled = new Float32Array(w.length);
  for (let ib = 0; ib < scaleShape[0]; ib++) {
    for (let jb = 0; jb < scaleShape[1]; jb++) {
      const i1 = Math.min(rows, (ib + 1) * block), j1 = Math.min(cols, (jb + 1) * block);
      let amax = 0;
      for (let i = ib * block; i < i1; i++) for (let j = jb * block; j < j1; j++) amax = Math.max(amax, Math.abs(w[i * cols + j]));
      const s = amax > 0 ? Math.fround(amax / 448) : 1;
      scale[ib * scaleShape[1] + jb] = s;
      for (let i = ib * block; i < i1; i++) for (let j = jb * block; j < j1; j++) scaled[i * cols + j] = w[i * cols + j] / s;
    }
  }
  return { weight: f32ToE4m3Array(scaled, new Uint8Array(w.length), true), scale, scaleShape };
}
