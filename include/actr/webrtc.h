/** @file
 * actr/webrtc.h — a WebRTC peer connection with SCTP data channels: ICE
 * (libnice), DTLS 1.2 (GnuTLS), SCTP (usrsctp), and, written in libactr, the
 * SDP offer/answer of a data-only session and DCEP (RFC 8832).  It talks to
 * browsers and other WebRTC stacks.  Not here: audio/video, renegotiation
 * after the first offer/answer other than an ICE restart
 * (actr_webrtc_pc_restart_ice).
 *
 * Threads.  A peer connection lives on the I/O thread of the runtime it was
 * created on: every socket, timer and callback of it (and of its channels)
 * runs there.  Every function below may be called from any thread unless its
 * comment says otherwise; calls from other threads hand work to the I/O
 * thread.  Callbacks run on the I/O thread, one at a time, never while
 * libactr holds a lock; they may call any function of this header except
 * where noted, and must not block.
 *
 * Ownership.  The application owns one reference to each peer connection
 * (from actr_webrtc_pc_new, given back with actr_webrtc_pc_free) and one
 * to each data channel it creates or is given by on_data_channel (given back
 * with actr_webrtc_dc_free).  Strings returned through char ** are
 * (transfer full): release them with free().  Strings passed in are copied
 * before the call returns. */
#ifndef ACTR_WEBRTC_H
#define ACTR_WEBRTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actr/export.h>
#include <actr/msg.h>
#include <actr/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_webrtc_pc_t: a peer connection (the application's handle: actr_webrtc_pc_free). */
typedef struct actr_webrtc_pc actr_webrtc_pc_t;
/** actr_webrtc_dc_t: a data channel of a peer connection (the application's
 * handle: actr_webrtc_dc_free). */
typedef struct actr_webrtc_dc actr_webrtc_dc_t;

/** actr_webrtc_pc_state_t: the W3C RTCPeerConnectionState values.
 * CONNECTING once offer and answer are both set; CONNECTED once ICE has a
 * working pair and the DTLS handshake is done; DISCONNECTED when ICE loses
 * the pair (it may come back); FAILED for ICE failure, DTLS failure
 * (including a certificate that does not match the remote fingerprint) or an
 * SCTP association that cannot be set up; CLOSED after actr_webrtc_pc_close
 * or when the peer closes (DTLS close_notify, SCTP SHUTDOWN or ABORT).
 * FAILED and CLOSED are final. */
typedef enum actr_webrtc_pc_state {
  ACTR_WEBRTC_PC_NEW = 0,      /**< "new": offer and answer not both set yet */
  ACTR_WEBRTC_PC_CONNECTING,   /**< "connecting" (see above) */
  ACTR_WEBRTC_PC_CONNECTED,    /**< "connected" (see above) */
  ACTR_WEBRTC_PC_DISCONNECTED, /**< "disconnected" (see above) */
  ACTR_WEBRTC_PC_FAILED,       /**< "failed" (see above; final) */
  ACTR_WEBRTC_PC_CLOSED        /**< "closed" (see above; final) */
} actr_webrtc_pc_state_t;

/** actr_webrtc_dc_state_t: the W3C RTCDataChannelState values. */
typedef enum actr_webrtc_dc_state {
  ACTR_WEBRTC_DC_CONNECTING = 0, /**< "connecting": not open yet */
  ACTR_WEBRTC_DC_OPEN,           /**< "open": messages may be sent */
  ACTR_WEBRTC_DC_CLOSING,        /**< "closing": close started */
  ACTR_WEBRTC_DC_CLOSED          /**< "closed": final */
} actr_webrtc_dc_state_t;

/** actr_webrtc_pc_state_name / actr_webrtc_dc_state_name: "connected", ...
 * (transfer none, static). */
ACTR_API const char *actr_webrtc_pc_state_name(actr_webrtc_pc_state_t state);
/** actr_webrtc_dc_state_name: see actr_webrtc_pc_state_name. */
ACTR_API const char *actr_webrtc_dc_state_name(actr_webrtc_dc_state_t state);

/** actr_webrtc_ice_server_t: one STUN or TURN server.
 * @p url: "stun:HOST[:PORT]" or "turn:HOST[:PORT][?transport=udp|tcp]" (the
 * default port is 3478, the default transport udp).  HOST may be a name: it
 * is resolved by actr_webrtc_pc_new on the calling thread.
 * @p username / @p credential: TURN long-term credentials (NULL for STUN). */
