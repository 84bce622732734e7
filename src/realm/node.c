/* node.c — an actr node (actr/node.h): AIS identity, the actrix signaling
 * client, and the transport above the lanes (issue 11): one destination
 * per remote actor (peer_t) with its wires — a WebRTC peer connection set
 * up through the relay, a direct WebSocket dialled to the address discovery
 * gave, one accepted from that actor — RpcEnvelope calls and requests over
 * them, sent again on another wire when the route table allows.
 *
 * Threads and ownership:
 * - The control thread (actr-node) owns destinations and wires: it alone
 *   creates and frees them (actr_webrtc_link_* and actr_ws_connect must not
 *   run on the I/O thread), hands offers, answers and candidates to links,
 *   rebuilds dead wires with backoff and drops destinations that have no
 *   wire and no caller.  It sleeps on its queue until an item or the next
 *   deadline (a backoff, a connect timeout): nothing polls.
 * - Events come from the I/O thread: a link's state (its on_state), a
 *   WebSocket's close (on_closed), relays, accepted WebSockets.  They set a
 *   wire's flags under peer->mu, wake callers (node->cond) and queue work
 *   for the control thread.
 * - Callers (actr_node_call) hold a destination (users, under node->mu) so
 *   it is not dropped under them, wait on node->cond for a ready wire, for
 *   their response, or for the wire they sent on to die.
 * - Lane handlers (the I/O thread) decode envelopes: responses wake their
 *   caller, requests go to the user's handler there, and the reply goes
 *   back on the wire the request came on.
 * Lock order: node->mu before peer->mu. */
#include <gio/gio.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/ais.h>
#include <actr/error.h>
#include <actr/node.h>
#include <actr/signaling.h>
#include <actr/webrtc_link.h>
#include <actr/websocket.h>

#include "addr_key.h"
#include "bounds.h"
#include "clock.h"
#include "error_internal.h"
#include "pbwire.h"
#include "realm_http.h"
#include "realm_internal.h"
#include "route_internal.h"
#include "sig_client.h"
#include "ws_dial.h"

#define NLANES 4 /* RPC_RELIABLE .. STREAM_LATENCY_FIRST; MEDIA_RTP is not a lane */
#define MAX_HELD 64
#define RELAY_QUEUE_MAX 1024
#define DEDUP_IDS 1024
#define DEDUP_BYTES (8u << 20)               /* replies kept for duplicates, in all */
/* One caller's share once the table is full: past it, its new ids take the
 * place of its own oldest, and its replies are kept up to half the bytes. */
#define DEDUP_CALLER_IDS (DEDUP_IDS / 4)
#define DEDUP_CALLER_BYTES (DEDUP_BYTES / 2)
#define ANSWER_WAIT_US (10 * G_USEC_PER_SEC) /* an answerer with no offer offers */
#define RENEGOTIATE_US (5 * G_USEC_PER_SEC)  /* roles asked again when unanswered */
#define HALF_OPEN_EVICT_US (2 * G_USEC_PER_SEC) /* another actor's half-open destination:
                                                   its place may go to a newcomer after this */
#define HALF_OPEN_WIRE_EVICT_US (10 * G_USEC_PER_SEC) /* ... one with a wire being built */
#define EVICTED_IDS 64 /* destinations evicted lately, remembered ... */
#define EVICTED_KEEP_US (10 * G_USEC_PER_SEC) /* ... this long: they make no room for themselves */
#define ROOM_WAIT_US (5 * G_USEC_PER_SEC) /* a call waits this long at most for the
                                             control thread to make room */
#define RELAY_BYTES_MAX (16u << 20)         /* bytes of queued relays */
/* One actor's share of the relay queue: a flood of one (actrix forwards
 * what it sends) must leave room for everyone else's offers. */
#define RELAY_SOURCE_MAX (RELAY_QUEUE_MAX / 8)
#define RELAY_SOURCE_BYTES (RELAY_BYTES_MAX / 4)
#define ENDED_IDS 1024                       /* ids of our calls that ended */
#define REPLAYS_MAX 64                       /* replays of one kept reply (a caller's retries) */
#define OLD_IDS 8                            /* earlier ActrIds kept (actr_node_id pointers) */
#define WIRE_ATTEMPTS 3                      /* a wire's builds before giving up (actr) */
#define WIRE_BACKOFF_MS 1000                 /* ... 1 s doubling to 10 s between them */
#define WIRE_BACKOFF_MAX_MS 10000
#define WS_CONNECT_MS 5000
#define WS_ADDRS_MAX 256                     /* discovered WebSocket addresses kept */
#define WS_URL_MAX 256
#define KEYS_MAX 8 /* AIS signing keys cached (key id -> Ed25519 public key) */
/* Unknown key ids a direct WebSocket caller names are asked of actrix, but a
 * caller picks the ids: at most KEY_ASKS_MAX asks under way at once (so the
 * cache always keeps KEYS_MAX - KEY_ASKS_MAX slots for keys), and at most
 * KEY_ASK_BURST at once then KEY_ASKS_PER_S a second; past that the request
 * is refused (401) without asking. */
#define KEY_ASKS_MAX (KEYS_MAX / 2)
#define KEY_ASK_BURST 4.0
#define KEY_ASKS_PER_S 1.0
/* Within those, each address the requests come from (an IPv4 address, an
 * IPv6 /64) may have asks at most ASKER_BURST at once then one each
 * 1 / ASKER_ASKS_PER_S seconds, so that one address flooding key ids uses up
 * its own share, not everybody's.  ASKERS_MAX addresses are remembered (the
 * least recently seen makes room): more addresses than that are held back by
 * the node's bucket alone. */
#define ASKERS_MAX 64
/* The direct WebSocket listener's handshakes from one address at once (of
 * its 64): a host that opens connections and sends nothing holds 8 places
 * for 10 s, not every one. */
#define WS_HANDSHAKES_PER_ADDRESS 8
#define ASKER_BURST 2.0
#define ASKER_ASKS_PER_S 0.1
#define ICE_RESTART_ATTEMPT_MS 6000 /* an ICE restart offer unanswered this long: another (actr) */
#define ICE_RESTART_GAP_US (2 * G_USEC_PER_SEC) /* offers at least this far apart (actr) */
#define ICE_RESTART_BUDGET_MS 30000 /* default ice_restart_timeout_ms */
/* A peer's offers that replace our peer connection with it (each a new ICE
 * agent, its sockets, gathering; a TURN allocation with TURN): OFFER_BURST
 * at once, then one each ICE_RESTART_GAP_US.  An offer past that waits its
 * turn (the newest replaces it): nothing a genuine peer sends is lost. */
#define OFFER_BURST 3.0
#define OFFERS_PER_S ((double)G_USEC_PER_SEC / ICE_RESTART_GAP_US)
/* dead wires of a destination we called within this long are rebuilt */
#define REBUILD_IDLE_US (60 * G_USEC_PER_SEC)
#define BINDINGS_MAX 16 /* actor types called by type: the actor each is bound to */
#define REDISCOVER_MS 500 /* a lost actor still listed by actrix: asked again after this */

/* bucket_t: a token bucket (bucket_take). */
typedef struct bucket {
  double tokens;
  gint64 us; /* when tokens was last refilled */
} bucket_t;

/* bucket_has / bucket_take: refill @b at @per_s a second up to @burst by
 * @now, then tell whether it holds a whole token / take one. */
static bool bucket_has(bucket_t *b, double burst, double per_s, gint64 now) {
  b->tokens = MIN(burst, b->tokens + (double)(now - b->us) * per_s / G_USEC_PER_SEC);
  b->us = now;
  return b->tokens >= 1.0;
}

static void bucket_take(bucket_t *b) { b->tokens -= 1.0; }

/* The wires of a destination, by slot. */
enum { W_RTC = 0, W_WS_OUT = 1, W_WS_IN = 2, NWIRES = 3 };

typedef struct peer peer_t;

/* wire_t: one connection to a remote actor.  Created and freed by the
 * control thread only; up / dead under peer->mu.  Its callbacks (link
 * state, lane handlers, WebSocket close) get the wire as user pointer and
 * never run after it is stopped. */
typedef struct wire {
  peer_t *p;
  int slot;
  unsigned serial; /* node-unique: a call knows which wire it went out on */
  actr_webrtc_link_t *link;
  actr_ws_conn_t *conn;
  actr_lane_t *lanes[NLANES];
  gint64 started_us;
  int id_gen; /* node->id_gen when it was made: the ActrId its remote end knows us by */
  bool up, dead;
  bool ever_up; /* it worked once: its death starts a new series of builds */
  /* Replies RPC_RELIABLE could not take at once, in order (queued_reply_t *):
   * the runtime's I/O thread only, while the wire's handlers are set. */
  GQueue replies;
  size_t replies_bytes;
} wire_t;

struct peer {
  struct actr_node *node;
  actr_actor_id_t id;
  GMutex mu;
  actr_signaling_t *sig; /* our relay endpoint for this peer */
  wire_t *w[NWIRES];
  /* WebRTC set-up */
  bool offerer, got_offer;
  gint64 negotiated_us; /* when we last asked for roles (0: not asking) */
  gint64 link_started_us;
  gint64 forced_down_us; /* when a role request of the peer last ended a young link of ours */
  char exchange_id[40]; /* the offer's sdp_exchange_id (0.5) */
  char local_ufrag[80];
  GPtrArray *held_out; /* our candidates before our SDP went out (char *) */
  GPtrArray *held_in;  /* theirs before a link exists (char *) */
  /* building wires (control thread; the flags under mu) */
  bool want[NWIRES];      /* a wire of this slot is to be built */
  unsigned attempts[NWIRES]; /* failed builds in a row */
  gint64 retry_at[NWIRES];
  bool gave_up[NWIRES];   /* attempts spent: callers stop waiting for it */
  char ws_url[WS_URL_MAX];
  actr_ws_conn_t *dial;   /* our direct WebSocket being dialed (set and cleared by the
                             control thread, under mu): its outcome comes as an item */
  int dial_id_gen;        /* node->id_gen when it was dialed: the identity it carries */
  char why[200];          /* the last build failure */
  unsigned users;         /* callers holding this destination (node->mu) */
  gint64 created_us;
  bool connected_once;    /* a wire of it came up (under mu): never evicted as half-open */
  gint64 last_call_us;    /* our last call through it: the caller's side rebuilds */
  gint64 touched_us;      /* the last relay about it: kept a while (held candidates) */
  gint64 last_request_us; /* (node->mu) the last request or tell it sent us */
  /* ICE restart in place (offerer; under mu) */
  gint64 lost_us;            /* when a wire of it that was up died last (calls by type) */
  gint64 restart_started_us; /* 0: none under way */
  gint64 restart_attempt_us; /* the last restart offer */
  gint64 asked_rebuild_us;   /* the last new connection offered at an IceRestartRequest */
  bool restart_offer;        /* the next offer endpoint_send relays is a restart offer */
  /* offers that replace our peer connection (control thread; under mu) */
  bucket_t offer_bucket;
  char *offer_waiting;              /* the newest offer past the bucket (NULL: none) */
  char offer_waiting_xid[40];       /* ... its sdp_exchange_id */
  char *restart_waiting;            /* the newest ICE restart offer past the bucket (NULL: none) */
  char restart_waiting_xid[40];     /* ... its sdp_exchange_id */
};

typedef struct call {
  bool used;
  char request_id[40];
  actr_actor_id_t target; /* only its answer counts (another peer may know the id) */
  actr_envelope_t *response;
} call_t;

typedef struct seen {
  char id[40];
  /* The caller (its realm and serial: unique in the realm): request ids
   * are the caller's, another caller's same id is not a duplicate. */
  uint32_t caller_realm;
  uint64_t caller_serial;
  GBytes *reply;    /* the first reply, for duplicates (NULL: none kept) */
  unsigned replays; /* how often sent again: REPLAYS_MAX at most */
  uint64_t seq;     /* when recorded (the node's seen_seq): the oldest goes first */
} seen_t;

typedef struct binding {
  bool set;
  actr_actor_type_t type;
  actr_actor_id_t id;
} binding_t;

typedef struct ws_addr {
  actr_actor_id_t id;
  char url[WS_URL_MAX];
} ws_addr_t;

typedef enum {
  ITEM_RELAY, ITEM_CONNECT, ITEM_WIRE_DEAD, ITEM_WS_ACCEPTED, ITEM_WS_DIALED, ITEM_KILL_WIRE,
  ITEM_DISCONNECT,
  ITEM_FETCH_KEY, ITEM_CRED_DONE, ITEM_ICE_LOST, ITEM_MAKE_ROOM, ITEM_RESTART_BURST, ITEM_NOP,
  ITEM_SYNC, ITEM_STOP
} item_kind_t;
typedef struct item {
  item_kind_t kind;
  GBytes *env;          /* ITEM_RELAY: the encoded envelope */
  int slot;             /* ITEM_WIRE_DEAD, _KILL_WIRE */
  unsigned serial;
  actr_ws_conn_t *conn; /* ITEM_WS_ACCEPTED (transfer full) */
  actr_actor_id_t source; /* the destination; ITEM_RELAY: its sender's serial only */
  uint64_t seq;           /* ITEM_DISCONNECT, ITEM_SYNC; ITEM_RESTART_BURST: how many */
  bool shared;            /* ITEM_RELAY: counted in its sender's share */
  uint32_t key_id;        /* ITEM_FETCH_KEY */
  int rc;                 /* ITEM_WS_DIALED: its outcome (conn: the dial's connection, a
                             reference of the item's, so never another's address) ... */
  char *why;              /* ... and why it failed (g_free); ITEM_CRED_DONE too */
  actr_credential_t *cred; /* ITEM_CRED_DONE: the new credential (transfer full), or NULL */
  bool renewed;            /* ITEM_CRED_DONE: a renewal (else a registration) ... */
  bool rejected;           /* ... asked because actrix rejected the last one */
  uint64_t asked_at;       /* ... when it was asked (Unix seconds) */
} item_t;

typedef struct sign_key {
  uint32_t id;
  uint8_t pub[32];
  bool set, asking;  /* asking: a GetSigningKeyRequest for it is under way */
  gint64 used_us;    /* when it last passed a check (the least recently used goes first) */
} sign_key_t;

/* asker_t: the asks for signing keys of one address (ASKERS_MAX). */
typedef struct asker {
  uint8_t addr[16]; /* IPv4: the first 4 bytes; IPv6: the first 8, then a 6 at the end */
  bool set;
  bucket_t bucket;
} asker_t;

struct actr_node {
  actr_runtime_t *rt;
  actr_node_config_t cfg;
  actr_node_route_t routes[ACTR_PAYLOAD_TYPE_COUNT];
  bool ignore_restart_offers; /* test hook (actr__node_ignore_restart_offers) */
  unsigned job_linger_ms; /* test hook: a job's thread lingers after job_done */
  char *ais_url, *signaling_url, *realm_secret, *turn_url, *ws_host;
  const char **ice; /* copies of cfg.ice_addresses */
  /* The current credential.  Only the control thread replaces it (renewed
   * or registered again) and frees the one it replaced, under cred_mu;
   * other threads (the I/O thread's upgrade check) hold cred_mu while they
   * read it, the control thread reads it without.  A leaf lock. */
  actr_credential_t *cred;
  GMutex cred_mu;
  /* Our ActrIds, the current at ids[id_gen % (OLD_IDS + 1)]: actr_node_id
   * hands out pointers, valid until OLD_IDS more registrations (a renewal
   * keeps it).  id_gen (atomic): registrations since the first, each a new
   * ActrId; a wire records it (wire_t.id_gen). */
  actr_actor_id_t ids[OLD_IDS + 1];
  gint id_gen;
  bool force_register;  /* test hook (actr__node_register_again), under mu */
  unsigned room_answered; /* ITEM_MAKE_ROOM items handled (mu) */
  unsigned room_waiters;  /* calls waiting for one (hold_peer; mu) */
  struct {
    actr_actor_id_t id;
    gint64 at;
  } evicted[EVICTED_IDS]; /* a ring (mu): half-open destinations dropped lately */
  unsigned evicted_next;
  uint64_t cred_since;      /* Unix seconds when the current one was obtained */
  uint64_t cred_retry_at;   /* after a failed renewal: not before (Unix seconds) */
  unsigned cred_backoff_s;
  bool cred_busy;           /* a renewal or registration is under way (control thread) */
  /* Slow work (AIS exchanges, signing-key fetches) runs on threads of its
   * own, each started by the control thread: jobs counts them (mu);
   * ended holds the threads of those that ended, to be joined (mu);
   * actr_node_free cancels stop (ends an AIS exchange under way), waits
   * until none is left and joins every one. */
  unsigned jobs;
  GPtrArray *ended_jobs;
  GCancellable *stop;
  actr__sig_client_t *sig;
  actr_ws_server_t *ws_server;

  GMutex mu;
  GCond cond;
  peer_t **peers;
  unsigned npeers;
  call_t *calls;
  seen_t *seen; /* request ids already handled (a ring) */
  uint64_t seen_seq;
  size_t seen_bytes;
  ws_addr_t *ws_addrs; /* from discovery (a ring) */
  unsigned ws_addrs_next;
  unsigned wire_serial;
  int restart_budget_ms; /* ice_restart_timeout_ms resolved; <= 0: no restart in place */
  unsigned drop_replies; /* test hook */
  uint64_t disconnects_asked, disconnects_done;
  binding_t bindings[BINDINGS_MAX]; /* calls by type (node->mu), a ring */
  unsigned bindings_next;
  sign_key_t keys[KEYS_MAX]; /* the key cache (node->mu) */
  unsigned key_asks;         /* slots asking now (<= KEY_ASKS_MAX) */
  bucket_t key_bucket;       /* asks allowed now (<= KEY_ASK_BURST) */
  asker_t askers[ASKERS_MAX]; /* each address's asks (node->mu) */
  bool keys_forgotten;       /* test hook: not even our registration's key */
  actr_node_request_fn serve_fn;
  void *serve_user;
  actr_node_stats_t st;

  GAsyncQueue *q;
  atomic_int queued;
  atomic_size_t queued_bytes;
  /* Relays queued per sending actor (its serial: relays come from our own
   * realm only): relay_share_t, under mu; an actor with none has no entry. */
  GHashTable *relay_shares;
  /* The request ids of our last ENDED_IDS calls (answered, timed out or
   * failed), a ring and a set of its strings: an envelope with one of them
   * is an answer that came late or twice, dropped, never taken for a
   * request (0.3 answers carry no direction). */
  char (*ended)[40];
  unsigned ended_next;
  GHashTable *ended_set;
  GThread *control;
  bool control_paused, control_parked; /* test hook (actr__node_pause_control), under mu */
  uint64_t sync_next, synced;          /* ITEM_SYNC asked and handled (that hook), under mu */
};

static bool enqueue(actr_node_t *n, item_t *it);
static void relay_dequeued(actr_node_t *n, const item_t *it);

static void wake(actr_node_t *n) {
  g_mutex_lock(&n->mu);
  g_cond_broadcast(&n->cond);
  g_mutex_unlock(&n->mu);
}

/* ---- destinations ---- */

