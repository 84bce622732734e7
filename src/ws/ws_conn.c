/* ws_conn.c — one WebSocket connection: its configuration and lifetime,
 * the upgrade handshake and the start of its I/O side.  The I/O side is in
 * the files beside it, one concern each, sharing ws_conn_io.h: ws_io.c (the
 * socket and TLS streams), ws_tx.c (the outbound queue), ws_rx.c (inbound
 * decoding and the per-type queues), ws_close.c (the close handshake and
 * teardown), ws_keepalive.c (pings and the TCP check).  (Taking messages out
 * and the public connection calls are in ws_user.c.)
 *
 * References: `refs` counts the user's handles as one (`handles`), the I/O
 * side while it owns the socket, and each pending invoke or async GIO call.
 * The memory is freed when refs reaches 0. */
#include "ws_conn_io.h"

#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "error_internal.h"
#include "msg_internal.h"
#include "runtime_internal.h"
#include "ws_http.h"

#define RBUF_BYTES (256u * 1024u)

/* rx_alloc: the reader's storage for large single-frame messages. */
static actr_msg_t *rx_alloc(void *user, size_t len, uint8_t **bytes) {
  actr_ws_conn_t *c = user;
  if (len >= ACTR__WS_POOL_MIN && len <= ACTR__WS_POOL_MAX)
    return actr__ws_pool_msg(c->rx_pool, len, ACTR__WS_MSG_HEADER, bytes);
  return actr__msg_alloc(len, 64 - ACTR__WS_MSG_HEADER, bytes);
}

/* ---- configuration and lifetime ---- */

void actr_ws_config_init(actr_ws_config_t *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->max_message_bytes = 64u << 20;
  cfg->inbound_queue_messages = 1024;
  cfg->inbound_queue_bytes = 16u << 20;
  cfg->outbound_queue_bytes = 8u << 20;
  cfg->ping_interval_ms = 4000;
  cfg->connect_timeout_ms = 10000;
  cfg->close_timeout_ms = 2000;
  cfg->unread_queue_messages = 64;
  cfg->unread_queue_bytes = 1u << 20;
  cfg->max_connections = 1024;
  cfg->max_handshakes = 64;
}

void actr__ws_config_own_strings(actr_ws_config_t *cfg) {
  cfg->ca_file = g_strdup(cfg->ca_file);
  cfg->source_id = g_strdup(cfg->source_id);
  cfg->credential = g_strdup(cfg->credential);
  cfg->cert_file = g_strdup(cfg->cert_file);
  cfg->key_file = g_strdup(cfg->key_file);
}

void actr__ws_config_free_strings(actr_ws_config_t *cfg) {
  g_free((char *)cfg->ca_file);
  g_free((char *)cfg->source_id);
  g_free((char *)cfg->credential);
  g_free((char *)cfg->cert_file);
  g_free((char *)cfg->key_file);
}

static void resolve_config(actr_ws_config_t *out, const actr_ws_config_t *in) {
  actr_ws_config_t d;
  actr_ws_config_init(&d);
  *out = in ? *in : d;
#define DEF(f) out->f = ACTR__OR_DEFAULT(out->f, d.f)
  DEF(max_message_bytes);
  DEF(inbound_queue_messages);
  DEF(inbound_queue_bytes);
  DEF(outbound_queue_bytes);
  DEF(ping_interval_ms);
  DEF(connect_timeout_ms);
  DEF(close_timeout_ms);
  DEF(unread_queue_messages);
  DEF(unread_queue_bytes);
  DEF(max_connections);
  DEF(max_handshakes);
#undef DEF
  if (out->inbound_queue_messages > (1u << 24))
    out->inbound_queue_messages = 1u << 24;
  /* A type nobody reads drops past its unread bounds before its queue
   * could pause reading (push_locked checks them first); bounds at or above
   * the inbound ones would pause instead, and the lanes that are read would
   * stop with it. */
  if (out->unread_queue_messages > out->inbound_queue_messages)
    out->unread_queue_messages = out->inbound_queue_messages;
  if (out->unread_queue_bytes > out->inbound_queue_bytes)
    out->unread_queue_bytes = out->inbound_queue_bytes;
  actr__ws_config_own_strings(out);
}

