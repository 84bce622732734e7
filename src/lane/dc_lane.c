/* dc_lane.c — the DataChannel lane (the reference's WebRtcDataLane): every
 * lane message travels as one or more 8-byte-header fragments (SPEC §1.3) on
 * one data channel, reached through a port (dc_port.h).
 *
 * Send (any thread): wait for the channel to open (condition variable, woken
 * by state changes: no polling), then for each fragment wait while the
 * channel's buffered amount is above the high-water mark, build the frame
 * with its one copy, hand it to the port.  Several threads may send at once;
 * their fragments interleave and each message keeps its own msg_id.  On a
 * reliable lane the messages of several fragments in flight at once stay
 * within the receiver's reassembly caps (window_take): the receiver never
 * evicts a partial message to make room, so nothing that send reported sent
 * is lost; a message larger than the byte cap is refused up front.
 * Receive: frames wait in a bounded ring; recv pops them and feeds the
 * bounded reassembly (under rx_mu, not held while waiting).  When the ring is
 * full the port is told "no" and stops reading, so the peer is pushed back by
 * SCTP flow control; recv resumes it once the ring is half empty.
 * Push delivery (actr_lane_set_handler): frames are fed to the reassembly on
 * the port's delivery thread as they arrive and each whole message goes to
 * the handler there, with no lock held; the handler is set and cleared on
 * that thread too, so it never runs after set_handler has replaced it.
 * Invalid fragments are dropped and counted (stats), never returned. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <actr/testing.h>

#include "bounds.h"
#include "clock.h"
#include "dc_port.h"
#include "error_internal.h"
#include "fragment.h"
#include "lane_ops.h"
#include "msg_internal.h"
#include "ring.h"

enum { READ_UNASKED = 0, READ_UNREAD, READ_CLAIMED };

typedef struct dc_lane {
  actr_lane_t base;
  const actr_lane_dc_port_ops_t *ops;
  void *port;
  actr_lane_dc_config_t cfg;

  pthread_mutex_t mu; /* state and send-side waits */
  pthread_cond_t cond;
  _Atomic int state; /* actr_lane_dc_state_t */
  atomic_uint next_msg_id;

  actr__ring_t inbound; /* frames (actr_msg_t *) */
  /* Bytes of joined frames in the ring (actr__msg_joined: one entry, many
   * fragments): one more is taken while they are at most half of
   * joined_limit (ring_take), so the ring holds at most its slots' worth of
   * plain frames plus half the limit plus one joined frame. */
  atomic_size_t joined_bytes;
  size_t joined_limit;
  atomic_bool refused;  /* the port holds a refused frame until resume */
  atomic_int reading;   /* READ_*: what a full ring does (dc_port.h) */
  pthread_mutex_t rx_mu;
  actr__reassembly_t *reasm;
  actr_lane_handler_fn handler; /* under rx_mu; changed on the delivery thread only */
  void *handler_user;
  atomic_bool has_handler;
  bool paused;     /* under rx_mu; changed on the delivery thread only (actr_lane_pause) */
  bool delivering; /* delivery thread only: deliver_to_handler is running */
  /* Writable handler: set and called on the delivery thread only. */
  actr_lane_writable_fn writable;
  void *writable_user;
  atomic_bool want_writable;   /* a send was refused (ACTR_EWOULD_BLOCK) since the last call */
  atomic_bool writable_posted; /* a writable check is on its way to the delivery thread */
  atomic_size_t want_bytes;    /* wire size of the last message a send without waiting tried */

  atomic_uint_fast64_t msgs_sent, bytes_sent, msgs_received, bytes_received, dropped;
  atomic_uint_fast64_t dropped_unread;
  /* In flight (reliable lanes): messages of more than one fragment whose
   * sending has begun and not ended, and their bytes; under mu.  Kept within
   * the receiver's reassembly caps (cfg.reassembly, the same on both sides
   * by SPEC), so it never evicts a message this side reported sent. */
  bool windowed;
  uint32_t inflight_msgs;
  uint64_t inflight_bytes;
} dc_lane_t;

static dc_lane_t *to_dc(const actr_lane_t *lane) { return (dc_lane_t *)lane; }

/* ---- test hook (the reference's fragment send hook) ---- */

static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;
static actr_testing_fragment_send_hook_fn hook_fn;
static void *hook_user;
static atomic_bool hook_set;

void actr_testing_set_fragment_send_hook(actr_testing_fragment_send_hook_fn fn, void *user,
                                         actr_testing_fragment_send_hook_fn *prev_fn, void **prev_user) {
  pthread_mutex_lock(&hook_mu);
  if (prev_fn)
    *prev_fn = hook_fn;
  if (prev_user)
    *prev_user = hook_user;
  hook_fn = fn;
  hook_user = user;
  atomic_store(&hook_set, fn != NULL);
  pthread_mutex_unlock(&hook_mu);
}

static void notify_hook(const actr_testing_fragment_send_event_t *ev) {
  if (!atomic_load_explicit(&hook_set, memory_order_relaxed))
    return;
  pthread_mutex_lock(&hook_mu);
  actr_testing_fragment_send_hook_fn fn = hook_fn;
  void *user = hook_user;
  pthread_mutex_unlock(&hook_mu);
  if (fn)
    fn(ev, user); /* outside every lock: the hook may block */
}

