/* node.c — an actr node (actr/node.h): AIS identity, the actrix signaling
 * client, one WebRTC peer connection per remote actor set up through the
 * relay, RpcEnvelope calls and requests over its data channel lanes.
 *
 * Threads and ownership:
 * - The signaling client's relays arrive on the runtime's I/O thread; they
 *   are queued (bounded) for the node's control thread, which creates peer
 *   connections (actr_webrtc_link_* must not run on the I/O thread) and hands
 *   offers, answers and candidates to them.
 * - Each peer's link talks through a signaling endpoint of ours
 *   (actr_signaling_new) whose send turns offer/answer/candidate into
 *   ActrRelay messages; it is called from the control thread and from the
 *   I/O thread (trickled candidates), so a peer's fields are under peer->mu.
 * - Lane handlers (the runtime's I/O thread) decode envelopes: responses
 *   wake their caller, requests go to the user's handler there.
 * - Peers live until the node is freed (at most max_peers): nothing else
 *   frees one, so a pointer to a peer stays valid for the node's life. */
#include <gio/gio.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/ais.h>
#include <actr/error.h>
#include <actr/node.h>
#include <actr/webrtc_link.h>
#include <actr/signaling.h>

#include "bounds.h"
#include "error_internal.h"
#include "pbwire.h"
#include "realm_internal.h"
#include "sig_client.h"

#define NLANES 4 /* RPC_RELIABLE .. STREAM_LATENCY_FIRST; MEDIA_RTP is not a lane */
#define MAX_HELD 64
#define RELAY_QUEUE_MAX 1024
#define DEDUP_IDS 1024
#define ANSWER_WAIT_US (10 * G_USEC_PER_SEC) /* an answerer with no offer offers */
#define RENEGOTIATE_US (5 * G_USEC_PER_SEC)  /* roles asked again when unanswered */
#define RELAY_BYTES_MAX (16u << 20)         /* bytes of queued relays */
#define ABANDONED_IDS 64                     /* ids of calls that timed out */
#define OLD_CREDS 8                          /* earlier credentials kept (ActrId pointers) */

typedef struct peer {
  struct actr_node *node;
  actr_actor_id_t id;
  GMutex mu;
  actr_signaling_t *sig; /* our relay endpoint for this peer */
  GCond cond;
  actr_webrtc_link_t *link;
  unsigned link_users; /* callers waiting on link: stop_link waits for them */
  actr_lane_t *lanes[NLANES];
  bool offerer, got_offer;
  gint64 negotiated_us; /* when we last asked for roles (0: not asking) */
  bool restart_queued;  /* a failed link is being replaced */
  gint64 link_started_us;
  char exchange_id[40]; /* the offer's sdp_exchange_id (0.5) */
  char local_ufrag[80];
  GPtrArray *held_out; /* our candidates before our SDP went out (char *) */
  GPtrArray *held_in;  /* theirs before a link exists (char *) */
} peer_t;

typedef struct call {
  bool used;
  char request_id[40];
  actr_envelope_t *response;
} call_t;

typedef enum { ITEM_RELAY, ITEM_CONNECT, ITEM_RESTART, ITEM_NOP, ITEM_STOP } item_kind_t;
typedef struct item {
  item_kind_t kind;
  GBytes *env;  /* ITEM_RELAY: the encoded envelope */
  peer_t *peer; /* ITEM_CONNECT */
} item_t;

struct actr_node {
  actr_runtime_t *rt;
  actr_node_config_t cfg;
  char *ais_url, *signaling_url, *realm_secret, *turn_url;
  const char **ice; /* copies of cfg.ice_addresses */
  actr_credential_t *cred;  /* the current one (atomic pointer: replaced when registering again) */
  GPtrArray *old_creds;     /* earlier ones, kept until the end (ids handed out) */
  uint64_t cred_since;      /* Unix seconds when the current one was obtained */
  uint64_t cred_retry_at;   /* after a failed renewal: not before (Unix seconds) */
  unsigned cred_backoff_s;
  actr__sig_client_t *sig;

  GMutex mu;
  GCond cond;
  peer_t **peers;
  unsigned npeers;
  call_t *calls;
  char (*seen)[40]; /* request ids already handled (a ring) */
  unsigned seen_next;
  actr_node_request_fn serve_fn;
  void *serve_user;
  actr_node_stats_t st;

