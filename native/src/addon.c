// N-API glue: argument checking and dispatch to the kernels.
//
// Every exported function takes exactly the arguments of the matching `Kernels` method
// (src/backend/kernels.ts), with op names as integer codes and booleans as 0/1 (true/false
// are accepted too). Wrong argument counts or types throw a TypeError; sizes that are not
// non-negative integers, arrays too short for the given sizes, and out-of-range indices
// throw a RangeError. Each message names the function and the argument. Nothing is read or
// written before all checks have passed.
#define NAPI_VERSION 8
#include <cblas.h>
#include <node_api.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyseek.h"

#define MAX_ARGS 20
#define SIZE_MAX_ARG 2147483647.0 /* BLAS ints are 32-bit */

typedef struct {
  napi_env env;
  const char *fn;
  size_t argc;
  napi_value argv[MAX_ARGS];
} call_t;

typedef struct {
  float *p;
  int64_t len;
} f32_t;

typedef struct {
  int32_t *p;
  int64_t len;
} i32_t;

static bool fail(call_t *c, bool range, const char *fmt, ...) {
  char msg[512];
  int k = snprintf(msg, sizeof msg, "tinyseek native %s: ", c->fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
  va_end(ap);
  bool pending = false;
  napi_is_exception_pending(c->env, &pending);
  if (!pending) {
    if (range) napi_throw_range_error(c->env, "ERR_TINYSEEK_RANGE", msg);
    else napi_throw_type_error(c->env, "ERR_TINYSEEK_TYPE", msg);
  }
  return false;
}

static bool args(napi_env env, napi_callback_info info, call_t *c, const char *fn, size_t expected) {
  c->env = env;
  c->fn = fn;
  c->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) != napi_ok) return fail(c, false, "cannot read arguments");
  if (c->argc != expected)
    return fail(c, false, "expected %zu arguments, got %zu", expected, c->argc);
  return true;
}

static const char *type_name(napi_valuetype t) {
  switch (t) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "a boolean";
    case napi_number: return "a number";
    case napi_string: return "a string";
    case napi_symbol: return "a symbol";
    case napi_object: return "an object";
    case napi_function: return "a function";
    case napi_external: return "an external";
    case napi_bigint: return "a bigint";
  }
  return "unknown";
}

static bool number(call_t *c, int i, const char *name, double *out) {
  napi_valuetype t;
  napi_typeof(c->env, c->argv[i], &t);
  if (t != napi_number) return fail(c, false, "%s (argument %d) must be a number, got %s", name, i + 1, type_name(t));
  napi_get_value_double(c->env, c->argv[i], out);
  return true;
}

/* a number (±Infinity allowed), narrowed to float */
static bool fnum(call_t *c, int i, const char *name, float *out) {
  double d;
  if (!number(c, i, name, &d)) return false;
  *out = (float)d;
  return true;
}

/* an integer in [lo, hi] */
static bool integer(call_t *c, int i, const char *name, double lo, double hi, int64_t *out) {
  double d;
  if (!number(c, i, name, &d)) return false;
  if (!(d == floor(d)) || !isfinite(d)) return fail(c, true, "%s must be an integer, got %g", name, d);
  if (d < lo || d > hi) return fail(c, true, "%s must be in [%.0f, %.0f], got %.0f", name, lo, hi, d);
  *out = (int64_t)d;
  return true;
}

static bool size_arg(call_t *c, int i, const char *name, int64_t *out) {
  return integer(c, i, name, 0, SIZE_MAX_ARG, out);
}

static bool flag(call_t *c, int i, const char *name, int *out) {
  napi_valuetype t;
  napi_typeof(c->env, c->argv[i], &t);
  if (t == napi_boolean) {
    bool b;
    napi_get_value_bool(c->env, c->argv[i], &b);
    *out = b;
    return true;
  }
  if (t == napi_number) {
    double d;
    napi_get_value_double(c->env, c->argv[i], &d);
    *out = d != 0;
    return true;
  }
  return fail(c, false, "%s (argument %d) must be 0/1 or a boolean, got %s", name, i + 1, type_name(t));
}

static bool typed(call_t *c, int i, const char *name, napi_typedarray_type want, const char *wantName, void **p,
                  int64_t *len, bool nullable) {
  napi_valuetype t;
  napi_typeof(c->env, c->argv[i], &t);
  if (nullable && (t == napi_null || t == napi_undefined)) {
    *p = NULL;
    *len = -1;
    return true;
  }
  bool is = false;
  napi_is_typedarray(c->env, c->argv[i], &is);
  napi_typedarray_type tt;
  size_t n = 0;
  void *data = NULL;
  if (is) napi_get_typedarray_info(c->env, c->argv[i], &tt, &n, &data, NULL, NULL);
  if (!is || tt != want)
    return fail(c, false, "%s (argument %d) must be a %s%s", name, i + 1, wantName, nullable ? " or null" : "");
  *p = data;
  *len = (int64_t)n;
  return true;
}

static bool f32(call_t *c, int i, const char *name, f32_t *a) {
  return typed(c, i, name, napi_float32_array, "Float32Array", (void **)&a->p, &a->len, false);
}
static bool f32_or_null(call_t *c, int i, const char *name, f32_t *a) {
  return typed(c, i, name, napi_float32_array, "Float32Array", (void **)&a->p, &a->len, true);
}
static bool i32(call_t *c, int i, const char *name, i32_t *a) {
  return typed(c, i, name, napi_int32_array, "Int32Array", (void **)&a->p, &a->len, false);
}
static bool i32_or_null(call_t *c, int i, const char *name, i32_t *a) {
  return typed(c, i, name, napi_int32_array, "Int32Array", (void **)&a->p, &a->len, true);
}

/* saturating products (a saturated size can never fit an array) */
static int64_t mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}
static int64_t add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}
static int64_t mul3(int64_t a, int64_t b, int64_t c) { return mul(mul(a, b), c); }
static int64_t mul4(int64_t a, int64_t b, int64_t c, int64_t d) { return mul(mul(a, b), mul(c, d)); }

