/* test_webrtc.c — two peer connections in one process, each on its own
 * runtime, over loopback (run inside tests/rtc/netns-run.sh): channels both
 * ways, ordered and unordered, messages of 0, 1, 1200 and 65535 bytes as
 * text and binary, trickle and non-trickle ICE, closing seen by the other
 * side, a fingerprint mismatch, backpressure, limits. */
#include <stdlib.h>
#include <string.h>

#include <actr/testing.h>

#include "harness.h"
#include "runtime_internal.h"
#include "fragment.h"
#include "msg_internal.h"
#include "sctp.h"

#define T_MS 20000

static const size_t sizes[] = {0, 1, 1200, 65535};

static void fill_msg(uint8_t *buf, size_t len, bool text, unsigned seed) {
  if (text)
    for (size_t i = 0; i < len; i++)
      buf[i] = (uint8_t)('a' + (i + seed) % 26);
  else
    h_fill(buf, len, seed);
}

static bool check_msg(const uint8_t *buf, size_t len, bool text, unsigned seed) {
  if (!text)
    return h_check(buf, len, seed);
  for (size_t i = 0; i < len; i++)
    if (buf[i] != (uint8_t)('a' + (i + seed) % 26))
      return false;
  return true;
}

/* send_all: every size, binary then text; seeds base + index. */
static void send_all(h_chan_t *c, unsigned base) {
  uint8_t *buf = g_malloc(65536);
  unsigned k = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
    for (int text = 0; text < 2; text++, k++) {
      fill_msg(buf, sizes[i], text, base + k);
      ASSERT_OK(actr_webrtc_dc_send(c->dc, buf, sizes[i], text));
    }
  g_free(buf);
}

static void check_all(h_chan_t *c, bool ordered, unsigned base) {
  guint n = G_N_ELEMENTS(sizes) * 2;
  g_assert_true(h_wait_msgs(c, n, T_MS));
  g_assert_cmpuint(c->msgs->len, ==, n);
  bool seen[16] = {0};
  for (guint j = 0; j < n; j++) {
    h_msg_t *m = c->msgs->pdata[j];
    size_t len = actr_msg_len(m->msg);
    guint k;
    for (k = 0; k < n; k++)
      if (sizes[k / 2] == len && (bool)(k % 2) == m->text && !seen[k])
        break;
    g_assert_cmpuint(k, <, n);
    seen[k] = true;
    if (ordered)
      g_assert_cmpuint(k, ==, j);
    g_assert_true(check_msg(actr_msg_data(m->msg), len, m->text, base + k));
  }
}

static void exchange(h_world_t *w) {
  h_peer_t *a = &w->peers[0], *b = &w->peers[1];
  /* a -> b: ordered, reliable.  b -> a: unordered, 3 retransmissions (the
   * STREAM_LATENCY_FIRST QoS of SPEC §1.1), with a protocol. */
  h_chan_t *a2b = h_open(a, "a2b", NULL);
  g_assert_cmpint(actr_webrtc_dc_state(a2b->dc), ==, ACTR_WEBRTC_DC_CONNECTING);
  g_assert_cmpint(actr_webrtc_dc_send(a2b->dc, "x", 1, false), ==, ACTR_EDATA_CHANNEL_NOT_OPEN);
  g_assert_true(h_wait_state(w, 0, ACTR_WEBRTC_PC_CONNECTED, T_MS));
  g_assert_true(h_wait_state(w, 1, ACTR_WEBRTC_PC_CONNECTED, T_MS));
  actr_webrtc_dc_options_t o;
  actr_webrtc_dc_options_init(&o);
  o.unordered = true;
  o.max_retransmits = 3;
  o.protocol = "actr";
  h_chan_t *b2a = h_open(b, "b2a", &o);
  g_assert_true(h_wait_open(a2b, T_MS));
  g_assert_true(h_wait_open(b2a, T_MS));
  /* RFC 8832 §6: the DTLS client (the answerer, setup:active) uses even
   * stream ids, the server odd ones. */
  g_assert_cmpint(actr_webrtc_dc_id(a2b->dc) % 2, ==, 1);
  g_assert_cmpint(actr_webrtc_dc_id(b2a->dc) % 2, ==, 0);
  h_chan_t *a2b_in = h_incoming(b, "a2b", T_MS);
  h_chan_t *b2a_in = h_incoming(a, "b2a", T_MS);
  g_assert_nonnull(a2b_in);
  g_assert_nonnull(b2a_in);
  g_assert_true(actr_webrtc_dc_ordered(a2b_in->dc));
  g_assert_false(actr_webrtc_dc_ordered(b2a_in->dc));
  g_assert_cmpint(actr_webrtc_dc_max_retransmits(b2a_in->dc), ==, 3);
  g_assert_cmpint(actr_webrtc_dc_max_packet_lifetime_ms(b2a_in->dc), ==, -1);
  g_assert_cmpstr(actr_webrtc_dc_protocol(b2a_in->dc), ==, "actr");
  g_assert_cmpint(actr_webrtc_dc_id(b2a_in->dc), ==, actr_webrtc_dc_id(b2a->dc));
  g_assert_cmpuint(actr_webrtc_dc_max_message_size(a2b->dc), ==, 262144);

  /* Each direction on each channel. */
  send_all(a2b, 100);
  send_all(b2a, 200);
  send_all(a2b_in, 300);
  send_all(b2a_in, 400);
  check_all(a2b_in, true, 100);
  check_all(b2a_in, false, 200);
  check_all(a2b, true, 300);
  check_all(b2a, false, 400);
}

static void test_exchange_trickle(void) {
  h_world_t w;
  h_world_init(&w, NULL, NULL);
  h_negotiate(&w, true, NULL);
  exchange(&w);
  h_world_fini(&w);
}

static char *cert_pem, *key_pem;

static void given_cert(int idx, actr_webrtc_config_t *cfg, void *user) {
  if (idx == 0) {
    cfg->certificate_pem = cert_pem;
    cfg->private_key_pem = key_pem;
  }
}

static char *expect_fp;

static char *check_fp(const char *sdp) {
  g_autofree char *line = g_strconcat("a=fingerprint:sha-256 ", expect_fp, "\r\n", NULL);
  g_assert_nonnull(strstr(sdp, line));
  return g_strdup(sdp);
}

static void test_exchange_non_trickle(void) {
  ASSERT_OK(actr_webrtc_certificate_generate(&cert_pem, &key_pem));
  ASSERT_OK(actr_webrtc_certificate_fingerprint(cert_pem, &expect_fp));
  h_world_t w;
  h_world_init(&w, given_cert, NULL);
  h_negotiate(&w, false, check_fp); /* the offer carries every candidate */
  exchange(&w);
  h_world_fini(&w);
  free(cert_pem);
  free(key_pem);
  free(expect_fp);
}

/* open_pair: a channel @label opened by peer 0 and open, and (into *@in)
 * the same channel as peer 1 sees it. */
