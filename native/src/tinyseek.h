// tinyseek native kernels: shared declarations.
// Every kernel takes raw pointers and sizes that addon.c has already validated
// (lengths, index ranges it can check cheaply); kernels that must scan data to validate
// (index arrays) return -1 on success or the first offending position.
#ifndef TINYSEEK_H
#define TINYSEEK_H

#include <stddef.h>
#include <stdint.h>

#define TS_MAX_NDIM 8

/* ---- thread pool (pool.c) ---- */

/** A task over the index range [begin, end). */
typedef void (*ts_range_fn)(void *ctx, int64_t begin, int64_t end);

/** Number of threads kernels use (the caller's thread included). */
int ts_num_threads(void);

/** Limits the threads kernels and OpenBLAS use to n (clamped to [1, threads started]); returns the new count. */
int ts_set_num_threads(int n);

/** Index of the calling thread in the pool: 0 for the caller of ts_parallel_for, 1..n-1 for workers. */
int ts_thread_index(void);

/**
 * Runs fn over [0, n) in chunks of `grain` indices claimed dynamically by the pool's threads and the caller.
 * Runs inline when n <= grain, the pool has one thread, or the pool is busy (nested or concurrent calls).
 */
void ts_parallel_for(int64_t n, int64_t grain, ts_range_fn fn, void *ctx);

/**
 * Parallel loop over `n` items that each cost about `cost` element-operations: inline below a size threshold,
 * otherwise split into about 4 chunks per thread.
 */
void ts_parallel_auto(int64_t n, double cost, ts_range_fn fn, void *ctx);

/** OpenBLAS threading around regions whose tasks call BLAS themselves. Returns the previous thread count. */
int ts_blas_single_begin(void);
void ts_blas_single_end(int previous);

/* ---- kernels ---- */

/* gemm.c */
void ts_gemm(int64_t batch, int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
             const float *A, int64_t strideA, int64_t lda, const float *B, int64_t strideB, int64_t ldb,
             float beta, float *C, int64_t strideC, int64_t ldc);

/* gemv.c: y[n·incy] = alpha·Σ_k W[n, k] x[k] + beta·y (W [N, K], row stride ldw); beta 0 does not read y */
void ts_gemv_rows(int64_t N, int64_t K, float alpha, const float *W, int64_t ldw, const float *x, float beta, float *y,
                  int64_t incy);
/* gemv.c: y[n] = alpha·Σ_k x[k] B[k, n] + beta·y (B [K, N], row stride ldb); beta 0 does not read y */
void ts_gemv_cols(int64_t K, int64_t N, float alpha, const float *B, int64_t ldb, const float *x, float beta, float *y);
/** 0 when TINYSEEK_GEMV=blas sends the matrix-vector shapes of ts_gemm to cblas_sgemv instead. */
int ts_gemv_enabled(void);

/* gemm16.c: y[M, N] = x[M, K] · Wᵀ, W [N, K] BF16 (f16 = 0) or F16 (f16 = 1) bits */
void ts_gemm16(int64_t M, int64_t N, int64_t K, const float *x, const uint16_t *W, int f16, float *y);
/*
 * Several 16-bit weights over row blocks of one x [M, K] into column blocks of one y (row stride ldy):
 * group g (desc[5g ..]: r0, m, c0, N, w) computes y[r0 .. r0+m, c0 .. c0+N) = x[r0 .. r0+m] · Ws[w]ᵀ,
 * Ws[w] [N, K]. Returns 0, or −1 when scratch memory could not be allocated (nothing written).
 */
int ts_gemm16_grouped(int64_t groups, const int32_t *desc, int64_t K, int64_t ldy, const float *x,
                      const uint16_t *const *Ws, int f16, float *y);
/** The path gemm16 runs: 0 scalar, 1 avx2 (AVX2+FMA+F16C), 2 avx512 (AVX-512 F/BW/VL), 3 avx512bf16 (opt-in, x rounded to BF16). */
int ts_gemm16_path(void);
/** Forces the path (0..3 as above, the next lower one when the CPU lacks it; -1 default); returns the path now in use. */
int ts_gemm16_set_path(int path);
/** "scalar", "avx2", "avx512" or "avx512bf16". */
const char *ts_gemm16_path_name(int path);

/* elementwise.c */
void ts_binary(int op, int ndim, const int64_t *shape, float *out, const float *a, const int64_t *aStrides,
               const float *b, const int64_t *bStrides);
void ts_unary(int op, int64_t n, float *out, const float *x, float param);
void ts_unary_backward(int op, int64_t n, float *dx, const float *x, const float *y, const float *dy, float param,
                       int accumulate);
