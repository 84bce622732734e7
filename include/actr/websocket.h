/** @file
 * actr/websocket.h — the WebSocket wire (RFC 6455) and its lanes
 * (the reference's WebSocketDataLane, SPEC §1.4, §2).
 *
 * One connection carries every payload type: each lane message travels as
 * one binary WebSocket message [type u8][data_len u32 BE][data].  A lane per
 * payload type is created on demand over the connection and cached; every
 * type's inbound queue exists from the moment the connection opens, so a
 * message that arrives before its lane is asked for waits for it.
 *
 * Memory is bounded by the configuration: inbound queues per type (messages
 * and bytes; when one is full the connection stops reading the socket, so
 * the peer is pushed back by TCP), the outbound queue (bytes; send blocks,
 * try_send returns ACTR_EWOULD_BLOCK), and the largest message.
 *
 * Threads: every socket lives on the runtime's I/O thread (actr/runtime.h).
 * The functions here may be called from any thread unless noted; those that
 * block say so and must not be called on the I/O thread (they return
 * ACTR_EINVALID_OPERATION there).  Callbacks run on the I/O thread and must
 * not block.
 *
 * Lifetime: a connection is reference-counted; every lane made from it holds
 * a reference.  The last release (of the connection handle or of a lane,
 * whichever comes last) closes the connection with the close handshake and
 * waits for the I/O thread to let go of the socket (at most close_timeout_ms)
 * unless it runs on the I/O thread.  Keep your runtime reference until every
 * connection and server made on it is released. */
#ifndef ACTR_WEBSOCKET_H
#define ACTR_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <actr/export.h>
#include <actr/lane.h>
#include <actr/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_ws_conn_t: a WebSocket connection (shared: actr_ws_conn_ref /
 * actr_ws_conn_unref). */
typedef struct actr_ws_conn actr_ws_conn_t;
/** actr_ws_server_t: a WebSocket server (the application's handle:
 * actr_ws_server_free). */
typedef struct actr_ws_server actr_ws_server_t;

/* ---- checking requests before the upgrade ---- */

/** actr_ws_request_t: a valid upgrade request, as the check callback sees it
 * (before the 101 is sent).  Valid during the callback only. */
typedef struct actr_ws_request actr_ws_request_t;

/** actr_ws_request_target: the request-target as sent ("/lane?x=1");
 * actr_ws_request_path: its path ("/lane").  (transfer none) */
ACTR_API const char *actr_ws_request_target(const actr_ws_request_t *req);
/** actr_ws_request_path: see actr_ws_request_target. */
ACTR_API const char *actr_ws_request_path(const actr_ws_request_t *req);

/** actr_ws_request_header: the value of the first header called @p name (any
 * case; "Origin", "X-Actr-Source-ID", "Cookie"...), NULL when absent
 * (transfer none, valid during the callback). */
ACTR_API const char *actr_ws_request_header(const actr_ws_request_t *req, const char *name);

/** actr_ws_request_peer: the address the request came from: its host in
 * numeric form ("127.0.0.1", "::1") into @p host (@p host_size bytes; 46
 * hold any), its port into *@p port (@p port may be NULL).  Codes:
 * ACTR_EINVALID_ARGUMENT (NULL or too small a buffer), ACTR_EIO (the socket
 * has no peer address any more: it was reset). */
ACTR_API int actr_ws_request_peer(const actr_ws_request_t *req, char *host, size_t host_size,
                                  uint16_t *port);

/** actr_ws_check_fn: decide on a request before the upgrade: return 0 to go
 * on, or an HTTP status 400..599 to refuse with it (the client's connect
 * fails with ACTR_EWEBSOCKET naming the status); any other value refuses
 * with 500.  Runs on the I/O thread, for lane and message paths alike;
 * must not block. */
typedef int (*actr_ws_check_fn)(const actr_ws_request_t *req, void *user);

