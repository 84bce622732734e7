/* sig_client.c — the actrix signaling client (sig_client.h).
 *
 * Threads: the WebSocket's callbacks (frames, close) and the heartbeat
 * timer run on the runtime's I/O thread; requests block the caller's
 * thread on c->cond; a supervisor thread per client waits for the link to
 * drop and connects again with backoff (1 s doubling to 30 s), since a
 * WebSocket connect blocks and must not run on the I/O thread.  c->mu
 * guards the link, the pending table and the counters; no callback runs
 * under it. */
#include <gio/gio.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/websocket.h>

#include "bounds.h"
#include "error_internal.h"
#include "pbwire.h"
#include "realm_internal.h"
#include "runtime_internal.h"
#include "sig_client.h"
#include "ws_internal.h"

#define MAX_FRAME (1u << 20)
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define UNREGISTER_WAIT_MS 2000

typedef struct pending {
  bool used;
  char id[32];
  Signaling__SignalingEnvelope *reply; /* set by the I/O thread */
} pending_t;

struct actr__sig_client {
  actr_runtime_t *rt;
  actr__sig_config_t cfg;
  char *url; /* with the identity query */
  actr__sig_events_t events;
  void *user;
  /* Who we are, copied from the credential (actr__sig_client_set_credential
   * replaces them): under cred_mu, held while an envelope is encoded. */
  GMutex cred_mu;
  char *base_url;
  actr_actor_id_t self_id;
  actr__actor_id_pb_t self; /* points into self_id */
  Actr__AIdCredential *cred; /* our own decoded copy */

  GMutex mu;
  GCond cond;
  actr_ws_conn_t *conn; /* the current link (a handle), NULL while down */
  bool link_up, closing;
  int links; /* connections opened and not yet seen closed (on_close) */
  uint64_t next_id;
  bool refusing; /* actr__sig_client_cancel_requests until free */
  pending_t *pending;
  char hb_id[32]; /* the heartbeat waiting for its Pong */
  uint64_t cred_epoch; /* +1 by each set_credential: which credential a Ping went with */
  unsigned hb_secs; /* AIS's interval */
  char *ca_file;
  actr__sig_stats_t st;

  GThread *supervisor;
  GSource *hb_src; /* I/O thread */
};

/* ---- the URL ---- */

static void form_append(GString *s, const char *v) {
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    if (g_ascii_isalnum(*p) || *p == '*' || *p == '-' || *p == '.' || *p == '_')
      g_string_append_c(s, (char)*p);
    else if (*p == ' ')
      g_string_append_c(s, '+');
    else
      g_string_append_printf(s, "%%%02X", *p);
  }
}

char *actr__sig_url(const char *base, const actr_credential_t *cred, bool prefer_answer) {
  const Actr__AIdCredential *pb = actr__credential_pb(cred);
  char id[ACTR_ACTOR_ID_STRING_MAX], key[16];
  actr_actor_id_format(actr_credential_actor_id(cred), id, sizeof id);
  snprintf(key, sizeof key, "%" PRIu32, pb->key_id);
  char *claims = g_base64_encode(pb->claims.data, pb->claims.len);
  char *sig = g_base64_encode(pb->signature.data, pb->signature.len);
  GString *s = g_string_new(base);
  const char *names[] = {"actor_id", "key_id", "claims", "signature"};
  const char *values[] = {id, key, claims, sig};
  for (int i = 0; i < 4; i++) {
    g_string_append_c(s, i == 0 && !strchr(base, '?') ? '?' : '&');
    g_string_append(s, names[i]);
    g_string_append_c(s, '=');
    form_append(s, values[i]);
  }
  if (prefer_answer)
    g_string_append(s, "&webrtc_role=answer");
  g_free(claims);
  g_free(sig);
  return g_string_free(s, FALSE);
}

/* ---- envelopes ---- */

