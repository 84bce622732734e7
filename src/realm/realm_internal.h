/* realm_internal.h — what the realm layer (src/realm: identity, AIS,
 * signaling client, node) shares inside libactr. */
#ifndef ACTR_REALM_INTERNAL_H
#define ACTR_REALM_INTERNAL_H

#include <stdbool.h>

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
 * their bound) or let it go on. */
void actr__node_pause_control(struct actr_node *n, bool paused);

#endif
