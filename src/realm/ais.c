/* ais.c — registration with AIS (actr/ais.h): RegisterRequest over HTTP,
 * RegisterResponse decoded strictly and kept as the credential. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/ais.h>
#include <actr/error.h>

#include "clock.h"
#include "error_internal.h"
#include "pbwire.h"
#include "realm_http.h"
#include "realm_internal.h"

#define CONTENT_TYPE "application/x-protobuf"
#define MAX_ANSWER (256u * 1024u)
#define DEFAULT_TIMEOUT_MS 30000

struct actr_credential {
  ProtobufCMessage *answer;                  /* RegisterResponse or RenewCredentialResponse */
  Actr__RegisterResponse__RegisterOk *ok;    /* inside answer */
  actr_actor_id_t id;
  uint64_t expires_at;
};

/* refusal: AIS's ErrorResponse as one of our codes. */
static int refusal(const char *what, const Actr__ErrorResponse *e) {
  int code = e->code == 401   ? ACTR_EAUTHENTICATION
             : e->code == 403 ? ACTR_EPERMISSION_DENIED
             : e->code == 400 ? ACTR_EINVALID_ARGUMENT
                              : ACTR_ECONNECTION;
  return actr__fail(code, "AIS %s refused: %u %.200s", what, e->code,
                    e->message ? e->message : "");
}

/* post: one exchange; on ACTR_OK *@answer decoded as @desc. */
static int post(const char *ais_url, const char *path, const actr_ais_options_t *opts,
                const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                ProtobufCMessage **answer) {
  size_t ul = strlen(ais_url);
  while (ul && ais_url[ul - 1] == '/') /* actr trims the endpoint's trailing '/' */
    ul--;
  char *url = malloc(ul + strlen(path) + 1);
  uint8_t *body = NULL, *resp = NULL;
  size_t body_len, resp_len;
  int status;
  if (!url)
    return actr__fail(ACTR_ENO_MEMORY, "AIS URL");
  memcpy(url, ais_url, ul);
  strcpy(url + ul, path);
  char secret[600];
  const char *headers[2] = {NULL, NULL};
  if (opts && opts->realm_secret) {
    if (strlen(opts->realm_secret) > 512 || strpbrk(opts->realm_secret, "\r\n")) {
      free(url);
      return actr__fail(ACTR_EINVALID_ARGUMENT, "realm secret: over 512 bytes or a line break");
    }
    snprintf(secret, sizeof secret, "x-actrix-realm-secret: %s", opts->realm_secret);
    headers[0] = secret;
  }
  int timeout = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
  int rc = actr__pb_encode(req, &body, &body_len);
  if (rc == ACTR_OK)
    rc = actr__http_post(url, headers, CONTENT_TYPE, body, body_len, timeout, MAX_ANSWER, &status,
                         &resp, &resp_len);
  if (rc == ACTR_OK && (status < 200 || status > 299)) {
    int code = status == 401   ? ACTR_EAUTHENTICATION
               : status == 403 ? ACTR_EPERMISSION_DENIED
                               : ACTR_ECONNECTION;
    rc = actr__fail(code, "AIS %s: HTTP status %d", path, status);
  }
  if (rc == ACTR_OK) {
    rc = actr__pb_decode(desc, resp, resp_len, NULL, answer);
    if (rc != ACTR_OK) {
      char why[300]; /* actr__fail writes where actr_err_detail() reads */
      snprintf(why, sizeof why, "%s", actr_err_detail());
      rc = actr__fail(ACTR_EPROTOCOL, "AIS %s: %s", path, why);
    }
  }
  free(url);
  free(body);
  free(resp);
  return rc;
}

