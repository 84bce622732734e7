/* dtls.c — DTLS 1.2 over a memory transport (see dtls.h).
 *
 * GnuTLS reads through our pull function, which hands it the one datagram
 * actr__dtls_feed is processing (then EAGAIN), and writes through our push
 * function, which goes straight to ICE.  The session is non-blocking; while
 * the handshake is in progress, a GLib timeout armed for
 * gnutls_dtls_get_timeout() milliseconds calls gnutls_handshake again, which
 * retransmits the last flight (RFC 6347 §4.2.4).  A second timeout bounds the
 * whole handshake. */
#include "dtls.h"

#include <errno.h>
#include <gnutls/dtls.h>
#include <stdio.h>
#include <string.h>

#include "error_internal.h"
#include "rtc_internal.h"

/* RFC 8827 §6.5 requires DTLS 1.2 or later; GnuTLS 3.7 has no DTLS 1.3.
 * AEAD ciphers only, AES-128-GCM first (the cheapest with AES-NI; every
 * browser and aiortc offer it), ECDHE key exchange. */
#define DTLS_PRIORITY                                                                     \
  "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:" \
  "%SERVER_PRECEDENCE"
#define DTLS_RETRANSMIT_MS 1000
/* A batch of records made while corked: enough for a congestion window's
 * burst of 1200-byte packets (usrsctp sends at most a few dozen per call),
 * bounded in bytes for large MTUs. */
#define BATCH_MAX 64
#define BATCH_BYTES (128 * 1024)
/* The batch buffer starts small (a call's few records) and doubles, up to
 * BATCH_BYTES, each time a batch outgrows it: only a connection that moves
 * bulk data keeps the large one. */
#define BATCH_FIRST_BYTES (8 * 1024)

typedef enum { DTLS_NEW = 0, DTLS_HANDSHAKE, DTLS_CONNECTED, DTLS_DONE } dtls_state_t;

struct actr__dtls {
  gnutls_session_t s;
  gnutls_certificate_credentials_t cred;
  GMainContext *ctx;
  actr__dtls_cbs_t cbs;
  void *user;
  dtls_state_t state;
  bool client, closed, mismatch;
  unsigned timeout_ms;
  actr__sdp_fingerprint_t fp[ACTR__SDP_MAX_FINGERPRINTS];
  size_t n_fp;
  const uint8_t *in; /* the datagram being fed, NULL when consumed */
  size_t in_len;
  GSource *retransmit, *deadline;
  /* Records are sent from the I/O thread and from direct senders (an
   * application thread inside SCTP): one at a time.  GnuTLS allows one
   * sending and one receiving thread on a session; receiving stays on the
   * I/O thread. */
  GMutex send_mu;
  /* The batch (under send_mu): records kept while cork > 0. */
  unsigned cork;
  size_t batch_n, batch_used, batch_cap;
  uint8_t *batch;
  const uint8_t *batch_ptr[BATCH_MAX];
  size_t batch_len[BATCH_MAX];
};

/* ---- the memory transport ---- */

/* flush_locked: the batch goes out (send_mu held). */
static void flush_locked(actr__dtls_t *d) {
  if (d->batch_n)
    d->cbs.send_many(d->user, d->batch_ptr, d->batch_len, d->batch_n);
  d->batch_n = 0;
  d->batch_used = 0;
}

