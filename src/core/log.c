/* log.c — the one logging hook.  libactr never prints by itself. */
#include "error_internal.h"

#include <stdarg.h>
#include <stdio.h>

static actr_log_fn log_fn;
static void *log_user;
static actr_log_level_t log_max = ACTR_LOG_WARN;

void actr_set_log_handler(actr_log_fn fn, actr_log_level_t max_level, void *user) {
  log_fn = fn;
  log_user = user;
  log_max = max_level;
}

void actr__log(actr_log_level_t level, const char *fmt, ...) {
  actr_log_fn fn = log_fn;
  if (!fn || level > log_max)
    return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fn(level, line, log_user);
}
