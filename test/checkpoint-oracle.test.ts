// Checkpoints checked by an independent reader: a saved model directory is parsed here with a
// safetensors reader written from the format's specification (8-byte little-endian header length,
// JSON header, raw little-endian data at the stated offsets), its tensor names and shapes are
// compared with the table of Hugging Face's DeepSeek-V3 layout written out from the config (the
// table of reference/deepseek.md §1.9), and BF16 storage is compared with round-to-nearest-even
// computed by comparing the two neighbouring bfloat16 values in float64 (not by bit tricks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeepseekV3 } from '../src/model/model.js';
import { getPreset } from '../src/model/presets.js';
import { saveModel } from '../src/model/checkpoint.js';
import type { ModelConfig } from '../src/model/config.js';

interface RawTensor { dtype: string; shape: number[]; bytes: Uint8Array }

/** Parses one .safetensors file from its specification. */
function readSafetensors(file: string): Map<string, RawTensor> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  assert.ok(8 + n <= buf.length, `${file}: header length ${n} runs past the file (${buf.length} bytes)`);
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  const out = new Map<string, RawTensor>();
  const spans: [number, number][] = [];
  const size: Record<string, number> = { F32: 4, BF16: 2, F16: 2 };
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const t = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [a, b] = t.data_offsets;
    assert.equal(b - a, t.shape.reduce((p, q) => p * q, 1) * size[t.dtype], `${name}: byte span ${b - a} does not match ${t.dtype} ${JSON.stringify(t.shape)}`);
    assert.ok(8 + n + b <= buf.length, `${name}: data ends past the file`);
    spans.push([a, b]);
    out.set(name, { dtype: t.dtype, shape: t.shape, bytes: new Uint8Array(buf.buffer, buf.byteOffset + 8 + n + a, b - a) });
  }
  // The specification requires the data section to be fully covered, without holes or overlaps.
  spans.sort((x, y) => x[0] - y[0]);
  let at = 0;
  for (const [a, b] of spans) { assert.equal(a, at, 'tensor data must be contiguous'); at = b; }
  assert.equal(8 + n + at, buf.length, 'no bytes after the last tensor');
  return out;
}

/** Every tensor of a DeepSeek-V3 checkpoint with its shape, written out from the config (HF names). */
function expectedLayout(c: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const D = c.hiddenSize, H = c.numAttentionHeads, qk = c.qkNopeHeadDim + c.qkRopeHeadDim;
  m.set('model.embed_tokens.weight', [c.vocabSize, D]);
  m.set('model.norm.weight', [D]);
  m.set('lm_head.weight', [c.vocabSize, D]);
  const layer = (L: number) => {
    const p = `model.layers.${L}.`;
    m.set(`${p}input_layernorm.weight`, [D]);
    m.set(`${p}post_attention_layernorm.weight`, [D]);
    if (c.qLoraRank) {
      m.set(`${p}self_attn.q_a_proj.weight`, [c.qLoraRank, D]);
      m.set(`${p}self_attn.q_a_layernorm.weight`, [c.qLoraRank]);
      m.set(`${p}self_attn.q_b_proj.weight`, [H * qk, c.qLoraRank]);
    } else {
      m.set(`${p}self_attn.q_proj.weight`, [H * qk, D]);
    }
    m.set(`${p}self_attn.kv_a_proj_with_mqa.weight`, [c.kvLoraRank + c.qkRopeHeadDim, D]);
    m.set(`${p}self_attn.kv_a_layernorm.weight`, [c.kvLoraRank]);
    m.set(`${p}self_attn.kv_b_proj.weight`, [H * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank]);
    m.set(`${p}self_attn.o_proj.weight`, [D, H * c.vHeadDim]);
    const mlp = (q: string, inter: number) => {
      m.set(`${q}gate_proj.weight`, [inter, D]);
      m.set(`${q}up_proj.weight`, [inter, D]);
      m.set(`${q}down_proj.weight`, [D, inter]);
    };
    if (L < c.firstKDenseReplace) { mlp(`${p}mlp.`, c.intermediateSize); return; }
    m.set(`${p}mlp.gate.weight`, [c.nRoutedExperts, D]);
    m.set(`${p}mlp.gate.e_score_correction_bias`, [c.nRoutedExperts]);
    for (let e = 0; e < c.nRoutedExperts; e++) mlp(`${p}mlp.experts.${e}.`, c.moeIntermediateSize);
    mlp(`${p}mlp.shared_experts.`, c.moeIntermediateSize * c.nSharedExperts);
  };
  for (let L = 0; L < c.numHiddenLayers; L++) layer(L);
  for (let k = 0; k < c.numNextnPredictLayers; k++) {
    const L = c.numHiddenLayers + k, p = `model.layers.${L}.`;
    layer(L); // the MTP module's full decoder layer
    m.set(`${p}enorm.weight`, [D]);
    m.set(`${p}hnorm.weight`, [D]);
    m.set(`${p}eh_proj.weight`, [D, 2 * D]);
    m.set(`${p}shared_head.norm.weight`, [D]);
    m.set(`${p}embed_tokens.weight`, [c.vocabSize, D]); // copies of the shared tables, as real checkpoints store
    m.set(`${p}shared_head.head.weight`, [c.vocabSize, D]);
  }
  return m;
}

