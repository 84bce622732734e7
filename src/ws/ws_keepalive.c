/* ws_keepalive.c — a WebSocket connection's keepalive: a ping every
 * interval, a peer that answers nothing within one taken as gone, and the
 * kernel's TCP_INFO for a peer that cannot answer (our reading paused, its
 * window closed). */
#include "ws_conn_io.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "error_internal.h"

static gboolean ping_timer(actr_ws_conn_t *c);
static void on_ping_timer(void *p) {
  ws_enter(p);
  ping_timer(p); /* a teardown in it drops ping_w */
  ws_leave(p);
}

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
  gint64 p_us = (gint64)c->cfg.ping_interval_ms * 1000;
  /* Bytes read from the peer within the interval came in segments that
   * carried its kernel's ACKs: check_tcp would find it not silent.  So
   * only a connection that read nothing for an interval asks TCP_INFO
   * (10,000 idle connections answering pings: no getsockopt per tick). */
  if (now - c->last_rx_us < p_us)
    c->tcp_lost = false;
  else if (!check_tcp(c))
    return G_SOURCE_REMOVE;
  /* The timer ticks every half interval (so that a gone peer is found
   * within two intervals), on a grid shared by every connection of the
   * process (hub.h, actr__watch_every_aligned: its step is the power of
   * two microseconds nearest to half the interval, 2.1 s for 4 s), so that
   * all of them ping together; two ticks after a ping are "a whole
   * interval" (the sixteenth below is left for a tick fired a little
   * early or late). */
  bool interval_passed = now - c->ping_sent_us >= p_us - p_us / 16;
  if (c->ping_outstanding) {
    if (c->last_rx_us > c->ping_sent_us) {
      c->ping_outstanding = false;
    } else if (interval_passed && !c->paused && !actr__ws_conn_out_waiting(c)) {
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
    if (actr__ws_conn_queue_ping(c))
      atomic_fetch_add(&c->pings_sent, 1);
    c->ping_outstanding = true;
    c->ping_sent_us = now;
    actr__ws_conn_flush(c);
  }
  return G_SOURCE_CONTINUE;
}


void actr__ws_conn_keepalive_start(actr_ws_conn_t *c) {
  if (c->cfg.ping_interval_ms > 0) {
    /* On the grid every connection's ticks share (hub.h): one wake-up
     * pings them all, not one per grid point where some are due. */
    c->ping_w = actr__watch_every_aligned(actr__runtime_hub(c->rt),
                                          (unsigned)MAX(c->cfg.ping_interval_ms / 2, 1),
                                          on_ping_timer, c);
  }
}