/* ---- helpers ---- */

static int closed_error(int state) {
  return actr__fail(ACTR_EDATA_CHANNEL_CLOSED, "DataChannel closed: %s",
                    state == ACTR_LANE_DC_CLOSING ? "Closing" : "Closed");
}

/* wait_open: the reference waits up to INITIAL_CONNECTION_TIMEOUT for the
 * channel to open; we wait on the state condition instead of polling, and
 * no longer than the send's own @timeout_ms (0: not at all, -1: no limit). */
static int wait_open(dc_lane_t *l, int timeout_ms) {
  int state = atomic_load(&l->state);
  if (state == ACTR_LANE_DC_OPEN)
    return ACTR_OK;
  if (state != ACTR_LANE_DC_CONNECTING)
    return closed_error(state);
  if (timeout_ms == 0)
    return actr__fail(ACTR_EWOULD_BLOCK, "DataChannel still connecting");
  bool caller_limit = timeout_ms > 0 && timeout_ms < l->cfg.open_timeout_ms;
  struct timespec dl;
  actr__deadline_after(&dl, caller_limit ? timeout_ms : l->cfg.open_timeout_ms);
  pthread_mutex_lock(&l->mu);
  int rc = 0;
  while ((state = atomic_load(&l->state)) == ACTR_LANE_DC_CONNECTING && rc == 0)
    rc = pthread_cond_timedwait(&l->cond, &l->mu, &dl);
  pthread_mutex_unlock(&l->mu);
  if (state == ACTR_LANE_DC_OPEN)
    return ACTR_OK;
  if (state != ACTR_LANE_DC_CONNECTING)
    return closed_error(state);
  if (caller_limit)
    return actr__fail(ACTR_ETIMEOUT, "DataChannel still connecting after %d ms", timeout_ms);
  return actr__fail(ACTR_EDATA_CHANNEL_NOT_OPEN, "DataChannel open timeout: Connecting (%d ms)",
                    l->cfg.open_timeout_ms);
}

/* wait_room: block while the channel holds more than the high-water mark,
 * until @dl (NULL: no limit). */
static int wait_room(dc_lane_t *l, const struct timespec *dl) {
  if (l->ops->buffered_amount(l->port) <= l->cfg.send_high_water_bytes)
    return ACTR_OK;
  pthread_mutex_lock(&l->mu);
  int state, rc = 0;
  while ((state = atomic_load(&l->state)) == ACTR_LANE_DC_OPEN && rc == 0 &&
         l->ops->buffered_amount(l->port) > l->cfg.send_high_water_bytes)
    rc = dl ? pthread_cond_timedwait(&l->cond, &l->mu, dl) : pthread_cond_wait(&l->cond, &l->mu);
  bool full = l->ops->buffered_amount(l->port) > l->cfg.send_high_water_bytes;
  pthread_mutex_unlock(&l->mu);
  if (state != ACTR_LANE_DC_OPEN)
    return closed_error(state);
  return rc && full ? actr__fail(ACTR_ETIMEOUT, "DataChannel buffer still full") : ACTR_OK;
}

/* window_take: room for one more message reserving @len bytes among those in
 * flight (window_give returns it), waiting until @dl (NULL: no limit) unless
 * @nowait.  The receiver holds at most what is in flight here as partial
 * messages: on an ordered channel, a message is partial there only while its
 * first fragment has arrived and its last not, both sent inside its window
 * time here. */
static int window_take(dc_lane_t *l, uint64_t len, bool nowait, const struct timespec *dl) {
  const actr_reassembly_config_t *cap = &l->cfg.reassembly;
  pthread_mutex_lock(&l->mu);
  int state, rc = 0;
  while ((state = atomic_load(&l->state)) == ACTR_LANE_DC_OPEN && rc == 0 && l->inflight_msgs &&
         (l->inflight_msgs >= cap->max_pending_messages ||
          l->inflight_bytes + len > cap->max_pending_bytes)) {
    if (nowait) {
      pthread_mutex_unlock(&l->mu);
      return actr__fail(ACTR_EWOULD_BLOCK, "DataChannel: %u messages (%llu bytes) in flight, "
                        "the receiver's reassembly caps", l->inflight_msgs,
                        (unsigned long long)l->inflight_bytes);
    }
    rc = dl ? pthread_cond_timedwait(&l->cond, &l->mu, dl) : pthread_cond_wait(&l->cond, &l->mu);
  }
  bool ok = state == ACTR_LANE_DC_OPEN && rc == 0;
  if (ok) {
    l->inflight_msgs++;
    l->inflight_bytes += len;
  }
  pthread_mutex_unlock(&l->mu);
  if (state != ACTR_LANE_DC_OPEN)
    return closed_error(state);
  return ok ? ACTR_OK
            : actr__fail(ACTR_ETIMEOUT, "DataChannel: messages in flight at the receiver's caps");
}

static void post_writable(dc_lane_t *l);