static peer_t *peer_find_locked(actr_node_t *n, const actr_actor_id_t *id) {
  for (unsigned i = 0; i < n->npeers; i++)
    if (actr_actor_id_equal(&n->peers[i]->id, id))
      return n->peers[i];
  return NULL;
}

/* take_out_locked: remove destination @i from the table for eviction,
 * remembered as evicted lately (EVICTED_KEEP_US); wakes a caller waiting
 * for room.  node->mu held; the caller frees it (peer_free). */
static peer_t *take_out_locked(actr_node_t *n, unsigned i) {
  peer_t *p = n->peers[i];
  n->evicted[n->evicted_next].id = p->id;
  n->evicted[n->evicted_next].at = g_get_monotonic_time();
  n->evicted_next = (n->evicted_next + 1) % EVICTED_IDS;
  n->peers[i] = n->peers[--n->npeers];
  n->st.destinations = n->npeers;
  g_cond_broadcast(&n->cond); /* a caller waiting for room (hold_peer) */
  return p;
}

/* evict_half_open_locked: make room for a destination when max_peers are
 * there: take out the oldest one that is half-open -- never called by us,
 * no caller holding it, no wire of it ever up (what another actor's offers
 * and candidates alone create) -- and at least @min_age_us old (when not
 * 0, at least HALF_OPEN_WIRE_EVICT_US for one with a wire being built),
 * one with no wire at all before one with a wire; NULL when none is.  Without it, actors that trickle a candidate every few seconds
 * and never connect held every place: our calls failed and no other actor
 * got in.  The control thread only (it alone frees destinations), node->mu
 * held; the caller frees what it gets (peer_free) after letting node->mu
 * go, as its wires may be stopping. */
static void peer_free(peer_t *p);
static peer_t *evict_half_open_locked(actr_node_t *n, gint64 min_age_us) {
  if (n->npeers < n->cfg.max_peers)
    return NULL;
  gint64 now = g_get_monotonic_time();
  unsigned victim = n->npeers;
  bool victim_bare = false;
  for (unsigned i = 0; i < n->npeers; i++) {
    peer_t *p = n->peers[i];
    g_mutex_lock(&p->mu);
    /* Bare: no wire even being built (candidates alone).  Bare ones go
     * first, and one with a wire being built is old enough only after
     * HALF_OPEN_WIRE_EVICT_US, so that candidates trickled again and again
     * take each other's place, not that of a negotiation under way. */
    bool bare = !p->w[W_RTC] && !p->w[W_WS_OUT] && !p->dial && !p->w[W_WS_IN];
    gint64 age = bare || !min_age_us ? min_age_us : MAX(min_age_us, HALF_OPEN_WIRE_EVICT_US);
    bool half_open = !p->users && !p->last_call_us && !p->connected_once &&
                     now - p->created_us >= age;
    g_mutex_unlock(&p->mu);
    if (!half_open)
      continue;
    bool better = victim == n->npeers || (bare && !victim_bare) ||
                  (bare == victim_bare && p->created_us < n->peers[victim]->created_us);
    if (better) {
      victim = i;
      victim_bare = bare;
    }
  }
  if (victim == n->npeers)
    return NULL;
  n->st.destinations_evicted++;
  return take_out_locked(n, victim);
}

/* evict_caller_locked: make room for a call of ours when max_peers are
 * there and none is half-open: take out the destination that only ever
 * called us (never called by us, no caller of ours holding it) and did so
 * least lately (its last request, relay or creation), connected or not.
 * Without it, actors that connect and hold their wires (a direct WebSocket
 * each, or a peer connection) held every place, and each of our calls to
 * anyone else failed with RESOURCE_EXHAUSTED: our own calls come first.
 * It loses its wires; it may connect again when a place is free (not for
 * EVICTED_KEEP_US).  NULL when every destination is one we call.  The
 * control thread only, node->mu held; the caller frees what it gets. */
static peer_t *evict_caller_locked(actr_node_t *n) {
  if (n->npeers < n->cfg.max_peers)
    return NULL;
  unsigned victim = n->npeers;
  gint64 victim_active = 0;
  for (unsigned i = 0; i < n->npeers; i++) {
    peer_t *p = n->peers[i];
    g_mutex_lock(&p->mu);
    bool ours = p->users || p->last_call_us;
    gint64 active = MAX(p->created_us, MAX(p->touched_us, p->last_request_us));
    g_mutex_unlock(&p->mu);
    if (!ours && (victim == n->npeers || active < victim_active)) {
      victim = i;
      victim_active = active;
    }
  }
  if (victim == n->npeers)
    return NULL;
  ACTR__LOG_PEER(ACTR_LOG_INFO, "node: %u destinations: one that only called us (idle %lld ms) "
                 "gives its place to a call of ours", n->cfg.max_peers,
                 (long long)((g_get_monotonic_time() - victim_active) / 1000));
  n->st.callers_evicted++;
  return take_out_locked(n, victim);
}

/* peer_get_locked: the destination of @id, created on first use; NULL when
 * max_peers are there already. */
static peer_t *peer_get_locked(actr_node_t *n, const actr_actor_id_t *id) {
  peer_t *p = peer_find_locked(n, id);
  if (!p && n->npeers < n->cfg.max_peers) {
    p = calloc(1, sizeof *p);
    if (p) {
      p->node = n;
      p->id = *id;
      p->created_us = g_get_monotonic_time();
      g_mutex_init(&p->mu);
      p->held_out = g_ptr_array_new_with_free_func(g_free);
      p->held_in = g_ptr_array_new_with_free_func(g_free);
      for (unsigned i = 0; i < WS_ADDRS_MAX; i++)
        if (n->ws_addrs[i].url[0] && actr_actor_id_equal(&n->ws_addrs[i].id, id))
          snprintf(p->ws_url, sizeof p->ws_url, "%s", n->ws_addrs[i].url);
      n->peers[n->npeers++] = p;
      n->st.destinations = n->npeers;
    }
  }
  if (!p)
    actr__fail(ACTR_ERESOURCE_EXHAUSTED, "node: %u destinations already", n->cfg.max_peers);
  return p;
}

/* evicted_lately_locked: @id's half-open destination was evicted less
 * than EVICTED_KEEP_US ago. */
static bool evicted_lately_locked(actr_node_t *n, const actr_actor_id_t *id) {
  gint64 now = g_get_monotonic_time();
  for (unsigned i = 0; i < EVICTED_IDS; i++)
    if (n->evicted[i].at && now - n->evicted[i].at < EVICTED_KEEP_US &&
        actr_actor_id_equal(&n->evicted[i].id, id))
      return true;
  return false;
}

/* peer_get: peer_get_locked for another actor's relay or connection (the
 * control thread): it may take the place of a half-open destination
 * HALF_OPEN_EVICT_US old, not of a younger one (a negotiation under way).
 * An actor whose half-open destination was evicted lately gets none, not
 * even a free place: one that trickles candidates and never connects would
 * otherwise take back a place at each trickle, ahead of any newcomer, and
 * the place a call of ours had made (hold_peer) before it could take it. */
static peer_t *peer_get(actr_node_t *n, const actr_actor_id_t *id) {
  g_mutex_lock(&n->mu);
  peer_t *p = NULL, *gone = NULL;
  bool known = peer_find_locked(n, id) != NULL;
  if (known || !evicted_lately_locked(n, id)) {
    if (!known)
      gone = evict_half_open_locked(n, HALF_OPEN_EVICT_US);
    p = peer_get_locked(n, id);
  }
  g_mutex_unlock(&n->mu);
  if (gone)
    peer_free(gone);
  return p;
}

/* ---- the relay endpoint of one peer (actr/signaling.h ops) ---- */

static void ufrag_of(const char *sdp, char *out, size_t size) {
  const char *u = sdp ? strstr(sdp, "a=ice-ufrag:") : NULL;
  out[0] = '\0';
  if (u) {
    u += strlen("a=ice-ufrag:");
    size_t l = strcspn(u, "\r\n");
    if (l < size) {
      memcpy(out, u, l);
      out[l] = '\0';
    }
  }
}

static int relay_candidate(peer_t *p, const char *cand, const char *ufrag) {
  actr__actor_id_pb_t target;
  actr__actor_id_to_pb(&p->id, &target);
  Webrtc__IceCandidate c = WEBRTC__ICE_CANDIDATE__INIT;
  c.candidate = (char *)cand;
  c.has_sdp_mline_index = 1; /* 0.5.4's shape: mline 0, no mid, the ufrag */
  c.sdp_mline_index = 0;
  c.username_fragment = (char *)ufrag;
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  r.target = &target.id;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE;
  r.ice_candidate = &c;
  return actr__sig_client_relay(p->node->sig, &r);
}

static int endpoint_send(void *impl, const actr_signaling_msg_t *m) {
  peer_t *p = impl;
  actr_node_t *n = p->node;
  bool v05 = n->cfg.dialect == ACTR_NODE_DIALECT_05;
  if (m->kind == ACTR_SIGNALING_CANDIDATE) {
    g_mutex_lock(&p->mu);
    if (!p->local_ufrag[0]) { /* before our SDP: hold it (bounded) */
      if (p->held_out->len < MAX_HELD)
        g_ptr_array_add(p->held_out, g_strdup(m->candidate));
      g_mutex_unlock(&p->mu);
      return ACTR_OK;
    }
    char ufrag[80];
    memcpy(ufrag, p->local_ufrag, sizeof ufrag);
    g_mutex_unlock(&p->mu);
    return relay_candidate(p, m->candidate, ufrag);
  }
  if (m->kind != ACTR_SIGNALING_OFFER && m->kind != ACTR_SIGNALING_ANSWER)
    return ACTR_OK; /* actr signals neither end-of-candidates nor errors */
  actr__actor_id_pb_t target;
  actr__actor_id_to_pb(&p->id, &target);
  Webrtc__SessionDescription sd = WEBRTC__SESSION_DESCRIPTION__INIT;
  sd.type = m->kind == ACTR_SIGNALING_OFFER ? WEBRTC__SESSION_DESCRIPTION__TYPE__OFFER
                                         : WEBRTC__SESSION_DESCRIPTION__TYPE__ANSWER;
  sd.sdp = m->sdp;
  g_mutex_lock(&p->mu);
  if (m->kind == ACTR_SIGNALING_OFFER && p->restart_offer) /* actr's ICE_RESTART_OFFER */
    sd.type = WEBRTC__SESSION_DESCRIPTION__TYPE__ICE_RESTART_OFFER;
  p->restart_offer = false;
  if (m->kind == ACTR_SIGNALING_OFFER) {
    char *u = g_uuid_string_random();
    snprintf(p->exchange_id, sizeof p->exchange_id, "%s", u);
    g_free(u);
  }
  char exchange[40];
  memcpy(exchange, p->exchange_id, sizeof exchange);
  ufrag_of(m->sdp, p->local_ufrag, sizeof p->local_ufrag);
  GPtrArray *held = p->held_out;
  p->held_out = g_ptr_array_new_with_free_func(g_free);
  char ufrag[80];
  memcpy(ufrag, p->local_ufrag, sizeof ufrag);
  g_mutex_unlock(&p->mu);
  if (v05 && exchange[0]) /* 0.5 ignores descriptions without it; 0.3 does not know it */
    sd.sdp_exchange_id = exchange;
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  r.target = &target.id;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION;
  r.session_description = &sd;
  int rc = actr__sig_client_relay(n->sig, &r);
  for (guint i = 0; rc == ACTR_OK && i < held->len; i++)
    relay_candidate(p, g_ptr_array_index(held, i), ufrag);
  g_ptr_array_unref(held);
  return rc;
}

static void endpoint_close(void *impl) { (void)impl; }
static void endpoint_free(void *impl) { (void)impl; /* the peer owns itself */ }

static const actr_signaling_ops_t endpoint_ops = {endpoint_send, endpoint_close, endpoint_free};

/* ---- wires: events (the I/O thread, or a thread delivering signaling) ---- */

static void wire_event(wire_t *w, bool up, bool dead) {
  peer_t *p = w->p;
  actr_node_t *n = p->node;
  bool became_up = false, died = false;
  g_mutex_lock(&p->mu);
  if (!w->dead) {
    if (dead) {
      died = true;
      w->dead = true;
      w->up = false;
    } else if (up != w->up) {
      became_up = up && !w->ever_up;
      w->up = up;
      w->ever_up = w->ever_up || up;
    }
  }
  if (became_up) { /* a wire of this kind works: its build series starts over */
    p->connected_once = true;
    if (w->slot == W_RTC)
      p->asked_rebuild_us = 0; /* the next IceRestartRequest is about this one */
    p->attempts[w->slot] = 0;
    p->gave_up[w->slot] = false;
    p->want[w->slot] = false;
  }
  g_mutex_unlock(&p->mu);
  g_mutex_lock(&n->mu);
  if (became_up) {
    n->st.wires_up++;
    if (w->slot != W_RTC)
      n->st.ws_wires_up++;
  }
  if (died)
    n->st.wires_lost++;
  g_cond_broadcast(&n->cond); /* callers waiting for a wire, or on the one that died */
  g_mutex_unlock(&n->mu);
  if (died) {
    item_t *it = g_new0(item_t, 1);
    it->kind = ITEM_WIRE_DEAD;
    it->source = p->id;
    it->slot = w->slot;
    it->serial = w->serial;
    enqueue(n, it);
  }
}

static void rtc_on_state(actr_webrtc_pc_t *pc, actr_webrtc_pc_state_t state, int err, void *user) {
  (void)pc;
  wire_t *w = user;
  if (state == ACTR_WEBRTC_PC_FAILED || state == ACTR_WEBRTC_PC_CLOSED) {
    g_mutex_lock(&w->p->mu);
    snprintf(w->p->why, sizeof w->p->why, "WebRTC wire %s (%s)",
             state == ACTR_WEBRTC_PC_FAILED ? "failed" : "closed", actr_err_name(err));
    g_mutex_unlock(&w->p->mu);
    wire_event(w, false, true);
    return;
  }
  bool lost = false;
  g_mutex_lock(&w->p->mu);
  if (state == ACTR_WEBRTC_PC_CONNECTED) /* a restart under way (if any) worked */
    w->p->restart_started_us = 0;
  lost = state == ACTR_WEBRTC_PC_DISCONNECTED && w->ever_up && !w->dead;
  g_mutex_unlock(&w->p->mu);
  wire_event(w, state == ACTR_WEBRTC_PC_CONNECTED, false);
  if (lost) { /* connectivity lost: the control thread restarts ICE */
    item_t *it = g_new0(item_t, 1);
    it->kind = ITEM_ICE_LOST;
    it->source = w->p->id;
    it->slot = W_RTC;
    it->serial = w->serial;
    enqueue(w->p->node, it);
  }
}

static void ws_on_closed(actr_ws_conn_t *conn, void *user) {
  (void)conn;
  wire_t *w = user;
  g_mutex_lock(&w->p->mu);
  snprintf(w->p->why, sizeof w->p->why, "WebSocket wire closed");
  g_mutex_unlock(&w->p->mu);
  wire_event(w, false, true);
}

/* ---- envelopes on the lanes (the runtime's I/O thread) ---- */

/* A wire's replies waiting for room: at most this many, and bytes.  Past
 * them a reply is dropped (counted in requests_dropped); the caller's retry
 * after its wire died gets it from the kept replies. */
#define REPLIES_QUEUED_MAX 256
#define REPLIES_QUEUED_BYTES ((size_t)4 << 20)

static void count_replies(actr_node_t *n, unsigned sent, unsigned dropped) {
  if (!sent && !dropped)
    return;
  g_mutex_lock(&n->mu);
  n->st.requests_answered += sent;
  n->st.requests_dropped += dropped;
  g_mutex_unlock(&n->mu);
}

/* A queued reply; @counted: in requests_answered / requests_dropped (a
 * duplicate's reply sent again is not). */
typedef struct queued_reply {
  GBytes *bytes;
  bool counted;
} queued_reply_t;

static void queued_reply_free(queued_reply_t *q) {
  g_bytes_unref(q->bytes);
  g_free(q);
}

/* send_reply: @reply on the RPC_RELIABLE lane of the wire the request came
 * on (actr: replies on RPC_RELIABLE; 0.5: back on the WebSocket a request
 * came over).  On the I/O thread a send never waits: a reply the lane
 * cannot take now, or while earlier ones wait, waits in the wire's queue
 * (bounded) and goes from the lane's writable handler (on_reply_writable).
 * With @counted, counts it answered or dropped (when it goes, if queued). */
static void send_reply(wire_t *w, GBytes *reply, bool counted) {
  peer_t *p = w->p;
  gsize len;
  const void *bytes = g_bytes_get_data(reply, &len);
  g_mutex_lock(&p->mu);
  actr_lane_t *lane = w->lanes[ACTR_PAYLOAD_RPC_RELIABLE] && !w->dead
                          ? actr_lane_ref(w->lanes[ACTR_PAYLOAD_RPC_RELIABLE]) : NULL;
  g_mutex_unlock(&p->mu);
  int rc = !lane                           ? ACTR_EDATA_CHANNEL_NOT_OPEN
           : g_queue_is_empty(&w->replies) ? actr_lane_send(lane, bytes, len)
                                           : ACTR_EWOULD_BLOCK;
  if (lane)
    actr_lane_unref(lane);
  if (rc == ACTR_EWOULD_BLOCK && w->replies.length < REPLIES_QUEUED_MAX &&
      w->replies_bytes + len <= REPLIES_QUEUED_BYTES) {
    queued_reply_t *q = g_new(queued_reply_t, 1);
    q->bytes = g_bytes_ref(reply);
    q->counted = counted;
    g_queue_push_tail(&w->replies, q);
    w->replies_bytes += len;
    return;
  }
  if (counted)
    count_replies(p->node, rc == ACTR_OK, rc != ACTR_OK);
}

/* on_reply_writable: RPC_RELIABLE takes messages again: the queued replies,
 * in order, until it is full again (then this runs again when it has
 * room). */
static void on_reply_writable(actr_lane_t *lane, void *user) {
  wire_t *w = user;
  unsigned sent = 0, dropped = 0;
  queued_reply_t *q;
  while ((q = g_queue_peek_head(&w->replies))) {
    gsize len;
    const void *bytes = g_bytes_get_data(q->bytes, &len);
    int rc = actr_lane_send(lane, bytes, len);
    if (rc == ACTR_EWOULD_BLOCK)
      break;
    g_queue_pop_head(&w->replies);
    w->replies_bytes -= len;
    if (q->counted && rc == ACTR_OK)
      sent++;
    else if (q->counted)
      dropped++;
    queued_reply_free(q);
  }
  count_replies(w->p->node, sent, dropped);
}

static void on_lane_message(actr_lane_t *lane, actr_msg_t *msg, void *user);

/* lane_bind: @w's handlers on @lane of @type (unbind: @w NULL). */
static void lane_bind(actr_lane_t *lane, int type, wire_t *w) {
  actr_lane_set_handler(lane, w ? on_lane_message : NULL, w);
  if (type == ACTR_PAYLOAD_RPC_RELIABLE)
    actr_lane_set_writable_handler(lane, w ? on_reply_writable : NULL, w);
}

