/* test_node.c — the public node API (actr/node.h) with two nodes in one
 * process, in a realm of our test actrix: a call answered byte for byte,
 * a call nobody answers times out and leaves nothing behind (the next call
 * works, the late reply is ignored), a tell reaches the handler and is
 * never answered, MEDIA_RTP is no lane.  Inside netns-run.sh (only lo). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <glib.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include <actr/error.h>
#include <actr/node.h>
#include <actr/websocket.h>

#include "actrix_fixture.h"
#include "pbwire.h"
#include "realm_internal.h"
#include "route_internal.h"
#include "sig_client.h"

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")
#define ASSERT_RC(expr, name) g_assert_cmpstr(actr_err_name(expr), ==, name)

static const char *const loopback[] = {"127.0.0.1"};
#define BIG_REPLY 100000
static atomic_int tells, silent, counted;
static GMutex gate_mu;
static GCond gate_cond;
static bool gate_open;
static GMutex remembered_mu;
static char remembered[64];

/* remembered_take: the request id handler() last remembered ("" for none)
 * into @out, and forget it. */
static void remembered_take(char out[64]) {
  g_mutex_lock(&remembered_mu);
  g_strlcpy(out, remembered, 64);
  remembered[0] = '\0';
  g_mutex_unlock(&remembered_mu);
}

static void handler(actr_node_t *node, const actr_actor_id_t *caller, const actr_envelope_t *req,
                    actr_envelope_t **resp, void *user) {
  const char *route = actr_envelope_route_key(req);
  if (strcmp(route, "test.Tell") == 0) {
    g_assert_cmpint(actr_envelope_timeout_ms(req), ==, 0);
    atomic_fetch_add(&tells, 1);
  }
  if (strcmp(route, "test.Count") == 0)
    atomic_fetch_add(&counted, 1);
  if (strcmp(route, "test.Remember") == 0 || strcmp(route, "test.Slow") == 0) {
    g_mutex_lock(&remembered_mu); /* its request id (test_03_answers_never_loop, ...) */
    g_strlcpy(remembered, actr_envelope_request_id(req), sizeof remembered);
    g_mutex_unlock(&remembered_mu);
  }
  if (strcmp(route, "test.Slow") == 0)
    g_usleep(1500000); /* its own runtime's I/O thread: test_answer_from_the_callee_only */
  if (strcmp(route, "test.Gate") == 0) { /* until opened (test_send_within_timeout), 60 s at most */
    gint64 end = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    g_mutex_lock(&gate_mu);
    while (!gate_open && g_cond_wait_until(&gate_cond, &gate_mu, end))
      ;
    g_mutex_unlock(&gate_mu);
  }
  if (strcmp(route, "test.Silent") == 0) {
    atomic_fetch_add(&silent, 1);
    return; /* no answer: the caller times out */
  }
  if (strcmp(route, "test.Big") == 0) { /* a large reply to a small request */
    uint8_t *big = g_malloc(BIG_REPLY);
    for (size_t i = 0; i < BIG_REPLY; i++)
      big[i] = (uint8_t)(i * 7);
    ASSERT_OK(actr_envelope_new(route, actr_envelope_request_id(req), 0, resp));
    ASSERT_OK(actr_envelope_set_payload(*resp, big, BIG_REPLY));
    g_free(big);
    return;
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

/* node_config: a node of @type in @a's realm 3, ICE on loopback. */
static void node_config(actr_node_config_t *cfg, const actrix_t *a, const char *type) {
  actr_node_config_init(cfg);
  cfg->ais_url = a->ais;
  cfg->signaling_url = a->signaling;
  cfg->realm_id = 3;
  ASSERT_OK(actr_actor_type_parse(type, &cfg->type));
  cfg->ice_addresses = loopback;
  cfg->ice_address_count = 1;
}

static actr_node_t *start_dialect(actr_runtime_t *rt, const actrix_t *a, const char *type,
                                  actr_node_dialect_t dialect) {
  actr_node_config_t cfg;
  node_config(&cfg, a, type);
  cfg.dialect = dialect;
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

  /* A handler that gives no answer: in 0.5 the caller gets an error
   * envelope (actr's 10010 Internal), not a timeout. */
  actr_envelope_t *resp = (actr_envelope_t *)&resp;
  ASSERT_OK(actr_node_call(client, &target, "test.Silent", "x", 1, 20000, &resp));
  uint32_t code = 0;
  const char *emsg = NULL;
  g_assert_true(actr_envelope_error(resp, &code, &emsg));
  g_assert_cmpuint(code, ==, 10010);
  g_assert_false(actr_envelope_payload(resp, NULL, NULL));
  actr_envelope_free(resp);
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.calls_timed_out, ==, 0);
  ASSERT_OK(actr_node_call(client, &target, "test.Reverse", "ab", 2, 20000, &resp));
  actr_envelope_free(resp);

  /* A tell: the handler sees it; no answer comes back. */
  ASSERT_OK(actr_node_tell(client, &target, "test.Tell", "t", 1));
  ASSERT_OK(actr_node_call(client, &target, "test.Reverse", "cd", 2, 20000, &resp));
  actr_envelope_free(resp); /* ordered channel: the tell was handled before this call */
  g_assert_cmpint(atomic_load(&tells), ==, 1);
  ASSERT_OK(actr_node_stats(server, &st));
  g_assert_cmpuint(st.requests_received, ==, G_N_ELEMENTS(sizes) + 4);
  g_assert_cmpuint(st.requests_answered, ==, G_N_ELEMENTS(sizes) + 3);
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.responses_received, ==, G_N_ELEMENTS(sizes) + 3);
  g_assert_cmpuint(st.peers_connected, ==, 1); /* one peer connection, reused */

  /* The same request id twice: the callee runs the first only and sends
   * its reply again for the second (a retry gets the first result). */
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
  g_assert_cmpuint(st.requests_replayed, ==, 1);
  g_assert_cmpuint(st.requests_answered, ==, G_N_ELEMENTS(sizes) + 5);

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

/* The direct WebSocket listener checks each upgrade's credential on the
 * I/O thread, and a credential signed with the node's own AIS key is
 * checked with the node's own credential, which the control thread
 * replaces at each renewal.  Upgrades keep coming (a realm actor's valid
 * identity) while the server renews twice (3 s credentials): every one is
 * accepted, and actr_node_id stays the same pointer and ActrId (a renewal
 * keeps the ActrId).  Before the renewal made a new credential, it freed
 * the old one's content in place under the listener's read: heap use after
 * free under ASan, when an upgrade hit that window. */
static actr_node_t *start_ws_server(actr_runtime_t *rt, const actrix_t *a);

typedef struct gate_job {
  const char *ais, *url;
  actr_runtime_t *rt;
  gint stop;
  unsigned ok, refused;
} gate_job_t;

static gpointer gate_knocker(gpointer data) {
  gate_job_t *j = data;
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse("acme:visitor:1", &t));
  actr_ais_options_t ao = {0};
  actr_credential_t *cred = NULL;
  char *src = NULL, *cr = NULL;
  gint64 since = 0;
  while (!g_atomic_int_get(&j->stop)) {
    if (g_get_monotonic_time() - since > G_USEC_PER_SEC) { /* ours lives 3 s too */
      actr_credential_free(cred);
      ASSERT_OK(actr_ais_register(j->ais, &t, 3, &ao, &cred));
      g_free(src);
      g_free(cr);
      ASSERT_OK(actr__ws_gate_headers(actr_credential_actor_id(cred), cred, &src, &cr));
      since = g_get_monotonic_time();
    }
    actr_ws_config_t wc;
    actr_ws_config_init(&wc);
    wc.source_id = src;
    wc.credential = cr;
    actr_ws_conn_t *conn = NULL;
    if (actr_ws_connect(j->rt, j->url, &wc, &conn) == ACTR_OK) {
      j->ok++;
      actr_ws_conn_unref(conn);
    } else {
      g_test_message("upgrade refused: %s", actr_err_detail());
      j->refused++;
    }
  }
  g_free(src);
  g_free(cr);
  actr_credential_free(cred);
  return NULL;
}

static void test_credential_renewed_under_gate(void) {
  const char *args[] = {"--credential-ttl-secs", "3", "--heartbeat-secs", "1", NULL};
  actrix_t a;
  actrix_start(&a, args);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start_ws_server(rt, &a);
  actr_node_t *client = start(rt, &a, "acme:client:1");
  const actr_actor_id_t *id = actr_node_id(server);
  actr_actor_id_t first = *id, target;
  unsigned n = 0;
  ASSERT_OK(actr_node_discover(client, &first.type, &target, 1, &n));
  g_assert_cmpuint(n, ==, 1);
  char url[300];
  ASSERT_OK(actr__node_ws_url(client, &target, url, sizeof url));
  gate_job_t job = {.ais = a.ais, .url = url, .rt = rt};
  GThread *knocker = g_thread_new("knocker", gate_knocker, &job);
  actr_node_stats_t st = {0};
  for (int i = 0; i < 300 && st.credential_renewals < 2; i++) { /* 30 s at most */
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(server, &st));
  }
  g_atomic_int_set(&job.stop, 1);
  g_thread_join(knocker);
  g_test_message("upgrades during %u renewals: %u accepted, %u refused",
                 (unsigned)st.credential_renewals, job.ok, job.refused);
  g_assert_cmpuint(st.credential_renewals, >=, 2);
  g_assert_cmpuint(job.ok, >, 0);
  g_assert_cmpuint(job.refused, ==, 0);
  g_assert_true(actr_node_id(server) == id);
  g_assert_true(actr_actor_id_equal(id, &first));
  actr_node_free(client);
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

/* A raw actor: an identity of @type in @a's realm 3 and a bare signaling
 * client, to send relays of any kind (what a hostile actor can send). */
typedef struct raw_actor {
  actr_credential_t *cred;
  actr__sig_client_t *sig;
} raw_actor_t;

/* raw_actor_start_with: registered with @opts (NULL: none), its relays to
 * @ev (NULL: dropped) with @user. */
static void raw_actor_start_with(raw_actor_t *r, actr_runtime_t *rt, const actrix_t *a,
                                 const char *type, const actr_ais_options_t *opts,
                                 const actr__sig_events_t *ev, void *user) {
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse(type, &t));
  ASSERT_OK(actr_ais_register(a->ais, &t, 3, opts, &r->cred));
  actr__sig_config_t sc = {.url = a->signaling, .cred = r->cred};
  ASSERT_OK(actr__sig_client_new(rt, &sc, ev, user, &r->sig));
}

static void raw_actor_start(raw_actor_t *r, actr_runtime_t *rt, const actrix_t *a,
                            const char *type) {
  raw_actor_start_with(r, rt, a, type, NULL, NULL, NULL);
}

/* relay_taken: @r relayed through @sig, waiting while its queue is full. */
static void relay_taken(actr__sig_client_t *sig, Signaling__ActrRelay *r) {
  int rc;
  while ((rc = actr__sig_client_relay(sig, r)) == ACTR_EWOULD_BLOCK)
    g_usleep(1000);
  ASSERT_OK(rc);
}

static void raw_actor_stop(raw_actor_t *r) {
  actr__sig_client_free(r->sig);
  actr_credential_free(r->cred);
}

/* relay_candidate: one ICE candidate (a bare host one) relayed to @target. */
static int relay_candidate(actr__sig_client_t *sig, actr__actor_id_pb_t *target) {
  Webrtc__IceCandidate c = WEBRTC__ICE_CANDIDATE__INIT;
  c.candidate = "candidate:1 1 UDP 2130706431 127.0.0.1 9 typ host";
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  r.target = &target->id;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ICE_CANDIDATE;
  r.ice_candidate = &c;
  return actr__sig_client_relay(sig, &r);
}

/* A flood of relays from one actor while the node's control thread is
 * held: its share (128) is queued, the rest dropped and counted, and
 * another actor's relays still get in (before, the flood took all 1024
 * places); once it goes on, the node works. */
static void test_relay_flood_bounded(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *victim = start(rt, &a, "acme:server:1");
  ASSERT_OK(actr_node_serve(victim, handler, NULL));
  actr__node_pause_control(victim, true);
  raw_actor_t flooder, other;
  raw_actor_start(&flooder, rt, &a, "acme:flooder:1");
  actr__actor_id_pb_t target;
  actr__actor_id_to_pb(actr_node_id(victim), &target);
  enum { FLOOD = 2000 };
  for (int i = 0; i < FLOOD; i++) {
    int rc;
    while ((rc = relay_candidate(flooder.sig, &target)) == ACTR_EWOULD_BLOCK)
      g_usleep(1000); /* the link's own queue is full: pushed back */
    ASSERT_OK(rc);
  }
  /* One actor's share of the queue is 128 relays: the rest of its flood is
   * dropped, and another actor's relays still find room. */
  enum { SHARE = 128, OTHERS = 50 };
  actr_node_stats_t st = {0};
  for (int i = 0; i < 300 && st.relays_dropped < FLOOD - SHARE; i++) { /* 30 s at most */
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(victim, &st));
  }
  g_assert_cmpuint(st.relays_dropped, ==, FLOOD - SHARE);
  raw_actor_start(&other, rt, &a, "acme:flooder:1");
  for (int i = 0; i < OTHERS; i++) {
    int rc;
    while ((rc = relay_candidate(other.sig, &target)) == ACTR_EWOULD_BLOCK)
      g_usleep(1000);
    ASSERT_OK(rc);
  }
  actr__node_pause_control(victim, false);
  for (int i = 0; i < 300 && st.relays_handled < SHARE + OTHERS; i++) { /* 30 s at most */
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(victim, &st));
  }
  g_assert_cmpuint(st.relays_handled, ==, SHARE + OTHERS); /* every one of the other's */
  g_assert_cmpuint(st.relays_dropped, ==, FLOOD - SHARE);
  raw_actor_stop(&other);
  /* It goes on: a caller reaches it. */
  actr_node_t *client = start(rt, &a, "acme:client:1");
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(victim), "test.Reverse", "ok", 2, 20000, &resp));
  actr_envelope_free(resp);
  actr_node_free(client);
  raw_actor_stop(&flooder);
  actr_node_free(victim);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* A 0.5 credential of 2 s (two thirds of it round to 0 s) while other
 * actors trickle candidates to the node, 100 a second: each relay is a pass
 * of the control thread, and each pass used to renew (one AIS exchange per
 * relay).  Now a renewal waits at least a second after the last. */