  GAsyncQueue *q;
  atomic_int queued;
  atomic_size_t queued_bytes;
  char (*abandoned)[40]; /* ids of calls that timed out: their late answers are dropped */
  unsigned abandoned_next;
  GThread *control;
  bool control_paused, control_parked; /* test hook (actr__node_pause_control), under mu */
};

/* ---- peers ---- */

static peer_t *peer_find_locked(actr_node_t *n, const actr_actor_id_t *id) {
  for (unsigned i = 0; i < n->npeers; i++)
    if (actr_actor_id_equal(&n->peers[i]->id, id))
      return n->peers[i];
  return NULL;
}

static peer_t *peer_get(actr_node_t *n, const actr_actor_id_t *id, bool create) {
  g_mutex_lock(&n->mu);
  peer_t *p = peer_find_locked(n, id);
  if (!p && create && n->npeers < n->cfg.max_peers) {
    p = calloc(1, sizeof *p);
    if (p) {
      p->node = n;
      p->id = *id;
      g_mutex_init(&p->mu);
      g_cond_init(&p->cond);
      p->held_out = g_ptr_array_new_with_free_func(g_free);
      p->held_in = g_ptr_array_new_with_free_func(g_free);
      n->peers[n->npeers++] = p;
    }
  }
  g_mutex_unlock(&n->mu);
  if (!p && create)
    actr__fail(ACTR_ERESOURCE_EXHAUSTED, "node: %u peers already", n->cfg.max_peers);
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

/* ---- envelopes on the lanes (the runtime's I/O thread) ---- */

static void send_response(peer_t *p, actr_envelope_t *resp) {
  uint8_t *buf;
  size_t len;
  if (actr_envelope_encode(resp, &buf, &len) != ACTR_OK)
    return;
  g_mutex_lock(&p->mu);
  actr_lane_t *lane = p->lanes[ACTR_PAYLOAD_RPC_RELIABLE] ? actr_lane_ref(p->lanes[0]) : NULL;
  g_mutex_unlock(&p->mu);
  int rc = lane ? actr_lane_send(lane, buf, len) : ACTR_EDATA_CHANNEL_NOT_OPEN;
  free(buf);
  if (lane)
    actr_lane_unref(lane);
  actr_node_t *n = p->node;
  g_mutex_lock(&n->mu);
  if (rc == ACTR_OK)
    n->st.requests_answered++;
  else
    n->st.requests_dropped++; /* the handler's send never waits: the channel was full */
  g_mutex_unlock(&n->mu);
}

static bool seen_before_locked(actr_node_t *n, const char *id) {
  for (unsigned i = 0; i < DEDUP_IDS; i++)
    if (n->seen[i][0] && strcmp(n->seen[i], id) == 0)
      return true;
  snprintf(n->seen[n->seen_next], sizeof n->seen[0], "%s", id);
  n->seen_next = (n->seen_next + 1) % DEDUP_IDS;
  return false;
}

static void on_lane_message(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  peer_t *p = user;
  actr_node_t *n = p->node;
  actr_envelope_t *env;
  int rc = actr_envelope_decode(actr_msg_data(msg), actr_msg_len(msg), &env);
  actr_msg_free(msg);
  if (rc != ACTR_OK) {
    actr__log(ACTR_LOG_WARN, "node: envelope dropped: %s", actr_err_detail());
    return;
  }
  const char *rid = actr_envelope_request_id(env);
  if (strlen(rid) >= sizeof n->calls[0].request_id) {
    actr_envelope_free(env);
    return;
  }
  g_mutex_lock(&n->mu);
  /* An envelope whose id is one of our pending calls is its response. */
  for (unsigned i = 0; i < n->cfg.max_pending_calls; i++) {
    call_t *c = &n->calls[i];
    if (c->used && !c->response && strcmp(c->request_id, rid) == 0) {
      c->response = env;
      n->st.responses_received++;
      g_cond_broadcast(&n->cond);
      g_mutex_unlock(&n->mu);
      return;
    }
  }
  actr_envelope_direction_t dir = ACTR_ENVELOPE_DIRECTION_UNSPECIFIED;
  actr_envelope_direction(env, &dir);
  bool late = dir == ACTR_ENVELOPE_DIRECTION_RESPONSE;
  for (unsigned i = 0; i < ABANDONED_IDS && !late; i++) /* 0.3 responses carry no direction */
    late = n->abandoned[i][0] && strcmp(n->abandoned[i], rid) == 0;
  if (late) { /* a late response: its caller gave up */
    g_mutex_unlock(&n->mu);
    actr_envelope_free(env);
    return;
  }
  n->st.requests_received++;
  if (seen_before_locked(n, rid)) { /* the callee drops duplicate request ids */
    n->st.requests_duplicate++;
    g_mutex_unlock(&n->mu);
    actr_envelope_free(env);
    return;
  }
  actr_node_request_fn fn = n->serve_fn;
  void *fn_user = n->serve_user;
  if (!fn)
    n->st.requests_dropped++;
  g_mutex_unlock(&n->mu);
  if (!fn) {
    actr_envelope_free(env);
    return;
  }
  actr_envelope_t *resp = NULL;
  fn(n, &p->id, env, &resp, fn_user);
  bool tell = actr_envelope_timeout_ms(env) == 0 || dir == ACTR_ENVELOPE_DIRECTION_TELL;
  bool v05 = n->cfg.dialect == ACTR_NODE_DIALECT_05;
  if (resp && !(tell && v05)) { /* 0.3 answers tells too */
    actr_envelope_set_route_key(resp, actr_envelope_route_key(env));
    actr_envelope_set_request_id(resp, rid);
    if (!actr_envelope_payload(resp, NULL, NULL))
      actr_envelope_set_payload(resp, "", 0); /* 0.3 needs the field present */
    if (v05) {
      actr_envelope_set_direction(resp, ACTR_ENVELOPE_DIRECTION_RESPONSE);
      actr_envelope_set_timeout_ms(resp, 0);
    } else {
      actr_envelope_set_timeout_ms(resp, actr_envelope_timeout_ms(env));
    }
    send_response(p, resp);
  }
  actr_envelope_free(resp);
  actr_envelope_free(env);
}

/* ---- links (the control thread) ---- */

static void deliver_candidate(peer_t *p, const char *cand) {
  actr_signaling_msg_t m = {.kind = ACTR_SIGNALING_CANDIDATE, .candidate = (char *)cand,
                         .sdp_mline_index = 0};
  actr_signaling_deliver(p->sig, &m);
}

static int start_link(peer_t *p, bool offerer) {
  actr_node_t *n = p->node;
  if (!p->sig) {
    int rc = actr_signaling_new(&endpoint_ops, p, &p->sig);
    if (rc != ACTR_OK)
      return rc;
  }
  actr_webrtc_link_config_t lc;
  actr_webrtc_link_config_init(&lc);
  lc.webrtc.local_addresses = n->ice;
  lc.webrtc.local_address_count = n->cfg.ice_address_count;
  actr_webrtc_ice_server_t turn = {.url = n->cfg.turn_url};
  if (n->cfg.turn_url) { /* with the TURN credential AIS gave (the current one) */
    actr_credential_turn(g_atomic_pointer_get(&n->cred), &turn.username, &turn.credential, NULL);
    lc.webrtc.ice_servers = &turn;
    lc.webrtc.ice_server_count = 1;
  }
  if (n->cfg.relay_only)
    lc.webrtc.ice_policy = ACTR_WEBRTC_ICE_RELAY;
  actr_webrtc_link_t *link;
  g_mutex_lock(&p->mu);
  p->offerer = offerer;
  p->got_offer = false;
  p->negotiated_us = 0;
  p->restart_queued = false;
  p->local_ufrag[0] = '\0';
  p->exchange_id[0] = '\0';
  p->link_started_us = g_get_monotonic_time();
  g_mutex_unlock(&p->mu);
  int rc = actr_webrtc_link_new(n->rt, &lc, p->sig, offerer, &link);
  if (rc != ACTR_OK)
    return rc;
  /* The lanes at once: the offerer's channels open when SCTP is up,
   * RPC_RELIABLE first; the answerer's bind to the channels that arrive. */
  actr_lane_t *lanes[NLANES] = {0};
  for (int t = 0; t < NLANES; t++) {
    if (actr_webrtc_link_lane(link, (actr_payload_type_t)t, &lanes[t]) != ACTR_OK)
      continue;
    actr_lane_set_handler(lanes[t], on_lane_message, p);
  }
  g_mutex_lock(&p->mu);
  p->link = link;
  memcpy(p->lanes, lanes, sizeof lanes);
  g_mutex_unlock(&p->mu);
  g_mutex_lock(&n->mu);
  n->st.peers_connected++;
  g_cond_broadcast(&n->cond);
  g_mutex_unlock(&n->mu);
  return ACTR_OK;
}

static void stop_link(peer_t *p) {
  g_mutex_lock(&p->mu);
  actr_webrtc_link_t *link = p->link;
  actr_lane_t *lanes[NLANES];
  memcpy(lanes, p->lanes, sizeof lanes);
  memset(p->lanes, 0, sizeof p->lanes);
  p->link = NULL;
  while (p->link_users) /* a caller checking it: at most one wait slice */
    g_cond_wait(&p->cond, &p->mu);
  g_mutex_unlock(&p->mu);
  for (int t = 0; t < NLANES; t++)
    if (lanes[t]) {
      actr_lane_set_handler(lanes[t], NULL, NULL);
      actr_lane_unref(lanes[t]);
    }
  actr_webrtc_link_free(link);
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
  peer_t *p = peer_get(n, remote, true);
  if (!p)
    return;
  bool has_link;
  g_mutex_lock(&p->mu);
  has_link = p->link != NULL;
  bool offerer = p->offerer;
  g_mutex_unlock(&p->mu);
  switch (r->payload_case) {
  case SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_ASSIGNMENT:
    if (!has_link && start_link(p, r->role_assignment->is_offerer) != ACTR_OK)
      actr__log(ACTR_LOG_WARN, "node: peer connection not started: %s", actr_err_detail());
    break;
  case SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION: {
    const Webrtc__SessionDescription *sd = r->session_description;
    bool is_offer = sd->type != WEBRTC__SESSION_DESCRIPTION__TYPE__ANSWER;
    if (is_offer) {
      if (has_link && offerer) {
        /* Both offered: the smaller serial keeps offering (the mock's
         * rule); the other answers. */
        if (actr_node_id(n)->serial < remote->serial)
          break;
        stop_link(p);
        has_link = false;
      }
      if (has_link && !offerer) {
        g_mutex_lock(&p->mu);
        bool fresh = !p->got_offer;
        g_mutex_unlock(&p->mu);
        if (!fresh) { /* a new offer (a restart): start over as answerer */
          stop_link(p);
          has_link = false;
        }
      }
      if (!has_link && start_link(p, false) != ACTR_OK) {
        actr__log(ACTR_LOG_WARN, "node: answerer not started: %s", actr_err_detail());
        break;
      }
      g_mutex_lock(&p->mu);
      p->got_offer = true;
      snprintf(p->exchange_id, sizeof p->exchange_id, "%s",
               sd->sdp_exchange_id ? sd->sdp_exchange_id : "");
      GPtrArray *held = p->held_in;
      p->held_in = g_ptr_array_new_with_free_func(g_free);
      g_mutex_unlock(&p->mu);
      actr_signaling_msg_t m = {.kind = ACTR_SIGNALING_OFFER, .sdp = sd->sdp, .sdp_mline_index = -1};
      actr_signaling_deliver(p->sig, &m);
      for (guint i = 0; i < held->len; i++)
        deliver_candidate(p, g_ptr_array_index(held, i));
      g_ptr_array_unref(held);
    } else if (has_link && offerer) {
      actr_signaling_msg_t m = {.kind = ACTR_SIGNALING_ANSWER, .sdp = sd->sdp, .sdp_mline_index = -1};
      actr_signaling_deliver(p->sig, &m);
    }
    break;
  }
  case SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE:
    /* Kept until there is a link with the remote description (a peer may
     * trickle before its offer reaches us). */
    g_mutex_lock(&p->mu);
    bool ready = p->link && (p->offerer || p->got_offer);
    if (!ready && p->held_in->len < MAX_HELD)
      g_ptr_array_add(p->held_in, g_strdup(r->ice_candidate->candidate));
    g_mutex_unlock(&p->mu);
    if (ready)
      deliver_candidate(p, r->ice_candidate->candidate);
    break;
  default:
    break; /* role negotiation is actrix's; ICE restart requests: not yet */
  }
}

/* cred_backoff: the next attempt after a failure, 1 s doubling to 60 s. */
static void cred_backoff(actr_node_t *n, uint64_t now) {
  n->cred_backoff_s = n->cred_backoff_s ? MIN(n->cred_backoff_s * 2, 60) : 1;
  n->cred_retry_at = now + n->cred_backoff_s;
}

/* The credential: renewed (0.5, renewal token) when two thirds of its life
 * have passed or actrix rejected it; without a token (0.3) registered again
 * once actrix rejects it or it expires — a new ActrId. */
static void check_credential(actr_node_t *n) {
  actr_credential_t *cred = g_atomic_pointer_get(&n->cred);
  uint64_t now = (uint64_t)(g_get_real_time() / G_USEC_PER_SEC);
  uint64_t exp = actr_credential_expires_at(cred);
  actr__sig_stats_t s;
  actr__sig_client_stats(n->sig, &s);
  bool rejected = s.credential_rejected;
  if (now < n->cred_retry_at)
    return; /* backing off after a failed attempt */
  bool due = exp > n->cred_since && now >= n->cred_since + (exp - n->cred_since) / 3 * 2;
  actr_ais_options_t ao = {.realm_secret = n->realm_secret};
  if (actr_credential_can_renew(cred)) {
    if (!due && !rejected)
      return;
    int rc = actr_ais_renew(n->ais_url, &ao, cred);
    if (rc == ACTR_OK)
      rc = actr__sig_client_set_credential(n->sig, cred, rejected);
    if (rc != ACTR_OK) {
      actr__log(ACTR_LOG_WARN, "node: credential not renewed: %s", actr_err_detail());
      cred_backoff(n, now);
      return;
    }
    n->cred_backoff_s = 0;
    n->cred_since = now;
    g_mutex_lock(&n->mu);
    n->st.credential_renewals++;
    g_mutex_unlock(&n->mu);
    return;
  }
  if (!rejected && now < exp)
    return;
  actr_credential_t *fresh;
  int rc = actr_ais_register(n->ais_url, &n->cfg.type, n->cfg.realm_id, &ao, &fresh);
  if (rc != ACTR_OK) {
    actr__log(ACTR_LOG_WARN, "node: registering again failed: %s", actr_err_detail());
    cred_backoff(n, now);
    return;
  }
  n->cred_backoff_s = 0;
  /* Earlier credentials are kept for the ActrId pointers handed out
   * (actr_node_id), the last OLD_CREDS of them. */
  if (n->old_creds->len >= OLD_CREDS)
    g_ptr_array_remove_index(n->old_creds, 0);
  g_ptr_array_add(n->old_creds, cred);
  g_atomic_pointer_set(&n->cred, fresh);
  actr__sig_client_set_credential(n->sig, fresh, true);
  n->cred_since = now;
  g_mutex_lock(&n->mu);
  n->st.credential_renewals++;
  g_mutex_unlock(&n->mu);
}

/* An answerer that got no offer within 10 s offers itself. */
static void check_answerers(actr_node_t *n) {
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&n->mu);
  unsigned np = n->npeers;
  g_mutex_unlock(&n->mu);
  /* Slots of the peer table are filled once and never change (peers live
   * as long as the node): the first @np are stable without the lock. */
  for (unsigned i = 0; i < np; i++) {
    peer_t *p = n->peers[i];
    g_mutex_lock(&p->mu);
    bool late = p->link && !p->offerer && !p->got_offer && now - p->link_started_us > ANSWER_WAIT_US;
    g_mutex_unlock(&p->mu);
    if (late) {
      actr__log(ACTR_LOG_INFO, "node: no offer in 10 s: offering instead");
      stop_link(p);
      start_link(p, true);
    }
  }
}