static void kill_wire_later(wire_t *w) {
  item_t *it = g_new0(item_t, 1);
  it->kind = ITEM_KILL_WIRE;
  it->source = w->p->id;
  it->slot = w->slot;
  it->serial = w->serial;
  enqueue(w->p->node, it);
}

static bool seen_from(const seen_t *s, const actr_actor_id_t *caller) {
  return s->caller_realm == caller->realm_id && s->caller_serial == caller->serial;
}

/* seen_locked: the dedup entry of @id from @caller, or NULL after
 * recording it as new: in a free place, else in that of @caller's own
 * oldest when it holds its share (DEDUP_CALLER_IDS) already, else in the
 * oldest one's.  So a caller that sends many ids (a hostile one, or a
 * flood) pushes out its own, never more than 3/4 of everyone else's: the
 * others' retries still find their first replies. */
static seen_t *seen_locked(actr_node_t *n, const actr_actor_id_t *caller, const char *id) {
  seen_t *free_at = NULL, *oldest = NULL, *own_oldest = NULL;
  unsigned own = 0;
  for (unsigned i = 0; i < DEDUP_IDS; i++) {
    seen_t *e = &n->seen[i];
    if (!e->id[0]) {
      free_at = free_at ? free_at : e;
      continue;
    }
    if (seen_from(e, caller)) {
      if (strcmp(e->id, id) == 0)
        return e;
      own++;
      if (!own_oldest || e->seq < own_oldest->seq)
        own_oldest = e;
    }
    if (!oldest || e->seq < oldest->seq)
      oldest = e;
  }
  seen_t *s = free_at ? free_at : own >= DEDUP_CALLER_IDS ? own_oldest : oldest;
  if (s->reply) {
    n->seen_bytes -= g_bytes_get_size(s->reply);
    g_bytes_unref(s->reply);
    s->reply = NULL;
  }
  snprintf(s->id, sizeof s->id, "%s", id);
  s->caller_realm = caller->realm_id;
  s->caller_serial = caller->serial;
  s->replays = 0;
  s->seq = ++n->seen_seq;
  return NULL;
}

/* ended_add_locked: remember @rid as a call of ours that ended. */
static void ended_add_locked(actr_node_t *n, const char *rid) {
  if (g_hash_table_contains(n->ended_set, rid))
    return; /* one id for several actors (by type): once */
  char *slot = n->ended[n->ended_next];
  n->ended_next = (n->ended_next + 1) % ENDED_IDS;
  if (slot[0])
    g_hash_table_remove(n->ended_set, slot);
  snprintf(slot, sizeof n->ended[0], "%s", rid);
  g_hash_table_add(n->ended_set, slot);
}

static void keep_reply_locked(actr_node_t *n, const actr_actor_id_t *caller, const char *id,
                              GBytes *reply) {
  size_t len = g_bytes_get_size(reply), own_bytes = 0;
  if (n->seen_bytes + len > DEDUP_BYTES)
    return; /* over the bound: a duplicate of this one is dropped without a reply */
  seen_t *e = NULL;
  for (unsigned i = 0; i < DEDUP_IDS; i++)
    if (seen_from(&n->seen[i], caller) && n->seen[i].id[0]) {
      if (n->seen[i].reply)
        own_bytes += g_bytes_get_size(n->seen[i].reply);
      else if (strcmp(n->seen[i].id, id) == 0)
        e = &n->seen[i];
    }
  if (e && own_bytes + len <= DEDUP_CALLER_BYTES) { /* one caller: half the bytes at most */
    e->reply = g_bytes_ref(reply);
    n->seen_bytes += len;
  }
}

/* The 0.5 error codes of a failed handler (docs/actr-realm.md §5.1). */
#define ACTR05_UNAVAILABLE 10001
#define ACTR05_INTERNAL 10010

static void on_lane_message(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  (void)lane;
  wire_t *w = user;
  peer_t *p = w->p;
  actr_node_t *n = p->node;
  actr_envelope_t *env;
  int rc = actr_envelope_decode(actr_msg_data(msg), actr_msg_len(msg), &env);
  actr_msg_free(msg);
  if (rc != ACTR_OK) {
    ACTR__LOG_PEER(ACTR_LOG_WARN, "node: envelope dropped: %s", actr_err_detail());
    return;
  }
  const char *rid = actr_envelope_request_id(env);
  if (strlen(rid) >= sizeof n->calls[0].request_id) {
    actr_envelope_free(env);
    return;
  }
  g_mutex_lock(&n->mu);
  /* An envelope whose id is one of our pending calls, from the actor
   * called, is its response (a second one, come before the caller woke
   * and ended the call, is dropped). */
  for (unsigned i = 0; i < n->cfg.max_pending_calls; i++) {
    call_t *c = &n->calls[i];
    if (c->used && strcmp(c->request_id, rid) == 0 && actr_actor_id_equal(&c->target, &p->id)) {
      bool first = !c->response;
      if (first) {
        c->response = env;
        n->st.responses_received++;
        g_cond_broadcast(&n->cond);
      }
      g_mutex_unlock(&n->mu);
      if (!first)
        actr_envelope_free(env);
      return;
    }
  }
  actr_envelope_direction_t dir = ACTR_ENVELOPE_DIRECTION_UNSPECIFIED;
  actr_envelope_direction(env, &dir);
  bool late = dir == ACTR_ENVELOPE_DIRECTION_RESPONSE || g_hash_table_contains(n->ended_set, rid);
  if (late) { /* a late or second response: its call has ended */
    g_mutex_unlock(&n->mu);
    actr_envelope_free(env);
    return;
  }
  if (n->cfg.dialect == ACTR_NODE_DIALECT_05 && dir != ACTR_ENVELOPE_DIRECTION_REQUEST &&
      dir != ACTR_ENVELOPE_DIRECTION_TELL) {
    /* 0.5 routes on the direction alone: none, or one it does not know,
     * is no request (actr drops it too; 0.3 sends none and is not here). */
    n->st.requests_dropped++;
    g_mutex_unlock(&n->mu);
    ACTR__LOG_PEER(ACTR_LOG_WARN, "node: envelope '%.40s' with no request direction dropped", rid);
    actr_envelope_free(env);
    return;
  }
  n->st.requests_received++;
  p->last_request_us = g_get_monotonic_time();
  seen_t *dup = seen_locked(n, &p->id, rid);
  if (dup) { /* the callee runs a request id once; a retry gets the first reply */
    n->st.requests_duplicate++;
    /* Bounded: two peers that each took the other's reply for a request
     * (an id neither remembers issuing) must not replay to each other
     * for ever. */
    GBytes *again = dup->reply && dup->replays < REPLAYS_MAX ? g_bytes_ref(dup->reply) : NULL;
    if (again) {
      dup->replays++;
      n->st.requests_replayed++;
    }
    g_mutex_unlock(&n->mu);
    if (again) {
      send_reply(w, again, false);
      g_bytes_unref(again);
    }
    actr_envelope_free(env);
    return;
  }
  actr_node_request_fn fn = n->serve_fn;
  void *fn_user = n->serve_user;
  if (!fn)
    n->st.requests_dropped++;
  g_mutex_unlock(&n->mu);
  actr_envelope_t *resp = NULL;
  if (fn)
    fn(n, &p->id, env, &resp, fn_user);
  bool tell = actr_envelope_timeout_ms(env) == 0 || dir == ACTR_ENVELOPE_DIRECTION_TELL;
  bool v05 = n->cfg.dialect == ACTR_NODE_DIALECT_05;
  if (!resp && v05 && !tell) { /* 0.5: a failed handler's caller gets an error envelope */
    if (actr_envelope_new(actr_envelope_route_key(env), rid, 0, &resp) == ACTR_OK)
      actr_envelope_set_error(resp, fn ? ACTR05_INTERNAL : ACTR05_UNAVAILABLE,
                              fn ? "handler failed: no response" : "no handler");
  }
  if (resp && !(tell && v05)) { /* 0.3 answers tells too (after a success) */
    actr_envelope_set_route_key(resp, actr_envelope_route_key(env));
    actr_envelope_set_request_id(resp, rid);
    uint32_t ecode;
    if (!actr_envelope_payload(resp, NULL, NULL) && !actr_envelope_error(resp, &ecode, NULL))
      actr_envelope_set_payload(resp, "", 0); /* 0.3 needs the field present */
    if (v05) {
      actr_envelope_set_direction(resp, ACTR_ENVELOPE_DIRECTION_RESPONSE);
      actr_envelope_set_timeout_ms(resp, 0);
    } else {
      actr_envelope_set_timeout_ms(resp, actr_envelope_timeout_ms(env));
    }
    uint8_t *buf;
    size_t len;
    if (actr_envelope_encode(resp, &buf, &len) == ACTR_OK) {
      GBytes *reply = g_bytes_new_take(buf, len);
      g_mutex_lock(&n->mu);
      keep_reply_locked(n, &p->id, rid, reply);
      bool drop = n->drop_replies > 0;
      if (drop)
        n->drop_replies--;
      g_mutex_unlock(&n->mu);
      if (drop) {
        kill_wire_later(w);
        count_replies(n, 0, 1);
      } else {
        send_reply(w, reply, true);
      }
      g_bytes_unref(reply);
    }
  }
  actr_envelope_free(resp);
  actr_envelope_free(env);
}

/* ---- wires: building and stopping (the control thread) ---- */

static wire_t *wire_new(peer_t *p, int slot) {
  actr_node_t *n = p->node;
  wire_t *w = g_new0(wire_t, 1);
  w->p = p;
  w->slot = slot;
  w->started_us = g_get_monotonic_time();
  w->id_gen = g_atomic_int_get(&n->id_gen);
  g_mutex_lock(&n->mu);
  w->serial = ++n->wire_serial;
  g_mutex_unlock(&n->mu);
  return w;
}

/* wire_install: make @w the wire of its slot (none may be there). */
static void wire_install(wire_t *w) {
  peer_t *p = w->p;
  g_mutex_lock(&p->mu);
  p->w[w->slot] = w;
  g_mutex_unlock(&p->mu);
  wake(p->node);
}

/* wire_stop: take the wire of @slot off @p and free it; no callback of it
 * runs after this.  Callers holding one of its lanes see it closed. */
static void wire_stop(peer_t *p, int slot) {
  g_mutex_lock(&p->mu);
  wire_t *w = p->w[slot];
  p->w[slot] = NULL;
  if (w)
    w->dead = true;
  g_mutex_unlock(&p->mu);
  if (!w)
    return;
  wake(p->node); /* a caller on this wire stops waiting for its answer there */
  for (int t = 0; t < NLANES; t++)
    if (w->lanes[t]) {
      lane_bind(w->lanes[t], t, NULL);
      actr_lane_unref(w->lanes[t]);
    }
  /* No handler of it runs any more: the queue is ours. */
  g_queue_clear_full(&w->replies, (GDestroyNotify)queued_reply_free);
  if (w->link)
    actr_webrtc_link_free(w->link);
  if (w->conn) {
    actr_ws_conn_set_callbacks(w->conn, NULL, NULL);
    actr_ws_conn_close(w->conn);
    actr_ws_conn_unref(w->conn);
  }
  g_free(w);
}

static int start_link(peer_t *p, bool offerer) {
  actr_node_t *n = p->node;
  if (!p->sig) {
    int rc = actr_signaling_new(&endpoint_ops, p, &p->sig);
    if (rc != ACTR_OK)
      return rc;
  }
  wire_t *w = wire_new(p, W_RTC);
  actr_webrtc_link_config_t lc;
  actr_webrtc_link_config_init(&lc);
  lc.webrtc.local_addresses = n->ice;
  lc.webrtc.local_address_count = n->cfg.ice_address_count;
  lc.webrtc.on_state = rtc_on_state; /* readiness and death, as events */
  lc.webrtc.user = w;
  actr_webrtc_ice_server_t turn = {.url = n->cfg.turn_url};
  if (n->cfg.turn_url) { /* with the TURN credential AIS gave (the current one) */
    /* The control thread, the one that replaces it: no lock needed here. */
    actr_credential_turn(n->cred, &turn.username, &turn.credential, NULL);
    lc.webrtc.ice_servers = &turn;
    lc.webrtc.ice_server_count = 1;
  }
  if (n->cfg.relay_only)
    lc.webrtc.ice_policy = ACTR_WEBRTC_ICE_RELAY;
  g_mutex_lock(&p->mu);
  p->offerer = offerer;
  p->got_offer = false;
  p->negotiated_us = 0;
  p->local_ufrag[0] = '\0';
  p->exchange_id[0] = '\0';
  p->link_started_us = g_get_monotonic_time();
  g_mutex_unlock(&p->mu);
  /* Installed before the link exists: its first state may come at once. */
  wire_install(w);
  int rc = actr_webrtc_link_new(n->rt, &lc, p->sig, offerer, &w->link);
  if (rc != ACTR_OK) {
    char why[200];
    snprintf(why, sizeof why, "%s", actr_err_detail());
    wire_stop(p, W_RTC);
    return actr__fail(rc, "%s", why);
  }
  /* The lanes at once: the offerer's channels open when SCTP is up,
   * RPC_RELIABLE first; the answerer's bind to the channels that arrive. */
  actr_lane_t *lanes[NLANES] = {0};
  for (int t = 0; t < NLANES; t++) {
    if (actr_webrtc_link_lane(w->link, (actr_payload_type_t)t, &lanes[t]) != ACTR_OK)
      continue;
    lane_bind(lanes[t], t, w);
  }
  g_mutex_lock(&p->mu);
  memcpy(w->lanes, lanes, sizeof lanes);
  bool now_up = !w->dead && actr_webrtc_link_state(w->link) == ACTR_WEBRTC_PC_CONNECTED;
  g_mutex_unlock(&p->mu);
  if (now_up)
    wire_event(w, true, false);
  g_mutex_lock(&n->mu);
  n->st.peers_connected++;
  g_cond_broadcast(&n->cond);
  g_mutex_unlock(&n->mu);
  return ACTR_OK;
}

/* ws_wire_attach: a WebSocket wire over @conn (transfer full) in @slot. */
static void ws_wire_attach(peer_t *p, int slot, actr_ws_conn_t *conn) {
  wire_t *w = wire_new(p, slot);
  w->conn = conn;
  for (int t = 0; t < NLANES; t++)
    if (actr_ws_conn_lane(conn, (actr_payload_type_t)t, &w->lanes[t]) == ACTR_OK)
      lane_bind(w->lanes[t], t, w);
  wire_install(w);
  wire_event(w, true, false); /* open: it may carry requests already */
  actr_ws_conn_callbacks_t cbs = {.on_closed = ws_on_closed};
  actr_ws_conn_set_callbacks(conn, &cbs, w); /* at once when it closed already */
}

/* on_dialed (the I/O thread): a dial of ws_dial ended: to the control
 * thread (p lives: peer_free forgets the dial first). */
static void on_dialed(actr_ws_conn_t *conn, int code, const char *detail, void *user) {
  peer_t *p = user;
  item_t *it = g_new0(item_t, 1);
  it->kind = ITEM_WS_DIALED;
  it->source = p->id;
  it->conn = actr_ws_conn_ref(conn); /* the item's: freed with it (drain_queue too) */
  it->rc = code;
  it->why = g_strdup(detail ? detail : actr_err_message(code));
  enqueue(p->node, it);
}

/* ws_dial: start dialing the direct WebSocket to @p (WS_CONNECT_MS at
 * most), with our identity in the headers; its outcome comes as
 * ITEM_WS_DIALED (dialed).  The control thread never waits for a peer's
 * listener, which may be slow on purpose. */
static int ws_dial(peer_t *p) {
  actr_node_t *n = p->node;
  char url[WS_URL_MAX];
  g_mutex_lock(&p->mu);
  snprintf(url, sizeof url, "%s", p->ws_url);
  g_mutex_unlock(&p->mu);
  char *src = NULL, *cr = NULL; /* the control thread: n->cred is its own (no lock) */
  int gen = g_atomic_int_get(&n->id_gen); /* the identity the headers carry */
  int rc = actr__ws_gate_headers(actr_node_id(n), n->cred, &src, &cr);
  actr_ws_conn_t *conn = NULL;
  if (rc == ACTR_OK) {
    actr_ws_config_t wc;
    actr_ws_config_init(&wc);
    wc.source_id = src;
    wc.credential = cr;
    wc.connect_timeout_ms = WS_CONNECT_MS;
    rc = actr__ws_dial(n->rt, url, &wc, on_dialed, p, &conn);
  }
  g_free(src);
  g_free(cr);
  if (rc != ACTR_OK)
    return rc;
  g_mutex_lock(&p->mu);
  p->dial = conn;
  p->dial_id_gen = gen;
  g_mutex_unlock(&p->mu);
  return ACTR_OK;
}

/* dial_abandon: @p's dial, if any, ends unheard of. */
static void dial_abandon(peer_t *p) {
  g_mutex_lock(&p->mu);
  actr_ws_conn_t *conn = p->dial;
  p->dial = NULL;
  g_mutex_unlock(&p->mu);
  if (!conn)
    return;
  actr__ws_dial_forget(conn);
  actr_ws_conn_close(conn);
  actr_ws_conn_unref(conn);
}

static void build_failed(peer_t *p, int slot, const char *why);

/* dialed: ITEM_WS_DIALED: the dial's connection becomes @p's W_WS_OUT wire
 * if it is still wanted and carries our current identity (a registration
 * since: a new ActrId, and the callee would know the wire by the old one;
 * dialed again); a failure counts as a failed build. */
static void dialed(peer_t *p, const item_t *it) {
  g_mutex_lock(&p->mu);
  actr_ws_conn_t *conn = p->dial == it->conn ? p->dial : NULL;
  if (conn)
    p->dial = NULL;
  bool wanted = p->want[W_WS_OUT] && !p->w[W_WS_OUT] &&
                p->dial_id_gen == g_atomic_int_get(&p->node->id_gen);
  char url[WS_URL_MAX];
  snprintf(url, sizeof url, "%s", p->ws_url);
  g_mutex_unlock(&p->mu);
  if (!conn)
    return; /* abandoned meanwhile */
  if (it->rc == ACTR_OK && wanted) {
    ws_wire_attach(p, W_WS_OUT, conn);
    return;
  }
  actr_ws_conn_close(conn);
  actr_ws_conn_unref(conn);
  if (it->rc != ACTR_OK) {
    char why[300];
    snprintf(why, sizeof why, "WebSocket wire: %s: %s", url, it->why);
    build_failed(p, W_WS_OUT, why);
  }
}

static void deliver_candidate(peer_t *p, const char *cand) {
  actr_signaling_msg_t m = {.kind = ACTR_SIGNALING_CANDIDATE, .candidate = (char *)cand,
                         .sdp_mline_index = 0};
  actr_signaling_deliver(p->sig, &m);
}