typedef struct actr_webrtc_ice_server {
  const char *url;        /**< the server (see above) */
  const char *username;   /**< TURN username (NULL for STUN) */
  const char *credential; /**< TURN password (NULL for STUN) */
} actr_webrtc_ice_server_t;

/** actr_webrtc_ice_policy_t: W3C iceTransportPolicy.  RELAY gathers and uses
 * only TURN relayed candidates. */
typedef enum actr_webrtc_ice_policy {
  ACTR_WEBRTC_ICE_ALL = 0, /**< "all": every kind of candidate (the default) */
  ACTR_WEBRTC_ICE_RELAY    /**< "relay": TURN relayed candidates only */
} actr_webrtc_ice_policy_t;

/** actr_webrtc_candidate_fn: a local ICE candidate was gathered.
 * @p candidate is the SDP attribute value "candidate:..." (transfer none, valid
 * during the call); NULL once gathering is complete (end of candidates).
 * @p mid is the data-channel section's mid (transfer none).  Send both to the
 * peer (trickle ICE), or wait for the NULL call and send
 * actr_webrtc_pc_local_description() (non-trickle).  Candidates found while
 * create_offer/create_answer runs are in the description it returns and are
 * not reported again.  This runs on the I/O thread and may run before
 * create_offer/create_answer has returned to a caller on another thread:
 * signaling must deliver the description first (queue candidates until it
 * is sent); libactr itself accepts candidates that overtake it. */
typedef void (*actr_webrtc_candidate_fn)(actr_webrtc_pc_t *pc, const char *candidate,
                                         const char *mid, void *user);

/** actr_webrtc_state_fn: the connection state changed.  @p err is ACTR_OK, or
 * for FAILED/CLOSED the reason (ACTR_EICE, ACTR_EDTLS, ACTR_EWEBRTC,
 * ACTR_ECONNECTION_CLOSED...); actr_err_detail() is not meaningful here. */
typedef void (*actr_webrtc_state_fn)(actr_webrtc_pc_t *pc, actr_webrtc_pc_state_t state, int err,
                                     void *user);

/** actr_webrtc_data_channel_fn: the peer opened a channel (DCEP OPEN).  @p dc
 * is (transfer full): the application owns one reference and gives it back
 * with actr_webrtc_dc_free.  Set its callbacks during this call
 * (actr_webrtc_dc_set_callbacks) to see its first message; until on_message
 * is set, arriving messages wait (see on_message). */
typedef void (*actr_webrtc_data_channel_fn)(actr_webrtc_pc_t *pc, actr_webrtc_dc_t *dc,
                                            void *user);

/** actr_webrtc_config_t: how to build a peer connection.  Fill it with
 * actr_webrtc_config_init() first; zero numeric fields mean the default. */
