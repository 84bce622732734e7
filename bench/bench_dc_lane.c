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
#include <actr/testing.h>
#include <actr/webrtc.h>
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

static void fail(const char *what, int rc);

/* ---- push delivery: ping on one side, echo on the other ---- */

enum { ROUNDS = 3000, WARM = 200, PARTS = BENCH_GOAL_ROUNDS };

typedef struct pingpong {
  GMutex mu;
  GCond cond;
  int round; /* rounds done */
  int warm, total; /* rounds of warm-up; rounds in all (warm-up included) */
  bool done;
  double t0;
  double *rtt; /* total - warm samples */
  uint8_t buf[1024];
} pingpong_t;

static void pingpong_done(pingpong_t *pp) {
  g_mutex_lock(&pp->mu);
  pp->done = true;
  g_cond_signal(&pp->cond);
  g_mutex_unlock(&pp->mu);
}

/* pingpong_took: a pong came back: its sample; true when another ping is due. */
static bool pingpong_took(pingpong_t *pp, double now) {
  if (pp->round >= pp->warm)
    pp->rtt[pp->round - pp->warm] = now - pp->t0;
  if (++pp->round == pp->total) {
    pingpong_done(pp);
    return false;
  }
  pp->t0 = bench_now();
  return true;
}

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
  if (pingpong_took(pp, now) && actr_lane_send(lane, pp->buf, sizeof pp->buf) != ACTR_OK)
    abort();
}

/* ---- baseline: the raw channel, on the same two runtimes ----
 * Two more peer connections (actr/webrtc.h, no lane), one on each of the
 * lane pair's runtimes, one ordered reliable channel: 1 KiB ping-pong
 * answered from the channels' callbacks on the I/O threads, as the lane's
 * handlers answer on them.  The lane's round trip over this one's,
 * interleaved, is issue 13's goal (<= 1.1x). */

static bool raw_echo(actr_webrtc_dc_t *dc, actr_msg_t *msg, bool text, void *user) {
  actr_webrtc_dc_send_msg(dc, msg, text);
  return true;
}

static bool raw_pong(actr_webrtc_dc_t *dc, actr_msg_t *msg, bool text, void *user) {
  pingpong_t *pp = user;
  double now = bench_now();
  if (actr_msg_len(msg) != sizeof pp->buf)
    abort();
  actr_msg_free(msg);
  if (pingpong_took(pp, now) && actr_webrtc_dc_send(dc, pp->buf, sizeof pp->buf, false) != ACTR_OK)
    abort();
  return true;
}

typedef struct raw_pair {
  actr_webrtc_pc_t *pc[2];
  actr_webrtc_dc_t *dc, *in; /* ours (offerer), the answerer's */
  int state[2];
  GMutex mu;
  GCond cond;
  GQueue cands; /* raw_cand_t */
  pingpong_t *pp;
} raw_pair_t;

typedef struct raw_cand {
  int to;
  char *cand;
} raw_cand_t;

typedef struct raw_end {
  raw_pair_t *rp;
  int side;
} raw_end_t;

static raw_end_t raw_ends[2];

static void raw_on_candidate(actr_webrtc_pc_t *pc, const char *cand, const char *mid, void *user) {
  raw_end_t *e = user;
  raw_cand_t *c = g_new(raw_cand_t, 1);
  c->to = 1 - e->side;
  c->cand = g_strdup(cand);
  g_mutex_lock(&e->rp->mu);
  g_queue_push_tail(&e->rp->cands, c);
  g_cond_broadcast(&e->rp->cond);
  g_mutex_unlock(&e->rp->mu);
}

static void raw_on_state(actr_webrtc_pc_t *pc, actr_webrtc_pc_state_t st, int err, void *user) {
  raw_end_t *e = user;
  g_mutex_lock(&e->rp->mu);
  e->rp->state[e->side] = st;
  g_cond_broadcast(&e->rp->cond);
  g_mutex_unlock(&e->rp->mu);
}

static const actr_webrtc_dc_callbacks_t raw_echo_cbs = {.on_message = raw_echo};

static void raw_on_channel(actr_webrtc_pc_t *pc, actr_webrtc_dc_t *dc, void *user) {
  raw_end_t *e = user;
  actr_webrtc_dc_set_callbacks(dc, &raw_echo_cbs, NULL);
  g_mutex_lock(&e->rp->mu);
  e->rp->in = dc;
  g_cond_broadcast(&e->rp->cond);
  g_mutex_unlock(&e->rp->mu);
}

static bool raw_connected(raw_pair_t *rp) {
  return rp->state[0] == ACTR_WEBRTC_PC_CONNECTED && rp->state[1] == ACTR_WEBRTC_PC_CONNECTED;
}

static bool raw_open(raw_pair_t *rp) {
  return rp->in && rp->dc && actr_webrtc_dc_state(rp->dc) == ACTR_WEBRTC_DC_OPEN;
}

