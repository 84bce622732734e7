/* test_faults.c — the lanes through the library under faults (issue 9, point
 * 3), both ends in this process, every packet between them on lo.  Run
 * inside tests/rtc/netns-run.sh by the scripts of this directory, which set
 * up and measure the impairment first.  One mode per run:
 *
 *   loss   — under the impairment set up by the caller (3% loss, 20 ms delay):
 *            every reliable lane (WebSocket; RPC_RELIABLE, RPC_SIGNAL,
 *            STREAM_RELIABLE DataChannel lanes, each on its own connection so
 *            that they do not share one congestion window) delivers every
 *            message of 1 KiB, 64 KiB, 1 MiB and 4 MiB whole, checked, in
 *            order; prints the one-way throughput of each.  STREAM_LATENCY_FIRST
 *            delivers intact messages only, each at most once, and once its
 *            reassembly TTL has passed holds no partial message.
 *   dead   — the link cut (every packet on lo dropped, by iptables from here)
 *            under blocked calls on both sides of a WebSocket connection and
 *            of a WebRTC link with the default settings: a blocked send (its
 *            peer not reading), blocked recvs on both sides; each must return
 *            an error within 20 s (the documented default: 8 s).
 *   stall  — a reader that stops reading: the sender blocks (it makes no
 *            progress any more, for 20 s: longer than the dead-peer time, so
 *            a stalled reader must not be taken for a dead one), the queues
 *            stay within their bounds and the process's resident memory grows
 *            by less than 160 MiB; once the reader reads again every message
 *            arrives intact.
 */
#include <glib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/webrtc_link.h>
#include <actr/websocket.h>

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")

static const char *const loopback[] = {"127.0.0.1"};

static double now_s(void) { return (double)g_get_monotonic_time() / 1e6; }

/* ---- messages: seed in the first 4 bytes, the rest derived from it ---- */

static uint8_t *make_msg(size_t len, uint32_t seed) {
  uint8_t *b = g_malloc(len);
  for (size_t i = 0; i < len; i++)
    b[i] = (uint8_t)((i * 131u + seed * 17u) ^ (i >> 11) ^ (seed >> 2));
  memcpy(b, &seed, sizeof seed);
  return b;
}

/* msg_ok: @m is the message make_msg(len, seed) for the seed it carries;
 * that seed goes to *@seed. */
static bool msg_ok(const actr_msg_t *m, uint32_t *seed) {
  size_t len = actr_msg_len(m);
  const uint8_t *d = actr_msg_data(m);
  if (len < 4)
    return false;
  memcpy(seed, d, sizeof *seed);
  for (size_t i = 4; i < len; i++)
    if (d[i] != (uint8_t)((i * 131u + *seed * 17u) ^ (i >> 11) ^ (*seed >> 2)))
      return false;
  return true;
}

static long rss_kib(void) {
  gchar *s = NULL;
  long kib = -1;
  if (g_file_get_contents("/proc/self/status", &s, NULL, NULL)) {
    const char *p = strstr(s, "VmRSS:");
    if (p)
      kib = strtol(p + 6, NULL, 10);
  }
  g_free(s);
  return kib;
}

static void iptables(const char *args) {
  gchar *cmd = g_strdup_printf("iptables %s", args);
  int st = system(cmd);
  if (st != 0)
    g_error("%s: exit status %d", cmd, st);
  g_free(cmd);
}

/* ---- the two kinds of connection ---- */

typedef struct ws_pair {
  actr_runtime_t *rt;
  actr_ws_server_t *srv;
  GAsyncQueue *accepted;
  actr_ws_conn_t *a, *b; /* a: client, b: the server's side */
} ws_pair_t;

static void on_accept(actr_ws_conn_t *conn, const char *path, void *user) {
  (void)path;
  g_async_queue_push(user, conn);
}

