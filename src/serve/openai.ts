// The OpenAI-compatible API in DeepSeek's reasoner format:
//   POST /v1/chat/completions  chat through the model's template; reasoning → reasoning_content
//   POST /v1/completions       raw prompt continuation
//   GET  /v1/models[/:id]      the served model
// Streaming answers are SSE `chat.completion.chunk`s ending with `data: [DONE]`; a client that
// disconnects aborts its generation (the generator frees its cache slot at the next step).
import crypto from 'node:crypto';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { chatPrompt, completionPrompt } from '../infer/load.js';
import { SPECIAL } from '../tokenizer/index.js';
import type { ChatMessage } from '../tokenizer/index.js';
import { ApiError, contextExceeded, invalidJson, modelNotFound, toApiError } from './errors.js';
import { ChatCompletionRequest, CompletionRequest, parseRequest } from './schemas.js';
import type { ChatMessageIn, ReasoningFormat } from './schemas.js';
import type { ChoiceResult, ModelHost } from './model-host.js';
import type { ReplyDelta } from './reply.js';
import { SseStream } from './sse.js';

/** Options of the API routes. */
export interface OpenAIRoutesOptions {
  /** Default reasoning format when a request does not name one. */
  reasoningFormat: ReasoningFormat;
}

const FINGERPRINT = 'fp_tinyseek';

/** Reads the body as JSON (400 in OpenAI's shape if it is not). */
async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim()) throw invalidJson('the body is empty');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw invalidJson((e as Error).message);
  }
}

function checkModel(host: ModelHost, model: string): void {
  if (model !== host.id) throw modelNotFound(model, [host.id]);
}

/** Message content as text (a list of text parts is joined). */
function contentText(m: ChatMessageIn): string {
  if (m.content == null) return '';
  return typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('');
}

/**
 * Request messages → template messages. Previous turns' reasoning is never fed back: reasoning_content
 * is dropped, and an assistant turn that carries its reasoning inline (<think>…</think>, as clients of
 * the inline format send it back) keeps only the answer after </think>.
 */
export function toChatMessages(messages: readonly ChatMessageIn[]): ChatMessage[] {
  return messages.map((m) => {
    let content = contentText(m);
    if (m.role === 'assistant') {
      const end = content.lastIndexOf(SPECIAL.thinkClose);
      if (end >= 0) content = content.slice(end + SPECIAL.thinkClose.length).replace(/^\s+/, '');
    }
    return { role: m.role === 'developer' ? 'system' : m.role, content };
  });
}

function stopList(stop: string | string[] | null | undefined): string[] {
  if (stop == null) return [];
  return (typeof stop === 'string' ? [stop] : stop).filter((s) => s.length > 0);
}

/** The completion budget: max_tokens within [1, context], clamped to what the prompt leaves. */
function budget(host: ModelHost, promptTokens: number, maxTokens: number | null | undefined, param: string, promptParam: string): number {
  const ctx = host.contextLength;
  if (promptTokens >= ctx) throw contextExceeded(promptTokens, ctx, promptParam);
  if (maxTokens != null && maxTokens > ctx) {
    throw new ApiError(400, `Invalid '${param}': ${maxTokens} is greater than the model's context length of ${ctx} tokens.`, 'invalid_request_error', param, 'invalid_value');
  }
  return Math.min(maxTokens ?? Infinity, ctx - promptTokens);
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  completion_tokens_details: { reasoning_tokens: number };
}

function usageOf(promptTokens: number, results: readonly ChoiceResult[]): Usage {
  const completion = results.reduce((a, r) => a + r.completionTokens, 0);
  const reasoning = results.reduce((a, r) => a + r.reasoningTokens, 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion, completion_tokens_details: { reasoning_tokens: reasoning } };
}

/** finish_reason as OpenAI names it. */
function finishReason(r: ChoiceResult): 'stop' | 'length' {
  return r.finishReason === 'length' ? 'length' : 'stop';
}

/** An AbortSignal that fires when the HTTP client goes away (or the SSE stream is cancelled). */
function clientSignal(c: Context, sse?: SseStream): AbortController {
  const ac = new AbortController();
  const raw = c.req.raw.signal;
  if (raw.aborted) ac.abort();
  else raw.addEventListener('abort', () => ac.abort(), { once: true });
  sse?.onCancel(() => ac.abort());
  return ac;
}

