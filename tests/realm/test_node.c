/* test_node.c — the public node API (actr/node.h) with two nodes in one
 * process, in a realm of our test actrix: a call answered byte for byte,
 * a call nobody answers times out and leaves nothing behind (the next call
 * works, the late reply is ignored), a tell reaches the handler and is
 * never answered, MEDIA_RTP is no lane.  Inside netns-run.sh (only lo). */
#include <fcntl.h>
#include <glib.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include <actr/error.h>
#include <actr/node.h>

#include "actrix_fixture.h"
#include "realm_internal.h"
#include "sig_client.h"

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")
#define ASSERT_RC(expr, name) g_assert_cmpstr(actr_err_name(expr), ==, name)

static const char *const loopback[] = {"127.0.0.1"};
static atomic_int tells, silent;

static void handler(actr_node_t *node, const actr_actor_id_t *caller, const actr_envelope_t *req,
                    actr_envelope_t **resp, void *user) {
  const char *route = actr_envelope_route_key(req);
  if (strcmp(route, "test.Tell") == 0) {
    g_assert_cmpint(actr_envelope_timeout_ms(req), ==, 0);
    atomic_fetch_add(&tells, 1);
  }
  if (strcmp(route, "test.Silent") == 0) {
    atomic_fetch_add(&silent, 1);
    return; /* no answer: the caller times out */
  }
  const uint8_t *d;
  size_t len;
  g_assert_true(actr_envelope_payload(req, &d, &len));
  ASSERT_OK(actr_envelope_new(route, actr_envelope_request_id(req), 0, resp));
  /* The reply: the request's bytes reversed (not an echo by accident). */
  uint8_t *rev = g_malloc(len ? len : 1);
  for (size_t i = 0; i < len; i++)
    rev[i] = d[len - 1 - i];
  ASSERT_OK(actr_envelope_set_payload(*resp, rev, len));
  g_free(rev);
}

static actr_node_t *start_dialect(actr_runtime_t *rt, const actrix_t *a, const char *type,
                                  actr_node_dialect_t dialect) {
  actr_node_config_t cfg;
  actr_node_config_init(&cfg);
  cfg.dialect = dialect;
  cfg.ais_url = a->ais;
  cfg.signaling_url = a->signaling;
  cfg.realm_id = 3;
  ASSERT_OK(actr_actor_type_parse(type, &cfg.type));
  cfg.ice_addresses = loopback;
  cfg.ice_address_count = 1;
  actr_node_t *n;
  ASSERT_OK(actr_node_new(rt, &cfg, &n));
  return n;
}

static actr_node_t *start(actr_runtime_t *rt, const actrix_t *a, const char *type) {
  return start_dialect(rt, a, type, ACTR_NODE_DIALECT_05);
}

