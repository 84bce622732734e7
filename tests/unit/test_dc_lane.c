/* test_dc_lane.c — the DataChannel lane over an in-memory channel pair:
 * fragmentation on send, bounded reassembly on receive, waiting for open,
 * failure classes, flow control, hostile fragments, the fragment send hook.
 * (The same lane over real WebRTC channels is tested in tests/rtc/.) */
#include <glib.h>
#include <stdatomic.h>
#include <string.h>

#include <actr/error.h>
#include <actr/testing.h>

#include "dc_port.h"
#include "fragment.h"

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")
#define ASSERT_RC(expr, name) g_assert_cmpstr(actr_err_name(expr), ==, name)

static uint8_t *pattern(size_t len, uint32_t seed) {
  uint8_t *buf = g_malloc(len ? len : 1);
  for (size_t i = 0; i < len; i++)
    buf[i] = (uint8_t)((i * 31u + seed * 7u) ^ (i >> 11));
  return buf;
}

static void check_msg(actr_msg_t *msg, size_t len, uint32_t seed) {
  g_assert_nonnull(msg);
  uint8_t *want = pattern(len, seed);
  g_assert_cmpmem(actr_msg_data(msg), actr_msg_len(msg), want, len);
  g_free(want);
  actr_msg_free(msg);
}

static void test_lane_type_and_health(void) {
  actr_lane_t *a, *b;
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_RPC_RELIABLE, NULL, ACTR_LANE_DC_OPEN, &a, &b));
  g_assert_cmpstr(actr_lane_type(a), ==, "WebRtcDataChannel");
  g_assert_true(actr_lane_is_healthy(a));
  actr_envelope_t *env = NULL;
  ASSERT_RC(actr_lane_recv_envelope(a, 0, &env), "INVALID_OPERATION");
  /* The in-memory pair delivers on the sender's thread under its lock:
   * no push delivery there (WebRTC lanes have it: tests/link). */
  ASSERT_RC(actr_lane_set_handler(a, NULL, NULL), "INVALID_OPERATION");
  actr_lane_close(b);
  g_assert_false(actr_lane_is_healthy(a)); /* the channel closed under both */
  g_assert_false(actr_lane_is_healthy(b));
  actr_lane_unref(a);
  actr_lane_unref(b);
}

static void test_media_rtp_not_a_datalane(void) {
  actr_lane_t *a = NULL, *b = NULL;
  ASSERT_RC(actr__dc_mempair_new(ACTR_PAYLOAD_MEDIA_RTP, NULL, ACTR_LANE_DC_OPEN, &a, &b), "NOT_IMPLEMENTED");
  g_assert_null(a);
}

/* Every DataChannel payload type, the sizes around the fragment boundary,
 * both ways. */
static void test_sizes_every_type(void) {
  static const size_t sizes[] = {0, 1, ACTR__DC_MAX_PAYLOAD, ACTR__DC_MAX_PAYLOAD + 1,
                                 200 * 1024, 16u << 20};
  for (int t = 0; t <= ACTR_PAYLOAD_STREAM_LATENCY_FIRST; t++) {
    actr_lane_dc_config_t cfg = {.inbound_frames = 512, .send_high_water_bytes = 64u << 20};
    actr_lane_t *a, *b;
    ASSERT_OK(actr__dc_mempair_new(t, &cfg, ACTR_LANE_DC_OPEN, &a, &b));
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
      for (int dir = 0; dir < 2; dir++) {
        actr_lane_t *tx = dir ? b : a, *rx = dir ? a : b;
        uint8_t *data = pattern(sizes[i], (uint32_t)(i + 10 * t));
        ASSERT_OK(actr_lane_send(tx, data, sizes[i]));
        g_free(data);
        actr_msg_t *msg;
        ASSERT_OK(actr_lane_recv(rx, 5000, &msg));
        check_msg(msg, sizes[i], (uint32_t)(i + 10 * t));
      }
    }
    actr_lane_stats_t st;
    ASSERT_OK(actr_lane_stats(a, &st));
    g_assert_cmpuint(st.msgs_sent, ==, G_N_ELEMENTS(sizes));
    g_assert_cmpuint(st.msgs_received, ==, G_N_ELEMENTS(sizes));
    g_assert_cmpuint(st.reassembly_pending_messages, ==, 0);
    actr_lane_unref(a);
    actr_lane_unref(b);
  }
}

