// The same op table on both backends in float32: native forward outputs and gradients
// must match the reference backend's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, Tensor, tidy } from '../src/tensor/index.js';
import { nativeBackendOrNull, nativeLoadError, referenceBackend, setBackend, backend } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/index.js';
import * as O from '../src/ops/index.js';
import { OP_CASES } from './helpers/opcases.js';

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
for (const c of OP_CASES) {
  test(`parity native vs reference: ${c.name}`, { skip: native ? false : `native addon not built: ${nativeLoadError()}` }, () => {
    const a = run(native!, c);
    const b = run(referenceBackend(), c);
    close(a.out, b.out, 'output');
    a.grads.forEach((g, i) => close(g, b.grads[i], `grad of input ${i}`));
  });
}
