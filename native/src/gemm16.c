// y[M, N] = x[M, K] · Wᵀ with x float32 and W [N, K] stored 16-bit (BF16 or IEEE F16), widened to
// float32 on the fly — the linear layer of a model whose weights stay 16-bit in memory.
//
// Paths, chosen at run time (ts_gemm16_path; TINYSEEK_GEMM16=scalar|avx2|avx512|avx512bf16 forces one,
// falling back to the next lower path the CPU has):
//   avx512     — the default where the CPU has AVX-512 F/BW/VL (and AVX2/FMA/F16C): 16-wide, BF16 widened by
//                _mm512_cvtepu16_epi32 + _mm512_slli_epi32, F16 by _mm512_cvtph_ps; K tails through masked
//                loads (no scalar tail).
//   avx2       — AVX2 + FMA + F16C: BF16 widened by zero-extending u16 → u32 and shifting left 16
//                (_mm256_cvtepu16_epi32 + _mm256_slli_epi32), F16 by _mm256_cvtph_ps.
//   scalar     — plain C, one element at a time (also used when the CPU lacks any of AVX2/FMA/F16C).
//   avx512bf16 — opt-in only (never the default): like avx512, but the GEMV and register-tiled kernels of
//                BF16 weights round x to BF16 (round to nearest even) and multiply with vdpbf16ps
//                (AVX512_BF16), which multiplies BF16 pairs and accumulates in float32. Results then differ
//                from the float32 GEMM of the widened weights by the rounding of x: at most 2⁻⁸ · Σ_k |x_k w_k|
//                (relative error of each x_k ≤ 2⁻⁹; the instruction also flushes denormals; measured up to
//                5e-4 · Σ|x·w| on random operands). F16 weights are computed as on avx512.
// Every path but avx512bf16 multiplies the exactly widened weights in float32 with float32 sums, so
// results equal the float32 GEMM of the widened weights up to summation order.
// Each vector kernel is compiled for its own instruction set (__attribute__((target(...)))) and only
// called after __builtin_cpu_supports says the CPU has it, so the addon loads and runs on any x86-64-v3 CPU.
// Shapes (block16, per weight and block of W rows):
//   m == 1 (decode): GEMV, W streamed once, 4 output rows at a time with 8-wide (avx512: 16-wide) FMA
//     accumulators.
//   2 ≤ m ≤ SMALL_M (a few rows per expert): tiles of up to 4 x rows × 3 W rows in registers, W widened
//     in registers and reused across the tile's rows (gemm_small_avx2); no scratch, no packing.
//     avx512 takes its tiles (4 x rows × 4 W rows, gemm_small_avx512) at every m > 1, x 64 rows at a time:
//     measured 1.3–3× the widened-panel sgemm below from 2 to 2048 rows on this Zen 5 (OpenBLAS's sgemm
//     kernel for it is 8 wide), so the avx512 paths never widen a panel.
//   larger m (prefill, scalar and avx2): a panel of W rows [nb, K] (64 KiB widened; 256 KiB from 256 rows on) widened
//     into a float32 buffer and multiplied with all m rows by OpenBLAS sgemm (single-threaded inside the pool's tasks, as gemm.c does for batches of
//     small GEMMs; the scalar path uses its own loops), so each weight is widened once per call.
// ts_gemm16_grouped runs several weights at once — the MoE's experts over their rows of x, gate_proj
// beside up_proj — as one list of (weight, block of W rows) tasks over the pool's threads: one task
// per weight on one thread, about 4 per thread otherwise. ts_gemm16 is its one-weight case.
#include <cblas.h>
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "tinyseek.h"

/* ---- widening, one element ---- */