static void envelope_init(Signaling__SignalingEnvelope *e, Google__Protobuf__Timestamp *ts,
                          char *id) {
  signaling__signaling_envelope__init(e);
  google__protobuf__timestamp__init(ts);
  ts->seconds = g_get_real_time() / G_USEC_PER_SEC;
  e->envelope_version = 1;
  e->envelope_id = id;
  e->timestamp = ts;
}

/* count_ok: one more in @counter (a field of c->st) when @rc is ACTR_OK;
 * returns @rc. */
static int count_ok(actr__sig_client_t *c, int rc, uint64_t *counter) {
  if (rc == ACTR_OK) {
    g_mutex_lock(&c->mu);
    (*counter)++;
    g_mutex_unlock(&c->mu);
  }
  return rc;
}

/* send_envelope: fill in who we are (source, credential), encode and queue
 * on the current link, never waiting. */
static int send_envelope(actr__sig_client_t *c, Signaling__SignalingEnvelope *e) {
  uint8_t *buf;
  size_t len;
  g_mutex_lock(&c->cred_mu);
  /* The flows and payloads are C unions (oneofs): read the cases. */
  if (e->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_TO_SERVER) {
    e->actr_to_server->source = &c->self.id;
    e->actr_to_server->credential = c->cred;
    if (e->actr_to_server->payload_case ==
        SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_UNREGISTER_REQUEST)
      e->actr_to_server->unregister_request->actr_id = &c->self.id;
  } else if (e->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY) {
    e->actr_relay->source = &c->self.id;
    e->actr_relay->credential = c->cred;
  }
  int rc = actr__pb_encode(&e->base, &buf, &len);
  g_mutex_unlock(&c->cred_mu);
  if (rc != ACTR_OK)
    return rc;
  g_mutex_lock(&c->mu);
  actr_ws_conn_t *conn = c->link_up && c->conn ? actr_ws_conn_ref(c->conn) : NULL;
  g_mutex_unlock(&c->mu);
  if (!conn) {
    free(buf);
    return actr__fail(ACTR_ESIGNALING, "signaling: no link to actrix");
  }
  rc = actr_ws_conn_send_message(conn, false, buf, len, 0);
  actr_ws_conn_unref(conn);
  free(buf);
  return count_ok(c, rc, &c->st.frames_sent);
}

/* send_flow: @req (to actrix) or, when it is NULL, @relay (through actrix)
 * in a fresh envelope @id, by send_envelope. */
static int send_flow(actr__sig_client_t *c, char *id, Signaling__ActrToSignaling *req,
                     Signaling__ActrRelay *relay) {
  Signaling__SignalingEnvelope e;
  Google__Protobuf__Timestamp ts;
  envelope_init(&e, &ts, id);
  if (req) {
    e.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_TO_SERVER;
    e.actr_to_server = req;
  } else {
    e.flow_case = SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY;
    e.actr_relay = relay;
  }
  return send_envelope(c, &e);
}

/* take_identity: copy @cred's ActrId, signed credential and URL into @c
 * (cred_mu held, or @c not shared yet). */
static int take_identity(actr__sig_client_t *c, const actr_credential_t *cred) {
  uint8_t *buf;
  size_t len;
  int rc = actr__pb_encode(&actr__credential_pb(cred)->base, &buf, &len);
  Actr__AIdCredential *copy = NULL;
  if (rc == ACTR_OK) {
    rc = actr__pb_decode(&actr__aid_credential__descriptor, buf, len, NULL,
                         (ProtobufCMessage **)&copy);
    free(buf);
  }
  if (rc != ACTR_OK)
    return rc;
  if (c->cred)
    actr__pb_free(&c->cred->base);
  c->cred = copy;
  c->self_id = *actr_credential_actor_id(cred);
  actr__actor_id_to_pb(&c->self_id, &c->self);
  g_free(c->url);
  c->url = actr__sig_url(c->base_url, cred, c->cfg.prefer_answer);
  return ACTR_OK;
}

