/* test_rtc_link.c — DataChannel lanes over real WebRTC peer connections
 * (ICE on 127.0.0.1, DTLS, SCTP, DCEP), two links in one process joined by
 * the in-process signaling pair.  Run inside a network namespace holding
 * only lo (tests/link/netns-run.sh). */
#include <glib.h>
#include <stdatomic.h>
#include <string.h>

#include <actr/error.h>
#include <actr/rtc_link.h>

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")

typedef struct {
  actr_runtime_t *rt;
  actr_signaling_t *sa, *sb;
  actr_rtc_link_t *a, *b; /* a offers, b answers */
} fixture_t;

static const char *const loopback[] = {"127.0.0.1"};

static void fixture_setup(fixture_t *f, gconstpointer data) {
  (void)data;
  ASSERT_OK(actr_runtime_new(&f->rt));
  ASSERT_OK(actr_signaling_pair_new(&f->sa, &f->sb));
  actr_rtc_link_config_t cfg;
  actr_rtc_link_config_init(&cfg);
  cfg.webrtc.local_addresses = loopback;
  cfg.webrtc.local_address_count = 1;
  ASSERT_OK(actr_rtc_link_new(f->rt, &cfg, f->sb, false, &f->b));
  ASSERT_OK(actr_rtc_link_new(f->rt, &cfg, f->sa, true, &f->a));
  ASSERT_OK(actr_rtc_link_wait_connected(f->a, 20000));
  ASSERT_OK(actr_rtc_link_wait_connected(f->b, 20000));
}

static void fixture_teardown(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_rtc_link_free(f->a);
  actr_rtc_link_free(f->b);
  actr_signaling_free(f->sa);
  actr_signaling_free(f->sb);
  actr_runtime_unref(f->rt);
}

static uint8_t *pattern(size_t len, uint32_t seed) {
  uint8_t *buf = g_malloc(len ? len : 1);
  for (size_t i = 0; i < len; i++)
    buf[i] = (uint8_t)((i * 131u + seed * 17u) ^ (i >> 13));
  return buf;
}

typedef struct {
  actr_lane_t *rx;
  int rc;
  actr_msg_t *msg;
} receiver_t;

static gpointer receiver_main(gpointer p) {
  receiver_t *r = p;
  r->rc = actr_lane_recv(r->rx, 30000, &r->msg);
  return NULL;
}

/* exchange: @size bytes from @tx, received whole on @rx by another thread
 * (flow control: a message larger than the buffers between the two lanes
 * can only be sent while someone reads). */
static void exchange(actr_lane_t *tx, actr_lane_t *rx, size_t size, uint32_t seed) {
  uint8_t *data = pattern(size, seed);
  receiver_t r = {.rx = rx};
  GThread *t = g_thread_new("receiver", receiver_main, &r);
  ASSERT_OK(actr_lane_send(tx, data, size));
  g_thread_join(t);
  ASSERT_OK(r.rc);
  g_assert_cmpmem(actr_msg_data(r.msg), actr_msg_len(r.msg), data, size);
  actr_msg_free(r.msg);
  g_free(data);
}

static void test_every_type_every_size(fixture_t *f, gconstpointer data) {
  (void)data;
  static const size_t sizes[] = {0, 65527, 65528, 200 * 1024, 16u << 20};
  for (int t = 0; t <= ACTR_PAYLOAD_STREAM_LATENCY_FIRST; t++) {
    actr_lane_t *la, *lb;
    ASSERT_OK(actr_rtc_link_lane(f->a, t, &la)); /* opens the channel */
    ASSERT_OK(actr_rtc_link_lane(f->b, t, &lb)); /* binds to the peer's */
    g_assert_cmpstr(actr_lane_type(la), ==, "WebRtcDataChannel");
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
      exchange(la, lb, sizes[i], (uint32_t)(t * 10 + i));
      exchange(lb, la, sizes[i], (uint32_t)(t * 10 + i + 5));
    }
    g_assert_true(actr_lane_is_healthy(la));
    actr_lane_unref(la);
    actr_lane_unref(lb);
  }
  actr_lane_t *l = NULL;
  g_assert_cmpstr(actr_err_name(actr_rtc_link_lane(f->a, ACTR_PAYLOAD_MEDIA_RTP, &l)), ==,
                  "NOT_IMPLEMENTED");
  g_assert_null(l);
}