actr_ws_conn_t *actr__ws_conn_new(actr_runtime_t *rt, bool is_server, const actr_ws_config_t *cfg) {
  actr_ws_conn_t *c = g_new0(actr_ws_conn_t, 1);
  atomic_init(&c->refs, 0);
  atomic_init(&c->handles, 0);
  c->rt = actr_runtime_ref(rt);
  c->ctx = actr__runtime_context(rt);
  c->is_server = is_server;
  resolve_config(&c->cfg, cfg);
  atomic_init(&c->state, WS_CONNECTING);
  g_mutex_init(&c->done_mu);
  g_cond_init(&c->done_cond);
  c->io_done = true;
  g_mutex_init(&c->tx_mu);
  g_cond_init(&c->tx_cond);
  c->tx_closed = true; /* until the handshake is done */
  c->direct_fd = -1;
  c->direct_rx_seen = UINT64_MAX; /* the first send may go directly */
  g_mutex_init(&c->rx_mu);
  g_cond_init(&c->any_cond);
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    g_cond_init(&c->q[t].cond);
  g_mutex_init(&c->lane_mu);
  actr__ws_reader_init(&c->reader, is_server, c->cfg.max_message_bytes);
  c->tx_pool = actr__ws_pool_new();
  c->rx_pool = actr__ws_pool_new();
  c->reader.alloc = rx_alloc;
  c->reader.alloc_user = c;
  if (!is_server) {
    c->source_id = c->cfg.source_id ? g_strdup(c->cfg.source_id) : NULL;
    c->credential = c->cfg.credential ? g_strdup(c->cfg.credential) : NULL;
  }
  return c;
}

static void conn_free(actr_ws_conn_t *c) {
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++) {
    ws_queue_t *q = &c->q[t];
    for (size_t i = 0; i < q->count; i++)
      actr_msg_free(q->slot[(q->head + i) % q->cap].msg);
    g_free(q->slot);
    g_cond_clear(&q->cond);
  }
  g_mutex_clear(&c->done_mu);
  g_cond_clear(&c->done_cond);
  g_mutex_clear(&c->tx_mu);
  g_cond_clear(&c->tx_cond);
  g_mutex_clear(&c->rx_mu);
  g_cond_clear(&c->any_cond);
  g_mutex_clear(&c->lane_mu);
  actr__ws_config_free_strings(&c->cfg);
  g_free(c->path);
  g_free(c->source_id);
  g_free(c->credential);
  g_free(c->fail_detail);
  g_free(c->request);
  actr__ws_pool_unref(c->tx_pool);
  actr__ws_pool_unref(c->rx_pool); /* lives on while received messages use it */
  actr_runtime_t *rt = c->rt;
  struct actr_ws_server *orphan_of = c->orphan_of;
  g_free(c);
  actr_runtime_unref(rt);
  /* Last: the server waits for its orphans before it lets go of the
   * runtime, so the unref above was not the last one. */
  if (orphan_of)
    actr__ws_server_orphan_gone(orphan_of);
}

void actr__ws_conn_ref_internal(actr_ws_conn_t *c) { atomic_fetch_add(&c->refs, 1); }

void actr__ws_conn_unref_internal(actr_ws_conn_t *c) {
  /* Under done_mu so that a thread waiting for "only my reference left"
   * (release_handle) cannot free the connection between our decrement and
   * our signal. */
  g_mutex_lock(&c->done_mu);
  int prev = atomic_fetch_sub(&c->refs, 1);
  if (prev == 2)
    g_cond_broadcast(&c->done_cond);
  g_mutex_unlock(&c->done_mu);
  if (prev == 1)
    conn_free(c);
}

void actr__ws_conn_add_handle(actr_ws_conn_t *c) {
  if (atomic_fetch_add(&c->handles, 1) == 0)
    actr__ws_conn_ref_internal(c);
}

static void close_on_io(void *p) {
  actr_ws_conn_t *c = p;
  int st = atomic_load(&c->state);
  if (st == WS_CONNECTING)
    actr__ws_conn_teardown(c, ACTR_EWEBSOCKET_CLOSED, "closed before the handshake finished");
  else if (st == WS_OPEN)
    actr__ws_conn_start_close(c, ACTR__WS_CLOSE_NORMAL, "", false);
  actr__ws_conn_unref_internal(c);
}

void actr__ws_conn_release_handle(actr_ws_conn_t *c) {
  if (atomic_fetch_sub(&c->handles, 1) != 1)
    return;
  /* The last handle: close.  Off the I/O thread, wait until the I/O side
   * holds nothing (socket released, invokes and async steps finished; the
   * close timer bounds it), so the memory and the runtime reference are
   * released here, never on the I/O thread. */
  actr__ws_conn_ref_internal(c);
  actr_runtime_invoke(c->rt, close_on_io, c);
  if (!actr_runtime_is_io_thread(c->rt)) {
    g_mutex_lock(&c->done_mu);
    while (atomic_load(&c->refs) > 1)
      g_cond_wait(&c->done_cond, &c->done_mu);
    g_mutex_unlock(&c->done_mu);
  }
  actr__ws_conn_unref_internal(c);
}

/* open_stream: I/O thread: the handshake succeeded; frames may flow. */
static void open_stream(actr_ws_conn_t *c) {
  c->reader.binary_only = !c->raw; /* lanes carry binary messages only */
  /* What followed the head is kept: realloc moves it with the buffer. */
  c->rbuf_size = RBUF_BYTES;
  c->rbuf = g_realloc(c->rbuf, c->rbuf_size);
  atomic_store(&c->state, WS_OPEN);
  actr__ws_drop_source(&c->timer_src);
  actr__ws_conn_tx_open(c);
  c->last_rx_us = g_get_monotonic_time();
  actr__ws_conn_keepalive_start(c);
}