/** float32 → bfloat16 bits, round to nearest, ties to even, by comparing both neighbours in float64. */
function bf16Nearest(x: number): number {
  const f = new Float32Array([x]), u = new Uint32Array(f.buffer)[0];
  const down = u >>> 16, up = (down + 1) & 0xffff;
  const val = (h: number) => new Float32Array(new Uint32Array([h << 16]).buffer)[0];
  const dd = Math.abs(x - val(down)), du = Math.abs(val(up) - x);
  if (dd < du) return down;
  if (du < dd) return up;
  return (down & 1) === 0 ? down : up;
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-ckoracle-'));

function modelWithValues(): DeepseekV3 {
  const model = new DeepseekV3(getPreset('nano'), 11);
  // Give the routing bias and norms non-trivial values so a dropped or swapped tensor shows.
  for (const [name, t] of model.namedTensors()) {
    if (name.endsWith('e_score_correction_bias') || name.endsWith('norm.weight')) {
      const a = t.f32();
      for (let i = 0; i < a.length; i++) a[i] = 0.5 + 0.01 * ((i * 7 + name.length) % 13);
    }
  }
  return model;
}

test('a saved F32 model directory, read by an independent safetensors parser: HF DeepSeek-V3 names and shapes, every value bit-exact, MTP copies equal the shared tables', () => {
  const model = modelWithValues();
  const dir = tmp();
  saveModel(dir, model);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.model_type, 'deepseek_v3');
  assert.deepEqual(cfg.architectures, ['DeepseekV3ForCausalLM']);
  const c = model.cfg;
  for (const [k, v] of Object.entries({ hidden_size: c.hiddenSize, num_hidden_layers: c.numHiddenLayers, n_routed_experts: c.nRoutedExperts, kv_lora_rank: c.kvLoraRank, q_lora_rank: c.qLoraRank, qk_rope_head_dim: c.qkRopeHeadDim, n_group: c.nGroup, topk_group: c.topkGroup, topk_method: 'noaux_tc', scoring_func: 'sigmoid', num_nextn_predict_layers: c.numNextnPredictLayers })) {
    assert.equal(cfg[k], v, `config.json ${k}`);
  }
  const raw = readSafetensors(path.join(dir, 'model.safetensors'));
  const want = expectedLayout(c);
  assert.deepEqual([...raw.keys()].sort(), [...want.keys()].sort(), 'tensor names = the HF DeepSeek-V3 layout');
  for (const [name, shape] of want) assert.deepEqual(raw.get(name)!.shape, shape, `${name} shape`);
  const own = new Map(model.namedTensors());
  for (const [name, t] of own) {
    const r = raw.get(name)!;
    assert.equal(r.dtype, 'F32', name);
    const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength), a = t.f32();
    for (let i = 0; i < a.length; i++) if (dv.getFloat32(4 * i, true) !== a[i]) assert.fail(`${name}[${i}]: file ${dv.getFloat32(4 * i, true)}, model ${a[i]}`);
  }
  const L = c.numHiddenLayers;
  assert.deepEqual(raw.get(`model.layers.${L}.embed_tokens.weight`)!.bytes, raw.get('model.embed_tokens.weight')!.bytes);
  assert.deepEqual(raw.get(`model.layers.${L}.shared_head.head.weight`)!.bytes, raw.get('lm_head.weight')!.bytes);
});

test('BF16 storage is round-to-nearest-even of every float32 value (ties included), read independently', () => {
  const model = modelWithValues();
  // Plant exact ties and near-ties in one tensor: x = bf16 value + half an ulp (tie), ± one float32 ulp.
  const w = model.model.norm.weight.f32();
  const tieBase = [1.0, 1.0078125, -3.0, 2.015625];
  for (let i = 0; i < tieBase.length; i++) {
    const u = new Uint32Array(new Float32Array([tieBase[i]]).buffer)[0];
    w[3 * i] = new Float32Array(new Uint32Array([u + 0x8000]).buffer)[0]; // exactly halfway
    w[3 * i + 1] = new Float32Array(new Uint32Array([u + 0x7fff]).buffer)[0]; // just below halfway
    w[3 * i + 2] = new Float32Array(new Uint32Array([u + 0x8001]).buffer)[0]; // just above
  }
  const dir = tmp();
  saveModel(dir, model, { dtype: 'BF16' });
  const raw = readSafetensors(path.join(dir, 'model.safetensors'));
  for (const [name, t] of model.namedTensors()) {
    const r = raw.get(name)!;
    assert.equal(r.dtype, 'BF16', name);
    const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength), a = t.f32();
    for (let i = 0; i < a.length; i++) {
      const got = dv.getUint16(2 * i, true), want = bf16Nearest(a[i]);
      if (got !== want) assert.fail(`${name}[${i}] = ${a[i]}: stored 0x${got.toString(16)}, nearest-even is 0x${want.toString(16)}`);
    }
  }
});

test('a sharded save: the index maps every tensor to the shard that holds it, shards parse independently, total_size is the data bytes', () => {
  const model = modelWithValues();
  const dir = tmp();
  saveModel(dir, model, { shardBytes: 200_000 });
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  const shards = [...new Set(Object.values(index.weight_map))].sort();
  assert.ok(shards.length >= 2, `expected several shards, found ${shards.join(', ')}`);
  shards.forEach((s, i) => assert.equal(s, `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`));
  let bytes = 0;
  const seen = new Set<string>();
  for (const s of shards) {
    for (const [name, t] of readSafetensors(path.join(dir, s))) {
      assert.equal(index.weight_map[name], s, `${name} is in ${s}`);
      assert.ok(!seen.has(name), `${name} stored twice`);
      seen.add(name);
      bytes += t.bytes.byteLength;
    }
  }
  assert.deepEqual([...seen].sort(), Object.keys(index.weight_map).sort());
  assert.deepEqual([...seen].sort(), [...expectedLayout(model.cfg).keys()].sort());
  assert.equal(index.metadata.total_size, bytes);
});
