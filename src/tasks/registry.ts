// The registry of task families. Each family module supplies generate/work/check/lenient; the
// registry adds the shared parts: solve (the trace), verify (format + extraction + correctness)
// and the tag-ignoring lenient extraction.

import { extractAnswer, isWellFormed, stripTags } from './answer-tags.js';
import { TaskError } from './errors.js';
import { add } from './families/add.js';
import { countdown } from './families/countdown.js';
import { linear } from './families/linear.js';
import { mod } from './families/mod.js';
import { mul } from './families/mul.js';
import { sort } from './families/sort.js';
import { sub } from './families/sub.js';
import type { Problem, TaskFamily, TaskFamilySpec, VerifyResult } from './types.js';

/** Completes a family spec with solve and verify. */
export function defineFamily(spec: TaskFamilySpec): TaskFamily {
  return {
    ...spec,
    solve: (problem: Problem) => spec.work(problem).trace,
    verify: (problem: Problem, completion: string): VerifyResult => {
      const extracted = extractAnswer(completion);
      const formatOk = isWellFormed(completion);
      const correct = extracted !== null && extracted.trim().length > 0 && spec.check(problem, extracted.trim());
      return { correct, formatOk, extracted };
    },
  };
}

const FAMILIES: ReadonlyMap<string, TaskFamily> = new Map(
  [add, sub, mul, countdown, sort, mod, linear].map((spec) => [spec.name, defineFamily(spec)]),
);

/** Names of all task families, in registry order. */
export function taskNames(): string[] {
  return [...FAMILIES.keys()];
}

/** All task families. */
export function allTasks(): TaskFamily[] {
  return [...FAMILIES.values()];
}

/** The family called `name`; throws a TaskError listing the known names otherwise. */
export function getTask(name: string): TaskFamily {
  const f = FAMILIES.get(name);
  if (!f) throw new TaskError(`unknown task family ${JSON.stringify(name)}; expected one of: ${taskNames().join(', ')}`);
  return f;
}

/** Scores a completion for a problem with its family's verifier. */
export function verify(problem: Problem, completion: string): VerifyResult {
  return getTask(problem.family).verify(problem, completion);
}

/** The last number / list / expression in a completion, ignoring the tags entirely (null if none). */
export function lenientExtract(family: string, completion: string): string | null {
  return getTask(family).lenient(stripTags(completion));
}

/** Whether the lenient extraction of a completion solves the problem (format ignored). */
export function lenientCorrect(problem: Problem, completion: string): boolean {
  const e = lenientExtract(problem.family, completion);
  return e !== null && getTask(problem.family).check(problem, e);
}
