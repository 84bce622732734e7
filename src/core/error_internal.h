/* error_internal.h — how libactr code reports failures and logs.
 * Not public: only src/ and tests include it. */
#ifndef ACTR_ERROR_INTERNAL_H
#define ACTR_ERROR_INTERNAL_H

#include <actr/error.h>

/* actr__fail: record a detailed message for @code on this thread (read back
 * with actr_err_detail()) and return @code, so that callers write
 * `return actr__fail(ACTR_EINVALID_ARGUMENT, "capacity %u", cap);`. */
int actr__fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* actr__log: send one line to the installed log handler, if any. */
void actr__log(actr_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
