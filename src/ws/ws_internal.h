/* ws_internal.h — the WebSocket wire inside libactr: the connection object
 * shared by the client, the server, the lane and message mode (the public
 * side of which is in actr/websocket.h).  Internal (GLib types allowed). */
#ifndef ACTR_WS_INTERNAL_H
#define ACTR_WS_INTERNAL_H

#include <gio/gio.h>
#include <stdatomic.h>

#include <actr/websocket.h>

#include "clock.h"
#include "hub.h"
#include "ws_frame.h"
#include "ws_pool.h"

/* ---- the connection (ws_conn.c; its I/O side in the files beside it, ws_conn_io.h) ---- */

typedef enum ws_state {
  WS_CONNECTING = 0, /* TCP / TLS / upgrade handshake */
  WS_OPEN,
  WS_CLOSING, /* close handshake started */
  WS_CLOSED,  /* the I/O side has let go of the socket */
} ws_state_t;

typedef struct tx_frame tx_frame_t;
struct ws_lane;

/* ws_slot_t: a queued message (unmasked by the I/O thread as it was read,
 * while its bytes were in the cache). */
typedef struct ws_slot {
  actr_msg_t *msg;
  size_t held; /* the bytes its storage holds, counted against the queue
                * limits: a lane message whose header declares fewer data
                * bytes than it carries holds them all (ws_rx.c) */
} ws_slot_t;

typedef struct ws_queue {
  ws_slot_t *slot; /* circular, capacity cap: none until the first message,
                      then doubled as needed up to inbound_queue_messages */
  size_t head, count, cap;
  uint64_t bytes;
  unsigned waiters;
  GCond cond;
  uint64_t msgs_sent, bytes_sent; /* under tx_mu */
  uint64_t msgs_received, bytes_received; /* under rx_mu */
  bool claimed;            /* under rx_mu: a lane or actr_ws_conn_recv asked for it */
  /* push delivery (actr_lane_set_handler): written on the I/O thread under
   * rx_mu; the lane is held while set */
  actr_lane_handler_fn handler;
  void *handler_user;
  actr_lane_t *handler_lane;
  bool handler_paused; /* actr_lane_pause: messages queue, in order */
  /* actr_lane_set_writable_handler: written on the I/O thread under rx_mu,
   * the lane held while set; want_writable (under tx_mu): a send of this
   * type was refused since the last call. */
  actr_lane_writable_fn writable;
  void *writable_user;
  actr_lane_t *writable_lane;
  bool want_writable;
  uint64_t dropped_unread; /* under rx_mu */
} ws_queue_t;

struct actr_ws_conn {
  atomic_int refs;    /* see ws_conn.c: handles (as one), the I/O side, invokes */
  atomic_int handles; /* user handles and lanes */
  actr_runtime_t *rt;
  GMainContext *ctx;
  bool is_server;
  bool raw; /* raw messages mode */
  const actr_ws_message_ops_t *raw_ops;
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
  GSource *in_src, *out_src, *timer_src; /* TLS streams' sources; handshake/close timer */
  int timer_code;        /* timer_src tears down with these (handshake or close) */
  const char *timer_why;
  /* The runtime's hub (hub.h): a plain socket's input and output, the
   * sender's wake-up, the keepalive tick; no source per connection. */
  actr__watch_t *in_w, *out_w, *kick_w, *ping_w;
  uint8_t *rbuf; /* the handshake head's size until open, then 256 KiB */
  size_t rbuf_size, rpos, rend;
  size_t head_scanned; /* CONNECTING: rbuf bytes actr__ws_http_head_ready has seen */
  bool after_large; /* the last message was large: read small until the next header */
  actr__ws_reader_t reader;
  ws_slot_t pending;     /* a message waiting for room in its queue (msg NULL: none) */
  int pending_type;
  tx_frame_t *io_head, *io_tail;   /* data frames taken from the shared queue */
  tx_frame_t *ctl_head, *ctl_tail; /* control frames and handshake heads */
  bool close_queued, close_written, close_received, fail_after_close, paused;
  bool user_paused; /* actr_ws_conn_pause: hold what arrives, read nothing */
  actr_ws_conn_callbacks_t cbs; /* actr_ws_conn_set_callbacks */
  void *cbs_user;
  bool flush_then_close; /* a local close: send what was accepted first */
  bool teardown_after_flush;
  uint16_t close_code;
  char close_reason[124];
  uint16_t peer_close_code;
  char peer_close_reason[124];
  gint64 last_rx_us, ping_sent_us;
  bool ping_outstanding;
  bool pong_due; /* a pong queued by this read batch, written at its end */
  bool rto_capped; /* TCP_RTO_MAX_MS took the ping interval */
  bool tcp_lost;   /* check_tcp at the last tick: a probe unanswered, no ACK for long */
  char key[25]; /* client: the Sec-WebSocket-Key sent */
  char *request; /* client: the request head to send */
  struct actr_ws_server *server;    /* server side, during the handshake */
  struct actr_ws_server *orphan_of; /* server side, until handed out or freed */
  uint8_t peer_key[16]; /* server side: actr__addr_key of the peer, when peer_key_set */
  bool peer_key_set;
  struct actr_ws_server *counted_by; /* server side: counted in its connections
                                        (holding a reference) until teardown */
  /* connect waiter (client) */
  GMutex done_mu;
  GCond done_cond;
  bool handshake_done, io_done;
  int fail_code;
  char *fail_detail;
  /* actr__ws_dial's outcome (ws_dial.h): called once, outside done_mu,
   * with dial_running set meanwhile (under done_mu) */
  void (*dial_done)(actr_ws_conn_t *conn, int code, const char *detail, void *user);
  void *dial_user;
  bool dial_running;

