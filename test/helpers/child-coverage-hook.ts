// Loaded into a test's child processes (`node --import`) while mutation testing measures coverage:
// at exit, writes which mutants this process executed to $TINYSEEK_CHILD_COVERAGE/<pid>.json, for
// the test to add to its own (see child-coverage.ts). Stryker's instrumented code counts them in
// globalThis.__stryker__.mutantCoverage.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.TINYSEEK_CHILD_COVERAGE;
if (dir) {
  process.on('exit', () => {
    const cov = (globalThis as { __stryker__?: { mutantCoverage?: { static?: Record<string, number> } } }).__stryker__?.mutantCoverage?.static;
    if (cov && Object.keys(cov).length) fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(cov));
  });
}