static void test_renewal_floor(void) {
  const char *args[] = {"--credential-ttl-secs", "2", NULL};
  actrix_t a;
  actrix_start(&a, args);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  gint64 t0 = g_get_monotonic_time();
  actr_node_t *victim = start(rt, &a, "acme:server:1");
  ASSERT_OK(actr_node_serve(victim, handler, NULL));
  actr__actor_id_pb_t target;
  actr__actor_id_to_pb(actr_node_id(victim), &target);
  /* 5 tricklers one after the other, 30 relays each: theirs are 2 s
   * credentials too, which none of them renews. */
  enum { TRICKLERS = 5, EACH = 30, RELAYS = TRICKLERS * EACH };
  for (int t = 0; t < TRICKLERS; t++) {
    raw_actor_t trickler;
    raw_actor_start(&trickler, rt, &a, "acme:trickler:1");
    for (int i = 0; i < EACH; i++) {
      int rc;
      while ((rc = relay_candidate(trickler.sig, &target)) == ACTR_EWOULD_BLOCK)
        g_usleep(1000);
      ASSERT_OK(rc);
      g_usleep(10000);
    }
    raw_actor_stop(&trickler);
  }
  actr_node_stats_t st = {0};
  for (int i = 0; i < 300 && st.relays_handled < RELAYS; i++) { /* 30 s at most */
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(victim, &st));
  }
  g_assert_cmpuint(st.relays_handled, ==, RELAYS); /* a pass each */
  double secs = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
  g_test_message("%u renewals in %.1f s", (unsigned)st.credential_renewals, secs);
  g_assert_cmpuint(st.credential_renewals, >=, 1);
  g_assert_cmpfloat(st.credential_renewals, <=, secs + 1);
  actr_node_free(victim);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* Actors that trickle an ICE candidate to a node every half second and
 * never connect hold its destinations (max_peers, 4 here) for as long as
 * they go on.  Before, every slot stayed taken: the node's own call failed
 * at once with RESOURCE_EXHAUSTED ("4 destinations already") and no other
 * actor could reach it.  Now a call of ours takes the place of the oldest
 * half-open destination, and another actor's offer takes one 2 s old. */
enum { TRICKLERS = 4 };
typedef struct trickle {
  raw_actor_t actor[TRICKLERS];
  actr__actor_id_pb_t target;
  gint stop;
} trickle_t;

static void trickle_once(trickle_t *t) {
  for (int i = 0; i < TRICKLERS; i++) {
    int rc = relay_candidate(t->actor[i].sig, &t->target);
    g_assert_true(rc == ACTR_OK || rc == ACTR_EWOULD_BLOCK);
  }
}

static gpointer trickler(gpointer data) {
  trickle_t *t = data;
  while (!g_atomic_int_get(&t->stop)) {
    trickle_once(t);
    g_usleep(500000);
  }
  return NULL;
}

/* trickle_fill: TRICKLERS actors, each with a destination on @victim
 * (max_peers TRICKLERS: all its places). */
static void trickle_fill(trickle_t *t, actr_runtime_t *rt, const actrix_t *a, actr_node_t *victim) {
  memset(t, 0, sizeof *t);
  actr__actor_id_to_pb(actr_node_id(victim), &t->target);
  for (int i = 0; i < TRICKLERS; i++)
    raw_actor_start(&t->actor[i], rt, a, "acme:trickler:1");
  actr_node_stats_t st = {0};
  for (int i = 0; i < 100 && st.destinations < TRICKLERS; i++) { /* 10 s at most */
    trickle_once(t);
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(victim, &st));
  }
  g_assert_cmpuint(st.destinations, ==, TRICKLERS);
}

static void trickle_free(trickle_t *t) {
  for (int i = 0; i < TRICKLERS; i++)
    raw_actor_stop(&t->actor[i]);
}

static void test_half_open_destinations_evicted(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_node_config_t cfg;
  node_config(&cfg, &a, "acme:victim:1");
  cfg.max_peers = TRICKLERS;
  actr_node_t *victim;
  ASSERT_OK(actr_node_new(rt, &cfg, &victim));
  ASSERT_OK(actr_node_serve(victim, handler, NULL));
  trickle_t t;
  trickle_fill(&t, rt, &a, victim);
  actr_node_stats_t st;
  GThread *th = g_thread_new("trickler", trickler, &t);
  /* Our call: the place of the oldest half-open destination, at once. */
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(victim, actr_node_id(server), "test.Reverse", "ok", 2, 20000, &resp));
  actr_envelope_free(resp);
  ASSERT_OK(actr_node_stats(victim, &st));
  g_assert_cmpuint(st.destinations_evicted, >=, 1);
  g_assert_cmpuint(st.destinations, <=, TRICKLERS);
  /* Another actor reaches it: its offer takes a place 2 s old. */
  g_usleep(2 * G_USEC_PER_SEC);
  actr_node_t *client = start(rt, &a, "acme:client:1");
  int rc = actr_node_call(client, actr_node_id(victim), "test.Reverse", "in", 2, 20000, &resp);
  ASSERT_OK(actr_node_stats(victim, &st));
  if (rc != ACTR_OK)
    g_test_message("call to the node: %s; it has %u destinations, %llu evicted, %llu relays "
                   "dropped", actr_err_detail(), st.destinations,
                   (unsigned long long)st.destinations_evicted,
                   (unsigned long long)st.relays_dropped);
  ASSERT_OK(rc);
  actr_envelope_free(resp);
  g_assert_cmpuint(st.destinations_evicted, >=, 2);
  g_assert_cmpuint(st.destinations, <=, TRICKLERS);
  g_atomic_int_set(&t.stop, 1);
  g_thread_join(th);
  actr_node_free(client);
  trickle_free(&t);
  actr_node_free(victim);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* Actors that call a node and keep their connections hold its
 * destinations (max_peers, 2 here) for as long as they like.  Before, the
 * node's own call to anyone else then failed with RESOURCE_EXHAUSTED; now
 * it takes the place of the one that called least lately (its wires go),
 * and the other keeps its connection. */
static void test_callers_give_way(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_node_config_t cfg;
  node_config(&cfg, &a, "acme:victim:1");
  cfg.max_peers = 2;
  actr_node_t *victim;
  ASSERT_OK(actr_node_new(rt, &cfg, &victim));
  ASSERT_OK(actr_node_serve(victim, handler, NULL));
  actr_node_t *caller[2];
  actr_envelope_t *resp;
  for (int i = 0; i < 2; i++) { /* caller 0 first: it called least lately */
    caller[i] = start(rt, &a, "acme:client:1");
    ASSERT_OK(actr_node_call(caller[i], actr_node_id(victim), "test.Reverse", "in", 2, 20000,
                             &resp));
    actr_envelope_free(resp);
  }
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(victim, &st));
  g_assert_cmpuint(st.destinations, ==, 2);
  int rc = actr_node_call(victim, actr_node_id(server), "test.Reverse", "out", 2, 20000, &resp);
  ASSERT_OK(actr_node_stats(victim, &st));
  g_test_message("our call: %s; %u destinations, %llu callers evicted, %llu half-open evicted",
                 rc ? actr_err_detail() : "OK", st.destinations,
                 (unsigned long long)st.callers_evicted,
                 (unsigned long long)st.destinations_evicted);
  ASSERT_OK(rc);
  actr_envelope_free(resp);
  g_assert_cmpuint(st.callers_evicted, ==, 1);
  g_assert_cmpuint(st.destinations_evicted, ==, 0);
  g_assert_cmpuint(st.destinations, <=, 2);
  /* Caller 1 (the latest) kept its connection: its call goes through on
   * it, no wire lost; caller 0's wire went. */
  ASSERT_OK(actr_node_call(caller[1], actr_node_id(victim), "test.Reverse", "again", 2, 20000,
                           &resp));
  actr_envelope_free(resp);
  actr_node_stats_t c0, c1;
  for (int i = 0; i < 100; i++) { /* 10 s at most: caller 0 notices its wire is gone */
    ASSERT_OK(actr_node_stats(caller[0], &c0));
    if (c0.wires_lost >= 1)
      break;
    g_usleep(100000);
  }
  ASSERT_OK(actr_node_stats(caller[1], &c1));
  g_assert_cmpuint(c0.wires_lost, >=, 1);
  g_assert_cmpuint(c1.wires_lost, ==, 0);
  g_assert_cmpuint(c1.peers_connected, ==, 1);
  for (int i = 0; i < 2; i++)
    actr_node_free(caller[i]);
  actr_node_free(victim);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* The route table: actr's defaults, and a configured route replacing one. */
static void test_route_table(void) {
  actr_node_route_t r;
  actr_node_route_default(ACTR_PAYLOAD_RPC_SIGNAL, &r);
  g_assert_cmpint(r.wires[0], ==, ACTR_NODE_WIRE_WEBRTC);
  g_assert_cmpint(r.wires[1], ==, ACTR_NODE_WIRE_WEBSOCKET);
  g_assert_cmpuint(r.max_attempts, ==, 2);
  g_assert_cmpuint(r.backoff_initial_ms, ==, 500);
  g_assert_cmpuint(r.backoff_max_ms, ==, 500);
  actr_node_route_default(ACTR_PAYLOAD_RPC_RELIABLE, &r);
  g_assert_cmpuint(r.max_attempts, ==, 5);
  g_assert_cmpuint(r.backoff_initial_ms, ==, 1000);
  g_assert_cmpuint(r.backoff_max_ms, ==, 5000);
  for (int t = ACTR_PAYLOAD_STREAM_RELIABLE; t <= ACTR_PAYLOAD_STREAM_LATENCY_FIRST; t++) {
    actr_node_route_default((actr_payload_type_t)t, &r);
    g_assert_cmpint(r.wires[0], ==, ACTR_NODE_WIRE_WEBRTC);
    g_assert_cmpuint(r.max_attempts, ==, 1);
  }
  actr_node_route_default(ACTR_PAYLOAD_MEDIA_RTP, &r);
  g_assert_cmpint(r.wires[0], ==, ACTR_NODE_WIRE_NONE);
  /* 1 s doubling to 5 s: 1, 2, 4, 5, 5 */
  unsigned want[] = {1000, 2000, 4000, 5000, 5000};
  for (unsigned i = 0; i < G_N_ELEMENTS(want); i++)
    g_assert_cmpuint(actr__backoff_ms(1000, 5000, i + 1), ==, want[i]);
  actr_node_route_t given = {.wires = {ACTR_NODE_WIRE_WEBSOCKET}, .max_attempts = 0};
  actr__route_resolve(&given, ACTR_PAYLOAD_RPC_RELIABLE, &r);
  g_assert_cmpint(r.wires[0], ==, ACTR_NODE_WIRE_WEBSOCKET);
  g_assert_cmpint(r.wires[1], ==, ACTR_NODE_WIRE_NONE);
  g_assert_cmpuint(r.max_attempts, ==, 1);
}

/* send_envelope: an envelope built here (direction: UNSPECIFIED for none,
 * as 0.3 sends) from @from to @to as raw bytes on the RPC_RELIABLE lane. */
static void send_envelope(actr_node_t *from, const actr_actor_id_t *to, const char *route,
                          const char *rid, uint32_t timeout_ms, const char *payload,
                          actr_envelope_direction_t dir) {
  actr_envelope_t *env;
  ASSERT_OK(actr_envelope_new(route, rid, timeout_ms, &env));
  ASSERT_OK(actr_envelope_set_payload(env, payload, strlen(payload)));
  if (dir != ACTR_ENVELOPE_DIRECTION_UNSPECIFIED)
    ASSERT_OK(actr_envelope_set_direction(env, dir));
  uint8_t *buf;
  size_t len;
  ASSERT_OK(actr_envelope_encode(env, &buf, &len));
  actr_envelope_free(env);
  ASSERT_OK(actr__node_send_raw(from, to, buf, len, 20000));
  g_free(buf);
}

/* start_03_pair: actrix speaking 0.3, a runtime, and two 0.3 nodes, the
 * server serving handler(). */
static void start_03_pair(actrix_t *a, actr_runtime_t **rt, actr_node_t **server,
                          actr_node_t **client) {
  const char *args[] = {"--dialect", "0.3", NULL};
  actrix_start(a, args);
  ASSERT_OK(actr_runtime_new(rt));
  *server = start_dialect(*rt, a, "acme:server:1", ACTR_NODE_DIALECT_03);
  *client = start_dialect(*rt, a, "acme:client:1", ACTR_NODE_DIALECT_03);
  ASSERT_OK(actr_node_serve(*server, handler, NULL));
}

/* 0.3: a handler that gives no answer sends nothing back; the caller
 * times out as 0.3 does, and nothing of the call is left behind. */
static void test_silent_03(void) {
  actrix_t a;
  actr_runtime_t *rt;
  actr_node_t *server, *client;
  start_03_pair(&a, &rt, &server, &client);
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "ab", 2, 20000, &resp));
  actr_envelope_free(resp); /* connected */
  resp = (actr_envelope_t *)&resp;
  ASSERT_RC(actr_node_call(client, actr_node_id(server), "test.Silent", "x", 1, 300, &resp),
            "TIMEOUT");
  g_assert_null(resp);
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.calls_timed_out, ==, 1);
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "cd", 2, 20000, &resp));
  actr_envelope_free(resp);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* 0.3 answers carry no direction: an answer is known by its request id.
 * One that comes after its call ended (here: sent again by the callee), and
 * the answer 0.3 gives to a tell, are dropped, not run as requests; and two
 * 0.3 nodes that each took the
 * other's answer for a request (an id neither of them issued through a
 * call: a raw request here) replay their kept replies a bounded number of
 * times, not to each other for ever. */
