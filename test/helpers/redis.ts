// Redis for the tests: the server .ci/run starts (its URL in TINYSEEK_TEST_REDIS_URL), or else one
// started here from Debian's redis-server on a free loopback port. Without either, the tests that
// need Redis skip — or, under TINYSEEK_REQUIRE_TOOLS=1, fail (./tools.ts).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The environment variable .ci/run sets to its Redis's URL. */
export const REDIS_URL_ENV = 'TINYSEEK_TEST_REDIS_URL';

/** The redis-server binary, or null. */
export function redisServerBinary(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** True when a Redis answers PING at host:port within `ms`. */
export function ping(port: number, host = '127.0.0.1', ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    const done = (ok: boolean) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(ms, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** Waits until Redis answers at `port` (or throws after `ms`). */
export async function waitForRedis(port: number, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await ping(port))) {
    if (Date.now() - t0 > ms) throw new Error(`redis-server on port ${port} did not answer PING within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A redis-server this test started (no persistence: a restart loses every key). */
export class RedisServer {
  private proc: ChildProcess | null = null;
  private constructor(readonly bin: string, readonly port: number, readonly dir: string) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on a free loopback port, its files in `dir`. */
  static async start(bin: string, dir: string): Promise<RedisServer> {
    const s = new RedisServer(bin, await freePort(), dir);
    await s.restart();
    return s;
  }

  /** (Re)starts the server on the same port. */
  async restart(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    this.proc = spawn(this.bin, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--logfile', path.join(this.dir, 'redis.log')], { stdio: 'ignore' });
    await waitForRedis(this.port);
  }

  /** kill -9, and waits for the process to be gone. */
  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
    this.proc = null;
  }
}

/** Why Redis is unavailable for the tests, or null. */
export async function redisUnavailable(): Promise<string | null> {
  const url = process.env[REDIS_URL_ENV];
  if (url) {
    const u = new URL(url);
    return (await ping(Number(u.port || 6379), u.hostname)) ? null : `${REDIS_URL_ENV}=${url} does not answer PING`;
  }
  return redisServerBinary() ? null : `no Redis: ${REDIS_URL_ENV} is unset and redis-server is not installed (apt-get install redis-server)`;
}

/** The URL of the tests' Redis: .ci/run's, or one started here in `dir` (stop it with the returned function). */
export async function testRedis(dir: string): Promise<{ url: string; server: RedisServer | null }> {
  const url = process.env[REDIS_URL_ENV];
  if (url) return { url, server: null };
  const bin = redisServerBinary();
  if (!bin) throw new Error('redis-server is not installed');
  const server = await RedisServer.start(bin, dir);
  return { url: server.url, server };
}
