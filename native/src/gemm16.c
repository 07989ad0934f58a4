// y[M, N] = x[M, K] · Wᵀ with x float32 and W [N, K] stored 16-bit (BF16 or IEEE F16), widened to
// float32 on the fly — the linear layer of a model whose weights stay 16-bit in memory.
//
// Paths, chosen at run time (ts_gemm16_path):
//   avx2   — AVX2 + FMA + F16C: BF16 widened by zero-extending u16 → u32 and shifting left 16
//            (_mm256_cvtepu16_epi32 + _mm256_slli_epi32), F16 by _mm256_cvtph_ps.
//   scalar — plain C, one element at a time (TINYSEEK_GEMM16=scalar forces it; also used when the CPU
//            lacks any of AVX2/FMA/F16C).
// Shapes (block16, per weight and block of W rows):
//   m == 1 (decode): GEMV, W streamed once, 4 output rows at a time with 8-wide FMA accumulators.
//   2 ≤ m ≤ SMALL_M (a few rows per expert): tiles of up to 4 x rows × 3 W rows in registers, W widened
//     in registers and reused across the tile's rows (gemm_small_avx2); no scratch, no packing.
//   larger m (prefill): a panel of W rows [nb, K] (64 KiB widened; 256 KiB from 256 rows on) widened
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

/* ---- grouped: several weights over row blocks of one x, into column blocks of one y ---- */

/*
 * y[r0 .. r0+m, c0 .. c0+n) = x[r0 .. r0+m, :K] · W[n0 .. n1)ᵀ for one weight [N, K], rows of x and y
 * with leading dimensions ldx and ldy: m == 1 → GEMV; m ≤ SMALL_M (AVX2) → register tiles; else the
 * W rows widened into `panel` (at least (n1 − n0)·K floats) and one sgemm, so each weight element is
 * widened once for all m rows. Without a panel (no scratch), the GEMV/tile kernels row by row.
 */
/* batch rows up to which the register-tiled kernel beats widening a panel for sgemm (measured on
   AVX2 Zen: ~3× faster at 2 rows, even at 8–16, sgemm ahead from ~16) */
#define SMALL_M 8

static void block16(const float *x, int64_t ldx, int64_t m, const uint16_t *W, int64_t K, int f16, int avx2,
                    float *y, int64_t ldy, int64_t n0, int64_t n1, float *panel) {
  const int64_t rows = n1 - n0;
  if (avx2 && m > 1 && (m <= SMALL_M || !panel)) {
    gemm_small_avx2(x, ldx, m, W, K, f16, y, ldy, n0, n1);
    return;
  }
  if (m == 1 || !panel) {
    for (int64_t i = 0; i < m; i++) {
      if (avx2) gemv_avx2(x + i * ldx, W, K, f16, y + i * ldy, n0, n1);
      else for (int64_t n = n0; n < n1; n++) y[i * ldy + n] = dot_scalar(x + i * ldx, W + n * K, K, f16);
    }
    return;
  }
  if (avx2) {
    widen_avx2(W + n0 * K, rows * K, f16, panel);
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
  int f16, avx2;
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
      block16(x, K, d[1], j->Ws[d[4]], K, j->f16, j->avx2, y, j->ldy, n0, n0 + nb < tk[2] ? n0 + nb : tk[2], panel);
  }
  free(panel);
}

int ts_gemm16_grouped(int64_t groups, const int32_t *desc, int64_t K, int64_t ldy, const float *x,
                      const uint16_t *const *Ws, int f16, float *y) {
  const int nt = ts_num_threads();
  const int avx2 = ts_gemm16_path();
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
    if (d[1] > 1 && !(avx2 && d[1] <= SMALL_M) && panel_rows(d[1], K) > panelRows) panelRows = panel_rows(d[1], K);
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
  grouped16_job j = {K, ldy, x, Ws, desc, y, f16, avx2, task, panelRows};
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
  const int avx2 = ts_gemm16_path();
  for (int64_t m = 0; m < M; m++) block16(x + m * K, K, 1, W, K, f16, avx2, y + m * N, N, 0, N, NULL);
}
