// Training runs for the /runs page: every directory under the runs root holding a metrics.jsonl
// (one JSON object per line, written by the trainers) and optionally eval.json.
//   GET /api/runs                 [{name, lines, lastStep, updated, hasEval}]
//   GET /api/runs/:name/metrics   {name, rows, skipped, sampled, eval}
// Run names are checked against a strict pattern, and a run's directory and files are resolved to
// their real paths, which must lie inside the runs root: a symlink leading outside it is neither
// listed nor followed (no path traversal, no reading files elsewhere on the machine).
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

/** The real path of `p` if it exists and lies inside the real root `realRoot`; null otherwise (symlinks leading out are refused). */
function insideRoot(realRoot: string, p: string): string | null {
  let real: string;
  try {
    real = fs.realpathSync(p);
  } catch {
    return null;
  }
  return real.startsWith(realRoot + path.sep) ? real : null;
}

/** The real root directory, or null when it does not exist. */
function realRootOf(root: string): string | null {
  try {
    return fs.realpathSync(path.resolve(root));
  } catch {
    return null;
  }
}

/** A run's directory and files, each resolved (symlinks included) to a real path inside the root; null if it is not a run. */
function resolveRun(realRoot: string, name: string): { dir: string; metrics: string; evalFile: string | null } | null {
  if (!validRunName(name)) return null;
  const dir = insideRoot(realRoot, path.join(realRoot, name));
  if (!dir || !fs.statSync(dir).isDirectory()) return null;
  const metrics = insideRoot(realRoot, path.join(dir, 'metrics.jsonl'));
  if (!metrics || !fs.statSync(metrics).isFile()) return null;
  const evalFile = insideRoot(realRoot, path.join(dir, 'eval.json'));
  return { dir, metrics, evalFile: evalFile && fs.statSync(evalFile).isFile() ? evalFile : null };
}

function runFiles(root: string, name: string): { metrics: string; evalFile: string | null } {
  if (!validRunName(name)) throw new ApiError(400, `Invalid run name ${JSON.stringify(name)}: expected letters, digits, ".", "_" or "-".`, 'invalid_request_error', 'name', 'invalid_value');
  const realRoot = realRootOf(root);
  const run = realRoot ? resolveRun(realRoot, name) : null;
  // A run whose directory or files lead outside the root (symlinks) is not followed: it does not exist here.
  if (!run) throw new ApiError(404, `No run named ${JSON.stringify(name)}.`, 'invalid_request_error', 'name', 'run_not_found');
  return run;
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

/** Lists the runs under root (newest first); entries leading outside the root through symlinks are left out. */
export function listRuns(root: string): RunSummary[] {
  const realRoot = realRootOf(root);
  if (!realRoot) return [];
  const out: RunSummary[] = [];
  for (const e of fs.readdirSync(realRoot, { withFileTypes: true })) {
    let run: ReturnType<typeof resolveRun>;
    let st: fs.Stats;
    try {
      run = resolveRun(realRoot, e.name);
      if (!run) continue;
      st = fs.statSync(run.metrics);
    } catch {
      continue;
    }
    // Listing is polled by the page: count lines and read the last complete row only.
    const lines = fs.readFileSync(run.metrics, 'utf8').split('\n').filter((l) => l.trim());
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
      hasEval: run.evalFile !== null,
    });
  }
  return out.sort((a, b) => b.updated - a.updated || a.name.localeCompare(b.name));
}

/** Reads one run's metrics (thinned to maxRows) and eval.json. */
export function readRun(root: string, name: string, maxRows = 2000): RunMetrics {
  const files = runFiles(root, name);
  const { rows, skipped } = parseMetrics(fs.readFileSync(files.metrics, 'utf8'));
  let evalData: unknown = null;
  if (files.evalFile) {
    try {
      evalData = JSON.parse(fs.readFileSync(files.evalFile, 'utf8')) as unknown;
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
