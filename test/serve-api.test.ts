// The OpenAI-compatible server, through the official `openai` npm client (raw fetch where the
// client cannot send the request): streaming and non-streaming chat in DeepSeek's reasoner format,
// usage checked against the tokenizer and a direct generation, n > 1, seeds, stop strings, raw
// completions, every bad request with its status and error shape, the API key, continuous
// batching, and a disconnecting client freeing its cache slot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { serveFixtureDir, longRunningModel } from './helpers/serve-fixture.js';
import { loadModelDir, createGenerator, chatPrompt } from '../src/infer/load.js';
import type { LoadedModel } from '../src/infer/load.js';
import { startServer } from '../src/serve/server.js';
import type { RunningServer } from '../src/serve/server.js';
import { ModelHost } from '../src/serve/model-host.js';
import { SPECIAL } from '../src/tokenizer/index.js';
import type { ChatMessage } from '../src/tokenizer/index.js';
import { StopFilter } from '../src/serve/reply.js';

let lm: LoadedModel;
let srv: RunningServer;
let client: OpenAI;
let MODEL: string;

type Reasoned = { reasoning_content?: string | null };

before(async () => {
  lm = loadModelDir(serveFixtureDir());
  srv = await startServer({ model: lm, port: 0, maxBatch: 8, id: 'tinyseek-test', maxBodyBytes: 64 * 1024 });
  MODEL = srv.host.id;
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
});

after(async () => {
  await srv?.close();
});

const ask = (content: string): ChatMessage[] => [{ role: 'user', content }];

/** The prompt ids the server must build: the chat template with the generation prompt, encoded with specials. */
function promptIds(messages: ChatMessage[]): number[] {
  const tok = lm.tokenizer;
  return tok.encode(tok.applyChatTemplate(messages, { addGenerationPrompt: true }), { allowSpecial: true });
}

