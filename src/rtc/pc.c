/* pc.c — the peer connection: SDP offer/answer, and the glue that stacks
 * ICE (ice.c) -> DTLS (dtls.c) -> SCTP (sctp.c) -> channels (dc.c) on the
 * runtime's I/O thread.  Not here: the data channels themselves (dc.c).
 *
 * Life cycle.  Public calls from other threads run their body on the I/O
 * thread (actr_runtime_call).  Ending (close, failure, the peer leaving)
 * marks the connection closed at once — every layer callback then returns
 * early — reports the channels and the state, and tears the layers down from
 * an idle callback, so that no layer is freed while one of its functions is
 * on the stack below us.  The structure is reference-counted: the
 * application, each channel, and the pending teardown hold one. */
#include <gnutls/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "cert.h"
#include "dtls.h"
#include "error_internal.h"
#include "ice.h"
#include "rtc_internal.h"
#include "sctp.h"
#include "sdp.h"

#define DEFAULT_MAX_MESSAGE (256u * 1024u)
/* 2 MiB: a window for ~160 Mbit/s at 100 ms, and one that the UDP socket
 * buffer holds entirely, so a receiver that falls behind on loopback does
 * not drop (ice.c). */
#define DEFAULT_SCTP_BUFFER (2u * 1024u * 1024u)
#define DEFAULT_SCTP_MTU 1200u
#define MAX_SCTP_MTU 16000u
#define DEFAULT_MAX_BUFFERED ((size_t)16 * 1024 * 1024)
#define DEFAULT_DTLS_TIMEOUT_MS 30000
#define DEFAULT_PEER_TIMEOUT_MS 8000
#define DEFAULT_CLOSE_TIMEOUT_MS 10000
#define DEFAULT_CONNECT_TIMEOUT_MS 30000
/* DTLS record overhead over the SCTP packet (header, explicit nonce, tag or
 * padding and MAC), with room to spare. */
#define DTLS_OVERHEAD 128u

/* ---- reference counting ---- */

/* release_runtime: drop our runtime reference.  The last one joins the I/O
 * thread, which cannot happen on that thread: hand it to a helper. */
static gpointer unref_runtime_thread(gpointer rt) {
  actr_runtime_unref(rt);
  return NULL;
}

static void release_runtime(actr_runtime_t *rt) {
  if (actr_runtime_is_io_thread(rt))
    g_thread_unref(g_thread_new("actr-rt-release", unref_runtime_thread, rt));
  else
    actr_runtime_unref(rt);
}

void actr__pc_ref(actr_webrtc_pc_t *pc) { atomic_fetch_add(&pc->refs, 1); }

void actr__pc_unref(actr_webrtc_pc_t *pc) {
  if (atomic_fetch_sub(&pc->refs, 1) != 1)
    return;
  /* Every layer is gone and the loop's sources are destroyed (the teardown
   * held a reference, teardown_cb); what is left is memory, safe to free on
   * any thread.  The destroys below are for a connection whose loop ended
   * before its teardown ran: then no thread runs the sources any more. */
  if (pc->wake) {
    g_source_destroy(pc->wake);
    g_source_unref(pc->wake);
  }
  if (pc->rx_flush) {
    g_source_destroy(pc->rx_flush);
    g_source_unref(pc->rx_flush);
  }
  actr__watch_drop(&pc->alive_w);
  if (pc->by_sid)
    g_hash_table_destroy(pc->by_sid);
  if (pc->pending)
    g_ptr_array_free(pc->pending, TRUE);
  if (pc->local_candidates)
    g_ptr_array_free(pc->local_candidates, TRUE);
  if (pc->early_candidates)
    g_ptr_array_free(pc->early_candidates, TRUE);
  g_queue_clear_full(&pc->early_out, (GDestroyNotify)g_bytes_unref);
  g_mutex_clear(&pc->direct_mu);
  actr__sdp_free(pc->remote);
  g_free(pc->ufrag);
  g_free(pc->pwd);
  g_free(pc->mid);
  if (pc->ice_cfg) {
    actr__ice_config_clear(pc->ice_cfg);
    g_free(pc->ice_cfg);
  }
  actr__cert_free(pc->cert);
  actr_runtime_t *rt = pc->rt;
  g_free(pc);
  actr__rtc_live_add(-1);
  if (rt)
    release_runtime(rt);
}

/* ---- state ---- */

static void set_state(actr_webrtc_pc_t *pc, actr_webrtc_pc_state_t st, int err) {
  int cur = atomic_load(&pc->state);
  if (cur == (int)st || cur == ACTR_WEBRTC_PC_FAILED || cur == ACTR_WEBRTC_PC_CLOSED)
    return;
  atomic_store(&pc->state, st);
  actr__log(ACTR_LOG_INFO, "webrtc: %s -> %s%s%s", actr_webrtc_pc_state_name(cur),
            actr_webrtc_pc_state_name(st), err ? ": " : "", err ? actr_err_name(err) : "");
  if (!pc->detached && pc->on_state)
    pc->on_state(pc, st, err, pc->user);
}

/* direct_off: no application thread sends through SCTP any more; one that
 * is doing so now has finished when this returns. */
static void direct_off(actr_webrtc_pc_t *pc) {
  g_mutex_lock(&pc->direct_mu);
  pc->direct_sctp = NULL;
  g_mutex_unlock(&pc->direct_mu);
}

/* ---- one batch per loop iteration ----
 * libnice reads every datagram the socket holds in one dispatch and hands
 * them to us one by one; what they make (SACKs on the receiving side, the
 * data a SACK lets out on the sending side) is kept (DTLS corked) until the
 * loop has handled everything that was ready, then leaves as one batch
 * (dtls.c, ice.c: one sendmmsg, runs of equal size as one GSO send).  The
 * flush is a source that is ready whenever something is corked: GLib polls
 * without waiting then and dispatches it in the next iteration, so nothing
 * waits longer than the loop's current pass, and no wake-up is written. */

typedef struct flush_source {
  GSource src;
  actr_webrtc_pc_t *pc; /* no reference: pc_unref destroys the source */
} flush_source_t;

static void rx_uncork(actr_webrtc_pc_t *pc) {
  if (!pc->rx_corked)
    return;
  pc->rx_corked = false;
  if (pc->dtls)
    actr__dtls_uncork(pc->dtls);
}

static gboolean flush_prepare(GSource *src, gint *timeout) {
  *timeout = -1;
  return ((flush_source_t *)src)->pc->rx_corked;
}

