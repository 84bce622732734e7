/* test_ws_lane.c — WebSocket lanes over real loopback connections: every
 * payload type both ways, sizes 0 B .. 16 MiB, queueing before the lane is
 * asked for, many sending threads, many clients, the handshake headers, and
 * backpressure with bounded memory (a fast sender, a stalled receiver). */
#include <stdatomic.h>

#include "runtime_internal.h"
#include "ws_fixture.h"

static void test_every_type_both_ways(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.source_id = "0123abcd";
  cfg.credential = "c2VjcmV0";
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, &cfg, &cli, &srv);
  g_assert_cmpstr(actr_ws_conn_source_id(srv), ==, "0123abcd");
  g_assert_cmpstr(actr_ws_conn_credential(srv), ==, "c2VjcmV0");
  g_assert_cmpstr(actr_ws_conn_path(srv), ==, "/lane");
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++) {
    actr_lane_t *a, *b;
    ASSERT_OK(actr_ws_conn_lane(cli, t, &a));
    ASSERT_OK(actr_ws_conn_lane(srv, t, &b));
    g_assert_cmpstr(actr_lane_type(a), ==, "WebSocket");
    g_assert_cmpint(actr_lane_payload_type(b), ==, t);
    g_assert_true(actr_lane_is_healthy(a));
    actr_envelope_t *env = NULL;
    ASSERT_RC(actr_lane_recv_envelope(a, 0, &env), "INVALID_OPERATION");
    actr_lane_t *again;
    ASSERT_OK(actr_ws_conn_lane(cli, t, &again));
    g_assert_true(again == a); /* cached */
    actr_lane_unref(again);
    for (int dir = 0; dir < 2; dir++) {
      actr_lane_t *tx = dir ? b : a, *rx = dir ? a : b;
      uint8_t *data = fix_pattern(1000 + (size_t)t, (uint32_t)(t * 2 + dir));
      ASSERT_OK(actr_lane_send(tx, data, 1000 + (size_t)t));
      g_free(data);
      actr_msg_t *m;
      ASSERT_RC(actr_lane_try_recv(dir ? b : a, &m), "WOULD_BLOCK"); /* nothing on the sender's side */
      ASSERT_OK(actr_lane_recv(rx, 5000, &m));
      fix_check(m, 1000 + (size_t)t, (uint32_t)(t * 2 + dir));
    }
    actr_lane_stats_t st;
    ASSERT_OK(actr_lane_stats(a, &st));
    g_assert_cmpuint(st.msgs_sent, ==, 1);
    g_assert_cmpuint(st.msgs_received, ==, 1);
    g_assert_cmpuint(st.bytes_received, ==, 1000 + (size_t)t);
    actr_lane_unref(a);
    actr_lane_unref(b);
  }
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

static void test_sizes(void) {
  static const size_t sizes[] = {0, 1, 120, 121, 122, 65530, 65531, 65536, 200000, 1u << 20, 16u << 20};
  ws_fix_t f;
  fix_start(&f, NULL);
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, NULL, &cli, &srv);
  actr_lane_t *a, *b;
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_STREAM_RELIABLE, &a));
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_STREAM_RELIABLE, &b));
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
    for (int dir = 0; dir < 2; dir++) {
      uint8_t *data = fix_pattern(sizes[i], (uint32_t)i);
      ASSERT_OK(actr_lane_send(dir ? b : a, data, sizes[i]));
      g_free(data);
      actr_msg_t *m;
      ASSERT_OK(actr_lane_recv(dir ? a : b, 10000, &m));
      fix_check(m, sizes[i], (uint32_t)i);
    }
  /* Over the limit: refused before anything is sent. */
  ASSERT_RC(actr_lane_send(a, "", (64u << 20)), "MESSAGE_TOO_LARGE");
  actr_lane_unref(a);
  actr_lane_unref(b);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* SPEC §3.2: messages for a type whose lane nobody asked for yet are kept. */
static void test_queued_before_lane(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, NULL, &cli, &srv);
  actr_lane_t *b;
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_MEDIA_RTP, &b));
  for (uint32_t i = 0; i < 20; i++) {
    uint8_t *d = fix_pattern(64, i);
    ASSERT_OK(actr_lane_send(b, d, 64));
    g_free(d);
  }
  /* A round trip on another type proves the 20 have arrived first. */
  actr_lane_t *ca, *cb;
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_RPC_SIGNAL, &ca));
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_RPC_SIGNAL, &cb));
  ASSERT_OK(actr_lane_send(cb, "x", 1));
  actr_msg_t *m;
  ASSERT_OK(actr_lane_recv(ca, 5000, &m));
  actr_msg_free(m);
  actr_lane_t *a;
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_MEDIA_RTP, &a));
  for (uint32_t i = 0; i < 20; i++) {
    ASSERT_OK(actr_lane_try_recv(a, &m));
    fix_check(m, 64, i);
  }
  /* Dropping the lane and asking again loses nothing either. */
  ASSERT_OK(actr_lane_send(b, "y", 1));
  actr_lane_unref(a);
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_MEDIA_RTP, &a));
  ASSERT_OK(actr_lane_recv(a, 5000, &m));
  g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), "y", 1);
  actr_msg_free(m);
  /* lane_close closes that handle's view: a blocked recv wakes. */
  actr_lane_close(a);
  ASSERT_RC(actr_lane_recv(a, 1000, &m), "WEBSOCKET_CLOSED");
  g_assert_false(actr_lane_is_healthy(a));
  actr_lane_t *fresh;
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_MEDIA_RTP, &fresh));
  g_assert_true(fresh != a);
  g_assert_true(actr_lane_is_healthy(fresh));
  actr_lane_unref(fresh);
  actr_lane_unref(a);
  actr_lane_unref(ca);
  actr_lane_unref(cb);
  actr_lane_unref(b);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* A type nobody reads (the receiver asked for another type's lane, never
 * for this one) stalls nobody: its first 64 messages / 1 MiB are kept,
 * the rest dropped and counted, and the type that is read goes on.  (With
 * one shared pushback the 32 MiB below would stop the connection for
 * good: the inbound bound is 16 MiB.) */
