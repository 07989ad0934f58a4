// Index kernels: row gather/scatter-add (indexSelect/indexAdd), element gather/scatter-add along
// the middle axis (gather/scatterAdd), and top-k. Each validates its indices before touching
// memory and returns the first bad position (or -1). Scatter-adds split work so that no two
// threads add into the same element, and keep the reference's order of additions.
#include <stdlib.h>
#include <string.h>

#include "tinyseek.h"

typedef struct {
  int64_t outer, n, inner, m, cols_per; /* cols_per: column block for column-split scatters */
  float *dst;
  const float *src;
  const int32_t *idx;
} ix_job;

static int64_t check_idx(const int32_t *idx, int64_t count, int64_t n) {
  for (int64_t t = 0; t < count; t++)
    if (idx[t] < 0 || idx[t] >= n) return t;
  return -1;
}

/* ---- indexSelect: out[o, j, :] = x[o, idx[j], :] ---- */
static void isel_range(void *p, int64_t r0, int64_t r1) {
  const ix_job *j = p;
  for (int64_t r = r0; r < r1; r++) {
    const int64_t o = r / j->m, t = r % j->m;
    memcpy(j->dst + r * j->inner, j->src + (o * j->n + j->idx[t]) * j->inner, sizeof(float) * (size_t)j->inner);
  }
}

int64_t ts_index_select(int64_t outer, int64_t n, int64_t inner, int64_t m, float *out, const float *x,
                        const int32_t *idx) {
  if (outer > 0 && inner > 0) {
    int64_t bad = check_idx(idx, m, n);
    if (bad >= 0) return bad;
  }
  if (outer <= 0 || inner <= 0 || m <= 0) return -1;
  ix_job j = {outer, n, inner, m, 0, out, x, idx};
  ts_parallel_auto(outer * m, (double)inner, isel_range, &j);
  return -1;
}

/* ---- indexAdd: dx[o, idx[j], :] += dout[o, j, :]; threads split the columns ---- */
static void iadd_range(void *p, int64_t c0, int64_t c1) {
  const ix_job *j = p;
  const int64_t a = c0 * j->cols_per, b = c1 * j->cols_per < j->inner ? c1 * j->cols_per : j->inner;
  for (int64_t o = 0; o < j->outer; o++)
    for (int64_t t = 0; t < j->m; t++) {
      float *d = j->dst + (o * j->n + j->idx[t]) * j->inner;
      const float *s = j->src + (o * j->m + t) * j->inner;
      for (int64_t i = a; i < b; i++) d[i] += s[i];
    }
}

int64_t ts_index_add(int64_t outer, int64_t n, int64_t inner, int64_t m, float *dx, const float *dout,
                     const int32_t *idx) {
  if (outer > 0 && inner > 0) {
    int64_t bad = check_idx(idx, m, n);
    if (bad >= 0) return bad;
  }
  if (outer <= 0 || inner <= 0 || m <= 0) return -1;
  ix_job j = {outer, n, inner, m, 64, dx, dout, idx};
  const int64_t blocks = (inner + 63) / 64;
  ts_parallel_auto(blocks, (double)(outer * m) * 64.0, iadd_range, &j);
  return -1;
}

/* ---- weightedIndexAdd (MoE combine): out[idx[j], :] += w[j] * src[j, :]; threads split the columns ---- */
typedef struct {
  int64_t n, inner, m, cols_per;
  float *out, *dsrc, *dw;
  const float *src, *w, *dy;
  const int32_t *idx;
} wia_job;

static void wia_range(void *p, int64_t c0, int64_t c1) {
  const wia_job *j = p;
  const int64_t a = c0 * j->cols_per, b = c1 * j->cols_per < j->inner ? c1 * j->cols_per : j->inner;
  for (int64_t t = 0; t < j->m; t++) {
    float *d = j->out + (int64_t)j->idx[t] * j->inner;
    const float *s = j->src + t * j->inner;
    const float wt = j->w[t];
    for (int64_t i = a; i < b; i++) d[i] += wt * s[i];
  }
}

int64_t ts_weighted_index_add(int64_t n, int64_t inner, int64_t m, float *out, const float *src, const float *w,
                              const int32_t *idx) {
  int64_t bad = check_idx(idx, m, n);
  if (bad >= 0) return bad;
  if (inner <= 0 || m <= 0) return -1;
  wia_job j = {n, inner, m, 64, out, NULL, NULL, src, w, NULL, idx};
  ts_parallel_auto((inner + 63) / 64, (double)m * 64.0 * 2.0, wia_range, &j);
  return -1;
}

/* backward: dsrc[j, :] = w[j] * dy[idx[j], :], dw[j] = <src[j, :], dy[idx[j], :]>; threads split the rows */
static void wiab_range(void *p, int64_t r0, int64_t r1) {
  const wia_job *j = p;
  for (int64_t t = r0; t < r1; t++) {
    const float *g = j->dy + (int64_t)j->idx[t] * j->inner;
    const float *s = j->src + t * j->inner;
    float *ds = j->dsrc + t * j->inner;
    const float wt = j->w[t];
    float acc = 0.f;
    for (int64_t i = 0; i < j->inner; i++) {
      ds[i] = wt * g[i];
      acc += s[i] * g[i];
    }
    j->dw[t] = acc;
  }
}

