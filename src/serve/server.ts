// Starting and stopping the HTTP server (@hono/node-server) around the app. Port 0 picks a free
// port (tests); `close()` aborts open streams, which frees their generations. The Node server gets
// request and headers timeouts (a client trickling its request is cut off with 408; they bound only
// the reading of the request, never a streamed answer), and a guard that refuses foreign Hosts and
// over-large bodies before anything is read (guard.ts).
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { createApp } from './app.js';
import type { AppOptions } from './app.js';
import { ModelHost } from './model-host.js';
import type { ModelHostOptions } from './model-host.js';
import type { LoadedModel } from '../infer/load.js';
import { defaultWebDir } from './web.js';
import { requestGuard } from './guard.js';

/** Options of startServer. */
export interface ServerOptions extends Omit<AppOptions, 'host' | 'webDir'>, ModelHostOptions {
  /** A loaded model, or an already built host (to share one between servers). */
  model: LoadedModel | ModelHost;
  /** Default 8080; 0 = any free port. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  hostname?: string;
  webDir?: string;
  /** Host names accepted besides the local ones when bound to loopback ("*": any). */
  allowedHosts?: readonly string[];
  /** Time to receive a whole request (headers and body), in ms; 0 = none. Default 30 s. */
  requestTimeoutMs?: number;
  /** Time to receive the request headers, in ms. Default 10 s (at most requestTimeoutMs). */
  headersTimeoutMs?: number;
}

/** Default request timeout (ms). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default headers timeout (ms). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;

/** A running server. */
export interface RunningServer {
  url: string;
  port: number;
  host: ModelHost;
  server: Server;
  /** Stops accepting connections, closes open ones and waits for the server to close. */
  close(): Promise<void>;
}

/** Starts serving; resolves once the port is listening. */
export function startServer(o: ServerOptions): Promise<RunningServer> {
  const host = o.model instanceof ModelHost
    ? o.model
    : new ModelHost(o.model, { id: o.id, maxBatch: o.maxBatch, speculative: o.speculative, maxSlotsPerRequest: o.maxSlotsPerRequest, maxQueuedTokens: o.maxQueuedTokens });
  const app = createApp({ ...o, host, webDir: o.webDir ?? defaultWebDir() });
  const hostname = o.hostname ?? '127.0.0.1';
  const requestTimeout = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  let headersTimeout = o.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  if (requestTimeout > 0) headersTimeout = Math.min(headersTimeout, requestTimeout);
  const shortest = Math.min(headersTimeout || Infinity, requestTimeout || Infinity);
  const listener = getRequestListener(app.fetch);
  const guard = requestGuard({ hostname, allowedHosts: o.allowedHosts, maxBodyBytes: o.maxBodyBytes ?? 1 << 20 });
  const server = createServer({
    requestTimeout,
    headersTimeout,
    // How often Node checks those timeouts (its default, 30 s, would let a 1 s timeout run 30 s).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(shortest / 4))),
  }, (req, res) => {
    if (!guard(req, res)) void listener(req, res);
    else o.log?.(`${req.method} ${req.url} ${res.statusCode} (refused before reading: Host ${JSON.stringify(req.headers.host ?? '')}, Content-Length ${req.headers['content-length'] ?? '-'})`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, hostname, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const shown = hostname.includes(':') ? `[${hostname}]` : hostname === '0.0.0.0' ? '127.0.0.1' : hostname;
      resolve({
        url: `http://${shown}:${port}`,
        port,
        host,
        server,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            server.closeAllConnections();
          }),
      });
    });
  });
}
