// The 16-bit-weight GEMM/GEMV kernels (native/src/gemm16.c): y = x · Wᵀ with W stored BF16 or F16
// must equal the float32 GEMM (OpenBLAS, the native `gemm`) of the widened weights up to float
// summation order, on every exact path this CPU has (avx512, avx2, scalar), for GEMV (M = 1) and GEMM
// shapes with K not a multiple of 8/16/32, N odd and panels with ragged tails, single weights and the
// grouped kernel (GEMV, register tiles, widened panels). The opt-in avx512bf16 path (x rounded to BF16)
// is checked against its documented bound, 2⁻⁸ · Σ|x·w|. The reference backend's gemm16 is checked the
// same way. Writes past y's M·N elements fail the test (guard cells).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { nativeBackendOrNull, nativeLoadError, addonPath } from '../src/backend/index.js';
import { createReferenceBackend } from '../src/backend/reference.js';
import { bf16ToF32Array, f16ToF32Array, f32ToBf16Array, f32ToF16Array } from '../src/io/dtypes.js';
import type { Kernels, Gemm16Path } from '../src/backend/kernels.js';
import { prng } from './helpers/prng.js';

const cpuFlags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].split(/\s+/) ?? [];
/** The CPU flags each native path needs. */
const NEEDS: Record<Gemm16Path, string[]> = {
  scalar: [],
  avx2: ['avx2', 'fma', 'f16c'],
  avx512: ['avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl'],
  avx512bf16: ['avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_bf16'],
};
const PATHS: Gemm16Path[] = ['scalar', 'avx2', 'avx512', 'avx512bf16'];
const has = (p: Gemm16Path) => NEEDS[p].every((f) => cpuFlags.includes(f));
/** Skip reason when this CPU cannot run the path (false: it can). */
const cpuSkip = (p: Gemm16Path) => (has(p) ? false : `this CPU lacks ${NEEDS[p].filter((f) => !cpuFlags.includes(f)).join(', ')}`);
/** Error bound per Σ|x·w| of a path: float32 summation order, or x rounded to BF16 (avx512bf16 with BF16 weights). */
const tol = (p: Gemm16Path | 'reference', f16: boolean) => (p === 'avx512bf16' && !f16 ? 2 ** -8 : 1e-5);


/** [M, N, K]: GEMV rows first, then GEMM shapes (K % 8 ≠ 0, N odd, one panel, many panels with a ragged last one; 2–8 rows take the register-tiled kernel). */
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 7, 13], [1, 5, 8], [1, 3, 16], [1, 4, 23], [1, 257, 129], [1, 33, 1000], [1, 96, 2049],
  [2, 5, 7], [3, 9, 17], [4, 1, 33], [17, 131, 1031], [64, 33, 300], [5, 64, 16], [2, 9, 20001], [7, 3, 0],
  [260, 150, 700], // ≥ 256 rows: wider panels (4 × 16 W rows here), the last one ragged
  [1, 6, 15], [1, 9, 31], [6, 10, 31], [8, 13, 48], [3, 7, 65], // 16/32-wide tails (K % 16, K % 32), 4 × 4 tiles with tails
];

function operands(M: number, N: number, K: number, f16: boolean, seed: number) {
  const r = prng(seed);
  const x = new Float32Array(M * K).map(() => r() * 2 - 1);
  // weights of a trained model's spread, with some small values (F16 subnormals below 6e-5)
  const w32 = new Float32Array(N * K).map(() => (r() * 2 - 1) * (r() < 0.05 ? 1e-5 : 0.2));
  const W = f16 ? f32ToF16Array(w32) : f32ToBf16Array(w32);
  const wide = f16 ? f16ToF32Array(W) : bf16ToF32Array(W);
  return { x, W, wide };
}

