// Chat templates rendered by @huggingface/jinja: DeepSeek-R1's chat format (bos, <｜User｜>,
// <｜Assistant｜>, earlier reasoning stripped, "<think>\n" generation prompt) and the verbatim
// R1-Zero template; tokenizer_config.json round trip.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  R1ZERO_PREAMBLE,
  SPECIAL,
  Tokenizer,
  TokenizerError,
  applyChatTemplate,
  parseTokenizerConfig,
  renderR1ZeroCompletion,
  type ChatMessage,
} from '../src/tokenizer/index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-tpl-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const BOS = '<｜begin▁of▁sentence｜>';
const EOS = '<｜end▁of▁sentence｜>';

// The R1-Zero template, copied by hand from the R1 paper (Table 1); "prompt" is replaced by the question.
const PAPER_TEMPLATE =
  'A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: prompt. Assistant:';

test('default template: bos, <｜User｜>, <｜Assistant｜> and the "<think>\\n" generation prompt', () => {
  const msgs: ChatMessage[] = [{ role: 'user', content: 'Compute 2 + 2' }];
  assert.equal(applyChatTemplate(msgs, { addGenerationPrompt: true }), `${BOS}<｜User｜>Compute 2 + 2<｜Assistant｜><think>\n`);
  assert.equal(applyChatTemplate(msgs), `${BOS}<｜User｜>Compute 2 + 2`);
});

test('default template: system prompt after bos; earlier assistant turns lose their reasoning', () => {
  const msgs: ChatMessage[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Compute 2 + 2' },
    { role: 'assistant', content: '<think>\n2 + 2 = 4\n</think>\n\n4' },
    { role: 'user', content: 'And 3 + 3' },
  ];
  assert.equal(
    applyChatTemplate(msgs, { addGenerationPrompt: true }),
    `${BOS}Be brief.<｜User｜>Compute 2 + 2<｜Assistant｜>\n\n4${EOS}<｜User｜>And 3 + 3<｜Assistant｜><think>\n`,
  );
  // content without </think> is kept whole
  assert.equal(
    applyChatTemplate([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }]),
    `${BOS}<｜User｜>hi<｜Assistant｜>hello${EOS}`,
  );
});

test('r1zero template renders the R1 paper text verbatim', () => {
  const prompt = 'Using the numbers 3, 7, 25, make 46. Use + - * / and each number at most once';
  const out = applyChatTemplate([{ role: 'user', content: prompt }], { template: 'r1zero', addGenerationPrompt: true });
  assert.equal(out, BOS + PAPER_TEMPLATE.replace('User: prompt.', `User: ${prompt}.`));
  assert.ok(PAPER_TEMPLATE.startsWith(R1ZERO_PREAMBLE));
  // with a completion, as corpus documents use it (bos/eos left to the packer)
  const completion = renderR1ZeroCompletion('25 + 3 = 28\n28 + 7 = 35', '25 + 3 + 7');
  assert.equal(completion, '<think>\n25 + 3 = 28\n28 + 7 = 35\n</think> <answer>25 + 3 + 7</answer>');
  const doc = applyChatTemplate(
    [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: completion },
    ],
    { template: 'r1zero', bosToken: '', eosToken: '' },
  );
  assert.equal(doc, `${PAPER_TEMPLATE.replace('User: prompt.', 'User: Q.')} ${completion}`);
});

test('templates do not escape HTML-like content', () => {
  const out = applyChatTemplate([{ role: 'user', content: 'a < b & c > "d"' }]);
  assert.ok(out.endsWith('a < b & c > "d"'));
});

test('custom Jinja source and unknown names', () => {
  assert.equal(applyChatTemplate([{ role: 'user', content: 'x' }], { template: '{{ bos_token }}[{{ messages[0].content }}]' }), `${BOS}[x]`);
  assert.throws(() => applyChatTemplate([], { template: 'nope' }), /unknown chat template "nope"; expected Jinja source or one of: default, r1zero/);
  assert.throws(() => applyChatTemplate([], { template: '{% if %}' }), TokenizerError);
  assert.throws(() => applyChatTemplate([{ role: 'tool' as 'user', content: 'x' }]), /expected role system, user or assistant; found "tool"/);
});

test('Tokenizer.applyChatTemplate uses the templates and tokens of its tokenizer_config.json', () => {
  const tok = Tokenizer.train(['hello world'], { vocabSize: 300 });
  const dir = path.join(root, 't');
  tok.save(dir);
  const cfgPath = path.join(dir, 'tokenizer_config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'));
  cfg.chat_template.push({ name: 'echo', template: '{{ bos_token }}{{ messages[0].content }}{{ eos_token }}' });
  fs.writeFileSync(cfgPath, JSON.stringify(cfg));
  const back = Tokenizer.fromDir(dir);
  assert.equal(back.applyChatTemplate([{ role: 'user', content: 'x' }], { template: 'echo' }), `${BOS}x${EOS}`);
  const ids = back.encode(back.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }), { allowSpecial: true });
  assert.deepEqual(ids.slice(0, 2), [back.bosId, back.idOf(SPECIAL.user)]);
  assert.deepEqual(ids.slice(-3, -1), [back.idOf(SPECIAL.assistant), back.idOf(SPECIAL.thinkOpen)]);
});

test('tokenizer_config.json: a single-string chat_template and object-form special tokens are read', () => {
  const cfg = parseTokenizerConfig(JSON.stringify({ chat_template: '{{ x }}', bos_token: { content: BOS, special: true } }));
  assert.deepEqual(cfg.chat_template, [{ name: 'default', template: '{{ x }}' }]);
  assert.equal(cfg.bos_token, BOS);
  assert.throws(() => parseTokenizerConfig('[1]'), /expected a JSON object/);
  assert.throws(() => parseTokenizerConfig('{"chat_template": 5}'), /chat_template must be a string or a list/);
  assert.throws(() => parseTokenizerConfig('{"eos_token": 5}'), /expected eos_token to be a string; found 5/);
});
