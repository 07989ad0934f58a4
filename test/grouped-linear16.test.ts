// groupedLinear16 (src/ops/grouped-linear16.ts): several 16-bit resident weights over row blocks of one
// x into column blocks of one y — each block must equal linear16 of its rows with its weight, the rest
// of y is 0; a bad part (wrong in-features, mixed dtypes, rows or columns out of range) and a
// gradient-recording input are refused naming what was expected. The MoE's and the MLP's 16-bit
// paths are checked end to end against float32 in weights16.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../src/tensor/index.js';
import { groupedLinear16, linear16, slice } from '../src/ops/index.js';
import type { Weight16 } from '../src/ops/index.js';
import { f32ToBf16Array, f32ToF16Array } from '../src/io/dtypes.js';

function weight(out: number, inp: number, seed: number, dtype: 'bf16' | 'f16' = 'bf16'): Weight16 {
  const w = new Float32Array(out * inp).map((_, i) => Math.sin(i * 0.37 + seed) * 0.3);
  return { dtype, bits: dtype === 'bf16' ? f32ToBf16Array(w) : f32ToF16Array(w), shape: [out, inp] };
}

describe('groupedLinear16', () => {
  it('each part equals linear16 of its rows; what no part writes is 0', () => {
    noGrad(() => {
      const K = 13, M = 12;
      const x = Tensor.from(new Float32Array(M * K).map((_, i) => Math.cos(i * 0.11)), [M, K]);
      const a = weight(5, K, 1), b = weight(7, K, 2), c = weight(3, K, 3);
      // rows [0, 4) → a at column 0 and b at column 5; rows [4, 5) → c; rows [5, 12) → a; column 12 never written
      const parts = [{ r0: 0, rows: 4, col: 0, weight: a }, { r0: 0, rows: 4, col: 5, weight: b }, { r0: 4, rows: 1, col: 0, weight: c }, { r0: 5, rows: 7, col: 2, weight: a }];
      const y = groupedLinear16(x, parts, 13).toFloat32Array();
      const want = new Float32Array(M * 13);
      for (const p of parts) {
        const ref = linear16(slice(x, 0, p.r0, p.r0 + p.rows), p.weight).toFloat32Array();
        const N = p.weight.shape[0];
        for (let i = 0; i < p.rows; i++) for (let n = 0; n < N; n++) want[(p.r0 + i) * 13 + p.col + n] = ref[i * N + n];
      }
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(y[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])), `y[${i}] = ${y[i]}, want ${want[i]}`);
      assert.equal(y[12], 0);
      assert.deepEqual(Array.from(groupedLinear16(x, [], 4).toFloat32Array()), new Array(M * 4).fill(0));
    });
  });

  it('refuses bad parts and gradient-recording inputs, naming what was expected', () => {
    const x = Tensor.from(new Float32Array(4 * 6), [4, 6]);
    noGrad(() => {
      assert.throws(() => groupedLinear16(x, [{ r0: 0, rows: 4, col: 0, weight: weight(2, 5, 0) }], 2), /weight \[2, 5\] does not take x's 6 features/);
      assert.throws(() => groupedLinear16(x, [{ r0: 0, rows: 2, col: 0, weight: weight(2, 6, 0) }, { r0: 2, rows: 2, col: 0, weight: weight(2, 6, 0, 'f16') }], 2), /weight is f16 but part 0's is bf16/);
      assert.throws(() => groupedLinear16(x, [{ r0: 3, rows: 2, col: 0, weight: weight(2, 6, 0) }], 2), /rows \[3, 5\) are not within x's 4 rows/);
      assert.throws(() => groupedLinear16(x, [{ r0: 0, rows: 2, col: 1, weight: weight(2, 6, 0) }], 2), /columns \[1, 3\) are not within y's 2 columns/);
      assert.throws(() => groupedLinear16(Tensor.from(new Float32Array(6), [6]), [], 2), /expected x \[M, K\], found \[6\]/);
    });
    const xg = Tensor.from(new Float32Array(4 * 6), [4, 6]).requiresGrad_();
    assert.throws(() => groupedLinear16(xg, [{ r0: 0, rows: 4, col: 0, weight: weight(2, 6, 0) }], 2), /inference-only; load it with weights 'f32'/);
  });
});