static void test_03_answers_never_loop(void) {
  actrix_t a;
  actr_runtime_t *rt;
  actr_node_t *server, *client;
  start_03_pair(&a, &rt, &server, &client);
  ASSERT_OK(actr_node_serve(client, handler, NULL));
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Remember", "ab", 2, 20000, &resp));
  actr_envelope_free(resp);
  /* The same answer again, after the call: dropped by the client. */
  char rid[64];
  remembered_take(rid);
  g_assert_cmpuint(strlen(rid), >, 0);
  send_envelope(server, actr_node_id(client), "test.Remember", rid, 20000, "ba",
                ACTR_ENVELOPE_DIRECTION_UNSPECIFIED);
  /* A tell: 0.3 answers it, and that answer is no request to the client. */
  ASSERT_OK(actr_node_tell(client, actr_node_id(server), "test.Tell", "t", 1));
  /* A raw request: its answer is news to the client, which runs it. */
  send_envelope(client, actr_node_id(server), "test.Reverse", "loop-1", 5000, "xy",
                ACTR_ENVELOPE_DIRECTION_UNSPECIFIED);
  /* Ordered wire: once a later call is answered, both were handled. */
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "cd", 2, 20000, &resp));
  actr_envelope_free(resp);
  g_usleep(500000); /* a loop would be thousands of messages by now */
  actr_node_stats_t sc, ss, sc2, ss2;
  ASSERT_OK(actr_node_stats(client, &sc));
  ASSERT_OK(actr_node_stats(server, &ss));
  g_test_message("client: %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT
                 " replayed; server: %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT
                 " replayed", (guint64)sc.requests_received, (guint64)sc.requests_replayed,
                 (guint64)ss.requests_received, (guint64)ss.requests_replayed);
  /* The client ran only the raw request's answer (taken for a request),
   * not the repeated answer of its own call. */
  g_assert_cmpuint(sc.requests_received - sc.requests_duplicate, ==, 1);
  g_assert_cmpuint(sc.requests_replayed, <=, 64); /* REPLAYS_MAX */
  g_assert_cmpuint(ss.requests_replayed, <=, 64);
  g_usleep(300000);
  ASSERT_OK(actr_node_stats(client, &sc2));
  ASSERT_OK(actr_node_stats(server, &ss2));
  g_assert_cmpuint(sc2.requests_received, ==, sc.requests_received); /* over */
  g_assert_cmpuint(ss2.requests_received, ==, ss.requests_received);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* A call's answer is the called actor's: another actor of the realm that
 * learnt the request id (a call by type sends one id to every actor it
 * tries) sends an envelope with it and direction RESPONSE while the call
 * waits; the call still gets the callee's answer.  And the callee keys its
 * duplicates by caller too. */
typedef struct slow_call {
  actr_node_t *client;
  const actr_actor_id_t *target;
  int timeout_ms; /* 0: 20000 */
  int rc;
  actr_envelope_t *resp;
} slow_call_t;

static gpointer slow_call_main(gpointer data) {
  slow_call_t *c = data;
  c->rc = actr_node_call(c->client, c->target, "test.Slow", "abc", 3,
                         c->timeout_ms ? c->timeout_ms : 20000, &c->resp);
  return NULL;
}

/* A callee that takes no more (here its handler holds its runtime's I/O
 * thread, so nothing it is sent is read; a hostile one keeps its window
 * shut): sending waits within the call's time, a tell's within
 * connect_timeout_ms.  Before, the send had no limit: once the channel was
 * full a tell or call blocked until the callee read again (here: never
 * within the 30 s the test waits). */
typedef struct fill {
  actr_node_t *client;
  const actr_actor_id_t *target;
  int tell_rc, call_rc;
  unsigned sent;
  GAsyncQueue *done;
} fill_t;

static gpointer fill_main(gpointer p) {
  fill_t *f = p;
  enum { SIZE = 200000 };
  uint8_t *big = g_malloc0(SIZE);
  f->tell_rc = ACTR_OK;
  for (f->sent = 0; f->sent < 1000 && f->tell_rc == ACTR_OK; f->sent++)
    f->tell_rc = actr_node_tell(f->client, f->target, "test.Count", big, SIZE);
  g_free(big);
  actr_envelope_t *resp = NULL;
  f->call_rc = actr_node_call(f->client, f->target, "test.Reverse", "z", 1, 500, &resp);
  actr_envelope_free(resp);
  g_async_queue_push(f->done, GINT_TO_POINTER(1));
  return NULL;
}

static void test_send_within_timeout(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt, *rt_server; /* the server's handler holds its own I/O thread */
  ASSERT_OK(actr_runtime_new(&rt));
  ASSERT_OK(actr_runtime_new(&rt_server));
  actr_node_t *server = start(rt_server, &a, "acme:server:1");
  actr_node_config_t cfg;
  node_config(&cfg, &a, "acme:client:1");
  cfg.connect_timeout_ms = 2000; /* a tell's time */
  actr_node_t *client;
  ASSERT_OK(actr_node_new(rt, &cfg, &client));
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "c", 1, 20000, &resp));
  actr_envelope_free(resp); /* connected */
  gate_open = false;
  ASSERT_OK(actr_node_tell(client, actr_node_id(server), "test.Gate", "g", 1));
  fill_t f = {.client = client, .target = actr_node_id(server), .done = g_async_queue_new()};
  GThread *t = g_thread_new("fill", fill_main, &f);
  gboolean done = g_async_queue_timeout_pop(f.done, 30 * G_USEC_PER_SEC) != NULL;
  g_mutex_lock(&gate_mu);
  gate_open = true;
  g_cond_broadcast(&gate_cond);
  g_mutex_unlock(&gate_mu);
  g_assert_true(done); /* before: still blocked in a send */
  g_thread_join(t);
  g_test_message("%u tells went before one found no room", f.sent - 1);
  ASSERT_RC(f.tell_rc, "TIMEOUT");
  ASSERT_RC(f.call_rc, "TIMEOUT");
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.calls_timed_out, ==, 2);
  /* The callee reads again: the wire still works. */
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "ok", 2, 20000, &resp));
  const uint8_t *d;
  size_t dl;
  g_assert_true(actr_envelope_payload(resp, &d, &dl));
  g_assert_cmpmem(d, dl, "ko", 2);
  actr_envelope_free(resp);
  g_async_queue_unref(f.done);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actr_runtime_unref(rt_server);
  actrix_stop(&a);
}

/* Many calls in flight whose replies add up to more than the channel
 * takes at once: the handler runs on the I/O thread, where a send never
 * waits, so a reply the channel could not take was dropped (requests_dropped)
 * and its caller waited out its timeout though the handler had answered.
 * Now such replies wait, in order and bounded, for the lane's writable
 * handler: all 40 callers get their 100,000 bytes (4 MB in all: within the
 * queue's 4 MiB, what the channel holds besides). */
typedef struct big_call {
  actr_node_t *client;
  const actr_actor_id_t *target;
  atomic_int *ok;
} big_call_t;

static gpointer big_call_main(gpointer p) {
  big_call_t *c = p;
  actr_envelope_t *resp = NULL;
  if (actr_node_call(c->client, c->target, "test.Big", "b", 1, 15000, &resp) == ACTR_OK) {
    const uint8_t *d;
    size_t dl;
    bool whole = actr_envelope_payload(resp, &d, &dl) && dl == BIG_REPLY;
    for (size_t i = 0; whole && i < dl; i++)
      whole = d[i] == (uint8_t)(i * 7);
    if (whole)
      atomic_fetch_add(c->ok, 1);
  }
  actr_envelope_free(resp);
  return NULL;
}

static void test_replies_wait_for_room(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt, *rt_server;
  ASSERT_OK(actr_runtime_new(&rt));
  ASSERT_OK(actr_runtime_new(&rt_server));
  actr_node_t *server = start(rt_server, &a, "acme:server:1");
  actr_node_t *client = start(rt, &a, "acme:client:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "c", 1, 20000, &resp));
  actr_envelope_free(resp); /* connected */
  enum { CALLS = 40 };
  atomic_int ok = 0;
  big_call_t c = {.client = client, .target = actr_node_id(server), .ok = &ok};
  GThread *t[CALLS];
  for (int i = 0; i < CALLS; i++)
    t[i] = g_thread_new("big-call", big_call_main, &c);
  for (int i = 0; i < CALLS; i++)
    g_thread_join(t[i]);
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(server, &st));
  g_test_message("%d of %d calls answered whole; server: %llu answered, %llu dropped",
                 atomic_load(&ok), CALLS, (unsigned long long)st.requests_answered,
                 (unsigned long long)st.requests_dropped);
  g_assert_cmpint(atomic_load(&ok), ==, CALLS);
  g_assert_cmpuint(st.requests_dropped, ==, 0);
  g_assert_cmpuint(st.requests_answered, ==, CALLS + 1);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actr_runtime_unref(rt_server);
  actrix_stop(&a);
}

/* A call by type within its timeout while actrix is slow to list the
 * type's actors (here: never within the test): looking for them waits
 * only the call's time.  Before, it waited the signaling request's own
 * timeout (15 s in 0.3), far past a 500 ms call's. */
typedef struct by_type_call {
  actr_node_t *client;
  int rc;
  GAsyncQueue *done;
} by_type_call_t;

static gpointer by_type_call_main(gpointer p) {
  by_type_call_t *c = p;
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse("acme:server:1", &t));
  actr_envelope_t *resp = NULL;
  c->rc = actr_node_call_by_type(c->client, &t, "test.Reverse", "x", 1, 500, &resp);
  actr_envelope_free(resp);
  g_async_queue_push(c->done, GINT_TO_POINTER(1));
  return NULL;
}

static void test_by_type_within_timeout(void) {
  const char *args[] = {"--dialect", "0.3", "--discover-delay-ms", "60000", NULL};
  actrix_t a;
  actrix_start(&a, args);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *client = start_dialect(rt, &a, "acme:client:1", ACTR_NODE_DIALECT_03);
  by_type_call_t c = {.client = client, .done = g_async_queue_new()};
  GThread *t = g_thread_new("by-type", by_type_call_main, &c);
  gboolean done = g_async_queue_timeout_pop(c.done, 10 * G_USEC_PER_SEC) != NULL;
  g_assert_true(done); /* before: still asking actrix (15 s) */
  g_thread_join(t);
  ASSERT_RC(c.rc, "TIMEOUT");
  g_async_queue_unref(c.done);
  actr_node_free(client);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

static void test_answer_from_the_callee_only(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt, *rt_server; /* the server's handler sleeps on its own I/O thread */
  ASSERT_OK(actr_runtime_new(&rt));
  ASSERT_OK(actr_runtime_new(&rt_server));
  actr_node_t *server = start(rt_server, &a, "acme:server:1");
  actr_node_t *client = start(rt, &a, "acme:client:1");
  actr_node_t *other = start(rt, &a, "acme:other:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "c", 1, 20000, &resp));
  actr_envelope_free(resp);
  ASSERT_OK(actr_node_tell(other, actr_node_id(client), "test.Tell", "t", 1)); /* its wire up */
  char rid[64];
  remembered_take(rid); /* forget an earlier test's */
  slow_call_t c = {.client = client, .target = actr_node_id(server)};
  GThread *t = g_thread_new("slow-call", slow_call_main, &c);
  rid[0] = '\0';
  for (int i = 0; i < 200 && !rid[0]; i++) { /* the handler has it: the call waits */
    g_usleep(10000);
    remembered_take(rid);
  }
  g_assert_cmpuint(strlen(rid), >, 0);
  send_envelope(other, actr_node_id(client), "test.Slow", rid, 0, "forged",
                ACTR_ENVELOPE_DIRECTION_RESPONSE);
  g_thread_join(t);
  ASSERT_OK(c.rc);
  const uint8_t *d;
  size_t dl;
  g_assert_true(actr_envelope_payload(c.resp, &d, &dl));
  g_assert_cmpmem(d, dl, "cba", 3);
  actr_envelope_free(c.resp);
  /* The same request id from another caller is that caller's request, run
   * for it, not a duplicate answered with the first caller's reply. */
  send_envelope(other, actr_node_id(server), "test.Reverse", rid, 5000, "xyz",
                ACTR_ENVELOPE_DIRECTION_REQUEST);
  ASSERT_OK(actr_node_call(other, actr_node_id(server), "test.Reverse", "q", 1, 20000, &resp));
  actr_envelope_free(resp); /* ordered wire: the raw one was handled before */
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(server, &st));
  g_assert_cmpuint(st.requests_duplicate, ==, 0);
  g_assert_cmpuint(st.requests_answered, ==, 4); /* c, abc, xyz, q */
  /* 0.5 routes on the direction alone: an envelope with none (as 0.3
   * sends) is not run as a request, as in actr. */
  uint64_t dropped = st.requests_dropped;
  atomic_store(&counted, 0);
  send_envelope(other, actr_node_id(server), "test.Count", "no-direction-1", 5000, "x",
                ACTR_ENVELOPE_DIRECTION_UNSPECIFIED);
  ASSERT_OK(actr_node_call(other, actr_node_id(server), "test.Reverse", "r", 1, 20000, &resp));
  actr_envelope_free(resp); /* ordered wire: the raw one was handled before */
  ASSERT_OK(actr_node_stats(server, &st));
  g_assert_cmpint(atomic_load(&counted), ==, 0);
  g_assert_cmpuint(st.requests_dropped, ==, dropped + 1);
  actr_node_free(other);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actr_runtime_unref(rt_server);
  actrix_stop(&a);
}

/* The wire dies between the handler and its reply: the caller's request
 * is sent again (RPC_RELIABLE allows 5 attempts) on the wire built anew,
 * the callee sees the same request id, does not run it again and sends
 * the first reply. */
static void test_retry_executed_once(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1"), *client = start(rt, &a, "acme:client:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "ab", 2, 20000, &resp));
  actr_envelope_free(resp);
  atomic_store(&counted, 0);
  actr__node_drop_replies(server, 1);
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Count", "once", 4, 40000, &resp));
  const uint8_t *d;
  size_t len;
  g_assert_true(actr_envelope_payload(resp, &d, &len));
  g_assert_cmpmem(d, len, "ecno", 4);
  actr_envelope_free(resp);
  g_assert_cmpint(atomic_load(&counted), ==, 1);
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(server, &st));
  g_assert_cmpuint(st.requests_duplicate, ==, 1);
  g_assert_cmpuint(st.requests_replayed, ==, 1);
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.calls_retried, >=, 1);
  g_assert_cmpuint(st.wires_lost, >=, 1);
  g_assert_cmpuint(st.wires_up, >=, 2); /* the first wire and the one built again */
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* wait_requests_received: until @node has received @want requests (30 s at
 * most), and exactly that many; its stats in *@st. */
