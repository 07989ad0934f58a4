// Hardening of the server against a fault probe (#16), over real HTTP: oversized prompts refused by
// their size before any tokenizing, tokenizing that leaves the event loop free, a capped queue of
// prompt tokens, fair scheduling between requests, request/headers timeouts, quiet client
// disconnects, body size capped before the body is read, CORS off by default, DNS-rebinding
// protection (Host), no symlinks out of the runs root, and messages naming real commands.
// Tests assert orderings and counts, never timings.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { Command } from 'commander';
import { serveFixtureDir, longRunningModel } from './helpers/serve-fixture.js';
import { loadModelDir } from '../src/infer/load.js';
import type { LoadedModel } from '../src/infer/load.js';
import { startServer } from '../src/serve/server.js';
import type { RunningServer, ServerOptions } from '../src/serve/server.js';
import { ModelHost } from '../src/serve/model-host.js';
import { DeepseekV3 } from '../src/model/model.js';
import { asDeepseek } from '../src/model/registry.js';
import { Rng } from '../src/tensor/index.js';
import { registerAll } from '../src/cli/registry.js';
import type { ChatMessage } from '../src/tokenizer/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let lm: LoadedModel;
let srv: RunningServer;
let client: OpenAI;
const MODEL = 'tinyseek-test';

before(async () => {
  lm = loadModelDir(serveFixtureDir());
  srv = await startServer({ model: lm, port: 0, maxBatch: 8, id: MODEL });
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
});

after(async () => {
  await srv?.close();
});

const ask = (content: string): ChatMessage[] => [{ role: 'user', content }];

function promptIds(messages: ChatMessage[]): number[] {
  const tok = lm.tokenizer;
  return tok.encode(tok.applyChatTemplate(messages, { addGenerationPrompt: true }), { allowSpecial: true });
}

/** Counts calls of the tokenizer's BPE word encoder (every encode goes through it). */
function countEncodes(l: LoadedModel): { readonly calls: number; restore(): void } {
  const bpe = l.tokenizer.bpe;
  const orig = bpe.encodeWord;
  let calls = 0;
  bpe.encodeWord = function (this: typeof bpe, w: string) {
    calls++;
    return orig.call(this, w);
  };
  return { get calls() { return calls; }, restore: () => { bpe.encodeWord = orig; } };
}

async function until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw HTTP exchange over node:net: writes `head`, then whatever `drive` writes; collects the reply until the server closes. */
function rawExchange(port: number, head: string, drive?: (sock: net.Socket) => void): Promise<{ text: string; closedByServer: boolean; sock: net.Socket }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let closedByServer = false;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => { text += d; });
    sock.on('end', () => { closedByServer = true; });
    sock.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') reject(e); else closedByServer = true; });
    sock.on('close', () => resolve({ text, closedByServer, sock }));
    sock.on('connect', () => {
      sock.write(head);
      drive?.(sock);
    });
  });
}

function statusOf(text: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : -1;
}

function headerOf(text: string, name: string): string | undefined {
  const head = text.split('\r\n\r\n')[0];
  for (const line of head.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (line.slice(0, i).trim().toLowerCase() === name.toLowerCase()) return line.slice(i + 1).trim();
  }
  return undefined;
}