/* to_actr: the server_to_actr flow of @e, or NULL when it has another
 * (flows share one C union: never read a member the case does not name). */
static Signaling__SignalingToActr *to_actr(const Signaling__SignalingEnvelope *e) {
  return e->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR ? e->server_to_actr
                                                                            : NULL;
}

/* ---- the link's callbacks (I/O thread) ---- */

static void on_message(actr_ws_conn_t *conn, bool text, const uint8_t *data, size_t len,
                       void *user) {
  actr__sig_client_t *c = user;
  if (text)
    return; /* actrix ignores text frames; so do we */
  Signaling__SignalingEnvelope *e = NULL;
  actr__pb_limits_t lim = {.max_bytes = MAX_FRAME};
  int rc = actr__pb_decode(&signaling__signaling_envelope__descriptor, data, len, &lim,
                           (ProtobufCMessage **)&e);
  g_mutex_lock(&c->mu);
  c->st.frames_received++;
  if (rc != ACTR_OK) {
    c->st.frames_refused++;
    g_mutex_unlock(&c->mu);
    ACTR__LOG_PEER(ACTR_LOG_WARN, "signaling: frame refused: %s", actr_err_detail());
    return;
  }
  /* Only actrix answers: a relay is a peer's envelope, forwarded as the peer
   * wrote it, reply_for included, and must never stand in for an answer. */
  bool answer = e->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_SERVER_TO_ACTR ||
                e->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_ENVELOPE_ERROR;
  if (e->reply_for && answer) {
    for (unsigned i = 0; i < c->cfg.max_pending; i++) {
      pending_t *p = &c->pending[i];
      if (p->used && !p->reply && strcmp(p->id, e->reply_for) == 0) {
        p->reply = e;
        g_cond_broadcast(&c->cond);
        g_mutex_unlock(&c->mu);
        return;
      }
    }
    if (c->hb_id[0] && strcmp(c->hb_id, e->reply_for) == 0) {
      c->hb_id[0] = '\0';
      /* flow and payload are C unions (oneofs): only read what the case says */
      Signaling__SignalingToActr *s = to_actr(e);
      if (s && s->payload_case == SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_PONG) {
        c->st.pongs_received++;
      } else {
        c->st.heartbeat_errors++;
        if (s && s->payload_case == SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ERROR &&
            s->error->code == 401)
          c->st.credential_rejected = true;
      }
      g_mutex_unlock(&c->mu);
      actr__pb_free(&e->base);
      return;
    }
  }
  bool relay = e->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY;
  if (relay)
    c->st.relays_received++;
  else
    c->st.replies_unmatched++; /* a late answer, a push we do not use */
  g_mutex_unlock(&c->mu);
  if (relay && c->events.on_relay)
    c->events.on_relay(e, c->user);
  actr__pb_free(&e->base);
}

static void on_close(actr_ws_conn_t *conn, int code, const char *reason, void *user) {
  actr__sig_client_t *c = user;
  g_mutex_lock(&c->mu);
  bool was = c->link_up && c->conn == conn;
  if (was)
    c->link_up = false;
  c->links--; /* this connection's last callback */
  g_cond_broadcast(&c->cond); /* waiters fail, the supervisor reconnects */
  g_mutex_unlock(&c->mu);
  if (was) {
    actr__log(ACTR_LOG_INFO, "signaling: link closed (%d %s)", code, reason ? reason : "");
    if (c->events.on_link)
      c->events.on_link(false, c->user);
  }
}

static const actr_ws_message_ops_t link_ops = {.on_message = on_message, .on_close = on_close};

/* ---- heartbeat (I/O thread) ---- */

