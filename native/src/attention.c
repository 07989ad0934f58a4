// Fused scaled-dot-product attention, forward and backward, over cblas_sgemm.
//
// Each (batch, head) pair is a set of GEMMs that read q/k/v/out in place through leading
// dimensions (a query row has stride H*Dk; no copies). Rows are processed in blocks of BR
// queries; under a causal mask a block only touches the keys it can see, which skips about
// 40% of the work at T = 256. Pairs run in parallel on the pool with OpenBLAS single-threaded
// (whole small GEMMs per thread beat splitting each one); with fewer pairs than threads, the
// pairs run one after another and OpenBLAS threads each GEMM.
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tinyseek.h"
#include "vmath.h"

#define BR 64 /* query rows per block (32-256 measured; 64 is fastest at T = 256) */

/* n floats of p set to 0; an empty array may come as NULL (N-API's data of a 0-length typed array),
   and memset(NULL, 0, 0) is undefined behaviour */
static void zero(float *p, int64_t n) {
  if (n > 0) memset(p, 0, sizeof(float) * (size_t)n);
}

/* C = alpha op(A) op(B) + beta C, tolerating empty dimensions (BLAS rejects ld < 1). */
static void sg(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; i++) {
      float *c = C + i * ldc;
      if (beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)N);
      else for (int64_t j = 0; j < N; j++) c[j] *= beta;
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, ta, tb, (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

typedef struct {
  int64_t B, Tq, Tk, H, Hkv, Dk, Dv, mbs;
  float scale;
  int causal;
  const float *q, *k, *v, *mask, *probs, *dout;
  float *out, *P, *dq, *dk, *dv;
  float *scratch; /* backward: BR x Tk floats per pool thread */
  int nt;
} attn_job;

/* number of keys query row i may see */
static inline int64_t visible(const attn_job *j, int64_t i) {
  if (!j->causal) return j->Tk;
  int64_t lim = j->Tk - j->Tq + i + 1;
  return lim < 0 ? 0 : lim > j->Tk ? j->Tk : lim;
}

static void attn_pair(const attn_job *j, int64_t b, int64_t h) {
  const int64_t Tq = j->Tq, Tk = j->Tk, Dk = j->Dk, Dv = j->Dv;
  const int64_t hk = h / (j->H / j->Hkv);
  const int64_t ldq = j->H * Dk, ldk = j->Hkv * Dk, ldv = j->Hkv * Dv, ldo = j->H * Dv;
  const float *Q = j->q + (b * Tq * j->H + h) * Dk;
  const float *K = j->k + (b * Tk * j->Hkv + hk) * Dk;
  const float *V = j->v + (b * Tk * j->Hkv + hk) * Dv;
  float *O = j->out + (b * Tq * j->H + h) * Dv;
  float *P = j->P + (b * j->H + h) * Tq * Tk;
  const float *M = j->mask ? j->mask + b * j->mbs : NULL;
  for (int64_t i0 = 0; i0 < Tq; i0 += BR) {
    const int64_t i1 = i0 + BR < Tq ? i0 + BR : Tq, bs = i1 - i0;
    const int64_t ncol = visible(j, i1 - 1);
    sg(CblasNoTrans, CblasTrans, bs, ncol, Dk, j->scale, Q + i0 * ldq, ldq, K, ldk, 0.0f, P + i0 * Tk, Tk);
    for (int64_t i = i0; i < i1; i++) {
      float *row = P + i * Tk;
      const int64_t lim = visible(j, i);
      if (M) {
        const float *mr = M + i * Tk;
        for (int64_t t = 0; t < lim; t++) row[t] += mr[t];
      }
      const float m = v_row_max(row, lim);
      if (m == -INFINITY) {
        memset(row, 0, sizeof(float) * (size_t)Tk);
        continue;
      }
      const double s = v_row_exp(row, row, lim, m);
      const float inv = (float)(1.0 / s);
      for (int64_t t = 0; t < lim; t++) row[t] *= inv;
      if (lim < Tk) memset(row + lim, 0, sizeof(float) * (size_t)(Tk - lim));
    }
    sg(CblasNoTrans, CblasNoTrans, bs, Dv, ncol, 1.0f, P + i0 * Tk, Tk, V, ldv, 0.0f, O + i0 * ldo, ldo);
  }
}

static void attn_range(void *p, int64_t t0, int64_t t1) {
  const attn_job *j = p;
  for (int64_t t = t0; t < t1; t++) attn_pair(j, t / j->H, t % j->H);
}

void ts_attention(int64_t B, int64_t Tq, int64_t Tk, int64_t H, int64_t Hkv, int64_t Dk, int64_t Dv, float scale,
                  int causal, const float *q, const float *k, const float *v, const float *mask,
                  int64_t maskBatchStride, float *out, float *probs) {
  if (B <= 0 || H <= 0 || Tq <= 0) return;
  attn_job j = {B, Tq, Tk, H, Hkv, Dk, Dv, maskBatchStride, scale, causal, q, k, v, mask, NULL, NULL,
                out, probs, NULL, NULL, NULL, NULL};
  if (Tk == 0) { /* nothing to attend to: zeros */
    for (int64_t r = 0; r < B * Tq * H * Dv; r++) out[r] = 0.0f;
    return;
  }
  const int64_t pairs = B * H;
  const double work = (double)Tq * (double)Tk * (double)(Dk + Dv);
  if (pairs >= 2 && ts_num_threads() > 1 && work * (double)pairs > 65536.0) {
    int prev = ts_blas_single_begin();
    ts_parallel_for(pairs, 1, attn_range, &j);
    ts_blas_single_end(prev);
  } else {
    attn_range(&j, 0, pairs);
  }
}

/* ---------------- backward ---------------- */

/* last column + 1 holding a non-zero probability in rows [i0, i1) */
static int64_t used_cols(const float *P, int64_t Tk, int64_t i0, int64_t i1) {
  int64_t n = 0;
  for (int64_t i = i0; i < i1; i++) {
    const float *row = P + i * Tk;
    int64_t c = Tk;
    while (c > n && row[c - 1] == 0.0f) c--;
    if (c > n) n = c;
  }
  return n;
}

/* one (batch, kv head): the query heads that share it run in order, accumulating dK and dV */
static void attn_bw_group(const attn_job *j, int64_t b, int64_t hk, float *S) {
  const int64_t Tq = j->Tq, Tk = j->Tk, Dk = j->Dk, Dv = j->Dv, rep = j->H / j->Hkv;
  const int64_t ldq = j->H * Dk, ldk = j->Hkv * Dk, ldv = j->Hkv * Dv, ldo = j->H * Dv;
  const float *K = j->k + (b * Tk * j->Hkv + hk) * Dk;
  const float *V = j->v + (b * Tk * j->Hkv + hk) * Dv;
  float *dK = j->dk + (b * Tk * j->Hkv + hk) * Dk;
  float *dV = j->dv + (b * Tk * j->Hkv + hk) * Dv;
  for (int64_t t = 0; t < Tk; t++) {
    zero(dK + t * ldk, Dk);
    zero(dV + t * ldv, Dv);
  }
  for (int64_t h = hk * rep; h < (hk + 1) * rep; h++) {
    const float *Q = j->q + (b * Tq * j->H + h) * Dk;
    const float *dO = j->dout + (b * Tq * j->H + h) * Dv;
    float *dQ = j->dq + (b * Tq * j->H + h) * Dk;
    const float *P = j->probs + (b * j->H + h) * Tq * Tk;
    for (int64_t i0 = 0; i0 < Tq; i0 += BR) {
      const int64_t i1 = i0 + BR < Tq ? i0 + BR : Tq, bs = i1 - i0;
      const int64_t ncol = used_cols(P, Tk, i0, i1);
      if (ncol == 0) {
        for (int64_t i = i0; i < i1; i++) zero(dQ + i * ldq, Dk);
        continue;
      }
      const float *Pb = P + i0 * Tk;
      /* dP = dO V^T */
      sg(CblasNoTrans, CblasTrans, bs, ncol, Dv, 1.0f, dO + i0 * ldo, ldo, V, ldv, 0.0f, S, ncol);
      /* dS = P ⊙ (dP − Σ_j dP P) · scale */
      for (int64_t i = 0; i < bs; i++) {
        float *s = S + i * ncol;
        const float *pr = Pb + i * Tk;
        const __m256 dot = _mm256_set1_ps((float)v_dot_row(s, pr, ncol));
        const __m256 sc = _mm256_set1_ps(j->scale);
        int64_t t = 0;
        for (; t + 8 <= ncol; t += 8) {
          __m256 d = _mm256_sub_ps(_mm256_loadu_ps(s + t), dot);
          _mm256_storeu_ps(s + t, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(pr + t), d), sc));
        }
        for (; t < ncol; t++) s[t] = pr[t] * (s[t] - _mm256_cvtss_f32(dot)) * j->scale;
      }
      /* dQ = dS K;  dK += dS^T Q;  dV += P^T dO */
      sg(CblasNoTrans, CblasNoTrans, bs, Dk, ncol, 1.0f, S, ncol, K, ldk, 0.0f, dQ + i0 * ldq, ldq);
      sg(CblasTrans, CblasNoTrans, ncol, Dk, bs, 1.0f, S, ncol, Q + i0 * ldq, ldq, 1.0f, dK, ldk);
      sg(CblasTrans, CblasNoTrans, ncol, Dv, bs, 1.0f, Pb, Tk, dO + i0 * ldo, ldo, 1.0f, dV, ldv);
    }
  }
}

