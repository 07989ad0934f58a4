// The HTTP application: the OpenAI-compatible API under /v1, the runs API under /api, /health, and
// the web UI at /. Cross-cutting rules live here: the body size limit (413), the API key (401),
// CORS for /v1 (browser clients on other origins), and one error handler that answers every
// failure in OpenAI's error shape.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { ApiError, payloadTooLarge, toApiError } from './errors.js';
import { requireApiKey } from './auth.js';
import { openaiRoutes } from './openai.js';
import { runsRoutes } from './runs.js';
import { webRoutes } from './web.js';
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
  /** The web UI's directory. */
  webDir: string;
  /** Default reasoning format (default "separate": DeepSeek's reasoning_content). */
  reasoningFormat?: ReasoningFormat;
  /** Log one line per request to this function. */
  log?: (line: string) => void;
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
  app.use('/v1/*', cors({ origin: '*', allowHeaders: ['Authorization', 'Content-Type'], allowMethods: ['GET', 'POST', 'OPTIONS'] }));
  app.use('/v1/*', requireApiKey(o.apiKey));
  app.use('/api/*', requireApiKey(o.apiKey));
  app.use('/v1/*', bodyLimit({ maxSize: limit, onError: () => { throw payloadTooLarge(limit); } }));

  app.get('/health', (c) =>
    c.json({
      status: 'ok',
      model: o.host.id,
      context_length: o.host.contextLength,
      active: o.host.generator.activeCount(),
      max_batch: o.host.generator.maxBatch,
      auth: o.apiKey !== undefined,
    }),
  );
  app.route('/v1', openaiRoutes(o.host, { reasoningFormat: o.reasoningFormat ?? 'separate' }));
  app.route('/api', runsRoutes(o.runsDir ?? 'runs'));
  app.route('/', webRoutes(o.webDir));

  app.notFound((c) => {
    const e = new ApiError(404, `Unknown endpoint: ${c.req.method} ${c.req.path}`, 'invalid_request_error', null, 'unknown_url');
    return c.json(e.body(), 404);
  });
  app.onError((err, c) => {
    const e = err instanceof HTTPException && !(err instanceof ApiError) ? new ApiError(err.status === 413 ? 413 : 400, err.message || 'Bad request') : toApiError(err);
    if (e.status >= 500) console.error(`tinyseek serve: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    return c.json(e.body(), e.status);
  });
  return app;
}