static bool need(call_t *c, const char *name, int64_t len, int64_t needed) {
  if (len < needed)
    return fail(c, true, "%s is too short: it has %lld elements but the sizes given need %lld", name, (long long)len,
                (long long)needed);
  return true;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

#define CHECK(x) do { if (!(x)) return 0; } while (0)
#define BEGIN(name, n)                         \
  call_t c_;                                   \
  call_t *c = &c_;                             \
  CHECK(args(env, info, c, name, n))

/* ---------------- gemm ---------------- */

/* checks one operand stored as [rows, cols] with leading dimension ld; returns the ld to give BLAS */
static bool gemm_operand(call_t *c, const char *name, const char *ldName, f32_t a, int64_t batch, int64_t stride,
                         int64_t rows, int64_t cols, int64_t *ld) {
  if (rows > 1 && *ld < cols)
    return fail(c, true, "%s (%lld) is less than the row length %lld of %s", ldName, (long long)*ld, (long long)cols,
                name);
  int64_t needed = add(add(mul(batch - 1, stride), mul(rows - 1, *ld)), cols);
  if (!need(c, name, a.len, needed)) return false;
  if (*ld < cols) *ld = cols; /* one row: BLAS still wants ld >= cols */
  if (*ld < 1) *ld = 1;
  return true;
}

static napi_value js_gemm(napi_env env, napi_callback_info info) {
  BEGIN("gemm", 17);
  int64_t batch, M, N, K, sA, lda, sB, ldb, sC, ldc;
  int tA, tB;
  float alpha, beta;
  f32_t A, Bm, C;
  CHECK(size_arg(c, 0, "batch", &batch) && flag(c, 1, "transA", &tA) && flag(c, 2, "transB", &tB) &&
        size_arg(c, 3, "M", &M) && size_arg(c, 4, "N", &N) && size_arg(c, 5, "K", &K) && fnum(c, 6, "alpha", &alpha) &&
        f32(c, 7, "A", &A) && size_arg(c, 8, "strideA", &sA) && size_arg(c, 9, "lda", &lda) && f32(c, 10, "B", &Bm) &&
        size_arg(c, 11, "strideB", &sB) && size_arg(c, 12, "ldb", &ldb) && fnum(c, 13, "beta", &beta) &&
        f32(c, 14, "C", &C) && size_arg(c, 15, "strideC", &sC) && size_arg(c, 16, "ldc", &ldc));
  if (batch == 0 || M == 0 || N == 0) return undefined(env);
  CHECK(gemm_operand(c, "C", "ldc", C, batch, sC, M, N, &ldc));
  if (K > 0) {
    CHECK(gemm_operand(c, "A", "lda", A, batch, sA, tA ? K : M, tA ? M : K, &lda));
    CHECK(gemm_operand(c, "B", "ldb", Bm, batch, sB, tB ? N : K, tB ? K : N, &ldb));
  }
  ts_gemm(batch, tA, tB, M, N, K, alpha, A.p, sA, lda, Bm.p, sB, ldb, beta, C.p, sC, ldc);
  return undefined(env);
}

/* (M, N, K, x [M, K] Float32Array, W [N, K] Uint16Array, f16 0/1 (0 = BF16), y [M, N] Float32Array) */
static napi_value js_gemm16(napi_env env, napi_callback_info info) {
  BEGIN("gemm16", 7);
  int64_t M, N, K, wlen;
  int f16;
  f32_t x, y;
  uint16_t *W;
  CHECK(size_arg(c, 0, "M", &M) && size_arg(c, 1, "N", &N) && size_arg(c, 2, "K", &K) && f32(c, 3, "x", &x) &&
        typed(c, 4, "W", napi_uint16_array, "Uint16Array (BF16 or F16 bits)", (void **)&W, &wlen, false) &&
        flag(c, 5, "f16", &f16) && f32(c, 6, "y", &y));
  CHECK(need(c, "x", x.len, mul(M, K)) && need(c, "W", wlen, mul(N, K)) && need(c, "y", y.len, mul(M, N)));
  ts_gemm16(M, N, K, x.p, W, f16, y.p);
  return undefined(env);
}

/*
 * (desc [g × 5: r0, m, c0, N, w] Int32Array, K, ldy, x [M, K] Float32Array, Ws Array of Uint16Array, f16 0/1, y Float32Array):
 * y[r0 .. r0+m, c0 .. c0+N) = x[r0 .. r0+m] · Ws[w]ᵀ for each group, Ws[w] [N, K] BF16/F16 bits, y rows ldy apart
 */
static napi_value js_gemm16_grouped(napi_env env, napi_callback_info info) {
  BEGIN("gemm16Grouped", 7);
  i32_t desc;
  int64_t K, ldy;
  f32_t x, y;
  int f16;
  CHECK(i32(c, 0, "desc", &desc) && size_arg(c, 1, "K", &K) && size_arg(c, 2, "ldy", &ldy) && f32(c, 3, "x", &x) &&
        flag(c, 5, "f16", &f16) && f32(c, 6, "y", &y));
  bool isArray = false;
  napi_is_array(env, c->argv[4], &isArray);
  if (!isArray) return fail(c, false, "Ws (argument 5) must be an Array of Uint16Array (BF16 or F16 bits)"), NULL;
  uint32_t nw = 0;
  napi_get_array_length(env, c->argv[4], &nw);
  if (desc.len % 5 != 0)
    return fail(c, true, "desc has %lld entries; expected 5 per group (r0, m, c0, N, weight index)", (long long)desc.len), NULL;
  const int64_t groups = desc.len / 5;
  const uint16_t **Ws = malloc(sizeof(uint16_t *) * (nw ? nw : 1));
  int64_t *wlen = malloc(sizeof(int64_t) * (nw ? nw : 1));
  if (!Ws || !wlen) {
    free(Ws), free(wlen);
    return fail(c, true, "out of memory for %u weight pointers", nw), NULL;
  }
  bool ok = true;
  for (uint32_t w = 0; ok && w < nw; w++) {
    napi_value e;
    bool is = false;
    napi_typedarray_type tt;
    size_t n = 0;
    void *data = NULL;
    if (napi_get_element(env, c->argv[4], w, &e) == napi_ok) napi_is_typedarray(env, e, &is);
    if (is) napi_get_typedarray_info(env, e, &tt, &n, &data, NULL, NULL);
    if (!is || tt != napi_uint16_array) ok = fail(c, false, "Ws[%u] must be a Uint16Array (BF16 or F16 bits)", w);
    Ws[w] = data, wlen[w] = (int64_t)n;
  }
  for (int64_t g = 0; ok && g < groups; g++) {
    const int32_t *d = desc.p + 5 * g;
    for (int q = 0; ok && q < 5; q++)
      if (d[q] < 0) ok = fail(c, true, "desc[%lld] (group %lld) is negative (%d)", (long long)(5 * g + q), (long long)g, d[q]);
    if (!ok) break;
    if (d[4] >= (int64_t)nw) {
      ok = fail(c, true, "group %lld: weight index %d is not below the %u weights given", (long long)g, d[4], nw);
      break;
    }
    if (d[1] == 0 || d[3] == 0) continue;
    if (add(d[2], d[3]) > ldy) {
      ok = fail(c, true, "group %lld: columns [%d, %lld) do not fit in ldy %lld", (long long)g, d[2], (long long)add(d[2], d[3]), (long long)ldy);
      break;
    }
    char name[48];
    snprintf(name, sizeof name, "x (group %lld)", (long long)g);
    ok = need(c, name, x.len, mul(add(d[0], d[1]), K));
    snprintf(name, sizeof name, "y (group %lld)", (long long)g);
    ok = ok && need(c, name, y.len, add(mul(add(d[0], d[1] - 1), ldy), add(d[2], d[3])));
    snprintf(name, sizeof name, "Ws[%d] (group %lld)", d[4], (long long)g);
    ok = ok && need(c, name, wlen[d[4]], mul(d[3], K));
  }
  int rc = ok ? ts_gemm16_grouped(groups, desc.p, K, ldy, x.p, Ws, f16, y.p) : 0;
  free(Ws), free(wlen);
  if (!ok) return NULL;
  if (rc != 0) return fail(c, true, "out of scratch memory"), NULL;
  return undefined(env);
}

/* the path gemm16 runs: "scalar", "avx2", "avx512" or "avx512bf16" */
static napi_value js_gemm16_path(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_string_utf8(env, ts_gemm16_path_name(ts_gemm16_path()), NAPI_AUTO_LENGTH, &r);
  return r;
}

/* setGemm16Path(p): -1 = back to the default (TINYSEEK_GEMM16, then the CPU), 0 = scalar, 1 = avx2,
   2 = avx512, 3 = avx512bf16 (each when the CPU has it, else the next lower path); returns the path's name */
static napi_value js_set_gemm16_path(napi_env env, napi_callback_info info) {
  BEGIN("setGemm16Path", 1);
  int64_t p = -1;
  CHECK(integer(c, 0, "path", -1, 3, &p));
  napi_value r;
  napi_create_string_utf8(env, ts_gemm16_path_name(ts_gemm16_set_path((int)p)), NAPI_AUTO_LENGTH, &r);
  return r;
}

/* the row strides are shared by every group and passed to BLAS as given, so unlike gemm's a
   one-row operand gets no leeway: BLAS rejects ld < row length (and leaves C unwritten) */
static bool grouped_ld(call_t *c, const char *ldName, int64_t ld, const char *name, int64_t g, int64_t cols) {
  if (ld >= cols && ld >= 1) return true;
  return fail(c, true, "%s: expected at least %lld (the row length of %s in group %lld), found %lld", ldName,
              (long long)(cols > 1 ? cols : 1), name, (long long)g, (long long)ld);
}

/* (transA, transB, desc [g × 6: M, N, K, offA, offB, offC], lda, ldb, ldc, A, B, C) */
static napi_value js_gemm_grouped(napi_env env, napi_callback_info info) {
  BEGIN("gemmGrouped", 9);
  int tA, tB;
  int64_t lda, ldb, ldc;
  i32_t desc;
  f32_t A, Bm, C;
  CHECK(flag(c, 0, "transA", &tA) && flag(c, 1, "transB", &tB) && i32(c, 2, "desc", &desc) && size_arg(c, 3, "lda", &lda) &&
        size_arg(c, 4, "ldb", &ldb) && size_arg(c, 5, "ldc", &ldc) && f32(c, 6, "A", &A) && f32(c, 7, "B", &Bm) &&
        f32(c, 8, "C", &C));
  if (desc.len % 6 != 0) return fail(c, true, "desc has %lld entries; expected 6 per group (M, N, K, offA, offB, offC)", (long long)desc.len), NULL;
  const int64_t groups = desc.len / 6;
  for (int64_t g = 0; g < groups; g++) {
    const int32_t *d = desc.p + 6 * g;
    for (int q = 0; q < 6; q++)
      if (d[q] < 0) return fail(c, true, "desc[%lld] (group %lld) is negative (%d)", (long long)(6 * g + q), (long long)g, d[q]), NULL;
    const int64_t M = d[0], N = d[1], K = d[2];
    if (M == 0 || N == 0) continue;
    if (d[5] > C.len) return fail(c, true, "group %lld: offC %d is past the end of C (%lld)", (long long)g, d[5], (long long)C.len), NULL;
    CHECK(grouped_ld(c, "ldc", ldc, "C", g, N));
    int64_t l = ldc;
    f32_t Cg = {C.p + d[5], C.len - d[5]};
    CHECK(gemm_operand(c, "C", "ldc", Cg, 1, 0, M, N, &l));
    if (K == 0) continue;
    if (d[3] > A.len || d[4] > Bm.len) return fail(c, true, "group %lld: an operand offset is past the end of its buffer", (long long)g), NULL;
    CHECK(grouped_ld(c, "lda", lda, "A", g, tA ? M : K) && grouped_ld(c, "ldb", ldb, "B", g, tB ? K : N));
    f32_t Ag = {A.p + d[3], A.len - d[3]}, Bg = {Bm.p + d[4], Bm.len - d[4]};
    l = lda;
    CHECK(gemm_operand(c, "A", "lda", Ag, 1, 0, tA ? K : M, tA ? M : K, &l));
    l = ldb;
    CHECK(gemm_operand(c, "B", "ldb", Bg, 1, 0, tB ? N : K, tB ? K : N, &l));
  }
  ts_gemm_grouped(groups, tA, tB, desc.p, lda, ldb, ldc, A.p, Bm.p, C.p);
  return undefined(env);
}

/* ---------------- strided helpers ---------------- */

static bool shape_arg(call_t *c, int i, int64_t *shape, int *ndim, int64_t *n) {
  i32_t s = {NULL, 0};
  CHECK(i32(c, i, "shape", &s));
  if (s.len > TS_MAX_NDIM) return fail(c, true, "shape has %lld dims; at most %d are supported", (long long)s.len, TS_MAX_NDIM);
  *ndim = (int)s.len;
  *n = 1;
  for (int d = 0; d < *ndim; d++) {
    if (s.p[d] < 0) return fail(c, true, "shape[%d] is negative (%d)", d, s.p[d]);
    shape[d] = s.p[d];
    *n = mul(*n, shape[d]);
  }
  return true;
}

/* reads strides and checks that every offset base + Σ idx_d * stride_d falls inside an array of length len */
static bool strides_arg(call_t *c, int i, const char *name, const char *arrName, int ndim, const int64_t *shape,
                        int64_t n, int64_t base, int64_t len, int64_t *st) {
  i32_t s = {NULL, 0};
  CHECK(i32(c, i, name, &s));
  if (s.len != ndim)
    return fail(c, true, "%s has %lld entries but shape has %d dims", name, (long long)s.len, ndim);
  int64_t lo = base, hi = base;
  for (int d = 0; d < ndim; d++) {
    st[d] = s.p[d];
    if (n > 0) {
      int64_t span = (shape[d] - 1) * st[d];
      if (span < 0) lo += span; else hi += span;
    }
  }
  if (n > 0 && (lo < 0 || hi >= len))
    return fail(c, true, "%s reaches elements [%lld, %lld] of %s, which has %lld elements", name, (long long)lo,
                (long long)hi, arrName, (long long)len);
  return true;
}

static napi_value js_binary(napi_env env, napi_callback_info info) {
  BEGIN("binary", 7);
  int64_t op, shape[TS_MAX_NDIM], as[TS_MAX_NDIM], bs[TS_MAX_NDIM], n;
  int nd;
  f32_t out, a, b;
  CHECK(integer(c, 0, "op", 0, 6, &op) && shape_arg(c, 1, shape, &nd, &n) && f32(c, 2, "out", &out) &&
        f32(c, 3, "a", &a) && f32(c, 5, "b", &b) && need(c, "out", out.len, n) &&
        strides_arg(c, 4, "aStrides", "a", nd, shape, n, 0, a.len, as) &&
        strides_arg(c, 6, "bStrides", "b", nd, shape, n, 0, b.len, bs));
  ts_binary((int)op, nd, shape, out.p, a.p, as, b.p, bs);
  return undefined(env);
}

static napi_value js_copy_strided(napi_env env, napi_callback_info info) {
  BEGIN("copyStrided", 5);
  int64_t shape[TS_MAX_NDIM], st[TS_MAX_NDIM], n, offset;
  int nd;
  f32_t out, src;
  CHECK(shape_arg(c, 0, shape, &nd, &n) && f32(c, 1, "out", &out) && f32(c, 2, "src", &src) &&
        integer(c, 4, "offset", -SIZE_MAX_ARG * 4, SIZE_MAX_ARG * 4, &offset) && need(c, "out", out.len, n) &&
        strides_arg(c, 3, "strides", "src", nd, shape, n, offset, src.len, st));
  if (n > 0) ts_copy_strided(nd, shape, out.p, src.p + offset, st);
  return undefined(env);
}

static napi_value js_add_strided(napi_env env, napi_callback_info info) {
  BEGIN("addStrided", 5);
  int64_t shape[TS_MAX_NDIM], st[TS_MAX_NDIM], n, offset;
  int nd;
  f32_t dst, src;
  CHECK(shape_arg(c, 0, shape, &nd, &n) && f32(c, 1, "dst", &dst) && f32(c, 4, "src", &src) &&
        integer(c, 3, "offset", -SIZE_MAX_ARG * 4, SIZE_MAX_ARG * 4, &offset) && need(c, "src", src.len, n) &&
        strides_arg(c, 2, "strides", "dst", nd, shape, n, offset, dst.len, st));
  if (n > 0) ts_add_strided(nd, shape, dst.p + offset, st, src.p);
  return undefined(env);
}

/* ---------------- elementwise ---------------- */

static napi_value js_unary(napi_env env, napi_callback_info info) {
  BEGIN("unary", 5);
  int64_t op, n;
  f32_t out, x;
  float p;
  CHECK(integer(c, 0, "op", 0, 14, &op) && size_arg(c, 1, "n", &n) && f32(c, 2, "out", &out) && f32(c, 3, "x", &x) &&
        fnum(c, 4, "param", &p) && need(c, "out", out.len, n) && need(c, "x", x.len, n));
  ts_unary((int)op, n, out.p, x.p, p);
  return undefined(env);
}

static napi_value js_unary_backward(napi_env env, napi_callback_info info) {
  BEGIN("unaryBackward", 8);
  int64_t op, n;
  f32_t dx, x, y, dy;
  float p;
  int acc;
  CHECK(integer(c, 0, "op", 0, 14, &op) && size_arg(c, 1, "n", &n) && f32(c, 2, "dx", &dx) && f32(c, 3, "x", &x) &&
        f32(c, 4, "y", &y) && f32(c, 5, "dy", &dy) && fnum(c, 6, "param", &p) && flag(c, 7, "accumulate", &acc) &&
        need(c, "dx", dx.len, n) && need(c, "dy", dy.len, n));
  /* only the inputs the derivative uses must be long enough: x for log/silu/gelu/relu/abs/square/powScalar,
     y (the forward output) for exp/sqrt/rsqrt/sigmoid/tanh */
  static const char uses[15] = {0, 'y', 'x', 'y', 'y', 'y', 'x', 'x', 'x', 'y', 'x', 'x', 'x', 0, 0};
  if (uses[op] == 'x') CHECK(need(c, "x", x.len, n));
  if (uses[op] == 'y') CHECK(need(c, "y", y.len, n));
  ts_unary_backward((int)op, n, dx.p, x.p, y.p, dy.p, p, acc);
  return undefined(env);
}

/* (rows, inter, out [rows, inter], h [rows, 2 inter]) */
static napi_value js_swiglu(napi_env env, napi_callback_info info) {
  BEGIN("swiglu", 4);
  int64_t rows, inter;
  f32_t out, h;
  CHECK(size_arg(c, 0, "rows", &rows) && size_arg(c, 1, "inter", &inter) && f32(c, 2, "out", &out) && f32(c, 3, "h", &h) &&
        need(c, "out", out.len, mul3(1, rows, inter)) && need(c, "h", h.len, mul3(2, rows, inter)));
  ts_swiglu(rows, inter, out.p, h.p);
  return undefined(env);
}

/* (rows, inter, dh [rows, 2 inter], h [rows, 2 inter], dy [rows, inter]) */
static napi_value js_swiglu_backward(napi_env env, napi_callback_info info) {
  BEGIN("swigluBackward", 5);
  int64_t rows, inter;
  f32_t dh, h, dy;
  CHECK(size_arg(c, 0, "rows", &rows) && size_arg(c, 1, "inter", &inter) && f32(c, 2, "dh", &dh) && f32(c, 3, "h", &h) &&
        f32(c, 4, "dy", &dy) && need(c, "dh", dh.len, mul3(2, rows, inter)) && need(c, "h", h.len, mul3(2, rows, inter)) &&
        need(c, "dy", dy.len, mul3(1, rows, inter)));
  ts_swiglu_backward(rows, inter, dh.p, h.p, dy.p);
  return undefined(env);
}

static napi_value js_clamp(napi_env env, napi_callback_info info) {
  BEGIN("clamp", 5);
  int64_t n;
  f32_t out, x;
  float lo, hi;
  CHECK(size_arg(c, 0, "n", &n) && f32(c, 1, "out", &out) && f32(c, 2, "x", &x) && fnum(c, 3, "lo", &lo) &&
        fnum(c, 4, "hi", &hi) && need(c, "out", out.len, n) && need(c, "x", x.len, n));
  ts_clamp(n, out.p, x.p, lo, hi);
  return undefined(env);
}

static napi_value js_where(napi_env env, napi_callback_info info) {
  BEGIN("where", 5);
  int64_t n;
  f32_t out, cond, a, b;
  CHECK(size_arg(c, 0, "n", &n) && f32(c, 1, "out", &out) && f32(c, 2, "cond", &cond) && f32(c, 3, "a", &a) &&
        f32(c, 4, "b", &b) && need(c, "out", out.len, n) && need(c, "cond", cond.len, n) && need(c, "a", a.len, n) &&
        need(c, "b", b.len, n));
  ts_where(n, out.p, cond.p, a.p, b.p);
  return undefined(env);
}

/* ---------------- reductions ---------------- */

static napi_value js_reduce(napi_env env, napi_callback_info info) {
  BEGIN("reduce", 7);
  int64_t op, outer, n, inner;
  f32_t out, x;
  i32_t am;
  CHECK(integer(c, 0, "op", 0, 1, &op) && size_arg(c, 1, "outer", &outer) && size_arg(c, 2, "n", &n) &&
        size_arg(c, 3, "inner", &inner) && f32(c, 4, "out", &out) && f32(c, 5, "x", &x) &&
        i32_or_null(c, 6, "argmax", &am) && need(c, "out", out.len, mul(outer, inner)) &&
        need(c, "x", x.len, mul3(outer, n, inner)));
  if (op == 1 && am.len >= 0) CHECK(need(c, "argmax", am.len, mul(outer, inner)));
  if (op == 1 && n == 0 && outer > 0 && inner > 0) {
    fail(c, true, "max over an empty axis (n = 0) has no value");
    return NULL;
  }
  ts_reduce((int)op, outer, n, inner, out.p, x.p, op == 1 && am.len >= 0 ? am.p : NULL);
  return undefined(env);
}

static napi_value js_sum_squares(napi_env env, napi_callback_info info) {
  BEGIN("sumSquares", 2);
  int64_t n;
  f32_t x;
  CHECK(size_arg(c, 0, "n", &n) && f32(c, 1, "x", &x) && need(c, "x", x.len, n));
  napi_value r;
  napi_create_double(env, ts_sum_squares(n, x.p), &r);
  return r;
}

/* ---------------- softmax family ---------------- */

/* (rows, cols, out, in1[, in2]) all [rows, cols] */
static napi_value rows_op(napi_env env, napi_callback_info info, const char *name, int nin, const char *n1,
                          const char *n2, const char *n3, int which) {
  BEGIN(name, (size_t)(3 + nin));
  int64_t rows, cols;
  f32_t a, b, d = {NULL, 0};
  CHECK(size_arg(c, 0, "rows", &rows) && size_arg(c, 1, "cols", &cols) && f32(c, 2, n1, &a) && f32(c, 3, n2, &b));
  if (nin == 2) CHECK(f32(c, 4, n3, &d));
  const int64_t rc = mul(rows, cols);
  CHECK(need(c, n1, a.len, rc) && need(c, n2, b.len, rc));
  if (nin == 2) CHECK(need(c, n3, d.len, rc));
  switch (which) {
    case 0: ts_softmax(rows, cols, a.p, b.p); break;
    case 1: ts_softmax_backward(rows, cols, a.p, b.p, d.p); break;
    case 2: ts_log_softmax(rows, cols, a.p, b.p); break;
    case 3: ts_log_softmax_backward(rows, cols, a.p, b.p, d.p); break;
  }
  return undefined(env);
}

static napi_value js_softmax(napi_env env, napi_callback_info info) {
  return rows_op(env, info, "softmax", 1, "y", "x", NULL, 0);
}
static napi_value js_softmax_backward(napi_env env, napi_callback_info info) {
  return rows_op(env, info, "softmaxBackward", 2, "dx", "y", "dy", 1);
}
static napi_value js_log_softmax(napi_env env, napi_callback_info info) {
  return rows_op(env, info, "logSoftmax", 1, "y", "x", NULL, 2);
}
static napi_value js_log_softmax_backward(napi_env env, napi_callback_info info) {
  return rows_op(env, info, "logSoftmaxBackward", 2, "dx", "y", "dy", 3);
}

static bool bad_target(call_t *c, int64_t r, const i32_t *t, int64_t cols, int64_t ignore) {
  return fail(c, true, "targets[%lld] = %d is outside [0, %lld) and is not ignoreIndex (%lld)", (long long)r, t->p[r],
              (long long)cols, (long long)ignore);
}

static napi_value js_cross_entropy(napi_env env, napi_callback_info info) {
  BEGIN("crossEntropy", 7);
  int64_t rows, cols, ignore;
  f32_t nll, lse, x;
  i32_t t;
  CHECK(size_arg(c, 0, "rows", &rows) && size_arg(c, 1, "cols", &cols) && f32(c, 2, "nll", &nll) &&
        f32(c, 3, "lse", &lse) && f32(c, 4, "x", &x) && i32(c, 5, "targets", &t) &&
        integer(c, 6, "ignoreIndex", -9007199254740991.0, 9007199254740991.0, &ignore) &&
        need(c, "nll", nll.len, rows) && need(c, "lse", lse.len, rows) && need(c, "x", x.len, mul(rows, cols)) &&
        need(c, "targets", t.len, rows));
  int64_t bad = ts_cross_entropy(rows, cols, nll.p, lse.p, x.p, t.p, ignore);
  if (bad >= 0) { bad_target(c, bad, &t, cols, ignore); return NULL; }
  return undefined(env);
}

static napi_value js_cross_entropy_backward(napi_env env, napi_callback_info info) {
  BEGIN("crossEntropyBackward", 8);
  int64_t rows, cols, ignore;
  f32_t dx, x, lse, dnll;
  i32_t t;
  CHECK(size_arg(c, 0, "rows", &rows) && size_arg(c, 1, "cols", &cols) && f32(c, 2, "dx", &dx) &&
        f32(c, 3, "x", &x) && f32(c, 4, "lse", &lse) && i32(c, 5, "targets", &t) && f32(c, 6, "dnll", &dnll) &&
        integer(c, 7, "ignoreIndex", -9007199254740991.0, 9007199254740991.0, &ignore) &&
        need(c, "dx", dx.len, mul(rows, cols)) && need(c, "x", x.len, mul(rows, cols)) &&
        need(c, "lse", lse.len, rows) && need(c, "targets", t.len, rows) && need(c, "dnll", dnll.len, rows));
  int64_t bad = ts_cross_entropy_backward(rows, cols, dx.p, x.p, lse.p, t.p, dnll.p, ignore);
  if (bad >= 0) { bad_target(c, bad, &t, cols, ignore); return NULL; }
  return undefined(env);
}

/* ---------------- norm, rope ---------------- */

static napi_value js_rms_norm(napi_env env, napi_callback_info info) {
  BEGIN("rmsNorm", 7);
  int64_t rows, dim;
  f32_t y, rstd, x, w;
  float eps;
  CHECK(size_arg(c, 0, "rows", &rows) && size_arg(c, 1, "dim", &dim) && f32(c, 2, "y", &y) &&
        f32(c, 3, "rstd", &rstd) && f32(c, 4, "x", &x) && f32(c, 5, "w", &w) && fnum(c, 6, "eps", &eps) &&
        need(c, "y", y.len, mul(rows, dim)) && need(c, "rstd", rstd.len, rows) && need(c, "x", x.len, mul(rows, dim)) &&
        need(c, "w", w.len, rows > 0 ? dim : 0));
  ts_rms_norm(rows, dim, y.p, rstd.p, x.p, w.p, eps);
  return undefined(env);
}

static napi_value js_rms_norm_backward(napi_env env, napi_callback_info info) {
  BEGIN("rmsNormBackward", 8);
  int64_t rows, dim;
  f32_t dx, dw, dy, x, w, rstd;
  CHECK(size_arg(c, 0, "rows", &rows) && size_arg(c, 1, "dim", &dim) && f32(c, 2, "dx", &dx) &&
        f32(c, 3, "dw", &dw) && f32(c, 4, "dy", &dy) && f32(c, 5, "x", &x) && f32(c, 6, "w", &w) &&
        f32(c, 7, "rstd", &rstd));
  const int64_t rd = mul(rows, dim), wd = rows > 0 ? dim : 0;
  CHECK(need(c, "dx", dx.len, rd) && need(c, "dw", dw.len, wd) && need(c, "dy", dy.len, rd) &&
        need(c, "x", x.len, rd) && need(c, "w", w.len, wd) && need(c, "rstd", rstd.len, dim > 0 ? rows : 0));
  ts_rms_norm_backward(rows, dim, dx.p, dw.p, dy.p, x.p, w.p, rstd.p);
  return undefined(env);
}

static napi_value js_rope(napi_env env, napi_callback_info info) {
  BEGIN("rope", 9);
  int64_t rows, heads, dim;
  f32_t out, x, cs, sn;
  i32_t pos;
  int inv;
  CHECK(size_arg(c, 0, "rows", &rows) && size_arg(c, 1, "heads", &heads) && size_arg(c, 2, "dim", &dim) &&
        f32(c, 3, "out", &out) && f32(c, 4, "x", &x) && i32(c, 5, "pos", &pos) && f32(c, 6, "cos", &cs) &&
        f32(c, 7, "sin", &sn) && flag(c, 8, "inverse", &inv));
  /* pairs only: the last element of an odd dim is neither read nor written */
  const int64_t touched = rows > 0 && heads > 0 && dim > 1 ? add(mul(mul(rows, heads) - 1, dim), dim & ~(int64_t)1) : 0;
  CHECK(need(c, "out", out.len, touched) && need(c, "x", x.len, touched) &&
        need(c, "pos", pos.len, heads > 0 && dim > 1 ? rows : 0));
  const int64_t table = cs.len < sn.len ? cs.len : sn.len;
  int64_t bad = ts_rope(rows, heads, dim, out.p, x.p, pos.p, cs.p, sn.p, table, inv);
  if (bad >= 0) {
    fail(c, true, "pos[%lld] = %d is outside the cos/sin tables (%lld positions of dim/2 = %lld)", (long long)bad,
         pos.p[bad], (long long)(table / (dim >> 1)), (long long)(dim >> 1));
    return NULL;
  }
  return undefined(env);
}

/* ---------------- attention ---------------- */

static bool attn_sizes(call_t *c, int64_t *s) {
  static const char *names[7] = {"B", "Tq", "Tk", "H", "Hkv", "Dk", "Dv"};
  for (int i = 0; i < 7; i++) CHECK(size_arg(c, i, names[i], &s[i]));
  if (s[3] > 0 && (s[4] == 0 || s[3] % s[4] != 0))
    return fail(c, true, "H (%lld) must be a multiple of Hkv (%lld)", (long long)s[3], (long long)s[4]);
  return true;
}

static napi_value js_attention(napi_env env, napi_callback_info info) {
  BEGIN("attention", 16);
  int64_t s[7], mbs;
  float scale;
  int causal;
  f32_t q, k, v, mask, out, probs;
  CHECK(attn_sizes(c, s) && fnum(c, 7, "scale", &scale) && flag(c, 8, "causal", &causal) && f32(c, 9, "q", &q) &&
        f32(c, 10, "k", &k) && f32(c, 11, "v", &v) && f32_or_null(c, 12, "mask", &mask) &&
        size_arg(c, 13, "maskBatchStride", &mbs) && f32(c, 14, "out", &out) && f32(c, 15, "probs", &probs));
  const int64_t B = s[0], Tq = s[1], Tk = s[2], H = s[3], Hkv = s[4], Dk = s[5], Dv = s[6];
  CHECK(need(c, "q", q.len, mul4(B, Tq, H, Dk)) && need(c, "k", k.len, mul4(B, Tk, Hkv, Dk)) &&
        need(c, "v", v.len, mul4(B, Tk, Hkv, Dv)) && need(c, "out", out.len, mul4(B, Tq, H, Dv)) &&
        need(c, "probs", probs.len, mul4(B, H, Tq, Tk)));
  if (mask.len >= 0) {
    if (B > 0 && H > 0 && Tq > 0 && Tk > 0)
      CHECK(need(c, "mask", mask.len, add(mul(B - 1, mbs), mul(Tq, Tk))));
  }
  ts_attention(B, Tq, Tk, H, Hkv, Dk, Dv, scale, causal, q.p, k.p, v.p, mask.len >= 0 ? mask.p : NULL, mbs, out.p,
               probs.p);
  return undefined(env);
}

static napi_value js_attention_backward(napi_env env, napi_callback_info info) {
  BEGIN("attentionBackward", 16);
  int64_t s[7];
  float scale;
  f32_t q, k, v, probs, dout, dq, dk, dv;
  CHECK(attn_sizes(c, s) && fnum(c, 7, "scale", &scale) && f32(c, 8, "q", &q) && f32(c, 9, "k", &k) &&
        f32(c, 10, "v", &v) && f32(c, 11, "probs", &probs) && f32(c, 12, "dout", &dout) && f32(c, 13, "dq", &dq) &&
        f32(c, 14, "dk", &dk) && f32(c, 15, "dv", &dv));
  const int64_t B = s[0], Tq = s[1], Tk = s[2], H = s[3], Hkv = s[4], Dk = s[5], Dv = s[6];
  const int64_t nq = mul4(B, Tq, H, Dk), nk = mul4(B, Tk, Hkv, Dk), nv = mul4(B, Tk, Hkv, Dv);
  CHECK(need(c, "q", q.len, nq) && need(c, "k", k.len, nk) && need(c, "v", v.len, nv) &&
        need(c, "probs", probs.len, mul4(B, H, Tq, Tk)) && need(c, "dout", dout.len, mul4(B, Tq, H, Dv)) &&
        need(c, "dq", dq.len, nq) && need(c, "dk", dk.len, nk) && need(c, "dv", dv.len, nv));
  if (ts_attention_backward(B, Tq, Tk, H, Hkv, Dk, Dv, scale, q.p, k.p, v.p, probs.p, dout.p, dq.p, dk.p, dv.p) != 0) {
    fail(c, true, "out of memory for the scratch buffer");
    return NULL;
  }
  return undefined(env);
}

/* ---------------- index kernels ---------------- */

static bool bad_index(call_t *c, const char *name, int64_t at, int32_t v, int64_t n) {
  return fail(c, true, "%s[%lld] = %d is outside [0, %lld)", name, (long long)at, v, (long long)n);
}

/* (outer, n, inner, m, a, b, idx): rows = 1 for indexSelect/indexAdd (idx [m]), else element-wise idx */
static napi_value index_op(napi_env env, napi_callback_info info, const char *name, int which) {
  BEGIN(name, 7);
  int64_t outer, n, inner, m;
  f32_t a, b;
  i32_t idx;
  const bool sel = which == 0 || which == 1, fwd = which == 0 || which == 2;
  const char *an = fwd ? "out" : "dx", *bn = fwd ? "x" : "dout";
  CHECK(size_arg(c, 0, "outer", &outer) && size_arg(c, 1, "n", &n) && size_arg(c, 2, "inner", &inner) &&
        size_arg(c, 3, "m", &m) && f32(c, 4, an, &a) && f32(c, 5, bn, &b) && i32(c, 6, "idx", &idx));
  const int64_t big = mul3(outer, n, inner), small = mul3(outer, m, inner);
  CHECK(need(c, an, a.len, fwd ? small : big) && need(c, bn, b.len, fwd ? big : small) &&
        need(c, "idx", idx.len, sel ? (outer > 0 && inner > 0 ? m : 0) : small));
  int64_t bad = -1;
  switch (which) {
    case 0: bad = ts_index_select(outer, n, inner, m, a.p, b.p, idx.p); break;
    case 1: bad = ts_index_add(outer, n, inner, m, a.p, b.p, idx.p); break;
    case 2: bad = ts_gather(outer, n, inner, m, a.p, b.p, idx.p); break;
    case 3: bad = ts_scatter_add(outer, n, inner, m, a.p, b.p, idx.p); break;
  }
  if (bad >= 0) { bad_index(c, "idx", bad, idx.p[bad], n); return NULL; }
  return undefined(env);
}

static napi_value js_index_select(napi_env env, napi_callback_info info) { return index_op(env, info, "indexSelect", 0); }
static napi_value js_index_add(napi_env env, napi_callback_info info) { return index_op(env, info, "indexAdd", 1); }
static napi_value js_gather(napi_env env, napi_callback_info info) { return index_op(env, info, "gather", 2); }
static napi_value js_scatter_add(napi_env env, napi_callback_info info) { return index_op(env, info, "scatterAdd", 3); }

/* (n, inner, m, out, src, w, idx) */
static napi_value js_weighted_index_add(napi_env env, napi_callback_info info) {
  BEGIN("weightedIndexAdd", 7);
  int64_t n, inner, m;
  f32_t out, src, w;
  i32_t idx;
  CHECK(size_arg(c, 0, "n", &n) && size_arg(c, 1, "inner", &inner) && size_arg(c, 2, "m", &m) && f32(c, 3, "out", &out) &&
        f32(c, 4, "src", &src) && f32(c, 5, "w", &w) && i32(c, 6, "idx", &idx));
  CHECK(need(c, "out", out.len, mul3(1, n, inner)) && need(c, "src", src.len, mul3(1, m, inner)) && need(c, "w", w.len, m) &&
        need(c, "idx", idx.len, m));
  int64_t bad = ts_weighted_index_add(n, inner, m, out.p, src.p, w.p, idx.p);
  if (bad >= 0) { bad_index(c, "idx", bad, idx.p[bad], n); return NULL; }
  return undefined(env);
}

/* (n, inner, m, dsrc, dw, src, w, dy, idx) */
static napi_value js_weighted_index_add_backward(napi_env env, napi_callback_info info) {
  BEGIN("weightedIndexAddBackward", 9);
  int64_t n, inner, m;
  f32_t dsrc, dw, src, w, dy;
  i32_t idx;
  CHECK(size_arg(c, 0, "n", &n) && size_arg(c, 1, "inner", &inner) && size_arg(c, 2, "m", &m) && f32(c, 3, "dsrc", &dsrc) &&
        f32(c, 4, "dw", &dw) && f32(c, 5, "src", &src) && f32(c, 6, "w", &w) && f32(c, 7, "dy", &dy) && i32(c, 8, "idx", &idx));
  CHECK(need(c, "dsrc", dsrc.len, mul3(1, m, inner)) && need(c, "dw", dw.len, m) && need(c, "src", src.len, mul3(1, m, inner)) &&
        need(c, "w", w.len, m) && need(c, "dy", dy.len, mul3(1, n, inner)) && need(c, "idx", idx.len, m));
  int64_t bad = ts_weighted_index_add_backward(n, inner, m, dsrc.p, dw.p, src.p, w.p, dy.p, idx.p);
  if (bad >= 0) { bad_index(c, "idx", bad, idx.p[bad], n); return NULL; }
  return undefined(env);
}

static napi_value js_topk(napi_env env, napi_callback_info info) {
  BEGIN("topk", 6);
  int64_t rows, cols, k;
  f32_t values, x;
  i32_t indices;
  CHECK(size_arg(c, 0, "rows", &rows) && size_arg(c, 1, "cols", &cols) && size_arg(c, 2, "k", &k) &&
        f32(c, 3, "values", &values) && i32(c, 4, "indices", &indices) && f32(c, 5, "x", &x));
  if (k > cols) {
    fail(c, true, "k (%lld) is larger than cols (%lld)", (long long)k, (long long)cols);
    return NULL;
  }
  CHECK(need(c, "values", values.len, mul(rows, k)) && need(c, "indices", indices.len, mul(rows, k)) &&
        need(c, "x", x.len, mul(rows, cols)));
  ts_topk(rows, cols, k, values.p, indices.p, x.p);
  return undefined(env);
}

/* ---------------- optimizer ---------------- */

static napi_value js_axpy(napi_env env, napi_callback_info info) {
  BEGIN("axpy", 4);
  int64_t n;
  float alpha;
  f32_t x, y;
  CHECK(size_arg(c, 0, "n", &n) && fnum(c, 1, "alpha", &alpha) && f32(c, 2, "x", &x) && f32(c, 3, "y", &y) &&
        need(c, "x", x.len, n) && need(c, "y", y.len, n));
  ts_axpy(n, alpha, x.p, y.p);
  return undefined(env);
}

static napi_value js_adamw(napi_env env, napi_callback_info info) {
  BEGIN("adamw", 11);
  int64_t n;
  f32_t p, g, m, v;
  double lr, b1, b2, eps, wd, step;
  CHECK(size_arg(c, 0, "n", &n) && f32(c, 1, "p", &p) && f32(c, 2, "g", &g) && f32(c, 3, "m", &m) &&
        f32(c, 4, "v", &v) && number(c, 5, "lr", &lr) && number(c, 6, "beta1", &b1) && number(c, 7, "beta2", &b2) &&
        number(c, 8, "eps", &eps) && number(c, 9, "weightDecay", &wd) && number(c, 10, "step", &step) &&
        need(c, "p", p.len, n) && need(c, "g", g.len, n) && need(c, "m", m.len, n) && need(c, "v", v.len, n));
  if (!(step >= 1)) {
    fail(c, true, "step must be >= 1 (bias correction divides by 1 - beta^step), got %g", step);
    return NULL;
  }
  ts_adamw(n, p.p, g.p, m.p, v.p, lr, b1, b2, eps, wd, step);
  return undefined(env);
}

/* ---------------- info ---------------- */

static napi_value js_core_name(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  const char *s = openblas_get_corename();
  napi_create_string_utf8(env, s ? s : "unknown", NAPI_AUTO_LENGTH, &r);
  return r;
}

static napi_value js_num_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_int32(env, ts_num_threads(), &r);
  return r;
}

