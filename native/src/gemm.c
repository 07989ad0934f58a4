// Batched GEMM over OpenBLAS cblas_sgemm (row-major).
// One GEMM, or a batch of large ones: OpenBLAS's own threads split each call.
// A batch of small GEMMs (attention-sized): the pool runs whole GEMMs in parallel with OpenBLAS
// single-threaded, which beats splitting each small call across threads (2 threads, best of 200
// alternating calls: 8×128³ 73 vs 57 GFLOP/s, 32×[256×64·64×256] 91 vs 50, 8×256³ 131 vs 73;
// even at 4×512³).
#include <cblas.h>
#include <string.h>

#include "tinyseek.h"

/* Per-GEMM flop count under which a batch runs GEMMs in parallel rather than threading each one. */
#define TS_GEMM_BATCH_PAR_FLOPS (64.0 * 1024 * 1024)

typedef struct {
  CBLAS_TRANSPOSE ta, tb;
  int M, N, K, lda, ldb, ldc;
  float alpha, beta;
  const float *A, *B;
  float *C;
  int64_t sA, sB, sC;
} gemm_job;

static void gemm_range(void *p, int64_t b0, int64_t b1) {
  const gemm_job *j = p;
  for (int64_t b = b0; b < b1; b++)
    cblas_sgemm(CblasRowMajor, j->ta, j->tb, j->M, j->N, j->K, j->alpha, j->A + b * j->sA, j->lda,
                j->B + b * j->sB, j->ldb, j->beta, j->C + b * j->sC, j->ldc);
}

/* C = beta * C on an [M, N] block with row stride ldc (beta = 0 writes zeros, as BLAS does). */
static void scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    float *c = C + i * ldc;
    if (beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)N);
    else if (beta != 1.0f)
      for (int64_t j = 0; j < N; j++) c[j] *= beta;
  }
}

/*
 * Matrix-vector shapes (M == 1: one decode row; N == 1) skip sgemm: OpenBLAS 0.3.21's sgemm costs
 * 9–14 µs per call at M = 1 on decode-sized weights. With a unit-stride vector they go to gemv.c's
 * AVX2 loops (no per-call setup); otherwise, or under TINYSEEK_GEMV=blas, to cblas_sgemv.
 * Returns 0 if the shape is not matrix-vector.
 */
static int gemv_path(const gemm_job *j, int64_t batch) {
  if (j->M != 1 && j->N != 1) return 0;
  const int own = ts_gemv_enabled();
  for (int64_t b = 0; b < batch; b++) {
    const float *A = j->A + b * j->sA, *B = j->B + b * j->sB;
    float *C = j->C + b * j->sC;
    if (j->M == 1) {
      /* y[N] = op(B)ᵀ x, x = op(A) row of length K */
      const int incx = j->ta == CblasNoTrans ? 1 : j->lda;
      if (own && (incx == 1 || j->K == 1)) {
        if (j->tb == CblasTrans) ts_gemv_rows(j->N, j->K, j->alpha, B, j->ldb, A, j->beta, C, 1);
        else ts_gemv_cols(j->K, j->N, j->alpha, B, j->ldb, A, j->beta, C);
        continue;
      }
      if (j->beta == 0.0f) scale_c(j->M, j->N, 0.0f, C, j->ldc); /* y must not keep NaN garbage */
      if (j->tb == CblasNoTrans) cblas_sgemv(CblasRowMajor, CblasTrans, j->K, j->N, j->alpha, B, j->ldb, A, incx, j->beta, C, 1);
      else cblas_sgemv(CblasRowMajor, CblasNoTrans, j->N, j->K, j->alpha, B, j->ldb, A, incx, j->beta, C, 1);
    } else {
      /* y[M] (stride ldc) = op(A) x, x = op(B) column of length K */
      const int incx = j->tb == CblasNoTrans ? j->ldb : 1;
      if (own && (incx == 1 || j->K == 1) && (j->ta == CblasNoTrans || j->ldc == 1)) {
        if (j->ta == CblasNoTrans) ts_gemv_rows(j->M, j->K, j->alpha, A, j->lda, B, j->beta, C, j->ldc);
        else ts_gemv_cols(j->K, j->M, j->alpha, A, j->lda, B, j->beta, C);
        continue;
      }
      if (j->beta == 0.0f) scale_c(j->M, j->N, 0.0f, C, j->ldc); /* y must not keep NaN garbage */
      if (j->ta == CblasNoTrans) cblas_sgemv(CblasRowMajor, CblasNoTrans, j->M, j->K, j->alpha, A, j->lda, B, incx, j->beta, C, j->ldc);
      else cblas_sgemv(CblasRowMajor, CblasTrans, j->K, j->M, j->alpha, A, j->lda, B, incx, j->beta, C, j->ldc);
    }
  }
  return 1;
}

