// Mutation testing (docs/mutation.md) sees the coverage of the test process only, so a mutant that
// only a child process executes (an mpirun rank, a worker) counts as "no coverage" and is never run.
// Under Stryker, childCoverage() gives the environment that makes every child Node process record the
// mutants it executes, and collect() adds them to this process's coverage, so those mutants are run
// against the test. Children always inherit the active mutant (Stryker passes it in the environment),
// so a mutant that breaks a child fails the test. Outside Stryker this does nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface StrykerGlobal { __stryker__?: { mutantCoverage?: { static: Record<string, number>; perTest: Record<string, unknown> } } }

const hook = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child-coverage-hook.js');

/** Whether this process runs under Stryker's tap runner. */
export const underStryker = (): boolean => process.env.STRYKER_NAMESPACE !== undefined;

export function childCoverage(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; collect(): void } {
  if (!underStryker()) return { env, collect: () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-child-cov-'));
  return {
    env: { ...env, TINYSEEK_CHILD_COVERAGE: dir, NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(hook).href}`.trim() },
    collect() {
      const g = globalThis as StrykerGlobal;
      const ns = (g.__stryker__ ??= {});
      const cov = (ns.mutantCoverage ??= { static: {}, perTest: {} });
      for (const f of fs.readdirSync(dir)) {
        for (const [id, n] of Object.entries(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, number>)) cov.static[id] = (cov.static[id] ?? 0) + n;
        fs.rmSync(path.join(dir, f));
      }
    },
  };
}
