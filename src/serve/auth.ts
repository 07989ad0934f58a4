// Bearer-token authentication (`--api-key`): requests without `Authorization: Bearer <key>` get 401
// in OpenAI's error shape. The comparison takes the same time whatever the key's prefix.
import crypto from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { unauthorized } from './errors.js';

/** Whether `given` equals `expected`, in constant time. */
export function keyMatches(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/** Middleware requiring the API key (a no-op when `apiKey` is undefined). */
export function requireApiKey(apiKey: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (apiKey === undefined || c.req.method === 'OPTIONS') return next();
    const header = c.req.header('authorization');
    const m = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!m) throw unauthorized('missing');
    if (!keyMatches(m[1], apiKey)) throw unauthorized('wrong');
    return next();
  };
}