/** actr_ws_config_t: settings of a connection or a server (copied at
 * creation; strings too).  A zero number means "the default";
 * actr_ws_config_init() writes the defaults out. */
typedef struct actr_ws_config {
  uint64_t max_message_bytes;      /**< largest WebSocket message, either way: 64 MiB */
  uint32_t inbound_queue_messages; /**< per payload type: 1024 */
  uint64_t inbound_queue_bytes;    /**< per payload type: 16 MiB (one larger message
                                      is still taken into an empty queue) */
  uint64_t outbound_queue_bytes;   /**< frames accepted by send, not yet written: 8 MiB
                                      (one larger message is taken when it is empty) */
  uint32_t unread_queue_messages;  /**< a type nobody reads -- no lane of it was asked
                                      for while lanes of other types were, and
                                      actr_ws_conn_recv was never called -- keeps its
                                      messages up to this many: 64 ... */
  uint64_t unread_queue_bytes;     /**< ... and these bytes: 1 MiB; more are dropped
                                      and counted (dropped_unread), so one type nobody
                                      reads never stops the lanes that are read.  A
                                      type asked for gets the full inbound bounds and
                                      a full queue pushes the peer back; so does every
                                      type while no lane at all was asked for.  Both
                                      unread bounds are cut to the inbound ones. */
  int ping_interval_ms;            /**< keepalive ping: 4000; < 0 disables.  The pings
                                      of all connections of a process go out together,
                                      on a shared grid whose step is the power of two
                                      microseconds nearest to half the interval, every
                                      second step (4000: every 4.19 s), so that a
                                      process holding many connections wakes once for
                                      all of them.  A peer that
                                      answers neither ping nor with any byte within
                                      another interval is taken as gone, and one whose
                                      kernel acknowledges nothing (data, pings, window
                                      probes) for an interval and a half too: a dead
                                      peer or a cut link ends the connection within
                                      two intervals (8.4 s by default; blocked calls
                                      return ACTR_EWEBSOCKET_CLOSED).  A peer that
                                      stopped reading is not gone: its kernel answers
                                      window probes (on Linux < 6.15, which cannot cap
                                      their backoff, a peer lost during such a stall
                                      is noticed only at the next probe, up to 2 min).
                                      A shorter cut is ridden through. */
  int connect_timeout_ms;          /**< TCP + TLS + upgrade handshake: 10000 */
  int close_timeout_ms;            /**< wait for the peer's close frame: 2000 */
  /** client */
  const char *ca_file;             /**< PEM CA bundle to verify wss:// servers; NULL:
                                      the system store */
  bool tls_insecure;               /**< accept any server certificate (tests only) */
  const char *source_id;           /**< sent as X-Actr-Source-ID (hex), NULL: none */
  const char *credential;          /**< sent as X-Actr-Credential (base64), NULL: none */
  /** server */
  const char *cert_file, *key_file; /**< PEM; both set: serve wss:// */
  uint32_t max_connections;  /**< open at once, handshaking or accepted (until the
                                I/O side lets go of the socket): 1024 */
  uint32_t max_handshakes;   /**< upgrade handshakes in progress at once: 64.  The
                                handshake must end within connect_timeout_ms.
                                Over either cap a plain connection gets
                                "HTTP/1.1 503" and is closed, a TLS one is
                                closed; nothing is allocated for it.  A
                                handshaking connection costs a 16 KiB head
                                buffer, an open one its 256 KiB read buffer. */
  uint32_t max_handshakes_per_address; /**< of those, from one address (IPv4, or an
                                IPv6 /64) at once; over it, as over
                                max_handshakes.  0 (the default): no cap of its
                                own, so one host that opens connections and
                                sends nothing can hold every handshake place
                                for connect_timeout_ms at a time.  A realm
                                node's direct WebSocket listener sets 8. */
  actr_ws_check_fn check;    /**< checks every upgrade request from the first
                                connection on (NULL: accept all); see
                                actr_ws_check_fn */
  void *check_user;          /**< passed to check; must outlive the server */
} actr_ws_config_t;

