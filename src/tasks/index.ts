// Public API of the verifiable-tasks layer.
export { extractAnswer, isWellFormed, stripTags } from './answer-tags.js';
export { parseInteger, parseIntegerList, lastInteger, lastIntegerList } from './answers.js';
export { generateTaskSet, writeTaskDataset, readTaskDataset, GENERATOR_VERSION, type TaskDatasetParams, type TaskRecord } from './dataset.js';
export { TaskError } from './errors.js';
export { parseExpression, evaluate, literals, type Expr, type ParseResult } from './expression.js';
export { checkCountdown, lastExpression } from './families/countdown.js';
export { defineFamily, getTask, allTasks, taskNames, verify, lenientExtract, lenientCorrect } from './registry.js';
export { Rng, hashSeed } from './rng.js';
export { splitOf, sampleProblem, streamSeed, problemKey, TEST_BUCKETS, type Split } from './splits.js';
export type { Problem, ProblemMeta, MetaValue, TaskFamily, TaskFamilySpec, VerifyResult, WorkedSolution } from './types.js';
