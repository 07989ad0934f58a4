// Checks made on the raw Node request before the app sees it, so that nothing is read from a body
// the server is going to refuse:
//   - DNS-rebinding protection: a server bound to loopback answers only requests whose Host names
//     this machine (localhost, 127.0.0.1, [::1], the bound address) or a name allowed with
//     --allow-host. A web page on another site whose name an attacker re-points to 127.0.0.1 sends
//     its own name as Host, so it cannot read the API, the runs or the chat.
//   - Body size: a Content-Length over the limit is answered 413 at once, and the connection is
//     closed instead of reading (or draining) the body. Chunked bodies are counted by the app.
// Refusals are answered in OpenAI's error shape with `Connection: close`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, payloadTooLarge } from './errors.js';

/** Options of the request guard. */
export interface GuardOptions {
  /** The address the server listens on. */
  hostname: string;
  /** Extra Host names accepted on a loopback server; "*" accepts any. */
  allowedHosts?: readonly string[];
  /** Largest request body in bytes. */
  maxBodyBytes: number;
}

/** Whether an address is a loopback one (the only case where the Host check applies). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** The host name of a Host header value, lower-cased, without the port (IPv6 keeps its brackets). */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(0, end + 1) : h;
  }
  const colon = h.indexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** Host names a loopback server answers to. */
function localNames(hostname: string, allowed: readonly string[]): Set<string> {
  const bound = hostname.toLowerCase();
  const names = ['localhost', '127.0.0.1', '[::1]', bound.includes(':') && !bound.startsWith('[') ? `[${bound}]` : bound];
  return new Set([...names, ...allowed.map((a) => hostName(a))]);
}

function refuse(res: ServerResponse, e: ApiError): void {
  const body = JSON.stringify(e.body());
  res.writeHead(e.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/** Returns a function that answers (and returns true for) a request that must not reach the app. */
export function requestGuard(o: GuardOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const allowed = o.allowedHosts ?? [];
  const checkHost = isLoopback(o.hostname) && !allowed.includes('*');
  const names = localNames(o.hostname, allowed);
  return (req, res) => {
    const host = req.headers.host;
    // HTTP/1.0 clients may send no Host at all; browsers (the rebinding attack) always send one.
    if (checkHost && host !== undefined && !names.has(hostName(host))) {
      refuse(res, new ApiError(
        403,
        `Host "${host}" is not allowed: this server listens on ${o.hostname} and answers only ${[...names].join(', ')} (protection against DNS rebinding). Start it with --allow-host ${hostName(host)} to accept this name.`,
        'invalid_request_error',
        null,
        'host_not_allowed',
      ));
      return true;
    }
    const length = req.headers['content-length'];
    if (length !== undefined && req.headers['transfer-encoding'] === undefined && Number(length) > o.maxBodyBytes) {
      refuse(res, payloadTooLarge(o.maxBodyBytes, Number(length)));
      return true;
    }
    return false;
  };
}