/** One GET over a fresh socket with the given headers; resolves with the whole reply. */
function rawGet(port: number, pathname: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const lines = [`GET ${pathname} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'Connection: close', '', ''];
  return rawExchange(port, lines.join('\r\n')).then((r) => ({ status: statusOf(r.text), text: r.text }));
}

function assertErrorShape(json: { error?: Record<string, unknown> }, what: string): void {
  assert.ok(json.error, `${what}: expected an "error" object`);
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type'], `${what}: error keys`);
  assert.ok(typeof json.error.message === 'string' && json.error.message.length > 0);
}

test('a prompt longer than the context can hold is refused by its size, before any tokenizing', async () => {
  const ctx = srv.host.contextLength;
  const big = 'hello world, how are you? '.repeat(40_000); // ~1 MB
  const spy = countEncodes(lm);
  try {
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: ask(big), max_tokens: 4 }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `expected a 400, got ${String(e)}`);
      assert.equal(e.code, 'context_length_exceeded');
      assert.equal(e.param, 'messages');
      const rendered = Buffer.byteLength(lm.tokenizer.applyChatTemplate(ask(big), { addGenerationPrompt: true }));
      assert.match(e.message, new RegExp(`\\b${rendered}\\b`), 'the message names the size found');
      assert.match(e.message, new RegExp(`\\b${ctx} tokens\\b`), 'the message names the context');
      return true;
    });
    await assert.rejects(client.completions.create({ model: MODEL, prompt: big, max_tokens: 4 }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal(e.code, 'context_length_exceeded');
      assert.equal(e.param, 'prompt');
      return true;
    });
    assert.equal(spy.calls, 0, 'no word of the oversized prompts was BPE-encoded');
  } finally {
    spy.restore();
  }
  // The bound is sound: a prompt with more bytes than the context has tokens, but fewer tokens, is served.
  let text = '';
  while (Buffer.byteLength(text) <= 2 * ctx) text += 'The answer is ';
  const ids = promptIds(ask(text));
  assert.ok(ids.length < ctx - 8 && Buffer.byteLength(text) > ctx, `fixture: ${ids.length} tokens, ${Buffer.byteLength(text)} bytes`);
  const ok = await client.chat.completions.create({ model: MODEL, messages: ask(text), max_tokens: 2, temperature: 0 });
  assert.equal(ok.usage!.prompt_tokens, ids.length);
});

test('/health is answered while 8 large prompts are being tokenized (tokenizing yields to the event loop)', async () => {
  // A long context, so that ~300 KB prompts pass the size bound and really are tokenized (they are
  // then refused: more tokens than even this context holds).
  const cfg = { ...asDeepseek(lm.model).cfg, maxPositionEmbeddings: 65_536 };
  const host = new ModelHost({ ...lm, model: new DeepseekV3(cfg, 3), name: 'long' }, { maxBatch: 1 });
  const s2 = await startServer({ model: host, port: 0 });
  const rng = new Rng(5);
  const word = () => Array.from({ length: 3 + Math.floor(rng.uniform() * 6) }, () => String.fromCharCode(97 + Math.floor(rng.uniform() * 26))).join('');
  const bigs = Array.from({ length: 8 }, () => {
    const parts: string[] = [];
    let n = 0;
    while (n < 300_000) { const w = word(); parts.push(w); n += w.length + 1; }
    return parts.join(' ');
  });
  const spy = countEncodes(lm);
  try {
    let finished = 0;
    const bigReqs = bigs.map(async (b) => {
      const r = await fetch(`${s2.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'long', messages: ask(b), max_tokens: 1 }) });
      const json = (await r.json()) as { error?: { code?: string } };
      finished++;
      return { status: r.status, code: json.error?.code };
    });
    await until(() => spy.calls > 0, 60_000, 'the server to start tokenizing');
    const health = await fetch(`${s2.url}/health`);
    assert.equal(health.status, 200);
    const finishedAtHealth = finished;
    const results = await Promise.all(bigReqs);
    assert.equal(finishedAtHealth, 0, `/health answered while all 8 large requests were in flight (${finishedAtHealth} had finished)`);
    for (const r of results) assert.deepEqual(r, { status: 400, code: 'context_length_exceeded' });
  } finally {
    spy.restore();
    await s2.close();
  }
});

test('the queue of prompt tokens is capped: 503 in OpenAI\'s shape when full, served again once drained', async () => {
  const host = new ModelHost(await longRunningModel(lm, promptIds(ask('Tell me everything.')), 1000), { maxBatch: 1, maxQueuedTokens: 100 } as never);
  const s2 = await startServer({ model: host, port: 0 });
  try {
    const c2 = new OpenAI({ baseURL: `${s2.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const ac = new AbortController();
    const a = await c2.chat.completions.create({ model: 'random', messages: ask('Tell me everything.'), max_tokens: 1000, temperature: 0, stream: true }, { signal: ac.signal });
    const it = a[Symbol.asyncIterator]();
    await it.next();
    await until(() => host.generator.activeCount() === 1, 10_000, 'A to decode');
    // 8 choices of a ~20-token prompt need ~160 more tokens than the 100 allowed.
    const bBody = { model: 'random', messages: ask('What is 1 + 2?'), n: 8, max_tokens: 2, temperature: 0 };
    const r = await fetch(`${s2.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bBody) });
    assert.equal(r.status, 503, 'queue full');
    const json = (await r.json()) as { error: Record<string, unknown> };
    assertErrorShape(json, 'queue full');
    assert.match(json.error.message as string, /\b100\b/, 'the message names the limit');
    assert.equal(host.generator.activeCount(), 1, 'A still decodes');
    ac.abort();
    await until(() => host.generator.activeCount() === 0, 10_000, 'A to stop');
    const b = await c2.chat.completions.create(bBody as OpenAI.ChatCompletionCreateParamsNonStreaming);
    assert.equal(b.choices.length, 8, 'alone, a request larger than the cap is served');
  } finally {
    await s2.close();
  }
});