static void test_calls(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1"), *client = start(rt, &a, "acme:client:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_actor_id_t target;
  unsigned n;
  ASSERT_OK(actr_node_discover(client, &actr_node_id(server)->type, &target, 1, &n));
  g_assert_cmpuint(n, ==, 1);
  g_assert_true(actr_actor_id_equal(&target, actr_node_id(server)));

  /* Answered, byte for byte, for several sizes (fragmented past 65527). */
  size_t sizes[] = {0, 5, 65527, 65528, 300000};
  for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
    uint8_t *req = g_malloc(sizes[s] + 1);
    for (size_t i = 0; i < sizes[s]; i++)
      req[i] = (uint8_t)(i * 7 + s);
    actr_envelope_t *resp;
    ASSERT_OK(actr_node_call(client, &target, "test.Reverse", req, sizes[s], 20000, &resp));
    const uint8_t *d;
    size_t len;
    g_assert_true(actr_envelope_payload(resp, &d, &len));
    g_assert_cmpuint(len, ==, sizes[s]);
    for (size_t i = 0; i < len; i++)
      g_assert_cmpuint(d[i], ==, req[len - 1 - i]);
    actr_envelope_direction_t dir;
    g_assert_true(actr_envelope_direction(resp, &dir)); /* 0.5: a response says so */
    g_assert_cmpint(dir, ==, ACTR_ENVELOPE_DIRECTION_RESPONSE);
    actr_envelope_free(resp);
    g_free(req);
  }

  /* Nobody answers: a clear timeout, nothing left behind. */
  actr_envelope_t *resp = (actr_envelope_t *)&resp;
  ASSERT_RC(actr_node_call(client, &target, "test.Silent", "x", 1, 300, &resp), "TIMEOUT");
  g_assert_null(resp);
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.calls_timed_out, ==, 1);
  ASSERT_OK(actr_node_call(client, &target, "test.Reverse", "ab", 2, 20000, &resp));
  actr_envelope_free(resp);

  /* A tell: the handler sees it; no answer comes back. */
  ASSERT_OK(actr_node_tell(client, &target, "test.Tell", "t", 1));
  ASSERT_OK(actr_node_call(client, &target, "test.Reverse", "cd", 2, 20000, &resp));
  actr_envelope_free(resp); /* ordered channel: the tell was handled before this call */
  g_assert_cmpint(atomic_load(&tells), ==, 1);
  ASSERT_OK(actr_node_stats(server, &st));
  g_assert_cmpuint(st.requests_received, ==, G_N_ELEMENTS(sizes) + 4);
  g_assert_cmpuint(st.requests_answered, ==, G_N_ELEMENTS(sizes) + 2);
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.responses_received, ==, G_N_ELEMENTS(sizes) + 2);
  g_assert_cmpuint(st.peers_connected, ==, 1); /* one peer connection, reused */

  /* The same request id twice: the callee answers the first only. */
  actr_envelope_t *dup;
  ASSERT_OK(actr_envelope_new("test.Reverse", "dup-1", 5000, &dup));
  ASSERT_OK(actr_envelope_set_payload(dup, "z", 1));
  ASSERT_OK(actr_envelope_set_direction(dup, ACTR_ENVELOPE_DIRECTION_REQUEST));
  uint8_t *dbuf;
  size_t dlen;
  ASSERT_OK(actr_envelope_encode(dup, &dbuf, &dlen));
  ASSERT_OK(actr__node_send_raw(client, &target, dbuf, dlen, 20000));
  ASSERT_OK(actr__node_send_raw(client, &target, dbuf, dlen, 20000));
  g_free(dbuf);
  actr_envelope_free(dup);
  ASSERT_OK(actr_node_call(client, &target, "test.Reverse", "ef", 2, 20000, &resp));
  actr_envelope_free(resp); /* ordered: both copies were handled before it */
  ASSERT_OK(actr_node_stats(server, &st));
  g_assert_cmpuint(st.requests_duplicate, ==, 1);
  g_assert_cmpuint(st.requests_answered, ==, G_N_ELEMENTS(sizes) + 4);

  /* Arguments. */
  ASSERT_RC(actr_node_call(client, &target, "r", "x", 1, 0, &resp), "INVALID_ARGUMENT");
  ASSERT_RC(actr_node_call(client, NULL, "r", "x", 1, 10, &resp), "INVALID_ARGUMENT");

  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* actrix tells both sides to answer: each waits 10 s for an offer, then
 * offers itself; the smaller serial's offer wins (glare), and the call
 * goes through. */
static void test_nobody_offers(void) {
  const char *args[] = {"--offer-rule", "none", NULL};
  actrix_t a;
  actrix_start(&a, args);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1"), *client = start(rt, &a, "acme:client:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "xy", 2, 40000, &resp));
  const uint8_t *d;
  size_t len;
  g_assert_true(actr_envelope_payload(resp, &d, &len));
  g_assert_cmpmem(d, len, "yx", 2);
  actr_envelope_free(resp);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* actrix drops every signaling link: the nodes connect again with backoff
 * and are reachable again (a third node discovers one and calls it). */
static void test_signaling_comes_back(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  kill(a.pid, SIGUSR1);
  actr_node_stats_t st = {0};
  for (int i = 0; i < 300 && st.signaling_reconnects == 0; i++) { /* 30 s at most */
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(server, &st));
  }
  g_assert_cmpuint(st.signaling_reconnects, >=, 1);
  actr_node_t *client = start(rt, &a, "acme:client:1");
  actr_actor_id_t target;
  unsigned n = 0;
  ASSERT_OK(actr_node_discover(client, &actr_node_id(server)->type, &target, 1, &n));
  g_assert_cmpuint(n, ==, 1);
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, &target, "test.Reverse", "12", 2, 20000, &resp));
  actr_envelope_free(resp);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* Credentials that live 3 s: a 0.5 node renews its own (same ActrId)
 * before it expires and stays reachable; a 0.3 node (no renewal token) is
 * refused at its heartbeat once it expired and registers again (a new
 * ActrId), and its heartbeats are answered again. */