/** actr_ws_config_init: fill *@p cfg with the defaults (strings NULL). */
ACTR_API void actr_ws_config_init(actr_ws_config_t *cfg);

/** actr_ws_conn_stats_t: counters of one connection since it opened. */
typedef struct actr_ws_conn_stats {
  uint64_t msgs_sent;      /**< lane messages sent ... */
  uint64_t bytes_sent;     /**< ... and their data bytes */
  uint64_t msgs_received;  /**< lane messages taken by recv ... */
  uint64_t bytes_received; /**< ... and their data bytes */
  uint64_t dropped_invalid;               /**< short / bad type / truncated, dropped */
  uint64_t inbound_queued_bytes;       /**< queued for receivers now, all types: the bytes
                                          the messages keep (a lane message carrying more
                                          than its header declares counts whole) */
  uint64_t inbound_queued_bytes_peak;  /**< the most queued at once, all types */
  uint64_t outbound_queued_bytes;      /**< accepted by send, not yet written, now */
  uint64_t outbound_queued_bytes_peak; /**< the most at once */
  uint64_t read_pauses; /**< times the socket stopped being read for a full queue */
  uint64_t dropped_unread; /**< messages of a type nobody had asked for, past its
                              unread bound: dropped (never a stall) */
  uint64_t pings_sent;     /**< keepalive pings queued (none while one waits unwritten) */
  uint64_t pongs_received; /**< pongs received */
} actr_ws_conn_stats_t;

/* ---- client ---- */

/** actr_ws_connect: open a connection to @p url (ws://HOST[:PORT][/PATH] or
 * wss://...) on @p rt's I/O thread and wait until the upgrade handshake has
 * succeeded or failed (at most connect_timeout_ms).  @p cfg may be NULL
 * (defaults).  *@p out is (transfer full).  Blocks; not on the I/O thread.
 * Codes: ACTR_EURL_PARSE, ACTR_ECONNECTION (unreachable, TLS failure),
 * ACTR_EWEBSOCKET (handshake refused or invalid; the detail names the HTTP
 * status), ACTR_ETIMEOUT, ACTR_ECONFIGURATION (no TLS backend). */
ACTR_API int actr_ws_connect(actr_runtime_t *rt, const char *url, const actr_ws_config_t *cfg,
                             actr_ws_conn_t **out);

/* ---- both ends ---- */

/** actr_ws_conn_lane: the lane of @p type over @p conn, created on first use and
 * cached; *@p out is a new handle (transfer full, actr_lane_unref).  The lane's
 * type is "WebSocket"; send / try_send / recv / try_recv are offered,
 * envelopes are not (ACTR_EINVALID_OPERATION).  Send and recv return
 * ACTR_EWEBSOCKET_CLOSED once the connection is closed (recv after draining
 * what had arrived).  actr_lane_close() closes that lane handle's view only
 * (its blocked callers return ACTR_EWEBSOCKET_CLOSED); the connection and
 * the type's queue stay, and a later actr_ws_conn_lane() gives a fresh lane.
 * The lane's stats count that type; dropped_invalid counts the whole
 * connection (a malformed message has no trustworthy type).  Non-blocking. */
ACTR_API int actr_ws_conn_lane(actr_ws_conn_t *conn, actr_payload_type_t type,
                               actr_lane_t **out);

/** actr_ws_conn_recv: the next message of any payload type (waiting up to
 * @p timeout_ms; -1 no limit, 0 never: ACTR_EWOULD_BLOCK), for peers that serve
 * every type from one thread, such as an echo server.  *@p type and *@p out
 * (transfer full) on ACTR_OK; ACTR_ETIMEOUT; ACTR_EWEBSOCKET_CLOSED once
 * closed and drained.  Types are visited in turn, so no type starves; order
 * within a type is arrival order. */