static h_chan_t *open_pair(h_world_t *w, const char *label, h_chan_t **in) {
  h_chan_t *c = h_open(&w->peers[0], label, NULL);
  g_assert_true(h_wait_open(c, T_MS));
  *in = h_incoming(&w->peers[1], label, T_MS);
  g_assert_nonnull(*in);
  return c;
}

/* new_channel_works: a new channel of peer 0 opens and carries a message;
 * its stream id. */
static int new_channel_works(h_world_t *w) {
  h_chan_t *again = h_open(&w->peers[0], "again", NULL);
  g_assert_true(h_wait_open(again, T_MS));
  ASSERT_OK(actr_webrtc_dc_send(again->dc, "hi", 2, true));
  h_chan_t *again_in = h_incoming(&w->peers[1], "again", T_MS);
  g_assert_true(h_wait_msgs(again_in, 1, T_MS));
  return actr_webrtc_dc_id(again->dc);
}

static void test_close_channel(void) {
  h_world_t w;
  h_world_init(&w, NULL, NULL);
  h_negotiate(&w, true, NULL);
  h_chan_t *in;
  h_chan_t *c = open_pair(&w, "to-close", &in);
  int sid = actr_webrtc_dc_id(c->dc);
  ASSERT_OK(actr_webrtc_dc_send(c->dc, "last", 4, true));
  actr_webrtc_dc_close(c->dc);
  /* The other side sees the message, then the close (RFC 8831 §6.7). */
  g_assert_true(h_wait_closed(in, T_MS));
  g_assert_true(h_wait_closed(c, T_MS));
  g_assert_cmpint(in->close_err, ==, ACTR_OK);
  g_assert_true(in->closing);
  g_assert_cmpuint(in->msgs->len, ==, 1);
  g_assert_cmpint(actr_webrtc_dc_send(c->dc, "x", 1, false), ==, ACTR_EDATA_CHANNEL_CLOSED);
  g_assert_cmpint(actr_webrtc_dc_send(in->dc, "x", 1, false), ==, ACTR_EDATA_CHANNEL_CLOSED);
  /* The connection stays up and the stream id can be used again. */
  g_assert_cmpint(actr_webrtc_pc_state(w.peers[0].pc), ==, ACTR_WEBRTC_PC_CONNECTED);
  g_assert_cmpint(new_channel_works(&w), ==, sid);
  h_world_fini(&w);
}

/* A peer that never resets its stream in answer to ours (RFC 8831 §6.7
 * asks it to) held a closed channel in CLOSING for good, on_close never
 * came.  Now the channel is CLOSED after close_timeout_ms (on_close with
 * ACTR_ETIMEOUT) on both sides; its stream id stays taken (the peer may
 * still send on it), so a new channel gets another one, and works. */
static void short_close_timeout(int idx, actr_webrtc_config_t *cfg, void *user) {
  (void)idx;
  (void)user;
  cfg->close_timeout_ms = 500;
}

static void test_peer_never_resets(void) {
  h_world_t w;
  h_world_init(&w, short_close_timeout, NULL);
  h_negotiate(&w, true, NULL);
  h_chan_t *in;
  h_chan_t *c = open_pair(&w, "stuck", &in);
  int sid = actr_webrtc_dc_id(c->dc);
  actr_testing_set_reset_answers(false);
  actr_webrtc_dc_close(c->dc);
  g_assert_true(h_wait_closed(c, T_MS));
  g_assert_cmpint(c->close_err, ==, ACTR_ETIMEOUT);
  g_assert_true(h_wait_closed(in, T_MS)); /* it never answered: its own wait ran out too */
  g_assert_cmpint(in->close_err, ==, ACTR_ETIMEOUT);
  actr_testing_set_reset_answers(true);
  g_assert_cmpint(new_channel_works(&w), !=, sid);
  g_assert_cmpint(actr_webrtc_pc_state(w.peers[0].pc), ==, ACTR_WEBRTC_PC_CONNECTED);
  h_world_fini(&w);
}

static void test_close_peer(void) {
  h_world_t w;
  h_world_init(&w, NULL, NULL);
  h_negotiate(&w, true, NULL);
  h_chan_t *c = h_open(&w.peers[1], "c", NULL);
  g_assert_true(h_wait_open(c, T_MS));
  h_chan_t *in = h_incoming(&w.peers[0], "c", T_MS);
  g_assert_nonnull(in);
  /* Peer 0 goes away: peer 1 sees its channel closed and the connection
   * closed (SCTP ABORT, DTLS close_notify). */
  actr_webrtc_pc_close(w.peers[0].pc);
  g_assert_true(h_wait_closed(c, T_MS));
  g_assert_true(h_wait_state(&w, 1, ACTR_WEBRTC_PC_CLOSED, T_MS));
  g_assert_cmpint(w.peers[1].state_err, ==, ACTR_ECONNECTION_CLOSED);
  g_assert_true(h_wait_closed(in, T_MS));
  g_assert_cmpint(actr_webrtc_pc_state(w.peers[0].pc), ==, ACTR_WEBRTC_PC_CLOSED);
  h_world_fini(&w);
}

/* The application may free a connection in its own on_state (the header
 * allows any call from a callback).  Peer 1 frees its connection when it
 * reaches the state given: CLOSED (peer 0 went away: before, pc_end took
 * its teardown reference after the callback, on freed memory, under ASan a
 * heap-use-after-free) or CONNECTED (before, the DTLS callback went on to
 * start the dead-peer check of a closed connection).  Nothing is left
 * alive after (h_world_fini waits for every WebRTC object to go). */
static struct {
  actr_webrtc_pc_state_t at;
  bool freed;
} free_in_state;

static void free_on_state(actr_webrtc_pc_t *pc, actr_webrtc_pc_state_t st, int err, void *user) {
  h_peer_t *p = user;
  bool now = false;
  g_mutex_lock(&p->w->mu);
  p->state = st;
  p->state_err = err;
  if (st == free_in_state.at && !free_in_state.freed) {
    free_in_state.freed = now = true;
    p->pc = NULL; /* the harness's h_world_fini frees NULL: nothing */
  }
  g_cond_broadcast(&p->w->cond);
  g_mutex_unlock(&p->w->mu);
  if (now)
    actr_webrtc_pc_free(pc); /* on the I/O thread; calls this again with CLOSED */
}

static void peer1_frees_on_state(int idx, actr_webrtc_config_t *cfg, void *user) {
  if (idx == 1)
    cfg->on_state = free_on_state;
}

static bool peer1_freed(h_world_t *w, void *arg) { return free_in_state.freed; }
static bool peer0_ended(h_world_t *w, void *arg) {
  return w->peers[0].state == ACTR_WEBRTC_PC_CLOSED || w->peers[0].state == ACTR_WEBRTC_PC_FAILED;
}