static void wait_requests_received(actr_node_t *node, uint64_t want, actr_node_stats_t *st) {
  ASSERT_OK(actr_node_stats(node, st));
  for (int i = 0; i < 300 && st->requests_received < want; i++) {
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(node, st));
  }
  g_assert_cmpuint(st->requests_received, ==, want);
}

/* The callee's table of request ids it ran is shared by its callers: one
 * that sends many ids pushed everyone else's out (a FIFO of 1024), and a
 * retry of another caller's request, arriving after, ran the handler a
 * second time.  Now a caller past its share (256) replaces its own oldest
 * ids.  The flooder sends 1100 requests between a request of the client and
 * its copy (a retry as the client's node would send it). */
static void test_dedup_fair_share(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1"), *client = start(rt, &a, "acme:client:1"),
              *flooder = start(rt, &a, "acme:flooder:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_envelope_t *resp;
  actr_node_t *callers[] = {client, flooder};
  for (int i = 0; i < 2; i++) { /* a wire from each */
    ASSERT_OK(actr_node_call(callers[i], actr_node_id(server), "test.Reverse", "ab", 2, 20000,
                             &resp));
    actr_envelope_free(resp);
  }
  atomic_store(&counted, 0);
  send_envelope(client, actr_node_id(server), "test.Count", "client-request-1", 20000, "once",
                ACTR_ENVELOPE_DIRECTION_REQUEST);
  enum { FLOOD = 1100 };
  for (int i = 0; i < FLOOD; i++) {
    char rid[32];
    snprintf(rid, sizeof rid, "flood-%d", i);
    send_envelope(flooder, actr_node_id(server), "test.Reverse", rid, 20000, "x",
                  ACTR_ENVELOPE_DIRECTION_REQUEST);
  }
  actr_node_stats_t st;
  wait_requests_received(server, 2 + 1 + FLOOD, &st);
  g_assert_cmpint(atomic_load(&counted), ==, 1);
  send_envelope(client, actr_node_id(server), "test.Count", "client-request-1", 20000, "once",
                ACTR_ENVELOPE_DIRECTION_REQUEST);
  wait_requests_received(server, 2 + 2 + FLOOD, &st);
  g_assert_cmpuint(st.requests_duplicate, ==, 1);
  g_assert_cmpuint(st.requests_replayed, ==, 1);
  g_assert_cmpint(atomic_load(&counted), ==, 1); /* was 2 */
  actr_node_free(client);
  actr_node_free(flooder);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* A 0.3 caller that registered again (a new ActrId) between a request and
 * the death of its wire does not send it again: the callee keys the
 * requests it ran by the caller's ActrId, so the retry, coming from the new
 * one, ran the handler a second time (counted 2, the call answered).  Now
 * the call ends with CONNECTION and the handler ran once.  The client
 * registers again while its first wire is up: the request goes out on that
 * wire (the old ActrId), the server drops its reply and the wire, and the
 * only wire left to build is one under the new ActrId. */
/* register_again: @node registers again (actr__node_register_again) and
 * this waits until it has (20 s at most). */
static void register_again(actr_node_t *node) {
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(node, &st));
  uint64_t renewals = st.credential_renewals;
  actr__node_register_again(node);
  for (int i = 0; i < 200 && st.credential_renewals == renewals; i++) {
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(node, &st));
  }
  g_assert_cmpuint(st.credential_renewals, ==, renewals + 1);
}

/* threads_named: threads of this process named @name (NULL: any name),
 * without GLib's shared pools (their idle workers come and go on their
 * own: "pool-*" names). */
static unsigned threads_named(const char *name) {
  GDir *d = g_dir_open("/proc/self/task", 0, NULL);
  g_assert_nonnull(d);
  unsigned k = 0;
  const char *tid;
  GString *names = g_string_new(NULL);
  while ((tid = g_dir_read_name(d))) {
    char *path = g_strdup_printf("/proc/self/task/%s/comm", tid), *comm = NULL;
    if (g_file_get_contents(path, &comm, NULL, NULL) && !g_str_has_prefix(comm, "pool-") &&
        (!name || strcmp(g_strstrip(comm), name) == 0)) {
      k++;
      g_string_append_printf(names, " %s", g_strstrip(comm));
    }
    g_free(comm);
    g_free(path);
  }
  g_dir_close(d);
  g_test_message("threads:%s", names->str);
  g_string_free(names, TRUE);
  return k;
}

static unsigned thread_count(void) {
  return threads_named(NULL);
}

/* log_count_start / log_count_stop: count the log lines (INFO and up)
 * holding both @a and @b (nullable) until stop, which gives the count and
 * puts the default handler back. */
static const char *log_want_a, *log_want_b;
static atomic_int log_hits;

static void count_log_lines(actr_log_level_t level, const char *msg, void *user) {
  (void)level;
  (void)user;
  if (strstr(msg, log_want_a) && (!log_want_b || strstr(msg, log_want_b)))
    atomic_fetch_add(&log_hits, 1);
}

static void log_count_start(const char *a, const char *b) {
  log_want_a = a;
  log_want_b = b;
  atomic_store(&log_hits, 0);
  actr_log_set_handler(count_log_lines, ACTR_LOG_INFO, NULL);
}

static int log_count_stop(void) {
  actr_log_set_handler(NULL, ACTR_LOG_WARN, NULL);
  return atomic_load(&log_hits);
}

/* An AIS that takes requests and never answers (the test actrix's
 * --ais-hang-after): the server's registration again waits for it on a
 * thread of its own.  Meanwhile its control thread builds the connection
 * a client's first call needs (before, it sat in the exchange until its
 * 30 s deadline and the call timed out), and actr_node_free cancels the
 * exchange rather than waiting it out (it would end as a timeout). */
static void test_ais_hang_holds_nobody(void) {
  const char *args[] = {"--ais-hang-after", "2", NULL}; /* the two registrations below */
  actrix_t a;
  actrix_start(&a, args);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1"), *client = start(rt, &a, "acme:client:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr__node_register_again(server);
  g_usleep(1500000); /* the control loop looks at the credential every second at least */
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "ok", 2, 8000, &resp));
  actr_envelope_free(resp);
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(server, &st));
  g_assert_cmpuint(st.credential_renewals, ==, 0); /* the exchange is still hanging */
  log_count_start("AIS exchange cancelled", NULL);
  actr__node_set_job_linger(server, 300); /* a detached thread would outlive free */
  gint64 t0 = g_get_monotonic_time();
  actr_node_free(server);
  g_test_message("server freed in %.2f s with its AIS exchange under way",
                 (double)(g_get_monotonic_time() - t0) / 1e6);
  g_assert_cmpint(log_count_stop(), ==, 1);
  g_assert_cmpuint(threads_named("actr-node-slow"), ==, 0); /* joined, not left to end */
  actr_node_free(client);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

static void test_no_retry_after_registering_again(void) {
  const char *args[] = {"--dialect", "0.3", NULL};
  actrix_t a;
  actrix_start(&a, args);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start_dialect(rt, &a, "acme:server:1", ACTR_NODE_DIALECT_03);
  actr_node_t *client = start_dialect(rt, &a, "acme:client:1", ACTR_NODE_DIALECT_03);
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "ab", 2, 20000, &resp));
  actr_envelope_free(resp);
  actr_actor_id_t before = *actr_node_id(client);
  register_again(client);
  g_assert_false(actr_actor_id_equal(&before, actr_node_id(client)));
  atomic_store(&counted, 0);
  actr__node_drop_replies(server, 1);
  ASSERT_RC(actr_node_call(client, actr_node_id(server), "test.Count", "once", 4, 40000, &resp),
            "CONNECTION");
  g_assert_nonnull(strstr(actr_err_detail(), "registered again"));
  g_assert_cmpint(atomic_load(&counted), ==, 1);
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.calls_not_retried, ==, 1);
  g_assert_cmpuint(st.calls_retried, ==, 0);
  /* The next call goes out under the new ActrId and is answered. */
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Count", "twice", 5, 40000, &resp));
  actr_envelope_free(resp);
  g_assert_cmpint(atomic_load(&counted), ==, 2);
  /* A call by type likewise: its wire lost, it finds the same actor again
   * and does not send the request from our newer ActrId. */
  actr_actor_type_t st_type;
  ASSERT_OK(actr_actor_type_parse("acme:server:1", &st_type));
  ASSERT_OK(actr_node_call_by_type(client, &st_type, "test.Reverse", "ab", 2, 20000, &resp));
  actr_envelope_free(resp);
  register_again(client);
  actr__node_drop_replies(server, 1);
  ASSERT_RC(actr_node_call_by_type(client, &st_type, "test.Count", "by type", 7, 40000, &resp),
            "CONNECTION");
  g_assert_nonnull(strstr(actr_err_detail(), "registered again"));
  g_assert_cmpint(atomic_load(&counted), ==, 3);
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.calls_not_retried, ==, 2);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* WebRTC blocked (every UDP packet dropped): the call goes over the direct
 * WebSocket wire to the address discovery gave (0.5), with our identity,
 * and the reply comes back on it.  A WebSocket without a valid identity is
 * refused before the upgrade. */
/* wait_ws_wires: until @node counts @want direct WebSocket wires up (10 s
 * at most).  The listening side adopts an inbound wire on its control
 * thread after the upgrade, so its count may trail the caller's calls. */
static void wait_ws_wires(actr_node_t *node, uint64_t want) {
  actr_node_stats_t st;
  for (int i = 0; i < 100; i++) {
    ASSERT_OK(actr_node_stats(node, &st));
    if (st.ws_wires_up >= want)
      break;
    g_usleep(100000);
  }
  g_assert_cmpuint(st.ws_wires_up, ==, want);
}

/* Actors whose direct WebSocket address is a listener that takes the TCP
 * connection and never answers the upgrade: each dial of ours lasts its
 * whole 5 s.  Meanwhile a call to another actor (over WebRTC) goes through:
 * the control thread does not wait for a dial.  (Before, it did: three such
 * dials held it 15 s, and the other call, its negotiation queued behind
 * them, timed out at 8 s.) */
static void test_dials_hold_nobody(void) {
  int hole = socket(AF_INET, SOCK_STREAM, 0);
  g_assert_cmpint(hole, >=, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  g_assert_cmpint(bind(hole, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  g_assert_cmpint(listen(hole, 64), ==, 0);
  g_assert_cmpint(getsockname(hole, (struct sockaddr *)&sa, &sl), ==, 0);
  char ws[64];
  snprintf(ws, sizeof ws, "ws://127.0.0.1:%u/", ntohs(sa.sin_port));

  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_node_t *client = start(rt, &a, "acme:client:1");
  enum { HOLES = 3 };
  actr_ais_options_t ao = {.ws_address = ws};
  raw_actor_t holes[HOLES]; /* listed by actrix once connected */
  for (int i = 0; i < HOLES; i++)
    raw_actor_start_with(&holes[i], rt, &a, "acme:hole:1", &ao, NULL, NULL);
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse("acme:hole:1", &t));
  actr_actor_id_t found[HOLES];
  unsigned n = 0;
  ASSERT_OK(actr_node_discover(client, &t, found, HOLES, &n)); /* their addresses */
  g_assert_cmpuint(n, ==, HOLES);
  slow_call_t calls[HOLES];
  GThread *th[HOLES];
  for (int i = 0; i < HOLES; i++) {
    calls[i] = (slow_call_t){.client = client, .target = &found[i], .timeout_ms = 8000};
    th[i] = g_thread_new("hole-call", slow_call_main, &calls[i]);
  }
  g_usleep(300000); /* the dials are under way */
  actr_envelope_t *resp = NULL;
  gint64 t0 = g_get_monotonic_time();
  int rc = actr_node_call(client, actr_node_id(server), "test.Reverse", "abc", 3, 8000, &resp);
  g_test_message("the call beside %d hung dials: %s in %.2f s", HOLES, actr_err_name(rc),
                 (double)(g_get_monotonic_time() - t0) / 1e6);
  ASSERT_OK(rc);
  const uint8_t *d;
  size_t dl;
  g_assert_true(actr_envelope_payload(resp, &d, &dl));
  g_assert_cmpmem(d, dl, "cba", 3);
  actr_envelope_free(resp);
  for (int i = 0; i < HOLES; i++) {
    g_thread_join(th[i]);
    g_assert_cmpint(calls[i].rc, !=, ACTR_OK);
    actr_envelope_free(calls[i].resp);
  }
  actr_node_free(client); /* with dials under way: abandoned */
  actr_node_free(server);
  for (int i = 0; i < HOLES; i++)
    raw_actor_stop(&holes[i]);
  actr_runtime_unref(rt);
  actrix_stop(&a);
  close(hole);
}

static void test_websocket_fallback(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_config_t cfg;
  actr_node_config_init(&cfg);
  cfg.ais_url = a.ais;
  cfg.signaling_url = a.signaling;
  cfg.realm_id = 3;
  ASSERT_OK(actr_actor_type_parse("acme:server:1", &cfg.type));
  cfg.ice_addresses = loopback;
  cfg.ice_address_count = 1;
  cfg.ws_listen_host = "127.0.0.1";
  actr_node_t *server;
  ASSERT_OK(actr_node_new(rt, &cfg, &server));
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_node_t *client = start(rt, &a, "acme:client:1");
  g_assert_cmpint(system("iptables -A INPUT -i lo -p udp -j DROP"), ==, 0);
  actr_actor_id_t target;
  unsigned n = 0;
  ASSERT_OK(actr_node_discover(client, &actr_node_id(server)->type, &target, 1, &n));
  g_assert_cmpuint(n, ==, 1);
  for (int i = 0; i < 20; i++) {
    char req[16], want[16];
    int len = snprintf(req, sizeof req, "ws-%d", i);
    for (int j = 0; j < len; j++)
      want[j] = req[len - 1 - j];
    actr_envelope_t *resp;
    ASSERT_OK(actr_node_call(client, &target, "test.Reverse", req, (size_t)len, 20000, &resp));
    const uint8_t *d;
    size_t dl;
    g_assert_true(actr_envelope_payload(resp, &d, &dl));
    g_assert_cmpmem(d, dl, want, len);
    actr_envelope_free(resp);
  }
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.ws_wires_up, ==, 1);
  wait_ws_wires(server, 1);
  ASSERT_OK(actr_node_stats(server, &st));
  g_assert_cmpuint(st.requests_answered, ==, 20);

  /* Identity: none, garbage, a real credential presented for another
   * actor, the server's own identity (as every actor it dials receives it)
   * and an actor of another realm are refused before the upgrade (401,
   * 400, 403, 403, 403). */
  char url[300];
  actr_credential_t *cred;
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse("acme:intruder:1", &t));
  ASSERT_OK(actr_ais_register(a.ais, &t, 3, NULL, &cred));
  char *src = NULL, *cr = NULL;
  ASSERT_OK(actr__ws_gate_headers(actr_credential_actor_id(cred), cred, &src, &cr));
  char *other = NULL, *other_cr = NULL; /* the client's id with the intruder's credential */
  ASSERT_OK(actr__ws_gate_headers(actr_node_id(client), cred, &other, &other_cr));
  char *own = NULL, *own_cr = NULL;
  ASSERT_OK(actr__node_gate_headers(server, &own, &own_cr));
  actr_credential_t *alien; /* signed by the same AIS key, for another realm */
  ASSERT_OK(actr_ais_register(a.ais, &t, 4, NULL, &alien));
  char *alien_src = NULL, *alien_cr = NULL;
  ASSERT_OK(actr__ws_gate_headers(actr_credential_actor_id(alien), alien, &alien_src, &alien_cr));
  /* The server's address: what discovery gave the client. */
  ASSERT_OK(actr__node_ws_url(client, &target, url, sizeof url));
  struct {
    const char *src, *cred, *status;
  } bad[] = {{NULL, NULL, "401"},   {"zz", "!!", "400"},          {other, cr, "403"},
             {own, own_cr, "403"}, {alien_src, alien_cr, "403"}};
  for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
    actr_ws_config_t wc;
    actr_ws_config_init(&wc);
    wc.source_id = bad[i].src;
    wc.credential = bad[i].cred;
    actr_ws_conn_t *conn = NULL;
    ASSERT_RC(actr_ws_connect(rt, url, &wc, &conn), "WEBSOCKET");
    g_assert_nonnull(strstr(actr_err_detail(), bad[i].status));
  }
  actr_ws_config_t wc; /* the intruder as itself: a valid identity of the realm */
  actr_ws_config_init(&wc);
  wc.source_id = src;
  wc.credential = cr;
  actr_ws_conn_t *conn = NULL;
  ASSERT_OK(actr_ws_connect(rt, url, &wc, &conn));
  actr_ws_conn_unref(conn);
  ASSERT_OK(actr_node_stats(server, &st));
  g_assert_cmpuint(st.ws_refused, ==, G_N_ELEMENTS(bad));
  g_free(src);
  g_free(cr);
  g_free(other);
  g_free(other_cr);
  g_free(own);
  g_free(own_cr);
  g_free(alien_src);
  g_free(alien_cr);
  actr_credential_free(alien);
  actr_credential_free(cred);
  g_assert_cmpint(system("iptables -D INPUT -i lo -p udp -j DROP"), ==, 0);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

