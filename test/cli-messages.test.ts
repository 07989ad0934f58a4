// What the CLI tells a user when something is off: one exit status per kind of error (2 bad usage
// or input, 1 a failure while running) and TINYSEEK_BACKEND checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/index.js');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-cli-msg-'));

function run(args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('exit status: 2 for every kind of bad usage or input, commander\'s own errors included', () => {
  const cases: [string, string[]][] = [
    ['unknown option', ['--bogus']],
    ['unknown option of a command', ['cost', '--bogus']],
    ['unknown command', ['nope']],
    ['missing required option', ['generate', 'models/tinyseek-r1-mini']],
    ['bad option value', ['kv', '--preset', 'deepseek-v3', '--dtype', 'int3']],
    ['unknown preset', ['cost', '--preset', 'nope']],
    ['missing model directory', ['generate', '/nonexistent-model-dir', '--prompt', 'hi']],
    ['missing report to render', ['r1-zero', '--render', '--report', tmp()]],
  ];
  for (const [what, args] of cases) {
    const r = run(args);
    assert.equal(r.code, 2, `${what} (tinyseek ${args.join(' ')}): exit ${r.code}, stderr ${r.err}`);
    assert.ok(r.err.trim().length > 0, `${what}: says why on stderr`);
    assert.ok(!/^\s+at /m.test(r.err), `${what}: no stack trace`);
  }
});

test('exit status: 0 for help and version, 1 for a failure while running a well-formed command', () => {
  assert.equal(run(['--help']).code, 0);
  assert.equal(run(['cost', '--help']).code, 0);
  assert.equal(run(['--version']).code, 0);
  assert.match(run(['--help']).out, /Exit status: 0 success, 2 bad usage or input, 1 failure while running/);
  // A write that fails is a runtime failure, as for `export` (was 2 here, 1 there).
  const r = run(['bubble', '--no-timeline', '--svg', '/nonexistent-dir/x.svg']);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^tinyseek: cannot write \/nonexistent-dir\/x\.svg/);
});

test('TINYSEEK_BACKEND with an unknown value is an error naming the valid values, even for commands without tensors', () => {
  const r = run(['cost', '--preset', 'deepseek-v3'], { TINYSEEK_BACKEND: 'bogus' });
  assert.equal(r.code, 2, r.out);
  assert.match(r.err, /TINYSEEK_BACKEND="bogus" is not a backend; expected one of native, reference/);
  assert.equal(r.out, '');
  for (const ok of ['reference', '']) assert.equal(run(['cost', '--preset', 'deepseek-v3'], { TINYSEEK_BACKEND: ok }).code, 0, `TINYSEEK_BACKEND=${ok}`);
});
