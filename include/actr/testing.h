/** @file
 * actr/testing.h — hooks for tests (the reference's `test-utils` feature).
 * Not for production use: a hook slows every DataChannel send. */
#ifndef ACTR_TESTING_H
#define ACTR_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <actr/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_testing_fragment_send_event_t: one DataChannel fragment that was just sent. */
typedef struct actr_testing_fragment_send_event {
  uint32_t msg_id;      /**< the fragment header's message id */
  uint16_t frag_index;  /**< this fragment's index in its message, from 0 */
  uint16_t total_frags; /**< fragments of the message */
  size_t fragment_payload_len; /**< payload bytes in this fragment (header excluded) */
  size_t message_len;          /**< bytes of the whole lane message */
} actr_testing_fragment_send_event_t;

/** actr_testing_fragment_send_hook_fn: called on the sending thread after each
 * fragment is handed to the channel, with no libactr lock held.  It may
 * block (sleep, wait on a condition) to delay the rest of the send, which
 * lets tests interleave or stall senders. */
typedef void (*actr_testing_fragment_send_hook_fn)(const actr_testing_fragment_send_event_t *ev, void *user);

/** actr_testing_set_fragment_send_hook: install @p fn (NULL removes it) for
 * every DataChannel lane of the process; the previous hook and its user
 * pointer are returned through @p prev_fn / @p prev_user (nullable) so a test
 * can restore them.  Any thread. */
ACTR_API void actr_testing_set_fragment_send_hook(actr_testing_fragment_send_hook_fn fn, void *user,
                                                  actr_testing_fragment_send_hook_fn *prev_fn,
                                                  void **prev_user);

/** actr_testing_set_reset_answers: with @p answer false, the WebRTC
 * channels of the process no longer reset their outgoing stream when the
 * peer resets its own (RFC 8831 §6.7): each plays a peer that never
 * finishes a close.  True (the default) restores it.  Any thread. */
ACTR_API void actr_testing_set_reset_answers(bool answer);

/** actr_testing_set_join_fragments: with @p join false, the WebRTC
 * associations of the process start no new run of joined fragments: a
 * DataChannel lane's fragments come up one by one, and the lane copies
 * each into the message (docs/webrtc.md, "Joined fragments"); a run under
 * way ends normally.  For measuring what joining saves (bench_dc_lane).
 * True (the default) restores it.  Any thread. */
ACTR_API void actr_testing_set_join_fragments(bool join);

#ifdef __cplusplus
}
#endif
#endif