static void test_message_too_large_sends_nothing(void) {
  /* 65535 fragments of 65527 bytes is the most a message may have; the
   * check happens before any byte is read, so a 4 GiB length costs nothing. */
  actr_lane_t *a, *b;
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_RPC_RELIABLE, NULL, ACTR_LANE_DC_OPEN, &a, &b));
  static const uint8_t dummy[1];
  size_t too_big = (size_t)ACTR__DC_MAX_PAYLOAD * 65535u + 1u;
  ASSERT_RC(actr_lane_send(a, dummy, too_big), "MESSAGE_TOO_LARGE");
  actr_msg_t *msg;
  ASSERT_RC(actr_lane_try_recv(b, &msg), "WOULD_BLOCK");
  actr_lane_stats_t st;
  ASSERT_OK(actr_lane_stats(a, &st));
  g_assert_cmpuint(st.msgs_sent, ==, 0);
  actr_lane_unref(a);
  actr_lane_unref(b);
}

/* ---- waiting for open, failure classes ---- */

typedef struct {
  actr_lane_t *lane;
  int rc;
} send_result_t;

static gpointer send_small(gpointer p) {
  send_result_t *r = p;
  r->rc = actr_lane_send(r->lane, "hello", 5);
  return NULL;
}

static void test_send_waits_for_open(void) {
  actr_lane_t *a, *b;
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_RPC_RELIABLE, NULL, ACTR_LANE_DC_CONNECTING, &a, &b));
  ASSERT_RC(actr_lane_try_send(a, "x", 1), "WOULD_BLOCK");
  send_result_t r = {a, 1};
  GThread *t = g_thread_new("sender", send_small, &r);
  g_usleep(30000); /* the sender is waiting on the state; nothing arrived */
  actr_msg_t *msg;
  ASSERT_RC(actr_lane_try_recv(b, &msg), "WOULD_BLOCK");
  actr__dc_mempair_set_state(a, ACTR_LANE_DC_OPEN);
  g_thread_join(t);
  ASSERT_OK(r.rc);
  ASSERT_OK(actr_lane_recv(b, 1000, &msg));
  g_assert_cmpmem(actr_msg_data(msg), actr_msg_len(msg), "hello", 5);
  actr_msg_free(msg);
  actr_lane_unref(a);
  actr_lane_unref(b);
}

static void test_send_open_timeout_is_not_open(void) {
  actr_lane_dc_config_t cfg = {.open_timeout_ms = 50};
  actr_lane_t *a, *b;
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_RPC_RELIABLE, &cfg, ACTR_LANE_DC_CONNECTING, &a, &b));
  ASSERT_RC(actr_lane_send(a, "x", 1), "DATA_CHANNEL_NOT_OPEN");
  g_assert_true(actr_lane_is_healthy(a)); /* connecting is not unhealthy */
  actr_lane_unref(a);
  actr_lane_unref(b);
}

static void test_send_while_connecting_then_closed(void) {
  actr_lane_t *a, *b;
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_RPC_RELIABLE, NULL, ACTR_LANE_DC_CONNECTING, &a, &b));
  send_result_t r = {a, 1};
  GThread *t = g_thread_new("sender", send_small, &r);
  g_usleep(20000);
  actr__dc_mempair_set_state(a, ACTR_LANE_DC_CLOSED);
  g_thread_join(t);
  ASSERT_RC(r.rc, "DATA_CHANNEL_CLOSED");
  ASSERT_RC(actr_lane_send(a, "x", 1), "DATA_CHANNEL_CLOSED");
  actr_msg_t *msg;
  ASSERT_RC(actr_lane_recv(b, 100, &msg), "DATA_CHANNEL_CLOSED");
  actr_lane_unref(a);
  actr_lane_unref(b);
}

