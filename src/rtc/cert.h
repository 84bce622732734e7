/* cert.h — the DTLS identity of a peer connection: an X.509 certificate and
 * its private key (GnuTLS), its SHA-256 fingerprint for a=fingerprint, and
 * the check of a peer's certificate against the fingerprints of its SDP
 * (RFC 8122 §5, RFC 8827 §6.5).  Not: any PKI validation — WebRTC
 * certificates are self-signed and authenticated by the SDP alone. */
#ifndef ACTR_RTC_CERT_H
#define ACTR_RTC_CERT_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "sdp.h"

typedef struct actr__cert {
  gnutls_x509_crt_t crt;
  gnutls_x509_privkey_t key;
  char fingerprint[32 * 3]; /* "AB:CD:..." of the DER, SHA-256 */
} actr__cert_t;

/* actr__cert_generate: a fresh ECDSA P-256 key and a self-signed certificate
 * for it (valid from yesterday for 30 days, random serial).  *@out is
 * (transfer full, actr__cert_free).  ACTR_EDTLS on a GnuTLS failure. */
int actr__cert_generate(actr__cert_t **out);

/* actr__cert_from_pem: a certificate and key given as PEM text. */
int actr__cert_from_pem(const char *cert_pem, const char *key_pem, actr__cert_t **out);

/* actr__cert_to_pem: both as PEM text (transfer full, g_free each). */
int actr__cert_to_pem(const actr__cert_t *cert, char **cert_pem, char **key_pem);

void actr__cert_free(actr__cert_t *cert);

/* actr__cert_matches: whether the DER certificate @der matches the @n
 * fingerprints: RFC 8122 §5, the strongest hash function among them is used
 * and one fingerprint made with it must match. */
bool actr__cert_matches(const gnutls_datum_t *der, const actr__sdp_fingerprint_t *fp, size_t n);

#endif