ACTR_API int actr_ws_conn_recv(actr_ws_conn_t *conn, int timeout_ms, actr_payload_type_t *type,
                               actr_msg_t **out);

/** actr_ws_conn_source_id / actr_ws_conn_credential: the X-Actr-Source-ID /
 * X-Actr-Credential the client sent (on a server connection) or will send
 * (client); NULL when absent.  (transfer none, valid while @p conn is.) */
ACTR_API const char *actr_ws_conn_source_id(const actr_ws_conn_t *conn);
/** actr_ws_conn_credential: see actr_ws_conn_source_id. */
ACTR_API const char *actr_ws_conn_credential(const actr_ws_conn_t *conn);

/** actr_ws_conn_path: the request path ("/lane") (transfer none). */
ACTR_API const char *actr_ws_conn_path(const actr_ws_conn_t *conn);

/** actr_ws_conn_is_open: true until the close handshake starts or the
 * connection fails. */
ACTR_API bool actr_ws_conn_is_open(const actr_ws_conn_t *conn);

/** actr_ws_conn_stats: copy the counters into *@p out. */
ACTR_API int actr_ws_conn_stats(const actr_ws_conn_t *conn, actr_ws_conn_stats_t *out);

/* ---- event-driven use ---- */

/** actr_ws_conn_callbacks_t: a connection's events, on the I/O thread.
 *
 * Event-driven use: lanes of a connection take handlers (actr_lane_set_handler:
 * each message of that type goes to the handler on the I/O thread, as it is
 * decoded, in order; queued ones first).  A handler's send never waits: it
 * returns ACTR_EWOULD_BLOCK when the connection's outbound queue is full.
 * Then: keep the message, actr_ws_conn_pause the connection (nothing more is
 * read from the peer, so TCP pushes it back), and on on_writable send it
 * again and actr_ws_conn_resume.  No thread per connection is needed
 * (actr-lane serve works this way). */
typedef struct actr_ws_conn_callbacks {
  /** on_writable: a send refused for a full outbound queue (ACTR_EWOULD_BLOCK
   * or ACTR_ETIMEOUT) may be tried again: the queue has drained to half.
   * Once per refusal streak.  May be NULL. */
  void (*on_writable)(actr_ws_conn_t *conn, void *user);
  /** on_closed: the connection has closed (either side, or failed); the last
   * callback of the connection (handlers included).  Called at once when it
   * was closed already.  May be NULL. */
  void (*on_closed)(actr_ws_conn_t *conn, void *user);
} actr_ws_conn_callbacks_t;

/** actr_ws_conn_set_callbacks: set (or, @p cbs NULL, clear) @p conn's event
 * callbacks.  When it returns, the previous ones are not running (unless
 * called from inside one) and never run again.  Lane connections only
 * (message-mode ones have actr_ws_message_ops_t).  Any thread.  Codes:
 * ACTR_EINVALID_ARGUMENT, ACTR_EINVALID_OPERATION (message mode). */
ACTR_API int actr_ws_conn_set_callbacks(actr_ws_conn_t *conn, const actr_ws_conn_callbacks_t *cbs,
                                        void *user);

/** actr_ws_conn_pause: stop reading from the peer: a message already read
 * stays held, and TCP pushes the peer back (lane and message-mode
 * connections alike).  actr_ws_conn_resume: read
 * again (the held message first).  Idempotent; any thread (on the I/O
 * thread, such as in a handler, they take effect at once: no handler of
 * this connection runs after pause returns, until resume). */
ACTR_API int actr_ws_conn_pause(actr_ws_conn_t *conn);
/** actr_ws_conn_resume: see actr_ws_conn_pause. */
ACTR_API int actr_ws_conn_resume(actr_ws_conn_t *conn);

/** actr_ws_conn_close: start the close handshake (idempotent, non-blocking):
 * messages already accepted by send are written first, later sends fail with
 * ACTR_EWEBSOCKET_CLOSED, blocked callers wake; what has arrived can still
 * be received. */