static void window_give(dc_lane_t *l, uint64_t len) {
  pthread_mutex_lock(&l->mu);
  l->inflight_msgs--;
  l->inflight_bytes -= len;
  pthread_cond_broadcast(&l->cond);
  pthread_mutex_unlock(&l->mu);
  if (atomic_load(&l->want_writable))
    post_writable(l);
}

/* classify: a failed port send is closed, not-open, too large for the
 * peer (a fragment over its a=max-message-size: the port's detail says
 * so), or another error. */
static int classify(int rc, uint16_t index) {
  if (rc == ACTR_EDATA_CHANNEL_CLOSED || rc == ACTR_EDATA_CHANNEL_NOT_OPEN ||
      rc == ACTR_EDATA_CHANNEL || rc == ACTR_EMESSAGE_TOO_LARGE)
    return rc;
  return actr__fail(ACTR_EDATA_CHANNEL, "Send fragment %u failed: %s", index, actr_err_name(rc));
}

/* ---- ops ---- */

/* on_delivery_thread: the port's own thread (a handler runs there), where
 * waiting for the channel would wait for ourselves. */
static bool on_delivery_thread(const dc_lane_t *l) {
  return l->ops->on_delivery_thread && l->ops->on_delivery_thread(l->port);
}

static int send_fragments(dc_lane_t *l, const void *data, size_t len, uint16_t total, bool nowait,
                          const struct timespec *dl);
static void note_refused(dc_lane_t *l);
static int send_message(dc_lane_t *l, const void *data, size_t len, int timeout_ms, bool nowait);

static int dc_lane_send(actr_lane_t *lane, const void *data, size_t len, int timeout_ms) {
  dc_lane_t *l = to_dc(lane);
  /* Never waits: try_send, and any send on the delivery thread (it would
   * wait for itself). */
  bool nowait = timeout_ms == 0 || on_delivery_thread(l);
  int rc = send_message(l, data, len, timeout_ms, nowait);
  if (rc == ACTR_EWOULD_BLOCK)
    note_refused(l);
  return rc;
}

static int send_message(dc_lane_t *l, const void *data, size_t len, int timeout_ms, bool nowait) {
  struct timespec dl;
  if (timeout_ms > 0)
    actr__deadline_after(&dl, timeout_ms);
  int rc = wait_open(l, nowait ? 0 : timeout_ms);
  if (rc != ACTR_OK)
    return rc;
  uint16_t total;
  if ((rc = actr__frag_count(len, &total)) != ACTR_OK)
    return rc; /* message too large: nothing sent, no msg_id used */
  size_t wire = len + (size_t)total * ACTR__FRAG_HEADER;
  size_t limit = l->ops->buffer_limit ? l->ops->buffer_limit(l->port) : SIZE_MAX;
  if (nowait) {
    /* Ports say "drained" once at most half their buffer is used
     * (dc_port.h): a message above that half might never go without
     * waiting, so it is refused for good, and a writable handler is never a
     * promise that cannot be kept. */
    if (limit != SIZE_MAX && wire > limit / 2)
      return actr__fail(ACTR_EMESSAGE_TOO_LARGE, "DataChannel: %zu bytes cannot go without "
                        "waiting (above half the channel's buffer of %zu bytes): send from a "
                        "thread that may wait", wire, limit);
    atomic_store(&l->want_bytes, wire); /* what room_now must find, if refused */
    size_t buffered = l->ops->buffered_amount(l->port);
    if (buffered > l->cfg.send_high_water_bytes)
      return actr__fail(ACTR_EWOULD_BLOCK, "DataChannel buffer above %zu bytes",
                        l->cfg.send_high_water_bytes);
    /* The whole message must fit in the channel at once: never half a
     * message. */
    if (buffered + wire > limit)
      return actr__fail(ACTR_EWOULD_BLOCK, "DataChannel: %zu bytes do not fit in its buffer now",
                        wire);
  }

  bool windowed = l->windowed && total > 1;
  if (windowed) {
    if (len > l->cfg.reassembly.max_pending_bytes)
      return actr__fail(ACTR_EMESSAGE_TOO_LARGE, "%zu bytes: above the receiver's reassembly cap "
                        "of %llu bytes", len, (unsigned long long)l->cfg.reassembly.max_pending_bytes);
  }
  /* What the receiver reserves for it until its last fragment (reassembly.c):
   * room for every fragment full, at most the cap. */
  uint64_t reserve = (uint64_t)total * ACTR__DC_MAX_PAYLOAD;
  if (reserve > l->cfg.reassembly.max_pending_bytes)
    reserve = l->cfg.reassembly.max_pending_bytes;
  if (windowed && (rc = window_take(l, reserve, nowait, timeout_ms > 0 ? &dl : NULL)) != ACTR_OK)
    return rc;
  rc = send_fragments(l, data, len, total, nowait, timeout_ms > 0 ? &dl : NULL);
  if (windowed)
    window_give(l, reserve);
  if (rc != ACTR_OK)
    return rc;
  atomic_fetch_add_explicit(&l->msgs_sent, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&l->bytes_sent, len, memory_order_relaxed);
  return ACTR_OK;
}