static void ws_pair_open(ws_pair_t *p) {
  memset(p, 0, sizeof *p);
  ASSERT_OK(actr_runtime_new(&p->rt));
  p->accepted = g_async_queue_new();
  ASSERT_OK(actr_ws_server_new(p->rt, "127.0.0.1", 0, NULL, on_accept, p->accepted, &p->srv));
  char url[64];
  g_snprintf(url, sizeof url, "ws://127.0.0.1:%u/lane", actr_ws_server_port(p->srv));
  ASSERT_OK(actr_ws_connect(p->rt, url, NULL, &p->a));
  p->b = g_async_queue_timeout_pop(p->accepted, 20 * G_USEC_PER_SEC);
  g_assert_nonnull(p->b);
}

static void ws_pair_close(ws_pair_t *p) {
  actr_ws_conn_unref(p->a);
  actr_ws_conn_unref(p->b);
  actr_ws_server_free(p->srv);
  g_async_queue_unref(p->accepted);
  actr_runtime_unref(p->rt);
}

typedef struct rtc_pair {
  actr_runtime_t *rt;
  actr_signaling_t *sa, *sb;
  actr_webrtc_link_t *a, *b; /* a offers (opens the channels), b answers */
} rtc_pair_t;

static void rtc_pair_open(rtc_pair_t *p, const actr_webrtc_link_config_t *base) {
  memset(p, 0, sizeof *p);
  ASSERT_OK(actr_runtime_new(&p->rt));
  ASSERT_OK(actr_signaling_pair_new(&p->sa, &p->sb));
  actr_webrtc_link_config_t cfg;
  if (base)
    cfg = *base;
  else
    actr_webrtc_link_config_init(&cfg);
  cfg.webrtc.local_addresses = loopback;
  cfg.webrtc.local_address_count = 1;
  ASSERT_OK(actr_webrtc_link_new(p->rt, &cfg, p->sb, false, &p->b));
  ASSERT_OK(actr_webrtc_link_new(p->rt, &cfg, p->sa, true, &p->a));
  ASSERT_OK(actr_webrtc_link_wait_connected(p->a, 30000));
  ASSERT_OK(actr_webrtc_link_wait_connected(p->b, 30000));
}

static void rtc_pair_close(rtc_pair_t *p) {
  actr_webrtc_link_free(p->a);
  actr_webrtc_link_free(p->b);
  actr_signaling_free(p->sa);
  actr_signaling_free(p->sb);
  actr_runtime_unref(p->rt);
}

/* ---- loss: one-way flows, checked ---- */

static const size_t loss_sizes[] = {1024, 65536, 1048576, 4194304};
#define N_LOSS_SIZES G_N_ELEMENTS(loss_sizes)

typedef struct flow {
  const char *name;
  actr_lane_t *tx, *rx;
  int tx_rc, rx_rc;
  uint32_t received, bad;
  double t0, t1;
  uint64_t bytes;
} flow_t;

static gpointer flow_tx(gpointer p) {
  flow_t *f = p;
  for (uint32_t i = 0; i < N_LOSS_SIZES; i++) {
    uint8_t *m = make_msg(loss_sizes[i], i);
    f->tx_rc = actr_lane_send(f->tx, m, loss_sizes[i]);
    g_free(m);
    if (f->tx_rc != ACTR_OK)
      break;
  }
  return NULL;
}

static gpointer flow_rx(gpointer p) {
  flow_t *f = p;
  for (uint32_t i = 0; i < N_LOSS_SIZES; i++) {
    actr_msg_t *m;
    f->rx_rc = actr_lane_recv(f->rx, 180000, &m);
    if (f->rx_rc != ACTR_OK)
      break;
    if (i == 0)
      f->t0 = now_s(); /* from the first arrival: set-up and slow start aside */
    uint32_t seed;
    if (!msg_ok(m, &seed) || seed != i || actr_msg_len(m) != loss_sizes[i])
      f->bad++;
    else if (i > 0)
      f->bytes += actr_msg_len(m);
    f->received++;
    actr_msg_free(m);
  }
  f->t1 = now_s();
  return NULL;
}

#define BIG_COUNT 48
static gpointer big_tx(gpointer p) {
  flow_t *f = p;
  for (uint32_t i = 0; i < BIG_COUNT; i++) {
    uint8_t *m = make_msg(1u << 20, i);
    f->tx_rc = actr_lane_send(f->tx, m, 1u << 20);
    g_free(m);
    if (f->tx_rc != ACTR_OK)
      break;
  }
  return NULL;
}

