/* ws_user.c — the user's side of a connection: taking messages from the
 * per-type queues, asking the I/O thread to resume reading once a queue
 * has drained to half, and the public connection calls (close, handles,
 * headers, stats).  Every function here may run on any thread. */
#include <string.h>

#include "bounds.h"
#include "clock.h"
#include "error_internal.h"
#include "runtime_internal.h"
#include "ws_internal.h"


static void pop_locked(actr_ws_conn_t *c, int type, ws_slot_t *out, bool *resume) {
  ws_queue_t *q = &c->q[type];
  ws_slot_t *s = &q->slot[q->head];
  actr_msg_t *m = s->msg;
  *out = *s;
  s->msg = NULL;
  q->head = (q->head + 1) % q->cap;
  q->count--;
  q->bytes -= s->held;
  c->rx_bytes -= s->held;
  q->msgs_received++;
  q->bytes_received += actr_msg_len(m);
  /* Resume reading once the queue that stopped it is down to half. */
  if (c->rx_paused && !c->resume_pending && type == c->pending_type &&
      actr__half_empty(q->count, c->cfg.inbound_queue_messages) &&
      actr__half_empty(q->bytes, c->cfg.inbound_queue_bytes)) {
    c->resume_pending = true;
    *resume = true;
  }
}

/* taken: the message of a popped slot. */
static actr_msg_t *taken(ws_slot_t *s) { return s->msg; }

/* actr__ws_conn_post_resume: resume reading from a fresh dispatch of the
 * I/O thread (never inline: the caller may be inside the reading code -- a
 * handler, or a receiver lending the loop -- which must not be entered
 * again). */
static gboolean post_resume_cb(gpointer p) {
  actr__ws_conn_resume_on_io(p); /* releases the reference */
  return G_SOURCE_REMOVE;
}

void actr__ws_conn_post_resume(actr_ws_conn_t *c) {
  actr__ws_conn_ref_internal(c);
  GSource *s = g_idle_source_new();
  g_source_set_priority(s, G_PRIORITY_DEFAULT); /* as sockets: not starved by them */
  g_source_set_callback(s, post_resume_cb, c, NULL);
  g_source_attach(s, c->ctx);
  g_source_unref(s);
}

/* closed_error: ACTR_EWEBSOCKET_CLOSED with why the connection ended. */
int actr__ws_conn_closed_error(actr_ws_conn_t *c) {
  char why[sizeof c->closed_why];
  g_mutex_lock(&c->rx_mu);
  g_strlcpy(why, c->rx_closed ? c->closed_why : "closing", sizeof why);
  g_mutex_unlock(&c->rx_mu);
  return actr__fail(ACTR_EWEBSOCKET_CLOSED, "WebSocket connection closed (%s)", why);
}

typedef struct lend_wait {
  actr_ws_conn_t *c;
  ws_queue_t *q;
  const atomic_bool *lane_closed;
} lend_wait_t;

/* lend_ready: checked by the lent loop after each iteration. */
static bool lend_ready(void *data) {
  lend_wait_t *w = data;
  g_mutex_lock(&w->c->rx_mu);
  bool ready = w->q->count || w->c->rx_closed || (w->lane_closed && atomic_load(w->lane_closed));
  g_mutex_unlock(&w->c->rx_mu);
  return ready;
}

static bool lend_runtime(void *rt, bool (*done)(void *data), void *data, int timeout_ms) {
  return actr__runtime_lend(rt, done, data, timeout_ms);
}

/* lend_locked: rx_mu held, nothing queued: run the runtime's loop on this
 * thread until something is (actr__wait_lend), so the message wakes this
 * thread directly.  False when the loop could not be lent (the caller waits
 * on the queue's condition then) or the time is up. */
static bool lend_locked(actr_ws_conn_t *c, ws_queue_t *q, const atomic_bool *lane_closed,
                        const actr__wait_t *budget) {
  lend_wait_t w = {c, q, lane_closed};
  g_mutex_unlock(&c->rx_mu);
  bool lent = actr__wait_lend(budget, lend_runtime, c->rt, lend_ready, &w) > 0;
  g_mutex_lock(&c->rx_mu);
  return lent;
}