/* send_fragments: the message as @total fragments, each waiting for room
 * until @dl unless @nowait. */
static int send_fragments(dc_lane_t *l, const void *data, size_t len, uint16_t total, bool nowait,
                          const struct timespec *dl) {
  int rc;
  /* The reference's per-lane counter: +1 per message, wrapping; several
   * senders each take their own. */
  uint32_t msg_id = atomic_fetch_add_explicit(&l->next_msg_id, 1, memory_order_relaxed);
  actr__frag_splitter_t s;
  actr__frag_splitter_init(&s, data, len, msg_id);
  for (uint16_t i = 0; i < total; i++) {
    /* Every fragment waits for room, the first one too (a stream of small
     * messages must be held back as much as one large one), unless the
     * send never waits (then all of it fits, checked above).  A timeout
     * that runs out after the first fragment leaves the message cut: the
     * receiver never delivers it (its partial fragments expire). */
    if (!nowait && (rc = wait_room(l, dl)) != ACTR_OK)
      return rc;
    actr_msg_t *frame = actr__frag_frame_new(&s, i);
    if (!frame)
      return actr__fail(ACTR_ENO_MEMORY, "fragment %u of %zu bytes", i, len);
    size_t payload_len = actr_msg_len(frame) - ACTR__FRAG_HEADER;
    rc = l->ops->send(l->port, frame);
    if (rc != ACTR_OK)
      return classify(rc, i);
    actr_testing_fragment_send_event_t ev = {msg_id, i, total, payload_len, len};
    notify_hook(&ev);
  }
  return ACTR_OK;
}

/* drained: the ring has room to take frames again: half its slots free
 * and its joined frames within half their bound (hysteresis: not one
 * resume per frame). */
static bool drained(dc_lane_t *l) {
  return actr__ring_half_empty(&l->inbound) &&
         atomic_load_explicit(&l->joined_bytes, memory_order_acquire) <= l->joined_limit / 2;
}

/* unqueued: @frame was just taken off the ring; its joined bytes leave
 * the count. */
static void unqueued(dc_lane_t *l, actr_msg_t *frame) {
  if (actr__msg_joined(frame) >= 2)
    atomic_fetch_sub_explicit(&l->joined_bytes, actr_msg_len(frame), memory_order_release);
}

/* after_pop: let a port that was refused deliver again once the ring has
 * drained (drained).  The fence pairs with queue_frame's: a pop and a
 * refusal at the same moment, each side sees the other's write. */
static void after_pop(dc_lane_t *l) {
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(&l->refused, memory_order_acquire) && drained(l) &&
      atomic_exchange(&l->refused, false))
    l->ops->resume(l->port);
}

/* feed: one frame into the reassembly (rx_mu held).  Returns the message it
 * completes, or NULL (stored, or dropped as invalid and counted). */
static actr_msg_t *feed(dc_lane_t *l, actr_msg_t *frame) {
  actr_msg_t *complete = NULL;
  if (actr__reassembly_push(l->reasm, frame, actr__now_ms(), &complete) != ACTR_OK) {
    /* Hostile or damaged fragment: counted in the reassembly stats, and
     * the lane goes on (SPEC §3.1). */
    ACTR__LOG_PEER(ACTR_LOG_WARN, "DataChannel %s: fragment dropped: %s",
              actr_payload_type_name(l->base.payload_type), actr_err_detail());
    atomic_fetch_add_explicit(&l->dropped, 1, memory_order_relaxed);
    return NULL;
  }
  if (complete) {
    atomic_fetch_add_explicit(&l->msgs_received, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->bytes_received, actr_msg_len(complete), memory_order_relaxed);
  }
  return complete;
}

/* feed_popped: a frame just taken off the ring, into the reassembly. */
static actr_msg_t *feed_popped(dc_lane_t *l, actr_msg_t *frame) {
  unqueued(l, frame);
  after_pop(l);
  pthread_mutex_lock(&l->rx_mu);
  actr_msg_t *complete = feed(l, frame);
  pthread_mutex_unlock(&l->rx_mu);
  return complete;
}

/* take_queued: feed what the ring holds until a message is whole. */
static actr_msg_t *take_queued(dc_lane_t *l) {
  void *item;
  while (actr__ring_pop(&l->inbound, &item, 0) == ACTR_OK) {
    actr_msg_t *complete = feed_popped(l, item);
    if (complete)
      return complete;
  }
  return NULL;
}

static int handler_set_error(void) {
  return actr__fail(ACTR_EINVALID_OPERATION, "recv() while a message handler is set");
}

typedef struct lend_wait {
  dc_lane_t *l;
  actr_msg_t *out;
} lend_wait_t;

/* lend_done: checked by the lent loop after each iteration (on this
 * thread): a whole message, or a reason to stop waiting. */
static bool lend_done(void *data) {
  lend_wait_t *w = data;
  if (!w->out)
    w->out = take_queued(w->l);
  return w->out || actr__ring_is_closed(&w->l->inbound) || atomic_load(&w->l->has_handler);
}

