// y[M, N] = x[M, K] · Wᵀ with x float32 and W [N, K] stored 16-bit (BF16 or IEEE F16), widened to
// float32 on the fly — the linear layer of a model whose weights stay 16-bit in memory.
//
// Paths, chosen at run time (ts_gemm16_path):
//   avx2   — AVX2 + FMA + F16C: BF16 widened by zero-extending u16 → u32 and shifting left 16
//            (_mm256_cvtepu16_epi32 + _mm256_slli_epi32), F16 by _mm256_cvtph_ps.
//   scalar — plain C, one element at a time (TINYSEEK_GEMM16=scalar forces it; also used when the CPU
//            lacks any of AVX2/FMA/F16C).
// M == 1 (decode): GEMV, W streamed once, 4 output rows at a time with 8-wide FMA accumulators,
//   rows split across the pool's threads.
// M > 1 (prefill): blocked GEMM, each task widens a panel of W rows [nb, K] into a float32 buffer and
//   multiplies it with all of x (OpenBLAS sgemm, single-threaded inside the pool's tasks as gemm.c
//   does for batches of small GEMMs; the scalar path uses its own loops), so each weight is widened
//   once per call whatever M is.
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

static int g_path = -1; /* -1 unknown, 0 scalar, 1 avx2 */

static int cpu_has_avx2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

int ts_gemm16_path(void) {
  if (g_path < 0) {
    const char *s = getenv("TINYSEEK_GEMM16");
    g_path = (s && strcmp(s, "scalar") == 0) ? 0 : cpu_has_avx2();
  }
  return g_path;
}

int ts_gemm16_set_path(int path) {
  if (path < 0) { g_path = -1; return ts_gemm16_path(); }
  g_path = path && cpu_has_avx2() ? 1 : 0;
  return g_path;
}

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

/* ---- jobs ---- */

typedef struct {
  int64_t M, N, K;
  const float *x;
  const uint16_t *W;
  float *y;
  int f16, avx2;
  int64_t nb; /* GEMM panel rows */
} job16;

static void gemv_range(void *p, int64_t n0, int64_t n1) {
  const job16 *j = p;
  if (j->avx2) gemv_avx2(j->x, j->W, j->K, j->f16, j->y, n0, n1);
  else
    for (int64_t n = n0; n < n1; n++) j->y[n] = dot_scalar(j->x, j->W + n * j->K, j->K, j->f16);
}

/* panels [p0, p1) of nb W rows each: widen the panel, then y[:, panel] = x · panelᵀ */
static void gemm_range16(void *p, int64_t p0, int64_t p1) {
  const job16 *j = p;
  const int64_t K = j->K, M = j->M, N = j->N;
  float *panel = malloc(sizeof(float) * (size_t)(j->nb * K));
  for (int64_t b = p0; b < p1; b++) {
    const int64_t n0 = b * j->nb, rows = n0 + j->nb <= N ? j->nb : N - n0;
    if (!panel) { /* no scratch: row by row, same arithmetic as the GEMV */
      for (int64_t m = 0; m < M; m++) {
        if (j->avx2) gemv_avx2(j->x + m * K, j->W, K, j->f16, j->y + m * N, n0, n0 + rows);
        else for (int64_t n = n0; n < n0 + rows; n++) j->y[m * N + n] = dot_scalar(j->x + m * K, j->W + n * K, K, j->f16);
      }
      continue;
    }
    if (j->avx2) {
      widen_avx2(j->W + n0 * K, rows * K, j->f16, panel);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)rows, (int)K, 1.0f, j->x, (int)K, panel, (int)K,
                  0.0f, j->y + n0, (int)N);
    } else {
      widen_scalar(j->W + n0 * K, rows * K, j->f16, panel);
      for (int64_t m = 0; m < M; m++) {
        const float *xm = j->x + m * K;
        for (int64_t r = 0; r < rows; r++) {
          const float *wr = panel + r * K;
          float s = 0.0f;
          for (int64_t k = 0; k < K; k++) s += xm[k] * wr[k];
          j->y[m * N + n0 + r] = s;
        }
      }
    }
  }
  free(panel);
}

void ts_gemm16(int64_t M, int64_t N, int64_t K, const float *x, const uint16_t *W, int f16, float *y) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) { memset(y, 0, sizeof(float) * (size_t)(M * N)); return; }
  job16 j = {M, N, K, x, W, y, f16, ts_gemm16_path(), 0};
  if (M == 1) {
    ts_parallel_auto(N, (double)K, gemv_range, &j);
    return;
  }
  /* panel: about 64 KiB of float32 (fits L2 beside x's rows), a multiple of 8 rows, at least 8 */
  int64_t nb = (16384 / K) & ~(int64_t)7;
  if (nb < 8) nb = 8;
  const int nt = ts_num_threads();
  /* enough panels for every thread to have about 2 */
  while (nb > 8 && (N + nb - 1) / nb < 2 * nt) nb -= 8;
  j.nb = nb;
  const int64_t panels = (N + nb - 1) / nb;
  if (nt > 1 && panels > 1 && 2.0 * (double)M * (double)N * (double)K >= 2e6) {
    int prev = ts_blas_single_begin();
    ts_parallel_for(panels, 1, gemm_range16, &j);
    ts_blas_single_end(prev);
  } else {
    gemm_range16(&j, 0, panels);
  }
}
