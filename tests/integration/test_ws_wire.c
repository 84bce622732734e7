/* test_ws_wire.c — the WebSocket wire against hostile or broken peers, and
 * its other modes: malformed lane messages (dropped and counted), text and
 * oversized frames (refused), a peer that resets, vanishes, or stops in the
 * middle of a message (WEBSOCKET_CLOSED in bounded time, never a hang),
 * refused and malformed handshakes, TLS with a CA, raw-message paths. */
#include <gio/gio.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "ws_fixture.h"
#ifdef HAVE_GNUTLS
#include <gnutls/gnutls.h>
#endif
#include "ws_frame.h"
#include "ws_http.h"
#include "ws_internal.h"

/* ---- a raw-mode client collecting what it gets ---- */

typedef struct raw_peer {
  GAsyncQueue *msgs;   /* GBytes (text prefixed with 'T', binary 'B') */
  GAsyncQueue *closes; /* GINT_TO_POINTER(code) */
} raw_peer_t;

static void raw_on_message(actr_ws_conn_t *c, bool text, const uint8_t *d, size_t n, void *u) {
  raw_peer_t *p = u;
  GByteArray *b = g_byte_array_new();
  g_byte_array_append(b, (const guint8 *)(text ? "T" : "B"), 1);
  g_byte_array_append(b, d, (guint)n);
  g_async_queue_push(p->msgs, g_byte_array_free_to_bytes(b));
}

static void raw_on_close(actr_ws_conn_t *c, int code, const char *reason, void *u) {
  g_async_queue_push(((raw_peer_t *)u)->closes, GINT_TO_POINTER(code));
}

static const actr_ws_message_ops_t raw_ops = {NULL, raw_on_message, raw_on_close};

static void raw_init(raw_peer_t *p) {
  p->msgs = g_async_queue_new_full((GDestroyNotify)g_bytes_unref);
  p->closes = g_async_queue_new();
}

static void raw_clear(raw_peer_t *p) {
  g_async_queue_unref(p->msgs);
  g_async_queue_unref(p->closes);
}

static int raw_wait_close(raw_peer_t *p) {
  gpointer v = g_async_queue_timeout_pop(p->closes, 10 * G_USEC_PER_SEC);
  g_assert_nonnull(v);
  return GPOINTER_TO_INT(v);
}

static void lane_msg(uint8_t *out, int type, uint32_t len) { actr__ws_msg_header_encode(out, type, len); }

/* SPEC §1.4: short, bad type, truncated: dropped, counted, the connection
 * and its good traffic go on. */
static void test_bad_lane_messages(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  raw_peer_t p;
  raw_init(&p);
  actr_ws_conn_t *cli;
  ASSERT_OK(actr_ws_connect_messages(f.rt, f.url, NULL, &raw_ops, &p, &cli));
  actr_ws_conn_t *srv = fix_accepted(&f);
  uint8_t m[32];
  ASSERT_OK(actr_ws_conn_send_message(cli, false, "\x00\x00", 2, -1)); /* short */
  lane_msg(m, 7, 1);
  ASSERT_OK(actr_ws_conn_send_message(cli, false, m, 6, -1)); /* invalid type */
  lane_msg(m, 0, 100);
  ASSERT_OK(actr_ws_conn_send_message(cli, false, m, 15, -1)); /* truncated */
  lane_msg(m, 2, 3);
  memcpy(m + 5, "okXXX", 5);
  ASSERT_OK(actr_ws_conn_send_message(cli, false, m, 10, -1)); /* good, with trailing bytes */
  actr_lane_t *l;
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_STREAM_RELIABLE, &l));
  actr_msg_t *msg;
  ASSERT_OK(actr_lane_recv(l, 5000, &msg));
  g_assert_cmpmem(actr_msg_data(msg), actr_msg_len(msg), "okX", 3);
  actr_msg_free(msg);
  actr_lane_stats_t st;
  ASSERT_OK(actr_lane_stats(l, &st));
  g_assert_cmpuint(st.dropped_invalid, ==, 3);
  g_assert_true(actr_ws_conn_is_open(srv));
  /* The lane answers on the same connection. */
  ASSERT_OK(actr_lane_send(l, "back", 4));
  GBytes *b = g_async_queue_timeout_pop(p.msgs, 5 * G_USEC_PER_SEC);
  g_assert_nonnull(b);
  g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), "B\x02\x00\x00\x00\x04" "back", 10);
  g_bytes_unref(b);
  actr_lane_unref(l);
  actr_ws_conn_unref(cli);
  g_assert_cmpint(raw_wait_close(&p), ==, 1000);
  actr_ws_conn_unref(srv);
  raw_clear(&p);
  fix_stop(&f);
}

/* A lane message whose header declares fewer data bytes than it carries
 * holds them all until it is read: the queue bounds count what it holds.
 * 200 messages declaring 0 bytes and carrying 64 KiB each, of a type the
 * server does not read while it reads another: its unread bound (1 MiB)
 * keeps 16 of them, not 64 (the message bound) holding 4 MiB. */
static void test_declared_short_counts_whole(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  raw_peer_t p;
  raw_init(&p);
  actr_ws_conn_t *cli;
  ASSERT_OK(actr_ws_connect_messages(f.rt, f.url, NULL, &raw_ops, &p, &cli));
  actr_ws_conn_t *srv = fix_accepted(&f);
  actr_lane_t *read;
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_RPC_RELIABLE, &read));
  enum { N = 200, CARRIED = 65536 };
  uint8_t *m = g_malloc0(5 + CARRIED);
  lane_msg(m, ACTR_PAYLOAD_STREAM_RELIABLE, 0);
  for (int i = 0; i < N; i++)
    ASSERT_OK(actr_ws_conn_send_message(cli, false, m, 5 + CARRIED, 10000));
  g_free(m);
  uint8_t ok[7];
  lane_msg(ok, ACTR_PAYLOAD_RPC_RELIABLE, 2);
  memcpy(ok + 5, "ok", 2);
  ASSERT_OK(actr_ws_conn_send_message(cli, false, ok, 7, 10000));
  actr_msg_t *msg;
  ASSERT_OK(actr_lane_recv(read, 10000, &msg)); /* after the 200, in order */
  g_assert_cmpmem(actr_msg_data(msg), actr_msg_len(msg), "ok", 2);
  actr_msg_free(msg);
  actr_ws_conn_stats_t st;
  ASSERT_OK(actr_ws_conn_stats(srv, &st));
  g_assert_cmpuint(st.dropped_unread, ==, N - (1u << 20) / CARRIED); /* 16 kept */
  g_assert_cmpuint(st.inbound_queued_bytes_peak, <=, (1u << 20) + 2); /* and "ok" */
  actr_lane_t *late;
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_STREAM_RELIABLE, &late));
  guint kept = 0;
  while (actr_lane_try_recv(late, &msg) == ACTR_OK) {
    g_assert_cmpuint(actr_msg_len(msg), ==, 0);
    actr_msg_free(msg);
    kept++;
  }
  g_assert_cmpuint(kept + st.dropped_unread, ==, N);
  ASSERT_OK(actr_ws_conn_stats(srv, &st));
  g_assert_cmpuint(st.inbound_queued_bytes, ==, 0);
  actr_lane_unref(late);
  actr_lane_unref(read);
  actr_ws_conn_unref(cli);
  g_assert_cmpint(raw_wait_close(&p), ==, 1000);
  actr_ws_conn_unref(srv);
  raw_clear(&p);
  fix_stop(&f);
}

