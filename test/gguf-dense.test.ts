// GGUF export of the dense students, checked against llama.cpp itself (node-llama-cpp 3.21.1, CPU):
// a Qwen2 model (q/k/v biases, untied head → llama.cpp `qwen2`, rotate-half "NEOX" RoPE) and a Llama
// model (attention_bias, tied head → llama.cpp `llama`, adjacent-pair "NORM" RoPE, q/k rows permuted
// as convert_hf_to_gguf.py's LlamaModel.permute does) are trained on a repeated text until their
// attention depends on position, saved as HF directories, exported and loaded by llama.cpp, which is
// fed the same token ids: its greedy continuation must equal tinyseek's Generator for 40 tokens, and
// along it (8 steps) its next-token distributions over the whole vocabulary must match tinyseek's and a
// float64 reference forward written from transformers' modeling code (./helpers/dense-f64.ts).
//
// Which side deviates. Neither forward pass: tinyseek and llama.cpp are each within ~5e-8 of float64
// in probability (1–3e-6 in log-probability: the float32 rounding of logits of size ~10), both
// families. The deviation is in how node-llama-cpp hands llama.cpp's logits back: its addon
// (AddonContext.cpp, SampleToken) sorts the logits descending and divides each expf(l − max) by a
// float32 running sum. Once the top token has made that sum ≈ 1 (ulp 2⁻²³ ≈ 1.2e-7), each of the
// ~500 tail terms is rounded to a whole ulp; usually those roundings cancel (sum off by 1e-7–1e-6:
// Qwen2's "1.3e-6"), but on the Llama student's step 6 (top p = 0.988) 433 of 511 additions round
// up, the sum comes out 1.13e-5 too large and every returned probability is 1.1e-5 too small
// relatively (they sum to 0.9999888). That one readout step was the whole "Llama 10× worse than
// Qwen2" (max |Δp| 1.1e-5 vs 1.3e-6) — not the q/k permutation, tied head, o_proj bias, epsilon or
// RoPE table (emulating ggml's float32 theta_scale powers in the reference changed nothing measurable).
// So the test (a) checks that the returned probabilities' float64 sum equals that of an emulated
// float32 readout of the float64 logits (to 1e-6: the readout IS the deviation), (b) undoes it by
// renormalizing them in float64 — ratios p_i/p_j, i.e. llama.cpp's logits, untouched — and holds
// llama.cpp to float64 and to tinyseek within 1e-6 in probability and 1e-5 in log-probability
// (issue #14 asks ≤ 1e-5), (c) keeps the bounds on the raw readout it always had (2e-5 / 5e-5), and
// (d) holds tinyseek to float64 within 1e-6 / 5e-6. A Llama file written WITHOUT the q/k permutation
// is shown to fail the same comparison (so it can fail: 2e-4–2e-2 in probability, 0.16–1.9 in
// log-probability).
// Skipped with a message if node-llama-cpp cannot load (a failure under TINYSEEK_REQUIRE_TOOLS=1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor, tidy, noGrad } from '../src/tensor/index.js';
import { DenseForCausalLM } from '../src/model/dense/model.js';
import { denseConfigFromHF } from '../src/model/dense/config.js';
import { saveModel } from '../src/model/checkpoint.js';
import { AdamW } from '../src/nn/optim.js';
import { warmupCosine } from '../src/nn/schedule.js';
import { fitTokenCycle } from '../src/train/stream-fit.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { Generator } from '../src/infer/generator.js';
import { loadModelDir, type LoadedModel } from '../src/infer/load.js';
import { exportGguf } from '../src/model/gguf-export.js';
import { denseGgufMetadata, denseGgufTensors, permuteRotateHalfToPairs } from '../src/model/dense/gguf-export.js';
import { GgufFile, writeGguf } from '../src/io/gguf.js';
import * as O from '../src/ops/index.js';
import { skipOrFail } from './helpers/tools.js';
import { denseNextTokenLogitsF64, softmaxF64 } from './helpers/dense-f64.js';

import type { Token } from 'node-llama-cpp';

type NodeLlamaCpp = typeof import('node-llama-cpp');
type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;

const TEXT = 'Once upon a time, a tiny model learned to count: 1 2 3 4 5 6 7 8 9 10. Then it sang a song about the quick brown fox who jumps over the lazy dog, and every night it dreamed of 42 stars. ';
const NEW_TOKENS = 40;

