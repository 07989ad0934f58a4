// `tinyseek scaling` and `tinyseek ttc` on the command line: the plan prints, bad input exits 2 with a
// one-line reason and no stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/index.js');
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
};

test('tinyseek scaling --plan lists the runs, the compute and the time estimate', () => {
  const r = run(['scaling', '--preset', 'sweep', '--plan']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /isoflop-moe-C3e11-L1d48 +M \d\.\d\de\+5/);
  assert.match(r.out, /hyper-moe-C1e12-L2d48-b32-lr0\.006/);
  assert.match(r.out, /56 runs, C = \d\.\d\de\+13 FLOPs .* estimated \d\.\d h/);
});

test('bad input: exit 2, a reason, no stack trace', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-scaling-'));
  const cases: [string, string[], RegExp][] = [
    ['unknown sweep', ['scaling', '--preset', 'huge', '--plan'], /unknown sweep preset "huge"; expected one of: sweep, sweep-tiny/],
    ['too few replicates', ['scaling', '--replicates', '3'], /--replicates expects an integer ≥ 10, found "3"/],
    ['no report to render', ['scaling', '--render', '--report', dir], /no report at .*scaling\.json/],
    ['not a model directory', ['ttc', dir], /is not a model directory \(no config\.json\)/],
    ['bad budget list', ['ttc', '--budgets', '0,x'], /--budgets expects comma-separated non-negative integers, found "0,x"/],
    ['no ttc report to render', ['ttc', '--render', '--report', dir], /no report at .*test-time\.json/],
    ['unknown family', ['ttc', '--families', 'add,nope', '--samples', '1'], /unknown task family "nope"/],
    ['no comparison report', ['ttc', '--compare', path.join(dir, 'none.json')], /--compare .*none\.json: no such file \(expected a report written by `tinyseek ttc`/],
    ['comparison not a report', ['ttc', '--compare', path.join(dir, 'x.json')], /--compare .*x\.json: not a test-time report \(it has no "sampling" field\)/],
    ['comparison on other settings', ['ttc', '--compare', path.join(dir, 'y.json'), '--n', '3'], /--compare .*y\.json: measured with other settings \(n 2 there, 3 here\)/],
  ];
  fs.writeFileSync(path.join(dir, 'x.json'), '{"a":1}');
  fs.writeFileSync(path.join(dir, 'y.json'), JSON.stringify({ sampling: {}, budget: [], options: { difficulties: [1, 2, 3], n: 2, seed: 0, samples: 64, maxTokens: 200 } }));
  for (const [what, args, msg] of cases) {
    const r = run(args);
    assert.equal(r.code, 2, `${what}: exit ${r.code}, stderr ${r.err}`);
    assert.match(r.err, msg, what);
    assert.ok(!/^\s+at /m.test(r.err), `${what}: no stack trace`);
  }
  fs.rmSync(dir, { recursive: true });
});