/** Streams a request's choices as SSE; `chunk` builds each event around a list of choices. */
function streamChoices(
  c: Context,
  run: (signal: AbortSignal, onDelta: (i: number, ds: ReplyDelta[]) => void, onEnd: (r: ChoiceResult) => void) => Promise<ChoiceResult[]>,
  events: {
    first: (i: number) => unknown;
    delta: (i: number, d: ReplyDelta) => unknown;
    end: (r: ChoiceResult) => unknown;
    chunk: (choices: unknown[], usage?: Usage | null) => unknown;
  },
  n: number,
  includeUsage: boolean,
  usage: (rs: ChoiceResult[]) => Usage,
): Response {
  const sse = new SseStream();
  const ac = clientSignal(c, sse);
  const u = includeUsage ? null : undefined;
  for (let i = 0; i < n; i++) sse.send(events.chunk([events.first(i)], u));
  run(
    ac.signal,
    (i, ds) => {
      for (const d of ds) sse.send(events.chunk([events.delta(i, d)], u));
    },
    (r) => sse.send(events.chunk([events.end(r)], u)),
  )
    .then((rs) => {
      if (includeUsage) sse.send(events.chunk([], usage(rs)));
      sse.done();
    })
    .catch((e: unknown) => {
      sse.send(toApiError(e).body());
      sse.close();
    });
  return sse.response;
}