static void negotiate(peer_t *p) {
  actr_node_t *n = p->node;
  actr__actor_id_pb_t from, to, target;
  actr__actor_id_to_pb(actr_node_id(n), &from);
  actr__actor_id_to_pb(&p->id, &to);
  actr__actor_id_to_pb(&p->id, &target);
  Actr__RoleNegotiation rn = ACTR__ROLE_NEGOTIATION__INIT;
  rn.from = &from.id;
  rn.to = &to.id;
  rn.realm_id = n->cfg.realm_id;
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  r.target = &target.id;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_NEGOTIATION;
  r.role_negotiation = &rn;
  g_mutex_lock(&p->mu);
  p->negotiated_us = g_get_monotonic_time();
  g_mutex_unlock(&p->mu);
  if (actr__sig_client_relay(n->sig, &r) != ACTR_OK)
    actr__log(ACTR_LOG_WARN, "node: role negotiation not sent: %s", actr_err_detail());
}

static bool has_rtc(peer_t *p, bool *offerer, gint64 *started, bool *ever_up) {
  g_mutex_lock(&p->mu);
  bool has = p->w[W_RTC] != NULL;
  if (offerer)
    *offerer = p->offerer;
  if (started)
    *started = p->link_started_us;
  if (ever_up)
    *ever_up = has && p->w[W_RTC]->ever_up;
  g_mutex_unlock(&p->mu);
  return has;
}

/* take_offer: @p's offer @sdp (not an ICE restart offer; @xid its
 * sdp_exchange_id or NULL), answered by the link we answer with, made new
 * unless it is fresh.  Both offered: the smaller serial keeps offering (the
 * mock's rule), the other answers.  An offer that would make a link when
 * the bucket is empty waits in offer_waiting (maintain takes it). */
static void take_offer(actr_node_t *n, peer_t *p, const char *sdp, const char *xid) {
  bool offerer;
  bool has_link = has_rtc(p, &offerer, NULL, NULL);
  if (has_link && offerer && actr_node_id(n)->serial < p->id.serial)
    return;
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&p->mu);
  bool replace = has_link && (offerer || p->got_offer);
  /* Every peer connection an offer makes counts, the first too: an offer
   * that fails its own connection (an SDP we cannot take) would otherwise
   * find no link each time and build one for free. */
  bool build = replace || !has_link;
  bool wait = build && !bucket_has(&p->offer_bucket, OFFER_BURST, OFFERS_PER_S, now);
  if (wait && p->offer_waiting) /* its candidates go with it: a newer offer's follow */
    g_ptr_array_set_size(p->held_in, 0);
  g_free(p->offer_waiting); /* a newer offer: the one waiting is stale */
  p->offer_waiting = wait ? g_strdup(sdp) : NULL;
  snprintf(p->offer_waiting_xid, sizeof p->offer_waiting_xid, "%s", wait && xid ? xid : "");
  if (build && !wait)
    bucket_take(&p->offer_bucket);
  g_free(p->restart_waiting); /* of the connection this offer replaces */
  p->restart_waiting = NULL;
  g_mutex_unlock(&p->mu);
  if (wait) {
    g_mutex_lock(&n->mu);
    n->st.offers_waited++;
    g_mutex_unlock(&n->mu);
    return;
  }
  if (replace)
    wire_stop(p, W_RTC);
  if ((replace || !has_link) && start_link(p, false) != ACTR_OK) {
    actr__log(ACTR_LOG_WARN, "node: answerer not started: %s", actr_err_detail());
    return;
  }
  g_mutex_lock(&p->mu);
  p->got_offer = true;
  snprintf(p->exchange_id, sizeof p->exchange_id, "%s", xid ? xid : "");
  GPtrArray *held = p->held_in;
  p->held_in = g_ptr_array_new_with_free_func(g_free);
  g_mutex_unlock(&p->mu);
  actr_signaling_msg_t m = {.kind = ACTR_SIGNALING_OFFER, .sdp = (char *)sdp, .sdp_mline_index = -1};
  actr_signaling_deliver(p->sig, &m);
  for (guint i = 0; i < held->len; i++)
    deliver_candidate(p, g_ptr_array_index(held, i));
  g_ptr_array_unref(held);
}

/* take_restart_offer: @p's ICE restart offer @sdp (@xid its
 * sdp_exchange_id or NULL) for the connection we answered, taken in place
 * by its peer connection (new ICE credentials; DTLS and SCTP stay).
 * Without a live connection there is nothing to restart: the offerer's
 * restart runs out and it builds a new one.  While a whole offer waits its
 * turn, the restart is of the connection that offer began, which never
 * reached us: it waits in its place, the newest offer, and is answered by
 * a new connection as that would have been (its candidates follow it: the
 * ones held were the old offer's).  Each restart takes a token of the
 * offer bucket, as a whole offer does: it makes our ICE agent start over
 * and check every address the peer names, so a peer restarting again and
 * again would have us send checks wherever it likes as fast as actrix
 * relays.  Past the bucket the newest restart offer waits (maintain takes
 * it); actr's offerer sends one each ICE_RESTART_ATTEMPT_MS at most. */
static void take_restart_offer(actr_node_t *n, peer_t *p, const char *sdp, const char *xid) {
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&p->mu);
  if (p->offer_waiting) {
    g_free(p->offer_waiting);
    p->offer_waiting = g_strdup(sdp);
    snprintf(p->offer_waiting_xid, sizeof p->offer_waiting_xid, "%s", xid ? xid : "");
    g_ptr_array_set_size(p->held_in, 0);
    g_mutex_unlock(&p->mu);
    actr__log(ACTR_LOG_INFO, "node: ICE restart offer waits in the place of an offer");
    return;
  }
  wire_t *w = p->w[W_RTC];
  bool live = w && w->ever_up && !w->dead && p->got_offer && !n->ignore_restart_offers;
  bool wait = live && !bucket_has(&p->offer_bucket, OFFER_BURST, OFFERS_PER_S, now);
  g_free(p->restart_waiting); /* a newer restart: the one waiting is stale */
  p->restart_waiting = wait ? g_strdup(sdp) : NULL;
  snprintf(p->restart_waiting_xid, sizeof p->restart_waiting_xid, "%s", wait && xid ? xid : "");
  if (live && !wait) {
    bucket_take(&p->offer_bucket);
    snprintf(p->exchange_id, sizeof p->exchange_id, "%s", xid ? xid : "");
  }
  g_mutex_unlock(&p->mu);
  if (!live) {
    actr__log(ACTR_LOG_INFO, "node: ICE restart offer without a live connection: ignored");
    return;
  }
  if (wait) {
    g_mutex_lock(&n->mu);
    n->st.offers_waited++;
    g_mutex_unlock(&n->mu);
    actr__log(ACTR_LOG_INFO, "node: ICE restart offer waits its turn");
    return;
  }
  actr__log(ACTR_LOG_INFO, "node: ICE restart offer taken (in place)");
  actr_signaling_msg_t m = {.kind = ACTR_SIGNALING_OFFER, .sdp = (char *)sdp, .sdp_mline_index = -1};
  actr_signaling_deliver(p->sig, &m);
}

static bool restart_attempt(actr_node_t *n, peer_t *p);
static void handle_relay(actr_node_t *n, const Signaling__SignalingEnvelope *e) {
  const Signaling__ActrRelay *r = e->actr_relay;
  actr_actor_id_t src, dst;
  if (actr__actor_id_from_pb(r->source, &src) != ACTR_OK ||
      actr__actor_id_from_pb(r->target, &dst) != ACTR_OK)
    return;
  /* The other actor: the source, unless actrix's assignment names us as
   * the source (its shape for the side that asked). */
  const actr_actor_id_t *remote = actr_actor_id_equal(&src, actr_node_id(n)) ? &dst : &src;
  if (actr_actor_id_equal(remote, actr_node_id(n)))
    return;
  /* A restart request is about a connection we have: it makes no
   * destination. */
  peer_t *p;
  if (r->payload_case == SIGNALING__ACTR_RELAY__PAYLOAD_ICE_RESTART_REQUEST) {
    g_mutex_lock(&n->mu);
    p = peer_find_locked(n, remote);
    g_mutex_unlock(&n->mu);
  } else {
    p = peer_get(n, remote);
  }
  if (!p)
    return;
  g_mutex_lock(&p->mu);
  p->touched_us = g_get_monotonic_time();
  g_mutex_unlock(&p->mu);
  bool offerer, link_was_up;
  gint64 started;
  bool has_link = has_rtc(p, &offerer, &started, &link_was_up);
  switch (r->payload_case) {
  case SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_ASSIGNMENT: {
    gint64 now = g_get_monotonic_time();
    bool stale = now - started > RENEGOTIATE_US;
    g_mutex_lock(&p->mu);
    bool asked = p->negotiated_us != 0;
    /* The other side asked while we hold a link that is not fresh, or one
     * that has been connected: it lost the connection and builds a new one
     * (actr: an offerer tears the old one down first).  A connected link
     * goes at once, however young: waiting until it is RENEGOTIATE_US old
     * left a peer that lost its side early, and was made answerer, waiting
     * ANSWER_WAIT_US for an offer that never came (bench_transport's
     * rebuild: 10 s instead of 30 ms, by the draw of the roles).  A young
     * link goes so at most once per RENEGOTIATE_US: a peer asking again
     * and again makes us build peer connections no faster than a stale
     * link would. */
    bool young_ends = link_was_up && !stale &&
                      (!p->forced_down_us || now - p->forced_down_us > RENEGOTIATE_US);
    bool end = has_link && !asked && (stale || young_ends);
    if (end && !stale)
      p->forced_down_us = now;
    g_mutex_unlock(&p->mu);
    if (end) {
      wire_stop(p, W_RTC);
      has_link = false;
    }
    if (!has_link && start_link(p, r->role_assignment->is_offerer) != ACTR_OK)
      actr__log(ACTR_LOG_WARN, "node: peer connection not started: %s", actr_err_detail());
    break;
  }
  case SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION: {
    const Webrtc__SessionDescription *sd = r->session_description;
    bool is_offer = sd->type != WEBRTC__SESSION_DESCRIPTION__TYPE__ANSWER;
    bool restart_offer = sd->type == WEBRTC__SESSION_DESCRIPTION__TYPE__ICE_RESTART_OFFER;
    if (restart_offer && !offerer) {
      take_restart_offer(n, p, sd->sdp, sd->sdp_exchange_id);
      break;
    }
    if (is_offer) {
      take_offer(n, p, sd->sdp, sd->sdp_exchange_id);
    } else if (has_link && offerer) {
      /* 0.5: an answer to another offer than our pending one is stale. */
      g_mutex_lock(&p->mu);
      bool stale = sd->sdp_exchange_id && p->exchange_id[0] &&
                   strcmp(sd->sdp_exchange_id, p->exchange_id) != 0;
      g_mutex_unlock(&p->mu);
      if (stale)
        break;
      actr_signaling_msg_t m = {.kind = ACTR_SIGNALING_ANSWER, .sdp = sd->sdp, .sdp_mline_index = -1};
      actr_signaling_deliver(p->sig, &m);
    }
    break;
  }
  case SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE: {
    /* Kept until there is a link with the remote description (a peer may
     * trickle before its offer reaches us). */
    g_mutex_lock(&p->mu);
    bool ready = p->w[W_RTC] && (p->offerer || p->got_offer) && !p->offer_waiting;
    if (!ready && p->held_in->len < MAX_HELD)
      g_ptr_array_add(p->held_in, g_strdup(r->ice_candidate->candidate));
    g_mutex_unlock(&p->mu);
    if (ready)
      deliver_candidate(p, r->ice_candidate->candidate);
    break;
  }
  case SIGNALING__ACTR_RELAY__PAYLOAD_ICE_RESTART_REQUEST:
    /* The answerer lost the connection.  As its offerer (of the link we
     * hold, or of the last one: ours may have died first) we offer again
     * at once, a whole new peer connection (ICE restart in place is not
     * there yet, docs/actr-realm.md §10.6). */
    if (offerer) {
      /* Our connection is still there: restart ICE on it in place (at
       * once, or at most every 2 s while one is under way, as actr). */
      g_mutex_lock(&p->mu);
      gint64 now = g_get_monotonic_time();
      wire_t *w = p->w[W_RTC];
      bool live = w && w->ever_up && !w->dead && n->restart_budget_ms > 0;
      bool recent = p->restart_attempt_us && now - p->restart_attempt_us < ICE_RESTART_GAP_US;
      g_mutex_unlock(&p->mu);
      /* A live wire that died meanwhile (its peer's close came first:
       * restart_attempt finds it dead) is rebuilt as a dead one. */
      if (live && (recent || restart_attempt(n, p)))
        break;
      /* A new connection too at most every ICE_RESTART_GAP_US: the one we
       * offered at the last request is still on its way.  Each costs a new
       * ICE agent, its sockets and gathering (a TURN allocation with TURN),
       * and a peer may ask as often as actrix lets it. */
      g_mutex_lock(&p->mu);
      bool rebuilt_lately = p->asked_rebuild_us && now - p->asked_rebuild_us < ICE_RESTART_GAP_US;
      if (!rebuilt_lately)
        p->asked_rebuild_us = now;
      g_mutex_unlock(&p->mu);
      if (rebuilt_lately)
        break;
      g_mutex_lock(&n->mu);
      n->st.ice_restarts++;
      g_mutex_unlock(&n->mu);
      wire_stop(p, W_RTC);
      if (start_link(p, true) != ACTR_OK) {
        actr__log(ACTR_LOG_WARN, "node: restart offer not made: %s", actr_err_detail());
        g_mutex_lock(&p->mu);
        p->asked_rebuild_us = 0; /* nothing is on its way: the next request tries again */
        g_mutex_unlock(&p->mu);
      }
    }
    break;
  default:
    break; /* role negotiation is actrix's */
  }
}

/* replace_credential: make @fresh (transfer full) the current credential
 * and free the one it replaces (the control thread; readers elsewhere hold
 * cred_mu, so none is inside the old one). */
static void replace_credential(actr_node_t *n, actr_credential_t *fresh) {
  g_mutex_lock(&n->cred_mu);
  actr_credential_t *old = n->cred;
  n->cred = fresh;
  g_mutex_unlock(&n->cred_mu);
  actr_credential_free(old);
}

/* cred_backoff: the next attempt after a failure, 1 s doubling to 60 s. */
static void cred_backoff(actr_node_t *n, uint64_t now) {
  n->cred_backoff_s = n->cred_backoff_s ? MIN(n->cred_backoff_s * 2, 60) : 1;
  n->cred_retry_at = now + n->cred_backoff_s;
}

/* ---- slow work off the control thread ----
 * An AIS exchange blocks up to its 30 s deadline, a signing-key fetch up to
 * the signaling request timeout: made on the control thread, either held
 * every destination's set-up (offers, answers, relays, rebuilds) meanwhile.
 * Each runs on a thread of its own (one credential job at a time; key
 * fetches at most KEY_ASKS_MAX) and what it brings goes back to the control
 * thread as an item, or into the key cache under mu. */
typedef enum { JOB_KEY, JOB_RENEW, JOB_REGISTER } job_kind_t;

typedef struct job {
  actr_node_t *n;
  job_kind_t kind;
  uint32_t key_id;   /* JOB_KEY */
  bool rejected;     /* JOB_RENEW, JOB_REGISTER: see item_t */
  uint64_t asked_at; /* ... */
} job_t;

/* key_fetched: the outcome of a fetch of @key_id into its slot (mu). */
static void key_fetched(actr_node_t *n, uint32_t key_id, int rc, const uint8_t pub[32]) {
  g_mutex_lock(&n->mu);
  for (unsigned i = 0; i < KEYS_MAX; i++) {
    sign_key_t *k = &n->keys[i];
    if (k->asking && k->id == key_id) {
      k->asking = false;
      n->key_asks--;
      k->set = rc == ACTR_OK; /* a failure frees the slot: the next connection asks again */
      if (k->set) {
        memcpy(k->pub, pub, 32);
        k->used_us = g_get_monotonic_time();
        n->st.signing_keys_fetched++;
      }
    }
  }
  g_mutex_unlock(&n->mu);
}

/* job_done: one job less (@self: said by the job's own thread, which ends
 * next and is joined by job_reap); actr_node_free may be waiting for none. */
static void job_done(actr_node_t *n, GThread *self) {
  g_mutex_lock(&n->mu);
  n->jobs--;
  if (self)
    g_ptr_array_add(n->ended_jobs, self);
  g_cond_broadcast(&n->cond);
  g_mutex_unlock(&n->mu);
}

/* job_reap: join the threads of the jobs that ended (each is returning
 * from job_main, so a join waits for nothing else). */
static void job_reap(actr_node_t *n) {
  g_mutex_lock(&n->mu);
  if (n->ended_jobs->len == 0) {
    g_mutex_unlock(&n->mu);
    return;
  }
  GPtrArray *ended = n->ended_jobs;
  n->ended_jobs = g_ptr_array_new();
  g_mutex_unlock(&n->mu);
  for (guint i = 0; i < ended->len; i++)
    g_thread_join(ended->pdata[i]);
  g_ptr_array_free(ended, TRUE);
}

static gpointer job_main(gpointer data) {
  job_t *j = data;
  actr_node_t *n = j->n;
  if (j->kind == JOB_KEY) {
    uint8_t pub[32];
    int rc = actr__sig_client_signing_key(n->sig, j->key_id, pub);
    if (rc != ACTR_OK) /* cancelled by actr_node_free: no warning */
      actr__log(g_cancellable_is_cancelled(n->stop) ? ACTR_LOG_INFO : ACTR_LOG_WARN,
                "node: signing key %u not obtained: %s", j->key_id, actr_err_detail());
    key_fetched(n, j->key_id, rc, pub);
  } else {
    /* n->cred stays while the job runs: the control thread replaces it only
     * when the job's item comes back. */
    actr__http_thread_stop(n->stop);
    actr_ais_options_t ao = {.realm_secret = n->realm_secret};
    item_t *it = g_new0(item_t, 1);
    it->kind = ITEM_CRED_DONE;
    it->renewed = j->kind == JOB_RENEW;
    it->rejected = j->rejected;
    it->asked_at = j->asked_at;
    it->rc = it->renewed
                 ? actr_ais_renew_new(n->ais_url, &ao, n->cred, &it->cred)
                 : actr_ais_register(n->ais_url, &n->cfg.type, n->cfg.realm_id, &ao, &it->cred);
    if (it->rc != ACTR_OK)
      it->why = g_strdup(actr_err_detail());
    actr__http_thread_stop(NULL);
    if (it->rc == ACTR_ECONNECTION && g_cancellable_is_cancelled(n->stop))
      actr__log(ACTR_LOG_INFO, "node: AIS exchange cancelled: the node is being freed");
    enqueue(n, it);
  }
  g_free(j);
  g_mutex_lock(&n->mu);
  unsigned linger_ms = n->job_linger_ms; /* n may be freed once job_done returns */
  g_mutex_unlock(&n->mu);
  job_done(n, g_thread_self());
  if (linger_ms)
    g_usleep((gulong)linger_ms * 1000);
  return NULL;
}

/* job_start: run @j (transfer full) on a thread of its own; false (and
 * @j freed) when no thread is to be had. */
