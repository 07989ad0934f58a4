// Training runs for the /runs page: every directory under the runs root holding a metrics.jsonl
// (one JSON object per line, written by the trainers) and optionally eval.json.
//   GET /api/runs                 [{name, lines, lastStep, updated, hasEval}]
//   GET /api/runs/:name/metrics   {name, rows, skipped, sampled, eval}
// Run names are checked against a strict pattern and resolved inside the root (no path traversal).
import fs from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { ApiError } from './errors.js';

/** A run as listed. */
export interface RunSummary {
  name: string;
  /** Non-empty lines of metrics.jsonl (one row each). */
  lines: number;
  lastStep: number | null;
  /** Modification time of metrics.jsonl (ms since epoch). */
  updated: number;
  hasEval: boolean;
}

/** A run's metrics. */
export interface RunMetrics {
  name: string;
  rows: Record<string, unknown>[];
  /** Lines that did not parse as JSON objects (a line being written, a crash mid-line). */
  skipped: number;
  /** Rows were thinned to at most `maxRows` (evenly, keeping the last). */
  sampled: boolean;
  eval: unknown;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Whether a run name is acceptable (letters, digits, . _ -; no leading dot; no "..") */
export function validRunName(name: string): boolean {
  return NAME.test(name) && !name.includes('..');
}

function runDir(root: string, name: string): string {
  if (!validRunName(name)) throw new ApiError(400, `Invalid run name ${JSON.stringify(name)}: expected letters, digits, ".", "_" or "-".`, 'invalid_request_error', 'name', 'invalid_value');
  const base = path.resolve(root);
  const dir = path.resolve(base, name);
  if (path.dirname(dir) !== base) throw new ApiError(400, 'Invalid run name.', 'invalid_request_error', 'name', 'invalid_value');
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    throw new ApiError(404, `No run named ${JSON.stringify(name)}.`, 'invalid_request_error', 'name', 'run_not_found');
  }
  // A symlink pointing outside the root is not followed.
  const realBase = fs.realpathSync(base);
  if (path.dirname(real) !== realBase || !fs.existsSync(path.join(real, 'metrics.jsonl'))) {
    throw new ApiError(404, `No run named ${JSON.stringify(name)}.`, 'invalid_request_error', 'name', 'run_not_found');
  }
  return real;
}

/** Parses metrics.jsonl text into rows (objects), counting lines that do not parse. */
export function parseMetrics(text: string): { rows: Record<string, unknown>[]; skipped: number } {
  const rows: Record<string, unknown>[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) rows.push(v as Record<string, unknown>);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { rows, skipped };
}

/** Evenly thins rows to at most `max`, always keeping the first and the last. */
export function thin<T>(rows: T[], max: number): T[] {
  if (rows.length <= max) return rows;
  const out: T[] = [];
  const step = (rows.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(rows[Math.round(i * step)]);
  return out;
}

/** Lists the runs under root (newest first). */
export function listRuns(root: string): RunSummary[] {
  if (!fs.existsSync(root)) return [];
  const out: RunSummary[] = [];
  for (const e of fs.readdirSync(root, { withFileTypes: true })) {
    if (!validRunName(e.name)) continue;
    const file = path.join(root, e.name, 'metrics.jsonl');
    let st: fs.Stats;
    try {
      if (!fs.statSync(path.join(root, e.name)).isDirectory()) continue;
      st = fs.statSync(file);
    } catch {
      continue;
    }
    // Listing is polled by the page: count lines and read the last complete row only.
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
    let last: unknown = null;
    for (let i = lines.length - 1; i >= 0 && last === null; i--) {
      const { rows } = parseMetrics(lines[i]);
      if (rows.length) last = rows[0].step ?? null;
    }
    out.push({
      name: e.name,
      lines: lines.length,
      lastStep: typeof last === 'number' ? last : null,
      updated: st.mtimeMs,
      hasEval: fs.existsSync(path.join(root, e.name, 'eval.json')),
    });
  }
  return out.sort((a, b) => b.updated - a.updated || a.name.localeCompare(b.name));
}

/** Reads one run's metrics (thinned to maxRows) and eval.json. */
export function readRun(root: string, name: string, maxRows = 2000): RunMetrics {
  const dir = runDir(root, name);
  const { rows, skipped } = parseMetrics(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'));
  let evalData: unknown = null;
  const evalFile = path.join(dir, 'eval.json');
  if (fs.existsSync(evalFile)) {
    try {
      evalData = JSON.parse(fs.readFileSync(evalFile, 'utf8')) as unknown;
    } catch (e) {
      evalData = { error: `eval.json does not parse: ${(e as Error).message}` };
    }
  }
  const kept = thin(rows, maxRows);
  return { name, rows: kept, skipped, sampled: kept.length < rows.length, eval: evalData };
}

/** The /api/runs routes over a runs root directory. */
export function runsRoutes(root: string): Hono {
  const app = new Hono();
  app.get('/runs', (c) => c.json({ root: path.basename(path.resolve(root)), runs: listRuns(root) }));
  app.get('/runs/:name/metrics', (c) => c.json(readRun(root, c.req.param('name'))));
  return app;
}