let tmp = '';
let tok: Tokenizer;
let prompt: number[];
let llama: Llama | null = null;
let skipReason = '';
const students: Record<'qwen2' | 'llama', { lm: LoadedModel; expected: number[] }> = {} as never;

/** A small dense model of either family, trained on the repeated text (it memorizes the cycle). */
function trainStudent(modelType: 'qwen2' | 'llama', over: Record<string, unknown>): DenseForCausalLM {
  const cfg = denseConfigFromHF({
    model_type: modelType, vocab_size: 512, hidden_size: 48, intermediate_size: 96, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128, rms_norm_eps: 1e-6,
    rope_theta: 10000, bos_token_id: 0, eos_token_id: 1, ...over,
  });
  const model = new DenseForCausalLM(cfg, 3);
  const steps = 200;
  const opt = new AdamW(model.namedParameters(), { lr: 3e-3, weightDecay: 0.01 });
  fitTokenCycle(model, opt, tok.encode(TEXT), {
    steps, batch: 4, seqLen: 48, seed: 5, lr: (s) => warmupCosine(s, { peak: 3e-3, min: 3e-4, warmup: 20, total: steps }),
  });
  return model;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-gguf-dense-'));
  tok = Tokenizer.train([TEXT, TEXT], { vocabSize: 512, minFrequency: 1 });
  prompt = tok.encode(TEXT).slice(0, 6);
  const variants = { qwen2: { tie_word_embeddings: false }, llama: { tie_word_embeddings: true, attention_bias: true } };
  for (const [t, over] of Object.entries(variants) as ['qwen2' | 'llama', Record<string, unknown>][]) {
    const dir = path.join(tmp, t);
    saveModel(dir, trainStudent(t, over));
    tok.save(dir);
    const lm = loadModelDir(dir); // through disk, as the CLI does
    const gen = new Generator(lm.model, { maxBatch: 1, maxLen: 128 });
    const expected = (await gen.generate({ prompt, maxNewTokens: NEW_TOKENS, sampling: { temperature: 0 } })).tokens;
    students[t] = { lm, expected };
  }
  try {
    const nlc = await import('node-llama-cpp');
    llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.error });
  } catch (e) {
    skipReason = `node-llama-cpp could not load (${(e as Error).message.split('\n')[0]}); install it with: npm i -D -E node-llama-cpp@3.21.1`;
  }
});

