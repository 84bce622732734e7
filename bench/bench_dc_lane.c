/* bench_dc_lane.c — the DataChannel lane over real WebRTC (ICE on
 * 127.0.0.1, DTLS, SCTP), libactr <-> libactr in one process: 1 MiB lane
 * message throughput and 1 KiB lane round trip.  The raw data channel
 * figures of bench_webrtc (same run of `make bench`) are the baseline: the
 * lane adds fragmentation, reassembly and its queues on top.  Run it inside
 * a network namespace holding only lo (scripts/run-bench.sh does). */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/rtc_link.h>

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

static void fail(const char *what, int rc) {
  fprintf(stderr, "bench_dc_lane: %s: %s (%s)\n", what, actr_err_name(rc), actr_last_error());
  exit(1);
}

int main(void) {
  /* One runtime (I/O thread) per peer, as two actors in two processes would
   * have, and as bench_webrtc measures the raw channel by default. */
  actr_runtime_t *rt, *rt2;
  actr_signaling_t *sa, *sb;
  actr_rtc_link_t *a, *b;
  actr_rtc_link_config_t cfg;
  actr_rtc_link_config_init(&cfg);
  cfg.webrtc.local_addresses = loopback;
  cfg.webrtc.local_address_count = 1;
  int rc;
  if ((rc = actr_runtime_new(&rt)) || (rc = actr_runtime_new(&rt2)) ||
      (rc = actr_signaling_pair_new(&sa, &sb)) ||
      (rc = actr_rtc_link_new(rt2, &cfg, sb, false, &b)) ||
      (rc = actr_rtc_link_new(rt, &cfg, sa, true, &a)) ||
      (rc = actr_rtc_link_wait_connected(a, 20000)) || (rc = actr_rtc_link_wait_connected(b, 20000)))
    fail("connect", rc);

  /* 1 MiB throughput, one sender thread, the receiver on this one. */
  actr_lane_t *ta, *tb;
  if ((rc = actr_rtc_link_lane(a, ACTR_PAYLOAD_STREAM_RELIABLE, &ta)) ||
      (rc = actr_rtc_link_lane(b, ACTR_PAYLOAD_STREAM_RELIABLE, &tb)))
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

  /* 1 KiB round trip through an echo thread on the other side. */
  actr_lane_t *ra, *rb;
  if ((rc = actr_rtc_link_lane(a, ACTR_PAYLOAD_RPC_RELIABLE, &ra)) ||
      (rc = actr_rtc_link_lane(b, ACTR_PAYLOAD_RPC_RELIABLE, &rb)))
    fail("lane", rc);
  enum { ROUNDS = 3000, WARM = 200 };
  job_t echo = {rb, 1024, ROUNDS + WARM};
  GThread *et = g_thread_new("echo", echo_main, &echo);
  uint8_t buf[1024];
  memset(buf, 0x3c, sizeof buf);
  double *rtt = malloc(sizeof(double) * ROUNDS);
  for (int i = 0; i < ROUNDS + WARM; i++) {
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
  double p50 = bench_median(rtt, ROUNDS);
  printf("# DataChannel lane, 1 KiB round trip, %d rounds: p50 %.1f us, p99 %.1f us\n", ROUNDS,
         p50 * 1e6, rtt[(int)(ROUNDS * 0.99)] * 1e6);
  bench_line_f("lane.dc.1k.rtt.p50", p50, "s");
  bench_line_f("lane.dc.1k.rtt.p99", rtt[(int)(ROUNDS * 0.99)], "s");
  free(rtt);

  actr_lane_unref(ta);
  actr_lane_unref(tb);
  actr_lane_unref(ra);
  actr_lane_unref(rb);
  actr_rtc_link_free(a);
  actr_rtc_link_free(b);
  actr_signaling_free(sa);
  actr_signaling_free(sb);
  actr_runtime_unref(rt);
  actr_runtime_unref(rt2);
  return 0;
}
