/* test_webrtc_link.c — DataChannel lanes over real WebRTC peer connections
 * (ICE on 127.0.0.1, DTLS, SCTP, DCEP), two links in one process joined by
 * the in-process signaling pair.  Run inside a network namespace holding
 * only lo (tests/link/netns-run.sh). */
#include <glib.h>
#include <stdatomic.h>
#include <string.h>

#include <actr/error.h>
#include <actr/webrtc_link.h>

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")

typedef struct {
  actr_runtime_t *rt;
  actr_signaling_t *sa, *sb;
  actr_webrtc_link_t *a, *b; /* a offers, b answers */
} fixture_t;

static const char *const loopback[] = {"127.0.0.1"};

/* @data: NULL, or a size_t * for the channels' max_buffered_bytes. */
/* fixture options (the test's data; NULL: defaults) */
typedef struct fix_opts {
  size_t max_buffered_bytes; /* 0: the default */
  bool lend_loop;
  actr_reassembly_config_t reassembly; /* both sides; zeros: defaults */
} fix_opts_t;

static void fixture_setup(fixture_t *f, gconstpointer data) {
  const fix_opts_t *o = data;
  actr_runtime_config_t rcfg;
  actr_runtime_config_init(&rcfg);
  rcfg.lend_loop = o && o->lend_loop;
  ASSERT_OK(actr_runtime_new_with(&rcfg, &f->rt));
  ASSERT_OK(actr_signaling_pair_new(&f->sa, &f->sb));
  actr_webrtc_link_config_t cfg;
  actr_webrtc_link_config_init(&cfg);
  cfg.webrtc.local_addresses = loopback;
  cfg.webrtc.local_address_count = 1;
  if (o && o->max_buffered_bytes)
    cfg.webrtc.max_buffered_bytes = o->max_buffered_bytes;
  if (o)
    cfg.reassembly = o->reassembly;
  ASSERT_OK(actr_webrtc_link_new(f->rt, &cfg, f->sb, false, &f->b));
  ASSERT_OK(actr_webrtc_link_new(f->rt, &cfg, f->sa, true, &f->a));
  ASSERT_OK(actr_webrtc_link_wait_connected(f->a, 20000));
  ASSERT_OK(actr_webrtc_link_wait_connected(f->b, 20000));
}

static void fixture_teardown(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_webrtc_link_free(f->a);
  actr_webrtc_link_free(f->b);
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

/* A lane message of several fragments that come one after another is read
 * into place by the channel (sctp.c, "joining") and handed out without a
 * copy (reassembly_joined): ten of 1 MiB, then three of 3 MiB (48
 * fragments, each joined frame above half the lane ring's bound for them,
 * so each waits for the ring to drain before the next is taken).  One past
 * a run's 64 fragments (16 MiB) comes fragment by fragment.  Every byte
 * arrives exact. */
static void test_fragments_come_joined(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &lb));
  enum { ROUNDS = 10, BIG = 3 };
  for (uint32_t i = 0; i < ROUNDS; i++)
    exchange(la, lb, (1u << 20) + i, 100 + i);
  for (uint32_t i = 0; i < BIG; i++)
    exchange(la, lb, (3u << 20) + i, 200 + i);
  exchange(la, lb, 16u << 20, 7);
  actr_lane_stats_t st;
  ASSERT_OK(actr_lane_stats(lb, &st));
  g_test_message("%d messages of 1 MiB and %d of 3 MiB: %llu came joined", ROUNDS, BIG,
                 (unsigned long long)st.reassembly_joined);
  /* Nothing else is sent on the association: every run completes. */
  g_assert_cmpuint(st.reassembly_joined, ==, ROUNDS + BIG);
  g_assert_cmpuint(st.reassembly_rejected, ==, 0);
  g_assert_cmpuint(st.dropped_invalid, ==, 0);
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

static void test_every_type_every_size(fixture_t *f, gconstpointer data) {
  (void)data;
  static const size_t sizes[] = {0, 65527, 65528, 200 * 1024, 16u << 20};
  for (int t = 0; t <= ACTR_PAYLOAD_STREAM_LATENCY_FIRST; t++) {
    actr_lane_t *la, *lb;
    ASSERT_OK(actr_webrtc_link_lane(f->a, t, &la)); /* opens the channel */
    ASSERT_OK(actr_webrtc_link_lane(f->b, t, &lb)); /* binds to the peer's */
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
  g_assert_cmpstr(actr_err_name(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_MEDIA_RTP, &l)), ==,
                  "NOT_IMPLEMENTED");
  g_assert_null(l);
}

/* The answering side receives on a lane it had not asked for yet: nothing
 * is dropped. */
static void test_kept_before_lane_asked(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *la;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_SIGNAL, &la));
  for (uint32_t i = 0; i < 5; i++) {
    uint8_t *d = pattern(1000 + i, i);
    ASSERT_OK(actr_lane_send(la, d, 1000 + i));
    g_free(d);
  }
  actr_lane_t *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_SIGNAL, &lb));
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

/* A type the receiver never asked for, while it reads another: past its
 * queue (64 frames) its fragments are dropped and counted instead of
 * pausing the association; the type that is read goes on.  (Before, the
 * full queue paused SCTP: "after" never came and the sends blocked.) */