/* big_rx: BIG_COUNT messages of 1 MiB; bytes counted after the first. */
static void big_rx(flow_t *f) {
  for (uint32_t i = 0; i < BIG_COUNT; i++) {
    actr_msg_t *m;
    f->rx_rc = actr_lane_recv(f->rx, 120000, &m);
    if (f->rx_rc != ACTR_OK)
      break;
    if (i == 0)
      f->t0 = now_s();
    uint32_t seed;
    if (!msg_ok(m, &seed) || seed != i || actr_msg_len(m) != 1u << 20)
      f->bad++;
    else if (i > 0)
      f->bytes += actr_msg_len(m);
    f->received++;
    actr_msg_free(m);
  }
  f->t1 = now_s();
}

/* latency-first: what arrives is whole and new; no partial state stays.
 * A reader thread takes messages while they are sent (until 10 s pass
 * without one). */
#define LF_COUNT 40
static const size_t lf_sizes[] = {1024, 16384, 70000, 200000};

typedef struct lf_reader {
  actr_lane_t *rx;
  uint8_t seen[LF_COUNT];
  uint32_t got;
  int rc;
  bool ok;
} lf_reader_t;

static gpointer lf_reader_main(gpointer p) {
  lf_reader_t *r = p;
  actr_msg_t *m;
  r->ok = true;
  while (r->got < LF_COUNT && (r->rc = actr_lane_recv(r->rx, 10000, &m)) == ACTR_OK) {
    uint32_t seed;
    /* whole, of the size sent, never twice */
    if (!msg_ok(m, &seed) || seed >= LF_COUNT ||
        actr_msg_len(m) != lf_sizes[seed % G_N_ELEMENTS(lf_sizes)] || r->seen[seed])
      r->ok = false;
    else
      r->seen[seed] = 1;
    actr_msg_free(m);
    r->got++;
  }
  return NULL;
}

static void latency_first(rtc_pair_t *p) {
  actr_lane_t *tx;
  lf_reader_t r = {0};
  ASSERT_OK(actr_webrtc_link_lane(p->a, ACTR_PAYLOAD_STREAM_LATENCY_FIRST, &tx));
  uint8_t *first = make_msg(1024, 0);
  ASSERT_OK(actr_lane_send(tx, first, 1024)); /* opens the channel: b binds its lane */
  g_free(first);
  ASSERT_OK(actr_webrtc_link_lane(p->b, ACTR_PAYLOAD_STREAM_LATENCY_FIRST, &r.rx));
  GThread *t = g_thread_new("lf-reader", lf_reader_main, &r);
  uint64_t sent_bytes = 1024;
  for (uint32_t i = 1; i < LF_COUNT; i++) {
    size_t len = lf_sizes[i % G_N_ELEMENTS(lf_sizes)];
    uint8_t *m = make_msg(len, i);
    ASSERT_OK(actr_lane_send(tx, m, len));
    sent_bytes += len;
    g_free(m);
  }
  g_thread_join(t);
  g_assert_true(r.ok);
  if (r.got < LF_COUNT)
    g_assert_cmpstr(actr_err_name(r.rc), ==, "TIMEOUT");
  /* What was lost may have left partial messages: the TTL (2 s here) takes
   * them on the next fragment that arrives. */
  g_usleep(2500 * 1000);
  uint8_t *probe = make_msg(1024, LF_COUNT);
  ASSERT_OK(actr_lane_send(tx, probe, 1024));
  g_free(probe);
  actr_msg_t *m;
  int rc;
  while ((rc = actr_lane_recv(r.rx, 5000, &m)) == ACTR_OK) {
    uint32_t seed;
    g_assert_true(msg_ok(m, &seed));
    actr_msg_free(m);
    if (seed == LF_COUNT)
      break;
  }
  actr_lane_stats_t st;
  ASSERT_OK(actr_lane_stats(r.rx, &st));
  printf("FAULTS lib.dc.STREAM_LATENCY_FIRST delivered %u of %u messages (%" G_GUINT64_FORMAT
         " bytes sent), intact, none twice; partial messages evicted by TTL %" G_GUINT64_FORMAT
         ", held now %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " bytes)\n",
         r.got, LF_COUNT, sent_bytes, st.reassembly_evicted_ttl, st.reassembly_pending_messages,
         st.reassembly_pending_bytes);
  g_assert_cmpuint(r.got, >, 0);
  g_assert_cmpuint(st.reassembly_pending_messages, ==, 0);
  g_assert_cmpuint(st.reassembly_pending_bytes, ==, 0);
  actr_lane_unref(tx);
  actr_lane_unref(r.rx);
}