static void test_text_frame_refused(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  raw_peer_t p;
  raw_init(&p);
  actr_ws_conn_t *cli;
  ASSERT_OK(actr_ws_connect_messages(f.rt, f.url, NULL, &raw_ops, &p, &cli));
  actr_ws_conn_t *srv = fix_accepted(&f);
  ASSERT_OK(actr_ws_conn_send_message(cli, true, "hello", 5, -1));
  g_assert_cmpint(raw_wait_close(&p), ==, ACTR__WS_CLOSE_UNSUPPORTED);
  actr_msg_t *m;
  actr_payload_type_t t;
  ASSERT_RC(actr_ws_conn_recv(srv, 5000, &t, &m), "WEBSOCKET_CLOSED");
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  raw_clear(&p);
  fix_stop(&f);
}

static void test_oversized_frame_refused(void) {
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.max_message_bytes = 1024;
  ws_fix_t f;
  fix_start(&f, &cfg);
  raw_peer_t p;
  raw_init(&p);
  actr_ws_conn_t *cli;
  ASSERT_OK(actr_ws_connect_messages(f.rt, f.url, NULL, &raw_ops, &p, &cli));
  actr_ws_conn_t *srv = fix_accepted(&f);
  uint8_t *big = g_malloc0(2000);
  lane_msg(big, 0, 1995);
  ASSERT_OK(actr_ws_conn_send_message(cli, false, big, 2000, -1));
  g_free(big);
  g_assert_cmpint(raw_wait_close(&p), ==, ACTR__WS_CLOSE_TOO_BIG);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  raw_clear(&p);
  fix_stop(&f);
}

/* ---- a scripted TCP peer on a thread (blocking GSocket) ---- */

typedef enum {
  PEER_RESET,
  PEER_VANISH,
  PEER_HALF_FRAME,
  PEER_404,
  PEER_SILENT,
  PEER_BAD_CLOSE
} peer_mode_t;

typedef struct fake {
  GSocket *listener;
  uint16_t port;
  peer_mode_t mode;
  GThread *thread;
  GCancellable *stop;
} fake_t;

static void send_all(GSocket *s, const void *p, size_t n) {
  g_assert_cmpint(g_socket_send(s, p, n, NULL, NULL), ==, (gssize)n);
}

/* raw_upgrade: a plain TCP connection to @f's server (10 s socket timeout)
 * that sent a lane upgrade request; the answer's head, and any bytes after
 * it, are appended to @in. */
static GSocketConnection *raw_upgrade(ws_fix_t *f, GString *in) {
  GSocketClient *sc = g_socket_client_new();
  GSocketConnection *conn =
      g_socket_client_connect_to_host(sc, "127.0.0.1", actr_ws_server_port(f->srv), NULL, NULL);
  g_object_unref(sc);
  g_assert_nonnull(conn);
  GSocket *sock = g_socket_connection_get_socket(conn);
  g_socket_set_timeout(sock, 10); /* a bound, not a measurement */
  const char *req = "GET /lane HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n";
  send_all(sock, req, strlen(req));
  char buf[512];
  gssize n;
  while (!strstr(in->str, "\r\n\r\n") &&
         (n = g_socket_receive(sock, buf, sizeof buf, NULL, NULL)) > 0)
    g_string_append_len(in, buf, n);
  return conn;
}

