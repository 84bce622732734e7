/** @file
 * actr/node.h — a C program as an actor of an actr realm
 * (docs/actr-realm.md): it registers with AIS, stays reachable through
 * actrix signaling, connects to other actors over WebRTC the way actr nodes
 * do (role negotiation through the relay, offer/answer and trickled
 * candidates, data channels opened by the offerer, one peer connection per
 * remote actor), calls them with RpcEnvelope requests and answers theirs.
 *
 * Threads.  actr_node_new, _discover, _call and _free block their caller
 * and must not run on the runtime's I/O thread.  The request handler
 * (actr_node_serve) runs on the runtime's I/O thread: it must not block
 * (it must not call actr_node_call).  A node also runs one control thread of
 * its own (signaling and peer set-up) and the signaling client's supervisor
 * thread; no user code runs on either. */
#ifndef ACTR_NODE_H
#define ACTR_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actr/envelope.h>
#include <actr/export.h>
#include <actr/identity.h>
#include <actr/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_node_dialect_t: the actr version whose wire messages the node speaks. */
typedef enum actr_node_dialect {
  ACTR_NODE_DIALECT_05 = 0, /**< actr 0.5 (default): direction, sdp_exchange_id, ufrag */
  ACTR_NODE_DIALECT_03 = 1, /**< actr 0.3: only what 0.3 knows */
} actr_node_dialect_t;

/** actr_node_config_t: settings of a node (actr_node_config_init
 * zeroes it: zero or NULL means the default). */
typedef struct actr_node_config {
  const char *ais_url;        /**< e.g. http://127.0.0.1:8081/ais */
  const char *signaling_url;  /**< e.g. ws://127.0.0.1:8081/signaling/ws, or wss:// */
  const char *ca_file;        /**< wss:// signaling: PEM CA bundle (NULL: the system store) */
  uint32_t realm_id;          /**< the realm to register in */
  actr_actor_type_t type;     /**< what this actor is */
  const char *realm_secret;   /**< NULL: none */
  actr_node_dialect_t dialect; /**< the actr version spoken (0: 0.5) */
  /** ICE: the local addresses to gather on (NULL: every interface). */
  const char *const *ice_addresses;
  size_t ice_address_count;   /**< entries in ice_addresses */
  /** TURN: "turn:HOST[:PORT][?transport=udp|tcp]" of the realm's TURN server
   * (NULL: none); the username and password are those AIS gave with the
   * credential (actr_credential_turn).  relay_only: use relayed candidates
   * only (W3C iceTransportPolicy "relay"). */
  const char *turn_url;
  bool relay_only;            /**< see turn_url */
  int connect_timeout_ms;     /**< a peer connection's set-up, 0: 20000 */
  unsigned max_peers;         /**< 0: 64 */
  unsigned max_pending_calls; /**< 0: 1024 */
} actr_node_config_t;

/** actr_node_config_init: zero @p cfg (defaults everywhere). */
ACTR_API void actr_node_config_init(actr_node_config_t *cfg);

/** actr_node_t: a node of an actr realm (one owner: actr_node_free). */
typedef struct actr_node actr_node_t;

/** actr_node_new: register @p cfg->type with AIS and connect to actrix.
 * Blocks (bounded by the AIS timeout and the WebSocket connect timeout).
 * *@p out is (transfer full, actr_node_free).  Codes of actr_ais_register,
 * of the signaling connect (ACTR_EWEBSOCKET when actrix refused the
 * identity), ACTR_EINVALID_ARGUMENT. */
ACTR_API int actr_node_new(actr_runtime_t *rt, const actr_node_config_t *cfg, actr_node_t **out);

/** actr_node_id: this actor's ActrId (owned by the node, valid until
 * actr_node_free, or until the node has registered again 8 more times).
 * The node keeps its credential alive: renewed before it expires when AIS
 * gave a renewal token (0.5, same ActrId); without one (0.3) it registers
 * again once actrix rejects the credential, and the node then has a new
 * ActrId.  Failed attempts back off from 1 s to 60 s. */
ACTR_API const actr_actor_id_t *actr_node_id(const actr_node_t *node);