typedef struct actr_webrtc_config {
  const actr_webrtc_ice_server_t *ice_servers; /**< nullable */
  size_t ice_server_count;                     /**< entries in ice_servers */
  actr_webrtc_ice_policy_t ice_policy;         /**< default ACTR_WEBRTC_ICE_ALL */
  /** Local IP addresses to gather host candidates on, e.g. {"127.0.0.1"}.
   * None: every interface libnice finds (loopback excluded). */
  const char *const *local_addresses;
  size_t local_address_count; /**< entries in local_addresses */
  /** UDP port range of host candidates; 0/0: any. */
  uint16_t port_min;
  uint16_t port_max; /**< see port_min */
  /** The DTLS certificate and its private key, PEM.  NULL: a fresh ECDSA
   * P-256 self-signed certificate for this connection (W3C default). */
  const char *certificate_pem;
  const char *private_key_pem; /**< see certificate_pem */
  /** a=max-message-size we advertise and accept (default 262144; at least
   * 65535). */
  uint32_t max_message_bytes;
  /** SCTP socket send and receive buffer, hence the receive window (default
   * 2 MiB; at least 256 KiB). */
  uint32_t sctp_buffer_bytes;
  /** SCTP packet size before DTLS (default 1200, the size browsers use;
   * between 1200 and 16000).  Larger values suit paths with a known larger
   * MTU, e.g. loopback. */
  uint32_t sctp_mtu;
  /** Per channel: bytes send() may queue beyond what SCTP has taken
   * (default 16 MiB); a send over it fails with ACTR_ERESOURCE_EXHAUSTED. */
  size_t max_buffered_bytes;
  /** DTLS handshake time limit (default 30000 ms). */
  int dtls_timeout_ms;
  /** Time from actr_webrtc_pc_new to CONNECTED (default 30000 ms; < 0: no
   * limit).  A connection not connected by then (no offer or answer came,
   * ICE found no pair, DTLS did not finish) becomes FAILED with
   * ACTR_ETIMEOUT, as any failure: its channels close and its ICE agent
   * stops, so a peer that starts a connection and walks away costs nothing
   * for long. */
  int connect_timeout_ms;
  /** Dead-peer detection (default 8000 ms; < 0: off).  Once connected, a peer
   * from which no packet at all has arrived for half of this makes the
   * state DISCONNECTED (back to CONNECTED at its next packet); for this
   * long, unless an ICE restart is under way (actr_webrtc_pc_restart_ice),
   * it is taken as gone:
   * the state becomes FAILED with ACTR_ECONNECTION, every channel closes
   * (on_close with that code) and blocked lane calls return.  A quiet but
   * live peer is not mistaken for a dead one: after a quarter of this
   * without a packet, an SCTP HEARTBEAT is sent each eighth of it, which
   * any live peer answers, even one whose receive window is closed.  So a
   * killed peer, a lost network or a link cut longer than this ends the
   * connection within this time plus an eighth; a cut shorter than it is
   * ridden through (SCTP retransmits; its backoff may add seconds after the
   * link comes back). */
  int peer_timeout_ms;
  /** How long a closing channel waits for the peer's side of the close, the
   * reset of its outgoing stream (RFC 8831 §6.7; default 10000 ms; < 0:
   * for ever).  A peer that never resets it would hold the channel in
   * CLOSING: once this has passed it is CLOSED (on_close with
   * ACTR_ETIMEOUT), and its stream id stays taken, whatever still arrives on
   * it dropped, until the reset comes or the connection ends. */
  int close_timeout_ms;
  actr_webrtc_candidate_fn on_candidate;     /**< nullable */
  actr_webrtc_state_fn on_state;             /**< nullable */
  actr_webrtc_data_channel_fn on_data_channel; /**< nullable: peer channels are refused */
  void *user;                                /**< passed to the callbacks */
} actr_webrtc_config_t;

/** actr_webrtc_config_init: zero @p cfg (defaults everywhere). */
ACTR_API void actr_webrtc_config_init(actr_webrtc_config_t *cfg);

/** actr_webrtc_pc_new: a peer connection on @p rt's I/O thread (it holds a
 * reference to @p rt).  *@p out is (transfer full, actr_webrtc_pc_free).
 * May block to resolve ICE server host names.  ACTR_ECONFIGURATION for a bad
 * URL, address or certificate; ACTR_EDTLS, ACTR_EICE, ACTR_ENO_MEMORY.  No
 * callback runs before this returns. */
ACTR_API int actr_webrtc_pc_new(actr_runtime_t *rt, const actr_webrtc_config_t *cfg,
                                actr_webrtc_pc_t **out);

/** actr_webrtc_pc_create_offer: make our offer, set it as the local
 * description, start gathering.  *@p sdp (transfer full) holds the candidates
 * gathered so far (usually none: they follow through on_candidate).
 * ACTR_EINVALID_OPERATION if a description is already set. */
ACTR_API int actr_webrtc_pc_create_offer(actr_webrtc_pc_t *pc, char **sdp);

/** actr_webrtc_pc_set_remote_description: the peer's offer (@p is_offer true,
 * before any local description) or answer (after our offer).  Candidates in
 * it are used.  ACTR_EPROTOCOL for malformed SDP; ACTR_EWEBRTC for SDP we
 * cannot use (no data-channel section, no ICE credentials, no usable
 * fingerprint, setup:holdconn); ACTR_EINVALID_OPERATION out of order. */
ACTR_API int actr_webrtc_pc_set_remote_description(actr_webrtc_pc_t *pc, bool is_offer,
                                                   const char *sdp);