/* ---- concurrency: several senders on one lane ---- */

#define SENDERS 4
#define PER_SENDER 12

typedef struct {
  actr_lane_t *lane;
  int id;
} sender_arg_t;

static size_t conc_size(int id, int i) { return (size_t)(id * 7 + i) * 9001u % 300000u; }

static gpointer conc_sender(gpointer p) {
  sender_arg_t *s = p;
  for (int i = 0; i < PER_SENDER; i++) {
    size_t len = conc_size(s->id, i);
    uint8_t *data = pattern(len, (uint32_t)(s->id * 1000 + i));
    if (len >= 4)
      memcpy(data, &(uint32_t){(uint32_t)(s->id * 1000 + i)}, 4);
    int rc = actr_lane_send(s->lane, data, len);
    if (rc != ACTR_OK)
      g_error("send: %s", actr_err_name(rc));
    g_free(data);
  }
  return NULL;
}

/* A hook that yields after every fragment so senders interleave. */
static atomic_int hook_calls;
static void yield_hook(const actr_testing_fragment_send_event_t *ev, void *user) {
  (void)ev;
  (void)user;
  atomic_fetch_add(&hook_calls, 1);
  g_thread_yield();
}

static void test_many_senders_interleave(void) {
  actr_lane_dc_config_t cfg = {.inbound_frames = 8, .send_high_water_bytes = 256 * 1024};
  actr_lane_t *a, *b;
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_STREAM_RELIABLE, &cfg, ACTR_LANE_DC_OPEN, &a, &b));
  actr_testing_fragment_send_hook_fn prev_fn;
  void *prev_user;
  atomic_store(&hook_calls, 0);
  actr_testing_set_fragment_send_hook(yield_hook, NULL, &prev_fn, &prev_user);
  sender_arg_t args[SENDERS];
  GThread *t[SENDERS];
  for (int s = 0; s < SENDERS; s++) {
    args[s] = (sender_arg_t){actr_lane_ref(a), s};
    t[s] = g_thread_new("sender", conc_sender, &args[s]);
  }
  int seen[SENDERS][PER_SENDER] = {{0}};
  int expected_frames = 0;
  for (int s = 0; s < SENDERS; s++)
    for (int i = 0; i < PER_SENDER; i++) {
      uint16_t n;
      actr__frag_count(conc_size(s, i), &n);
      expected_frames += n;
    }
  for (int m = 0; m < SENDERS * PER_SENDER; m++) {
    actr_msg_t *msg;
    ASSERT_OK(actr_lane_recv(b, 10000, &msg));
    size_t len = actr_msg_len(msg);
    /* Identify the message by its length + leading tag, then check it all. */
    int found = 0;
    for (int s = 0; s < SENDERS && !found; s++)
      for (int i = 0; i < PER_SENDER && !found; i++) {
        if (conc_size(s, i) != len || seen[s][i])
          continue;
        uint32_t tag = (uint32_t)(s * 1000 + i);
        if (len >= 4 && memcmp(actr_msg_data(msg), &tag, 4) != 0)
          continue;
        uint8_t *want = pattern(len, tag);
        if (len >= 4)
          memcpy(want, &tag, 4);
        g_assert_cmpmem(actr_msg_data(msg), len, want, len);
        g_free(want);
        seen[s][i] = found = 1;
      }
    g_assert_true(found);
    actr_msg_free(msg);
  }
  for (int s = 0; s < SENDERS; s++) {
    g_thread_join(t[s]);
    actr_lane_unref(args[s].lane);
  }
  actr_testing_set_fragment_send_hook(prev_fn, prev_user, NULL, NULL);
  g_assert_cmpint(atomic_load(&hook_calls), ==, expected_frames);
  actr_lane_unref(a);
  actr_lane_unref(b);
}