void ts_gemm(int64_t batch, int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
             const float *A, int64_t strideA, int64_t lda, const float *B, int64_t strideB, int64_t ldb,
             float beta, float *C, int64_t strideC, int64_t ldc) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  const int64_t cFootprint = (M - 1) * ldc + N;
  const int disjoint = strideC >= cFootprint;
  if (K == 0 || alpha == 0.0f) {
    /* OpenBLAS would still read A and B; BLAS semantics: C = beta * C. */
    for (int64_t b = 0; b < batch; b++) scale_c(M, N, beta, C + b * strideC, ldc);
    return;
  }
  gemm_job j = {
    transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
    (int)M, (int)N, (int)K, (int)lda, (int)ldb, (int)ldc, alpha, beta, A, B, C, strideA, strideB, strideC,
  };
  if (gemv_path(&j, batch)) return;
  const double flops = 2.0 * (double)M * (double)N * (double)K;
  if (batch > 1 && disjoint && flops < TS_GEMM_BATCH_PAR_FLOPS && flops * (double)batch >= 2e6 &&
      ts_num_threads() > 1) {
    int prev = ts_blas_single_begin();
    int64_t nt = ts_num_threads();
    /* about 2 chunks per thread for load balance */
    int64_t grain = (batch + 2 * nt - 1) / (2 * nt);
    if (grain < 1) grain = 1;
    ts_parallel_for(batch, grain, gemm_range, &j);
    ts_blas_single_end(prev);
  } else {
    gemm_range(&j, 0, batch);
  }
}

/*
 * Grouped GEMM (the MoE experts): g independent products C_g = op(A_g) · op(B_g) (alpha 1, beta 0) with
 * per-group M, N, K and element offsets into shared A, B, C buffers (desc: g × {M, N, K, offA, offB, offC}).
 * Whole groups run in parallel on the pool with single-threaded BLAS, like a batch of small GEMMs.
 */
typedef struct {
  CBLAS_TRANSPOSE ta, tb;
  int lda, ldb, ldc;
  const int32_t *desc;
  const float *A, *B;
  float *C;
} grouped_job;

static void grouped_range(void *p, int64_t g0, int64_t g1) {
  const grouped_job *j = p;
  for (int64_t g = g0; g < g1; g++) {
    const int32_t *d = j->desc + 6 * g;
    const int M = d[0], N = d[1], K = d[2];
    float *C = j->C + d[5];
    if (M == 0 || N == 0) continue;
    if (K == 0) { scale_c(M, N, 0.0f, C, j->ldc); continue; }
    /* decode: an expert with one token is a matrix-vector product (sgemv, several times cheaper) */
    const gemm_job one = {j->ta, j->tb, M, N, K, j->lda, j->ldb, j->ldc, 1.0f, 0.0f, j->A + d[3], j->B + d[4], C, 0, 0, 0};
    if (gemv_path(&one, 1)) continue;
    cblas_sgemm(CblasRowMajor, j->ta, j->tb, M, N, K, 1.0f, j->A + d[3], j->lda, j->B + d[4], j->ldb, 0.0f, C, j->ldc);
  }
}

void ts_gemm_grouped(int64_t groups, int transA, int transB, const int32_t *desc, int64_t lda, int64_t ldb, int64_t ldc,
                     const float *A, const float *B, float *C) {
  if (groups <= 0) return;
  grouped_job j = {transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)lda, (int)ldb, (int)ldc,
                   desc, A, B, C};
  double flops = 0;
  for (int64_t g = 0; g < groups; g++) flops += 2.0 * desc[6 * g] * (double)desc[6 * g + 1] * desc[6 * g + 2];
  if (groups > 1 && ts_num_threads() > 1 && flops >= 2e6) {
    int prev = ts_blas_single_begin();
    ts_parallel_for(groups, 1, grouped_range, &j);
    ts_blas_single_end(prev);
  } else {
    grouped_range(&j, 0, groups);
  }
}
