// Elementwise kernels: binary (broadcast by strides), unary and its backward, clamp, where.
// The transcendental functions use the AVX2 exp of vmath.h; the rest are plain loops the
// compiler vectorizes. Large arrays are split over the pool.
#include <math.h>
#include <string.h>

#include "tinyseek.h"
#include "vmath.h"

enum { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN };
enum {
  U_NEG, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SIGMOID, U_SILU, U_GELU, U_RELU, U_TANH, U_ABS, U_SQUARE,
  U_POWS, U_MULS, U_ADDS
};

/* ---------------- binary ---------------- */

#define BIN_LOOP(EXPR)                                                                   \
  do {                                                                                   \
    if (sa == 1 && sb == 1)                                                              \
      for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); }       \
    else if (sa == 1 && sb == 0) {                                                       \
      const float y = b[0];                                                              \
      for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); }                \
    } else if (sa == 0 && sb == 1) {                                                     \
      const float x = a[0];                                                              \
      for (int64_t i = 0; i < n; i++) { float y = b[i]; o[i] = (EXPR); }                \
    } else                                                                               \
      for (int64_t i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; o[i] = (EXPR); } \
  } while (0)

static void bin_inner(int op, int64_t n, float *o, const float *a, int64_t sa, const float *b, int64_t sb) {
  switch (op) {
    case B_ADD: BIN_LOOP(x + y); break;
    case B_SUB: BIN_LOOP(x - y); break;
    case B_MUL: BIN_LOOP(x * y); break;
    case B_DIV: BIN_LOOP(x / y); break;
    case B_POW: BIN_LOOP(powf(x, y)); break;
    case B_MAX: BIN_LOOP(x >= y ? x : y); break;
    case B_MIN: BIN_LOOP(x <= y ? x : y); break;
  }
}

typedef struct {
  int op, nd;
  int64_t shape[TS_MAX_NDIM], sa[TS_MAX_NDIM], sb[TS_MAX_NDIM];
  float *out;
  const float *a, *b;
} bin_job;

static void bin_range(void *p, int64_t begin, int64_t end) {
  const bin_job *j = p;
  const int nd = j->nd;
  const int64_t L = j->shape[nd - 1];
  int64_t idx[TS_MAX_NDIM], ia = 0, ib = 0, rem = begin;
  for (int d = nd - 1; d >= 0; d--) {
    idx[d] = rem % j->shape[d];
    rem /= j->shape[d];
    ia += idx[d] * j->sa[d];
    ib += idx[d] * j->sb[d];
  }
  int64_t i = begin;
  while (i < end) {
    int64_t len = L - idx[nd - 1];
    if (len > end - i) len = end - i;
    bin_inner(j->op, len, j->out + i, j->a + ia, j->sa[nd - 1], j->b + ib, j->sb[nd - 1]);
    i += len;
    ia += len * j->sa[nd - 1];
    ib += len * j->sb[nd - 1];
    idx[nd - 1] += len;
    for (int d = nd - 1; d > 0 && idx[d] == j->shape[d]; d--) {
      ia -= j->shape[d] * j->sa[d];
      ib -= j->shape[d] * j->sb[d];
      idx[d] = 0;
      idx[d - 1]++;
      ia += j->sa[d - 1];
      ib += j->sb[d - 1];
    }
  }
}

void ts_binary(int op, int ndim, const int64_t *shape, float *out, const float *a, const int64_t *aStrides,
               const float *b, const int64_t *bStrides) {
  bin_job j;
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) {
    j.shape[d] = shape[d];
    j.sa[d] = aStrides[d];
    j.sb[d] = bStrides[d];
    n *= shape[d];
  }
  if (n == 0) return;
  int64_t *sts[2] = {j.sa, j.sb};
  j.nd = ts_collapse(ndim, j.shape, 2, sts);
  j.op = op;
  j.out = out;
  j.a = a;
  j.b = b;
  ts_parallel_auto(n, op == B_POW ? 8.0 : 1.0, bin_range, &j);
}

