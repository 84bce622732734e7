/* ws_lane.c — the WebSocket lane kind (the reference's WebSocketDataLane):
 * a thin handle on one payload type of a connection.  The queue of each type
 * belongs to the connection (it exists before any lane is asked for, SPEC
 * §3.2), so a lane can be dropped and made again without losing messages. */
#include <stdlib.h>

#include "bounds.h"
#include "error_internal.h"
#include "lane_ops.h"
#include "ws_internal.h"

typedef struct ws_lane {
  actr_lane_t base; /* first: the generic code sees only this */
  actr_ws_conn_t *conn; /* holds a handle */
  atomic_bool closed;
} ws_lane_t;

static ws_lane_t *to_ws(const actr_lane_t *lane) { return (ws_lane_t *)lane; }

static void writable_check_posted(void *p);

static int ws_lane_send(actr_lane_t *lane, const void *data, size_t len, int timeout_ms) {
  ws_lane_t *l = to_ws(lane);
  actr_ws_conn_t *c = l->conn;
  int t = (int)lane->payload_type;
  int rc = actr__ws_conn_send(c, t, data, len, timeout_ms, &l->closed);
  if (rc == ACTR_EWOULD_BLOCK) {
    /* The queue may have drained to half between the refusal and now
     * (a try_send from another thread): look again from the I/O thread,
     * one look on its way at a time however many sends are refused. */
    g_mutex_lock(&c->tx_mu);
    c->q[t].want_writable = true;
    bool post = actr__half_empty(c->tx_bytes, c->cfg.outbound_queue_bytes) &&
                !c->writable_check_posted && !g_main_context_is_owner(c->ctx);
    if (post)
      c->writable_check_posted = true;
    g_mutex_unlock(&c->tx_mu);
    if (post) {
      actr__ws_conn_ref_internal(c);
      actr_runtime_post(c->rt, writable_check_posted, c);
    }
  }
  return rc;
}

/* tell_lanes (I/O thread): call the writable handler of each type a send
 * was refused for; @known_half: the queue is known to be at half or below,
 * else it is looked at under tx_mu. */
static void tell_lanes(actr_ws_conn_t *c, bool known_half) {
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++) {
    ws_queue_t *q = &c->q[t];
    g_mutex_lock(&c->tx_mu);
    bool want = q->want_writable && q->writable &&
                (known_half || actr__half_empty(c->tx_bytes, c->cfg.outbound_queue_bytes));
    if (want)
      q->want_writable = false;
    g_mutex_unlock(&c->tx_mu);
    if (want)
      q->writable(q->writable_lane, q->writable_user);
  }
}

void actr__ws_conn_tell_writable(actr_ws_conn_t *c) {
  if (c->cbs.on_writable)
    c->cbs.on_writable(c, c->cbs_user);
  tell_lanes(c, true);
}

/* writable_check_posted (I/O thread): tell the refused types whose queue
 * room came back before they were marked. */
static void writable_check_posted(void *p) {
  actr_ws_conn_t *c = p;
  g_mutex_lock(&c->tx_mu);
  c->writable_check_posted = false;
  g_mutex_unlock(&c->tx_mu);
  tell_lanes(c, false);
  actr__ws_conn_unref_internal(c);
}

static int ws_lane_recv(actr_lane_t *lane, int timeout_ms, actr_msg_t **out) {
  ws_lane_t *l = to_ws(lane);
  return actr__ws_conn_recv_type(l->conn, (int)lane->payload_type, timeout_ms, out, &l->closed);
}

typedef struct handler_change {
  actr_lane_t *lane;
  actr_lane_handler_fn fn;
  void *user;
} handler_change_t;

static int set_handler_on_io(void *p) {
  handler_change_t *h = p;
  ws_lane_t *l = to_ws(h->lane);
  actr__ws_conn_set_handler_on_io(l->conn, (int)h->lane->payload_type, h->lane, h->fn, h->user);
  return ACTR_OK;
}

/* The type's handler lives in the connection (like its queue), set on the
 * I/O thread, which is where it runs. */
static int ws_lane_set_handler(actr_lane_t *lane, actr_lane_handler_fn fn, void *user) {
  handler_change_t h = {lane, fn, user};
  return actr_runtime_call(to_ws(lane)->conn->rt, set_handler_on_io, &h);
}

typedef struct lane_change {
  actr_lane_t *lane;
  bool paused;
  actr_lane_writable_fn fn;
  void *user;
} lane_change_t;

static int set_paused_on_io(void *p) {
  lane_change_t *ch = p;
  actr__ws_conn_set_paused_on_io(to_ws(ch->lane)->conn, (int)ch->lane->payload_type, ch->paused);
  return ACTR_OK;
}

static int ws_lane_set_paused(actr_lane_t *lane, bool paused) {
  lane_change_t ch = {lane, paused, NULL, NULL};
  return actr_runtime_call(to_ws(lane)->conn->rt, set_paused_on_io, &ch);
}