static void test_unread_type_stalls_nobody(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *read_a, *read_b, *unread_a;
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &read_b));
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &read_a));
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_STREAM_RELIABLE, &unread_a));
  enum { N = 1000, SIZE = 8192 }; /* 8 MiB: past every buffer on the way */
  for (uint32_t i = 0; i < N; i++) {
    uint8_t *d = pattern(SIZE, i);
    ASSERT_OK(actr_lane_send_timeout(unread_a, d, SIZE, 10000));
    g_free(d);
  }
  /* All of them reach b (its queue holds 64 frames, the rest dropped). */
  actr_lane_stats_t st;
  for (int i = 0; i < 1000; i++) {
    ASSERT_OK(actr_webrtc_link_stats(f->b, ACTR_PAYLOAD_STREAM_RELIABLE, &st));
    if (st.dropped_unread == N - 64)
      break;
    g_usleep(10000);
  }
  g_assert_cmpuint(st.dropped_unread, ==, N - 64);
  ASSERT_OK(actr_lane_send(read_a, "after", 5));
  actr_msg_t *m;
  ASSERT_OK(actr_lane_recv(read_b, 10000, &m));
  g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), "after", 5);
  actr_msg_free(m);
  /* Asked for at last: what was kept comes first, in order. */
  actr_lane_t *late;
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_STREAM_RELIABLE, &late));
  uint32_t kept = 0;
  while (actr_lane_try_recv(late, &m) == ACTR_OK) {
    uint8_t *d = pattern(SIZE, kept);
    g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), d, SIZE);
    g_free(d);
    actr_msg_free(m);
    kept++;
  }
  g_assert_cmpuint(kept, ==, 64);
  ASSERT_OK(actr_lane_stats(late, &st));
  g_assert_cmpuint(st.dropped_unread, ==, N - 64);
  actr_lane_unref(late);
  actr_lane_unref(read_a);
  actr_lane_unref(read_b);
  actr_lane_unref(unread_a);
}

/* The same, in the other order: the peer floods a type before the
 * receiver has asked for any lane, so that type's queue is full and SCTP
 * holds the next frame, waiting for a reader.  Asking for another type
 * then makes the flooded one unread: its held frame is dropped and the
 * association goes on.  (Before, it stayed paused for good: the other
 * type's channel open and data never came.) */
static void test_unread_before_any_lane(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *flood_a;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_STREAM_RELIABLE, &flood_a));
  enum { N = 100, SIZE = 8192 }; /* past b's queue of 64 frames */
  for (uint32_t i = 0; i < N; i++) {
    uint8_t *d = pattern(SIZE, i);
    ASSERT_OK(actr_lane_send_timeout(flood_a, d, SIZE, 10000));
    g_free(d);
  }
  /* Set-up: the frames reach b, which has asked for nothing (if they were
   * slower than this, the test would not fail on the old code either). */
  g_usleep(G_USEC_PER_SEC);
  actr_lane_t *read_a, *read_b;
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &read_b));
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &read_a));
  ASSERT_OK(actr_lane_send(read_a, "after", 5));
  actr_msg_t *m;
  ASSERT_OK(actr_lane_recv(read_b, 10000, &m));
  g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), "after", 5);
  actr_msg_free(m);
  actr_lane_stats_t st;
  ASSERT_OK(actr_webrtc_link_stats(f->b, ACTR_PAYLOAD_STREAM_RELIABLE, &st));
  g_assert_cmpuint(st.dropped_unread, >=, 1);
  actr_lane_unref(read_a);
  actr_lane_unref(read_b);
  actr_lane_unref(flood_a);
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
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_STREAM_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_STREAM_RELIABLE, &lb));
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
  /* Nothing was evicted to make room: what the senders were told was sent
   * is what arrived. */
  actr_lane_stats_t st;
  ASSERT_OK(actr_lane_stats(lb, &st));
  g_assert_cmpuint(st.reassembly_evicted_cap, ==, 0);
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

static void test_close_seen_by_peer(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &lb));
  exchange(la, lb, 10, 1);
  actr_lane_close(la);
  actr_msg_t *msg;
  g_assert_cmpstr(actr_err_name(actr_lane_recv(lb, 20000, &msg)), ==, "DATA_CHANNEL_CLOSED");
  g_assert_false(actr_lane_is_healthy(lb));
  g_assert_cmpstr(actr_err_name(actr_lane_send(lb, "x", 1)), ==, "DATA_CHANNEL_CLOSED");
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

/* Application threads send straight into SCTP (direct sends) while the
 * connection is torn down under them: each send either goes out or fails
 * with a closed code; nothing crashes, nothing hangs. */
typedef struct {
  actr_lane_t *lane;
  atomic_int sent;
  int last_rc;
} flood_t;

static gpointer flood_main(gpointer p) {
  flood_t *fl = p;
  uint8_t buf[1024];
  memset(buf, 0x6b, sizeof buf);
  for (;;) {
    int rc = actr_lane_send(fl->lane, buf, sizeof buf);
    if (rc != ACTR_OK) {
      fl->last_rc = rc;
      return NULL;
    }
    atomic_fetch_add(&fl->sent, 1);
  }
}

static gpointer drain_main(gpointer p) {
  actr_lane_t *lane = p;
  actr_msg_t *m;
  while (actr_lane_recv(lane, 20000, &m) == ACTR_OK)
    actr_msg_free(m);
  return NULL;
}

static void test_direct_sends_while_connection_ends(fixture_t *f, gconstpointer data) {
  (void)data;
  enum { SENDERS = 3 };
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_STREAM_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_STREAM_RELIABLE, &lb));
  exchange(la, lb, 10, 3);
  GThread *reader = g_thread_new("drain", drain_main, lb); /* keeps a's senders busy */
  flood_t fl[SENDERS];
  GThread *t[SENDERS];
  for (int i = 0; i < SENDERS; i++) {
    fl[i] = (flood_t){.lane = la};
    atomic_init(&fl[i].sent, 0);
    t[i] = g_thread_new("flood", flood_main, &fl[i]);
  }
  /* Let them run into SCTP and the channel's queue, then end it all (no
   * time limit here: the test's own timeout catches senders that stall). */
  for (int total = 0; total < 200; g_usleep(1000)) {
    total = 0;
    for (int i = 0; i < SENDERS; i++)
      total += atomic_load(&fl[i].sent);
  }
  actr_webrtc_link_free(f->a);
  f->a = NULL;
  for (int i = 0; i < SENDERS; i++) {
    g_thread_join(t[i]);
    g_assert_cmpstr(actr_err_name(fl[i].last_rc), ==, "DATA_CHANNEL_CLOSED");
  }
  g_assert_false(actr_lane_is_healthy(la));
  g_thread_join(reader); /* b sees the channel close */
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

/* ---- push delivery (actr_lane_set_handler) ---- */