static gboolean heartbeat_cb(gpointer p) {
  actr__sig_client_t *c = p;
  Actr__Ping ping = ACTR__PING__INIT;
  ping.availability = ACTR__SERVICE_AVAILABILITY_STATE__FULL;
  ping.power_reserve = 1.0f;
  ping.mailbox_backlog = 0.0f;
  Signaling__ActrToSignaling req = SIGNALING__ACTR_TO_SIGNALING__INIT;
  req.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_PING;
  req.ping = &ping;
  char id[32];
  g_mutex_lock(&c->mu);
  snprintf(id, sizeof id, "env-%" PRIu64, ++c->next_id);
  uint64_t epoch = c->cred_epoch; /* read before the Ping is encoded */
  g_mutex_unlock(&c->mu);
  if (send_flow(c, id, &req, NULL) == ACTR_OK) {
    g_mutex_lock(&c->mu);
    c->st.pings_sent++;
    /* A credential set meanwhile may or may not be the one this Ping
     * carries: its answer then judges neither (the next Ping will). */
    if (c->cred_epoch == epoch)
      snprintf(c->hb_id, sizeof c->hb_id, "%s", id);
    g_mutex_unlock(&c->mu);
  }
  return G_SOURCE_CONTINUE;
}

static int start_heartbeat(void *p) {
  actr__sig_client_t *c = p;
  unsigned secs = c->hb_secs;
  if (!secs)
    secs = 30;
  heartbeat_cb(c); /* the first one at once, as actr's interval does */
  c->hb_src = g_timeout_source_new_seconds(secs);
  g_source_set_callback(c->hb_src, heartbeat_cb, c, NULL);
  g_source_attach(c->hb_src, actr__runtime_context(c->rt));
  return ACTR_OK;
}

static int stop_heartbeat(void *p) {
  actr__sig_client_t *c = p;
  if (c->hb_src) {
    g_source_destroy(c->hb_src);
    g_source_unref(c->hb_src);
    c->hb_src = NULL;
  }
  return ACTR_OK;
}

static int link_up_event(void *p) {
  actr__sig_client_t *c = p;
  if (c->events.on_link)
    c->events.on_link(true, c->user);
  return ACTR_OK;
}

/* ---- connecting ---- */

static int connect_link(actr__sig_client_t *c) {
  actr_ws_config_t wc;
  actr_ws_config_init(&wc);
  wc.ping_interval_ms = c->cfg.ws_ping_ms;
  wc.max_message_bytes = MAX_FRAME;
  wc.connect_timeout_ms = 10000;
  wc.ca_file = c->ca_file;
  actr_ws_conn_t *conn;
  g_mutex_lock(&c->cred_mu);
  char *url = g_strdup(c->url);
  g_mutex_unlock(&c->cred_mu);
  int rc = actr_ws_connect_messages(c->rt, url, &wc, &link_ops, c, &conn);
  g_free(url);
  if (rc != ACTR_OK)
    return rc;
  g_mutex_lock(&c->mu);
  actr_ws_conn_t *old = c->conn;
  c->conn = conn;
  c->links++;
  c->link_up = actr_ws_conn_is_open(conn);
  g_mutex_unlock(&c->mu);
  if (old) {
    actr_ws_conn_close(old);
    actr_ws_conn_unref(old);
  }
  return c->link_up ? ACTR_OK : actr__fail(ACTR_ESIGNALING, "signaling: link closed at once");
}

/* close_and_drain: close the link; its callbacks hold @c until their last
 * one (on_close), which the close handshake's own timeout bounds: wait for
 * it (10 s at most).  False when it did not come: @c must then be leaked,
 * never freed under a callback, and its events go nowhere. */
static bool close_and_drain(actr__sig_client_t *c) {
  g_mutex_lock(&c->mu);
  actr_ws_conn_t *conn = c->conn;
  c->conn = NULL;
  g_mutex_unlock(&c->mu);
  if (conn) {
    actr_ws_conn_close(conn);
    actr_ws_conn_unref(conn);
  }
  g_mutex_lock(&c->mu);
  gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (c->links > 0 && g_cond_wait_until(&c->cond, &c->mu, until))
    ;
  bool drained = c->links <= 0;
  if (!drained)
    memset(&c->events, 0, sizeof c->events);
  g_mutex_unlock(&c->mu);
  if (!drained)
    actr__log(ACTR_LOG_WARN, "signaling: link not closed after 10 s; client leaked");
  return drained;
}

