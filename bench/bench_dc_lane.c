/* bench_dc_lane.c — the DataChannel lane over real WebRTC (ICE on
 * 127.0.0.1, DTLS, SCTP), libactr <-> libactr in one process: 1 MiB lane
 * message throughput and 1 KiB lane round trip, the latter two ways:
 * application threads blocked in recv (sending directly into SCTP; with
 * runtimes as made by default and with lend_loop, where they run their
 * runtime's loop while they wait), and handlers
 * (actr_lane_set_handler: each side answers on its I/O thread, as the raw
 * channel figure of bench_webrtc does).  The raw data channel figures of
 * bench_webrtc (same run of `make bench`) are the baseline: the lane adds
 * fragmentation, reassembly and its queues on top.  A third baseline, the
 * time to wake a sleeping thread, shows what one thread hand-off costs on
 * this machine.  Run it inside a network namespace holding
 * only lo (scripts/run-bench.sh does). */
#include <glib.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/webrtc_link.h>

#include "bench_common.h"

static const char *const loopback[] = {"127.0.0.1"};

typedef struct {
  actr_lane_t *lane;
  size_t size;
  int count;
} job_t;

static gpointer sender_main(gpointer p) {
  job_t *j = p;
  uint8_t *buf = malloc(j->size);
  memset(buf, 0xa5, j->size);
  for (int i = 0; i < j->count; i++)
    if (actr_lane_send(j->lane, buf, j->size) != ACTR_OK)
      abort();
  free(buf);
  return NULL;
}

static gpointer echo_main(gpointer p) {
  job_t *j = p;
  for (int i = 0; i < j->count; i++) {
    actr_msg_t *m;
    if (actr_lane_recv(j->lane, 10000, &m) != ACTR_OK)
      abort();
    if (actr_lane_send(j->lane, actr_msg_data(m), actr_msg_len(m)) != ACTR_OK)
      abort();
    actr_msg_free(m);
  }
  return NULL;
}

/* ---- push delivery: ping on one side, echo on the other ---- */

enum { ROUNDS = 3000, WARM = 200 };

typedef struct pingpong {
  GMutex mu;
  GCond cond;
  int round; /* rounds done */
  bool done;
  double t0;
  double rtt[ROUNDS];
  uint8_t buf[1024];
} pingpong_t;

static void echo_handler(actr_lane_t *lane, actr_msg_t *m, void *user) {
  (void)user;
  if (actr_lane_send(lane, actr_msg_data(m), actr_msg_len(m)) != ACTR_OK)
    abort();
  actr_msg_free(m);
}

static void ping_handler(actr_lane_t *lane, actr_msg_t *m, void *user) {
  pingpong_t *pp = user;
  double now = bench_now();
  if (actr_msg_len(m) != sizeof pp->buf)
    abort();
  actr_msg_free(m);
  if (pp->round >= WARM)
    pp->rtt[pp->round - WARM] = now - pp->t0;
  if (++pp->round == ROUNDS + WARM) {
    g_mutex_lock(&pp->mu);
    pp->done = true;
    g_cond_signal(&pp->cond);
    g_mutex_unlock(&pp->mu);
    return;
  }
  pp->t0 = bench_now();
  if (actr_lane_send(lane, pp->buf, sizeof pp->buf) != ACTR_OK)
    abort();
}

/* ---- baseline: waking a thread that sleeps ----
 * What one hand-off to a sleeping application thread costs on this machine:
 * this thread stays busy for about a round trip (as the other side of a
 * lane is), then wakes a thread parked on a condition variable and spins
 * until it has run. */

typedef struct wakee {
  GMutex mu;
  GCond cond;
  int go;            /* under mu: 1 wake, -1 stop */
  atomic_int ran;
} wakee_t;

static gpointer wakee_main(gpointer p) {
  wakee_t *w = p;
  g_mutex_lock(&w->mu);
  for (;;) {
    while (w->go == 0)
      g_cond_wait(&w->cond, &w->mu);
    if (w->go < 0)
      break;
    w->go = 0;
    atomic_store(&w->ran, 1);
  }
  g_mutex_unlock(&w->mu);
  return NULL;
}

static double thread_wake_p50(void) {
  wakee_t w = {.go = 0};
  g_mutex_init(&w.mu);
  g_cond_init(&w.cond);
  atomic_init(&w.ran, 0);
  GThread *t = g_thread_new("wakee", wakee_main, &w);
  enum { N = 2000 };
  double *v = malloc(sizeof(double) * N);
  for (int i = 0; i < N; i++) {
    double busy = bench_now();
    while (bench_now() - busy < 100e-6)
      ;
    double t0 = bench_now();
    g_mutex_lock(&w.mu);
    w.go = 1;
    g_cond_signal(&w.cond);
    g_mutex_unlock(&w.mu);
    while (!atomic_load(&w.ran))
      ;
    v[i] = bench_now() - t0;
    atomic_store(&w.ran, 0);
  }
  g_mutex_lock(&w.mu);
  w.go = -1;
  g_cond_signal(&w.cond);
  g_mutex_unlock(&w.mu);
  g_thread_join(t);
  double p50 = bench_median(v, N);
  free(v);
  return p50;
}