static void test_free_in_on_state(void) {
  static const actr_webrtc_pc_state_t at[] = {ACTR_WEBRTC_PC_CLOSED, ACTR_WEBRTC_PC_CONNECTED};
  for (size_t i = 0; i < G_N_ELEMENTS(at); i++) {
    free_in_state.at = at[i];
    free_in_state.freed = false;
    h_world_t w;
    h_world_init(&w, peer1_frees_on_state, NULL);
    h_negotiate(&w, false, NULL); /* no candidates handed to peer 1 afterwards */
    if (at[i] == ACTR_WEBRTC_PC_CLOSED) {
      g_assert_true(h_wait_state(&w, 1, ACTR_WEBRTC_PC_CONNECTED, T_MS));
      actr_webrtc_pc_close(w.peers[0].pc);
    }
    g_assert_true(h_wait(&w, peer1_freed, NULL, T_MS));
    g_assert_true(h_wait(&w, peer0_ended, NULL, T_MS));
    g_assert_cmpint(w.peers[1].state, ==, ACTR_WEBRTC_PC_CLOSED);
    h_world_fini(&w);
  }
}

/* The application refuses a channel the peer opened by freeing it in
 * on_data_channel, and closes the connection there too: the channel was
 * then freed by the close while the DCEP handler still used it (under
 * ASan a heap-use-after-free); now it holds its own reference across the
 * callbacks. */
static void refuse_and_close(actr_webrtc_pc_t *pc, actr_webrtc_dc_t *dc, void *user) {
  actr_webrtc_dc_free(dc);
  actr_webrtc_pc_close(pc);
}

static void peer1_refuses_and_closes(int idx, actr_webrtc_config_t *cfg, void *user) {
  if (idx == 1)
    cfg->on_data_channel = refuse_and_close;
}

static void test_close_in_on_data_channel(void) {
  h_world_t w;
  h_world_init(&w, peer1_refuses_and_closes, NULL);
  h_negotiate(&w, true, NULL);
  h_chan_t *c = h_open(&w.peers[0], "refused", NULL);
  g_assert_true(h_wait_state(&w, 1, ACTR_WEBRTC_PC_CLOSED, T_MS));
  g_assert_true(h_wait_closed(c, T_MS));
  g_assert_true(h_wait(&w, peer0_ended, NULL, T_MS));
  h_world_fini(&w);
}

/* SCTP timers: usrsctp's are process-wide.  They run on a thread of their
 * own: while both peers' loops are blocked, they still tick (before, they
 * ran on one runtime's loop and stopped with it); an idle association ticks
 * at most four times a second (before: a hundred). */
static void block_loop_cb(void *p) { g_usleep(GPOINTER_TO_UINT(p)); }
static int block_loop(void *p) {
  block_loop_cb(p);
  return ACTR_OK;
}

static void test_sctp_timers(void) {
  h_world_t w;
  h_world_init(&w, NULL, NULL);
  h_negotiate(&w, true, NULL);
  h_chan_t *c = h_open(&w.peers[1], "t", NULL);
  g_assert_true(h_wait_open(c, T_MS));
  /* Both loops blocked for 1.5 s. */
  uint64_t before = actr__sctp_timer_ticks();
  actr_runtime_invoke(w.peers[1].rt, block_loop_cb, GUINT_TO_POINTER(1500000));
  ASSERT_OK(actr_runtime_call(w.peers[0].rt, block_loop, GUINT_TO_POINTER(1500000)));
  uint64_t during = actr__sctp_timer_ticks() - before;
  g_test_message("timer ticks while both loops were blocked for 1.5 s: %llu",
                 (unsigned long long)during);
  g_assert_cmpuint(during, >=, 1);
  /* Idle: nothing sent for a while, then ticks over 2 s. */
  g_usleep(1500000);
  before = actr__sctp_timer_ticks();
  g_usleep(2000000);
  uint64_t idle = actr__sctp_timer_ticks() - before;
  g_test_message("timer ticks in 2 s idle: %llu", (unsigned long long)idle);
  g_assert_cmpuint(idle, <=, 10);
  /* And the association still works. */
  h_chan_t *in = h_incoming(&w.peers[0], "t", T_MS);
  g_assert_nonnull(in);
  ASSERT_OK(actr_webrtc_dc_send(c->dc, "x", 1, false));
  g_assert_true(h_wait_msgs(in, 1, T_MS));
  g_assert_cmpuint(actr__sctp_handover_drops(), ==, 0);
  h_world_fini(&w);
}

/* mismatch: change one hex digit of the offer's fingerprint. */
static char *mismatch(const char *sdp) {
  char *s = g_strdup(sdp);
  char *fp = strstr(s, "a=fingerprint:sha-256 ");
  g_assert_nonnull(fp);
  char *d = fp + strlen("a=fingerprint:sha-256 ");
  *d = *d == 'A' ? 'B' : 'A';
  return s;
}

static void test_fingerprint_mismatch(void) {
  h_world_t w;
  h_world_init(&w, NULL, NULL);
  h_chan_t *c = h_open(&w.peers[0], "never", NULL);
  h_negotiate(&w, true, mismatch);
  /* The answerer is the DTLS client: it checks the offerer's certificate,
   * refuses it with an alert, and the offerer fails on that alert. */
  g_assert_true(h_wait_state(&w, 1, ACTR_WEBRTC_PC_FAILED, T_MS));
  g_assert_cmpint(w.peers[1].state_err, ==, ACTR_EAUTHENTICATION);
  g_assert_true(h_wait_state(&w, 0, ACTR_WEBRTC_PC_FAILED, T_MS));
  g_assert_cmpint(w.peers[0].state_err, ==, ACTR_EDTLS);
  g_assert_true(h_wait_closed(c, T_MS));
  g_assert_false(c->opened);
  h_world_fini(&w);
}

static void short_connect(int idx, actr_webrtc_config_t *cfg, void *user) {
  cfg->connect_timeout_ms = 400;
}

/* connect_timeout_ms: a connection nobody answers fails with ACTR_ETIMEOUT
 * (its channel closes); one that connected in time is not touched by it. */
static void test_connect_timeout(void) {
  h_world_t w;
  h_world_init(&w, short_connect, NULL);
  h_chan_t *c = h_open(&w.peers[0], "never", NULL);
  g_assert_true(h_wait_state(&w, 0, ACTR_WEBRTC_PC_FAILED, T_MS));
  g_assert_cmpint(w.peers[0].state_err, ==, ACTR_ETIMEOUT);
  g_assert_true(h_wait_closed(c, T_MS));
  g_assert_true(h_wait_state(&w, 1, ACTR_WEBRTC_PC_FAILED, T_MS));
  g_assert_cmpint(w.peers[1].state_err, ==, ACTR_ETIMEOUT);
  h_world_fini(&w);

  h_world_init(&w, short_connect, NULL);
  h_negotiate(&w, true, NULL);
  h_chan_t *in;
  c = open_pair(&w, "late", &in);
  g_usleep(1200 * 1000); /* three deadlines past */
  g_mutex_lock(&w.mu);
  g_assert_cmpint(w.peers[0].state, ==, ACTR_WEBRTC_PC_CONNECTED);
  g_assert_cmpint(w.peers[1].state, ==, ACTR_WEBRTC_PC_CONNECTED);
  g_mutex_unlock(&w.mu);
  ASSERT_OK(actr_webrtc_dc_send(c->dc, "still", 5, false));
  g_assert_true(h_wait_msgs(in, 1, T_MS));
  h_world_fini(&w);
}