static void test_unread_type_stalls_nobody(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, NULL, &cli, &srv);
  actr_lane_t *read_srv, *read_cli, *unread_cli;
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_RPC_RELIABLE, &read_srv));
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_RPC_RELIABLE, &read_cli));
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_STREAM_RELIABLE, &unread_cli));
  enum { N = 2000, SIZE = 16384 };
  for (uint32_t i = 0; i < N; i++) {
    uint8_t *d = fix_pattern(SIZE, i);
    ASSERT_OK(actr_lane_send_timeout(unread_cli, d, SIZE, 10000));
    g_free(d);
  }
  ASSERT_OK(actr_lane_send(read_cli, "after", 5));
  actr_msg_t *m;
  ASSERT_OK(actr_lane_recv(read_srv, 10000, &m));
  g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), "after", 5);
  actr_msg_free(m);
  actr_ws_conn_stats_t st;
  ASSERT_OK(actr_ws_conn_stats(srv, &st));
  g_assert_cmpuint(st.dropped_unread, ==, N - 64);
  g_assert_cmpuint(st.read_pauses, ==, 0);
  /* Asked for at last: the kept ones, in order, then it is read like any. */
  actr_lane_t *late;
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_STREAM_RELIABLE, &late));
  for (uint32_t i = 0; i < 64; i++) {
    ASSERT_OK(actr_lane_try_recv(late, &m));
    fix_check(m, SIZE, i);
  }
  ASSERT_RC(actr_lane_try_recv(late, &m), "WOULD_BLOCK");
  actr_lane_stats_t ls;
  ASSERT_OK(actr_lane_stats(late, &ls));
  g_assert_cmpuint(ls.dropped_unread, ==, N - 64);
  actr_lane_unref(late);
  actr_lane_unref(read_srv);
  actr_lane_unref(read_cli);
  actr_lane_unref(unread_cli);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* A type floods the connection before the application asks for any lane:
 * while none is asked for, every type pushes back, so its queue fills (1024
 * messages) and reading stops.  Asking for a lane of another type then
 * makes the flooded one "unread": reading goes on (the held message and the
 * rest are dropped past the unread bounds) and the lane asked for gets its
 * messages.  Before, reading waited for a read of the flooded type that
 * never came: the lane got nothing, for good. */
static void unread_type_after_pause(const actr_ws_config_t *server_cfg) {
  ws_fix_t f;
  fix_start(&f, server_cfg);
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, NULL, &cli, &srv);
  actr_lane_t *read_cli, *flood_cli;
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_RPC_RELIABLE, &read_cli));
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_STREAM_RELIABLE, &flood_cli));
  enum { N = 1100, SIZE = 1024 };
  for (uint32_t i = 0; i < N; i++) {
    uint8_t *d = fix_pattern(SIZE, i);
    ASSERT_OK(actr_lane_send_timeout(flood_cli, d, SIZE, 10000));
    g_free(d);
  }
  actr_ws_conn_stats_t st;
  for (int i = 0; i < 1000; i++) { /* until the server's reading stops (10 s at most) */
    ASSERT_OK(actr_ws_conn_stats(srv, &st));
    if (st.read_pauses)
      break;
    g_usleep(10000);
  }
  g_assert_cmpuint(st.read_pauses, ==, 1);
  actr_lane_t *read_srv;
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_RPC_RELIABLE, &read_srv));
  ASSERT_OK(actr_lane_send(read_cli, "after", 5));
  actr_msg_t *m;
  ASSERT_OK(actr_lane_recv(read_srv, 10000, &m));
  g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), "after", 5);
  actr_msg_free(m);
  ASSERT_OK(actr_ws_conn_stats(srv, &st));
  g_assert_cmpuint(st.dropped_unread, ==, N - 1024);
  actr_lane_unref(read_srv);
  actr_lane_unref(read_cli);
  actr_lane_unref(flood_cli);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

static void test_unread_type_after_pause(void) { unread_type_after_pause(NULL); }

/* The same with unread bounds set above the inbound ones: they are cut to
 * them, so the held message is dropped, not queued into a queue that pauses
 * again (before: the lane's message never came). */
static void test_unread_bounds_above_inbound(void) {
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.unread_queue_messages = 5000;
  cfg.unread_queue_bytes = 64u << 20;
  unread_type_after_pause(&cfg);
}

/* A function of the user's on the I/O thread: call waits for its result,
 * invoke returns at once; both run where actr_runtime_is_io_thread holds. */
static actr_runtime_t *io_rt;
static int on_io_call(void *p) { return actr_runtime_is_io_thread(io_rt) ? *(int *)p : -1; }
static void on_io_invoke(void *p) {
  g_async_queue_push(p, GINT_TO_POINTER(actr_runtime_is_io_thread(io_rt) ? 2 : 1));
}

static void test_runtime_call_and_invoke(void) {
  ASSERT_OK(actr_runtime_new(&io_rt));
  int v = 42;
  g_assert_false(actr_runtime_is_io_thread(io_rt));
  g_assert_cmpint(actr_runtime_call(io_rt, on_io_call, &v), ==, 42);
  GAsyncQueue *q = g_async_queue_new();
  ASSERT_OK(actr_runtime_invoke(io_rt, on_io_invoke, q));
  g_assert_cmpint(GPOINTER_TO_INT(g_async_queue_timeout_pop(q, 5 * G_USEC_PER_SEC)), ==, 2);
  ASSERT_RC(actr_runtime_invoke(io_rt, NULL, q), "INVALID_ARGUMENT");
  ASSERT_RC(actr_runtime_call(NULL, on_io_call, &v), "INVALID_ARGUMENT");
  g_async_queue_unref(q);
  actr_runtime_unref(io_rt);
}


/* actr_runtime_post never runs inline, even on the I/O thread: the posted
 * function runs after the function that posted it has returned. */
typedef struct post_order {
  GAsyncQueue *q;
  int step;
} post_order_t;

static void posted_second(void *p) {
  post_order_t *o = p;
  g_async_queue_push(o->q, GINT_TO_POINTER(o->step == 1 && actr_runtime_is_io_thread(io_rt) ? 2 : -1));
}

static void post_from_io(void *p) {
  post_order_t *o = p;
  ASSERT_OK(actr_runtime_post(io_rt, posted_second, o));
  o->step = 1; /* after the post: posted_second must not have run yet */
}

static void test_runtime_post(void) {
  ASSERT_OK(actr_runtime_new(&io_rt));
  post_order_t o = {g_async_queue_new(), 0};
  ASSERT_OK(actr_runtime_invoke(io_rt, post_from_io, &o));
  g_assert_cmpint(GPOINTER_TO_INT(g_async_queue_timeout_pop(o.q, 5 * G_USEC_PER_SEC)), ==, 2);
  ASSERT_RC(actr_runtime_post(io_rt, NULL, &o), "INVALID_ARGUMENT");
  g_async_queue_unref(o.q);
  actr_runtime_unref(io_rt);
}