typedef struct collector {
  GMutex mu;
  GCond cond;
  GPtrArray *msgs; /* actr_msg_t *, in arrival order */
  bool on_io_thread; /* every call ran on the runtime's I/O thread */
  actr_runtime_t *rt;
} collector_t;

static void collector_init(collector_t *c, actr_runtime_t *rt) {
  g_mutex_init(&c->mu);
  g_cond_init(&c->cond);
  c->msgs = g_ptr_array_new_with_free_func((GDestroyNotify)actr_msg_free);
  c->on_io_thread = true;
  c->rt = rt;
}

static void collector_clear(collector_t *c) {
  g_ptr_array_free(c->msgs, TRUE);
  g_mutex_clear(&c->mu);
  g_cond_clear(&c->cond);
}

static void collect(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  collector_t *c = user;
  (void)lane;
  g_mutex_lock(&c->mu);
  if (!actr_runtime_is_io_thread(c->rt))
    c->on_io_thread = false;
  g_ptr_array_add(c->msgs, msg);
  g_cond_broadcast(&c->cond);
  g_mutex_unlock(&c->mu);
}

static void wait_collected(collector_t *c, guint n) {
  gint64 until = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
  g_mutex_lock(&c->mu);
  while (c->msgs->len < n)
    if (!g_cond_wait_until(&c->cond, &c->mu, until))
      break;
  guint got = c->msgs->len;
  g_mutex_unlock(&c->mu);
  g_assert_cmpuint(got, ==, n);
}

/* Every size, in order, handed to the handler on the I/O thread; recv is
 * refused meanwhile; clearing the handler gives recv back. */
static void test_handler_every_size(fixture_t *f, gconstpointer data) {
  (void)data;
  static const size_t sizes[] = {0, 1, 65527, 65528, 200 * 1024, 4u << 20, 16u << 20};
  enum { N = G_N_ELEMENTS(sizes) };
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_STREAM_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_STREAM_RELIABLE, &lb));
  collector_t c;
  collector_init(&c, f->rt);
  ASSERT_OK(actr_lane_set_handler(lb, collect, &c));
  actr_msg_t *msg = NULL;
  g_assert_cmpstr(actr_err_name(actr_lane_recv(lb, 10, &msg)), ==, "INVALID_OPERATION");
  g_assert_cmpstr(actr_err_name(actr_lane_try_recv(lb, &msg)), ==, "INVALID_OPERATION");
  for (size_t i = 0; i < N; i++) {
    uint8_t *d = pattern(sizes[i], (uint32_t)i);
    ASSERT_OK(actr_lane_send(la, d, sizes[i]));
    g_free(d);
  }
  wait_collected(&c, N);
  g_assert_true(c.on_io_thread);
  for (size_t i = 0; i < N; i++) {
    uint8_t *d = pattern(sizes[i], (uint32_t)i);
    actr_msg_t *m = c.msgs->pdata[i];
    g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), d, sizes[i]);
    g_free(d);
  }
  actr_lane_stats_t st;
  ASSERT_OK(actr_lane_stats(lb, &st));
  g_assert_cmpuint(st.msgs_received, ==, N);
  ASSERT_OK(actr_lane_set_handler(lb, NULL, NULL));
  exchange(la, lb, 70000, 99); /* queued delivery again */
  collector_clear(&c);
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

/* Switching from recv to a handler mid-stream loses nothing and keeps the
 * order: what was queued goes to the handler first. */
static void test_handler_takes_queued_first(fixture_t *f, gconstpointer data) {
  (void)data;
  enum { N = 40 };
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &lb));
  exchange(la, lb, 10, 0); /* the channel is up both ways */
  for (uint32_t i = 0; i < N; i++) {
    size_t len = 1000 + i * 3001;
    uint8_t *d = pattern(len, i);
    ASSERT_OK(actr_lane_send(la, d, len));
    g_free(d);
  }
  collector_t c;
  collector_init(&c, f->rt);
  ASSERT_OK(actr_lane_set_handler(lb, collect, &c));
  wait_collected(&c, N);
  for (uint32_t i = 0; i < N; i++) {
    size_t len = 1000 + i * 3001;
    uint8_t *d = pattern(len, i);
    actr_msg_t *m = c.msgs->pdata[i];
    g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), d, len);
    g_free(d);
  }
  ASSERT_OK(actr_lane_set_handler(lb, NULL, NULL));
  collector_clear(&c);
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

/* A handler that clears itself: it gets nothing more, and what follows
 * (queued or still arriving) goes to recv, in order, none lost. */
typedef struct {
  atomic_int calls;
  int stop_after;
  atomic_int clear_rc;
} self_clear_t;

static void clear_after_n(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  self_clear_t *c = user;
  actr_msg_free(msg);
  if (atomic_fetch_add(&c->calls, 1) + 1 == c->stop_after)
    atomic_store(&c->clear_rc, actr_lane_set_handler(lane, NULL, NULL));
}

static void test_handler_cleared_from_inside(fixture_t *f, gconstpointer data) {
  (void)data;
  enum { N = 40, STOP = 3 };
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_STREAM_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_STREAM_RELIABLE, &lb));
  exchange(la, lb, 10, 11);
  self_clear_t c = {.stop_after = STOP};
  atomic_init(&c.calls, 0);
  atomic_init(&c.clear_rc, -1);
  ASSERT_OK(actr_lane_set_handler(lb, clear_after_n, &c));
  for (uint32_t i = 0; i < N; i++) {
    size_t len = 500 + i * 4001; /* up to 2 fragments */
    uint8_t *d = pattern(len, i);
    ASSERT_OK(actr_lane_send(la, d, len));
    g_free(d);
  }
  for (uint32_t i = STOP; i < N; i++) {
    actr_msg_t *m;
    ASSERT_OK(actr_lane_recv(lb, 20000, &m));
    size_t len = 500 + i * 4001;
    uint8_t *d = pattern(len, i);
    g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), d, len);
    g_free(d);
    actr_msg_free(m);
  }
  g_assert_cmpint(atomic_load(&c.calls), ==, STOP);
  ASSERT_OK(atomic_load(&c.clear_rc));
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

