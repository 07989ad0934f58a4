// The dense Qwen2 / Llama student (src/model/dense): logits of tiny random models against an
// independent float64 implementation of transformers' modeling_qwen2.py / modeling_llama.py written
// out below (GQA with repeat_kv, rotate-half RoPE, q/k/v biases, SwiGLU, RMSNorm, tied or untied
// head) — and proof that the comparison is sensitive: adjacent-pair RoPE (DeepSeek's convention) or
// dropped biases in the reference miss by orders of magnitude more than the tolerance. Also the KV
// cache against full forwards, gradients by finite differences, the HF directory layout of
// DeepSeek-R1-Distill-Qwen, config validation, presets and the trainer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor, Rng, tidy, noGrad, setFloat64Mode } from '../src/tensor/index.js';
import { referenceBackend, setBackend, backend } from '../src/backend/index.js';
import { DenseForCausalLM } from '../src/model/dense/model.js';
import { denseConfigFromHF, denseConfigToHF, type DenseConfig } from '../src/model/dense/config.js';
import { denseTensors, denseElements } from '../src/model/dense/shapes.js';
import { ropeHalf } from '../src/model/dense/rotary.js';
import { getAnyPreset, getPreset } from '../src/model/presets.js';
import { KVCache } from '../src/model/cache.js';
import { GqaKVCache } from '../src/model/dense/cache.js';
import { saveModel, loadModel } from '../src/model/checkpoint.js';
import { ConfigError } from '../src/model/config.js';
import { countAnyParams } from '../src/analysis/dense-params.js';
import { countParams } from '../src/analysis/params.js';
import { ropeTables } from '../src/ops/rope.js';
import { Generator } from '../src/infer/generator.js';
import { loadSafetensors } from '../src/io/index.js';
import { gradCheck } from './helpers/gradcheck.js';

/** A tiny config of either family: GQA (4 query heads over 2 kv heads), head_dim 8. */
function tiny(modelType: 'qwen2' | 'llama', over: Record<string, unknown> = {}): DenseConfig {
  return denseConfigFromHF({
    model_type: modelType, vocab_size: 40, hidden_size: 24, intermediate_size: 40, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, max_position_embeddings: 64, rms_norm_eps: 1e-6,
    rope_theta: 100, tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 1, ...over,
  });
}

/** A model with every tensor random (norm scales around 1, biases nonzero), so nothing is left at its init. */
function randomModel(cfg: DenseConfig, seed: number): DenseForCausalLM {
  const m = new DenseForCausalLM(cfg, seed);
  const rng = new Rng(seed + 100);
  for (const [name, t] of m.namedTensors()) {
    const d = t.f32();
    const norm = name.endsWith('layernorm.weight') || name === 'model.norm.weight';
    for (let i = 0; i < d.length; i++) d[i] = norm ? 1 + 0.3 * rng.normal() : (name.endsWith('.bias') ? 0.5 : 0.35) * rng.normal();
  }
  return m;
}

interface RefOptions {
  /** 'half' = HF's rotate_half (the correct one); 'pairs' = DeepSeek's adjacent pairs (a mutation). */
  rope: 'half' | 'pairs';
  /** false drops every bias (a mutation). */
  biases: boolean;
}

/**
 * transformers' Qwen2ForCausalLM / LlamaForCausalLM forward in float64, one sequence, written from
 * the modeling files: returns logits [T, V] of ids.
 */
