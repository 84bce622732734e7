/* ws_internal.h — the WebSocket wire inside libactr: the connection object
 * shared by the client, the server and the lane, and the "raw messages"
 * mode other parts of libactr use for non-lane paths (WebRTC signaling on
 * /signal: JSON text messages).  Internal (GLib types allowed). */
#ifndef ACTR_WS_INTERNAL_H
#define ACTR_WS_INTERNAL_H

#include <gio/gio.h>
#include <stdatomic.h>

#include <actr/websocket.h>

#include "ws_frame.h"
#include "ws_pool.h"

/* ---- raw messages mode ----
 * A connection in raw mode has no lanes: each whole data message goes to
 * on_message as it arrives (text or binary; text is valid UTF-8), and
 * actr__ws_conn_send_raw sends them.  All three callbacks run on the I/O
 * thread with no libactr lock held; on_close is the last call for that
 * connection. */
typedef struct actr__ws_raw_ops {
  /* on_open: the handshake is done.  @conn is (transfer full) for server
   * connections (the handler owns a handle); for actr__ws_connect_raw the
   * caller gets its handle from the connect call and @conn is (transfer
   * none).  May be NULL. */
  void (*on_open)(actr_ws_conn_t *conn, void *user);
  /* on_message: (transfer none) data valid during the call. */
  void (*on_message)(actr_ws_conn_t *conn, bool text, const uint8_t *data, size_t len,
                     void *user);
  /* on_close: closed (by either side or failure): @code as received or
   * 1006 when no close frame came; @reason (transfer none) may be "". */
  void (*on_close)(actr_ws_conn_t *conn, int code, const char *reason, void *user);
} actr__ws_raw_ops_t;

/* actr__ws_server_add_raw_path: serve @path (exact match, without query) in
 * raw mode with @ops / @user instead of as a lane connection.  Call before
 * clients arrive (typically right after actr_ws_server_new).  @ops and @user
 * must outlive the server and its raw connections. */
int actr__ws_server_add_raw_path(actr_ws_server_t *srv, const char *path,
                                 const actr__ws_raw_ops_t *ops, void *user);

/* actr__ws_connect_raw: actr_ws_connect in raw mode. */
int actr__ws_connect_raw(actr_runtime_t *rt, const char *url, const actr_ws_config_t *cfg,
                         const actr__ws_raw_ops_t *ops, void *user, actr_ws_conn_t **out);

/* actr__ws_conn_send_raw: queue one text (@text, must be UTF-8) or binary
 * message.  Any thread; blocks while the outbound queue is full unless
 * @nonblock (ACTR_EWOULD_BLOCK).  ACTR_EWEBSOCKET_CLOSED once closing. */
int actr__ws_conn_send_raw(actr_ws_conn_t *conn, bool text, const void *data, size_t len,
                           bool nonblock);

/* actr__ws_conn_close_with: start the close handshake with @code and
 * @reason (at most 123 bytes, UTF-8).  Any thread, non-blocking. */
void actr__ws_conn_close_with(actr_ws_conn_t *conn, uint16_t code, const char *reason);

/* ---- the connection (ws_conn.c) ---- */

typedef enum ws_state {
  WS_CONNECTING = 0, /* TCP / TLS / upgrade handshake */
  WS_OPEN,
  WS_CLOSING, /* close handshake started */
  WS_CLOSED,  /* the I/O side has let go of the socket */
} ws_state_t;

typedef struct tx_frame tx_frame_t;
struct ws_lane;

/* ws_slot_t: a queued message; a server leaves the data masked (key from
 * offset 0) for the receiving thread to unmask when it takes it. */
typedef struct ws_slot {
  actr_msg_t *msg;
  uint8_t key[4];
  bool masked;
} ws_slot_t;

typedef struct ws_queue {
  ws_slot_t *slot; /* circular, capacity inbound_queue_messages */
  size_t head, count;
  uint64_t bytes;
  unsigned waiters;
  GCond cond;
  uint64_t msgs_sent, bytes_sent; /* under tx_mu */
  uint64_t msgs_received, bytes_received; /* under rx_mu */
} ws_queue_t;

struct actr_ws_conn {
  atomic_int refs;    /* see ws_conn.c: handles (as one), the I/O side, invokes */
  atomic_int handles; /* user handles and lanes */
  actr_runtime_t *rt;
  GMainContext *ctx;
  bool is_server;
  bool raw; /* raw messages mode */
  const actr__ws_raw_ops_t *raw_ops;
  void *raw_user;
  actr_ws_config_t cfg; /* numbers resolved; strings below */
  char *path, *source_id, *credential;
  _Atomic int state; /* ws_state_t */
  actr__ws_pool_t *tx_pool, *rx_pool; /* large frames, large received messages */