static ssize_t push_fn(gnutls_transport_ptr_t p, const void *buf, size_t len) {
  actr__dtls_t *d = p;
  /* Corked (send_mu is held: every record of a corked caller is made
   * under it): one copy into the batch instead of a system call. */
  if (d->cork && d->state == DTLS_CONNECTED && len <= BATCH_BYTES) {
    if (d->batch_n == BATCH_MAX || d->batch_used + len > d->batch_cap) {
      bool outgrown = d->batch_used + len > d->batch_cap && d->batch_cap < BATCH_BYTES;
      flush_locked(d); /* the batch is empty now: its buffer may be replaced */
      if (outgrown || !d->batch) {
        size_t cap = d->batch_cap ? d->batch_cap * 2 : BATCH_FIRST_BYTES;
        while (cap < len)
          cap *= 2;
        d->batch_cap = cap < BATCH_BYTES ? cap : BATCH_BYTES;
        g_free(d->batch);
        d->batch = g_malloc(d->batch_cap);
      }
    }
    uint8_t *slot = d->batch + d->batch_used;
    memcpy(slot, buf, len);
    d->batch_ptr[d->batch_n] = slot;
    d->batch_len[d->batch_n] = len;
    d->batch_n++;
    d->batch_used += len;
    return (ssize_t)len;
  }
  d->cbs.send(d->user, buf, len);
  return (ssize_t)len; /* a datagram: loss is DTLS's business */
}

static ssize_t pull_fn(gnutls_transport_ptr_t p, void *buf, size_t len) {
  actr__dtls_t *d = p;
  if (!d->in) {
    gnutls_transport_set_errno(d->s, EAGAIN);
    return -1;
  }
  size_t n = d->in_len < len ? d->in_len : len;
  memcpy(buf, d->in, n);
  d->in = NULL;
  return (ssize_t)n;
}

static int pull_timeout_fn(gnutls_transport_ptr_t p, unsigned ms) {
  actr__dtls_t *d = p;
  return d->in ? 1 : 0; /* never waits: the main loop brings the next datagram */
}

/* RFC 8122 §5 / RFC 8827 §6.5: the certificate is authenticated by the
 * fingerprint in the peer's SDP; nothing else about it is checked. */
