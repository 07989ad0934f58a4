// redis://[:password@]host[:port][/db] → the connection options BullMQ hands to ioredis.
import type { ConnectionOptions } from 'bullmq';

/** Error for a malformed Redis URL. */
export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

/**
 * Connection options for `url`. Commands wait while Redis is away (maxRetriesPerRequest null, the
 * offline queue on) and ioredis reconnects with a backoff capped at 1 s, so a restarted Redis is
 * picked up again by the learner and the workers.
 */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUrlError(`expected a Redis URL like redis://127.0.0.1:6379, found "${url}"`);
  }
  if (u.protocol !== 'redis:') throw new RedisUrlError(`expected a redis:// URL, found "${url}" (protocol ${u.protocol})`);
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new RedisUrlError(`expected a database number after the port in "${url}", found "${u.pathname.slice(1)}"`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    db,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
  };
}