int64_t ts_weighted_index_add_backward(int64_t n, int64_t inner, int64_t m, float *dsrc, float *dw, const float *src,
                                       const float *w, const float *dy, const int32_t *idx) {
  int64_t bad = check_idx(idx, m, n);
  if (bad >= 0) return bad;
  if (m <= 0) return -1;
  wia_job j = {n, inner, m, 0, NULL, dsrc, dw, src, w, dy, idx};
  ts_parallel_auto(m, (double)inner * 3.0, wiab_range, &j);
  return -1;
}

/* ---- gather: out[o, j, i] = x[o, idx[o, j, i], i] ---- */
static void gat_range(void *p, int64_t r0, int64_t r1) {
  const ix_job *j = p;
  for (int64_t r = r0; r < r1; r++) { /* r = o * m + t */
    const int64_t o = r / j->m;
    const int32_t *ix = j->idx + r * j->inner;
    float *d = j->dst + r * j->inner;
    const float *x = j->src + o * j->n * j->inner;
    for (int64_t i = 0; i < j->inner; i++) d[i] = x[(int64_t)ix[i] * j->inner + i];
  }
}

int64_t ts_gather(int64_t outer, int64_t n, int64_t inner, int64_t m, float *out, const float *x, const int32_t *idx) {
  int64_t bad = check_idx(idx, outer * m * inner, n);
  if (bad >= 0) return bad;
  if (outer <= 0 || inner <= 0 || m <= 0) return -1;
  ix_job j = {outer, n, inner, m, 0, out, x, idx};
  ts_parallel_auto(outer * m, (double)inner, gat_range, &j);
  return -1;
}

/* ---- scatterAdd: dx[o, idx[o, j, i], i] += dout[o, j, i]; threads split o (or columns if outer is small) ---- */
static void sca_range(void *p, int64_t u0, int64_t u1) {
  const ix_job *j = p;
  /* unit u = o * ncb + column block */
  const int64_t ncb = (j->inner + j->cols_per - 1) / j->cols_per;
  for (int64_t u = u0; u < u1; u++) {
    const int64_t o = u / ncb, a = (u % ncb) * j->cols_per;
    const int64_t b = a + j->cols_per < j->inner ? a + j->cols_per : j->inner;
    float *d = j->dst + o * j->n * j->inner;
    for (int64_t t = 0; t < j->m; t++) {
      const int64_t r = (o * j->m + t) * j->inner;
      for (int64_t i = a; i < b; i++) d[(int64_t)j->idx[r + i] * j->inner + i] += j->src[r + i];
    }
  }
}

int64_t ts_scatter_add(int64_t outer, int64_t n, int64_t inner, int64_t m, float *dx, const float *dout,
                       const int32_t *idx) {
  int64_t bad = check_idx(idx, outer * m * inner, n);
  if (bad >= 0) return bad;
  if (outer <= 0 || inner <= 0 || m <= 0) return -1;
  const int nt = ts_num_threads();
  int64_t cols = inner;
  if (outer < 2 * nt && inner >= 128) cols = 64; /* few outer slices: split columns too */
  ix_job j = {outer, n, inner, m, cols, dx, dout, idx};
  const int64_t units = outer * ((inner + cols - 1) / cols);
  ts_parallel_auto(units, (double)(m * cols), sca_range, &j);
  return -1;
}

/* ---- topk: descending, ties to the lower index ---- */
typedef struct {
  int64_t cols, k;
  float *values;
  int32_t *indices;
  const float *x;
} tk_job;

typedef struct { float v; int32_t i; } vi_pair;

static int cmp_pair(const void *pa, const void *pb) {
  const vi_pair *a = pa, *b = pb;
  if (a->v > b->v) return -1;
  if (a->v < b->v) return 1;
  return a->i < b->i ? -1 : a->i > b->i;
}

static void topk_range(void *p, int64_t r0, int64_t r1) {
  const tk_job *j = p;
  const int64_t n = j->cols, k = j->k;
  vi_pair *buf = NULL;
  if (k > 32) buf = malloc(sizeof(vi_pair) * (size_t)n);
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * n;
    float *vals = j->values + r * k;
    int32_t *ids = j->indices + r * k;
    if (k <= 32 || !buf) {
      /* insertion into a sorted top list; a later index only enters on a strictly greater value */
      int64_t cnt = 0;
      for (int64_t c = 0; c < n; c++) {
        const float v = x[c];
        if (cnt == k && !(v > vals[k - 1])) continue;
        int64_t pos = cnt < k ? cnt : k - 1;
        while (pos > 0 && v > vals[pos - 1]) {
          vals[pos] = vals[pos - 1];
          ids[pos] = ids[pos - 1];
          pos--;
        }
        vals[pos] = v;
        ids[pos] = (int32_t)c;
        if (cnt < k) cnt++;
      }
    } else {
      for (int64_t c = 0; c < n; c++) { buf[c].v = x[c]; buf[c].i = (int32_t)c; }
      qsort(buf, (size_t)n, sizeof(vi_pair), cmp_pair);
      for (int64_t t = 0; t < k; t++) { vals[t] = buf[t].v; ids[t] = buf[t].i; }
    }
  }
  free(buf);
}

void ts_topk(int64_t rows, int64_t cols, int64_t k, float *values, int32_t *indices, const float *x) {
  if (rows <= 0 || k <= 0) return;
  tk_job j = {cols, k, values, indices, x};
  ts_parallel_auto(rows, (double)cols * 2, topk_range, &j);
}
