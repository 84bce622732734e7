/* clock.h — the monotonic clock as libactr's waits use it: deadlines for
 * futex and condition-variable waits, milliseconds for TTLs, a blocking
 * receive's time budget and its lend-and-wait step.  Internal. */
#ifndef ACTR_CLOCK_H
#define ACTR_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
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

/* actr__now_us: CLOCK_MONOTONIC in microseconds, the clock of GLib's
 * g_get_monotonic_time() (so its values serve g_cond_wait_until too). */
static inline int64_t actr__now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* actr__unix_now_s: the wall clock in Unix seconds, the clock of
 * credential expiry (AIS claims, TURN usernames). */
static inline uint64_t actr__unix_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec > 0 ? (uint64_t)ts.tv_sec : 0;
}

/* actr__wait_t: a blocking call's time budget: its @timeout_ms as given (-1:
 * no limit, 0: never wait) and, with a limit, when it ends (@until_us, on
 * actr__now_us's clock). */
typedef struct actr__wait {
  int timeout_ms;
  int64_t until_us;
} actr__wait_t;

static inline actr__wait_t actr__wait_start(int timeout_ms) {
  actr__wait_t w = {timeout_ms, timeout_ms > 0 ? actr__now_us() + (int64_t)timeout_ms * 1000 : 0};
  return w;
}

/* actr__ms_left: whole milliseconds from now until @until_us (on
 * actr__now_us's clock); 0 when less than one is left. */
static inline int actr__ms_left(int64_t until_us) {
  int64_t left = (until_us - actr__now_us()) / 1000;
  return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* actr__wait_left_ms: what is left of @w: -1 (no limit), 0 (never wait, or
 * less than a millisecond left), else whole milliseconds. */
static inline int actr__wait_left_ms(const actr__wait_t *w) {
  return w->timeout_ms <= 0 ? w->timeout_ms : actr__ms_left(w->until_us);
}

/* actr__lend_fn: run @owner's event loop on the calling thread until
 * @done(@data) or @timeout_ms; false when it could not (actr__runtime_lend,
 * or a DataChannel port's lend op). */
typedef bool (*actr__lend_fn)(void *owner, bool (*done)(void *data), void *data, int timeout_ms);

/* actr__wait_lend: the lend-and-wait step of a network lane's receive: a
 * receiver about to wait runs the transport's loop itself for what is left
 * of @w, so that the packet that completes its message wakes it directly (no
 * hand-off between threads).  Returns -1 when nothing is left of @w (nothing
 * was run), 1 when @done(@data) already held or the loop was lent and gave
 * back (look again: @done may hold), 0 when the loop could not be lent (wait
 * the usual way). */
static inline int actr__wait_lend(const actr__wait_t *w, actr__lend_fn lend, void *owner,
                                  bool (*done)(void *data), void *data) {
  int left = actr__wait_left_ms(w);
  if (left == 0)
    return -1;
  if (done(data))
    return 1;
  return lend(owner, done, data, left) ? 1 : 0;
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