void ts_clamp(int64_t n, float *out, const float *x, float lo, float hi);
void ts_where(int64_t n, float *out, const float *cond, const float *a, const float *b);

/* strided.c */
/** Drops size-1 dims and merges dims contiguous in every operand; returns the new ndim (>= 1). */
int ts_collapse(int nd, int64_t *shape, int nops, int64_t *const *strides);
void ts_copy_strided(int ndim, const int64_t *shape, float *out, const float *src, const int64_t *strides);
void ts_add_strided(int ndim, const int64_t *shape, float *dst, const int64_t *strides, const float *src);

/* reduce.c */
void ts_reduce(int op, int64_t outer, int64_t n, int64_t inner, float *out, const float *x, int32_t *argmax);
double ts_sum_squares(int64_t n, const float *x);

/* softmax.c */
void ts_softmax(int64_t rows, int64_t cols, float *y, const float *x);
void ts_softmax_backward(int64_t rows, int64_t cols, float *dx, const float *y, const float *dy);
void ts_log_softmax(int64_t rows, int64_t cols, float *y, const float *x);
void ts_log_softmax_backward(int64_t rows, int64_t cols, float *dx, const float *y, const float *dy);
int64_t ts_cross_entropy(int64_t rows, int64_t cols, float *nll, float *lse, const float *x, const int32_t *targets,
                         int64_t ignoreIndex);
int64_t ts_cross_entropy_backward(int64_t rows, int64_t cols, float *dx, const float *x, const float *lse,
                                  const int32_t *targets, const float *dnll, int64_t ignoreIndex);

/* norm.c */
void ts_rms_norm(int64_t rows, int64_t dim, float *y, float *rstd, const float *x, const float *w, float eps);
void ts_rms_norm_backward(int64_t rows, int64_t dim, float *dx, float *dw, const float *dy, const float *x,
                          const float *w, const float *rstd);

/* rope.c */
int64_t ts_rope(int64_t rows, int64_t heads, int64_t dim, float *out, const float *x, const int32_t *pos,
                const float *cos_t, const float *sin_t, int64_t tableLen, int inverse);

/* attention.c (attentionBackward returns -1 if it cannot allocate its scratch) */
void ts_attention(int64_t B, int64_t Tq, int64_t Tk, int64_t H, int64_t Hkv, int64_t Dk, int64_t Dv, float scale,
                  int causal, const float *q, const float *k, const float *v, const float *mask,
                  int64_t maskBatchStride, float *out, float *probs);
int ts_attention_backward(int64_t B, int64_t Tq, int64_t Tk, int64_t H, int64_t Hkv, int64_t Dk, int64_t Dv,
                           float scale, const float *q, const float *k, const float *v, const float *probs,
                           const float *dout, float *dq, float *dk, float *dv);

void ts_swiglu(int64_t rows, int64_t inter, float *out, const float *h);
void ts_swiglu_backward(int64_t rows, int64_t inter, float *dh, const float *h, const float *dy);

void ts_gemm_grouped(int64_t groups, int transA, int transB, const int32_t *desc, int64_t lda, int64_t ldb, int64_t ldc,
                     const float *A, const float *B, float *C);

/* index.c */
int64_t ts_index_select(int64_t outer, int64_t n, int64_t inner, int64_t m, float *out, const float *x,
                        const int32_t *idx);
int64_t ts_index_add(int64_t outer, int64_t n, int64_t inner, int64_t m, float *dx, const float *dout,
                     const int32_t *idx);
int64_t ts_gather(int64_t outer, int64_t n, int64_t inner, int64_t m, float *out, const float *x, const int32_t *idx);
int64_t ts_scatter_add(int64_t outer, int64_t n, int64_t inner, int64_t m, float *dx, const float *dout,
                       const int32_t *idx);
int64_t ts_weighted_index_add(int64_t n, int64_t inner, int64_t m, float *out, const float *src, const float *w,
                              const int32_t *idx);
int64_t ts_weighted_index_add_backward(int64_t n, int64_t inner, int64_t m, float *dsrc, float *dw, const float *src,
                                       const float *w, const float *dy, const int32_t *idx);
void ts_topk(int64_t rows, int64_t cols, int64_t k, float *values, int32_t *indices, const float *x);

/* optim.c */
void ts_axpy(int64_t n, float alpha, const float *x, float *y);
void ts_adamw(int64_t n, float *p, const float *g, float *m, float *v, double lr, double beta1, double beta2,
              double eps, double weightDecay, double step);

#endif