static bool job_start(actr_node_t *n, job_t *j) {
  job_reap(n);
  j->n = n;
  g_mutex_lock(&n->mu);
  n->jobs++;
  g_mutex_unlock(&n->mu);
  GThread *t = g_thread_try_new("actr-node-slow", job_main, j, NULL);
  if (t) /* its reference is job_reap's */
    return true;
  job_done(n, NULL);
  g_free(j);
  return false;
}

/* The credential: renewed (0.5, renewal token) when two thirds of its life
 * have passed or actrix rejected it; without a token (0.3) registered again
 * once actrix rejects it or it expires — a new ActrId.  The exchange runs
 * as a job (above); cred_done takes its outcome. */
static void check_credential(actr_node_t *n) {
  if (n->cred_busy)
    return;
  actr_credential_t *cred = n->cred; /* this thread is the only one to replace it */
  uint64_t now = actr__unix_now_s();
  uint64_t exp = actr_credential_expires_at(cred);
  actr__sig_stats_t s;
  actr__sig_client_stats(n->sig, &s);
  if (now < n->cred_retry_at)
    return; /* backing off after a failed attempt */
  g_mutex_lock(&n->mu);
  bool rejected = s.credential_rejected || n->force_register;
  bool forced = n->force_register;
  n->force_register = false;
  g_mutex_unlock(&n->mu);
  /* At least a second after the last change: a credential of 1-2 s
   * (two thirds of it round to 0) was renewed at every pass, and a pass
   * comes with every queued item, a peer's signaling included. */
  uint64_t life = exp > n->cred_since ? exp - n->cred_since : 0;
  bool due = now >= n->cred_since + MAX(life / 3 * 2, 1);
  bool renew = actr_credential_can_renew(cred);
  if (renew ? !due && !rejected : !rejected && (now < exp || now <= n->cred_since))
    return; /* the same floor as above */
  job_t *j = g_new0(job_t, 1);
  j->kind = renew ? JOB_RENEW : JOB_REGISTER;
  j->rejected = rejected;
  j->asked_at = now;
  if (!job_start(n, j)) {
    actr__log(ACTR_LOG_WARN, "node: no thread to renew the credential on");
    if (forced) {
      g_mutex_lock(&n->mu);
      n->force_register = true;
      g_mutex_unlock(&n->mu);
    }
    cred_backoff(n, now);
    return;
  }
  n->cred_busy = true;
}

/* cred_done: the outcome of a credential job (the control thread). */
static void cred_done(actr_node_t *n, item_t *it) {
  n->cred_busy = false;
  actr_credential_t *fresh = it->cred;
  it->cred = NULL;
  uint64_t now = actr__unix_now_s();
  if (it->renewed) {
    int rc = it->rc;
    if (rc == ACTR_OK)
      rc = actr__sig_client_set_credential(n->sig, fresh, it->rejected);
    if (rc != ACTR_OK) {
      actr__log(ACTR_LOG_WARN, "node: credential not renewed: %s",
                it->rc != ACTR_OK ? it->why : actr_err_detail());
      actr_credential_free(fresh);
      cred_backoff(n, now);
      return;
    }
    replace_credential(n, fresh); /* the same ActrId (actr_ais_renew_new checks) */
  } else {
    if (it->rc != ACTR_OK) {
      actr__log(ACTR_LOG_WARN, "node: registering again failed: %s", it->why);
      cred_backoff(n, now);
      return;
    }
    /* A new ActrId: into the next slot, the earlier ones stay for the
     * pointers handed out (actr_node_id), the last OLD_IDS of them. */
    int gen = g_atomic_int_get(&n->id_gen) + 1;
    n->ids[gen % (OLD_IDS + 1)] = *actr_credential_actor_id(fresh);
    g_atomic_int_set(&n->id_gen, gen);
    replace_credential(n, fresh);
    actr__sig_client_set_credential(n->sig, fresh, true);
  }
  n->cred_backoff_s = 0;
  n->cred_since = it->asked_at;
  g_mutex_lock(&n->mu);
  n->st.credential_renewals++;
  g_mutex_unlock(&n->mu);
}


/* ---- keeping wires (the control thread) ---- */

/* build_failed: one build of @slot failed: the next after a backoff, or
 * give up after WIRE_ATTEMPTS (callers waiting for it stop). */
static void build_failed(peer_t *p, int slot, const char *why) {
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&p->mu);
  p->attempts[slot]++;
  if (p->attempts[slot] >= WIRE_ATTEMPTS) {
    p->want[slot] = false;
    p->gave_up[slot] = true;
  } else {
    p->retry_at[slot] =
        now + (gint64)actr__backoff_ms(WIRE_BACKOFF_MS, WIRE_BACKOFF_MAX_MS, p->attempts[slot]) * 1000;
  }
  if (why)
    snprintf(p->why, sizeof p->why, "%s", why);
  g_mutex_unlock(&p->mu);
  wake(p->node);
}

/* restart_attempt: as offerer, restart ICE on @p's live WebRTC wire in
 * place (a new offer, type ICE_RESTART_OFFER, on the same peer connection:
 * DTLS and SCTP stay); attempts every ICE_RESTART_ATTEMPT_MS until the
 * budget is spent, when the peer connection fails by itself and the wire
 * is rebuilt whole.  False when no restart offer went out (no live wire,
 * the budget spent, or the link refused).  Control thread (it alone frees
 * wires). */
static bool restart_attempt(actr_node_t *n, peer_t *p) {
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&p->mu);
  wire_t *w = p->w[W_RTC];
  bool ok = w && w->link && w->ever_up && !w->dead && p->offerer && n->restart_budget_ms > 0;
  if (ok && !p->restart_started_us)
    p->restart_started_us = now;
  gint64 left_ms = ok ? n->restart_budget_ms - (now - p->restart_started_us) / 1000 : 0;
  ok = ok && left_ms > 0;
  if (ok) {
    p->restart_attempt_us = now;
    p->restart_offer = true;
  }
  actr_webrtc_link_t *link = ok ? w->link : NULL;
  g_mutex_unlock(&p->mu);
  if (!ok)
    return false;
  /* The peer connection fails when the budget is spent (or when this
   * attempt and the next have gone unanswered). */
  int limit = (int)MIN(left_ms, 2 * ICE_RESTART_ATTEMPT_MS);
  int rc = actr_webrtc_link_restart_ice(link, limit);
  g_mutex_lock(&p->mu);
  p->restart_offer = false;
  g_mutex_unlock(&p->mu);
  if (rc != ACTR_OK) {
    actr__log(ACTR_LOG_WARN, "node: ICE restart not started: %s", actr_err_detail());
    return false;
  }
  actr__log(ACTR_LOG_INFO, "node: ICE restart offered (in place)");
  g_mutex_lock(&n->mu);
  n->st.ice_restarts++;
  g_mutex_unlock(&n->mu);
  return true;
}

/* maintain: what @p's wires need now; the deadline of its next need into
 * *@next (monotonic µs). */
static void maintain(actr_node_t *n, peer_t *p, gint64 *next) {
  gint64 now = g_get_monotonic_time();
  int timeout_us = n->cfg.connect_timeout_ms * 1000;
  g_mutex_lock(&p->mu);
  wire_t *rtc = p->w[W_RTC];
  bool rtc_up = rtc && rtc->up;
  bool late_answer = rtc && !rtc_up && !p->offerer && !p->got_offer &&
                     now - p->link_started_us > ANSWER_WAIT_US;
  /* A wire that was up and is down now is being restarted or dies by
   * itself (its peer connection's dead-peer detection): no set-up timeout. */
  bool rtc_timeout = rtc && !rtc->ever_up && now - rtc->started_us > timeout_us;
  gint64 restart_due = 0;
  if (rtc && !rtc_up && !rtc->dead && p->offerer && p->restart_started_us &&
      now - p->restart_started_us < (gint64)n->restart_budget_ms * 1000) {
    restart_due = p->restart_attempt_us + ICE_RESTART_ATTEMPT_MS * 1000;
    *next = MIN(*next, restart_due);
  }
  bool want_rtc = !rtc && p->want[W_RTC];
  bool negotiating = p->negotiated_us != 0;
  bool unanswered = negotiating && now - p->negotiated_us > RENEGOTIATE_US;
  bool rtc_due = want_rtc && !negotiating && now >= p->retry_at[W_RTC];
  bool ws_due = !p->w[W_WS_OUT] && !p->dial && p->want[W_WS_OUT] && p->ws_url[0] &&
                now >= p->retry_at[W_WS_OUT];
  char *offer = NULL; /* an offer that waited, its turn come */
  char offer_xid[sizeof p->offer_waiting_xid];
  /* A fresh answering link (a role assignment made it; no offer yet)
   * takes a waiting offer at once: answering on it builds nothing. */
  bool answer_free = rtc && !rtc->dead && !p->offerer && !p->got_offer;
  if (p->offer_waiting &&
      (answer_free || bucket_has(&p->offer_bucket, OFFER_BURST, OFFERS_PER_S, now))) {
    offer = p->offer_waiting; /* ours now */
    p->offer_waiting = NULL;
    memcpy(offer_xid, p->offer_waiting_xid, sizeof offer_xid);
  } else if (p->offer_waiting) {
    *next = MIN(*next, now + (gint64)((1.0 - p->offer_bucket.tokens) / OFFERS_PER_S *
                                      G_USEC_PER_SEC) + 1);
  }
  char *restart = NULL; /* a restart offer that waited, its turn come */
  char restart_xid[sizeof p->restart_waiting_xid];
  if (!offer && p->restart_waiting && bucket_has(&p->offer_bucket, OFFER_BURST, OFFERS_PER_S, now)) {
    restart = p->restart_waiting; /* ours now */
    p->restart_waiting = NULL;
    memcpy(restart_xid, p->restart_waiting_xid, sizeof restart_xid);
  } else if (p->restart_waiting) {
    *next = MIN(*next, now + (gint64)((1.0 - p->offer_bucket.tokens) / OFFERS_PER_S *
                                      G_USEC_PER_SEC) + 1);
  }
  if (rtc && !rtc->ever_up)
    *next = MIN(*next, rtc->started_us + timeout_us);
  if (rtc && !rtc_up && !p->offerer && !p->got_offer)
    *next = MIN(*next, p->link_started_us + ANSWER_WAIT_US);
  if (want_rtc && negotiating)
    *next = MIN(*next, p->negotiated_us + RENEGOTIATE_US);
  if (want_rtc && !negotiating)
    *next = MIN(*next, p->retry_at[W_RTC]);
  if (!p->w[W_WS_OUT] && !p->dial && p->want[W_WS_OUT] && p->ws_url[0])
    *next = MIN(*next, p->retry_at[W_WS_OUT]);
  g_mutex_unlock(&p->mu);
  if (offer) {
    take_offer(n, p, offer, offer_xid[0] ? offer_xid : NULL);
    g_free(offer);
    return; /* the rest next round, with the new link */
  }
  if (restart) {
    take_restart_offer(n, p, restart, restart_xid[0] ? restart_xid : NULL);
    g_free(restart);
  }
  if (rtc_timeout) {
    wire_stop(p, W_RTC);
    build_failed(p, W_RTC, "WebRTC wire not connected in time");
    g_mutex_lock(&p->mu);
    if (p->want[W_RTC])
      *next = MIN(*next, p->retry_at[W_RTC]);
    g_mutex_unlock(&p->mu);
  } else if (restart_due && now >= restart_due) { /* the last restart offer went unanswered */
    restart_attempt(n, p);
  } else if (late_answer) { /* no offer in 10 s: offer ourselves */
    actr__log(ACTR_LOG_INFO, "node: no offer in 10 s: offering instead");
    wire_stop(p, W_RTC);
    start_link(p, true);
    *next = MIN(*next, now + timeout_us);
  }
  if (unanswered && !rtc) {
    g_mutex_lock(&p->mu);
    p->negotiated_us = 0;
    g_mutex_unlock(&p->mu);
    build_failed(p, W_RTC, "no role assignment from actrix");
    g_mutex_lock(&p->mu);
    rtc_due = p->want[W_RTC] && now >= p->retry_at[W_RTC];
    if (p->want[W_RTC])
      *next = MIN(*next, p->retry_at[W_RTC]);
    g_mutex_unlock(&p->mu);
  }
  if (rtc_due) {
    negotiate(p);
    *next = MIN(*next, now + RENEGOTIATE_US);
  }
  if (ws_due) { /* its outcome comes as an item (dialed) */
    int rc = ws_dial(p);
    if (rc != ACTR_OK) {
      char why[200];
      snprintf(why, sizeof why, "WebSocket wire: %s", actr_err_detail());
      build_failed(p, W_WS_OUT, why);
      g_mutex_lock(&p->mu);
      if (p->want[W_WS_OUT])
        *next = MIN(*next, p->retry_at[W_WS_OUT]);
      g_mutex_unlock(&p->mu);
    }
  }
}

/* reap_locked: drop destinations with no wire, no caller and nothing being
 * built (node->mu held; control thread only, which alone frees peers). */
static void reap_locked(actr_node_t *n) {
  for (unsigned i = 0; i < n->npeers;) {
    peer_t *p = n->peers[i];
    g_mutex_lock(&p->mu);
    bool idle = !p->users && !p->w[W_RTC] && !p->w[W_WS_OUT] && !p->w[W_WS_IN] && !p->dial &&
                !p->want[W_RTC] && !p->want[W_WS_OUT] && !p->negotiated_us && !p->offer_waiting &&
                (!p->touched_us || g_get_monotonic_time() - p->touched_us > RENEGOTIATE_US);
    g_mutex_unlock(&p->mu);
    if (!idle) {
      i++;
      continue;
    }
    n->peers[i] = n->peers[--n->npeers];
    n->st.destinations = n->npeers;
    peer_free(p);
  }
}

static void peer_free(peer_t *p) {
  dial_abandon(p);
  for (int s = 0; s < NWIRES; s++)
    wire_stop(p, s);
  actr_signaling_free(p->sig);
  g_ptr_array_unref(p->held_in);
  g_ptr_array_unref(p->held_out);
  g_free(p->offer_waiting);
  g_free(p->restart_waiting);
  g_mutex_clear(&p->mu);
  free(p);
}

/* ice_restart_request: ActrRelay{IceRestartRequest} to @p (we answered its
 * offer and our connection died). */
static void ice_restart_request(peer_t *p, const char *reason) {
  actr__actor_id_pb_t target;
  actr__actor_id_to_pb(&p->id, &target);
  Actr__IceRestartRequest rq = ACTR__ICE_RESTART_REQUEST__INIT;
  rq.reason = (char *)reason;
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  r.target = &target.id;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ICE_RESTART_REQUEST;
  r.ice_restart_request = &rq;
  if (actr__sig_client_relay(p->node->sig, &r) != ACTR_OK)
    actr__log(ACTR_LOG_WARN, "node: IceRestartRequest not sent: %s", actr_err_detail());
}

static void reap_locked(actr_node_t *n);
static void handle_item(actr_node_t *n, item_t *it) {
  switch (it->kind) {
  case ITEM_RELAY: {
    gsize len;
    const uint8_t *d = g_bytes_get_data(it->env, &len);
    Signaling__SignalingEnvelope *e;
    if (actr__pb_decode(&signaling__signaling_envelope__descriptor, d, len, NULL,
                        (ProtobufCMessage **)&e) == ACTR_OK) {
      handle_relay(n, e);
      actr__pb_free(&e->base);
    }
    g_bytes_unref(it->env);
    break;
  }
  case ITEM_WIRE_DEAD:
  case ITEM_KILL_WIRE: {
    /* By id: the destination may have been dropped since (disconnect). */
    g_mutex_lock(&n->mu);
    peer_t *p = peer_find_locked(n, &it->source);
    g_mutex_unlock(&n->mu);
    if (!p)
      break;
    g_mutex_lock(&p->mu);
    bool same = p->w[it->slot] && p->w[it->slot]->serial == it->serial;
    bool was_up = same && (p->w[it->slot]->ever_up || it->kind == ITEM_KILL_WIRE);
    g_mutex_unlock(&p->mu);
    if (!same)
      break;
    if (it->kind == ITEM_KILL_WIRE)
      wire_event(p->w[it->slot], false, true);
    g_mutex_lock(&p->mu);
    bool answerer = it->slot == W_RTC && !p->offerer;
    g_mutex_unlock(&p->mu);
    wire_stop(p, it->slot);
    if (answerer && was_up) /* actr: the answerer asks the offerer to restart */
      ice_restart_request(p, "peer connection failed");
    if (it->slot == W_WS_IN)
      break; /* the other side dials again, or we do (W_WS_OUT) */
    /* A dead wire is rebuilt (a new series of attempts if it had worked)
     * by the side that calls through it: the callee waits to be called
     * again, so the two sides do not both negotiate. */
    g_mutex_lock(&p->mu);
    if (was_up)
      p->lost_us = g_get_monotonic_time();
    if (was_up) {
      p->attempts[it->slot] = 0;
      p->gave_up[it->slot] = false;
      p->retry_at[it->slot] = 0;
      bool caller = p->users ||
                    (p->last_call_us && g_get_monotonic_time() - p->last_call_us < REBUILD_IDLE_US);
      p->want[it->slot] = caller && (it->slot == W_RTC || p->ws_url[0]);
    }
    g_mutex_unlock(&p->mu);
    if (!was_up)
      build_failed(p, it->slot, NULL);
    else
      wake(n); /* calls by type look for another actor (lost_us) */
    break;
  }
  case ITEM_ICE_LOST: { /* a WebRTC wire that was up lost connectivity */
    g_mutex_lock(&n->mu);
    peer_t *p = peer_find_locked(n, &it->source);
    g_mutex_unlock(&n->mu);
    if (!p || n->restart_budget_ms <= 0)
      break; /* no restart: its dead-peer detection ends it, then a rebuild */
    g_mutex_lock(&p->mu);
    wire_t *w = p->w[W_RTC];
    bool lost = w && w->serial == it->serial && !w->dead && !w->up;
    bool offerer = p->offerer, under_way = p->restart_started_us != 0;
    actr_webrtc_link_t *link = lost ? w->link : NULL;
    g_mutex_unlock(&p->mu);
    if (!lost)
      break; /* back already, or gone */
    if (offerer) {
      if (!under_way)
        restart_attempt(n, p);
      break;
    }
    /* actr's answerer: hold the connection for the offerer's restart
     * offer, and ask for one (the offerer may not have noticed). */
    if (link && actr_webrtc_link_restart_ice(link, n->restart_budget_ms + ICE_RESTART_GAP_US / 1000) != ACTR_OK)
      actr__log(ACTR_LOG_WARN, "node: ICE restart not awaited: %s", actr_err_detail());
    ice_restart_request(p, "connection lost");
    break;
  }
  case ITEM_RESTART_BURST: { /* test hook: restart offers back to back */
    g_mutex_lock(&n->mu);
    peer_t *p = peer_find_locked(n, &it->source);
    g_mutex_unlock(&n->mu);
    for (uint64_t i = 0; p && i < it->seq; i++)
      restart_attempt(n, p);
    break;
  }
  case ITEM_MAKE_ROOM: { /* a call found every destination taken (hold_peer) */
    g_mutex_lock(&n->mu);
    /* Only for a call still waiting, and still without room: one that gave
     * up (its time ran out before we got here) costs nobody a place. */
    peer_t *gone = n->room_waiters && n->npeers >= n->cfg.max_peers
                       ? evict_half_open_locked(n, 0)
                       : NULL;
    if (!gone && n->room_waiters && n->npeers >= n->cfg.max_peers)
      gone = evict_caller_locked(n);
    n->room_answered++;
    g_cond_broadcast(&n->cond);
    g_mutex_unlock(&n->mu);
    if (gone)
      peer_free(gone);
    break;
  }
  case ITEM_WS_ACCEPTED: {
    peer_t *p = peer_get(n, &it->source);
    if (!p) {
      actr_ws_conn_close_with(it->conn, 1013, "too many destinations");
      actr_ws_conn_unref(it->conn);
      break;
    }
    wire_stop(p, W_WS_IN); /* the newer connection of that actor wins */
    ws_wire_attach(p, W_WS_IN, it->conn);
    break;
  }
  case ITEM_WS_DIALED: {
    g_mutex_lock(&n->mu);
    peer_t *p = peer_find_locked(n, &it->source);
    g_mutex_unlock(&n->mu);
    if (p)
      dialed(p, it);
    g_free(it->why);
    actr_ws_conn_unref(it->conn);
    break;
  }
  case ITEM_DISCONNECT: {
    g_mutex_lock(&n->mu);
    peer_t *p = peer_find_locked(n, &it->source);
    g_mutex_unlock(&n->mu);
    if (p) {
      g_mutex_lock(&p->mu);
      for (int s = 0; s < NWIRES; s++) {
        p->want[s] = false;
        p->attempts[s] = 0;
        p->gave_up[s] = false;
      }
      p->negotiated_us = 0;
      p->last_call_us = 0;
      p->touched_us = 0;
      g_free(p->offer_waiting);
      p->offer_waiting = NULL;
      g_free(p->restart_waiting);
      p->restart_waiting = NULL;
      g_ptr_array_set_size(p->held_in, 0);
      g_mutex_unlock(&p->mu);
      dial_abandon(p);
      for (int s = 0; s < NWIRES; s++)
        wire_stop(p, s);
    }
    g_mutex_lock(&n->mu);
    reap_locked(n);
    n->disconnects_done = MAX(n->disconnects_done, it->seq);
    g_cond_broadcast(&n->cond);
    g_mutex_unlock(&n->mu);
    break;
  }
  case ITEM_FETCH_KEY: { /* a key a connecting actor's credential names */
    job_t *j = g_new0(job_t, 1);
    j->kind = JOB_KEY;
    j->key_id = it->key_id;
    if (!job_start(n, j)) {
      actr__log(ACTR_LOG_WARN, "node: no thread to fetch signing key %u on", it->key_id);
      key_fetched(n, it->key_id, ACTR_ENO_MEMORY, NULL);
    }
    break;
  }
  case ITEM_CRED_DONE:
    cred_done(n, it);
    g_free(it->why);
    break;
  case ITEM_SYNC: /* everything queued before it is handled */
    g_mutex_lock(&n->mu);
    n->synced = it->seq;
    g_cond_broadcast(&n->cond);
    g_mutex_unlock(&n->mu);
    break;
  default: /* ITEM_CONNECT: maintain does it; ITEM_NOP, ITEM_STOP */
    break;
  }
}