static napi_value js_set_num_threads(napi_env env, napi_callback_info info) {
  BEGIN("setNumThreads", 1);
  int64_t n = 1;
  CHECK(integer(c, 0, "n", 1, 1024, &n));
  napi_value r;
  napi_create_int32(env, ts_set_num_threads((int)n), &r);
  return r;
}

static napi_value js_blas_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_int32(env, openblas_get_num_threads(), &r);
  return r;
}

napi_value ts_js_map_file(napi_env env, napi_callback_info info); /* mmap.c */

static napi_value init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
    {"gemm", js_gemm}, {"binary", js_binary}, {"unary", js_unary}, {"unaryBackward", js_unary_backward},
    {"clamp", js_clamp}, {"copyStrided", js_copy_strided}, {"addStrided", js_add_strided}, {"reduce", js_reduce},
    {"softmax", js_softmax}, {"softmaxBackward", js_softmax_backward}, {"logSoftmax", js_log_softmax},
    {"logSoftmaxBackward", js_log_softmax_backward}, {"crossEntropy", js_cross_entropy},
    {"crossEntropyBackward", js_cross_entropy_backward}, {"rmsNorm", js_rms_norm},
    {"rmsNormBackward", js_rms_norm_backward}, {"rope", js_rope}, {"attention", js_attention},
    {"attentionBackward", js_attention_backward}, {"indexSelect", js_index_select}, {"indexAdd", js_index_add},
    {"gather", js_gather}, {"scatterAdd", js_scatter_add}, {"topk", js_topk}, {"weightedIndexAdd", js_weighted_index_add},
    {"swiglu", js_swiglu}, {"gemmGrouped", js_gemm_grouped}, {"swigluBackward", js_swiglu_backward},
    {"weightedIndexAddBackward", js_weighted_index_add_backward}, {"where", js_where},
    {"sumSquares", js_sum_squares}, {"axpy", js_axpy}, {"adamw", js_adamw}, {"coreName", js_core_name},
    {"numThreads", js_num_threads}, {"gemm16", js_gemm16}, {"gemm16Grouped", js_gemm16_grouped}, {"gemm16Path", js_gemm16_path},
    {"setGemm16Path", js_set_gemm16_path}, {"setNumThreads", js_set_num_threads}, {"blasThreads", js_blas_threads},
    {"mapFile", ts_js_map_file},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
