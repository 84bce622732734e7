/* error.c — names, messages and retry classes of the error codes, and the
 * per-thread detail of the last failure. */
#include "error_internal.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[512];

const char *actr_err_message(int err) {
  switch (err) {
  case ACTR_OK: return "success";
#define XX(name, val, cls, msg) case ACTR_E##name: return msg;
    ACTR_ERRNO_MAP(XX)
#undef XX
  }
  return "unknown error";
}

const char *actr_err_name(int err) {
  switch (err) {
  case ACTR_OK: return "OK";
#define XX(name, val, cls, msg) case ACTR_E##name: return #name;
    ACTR_ERRNO_MAP(XX)
#undef XX
  }
  return "UNKNOWN";
}

actr_err_class_t actr_err_class(int err) {
  switch (err) {
  case ACTR_OK: return ACTR_ERR_CLASS_NONE;
#define XX(name, val, cls, msg) case ACTR_E##name: return ACTR_ERR_CLASS_##cls;
    ACTR_ERRNO_MAP(XX)
#undef XX
  }
  return ACTR_ERR_CLASS_INTERNAL;
}

const char *actr_err_class_name(actr_err_class_t cls) {
  switch (cls) {
  case ACTR_ERR_CLASS_NONE: return "none";
  case ACTR_ERR_CLASS_TRANSIENT: return "transient";
  case ACTR_ERR_CLASS_CLIENT: return "client";
  case ACTR_ERR_CLASS_CORRUPT: return "corrupt";
  case ACTR_ERR_CLASS_INTERNAL: return "internal";
  }
  return "internal";
}

const char *actr_err_detail(void) { return last_error; }

int actr__fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return code;
}
