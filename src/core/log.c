/* log.c — the one logging hook.  libactr never prints by itself.
 *
 * The handler, its user pointer and its level change together: a logging
 * thread copies all three under the lock (never a new handler with the old
 * user pointer), then calls the handler outside it. */
#include "error_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static actr_log_fn log_fn;
static void *log_user;
/* Read without the lock first: a line above it is not even formatted. */
static atomic_int log_max = ACTR_LOG_WARN;

void actr_log_set_handler(actr_log_fn fn, actr_log_level_t max_level, void *user) {
  pthread_mutex_lock(&log_mu);
  log_fn = fn;
  log_user = user;
  atomic_store(&log_max, fn ? (int)max_level : -1);
  pthread_mutex_unlock(&log_mu);
}

void actr__log(actr_log_level_t level, const char *fmt, ...) {
  if ((int)level > atomic_load_explicit(&log_max, memory_order_relaxed))
    return;
  pthread_mutex_lock(&log_mu);
  actr_log_fn fn = log_fn;
  void *user = log_user;
  int max = atomic_load(&log_max);
  pthread_mutex_unlock(&log_mu);
  if (!fn || (int)level > max)
    return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fn(level, line, user);
}
