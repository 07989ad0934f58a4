// A small thread pool with blocking waits.
//
// Why not OpenMP: libgomp's idle threads spin after every parallel region and steal the
// second core from OpenBLAS's own threads in the GEMM that follows. Here, idle workers spin
// only briefly (TINYSEEK_SPIN pause iterations, default 1500 ≈ 40 µs) and then sleep on a
// futex. The caller's thread always takes part; chunks are claimed dynamically, so a worker
// that wakes late (or is descheduled because other processes hold the cores) just finds less
// to do, and the caller never waits for it to wake.
#define _GNU_SOURCE
#include <cblas.h>
#include <immintrin.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tinyseek.h"

#define TS_MAX_THREADS 64
/* Below this many element-operations a parallel region costs more than it saves. */
#define TS_PAR_MIN_WORK 32768.0

static int g_nthreads = 1;      /* threads started (caller included) */
static _Atomic int g_use = 1;   /* threads kernels may use (setNumThreads) */
static int g_spin = 1500;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_dispatch = PTHREAD_MUTEX_INITIALIZER;

/*
 * The current job. Chunks are claimed through one 64-bit word holding (generation, chunk count,
 * next chunk): a claim succeeds only while the word still carries the job's generation, and a
 * job cannot finish while one of its chunks is claimed but not done, so a worker that succeeded
 * can read the job's fields safely. A worker that wakes late for a finished job finds its claim
 * rejected, so the caller never has to wait for sleeping workers before the next job.
 */
#define MAX_CHUNKS 65535
static struct {
  ts_range_fn fn;
  void *ctx;
  int64_t n, grain;
  _Atomic int use;      /* threads taking part (read before claiming, so atomic) */
  _Atomic int64_t done; /* chunks finished */
} g_job;
static _Atomic uint64_t g_claim; /* generation << 32 | chunks << 16 | next chunk */

static _Thread_local int tl_index = 0; /* 0 for callers, 1.. for workers */

static uint32_t g_last_gen;      /* last generation issued (dispatcher only) */
static _Atomic uint32_t g_gen;   /* futex word: the generation of the latest job */
static _Atomic int g_sleepers;   /* workers blocked in futex_wait */

static void futex_wait(_Atomic uint32_t *addr, uint32_t val) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}
static void futex_wake_all(_Atomic uint32_t *addr) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void run_chunks(uint32_t gen) {
  for (;;) {
    uint64_t c = atomic_load_explicit(&g_claim, memory_order_acquire);
    if ((uint32_t)(c >> 32) != gen) return;             /* a newer job (or none) */
    if ((c & 0xffff) >= ((c >> 16) & 0xffff)) return;   /* all chunks claimed */
    if (!atomic_compare_exchange_weak_explicit(&g_claim, &c, c + 1, memory_order_acq_rel, memory_order_acquire))
      continue;
    const int64_t b = (int64_t)(c & 0xffff) * g_job.grain;
    const int64_t e = b + g_job.grain < g_job.n ? b + g_job.grain : g_job.n;
    g_job.fn(g_job.ctx, b, e);
    atomic_fetch_add_explicit(&g_job.done, 1, memory_order_release);
  }
}

static void *worker_main(void *arg) {
  tl_index = (int)(intptr_t)arg;
  /* Workers are created inside pool_init, before any job exists, so the first job is generation 1.
     (Reading g_gen here instead would race with a dispatch issued before this thread first runs.) */
  uint32_t seen = 0;
  for (;;) {
    uint32_t g;
    int spins = 0;
    while ((g = atomic_load_explicit(&g_gen, memory_order_acquire)) == seen) {
      if (spins < g_spin) { _mm_pause(); spins++; continue; }
      atomic_fetch_add(&g_sleepers, 1);
      if (atomic_load(&g_gen) == seen) futex_wait(&g_gen, seen);
      atomic_fetch_sub(&g_sleepers, 1);
    }
    seen = g;
    if (tl_index < atomic_load_explicit(&g_job.use, memory_order_relaxed)) run_chunks(g);
  }
  return NULL;
}

