// FP8 E4M3 (e4m3fn) weights against a decoder written here from the format's definition, for all
// 256 codes, and DeepSeek-V3's 128×128 block scales applied exactly (tolerance 0): by
// dequantFp8Blocks on a weight with partial edge blocks, and through loading a checkpoint whose
// FP8 bytes and scales are made here (not by tinyseek's quantizer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '../src/tensor/index.js';
import { e4m3BitsToF32, e4m3ToF32Array } from '../src/io/dtypes.js';
import { dequantFp8Blocks, fp8ScaleShape } from '../src/io/fp8.js';
import { writeModelDir } from '../src/io/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { loadModel, modelRecords, saveModel } from '../src/model/checkpoint.js';
import { CheckpointError } from '../src/io/index.js';
import { configToHF } from '../src/model/config.js';

/**
 * E4M3FN (OCP FP8 spec; "fn": finite, no infinities): bit 7 sign, bits 6–3 exponent (bias 7),
 * bits 2–0 mantissa. Exponent 0 is subnormal: ±2^−6 · m/8. Otherwise ±2^(e−7) · (1 + m/8), except
 * exponent 15 with mantissa 7 (0x7f, 0xff), the only NaN codes; 0x7e = 448 is the largest value.
 */
function decodeE4m3(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const e = (code >> 3) & 0xf, m = code & 0x7;
  if (e === 15 && m === 7) return NaN;
  if (e === 0) return sign * 2 ** -6 * (m / 8);
  return sign * 2 ** (e - 7) * (1 + m / 8);
}

test('e4m3fn: every one of the 256 codes decodes as the format defines (±0, subnormals, 448, the two NaNs)', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const arr = e4m3ToF32Array(all);
  let nans = 0;
  for (let c = 0; c < 256; c++) {
    const want = decodeE4m3(c);
    if (Number.isNaN(want)) {
      nans++;
      assert.ok(Number.isNaN(e4m3BitsToF32(c)) && Number.isNaN(arr[c]), `0x${c.toString(16)} is NaN`);
      continue;
    }
    assert.ok(Object.is(e4m3BitsToF32(c), want), `0x${c.toString(16)}: decoded ${e4m3BitsToF32(c)}, the format says ${want}`);
    assert.ok(Object.is(arr[c], want), `0x${c.toString(16)} (array): ${arr[c]} vs ${want}`);
  }
  assert.equal(nans, 2);
  assert.equal(decodeE4m3(0x7e), 448);
  assert.equal(decodeE4m3(0x01), 2 ** -9);
  assert.ok(Object.is(decodeE4m3(0x80), -0));
});

/** Random non-NaN FP8 bytes and per-block scales (odd, non-power-of-two values, so rounding shows). */
function fixture(rows: number, cols: number, seed: number): { bytes: Uint8Array; scale: Float32Array; scaleShape: number[] } {
  const rng = new Rng(seed);
  const bytes = new Uint8Array(rows * cols);
  for (let i = 0; i < bytes.length; i++) {
    let b = rng.int(256);
    while ((b & 0x7f) === 0x7f) b = rng.int(256);
    bytes[i] = b;
  }
  const scaleShape = fp8ScaleShape([rows, cols]);
  const scale = Float32Array.from({ length: scaleShape[0] * scaleShape[1] }, (_, k) => (k + 1) * 0.0013717 + rng.uniform() * 1e-3);
  return { bytes, scale, scaleShape };
}

/** W[i, j] = e4m3(w[i, j]) × scale[⌊i/128⌋, ⌊j/128⌋], rounded once to float32. */
function dequantByHand(bytes: Uint8Array, rows: number, cols: number, scale: Float32Array, scaleCols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    out[i * cols + j] = decodeE4m3(bytes[i * cols + j]) * scale[Math.floor(i / 128) * scaleCols + Math.floor(j / 128)];
  }
  return out;
}