static bool refused_one(h_world_t *w, void *arg) { return ((h_chan_t *)arg)->refused > 0; }
static unsigned low_base;
static bool low_fired(h_world_t *w, void *arg) { return ((h_chan_t *)arg)->low_events > low_base; }

static void small_buffers(int idx, actr_webrtc_config_t *cfg, void *user) {
  cfg->sctp_buffer_bytes = 1024 * 1024;
}

static void test_backpressure(void) {
  h_world_t w;
  h_world_init(&w, small_buffers, NULL);
  h_negotiate(&w, true, NULL);
  h_chan_t *in;
  h_chan_t *c = open_pair(&w, "bp", &in);
  g_mutex_lock(&w.mu);
  in->refuse = true;
  g_mutex_unlock(&w.mu);
  /* 256 x 64 KiB = 16 MiB against 1 MiB of SCTP receive window and 1 MiB
   * of send buffer: once the receiver stops reading, the rest must stay in
   * the sender's queue. */
  enum { N = 256, LEN = 65535 };
  uint8_t *buf = g_malloc(LEN);
  for (unsigned i = 0; i < N; i++) {
    h_fill(buf, LEN, i);
    ASSERT_OK(actr_webrtc_dc_send(c->dc, buf, LEN, false));
  }
  g_free(buf);
  g_assert_true(h_wait(&w, refused_one, in, T_MS));
  /* If flow control failed, the queue would drain below 4 MiB and the
   * low-threshold callback would fire (setting a threshold below the
   * buffered amount arms it, as in W3C). */
  g_mutex_lock(&w.mu);
  low_base = c->low_events; /* it may have fired while the queue was short */
  g_mutex_unlock(&w.mu);
  actr_webrtc_dc_set_buffered_amount_low_threshold(c->dc, (size_t)N * LEN / 4);
  if (h_wait(&w, low_fired, c, 1500))
    g_error("the sender's queue drained to %zu bytes while the receiver refused (%u refusals, "
            "%u taken)", actr_webrtc_dc_buffered_amount(c->dc), in->refused, in->msgs->len);
  g_assert_cmpuint(actr_webrtc_dc_buffered_amount(c->dc), >, (size_t)N * LEN / 4);
  g_test_message("refused: %zu bytes still queued at the sender",
                 actr_webrtc_dc_buffered_amount(c->dc));
  g_assert_cmpuint(in->msgs->len, ==, 0);
  /* Resume: everything arrives, in order, intact. */
  g_mutex_lock(&w.mu);
  in->refuse = false;
  g_mutex_unlock(&w.mu);
  actr_webrtc_dc_resume(in->dc);
  g_assert_true(h_wait_msgs(in, N, 60000));
  for (unsigned i = 0; i < N; i++) {
    h_msg_t *m = in->msgs->pdata[i];
    g_assert_cmpuint(actr_msg_len(m->msg), ==, LEN);
    g_assert_true(h_check(actr_msg_data(m->msg), LEN, i));
  }
  g_assert_cmpuint(actr_webrtc_dc_buffered_amount(c->dc), ==, 0);
  g_assert_true(h_wait(&w, low_fired, c, T_MS)); /* and now it has drained */
  h_world_fini(&w);
}

static void test_limits(void) {
  h_world_t w;
  h_world_init(&w, NULL, NULL);
  actr_webrtc_dc_options_t o;
  actr_webrtc_dc_options_init(&o);
  o.max_retransmits = 1;
  o.max_packet_lifetime_ms = 10;
  actr_webrtc_dc_t *dc = NULL;
  g_assert_cmpint(actr_webrtc_pc_create_data_channel(w.peers[0].pc, "x", &o, NULL, NULL, &dc), ==,
                  ACTR_EINVALID_ARGUMENT);
  g_assert_null(dc);
  char *sdp = NULL;
  g_assert_cmpint(actr_webrtc_pc_create_answer(w.peers[0].pc, &sdp), ==, ACTR_EINVALID_OPERATION);
  g_assert_cmpint(actr_webrtc_pc_set_remote_description(w.peers[0].pc, false, "v=0\r\n"), ==,
                  ACTR_EINVALID_OPERATION);
  g_assert_cmpint(actr_webrtc_pc_set_remote_description(w.peers[1].pc, true, "garbage"), ==,
                  ACTR_EPROTOCOL);
  g_assert_cmpint(actr_webrtc_pc_set_remote_description(
                      w.peers[1].pc, true, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                                           "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"),
                  ==, ACTR_EWEBRTC);
  h_negotiate(&w, true, NULL);
  h_chan_t *c = h_open(&w.peers[0], "big", NULL);
  g_assert_true(h_wait_open(c, T_MS));
  uint8_t *big = g_malloc0(262145);
  g_assert_cmpint(actr_webrtc_dc_send(c->dc, big, 262145, false), ==, ACTR_EMESSAGE_TOO_LARGE);
  /* 256 KiB, the advertised maximum, goes through. */
  h_fill(big, 262144, 7);
  ASSERT_OK(actr_webrtc_dc_send(c->dc, big, 262144, false));
  g_free(big);
  h_chan_t *in = h_incoming(&w.peers[1], "big", T_MS);
  g_assert_true(h_wait_msgs(in, 1, T_MS));
  h_msg_t *m = in->msgs->pdata[0];
  g_assert_cmpuint(actr_msg_len(m->msg), ==, 262144);
  g_assert_true(h_check(actr_msg_data(m->msg), 262144, 7));
  g_assert_cmpint(actr_webrtc_pc_add_remote_candidate(w.peers[0].pc, "nonsense", "0"), ==,
                  ACTR_EPROTOCOL);
  h_world_fini(&w);
}

static char *advertise_huge(const char *sdp) {
  char *out = g_strdup(sdp), *at = strstr(out, "a=max-message-size:262144");
  g_assert_nonnull(at);
  GString *s = g_string_new_len(out, at - out);
  g_string_append(s, "a=max-message-size:1073741823");
  g_string_append(s, at + strlen("a=max-message-size:262144"));
  g_free(out);
  return g_string_free(s, FALSE);
}

/* A peer that sends past our advertised a=max-message-size (256 KiB): the
 * message is dropped whole, whatever our read buffer could hold (it held
 * up to 64 KiB more), and the next one arrives.  The offer given to the
 * sender claims 1 GiB so that its own check lets the message go. */