static int set_writable_on_io(void *p) {
  lane_change_t *ch = p;
  actr_ws_conn_t *c = to_ws(ch->lane)->conn;
  ws_queue_t *q = &c->q[ch->lane->payload_type];
  g_mutex_lock(&c->rx_mu);
  actr_lane_t *old = q->writable_lane;
  bool open = !c->rx_closed; /* after the teardown nothing would let it go */
  q->writable = open ? ch->fn : NULL;
  q->writable_user = ch->user;
  q->writable_lane = open && ch->fn ? actr_lane_ref(ch->lane) : NULL;
  g_mutex_unlock(&c->rx_mu);
  actr_lane_unref(old);
  return ACTR_OK;
}

/* Like the handler, the writable handler lives in the connection, set on
 * the I/O thread, where it runs; the lane is held while it is set. */
static int ws_lane_set_writable(actr_lane_t *lane, actr_lane_writable_fn fn, void *user) {
  lane_change_t ch = {lane, false, fn, user};
  return actr_runtime_call(to_ws(lane)->conn->rt, set_writable_on_io, &ch);
}

static bool ws_lane_is_healthy(const actr_lane_t *lane) {
  ws_lane_t *l = to_ws(lane);
  return !atomic_load(&l->closed) && actr_ws_conn_is_open(l->conn);
}

static void ws_lane_stats(const actr_lane_t *lane, actr_lane_stats_t *out) {
  actr_ws_conn_t *c = to_ws(lane)->conn;
  int t = (int)lane->payload_type;
  g_mutex_lock(&c->tx_mu);
  out->msgs_sent = c->q[t].msgs_sent;
  out->bytes_sent = c->q[t].bytes_sent;
  g_mutex_unlock(&c->tx_mu);
  g_mutex_lock(&c->rx_mu);
  out->msgs_received = c->q[t].msgs_received;
  out->bytes_received = c->q[t].bytes_received;
  out->dropped_unread = c->q[t].dropped_unread;
  g_mutex_unlock(&c->rx_mu);
  out->dropped_invalid = atomic_load(&c->dropped_invalid);
}

static void ws_lane_close(actr_lane_t *lane) {
  ws_lane_t *l = to_ws(lane);
  if (!atomic_exchange(&l->closed, true))
    actr__ws_conn_wake_all(l->conn);
}

static void ws_lane_fini(actr_lane_t *lane) {
  ws_lane_t *l = to_ws(lane);
  actr_ws_conn_t *c = l->conn;
  g_mutex_lock(&c->lane_mu);
  if (c->lanes[lane->payload_type] == (struct ws_lane *)l)
    c->lanes[lane->payload_type] = NULL;
  g_mutex_unlock(&c->lane_mu);
  free(l);
  actr__ws_conn_release_handle(c);
}

static const actr__lane_ops_t ws_lane_ops = {
  .lane_type = "WebSocket",
  .send = ws_lane_send,
  .recv = ws_lane_recv,
  .set_handler = ws_lane_set_handler,
  .set_paused = ws_lane_set_paused,
  .set_writable = ws_lane_set_writable,
  .is_healthy = ws_lane_is_healthy,
  .stats = ws_lane_stats,
  .close = ws_lane_close,
  .fini = ws_lane_fini,
};

int actr_ws_conn_lane(actr_ws_conn_t *c, actr_payload_type_t type, actr_lane_t **out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (!c)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "conn is NULL");
  if (!actr_payload_type_is_valid((int)type))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "invalid payload type %d", (int)type);
  if (c->raw)
    return actr__fail(ACTR_EINVALID_OPERATION, "raw WebSocket connection has no lanes");
  g_mutex_lock(&c->lane_mu);
  ws_lane_t *l = (ws_lane_t *)c->lanes[type];
  if (l && !atomic_load(&l->closed)) {
    /* Take a handle unless the last one is being released right now (its
     * fini will find the slot taken by the new lane and leave it). */
    int r = atomic_load(&l->base.refs);
    while (r > 0 && !atomic_compare_exchange_weak(&l->base.refs, &r, r + 1))
      ;
    if (r > 0) {
      g_mutex_unlock(&c->lane_mu);
      *out = &l->base;
      return ACTR_OK;
    }
  }
  l = calloc(1, sizeof *l);
  if (!l) {
    g_mutex_unlock(&c->lane_mu);
    return actr__fail(ACTR_ENO_MEMORY, "WebSocket lane");
  }
  actr__lane_init(&l->base, &ws_lane_ops, type);
  atomic_init(&l->closed, false);
  actr__ws_conn_add_handle(c);
  l->conn = c;
  c->lanes[type] = (struct ws_lane *)l;
  g_mutex_unlock(&c->lane_mu);
  g_mutex_lock(&c->rx_mu);
  c->q[type].claimed = true; /* read from now on: full bounds, pushback */
  c->any_claimed = true;      /* types not asked for are now "unread" */
  /* Reading stopped at the full queue of a type nobody asked for (before
   * any lane was): that type is unread now, so reading goes on (its held
   * message meets the unread bounds) instead of waiting for a read of it
   * that may never come. */
  bool resume = c->rx_paused && !c->resume_pending && c->pending_type >= 0 &&
                !c->q[c->pending_type].claimed;
  if (resume)
    c->resume_pending = true;
  g_mutex_unlock(&c->rx_mu);
  if (resume)
    actr__ws_conn_post_resume(c);
  *out = &l->base;
  return ACTR_OK;
}
