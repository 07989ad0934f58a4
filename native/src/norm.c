// RMSNorm forward and backward (fused). Rows are split over the pool; the weight gradient is
// accumulated per chunk of rows and the chunks are added in order, so results do not depend on timing.
#include <math.h>
#include <stdlib.h>

#include "tinyseek.h"
#include "vmath.h"

typedef struct {
  int64_t dim, grain, rows;
  float eps;
  float *y, *rstd, *dx, *dw;
  const float *x, *w, *dy, *rs;
} rms_job;

static void rms_range(void *p, int64_t r0, int64_t r1) {
  const rms_job *j = p;
  const int64_t d = j->dim;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * d;
    float *y = j->y + r * d;
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= d; i += 8) {
      __m256 v = _mm256_loadu_ps(x + i);
      v_acc_pd(&a0, &a1, _mm256_mul_ps(v, v));
    }
    double ss = hsum_pd(_mm256_add_pd(a0, a1));
    for (; i < d; i++) ss += (double)x[i] * (double)x[i];
    const double rsd = 1.0 / sqrt(ss / (double)d + (double)j->eps);
    const float rs = (float)rsd;
    j->rstd[r] = rs;
    for (i = 0; i < d; i++) y[i] = x[i] * rs * j->w[i];
  }
}

void ts_rms_norm(int64_t rows, int64_t dim, float *y, float *rstd, const float *x, const float *w, float eps) {
  rms_job j = {dim, 0, rows, eps, y, rstd, NULL, NULL, x, w, NULL, NULL};
  if (dim == 0) { /* mean of nothing: rstd = 1/sqrt(NaN) as in the reference */
    for (int64_t r = 0; r < rows; r++) rstd[r] = NAN;
    return;
  }
  ts_parallel_auto(rows, (double)dim * 2, rms_range, &j);
}

/* rows [r0, r1) accumulating Σ dy ⊙ x̂ into dwacc */
static void rms_bw_rows(const rms_job *j, int64_t r0, int64_t r1, float *dwacc) {
  const int64_t d = j->dim;
  const float *w = j->w;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * d, *dy = j->dy + r * d;
    float *dx = j->dx + r * d;
    const float rs = j->rs[r];
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= d; i += 8)
      v_acc_pd(&a0, &a1, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_loadu_ps(w + i)),
                                       _mm256_loadu_ps(x + i)));
    double dot = hsum_pd(_mm256_add_pd(a0, a1));
    for (; i < d; i++) dot += (double)(dy[i] * w[i] * x[i]);
    const float mean = (float)(dot * (double)rs / (double)d);
    for (i = 0; i < d; i++) {
      const float xh = x[i] * rs;
      dx[i] = rs * (dy[i] * w[i] - xh * mean);
      dwacc[i] += dy[i] * xh;
    }
  }
}

static void rms_bw_range(void *p, int64_t c0, int64_t c1) {
  const rms_job *j = p;
  /* the pool hands out whole chunks (grain 1): chunk c covers rows [c*grain, (c+1)*grain) */
  for (int64_t c = c0; c < c1; c++) {
    float *acc = j->dw + c * j->dim; /* j->dw is the per-chunk partial buffer here */
    for (int64_t i = 0; i < j->dim; i++) acc[i] = 0.0f;
    int64_t r1 = (c + 1) * j->grain;
    rms_bw_rows(j, c * j->grain, r1 < j->rows ? r1 : j->rows, acc);
  }
}

void ts_rms_norm_backward(int64_t rows, int64_t dim, float *dx, float *dw, const float *dy, const float *x,
                          const float *w, const float *rstd) {
  if (rows <= 0 || dim <= 0) return;
  rms_job j = {dim, 0, rows, 0.0f, NULL, NULL, dx, dw, x, w, dy, rstd};
  const int nt = ts_num_threads();
  int64_t chunks = (double)rows * (double)dim * 3 < 32768.0 || nt <= 1 ? 1 : (int64_t)nt * 2;
  if (chunks > rows) chunks = rows;
  float *part = chunks > 1 ? malloc(sizeof(float) * (size_t)(chunks * dim)) : NULL;
  if (!part) { /* serial: accumulate straight into dw, row by row as the reference does */
    rms_bw_rows(&j, 0, rows, dw);
    return;
  }
  j.grain = (rows + chunks - 1) / chunks;
  chunks = (rows + j.grain - 1) / j.grain;
  j.dw = part;
  ts_parallel_for(chunks, 1, rms_bw_range, &j);
  for (int64_t c = 0; c < chunks; c++) {
    const float *pc = part + c * dim;
    for (int64_t i = 0; i < dim; i++) dw[i] += pc[i];
  }
  free(part);
}