/* adopt: check @ok (inside @answer) and make it @cred's content. */
static int adopt(actr_credential_t *cred, ProtobufCMessage *answer,
                 Actr__RegisterResponse__RegisterOk *ok) {
  actr_actor_id_t id;
  int rc = actr__actor_id_from_pb(ok->actr_id, &id);
  if (rc != ACTR_OK)
    return rc;
  Actr__IdentityClaims *claims = NULL;
  rc = actr__pb_decode(&actr__identity_claims__descriptor, ok->credential->claims.data,
                       ok->credential->claims.len, NULL, (ProtobufCMessage **)&claims);
  if (rc != ACTR_OK) {
    char why[300];
    snprintf(why, sizeof why, "%s", actr_err_detail());
    return actr__fail(ACTR_EPROTOCOL, "AIS credential claims: %s", why);
  }
  char want[ACTR_ACTOR_ID_STRING_MAX];
  actr_actor_id_format(&id, want, sizeof want);
  /* The claims name this very actor (the check every verifier makes). */
  if (claims->realm_id != id.realm_id || strcmp(claims->actor_id, want) != 0) {
    rc = actr__fail(ACTR_EPROTOCOL, "AIS credential is for '%.100s', not '%s'", claims->actor_id,
                    want);
    actr__pb_free(&claims->base);
    return rc;
  }
  uint64_t expires = claims->expires_at;
  actr__pb_free(&claims->base);
  /* One already past is refused: kept, a node without a renewal token
   * registered again at every pass of its control loop (a new ActrId each
   * second), and one with a token was refused by actrix at once. */
  uint64_t now = actr__unix_now_s();
  if (expires < now)
    return actr__fail(ACTR_EPROTOCOL, "AIS credential expired %" PRIu64 " s ago (by this "
                      "machine's clock)", now - expires);
  actr__pb_free(cred->answer);
  cred->answer = answer;
  cred->ok = ok;
  cred->id = id;
  cred->expires_at = expires;
  return ACTR_OK;
}

int actr_ais_register(const char *ais_url, const actr_actor_type_t *type, uint32_t realm_id,
                      const actr_ais_options_t *opts, actr_credential_t **out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_ais_register: out is NULL");
  *out = NULL;
  if (!ais_url || !type)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_ais_register: NULL argument");
  char check[ACTR_ACTOR_TYPE_STRING_MAX];
  int rc = actr_actor_type_format(type, check, sizeof check);
  if (rc != ACTR_OK)
    return rc;
  Actr__RegisterRequest req = ACTR__REGISTER_REQUEST__INIT;
  Actr__ActrType t;
  Actr__Realm realm = ACTR__REALM__INIT;
  actr__actor_type_to_pb(type, &t);
  realm.realm_id = realm_id;
  req.actr_type = &t;
  req.realm = &realm;
  req.has_auth_mode = 1;
  req.auth_mode = ACTR__REGISTER_AUTH_MODE__REGISTER_AUTH_MODE_LINKED;
  if (opts && opts->ws_address)
    req.ws_address = (char *)opts->ws_address;
  ProtobufCMessage *answer;
  rc = post(ais_url, "/register", opts, &req.base, &actr__register_response__descriptor, &answer);
  if (rc != ACTR_OK)
    return rc;
  Actr__RegisterResponse *r = (Actr__RegisterResponse *)answer;
  if (r->result_case != ACTR__REGISTER_RESPONSE__RESULT_SUCCESS) {
    rc = r->result_case == ACTR__REGISTER_RESPONSE__RESULT_ERROR
             ? refusal("register", r->error)
             : actr__fail(ACTR_EPROTOCOL, "AIS register: an answer with no result");
    actr__pb_free(answer);
    return rc;
  }
  actr_credential_t *cred = calloc(1, sizeof *cred);
  if (!cred) {
    actr__pb_free(answer);
    return actr__fail(ACTR_ENO_MEMORY, "credential");
  }
  rc = adopt(cred, answer, r->success);
  if (rc != ACTR_OK) {
    actr__pb_free(answer);
    free(cred);
    return rc;
  }
  /* The actor asked for, as renewal checks the ActrId. */
  if (!actr_actor_type_equal(&cred->id.type, type) || cred->id.realm_id != realm_id) {
    char got[ACTR_ACTOR_TYPE_STRING_MAX];
    actr_actor_type_format(&cred->id.type, got, sizeof got);
    rc = actr__fail(ACTR_EPROTOCOL, "AIS registered a '%s' in realm %" PRIu32 ", not the '%s' in "
                    "realm %" PRIu32 " asked for", got, cred->id.realm_id, check, realm_id);
    actr_credential_free(cred);
    return rc;
  }
  *out = cred;
  return ACTR_OK;
}