static gboolean flush_check(GSource *src) { return ((flush_source_t *)src)->pc->rx_corked; }

static gboolean flush_dispatch(GSource *src, GSourceFunc cb, gpointer ud) {
  (void)cb;
  (void)ud;
  rx_uncork(((flush_source_t *)src)->pc);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs flush_funcs = {flush_prepare, flush_check, flush_dispatch, NULL, NULL, NULL};

static gboolean teardown_cb(gpointer data) {
  actr_webrtc_pc_t *pc = data; /* pc_end, which scheduled us, ended direct sends */
  rx_uncork(pc);
  /* Order matters: the SCTP ABORT goes out through DTLS and ICE, then DTLS
   * sends close_notify, then ICE releases its TURN allocations. */
  if (pc->sctp) {
    actr__sctp_close(pc->sctp);
    pc->sctp = NULL;
  }
  if (pc->dtls) {
    actr__dtls_free(pc->dtls);
    pc->dtls = NULL;
  }
  if (pc->ice) {
    actr__ice_close(pc->ice);
    pc->ice = NULL;
  }
  g_queue_clear_full(&pc->early_out, (GDestroyNotify)g_bytes_unref);
  /* The loop's own sources go here, on the loop's thread: GLib runs a
   * source's prepare, check and dispatch with the context unlocked, so a
   * g_source_destroy from another thread does not wait for one that is
   * running, and the last pc_unref may come from any thread.  Destroyed
   * here, neither is called again; pc_unref only drops the memory. */
  if (pc->wake)
    g_source_destroy(pc->wake);
  if (pc->rx_flush)
    g_source_destroy(pc->rx_flush);
  actr__pc_unref(pc);
  return G_SOURCE_REMOVE;
}

/* pc_end: the connection is over (@final_state FAILED or CLOSED). */
static void pc_end(actr_webrtc_pc_t *pc, actr_webrtc_pc_state_t final_state, int err,
                   const char *why) {
  if (pc->closed)
    return;
  pc->closed = true;
  /* teardown_cb's reference, taken before any callback: the application may
   * free the connection in on_state or in a channel's on_close, and the
   * caller of pc_end, up the stack, still uses it. */
  actr__pc_ref(pc);
  direct_off(pc);
  actr__watch_drop(&pc->alive_w);
  if (why)
    actr__log(final_state == ACTR_WEBRTC_PC_FAILED ? ACTR_LOG_WARN : ACTR_LOG_INFO,
              "webrtc: %s", why);
  actr__dc_close_all(pc, err ? err : ACTR_ECONNECTION_CLOSED);
  set_state(pc, final_state, err);
  GSource *idle = g_idle_source_new();
  g_source_set_callback(idle, teardown_cb, pc, NULL);
  g_source_attach(idle, pc->ctx);
  g_source_unref(idle);
}

/* ---- layer callbacks (I/O thread) ---- */

static void sctp_send_cb(void *user, const void *buf, size_t len) {
  actr_webrtc_pc_t *pc = user;
  if (pc->dtls)
    actr__dtls_send(pc->dtls, buf, len);
}

/* sctp_batch_cb: usrsctp is about to make packets (begin) or is done: they
 * leave as one batch (dtls.c, actr__dtls_cork). */
static void sctp_batch_cb(void *user, bool begin) {
  actr_webrtc_pc_t *pc = user;
  actr__dtls_t *d = pc->dtls;
  if (!d)
    return;
  if (begin)
    actr__dtls_cork(d);
  else
    actr__dtls_uncork(d);
}

static void sctp_up_cb(void *user, uint16_t out_streams, uint16_t in_streams) {
  actr_webrtc_pc_t *pc = user;
  if (pc->closed)
    return;
  actr__log(ACTR_LOG_INFO, "webrtc: SCTP association up, %u/%u streams", out_streams, in_streams);
  pc->sctp_up = true;
  pc->out_streams = out_streams;
  g_mutex_lock(&pc->direct_mu);
  pc->direct_sctp = pc->sctp;
  g_mutex_unlock(&pc->direct_mu);
  actr__dc_sctp_up(pc);
}

static void sctp_down_cb(void *user, int err, const char *why) {
  actr_webrtc_pc_t *pc = user;
  pc_end(pc, err == ACTR_ECONNECTION_CLOSED ? ACTR_WEBRTC_PC_CLOSED : ACTR_WEBRTC_PC_FAILED, err,
         why);
}

/* sctp_joinable_cb: the channel on @sid carries a lane's frames. */
static bool sctp_joinable_cb(void *user, uint16_t sid) {
  actr_webrtc_pc_t *pc = user;
  actr_webrtc_dc_t *dc = g_hash_table_lookup(pc->by_sid, GUINT_TO_POINTER(sid));
  return dc && atomic_load(&dc->join_frames);
}

static bool sctp_message_cb(void *user, uint16_t sid, uint32_t ppid, actr_msg_t *msg) {
  actr_webrtc_pc_t *pc = user;
  if (pc->closed) {
    actr_msg_free(msg);
    return true;
  }
  /* What is kept goes before the application runs (no SACK waits behind
   * its callback), and what it sends from its callback goes when it
   * returns (an answer does not wait for the rest of the loop's pass). */
  if (pc->rx_corked && pc->dtls)
    actr__dtls_flush(pc->dtls);
  bool taken = actr__dc_on_message(pc, sid, ppid, msg);
  if (pc->rx_corked && pc->dtls)
    actr__dtls_flush(pc->dtls);
  return taken;
}

static void sctp_writable_cb(void *user) {
  actr_webrtc_pc_t *pc = user;
  if (!pc->closed)
    actr__dc_flush_all(pc);
}

static void sctp_reset_cb(void *user, uint16_t sid, bool incoming) {
  actr_webrtc_pc_t *pc = user;
  if (!pc->closed)
    actr__dc_on_reset(pc, sid, incoming);
}

static void dtls_send_cb(void *user, const void *buf, size_t len) {
  actr_webrtc_pc_t *pc = user;
  if (!pc->ice)
    return;
  /* The peer's ClientHello may arrive before libnice has selected a pair
   * on our side: keep our answer until it has, instead of losing it to a
   * one-second DTLS retransmission. */
  if (!pc->ice_connected) {
    if (pc->early_out.length < ACTR__RTC_MAX_EARLY_DATAGRAMS)
      g_queue_push_tail(&pc->early_out, g_bytes_new(buf, len));
    return;
  }
  actr__ice_send(pc->ice, buf, len);
}

static void dtls_send_many_cb(void *user, const uint8_t *const *bufs, const size_t *lens,
                              size_t n) {
  actr_webrtc_pc_t *pc = user;
  if (!pc->ice)
    return;
  if (!pc->ice_connected) {
    for (size_t i = 0; i < n; i++)
      dtls_send_cb(user, bufs[i], lens[i]);
    return;
  }
  actr__ice_send_many(pc->ice, bufs, lens, n);
}

static void flush_early(actr_webrtc_pc_t *pc) {
  GBytes *b;
  while ((b = g_queue_pop_head(&pc->early_out))) {
    gsize n;
    const void *p = g_bytes_get_data(b, &n);
    if (pc->ice && !pc->closed)
      actr__ice_send(pc->ice, p, n);
    g_bytes_unref(b);
  }
}

/* alive_cb: until connected, the connect deadline (every eighth of
 * connect_timeout_ms); then the dead-peer check, every eighth of
 * peer_timeout_ms.  Every datagram from the peer (DTLS: SCTP data, SACKs,
 * heartbeats) counts as a sign of life; when none came for a quarter of the
 * timeout, a HEARTBEAT asks for one (SCTP may be silent for long on its own:
 * a sender facing a closed window backs its probes off up to a minute). */
static void alive_cb(void *data) {
  actr_webrtc_pc_t *pc = data;
  if (pc->closed)
    return; /* pc_end drops this timer */
  gint64 now = g_get_monotonic_time();
  if (pc->connecting) { /* the connect deadline only, until connected */
    if (now >= pc->connect_deadline_us) {
      char why[80];
      g_snprintf(why, sizeof why, "not connected within %d ms", pc->connect_timeout_ms);
      pc_end(pc, ACTR_WEBRTC_PC_FAILED, ACTR_ETIMEOUT, why);
    }
    return;
  }
  gint64 silent_ms = (now - pc->last_rx_us) / 1000;
  int timeout = pc->peer_timeout_ms > 0 ? pc->peer_timeout_ms : DEFAULT_PEER_TIMEOUT_MS;
  /* An ICE restart under way (issue 11): silence is expected until it
   * completes; its own deadline ends the connection instead. */
  if (pc->restarting) {
    if (now >= pc->restart_deadline_us)
      pc_end(pc, ACTR_WEBRTC_PC_FAILED, ACTR_EICE, "ICE restart not completed in time");
    else if (silent_ms >= timeout / 4 && pc->sctp)
      actr__sctp_heartbeat(pc->sctp);
    return;
  }
  if (pc->peer_timeout_ms <= 0)
    return; /* no dead-peer detection: the watch runs for a restart only */
  if (silent_ms >= pc->peer_timeout_ms) {
    char why[96];
    g_snprintf(why, sizeof why, "no packet from the peer for %" G_GINT64_FORMAT " ms", silent_ms);
    pc_end(pc, ACTR_WEBRTC_PC_FAILED, ACTR_ECONNECTION, why);
    return;
  }
  /* Half the timeout without a packet: connectivity is lost for now
   * (W3C "disconnected"), which is when an owner restarts ICE. */
  if (silent_ms >= pc->peer_timeout_ms / 2 && !pc->quiet &&
      atomic_load(&pc->state) == ACTR_WEBRTC_PC_CONNECTED) {
    pc->quiet = true;
    set_state(pc, ACTR_WEBRTC_PC_DISCONNECTED, ACTR_OK);
    if (pc->closed) /* closed by the application in on_state */
      return;
  }
  if (silent_ms >= pc->peer_timeout_ms / 4 && pc->sctp)
    actr__sctp_heartbeat(pc->sctp);
}

static void start_alive_check(actr_webrtc_pc_t *pc) {
  if (pc->peer_timeout_ms <= 0 || pc->alive_w)
    return;
  pc->last_rx_us = g_get_monotonic_time();
  /* A hub timer on a grid of the clock (runtime/hub.h): the ticks of every
   * peer connection of every runtime fire at the same instants, and with
   * libnice's idle timers (runtime/slack.h), so 100 idle ones wake a
   * runtime about once a second, not 100 times. */
  unsigned tick = (unsigned)MAX(pc->peer_timeout_ms / 8, 10);
  pc->alive_w = actr__watch_every_aligned(actr__runtime_hub(pc->rt), tick, alive_cb, pc);
}

static void watch_restart(actr_webrtc_pc_t *pc);

static void dtls_connected_cb(void *user) {
  actr_webrtc_pc_t *pc = user;
  if (pc->closed)
    return;
  set_state(pc, ACTR_WEBRTC_PC_CONNECTED, ACTR_OK);
  if (pc->closed) /* closed by the application in on_state */
    return;
  if (pc->connecting) { /* the connect deadline's watch gives way to the dead-peer check */
    pc->connecting = false;
    actr__watch_drop(&pc->alive_w);
  }
  start_alive_check(pc);
  watch_restart(pc); /* a restart offered while connecting keeps its deadline */
  int rc = actr__sctp_connect(pc->sctp);
  if (rc)
    pc_end(pc, ACTR_WEBRTC_PC_FAILED, rc, actr_err_detail());
}

static void dtls_data_cb(void *user, const uint8_t *buf, size_t len) {
  actr_webrtc_pc_t *pc = user;
  if (!pc->closed)
    actr__sctp_input(pc->sctp, buf, len);
}

static void dtls_failed_cb(void *user, int err, const char *why) {
  pc_end(user, ACTR_WEBRTC_PC_FAILED, err, why);
}

static void dtls_closed_cb(void *user) {
  pc_end(user, ACTR_WEBRTC_PC_CLOSED, ACTR_ECONNECTION_CLOSED, "the peer closed DTLS");
}

static void start_dtls(actr_webrtc_pc_t *pc) {
  if (pc->dtls && pc->ice_connected && !pc->dtls_started) {
    pc->dtls_started = true;
    actr__dtls_start(pc->dtls);
  }
}

static void report_done(actr_webrtc_pc_t *pc) {
  if (!pc->detached && !pc->closed && pc->on_candidate)
    pc->on_candidate(pc, NULL, pc->mid ? pc->mid : "0", pc->user);
}

static void ice_candidate_cb(void *user, const char *cand) {
  actr_webrtc_pc_t *pc = user;
  if (pc->closed)
    return;
  if (!cand) {
    pc->gathering_done = true;
    if (pc->in_create)
      pc->done_during_create = true;
    else
      report_done(pc);
    return;
  }
  if (pc->local_candidates->len < ACTR__SDP_MAX_CANDIDATES)
    g_ptr_array_add(pc->local_candidates, g_strdup(cand));
  /* Candidates found while the description is being made are in it. */
  if (!pc->in_create && !pc->detached && pc->on_candidate)
    pc->on_candidate(pc, cand, pc->mid ? pc->mid : "0", pc->user);
}

static void ice_state_cb(void *user, actr__ice_state_t st) {
  actr_webrtc_pc_t *pc = user;
  if (pc->closed)
    return;
  switch (st) {
  case ACTR__ICE_CONNECTED:
    if (pc->restarting) { /* the restart found a pair (issue 11) */
      actr__log(ACTR_LOG_INFO, "webrtc: ICE restart completed");
      pc->restarting = false;
      pc->restart_deadline_us = 0;
      pc->quiet = false;
      pc->last_rx_us = g_get_monotonic_time();
    }
    pc->ice_connected = true;
    flush_early(pc);
    start_dtls(pc);
    if (atomic_load(&pc->state) == ACTR_WEBRTC_PC_DISCONNECTED && actr__dtls_connected(pc->dtls))
      set_state(pc, ACTR_WEBRTC_PC_CONNECTED, ACTR_OK);
    break;
  case ACTR__ICE_DISCONNECTED:
    set_state(pc, ACTR_WEBRTC_PC_DISCONNECTED, ACTR_OK);
    break;
  case ACTR__ICE_FAILED:
    /* Once DTLS is up, ICE failure is recoverable by a restart (W3C): the
     * connection is DISCONNECTED until one completes or dead-peer
     * detection (or the restart's deadline) ends it. */
    if (pc->dtls && actr__dtls_connected(pc->dtls) && (pc->peer_timeout_ms > 0 || pc->restarting)) {
      actr__log(ACTR_LOG_INFO, "webrtc: ICE failed on a live connection: disconnected");
      set_state(pc, ACTR_WEBRTC_PC_DISCONNECTED, ACTR_OK);
      break;
    }
    pc_end(pc, ACTR_WEBRTC_PC_FAILED, ACTR_EICE, "ICE failed: no candidate pair works");
    break;
  default:
    break;
  }
}

static void ice_recv_cb(void *user, const uint8_t *buf, size_t len) {
  actr_webrtc_pc_t *pc = user;
  pc->last_rx_us = g_get_monotonic_time();
  if (pc->quiet && !pc->closed) { /* the peer is heard again (issue 11) */
    pc->quiet = false;
    if (!pc->restarting && atomic_load(&pc->state) == ACTR_WEBRTC_PC_DISCONNECTED && pc->dtls &&
        actr__dtls_connected(pc->dtls))
      set_state(pc, ACTR_WEBRTC_PC_CONNECTED, ACTR_OK);
  }
  if (!pc->closed && pc->dtls) {
    if (!pc->rx_corked && pc->rx_flush) { /* until the loop's pass ends */
      actr__dtls_cork(pc->dtls);
      pc->rx_corked = true;
    }
    actr__dtls_feed(pc->dtls, buf, len);
  }
}

/* ---- creation ---- */

/* pc_build: the part of creation that runs on the caller's thread (DNS,
 * key generation). */
static int pc_build(actr_runtime_t *rt, const actr_webrtc_config_t *cfg, actr_webrtc_pc_t **out) {
  if (!rt || !cfg || !out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "runtime, config and out are required");
  *out = NULL;
  if (cfg->max_message_bytes && cfg->max_message_bytes < 65535)
    return actr__fail(ACTR_ECONFIGURATION, "max_message_bytes %u below 65535",
                      cfg->max_message_bytes);
  if (cfg->sctp_mtu && (cfg->sctp_mtu < DEFAULT_SCTP_MTU || cfg->sctp_mtu > MAX_SCTP_MTU))
    return actr__fail(ACTR_ECONFIGURATION, "sctp_mtu %u outside %u..%u", cfg->sctp_mtu,
                      DEFAULT_SCTP_MTU, MAX_SCTP_MTU);
  if (cfg->sctp_buffer_bytes && cfg->sctp_buffer_bytes < 256 * 1024)
    return actr__fail(ACTR_ECONFIGURATION, "sctp_buffer_bytes %u below 256 KiB",
                      cfg->sctp_buffer_bytes);
  actr__ice_config_t *ice_cfg = g_new0(actr__ice_config_t, 1);
  int rc = actr__ice_config_build(cfg, ice_cfg);
  if (rc) {
    g_free(ice_cfg);
    return rc;
  }
  actr__cert_t *cert = NULL;
  rc = (cfg->certificate_pem || cfg->private_key_pem)
           ? actr__cert_from_pem(cfg->certificate_pem, cfg->private_key_pem, &cert)
           : actr__cert_generate(&cert);
  if (rc) {
    actr__ice_config_clear(ice_cfg);
    g_free(ice_cfg);
    return rc;
  }
  actr_webrtc_pc_t *pc = g_new0(actr_webrtc_pc_t, 1);
  actr__rtc_live_add(1);
  atomic_init(&pc->refs, 1);
  pc->rt = actr_runtime_ref(rt);
  pc->ctx = actr__runtime_context(rt);
  pc->ice_cfg = ice_cfg;
  pc->cert = cert;
  pc->max_message_bytes = ACTR__OR_DEFAULT(cfg->max_message_bytes, DEFAULT_MAX_MESSAGE);
  pc->sctp_buffer_bytes = ACTR__OR_DEFAULT(cfg->sctp_buffer_bytes, DEFAULT_SCTP_BUFFER);
  pc->sctp_mtu = ACTR__OR_DEFAULT(cfg->sctp_mtu, DEFAULT_SCTP_MTU);
  pc->max_buffered_bytes = ACTR__OR_DEFAULT(cfg->max_buffered_bytes, DEFAULT_MAX_BUFFERED);
  pc->dtls_timeout_ms = cfg->dtls_timeout_ms > 0 ? cfg->dtls_timeout_ms : DEFAULT_DTLS_TIMEOUT_MS;
  pc->connect_timeout_ms = cfg->connect_timeout_ms == 0 ? DEFAULT_CONNECT_TIMEOUT_MS
                           : cfg->connect_timeout_ms < 0 ? 0 : cfg->connect_timeout_ms;
  pc->peer_timeout_ms = cfg->peer_timeout_ms == 0 ? DEFAULT_PEER_TIMEOUT_MS
                        : cfg->peer_timeout_ms < 0 ? 0 : cfg->peer_timeout_ms;
  pc->close_timeout_ms = cfg->close_timeout_ms == 0 ? DEFAULT_CLOSE_TIMEOUT_MS
                         : cfg->close_timeout_ms;
  pc->on_candidate = cfg->on_candidate;
  pc->on_state = cfg->on_state;
  pc->on_data_channel = cfg->on_data_channel;
  pc->user = cfg->user;
  atomic_init(&pc->state, ACTR_WEBRTC_PC_NEW);
  atomic_init(&pc->remote_max_message, 0);
  pc->remote_dc = -1;
  gnutls_rnd(GNUTLS_RND_NONCE, &pc->session_id, sizeof pc->session_id);
  pc->session_id &= INT64_MAX; /* RFC 8866 §5.2: fits a signed 64-bit NTP-style value */
  pc->session_version = 2;
  pc->local_candidates = g_ptr_array_new_with_free_func(g_free);
  pc->early_candidates = g_ptr_array_new_with_free_func(g_free);
  pc->by_sid = g_hash_table_new(g_direct_hash, g_direct_equal);
  pc->pending = g_ptr_array_new();
  g_queue_init(&pc->early_out);
  g_mutex_init(&pc->direct_mu);
  *out = pc;
  return ACTR_OK;
}

static void wake_cb(void *data) {
  actr_webrtc_pc_t *pc = data;
  if (!pc->closed)
    actr__dc_flush_all(pc);
}

static int init_io(void *data) {
  actr_webrtc_pc_t *pc = data;
  actr__ice_cbs_t cbs = {ice_candidate_cb, ice_state_cb, ice_recv_cb};
  int rc = actr__ice_new(pc->ctx, actr__runtime_slack(pc->rt), pc->ice_cfg, &cbs, pc, &pc->ice);
  if (rc)
    return rc;
  actr__ice_local_credentials(pc->ice, &pc->ufrag, &pc->pwd);
  pc->wake = actr__wake_source_new(pc->ctx, wake_cb, pc);
  pc->rx_flush = g_source_new(&flush_funcs, sizeof(flush_source_t));
  ((flush_source_t *)pc->rx_flush)->pc = pc;
  g_source_attach(pc->rx_flush, pc->ctx);
  if (pc->connect_timeout_ms > 0) { /* alive_cb keeps the deadline until connected */
    pc->connecting = true;
    pc->connect_deadline_us = g_get_monotonic_time() + (gint64)pc->connect_timeout_ms * 1000;
    pc->alive_w = actr__watch_every_aligned(actr__runtime_hub(pc->rt),
                                            (unsigned)MAX(pc->connect_timeout_ms / 8, 10),
                                            alive_cb, pc);
  }
  return ACTR_OK;
}

int actr_webrtc_pc_new(actr_runtime_t *rt, const actr_webrtc_config_t *cfg,
                       actr_webrtc_pc_t **out) {
  int rc = pc_build(rt, cfg, out);
  if (rc)
    return rc;
  rc = actr_runtime_call(rt, init_io, *out);
  if (rc) {
    actr_webrtc_pc_t *pc = *out;
    *out = NULL;
    pc->closed = true;
    actr__pc_unref(pc);
  }
  return rc;
}

/* ---- negotiation (I/O thread) ---- */

static int start_transport(actr_webrtc_pc_t *pc) {
  const actr__sdp_media_t *m = &pc->remote->media[pc->remote_dc];
  actr__dtls_config_t dc = {
    .client = pc->dtls_client,
    .cert = pc->cert,
    .remote_fp = m->fp,
    .n_remote_fp = m->n_fp,
    .mtu = pc->sctp_mtu + DTLS_OVERHEAD,
    .timeout_ms = (unsigned)pc->dtls_timeout_ms,
  };
  actr__dtls_cbs_t dcbs = {dtls_send_cb,   dtls_send_many_cb, dtls_connected_cb,
                           dtls_data_cb,   dtls_failed_cb,    dtls_closed_cb};
  int rc = actr__dtls_new(pc->ctx, &dc, &dcbs, pc, &pc->dtls);
  if (rc)
    return rc;
  actr__sctp_config_t sc = {
    .local_port = ACTR__SDP_DEFAULT_SCTP_PORT,
    .remote_port = pc->remote_sctp_port,
    .buffer_bytes = pc->sctp_buffer_bytes,
    .mtu = pc->sctp_mtu,
    .streams = ACTR__RTC_STREAMS,
    .max_message = pc->max_message_bytes,
  };
  actr__sctp_cbs_t scbs = {sctp_send_cb,     sctp_batch_cb,    sctp_up_cb,   sctp_down_cb,
                           sctp_message_cb,  sctp_writable_cb, sctp_reset_cb, sctp_joinable_cb};
  rc = actr__sctp_new(pc->ctx, &sc, &scbs, pc, &pc->sctp);
  if (rc)
    return rc;
  pc->role_known = true;
  actr__log(ACTR_LOG_INFO, "webrtc: DTLS %s, SCTP %u -> %u", pc->dtls_client ? "client" : "server",
            sc.local_port, sc.remote_port);
  actr__dc_assign_ids(pc);
  set_state(pc, ACTR_WEBRTC_PC_CONNECTING, ACTR_OK);
  if (!pc->closed) /* not closed by the application in on_state */
    start_dtls(pc);
  return ACTR_OK;
}

/* add_remote: one candidate to libnice, within the bound. */
static int add_remote(actr_webrtc_pc_t *pc, const char *cand) {
  if (pc->n_remote_candidates >= ACTR__RTC_MAX_REMOTE_CANDIDATES)
    return actr__fail(ACTR_ERESOURCE_EXHAUSTED, "more than %u remote candidates",
                      ACTR__RTC_MAX_REMOTE_CANDIDATES);
  pc->n_remote_candidates++;
  return actr__ice_add_remote_candidate(pc->ice, cand);
}

static int apply_remote_candidates(actr_webrtc_pc_t *pc) {
  const actr__sdp_media_t *m = &pc->remote->media[pc->remote_dc];
  for (size_t i = 0; i < m->n_candidates; i++)
    if (add_remote(pc, m->candidates[i]))
      ACTR__LOG_PEER(ACTR_LOG_WARN, "webrtc: remote SDP candidate skipped: %s", actr_err_detail());
  for (guint i = 0; i < pc->early_candidates->len; i++)
    if (add_remote(pc, pc->early_candidates->pdata[i]))
      ACTR__LOG_PEER(ACTR_LOG_WARN, "webrtc: early candidate skipped: %s", actr_err_detail());
  g_ptr_array_set_size(pc->early_candidates, 0);
  if (m->end_of_candidates || pc->early_done)
    actr__ice_remote_gathering_done(pc->ice);
  return ACTR_OK;
}

static char *local_sdp(actr_webrtc_pc_t *pc) {
  actr__sdp_local_t l = {
    .session_id = pc->session_id,
    .session_version = pc->session_version,
    .ice_ufrag = pc->ufrag,
    .ice_pwd = pc->pwd,
    .fingerprint_sha256 = pc->cert->fingerprint,
    .sctp_port = ACTR__SDP_DEFAULT_SCTP_PORT,
    .max_message_size = pc->max_message_bytes,
    .candidates = (const char *const *)pc->local_candidates->pdata,
    .n_candidates = pc->local_candidates->len,
    .end_of_candidates = pc->gathering_done,
    .offer = NULL,
    .offer_dc = -1,
  };
  /* The offerer's description is an offer (actpass); the answerer's mirrors
   * the offer's sections and says which DTLS role it took. */
  if (pc->answerer) {
    l.offer = pc->remote;
    l.offer_dc = pc->remote_dc;
    l.setup = pc->dtls_client ? ACTR__SDP_SETUP_ACTIVE : ACTR__SDP_SETUP_PASSIVE;
  } else {
    l.setup = ACTR__SDP_SETUP_ACTPASS;
  }
  char *g = actr__sdp_generate(&l);
  char *s = strdup(g);
  g_free(g);
  return s;
}

typedef struct sdp_call {
  actr_webrtc_pc_t *pc;
  bool is_offer;
  const char *text;
  char *sdp;
} sdp_call_t;

static gboolean report_done_idle(gpointer data) {
  actr_webrtc_pc_t *pc = data;
  report_done(pc);
  actr__pc_unref(pc);
  return G_SOURCE_REMOVE;
}

static int gather(actr_webrtc_pc_t *pc) {
  pc->in_create = true;
  int rc = actr__ice_gather(pc->ice);
  pc->in_create = false;
  if (rc == ACTR_OK && pc->done_during_create) {
    /* Gathering ended inside the call (host candidates only): say so after
     * the description has been handed back. */
    pc->done_during_create = false;
    actr__pc_ref(pc);
    GSource *idle = g_idle_source_new();
    g_source_set_callback(idle, report_done_idle, pc, NULL);
    g_source_attach(idle, pc->ctx);
    g_source_unref(idle);
  }
  return rc;
}

static int create_offer_io(void *data) {
  sdp_call_t *c = data;
  actr_webrtc_pc_t *pc = c->pc;
  if (pc->closed)
    return actr__fail(ACTR_EINVALID_OPERATION, "peer connection closed");
  if (pc->sig != PC_SIG_NONE)
    return actr__fail(ACTR_EINVALID_OPERATION, "create_offer: a description is already set");
  pc->sig = PC_SIG_LOCAL_OFFER;
  pc->mid = g_strdup("0");
  actr__ice_set_controlling(pc->ice, true); /* RFC 8445 §6.1.1: the offerer controls */
  int rc = gather(pc);
  if (rc)
    return rc;
  c->sdp = local_sdp(pc);
  return ACTR_OK;
}

static int create_answer_io(void *data) {
  sdp_call_t *c = data;
  actr_webrtc_pc_t *pc = c->pc;
  if (pc->closed)
    return actr__fail(ACTR_EINVALID_OPERATION, "peer connection closed");
  if (pc->sig != PC_SIG_REMOTE_OFFER)
    return actr__fail(ACTR_EINVALID_OPERATION, "create_answer: no remote offer");
  if (pc->role_known) { /* the answer to an ICE restart: DTLS and SCTP stay */
    pc->sig = PC_SIG_STABLE;
    apply_remote_candidates(pc);
    c->sdp = local_sdp(pc);
    return ACTR_OK;
  }
  pc->sig = PC_SIG_STABLE;
  pc->answerer = true;
  int rc = gather(pc);
  if (rc == ACTR_OK)
    rc = start_transport(pc);
  if (rc) {
    pc_end(pc, ACTR_WEBRTC_PC_FAILED, rc, actr_err_detail());
    return rc;
  }
  apply_remote_candidates(pc);
  c->sdp = local_sdp(pc);
  return ACTR_OK;
}

/* ---- ICE restart in place (transport, issue 11) ----
 * The offerer makes a new offer with new ICE credentials on the same
 * connection (actr_webrtc_pc_restart_ice); the answerer takes it on its
 * live connection and answers with new credentials of its own.  ICE checks
 * start over (libnice's stream restart) while DTLS and SCTP, and every
 * channel, stay as they are.  Meanwhile dead-peer detection waits for the
 * restart, until its deadline. */

/* watch_restart: with no dead-peer detection (and no connect deadline
 * watched), a watch of its own for the restart's deadline. */
static void watch_restart(actr_webrtc_pc_t *pc) {
  if (pc->alive_w || !pc->restarting)
    return;
  gint64 left_ms = (pc->restart_deadline_us - g_get_monotonic_time()) / 1000;
  pc->last_rx_us = g_get_monotonic_time();
  pc->alive_w = actr__watch_every_aligned(actr__runtime_hub(pc->rt),
                                          (unsigned)CLAMP(left_ms / 8, 10, 60000), alive_cb, pc);
}

static void hold_for_restart(actr_webrtc_pc_t *pc, gint64 timeout_ms) {
  pc->restarting = true;
  pc->restart_deadline_us = g_get_monotonic_time() + timeout_ms * 1000;
  watch_restart(pc);
}

/* ice_generation: restart our ICE: new local credentials, the remote
 * candidates of the old generation forgotten. */
static int ice_generation(actr_webrtc_pc_t *pc) {
  int rc = actr__ice_restart(pc->ice);
  if (rc)
    return rc;
  g_free(pc->ufrag);
  g_free(pc->pwd);
  actr__ice_local_credentials(pc->ice, &pc->ufrag, &pc->pwd);
  pc->session_version++;
  pc->n_remote_candidates = 0;
  g_ptr_array_set_size(pc->early_candidates, 0);
  pc->early_done = false;
  return ACTR_OK;
}

static int restart_remote(actr_webrtc_pc_t *pc, bool is_offer, actr__sdp_t *sdp, int idx) {
  const actr__sdp_media_t *m = &sdp->media[idx];
  const actr__sdp_media_t *old = &pc->remote->media[pc->remote_dc];
  if (old->ice_ufrag && strcmp(old->ice_ufrag, m->ice_ufrag) == 0 && old->ice_pwd &&
      strcmp(old->ice_pwd, m->ice_pwd) == 0) {
    actr__sdp_free(sdp);
    return actr__fail(ACTR_EWEBRTC, "%s without new ICE credentials: only ICE restarts are "
                      "supported on a live connection", is_offer ? "an offer" : "an answer");
  }
  int rc = ACTR_OK;
  if (is_offer) {
    rc = ice_generation(pc);
    if (!pc->restarting)
      hold_for_restart(pc, 2 * (gint64)(pc->peer_timeout_ms > 0 ? pc->peer_timeout_ms
                                                                : DEFAULT_PEER_TIMEOUT_MS));
    pc->sig = PC_SIG_REMOTE_OFFER;
  } else {
    pc->sig = PC_SIG_STABLE;
  }
  actr__sdp_free(pc->remote);
  pc->remote = sdp;
  pc->remote_dc = idx;
  actr__log(ACTR_LOG_INFO, "webrtc: ICE restart: %s with new credentials", is_offer ? "offer" : "answer");
  if (rc == ACTR_OK)
    rc = actr__ice_set_remote_credentials(pc->ice, m->ice_ufrag, m->ice_pwd);
  if (rc == ACTR_OK && !is_offer)
    apply_remote_candidates(pc);
  if (rc)
    pc_end(pc, ACTR_WEBRTC_PC_FAILED, rc, actr_err_detail());
  return rc;
}

typedef struct restart_call {
  actr_webrtc_pc_t *pc;
  int timeout_ms;
  char *sdp;
} restart_call_t;

static int restart_io(void *data) {
  restart_call_t *c = data;
  actr_webrtc_pc_t *pc = c->pc;
  if (pc->closed)
    return actr__fail(ACTR_EINVALID_OPERATION, "peer connection closed");
  if (!pc->role_known || !pc->dtls || !actr__dtls_connected(pc->dtls))
    return actr__fail(ACTR_EINVALID_OPERATION, "ICE restart: the connection was never up");
  if (!pc->answerer && pc->sig != PC_SIG_STABLE && pc->sig != PC_SIG_LOCAL_OFFER)
    return actr__fail(ACTR_EINVALID_OPERATION, "ICE restart: negotiation under way");
  hold_for_restart(pc, c->timeout_ms);
  if (pc->answerer)
    return ACTR_OK; /* the peer's offer restarts it */
  int rc = ice_generation(pc);
  if (rc)
    return rc;
  pc->sig = PC_SIG_LOCAL_OFFER;
  c->sdp = local_sdp(pc);
  actr__log(ACTR_LOG_INFO, "webrtc: ICE restart: new offer");
  return ACTR_OK;
}

int actr_webrtc_pc_restart_ice(actr_webrtc_pc_t *pc, int timeout_ms, char **sdp) {
  if (!pc || !sdp || timeout_ms <= 0)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "pc, sdp and timeout_ms > 0 are required");
  restart_call_t c = {.pc = pc, .timeout_ms = timeout_ms};
  int rc = actr_runtime_call(pc->rt, restart_io, &c);
  *sdp = c.sdp;
  return rc;
}