static inline float bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* IEEE binary16 → binary32, subnormals, infinities and NaN included (no F16C). */
static inline float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
  if (exp == 0) {
    if (man == 0) u = sign;
    else { /* subnormal: normalise */
      int e = -1;
      do { man <<= 1; e++; } while (!(man & 0x400));
      u = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) u = sign | 0x7f800000u | man << 13;
  else u = sign | (exp + 127 - 15) << 23 | man << 13;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline float widen1(uint16_t h, int f16) { return f16 ? f16_to_f32(h) : bf16_to_f32(h); }

/* ---- path selection ---- */

enum { P_SCALAR = 0, P_AVX2 = 1, P_AVX512 = 2, P_AVX512BF16 = 3 };
static const char *const path_names[] = {"scalar", "avx2", "avx512", "avx512bf16"};

static int g_path = -1; /* -1 unknown, else P_* */

/* whether the CPU can run path p */
static int cpu_has(int p) {
  __builtin_cpu_init();
  if (p == P_SCALAR) return 1;
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))) return 0;
  if (p == P_AVX2) return 1;
  if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))) return 0;
  if (p == P_AVX512) return 1;
  return __builtin_cpu_supports("avx512bf16");
}

/* p, or the next lower path the CPU has */
static int clamp_path(int p) {
  while (p > P_SCALAR && !cpu_has(p)) p--;
  return p;
}

int ts_gemm16_path(void) {
  if (g_path < 0) {
    const char *s = getenv("TINYSEEK_GEMM16");
    int want = P_AVX512; /* the default: the best exact path; avx512bf16 only when asked for */
    for (int p = P_SCALAR; s && p <= P_AVX512BF16; p++)
      if (strcmp(s, path_names[p]) == 0) want = p;
    g_path = clamp_path(want);
  }
  return g_path;
}

int ts_gemm16_set_path(int path) {
  if (path < 0) { g_path = -1; return ts_gemm16_path(); }
  g_path = clamp_path(path > P_AVX512BF16 ? P_AVX512BF16 : path);
  return g_path;
}

const char *ts_gemm16_path_name(int path) { return path >= 0 && path <= P_AVX512BF16 ? path_names[path] : "unknown"; }

/* ---- scalar path ---- */

static void widen_scalar(const uint16_t *w, int64_t n, int f16, float *out) {
  for (int64_t i = 0; i < n; i++) out[i] = widen1(w[i], f16);
}

static float dot_scalar(const float *x, const uint16_t *w, int64_t K, int f16) {
  float s = 0.0f;
  for (int64_t k = 0; k < K; k++) s += x[k] * widen1(w[k], f16);
  return s;
}

/* ---- AVX2 path ---- */

__attribute__((target("avx2,fma,f16c"))) static inline __m256 widen8(const uint16_t *w, int f16) {
  __m128i h = _mm_loadu_si128((const __m128i *)w);
  if (f16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

__attribute__((target("avx2,fma,f16c"))) static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma,f16c"))) static void widen_avx2(const uint16_t *w, int64_t n, int f16, float *out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, widen8(w + i, f16));
  for (; i < n; i++) out[i] = widen1(w[i], f16);
}

/* y[n0..n1) = W[n0..n1) · x for one row x: four W rows at a time share each load of x. */
__attribute__((target("avx2,fma,f16c"))) static void gemv_avx2(const float *x, const uint16_t *W, int64_t K, int f16,
                                                               float *y, int64_t n0, int64_t n1) {
  int64_t n = n0;
  const int64_t K8 = K & ~(int64_t)7;
  for (; n + 4 <= n1; n += 4) {
    const uint16_t *w0 = W + n * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t k = 0; k < K8; k += 8) {
      __m256 xv = _mm256_loadu_ps(x + k);
      a0 = _mm256_fmadd_ps(xv, widen8(w0 + k, f16), a0);
      a1 = _mm256_fmadd_ps(xv, widen8(w1 + k, f16), a1);
      a2 = _mm256_fmadd_ps(xv, widen8(w2 + k, f16), a2);
      a3 = _mm256_fmadd_ps(xv, widen8(w3 + k, f16), a3);
    }
    float s0 = hsum8(a0), s1 = hsum8(a1), s2 = hsum8(a2), s3 = hsum8(a3);
    for (int64_t k = K8; k < K; k++) {
      s0 += x[k] * widen1(w0[k], f16);
      s1 += x[k] * widen1(w1[k], f16);
      s2 += x[k] * widen1(w2[k], f16);
      s3 += x[k] * widen1(w3[k], f16);
    }
    y[n] = s0, y[n + 1] = s1, y[n + 2] = s2, y[n + 3] = s3;
  }
  for (; n < n1; n++) {
    const uint16_t *w0 = W + n * K;
    __m256 a0 = _mm256_setzero_ps();
    for (int64_t k = 0; k < K8; k += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), widen8(w0 + k, f16), a0);
    float s0 = hsum8(a0);
    for (int64_t k = K8; k < K; k++) s0 += x[k] * widen1(w0[k], f16);
    y[n] = s0;
  }
}

