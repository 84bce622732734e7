/** @file
 * actr/node.h — a C program as an actor of an actr realm
 * (docs/actr-realm.md): it registers with AIS, stays reachable through
 * actrix signaling, connects to other actors over WebRTC the way actr nodes
 * do (role negotiation through the relay, offer/answer and trickled
 * candidates, data channels opened by the offerer, one peer connection per
 * remote actor), calls them with RpcEnvelope requests and answers theirs.
 *
 * Transport (docs/actr-realm.md §10).  Each remote actor called gets a
 * destination with its wires: a WebRTC peer connection and, in 0.5, a
 * direct WebSocket (to the address discovery gave, or the one that actor
 * dialled to us).  A call takes the first ready wire of its payload type's
 * route, waits for one when none is (wires are built in the background and
 * rebuilt when they die), and is sent again with the same request id when
 * its wire dies before the answer, as the route allows (not after the node
 * registered again with a new ActrId: the callee knows callers by ActrId);
 * the callee runs a caller's request id once and answers a duplicate with the first reply
 * (64 times at most), and an answer counts only from the actor called.  A WebRTC
 * wire that loses connectivity is restarted in place (ICE restart) before
 * it is rebuilt.  actr_node_call_by_type addresses an actor type: the node
 * finds the actor, and finds it again when it restarts (a new serial).
 *
 * Threads.  actr_node_new, _discover, _call and _free block their caller
 * and must not run on the runtime's I/O thread.  The request handler
 * (actr_node_serve) runs on the runtime's I/O thread: it must not block
 * (it must not call actr_node_call).  A node also runs one control thread of
 * its own (signaling, building and dropping wires and destinations) and the
 * signaling client's supervisor thread; no user code runs on either. */
#ifndef ACTR_NODE_H
#define ACTR_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actr/envelope.h>
#include <actr/export.h>
#include <actr/identity.h>
#include <actr/payload_type.h>
#include <actr/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_node_dialect_t: the actr version whose wire messages the node speaks. */
typedef enum actr_node_dialect {
  ACTR_NODE_DIALECT_05 = 0, /**< actr 0.5 (default): direction, sdp_exchange_id, ufrag */
  ACTR_NODE_DIALECT_03 = 1, /**< actr 0.3: only what 0.3 knows */
} actr_node_dialect_t;

/** actr_node_wire_kind_t: a kind of wire to a remote actor, in a route.
 *
 * The route table: which wires a payload type may take, in which order,
 * and how often a request of that type is sent again when the wire it
 * went out on dies before its answer came.  actr's table: every data type
 * takes the WebRTC data channel first, then the direct WebSocket;
 * RPC_SIGNAL 2 attempts 500 ms apart, RPC_RELIABLE 5 attempts with a
 * backoff doubling from 1 s to 5 s, the stream types one attempt (no
 * retry); MEDIA_RTP no wire. */
typedef enum actr_node_wire_kind {
  ACTR_NODE_WIRE_NONE = 0,      /**< ends the list */
  ACTR_NODE_WIRE_WEBRTC = 1,    /**< the data channel of the type's name */
  ACTR_NODE_WIRE_WEBSOCKET = 2, /**< the direct WebSocket to the actor (0.5) */
} actr_node_wire_kind_t;

/** ACTR_NODE_ROUTE_MAX_WIRES: the most wire kinds one route lists. */
#define ACTR_NODE_ROUTE_MAX_WIRES 2

/** actr_node_route_t: the route of one payload type (see
 * actr_node_wire_kind_t). */
typedef struct actr_node_route {
  actr_node_wire_kind_t wires[ACTR_NODE_ROUTE_MAX_WIRES]; /**< by preference */
  unsigned max_attempts;         /**< sends of one request: 1 = no retry */
  unsigned backoff_initial_ms;   /**< before the second attempt ... */
  unsigned backoff_max_ms;       /**< ... doubling up to this */
} actr_node_route_t;

/** actr_node_route_default: actr's route of @p type into *@p out (MEDIA_RTP
 * and unknown types: no wire, one attempt). */
