// Rotary position embedding on ADJACENT pairs (x[2i], x[2i+1]) — DeepSeek's convention
// (complex view of interleaved pairs; llama.cpp's LLAMA_ROPE_TYPE_NORM), not rotate-half —
// with YaRN frequency interpolation as in DeepSeek-V3's `precompute_freqs_cis`.
import { Tensor } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import { TensorError, fmtShape } from '../tensor/errors.js';
import { contiguous } from './shape.js';

/** YaRN parameters (Hugging Face `rope_scaling` of type "yarn"). */
export interface YarnParams {
  factor: number;
  originalMaxPositionEmbeddings: number;
  betaFast: number;
  betaSlow: number;
  mscale: number;
  mscaleAllDim: number;
}

/** Precomputed cos/sin tables [maxPos, dim/2] and the per-pair frequencies [dim/2]. */
export interface RopeTables {
  dim: number;
  maxPos: number;
  freqs: Float64Array;
  cos: Float32Array;
  sin: Float32Array;
}

/** YaRN's attention scale factor: 0.1·m·ln(s) + 1 for s > 1, else 1. */
export function yarnMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/** The dimension index at which a frequency completes `rotations` turns over `maxPos` positions. */
function correctionDim(rotations: number, dim: number, base: number, maxPos: number): number {
  return (dim * Math.log(maxPos / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
}

/** Per-pair rotary frequencies θ_i = base^(−2i/dim), YaRN-interpolated when `yarn` is given. */
export function ropeFrequencies(dim: number, base: number, yarn?: YarnParams | null): Float64Array {
  if (dim % 2 !== 0) throw new TensorError('rope', `expected an even rotary dim, found ${dim}`);
  const half = dim / 2;
  const freqs = new Float64Array(half);
  for (let i = 0; i < half; i++) freqs[i] = 1 / Math.pow(base, (2 * i) / dim);
  if (yarn && yarn.factor > 1) {
    const low = Math.max(Math.floor(correctionDim(yarn.betaFast, dim, base, yarn.originalMaxPositionEmbeddings)), 0);
    let high = Math.min(Math.ceil(correctionDim(yarn.betaSlow, dim, base, yarn.originalMaxPositionEmbeddings)), dim - 1);
    if (low === high) high += 0.001;
    for (let i = 0; i < half; i++) {
      const ramp = Math.min(Math.max((i - low) / (high - low), 0), 1);
      const smooth = 1 - ramp;
      freqs[i] = (freqs[i] / yarn.factor) * (1 - smooth) + freqs[i] * smooth;
    }
  }
  return freqs;
}

/**
 * cos/sin tables for positions [0, maxPos). With YaRN, cos and sin are scaled by
 * mscale(factor, mscale)/mscale(factor, mscale_all_dim) as Hugging Face does (= 1 for V2/V3).
 */
export function ropeTables(dim: number, base: number, maxPos: number, yarn?: YarnParams | null): RopeTables {
  const freqs = ropeFrequencies(dim, base, yarn);
  const half = dim / 2;
  const amp = yarn && yarn.factor > 1 ? yarnMscale(yarn.factor, yarn.mscale) / yarnMscale(yarn.factor, yarn.mscaleAllDim) : 1;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let t = 0; t < maxPos; t++) {
    for (let i = 0; i < half; i++) {
      const a = t * freqs[i];
      cos[t * half + i] = Math.cos(a) * amp;
      sin[t * half + i] = Math.sin(a) * amp;
    }
  }
  return { dim, maxPos, freqs, cos, sin };
}

/**
 * Applies RoPE to x [B, T, H, D] (or [B, T, D]) at positions pos [B*T] (int32: each row's absolute
 * position, so sequences in a batch may start at different offsets).
 */
export function rope(x: Tensor, pos: Int32Array, tables: RopeTables): Tensor {
  const D = x.shape[x.ndim - 1];
  if (D !== tables.dim) throw new TensorError('rope', `input ${fmtShape(x.shape)} has last dim ${D}, tables are for dim ${tables.dim}`);
  if (x.ndim < 3) throw new TensorError('rope', `expected [B, T, (H,) D], found ${fmtShape(x.shape)}`);
  const rows = x.shape[0] * x.shape[1];
  const heads = x.ndim === 4 ? x.shape[2] : 1;
  if (x.numel !== rows * heads * D) throw new TensorError('rope', `expected [B, T, H, D], found ${fmtShape(x.shape)}`);
  if (pos.length !== rows) throw new TensorError('rope', `expected ${rows} positions (B·T), found ${pos.length}`);
  for (let r = 0; r < rows; r++) {
    if (pos[r] < 0 || pos[r] >= tables.maxPos) throw new TensorError('rope', `position ${pos[r]} outside the table [0, ${tables.maxPos}) (max_position_embeddings)`);
  }
  const xc = contiguous(x);
  const y = Tensor.empty(x.shape);
  backend().rope(rows, heads, D, y.f32(), xc.f32(), pos, tables.cos, tables.sin, false);
  return y.withNode([xc], () => ({
    op: 'rope', inputs: [xc],
    backward: (g) => {
      const gc = contiguous(g);
      const dx = Tensor.empty(x.shape);
      backend().rope(rows, heads, D, dx.f32(), gc.f32(), pos, tables.cos, tables.sin, true);
      return [dx];
    },
  }));
}