/* A handler that answers on the I/O thread: multi-fragment sends from there
 * go out whole, without waiting. */
static void echo_back(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  atomic_int *failures = user;
  if (actr_lane_send(lane, actr_msg_data(msg), actr_msg_len(msg)) != ACTR_OK)
    atomic_fetch_add(failures, 1);
  actr_msg_free(msg);
}

static void test_handler_echo(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &lb));
  atomic_int failures = 0;
  ASSERT_OK(actr_lane_set_handler(lb, echo_back, &failures));
  for (uint32_t i = 0; i < 30; i++) {
    size_t len = (i % 3 == 0) ? 200 * 1024 : 1024 + i;
    uint8_t *d = pattern(len, i);
    ASSERT_OK(actr_lane_send(la, d, len));
    actr_msg_t *m;
    ASSERT_OK(actr_lane_recv(la, 20000, &m));
    g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), d, len);
    actr_msg_free(m);
    g_free(d);
  }
  g_assert_cmpint(atomic_load(&failures), ==, 0);
  ASSERT_OK(actr_lane_set_handler(lb, NULL, NULL));
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

/* From a handler a send never waits: a message above half the channel's
 * buffer could never go without waiting and is refused with
 * MESSAGE_TOO_LARGE (one that does not fit now gets WOULD_BLOCK, see the
 * echo below); nothing of it is sent (the next message is the first the
 * peer sees). */
typedef struct {
  atomic_int big_rc, small_rc;
  atomic_bool done;
} refuse_t;

static void send_big_then_small(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  refuse_t *r = user;
  actr_msg_free(msg);
  uint8_t *big = pattern(1u << 20, 5);
  atomic_store(&r->big_rc, actr_lane_send(lane, big, 1u << 20));
  g_free(big);
  atomic_store(&r->small_rc, actr_lane_send(lane, "after", 5));
  atomic_store(&r->done, true);
}

static const fix_opts_t lending = {.lend_loop = true};
static const fix_opts_t small_caps = {
    .reassembly = {.max_pending_messages = 2, .max_pending_bytes = 400 * 1024}};
static const fix_opts_t small_channel_buffer = {.max_buffered_bytes = 256 * 1024};

static void test_handler_send_never_waits(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &lb));
  refuse_t r = {0};
  ASSERT_OK(actr_lane_set_handler(lb, send_big_then_small, &r));
  ASSERT_OK(actr_lane_send(la, "go", 2));
  actr_msg_t *m;
  ASSERT_OK(actr_lane_recv(la, 20000, &m));
  g_assert_true(atomic_load(&r.done));
  g_assert_cmpstr(actr_err_name(atomic_load(&r.big_rc)), ==, "MESSAGE_TOO_LARGE");
  ASSERT_OK(atomic_load(&r.small_rc));
  g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), "after", 5);
  actr_msg_free(m);
  actr_lane_stats_t st;
  ASSERT_OK(actr_lane_stats(la, &st));
  g_assert_cmpuint(st.reassembly_pending_messages, ==, 0);
  ASSERT_OK(actr_lane_set_handler(lb, NULL, NULL));
  actr_lane_unref(la);
  actr_lane_unref(lb);
}


/* The echo of serve on a DataChannel lane (echo.c's shape): a refused send
 * pauses the lane and keeps the message; the writable handler sends it and
 * resumes.  32 MiB are sent while nobody reads the echoes for a while:
 * every echo comes back whole and in order, and the refusal path ran. */
typedef struct dc_echo {
  actr_msg_t *held;
  atomic_int pauses, writables, wrong_thread;
  actr_runtime_t *rt;
} dc_echo_t;

static void dc_echo_msg(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  dc_echo_t *e = user;
  if (e->held || !actr_runtime_is_io_thread(e->rt))
    atomic_fetch_add(&e->wrong_thread, 1); /* paused: no handler may run */
  int rc = actr_lane_try_send(lane, actr_msg_data(msg), actr_msg_len(msg));
  if (rc == ACTR_EWOULD_BLOCK) {
    e->held = msg;
    atomic_fetch_add(&e->pauses, 1);
    ASSERT_OK(actr_lane_pause(lane));
    return;
  }
  ASSERT_OK(rc);
  actr_msg_free(msg);
}

static void dc_echo_writable(actr_lane_t *lane, void *user) {
  dc_echo_t *e = user;
  atomic_fetch_add(&e->writables, 1);
  if (!actr_runtime_is_io_thread(e->rt))
    atomic_fetch_add(&e->wrong_thread, 1);
  if (e->held && actr_lane_try_send(lane, actr_msg_data(e->held), actr_msg_len(e->held)) ==
                     ACTR_OK) {
    actr_msg_free(e->held);
    e->held = NULL;
    ASSERT_OK(actr_lane_resume(lane));
  }
}

typedef struct dc_sender {
  actr_lane_t *lane;
  uint32_t count;
  size_t size;
  int rc;
} dc_sender_t;

static gpointer dc_sender_main(gpointer p) {
  dc_sender_t *s = p;
  for (uint32_t i = 0; i < s->count && s->rc == ACTR_OK; i++) {
    uint8_t *d = pattern(s->size, i);
    s->rc = actr_lane_send(s->lane, d, s->size);
    g_free(d);
  }
  return NULL;
}

static void test_handler_echo_pause_writable(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_STREAM_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_STREAM_RELIABLE, &lb));
  dc_echo_t e = {.rt = f->rt};
  ASSERT_OK(actr_lane_set_writable_handler(lb, dc_echo_writable, &e));
  ASSERT_OK(actr_lane_set_handler(lb, dc_echo_msg, &e));
  enum { N = 512, SIZE = 65536 };
  dc_sender_t snd = {la, N, SIZE, ACTR_OK};
  GThread *t = g_thread_new("sender", dc_sender_main, &snd);
  g_usleep(500 * 1000); /* nobody reads the echoes for a while */
  for (uint32_t i = 0; i < N; i++) {
    actr_msg_t *m;
    ASSERT_OK(actr_lane_recv(la, 30000, &m));
    uint8_t *want = pattern(SIZE, i);
    g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), want, SIZE);
    g_free(want);
    actr_msg_free(m);
  }
  g_thread_join(t);
  ASSERT_OK(snd.rc);
  g_assert_cmpint(atomic_load(&e.pauses), >=, 1);
  g_assert_cmpint(atomic_load(&e.writables), >=, 1);
  g_assert_cmpint(atomic_load(&e.wrong_thread), ==, 0);
  g_assert_null(e.held);
  ASSERT_OK(actr_lane_set_handler(lb, NULL, NULL));
  ASSERT_OK(actr_lane_set_writable_handler(lb, NULL, NULL));
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

