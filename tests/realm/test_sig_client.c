/* test_sig_client.c — the actrix signaling client against our test actrix
 * (tests/realm/test_actrix.py) in both dialects: connecting with the
 * identity, the heartbeat, discovery, relays (role negotiation, a
 * relayed offer), an expired credential refused, unregister on close. */
#include <glib.h>
#include <string.h>

#include <actr/ais.h>
#include <actr/error.h>
#include <actr/runtime.h>

#include "actrix_fixture.h"
#include "pbwire.h"
#include "ws_fixture.h" /* ASSERT_OK, ASSERT_RC, the test certificates */
#include "realm_internal.h"
#include "sig_client.h"


typedef struct node {
  actr_credential_t *cred;
  actr__sig_client_t *sig;
  GAsyncQueue *relays; /* encoded envelopes (GBytes) */
} node_t;

static void on_relay(const Signaling__SignalingEnvelope *env, void *user) {
  node_t *n = user;
  uint8_t *buf;
  size_t len;
  ASSERT_OK(actr__pb_encode(&env->base, &buf, &len));
  g_async_queue_push(n->relays, g_bytes_new_take(buf, len));
}

static const actr__sig_events_t events = {.on_relay = on_relay};

static Signaling__SignalingEnvelope *next_relay(node_t *n) {
  GBytes *b = g_async_queue_timeout_pop(n->relays, 10 * G_USEC_PER_SEC);
  g_assert_nonnull(b);
  gsize len;
  const uint8_t *d = g_bytes_get_data(b, &len);
  Signaling__SignalingEnvelope *e;
  ASSERT_OK(actr__pb_decode(&signaling__signaling_envelope__descriptor, d, len, NULL,
                            (ProtobufCMessage **)&e));
  g_bytes_unref(b);
  g_assert_cmpint(e->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY);
  return e;
}

static void node_start(node_t *n, actr_runtime_t *rt, const actrix_t *a, const char *type,
                       bool dialect_03) {
  memset(n, 0, sizeof *n);
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse(type, &t));
  ASSERT_OK(actr_ais_register(a->ais, &t, 7, NULL, &n->cred));
  n->relays = g_async_queue_new();
  actr__sig_config_t cfg = {.url = a->signaling, .cred = n->cred, .dialect_03 = dialect_03};
  ASSERT_OK(actr__sig_client_new(rt, &cfg, &events, n, &n->sig));
}

static void node_stop(node_t *n) {
  actr__sig_client_free(n->sig);
  actr_credential_free(n->cred);
  GBytes *b;
  while ((b = g_async_queue_try_pop(n->relays)))
    g_bytes_unref(b);
  g_async_queue_unref(n->relays);
}