static gpointer supervisor_main(gpointer p) {
  actr__sig_client_t *c = p;
  int backoff = BACKOFF_MIN_MS;
  g_mutex_lock(&c->mu);
  for (;;) {
    while (!c->closing && c->link_up)
      g_cond_wait(&c->cond, &c->mu);
    if (c->closing)
      break;
    /* Down: wait the backoff (closing interrupts), then connect again. */
    gint64 until = g_get_monotonic_time() + (gint64)backoff * 1000;
    while (!c->closing && g_cond_wait_until(&c->cond, &c->mu, until))
      ;
    if (c->closing)
      break;
    g_mutex_unlock(&c->mu);
    int rc = connect_link(c);
    g_mutex_lock(&c->mu);
    if (rc == ACTR_OK) {
      c->st.reconnects++;
      backoff = BACKOFF_MIN_MS;
      g_mutex_unlock(&c->mu);
      actr_runtime_call(c->rt, link_up_event, c);
      g_mutex_lock(&c->mu);
    } else {
      actr__log(ACTR_LOG_WARN, "signaling: reconnect failed: %s", actr_err_detail());
      backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
  }
  g_mutex_unlock(&c->mu);
  return NULL;
}

/* client_release: free what the client holds, once nothing uses it. */
static void client_release(actr__sig_client_t *c) {
  free(c->pending);
  g_free(c->url);
  g_free(c->base_url);
  g_free(c->ca_file);
  if (c->cred)
    actr__pb_free(&c->cred->base);
  g_mutex_clear(&c->mu);
  g_mutex_clear(&c->cred_mu);
  g_cond_clear(&c->cond);
  actr_runtime_unref(c->rt);
  free(c);
}

int actr__sig_client_new(actr_runtime_t *rt, const actr__sig_config_t *cfg,
                         const actr__sig_events_t *events, void *user,
                         actr__sig_client_t **out) {
  *out = NULL;
  if (!rt || !cfg || !cfg->url || !cfg->cred)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "signaling client: NULL argument");
  if (actr_runtime_is_io_thread(rt))
    return actr__fail(ACTR_EINVALID_OPERATION, "signaling client: not on the I/O thread");
  actr__sig_client_t *c = calloc(1, sizeof *c);
  if (!c)
    return actr__fail(ACTR_ENO_MEMORY, "signaling client");
  c->rt = actr_runtime_ref(rt);
  c->cfg = *cfg;
  c->cfg.request_timeout_ms =
      ACTR__OR_DEFAULT(c->cfg.request_timeout_ms, cfg->dialect_03 ? 15000 : 5000);
  c->cfg.max_pending = ACTR__OR_DEFAULT(c->cfg.max_pending, 64);
  c->cfg.ws_ping_ms = ACTR__OR_DEFAULT(c->cfg.ws_ping_ms, 5000);
  c->cfg.url = NULL;
  c->base_url = g_strdup(cfg->url);
  c->ca_file = g_strdup(cfg->ca_file);
  c->cfg.ca_file = NULL;
  if (events)
    c->events = *events;
  c->user = user;
  g_mutex_init(&c->mu);
  g_mutex_init(&c->cred_mu);
  g_cond_init(&c->cond);
  c->pending = calloc(c->cfg.max_pending, sizeof *c->pending);
  int rc = c->pending ? take_identity(c, cfg->cred) : actr__fail(ACTR_ENO_MEMORY, "pending table");
  c->hb_secs = actr_credential_heartbeat_secs(cfg->cred);
  c->cfg.cred = NULL; /* copied: the caller's may go */
  if (rc == ACTR_OK)
    rc = connect_link(c);
  if (rc != ACTR_OK) {
    char why[300];
    snprintf(why, sizeof why, "%s", actr_err_detail());
    g_mutex_lock(&c->mu);
    c->closing = true;
    g_mutex_unlock(&c->mu);
    if (!close_and_drain(c)) /* a callback may still come: never free under it */
      return actr__fail(rc, "%s", why);
    client_release(c);
    return actr__fail(rc, "%s", why);
  }
  actr_runtime_call(rt, start_heartbeat, c);
  c->supervisor = g_thread_new("actr-signaling", supervisor_main, c);
  *out = c;
  return ACTR_OK;
}