static void test_receive_limit(void) {
  h_world_t w;
  h_world_init(&w, NULL, NULL);
  h_negotiate(&w, true, advertise_huge);
  h_chan_t *c = h_open(&w.peers[0], "big", NULL);
  g_assert_true(h_wait_open(c, T_MS));
  h_chan_t *in = h_incoming(&w.peers[1], "big", T_MS);
  size_t over = 262144 + 40000; /* within the old read buffer's 64 KiB of slack */
  uint8_t *big = g_malloc0(over);
  ASSERT_OK(actr_webrtc_dc_send(in->dc, big, over, false));
  g_free(big);
  ASSERT_OK(actr_webrtc_dc_send(in->dc, "next", 4, false));
  g_assert_true(h_wait_msgs(c, 1, T_MS));
  h_msg_t *m = c->msgs->pdata[0];
  g_assert_cmpmem(actr_msg_data(m->msg), actr_msg_len(m->msg), "next", 4);
  h_world_fini(&w);
}

/* An answer that says setup:actpass (RFC 8842 §5.3: an answerer must pick)
 * is refused with a clear error, and the offer still waits for its answer:
 * the real one connects.  Taken, it made the offerer a DTLS server, and an
 * answerer that meant it would have waited as a server too. */
static void test_answer_actpass_refused(void) {
  h_world_t w;
  h_world_init(&w, NULL, NULL);
  h_peer_t *a = &w.peers[0], *b = &w.peers[1];
  char *offer, *answer;
  ASSERT_OK(actr_webrtc_pc_create_offer(a->pc, &offer));
  g_assert_true(h_wait_gathered(&w, 0, T_MS));
  free(offer);
  ASSERT_OK(actr_webrtc_pc_local_description(a->pc, &offer));
  ASSERT_OK(actr_webrtc_pc_set_remote_description(b->pc, true, offer));
  ASSERT_OK(actr_webrtc_pc_create_answer(b->pc, &answer));
  g_assert_true(h_wait_gathered(&w, 1, T_MS));
  free(answer);
  ASSERT_OK(actr_webrtc_pc_local_description(b->pc, &answer));
  char *at = strstr(answer, "a=setup:active");
  g_assert_nonnull(at);
  GString *bad = g_string_new_len(answer, at - answer);
  g_string_append(bad, "a=setup:actpass");
  g_string_append(bad, at + strlen("a=setup:active"));
  g_assert_cmpint(actr_webrtc_pc_set_remote_description(a->pc, false, bad->str), ==, ACTR_EWEBRTC);
  g_test_message("refused: %s", actr_err_detail());
  g_assert_nonnull(strstr(actr_err_detail(), "setup:actpass"));
  g_string_free(bad, TRUE);
  ASSERT_OK(actr_webrtc_pc_set_remote_description(a->pc, false, answer));
  free(offer);
  free(answer);
  h_chan_t *c = h_open(a, "after", NULL);
  g_assert_true(h_wait_open(c, T_MS));
  h_world_fini(&w);
}

static void port_range(int idx, actr_webrtc_config_t *cfg, void *user) {
  cfg->port_min = 45000;
  cfg->port_max = 45099;
}

/* The host candidates' ports come from the configured range. */
static void test_port_range(void) {
  h_world_t w;
  h_world_init(&w, port_range, NULL);
  h_negotiate(&w, false, NULL);
  for (int i = 0; i < 2; i++) {
    char *sdp;
    ASSERT_OK(actr_webrtc_pc_local_description(w.peers[i].pc, &sdp));
    gchar **lines = g_strsplit(sdp, "\r\n", 0);
    int n = 0;
    for (gchar **l = lines; *l; l++) {
      if (!g_str_has_prefix(*l, "a=candidate:"))
        continue;
      gchar **tok = g_strsplit(*l, " ", 7);
      g_assert_cmpuint(g_strv_length(tok), >=, 6);
      int port = atoi(tok[5]);
      g_assert_cmpint(port, >=, 45000);
      g_assert_cmpint(port, <=, 45099);
      g_strfreev(tok);
      n++;
    }
    g_assert_cmpint(n, >, 0);
    g_strfreev(lines);
    free(sdp);
  }
  h_chan_t *c = h_open(&w.peers[0], "ranged", NULL);
  g_assert_true(h_wait_open(c, T_MS));
  h_world_fini(&w);
}

/* ---- two SCTP associations back to back (no DTLS, no ICE) ---- */

typedef struct sctp_end {
  actr__sctp_t *s;
  struct sctp_end *peer;
  GQueue in;            /* packets for s, GBytes */
  unsigned data_sent;   /* packets sent that carry DATA */
  unsigned drop_data;   /* the packet with DATA of this number is lost, and every */
  uint32_t drop_tsn;    /* retransmission of its first TSN (drop_tsn) too */
  GArray *lens;         /* the length of each message taken */
  bool up, down, refuse, refused, got_last, forward_tsn;
  int joinable_sid;     /* > 0: the one stream that is joinable */
  GPtrArray *keep;      /* non-NULL: every message taken, kept here */
  bool refuse_joined;   /* refuse (refuse) from the first joined message on */
} sctp_end_t;

static void se_send(void *user, const void *buf, size_t len) {
  sctp_end_t *e = user;
  const uint8_t *p = buf;
  if (len > 12 && p[12] == 0xC0) /* FORWARD-TSN: chunks abandoned (RFC 3758) */
    e->forward_tsn = true;
  if (len >= 20 && p[12] == 0) { /* chunk type 0: DATA, its TSN at 16 */
    uint32_t tsn = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
    if (++e->data_sent == e->drop_data)
      e->drop_tsn = tsn;
    if (e->drop_data && e->data_sent >= e->drop_data && tsn == e->drop_tsn)
      return;
  }
  g_queue_push_tail(&e->peer->in, g_bytes_new(buf, len));
}
static void se_batch(void *user, bool begin) { (void)user, (void)begin; }
static void se_up(void *user, uint16_t out, uint16_t in) {
  (void)out, (void)in;
  ((sctp_end_t *)user)->up = true;
}
static void se_down(void *user, int err, const char *why) {
  (void)err, (void)why;
  ((sctp_end_t *)user)->down = true;
}
/* A message of 4 bytes, "last", ends a test's sending. */
static bool se_message(void *user, uint16_t sid, uint32_t ppid, actr_msg_t *msg) {
  (void)sid, (void)ppid;
  sctp_end_t *e = user;
  if (e->refuse_joined && actr__msg_joined(msg)) {
    e->refuse_joined = false;
    e->refuse = true;
  }
  if (e->refuse) {
    e->refused = true;
    return false; /* kept by the association, which stops reading */
  }
  size_t len = actr_msg_len(msg);
  g_array_append_val(e->lens, len);
  if (len == 4 && memcmp(actr_msg_data(msg), "last", 4) == 0)
    e->got_last = true;
  if (e->keep)
    g_ptr_array_add(e->keep, msg);
  else
    actr_msg_free(msg);
  return true;
}
static bool se_joinable(void *user, uint16_t sid) {
  return ((sctp_end_t *)user)->joinable_sid == sid;
}
static void se_writable(void *user) { (void)user; }
static void se_reset(void *user, uint16_t sid, bool incoming) { (void)user, (void)sid, (void)incoming; }