test('fair scheduling: client B\'s first token arrives before client A\'s 16th of 256 choices finishes', async () => {
  const host = new ModelHost(lm, { id: 'fair', maxBatch: 4 });
  const s2 = await startServer({ model: host, port: 0 });
  try {
    const c2 = new OpenAI({ baseURL: `${s2.url}/v1`, apiKey: 'x', maxRetries: 0 });
    // A: 16 prompts × n = 16 = 256 choices.
    const prompts = Array.from({ length: 16 }, (_, i) => `I add ${i} and`);
    let aFinished = 0;
    let aStarted = false;
    const aDone = (async () => {
      const s = await c2.completions.create({ model: 'fair', prompt: prompts, n: 16, max_tokens: 8, temperature: 1, seed: 1, stream: true });
      for await (const ch of s) for (const c of ch.choices) { if (c.text) aStarted = true; if (c.finish_reason) aFinished++; }
    })();
    await until(() => aStarted, 30_000, 'A to stream');
    let aAtB = -1;
    const b = await c2.chat.completions.create({ model: 'fair', messages: ask('Hello!'), max_tokens: 4, temperature: 0, stream: true });
    for await (const ch of b) {
      const d = ch.choices[0]?.delta as { content?: string | null; reasoning_content?: string | null } | undefined;
      if (aAtB < 0 && (d?.content || d?.reasoning_content)) aAtB = aFinished;
    }
    await aDone;
    assert.equal(aFinished, 256);
    assert.ok(aAtB >= 0 && aAtB < 16, `B's first token came after ${aAtB} of A's 256 choices had finished`);
  } finally {
    await s2.close();
  }
});

