// The HTTP application: the OpenAI-compatible API under /v1, the runs and reports APIs and the model card (what
// the chat page shows before the first question) under /api, /health, and the web UI at /. Cross-cutting rules live here: the body size limit (413, and the connection is
// closed rather than the rest of the body read), the API key (401), CORS for /v1 (off unless
// origins are named: the API needs no browser on another site, and a permissive default would let
// any web page the user visits call a local server), and one error handler that answers every
// failure in OpenAI's error shape. The Host check and the Content-Length check run before the app
// (guard.ts).
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { ApiError, CLIENT_CLOSED, payloadTooLarge, toApiError } from './errors.js';
import { requireApiKey } from './auth.js';
import { openaiRoutes } from './openai.js';
import { runsRoutes } from './runs.js';
import { defaultReportsDir, reportsRoutes } from './reports.js';
import { webRoutes } from './web.js';
import { DEFAULT_EXAMPLE_FAMILIES, modelCard } from './model-card.js';
import type { ModelHost } from './model-host.js';
import type { ReasoningFormat } from './schemas.js';

/** Options of the application. */
export interface AppOptions {
  host: ModelHost;
  /** Require `Authorization: Bearer <apiKey>` on /v1 and /api. */
  apiKey?: string;
  /** Largest accepted request body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Directory of training runs for /runs (default ./runs). */
  runsDir?: string;
  /** Directory of result reports whose figures the runs page shows (default: the repository's docs/results). */
  reportsDir?: string;
  /** The web UI's directory. */
  webDir: string;
  /** Default reasoning format (default "separate": DeepSeek's reasoning_content). */
  reasoningFormat?: ReasoningFormat;
  /** Log one line per request to this function. */
  log?: (line: string) => void;
  /** Origins allowed to call /v1 from a browser on another site ("*" = any); default none (no CORS headers). */
  cors?: string | readonly string[];
  /** Task families of the example prompts the chat page offers (one each; default: those the shipped model does best; [] = none). */
  examples?: readonly string[];
}

/** Whether an error means the client went away (mid-body, or while its request was being prepared). */
function clientGone(err: unknown, signal: AbortSignal): boolean {
  if (err instanceof ApiError) return err.code === CLIENT_CLOSED;
  const e = err as NodeJS.ErrnoException | undefined;
  return signal.aborted || e?.code === 'ECONNRESET' || e?.message === 'aborted';
}

/** Builds the Hono app. */
export function createApp(o: AppOptions): Hono {
  const app = new Hono();
  const limit = o.maxBodyBytes ?? 1 << 20;

  if (o.log) {
    const log = o.log;
    app.use('*', async (c, next) => {
      const t0 = performance.now();
      await next();
      log(`${c.req.method} ${c.req.path} ${c.res.status} ${(performance.now() - t0).toFixed(0)}ms`);
    });
  }
  const origins = o.cors === undefined ? [] : typeof o.cors === 'string' ? [o.cors] : [...o.cors];
  if (origins.length) {
    const origin = origins.includes('*') ? '*' : (requested: string) => (origins.includes(requested) ? requested : null);
    app.use('/v1/*', cors({ origin, allowHeaders: ['Authorization', 'Content-Type'], allowMethods: ['GET', 'POST', 'OPTIONS'] }));
  }
  app.use('/v1/*', requireApiKey(o.apiKey));
  app.use('/api/*', requireApiKey(o.apiKey));
  app.use('*', bodyLimit({ maxSize: limit, onError: () => { throw payloadTooLarge(limit); } }));

  app.get('/health', (c) =>
    c.json({
      status: 'ok',
      model: o.host.id,
      context_length: o.host.contextLength,
      active: o.host.generator.activeCount(),
      max_batch: o.host.generator.maxBatch,
      queued_tokens: o.host.queuedTokens(),
      max_queued_tokens: o.host.maxQueuedTokens,
      auth: o.apiKey !== undefined,
    }),
  );
  const card = modelCard(o.host, o.examples ?? DEFAULT_EXAMPLE_FAMILIES);
  app.get('/api/model', (c) => c.json(card));
  app.route('/v1', openaiRoutes(o.host, { reasoningFormat: o.reasoningFormat ?? 'separate' }));
  app.route('/api', runsRoutes(o.runsDir ?? 'runs'));
  app.route('/api', reportsRoutes(o.reportsDir ?? defaultReportsDir()));
  app.route('/', webRoutes(o.webDir));

  app.notFound((c) => {
    const e = new ApiError(404, `Unknown endpoint: ${c.req.method} ${c.req.path}`, 'invalid_request_error', null, 'unknown_url');
    return c.json(e.body(), 404);
  });
  app.onError((err, c) => {
    if (clientGone(err, c.req.raw.signal)) {
      // Nobody is left to answer: one line, not a server error with a stack trace.
      console.error(`tinyseek serve: ${c.req.method} ${c.req.path}: the client disconnected before its request was read`);
      return c.json(new ApiError(400, 'The client disconnected.', 'invalid_request_error', null, CLIENT_CLOSED).body(), 400);
    }
    const e = err instanceof HTTPException && !(err instanceof ApiError) ? new ApiError(err.status === 413 ? 413 : 400, err.message || 'Bad request') : toApiError(err);
    if (e.status === 500) console.error(`tinyseek serve: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    // A body over the limit is not read to its end: close the connection instead.
    const headers: Record<string, string> = e.status === 413 ? { connection: 'close' } : e.status === 503 ? { 'retry-after': '1' } : {};
    return c.json(e.body(), e.status, headers);
  });
  return app;
}