/** actr_node_discover: ask actrix for actors of @p type: at most @p max into
 * @p out, *@p n how many (0 is not an error).  Codes: ACTR_ETIMEOUT,
 * ACTR_ESIGNALING (no link to actrix), ACTR_ENO_ROUTE (actrix refused). */
ACTR_API int actr_node_discover(actr_node_t *node, const actr_actor_type_t *type,
                                actr_actor_id_t *out, unsigned max, unsigned *n);

/** actr_node_request_fn: answer one request.  @p request is (transfer none).
 * Set *@p response (transfer full) to the reply — its payload and, if wanted,
 * metadata; the node sets route key, request id, direction and timeout — or
 * leave it NULL to send nothing (0.3 callers then time out; 0.5 callers get
 * an error envelope).  A tell (timeout 0) is never answered in 0.5.  Runs
 * on the runtime's I/O thread. */
typedef void (*actr_node_request_fn)(actr_node_t *node, const actr_actor_id_t *caller,
                                     const actr_envelope_t *request, actr_envelope_t **response,
                                     void *user);

/** actr_node_serve: handle incoming requests with @p fn (NULL: stop; requests
 * that arrive meanwhile are dropped and counted).  Any thread.  A call of
 * the previous handler already under way on the I/O thread may still
 * finish after this returns: keep its @p user alive until actr_node_free. */
ACTR_API int actr_node_serve(actr_node_t *node, actr_node_request_fn fn, void *user);

/** actr_node_call: send a request for @p route_key with @p len bytes of @p payload
 * to @p target (connecting to it first when needed) and wait for its
 * response, at most @p timeout_ms (> 0; also the request's timeout_ms).
 * *@p response is (transfer full): its payload, or an error it carries
 * (actr_envelope_error).  Codes: ACTR_ETIMEOUT (nothing of the call is left
 * behind), connection failures (ACTR_EICE, ACTR_EWEBRTC, ...),
 * ACTR_ERESOURCE_EXHAUSTED (too many calls or peers). */
ACTR_API int actr_node_call(actr_node_t *node, const actr_actor_id_t *target,
                            const char *route_key, const void *payload, size_t len,
                            int timeout_ms, actr_envelope_t **response);

/** actr_node_tell: a request that is never answered (timeout_ms 0). */
ACTR_API int actr_node_tell(actr_node_t *node, const actr_actor_id_t *target,
                            const char *route_key, const void *payload, size_t len);

/** actr_node_stats_t: counters since the node started. */
typedef struct actr_node_stats {
  uint64_t calls_sent;          /**< requests sent (calls and tells) */
  uint64_t responses_received;  /**< responses matched to a waiting call */
  uint64_t calls_timed_out;     /**< calls that got no response in time */
  uint64_t requests_received;   /**< requests from other actors */
  uint64_t requests_answered;   /**< responses sent back */
  uint64_t requests_duplicate;  /**< requests dropped for a request id seen before */
  uint64_t requests_dropped;    /**< requests not answered: no handler, or the
                                     response could not be sent without waiting */
  uint64_t peers_connected;     /**< peer connections that came up */
  uint64_t relays_dropped;      /**< relays from actrix dropped: queue full, or an
                                     SDP or candidate over its bound */
  uint64_t heartbeats_sent;     /**< signaling heartbeats (pings) sent to actrix */
  uint64_t heartbeats_answered; /**< their answers (pongs) received */
  uint64_t signaling_reconnects; /**< the link to actrix came back after a drop */
  uint64_t credential_renewals;  /**< renewed (0.5) or registered again (0.3) */
  bool signaling_up;             /**< the link to actrix is up now */
} actr_node_stats_t;

/** actr_node_stats: copy the node's counters into *@p out.  Any thread. */
ACTR_API int actr_node_stats(actr_node_t *node, actr_node_stats_t *out);

/** actr_node_free: close every peer connection, unregister, disconnect,
 * free.  No handler runs after it returns.  NULL is a no-op. */
ACTR_API void actr_node_free(actr_node_t *node);

#ifdef __cplusplus
}
#endif
#endif