static int dc_lane_recv(actr_lane_t *lane, int timeout_ms, actr_msg_t **out) {
  dc_lane_t *l = to_dc(lane);
  if (atomic_load(&l->has_handler))
    return handler_set_error();
  actr__wait_t budget = actr__wait_start(timeout_ms);
  int rc;
  for (;;) {
    lend_wait_t w = {l, NULL};
    if (l->ops->lend && actr__wait_lend(&budget, l->ops->lend, l->port, lend_done, &w) >= 0) {
      if (w.out) {
        *out = w.out;
        return ACTR_OK;
      }
      if (atomic_load(&l->has_handler))
        return handler_set_error();
    }
    void *item;
    rc = actr__ring_pop(&l->inbound, &item, actr__wait_left_ms(&budget));
    if (rc != ACTR_OK) {
      if (rc == ACTR_ECHANNEL_CLOSED)
        rc = actr__fail(ACTR_EDATA_CHANNEL_CLOSED, "DataLane receiver closed");
      else if (rc == ACTR_EWOULD_BLOCK && timeout_ms > 0)
        rc = actr__fail(ACTR_ETIMEOUT, "no whole message within %d ms", timeout_ms);
      break;
    }
    actr_msg_t *complete = feed_popped(l, item);
    if (complete) {
      *out = complete;
      break;
    }
    /* A fragment was stored (or dropped); with try_recv keep draining what
     * is queued. */
  }
  return rc;
}

static bool queue_frame(dc_lane_t *l, actr_msg_t *frame);

/* deliver_to_handler (delivery thread): feed what the ring holds, then
 * @frame (may be NULL), handing each whole message to the handler with no
 * lock held.  The handler is read again before every message, so one that a
 * handler replaces (or clears) from inside itself gets nothing more; once
 * cleared, what is left stays queued for recv.  A reference keeps the lane
 * alive should the handler drop the last handle.  Returns false only when
 * @frame could not be queued (see actr_lane_dc_port_frame). */
static bool deliver_to_handler(dc_lane_t *l, actr_msg_t *frame) {
  actr_lane_ref(&l->base);
  bool outer = l->delivering;
  l->delivering = true;
  for (;;) {
    pthread_mutex_lock(&l->rx_mu);
    actr_lane_handler_fn fn = l->paused ? NULL : l->handler; /* paused: it all queues */
    void *user = l->handler_user;
    actr_msg_t *m = NULL;
    while (fn && !m) {
      void *item;
      if (actr__ring_pop(&l->inbound, &item, 0) == ACTR_OK) {
        unqueued(l, item);
        m = feed(l, item);
      }
      else if (frame)
        m = feed(l, frame), frame = NULL;
      else
        break;
    }
    pthread_mutex_unlock(&l->rx_mu);
    if (!m)
      break;
    fn(&l->base, m, user);
  }
  l->delivering = outer;
  bool taken = !frame || queue_frame(l, frame);
  after_pop(l);
  actr_lane_unref(&l->base);
  return taken;
}

typedef struct handler_change {
  dc_lane_t *l;
  actr_lane_handler_fn fn;
  void *user;
} handler_change_t;

static int set_handler_on_port_thread(void *data) {
  handler_change_t *c = data;
  dc_lane_t *l = c->l;
  pthread_mutex_lock(&l->rx_mu);
  l->handler = c->fn;
  l->handler_user = c->user;
  atomic_store(&l->has_handler, c->fn != NULL);
  pthread_mutex_unlock(&l->rx_mu);
  if (c->fn)
    (void)deliver_to_handler(l, NULL); /* what was queued goes first */
  return ACTR_OK;
}

static int dc_lane_set_handler(actr_lane_t *lane, actr_lane_handler_fn fn, void *user) {
  dc_lane_t *l = to_dc(lane);
  if (!l->ops->call)
    return actr__fail(ACTR_EINVALID_OPERATION, "set_handler() not supported on this lane type");
  handler_change_t c = {l, fn, user};
  return l->ops->call(l->port, set_handler_on_port_thread, &c);
}

/* drain_posted (delivery thread, a dispatch of its own): what was queued
 * while the handler was paused goes to it now. */
static void drain_posted(void *data) {
  dc_lane_t *l = data;
  (void)deliver_to_handler(l, NULL);
  actr_lane_unref(&l->base);
}

typedef struct pause_change {
  dc_lane_t *l;
  bool paused;
} pause_change_t;

static int set_paused_on_port_thread(void *data) {
  pause_change_t *c = data;
  dc_lane_t *l = c->l;
  pthread_mutex_lock(&l->rx_mu);
  bool resumed = l->paused && !c->paused;
  l->paused = c->paused;
  bool queued = l->handler && actr__ring_count(&l->inbound) > 0;
  pthread_mutex_unlock(&l->rx_mu);
  /* Inside a delivery the running loop takes the queued messages on;
   * elsewhere a dispatch of their own does, never this caller. */
  if (resumed && queued && !l->delivering) {
    actr_lane_ref(&l->base);
    l->ops->post(l->port, drain_posted, l);
  }
  return ACTR_OK;
}