static int mode_latency(void) {
  actr_webrtc_link_config_t lf_cfg;
  actr_webrtc_link_config_init(&lf_cfg);
  lf_cfg.reassembly.ttl_ms = 2000;
  rtc_pair_t lf;
  rtc_pair_open(&lf, &lf_cfg);
  latency_first(&lf);
  rtc_pair_close(&lf);
  return 0;
}

static int mode_loss(void) {
  ws_pair_t ws;
  ws_pair_open(&ws);
  static const actr_payload_type_t dc_types[] = {ACTR_PAYLOAD_RPC_RELIABLE, ACTR_PAYLOAD_RPC_SIGNAL,
                                                 ACTR_PAYLOAD_STREAM_RELIABLE};
  rtc_pair_t rtc[3];
  flow_t flows[4] = {{0}};
  flows[0].name = "lib.ws.RPC_RELIABLE";
  ASSERT_OK(actr_ws_conn_lane(ws.a, ACTR_PAYLOAD_RPC_RELIABLE, &flows[0].tx));
  ASSERT_OK(actr_ws_conn_lane(ws.b, ACTR_PAYLOAD_RPC_RELIABLE, &flows[0].rx));
  static const char *const names[] = {"lib.dc.RPC_RELIABLE", "lib.dc.RPC_SIGNAL",
                                      "lib.dc.STREAM_RELIABLE"};
  for (int i = 0; i < 3; i++) {
    rtc_pair_open(&rtc[i], NULL);
    flows[i + 1].name = names[i];
    ASSERT_OK(actr_webrtc_link_lane(rtc[i].a, dc_types[i], &flows[i + 1].tx));
    ASSERT_OK(actr_webrtc_link_lane(rtc[i].b, dc_types[i], &flows[i + 1].rx));
  }
  GThread *th[8];
  for (int i = 0; i < 4; i++) {
    th[2 * i] = g_thread_new("tx", flow_tx, &flows[i]);
    th[2 * i + 1] = g_thread_new("rx", flow_rx, &flows[i]);
  }
  for (int i = 0; i < 8; i++)
    g_thread_join(th[i]);
  int fail = 0;
  for (int i = 0; i < 4; i++) {
    flow_t *f = &flows[i];
    double secs = f->t1 - f->t0;
    printf("FAULTS %s: %u of %zu messages (1 KiB..4 MiB) whole and in order, %u wrong; "
           "one-way %.0f B/s (%.2f MB/s; 64 KiB..4 MiB after the first arrival, %.1f s)\n",
           f->name, f->received - f->bad, N_LOSS_SIZES, f->bad,
           secs > 0 ? (double)f->bytes / secs : 0.0, secs > 0 ? f->bytes / secs / 1e6 : 0.0,
           secs);
    if (f->tx_rc != ACTR_OK || f->rx_rc != ACTR_OK || f->bad || f->received != N_LOSS_SIZES) {
      printf("FAILED %s: send %s, recv %s\n", f->name, actr_err_name(f->tx_rc),
             actr_err_name(f->rx_rc));
      fail = 1;
    }
    actr_lane_unref(f->tx);
    actr_lane_unref(f->rx);
  }
  /* The WebSocket figure above comes from 5 MiB, a few round trips of
   * 64 KiB segments: measure it again over 48 MiB. */
  flow_t big = {.name = "lib.ws.RPC_RELIABLE 48 MiB"};
  ASSERT_OK(actr_ws_conn_lane(ws.a, ACTR_PAYLOAD_STREAM_RELIABLE, &big.tx));
  ASSERT_OK(actr_ws_conn_lane(ws.b, ACTR_PAYLOAD_STREAM_RELIABLE, &big.rx));
  GThread *bt = g_thread_new("tx", big_tx, &big);
  big_rx(&big);
  g_thread_join(bt);
  double bsecs = big.t1 - big.t0;
  printf("FAULTS lib.ws.STREAM_RELIABLE: %u of %u 1 MiB messages whole and in order; one-way %.0f B/s "
         "(%.2f MB/s over %.1f s)\n",
         big.received - big.bad, BIG_COUNT, big.bytes / bsecs, big.bytes / bsecs / 1e6, bsecs);
  if (big.tx_rc != ACTR_OK || big.rx_rc != ACTR_OK || big.bad || big.received != BIG_COUNT) {
    printf("FAILED %s: send %s, recv %s\n", big.name, actr_err_name(big.tx_rc),
           actr_err_name(big.rx_rc));
    fail = 1;
  }
  actr_lane_unref(big.tx);
  actr_lane_unref(big.rx);
  ws_pair_close(&ws);
  for (int i = 0; i < 3; i++)
    rtc_pair_close(&rtc[i]);

  actr_webrtc_link_config_t lf_cfg;
  actr_webrtc_link_config_init(&lf_cfg);
  lf_cfg.reassembly.ttl_ms = 2000;
  rtc_pair_t lf;
  rtc_pair_open(&lf, &lf_cfg);
  latency_first(&lf);
  rtc_pair_close(&lf);
  return fail;
}