static int set_remote_io(void *data) {
  sdp_call_t *c = data;
  actr_webrtc_pc_t *pc = c->pc;
  if (pc->closed)
    return actr__fail(ACTR_EINVALID_OPERATION, "peer connection closed");
  /* A new offer on a live connection we answered, or the answer to our
   * restart offer: an ICE restart in place (restart_remote). */
  bool restart = pc->role_known && (c->is_offer ? pc->answerer && pc->sig == PC_SIG_STABLE
                                                : pc->sig == PC_SIG_LOCAL_OFFER);
  if (!restart && (c->is_offer ? pc->sig != PC_SIG_NONE : pc->sig != PC_SIG_LOCAL_OFFER))
    return actr__fail(ACTR_EINVALID_OPERATION, "set_remote_description: an %s is not expected now",
                      c->is_offer ? "offer" : "answer");
  actr__sdp_t *sdp;
  int rc = actr__sdp_parse(c->text, strlen(c->text), &sdp);
  if (rc)
    return rc;
  int idx = actr__sdp_datachannel(sdp);
  const actr__sdp_media_t *m = idx >= 0 ? &sdp->media[idx] : NULL;
  if (!m)
    rc = actr__fail(ACTR_EWEBRTC, "remote SDP has no data-channel (SCTP) m-section");
  else if (!m->ice_ufrag || !m->ice_pwd)
    rc = actr__fail(ACTR_EWEBRTC, "remote SDP has no ICE credentials");
  else if (m->n_fp == 0)
    rc = actr__fail(ACTR_EWEBRTC, "remote SDP has no usable a=fingerprint");
  else if (m->setup == ACTR__SDP_SETUP_HOLDCONN)
    rc = actr__fail(ACTR_EWEBRTC, "remote SDP says setup:holdconn");
  else if (!c->is_offer && m->setup == ACTR__SDP_SETUP_ACTPASS)
    /* RFC 8842 §5.3: the answerer picks active or passive.  Taken as
     * passive, both sides would wait as DTLS servers until the connect
     * deadline; Chromium refuses such an answer too. */
    rc = actr__fail(ACTR_EWEBRTC, "remote answer says setup:actpass (an answer must say active "
                                  "or passive, RFC 8842 5.3)");
  if (rc) {
    actr__sdp_free(sdp);
    return rc;
  }
  if (restart)
    return restart_remote(pc, c->is_offer, sdp, idx);
  if (c->is_offer) {
    /* RFC 8842 §5.3: the answerer of actpass picks active (DTLS client);
     * an offer without a=setup is treated as actpass. */
    pc->dtls_client = m->setup != ACTR__SDP_SETUP_ACTIVE;
    pc->sig = PC_SIG_REMOTE_OFFER;
    g_free(pc->mid);
    pc->mid = g_strdup(m->mid);
    actr__ice_set_controlling(pc->ice, false);
  } else {
    /* An answer without a=setup defaults to active (RFC 4145 §4). */
    pc->dtls_client = m->setup == ACTR__SDP_SETUP_PASSIVE;
    pc->sig = PC_SIG_STABLE;
  }
  pc->remote = sdp;
  pc->remote_dc = idx;
  pc->remote_sctp_port = m->sctp_port ? m->sctp_port : ACTR__SDP_DEFAULT_SCTP_PORT;
  /* RFC 8841 §6: absent means 64 KiB, 0 means no limit.  Never more than
   * one send buffer, or the message could never be taken. */
  uint64_t mms = m->has_max_message_size ? m->max_message_size : ACTR__SDP_DEFAULT_MAX_MESSAGE_SIZE;
  if (mms == 0 || mms > pc->sctp_buffer_bytes / 2)
    mms = pc->sctp_buffer_bytes / 2;
  atomic_store(&pc->remote_max_message, (size_t)mms);
  rc = actr__ice_set_remote_credentials(pc->ice, m->ice_ufrag, m->ice_pwd);
  if (rc == ACTR_OK && !c->is_offer) {
    rc = start_transport(pc);
    if (rc == ACTR_OK)
      apply_remote_candidates(pc);
  }
  if (rc)
    pc_end(pc, ACTR_WEBRTC_PC_FAILED, rc, actr_err_detail());
  return rc;
}