/* raw_pump: hand candidates over until @done or 20 s. */
static void raw_pump(raw_pair_t *rp, bool (*done)(raw_pair_t *)) {
  gint64 end = g_get_monotonic_time() + 20 * G_TIME_SPAN_SECOND;
  g_mutex_lock(&rp->mu);
  for (;;) {
    raw_cand_t *c = g_queue_pop_head(&rp->cands);
    if (c) {
      g_mutex_unlock(&rp->mu);
      actr_webrtc_pc_add_remote_candidate(rp->pc[c->to], c->cand, "0");
      g_free(c->cand);
      g_free(c);
      g_mutex_lock(&rp->mu);
      continue;
    }
    if (done(rp))
      break;
    if (!g_cond_wait_until(&rp->cond, &rp->mu, end)) {
      fprintf(stderr, "bench_dc_lane: raw channel did not connect\n");
      exit(1);
    }
  }
  g_mutex_unlock(&rp->mu);
}

static bool raw_dispatch_pong(actr_webrtc_dc_t *dc, actr_msg_t *msg, bool text, void *user) {
  raw_pair_t *rp = user;
  return raw_pong(dc, msg, text, rp->pp);
}

static void raw_open_pair(raw_pair_t *rp, actr_runtime_t *rt0, actr_runtime_t *rt1) {
  static const char *const lo[] = {"127.0.0.1"};
  g_mutex_init(&rp->mu);
  g_cond_init(&rp->cond);
  g_queue_init(&rp->cands);
  actr_runtime_t *rts[2] = {rt0, rt1};
  int rc;
  for (int side = 0; side < 2; side++) {
    raw_ends[side] = (raw_end_t){rp, side};
    actr_webrtc_config_t cfg;
    actr_webrtc_config_init(&cfg);
    cfg.local_addresses = lo;
    cfg.local_address_count = 1;
    cfg.on_candidate = raw_on_candidate;
    cfg.on_state = raw_on_state;
    cfg.on_data_channel = raw_on_channel;
    cfg.user = &raw_ends[side];
    if ((rc = actr_webrtc_pc_new(rts[side], &cfg, &rp->pc[side])))
      fail("raw peer connection", rc);
  }
  char *offer, *answer;
  if ((rc = actr_webrtc_pc_create_offer(rp->pc[0], &offer)) ||
      (rc = actr_webrtc_pc_set_remote_description(rp->pc[1], true, offer)) ||
      (rc = actr_webrtc_pc_create_answer(rp->pc[1], &answer)) ||
      (rc = actr_webrtc_pc_set_remote_description(rp->pc[0], false, answer)))
    fail("raw offer/answer", rc);
  free(offer);
  free(answer);
  raw_pump(rp, raw_connected);
  actr_webrtc_dc_callbacks_t cbs = {.on_message = raw_dispatch_pong};
  if ((rc = actr_webrtc_pc_create_data_channel(rp->pc[0], "ping", NULL, &cbs, rp, &rp->dc)))
    fail("raw channel", rc);
  raw_pump(rp, raw_open);
}

static void raw_close_pair(raw_pair_t *rp) {
  actr_webrtc_dc_free(rp->dc);
  actr_webrtc_dc_free(rp->in);
  actr_webrtc_pc_free(rp->pc[0]);
  actr_webrtc_pc_free(rp->pc[1]);
  raw_cand_t *c;
  while ((c = g_queue_pop_head(&rp->cands))) {
    g_free(c->cand);
    g_free(c);
  }
  g_mutex_clear(&rp->mu);
  g_cond_clear(&rp->cond);
}

/* pingpong_wait: until @pp is done (60 s at most). */
static void pingpong_wait(pingpong_t *pp, const char *what) {
  g_mutex_lock(&pp->mu);
  gint64 until = g_get_monotonic_time() + 60 * G_TIME_SPAN_SECOND;
  while (!pp->done)
    if (!g_cond_wait_until(&pp->cond, &pp->mu, until)) {
      fprintf(stderr, "bench_dc_lane: %s ping-pong stalled at round %d\n", what, pp->round);
      exit(1);
    }
  g_mutex_unlock(&pp->mu);
}

