/* ws_conn.c — one WebSocket connection, its I/O side: the socket on the I/O
 * thread, the bounded outbound queue fed from any thread, filling the
 * bounded inbound queue of each payload type, the close handshake and
 * keepalive.  (Taking messages out and the public connection calls are in
 * ws_user.c.)
 *
 * Send (any thread): the frame — WebSocket header, 5-byte actr header, data,
 * masked on the client — is built with its one copy outside any lock, then
 * queued under tx_mu; a sender waits on tx_cond while the queue holds
 * outbound_queue_bytes.  Only the sender that finds the I/O side idle wakes
 * it (kick_w, the runtime hub's wake-up list; thread-safe, one eventfd
 * write).  The I/O
 * thread takes the whole queue at once and writes it with one sendmsg per
 * up to WRITE_VECS frames; when the socket is full it waits for POLLOUT.
 *
 * Receive (I/O thread): reads go into a 256 KiB buffer; while the payload of
 * a large data frame is expected they go straight into the message's own
 * storage (readv with a small spill area for what follows), so large
 * messages are not copied in user space.  Each whole message is decoded
 * (SPEC §1.4) and queued for its type; if that queue is full, the message
 * is held and the socket watch is removed (reading stops; TCP pushes the
 * peer back) until a consumer has drained the queue to half, which invokes
 * resume on the I/O thread.  Nothing polls or sleeps.
 *
 * References: `refs` counts the user's handles as one (`handles`), the I/O
 * side while it owns the socket, and each pending invoke or async GIO call.
 * The memory is freed when refs reaches 0. */
#include "ws_internal.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "error_internal.h"
#include "msg_internal.h"
#include "runtime_internal.h"
#include "ws_http.h"

#define RBUF_BYTES (256u * 1024u)
#define SPILL_BYTES 512u         /* read beside a direct payload read: the next header */
#define DIRECT_MIN (16u * 1024u) /* payload left to read directly into place */
#define WRITE_VECS 128
#define READS_PER_DISPATCH 64    /* then let other sources run */
#define WAKE_BATCH 16            /* messages queued before receivers are woken */

enum { F_DATA = 0, F_CONTROL, F_PONG, F_CLOSE, F_HEAD };

struct tx_frame {
  tx_frame_t *next;
  size_t len, off;
  int kind;
  bool pooled;
  uint8_t bytes[];
};

static void free_frame(tx_frame_t *f) {
  if (f->pooled)
    actr__ws_pool_put(f);
  else
    free(f);
}

/* rx_alloc: the reader's storage for large single-frame messages. */
static actr_msg_t *rx_alloc(void *user, size_t len, uint8_t **bytes) {
  actr_ws_conn_t *c = user;
  if (len >= ACTR__WS_POOL_MIN && len <= ACTR__WS_POOL_MAX)
    return actr__ws_pool_msg(c->rx_pool, len, ACTR__WS_MSG_HEADER, bytes);
  return actr__msg_alloc(len, 64 - ACTR__WS_MSG_HEADER, bytes);
}

static void flush(actr_ws_conn_t *c);
static void process_input(actr_ws_conn_t *c);
static void watch_input(actr_ws_conn_t *c);
static void unwatch_input(actr_ws_conn_t *c);

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

static void resolve_config(actr_ws_config_t *out, const actr_ws_config_t *in) {
  actr_ws_config_t d;
  actr_ws_config_init(&d);
  *out = in ? *in : d;
#define DEF(f)                                                                                     \
  if (!out->f)                                                                                     \
  out->f = d.f
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
  out->ca_file = out->ca_file ? g_strdup(out->ca_file) : NULL;
  out->source_id = out->source_id ? g_strdup(out->source_id) : NULL;
  out->credential = out->credential ? g_strdup(out->credential) : NULL;
  out->cert_file = out->cert_file ? g_strdup(out->cert_file) : NULL;
  out->key_file = out->key_file ? g_strdup(out->key_file) : NULL;
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
  g_free((char *)c->cfg.ca_file);
  g_free((char *)c->cfg.source_id);
  g_free((char *)c->cfg.credential);
  g_free((char *)c->cfg.cert_file);
  g_free((char *)c->cfg.key_file);
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

/* ---- socket I/O: plain GSocket (non-blocking) or the TLS streams ---- */

enum { IO_WOULD_BLOCK = -1, IO_ERROR = -2 };

static gssize io_read(actr_ws_conn_t *c, GInputVector *v, int nv, GError **err) {
  gssize n;
  if (c->tls) {
    GInputStream *in = g_io_stream_get_input_stream(c->stream);
    n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(in), v[0].buffer,
                                                 v[0].size, NULL, err);
  } else {
    gint flags = 0;
    n = g_socket_receive_message(c->sock, NULL, v, nv, NULL, NULL, &flags, NULL, err);
  }
  if (n < 0) {
    if (g_error_matches(*err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_clear_error(err);
      return IO_WOULD_BLOCK;
    }
    return IO_ERROR;
  }
  return n;
}

static gssize io_write(actr_ws_conn_t *c, GOutputVector *v, int nv, GError **err) {
  if (c->tls) {
    GOutputStream *out = g_io_stream_get_output_stream(c->stream);
    gsize written = 0;
    GPollableReturn r = g_pollable_output_stream_writev_nonblocking(
        G_POLLABLE_OUTPUT_STREAM(out), v, (gsize)nv, &written, NULL, err);
    if (r == G_POLLABLE_RETURN_WOULD_BLOCK)
      return IO_WOULD_BLOCK;
    if (r == G_POLLABLE_RETURN_FAILED)
      return IO_ERROR;
    return (gssize)written;
  }
  gssize n = g_socket_send_message(c->sock, NULL, v, nv, NULL, 0, G_SOCKET_MSG_NONE, NULL, err);
  if (n < 0) {
    if (g_error_matches(*err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_clear_error(err);
      return IO_WOULD_BLOCK;
    }
    return IO_ERROR;
  }
  return n;
}

/* Every I/O-thread entry point holds a reference for its duration: a
 * teardown inside it releases the I/O side's reference, and a user thread
 * waiting for that may drop the last handle at once. */
static void enter(actr_ws_conn_t *c) { actr__ws_conn_ref_internal(c); }
static void leave(actr_ws_conn_t *c) { actr__ws_conn_unref_internal(c); }

static gboolean on_sock_in(GSocket *s, GIOCondition cond, gpointer p) {
  enter(p);
  process_input(p);
  leave(p);
  return G_SOURCE_CONTINUE;
}

static gboolean on_stream_in(GObject *s, gpointer p) {
  enter(p);
  process_input(p);
  leave(p);
  return G_SOURCE_CONTINUE;
}

static void drop_source(GSource **s);
static gboolean on_writable(actr_ws_conn_t *c);

/* ---- hub watches (issue 13: scale) ----
 * A plain socket's input and output, the senders' wake-up and the
 * keepalive tick are watches of the runtime's hub (runtime/hub.h), not
 * GSources of their own: an idle connection then costs the loop nothing
 * per iteration, however many there are.  TLS streams keep their pollable
 * sources (GnuTLS may hold decrypted bytes the socket does not show). */

static void on_sock_in_w(void *p) { on_sock_in(NULL, G_IO_IN, p); }
static void on_sock_out_w(void *p) { on_writable(p); }

static bool out_waiting(const actr_ws_conn_t *c) { return c->out_src || c->out_w; }

static void drop_out(actr_ws_conn_t *c) {
  drop_source(&c->out_src);
  actr__watch_drop(&c->out_w);
}

/* ---- end of hub watches ---- */

static gboolean on_writable(actr_ws_conn_t *c) {
  enter(c);
  drop_out(c);
  flush(c);
  leave(c);
  return G_SOURCE_REMOVE;
}

static gboolean on_stream_out(GObject *s, gpointer p) { return on_writable(p); }

/* io_watch: wait for @c's socket to be readable (@out false) or writable:
 * a hub watch for a plain socket, a pollable source for TLS. */
static void io_watch(actr_ws_conn_t *c, bool out) {
  if (!c->tls) {
    actr__watch_t *w = actr__watch_fd(actr__runtime_hub(c->rt), g_socket_get_fd(c->sock), out,
                                      out ? on_sock_out_w : on_sock_in_w, c);
    if (!w) {
      actr__ws_conn_teardown(c, ACTR_ERESOURCE_EXHAUSTED, "cannot watch the socket (epoll)");
      return;
    }
    *(out ? &c->out_w : &c->in_w) = w;
    return;
  }
  GSource *src;
  if (out) {
    src = g_pollable_output_stream_create_source(
        G_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(c->stream)), NULL);
    g_source_set_callback(src, G_SOURCE_FUNC(on_stream_out), c, NULL);
  } else {
    src = g_pollable_input_stream_create_source(
        G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(c->stream)), NULL);
    g_source_set_callback(src, G_SOURCE_FUNC(on_stream_in), c, NULL);
  }
  g_source_attach(src, c->ctx);
  *(out ? &c->out_src : &c->in_src) = src;
}