/* Paused, a lane's messages wait (in its queue, then in SCTP); resumed,
 * they come in order. */
typedef struct seq_count {
  atomic_int n, wrong;
} seq_count_t;

static void count_seq(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  seq_count_t *c = user;
  (void)lane;
  int n = atomic_load(&c->n);
  if (actr_msg_len(msg) != 4 || memcmp(actr_msg_data(msg), &n, 4) != 0)
    atomic_fetch_add(&c->wrong, 1);
  atomic_fetch_add(&c->n, 1);
  actr_msg_free(msg);
}

static void test_handler_pause_resume(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &lb));
  seq_count_t c = {0};
  ASSERT_OK(actr_lane_set_handler(lb, count_seq, &c));
  ASSERT_OK(actr_lane_pause(lb));
  enum { N = 200 }; /* more than the lane's queue (64 frames): SCTP holds the rest */
  for (int i = 0; i < N; i++)
    ASSERT_OK(actr_lane_send(la, &i, 4));
  g_usleep(300 * 1000);
  g_assert_cmpint(atomic_load(&c.n), ==, 0);
  ASSERT_OK(actr_lane_resume(lb));
  for (int spin = 0; spin < 2000 && atomic_load(&c.n) < N; spin++)
    g_usleep(10 * 1000);
  g_assert_cmpint(atomic_load(&c.n), ==, N);
  g_assert_cmpint(atomic_load(&c.wrong), ==, 0);
  ASSERT_OK(actr_lane_set_handler(lb, NULL, NULL));
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

/* ---- a waiting receiver runs the loop (actr__runtime_lend) ---- */

typedef struct {
  actr_lane_t *lane;
  int count;
  uint32_t seed;
  int rc;
} ordered_rx_t;

static gpointer ordered_rx_main(gpointer p) {
  ordered_rx_t *r = p;
  for (int i = 0; i < r->count; i++) {
    actr_msg_t *m;
    r->rc = actr_lane_recv(r->lane, 30000, &m);
    if (r->rc != ACTR_OK)
      return NULL;
    size_t len = 100 + (size_t)i * 37;
    uint8_t *d = pattern(len, r->seed + (uint32_t)i);
    bool same = actr_msg_len(m) == len && memcmp(actr_msg_data(m), d, len) == 0;
    g_free(d);
    actr_msg_free(m);
    if (!same) {
      r->rc = ACTR_EPROTOCOL;
      return NULL;
    }
  }
  return NULL;
}

/* Two threads wait on two lanes of one runtime at once: one of them runs
 * the loop, the other waits on its queue; both get every message, in
 * order. */
static void test_lend_two_receivers(fixture_t *f, gconstpointer data) {
  (void)data;
  enum { N = 300 };
  actr_lane_t *la1, *la2, *lb1, *lb2;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &la1));
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_STREAM_RELIABLE, &la2));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &lb1));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_STREAM_RELIABLE, &lb2));
  ordered_rx_t r1 = {lb1, N, 1000, -1}, r2 = {lb2, N, 5000, -1};
  GThread *t1 = g_thread_new("rx1", ordered_rx_main, &r1);
  GThread *t2 = g_thread_new("rx2", ordered_rx_main, &r2);
  for (int i = 0; i < N; i++) {
    size_t len = 100 + (size_t)i * 37;
    uint8_t *d1 = pattern(len, 1000u + (uint32_t)i), *d2 = pattern(len, 5000u + (uint32_t)i);
    ASSERT_OK(actr_lane_send(la1, d1, len));
    ASSERT_OK(actr_lane_send(la2, d2, len));
    g_free(d1);
    g_free(d2);
  }
  g_thread_join(t1);
  g_thread_join(t2);
  ASSERT_OK(r1.rc);
  ASSERT_OK(r2.rc);
  actr_lane_unref(la1);
  actr_lane_unref(la2);
  actr_lane_unref(lb1);
  actr_lane_unref(lb2);
}

static gpointer recv_forever_main(gpointer p) {
  receiver_t *r = p;
  r->rc = actr_lane_recv(r->rx, -1, &r->msg);
  return NULL;
}

static void ignore_msg(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  (void)lane;
  (void)user;
  actr_msg_free(msg);
}

/* Lending is opt-in: by default a thread waiting in recv (holding a lock
 * of its own) never runs another lane's handler; the handler runs on the
 * runtime's thread, here after the waiter gave up its lock.  With
 * lend_loop the same handler runs on the waiting thread, lock held. */
typedef struct lock_waiter {
  actr_lane_t *rx;
  GMutex *lock;
  GThread *self;
  int rc;
} lock_waiter_t;

typedef struct lock_handler {
  GMutex *lock;
  GThread *waiter_thread;
  GThread *ran_on;
  bool lock_was_free;
  GAsyncQueue *done;
} lock_handler_t;

static gpointer lock_waiter_main(gpointer p) {
  lock_waiter_t *w = p;
  actr_msg_t *m = NULL;
  g_mutex_lock(w->lock);
  w->rc = actr_lane_recv(w->rx, 1000, &m); /* nothing comes on this lane */
  g_mutex_unlock(w->lock);
  actr_msg_free(m);
  return NULL;
}