static void pingpong_reset(pingpong_t *pp, double *out, int n, int warm) {
  g_mutex_lock(&pp->mu);
  pp->done = false;
  pp->round = 0;
  pp->warm = warm;
  pp->total = n + warm;
  pp->rtt = out;
  g_mutex_unlock(&pp->mu);
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
  /* Joined fragments (docs/webrtc.md) on and off, interleaved: what the
   * receive copy they save is worth end to end. */
  double best[2] = {0, 0}; /* [0] joined (the default), [1] one by one */
  for (int run = 0; run < 6; run++) {
    int off = run % 2;
    actr_testing_set_join_fragments(!off);
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
    if (bps > best[off])
      best[off] = bps;
  }
  actr_testing_set_join_fragments(true);
  actr_lane_stats_t tst;
  actr_lane_stats(tb, &tst);
  printf("# DataChannel lane, 1 MiB messages (17 fragments each), best of 3 x 256 MiB: "
         "%.0f MB/s with fragments joined, %.0f MB/s one by one (%.2fx; %llu of %d came "
         "joined)\n", best[0] / 1e6, best[1] / 1e6, best[0] / best[1],
         (unsigned long long)tst.reassembly_joined, 6 * 256);
  bench_line("lane.dc.1m.throughput", best[0], "B/s");
  bench_line("lane.dc.1m.one_by_one.throughput", best[1], "B/s");

  /* 1 KiB round trip, blocking recv on both sides: runtimes as made by
   * default, and with lend_loop (the receiver runs the loop while it
   * waits), interleaved in rounds of ROUNDS/5. */
  actr_lane_t *ra, *rb, *la, *lb;
  if ((rc = actr_webrtc_link_lane(a, ACTR_PAYLOAD_RPC_RELIABLE, &ra)) ||
      (rc = actr_webrtc_link_lane(b, ACTR_PAYLOAD_RPC_RELIABLE, &rb)) ||
      (rc = actr_webrtc_link_lane(lp.a, ACTR_PAYLOAD_RPC_RELIABLE, &la)) ||
      (rc = actr_webrtc_link_lane(lp.b, ACTR_PAYLOAD_RPC_RELIABLE, &lb)))
    fail("lane", rc);
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
  /* Interleaved with the raw channel on the same runtimes (the baseline
   * of issue 13's goal): PARTS parts of each, ROUNDS samples of each. */
  pingpong_t *pp = calloc(1, sizeof *pp);
  g_mutex_init(&pp->mu);
  g_cond_init(&pp->cond);
  memset(pp->buf, 0x3c, sizeof pp->buf);
  raw_pair_t *rp = calloc(1, sizeof *rp);
  rp->pp = pp;
  raw_open_pair(rp, pr.rt, pr.rt2);
  if ((rc = actr_lane_set_handler(rb, echo_handler, NULL)) ||
      (rc = actr_lane_set_handler(ra, ping_handler, pp)))
    fail("set_handler", rc);
  const int per = ROUNDS / PARTS;
  double *hl = malloc(sizeof(double) * ROUNDS), *hr = malloc(sizeof(double) * ROUNDS);
  double ratio[PARTS], *part = malloc(sizeof(double) * per);
  for (int i = 0; i < PARTS; i++) {
    pingpong_reset(pp, hl + i * per, per, i ? WARM / 5 : WARM);
    pp->t0 = bench_now();
    if ((rc = actr_lane_send(ra, pp->buf, sizeof pp->buf)) != ACTR_OK)
      fail("send", rc);
    pingpong_wait(pp, "lane handler");
    pingpong_reset(pp, hr + i * per, per, i ? WARM / 5 : WARM);
    pp->t0 = bench_now();
    if ((rc = actr_webrtc_dc_send(rp->dc, pp->buf, sizeof pp->buf, false)) != ACTR_OK)
      fail("raw send", rc);
    pingpong_wait(pp, "raw channel");
    memcpy(part, hl + i * per, sizeof(double) * per);
    double l = bench_median(part, per);
    memcpy(part, hr + i * per, sizeof(double) * per);
    ratio[i] = l / bench_median(part, per);
  }
  actr_lane_set_handler(ra, NULL, NULL);
  actr_lane_set_handler(rb, NULL, NULL);
  double hp50 = bench_median(hl, ROUNDS);
  double hp99 = hl[(int)(ROUNDS * 0.99)];
  double rp50 = bench_median(hr, ROUNDS);
  printf("# DataChannel lane with handlers (answered on the I/O threads), 1 KiB round trip: "
         "p50 %.1f us, p99 %.1f us; the raw channel on the same runtimes, interleaved: p50 %.1f "
         "us, p99 %.1f us\n", hp50 * 1e6, hp99 * 1e6, rp50 * 1e6, hr[(int)(ROUNDS * 0.99)] * 1e6);
  bench_line_f("lane.dc.1k.rtt.handler.p50", hp50, "s");
  bench_line_f("lane.dc.1k.rtt.handler.p99", hp99, "s");
  bench_line_f("baseline.dc.raw.1k.rtt.handler.p50", rp50, "s");
  bench_goal("lane.dc.1k.rtt.vs_raw", ratio, PARTS, "<=", 1.1);
  free(hl);
  free(hr);
  free(part);
  raw_close_pair(rp);
  free(rp);
  g_mutex_clear(&pp->mu);
  g_cond_clear(&pp->cond);
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
