// Metrics of a run: one JSON object per line in `<run>/metrics.jsonl`.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../io/index.js';

/** A metrics record (must carry `step`). */
export type MetricsRecord = { step: number } & Record<string, unknown>;

/** Appends records to a run's metrics.jsonl (or another per-step JSONL file of the run). */
export class MetricsWriter {
  readonly file: string;
  constructor(runDir: string, name = 'metrics.jsonl') {
    fs.mkdirSync(runDir, { recursive: true });
    this.file = path.join(runDir, name);
  }

  /** Appends one record (flushed immediately, so a crash loses at most the line being written). */
  write(rec: MetricsRecord): void {
    fs.appendFileSync(this.file, JSON.stringify(rec) + '\n');
  }

  /** Keeps only records with step ≤ `step` (on resume), rewriting the file atomically. */
  truncateAfter(step: number): void {
    if (!fs.existsSync(this.file)) return;
    const keep = readMetrics(this.file).filter((r) => r.step <= step);
    writeFileAtomic(this.file, keep.map((r) => JSON.stringify(r) + '\n').join(''));
  }
}

/** Reads a metrics.jsonl file (skipping a torn last line). */
export function readMetrics(file: string): MetricsRecord[] {
  const out: MetricsRecord[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as MetricsRecord;
      if (typeof r.step === 'number') out.push(r);
    } catch {
      // a line torn by a crash: ignore
    }
  }
  return out;
}