/* ---- dead: blocked calls when the link goes away ---- */

typedef struct blocked {
  const char *what;
  actr_lane_t *lane;
  bool is_send;
  int rc;
  double returned_at;
  atomic_int sent;
} blocked_t;

static gpointer blocked_main(gpointer p) {
  blocked_t *b = p;
  if (b->is_send) {
    uint8_t *m = make_msg(1 << 20, 0);
    while ((b->rc = actr_lane_send(b->lane, m, 1 << 20)) == ACTR_OK)
      atomic_fetch_add(&b->sent, 1);
    g_free(m);
  } else {
    actr_msg_t *m;
    b->rc = actr_lane_recv(b->lane, -1, &m);
    if (b->rc == ACTR_OK)
      actr_msg_free(m);
  }
  b->returned_at = now_s();
  return NULL;
}

/* wait_blocked: the sender made no progress for 1 s (its peer does not read). */
static void wait_send_blocked(blocked_t *b) {
  int last = -1;
  for (int i = 0; i < 60; i++) {
    g_usleep(1000 * 1000);
    int now = atomic_load(&b->sent);
    if (now == last && now > 0)
      return;
    last = now;
  }
  g_error("%s never blocked", b->what);
}

static int mode_dead(void) {
  ws_pair_t ws;
  ws_pair_open(&ws);
  rtc_pair_t rtc;
  rtc_pair_open(&rtc, NULL);
  blocked_t b[6] = {
    {.what = "WebSocket send (peer not reading)", .is_send = true},
    {.what = "WebSocket recv, sending side"},
    {.what = "WebSocket recv, other side"},
    {.what = "DataChannel send (peer not reading)", .is_send = true},
    {.what = "DataChannel recv, offering side"},
    {.what = "DataChannel recv, answering side"},
  };
  actr_lane_t *unread_ws, *unread_dc;
  ASSERT_OK(actr_ws_conn_lane(ws.a, ACTR_PAYLOAD_STREAM_RELIABLE, &b[0].lane));
  ASSERT_OK(actr_ws_conn_lane(ws.b, ACTR_PAYLOAD_STREAM_RELIABLE, &unread_ws));
  ASSERT_OK(actr_ws_conn_lane(ws.a, ACTR_PAYLOAD_RPC_SIGNAL, &b[1].lane));
  ASSERT_OK(actr_ws_conn_lane(ws.b, ACTR_PAYLOAD_RPC_RELIABLE, &b[2].lane));
  ASSERT_OK(actr_webrtc_link_lane(rtc.a, ACTR_PAYLOAD_STREAM_RELIABLE, &b[3].lane));
  ASSERT_OK(actr_webrtc_link_lane(rtc.a, ACTR_PAYLOAD_RPC_SIGNAL, &b[4].lane));
  actr_lane_t *opener;
  ASSERT_OK(actr_webrtc_link_lane(rtc.a, ACTR_PAYLOAD_RPC_RELIABLE, &opener));
  ASSERT_OK(actr_lane_send(opener, "x", 1)); /* opens the channel b reads */
  ASSERT_OK(actr_webrtc_link_lane(rtc.b, ACTR_PAYLOAD_RPC_RELIABLE, &b[5].lane));
  actr_msg_t *m;
  ASSERT_OK(actr_lane_recv(b[5].lane, 30000, &m));
  actr_msg_free(m);
  ASSERT_OK(actr_webrtc_link_lane(rtc.b, ACTR_PAYLOAD_STREAM_RELIABLE, &unread_dc));
  GThread *th[6];
  for (int i = 0; i < 6; i++)
    th[i] = g_thread_new("blocked", blocked_main, &b[i]);
  wait_send_blocked(&b[0]);
  wait_send_blocked(&b[3]);
  g_usleep(500 * 1000);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat(b[i].returned_at, ==, 0); /* still blocked */
  iptables("-I INPUT 1 -i lo -j DROP");
  double cut = now_s();
  printf("FAULTS link cut under 2 blocked sends and 4 blocked recvs (WebSocket and DataChannel, "
         "default settings)\n");
  fflush(stdout);
  for (int i = 0; i < 6; i++)
    g_thread_join(th[i]);
  iptables("-D INPUT -i lo -j DROP");
  int fail = 0;
  for (int i = 0; i < 6; i++) {
    double after = b[i].returned_at - cut;
    printf("FAULTS dead-peer %s: %s after %.1f s\n", b[i].what, actr_err_name(b[i].rc), after);
    if (b[i].rc == ACTR_OK || after > 20.0) {
      printf("FAILED: %s: wanted an error within 20 s\n", b[i].what);
      fail = 1;
    }
    actr_lane_unref(b[i].lane);
  }
  actr_lane_unref(unread_ws);
  actr_lane_unref(unread_dc);
  actr_lane_unref(opener);
  ws_pair_close(&ws);
  rtc_pair_close(&rtc);
  return fail;
}