static void lock_taking_handler(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  lock_handler_t *h = user;
  (void)lane;
  h->ran_on = g_thread_self();
  /* trylock: on the waiting thread a lock would deadlock, not fail */
  h->lock_was_free = g_mutex_trylock(h->lock);
  if (h->lock_was_free)
    g_mutex_unlock(h->lock);
  actr_msg_free(msg);
  g_async_queue_push(h->done, h);
}

static void lend_case(fixture_t *f, bool lend_loop) {
  actr_lane_t *la1, *lb1, *la2, *lb2;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &la1));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &lb1));
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_STREAM_RELIABLE, &la2));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_STREAM_RELIABLE, &lb2));
  GMutex lock;
  g_mutex_init(&lock);
  lock_handler_t h = {.lock = &lock, .done = g_async_queue_new()};
  ASSERT_OK(actr_lane_set_handler(lb2, lock_taking_handler, &h));
  lock_waiter_t w = {.rx = lb1, .lock = &lock};
  GThread *t = g_thread_new("lock-waiter", lock_waiter_main, &w);
  g_usleep(200000); /* the waiter is in recv, its lock held */
  ASSERT_OK(actr_lane_send(la2, "x", 1));
  g_assert_nonnull(g_async_queue_timeout_pop(h.done, 10 * G_USEC_PER_SEC));
  g_thread_join(t);
  g_assert_cmpstr(actr_err_name(w.rc), ==, "TIMEOUT");
  if (lend_loop) { /* documented: the waiter ran it, its lock held */
    g_assert_true(h.ran_on == t);
    g_assert_false(h.lock_was_free);
  } else {
    g_assert_true(h.ran_on != t);
  }
  ASSERT_OK(actr_lane_set_handler(lb2, NULL, NULL));
  g_async_queue_unref(h.done);
  g_mutex_clear(&lock);
  actr_lane_unref(la1);
  actr_lane_unref(lb1);
  actr_lane_unref(la2);
  actr_lane_unref(lb2);
}

static void test_lend_off_by_default(fixture_t *f, gconstpointer data) {
  (void)data;
  lend_case(f, false);
}

static void test_lend_opt_in(fixture_t *f, gconstpointer data) {
  (void)data;
  lend_case(f, true);
}

/* A receiver waiting without a time limit (running the loop) returns when
 * a handler takes the lane over, and when the lane is closed. */
static void test_lend_waiter_released(fixture_t *f, gconstpointer data) {
  (void)data;
  actr_lane_t *la, *lb;
  ASSERT_OK(actr_webrtc_link_lane(f->a, ACTR_PAYLOAD_RPC_RELIABLE, &la));
  ASSERT_OK(actr_webrtc_link_lane(f->b, ACTR_PAYLOAD_RPC_RELIABLE, &lb));
  exchange(la, lb, 10, 7);
  receiver_t r = {.rx = lb};
  GThread *t = g_thread_new("waiter", recv_forever_main, &r);
  g_usleep(100000); /* let it start waiting; if not, recv refuses at once all the same */
  ASSERT_OK(actr_lane_set_handler(lb, ignore_msg, NULL));
  g_thread_join(t);
  g_assert_cmpstr(actr_err_name(r.rc), ==, "INVALID_OPERATION");
  ASSERT_OK(actr_lane_set_handler(lb, NULL, NULL));

  r = (receiver_t){.rx = lb};
  t = g_thread_new("waiter", recv_forever_main, &r);
  g_usleep(100000);
  actr_lane_close(lb);
  g_thread_join(t);
  g_assert_cmpstr(actr_err_name(r.rc), ==, "DATA_CHANNEL_CLOSED");
  actr_lane_unref(la);
  actr_lane_unref(lb);
}

/* ---- a raw peer connection against a link ---- */

/* The answerer is a bare peer connection that opens channels itself, as
 * another stack would, over the signaling pair; the link offers. */
typedef struct raw_peer {
  actr_signaling_t *sig;
  actr_webrtc_pc_t *pc;
  GMutex mu;
  GCond cond;
  bool open[2], closed[2]; /* per channel: 0 with the wrong QoS, 1 with the right one */
} raw_peer_t;

static void raw_on_candidate(actr_webrtc_pc_t *pc, const char *cand, const char *mid, void *user) {
  (void)pc;
  raw_peer_t *r = user;
  actr_signaling_msg_t m = {.kind = cand ? ACTR_SIGNALING_CANDIDATE : ACTR_SIGNALING_END_OF_CANDIDATES,
                            .candidate = (char *)cand, .sdp_mid = (char *)mid,
                            .sdp_mline_index = cand ? 0 : -1};
  actr_signaling_send(r->sig, &m);
}

static void raw_on_signal(const actr_signaling_msg_t *msg, void *user) {
  raw_peer_t *r = user;
  if (msg->kind == ACTR_SIGNALING_OFFER) {
    char *answer = NULL;
    ASSERT_OK(actr_webrtc_pc_set_remote_description(r->pc, true, msg->sdp));
    ASSERT_OK(actr_webrtc_pc_create_answer(r->pc, &answer));
    actr_signaling_msg_t m = {.kind = ACTR_SIGNALING_ANSWER, .sdp = answer, .sdp_mline_index = -1};
    ASSERT_OK(actr_signaling_send(r->sig, &m));
    g_free(answer);
  } else if (msg->kind == ACTR_SIGNALING_CANDIDATE || msg->kind == ACTR_SIGNALING_END_OF_CANDIDATES) {
    actr_webrtc_pc_add_remote_candidate(r->pc, msg->candidate, msg->sdp_mid);
  }
}

static void raw_dc_event(actr_webrtc_dc_t *dc, raw_peer_t *r, bool closed) {
  int i = strcmp(actr_webrtc_dc_label(dc), "RPC_SIGNAL") == 0;
  g_mutex_lock(&r->mu);
  if (closed)
    r->closed[i] = true;
  else
    r->open[i] = true;
  g_cond_broadcast(&r->cond);
  g_mutex_unlock(&r->mu);
}
static void raw_dc_open(actr_webrtc_dc_t *dc, void *user) { raw_dc_event(dc, user, false); }
static void raw_dc_close(actr_webrtc_dc_t *dc, int err, void *user) {
  (void)err;
  raw_dc_event(dc, user, true);
}