ACTR_API void actr_ws_conn_close(actr_ws_conn_t *conn);

/** actr_ws_conn_ref: another handle to @p conn. */
ACTR_API actr_ws_conn_t *actr_ws_conn_ref(actr_ws_conn_t *conn);

/** actr_ws_conn_unref: release a handle (NULL: no-op); see "Lifetime" above
 * for what the last release does. */
ACTR_API void actr_ws_conn_unref(actr_ws_conn_t *conn);

/* ---- server ---- */

/** actr_ws_accept_fn: a client completed the handshake on a lane path.
 * @p conn is (transfer full): release it with actr_ws_conn_unref.  @p path is
 * the request path (transfer none, valid during the call).  Runs on the I/O
 * thread: do not block (making lanes is fine, recv / send are not). */
typedef void (*actr_ws_accept_fn)(actr_ws_conn_t *conn, const char *path, void *user);

/** actr_ws_server_new: listen on @p host:@p port (port 0: any free port, read it
 * back with actr_ws_server_port) and serve the upgrade on every path as an
 * actr lane connection (see actr-lane's /signal for a path that is not).
 * With cfg->cert_file and cfg->key_file, TLS (wss://).  Requests that are not
 * valid upgrades get a 4xx answer and are closed.  *@p out is (transfer full).
 * Blocks briefly (set-up on the I/O thread); not on the I/O thread.  Codes:
 * ACTR_EINVALID_ARGUMENT, ACTR_ECONFIGURATION (certificate, key or TLS
 * backend), ACTR_EIO (cannot listen: the detail says why). */
ACTR_API int actr_ws_server_new(actr_runtime_t *rt, const char *host, uint16_t port,
                                const actr_ws_config_t *cfg, actr_ws_accept_fn on_accept,
                                void *user, actr_ws_server_t **out);

/** actr_ws_server_set_check: check every upgrade request from now on with
 * @p fn (NULL: accept all), replacing the config's check.  The server
 * listens from actr_ws_server_new on, so requests that arrive before this
 * call are checked by the config's check, if any: give the check there
 * (actr_ws_config_t.check) when none may pass unchecked.  Any thread but the
 * I/O thread. */
ACTR_API int actr_ws_server_set_check(actr_ws_server_t *srv, actr_ws_check_fn fn, void *user);

/** actr_ws_server_stats_t: a server's connections now and refusals so far. */
typedef struct actr_ws_server_stats {
  uint32_t connections; /**< counted against max_connections */
  uint32_t handshakes;  /**< counted against max_handshakes */
  uint64_t accepted;    /**< handshakes completed */
  uint64_t refused_busy; /**< connections closed at once for a cap */
  uint64_t refused_check; /**< requests the check callback refused */
} actr_ws_server_stats_t;

/** actr_ws_server_stats: copy @p srv's counters into *@p out.  Any thread. */
ACTR_API int actr_ws_server_stats(const actr_ws_server_t *srv, actr_ws_server_stats_t *out);

/** actr_ws_server_port: the port actually listened on. */
ACTR_API uint16_t actr_ws_server_port(const actr_ws_server_t *srv);

/** actr_ws_server_is_tls: true when serving wss://. */
ACTR_API bool actr_ws_server_is_tls(const actr_ws_server_t *srv);

/** actr_ws_server_close: stop listening and abort handshakes in progress;
 * no accept callback runs once it returns.  Connections already accepted are
 * the callback's and stay open.  Idempotent; blocks briefly; not on the I/O
 * thread. */
ACTR_API void actr_ws_server_close(actr_ws_server_t *srv);

/** actr_ws_server_free: close (as above) and free (NULL: no-op). */
ACTR_API void actr_ws_server_free(actr_ws_server_t *srv);