/* ---- stall: a reader that stops reading ---- */

#define STALL_MSG (1u << 20)
#define STALL_COUNT 400 /* 400 MiB: far more than every bound in between */

typedef struct stall {
  actr_lane_t *tx;
  atomic_int sent;
  int rc;
  char why[256];
} stall_t;

static gpointer stall_tx(gpointer p) {
  stall_t *s = p;
  for (uint32_t i = 0; i < STALL_COUNT; i++) {
    uint8_t *m = make_msg(STALL_MSG, i);
    s->rc = actr_lane_send(s->tx, m, STALL_MSG);
    g_free(m);
    if (s->rc != ACTR_OK) {
      g_strlcpy(s->why, actr_err_detail(), sizeof s->why);
      break;
    }
    atomic_fetch_add(&s->sent, 1);
  }
  return NULL;
}

/* stall_one: @tx sends 1 MiB messages, @rx is not read; the sender must
 * stop making progress with memory bounded; then @rx reads all of them. */
static int stall_one(const char *name, actr_lane_t *tx, actr_lane_t *rx, ws_pair_t *ws) {
  long rss0 = rss_kib();
  stall_t s = {.tx = tx};
  GThread *t = g_thread_new("stall-tx", stall_tx, &s);
  int last = -1, now = 0;
  for (int i = 0; i < 60; i++) {
    g_usleep(1500 * 1000);
    now = atomic_load(&s.sent);
    if (now == last)
      break;
    last = now;
  }
  /* Stay stalled past the dead-peer time (8 s): a stalled reader is alive. */
  const char *hold = getenv("FAULTS_STALL_S"); /* longer runs by hand */
  g_usleep((hold ? (gulong)atoi(hold) : 20) * G_USEC_PER_SEC);
  if (atomic_load(&s.sent) != now)
    last = -1;
  long rss1 = rss_kib();
  int fail = 0;
  printf("FAULTS stalled reader %s: sender blocked after %d MiB accepted (of %d); resident "
         "memory %+ld KiB",
         name, now, STALL_COUNT, rss1 - rss0);
  if (ws) {
    actr_ws_conn_stats_t sa, sb;
    ASSERT_OK(actr_ws_conn_stats(ws->a, &sa));
    ASSERT_OK(actr_ws_conn_stats(ws->b, &sb));
    printf("; sender's outbound queue %" G_GUINT64_FORMAT " B, reader's inbound queue %" G_GUINT64_FORMAT
           " B, read pauses %" G_GUINT64_FORMAT,
           sa.outbound_queued_bytes, sb.inbound_queued_bytes, sb.read_pauses);
    if (sa.outbound_queued_bytes > (8u << 20) + STALL_MSG ||
        sb.inbound_queued_bytes > (16u << 20) + STALL_MSG)
      fail = 1;
  }
  printf("\n");
  if (now != last || now >= STALL_COUNT || rss1 - rss0 > 160 * 1024) {
    printf("FAILED: %s: the sender did not block, or memory grew past 160 MiB\n", name);
    fail = 1;
  }
  /* The reader comes back: everything arrives, whole, in order. */
  for (uint32_t i = 0; i < STALL_COUNT && !fail; i++) {
    actr_msg_t *m;
    int rc = actr_lane_recv(rx, 60000, &m);
    uint32_t seed;
    if (rc != ACTR_OK || !msg_ok(m, &seed) || seed != i || actr_msg_len(m) != STALL_MSG) {
      printf("FAILED: %s: message %u after the stall: %s (%s)\n", name, i, actr_err_name(rc),
             actr_err_detail());
      fail = 1;
    }
    if (rc == ACTR_OK)
      actr_msg_free(m);
  }
  g_thread_join(t);
  if (s.rc != ACTR_OK) {
    printf("FAILED: %s: send %s (%s)\n", name, actr_err_name(s.rc), s.why);
    fail = 1;
  }
  return fail;
}