int actr_webrtc_pc_create_offer(actr_webrtc_pc_t *pc, char **sdp) {
  if (!pc || !sdp)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "pc and sdp are required");
  sdp_call_t c = {.pc = pc};
  int rc = actr_runtime_call(pc->rt, create_offer_io, &c);
  *sdp = c.sdp;
  return rc;
}

int actr_webrtc_pc_create_answer(actr_webrtc_pc_t *pc, char **sdp) {
  if (!pc || !sdp)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "pc and sdp are required");
  sdp_call_t c = {.pc = pc};
  int rc = actr_runtime_call(pc->rt, create_answer_io, &c);
  *sdp = c.sdp;
  return rc;
}

int actr_webrtc_pc_set_remote_description(actr_webrtc_pc_t *pc, bool is_offer, const char *sdp) {
  if (!pc || !sdp)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "pc and sdp are required");
  sdp_call_t c = {.pc = pc, .is_offer = is_offer, .text = sdp};
  return actr_runtime_call(pc->rt, set_remote_io, &c);
}

static int local_description_io(void *data) {
  sdp_call_t *c = data;
  if (c->pc->sig == PC_SIG_NONE || c->pc->sig == PC_SIG_REMOTE_OFFER)
    return actr__fail(ACTR_EINVALID_OPERATION, "no local description yet");
  c->sdp = local_sdp(c->pc);
  return ACTR_OK;
}