/* ---- the fragment send hook (the reference's test-utils hook) ---- */

typedef struct {
  GMutex mu;
  GArray *events;
} recorder_t;

static void record_hook(const actr_testing_fragment_send_event_t *ev, void *user) {
  recorder_t *r = user;
  g_mutex_lock(&r->mu);
  g_array_append_val(r->events, *ev);
  g_mutex_unlock(&r->mu);
}

static void test_fragment_send_hook_observes(void) {
  actr_lane_t *a, *b;
  actr_lane_dc_config_t cfg = {.inbound_frames = 16};
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_RPC_RELIABLE, &cfg, ACTR_LANE_DC_OPEN, &a, &b));
  recorder_t rec = {.events = g_array_new(FALSE, FALSE, sizeof(actr_testing_fragment_send_event_t))};
  g_mutex_init(&rec.mu);
  actr_testing_set_fragment_send_hook(record_hook, &rec, NULL, NULL);
  uint8_t *small = pattern(100, 1), *big = pattern(200 * 1024, 2);
  ASSERT_OK(actr_lane_send(a, small, 100));
  ASSERT_OK(actr_lane_send(a, big, 200 * 1024));
  actr_testing_set_fragment_send_hook(NULL, NULL, NULL, NULL);
  g_assert_cmpuint(rec.events->len, ==, 1 + 4);
  actr_testing_fragment_send_event_t *ev = (actr_testing_fragment_send_event_t *)rec.events->data;
  g_assert_cmpuint(ev[0].msg_id, ==, 0);
  g_assert_cmpuint(ev[0].frag_index, ==, 0);
  g_assert_cmpuint(ev[0].total_frags, ==, 1);
  g_assert_cmpuint(ev[0].fragment_payload_len, ==, 100);
  g_assert_cmpuint(ev[0].message_len, ==, 100);
  size_t sum = 0;
  for (int i = 1; i <= 4; i++) {
    g_assert_cmpuint(ev[i].msg_id, ==, 1);
    g_assert_cmpuint(ev[i].frag_index, ==, i - 1);
    g_assert_cmpuint(ev[i].total_frags, ==, 4);
    g_assert_cmpuint(ev[i].message_len, ==, 200 * 1024);
    g_assert_cmpuint(ev[i].fragment_payload_len, ==, i < 4 ? ACTR__DC_MAX_PAYLOAD : 200 * 1024 - 3 * ACTR__DC_MAX_PAYLOAD);
    sum += ev[i].fragment_payload_len;
  }
  g_assert_cmpuint(sum, ==, 200 * 1024);
  actr_msg_t *msg;
  ASSERT_OK(actr_lane_recv(b, 1000, &msg));
  check_msg(msg, 100, 1);
  ASSERT_OK(actr_lane_recv(b, 1000, &msg));
  check_msg(msg, 200 * 1024, 2);
  g_free(small);
  g_free(big);
  g_array_free(rec.events, TRUE);
  g_mutex_clear(&rec.mu);
  actr_lane_unref(a);
  actr_lane_unref(b);
}

/* A hook that stalls the sender after its first fragment, until released:
 * the channel is lost in the middle of the message. */
typedef struct {
  GMutex mu;
  GCond cond;
  bool stalled, release;
} stall_t;

static void stall_hook(const actr_testing_fragment_send_event_t *ev, void *user) {
  stall_t *s = user;
  if (ev->frag_index != 0 || ev->total_frags == 1)
    return;
  g_mutex_lock(&s->mu);
  s->stalled = true;
  g_cond_broadcast(&s->cond);
  while (!s->release)
    g_cond_wait(&s->cond, &s->mu);
  g_mutex_unlock(&s->mu);
}

