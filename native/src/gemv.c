// Float32 matrix-vector products on AVX2 + FMA: the M = 1 (one decode row) and N = 1 shapes of ts_gemm.
// OpenBLAS 0.3.21's cblas_sgemv costs several µs per call at decode sizes ([128, 192] … [552, 192]) of
// which little is arithmetic; these loops have no setup beyond a thread-count check. A batch-1 decode
// step of the mini model makes ~60 such calls.
//
//   ts_gemv_rows: y[n · incy] = alpha · Σ_k W[n, k] x[k] (+ beta · y)   W [N, K] row stride ldw (x·Wᵀ: linear)
//   ts_gemv_cols: y[n]        = alpha · Σ_k x[k] B[k, n] (+ beta · y)   B [K, N] row stride ldb (x·B)
//
// Summation order (differs from OpenBLAS's sgemv, so results agree with it to float rounding only):
// rows — 2 interleaved 8-wide accumulators per output over k (k ≡ 0..7 and 8..15 mod 16), a masked
// 8-wide tail, then the two added and summed horizontally; cols — one running sum per output in k order
// (each k one FMA). Outputs are split over threads by blocks of rows / columns, never along k, so
// results do not depend on the thread count. TINYSEEK_GEMV=blas sends every call back to cblas_sgemv
// (the bit-for-bit GRPO fixture test pins it).
#include <cblas.h>
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "tinyseek.h"

/* mask of the first r (0..8) lanes, for maskload of a K tail */
static inline __m256i tail_mask(int64_t r) {
  static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(m + 8 - r));
}

static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline float finish(float acc, float alpha, float beta, const float *y) {
  return beta == 0.0f ? alpha * acc : alpha * acc + beta * *y;
}

/* ---- rows: y = W x ---- */

typedef struct {
  int64_t N, K, ldw, incy;
  float alpha, beta;
  const float *W, *x;
  float *y;
} rows_job;

/* one output: the same order as the 4-row loop below */
static float dot1(const float *w, const float *x, int64_t K, __m256i tm) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), _mm256_loadu_ps(x + k), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k + 8), _mm256_loadu_ps(x + k + 8), a1);
  }
  if (k + 8 <= K) { a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), _mm256_loadu_ps(x + k), a0); k += 8; }
  if (k < K) a1 = _mm256_fmadd_ps(_mm256_maskload_ps(w + k, tm), _mm256_maskload_ps(x + k, tm), a1);
  return hsum(_mm256_add_ps(a0, a1));
}

static void rows_range(void *p, int64_t b0, int64_t b1) {
  const rows_job *j = p;
  const int64_t K = j->K, ldw = j->ldw;
  const float *x = j->x;
  const __m256i tm = tail_mask(K & 7);
  int64_t n = b0 * 4;
  const int64_t end = b1 * 4 < j->N ? b1 * 4 : j->N;
  for (; n + 4 <= end; n += 4) {
    const float *w0 = j->W + n * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
      const __m256 xa = _mm256_loadu_ps(x + k), xb = _mm256_loadu_ps(x + k + 8);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k), xa, a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k), xa, a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k), xa, a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k), xa, a3);
      c0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k + 8), xb, c0);
      c1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k + 8), xb, c1);
      c2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k + 8), xb, c2);
      c3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k + 8), xb, c3);
    }
    if (k + 8 <= K) {
      const __m256 xa = _mm256_loadu_ps(x + k);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k), xa, a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k), xa, a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k), xa, a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k), xa, a3);
      k += 8;
    }
    if (k < K) {
      const __m256 xb = _mm256_maskload_ps(x + k, tm);
      c0 = _mm256_fmadd_ps(_mm256_maskload_ps(w0 + k, tm), xb, c0);
      c1 = _mm256_fmadd_ps(_mm256_maskload_ps(w1 + k, tm), xb, c1);
      c2 = _mm256_fmadd_ps(_mm256_maskload_ps(w2 + k, tm), xb, c2);
      c3 = _mm256_fmadd_ps(_mm256_maskload_ps(w3 + k, tm), xb, c3);
    }
    const float s[4] = {hsum(_mm256_add_ps(a0, c0)), hsum(_mm256_add_ps(a1, c1)), hsum(_mm256_add_ps(a2, c2)),
                        hsum(_mm256_add_ps(a3, c3))};
    for (int i = 0; i < 4; i++) {
      float *y = j->y + (n + i) * j->incy;
      *y = finish(s[i], j->alpha, j->beta, y);
    }
  }
  for (; n < end; n++) {
    float *y = j->y + n * j->incy;
    *y = finish(dot1(j->W + n * ldw, x, K, tm), j->alpha, j->beta, y);
  }
}