typedef struct sender {
  actr_lane_t *lane;
  uint32_t id, count;
  size_t size;
  int rc;
} sender_t;

static gpointer send_thread(gpointer p) {
  sender_t *s = p;
  for (uint32_t i = 0; i < s->count && s->rc == ACTR_OK; i++) {
    uint8_t *d = fix_pattern(s->size, s->id * 100000u + i);
    memcpy(d, &s->id, 4);
    memcpy(d + 4, &i, 4);
    s->rc = actr_lane_send(s->lane, d, s->size);
    g_free(d);
  }
  return NULL;
}

/* Push delivery on a WebSocket lane: queued messages go to the handler
 * first, then each as it arrives, in order, on the I/O thread; recv is
 * refused meanwhile; clearing the handler gives recv back. */
typedef struct collect {
  GAsyncQueue *q;
  actr_runtime_t *rt;
  bool off_io_thread;
} collect_t;

static void collect_handler(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  collect_t *c = user;
  (void)lane;
  if (!actr_runtime_is_io_thread(c->rt))
    c->off_io_thread = true;
  g_async_queue_push(c->q, msg);
}

static void test_handler(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, NULL, &cli, &srv);
  actr_lane_t *tx, *rx;
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_RPC_RELIABLE, &tx));
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_RPC_RELIABLE, &rx));
  for (uint32_t i = 0; i < 10; i++) {
    uint8_t *d = fix_pattern(100 + i, i);
    ASSERT_OK(actr_lane_send(tx, d, 100 + i));
    g_free(d);
  }
  actr_msg_t *m;
  ASSERT_OK(actr_lane_recv(rx, 5000, &m)); /* the first, taken the old way */
  fix_check(m, 100, 0);
  for (int spin = 0; spin < 500; spin++) { /* the other nine have arrived */
    actr_ws_conn_stats_t cs;
    ASSERT_OK(actr_ws_conn_stats(srv, &cs));
    if (cs.inbound_queued_bytes >= 9 * 100)
      break;
    g_usleep(10000);
  }
  collect_t c = {g_async_queue_new(), f.rt, false};
  ASSERT_OK(actr_lane_set_handler(rx, collect_handler, &c));
  for (uint32_t i = 10; i < 200; i++) {
    uint8_t *d = fix_pattern(100 + i, i);
    ASSERT_OK(actr_lane_send(tx, d, 100 + i));
    g_free(d);
  }
  for (uint32_t i = 1; i < 200; i++) {
    m = g_async_queue_timeout_pop(c.q, 5 * G_USEC_PER_SEC);
    g_assert_nonnull(m);
    fix_check(m, 100 + i, i);
  }
  g_assert_false(c.off_io_thread);
  ASSERT_RC(actr_lane_recv(rx, 100, &m), "INVALID_OPERATION");
  ASSERT_OK(actr_lane_set_handler(rx, NULL, NULL));
  ASSERT_OK(actr_lane_send(tx, "back", 4));
  ASSERT_OK(actr_lane_recv(rx, 5000, &m));
  g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), "back", 4);
  actr_msg_free(m);
  g_assert_null(g_async_queue_try_pop(c.q));
  g_async_queue_unref(c.q);
  actr_lane_unref(tx);
  actr_lane_unref(rx);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* An echo made of handlers (the shape of actr-lane serve): a send refused
 * for a full outbound queue keeps its message and pauses the connection;
 * on_writable sends it and resumes.  The client sends 64 MiB without
 * reading (the echo is pushed back, so is the client), then reads: every
 * echo comes, in order, and on_closed ends the session once. */
typedef struct echo_session {
  actr_ws_conn_t *conn;
  actr_msg_t *held;
  actr_lane_t *held_lane;
  int pauses, writables, closed;
} echo_session_t;

static void echo_h(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  echo_session_t *s = user;
  g_assert_null(s->held); /* paused: no handler runs */
  if (actr_lane_try_send(lane, actr_msg_data(msg), actr_msg_len(msg)) == ACTR_EWOULD_BLOCK) {
    s->held = msg;
    s->held_lane = lane;
    s->pauses++;
    ASSERT_OK(actr_ws_conn_pause(s->conn));
    return;
  }
  actr_msg_free(msg);
}

static void echo_writable(actr_ws_conn_t *conn, void *user) {
  echo_session_t *s = user;
  s->writables++;
  if (s->held && actr_lane_try_send(s->held_lane, actr_msg_data(s->held),
                                    actr_msg_len(s->held)) == ACTR_OK) {
    actr_msg_free(s->held);
    s->held = NULL;
    ASSERT_OK(actr_ws_conn_resume(conn));
  }
}

static void echo_closed(actr_ws_conn_t *conn, void *user) {
  (void)conn;
  ((echo_session_t *)user)->closed++;
}

static gpointer client_sender(gpointer p) {
  sender_t *s = p;
  for (uint32_t i = 0; i < s->count && s->rc == ACTR_OK; i++) {
    uint8_t *d = fix_pattern(s->size, i);
    s->rc = actr_lane_send(s->lane, d, s->size);
    g_free(d);
  }
  return NULL;
}

/* sysctl_max: the last (maximum) figure of a tcp_rmem / tcp_wmem sysctl;
 * 0 when unreadable. */
static uint64_t sysctl_max(const char *path) {
  gchar *text = NULL;
  uint64_t max = 0;
  if (g_file_get_contents(path, &text, NULL, NULL)) {
    gchar **f = g_strsplit_set(g_strstrip(text), " \t", -1);
    for (gchar **p = f; *p; p++)
      if (**p)
        max = g_ascii_strtoull(*p, NULL, 10);
    g_strfreev(f);
  }
  g_free(text);
  return max;
}

/* pushback_count: how many @size-byte messages more than fill all there is
 * between a sender and an echo whose echoes nobody reads: each direction's
 * kernel buffers at their autotuning maxima (tcp_wmem + tcp_rmem; 32 MiB of
 * receive buffer on some machines) and both sides' lane queues (@queues
 * bytes), with a quarter more; at least 1024.  With fewer, the kernel could
 * take every message and the sender would never be pushed back. */
static uint32_t pushback_count(uint32_t size, uint64_t queues) {
  uint64_t kernel = sysctl_max("/proc/sys/net/ipv4/tcp_rmem") +
                    sysctl_max("/proc/sys/net/ipv4/tcp_wmem");
  uint64_t bytes = (2 * kernel + queues) * 5 / 4;
  return (uint32_t)MAX(1024, bytes / size);
}

