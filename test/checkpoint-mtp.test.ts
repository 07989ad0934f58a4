// The MTP layer of a checkpoint (`model.layers.{num_hidden_layers}.*`, as DeepSeek-V3/R1 publish it):
// loaded when present, skipped with `mtp: false` / `--no-mtp`, and a directory without it loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor, tidy, noGrad } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { saveModel, loadModel, modelRecords, isMtpTensor } from '../src/model/checkpoint.js';
import { asDeepseek } from '../src/model/registry.js';
import { configToHF } from '../src/model/config.js';
import { writeModelDir, CheckpointError } from '../src/io/index.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-mtp-'));
}

const ids = Tensor.ints(Array.from({ length: 9 }, (_, i) => (i * 53 + 7) % 512), [1, 9]);

function logits(m: DeepseekV3): number[] {
  return noGrad(() => tidy(() => Array.from(m.forward(ids).logits.f32())));
}

test('the MTP layer is loaded when present and skipped with mtp: false (not read, not allocated; same logits)', () => {
  const model = new DeepseekV3(getPreset('nano'), 11);
  const dir = tmp();
  try {
    saveModel(dir, model);
    const L = model.cfg.numHiddenLayers;
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(stored.num_nextn_predict_layers, 1);

    const full = asDeepseek(loadModel(dir, { onWarning: (m) => assert.fail(m) }));
    assert.equal(full.cfg.numNextnPredictLayers, 1);
    const mtpNames = full.namedTensors().map(([n]) => n).filter((n) => n.startsWith(`model.layers.${L}.`));
    assert.ok(mtpNames.includes(`model.layers.${L}.eh_proj.weight`) && mtpNames.includes(`model.layers.${L}.self_attn.kv_b_proj.weight`));
    const orig = new Map(model.namedTensors());
    for (const [n, t] of full.namedTensors()) assert.deepEqual(t.f32(), orig.get(n)!.f32(), n);

    const noMtp = asDeepseek(loadModel(dir, { mtp: false, onWarning: (m) => assert.fail(m) }));
    assert.equal(noMtp.cfg.numNextnPredictLayers, 0);
    assert.equal(noMtp.model.mtp.length, 0);
    assert.ok(noMtp.namedTensors().every(([n]) => !isMtpTensor(model.cfg, n)), 'no MTP tensor is allocated');
    assert.ok(noMtp.numParameters() < full.numParameters());
    assert.deepEqual(logits(noMtp), logits(full), 'the main model computes the same logits without its MTP layer');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory whose config names an MTP layer its weights do not hold loads without MTP and says so', () => {
  const model = new DeepseekV3(getPreset('nano'), 12);
  const dir = tmp();
  try {
    // As DeepSeek's convert.py and transformers write it: config unchanged, model.layers.{L}.* dropped.
    const recs = modelRecords(model).filter((r) => !isMtpTensor(model.cfg, r.name));
    writeModelDir(dir, { config: configToHF(model.cfg), tensors: recs, shardBytes: 200_000 });
    assert.ok(fs.existsSync(path.join(dir, 'model.safetensors.index.json')));
    const notes: string[] = [];
    const m = asDeepseek(loadModel(dir, { onWarning: (w) => notes.push(w) }));
    assert.equal(m.cfg.numNextnPredictLayers, 0);
    assert.equal(notes.length, 1);
    assert.match(notes[0], /num_nextn_predict_layers = 1 but the weights hold no model\.layers\.2\.\* tensors; loaded without MTP/);
    assert.deepEqual(logits(m), logits(model));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a partial MTP layer is refused naming the missing tensors; mtp: false still loads the main model', () => {
  const model = new DeepseekV3(getPreset('nano'), 13);
  const dir = tmp();
  try {
    const L = model.cfg.numHiddenLayers;
    const recs = modelRecords(model).filter((r) => r.name !== `model.layers.${L}.eh_proj.weight`);
    writeModelDir(dir, { config: configToHF(model.cfg), tensors: recs });
    assert.throws(() => loadModel(dir), (e: unknown) => e instanceof CheckpointError && /missing \(1\):\s+model\.layers\.2\.eh_proj\.weight \[64, 128\]/.test(e.message));
    const m = asDeepseek(loadModel(dir, { mtp: false }));
    assert.equal(m.cfg.numNextnPredictLayers, 0);
    assert.deepEqual(logits(m), logits(model));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