static gpointer fake_main(gpointer data) {
  fake_t *f = data;
  GSocket *s = g_socket_accept(f->listener, f->stop, NULL);
  if (!s)
    return NULL;
  if (f->mode != PEER_SILENT) {
    char buf[8192];
    size_t len = 0, head;
    actr__ws_request_t req;
    int status;
    const char *why;
    int r = 0;
    while (r == 0) {
      gssize n = g_socket_receive(s, buf + len, sizeof buf - len, NULL, NULL);
      g_assert_cmpint(n, >, 0);
      len += (size_t)n;
      r = actr__ws_http_parse_request(buf, len, &head, &req, &status, &why);
    }
    g_assert_cmpint(r, ==, 1);
    char *resp = f->mode == PEER_404 ? actr__ws_http_response_error(404, "no")
                                     : actr__ws_http_response_101(req.key);
    send_all(s, resp, strlen(resp));
    g_free(resp);
    actr__ws_request_clear(&req);
  }
  if (f->mode == PEER_HALF_FRAME) {
    uint8_t h[ACTR__WS_MAX_HEADER];
    size_t hl = actr__ws_frame_header_encode(h, true, ACTR__WS_OP_BINARY, 100000, NULL);
    send_all(s, h, hl);
    send_all(s, "\x01\x00\x01\x86\x9b" "abcde", 10);
  }
  if (f->mode == PEER_BAD_CLOSE) {
    /* Close code 1005 ("no status": never on the wire), reason not UTF-8. */
    uint8_t h[ACTR__WS_MAX_HEADER];
    size_t hl = actr__ws_frame_header_encode(h, true, ACTR__WS_OP_CLOSE, 4, NULL);
    send_all(s, h, hl);
    send_all(s, "\x03\xed\xff\xfe", 4);
    char buf[256]; /* our answer, then our close of the TCP connection */
    while (g_socket_receive(s, buf, sizeof buf, NULL, NULL) > 0) {
    }
  }
  if (f->mode == PEER_RESET) {
    g_usleep(100 * 1000); /* let the client block first */
    struct linger lg = {1, 0}; /* close with RST */
    setsockopt(g_socket_get_fd(s), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  if (f->mode == PEER_VANISH || f->mode == PEER_SILENT) {
    /* Keep the socket open, read nothing, answer nothing, until told. */
    GCancellable *c = f->stop;
    GSource *src = g_cancellable_source_new(c);
    g_source_unref(src);
    while (!g_cancellable_is_cancelled(c))
      g_socket_condition_timed_wait(s, G_IO_ERR, 50 * 1000, NULL, NULL);
  }
  g_socket_close(s, NULL);
  g_object_unref(s);
  return NULL;
}

static void fake_start(fake_t *f, peer_mode_t mode) {
  memset(f, 0, sizeof *f);
  f->mode = mode;
  f->stop = g_cancellable_new();
  f->listener = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  GSocketAddress *sa = g_inet_socket_address_new(lo, 0);
  g_assert_true(g_socket_bind(f->listener, sa, TRUE, NULL));
  g_assert_true(g_socket_listen(f->listener, NULL));
  GSocketAddress *local = g_socket_get_local_address(f->listener, NULL);
  f->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
  g_object_unref(local);
  g_object_unref(sa);
  g_object_unref(lo);
  f->thread = g_thread_new("fake-peer", fake_main, f);
}

static void fake_stop(fake_t *f) {
  g_cancellable_cancel(f->stop);
  g_thread_join(f->thread);
  g_socket_close(f->listener, NULL);
  g_object_unref(f->listener);
  g_object_unref(f->stop);
}

static char *fake_url(fake_t *f) { return g_strdup_printf("ws://127.0.0.1:%u/x", f->port); }

typedef struct blocked {
  actr_lane_t *lane;
  bool sender;
  int rc;
  gint64 returned_us;
} blocked_t;

static gpointer blocked_main(gpointer p) {
  blocked_t *b = p;
  if (b->sender) {
    uint8_t *d = g_malloc0(65536);
    do
      b->rc = actr_lane_send(b->lane, d, 65536);
    while (b->rc == ACTR_OK);
    g_free(d);
  } else {
    actr_msg_t *m = NULL;
    b->rc = actr_lane_recv(b->lane, -1, &m);
    actr_msg_free(m);
  }
  b->returned_us = g_get_monotonic_time();
  return NULL;
}

/* A peer that resets: a blocked receiver and a blocked sender both get
 * WEBSOCKET_CLOSED, and later callers too. */
static void test_peer_reset(void) {
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  fake_t fk;
  fake_start(&fk, PEER_RESET);
  char *url = fake_url(&fk);
  actr_ws_conn_t *c;
  ASSERT_OK(actr_ws_connect(rt, url, NULL, &c));
  blocked_t b[2] = {{.sender = false}, {.sender = true}};
  GThread *th[2];
  gint64 t0 = g_get_monotonic_time();
  for (int i = 0; i < 2; i++) {
    ASSERT_OK(actr_ws_conn_lane(c, ACTR_PAYLOAD_RPC_RELIABLE, &b[i].lane));
    th[i] = g_thread_new("blocked", blocked_main, &b[i]);
  }
  for (int i = 0; i < 2; i++) {
    g_thread_join(th[i]);
    ASSERT_RC(b[i].rc, "WEBSOCKET_CLOSED");
    g_assert_cmpint(b[i].returned_us - t0, <, 5 * G_USEC_PER_SEC);
  }
  ASSERT_RC(actr_lane_send(b[0].lane, "x", 1), "WEBSOCKET_CLOSED");
  actr_msg_t *m;
  ASSERT_RC(actr_lane_recv(b[0].lane, 1000, &m), "WEBSOCKET_CLOSED");
  g_assert_false(actr_lane_is_healthy(b[0].lane));
  actr_lane_unref(b[0].lane);
  actr_lane_unref(b[1].lane);
  actr_ws_conn_unref(c);
  fake_stop(&fk);
  g_free(url);
  actr_runtime_unref(rt);
}

/* A text frame on a lane connection is refused at its header, before its
 * payload: a header declaring 10 MiB (and no payload) gets close 1003 at
 * once.  Before, the connection waited to read and assemble the 10 MiB. */
static void test_text_frame_refused_at_header(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  GString *in = g_string_new(NULL);
  GSocketConnection *conn = raw_upgrade(&f, in);
  GSocket *sock = g_socket_connection_get_socket(conn);
  char buf[512];
  gssize n;
  g_assert_true(g_str_has_prefix(in->str, "HTTP/1.1 101 "));
  size_t rest = in->len - (size_t)(strstr(in->str, "\r\n\r\n") + 4 - in->str);
  actr_ws_conn_t *srv = fix_accepted(&f); /* held: its last handle's release closes it */
  uint8_t h[ACTR__WS_MAX_HEADER], key[4] = {1, 2, 3, 4};
  size_t hl = actr__ws_frame_header_encode(h, true, ACTR__WS_OP_TEXT, 10 << 20, key);
  send_all(sock, h, hl);
  GByteArray *got = g_byte_array_new();
  if (rest)
    g_byte_array_append(got, (const guint8 *)in->str + in->len - rest, (guint)rest);
  /* The server's frames (unmasked, short): a keepalive ping may come first. */
  size_t at = 0;
  for (;;) {
    while (got->len < at + 2 || got->len < at + 2 + (got->data[at + 1] & 0x7f)) {
      n = g_socket_receive(sock, buf, sizeof buf, NULL, NULL);
      g_assert_cmpint(n, >, 0); /* no close within 10 s: the test fails here */
      g_byte_array_append(got, (const guint8 *)buf, (guint)n);
    }
    if (got->data[at] != (0x80 | ACTR__WS_OP_PING))
      break;
    at += 2 + (got->data[at + 1] & 0x7f);
  }
  g_assert_cmpuint(got->data[at], ==, 0x80 | ACTR__WS_OP_CLOSE);
  g_assert_cmpuint(got->data[at + 1] & 0x7f, >=, 2);
  g_assert_cmpuint((unsigned)(got->data[at + 2] << 8 | got->data[at + 3]), ==,
                   ACTR__WS_CLOSE_UNSUPPORTED);
  actr_ws_conn_unref(srv);
  g_byte_array_free(got, TRUE);
  g_string_free(in, TRUE);
  g_object_unref(conn);
  fix_stop(&f);
}

/* A peer's close frame with a code no peer may send (1005) and a reason
 * that is not UTF-8: answered with 1002, and the application is told 1002
 * with our reason, never the peer's code or bytes (it was told 1005). */
static void test_peer_bad_close(void) {
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  fake_t fk;
  fake_start(&fk, PEER_BAD_CLOSE);
  char *url = fake_url(&fk);
  raw_peer_t p;
  raw_init(&p);
  actr_ws_conn_t *c;
  ASSERT_OK(actr_ws_connect_messages(rt, url, NULL, &raw_ops, &p, &c));
  g_assert_cmpint(raw_wait_close(&p), ==, ACTR__WS_CLOSE_PROTOCOL);
  ASSERT_RC(actr_ws_conn_send_message(c, false, "x", 1, 1000), "WEBSOCKET_CLOSED");
  g_assert_nonnull(strstr(actr_err_detail(), "invalid close code"));
  actr_ws_conn_unref(c);
  raw_clear(&p);
  fake_stop(&fk);
  g_free(url);
  actr_runtime_unref(rt);
}

/* A peer that goes silent (no FIN, no RST): keepalive pings go unanswered
 * and the blocked receiver gets WEBSOCKET_CLOSED in a few intervals. */
static void test_peer_vanishes(void) {
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  fake_t fk;
  fake_start(&fk, PEER_VANISH);
  char *url = fake_url(&fk);
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.ping_interval_ms = 200;
  actr_ws_conn_t *c;
  ASSERT_OK(actr_ws_connect(rt, url, &cfg, &c));
  blocked_t b = {.sender = false};
  ASSERT_OK(actr_ws_conn_lane(c, ACTR_PAYLOAD_RPC_SIGNAL, &b.lane));
  gint64 t0 = g_get_monotonic_time();
  GThread *th = g_thread_new("blocked", blocked_main, &b);
  g_thread_join(th);
  ASSERT_RC(b.rc, "WEBSOCKET_CLOSED");
  g_assert_cmpint(b.returned_us - t0, <, 3 * G_USEC_PER_SEC);
  actr_ws_conn_stats_t st;
  ASSERT_OK(actr_ws_conn_stats(c, &st));
  g_assert_cmpuint(st.pings_sent, >=, 1);
  actr_lane_unref(b.lane);
  actr_ws_conn_unref(c);
  fake_stop(&fk);
  g_free(url);
  actr_runtime_unref(rt);
}

/* Both sides stop reading and the server fills the socket: a live peer
 * whose window stays closed.  While its reading is paused the server pings
 * each interval, and a ping that cannot be written waits: one, not one more
 * per interval (they piled up, about a megabyte a day per connection). */
static void test_pings_do_not_pile_up(void) {
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.ping_interval_ms = 1000; /* TCP_RTO_MAX_MS keeps window probes within it */
  cfg.outbound_queue_bytes = 1u << 20;
  ws_fix_t f;
  fix_start(&f, &cfg);
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, &cfg, &cli, &srv);
  ASSERT_OK(actr_ws_conn_pause(cli));
  ASSERT_OK(actr_ws_conn_pause(srv));
  actr_lane_t *tx;
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_STREAM_RELIABLE, &tx));
  enum { SIZE = 65536 };
  uint8_t *d = g_malloc0(SIZE);
  int rc;
  while ((rc = actr_lane_send_timeout(tx, d, SIZE, 500)) == ACTR_OK)
    ;
  g_free(d);
  ASSERT_RC(rc, "TIMEOUT"); /* pushed back: the socket and the queue are full */
  actr_ws_conn_stats_t before, after;
  ASSERT_OK(actr_ws_conn_stats(srv, &before));
  g_usleep(6 * G_USEC_PER_SEC); /* six intervals */
  ASSERT_OK(actr_ws_conn_stats(srv, &after));
  g_test_message("pings queued: %" G_GUINT64_FORMAT " before, %" G_GUINT64_FORMAT " after",
                 before.pings_sent, after.pings_sent);
  g_assert_true(actr_ws_conn_is_open(srv));
  g_assert_cmpuint(after.pings_sent - before.pings_sent, <=, 1);
  actr_lane_unref(tx);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* Disconnect in the middle of a message: the partial message is freed, the
 * receiver gets WEBSOCKET_CLOSED. */