static int env_int(const char *name, int def) {
  const char *s = getenv(name);
  if (!s || !*s) return def;
  char *end;
  long v = strtol(s, &end, 10);
  return *end ? def : (int)v;
}

static void pool_init(void) {
  cpu_set_t set;
  int n = 1;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n < 1) n = 1;
  n = env_int("TINYSEEK_NUM_THREADS", n);
  if (n < 1) n = 1;
  if (n > TS_MAX_THREADS) n = TS_MAX_THREADS;
  g_spin = env_int("TINYSEEK_SPIN", g_spin);
  if (g_spin < 0) g_spin = 0;
  int started = 1;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 1 << 20);
  for (int i = 1; i < n; i++) {
    pthread_t t;
    if (pthread_create(&t, &attr, worker_main, (void *)(intptr_t)i) != 0) break;
    started++;
  }
  pthread_attr_destroy(&attr);
  g_nthreads = started;
  atomic_store(&g_use, started);
}

int ts_thread_index(void) { return tl_index; }

int ts_num_threads(void) {
  pthread_once(&g_once, pool_init);
  return atomic_load_explicit(&g_use, memory_order_relaxed);
}

int ts_set_num_threads(int n) {
  pthread_once(&g_once, pool_init);
  if (n < 1) n = 1;
  if (n > g_nthreads) n = g_nthreads;
  atomic_store(&g_use, n);
  openblas_set_num_threads(n);
  return n;
}

void ts_parallel_for(int64_t n, int64_t grain, ts_range_fn fn, void *ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if ((n + grain - 1) / grain > MAX_CHUNKS) grain = (n + MAX_CHUNKS - 1) / MAX_CHUNKS;
  pthread_once(&g_once, pool_init);
  const int use = atomic_load_explicit(&g_use, memory_order_relaxed);
  if (use <= 1 || n <= grain || pthread_mutex_trylock(&g_dispatch) != 0) {
    fn(ctx, 0, n);
    return;
  }
  const int64_t chunks = (n + grain - 1) / grain;
  uint32_t gen = ++g_last_gen;
  if (gen == 0) gen = ++g_last_gen; /* 0 is "no job yet" */
  g_job.fn = fn;
  g_job.ctx = ctx;
  g_job.n = n;
  g_job.grain = grain;
  atomic_store_explicit(&g_job.use, use, memory_order_relaxed);
  atomic_store_explicit(&g_job.done, 0, memory_order_relaxed);
  atomic_store_explicit(&g_claim, (uint64_t)gen << 32 | (uint64_t)chunks << 16, memory_order_release);
  atomic_store(&g_gen, gen);
  if (atomic_load(&g_sleepers) > 0) futex_wake_all(&g_gen);
  run_chunks(gen);
  int spins = 0;
  while (atomic_load_explicit(&g_job.done, memory_order_acquire) < chunks) {
    if (++spins < 4096) _mm_pause();
    else sched_yield();
  }
  pthread_mutex_unlock(&g_dispatch);
}

void ts_parallel_auto(int64_t n, double cost, ts_range_fn fn, void *ctx) {
  if (n <= 0) return;
  int nt = ts_num_threads();
  if (nt <= 1 || (double)n * cost < TS_PAR_MIN_WORK || n < 2) {
    fn(ctx, 0, n);
    return;
  }
  int64_t chunks = (int64_t)nt * 4;
  if (chunks > n) chunks = n;
  ts_parallel_for(n, (n + chunks - 1) / chunks, fn, ctx);
}

int ts_blas_single_begin(void) {
  int prev = openblas_get_num_threads();
  if (prev != 1) openblas_set_num_threads(1);
  return prev;
}

void ts_blas_single_end(int previous) {
  if (previous != 1) openblas_set_num_threads(previous);
}
