// Bit-exact dtype conversions checked against hand-computed bit patterns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bf16BitsToF32, bf16ToF32Array, e4m3BitsToF32, e5m2BitsToF32, f16BitsToF32, f16ToF32Array, f32Bits,
  f32ToBf16Array, f32ToBf16Bits, f32ToE4m3Bits, f32ToF16Array, f32ToF16Bits,
} from '../src/io/dtypes.js';

const hex = (n: number) => '0x' + n.toString(16);

test('f16 → f32: normals, subnormals, ±0, ±inf, NaN', () => {
  const cases: [number, number][] = [
    [0x0000, 0], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x7bff, 65504],
    [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x0400, 2 ** -14], [0x8001, -(2 ** -24)],
    [0x7c00, Infinity], [0xfc00, -Infinity],
  ];
  for (const [h, v] of cases) assert.equal(f16BitsToF32(h), v, hex(h));
  assert.ok(Object.is(f16BitsToF32(0x8000), -0));
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  assert.ok(Number.isNaN(f16BitsToF32(0x7c01)));
  // NaN payload and sign survive bulk conversion bit-exactly
  const out = new Uint32Array(f16ToF32Array(new Uint16Array([0x7c01, 0xfe00, 0x0001])).buffer);
  assert.deepEqual([...out].map(hex), ['0x7f802000', '0xffc00000', '0x33800000']);
});

test('f32 → f16: round to nearest even, overflow, underflow, NaN', () => {
  const cases: [number, number][] = [
    [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff],
    [65519, 0x7bff], // below the midpoint 65520 → max
    [65520, 0x7c00], // the midpoint between 65504 and 2^16 rounds to even = inf
    [1e6, 0x7c00], [-1e6, 0xfc00], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    [1 + 2 ** -11, 0x3c00], // tie → even (0x3c00)
    [1 + 3 * 2 ** -11, 0x3c02], // tie → even (0x3c02)
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie → up
    [2 ** -24, 0x0001], [2 ** -25, 0x0000], // smallest subnormal; half of it ties to 0
    [1.5 * 2 ** -25, 0x0001], [3 * 2 ** -25, 0x0002], // 1.5 units → 2 (tie to even)
    [2 ** -14, 0x0400], [2 ** -14 - 2 ** -25, 0x0400], // rounding up out of the subnormals
    [1e-8, 0x0000], [-1e-8, 0x8000], [0.1, 0x2e66],
  ];
  for (const [x, h] of cases) assert.equal(hex(f32ToF16Bits(x)), hex(h), String(x));
  assert.equal(hex(f32ToF16Bits(-0)), '0x8000');
  assert.equal(hex(f32ToF16Bits(NaN)), '0x7e00');
  // every f16 value survives f16 → f32 → f16 (NaNs keep their bits; numpy's rule)
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToF16Array(f16ToF32Array(all));
  for (let i = 0; i < 65536; i++) if (back[i] !== i) assert.fail(`f16 ${hex(i)} came back as ${hex(back[i])}`);
});

test('bf16 ⇄ f32: exact widening, round to nearest even, NaN → 0x7fc0', () => {
  assert.equal(bf16BitsToF32(0x3f80), 1);
  assert.equal(bf16BitsToF32(0xc040), -3);
  assert.equal(bf16BitsToF32(0x0001), 2 ** -133); // bf16 subnormal
  assert.equal(bf16BitsToF32(0x7f80), Infinity);
  assert.ok(Number.isNaN(bf16BitsToF32(0x7fc1)));
  const cases: [number, number][] = [
    [1, 0x3f80], [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82], [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [3.4028234663852886e38, 0x7f80], [-Infinity, 0xff80], [2 ** -133, 0x0001],
  ];
  for (const [x, h] of cases) assert.equal(hex(f32ToBf16Bits(x)), hex(h), String(x));
  assert.equal(hex(f32ToBf16Bits(NaN)), '0x7fc0');
  assert.equal(hex(f32ToBf16Bits(-0)), '0x8000');
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToBf16Array(bf16ToF32Array(all));
  for (let i = 0; i < 65536; i++) {
    const isNaN = (i & 0x7fff) > 0x7f80;
    if (back[i] !== (isNaN ? 0x7fc0 : i)) assert.fail(`bf16 ${hex(i)} came back as ${hex(back[i])}`);
  }
});

test('FP8 E4M3FN: decode table and RNE encode with NaN / saturation', () => {
  const dec: [number, number][] = [
    [0x00, 0], [0x38, 1], [0xb8, -1], [0x7e, 448], [0xfe, -448], [0x01, 2 ** -9], [0x07, 7 * 2 ** -9],
    [0x08, 2 ** -6], [0x3c, 1.5], [0x40, 2], [0x77, 240], [0x78, 256],
  ];
  for (const [v, x] of dec) assert.equal(e4m3BitsToF32(v), x, hex(v));
  assert.ok(Object.is(e4m3BitsToF32(0x80), -0));
  assert.ok(Number.isNaN(e4m3BitsToF32(0x7f)));
  assert.ok(Number.isNaN(e4m3BitsToF32(0xff)));
  assert.equal(hex(f32Bits(e4m3BitsToF32(0xff))), '0xffc00000');
  const enc: [number, number][] = [
    [1, 0x38], [-1, 0xb8], [448, 0x7e], [464, 0x7e], // 464 is the midpoint 448|480: tie → even (448)
    [465, 0x7f], [1000, 0x7f], [Infinity, 0x7f], // out of range → NaN (as torch's cast)
    [1.0625, 0x38], [1.1875, 0x3a], [1.07, 0x39], // ties to even, and a plain round-up
    [2 ** -9, 0x01], [2 ** -10, 0x00], [1.5 * 2 ** -9, 0x02], [3 * 2 ** -10, 0x02], [2 ** -11, 0x00],
    [7.5 * 2 ** -9, 0x08], // 7.5 subnormal units: tie → even (8 units = 2^-6, the smallest normal)
  ];
  for (const [x, v] of enc) assert.equal(hex(f32ToE4m3Bits(x)), hex(v), String(x));
  assert.equal(hex(f32ToE4m3Bits(NaN)), '0x7f');
  assert.equal(hex(f32ToE4m3Bits(1000, true)), '0x7e');
  assert.equal(hex(f32ToE4m3Bits(-Infinity, true)), '0xfe');
  assert.equal(hex(f32ToE4m3Bits(470, true)), '0x7e');
  // every finite code survives decode → encode
  for (let v = 0; v < 256; v++) {
    if ((v & 0x7f) === 0x7f) continue;
    assert.equal(f32ToE4m3Bits(e4m3BitsToF32(v)), v, hex(v));
  }
});

test('FP8 E5M2 decodes as the top byte of a binary16', () => {
  assert.equal(e5m2BitsToF32(0x3c), 1);
  assert.equal(e5m2BitsToF32(0x7b), 57344);
  assert.equal(e5m2BitsToF32(0x7c), Infinity);
  assert.equal(e5m2BitsToF32(0x01), 2 ** -16);
  assert.ok(Number.isNaN(e5m2BitsToF32(0x7d)));
});