static gpointer send_big(gpointer p) {
  send_result_t *r = p;
  uint8_t *data = pattern(300000, 5);
  r->rc = actr_lane_send(r->lane, data, 300000);
  g_free(data);
  return NULL;
}

static void test_channel_lost_mid_message(void) {
  actr_lane_t *a, *b;
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_RPC_RELIABLE, NULL, ACTR_LANE_DC_OPEN, &a, &b));
  stall_t st = {0};
  g_mutex_init(&st.mu);
  g_cond_init(&st.cond);
  actr_testing_set_fragment_send_hook(stall_hook, &st, NULL, NULL);
  send_result_t r = {a, 1};
  GThread *t = g_thread_new("sender", send_big, &r);
  g_mutex_lock(&st.mu);
  while (!st.stalled)
    g_cond_wait(&st.cond, &st.mu);
  g_mutex_unlock(&st.mu);
  /* The receiver holds one fragment of the message; the channel goes away. */
  actr_msg_t *msg;
  ASSERT_RC(actr_lane_try_recv(b, &msg), "WOULD_BLOCK");
  actr_lane_stats_t stats;
  ASSERT_OK(actr_lane_stats(b, &stats));
  g_assert_cmpuint(stats.reassembly_pending_messages, ==, 1);
  actr__dc_mempair_set_state(a, ACTR_LANE_DC_CLOSED);
  g_mutex_lock(&st.mu);
  st.release = true;
  g_cond_broadcast(&st.cond);
  g_mutex_unlock(&st.mu);
  g_thread_join(t);
  actr_testing_set_fragment_send_hook(NULL, NULL, NULL, NULL);
  ASSERT_RC(r.rc, "DATA_CHANNEL_CLOSED"); /* the rest of the message failed, classified */
  ASSERT_RC(actr_lane_recv(b, 1000, &msg), "DATA_CHANNEL_CLOSED"); /* no partial message */
  g_assert_false(actr_lane_is_healthy(b));
  g_mutex_clear(&st.mu);
  g_cond_clear(&st.cond);
  actr_lane_unref(a);
  actr_lane_unref(b); /* frees the partial message (leak check) */
}

/* ---- hostile fragments from the peer ---- */

static void inject_frame(actr_lane_t *lane, uint32_t id, uint16_t idx, uint16_t total,
                         const void *payload, size_t len) {
  uint8_t *buf = g_malloc(8 + len);
  actr__frag_header_encode(buf, id, idx, total);
  if (len)
    memcpy(buf + 8, payload, len);
  g_assert_true(actr__dc_mempair_inject(lane, buf, 8 + len));
  g_free(buf);
}

static void test_hostile_fragments(void) {
  actr_lane_dc_config_t cfg = {
    .inbound_frames = 256,
    .reassembly = {.max_pending_bytes = 4u << 20, .max_pending_messages = 8, .ttl_ms = 60000},
  };
  actr_lane_t *a, *b;
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_STREAM_LATENCY_FIRST, &cfg, ACTR_LANE_DC_OPEN, &a, &b));
  uint8_t *full = pattern(ACTR__DC_MAX_PAYLOAD, 9);
  /* short, total 0, index >= total, conflicting totals */
  g_assert_true(actr__dc_mempair_inject(b, "short", 5));
  inject_frame(b, 100, 0, 0, "x", 1);
  inject_frame(b, 101, 5, 2, full, ACTR__DC_MAX_PAYLOAD);
  inject_frame(b, 102, 0, 3, full, ACTR__DC_MAX_PAYLOAD);
  inject_frame(b, 102, 1, 4, full, ACTR__DC_MAX_PAYLOAD);
  inject_frame(b, 102, 0, 3, full, ACTR__DC_MAX_PAYLOAD); /* duplicate */
  /* a flood of never-completing messages */
  for (uint32_t id = 1000; id < 1100; id++)
    inject_frame(b, id, 0, 50, full, ACTR__DC_MAX_PAYLOAD);
  /* good traffic still flows */
  uint8_t *good = pattern(150000, 3);
  ASSERT_OK(actr_lane_send(a, good, 150000));
  actr_msg_t *msg;
  ASSERT_OK(actr_lane_recv(b, 5000, &msg));
  check_msg(msg, 150000, 3);
  actr_lane_stats_t st;
  ASSERT_OK(actr_lane_stats(b, &st));
  g_assert_cmpuint(st.reassembly_pending_bytes, <=, 4u << 20);
  g_assert_cmpuint(st.reassembly_pending_messages, <=, 8);
  g_assert_cmpuint(st.reassembly_rejected, >=, 4);
  g_assert_cmpuint(st.reassembly_evicted_cap, >=, 90);
  g_assert_cmpuint(st.dropped_invalid, >=, 5);
  g_assert_cmpuint(st.msgs_received, ==, 1);
  g_free(full);
  g_free(good);
  actr_lane_unref(a);
  actr_lane_unref(b);
}

