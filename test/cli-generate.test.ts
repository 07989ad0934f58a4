// `tinyseek generate`, `tinyseek chat` and `tinyseek export gguf` on the trained reasoning fixture
// (test/helpers/serve-fixture.ts), run as a user runs them; plus the reasoning splitter and history trimming.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveFixtureDir } from './helpers/serve-fixture.js';
import { Tokenizer, SPECIAL } from '../src/tokenizer/index.js';
import { ReasoningSplitter, splitReasoning } from '../src/infer/chat-stream.js';
import { chatPrompt, endsInsideThink } from '../src/infer/load.js';
import { fitHistory } from '../src/cli/commands/chat.js';
import { GgufFile } from '../src/io/gguf.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/index.js');
let dir = '';

function run(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

interface GenerateJson {
  text: string;
  reasoning?: string;
  tokens: number[];
  finish_reason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  speculative?: { drafted: number; accepted: number; acceptance_rate: number };
}

before(() => {
  dir = serveFixtureDir();
});

test('generate --chat --json: reasoning and answer split, usage, finish reason', () => {
  const r = run(['generate', dir, '--prompt', 'What is 2 + 3?', '--chat', '--temperature', '0', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as GenerateJson;
  assert.ok(['stop', 'length'].includes(j.finish_reason));
  assert.equal(j.usage.completion_tokens, j.tokens.length);
  assert.equal(j.usage.total_tokens, j.usage.prompt_tokens + j.tokens.length);
  assert.ok(j.reasoning && j.reasoning.length > 0, 'the fixture reasons first');
  assert.ok(j.text.length > 0 && !j.text.includes('<think>') && !j.text.includes('</think>'));
  const tok = Tokenizer.fromDir(dir);
  assert.deepEqual({ reasoning: j.reasoning, content: j.text }, splitReasoning(tok, j.tokens, true));
});

test('generate --speculative gives the same greedy tokens and reports the MTP acceptance rate', () => {
  const args = ['generate', dir, '--prompt', 'What is 7 + 11?', '--chat', '--temperature', '0', '--json'];
  const plain = JSON.parse(run(args).out) as GenerateJson;
  const r = run([...args, '--speculative']);
  assert.equal(r.code, 0, r.err);
  const spec = JSON.parse(r.out) as GenerateJson;
  assert.deepEqual(spec.tokens, plain.tokens);
  assert.ok(spec.speculative && spec.speculative.drafted > 0);
  assert.ok(spec.speculative.acceptance_rate >= 0 && spec.speculative.acceptance_rate <= 1);
});

test('generate streams text: reasoning in a <think> block when piped, hidden with --show-thinking=false', () => {
  const j = JSON.parse(run(['generate', dir, '--prompt', 'Who are you?', '--chat', '--temperature', '0', '--json']).out) as GenerateJson;
  const shown = run(['generate', dir, '--prompt', 'Who are you?', '--chat', '--temperature', '0']);
  assert.equal(shown.code, 0, shown.err);
  assert.equal(shown.out, `<think>\n${j.reasoning}\n</think>\n\n${j.text}\n`);
  const hidden = run(['generate', dir, '--prompt', 'Who are you?', '--chat', '--temperature', '0', '--show-thinking=false']);
  assert.equal(hidden.out, `${j.text}\n`);
  // Plain completion mode (no template) also works.
  const plain = run(['generate', dir, '--prompt', 'What is', '--temperature', '0', '--max-tokens', '5', '--json']);
  assert.equal(plain.code, 0, plain.err);
  assert.ok((JSON.parse(plain.out) as GenerateJson).tokens.length <= 5);
});

test('chat answers several turns from piped input and exits cleanly at end of input', () => {
  const r = run(['chat', dir, '--temperature', '0'], 'What is 2 + 3?\n\nWho are you?\n');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.split('<think>').length - 1, 2, r.out);
  const quiet = run(['chat', dir, '--temperature', '0', '--show-thinking=false'], 'Who are you?\n');
  assert.equal(quiet.code, 0, quiet.err);
  assert.ok(!quiet.out.includes('<think>') && quiet.out.trim().length > 0);
  const empty = run(['chat', dir], '');
  assert.equal(empty.code, 0, empty.err);
});

test('bad input gives one line and exit code 2', () => {
  for (const args of [
    ['generate', dir, '--prompt', 'hi', '--temperature', '-1'],
    ['generate', dir, '--prompt', 'hi', '--max-tokens', '0'],
    ['generate', dir, '--prompt', 'hi', '--top-p', '0'],
    ['generate', path.join(os.tmpdir(), 'no-such-model-dir'), '--prompt', 'hi'],
    ['chat', dir, '--show-thinking=maybe'],
    ['export', 'gguf', dir, path.join(os.tmpdir(), 'x.gguf'), '--dtype', 'q4'],
  ]) {
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^tinyseek: /);
  }
});

test('a missing model directory is named once in the message', () => {
  const missing = path.join(os.tmpdir(), 'no-such-model-dir');
  const r = run(['generate', missing, '--prompt', 'hi']);
  assert.equal(r.code, 2, r.err);
  assert.equal(r.err.split(missing).length - 1, 1, r.err);
  assert.match(r.err, /does not exist/);
});

test('export gguf writes a deepseek2 file (F16, with and without MTP)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-export-'));
  try {
    const out = path.join(tmp, 'm.gguf');
    const r = run(['export', 'gguf', dir, out, '--dtype', 'f16', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { bytes: number; mtp: boolean; dtype: string };
    assert.equal(j.bytes, fs.statSync(out).size);
    assert.equal(j.mtp, true);
    const g = GgufFile.open(out);
    try {
      assert.equal(g.get('general.architecture')?.value, 'deepseek2');
      assert.equal(g.get('general.file_type')?.value, 1);
      assert.equal(g.tensor('blk.0.attn_q_a.weight').type, 'F16');
      assert.equal(g.tensor('blk.0.attn_norm.weight').type, 'F32');
      assert.equal(g.tensor('blk.1.ffn_gate_inp.weight').type, 'F32');
    } finally {
      g.close();
    }
    const r2 = run(['export', 'gguf', dir, out, '--no-mtp']);
    assert.equal(r2.code, 0, r2.err);
    const g2 = GgufFile.open(out);
    try {
      assert.equal(g2.get('deepseek2.nextn_predict_layers'), undefined);
      assert.ok(!g2.tensors.some((t) => t.name.includes('nextn')));
    } finally {
      g2.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('ReasoningSplitter decodes UTF-8 split across tokens and routes text around </think>', () => {
  const tok = Tokenizer.fromDir(dir);
  const reasoning = 'héllo 😀 wörld';
  const ids = [...tok.encode(reasoning), tok.idOf(SPECIAL.thinkClose), ...tok.encode('\n\nanswer: ∑ = 3'), tok.eosId];
  const s = new ReasoningSplitter(tok, { startInThinking: true });
  const deltas = ids.flatMap((id) => s.push(id));
  deltas.push(...s.finish());
  assert.ok(deltas.every((d) => !d.text.includes('\uFFFD')));
  assert.equal(deltas.filter((d) => d.kind === 'reasoning').map((d) => d.text).join(''), reasoning);
  assert.equal(deltas.filter((d) => d.kind === 'content').map((d) => d.text).join(''), 'answer: ∑ = 3');
  assert.equal(s.content, 'answer: ∑ = 3');
  // The R1 generation prompt leaves <think> open; a history without reasoning does not.
  const p = chatPrompt(tok, [{ role: 'user', content: 'hi' }, { role: 'assistant', content: '<think>\nx\n</think>\n\nyo' }, { role: 'user', content: 'again' }]);
  assert.ok(p.opensThinking && !p.text.includes('\nx\n'));
  assert.ok(!endsInsideThink('<think>a</think>b'));
});

test('fitHistory drops the oldest exchanges, never the system message or the new question', () => {
  const m = [
    { role: 'system' as const, content: 's' },
    { role: 'user' as const, content: 'u1' }, { role: 'assistant' as const, content: 'a1' },
    { role: 'user' as const, content: 'u2' }, { role: 'assistant' as const, content: 'a2' },
    { role: 'user' as const, content: 'u3' },
  ];
  assert.deepEqual(fitHistory(m, (x) => x.length <= 4).map((x) => x.content), ['s', 'u2', 'a2', 'u3']);
  assert.deepEqual(fitHistory(m, () => false).map((x) => x.content), ['s', 'u3']);
});

test('generate applies the chat template by default when the directory declares one; --raw is a plain completion', () => {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template?: unknown };
  assert.ok(cfg.chat_template !== undefined, 'the fixture declares a chat template');
  const base = ['generate', dir, '--prompt', 'What is 7 + 11?', '--temperature', '0', '--json', '--max-tokens', '24'];
  const byDefault = JSON.parse(run(base).out) as GenerateJson & { usage: { prompt_tokens: number } };
  const chat = JSON.parse(run([...base, '--chat']).out) as GenerateJson;
  assert.deepEqual(byDefault.tokens, chat.tokens, 'the default is the chat mode');
  assert.equal(typeof byDefault.reasoning, 'string', 'chat mode splits the reasoning');
  const raw = JSON.parse(run([...base, '--raw']).out) as GenerateJson;
  assert.equal(raw.reasoning, undefined);
  assert.ok(raw.usage.prompt_tokens < byDefault.usage.prompt_tokens, 'the raw prompt has no template around it');
  const both = run([...base, '--chat', '--raw']);
  assert.equal(both.code, 2);
  assert.match(both.err, /--chat and --raw/);
});

test('generate on a directory whose tokenizer_config.json declares no chat template is a plain completion unless --chat', () => {
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-notemplate-'));
  try {
    for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(bare, f));
    const cfg = JSON.parse(fs.readFileSync(path.join(bare, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    delete cfg.chat_template;
    fs.writeFileSync(path.join(bare, 'tokenizer_config.json'), JSON.stringify(cfg));
    const args = ['generate', bare, '--prompt', 'What is 7 + 11?', '--temperature', '0', '--json', '--max-tokens', '8'];
    const plain = JSON.parse(run(args).out) as GenerateJson;
    assert.equal(plain.reasoning, undefined);
    const sys = run([...args, '--system', 'Be brief.']);
    assert.equal(sys.code, 2);
    assert.match(sys.err, /declares no chat template/);
    const forced = JSON.parse(run([...args, '--chat']).out) as GenerateJson;
    assert.equal(typeof forced.reasoning, 'string');
  } finally {
    fs.rmSync(bare, { recursive: true, force: true });
  }
});

test('eval on the shipped model uses its chat template and scores R1\'s format strictly (not R1-Zero\'s <answer> tags); --template r1zero scores R1-Zero\'s', () => {
  const shipped = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models/tinyseek-r1-mini');
  const r = run(['eval', shipped, '--families', 'add', '--difficulties', '1', '--n', '10', '--k', '0', '--json']);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out) as { options: { template: string }; mean: { greedy: number; greedyLenient: number; formatRate: number } };
  assert.equal(rep.options.template, 'default');
  assert.ok(rep.mean.formatRate >= 0.9, `R1-format completions: ${rep.mean.formatRate}`);
  assert.ok(rep.mean.greedy > 0, 'greedy strict accuracy is not zero');
  assert.ok(rep.mean.greedy <= rep.mean.greedyLenient);
  assert.doesNotMatch(r.err, /pass --template r1zero/);
  const z = run(['eval', shipped, '--families', 'add', '--difficulties', '1', '--n', '10', '--k', '0', '--json', '--template', 'r1zero']);
  assert.equal(z.code, 0, z.err);
  assert.equal((JSON.parse(z.out) as { options: { template: string } }).options.template, 'r1zero');
});
