/* cert.c — certificates and fingerprints for DTLS-SRTP-style authentication
 * (see cert.h). */
#include "cert.h"

#include <glib.h>
#include <gnutls/crypto.h>
#include <string.h>
#include <time.h>

#include <actr/webrtc.h>

#include "error_internal.h"

static int gfail(int grc, const char *what) {
  return actr__fail(ACTR_EDTLS, "%s: %s", what, gnutls_strerror(grc));
}

static void set_fingerprint(actr__cert_t *c) {
  uint8_t der_hash[32];
  size_t n = sizeof der_hash;
  if (gnutls_x509_crt_get_fingerprint(c->crt, GNUTLS_DIG_SHA256, der_hash, &n) == 0 && n == 32)
    actr__sdp_fingerprint_format(der_hash, 32, c->fingerprint);
}

void actr__cert_free(actr__cert_t *c) {
  if (!c)
    return;
  if (c->crt)
    gnutls_x509_crt_deinit(c->crt);
  if (c->key)
    gnutls_x509_privkey_deinit(c->key);
  g_free(c);
}

int actr__cert_generate(actr__cert_t **out) {
  actr__cert_t *c = g_new0(actr__cert_t, 1);
  int grc;
  if ((grc = gnutls_x509_privkey_init(&c->key)) < 0 ||
      (grc = gnutls_x509_privkey_generate(c->key, GNUTLS_PK_ECDSA,
                                          GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0) {
    actr__cert_free(c);
    return gfail(grc, "ECDSA P-256 key");
  }
  uint8_t serial[16];
  gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] &= 0x7f; /* a positive INTEGER */
  time_t now = time(NULL);
  if ((grc = gnutls_x509_crt_init(&c->crt)) < 0 ||
      (grc = gnutls_x509_crt_set_version(c->crt, 3)) < 0 ||
      (grc = gnutls_x509_crt_set_serial(c->crt, serial, sizeof serial)) < 0 ||
      (grc = gnutls_x509_crt_set_activation_time(c->crt, now - 24 * 3600)) < 0 ||
      (grc = gnutls_x509_crt_set_expiration_time(c->crt, now + 30 * 24 * 3600)) < 0 ||
      (grc = gnutls_x509_crt_set_dn_by_oid(c->crt, GNUTLS_OID_X520_COMMON_NAME, 0, "libactr",
                                           7)) < 0 ||
      (grc = gnutls_x509_crt_set_issuer_dn_by_oid(c->crt, GNUTLS_OID_X520_COMMON_NAME, 0, "libactr",
                                                  7)) < 0 ||
      (grc = gnutls_x509_crt_set_key(c->crt, c->key)) < 0 ||
      (grc = gnutls_x509_crt_sign2(c->crt, c->crt, c->key, GNUTLS_DIG_SHA256, 0)) < 0) {
    actr__cert_free(c);
    return gfail(grc, "self-signed certificate");
  }
  set_fingerprint(c);
  *out = c;
  return ACTR_OK;
}

int actr__cert_from_pem(const char *cert_pem, const char *key_pem, actr__cert_t **out) {
  if (!cert_pem || !key_pem)
    return actr__fail(ACTR_ECONFIGURATION, "certificate and private key go together");
  actr__cert_t *c = g_new0(actr__cert_t, 1);
  gnutls_datum_t cd = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
  gnutls_datum_t kd = {(unsigned char *)key_pem, (unsigned)strlen(key_pem)};
  int grc;
  if ((grc = gnutls_x509_crt_init(&c->crt)) < 0 ||
      (grc = gnutls_x509_crt_import(c->crt, &cd, GNUTLS_X509_FMT_PEM)) < 0) {
    actr__cert_free(c);
    return actr__fail(ACTR_ECONFIGURATION, "certificate PEM: %s", gnutls_strerror(grc));
  }
  if ((grc = gnutls_x509_privkey_init(&c->key)) < 0 ||
      (grc = gnutls_x509_privkey_import(c->key, &kd, GNUTLS_X509_FMT_PEM)) < 0) {
    actr__cert_free(c);
    return actr__fail(ACTR_ECONFIGURATION, "private key PEM: %s", gnutls_strerror(grc));
  }
  /* The key must be the certificate's, or the handshake would fail later
   * with a less helpful message. */
  uint8_t a[64], b[64];
  size_t na = sizeof a, nb = sizeof b;
  if (gnutls_x509_crt_get_key_id(c->crt, 0, a, &na) < 0 ||
      gnutls_x509_privkey_get_key_id(c->key, 0, b, &nb) < 0 || na != nb || memcmp(a, b, na)) {
    actr__cert_free(c);
    return actr__fail(ACTR_ECONFIGURATION, "the private key does not belong to the certificate");
  }
  set_fingerprint(c);
  *out = c;
  return ACTR_OK;
}

int actr__cert_to_pem(const actr__cert_t *c, char **cert_pem, char **key_pem) {
  gnutls_datum_t cd = {0}, kd = {0};
  int grc;
  if ((grc = gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_PEM, &cd)) < 0)
    return gfail(grc, "certificate export");
  if ((grc = gnutls_x509_privkey_export2(c->key, GNUTLS_X509_FMT_PEM, &kd)) < 0) {
    gnutls_free(cd.data);
    return gfail(grc, "key export");
  }
  *cert_pem = g_strndup((const char *)cd.data, cd.size);
  *key_pem = g_strndup((const char *)kd.data, kd.size);
  gnutls_free(cd.data);
  gnutls_free(kd.data);
  return ACTR_OK;
}