static void drop_source(GSource **s) {
  if (*s) {
    g_source_destroy(*s);
    g_source_unref(*s);
    *s = NULL;
  }
}

static void watch_input(actr_ws_conn_t *c) {
  if (!c->in_src && !c->in_w && atomic_load(&c->state) != WS_CLOSED)
    io_watch(c, false);
}

static void unwatch_input(actr_ws_conn_t *c) {
  drop_source(&c->in_src);
  actr__watch_drop(&c->in_w);
}

/* ---- outbound ---- */

/* A strong source for client masking keys (RFC 6455 §5.3: unpredictable),
 * drawn 64 keys per getrandom call. */
static _Thread_local struct {
  uint8_t b[256];
  unsigned used;
  bool init;
} mask_pool;

static void next_mask(uint8_t out[4]) {
  if (!mask_pool.init || mask_pool.used + 4 > sizeof mask_pool.b) {
    if (getrandom(mask_pool.b, sizeof mask_pool.b, 0) != (ssize_t)sizeof mask_pool.b)
      for (size_t i = 0; i < sizeof mask_pool.b; i++)
        mask_pool.b[i] = (uint8_t)g_random_int();
    mask_pool.used = 0;
    mask_pool.init = true;
  }
  memcpy(out, mask_pool.b + mask_pool.used, 4);
  mask_pool.used += 4;
}

/* frame_build: one frame [ws header][pre][data], masked when @mask, in one
 * allocation and one copy. */
static tx_frame_t *frame_build(actr__ws_pool_t *pool, bool mask, uint8_t opcode,
                               const uint8_t *pre, size_t pre_len, const void *data, size_t len,
                               int kind) {
  uint64_t plen = (uint64_t)pre_len + len;
  size_t hl = actr__ws_frame_header_size(plen, mask);
  size_t total = sizeof(tx_frame_t) + hl + (size_t)plen;
  bool pooled = pool && total >= ACTR__WS_POOL_MIN && total <= ACTR__WS_POOL_MAX;
  tx_frame_t *f = pooled ? actr__ws_pool_get(pool, total) : malloc(total);
  if (!f)
    return NULL;
  f->pooled = pooled;
  f->next = NULL;
  f->off = 0;
  f->kind = kind;
  f->len = hl + (size_t)plen;
  uint8_t key[4];
  if (mask)
    next_mask(key);
  actr__ws_frame_header_encode(f->bytes, true, opcode, plen, mask ? key : NULL);
  uint8_t *p = f->bytes + hl;
  if (mask) {
    actr__ws_mask(p, pre, pre_len, key, 0);
    if (len)
      actr__ws_mask(p + pre_len, data, len, key, pre_len);
  } else {
    if (pre_len)
      memcpy(p, pre, pre_len);
    if (len)
      memcpy(p + pre_len, data, len);
  }
  return f;
}

static void free_list(tx_frame_t *f) {
  while (f) {
    tx_frame_t *n = f->next;
    free_frame(f);
    f = n;
  }
}

/* queue_ctl: I/O thread: a control frame or handshake head, written before
 * the next data frame. */
static void queue_ctl(actr_ws_conn_t *c, tx_frame_t *f) {
  if (!f)
    return;
  if (c->ctl_tail)
    c->ctl_tail->next = f;
  else
    c->ctl_head = f;
  c->ctl_tail = f;
}

/* queue_pong: I/O thread: answer a ping.  At most one pong waits unsent:
 * a pong not yet begun is replaced by the new one (RFC 6455 §5.5.3 lets an
 * endpoint answer only the latest ping), so a peer that floods pings and
 * never reads costs one frame, not one per ping. */
static void queue_pong(actr_ws_conn_t *c, tx_frame_t *f) {
  if (!f)
    return;
  for (tx_frame_t **at = &c->ctl_head; *at; at = &(*at)->next) {
    tx_frame_t *old = *at;
    if (old->kind != F_PONG || old->off)
      continue;
    f->next = old->next;
    *at = f;
    if (c->ctl_tail == old)
      c->ctl_tail = f;
    free_frame(old);
    return;
  }
  queue_ctl(c, f);
}

static void queue_head(actr_ws_conn_t *c, const char *text) {
  size_t n = strlen(text);
  tx_frame_t *f = malloc(sizeof *f + n);
  f->next = NULL;
  f->off = 0;
  f->len = n;
  f->kind = F_HEAD;
  f->pooled = false;
  memcpy(f->bytes, text, n);
  queue_ctl(c, f);
}