static int verify_fn(gnutls_session_t s) {
  actr__dtls_t *d = gnutls_session_get_ptr(s);
  unsigned n = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
  if (!certs || n == 0 || !actr__cert_matches(&certs[0], d->fp, d->n_fp)) {
    d->mismatch = true;
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  return 0;
}

/* ---- timers ---- */

static void handshake_step(actr__dtls_t *d);

static gboolean retransmit_cb(gpointer data) {
  actr__dtls_t *d = data;
  actr__rtc_source_fired(&d->retransmit);
  handshake_step(d);
  return G_SOURCE_REMOVE;
}

/* set_state: under send_mu, which direct senders read it under. */
static void set_state(actr__dtls_t *d, dtls_state_t st) {
  g_mutex_lock(&d->send_mu);
  d->state = st;
  g_mutex_unlock(&d->send_mu);
}

static void fail(actr__dtls_t *d, int err, const char *why) {
  if (d->state == DTLS_DONE)
    return;
  set_state(d, DTLS_DONE);
  actr__rtc_source_stop(&d->retransmit);
  actr__rtc_source_stop(&d->deadline);
  if (!d->closed)
    d->cbs.failed(d->user, err, why);
}

static gboolean deadline_cb(gpointer data) {
  actr__dtls_t *d = data;
  actr__rtc_source_fired(&d->deadline);
  fail(d, ACTR_ETIMEOUT, "DTLS handshake timed out");
  return G_SOURCE_REMOVE;
}

static void arm(actr__dtls_t *d, GSource **slot, unsigned ms, GSourceFunc fn) {
  actr__rtc_source_stop(slot);
  *slot = g_timeout_source_new(ms);
  g_source_set_callback(*slot, fn, d, NULL);
  g_source_attach(*slot, d->ctx);
}

/* ---- the session ---- */

int actr__dtls_new(GMainContext *ctx, const actr__dtls_config_t *cfg, const actr__dtls_cbs_t *cbs,
                   void *user, actr__dtls_t **out) {
  actr__dtls_t *d = g_new0(actr__dtls_t, 1);
  g_mutex_init(&d->send_mu);
  d->ctx = ctx;
  d->cbs = *cbs;
  d->user = user;
  d->client = cfg->client;
  d->timeout_ms = cfg->timeout_ms;
  d->n_fp = cfg->n_remote_fp < ACTR__SDP_MAX_FINGERPRINTS ? cfg->n_remote_fp
                                                          : ACTR__SDP_MAX_FINGERPRINTS;
  memcpy(d->fp, cfg->remote_fp, d->n_fp * sizeof d->fp[0]);
  int grc;
  const char *what = "credentials";
  if ((grc = gnutls_certificate_allocate_credentials(&d->cred)) < 0)
    goto fail;
  what = "certificate";
  gnutls_x509_crt_t crt = cfg->cert->crt;
  if ((grc = gnutls_certificate_set_x509_key(d->cred, &crt, 1, cfg->cert->key)) < 0)
    goto fail;
  what = "session";
  if ((grc = gnutls_init(&d->s, (cfg->client ? GNUTLS_CLIENT : GNUTLS_SERVER) | GNUTLS_DATAGRAM |
                                    GNUTLS_NONBLOCK)) < 0)
    goto fail;
  what = "priority";
  if ((grc = gnutls_priority_set_direct(d->s, DTLS_PRIORITY, NULL)) < 0)
    goto fail;
  what = "credentials";
  if ((grc = gnutls_credentials_set(d->s, GNUTLS_CRD_CERTIFICATE, d->cred)) < 0)
    goto fail;
  /* RFC 8827 §6.5: both sides authenticate with a certificate. */
  if (!cfg->client)
    gnutls_certificate_server_set_request(d->s, GNUTLS_CERT_REQUIRE);
  gnutls_session_set_ptr(d->s, d);
  gnutls_session_set_verify_function(d->s, verify_fn);
  gnutls_transport_set_ptr(d->s, d);
  gnutls_transport_set_push_function(d->s, push_fn);
  gnutls_transport_set_pull_function(d->s, pull_fn);
  gnutls_transport_set_pull_timeout_function(d->s, pull_timeout_fn);
  gnutls_dtls_set_mtu(d->s, cfg->mtu);
  gnutls_dtls_set_timeouts(d->s, DTLS_RETRANSMIT_MS, cfg->timeout_ms);
  actr__rtc_live_add(1);
  *out = d;
  return ACTR_OK;
fail:
  if (d->s)
    gnutls_deinit(d->s);
  if (d->cred)
    gnutls_certificate_free_credentials(d->cred);
  g_free(d);
  return actr__fail(ACTR_EDTLS, "DTLS %s: %s", what, gnutls_strerror(grc));
}

static void read_records(actr__dtls_t *d);

static void handshake_step(actr__dtls_t *d) {
  if (d->state != DTLS_HANDSHAKE)
    return;
  int r = gnutls_handshake(d->s);
  if (r == GNUTLS_E_SUCCESS) {
    set_state(d, DTLS_CONNECTED);
    actr__rtc_source_stop(&d->retransmit);
    actr__rtc_source_stop(&d->deadline);
    char *desc = gnutls_session_get_desc(d->s);
    actr__log(ACTR_LOG_INFO, "dtls: connected as %s: %s", d->client ? "client" : "server",
              desc ? desc : "?");
    gnutls_free(desc);
    d->cbs.connected(d->user);
    /* Records that came in the same datagram as the last flight. */
    if (!d->closed && d->in)
      read_records(d);
    return;
  }
  if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(r)) {
    unsigned ms = gnutls_dtls_get_timeout(d->s);
    arm(d, &d->retransmit, ms ? ms : 1, retransmit_cb);
    return;
  }
  if (d->mismatch) {
    gnutls_alert_send(d->s, GNUTLS_AL_FATAL, GNUTLS_A_BAD_CERTIFICATE);
    fail(d, ACTR_EAUTHENTICATION,
         "DTLS: the peer's certificate does not match the fingerprint of its SDP");
    return;
  }
  if (r != GNUTLS_E_TIMEDOUT && r != GNUTLS_E_FATAL_ALERT_RECEIVED)
    gnutls_alert_send_appropriate(d->s, r);
  char why[256];
  if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
    snprintf(why, sizeof why, "DTLS handshake: the peer sent alert '%s'",
             gnutls_alert_get_name(gnutls_alert_get(d->s)));
  else
    snprintf(why, sizeof why, "DTLS handshake: %s", gnutls_strerror(r));
  fail(d, r == GNUTLS_E_TIMEDOUT ? ACTR_ETIMEOUT : ACTR_EDTLS, why);
}

