/* json_check.h — strict JSON syntax check (private). */
#ifndef ACTR_JSON_CHECK_H
#define ACTR_JSON_CHECK_H

#include <stddef.h>

/* Default nesting bound of the signaling decoder: its messages are flat
 * objects; unknown members may hold a little structure. */
#define ACTR__SIGNAL_MAX_DEPTH 16u

/* actr__json_check: ACTR_OK if @text (@len bytes, no NUL needed) is one JSON
 * value by RFC 8259 — UTF-8, only JSON's escapes, no \u0000, no lone
 * surrogate — with containers nested at most @max_depth (<= 64) deep; else
 * ACTR_ESIGNALING with the reason and byte offset in actr_err_detail().
 * Iterative: its stack use does not depend on the input.  Any thread. */
int actr__json_check(const char *text, size_t len, unsigned max_depth);

#endif