static gpointer control_main(gpointer data) {
  actr_node_t *n = data;
  gint64 next = g_get_monotonic_time();
  for (;;) {
    g_mutex_lock(&n->mu);
    while (n->control_paused) {
      n->control_parked = true;
      g_cond_broadcast(&n->cond);
      g_cond_wait(&n->cond, &n->mu);
    }
    n->control_parked = false;
    g_mutex_unlock(&n->mu);
    gint64 wait = next - g_get_monotonic_time();
    item_t *it = wait > 0 ? g_async_queue_timeout_pop(n->q, (guint64)wait) : g_async_queue_try_pop(n->q);
    if (it) {
      if (it->kind == ITEM_RELAY)
        relay_dequeued(n, it);
      item_kind_t kind = it->kind;
      handle_item(n, it);
      g_free(it);
      if (kind == ITEM_STOP)
        break;
    }
    /* Every destination's needs; the next deadline (the credential is
     * looked at every second at most). */
    gint64 now = g_get_monotonic_time();
    next = now + G_USEC_PER_SEC;
    g_mutex_lock(&n->mu);
    unsigned np = n->npeers;
    g_mutex_unlock(&n->mu);
    /* Only this thread removes destinations: the first @np stay. */
    for (unsigned i = 0; i < np; i++)
      maintain(n, n->peers[i], &next);
    g_mutex_lock(&n->mu);
    reap_locked(n);
    g_mutex_unlock(&n->mu);
    check_credential(n);
  }
  return NULL;
}

/* enqueue_kind: an item of @kind with nothing else in it (ITEM_NOP wakes
 * the control thread from its queue). */
static void enqueue_kind(actr_node_t *n, item_kind_t kind) {
  item_t *it = g_new0(item_t, 1);
  it->kind = kind;
  enqueue(n, it);
}

typedef struct relay_share {
  gint64 serial; /* the key */
  unsigned items;
  size_t bytes;
} relay_share_t;

/* relay_share_take: count a relay of @bytes from @source, unless that
 * actor holds its share of the queue already (false). */
static bool relay_share_take(actr_node_t *n, const actr_actor_id_t *source, size_t bytes) {
  gint64 key = (gint64)source->serial;
  g_mutex_lock(&n->mu);
  relay_share_t *sh = g_hash_table_lookup(n->relay_shares, &key);
  bool ok = !sh || (sh->items < RELAY_SOURCE_MAX && sh->bytes + bytes <= RELAY_SOURCE_BYTES);
  if (ok && !sh) {
    sh = g_new0(relay_share_t, 1);
    sh->serial = key;
    g_hash_table_insert(n->relay_shares, &sh->serial, sh);
  }
  if (ok) {
    sh->items++;
    sh->bytes += bytes;
  }
  g_mutex_unlock(&n->mu);
  return ok;
}

/* relay_dequeued: @it left the queue for the control thread: out of the
 * queue's counts and its sender's share, counted as handled. */
static void relay_dequeued(actr_node_t *n, const item_t *it) {
  size_t bytes = g_bytes_get_size(it->env);
  atomic_fetch_sub(&n->queued, 1);
  atomic_fetch_sub(&n->queued_bytes, bytes);
  gint64 key = (gint64)it->source.serial;
  g_mutex_lock(&n->mu);
  n->st.relays_handled++; /* (about to be) */
  relay_share_t *sh = it->shared ? g_hash_table_lookup(n->relay_shares, &key) : NULL;
  if (sh && --sh->items == 0)
    g_hash_table_remove(n->relay_shares, &key); /* frees it */
  else if (sh)
    sh->bytes -= bytes;
  g_mutex_unlock(&n->mu);
}

static bool enqueue(actr_node_t *n, item_t *it) {
  size_t bytes = it->env ? g_bytes_get_size(it->env) : 0;
  bool over = false;
  if (it->kind == ITEM_RELAY) {
    int queued = atomic_fetch_add(&n->queued, 1);
    size_t queued_bytes = atomic_fetch_add(&n->queued_bytes, bytes);
    over = queued >= RELAY_QUEUE_MAX || queued_bytes + bytes > RELAY_BYTES_MAX ||
           (it->shared && !relay_share_take(n, &it->source, bytes)); /* last: only if kept */
  }
  if (over) {
    atomic_fetch_sub(&n->queued, 1);
    atomic_fetch_sub(&n->queued_bytes, bytes);
    g_mutex_lock(&n->mu);
    n->st.relays_dropped++;
    g_mutex_unlock(&n->mu);
    if (it->env)
      g_bytes_unref(it->env);
    g_free(it);
    return false;
  }
  g_async_queue_push(n->q, it); /* items of our own are not counted: a peer's are */
  return true;
}

/* The signaling client's relays (I/O thread): to the control thread. */
static void on_relay(const Signaling__SignalingEnvelope *env, void *user) {
  actr_node_t *n = user;
  /* What a peer may make us keep: an SDP or a candidate within the bounds
   * of the signaling messages (actr/signaling.h), and the queue bounded in
   * count and bytes. */
  const Signaling__ActrRelay *r = env->actr_relay;
  if ((r->payload_case == SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION &&
       strlen(r->session_description->sdp) > ACTR_SIGNALING_MAX_SDP) ||
      (r->payload_case == SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE &&
       strlen(r->ice_candidate->candidate) > ACTR_SIGNALING_MAX_CANDIDATE)) {
    g_mutex_lock(&n->mu);
    n->st.relays_dropped++;
    g_mutex_unlock(&n->mu);
    return;
  }
  uint8_t *buf;
  size_t len;
  if (actr__pb_encode(&env->base, &buf, &len) != ACTR_OK)
    return;
  item_t *it = g_new0(item_t, 1);
  it->kind = ITEM_RELAY;
  it->env = g_bytes_new_take(buf, len);
  /* Its sender's share of the queue (source: a required field); actrix's
   * role assignments to us name us as their source, and count for nobody. */
  const actr_actor_id_t *me = actr_node_id(n);
  it->source.serial = r->source->serial_number;
  it->shared = r->source->serial_number != me->serial ||
               r->source->realm->realm_id != me->realm_id;
  enqueue(n, it);
}


/* ---- the direct WebSocket listener (the I/O thread) ---- */

/* asker_of: the asker entry of numeric address @host (an IPv6 address
 * counts by its /64, an IPv4-mapped one as IPv4), made (full) if new in the
 * least recently seen entry's place; NULL when @host is none.  Under n->mu. */
static asker_t *asker_of(actr_node_t *n, const char *host, gint64 now) {
  GInetAddress *ia = host ? g_inet_address_new_from_string(host) : NULL;
  if (!ia)
    return NULL;
  uint8_t key[ACTR__ADDR_KEY_LEN];
  actr__addr_key(g_inet_address_to_bytes(ia), g_inet_address_get_native_size(ia), key);
  g_object_unref(ia);
  asker_t *lru = &n->askers[0];
  for (unsigned i = 0; i < ASKERS_MAX; i++) {
    asker_t *a = &n->askers[i];
    if (a->set && memcmp(a->addr, key, sizeof key) == 0)
      return a;
    if (!a->set || (lru->set && a->bucket.us < lru->bucket.us))
      lru = a;
  }
  memcpy(lru->addr, key, sizeof key);
  lru->set = true;
  lru->bucket = (bucket_t){ASKER_BURST, now};
  return lru;
}

/* find_key: the public key of @key_id: our registration's, else the
 * cache's.  On a miss, asks the control thread to fetch it
 * (GetSigningKeyRequest) once, if the bounds on asks allow (KEY_ASKS_MAX,
 * the node's token bucket, the bucket of the address @req came from: one
 * whose address is unknown asks nothing), into a free slot or the least
 * recently used key's, never one still asking.  Returns KEY_FOUND, KEY_ASKED
 * or KEY_BUSY (not asked). */
enum { KEY_FOUND, KEY_ASKED, KEY_BUSY };
static int find_key(actr_node_t *n, uint32_t key_id, const actr_ws_request_t *req,
                    uint8_t pub[32]) {
  uint32_t own_id;
  const uint8_t *own;
  size_t own_len;
  bool own_key = false;
  g_mutex_lock(&n->cred_mu); /* the I/O thread: a renewal may replace it meanwhile */
  if (actr__credential_signing_key(n->cred, &own_id, &own, &own_len) && own_id == key_id &&
      own_len == 32) {
    memcpy(pub, own, 32);
    own_key = true;
  }
  g_mutex_unlock(&n->cred_mu);
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&n->mu);
  if (own_key && !n->keys_forgotten) {
    g_mutex_unlock(&n->mu);
    return KEY_FOUND;
  }
  sign_key_t *k = NULL, *slot = NULL;
  for (unsigned i = 0; i < KEYS_MAX && !k; i++) {
    sign_key_t *c = &n->keys[i];
    if ((c->set || c->asking) && c->id == key_id)
      k = c;
    else if (!c->asking && (!slot || (slot->set && (!c->set || c->used_us < slot->used_us))))
      slot = c; /* free, else the least recently used key */
  }
  int res = KEY_ASKED;
  if (k && k->set) {
    memcpy(pub, k->pub, 32);
    k->used_us = now;
    res = KEY_FOUND;
  } else if (!k) { /* not asked yet: ask if the bounds allow */
    char peer[64]; /* only on this path: a known key needs no address */
    bool known = actr_ws_request_peer(req, peer, sizeof peer, NULL) == ACTR_OK;
    asker_t *who = asker_of(n, known ? peer : NULL, now);
    if (!who || !bucket_has(&who->bucket, ASKER_BURST, ASKER_ASKS_PER_S, now) ||
        !bucket_has(&n->key_bucket, KEY_ASK_BURST, KEY_ASKS_PER_S, now) ||
        n->key_asks >= KEY_ASKS_MAX || !slot) {
      n->st.signing_key_asks_refused++;
      res = KEY_BUSY;
    } else {
      bucket_take(&who->bucket);
      bucket_take(&n->key_bucket);
      n->key_asks++;
      n->st.signing_key_asks++;
      memset(slot, 0, sizeof *slot);
      slot->id = key_id;
      slot->asking = true;
      item_t *it = g_new0(item_t, 1);
      it->kind = ITEM_FETCH_KEY;
      it->key_id = key_id;
      /* Bounded by KEY_ASKS_MAX (relays are counted in enqueue). */
      g_async_queue_push(n->q, it);
    }
  }
  g_mutex_unlock(&n->mu);
  return res;
}

/* is_our_id: @id is this node's ActrId, now or from an earlier
 * registration still in the ring (its credential may not have expired). */
static bool is_our_id(actr_node_t *n, const actr_actor_id_t *id) {
  int gen = g_atomic_int_get(&n->id_gen);
  for (int i = 0; i <= OLD_IDS && i <= gen; i++)
    if (actr_actor_id_equal(&n->ids[i], id))
      return true;
  return false;
}

/* check_identity: actr__ws_gate_check of @req's identity headers with the
 * key its credential names; the node's own ActrId is refused (403). */
static int check_identity(actr_node_t *n, const actr_ws_request_t *req, actr_actor_id_t *src,
                          char *why, size_t why_size) {
  const char *source = actr_ws_request_header(req, "X-Actr-Source-ID");
  const char *credential = actr_ws_request_header(req, "X-Actr-Credential");
  uint32_t key_id = 0;
  uint8_t pub[32];
  bool named = credential && actr__ws_gate_key_id(credential, &key_id) == ACTR_OK;
  int found = named ? find_key(n, key_id, req, pub) : KEY_BUSY;
  bool have = named && found == KEY_FOUND;
  if (named && !have) {
    if (why)
      snprintf(why, why_size, "unknown signing key id %u (%s)", key_id,
               found == KEY_ASKED ? "asked actrix for it" : "too many asks now: not asked");
    return 401;
  }
  int status =
      actr__ws_gate_check(source, credential, key_id, have ? pub : NULL, have ? 32 : 0,
                          actr__unix_now_s(), src, why, why_size);
  if (status == 0 && is_our_id(n, src)) {
    /* Our own credential, replayed by an actor we dialed (it came in our
     * headers): nobody else holds it, and we never dial ourselves. */
    if (why)
      snprintf(why, why_size, "the source is this node's own ActrId");
    return 403;
  }
  if (status == 0 && src->realm_id != n->cfg.realm_id) {
    /* A credential of another realm (its AIS may sign with the same key):
     * actrix refuses such an actor's relays to us, the gate refuses it too. */
    if (why)
      snprintf(why, why_size, "the source is of realm %u, this node of realm %u", src->realm_id,
               n->cfg.realm_id);
    return 403;
  }
  return status;
}

static int ws_check(const actr_ws_request_t *req, void *user) {
  actr_node_t *n = user;
  actr_actor_id_t src;
  char why[120];
  int status = check_identity(n, req, &src, why, sizeof why);
  if (status) {
    actr__log(ACTR_LOG_WARN, "node: direct WebSocket refused (%d): %s", status, why);
    g_mutex_lock(&n->mu);
    n->st.ws_refused++;
    g_mutex_unlock(&n->mu);
  }
  return status;
}

static void ws_accept(actr_ws_conn_t *conn, const char *path, void *user) {
  (void)path;
  actr_node_t *n = user;
  item_t *it = g_new0(item_t, 1);
  it->kind = ITEM_WS_ACCEPTED;
  it->conn = conn;
  /* Verified before the upgrade (ws_check, installed with the server, so no
   * request passed unchecked): only the source is read again. */
  if (actr__ws_gate_source(actr_ws_conn_source_id(conn), &it->source, NULL, 0) != 0) {
    actr_ws_conn_close_with(conn, 1008, "identity rejected");
    actr_ws_conn_unref(conn);
    g_free(it);
    return;
  }
  enqueue(n, it);
}

/* ---- public API ---- */

void actr_node_config_init(actr_node_config_t *cfg) {
  if (cfg)
    memset(cfg, 0, sizeof *cfg);
}