/*
 * Small-batch GEMM, widening in registers: y[i, n] = x[i] · W[n] for i < m rows of x (rows ldx apart,
 * y rows ldy apart) and W rows [n0, n1). Tiles of MR x rows × NR W rows keep MR·NR 8-wide accumulators
 * in registers; each 8-element step widens NR W vectors and loads MR x vectors for MR·NR FMAs, so a
 * widened W vector is reused across MR batch rows and W is streamed once per MR rows from L1/L2 —
 * no float32 panel, no packing. The K tail (K % 8) is summed in scalar.
 */
__attribute__((target("avx2,fma,f16c"), always_inline)) static inline void tile_avx2(
    const float *x, int64_t ldx, const uint16_t *W, int64_t K, int f16, float *y, int64_t ldy, int64_t n, int mr, int nr) {
  __m256 acc[4][3];
  const int64_t K8 = K & ~(int64_t)7;
  for (int i = 0; i < mr; i++)
    for (int r = 0; r < nr; r++) acc[i][r] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K8; k += 8) {
    __m256 w[3];
    for (int r = 0; r < nr; r++) w[r] = widen8(W + (n + r) * K + k, f16);
    for (int i = 0; i < mr; i++) {
      __m256 xv = _mm256_loadu_ps(x + i * ldx + k);
      __asm__("" : "+x"(xv)); /* one load per x vector, not one folded into each of its NR FMAs */
      for (int r = 0; r < nr; r++) acc[i][r] = _mm256_fmadd_ps(xv, w[r], acc[i][r]);
    }
  }
  for (int i = 0; i < mr; i++)
    for (int r = 0; r < nr; r++) {
      float s = hsum8(acc[i][r]);
      const uint16_t *wr = W + (n + r) * K;
      for (int64_t k = K8; k < K; k++) s += x[i * ldx + k] * widen1(wr[k], f16);
      y[i * ldy + n + r] = s;
    }
}

#define TILE(MR, NR) tile_avx2(xi, ldx, W, K, f16, yi, ldy, n, MR, NR)
__attribute__((target("avx2,fma,f16c"))) static void gemm_small_avx2(const float *x, int64_t ldx, int64_t m, const uint16_t *W,
                                                                     int64_t K, int f16, float *y, int64_t ldy, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; n += 3) {
    const int64_t nr = n1 - n < 3 ? n1 - n : 3;
    for (int64_t i = 0; i < m; i += 4) {
      const float *xi = x + i * ldx;
      float *yi = y + i * ldy;
      const int64_t mr = m - i < 4 ? m - i : 4;
      /* constant tile sizes, so that each call unrolls into registers */
      if (nr == 3) {
        if (mr == 4) TILE(4, 3); else if (mr == 3) TILE(3, 3); else if (mr == 2) TILE(2, 3); else TILE(1, 3);
      } else if (nr == 2) {
        if (mr == 4) TILE(4, 2); else if (mr == 3) TILE(3, 2); else if (mr == 2) TILE(2, 2); else TILE(1, 2);
      } else {
        if (mr == 4) TILE(4, 1); else if (mr == 3) TILE(3, 1); else if (mr == 2) TILE(2, 1); else TILE(1, 1);
      }
    }
  }
}
#undef TILE

