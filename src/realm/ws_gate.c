/* ws_gate.c — the identity of a direct WebSocket wire between two actors
 * (docs/actr-realm.md §2, §1.3; issue 11 point 4): what a dialling node
 * sends (X-Actr-Source-ID = hex of its encoded ActrId, X-Actr-Credential =
 * base64 of its encoded AIdCredential) and what the listening node checks
 * before the upgrade.  Not the wire itself (node.c) and no I/O: pure
 * functions, so the checking half is also a fuzz target (fuzz_ws_gate). */
#include <glib.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>

#include "error_internal.h"
#include "pbwire.h"
#include "realm_internal.h"

#define SOURCE_HEX_MAX 1024 /* an encoded ActrId: names <= 32, version <= 64 bytes */
#define CREDENTIAL_B64_MAX 4096

int actr__ws_gate_headers(const actr_actor_id_t *self, const actr_credential_t *cred,
                          char **source_hex, char **credential_b64) {
  *source_hex = *credential_b64 = NULL;
  actr__actor_id_pb_t pb;
  actr__actor_id_to_pb(self, &pb);
  uint8_t *id = NULL, *cr = NULL;
  size_t id_len, cr_len;
  int rc = actr__pb_encode(&pb.id.base, &id, &id_len);
  if (rc == ACTR_OK)
    rc = actr__pb_encode(&actr__credential_pb(cred)->base, &cr, &cr_len);
  if (rc == ACTR_OK) {
    char *hex = g_malloc(2 * id_len + 1);
    for (size_t i = 0; i < id_len; i++)
      snprintf(hex + 2 * i, 3, "%02x", id[i]);
    *source_hex = hex;
    *credential_b64 = g_base64_encode(cr, cr_len);
  }
  free(id);
  free(cr);
  return rc;
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

static int deny(int status, char *why, size_t size, const char *text) {
  if (why && size)
    snprintf(why, size, "%s", text);
  return status;
}

static bool ed25519_ok(const uint8_t *pub, size_t pub_len, const uint8_t *msg, size_t len,
                       const uint8_t *sig, size_t sig_len) {
  if (pub_len != 32 || sig_len != 64)
    return false;
  gnutls_pubkey_t key;
  if (gnutls_pubkey_init(&key) < 0)
    return false;
  gnutls_datum_t x = {(unsigned char *)pub, 32};
  bool ok = gnutls_pubkey_import_ecc_raw(key, GNUTLS_ECC_CURVE_ED25519, &x, NULL) >= 0;
  gnutls_datum_t data = {(unsigned char *)msg, (unsigned)len};
  gnutls_datum_t s = {(unsigned char *)sig, 64};
  ok = ok && gnutls_pubkey_verify_data2(key, GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &s) >= 0;
  gnutls_pubkey_deinit(key);
  return ok;
}

int actr__ws_gate_key_id(const char *credential_b64, uint32_t *key_id) {
  if (!credential_b64 || strlen(credential_b64) > CREDENTIAL_B64_MAX ||
      strspn(credential_b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
          strlen(credential_b64))
    return actr__fail(ACTR_EDESERIALIZATION, "X-Actr-Credential is not base64");
  gsize cl = 0;
  guchar *cbytes = g_base64_decode(credential_b64, &cl);
  Actr__AIdCredential *cred = NULL;
  int rc = actr__pb_decode(&actr__aid_credential__descriptor, cbytes, cl, NULL,
                           (ProtobufCMessage **)&cred);
  g_free(cbytes);
  if (rc == ACTR_OK) {
    *key_id = cred->key_id;
    actr__pb_free(&cred->base);
  }
  return rc;
}

int actr__ws_gate_source(const char *source_hex, actr_actor_id_t *source, char *why,
                         size_t why_size) {
  size_t hl = source_hex ? strlen(source_hex) : 0;
  if (hl == 0 || hl % 2 || hl > SOURCE_HEX_MAX)
    return deny(400, why, why_size, "malformed X-Actr-Source-ID");
  uint8_t raw[SOURCE_HEX_MAX / 2];
  for (size_t i = 0; i < hl / 2; i++) {
    int hi = hexval(source_hex[2 * i]), lo = hexval(source_hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return deny(400, why, why_size, "X-Actr-Source-ID is not hex");
    raw[i] = (uint8_t)(hi << 4 | lo);
  }
  Actr__ActrId *idpb = NULL;
  if (actr__pb_decode(&actr__actr_id__descriptor, raw, hl / 2, NULL, (ProtobufCMessage **)&idpb) !=
          ACTR_OK ||
      actr__actor_id_from_pb(idpb, source) != ACTR_OK) {
    actr__pb_free(idpb ? &idpb->base : NULL);
    return deny(400, why, why_size, "X-Actr-Source-ID is no ActrId");
  }
  actr__pb_free(&idpb->base);
  return 0;
}

int actr__ws_gate_check(const char *source_hex, const char *credential_b64, uint32_t key_id,
                        const uint8_t *pub, size_t pub_len, uint64_t now,
                        actr_actor_id_t *source, char *why, size_t why_size) {
  if (!source_hex || !credential_b64)
    return deny(401, why, why_size, "no X-Actr-Source-ID / X-Actr-Credential");
  if (strlen(credential_b64) > CREDENTIAL_B64_MAX)
    return deny(400, why, why_size, "malformed identity headers");
  int bad = actr__ws_gate_source(source_hex, source, why, why_size);
  if (bad)
    return bad;
  /* base64: only its alphabet (g_base64_decode skips anything else). */
  if (strspn(credential_b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
      strlen(credential_b64))
    return deny(400, why, why_size, "X-Actr-Credential is not base64");
  gsize cl = 0;
  guchar *cbytes = g_base64_decode(credential_b64, &cl);
  Actr__AIdCredential *cred = NULL;
  int rc = actr__pb_decode(&actr__aid_credential__descriptor, cbytes, cl, NULL,
                           (ProtobufCMessage **)&cred);
  g_free(cbytes);
  if (rc != ACTR_OK)
    return deny(400, why, why_size, "X-Actr-Credential is no AIdCredential");
  int status = 0;
  Actr__IdentityClaims *claims = NULL;
  char self[ACTR_ACTOR_ID_STRING_MAX];
  /* actr's order: key, signature over the raw claims bytes, claims,
   * expiry, realm, actor id (H/wire/websocket/gate.rs). */
  if (!pub || cred->key_id != key_id)
    status = deny(401, why, why_size, "unknown signing key id");
  else if (!ed25519_ok(pub, pub_len, cred->claims.data, cred->claims.len, cred->signature.data,
                       cred->signature.len))
    status = deny(401, why, why_size, "bad credential signature");
  else if (actr__pb_decode(&actr__identity_claims__descriptor, cred->claims.data,
                           cred->claims.len, NULL, (ProtobufCMessage **)&claims) != ACTR_OK)
    status = deny(401, why, why_size, "claims undecodable");
  else if (claims->expires_at <= now)
    status = deny(401, why, why_size, "credential expired");
  else if (claims->realm_id != source->realm_id ||
           actr_actor_id_format(source, self, sizeof self) != ACTR_OK ||
           strcmp(claims->actor_id, self) != 0)
    status = deny(403, why, why_size, "claims name another actor than X-Actr-Source-ID");
  actr__pb_free(claims ? &claims->base : NULL);
  actr__pb_free(&cred->base);
  return status;
}
