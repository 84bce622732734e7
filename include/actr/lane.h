/** @file
 * actr/lane.h — the DataLane interface (SPEC §2): one bidirectional channel
 * carrying one traffic class between two actors.
 *
 * A lane is a reference-counted handle.  actr_lane_ref() gives another
 * handle to the same lane (shared sender, the one receiver); every handle is
 * released with actr_lane_unref().  All functions here are safe to call from
 * any thread, concurrently.  Blocking calls take a timeout in milliseconds:
 * -1 waits without limit, 0 never waits.  A lane kind that does not offer an
 * operation returns ACTR_EINVALID_OPERATION with the reference's message
 * (e.g. "send(bytes) not supported on this lane type").
 *
 * This header does not create lanes: see actr/inproc.h (in-process) and the
 * headers of the network lanes. */
#ifndef ACTR_LANE_H
#define ACTR_LANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <actr/export.h>
#include <actr/envelope.h>
#include <actr/msg.h>
#include <actr/payload_type.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_lane_t: a lane of any kind (shared: actr_lane_ref / actr_lane_unref). */
typedef struct actr_lane actr_lane_t;

/** actr_lane_stats_t: counters of one lane since creation. */
typedef struct actr_lane_stats {
  uint64_t msgs_sent;      /**< lane messages accepted by send ... */
  uint64_t bytes_sent;     /**< ... and their bytes */
  uint64_t msgs_received;  /**< lane messages handed to recv ... */
  uint64_t bytes_received; /**< ... and their bytes */
  uint64_t dropped_invalid;     /**< inbound messages refused as malformed */
  uint64_t reassembly_rejected; /**< fragments with invalid headers */
  uint64_t reassembly_evicted_ttl; /**< partial messages dropped for age */
  uint64_t reassembly_evicted_cap; /**< partial messages dropped for the caps */
  uint64_t reassembly_pending_bytes;    /**< now */
  uint64_t reassembly_pending_messages; /**< now */
  uint64_t dropped_unread; /**< inbound messages (DataChannel: fragments) dropped
                              because nobody had asked for this type yet and
                              its unread bound was full (docs/ARCHITECTURE.md,
                              "Types nobody reads") */
  uint64_t reassembly_joined; /**< whole messages of several fragments that libactr's
                                   own data channel read into place, end to end, as
                                   they came one after another: handed out with no
                                   copy (docs/webrtc.md, "Joined fragments") */
} actr_lane_stats_t;

/** actr_reassembly_config_t: bounds of a lane's fragment reassembly
 * (SPEC §3.1).  Zero in a field means "use the default". */
typedef struct actr_reassembly_config {
  uint64_t max_pending_bytes;    /**< payload bytes held in partial messages */
  uint32_t max_pending_messages; /**< partial messages held at once */
  uint64_t ttl_ms;               /**< a partial message older than this is dropped */
} actr_reassembly_config_t;

/** actr_reassembly_config_default: the defaults for @p type's QoS: reliable
 * channels keep the reference's 6 h TTL; STREAM_LATENCY_FIRST (unordered,
 * 3 retransmits, so fragments may be lost) uses 30 s.  Caps: 64 MiB and 64
 * messages per lane. */
ACTR_API void actr_reassembly_config_default(actr_payload_type_t type,
                                             actr_reassembly_config_t *out);

/** actr_lane_send: send @p len bytes at @p data (copied before return).  Blocks
 * while the lane's outbound bound is reached (backpressure), except on the
 * runtime's I/O thread (a handler, a callback, a receiver lending the loop),
 * where it never waits and returns ACTR_EWOULD_BLOCK instead.  Codes:
 * ACTR_EINVALID_OPERATION (lane kind has no raw send), ACTR_EMESSAGE_TOO_LARGE,
 * ACTR_ECHANNEL_CLOSED / ACTR_EWEBSOCKET_CLOSED / ACTR_EDATA_CHANNEL_CLOSED,
 * ACTR_EDATA_CHANNEL_NOT_OPEN, ACTR_ETIMEOUT.
 *
 * (DataChannel lanes of a reliable type: messages of several fragments sent
 * at once by several threads are kept within the receiver's reassembly
 * caps -- the same as this lane's, actr_reassembly_config_t -- so the
 * receiver never evicts one that send reported sent; a sender waits for
 * room among them, and a message larger than max_pending_bytes is
 * refused with ACTR_EMESSAGE_TOO_LARGE.) */
ACTR_API int actr_lane_send(actr_lane_t *lane, const void *data, size_t len);

/** actr_lane_try_send: as actr_lane_send but never waits: the whole message
 * goes now or ACTR_EWOULD_BLOCK and nothing is sent (a DataChannel lane
 * sends every fragment at once or none). */