  /* I/O thread only */
  GIOStream *stream;
  GSocket *sock;
  bool tls;
  GCancellable *cancel;
  GSource *in_src, *out_src, *kick_src, *ping_src, *timer_src;
  uint8_t *rbuf;
  size_t rpos, rend;
  bool after_large; /* the last message was large: read small until the next header */
  actr__ws_reader_t reader;
  ws_slot_t pending;     /* a message waiting for room in its queue (msg NULL: none) */
  int pending_type;
  tx_frame_t *io_head, *io_tail;   /* data frames taken from the shared queue */
  tx_frame_t *ctl_head, *ctl_tail; /* control frames and handshake heads */
  bool close_queued, close_written, close_received, fail_after_close, paused;
  bool flush_then_close; /* a local close: send what was accepted first */
  bool teardown_after_flush;
  uint16_t close_code;
  char close_reason[124];
  uint16_t peer_close_code;
  char peer_close_reason[124];
  gint64 last_rx_us, ping_sent_us;
  bool ping_outstanding;
  bool rto_capped; /* TCP_RTO_MAX_MS took the ping interval */
  bool tcp_lost;   /* check_tcp at the last tick: a probe unanswered, no ACK for long */
  char key[25]; /* client: the Sec-WebSocket-Key sent */
  char *request; /* client: the request head to send */
  struct actr_ws_server *server;    /* server side, during the handshake */
  struct actr_ws_server *orphan_of; /* server side, until handed out or freed */
  /* connect waiter (client) */
  GMutex done_mu;
  GCond done_cond;
  bool handshake_done, io_done;
  int fail_code;
  char *fail_detail;

  /* outbound queue (any thread) */
  GMutex tx_mu;
  GCond tx_cond;
  tx_frame_t *txq_head, *txq_tail;
  uint64_t tx_bytes, tx_bytes_peak;
  unsigned tx_waiters;
  bool tx_active, tx_closed;

  /* inbound queues (any thread) */
  GMutex rx_mu;
  ws_queue_t q[ACTR_PAYLOAD_TYPE_COUNT];
  GCond any_cond;
  unsigned any_waiters, any_next;
  bool rx_closed;
  char closed_why[200]; /* set with rx_closed: why the connection ended */
  bool rx_paused, resume_pending;
  unsigned rx_wake, rx_unwoken; /* I/O thread: queues with unannounced messages */
  uint64_t rx_bytes, rx_bytes_peak, read_pauses;
  atomic_uint_fast64_t dropped_invalid, pings_sent, pongs_received;

  /* lanes (cache, weak: a lane's fini clears its slot) */
  GMutex lane_mu;
  struct ws_lane *lanes[ACTR_PAYLOAD_TYPE_COUNT];
};

/* actr__ws_conn_new: a connection object with no socket yet, no handle
 * (refs 0).  Copies @cfg (NULL: defaults) and the strings. */
actr_ws_conn_t *actr__ws_conn_new(actr_runtime_t *rt, bool is_server, const actr_ws_config_t *cfg);

/* actr__ws_conn_add_handle: one more user handle (the first takes a ref). */
void actr__ws_conn_add_handle(actr_ws_conn_t *conn);
void actr__ws_conn_release_handle(actr_ws_conn_t *conn);
void actr__ws_conn_ref_internal(actr_ws_conn_t *conn);
void actr__ws_conn_unref_internal(actr_ws_conn_t *conn);

/* I/O thread: the connection failed or closed: release everything I/O
 * (idempotent). */
void actr__ws_conn_teardown(actr_ws_conn_t *conn, int code, const char *why);

/* I/O thread (ws_conn.c): TCP (and TLS) are up, run the upgrade over
 * @stream (transfer full; @sock transfer full); arm the handshake timer. */
void actr__ws_conn_begin_io(actr_ws_conn_t *c, GIOStream *stream, GSocket *sock, bool tls);
void actr__ws_conn_arm_handshake_timer(actr_ws_conn_t *c);
/* I/O thread: start the close handshake (@fail: the stream is broken). */
void actr__ws_conn_start_close(actr_ws_conn_t *c, uint16_t code, const char *reason, bool fail);
/* I/O thread (an invoke, holding a reference it releases): resume reading. */
void actr__ws_conn_resume_on_io(void *conn);
/* Any thread: ACTR_EWEBSOCKET_CLOSED with why the connection ended. */
int actr__ws_conn_closed_error(actr_ws_conn_t *c);

/* Lane side (any thread). */
int actr__ws_conn_send(actr_ws_conn_t *conn, int type, const void *data, size_t len,
                       int timeout_ms, const atomic_bool *lane_closed);
int actr__ws_conn_recv_type(actr_ws_conn_t *conn, int type, int timeout_ms, actr_msg_t **out,
                            const atomic_bool *lane_closed);
void actr__ws_conn_wake_all(actr_ws_conn_t *conn);

/* ws_server.c: a server connection finished its handshake (or failed). */
void actr__ws_server_handshake_done(struct actr_ws_server *srv, actr_ws_conn_t *conn,
                                    bool ok);
/* ws_server.c: a server connection never handed out has been freed. */
void actr__ws_server_orphan_gone(struct actr_ws_server *srv);
/* ws_server.c: the raw ops for @path, or NULL for a lane path; false when the
 * path is refused. */
const actr__ws_raw_ops_t *actr__ws_server_route(struct actr_ws_server *srv, const char *path,
                                                void **user);

#endif
