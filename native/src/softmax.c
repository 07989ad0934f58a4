// Row softmax / log-softmax (forward, backward) and cross-entropy fused with log-softmax.
// One pass for the max, one for exp and its sum (in double), one to scale; rows split over the pool.
#include <math.h>

#include "tinyseek.h"
#include "vmath.h"

typedef struct {
  int64_t cols, ignore;
  float *y;              /* y / dx / nll */
  float *lse;
  const float *x, *a, *b; /* inputs: x, (y, dy) or (lse, dnll) */
  const int32_t *t;
} sm_job;

static void scale_row(float *y, int64_t n, float s) {
  for (int64_t j = 0; j < n; j++) y[j] *= s;
}

static void softmax_range(void *p, int64_t r0, int64_t r1) {
  const sm_job *jb = p;
  const int64_t n = jb->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = jb->x + r * n;
    float *y = jb->y + r * n;
    float m = v_row_max(x, n);
    if (m == -INFINITY) { for (int64_t j = 0; j < n; j++) y[j] = 0.0f; continue; }
    double s = v_row_exp(y, x, n, m);
    scale_row(y, n, (float)(1.0 / s));
  }
}

void ts_softmax(int64_t rows, int64_t cols, float *y, const float *x) {
  if (cols <= 0) return;
  sm_job j = {cols, 0, y, NULL, x, NULL, NULL, NULL};
  ts_parallel_auto(rows, (double)cols * 4, softmax_range, &j);
}

static void softmax_bw_range(void *p, int64_t r0, int64_t r1) {
  const sm_job *jb = p;
  const int64_t n = jb->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *y = jb->a + r * n, *dy = jb->b + r * n;
    float *dx = jb->y + r * n;
    const float dot = (float)v_dot_row(dy, y, n);
    for (int64_t j = 0; j < n; j++) dx[j] = y[j] * (dy[j] - dot);
  }
}

void ts_softmax_backward(int64_t rows, int64_t cols, float *dx, const float *y, const float *dy) {
  if (cols <= 0) return;
  sm_job j = {cols, 0, dx, NULL, NULL, y, dy, NULL};
  ts_parallel_auto(rows, (double)cols * 2, softmax_bw_range, &j);
}

static void logsoftmax_range(void *p, int64_t r0, int64_t r1) {
  const sm_job *jb = p;
  const int64_t n = jb->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = jb->x + r * n;
    float *y = jb->y + r * n;
    float m = v_row_max(x, n);
    double s = v_row_exp(NULL, x, n, m);
    const float lse = (float)((double)m + log(s));
    for (int64_t j = 0; j < n; j++) y[j] = x[j] - lse;
  }
}

void ts_log_softmax(int64_t rows, int64_t cols, float *y, const float *x) {
  if (cols <= 0) return;
  sm_job j = {cols, 0, y, NULL, x, NULL, NULL, NULL};
  ts_parallel_auto(rows, (double)cols * 4, logsoftmax_range, &j);
}

static void logsoftmax_bw_range(void *p, int64_t r0, int64_t r1) {
  const sm_job *jb = p;
  const int64_t n = jb->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *y = jb->a + r * n, *dy = jb->b + r * n;
    float *dx = jb->y + r * n;
    const __m256 vs = _mm256_set1_ps((float)sum_f(dy, n));
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
      _mm256_storeu_ps(dx + j, _mm256_fnmadd_ps(v_exp(_mm256_loadu_ps(y + j)), vs, _mm256_loadu_ps(dy + j)));
    if (j < n) {
      int rr = (int)(n - j);
      v_store_partial(dx + j, rr, _mm256_fnmadd_ps(v_exp(v_load_partial(y + j, rr, 0.0f)), vs,
                                                  v_load_partial(dy + j, rr, 0.0f)));
    }
  }
}

void ts_log_softmax_backward(int64_t rows, int64_t cols, float *dx, const float *y, const float *dy) {
  if (cols <= 0) return;
  sm_job j = {cols, 0, dx, NULL, NULL, y, dy, NULL};
  ts_parallel_auto(rows, (double)cols * 4, logsoftmax_bw_range, &j);
}

/* ---------------- cross-entropy ---------------- */

static void ce_range(void *p, int64_t r0, int64_t r1) {
  const sm_job *jb = p;
  const int64_t n = jb->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = jb->x + r * n;
    float m = v_row_max(x, n);
    double s = v_row_exp(NULL, x, n, m);
    double l = (double)m + log(s);
    jb->lse[r] = (float)l;
    const int64_t t = jb->t[r];
    jb->y[r] = t == jb->ignore ? 0.0f : (float)(l - (double)x[t]);
  }
}

/* Returns the first row whose target is neither ignoreIndex nor in [0, cols), or -1. */
static int64_t check_targets(int64_t rows, int64_t cols, const int32_t *t, int64_t ignore) {
  for (int64_t r = 0; r < rows; r++)
    if (t[r] != ignore && (t[r] < 0 || t[r] >= cols)) return r;
  return -1;
}

int64_t ts_cross_entropy(int64_t rows, int64_t cols, float *nll, float *lse, const float *x, const int32_t *targets,
                         int64_t ignoreIndex) {
  int64_t bad = check_targets(rows, cols, targets, ignoreIndex);
  if (bad >= 0) return bad;
  if (cols <= 0) { /* every target is ignored: lse = log(0) */
    for (int64_t r = 0; r < rows; r++) { lse[r] = -INFINITY; nll[r] = 0.0f; }
    return -1;
  }
  sm_job j = {cols, ignoreIndex, nll, lse, x, NULL, NULL, targets};
  ts_parallel_auto(rows, (double)cols * 3, ce_range, &j);
  return -1;
}

static void ce_bw_range(void *p, int64_t r0, int64_t r1) {
  const sm_job *jb = p;
  const int64_t n = jb->cols;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = jb->x + r * n;
    float *dx = jb->y + r * n;
    const int64_t t = jb->t[r];
    if (t == jb->ignore) { for (int64_t j = 0; j < n; j++) dx[j] = 0.0f; continue; }
    const __m256 g = _mm256_set1_ps(jb->b[r]), l = _mm256_set1_ps(jb->a[r]);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
      _mm256_storeu_ps(dx + j, _mm256_mul_ps(g, v_exp(_mm256_sub_ps(_mm256_loadu_ps(x + j), l))));
    if (j < n) {
      int rr = (int)(n - j);
      v_store_partial(dx + j, rr, _mm256_mul_ps(g, v_exp(_mm256_sub_ps(v_load_partial(x + j, rr, 0.0f), l))));
    }
    dx[t] -= jb->b[r];
  }
}

int64_t ts_cross_entropy_backward(int64_t rows, int64_t cols, float *dx, const float *x, const float *lse,
                                  const int32_t *targets, const float *dnll, int64_t ignoreIndex) {
  int64_t bad = check_targets(rows, cols, targets, ignoreIndex);
  if (bad >= 0) return bad;
  if (cols <= 0) return -1;
  sm_job j = {cols, ignoreIndex, dx, NULL, x, lse, dnll, targets};
  ts_parallel_auto(rows, (double)cols * 3, ce_bw_range, &j);
  return -1;
}