static void drop_unsent_data(actr_ws_conn_t *c) {
  /* A frame partly written must be finished (the stream would be broken
   * otherwise); everything after it is dropped. */
  tx_frame_t *keep = NULL;
  if (c->io_head && c->io_head->off) {
    keep = c->io_head;
    free_list(keep->next);
    keep->next = NULL;
  } else {
    free_list(c->io_head);
  }
  c->io_head = c->io_tail = keep;
  g_mutex_lock(&c->tx_mu);
  tx_frame_t *rest = c->txq_head;
  c->txq_head = c->txq_tail = NULL;
  c->tx_bytes = keep ? keep->len - keep->off : 0;
  c->tx_closed = true;
  g_cond_broadcast(&c->tx_cond);
  g_mutex_unlock(&c->tx_mu);
  free_list(rest);
}

int actr__ws_conn_send(actr_ws_conn_t *c, int type, const void *data, size_t len, int timeout_ms,
                       const atomic_bool *lane_closed) {
  bool nonblock = timeout_ms == 0;
  gint64 until = timeout_ms > 0 ? g_get_monotonic_time() + (gint64)timeout_ms * 1000 : -1;
  if (len > UINT32_MAX || len + ACTR__WS_MSG_HEADER > c->cfg.max_message_bytes)
    return actr__fail(ACTR_EMESSAGE_TOO_LARGE, "%zu bytes over the WebSocket message limit (%llu)",
                      len, (unsigned long long)c->cfg.max_message_bytes);
  if (nonblock) { /* cheap early answers before building the frame */
    g_mutex_lock(&c->tx_mu);
    bool closed = c->tx_closed, full = c->tx_bytes && c->tx_bytes + len > c->cfg.outbound_queue_bytes;
    g_mutex_unlock(&c->tx_mu);
    if (closed)
      return actr__ws_conn_closed_error(c);
    if (full) {
      g_mutex_lock(&c->tx_mu);
      c->want_writable = true; /* on_writable when it drains to half */
      g_mutex_unlock(&c->tx_mu);
      return actr__fail(ACTR_EWOULD_BLOCK, "WebSocket outbound queue full");
    }
  }
  uint8_t hdr[ACTR__WS_MSG_HEADER];
  bool text = false;
  const uint8_t *pre = hdr;
  size_t pre_len = ACTR__WS_MSG_HEADER;
  if (type >= 0) {
    actr__ws_msg_header_encode(hdr, (actr_payload_type_t)type, (uint32_t)len);
  } else { /* raw mode: -1 binary, -2 text */
    text = type == -2;
    pre = NULL;
    pre_len = 0;
  }
  tx_frame_t *f = frame_build(c->tx_pool, !c->is_server, text ? ACTR__WS_OP_TEXT : ACTR__WS_OP_BINARY,
                              pre, pre_len, data, len, F_DATA);
  if (!f)
    return actr__fail(ACTR_ENO_MEMORY, "frame of %zu bytes", len);
  int rc = ACTR_OK;
  g_mutex_lock(&c->tx_mu);
  for (;;) {
    if (c->tx_closed || (lane_closed && atomic_load(lane_closed))) {
      rc = ACTR_EWEBSOCKET_CLOSED;
      break;
    }
    if (c->tx_bytes == 0 || c->tx_bytes + f->len <= c->cfg.outbound_queue_bytes)
      break;
    /* Never wait on the I/O thread (a handler, a callback, a receiver
     * lending the loop): only it drains this queue. */
    if (nonblock || g_main_context_is_owner(c->ctx)) {
      rc = ACTR_EWOULD_BLOCK;
      c->want_writable = true;
      break;
    }
    c->tx_waiters++;
    bool in_time = true;
    if (until < 0)
      g_cond_wait(&c->tx_cond, &c->tx_mu);
    else
      in_time = g_cond_wait_until(&c->tx_cond, &c->tx_mu, until);
    c->tx_waiters--;
    if (!in_time && c->tx_bytes && c->tx_bytes + f->len > c->cfg.outbound_queue_bytes &&
        !c->tx_closed) {
      rc = ACTR_ETIMEOUT;
      c->want_writable = true;
      break;
    }
  }
  if (rc == ACTR_OK) {
    if (c->txq_tail)
      c->txq_tail->next = f;
    else
      c->txq_head = f;
    c->txq_tail = f;
    c->tx_bytes += f->len;
    if (c->tx_bytes > c->tx_bytes_peak)
      c->tx_bytes_peak = c->tx_bytes;
    if (type >= 0) {
      c->q[type].msgs_sent++;
      c->q[type].bytes_sent += len;
    }
    if (!c->tx_active) {
      /* The I/O side is idle: wake it.  Thread-safe (takes the context
       * lock, writes the context's wakeup fd once). */
      c->tx_active = true;
      actr__watch_kick(c->kick_w);
    }
  }
  g_mutex_unlock(&c->tx_mu);
  if (rc != ACTR_OK) {
    free_frame(f);
    return rc == ACTR_EWOULD_BLOCK ? actr__fail(rc, "WebSocket outbound queue full")
           : rc == ACTR_ETIMEOUT   ? actr__fail(rc, "WebSocket outbound queue full for %d ms",
                                                timeout_ms)
                                   : actr__ws_conn_closed_error(c);
  }
  return ACTR_OK;
}

int actr_ws_conn_send_message(actr_ws_conn_t *c, bool text, const void *data, size_t len,
                              int timeout_ms) {
  if (!c || (!data && len))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "conn or data is NULL");
  if (!c->raw)
    return actr__fail(ACTR_EINVALID_OPERATION, "not a message-mode connection (use its lanes)");
  if (text && !g_utf8_validate(data, (gssize)len, NULL))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "text message is not UTF-8");
  if (len > c->cfg.max_message_bytes)
    return actr__fail(ACTR_EMESSAGE_TOO_LARGE, "%zu bytes over the limit", len);
  return actr__ws_conn_send(c, text ? -2 : -1, data, len, timeout_ms, NULL);
}

static void on_kick(void *p) {
  enter(p);
  flush(p);
  leave(p);
}

static void after_drained(actr_ws_conn_t *c);

/* flush: write what is queued until done or the socket is full.  Order on
 * the wire: a frame already started, then control frames, then data. */