/* ---- AVX-512 path (F + BW + VL; FMA and F16C as on avx2) ---- */

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

T512 static inline __m512 widen16(const uint16_t *w, int f16) {
  __m256i h = _mm256_loadu_si256((const __m256i *)w);
  if (f16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* the first lanes of `m` (a K tail), the others 0; masked-off elements are not read */
T512 static inline __m512 widen16_tail(const uint16_t *w, __mmask16 m, int f16) {
  __m256i h = _mm256_maskz_loadu_epi16(m, w);
  if (f16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

T512 static void widen_avx512(const uint16_t *w, int64_t n, int f16, float *out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, widen16(w + i, f16));
  if (i < n) {
    const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(out + i, m, widen16_tail(w + i, m, f16));
  }
}

/* y[n0..n1) = W[n0..n1) · x for one row x: four W rows at a time share each load of x; the K tail
   (K % 16) through masked loads */
T512 static void gemv_avx512(const float *x, const uint16_t *W, int64_t K, int f16, float *y, int64_t n0, int64_t n1) {
  int64_t n = n0;
  const int64_t K16 = K & ~(int64_t)15;
  const __mmask16 tm = (__mmask16)((1u << (K - K16)) - 1);
  for (; n + 4 <= n1; n += 4) {
    const uint16_t *w0 = W + n * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t k = 0; k < K16; k += 16) {
      __m512 xv = _mm512_loadu_ps(x + k);
      a0 = _mm512_fmadd_ps(xv, widen16(w0 + k, f16), a0);
      a1 = _mm512_fmadd_ps(xv, widen16(w1 + k, f16), a1);
      a2 = _mm512_fmadd_ps(xv, widen16(w2 + k, f16), a2);
      a3 = _mm512_fmadd_ps(xv, widen16(w3 + k, f16), a3);
    }
    if (tm) {
      __m512 xv = _mm512_maskz_loadu_ps(tm, x + K16);
      a0 = _mm512_fmadd_ps(xv, widen16_tail(w0 + K16, tm, f16), a0);
      a1 = _mm512_fmadd_ps(xv, widen16_tail(w1 + K16, tm, f16), a1);
      a2 = _mm512_fmadd_ps(xv, widen16_tail(w2 + K16, tm, f16), a2);
      a3 = _mm512_fmadd_ps(xv, widen16_tail(w3 + K16, tm, f16), a3);
    }
    y[n] = _mm512_reduce_add_ps(a0), y[n + 1] = _mm512_reduce_add_ps(a1);
    y[n + 2] = _mm512_reduce_add_ps(a2), y[n + 3] = _mm512_reduce_add_ps(a3);
  }
  for (; n < n1; n++) {
    const uint16_t *w0 = W + n * K;
    __m512 a0 = _mm512_setzero_ps();
    for (int64_t k = 0; k < K16; k += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), widen16(w0 + k, f16), a0);
    if (tm) a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tm, x + K16), widen16_tail(w0 + K16, tm, f16), a0);
    y[n] = _mm512_reduce_add_ps(a0);
  }
}

/* Register-tiled GEMM as gemm_small_avx2, 16 wide, with tiles of up to 4 x rows × 4 W rows (16 of the 32
   zmm registers hold accumulators); the K tail through masked loads. Used for every row count m (see
   block16), x taken X_BLOCK rows at a time. */