function referenceLogits(cfg: DenseConfig, m: DenseForCausalLM, ids: number[], o: RefOptions = { rope: 'half', biases: true }): Float64Array {
  const W = new Map(m.namedTensors().map(([n, t]) => [n, Float64Array.from(t.f32())]));
  const w = (n: string) => W.get(n)!;
  const b = (n: string) => (o.biases ? W.get(n) : undefined);
  const D = cfg.hiddenSize, H = cfg.numAttentionHeads, Hkv = cfg.numKeyValueHeads, hd = cfg.headDim, F = cfg.intermediateSize, V = cfg.vocabSize;
  const T = ids.length;
  // y = x·Wᵀ + b (nn.Linear)
  const lin = (x: Float64Array, weight: Float64Array, out: number, bias?: Float64Array) => {
    const inp = x.length, y = new Float64Array(out);
    for (let r = 0; r < out; r++) { let s = bias ? bias[r] : 0; for (let c = 0; c < inp; c++) s += weight[r * inp + c] * x[c]; y[r] = s; }
    return y;
  };
  // Qwen2RMSNorm: x · rsqrt(mean(x²) + eps) · weight
  const rms = (x: Float64Array, weight: Float64Array) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const r = 1 / Math.sqrt(ss / x.length + cfg.rmsNormEps);
    return x.map((v, i) => v * r * weight[i]);
  };
  // inv_freq = 1 / theta^(2i/hd); rotate_half pairs (i, i + hd/2), DeepSeek pairs (2i, 2i+1)
  const rope = (x: Float64Array, heads: number, pos: number) => {
    const y = Float64Array.from(x);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < hd / 2; i++) {
        const a = pos / Math.pow(cfg.ropeTheta, (2 * i) / hd);
        const [p0, p1] = o.rope === 'half' ? [h * hd + i, h * hd + i + hd / 2] : [h * hd + 2 * i, h * hd + 2 * i + 1];
        y[p0] = x[p0] * Math.cos(a) - x[p1] * Math.sin(a);
        y[p1] = x[p1] * Math.cos(a) + x[p0] * Math.sin(a);
      }
    }
    return y;
  };
  const silu = (v: number) => v / (1 + Math.exp(-v));
  let xs = ids.map((id) => w('model.embed_tokens.weight').slice(id * D, (id + 1) * D));
  for (let l = 0; l < cfg.numHiddenLayers; l++) {
    const p = `model.layers.${l}.`;
    const hs = xs.map((x) => rms(x, w(`${p}input_layernorm.weight`)));
    const q = hs.map((h, t) => rope(lin(h, w(`${p}self_attn.q_proj.weight`), H * hd, b(`${p}self_attn.q_proj.bias`)), H, t));
    const k = hs.map((h, t) => rope(lin(h, w(`${p}self_attn.k_proj.weight`), Hkv * hd, b(`${p}self_attn.k_proj.bias`)), Hkv, t));
    const v = hs.map((h) => lin(h, w(`${p}self_attn.v_proj.weight`), Hkv * hd, b(`${p}self_attn.v_proj.bias`)));
    xs = xs.map((x, t) => {
      const attn = new Float64Array(H * hd);
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / (H / Hkv)); // repeat_kv: query head h reads kv head h // n_rep
        const s = Array.from({ length: t + 1 }, (_, j) => {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[t][h * hd + i] * k[j][g * hd + i];
          return dot / Math.sqrt(hd);
        });
        const mx = Math.max(...s);
        const e = s.map((z) => Math.exp(z - mx));
        const Z = e.reduce((a2, c) => a2 + c, 0);
        for (let j = 0; j <= t; j++) for (let i = 0; i < hd; i++) attn[h * hd + i] += (e[j] / Z) * v[j][g * hd + i];
      }
      const out = lin(attn, w(`${p}self_attn.o_proj.weight`), D, b(`${p}self_attn.o_proj.bias`));
      const a = x.map((xv, i) => xv + out[i]);
      const h2 = rms(a, w(`${p}post_attention_layernorm.weight`));
      const gate = lin(h2, w(`${p}mlp.gate_proj.weight`), F), up = lin(h2, w(`${p}mlp.up_proj.weight`), F);
      const mlp = lin(gate.map((gv, i) => silu(gv) * up[i]), w(`${p}mlp.down_proj.weight`), D);
      return a.map((av, i) => av + mlp[i]);
    });
  }
  const head = cfg.tieWordEmbeddings ? w('model.embed_tokens.weight') : w('lm_head.weight');
  const logits = new Float64Array(T * V);
  xs.forEach((x, t) => logits.set(lin(rms(x, w('model.norm.weight')), head, V), t * V));
  return logits;
}

function tinyseekLogits(m: DenseForCausalLM, ids: number[]): Float32Array {
  let out: Float32Array = new Float32Array(0);
  noGrad(() => tidy(() => { out = m.forward(Tensor.ints(ids, [1, ids.length])).logits.toFloat32Array(); }));
  return out;
}

