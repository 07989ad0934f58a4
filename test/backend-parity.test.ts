// Native backend vs the reference backend, kernel by kernel.
// Inputs are seeded random arrays over shapes that include the edge cases (size 0 and 1, lengths
// that are not multiples of 8/16, broadcast strides, subarrays with a non-zero byteOffset,
// grouped heads, Tk > Tq, -Infinity masks, ignored targets, ties). Every array handed to the
// native side sits between guard cells that must be untouched afterwards, so a write out of
// bounds fails the test. The last part checks that bad arguments throw instead of crashing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { addonPath, nativeBackendOrNull, nativeLoadError } from '../src/backend/index.js';
import { createReferenceBackend } from '../src/backend/reference.js';
import { toolSkip } from './helpers/tools.js';
import { BINARY_OPS, UNARY_OPS } from '../src/backend/kernels.js';
import type { BinaryOp, Kernels, UnaryOp } from '../src/backend/kernels.js';
import { prng } from './helpers/prng.js';

// ---------------------------------------------------------------------------------------------
// helpers

type Arr = Float32Array | Int32Array;
type Bufs = Record<string, Arr>;

const GUARD = 3; // guard cells on each side; also makes byteOffset non-zero
const F_SENTINEL = 12345.5;
const I_SENTINEL = 0x7eadbeef;
const guards = new WeakMap<Arr, () => void>();

/** Copies `a` into the middle of a larger buffer filled with sentinels; returns the subarray view. */
function guarded<T extends Arr>(a: T, label: string): T {
  const isF = a instanceof Float32Array;
  const big = isF ? new Float32Array(a.length + 2 * GUARD) : new Int32Array(a.length + 2 * GUARD);
  big.fill(isF ? F_SENTINEL : I_SENTINEL);
  const view = big.subarray(GUARD, GUARD + a.length) as T;
  view.set(a as never);
  guards.set(view, () => {
    for (let i = 0; i < GUARD; i++) {
      const s = isF ? F_SENTINEL : I_SENTINEL;
      assert.equal(big[i], s, `${label}: guard cell before the array was overwritten`);
      assert.equal(big[big.length - 1 - i], s, `${label}: guard cell after the array was overwritten`);
    }
  });
  return view;
}

function rand(rng: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng();
  return a;
}
function randInt(rng: () => number, n: number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor((hi - lo) * rng());
  return a;
}
/** Small integers as floats: many exact ties. */
function randTies(rng: () => number, n: number, levels = 4): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(rng() * levels) - 1;
  return a;
}

interface Tol { rtol?: number; atol?: number }

function assertClose(label: string, actual: Arr, expected: Arr, tol: Tol): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  const rtol = tol.rtol ?? 1e-5, atol = tol.atol ?? 1e-6;
  const exact = actual instanceof Int32Array;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    let ok: boolean;
    if (exact) ok = a === e;
    else if (Number.isNaN(e)) ok = Number.isNaN(a);
    else if (!Number.isFinite(e)) ok = a === e;
    else ok = Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok) assert.fail(`${label}[${i}]: native ${a} vs reference ${e} (diff ${Math.abs(a - e)})`);
  }
}

const ref = createReferenceBackend();
const nat = nativeBackendOrNull();

/**
 * Runs `call` on the reference and native backends with separate guarded copies of `bufs`,
 * then compares the arrays named in `outputs` (and the return values).
 */
function both(label: string, bufs: Bufs, outputs: string[], call: (k: Kernels, b: Bufs) => unknown, tol: Tol = {}): void {
  const r: Bufs = {}, n: Bufs = {};
  for (const [k, v] of Object.entries(bufs)) {
    r[k] = v.slice();
    n[k] = guarded(v, `${label} ${k}`);
  }
  const rv = call(ref, r);
  const nv = call(nat as Kernels, n);
  for (const k of Object.keys(n)) guards.get(n[k])!();
  for (const k of outputs) assertClose(`${label} ${k}`, n[k], r[k], tol);
  if (typeof rv === 'number') {
    const e = rv, a = nv as number;
    assert.ok(Math.abs(a - e) <= (tol.atol ?? 1e-6) + (tol.rtol ?? 1e-5) * Math.abs(e), `${label}: native ${a} vs reference ${e}`);
  }
}

const f = (b: Bufs, k: string) => b[k] as Float32Array;
const i32 = (b: Bufs, k: string) => b[k] as Int32Array;

// ---------------------------------------------------------------------------------------------

