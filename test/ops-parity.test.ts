// The same op table on both backends in float32: native forward outputs and gradients
// must match the reference backend's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, Tensor, tidy } from '../src/tensor/index.js';
import { nativeBackendOrNull, nativeLoadError, referenceBackend, setBackend, backend } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/index.js';
import * as O from '../src/ops/index.js';
import { OP_CASES } from './helpers/opcases.js';
import { toolSkip } from './helpers/tools.js';

function run(k: Kernels, c: (typeof OP_CASES)[number]): { out: Float32Array; grads: Float32Array[] } {
  const prev = backend();
  setBackend(k);
  try {
    const xs = c.inputs(new Rng(11));
    xs.forEach((x, i) => { if (!c.noGrad?.includes(i)) x.requiresGrad_(true); });
    const R = Tensor.rand(c.f(xs).shape, new Rng(5), -1, 1);
    let out: Float32Array = new Float32Array(0);
    tidy(() => {
      const y = c.f(xs);
      out = y.toFloat32Array();
      O.sum(O.mul(y, R)).backward();
    });
    return { out, grads: xs.map((x) => (x.grad ? x.grad.toFloat32Array() : new Float32Array(0))) };
  } finally {
    setBackend(prev);
  }
}

function close(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    const tol = 1e-5 + 1e-4 * Math.abs(b[i]);
    if (!(Math.abs(a[i] - b[i]) <= tol) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
      assert.fail(`${what}[${i}]: native ${a[i]} vs reference ${b[i]}`);
    }
  }
}

const native = nativeBackendOrNull();
const skip = toolSkip('the native addon', native ? null : `native addon not built: ${nativeLoadError()}`);
for (const c of OP_CASES) {
  test(`parity native vs reference: ${c.name}`, { skip }, () => {
    const a = run(native!, c);
    const b = run(referenceBackend(), c);
    close(a.out, b.out, 'output');
    a.grads.forEach((g, i) => close(g, b.grads[i], `grad of input ${i}`));
  });
}

test('gemm matrix-vector shapes (M = 1, N = 1; every transpose; beta 0 and 1) match the reference', { skip }, () => {
  const ref = referenceBackend();
  const rng = new Rng(3);
  const rnd = (n: number) => Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);
  for (const [M, N, K] of [[1, 37, 19], [23, 1, 17], [1, 1, 9]]) {
    for (const tA of [false, true]) for (const tB of [false, true]) for (const beta of [0, 1]) {
      const lda = (tA ? M : K) + 2, ldb = (tB ? K : N) + 1, ldc = N + 3;
      const A = rnd((tA ? K : M) * lda), B = rnd((tB ? N : K) * ldb);
      const C0 = rnd(M * ldc);
      if (beta === 0) C0[0] = NaN; // garbage in C must not survive beta = 0
      const c1 = Float32Array.from(C0), c2 = Float32Array.from(C0);
      native!.gemm(1, tA, tB, M, N, K, 0.5, A, 0, lda, B, 0, ldb, beta, c1, 0, ldc);
      ref.gemm(1, tA, tB, M, N, K, 0.5, A, 0, lda, B, 0, ldb, beta, c2, 0, ldc);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        const a = c1[i * ldc + j], b = c2[i * ldc + j];
        assert.ok(Math.abs(a - b) < 1e-5, `M${M} N${N} K${K} tA${tA} tB${tB} beta${beta} [${i},${j}]: ${a} vs ${b}`);
      }
    }
  }
});
