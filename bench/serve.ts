// `tinyseek bench serve`: the HTTP server under load on loopback. 32 concurrent streaming clients
// (each sending chat requests back to back for the time budget) against the `mini` model, then
// the same with one client, in one run: time to first token (p50/p99) and aggregate generated
// tokens/s. ratio = 32-client tokens/s ÷ 1-client tokens/s (what continuous batching buys).
// Any failed request (non-200, an error event, a stream without [DONE]) is counted and makes the
// run fail. The model is a random-init `mini` with a small trained tokenizer, or the model
// directory in $TINYSEEK_BENCH_MODEL.
import { createParser } from 'eventsource-parser';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { loadModelDir } from '../src/infer/load.js';
import type { LoadedModel } from '../src/infer/load.js';
import { backend } from '../src/backend/index.js';
import { startServer } from '../src/serve/server.js';
import type { RunningServer } from '../src/serve/server.js';
import { report } from './_util.js';
import type { BenchOptions } from '../src/cli/commands/bench.js';

export const description = 'HTTP serving: 32 concurrent streaming clients vs 1 (TTFT p50/p99, tokens/s; ratio = batching gain)';

const MAX_TOKENS = 64;
const WORDS = 'the model thinks about each step before it answers a question with numbers letters and words'.split(' ');

/** A random-init `mini` model with a byte-level BPE trained on a few sentences. */
function randomMini(): LoadedModel {
  const cfg = getPreset('mini');
  const texts = Array.from({ length: 400 }, (_, i) => `${WORDS.slice(i % 7).join(' ')} ${i} + ${i * 3} = ${i * 4}. <think>${WORDS[i % WORDS.length]}</think>`);
  const tokenizer = Tokenizer.train(texts, { vocabSize: cfg.vocabSize });
  const model = new DeepseekV3(cfg, 1);
  model.eval();
  return { dir: '(random init)', name: 'mini', model, tokenizer, defaults: { temperature: 1, topP: 1, topK: 0, minP: 0 }, stopTokenIds: [tokenizer.eosId] };
}

/** The i-th client's question (different lengths, so prompts differ). */
function question(i: number, r: number): string {
  const n = 6 + ((i * 7 + r * 3) % 18);
  return Array.from({ length: n }, (_, k) => WORDS[(i + k * 5 + r) % WORDS.length]).join(' ') + '?';
}

interface RequestResult {
  ok: boolean;
  ttftMs: number;
  tokens: number;
  error?: string;
}

/** One streaming chat request; time to first token = time to the first reasoning/content delta. */
async function streamOnce(url: string, model: string, content: string, seed: number): Promise<RequestResult> {
  const t0 = performance.now();
  let ttft = NaN, tokens = 0, done = false, error: string | undefined;
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true }, max_tokens: MAX_TOKENS, temperature: 1, seed }),
    });
    if (res.status !== 200 || !res.body) return { ok: false, ttftMs: NaN, tokens: 0, error: `HTTP ${res.status}: ${await res.text()}` };
    const parser = createParser({
      onEvent: (ev) => {
        if (ev.data === '[DONE]') { done = true; return; }
        const chunk = JSON.parse(ev.data) as { error?: { message: string }; usage?: { completion_tokens: number }; choices?: { delta?: { content?: string | null; reasoning_content?: string | null } }[] };
        if (chunk.error) error = chunk.error.message;
        if (chunk.usage) tokens = chunk.usage.completion_tokens;
        const d = chunk.choices?.[0]?.delta;
        if (Number.isNaN(ttft) && d && (d.content || d.reasoning_content)) ttft = performance.now() - t0;
      },
    });
    const decoder = new TextDecoder();
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(part, { stream: true }));
  } catch (e) {
    error = (e as Error).message;
  }
  if (!done && !error) error = 'the stream ended without [DONE]';
  // A reply that produced no visible text still has a first token: count it at the end.
  if (Number.isNaN(ttft) && tokens > 0) ttft = performance.now() - t0;
  return { ok: !error, ttftMs: ttft, tokens, error };
}

function percentile(xs: number[], p: number): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** `clients` clients each sending requests back to back until `seconds` have passed (at least `minEach`). */
async function load(srv: RunningServer, clients: number, seconds: number, minEach: number): Promise<{ results: RequestResult[]; wallS: number }> {
  const results: RequestResult[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async (_, i) => {
    for (let r = 0; r < minEach || performance.now() < end; r++) results.push(await streamOnce(srv.url, srv.host.id, question(i, r), i * 1000 + r));
  }));
  return { results, wallS: (performance.now() - t0) / 1000 };
}

/** Runs the benchmark. */
export async function run(opts: BenchOptions): Promise<void> {
  const dir = process.env.TINYSEEK_BENCH_MODEL;
  const lm = dir ? loadModelDir(dir) : randomMini();
  const srv = await startServer({ model: lm, port: 0, hostname: '127.0.0.1', maxBatch: 32, id: dir ? undefined : 'mini' });
  const rows: Record<string, string | number>[] = [];
  let errors: string[] = [];
  try {
    await streamOnce(srv.url, srv.host.id, 'warm up', 0);
    const seconds = Math.max(1, opts.seconds);
    const single = await load(srv, 1, seconds, 3);
    const many = await load(srv, 32, seconds, 1);
    const tps1 = single.results.reduce((a, r) => a + r.tokens, 0) / single.wallS;
    for (const [clients, m] of [[32, many], [1, single]] as const) {
      const tokens = m.results.reduce((a, r) => a + r.tokens, 0);
      const tps = tokens / m.wallS;
      errors = errors.concat(m.results.filter((r) => !r.ok).map((r) => r.error ?? 'failed'));
      rows.push({
        bench: 'serve', model: srv.host.id, backend: backend().name, clients, requests: m.results.length, errors: m.results.filter((r) => !r.ok).length,
        ttft_p50_ms: percentile(m.results.map((r) => r.ttftMs), 50), ttft_p99_ms: percentile(m.results.map((r) => r.ttftMs), 99),
        tokens, tokens_per_s: tps, ratio: tps / tps1,
      });
    }
  } finally {
    await srv.close();
  }
  report(rows, opts.json, `serving over loopback, streaming chat, max_tokens ${MAX_TOKENS} (ratio = tokens/s ÷ one client's tokens/s)`);
  if (errors.length) {
    console.error(`serve bench: ${errors.length} request(s) failed; first: ${errors[0]}`);
    process.exitCode = 1;
  }
}
