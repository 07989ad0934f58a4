// Peer for `tinyseek bench gemm`: a plain C program calling OpenBLAS cblas_sgemm directly.
// Reads requests "M N K seconds" (one per line) on stdin; for each, times
// C[M,N] = A[M,K] · B[K,N] (row-major, no transposes, alpha 1, beta 0) exactly as the
// tinyseek side does: one warm-up call, then calls until `seconds` have passed; prints
// "M N K gflops calls" and flushes. Prints "ready <corename> <threads>" at start.
// Build: cc -O2 -I/usr/include/x86_64-linux-gnu sgemm.c -o sgemm-peer -lopenblas
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *filled(long n, unsigned seed) {
  float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
  for (long i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
  }
  return p;
}

int main(void) {
  printf("ready %s %d\n", openblas_get_corename(), openblas_get_num_threads());
  fflush(stdout);
  int M, N, K;
  double seconds;
  while (scanf("%d %d %d %lf", &M, &N, &K, &seconds) == 4) {
    float *A = filled((long)M * K, 1), *B = filled((long)K * N, 2), *C = filled((long)M * N, 3);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
    long calls = 0;
    double t0 = now(), t;
    do {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
      calls++;
      t = now() - t0;
    } while (t < seconds);
    printf("%d %d %d %.3f %ld\n", M, N, K, 2.0 * M * N * K * (double)calls / t * 1e-9, calls);
    fflush(stdout);
    free(A);
    free(B);
    free(C);
  }
  return 0;
}
