// Cross-check with @huggingface/tokenizers (the npm package): it loads tinyseek's saved
// tokenizer.json + tokenizer_config.json and must produce the same ids, and decode them to the
// same text, on corpus text, special tokens and arbitrary Unicode.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { allTasks } from '../src/tasks/index.js';
import { DEFAULT_SPECIAL_TOKENS, Tokenizer } from '../src/tokenizer/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-tokhf-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

// A corpus like the real one (task prompts and worked traces) plus prose, code, CJK and emoji.
const texts: string[] = [];
for (const task of allTasks()) {
  for (const d of task.difficulties) {
    for (let s = 0; s < 20; s++) {
      const p = task.generate(s, d);
      const w = task.work(p);
      texts.push(`Problem: ${p.prompt}\nSolution:\n${w.trace}\nAnswer: ${w.answer}`);
      texts.push(`User: ${p.prompt}. Assistant: <think>\n${w.trace}\n</think> <answer>${w.answer}</answer>`);
    }
  }
}
texts.push(
  "It's a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
  'function add(a, b) {\n  return a + b; // 2 + 2 = 4\n}\n',
  '深度求索 DeepSeek 的推理模型。日本語も少し。😀😀 🚀🚀🚀 ｜｜ ▁▁',
);
const ours = Tokenizer.train(texts, { vocabSize: 900 });
const dir = path.join(root, 'tok');
ours.save(dir);
const hf = new HFTokenizer(
  JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')),
  JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')),
);

function same(s: string): void {
  const a = ours.encode(s, { allowSpecial: true });
  const b = hf.encode(s, { add_special_tokens: false }).ids;
  assert.deepEqual(a, b, `ids differ for ${JSON.stringify(s)}`);
  if (a.length > 0) assert.equal(hf.decode(a, { clean_up_tokenization_spaces: false }), ours.decode(a), `decode differs for ${JSON.stringify(s)}`);
}

test('@huggingface/tokenizers loads the saved files and agrees on ids for corpus text', () => {
  for (const t of texts) same(t);
  assert.equal(hf.token_to_id('<｜begin▁of▁sentence｜>'), 0);
  assert.equal(hf.get_vocab(true).size, ours.vocabSize);
});

test('@huggingface/tokenizers agrees on special tokens and chat-template output', () => {
  for (const s of DEFAULT_SPECIAL_TOKENS) same(s);
  same(DEFAULT_SPECIAL_TOKENS.join(''));
  same('x<think>y</think>z<answer>1</answer><｜end▁of▁sentence｜>');
  same(ours.applyChatTemplate([{ role: 'user', content: 'Compute 12 + 34' }], { addGenerationPrompt: true }));
  same(ours.applyChatTemplate([{ role: 'user', content: 'Compute 12 + 34' }], { template: 'r1zero' }));
  same('<｜User｜<｜User｜>>'); // a partial special next to a whole one
});

test('@huggingface/tokenizers agrees on arbitrary Unicode (property)', () => {
  const pieces = fc.oneof(
    fc.constantFrom(...DEFAULT_SPECIAL_TOKENS, '｜', '<', '>', '\n', '\n\n', ' ', '   ', '\t', '\r\n', '😀', '👍🏽', '日本', "'s", "'ll", '123', '٣٤', '½', '²'),
    fc.string({ unit: 'grapheme', maxLength: 10 }),
    fc.string({ unit: 'binary', maxLength: 10 }),
    fc.string({ unit: 'grapheme-ascii', maxLength: 10 }),
  );
  fc.assert(
    fc.property(fc.array(pieces, { maxLength: 10 }), (parts) => {
      same(parts.join(''));
    }),
    { numRuns: 1000 },
  );
});