static void test_disconnect_mid_message(void) {
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  fake_t fk;
  fake_start(&fk, PEER_HALF_FRAME);
  char *url = fake_url(&fk);
  actr_ws_conn_t *c;
  ASSERT_OK(actr_ws_connect(rt, url, NULL, &c));
  actr_payload_type_t t;
  actr_msg_t *m;
  ASSERT_RC(actr_ws_conn_recv(c, 5000, &t, &m), "WEBSOCKET_CLOSED");
  actr_ws_conn_unref(c);
  fake_stop(&fk);
  g_free(url);
  actr_runtime_unref(rt);
}

static void test_connect_failures(void) {
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_ws_conn_t *c = NULL;
  fake_t fk;
  /* Refused handshake. */
  fake_start(&fk, PEER_404);
  char *url = fake_url(&fk);
  ASSERT_RC(actr_ws_connect(rt, url, NULL, &c), "WEBSOCKET");
  g_assert_nonnull(strstr(actr_err_detail(), "404"));
  g_assert_null(c);
  fake_stop(&fk);
  g_free(url);
  /* A peer that accepts TCP and never answers: the connect timeout. */
  fake_start(&fk, PEER_SILENT);
  url = fake_url(&fk);
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.connect_timeout_ms = 300;
  gint64 t0 = g_get_monotonic_time();
  ASSERT_RC(actr_ws_connect(rt, url, &cfg, &c), "TIMEOUT");
  g_assert_cmpint(g_get_monotonic_time() - t0, <, 3 * G_USEC_PER_SEC);
  fake_stop(&fk);
  /* Nobody listening (the fake's port, now closed). */
  ASSERT_RC(actr_ws_connect(rt, url, NULL, &c), "CONNECTION");
  g_free(url);
  ASSERT_RC(actr_ws_connect(rt, "http://127.0.0.1/", NULL, &c), "URL_PARSE");
  actr_runtime_unref(rt);
}

