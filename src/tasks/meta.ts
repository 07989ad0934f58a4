// Typed access to problem metadata, with errors that name the family and the field.

import { TaskError } from './errors.js';
import type { Problem } from './types.js';

/** The integer meta field `key` of a problem. */
export function metaInt(p: Problem, key: string): number {
  const v = p.meta[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TaskError(`${p.family} problem: expected meta.${key} to be an integer; found ${JSON.stringify(v)}`);
  }
  return v;
}

/** The integer-array meta field `key` of a problem. */
export function metaInts(p: Problem, key: string): number[] {
  const v = p.meta[key];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) {
    throw new TaskError(`${p.family} problem: expected meta.${key} to be an integer array; found ${JSON.stringify(v)}`);
  }
  return [...v];
}