#define X_BLOCK 64
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"), always_inline)) static inline void tile_avx512(
    const float *x, int64_t ldx, const uint16_t *W, int64_t K, int f16, float *y, int64_t ldy, int64_t n, int mr, int nr) {
  __m512 acc[4][4];
  const int64_t K16 = K & ~(int64_t)15;
  const __mmask16 tm = (__mmask16)((1u << (K - K16)) - 1);
  for (int i = 0; i < mr; i++)
    for (int r = 0; r < nr; r++) acc[i][r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K16; k += 16) {
    __m512 w[4];
    for (int r = 0; r < nr; r++) w[r] = widen16(W + (n + r) * K + k, f16);
    for (int i = 0; i < mr; i++) {
      __m512 xv = _mm512_loadu_ps(x + i * ldx + k);
      __asm__("" : "+v"(xv)); /* one load per x vector, not one folded into each of its NR FMAs */
      for (int r = 0; r < nr; r++) acc[i][r] = _mm512_fmadd_ps(xv, w[r], acc[i][r]);
    }
  }
  if (tm) {
    __m512 w[4];
    for (int r = 0; r < nr; r++) w[r] = widen16_tail(W + (n + r) * K + K16, tm, f16);
    for (int i = 0; i < mr; i++) {
      __m512 xv = _mm512_maskz_loadu_ps(tm, x + i * ldx + K16);
      for (int r = 0; r < nr; r++) acc[i][r] = _mm512_fmadd_ps(xv, w[r], acc[i][r]);
    }
  }
  for (int i = 0; i < mr; i++)
    for (int r = 0; r < nr; r++) y[i * ldy + n + r] = _mm512_reduce_add_ps(acc[i][r]);
}

#define TILE(MR, NR) tile_avx512(xi, ldx, W, K, f16, yi, ldy, n, MR, NR)
#define TILES(NR) do { if (mr == 4) TILE(4, NR); else if (mr == 3) TILE(3, NR); else if (mr == 2) TILE(2, NR); else TILE(1, NR); } while (0)
T512 static void gemm_small_avx512(const float *x, int64_t ldx, int64_t m, const uint16_t *W, int64_t K, int f16, float *y,
                                   int64_t ldy, int64_t n0, int64_t n1) {
  for (int64_t i0 = 0; i0 < m; i0 += X_BLOCK) { /* X_BLOCK rows of x stay in L2 while every W row passes */
    const int64_t i1 = m - i0 < X_BLOCK ? m : i0 + X_BLOCK;
    for (int64_t n = n0; n < n1; n += 4) {
      const int64_t nr = n1 - n < 4 ? n1 - n : 4;
      for (int64_t i = i0; i < i1; i += 4) {
        const float *xi = x + i * ldx;
        float *yi = y + i * ldy;
        const int64_t mr = i1 - i < 4 ? i1 - i : 4;
        /* constant tile sizes, so that each call unrolls into registers */
        if (nr == 4) TILES(4); else if (nr == 3) TILES(3); else if (nr == 2) TILES(2); else TILES(1);
      }
    }
  }
}
#undef TILES
#undef TILE

/* ---- AVX512_BF16 (opt-in): x rounded to BF16, vdpbf16ps against the BF16 weights as stored ---- */

#define TBF __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c")))

/* x[0..K) → BF16 bits (round to nearest even, as vcvtne2ps2bf16) in xb[0..K) */
TBF static void x_to_bf16(const float *x, int64_t K, uint16_t *xb) {
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(x + k));
    _mm512_storeu_si512((void *)(xb + k), (__m512i)v);
  }
  for (; k < K; k += 16) {
    const int64_t r = K - k < 16 ? K - k : 16;
    const __mmask16 m = (__mmask16)((1u << r) - 1);
    __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + k));
    _mm256_mask_storeu_epi16((void *)(xb + k), m, (__m256i)v);
  }
}