static void wait_destinations(actr_node_t *node, unsigned want) {
  actr_node_stats_t st = {0};
  for (int i = 0; i < 200; i++) { /* 20 s at most */
    ASSERT_OK(actr_node_stats(node, &st));
    if (st.destinations == want)
      return;
    g_usleep(100000);
  }
  g_assert_cmpuint(st.destinations, ==, want);
}

static actr_node_t *start_ws_server(actr_runtime_t *rt, const actrix_t *a) {
  actr_node_config_t cfg;
  actr_node_config_init(&cfg);
  cfg.ais_url = a->ais;
  cfg.signaling_url = a->signaling;
  cfg.realm_id = 3;
  ASSERT_OK(actr_actor_type_parse("acme:server:1", &cfg.type));
  cfg.ice_addresses = loopback;
  cfg.ice_address_count = 1;
  cfg.ws_listen_host = "127.0.0.1";
  actr_node_t *server;
  ASSERT_OK(actr_node_new(rt, &cfg, &server));
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  return server;
}

/* 1,000 connect / call / disconnect cycles over the direct WebSocket wire
 * (route: WebSocket only) after 1,100 of warm-up, then 20 over WebRTC:
 * every destination is dropped on both sides, no thread is left, and the
 * heap in use after the last cycle is what it was after the warm-up
 * (within 64 KiB: a leak of 66 bytes a cycle would show). */
static void test_cycles(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start_ws_server(rt, &a);
  actr_node_config_t cfg;
  actr_node_config_init(&cfg);
  cfg.ais_url = a.ais;
  cfg.signaling_url = a.signaling;
  cfg.realm_id = 3;
  ASSERT_OK(actr_actor_type_parse("acme:client:1", &cfg.type));
  cfg.ice_addresses = loopback;
  cfg.ice_address_count = 1;
  cfg.routes[ACTR_PAYLOAD_RPC_RELIABLE].wires[0] = ACTR_NODE_WIRE_WEBSOCKET;
  cfg.routes[ACTR_PAYLOAD_RPC_RELIABLE].max_attempts = 1;
  actr_node_t *client;
  ASSERT_OK(actr_node_new(rt, &cfg, &client));
  actr_node_t *rtc_client = start(rt, &a, "acme:client:1");
  actr_actor_id_t target;
  unsigned n = 0;
  ASSERT_OK(actr_node_discover(client, &actr_node_id(server)->type, &target, 1, &n));
  g_assert_cmpuint(n, ==, 1);
  /* The warm-up fills the callee's bounded reply cache for duplicates
   * (1,024 request ids): after it, memory must stay flat. */
  enum { WARMUP = 1100, CYCLES = WARMUP + 1000 };
  actr_envelope_t *first; /* one WebRTC cycle first: what its stack starts once is there */
  ASSERT_OK(actr_node_call(rtc_client, &target, "test.Reverse", "rt", 2, 20000, &first));
  actr_envelope_free(first);
  ASSERT_OK(actr_node_disconnect(rtc_client, &target));
  unsigned threads = 0;
  size_t heap = 0;
  actr_node_stats_t st;
  for (int i = 0; i < CYCLES; i++) {
    actr_envelope_t *resp;
    ASSERT_OK(actr_node_call(client, &target, "test.Reverse", "cy", 2, 20000, &resp));
    actr_envelope_free(resp);
    ASSERT_OK(actr_node_disconnect(client, &target));
    ASSERT_OK(actr_node_stats(client, &st));
    g_assert_cmpuint(st.destinations, ==, 0);
    if (i + 1 == WARMUP) {
      wait_destinations(server, 0);
      threads = thread_count();
      heap = mallinfo2().uordblks;
    }
  }
  wait_destinations(server, 0);
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.ws_wires_up, ==, CYCLES);
  ASSERT_OK(actr_node_stats(server, &st));
  g_assert_cmpuint(st.ws_wires_up, ==, CYCLES);
  g_assert_cmpuint(st.requests_answered, ==, CYCLES + 1);
  g_assert_cmpuint(thread_count(), ==, threads);
  size_t after = mallinfo2().uordblks;
  g_test_message("heap in use after %d cycles: %zu, after %d: %zu", WARMUP, heap, CYCLES, after);
  g_assert_cmpuint(after, <, heap + 64 * 1024);
  /* WebRTC wires the same way (fewer: each is an ICE + DTLS + SCTP set-up). */
  for (int i = 0; i < 20; i++) {
    actr_envelope_t *resp;
    ASSERT_OK(actr_node_call(rtc_client, &target, "test.Reverse", "rt", 2, 20000, &resp));
    actr_envelope_free(resp);
    ASSERT_OK(actr_node_disconnect(rtc_client, &target));
    ASSERT_OK(actr_node_stats(rtc_client, &st));
    g_assert_cmpuint(st.destinations, ==, 0);
  }
  wait_destinations(server, 0);
  g_assert_cmpuint(thread_count(), ==, threads);
  actr_node_free(rtc_client);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

typedef struct caller {
  actr_node_t *node;
  actr_actor_id_t target;
  bool by_type; /* actr_node_call_by_type to target.type */
  atomic_bool stop;
  unsigned ok, failed;
  gint64 longest_us;
} caller_t;

static gpointer caller_main(gpointer data) {
  caller_t *c = data;
  for (unsigned i = 0; !atomic_load(&c->stop); i++) {
    char req[32];
    int len = snprintf(req, sizeof req, "cut-%u", i);
    actr_envelope_t *resp;
    gint64 t0 = g_get_monotonic_time();
    int rc = c->by_type ? actr_node_call_by_type(c->node, &c->target.type, "test.Reverse", req,
                                                 (size_t)len, 40000, &resp)
                        : actr_node_call(c->node, &c->target, "test.Reverse", req, (size_t)len,
                                         40000, &resp);
    gint64 took = g_get_monotonic_time() - t0;
    c->longest_us = MAX(c->longest_us, took);
    if (rc == ACTR_OK) {
      const uint8_t *d;
      size_t dl;
      bool good = actr_envelope_payload(resp, &d, &dl) && dl == (size_t)len;
      for (int j = 0; good && j < len; j++)
        good = d[j] == (uint8_t)req[len - 1 - j];
      good ? c->ok++ : c->failed++;
      actr_envelope_free(resp);
    } else {
      g_test_message("call failed: %s: %s", actr_err_name(rc), actr_err_detail());
      c->failed++;
    }
    g_usleep(50000);
  }
  return NULL;
}

/* Every packet on lo dropped for 10 s (signaling included): the WebRTC
 * wire dies (peer timeout), the calls made meanwhile wait, the wire is
 * built again once the link is back, and every call succeeds. */
static void test_link_cut(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1"), *client = start(rt, &a, "acme:client:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  caller_t c = {.node = client, .target = *actr_node_id(server)};
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, &c.target, "test.Reverse", "up", 2, 20000, &resp));
  actr_envelope_free(resp);
  GThread *t = g_thread_new("caller", caller_main, &c);
  g_usleep(1000000);
  g_assert_cmpint(system("iptables -I INPUT 1 -i lo -j DROP"), ==, 0);
  g_usleep(10 * G_USEC_PER_SEC);
  g_assert_cmpint(system("iptables -D INPUT -i lo -j DROP"), ==, 0);
  gint64 back = g_get_monotonic_time();
  unsigned before = c.ok;
  actr_node_stats_t st;
  /* Until calls go through again (40 s at most), then a few more. */
  for (int i = 0; i < 400 && c.ok < before + 5 && !c.failed; i++)
    g_usleep(100000);
  gint64 recovered = g_get_monotonic_time();
  atomic_store(&c.stop, true);
  g_thread_join(t);
  g_test_message("calls %u ok, %u failed; longest %.1f s; recovered %.1f s after the link came back",
                 c.ok, c.failed, c.longest_us / 1e6, (recovered - back) / 1e6);
  printf("# TRANSPORT link_cut.recovery_s %.2f\n", (recovered - back) / 1e6);
  g_assert_cmpuint(c.failed, ==, 0);
  g_assert_cmpuint(c.ok, >=, before + 5);
  /* The wire came back: restarted in place (the offerer, the server, made
   * restart offers) or rebuilt (it died and a new one came up). */
  ASSERT_OK(actr_node_stats(client, &st));
  actr_node_stats_t sst;
  ASSERT_OK(actr_node_stats(server, &sst));
  g_test_message("server ice_restarts %" G_GUINT64_FORMAT ", client wires lost %" G_GUINT64_FORMAT
                 ", up %" G_GUINT64_FORMAT, sst.ice_restarts, st.wires_lost, st.wires_up);
  g_assert_true(sst.ice_restarts >= 1 || (st.wires_lost >= 1 && st.wires_up >= 2));
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

static actr_node_t *start_restart(actr_runtime_t *rt, const actrix_t *a, const char *type,
                                  int restart_ms) {
  actr_node_config_t cfg;
  actr_node_config_init(&cfg);
  cfg.ais_url = a->ais;
  cfg.signaling_url = a->signaling;
  cfg.realm_id = 3;
  ASSERT_OK(actr_actor_type_parse(type, &cfg.type));
  cfg.ice_addresses = loopback;
  cfg.ice_address_count = 1;
  cfg.ice_restart_timeout_ms = restart_ms;
  actr_node_t *n;
  ASSERT_OK(actr_node_new(rt, &cfg, &n));
  return n;
}

/* cut_udp: the WebRTC path (UDP on lo) dropped for @seconds while a
 * caller thread calls on; then until calls go through again and a few
 * more.  Every call must succeed. */
static void cut_udp(actr_node_t *client, actr_node_t *server, int seconds) {
  caller_t c = {.node = client, .target = *actr_node_id(server)};
  GThread *t = g_thread_new("caller", caller_main, &c);
  g_usleep(1000000);
  g_assert_cmpint(system("iptables -I INPUT 1 -i lo -p udp -j DROP"), ==, 0);
  g_usleep((gulong)seconds * G_USEC_PER_SEC);
  g_assert_cmpint(system("iptables -D INPUT -i lo -p udp -j DROP"), ==, 0);
  gint64 back = g_get_monotonic_time();
  unsigned before = c.ok;
  for (int i = 0; i < 400 && c.ok < before + 5 && !c.failed; i++) /* 40 s at most */
    g_usleep(100000);
  atomic_store(&c.stop, true);
  g_thread_join(t);
  g_test_message("calls %u ok, %u failed; longest %.1f s; back %.1f s after the cut ended", c.ok,
                 c.failed, c.longest_us / 1e6, (g_get_monotonic_time() - back) / 1e6);
  g_assert_cmpuint(c.failed, ==, 0);
  g_assert_cmpuint(c.ok, >=, before + 5);
}

/* What a raw actor's signaling client receives: the answers to its offers. */
typedef struct answers {
  GMutex mu;
  unsigned count;
  char last_xid[40];
  char all[512]; /* every answer's exchange id, each followed by ';' (cut when full) */
} answers_t;