static void test_credential_kept(gconstpointer data) {
  bool v03 = GPOINTER_TO_INT(data);
  const char *args[] = {"--dialect", v03 ? "0.3" : "0.5", "--credential-ttl-secs", "3",
                        "--heartbeat-secs", "1", NULL};
  actrix_t a;
  actrix_start(&a, args);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_dialect_t d = v03 ? ACTR_NODE_DIALECT_03 : ACTR_NODE_DIALECT_05;
  actr_node_t *server = start_dialect(rt, &a, "acme:server:1", d);
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_actor_id_t first = *actr_node_id(server);
  actr_node_stats_t st = {0};
  for (int i = 0; i < 300 && st.credential_renewals < 2; i++) { /* 30 s at most */
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(server, &st));
  }
  g_assert_cmpuint(st.credential_renewals, >=, 2);
  g_assert_true(actr_actor_id_equal(&first, actr_node_id(server)) == !v03);
  /* Heartbeats are answered with the credential now in use. */
  uint64_t answered = st.heartbeats_answered;
  for (int i = 0; i < 100 && st.heartbeats_answered < answered + 2; i++) {
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(server, &st));
  }
  g_assert_cmpuint(st.heartbeats_answered, >=, answered + 2);
  if (!v03) { /* reachable: a new node finds it and calls it */
    actr_node_t *client = start_dialect(rt, &a, "acme:client:1", d);
    actr_envelope_t *resp;
    ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "ok", 2, 20000, &resp));
    actr_envelope_free(resp);
    actr_node_free(client);
  }
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* TURN: actrix hands out coturn credentials (use-auth-secret) with the
 * registration; both nodes use them, relayed candidates only. */
static GPid start_coturn(char **tmpdir) {
  *tmpdir = g_dir_make_tmp("actr-turn-XXXXXX", NULL);
  char *db = g_strdup_printf("--userdb=%s/turndb", *tmpdir);
  char *pid = g_strdup_printf("--pidfile=%s/turnserver.pid", *tmpdir);
  char *log = g_strdup_printf("%s/log", *tmpdir);
  const char *argv[] = {"/usr/bin/turnserver", "-n", "--listening-ip=127.0.0.1",
                        "--relay-ip=127.0.0.1", "--listening-port=3478", "--min-port=40000",
                        "--max-port=40999", "--use-auth-secret", "--static-auth-secret=turnsecret",
                        "--realm=actr.test", "--fingerprint", "--no-tls", "--no-dtls", "--no-cli",
                        "--allow-loopback-peers", "--log-file=stdout", "--simple-log", db, pid,
                        NULL};
  int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_cmpint(out, >=, 0);
  GPid child;
  GError *err = NULL;
  if (!g_spawn_async_with_fds(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                              &child, -1, out, out, &err))
    g_error("coturn: %s", err->message);
  close(out);
  /* Ready once every listener is open (its own log line); 10 s at most. */
  bool ready = false;
  for (int i = 0; i < 100 && !ready; i++) {
    char *text = NULL;
    if (g_file_get_contents(log, &text, NULL, NULL))
      ready = strstr(text, "Total General servers") != NULL;
    g_free(text);
    if (!ready)
      g_usleep(100000);
  }
  if (!ready)
    g_error("coturn did not start");
  g_free(db);
  g_free(pid);
  g_free(log);
  return child;
}