/* y[i, n] = xb[i] · W[n] for rows i < m of BF16 x (rows K apart) and W rows [n0, n1): tiles of up to
   4 x rows × 4 W rows, 32 products per vdpbf16ps; the K tail (K % 32) through masked loads */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c"), always_inline)) static inline void tile_bf16dp(
    const uint16_t *xb, int64_t K, const uint16_t *W, float *y, int64_t ldy, int64_t n, int mr, int nr) {
  __m512 acc[4][4];
  const int64_t K32 = K & ~(int64_t)31;
  const __mmask32 tm = (__mmask32)((1ull << (K - K32)) - 1);
  for (int i = 0; i < mr; i++)
    for (int r = 0; r < nr; r++) acc[i][r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K32; k += 32) {
    __m512bh w[4];
    for (int r = 0; r < nr; r++) w[r] = (__m512bh)_mm512_loadu_si512((const void *)(W + (n + r) * K + k));
    for (int i = 0; i < mr; i++) {
      __m512bh xv = (__m512bh)_mm512_loadu_si512((const void *)(xb + i * K + k));
      for (int r = 0; r < nr; r++) acc[i][r] = _mm512_dpbf16_ps(acc[i][r], xv, w[r]);
    }
  }
  if (tm) {
    __m512bh w[4];
    for (int r = 0; r < nr; r++) w[r] = (__m512bh)_mm512_maskz_loadu_epi16(tm, W + (n + r) * K + K32);
    for (int i = 0; i < mr; i++) {
      __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(tm, xb + i * K + K32);
      for (int r = 0; r < nr; r++) acc[i][r] = _mm512_dpbf16_ps(acc[i][r], xv, w[r]);
    }
  }
  for (int i = 0; i < mr; i++)
    for (int r = 0; r < nr; r++) y[i * ldy + n + r] = _mm512_reduce_add_ps(acc[i][r]);
}

#define TILE(MR, NR) tile_bf16dp(xi, K, W, yi, ldy, n, MR, NR)
#define TILES(NR) do { if (mr == 4) TILE(4, NR); else if (mr == 3) TILE(3, NR); else if (mr == 2) TILE(2, NR); else TILE(1, NR); } while (0)
/* m rows of x (rows ldx apart) against BF16 W rows [n0, n1): x rounded to BF16 once per block of rows, then tiles */
TBF static void gemm_bf16dp(const float *x, int64_t ldx, int64_t m, const uint16_t *W, int64_t K, float *y, int64_t ldy,
                            int64_t n0, int64_t n1) {
  const int64_t rows = m < X_BLOCK ? m : X_BLOCK; /* x rounded X_BLOCK rows at a time */
  uint16_t stack[8 * 1024];
  uint16_t *xbuf = rows * K <= 8 * 1024 ? stack : malloc(sizeof(uint16_t) * (size_t)(rows * K));
  if (!xbuf) { gemm_small_avx512(x, ldx, m, W, K, 0, y, ldy, n0, n1); return; } /* the exact path instead */
  for (int64_t i0 = 0; i0 < m; i0 += X_BLOCK) {
    const int64_t i1 = m - i0 < X_BLOCK ? m : i0 + X_BLOCK;
    for (int64_t i = i0; i < i1; i++) x_to_bf16(x + i * ldx, K, xbuf + (i - i0) * K);
    for (int64_t n = n0; n < n1; n += 4) {
      const int64_t nr = n1 - n < 4 ? n1 - n : 4;
      for (int64_t i = i0; i < i1; i += 4) {
        const uint16_t *xi = xbuf + (i - i0) * K;
        float *yi = y + i * ldy;
        const int64_t mr = i1 - i < 4 ? i1 - i : 4;
        if (nr == 4) TILES(4); else if (nr == 3) TILES(3); else if (nr == 2) TILES(2); else TILES(1);
      }
    }
  }
  if (xbuf != stack) free(xbuf);
}
#undef TILES
#undef TILE

/* ---- grouped: several weights over row blocks of one x, into column blocks of one y ---- */

/*
 * y[r0 .. r0+m, c0 .. c0+n) = x[r0 .. r0+m, :K] · W[n0 .. n1)ᵀ for one weight [N, K], rows of x and y
 * with leading dimensions ldx and ldy: m == 1 → GEMV; avx512 → register tiles; m ≤ SMALL_M (AVX2) → register tiles; else the
 * W rows widened into `panel` (at least (n1 − n0)·K floats) and one sgemm, so each weight element is
 * widened once for all m rows. Without a panel (no scratch), the GEMV/tile kernels row by row.
 */
/* batch rows up to which the register-tiled kernel beats widening a panel for sgemm (measured on
   AVX2 Zen: ~3× faster at 2 rows, even at 8–16, sgemm ahead from ~16) */
