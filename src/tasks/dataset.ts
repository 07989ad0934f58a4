// Task datasets as JSONL: one problem per line, each line carrying its generation parameters
// (family, difficulty, split, dataset seed, index, problem seed) so any line can be regenerated
// and checked. Written atomically.

import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { withAtomicFile } from '../io/atomic.js';
import { TaskError } from './errors.js';
import { getTask } from './registry.js';
import { problemKey, sampleProblem, splitOf, streamSeed, type Split } from './splits.js';
import type { Problem } from './types.js';

/** Generation parameters of a task dataset. */
export interface TaskDatasetParams {
  family: string;
  difficulty: number;
  split: Split;
  n: number;
  seed: number;
  /** Reject duplicate prompts within the dataset (default true). */
  unique?: boolean;
}

/** One line of a task dataset file. */
export interface TaskRecord extends Problem {
  split: Split;
  index: number;
  datasetSeed: number;
  generator: string;
}

/** Version tag written into every record; bump it when a generator's output changes. */
export const GENERATOR_VERSION = 'tinyseek-tasks/1';

/** Generates the problems of a dataset (deterministic in its parameters). */
export function generateTaskSet(params: TaskDatasetParams): TaskRecord[] {
  const task = getTask(params.family);
  if (!task.difficulties.includes(params.difficulty)) {
    throw new TaskError(`${params.family}: expected difficulty in ${task.difficulties.join(', ')}; found ${params.difficulty}`);
  }
  if (!Number.isInteger(params.n) || params.n < 0) throw new TaskError(`expected n to be a non-negative integer; found ${params.n}`);
  if (params.split !== 'train' && params.split !== 'test') throw new TaskError(`expected split "train" or "test"; found ${JSON.stringify(params.split)}`);
  const unique = params.unique ?? true;
  const seen = new Set<string>();
  const out: TaskRecord[] = [];
  // Give up after this many draws in a row that brought nothing new (the space is exhausted).
  const MAX_MISSES = 5000;
  let lastNew = -1;
  for (let draw = 0; out.length < params.n; draw++) {
    if (draw - lastNew > MAX_MISSES) {
      throw new TaskError(
        `${params.family} d${params.difficulty} ${params.split}: expected ${params.n} distinct problems; found only ${out.length} (${MAX_MISSES} draws in a row were repeats: the problem space is too small)`,
      );
    }
    const p = sampleProblem(params.family, params.difficulty, params.split, streamSeed(params.split, params.seed, params.family, params.difficulty, draw));
    const key = problemKey(p);
    if (unique && seen.has(key)) continue;
    seen.add(key);
    lastNew = draw;
    out.push({ ...p, split: params.split, index: out.length, datasetSeed: params.seed, generator: GENERATOR_VERSION });
  }
  return out;
}

/** Writes a task dataset as JSONL (atomically) and returns its records. */
export function writeTaskDataset(file: string, params: TaskDatasetParams): TaskRecord[] {
  const records = generateTaskSet(params);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  withAtomicFile(file, (f) => {
    for (const r of records) f.write(Buffer.from(JSON.stringify(r) + '\n', 'utf8'));
  });
  return records;
}

const RecordSchema = z.object({
  family: z.string(),
  difficulty: z.number().int(),
  seed: z.number().int(),
  prompt: z.string(),
  answer: z.string(),
  meta: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.array(z.number())])),
  split: z.enum(['train', 'test']),
  index: z.number().int(),
  datasetSeed: z.number().int(),
  generator: z.string(),
});

/** Reads a task dataset; checks every line's shape, family and that its split label matches its content. */
export function readTaskDataset(file: string): TaskRecord[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: TaskRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new TaskError(`${file}:${i + 1}: expected a JSON object; ${(e as Error).message}`);
    }
    const r = RecordSchema.safeParse(raw);
    if (!r.success) throw new TaskError(`${file}:${i + 1}: expected a task record; ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    getTask(r.data.family);
    if (splitOf(r.data) !== r.data.split) {
      throw new TaskError(`${file}:${i + 1}: record is labelled ${r.data.split} but its prompt belongs to the ${splitOf(r.data)} split`);
    }
    out.push(r.data);
  });
  return out;
}