/** Checks k.gemm16 against `ref`'s float32 gemm of the widened weights: |y − y₃₂| ≤ eps · Σ_k |x_k w_k|. */
function check(k: Kernels, ref: Kernels, M: number, N: number, K: number, f16: boolean, label: string, eps = 1e-5): void {
  const { x, W, wide } = operands(M, N, K, f16, M * 1000003 + N * 101 + K + (f16 ? 7 : 0));
  const y32 = new Float32Array(M * N);
  if (K > 0) ref.gemm(1, false, true, M, N, K, 1, x, 0, K, wide, 0, K, 0, y32, 0, N);
  const guard = 4;
  const buf = new Float32Array(M * N + 2 * guard).fill(12345.5);
  const y = buf.subarray(guard, guard + M * N);
  k.gemm16(M, N, K, x, W, f16, y);
  for (let i = 0; i < guard; i++) {
    assert.equal(buf[i], 12345.5, `${label}: wrote before y`);
    assert.equal(buf[guard + M * N + i], 12345.5, `${label}: wrote past y`);
  }
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let mag = 0;
      for (let kk = 0; kk < K; kk++) mag += Math.abs(x[m * K + kk] * wide[n * K + kk]);
      const got = y[m * N + n], want = y32[m * N + n];
      assert.ok(Math.abs(got - want) <= eps * mag + 1e-30, `${label} [${M}×${N}×${K}] y[${m},${n}] = ${got}, float32 GEMM of the widened weights gives ${want} (Σ|x·w| = ${mag})`);
    }
  }
}

const native = nativeBackendOrNull();
const skip = native ? false : `native addon unavailable: ${nativeLoadError()}`;