static gpointer control_main(gpointer data) {
  actr_node_t *n = data;
  for (;;) {
    g_mutex_lock(&n->mu);
    while (n->control_paused) {
      n->control_parked = true;
      g_cond_broadcast(&n->cond);
      g_cond_wait(&n->cond, &n->mu);
    }
    n->control_parked = false;
    g_mutex_unlock(&n->mu);
    item_t *it = g_async_queue_timeout_pop(n->q, G_USEC_PER_SEC);
    if (!it) {
      check_answerers(n);
      check_credential(n);
      continue;
    }
    if (it->kind == ITEM_RELAY) {
      atomic_fetch_sub(&n->queued, 1);
      atomic_fetch_sub(&n->queued_bytes, g_bytes_get_size(it->env));
    }
    item_kind_t kind = it->kind;
    if (kind == ITEM_RELAY) {
      gsize len;
      const uint8_t *d = g_bytes_get_data(it->env, &len);
      Signaling__SignalingEnvelope *e;
      if (actr__pb_decode(&signaling__signaling_envelope__descriptor, d, len, NULL,
                          (ProtobufCMessage **)&e) == ACTR_OK) {
        handle_relay(n, e);
        actr__pb_free(&e->base);
      }
      g_bytes_unref(it->env);
    } else if (kind == ITEM_CONNECT) {
      negotiate(it->peer);
    } else if (kind == ITEM_RESTART) { /* a failed link: drop it, ask for roles again */
      g_mutex_lock(&it->peer->mu);
      bool still = it->peer->restart_queued;
      g_mutex_unlock(&it->peer->mu);
      if (still) {
        stop_link(it->peer);
        negotiate(it->peer);
      }
    }
    g_free(it);
    if (kind == ITEM_STOP)
      break;
    check_answerers(n);
    check_credential(n);
  }
  return NULL;
}