#define SMALL_M 8

static void block16(const float *x, int64_t ldx, int64_t m, const uint16_t *W, int64_t K, int f16, int path,
                    float *y, int64_t ldy, int64_t n0, int64_t n1, float *panel) {
  const int64_t rows = n1 - n0;
  /* AVX-512: register tiles at every row count (they beat widening a panel for OpenBLAS sgemm from 2 rows
     to thousands here, ~1.5–2×: the sgemm kernel OpenBLAS picks is 8 wide) */
  if (path == P_AVX512BF16 && !f16) {
    gemm_bf16dp(x, ldx, m, W, K, y, ldy, n0, n1); /* opt-in: x rounded to BF16 */
    return;
  }
  if (path >= P_AVX512) {
    if (m == 1) gemv_avx512(x, W, K, f16, y, n0, n1);
    else gemm_small_avx512(x, ldx, m, W, K, f16, y, ldy, n0, n1);
    return;
  }
  if (path == P_AVX2 && m > 1 && (m <= SMALL_M || !panel)) {
    gemm_small_avx2(x, ldx, m, W, K, f16, y, ldy, n0, n1);
    return;
  }
  if (m == 1 || !panel) {
    for (int64_t i = 0; i < m; i++) {
      if (path == P_AVX2) gemv_avx2(x + i * ldx, W, K, f16, y + i * ldy, n0, n1);
      else for (int64_t n = n0; n < n1; n++) y[i * ldy + n] = dot_scalar(x + i * ldx, W + n * K, K, f16);
    }
    return;
  }
  if (path != P_SCALAR) {
    if (path >= P_AVX512) widen_avx512(W + n0 * K, rows * K, f16, panel);
    else widen_avx2(W + n0 * K, rows * K, f16, panel);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)rows, (int)K, 1.0f, x, (int)ldx, panel, (int)K,
                0.0f, y + n0, (int)ldy);
  } else {
    widen_scalar(W + n0 * K, rows * K, f16, panel);
    for (int64_t i = 0; i < m; i++) {
      const float *xm = x + i * ldx;
      for (int64_t r = 0; r < rows; r++) {
        const float *wr = panel + r * K;
        float s = 0.0f;
        for (int64_t k = 0; k < K; k++) s += xm[k] * wr[k];
        y[i * ldy + n0 + r] = s;
      }
    }
  }
}

/* W rows per task: 16384 / K rounded down to a multiple of 8, at least 8 (32 KiB of 16-bit weights, 64 KiB widened) */
static int64_t block_rows(int64_t K) {
  int64_t nb = (16384 / K) & ~(int64_t)7;
  return nb < 8 ? 8 : nb;
}

/* W rows per widened panel for m rows of x: block_rows, or 4× that (256 KiB widened) from 256 rows on,
   where sgemm's re-packing of x for every panel would otherwise cost more than the panel's L2 misses */
static int64_t panel_rows(int64_t m, int64_t K) { return m >= 256 ? 4 * block_rows(K) : block_rows(K); }

typedef struct {
  int64_t K, ldy;
  const float *x;
  const uint16_t *const *Ws;
  const int32_t *desc; /* per group: r0, m, c0, N, weight index */
  float *y;
  int f16, path;
  const int64_t *task; /* per task: group, n0, n1 */
  int64_t panelRows;   /* the largest panel_rows of a group taking the widened-panel path (0: none) */
} grouped16_job;

static void grouped16_range(void *p, int64_t t0, int64_t t1) {
  const grouped16_job *j = p;
  const int64_t K = j->K;
  float *panel = j->panelRows ? malloc(sizeof(float) * (size_t)(j->panelRows * K)) : NULL;
  for (int64_t t = t0; t < t1; t++) {
    const int64_t *tk = j->task + 3 * t;
    const int32_t *d = j->desc + 5 * tk[0];
    const float *x = j->x + (int64_t)d[0] * K;
    float *y = j->y + (int64_t)d[0] * j->ldy + d[2];
    /* panels of at most nb W rows (the GEMV and small-batch kernels take any range) */
    const int64_t nb = panel_rows(d[1], K);
    for (int64_t n0 = tk[1]; n0 < tk[2]; n0 += nb)
      block16(x, K, d[1], j->Ws[d[4]], K, j->f16, j->path, y, j->ldy, n0, n0 + nb < tk[2] ? n0 + nb : tk[2], panel);
  }
  free(panel);
}

