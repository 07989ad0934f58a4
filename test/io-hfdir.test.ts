// Hugging Face model directories and the all-at-once tensor check.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { checkTensors, diffTensors } from '../src/io/check.js';
import { CheckpointError, IoError } from '../src/io/errors.js';
import { loadAsFloat32, loadedTensorInfos } from '../src/io/float32.js';
import { readModelDir, writeModelDir } from '../src/io/hfdir.js';
import type { TensorRecord } from '../src/io/record.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-hf-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => path.join(root, `m${n++}`);

const config = {
  architectures: ['DeepseekV3ForCausalLM'], model_type: 'deepseek_v3', hidden_size: 8, num_hidden_layers: 1,
  q_lora_rank: null, rope_scaling: { type: 'yarn', factor: 40 }, rms_norm_eps: 1e-6, some_unknown_key: [1, 'x'],
};
const tensors: TensorRecord[] = [
  { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [16, 8], data: new Float32Array(128).map((_, i) => i / 7) },
  { name: 'model.layers.0.input_layernorm.weight', dtype: 'F32', shape: [8], data: new Float32Array(8).fill(1) },
  { name: 'model.norm.weight', dtype: 'F32', shape: [8], data: new Float32Array(8).fill(0.5) },
  { name: 'lm_head.weight', dtype: 'F32', shape: [16, 8], data: new Float32Array(128).map((_, i) => -i) },
];

test('writeModelDir → readModelDir round trip (config, generation config, tokenizer files, lazy tensors)', () => {
  const dir = newDir();
  writeModelDir(dir, {
    config, generationConfig: { bos_token_id: 0, eos_token_id: 1, temperature: 0.6 }, tensors,
    tokenizerFiles: { 'tokenizer.json': '{"model": {}}', 'tokenizer_config.json': Buffer.from('{"a": 1}') },
  });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  const m = readModelDir(dir);
  try {
    assert.deepEqual(m.config, config);
    assert.deepEqual(m.generationConfig, { bos_token_id: 0, eos_token_id: 1, temperature: 0.6 });
    assert.deepEqual(m.tokenizerFiles, ['tokenizer.json', 'tokenizer_config.json']);
    assert.deepEqual(m.tensors.keys(), tensors.map((t) => t.name));
    for (const t of tensors) assert.deepEqual(m.tensors.read(t.name).data, t.data);
  } finally {
    m.tensors.close();
  }
});

test('sharded BF16 model dir; overwriting switches layout; no temp files remain', () => {
  const dir = newDir();
  writeModelDir(dir, { config, tensors, shardBytes: 260, dtype: 'BF16' }); // 256 | 16+16 | 256 bytes
  const files = fs.readdirSync(dir).sort();
  assert.deepEqual(files.filter((f) => !f.startsWith('model-')), ['config.json', 'model.safetensors.index.json']);
  assert.equal(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length, 3);
  const m = readModelDir(dir);
  try {
    assert.equal(m.generationConfig, null);
    assert.equal(m.tensors.info('lm_head.weight').dtype, 'BF16');
    const loaded = loadAsFloat32(m.tensors);
    assert.deepEqual(loaded.find((r) => r.name === 'lm_head.weight')!.data, tensors[3].data); // small integers are exact in bf16
  } finally {
    m.tensors.close();
  }
  writeModelDir(dir, { config: { ...config, hidden_size: 9 }, tensors: tensors.slice(0, 2) });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'model.safetensors']);
  const m2 = readModelDir(dir);
  assert.equal(m2.config.hidden_size, 9);
  assert.deepEqual(m2.tensors.keys(), tensors.slice(0, 2).map((t) => t.name));
  m2.tensors.close();
});

test('writeModelDir refuses tokenizer file names with directories, before writing anything', () => {
  const dir = newDir();
  assert.throws(() => writeModelDir(dir, { config, tensors, tokenizerFiles: { '../x.json': '{}' } }),
    (e: Error) => e instanceof CheckpointError && e.message.includes('"../x.json" is not a plain file name'));
  assert.ok(!fs.existsSync(dir));
});

test('readModelDir: missing directory, missing config, invalid JSON config, missing weights', () => {
  assert.throws(() => readModelDir(path.join(root, 'nope')), (e: Error) => e instanceof CheckpointError && /not a directory/.test(e.message));
  const dir = newDir();
  fs.mkdirSync(dir);
  assert.throws(() => readModelDir(dir), (e: Error) => e instanceof CheckpointError && /config.json: cannot read/.test(e.message));
  fs.writeFileSync(path.join(dir, 'config.json'), '{"hidden_size": 8,');
  assert.throws(() => readModelDir(dir), (e: Error) => e instanceof CheckpointError && /config.json: invalid JSON/.test(e.message));
  fs.writeFileSync(path.join(dir, 'config.json'), '[1]');
  assert.throws(() => readModelDir(dir), /expected a JSON object, found an array/);
  fs.writeFileSync(path.join(dir, 'config.json'), '{}');
  assert.throws(() => readModelDir(dir), (e: Error) => e instanceof IoError && /no model.safetensors.index.json or model.safetensors/.test(e.message));
});