/* ---------------- unary ---------------- */

typedef struct {
  int op, accumulate;
  float param;
  float *out;
  const float *x, *y, *dy;
} un_job;

static const float SQRT_2_OVER_PI = 0.7978845608028654f;

/* gelu (tanh form) = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3) */
static inline __m256 v_gelu(__m256 x) {
  __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
  __m256 u = _mm256_mul_ps(_mm256_set1_ps(SQRT_2_OVER_PI), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
  return _mm256_mul_ps(x, v_sigmoid(_mm256_add_ps(u, u)));
}

/* d gelu / dx = 0.5 (1 + t) + 0.5 x (1 - t^2) du, t = tanh(u) = 2 sigmoid(2u) - 1 */
static inline __m256 v_gelu_grad(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
  __m256 x2 = _mm256_mul_ps(x, x);
  __m256 u = _mm256_mul_ps(_mm256_set1_ps(SQRT_2_OVER_PI),
                           _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), x2), x, x));
  __m256 s = v_sigmoid(_mm256_add_ps(u, u));
  __m256 onept = _mm256_add_ps(s, s);                       /* 1 + t */
  __m256 omt2 = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(4.0f), s), _mm256_sub_ps(one, s)); /* 1 - t^2 */
  __m256 du = _mm256_mul_ps(_mm256_set1_ps(SQRT_2_OVER_PI), _mm256_fmadd_ps(_mm256_set1_ps(3 * 0.044715f), x2, one));
  return _mm256_fmadd_ps(half, onept, _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_mul_ps(omt2, du)));
}

static inline __m256 v_silu_grad(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 s = v_sigmoid(x);
  return _mm256_mul_ps(s, _mm256_fmadd_ps(x, _mm256_sub_ps(one, s), one));
}

/* Applies a vector function over [0, n): full vectors, then one padded partial vector. */
#define VEC_MAP(FN)                                                             \
  do {                                                                          \
    int64_t i = 0;                                                              \
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, FN(_mm256_loadu_ps(x + i))); \
    if (i < n) v_store_partial(o + i, (int)(n - i), FN(v_load_partial(x + i, (int)(n - i), 0.0f))); \
  } while (0)

static inline __m256 v_silu(__m256 x) { return _mm256_mul_ps(x, v_sigmoid(x)); }

static void un_range(void *p, int64_t begin, int64_t end) {
  const un_job *j = p;
  const int64_t n = end - begin;
  float *o = j->out + begin;
  const float *x = j->x + begin;
  const float c = j->param;
  switch (j->op) {
    case U_NEG: for (int64_t i = 0; i < n; i++) o[i] = -x[i]; break;
    case U_EXP: VEC_MAP(v_exp); break;
    case U_LOG: for (int64_t i = 0; i < n; i++) o[i] = logf(x[i]); break;
    case U_SQRT: for (int64_t i = 0; i < n; i++) o[i] = sqrtf(x[i]); break;
    case U_RSQRT: for (int64_t i = 0; i < n; i++) o[i] = 1.0f / sqrtf(x[i]); break;
    case U_SIGMOID: VEC_MAP(v_sigmoid); break;
    case U_SILU: VEC_MAP(v_silu); break;
    case U_GELU: VEC_MAP(v_gelu); break;
    case U_RELU: for (int64_t i = 0; i < n; i++) o[i] = x[i] > 0.0f ? x[i] : 0.0f; break;
    case U_TANH: for (int64_t i = 0; i < n; i++) o[i] = tanhf(x[i]); break;
    case U_ABS: for (int64_t i = 0; i < n; i++) o[i] = fabsf(x[i]); break;
    case U_SQUARE: for (int64_t i = 0; i < n; i++) o[i] = x[i] * x[i]; break;
    case U_POWS:
      if (c == 2.0f) for (int64_t i = 0; i < n; i++) o[i] = x[i] * x[i];
      else if (c == 1.0f) memmove(o, x, sizeof(float) * (size_t)n);
      else for (int64_t i = 0; i < n; i++) o[i] = powf(x[i], c);
      break;
    case U_MULS: for (int64_t i = 0; i < n; i++) o[i] = x[i] * c; break;
    case U_ADDS: for (int64_t i = 0; i < n; i++) o[i] = x[i] + c; break;
  }
}