/* ---- requests ---- */

int actr__sig_client_request(actr__sig_client_t *c, Signaling__ActrToSignaling *req,
                             int timeout_ms, Signaling__SignalingEnvelope **reply) {
  *reply = NULL;
  if (actr_runtime_is_io_thread(c->rt))
    return actr__fail(ACTR_EINVALID_OPERATION, "signaling request: not on the I/O thread");
  if (timeout_ms <= 0)
    timeout_ms = c->cfg.request_timeout_ms;
  g_mutex_lock(&c->mu);
  if (c->refusing) {
    g_mutex_unlock(&c->mu);
    return actr__fail(ACTR_ESIGNALING, "signaling: requests cancelled (the client is closing)");
  }
  pending_t *p = NULL;
  for (unsigned i = 0; i < c->cfg.max_pending && !p; i++)
    if (!c->pending[i].used)
      p = &c->pending[i];
  if (!p) {
    g_mutex_unlock(&c->mu);
    return actr__fail(ACTR_ERESOURCE_EXHAUSTED, "signaling: %u requests waiting already",
                      c->cfg.max_pending);
  }
  p->used = true;
  p->reply = NULL;
  snprintf(p->id, sizeof p->id, "env-%" PRIu64, ++c->next_id);
  char id[32];
  memcpy(id, p->id, sizeof id);
  g_mutex_unlock(&c->mu);

  int rc = send_flow(c, id, req, NULL);
  gint64 until = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  g_mutex_lock(&c->mu);
  while (rc == ACTR_OK && !p->reply) {
    if (!c->link_up || c->closing)
      rc = actr__fail(ACTR_ESIGNALING, "signaling: the link to actrix dropped");
    else if (c->refusing)
      rc = actr__fail(ACTR_ESIGNALING, "signaling: request %s cancelled", id);
    else if (!g_cond_wait_until(&c->cond, &c->mu, until) && !p->reply)
      rc = actr__fail(ACTR_ETIMEOUT, "signaling: no answer to %s within %d ms", id, timeout_ms);
  }
  if (p->reply && rc == ACTR_OK)
    *reply = p->reply;
  else if (p->reply)
    actr__pb_free(&p->reply->base);
  p->reply = NULL;
  p->used = false;
  g_mutex_unlock(&c->mu);
  return rc;
}

void actr__sig_client_cancel_requests(actr__sig_client_t *c) {
  g_mutex_lock(&c->mu);
  c->refusing = true;
  g_cond_broadcast(&c->cond);
  g_mutex_unlock(&c->mu);
}

int actr__sig_client_relay(actr__sig_client_t *c, Signaling__ActrRelay *relay) {
  char *id = g_uuid_string_random();
  int rc = send_flow(c, id, NULL, relay);
  g_free(id);
  return count_ok(c, rc, &c->st.relays_sent);
}

