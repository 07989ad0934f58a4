// Checkpoints as DeepSeek publishes them, served by `tinyseek serve DIR` (the command a user runs, in
// its own process) and queried through the official `openai` client: a tiny random DeepSeek-V3 with
// the REAL vocabulary (129280 ids) and real tokenizer files, written sharded
// (model-0000i-of-0000N.safetensors + model.safetensors.index.json)
//   - in BF16 with DeepSeek-V3's own tokenizer.json / tokenizer_config.json (its chat template opens
//     no <think>: the reply is all content), without the MTP layer (as conversions drop it);
//   - in FP8 as V3/R1 are published (E4M3 Linear weights with 128×128 `weight_scale_inv`, the router
//     bias in F32, the rest BF16, V3's `quantization_config`), with the MTP layer, and R1's tokenizer
//     and template (the generation prompt opens <think>: the reply is reasoning_content), served
//     with MTP speculative decoding.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { saveModel, isMtpTensor } from '../src/model/checkpoint.js';
import { openCheckpoint, bf16ToF32Array, f32ToBf16Array, quantFp8Blocks, dequantFp8Blocks, INDEX_FILE } from '../src/io/index.js';
import { loadModelDir, createGenerator, chatPrompt } from '../src/infer/load.js';
import type { LoadedModel } from '../src/infer/load.js';
import { splitReasoning } from '../src/infer/chat-stream.js';
import type { ChatMessage } from '../src/tokenizer/index.js';
import { familyDir } from './helpers/hf-tokenizers.js';
import { r1Template, r1TokenizerJSON } from './helpers/r1-template.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/index.js');
const SHARD_BYTES = 20_000_000; // the 129280 × 64 BF16 embedding is 16.5 MB: several shards
const V3_QUANTIZATION_CONFIG = { activation_scheme: 'dynamic', fmt: 'e4m3', quant_method: 'fp8', weight_block_size: [128, 128] };

let root = '';
let original: DeepseekV3;
let bf16Dir = '', fp8Dir = '';

/** nano's dimensions with DeepSeek-V3's vocabulary; one MTP layer (model.layers.2). */
function realVocabModel(): DeepseekV3 {
  return new DeepseekV3({ ...getPreset('nano'), vocabSize: 129280, maxPositionEmbeddings: 256 }, 21);
}

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-published-'));
  original = realVocabModel();
  bf16Dir = path.join(root, 'deepseek-v3-tiny-bf16');
  fp8Dir = path.join(root, 'deepseek-r1-tiny-fp8');
  // A BF16 conversion without the MTP layer's tensors whose config.json still says
  // num_nextn_predict_layers = 1, as conversion tools leave it.
  saveModel(bf16Dir, withoutMtp(original), { layout: 'bf16', shardBytes: SHARD_BYTES });
  const cfgFile = path.join(bf16Dir, 'config.json');
  fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), num_nextn_predict_layers: 1 }, null, 2));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(familyDir('deepseek_v3'), f), path.join(bf16Dir, f));

  saveModel(fp8Dir, original, { layout: 'fp8', shardBytes: SHARD_BYTES });
  const tokCfg = JSON.parse(fs.readFileSync(path.join(familyDir('deepseek_v3'), 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(fp8Dir, 'tokenizer.json'), JSON.stringify(r1TokenizerJSON()));
  fs.writeFileSync(path.join(fp8Dir, 'tokenizer_config.json'), JSON.stringify({ ...tokCfg, chat_template: r1Template() }, null, 2));
});

/** A model with no MTP layer but the same main weights (its config.json is not used). */
function withoutMtp(m: DeepseekV3): DeepseekV3 {
  const copy = new DeepseekV3({ ...m.cfg, numNextnPredictLayers: 0 }, 0);
  const src = new Map(m.namedTensors());
  for (const [n, t] of copy.namedTensors()) t.f32().set(src.get(n)!.f32());
  return copy;
}

