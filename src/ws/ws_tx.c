/* ws_tx.c — a WebSocket connection's outbound side: frames built by the
 * senders, the bounded queue between them and the I/O thread, control
 * frames and handshake heads, and the writes.
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
 * Direct writes: a sender that finds the I/O side idle on a plain socket
 * (nothing queued, nothing being written: tx_active false) writes its frame
 * to the socket itself, under tx_mu, and wakes nobody.  What the socket
 * does not take (EAGAIN, a partial write, an error) is queued as before,
 * the part written counted in the frame's offset, and the I/O thread is
 * kicked to finish it.  Who writes is decided under tx_mu: a sender only
 * while tx_active is false, the I/O thread only after setting it (flush
 * claims it before writing anything, control frames included), so frames
 * never interleave on the wire and per-sender order holds.  TLS streams are
 * written only by the I/O thread (direct_fd stays -1). */
#include "ws_conn_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "bounds.h"
#include "error_internal.h"

#define WRITE_VECS 128
#define DIRECT_WRITE_MIN (16u * 1024u) /* a frame this large may always go directly */

enum { F_DATA = 0, F_PING, F_PONG, F_CLOSE, F_HEAD };

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
/* write_direct: tx_mu held, the I/O side idle: write @f to @fd without
 * blocking; the bytes written (0 on EAGAIN or an error, which the I/O
 * thread then meets itself and handles). */
static size_t write_direct(int fd, const tx_frame_t *f) {
  for (;;) {
    ssize_t n = send(fd, f->bytes, f->len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0)
      return (size_t)n;
    if (errno != EINTR)
      return 0;
  }
}

/* direct_worth: tx_mu held, the I/O side idle: is @f worth a write of its
 * own from this thread?  A large frame is (a sendmsg per 16 KiB and more
 * costs little).  A small one is when it answers something: a data message
 * arrived since this connection's last small direct write (request and
 * response, the echo of a message: what waits on it is a round trip).  A
 * stream of small messages one way goes through the queue instead, where
 * the I/O thread writes up to WRITE_VECS frames per sendmsg -- a send()
 * per 1 KiB message moved 2.6 times fewer bytes a second.  Never on the
 * I/O thread itself: there a queued frame costs no wake-up, and the flush
 * after the dispatch writes everything a handler sent in one go. */
static bool direct_worth(actr_ws_conn_t *c, const tx_frame_t *f) {
  if (f->len >= DIRECT_WRITE_MIN)
    return !g_main_context_is_owner(c->ctx);
  uint64_t rx = atomic_load_explicit(&c->rx_data_msgs, memory_order_relaxed);
  if (rx == c->direct_rx_seen || g_main_context_is_owner(c->ctx))
    return false;
  c->direct_rx_seen = rx;
  return true;
}

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