/** actr_webrtc_pc_create_answer: after the peer's offer: make our answer, set
 * it as the local description, start gathering and connecting.  *@p sdp as for
 * create_offer. */
ACTR_API int actr_webrtc_pc_create_answer(actr_webrtc_pc_t *pc, char **sdp);

/** actr_webrtc_pc_local_description: the local description now, with every
 * candidate gathered so far and a=end-of-candidates once gathering is done
 * (transfer full).  ACTR_EINVALID_OPERATION before create_offer/answer. */
ACTR_API int actr_webrtc_pc_local_description(actr_webrtc_pc_t *pc, char **sdp);

/** actr_webrtc_pc_add_remote_candidate: one trickled candidate of the peer,
 * "candidate:..." or "a=candidate:...".  @p mid (nullable): candidates for
 * another section than the data channel's are ignored.  NULL or ""
 * @p candidate: the peer has no more.  Candidates we cannot use (mDNS names,
 * TCP, other components) are ignored and return ACTR_OK.  Candidates that
 * arrive before offer and answer are both set are kept (up to 64) and used
 * then, since signaling may overtake the description.  ACTR_EPROTOCOL when
 * malformed; ACTR_ERESOURCE_EXHAUSTED past 128 candidates (or 64 early
 * ones); ACTR_EINVALID_OPERATION once closed. */
ACTR_API int actr_webrtc_pc_add_remote_candidate(actr_webrtc_pc_t *pc, const char *candidate,
                                                 const char *mid);

/** actr_webrtc_pc_restart_ice: an ICE restart in place (RFC 8445 §9), on a
 * connection that has been CONNECTED: ICE starts over with new credentials
 * while DTLS, SCTP and every data channel stay as they are (messages sent
 * meanwhile wait in SCTP).  On the offering side: new local ICE
 * credentials, and *@p sdp (transfer full) is the new offer to send; the
 * peer's answer goes to actr_webrtc_pc_set_remote_description as usual
 * (its candidates are in it or trickle).  On the answering side: *@p sdp is
 * NULL; the peer's next offer with new ICE credentials, given to
 * actr_webrtc_pc_set_remote_description, restarts it, and
 * actr_webrtc_pc_create_answer answers it (an answerer takes such an offer
 * without this call too).  Either way, from this call until ICE connects
 * again, dead-peer detection waits: the connection becomes FAILED
 * (ACTR_EICE) only if the restart has not completed within @p timeout_ms
 * (> 0); another call starts another restart and a new time limit.  While
 * connectivity is lost (no packet for half of peer_timeout_ms, or ICE lost
 * its pair) the state is DISCONNECTED; it goes back to CONNECTED when the
 * peer is heard again or the restart completes.  ACTR_EINVALID_OPERATION
 * before the connection was up, or once closed. */
ACTR_API int actr_webrtc_pc_restart_ice(actr_webrtc_pc_t *pc, int timeout_ms, char **sdp);

/** actr_webrtc_pc_state: the current state (a lock-free read). */
ACTR_API actr_webrtc_pc_state_t actr_webrtc_pc_state(const actr_webrtc_pc_t *pc);

/** actr_webrtc_pc_close: close the connection: every channel goes to CLOSED
 * (on_close), the SCTP association is aborted, DTLS sends close_notify, ICE
 * stops; the state becomes CLOSED.  Non-blocking, idempotent; callbacks
 * still run (on the I/O thread, possibly after this returns). */
ACTR_API void actr_webrtc_pc_close(actr_webrtc_pc_t *pc);

/** actr_webrtc_pc_free: close, then give back the application's
 * reference.  No callback of @p pc or of its channels runs after this returns
 * (when called from another thread, it waits for the I/O thread to finish
 * the callback running now).  Channel handles the application still holds
 * stay valid (closed) until released.  NULL is a no-op. */
ACTR_API void actr_webrtc_pc_free(actr_webrtc_pc_t *pc);

/* ---- data channels ---- */

/** actr_webrtc_dc_options_t: W3C RTCDataChannelInit, without pre-negotiated
 * ids.  At most one of @p max_retransmits and @p max_packet_lifetime_ms may be
 * >= 0 (-1: not set; both -1: reliable). */