int actr__ws_conn_recv_type(actr_ws_conn_t *c, int type, int timeout_ms, actr_msg_t **out,
                            const atomic_bool *lane_closed) {
  actr__wait_t budget = actr__wait_start(timeout_ms);
  bool resume = false;
  ws_slot_t got = {0};
  int rc;
  g_mutex_lock(&c->rx_mu);
  ws_queue_t *q = &c->q[type];
  for (;;) {
    if (q->handler) {
      rc = ACTR_EINVALID_OPERATION; /* push delivery: messages go to the handler */
      break;
    }
    if (q->count) {
      pop_locked(c, type, &got, &resume);
      rc = ACTR_OK;
      break;
    }
    if (c->rx_closed || (lane_closed && atomic_load(lane_closed))) {
      rc = ACTR_EWEBSOCKET_CLOSED;
      break;
    }
    if (timeout_ms == 0) {
      rc = ACTR_EWOULD_BLOCK;
      break;
    }
    if (lend_locked(c, q, lane_closed, &budget))
      continue; /* look again */
    /* Not lent, but rx_mu may have been let go meanwhile (lend_locked): a
     * message queued then found no waiter to wake (q->waiters was 0), so
     * look again before waiting, or it would wait for the next one. */
    if (q->count || c->rx_closed || (lane_closed && atomic_load(lane_closed)))
      continue;
    bool timed_out = !ws_cond_wait(&q->cond, &c->rx_mu, &q->waiters, &budget);
    if (timed_out && !q->count && !c->rx_closed) {
      rc = ACTR_ETIMEOUT;
      break;
    }
  }
  g_mutex_unlock(&c->rx_mu);
  if (resume)
    actr__ws_conn_post_resume(c);
  switch (rc) {
  case ACTR_OK:
    *out = taken(&got);
    return ACTR_OK;
  case ACTR_EWEBSOCKET_CLOSED:
    return actr__ws_conn_closed_error(c);
  case ACTR_EWOULD_BLOCK:
    return actr__fail(rc, "no message queued");
  case ACTR_EINVALID_OPERATION:
    return actr__fail(rc, "a handler takes this lane's messages (actr_lane_set_handler)");
  default:
    return actr__fail(rc, "no message within %d ms", timeout_ms);
  }
}


/* drain_to_handler (I/O thread): what @type's queue holds goes to its
 * handler, in order, while one is set and not paused. */
static void drain_to_handler(actr_ws_conn_t *c, int type) {
  ws_queue_t *q = &c->q[type];
  bool resume = false;
  g_mutex_lock(&c->rx_mu);
  actr_lane_handler_fn fn;
  while ((fn = q->handler) && !q->handler_paused && q->count) {
    actr_lane_t *lane = q->handler_lane;
    void *user = q->handler_user;
    ws_slot_t got;
    pop_locked(c, type, &got, &resume);
    g_mutex_unlock(&c->rx_mu);
    fn(lane, taken(&got), user);
    g_mutex_lock(&c->rx_mu);
  }
  g_mutex_unlock(&c->rx_mu);
  if (resume) {
    g_mutex_lock(&c->rx_mu);
    c->resume_pending = false;
    g_mutex_unlock(&c->rx_mu);
    actr__ws_conn_post_resume(c);
  }
}

typedef struct drain_job {
  actr_ws_conn_t *c;
  int type;
} drain_job_t;

static void drain_posted(void *p) {
  drain_job_t *j = p;
  drain_to_handler(j->c, j->type);
  actr__ws_conn_unref_internal(j->c);
  g_free(j);
}

void actr__ws_conn_set_paused_on_io(actr_ws_conn_t *c, int type, bool paused) {
  ws_queue_t *q = &c->q[type];
  g_mutex_lock(&c->rx_mu);
  bool resumed = q->handler_paused && !paused;
  q->handler_paused = paused;
  bool queued = q->handler && q->count;
  g_mutex_unlock(&c->rx_mu);
  if (resumed && queued) { /* from a dispatch of its own: never inside the caller */
    drain_job_t *j = g_new(drain_job_t, 1);
    j->c = c;
    j->type = type;
    actr__ws_conn_ref_internal(c);
    actr_runtime_post(c->rt, drain_posted, j);
  }
}

void actr__ws_conn_set_handler_on_io(actr_ws_conn_t *c, int type, actr_lane_t *lane,
                                     actr_lane_handler_fn fn, void *user) {
  ws_queue_t *q = &c->q[type];
  g_mutex_lock(&c->rx_mu);
  actr_lane_t *old = q->handler_lane;
  bool open = !c->rx_closed;
  q->handler = open ? fn : NULL;
  q->handler_user = user;
  q->handler_lane = open && fn ? actr_lane_ref(lane) : NULL;
  q->claimed = true;
  c->any_claimed = true;
  g_cond_broadcast(&q->cond); /* a waiting recv sees the handler */
  g_mutex_unlock(&c->rx_mu);
  drain_to_handler(c, type); /* what was queued goes first, in order, on this thread */
  actr_lane_unref(old);
}