static int dc_lane_set_paused(actr_lane_t *lane, bool paused) {
  dc_lane_t *l = to_dc(lane);
  if (!l->ops->call || !l->ops->post)
    return actr__fail(ACTR_EINVALID_OPERATION, "%s() not supported on this lane type",
                      paused ? "pause" : "resume");
  pause_change_t c = {l, paused};
  return l->ops->call(l->port, set_paused_on_port_thread, &c);
}

/* room_now: a refused sender may try again: the channel is open, below its
 * high-water mark with room for the refused message, and (reliable lanes)
 * the in-flight window has room. */
static bool room_now(dc_lane_t *l) {
  size_t buffered = l->ops->buffered_amount(l->port);
  size_t limit = l->ops->buffer_limit ? l->ops->buffer_limit(l->port) : SIZE_MAX;
  if (atomic_load(&l->state) != ACTR_LANE_DC_OPEN || buffered > l->cfg.send_high_water_bytes ||
      buffered + atomic_load(&l->want_bytes) > limit)
    return false;
  pthread_mutex_lock(&l->mu);
  bool room = !l->windowed || l->inflight_msgs < l->cfg.reassembly.max_pending_messages;
  pthread_mutex_unlock(&l->mu);
  return room;
}

static void writable_posted(void *data) {
  dc_lane_t *l = data;
  atomic_store(&l->writable_posted, false);
  if (l->writable && atomic_load(&l->want_writable) && room_now(l) &&
      atomic_exchange(&l->want_writable, false))
    l->writable(&l->base, l->writable_user);
  actr_lane_unref(&l->base);
}

/* post_writable: check on the delivery thread whether a refused sender may
 * go on, and tell it (one check on its way at a time). */
static void post_writable(dc_lane_t *l) {
  if (!l->ops->post || atomic_exchange(&l->writable_posted, true))
    return;
  actr_lane_ref(&l->base);
  l->ops->post(l->port, writable_posted, l);
}

/* note_refused: a send returned ACTR_EWOULD_BLOCK.  The room may have come
 * back between its check and now: look once more from the delivery
 * thread. */
static void note_refused(dc_lane_t *l) {
  atomic_store(&l->want_writable, true);
  if (room_now(l))
    post_writable(l);
}

typedef struct writable_change {
  dc_lane_t *l;
  actr_lane_writable_fn fn;
  void *user;
} writable_change_t;

static int set_writable_on_port_thread(void *data) {
  writable_change_t *c = data;
  c->l->writable = c->fn;
  c->l->writable_user = c->user;
  return ACTR_OK;
}

static int dc_lane_set_writable(actr_lane_t *lane, actr_lane_writable_fn fn, void *user) {
  dc_lane_t *l = to_dc(lane);
  if (!l->ops->call || !l->ops->post)
    return actr__fail(ACTR_EINVALID_OPERATION, "set_writable_handler() not supported on this "
                      "lane type");
  writable_change_t c = {l, fn, user};
  return l->ops->call(l->port, set_writable_on_port_thread, &c);
}

static bool dc_lane_is_healthy(const actr_lane_t *lane) {
  int state = atomic_load(&to_dc(lane)->state);
  return state != ACTR_LANE_DC_CLOSING && state != ACTR_LANE_DC_CLOSED;
}

static void dc_lane_stats(const actr_lane_t *lane, actr_lane_stats_t *out) {
  dc_lane_t *l = to_dc(lane);
  out->msgs_sent = atomic_load(&l->msgs_sent);
  out->bytes_sent = atomic_load(&l->bytes_sent);
  out->msgs_received = atomic_load(&l->msgs_received);
  out->bytes_received = atomic_load(&l->bytes_received);
  out->dropped_invalid = atomic_load(&l->dropped);
  out->dropped_unread = atomic_load(&l->dropped_unread);
  pthread_mutex_lock(&l->rx_mu);
  actr__reassembly_stats(l->reasm, out);
  pthread_mutex_unlock(&l->rx_mu);
}

static void set_state(dc_lane_t *l, int state) {
  pthread_mutex_lock(&l->mu);
  int old = atomic_load(&l->state);
  /* States only move forward: a late "open" never reopens a closed lane. */
  if (state > old)
    atomic_store(&l->state, state);
  pthread_cond_broadcast(&l->cond);
  pthread_mutex_unlock(&l->mu);
  if (state == ACTR_LANE_DC_OPEN && atomic_load(&l->want_writable))
    post_writable(l); /* refused while connecting */
  if (state >= ACTR_LANE_DC_CLOSING) {
    actr__ring_close(&l->inbound); /* receivers drain, then see closed */
    if (l->ops->wake)
      l->ops->wake(l->port); /* a receiver running the port's loop sees it too */
  }
}

static void dc_lane_close(actr_lane_t *lane) {
  dc_lane_t *l = to_dc(lane);
  if (atomic_load(&l->state) >= ACTR_LANE_DC_CLOSING)
    return;
  set_state(l, ACTR_LANE_DC_CLOSING);
  l->ops->close(l->port);
}

