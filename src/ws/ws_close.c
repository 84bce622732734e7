/* ws_close.c — a WebSocket connection's end: the close handshake (RFC 6455
 * §5.5.1, §7), its timer, a close frame from the peer, and the teardown that
 * releases every I/O resource and wakes every waiter. */
#include "ws_conn_io.h"

#include <stdio.h>
#include <string.h>

#include "error_internal.h"

static gboolean on_timer(gpointer p) {
  actr_ws_conn_t *c = p;
  ws_enter(c);
  actr__ws_drop_source(&c->timer_src);
  actr__ws_conn_teardown(c, c->timer_code, c->timer_why);
  ws_leave(c);
  return G_SOURCE_REMOVE;
}

void actr__ws_conn_arm_timer(actr_ws_conn_t *c, int ms, int code, const char *why) {
  actr__ws_drop_source(&c->timer_src);
  c->timer_code = code;
  c->timer_why = why;
  c->timer_src = g_timeout_source_new((guint)ms);
  g_source_set_callback(c->timer_src, on_timer, c, NULL);
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
  actr__ws_conn_arm_timer(c, c->cfg.close_timeout_ms, ACTR_EWEBSOCKET_CLOSED,
                            "close handshake timed out");
  if (fail) {
    c->fail_after_close = true;
    actr__ws_conn_drop_unsent_data(c);
    actr__ws_conn_unwatch_input(c);
    c->flush_then_close = true; /* queues the close frame once drained */
  } else {
    c->flush_then_close = true;
  }
  actr__ws_conn_flush(c);
}

void actr__ws_conn_fail(actr_ws_conn_t *c, uint16_t code, const char *why) {
  ACTR__LOG_PEER(ACTR_LOG_WARN, "WebSocket %s: closing with %u: %s", c->path ? c->path : "", code, why);
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
  c->direct_fd = -1; /* no sender writes to the socket closed below */
  g_mutex_unlock(&c->tx_mu);
  actr__ws_conn_unwatch_input(c);
  actr__ws_conn_unwatch_output(c);
  actr__watch_drop(&c->kick_w);
  actr__watch_drop(&c->ping_w);
  actr__ws_drop_source(&c->timer_src);
  if (c->cancel)
    g_cancellable_cancel(c->cancel);
  g_clear_object(&c->cancel);
  if (c->sock) {
    g_socket_shutdown(c->sock, TRUE, TRUE, NULL);
    g_socket_close(c->sock, NULL);
  }
  g_clear_object(&c->stream);
  g_clear_object(&c->sock);
  actr__ws_frame_list_free(c->io_head);
  actr__ws_frame_list_free(c->ctl_head);
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
  actr__ws_frame_list_free(rest);
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
  /* A server's connection is handshaking until it is handed over (c->server
   * is cleared then), even once open_stream has made it OPEN: torn down
   * before, it ends as a failed handshake; nobody has seen it open. */
  if (prev == WS_CONNECTING || c->server) {
    g_mutex_lock(&c->done_mu);
    bool ended_now = !c->handshake_done;
    if (ended_now) {
      c->handshake_done = true;
      c->fail_code = code;
      c->fail_detail = g_strdup(why);
    }
    g_mutex_unlock(&c->done_mu);
    if (c->server)
      actr__ws_server_handshake_done(c->server, c, false);
    else if (ended_now)
      actr__ws_conn_dial_report(c);
  } else if (c->raw && c->raw_ops->on_close) {
    c->raw_ops->on_close(c, c->close_received ? c->peer_close_code : ACTR__WS_CLOSE_ABNORMAL,
                         c->close_received ? c->peer_close_reason : "", c->raw_user);
  }
  actr__log(ACTR_LOG_DEBUG, "WebSocket %s closed: %s", c->path ? c->path : "", why ? why : "");
  /* Handlers end with the connection; their lanes are let go below, last. */
  actr_lane_t *held[2 * ACTR_PAYLOAD_TYPE_COUNT];
  g_mutex_lock(&c->rx_mu);
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++) {
    held[t] = c->q[t].handler_lane;
    c->q[t].handler = NULL;
    c->q[t].handler_lane = NULL;
    held[ACTR_PAYLOAD_TYPE_COUNT + t] = c->q[t].writable_lane;
    c->q[t].writable = NULL;
    c->q[t].writable_lane = NULL;
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
  for (int t = 0; t < 2 * ACTR_PAYLOAD_TYPE_COUNT; t++)
    actr_lane_unref(held[t]); /* may be the last handle: @c is not touched after */
}

static bool close_code_valid(unsigned code) {
  /* RFC 6455 §7.4: codes a peer may put on the wire. */
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

bool actr__ws_conn_on_close_frame(actr_ws_conn_t *c, const actr__ws_event_t *ev) {
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
  if (bad) {
    /* What the user is told is what we answer: a code no peer may send
     * (1005, 1006, 0...) or a reason that is not UTF-8 never reaches
     * on_close or closed_why. */
    code = ACTR__WS_CLOSE_PROTOCOL;
    g_strlcpy(c->peer_close_reason, bad, sizeof c->peer_close_reason);
  }
  c->peer_close_code = code;
  c->close_received = true;
  actr__ws_conn_unwatch_input(c); /* nothing may follow a close frame */
  if (atomic_load(&c->state) == WS_OPEN) {
    /* §5.5.1: answer with a close frame (echoing the code) as soon as
     * practical; data not yet sent is dropped. */
    atomic_store(&c->state, WS_CLOSING);
    actr__ws_conn_drop_unsent_data(c);
    c->close_code = bad ? ACTR__WS_CLOSE_PROTOCOL
                        : code == ACTR__WS_CLOSE_NO_STATUS ? ACTR__WS_CLOSE_NORMAL : code;
    g_strlcpy(c->close_reason, bad ? bad : "", sizeof c->close_reason);
    c->flush_then_close = true;
    actr__ws_conn_arm_timer(c, c->cfg.close_timeout_ms, ACTR_EWEBSOCKET_CLOSED,
                            "close handshake timed out");
  }
  actr__ws_conn_flush(c);
  return false;
}