static void test_handler_echo_pushback(void) {
  actr_ws_config_t scfg;
  actr_ws_config_init(&scfg);
  scfg.outbound_queue_bytes = 1u << 20;
  scfg.inbound_queue_bytes = 1u << 20;
  ws_fix_t f;
  fix_start(&f, &scfg);
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, &scfg, &cli, &srv);
  echo_session_t s = {.conn = srv};
  actr_lane_t *rx;
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_STREAM_RELIABLE, &rx));
  ASSERT_OK(actr_lane_set_handler(rx, echo_h, &s));
  actr_ws_conn_callbacks_t cbs = {echo_writable, echo_closed};
  ASSERT_OK(actr_ws_conn_set_callbacks(srv, &cbs, &s));
  actr_lane_t *tx;
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_STREAM_RELIABLE, &tx));
  enum { SIZE = 65536 };
  const uint32_t N = pushback_count(SIZE, 4u << 20); /* both sides' queues: 1 MiB each way */
  sender_t snd = {tx, 0, N, SIZE, ACTR_OK};
  GThread *t = g_thread_new("client-sender", client_sender, &snd);
  g_usleep(500 * 1000); /* the scenario: nobody reads the echoes for a while */
  actr_ws_conn_stats_t cs;
  ASSERT_OK(actr_ws_conn_stats(cli, &cs));
  g_assert_cmpuint(cs.msgs_sent, <, N); /* pushed back through the echo */
  for (uint32_t i = 0; i < N; i++) {
    actr_msg_t *m;
    ASSERT_OK(actr_lane_recv(tx, 20000, &m));
    fix_check(m, SIZE, i);
  }
  g_thread_join(t);
  ASSERT_OK(snd.rc);
  g_assert_cmpint(s.pauses, >=, 1);
  g_assert_cmpint(s.writables, >=, 1);
  g_assert_null(s.held);
  actr_lane_unref(tx);
  actr_ws_conn_close(cli);
  actr_ws_conn_unref(cli);
  for (int spin = 0; spin < 500 && !s.closed; spin++)
    g_usleep(10000);
  g_assert_cmpint(s.closed, ==, 1);
  actr_lane_unref(rx);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}


/* The same echo on the lane's own calls (the shape of serve, echo.c): a
 * refused send pauses the lane and keeps the message; the lane's writable
 * handler sends it and resumes.  Every echo comes back, in order. */
typedef struct lane_echo {
  actr_msg_t *held;
  int pauses, writables;
} lane_echo_t;

static void lane_echo_msg(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  lane_echo_t *e = user;
  g_assert_null(e->held); /* paused: no handler runs */
  if (actr_lane_try_send(lane, actr_msg_data(msg), actr_msg_len(msg)) == ACTR_EWOULD_BLOCK) {
    e->held = msg;
    e->pauses++;
    ASSERT_OK(actr_lane_pause(lane));
    return;
  }
  actr_msg_free(msg);
}

static void lane_echo_writable(actr_lane_t *lane, void *user) {
  lane_echo_t *e = user;
  e->writables++;
  if (e->held && actr_lane_try_send(lane, actr_msg_data(e->held), actr_msg_len(e->held)) ==
                     ACTR_OK) {
    actr_msg_free(e->held);
    e->held = NULL;
    ASSERT_OK(actr_lane_resume(lane));
  }
}

static void test_lane_pause_writable_echo(void) {
  actr_ws_config_t scfg;
  actr_ws_config_init(&scfg);
  scfg.outbound_queue_bytes = 1u << 20;
  scfg.inbound_queue_bytes = 1u << 20;
  ws_fix_t f;
  fix_start(&f, &scfg);
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, &scfg, &cli, &srv);
  lane_echo_t e = {0};
  actr_lane_t *rx;
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_STREAM_RELIABLE, &rx));
  ASSERT_OK(actr_lane_set_writable_handler(rx, lane_echo_writable, &e));
  ASSERT_OK(actr_lane_set_handler(rx, lane_echo_msg, &e));
  actr_lane_t *tx;
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_STREAM_RELIABLE, &tx));
  enum { SIZE = 65536 };
  const uint32_t N = pushback_count(SIZE, 4u << 20); /* both sides' queues: 1 MiB each way */
  sender_t snd = {tx, 0, N, SIZE, ACTR_OK};
  GThread *t = g_thread_new("client-sender", client_sender, &snd);
  g_usleep(500 * 1000); /* nobody reads the echoes for a while */
  actr_ws_conn_stats_t cs;
  ASSERT_OK(actr_ws_conn_stats(cli, &cs));
  g_assert_cmpuint(cs.msgs_sent, <, N); /* pushed back through the paused lane */
  for (uint32_t i = 0; i < N; i++) {
    actr_msg_t *m;
    ASSERT_OK(actr_lane_recv(tx, 20000, &m));
    fix_check(m, SIZE, i);
  }
  g_thread_join(t);
  ASSERT_OK(snd.rc);
  g_assert_cmpint(e.pauses, >=, 1);
  g_assert_cmpint(e.writables, >=, 1);
  g_assert_null(e.held);
  ASSERT_OK(actr_lane_set_handler(rx, NULL, NULL));
  ASSERT_OK(actr_lane_set_writable_handler(rx, NULL, NULL));
  actr_lane_unref(tx);
  actr_lane_unref(rx);
  actr_ws_conn_close(cli);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* Pausing one type's handler holds that type only: the other type's
 * messages, sent after it on the same connection, are handled; the paused
 * ones come, in order, on resume. */
typedef struct typed_count {
  GMutex mu;
  GCond cond;
  int n;
  int wrong;
} typed_count_t;

static void count_seq(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  typed_count_t *c = user;
  (void)lane;
  g_mutex_lock(&c->mu);
  if (actr_msg_len(msg) != 4 || memcmp(actr_msg_data(msg), &c->n, 4) != 0)
    c->wrong++;
  c->n++;
  g_cond_broadcast(&c->cond);
  g_mutex_unlock(&c->mu);
  actr_msg_free(msg);
}

static int wait_count(typed_count_t *c, int n) {
  gint64 until = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
  g_mutex_lock(&c->mu);
  while (c->n < n && g_cond_wait_until(&c->cond, &c->mu, until))
    ;
  int got = c->n;
  g_mutex_unlock(&c->mu);
  return got;
}