static void flush(actr_ws_conn_t *c) {
  GOutputVector v[WRITE_VECS];
  tx_frame_t *order[WRITE_VECS];
  for (;;) {
    if (atomic_load(&c->state) == WS_CLOSED)
      return;
    if (out_waiting(c))
      return; /* waiting for POLLOUT */
    if (!c->io_head && !c->close_queued) {
      g_mutex_lock(&c->tx_mu);
      c->io_head = c->txq_head;
      c->io_tail = c->txq_tail;
      c->txq_head = c->txq_tail = NULL;
      if (!c->io_head && !c->ctl_head)
        c->tx_active = false;
      g_mutex_unlock(&c->tx_mu);
    }
    if (!c->io_head && !c->ctl_head) {
      after_drained(c);
      if (c->ctl_head && atomic_load(&c->state) != WS_CLOSED)
        continue; /* after_drained queued the close frame */
      return;
    }
    int nv = 0;
    tx_frame_t *f = c->io_head;
    if (f && f->off) {
      order[nv] = f;
      f = f->next;
      nv++;
    }
    for (tx_frame_t *k = c->ctl_head; k && nv < WRITE_VECS; k = k->next)
      order[nv++] = k;
    if (!c->close_queued) /* nothing may follow our close frame (§5.5.1) */
      for (; f && nv < WRITE_VECS; f = f->next)
        order[nv++] = f;
    for (int i = 0; i < nv; i++) {
      v[i].buffer = order[i]->bytes + order[i]->off;
      v[i].size = order[i]->len - order[i]->off;
    }
    GError *err = NULL;
    gssize n = io_write(c, v, nv, &err);
    if (n == IO_WOULD_BLOCK) {
      io_watch(c, true);
      return;
    }
    if (n < 0) {
      char *why = g_strdup_printf("write failed: %s", err ? err->message : "?");
      g_clear_error(&err);
      actr__ws_conn_teardown(c, ACTR_EWEBSOCKET_CLOSED, why);
      g_free(why);
      return;
    }
    uint64_t freed = 0;
    size_t left = (size_t)n;
    for (int i = 0; i < nv && left; i++) {
      tx_frame_t *fr = order[i];
      size_t k = fr->len - fr->off;
      if (k > left) {
        fr->off += left;
        if (fr->kind == F_DATA)
          freed += left;
        break;
      }
      left -= k;
      if (fr->kind == F_DATA) {
        freed += k;
        c->io_head = fr->next;
        if (!c->io_head)
          c->io_tail = NULL;
      } else {
        c->ctl_head = fr->next;
        if (!c->ctl_head)
          c->ctl_tail = NULL;
        if (fr->kind == F_CLOSE)
          c->close_written = true;
      }
      free_frame(fr);
    }
    if (freed) {
      g_mutex_lock(&c->tx_mu);
      c->tx_bytes -= freed < c->tx_bytes ? freed : c->tx_bytes;
      /* Blocked senders wake at the low-water mark (half the bound), not at
       * every write: one wake-up then refills half a queue instead of one
       * wake-up per message. */
      bool half = c->tx_bytes <= c->cfg.outbound_queue_bytes / 2;
      if (c->tx_waiters && half)
        g_cond_broadcast(&c->tx_cond);
      bool writable = half && c->want_writable;
      if (writable)
        c->want_writable = false;
      g_mutex_unlock(&c->tx_mu);
      if (writable && c->cbs.on_writable) /* sends from it only queue: no re-entry */
        c->cbs.on_writable(c, c->cbs_user);
    }
  }
}

/* after_drained: nothing left to write; move the close handshake on. */
static void after_drained(actr_ws_conn_t *c) {
  if (c->teardown_after_flush) {
    actr__ws_conn_teardown(c, ACTR_EWEBSOCKET, "handshake refused");
    return;
  }
  if (c->flush_then_close && !c->close_queued) {
    g_mutex_lock(&c->tx_mu);
    bool empty = c->txq_head == NULL;
    g_mutex_unlock(&c->tx_mu);
    if (empty) {
      uint8_t p[125];
      size_t rl = strlen(c->close_reason);
      p[0] = (uint8_t)(c->close_code >> 8);
      p[1] = (uint8_t)c->close_code;
      memcpy(p + 2, c->close_reason, rl);
      queue_ctl(c, frame_build(NULL, !c->is_server, ACTR__WS_OP_CLOSE, p, 2 + rl, NULL, 0, F_CLOSE));
      c->close_queued = true;
    }
    return;
  }
  if (c->close_written && (c->close_received || c->fail_after_close))
    actr__ws_conn_teardown(c, c->fail_after_close ? ACTR_EWEBSOCKET : ACTR_EWEBSOCKET_CLOSED,
                           c->fail_after_close ? c->close_reason : "closed");
}

/* ---- close handshake ---- */

static gboolean on_close_timeout(gpointer p) {
  actr_ws_conn_t *c = p;
  enter(c);
  drop_source(&c->timer_src);
  actr__ws_conn_teardown(c, ACTR_EWEBSOCKET_CLOSED, "close handshake timed out");
  leave(c);
  return G_SOURCE_REMOVE;
}

static void arm_timer(actr_ws_conn_t *c, int ms, GSourceFunc fn) {
  drop_source(&c->timer_src);
  c->timer_src = g_timeout_source_new((guint)ms);
  g_source_set_callback(c->timer_src, fn, c, NULL);
  g_source_attach(c->timer_src, c->ctx);
}

/* start_close: I/O thread.  @fail: the stream is broken or refused: drop
 * unsent data, send the close frame, stop reading, tear down once it is
 * written.  Otherwise a normal close: flush what send accepted, then close. */
void actr__ws_conn_start_close(actr_ws_conn_t *c, uint16_t code, const char *reason, bool fail) {
  if (atomic_load(&c->state) != WS_OPEN)
    return;
  atomic_store(&c->state, WS_CLOSING);
  c->close_code = code;
  g_strlcpy(c->close_reason, reason ? reason : "", sizeof c->close_reason);
  g_mutex_lock(&c->tx_mu);
  c->tx_closed = true;
  g_cond_broadcast(&c->tx_cond);
  g_mutex_unlock(&c->tx_mu);
  arm_timer(c, c->cfg.close_timeout_ms, on_close_timeout);
  if (fail) {
    c->fail_after_close = true;
    drop_unsent_data(c);
    unwatch_input(c);
    c->flush_then_close = true; /* queues the close frame once drained */
  } else {
    c->flush_then_close = true;
  }
  flush(c);
}

static void fail_connection(actr_ws_conn_t *c, uint16_t code, const char *why) {
  actr__log(ACTR_LOG_WARN, "WebSocket %s: closing with %u: %s", c->path ? c->path : "", code, why);
  if (atomic_load(&c->state) == WS_OPEN)
    actr__ws_conn_start_close(c, code, why, true);
  else
    actr__ws_conn_teardown(c, ACTR_EWEBSOCKET, why);
}