ACTR_API void actr_node_route_default(actr_payload_type_t type, actr_node_route_t *out);

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
  unsigned max_peers;         /**< remote actors with a transport at once, 0: 64
                                   (when all are there, a half-open one gives its
                                   place: see destinations_evicted; for a call of
                                   ours, else one that only called us: see
                                   callers_evicted) */
  unsigned max_pending_calls; /**< 0: 1024 */
  /** ICE restart in place (actr): when a WebRTC wire that was up loses
   * connectivity (its peer connection DISCONNECTED: no packet for half
   * the dead-peer timeout, or ICE lost its pair), the offering side
   * restarts ICE on the same peer connection — a new offer with new ICE
   * credentials (actr's ICE_RESTART_OFFER), DTLS, SCTP and the lanes kept
   * — again every 6 s while unanswered; the answering side holds its
   * connection for it and asks for one (IceRestartRequest).  Dead-peer
   * detection waits meanwhile.  Not restored within this time, the peer
   * connection fails and the wire is rebuilt whole.  0: 30000 ms; < 0: no
   * restart in place (a lost connection fails at its dead-peer timeout,
   * then is rebuilt). */
  int ice_restart_timeout_ms;
  /** The route of each payload type; a route left all zero takes
   * actr_node_route_default.  A wire kind the node cannot use (WebSocket
   * without an address from discovery) is passed over. */
  actr_node_route_t routes[ACTR_PAYLOAD_TYPE_COUNT];
  /** Direct WebSocket wire (0.5): listen on ws_listen_host:ws_listen_port
   * (0: any free port) for other actors, register that address with AIS
   * (ws://HOST:PORT, discovery hands it out) and check each connecting
   * actor's X-Actr-Source-ID / X-Actr-Credential before the upgrade (key
   * id, Ed25519 signature, expiry, claims = the source): a request that
   * fails is refused with 401 (403 when the claims name another actor).
   * A key id other than our registration's is asked of actrix
   * (GetSigningKeyRequest) and cached: the request that named it is
   * refused (401), the dialler's next attempt passes.
   * NULL: no listener.  Dialling out needs no setting: addresses come from
   * actr_node_discover. */
  const char *ws_listen_host;
  uint16_t ws_listen_port; /**< see ws_listen_host */
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
 * (actr_envelope_error; 0.5 handlers that failed: 10010, no handler: 10001).
 * Travels on RPC_RELIABLE's route (actr_node_config_t.routes).  Codes:
 * ACTR_ETIMEOUT (nothing of the call is left behind; the detail says why no
 * wire was ready, or that the request could not be sent because the callee
 * takes no more -- sending waits within @p timeout_ms too), ACTR_ECONNECTION (every wire the
 * route allows gave up, or the wire died with the request on it and the
 * route allows no more attempts -- or the node registered again since the
 * request first went out, 0.3's new ActrId, under which the callee would
 * run it a second time), ACTR_ERESOURCE_EXHAUSTED (too many calls or
 * destinations). */
ACTR_API int actr_node_call(actr_node_t *node, const actr_actor_id_t *target,
                            const char *route_key, const void *payload, size_t len,
                            int timeout_ms, actr_envelope_t **response);

/** actr_node_call_typed: actr_node_call on the lane and route of @p type
 * (ACTR_PAYLOAD_RPC_RELIABLE or ACTR_PAYLOAD_RPC_SIGNAL, as actr allows for
 * calls; others: ACTR_EINVALID_ARGUMENT).  The reply comes on RPC_RELIABLE
 * (actr).  Same codes, threads and ownership as actr_node_call. */
ACTR_API int actr_node_call_typed(actr_node_t *node, actr_payload_type_t type,
                                  const actr_actor_id_t *target, const char *route_key,
                                  const void *payload, size_t len, int timeout_ms,
                                  actr_envelope_t **response);

/** actr_node_call_by_type: actr_node_call to an actor of @p type, which the
 * node finds and finds again (docs/actr-realm.md §10.9): the first call
 * discovers the type's actors through actrix (actr_node_discover) and binds
 * the type to the newest one (the highest serial); later calls go to it
 * while a wire to it is up, else after checking that actrix still lists
 * it.  When the bound actor's wires die during a call (it stopped, or the
 * network was cut) the node asks actrix again: an actor still listed is
 * called again with the same request id (its duplicate check holds), one
 * no longer listed is replaced by the newest actor of the type (a remote
 * node that restarted: a new serial), which gets the request with the same
 * id; while none is listed the node asks again, backing off from 100 ms to
 * 1 s.  All within @p timeout_ms (> 0).  A request the old actor received
 * but never answered may run again on the new one.  At most 16 types stay
 * bound (the oldest binding is forgotten first).  Codes of actr_node_call,
 * and ACTR_ENO_ROUTE when no actor of @p type was listed in time;
 * ACTR_ESIGNALING without a link to actrix.  Same threads and ownership as
 * actr_node_call. */
ACTR_API int actr_node_call_by_type(actr_node_t *node, const actr_actor_type_t *type,
                                    const char *route_key, const void *payload, size_t len,
                                    int timeout_ms, actr_envelope_t **response);

/** actr_node_tell: a request that is never answered (timeout_ms 0).  Waits
 * for a wire and for room to send it at most connect_timeout_ms in all
 * (ACTR_ETIMEOUT after that); codes of actr_node_call otherwise. */
ACTR_API int actr_node_tell(actr_node_t *node, const actr_actor_id_t *target,
                            const char *route_key, const void *payload, size_t len);