/** max |a − b| / (1 + max |b|): float32 against float64 at the logits' own scale. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, s = 0;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); }
  return d / (1 + s);
}

const IDS = [0, 5, 17, 3, 3, 29, 11, 38, 2, 21, 7, 9];

const CASES: { name: string; cfg: () => DenseConfig }[] = [
  { name: 'Qwen2 (GQA, q/k/v biases, untied head)', cfg: () => tiny('qwen2') },
  { name: 'Qwen2 with tied embeddings', cfg: () => tiny('qwen2', { tie_word_embeddings: true }) },
  { name: 'Llama (GQA, no biases)', cfg: () => tiny('llama') },
  { name: 'Llama with attention_bias (q/k/v and o_proj biases)', cfg: () => tiny('llama', { attention_bias: true }) },
];

for (const c of CASES) {
  test(`${c.name}: logits equal the float64 reference of modeling_qwen2/llama to 1e-5, and mutated references miss`, () => {
    const cfg = c.cfg();
    const m = randomModel(cfg, 7);
    const got = tinyseekLogits(m, IDS);
    const want = referenceLogits(cfg, m, IDS);
    const err = relErr(got, want);
    assert.ok(err < 1e-5, `relative error ${err}`);
    // The comparison can fail: DeepSeek's adjacent-pair RoPE, or no biases, give a different model.
    const pairs = relErr(got, referenceLogits(cfg, m, IDS, { rope: 'pairs', biases: true }));
    assert.ok(pairs > 1e-2, `adjacent-pair RoPE should not match (error ${pairs})`);
    if (cfg.qkvBias) {
      const noBias = relErr(got, referenceLogits(cfg, m, IDS, { rope: 'half', biases: false }));
      assert.ok(noBias > 1e-2, `dropping the biases should not match (error ${noBias})`);
    }
  });
}

test('Qwen2 has q/k/v biases and no o_proj bias; Llama has biases exactly when attention_bias', () => {
  const names = (cfg: DenseConfig) => [...denseTensors(cfg)].map((t) => t.name).filter((n) => n.endsWith('.bias') && n.includes('layers.0.'));
  assert.deepEqual(names(tiny('qwen2')), ['model.layers.0.self_attn.q_proj.bias', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.0.self_attn.v_proj.bias']);
  assert.deepEqual(names(tiny('llama')), []);
  assert.deepEqual(names(tiny('llama', { attention_bias: true })), [
    'model.layers.0.self_attn.q_proj.bias', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.0.self_attn.v_proj.bias', 'model.layers.0.self_attn.o_proj.bias',
  ]);
});

test('the GQA KV cache: prefill then one token at a time gives the full forward\'s logits (two slots, different lengths)', () => {
  const cfg = tiny('qwen2');
  const m = randomModel(cfg, 3);
  const full = tinyseekLogits(m, IDS);
  const V = cfg.vocabSize;
  noGrad(() => {
    const cache = m.newCache(2, 32);
    // slot 1 holds another sequence, so rows are padded against each other
    tidy(() => { m.forward(Tensor.ints([4, 4, 4], [1, 3]), { cache: { cache, slots: Int32Array.of(1) } }); });
    tidy(() => {
      const pre = m.forward(Tensor.ints(IDS.slice(0, 5), [1, 5]), { cache: { cache, slots: Int32Array.of(0) } }).logits.toFloat32Array();
      assert.ok(relErr(pre, full.subarray(0, 5 * V)) < 1e-6);
    });
    for (let t = 5; t < IDS.length; t++) {
      tidy(() => {
        const step = m.forward(Tensor.ints([IDS[t], 6], [2, 1]), { cache: { cache, slots: Int32Array.of(0, 1) } }).logits.toFloat32Array();
        assert.ok(relErr(step.subarray(0, V), full.subarray(t * V, (t + 1) * V)) < 1e-6, `position ${t}`);
      });
    }
    assert.equal(cache.lengths[0], IDS.length);
    assert.equal(cache.valuesPerToken(), 2 * cfg.numKeyValueHeads * cfg.headDim * cfg.numHiddenLayers);
  });
});

test('the batched generator decodes a dense model greedily like repeated full forwards', async () => {
  const cfg = tiny('llama', { tie_word_embeddings: true });
  const m = randomModel(cfg, 11);
  m.eval();
  const gen = new Generator(m, { maxBatch: 4, maxLen: 32 });
  const prompt = [0, 9, 14, 2];
  const [a, b] = await gen.generateAll([
    { prompt, maxNewTokens: 10, sampling: { temperature: 0 } },
    { prompt: [0, 3], maxNewTokens: 10, sampling: { temperature: 0 } },
  ]);
  const seq = [...prompt];
  for (let i = 0; i < 10; i++) {
    const l = tinyseekLogits(m, seq).subarray((seq.length - 1) * cfg.vocabSize);
    let arg = 0;
    for (let v = 1; v < l.length; v++) if (l[v] > l[arg]) arg = v;
    seq.push(arg);
  }
  assert.deepEqual(a.tokens, seq.slice(prompt.length));
  assert.equal(b.tokens.length, 10);
  assert.throws(() => new Generator(m, { speculative: true }), /MTP/);
});

test('gradients of the loss (rotate-half RoPE, GQA, biases) match finite differences in float64', () => {
  const prev = backend();
  setBackend(referenceBackend());
  setFloat64Mode(true);
  try {
    // ropeHalf alone
    const tables = ropeTables(8, 100, 16);
    const x = Tensor.randn([2, 3, 2, 8], new Rng(1));
    const pos = Int32Array.from([0, 1, 2, 5, 6, 7]);
    const r = gradCheck([x], ([a]) => ropeHalf(a, pos, tables));
    assert.ok(r.maxRelErr < 1e-5, `ropeHalf: ${r.worst}`);
    // the whole model's loss w.r.t. a few of its tensors
    const cfg = tiny('qwen2', { num_hidden_layers: 1 });
    const m = randomModel(cfg, 5);
    const ids = Tensor.ints([0, 5, 17, 3, 29, 11, 2], [1, 7]);
    const named = new Map(m.namedTensors());
    const probe = ['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.0.self_attn.v_proj.weight', 'model.layers.0.input_layernorm.weight'];
    const ts = probe.map((n) => named.get(n)!);
    const g = gradCheck(ts, () => m.loss(ids).loss, [], 1e-6, 12);
    assert.ok(g.maxRelErr < 1e-4, `loss: ${g.worst}`);
  } finally {
    setFloat64Mode(false);
    setBackend(prev);
  }
});

test('saved as DeepSeek-R1-Distill-Qwen is laid out: Qwen2ForCausalLM config, HF tensor names; reloads exactly', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-dense-'));
  try {
    const cfg = tiny('qwen2');
    const m = randomModel(cfg, 2);
    saveModel(tmp, m);
    const config = JSON.parse(fs.readFileSync(path.join(tmp, 'config.json'), 'utf8'));
    assert.equal(config.model_type, 'qwen2');
    assert.deepEqual(config.architectures, ['Qwen2ForCausalLM']);
    assert.equal(config.num_key_value_heads, 2);
    assert.equal(config.hidden_act, 'silu');
    const names = loadSafetensors(path.join(tmp, 'model.safetensors')).map((t) => t.name).sort();
    const expected = [
      'lm_head.weight', 'model.embed_tokens.weight', 'model.norm.weight',
      ...[0, 1].flatMap((l) => [
        'input_layernorm.weight', 'post_attention_layernorm.weight', 'mlp.gate_proj.weight', 'mlp.up_proj.weight', 'mlp.down_proj.weight',
        'self_attn.q_proj.weight', 'self_attn.q_proj.bias', 'self_attn.k_proj.weight', 'self_attn.k_proj.bias',
        'self_attn.v_proj.weight', 'self_attn.v_proj.bias', 'self_attn.o_proj.weight',
      ].map((n) => `model.layers.${l}.${n}`)),
    ].sort();
    assert.deepEqual(names, expected);
    const back = loadModel(tmp);
    assert.ok(back instanceof DenseForCausalLM);
    assert.deepEqual(tinyseekLogits(back, IDS), tinyseekLogits(m, IDS));
    assert.deepEqual(denseConfigToHF(back.cfg), config);
    // namedTensors and the allocation-free listing agree (names, shapes, order, count)
    assert.deepEqual(m.namedTensors().map(([n, t]) => [n, t.shape]), [...denseTensors(cfg)].map((t) => [t.name, t.shape]));
    assert.equal(denseElements(cfg), m.namedTensors().reduce((a, [, t]) => a + t.numel, 0));
    // a config that does not belong to the weights is refused before allocation, naming the tensor
    config.num_key_value_heads = 1;
    fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(config));
    assert.throws(() => loadModel(tmp), /k_proj\.weight: expected \[8, 24\], found \[16, 24\]/);
    config.num_key_value_heads = 4; // more parameters than stored: refused by the count, before the shapes
    fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(config));
    assert.throws(() => loadModel(tmp), /describes a model of 14,136 parameters .*num_key_value_heads 4.* but the weights hold only 12,536 values/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('config validation names the key, the expected and the found value', () => {
  const refused = (over: Record<string, unknown>, re: RegExp) => {
    assert.throws(() => tiny('qwen2', over), (e: unknown) => e instanceof ConfigError && re.test(e.message), JSON.stringify(over));
  };
  refused({ hidden_act: 'gelu' }, /config key "hidden_act": expected "silu".*found "gelu"/);
  refused({ num_key_value_heads: 3 }, /config key "num_key_value_heads": expected a divisor of num_attention_heads \(4\).*found 3/);
  refused({ head_dim: 7 }, /"head_dim": expected an even number/);
  refused({ rope_scaling: { type: 'yarn', factor: 4 } }, /"rope_scaling": expected null/);
  refused({ use_sliding_window: true }, /"use_sliding_window": expected false/);
  refused({ eos_token_id: 40 }, /"eos_token_id": expected less than vocab_size \(40\), found 40/);
  assert.throws(() => denseConfigFromHF({ model_type: 'qwen2', hidden_size: 8 }, { requireKeys: true }), /missing 5 keys "vocab_size"/);
  // without head_dim, hidden_size must split into the heads
  assert.throws(() => tiny('qwen2', { head_dim: undefined, hidden_size: 26 }), /"hidden_size": expected a multiple of num_attention_heads \(4\)/);
  assert.equal(tiny('qwen2', { head_dim: undefined }).headDim, 6);
});

test('student presets: dense Qwen2, about a fifth of their teacher\'s activated parameters (student-micro a twelfth of mini\'s, student-pico a fifteenth)', () => {
  for (const [student, teacher] of [['student-nano', 'nano'], ['student-mini', 'mini']] as const) {
    const s = getAnyPreset(student) as DenseConfig;
    assert.equal(s.modelType, 'qwen2');
    assert.ok(s.numKeyValueHeads < s.numAttentionHeads, 'GQA');
    const ratio = countAnyParams(s).activated / countParams(getPreset(teacher)).activated;
    assert.ok(ratio > 0.17 && ratio < 0.23, `${student}: ${ratio}`);
    assert.equal(countAnyParams(s).total, denseElements(s));
  }
  for (const [name, lo, hi] of [['student-micro', 0.07, 0.1], ['student-pico', 0.055, 0.075]] as const) {
    const s = getAnyPreset(name) as DenseConfig;
    const r = countAnyParams(s).activated / countParams(getPreset('mini')).activated;
    assert.ok(r > lo && r < hi, `${name}: ${r} of mini's activated parameters`);
    assert.equal(s.modelType, 'qwen2');
    assert.equal(countAnyParams(s).total, denseElements(s));
  }
  assert.throws(() => getPreset('student-mini'), /dense qwen2 model, not DeepSeek-V3\/V2/);
});

test('KV caches: width per token (GQA 2·Hkv·hd, MLA kv_lora_rank + rope dim) and a clear refusal when a slot or the length runs out', () => {
  const g = new GqaKVCache(tiny('qwen2'), 2, 5);
  assert.equal(g.width, 2 * 2 * 8);
  assert.equal(g.kvDim, 16);
  assert.equal(g.valuesPerToken(), 32 * 2);
  assert.equal(g.data.length, 2);
  assert.equal(g.data[0].length, 2 * 5 * 32);
  g.lengths[1] = 4;
  g.ensureRoom(Int32Array.of(0, 1), 1);
  assert.throws(() => g.ensureRoom(Int32Array.of(1), 2), /GqaKVCache: slot 1 holds 4 tokens; 2 more exceed the cache length 5/);
  assert.throws(() => g.ensureRoom(Int32Array.of(2), 1), /GqaKVCache: slot 2 outside \[0, 2\)/);
  assert.throws(() => g.ensureRoom(Int32Array.of(-1), 1), /slot -1 outside/);
  g.reset(1);
  g.ensureRoom(Int32Array.of(1), 5);
  const nano = getPreset('nano');
  const m = new KVCache(nano, 3, 7, 1);
  assert.equal(m.width, nano.kvLoraRank + nano.qkRopeHeadDim);
  assert.equal(m.valuesPerToken(), m.width);
  assert.throws(() => m.ensureRoom(Int32Array.of(0), 8), /KVCache: slot 0 holds 0 tokens; 8 more exceed the cache length 7/);
});