static int mode_stall(void) {
  int fail = 0;
  ws_pair_t ws;
  ws_pair_open(&ws);
  actr_lane_t *tx, *rx;
  ASSERT_OK(actr_ws_conn_lane(ws.a, ACTR_PAYLOAD_STREAM_RELIABLE, &tx));
  ASSERT_OK(actr_ws_conn_lane(ws.b, ACTR_PAYLOAD_STREAM_RELIABLE, &rx));
  fail |= stall_one("WebSocket", tx, rx, &ws);
  actr_lane_unref(tx);
  actr_lane_unref(rx);
  ws_pair_close(&ws);

  rtc_pair_t rtc;
  rtc_pair_open(&rtc, NULL);
  ASSERT_OK(actr_webrtc_link_lane(rtc.a, ACTR_PAYLOAD_STREAM_RELIABLE, &tx));
  ASSERT_OK(actr_lane_send(tx, "open", 4)); /* the channel opens; b binds its lane */
  ASSERT_OK(actr_webrtc_link_lane(rtc.b, ACTR_PAYLOAD_STREAM_RELIABLE, &rx));
  actr_msg_t *m;
  ASSERT_OK(actr_lane_recv(rx, 30000, &m));
  actr_msg_free(m);
  fail |= stall_one("DataChannel", tx, rx, NULL);
  actr_lane_unref(tx);
  actr_lane_unref(rx);
  rtc_pair_close(&rtc);
  return fail;
}

static void log_line(actr_log_level_t level, const char *msg, void *user) {
  (void)user;
  fprintf(stderr, "[%.3f] libactr %s: %s\n", now_s(), level == ACTR_LOG_ERROR ? "error" : level == ACTR_LOG_WARN ? "warning" : "info", msg);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  actr_log_set_handler(log_line, getenv("FAULTS_DEBUG") ? ACTR_LOG_DEBUG : ACTR_LOG_WARN, NULL);
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "loss") == 0)
    return mode_loss();
  if (strcmp(mode, "latency") == 0)
    return mode_latency();
  if (strcmp(mode, "dead") == 0)
    return mode_dead();
  if (strcmp(mode, "stall") == 0)
    return mode_stall();
  fprintf(stderr, "usage: test_faults loss|dead|stall\n");
  return 2;
}
