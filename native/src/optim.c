// Optimizer kernels: axpy and the fused AdamW step (computed in double, as the reference does).
#include <math.h>

#include "tinyseek.h"

typedef struct {
  float alpha;
  const float *x;
  float *y;
} axpy_job;

static void axpy_range(void *p, int64_t b, int64_t e) {
  const axpy_job *j = p;
  const float a = j->alpha;
  for (int64_t i = b; i < e; i++) j->y[i] += a * j->x[i];
}

void ts_axpy(int64_t n, float alpha, const float *x, float *y) {
  axpy_job j = {alpha, x, y};
  ts_parallel_auto(n, 1.0, axpy_range, &j);
}

typedef struct {
  float *p, *m, *v;
  const float *g;
  double lr, b1, b2, eps, decay, bc1, bc2;
} adam_job;

static void adam_range(void *pp, int64_t b, int64_t e) {
  const adam_job *j = pp;
  const double b1 = j->b1, b2 = j->b2, c1 = 1.0 - b1, c2 = 1.0 - b2;
  const double lr_bc1 = j->lr / j->bc1, inv_bc2 = 1.0 / j->bc2, eps = j->eps, decay = j->decay;
  for (int64_t i = b; i < e; i++) {
    const double gi = j->g[i];
    const double mi = b1 * j->m[i] + c1 * gi;
    const double vi = b2 * j->v[i] + c2 * gi * gi;
    j->m[i] = (float)mi;
    j->v[i] = (float)vi;
    j->p[i] = (float)(j->p[i] * decay - lr_bc1 * mi / (sqrt(vi * inv_bc2) + eps));
  }
}

void ts_adamw(int64_t n, float *p, const float *g, float *m, float *v, double lr, double beta1, double beta2,
              double eps, double weightDecay, double step) {
  adam_job j = {p, m, v, g, lr, beta1, beta2, eps, 1.0 - lr * weightDecay, 1.0 - pow(beta1, step),
                1.0 - pow(beta2, step)};
  ts_parallel_auto(n, 4.0, adam_range, &j);
}