void actr__ws_frame_list_free(tx_frame_t *f) {
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
void actr__ws_conn_queue_pong(actr_ws_conn_t *c, const uint8_t *payload, size_t len) {
  tx_frame_t *f = frame_build(NULL, !c->is_server, ACTR__WS_OP_PONG, payload, len, NULL, 0, F_PONG);
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

bool actr__ws_conn_queue_ping(actr_ws_conn_t *c) {
  /* One ping at a time waits unwritten: while the peer keeps its window
   * closed (it stopped reading) a ping each interval would pile up. */
  for (tx_frame_t *f = c->ctl_head; f; f = f->next)
    if (f->kind == F_PING)
      return false;
  tx_frame_t *f = frame_build(NULL, !c->is_server, ACTR__WS_OP_PING, NULL, 0, NULL, 0, F_PING);
  queue_ctl(c, f);
  return f != NULL;
}

void actr__ws_conn_queue_head(actr_ws_conn_t *c, const char *text) {
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

void actr__ws_conn_drop_unsent_data(actr_ws_conn_t *c) {
  /* A frame partly written must be finished (the stream would be broken
   * otherwise); everything after it is dropped.  It is the I/O thread's
   * first frame, or, left by a sender's direct write, the queue's first. */
  tx_frame_t *keep = NULL;
  if (c->io_head && c->io_head->off) {
    keep = c->io_head;
    actr__ws_frame_list_free(keep->next);
    keep->next = NULL;
  } else {
    actr__ws_frame_list_free(c->io_head);
  }
  g_mutex_lock(&c->tx_mu);
  tx_frame_t *rest = c->txq_head;
  if (!keep && rest && rest->off) {
    keep = rest;
    rest = rest->next;
    keep->next = NULL;
  }
  c->io_head = c->io_tail = keep;
  c->txq_head = c->txq_tail = NULL;
  c->tx_bytes = keep ? keep->len - keep->off : 0;
  c->tx_closed = true;
  g_cond_broadcast(&c->tx_cond);
  g_mutex_unlock(&c->tx_mu);
  actr__ws_frame_list_free(rest);
}

int actr__ws_conn_send(actr_ws_conn_t *c, int type, const void *data, size_t len, int timeout_ms,
                       const atomic_bool *lane_closed) {
  bool nonblock = timeout_ms == 0;
  actr__wait_t budget = actr__wait_start(timeout_ms);
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
    bool in_time = ws_cond_wait(&c->tx_cond, &c->tx_mu, &c->tx_waiters, &budget);
    if (!in_time && c->tx_bytes && c->tx_bytes + f->len > c->cfg.outbound_queue_bytes &&
        !c->tx_closed) {
      rc = ACTR_ETIMEOUT;
      c->want_writable = true;
      break;
    }
  }
  bool sent = false;
  if (rc == ACTR_OK && type >= 0) {
    c->q[type].msgs_sent++;
    c->q[type].bytes_sent += len;
  }
  if (rc == ACTR_OK && !c->tx_active && c->direct_fd >= 0 && direct_worth(c, f)) {
    /* The I/O side is idle (nothing queued or being written, no POLLOUT
     * wait): write here, under tx_mu, waking nobody. */
    f->off = write_direct(c->direct_fd, f);
    sent = f->off == f->len;
  }
  if (rc == ACTR_OK && !sent) {
    /* (After a partial direct write, f->off bytes are on the wire already:
     * the I/O thread finishes the frame before anything else.) */
    if (c->txq_tail)
      c->txq_tail->next = f;
    else
      c->txq_head = f;
    c->txq_tail = f;
    c->tx_bytes += f->len - f->off;
    if (c->tx_bytes > c->tx_bytes_peak)
      c->tx_bytes_peak = c->tx_bytes;
    if (!c->tx_active) {
      /* The I/O side is idle: wake it.  Thread-safe (takes the context
       * lock, writes the context's wakeup fd once). */
      c->tx_active = true;
      actr__watch_kick(c->kick_w);
    }
  }
  g_mutex_unlock(&c->tx_mu);
  if (sent || rc != ACTR_OK)
    free_frame(f);
  if (rc != ACTR_OK) {
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
  ws_enter(p);
  actr__ws_conn_flush(p);
  ws_leave(p);
}

void actr__ws_conn_tx_open(actr_ws_conn_t *c) {
  c->kick_w = actr__watch_kick_new(actr__runtime_hub(c->rt), on_kick, c);
  g_mutex_lock(&c->tx_mu);
  c->tx_closed = false;
  c->direct_fd = c->tls ? -1 : g_socket_get_fd(c->sock);
  g_mutex_unlock(&c->tx_mu);
}

static void after_drained(actr_ws_conn_t *c);

/* flush: write what is queued until done or the socket is full.  Order on
 * the wire: a frame already started, then control frames, then data. */
void actr__ws_conn_flush(actr_ws_conn_t *c) {
  GOutputVector v[WRITE_VECS];
  tx_frame_t *order[WRITE_VECS];
  for (;;) {
    if (atomic_load(&c->state) == WS_CLOSED)
      return;
    if (actr__ws_conn_out_waiting(c))
      return; /* waiting for POLLOUT */
    if (!c->io_head) {
      /* Take what senders queued, and the socket with it: while tx_active
       * is set no sender writes to it directly.  (With data frames in
       * io_head it is set already.)  A sender's direct write holds tx_mu:
       * this waits for it to end. */
      g_mutex_lock(&c->tx_mu);
      if (!c->close_queued) {
        c->io_head = c->txq_head;
        c->io_tail = c->txq_tail;
        c->txq_head = c->txq_tail = NULL;
      }
      c->tx_active = c->io_head || c->ctl_head;
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
    gssize n = actr__ws_conn_io_write(c, v, nv, &err);
    if (n == IO_WOULD_BLOCK) {
      actr__ws_conn_io_watch(c, true);
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
      bool half = actr__half_empty(c->tx_bytes, c->cfg.outbound_queue_bytes);
      if (c->tx_waiters && half)
        g_cond_broadcast(&c->tx_cond);
      bool writable = half && c->want_writable;
      if (writable)
        c->want_writable = false;
      g_mutex_unlock(&c->tx_mu);
      if (writable) /* sends from there only queue: no re-entry */
        actr__ws_conn_tell_writable(c);
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