/* Plain HTTP against the server: 4xx answers, the server goes on. */
static char *http_exchange_from(const char *from, uint16_t port, const char *request,
                                const char *until);
static char *http_exchange(uint16_t port, const char *request) {
  return http_exchange_from(NULL, port, request, NULL);
}

static char *http_exchange_upto(uint16_t port, const char *request, const char *until) {
  return http_exchange_from(NULL, port, request, until);
}

/* silent_from: a connection to 127.0.0.1:@port from the local address
 * @from (NULL: any) that sends nothing. */
static GSocketConnection *silent_from(const char *from, uint16_t port) {
  GSocketClient *sc = g_socket_client_new();
  if (from) {
    GSocketAddress *la = g_inet_socket_address_new_from_string(from, 0);
    g_socket_client_set_local_address(sc, la);
    g_object_unref(la);
  }
  GSocketConnection *conn = g_socket_client_connect_to_host(sc, "127.0.0.1", port, NULL, NULL);
  g_assert_nonnull(conn);
  g_object_unref(sc);
  return conn;
}

/* http_exchange_from: send @request from the local address @from (NULL:
 * any), read the answer until the server closes or, with @until, until it
 * holds @until. */
static char *http_exchange_from(const char *from, uint16_t port, const char *request,
                                const char *until) {
  GSocketConnection *conn = silent_from(from, port);
  g_assert_nonnull(conn);
  GSocket *s = g_socket_connection_get_socket(conn);
  send_all(s, request, strlen(request));
  GString *out = g_string_new(NULL);
  char buf[4096];
  gssize n;
  while ((!until || !strstr(out->str, until)) &&
         (n = g_socket_receive(s, buf, sizeof buf, NULL, NULL)) > 0)
    g_string_append_len(out, buf, n);
  g_object_unref(conn);
  return g_string_free(out, FALSE);
}