static void answers_on_relay(const Signaling__SignalingEnvelope *env, void *user) {
  answers_t *an = user;
  const Signaling__ActrRelay *r = env->actr_relay;
  if (!r || r->payload_case != SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION ||
      r->session_description->type != WEBRTC__SESSION_DESCRIPTION__TYPE__ANSWER)
    return;
  g_mutex_lock(&an->mu);
  an->count++;
  snprintf(an->last_xid, sizeof an->last_xid, "%s",
           r->session_description->sdp_exchange_id ? r->session_description->sdp_exchange_id
                                                   : "");
  size_t used = strlen(an->all);
  snprintf(an->all + used, sizeof an->all - used, "%s;", an->last_xid);
  g_mutex_unlock(&an->mu);
}

/* An offer from no real peer connection: answered, never connected. */
static const char fake_offer_sdp[] =
    "v=0\r\n"
    "o=- 1 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=mid:0\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:0123456789012345678901\r\n"
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:"
    "55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
    "a=setup:actpass\r\n"
    "a=sctp-port:5000\r\n";

/* send_offer: @type offer @xid from @from to @to, as actrix relays it. */
static void send_offer(raw_actor_t *from, actr_node_t *to, Webrtc__SessionDescription__Type type,
                       const char *xid) {
  actr__actor_id_pb_t target;
  actr__actor_id_to_pb(actr_node_id(to), &target);
  Webrtc__SessionDescription sd = WEBRTC__SESSION_DESCRIPTION__INIT;
  sd.type = type;
  sd.sdp = (char *)fake_offer_sdp;
  sd.sdp_exchange_id = (char *)xid;
  Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
  r.target = &target.id;
  r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_SESSION_DESCRIPTION;
  r.session_description = &sd;
  relay_taken(from->sig, &r);
}

/* wait_answer_to: until the last answer @an saw is to @xid (20 s at most);
 * the last one's exchange id into @last. */
static void wait_answer_to(answers_t *an, const char *xid, char last[40]) {
  last[0] = 0;
  for (int i = 0; i < 200 && strcmp(last, xid) != 0; i++) {
    g_usleep(100000);
    g_mutex_lock(&an->mu);
    memcpy(last, an->last_xid, 40);
    g_mutex_unlock(&an->mu);
  }
}

/* offer_scene_t: a node (the victim) and a raw actor offering to it, the
 * answers it gets counted. */
typedef struct offer_scene {
  actrix_t a;
  actr_runtime_t *rt;
  actr_node_t *victim;
  answers_t an;
  raw_actor_t offerer;
} offer_scene_t;

static void offer_scene_start(offer_scene_t *s) {
  memset(s, 0, sizeof *s);
  actrix_start(&s->a, NULL);
  ASSERT_OK(actr_runtime_new(&s->rt));
  s->victim = start(s->rt, &s->a, "acme:server:1");
  g_mutex_init(&s->an.mu);
  actr__sig_events_t ev = {.on_relay = answers_on_relay}; /* copied */
  raw_actor_start_with(&s->offerer, s->rt, &s->a, "acme:offerer:1", NULL, &ev, &s->an);
}

/* offer_scene_offers: whole offers "offer-0" .. "offer-<count - 1>". */
static void offer_scene_offers(offer_scene_t *s, int count) {
  for (int i = 0; i < count; i++) {
    char xid[40];
    snprintf(xid, sizeof xid, "offer-%d", i);
    send_offer(&s->offerer, s->victim, WEBRTC__SESSION_DESCRIPTION__TYPE__OFFER, xid);
  }
}

static void offer_scene_stop(offer_scene_t *s) {
  raw_actor_stop(&s->offerer);
  actr_node_free(s->victim);
  actr_runtime_unref(s->rt);
  actrix_stop(&s->a);
  g_mutex_clear(&s->an.mu);
}

/* An actor offering again and again: each offer after the first replaces
 * the victim's peer connection with it (a new ICE agent, its sockets and
 * gathering).  3 go at once, then one each 2 s; the others wait their
 * turn, the newest in the place of the one waiting, so the last offer is
 * still answered.  (Before, each of the 40 made a peer connection.) */
static void test_offers_wait_their_turn(void) {
  offer_scene_t sc;
  offer_scene_start(&sc);
  enum { OFFERS = 40 };
  gint64 t0 = g_get_monotonic_time();
  offer_scene_offers(&sc, OFFERS);
  /* The last offer is answered (20 s at most). */
  char last[40];
  wait_answer_to(&sc.an, "offer-39", last);
  gint64 spent = g_get_monotonic_time() - t0;
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(sc.victim, &st));
  /* The first offer's connection, 3 at once, one each 2 s since. */
  uint64_t allowed = 1 + 3 + 1 + (uint64_t)(spent / (2 * G_USEC_PER_SEC));
  g_test_message("%d offers in %.2f s: %llu peer connections (at most %llu), %llu waited, "
                 "%u answers, the last to %s", OFFERS, (double)spent / 1e6,
                 (unsigned long long)st.peers_connected, (unsigned long long)allowed,
                 (unsigned long long)st.offers_waited, sc.an.count, last);
  g_assert_cmpstr(last, ==, "offer-39");
  g_assert_cmpuint(st.peers_connected, >=, 2);
  g_assert_cmpuint(st.peers_connected, <=, allowed);
  g_assert_cmpuint(st.peers_connected, <, OFFERS);
  g_assert_cmpuint(st.offers_waited, >=, 1);
  offer_scene_stop(&sc);
}

/* An ICE restart offer that comes while a whole offer waits its turn is
 * of the connection that offer began (it never reached us): it waits in
 * that offer's place and is answered when the turn comes; the offer it
 * replaced is not.  (Before, it was taken as a restart of the live
 * connection, an older one of the peer's, or ignored without one, and the
 * stale offer was answered.) */
static void test_restart_offer_waits_in_place(void) {
  offer_scene_t sc;
  offer_scene_start(&sc);
  offer_scene_offers(&sc, 4); /* three make connections at once; the fourth waits (2 s) */
  send_offer(&sc.offerer, sc.victim, WEBRTC__SESSION_DESCRIPTION__TYPE__ICE_RESTART_OFFER,
             "restart-4");
  char last[40];
  wait_answer_to(&sc.an, "restart-4", last);
  g_usleep(500000); /* an answer to the replaced offer would come right after */
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(sc.victim, &st));
  g_mutex_lock(&sc.an.mu);
  char all[sizeof sc.an.all];
  memcpy(all, sc.an.all, sizeof all);
  memcpy(last, sc.an.last_xid, sizeof last);
  g_mutex_unlock(&sc.an.mu);
  g_test_message("answers to %s %llu waited, %llu peer connections", all,
                 (unsigned long long)st.offers_waited, (unsigned long long)st.peers_connected);
  g_assert_cmpstr(last, ==, "restart-4");
  g_assert_null(strstr(all, "offer-3;"));
  g_assert_cmpuint(st.offers_waited, >=, 1);
  offer_scene_stop(&sc);
}

/* UDP on lo cut for 10 s, longer than the 8 s dead-peer timeout: both
 * peer connections go DISCONNECTED after 4 s of silence; the offerer (the
 * server: the mock's rule) restarts ICE in place — new credentials, an
 * ICE_RESTART_OFFER through actrix, the client's connection answers it —
 * again every 6 s while it cannot complete; dead-peer detection waits.
 * After the cut the same peer connections (the same DTLS association and
 * SCTP, no new one made on either side, no wire lost) carry the calls. */
static void test_ice_restart_in_place(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1"), *client = start(rt, &a, "acme:client:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  g_assert_cmpuint(actr_node_id(server)->serial, <, actr_node_id(client)->serial);
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "up", 2, 20000, &resp));
  actr_envelope_free(resp);
  cut_udp(client, server, 10);
  actr_node_stats_t cst, sst;
  ASSERT_OK(actr_node_stats(client, &cst));
  ASSERT_OK(actr_node_stats(server, &sst));
  g_test_message("server: %" G_GUINT64_FORMAT " restart offer(s)", sst.ice_restarts);
  g_assert_cmpuint(sst.ice_restarts, >=, 1);
  g_assert_cmpuint(cst.peers_connected, ==, 1); /* the same peer connection */
  g_assert_cmpuint(sst.peers_connected, ==, 1);
  g_assert_cmpuint(cst.wires_lost, ==, 0);
  g_assert_cmpuint(sst.wires_lost, ==, 0);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* The same cut (8 s), but the client ignores restart offers (test hook):
 * the offerer's restart runs out (ice_restart_timeout_ms 4000), its peer
 * connection fails, and the wire is rebuilt whole: a second peer
 * connection carries the calls. */
static void test_ice_restart_falls_back(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start_restart(rt, &a, "acme:server:1", 4000);
  actr_node_t *client = start_restart(rt, &a, "acme:client:1", 4000);
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr__node_ignore_restart_offers(client, true);
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "up", 2, 20000, &resp));
  actr_envelope_free(resp);
  cut_udp(client, server, 8);
  actr_node_stats_t cst, sst;
  ASSERT_OK(actr_node_stats(client, &cst));
  ASSERT_OK(actr_node_stats(server, &sst));
  g_assert_cmpuint(sst.ice_restarts, >=, 1);  /* tried in place first */
  g_assert_cmpuint(cst.wires_lost, >=, 1);    /* then the wire died ... */
  g_assert_cmpuint(cst.peers_connected, >=, 2); /* ... and a new connection came */
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* A connected peer restarting ICE again and again (20 restart offers back
 * to back, test hook): each one the answerer takes makes its ICE agent
 * start over and check every address the offerer names, so they count
 * against the offer bucket with whole offers: 3 at once, then one each
 * 2 s, the newest waiting its turn.  The connection lives on through it
 * (the same peer connection, no wire lost) and carries calls.  (Before,
 * all 20 were taken at once.) */
static void test_restart_offers_wait_their_turn(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1"), *client = start(rt, &a, "acme:client:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  g_assert_cmpuint(actr_node_id(server)->serial, <, actr_node_id(client)->serial); /* offerer */
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "up", 2, 20000, &resp));
  actr_envelope_free(resp);
  enum { BURST = 20 };
  log_count_start("node: ICE restart offer taken (in place)", NULL);
  gint64 t0 = g_get_monotonic_time();
  actr__node_restart_burst(server, actr_node_id(client), BURST);
  actr_node_stats_t cst = {0}, sst = {0};
  for (int i = 0; i < 200 && sst.ice_restarts < BURST; i++) { /* 20 s at most */
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(server, &sst));
  }
  g_assert_cmpuint(sst.ice_restarts, >=, BURST); /* all of them went out */
  for (int i = 0; i < 100 && cst.offers_waited == 0; i++) {
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(client, &cst));
  }
  g_usleep(2500000); /* the waiting one's turn (2 s) */
  for (int i = 0; i < 5; i++) {
    ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "on", 2, 20000, &resp));
    actr_envelope_free(resp);
  }
  int taken = log_count_stop();
  gint64 spent = g_get_monotonic_time() - t0;
  ASSERT_OK(actr_node_stats(client, &cst));
  ASSERT_OK(actr_node_stats(server, &sst));
  long allowed = 3 + 1 + (long)(spent / (2 * G_USEC_PER_SEC));
  g_test_message("%d restart offers: %d taken in %.2f s (at most %ld), %llu waited; "
                 "peer connections %llu/%llu, wires lost %llu/%llu", BURST, taken,
                 (double)spent / 1e6, allowed, (unsigned long long)cst.offers_waited,
                 (unsigned long long)cst.peers_connected, (unsigned long long)sst.peers_connected,
                 (unsigned long long)cst.wires_lost, (unsigned long long)sst.wires_lost);
  g_assert_cmpint(taken, >=, 1);
  g_assert_cmpint(taken, <=, allowed);
  g_assert_cmpint(taken, <, BURST);
  g_assert_cmpuint(cst.offers_waited, >=, 1);
  g_assert_cmpuint(cst.peers_connected, ==, 1); /* the same peer connection */
  g_assert_cmpuint(sst.peers_connected, ==, 1);
  g_assert_cmpuint(cst.wires_lost, ==, 0);
  g_assert_cmpuint(sst.wires_lost, ==, 0);
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* The remote node restarts (a new serial): calls to the old ActrId fail
 * with a clear error within their timeout; the caller discovers the new
 * one and its calls succeed. */
