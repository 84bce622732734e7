/* clock.h — the monotonic clock as libactr's waits use it: deadlines for
 * futex and condition-variable waits, milliseconds for TTLs.  Internal. */
#ifndef ACTR_CLOCK_H
#define ACTR_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* actr__deadline_after: *@ts = CLOCK_MONOTONIC now + @ms. */
static inline void actr__deadline_after(struct timespec *ts, int ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

/* actr__now_ms: CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t actr__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* actr__cond_init_monotonic: a condition variable whose timed waits take
 * actr__deadline_after() deadlines (immune to wall-clock jumps). */
static inline void actr__cond_init_monotonic(pthread_cond_t *cond) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(cond, &ca);
  pthread_condattr_destroy(&ca);
}

#endif
