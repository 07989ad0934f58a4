// The browser UI's files: web/ (static HTML, CSS and ES modules, no build step) at /, /runs and
// /<file>, and the two browser libraries it imports, served straight from node_modules at
// /vendor/ (marked for markdown, DOMPurify to sanitize it) — nothing comes from a CDN.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { ApiError } from './errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** The repository's web/ directory (beside dist/ when running compiled code). */
export function defaultWebDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/src/serve → repo root; src/serve (ts-node style) → repo root.
  for (const up of ['../../..', '../..']) {
    const dir = path.resolve(here, up, 'web');
    if (fs.existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return path.resolve(here, '../../../web');
}

/** The browser builds of marked and DOMPurify (ES modules) and their source maps, by URL name. */
function vendorFiles(): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of ['marked', 'dompurify']) {
    try {
      const file = fileURLToPath(import.meta.resolve(spec));
      const name = path.basename(file);
      out.set(name, file);
      if (fs.existsSync(`${file}.map`)) out.set(`${name}.map`, `${file}.map`);
    } catch {
      // not installed: the page falls back to plain text
    }
  }
  return out;
}

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function send(c: Context, file: string): Response {
  const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  return c.body(fs.readFileSync(file), 200, { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
}

/** Routes for the web UI rooted at webDir. */
export function webRoutes(webDir: string): Hono {
  const app = new Hono();
  const vendor = vendorFiles();
  const root = path.resolve(webDir);
  const page = (name: string) => (c: Context) => {
    const file = path.join(root, name);
    if (!fs.existsSync(file)) throw new ApiError(404, `The web UI is missing (${file}); is web/ next to dist/?`, 'not_found_error', null, 'not_found');
    return send(c, file);
  };
  app.get('/', page('index.html'));
  app.get('/runs', page('runs.html'));
  app.get('/vendor/:file', (c) => {
    const file = vendor.get(c.req.param('file'));
    if (!file) throw new ApiError(404, `No vendored file ${c.req.param('file')}.`, 'not_found_error', null, 'not_found');
    return send(c, file);
  });
  app.get('/*', async (c, next) => {
    let rel: string;
    try {
      rel = decodeURIComponent(c.req.path).replace(/^\/+/, '');
    } catch {
      return next();
    }
    const parts = rel.split('/');
    if (!rel || !parts.every((p) => SEGMENT.test(p))) return next();
    const file = path.resolve(root, ...parts);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return next();
    return send(c, file);
  });
  return app;
}