static void test_session(gconstpointer data) {
  bool v03 = GPOINTER_TO_INT(data);
  const char *args[] = {"--dialect", v03 ? "0.3" : "0.5", NULL};
  actrix_t a;
  actrix_start(&a, args);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  node_t x, y;
  node_start(&x, rt, &a, "acme:caller:1.0", v03);
  node_start(&y, rt, &a, "acme:echo:1.0", v03);
  const actr_actor_id_t *xid = actr_credential_actor_id(x.cred);
  const actr_actor_id_t *yid = actr_credential_actor_id(y.cred);

  /* The heartbeat: the first Ping goes out at once and is answered. */
  actr__sig_stats_t st = {0};
  for (int i = 0; i < 200 && st.pongs_received == 0; i++) { /* 10 s at most */
    g_usleep(50000);
    actr__sig_client_stats(x.sig, &st);
  }
  g_assert_cmpuint(st.pongs_received, >=, 1);
  g_assert_true(st.link_up);
  g_assert_false(st.credential_rejected);

  /* Discovery: x finds y by its type, and nothing of a type nobody has. */
  actr_actor_id_t found[4];
  unsigned n;
  ASSERT_OK(actr__sig_client_discover(x.sig, &yid->type, 4, found, NULL, 0, &n, 0));
  g_assert_cmpuint(n, ==, 1);
  g_assert_true(actr_actor_id_equal(&found[0], yid));
  actr_actor_type_t nobody;
  ASSERT_OK(actr_actor_type_parse("acme:nobody:1", &nobody));
  ASSERT_OK(actr__sig_client_discover(x.sig, &nobody, 4, found, NULL, 0, &n, 0));
  g_assert_cmpuint(n, ==, 0);

  /* Role negotiation through the relay: both sides told, one offers. */
  actr__actor_id_pb_t from, to, target;
  actr__actor_id_to_pb(xid, &from);
  actr__actor_id_to_pb(yid, &to);
  actr__actor_id_to_pb(yid, &target);
  Actr__RoleNegotiation rn = ACTR__ROLE_NEGOTIATION__INIT;
  rn.from = &from.id;
  rn.to = &to.id;
  rn.realm_id = xid->realm_id;
  Signaling__ActrRelay relay = SIGNALING__ACTR_RELAY__INIT;
  relay.target = &target.id;
  relay.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_NEGOTIATION;
  relay.role_negotiation = &rn;
  ASSERT_OK(actr__sig_client_relay(x.sig, &relay));
  Signaling__SignalingEnvelope *ex = next_relay(&x), *ey = next_relay(&y);
  g_assert_cmpint(ex->actr_relay->payload_case, ==, SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_ASSIGNMENT);
  g_assert_cmpint(ey->actr_relay->payload_case, ==, SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_ASSIGNMENT);
  g_assert_true(ex->actr_relay->role_assignment->is_offerer !=
                ey->actr_relay->role_assignment->is_offerer);
  /* The mock's rule: the smaller serial offers. */
  g_assert_cmpint(ex->actr_relay->role_assignment->is_offerer, ==, xid->serial < yid->serial);
  actr__pb_free(&ex->base);
  actr__pb_free(&ey->base);

  /* An offer relayed to y arrives whole, from x. */
  Webrtc__SessionDescription sd = WEBRTC__SESSION_DESCRIPTION__INIT;
  sd.type = WEBRTC__SESSION_DESCRIPTION__TYPE__OFFER;
  sd.sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  sd.sdp_exchange_id = "5b0c2f4e-1d3a-4c5b-9e6f-7a8b9c0d1e2f";
  Signaling__ActrRelay offer = SIGNALING__ACTR_RELAY__INIT;
  offer.target = &target.id;
  offer.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION;
  offer.session_description = &sd;
  ASSERT_OK(actr__sig_client_relay(x.sig, &offer));
  ey = next_relay(&y);
  g_assert_cmpint(ey->actr_relay->payload_case, ==,
                  SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION);
  g_assert_cmpstr(ey->actr_relay->session_description->sdp, ==, sd.sdp);
  actr_actor_id_t src;
  ASSERT_OK(actr__actor_id_from_pb(ey->actr_relay->source, &src));
  g_assert_true(actr_actor_id_equal(&src, xid));
  /* 0.3's actrix re-encodes with the v0.3.0 schema: the exchange id is gone. */
  if (v03)
    g_assert_null(ey->actr_relay->session_description->sdp_exchange_id);
  else
    g_assert_cmpstr(ey->actr_relay->session_description->sdp_exchange_id, ==, sd.sdp_exchange_id);
  actr__pb_free(&ey->base);

  /* Closing y unregisters it: x no longer finds it. */
  actr_actor_type_t ytype = yid->type;
  node_stop(&y);
  ASSERT_OK(actr__sig_client_discover(x.sig, &ytype, 4, found, NULL, 0, &n, 0));
  g_assert_cmpuint(n, ==, 0);
  node_stop(&x);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* wss://: actrix behind TLS with a certificate of our test CA; the client
 * verifies it (and refuses it without the CA). */
static void test_wss(void) {
  char *dir = fix_make_certs();
  g_assert_nonnull(dir);
  char *cert = g_build_filename(dir, "srv.pem", NULL), *key = g_build_filename(dir, "srv.key", NULL);
  char *ca = g_build_filename(dir, "ca.pem", NULL);
  const char *args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
  actrix_t a;
  actrix_start(&a, args);
  g_assert_true(g_str_has_prefix(a.signaling, "wss://"));
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse("acme:secure:1", &t));
  actr_credential_t *cred;
  ASSERT_OK(actr_ais_register(a.ais, &t, 7, NULL, &cred));
  actr__sig_config_t cfg = {.url = a.signaling, .cred = cred};
  actr__sig_client_t *sig;
  ASSERT_RC(actr__sig_client_new(rt, &cfg, NULL, NULL, &sig), "CONNECTION"); /* unknown CA */
  cfg.ca_file = ca;
  ASSERT_OK(actr__sig_client_new(rt, &cfg, NULL, NULL, &sig));
  actr_actor_id_t found[2];
  unsigned n;
  ASSERT_OK(actr__sig_client_discover(sig, &t, 2, found, NULL, 0, &n, 0));
  g_assert_cmpuint(n, ==, 0); /* only us: the requester is excluded */
  actr__sig_client_free(sig);
  actr_credential_free(cred);
  actr_runtime_unref(rt);
  actrix_stop(&a);
  g_free(cert);
  g_free(key);
  g_free(ca);
  fix_remove_dir(dir);
}

/* A signaling server that misbehaves (tests/realm/hostile_actrix.py): a
 * frame over the 1 MiB bound drops the link (and nothing is delivered); frames
 * that are not envelopes are refused and counted, the link stays; requests
 * nobody answers time out, and past max_pending waiting ones the next is
 * refused at once. */
typedef struct hostile {
  GPid pid;
  char url[96];
} hostile_t;