static void test_server_refuses_bad_handshakes(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  uint16_t port = actr_ws_server_port(f.srv);
  char *r = http_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  g_assert_true(g_str_has_prefix(r, "HTTP/1.1 400 "));
  g_free(r);
  r = http_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n");
  g_assert_true(g_str_has_prefix(r, "HTTP/1.1 426 "));
  g_assert_nonnull(strstr(r, "Sec-WebSocket-Version: 13"));
  g_free(r);
  r = http_exchange(port, "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
  g_assert_true(g_str_has_prefix(r, "HTTP/1.1 405 "));
  g_free(r);
  /* Still serving. */
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, NULL, &cli, &srv);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* Server close while a client sits in the handshake: aborted, no leak. */
static void test_server_close_aborts_handshakes(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  GSocketClient *sc = g_socket_client_new();
  GSocketConnection *conn =
      g_socket_client_connect_to_host(sc, "127.0.0.1", actr_ws_server_port(f.srv), NULL, NULL);
  g_assert_nonnull(conn);
  send_all(g_socket_connection_get_socket(conn), "GET / HTTP/1.1\r\n", 16);
  actr_ws_server_close(f.srv);
  char buf[16];
  g_assert_cmpint(g_socket_receive(g_socket_connection_get_socket(conn), buf, sizeof buf, NULL, NULL), <=, 0);
  g_object_unref(conn);
  g_object_unref(sc);
  fix_stop(&f);
}

/* Server caps: a connection past max_connections, or arriving while
 * max_handshakes are in progress, gets 503 and costs nothing; a place comes
 * back when a connection's socket is let go (or a handshake times out). */
static void wait_connections(actr_ws_server_t *srv, uint32_t want) {
  actr_ws_server_stats_t st;
  for (int i = 0; i < 1000; i++) {
    ASSERT_OK(actr_ws_server_stats(srv, &st));
    if (st.connections == want)
      return;
    g_usleep(10000);
  }
  g_assert_cmpuint(st.connections, ==, want);
}

static void test_server_caps(void) {
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.max_connections = 2;
  cfg.max_handshakes = 1;
  cfg.connect_timeout_ms = 500; /* the silent handshake below ends this soon */
  ws_fix_t f;
  fix_start(&f, &cfg);
  uint16_t port = actr_ws_server_port(f.srv);
  /* One silent socket holds the only handshake place. */
  GSocketClient *sc = g_socket_client_new();
  GSocketConnection *silent = g_socket_client_connect_to_host(sc, "127.0.0.1", port, NULL, NULL);
  g_assert_nonnull(silent);
  wait_connections(f.srv, 1);
  char *r = http_exchange(port, "GET /lane HTTP/1.1\r\nHost: x\r\n\r\n");
  g_assert_true(g_str_has_prefix(r, "HTTP/1.1 503 "));
  g_free(r);
  /* It times out; then two connections fit, a third does not. */
  char buf[16];
  g_assert_cmpint(g_socket_receive(g_socket_connection_get_socket(silent), buf, sizeof buf, NULL,
                                   NULL), <=, 0);
  g_object_unref(silent);
  wait_connections(f.srv, 0);
  actr_ws_conn_t *cli[2], *srv[2], *extra = NULL;
  fix_pair(&f, NULL, &cli[0], &srv[0]);
  fix_pair(&f, NULL, &cli[1], &srv[1]);
  ASSERT_RC(actr_ws_connect(f.rt, f.url, NULL, &extra), "WEBSOCKET");
  g_assert_nonnull(strstr(actr_err_detail(), "503"));
  actr_ws_server_stats_t st;
  ASSERT_OK(actr_ws_server_stats(f.srv, &st));
  g_assert_cmpuint(st.connections, ==, 2);
  g_assert_cmpuint(st.accepted, ==, 2);
  g_assert_cmpuint(st.refused_busy, ==, 2);
  /* One closes: its place is free again once the server let go of it. */
  actr_ws_conn_unref(cli[0]);
  actr_ws_conn_unref(srv[0]);
  wait_connections(f.srv, 1);
  fix_pair(&f, NULL, &cli[0], &srv[0]);
  for (int i = 0; i < 2; i++) {
    actr_ws_conn_unref(cli[i]);
    actr_ws_conn_unref(srv[i]);
  }
  g_object_unref(sc);
  fix_stop(&f);
}

/* max_handshakes_per_address: one address's silent connections hold its
 * own places, not the others'.  127.0.0.2 and 127.0.0.3 are other hosts of
 * the loopback network. */
static void test_server_caps_per_address(void) {
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.max_handshakes = 8;
  cfg.max_handshakes_per_address = 2;
  ws_fix_t f;
  fix_start(&f, &cfg);
  uint16_t port = actr_ws_server_port(f.srv);
  GSocketConnection *silent[2] = {silent_from("127.0.0.2", port), silent_from("127.0.0.2", port)};
  wait_connections(f.srv, 2);
  static const char upgrade[] = "GET /lane HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n";
  char *r = http_exchange_from("127.0.0.2", port, upgrade, "\r\n\r\n");
  g_assert_true(g_str_has_prefix(r, "HTTP/1.1 503 "));
  g_free(r);
  r = http_exchange_from("127.0.0.3", port, upgrade, "\r\n\r\n");
  g_assert_true(g_str_has_prefix(r, "HTTP/1.1 101 "));
  g_free(r);
  actr_ws_conn_unref(fix_accepted(&f));
  actr_ws_conn_t *cli, *srv; /* from 127.0.0.1: a lane connection as usual */
  fix_pair(&f, NULL, &cli, &srv);
  actr_ws_server_stats_t st;
  ASSERT_OK(actr_ws_server_stats(f.srv, &st));
  g_assert_cmpuint(st.refused_busy, ==, 1);
  g_assert_cmpuint(st.handshakes, ==, 2); /* the two silent ones */
  /* One silent connection goes: its address has a place again. */
  g_object_unref(silent[0]);
  for (int i = 0; i < 500 && st.handshakes != 1; i++) {
    g_usleep(10000);
    ASSERT_OK(actr_ws_server_stats(f.srv, &st));
  }
  g_assert_cmpuint(st.handshakes, ==, 1);
  r = http_exchange_from("127.0.0.2", port, upgrade, "\r\n\r\n");
  g_assert_true(g_str_has_prefix(r, "HTTP/1.1 101 "));
  g_free(r);
  actr_ws_conn_unref(fix_accepted(&f));
  g_object_unref(silent[1]);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* The server's check sees the path and any header before the 101 and
 * refuses with the status it returns. */
typedef struct check_seen {
  int calls;
  char path[64], sid[64];
} check_seen_t;

static int origin_check(const actr_ws_request_t *req, void *u) {
  check_seen_t *s = u;
  s->calls++;
  g_strlcpy(s->path, actr_ws_request_path(req), sizeof s->path);
  const char *sid = actr_ws_request_header(req, "x-actr-source-id"); /* any case */
  g_strlcpy(s->sid, sid ? sid : "", sizeof s->sid);
  if (strcmp(actr_ws_request_path(req), "/teapot") == 0)
    return 418;
  if (sid)
    return 0;
  const char *origin = actr_ws_request_header(req, "Origin");
  return origin && strcmp(origin, "http://ok") == 0 ? 0 : 403;
}

static void test_server_check(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  check_seen_t seen = {0};
  ASSERT_OK(actr_ws_server_set_check(f.srv, origin_check, &seen));
  actr_ws_conn_t *c = NULL;
  ASSERT_RC(actr_ws_connect(f.rt, f.url, NULL, &c), "WEBSOCKET");
  g_assert_nonnull(strstr(actr_err_detail(), "403"));
  g_assert_cmpstr(seen.path, ==, "/lane");
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.source_id = "abcd";
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, &cfg, &cli, &srv);
  g_assert_cmpstr(seen.sid, ==, "abcd");
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  uint16_t port = actr_ws_server_port(f.srv);
  char *r = http_exchange_upto(port, "GET /lane HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                     "Connection: Upgrade\r\nOrigin: http://ok\r\n"
                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                     "Sec-WebSocket-Version: 13\r\n\r\n", "\r\n\r\n");
  g_assert_true(g_str_has_prefix(r, "HTTP/1.1 101 "));
  g_free(r);
  actr_ws_conn_unref(fix_accepted(&f));
  char url[96];
  snprintf(url, sizeof url, "ws://127.0.0.1:%u/teapot", port);
  ASSERT_RC(actr_ws_connect(f.rt, url, &cfg, &c), "WEBSOCKET");
  g_assert_nonnull(strstr(actr_err_detail(), "418"));
  actr_ws_server_stats_t st;
  ASSERT_OK(actr_ws_server_stats(f.srv, &st));
  g_assert_cmpuint(st.refused_check, ==, 2);
  g_assert_cmpint(seen.calls, ==, 4);
  fix_stop(&f);
}

/* A check given in the config holds from the server's first connection on
 * (none passes before it is installed), and sees the address each request
 * came from; actr_ws_server_set_check replaces it. */
typedef struct peer_seen {
  int calls, rc, small_rc;
  char host[64];
  uint16_t port;
} peer_seen_t;

static int peer_check(const actr_ws_request_t *req, void *u) {
  peer_seen_t *s = u;
  s->calls++;
  s->rc = actr_ws_request_peer(req, s->host, sizeof s->host, &s->port);
  char tiny[4];
  s->small_rc = actr_ws_request_peer(req, tiny, sizeof tiny, NULL);
  return 403;
}

static void test_server_check_from_config(void) {
  peer_seen_t seen = {0};
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  cfg.check = peer_check;
  cfg.check_user = &seen;
  ws_fix_t f;
  fix_start(&f, &cfg);
  GString *in = g_string_new(NULL);
  GSocketConnection *conn = raw_upgrade(&f, in);
  GSocketAddress *local = g_socket_get_local_address(g_socket_connection_get_socket(conn), NULL);
  uint16_t local_port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
  g_object_unref(local);
  g_assert_true(g_str_has_prefix(in->str, "HTTP/1.1 403 "));
  g_string_free(in, TRUE);
  g_object_unref(conn);
  g_assert_cmpint(seen.calls, ==, 1);
  g_assert_cmpstr(actr_err_name(seen.rc), ==, "OK");
  g_assert_cmpstr(seen.host, ==, "127.0.0.1");
  g_assert_cmpuint(seen.port, ==, local_port);
  g_assert_cmpstr(actr_err_name(seen.small_rc), ==, "INVALID_ARGUMENT");
  /* Replaced: accepted now, the config's check not called. */
  ASSERT_OK(actr_ws_server_set_check(f.srv, NULL, NULL));
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, NULL, &cli, &srv);
  g_assert_cmpint(seen.calls, ==, 1);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  fix_stop(&f);
}