/* server_error: an answer that is server_to_actr.error, as a code. */
static int server_error(const char *what, const Signaling__SignalingEnvelope *r) {
  const Signaling__SignalingToActr *s = to_actr(r);
  if (s && s->payload_case == SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ERROR)
    return actr__fail(s->error->code == 401 ? ACTR_EAUTHENTICATION : ACTR_ESIGNALING,
                      "signaling %s: actrix answered %u %.200s", what, s->error->code,
                      s->error->message);
  if (r->flow_case == SIGNALING__SIGNALING_ENVELOPE__FLOW_ENVELOPE_ERROR)
    return actr__fail(ACTR_ESIGNALING, "signaling %s: actrix answered %u %.200s", what,
                      r->envelope_error->code, r->envelope_error->message);
  return actr__fail(ACTR_EPROTOCOL, "signaling %s: an answer of another kind", what);
}

int actr__sig_client_discover(actr__sig_client_t *c, const actr_actor_type_t *type, unsigned max,
                              actr_actor_id_t *out, char (*ws_urls)[256], size_t url_size,
                              unsigned *n, int timeout_ms) {
  *n = 0;
  Actr__RouteCandidatesRequest rq = ACTR__ROUTE_CANDIDATES_REQUEST__INIT;
  Actr__RouteCandidatesRequest__NodeSelectionCriteria crit =
      ACTR__ROUTE_CANDIDATES_REQUEST__NODE_SELECTION_CRITERIA__INIT;
  Actr__ActrType t;
  actr__actor_type_to_pb(type, &t);
  crit.candidate_count = max;
  rq.target_type = &t;
  rq.criteria = &crit;
  char fp[ACTR_ACTOR_ID_STRING_MAX];
  g_mutex_lock(&c->cred_mu);
  actr_actor_id_format(&c->self_id, fp, sizeof fp);
  g_mutex_unlock(&c->cred_mu);
  rq.client_fingerprint = fp;
  Signaling__ActrToSignaling req = SIGNALING__ACTR_TO_SIGNALING__INIT;
  req.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_ROUTE_CANDIDATES_REQUEST;
  req.route_candidates_request = &rq;
  Signaling__SignalingEnvelope *r;
  int rc = actr__sig_client_request(c, &req, timeout_ms, &r);
  if (rc != ACTR_OK)
    return rc;
  const Signaling__SignalingToActr *s = to_actr(r);
  if (!s || s->payload_case != SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_ROUTE_CANDIDATES_RESPONSE) {
    rc = server_error("discovery", r);
  } else if (s->route_candidates_response->result_case !=
             ACTR__ROUTE_CANDIDATES_RESPONSE__RESULT_SUCCESS) {
    const Actr__ErrorResponse *er = s->route_candidates_response->error;
    rc = actr__fail(ACTR_ENO_ROUTE, "discovery: %u %.200s", er ? er->code : 0,
                    er && er->message ? er->message : "no result");
  } else {
    const Actr__RouteCandidatesResponse__RouteCandidatesOk *ok = s->route_candidates_response->success;
    for (size_t i = 0; i < ok->n_candidates && *n < max; i++) {
      if (actr__actor_id_from_pb(ok->candidates[i], &out[*n]) != ACTR_OK)
        continue;
      if (ws_urls) { /* its direct WebSocket address, when it gave one (0.5) */
        ws_urls[*n][0] = '\0';
        for (size_t j = 0; j < ok->n_ws_address_map; j++) {
          const Actr__WsAddressEntry *e = ok->ws_address_map[j];
          actr_actor_id_t id;
          if (e->ws_address && strlen(e->ws_address) < url_size &&
              actr__actor_id_from_pb(e->candidate_id, &id) == ACTR_OK &&
              actr_actor_id_equal(&id, &out[*n]))
            snprintf(ws_urls[*n], url_size, "%s", e->ws_address);
        }
      }
      (*n)++;
    }
  }
  actr__pb_free(&r->base);
  return rc;
}

