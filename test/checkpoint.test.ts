// Model directories: save → load round trip, FP8 checkpoints with block scales, error reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor, tidy, noGrad } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { saveModel, loadModel, modelRecords } from '../src/model/checkpoint.js';
import { writeModelDir, quantFp8Blocks } from '../src/io/index.js';
import { configToHF } from '../src/model/config.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-ckpt-'));
}

test('save → load round-trips every tensor bit-exactly and gives identical logits', () => {
  const model = new DeepseekV3(getPreset('nano'), 3);
  for (const m of model.moeLayers()) m.gate.bias!.f32()[2] = 0.125;
  const dir = tmp();
  saveModel(dir, model, { tokenizerFiles: { 'tokenizer_config.json': '{}' } });
  assert.ok(fs.existsSync(path.join(dir, 'config.json')) && fs.existsSync(path.join(dir, 'model.safetensors')) && fs.existsSync(path.join(dir, 'generation_config.json')));
  const cfgJson = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(cfgJson.model_type, 'deepseek_v3');
  assert.equal(cfgJson.kv_lora_rank, 32);
  const loaded = loadModel(dir);
  const a = new Map(model.namedTensors()), b = new Map(loaded.namedTensors());
  for (const [n, t] of a) assert.deepEqual(Buffer.from(b.get(n)!.f32().buffer, b.get(n)!.f32().byteOffset, t.numel * 4), Buffer.from(t.f32().buffer, t.f32().byteOffset, t.numel * 4), n);
  const ids = Tensor.ints(Array.from({ length: 10 }, (_, i) => (i * 37) % 512), [1, 10]);
  noGrad(() => tidy(() => {
    assert.deepEqual(loaded.forward(ids).logits.toArray(), model.forward(ids).logits.toArray());
  }));
});

test('a checkpoint with FP8 E4M3 weights and 128×128 weight_scale_inv blocks loads dequantized', () => {
  const model = new DeepseekV3(getPreset('nano'), 5);
  const recs = modelRecords(model).map((r) => {
    if (!r.name.endsWith('kv_b_proj.weight')) return [r];
    const { weight: data, scale, scaleShape } = quantFp8Blocks(r.data as Float32Array, r.shape);
    return [
      { name: r.name, dtype: 'F8_E4M3' as const, shape: r.shape, data },
      { name: r.name + '_scale_inv', dtype: 'F32' as const, shape: scaleShape, data: scale },
    ];
  }).flat();
  const dir = tmp();
  writeModelDir(dir, { config: configToHF(model.cfg), tensors: recs });
  const loaded = loadModel(dir);
  const w0 = new Map(model.namedTensors()).get('model.layers.0.self_attn.kv_b_proj.weight')!.f32();
  const w1 = new Map(loaded.namedTensors()).get('model.layers.0.self_attn.kv_b_proj.weight')!.f32();
  let maxRel = 0;
  for (let i = 0; i < w0.length; i++) maxRel = Math.max(maxRel, Math.abs(w0[i] - w1[i]) / (Math.abs(w0[i]) + 1e-3));
  assert.ok(maxRel > 0 && maxRel < 0.15, `fp8 error ${maxRel}`); // e4m3 keeps ~2 significant digits
});

test('loading reports every missing, unexpected and mis-shaped tensor at once', () => {
  const model = new DeepseekV3(getPreset('nano'), 1);
  const recs = modelRecords(model)
    .filter((r) => r.name !== 'model.norm.weight' && r.name !== 'model.layers.0.self_attn.o_proj.weight')
    .map((r) => (r.name === 'lm_head.weight' ? { ...r, shape: [256, 128], data: (r.data as Float32Array).subarray(0, 256 * 128) } : r));
  recs.push({ name: 'model.layers.9.bogus.weight', dtype: 'F32', shape: [2], data: new Float32Array(2) });
  const dir = tmp();
  writeModelDir(dir, { config: configToHF(model.cfg), tensors: recs });
  assert.throws(() => loadModel(dir), (e: Error) => {
    assert.match(e.message, /model\.norm\.weight/);
    assert.match(e.message, /o_proj\.weight/);
    assert.match(e.message, /model\.layers\.9\.bogus\.weight/);
    assert.match(e.message, /lm_head\.weight/);
    return true;
  });
});