/* ---- flow control: a stalled receiver pushes the sender back ---- */

typedef struct {
  actr_lane_t *lane;
  atomic_int sent;
  int rc;
} flood_t;

static gpointer flood(gpointer p) {
  flood_t *f = p;
  uint8_t *data = pattern(65536, 0);
  for (int i = 0; i < 200; i++) {
    memcpy(data, &i, sizeof i);
    if ((f->rc = actr_lane_send(f->lane, data, 65536)) != ACTR_OK)
      break;
    atomic_fetch_add(&f->sent, 1);
  }
  g_free(data);
  return NULL;
}

/* Small messages (one fragment each) are held back too: the channel's
 * buffered amount never grows past the high-water mark plus one frame. */
static gpointer flood_small(gpointer p) {
  flood_t *f = p;
  uint8_t data[1000] = {0};
  for (int i = 0; i < 5000; i++) {
    memcpy(data, &i, sizeof i);
    if ((f->rc = actr_lane_send(f->lane, data, sizeof data)) != ACTR_OK)
      break;
    atomic_fetch_add(&f->sent, 1);
  }
  return NULL;
}

static void test_stalled_receiver_blocks_small_messages(void) {
  actr_lane_dc_config_t cfg = {.inbound_frames = 16, .send_high_water_bytes = 64 * 1024};
  actr_lane_t *a, *b;
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_RPC_RELIABLE, &cfg, ACTR_LANE_DC_OPEN, &a, &b));
  flood_t f = {.lane = a};
  GThread *t = g_thread_new("flood", flood_small, &f);
  g_usleep(100000); /* nobody reads b */
  /* ring (16) + high water (64 KiB / 1008 B = 65) + one in flight */
  g_assert_cmpint(atomic_load(&f.sent), <=, 16 + 65 + 2);
  for (int i = 0; i < 5000; i++) {
    actr_msg_t *msg;
    ASSERT_OK(actr_lane_recv(b, 5000, &msg));
    int got;
    memcpy(&got, actr_msg_data(msg), sizeof got);
    g_assert_cmpint(got, ==, i);
    actr_msg_free(msg);
  }
  g_thread_join(t);
  ASSERT_OK(f.rc);
  actr_lane_unref(a);
  actr_lane_unref(b);
}