int actr_node_new(actr_runtime_t *rt, const actr_node_config_t *cfg, actr_node_t **out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_new: out is NULL");
  *out = NULL;
  if (!rt || !cfg || !cfg->ais_url || !cfg->signaling_url)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_new: rt, cfg and both URLs are needed");
  if (actr_runtime_is_io_thread(rt))
    return actr__fail(ACTR_EINVALID_OPERATION, "actr_node_new: not on the I/O thread");
  actr_node_t *n = calloc(1, sizeof *n);
  if (!n)
    return actr__fail(ACTR_ENO_MEMORY, "node");
  n->rt = actr_runtime_ref(rt);
  n->stop = g_cancellable_new();
  n->ended_jobs = g_ptr_array_new();
  n->cfg = *cfg;
  n->cfg.connect_timeout_ms = ACTR__OR_DEFAULT(n->cfg.connect_timeout_ms, 20000);
  n->cfg.max_peers = ACTR__OR_DEFAULT(n->cfg.max_peers, 64);
  n->cfg.max_pending_calls = ACTR__OR_DEFAULT(n->cfg.max_pending_calls, 1024);
  n->restart_budget_ms = cfg->ice_restart_timeout_ms == 0 ? ICE_RESTART_BUDGET_MS
                         : cfg->ice_restart_timeout_ms;
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    actr__route_resolve(&cfg->routes[t], (actr_payload_type_t)t, &n->routes[t]);
  n->ais_url = g_strdup(cfg->ais_url);
  n->signaling_url = g_strdup(cfg->signaling_url);
  n->realm_secret = g_strdup(cfg->realm_secret);
  n->turn_url = g_strdup(cfg->turn_url);
  n->ws_host = g_strdup(cfg->ws_listen_host);
  n->cfg.turn_url = n->turn_url;
  n->cfg.ais_url = n->ais_url;
  n->cfg.signaling_url = n->signaling_url;
  n->cfg.realm_secret = n->realm_secret;
  n->cfg.ws_listen_host = n->ws_host;
  n->ice = g_new0(const char *, cfg->ice_address_count + 1);
  for (size_t i = 0; i < cfg->ice_address_count; i++)
    n->ice[i] = g_strdup(cfg->ice_addresses[i]);
  n->cfg.ice_addresses = n->ice;
  g_mutex_init(&n->mu);
  g_mutex_init(&n->cred_mu);
  g_cond_init(&n->cond);
  n->peers = calloc(n->cfg.max_peers, sizeof *n->peers);
  n->calls = calloc(n->cfg.max_pending_calls, sizeof *n->calls);
  n->seen = calloc(DEDUP_IDS, sizeof *n->seen);
  n->ended = calloc(ENDED_IDS, sizeof *n->ended);
  n->ended_set = g_hash_table_new(g_str_hash, g_str_equal);
  n->relay_shares = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
  n->ws_addrs = calloc(WS_ADDRS_MAX, sizeof *n->ws_addrs);
  n->q = g_async_queue_new();
  n->key_bucket = (bucket_t){KEY_ASK_BURST, g_get_monotonic_time()};
  int rc = n->peers && n->calls && n->seen && n->ended && n->ws_addrs
               ? ACTR_OK : actr__fail(ACTR_ENO_MEMORY, "node tables");
  actr_ais_options_t ao = {.realm_secret = n->realm_secret};
  char ws_address[WS_URL_MAX];
  if (rc == ACTR_OK && n->ws_host) { /* listen first: AIS gets the real port */
    actr_ws_config_t wc;
    actr_ws_config_init(&wc);
    wc.check = ws_check;
    wc.check_user = n;
    wc.max_handshakes_per_address = WS_HANDSHAKES_PER_ADDRESS;
    rc = actr_ws_server_new(rt, n->ws_host, cfg->ws_listen_port, &wc, ws_accept, n,
                            &n->ws_server);
    snprintf(ws_address, sizeof ws_address, "ws://%s:%u", n->ws_host,
             n->ws_server ? actr_ws_server_port(n->ws_server) : 0);
    ao.ws_address = ws_address;
  }
  actr_credential_t *cred = NULL;
  if (rc == ACTR_OK)
    rc = actr_ais_register(n->ais_url, &cfg->type, cfg->realm_id, &ao, &cred);
  if (rc == ACTR_OK) {
    n->ids[0] = *actr_credential_actor_id(cred);
    g_mutex_lock(&n->cred_mu); /* the listener's checks may read it already */
    n->cred = cred;
    g_mutex_unlock(&n->cred_mu);
  }
  n->cred_since = actr__unix_now_s();
  if (rc == ACTR_OK) {
    actr__sig_config_t sc = {.url = n->signaling_url,
                             .ca_file = cfg->ca_file,
                             .cred = n->cred,
                             .dialect_03 = cfg->dialect == ACTR_NODE_DIALECT_03};
    actr__sig_events_t ev = {.on_relay = on_relay};
    rc = actr__sig_client_new(rt, &sc, &ev, n, &n->sig);
  }
  if (rc != ACTR_OK) {
    char why[300];
    snprintf(why, sizeof why, "%s", actr_err_detail());
    actr_node_free(n);
    return actr__fail(rc, "%s", why);
  }
  n->control = g_thread_new("actr-node", control_main, n);
  *out = n;
  return ACTR_OK;
}

const actr_actor_id_t *actr_node_id(const actr_node_t *node) {
  if (!node) /* ids[0] is set before actr_node_new hands the node out */
    return NULL;
  return &node->ids[g_atomic_int_get(&((actr_node_t *)node)->id_gen) % (OLD_IDS + 1)];
}

/* discover: actr_node_discover within @timeout_ms (0: the signaling
 * client's request timeout). */
static int discover(actr_node_t *node, const actr_actor_type_t *type, actr_actor_id_t *out,
                    unsigned max, unsigned *n, int timeout_ms) {
  if (!node || !type || (!out && max) || !n)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_discover: NULL argument");
  char(*urls)[WS_URL_MAX] = max ? g_malloc0((gsize)max * WS_URL_MAX) : NULL;
  int rc = actr__sig_client_discover(node->sig, type, max, out, urls, WS_URL_MAX, n, timeout_ms);
  /* 0.5: the WebSocket addresses that came with the candidates, for the
   * direct wire (kept in a bounded ring; a destination reads them). */
  g_mutex_lock(&node->mu);
  for (unsigned i = 0; rc == ACTR_OK && i < *n; i++) {
    if (!urls[i][0] || node->cfg.dialect == ACTR_NODE_DIALECT_03)
      continue;
    ws_addr_t *a = NULL;
    for (unsigned j = 0; j < WS_ADDRS_MAX && !a; j++)
      if (node->ws_addrs[j].url[0] && actr_actor_id_equal(&node->ws_addrs[j].id, &out[i]))
        a = &node->ws_addrs[j];
    if (!a) {
      a = &node->ws_addrs[node->ws_addrs_next];
      node->ws_addrs_next = (node->ws_addrs_next + 1) % WS_ADDRS_MAX;
    }
    a->id = out[i];
    snprintf(a->url, sizeof a->url, "%s", urls[i]);
    peer_t *p = peer_find_locked(node, &out[i]);
    if (p) {
      g_mutex_lock(&p->mu);
      snprintf(p->ws_url, sizeof p->ws_url, "%s", urls[i]);
      g_mutex_unlock(&p->mu);
    }
  }
  g_mutex_unlock(&node->mu);
  g_free(urls);
  return rc;
}

int actr_node_discover(actr_node_t *node, const actr_actor_type_t *type, actr_actor_id_t *out,
                       unsigned max, unsigned *n) {
  return discover(node, type, out, max, n, 0);
}

int actr_node_serve(actr_node_t *node, actr_node_request_fn fn, void *user) {
  if (!node)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_serve: node is NULL");
  g_mutex_lock(&node->mu);
  node->serve_fn = fn;
  node->serve_user = user;
  g_mutex_unlock(&node->mu);
  return ACTR_OK;
}

/* ---- sending: pick a ready wire by the route, wait for one on events ---- */

static int route_slot(actr_node_wire_kind_t k, int which) {
  if (k == ACTR_NODE_WIRE_WEBRTC)
    return which == 0 ? W_RTC : -1;
  if (k == ACTR_NODE_WIRE_WEBSOCKET)
    return which == 0 ? W_WS_OUT : which == 1 ? W_WS_IN : -1;
  return -1;
}

/* pick_locked: the lane of @type on the first ready wire of @route (node->mu
 * held).  Otherwise asks for the wires the route names to be built and
 * says whether any of them may still come (*@hope). */
static actr_lane_t *pick_locked(actr_node_t *n, peer_t *p, const actr_node_route_t *route,
                                actr_payload_type_t type, int *slot, unsigned *serial,
                                int *id_gen, bool *hope) {
  actr_lane_t *lane = NULL;
  bool kick = false;
  int picked = ACTR_NODE_ROUTE_MAX_WIRES;
  *hope = false;
  g_mutex_lock(&p->mu);
  for (int i = 0; i < ACTR_NODE_ROUTE_MAX_WIRES && !lane; i++)
    for (int j = 0; j < 2 && !lane; j++) {
      int s = route_slot(route->wires[i], j);
      if (s < 0)
        continue;
      wire_t *w = p->w[s];
      if (w && w->up && !w->dead && w->lanes[type]) {
        lane = actr_lane_ref(w->lanes[type]);
        *slot = s;
        *serial = w->serial;
        *id_gen = w->id_gen;
        picked = i;
      }
    }
  /* The wires the route prefers to the one picked (all when none was) are
   * built meanwhile, all at once: a fallback does not wait for the first
   * choice to time out, and the first choice comes back when it can. */
  for (int i = 0; i < picked; i++) {
    int s = route_slot(route->wires[i], 0);
    if (s < 0 || (s == W_WS_OUT && !p->ws_url[0]))
      continue; /* no WebSocket address for this actor: passed over */
    if (s == W_WS_OUT && p->w[W_WS_IN] && !p->w[W_WS_IN]->dead)
      *hope = true; /* an accepted one is there */
    if (p->w[s] && !p->w[s]->dead) {
      *hope = true; /* being built */
      continue;
    }
    if (!p->want[s] && !p->gave_up[s]) {
      p->want[s] = true;
      p->attempts[s] = 0;
      p->retry_at[s] = 0;
      kick = true;
    }
    *hope = *hope || p->want[s];
  }
  g_mutex_unlock(&p->mu);
  (void)n;
  if (kick) {
    item_t *it = g_new0(item_t, 1);
    it->kind = ITEM_CONNECT; /* wakes the control thread: maintain builds it */
    g_async_queue_push(n->q, it); /* our own items are not counted (relays are) */
  }
  return lane;
}

static bool lost_since(peer_t *p, gint64 t);
/* wait_wire_locked: a lane of @type to @p, waiting on node->cond (wires
 * coming up or dying wake it) until @until.  node->mu held. */
static int wait_wire_locked(actr_node_t *n, peer_t *p, const actr_node_route_t *route,
                            actr_payload_type_t type, gint64 until, gint64 lost_after,
                            actr_lane_t **out, int *slot, unsigned *serial, int *id_gen) {
  bool retried = false;
  for (;;) {
    bool hope;
    *out = pick_locked(n, p, route, type, slot, serial, id_gen, &hope);
    if (*out)
      return ACTR_OK;
    if (lost_after && lost_since(p, lost_after))
      return actr__fail(ACTR_ENO_ROUTE, "node: the target's wires died");
    if (!hope && !retried) {
      /* Every wire gave up earlier: a new call starts a new series. */
      g_mutex_lock(&p->mu);
      for (int s = 0; s < NWIRES; s++)
        p->gave_up[s] = false;
      g_mutex_unlock(&p->mu);
      retried = true;
      continue;
    }
    if (!hope) {
      char why[200];
      g_mutex_lock(&p->mu);
      snprintf(why, sizeof why, "%s", p->why[0] ? p->why : "no wire the route allows");
      g_mutex_unlock(&p->mu);
      return actr__fail(ACTR_ECONNECTION, "node: no wire to the target: %s", why);
    }
    if (!g_cond_wait_until(&n->cond, &n->mu, until)) {
      char why[200];
      g_mutex_lock(&p->mu);
      snprintf(why, sizeof why, "%s", p->why);
      g_mutex_unlock(&p->mu);
      return why[0] ? actr__fail(ACTR_ETIMEOUT, "node: no wire ready in time (%s)", why)
                    : actr__fail(ACTR_ETIMEOUT, "node: no wire to the target ready in time");
    }
  }
}

/* lost_since: a wire of @p that was up died after @t (calls by type). */
static bool lost_since(peer_t *p, gint64 t) {
  g_mutex_lock(&p->mu);
  bool lost = p->lost_us > t;
  g_mutex_unlock(&p->mu);
  return lost;
}

static bool wire_alive(peer_t *p, int slot, unsigned serial) {
  g_mutex_lock(&p->mu);
  bool alive = p->w[slot] && p->w[slot]->serial == serial && !p->w[slot]->dead;
  g_mutex_unlock(&p->mu);
  return alive;
}

/* hold_peer: @target's destination, held (users) until release_peer;
 * NULL (ACTR_ERESOURCE_EXHAUSTED) when max_peers are there and each is one
 * we call (none half-open, none that only called us), or no place came
 * free before @until. */
static peer_t *hold_peer(actr_node_t *n, const actr_actor_id_t *target, gint64 until) {
  g_mutex_lock(&n->mu);
  peer_t *p = peer_get_locked(n, target);
  until = MIN(until, g_get_monotonic_time() + ROOM_WAIT_US);
  while (!p && n->control) {
    /* Full: the control thread gives us the place of a half-open
     * destination when there is one (ITEM_MAKE_ROOM).  Asked again when
     * another actor's relay took the place it made before we did. */
    unsigned answered = n->room_answered;
    uint64_t evicted = n->st.destinations_evicted + n->st.callers_evicted;
    n->room_waiters++;
    g_mutex_unlock(&n->mu);
    enqueue_kind(n, ITEM_MAKE_ROOM);
    g_mutex_lock(&n->mu);
    bool answer = true;
    while (n->room_answered == answered && n->npeers >= n->cfg.max_peers &&
           (answer = g_cond_wait_until(&n->cond, &n->mu, until)))
      ;
    n->room_waiters--;
    p = peer_get_locked(n, target);
    if (!answer || n->st.destinations_evicted + n->st.callers_evicted == evicted)
      break; /* out of time, or nothing was half-open */
  }
  if (p) {
    g_mutex_lock(&p->mu);
    p->users++;
    p->last_call_us = g_get_monotonic_time();
    g_mutex_unlock(&p->mu);
  }
  g_mutex_unlock(&n->mu);
  return p;
}

static void release_peer(actr_node_t *n, peer_t *p) {
  g_mutex_lock(&p->mu);
  p->users--;
  g_mutex_unlock(&p->mu);
  (void)n;
}

/* not_again_locked: a call's request is not sent again: the node has registered
 * again (0.3: a new ActrId) since its first attempt went out, and the
 * callee, which runs a request id once per caller ActrId, would run it
 * again.  node->mu held. */
static int not_again_locked(actr_node_t *n, const char *rid) {
  n->st.calls_not_retried++;
  return actr__fail(ACTR_ECONNECTION,
                    "node: the wire died with request %s on it, and the node has registered "
                    "again since (a new ActrId): not sent again, as the callee would take it "
                    "for a new request (it may have run)", rid);
}

/* call_common: one call to @target.  @rid: the request id (NULL: a new
 * one).  @lost_after (calls by type; 0: none): give up with *@lost set
 * (ACTR_ENO_ROUTE) as soon as a wire of @target that was up dies after this
 * time, instead of waiting for it to be rebuilt.  @first_gen_io (NULL for
 * none): in, the registration (id_gen) an earlier call with this request id
 * went out under to the same actor, -1 for none; out, this call's (calls by
 * type keep it across their rounds). */
static int call_common(actr_node_t *n, actr_payload_type_t type, const actr_actor_id_t *target,
                       const char *route_key, const void *payload, size_t len, int timeout_ms,
                       actr_envelope_t **response, const char *rid_in, gint64 lost_after,
                       bool *lost, int *first_gen_io) {
  if (!n || !target || !route_key || (!payload && len))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "node call: NULL argument");
  if (type != ACTR_PAYLOAD_RPC_RELIABLE && type != ACTR_PAYLOAD_RPC_SIGNAL)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "node call: RPC_RELIABLE or RPC_SIGNAL only");
  if (actr_runtime_is_io_thread(n->rt))
    return actr__fail(ACTR_EINVALID_OPERATION, "node call: not on the I/O thread");
  bool tell = response == NULL;
  const actr_node_route_t *route = &n->routes[type];
  int limit_ms = tell ? n->cfg.connect_timeout_ms : timeout_ms; /* waiting and sending */
  gint64 until = g_get_monotonic_time() + (gint64)limit_ms * 1000;
  char *rid = rid_in ? g_strdup(rid_in) : g_uuid_string_random(); /* a UUIDv4, as actr */
  actr_envelope_t *env;
  int rc = actr_envelope_new(route_key, rid, tell ? 0 : timeout_ms, &env);
  if (rc == ACTR_OK)
    rc = actr_envelope_set_payload(env, payload ? payload : "", len);
  if (rc == ACTR_OK && n->cfg.dialect == ACTR_NODE_DIALECT_05)
    rc = actr_envelope_set_direction(env, tell ? ACTR_ENVELOPE_DIRECTION_TELL : ACTR_ENVELOPE_DIRECTION_REQUEST);
  uint8_t *buf = NULL;
  size_t blen = 0;
  if (rc == ACTR_OK)
    rc = actr_envelope_encode(env, &buf, &blen);
  actr_envelope_free(env);
  peer_t *p = rc == ACTR_OK ? hold_peer(n, target, until) : NULL;
  if (rc == ACTR_OK && !p)
    rc = ACTR_ERESOURCE_EXHAUSTED;
  call_t *c = NULL;
  g_mutex_lock(&n->mu);
  if (rc == ACTR_OK && tell && n->cfg.dialect == ACTR_NODE_DIALECT_03)
    ended_add_locked(n, rid); /* 0.3 answers tells: that answer is no request */
  if (rc == ACTR_OK && !tell) { /* registered before sending: the answer may be quick */
    for (unsigned i = 0; i < n->cfg.max_pending_calls && !c; i++)
      if (!n->calls[i].used)
        c = &n->calls[i];
    if (c) {
      c->used = true;
      c->response = NULL;
      c->target = *target;
      snprintf(c->request_id, sizeof c->request_id, "%s", rid);
    } else {
      rc = actr__fail(ACTR_ERESOURCE_EXHAUSTED, "node: %u calls pending already",
                      n->cfg.max_pending_calls);
    }
  }
  /* Attempts: each on the first ready wire of the route; the next one only
   * when the wire of the last died before the answer came, after the
   * route's backoff, within the call's timeout. */
  /* The ActrId the first attempt's wire knows us by (its id_gen).  The
   * callee runs a request id once per caller ActrId: registered again since
   * (0.3: a new ActrId), a retry would reach it as another caller's request
   * and run again, so it is sent only while that is still our ActrId and
   * the wire's. */
  int first_gen = first_gen_io ? *first_gen_io : -1;
  for (unsigned attempt = 1; rc == ACTR_OK; attempt++) {
    actr_lane_t *lane;
    int slot, gen;
    unsigned serial;
    if (first_gen >= 0 && g_atomic_int_get(&n->id_gen) != first_gen) {
      rc = not_again_locked(n, rid); /* not worth waiting for a wire */
      break;
    }
    rc = wait_wire_locked(n, p, route, type, until, lost_after, &lane, &slot, &serial, &gen);
    if (rc != ACTR_OK) {
      if (lost && lost_after && rc == ACTR_ENO_ROUTE)
        *lost = true;
      break;
    }
    if (first_gen < 0) {
      first_gen = gen;
    } else if (gen != first_gen || g_atomic_int_get(&n->id_gen) != first_gen) {
      actr_lane_unref(lane);
      rc = not_again_locked(n, rid);
      break;
    }
    if (attempt > 1)
      n->st.calls_retried++;
    g_mutex_unlock(&n->mu);
    /* Not under the lock: it may wait, while the peer takes no more, but
     * only within the call's time (a tell's: connect_timeout_ms). */
    rc = actr_lane_send_timeout(lane, buf, blen, actr__ms_left(until));
    actr_lane_unref(lane);
    g_mutex_lock(&n->mu);
    if (rc == ACTR_OK)
      n->st.calls_sent++;
    if (rc == ACTR_ETIMEOUT || rc == ACTR_EWOULD_BLOCK) { /* the wire is alive, just full */
      rc = actr__fail(ACTR_ETIMEOUT, "node: request %s not sent within %d ms: the peer takes "
                      "no more", rid, limit_ms);
      n->st.calls_timed_out++;
      break;
    }
    bool died = rc != ACTR_OK;
    while (rc == ACTR_OK && !tell && !c->response) {
      if (!wire_alive(p, slot, serial)) {
        died = true;
        break;
      }
      if (!g_cond_wait_until(&n->cond, &n->mu, until) && !c->response) {
        rc = actr__fail(ACTR_ETIMEOUT, "node: no response to %s within %d ms", rid, timeout_ms);
        n->st.calls_timed_out++;
      }
    }
    if (tell || !died || (c && c->response))
      break;
    /* A send refused for the request itself (too large, ...) is not a
     * wire that died: no retry. */
    if (rc != ACTR_OK && wire_alive(p, slot, serial) && actr_err_class(rc) != ACTR_ERR_CLASS_TRANSIENT)
      break;
    /* The wire died with the request on it. */
    if (lost_after && lost_since(p, lost_after)) { /* by type: look for the actor again */
      rc = actr__fail(ACTR_ENO_ROUTE, "node: the wire died with request %s on it", rid);
      if (lost)
        *lost = true;
      break;
    }
    if (attempt >= route->max_attempts || tell) {
      rc = actr__fail(rc == ACTR_OK ? ACTR_ECONNECTION : rc,
                      "node: the wire died with request %s on it; %u attempt(s), the route "
                      "allows no more", rid, attempt);
      break;
    }
    gint64 at = g_get_monotonic_time() +
                (gint64)actr__backoff_ms(route->backoff_initial_ms, route->backoff_max_ms, attempt) * 1000;
    while (!c->response && g_cond_wait_until(&n->cond, &n->mu, MIN(at, until)))
      ; /* an answer may still come on another wire meanwhile */
    if (c->response)
      break;
    if (g_get_monotonic_time() >= until) {
      rc = actr__fail(ACTR_ETIMEOUT, "node: request %s not answered in time (wire lost)", rid);
      n->st.calls_timed_out++;
      break;
    }
    rc = ACTR_OK;
  }
  if (first_gen_io)
    *first_gen_io = first_gen;
  if (c) { /* nothing of the call is left behind */
    if (c->response) {
      *response = c->response;
      rc = ACTR_OK;
    }
    c->response = NULL;
    c->used = false;
    ended_add_locked(n, rid);
  }
  g_mutex_unlock(&n->mu);
  if (p)
    release_peer(n, p);
  free(buf);
  g_free(rid);
  return rc;
}