int ts_gemm16_grouped(int64_t groups, const int32_t *desc, int64_t K, int64_t ldy, const float *x,
                      const uint16_t *const *Ws, int f16, float *y) {
  const int nt = ts_num_threads();
  const int path = ts_gemm16_path();
  int64_t rowsN = 0, live = 0;
  double flops = 0;
  int64_t panelRows = 0;
  for (int64_t g = 0; g < groups; g++) {
    const int32_t *d = desc + 5 * g;
    if (d[1] == 0 || d[3] == 0) continue;
    if (K == 0) {
      for (int64_t i = 0; i < d[1]; i++) memset(y + ((int64_t)d[0] + i) * ldy + d[2], 0, sizeof(float) * (size_t)d[3]);
      continue;
    }
    live++;
    rowsN += d[3];
    flops += 2.0 * d[1] * d[3] * (double)K;
    if (d[1] > 1 && path < P_AVX512 && !(path == P_AVX2 && d[1] <= SMALL_M) && panel_rows(d[1], K) > panelRows) panelRows = panel_rows(d[1], K);
  }
  if (live == 0) return 0;
  /* one task per group on one thread; with more, W-row blocks (multiples of 8) for about 4 tasks per thread */
  const int parallel = nt > 1 && flops >= 2e5;
  int64_t chunk = (int64_t)1 << 32; /* more than any N (desc entries are int32) */
  if (parallel) {
    chunk = (rowsN + 4 * nt - 1) / (4 * nt);
    chunk = (chunk + 7) & ~(int64_t)7;
  }
  int64_t tasks = 0;
  for (int64_t g = 0; g < groups; g++) {
    const int32_t *d = desc + 5 * g;
    if (d[1] > 0 && d[3] > 0) tasks += (d[3] + chunk - 1) / chunk;
  }
  int64_t stackTask[3 * 64];
  int64_t *task = tasks <= 64 ? stackTask : malloc(sizeof(int64_t) * 3 * (size_t)tasks);
  if (!task) return -1;
  int64_t t = 0;
  for (int64_t g = 0; g < groups; g++) {
    const int32_t *d = desc + 5 * g;
    if (d[1] == 0 || d[3] == 0) continue;
    for (int64_t n0 = 0; n0 < d[3]; n0 += chunk, t++) {
      task[3 * t] = g, task[3 * t + 1] = n0, task[3 * t + 2] = d[3] - n0 < chunk ? d[3] : n0 + chunk;
    }
  }
  grouped16_job j = {K, ldy, x, Ws, desc, y, f16, path, task, panelRows};
  if (parallel && tasks > 1) {
    int prev = ts_blas_single_begin();
    ts_parallel_for(tasks, 1, grouped16_range, &j);
    ts_blas_single_end(prev);
  } else {
    grouped16_range(&j, 0, tasks);
  }
  if (task != stackTask) free(task);
  return 0;
}

void ts_gemm16(int64_t M, int64_t N, int64_t K, const float *x, const uint16_t *W, int f16, float *y) {
  if (M <= 0 || N <= 0) return;
  /* one group: every row of x, every column of y */
  const int32_t desc[5] = {0, (int32_t)M, 0, (int32_t)N, 0};
  if (ts_gemm16_grouped(1, desc, K, N, x, &W, f16, y) == 0) return;
  /* no scratch for a panel: row by row, the GEMV/small-batch kernels need none */
  const int path = ts_gemm16_path();
  for (int64_t m = 0; m < M; m++) block16(x + m * K, K, 1, W, K, f16, path, y + m * N, N, 0, N, NULL);
}
