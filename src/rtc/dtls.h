/* dtls.h — DTLS 1.2 (GnuTLS) over a memory transport: datagrams come in
 * from ICE through actr__dtls_feed and go out through the send callback;
 * GnuTLS never touches a socket.  The handshake retransmit timer is a GLib
 * timeout armed from gnutls_dtls_get_timeout after each handshake step (not
 * polled).  The peer's certificate must match the remote SDP's fingerprint
 * (checked inside the handshake, so a mismatch aborts it with an alert).
 * Not: DTLS-SRTP key export (no media), renegotiation, DTLS 1.3.
 * I/O thread only. */
#ifndef ACTR_RTC_DTLS_H
#define ACTR_RTC_DTLS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cert.h"

typedef struct actr__dtls_cbs {
  /* send: one datagram to the peer (loss is fine: DTLS retransmits). */
  void (*send)(void *user, const void *buf, size_t len);
  void (*connected)(void *user);
  /* data: one decrypted record (transfer none). */
  void (*data)(void *user, const uint8_t *buf, size_t len);
  /* failed: handshake failure or fatal alert; @err is ACTR_EDTLS, or
   * ACTR_EAUTHENTICATION when the certificate does not match the fingerprint,
   * or ACTR_ETIMEOUT.  closed: the peer sent close_notify.  At most one of
   * them is called, once. */
  void (*failed)(void *user, int err, const char *why);
  void (*closed)(void *user);
} actr__dtls_cbs_t;

typedef struct actr__dtls_config {
  bool client;
  const actr__cert_t *cert;
  const actr__sdp_fingerprint_t *remote_fp;
  size_t n_remote_fp;
  unsigned mtu;        /* largest datagram we send */
  unsigned timeout_ms; /* whole handshake */
} actr__dtls_config_t;

typedef struct actr__dtls actr__dtls_t;

int actr__dtls_new(GMainContext *ctx, const actr__dtls_config_t *cfg, const actr__dtls_cbs_t *cbs,
                   void *user, actr__dtls_t **out);
/* actr__dtls_start: ICE can carry datagrams: the client sends ClientHello,
 * both start the handshake deadline. */
void actr__dtls_start(actr__dtls_t *d);
/* actr__dtls_feed: one datagram from the peer.  Callbacks run inside. */
void actr__dtls_feed(actr__dtls_t *d, const uint8_t *buf, size_t len);
/* actr__dtls_send: one record of application data; false when not
 * connected or GnuTLS refused it. */
bool actr__dtls_send(actr__dtls_t *d, const void *buf, size_t len);
bool actr__dtls_connected(const actr__dtls_t *d);
/* actr__dtls_close: send close_notify when connected; no callback after.
 * actr__dtls_free may follow at once. */
void actr__dtls_close(actr__dtls_t *d);
void actr__dtls_free(actr__dtls_t *d);

#endif