void actr__ws_conn_teardown(actr_ws_conn_t *c, int code, const char *why) {
  int prev = atomic_exchange(&c->state, WS_CLOSED);
  if (prev == WS_CLOSED)
    return;
  /* Senders first: once tx_closed is set under tx_mu none of them will
   * touch kick_w, which is dropped just below. */
  g_mutex_lock(&c->tx_mu);
  c->tx_closed = true;
  g_mutex_unlock(&c->tx_mu);
  unwatch_input(c);
  drop_out(c);
  actr__watch_drop(&c->kick_w);
  actr__watch_drop(&c->ping_w);
  drop_source(&c->timer_src);
  if (c->cancel)
    g_cancellable_cancel(c->cancel);
  g_clear_object(&c->cancel);
  if (c->sock) {
    g_socket_shutdown(c->sock, TRUE, TRUE, NULL);
    g_socket_close(c->sock, NULL);
  }
  g_clear_object(&c->stream);
  g_clear_object(&c->sock);
  free_list(c->io_head);
  free_list(c->ctl_head);
  c->io_head = c->io_tail = c->ctl_head = c->ctl_tail = NULL;
  actr__ws_reader_clear(&c->reader);
  g_free(c->rbuf);
  c->rbuf = NULL;
  actr_msg_free(c->pending.msg);
  c->pending.msg = NULL;
  g_mutex_lock(&c->tx_mu);
  tx_frame_t *rest = c->txq_head;
  c->txq_head = c->txq_tail = NULL;
  c->tx_bytes = 0;
  c->tx_closed = true;
  g_cond_broadcast(&c->tx_cond);
  g_mutex_unlock(&c->tx_mu);
  free_list(rest);
  g_mutex_lock(&c->rx_mu);
  c->rx_closed = true;
  if (c->close_received)
    snprintf(c->closed_why, sizeof c->closed_why, "closed by the peer: %u%s%s", c->peer_close_code,
             c->peer_close_reason[0] ? " " : "", c->peer_close_reason);
  else
    snprintf(c->closed_why, sizeof c->closed_why, "%s", why ? why : "closed");
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    g_cond_broadcast(&c->q[t].cond);
  g_cond_broadcast(&c->any_cond);
  g_mutex_unlock(&c->rx_mu);
  if (prev == WS_CONNECTING) {
    g_mutex_lock(&c->done_mu);
    if (!c->handshake_done) {
      c->handshake_done = true;
      c->fail_code = code;
      c->fail_detail = g_strdup(why);
    }
    g_mutex_unlock(&c->done_mu);
    if (c->server)
      actr__ws_server_handshake_done(c->server, c, false);
  } else if (c->raw && c->raw_ops->on_close) {
    c->raw_ops->on_close(c, c->close_received ? c->peer_close_code : ACTR__WS_CLOSE_ABNORMAL,
                         c->close_received ? c->peer_close_reason : "", c->raw_user);
  }
  actr__log(ACTR_LOG_DEBUG, "WebSocket %s closed: %s", c->path ? c->path : "", why ? why : "");
  /* Handlers end with the connection; their lanes are let go below, last. */
  actr_lane_t *held[ACTR_PAYLOAD_TYPE_COUNT];
  g_mutex_lock(&c->rx_mu);
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++) {
    held[t] = c->q[t].handler_lane;
    c->q[t].handler = NULL;
    c->q[t].handler_lane = NULL;
  }
  g_mutex_unlock(&c->rx_mu);
  actr_ws_conn_callbacks_t cbs = c->cbs;
  if (cbs.on_closed && prev != WS_CONNECTING)
    cbs.on_closed(c, c->cbs_user);
  if (c->counted_by) {
    actr__ws_server_conn_gone(c->counted_by);
    c->counted_by = NULL;
  }
  g_mutex_lock(&c->done_mu);
  c->io_done = true;
  g_cond_broadcast(&c->done_cond);
  g_mutex_unlock(&c->done_mu);
  actr__ws_conn_unref_internal(c); /* the I/O side's reference */
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    actr_lane_unref(held[t]); /* may be the last handle: @c is not touched after */
}

/* ---- keepalive ---- */

static gboolean ping_timer(actr_ws_conn_t *c);
static void on_ping_timer(void *p) {
  enter(p);
  ping_timer(p); /* a teardown in it drops ping_w */
  leave(p);
}

#ifndef TCP_RTO_MAX_MS
#define TCP_RTO_MAX_MS 44 /* Linux 6.15 */
#endif

/* check_tcp: is the peer's kernel still acknowledging what we send?  A
 * peer that stopped reading keeps its window closed and only answers our
 * window probes; one whose pings cannot get through (our reading paused)
 * only acknowledges our segments.  TCP_USER_TIMEOUT cannot tell these live
 * peers from a gone one (Linux ends a zero-window connection after it, even
 * with every probe answered), so we ask TCP_INFO: data or a probe
 * outstanding and no ACK for an interval and a half means the peer is gone.  Where
 * TCP_RTO_MAX_MS caps the backoff at one interval (rto_capped) a live peer is
 * probed and answers within an interval, so one such tick is enough; else,
 * probes backing off for minutes, a probe left unanswered across two ticks
 * is needed.  Returns false once torn down. */
static bool check_tcp(actr_ws_conn_t *c) {
  struct tcp_info ti;
  socklen_t n = sizeof ti;
  memset(&ti, 0, sizeof ti);
  if (getsockopt(g_socket_get_fd(c->sock), IPPROTO_TCP, TCP_INFO, &ti, &n) != 0 ||
      n < offsetof(struct tcp_info, tcpi_last_ack_recv) + sizeof ti.tcpi_last_ack_recv)
    return true;
  bool waiting = ti.tcpi_unacked > 0 || ti.tcpi_probes > 0;
  bool silent = ti.tcpi_last_ack_recv > 3u * (uint32_t)c->cfg.ping_interval_ms / 2;
  bool lost = waiting && silent && (c->rto_capped || ti.tcpi_probes > 0);
  if (lost && (c->rto_capped || c->tcp_lost)) {
    actr__log(ACTR_LOG_WARN, "WebSocket: nothing acknowledged for %u ms", ti.tcpi_last_ack_recv);
    actr__ws_conn_teardown(c, ACTR_EWEBSOCKET_CLOSED, "peer stopped acknowledging");
    return false;
  }
  c->tcp_lost = lost;
  return true;
}