typedef struct actr_webrtc_dc_options {
  const char *protocol; /**< nullable: "" */
  bool unordered;                 /**< true: messages may arrive out of order */
  int32_t max_retransmits;        /**< -1: not set (see above) */
  int32_t max_packet_lifetime_ms; /**< -1: not set (see above) */
  uint16_t priority; /**< DCEP priority field (RFC 8832 §5.1); default 256 */
} actr_webrtc_dc_options_t;

/** actr_webrtc_dc_options_init: ordered, reliable, protocol "". */
ACTR_API void actr_webrtc_dc_options_init(actr_webrtc_dc_options_t *opts);

/** actr_webrtc_dc_callbacks_t: what a channel tells the application, on the
 * I/O thread.  Every member is nullable.
 *
 * on_message: one whole SCTP message (a DataChannel message) arrived; @p msg
 *   is the bytes (empty messages have length 0), @p is_text for string
 *   messages (PPID 51/56).  Return true to take @p msg (transfer full: release
 *   with actr_msg_free).  Return false to refuse it — backpressure: the
 *   channel keeps @p msg, stops reading the SCTP association (so the peer is
 *   pushed back by SCTP flow control), and offers the same message again
 *   after actr_webrtc_dc_resume().  While on_message is NULL, messages wait
 *   the same way.
 * on_buffered_amount_low: the buffered amount fell to the threshold or below
 *   after having been above it.
 * on_close: the channel reached CLOSED (local close, the peer's stream
 *   reset, or the connection ending: @p err then says why).  Called once. */
typedef struct actr_webrtc_dc_callbacks {
  /** on_open: the channel reached OPEN. */
  void (*on_open)(actr_webrtc_dc_t *dc, void *user);
  /** on_message: see above. */
  bool (*on_message)(actr_webrtc_dc_t *dc, actr_msg_t *msg, bool is_text, void *user);
  /** on_buffered_amount_low: see above. */
  void (*on_buffered_amount_low)(actr_webrtc_dc_t *dc, void *user);
  /** on_closing: the channel reached CLOSING. */
  void (*on_closing)(actr_webrtc_dc_t *dc, void *user);
  /** on_close: see above. */
  void (*on_close)(actr_webrtc_dc_t *dc, int err, void *user);
} actr_webrtc_dc_callbacks_t;

/** actr_webrtc_pc_create_data_channel: open a channel labelled @p label (UTF-8,
 * at most 1024 bytes) in-band with DCEP.  It starts CONNECTING and opens once
 * the SCTP association is up (on_open); its stream id follows the DTLS role
 * (RFC 8832 §6: the DTLS client uses even ids, the server odd).  @p opts and
 * @p cbs are nullable.  *@p out is (transfer full, actr_webrtc_dc_free).
 * ACTR_EINVALID_ARGUMENT for bad options; ACTR_EINVALID_OPERATION once
 * closed; ACTR_ERESOURCE_EXHAUSTED when no stream id is left. */
ACTR_API int actr_webrtc_pc_create_data_channel(actr_webrtc_pc_t *pc, const char *label,
                                                const actr_webrtc_dc_options_t *opts,
                                                const actr_webrtc_dc_callbacks_t *cbs,
                                                void *user, actr_webrtc_dc_t **out);

/** actr_webrtc_dc_set_callbacks: replace the callbacks (@p cbs nullable: none).
 * When it returns, the previous callbacks no longer run (from another
 * thread it waits for the I/O thread).  Messages waiting for an on_message
 * are offered to the new one. */
ACTR_API void actr_webrtc_dc_set_callbacks(actr_webrtc_dc_t *dc, const actr_webrtc_dc_callbacks_t *cbs,
                                           void *user);

/** @name Accessors
 * Accessors (lock-free or immutable; strings transfer none, valid until
 * release). */