static void fail(const char *what, int rc) {
  fprintf(stderr, "bench_dc_lane: %s: %s (%s)\n", what, actr_err_name(rc), actr_err_detail());
  exit(1);
}

/* pair_t: two peers, one runtime (I/O thread) each, as two actors in two
 * processes would have, and as bench_webrtc measures the raw channel. */
typedef struct pair {
  actr_runtime_t *rt, *rt2;
  actr_signaling_t *sa, *sb;
  actr_webrtc_link_t *a, *b;
} pair_t;

static void pair_open(pair_t *p, bool lend_loop) {
  actr_webrtc_link_config_t cfg;
  actr_webrtc_link_config_init(&cfg);
  cfg.webrtc.local_addresses = loopback;
  cfg.webrtc.local_address_count = 1;
  actr_runtime_config_t rcfg;
  actr_runtime_config_init(&rcfg);
  rcfg.lend_loop = lend_loop;
  int rc;
  if ((rc = actr_runtime_new_with(&rcfg, &p->rt)) || (rc = actr_runtime_new_with(&rcfg, &p->rt2)) ||
      (rc = actr_signaling_pair_new(&p->sa, &p->sb)) ||
      (rc = actr_webrtc_link_new(p->rt2, &cfg, p->sb, false, &p->b)) ||
      (rc = actr_webrtc_link_new(p->rt, &cfg, p->sa, true, &p->a)) ||
      (rc = actr_webrtc_link_wait_connected(p->a, 20000)) ||
      (rc = actr_webrtc_link_wait_connected(p->b, 20000)))
    fail("connect", rc);
}

static void pair_close(pair_t *p) {
  actr_webrtc_link_free(p->a);
  actr_webrtc_link_free(p->b);
  actr_signaling_free(p->sa);
  actr_signaling_free(p->sb);
  actr_runtime_unref(p->rt);
  actr_runtime_unref(p->rt2);
}

/* blocking_rtt: 1 KiB round trips through an echo thread blocked in recv
 * on the other side; @rounds samples into @rtt (sorted). */
static void blocking_rtt(actr_lane_t *ra, actr_lane_t *rb, double *rtt, int rounds) {
  job_t echo = {rb, 1024, rounds + WARM};
  GThread *et = g_thread_new("echo", echo_main, &echo);
  uint8_t buf[1024];
  memset(buf, 0x3c, sizeof buf);
  int rc;
  for (int i = 0; i < rounds + WARM; i++) {
    double t0 = bench_now();
    if ((rc = actr_lane_send(ra, buf, sizeof buf)) != ACTR_OK)
      fail("send", rc);
    actr_msg_t *m;
    if ((rc = actr_lane_recv(ra, 10000, &m)) != ACTR_OK)
      fail("recv", rc);
    if (i >= WARM)
      rtt[i - WARM] = bench_now() - t0;
    actr_msg_free(m);
  }
  g_thread_join(et);
  qsort(rtt, (size_t)rounds, sizeof *rtt, bench_cmp_double);
}