static void test_pause_one_type(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, NULL, &cli, &srv);
  typed_count_t ca = {0}, cb = {0};
  g_mutex_init(&ca.mu), g_cond_init(&ca.cond), g_mutex_init(&cb.mu), g_cond_init(&cb.cond);
  actr_lane_t *ra, *rb, *ta, *tb;
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_STREAM_RELIABLE, &ra));
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_RPC_RELIABLE, &rb));
  ASSERT_OK(actr_lane_set_handler(ra, count_seq, &ca));
  ASSERT_OK(actr_lane_set_handler(rb, count_seq, &cb));
  ASSERT_OK(actr_lane_pause(ra));
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_STREAM_RELIABLE, &ta));
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_RPC_RELIABLE, &tb));
  for (int i = 0; i < 50; i++)
    ASSERT_OK(actr_lane_send(ta, &i, 4));
  for (int i = 0; i < 50; i++)
    ASSERT_OK(actr_lane_send(tb, &i, 4));
  /* One TCP stream, in order: once B's 50 were handled, A's 50 had come. */
  g_assert_cmpint(wait_count(&cb, 50), ==, 50);
  g_assert_cmpint(ca.n, ==, 0);
  ASSERT_OK(actr_lane_resume(ra));
  g_assert_cmpint(wait_count(&ca, 50), ==, 50);
  g_assert_cmpint(ca.wrong + cb.wrong, ==, 0);
  ASSERT_OK(actr_lane_set_handler(ra, NULL, NULL));
  ASSERT_OK(actr_lane_set_handler(rb, NULL, NULL));
  actr_lane_unref(ra), actr_lane_unref(rb), actr_lane_unref(ta), actr_lane_unref(tb);
  actr_ws_conn_close(cli);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
  g_mutex_clear(&ca.mu), g_cond_clear(&ca.cond), g_mutex_clear(&cb.mu), g_cond_clear(&cb.cond);
}

/* Many threads send at once, on two types (two threads share a lane
 * handle, two use clones); each sender's messages arrive in its order. */
static void test_many_threads(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.outbound_queue_bytes = 64 * 1024; /* make them block on each other */
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, &cfg, &cli, &srv);
  enum { THREADS = 6, COUNT = 2000 };
  sender_t s[THREADS];
  GThread *th[THREADS];
  actr_lane_t *lanes[2];
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_RPC_RELIABLE, &lanes[0]));
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_STREAM_RELIABLE, &lanes[1]));
  for (uint32_t i = 0; i < THREADS; i++) {
    s[i] = (sender_t){actr_lane_ref(lanes[i % 2]), i, COUNT, 8 + i * 300, ACTR_OK};
    th[i] = g_thread_new("sender", send_thread, &s[i]);
  }
  uint32_t next[THREADS] = {0};
  for (uint32_t n = 0; n < THREADS * COUNT; n++) {
    actr_payload_type_t t;
    actr_msg_t *m;
    ASSERT_OK(actr_ws_conn_recv(srv, 10000, &t, &m));
    uint32_t id, seq;
    memcpy(&id, actr_msg_data(m), 4);
    memcpy(&seq, actr_msg_data(m) + 4, 4);
    g_assert_cmpuint(id, <, THREADS);
    g_assert_cmpint(t, ==, id % 2 ? ACTR_PAYLOAD_STREAM_RELIABLE : ACTR_PAYLOAD_RPC_RELIABLE);
    g_assert_cmpuint(seq, ==, next[id]);
    g_assert_cmpuint(actr_msg_len(m), ==, 8 + id * 300);
    next[id]++;
    actr_msg_free(m);
  }
  for (int i = 0; i < THREADS; i++) {
    g_thread_join(th[i]);
    ASSERT_OK(s[i].rc);
    actr_lane_unref(s[i].lane);
  }
  actr_ws_conn_stats_t st;
  ASSERT_OK(actr_ws_conn_stats(cli, &st));
  g_assert_cmpuint(st.outbound_queued_bytes_peak, <=, 64 * 1024 + 8 + 5 * 300 + 14 + 5);
  actr_lane_unref(lanes[0]);
  actr_lane_unref(lanes[1]);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* Direct writes (ws_tx.c): senders write to the socket themselves while the
 * I/O side is idle and queue behind it while it is not.  Threads sending
 * large frames (always direct when idle; partial writes leave the rest to
 * the I/O thread) and small ones (direct once the connection has received
 * since: here the server echoes everything back), both ways at once: every
 * message must arrive whole, in its sender's order. */
static size_t mixed_size(uint32_t id, uint32_t i) {
  return i % 3 == 0 ? 24 * 1024 + id * 1000 + i % 7 : 8 + id * 100 + i % 5;
}

static gpointer send_mixed_thread(gpointer p) {
  sender_t *s = p;
  for (uint32_t i = 0; i < s->count && s->rc == ACTR_OK; i++) {
    size_t n = mixed_size(s->id, i);
    uint8_t *d = fix_pattern(n, s->id * 100000u + i);
    memcpy(d, &s->id, 4);
    memcpy(d + 4, &i, 4);
    s->rc = actr_lane_send(s->lane, d, n);
    g_free(d);
  }
  return NULL;
}

typedef struct echo_all {
  actr_ws_conn_t *conn;
  actr_lane_t *lanes[ACTR_PAYLOAD_TYPE_COUNT];
  uint32_t count;
  int rc;
} echo_all_t;

static gpointer echo_all_thread(gpointer p) {
  echo_all_t *e = p;
  for (uint32_t n = 0; n < e->count && e->rc == ACTR_OK; n++) {
    actr_payload_type_t t;
    actr_msg_t *m;
    e->rc = actr_ws_conn_recv(e->conn, 10000, &t, &m);
    if (e->rc == ACTR_OK) {
      e->rc = actr_lane_send(e->lanes[t], actr_msg_data(m), actr_msg_len(m));
      actr_msg_free(m);
    }
  }
  return NULL;
}

