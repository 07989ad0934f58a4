// Runs the reference GRPO runs (./grpo-runs.ts) and writes their outcomes as JSON to argv[2]:
// `node grpo-reference-main.js <out.json> <workdir>`. A separate program so that the test can pin
// the thread counts (TINYSEEK_NUM_THREADS, OPENBLAS_NUM_THREADS) before the addon loads: the
// float sums, and so the bits, depend on how work is split across threads.
import fs from 'node:fs';
import path from 'node:path';
import { grpo } from '../../src/rl/grpo.js';
import { backend, nativeBackendOrNull } from '../../src/backend/index.js';
import { writeFileAtomic } from '../../src/io/index.js';
import { outcome, referenceRuns, writeInitModel } from './grpo-runs.js';
import type { RunOutcome } from './grpo-runs.js';

const [outFile, root] = process.argv.slice(2);
if (!outFile || !root) throw new Error('usage: grpo-reference-main.js <out.json> <workdir>');
fs.mkdirSync(root, { recursive: true });
const init = path.join(root, 'init');
writeInitModel(init);
const runs: Record<string, RunOutcome> = {};
for (const run of referenceRuns(init)) {
  const out = path.join(root, run.name);
  const res = await grpo({ recipe: run.recipe, out, quiet: true, ...run.extra });
  runs[run.name] = outcome(out, res.lastStep, res.evals);
}
const backendName = backend() === nativeBackendOrNull() ? 'native' : 'reference';
writeFileAtomic(outFile, JSON.stringify({ backend: backendName, threads: 1, runs }, null, 1) + '\n');
