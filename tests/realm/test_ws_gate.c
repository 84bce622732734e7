/* test_ws_gate.c — the identity check of a direct WebSocket wire
 * (src/realm/ws_gate.c) with a key of our own (GnuTLS Ed25519): a
 * credential signed for the source passes; another key id, a signature
 * that does not match, an expired credential, claims of another actor or
 * realm, and malformed headers are refused with the right status; the
 * key id a credential names is read before the key is looked up. */
#include <glib.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>

#include "pbwire.h"
#include "realm_internal.h"

#define NOW 1700000000u

typedef struct key {
  gnutls_privkey_t priv;
  uint8_t pub[32];
} key_t_;

static void key_new(key_t_ *k) {
  g_assert_cmpint(gnutls_privkey_init(&k->priv), ==, 0);
  g_assert_cmpint(gnutls_privkey_generate(k->priv, GNUTLS_PK_EDDSA_ED25519, 256, 0), ==, 0);
  gnutls_pubkey_t pub;
  g_assert_cmpint(gnutls_pubkey_init(&pub), ==, 0);
  g_assert_cmpint(gnutls_pubkey_import_privkey(pub, k->priv, 0, 0), ==, 0);
  gnutls_datum_t x = {0};
  gnutls_ecc_curve_t curve;
  g_assert_cmpint(gnutls_pubkey_export_ecc_raw(pub, &curve, &x, NULL), ==, 0);
  g_assert_cmpuint(x.size, ==, 32);
  memcpy(k->pub, x.data, 32);
  gnutls_free(x.data);
  gnutls_pubkey_deinit(pub);
}

/* headers: X-Actr-Source-ID for @src, X-Actr-Credential signed by @k with
 * claims {realm, actor_id, expires_at}; @flip spoils the signature. */
static void headers(const actr_actor_id_t *src, key_t_ *k, uint32_t key_id, uint32_t realm,
                    const char *actor_id, uint64_t expires_at, bool flip, char **hex, char **b64) {
  Actr__IdentityClaims claims = ACTR__IDENTITY_CLAIMS__INIT;
  claims.realm_id = realm;
  claims.actor_id = (char *)actor_id;
  claims.expires_at = expires_at;
  uint8_t *cl;
  size_t cl_len;
  g_assert_cmpint(actr__pb_encode(&claims.base, &cl, &cl_len), ==, ACTR_OK);
  gnutls_datum_t data = {cl, (unsigned)cl_len}, sig = {0};
  g_assert_cmpint(gnutls_privkey_sign_data(k->priv, GNUTLS_DIG_SHA512, 0, &data, &sig), ==, 0);
  g_assert_cmpuint(sig.size, ==, 64);
  if (flip)
    sig.data[10] ^= 1;
  Actr__AIdCredential c = ACTR__AID_CREDENTIAL__INIT;
  c.key_id = key_id;
  c.claims.data = cl;
  c.claims.len = cl_len;
  c.signature.data = sig.data;
  c.signature.len = sig.size;
  uint8_t *enc;
  size_t enc_len;
  g_assert_cmpint(actr__pb_encode(&c.base, &enc, &enc_len), ==, ACTR_OK);
  *b64 = g_base64_encode(enc, enc_len);
  actr__actor_id_pb_t pb;
  actr__actor_id_to_pb(src, &pb);
  uint8_t *id;
  size_t id_len;
  g_assert_cmpint(actr__pb_encode(&pb.id.base, &id, &id_len), ==, ACTR_OK);
  GString *h = g_string_new(NULL);
  for (size_t i = 0; i < id_len; i++)
    g_string_append_printf(h, "%02X", id[i]); /* upper case is hex too */
  *hex = g_string_free(h, FALSE);
  free(id);
  free(enc);
  free(cl);
  gnutls_free(sig.data);
}

