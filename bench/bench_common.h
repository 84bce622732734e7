/* bench_common.h — timing and the one output format of every benchmark
 * (SPEC §6): `BENCH <name> <value> <unit>`. */
#ifndef ACTR_BENCH_COMMON_H
#define ACTR_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void bench_line(const char *name, double value, const char *unit) {
  printf("BENCH %s %.0f %s\n", name, value, unit);
  fflush(stdout);
}

/* bench_line_f: as bench_line for figures below 1 (seconds): 9 decimals. */
static inline void bench_line_f(const char *name, double value, const char *unit) {
  printf("BENCH %s %.9f %s\n", name, value, unit);
  fflush(stdout);
}

static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* bench_median: the median of @n samples (sorts them). */
static inline double bench_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  return v[n / 2];
}

#endif
