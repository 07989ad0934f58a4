// Reductions: sum / max over the middle axis of [outer, n, inner], and Σx² (float64) for clipping.
// Sums accumulate in double, as the reference does.
#include <math.h>

#include "tinyseek.h"
#include "vmath.h"

#define COLS 256 /* column block for inner > 1 */

typedef struct {
  int op;
  int64_t n, inner, nblk;
  float *out;
  const float *x;
  int32_t *argmax;
} red_job;

static void red_range(void *p, int64_t begin, int64_t end) {
  const red_job *j = p;
  const int64_t n = j->n, inner = j->inner;
  if (inner == 1) {
    for (int64_t o = begin; o < end; o++) {
      const float *x = j->x + o * n;
      if (j->op == 0) {
        j->out[o] = (float)sum_f(x, n);
      } else {
        float best = x[0];
        int64_t bi = 0;
        for (int64_t t = 1; t < n; t++)
          if (x[t] > best) { best = x[t]; bi = t; }
        j->out[o] = best;
        if (j->argmax) j->argmax[o] = (int32_t)bi;
      }
    }
    return;
  }
  for (int64_t it = begin; it < end; it++) {
    const int64_t o = it / j->nblk, c0 = (it % j->nblk) * COLS;
    const int64_t w = inner - c0 < COLS ? inner - c0 : COLS;
    const float *x = j->x + o * n * inner + c0;
    float *out = j->out + o * inner + c0;
    if (j->op == 0) {
      double acc[COLS];
      for (int64_t i = 0; i < w; i++) acc[i] = 0.0;
      for (int64_t t = 0; t < n; t++) {
        const float *xr = x + t * inner;
        for (int64_t i = 0; i < w; i++) acc[i] += xr[i];
      }
      for (int64_t i = 0; i < w; i++) out[i] = (float)acc[i];
    } else {
      int32_t bi[COLS];
      for (int64_t i = 0; i < w; i++) { out[i] = x[i]; bi[i] = 0; }
      for (int64_t t = 1; t < n; t++) {
        const float *xr = x + t * inner;
        for (int64_t i = 0; i < w; i++)
          if (xr[i] > out[i]) { out[i] = xr[i]; bi[i] = (int32_t)t; }
      }
      if (j->argmax)
        for (int64_t i = 0; i < w; i++) j->argmax[o * inner + c0 + i] = bi[i];
    }
  }
}

void ts_reduce(int op, int64_t outer, int64_t n, int64_t inner, float *out, const float *x, int32_t *argmax) {
  if (outer <= 0 || inner <= 0) return;
  if (n == 0) {
    /* empty reduction: sum = 0; max = -inf with argmax 0 (the reference would read out of range) */
    for (int64_t i = 0; i < outer * inner; i++) {
      out[i] = op == 0 ? 0.0f : -INFINITY;
      if (op != 0 && argmax) argmax[i] = 0;
    }
    return;
  }
  red_job j = {op, n, inner, (inner + COLS - 1) / COLS, out, x, argmax};
  int64_t items = inner == 1 ? outer : outer * j.nblk;
  double per = (double)n * (double)inner / (double)(inner == 1 ? 1 : items / outer);
  ts_parallel_auto(items, per, red_range, &j);
}

/* ---------------- Σ x² ---------------- */

#define SS_CHUNKS 64

typedef struct {
  const float *x;
  int64_t n, grain;
  double part[SS_CHUNKS];
} ss_job;

static void ss_range(void *p, int64_t begin, int64_t end) {
  ss_job *j = p;
  for (int64_t c = begin; c < end; c++) {
    int64_t b = c * j->grain, e = b + j->grain < j->n ? b + j->grain : j->n;
    const float *x = j->x;
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int64_t i = b;
    for (; i + 8 <= e; i += 8) {
      __m256 v = _mm256_loadu_ps(x + i);
      __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
      a0 = _mm256_fmadd_pd(lo, lo, a0);
      a1 = _mm256_fmadd_pd(hi, hi, a1);
    }
    double s = hsum_pd(_mm256_add_pd(a0, a1));
    for (; i < e; i++) s += (double)x[i] * (double)x[i];
    j->part[c] = s;
  }
}

double ts_sum_squares(int64_t n, const float *x) {
  if (n <= 0) return 0.0;
  ss_job j;
  j.x = x;
  j.n = n;
  int64_t chunks = n < 65536 ? 1 : SS_CHUNKS;
  j.grain = (n + chunks - 1) / chunks;
  chunks = (n + j.grain - 1) / j.grain;
  ts_parallel_for(chunks, 1, ss_range, &j);
  double s = 0.0;
  for (int64_t c = 0; c < chunks; c++) s += j.part[c];
  return s;
}