static double unary_cost(int op) {
  switch (op) {
    case U_EXP: case U_SIGMOID: case U_SILU: case U_GELU: return 4.0;
    case U_LOG: case U_TANH: case U_POWS: return 16.0;
    default: return 1.0;
  }
}

void ts_unary(int op, int64_t n, float *out, const float *x, float param) {
  un_job j = {op, 0, param, out, x, NULL, NULL};
  ts_parallel_auto(n, unary_cost(op), un_range, &j);
}

/* g[i] = f'(x[i]) given x and y = f(x); then dx (+)= dy * g */
static void unb_range(void *p, int64_t begin, int64_t end) {
  const un_job *j = p;
  const int64_t n = end - begin;
  float *dx = j->out + begin;
  const float *x = j->x + begin, *y = j->y + begin, *dy = j->dy + begin;
  const float c = j->param;
  const int acc = j->accumulate;
#define GRAD_LOOP(G)                                                            \
  do {                                                                          \
    if (acc) for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (G);              \
    else for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * (G);                   \
  } while (0)
#define GRAD_VEC(FN)                                                            \
  do {                                                                          \
    int64_t i = 0;                                                              \
    for (; i + 8 <= n; i += 8) {                                                \
      __m256 g = _mm256_mul_ps(_mm256_loadu_ps(dy + i), FN(_mm256_loadu_ps(x + i))); \
      if (acc) g = _mm256_add_ps(_mm256_loadu_ps(dx + i), g);                   \
      _mm256_storeu_ps(dx + i, g);                                              \
    }                                                                           \
    if (i < n) {                                                                \
      int r = (int)(n - i);                                                     \
      __m256 g = _mm256_mul_ps(v_load_partial(dy + i, r, 0.0f), FN(v_load_partial(x + i, r, 0.0f))); \
      if (acc) g = _mm256_add_ps(v_load_partial(dx + i, r, 0.0f), g);          \
      v_store_partial(dx + i, r, g);                                            \
    }                                                                           \
  } while (0)
  switch (j->op) {
    case U_NEG: GRAD_LOOP(-1.0f); break;
    case U_EXP: GRAD_LOOP(y[i]); break;
    case U_LOG: GRAD_LOOP(1.0f / x[i]); break;
    case U_SQRT: GRAD_LOOP(0.5f / y[i]); break;
    case U_RSQRT: GRAD_LOOP(-0.5f * y[i] * y[i] * y[i]); break;
    case U_SIGMOID: GRAD_LOOP(y[i] * (1.0f - y[i])); break;
    case U_SILU: GRAD_VEC(v_silu_grad); break;
    case U_GELU: GRAD_VEC(v_gelu_grad); break;
    case U_RELU: GRAD_LOOP(x[i] > 0.0f ? 1.0f : 0.0f); break;
    case U_TANH: GRAD_LOOP(1.0f - y[i] * y[i]); break;
    case U_ABS: GRAD_LOOP(x[i] > 0.0f ? 1.0f : x[i] < 0.0f ? -1.0f : 0.0f); break;
    case U_SQUARE: GRAD_LOOP(2.0f * x[i]); break;
    case U_POWS:
      if (c == 2.0f) GRAD_LOOP(2.0f * x[i]);
      else if (c == 1.0f) GRAD_LOOP(1.0f);
      else GRAD_LOOP(c * powf(x[i], c - 1.0f));
      break;
    case U_MULS: GRAD_LOOP(c); break;
    case U_ADDS: GRAD_LOOP(1.0f); break;
  }
#undef GRAD_LOOP
#undef GRAD_VEC
}