int actr_webrtc_pc_local_description(actr_webrtc_pc_t *pc, char **sdp) {
  if (!pc || !sdp)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "pc and sdp are required");
  sdp_call_t c = {.pc = pc};
  int rc = actr_runtime_call(pc->rt, local_description_io, &c);
  *sdp = c.sdp;
  return rc;
}

typedef struct cand_call {
  actr_webrtc_pc_t *pc;
  const char *cand, *mid;
} cand_call_t;

static int add_candidate_io(void *data) {
  cand_call_t *c = data;
  actr_webrtc_pc_t *pc = c->pc;
  if (pc->closed)
    return actr__fail(ACTR_EINVALID_OPERATION, "peer connection closed");
  bool ready = pc->sig == PC_SIG_STABLE && pc->ice;
  if (c->mid && pc->remote && pc->remote_dc >= 0) {
    const char *dc_mid = pc->remote->media[pc->remote_dc].mid;
    if (dc_mid && strcmp(c->mid, dc_mid) != 0)
      return ACTR_OK; /* for a section we rejected */
  }
  if (!c->cand || !*c->cand) {
    if (ready)
      actr__ice_remote_gathering_done(pc->ice);
    else
      pc->early_done = true;
    return ACTR_OK;
  }
  const char *v = g_str_has_prefix(c->cand, "a=") ? c->cand + 2 : c->cand;
  if (!g_str_has_prefix(v, "candidate:") || strlen(v) > 1024)
    return actr__fail(ACTR_EPROTOCOL, "ICE candidate: want 'candidate:...' under 1024 bytes");
  if (ready)
    return add_remote(pc, v);
  /* Before both descriptions: keep it (signaling may overtake). */
  if (pc->early_candidates->len >= ACTR__RTC_MAX_EARLY_CANDIDATES)
    return actr__fail(ACTR_ERESOURCE_EXHAUSTED, "more than %u candidates before the description",
                      ACTR__RTC_MAX_EARLY_CANDIDATES);
  g_ptr_array_add(pc->early_candidates, g_strdup(v));
  return ACTR_OK;
}

