// The native matrix-vector products (native/src/gemv.c), reached through `gemm` at M = 1 (a decode row)
// and N = 1: they must equal the reference backend's gemm and OpenBLAS's sgemm (the same product with a
// second row, which leaves the matrix-vector path) up to float32 rounding (1e-5 · (Σ|a·b| + |beta·C|) per
// output), for every transpose combination, K and N not multiples of 8/16/32 (tails), row strides
// larger than a row, batches, alpha ≠ 1 and beta 0 (C's NaN garbage ignored) or not; results must not
// depend on the thread count (bit for bit); writes outside C's outputs fail the test (guard cells).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { addonPath, nativeBackendOrNull, nativeLoadError } from '../src/backend/index.js';
import { createReferenceBackend } from '../src/backend/reference.js';
import { prng } from './helpers/prng.js';

const native = nativeBackendOrNull();
const ref = createReferenceBackend();
const GUARD = 5, SENTINEL = 98765.25;

interface Case { batch: number; tA: boolean; tB: boolean; M: number; N: number; K: number; alpha: number; beta: number; pad: number }

/** Operands of a case: A, B with row strides padded by `pad`, C [batch, M, N] with row stride N + pad. */
function operands(c: Case, rnd: () => number) {
  const { batch, tA, tB, M, N, K, pad } = c;
  const [ra, ca] = tA ? [K, M] : [M, K];
  const [rb, cb] = tB ? [N, K] : [K, N];
  const lda = ca + pad, ldb = cb + pad, ldc = N + pad;
  const sA = ra * lda, sB = rb * ldb, sC = M * ldc;
  const fill = (n: number) => Float32Array.from({ length: n }, () => rnd() * 2 - 1);
  const C = fill(batch * sC);
  if (c.beta === 0) C.fill(NaN);
  return { A: fill(batch * sA), B: fill(batch * sB), C, lda, ldb, ldc, sA, sB, sC };
}

/** C inside guard cells; returns the view and a check that the guards are intact. */
function guarded(C: Float32Array): { view: Float32Array; check: (label: string) => void } {
  const big = new Float32Array(C.length + 2 * GUARD).fill(SENTINEL);
  const view = big.subarray(GUARD, GUARD + C.length);
  view.set(C);
  return {
    view,
    check: (label) => {
      for (let i = 0; i < GUARD; i++) {
        assert.equal(big[i], SENTINEL, `${label}: guard cell before C overwritten`);
        assert.equal(big[big.length - 1 - i], SENTINEL, `${label}: guard cell after C overwritten`);
      }
    },
  };
}

/** Σ_k |op(A)[m,k] · op(B)[k,n]| of output (b, m, n): the scale of its rounding error. */
function absDot(c: Case, o: ReturnType<typeof operands>, b: number, m: number, n: number): number {
  let s = 0;
  for (let k = 0; k < c.K; k++) {
    const a = c.tA ? o.A[b * o.sA + k * o.lda + m] : o.A[b * o.sA + m * o.lda + k];
    const w = c.tB ? o.B[b * o.sB + n * o.ldb + k] : o.B[b * o.sB + k * o.ldb + n];
    s += Math.abs(a * w);
  }
  return s;
}

function run(k: NonNullable<typeof native>, c: Case, o: ReturnType<typeof operands>, label: string): Float32Array {
  const g = guarded(o.C);
  k.gemm(c.batch, c.tA, c.tB, c.M, c.N, c.K, c.alpha, o.A, o.sA, o.lda, o.B, o.sB, o.ldb, c.beta, g.view, o.sC, o.ldc);
  g.check(label);
  return Float32Array.from(g.view);
}

function cases(): Case[] {
  const out: Case[] = [];
  const Ks = [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 96, 128, 191, 192, 193, 512];
  const Ns = [1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 40, 65, 128, 552];
  let i = 0;
  for (const K of Ks) for (const N of Ns) {
    i++;
    const tA = i % 3 === 0, tB = i % 2 === 0;
    const alpha = i % 5 === 0 ? 0.5 : 1, beta = i % 7 === 0 ? 0.75 : 0;
    const pad = i % 4 === 0 ? 3 : 0, batch = i % 6 === 0 ? 3 : 1;
    out.push({ batch, tA, tB, M: 1, N, K, alpha, beta, pad }); // a decode row: y = x · op(B)
    out.push({ batch, tA: !tA, tB, M: N, N: 1, K, alpha, beta, pad }); // a column: y = op(A) · x
  }
  return out;
}