/* se_pump: carry the packets both ways and run @ctx until *@flag, @ms at most. */
static bool se_pump(GMainContext *ctx, sctp_end_t *ends, const bool *flag, int ms) {
  gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
  while (!*flag && g_get_monotonic_time() < end) {
    bool moved = false;
    for (int i = 0; i < 2; i++) {
      GBytes *b;
      while ((b = g_queue_pop_head(&ends[i].in))) {
        gsize n;
        const uint8_t *p = g_bytes_get_data(b, &n);
        if (ends[i].s)
          actr__sctp_input(ends[i].s, p, n);
        g_bytes_unref(b);
        moved = true;
      }
    }
    while (g_main_context_iteration(ctx, FALSE))
      moved = true;
    if (!moved)
      g_usleep(1000);
  }
  return *flag;
}

/* se_start: two associations of @cfg on a new context (this thread's
 * default until se_stop), up. */
static GMainContext *se_start(sctp_end_t ends[2], const actr__sctp_config_t *cfg) {
  GMainContext *ctx = g_main_context_new();
  g_main_context_push_thread_default(ctx);
  memset(ends, 0, 2 * sizeof *ends);
  ends[0].peer = &ends[1];
  ends[1].peer = &ends[0];
  actr__sctp_cbs_t cbs = {se_send,     se_batch, se_up,      se_down,
                          se_message,  se_writable, se_reset, se_joinable};
  for (int i = 0; i < 2; i++) {
    g_queue_init(&ends[i].in);
    ends[i].lens = g_array_new(FALSE, FALSE, sizeof(size_t));
    ASSERT_OK(actr__sctp_new(ctx, cfg, &cbs, &ends[i], &ends[i].s));
  }
  for (int i = 0; i < 2; i++)
    ASSERT_OK(actr__sctp_connect(ends[i].s));
  g_assert_true(se_pump(ctx, ends, &ends[0].up, 10000));
  g_assert_true(se_pump(ctx, ends, &ends[1].up, 10000));
  return ctx;
}

static void se_stop(GMainContext *ctx, sctp_end_t ends[2]) {
  for (int i = 0; i < 2; i++) {
    actr__sctp_close(ends[i].s);
    g_queue_clear_full(&ends[i].in, (GDestroyNotify)g_bytes_unref);
    g_array_unref(ends[i].lens);
  }
  g_main_context_pop_thread_default(ctx);
  g_main_context_unref(ctx);
}

/* A peer aborts the association while we have stopped reading (a refused
 * message waits): the abort is reported at once.  Before, its notification
 * waited unread behind the refused message, and the association stayed up
 * (with peer_timeout_ms < 0, the connection CONNECTED) until the message
 * was taken. */
static void test_sctp_abort_while_paused(void) {
  actr__sctp_config_t cfg = {.local_port = 5000, .remote_port = 5000, .buffer_bytes = 256 * 1024,
                             .mtu = 1200, .streams = 16, .max_message = 65536};
  sctp_end_t ends[2];
  GMainContext *ctx = se_start(ends, &cfg);
  ends[1].refuse = true;
  ASSERT_OK(actr__sctp_send(ends[0].s, false, 1, 53, false, ACTR__SCTP_PR_NONE, 0, "held", 4));
  g_assert_true(se_pump(ctx, ends, &ends[1].refused, 10000));
  actr__sctp_close(ends[0].s); /* SO_LINGER 0: an ABORT */
  ends[0].s = NULL;
  g_assert_true(se_pump(ctx, ends, &ends[1].down, 10000));
  se_stop(ctx, ends);
}

/* A message past the partial-delivery point (half the buffer) on a
 * stream with a lifetime (PR-SCTP) comes while we have stopped reading (a
 * refused message waits); one of its packets is lost, and the sender
 * abandons the rest (FORWARD-TSN).  When we read on, nothing of it may be
 * delivered: usrsctp 0.9.5.0 ended the read of what had come with MSG_EOR
 * and no MSG_TRUNC, and that part went up as a whole message.  The
 * messages around it arrive. */
static void test_sctp_abandoned_mid_delivery(void) {
  actr__sctp_config_t cfg = {.local_port = 5000, .remote_port = 5000, .buffer_bytes = 256 * 1024,
                             .mtu = 1200, .streams = 16, .max_message = 256 * 1024};
  sctp_end_t ends[2];
  GMainContext *ctx = se_start(ends, &cfg);
  ends[1].refuse = true;
  ASSERT_OK(actr__sctp_send(ends[0].s, false, 1, 53, false, ACTR__SCTP_PR_NONE, 0, "first", 5));
  g_assert_true(se_pump(ctx, ends, &ends[1].refused, 10000));
  enum { BIG = 200 * 1024 };
  uint8_t *big = g_malloc0(BIG);
  ends[0].drop_data = ends[0].data_sent + 150; /* ~170 KB in: past the point (128 KiB) */
  ASSERT_OK(actr__sctp_send(ends[0].s, false, 1, 53, false, ACTR__SCTP_PR_TTL, 200, big, BIG));
  g_free(big);
  ASSERT_OK(actr__sctp_send(ends[0].s, false, 1, 53, false, ACTR__SCTP_PR_NONE, 0, "last", 4));
  g_assert_true(se_pump(ctx, ends, &ends[0].forward_tsn, 10000));
  bool never = false;
  se_pump(ctx, ends, &never, 500); /* the FORWARD-TSN and what follows it reach us */
  ends[1].refuse = false;
  actr__sctp_resume(ends[1].s);
  g_assert_true(se_pump(ctx, ends, &ends[1].got_last, 10000));
  for (guint i = 0; i < ends[1].lens->len; i++)
    g_test_message("message %u: %zu bytes", i, g_array_index(ends[1].lens, size_t, i));
  g_assert_cmpuint(ends[1].lens->len, ==, 2); /* "first" (offered again) and "last" */
  g_assert_cmpuint(g_array_index(ends[1].lens, size_t, 0), ==, 5);
  se_stop(ctx, ends);
}

/* ---- joining a lane message's fragments as they are read (sctp.c) ---- */

/* send_frames: frames @first .. @last of @s on stream @sid, waiting for
 * room as the send buffer fills. */