int actr_node_call_typed(actr_node_t *node, actr_payload_type_t type,
                         const actr_actor_id_t *target, const char *route_key, const void *payload,
                         size_t len, int timeout_ms, actr_envelope_t **response) {
  if (!response)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_call: response is NULL");
  *response = NULL;
  if (timeout_ms <= 0)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_call: timeout_ms must be > 0");
  return call_common(node, type, target, route_key, payload, len, timeout_ms, response, NULL, 0,
                     NULL, NULL);
}

int actr_node_call(actr_node_t *node, const actr_actor_id_t *target, const char *route_key,
                   const void *payload, size_t len, int timeout_ms, actr_envelope_t **response) {
  return actr_node_call_typed(node, ACTR_PAYLOAD_RPC_RELIABLE, target, route_key, payload, len,
                              timeout_ms, response);
}

/* ---- calls by actor type: the node finds the actor, and finds it again ---- */

/* binding_get: the actor @type is bound to (false: none yet). */
static bool binding_get(actr_node_t *n, const actr_actor_type_t *type, actr_actor_id_t *id) {
  bool found = false;
  g_mutex_lock(&n->mu);
  for (unsigned i = 0; i < BINDINGS_MAX && !found; i++)
    if (n->bindings[i].set && actr_actor_type_equal(&n->bindings[i].type, type)) {
      *id = n->bindings[i].id;
      found = true;
    }
  g_mutex_unlock(&n->mu);
  return found;
}

static void binding_set(actr_node_t *n, const actr_actor_type_t *type, const actr_actor_id_t *id) {
  g_mutex_lock(&n->mu);
  binding_t *b = NULL;
  for (unsigned i = 0; i < BINDINGS_MAX && !b; i++)
    if (n->bindings[i].set && actr_actor_type_equal(&n->bindings[i].type, type))
      b = &n->bindings[i];
  if (!b) {
    b = &n->bindings[n->bindings_next];
    n->bindings_next = (n->bindings_next + 1) % BINDINGS_MAX;
  } else if (!actr_actor_id_equal(&b->id, id)) {
    n->st.targets_rebound++;
  }
  b->set = true;
  b->type = *type;
  b->id = *id;
  g_mutex_unlock(&n->mu);
}

/* has_up_wire: a wire to @id is usable now. */
static bool has_up_wire(actr_node_t *n, const actr_actor_id_t *id) {
  bool up = false;
  g_mutex_lock(&n->mu);
  peer_t *p = peer_find_locked(n, id);
  if (p) {
    g_mutex_lock(&p->mu);
    for (int s = 0; s < NWIRES; s++)
      up = up || (p->w[s] && p->w[s]->up && !p->w[s]->dead);
    g_mutex_unlock(&p->mu);
  }
  g_mutex_unlock(&n->mu);
  return up;
}

#define BY_TYPE_CANDIDATES 8

/* resolve: the actor of @type to call: the bound one while actrix still
 * lists it (or while a wire to it is up), else the first listed (a new
 * serial: bound from now on).  Waits for one to be listed until @until. */
static int resolve(actr_node_t *n, const actr_actor_type_t *type, bool check, gint64 until,
                   actr_actor_id_t *out) {
  actr_actor_id_t bound;
  bool have = binding_get(n, type, &bound);
  if (have && !check && has_up_wire(n, &bound)) {
    *out = bound;
    return ACTR_OK;
  }
  unsigned delay_ms = 100, asked = 0;
  int rc = ACTR_OK;
  for (;;) {
    actr_actor_id_t found[BY_TYPE_CANDIDATES];
    unsigned k = 0;
    /* Within the call's time: a slow actrix must not hold it past it. */
    int left_ms = actr__ms_left(until);
    if (left_ms == 0)
      return rc != ACTR_OK ? rc
                           : actr__fail(ACTR_ENO_ROUTE, "node: no actor of that type registered");
    rc = discover(n, type, found, BY_TYPE_CANDIDATES, &k, left_ms);
    bool listed = false;
    for (unsigned i = 0; rc == ACTR_OK && have && i < k; i++)
      listed = listed || actr_actor_id_equal(&found[i], &bound);
    asked++;
    /* Lost and still listed: a cut, or actrix has not yet seen it leave;
     * asked a few times before it is called again. */
    if (rc == ACTR_OK && listed && check && asked < 4 && !has_up_wire(n, &bound) &&
        g_get_monotonic_time() + REDISCOVER_MS * 1000 < until) {
      g_usleep(REDISCOVER_MS * 1000);
      continue;
    }
    if (rc == ACTR_OK && listed) {
      *out = bound;
      return ACTR_OK;
    }
    if (rc == ACTR_OK && k > 0) {
      /* The newest registration (the highest serial) of the type. */
      unsigned best = 0;
      for (unsigned i = 1; i < k; i++)
        if (found[i].serial > found[best].serial)
          best = i;
      binding_set(n, type, &found[best]);
      *out = found[best];
      return ACTR_OK;
    }
    g_usleep((gulong)CLAMP(until - g_get_monotonic_time(), 0, (gint64)delay_ms * 1000));
    delay_ms = MIN(delay_ms * 2, 1000); /* the loop's top ends it when the time is up */
  }
}

int actr_node_call_by_type(actr_node_t *node, const actr_actor_type_t *type,
                           const char *route_key, const void *payload, size_t len, int timeout_ms,
                           actr_envelope_t **response) {
  if (!response)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_call_by_type: response is NULL");
  *response = NULL;
  if (!node || !type || !route_key || (!payload && len) || timeout_ms <= 0)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_call_by_type: bad argument");
  if (actr_runtime_is_io_thread(node->rt))
    return actr__fail(ACTR_EINVALID_OPERATION, "actr_node_call_by_type: not on the I/O thread");
  gint64 until = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  char *rid = g_uuid_string_random(); /* one request id for every actor tried */
  bool check = false;
  int rc;
  actr_actor_id_t last = {0};
  int gen = -1; /* the registration the request went out under to @last (call_common) */
  for (;;) {
    actr_actor_id_t target;
    rc = resolve(node, type, check, until, &target);
    if (rc != ACTR_OK)
      break;
    if (!actr_actor_id_equal(&target, &last)) /* another actor has not seen the request */
      gen = -1;
    last = target;
    gint64 now = g_get_monotonic_time(); /* the wires lost after it are this round's */
    int left = actr__ms_left(until);
    if (left == 0) {
      rc = actr__fail(ACTR_ETIMEOUT, "node: no response within %d ms", timeout_ms);
      break;
    }
    bool lost = false;
    rc = call_common(node, ACTR_PAYLOAD_RPC_RELIABLE, &target, route_key, payload, len, left,
                     response, rid, now, &lost, &gen);
    if (!lost)
      break;
    /* The actor's wires died: is it still there (a cut), or gone (a new
     * one of the type may have registered)?  Asked again shortly, so that
     * actrix has seen a stopped actor leave. */
    check = true;
    g_usleep((gulong)MIN((gint64)REDISCOVER_MS * 1000, MAX(until - g_get_monotonic_time(), 0)));
  }
  g_free(rid);
  return rc;
}

int actr_node_tell(actr_node_t *node, const actr_actor_id_t *target, const char *route_key,
                   const void *payload, size_t len) {
  return call_common(node, ACTR_PAYLOAD_RPC_RELIABLE, target, route_key, payload, len, 0, NULL,
                     NULL, 0, NULL, NULL);
}

int actr__node_send_raw(actr_node_t *n, const actr_actor_id_t *target, const void *data,
                        size_t len, int timeout_ms) {
  peer_t *p = hold_peer(n, target, g_get_monotonic_time() + (gint64)timeout_ms * 1000);
  if (!p)
    return ACTR_ERESOURCE_EXHAUSTED;
  actr_lane_t *lane;
  int slot, gen;
  unsigned serial;
  g_mutex_lock(&n->mu);
  int rc = wait_wire_locked(n, p, &n->routes[ACTR_PAYLOAD_RPC_RELIABLE], ACTR_PAYLOAD_RPC_RELIABLE,
                            g_get_monotonic_time() + (gint64)timeout_ms * 1000, 0, &lane, &slot,
                            &serial, &gen);
  g_mutex_unlock(&n->mu);
  if (rc == ACTR_OK) {
    rc = actr_lane_send(lane, data, len);
    actr_lane_unref(lane);
  }
  release_peer(n, p);
  return rc;
}

int actr__node_gate_headers(actr_node_t *n, char **source, char **credential) {
  g_mutex_lock(&n->cred_mu);
  int rc = actr__ws_gate_headers(actr_node_id(n), n->cred, source, credential);
  g_mutex_unlock(&n->cred_mu);
  return rc;
}

int actr__node_ws_url(actr_node_t *n, const actr_actor_id_t *target, char *url, size_t size) {
  int rc = actr__fail(ACTR_ENO_ROUTE, "no WebSocket address known for the target");
  g_mutex_lock(&n->mu);
  for (unsigned i = 0; i < WS_ADDRS_MAX; i++)
    if (n->ws_addrs[i].url[0] && actr_actor_id_equal(&n->ws_addrs[i].id, target)) {
      snprintf(url, size, "%s", n->ws_addrs[i].url);
      rc = ACTR_OK;
    }
  g_mutex_unlock(&n->mu);
  return rc;
}

int actr_node_disconnect(actr_node_t *node, const actr_actor_id_t *target) {
  if (!node || !target)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_disconnect: NULL argument");
  if (actr_runtime_is_io_thread(node->rt))
    return actr__fail(ACTR_EINVALID_OPERATION, "actr_node_disconnect: not on the I/O thread");
  item_t *it = g_new0(item_t, 1);
  it->kind = ITEM_DISCONNECT;
  it->source = *target;
  g_mutex_lock(&node->mu);
  uint64_t seq = it->seq = ++node->disconnects_asked;
  g_mutex_unlock(&node->mu);
  g_async_queue_push(node->q, it); /* our own items are not counted (relays are) */
  g_mutex_lock(&node->mu);
  while (node->disconnects_done < seq)
    g_cond_wait(&node->cond, &node->mu);
  g_mutex_unlock(&node->mu);
  return ACTR_OK;
}

int actr__node_kill_wire(actr_node_t *n, const actr_actor_id_t *target, bool websocket) {
  g_mutex_lock(&n->mu);
  peer_t *p = peer_find_locked(n, target);
  int slot = websocket ? W_WS_OUT : W_RTC;
  unsigned serial = 0;
  if (p) {
    g_mutex_lock(&p->mu);
    if (p->w[slot])
      serial = p->w[slot]->serial;
    g_mutex_unlock(&p->mu);
  }
  g_mutex_unlock(&n->mu);
  if (!serial)
    return actr__fail(ACTR_ENO_ROUTE, "no such wire");
  item_t *it = g_new0(item_t, 1);
  it->kind = ITEM_KILL_WIRE;
  it->source = *target; /* the control thread checks the serial */
  it->slot = slot;
  it->serial = serial;
  g_async_queue_push(n->q, it);
  return ACTR_OK;
}

void actr__node_forget_keys(actr_node_t *n) {
  g_mutex_lock(&n->mu);
  memset(n->keys, 0, sizeof n->keys);
  n->keys_forgotten = true;
  g_mutex_unlock(&n->mu);
}

unsigned actr__node_signaling_pending(actr_node_t *n) {
  actr__sig_stats_t s;
  actr__sig_client_stats(n->sig, &s);
  return s.pending;
}

void actr__node_set_job_linger(actr_node_t *n, unsigned ms) {
  g_mutex_lock(&n->mu);
  n->job_linger_ms = ms;
  g_mutex_unlock(&n->mu);
}

void actr__node_restart_burst(actr_node_t *n, const actr_actor_id_t *target, unsigned count) {
  item_t *it = g_new0(item_t, 1);
  it->kind = ITEM_RESTART_BURST;
  it->source = *target;
  it->seq = count;
  enqueue(n, it);
}

void actr__node_ignore_restart_offers(actr_node_t *n, bool ignore) {
  g_mutex_lock(&n->mu);
  n->ignore_restart_offers = ignore;
  g_mutex_unlock(&n->mu);
}

void actr__node_drop_replies(actr_node_t *n, unsigned count) {
  g_mutex_lock(&n->mu);
  n->drop_replies = count;
  g_mutex_unlock(&n->mu);
}

void actr__node_register_again(actr_node_t *n) {
  g_mutex_lock(&n->mu);
  n->force_register = true;
  g_mutex_unlock(&n->mu);
  enqueue_kind(n, ITEM_NOP);
}

void actr__node_pause_control(actr_node_t *n, bool paused) {
  g_mutex_lock(&n->mu);
  bool sync = paused && !n->control_paused && n->control;
  uint64_t want = sync ? ++n->sync_next : 0;
  g_mutex_unlock(&n->mu);
  if (sync) { /* first, whatever was queued before this call is handled */
    item_t *it = g_new0(item_t, 1);
    it->kind = ITEM_SYNC;
    it->seq = want;
    enqueue(n, it);
    g_mutex_lock(&n->mu);
    while (n->synced < want)
      g_cond_wait(&n->cond, &n->mu);
    g_mutex_unlock(&n->mu);
  }
  g_mutex_lock(&n->mu);
  n->control_paused = paused;
  g_cond_broadcast(&n->cond);
  g_mutex_unlock(&n->mu);
  if (!paused || !n->control)
    return;
  enqueue_kind(n, ITEM_NOP);
  g_mutex_lock(&n->mu);
  while (!n->control_parked) /* held before this returns */
    g_cond_wait(&n->cond, &n->mu);
  g_mutex_unlock(&n->mu);
}

int actr_node_stats(actr_node_t *node, actr_node_stats_t *out) {
  if (!node || !out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_stats: NULL argument");
  g_mutex_lock(&node->mu);
  *out = node->st;
  g_mutex_unlock(&node->mu);
  actr__sig_stats_t s;
  actr__sig_client_stats(node->sig, &s);
  out->heartbeats_sent = s.pings_sent;
  out->heartbeats_answered = s.pongs_received;
  out->signaling_reconnects = s.reconnects;
  out->signaling_up = s.link_up;
  return ACTR_OK;
}

static void drain_queue(actr_node_t *n) {
  item_t *it;
  while (n->q && (it = g_async_queue_try_pop(n->q))) {
    if (it->env)
      g_bytes_unref(it->env);
    if (it->conn)
      actr_ws_conn_unref(it->conn);
    g_free(it->why);
    actr_credential_free(it->cred);
    g_free(it);
  }
}

void actr_node_free(actr_node_t *n) {
  if (!n)
    return;
  if (n->ws_server) /* no accept after this */
    actr_ws_server_close(n->ws_server);
  if (n->control) {
    actr__node_pause_control(n, false);
    item_t *it = g_new0(item_t, 1);
    it->kind = ITEM_STOP;
    enqueue(n, it);
    g_thread_join(n->control);
  }
  /* The control thread alone starts jobs: no new one.  An AIS exchange
   * and a key fetch waiting for actrix end at once. */
  g_cancellable_cancel(n->stop);
  if (n->sig)
    actr__sig_client_cancel_requests(n->sig);
  g_mutex_lock(&n->mu);
  while (n->jobs)
    g_cond_wait(&n->cond, &n->mu);
  g_mutex_unlock(&n->mu);
  job_reap(n); /* no thread of the node's outlives it */
  drain_queue(n);
  /* Destinations first (actr closes its peer connections before
   * unregistering). */
  for (unsigned i = 0; i < n->npeers; i++)
    peer_free(n->peers[i]);
  n->npeers = 0;
  actr__sig_client_free(n->sig); /* unregisters; no relay comes after it */
  drain_queue(n);
  actr_ws_server_free(n->ws_server);
  actr_credential_free(n->cred);
  for (unsigned i = 0; n->calls && i < n->cfg.max_pending_calls; i++)
    actr_envelope_free(n->calls[i].response);
  for (unsigned i = 0; n->seen && i < DEDUP_IDS; i++)
    if (n->seen[i].reply)
      g_bytes_unref(n->seen[i].reply);
  if (n->q)
    g_async_queue_unref(n->q);
  free(n->peers);
  free(n->calls);
  free(n->seen);
  free(n->ended);
  if (n->ended_set)
    g_hash_table_unref(n->ended_set);
  if (n->relay_shares)
    g_hash_table_unref(n->relay_shares);
  free(n->ws_addrs);
  for (size_t i = 0; n->ice && i < n->cfg.ice_address_count; i++)
    g_free((char *)n->ice[i]);
  g_free(n->ice);
  g_free(n->ais_url);
  g_free(n->signaling_url);
  g_free(n->realm_secret);
  g_free(n->turn_url);
  g_free(n->ws_host);
  g_object_unref(n->stop);
  g_ptr_array_free(n->ended_jobs, TRUE);
  g_mutex_clear(&n->mu);
  g_mutex_clear(&n->cred_mu);
  g_cond_clear(&n->cond);
  actr_runtime_unref(n->rt);
  free(n);
}