/* ---- raw paths (the /signal shape) ---- */

static void echo_on_open(actr_ws_conn_t *c, void *u) { g_async_queue_push(u, c); }
static void echo_on_message(actr_ws_conn_t *c, bool text, const uint8_t *d, size_t n, void *u) {
  actr_ws_conn_send_message(c, text, d, n, 0);
}
static const actr_ws_message_ops_t echo_ops = {echo_on_open, echo_on_message, NULL};

/* raw_open: a message-mode client of @path (served already) collecting
 * into @p; *@srv: the server's side, as its on_open pushed it to @opened. */
static actr_ws_conn_t *raw_open(ws_fix_t *f, const char *path, raw_peer_t *p, GAsyncQueue *opened,
                                actr_ws_conn_t **srv) {
  char url[96];
  snprintf(url, sizeof url, "ws://127.0.0.1:%u%s", actr_ws_server_port(f->srv), path);
  actr_ws_conn_t *cli;
  ASSERT_OK(actr_ws_connect_messages(f->rt, url, NULL, &raw_ops, p, &cli));
  *srv = g_async_queue_timeout_pop(opened, 5 * G_USEC_PER_SEC);
  g_assert_nonnull(*srv);
  return cli;
}

static void test_raw_path(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  GAsyncQueue *opened = g_async_queue_new();
  ASSERT_OK(actr_ws_server_add_message_path(f.srv, "/signal", &echo_ops, opened, 0));
  raw_peer_t p;
  raw_init(&p);
  actr_ws_conn_t *srv, *cli = raw_open(&f, "/signal", &p, opened, &srv);
  actr_lane_t *l;
  ASSERT_RC(actr_ws_conn_lane(srv, 0, &l), "INVALID_OPERATION");
  ASSERT_OK(actr_ws_conn_send_message(cli, true, "{\"type\":\"offer\"}", 16, -1));
  GBytes *b = g_async_queue_timeout_pop(p.msgs, 5 * G_USEC_PER_SEC);
  g_assert_nonnull(b);
  g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), "T{\"type\":\"offer\"}", 17);
  g_bytes_unref(b);
  ASSERT_RC(actr_ws_conn_send_message(cli, true, "\xff", 1, -1), "INVALID_ARGUMENT");
  actr_ws_conn_close_with(srv, 1011, "signaling not available");
  g_assert_cmpint(raw_wait_close(&p), ==, 1011);
  g_assert_null(g_async_queue_try_pop(f.accepted)); /* not a lane connection */
  actr_ws_conn_unref(srv);
  actr_ws_conn_unref(cli);
  raw_clear(&p);
  /* A raw path with its own message bound: a larger message fails the
   * connection with 1009 (the server's lane bound is 64 MiB). */
  ASSERT_OK(actr_ws_server_add_message_path(f.srv, "/small", &echo_ops, opened, 1024));
  raw_init(&p);
  cli = raw_open(&f, "/small", &p, opened, &srv);
  char big[2048];
  memset(big, 'x', sizeof big);
  ASSERT_OK(actr_ws_conn_send_message(cli, true, big, 1000, -1));
  b = g_async_queue_timeout_pop(p.msgs, 5 * G_USEC_PER_SEC);
  g_assert_nonnull(b);
  g_bytes_unref(b);
  ASSERT_OK(actr_ws_conn_send_message(cli, true, big, sizeof big, -1));
  g_assert_cmpint(raw_wait_close(&p), ==, 1009);
  actr_ws_conn_unref(srv);
  actr_ws_conn_unref(cli);
  raw_clear(&p);
  g_async_queue_unref(opened);
  fix_stop(&f);
}

/* actr_ws_conn_pause in message mode, from the handler: no handler runs
 * after it until resume, nothing more is read (the client's sends are
 * pushed back until they would block), and after actr_ws_conn_resume every
 * message arrives, in order.  Before, message mode ignored the pause: the
 * handler went on running for every message and the client never blocked. */
typedef struct held {
  atomic_int count; /* messages handled */
  atomic_int order_ok;
  GAsyncQueue *opened;
} held_t;

static void held_on_open(actr_ws_conn_t *c, void *u) { g_async_queue_push(((held_t *)u)->opened, c); }
static void held_on_message(actr_ws_conn_t *c, bool text, const uint8_t *d, size_t n, void *u) {
  held_t *h = u;
  int i = atomic_fetch_add(&h->count, 1);
  uint32_t seq = 0;
  if (n >= 4)
    memcpy(&seq, d, 4);
  if (i > 0 && seq != (uint32_t)i)
    atomic_store(&h->order_ok, 0);
  if (i == 0) /* the first message asks for the pause: at once, on this thread */
    g_assert_cmpint(actr_ws_conn_pause(c), ==, ACTR_OK);
}
static const actr_ws_message_ops_t held_ops = {held_on_open, held_on_message, NULL};

static void test_raw_path_pause(void) {
  ws_fix_t f;
  fix_start(&f, NULL);
  held_t h = {.opened = g_async_queue_new()};
  atomic_init(&h.count, 0);
  atomic_init(&h.order_ok, 1);
  ASSERT_OK(actr_ws_server_add_message_path(f.srv, "/held", &held_ops, &h, 0));
  raw_peer_t p;
  raw_init(&p);
  actr_ws_conn_t *srv, *cli = raw_open(&f, "/held", &p, h.opened, &srv);
  enum { SIZE = 64 * 1024, MAX_BYTES = 256 << 20 };
  uint8_t *m = g_malloc0(SIZE);
  ASSERT_OK(actr_ws_conn_send_message(cli, false, m, SIZE, -1)); /* seq 0: pause */
  /* Pushed back: sends are accepted until TCP's buffers and the outbound
   * queue are full, then refused (never waiting: timeout 0). */
  uint32_t sent = 0;
  int rc = ACTR_OK;
  for (size_t bytes = 0; bytes < MAX_BYTES; bytes += SIZE) {
    uint32_t seq = sent + 1;
    memcpy(m, &seq, 4);
    rc = actr_ws_conn_send_message(cli, false, m, SIZE, 0);
    if (rc != ACTR_OK)
      break;
    sent++;
  }
  ASSERT_RC(rc, "WOULD_BLOCK");
  g_test_message("%u messages of 64 KiB accepted before the pushback", sent);
  /* On a loaded machine the client can be pushed back before the server's
   * I/O thread has read the first message at all: wait for that one, then
   * see that the pause held the rest. */
  for (int i = 0; i < 1000 && atomic_load(&h.count) < 1; i++)
    g_usleep(10000); /* 10 s at most */
  g_assert_cmpint(atomic_load(&h.count), ==, 1);
  ASSERT_OK(actr_ws_conn_resume(srv));
  for (int i = 0; i < 1000 && atomic_load(&h.count) < (int)sent + 1; i++)
    g_usleep(10000); /* 10 s at most */
  g_assert_cmpint(atomic_load(&h.count), ==, (int)sent + 1);
  g_assert_cmpint(atomic_load(&h.order_ok), ==, 1);
  g_free(m);
  actr_ws_conn_unref(srv);
  actr_ws_conn_unref(cli);
  raw_clear(&p);
  g_async_queue_unref(h.opened);
  fix_stop(&f);
}