/* A peer opens a lane's channel with another delivery than the lane's
 * type asks for (here STREAM_RELIABLE unordered with no retransmission):
 * the link closes it, since the lane would send its own traffic with the
 * peer's settings and lose what it reported sent.  The same peer's channel
 * with the right delivery (RPC_SIGNAL: ordered, reliable) becomes the lane,
 * and its message arrives; frames over the fragment size on it are dropped
 * on arrival. */
static void test_channel_qos_must_match(void) {
  actr_runtime_t *rt, *rt_raw;
  ASSERT_OK(actr_runtime_new(&rt));
  ASSERT_OK(actr_runtime_new(&rt_raw));
  actr_signaling_t *sa, *sb;
  ASSERT_OK(actr_signaling_pair_new(&sa, &sb));
  raw_peer_t *r = g_new0(raw_peer_t, 1);
  g_mutex_init(&r->mu);
  g_cond_init(&r->cond);
  r->sig = sb;
  actr_webrtc_config_t pcfg;
  actr_webrtc_config_init(&pcfg);
  pcfg.local_addresses = loopback;
  pcfg.local_address_count = 1;
  pcfg.on_candidate = raw_on_candidate;
  pcfg.user = r;
  ASSERT_OK(actr_webrtc_pc_new(rt_raw, &pcfg, &r->pc));
  actr_signaling_set_receiver(sb, raw_on_signal, r);
  actr_webrtc_link_config_t cfg;
  actr_webrtc_link_config_init(&cfg);
  cfg.webrtc.local_addresses = loopback;
  cfg.webrtc.local_address_count = 1;
  actr_webrtc_link_t *link;
  ASSERT_OK(actr_webrtc_link_new(rt, &cfg, sa, true, &link));
  ASSERT_OK(actr_webrtc_link_wait_connected(link, 20000));

  static const actr_webrtc_dc_callbacks_t cbs = {.on_open = raw_dc_open, .on_close = raw_dc_close};
  actr_webrtc_dc_options_t bad, good;
  actr_webrtc_dc_options_init(&bad);
  bad.unordered = true;
  bad.max_retransmits = 0;
  actr_webrtc_dc_options_init(&good);
  actr_webrtc_dc_t *dc_bad, *dc_good;
  ASSERT_OK(actr_webrtc_pc_create_data_channel(r->pc, "STREAM_RELIABLE", &bad, &cbs, r, &dc_bad));
  ASSERT_OK(actr_webrtc_pc_create_data_channel(r->pc, "RPC_SIGNAL", &good, &cbs, r, &dc_good));
  gint64 until = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  g_mutex_lock(&r->mu);
  while (!(r->closed[0] && r->open[1]) && g_cond_wait_until(&r->cond, &r->mu, until))
    ;
  bool bad_closed = r->closed[0], good_open = r->open[1], good_closed = r->closed[1];
  g_mutex_unlock(&r->mu);
  g_assert_true(bad_closed);
  g_assert_true(good_open);
  g_assert_false(good_closed);
  /* Frames over 65535 bytes (no fragment is larger) or shorter than a
   * fragment header (empty ones included: PPID 57) are dropped as they
   * arrive, counted, never queued for a reader (none has asked yet). */
  size_t big = 100 * 1024;
  uint8_t *huge = g_malloc0(big);
  for (int i = 0; i < 3; i++)
    ASSERT_OK(actr_webrtc_dc_send(dc_good, huge, big, false));
  g_free(huge);
  for (int i = 0; i < 2; i++)
    ASSERT_OK(actr_webrtc_dc_send(dc_good, "", 0, false));
  ASSERT_OK(actr_webrtc_dc_send(dc_good, "short", 5, false));
  actr_lane_stats_t st = {0};
  for (int i = 0; i < 2000 && st.dropped_invalid < 6; i++) { /* 20 s at most */
    g_usleep(10000);
    ASSERT_OK(actr_webrtc_link_stats(link, ACTR_PAYLOAD_RPC_SIGNAL, &st));
  }
  g_assert_cmpuint(st.dropped_invalid, ==, 6);
  /* One whole message: fragment header (msg_id 1, index 0 of 1), "hi". */
  static const uint8_t frame[] = {0, 0, 0, 1, 0, 0, 0, 1, 'h', 'i'};
  ASSERT_OK(actr_webrtc_dc_send(dc_good, frame, sizeof frame, false));
  actr_lane_t *lane;
  ASSERT_OK(actr_webrtc_link_lane(link, ACTR_PAYLOAD_RPC_SIGNAL, &lane));
  actr_msg_t *m;
  ASSERT_OK(actr_lane_recv(lane, 20000, &m));
  g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), "hi", 2);
  actr_msg_free(m);
  actr_lane_unref(lane);

  actr_webrtc_link_free(link);
  actr_signaling_free(sa);
  actr_webrtc_dc_free(dc_bad);
  actr_webrtc_dc_free(dc_good);
  actr_webrtc_pc_close(r->pc);
  actr_signaling_free(sb); /* no receiver call after it: then the pc can go */
  actr_webrtc_pc_free(r->pc);
  actr_runtime_unref(rt_raw);
  actr_runtime_unref(rt);
  g_mutex_clear(&r->mu);
  g_cond_clear(&r->cond);
  g_free(r);
}

/* What a link's owner heard (on_state). */
typedef struct heard {
  GMutex mu;
  int states[16];
  int n;
} heard_t;

static void heard_state(actr_webrtc_pc_t *pc, actr_webrtc_pc_state_t st, int err, void *user) {
  (void)pc;
  (void)err;
  heard_t *h = user;
  g_mutex_lock(&h->mu);
  if (h->n < (int)G_N_ELEMENTS(h->states))
    h->states[h->n++] = (int)st;
  g_mutex_unlock(&h->mu);
}

/* A signaling message fails a connected link (the peer reports an error):
 * its owner hears FAILED once and its lanes close at once; when the peer
 * connection then ends too, the owner hears nothing more (before: FAILED
 * twice, and the lanes stayed open until then). */