async function rawPost(path: string, body: string | object, headers: Record<string, string> = {}): Promise<{ status: number; json: { error?: { message: unknown; type: unknown; param: unknown; code: unknown } } & Record<string, unknown> }> {
  const res = await fetch(`${srv.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as never };
}

function assertErrorShape(json: { error?: Record<string, unknown> }, what: string): void {
  assert.ok(json.error, `${what}: expected an "error" object`);
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type'], `${what}: error keys`);
  assert.equal(typeof json.error.message, 'string');
  assert.ok((json.error.message as string).length > 0);
  assert.equal(typeof json.error.type, 'string');
}

async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('non-streaming chat: reasoning_content is separate from content; usage matches the tokenizer and a direct generation', async () => {
  const messages = ask('What is 3 + 4?');
  const res = await client.chat.completions.create({ model: MODEL, messages, temperature: 0, max_tokens: 80 });
  assert.equal(res.object, 'chat.completion');
  assert.equal(res.model, MODEL);
  assert.equal(res.choices.length, 1);
  const msg = res.choices[0].message as typeof res.choices[0]['message'] & Reasoned;
  assert.equal(msg.role, 'assistant');
  assert.ok(typeof msg.reasoning_content === 'string' && msg.reasoning_content.length > 0, 'reasoning_content present');
  assert.ok(msg.content && msg.content.length > 0, 'content present');
  for (const tag of [SPECIAL.thinkOpen, SPECIAL.thinkClose, SPECIAL.eos]) {
    assert.ok(!msg.content.includes(tag), `content has no ${tag}`);
    assert.ok(!msg.reasoning_content.includes(tag), `reasoning has no ${tag}`);
  }
  assert.equal(res.choices[0].finish_reason, 'stop');

  // The same greedy generation, run directly on the model.
  const ids = promptIds(messages);
  const gen = createGenerator(lm, { maxBatch: 1 });
  const direct = await gen.generate({ prompt: ids, maxNewTokens: 80, sampling: { temperature: 0 }, stopTokenIds: lm.stopTokenIds });
  const tok = lm.tokenizer;
  const close = direct.tokens.indexOf(tok.idOf(SPECIAL.thinkClose));
  assert.ok(close > 0, 'the fixture model closes its think block');
  assert.equal(msg.reasoning_content, tok.decode(direct.tokens.slice(0, close)).trim());
  assert.equal(msg.content, tok.decode(direct.tokens.slice(close + 1), { skipSpecial: true }).trim());

  const u = res.usage!;
  assert.equal(u.prompt_tokens, ids.length, 'prompt_tokens = the templated prompt encoded');
  assert.equal(u.completion_tokens, direct.tokens.length, 'completion_tokens = generated tokens (EOS included)');
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  assert.equal(u.completion_tokens_details?.reasoning_tokens, close + 1, 'reasoning_tokens = tokens up to and including </think>');
});

test('streaming chat: role first, reasoning deltas before content deltas, the same text as non-streamed, usage chunk last', async () => {
  const messages = ask('What is 12 + 5?');
  const full = await client.chat.completions.create({ model: MODEL, messages, temperature: 0, max_tokens: 80 });
  const stream = await client.chat.completions.create({ model: MODEL, messages, temperature: 0, max_tokens: 80, stream: true, stream_options: { include_usage: true } });
  const kinds: string[] = [];
  let reasoning = '', content = '', role = '', finish: string | null = null;
  let usage: OpenAI.CompletionUsage | null | undefined;
  let chunks = 0, afterFinish = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) {
      usage = chunk.usage;
      assert.equal(chunk.choices.length, 0, 'the usage chunk has no choices');
      continue;
    }
    const c = chunk.choices[0];
    if (finish) afterFinish++;
    const d = c.delta as typeof c.delta & Reasoned;
    if (d.role) role = d.role;
    if (d.reasoning_content) { reasoning += d.reasoning_content; kinds.push('r'); }
    if (d.content) { content += d.content; kinds.push('c'); }
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(role, 'assistant');
  assert.ok(chunks > 5, 'streamed in pieces');
  const firstContent = kinds.indexOf('c');
  assert.ok(kinds.indexOf('r') === 0 && firstContent > 0, `reasoning streams first: ${kinds.join('')}`);
  assert.ok(!kinds.slice(firstContent).includes('r'), 'no reasoning after the content started');
  const m = full.choices[0].message as typeof full.choices[0]['message'] & Reasoned;
  assert.equal(reasoning, m.reasoning_content);
  assert.equal(content, m.content);
  assert.equal(finish, 'stop');
  assert.equal(afterFinish, 0, 'finish_reason comes last');
  assert.deepEqual(usage, full.usage);
});

test('reasoning_format "inline" puts <think>…</think> in content, streamed and not', async () => {
  const body = { model: MODEL, messages: ask('Hello!'), temperature: 0, max_tokens: 60, reasoning_format: 'inline' };
  const sep = await client.chat.completions.create({ model: MODEL, messages: ask('Hello!'), temperature: 0, max_tokens: 60 });
  const { status, json } = await rawPost('/v1/chat/completions', body);
  assert.equal(status, 200);
  const msg = (json.choices as { message: { content: string } & Reasoned }[])[0].message;
  assert.equal(msg.reasoning_content, undefined);
  const s = sep.choices[0].message as typeof sep.choices[0]['message'] & Reasoned;
  assert.equal(msg.content, `<think>\n${s.reasoning_content}\n</think>\n\n${s.content}`);
  // Streamed through the official client (extra body fields pass through).
  const stream = await client.chat.completions.create({ ...body, stream: true } as OpenAI.ChatCompletionCreateParamsStreaming);
  let text = '';
  for await (const ch of stream) {
    const d = ch.choices[0]?.delta as (Record<string, unknown> & { content?: string | null }) | undefined;
    assert.ok(!d || !('reasoning_content' in d) || !d.reasoning_content, 'no reasoning_content in inline mode');
    text += d?.content ?? '';
  }
  assert.equal(text, msg.content);
});

test("previous turns' reasoning_content (and inline <think>) is accepted and not fed back to the model", async () => {
  const secret = 'SECRET REASONING '.repeat(20);
  const withReasoning = [
    { role: 'user' as const, content: 'Hello!' },
    { role: 'assistant' as const, content: 'Hello! How can I help you today?', reasoning_content: secret },
    { role: 'user' as const, content: 'What is 2 + 2?' },
  ];
  const inline = [withReasoning[0], { role: 'assistant' as const, content: `<think>\n${secret}\n</think>\n\nHello! How can I help you today?` }, withReasoning[2]];
  const expected = promptIds([
    { role: 'user', content: 'Hello!' },
    { role: 'assistant', content: 'Hello! How can I help you today?' },
    { role: 'user', content: 'What is 2 + 2?' },
  ]).length;
  for (const messages of [withReasoning, inline]) {
    const res = await client.chat.completions.create({ model: MODEL, messages: messages as OpenAI.ChatCompletionMessageParam[], temperature: 0, max_tokens: 4 });
    assert.equal(res.usage!.prompt_tokens, expected);
  }
});

test('n > 1 returns n choices (seeds seed, seed+1, …) with per-choice finish and summed usage, streamed and not', async () => {
  const messages = ask('What is 7 + 8?');
  const res = await client.chat.completions.create({ model: MODEL, messages, n: 3, temperature: 1.2, seed: 5, max_tokens: 40 });
  assert.deepEqual(res.choices.map((c) => c.index), [0, 1, 2]);
  const gen = createGenerator(lm, { maxBatch: 4 });
  const ids = promptIds(messages);
  const direct = await gen.generateAll([5, 6, 7].map((seed) => ({ prompt: ids, maxNewTokens: 40, sampling: { temperature: 1.2, topP: lm.defaults.topP, topK: lm.defaults.topK }, seed, stopTokenIds: srv.host.stopTokenIds })));
  assert.equal(res.usage!.completion_tokens, direct.reduce((a, r) => a + r.tokens.length, 0));
  assert.equal(res.usage!.prompt_tokens, ids.length, 'the prompt is counted once');

  const stream = await client.chat.completions.create({ model: MODEL, messages, n: 2, temperature: 1.2, seed: 5, max_tokens: 40, stream: true });
  const text = ['', ''];
  const finished = [false, false];
  for await (const ch of stream) {
    for (const c of ch.choices) {
      text[c.index] += (c.delta as Reasoned).reasoning_content ?? '';
      text[c.index] += c.delta.content ?? '';
      if (c.finish_reason) finished[c.index] = true;
    }
  }
  assert.deepEqual(finished, [true, true]);
  for (let i = 0; i < 2; i++) {
    const m = res.choices[i].message as typeof res.choices[0]['message'] & Reasoned;
    assert.equal(text[i], (m.reasoning_content ?? '') + (m.content ?? ''), `choice ${i} streamed = non-streamed`);
  }
});

test('the same seed reproduces the reply; other seeds sample differently', async () => {
  const req = (seed: number) => client.chat.completions.create({ model: MODEL, messages: ask('What is 13 + 6?'), temperature: 1.5, seed, max_tokens: 40 });
  const a = await req(42), b = await req(42);
  const text = (r: OpenAI.ChatCompletion) => JSON.stringify(r.choices[0].message);
  assert.equal(text(a), text(b));
  const others = await Promise.all([1, 2, 3, 4, 5].map(req));
  assert.ok(others.some((o) => text(o) !== text(a)), 'some other seed differs');
});

test('stop strings cut the reply (never streamed), max_tokens cuts with finish_reason "length"', async () => {
  const messages = ask('What is 3 + 4?');
  const res = await client.chat.completions.create({ model: MODEL, messages, temperature: 0, max_tokens: 80, stop: [' + '] });
  const m = res.choices[0].message as typeof res.choices[0]['message'] & Reasoned;
  assert.equal(res.choices[0].finish_reason, 'stop');
  assert.ok(!m.reasoning_content!.includes(' + ') && !m.content?.includes(' + '));
  assert.ok(m.reasoning_content!.length > 0);
  const stream = await client.chat.completions.create({ model: MODEL, messages, temperature: 0, max_tokens: 80, stop: [' + '], stream: true });
  let streamed = '';
  for await (const ch of stream) streamed += ((ch.choices[0]?.delta as Reasoned | undefined)?.reasoning_content ?? '') + (ch.choices[0]?.delta.content ?? '');
  assert.equal(streamed, m.reasoning_content! + (m.content ?? ''));

  const short = await client.chat.completions.create({ model: MODEL, messages, temperature: 0, max_tokens: 5 });
  assert.equal(short.choices[0].finish_reason, 'length');
  assert.equal(short.usage!.completion_tokens, 5);
  assert.equal(short.usage!.completion_tokens_details?.reasoning_tokens, 5);
  assert.equal(short.choices[0].message.content, '', 'cut while still reasoning: no answer yet');
});

test('the stop filter holds back text that may start a stop string', () => {
  const f = new StopFilter(['END', 'xy']);
  assert.deepEqual(f.push('abcE'), { text: 'abc', stopped: false });
  assert.deepEqual(f.push('N'), { text: '', stopped: false });
  assert.deepEqual(f.push('d'), { text: 'ENd', stopped: false });
  assert.deepEqual(f.push('x'), { text: '', stopped: false });
  assert.deepEqual(f.push('yz'), { text: '', stopped: true });
  const g = new StopFilter(['stop']);
  g.push('sto');
  assert.equal(g.flush(), 'sto');
});

test('/v1/completions (raw prompt), /v1/models and /health', async () => {
  const res = await client.completions.create({ model: MODEL, prompt: 'I add 3 and', max_tokens: 6, temperature: 0 });
  assert.equal(res.object, 'text_completion');
  assert.equal(res.choices[0].finish_reason, 'length');
  assert.ok(res.choices[0].text.length > 0);
  assert.equal(res.usage!.completion_tokens, 6);
  assert.equal(res.usage!.prompt_tokens, lm.tokenizer.encode('I add 3 and').length + (lm.tokenizer.config.add_bos_token ? 1 : 0));
  const stream = await client.completions.create({ model: MODEL, prompt: 'I add 3 and', max_tokens: 6, temperature: 0, stream: true });
  let text = '';
  for await (const ch of stream) text += ch.choices[0]?.text ?? '';
  assert.equal(text, res.choices[0].text);
  const echo = await client.completions.create({ model: MODEL, prompt: 'I add 3 and', max_tokens: 6, temperature: 0, echo: true });
  assert.equal(echo.choices[0].text, `I add 3 and${res.choices[0].text}`);

  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [MODEL]);
  assert.equal((await client.models.retrieve(MODEL)).id, MODEL);
  const health = (await (await fetch(`${srv.url}/health`)).json()) as { status: string; model: string };
  assert.equal(health.status, 'ok');
  assert.equal(health.model, MODEL);
});

test('bad requests get OpenAI error bodies with the right status', async () => {
  const ok = { model: MODEL, messages: ask('hi') };
  const cases: [string, string | object, number, string | null][] = [
    ['malformed JSON', '{"model": "x", "messages": [', 400, null],
    ['empty body', '', 400, null],
    ['not an object', '[1, 2]', 400, null],
    ['missing messages', { model: MODEL }, 400, 'messages'],
    ['wrong type: temperature', { ...ok, temperature: 'hot' }, 400, 'temperature'],
    ['wrong type: content', { ...ok, messages: [{ role: 'user', content: 42 }] }, 400, 'messages[0].content'],
    ['unknown role', { ...ok, messages: [{ role: 'wizard', content: 'hi' }] }, 400, 'messages[0].role'],
    ['max_tokens 0', { ...ok, max_tokens: 0 }, 400, 'max_tokens'],
    ['max_tokens not an integer', { ...ok, max_tokens: 2.5 }, 400, 'max_tokens'],
    ['max_tokens over the context', { ...ok, max_tokens: srv.host.contextLength + 1 }, 400, 'max_tokens'],
    ['n out of range', { ...ok, n: 0 }, 400, 'n'],
    ['prompt longer than the context', { ...ok, messages: ask('What is 1 + 2? '.repeat(srv.host.contextLength)) }, 400, 'messages'],
    ['unknown model', { ...ok, model: 'gpt-17' }, 404, 'model'],
  ];
  for (const [what, body, status, param] of cases) {
    const r = await rawPost('/v1/chat/completions', body);
    assert.equal(r.status, status, `${what}: status (${JSON.stringify(r.json)})`);
    assertErrorShape(r.json, what);
    assert.equal(r.json.error!.param, param, `${what}: param`);
  }
  const long = await rawPost('/v1/chat/completions', { ...ok, messages: ask('What is 1 + 2? '.repeat(srv.host.contextLength)) });
  assert.equal(long.json.error!.code, 'context_length_exceeded');
  assert.equal((await rawPost('/v1/chat/completions', '{oops')).json.error!.type, 'invalid_request_error');
  assert.equal((await rawPost('/v1/completions', { model: MODEL, prompt: 'x', max_tokens: -1 })).status, 400);
  assert.equal((await rawPost('/v1/completions', { model: MODEL, prompt: 'word '.repeat(srv.host.contextLength * 2) })).status, 400);

  // Body over the size limit (64 KiB in this server): 413.
  const big = await rawPost('/v1/chat/completions', { ...ok, messages: ask('x'.repeat(100 * 1024)) });
  assert.equal(big.status, 413);
  assertErrorShape(big.json, 'too large');
  assert.equal(big.json.error!.code, 'request_too_large');

  // The official client raises typed errors carrying the same fields.
  await assert.rejects(client.chat.completions.create({ model: 'gpt-17', messages: ask('hi') }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal(e.status, 404);
    assert.equal(e.code, 'model_not_found');
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: ask('hi'), max_tokens: 0 }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.equal(e.param, 'max_tokens');
    return true;
  });
  const notFound = await fetch(`${srv.url}/v1/nothing-here`);
  assert.equal(notFound.status, 404);
  assertErrorShape((await notFound.json()) as never, 'unknown route');
  const wrongMethod = await fetch(`${srv.url}/v1/chat/completions`);
  assert.equal(wrongMethod.status, 405);
});

test('--api-key: 401 without the right Bearer token', async () => {
  const guarded = await startServer({ model: srv.host, port: 0, apiKey: 'sk-test-123' });
  try {
    for (const key of [undefined, 'sk-wrong']) {
      const r = await fetch(`${guarded.url}/v1/models`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
      assert.equal(r.status, 401);
      const body = (await r.json()) as { error: Record<string, unknown> };
      assertErrorShape(body, 'unauthorized');
      assert.equal(body.error.code, 'invalid_api_key');
    }
    const bad = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(bad.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    const good = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: 'sk-test-123', maxRetries: 0 });
    const res = await good.chat.completions.create({ model: MODEL, messages: ask('Hello!'), max_tokens: 8, temperature: 0 });
    assert.equal(res.choices.length, 1);
    assert.equal((await fetch(`${guarded.url}/health`)).status, 200, '/health needs no key');
    assert.equal((await fetch(`${guarded.url}/api/runs`)).status, 401, 'the runs API needs the key');
  } finally {
    await guarded.close();
  }
});

test('concurrent requests share the generator (continuous batching)', async () => {
  const gen = srv.host.generator;
  const steps0 = gen.stats.decodeSteps, tokens0 = gen.stats.generatedTokens;
  let maxActive = 0;
  let done = false;
  const watch = (async () => {
    while (!done) {
      maxActive = Math.max(maxActive, gen.activeCount());
      await new Promise((r) => setImmediate(r));
    }
  })();
  const questions = ['What is 1 + 2?', 'What is 4 + 9?', 'Hello!', 'Who are you?', 'What is 11 + 11?'];
  const results = await Promise.all(questions.map(async (q, i) => {
    const s = await client.chat.completions.create({ model: MODEL, messages: ask(q), max_tokens: 40, seed: i, stream: true, stream_options: { include_usage: true } });
    let usage = 0;
    for await (const ch of s) if (ch.usage) usage = ch.usage.completion_tokens;
    return usage;
  }));
  done = true;
  await watch;
  const tokens = gen.stats.generatedTokens - tokens0, steps = gen.stats.decodeSteps - steps0;
  assert.equal(tokens, results.reduce((a, b) => a + b, 0));
  assert.ok(maxActive >= 2, `requests decoded together (max active ${maxActive})`);
  assert.ok(steps < tokens, `fewer decode steps (${steps}) than tokens (${tokens})`);
  assert.equal(gen.activeCount(), 0);
});

test('a client that disconnects mid-stream aborts its generation and frees its cache slot', async () => {
  // An untrained model (greedy) that does not emit EOS for a long while, served with one slot.
  const host = new ModelHost(await longRunningModel(lm, promptIds(ask('Tell me everything.')), 1000), { maxBatch: 1 });
  const s2 = await startServer({ model: host, port: 0 });
  try {
    const gen = host.generator;
    const body = { model: 'random', messages: ask('Tell me everything.'), temperature: 0, max_tokens: 1000, stream: true };
    for (const kind of ['stream', 'non-stream'] as const) {
      const before = gen.stats.generatedTokens;
      const ac = new AbortController();
      const pending = fetch(`${s2.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: kind === 'stream' }), signal: ac.signal });
      pending.catch(() => {}); // rejects with an AbortError below
      if (kind === 'stream') {
        const reader = (await pending).body!.getReader();
        const { value } = await reader.read();
        assert.ok(value && value.length > 0, 'got the first event');
      }
      await until(() => gen.activeCount() === 1 && gen.stats.generatedTokens > before + 2, 5000, `the generation to run (${kind}: active ${gen.activeCount()}, made ${gen.stats.generatedTokens - before})`);
      ac.abort();
      await until(() => gen.activeCount() === 0, 5000, 'the slot to be freed');
      const made = gen.stats.generatedTokens - before;
      assert.ok(made < 1000, `${kind}: stopped early (${made} of 1000 tokens)`);
    }
    // The single slot is free again: a new request is served.
    const c2 = new OpenAI({ baseURL: `${s2.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const r = await c2.chat.completions.create({ model: 'random', messages: ask('hi'), max_tokens: 3, temperature: 0 });
    assert.equal(r.usage!.completion_tokens, 3);
  } finally {
    await s2.close();
  }
});

test('chatPrompt from infer/load is what the server uses (R1 generation prompt opens <think>)', async () => {
  const p = chatPrompt(lm.tokenizer, ask('hi'));
  assert.ok(p.opensThinking);
  assert.deepEqual(p.ids, promptIds(ask('hi')));
  // The server renders and encodes (in slices) on its own: its prompt has chatPrompt's length.
  const messages: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is 3 + 4? <think> 12345 héllo' }];
  const res = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 1, temperature: 0 });
  assert.equal(res.usage!.prompt_tokens, chatPrompt(lm.tokenizer, messages).ids.length);
});