static void test_remote_restart(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1"), *client = start(rt, &a, "acme:client:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_actor_type_t type = actr_node_id(server)->type;
  actr_actor_id_t target;
  unsigned n = 0;
  ASSERT_OK(actr_node_discover(client, &type, &target, 1, &n));
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, &target, "test.Reverse", "r1", 2, 20000, &resp));
  actr_envelope_free(resp);
  actr_node_free(server);
  server = start(rt, &a, "acme:server:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  g_assert_false(actr_actor_id_equal(&target, actr_node_id(server)));
  int rc = actr_node_call(client, &target, "test.Reverse", "r2", 2, 3000, &resp);
  g_assert_cmpint(rc, !=, ACTR_OK);
  g_test_message("old id: %s: %s", actr_err_name(rc), actr_err_detail());
  ASSERT_OK(actr_node_discover(client, &type, &target, 1, &n));
  g_assert_cmpuint(n, ==, 1);
  g_assert_true(actr_actor_id_equal(&target, actr_node_id(server)));
  for (int i = 0; i < 5; i++) {
    ASSERT_OK(actr_node_call(client, &target, "test.Reverse", "r3", 2, 20000, &resp));
    actr_envelope_free(resp);
  }
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* Calls by actor type go on through the remote node's restart: a caller
 * thread calls "acme:server:1" all along; the server node stops and a new
 * one (a new serial) registers; the node notices the old actor's wires die,
 * finds it gone from actrix, binds the type to the new actor, and every
 * call succeeds — none fails, the new server answers. */
static void test_remote_restart_by_type(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1"), *client = start(rt, &a, "acme:client:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  caller_t c = {.node = client, .target = *actr_node_id(server), .by_type = true};
  GThread *t = g_thread_new("caller", caller_main, &c);
  for (int i = 0; i < 400 && c.ok < 5 && !c.failed; i++) /* 40 s at most */
    g_usleep(100000);
  g_assert_cmpuint(c.ok, >=, 5);
  actr_node_free(server);
  g_usleep(500000); /* a moment with no actor of the type at all */
  server = start(rt, &a, "acme:server:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  g_assert_false(actr_actor_id_equal(&c.target, actr_node_id(server)));
  unsigned before = c.ok;
  actr_node_stats_t st = {0};
  for (int i = 0; i < 400 && (c.ok < before + 5 || st.requests_answered < 5) && !c.failed; i++) {
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(server, &st));
  }
  atomic_store(&c.stop, true);
  g_thread_join(t);
  g_test_message("calls %u ok, %u failed; longest %.1f s", c.ok, c.failed, c.longest_us / 1e6);
  g_assert_cmpuint(c.failed, ==, 0);
  g_assert_cmpuint(st.requests_answered, >=, 5); /* the new serial answers */
  ASSERT_OK(actr_node_stats(client, &st));
  g_assert_cmpuint(st.targets_rebound, ==, 1);
  actr_envelope_t *resp;
  ASSERT_RC(actr_node_call_by_type(client, NULL, "r", "x", 1, 1000, &resp), "INVALID_ARGUMENT");
  actr_actor_type_t nobody;
  ASSERT_OK(actr_actor_type_parse("acme:nobody:1", &nobody));
  ASSERT_RC(actr_node_call_by_type(client, &nobody, "r", "x", 1, 1000, &resp), "NO_ROUTE");
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* The answerer's peer connection dies: it sends IceRestartRequest through
 * actrix, the offerer offers again at once (a new peer connection), and
 * calls go on.  (The mock's rule: the smaller serial, the server, offers.) */
static void test_ice_restart_request(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1"), *client = start(rt, &a, "acme:client:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  g_assert_cmpuint(actr_node_id(server)->serial, <, actr_node_id(client)->serial);
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "ab", 2, 20000, &resp));
  actr_envelope_free(resp);
  ASSERT_OK(actr__node_kill_wire(client, actr_node_id(server), false));
  actr_node_stats_t st = {0};
  for (int i = 0; i < 200 && st.ice_restarts == 0; i++) { /* 20 s at most */
    g_usleep(100000);
    ASSERT_OK(actr_node_stats(server, &st));
  }
  g_assert_cmpuint(st.ice_restarts, ==, 1);
  for (int i = 0; i < 5; i++) {
    ASSERT_OK(actr_node_call(client, actr_node_id(server), "test.Reverse", "cd", 2, 20000, &resp));
    actr_envelope_free(resp);
  }
  actr_node_free(client);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* A peer that asks for an ICE restart again and again while our offer to
 * it was never answered: each request used to cost a whole new peer
 * connection (ICE agent, sockets, gathering), as often as the peer sent
 * them.  Now at most one every 2 s per destination (ICE_RESTART_GAP_US). */
static void test_restart_requests_throttled(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *victim = start(rt, &a, "acme:server:1");
  raw_actor_t raw; /* a larger serial: the victim offers */
  raw_actor_start(&raw, rt, &a, "acme:asker:1");
  actr__sig_client_t *sig = raw.sig;
  const actr_actor_id_t *asker = actr_credential_actor_id(raw.cred);
  g_assert_cmpuint(actr_node_id(victim)->serial, <, asker->serial);
  /* The victim calls it: a destination, an offer that is never answered. */
  slow_call_t call = {.client = victim, .target = asker};
  GThread *th = g_thread_new("call", slow_call_main, &call);
  actr__sig_stats_t sst = {0};
  for (int i = 0; i < 200 && sst.relays_received == 0; i++) { /* its offer: 20 s at most */
    g_usleep(100000);
    actr__sig_client_stats(sig, &sst);
  }
  g_assert_cmpuint(sst.relays_received, >=, 1);
  actr__actor_id_pb_t target;
  actr__actor_id_to_pb(actr_node_id(victim), &target);
  enum { ASKS = 40 };
  gint64 t0 = g_get_monotonic_time();
  for (int i = 0; i < ASKS; i++) {
    Actr__IceRestartRequest q = ACTR__ICE_RESTART_REQUEST__INIT;
    Signaling__ActrRelay r = SIGNALING__ACTR_RELAY__INIT;
    r.target = &target.id;
    r.payload_case = SIGNALING__ACTR_RELAY__PAYLOAD_ICE_RESTART_REQUEST;
    r.ice_restart_request = &q;
    relay_taken(sig, &r);
  }
  /* All handled: the victim has relayed no more offers for a while. */
  for (int i = 0; i < 40; i++) { /* 20 s at most */
    uint64_t before = sst.relays_received;
    g_usleep(500000);
    actr__sig_client_stats(sig, &sst);
    if (sst.relays_received == before)
      break;
  }
  gint64 spent = g_get_monotonic_time() - t0;
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(victim, &st));
  uint64_t allowed = 1 + (uint64_t)(spent / (2 * G_USEC_PER_SEC));
  g_test_message("%d requests in %.2f s: %llu new connections (at most %llu)", ASKS,
                 (double)spent / 1e6, (unsigned long long)st.ice_restarts,
                 (unsigned long long)allowed);
  g_assert_cmpuint(st.ice_restarts, >=, 1);
  g_assert_cmpuint(st.ice_restarts, <=, allowed);
  g_assert_cmpuint(st.ice_restarts, <, ASKS);
  g_thread_join(th);
  g_assert_cmpint(call.rc, !=, ACTR_OK);
  raw_actor_stop(&raw);
  actr_node_free(victim);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* A call that gave up waiting for a place (max_peers taken by half-open
 * destinations, the control thread busy) has its request for room
 * answered later: it must not take a place then, for nobody. */
static void test_stale_room_request_evicts_nobody(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1");
  actr_node_config_t cfg;
  node_config(&cfg, &a, "acme:victim:1");
  cfg.max_peers = TRICKLERS;
  actr_node_t *victim;
  ASSERT_OK(actr_node_new(rt, &cfg, &victim));
  trickle_t t;
  trickle_fill(&t, rt, &a, victim);
  actr_node_stats_t st;
  /* The control thread held: the call asks for room and gives up. */
  actr__node_pause_control(victim, true);
  actr_envelope_t *resp = NULL;
  int rc = actr_node_call(victim, actr_node_id(server), "test.Reverse", "ok", 2, 1000, &resp);
  g_assert_cmpint(rc, !=, ACTR_OK);
  actr__node_pause_control(victim, false);
  actr__node_pause_control(victim, true); /* parked again: the request was handled */
  ASSERT_OK(actr_node_stats(victim, &st));
  actr__node_pause_control(victim, false);
  g_assert_cmpuint(st.destinations_evicted, ==, 0);
  g_assert_cmpuint(st.destinations, ==, TRICKLERS);
  trickle_free(&t);
  actr_node_free(victim);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* The route decides: RPC_SIGNAL with one attempt fails clearly when its
 * wire dies with the request on it (the handler ran once, the reply was
 * lost); with actr's default (2 attempts) the same loss is ridden through
 * and the duplicate answered from the first reply. */
static void test_route_policy(void) {
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  actr_node_t *server = start(rt, &a, "acme:server:1");
  ASSERT_OK(actr_node_serve(server, handler, NULL));
  actr_node_t *client[2];
  for (int i = 0; i < 2; i++) {
    actr_node_config_t cfg;
    actr_node_config_init(&cfg);
    cfg.ais_url = a.ais;
    cfg.signaling_url = a.signaling;
    cfg.realm_id = 3;
    ASSERT_OK(actr_actor_type_parse("acme:client:1", &cfg.type));
    cfg.ice_addresses = loopback;
    cfg.ice_address_count = 1;
    if (i == 0) { /* no retry */
      cfg.routes[ACTR_PAYLOAD_RPC_SIGNAL].wires[0] = ACTR_NODE_WIRE_WEBRTC;
      cfg.routes[ACTR_PAYLOAD_RPC_SIGNAL].max_attempts = 1;
    }
    ASSERT_OK(actr_node_new(rt, &cfg, &client[i]));
  }
  const actr_actor_id_t *target = actr_node_id(server);
  actr_envelope_t *resp;
  for (int i = 0; i < 2; i++) {
    ASSERT_OK(actr_node_call_typed(client[i], ACTR_PAYLOAD_RPC_SIGNAL, target, "test.Reverse", "s",
                                   1, 20000, &resp));
    actr_envelope_free(resp);
  }
  atomic_store(&counted, 0);
  actr__node_drop_replies(server, 1);
  ASSERT_RC(actr_node_call_typed(client[0], ACTR_PAYLOAD_RPC_SIGNAL, target, "test.Count", "1", 1,
                                 20000, &resp),
            "CONNECTION");
  g_assert_nonnull(strstr(actr_err_detail(), "allows no more"));
  g_assert_null(resp);
  g_assert_cmpint(atomic_load(&counted), ==, 1);
  /* The next call builds the wire again. */
  ASSERT_OK(actr_node_call_typed(client[0], ACTR_PAYLOAD_RPC_SIGNAL, target, "test.Reverse", "s",
                                 1, 20000, &resp));
  actr_envelope_free(resp);
  actr__node_drop_replies(server, 1);
  ASSERT_OK(actr_node_call_typed(client[1], ACTR_PAYLOAD_RPC_SIGNAL, target, "test.Count", "2", 1,
                                 20000, &resp));
  actr_envelope_free(resp);
  g_assert_cmpint(atomic_load(&counted), ==, 2);
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(client[1], &st));
  g_assert_cmpuint(st.calls_retried, ==, 1);
  ASSERT_RC(actr_node_call_typed(client[1], ACTR_PAYLOAD_STREAM_RELIABLE, target, "r", "x", 1,
                                 1000, &resp),
            "INVALID_ARGUMENT");
  for (int i = 0; i < 2; i++)
    actr_node_free(client[i]);
  actr_node_free(server);
  actr_runtime_unref(rt);
  actrix_stop(&a);
}

/* key_scene: a listening node that knows no AIS key (its cache forgotten)
 * and a caller reaching it over the direct WebSocket only (WebRTC blocked:
 * UDP dropped on lo), after one call: the caller's first attempt of the wire
 * was refused (401), the node asked actrix for the key, the next passed. */
typedef struct key_scene {
  actrix_t a;
  actr_runtime_t *rt;
  actr_node_t *server, *client;
  actr_actor_id_t target;
} key_scene_t;

static void key_scene_start(key_scene_t *s) {
  actrix_start(&s->a, NULL);
  ASSERT_OK(actr_runtime_new(&s->rt));
  s->server = start_ws_server(s->rt, &s->a);
  actr__node_forget_keys(s->server);
  s->client = start(s->rt, &s->a, "acme:client:1");
  g_assert_cmpint(system("iptables -A INPUT -i lo -p udp -j DROP"), ==, 0);
  unsigned n = 0;
  ASSERT_OK(actr_node_discover(s->client, &actr_node_id(s->server)->type, &s->target, 1, &n));
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(s->client, &s->target, "test.Reverse", "key", 3, 30000, &resp));
  const uint8_t *d;
  size_t len;
  g_assert_true(actr_envelope_payload(resp, &d, &len));
  g_assert_cmpmem(d, len, "yek", 3);
  actr_envelope_free(resp);
}

static void key_scene_stop(key_scene_t *s) {
  g_assert_cmpint(system("iptables -D INPUT -i lo -p udp -j DROP"), ==, 0);
  actr_node_free(s->client);
  actr_node_free(s->server);
  actr_runtime_unref(s->rt);
  actrix_stop(&s->a);
}

/* The key a caller's credential names is fetched once and the wire comes up. */
static void test_signing_key_fetched(void) {
  key_scene_t s;
  key_scene_start(&s);
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(s.server, &st));
  g_assert_cmpuint(st.ws_refused, ==, 1);
  g_assert_cmpuint(st.signing_key_asks, ==, 1);
  g_assert_cmpuint(st.signing_keys_fetched, ==, 1);
  wait_ws_wires(s.server, 1);
  key_scene_stop(&s);
}

/* forged_credential: @cred's AIdCredential with key id @key_id, base64. */
static char *forged_credential(const actr_credential_t *cred, uint32_t key_id) {
  Actr__AIdCredential forged = *actr__credential_pb(cred);
  forged.key_id = key_id;
  uint8_t *buf = NULL;
  size_t len;
  ASSERT_OK(actr__pb_encode(&forged.base, &buf, &len));
  char *b64 = g_base64_encode(buf, len);
  free(buf);
  return b64;
}

/* A hostile caller of the direct WebSocket listener names a new signing
 * key id in each of 100 handshakes (a real credential of the realm with its
 * key id changed).  Every one is refused (401); the node asks actrix for at
 * most its bound of them (4 at once, then 1 a second: the control thread and
 * its queue stay free for relays), the rest are refused without asking; the
 * key a genuine caller's credential named before the flood stays cached, so
 * a second genuine caller gets through at its first attempt. */
static void test_hostile_key_ids(void) {
  key_scene_t s;
  key_scene_start(&s);
  actr_credential_t *cred;
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse("acme:intruder:1", &t));
  ASSERT_OK(actr_ais_register(s.a.ais, &t, 3, NULL, &cred));
  char url[300];
  ASSERT_OK(actr__node_ws_url(s.client, &s.target, url, sizeof url));
  enum { FLOOD = 100 };
  gint64 t0 = g_get_monotonic_time();
  for (uint32_t i = 0; i < FLOOD; i++) {
    char *b64 = forged_credential(cred, 1000 + i), *src = NULL, *unused = NULL;
    ASSERT_OK(actr__ws_gate_headers(actr_credential_actor_id(cred), cred, &src, &unused));
    actr_ws_config_t wc;
    actr_ws_config_init(&wc);
    wc.source_id = src;
    wc.credential = b64;
    actr_ws_conn_t *conn = NULL;
    ASSERT_RC(actr_ws_connect(s.rt, url, &wc, &conn), "WEBSOCKET");
    g_assert_nonnull(strstr(actr_err_detail(), "401"));
    g_free(b64);
    g_free(src);
    g_free(unused);
  }
  double took_s = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(s.server, &st));
  g_test_message("flood of %d key ids in %.2f s: %" G_GUINT64_FORMAT " asked, %" G_GUINT64_FORMAT
                 " refused without asking",
                 FLOOD, took_s, st.signing_key_asks - 1, st.signing_key_asks_refused);
  g_assert_cmpuint(st.ws_refused, ==, 1 + FLOOD);
  /* The bucket: 4 at once, then 1 a second over the flood's time. */
  g_assert_cmpuint(st.signing_key_asks - 1, <=, 4 + (uint64_t)took_s + 1);
  g_assert_cmpuint(st.signing_key_asks - 1 + st.signing_key_asks_refused, ==, FLOOD);
  actr_credential_free(cred);

  /* A second genuine caller: its key (the first caller's) is still known. */
  actr_node_t *client2 = start(s.rt, &s.a, "acme:client:2");
  actr_actor_id_t target;
  unsigned n = 0;
  ASSERT_OK(actr_node_discover(client2, &actr_node_id(s.server)->type, &target, 1, &n));
  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client2, &target, "test.Reverse", "two", 3, 30000, &resp));
  actr_envelope_free(resp);
  ASSERT_OK(actr_node_stats(s.server, &st));
  g_assert_cmpuint(st.ws_refused, ==, 1 + FLOOD);
  wait_ws_wires(s.server, 2);
  actr_node_free(client2);
  key_scene_stop(&s);
}