/* ---- cols: y = x B ---- */

typedef struct {
  int64_t K, N, ldb;
  float alpha, beta;
  const float *B, *x;
  float *y;
} cols_job;

static inline __m256 finish8(__m256 acc, float alpha, float beta, const float *y, __m256i m, int masked) {
  __m256 r = _mm256_mul_ps(_mm256_set1_ps(alpha), acc);
  if (beta != 0.0f) r = _mm256_fmadd_ps(_mm256_set1_ps(beta), masked ? _mm256_maskload_ps(y, m) : _mm256_loadu_ps(y), r);
  return r;
}

/* columns [c0, c1), 32 at a time, then 8, then a masked tail */
static void cols_range(void *p, int64_t b0, int64_t b1) {
  const cols_job *j = p;
  const int64_t K = j->K, ldb = j->ldb;
  const float *x = j->x;
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t c = b0 * 32;
  const int64_t end = b1 * 32 < j->N ? b1 * 32 : j->N;
  for (; c + 32 <= end; c += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const float *b = j->B + c;
    for (int64_t k = 0; k < K; k++, b += ldb) {
      const __m256 xk = _mm256_set1_ps(x[k]);
      a0 = _mm256_fmadd_ps(xk, _mm256_loadu_ps(b), a0);
      a1 = _mm256_fmadd_ps(xk, _mm256_loadu_ps(b + 8), a1);
      a2 = _mm256_fmadd_ps(xk, _mm256_loadu_ps(b + 16), a2);
      a3 = _mm256_fmadd_ps(xk, _mm256_loadu_ps(b + 24), a3);
    }
    float *y = j->y + c;
    _mm256_storeu_ps(y, finish8(a0, j->alpha, j->beta, y, all, 0));
    _mm256_storeu_ps(y + 8, finish8(a1, j->alpha, j->beta, y + 8, all, 0));
    _mm256_storeu_ps(y + 16, finish8(a2, j->alpha, j->beta, y + 16, all, 0));
    _mm256_storeu_ps(y + 24, finish8(a3, j->alpha, j->beta, y + 24, all, 0));
  }
  for (; c < end; c += 8) {
    const int64_t r = end - c < 8 ? end - c : 8;
    const __m256i m = tail_mask(r);
    __m256 a = _mm256_setzero_ps();
    const float *b = j->B + c;
    for (int64_t k = 0; k < K; k++, b += ldb) a = _mm256_fmadd_ps(_mm256_set1_ps(x[k]), _mm256_maskload_ps(b, m), a);
    float *y = j->y + c;
    _mm256_maskstore_ps(y, m, finish8(a, j->alpha, j->beta, y, m, 1));
  }
}

/* ---- entry points ---- */

static int g_blas = -1;

int ts_gemv_enabled(void) {
  if (g_blas < 0) {
    const char *s = getenv("TINYSEEK_GEMV");
    g_blas = s && strcmp(s, "blas") == 0;
  }
  return !g_blas;
}

void ts_gemv_rows(int64_t N, int64_t K, float alpha, const float *W, int64_t ldw, const float *x, float beta, float *y,
                  int64_t incy) {
  rows_job j = {N, K, ldw, incy, alpha, beta, W, x, y};
  /* blocks of 4 rows, each about 4·K multiply-adds */
  ts_parallel_auto((N + 3) / 4, 4.0 * (double)K, rows_range, &j);
}

void ts_gemv_cols(int64_t K, int64_t N, float alpha, const float *B, int64_t ldb, const float *x, float beta, float *y) {
  cols_job j = {K, N, ldb, alpha, beta, B, x, y};
  /* blocks of 32 columns, each about 32·K multiply-adds */
  ts_parallel_auto((N + 31) / 32, 32.0 * (double)K, cols_range, &j);
}
