/* test_dtls.c — the DTLS session (src/rtc/dtls.c) between two ends in
 * memory: each end's datagrams are queued and fed to the other by the test
 * (no socket); retransmission timers fire when the test iterates the
 * sessions' main context. */
#include <glib.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include <actr/error.h>

#include "cert.h"
#include "dtls.h"

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")

typedef struct end {
  actr__dtls_t *d;
  GQueue out; /* GBytes: datagrams for the other end */
  bool connected;
  size_t data_records, data_bytes;
} end_t;

static void on_send(void *user, const void *buf, size_t len) {
  end_t *e = user;
  g_queue_push_tail(&e->out, g_bytes_new(buf, len));
}

static void on_send_many(void *user, const uint8_t *const *bufs, const size_t *lens, size_t n) {
  for (size_t i = 0; i < n; i++)
    on_send(user, bufs[i], lens[i]);
}

static void on_connected(void *user) { ((end_t *)user)->connected = true; }

static void on_data(void *user, const uint8_t *buf, size_t len) {
  end_t *e = user;
  (void)buf;
  e->data_records++;
  e->data_bytes += len;
}

static void on_failed(void *user, int err, const char *why) {
  (void)user;
  g_error("DTLS failed: %s: %s", actr_err_name(err), why);
}

static void on_closed(void *user) { (void)user; }

static const actr__dtls_cbs_t cbs = {on_send, on_send_many, on_connected, on_data, on_failed,
                                     on_closed};

/* fp_of: @c's SHA-256 fingerprint as the SDP would give it. */
static actr__sdp_fingerprint_t fp_of(const actr__cert_t *c) {
  actr__sdp_fingerprint_t fp = {.hash = ACTR__HASH_SHA256, .len = 32};
  for (size_t i = 0; i < 32; i++) {
    unsigned v;
    g_assert_cmpint(sscanf(c->fingerprint + 3 * i, "%2x", &v), ==, 1);
    fp.bytes[i] = (uint8_t)v;
  }
  return fp;
}

/* deliver: what @from sent, fed to @to, until nothing is queued. */
static unsigned deliver(end_t *from, end_t *to) {
  unsigned n = 0;
  GBytes *b;
  while ((b = g_queue_pop_head(&from->out))) {
    gsize len;
    const uint8_t *p = g_bytes_get_data(b, &len);
    actr__dtls_feed(to->d, p, len);
    g_bytes_unref(b);
    n++;
  }
  return n;
}

/* A pair of ends, handshake done.  With @lossy, the first datagram of
 * the client's second flight is lost, so the server holds that flight's
 * ChangeCipherSpec while it waits for the rest, and gets it again with the
 * flight the client sends again (RFC 6347 §4.2.4, after 1 s). */
typedef struct pair {
  GMainContext *ctx;
  actr__cert_t *cc, *sc;
  end_t client, server;
} pair_t;

static void pair_connect(pair_t *p, bool lossy) {
  memset(p, 0, sizeof *p);
  p->ctx = g_main_context_new();
  ASSERT_OK(actr__cert_generate(&p->cc));
  ASSERT_OK(actr__cert_generate(&p->sc));
  actr__sdp_fingerprint_t cfp = fp_of(p->cc), sfp = fp_of(p->sc);
  /* Small datagrams: each handshake message in datagrams of its own. */
  actr__dtls_config_t ccfg = {.client = true, .cert = p->cc, .remote_fp = &sfp,
                              .n_remote_fp = 1, .mtu = 200, .timeout_ms = 30000};
  actr__dtls_config_t scfg = {.client = false, .cert = p->sc, .remote_fp = &cfp,
                              .n_remote_fp = 1, .mtu = 200, .timeout_ms = 30000};
  ASSERT_OK(actr__dtls_new(p->ctx, &ccfg, &cbs, &p->client, &p->client.d));
  ASSERT_OK(actr__dtls_new(p->ctx, &scfg, &cbs, &p->server, &p->server.d));
  actr__dtls_start(p->server.d);
  actr__dtls_start(p->client.d);      /* ClientHello */
  deliver(&p->client, &p->server);    /* ServerHello ... ServerHelloDone */
  deliver(&p->server, &p->client);    /* the client's second flight, queued */
  if (lossy) {
    g_assert_cmpuint(g_queue_get_length(&p->client.out), >=, 3);
    g_bytes_unref(g_queue_pop_head(&p->client.out));
    deliver(&p->client, &p->server);  /* the rest: its ChangeCipherSpec is kept */
    g_assert_false(p->server.connected);
    g_usleep(1100 * 1000);            /* the client's retransmission timer */
    while (g_main_context_iteration(p->ctx, FALSE))
      ;
  }
  /* Retransmissions as their timers come (at most 15 s). */
  for (int i = 0; i < 150 && !(p->client.connected && p->server.connected); i++) {
    deliver(&p->client, &p->server);
    deliver(&p->server, &p->client);
    if (p->client.connected && p->server.connected)
      break;
    g_usleep(100 * 1000);
    while (g_main_context_iteration(p->ctx, FALSE))
      ;
  }
  g_assert_true(p->client.connected);
  g_assert_true(p->server.connected);
}

static void pair_free(pair_t *p) {
  actr__dtls_free(p->client.d);
  actr__dtls_free(p->server.d);
  g_queue_clear_full(&p->client.out, (GDestroyNotify)g_bytes_unref);
  g_queue_clear_full(&p->server.out, (GDestroyNotify)g_bytes_unref);
  actr__cert_free(p->cc);
  actr__cert_free(p->sc);
  g_main_context_unref(p->ctx);
}

/* exchange: @n records of application data each way; all arrive. */
static void exchange(pair_t *p, unsigned n) {
  size_t c0 = p->client.data_records, s0 = p->server.data_records;
  for (unsigned i = 0; i < n; i++) {
    g_assert_true(actr__dtls_send(p->client.d, "hello", 5));
    g_assert_true(actr__dtls_send(p->server.d, "olleh", 5));
    deliver(&p->client, &p->server);
    deliver(&p->server, &p->client);
  }
  g_assert_cmpuint(p->server.data_records - s0, ==, n);
  g_assert_cmpuint(p->client.data_records - c0, ==, n);
}

/* A handshake whose client flight is lost in part and sent again: the
 * server has got its ChangeCipherSpec twice, and GnuTLS 3.7 keeps the
 * second in its record buffer after the handshake.  Reading application
 * data with gnutls_record_recv_packet, GnuTLS took it out of the buffer
 * there and never freed it (~16.8 KB; its
 * _gnutls_record_buffer_get_packet: the `faults/loss` leak under ASan),
 * then cut the size of that record off the record behind it.  Each such
 * connection must cost nothing once freed: after one warm-up, 4 of them
 * leave the heap within 32 KiB of where it was (before: +4 x 16.8 KB;
 * LeakSanitizer names the buffers under ASan), and every record of data
 * arrives (before: one lost at each). */
static void test_change_cipher_spec_twice(void) {
  pair_t p;
  pair_connect(&p, true); /* warm-up: GnuTLS's and GLib's one-time allocations */
  exchange(&p, 4);
  pair_free(&p);
  size_t before = mallinfo2().uordblks;
  for (int i = 0; i < 4; i++) {
    pair_connect(&p, true);
    exchange(&p, 4);
    pair_free(&p);
  }
  size_t after = mallinfo2().uordblks;
  g_test_message("4 connections with a lost flight: heap %+ld bytes", (long)(after - before));
  g_assert_cmpint((long)(after - before), <, 32 * 1024);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dtls/change-cipher-spec-twice", test_change_cipher_spec_twice);
  return g_test_run();
}
