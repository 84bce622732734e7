/* bench_common.h — timing and the one output format of every benchmark
 * (SPEC §6): `BENCH <name> <value> <unit>`. */
#ifndef ACTR_BENCH_COMMON_H
#define ACTR_BENCH_COMMON_H

#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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

/* bench_pin: the calling thread (and the threads it creates later) to CPU
 * @cpu, or to every CPU with -1; nothing without two CPUs.  For the
 * benchmarks that compare two round trips: on a 2-vCPU guest a round trip
 * costs ~50 us when the threads of a pair share a CPU and ~90 us when they
 * wake each other across, so unpinned pairs measure where the scheduler put
 * each (bench_ws, bench_scale). */
static inline void bench_pin(int cpu) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 2)
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (long i = 0; i < n && i < CPU_SETSIZE; i++)
    if (cpu < 0 || i == cpu)
      CPU_SET((int)i, &set);
  if (sched_setaffinity(0, sizeof set, &set))
    perror("bench_pin: sched_setaffinity");
}

/* bench_median: the median of @n samples (sorts them). */
static inline double bench_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  return v[n / 2];
}

/* Goals (issue 13): each goal is a ratio measured in one run, the two sides
 * interleaved (A, B, A, B, ...: at least BENCH_GOAL_ROUNDS rounds), so that
 * the machine's moods hit both alike.  bench_goal prints one line
 *
 *   GOAL <name> <median ratio> <op> <goal> PASS|SHORT rounds <n> spread <min>..<max>
 *
 * (op ">=" when more is better, "<=" when less is); scripts/run-bench.sh
 * repeats every GOAL line of the run at its end.  A goal that is not a
 * ratio (CPU seconds per GB) goes through the same line with its value. */
#define BENCH_GOAL_ROUNDS 5

static inline void bench_goal(const char *name, const double *ratios, int n, const char *op,
                              double goal) {
  double *v = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  if (!v || n <= 0) {
    free(v);
    return;
  }
  for (int i = 0; i < n; i++)
    v[i] = ratios[i];
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  /* The median of an even count: the mean of the middle two. */
  double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  bool more = op[0] == '>';
  bool pass = more ? med >= goal : med <= goal;
  printf("GOAL %s %.3f %s %g %s rounds %d spread %.3f..%.3f\n", name, med, op, goal,
         pass ? "PASS" : "SHORT", n, v[0], v[n - 1]);
  fflush(stdout);
  free(v);
}

#endif
