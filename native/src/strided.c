// Strided copies (copyStrided: gather into contiguous; addStrided: scatter-add from contiguous)
// and the dimension-collapsing helper shared with `binary`.
#include <string.h>

#include "tinyseek.h"

int ts_collapse(int nd, int64_t *shape, int nops, int64_t *const *strides) {
  int64_t sh[TS_MAX_NDIM], st[4][TS_MAX_NDIM];
  int k = 0;
  for (int d = 0; d < nd; d++) {
    if (shape[d] == 1) continue;
    sh[k] = shape[d];
    for (int o = 0; o < nops; o++) st[o][k] = strides[o][d];
    k++;
  }
  /* merge an outer dim into the inner one when every operand is contiguous across them */
  int m = 0;
  for (int d = 0; d < k; d++) {
    if (m > 0) {
      int ok = 1;
      for (int o = 0; o < nops; o++)
        if (st[o][m - 1] != st[o][d] * sh[d]) { ok = 0; break; }
      if (ok) {
        sh[m - 1] *= sh[d];
        for (int o = 0; o < nops; o++) st[o][m - 1] = st[o][d];
        continue;
      }
    }
    sh[m] = sh[d];
    for (int o = 0; o < nops; o++) st[o][m] = st[o][d];
    m++;
  }
  if (m == 0) { /* a single element */
    sh[0] = 1;
    for (int o = 0; o < nops; o++) st[o][0] = 0;
    m = 1;
  }
  for (int d = 0; d < m; d++) {
    shape[d] = sh[d];
    for (int o = 0; o < nops; o++) strides[o][d] = st[o][d];
  }
  return m;
}

typedef struct {
  int nd;
  int64_t shape[TS_MAX_NDIM], st[TS_MAX_NDIM];
  float *dense;       /* the contiguous side */
  float *strided;     /* the strided side (src for copy, dst for add) */
  int add;
} strided_job;

static void strided_range(void *p, int64_t begin, int64_t end) {
  const strided_job *j = p;
  const int nd = j->nd;
  const int64_t L = j->shape[nd - 1], s = j->st[nd - 1];
  int64_t idx[TS_MAX_NDIM], off = 0, rem = begin;
  for (int d = nd - 1; d >= 0; d--) {
    idx[d] = rem % j->shape[d];
    rem /= j->shape[d];
    off += idx[d] * j->st[d];
  }
  int64_t i = begin;
  while (i < end) {
    int64_t len = L - idx[nd - 1];
    if (len > end - i) len = end - i;
    float *dn = j->dense + i;
    float *sp = j->strided + off;
    if (!j->add) {
      if (s == 1) memcpy(dn, sp, sizeof(float) * (size_t)len);
      else if (s == 0) { float v = sp[0]; for (int64_t t = 0; t < len; t++) dn[t] = v; }
      else for (int64_t t = 0; t < len; t++) dn[t] = sp[t * s];
    } else {
      if (s == 1) for (int64_t t = 0; t < len; t++) sp[t] += dn[t];
      else if (s == 0) { float acc = sp[0]; for (int64_t t = 0; t < len; t++) acc += dn[t]; sp[0] = acc; }
      else for (int64_t t = 0; t < len; t++) sp[t * s] += dn[t];
    }
    i += len;
    off += len * s;
    idx[nd - 1] += len;
    for (int d = nd - 1; d > 0 && idx[d] == j->shape[d]; d--) {
      off -= j->shape[d] * j->st[d];
      idx[d] = 0;
      idx[d - 1]++;
      off += j->st[d - 1];
    }
  }
}

static int64_t prep(strided_job *j, int ndim, const int64_t *shape, const int64_t *strides) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) {
    j->shape[d] = shape[d];
    j->st[d] = strides[d];
    n *= shape[d];
  }
  if (n == 0) return 0;
  int64_t *sts[1] = {j->st};
  j->nd = ts_collapse(ndim, j->shape, 1, sts);
  return n;
}

void ts_copy_strided(int ndim, const int64_t *shape, float *out, const float *src, const int64_t *strides) {
  strided_job j;
  int64_t n = prep(&j, ndim, shape, strides);
  if (n == 0) return;
  j.dense = out;
  j.strided = (float *)src;
  j.add = 0;
  ts_parallel_auto(n, 1.0, strided_range, &j);
}

/* True when no two indices of the (collapsed) shape map to the same offset, so threads never collide. */
static int injective(const strided_job *j) {
  int64_t ord[TS_MAX_NDIM];
  int k = j->nd;
  for (int d = 0; d < k; d++) ord[d] = d;
  for (int a = 1; a < k; a++) /* insertion sort by |stride| */
    for (int b = a; b > 0; b--) {
      int64_t x = j->st[ord[b]] < 0 ? -j->st[ord[b]] : j->st[ord[b]];
      int64_t y = j->st[ord[b - 1]] < 0 ? -j->st[ord[b - 1]] : j->st[ord[b - 1]];
      if (x >= y) break;
      int64_t t = ord[b]; ord[b] = ord[b - 1]; ord[b - 1] = t;
    }
  int64_t span = 0; /* max |offset| reachable by the dims seen so far */
  for (int a = 0; a < k; a++) {
    int64_t s = j->st[ord[a]] < 0 ? -j->st[ord[a]] : j->st[ord[a]];
    if (j->shape[ord[a]] > 1 && s <= span) return 0;
    span += s * (j->shape[ord[a]] - 1);
  }
  return 1;
}

void ts_add_strided(int ndim, const int64_t *shape, float *dst, const int64_t *strides, const float *src) {
  strided_job j;
  int64_t n = prep(&j, ndim, shape, strides);
  if (n == 0) return;
  j.dense = (float *)src;
  j.strided = dst;
  j.add = 1;
  if (injective(&j)) ts_parallel_auto(n, 1.0, strided_range, &j);
  else strided_range(&j, 0, n);
}