/* ---- TLS ---- */

static void test_tls(void) {
  char *dir = fix_make_certs();
  if (!dir) {
    g_test_skip("certtool (gnutls-bin) not installed");
    return;
  }
  gchar *cert = g_build_filename(dir, "srv.pem", NULL), *key = g_build_filename(dir, "srv.key", NULL),
        *ca = g_build_filename(dir, "ca.pem", NULL);
  actr_ws_config_t scfg;
  actr_ws_config_init(&scfg);
  scfg.cert_file = cert;
  scfg.key_file = key;
  ws_fix_t f;
  fix_start(&f, &scfg);
  g_assert_true(g_str_has_prefix(f.url, "wss://"));
  actr_ws_config_t ccfg;
  actr_ws_config_init(&ccfg);
  ccfg.ca_file = ca;
  actr_ws_conn_t *cli, *srv;
  fix_pair(&f, &ccfg, &cli, &srv);
  actr_lane_t *a, *b;
  ASSERT_OK(actr_ws_conn_lane(cli, ACTR_PAYLOAD_RPC_RELIABLE, &a));
  ASSERT_OK(actr_ws_conn_lane(srv, ACTR_PAYLOAD_RPC_RELIABLE, &b));
  static const size_t sizes[] = {0, 100, 70000, 3u << 20};
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
    for (int way = 0; way < 2; way++) {
      uint8_t *d = fix_pattern(sizes[i], (uint32_t)i);
      ASSERT_OK(actr_lane_send(way ? b : a, d, sizes[i]));
      g_free(d);
      actr_msg_t *m;
      ASSERT_OK(actr_lane_recv(way ? a : b, 10000, &m));
      fix_check(m, sizes[i], (uint32_t)i);
    }
  actr_lane_unref(a);
  actr_lane_unref(b);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  /* Without the CA (system store): the certificate is refused. */
  actr_ws_conn_t *c = NULL;
  ASSERT_RC(actr_ws_connect(f.rt, f.url, NULL, &c), "CONNECTION");
  g_assert_null(c);
  /* The explicit opt-out. */
  actr_ws_config_init(&ccfg);
  ccfg.tls_insecure = true;
  fix_pair(&f, &ccfg, &cli, &srv);
  actr_ws_conn_unref(cli);
  actr_ws_conn_unref(srv);
  /* A plain client on a TLS port fails, not hangs. */
  char url[96];
  snprintf(url, sizeof url, "ws://127.0.0.1:%u/", actr_ws_server_port(f.srv));
  actr_ws_config_init(&ccfg);
  ccfg.connect_timeout_ms = 2000;
  int rc = actr_ws_connect(f.rt, url, &ccfg, &c);
  g_assert_cmpint(rc, !=, ACTR_OK);
  fix_stop(&f);
  /* Bad certificate files: a configuration error at creation. */
  scfg.cert_file = ca;
  scfg.key_file = cert;
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_ws_server_t *s = NULL;
  ASSERT_RC(actr_ws_server_new(rt, "127.0.0.1", 0, &scfg, NULL, NULL, &s), "CONFIGURATION");
  actr_runtime_unref(rt);
  g_free(cert);
  g_free(key);
  g_free(ca);
  fix_remove_dir(dir);
}

int main(int argc, char **argv) {
#ifdef HAVE_GNUTLS
  /* Load GnuTLS with the program rather than later through the GIO TLS
   * module: GCC 12's LeakSanitizer crashes scanning the dynamic TLS block of
   * a library loaded with dlopen (static TLS is fine). */
  if (!gnutls_check_version(NULL))
    return 1;
#endif
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ws/wire/bad-lane-messages-dropped", test_bad_lane_messages);
  g_test_add_func("/ws/wire/declared-short-counts-whole", test_declared_short_counts_whole);
  g_test_add_func("/ws/wire/text-frame-refused", test_text_frame_refused);
  g_test_add_func("/ws/wire/oversized-frame-refused", test_oversized_frame_refused);
  g_test_add_func("/ws/wire/peer-reset", test_peer_reset);
  g_test_add_func("/ws/wire/peer-vanishes", test_peer_vanishes);
  g_test_add_func("/ws/wire/pings-do-not-pile-up", test_pings_do_not_pile_up);
  g_test_add_func("/ws/wire/disconnect-mid-message", test_disconnect_mid_message);
  g_test_add_func("/ws/wire/connect-failures", test_connect_failures);
  g_test_add_func("/ws/wire/server-refuses-bad-handshakes", test_server_refuses_bad_handshakes);
  g_test_add_func("/ws/wire/server-close-aborts-handshakes", test_server_close_aborts_handshakes);
  g_test_add_func("/ws/wire/server-caps", test_server_caps);
  g_test_add_func("/ws/wire/server-caps-per-address", test_server_caps_per_address);
  g_test_add_func("/ws/wire/text-frame-refused-at-header", test_text_frame_refused_at_header);
  g_test_add_func("/ws/wire/peer-bad-close", test_peer_bad_close);
  g_test_add_func("/ws/wire/server-check", test_server_check);
  g_test_add_func("/ws/wire/server-check-from-config", test_server_check_from_config);
  g_test_add_func("/ws/wire/raw-path", test_raw_path);
  g_test_add_func("/ws/wire/raw-path-pause", test_raw_path_pause);
  g_test_add_func("/ws/wire/tls", test_tls);
  return g_test_run();
}
