// `tinyseek tokenize DIR [--chat] [--json]`, run as a user runs it: text on stdin → ids and pieces,
// with tinyseek's own model directory and with the real DeepSeek-V3 and Qwen3 tokenizer directories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../src/tokenizer/index.js';
import { familyDir } from './helpers/hf-tokenizers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../src/cli/index.js');
const miniDir = path.resolve(here, '../../models/tinyseek-r1-mini');

function run(args: string[], input: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, 'tokenize', ...args], { input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

interface TokenizeJson {
  ids: number[];
  tokens: string[];
  pieces: string[];
  count: number;
  text?: string;
  opens_thinking?: boolean;
}

test('tokenize prints "id -> \'piece\'" lines for stdin (special tokens parsed), the count on stderr', () => {
  const tok = Tokenizer.fromDir(miniDir);
  const text = 'What is 2 + 2?<think>\n';
  const r = run([miniDir], text);
  assert.equal(r.code, 0, r.err);
  const ids = tok.encode(text, { allowSpecial: true });
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines.length, ids.length);
  lines.forEach((l, i) => assert.equal(l, `${String(ids[i]).padStart(6)} -> '${JSON.stringify(tok.decode([ids[i]])).slice(1, -1)}'`));
  assert.ok(lines.some((l) => l.endsWith(" -> '<think>'")));
  assert.match(r.err, new RegExp(`^${ids.length} tokens`));
  // --no-parse-special: the tag is plain text.
  const plain = run([miniDir, '--ids', '--no-parse-special'], '<think>');
  assert.deepEqual(JSON.parse(plain.out), tok.encode('<think>'));
});

test('tokenize --json on the real DeepSeek-V3 and Qwen3 tokenizers: ids as the Tokenizer gives them, vocabulary tokens and pieces', () => {
  for (const fam of ['deepseek_v3', 'qwen3'] as const) {
    const dir = familyDir(fam);
    const tok = Tokenizer.fromDir(dir);
    const text = 'Hello 世界 123 🙂\n';
    const r = run([dir, '--json'], text);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as TokenizeJson;
    assert.deepEqual(j.ids, tok.encode(text, { allowSpecial: true }));
    assert.deepEqual(j.tokens, j.ids.map((id) => tok.tokenOf(id)));
    assert.equal(j.count, j.ids.length);
    assert.equal(tok.decode(j.ids), text);
  }
});

test('tokenize --chat renders stdin as a user message through the directory\'s template (DeepSeek-V3: BOS, <｜User｜>, <｜Assistant｜>)', () => {
  const dir = familyDir('deepseek_v3');
  const r = run([dir, '--chat', '--json', '--system', 'Be brief.'], '2+2?\n');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as TokenizeJson;
  assert.equal(j.text, '<｜begin▁of▁sentence｜>Be brief.<｜User｜>2+2?<｜Assistant｜>');
  assert.equal(j.opens_thinking, false);
  assert.deepEqual(j.tokens.slice(0, 1), ['<｜begin▁of▁sentence｜>']);
  assert.equal(j.tokens.at(-1), '<｜Assistant｜>');
  // tinyseek's own template (R1's) opens <think>.
  const mini = JSON.parse(run([miniDir, '--chat', '--json'], 'hi').out) as TokenizeJson;
  assert.equal(mini.opens_thinking, true);
  assert.ok(mini.text!.endsWith('<think>\n'));
});

test('tokenize: bad usage is exit status 2 with one line', () => {
  const r = run(['/nonexistent-dir'], 'x');
  assert.equal(r.code, 2);
  assert.match(r.err, /expected a directory with tokenizer.json/);
  assert.equal(run([miniDir, '--system', 'x'], 'y').code, 2);
  assert.equal(run([miniDir, '--chat', '--add-special'], 'y').code, 2);
});