int main(void) {
  pair_t pr, lp; /* runtimes as made by default; with lend_loop */
  pair_open(&pr, false);
  pair_open(&lp, true);
  actr_webrtc_link_t *a = pr.a, *b = pr.b;
  int rc;

  /* 1 MiB throughput, one sender thread, the receiver on this one. */
  actr_lane_t *ta, *tb;
  if ((rc = actr_webrtc_link_lane(a, ACTR_PAYLOAD_STREAM_RELIABLE, &ta)) ||
      (rc = actr_webrtc_link_lane(b, ACTR_PAYLOAD_STREAM_RELIABLE, &tb)))
    fail("lane", rc);
  const size_t size = 1u << 20;
  double best = 0;
  for (int run = 0; run < 3; run++) {
    job_t j = {ta, size, 256};
    double t0 = bench_now();
    GThread *t = g_thread_new("sender", sender_main, &j);
    for (int i = 0; i < j.count; i++) {
      actr_msg_t *m;
      if ((rc = actr_lane_recv(tb, 20000, &m)) != ACTR_OK)
        fail("recv", rc);
      if (actr_msg_len(m) != size)
        abort();
      actr_msg_free(m);
    }
    g_thread_join(t);
    double bps = (double)size * j.count / (bench_now() - t0);
    if (bps > best)
      best = bps;
  }
  printf("# DataChannel lane, 1 MiB messages (16 fragments each), best of 3 x 256 MiB\n");
  bench_line("lane.dc.1m.throughput", best, "B/s");

  /* 1 KiB round trip, blocking recv on both sides: runtimes as made by
   * default, and with lend_loop (the receiver runs the loop while it
   * waits), interleaved in rounds of ROUNDS/5. */
  actr_lane_t *ra, *rb, *la, *lb;
  if ((rc = actr_webrtc_link_lane(a, ACTR_PAYLOAD_RPC_RELIABLE, &ra)) ||
      (rc = actr_webrtc_link_lane(b, ACTR_PAYLOAD_RPC_RELIABLE, &rb)) ||
      (rc = actr_webrtc_link_lane(lp.a, ACTR_PAYLOAD_RPC_RELIABLE, &la)) ||
      (rc = actr_webrtc_link_lane(lp.b, ACTR_PAYLOAD_RPC_RELIABLE, &lb)))
    fail("lane", rc);
  enum { PARTS = 5 };
  double *rtt = malloc(sizeof(double) * ROUNDS), *lrtt = malloc(sizeof(double) * ROUNDS);
  for (int part = 0; part < PARTS; part++) {
    blocking_rtt(ra, rb, rtt + part * (ROUNDS / PARTS), ROUNDS / PARTS);
    blocking_rtt(la, lb, lrtt + part * (ROUNDS / PARTS), ROUNDS / PARTS);
  }
  qsort(rtt, ROUNDS, sizeof *rtt, bench_cmp_double);
  qsort(lrtt, ROUNDS, sizeof *lrtt, bench_cmp_double);
  double p50 = rtt[ROUNDS / 2], lp50 = lrtt[ROUNDS / 2];
  printf("# DataChannel lane, 1 KiB round trip, blocking recv, %d rounds: p50 %.1f us, p99 %.1f us"
         " (default); with lend_loop p50 %.1f us, p99 %.1f us\n", ROUNDS, p50 * 1e6,
         rtt[(int)(ROUNDS * 0.99)] * 1e6, lp50 * 1e6, lrtt[(int)(ROUNDS * 0.99)] * 1e6);
  bench_line_f("lane.dc.1k.rtt.p50", p50, "s");
  bench_line_f("lane.dc.1k.rtt.p99", rtt[(int)(ROUNDS * 0.99)], "s");
  bench_line_f("lane.dc.1k.rtt.lend.p50", lp50, "s");
  bench_line_f("lane.dc.1k.rtt.lend.p99", lrtt[(int)(ROUNDS * 0.99)], "s");
  free(rtt);
  free(lrtt);
  actr_lane_unref(la);
  actr_lane_unref(lb);
  pair_close(&lp);

  /* The same lanes switched to push delivery: both sides answer in their
   * handler, on their I/O thread. */
  pingpong_t *pp = calloc(1, sizeof *pp);
  g_mutex_init(&pp->mu);
  g_cond_init(&pp->cond);
  memset(pp->buf, 0x3c, sizeof pp->buf);
  if ((rc = actr_lane_set_handler(rb, echo_handler, NULL)) ||
      (rc = actr_lane_set_handler(ra, ping_handler, pp)))
    fail("set_handler", rc);
  pp->t0 = bench_now();
  if ((rc = actr_lane_send(ra, pp->buf, sizeof pp->buf)) != ACTR_OK)
    fail("send", rc);
  g_mutex_lock(&pp->mu);
  gint64 until = g_get_monotonic_time() + 60 * G_TIME_SPAN_SECOND;
  while (!pp->done)
    if (!g_cond_wait_until(&pp->cond, &pp->mu, until)) {
      fprintf(stderr, "bench_dc_lane: handler ping-pong stalled at round %d\n", pp->round);
      exit(1);
    }
  g_mutex_unlock(&pp->mu);
  actr_lane_set_handler(ra, NULL, NULL);
  actr_lane_set_handler(rb, NULL, NULL);
  double hp50 = bench_median(pp->rtt, ROUNDS);
  double hp99 = pp->rtt[(int)(ROUNDS * 0.99)];
  printf("# DataChannel lane with handlers (answered on the I/O threads), 1 KiB round trip: "
         "p50 %.1f us, p99 %.1f us\n", hp50 * 1e6, hp99 * 1e6);
  bench_line_f("lane.dc.1k.rtt.handler.p50", hp50, "s");
  bench_line_f("lane.dc.1k.rtt.handler.p99", hp99, "s");
  free(pp);

  double w50 = thread_wake_p50();
  printf("# waking a sleeping thread from a busy one: p50 %.1f us (what one hand-off between "
         "threads costs here; direct sends and lending keep them off the lane's round trip)\n",
         w50 * 1e6);
  bench_line_f("baseline.thread.wake.p50", w50, "s");

  actr_lane_unref(ta);
  actr_lane_unref(tb);
  actr_lane_unref(ra);
  actr_lane_unref(rb);
  pair_close(&pr);
  return 0;
}
