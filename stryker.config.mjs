// Stryker configuration for ONE mutation target, chosen by TINYSEEK_MUTATE_TARGET (a file such as
// src/nn/optim.ts or a target name). Run through `npm run mutate [-- file...]` (scripts/mutate.mjs),
// which loops over the targets in scripts/mutation-targets.mjs. Not part of `npm test` or CI.
import { findTarget, mutatePatterns, candidateTests, TARGETS } from './scripts/mutation-targets.mjs';

const key = process.env.TINYSEEK_MUTATE_TARGET;
const target = key && findTarget(key);
if (!target) {
  throw new Error(`stryker.config.mjs: set TINYSEEK_MUTATE_TARGET to one of ${TARGETS.map((t) => t.file).join(', ')} (or run \`npm run mutate\`)`);
}
for (const [k, v] of Object.entries(target.env ?? {})) process.env[k] = v; // inherited by runners and test processes

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  mutate: mutatePatterns(target),
  // node:test files print TAP when stdout is not a TTY; the tap runner runs one test file per
  // process and records coverage per test file, so each mutant runs only the files that reach it.
  testRunner: 'tap',
  tap: { testFiles: candidateTests(target), forceBail: true },
  coverageAnalysis: 'perTest',
  // Tests run from dist/: compile the instrumented sources once per run (they carry @ts-nocheck).
  buildCommand: 'npx tsc -p tsconfig.json',
  // docs/results stays: the report suite re-renders the committed reports from their JSON.
  // .stryker-tmp holds other targets' sandboxes when two targets run at once
  ignorePatterns: ['/test-artifacts', '/runs', '/docs/*', '!/docs/results', '/.ci', '/.stryker-tmp'],
  // One test process at a time: the machine (2 cores) is shared with training runs.
  // TINYSEEK_MUTATE_CONCURRENCY raises it on a machine of one's own.
  concurrency: Number(process.env.TINYSEEK_MUTATE_CONCURRENCY ?? 1),
  // A mutant times out (counted as killed) at 1.5 × its tests' dry-run time + 8 s; infinite loops
  // inside mutated code stop sooner, at Stryker's hit limit.
  timeoutMS: 8000,
  timeoutFactor: 1.5,
  incremental: true,
  // The incremental file is also the result file (mutation-testing-report-schema): committed, read
  // by scripts/mutation-report.mjs, reused by the next run for mutants whose code and tests are unchanged.
  incrementalFile: `reports/mutation/${target.name}.json`,
  reporters: ['progress', 'clear-text'],
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  tempDirName: `.stryker-tmp/${target.name}`,
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 85, break: null },
};