static void test_via_turn(void) {
  char *tmpdir;
  GPid coturn = start_coturn(&tmpdir);
  const char *args[] = {"--turn-secret", "turnsecret", NULL};
  actrix_t a;
  actrix_start(&a, args);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *nodes[2];
  for (int i = 0; i < 2; i++) {
    actr_node_config_t cfg;
    actr_node_config_init(&cfg);
    cfg.ais_url = a.ais;
    cfg.signaling_url = a.signaling;
    cfg.realm_id = 3;
    ASSERT_OK(actr_actor_type_parse(i ? "acme:client:1" : "acme:server:1", &cfg.type));
    cfg.ice_addresses = loopback;
    cfg.ice_address_count = 1;
    cfg.turn_url = "turn:127.0.0.1:3478";
    cfg.relay_only = true;
    ASSERT_OK(actr_node_new(rt, &cfg, &nodes[i]));
  }
  ASSERT_OK(actr_node_serve(nodes[0], handler, NULL));
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(nodes[1], actr_node_id(nodes[0]), "test.Reverse", "turn", 4, 20000,
                           &resp));
  const uint8_t *d;
  size_t len;
  g_assert_true(actr_envelope_payload(resp, &d, &len));
  g_assert_cmpmem(d, len, "nrut", 4);
  actr_envelope_free(resp);
  actr_node_free(nodes[1]);
  actr_node_free(nodes[0]);
  actr_runtime_unref(rt);
  actrix_stop(&a);
  kill(coturn, SIGTERM);
  waitpid(coturn, NULL, 0);
  g_spawn_close_pid(coturn);
  char *rm = g_strdup_printf("rm -rf %s", tmpdir);
  g_assert_cmpint(system(rm), ==, 0);
  g_free(rm);
  g_free(tmpdir);
}

/* A flood of relays while the node's control thread is held: 1024 are
 * queued, the rest dropped and counted; once it goes on, the node works. */
static void test_relay_flood_bounded(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *victim = start(rt, &a, "acme:server:1");
  ASSERT_OK(actr_node_serve(victim, handler, NULL));
  actr__node_pause_control(victim, true);
  /* The flooder: an identity and a raw signaling client. */
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse("acme:flooder:1", &t));
  actr_credential_t *cred;
  ASSERT_OK(actr_ais_register(a.ais, &t, 3, NULL, &cred));
  actr__sig_config_t sc = {.url = a.signaling, .cred = cred};
  actr__sig_client_t *sig;
  ASSERT_OK(actr__sig_client_new(rt, &sc, NULL, NULL, &sig));
  actr__actor_id_pb_t target;
  actr__actor_id_to_pb(actr_node_id(victim), &target);
  enum { FLOOD = 2000 };
  for (int i = 0; i < FLOOD; i++) {
    Webrtc__IceCandidate c = WEBRTC__ICE_CANDIDATE__INIT;
    c.candidate = "candidate:1 1 UDP 2130706431 127.0.0.1 9 typ host";
    Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
    r.target = &target.id;
    r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE;
    r.ice_candidate = &c;
    int rc;
    while ((rc = actr__sig_client_relay(sig, &r)) == ACTR_EWOULD_BLOCK)
      g_usleep(1000); /* the link's own queue is full: pushed back */
    ASSERT_OK(rc);
  }
  actr_node_stats_t st = {0};
  for (int i = 0; i < 300 && st.relays_dropped < FLOOD - 1024; i++) { /* 30 s at most */
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(victim, &st));
  }
  g_assert_cmpuint(st.relays_dropped, ==, FLOOD - 1024);
  actr__node_pause_control(victim, false);
  /* It goes on: a caller reaches it. */
  actr_node_t *client = start(rt, &a, "acme:client:1");
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(victim), "test.Reverse", "ok", 2, 20000, &resp));
  actr_envelope_free(resp);
  actr_node_free(client);
  actr__sig_client_free(sig);
  actr_credential_free(cred);
  actr_node_free(victim);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/realm/node/calls", test_calls);
  g_test_add_func("/realm/node/nobody-offers", test_nobody_offers);
  g_test_add_func("/realm/node/signaling-comes-back", test_signaling_comes_back);
  g_test_add_func("/realm/node/via-turn", test_via_turn);
  g_test_add_func("/realm/node/relay-flood-bounded", test_relay_flood_bounded);
  g_test_add_data_func("/realm/node/credential-renewed-0.5", GINT_TO_POINTER(0),
                       test_credential_kept);
  g_test_add_data_func("/realm/node/credential-registered-again-0.3", GINT_TO_POINTER(1),
                       test_credential_kept);
  return g_test_run();
}