/* The answering side receives on a lane it had not asked for yet: nothing
 * is dropped. */
static void test_kept_before_lane_asked(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *la;
  ASSERT_OK(actr_rtc_link_lane(f->a, ACTR_PAYLOAD_RPC_SIGNAL, &la));
  for (uint32_t i = 0; i < 5; i++) {
    uint8_t *d = pattern(1000 + i, i);
    ASSERT_OK(actr_lane_send(la, d, 1000 + i));
    g_free(d);
  }
  actr_lane_t *lb;
  ASSERT_OK(actr_rtc_link_lane(f->b, ACTR_PAYLOAD_RPC_SIGNAL, &lb));
  for (uint32_t i = 0; i < 5; i++) {
    actr_msg_t *msg;
    ASSERT_OK(actr_lane_recv(lb, 20000, &msg));
    uint8_t *d = pattern(1000 + i, i);
    g_assert_cmpmem(actr_msg_data(msg), actr_msg_len(msg), d, 1000 + i);
    g_free(d);
    actr_msg_free(msg);
  }
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

typedef struct {
  actr_lane_t *lane;
  int id;
} sender_t;

#define THREADS 3
#define PER_THREAD 6

static gpointer sender_main(gpointer p) {
  sender_t *s = p;
  for (int i = 0; i < PER_THREAD; i++) {
    size_t len = 100000u + (size_t)(s->id * PER_THREAD + i) * 7919u;
    uint8_t *d = pattern(len, (uint32_t)(s->id * 100 + i));
    int rc = actr_lane_send(s->lane, d, len);
    if (rc != ACTR_OK)
      g_error("send: %s", actr_err_name(rc));
    g_free(d);
  }
  return NULL;
}

static void test_threads_send_at_once(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_rtc_link_lane(f->a, ACTR_PAYLOAD_STREAM_RELIABLE, &la));
  ASSERT_OK(actr_rtc_link_lane(f->b, ACTR_PAYLOAD_STREAM_RELIABLE, &lb));
  sender_t s[THREADS];
  GThread *t[THREADS];
  for (int i = 0; i < THREADS; i++) {
    s[i] = (sender_t){la, i};
    t[i] = g_thread_new("sender", sender_main, &s[i]);
  }
  bool seen[THREADS * PER_THREAD] = {false};
  for (int m = 0; m < THREADS * PER_THREAD; m++) {
    actr_msg_t *msg;
    ASSERT_OK(actr_lane_recv(lb, 30000, &msg));
    size_t len = actr_msg_len(msg);
    int k = (int)((len - 100000u) / 7919u);
    g_assert_cmpint(k, <, THREADS * PER_THREAD);
    g_assert_false(seen[k]);
    seen[k] = true;
    uint8_t *d = pattern(len, (uint32_t)((k / PER_THREAD) * 100 + k % PER_THREAD));
    g_assert_cmpmem(actr_msg_data(msg), len, d, len);
    g_free(d);
    actr_msg_free(msg);
  }
  for (int i = 0; i < THREADS; i++)
    g_thread_join(t[i]);
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

static void test_close_seen_by_peer(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_rtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &la));
  ASSERT_OK(actr_rtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &lb));
  exchange(la, lb, 10, 1);
  actr_lane_close(la);
  actr_msg_t *msg;
  g_assert_cmpstr(actr_err_name(actr_lane_recv(lb, 20000, &msg)), ==, "DATA_CHANNEL_CLOSED");
  g_assert_false(actr_lane_is_healthy(lb));
  g_assert_cmpstr(actr_err_name(actr_lane_send(lb, "x", 1)), ==, "DATA_CHANNEL_CLOSED");
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, fixture_t, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/rtc-link/every-type-every-size", test_every_type_every_size);
  ADD("/rtc-link/kept-before-lane-asked", test_kept_before_lane_asked);
  ADD("/rtc-link/threads-send-at-once", test_threads_send_at_once);
  ADD("/rtc-link/close-seen-by-peer", test_close_seen_by_peer);
  return g_test_run();
}
