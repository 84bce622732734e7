/* lane_ops.h — the contract between the generic lane code (lane.c) and each
 * lane kind.  A kind is one file exporting one const actr__lane_ops_t; its
 * object embeds struct actr_lane as its first member.
 *
 * Slots (NULL means "not offered": lane.c returns ACTR_EINVALID_OPERATION
 * with the reference's message):
 *   send           copy @len bytes out of @data before returning.  Waits for
 *                  room at most @timeout_ms (-1: no limit; 0: never waits,
 *                  ACTR_EWOULD_BLOCK and nothing sent unless all of it goes
 *                  now); ACTR_ETIMEOUT when the time runs out.  Nothing is
 *                  sent on failure, except a multi-fragment message cut by
 *                  its timeout (documented in actr/lane.h).
 *   recv           next whole message; @timeout_ms 0 = never wait, -1 = no
 *                  limit.  ACTR_EWOULD_BLOCK (timeout 0) / ACTR_ETIMEOUT.
 *                  On ACTR_OK *@out is transfer full.
 *   send_envelope  on ACTR_OK the lane owns @env; on failure the caller does.
 *   recv_envelope  as recv, for envelopes.
 *   set_handler    switch to push delivery (actr_lane_set_handler); waits
 *                  until the switch is done on the delivery thread.
 *   set_envelope_handler  as set_handler, for lanes carrying envelopes.
 *   set_paused     actr_lane_pause (true) / actr_lane_resume (false) of push
 *                  delivery; resume never delivers inline outside a running
 *                  delivery (actr/lane.h).
 *   set_writable   actr_lane_set_writable_handler.
 *   is_healthy     NULL: always true.
 *   stats          fill what the kind counts (lane.c zeroes *out first).
 * Mandatory:
 *   lane_type      the reference's name ("Mpsc", "WebSocket", ...).
 *   close          idempotent, non-blocking; wakes every blocked caller,
 *                  which returns the kind's closed code.
 *   fini           free the kind's object; called once, after the last
 *                  handle is released and close has run.
 * Every slot may be called from any thread, concurrently. */
#ifndef ACTR_LANE_OPS_H
#define ACTR_LANE_OPS_H

#include <stdatomic.h>
#include <stdbool.h>

#include <actr/lane.h>

typedef struct actr__lane_ops {
  const char *lane_type;
  int (*send)(actr_lane_t *lane, const void *data, size_t len, int timeout_ms);
  int (*recv)(actr_lane_t *lane, int timeout_ms, actr_msg_t **out);
  int (*send_envelope)(actr_lane_t *lane, actr_envelope_t *env, int timeout_ms);
  int (*recv_envelope)(actr_lane_t *lane, int timeout_ms, actr_envelope_t **out);
  int (*set_handler)(actr_lane_t *lane, actr_lane_handler_fn fn, void *user);
  int (*set_envelope_handler)(actr_lane_t *lane, actr_lane_envelope_handler_fn fn, void *user);
  int (*set_paused)(actr_lane_t *lane, bool paused);
  int (*set_writable)(actr_lane_t *lane, actr_lane_writable_fn fn, void *user);
  bool (*is_healthy)(const actr_lane_t *lane);
  void (*stats)(const actr_lane_t *lane, actr_lane_stats_t *out);
  void (*close)(actr_lane_t *lane);
  void (*fini)(actr_lane_t *lane);
} actr__lane_ops_t;

struct actr_lane {
  const actr__lane_ops_t *ops;
  atomic_int refs;
  actr_payload_type_t payload_type;
};

/* actr__lane_init: set up the embedded base with one reference; aborts if a
 * mandatory slot is missing (a programming error in libactr, not input). */
void actr__lane_init(actr_lane_t *lane, const actr__lane_ops_t *ops, actr_payload_type_t type);

#endif
