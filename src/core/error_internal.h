/* error_internal.h — how libactr code reports failures and logs.
 * Not public: only src/ and tests include it. */
#ifndef ACTR_ERROR_INTERNAL_H
#define ACTR_ERROR_INTERNAL_H

#include <actr/error.h>

/* actr__fail: record a detailed message for @code on this thread (read back
 * with actr_err_detail()) and return @code, so that callers write
 * `return actr__fail(ACTR_EINVALID_ARGUMENT, "capacity %u", cap);`. */
int actr__fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* actr__log: send one line to the installed log handler, if any.  Control
 * bytes in the line (a peer's text may carry them) become '?'. */
void actr__log(actr_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ACTR__LOG_PEER: actr__log for a line a peer can cause once per message
 * (a dropped fragment, a refused frame): each call site sends at most
 * ACTR__LOG_SITE_BURST lines per ACTR__LOG_SITE_WINDOW_MS; the next line
 * after a window in which lines were held back says how many.  So one
 * hostile peer cannot turn the log handler into its amplifier. */
#define ACTR__LOG_SITE_BURST 10u
#define ACTR__LOG_SITE_WINDOW_MS 10000
typedef struct actr__log_site {
  long long window_start_ms; /* monotonic; guarded by log.c's lock */
  unsigned sent, held;
} actr__log_site_t;
void actr__log_site(actr__log_site_t *site, actr_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define ACTR__LOG_PEER(level, ...)                                                              \
  do {                                                                                          \
    static actr__log_site_t site_;                                                              \
    actr__log_site(&site_, level, __VA_ARGS__);                                                 \
  } while (0)

#endif