static void test_direct_writes_interleaved(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.outbound_queue_bytes = 128 * 1024; /* senders block on each other too */
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, &cfg, &cli, &srv);
  enum { THREADS = 4, COUNT = 600 };
  const actr_payload_type_t types[2] = {ACTR_PAYLOAD_RPC_RELIABLE, ACTR_PAYLOAD_STREAM_RELIABLE};
  actr_lane_t *lanes[2];
  echo_all_t echo = {srv, {NULL}, THREADS * COUNT, ACTR_OK};
  for (int k = 0; k < 2; k++) {
    ASSERT_OK(actr_ws_conn_lane(cli, types[k], &lanes[k]));
    ASSERT_OK(actr_ws_conn_lane(srv, types[k], &echo.lanes[types[k]]));
  }
  GThread *et = g_thread_new("echo", echo_all_thread, &echo);
  sender_t s[THREADS];
  GThread *th[THREADS];
  for (uint32_t i = 0; i < THREADS; i++) {
    s[i] = (sender_t){actr_lane_ref(lanes[i % 2]), i, COUNT, 0, ACTR_OK};
    th[i] = g_thread_new("sender", send_mixed_thread, &s[i]);
  }
  uint32_t next[THREADS] = {0};
  for (uint32_t n = 0; n < THREADS * COUNT; n++) {
    actr_payload_type_t t;
    actr_msg_t *m;
    ASSERT_OK(actr_ws_conn_recv(cli, 10000, &t, &m));
    uint32_t id, seq;
    g_assert_cmpuint(actr_msg_len(m), >=, 8);
    memcpy(&id, actr_msg_data(m), 4);
    memcpy(&seq, actr_msg_data(m) + 4, 4);
    g_assert_cmpuint(id, <, THREADS);
    g_assert_cmpint(t, ==, types[id % 2]);
    g_assert_cmpuint(seq, ==, next[id]);
    size_t len = mixed_size(id, seq);
    g_assert_cmpuint(actr_msg_len(m), ==, len);
    uint8_t *want = fix_pattern(len, id * 100000u + seq);
    g_assert_cmpmem(actr_msg_data(m) + 8, len - 8, want + 8, len - 8);
    g_free(want);
    next[id]++;
    actr_msg_free(m);
  }
  for (int i = 0; i < THREADS; i++) {
    g_thread_join(th[i]);
    ASSERT_OK(s[i].rc);
    actr_lane_unref(s[i].lane);
  }
  g_thread_join(et);
  ASSERT_OK(echo.rc);
  for (int k = 0; k < 2; k++) {
    actr_lane_unref(lanes[k]);
    actr_lane_unref(echo.lanes[types[k]]);
  }
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

static void test_many_clients(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  enum { CLIENTS = 12 };
  actr_ws_conn_t *cli[CLIENTS], *srv[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) {
    actr_ws_config_t cfg;
    actr_ws_config_init(&cfg);
    char id[16];
    snprintf(id, sizeof id, "%04x", i);
    cfg.source_id = id;
    fix_pair(&f, &cfg, &cli[i], &srv[i]);
    g_assert_cmpstr(actr_ws_conn_source_id(srv[i]), ==, id);
  }
  for (int i = 0; i < CLIENTS; i++) {
    actr_lane_t *l;
    ASSERT_OK(actr_ws_conn_lane(cli[i], ACTR_PAYLOAD_RPC_RELIABLE, &l));
    ASSERT_OK(actr_lane_send(l, &i, sizeof i));
    actr_lane_unref(l);
  }
  for (int i = 0; i < CLIENTS; i++) {
    actr_payload_type_t t;
    actr_msg_t *m;
    ASSERT_OK(actr_ws_conn_recv(srv[i], 5000, &t, &m));
    g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), &i, sizeof i);
    actr_msg_free(m);
  }
  for (int i = 0; i < CLIENTS; i++) {
    actr_ws_conn_unref(cli[i]);
    actr_ws_conn_unref(srv[i]);
  }
  fix_stop(&f);
}

/* A fast sender and a stalled receiver: the receiver's queues stay within
 * their bound (reading stops), the sender blocks once TCP and its own
 * outbound queue are full, and when the receiver resumes every message
 * arrives, in order per type. */
static void test_backpressure_stalled_receiver(void) {
  actr_ws_config_t rcfg;
  actr_ws_config_init(&rcfg);
  rcfg.inbound_queue_messages = 32;
  rcfg.inbound_queue_bytes = 512 * 1024;
  ws_fix_t f;
  fix_start(&f, &rcfg);
  actr_ws_config_t scfg;
  actr_ws_config_init(&scfg);
  scfg.outbound_queue_bytes = 1u << 20;
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, &scfg, &cli, &srv);
  enum { COUNT = 1500 }; /* 2 types x 1500 x 64 KiB = 192 MiB, far above every buffer */
  sender_t s[2];
  GThread *th[2];
  for (uint32_t i = 0; i < 2; i++) {
    actr_lane_t *l;
    ASSERT_OK(actr_ws_conn_lane(cli, i ? ACTR_PAYLOAD_STREAM_RELIABLE : ACTR_PAYLOAD_RPC_RELIABLE, &l));
    s[i] = (sender_t){l, i, COUNT, 65536, ACTR_OK};
    th[i] = g_thread_new("sender", send_thread, &s[i]);
  }
  /* The receiver stalls for a second (the scenario, not a wait for a
   * condition): long enough to fill every buffer on the way many times. */
  g_usleep(G_USEC_PER_SEC);
  actr_lane_t *probe;
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_RPC_SIGNAL, &probe));
  static uint8_t big[65536];
  /* Pushed back: try_send refuses.  The blocked senders take every byte of
   * room the moment it frees (the kernel may grow its socket buffers), so a
   * probe can occasionally slip into such a gap; a queue that never pushes
   * back would take all 1000 probes (64 MiB, far past every bound, which the
   * peak checks below would catch as well). */
  int prc = ACTR_OK;
  for (int attempt = 0; attempt < 1000 && prc == ACTR_OK; attempt++) {
    prc = actr_lane_try_send(probe, big, sizeof big);
    g_assert_true(prc == ACTR_OK || prc == ACTR_EWOULD_BLOCK);
  }
  ASSERT_RC(prc, "WOULD_BLOCK");
  actr_ws_conn_stats_t rs, cs;
  ASSERT_OK(actr_ws_conn_stats(srv, &rs));
  g_assert_cmpuint(rs.read_pauses, >=, 1);
  ASSERT_OK(actr_ws_conn_stats(cli, &cs));
  g_assert_cmpuint(cs.msgs_sent, <, 2 * COUNT); /* the senders are blocked */
  g_test_message("stalled: receiver holds %llu B (peak %llu B), sender queued %llu B, sent %llu msgs",
                 (unsigned long long)rs.inbound_queued_bytes,
                 (unsigned long long)rs.inbound_queued_bytes_peak,
                 (unsigned long long)cs.outbound_queued_bytes, (unsigned long long)cs.msgs_sent);
  /* Resume: everything arrives in order per type. */
  uint32_t next[2] = {0, 0}, probes = 0;
  while (next[0] < COUNT || next[1] < COUNT) {
    actr_payload_type_t t;
    actr_msg_t *m;
    ASSERT_OK(actr_ws_conn_recv(srv, 20000, &t, &m));
    if (t == ACTR_PAYLOAD_RPC_SIGNAL) {
      probes++;
      actr_msg_free(m);
      continue;
    }
    uint32_t id, seq;
    memcpy(&id, actr_msg_data(m), 4);
    memcpy(&seq, actr_msg_data(m) + 4, 4);
    g_assert_cmpuint(id, ==, t == ACTR_PAYLOAD_RPC_RELIABLE ? 0 : 1);
    g_assert_cmpuint(seq, ==, next[id]);
    next[id]++;
    actr_msg_free(m);
  }
  for (int i = 0; i < 2; i++) {
    g_thread_join(th[i]);
    ASSERT_OK(s[i].rc);
    actr_lane_unref(s[i].lane);
  }
  ASSERT_OK(actr_ws_conn_stats(srv, &rs));
  /* Bounded: per type 512 KiB (+ one message admitted into an empty queue). */
  g_assert_cmpuint(rs.inbound_queued_bytes_peak, <=, 3 * (512 * 1024 + 65536));
  ASSERT_OK(actr_ws_conn_stats(cli, &cs));
  g_assert_cmpuint(cs.outbound_queued_bytes_peak, <=, (1u << 20) + 65536 + 32);
  g_test_message("receiver peak %llu B, %llu pauses; sender peak %llu B",
                 (unsigned long long)rs.inbound_queued_bytes_peak,
                 (unsigned long long)rs.read_pauses,
                 (unsigned long long)cs.outbound_queued_bytes_peak);
  actr_lane_unref(probe);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* A send from the I/O thread (a handler, a callback, a receiver lending the
 * loop) never waits: only that thread drains the outbound queue, so waiting
 * there would freeze the runtime.  It gets ACTR_EWOULD_BLOCK instead. */