/* gate_scene: a listening node that knows no AIS key (its cache
 * forgotten), a client that found it (its direct WebSocket URL in url),
 * and an outside credential of @caller_type with its gate headers. */
typedef struct gate_scene {
  actrix_t a;
  actr_runtime_t *rt;
  actr_node_t *server, *client;
  actr_actor_id_t target;
  char url[300];
  actr_credential_t *cred;
  char *src, *cred_b64;
} gate_scene_t;

static void gate_scene_start(gate_scene_t *s, const char **args, const char *caller_type) {
  actrix_start(&s->a, args);
  ASSERT_OK(actr_runtime_new(&s->rt));
  s->server = start_ws_server(s->rt, &s->a);
  actr__node_forget_keys(s->server);
  s->client = start(s->rt, &s->a, "acme:client:1");
  unsigned n = 0;
  ASSERT_OK(actr_node_discover(s->client, &actr_node_id(s->server)->type, &s->target, 1, &n));
  ASSERT_OK(actr__node_ws_url(s->client, &s->target, s->url, sizeof s->url));
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse(caller_type, &t));
  ASSERT_OK(actr_ais_register(s->a.ais, &t, 3, NULL, &s->cred));
  ASSERT_OK(actr__ws_gate_headers(actr_credential_actor_id(s->cred), s->cred, &s->src,
                                  &s->cred_b64));
}

/* gate_scene_stop: frees what is left (server NULL: freed by the test). */
static void gate_scene_stop(gate_scene_t *s) {
  g_free(s->src);
  g_free(s->cred_b64);
  actr_credential_free(s->cred);
  actr_node_free(s->client);
  actr_node_free(s->server);
  actr_runtime_unref(s->rt);
  actrix_stop(&s->a);
}

/* An actrix that never answers a GetSigningKeyRequest (--key-hang): the
 * fetch a caller's credential started is under way when the listening node
 * is freed, and actr_node_free ends it at once rather than waiting out the
 * signaling request timeout (before: "no answer ... within 5000 ms"). */
static void test_key_fetch_cancelled_at_free(void) {
  const char *args[] = {"--key-hang", NULL};
  gate_scene_t s;
  gate_scene_start(&s, args, "acme:caller:1");
  actr_ws_config_t wc;
  actr_ws_config_init(&wc);
  wc.source_id = s.src;
  wc.credential = s.cred_b64;
  actr_ws_conn_t *conn = NULL;
  ASSERT_RC(actr_ws_connect(s.rt, s.url, &wc, &conn), "WEBSOCKET"); /* 401 while the key is asked */
  g_assert_nonnull(strstr(actr_err_detail(), "401"));
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(s.server, &st));
  g_assert_cmpuint(st.signing_key_asks, ==, 1);
  g_assert_cmpuint(st.signing_keys_fetched, ==, 0);
  /* The ask is on the wire, waiting for its answer (not refused before it
   * went: that would end as "requests cancelled"). */
  for (int i = 0; i < 100 && actr__node_signaling_pending(s.server) == 0; i++)
    g_usleep(50000);
  g_assert_cmpuint(actr__node_signaling_pending(s.server), ==, 1);
  log_count_start("not obtained: signaling: request env-", " cancelled");
  actr__node_set_job_linger(s.server, 300); /* a detached thread would outlive free */
  gint64 t0 = g_get_monotonic_time();
  actr_node_free(s.server);
  s.server = NULL;
  g_test_message("server freed in %.2f s with a key fetch under way",
                 (double)(g_get_monotonic_time() - t0) / 1e6);
  g_assert_cmpint(log_count_stop(), ==, 1);
  g_assert_cmpuint(threads_named("actr-node-slow"), ==, 0);
  gate_scene_stop(&s);
}

/* upgrade_from: a WebSocket upgrade to @url (ws://IPv4:port[/path]) sent
 * from the local IPv4 address @from, with the identity headers @src and
 * @cred: the HTTP status of the answer. */
/* connect_from: a TCP connection to @url's host and port from the local
 * IPv4 address @from (a file descriptor; its path and host into @path and
 * @host, its port into *@port). */
static int connect_from(const char *from, const char *url, char host[64], char path[200],
                        unsigned *port) {
  strcpy(path, "/");
  *port = 0;
  g_assert_cmpint(sscanf(url, "ws://%63[^:]:%u%199s", host, port, path), >=, 2);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint(fd, >=, 0);
  struct timeval tv = {10, 0}; /* a bound, not a measurement */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in la = {.sin_family = AF_INET}, ra = {.sin_family = AF_INET};
  g_assert_cmpint(inet_pton(AF_INET, from, &la.sin_addr), ==, 1);
  g_assert_cmpint(inet_pton(AF_INET, host, &ra.sin_addr), ==, 1);
  ra.sin_port = htons((uint16_t)*port);
  g_assert_cmpint(bind(fd, (struct sockaddr *)&la, sizeof la), ==, 0);
  g_assert_cmpint(connect(fd, (struct sockaddr *)&ra, sizeof ra), ==, 0);
  return fd;
}

static int upgrade_from(const char *from, const char *url, const char *src, const char *cred) {
  char host[64], path[200];
  unsigned port;
  int fd = connect_from(from, url, host, path, &port);
  char *req = g_strdup_printf("GET %s HTTP/1.1\r\nHost: %s:%u\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\nX-Actr-Source-ID: %s\r\n"
                              "X-Actr-Credential: %s\r\n\r\n",
                              path, host, port, src, cred);
  size_t len = strlen(req);
  g_assert_cmpint(write(fd, req, len), ==, (ssize_t)len);
  g_free(req);
  char buf[512] = {0};
  size_t got = 0;
  ssize_t r;
  while (!strstr(buf, "\r\n") && got < sizeof buf - 1 &&
         (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
    got += (size_t)r;
  close(fd);
  int status = 0;
  g_assert_cmpint(sscanf(buf, "HTTP/1.1 %d", &status), ==, 1);
  return status;
}

/* The asks for signing keys are shared out by address.  A caller at
 * 127.0.0.2 floods the direct WebSocket listener with 40 handshakes, each
 * naming a new key id: it gets its own share of asks (2 at once, then one
 * each 10 s), the rest are refused without asking.  A genuine caller at
 * 127.0.0.1, right after, names a key the node has never seen (its cache
 * forgotten): that key is asked for at its first attempt (not refused as
 * "too many asks": the node's own bucket of 4 was left alone) and its
 * second attempt gets through. */
static void test_key_asks_per_address(void) {
  gate_scene_t s;
  gate_scene_start(&s, NULL, "acme:intruder:1");
  g_assert_cmpint(system("iptables -A INPUT -i lo -p udp -j DROP"), ==, 0);
  actr_node_t *server = s.server, *client = s.client;
  enum { FLOOD = 40 };
  gint64 t0 = g_get_monotonic_time();
  for (uint32_t i = 0; i < FLOOD; i++) {
    char *b64 = forged_credential(s.cred, 1000 + i);
    g_assert_cmpint(upgrade_from("127.0.0.2", s.url, s.src, b64), ==, 401);
    g_free(b64);
  }
  double took_s = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
  actr_node_stats_t st;
  ASSERT_OK(actr_node_stats(server, &st));
  uint64_t flood_asks = st.signing_key_asks;
  g_test_message("flood of %d key ids from 127.0.0.2 in %.2f s: %" G_GUINT64_FORMAT
                 " asked, %" G_GUINT64_FORMAT " refused without asking",
                 FLOOD, took_s, flood_asks, st.signing_key_asks_refused);
  g_assert_cmpuint(flood_asks, >=, 1);
  g_assert_cmpuint(flood_asks, <=, 2 + (uint64_t)(took_s / 10));
  g_assert_cmpuint(flood_asks + st.signing_key_asks_refused, ==, FLOOD);

  actr_envelope_t *resp;
  ASSERT_OK(actr_node_call(client, &s.target, "test.Reverse", "key", 3, 30000, &resp));
  actr_envelope_free(resp);
  ASSERT_OK(actr_node_stats(server, &st));
  g_assert_cmpuint(st.signing_key_asks, ==, flood_asks + 1);
  g_assert_cmpuint(st.ws_refused, ==, FLOOD + 1);
  wait_ws_wires(server, 1);
  g_assert_cmpint(system("iptables -D INPUT -i lo -p udp -j DROP"), ==, 0);
  gate_scene_stop(&s);
}

/* The direct WebSocket listener keeps 8 handshake places per address: a
 * host at 127.0.0.2 that opens connections and sends nothing is refused
 * (503) past them, and a caller at 127.0.0.3 still reaches the identity
 * check (401: the key its credential names is asked of actrix). */
static void test_ws_handshakes_per_address(void) {
  gate_scene_t s;
  gate_scene_start(&s, NULL, "acme:caller:1");
  int quiet[8];
  char host[64], path[200];
  unsigned port;
  for (int i = 0; i < 8; i++)
    quiet[i] = connect_from("127.0.0.2", s.url, host, path, &port);
  /* Accepted in order: the eight are in when the ninth comes (no race). */
  g_assert_cmpint(upgrade_from("127.0.0.2", s.url, s.src, s.cred_b64), ==, 503);
  g_assert_cmpint(upgrade_from("127.0.0.3", s.url, s.src, s.cred_b64), ==, 401);
  for (int i = 0; i < 8; i++)
    close(quiet[i]);
  gate_scene_stop(&s);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/realm/node/route-table", test_route_table);
  g_test_add_func("/realm/node/calls", test_calls);
  g_test_add_func("/realm/node/silent-0.3-times-out", test_silent_03);
  g_test_add_func("/realm/node/0.3-answers-never-loop", test_03_answers_never_loop);
  g_test_add_func("/realm/node/answer-from-the-callee-only", test_answer_from_the_callee_only);
  g_test_add_func("/realm/node/send-within-timeout", test_send_within_timeout);
  g_test_add_func("/realm/node/replies-wait-for-room", test_replies_wait_for_room);
  g_test_add_func("/realm/node/retry-executed-once", test_retry_executed_once);
  g_test_add_func("/realm/node/dedup-fair-share", test_dedup_fair_share);
  g_test_add_func("/realm/node/ais-hang-holds-nobody", test_ais_hang_holds_nobody);
  g_test_add_func("/realm/node/no-retry-after-registering-again-0.3",
                  test_no_retry_after_registering_again);
  g_test_add_func("/realm/node/route-policy", test_route_policy);
  g_test_add_func("/realm/node/websocket-fallback", test_websocket_fallback);
  g_test_add_func("/realm/node/dials-hold-nobody", test_dials_hold_nobody);
  g_test_add_func("/realm/node/signing-key-fetched", test_signing_key_fetched);
  g_test_add_func("/realm/node/hostile-key-ids", test_hostile_key_ids);
  g_test_add_func("/realm/node/key-fetch-cancelled-at-free", test_key_fetch_cancelled_at_free);
  g_test_add_func("/realm/node/key-asks-per-address", test_key_asks_per_address);
  g_test_add_func("/realm/node/ws-handshakes-per-address", test_ws_handshakes_per_address);
  g_test_add_func("/realm/node/cycles", test_cycles);
  g_test_add_func("/realm/node/link-cut", test_link_cut);
  g_test_add_func("/realm/node/remote-restart", test_remote_restart);
  g_test_add_func("/realm/node/remote-restart-by-type", test_remote_restart_by_type);
  g_test_add_func("/realm/node/by-type-within-timeout", test_by_type_within_timeout);
  g_test_add_func("/realm/node/ice-restart-request", test_ice_restart_request);
  g_test_add_func("/realm/node/restart-requests-throttled", test_restart_requests_throttled);
  g_test_add_func("/realm/node/offers-wait-their-turn", test_offers_wait_their_turn);
  g_test_add_func("/realm/node/restart-offer-waits-in-place", test_restart_offer_waits_in_place);
  g_test_add_func("/realm/node/ice-restart-in-place", test_ice_restart_in_place);
  g_test_add_func("/realm/node/ice-restart-falls-back", test_ice_restart_falls_back);
  g_test_add_func("/realm/node/restart-offers-wait-their-turn",
                  test_restart_offers_wait_their_turn);
  g_test_add_func("/realm/node/nobody-offers", test_nobody_offers);
  g_test_add_func("/realm/node/signaling-comes-back", test_signaling_comes_back);
  g_test_add_func("/realm/node/via-turn", test_via_turn);
  g_test_add_func("/realm/node/relay-flood-bounded", test_relay_flood_bounded);
  g_test_add_func("/realm/node/renewal-floor", test_renewal_floor);
  g_test_add_func("/realm/node/stale-room-request-evicts-nobody",
                  test_stale_room_request_evicts_nobody);
  g_test_add_func("/realm/node/half-open-destinations-evicted",
                  test_half_open_destinations_evicted);
  g_test_add_func("/realm/node/callers-give-way", test_callers_give_way);
  g_test_add_func("/realm/node/credential-renewed-under-gate", test_credential_renewed_under_gate);
  g_test_add_data_func("/realm/node/credential-renewed-0.5", GINT_TO_POINTER(0),
                       test_credential_kept);
  g_test_add_data_func("/realm/node/credential-registered-again-0.3", GINT_TO_POINTER(1),
                       test_credential_kept);
  return g_test_run();
}