after(async () => {
  await llama?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** llama.cpp's greedy continuation of `prompt` and its next-token distribution at every step. */
async function llamaGreedy(file: string): Promise<{ tokens: number[]; probs: Map<number, number>[] }> {
  const model = await llama!.loadModel({ modelPath: file });
  try {
    // F32 KV cache and no flash attention: llama.cpp's CPU flash-attention kernel is the less exact one
    // (with it, log-probabilities differ by ~2e-4 instead of ~2e-6). One thread: a correctness test on a shared machine.
    const ctx = await model.createContext({ contextSize: 128, threads: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
    const tokens: number[] = [];
    const probs: Map<number, number>[] = [];
    for await (const o of ctx.getSequence().evaluateWithMetadata(prompt as Token[], { probabilities: true }, { temperature: 0 })) {
      tokens.push(o.token as number);
      probs.push(o.probabilities as Map<number, number>);
      if (tokens.length >= NEW_TOKENS) break;
    }
    await ctx.dispose();
    return { tokens, probs };
  } finally {
    await model.dispose();
  }
}

/** The largest |p_a − p_b| over the vocabulary and |log p_a − log p_b| over tokens the float64 reference gives p > 1e-4. */
interface Diff { prob: number; logProb: number }

/** Widens d by the differences between distributions a and b (log-probabilities where ref > 1e-4). */
function widen(d: Diff, a: ArrayLike<number>, b: ArrayLike<number>, ref: ArrayLike<number>): void {
  for (let v = 0; v < ref.length; v++) {
    d.prob = Math.max(d.prob, Math.abs(a[v] - b[v]));
    if (ref[v] > 1e-4) d.logProb = Math.max(d.logProb, Math.abs(Math.log(a[v]) - Math.log(b[v])));
  }
}

/**
 * The float64 sum node-llama-cpp's returned probabilities would have for these logits: its addon
 * sorts them descending and divides each expf(l − max) by a float32 running sum (AddonContext.cpp).
 */
function nodeLlamaCppReadoutSum(logits: Float64Array): number {
  const f = Math.fround;
  const l = Array.from(logits, f).sort((a, b) => b - a);
  let f32 = 0, exact = 0;
  for (const z of l) {
    const e = f(Math.exp(f(z - l[0])));
    f32 = f(f32 + e);
    exact += e;
  }
  return exact / f32;
}

/**
 * Along llama.cpp's own continuation (`steps` steps), the worst differences between tinyseek (ts),
 * llama.cpp as node-llama-cpp returns it (raw), llama.cpp renormalized in float64 (llama) and the
 * float64 reference (f64); and the worst |Σ raw − nodeLlamaCppReadoutSum(f64 logits)|.
 * (A trained model's confident steps compress probability differences; log-probabilities do not.)
 */
function compare(lm: LoadedModel, got: { tokens: number[]; probs: Map<number, number>[] }, steps: number) {
  const seq = [...prompt];
  const zero = (): Diff => ({ prob: 0, logProb: 0 });
  const d = { tsRaw: zero(), tsLlama: zero(), tsF64: zero(), llamaF64: zero(), readoutSum: 0 };
  for (let s = 0; s < steps; s++) {
    let ts: Float32Array = new Float32Array(0);
    noGrad(() => tidy(() => { ts = O.softmax(lm.model.forward(Tensor.ints(seq, [1, seq.length]), { lastOnly: true }).logits, -1).toFloat32Array(); }));
    const logits = denseNextTokenLogitsF64(lm.model as DenseForCausalLM, seq);
    const f64 = softmaxF64(logits);
    const raw = Float64Array.from(ts, (_, v) => got.probs[s].get(v) ?? 0);
    const sum = raw.reduce((a, b) => a + b, 0);
    const llama = raw.map((x) => x / sum);
    widen(d.tsRaw, ts, raw, f64);
    widen(d.tsLlama, ts, llama, f64);
    widen(d.tsF64, ts, f64, f64);
    widen(d.llamaF64, llama, f64, f64);
    d.readoutSum = Math.max(d.readoutSum, Math.abs(sum - nodeLlamaCppReadoutSum(logits)));
    seq.push(got.tokens[s]);
  }
  return d;
}

test('the trained students continue their corpus non-trivially (tinyseek greedy)', () => {
  for (const t of ['qwen2', 'llama'] as const) {
    const { expected } = students[t];
    assert.equal(expected.length, NEW_TOKENS);
    assert.ok(new Set(expected).size >= 12, `${t}: expected a varied continuation, got ${expected.join(' ')}`);
  }
});

test('GGUF metadata and tensors follow llama.cpp qwen2 / llama (GQA heads, head_dim, biases, tied head)', () => {
  const q = students.qwen2.lm, l = students.llama.lm;
  const file = path.join(tmp, 'layout-qwen2.gguf');
  exportGguf(q.model, q.tokenizer, file);
  const g = GgufFile.open(file);
  try {
    const val = (k: string) => g.get(k)?.value;
    assert.equal(val('general.architecture'), 'qwen2');
    assert.equal(val('qwen2.block_count'), 2);
    assert.equal(val('qwen2.attention.head_count'), 4);
    assert.equal(val('qwen2.attention.head_count_kv'), 2);
    assert.equal(val('qwen2.rope.dimension_count'), 12);
    assert.equal(val('qwen2.embedding_length'), 48);
    assert.deepEqual(g.tensor('blk.0.attn_k.weight').dims, [48, 24]);
    assert.deepEqual(g.tensor('blk.0.attn_k.bias').dims, [24]);
    assert.ok(g.tensor('output.weight'));
  } finally {
    g.close();
  }
  const names = denseGgufTensors(l.model as DenseForCausalLM).map((t) => t.name);
  assert.ok(!names.includes('output.weight'), 'tied: llama.cpp reuses token_embd');
  assert.ok(names.includes('blk.1.attn_output.bias') && names.includes('blk.1.attn_q.bias'));
  assert.equal(denseGgufMetadata((l.model as DenseForCausalLM).cfg, l.tokenizer).get('general.architecture'), 'llama');
  // LlamaModel.permute: GGUF row h·d + 2i + j = HF row h·d + j·d/2 + i.
  const w = Float32Array.from({ length: 2 * 6 * 3 }, (_, i) => i);
  const p = permuteRotateHalfToPairs(w, 2, 6, 3);
  assert.deepEqual(Array.from(p.subarray(0, 6 * 3)), [0, 1, 2, 9, 10, 11, 3, 4, 5, 12, 13, 14, 6, 7, 8, 15, 16, 17]);
  assert.deepEqual(Array.from(permuteRotateHalfToPairs(Float32Array.of(0, 1, 2, 3), 1, 4, 1)), [0, 2, 1, 3]);
});

for (const t of ['qwen2', 'llama'] as const) {
  test(`llama.cpp ${t}: greedy continuation of the exported student equals tinyseek's for 40 tokens, renormalized full-vocabulary probabilities within 1e-6, log-probabilities within 1e-5, tinyseek within 1e-6 of float64`, async (c) => {
    if (!llama) return skipOrFail(c, 'llama.cpp (node-llama-cpp)', skipReason);
    const { lm, expected } = students[t];
    const file = path.join(tmp, `${t}-f32.gguf`);
    const r = exportGguf(lm.model, lm.tokenizer, file, { dtype: 'f32' });
    assert.deepEqual(r.warnings, []);
    const got = await llamaGreedy(file);
    assert.deepEqual(got.tokens, expected, `tinyseek  ${expected.join(' ')}\nllama.cpp ${got.tokens.join(' ')}`);
    const d = compare(lm, got, 8);
    const fmt = (x: Diff) => `|Δp| ${x.prob.toExponential(2)}, |Δ log p| ${x.logProb.toExponential(2)}`;
    const all = `tinyseek−f64 ${fmt(d.tsF64)}; llama.cpp−f64 ${fmt(d.llamaF64)}; tinyseek−llama.cpp ${fmt(d.tsLlama)}; tinyseek−raw readout ${fmt(d.tsRaw)}; readout sum vs emulated ${d.readoutSum.toExponential(2)}`;
    // Measured (both families): tinyseek−f64 ≤ 4.4e-8 / 1.4e-6; llama.cpp−f64 ≤ 4.3e-8 / 3.1e-6;
    // tinyseek−llama.cpp ≤ 6.7e-8 / 3.8e-6; raw readout ≤ 1.1e-5 / 1.1e-5 (Llama step 6, see header);
    // readout sum vs its float32 emulation ≤ 1.8e-7.
    assert.ok(d.tsF64.prob < 1e-6 && d.tsF64.logProb < 5e-6, `tinyseek vs float64: ${all}`);
    assert.ok(d.readoutSum < 1e-6, `node-llama-cpp's probabilities should sum as its float32 readout does: ${all}`);
    assert.ok(d.llamaF64.prob < 1e-6 && d.llamaF64.logProb < 1e-5, `llama.cpp vs float64: ${all}`);
    assert.ok(d.tsLlama.prob < 1e-6 && d.tsLlama.logProb < 1e-5, `tinyseek vs llama.cpp: ${all}`);
    assert.ok(d.tsRaw.prob < 2e-5 && d.tsRaw.logProb < 5e-5, `tinyseek vs llama.cpp's raw readout: ${all}`);
  });
}

test('llama.cpp llama: without convert_hf_to_gguf\'s q/k permutation the same student disagrees (the comparison can fail)', async (c) => {
  if (!llama) return skipOrFail(c, 'llama.cpp (node-llama-cpp)', skipReason);
  const { lm, expected } = students.llama;
  const m = lm.model as DenseForCausalLM;
  const named = new Map(m.namedTensors());
  const hf = (name: string) => {
    const x = /^blk\.(\d+)\.attn_([qk])\.(weight|bias)$/.exec(name);
    return x ? named.get(`model.layers.${x[1]}.self_attn.${x[2]}_proj.${x[3]}`) : undefined;
  };
  const tensors = denseGgufTensors(m).map((x) => {
    const raw = hf(x.name);
    return raw ? { ...x, data: () => raw.f32() } : x; // HF rotate-half rows, as a careless converter would write them
  });
  const file = path.join(tmp, 'llama-unpermuted.gguf');
  writeGguf(file, denseGgufMetadata(m.cfg, lm.tokenizer), tensors);
  const got = await llamaGreedy(file);
  const diff = compare(lm, got, 8).tsLlama;
  let agree = 0;
  while (agree < expected.length && got.tokens[agree] === expected[agree]) agree++;
  assert.ok(diff.logProb > 1e-2, `unpermuted q/k should change llama.cpp's output (max |Δ log p| ${diff.logProb}, ${agree} tokens agree)`);
});