ACTR_API int actr_lane_try_send(actr_lane_t *lane, const void *data, size_t len);

/** actr_lane_send_timeout: as actr_lane_send, waiting at most @p timeout_ms
 * in all (0: as try_send; -1: no limit): ACTR_ETIMEOUT when the time runs
 * out.  On a DataChannel lane a message of several fragments whose time
 * runs out after its first fragment went is cut: the receiver never
 * delivers it (its partial fragments expire, SPEC §3); a message that fits
 * in one fragment is sent whole or not at all. */
ACTR_API int actr_lane_send_timeout(actr_lane_t *lane, const void *data, size_t len,
                                    int timeout_ms);

/** actr_lane_recv: wait up to @p timeout_ms for the next whole message.  On
 * ACTR_OK *@p out is (transfer full).  ACTR_ETIMEOUT when the time runs out,
 * closed codes once the lane is closed and drained.  On a network lane
 * (DataChannel, WebSocket) the waiting thread runs its runtime's loop
 * meanwhile (when no other thread does), so callbacks of that runtime may
 * run on it while it waits (actr/runtime.h). */
ACTR_API int actr_lane_recv(actr_lane_t *lane, int timeout_ms, actr_msg_t **out);

/** actr_lane_try_recv: actr_lane_recv without waiting: ACTR_EWOULD_BLOCK
 * when no whole message is ready (the reference's Ok(None)). */
ACTR_API int actr_lane_try_recv(actr_lane_t *lane, actr_msg_t **out);

/** actr_lane_handler_fn: receives one whole lane message; @p msg is (transfer
 * full).  Runs on the I/O thread of the lane's runtime: it must not block
 * (no recv, no waiting on other threads); it may send, on this lane or any
 * other (see actr_lane_set_handler). */
typedef void (*actr_lane_handler_fn)(actr_lane_t *lane, actr_msg_t *msg, void *user);

/** actr_lane_set_handler: push delivery.  From this call on, every whole
 * message is handed to @p fn(@p lane, msg, @p user) on the lane's I/O thread as
 * soon as it is reassembled, instead of being queued for recv: no thread
 * hand-off between the transport and the application.  Messages that were
 * already queued go to @p fn first, in order, before the call returns.  @p fn
 * NULL goes back to queued delivery.  When the call returns, the previous
 * handler is not running (unless the call was made from inside it) and is
 * never called again.  While a handler is set, recv and try_recv return
 * ACTR_EINVALID_OPERATION (a thread already waiting in recv returns that
 * too, or keeps waiting until its timeout or close).
 * Sending from the I/O thread (from a handler) never waits: where a send
 * would block (channel still connecting, buffered amount above the lane's
 * high-water mark, or the whole message not fitting in the channel's buffer)
 * it returns ACTR_EWOULD_BLOCK and sends nothing.
 * Offered by DataChannel lanes over WebRTC (actr/webrtc_link.h) and WebSocket
 * lanes (actr/websocket.h: there the handler is the type's on its
 * connection, the lane is held while it is set, and
 * actr_ws_conn_pause / on_writable push a slow peer back); in-process lanes
 * carry envelopes: actr_lane_set_envelope_handler. */
ACTR_API int actr_lane_set_handler(actr_lane_t *lane, actr_lane_handler_fn fn, void *user);

/** actr_lane_envelope_handler_fn: receives one envelope; @p env is (transfer
 * full).  Runs on the I/O thread of the lane's runtime, with the rules of
 * actr_lane_handler_fn. */
typedef void (*actr_lane_envelope_handler_fn)(actr_lane_t *lane, actr_envelope_t *env,
                                              void *user);

/** actr_lane_set_envelope_handler: push delivery on a lane that carries
 * envelopes (the in-process lane made with actr_lane_inproc_new_on): each
 * envelope goes to @p fn(@p lane, env, @p user) on the runtime's I/O thread, the
 * queued ones first, in order.  Otherwise the rules of
 * actr_lane_set_handler.  ACTR_EINVALID_OPERATION on lanes that carry bytes
 * (DataChannel, WebSocket: actr_lane_set_handler) and on in-process lanes
 * without a runtime. */
ACTR_API int actr_lane_set_envelope_handler(actr_lane_t *lane, actr_lane_envelope_handler_fn fn,
                                            void *user);

