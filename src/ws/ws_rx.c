/* ws_rx.c — a WebSocket connection's inbound side on the I/O thread: reads,
 * frame decoding, the bounded inbound queue of each payload type (or the
 * handler of push delivery), and pausing and resuming reading.
 *
 * Receive (I/O thread): reads go into a 256 KiB buffer; while the payload of
 * a large data frame is expected they go straight into the message's own
 * storage (readv with a small spill area for what follows), so large
 * messages are not copied in user space.  Each whole message is decoded
 * (SPEC §1.4) and queued for its type; if that queue is full, the message
 * is held and the socket watch is removed (reading stops; TCP pushes the
 * peer back) until a consumer has drained the queue to half, which invokes
 * resume on the I/O thread.  Nothing polls or sleeps. */
#include "ws_conn_io.h"

#include <string.h>

#include "error_internal.h"
#include "msg_internal.h"

#define SPILL_BYTES 512u         /* read beside a direct payload read: the next header */
#define DIRECT_MIN (16u * 1024u) /* payload left to read directly into place */
#define READS_PER_DISPATCH 64    /* then let other sources run */
#define WAKE_BATCH 16            /* messages queued before receivers are woken */

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
  size_t len = m->held;
  if (c->any_claimed && !q->claimed && !c->all_claimed && q->count &&
      (q->count >= c->cfg.unread_queue_messages || q->bytes + len > c->cfg.unread_queue_bytes)) {
    /* Lanes of this connection are read, this type's is not: drop rather
     * than stop them all. */
    if (q->dropped_unread++ == 0)
      ACTR__LOG_PEER(ACTR_LOG_WARN, "WebSocket %s: payload type %d is not read; its messages past "
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
 * a receiver never waits for a message that is queued.
 *
 * Which conditions to signal is decided under rx_mu (wake_take_locked), the
 * signals go after it is let go (wake_now): a receiver woken while the I/O
 * thread still held rx_mu found it taken and slept on it again, three futex
 * calls more per message (strace).  Safe: a receiver checks its queue under
 * rx_mu before it waits, so one not yet waiting sees the message. */
#define WAKE_ANY (1u << ACTR_PAYLOAD_TYPE_COUNT)

static unsigned wake_take_locked(actr_ws_conn_t *c) {
  unsigned m = 0;
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    if ((c->rx_wake & (1u << t)) && c->q[t].waiters)
      m |= 1u << t;
  if (c->rx_wake && c->any_waiters)
    m |= WAKE_ANY;
  c->rx_wake = 0;
  c->rx_unwoken = 0;
  return m;
}

/* wake_now: rx_mu not held; the I/O thread holds its reference to @c. */
static void wake_now(actr_ws_conn_t *c, unsigned m) {
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    if (m & (1u << t))
      g_cond_broadcast(&c->q[t].cond);
  if (m & WAKE_ANY)
    g_cond_broadcast(&c->any_cond);
}

static void wake_receivers(actr_ws_conn_t *c) {
  if (!c->rx_wake)
    return;
  g_mutex_lock(&c->rx_mu);
  unsigned m = wake_take_locked(c);
  g_mutex_unlock(&c->rx_mu);
  wake_now(c, m);
}

/* c->pending_type of a held message-mode message (lane types are >= 0). */
#define PENDING_RAW_BINARY (-1)
#define PENDING_RAW_TEXT (-2)

/* hold_for_user: actr_ws_conn_pause is in force: keep @m (of @type) and
 * read nothing more until actr_ws_conn_resume.  Always false. */
static bool hold_for_user(actr_ws_conn_t *c, int type, const ws_slot_t *m) {
  c->pending = *m;
  c->pending_type = type;
  c->paused = true;
  actr__ws_conn_unwatch_input(c);
  return false;
}

/* deliver: a decoded lane message of @type; false when its queue is full
 * (reading pauses, the message waits in c->pending). */
static bool deliver(actr_ws_conn_t *c, int type, const ws_slot_t *m) {
  if (c->user_paused)
    return hold_for_user(c, type, m);
  ws_queue_t *q = &c->q[type];
  if (q->handler) { /* push delivery: written on this thread only */
    actr_msg_t *msg = m->msg;
    g_mutex_lock(&c->rx_mu);
    /* Paused, or older messages still queued: this one queues behind. */
    bool direct = !q->handler_paused && q->count == 0;
    if (direct) {
      q->msgs_received++;
      q->bytes_received += actr_msg_len(msg);
    }
    g_mutex_unlock(&c->rx_mu);
    if (direct) {
      q->handler(q->handler_lane, msg, q->handler_user);
      return atomic_load(&c->state) != WS_CLOSED;
    }
  }
  g_mutex_lock(&c->rx_mu);
  bool ok = push_locked(c, type, m);
  if (!ok) {
    /* Under rx_mu, so a consumer popping now sees which queue to watch. */
    c->rx_paused = true;
    c->pending_type = type;
    c->read_pauses++;
  }
  unsigned wake = !ok || c->rx_unwoken >= WAKE_BATCH ? wake_take_locked(c) : 0;
  g_mutex_unlock(&c->rx_mu);
  wake_now(c, wake);
  if (!ok) {
    c->pending = *m;
    c->paused = true;
    actr__ws_conn_unwatch_input(c);
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
    actr__ws_conn_process_input(c);
  }
  actr__ws_conn_unref_internal(c);
}

/* deliver_raw: a message-mode message to on_message, or held while the
 * connection is paused; false to stop reading. */
static bool deliver_raw(actr_ws_conn_t *c, bool text, actr_msg_t *msg) {
  if (c->user_paused)
    return hold_for_user(c, text ? PENDING_RAW_TEXT : PENDING_RAW_BINARY,
                         &(ws_slot_t){msg, actr_msg_len(msg)});
  if (c->raw_ops->on_message)
    c->raw_ops->on_message(c, text, actr_msg_data(msg), actr_msg_len(msg), c->raw_user);
  actr_msg_free(msg);
  return atomic_load(&c->state) != WS_CLOSED;
}

/* on_message: a whole data message from the reader. */
static bool on_message(actr_ws_conn_t *c, actr__ws_event_t *ev) {
  actr_msg_t *msg = ev->msg;
  atomic_fetch_add_explicit(&c->rx_data_msgs, 1, memory_order_relaxed); /* ws_tx.c: direct writes */
  bool text = ev->text;
  if (c->raw) {
    if (text && !g_utf8_validate((const char *)actr_msg_data(msg), (gssize)actr_msg_len(msg), NULL)) {
      actr_msg_free(msg);
      actr__ws_conn_fail(c, ACTR__WS_CLOSE_INVALID_DATA, "text message is not UTF-8");
      return false;
    }
    return deliver_raw(c, text, msg);
  }
  /* A lane connection's reader refused a text message at its header
   * (binary_only): what comes here is binary. */
  ws_slot_t slot = {.msg = msg};
  actr_payload_type_t type;
  size_t data_len;
  if (actr__ws_msg_decode(actr_msg_data(msg), actr_msg_len(msg), &type, &data_len) != ACTR_OK) {
    /* SPEC §1.4: dropped and counted; the connection goes on. */
    atomic_fetch_add(&c->dropped_invalid, 1);
    ACTR__LOG_PEER(ACTR_LOG_WARN, "WebSocket %s: dropped: %s", c->path ? c->path : "",
              actr_err_detail());
    actr_msg_free(msg);
    return true;
  }
  actr__msg_advance(msg, ACTR__WS_MSG_HEADER);
  slot.held = actr_msg_len(msg); /* the bounds count what is kept, trailing bytes too */
  msg->len = data_len; /* bytes after 5 + data_len are ignored (as the reference) */
  return deliver(c, (int)type, &slot);
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
    /* Written once the read batch is done (actr__ws_conn_process_input):
     * the pings of one batch get one pong, the latest (RFC 6455 §5.5.3),
     * and a peer streaming pings costs no write per ping. */
    if (atomic_load(&c->state) == WS_OPEN) {
      actr__ws_conn_queue_pong(c, ev->ctl, ev->ctl_len);
      c->pong_due = true;
    }
    return atomic_load(&c->state) != WS_CLOSED;
  case ACTR__WS_EV_PONG:
    c->ping_outstanding = false;
    atomic_fetch_add(&c->pongs_received, 1);
    return true;
  case ACTR__WS_EV_CLOSE:
    return actr__ws_conn_on_close_frame(c, ev);
  case ACTR__WS_EV_ERROR:
    actr__ws_conn_fail(c, ev->code, ev->why);
    return false;
  }
  return false;
}

static void process_input_body(actr_ws_conn_t *c);

void actr__ws_conn_process_input(actr_ws_conn_t *c) {
  process_input_body(c);
  wake_receivers(c); /* whatever made it stop, queued messages are seen */
  if (c->pong_due) {
    c->pong_due = false;
    if (atomic_load(&c->state) == WS_OPEN)
      actr__ws_conn_flush(c);
  }
}

static void process_input_body(actr_ws_conn_t *c) {
  int budget = READS_PER_DISPATCH;
  bool drained = false; /* the last read did not fill what it offered */
  while (atomic_load(&c->state) != WS_CLOSED) {
    if (c->paused)
      return;
    if (c->pending.msg) {
      ws_slot_t m = c->pending;
      c->pending.msg = NULL;
      c->paused = false;
      bool raw = c->pending_type < 0;
      if (!(raw ? deliver_raw(c, c->pending_type == PENDING_RAW_TEXT, m.msg)
                : deliver(c, c->pending_type, &m)))
        return;
      actr__ws_conn_watch_input(c);
    }
    if (atomic_load(&c->state) == WS_CONNECTING) {
      if (c->rend && !actr__ws_conn_handshake_input(c))
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
    /* A read into the buffer that gave less than it offered left a plain
     * socket empty: the hub's watch is level-triggered, so what arrives
     * later dispatches again; reading on would cost a recvmsg that finds
     * nothing (EAGAIN) per message.  Not after a direct read or the header
     * read after a large message: the rest of a large payload is usually
     * arriving meanwhile, and reading on takes it without a trip through the
     * loop.  TLS may hold decrypted bytes back: read until it blocks. */
    if (budget-- == 0 || drained) {
      actr__ws_conn_watch_input(c);
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
    gssize n = actr__ws_conn_io_read(c, v, nv, &err);
    if (n == IO_WOULD_BLOCK) {
      actr__ws_conn_watch_input(c);
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
    drained = !c->tls && !direct && !c->after_large && (size_t)n < v[0].size;
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