int actr_ais_renew_new(const char *ais_url, const actr_ais_options_t *opts,
                       const actr_credential_t *cred, actr_credential_t **out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_ais_renew_new: out is NULL");
  *out = NULL;
  if (!ais_url || !cred)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_ais_renew: NULL argument");
  if (!actr_credential_can_renew(cred))
    return actr__fail(ACTR_EINVALID_OPERATION, "AIS gave no renewal token: register again");
  Actr__RenewCredentialRequest req = ACTR__RENEW_CREDENTIAL_REQUEST__INIT;
  actr__actor_id_pb_t id;
  actr__actor_id_to_pb(&cred->id, &id);
  req.actr_id = &id.id;
  req.renewal_token = cred->ok->renewal_token;
  ProtobufCMessage *answer;
  int rc = post(ais_url, "/renew", opts, &req.base, &actr__renew_credential_response__descriptor,
                &answer);
  if (rc != ACTR_OK)
    return rc;
  Actr__RenewCredentialResponse *r = (Actr__RenewCredentialResponse *)answer;
  if (r->result_case != ACTR__RENEW_CREDENTIAL_RESPONSE__RESULT_SUCCESS) {
    rc = r->result_case == ACTR__RENEW_CREDENTIAL_RESPONSE__RESULT_ERROR
             ? refusal("renew", r->error)
             : actr__fail(ACTR_EPROTOCOL, "AIS renew: an answer with no result");
    actr__pb_free(answer);
    return rc;
  }
  actr_actor_id_t before = cred->id;
  actr_actor_id_t got;
  rc = actr__actor_id_from_pb(r->success->actr_id, &got);
  if (rc == ACTR_OK && !actr_actor_id_equal(&got, &before))
    rc = actr__fail(ACTR_EPROTOCOL, "AIS renewed a different ActrId");
  actr_credential_t *fresh = NULL;
  if (rc == ACTR_OK && !(fresh = calloc(1, sizeof *fresh)))
    rc = actr__fail(ACTR_ENO_MEMORY, "credential");
  if (rc == ACTR_OK)
    rc = adopt(fresh, answer, r->success);
  if (rc != ACTR_OK) {
    actr__pb_free(answer);
    free(fresh);
    return rc;
  }
  *out = fresh;
  return ACTR_OK;
}

int actr_ais_renew(const char *ais_url, const actr_ais_options_t *opts, actr_credential_t *cred) {
  actr_credential_t *fresh;
  int rc = actr_ais_renew_new(ais_url, opts, cred, &fresh);
  if (rc != ACTR_OK)
    return rc;
  actr__pb_free(cred->answer); /* the new content moves in; its shell goes */
  *cred = *fresh;
  free(fresh);
  return ACTR_OK;
}

const actr_actor_id_t *actr_credential_actor_id(const actr_credential_t *cred) {
  return cred ? &cred->id : NULL;
}

uint64_t actr_credential_expires_at(const actr_credential_t *cred) {
  return cred ? cred->expires_at : 0;
}

uint32_t actr_credential_heartbeat_secs(const actr_credential_t *cred) {
  return cred ? cred->ok->signaling_heartbeat_interval_secs : 0;
}

bool actr_credential_can_renew(const actr_credential_t *cred) {
  return cred && cred->ok->has_renewal_token && cred->ok->renewal_token.len > 0;
}

void actr_credential_turn(const actr_credential_t *cred, const char **username,
                          const char **password, uint64_t *expires_at) {
  const Actr__TurnCredential *t = cred ? cred->ok->turn_credential : NULL;
  if (username)
    *username = t ? t->username : NULL;
  if (password)
    *password = t ? t->password : NULL;
  if (expires_at)
    *expires_at = t ? t->expires_at : 0;
}

void actr_credential_free(actr_credential_t *cred) {
  if (!cred)
    return;
  actr__pb_free(cred->answer);
  free(cred);
}

const Actr__AIdCredential *actr__credential_pb(const actr_credential_t *cred) {
  return cred->ok->credential;
}

/* The AIS signing key that came with @cred (the key cache of a node that
 * has registered: actr seeds it from RegisterOk).  *@pub is (transfer
 * none); false when AIS sent none. */
bool actr__credential_signing_key(const actr_credential_t *cred, uint32_t *key_id,
                                  const uint8_t **pub, size_t *len) {
  const Actr__RegisterResponse__RegisterOk *ok = cred ? cred->ok : NULL;
  if (!ok || !ok->signing_pubkey.data)
    return false;
  *key_id = ok->signing_key_id;
  *pub = ok->signing_pubkey.data;
  *len = ok->signing_pubkey.len;
  return true;
}