test('a body trickled slowly is cut off by the request timeout, slow headers by the headers timeout; streamed answers are not', async () => {
  const s2 = await startServer({ model: srv.host, port: 0, requestTimeoutMs: 1000, headersTimeoutMs: 500 } as ServerOptions);
  try {
    const total = 200;
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const body = await rawExchange(s2.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`, (sock) => {
      timer = setInterval(() => {
        if (sent >= total || sock.destroyed) return clearInterval(timer);
        sock.write(' ');
        sent++;
      }, 50);
    });
    clearInterval(timer);
    assert.ok(body.closedByServer, 'the server closed the connection');
    assert.ok(sent < total, `closed before the body was complete (${sent} of ${total} bytes sent)`);
    assert.equal(statusOf(body.text), 408);

    let hsent = 0;
    const header = 'X-Slow: ' + 'a'.repeat(200);
    const slow = await rawExchange(s2.port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n', (sock) => {
      timer = setInterval(() => {
        if (hsent >= header.length || sock.destroyed) return clearInterval(timer);
        sock.write(header[hsent++]);
      }, 50);
    });
    clearInterval(timer);
    assert.ok(slow.closedByServer && hsent < header.length, `headers cut off (${hsent} of ${header.length} bytes sent)`);
  } finally {
    await s2.close();
  }
  // The timeouts bound reading the request only: a streamed answer may run far longer.
  const host = new ModelHost(await longRunningModel(lm, promptIds(ask('Tell me everything.')), 400), { maxBatch: 1 });
  const s3 = await startServer({ model: host, port: 0, requestTimeoutMs: 200, headersTimeoutMs: 100 } as ServerOptions);
  try {
    const c3 = new OpenAI({ baseURL: `${s3.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const s = await c3.chat.completions.create({ model: 'random', messages: ask('Tell me everything.'), max_tokens: 400, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let finish: string | null = null, tokens = 0;
    for await (const ch of s) {
      if (ch.choices[0]?.finish_reason) finish = ch.choices[0].finish_reason;
      if (ch.usage) tokens = ch.usage.completion_tokens;
    }
    assert.equal(finish, 'length');
    assert.equal(tokens, 400);
  } finally {
    await s3.close();
  }
});

test('a client that disconnects mid-body is logged in one line, not as a 500 with a stack trace', async () => {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => { lines.push(args.map(String).join(' ')); };
  try {
    await rawExchange(srv.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"model": "x", "mess', (sock) => {
      setTimeout(() => sock.destroy(), 100);
    });
    await until(() => lines.length > 0, 10_000, 'the disconnect to be logged');
    assert.equal((await fetch(`${srv.url}/health`)).status, 200);
  } finally {
    console.error = orig;
  }
  assert.equal(lines.length, 1, `one log call: ${JSON.stringify(lines)}`);
  assert.ok(!lines[0].includes('\n'), `one line: ${JSON.stringify(lines[0])}`);
  assert.doesNotMatch(lines[0], /\bat .*:\d+:\d+|Internal server error/);
  assert.match(lines[0], /disconnect|closed|aborted/i);
});

test('body size is capped at the HTTP layer: a Content-Length over the limit gets 413 and the connection closed, without sending the body', async () => {
  const s2 = await startServer({ model: srv.host, port: 0, maxBodyBytes: 64 * 1024 });
  try {
    for (const p of ['/v1/chat/completions', '/api/runs', '/']) {
      const r = await rawExchange(s2.port, `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n`, (sock) => {
        // Never send the body; give up (failing) if the server waits for it.
        const t = setTimeout(() => sock.destroy(), 10_000);
        sock.on('close', () => clearTimeout(t));
      });
      assert.equal(statusOf(r.text), 413, `${p}: ${r.text.slice(0, 80)}`);
      assert.ok(r.closedByServer, `${p}: the server closed the connection`);
      const json = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as { error: Record<string, unknown> };
      assertErrorShape(json, p);
      assert.equal(json.error.code, 'request_too_large');
    }
    // Chunked (no Content-Length): cut off once the limit is passed.
    const chunk = 'x'.repeat(16 * 1024);
    let chunks = 0;
    const r = await rawExchange(s2.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n', (sock) => {
      const t = setInterval(() => {
        if (sock.destroyed || chunks >= 400) return clearInterval(t);
        sock.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
        chunks++;
      }, 5);
    });
    assert.equal(statusOf(r.text), 413);
    assert.ok(r.closedByServer && chunks < 400, `chunked: cut off after ${chunks} chunks of 16 KiB`);
  } finally {
    await s2.close();
  }
});

test('CORS is off by default; --cors ORIGIN allows that origin only', async () => {
  const pre = { Host: `127.0.0.1:${srv.port}`, Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' };
  const off = await rawGet(srv.port, '/v1/models', pre);
  assert.equal(off.status, 200);
  assert.equal(headerOf(off.text, 'access-control-allow-origin'), undefined, 'no CORS header by default');
  const s2 = await startServer({ model: srv.host, port: 0, cors: 'https://app.example' } as ServerOptions);
  try {
    const good = await rawGet(s2.port, '/v1/models', { ...pre, Host: `127.0.0.1:${s2.port}`, Origin: 'https://app.example' });
    assert.equal(headerOf(good.text, 'access-control-allow-origin'), 'https://app.example');
    const bad = await rawGet(s2.port, '/v1/models', { ...pre, Host: `127.0.0.1:${s2.port}` });
    assert.notEqual(headerOf(bad.text, 'access-control-allow-origin'), 'https://evil.example');
    assert.notEqual(headerOf(bad.text, 'access-control-allow-origin'), '*');
  } finally {
    await s2.close();
  }
});

test('bound to loopback, a foreign Host is refused (DNS rebinding); local names and --allow-host are served', async () => {
  const port = srv.port;
  for (const h of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost', `LOCALHOST:${port}`]) {
    assert.equal((await rawGet(port, '/health', { Host: h })).status, 200, `Host ${h}`);
  }
  for (const h of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`]) {
    for (const p of ['/health', '/v1/models', '/api/runs', '/']) {
      const r = await rawGet(port, p, { Host: h });
      assert.equal(r.status, 403, `Host ${h} ${p}`);
      const json = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as { error: Record<string, unknown> };
      assertErrorShape(json, `Host ${h}`);
      assert.match(json.error.message as string, /evil\.example/);
    }
  }
  const s2 = await startServer({ model: srv.host, port: 0, allowedHosts: ['chat.internal'] } as ServerOptions);
  try {
    assert.equal((await rawGet(s2.port, '/health', { Host: `chat.internal:${s2.port}` })).status, 200);
    assert.equal((await rawGet(s2.port, '/health', { Host: 'evil.example' })).status, 403);
  } finally {
    await s2.close();
  }
});

test('symlinks inside the runs folder that lead outside it are neither listed nor followed', async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-runs-links-'));
  const runs = path.join(base, 'runs');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.jsonl'), '{"step": 1, "secret": "SECRET"}\n');
  fs.mkdirSync(path.join(outside, 'run'));
  fs.writeFileSync(path.join(outside, 'run', 'metrics.jsonl'), '{"step": 1, "secret": "SECRET"}\n');
  fs.writeFileSync(path.join(outside, 'eval.json'), '{"secret": "SECRET"}');
  const row = '{"step": 1, "loss": 2}\n';
  fs.mkdirSync(path.join(runs, 'good'), { recursive: true });
  fs.writeFileSync(path.join(runs, 'good', 'metrics.jsonl'), row);
  fs.symlinkSync(path.join(outside, 'eval.json'), path.join(runs, 'good', 'eval.json'));
  fs.mkdirSync(path.join(runs, 'leak-file'));
  fs.symlinkSync(path.join(outside, 'secret.jsonl'), path.join(runs, 'leak-file', 'metrics.jsonl'));
  fs.symlinkSync(path.join(outside, 'run'), path.join(runs, 'leak-dir'));
  fs.symlinkSync(path.join(runs, 'good'), path.join(runs, 'alias')); // inside the root: fine
  const s2 = await startServer({ model: srv.host, port: 0, runsDir: runs });
  try {
    const list = (await (await fetch(`${s2.url}/api/runs`)).json()) as { runs: { name: string; hasEval: boolean }[] };
    assert.deepEqual(list.runs.map((r) => r.name).sort(), ['alias', 'good']);
    assert.ok(list.runs.every((r) => !r.hasEval), 'an eval.json leading outside does not count');
    for (const name of ['leak-file', 'leak-dir']) {
      const r = await fetch(`${s2.url}/api/runs/${name}/metrics`);
      const text = await r.text();
      assert.equal(r.status, 404, `${name}: ${text}`);
      assert.ok(!text.includes('SECRET'));
    }
    const good = await fetch(`${s2.url}/api/runs/good/metrics`);
    const gtext = await good.text();
    assert.equal(good.status, 200);
    assert.ok(!gtext.includes('SECRET'), `good: ${gtext}`);
    assert.equal((JSON.parse(gtext) as { eval: unknown }).eval, null);
    assert.equal((await fetch(`${s2.url}/api/runs/alias/metrics`)).status, 200);
  } finally {
    await s2.close();
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('the runs page and serve\'s messages name commands that exist', async () => {
  const program = new Command();
  registerAll(program);
  const commands = new Set(program.commands.map((c) => c.name()));
  const page = await (await fetch(`${srv.url}/runs`)).text();
  const sources = [
    ['GET /runs', page],
    ['src/cli/commands/serve.ts', fs.readFileSync(path.join(root, 'src/cli/commands/serve.ts'), 'utf8')],
    ...fs.readdirSync(path.join(root, 'src/serve')).map((f) => [`src/serve/${f}`, fs.readFileSync(path.join(root, 'src/serve', f), 'utf8')]),
  ];
  let named = 0;
  for (const [where, text] of sources) {
    for (const m of text.matchAll(/(?:<code>|`|written by |run |with |use )tinyseek ([a-z][a-z0-9-]*)/g)) {
      named++;
      assert.ok(commands.has(m[1]), `${where} names "tinyseek ${m[1]}", which is not a command (${[...commands].join(', ')})`);
    }
  }
  assert.match(page, /tinyseek pretrain/, 'the runs page says how to start a run');
  assert.ok(named >= 2);
});