static void test_gate(void) {
  key_t_ k, other;
  key_new(&k);
  key_new(&other);
  actr_actor_id_t src, got;
  g_assert_cmpint(actr_actor_id_parse("1a@3/acme:client:1", &src), ==, ACTR_OK);
  struct {
    const char *what;
    key_t_ *key;
    uint32_t key_id, realm;
    const char *actor;
    uint64_t exp;
    bool flip;
    int status;
  } cases[] = {
      {"valid", &k, 7, 3, "1a@3/acme:client:1", NOW + 60, false, 0},
      {"other key id", &k, 8, 3, "1a@3/acme:client:1", NOW + 60, false, 401},
      {"other key", &other, 7, 3, "1a@3/acme:client:1", NOW + 60, false, 401},
      {"spoilt signature", &k, 7, 3, "1a@3/acme:client:1", NOW + 60, true, 401},
      {"expired", &k, 7, 3, "1a@3/acme:client:1", NOW, false, 401},
      {"another actor", &k, 7, 3, "1b@3/acme:client:1", NOW + 60, false, 403},
      {"another realm", &k, 7, 4, "1a@3/acme:client:1", NOW + 60, false, 403},
  };
  for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *hex, *b64, why[120] = "";
    headers(&src, cases[i].key, cases[i].key_id, cases[i].realm, cases[i].actor, cases[i].exp,
            cases[i].flip, &hex, &b64);
    uint32_t named = 0;
    g_assert_cmpint(actr__ws_gate_key_id(b64, &named), ==, ACTR_OK);
    g_assert_cmpuint(named, ==, cases[i].key_id);
    int st = actr__ws_gate_check(hex, b64, 7, k.pub, 32, NOW, &got, why, sizeof why);
    g_test_message("%s: %d %s", cases[i].what, st, why);
    g_assert_cmpint(st, ==, cases[i].status);
    if (st == 0)
      g_assert_true(actr_actor_id_equal(&got, &src));
    g_free(hex);
    g_free(b64);
  }
  /* Malformed headers. */
  char why[120];
  g_assert_cmpint(actr__ws_gate_check(NULL, "AAAA", 7, k.pub, 32, NOW, &got, why, sizeof why), ==, 401);
  g_assert_cmpint(actr__ws_gate_check("0", "AAAA", 7, k.pub, 32, NOW, &got, why, sizeof why), ==, 400);
  g_assert_cmpint(actr__ws_gate_check("zz", "AAAA", 7, k.pub, 32, NOW, &got, why, sizeof why), ==, 400);
  g_assert_cmpint(actr__ws_gate_check("0a00", "AAAA", 7, k.pub, 32, NOW, &got, why, sizeof why), ==, 400);
  char *hex, *b64;
  headers(&src, &k, 7, 3, "1a@3/acme:client:1", NOW + 60, false, &hex, &b64);
  g_assert_cmpint(actr__ws_gate_check(hex, "A*AA", 7, k.pub, 32, NOW, &got, why, sizeof why), ==, 400);
  g_assert_cmpint(actr__ws_gate_check(hex, "AAAA", 7, k.pub, 32, NOW, &got, why, sizeof why), ==, 400);
  g_assert_cmpint(actr__ws_gate_check(hex, b64, 7, NULL, 0, NOW, &got, why, sizeof why), ==, 401);
  uint32_t kid;
  g_assert_cmpint(actr__ws_gate_key_id("A*AA", &kid), ==, ACTR_EDESERIALIZATION);
  g_assert_cmpint(actr__ws_gate_key_id("AAAA", &kid), ==, ACTR_EDESERIALIZATION);
  g_assert_cmpint(actr__ws_gate_key_id(NULL, &kid), ==, ACTR_EDESERIALIZATION);
  /* The source alone (read again after the check passed). */
  actr_actor_id_t again;
  g_assert_cmpint(actr__ws_gate_source(hex, &again, why, sizeof why), ==, 0);
  g_assert_true(actr_actor_id_equal(&again, &src));
  g_assert_cmpint(actr__ws_gate_source(NULL, &again, why, sizeof why), ==, 400);
  g_assert_cmpint(actr__ws_gate_source("zz", &again, why, sizeof why), ==, 400);
  g_assert_cmpint(actr__ws_gate_source("0a00", &again, NULL, 0), ==, 400);
  g_free(hex);
  g_free(b64);
  gnutls_privkey_deinit(k.priv);
  gnutls_privkey_deinit(other.priv);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/realm/ws-gate/identity", test_gate);
  return g_test_run();
}