const servers: ChildProcess[] = [];
after(() => {
  for (const s of servers) s.kill('SIGTERM');
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/** Starts `tinyseek serve DIR --port 0 …` and resolves with its /v1 URL once it listens. */
function serve(dir: string, args: string[]): Promise<{ url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [cli, 'serve', dir, '--port', '0', '--max-batch', '2', ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(child);
  let out = '', err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tinyseek serve ${dir} did not start in 180 s; stdout: ${out}; stderr: ${err}`)), 180_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /API\s+(http:\/\/\S+\/v1)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ url: m[1], stderr: () => err }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`tinyseek serve ${dir} exited with ${code}: ${err}`)); });
  });
}

/** The greedy reply the server must give: the same directory loaded here, generated directly, split. */
async function directReply(lm: LoadedModel, messages: ChatMessage[], maxTokens: number): Promise<{ reasoning: string; content: string; tokens: number; promptTokens: number }> {
  const p = chatPrompt(lm.tokenizer, messages);
  const r = await createGenerator(lm, { maxBatch: 1 }).generate({ prompt: p.ids, maxNewTokens: maxTokens, sampling: { temperature: 0 }, stopTokenIds: lm.stopTokenIds });
  return { ...splitReasoning(lm.tokenizer, r.tokens, p.opensThinking), tokens: r.tokens.length, promptTokens: p.ids.length };
}

type Reasoned = { reasoning_content?: string | null; content?: string | null };

function shardFiles(dir: string): string[] {
  const index = JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), 'utf8')) as { weight_map: Record<string, string> };
  return [...new Set(Object.values(index.weight_map))].sort();
}

test('the FP8 directory has V3\'s published layout: FP8 Linear weights with 128×128 scales, F32 router bias, BF16 rest, sharded', () => {
  const files = shardFiles(fp8Dir);
  assert.ok(files.length >= 3, files.join(', '));
  files.forEach((f, i) => assert.equal(f, `model-${String(i + 1).padStart(5, '0')}-of-${String(files.length).padStart(5, '0')}.safetensors`));
  assert.deepEqual(fs.readdirSync(fp8Dir).filter((f) => f.endsWith('.safetensors')).sort(), files, 'no other weight files');
  const config = JSON.parse(fs.readFileSync(path.join(fp8Dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(config.quantization_config, V3_QUANTIZATION_CONFIG);
  assert.equal(config.vocab_size, 129280);
  const src = openCheckpoint(fp8Dir);
  try {
    const dtypes = new Map(src.keys().map((k) => [k, src.info(k).dtype]));
    const fp8 = [...dtypes].filter(([, d]) => d === 'F8_E4M3').map(([n]) => n);
    // By hand, from the reference table: per layer q_a, q_b, kv_a_proj_with_mqa, kv_b, o (5);
    // layer 0 dense MLP (3); layer 1 and the MTP layer 2: 8 experts × 3 + shared 3 (27).
    assert.equal(fp8.length, (5 + 3) + (5 + 27) + (5 + 27));
    for (const n of fp8) {
      assert.equal(dtypes.get(`${n}_scale_inv`), 'F32', n);
      const [o, i] = src.info(n).shape;
      assert.deepEqual(src.info(`${n}_scale_inv`).shape, [Math.ceil(o / 128), Math.ceil(i / 128)]);
    }
    const expect: [string, string][] = [
      ['model.embed_tokens.weight', 'BF16'], ['lm_head.weight', 'BF16'], ['model.norm.weight', 'BF16'],
      ['model.layers.0.input_layernorm.weight', 'BF16'], ['model.layers.0.self_attn.kv_a_layernorm.weight', 'BF16'],
      ['model.layers.0.self_attn.q_a_proj.weight', 'F8_E4M3'], ['model.layers.0.mlp.down_proj.weight', 'F8_E4M3'],
      ['model.layers.1.mlp.gate.weight', 'BF16'], ['model.layers.1.mlp.gate.e_score_correction_bias', 'F32'],
      ['model.layers.1.mlp.experts.7.up_proj.weight', 'F8_E4M3'], ['model.layers.1.mlp.shared_experts.down_proj.weight', 'F8_E4M3'],
      ['model.layers.2.eh_proj.weight', 'BF16'], ['model.layers.2.enorm.weight', 'BF16'], ['model.layers.2.shared_head.norm.weight', 'BF16'],
      ['model.layers.2.embed_tokens.weight', 'BF16'], ['model.layers.2.shared_head.head.weight', 'BF16'],
      ['model.layers.2.self_attn.o_proj.weight', 'F8_E4M3'], ['model.layers.2.mlp.gate.e_score_correction_bias', 'F32'],
    ];
    for (const [n, d] of expect) assert.equal(dtypes.get(n), d, n);
    assert.ok([...dtypes.values()].every((d) => d === 'BF16' || d === 'F32' || d === 'F8_E4M3'));
  } finally {
    src.close();
  }
  const bf = openCheckpoint(bf16Dir);
  try {
    assert.ok(shardFiles(bf16Dir).length >= 2);
    assert.ok(bf.keys().every((k) => !isMtpTensor(original.cfg, k)), 'the BF16 directory has no MTP layer');
    assert.equal(bf.info('model.layers.1.mlp.gate.e_score_correction_bias').dtype, 'F32');
    assert.equal(bf.info('model.layers.1.self_attn.q_b_proj.weight').dtype, 'BF16');
  } finally {
    bf.close();
  }
});

test('both directories load to the stored values: BF16 rounding, FP8 block dequantisation; MTP when present', () => {
  const orig = new Map(original.namedTensors());
  const bf16 = (x: Float32Array): Float32Array => bf16ToF32Array(f32ToBf16Array(x));
  const notes: string[] = [];
  const b = loadModelDir(bf16Dir, { onWarning: (m) => notes.push(m) });
  assert.equal(b.model.cfg.numNextnPredictLayers, 0, 'no MTP weights → loaded without MTP');
  assert.ok(notes.some((n) => /no model\.layers\.2\.\* tensors; loaded without MTP/.test(n)), notes.join('\n'));
  for (const [n, t] of b.model.namedTensors()) {
    const want = n.endsWith('e_score_correction_bias') ? orig.get(n)!.f32() : bf16(orig.get(n)!.f32());
    assert.deepEqual(t.f32(), want, n);
  }
  const f = loadModelDir(fp8Dir, { onWarning: (m) => assert.fail(m) });
  assert.equal(f.model.cfg.numNextnPredictLayers, 1);
  const loaded = new Map(f.model.namedTensors());
  for (const n of ['model.layers.0.self_attn.kv_b_proj.weight', 'model.layers.1.mlp.experts.3.gate_proj.weight', 'model.layers.2.self_attn.q_b_proj.weight']) {
    const w = orig.get(n)!;
    const q = quantFp8Blocks(w.f32(), [...w.shape]);
    assert.deepEqual(loaded.get(n)!.f32(), dequantFp8Blocks(q.weight, [...w.shape], q.scale, q.scaleShape), n);
    assert.notDeepEqual(loaded.get(n)!.f32(), w.f32(), `${n} went through FP8`);
  }
  assert.deepEqual(loaded.get('model.layers.2.eh_proj.weight')!.f32(), bf16(orig.get('model.layers.2.eh_proj.weight')!.f32()));
  assert.equal(loadModelDir(fp8Dir, { mtp: false }).model.cfg.numNextnPredictLayers, 0);
});

test('tinyseek serve DIR (BF16, V3\'s own template) answers through the openai client; the reply is content', async () => {
  const { url } = await serve(bf16Dir, ['--name', 'deepseek-v3-tiny']);
  const client = new OpenAI({ baseURL: url, apiKey: 'not-needed', maxRetries: 0 });
  const messages: ChatMessage[] = [{ role: 'user', content: 'What is 2 + 2? 你好' }];
  const lm = loadModelDir(bf16Dir, { onWarning: () => {} });
  const prompt = chatPrompt(lm.tokenizer, messages);
  assert.ok(prompt.text.startsWith('<｜begin▁of▁sentence｜>') && prompt.text.endsWith('<｜User｜>What is 2 + 2? 你好<｜Assistant｜>'), prompt.text);
  assert.equal(prompt.opensThinking, false);
  const want = await directReply(lm, messages, 10);
  const res = await client.chat.completions.create({ model: 'deepseek-v3-tiny', messages, temperature: 0, max_tokens: 10 });
  const msg = res.choices[0].message as Reasoned;
  assert.equal(res.model, 'deepseek-v3-tiny');
  assert.equal(res.usage?.prompt_tokens, want.promptTokens);
  assert.equal(res.usage?.completion_tokens, want.tokens);
  assert.equal(want.reasoning, '');
  assert.ok(want.content.length > 0);
  assert.equal(msg.content, want.content);
  assert.ok(!msg.reasoning_content, 'nothing is reasoning when the template opened no <think>');
});

test('tinyseek serve DIR --speculative (FP8 with its MTP layer, R1\'s template) answers through the openai client; reasoning_content split', async () => {
  const { url } = await serve(fp8Dir, ['--name', 'deepseek-r1-tiny', '--speculative']);
  const client = new OpenAI({ baseURL: url, apiKey: 'not-needed', maxRetries: 0 });
  const messages: ChatMessage[] = [{ role: 'user', content: 'Sort 3, 1, 2. Explain.' }];
  const lm = loadModelDir(fp8Dir);
  const prompt = chatPrompt(lm.tokenizer, messages);
  assert.ok(prompt.text.endsWith('<｜Assistant｜><think>\n'));
  assert.equal(prompt.opensThinking, true);
  // Greedy speculative decoding gives the tokens of plain greedy decoding.
  const want = await directReply(lm, messages, 12);
  assert.ok(want.reasoning.length > 0);
  const res = await client.chat.completions.create({ model: 'deepseek-r1-tiny', messages, temperature: 0, max_tokens: 12 });
  const msg = res.choices[0].message as Reasoned;
  assert.equal(res.usage?.prompt_tokens, want.promptTokens);
  assert.equal(res.usage?.completion_tokens, want.tokens);
  assert.equal(msg.reasoning_content, want.reasoning);
  assert.equal(msg.content ?? '', want.content);
  const stream = await client.chat.completions.create({ model: 'deepseek-r1-tiny', messages, temperature: 0, max_tokens: 12, stream: true });
  let reasoning = '', content = '';
  for await (const chunk of stream) {
    const d = chunk.choices[0]?.delta as Reasoned | undefined;
    reasoning += d?.reasoning_content ?? '';
    content += d?.content ?? '';
  }
  assert.equal(reasoning, want.reasoning);
  assert.equal(content, want.content);
});

test('--no-mtp: serve and generate skip the MTP layer; --speculative without it is refused', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, NO_COLOR: '1' } });
  const spec = run(['generate', fp8Dir, '--prompt', 'hi', '--no-mtp', '--speculative']);
  assert.equal(spec.status, 2, spec.stderr);
  assert.match(spec.stderr, /--speculative needs the MTP module; drop --no-mtp/);
  const noWeights = run(['serve', bf16Dir, '--port', '0', '--speculative']);
  assert.equal(noWeights.status, 2, noWeights.stderr);
  assert.match(noWeights.stderr, /--speculative: the model has no MTP module \(num_nextn_predict_layers = 0, or no MTP weights\)/);
  const g = run(['generate', fp8Dir, '--prompt', 'hi', '--chat', '--temperature', '0', '--max-tokens', '4', '--no-mtp', '--json']);
  assert.equal(g.status, 0, g.stderr);
  assert.equal((JSON.parse(g.stdout) as { tokens: number[] }).tokens.length, 4);
});