/** ---- message mode ----
 * A WebSocket connection for a protocol of your own instead of actr lanes
 * (WebRTC signaling on /signal is one: JSON text messages).  It has no
 * lanes (actr_ws_conn_lane returns ACTR_EINVALID_OPERATION): each whole
 * data message goes to on_message as it arrives (text or binary; text is
 * valid UTF-8), and actr_ws_conn_send_message sends them.  The connection
 * keeps its bounds (outbound queue, message size), keepalive and close
 * handshake.  All three callbacks run on the I/O thread with no libactr lock
 * held and must not block; on_close is the last call for that connection. */
typedef struct actr_ws_message_ops {
  /** on_open: the handshake is done.  @p conn is (transfer full) for server
   * connections (the callback owns a handle: keep it, or release it with
   * actr_ws_conn_unref); for actr_ws_connect_messages the caller gets its
   * handle from the connect call and @p conn is (transfer none).  May be NULL
   * (a server connection is then released at once: closed). */
  void (*on_open)(actr_ws_conn_t *conn, void *user);
  /** on_message: @p data (transfer none) is valid during the call.  May be NULL. */
  void (*on_message)(actr_ws_conn_t *conn, bool text, const uint8_t *data, size_t len,
                     void *user);
  /** on_close: closed by either side or failed: @p code as received, or 1006
   * when no close frame came; @p reason (transfer none) may be "".  May be
   * NULL. */
  void (*on_close)(actr_ws_conn_t *conn, int code, const char *reason, void *user);
} actr_ws_message_ops_t;

/** actr_ws_server_add_message_path: serve @p path (exact match, query
 * ignored) in message mode with @p ops / @p user instead of as a lane
 * connection.  Its messages are at most @p max_message_bytes (0: the
 * server's max_message_bytes); a larger one fails the connection with
 * close code 1009.  Call before clients arrive (right after
 * actr_ws_server_new); @p ops and @p user must outlive the server and its
 * connections.  The server's caps (max_connections, max_handshakes) count
 * these connections too.  Codes: ACTR_EINVALID_ARGUMENT. */
ACTR_API int actr_ws_server_add_message_path(actr_ws_server_t *srv, const char *path,
                                             const actr_ws_message_ops_t *ops, void *user,
                                             uint64_t max_message_bytes);

/** actr_ws_connect_messages: actr_ws_connect for a message-mode connection
 * (same codes); @p ops / @p user get its messages (they must outlive it). */
ACTR_API int actr_ws_connect_messages(actr_runtime_t *rt, const char *url,
                                      const actr_ws_config_t *cfg,
                                      const actr_ws_message_ops_t *ops, void *user,
                                      actr_ws_conn_t **out);

/** actr_ws_conn_send_message: queue one text (@p text: @p data must be UTF-8) or
 * binary message on a message-mode connection, waiting up to @p timeout_ms
 * while the outbound queue is full (-1 no limit; 0 never:
 * ACTR_EWOULD_BLOCK; on the I/O thread it never waits).  Any thread.
 * Codes: ACTR_EINVALID_ARGUMENT (not UTF-8), ACTR_EMESSAGE_TOO_LARGE,
 * ACTR_EWOULD_BLOCK, ACTR_ETIMEOUT, ACTR_EWEBSOCKET_CLOSED once closing. */
ACTR_API int actr_ws_conn_send_message(actr_ws_conn_t *conn, bool text, const void *data,
                                       size_t len, int timeout_ms);

/** actr_ws_conn_close_with: start the close handshake with @p code (RFC 6455
 * §7.4: 1000..4999, such as 1008 policy, 1011 internal error, 1013 try again
 * later) and @p reason (at most 123 bytes of UTF-8; longer is cut).  What
 * was queued is sent first.  Any thread, non-blocking, idempotent. */
ACTR_API void actr_ws_conn_close_with(actr_ws_conn_t *conn, uint16_t code, const char *reason);

#ifdef __cplusplus
}
#endif
#endif