static gboolean ping_timer(actr_ws_conn_t *c) {
  if (atomic_load(&c->state) != WS_OPEN)
    return G_SOURCE_CONTINUE;
  gint64 now = g_get_monotonic_time();
  if (!check_tcp(c))
    return G_SOURCE_REMOVE;
  /* The timer ticks every half interval (so that a gone peer is found
   * within two intervals); two ticks after a ping are "a whole interval"
   * (GLib timeouts never fire early; a sixteenth is left for rounding). */
  gint64 p_us = (gint64)c->cfg.ping_interval_ms * 1000;
  bool interval_passed = now - c->ping_sent_us >= p_us - p_us / 16;
  if (c->ping_outstanding) {
    if (c->last_rx_us > c->ping_sent_us) {
      c->ping_outstanding = false;
    } else if (interval_passed && !c->paused && !out_waiting(c)) {
      /* Nothing at all came back for a whole interval although we were
       * reading and our writes were going through: the peer is gone.
       * (While our own reading is paused, or TCP is pushing back, silence
       * proves nothing; check_tcp covers a dead peer then.) */
      actr__log(ACTR_LOG_WARN, "WebSocket: no answer to ping within %d ms", c->cfg.ping_interval_ms);
      actr__ws_conn_teardown(c, ACTR_EWEBSOCKET_CLOSED, "peer did not answer ping");
      return G_SOURCE_REMOVE;
    }
  }
  /* While our own reading is paused the peer cannot see us answer: a ping
   * each interval tells it we live (and, left unacknowledged by a gone
   * peer, shows in check_tcp). */
  if ((!c->ping_outstanding || c->paused) && interval_passed) {
    queue_ctl(c, frame_build(NULL, !c->is_server, ACTR__WS_OP_PING, NULL, 0, NULL, 0, F_CONTROL));
    c->ping_outstanding = true;
    c->ping_sent_us = now;
    atomic_fetch_add(&c->pings_sent, 1);
    flush(c);
  }
  return G_SOURCE_CONTINUE;
}

/* ---- inbound ---- */

static void set_tcp_options(actr_ws_conn_t *c) {
  GError *err = NULL;
  if (!g_socket_set_option(c->sock, IPPROTO_TCP, TCP_NODELAY, 1, &err)) {
    actr__log(ACTR_LOG_DEBUG, "TCP_NODELAY: %s", err->message);
    g_clear_error(&err);
  }
  if (c->cfg.ping_interval_ms > 0) {
    /* Retransmissions and window probes at most an interval apart, where
     * the kernel can (check_tcp). */
    int ms = c->cfg.ping_interval_ms;
    c->rto_capped = ms >= 1000 && ms <= 120000 &&
                    setsockopt(g_socket_get_fd(c->sock), IPPROTO_TCP, TCP_RTO_MAX_MS, &ms,
                               sizeof ms) == 0;
  }
}

/* open_stream: I/O thread: the handshake succeeded; frames may flow. */
static void open_stream(actr_ws_conn_t *c) {
  /* What followed the head is kept: realloc moves it with the buffer. */
  c->rbuf_size = RBUF_BYTES;
  c->rbuf = g_realloc(c->rbuf, c->rbuf_size);
  atomic_store(&c->state, WS_OPEN);
  drop_source(&c->timer_src);
  c->kick_w = actr__watch_kick_new(actr__runtime_hub(c->rt), on_kick, c);
  g_mutex_lock(&c->tx_mu);
  c->tx_closed = false;
  g_mutex_unlock(&c->tx_mu);
  c->last_rx_us = g_get_monotonic_time();
  if (c->cfg.ping_interval_ms > 0) {
    /* Coalesced with the other connections' ticks (hub.h): never more
     * than a sixteenth of an interval early over two ticks, as the
     * interval_passed check of ping_timer allows. */
    c->ping_w = actr__watch_every(actr__runtime_hub(c->rt),
                                  (unsigned)MAX(c->cfg.ping_interval_ms / 2, 1), on_ping_timer, c);
  }
}

/* grow_queue: double @q's ring (from 8, at most @max slots), keeping its
 * order: an idle connection holds no slots, a busy one only what it used. */
static void grow_queue(ws_queue_t *q, size_t max) {
  size_t cap = q->cap ? q->cap * 2 : 8;
  if (cap > max)
    cap = max;
  ws_slot_t *slot = g_new0(ws_slot_t, cap);
  for (size_t i = 0; i < q->count; i++)
    slot[i] = q->slot[(q->head + i) % q->cap];
  g_free(q->slot);
  q->slot = slot;
  q->cap = cap;
  q->head = 0;
}

/* push_locked: queue @m (data of @type) if its queue has room. */
static bool push_locked(actr_ws_conn_t *c, int type, const ws_slot_t *m) {
  ws_queue_t *q = &c->q[type];
  size_t len = actr_msg_len(m->msg);
  if (c->any_claimed && !q->claimed && !c->all_claimed && q->count &&
      (q->count >= c->cfg.unread_queue_messages || q->bytes + len > c->cfg.unread_queue_bytes)) {
    /* Lanes of this connection are read, this type's is not: drop rather
     * than stop them all. */
    if (q->dropped_unread++ == 0)
      actr__log(ACTR_LOG_WARN, "WebSocket %s: payload type %d is not read; its messages past "
                "%u / %llu bytes are dropped", c->path ? c->path : "", type,
                c->cfg.unread_queue_messages, (unsigned long long)c->cfg.unread_queue_bytes);
    actr_msg_free(m->msg);
    return true;
  }
  if (q->count && (q->count >= c->cfg.inbound_queue_messages ||
                   q->bytes + len > c->cfg.inbound_queue_bytes))
    return false;
  if (q->count == q->cap)
    grow_queue(q, c->cfg.inbound_queue_messages);
  q->slot[(q->head + q->count) % q->cap] = *m;
  q->count++;
  q->bytes += len;
  c->rx_bytes += len;
  if (c->rx_bytes > c->rx_bytes_peak)
    c->rx_bytes_peak = c->rx_bytes;
  /* Receivers are woken in batches (wake_receivers), not per message. */
  c->rx_wake |= 1u << type;
  c->rx_unwoken++;
  return true;
}

/* wake_receivers: I/O thread: wake the receivers of the queues that got
 * messages since the last call.  Called every WAKE_BATCH messages and
 * whenever the I/O thread stops reading (socket empty, paused, closing), so
 * a receiver never waits for a message that is queued. */
static void wake_receivers_locked(actr_ws_conn_t *c) {
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    if ((c->rx_wake & (1u << t)) && c->q[t].waiters)
      g_cond_broadcast(&c->q[t].cond);
  if (c->rx_wake && c->any_waiters)
    g_cond_broadcast(&c->any_cond);
  c->rx_wake = 0;
  c->rx_unwoken = 0;
}

static void wake_receivers(actr_ws_conn_t *c) {
  if (!c->rx_wake)
    return;
  g_mutex_lock(&c->rx_mu);
  wake_receivers_locked(c);
  g_mutex_unlock(&c->rx_mu);
}

/* deliver: a decoded lane message of @type; false when its queue is full
 * (reading pauses, the message waits in c->pending). */