static gnutls_digest_algorithm_t dig_of(actr__hash_t h) {
  switch (h) {
  case ACTR__HASH_SHA1:
    return GNUTLS_DIG_SHA1;
  case ACTR__HASH_SHA224:
    return GNUTLS_DIG_SHA224;
  case ACTR__HASH_SHA256:
    return GNUTLS_DIG_SHA256;
  case ACTR__HASH_SHA384:
    return GNUTLS_DIG_SHA384;
  case ACTR__HASH_SHA512:
    return GNUTLS_DIG_SHA512;
  default:
    return GNUTLS_DIG_UNKNOWN;
  }
}

bool actr__cert_matches(const gnutls_datum_t *der, const actr__sdp_fingerprint_t *fp, size_t n) {
  /* RFC 8122 §5: use the strongest hash function offered; the certificate
   * must match one of the fingerprints made with it. */
  actr__hash_t best = ACTR__HASH_NONE;
  for (size_t i = 0; i < n; i++)
    if (fp[i].hash > best && dig_of(fp[i].hash) != GNUTLS_DIG_UNKNOWN)
      best = fp[i].hash;
  if (best == ACTR__HASH_NONE)
    return false;
  gnutls_digest_algorithm_t d = dig_of(best);
  uint8_t h[64];
  if (gnutls_hash_fast(d, der->data, der->size, h) < 0)
    return false;
  for (size_t i = 0; i < n; i++)
    /* Fingerprints are public values: a plain comparison is fine. */
    if (fp[i].hash == best && fp[i].len == gnutls_hash_get_len(d) &&
        memcmp(h, fp[i].bytes, fp[i].len) == 0)
      return true;
  return false;
}

/* ---- the public helpers (actr/webrtc.h) ---- */

int actr_webrtc_certificate_generate(char **certificate_pem, char **private_key_pem) {
  if (!certificate_pem || !private_key_pem)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out parameters are required");
  actr__cert_t *c;
  int rc = actr__cert_generate(&c);
  if (rc)
    return rc;
  char *cp, *kp;
  rc = actr__cert_to_pem(c, &cp, &kp);
  actr__cert_free(c);
  if (rc)
    return rc;
  *certificate_pem = strdup(cp);
  *private_key_pem = strdup(kp);
  g_free(cp);
  g_free(kp);
  return ACTR_OK;
}

int actr_webrtc_certificate_fingerprint(const char *certificate_pem, char **fingerprint) {
  if (!certificate_pem || !fingerprint)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "certificate and out are required");
  gnutls_x509_crt_t crt;
  gnutls_datum_t d = {(unsigned char *)certificate_pem, (unsigned)strlen(certificate_pem)};
  if (gnutls_x509_crt_init(&crt) < 0)
    return actr__fail(ACTR_ENO_MEMORY, "certificate");
  uint8_t h[32];
  size_t n = sizeof h;
  int grc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
  if (grc >= 0)
    grc = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, h, &n);
  gnutls_x509_crt_deinit(crt);
  if (grc < 0)
    return actr__fail(ACTR_ECONFIGURATION, "certificate PEM: %s", gnutls_strerror(grc));
  char buf[32 * 3];
  actr__sdp_fingerprint_format(h, 32, buf);
  *fingerprint = strdup(buf);
  return ACTR_OK;
}