void actr__dtls_start(actr__dtls_t *d) {
  if (d->state != DTLS_NEW)
    return;
  d->state = DTLS_HANDSHAKE;
  arm(d, &d->deadline, d->timeout_ms, deadline_cb);
  if (d->client)
    handshake_step(d); /* ClientHello */
}

/* Records are read with gnutls_record_recv, into a buffer of the reading
 * thread's (one per I/O thread, freed with it; a nested read takes one of
 * its own), not with gnutls_record_recv_packet: GnuTLS 3.7 (and its master
 * of 2026) keeps a ChangeCipherSpec that came twice during the handshake in
 * its record buffer, and recv_packet, finding it where application data
 * was expected, takes it out without freeing it (~16.8 KB lost) and cuts
 * its size off the record behind it (tests/rtc/test_dtls.c).  The copying
 * call drops such a record whole. */
#define RECORD_MAX 16384 /* a record's plaintext at most (2^14, RFC 5246 §6.2.1) */
#define READ_AGAIN_MAX 64 /* each drops a held record or reads the datagram: a few at most */
/* Non-fatal errors in a row (warning alerts, discarded records): each uses
 * up a record of the datagram, and a 64 KiB datagram holds at most ~1600
 * records; more means GnuTLS reads nothing, and the loop must not spin. */
#define READ_NONFATAL_MAX 4096
static GPrivate read_buf = G_PRIVATE_INIT(g_free);
static _Thread_local bool read_buf_busy;

static void read_records(actr__dtls_t *d) {
  uint8_t *buf = read_buf_busy ? NULL : g_private_get(&read_buf);
  bool nested = read_buf_busy;
  if (!buf) {
    buf = g_malloc(RECORD_MAX);
    if (!nested)
      g_private_set(&read_buf, buf);
  }
  read_buf_busy = true;
  unsigned again = 0; /* EAGAINs in a row gone on from: bounded, whatever GnuTLS holds */
  unsigned nonfatal = 0; /* non-fatal errors in a row */
  while (d->state == DTLS_CONNECTED && !d->closed) {
    /* Receiving may send too (a retransmitted final flight of the
     * handshake): not at the same time as a direct sender's record. */
    g_mutex_lock(&d->send_mu);
    ssize_t r = gnutls_record_recv(d->s, buf, RECORD_MAX);
    size_t pending = r < 0 ? gnutls_record_check_pending(d->s) : 0;
    g_mutex_unlock(&d->send_mu);
    if (r > 0) {
      again = nonfatal = 0;
      d->cbs.data(d->user, buf, (size_t)r);
      continue;
    }
    if (r == 0) { /* close_notify */
      set_state(d, DTLS_DONE);
      if (!d->closed)
        d->cbs.closed(d->user);
      break;
    }
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
      /* Said when GnuTLS dropped a record it held of another type (it has
       * not read the datagram being fed yet) or one that came: go on while
       * either is there. */
      if ((pending > 0 || d->in) && ++again < READ_AGAIN_MAX)
        continue;
      break;
    }
    if (!gnutls_error_is_fatal((int)r) && ++nonfatal < READ_NONFATAL_MAX)
      continue; /* a warning alert, a discarded record */
    char why[160];
    if (!gnutls_error_is_fatal((int)r))
      snprintf(why, sizeof why, "DTLS: %u non-fatal errors in a row (the last: %s)", nonfatal,
               gnutls_strerror((int)r));
    else
      snprintf(why, sizeof why, "DTLS: %s", gnutls_strerror((int)r));
    fail(d, ACTR_EDTLS, why);
    break;
  }
  read_buf_busy = nested;
  if (nested)
    g_free(buf);
}