static void dc_lane_fini(actr_lane_t *lane) {
  dc_lane_t *l = to_dc(lane);
  l->ops->release(l->port);
  void *item;
  while (actr__ring_pop(&l->inbound, &item, 0) == ACTR_OK) {
    unqueued(l, item);
    actr_msg_free(item);
  }
  actr__ring_destroy(&l->inbound);
  actr__reassembly_free(l->reasm);
  pthread_mutex_destroy(&l->mu);
  pthread_mutex_destroy(&l->rx_mu);
  pthread_cond_destroy(&l->cond);
  free(l);
}

static const actr__lane_ops_t dc_lane_ops = {
  .lane_type = "WebRtcDataChannel",
  .send = dc_lane_send,
  .recv = dc_lane_recv,
  .set_handler = dc_lane_set_handler,
  .set_paused = dc_lane_set_paused,
  .set_writable = dc_lane_set_writable,
  .is_healthy = dc_lane_is_healthy,
  .stats = dc_lane_stats,
  .close = dc_lane_close,
  .fini = dc_lane_fini,
};

/* ---- port notifications ---- */

void actr_lane_dc_port_state(actr_lane_t *lane, actr_lane_dc_state_t state) {
  set_state(to_dc(lane), (int)state);
}

bool actr_lane_dc_port_frame(actr_lane_t *lane, actr_msg_t *frame) {
  dc_lane_t *l = to_dc(lane);
  /* A joined frame (libactr's channel read fragments into place) holds up
   * to its count of them. */
  size_t max = ACTR__DC_MAX_MESSAGE;
  if (actr__msg_joined(frame) >= 2)
    max = ACTR__FRAG_HEADER + (size_t)actr__msg_joined(frame) * ACTR__DC_MAX_PAYLOAD;
  if (actr_msg_len(frame) > max || actr_msg_len(frame) < ACTR__FRAG_HEADER) {
    /* No fragment is larger (SPEC §1), or shorter than its header: refused
     * here, before it takes a place in the ring (64 of them would pin 64
     * such messages, and an "empty" one may hold more than it shows). */
    ACTR__LOG_PEER(ACTR_LOG_WARN, "DataChannel %s: a frame of %zu bytes dropped (%u to %u)",
                   actr_payload_type_name(l->base.payload_type), actr_msg_len(frame),
                   ACTR__FRAG_HEADER, ACTR__DC_MAX_MESSAGE);
    atomic_fetch_add_explicit(&l->dropped, 1, memory_order_relaxed);
    actr_msg_free(frame);
    return true;
  }
  if (atomic_load_explicit(&l->has_handler, memory_order_acquire))
    return deliver_to_handler(l, frame);
  return queue_frame(l, frame);
}

/* drop_unread: a frame of a type other lanes' readers leave unread, past
 * its bound: dropped rather than pause the whole association (every
 * channel on it), counted, logged once. */
static bool drop_unread(dc_lane_t *l, actr_msg_t *frame) {
  if (atomic_fetch_add(&l->dropped_unread, 1) == 0)
    ACTR__LOG_PEER(ACTR_LOG_WARN, "DataChannel %s is not read: fragments past %u are dropped",
                   actr_payload_type_name(l->base.payload_type), l->cfg.inbound_frames);
  actr_msg_free(frame);
  return true;
}

/* ring_take: @frame into the ring if it has room for it: a free slot and,
 * for a joined frame, room under joined_limit (or none queued).  Only the
 * port's delivery thread pushes. */
static bool ring_take(dc_lane_t *l, actr_msg_t *frame) {
  size_t joined = actr__msg_joined(frame) >= 2 ? actr_msg_len(frame) : 0;
  if (joined) {
    /* The same line as drained(): a ring that resumes the port takes what
     * it offers, or a port refused after the last pop would wait for a
     * resume that never comes.  So the ring holds at most half the limit
     * plus one joined frame (~4 MiB: sctp.c's runs). */
    if (atomic_load_explicit(&l->joined_bytes, memory_order_acquire) > l->joined_limit / 2)
      return false;
    atomic_fetch_add_explicit(&l->joined_bytes, joined, memory_order_release);
  }
  if (actr__ring_push(&l->inbound, frame, 0) == ACTR_OK)
    return true;
  if (joined)
    atomic_fetch_sub_explicit(&l->joined_bytes, joined, memory_order_release);
  return false;
}

/* queue_frame: into the ring for recv; false (refused) when it is full. */
static bool queue_frame(dc_lane_t *l, actr_msg_t *frame) {
  if (ring_take(l, frame))
    return true;
  if (actr__ring_is_closed(&l->inbound)) {
    actr_msg_free(frame); /* nobody will read it: the lane is closed */
    return true;
  }
  if (atomic_load_explicit(&l->reading, memory_order_acquire) == READ_UNREAD)
    return drop_unread(l, frame);
  atomic_store_explicit(&l->refused, true, memory_order_release);
  atomic_thread_fence(memory_order_seq_cst); /* see after_pop */
  /* Made unread meanwhile (actr__dc_lane_mark_unread found nothing refused
   * yet, so it resumes nobody): drop it after all, never wait for a reader. */
  if (atomic_load_explicit(&l->reading, memory_order_acquire) == READ_UNREAD &&
      atomic_exchange(&l->refused, false))
    return drop_unread(l, frame);
  /* The receiver may have emptied the ring between our push and the flag:
   * check again so the port is not left waiting for a resume. */
  if (drained(l) && atomic_exchange(&l->refused, false)) {
    if (ring_take(l, frame))
      return true;
    atomic_store(&l->refused, true); /* filled up again meanwhile: refused after all */
  }
  return false;
}