describe('gemm16 (16-bit weights widened on the fly)', () => {
  for (const dtype of ['bf16', 'f16'] as const) {
    for (const path of PATHS) {
      const what = path === 'avx512bf16' && dtype === 'bf16' ? `within 2⁻⁸·Σ|x·w| of` : 'equal';
      it(`native ${path} path, ${dtype}: GEMV and GEMM ${what} float32 GEMM of the widened weights`, { skip: skip || cpuSkip(path) }, () => {
        const k = native!;
        const ran = k.setGemm16Path(path);
        try {
          assert.equal(ran, path, `asked for the ${path} path, got ${ran}`);
          assert.equal(k.gemm16Path(), path);
          for (const [M, N, K] of SHAPES) check(k, k, M, N, K, dtype === 'f16', `${path}/${dtype}`, tol(path, dtype === 'f16'));
        } finally {
          k.setGemm16Path('auto');
        }
      });
    }
    it(`reference backend, ${dtype}`, () => {
      const r = createReferenceBackend();
      for (const [M, N, K] of SHAPES.filter(([M, N, K]) => M * N * K < 2e6)) check(r, r, M, N, K, dtype === 'f16', `reference/${dtype}`);
    });
  }

  it('widens BF16 and F16 bit patterns exactly (signed zero, subnormals, largest values, infinities)', { skip }, () => {
    const k = native!;
    // one row x = e_j picks W[n, j] exactly: y = W widened
    const bits = new Uint16Array([0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x3c00, 0x7c00, 0xfc00, 0x3555, 0xc001]);
    // avx512bf16 multiplies BF16 weights with vdpbf16ps, which flushes denormals: its F16 weights only
    for (const path of PATHS.filter(has)) {
      k.setGemm16Path(path);
      try {
        for (const f16 of path === 'avx512bf16' ? [true] : [false, true]) {
          const want = f16 ? f16ToF32Array(bits) : bf16ToF32Array(bits);
          const N = bits.length, K = 1;
          const y = new Float32Array(N);
          k.gemm16(1, N, K, new Float32Array([1]), bits, f16, y);
          for (let i = 0; i < N; i++) assert.ok(Object.is(y[i], want[i]) || (y[i] === 0 && want[i] === 0), `${path} ${f16 ? 'F16' : 'BF16'} 0x${bits[i].toString(16)}: ${y[i]} ≠ ${want[i]}`);
          // the finite values through the 8-wide loads (K ≥ 8): one row of W, x = e_j picks lane j
          // (a sum of products cannot keep −0: 0·w + 1·(−0) = +0, so zeros compare with ===)
          const row = bits.filter((_, i) => Number.isFinite(want[i]));
          const wantRow = f16 ? f16ToF32Array(row) : bf16ToF32Array(row);
          assert.ok(row.length >= 8);
          for (let j = 0; j < row.length; j++) {
            const x = new Float32Array(row.length); x[j] = 1;
            const y1 = new Float32Array(1);
            k.gemm16(1, 1, row.length, x, row, f16, y1);
            assert.ok(y1[0] === wantRow[j], `${path} ${f16 ? 'F16' : 'BF16'} lane ${j}: ${y1[0]} ≠ ${wantRow[j]}`);
          }
        }
      } finally {
        k.setGemm16Path('auto');
      }
    }
  });

  it('TINYSEEK_GEMM16 forces a path (the next lower one the CPU has otherwise); unset, this CPU runs its best exact path', { skip }, () => {
    const env = { ...process.env };
    delete env.TINYSEEK_GEMM16;
    const run = (value?: string) => {
      const r = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addonPath())}).gemm16Path())`], { env: value ? { ...env, TINYSEEK_GEMM16: value } : env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    const best = (upTo: Gemm16Path) => PATHS.slice(0, PATHS.indexOf(upTo) + 1).filter(has).pop();
    for (const p of PATHS) assert.equal(run(p), best(p), `TINYSEEK_GEMM16=${p}`);
    assert.equal(run(), best('avx512'), 'default: the best exact path, never avx512bf16');
    assert.equal(run('nonsense'), best('avx512'));
  });

  it('rejects bad operands with errors naming them', { skip }, () => {
    const k = native!;
    const x = new Float32Array(6), y = new Float32Array(6);
    assert.throws(() => k.gemm16(2, 3, 3, x, new Float32Array(9) as unknown as Uint16Array, false, y), /W \(argument 5\) must be a Uint16Array/);
    assert.throws(() => k.gemm16(2, 3, 3, x, new Uint16Array(8), false, y), /W is too short: it has 8 elements but the sizes given need 9/);
    assert.throws(() => k.gemm16(2, 3, 4, x, new Uint16Array(12), false, y), /x is too short/);
    assert.throws(() => k.gemm16(2, 4, 3, x, new Uint16Array(12), false, y), /y is too short/);
  });

  // gemm16Grouped: several weights over row blocks of one x into column blocks of one y (the MoE's
  // experts; gate_proj beside up_proj). Groups cover GEMV (m = 1), the register-tiled small batches
  // (2..8 rows: every tail of 4-row × 3-column tiles), the widened-panel sgemm (m > 8, and N over one
  // panel), empty groups, a weight used by two groups, odd N, K not a multiple of 8, and columns of y
  // no group writes (they must keep their value).
  function checkGrouped(k: Kernels, ref: Kernels, K: number, f16: boolean, label: string, eps = 1e-5): void {
    const r = prng(K * 7919 + (f16 ? 3 : 0));
    // [m, N, weight]: weight 2 is shared by two groups
    const spec: [number, number, number][] = [[1, 7, 0], [2, 5, 1], [3, 13, 2], [4, 3, 3], [5, 1, 4], [6, 9, 5], [7, 4, 6], [8, 11, 7],
      [0, 6, 8], [9, 10, 9], [17, 131, 10], [1, 200, 11], [33, 13, 2]];
    const cols = 5 + Math.max(...spec.map(([, N]) => N)) + 3; // columns [0, 5) and the last 3 are never written
    let M = 0;
    const desc: number[] = [];
    const Ws: Uint16Array[] = [], wides: Float32Array[] = [];
    for (const [m, N, w] of spec) {
      while (Ws.length <= w) Ws.push(new Uint16Array(0)), wides.push(new Float32Array(0));
      if (Ws[w].length === 0) {
        const w32 = new Float32Array(N * K).map(() => (r() * 2 - 1) * (r() < 0.05 ? 1e-5 : 0.2));
        Ws[w] = f16 ? f32ToF16Array(w32) : f32ToBf16Array(w32);
        wides[w] = f16 ? f16ToF32Array(Ws[w]) : bf16ToF32Array(Ws[w]);
      }
      desc.push(M, m, 5, N, w);
      M += m;
    }
    const x = new Float32Array(M * K).map(() => r() * 2 - 1);
    const y = new Float32Array(M * cols).fill(-7.25);
    k.gemm16Grouped(new Int32Array(desc), K, cols, x, Ws, f16, y);
    for (let g = 0; g < spec.length; g++) {
      const [r0, m, c0, N, w] = desc.slice(5 * g, 5 * g + 5);
      if (m === 0) continue;
      const want = new Float32Array(m * N);
      if (K > 0) ref.gemm(1, false, true, m, N, K, 1, x.subarray(r0 * K), 0, K, wides[w], 0, K, 0, want, 0, N);
      for (let i = 0; i < m; i++) {
        for (let c = 0; c < cols; c++) {
          const got = y[(r0 + i) * cols + c];
          if (c < c0 || c >= c0 + N) { assert.equal(got, -7.25, `${label} K=${K} group ${g}: column ${c} of row ${r0 + i} is not the group's but was written`); continue; }
          const n = c - c0;
          let mag = 0;
          for (let kk = 0; kk < K; kk++) mag += Math.abs(x[(r0 + i) * K + kk] * wides[w][n * K + kk]);
          assert.ok(Math.abs(got - want[i * N + n]) <= eps * mag + 1e-30, `${label} K=${K} group ${g} (m=${m}, N=${N}) y[${i},${n}] = ${got}, float32 GEMM of the widened weights gives ${want[i * N + n]}`);
        }
      }
    }
  }

  for (const dtype of ['bf16', 'f16'] as const) {
    for (const path of PATHS) {
      it(`grouped, native ${path} path, ${dtype}: every group ${path === 'avx512bf16' && dtype === 'bf16' ? 'within 2⁻⁸·Σ|x·w| of' : 'equals'} float32 GEMM of its widened weight; other columns untouched`, { skip: skip || cpuSkip(path) }, () => {
        const k = native!;
        assert.equal(k.setGemm16Path(path), path);
        try {
          for (const K of [1, 7, 8, 15, 16, 23, 33, 64, 300]) checkGrouped(k, k, K, dtype === 'f16', `${path}/${dtype}`, tol(path, dtype === 'f16'));
        } finally {
          k.setGemm16Path('auto');
        }
      });
    }
    it(`grouped, reference backend, ${dtype}`, () => {
      const r = createReferenceBackend();
      for (const K of [1, 7, 23, 64]) checkGrouped(r, r, K, dtype === 'f16', `reference/${dtype}`);
    });
  }

  it('grouped: the same on one thread as on the pool (tasks split W rows; each sum is one task\'s)', { skip }, () => {
    const addon = createRequire(import.meta.url)(addonPath()) as { setNumThreads(n: number): number; numThreads(): number };
    const all = addon.numThreads();
    try {
      for (const n of [1, 2]) {
        addon.setNumThreads(n);
        for (const K of [64, 300]) checkGrouped(native!, native!, K, false, `${n} thread(s)`);
      }
    } finally {
      addon.setNumThreads(all);
    }
  });

  it('grouped: rejects bad operands with errors naming them', { skip }, () => {
    const k = native!;
    const x = new Float32Array(6), y = new Float32Array(8), W = new Uint16Array(6);
    assert.throws(() => k.gemm16Grouped(new Int32Array(4), 3, 4, x, [W], false, y), /desc has 4 entries; expected 5 per group/);
    assert.throws(() => k.gemm16Grouped(new Int32Array([0, 2, 0, 2, 1]), 3, 4, x, [W], false, y), /weight index 1 is not below the 1 weights given/);
    assert.throws(() => k.gemm16Grouped(new Int32Array([0, 2, 3, 2, 0]), 3, 4, x, [W], false, y), /columns \[3, 5\) do not fit in ldy 4/);
    assert.throws(() => k.gemm16Grouped(new Int32Array([1, 2, 0, 2, 0]), 3, 4, x, [W], false, y), /x \(group 0\) is too short/);
    assert.throws(() => k.gemm16Grouped(new Int32Array([0, 2, 0, 3, 0]), 3, 4, x, [W], false, y), /Ws\[0\] \(group 0\) is too short/);
    assert.throws(() => k.gemm16Grouped(new Int32Array([0, 2, 0, 2, 0]), 3, 4, x, [new Float32Array(6) as unknown as Uint16Array], false, y), /Ws\[0\] must be a Uint16Array/);
    assert.throws(() => k.gemm16Grouped(new Int32Array([0, -1, 0, 2, 0]), 3, 4, x, [W], false, y), /desc\[1\] \(group 0\) is negative/);
    assert.throws(() => k.gemm16Grouped(new Int32Array([0, 2, 0, 2, 0]), 3, 4, x, W as unknown as Uint16Array[], false, y), /Ws \(argument 5\) must be an Array of Uint16Array/);
    assert.throws(() => k.gemm16Grouped(new Int32Array([0, 2, 2, 2, 0]), 3, 4, x, [W], false, new Float32Array(7)), /y \(group 0\) is too short/);
  });
});