static bool enqueue(actr_node_t *n, item_t *it) {
  size_t bytes = it->env ? g_bytes_get_size(it->env) : 0;
  bool over = false;
  if (it->kind == ITEM_RELAY) {
    int queued = atomic_fetch_add(&n->queued, 1);
    size_t queued_bytes = atomic_fetch_add(&n->queued_bytes, bytes);
    over = queued >= RELAY_QUEUE_MAX || queued_bytes + bytes > RELAY_BYTES_MAX;
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
  n->cfg = *cfg;
  n->cfg.connect_timeout_ms = ACTR__OR_DEFAULT(n->cfg.connect_timeout_ms, 20000);
  n->cfg.max_peers = ACTR__OR_DEFAULT(n->cfg.max_peers, 64);
  n->cfg.max_pending_calls = ACTR__OR_DEFAULT(n->cfg.max_pending_calls, 1024);
  n->ais_url = g_strdup(cfg->ais_url);
  n->signaling_url = g_strdup(cfg->signaling_url);
  n->realm_secret = g_strdup(cfg->realm_secret);
  n->turn_url = g_strdup(cfg->turn_url);
  n->cfg.turn_url = n->turn_url;
  n->cfg.ais_url = n->ais_url;
  n->cfg.signaling_url = n->signaling_url;
  n->cfg.realm_secret = n->realm_secret;
  n->ice = g_new0(const char *, cfg->ice_address_count + 1);
  for (size_t i = 0; i < cfg->ice_address_count; i++)
    n->ice[i] = g_strdup(cfg->ice_addresses[i]);
  n->cfg.ice_addresses = n->ice;
  g_mutex_init(&n->mu);
  g_cond_init(&n->cond);
  n->peers = calloc(n->cfg.max_peers, sizeof *n->peers);
  n->calls = calloc(n->cfg.max_pending_calls, sizeof *n->calls);
  n->seen = calloc(DEDUP_IDS, sizeof *n->seen);
  n->abandoned = calloc(ABANDONED_IDS, sizeof *n->abandoned);
  n->q = g_async_queue_new();
  int rc = n->peers && n->calls && n->seen && n->abandoned
               ? ACTR_OK : actr__fail(ACTR_ENO_MEMORY, "node tables");
  actr_ais_options_t ao = {.realm_secret = n->realm_secret};
  n->old_creds = g_ptr_array_new_with_free_func((GDestroyNotify)actr_credential_free);
  if (rc == ACTR_OK)
    rc = actr_ais_register(n->ais_url, &cfg->type, cfg->realm_id, &ao, &n->cred);
  n->cred_since = (uint64_t)(g_get_real_time() / G_USEC_PER_SEC);
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
  actr_credential_t *cred = node ? g_atomic_pointer_get(&((actr_node_t *)node)->cred) : NULL;
  return cred ? actr_credential_actor_id(cred) : NULL;
}

int actr_node_discover(actr_node_t *node, const actr_actor_type_t *type, actr_actor_id_t *out,
                       unsigned max, unsigned *n) {
  if (!node || !type || (!out && max) || !n)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_discover: NULL argument");
  return actr__sig_client_discover(node->sig, type, max, out, n);
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

/* ready_lane: the RPC_RELIABLE lane to @target, connecting first; waits
 * until @until (monotonic µs). */
static int ready_lane(actr_node_t *n, const actr_actor_id_t *target, gint64 until,
                      actr_lane_t **out) {
  peer_t *p = peer_get(n, target, true);
  if (!p)
    return ACTR_ERESOURCE_EXHAUSTED;
  g_mutex_lock(&p->mu);
  /* Ask for roles unless a request is recent (a lost one is asked again). */
  bool start = !p->link && (!p->negotiated_us ||
                            g_get_monotonic_time() - p->negotiated_us > RENEGOTIATE_US);
  g_mutex_unlock(&p->mu);
  if (start) {
    item_t *it = g_new0(item_t, 1);
    it->kind = ITEM_CONNECT;
    it->peer = p;
    if (!enqueue(n, it))
      return actr__fail(ACTR_ERESOURCE_EXHAUSTED, "node: control queue full");
  }
  /* Wait for the control thread to make the link (role assignment or an
   * offer), then for the link itself. */
  g_mutex_lock(&n->mu);
  for (;;) {
    g_mutex_lock(&p->mu);
    actr_webrtc_link_t *link = p->link;
    g_mutex_unlock(&p->mu);
    if (link)
      break;
    if (!g_cond_wait_until(&n->cond, &n->mu, until)) {
      g_mutex_unlock(&n->mu);
      return actr__fail(ACTR_ETIMEOUT, "node: no peer connection to the target in time");
    }
  }
  g_mutex_unlock(&n->mu);
  /* Then for the link to connect.  The control thread may replace the link
   * meanwhile (an answerer turned offerer, glare): the wait is cut in
   * slices, and a link in use here is not freed (link_users). */
  int last_fail = 0;
  char why[200] = "";
  for (;;) {
    g_mutex_lock(&p->mu);
    actr_webrtc_link_t *link = p->link;
    actr_lane_t *lane = link && p->lanes[ACTR_PAYLOAD_RPC_RELIABLE]
                            ? actr_lane_ref(p->lanes[ACTR_PAYLOAD_RPC_RELIABLE]) : NULL;
    if (link)
      p->link_users++;
    g_mutex_unlock(&p->mu);
    gint64 left = (until - g_get_monotonic_time()) / 1000;
    int rc = ACTR_ETIMEOUT;
    if (link && left > 0)
      rc = actr_webrtc_link_wait_connected(link, left < 200 ? (int)left : 200);
    if (link) {
      g_mutex_lock(&p->mu);
      p->link_users--;
      g_cond_broadcast(&p->cond);
      g_mutex_unlock(&p->mu);
    }
    if (rc == ACTR_OK && lane) {
      *out = lane;
      return ACTR_OK;
    }
    if (lane)
      actr_lane_unref(lane);
    if (rc != ACTR_OK && rc != ACTR_ETIMEOUT) {
      last_fail = rc;
      snprintf(why, sizeof why, "%s", actr_err_detail());
    }
    if (g_get_monotonic_time() >= until)
      return last_fail ? actr__fail(last_fail, "node: peer connection failed: %s", why)
                       : actr__fail(ACTR_ETIMEOUT, "node: peer connection not ready in time");
    if (rc != ACTR_OK && rc != ACTR_ETIMEOUT) {
      /* This link failed: the control thread replaces it (once), and we
       * wait for the new one. */
      g_mutex_lock(&p->mu);
      bool queue = p->link == link && !p->restart_queued;
      if (queue)
        p->restart_queued = true;
      g_mutex_unlock(&p->mu);
      if (queue) {
        item_t *it = g_new0(item_t, 1);
        it->kind = ITEM_RESTART;
        it->peer = p;
        enqueue(n, it);
      }
      g_mutex_lock(&n->mu);
      g_cond_wait_until(&n->cond, &n->mu, MIN(until, g_get_monotonic_time() + 200 * 1000));
      g_mutex_unlock(&n->mu);
    }
  }
}

static int call_common(actr_node_t *n, const actr_actor_id_t *target, const char *route_key,
                       const void *payload, size_t len, int timeout_ms,
                       actr_envelope_t **response) {
  if (!n || !target || !route_key || (!payload && len))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "node call: NULL argument");
  if (actr_runtime_is_io_thread(n->rt))
    return actr__fail(ACTR_EINVALID_OPERATION, "node call: not on the I/O thread");
  bool tell = response == NULL;
  gint64 until = g_get_monotonic_time() + (gint64)(tell ? n->cfg.connect_timeout_ms : timeout_ms) * 1000;
  char *rid = g_uuid_string_random(); /* a UUIDv4, as actr */
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
  call_t *c = NULL;
  if (rc == ACTR_OK && !tell) { /* registered before sending: the answer may be quick */
    g_mutex_lock(&n->mu);
    for (unsigned i = 0; i < n->cfg.max_pending_calls && !c; i++)
      if (!n->calls[i].used)
        c = &n->calls[i];
    if (c) {
      c->used = true;
      c->response = NULL;
      snprintf(c->request_id, sizeof c->request_id, "%s", rid);
    } else {
      rc = actr__fail(ACTR_ERESOURCE_EXHAUSTED, "node: %u calls pending already",
                      n->cfg.max_pending_calls);
    }
    g_mutex_unlock(&n->mu);
  }
  actr_lane_t *lane = NULL;
  if (rc == ACTR_OK)
    rc = ready_lane(n, target, until, &lane);
  if (rc == ACTR_OK) {
    rc = actr_lane_send(lane, buf, blen);
    actr_lane_unref(lane);
  }
  free(buf);
  g_mutex_lock(&n->mu);
  if (rc == ACTR_OK)
    n->st.calls_sent++;
  while (rc == ACTR_OK && c && !c->response)
    if (!g_cond_wait_until(&n->cond, &n->mu, until) && !c->response) {
      rc = actr__fail(ACTR_ETIMEOUT, "node: no response to %s within %d ms", rid, timeout_ms);
      n->st.calls_timed_out++;
      snprintf(n->abandoned[n->abandoned_next], sizeof n->abandoned[0], "%s", rid);
      n->abandoned_next = (n->abandoned_next + 1) % ABANDONED_IDS;
    }
  if (c) { /* nothing of the call is left behind */
    if (rc == ACTR_OK)
      *response = c->response;
    else
      actr_envelope_free(c->response);
    c->response = NULL;
    c->used = false;
  }
  g_mutex_unlock(&n->mu);
  g_free(rid);
  return rc;
}

int actr_node_call(actr_node_t *node, const actr_actor_id_t *target, const char *route_key,
                   const void *payload, size_t len, int timeout_ms, actr_envelope_t **response) {
  if (!response)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_call: response is NULL");
  *response = NULL;
  if (timeout_ms <= 0)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_node_call: timeout_ms must be > 0");
  return call_common(node, target, route_key, payload, len, timeout_ms, response);
}

int actr_node_tell(actr_node_t *node, const actr_actor_id_t *target, const char *route_key,
                   const void *payload, size_t len) {
  return call_common(node, target, route_key, payload, len, 0, NULL);
}

int actr__node_send_raw(actr_node_t *n, const actr_actor_id_t *target, const void *data,
                        size_t len, int timeout_ms) {
  actr_lane_t *lane;
  int rc = ready_lane(n, target, g_get_monotonic_time() + (gint64)timeout_ms * 1000, &lane);
  if (rc != ACTR_OK)
    return rc;
  rc = actr_lane_send(lane, data, len);
  actr_lane_unref(lane);
  return rc;
}

void actr__node_pause_control(actr_node_t *n, bool paused) {
  g_mutex_lock(&n->mu);
  n->control_paused = paused;
  g_cond_broadcast(&n->cond);
  g_mutex_unlock(&n->mu);
  if (!paused || !n->control)
    return;
  item_t *it = g_new0(item_t, 1); /* wakes the thread from its queue */
  it->kind = ITEM_NOP;
  enqueue(n, it);
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

void actr_node_free(actr_node_t *n) {
  if (!n)
    return;
  if (n->control) {
    actr__node_pause_control(n, false);
    item_t *it = g_new0(item_t, 1);
    it->kind = ITEM_STOP;
    enqueue(n, it);
    g_thread_join(n->control);
  }
  item_t *it;
  while (n->q && (it = g_async_queue_try_pop(n->q))) {
    if (it->env)
      g_bytes_unref(it->env);
    g_free(it);
  }
  /* Peers first (actr closes its peer connections before unregistering). */
  for (unsigned i = 0; i < n->npeers; i++) {
    peer_t *p = n->peers[i];
    stop_link(p);
    actr_signaling_free(p->sig);
    g_ptr_array_unref(p->held_in);
    g_ptr_array_unref(p->held_out);
    g_mutex_clear(&p->mu);
    g_cond_clear(&p->cond);
    free(p);
  }
  actr__sig_client_free(n->sig); /* unregisters; no relay comes after it */
  while (n->q && (it = g_async_queue_try_pop(n->q))) {
    if (it->env)
      g_bytes_unref(it->env);
    g_free(it);
  }
  actr_credential_free(n->cred);
  if (n->old_creds)
    g_ptr_array_unref(n->old_creds);
  for (unsigned i = 0; n->calls && i < n->cfg.max_pending_calls; i++)
    actr_envelope_free(n->calls[i].response);
  if (n->q)
    g_async_queue_unref(n->q);
  free(n->peers);
  free(n->calls);
  free(n->seen);
  free(n->abandoned);
  for (size_t i = 0; n->ice && i < n->cfg.ice_address_count; i++)
    g_free((char *)n->ice[i]);
  g_free(n->ice);
  g_free(n->ais_url);
  g_free(n->signaling_url);
  g_free(n->realm_secret);
  g_free(n->turn_url);
  g_mutex_clear(&n->mu);
  g_cond_clear(&n->cond);
  actr_runtime_unref(n->rt);
  free(n);
}