static void test_stalled_receiver_blocks_sender(void) {
  actr_lane_dc_config_t cfg = {.inbound_frames = 16, .send_high_water_bytes = 512 * 1024};
  actr_lane_t *a, *b;
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_STREAM_RELIABLE, &cfg, ACTR_LANE_DC_OPEN, &a, &b));
  flood_t f = {.lane = a};
  GThread *t = g_thread_new("flood", flood, &f);
  /* Nobody reads b: the sender must stop far short of 200 messages (at most
   * ring + high water + one message), whatever the timing. */
  g_usleep(100000);
  int sent = atomic_load(&f.sent);
  g_assert_cmpint(sent, <, 200);
  g_assert_cmpint(sent, <=, 16 * 2 + 512 * 1024 / 65536 + 2);
  for (int i = 0; i < 200; i++) {
    actr_msg_t *msg;
    ASSERT_OK(actr_lane_recv(b, 5000, &msg));
    g_assert_cmpuint(actr_msg_len(msg), ==, 65536);
    int got;
    memcpy(&got, actr_msg_data(msg), sizeof got);
    g_assert_cmpint(got, ==, i); /* every message, in order */
    actr_msg_free(msg);
  }
  g_thread_join(t);
  ASSERT_OK(f.rc);
  actr_lane_unref(a);
  actr_lane_unref(b);
}

/* try_send never waits: a message of many fragments goes all at once or
 * not at all (it used to wait for room after its first fragment, for ever
 * when nobody reads); a send with a timeout gives up with ACTR_ETIMEOUT. */
static void test_try_send_and_timeout(void) {
  actr_lane_dc_config_t cfg = {.inbound_frames = 4, .send_high_water_bytes = 256 * 1024};
  actr_lane_t *a, *b;
  ASSERT_OK(actr__dc_mempair_new(ACTR_PAYLOAD_RPC_RELIABLE, &cfg, ACTR_LANE_DC_OPEN, &a, &b));
  size_t big = 2u << 20; /* 33 fragments, far over the high-water mark; nobody reads b */
  uint8_t *data = pattern(big, 7);
  ASSERT_OK(actr_lane_try_send(a, data, big)); /* all of it, at once */
  ASSERT_RC(actr_lane_try_send(a, data, 10), "WOULD_BLOCK"); /* now over the mark */
  ASSERT_RC(actr_lane_send_timeout(a, data, 10, 100), "TIMEOUT");
  ASSERT_RC(actr_lane_send_timeout(a, data, big, 100), "TIMEOUT");
  /* What was taken arrives whole (the cut one never does). */
  actr_msg_t *msg;
  ASSERT_OK(actr_lane_recv(b, 5000, &msg));
  check_msg(msg, big, 7);
  ASSERT_RC(actr_lane_recv(b, 200, &msg), "TIMEOUT");
  g_free(data);
  actr_lane_unref(a);
  actr_lane_unref(b);
}


/* actr_lane_dc_new checks the port's ops: the mandatory five, and the
 * push-delivery three all or none. */
static int op_send(void *p, actr_msg_t *m) { (void)p; actr_msg_free(m); return ACTR_OK; }
static size_t op_amount(void *p) { (void)p; return 0; }
static void op_void(void *p) { (void)p; }
static int op_call(void *p, int (*fn)(void *), void *d) { (void)p; return fn(d); }

static void test_public_port_checks(void) {
  actr_lane_t *lane = NULL;
  actr_lane_dc_port_ops_t ops = {.send = op_send, .buffered_amount = op_amount, .resume = op_void,
                                 .close = op_void, .release = op_void};
  actr_lane_dc_port_ops_t no_release = ops;
  no_release.release = NULL;
  g_assert_cmpstr(actr_err_name(actr_lane_dc_new(ACTR_PAYLOAD_RPC_RELIABLE, &no_release, NULL,
                                                 ACTR_LANE_DC_OPEN, NULL, &lane)), ==,
                  "INVALID_ARGUMENT");
  g_assert_null(lane);
  actr_lane_dc_port_ops_t half_push = ops;
  half_push.call = op_call;
  g_assert_cmpstr(actr_err_name(actr_lane_dc_new(ACTR_PAYLOAD_RPC_RELIABLE, &half_push, NULL,
                                                 ACTR_LANE_DC_OPEN, NULL, &lane)), ==,
                  "INVALID_ARGUMENT");
  g_assert_cmpstr(actr_err_name(actr_lane_dc_new(ACTR_PAYLOAD_MEDIA_RTP, &ops, NULL,
                                                 ACTR_LANE_DC_OPEN, NULL, &lane)), ==,
                  "NOT_IMPLEMENTED");
  actr_lane_dc_config_t cfg;
  actr_lane_dc_config_init(&cfg);
  g_assert_cmpstr(actr_err_name(actr_lane_dc_new(ACTR_PAYLOAD_RPC_RELIABLE, &ops, NULL,
                                                 ACTR_LANE_DC_OPEN, &cfg, &lane)), ==, "OK");
  g_assert_cmpstr(actr_err_name(actr_lane_send(lane, "x", 1)), ==, "OK");
  /* No push delivery on this port: handler, pause, writable refused. */
  g_assert_cmpstr(actr_err_name(actr_lane_pause(lane)), ==, "INVALID_OPERATION");
  g_assert_cmpstr(actr_err_name(actr_lane_set_writable_handler(lane, NULL, NULL)), ==,
                  "INVALID_OPERATION");
  actr_lane_unref(lane);
}