typedef struct io_send {
  actr_runtime_t *rt;
  actr_lane_t *lane;
  int sent, rc;
} io_send_t;

static int send_until_refused(void *p) {
  io_send_t *s = p;
  static uint8_t big[65536];
  g_assert_true(actr_runtime_is_io_thread(s->rt));
  for (s->sent = 0; s->sent < 100000; s->sent++)
    if ((s->rc = actr_lane_send(s->lane, big, sizeof big)) != ACTR_OK)
      break;
  return s->rc;
}

static void test_send_on_io_thread_never_waits(void) {
  actr_ws_config_t rcfg;
  actr_ws_config_init(&rcfg);
  rcfg.inbound_queue_messages = 8;
  rcfg.inbound_queue_bytes = 256 * 1024;
  ws_fix_t f;
  fix_start(&f, &rcfg);
  actr_ws_config_t scfg;
  actr_ws_config_init(&scfg);
  scfg.outbound_queue_bytes = 256 * 1024;
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, &scfg, &cli, &srv); /* nobody reads on the server side */
  io_send_t s = {.rt = f.rt};
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_STREAM_RELIABLE, &s.lane));
  ASSERT_RC(actr_runtime_call(f.rt, send_until_refused, &s), "WOULD_BLOCK");
  g_assert_cmpint(s.sent, >, 0);
  g_test_message("%d messages of 64 KiB taken before the queue was full", s.sent);
  /* From an application thread: once the queue stays full (TCP may still
   * take a little), a send with a timeout gives up. */
  static uint8_t more[65536];
  int trc = ACTR_OK;
  for (int i = 0; i < 10000 && trc == ACTR_OK; i++)
    trc = actr_lane_send_timeout(s.lane, more, sizeof more, 100);
  ASSERT_RC(trc, "TIMEOUT");
  /* The runtime is alive: the server side gets what was taken, in order. */
  for (int i = 0; i < s.sent; i++) {
    actr_payload_type_t t;
    actr_msg_t *m;
    ASSERT_OK(actr_ws_conn_recv(srv, 20000, &t, &m));
    g_assert_cmpuint(actr_msg_len(m), ==, 65536);
    actr_msg_free(m);
  }
  actr_lane_unref(s.lane);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* Closing: the client closes; the server drains what arrived, then sees
 * WEBSOCKET_CLOSED; senders on either side get WEBSOCKET_CLOSED. */
static void test_clean_close(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, NULL, &cli, &srv);
  actr_lane_t *a, *b;
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_RPC_RELIABLE, &a));
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_RPC_RELIABLE, &b));
  for (int i = 0; i < 10; i++)
    ASSERT_OK(actr_lane_send(a, &i, sizeof i));
  actr_ws_conn_close(cli);
  ASSERT_RC(actr_lane_send(a, "x", 1), "WEBSOCKET_CLOSED");
  for (int i = 0; i < 10; i++) {
    actr_msg_t *m;
    ASSERT_OK(actr_lane_recv(b, 5000, &m));
    g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), &i, sizeof i);
    actr_msg_free(m);
  }
  actr_msg_t *m;
  ASSERT_RC(actr_lane_recv(b, 5000, &m), "WEBSOCKET_CLOSED");
  ASSERT_RC(actr_lane_recv(a, 5000, &m), "WEBSOCKET_CLOSED");
  ASSERT_RC(actr_lane_send(b, "x", 1), "WEBSOCKET_CLOSED");
  g_assert_false(actr_lane_is_healthy(b));
  actr_lane_unref(a);
  actr_lane_unref(b);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* A receive that finds its queue empty may let rx_mu go before it waits
 * (to try lending the loop); a message queued in that gap found no waiter
 * to wake, and the receiver used to wait for the next one -- in a round
 * trip, forever (bench_ws hung once in some hundred runs).  Round trips
 * with a 5 s receive bound, through both ways to that gap: a runtime that
 * does not lend, and one that lends while another thread is lending the
 * loop already (waiting on a second connection), so this receiver's lend
 * fails and it waits on its queue's condition. */
typedef struct rt_echo {
  actr_lane_t *lane;
  int count, rc;
} rt_echo_t;

static gpointer rt_echo_thread(gpointer p) {
  rt_echo_t *e = p;
  for (int i = 0; i < e->count && e->rc == ACTR_OK; i++) {
    actr_msg_t *m;
    e->rc = actr_lane_recv(e->lane, 5000, &m);
    if (e->rc == ACTR_OK) {
      e->rc = actr_lane_send(e->lane, actr_msg_data(m), actr_msg_len(m));
      actr_msg_free(m);
    }
  }
  return NULL;
}

typedef struct lender {
  actr_lane_t *lane;
  int rc;
} lender_t;

