// `npm run mutate [-- src/nn/optim.ts ...]`: mutation testing (Stryker) of the targets in
// scripts/mutation-targets.mjs, one Stryker run per file, incremental (results are reused for
// mutants whose code and tests did not change). Writes reports/mutation/<name>.json and regenerates
// docs/mutation.md. `--force` re-runs every mutant. Not part of `npm test` or CI.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TARGETS, candidateTests, findTarget, root } from './mutation-targets.mjs';

const args = process.argv.slice(2);
const force = args.includes('--force');
const keys = args.filter((a) => !a.startsWith('--'));
const targets = keys.length ? keys.map((k) => findTarget(k) ?? fail(`unknown mutation target ${k}; known: ${TARGETS.map((t) => t.file).join(', ')}`)) : TARGETS;

function fail(msg) {
  console.error(msg);
  process.exit(2);
}

/**
 * Stryker's tap runner names a test by its file, so its incremental mode cannot see that a test file
 * changed. Before each run, survivors (and uncovered mutants) of a target whose candidate test files
 * changed since the last run are dropped from its result file, so they are tested again; killed
 * mutants are kept (`--force` re-tests everything).
 */
function forgetSurvivorsOfChangedTests(t) {
  const file = path.join(root, 'reports', 'mutation', `${t.name}.json`);
  if (!existsSync(file)) return;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const changed = Object.entries(report.testFiles ?? {}).filter(([f, { source }]) => {
    const p = path.join(root, f);
    return !existsSync(p) || readFileSync(p, 'utf8') !== source;
  }).map(([f]) => f);
  if (!changed.length) return;
  let dropped = 0;
  for (const f of Object.values(report.files)) {
    const keep = f.mutants.filter((m) => m.status !== 'Survived' && m.status !== 'NoCoverage');
    dropped += f.mutants.length - keep.length;
    f.mutants = keep;
  }
  writeFileSync(file, JSON.stringify(report));
  console.log(`${t.name}: ${changed.join(', ')} changed since the last run; re-testing its ${dropped} surviving mutants`);
}

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
// Compile first: the change check above compares compiled tests, and a broken build fails here, fast.
if (spawnSync(npx, ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' }).status !== 0) fail('tsc failed');
let failed = 0;
for (const t of targets) {
  if (!candidateTests(t).length) {
    console.log(`\n=== ${t.name}: no test file reaches ${t.file}; nothing to run (docs/mutation.md lists it as untested) ===`);
    continue;
  }
  if (!force) forgetSurvivorsOfChangedTests(t);
  const started = Date.now();
  console.log(`\n=== mutate ${t.name} (${t.file}) ===`);
  const r = spawnSync(npx, ['stryker', 'run', 'stryker.config.mjs', ...(force ? ['--force'] : [])], {
    cwd: root, stdio: 'inherit', env: { ...process.env, TINYSEEK_MUTATE_TARGET: t.name },
  });
  const secs = Math.round((Date.now() - started) / 1000);
  console.log(`=== ${t.name}: Stryker exited ${r.status} after ${secs} s ===`);
  if (r.status !== 0) failed++;
  else spawnSync(process.execPath, ['scripts/mutation-report.mjs', '--timing', t.name, String(secs)], { cwd: root, stdio: 'inherit' });
}
spawnSync(process.execPath, ['scripts/mutation-report.mjs'], { cwd: root, stdio: 'inherit' });
process.exit(failed ? 1 : 0);
