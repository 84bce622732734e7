/* realm_internal.h — what the realm layer (src/realm: identity, AIS,
 * signaling client, node) shares inside libactr. */
#ifndef ACTR_REALM_INTERNAL_H
#define ACTR_REALM_INTERNAL_H

#include <stdbool.h>

#include <stddef.h>
#include <stdint.h>

#include <actr/ais.h>
#include <actr/identity.h>

#include "actr/actr.pb-c.h"

/* An ActrId as protobuf-c messages that borrow the strings of the
 * actr_actor_id_t it was made from (which must outlive it): no allocation. */
typedef struct actr__actor_id_pb {
  Actr__ActrId id;
  Actr__Realm realm;
  Actr__ActrType type;
} actr__actor_id_pb_t;

void actr__actor_type_to_pb(const actr_actor_type_t *t, Actr__ActrType *pb);
void actr__actor_id_to_pb(const actr_actor_id_t *id, actr__actor_id_pb_t *pb);

/* From a decoded message: ACTR_EPROTOCOL when a name breaks the rules of
 * actr/identity.h. */
int actr__actor_type_from_pb(const Actr__ActrType *pb, actr_actor_type_t *out);
int actr__actor_id_from_pb(const Actr__ActrId *pb, actr_actor_id_t *out);

/* The signed credential inside an actr_credential_t (owned by it). */
struct actr_credential;
const Actr__AIdCredential *actr__credential_pb(const struct actr_credential *cred);

/* Test hook: @len raw bytes on @target's RPC_RELIABLE lane (connecting
 * first), as if they were an encoded envelope. */
struct actr_node;
int actr__node_send_raw(struct actr_node *n, const actr_actor_id_t *target, const void *data,
                        size_t len, int timeout_ms);

/* Test hook: hold the node's control thread (relays then queue up, within
 * their bound) or let it go on.  Holding it waits until everything queued
 * before the call has been handled. */
void actr__node_pause_control(struct actr_node *n, bool paused);

/* The AIS signing key that came with @cred (key id, 32-byte Ed25519 public
 * key, transfer none); false when there is none. */
bool actr__credential_signing_key(const actr_credential_t *cred, uint32_t *key_id,
                                  const uint8_t **pub, size_t *len);

/* ws_gate.c — identity of a direct WebSocket wire.
 * actr__ws_gate_headers: the X-Actr-Source-ID (hex of the encoded ActrId
 * @self) and X-Actr-Credential (base64 of @cred's AIdCredential) values;
 * g_free both.  actr__ws_gate_check: verify them against the AIS key
 * (@key_id, @pub) at Unix time @now: 0 and *@source, or the HTTP status to
 * refuse with (400 malformed, 401 key / signature / expiry, 403 claims of
 * another actor) and a reason in @why.  actr__ws_gate_key_id: the key id
 * the credential names (ACTR_EDESERIALIZATION when it is malformed), to find
 * the key before checking.  actr__ws_gate_source: X-Actr-Source-ID alone
 * into *@source, unverified (0, or 400 and @why): for a request
 * actr__ws_gate_check passed already.  Any thread, no I/O. */
int actr__ws_gate_headers(const actr_actor_id_t *self, const actr_credential_t *cred,
                          char **source_hex, char **credential_b64);
int actr__ws_gate_key_id(const char *credential_b64, uint32_t *key_id);
int actr__ws_gate_source(const char *source_hex, actr_actor_id_t *source, char *why,
                         size_t why_size);
int actr__ws_gate_check(const char *source_hex, const char *credential_b64, uint32_t key_id,
                        const uint8_t *pub, size_t pub_len, uint64_t now,
                        actr_actor_id_t *source, char *why, size_t why_size);

/* Test hook: the next @count replies of @n are not sent; the wire each
 * request came on is torn down instead (as if it died between the
 * handler and the reply). */
void actr__node_drop_replies(struct actr_node *n, unsigned count);

/* Test hook: the control thread treats the credential as rejected by
 * actrix at its next look (at once): 0.5 renews it, 0.3 registers again
 * (a new ActrId); credential_renewals counts it when done. */
void actr__node_register_again(struct actr_node *n);

/* Test hook: tear down @target's WebRTC wire (or, @websocket, the one we
 * dialled), as if it had died. */
int actr__node_kill_wire(struct actr_node *n, const actr_actor_id_t *target, bool websocket);

/* Test hook: forget every AIS signing key the node knows (its own
 * registration's included): the next direct WebSocket is refused and the
 * key asked of actrix (GetSigningKeyRequest). */
void actr__node_forget_keys(struct actr_node *n);

/* Test hook: the node's signaling requests waiting for actrix's answer now
 * (sent, or being sent). */
unsigned actr__node_signaling_pending(struct actr_node *n);

/* Test hook: each job thread of @n sleeps @ms after it has told the node
 * it ended, before it returns: a thread left to end by itself (not joined)
 * is then still there when actr_node_free returns. */
void actr__node_set_job_linger(struct actr_node *n, unsigned ms);
/* Test hook: ignore (true) the ICE restart offers that arrive for a live
 * connection we answered, so that the offerer's restart runs out and it
 * falls back to a new peer connection. */
void actr__node_ignore_restart_offers(struct actr_node *n, bool ignore);
/* Test hook: as the offerer of @target's WebRTC wire, send @count ICE
 * restart offers back to back on the control thread (a peer restarting
 * again and again; actr's offerer waits between attempts). */
void actr__node_restart_burst(struct actr_node *n, const actr_actor_id_t *target,
                              unsigned count);

/* Test hook: the direct WebSocket address discovery gave for @target. */
int actr__node_ws_url(struct actr_node *n, const actr_actor_id_t *target, char *url, size_t size);
/* Test hook: the identity headers the node sends when it dials a direct
 * WebSocket (what every actor it dials receives); g_free both. */
int actr__node_gate_headers(struct actr_node *n, char **source, char **credential);

#endif