typedef struct cbs_change {
  actr_ws_conn_t *conn;
  actr_ws_conn_callbacks_t cbs;
  void *user;
} cbs_change_t;

static int set_callbacks_on_io(void *p) {
  cbs_change_t *ch = p;
  actr_ws_conn_t *c = ch->conn;
  c->cbs = ch->cbs;
  c->cbs_user = ch->user;
  if (atomic_load(&c->state) == WS_CLOSED && c->cbs.on_closed)
    c->cbs.on_closed(c, c->cbs_user); /* closed already: said at once */
  return ACTR_OK;
}

int actr_ws_conn_set_callbacks(actr_ws_conn_t *c, const actr_ws_conn_callbacks_t *cbs, void *user) {
  if (!c)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "conn is NULL");
  if (c->raw)
    return actr__fail(ACTR_EINVALID_OPERATION, "message-mode connection: its ops say all");
  cbs_change_t ch = {c, {0}, user};
  if (cbs)
    ch.cbs = *cbs;
  return actr_runtime_call(c->rt, set_callbacks_on_io, &ch);
}

static int pause_on_io(void *p) {
  actr_ws_conn_t *c = p;
  c->user_paused = true;
  return ACTR_OK;
}

static int resume_on_io(void *p) {
  actr_ws_conn_t *c = p;
  if (c->user_paused) {
    c->user_paused = false;
    if (c->paused)
      actr__ws_conn_post_resume(c);
  }
  return ACTR_OK;
}

int actr_ws_conn_pause(actr_ws_conn_t *c) {
  if (!c)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "conn is NULL");
  return actr_runtime_call(c->rt, pause_on_io, c);
}

int actr_ws_conn_resume(actr_ws_conn_t *c) {
  if (!c)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "conn is NULL");
  return actr_runtime_call(c->rt, resume_on_io, c);
}

int actr_ws_conn_recv(actr_ws_conn_t *c, int timeout_ms, actr_payload_type_t *type,
                      actr_msg_t **out) {
  if (!c || !type || !out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "NULL argument");
  *out = NULL;
  actr__wait_t budget = actr__wait_start(timeout_ms);
  bool resume = false;
  ws_slot_t got = {0};
  int rc;
  g_mutex_lock(&c->rx_mu);
  c->all_claimed = true; /* this caller reads every type */
  for (;;) {
    int found = -1;
    for (int i = 0; i < ACTR_PAYLOAD_TYPE_COUNT; i++) {
      int t = (int)((c->any_next + (unsigned)i) % ACTR_PAYLOAD_TYPE_COUNT);
      if (c->q[t].count) {
        found = t;
        break;
      }
    }
    if (found >= 0) {
      c->any_next = (unsigned)found + 1;
      pop_locked(c, found, &got, &resume);
      *type = (actr_payload_type_t)found;
      rc = ACTR_OK;
      break;
    }
    if (c->rx_closed) {
      rc = ACTR_EWEBSOCKET_CLOSED;
      break;
    }
    if (timeout_ms == 0) {
      rc = ACTR_EWOULD_BLOCK;
      break;
    }
    bool timed_out = !ws_cond_wait(&c->any_cond, &c->rx_mu, &c->any_waiters, &budget);
    if (timed_out) {
      bool any = false;
      for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
        any = any || c->q[t].count;
      if (!any && !c->rx_closed) {
        rc = ACTR_ETIMEOUT;
        break;
      }
    }
  }
  g_mutex_unlock(&c->rx_mu);
  if (resume)
    actr__ws_conn_post_resume(c);
  if (rc == ACTR_OK) {
    *out = taken(&got);
    return ACTR_OK;
  }
  if (rc == ACTR_EWEBSOCKET_CLOSED)
    return actr__ws_conn_closed_error(c);
  return actr__fail(rc, rc == ACTR_EWOULD_BLOCK ? "no message queued" : "no message in time");
}