static bool deliver(actr_ws_conn_t *c, int type, const ws_slot_t *m) {
  if (c->user_paused) { /* actr_ws_conn_pause: hold it, read nothing more */
    c->pending = *m;
    c->pending_type = type;
    c->paused = true;
    unwatch_input(c);
    return false;
  }
  ws_queue_t *q = &c->q[type];
  if (q->handler) { /* push delivery: written on this thread only */
    actr_msg_t *msg = m->msg;
    if (m->masked)
      actr__ws_mask((uint8_t *)actr_msg_data(msg), actr_msg_data(msg), actr_msg_len(msg), m->key,
                    0);
    g_mutex_lock(&c->rx_mu);
    q->msgs_received++;
    q->bytes_received += actr_msg_len(msg);
    g_mutex_unlock(&c->rx_mu);
    q->handler(q->handler_lane, msg, q->handler_user);
    return atomic_load(&c->state) != WS_CLOSED;
  }
  g_mutex_lock(&c->rx_mu);
  bool ok = push_locked(c, type, m);
  if (!ok) {
    /* Under rx_mu, so a consumer popping now sees which queue to watch. */
    c->rx_paused = true;
    c->pending_type = type;
    c->read_pauses++;
  }
  if (!ok || c->rx_unwoken >= WAKE_BATCH)
    wake_receivers_locked(c);
  g_mutex_unlock(&c->rx_mu);
  if (!ok) {
    c->pending = *m;
    c->paused = true;
    unwatch_input(c);
  }
  return ok;
}

void actr__ws_conn_resume_on_io(void *p) {
  actr_ws_conn_t *c = p;
  g_mutex_lock(&c->rx_mu);
  c->resume_pending = false;
  c->rx_paused = false;
  g_mutex_unlock(&c->rx_mu);
  if (atomic_load(&c->state) != WS_CLOSED && c->paused && !c->user_paused) {
    c->paused = false;
    process_input(c);
  }
  actr__ws_conn_unref_internal(c);
}

/* on_message: a whole data message from the reader. */
static bool on_message(actr_ws_conn_t *c, actr__ws_event_t *ev) {
  actr_msg_t *msg = ev->msg;
  bool text = ev->text;
  uint8_t *bytes = (uint8_t *)actr_msg_data(msg); /* ours until queued */
  size_t n = actr_msg_len(msg);
  if (ev->masked && c->raw) {
    actr__ws_mask(bytes, bytes, n, ev->mask, 0);
    ev->masked = false;
  }
  if (c->raw) {
    if (text && !g_utf8_validate((const char *)actr_msg_data(msg), (gssize)actr_msg_len(msg), NULL)) {
      actr_msg_free(msg);
      fail_connection(c, ACTR__WS_CLOSE_INVALID_DATA, "text message is not UTF-8");
      return false;
    }
    if (c->raw_ops->on_message)
      c->raw_ops->on_message(c, text, actr_msg_data(msg), actr_msg_len(msg), c->raw_user);
    actr_msg_free(msg);
    return atomic_load(&c->state) != WS_CLOSED;
  }
  if (text) {
    actr_msg_free(msg);
    fail_connection(c, ACTR__WS_CLOSE_UNSUPPORTED, "text message on an actr lane connection");
    return false;
  }
  /* Only the 5-byte header is unmasked here; the data is left to the
   * receiving thread (one pass over the bytes moved off the I/O thread). */
  ws_slot_t slot = {.msg = msg, .masked = ev->masked};
  if (ev->masked) {
    actr__ws_mask(bytes, bytes, n < ACTR__WS_MSG_HEADER ? n : ACTR__WS_MSG_HEADER, ev->mask, 0);
    for (int i = 0; i < 4; i++) /* the key as seen from offset 5 */
      slot.key[i] = ev->mask[(i + ACTR__WS_MSG_HEADER) & 3];
  }
  actr_payload_type_t type;
  size_t data_len;
  if (actr__ws_msg_decode(actr_msg_data(msg), actr_msg_len(msg), &type, &data_len) != ACTR_OK) {
    /* SPEC §1.4: dropped and counted; the connection goes on. */
    atomic_fetch_add(&c->dropped_invalid, 1);
    actr__log(ACTR_LOG_WARN, "WebSocket %s: dropped: %s", c->path ? c->path : "",
              actr_err_detail());
    actr_msg_free(msg);
    return true;
  }
  actr__msg_advance(msg, ACTR__WS_MSG_HEADER);
  msg->len = data_len; /* bytes after 5 + data_len are ignored (as the reference) */
  return deliver(c, (int)type, &slot);
}