static void hostile_start(hostile_t *h, const char *mode) {
  const char *argv[] = {"/usr/bin/python3", ACTR_HOSTILE_ACTRIX, mode, NULL};
  char line[160];
  h->pid = spawn_first_line(argv, line, sizeof line);
  if (sscanf(line, "listening %95s", h->url) != 1)
    g_error("hostile actrix said '%s'", line);
}

typedef struct waiter {
  actr__sig_client_t *sig;
  int rc;
} waiter_t;

static gpointer discover_main(gpointer p) {
  waiter_t *w = p;
  actr_actor_type_t t;
  actr_actor_type_parse("acme:any:1", &t);
  actr_actor_id_t ids[1];
  unsigned n;
  w->rc = actr__sig_client_discover(w->sig, &t, 1, ids, NULL, 0, &n, 0);
  return NULL;
}

static void test_hostile_server(void) {
  actrix_t a; /* only its AIS: a credential to present */
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse("acme:victim:1", &t));
  actr_credential_t *cred;
  ASSERT_OK(actr_ais_register(a.ais, &t, 7, NULL, &cred));

  /* A 2 MiB frame: over the bound, the link drops; nothing delivered. */
  hostile_t h;
  hostile_start(&h, "big");
  actr__sig_config_t cfg = {.url = h.url, .cred = cred};
  actr__sig_client_t *sig;
  ASSERT_OK(actr__sig_client_new(rt, &cfg, NULL, NULL, &sig));
  actr__sig_stats_t st = {0};
  for (int i = 0; i < 150 && st.reconnects == 0; i++) { /* dropped, then back: 15 s at most */
    g_usleep(100000);
    actr__sig_client_stats(sig, &st);
  }
  g_assert_cmpuint(st.reconnects, >=, 1);
  g_assert_cmpuint(st.frames_received, ==, 0);
  actr__sig_client_free(sig);
  kill(h.pid, SIGTERM);
  waitpid(h.pid, NULL, 0);

  /* Garbage frames: refused and counted, the link stays up. */
  hostile_start(&h, "garbage");
  cfg.url = h.url;
  ASSERT_OK(actr__sig_client_new(rt, &cfg, NULL, NULL, &sig));
  st = (actr__sig_stats_t){0};
  for (int i = 0; i < 100 && st.frames_refused < 2; i++) {
    g_usleep(100000);
    actr__sig_client_stats(sig, &st);
  }
  g_assert_cmpuint(st.frames_refused, >=, 2);
  g_assert_true(st.link_up);
  actr__sig_client_free(sig);
  kill(h.pid, SIGTERM);
  waitpid(h.pid, NULL, 0);

  /* Nobody answers: requests time out; past max_pending the next one is
   * refused at once. */
  hostile_start(&h, "silent");
  cfg.url = h.url;
  cfg.max_pending = 2;
  cfg.request_timeout_ms = 3000;
  ASSERT_OK(actr__sig_client_new(rt, &cfg, NULL, NULL, &sig));
  waiter_t w[2] = {{sig, 0}, {sig, 0}};
  GThread *th[2];
  for (int i = 0; i < 2; i++)
    th[i] = g_thread_new("waiter", discover_main, &w[i]);
  /* Both are waiting once both slots are taken: a third is refused. */
  for (int i = 0; i < 100 && st.pending < 2; i++) {
    g_usleep(20000);
    actr__sig_client_stats(sig, &st);
  }
  g_assert_cmpuint(st.pending, ==, 2);
  actr_actor_id_t ids[1];
  unsigned n;
  int rc = actr__sig_client_discover(sig, &t, 1, ids, NULL, 0, &n, 0);
  ASSERT_RC(rc, "RESOURCE_EXHAUSTED");
  for (int i = 0; i < 2; i++) {
    g_thread_join(th[i]);
    ASSERT_RC(w[i].rc, "TIMEOUT");
  }
  actr__sig_client_free(sig);
  kill(h.pid, SIGTERM);
  waitpid(h.pid, NULL, 0);

  /* A peer's relay that names one of our requests in reply_for (actrix 0.3
   * forwards a relay as the peer wrote it) is a relay, not the answer: the
   * request gets actrix's own answer, the relay goes where relays go. */
  hostile_start(&h, "relay-first");
  cfg = (actr__sig_config_t){.url = h.url, .cred = cred};
  ASSERT_OK(actr__sig_client_new(rt, &cfg, NULL, NULL, &sig));
  ASSERT_RC(actr__sig_client_discover(sig, &t, 1, ids, NULL, 0, &n, 0), "SIGNALING");
  if (!strstr(actr_err_detail(), "503 hostile-busy"))
    g_error("the answer was not actrix's: %s", actr_err_detail());
  actr__sig_client_stats(sig, &st);
  g_assert_cmpuint(st.relays_received, >=, 1);
  actr__sig_client_free(sig);
  kill(h.pid, SIGTERM);
  waitpid(h.pid, NULL, 0);

  actr_credential_free(cred);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* actrix stops answering (SIGSTOP): the WebSocket pings (every 5 s) go
 * unanswered and the link is dropped within two intervals; once actrix
 * runs again the client connects again. */