/* A port whose peer takes messages of at most 100 bytes (a tiny
 * a=max-message-size): the lane's send says MESSAGE_TOO_LARGE, the port's
 * own code, not a bare DATA_CHANNEL. */
static int op_send_upto_100(void *p, actr_msg_t *m) {
  (void)p;
  size_t len = actr_msg_len(m);
  actr_msg_free(m);
  return len > 100 ? ACTR_EMESSAGE_TOO_LARGE : ACTR_OK;
}

static void test_peer_max_message_passed_through(void) {
  actr_lane_dc_port_ops_t ops = {.send = op_send_upto_100, .buffered_amount = op_amount,
                                 .resume = op_void, .close = op_void, .release = op_void};
  actr_lane_t *lane = NULL;
  ASSERT_OK(actr_lane_dc_new(ACTR_PAYLOAD_RPC_RELIABLE, &ops, NULL, ACTR_LANE_DC_OPEN, NULL,
                             &lane));
  uint8_t buf[1000] = {0};
  ASSERT_OK(actr_lane_send(lane, buf, 50));
  ASSERT_RC(actr_lane_send(lane, buf, sizeof buf), "MESSAGE_TOO_LARGE");
  actr_lane_unref(lane);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dc-lane/lane-type-and-health", test_lane_type_and_health);
  g_test_add_func("/dc-lane/media-rtp-not-a-datalane", test_media_rtp_not_a_datalane);
  g_test_add_func("/dc-lane/sizes-every-type", test_sizes_every_type);
  g_test_add_func("/dc-lane/message-too-large-sends-nothing", test_message_too_large_sends_nothing);
  g_test_add_func("/dc-lane/open/send-waits-for-open", test_send_waits_for_open);
  g_test_add_func("/dc-lane/open/timeout-is-not-open", test_send_open_timeout_is_not_open);
  g_test_add_func("/dc-lane/open/connecting-then-closed", test_send_while_connecting_then_closed);
  g_test_add_func("/dc-lane/concurrency/many-senders-interleave", test_many_senders_interleave);
  g_test_add_func("/dc-lane/hook/observes-fragments", test_fragment_send_hook_observes);
  g_test_add_func("/dc-lane/channel-lost-mid-message", test_channel_lost_mid_message);
  g_test_add_func("/dc-lane/hostile-fragments", test_hostile_fragments);
  g_test_add_func("/dc-lane/backpressure/stalled-receiver-blocks-sender", test_stalled_receiver_blocks_sender);
  g_test_add_func("/dc-lane/backpressure/small-messages-held-back", test_stalled_receiver_blocks_small_messages);
  g_test_add_func("/dc-lane/backpressure/try-send-and-timeout", test_try_send_and_timeout);
  g_test_add_func("/dc-lane/public-port/ops-checked", test_public_port_checks);
  g_test_add_func("/dc-lane/public-port/peer-max-message", test_peer_max_message_passed_through);
  return g_test_run();
}