static gpointer lender_thread(gpointer p) {
  lender_t *l = p;
  actr_msg_t *m;
  l->rc = actr_lane_recv(l->lane, 60000, &m); /* lends the loop until its message */
  if (l->rc == ACTR_OK)
    actr_msg_free(m);
  return NULL;
}

static void round_trips_case(bool lend_loop) {
  ws_fix_t f;
  fix_start(&f, NULL);
  actr_runtime_config_t rcfg;
  actr_runtime_config_init(&rcfg);
  rcfg.lend_loop = lend_loop;
  actr_runtime_t *crt;
  ASSERT_OK(actr_runtime_new_with(&rcfg, &crt));
  enum { ROUNDS = 3000 };
  actr_ws_conn_t *cli[2], *srv[2];
  actr_lane_t *cl[2], *sl[2];
  for (int i = 0; i < 2; i++) {
    ASSERT_OK(actr_ws_connect(crt, f.url, NULL, &cli[i]));
    srv[i] = fix_accepted(&f);
    ASSERT_OK(actr_ws_conn_lane(cli[i], ACTR_PAYLOAD_RPC_RELIABLE, &cl[i]));
    ASSERT_OK(actr_ws_conn_lane(srv[i], ACTR_PAYLOAD_RPC_RELIABLE, &sl[i]));
  }
  lender_t lender = {cl[1], -1};
  GThread *lt = lend_loop ? g_thread_new("lender", lender_thread, &lender) : NULL;
  rt_echo_t echo = {sl[0], ROUNDS, ACTR_OK};
  GThread *et = g_thread_new("echo", rt_echo_thread, &echo);
  uint8_t buf[64] = {0};
  for (int i = 0; i < ROUNDS; i++) {
    memcpy(buf, &i, sizeof i);
    ASSERT_OK(actr_lane_send(cl[0], buf, sizeof buf));
    actr_msg_t *m;
    ASSERT_OK(actr_lane_recv(cl[0], 5000, &m));
    g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), buf, sizeof buf);
    actr_msg_free(m);
  }
  g_thread_join(et);
  ASSERT_OK(echo.rc);
  if (lt) {
    ASSERT_OK(actr_lane_send(sl[1], "x", 1)); /* the lender's message */
    g_thread_join(lt);
    ASSERT_OK(lender.rc);
  }
  for (int i = 0; i < 2; i++) {
    actr_lane_unref(cl[i]);
    actr_lane_unref(sl[i]);
    actr_ws_conn_unref(cli[i]);
    actr_ws_conn_unref(srv[i]);
  }
  actr_runtime_unref(crt);
  fix_stop(&f);
}

static void test_round_trips_no_lost_wakeup(void) { round_trips_case(false); }
static void test_round_trips_lend_taken(void) { round_trips_case(true); }

static unsigned count_entries(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  unsigned n = 0;
  while (g_dir_read_name(d))
    n++;
  g_dir_close(d);
  return n;
}

static void one_cycle(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  actr_ws_conn_t *cli[3], *srv[3];
  for (int i = 0; i < 3; i++) {
    fix_pair(&f, NULL, &cli[i], &srv[i]);
    actr_lane_t *a, *b;
    ASSERT_OK(actr_ws_conn_lane(cli[i], ACTR_PAYLOAD_RPC_RELIABLE, &a));
    ASSERT_OK(actr_ws_conn_lane(srv[i], ACTR_PAYLOAD_RPC_RELIABLE, &b));
    ASSERT_OK(actr_lane_send(a, "x", 1));
    actr_msg_t *m;
    ASSERT_OK(actr_lane_recv(b, 5000, &m));
    actr_msg_free(m);
    actr_lane_unref(a);
    actr_lane_unref(b);
  }
  for (int i = 0; i < 3; i++) {
    actr_ws_conn_unref(cli[i]);
    actr_ws_conn_unref(srv[i]);
  }
  fix_stop(&f);
}

/* Shutdown is clean: after a full cycle (runtime, server, clients, traffic,
 * release), no thread and no file descriptor is left behind.  (The first
 * cycle sets up GLib's process-wide state, which stays by design.) */
static void test_no_leaked_fds_or_threads(void) {
  one_cycle();
  unsigned fds = count_entries("/proc/self/fd"), tasks = count_entries("/proc/self/task");
  one_cycle();
  one_cycle();
  g_assert_cmpuint(count_entries("/proc/self/fd"), ==, fds);
  g_assert_cmpuint(count_entries("/proc/self/task"), ==, tasks);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ws/lane/every-type-both-ways", test_every_type_both_ways);
  g_test_add_func("/ws/lane/sizes-0-to-16m", test_sizes);
  g_test_add_func("/ws/lane/queued-before-lane", test_queued_before_lane);
  g_test_add_func("/ws/lane/unread-type-stalls-nobody", test_unread_type_stalls_nobody);
  g_test_add_func("/ws/lane/unread-type-after-pause", test_unread_type_after_pause);
  g_test_add_func("/ws/lane/unread-bounds-above-inbound", test_unread_bounds_above_inbound);
  g_test_add_func("/runtime/call-and-invoke-on-io-thread", test_runtime_call_and_invoke);
  g_test_add_func("/ws/lane/handler/queued-first-in-order", test_handler);
  g_test_add_func("/ws/lane/handler/echo-pushback-writable-closed", test_handler_echo_pushback);
  g_test_add_func("/ws/lane/handler/echo-lane-pause-writable", test_lane_pause_writable_echo);
  g_test_add_func("/ws/lane/handler/pause-one-type", test_pause_one_type);
  g_test_add_func("/runtime/post-never-inline", test_runtime_post);
  g_test_add_func("/ws/lane/many-threads", test_many_threads);
  g_test_add_func("/ws/lane/direct-writes-interleaved", test_direct_writes_interleaved);
  g_test_add_func("/ws/lane/many-clients", test_many_clients);
  g_test_add_func("/ws/lane/backpressure-stalled-receiver", test_backpressure_stalled_receiver);
  g_test_add_func("/ws/lane/send-on-io-thread-never-waits", test_send_on_io_thread_never_waits);
  g_test_add_func("/ws/lane/clean-close", test_clean_close);
  g_test_add_func("/ws/lane/round-trips/no-lost-wakeup", test_round_trips_no_lost_wakeup);
  g_test_add_func("/ws/lane/round-trips/lend-taken", test_round_trips_lend_taken);
  g_test_add_func("/ws/lane/no-leaked-fds-or-threads", test_no_leaked_fds_or_threads);
  return g_test_run();
}
