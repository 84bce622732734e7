/* sig_client.h — the actrix signaling client of a node (private;
 * docs/actr-realm.md §3): one WebSocket to actrix carrying binary
 * SignalingEnvelope frames, requests answered by reply_for, relays to and
 * from other actors, the protobuf heartbeat, unregister on close, and a
 * supervisor thread that reconnects with backoff when the link drops.
 *
 * Bounded: requests waiting for an answer (max_pending), frames (1 MiB,
 * decoded by the strict decoder).  Callbacks (events) run on the runtime's
 * I/O thread, never under a lock of the client. */
#ifndef ACTR_SIG_CLIENT_H
#define ACTR_SIG_CLIENT_H

#include <stdbool.h>

#include <actr/ais.h>
#include <actr/runtime.h>

#include "actr/signaling.pb-c.h"

typedef struct actr__sig_client actr__sig_client_t;

typedef struct actr__sig_events {
  /* An actr_relay addressed to us (@env transfer none, valid during the
   * call). */
  void (*on_relay)(const Signaling__SignalingEnvelope *env, void *user);
  /* The link to actrix went up (again) or down. */
  void (*on_link)(bool up, void *user);
} actr__sig_events_t;

typedef struct actr__sig_config {
  const char *url;            /* ws:// or wss:// of actrix's signaling endpoint */
  const actr_credential_t *cred; /* copied at creation (see set_credential) */
  bool dialect_03;            /* speak actr 0.3 (default 0.5) */
  bool prefer_answer;         /* webrtc_role=answer in the URL */
  int request_timeout_ms;     /* 0: 5000 (0.5) / 15000 (0.3) */
  unsigned max_pending;       /* 0: 64 */
  int ws_ping_ms;             /* WebSocket ping interval, 0: 5000 (dead after two) */
  const char *ca_file;        /* wss://: PEM CA bundle (NULL: the system store); borrowed */
} actr__sig_config_t;

typedef struct actr__sig_stats {
  uint64_t frames_sent, frames_received, frames_refused; /* refused: undecodable */
  uint64_t pings_sent, pongs_received, heartbeat_errors;
  uint64_t relays_received, relays_sent, replies_unmatched;
  uint64_t reconnects;
  unsigned pending; /* requests waiting for their answer now */
  bool link_up, credential_rejected; /* a 401 came back */
} actr__sig_stats_t;

/* actr__sig_url: the signaling URL with the identity query of actr
 * (actor_id, key_id, claims, signature, form-urlencoded).  g_free it. */
char *actr__sig_url(const char *base, const actr_credential_t *cred, bool prefer_answer);

/* actr__sig_client_new: connect (blocking, bounded by the WebSocket
 * connect timeout) and start the heartbeat.  Not on @rt's I/O thread.
 * Codes of actr_ws_connect (ACTR_EWEBSOCKET when actrix refused the
 * identity: the detail names the HTTP status). */
int actr__sig_client_new(actr_runtime_t *rt, const actr__sig_config_t *cfg,
                         const actr__sig_events_t *events, void *user,
                         actr__sig_client_t **out);

/* actr__sig_client_request: send @req (source and credential are filled
 * in here) and wait for the envelope whose reply_for is its id.  *@reply is
 * transfer full (actr__pb_free).  Any thread but the I/O thread.  Codes:
 * ACTR_ETIMEOUT, ACTR_ERESOURCE_EXHAUSTED (max_pending waiting already),
 * ACTR_ESIGNALING (link down), ACTR_EINVALID_OPERATION (on the I/O
 * thread). */
int actr__sig_client_request(actr__sig_client_t *c, Signaling__ActrToSignaling *req,
                             int timeout_ms, Signaling__SignalingEnvelope **reply);

/* actr__sig_client_relay: send @relay (source and credential filled in
 * here; target and payload set by the caller).  Any thread; never waits
 * (ACTR_EWOULD_BLOCK when the link's queue is full, ACTR_ESIGNALING when the
 * link is down). */
int actr__sig_client_relay(actr__sig_client_t *c, Signaling__ActrRelay *relay);

/* actr__sig_client_discover: RouteCandidatesRequest for @type, at most
 * @max candidates into @out; *@n how many; waits at most @timeout_ms (0:
 * the client's request timeout).  With @ws_urls (nullable, @max
 * rows of @url_size = 256 bytes), each candidate's direct WebSocket
 * address from ws_address_map ("" when none).  Codes of request, and
 * ACTR_ENO_ROUTE when actrix answered with an error. */
int actr__sig_client_discover(actr__sig_client_t *c, const actr_actor_type_t *type, unsigned max,
                              actr_actor_id_t *out, char (*ws_urls)[256], size_t url_size,
                              unsigned *n, int timeout_ms);

/* actr__sig_client_signing_key: GetSigningKeyRequest for @key_id; the
 * 32-byte Ed25519 key into @pub.  Codes of request, ACTR_EPROTOCOL (an
 * answer of another key or size), ACTR_ENO_ROUTE and others of an error
 * answer (actrix: 404 for an unknown key). */
int actr__sig_client_signing_key(actr__sig_client_t *c, uint32_t key_id, uint8_t pub[32]);

void actr__sig_client_stats(actr__sig_client_t *c, actr__sig_stats_t *out);

/* actr__sig_client_set_credential: from now on speak as @cred (copied:
 * a renewed credential, or a new identity after registering again); with
 * @reconnect, or when actrix has rejected the credential in use since the
 * last call (stats' credential_rejected, cleared here), drop the link so
 * that the supervisor connects again with it (the URL carries the
 * identity).  Any thread. */
int actr__sig_client_set_credential(actr__sig_client_t *c, const actr_credential_t *cred,
                                    bool reconnect);

/* actr__sig_client_cancel_requests: every request waiting for its answer
 * ends now with ACTR_ESIGNALING ("... cancelled"), and every request made
 * after it fails so at once, until actr__sig_client_free (which still
 * unregisters): actr_node_free ends its key fetches with it. */
void actr__sig_client_cancel_requests(actr__sig_client_t *c);

/* actr__sig_client_free: unregister (bounded wait), close, stop the
 * supervisor; no event runs after it returns.  Not on the I/O thread. */
void actr__sig_client_free(actr__sig_client_t *c);

#endif
