// Train/test splits. A problem belongs to the test split iff a hash of its family and prompt falls
// in a fixed 1-in-10 bucket; this partitions the problem SPACE, so no seed, dataset size or
// difficulty can ever put a test prompt into training data (the same prompt at another difficulty
// is the same problem, and lands in the same split). Seeds for the two splits also come from
// separate streams, and sampling rejects problems of the other split.

import { TaskError } from './errors.js';
import { getTask } from './registry.js';
import { hashSeed } from './rng.js';
import type { Problem } from './types.js';

/** A dataset split. */
export type Split = 'train' | 'test';

/** One problem in TEST_BUCKETS goes to the test split. */
export const TEST_BUCKETS = 10;

/** The identity of a problem for splitting and deduplication: family + prompt. */
export function problemKey(p: Pick<Problem, 'family' | 'prompt'>): string {
  return `${p.family}\u0000${p.prompt}`;
}

/** The split a problem belongs to (a pure function of family and prompt). */
export function splitOf(p: Pick<Problem, 'family' | 'prompt'>): Split {
  return hashSeed('split-v1', problemKey(p)) % TEST_BUCKETS === 0 ? 'test' : 'train';
}

/** The seed of the index-th problem of a split's stream for a dataset seed. */
export function streamSeed(split: Split, datasetSeed: number, family: string, difficulty: number, index: number): number {
  return hashSeed('stream', split, datasetSeed, family, difficulty, index);
}

/** Generates a problem of the requested split: tries seeds derived from `seed` until one lands in that split. */
export function sampleProblem(family: string, difficulty: number, split: Split, seed: number): Problem {
  const task = getTask(family);
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const s = attempt === 0 ? seed : hashSeed('retry', seed, attempt);
    const p = task.generate(s, difficulty);
    if (splitOf(p) === split) return p;
  }
  throw new TaskError(`${family} d${difficulty}: no ${split} problem found in 10000 attempts from seed ${seed}`);
}
