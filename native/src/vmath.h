// Vector math on AVX2/FMA (x86-64-v3): exp and the functions built on it.
// exp: Cephes-style range reduction + degree-6 polynomial, about 1 ulp; exp(-inf) = 0 exactly,
// exp(x > 88.72) = +inf, subnormal results are produced, NaN propagates.
#ifndef TINYSEEK_VMATH_H
#define TINYSEEK_VMATH_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline __m256 v_exp(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.7228393f), lo = _mm256_set1_ps(-103.9f);
  const __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
  const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  /* min/max return the second operand when one is NaN: keep x second so NaN survives */
  __m256 xc = _mm256_max_ps(lo, _mm256_min_ps(hi, x));
  __m256 fx = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500E-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
  __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  /* 2^n as 2^(n/2) * 2^(n - n/2): both factors stay normal, so results near FLT_MAX and
     subnormal results come out right */
  __m256i n = _mm256_cvtps_epi32(fx);
  __m256i n1 = _mm256_srai_epi32(n, 1);
  __m256i n2 = _mm256_sub_epi32(n, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), over);
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), under);
  return y;
}

/** 1 / (1 + exp(-x)), accurate in relative terms for all x. */
static inline __m256 v_sigmoid(__m256 x) {
  __m256 e = v_exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

static inline float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

static inline double hsum_pd(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

static inline float hmax_ps(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

/** Loads the first n (< 8) floats of p, padding with `fill`. */
static inline __m256 v_load_partial(const float *p, int n, float fill) {
  float t[8];
  for (int i = 0; i < 8; i++) t[i] = i < n ? p[i] : fill;
  return _mm256_loadu_ps(t);
}

/** Stores the first n (< 8) lanes of v to p. */
static inline void v_store_partial(float *p, int n, __m256 v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  memcpy(p, t, sizeof(float) * (size_t)n);
}

/** Adds the 8 lanes of v, widened to double, into two double accumulators. */
static inline void v_acc_pd(__m256d *a0, __m256d *a1, __m256 v) {
  *a0 = _mm256_add_pd(*a0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  *a1 = _mm256_add_pd(*a1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

/** Σ x[0..n) accumulated in double. */
static inline double sum_f(const float *x, int64_t n) {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd(), a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    v_acc_pd(&a0, &a1, _mm256_loadu_ps(x + j));
    v_acc_pd(&a2, &a3, _mm256_loadu_ps(x + j + 8));
  }
  double s = hsum_pd(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
  for (; j < n; j++) s += x[j];
  return s;
}

static inline float v_row_max(const float *x, int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
  float r = hmax_ps(m);
  for (; j < n; j++) if (x[j] > r) r = x[j];
  return r;
}

/* y[j] = exp(x[j] - m) (y may be NULL: sum only); returns Σ in double */
static inline double v_row_exp(float *y, const float *x, int64_t n, float m) {
  const __m256 vm = _mm256_set1_ps(m);
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 e = v_exp(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm));
    if (y) _mm256_storeu_ps(y + j, e);
    v_acc_pd(&a0, &a1, e);
  }
  if (j < n) {
    int r = (int)(n - j);
    __m256 e = v_exp(_mm256_sub_ps(v_load_partial(x + j, r, -INFINITY), vm));
    if (y) v_store_partial(y + j, r, e);
    v_acc_pd(&a0, &a1, e);
  }
  return hsum_pd(_mm256_add_pd(a0, a1));
}

/* Σ a[j] b[j] with products in float, sum in double */
static inline double v_dot_row(const float *a, const float *b, int64_t n) {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) v_acc_pd(&a0, &a1, _mm256_mul_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j)));
  double s = hsum_pd(_mm256_add_pd(a0, a1));
  for (; j < n; j++) s += (double)a[j] * (double)b[j];
  return s;
}

#endif