static void attn_bw_range(void *p, int64_t t0, int64_t t1) {
  const attn_job *j = p;
  int ti = ts_thread_index(); /* < the thread count in a parallel region; an inline run is alone */
  if (ti >= j->nt) ti = 0;
  float *S = j->scratch + (int64_t)ti * BR * j->Tk;
  for (int64_t t = t0; t < t1; t++) attn_bw_group(j, t / j->Hkv, t % j->Hkv, S);
}

int ts_attention_backward(int64_t B, int64_t Tq, int64_t Tk, int64_t H, int64_t Hkv, int64_t Dk, int64_t Dv,
                           float scale, const float *q, const float *k, const float *v, const float *probs,
                           const float *dout, float *dq, float *dk, float *dv) {
  if (B <= 0) return 0;
  if (H <= 0 || Tq <= 0 || Tk <= 0) { /* nothing flows: zero every gradient */
    zero(dq, B * Tq * H * Dk);
    zero(dk, B * Tk * Hkv * Dk);
    zero(dv, B * Tk * Hkv * Dv);
    return 0;
  }
  const int nt = ts_num_threads();
  attn_job j = {B, Tq, Tk, H, Hkv, Dk, Dv, 0, scale, 0, q, k, v, NULL, probs, dout, NULL, NULL, dq, dk, dv, NULL};
  j.nt = nt;
  j.scratch = malloc(sizeof(float) * (size_t)(BR * Tk) * (size_t)nt);
  if (!j.scratch) return -1;
  const int64_t groups = B * Hkv;
  const double work = (double)Tq * (double)Tk * (double)(Dk + Dv) * (double)(H / Hkv);
  if (groups >= 2 && nt > 1 && work * (double)groups > 65536.0) {
    int prev = ts_blas_single_begin();
    ts_parallel_for(groups, 1, attn_bw_range, &j);
    ts_blas_single_end(prev);
  } else {
    attn_bw_range(&j, 0, groups);
  }
  free(j.scratch);
  return 0;
}
