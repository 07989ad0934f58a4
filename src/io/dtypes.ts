// Bit-exact conversions between float32 and the narrow float formats found in checkpoints:
// IEEE binary16 (F16), bfloat16 (BF16), and OCP FP8 E4M3FN / E5M2. All rounding is
// round-to-nearest-even; NaN payloads are handled as numpy (F16) and PyTorch (BF16, FP8) do.
// Bulk conversions write float32 *bit patterns* through a Uint32Array view, so NaN bits and
// signed zeros survive exactly.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The IEEE float32 bit pattern of `x` (rounded to float32 first). */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

/** The float32 value with bit pattern `bits`. */
export function bitsToF32(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0];
}

// ---- F16 (IEEE binary16: 1 sign, 5 exponent bits (bias 15), 10 mantissa bits) ----

/** Float32 bit pattern of the binary16 value with bits `h` (exact: every f16 is an f32). */
function f16ToF32BitsScalar(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // normal: 127-15 = 112
  if (mant === 0) return sign >>> 0; // ±0
  // Subnormal: value = mant * 2^-24; normalise so the leading 1 becomes implicit.
  let e = 113; // exponent of 2^-14 (the subnormal scale) in f32 bias is 127-14 = 113
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

let f16Table: Uint32Array | null = null;
function f16TableGet(): Uint32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32BitsScalar(h);
  }
  return f16Table;
}

/** The float32 value of the binary16 bit pattern `h` (subnormals, ±inf and NaN exact). */
export function f16BitsToF32(h: number): number {
  return bitsToF32(f16ToF32BitsScalar(h & 0xffff));
}

/** binary16 bits of a float32 bit pattern, round-to-nearest-even; overflow → ±inf; NaN as numpy. */
function f32BitsToF16(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const r = 0x7c00 + (mant >>> 13); // keep the top payload bits, as numpy does
    return sign | (r === 0x7c00 ? 0x7c01 : r);
  }
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal (or an f32 subnormal): ±0
    const m = mant | 0x800000;
    const shift = 14 - e; // units of 2^-24
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (r & 1) !== 0)) r++;
    return sign | r; // r may reach 0x400 = the smallest normal, which is the right encoding
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) !== 0)) r++; // may carry into inf: correct
  return sign | r;
}

/** binary16 bits of `x` (rounded to float32 first), round-to-nearest-even, overflow → ±inf. */
export function f32ToF16Bits(x: number): number {
  return f32BitsToF16(f32Bits(x));
}

/** Converts binary16 bit patterns to float32 (exact). `dst` defaults to a new array. */
export function f16ToF32Array(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const t = f16TableGet();
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return dst;
}

/** Converts float32 values to binary16 bit patterns (round-to-nearest-even). */
export function f32ToF16Array(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const inp = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = f32BitsToF16(inp[i]);
  return dst;
}

// ---- BF16 (the top 16 bits of a float32) ----

/** The float32 value of the bfloat16 bit pattern `h` (exact). */
export function bf16BitsToF32(h: number): number {
  return bitsToF32((h & 0xffff) << 16);
}

function f32BitsToBf16(b: number): number {
  if ((b & 0x7fffffff) > 0x7f800000) return 0x7fc0; // NaN → canonical quiet NaN, as PyTorch does
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff; // round-to-nearest-even; overflow → inf
}

/** bfloat16 bits of `x` (rounded to float32 first), round-to-nearest-even; NaN → 0x7fc0. */
export function f32ToBf16Bits(x: number): number {
  return f32BitsToBf16(f32Bits(x));
}

/** Converts bfloat16 bit patterns to float32 (exact). */
export function bf16ToF32Array(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
  return dst;
}

/** Converts float32 values to bfloat16 bit patterns (round-to-nearest-even). */
export function f32ToBf16Array(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const inp = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = f32BitsToBf16(inp[i]);
  return dst;
}

// ---- FP8 E4M3FN (1 sign, 4 exponent bits (bias 7), 3 mantissa bits; no inf; S.1111.111 = NaN; max 448) ----

function e4m3ToF32BitsScalar(v: number): number {
  const sign = (v & 0x80) << 24;
  const exp = (v >>> 3) & 0xf;
  const mant = v & 0x7;
  if (exp === 0xf && mant === 0x7) return (sign | 0x7fc00000) >>> 0;
  if (exp !== 0) return (sign | ((exp + 120) << 23) | (mant << 20)) >>> 0; // 127-7 = 120
  if (mant === 0) return sign >>> 0;
  return (f32Bits(mant * 2 ** -9) | sign) >>> 0; // subnormal: mant * 2^-9 (exact in f32)
}

/** binary e4m3fn bits from float32 bits; RNE; |x| ≥ 480 (after rounding past 448) → NaN unless saturating. */
function f32BitsToE4m3(b: number, saturate: boolean): number {
  const sign = (b >>> 24) & 0x80;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff && mant !== 0) return sign | 0x7f; // NaN
  if (exp === 0xff || (b & 0x7fffffff) >= 0x43f00000) return sign | (saturate ? 0x7e : 0x7f); // ≥ 480 or inf
  const e = exp - 120;
  let r: number;
  if (e <= 0) {
    if (e < -3 || exp === 0) return sign; // below half the smallest subnormal 2^-9: ±0
    const m = mant | 0x800000;
    const shift = 21 - e; // units of 2^-9
    r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (r & 1) !== 0)) r++;
  } else {
    r = (e << 3) | (mant >>> 20);
    const rem = mant & 0xfffff;
    if (rem > 0x80000 || (rem === 0x80000 && (r & 1) !== 0)) r++;
  }
  if (r === 0x7f && saturate) r = 0x7e; // (464, 480) rounds up to the NaN code; clamp to 448
  return sign | r;
}

const e4m3Table = new Uint32Array(256);
for (let v = 0; v < 256; v++) e4m3Table[v] = e4m3ToF32BitsScalar(v);

/** The float32 value of the FP8 E4M3FN byte `v` (0x7f/0xff are NaN; there is no inf). */
export function e4m3BitsToF32(v: number): number {
  return bitsToF32(e4m3Table[v & 0xff]);
}

/**
 * The FP8 E4M3FN byte for `x` (rounded to float32 first), round-to-nearest-even. Out of range
 * (|x| rounding above 448, or ±inf) gives NaN as PyTorch's cast does, or ±448 if `saturate`.
 */
export function f32ToE4m3Bits(x: number, saturate = false): number {
  return f32BitsToE4m3(f32Bits(x), saturate);
}

/** Converts FP8 E4M3FN bytes to float32 (exact). */
export function e4m3ToF32Array(src: Uint8Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = e4m3Table[src[i]];
  return dst;
}

/** Converts float32 values to FP8 E4M3FN bytes (see `f32ToE4m3Bits`). */
export function f32ToE4m3Array(src: Float32Array, dst: Uint8Array = new Uint8Array(src.length), saturate = false): Uint8Array {
  const inp = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = f32BitsToE4m3(inp[i], saturate);
  return dst;
}

// ---- FP8 E5M2 (the top byte of a binary16) ----

/** The float32 value of the FP8 E5M2 byte `v` (it is the high byte of a binary16). */
export function e5m2BitsToF32(v: number): number {
  return f16BitsToF32((v & 0xff) << 8);
}

/** Converts FP8 E5M2 bytes to float32 (exact). */
export function e5m2ToF32Array(src: Uint8Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const t = f16TableGet();
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i] << 8];
  return dst;
}
