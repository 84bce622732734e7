/** @file
 * actr/ais.h — an identity from AIS, the realm's identity service
 * (docs/actr-realm.md §1): register an actor type in a realm over HTTP and
 * keep what AIS answers (the ActrId, the signed credential, TURN
 * credentials, the signaling heartbeat interval, AIS's signing key).
 *
 * Calls block the calling thread (one HTTP exchange, bounded by the
 * timeout) and run no callback.  A credential is owned by whoever got it;
 * its readers may be called from any thread while nobody renews it. */
#ifndef ACTR_AIS_H
#define ACTR_AIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actr/export.h>
#include <actr/identity.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_ais_options_t: optional settings of actr_ais_register and
 * actr_ais_renew (NULL: all defaults). */
typedef struct actr_ais_options {
  const char *realm_secret; /**< sent as x-actrix-realm-secret; NULL: none */
  const char *ws_address;   /**< where this node takes direct WebSocket peers; NULL: none */
  int timeout_ms;           /**< the whole exchange, TLS included (then ETIMEOUT); 0: 30000 */
} actr_ais_options_t;

/** actr_credential_t: what AIS gave one actor (opaque). */
typedef struct actr_credential actr_credential_t;

/** actr_ais_register: POST {ais_url}/register for @p type in @p realm_id
 * (@p opts may be NULL).  *@p out is (transfer full; free with
 * actr_credential_free).  Codes: ACTR_EURL_PARSE, ACTR_ECONNECTION (AIS not
 * reached, or an HTTP error status), ACTR_ETIMEOUT, ACTR_EPROTOCOL (not the
 * answer AIS gives, or a credential already expired by this machine's
 * clock), ACTR_EAUTHENTICATION / ACTR_EPERMISSION_DENIED (AIS
 * refused: 401 / 403, e.g. a wrong realm secret), ACTR_EINVALID_ARGUMENT
 * (AIS found the request invalid, or @p type is). */
ACTR_API int actr_ais_register(const char *ais_url, const actr_actor_type_t *type,
                               uint32_t realm_id, const actr_ais_options_t *opts,
                               actr_credential_t **out);

/** actr_ais_renew: POST {ais_url}/renew with the renewal token AIS 0.5 gave
 * (actr_credential_can_renew): on ACTR_OK @p cred holds the new credential,
 * for the same ActrId (its earlier content is freed: not with readers of
 * @p cred running on other threads; use actr_ais_renew_new then).  Codes as
 * actr_ais_register, and ACTR_EINVALID_OPERATION when @p cred has no renewal
 * token (AIS 0.3: register again). */
ACTR_API int actr_ais_renew(const char *ais_url, const actr_ais_options_t *opts,
                            actr_credential_t *cred);

/** actr_ais_renew_new: as actr_ais_renew, but the renewed credential is a
 * new one, *@p out (transfer full; free with actr_credential_free), and
 * @p cred is only read: other threads may go on reading it, and the caller
 * swaps in the new one when it suits (actr_node does, under its lock). */
ACTR_API int actr_ais_renew_new(const char *ais_url, const actr_ais_options_t *opts,
                                const actr_credential_t *cred, actr_credential_t **out);

/** @name Readers
 * Readers of a credential (@p cred NULL gives NULL, 0 or false). */
/** @{ */
/** actr_credential_actor_id: the ActrId AIS gave (owned by @p cred). */
ACTR_API const actr_actor_id_t *actr_credential_actor_id(const actr_credential_t *cred);
/** actr_credential_expires_at: Unix seconds after which the credential is
 * refused (from its claims). */
ACTR_API uint64_t actr_credential_expires_at(const actr_credential_t *cred);
/** actr_credential_heartbeat_secs: the signaling heartbeat interval AIS asks
 * for, in seconds. */
ACTR_API uint32_t actr_credential_heartbeat_secs(const actr_credential_t *cred);
/** actr_credential_can_renew: true when AIS gave a renewal token (AIS 0.5),
 * so actr_ais_renew can renew the credential. */
ACTR_API bool actr_credential_can_renew(const actr_credential_t *cred);
/** @} */
/** actr_credential_turn: the TURN username and password (owned by @p cred)
 * and their expiry, for actr_webrtc_config_t's TURN server. */
ACTR_API void actr_credential_turn(const actr_credential_t *cred, const char **username,
                                   const char **password, uint64_t *expires_at);

/** actr_credential_free: NULL is a no-op. */
ACTR_API void actr_credential_free(actr_credential_t *cred);

#ifdef __cplusplus
}
#endif
#endif