describe('native gemv (gemm at M = 1 and N = 1)', { skip: native ? false : `native backend unavailable: ${nativeLoadError()}` }, () => {
  it('matches the reference gemm and OpenBLAS sgemm up to summation order, with tails, strides, batches, alpha and beta', () => {
    const k = native!;
    const rnd = prng(7);
    for (const c of cases()) {
      const label = JSON.stringify(c);
      const o = operands(c, rnd);
      const got = run(k, c, o, label);
      const want = Float32Array.from(o.C);
      ref.gemm(c.batch, c.tA, c.tB, c.M, c.N, c.K, c.alpha, o.A, o.sA, o.lda, o.B, o.sB, o.ldb, c.beta, want, o.sC, o.ldc);
      // OpenBLAS sgemm on the same product padded to 2 × 2 outputs (a shape gemm does not treat as matrix-vector).
      const c2: Case = { ...c, batch: 1, M: Math.max(c.M, 2), N: Math.max(c.N, 2) };
      for (let b = 0; b < c.batch; b++) for (let m = 0; m < c.M; m++) for (let n = 0; n < c.N; n++) {
        const at = b * o.sC + m * o.ldc + n;
        const tol = 1e-5 * (absDot(c, o, b, m, n) + (c.beta === 0 ? 0 : Math.abs(o.C[at]))) + 1e-30;
        assert.ok(Math.abs(got[at] - want[at]) <= tol, `${label} (b ${b}, m ${m}, n ${n}): native ${got[at]} vs reference ${want[at]}`);
      }
      // Padding entries of C (row stride > N) stay as they were.
      for (let b = 0; b < c.batch; b++) for (let m = 0; m < c.M; m++) for (let n = c.N; n < o.ldc; n++) {
        const at = b * o.sC + m * o.ldc + n;
        assert.ok(Object.is(got[at], o.C[at]), `${label}: padding of C at (b ${b}, m ${m}, n ${n}) was written`);
      }
      if (c.batch === 1) {
        const o2 = operands({ ...c2, pad: 0 }, prng(c.K * 1000 + c.N));
        // copy the case's operands into the padded shape's first row / column
        const A2 = o2.A, B2 = o2.B;
        for (let m = 0; m < c.M; m++) for (let kk = 0; kk < c.K; kk++) {
          const v = c.tA ? o.A[kk * o.lda + m] : o.A[m * o.lda + kk];
          if (c.tA) A2[kk * o2.lda + m] = v; else A2[m * o2.lda + kk] = v;
        }
        for (let n = 0; n < c.N; n++) for (let kk = 0; kk < c.K; kk++) {
          const v = c.tB ? o.B[n * o.ldb + kk] : o.B[kk * o.ldb + n];
          if (c.tB) B2[n * o2.ldb + kk] = v; else B2[kk * o2.ldb + n] = v;
        }
        const C2 = new Float32Array(c2.M * c2.N);
        for (let m = 0; m < c.M; m++) for (let n = 0; n < c.N; n++) C2[m * c2.N + n] = c.beta === 0 ? 0 : o.C[m * o.ldc + n];
        k.gemm(1, c.tA, c.tB, c2.M, c2.N, c.K, c.alpha, A2, 0, o2.lda, B2, 0, o2.ldb, c.beta, C2, 0, c2.N);
        for (let m = 0; m < c.M; m++) for (let n = 0; n < c.N; n++) {
          const tol = 1e-5 * (absDot(c, o, 0, m, n) + (c.beta === 0 ? 0 : Math.abs(o.C[m * o.ldc + n]))) + 1e-30;
          const s = C2[m * c2.N + n], g = got[m * o.ldc + n];
          assert.ok(Math.abs(g - s) <= tol, `${label} (m ${m}, n ${n}): gemv ${g} vs sgemm ${s}`);
        }
      }
    }
  });

  it('gives the same bits on 1 and 2 threads (outputs are split between threads, sums are not)', () => {
    const k = native!;
    const raw = createRequire(import.meta.url)(addonPath()) as { setNumThreads(n: number): number; numThreads(): number };
    const before = raw.numThreads();
    try {
      const rnd = prng(11);
      for (const c of [
        { batch: 1, tA: false, tB: true, M: 1, N: 1029, K: 515, alpha: 1, beta: 0, pad: 1 },
        { batch: 1, tA: false, tB: false, M: 1, N: 1029, K: 515, alpha: 1, beta: 0, pad: 0 },
        { batch: 1, tA: false, tB: false, M: 1027, N: 1, K: 515, alpha: 1, beta: 0.5, pad: 0 },
      ]) {
        const o = operands(c, rnd);
        raw.setNumThreads(1);
        const one = run(k, c, o, 'one thread');
        raw.setNumThreads(2);
        const two = run(k, c, o, 'two threads');
        assert.deepEqual(two, one, JSON.stringify(c));
      }
    } finally {
      raw.setNumThreads(before);
    }
  });
});