void ts_unary_backward(int op, int64_t n, float *dx, const float *x, const float *y, const float *dy, float param,
                       int accumulate) {
  un_job j = {op, accumulate, param, dx, x, y, dy};
  ts_parallel_auto(n, unary_cost(op) * 1.5, unb_range, &j);
}

/* ---------------- clamp, where ---------------- */

typedef struct {
  float lo, hi;
  float *out;
  const float *x, *c, *a, *b;
} cw_job;

static void clamp_range(void *p, int64_t begin, int64_t end) {
  const cw_job *j = p;
  const float lo = j->lo, hi = j->hi;
  float *o = j->out;
  const float *x = j->x;
  for (int64_t i = begin; i < end; i++) {
    float v = x[i];
    o[i] = v < lo ? lo : v > hi ? hi : v;
  }
}

void ts_clamp(int64_t n, float *out, const float *x, float lo, float hi) {
  cw_job j = {lo, hi, out, x, NULL, NULL, NULL};
  ts_parallel_auto(n, 1.0, clamp_range, &j);
}

static void where_range(void *p, int64_t begin, int64_t end) {
  const cw_job *j = p;
  float *o = j->out;
  for (int64_t i = begin; i < end; i++) o[i] = j->c[i] != 0.0f ? j->a[i] : j->b[i];
}

void ts_where(int64_t n, float *out, const float *cond, const float *a, const float *b) {
  cw_job j = {0, 0, out, NULL, cond, a, b};
  ts_parallel_auto(n, 1.0, where_range, &j);
}

/* ---------------- SwiGLU, fused: h [rows, 2I] (gate half, then up half) -> y [rows, I] ---------------- */

typedef struct {
  int64_t inter;
  float *out;
  const float *h, *dy;
} sw_job;

/* y = silu(a) * b with a = h[r, :I], b = h[r, I:] */
static void sw_range(void *p, int64_t r0, int64_t r1) {
  const sw_job *j = p;
  const int64_t I = j->inter;
  for (int64_t r = r0; r < r1; r++) {
    const float *a = j->h + r * 2 * I, *b = a + I;
    float *y = j->out + r * I;
    int64_t i = 0;
    for (; i + 8 <= I; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(v_silu(_mm256_loadu_ps(a + i)), _mm256_loadu_ps(b + i)));
    for (; i < I; i++) y[i] = a[i] / (1.0f + expf(-a[i])) * b[i];
  }
}

void ts_swiglu(int64_t rows, int64_t inter, float *out, const float *h) {
  sw_job j = {inter, out, h, NULL};
  ts_parallel_auto(rows, (double)inter * 6.0, sw_range, &j);
}

/* da = dy * b * silu'(a), db = dy * silu(a), written into dh [rows, 2I] */
static void swb_range(void *p, int64_t r0, int64_t r1) {
  const sw_job *j = p;
  const int64_t I = j->inter;
  for (int64_t r = r0; r < r1; r++) {
    const float *a = j->h + r * 2 * I, *b = a + I, *dy = j->dy + r * I;
    float *da = j->out + r * 2 * I, *db = da + I;
    int64_t i = 0;
    for (; i + 8 <= I; i += 8) {
      const __m256 va = _mm256_loadu_ps(a + i), vg = _mm256_loadu_ps(dy + i);
      _mm256_storeu_ps(da + i, _mm256_mul_ps(_mm256_mul_ps(vg, _mm256_loadu_ps(b + i)), v_silu_grad(va)));
      _mm256_storeu_ps(db + i, _mm256_mul_ps(vg, v_silu(va)));
    }
    for (; i < I; i++) {
      const float s = 1.0f / (1.0f + expf(-a[i]));
      da[i] = dy[i] * b[i] * s * (1.0f + a[i] * (1.0f - s));
      db[i] = dy[i] * a[i] * s;
    }
  }
}

void ts_swiglu_backward(int64_t rows, int64_t inter, float *dh, const float *h, const float *dy) {
  sw_job j = {inter, dh, h, dy};
  ts_parallel_auto(rows, (double)inter * 10.0, swb_range, &j);
}