/** actr_lane_pause: stop handing messages to the handler (push delivery)
 * until actr_lane_resume.  What arrives meanwhile waits in the lane's
 * bounded queue; once that is full the peer is pushed back by the wire's
 * flow control (SCTP on a DataChannel; on a WebSocket the connection stops
 * reading, so the other types of that connection wait too).  A handler that
 * got ACTR_EWOULD_BLOCK on a send pauses, keeps the message, and resumes
 * from its writable handler once the send went.  Idempotent; any thread
 * (from another thread it waits until the I/O thread has taken it in).
 * ACTR_EINVALID_OPERATION on a lane without push delivery. */
ACTR_API int actr_lane_pause(actr_lane_t *lane);

/** actr_lane_resume: hand messages to the handler again, the queued ones
 * first, in order.  Never inline: the queued messages go from a dispatch of
 * their own on the I/O thread (or, when called from inside the handler,
 * from the delivery that is running), so the caller is never re-entered.
 * Idempotent; any thread. */
ACTR_API int actr_lane_resume(actr_lane_t *lane);

/** actr_lane_writable_fn: the lane can take a message again after a send
 * returned ACTR_EWOULD_BLOCK.  Runs on the lane's I/O thread, like a
 * handler: it must not block; it may send, pause and resume. */
typedef void (*actr_lane_writable_fn)(actr_lane_t *lane, void *user);

/** actr_lane_set_writable_handler: once a send on @p lane (a handler's, or a
 * try_send from any thread) returned ACTR_EWOULD_BLOCK, call @p fn(@p lane,
 * @p user) once, on the lane's I/O thread, as soon as the lane can take a
 * message again; then again after the next refused send.  A message the
 * handler could never send without waiting gets ACTR_EMESSAGE_TOO_LARGE
 * instead, so a writable call is never a promise that cannot be kept.  @p fn
 * NULL: no calls.  When the call returns the previous @p fn is not running
 * (unless replaced from inside it) and is never called again.  Offered
 * where actr_lane_set_handler is; ACTR_EINVALID_OPERATION elsewhere. */
ACTR_API int actr_lane_set_writable_handler(actr_lane_t *lane, actr_lane_writable_fn fn,
                                            void *user);

/** actr_lane_send_envelope: hand @p env to the lane.  On ACTR_OK the lane owns
 * @p env (transfer full); on failure the caller still owns it.  Blocks while
 * the lane is full. */
ACTR_API int actr_lane_send_envelope(actr_lane_t *lane, actr_envelope_t *env);

/** actr_lane_try_send_envelope: as above, ACTR_EWOULD_BLOCK when full. */
ACTR_API int actr_lane_try_send_envelope(actr_lane_t *lane, actr_envelope_t *env);
/** actr_lane_send_envelope_timeout: waiting at most @p timeout_ms for room
 * (ACTR_ETIMEOUT; the caller keeps @p env on any failure). */
ACTR_API int actr_lane_send_envelope_timeout(actr_lane_t *lane, actr_envelope_t *env,
                                             int timeout_ms);

/** actr_lane_recv_envelope: wait up to @p timeout_ms for an envelope; *@p out is
 * (transfer full). */
ACTR_API int actr_lane_recv_envelope(actr_lane_t *lane, int timeout_ms, actr_envelope_t **out);

/** actr_lane_try_recv_envelope: ACTR_EWOULD_BLOCK when none is queued. */
ACTR_API int actr_lane_try_recv_envelope(actr_lane_t *lane, actr_envelope_t **out);

/** actr_lane_type: "Mpsc", "WebSocket" or "WebRtcDataChannel" (static). */
ACTR_API const char *actr_lane_type(const actr_lane_t *lane);

/** actr_lane_payload_type: the traffic class this lane carries. */
ACTR_API actr_payload_type_t actr_lane_payload_type(const actr_lane_t *lane);

/** actr_lane_is_healthy: false once the transport under the lane is closing
 * or closed (true by default for kinds without such state). */
ACTR_API bool actr_lane_is_healthy(const actr_lane_t *lane);

/** actr_lane_stats: copy the lane's counters into *@p out. */
ACTR_API int actr_lane_stats(const actr_lane_t *lane, actr_lane_stats_t *out);

/** actr_lane_close: close the lane for every handle (idempotent,
 * non-blocking).  Blocked senders and receivers wake with the lane's closed
 * code; messages already queued can still be received. */
ACTR_API void actr_lane_close(actr_lane_t *lane);

/** actr_lane_ref: another handle to the same lane (the reference's
 * Clone).  Release it with actr_lane_unref(). */
ACTR_API actr_lane_t *actr_lane_ref(actr_lane_t *lane);

/** actr_lane_unref: release one handle (NULL: no-op); the last one closes and
 * frees the lane. */
ACTR_API void actr_lane_unref(actr_lane_t *lane);

#ifdef __cplusplus
}
#endif
#endif