static void test_signaling_failure_told_once(void) {
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_signaling_t *sa, *sb;
  ASSERT_OK(actr_signaling_pair_new(&sa, &sb));
  heard_t h = {0};
  g_mutex_init(&h.mu);
  actr_webrtc_link_config_t cfg;
  actr_webrtc_link_config_init(&cfg);
  cfg.webrtc.local_addresses = loopback;
  cfg.webrtc.local_address_count = 1;
  cfg.webrtc.peer_timeout_ms = 2000;
  actr_webrtc_link_t *a, *b;
  ASSERT_OK(actr_webrtc_link_new(rt, &cfg, sb, false, &b));
  cfg.webrtc.on_state = heard_state;
  cfg.webrtc.user = &h;
  ASSERT_OK(actr_webrtc_link_new(rt, &cfg, sa, true, &a));
  ASSERT_OK(actr_webrtc_link_wait_connected(a, 20000));
  ASSERT_OK(actr_webrtc_link_wait_connected(b, 20000));
  actr_lane_t *lane;
  ASSERT_OK(actr_webrtc_link_lane(a, ACTR_PAYLOAD_RPC_RELIABLE, &lane));

  actr_signaling_msg_t err = {.kind = ACTR_SIGNALING_ERROR, .message = "bad day",
                              .sdp_mline_index = -1};
  ASSERT_OK(actr_signaling_send(sb, &err)); /* to a, on this thread */
  actr_msg_t *m = NULL;
  int rc = actr_lane_recv(lane, 10000, &m);
  g_assert_cmpstr(actr_err_name(rc), !=, "OK");
  g_assert_cmpstr(actr_err_name(rc), !=, "ETIMEOUT");

  /* The peer goes: a's peer connection ends (its peer's SCTP shuts down,
   * or silence for 2 s). */
  actr_webrtc_link_free(b);
  for (int i = 0; i < 2000; i++) { /* 20 s at most */
    actr_webrtc_pc_state_t st = actr_webrtc_link_state(a);
    if (st == ACTR_WEBRTC_PC_FAILED || st == ACTR_WEBRTC_PC_CLOSED)
      break;
    g_usleep(10000);
  }
  actr_webrtc_pc_state_t st = actr_webrtc_link_state(a);
  g_assert_true(st == ACTR_WEBRTC_PC_FAILED || st == ACTR_WEBRTC_PC_CLOSED);
  g_usleep(200000); /* a second report would have come with the state */
  actr_lane_unref(lane);
  actr_webrtc_link_free(a);
  g_mutex_lock(&h.mu);
  int ends = 0;
  for (int i = 0; i < h.n; i++) {
    g_test_message("heard %s", actr_webrtc_pc_state_name((actr_webrtc_pc_state_t)h.states[i]));
    if (h.states[i] == ACTR_WEBRTC_PC_FAILED || h.states[i] == ACTR_WEBRTC_PC_CLOSED)
      ends++;
  }
  g_assert_cmpint(h.n, >=, 1);
  g_assert_cmpint(h.states[h.n - 1], ==, ACTR_WEBRTC_PC_FAILED);
  g_assert_cmpint(ends, ==, 1);
  g_mutex_unlock(&h.mu);
  actr_signaling_free(sa);
  actr_signaling_free(sb);
  actr_runtime_unref(rt);
  g_mutex_clear(&h.mu);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, fixture_t, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/webrtc-link/every-type-every-size", test_every_type_every_size);
  ADD("/webrtc-link/fragments-come-joined", test_fragments_come_joined);
  ADD("/webrtc-link/kept-before-lane-asked", test_kept_before_lane_asked);
  ADD("/webrtc-link/unread-before-any-lane-stalls-nobody", test_unread_before_any_lane);
  ADD("/webrtc-link/unread-type-stalls-nobody", test_unread_type_stalls_nobody);
  ADD("/webrtc-link/threads-send-at-once", test_threads_send_at_once);
  /* Three senders of 2-4 fragment messages against caps of 2 partial
   * messages / 400 KiB: before, the receiver evicted one and a message the
   * sender had been told was sent never came. */
  g_test_add("/webrtc-link/threads-send-within-receiver-caps", fixture_t, &small_caps,
             fixture_setup, test_threads_send_at_once, fixture_teardown);
  ADD("/webrtc-link/close-seen-by-peer", test_close_seen_by_peer);
  ADD("/webrtc-link/direct-sends-while-connection-ends", test_direct_sends_while_connection_ends);
  ADD("/webrtc-link/lend/off-by-default", test_lend_off_by_default);
  g_test_add("/webrtc-link/lend/opt-in-runs-handlers-on-the-waiter", fixture_t, &lending,
             fixture_setup, test_lend_opt_in, fixture_teardown);
  g_test_add("/webrtc-link/lend/two-receivers-one-runtime", fixture_t, &lending, fixture_setup,
             test_lend_two_receivers, fixture_teardown);
  g_test_add("/webrtc-link/lend/waiter-released-by-handler-and-close", fixture_t, &lending,
             fixture_setup, test_lend_waiter_released, fixture_teardown);
  ADD("/webrtc-link/handler/every-size-in-order", test_handler_every_size);
  ADD("/webrtc-link/handler/takes-queued-first", test_handler_takes_queued_first);
  ADD("/webrtc-link/handler/echo-from-handler", test_handler_echo);
  ADD("/webrtc-link/handler/cleared-from-inside", test_handler_cleared_from_inside);
  g_test_add("/webrtc-link/handler/send-never-waits", fixture_t, &small_channel_buffer,
             fixture_setup, test_handler_send_never_waits, fixture_teardown);
  ADD("/webrtc-link/handler/echo-pause-writable", test_handler_echo_pause_writable);
  ADD("/webrtc-link/handler/pause-resume-in-order", test_handler_pause_resume);
  g_test_add_func("/webrtc-link/peer-channel-qos-must-match", test_channel_qos_must_match);
  g_test_add_func("/webrtc-link/signaling-failure-told-once", test_signaling_failure_told_once);
  return g_test_run();
}