static void test_silent_actrix_dropped(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse("acme:patient:1", &t));
  actr_credential_t *cred;
  ASSERT_OK(actr_ais_register(a.ais, &t, 7, NULL, &cred));
  actr__sig_config_t cfg = {.url = a.signaling, .cred = cred};
  actr__sig_client_t *sig;
  ASSERT_OK(actr__sig_client_new(rt, &cfg, NULL, NULL, &sig));
  kill(a.pid, SIGSTOP);
  actr__sig_stats_t st = {.link_up = true};
  for (int i = 0; i < 300 && st.link_up; i++) { /* 30 s at most; 10 s expected */
    g_usleep(100000);
    actr__sig_client_stats(sig, &st);
  }
  g_assert_false(st.link_up);
  kill(a.pid, SIGCONT);
  for (int i = 0; i < 300 && st.reconnects == 0; i++) {
    g_usleep(100000);
    actr__sig_client_stats(sig, &st);
  }
  g_assert_cmpuint(st.reconnects, >=, 1);
  g_assert_true(st.link_up);
  actr__sig_client_free(sig);
  actr_credential_free(cred);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

static void test_expired_credential_refused(void) {
  const char *args[] = {"--credential-ttl-secs", "1", NULL};
  actrix_t a;
  actrix_start(&a, args);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse("acme:late:1", &t));
  actr_credential_t *cred;
  ASSERT_OK(actr_ais_register(a.ais, &t, 7, NULL, &cred));
  /* Wait for the expiry itself (the scenario), not for a condition. */
  while ((uint64_t)(g_get_real_time() / G_USEC_PER_SEC) <= actr_credential_expires_at(cred))
    g_usleep(100000);
  actr__sig_config_t cfg = {.url = a.signaling, .cred = cred};
  actr__sig_client_t *sig = (actr__sig_client_t *)&sig;
  ASSERT_RC(actr__sig_client_new(rt, &cfg, NULL, NULL, &sig), "WEBSOCKET");
  g_assert_nonnull(strstr(actr_err_detail(), "401"));
  g_assert_null(sig);
  actr_credential_free(cred);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* A renewal asked before actrix rejected the credential (its heartbeat
 * answered 401 once it expired) and set after: the client connects again
 * as for a renewal asked after the rejection.  Before, setting it cleared
 * the rejection and kept the link. */
static void test_rejection_during_renewal(void) {
  /* The first credential expires (actrix rejects it), the renewed one
   * lives an hour: the test never races its expiry. */
  const char *args[] = {"--credential-ttl-secs", "5", "--renew-ttl-secs", "3600",
                        "--heartbeat-secs", "1", NULL};
  actrix_t a;
  actrix_start(&a, args);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  node_t x;
  node_start(&x, rt, &a, "acme:late:1", false);
  actr__sig_stats_t st = {0};
  for (int i = 0; i < 200 && !st.credential_rejected; i++) { /* 20 s at most */
    g_usleep(100000);
    actr__sig_client_stats(x.sig, &st);
  }
  g_assert_true(st.credential_rejected);
  uint64_t reconnects = st.reconnects;
  actr_credential_t *fresh;
  ASSERT_OK(actr_ais_renew_new(a.ais, NULL, x.cred, &fresh));
  ASSERT_OK(actr__sig_client_set_credential(x.sig, fresh, false)); /* asked before the 401 */
  for (int i = 0; i < 200 && !(st.reconnects > reconnects && st.link_up); i++) {
    g_usleep(100000);
    actr__sig_client_stats(x.sig, &st);
  }
  g_assert_cmpuint(st.reconnects, ==, reconnects + 1);
  g_assert_true(st.link_up);
  g_assert_false(st.credential_rejected);
  actr_credential_free(fresh);
  node_stop(&x);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_data_func("/realm/signaling/session-0.5", GINT_TO_POINTER(0), test_session);
  g_test_add_data_func("/realm/signaling/session-0.3", GINT_TO_POINTER(1), test_session);
  g_test_add_func("/realm/signaling/expired-credential-refused", test_expired_credential_refused);
  g_test_add_func("/realm/signaling/wss", test_wss);
  g_test_add_func("/realm/signaling/rejection-during-renewal", test_rejection_during_renewal);
  g_test_add_func("/realm/signaling/hostile-server", test_hostile_server);
  g_test_add_func("/realm/signaling/silent-actrix-dropped", test_silent_actrix_dropped);
  return g_test_run();
}
