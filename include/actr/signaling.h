/** @file
 * actr/signaling.h — how two WebRTC peers exchange offer, answer and ICE
 * candidates (SPEC §5 message set), independent of the path that carries
 * them.
 *
 * A signaling endpoint is one end of such a path: libactr sends through it
 * and is told what arrives.  libactr ships two: an in-process pair (tests,
 * demo) and the JSON-over-WebSocket protocol of `actr-lane serve` (`/signal`).
 * Users may write their own by filling actr_signaling_ops_t. */
#ifndef ACTR_SIGNALING_H
#define ACTR_SIGNALING_H

#include <stddef.h>
#include <actr/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_signaling_kind_t: what a signaling message is. */
typedef enum actr_signaling_kind {
  ACTR_SIGNALING_OFFER = 1,         /**< an SDP offer */
  ACTR_SIGNALING_ANSWER,            /**< an SDP answer */
  ACTR_SIGNALING_CANDIDATE,         /**< candidate non-empty */
  ACTR_SIGNALING_END_OF_CANDIDATES, /**< {"type":"candidate","candidate":""} */
  ACTR_SIGNALING_ERROR              /**< the peer reports an error (message) */
} actr_signaling_kind_t;

/** actr_signaling_msg_t: one signaling message.  Strings are owned by the
 * message when it comes from actr_signaling_msg_parse (release with
 * actr_signaling_msg_clear); a caller building one to send may point them at
 * its own storage. */
typedef struct actr_signaling_msg {
  actr_signaling_kind_t kind; /**< what the message is; says which fields are set */
  char *sdp;             /**< OFFER, ANSWER */
  char *candidate;       /**< CANDIDATE: "candidate:..." (the a= value) */
  char *sdp_mid;         /**< CANDIDATE, nullable */
  int sdp_mline_index;   /**< CANDIDATE, -1 when absent */
  char *message;         /**< ERROR */
} actr_signaling_msg_t;

/** Bounds of the JSON codec (longer input is refused, never truncated). */
#define ACTR_SIGNALING_MAX_JSON (256u * 1024u)
#define ACTR_SIGNALING_MAX_SDP (128u * 1024u) /**< the longest SDP (see above) */
#define ACTR_SIGNALING_MAX_CANDIDATE 2048u    /**< the longest candidate (see above) */

/** actr_signaling_msg_parse: decode one JSON text message.  Anything that does
 * not fit SPEC §5 (not JSON, not an object, unknown or missing "type", a
 * field of the wrong type, over a bound) is ACTR_ESIGNALING with the reason in
 * actr_err_detail(), and *@p out is left cleared.  Any thread. */
ACTR_API int actr_signaling_msg_parse(const char *json, size_t len, actr_signaling_msg_t *out);

/** actr_signaling_msg_to_json: encode @p msg; *@p out is a NUL-terminated string
 * (transfer full, release with free()).  ACTR_EINVALID_ARGUMENT for a message
 * missing what its kind needs, or whose sdp, candidate or sdp_mid is not
 * UTF-8.  An ERROR's message goes out cut to its longest valid UTF-8 prefix
 * of at most 4096 bytes (an error detail that quotes the peer may have been
 * cut inside a character). */
ACTR_API int actr_signaling_msg_to_json(const actr_signaling_msg_t *msg, char **out);

/** actr_signaling_msg_clear: free the strings of a parsed message and zero it. */
ACTR_API void actr_signaling_msg_clear(actr_signaling_msg_t *msg);

/* ---- endpoints ---- */

/** actr_signaling_recv_fn: a message arrived (transfer none: valid during the
 * call).  Called on the endpoint's delivery thread (documented by each). */
typedef void (*actr_signaling_recv_fn)(const actr_signaling_msg_t *msg, void *user);

/** actr_signaling_t: a signaling endpoint (one owner: actr_signaling_free). */
typedef struct actr_signaling actr_signaling_t;

/** actr_signaling_ops_t: what a signaling path provides. */
typedef struct actr_signaling_ops {
  /** send: deliver @p msg to the peer (copy what must outlive the call). */
  int (*send)(void *impl, const actr_signaling_msg_t *msg);
  /** close: stop; no receive callback runs after it returns. */
  void (*close)(void *impl);
  /** free: release @p impl. */
  void (*free)(void *impl);
} actr_signaling_ops_t;

/** actr_signaling_new: an endpoint over a user-written path.  The path calls
 * actr_signaling_deliver() for each message it receives.  *@p out is (transfer
 * full). */
ACTR_API int actr_signaling_new(const actr_signaling_ops_t *ops, void *impl,
                                actr_signaling_t **out);

/** actr_signaling_set_receiver: where arriving messages go (NULL: dropped).
 * Any thread. */
ACTR_API void actr_signaling_set_receiver(actr_signaling_t *sig, actr_signaling_recv_fn fn,
                                          void *user);

/** actr_signaling_send: send @p msg through the path.  Any thread. */
ACTR_API int actr_signaling_send(actr_signaling_t *sig, const actr_signaling_msg_t *msg);

/** actr_signaling_deliver: for path implementations: hand an arrived message
 * to the receiver (called without holding the path's own locks). */
ACTR_API void actr_signaling_deliver(actr_signaling_t *sig, const actr_signaling_msg_t *msg);

/** actr_signaling_free: close the path and free the endpoint (NULL: no-op).
 * No receiver call is running or will run once it returns. */
ACTR_API void actr_signaling_free(actr_signaling_t *sig);

/** actr_signaling_pair_new: two endpoints joined in process: what one sends
 * the other receives, in order, on the pair's own delivery thread (never on
 * the sender's: a receiver may block without stalling the sender).  Free
 * each end; the thread stops with the second. */
ACTR_API int actr_signaling_pair_new(actr_signaling_t **a, actr_signaling_t **b);

#ifdef __cplusplus
}
#endif
#endif
