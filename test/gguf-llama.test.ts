// GGUF deepseek2 export, checked against llama.cpp itself (node-llama-cpp 3.21.1, CPU): a `nano`
// model trained on a tiny repetitive corpus is saved, exported and loaded by llama.cpp, which is fed
// the same token ids; its greedy continuation must equal tinyseek's Generator for ≥ 32 tokens and its
// next-token distributions must match tinyseek's. Skipped with a message if node-llama-cpp cannot load (a failure under TINYSEEK_REQUIRE_TOOLS=1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor, tidy, noGrad } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { saveModel } from '../src/model/checkpoint.js';
import { AdamW } from '../src/nn/optim.js';
import { warmupCosine } from '../src/nn/schedule.js';
import { fitTokenCycle } from '../src/train/stream-fit.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { Generator } from '../src/infer/generator.js';
import { loadModelDir, type LoadedModel } from '../src/infer/load.js';
import { asDeepseek } from '../src/model/registry.js';
import { exportGguf, ggufMetadata, ggufTensors, splitKvB, GGUF_PRE_TOKENIZER } from '../src/model/gguf-export.js';
import { toGgufValue } from '../src/io/gguf-writer.js';
import { GgufFile } from '../src/io/gguf.js';
import * as O from '../src/ops/index.js';
import { skipOrFail } from './helpers/tools.js';

import type { Token } from 'node-llama-cpp';

type NodeLlamaCpp = typeof import('node-llama-cpp');
type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;

const TEXT = 'Once upon a time, a tiny model learned to count: 1 2 3 4 5 6 7 8 9 10. Then it sang a song about the quick brown fox who jumps over the lazy dog, and every night it dreamed of 42 stars. ';
const NEW_TOKENS = 40;

let tmp = '';
let lm: LoadedModel;
let prompt: number[];
let expected: number[];
let llama: Llama | null = null;
let nlc: NodeLlamaCpp | null = null;
let skipReason = '';

/** Trains nano (or another config) on the repeated text for a few hundred small steps (loss → ~0.02: it memorizes the cycle). */
function trainNano(tok: Tokenizer, steps: number, cfg = getPreset('nano')): DeepseekV3 {
  const model = new DeepseekV3(cfg, 3);
  const opt = new AdamW(model.namedParameters(), { lr: 3e-3, weightDecay: 0.01 });
  fitTokenCycle(model, opt, tok.encode(TEXT), {
    steps, batch: 4, seqLen: 48, seed: 5, lr: (s) => warmupCosine(s, { peak: 3e-3, min: 3e-4, warmup: 20, total: steps }),
  });
  return model;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-gguf-'));
  const tok = Tokenizer.train([TEXT, TEXT], { vocabSize: 512, minFrequency: 1 });
  const model = trainNano(tok, 150);
  const dir = path.join(tmp, 'nano');
  saveModel(dir, model);
  tok.save(dir);
  lm = loadModelDir(dir); // through disk, as the CLI does
  prompt = tok.encode(TEXT).slice(0, 6);
  const gen = new Generator(lm.model, { maxBatch: 1, maxLen: 128 });
  expected = (await gen.generate({ prompt, maxNewTokens: NEW_TOKENS, sampling: { temperature: 0 } })).tokens;
  try {
    nlc = await import('node-llama-cpp');
    llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.error });
  } catch (e) {
    skipReason = `node-llama-cpp could not load (${(e as Error).message.split('\n')[0]}); install it with: npm i -D -E node-llama-cpp@3.21.1`;
  }
});