static void send_frames(GMainContext *ctx, sctp_end_t *ends, uint16_t sid,
                        const actr__frag_splitter_t *s, uint16_t first, uint16_t last) {
  uint8_t *frame = g_malloc(ACTR__DC_MAX_MESSAGE);
  for (uint16_t i = first; i <= last; i++) {
    size_t len = actr__frag_frame_write(s, i, frame);
    int rc;
    while ((rc = actr__sctp_send(ends[0].s, false, sid, 53, false, ACTR__SCTP_PR_NONE, 0, frame,
                                 len)) == ACTR_EWOULD_BLOCK) {
      bool never = false;
      se_pump(ctx, ends, &never, 2);
    }
    ASSERT_OK(rc);
  }
  g_free(frame);
}

static void send_small(GMainContext *ctx, sctp_end_t *ends, uint16_t sid, const char *text) {
  int rc;
  while ((rc = actr__sctp_send(ends[0].s, false, sid, 53, false, ACTR__SCTP_PR_NONE, 0, text,
                               strlen(text))) == ACTR_EWOULD_BLOCK) {
    bool never = false;
    se_pump(ctx, ends, &never, 2);
  }
  ASSERT_OK(rc);
}

/* wait_kept: until @n messages were taken (ends[1].keep), 20 s at most. */
static void wait_kept(GMainContext *ctx, sctp_end_t *ends, guint n) {
  gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  while (ends[1].keep->len < n && g_get_monotonic_time() < end) {
    bool never = false;
    se_pump(ctx, ends, &never, 5);
  }
  g_assert_cmpuint(ends[1].keep->len, ==, n);
}

static uint8_t *pattern_bytes(size_t len, unsigned seed) {
  uint8_t *b = g_malloc(len);
  for (size_t i = 0; i < len; i++)
    b[i] = (uint8_t)(i * 131u + i / 65527u * 7u + seed);
  return b;
}

static actr__sctp_config_t join_cfg(void) {
  return (actr__sctp_config_t){.local_port = 5000, .remote_port = 5000,
                               .buffer_bytes = 1024 * 1024, .mtu = 1200, .streams = 16,
                               .max_message = 256 * 1024};
}

/* On a joinable stream the 17 fragments of a 1 MiB lane message come up as
 * one message marked joined 17: the first header, then the whole payload,
 * which the reassembly hands out as it is (no copy).  A stream that is not
 * joinable gets its 17 frames one by one.  A message of another stream
 * between two fragments ends the run: fragments 0..1 come up joined, the
 * other message, then fragments 2 and 3 alone; the reassembly makes the
 * same message of them. */
static void test_sctp_joins_fragments(void) {
  actr__sctp_config_t cfg = join_cfg();
  sctp_end_t ends[2];
  GMainContext *ctx = se_start(ends, &cfg);
  ends[1].joinable_sid = 1;
  ends[1].keep = g_ptr_array_new();
  size_t big = 1024 * 1024, mid = 200 * 1000;
  uint8_t *a = pattern_bytes(big, 1), *b = pattern_bytes(mid, 2);
  actr__frag_splitter_t sa, sb, sn;
  ASSERT_OK(actr__frag_splitter_init(&sa, a, big, 10));
  ASSERT_OK(actr__frag_splitter_init(&sn, a, big, 11));
  ASSERT_OK(actr__frag_splitter_init(&sb, b, mid, 12));
  g_assert_cmpuint(sa.total_frags, ==, 17);
  g_assert_cmpuint(sb.total_frags, ==, 4);
  send_frames(ctx, ends, 1, &sa, 0, 16);
  wait_kept(ctx, ends, 1);
  send_frames(ctx, ends, 2, &sn, 0, 16); /* not joinable */
  wait_kept(ctx, ends, 18);
  send_frames(ctx, ends, 1, &sb, 0, 1);
  bool never = false;
  se_pump(ctx, ends, &never, 300); /* read, and held in the run */
  g_assert_cmpuint(ends[1].keep->len, ==, 18);
  send_small(ctx, ends, 3, "between");
  wait_kept(ctx, ends, 20);
  send_frames(ctx, ends, 1, &sb, 2, 3);
  send_small(ctx, ends, 1, "last");
  g_assert_true(se_pump(ctx, ends, &ends[1].got_last, 20000));
  GPtrArray *got = ends[1].keep;
  for (guint i = 0; i < got->len; i++)
    g_test_message("message %u: %zu bytes, joined %u", i,
                   actr_msg_len(g_ptr_array_index(got, i)),
                   actr__msg_joined(g_ptr_array_index(got, i)));
  /* a (joined) + 17 (stream 2) + b 0..1 (joined) + "between" + b2 + b3 + "last" */
  g_assert_cmpuint(got->len, ==, 23);
  actr_msg_t *m0 = g_ptr_array_index(got, 0);
  g_assert_cmpuint(actr__msg_joined(m0), ==, 17);
  g_assert_cmpuint(actr_msg_len(m0), ==, 8 + big);
  for (guint i = 1; i <= 17; i++)
    g_assert_cmpuint(actr__msg_joined(g_ptr_array_index(got, i)), ==, 0);
  g_assert_cmpuint(actr__msg_joined(g_ptr_array_index(got, 18)), ==, 2);
  g_assert_cmpuint(actr_msg_len(g_ptr_array_index(got, 19)), ==, 7); /* "between" */
  g_assert_cmpuint(actr__msg_joined(g_ptr_array_index(got, 20)), ==, 0);
  g_assert_cmpuint(actr__msg_joined(g_ptr_array_index(got, 21)), ==, 0);
  /* What the lane makes of them: a (no copy), a again (sid 2), b. */
  actr__reassembly_t *r;
  ASSERT_OK(actr__reassembly_new(NULL, &r));
  const uint8_t *want[] = {a, a, b};
  size_t want_len[] = {big, big, mid};
  int done = 0;
  for (guint i = 0; i < got->len; i++) {
    actr_msg_t *m = g_ptr_array_index(got, i);
    if (i == 19 || i == 22) { /* "between" and "last" */
      actr_msg_free(m);
      continue;
    }
    actr_msg_t *whole = NULL;
    ASSERT_OK(actr__reassembly_push(r, m, 0, &whole));
    if (!whole)
      continue;
    g_assert_cmpint(done, <, 3);
    g_assert_cmpuint(actr_msg_len(whole), ==, want_len[done]);
    g_assert_true(memcmp(actr_msg_data(whole), want[done], want_len[done]) == 0);
    actr_msg_free(whole);
    done++;
  }
  g_assert_cmpint(done, ==, 3);
  actr_lane_stats_t st = {0};
  actr__reassembly_stats(r, &st);
  g_assert_cmpuint(st.reassembly_joined, ==, 1);
  g_assert_cmpuint(st.reassembly_rejected, ==, 0);
  actr__reassembly_free(r);
  g_ptr_array_unref(got);
  ends[1].keep = NULL;
  g_free(a);
  g_free(b);
  se_stop(ctx, ends);
}

/* The run goes up when a message of another stream breaks it, and the
 * layer above refuses it (its queue is full): the other message, already
 * read whole, waits behind it, and both come in order after resume. */
