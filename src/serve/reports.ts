// The result reports for the /runs page: every <stem>.md in the reports directory (docs/results) that
// has figures <stem>-*.svg (scaling laws, test-time compute, R1-Zero curves, …), with its title, and
// the figures themselves. A figure belongs to the longest report stem it starts with, so
// r1-zero-grow-mini-reward.svg goes to r1-zero-grow-mini, not to a report named r1-zero.
//   GET /api/reports           {root, reports: [{name, title, figures: [file]}]}
//   GET /api/reports/:file     one figure (image/svg+xml)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { ApiError } from './errors.js';

/** One report and its figures. */
export interface ReportEntry {
  /** The report's stem (its Markdown is <name>.md). */
  name: string;
  /** The Markdown's first "# " heading (code marks dropped), else the stem. */
  title: string;
  /** Its SVG figures, sorted. */
  figures: string[];
}

/** The repository's docs/results (beside dist/ when running compiled code). */
export function defaultReportsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const dir = path.resolve(here, up, 'docs', 'results');
    if (fs.existsSync(dir)) return dir;
  }
  return path.resolve(here, '../../../docs/results');
}

/** The reports with at least one figure, by name. A missing directory has none. */
export function listReports(dir: string): ReportEntry[] {
  if (!fs.existsSync(dir)) return [];
  const files = fs.readdirSync(dir);
  const stems = files.filter((f) => f.endsWith('.md')).map((f) => f.slice(0, -3)).sort((a, b) => b.length - a.length);
  const figures = new Map<string, string[]>();
  for (const f of files.filter((x) => x.endsWith('.svg')).sort()) {
    const stem = stems.find((s) => f.startsWith(`${s}-`));
    if (stem) figures.set(stem, [...(figures.get(stem) ?? []), f]);
  }
  return [...figures].map(([name, figs]) => {
    const head = fs.readFileSync(path.join(dir, `${name}.md`), 'utf8').split('\n').find((l) => l.startsWith('# '));
    return { name, title: head ? head.slice(2).replace(/`/g, '').trim() : name, figures: figs };
  }).sort((a, b) => a.name.localeCompare(b.name));
}

const FIGURE = /^[A-Za-z0-9_][A-Za-z0-9._-]*\.svg$/;

/** The /api/reports routes over a reports directory. */
export function reportsRoutes(dir: string): Hono {
  const app = new Hono();
  app.get('/reports', (c) => c.json({ root: path.basename(path.resolve(dir)), reports: listReports(dir) }));
  app.get('/reports/:file', (c) => {
    const name = c.req.param('file');
    const file = path.join(dir, name);
    if (!FIGURE.test(name) || !fs.existsSync(file)) {
      const e = new ApiError(404, `No report figure ${name} (expected the name of an .svg file in ${path.basename(path.resolve(dir))}/).`, 'not_found_error', null, 'not_found');
      return c.json(e.body(), 404);
    }
    // Shown in <img> (where an SVG's scripts never run); opened directly, the policy forbids them too.
    return c.body(fs.readFileSync(file), 200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" });
  });
  return app;
}