after(async () => {
  await llama?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Greedy continuation of `prompt` by llama.cpp, with the next-token distribution of the first `probSteps` steps. */
async function llamaGreedy(file: string, probSteps: number): Promise<{ tokens: number[]; probs: Map<number, number>[] }> {
  const model = await llama!.loadModel({ modelPath: file });
  try {
    // F32 KV cache: the latent cache then holds exactly what tinyseek's holds. One thread: this is a
    // correctness test, and ggml's spinning thread pool crawls when the machine is oversubscribed.
    const ctx = await model.createContext({ contextSize: 128, threads: 1, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
    const tokens: number[] = [];
    const probs: Map<number, number>[] = [];
    for await (const o of ctx.getSequence().evaluateWithMetadata(prompt as Token[], { probabilities: true }, { temperature: 0 })) {
      tokens.push(o.token as number);
      if (probs.length < probSteps) probs.push(o.probabilities as Map<number, number>);
      if (tokens.length >= NEW_TOKENS) break;
    }
    await ctx.dispose();
    return { tokens, probs };
  } finally {
    await model.dispose();
  }
}

function agreeing(a: number[], b: number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

test('the trained nano model continues its corpus non-trivially (tinyseek greedy)', () => {
  assert.equal(expected.length, NEW_TOKENS);
  assert.ok(new Set(expected).size >= 12, `expected a varied continuation, got ${expected.join(' ')}`);
});

test('GGUF metadata and tensor layout follow llama.cpp deepseek2 (MLA form, stacked experts, gpt2 tokenizer)', () => {
  const file = path.join(tmp, 'layout.gguf');
  const r = exportGguf(lm.model, lm.tokenizer, file, { dtype: 'f32' });
  assert.deepEqual(r.warnings, []);
  const g = GgufFile.open(file);
  try {
    const cfg = asDeepseek(lm.model).cfg;
    const val = (k: string) => g.get(k)?.value;
    assert.equal(val('general.architecture'), 'deepseek2');
    assert.equal(val('deepseek2.block_count'), cfg.numHiddenLayers + 1);
    assert.equal(val('deepseek2.nextn_predict_layers'), 1);
    assert.equal(val('deepseek2.attention.head_count_kv'), 1);
    assert.equal(val('deepseek2.attention.key_length'), cfg.kvLoraRank + cfg.qkRopeHeadDim);
    assert.equal(val('deepseek2.attention.value_length'), cfg.kvLoraRank);
    assert.equal(val('deepseek2.attention.key_length_mla'), cfg.qkNopeHeadDim + cfg.qkRopeHeadDim);
    assert.equal(val('deepseek2.attention.value_length_mla'), cfg.vHeadDim);
    assert.equal(val('deepseek2.expert_gating_func'), 2);
    assert.equal(val('deepseek2.expert_group_count'), cfg.nGroup);
    assert.equal(val('deepseek2.expert_group_used_count'), cfg.topkGroup);
    assert.equal(val('deepseek2.leading_dense_block_count'), cfg.firstKDenseReplace);
    assert.equal(val('deepseek2.rope.scaling.type'), 'yarn');
    assert.ok(Math.abs((val('deepseek2.rope.scaling.yarn_log_multiplier') as number) - 0.1 * cfg.ropeScaling!.mscaleAllDim) < 1e-7);
    assert.equal(val('tokenizer.ggml.model'), 'gpt2');
    assert.equal(val('tokenizer.ggml.pre'), GGUF_PRE_TOKENIZER);
    assert.equal((val('tokenizer.ggml.tokens') as string[]).length, cfg.vocabSize);
    assert.equal(val('tokenizer.ggml.add_bos_token'), false);
    const H = cfg.numAttentionHeads, dn = cfg.qkNopeHeadDim, dv = cfg.vHeadDim, r_ = cfg.kvLoraRank, D = cfg.hiddenSize;
    assert.deepEqual(g.tensor('blk.1.attn_k_b.weight').dims, [dn, r_, H]);
    assert.deepEqual(g.tensor('blk.1.attn_v_b.weight').dims, [r_, dv, H]);
    assert.deepEqual(g.tensor('blk.1.ffn_gate_exps.weight').dims, [D, cfg.moeIntermediateSize, cfg.nRoutedExperts]);
    assert.deepEqual(g.tensor('blk.1.ffn_down_exps.weight').dims, [cfg.moeIntermediateSize, D, cfg.nRoutedExperts]);
    assert.deepEqual(g.tensor('blk.1.exp_probs_b.bias').dims, [cfg.nRoutedExperts]);
    assert.deepEqual(g.tensor('blk.0.ffn_gate.weight').dims, [D, cfg.intermediateSize]);
    assert.deepEqual(g.tensor('blk.2.nextn.eh_proj.weight').dims, [2 * D, D]);
  } finally {
    g.close();
  }
  // attn_k_b[h, j, i] = kv_b[h·(dn+dv) + i, j]; attn_v_b[h, i, j] = kv_b[h·(dn+dv) + dn + i, j].
  const h = 2, n = 3, m = 2, q = 4;
  const w = Float32Array.from({ length: h * (n + m) * q }, (_, i) => i);
  const { k, v } = splitKvB(w, h, n, m, q);
  assert.equal(k[(1 * q + 2) * n + 1], w[(1 * (n + m) + 1) * q + 2]);
  assert.equal(v[(1 * m + 1) * q + 3], w[(1 * (n + m) + n + 1) * q + 3]);
});

test("node-llama-cpp's own GGUF reader sees the architecture, metadata, tensor names, shapes, types and F32 data tinyseek meant to write", async (t) => {
  if (!nlc) return skipOrFail(t, 'llama.cpp (node-llama-cpp)', skipReason);
  for (const dtype of ['f32', 'f16'] as const) {
    const file = path.join(tmp, `reader-${dtype}.gguf`);
    const opts = { dtype, name: `reader-${dtype}` };
    exportGguf(lm.model, lm.tokenizer, file, opts);
    const info = await nlc.readGgufFileInfo(file, { logWarnings: false, sourceType: 'filesystem' });
    assert.equal(info.version, 3);
    assert.equal(info.metadata.general.architecture, 'deepseek2');
    // Metadata: every key tinyseek intended, with its value (float32 keys as float32), and nothing else.
    const intended = ggufMetadata(asDeepseek(lm.model).cfg, lm.tokenizer, opts);
    const read = new Map<string, unknown>();
    const flatten = (o: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${prefix}${k}.`);
        else read.set(`${prefix}${k}`, v);
      }
    };
    flatten(info.metadata as unknown as Record<string, unknown>, '');
    assert.deepEqual([...read.keys()].sort(), [...intended.keys()].sort(), 'metadata keys');
    for (const [k, v] of intended) {
      const tv = toGgufValue(k, v);
      const got = read.get(k);
      if (tv.type === 'array') {
        const want = (tv.value as unknown[]).map((x) => (tv.itemType === 'float32' ? Math.fround(x as number) : x));
        assert.deepEqual(Array.from(got as ArrayLike<unknown>), want, k);
      } else {
        assert.deepEqual(got, tv.type === 'float32' ? Math.fround(tv.value as number) : tv.value, k);
      }
    }
    // Tensors: names in order, ggml dims (row-major shape reversed), types, and (F32) the bytes at each offset.
    const tensors = ggufTensors(asDeepseek(lm.model), opts);
    const ti = info.tensorInfo!;
    assert.equal(Number(info.tensorCount), tensors.length);
    assert.deepEqual(ti.map((x) => x.name), tensors.map((x) => x.name));
    const fd = fs.openSync(file, 'r');
    try {
      tensors.forEach((x, i) => {
        assert.deepEqual(ti[i].dimensions.map(Number), [...x.shape].reverse(), `${x.name} dims`);
        assert.equal(ti[i].ggmlType, x.type === 'F32' ? nlc!.GgmlType.F32 : nlc!.GgmlType.F16, `${x.name} type`);
        if (x.type !== 'F32') return;
        const want = (typeof x.data === 'function' ? x.data() : x.data) as Float32Array;
        const buf = Buffer.alloc(want.length * 4);
        fs.readSync(fd, buf, 0, buf.length, Number(ti[i].fileOffset));
        assert.ok(buf.equals(Buffer.from(want.buffer, want.byteOffset, want.length * 4)), `${x.name}: data at offset ${ti[i].fileOffset}`);
      });
    } finally {
      fs.closeSync(fd);
    }
    if (dtype === 'f16') {
      assert.ok(tensors.some((x) => x.type === 'F16') && tensors.some((x) => x.type === 'F32'));
      // The MLA absorption matrices stay F32 (llama.cpp's AMX path aborts on F16 ones; see gguf-export.ts).
      for (const x of tensors) if (/attn_[kv]_b/.test(x.name)) assert.equal(x.type, 'F32', `${x.name} type`);
      assert.equal(tensors.find((x) => x.name === 'blk.0.attn_output.weight')?.type, 'F16');
    }
    else assert.ok(tensors.every((x) => x.type === 'F32'));
  }
});

test('llama.cpp greedy continuation of the F32 GGUF equals tinyseek for 40 tokens, with the same distributions', async (t) => {
  if (!llama) return skipOrFail(t, 'llama.cpp (node-llama-cpp)', skipReason);
  const file = path.join(tmp, 'nano-f32.gguf');
  exportGguf(lm.model, lm.tokenizer, file, { dtype: 'f32' });
  const got = await llamaGreedy(file, 6);
  const n = agreeing(got.tokens, expected);
  assert.ok(n >= 32, `llama.cpp agrees for ${n} tokens:\n  tinyseek  ${expected.join(' ')}\n  llama.cpp ${got.tokens.join(' ')}`);
  // Next-token distributions over the whole vocabulary, step by step.
  const seq = [...prompt];
  got.probs.forEach((pl, step) => {
    let p: Float32Array = new Float32Array(0);
    noGrad(() => tidy(() => { p = O.softmax(lm.model.forward(Tensor.ints(seq, [1, seq.length]), { lastOnly: true }).logits, -1).toFloat32Array(); }));
    let maxDiff = 0;
    for (let v = 0; v < p.length; v++) maxDiff = Math.max(maxDiff, Math.abs((pl.get(v) ?? 0) - p[v]));
    assert.ok(maxDiff < 1e-4, `step ${step}: max |p_llama − p_tinyseek| = ${maxDiff}`);
    seq.push(got.tokens[step]);
  });
  assert.equal(got.probs.length, 6);
});

test('the F16 GGUF (without MTP) loads in llama.cpp and continues the same way', async (t) => {
  if (!llama) return skipOrFail(t, 'llama.cpp (node-llama-cpp)', skipReason);
  const file = path.join(tmp, 'nano-f16.gguf');
  const r = exportGguf(lm.model, lm.tokenizer, file, { dtype: 'f16', mtp: false });
  assert.equal(r.mtpIncluded, false);
  const got = await llamaGreedy(file, 0);
  const n = agreeing(got.tokens, expected);
  assert.ok(n >= 32, `F16: llama.cpp agrees for ${n} tokens:\n  tinyseek  ${expected.join(' ')}\n  llama.cpp ${got.tokens.join(' ')}`);
});

test('a V2-style model (no q-LoRA, softmax gating, ungrouped routing, tied embeddings, 2 shared experts), trained, matches llama.cpp', async (t) => {
  if (!llama) return skipOrFail(t, 'llama.cpp (node-llama-cpp)', skipReason);
  const cfg = {
    ...getPreset('nano'), modelType: 'deepseek_v2' as const, qLoraRank: null, scoringFunc: 'softmax' as const, topkMethod: 'greedy' as const,
    nGroup: 1, topkGroup: 1, normTopkProb: false, routedScalingFactor: 1.5, ropeScaling: null, tieWordEmbeddings: true,
    numNextnPredictLayers: 0, nSharedExperts: 2, numHiddenLayers: 3,
  };
  // Trained on the corpus cycle, its attention depends on relative position: a random model's nearly
  // uniform attention hid a RoPE layout change (the decoupled q/k dims in another pair order) at 1e-4.
  const model = trainNano(lm.tokenizer, 120, cfg);
  model.eval();
  const file = path.join(tmp, 'v2.gguf');
  const r = exportGguf(model, lm.tokenizer, file);
  assert.deepEqual(r.warnings, []);
  const lmodel = await llama.loadModel({ modelPath: file });
  try {
    const ctx = await lmodel.createContext({ contextSize: 64, threads: 1, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
    const seq = lm.tokenizer.encode(TEXT).slice(3, 11);
    let steps = 0, confident = 0;
    for await (const o of ctx.getSequence().evaluateWithMetadata([...seq] as Token[], { probabilities: true }, { temperature: 0 })) {
      let p: Float32Array = new Float32Array(0);
      noGrad(() => tidy(() => { p = O.softmax(model.forward(Tensor.ints(seq, [1, seq.length]), { lastOnly: true }).logits, -1).toFloat32Array(); }));
      let maxDiff = 0, arg = 0;
      for (let v = 0; v < p.length; v++) {
        maxDiff = Math.max(maxDiff, Math.abs((o.probabilities.get(v as Token) ?? 0) - p[v]));
        if (p[v] > p[arg]) arg = v;
      }
      if (p[arg] > 0.5) confident++;
      // Agreement is ~1e-6 here; the RoPE pair-order swap gives 1e-4 at the first step and 0.07 by the third.
      assert.ok(maxDiff < 2e-5, `step ${steps}: max |p_llama − p_tinyseek| = ${maxDiff}`);
      assert.equal(o.token, arg);
      seq.push(o.token);
      if (++steps >= 12) break;
    }
    assert.ok(confident >= 6, `the trained model should predict its corpus confidently (${confident} of 12 steps with p > 0.5)`);
    await ctx.dispose();
  } finally {
    await lmodel.dispose();
  }
});

test("llama.cpp's tokenizer (gpt2 + smollm pre-tokenizer) encodes and decodes like tinyseek's", async (t) => {
  if (!llama) return skipOrFail(t, 'llama.cpp (node-llama-cpp)', skipReason);
  const model = await llama.loadModel({ modelPath: path.join(tmp, 'nano-f32.gguf') });
  try {
    const tok = lm.tokenizer;
    for (const s of [TEXT, 'count 12345 and 42, then jumps!', "it's the fox's  song\n\nover 3.14 dogs"]) {
      const ours = tok.encode(s);
      assert.deepEqual(Array.from(model.tokenize(s), Number), ours, JSON.stringify(s));
      assert.equal(model.detokenize(ours as Token[]), s);
    }
    // Special tokens are parsed only when asked (as tinyseek's encode with allowSpecial).
    const chat = tok.applyChatTemplate([{ role: 'user', content: 'count 1 2 3' }], { addGenerationPrompt: true });
    assert.deepEqual(Array.from(model.tokenize(chat, true), Number), tok.encode(chat, { allowSpecial: true }));
  } finally {
    await model.dispose();
  }
});