/** @{ */
/** actr_webrtc_dc_label: the channel's label. */
ACTR_API const char *actr_webrtc_dc_label(const actr_webrtc_dc_t *dc);
/** actr_webrtc_dc_protocol: the channel's sub-protocol ("" when none). */
ACTR_API const char *actr_webrtc_dc_protocol(const actr_webrtc_dc_t *dc);
/** actr_webrtc_dc_ordered: true when messages arrive in order. */
ACTR_API bool actr_webrtc_dc_ordered(const actr_webrtc_dc_t *dc);
/** actr_webrtc_dc_max_retransmits: the retransmission limit, -1 when not set. */
ACTR_API int32_t actr_webrtc_dc_max_retransmits(const actr_webrtc_dc_t *dc);
/** actr_webrtc_dc_max_packet_lifetime_ms: the lifetime limit, -1 when not set. */
ACTR_API int32_t actr_webrtc_dc_max_packet_lifetime_ms(const actr_webrtc_dc_t *dc);
/** actr_webrtc_dc_id: the SCTP stream id, -1 until the DTLS role is known. */
ACTR_API int actr_webrtc_dc_id(const actr_webrtc_dc_t *dc);
/** actr_webrtc_dc_state: the channel's state now. */
ACTR_API actr_webrtc_dc_state_t actr_webrtc_dc_state(const actr_webrtc_dc_t *dc);
/** @} */
/** actr_webrtc_dc_max_message_size: the largest message send() accepts now:
 * the peer's a=max-message-size (65536 when it gave none), 0 before the
 * remote description. */
ACTR_API size_t actr_webrtc_dc_max_message_size(const actr_webrtc_dc_t *dc);

/** actr_webrtc_dc_send: send one message (copied).  Never blocks: the message
 * is queued when SCTP cannot take it now and counts in the buffered amount.
 * ACTR_EDATA_CHANNEL_NOT_OPEN while CONNECTING, ACTR_EDATA_CHANNEL_CLOSED
 * once CLOSING or CLOSED, ACTR_EMESSAGE_TOO_LARGE over the peer's maximum,
 * ACTR_ERESOURCE_EXHAUSTED when the queue would pass max_buffered_bytes. */
ACTR_API int actr_webrtc_dc_send(actr_webrtc_dc_t *dc, const void *data, size_t len, bool is_text);

/** actr_webrtc_dc_send_msg: as actr_webrtc_dc_send, without the copy: @p msg is
 * (transfer full) — consumed whether the send succeeds or fails. */
ACTR_API int actr_webrtc_dc_send_msg(actr_webrtc_dc_t *dc, actr_msg_t *msg, bool is_text);

/** actr_webrtc_dc_buffered_amount_limit: the most bytes send may have queued
 * at once (the connection's max_buffered_bytes); 0 for NULL. */
ACTR_API size_t actr_webrtc_dc_buffered_amount_limit(const actr_webrtc_dc_t *dc);

/** actr_webrtc_dc_buffered_amount: bytes accepted by send and not yet taken
 * by SCTP (a lock-free read). */
ACTR_API size_t actr_webrtc_dc_buffered_amount(const actr_webrtc_dc_t *dc);

/** actr_webrtc_dc_set_buffered_amount_low_threshold: see
 * on_buffered_amount_low (default 0). */
ACTR_API void actr_webrtc_dc_set_buffered_amount_low_threshold(actr_webrtc_dc_t *dc, size_t bytes);

/** actr_webrtc_dc_resume: after on_message refused a message: offer it again
 * and read on.  Harmless when nothing was refused. */
ACTR_API void actr_webrtc_dc_resume(actr_webrtc_dc_t *dc);

/** actr_webrtc_dc_close: start closing (W3C close()): messages already queued
 * are sent, then the stream is reset (RFC 8831 §6.7); CLOSED (on_close) when
 * the peer has reset its side too.  Non-blocking, idempotent. */
ACTR_API void actr_webrtc_dc_close(actr_webrtc_dc_t *dc);

/** actr_webrtc_dc_free: close the channel, detach its callbacks (none runs
 * after this returns; from another thread it waits for the I/O thread) and
 * give back the application's reference.  NULL is a no-op. */
ACTR_API void actr_webrtc_dc_free(actr_webrtc_dc_t *dc);

/* ---- certificates ---- */

/** actr_webrtc_certificate_generate: a fresh ECDSA P-256 self-signed
 * certificate and its key, PEM (both transfer full, free()), to give to
 * several connections through actr_webrtc_config_t.  Any thread. */
ACTR_API int actr_webrtc_certificate_generate(char **certificate_pem, char **private_key_pem);

/** actr_webrtc_certificate_fingerprint: "AB:CD:..." SHA-256 of a PEM
 * certificate, as a=fingerprint shows it (transfer full, free()). */
ACTR_API int actr_webrtc_certificate_fingerprint(const char *certificate_pem, char **fingerprint);

#ifdef __cplusplus
}
#endif
#endif