void actr__dc_lane_claim(actr_lane_t *lane) {
  atomic_store_explicit(&to_dc(lane)->reading, READ_CLAIMED, memory_order_release);
}

void actr__dc_lane_mark_unread(actr_lane_t *lane) {
  dc_lane_t *l = to_dc(lane);
  int unasked = READ_UNASKED;
  /* Its ring may be full already, with a frame refused and the port (the
   * whole association) waiting for a resume that no reader of this lane
   * will ever give: resume now, and that frame is dropped as unread. */
  if (atomic_compare_exchange_strong(&l->reading, &unasked, READ_UNREAD) &&
      atomic_exchange(&l->refused, false))
    l->ops->resume(l->port);
}

void *actr__dc_lane_port(actr_lane_t *lane) { return to_dc(lane)->port; }

void actr_lane_dc_port_drained(actr_lane_t *lane) {
  dc_lane_t *l = to_dc(lane);
  pthread_mutex_lock(&l->mu);
  pthread_cond_broadcast(&l->cond);
  pthread_mutex_unlock(&l->mu);
  if (atomic_load(&l->want_writable))
    post_writable(l);
}

void actr_lane_dc_config_init(actr_lane_dc_config_t *cfg) {
  if (cfg)
    memset(cfg, 0, sizeof *cfg);
}

int actr_lane_dc_new(actr_payload_type_t type, const actr_lane_dc_port_ops_t *ops, void *port,
                     actr_lane_dc_state_t state, const actr_lane_dc_config_t *cfg,
                     actr_lane_t **out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (!ops || !ops->send || !ops->buffered_amount || !ops->resume || !ops->close ||
      !ops->release)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "port ops: send, buffered_amount, resume, close "
                      "and release are mandatory");
  int push = (ops->call != NULL) + (ops->on_delivery_thread != NULL) + (ops->buffer_limit != NULL);
  if (push != 0 && push != 3)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "port ops: call, on_delivery_thread and "
                      "buffer_limit go together");
  if (!actr_payload_type_is_valid((int)type) || state < ACTR_LANE_DC_CONNECTING ||
      state > ACTR_LANE_DC_CLOSED)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "invalid payload type %d or state %d", (int)type,
                      (int)state);
  actr_payload_type_qos_t qos;
  int rc = actr_payload_type_qos(type, &qos); /* MEDIA_RTP: NOT_IMPLEMENTED */
  if (rc != ACTR_OK)
    return rc;
  dc_lane_t *l = aligned_alloc(64, (sizeof *l + 63) & ~(size_t)63);
  if (!l)
    return actr__fail(ACTR_ENO_MEMORY, "DataChannel lane");
  memset(l, 0, sizeof *l);
  if (cfg)
    l->cfg = *cfg;
  l->cfg.inbound_frames = ACTR__OR_DEFAULT(l->cfg.inbound_frames, 64);
  l->joined_limit = (size_t)l->cfg.inbound_frames * ACTR__DC_MAX_MESSAGE;
  l->cfg.send_high_water_bytes = ACTR__OR_DEFAULT(l->cfg.send_high_water_bytes, 1u << 20);
  l->cfg.open_timeout_ms = ACTR__OR_DEFAULT(l->cfg.open_timeout_ms, 10000);
  actr_reassembly_config_t defaults;
  actr_reassembly_config_default(type, &defaults);
  actr_reassembly_config_t *r = &l->cfg.reassembly;
  r->max_pending_bytes = ACTR__OR_DEFAULT(r->max_pending_bytes, defaults.max_pending_bytes);
  r->max_pending_messages = ACTR__OR_DEFAULT(r->max_pending_messages, defaults.max_pending_messages);
  r->ttl_ms = ACTR__OR_DEFAULT(r->ttl_ms, defaults.ttl_ms);
  if ((rc = actr__ring_init(&l->inbound, l->cfg.inbound_frames)) != ACTR_OK) {
    free(l);
    return rc;
  }
  if ((rc = actr__reassembly_new(&l->cfg.reassembly, &l->reasm)) != ACTR_OK) {
    actr__ring_destroy(&l->inbound);
    free(l);
    return rc;
  }
  actr__cond_init_monotonic(&l->cond);
  pthread_mutex_init(&l->mu, NULL);
  pthread_mutex_init(&l->rx_mu, NULL);
  l->ops = ops;
  l->port = port;
  atomic_init(&l->state, (int)state);
  atomic_init(&l->reading, READ_UNASKED);
  l->windowed = qos.max_retransmits < 0; /* reliable: nothing may be evicted */
  actr__lane_init(&l->base, &dc_lane_ops, type);
  *out = &l->base;
  return ACTR_OK;
}
