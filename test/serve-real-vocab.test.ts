// A tiny random DeepSeek-V3-layout model with the REAL DeepSeek vocabulary (129280 ids) and the real
// tokenizer (DeepSeek-V3's tokenizer.json with R1's <think> tokens, R1's chat template), served by
// tinyseek's server and queried through the official `openai` client: the R1 template opens
// <think> in the prompt, so what the model writes is reasoning_content until it closes </think>.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { saveModel } from '../src/model/checkpoint.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { loadModelDir, createGenerator, chatPrompt } from '../src/infer/load.js';
import type { LoadedModel } from '../src/infer/load.js';
import { ReasoningSplitter } from '../src/infer/chat-stream.js';
import { startServer } from '../src/serve/server.js';
import type { RunningServer } from '../src/serve/server.js';
import { familyJSON } from './helpers/hf-tokenizers.js';
import { r1Template, r1TokenizerJSON } from './helpers/r1-template.js';

let dir: string;
let lm: LoadedModel;
let srv: RunningServer;
let client: OpenAI;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-real-vocab-'));
  // nano's dims, DeepSeek-V3's vocabulary; no MTP module (it would hold another vocab-sized head).
  const cfg = { ...getPreset('nano'), vocabSize: 129280, numNextnPredictLayers: 0 };
  saveModel(dir, new DeepseekV3(cfg, 3));
  const config = { ...familyJSON('deepseek_v3').config, chat_template: r1Template() };
  Tokenizer.fromJSON(JSON.stringify(r1TokenizerJSON()), JSON.stringify(config)).save(dir);
  lm = loadModelDir(dir);
  srv = await startServer({ model: lm, port: 0, maxBatch: 2, id: 'deepseek-r1-tiny' });
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
});

after(async () => {
  await srv?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('a random model with the real DeepSeek vocabulary and tokenizer is served; R1\'s template puts the output in reasoning_content', async () => {
  assert.equal(lm.model.cfg.vocabSize, 129280);
  assert.ok(lm.tokenizer.isForeign);
  assert.equal(lm.model.training, false, 'a loaded model is in eval mode');
  const messages = [{ role: 'user' as const, content: 'What is 2 + 2? 你好' }];
  const prompt = chatPrompt(lm.tokenizer, messages);
  assert.ok(prompt.text.endsWith('<｜Assistant｜><think>\n'));
  assert.equal(prompt.opensThinking, true);

  const res = await client.chat.completions.create({ model: 'deepseek-r1-tiny', messages, temperature: 0, max_tokens: 12 });
  const msg = res.choices[0].message as typeof res.choices[0]['message'] & { reasoning_content?: string | null };
  assert.equal(res.usage?.prompt_tokens, prompt.ids.length, 'the server encodes the R1 prompt as chatPrompt does');

  // The same greedy generation, split directly.
  const direct = await createGenerator(lm, { maxBatch: 1 }).generate({ prompt: prompt.ids, maxNewTokens: 12, sampling: { temperature: 0 }, stopTokenIds: lm.stopTokenIds });
  assert.equal(res.usage?.completion_tokens, direct.tokens.length);
  const split = new ReasoningSplitter(lm.tokenizer, { startInThinking: true });
  for (const id of direct.tokens) split.push(id);
  split.finish();
  assert.ok(split.reasoning.length > 0, 'the random model wrote some reasoning');
  assert.equal(msg.reasoning_content, split.reasoning);
  assert.equal(msg.content ?? '', split.content);

  const stream = await client.chat.completions.create({ model: 'deepseek-r1-tiny', messages, temperature: 0, max_tokens: 12, stream: true });
  let reasoning = '', content = '';
  for await (const chunk of stream) {
    const d = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string | null } | undefined;
    reasoning += d?.reasoning_content ?? '';
    content += d?.content ?? '';
  }
  assert.equal(reasoning, split.reasoning);
  assert.equal(content, split.content);
});