static void test_sctp_join_break_refused(void) {
  actr__sctp_config_t cfg = join_cfg();
  sctp_end_t ends[2];
  GMainContext *ctx = se_start(ends, &cfg);
  ends[1].joinable_sid = 1;
  ends[1].keep = g_ptr_array_new();
  ends[1].refuse_joined = true;
  size_t mid = 200 * 1000;
  uint8_t *b = pattern_bytes(mid, 3);
  actr__frag_splitter_t sb;
  ASSERT_OK(actr__frag_splitter_init(&sb, b, mid, 5));
  send_frames(ctx, ends, 1, &sb, 0, 2);
  bool never = false;
  se_pump(ctx, ends, &never, 300); /* read, and held in the run */
  g_assert_cmpuint(ends[1].keep->len, ==, 0);
  send_small(ctx, ends, 3, "last"); /* breaks the run: 0..2 go up, refused */
  g_assert_true(se_pump(ctx, ends, &ends[1].refused, 10000));
  se_pump(ctx, ends, &never, 200);
  g_assert_false(ends[1].got_last); /* it waits behind the refused run */
  ends[1].refuse = false;
  actr__sctp_resume(ends[1].s);
  g_assert_true(se_pump(ctx, ends, &ends[1].got_last, 10000));
  GPtrArray *got = ends[1].keep;
  g_assert_cmpuint(got->len, ==, 2);
  g_assert_cmpuint(actr__msg_joined(g_ptr_array_index(got, 0)), ==, 3);
  g_assert_cmpuint(actr_msg_len(g_ptr_array_index(got, 0)), ==, 8 + 3 * ACTR__DC_MAX_PAYLOAD);
  g_assert_cmpuint(actr_msg_len(g_ptr_array_index(got, 1)), ==, 4);
  g_ptr_array_set_free_func(got, (GDestroyNotify)actr_msg_free);
  g_ptr_array_unref(got);
  ends[1].keep = NULL;
  g_free(b);
  se_stop(ctx, ends);
}

/* A run also ends when a message over max_message comes (it is dropped),
 * and when the peer resets the run's stream: what was joined so far goes
 * up each time, nothing is lost or made up.  The reset's notification is
 * read inside the run, at an odd address (UBSan checks its handling). */
static void test_sctp_join_ends_oversized_and_reset(void) {
  actr__sctp_config_t cfg = join_cfg();
  sctp_end_t ends[2];
  GMainContext *ctx = se_start(ends, &cfg);
  ends[1].joinable_sid = 1;
  ends[1].keep = g_ptr_array_new();
  size_t mid = 500 * 1000; /* 8 fragments: the run has room for the big one whole */
  uint8_t *b = pattern_bytes(mid, 4);
  actr__frag_splitter_t sb, sc;
  ASSERT_OK(actr__frag_splitter_init(&sb, b, mid, 8));
  ASSERT_OK(actr__frag_splitter_init(&sc, b, mid, 9));
  bool never = false;
  send_frames(ctx, ends, 1, &sb, 0, 1);
  se_pump(ctx, ends, &never, 300); /* read, and held in the run */
  g_assert_cmpuint(ends[1].keep->len, ==, 0);
  size_t over = cfg.max_message + 100000; /* dropped by the receiver */
  uint8_t *junk = g_malloc0(over);
  int rc;
  while ((rc = actr__sctp_send(ends[0].s, false, 3, 53, false, ACTR__SCTP_PR_NONE, 0, junk,
                               over)) == ACTR_EWOULD_BLOCK)
    se_pump(ctx, ends, &never, 2);
  ASSERT_OK(rc);
  g_free(junk);
  wait_kept(ctx, ends, 1); /* the run (0..1) went up; the big one was dropped */
  g_assert_cmpuint(actr__msg_joined(g_ptr_array_index(ends[1].keep, 0)), ==, 2);
  send_frames(ctx, ends, 1, &sc, 0, 2);
  se_pump(ctx, ends, &never, 300);
  g_assert_cmpuint(ends[1].keep->len, ==, 1); /* 0..2 of the next one held in a run */
  actr__sctp_reset_stream(ends[0].s, 1);
  wait_kept(ctx, ends, 2); /* the reset ends it: 0..2 go up */
  g_assert_cmpuint(actr__msg_joined(g_ptr_array_index(ends[1].keep, 1)), ==, 3);
  g_assert_cmpuint(actr_msg_len(g_ptr_array_index(ends[1].keep, 1)), ==,
                   8 + 3 * ACTR__DC_MAX_PAYLOAD);
  g_assert_true(memcmp(actr_msg_data(g_ptr_array_index(ends[1].keep, 1)) + 8, b,
                       3 * ACTR__DC_MAX_PAYLOAD) == 0);
  g_ptr_array_set_free_func(ends[1].keep, (GDestroyNotify)actr_msg_free);
  g_ptr_array_unref(ends[1].keep);
  ends[1].keep = NULL;
  g_free(b);
  se_stop(ctx, ends);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  h_log_init();
  g_test_add_func("/webrtc/exchange/trickle", test_exchange_trickle);
  g_test_add_func("/webrtc/exchange/non-trickle-given-certificate", test_exchange_non_trickle);
  g_test_add_func("/webrtc/close/channel", test_close_channel);
  g_test_add_func("/webrtc/close/peer-never-resets", test_peer_never_resets);
  g_test_add_func("/webrtc/close/peer", test_close_peer);
  g_test_add_func("/webrtc/close/free-in-on-state", test_free_in_on_state);
  g_test_add_func("/webrtc/close/close-in-on-data-channel", test_close_in_on_data_channel);
  g_test_add_func("/webrtc/dtls/fingerprint-mismatch", test_fingerprint_mismatch);
  g_test_add_func("/webrtc/connect-timeout", test_connect_timeout);
  g_test_add_func("/webrtc/backpressure/refuse-resume", test_backpressure);
  g_test_add_func("/webrtc/sctp/abort-while-paused", test_sctp_abort_while_paused);
  g_test_add_func("/webrtc/sctp/joins-fragments", test_sctp_joins_fragments);
  g_test_add_func("/webrtc/sctp/join-break-refused", test_sctp_join_break_refused);
  g_test_add_func("/webrtc/sctp/join-ends-oversized-and-reset",
                  test_sctp_join_ends_oversized_and_reset);
#if ACTR_USRSCTP_PATCHED /* usrsctp-truncated-mark.patch */
  g_test_add_func("/webrtc/sctp/abandoned-mid-delivery", test_sctp_abandoned_mid_delivery);
#endif
  g_test_add_func("/webrtc/limits", test_limits);
  g_test_add_func("/webrtc/limits/receive-over-advertised", test_receive_limit);
  g_test_add_func("/webrtc/sctp/timers-own-thread-idle-sleeps", test_sctp_timers);
  g_test_add_func("/webrtc/ice/port-range", test_port_range);
  g_test_add_func("/webrtc/sdp/answer-actpass-refused", test_answer_actpass_refused);
  return g_test_run();
}
