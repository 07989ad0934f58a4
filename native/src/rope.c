// Rotary embedding on adjacent pairs (DeepSeek / LLAMA_ROPE_TYPE_NORM), in place or out of place.
#include "tinyseek.h"

typedef struct {
  int64_t heads, dim;
  float sgn;
  float *out;
  const float *x, *cos_t, *sin_t;
  const int32_t *pos;
} rope_job;

static void rope_range(void *p, int64_t r0, int64_t r1) {
  const rope_job *j = p;
  const int64_t half = j->dim >> 1;
  for (int64_t r = r0; r < r1; r++) {
    const float *c = j->cos_t + (int64_t)j->pos[r] * half, *s = j->sin_t + (int64_t)j->pos[r] * half;
    for (int64_t h = 0; h < j->heads; h++) {
      const int64_t o = (r * j->heads + h) * j->dim;
      const float *x = j->x + o;
      float *y = j->out + o;
      for (int64_t i = 0; i < half; i++) {
        const float ci = c[i], si = j->sgn * s[i];
        const float a = x[2 * i], b = x[2 * i + 1];
        y[2 * i] = a * ci - b * si;
        y[2 * i + 1] = a * si + b * ci;
      }
    }
  }
}

int64_t ts_rope(int64_t rows, int64_t heads, int64_t dim, float *out, const float *x, const int32_t *pos,
                const float *cos_t, const float *sin_t, int64_t tableLen, int inverse) {
  const int64_t half = dim >> 1;
  if (half > 0 && heads > 0)
    for (int64_t r = 0; r < rows; r++)
      if (pos[r] < 0 || ((int64_t)pos[r] + 1) * half > tableLen) return r;
  if (half == 0 || heads == 0) return -1;
  rope_job j = {heads, dim, inverse ? -1.0f : 1.0f, out, x, cos_t, sin_t, pos};
  ts_parallel_auto(rows, (double)(heads * dim) * 2, rope_range, &j);
  return -1;
}