if (!nat) {
  const why = `native addon not built (${nativeLoadError().split('\n')[0]}); run \`node scripts/build-native.mjs\``;
  console.log(`# skipping backend parity: ${why}`);
  it('native backend parity', { skip: toolSkip('the native addon', why) }, () => {});
} else {
  describe('native backend parity', () => {
    it('gemm', () => {
      const rng = prng(1);
      // [batch, transA, transB, M, N, K, alpha, beta, extraLd, strideA0, strideB0, strideC0]
      const cases: Array<[number, boolean, boolean, number, number, number, number, number, number, boolean, boolean, boolean]> = [
        [1, false, false, 1, 1, 1, 1, 0, 0, false, false, false],
        [1, false, false, 3, 5, 7, 1, 0, 0, false, false, false],
        [1, true, false, 17, 9, 33, 1, 0, 0, false, false, false],
        [1, false, true, 64, 48, 80, -1.5, 0, 0, false, false, false],
        [1, true, true, 31, 17, 15, 0.5, 0.25, 3, false, false, false],
        [3, false, false, 13, 11, 9, 1, 0, 0, true, false, false],   // A broadcast over the batch
        [4, false, true, 10, 12, 8, 1, 1, 2, false, true, false],    // B broadcast, beta = 1
        [3, false, false, 4, 5, 6, 1, 1, 0, false, false, true],     // C shared: sequential accumulation
        [4, false, true, 100, 70, 64, 1, 0, 0, false, false, false], // parallel batch path
        [1, false, false, 300, 200, 150, 1, 0.5, 0, false, false, false], // threaded BLAS path
        [2, false, false, 5, 6, 0, 1, 0.5, 0, false, false, false],  // K = 0: C = beta C
        [2, false, false, 5, 6, 3, 0, 2, 0, false, false, false],    // alpha = 0
        [1, false, false, 0, 6, 3, 1, 0, 0, false, false, false],    // M = 0
        [0, false, false, 4, 4, 4, 1, 0, 0, false, false, false],    // batch = 0
      ];
      for (const [batch, tA, tB, M, N, K, alpha, beta, extra, a0, b0, c0] of cases) {
        const lda = (tA ? M : K) + extra, ldb = (tB ? K : N) + extra, ldc = N + extra;
        const aRows = tA ? K : M, bRows = tB ? N : K;
        const sA = a0 ? 0 : aRows * lda + 1, sB = b0 ? 0 : bRows * ldb + 2, sC = c0 ? 0 : M * ldc + 3;
        const len = (s: number, rows: number, ld: number) => Math.max(1, (Math.max(batch, 1) - 1) * s + rows * ld);
        const bufs = { A: rand(rng, len(sA, aRows, lda)), B: rand(rng, len(sB, bRows, ldb)), C: rand(rng, len(sC, M, ldc)) };
        both(`gemm ${JSON.stringify([batch, tA, tB, M, N, K, alpha, beta, extra])}`, bufs, ['C'],
          (k, b) => k.gemm(batch, tA, tB, M, N, K, alpha, f(b, 'A'), sA, lda, f(b, 'B'), sB, ldb, beta, f(b, 'C'), sC, ldc),
          { rtol: 1e-5, atol: 2e-6 * Math.max(K, 1) });
      }
    });

    it('binary, every op, with broadcasting and transposed strides', () => {
      const rng = prng(2);
      // [shape, aStrides, bStrides, aLen, bLen]
      const layouts: Array<[number[], number[], number[], number, number]> = [
        [[0], [1], [1], 0, 0],
        [[1], [1], [1], 1, 1],
        [[37], [1], [1], 37, 37],
        [[37], [1], [0], 37, 1],                // scalar b
        [[3, 5], [5, 1], [0, 1], 15, 5],        // row vector b
        [[3, 5], [1, 0], [5, 1], 3, 15],        // column vector a
        [[4, 3], [1, 4], [3, 1], 12, 12],       // a is a transposed view
        [[2, 3, 4], [12, 0, 1], [4, 1, 0], 24, 12], // broadcast middle dim of a, last dim of b
        [[1, 2, 1, 2, 1, 2, 1, 3], [24, 12, 12, 6, 6, 3, 3, 1], [0, 0, 0, 0, 0, 0, 0, 1], 24, 3], // 8 dims
        [[300, 257], [257, 1], [0, 1], 300 * 257, 257], // large: parallel path
        [[257, 300], [1, 257], [300, 1], 300 * 257, 300 * 257], // large transposed
      ];
      for (const op of Object.keys(BINARY_OPS) as BinaryOp[]) {
        for (const [shape, as, bs, aLen, bLen] of layouts) {
          const n = shape.reduce((p, d) => p * d, 1);
          const pos = op === 'pow';
          const bufs = {
            out: new Float32Array(n), a: rand(rng, aLen, pos ? 0.1 : -2, 2), b: pos ? rand(rng, bLen, -2, 2) : randTies(rng, bLen, 5),
            shape: Int32Array.from(shape), as: Int32Array.from(as), bs: Int32Array.from(bs),
          };
          both(`binary ${op} ${JSON.stringify(shape)}`, bufs, ['out'],
            (k, b) => k.binary(op, i32(b, 'shape'), f(b, 'out'), f(b, 'a'), i32(b, 'as'), f(b, 'b'), i32(b, 'bs')));
        }
      }
    });

    it('unary and unaryBackward, every op', () => {
      const rng = prng(3);
      const specials = [0, -0, 1, -1, 1e-8, -1e-8, 20, -20, 87, -87, 89, -89, 100, -100, -Infinity];
      const params: Partial<Record<UnaryOp, number[]>> = { powScalar: [2, 3, 0.5, -1.5, 1], mulScalar: [1.7, -0.25], addScalar: [-0.3] };
      for (const op of Object.keys(UNARY_OPS) as UnaryOp[]) {
        const positive = op === 'log' || op === 'sqrt' || op === 'rsqrt' || op === 'powScalar';
        for (const p of params[op] ?? [0]) {
          for (const n of [0, 1, 7, 8, 9, 1000, 100003]) {
            const x = positive ? rand(rng, n, 0.05, 4) : rand(rng, n, -6, 6);
            if (!positive && n >= 1000) for (let i = 0; i < specials.length; i++) x[i * 37] = specials[i];
            if (op === 'exp' && n >= 1000) for (let i = 0; i < 40; i++) x[i * 11 + 3] = 80 + i * 0.25; // up to overflow
            const tolF: Tol = { rtol: op === 'gelu' ? 2e-5 : 1e-5, atol: 1e-7 };
            both(`unary ${op}(${p}) n=${n}`, { out: new Float32Array(n), x }, ['out'],
              (k, b) => k.unary(op, n, f(b, 'out'), f(b, 'x'), p), tolF);
            const y = new Float32Array(n);
            ref.unary(op, n, y, x, p);
            for (const acc of [false, true]) {
              both(`unaryBackward ${op}(${p}) n=${n} acc=${acc}`, { dx: rand(rng, n), x, y, dy: rand(rng, n) }, ['dx'],
                (k, b) => k.unaryBackward(op, n, f(b, 'dx'), f(b, 'x'), f(b, 'y'), f(b, 'dy'), p, acc),
                // gelu' = s (1 + 2x(1 − s) du) cancels near x ≈ −0.75: float error is absolute there
                { rtol: 2e-5, atol: op === 'gelu' ? 5e-6 : 1e-6 });
            }
          }
        }
      }
    });

    it('clamp and where', () => {
      const rng = prng(4);
      for (const n of [0, 1, 13, 70001]) {
        const x = rand(rng, n, -3, 3);
        for (const [lo, hi] of [[-1, 1], [-Infinity, 0.5], [0, Infinity]]) {
          both(`clamp n=${n} [${lo}, ${hi}]`, { out: new Float32Array(n), x }, ['out'], (k, b) => k.clamp(n, f(b, 'out'), f(b, 'x'), lo, hi), { rtol: 0, atol: 0 });
        }
        const cond = randTies(rng, n, 3);
        both(`where n=${n}`, { out: new Float32Array(n), cond, a: rand(rng, n), b: rand(rng, n) }, ['out'],
          (k, b) => k.where(n, f(b, 'out'), f(b, 'cond'), f(b, 'a'), f(b, 'b')), { rtol: 0, atol: 0 });
      }
    });

    it('copyStrided and addStrided', () => {
      const rng = prng(5);
      // [shape, strides, offset, srcLen]
      const layouts: Array<[number[], number[], number, number]> = [
        [[0, 3], [3, 1], 0, 0],
        [[1], [1], 2, 3],
        [[4, 5, 6], [1, 4, 20], 0, 120],        // reversed-axes (transpose) view
        [[4, 5, 6], [30, 6, 1], 7, 127],        // contiguous with an offset
        [[3, 4], [0, 1], 0, 4],                 // broadcast rows (stride 0)
        [[5, 3], [-3, 1], 12, 15],              // rows flipped
        [[2, 3, 4], [24, 1, 3], 5, 53],         // inner transpose inside a batch
        [[64, 48, 40], [40, 2560, 1], 0, 64 * 48 * 40], // [B, T, H, D] -> [B, H, T, D]-like (large)
        [[300, 301], [1, 300], 0, 300 * 301],   // large 2-d transpose
      ];
      for (const [shape, strides, offset, srcLen] of layouts) {
        const n = shape.reduce((p, d) => p * d, 1);
        const bufs = { out: new Float32Array(n), src: rand(rng, srcLen), shape: Int32Array.from(shape), st: Int32Array.from(strides) };
        both(`copyStrided ${JSON.stringify(shape)} ${JSON.stringify(strides)}`, bufs, ['out'],
          (k, b) => k.copyStrided(i32(b, 'shape'), f(b, 'out'), f(b, 'src'), i32(b, 'st'), offset), { rtol: 0, atol: 0 });
        const add = { dst: rand(rng, srcLen), src: rand(rng, n), shape: Int32Array.from(shape), st: Int32Array.from(strides) };
        both(`addStrided ${JSON.stringify(shape)} ${JSON.stringify(strides)}`, add, ['dst'],
          (k, b) => k.addStrided(i32(b, 'shape'), f(b, 'dst'), i32(b, 'st'), offset, f(b, 'src')), { rtol: 1e-6, atol: 1e-6 });
      }
    });

    it('reduce (sum, max with argmax and ties) and sumSquares', () => {
      const rng = prng(6);
      const shapes: Array<[number, number, number]> = [[1, 1, 1], [3, 7, 1], [2, 5, 3], [0, 4, 2], [2, 0, 3], [1, 1000, 1], [4, 300, 257], [64, 33, 1], [3, 17, 600]];
      for (const [o, n, i] of shapes) {
        for (const ties of [false, true]) {
          const x = ties ? randTies(rng, o * n * i, 3) : rand(rng, o * n * i);
          both(`reduce sum ${[o, n, i]}`, { out: new Float32Array(o * i), x }, ['out'],
            (k, b) => k.reduce('sum', o, n, i, f(b, 'out'), f(b, 'x'), null), { rtol: 1e-6, atol: 1e-6 });
          if (n === 0) continue; // max over nothing is undefined
          both(`reduce max ${[o, n, i]}`, { out: new Float32Array(o * i), x, am: new Int32Array(o * i) }, ['out', 'am'],
            (k, b) => k.reduce('max', o, n, i, f(b, 'out'), f(b, 'x'), i32(b, 'am')), { rtol: 0, atol: 0 });
          both(`reduce max (no argmax) ${[o, n, i]}`, { out: new Float32Array(o * i), x }, ['out'],
            (k, b) => k.reduce('max', o, n, i, f(b, 'out'), f(b, 'x'), null), { rtol: 0, atol: 0 });
        }
      }
      for (const n of [0, 1, 9, 1000, 300001]) {
        both(`sumSquares n=${n}`, { x: rand(rng, n, -3, 3) }, [], (k, b) => k.sumSquares(n, f(b, 'x')), { rtol: 1e-12, atol: 0 });
      }
    });

    it('softmax, logSoftmax and their backward passes (with -Infinity)', () => {
      const rng = prng(7);
      const shapes: Array<[number, number]> = [[0, 5], [1, 1], [3, 7], [5, 8], [4, 9], [17, 100], [64, 1000], [3, 40000]];
      for (const [rows, cols] of shapes) {
        const x = rand(rng, rows * cols, -8, 8);
        for (let t = 0; t < x.length; t += 5) x[t] = -Infinity;
        const xs = x.slice();
        if (rows > 2 && cols > 1) for (let j = 0; j < cols; j++) xs[cols + j] = -Infinity; // a fully masked row
        both(`softmax ${rows}x${cols}`, { y: new Float32Array(rows * cols), x: xs }, ['y'],
          (k, b) => k.softmax(rows, cols, f(b, 'y'), f(b, 'x')), { rtol: 1e-5, atol: 1e-7 });
        const xl = rand(rng, rows * cols, -8, 8);
        both(`logSoftmax ${rows}x${cols}`, { y: new Float32Array(rows * cols), x: xl }, ['y'],
          (k, b) => k.logSoftmax(rows, cols, f(b, 'y'), f(b, 'x')), { rtol: 1e-5, atol: 1e-5 });
        const y = new Float32Array(rows * cols), ly = new Float32Array(rows * cols);
        ref.softmax(rows, cols, y, xs);
        ref.logSoftmax(rows, cols, ly, xl);
        const dy = rand(rng, rows * cols);
        both(`softmaxBackward ${rows}x${cols}`, { dx: new Float32Array(rows * cols), y, dy }, ['dx'],
          (k, b) => k.softmaxBackward(rows, cols, f(b, 'dx'), f(b, 'y'), f(b, 'dy')), { rtol: 1e-5, atol: 1e-6 });
        both(`logSoftmaxBackward ${rows}x${cols}`, { dx: new Float32Array(rows * cols), y: ly, dy }, ['dx'],
          (k, b) => k.logSoftmaxBackward(rows, cols, f(b, 'dx'), f(b, 'y'), f(b, 'dy')), { rtol: 1e-5, atol: 1e-5 });
      }
    });

    it('crossEntropy and its backward (ignored targets)', () => {
      const rng = prng(8);
      for (const [rows, cols] of [[1, 1], [6, 7], [33, 100], [256, 3000]] as Array<[number, number]>) {
        const x = rand(rng, rows * cols, -6, 6);
        const t = randInt(rng, rows, 0, cols);
        for (let r = 0; r < rows; r += 3) t[r] = -100;
        if (rows > 1) t[1] = cols - 1;
        const bufs = { nll: new Float32Array(rows), lse: new Float32Array(rows), x, t };
        both(`crossEntropy ${rows}x${cols}`, bufs, ['nll', 'lse'],
          (k, b) => k.crossEntropy(rows, cols, f(b, 'nll'), f(b, 'lse'), f(b, 'x'), i32(b, 't'), -100), { rtol: 1e-5, atol: 1e-5 });
        const nll = new Float32Array(rows), lse = new Float32Array(rows);
        ref.crossEntropy(rows, cols, nll, lse, x, t, -100);
        both(`crossEntropyBackward ${rows}x${cols}`, { dx: rand(rng, rows * cols), x, lse, t, dnll: rand(rng, rows) }, ['dx'],
          (k, b) => k.crossEntropyBackward(rows, cols, f(b, 'dx'), f(b, 'x'), f(b, 'lse'), i32(b, 't'), f(b, 'dnll'), -100),
          { rtol: 1e-5, atol: 1e-6 });
      }
    });

    it('rmsNorm and its backward (dw accumulates)', () => {
      const rng = prng(9);
      for (const [rows, dim] of [[0, 4], [1, 1], [3, 7], [5, 16], [64, 256], [1000, 64], [7, 1001]] as Array<[number, number]>) {
        const x = rand(rng, rows * dim, -2, 2), w = rand(rng, dim, 0.5, 1.5);
        both(`rmsNorm ${rows}x${dim}`, { y: new Float32Array(rows * dim), rstd: new Float32Array(rows), x, w }, ['y', 'rstd'],
          (k, b) => k.rmsNorm(rows, dim, f(b, 'y'), f(b, 'rstd'), f(b, 'x'), f(b, 'w'), 1e-6), { rtol: 1e-5, atol: 1e-6 });
        const y = new Float32Array(rows * dim), rstd = new Float32Array(rows);
        ref.rmsNorm(rows, dim, y, rstd, x, w, 1e-6);
        both(`rmsNormBackward ${rows}x${dim}`, { dx: new Float32Array(rows * dim), dw: rand(rng, dim), dy: rand(rng, rows * dim), x, w, rstd },
          ['dx', 'dw'], (k, b) => k.rmsNormBackward(rows, dim, f(b, 'dx'), f(b, 'dw'), f(b, 'dy'), f(b, 'x'), f(b, 'w'), f(b, 'rstd')),
          { rtol: 1e-5, atol: 1e-5 });
      }
    });

    it('rope (adjacent pairs, inverse, in place, odd dim)', () => {
      const rng = prng(10);
      const maxPos = 16;
      for (const [rows, heads, dim] of [[1, 1, 2], [5, 3, 8], [7, 2, 6], [3, 2, 7], [512, 4, 64]] as Array<[number, number, number]>) {
        const half = dim >> 1;
        const cos = new Float32Array(maxPos * half), sin = new Float32Array(maxPos * half);
        for (let p = 0; p < maxPos; p++) for (let i = 0; i < half; i++) {
          const th = p * Math.pow(10000, (-2 * i) / dim);
          cos[p * half + i] = Math.cos(th);
          sin[p * half + i] = Math.sin(th);
        }
        const x = rand(rng, rows * heads * dim), pos = randInt(rng, rows, 0, maxPos);
        for (const inverse of [false, true]) {
          both(`rope ${[rows, heads, dim]} inverse=${inverse}`, { out: rand(rng, rows * heads * dim), x, pos, cos, sin }, ['out'],
            (k, b) => k.rope(rows, heads, dim, f(b, 'out'), f(b, 'x'), i32(b, 'pos'), f(b, 'cos'), f(b, 'sin'), inverse), { rtol: 1e-5, atol: 1e-6 });
          both(`rope in place ${[rows, heads, dim]} inverse=${inverse}`, { x, pos, cos, sin }, ['x'],
            (k, b) => k.rope(rows, heads, dim, f(b, 'x'), f(b, 'x'), i32(b, 'pos'), f(b, 'cos'), f(b, 'sin'), inverse), { rtol: 1e-5, atol: 1e-6 });
        }
      }
    });

    it('attention forward and backward (causal, masks, grouped heads, Tk > Tq)', () => {
      const rng = prng(11);
      // [B, Tq, Tk, H, Hkv, Dk, Dv, causal, mask: 'none' | 'batch' | 'shared']
      const cases: Array<[number, number, number, number, number, number, number, boolean, string]> = [
        [1, 1, 1, 1, 1, 1, 1, false, 'none'],
        [2, 5, 5, 2, 2, 3, 4, true, 'none'],
        [2, 3, 7, 4, 2, 8, 5, true, 'batch'],     // grouped heads, Tk > Tq, -inf mask
        [2, 4, 6, 3, 1, 9, 7, false, 'shared'],   // MQA, one mask for the batch, a fully masked row
        [1, 5, 3, 2, 1, 4, 4, true, 'none'],      // Tq > Tk: first rows see nothing
        [3, 70, 70, 4, 4, 16, 16, true, 'none'],  // several row blocks, parallel path
        [2, 65, 130, 4, 2, 24, 20, true, 'batch'],
        [1, 1, 33, 8, 2, 16, 16, true, 'none'],   // decode step: one query, a KV cache
        [2, 6, 6, 2, 2, 0, 3, true, 'none'],      // Dk = 0
      ];
      for (const [B, Tq, Tk, H, Hkv, Dk, Dv, causal, maskKind] of cases) {
        const label = `attention ${JSON.stringify([B, Tq, Tk, H, Hkv, Dk, Dv, causal, maskKind])}`;
        const scale = 1 / Math.sqrt(Math.max(Dk, 1));
        const q = rand(rng, B * Tq * H * Dk, -2, 2), k = rand(rng, B * Tk * Hkv * Dk, -2, 2), v = rand(rng, B * Tk * Hkv * Dv);
        let mask: Float32Array | null = null;
        let mbs = 0;
        if (maskKind !== 'none') {
          mbs = maskKind === 'batch' ? Tq * Tk : 0;
          mask = rand(rng, (maskKind === 'batch' ? B : 1) * Tq * Tk, -1, 1);
          for (let t = 0; t < mask.length; t += 4) mask[t] = -Infinity;
          if (maskKind === 'shared') for (let j = 0; j < Tk; j++) mask[Tk + j] = -Infinity; // row 1 sees nothing
        }
        const bufs: Bufs = { q, k, v, out: rand(rng, B * Tq * H * Dv), probs: rand(rng, B * H * Tq * Tk) };
        if (mask) bufs.mask = mask;
        both(label, bufs, ['out', 'probs'],
          (kk, b) => kk.attention(B, Tq, Tk, H, Hkv, Dk, Dv, scale, causal, f(b, 'q'), f(b, 'k'), f(b, 'v'), mask ? f(b, 'mask') : null, mbs, f(b, 'out'), f(b, 'probs')),
          { rtol: 1e-5, atol: 1e-6 });
        const out = new Float32Array(B * Tq * H * Dv), probs = new Float32Array(B * H * Tq * Tk);
        ref.attention(B, Tq, Tk, H, Hkv, Dk, Dv, scale, causal, q, k, v, mask, mbs, out, probs);
        const gb: Bufs = {
          q, k, v, probs, dout: rand(rng, B * Tq * H * Dv),
          dq: rand(rng, q.length), dk: rand(rng, k.length), dv: rand(rng, v.length), // overwritten, not accumulated
        };
        both(`${label} backward`, gb, ['dq', 'dk', 'dv'],
          (kk, b) => kk.attentionBackward(B, Tq, Tk, H, Hkv, Dk, Dv, scale, f(b, 'q'), f(b, 'k'), f(b, 'v'), f(b, 'probs'), f(b, 'dout'), f(b, 'dq'), f(b, 'dk'), f(b, 'dv')),
          { rtol: 1e-4, atol: 1e-5 });
      }
    });

    it('indexSelect, indexAdd, gather, scatterAdd (exact, duplicate indices)', () => {
      const rng = prng(12);
      for (const [outer, n, inner, m] of [[1, 1, 1, 1], [2, 5, 3, 7], [1, 50, 256, 300], [3, 9, 1, 4], [0, 3, 2, 2], [2, 4, 0, 3], [1, 1000, 300, 64], [4, 7, 130, 5]] as Array<[number, number, number, number]>) {
        const idx = randInt(rng, m, 0, n);
        both(`indexSelect ${[outer, n, inner, m]}`, { out: new Float32Array(outer * m * inner), x: rand(rng, outer * n * inner), idx }, ['out'],
          (k, b) => k.indexSelect(outer, n, inner, m, f(b, 'out'), f(b, 'x'), i32(b, 'idx')), { rtol: 0, atol: 0 });
        both(`indexAdd ${[outer, n, inner, m]}`, { dx: rand(rng, outer * n * inner), dout: rand(rng, outer * m * inner), idx }, ['dx'],
          (k, b) => k.indexAdd(outer, n, inner, m, f(b, 'dx'), f(b, 'dout'), i32(b, 'idx')), { rtol: 0, atol: 0 });
        const eidx = randInt(rng, outer * m * inner, 0, n);
        both(`gather ${[outer, n, inner, m]}`, { out: new Float32Array(outer * m * inner), x: rand(rng, outer * n * inner), idx: eidx }, ['out'],
          (k, b) => k.gather(outer, n, inner, m, f(b, 'out'), f(b, 'x'), i32(b, 'idx')), { rtol: 0, atol: 0 });
        both(`scatterAdd ${[outer, n, inner, m]}`, { dx: rand(rng, outer * n * inner), dout: rand(rng, outer * m * inner), idx: eidx }, ['dx'],
          (k, b) => k.scatterAdd(outer, n, inner, m, f(b, 'dx'), f(b, 'dout'), i32(b, 'idx')), { rtol: 0, atol: 0 });
      }
    });

    it('topk (ties broken by the lower index)', () => {
      const rng = prng(13);
      for (const [rows, cols, k] of [[1, 1, 1], [3, 8, 0], [4, 8, 8], [5, 17, 1], [6, 64, 6], [7, 100, 40], [2000, 64, 8], [3, 1000, 100]] as Array<[number, number, number]>) {
        for (const ties of [false, true]) {
          const x = ties ? randTies(rng, rows * cols, 3) : rand(rng, rows * cols);
          if (!ties && rows * cols > 3) x[2] = -Infinity;
          both(`topk ${[rows, cols, k]} ties=${ties}`, { values: new Float32Array(rows * k), indices: new Int32Array(rows * k), x }, ['values', 'indices'],
            (kk, b) => kk.topk(rows, cols, k, f(b, 'values'), i32(b, 'indices'), f(b, 'x')), { rtol: 0, atol: 0 });
        }
      }
    });

    it('axpy and adamw', () => {
      const rng = prng(14);
      for (const n of [0, 1, 15, 100003]) {
        both(`axpy n=${n}`, { x: rand(rng, n), y: rand(rng, n) }, ['y'], (k, b) => k.axpy(n, -0.37, f(b, 'x'), f(b, 'y')), { rtol: 1e-6, atol: 1e-7 });
        const bufs = { p: rand(rng, n), g: rand(rng, n, -1e-3, 1e-3), m: rand(rng, n, -1e-3, 1e-3), v: rand(rng, n, 0, 1e-6) };
        for (const step of [1, 2, 1000]) {
          both(`adamw n=${n} step=${step}`, bufs, ['p', 'm', 'v'],
            (k, b) => k.adamw(n, f(b, 'p'), f(b, 'g'), f(b, 'm'), f(b, 'v'), 3e-4, 0.9, 0.95, 1e-8, 0.1, step), { rtol: 1e-6, atol: 1e-9 });
        }
      }
    });
  });

  describe('native argument validation (throws, never crashes)', () => {
    const require = createRequire(import.meta.url);
    const raw = require(addonPath()) as Record<string, (...a: unknown[]) => unknown>;
    const k = nat;
    const F = (n: number) => new Float32Array(n);
    const I = (n: number) => new Int32Array(n);
    const throwsLike = (fn: () => unknown, type: typeof TypeError | typeof RangeError, ...words: string[]) =>
      assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
        for (const w of words) assert.match((e as Error).message, new RegExp(w), `message "${(e as Error).message}" lacks "${w}"`);
        return true;
      });

    it('reports the core and thread counts', () => {
      assert.equal(typeof raw.coreName(), 'string');
      assert.ok((raw.numThreads() as number) >= 1);
    });

    it('wrong argument counts and types are TypeErrors', () => {
      throwsLike(() => raw.gemm(1, 0, 0), TypeError, 'gemm', 'expected 17 arguments');
      throwsLike(() => raw.softmax(2, 2, F(4), new Float64Array(4)), TypeError, 'softmax', '\\bx\\b', 'Float32Array');
      throwsLike(() => raw.unary(0, 4, F(4), [1, 2, 3, 4], 0), TypeError, 'unary', '\\bx\\b');
      throwsLike(() => raw.crossEntropy(1, 2, F(1), F(1), F(2), F(1), -100), TypeError, 'crossEntropy', 'targets', 'Int32Array');
      throwsLike(() => raw.axpy('3', 1, F(3), F(3)), TypeError, 'axpy', '\\bn\\b', 'number');
    });

    it('sizes must be non-negative integers', () => {
      throwsLike(() => k.unary('exp', -1, F(4), F(4), 0), RangeError, 'unary', '\\bn\\b');
      throwsLike(() => k.unary('exp', 2.5, F(4), F(4), 0), RangeError, 'unary', 'integer');
      throwsLike(() => raw.unary(99, 4, F(4), F(4), 0), RangeError, 'unary', '\\bop\\b');
    });

    it('arrays too short for the sizes are RangeErrors naming the array', () => {
      throwsLike(() => k.gemm(1, false, false, 4, 4, 4, 1, F(15), 0, 4, F(16), 0, 4, 0, F(16), 0, 4), RangeError, 'gemm', '\\bA\\b');
      throwsLike(() => k.gemm(2, false, false, 4, 4, 4, 1, F(16), 16, 4, F(16), 0, 4, 0, F(32), 16, 4), RangeError, 'gemm', '\\bA\\b');
      throwsLike(() => k.gemm(1, false, true, 4, 4, 4, 1, F(16), 0, 4, F(16), 0, 4, 0, F(16).subarray(1), 0, 4), RangeError, 'gemm', '\\bC\\b');
      throwsLike(() => k.gemm(1, false, false, 4, 4, 4, 1, F(16), 0, 3, F(16), 0, 4, 0, F(16), 0, 4), RangeError, 'gemm', 'lda');
      throwsLike(() => k.binary('add', Int32Array.from([3, 4]), F(12), F(11), Int32Array.from([4, 1]), F(12), Int32Array.from([4, 1])), RangeError, 'binary', 'aStrides');
      throwsLike(() => k.binary('add', Int32Array.from([3, 4]), F(12), F(12), Int32Array.from([4]), F(12), Int32Array.from([4, 1])), RangeError, 'binary', 'aStrides');
      throwsLike(() => k.copyStrided(Int32Array.from([2, 2]), F(4), F(4), Int32Array.from([-2, 1]), 0), RangeError, 'copyStrided', 'strides');
      throwsLike(() => k.addStrided(Int32Array.from([2, 3]), F(6), Int32Array.from([3, 1]), 1, F(6)), RangeError, 'addStrided', 'strides');
      throwsLike(() => k.reduce('max', 2, 3, 4, F(8), F(24), I(7)), RangeError, 'reduce', 'argmax');
      throwsLike(() => k.softmax(4, 8, F(32), F(31)), RangeError, 'softmax', '\\bx\\b', '31');
      throwsLike(() => k.rmsNorm(4, 8, F(32), F(4), F(32), F(7), 1e-6), RangeError, 'rmsNorm', '\\bw\\b');
      throwsLike(() => k.rmsNormBackward(4, 8, F(32), F(8), F(32), F(32), F(8), F(3)), RangeError, 'rmsNormBackward', 'rstd');
      throwsLike(() => k.attention(2, 4, 4, 2, 2, 8, 8, 1, true, F(128), F(128), F(127), null, 0, F(128), F(64)), RangeError, 'attention', '\\bv\\b');
      throwsLike(() => k.attention(2, 4, 4, 2, 2, 8, 8, 1, true, F(128), F(128), F(128), F(31), 16, F(128), F(64)), RangeError, 'attention', 'mask');
      throwsLike(() => k.attentionBackward(2, 4, 4, 2, 2, 8, 8, 1, F(128), F(128), F(128), F(64), F(128), F(128), F(128), F(127)), RangeError, 'attentionBackward', '\\bdv\\b');
      throwsLike(() => k.indexSelect(2, 5, 3, 4, F(24), F(29), I(4)), RangeError, 'indexSelect', '\\bx\\b');
      throwsLike(() => k.topk(2, 8, 3, F(5), I(6), F(16)), RangeError, 'topk', 'values');
      throwsLike(() => k.adamw(4, F(4), F(4), F(4), F(3), 1e-3, 0.9, 0.95, 1e-8, 0.1, 1), RangeError, 'adamw', '\\bv\\b');
      throwsLike(() => k.where(5, F(5), F(5), F(4), F(5)), RangeError, 'where', '\\ba\\b');
    });

    it('out-of-range indices and inconsistent sizes are RangeErrors', () => {
      throwsLike(() => k.indexSelect(1, 5, 2, 3, F(6), F(10), Int32Array.from([0, 5, 1])), RangeError, 'indexSelect', 'idx\\[1\\] = 5');
      throwsLike(() => k.indexAdd(1, 5, 2, 3, F(10), F(6), Int32Array.from([0, -1, 1])), RangeError, 'indexAdd', 'idx\\[1\\]');
      throwsLike(() => k.gather(1, 3, 2, 2, F(4), F(6), Int32Array.from([0, 1, 2, 3])), RangeError, 'gather', 'idx\\[3\\]');
      throwsLike(() => k.scatterAdd(1, 3, 2, 2, F(6), F(4), Int32Array.from([0, 1, 9, 0])), RangeError, 'scatterAdd', 'idx\\[2\\]');
      throwsLike(() => k.crossEntropy(2, 4, F(2), F(2), F(8), Int32Array.from([1, 4]), -100), RangeError, 'crossEntropy', 'targets\\[1\\]');
      throwsLike(() => k.crossEntropyBackward(2, 4, F(8), F(8), F(2), Int32Array.from([-1, 0]), F(2), -100), RangeError, 'crossEntropyBackward', 'targets\\[0\\]');
      throwsLike(() => k.rope(2, 1, 4, F(8), F(8), Int32Array.from([0, 3]), F(6), F(6), false), RangeError, 'rope', 'pos\\[1\\]');
      throwsLike(() => k.attention(1, 2, 2, 3, 2, 4, 4, 1, true, F(24), F(16), F(16), null, 0, F(24), F(12)), RangeError, 'attention', 'Hkv');
      throwsLike(() => k.topk(1, 4, 5, F(5), I(5), F(4)), RangeError, 'topk', '\\bk\\b');
      throwsLike(() => k.reduce('max', 2, 0, 3, F(6), F(0), null), RangeError, 'reduce', 'empty');
      throwsLike(() => k.adamw(1, F(1), F(1), F(1), F(1), 1e-3, 0.9, 0.95, 1e-8, 0.1, 0), RangeError, 'adamw', 'step');
    });

    it('gemmGrouped: a row stride BLAS would reject is a RangeError naming it, the expected and the found value', () => {
      // Strides are shared by all groups and go to BLAS as given: a one-row operand gets no leeway.
      const C = F(16).fill(7);
      throwsLike(() => k.gemmGrouped(true, false, Int32Array.from([4, 4, 1, 0, 0, 0]), 1, 4, 4, F(4), F(4), C), RangeError, 'gemmGrouped', '\\blda\\b', 'expected at least 4', 'found 1');
      throwsLike(() => k.gemmGrouped(false, true, Int32Array.from([4, 4, 1, 0, 0, 0]), 1, 0, 4, F(4), F(4), F(16)), RangeError, 'gemmGrouped', '\\bldb\\b', 'expected at least 1', 'found 0');
      throwsLike(() => k.gemmGrouped(false, false, Int32Array.from([2, 2, 2, 0, 0, 0, 1, 4, 2, 4, 4, 4]), 2, 4, 2, F(8), F(12), F(8)), RangeError, 'gemmGrouped', '\\bldc\\b', 'group 1', 'expected at least 4', 'found 2');
      assert.deepEqual(Array.from(C), new Array(16).fill(7));
    });

    it('nothing is written when a call is rejected', () => {
      const out = F(8).fill(7);
      assert.throws(() => k.indexSelect(1, 4, 2, 4, out, F(8), Int32Array.from([0, 1, 2, 4])));
      assert.deepEqual(Array.from(out), new Array(8).fill(7));
    });
  });
}