void actr__ws_conn_wake_all(actr_ws_conn_t *c) {
  g_mutex_lock(&c->rx_mu);
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    g_cond_broadcast(&c->q[t].cond);
  g_mutex_unlock(&c->rx_mu);
  g_main_context_wakeup(actr__runtime_context(c->rt)); /* a receiver running the loop */
  g_mutex_lock(&c->tx_mu);
  g_cond_broadcast(&c->tx_cond);
  g_mutex_unlock(&c->tx_mu);
}

/* ---- public connection API ---- */

typedef struct close_req {
  actr_ws_conn_t *conn;
  uint16_t code;
  char reason[124];
} close_req_t;

static void close_with_on_io(void *p) {
  close_req_t *r = p;
  actr_ws_conn_t *c = r->conn;
  int st = atomic_load(&c->state);
  if (st == WS_OPEN)
    actr__ws_conn_start_close(c, r->code, r->reason, false);
  else if (st == WS_CONNECTING)
    actr__ws_conn_teardown(c, ACTR_EWEBSOCKET_CLOSED, "closed before the handshake finished");
  g_free(r);
  actr__ws_conn_unref_internal(c);
}

void actr_ws_conn_close_with(actr_ws_conn_t *c, uint16_t code, const char *reason) {
  if (!c)
    return;
  /* Senders stop now, not when the I/O thread gets to it; what they had
   * queued is still written before the close frame. */
  g_mutex_lock(&c->tx_mu);
  c->tx_closed = true;
  g_cond_broadcast(&c->tx_cond);
  g_mutex_unlock(&c->tx_mu);
  close_req_t *r = g_new0(close_req_t, 1);
  r->conn = c;
  r->code = code;
  g_strlcpy(r->reason, reason ? reason : "", sizeof r->reason);
  /* 123 bytes at most (§5.5: 125 with the code), cut on a UTF-8 boundary. */
  size_t n = strlen(r->reason);
  if (n > 123) {
    const char *end = g_utf8_find_prev_char(r->reason, r->reason + 124);
    r->reason[end ? end - r->reason : 0] = 0;
  }
  actr__ws_conn_ref_internal(c);
  actr_runtime_invoke(c->rt, close_with_on_io, r);
}

void actr_ws_conn_close(actr_ws_conn_t *c) { actr_ws_conn_close_with(c, ACTR__WS_CLOSE_NORMAL, ""); }

actr_ws_conn_t *actr_ws_conn_ref(actr_ws_conn_t *c) {
  if (c)
    actr__ws_conn_add_handle(c);
  return c;
}

void actr_ws_conn_unref(actr_ws_conn_t *c) {
  if (c)
    actr__ws_conn_release_handle(c);
}

const char *actr_ws_conn_source_id(const actr_ws_conn_t *c) { return c ? c->source_id : NULL; }
const char *actr_ws_conn_credential(const actr_ws_conn_t *c) { return c ? c->credential : NULL; }
const char *actr_ws_conn_path(const actr_ws_conn_t *c) { return c && c->path ? c->path : "/"; }

bool actr_ws_conn_is_open(const actr_ws_conn_t *c) {
  return c && atomic_load(&((actr_ws_conn_t *)c)->state) == WS_OPEN;
}

int actr_ws_conn_stats(const actr_ws_conn_t *cc, actr_ws_conn_stats_t *out) {
  if (!cc || !out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "NULL argument");
  actr_ws_conn_t *c = (actr_ws_conn_t *)cc;
  memset(out, 0, sizeof *out);
  g_mutex_lock(&c->tx_mu);
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++) {
    out->msgs_sent += c->q[t].msgs_sent;
    out->bytes_sent += c->q[t].bytes_sent;
  }
  out->outbound_queued_bytes = c->tx_bytes;
  out->outbound_queued_bytes_peak = c->tx_bytes_peak;
  g_mutex_unlock(&c->tx_mu);
  g_mutex_lock(&c->rx_mu);
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++) {
    out->msgs_received += c->q[t].msgs_received;
    out->bytes_received += c->q[t].bytes_received;
    out->dropped_unread += c->q[t].dropped_unread;
  }
  out->inbound_queued_bytes = c->rx_bytes;
  out->inbound_queued_bytes_peak = c->rx_bytes_peak;
  out->read_pauses = c->read_pauses;
  g_mutex_unlock(&c->rx_mu);
  out->dropped_invalid = atomic_load(&c->dropped_invalid);
  out->pings_sent = atomic_load(&c->pings_sent);
  out->pongs_received = atomic_load(&c->pongs_received);
  return ACTR_OK;
}
