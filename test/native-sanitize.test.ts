// The attention kernels under UndefinedBehaviorSanitizer: native/src/attention.c (with the pool it
// runs on) is compiled with -fsanitize=undefined into a small C driver that calls the backward pass
// with the empty arrays N-API hands over as NULL pointers (no queries, no keys, zero-width keys).
// Skipped when no C compiler or OpenBLAS headers are present.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const src = path.join(root, 'native', 'src');

const DRIVER = `
#include <stdio.h>
#include <stdint.h>
#include "tinyseek.h"
int main(void) {
  float q[16] = {0}, k[16] = {0}, v[16] = {0}, probs[16] = {0}, dout[16] = {0}, dq[16], dk[16], dv[16];
  /* no queries: dq is an empty array, which N-API hands over as NULL */
  ts_attention_backward(1, 0, 2, 1, 1, 2, 2, 1.0f, NULL, k, v, NULL, NULL, NULL, dk, dv);
  /* no keys */
  ts_attention_backward(1, 2, 0, 1, 1, 2, 2, 1.0f, q, NULL, NULL, NULL, dout, dq, NULL, NULL);
  /* zero-width keys: q, k, dq and dk are empty */
  for (int i = 0; i < 4; i++) probs[i] = 0.5f;
  ts_attention_backward(1, 2, 2, 1, 1, 0, 2, 1.0f, NULL, NULL, v, probs, dout, NULL, NULL, dv);
  puts("ok");
  return 0;
}
`;

const cc = spawnSync('gcc', ['--version']).status === 0 && fs.existsSync('/usr/include/x86_64-linux-gnu/cblas.h') ? 'gcc' : null;

test('attention backward with empty (NULL) arrays is free of undefined behaviour (UBSan)', { skip: cc ? false : 'no gcc / OpenBLAS headers', timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-ubsan-'));
  try {
    fs.writeFileSync(path.join(dir, 'driver.c'), DRIVER);
    const exe = path.join(dir, 'driver');
    const build = spawnSync(cc!, [
      '-std=gnu11', '-O1', '-march=x86-64-v3', '-fsanitize=undefined', '-fno-sanitize-recover=all',
      `-I${src}`, '-I/usr/include/x86_64-linux-gnu', '-I/usr/include/openblas',
      path.join(src, 'attention.c'), path.join(src, 'pool.c'), path.join(dir, 'driver.c'),
      '-o', exe, '-lopenblas', '-lpthread', '-lm',
    ], { encoding: 'utf8' });
    assert.equal(build.status, 0, `build failed:\n${build.stderr}`);
    const run = spawnSync(exe, [], { encoding: 'utf8', env: { ...process.env, UBSAN_OPTIONS: 'print_stacktrace=1', OPENBLAS_NUM_THREADS: '1', TINYSEEK_NUM_THREADS: '1' } });
    assert.doesNotMatch(run.stderr, /runtime error/, run.stderr);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'ok');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