/* refuse_handshake: answer the request with @status, then close.  False
 * (stop reading), for handshake_input to return. */
static bool refuse_handshake(actr_ws_conn_t *c, int status, const char *why) {
  ACTR__LOG_PEER(ACTR_LOG_INFO, "WebSocket handshake refused (%d): %s", status, why);
  char *resp = actr__ws_http_response_error(status, why);
  actr__ws_conn_queue_head(c, resp);
  g_free(resp);
  c->teardown_after_flush = true;
  actr__ws_conn_unwatch_input(c);
  actr__ws_conn_flush(c);
  return false;
}

/* handshake_input: CONNECTING: the upgrade request (server) or response
 * (client) in rbuf[0..rend).  False to stop reading for now. */
bool actr__ws_conn_handshake_input(actr_ws_conn_t *c) {
  size_t head_len = 0;
  if (!actr__ws_http_head_ready((const char *)c->rbuf, c->rend, &c->head_scanned))
    return true; /* not parsed again for every byte of a head that drips in */
  if (c->is_server) {
    actr__ws_request_t req;
    int status;
    const char *why;
    int r = actr__ws_http_parse_request((const char *)c->rbuf, c->rend, &head_len, &req, &status, &why);
    if (r == 0)
      return true;
    if (r < 0)
      return refuse_handshake(c, status, why);
    int refuse = actr__ws_server_check(c->server, c->sock, req.target, req.path,
                                       (const char *)c->rbuf, head_len);
    if (refuse) {
      actr__ws_request_clear(&req);
      return refuse_handshake(c, refuse, "refused by the server's check");
    }
    c->path = g_strdup(req.path);
    c->source_id = req.source_id;
    c->credential = req.credential;
    req.source_id = req.credential = NULL;
    void *user = NULL;
    uint64_t max = 0;
    const actr_ws_message_ops_t *raw = actr__ws_server_route(c->server, c->path, &user, &max);
    if (raw) {
      c->raw = true;
      c->raw_ops = raw;
      c->raw_user = user;
      if (max && max < c->cfg.max_message_bytes)
        c->cfg.max_message_bytes = c->reader.max_message = max;
    }
    char *resp = actr__ws_http_response_101(req.key);
    actr__ws_request_clear(&req);
    actr__ws_conn_queue_head(c, resp);
    g_free(resp);
    c->rpos = head_len;
    open_stream(c);
    actr__ws_conn_flush(c);
    /* The 101 could not be written (the client reset the connection after
     * its request): teardown ended the handshake as failed (c->server). */
    if (atomic_load(&c->state) == WS_CLOSED)
      return false;
    actr__ws_server_handshake_done(c->server, c, true);
  } else {
    int status;
    char *detail = NULL;
    int r = actr__ws_http_parse_response((const char *)c->rbuf, c->rend, c->key, &head_len, &status,
                                         &detail);
    if (r == 0)
      return true;
    if (r < 0) {
      actr__ws_conn_teardown(c, ACTR_EWEBSOCKET, detail);
      g_free(detail);
      return false;
    }
    c->rpos = head_len;
    open_stream(c);
    g_mutex_lock(&c->done_mu);
    c->handshake_done = true;
    c->fail_code = ACTR_OK;
    g_cond_broadcast(&c->done_cond);
    g_mutex_unlock(&c->done_mu);
    actr__ws_conn_dial_report(c);
    if (c->raw && c->raw_ops->on_open)
      c->raw_ops->on_open(c, c->raw_user);
  }
  return atomic_load(&c->state) == WS_OPEN;
}

/* ---- start (called by ws_client.c / ws_server.c on the I/O thread) ---- */

/* begin: TCP (and TLS) are up: run the upgrade over @stream. */
static void begin(actr_ws_conn_t *c) {
  /* Only the handshake head until the connection opens: a connection that
   * never completes its handshake costs 16 KiB, not 256. */
  c->rbuf_size = ACTR__WS_HTTP_MAX_HEAD;
  c->rbuf = g_malloc(c->rbuf_size);
  c->rpos = c->rend = 0;
  if (!c->tls)
    g_socket_set_blocking(c->sock, FALSE);
  if (!c->is_server) {
    actr__ws_conn_queue_head(c, c->request);
    actr__ws_conn_flush(c);
  }
  actr__ws_conn_watch_input(c);
}

void actr__ws_conn_begin_io(actr_ws_conn_t *c, GIOStream *stream, GSocket *sock, bool tls) {
  c->stream = stream;
  c->sock = sock;
  c->tls = tls;
  actr__ws_conn_set_tcp_options(c);
  if (tls) {
    GTlsConnection *t = G_TLS_CONNECTION(stream);
    g_tls_connection_set_require_close_notify(t, FALSE);
  }
  begin(c);
}

void actr__ws_conn_arm_handshake_timer(actr_ws_conn_t *c) {
  actr__ws_conn_arm_timer(c, c->cfg.connect_timeout_ms, ACTR_ETIMEOUT,
                          "WebSocket handshake timed out");
}