/** actr_node_disconnect: close every wire to @p target and drop its
 * destination (its memory is given back); the next call to it connects
 * again.  A call to @p target under way meanwhile may build a wire again.
 * The other side sees its wires die; it rebuilds only the wires it calls
 * through.  Blocks until done (the node's control thread does it); not on
 * the I/O thread.  Codes: ACTR_EINVALID_ARGUMENT, ACTR_EINVALID_OPERATION. */
ACTR_API int actr_node_disconnect(actr_node_t *node, const actr_actor_id_t *target);

/** actr_node_stats_t: counters since the node started. */
typedef struct actr_node_stats {
  uint64_t calls_sent;          /**< requests sent (calls and tells) */
  uint64_t responses_received;  /**< responses matched to a waiting call */
  uint64_t calls_timed_out;     /**< calls that got no response in time */
  uint64_t requests_received;   /**< requests from other actors */
  uint64_t requests_answered;   /**< responses sent back */
  uint64_t requests_duplicate;  /**< requests dropped for a request id seen before */
  uint64_t requests_dropped;    /**< requests not answered: no handler, or the
                                     response could not be sent (a response the
                                     channel cannot take at once waits for room, in
                                     order, up to 256 responses and 4 MiB per wire;
                                     past that it is dropped, and a retry finds it
                                     kept); and (0.5) envelopes with no direction
                                     that makes them a request or a tell */
  uint64_t peers_connected;     /**< peer connections made (offering or answering) */
  uint64_t relays_dropped;      /**< relays from actrix dropped: the queue full (1024
                                     relays, 16 MiB), or the sending actor's share of
                                     it (128, 4 MiB), or an SDP or candidate over its
                                     bound */
  uint64_t heartbeats_sent;     /**< signaling heartbeats (pings) sent to actrix */
  uint64_t heartbeats_answered; /**< their answers (pongs) received */
  uint64_t signaling_reconnects; /**< the link to actrix came back after a drop */
  uint64_t credential_renewals;  /**< renewed (0.5) or registered again (0.3) */
  bool signaling_up;             /**< the link to actrix is up now */
  /* the transport */
  uint64_t calls_retried;       /**< sent again after their wire died */
  uint64_t calls_not_retried;   /**< their wire died after the node had registered
                                     again (0.3: a new ActrId) since the request first
                                     went out: ended with ACTR_ECONNECTION, not sent
                                     again (the callee would have run it as a new
                                     request) */
  uint64_t wires_up;            /**< wires that became ready, all kinds */
  uint64_t wires_lost;          /**< wires that died, all kinds */
  uint64_t ws_wires_up;         /**< of which direct WebSocket wires (either side) */
  uint64_t ws_refused;          /**< direct WebSocket requests refused by the identity check */
  uint64_t requests_replayed;   /**< duplicates answered with the first reply again */
  uint64_t ice_restarts;        /**< ICE restarts offered: on a live peer connection (each
                                     restart offer), or a new connection offered at an
                                     IceRestartRequest when ours was gone (at most one
                                     every 2 s per destination) */
  uint64_t signing_keys_fetched; /**< AIS keys obtained from actrix (GetSigningKeyRequest) */
  uint64_t signing_key_asks;     /**< GetSigningKeyRequests sent for key ids a direct
                                      WebSocket caller named and we did not know */
  uint64_t signing_key_asks_refused; /**< such ids not asked for: 4 asks under way,
                                          over 4 at once then 1 a second, or over
                                          the caller's address's share, 2 at once
                                          then 1 each 10 s (IPv6: per /64; the
                                          caller got 401) */
  uint64_t targets_rebound;     /**< calls by type that moved to another actor of the type
                                     (actr_node_call_by_type: the bound one was gone) */
  uint64_t destinations_evicted; /**< half-open destinations (another actor's offers or
                                      candidates, never connected, never called by us)
                                      dropped to make room when max_peers were there:
                                      for a call of ours at once, for another actor's
                                      relay once they are 2 s old (10 s with a wire
                                      being built), not for an actor evicted in the
                                      last 10 s */
  uint64_t callers_evicted;     /**< destinations that only ever called us (connected or
                                     not; never called by us, no call of ours holding
                                     them) dropped, wires and all, to make room for a
                                     call of ours when max_peers were there and none
                                     was half-open: the one that called or signalled
                                     least lately.  Our own calls come first; it may
                                     come back when a place is free, not within 10 s */
  uint64_t relays_handled;      /**< relays from actrix taken off the queue and handled */
  uint64_t offers_waited;       /**< offers that would have replaced our peer connection
                                     with their actor, or restarted its ICE in place,
                                     sooner than it may (3 at once, then one each 2 s,
                                     both kinds together): each waited its turn, and a
                                     newer offer of the same actor took the place of
                                     one waiting */
  unsigned destinations;        /**< remote actors with a transport now */
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
