/* dtls.h — DTLS 1.2 (GnuTLS) over a memory transport: datagrams come in
 * from ICE through actr__dtls_feed and go out through the send callback;
 * GnuTLS never touches a socket.  The handshake retransmit timer is a GLib
 * timeout armed from gnutls_dtls_get_timeout after each handshake step (not
 * polled).  The peer's certificate must match the remote SDP's fingerprint
 * (checked inside the handshake, so a mismatch aborts it with an alert).
 * Not: DTLS-SRTP key export (no media), renegotiation, DTLS 1.3.
 * I/O thread only, except actr__dtls_send, _cork and _uncork (direct
 * senders). */
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
  /* send_many: @n datagrams to the peer, in order (a batch collected while
   * corked, actr__dtls_cork); same rules as send.  Called with the
   * session's send lock held, on whichever thread uncorked. */
  void (*send_many)(void *user, const uint8_t *const *bufs, const size_t *lens, size_t n);
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
/* actr__dtls_record_len: the length of the DTLS 1.x record at the start
 * of @buf (its 13-byte header included, RFC 6347 §4.1) when its header is
 * one and the whole record lies within @len; else 0.  Any thread. */
size_t actr__dtls_record_len(const uint8_t *buf, size_t len);
/* actr__dtls_feed: one datagram from the peer, or several coalesced by the
 * kernel (a UDP_GRO read, ice.c): once connected it is taken apart record
 * by record (actr__dtls_record_len); what is not a record ends it.
 * Callbacks run inside. */
void actr__dtls_feed(actr__dtls_t *d, const uint8_t *buf, size_t len);
/* actr__dtls_send: one record of application data; false when not
 * connected or GnuTLS refused it. */
bool actr__dtls_send(actr__dtls_t *d, const void *buf, size_t len);
/* actr__dtls_cork: until the matching actr__dtls_uncork, records of
 * application data are kept in a batch instead of going out one datagram
 * at a time; the last uncork (corks nest, from any thread) hands the batch
 * to send_many in one call, in the order the records were made.  A full
 * batch goes out at once.  Safe from the I/O thread and direct senders. */
void actr__dtls_cork(actr__dtls_t *d);
void actr__dtls_uncork(actr__dtls_t *d);
/* actr__dtls_flush: send what the batch holds now, corked or not. */
void actr__dtls_flush(actr__dtls_t *d);
bool actr__dtls_connected(const actr__dtls_t *d);
/* actr__dtls_close: send close_notify when connected; no callback after.
 * actr__dtls_free may follow at once. */
void actr__dtls_close(actr__dtls_t *d);
void actr__dtls_free(actr__dtls_t *d);

#endif
