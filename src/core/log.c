/* log.c — the one logging hook.  libactr never prints by itself.
 *
 * The handler, its user pointer and its level change together: a logging
 * thread copies all three under the lock (never a new handler with the old
 * user pointer), then calls the handler outside it. */
#include "error_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

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

/* emit: format and hand over one line (@site: its limit, or NULL). */
static void emit(actr__log_site_t *site, actr_log_level_t level, const char *fmt, va_list ap) {
  if ((int)level > atomic_load_explicit(&log_max, memory_order_relaxed))
    return;
  pthread_mutex_lock(&log_mu);
  actr_log_fn fn = log_fn;
  void *user = log_user;
  int max = atomic_load(&log_max);
  unsigned held = 0;
  bool send = fn && (int)level <= max;
  if (send && site) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (site->sent == 0 || now - site->window_start_ms >= ACTR__LOG_SITE_WINDOW_MS) {
      held = site->held; /* said with this line */
      site->window_start_ms = now;
      site->sent = 0;
      site->held = 0;
    }
    if (site->sent < ACTR__LOG_SITE_BURST)
      site->sent++;
    else {
      site->held++;
      send = false;
    }
  }
  pthread_mutex_unlock(&log_mu);
  if (!send)
    return;
  char line[1024];
  int n = vsnprintf(line, sizeof line, fmt, ap);
  if (held && n >= 0 && (size_t)n < sizeof line)
    snprintf(line + n, sizeof line - (size_t)n, " (and %u more like it, not logged)", held);
  for (char *p = line; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  fn(level, line, user);
}

void actr__log(actr_log_level_t level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(NULL, level, fmt, ap);
  va_end(ap);
}

void actr__log_site(actr__log_site_t *site, actr_log_level_t level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(site, level, fmt, ap);
  va_end(ap);
}