// Softmax must subtract the row's maximum before exponentiating: with attention scores in the
// hundreds, exp(s) overflows float64 (above ~709) and an unshifted softmax returns NaN. Checked on
// each backend against the probabilities written out by hand (not against the other backend).
describe('attention with scores in the hundreds (a numerically stable softmax)', () => {
  for (const [name, k] of [['reference', ref], ['native', nat]] as const) {
    it(name, { skip: k ? false : toolSkip('the native addon', 'native addon not built') }, () => {
      // One query q = (30, 0) against three keys: scores s = scale·q·k = 900, 899, 0 (scale 1).
      const q = Float32Array.from([30, 0]), keys = Float32Array.from([30, 0, 29.966667, 0, 0, 1]);
      const v = Float32Array.from([1, 0, 0, 1, 5, 5]);
      const out = new Float32Array(2), probs = new Float32Array(3);
      k!.attention(1, 1, 3, 1, 1, 2, 2, 1, false, q, keys, v, null, 0, out, probs);
      const s = [900, 30 * 29.966667, 0], m = Math.max(...s), e = s.map((x) => Math.exp(x - m)), sum = e.reduce((a, b) => a + b);
      const p = e.map((x) => x / sum); // ≈ [0.731, 0.269, 0]
      for (let j = 0; j < 3; j++) assert.ok(Math.abs(probs[j] - p[j]) < 1e-3, `${name}: probs ${Array.from(probs)}, expected ${p}`);
      assert.ok(Math.abs(out[0] - p[0]) < 1e-3 && Math.abs(out[1] - p[1]) < 1e-3, `${name}: out ${Array.from(out)}, expected ${p.slice(0, 2)}`);
    });
  }
});