  /* outbound queue (any thread) */
  GMutex tx_mu;
  GCond tx_cond;
  /* A plain socket's fd while senders may write to it directly (ws_tx.c:
   * nothing queued, the I/O side not writing); -1 for TLS, before open and
   * from teardown on.  Under tx_mu, which a direct write holds. */
  int direct_fd;
  uint64_t direct_rx_seen; /* under tx_mu: rx_data_msgs at the last small direct write */
  tx_frame_t *txq_head, *txq_tail;
  uint64_t tx_bytes, tx_bytes_peak;
  unsigned tx_waiters;
  bool tx_active, tx_closed;
  bool want_writable; /* a send found the queue full: tell on_writable at half */
  bool writable_check_posted; /* a lane's look from the I/O thread is on its way */

  /* inbound queues (any thread) */
  GMutex rx_mu;
  ws_queue_t q[ACTR_PAYLOAD_TYPE_COUNT];
  GCond any_cond;
  unsigned any_waiters, any_next;
  bool rx_closed;
  bool any_claimed; /* some type's lane was asked for: the others are "unread" */
  bool all_claimed; /* actr_ws_conn_recv was called: every type is read */
  char closed_why[200]; /* set with rx_closed: why the connection ended */
  bool rx_paused, resume_pending;
  unsigned rx_wake, rx_unwoken; /* I/O thread: queues with unannounced messages */
  uint64_t rx_bytes, rx_bytes_peak, read_pauses;
  atomic_uint_fast64_t dropped_invalid, pings_sent, pongs_received;
  atomic_uint_fast64_t rx_data_msgs; /* data messages decoded (I/O thread writes) */

  /* lanes (cache, weak: a lane's fini clears its slot) */
  GMutex lane_mu;
  struct ws_lane *lanes[ACTR_PAYLOAD_TYPE_COUNT];
};

/* ws_cond_wait: wait on @cond (@mu held) within @w (not 0: a caller that
 * must not wait never gets here), counted in *@waiters meanwhile; false when
 * @w ran out.  Any thread but the I/O thread. */
static inline bool ws_cond_wait(GCond *cond, GMutex *mu, unsigned *waiters, const actr__wait_t *w) {
  bool in_time = true;
  (*waiters)++;
  if (w->timeout_ms < 0)
    g_cond_wait(cond, mu);
  else
    in_time = g_cond_wait_until(cond, mu, w->until_us);
  (*waiters)--;
  return in_time;
}

/* actr__ws_config_own_strings / actr__ws_config_free_strings: make the
 * strings of a copied config the copy's own (duplicates, NULL stays NULL) /
 * free them. */
void actr__ws_config_own_strings(actr_ws_config_t *cfg);
void actr__ws_config_free_strings(actr_ws_config_t *cfg);

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
/* actr__ws_conn_dial_report: a client's handshake ended (fail_code and
 * fail_detail set, handshake_done): its actr__ws_dial callback, if any, runs
 * now, once.  The I/O thread, done_mu not held. */
void actr__ws_conn_dial_report(actr_ws_conn_t *conn);

/* I/O thread (ws_conn.c): TCP (and TLS) are up, run the upgrade over
 * @stream (transfer full; @sock transfer full); arm the handshake timer. */
void actr__ws_conn_begin_io(actr_ws_conn_t *c, GIOStream *stream, GSocket *sock, bool tls);
void actr__ws_conn_arm_handshake_timer(actr_ws_conn_t *c);
/* I/O thread: start the close handshake (@fail: the stream is broken). */
void actr__ws_conn_start_close(actr_ws_conn_t *c, uint16_t code, const char *reason, bool fail);
/* I/O thread (an invoke, holding a reference it releases): resume reading. */
void actr__ws_conn_resume_on_io(void *conn);
/* ws_user.c: actr__ws_conn_resume_on_io from a fresh dispatch of the I/O
 * thread (any thread; never inline). */
void actr__ws_conn_post_resume(actr_ws_conn_t *c);
/* Any thread: ACTR_EWEBSOCKET_CLOSED with why the connection ended. */
int actr__ws_conn_closed_error(actr_ws_conn_t *c);

/* ws_user.c, I/O thread: switch @type to push delivery (NULL @fn: back to
 * queued); what is queued goes to @fn first. */
void actr__ws_conn_set_handler_on_io(actr_ws_conn_t *conn, int type, actr_lane_t *lane,
                                     actr_lane_handler_fn fn, void *user);

/* ws_user.c, I/O thread: pause (@paused) or resume push delivery of
 * @type; a resume hands what queued meanwhile to the handler from a
 * dispatch of its own. */
void actr__ws_conn_set_paused_on_io(actr_ws_conn_t *conn, int type, bool paused);
/* ws_lane.c, I/O thread: the outbound queue drained to half after a refused
 * send: tell the connection's on_writable and each type that was refused. */
void actr__ws_conn_tell_writable(actr_ws_conn_t *conn);

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
const actr_ws_message_ops_t *actr__ws_server_route(struct actr_ws_server *srv, const char *path,
                                                void **user, uint64_t *max_message_bytes);
/* ws_server.c: the user's check of a valid request that came on @sock (0: go
 * on, else the HTTP status to refuse with). */
int actr__ws_server_check(struct actr_ws_server *srv, GSocket *sock, const char *target,
                          const char *path, const char *head, size_t head_len);
/* ws_server.c: a counted connection's I/O side has let go of its socket. */
void actr__ws_server_conn_gone(struct actr_ws_server *srv);

#endif
