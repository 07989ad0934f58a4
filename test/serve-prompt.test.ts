// The server's prompt handling (src/serve/prompt.ts): sliced tokenizing gives exactly
// Tokenizer.encode's ids and lets the event loop run in between; the size bound is sound (every
// text has at least ceil(bytes / L) tokens, so refusing above the bound never refuses a prompt that
// fits) and the per-byte upper bound holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/tensor/index.js';
import { Tokenizer, SPECIAL } from '../src/tokenizer/index.js';
import { encodeSliced, maxTokenBytes, checkPromptSize, maxPromptTokens } from '../src/serve/prompt.js';
import { fixtureChats } from './helpers/serve-fixture.js';

const corpus = fixtureChats(120).flatMap((c) => [c.question, c.reasoning, c.answer]);
const tok = Tokenizer.train([...corpus, 'héllo wörld — 你好 🙂 tabs\tand\nnewlines  ', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'], { vocabSize: 700 });

const texts = [
  '',
  'What is 12 + 345?',
  `${SPECIAL.bos}${SPECIAL.user}What is 3 + 4?${SPECIAL.assistant}${SPECIAL.thinkOpen}\nI add 3 and 4.\n${SPECIAL.thinkClose}\n\nThe answer is **7**.${SPECIAL.eos}`,
  'héllo wörld — 你好 🙂\ttabs  and\n\n\nnewlines   ',
  'a'.repeat(5000),
  "it's they're we've I'm you'll he'd 1234567890",
];

test('encodeSliced gives exactly Tokenizer.encode\'s ids, with and without special tokens', async () => {
  const rng = new Rng(3);
  const random = Array.from({ length: 20_000 }, () => String.fromCharCode(32 + Math.floor(rng.uniform() * 95))).join('');
  for (const t of [...texts, random, texts.join(' ').repeat(50)]) {
    for (const allowSpecial of [true, false]) {
      assert.deepEqual(await encodeSliced(tok, t, { allowSpecial }), tok.encode(t, { allowSpecial }), `${JSON.stringify(t.slice(0, 40))} allowSpecial=${allowSpecial}`);
    }
  }
});

test('encodeSliced lets the event loop run while it encodes a long text, and stops when aborted', async () => {
  const rng = new Rng(9);
  const words = Array.from({ length: 60_000 }, () => Array.from({ length: 2 + Math.floor(rng.uniform() * 7) }, () => String.fromCharCode(97 + Math.floor(rng.uniform() * 26))).join(''));
  const text = words.join(' ');
  let ticks = 0;
  let done = false;
  const tick = (): void => {
    if (done) return;
    ticks++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const ids = await encodeSliced(tok, text);
  done = true;
  assert.ok(ticks > 1, `the event loop ran ${ticks} times during encoding`);
  assert.deepEqual(ids, tok.encode(text));
  const ac = new AbortController();
  setImmediate(() => ac.abort(new Error('client gone')));
  await assert.rejects(encodeSliced(tok, `${text} more`, { signal: ac.signal }), /client gone/);
});

test('the size bound is sound: every text has at least ceil(bytes / L) and at most bytes tokens', () => {
  const L = maxTokenBytes(tok);
  assert.ok(L >= Buffer.byteLength(SPECIAL.bos), 'special tokens count their UTF-8 bytes');
  for (const t of texts.slice(1)) {
    const n = tok.encode(t, { allowSpecial: true }).length;
    const bytes = Buffer.byteLength(t);
    assert.ok(n >= Math.ceil(bytes / L) && n <= bytes, `${JSON.stringify(t.slice(0, 30))}: ${n} tokens, ${bytes} bytes, L = ${L}`);
  }
  // Text made of the longest token only: exactly at the bound, so the check is also tight.
  const longest = tok.bpe.idToToken.reduce((a, t) => (t !== undefined && !tok.specialTokens.includes(t) && t.length > a.length ? t : a), '');
  const word = tok.decode([tok.idOf(longest)]);
  const ctx = 16;
  const fits = word.repeat(ctx - 1);
  if (tok.encode(fits).length === ctx - 1) assert.equal(checkPromptSize(tok, fits, ctx, 'prompt'), Buffer.byteLength(fits));
  assert.throws(() => checkPromptSize(tok, 'x'.repeat((ctx - 1) * L + 1), ctx, 'prompt'), (e: Error & { code?: string; status?: number }) => e.status === 400 && e.code === 'context_length_exceeded');
  assert.equal(maxPromptTokens(10, 100), 10);
  assert.equal(maxPromptTokens(1000, 100, 1), 99);
});