static bool close_code_valid(unsigned code) {
  /* RFC 6455 §7.4: codes a peer may put on the wire. */
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

static bool on_close_frame(actr_ws_conn_t *c, const actr__ws_event_t *ev) {
  uint16_t code = ACTR__WS_CLOSE_NO_STATUS;
  const char *bad = NULL;
  if (ev->ctl_len == 1)
    bad = "close frame with a 1-byte body";
  if (ev->ctl_len >= 2) {
    code = (uint16_t)(ev->ctl[0] << 8 | ev->ctl[1]);
    if (!close_code_valid(code))
      bad = "invalid close code";
    else if (!g_utf8_validate((const char *)ev->ctl + 2, (gssize)ev->ctl_len - 2, NULL))
      bad = "close reason is not UTF-8";
    size_t rl = ev->ctl_len - 2;
    memcpy(c->peer_close_reason, ev->ctl + 2, rl);
    c->peer_close_reason[rl] = 0;
  }
  c->peer_close_code = code;
  c->close_received = true;
  unwatch_input(c); /* nothing may follow a close frame */
  if (atomic_load(&c->state) == WS_OPEN) {
    /* §5.5.1: answer with a close frame (echoing the code) as soon as
     * practical; data not yet sent is dropped. */
    atomic_store(&c->state, WS_CLOSING);
    drop_unsent_data(c);
    c->close_code = bad ? ACTR__WS_CLOSE_PROTOCOL
                        : code == ACTR__WS_CLOSE_NO_STATUS ? ACTR__WS_CLOSE_NORMAL : code;
    g_strlcpy(c->close_reason, bad ? bad : "", sizeof c->close_reason);
    c->flush_then_close = true;
    arm_timer(c, c->cfg.close_timeout_ms, on_close_timeout);
  }
  flush(c);
  return false;
}

/* on_event: handle one reader event; false to stop reading for now. */
static bool on_event(actr_ws_conn_t *c, actr__ws_event_t *ev) {
  switch (ev->kind) {
  case ACTR__WS_EV_NONE:
    return true;
  case ACTR__WS_EV_MESSAGE:
    c->after_large = actr_msg_len(ev->msg) >= DIRECT_MIN;
    return on_message(c, ev);
  case ACTR__WS_EV_PING:
    if (atomic_load(&c->state) == WS_OPEN) {
      queue_pong(c, frame_build(NULL, !c->is_server, ACTR__WS_OP_PONG, ev->ctl, ev->ctl_len, NULL,
                                0, F_PONG));
      flush(c);
    }
    return atomic_load(&c->state) != WS_CLOSED;
  case ACTR__WS_EV_PONG:
    c->ping_outstanding = false;
    atomic_fetch_add(&c->pongs_received, 1);
    return true;
  case ACTR__WS_EV_CLOSE:
    return on_close_frame(c, ev);
  case ACTR__WS_EV_ERROR:
    fail_connection(c, ev->code, ev->why);
    return false;
  }
  return false;
}

/* refuse_handshake: answer the request with @status, then close.  False
 * (stop reading), for handshake_input to return. */
static bool refuse_handshake(actr_ws_conn_t *c, int status, const char *why) {
  actr__log(ACTR_LOG_INFO, "WebSocket handshake refused (%d): %s", status, why);
  char *resp = actr__ws_http_response_error(status, why);
  queue_head(c, resp);
  g_free(resp);
  c->teardown_after_flush = true;
  unwatch_input(c);
  flush(c);
  return false;
}

/* handshake_input: CONNECTING: the upgrade request (server) or response
 * (client) in rbuf[0..rend).  False to stop reading for now. */
static bool handshake_input(actr_ws_conn_t *c) {
  size_t head_len = 0;
  if (c->is_server) {
    actr__ws_request_t req;
    int status;
    const char *why;
    int r = actr__ws_http_parse_request((const char *)c->rbuf, c->rend, &head_len, &req, &status, &why);
    if (r == 0)
      return true;
    if (r < 0)
      return refuse_handshake(c, status, why);
    int refuse = actr__ws_server_check(c->server, req.target, req.path, (const char *)c->rbuf,
                                       head_len);
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
    c->reader.defer_unmask = !c->raw; /* lane data: unmasked by the receiver */
    char *resp = actr__ws_http_response_101(req.key);
    actr__ws_request_clear(&req);
    queue_head(c, resp);
    g_free(resp);
    c->rpos = head_len;
    open_stream(c);
    flush(c);
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
    if (c->raw && c->raw_ops->on_open)
      c->raw_ops->on_open(c, c->raw_user);
  }
  return atomic_load(&c->state) == WS_OPEN;
}

static void process_input_body(actr_ws_conn_t *c);

static void process_input(actr_ws_conn_t *c) {
  process_input_body(c);
  wake_receivers(c); /* whatever made it stop, queued messages are seen */
}

static void process_input_body(actr_ws_conn_t *c) {
  int budget = READS_PER_DISPATCH;
  while (atomic_load(&c->state) != WS_CLOSED) {
    if (c->paused)
      return;
    if (c->pending.msg) {
      ws_slot_t m = c->pending;
      c->pending.msg = NULL;
      c->paused = false;
      if (!deliver(c, c->pending_type, &m))
        return;
      watch_input(c);
    }
    if (atomic_load(&c->state) == WS_CONNECTING) {
      if (c->rend && !handshake_input(c))
        return;
      if (atomic_load(&c->state) == WS_CONNECTING) {
        if (c->rend >= c->rbuf_size) { /* cannot happen: the parser bounds the head */
          actr__ws_conn_teardown(c, ACTR_EWEBSOCKET, "handshake head too large");
          return;
        }
      }
    }
    while (c->rpos < c->rend && atomic_load(&c->state) != WS_CONNECTING) {
      if (c->close_received || c->fail_after_close)
        return;
      actr__ws_event_t ev;
      size_t n = actr__ws_reader_feed(&c->reader, c->rbuf + c->rpos, c->rend - c->rpos, &ev);
      c->rpos += n;
      if (!on_event(c, &ev))
        return;
    }
    if (c->close_received || c->fail_after_close || atomic_load(&c->state) == WS_CLOSED)
      return;
    if (budget-- == 0) {
      watch_input(c);
      return;
    }
    GInputVector v[2];
    int nv = 1;
    uint8_t *dst = NULL;
    size_t want = 0;
    bool direct = atomic_load(&c->state) != WS_CONNECTING &&
                  actr__ws_reader_direct(&c->reader, DIRECT_MIN, &dst, &want);
    size_t base = 0;
    if (atomic_load(&c->state) == WS_CONNECTING) {
      base = c->rend; /* the head accumulates */
    } else {
      c->rpos = c->rend = 0;
    }
    if (direct) {
      v[0].buffer = dst;
      v[0].size = want;
      v[1].buffer = c->rbuf;
      v[1].size = SPILL_BYTES;
      nv = c->tls ? 1 : 2;
    } else {
      /* After a large message the next is likely large too: read just its
       * header (and a little), so its payload can then go straight into
       * place instead of through this buffer. */
      v[0].buffer = c->rbuf + base;
      v[0].size = c->after_large ? SPILL_BYTES : c->rbuf_size - base;
    }
    GError *err = NULL;
    gssize n = io_read(c, v, nv, &err);
    if (n == IO_WOULD_BLOCK) {
      watch_input(c);
      return;
    }
    if (n <= 0) {
      char *why = n == 0 ? g_strdup("connection closed by the peer without a close frame")
                         : g_strdup_printf("read failed: %s", err ? err->message : "?");
      g_clear_error(&err);
      actr__ws_conn_teardown(c, ACTR_EWEBSOCKET_CLOSED, why);
      g_free(why);
      return;
    }
    c->last_rx_us = g_get_monotonic_time();
    if (direct) {
      size_t d = (size_t)n < want ? (size_t)n : want;
      c->rend = (size_t)n - d;
      actr__ws_event_t ev;
      actr__ws_reader_direct_done(&c->reader, d, &ev);
      if (!on_event(c, &ev))
        return;
    } else {
      c->rend = base + (size_t)n;
    }
  }
}

/* ---- start (called by ws_client.c / ws_server.c on the I/O thread) ---- */

static gboolean on_handshake_timeout(gpointer p) {
  actr_ws_conn_t *c = p;
  enter(c);
  drop_source(&c->timer_src);
  actr__ws_conn_teardown(c, ACTR_ETIMEOUT, "WebSocket handshake timed out");
  leave(c);
  return G_SOURCE_REMOVE;
}

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
    queue_head(c, c->request);
    flush(c);
  }
  watch_input(c);
}

void actr__ws_conn_begin_io(actr_ws_conn_t *c, GIOStream *stream, GSocket *sock, bool tls) {
  c->stream = stream;
  c->sock = sock;
  c->tls = tls;
  set_tcp_options(c);
  if (tls) {
    GTlsConnection *t = G_TLS_CONNECTION(stream);
    g_tls_connection_set_require_close_notify(t, FALSE);
  }
  begin(c);
}

void actr__ws_conn_arm_handshake_timer(actr_ws_conn_t *c) {
  arm_timer(c, c->cfg.connect_timeout_ms, on_handshake_timeout);
}