/** Builds the /v1 routes for one served model. */
export function openaiRoutes(host: ModelHost, opts: OpenAIRoutesOptions): Hono {
  const app = new Hono();
  const modelCard = () => ({ id: host.id, object: 'model', created: host.created, owned_by: 'tinyseek', context_length: host.contextLength });

  app.get('/models', (c) => c.json({ object: 'list', data: [modelCard()] }));
  app.get('/models/:id', (c) => {
    checkModel(host, c.req.param('id'));
    return c.json(modelCard());
  });

  app.post('/chat/completions', async (c) => {
    const body = parseRequest(ChatCompletionRequest, await readJson(c));
    checkModel(host, body.model);
    if (body.logprobs) throw new ApiError(400, 'logprobs is not supported by this server (as with deepseek-reasoner).', 'invalid_request_error', 'logprobs', 'unsupported_parameter');
    const tok = host.lm.tokenizer;
    const prompt = chatPrompt(tok, toChatMessages(body.messages));
    const maxTokens = budget(host, prompt.ids.length, body.max_completion_tokens ?? body.max_tokens, body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens', 'messages');
    const mode = body.reasoning_format ?? opts.reasoningFormat;
    const n = body.n ?? 1;
    const id = `chatcmpl-${crypto.randomUUID().replace(/-/g, '')}`;
    const created = Math.floor(Date.now() / 1000);
    const run = (signal: AbortSignal, onDelta?: (i: number, ds: ReplyDelta[]) => void, onChoiceEnd?: (r: ChoiceResult) => void) =>
      host.runChoices({
        prompt: prompt.ids, n, maxTokens, temperature: body.temperature ?? undefined, topP: body.top_p ?? undefined, topK: body.top_k ?? undefined, minP: body.min_p ?? undefined,
        seed: body.seed ?? undefined, stop: stopList(body.stop), mode, startInThinking: prompt.opensThinking, signal, onDelta, onChoiceEnd,
      });
    const usage = (rs: ChoiceResult[]) => usageOf(prompt.ids.length, rs);

    if (body.stream) {
      const separate = mode === 'separate';
      return streamChoices(c, run, {
        first: (i) => ({ index: i, delta: separate ? { role: 'assistant', content: '', reasoning_content: '' } : { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }),
        delta: (i, d) => ({
          index: i,
          delta: !separate ? { content: d.text } : d.kind === 'reasoning' ? { content: null, reasoning_content: d.text } : { content: d.text, reasoning_content: null },
          logprobs: null,
          finish_reason: null,
        }),
        end: (r) => ({ index: r.index, delta: {}, logprobs: null, finish_reason: finishReason(r) }),
        chunk: (choices, u) => ({ id, object: 'chat.completion.chunk', created, model: host.id, system_fingerprint: FINGERPRINT, choices, ...(u !== undefined ? { usage: u } : {}) }),
      }, n, !!body.stream_options?.include_usage, usage);
    }

    const ac = clientSignal(c);
    const results = await run(ac.signal);
    return c.json({
      id,
      object: 'chat.completion',
      created,
      model: host.id,
      system_fingerprint: FINGERPRINT,
      choices: results.map((r) => ({
        index: r.index,
        message: mode === 'separate' ? { role: 'assistant', content: r.content, reasoning_content: r.reasoning } : { role: 'assistant', content: r.content },
        logprobs: null,
        finish_reason: finishReason(r),
      })),
      usage: usage(results),
    });
  });

  app.post('/completions', async (c) => {
    const body = parseRequest(CompletionRequest, await readJson(c));
    checkModel(host, body.model);
    if (body.logprobs != null) throw new ApiError(400, 'logprobs is not supported by this server.', 'invalid_request_error', 'logprobs', 'unsupported_parameter');
    const tok = host.lm.tokenizer;
    const texts = typeof body.prompt === 'string' ? [body.prompt] : body.prompt;
    const prompts = texts.map((t, i) => {
      const ids = completionPrompt(tok, t);
      if (!ids.length) throw new ApiError(400, `Invalid 'prompt'${texts.length > 1 ? `[${i}]` : ''}: expected at least one token; the prompt is empty.`, 'invalid_request_error', 'prompt', 'invalid_value');
      return ids;
    });
    const param = 'max_tokens';
    const budgets = prompts.map((p) => budget(host, p.length, body.max_tokens ?? Math.min(16, host.contextLength), param, 'prompt'));
    const n = body.n ?? 1;
    const id = `cmpl-${crypto.randomUUID().replace(/-/g, '')}`;
    const created = Math.floor(Date.now() / 1000);
    const echo = !!body.echo;
    const stop = stopList(body.stop);
    const promptTokens = prompts.reduce((a, p) => a + p.length, 0);
    // Choice index = prompt index × n + sample index, as OpenAI numbers them.
    const run = async (signal: AbortSignal, onDelta?: (i: number, ds: ReplyDelta[]) => void, onChoiceEnd?: (r: ChoiceResult) => void) => {
      const per = await Promise.all(prompts.map((p, pi) => host.runChoices({
        prompt: p, n, maxTokens: budgets[pi], temperature: body.temperature ?? undefined, topP: body.top_p ?? undefined, topK: body.top_k ?? undefined, minP: body.min_p ?? undefined,
        seed: body.seed ?? undefined, stop, mode: 'raw', startInThinking: false, signal,
        onDelta: onDelta && ((i, ds) => onDelta(pi * n + i, ds)),
        onChoiceEnd: onChoiceEnd && ((r) => onChoiceEnd({ ...r, index: pi * n + r.index })),
      })));
      return per.flatMap((rs, pi) => rs.map((r) => ({ ...r, index: pi * n + r.index })));
    };
    const usage = (rs: ChoiceResult[]): Usage => ({ ...usageOf(promptTokens, rs), completion_tokens_details: { reasoning_tokens: 0 } });
    const choice = (index: number, text: string, finish: 'stop' | 'length' | null) => ({ text, index, logprobs: null, finish_reason: finish });

    if (body.stream) {
      return streamChoices(c, run, {
        first: (i) => choice(i, echo ? texts[Math.floor(i / n)] : '', null),
        delta: (i, d) => choice(i, d.text, null),
        end: (r) => choice(r.index, '', finishReason(r)),
        chunk: (choices, u) => ({ id, object: 'text_completion', created, model: host.id, system_fingerprint: FINGERPRINT, choices, ...(u !== undefined ? { usage: u } : {}) }),
      }, texts.length * n, !!body.stream_options?.include_usage, usage);
    }
    const ac = clientSignal(c);
    const results = await run(ac.signal);
    return c.json({
      id,
      object: 'text_completion',
      created,
      model: host.id,
      system_fingerprint: FINGERPRINT,
      choices: results.map((r) => choice(r.index, (echo ? texts[Math.floor(r.index / n)] : '') + r.content, finishReason(r))),
      usage: usage(results),
    });
  });

  for (const path of ['/chat/completions', '/completions']) {
    app.all(path, (c) => {
      throw new ApiError(405, `Method ${c.req.method} is not allowed on /v1${path}; use POST.`, 'invalid_request_error', null, 'method_not_allowed');
    });
  }
  return app;
}
