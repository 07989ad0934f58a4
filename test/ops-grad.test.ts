// Every op's backward against central finite differences in float64 (reference backend).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, setFloat64Mode } from '../src/tensor/index.js';
import { referenceBackend, setBackend, backend } from '../src/backend/index.js';
import { OP_CASES } from './helpers/opcases.js';
import { gradCheck } from './helpers/gradcheck.js';

let prev: ReturnType<typeof backend>;
before(() => {
  prev = backend();
  setBackend(referenceBackend());
  setFloat64Mode(true);
});
after(() => {
  setFloat64Mode(false);
  setBackend(prev);
});

for (const c of OP_CASES) {
  test(`gradcheck (float64 finite differences): ${c.name}`, () => {
    const xs = c.inputs(new Rng(7));
    const r = gradCheck(xs, c.f, c.noGrad);
    assert.ok(r.checked > 0, 'no element was checked');
    assert.ok(r.maxAbsErr < 1e-6 || r.maxRelErr < 1e-6, `max abs err ${r.maxAbsErr}, rel ${r.maxRelErr} (${r.worst})`);
  });
}