int actr_webrtc_pc_add_remote_candidate(actr_webrtc_pc_t *pc, const char *candidate,
                                        const char *mid) {
  if (!pc)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "pc is NULL");
  cand_call_t c = {pc, candidate, mid};
  return actr_runtime_call(pc->rt, add_candidate_io, &c);
}

actr_webrtc_pc_state_t actr_webrtc_pc_state(const actr_webrtc_pc_t *pc) {
  return pc ? (actr_webrtc_pc_state_t)atomic_load(&((actr_webrtc_pc_t *)pc)->state)
            : ACTR_WEBRTC_PC_CLOSED;
}

/* ---- closing ---- */

static void close_io(void *data) {
  actr_webrtc_pc_t *pc = data;
  pc_end(pc, ACTR_WEBRTC_PC_CLOSED, ACTR_OK, "closed by the application");
  actr__pc_unref(pc);
}

void actr_webrtc_pc_close(actr_webrtc_pc_t *pc) {
  if (!pc)
    return;
  actr__pc_ref(pc);
  actr_runtime_invoke(pc->rt, close_io, pc);
}

static int destroy_io(void *data) {
  actr_webrtc_pc_t *pc = data;
  pc_end(pc, ACTR_WEBRTC_PC_CLOSED, ACTR_OK, "destroyed by the application");
  pc->detached = true;
  pc->on_candidate = NULL;
  pc->on_state = NULL;
  pc->on_data_channel = NULL;
  return ACTR_OK;
}

void actr_webrtc_pc_free(actr_webrtc_pc_t *pc) {
  if (!pc)
    return;
  if (pc->ice) /* NULL only for a half-built connection */
    actr_runtime_call(pc->rt, destroy_io, pc);
  actr__pc_unref(pc);
}