test('128×128 block scales are applied per block exactly, including partial edge blocks (300 × 260 → 3 × 3 scales)', () => {
  const rows = 300, cols = 260;
  const { bytes, scale, scaleShape } = fixture(rows, cols, 5);
  assert.deepEqual(scaleShape, [3, 3]);
  const got = dequantFp8Blocks(bytes, [rows, cols], scale, scaleShape);
  const want = dequantByHand(bytes, rows, cols, scale, 3);
  for (let k = 0; k < got.length; k++) {
    if (!Object.is(got[k], want[k])) assert.fail(`W[${Math.floor(k / cols)}, ${k % cols}] = ${got[k]}, expected ${want[k]} (byte 0x${bytes[k].toString(16)})`);
  }
});

test('a checkpoint with FP8 weights (bytes and scales made here) loads to exactly e4m3 × block scale', () => {
  const model = new DeepseekV3(getPreset('nano'), 5);
  const fp8 = new Map<string, { rows: number; cols: number; bytes: Uint8Array; scale: Float32Array }>();
  let seed = 10;
  const recs = modelRecords(model).flatMap((r) => {
    // embed_tokens [512, 64] (4 × 1 blocks) and every kv_b_proj [128, 32]
    if (r.name !== 'model.embed_tokens.weight' && !r.name.endsWith('kv_b_proj.weight')) return [r];
    const [rows, cols] = r.shape;
    const f = fixture(rows, cols, seed++);
    fp8.set(r.name, { rows, cols, bytes: f.bytes, scale: f.scale });
    return [
      { name: r.name, dtype: 'F8_E4M3' as const, shape: r.shape, data: f.bytes },
      { name: r.name + '_scale_inv', dtype: 'F32' as const, shape: f.scaleShape, data: f.scale },
    ];
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-fp8-'));
  try {
    writeModelDir(dir, { config: configToHF(model.cfg), tensors: recs });
    const loaded = new Map(loadModel(dir).namedTensors());
    assert.ok(fp8.size >= 3);
    for (const [name, f] of fp8) {
      const got = loaded.get(name)!.f32();
      const want = dequantByHand(f.bytes, f.rows, f.cols, f.scale, Math.ceil(f.cols / 128));
      for (let k = 0; k < got.length; k++) {
        if (!Object.is(got[k], want[k])) assert.fail(`${name}[${Math.floor(k / f.cols)}, ${k % f.cols}] = ${got[k]}, expected ${want[k]}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a config declaring block FP8 refuses an FP8 weight without its weight_scale_inv; saving a loaded FP8 model plainly drops quantization_config', () => {
  const model = new DeepseekV3(getPreset('nano'), 6);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-fp8-'));
  try {
    saveModel(dir, model, { layout: 'fp8' });
    const loaded = loadModel(dir);
    assert.deepEqual(loaded.cfg.extra.quantization_config, { activation_scheme: 'dynamic', fmt: 'e4m3', quant_method: 'fp8', weight_block_size: [128, 128] });
    // Written plainly (F32), the weights are no longer FP8: the config must not say they are.
    const plain = path.join(dir, 'plain');
    saveModel(plain, loaded);
    const cfg = JSON.parse(fs.readFileSync(path.join(plain, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(cfg.quantization_config, undefined);
    // Drop one scale: that weight would be read off by its block scale.
    const recs = modelRecords(model).flatMap((r) => {
      if (!r.name.endsWith('o_proj.weight')) return [r];
      const f = fixture(r.shape[0], r.shape[1], 3);
      return r.name.startsWith('model.layers.0.') ? [{ name: r.name, dtype: 'F8_E4M3' as const, shape: r.shape, data: f.bytes }]
        : [{ name: r.name, dtype: 'F8_E4M3' as const, shape: r.shape, data: f.bytes }, { name: r.name + '_scale_inv', dtype: 'F32' as const, shape: f.scaleShape, data: f.scale }];
    });
    writeModelDir(dir, { config: { ...configToHF(model.cfg), quantization_config: cfg0() }, tensors: recs });
    assert.throws(() => loadModel(dir), (e: unknown) => e instanceof CheckpointError && /declares block FP8 \(quantization_config\) but 1 FP8 tensor\(s\) have no _scale_inv companion: model\.layers\.0\.self_attn\.o_proj\.weight/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function cfg0(): Record<string, unknown> {
  return { activation_scheme: 'dynamic', fmt: 'e4m3', quant_method: 'fp8', weight_block_size: [128, 128] };
}