test('checkTensors reports every missing, unexpected, mis-shaped and wrong-dtype tensor in one message', () => {
  const expected = [
    { name: 'model.embed_tokens.weight', shape: [16, 8] },
    { name: 'model.layers.0.self_attn.kv_a_proj_with_mqa.weight', shape: [12, 8] },
    { name: 'model.layers.0.mlp.gate.e_score_correction_bias', shape: [4], dtype: 'F32' as const },
    { name: 'model.norm.weight', shape: [8] },
    { name: 'lm_head.weight', shape: [16, 8], dtype: ['F32', 'BF16'] as const },
  ];
  const found = [
    { name: 'model.embed_tokens.weight', shape: [16, 8], dtype: 'BF16' as const },
    { name: 'model.layers.0.mlp.gate.e_score_correction_bias', shape: [4], dtype: 'BF16' as const },
    { name: 'model.norm.weight', shape: [9], dtype: 'F32' as const },
    { name: 'lm_head.weight', shape: [8, 16], dtype: 'F32' as const },
    { name: 'model.layers.0.extra', shape: [1], dtype: 'F32' as const },
    { name: 'model.layers.1.extra', shape: [2, 2], dtype: 'I32' as const },
  ];
  const d = diffTensors(expected, found);
  assert.deepEqual(d.missing.map((m) => m.name), ['model.layers.0.self_attn.kv_a_proj_with_mqa.weight']);
  assert.deepEqual(d.unexpected.map((m) => m.name), ['model.layers.0.extra', 'model.layers.1.extra']);
  assert.deepEqual(d.wrongShape.map((m) => m.name), ['model.norm.weight', 'lm_head.weight']);
  assert.deepEqual(d.wrongDtype.map((m) => m.name), ['model.layers.0.mlp.gate.e_score_correction_bias']);
  assert.throws(() => checkTensors(expected, found, '/ckpt'), (e: Error) => {
    assert.ok(e instanceof CheckpointError);
    const m = e.message;
    assert.match(m, /^\/ckpt: tensors do not match the model: 1 missing, 2 unexpected, 2 with the wrong shape, 1 with the wrong dtype \(the model has 5 tensors, the checkpoint 6\)/);
    assert.match(m, /missing \(1\):\n {4}model\.layers\.0\.self_attn\.kv_a_proj_with_mqa\.weight \[12, 8\]/);
    assert.match(m, /unexpected \(2\):\n {4}model\.layers\.0\.extra \[1\] F32\n {4}model\.layers\.1\.extra \[2, 2\] I32/);
    assert.match(m, /wrong shape \(2\):\n {4}model\.norm\.weight: expected \[8\], found \[9\]\n {4}lm_head\.weight: expected \[16, 8\], found \[8, 16\]/);
    assert.match(m, /wrong dtype \(1\):\n {4}model\.layers\.0\.mlp\.gate\.e_score_correction_bias: expected F32, found BF16/);
    return true;
  });
  checkTensors(expected.slice(0, 1), found.slice(0, 1)); // a match does not throw
});

test('a mismatch with equal tensor counts says what differs, not "expected N tensors, found N"', () => {
  const expected = [{ name: 'a.weight', shape: [4, 4] }, { name: 'b.weight', shape: [4] }, { name: 'c.weight', shape: [2] }];
  const found = [
    { name: 'a.weight', shape: [4, 5], dtype: 'F32' as const },
    { name: 'b.weight', shape: [4], dtype: 'F32' as const },
    { name: 'c.wieght', shape: [2], dtype: 'F32' as const },
  ];
  assert.throws(() => checkTensors(expected, found, '/ckpt'), (e: Error) => {
    const first = e.message.split('\n')[0];
    assert.doesNotMatch(first, /expected 3 tensors, found 3/);
    assert.equal(first, '/ckpt: tensors do not match the model: 1 missing, 1 unexpected, 1 with the wrong shape (the model and the checkpoint both have 3 tensors)');
    return true;
  });
});

test('checkTensors against a model directory (scales consumed, floats seen as F32)', () => {
  const dir = newDir();
  writeModelDir(dir, { config, tensors, dtype: 'BF16' });
  const m = readModelDir(dir);
  try {
    const expected = tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: 'F32' as const }));
    checkTensors(expected, loadedTensorInfos(m.tensors), dir);
    assert.throws(() => checkTensors(expected.slice(1), loadedTensorInfos(m.tensors), dir), /unexpected \(1\):\n {4}model\.embed_tokens\.weight \[16, 8\] F32/);
  } finally {
    m.tensors.close();
  }
});
