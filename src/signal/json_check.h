/* json_check.h — strict JSON syntax check (private). */
#ifndef ACTR_JSON_CHECK_H
#define ACTR_JSON_CHECK_H

#include <stddef.h>

/* Default nesting bound of the signaling decoder: its messages are flat
 * objects; unknown members may hold a little structure. */
#define ACTR__SIGNAL_MAX_DEPTH 16u
/* ... and its object members in all: a message has at most 6 of its own.
 * json-glib 1.6 looks each member's name up in a list of those before it
 * (duplicates) and hashes names with an unseeded hash: 30,000 members in
 * one 256 KiB message cost seconds of the I/O thread. */
#define ACTR__SIGNAL_MAX_MEMBERS 64u

/* actr__json_check: ACTR_OK if @text (@len bytes, no NUL needed) is one JSON
 * value by RFC 8259 — UTF-8, only JSON's escapes, no \u0000, no lone
 * surrogate — with containers nested at most @max_depth (<= 64) deep and at
 * most @max_members object members in all; else ACTR_ESIGNALING with the
 * reason and byte offset in actr_err_detail().  Iterative: its stack use
 * does not depend on the input.  Any thread. */
int actr__json_check(const char *text, size_t len, unsigned max_depth, unsigned max_members);

#endif
