// Shared benchmark helpers: timing, medians and output (a table, or one JSON object per line).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { backend, addonPath } from '../src/backend/index.js';

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs fn repeatedly for about `seconds` (after `warmup` runs) and returns the median time in ms. */
export function timeIt(fn: () => void, seconds: number, warmup = 2, minRuns = 3): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (times.length < minRuns || performance.now() < end) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
    if (times.length > 10000) break;
  }
  return median(times);
}

/** Prints rows as an aligned table, or as JSON lines when `json`. */
export function report(rows: Record<string, string | number>[], json: boolean, title?: string): void {
  if (json) {
    for (const r of rows) console.log(JSON.stringify(r));
    return;
  }
  if (title) console.log(title);
  if (rows.length === 0) return;
  const keys = Object.keys(rows[0]);
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v >= 100 ? 1 : 3)) : v);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => fmt(r[k]).length)));
  console.log(keys.map((k, i) => k.padStart(widths[i])).join('  '));
  for (const r of rows) console.log(keys.map((k, i) => fmt(r[k]).padStart(widths[i])).join('  '));
}

/**
 * The Python that has Debian's packages (python3-torch): /usr/bin/python3 when present — a
 * pyenv or venv python3 earlier on PATH would not see them.
 */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Whether a Python module can be imported; returns the error text otherwise. */
export function pythonHas(module: string): string | null {
  const r = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr || r.error?.message || 'python3 not found').trim().split('\n').pop() ?? 'unknown error';
}

/** Sets the native backend's thread count (its pool and OpenBLAS), so tinyseek and its peer use the same number of threads. */
export function setTinyseekThreads(n: number): void {
  if (backend().name !== 'native') return;
  const addon = createRequire(import.meta.url)(addonPath()) as { setNumThreads?: (n: number) => number };
  addon.setNumThreads?.(n);
}