size_t actr__dtls_record_len(const uint8_t *buf, size_t len) {
  /* type (20..63, RFC 7983 §7), version (0xfe: DTLS 1.0 / 1.2), epoch (2),
   * sequence number (6), length (2). */
  if (len < 13 || buf[0] < 20 || buf[0] > 63 || buf[1] != 0xfe)
    return 0;
  size_t n = 13 + ((size_t)buf[11] << 8 | buf[12]);
  return n <= len ? n : 0;
}

static void feed_one(actr__dtls_t *d, const uint8_t *buf, size_t len);

void actr__dtls_feed(actr__dtls_t *d, const uint8_t *buf, size_t len) {
  /* A read of several datagrams (UDP_GRO) is a run of whole records, in
   * the order they were sent; each goes to GnuTLS as the datagram it was.
   * During the handshake GnuTLS takes several records per datagram itself. */
  while (d->state == DTLS_CONNECTED && !d->closed) {
    size_t n = actr__dtls_record_len(buf, len);
    if (n == 0 || n == len)
      break;
    feed_one(d, buf, n);
    buf += n;
    len -= n;
  }
  feed_one(d, buf, len);
}

static void feed_one(actr__dtls_t *d, const uint8_t *buf, size_t len) {
  if (d->closed || d->state == DTLS_DONE || len == 0)
    return;
  /* RFC 7983 §7: DTLS records start with 20..63; anything else is not
   * ours (libnice has already taken the STUN packets). */
  if (buf[0] < 20 || buf[0] > 63)
    return;
  d->in = buf;
  d->in_len = len;
  if (d->state == DTLS_NEW) {
    if (d->client) {
      d->in = NULL; /* nothing can be for a client that has not said hello */
      return;
    }
    actr__dtls_start(d);
  }
  if (d->state == DTLS_HANDSHAKE)
    handshake_step(d);
  else if (d->state == DTLS_CONNECTED)
    read_records(d);
  d->in = NULL;
}

bool actr__dtls_send(actr__dtls_t *d, const void *buf, size_t len) {
  g_mutex_lock(&d->send_mu);
  bool can = !d->closed && d->state == DTLS_CONNECTED;
  ssize_t r = can ? gnutls_record_send(d->s, buf, len) : 0;
  g_mutex_unlock(&d->send_mu);
  if (!can)
    return false;
  if (r < 0) {
    actr__log(ACTR_LOG_DEBUG, "dtls: send of %zu bytes: %s", len, gnutls_strerror((int)r));
    return false;
  }
  return true;
}

void actr__dtls_cork(actr__dtls_t *d) {
  g_mutex_lock(&d->send_mu);
  d->cork++;
  g_mutex_unlock(&d->send_mu);
}

void actr__dtls_uncork(actr__dtls_t *d) {
  g_mutex_lock(&d->send_mu);
  if (d->cork > 0 && --d->cork == 0 && !d->closed)
    flush_locked(d);
  g_mutex_unlock(&d->send_mu);
}

void actr__dtls_flush(actr__dtls_t *d) {
  g_mutex_lock(&d->send_mu);
  if (!d->closed)
    flush_locked(d);
  g_mutex_unlock(&d->send_mu);
}

bool actr__dtls_connected(const actr__dtls_t *d) { return d && d->state == DTLS_CONNECTED; }

void actr__dtls_close(actr__dtls_t *d) {
  if (!d || d->closed)
    return;
  g_mutex_lock(&d->send_mu);
  d->cork = 0;
  if (d->state == DTLS_CONNECTED) {
    flush_locked(d);                  /* what was made goes first */
    gnutls_bye(d->s, GNUTLS_SHUT_WR); /* close_notify, does not wait */
  }
  d->closed = true;
  g_mutex_unlock(&d->send_mu);
  actr__rtc_source_stop(&d->retransmit);
  actr__rtc_source_stop(&d->deadline);
}

void actr__dtls_free(actr__dtls_t *d) {
  if (!d)
    return;
  actr__dtls_close(d);
  gnutls_deinit(d->s);
  gnutls_certificate_free_credentials(d->cred);
  g_mutex_clear(&d->send_mu);
  g_free(d->batch);
  g_free(d);
  actr__rtc_live_add(-1);
}