int actr__sig_client_signing_key(actr__sig_client_t *c, uint32_t key_id, uint8_t pub[32]) {
  Signaling__GetSigningKeyRequest rq = SIGNALING__GET_SIGNING_KEY_REQUEST__INIT;
  rq.key_id = key_id;
  Signaling__ActrToSignaling req = SIGNALING__ACTR_TO_SIGNALING__INIT;
  req.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_GET_SIGNING_KEY_REQUEST;
  req.get_signing_key_request = &rq;
  Signaling__SignalingEnvelope *r;
  int rc = actr__sig_client_request(c, &req, 0, &r);
  if (rc != ACTR_OK)
    return rc;
  const Signaling__SignalingToActr *s = to_actr(r);
  if (!s || s->payload_case != SIGNALING__SIGNALING_TO_ACTR__PAYLOAD_GET_SIGNING_KEY_RESPONSE)
    rc = server_error("signing key", r);
  else if (s->get_signing_key_response->key_id != key_id ||
           s->get_signing_key_response->pubkey.len != 32)
    rc = actr__fail(ACTR_EPROTOCOL, "signing key: another key id or not 32 bytes");
  else
    memcpy(pub, s->get_signing_key_response->pubkey.data, 32);
  actr__pb_free(&r->base);
  return rc;
}

void actr__sig_client_stats(actr__sig_client_t *c, actr__sig_stats_t *out) {
  g_mutex_lock(&c->mu);
  *out = c->st;
  out->link_up = c->link_up;
  out->pending = 0;
  for (unsigned i = 0; i < c->cfg.max_pending; i++)
    out->pending += c->pending[i].used;
  g_mutex_unlock(&c->mu);
}

void actr__sig_client_free(actr__sig_client_t *c) {
  if (!c)
    return;
  /* Unregister, as actr does on shutdown; an answer is waited for briefly
   * (the one request a client that refuses requests still makes). */
  g_mutex_lock(&c->mu);
  c->refusing = false;
  g_mutex_unlock(&c->mu);
  Actr__UnregisterRequest ur = ACTR__UNREGISTER_REQUEST__INIT; /* actr_id: send_envelope */
  ur.reason = "Graceful shutdown";
  Signaling__ActrToSignaling req = SIGNALING__ACTR_TO_SIGNALING__INIT;
  req.payload_case = SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_UNREGISTER_REQUEST;
  req.unregister_request = &ur;
  Signaling__SignalingEnvelope *r = NULL;
  if (actr__sig_client_request(c, &req, UNREGISTER_WAIT_MS, &r) == ACTR_OK)
    actr__pb_free(&r->base);
  actr_runtime_call(c->rt, stop_heartbeat, c);
  g_mutex_lock(&c->mu);
  c->closing = true;
  g_cond_broadcast(&c->cond);
  g_mutex_unlock(&c->mu);
  g_thread_join(c->supervisor);
  if (!close_and_drain(c))
    return;
  client_release(c);
}

int actr__sig_client_set_credential(actr__sig_client_t *c, const actr_credential_t *cred,
                                    bool reconnect) {
  g_mutex_lock(&c->cred_mu);
  int rc = take_identity(c, cred);
  g_mutex_unlock(&c->cred_mu);
  if (rc != ACTR_OK)
    return rc;
  g_mutex_lock(&c->mu);
  /* A rejection that came after the caller looked (while its renewal was
   * under way) reconnects as well: cleared here, it would be lost. */
  reconnect = reconnect || c->st.credential_rejected;
  c->st.credential_rejected = false;
  /* A 401 to a Ping sent with the old credential is not about this one:
   * forget the Ping waited for, and one under way (heartbeat_cb). */
  c->hb_id[0] = '\0';
  c->cred_epoch++;
  actr_ws_conn_t *conn = reconnect && c->conn ? actr_ws_conn_ref(c->conn) : NULL;
  g_mutex_unlock(&c->mu);
  if (conn) { /* the supervisor connects again, with the new identity */
    actr_ws_conn_close(conn);
    actr_ws_conn_unref(conn);
  }
  return ACTR_OK;
}
