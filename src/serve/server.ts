// Starting and stopping the HTTP server (@hono/node-server) around the app. Port 0 picks a free
// port (tests); `close()` aborts open streams, which frees their generations.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { createApp } from './app.js';
import type { AppOptions } from './app.js';
import { ModelHost } from './model-host.js';
import type { ModelHostOptions } from './model-host.js';
import type { LoadedModel } from '../infer/load.js';
import { defaultWebDir } from './web.js';

/** Options of startServer. */
export interface ServerOptions extends Omit<AppOptions, 'host' | 'webDir'>, ModelHostOptions {
  /** A loaded model, or an already built host (to share one between servers). */
  model: LoadedModel | ModelHost;
  /** Default 8080; 0 = any free port. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  hostname?: string;
  webDir?: string;
}

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
  const host = o.model instanceof ModelHost ? o.model : new ModelHost(o.model, { id: o.id, maxBatch: o.maxBatch, speculative: o.speculative });
  const app = createApp({ ...o, host, webDir: o.webDir ?? defaultWebDir() });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  const hostname = o.hostname ?? '127.0.0.1';
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
