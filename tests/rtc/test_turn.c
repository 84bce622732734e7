/* test_turn.c — data through a real TURN server: Debian's coturn, started
 * on 127.0.0.1 for this test (inside netns-run.sh, so it dies with it), long-
 * term credentials, and both peers with the relay-only policy, so the only
 * candidates are relayed ones and every byte crosses coturn.  TURN over
 * UDP, and over TCP on one side. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define T_MS 30000
#define TURN_PORT "3478"

static h_proc_t coturn;
static bool coturn_running;
static GMutex ready_mu;
static GCond ready_cond;
static bool coturn_ready;
static char *tmpdir;

static void coturn_line(char *line, void *user) {
  if (g_getenv("COTURN_LOG"))
    g_printerr("coturn: %s\n", line);
  if (strstr(line, "Total General servers")) { /* every listener is open */
    g_mutex_lock(&ready_mu);
    coturn_ready = true;
    g_cond_broadcast(&ready_cond);
    g_mutex_unlock(&ready_mu);
  }
  g_free(line);
}

static void start_coturn(void) {
  if (!g_file_test("/usr/bin/turnserver", G_FILE_TEST_IS_EXECUTABLE))
    return;
  tmpdir = g_dir_make_tmp("actr-turn-XXXXXX", NULL);
  g_autofree char *db = g_strdup_printf("--userdb=%s/turndb", tmpdir);
  g_autofree char *pid = g_strdup_printf("--pidfile=%s/turnserver.pid", tmpdir);
  const char *argv[] = {"/usr/bin/turnserver", "-n", "-v", "--listening-ip=127.0.0.1",
                        "--relay-ip=127.0.0.1", "--listening-port=" TURN_PORT,
                        "--min-port=40000", "--max-port=40999", "--lt-cred-mech",
                        "--user=actr:secret", "--realm=actr.test", "--fingerprint", "--no-tls",
                        "--no-dtls", "--no-cli", "--allow-loopback-peers", "--log-file=stdout",
                        "--simple-log", db, pid, NULL};
  h_proc_start(&coturn, argv, true, coturn_line, NULL);
  coturn_running = true;
  gint64 end = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
  g_mutex_lock(&ready_mu);
  while (!coturn_ready)
    if (!g_cond_wait_until(&ready_cond, &ready_mu, end))
      break;
  bool ok = coturn_ready;
  g_mutex_unlock(&ready_mu);
  if (!ok)
    g_error("coturn did not start (COTURN_LOG=1 shows its output)");
}

static void stop_coturn(void) {
  if (!coturn_running)
    return;
  h_proc_stop(&coturn, SIGTERM, 10000);
  coturn_running = false;
  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
  (void)!system(cmd);
  g_free(tmpdir);
}

typedef struct turn_cfg {
  bool tcp[2];
} turn_cfg_t;

static actr_webrtc_ice_server_t servers[2];

static void relay_only(int idx, actr_webrtc_config_t *cfg, void *user) {
  turn_cfg_t *t = user;
  servers[idx].url = t->tcp[idx] ? "turn:127.0.0.1:" TURN_PORT "?transport=tcp"
                                 : "turn:127.0.0.1:" TURN_PORT "?transport=udp";
  servers[idx].username = "actr";
  servers[idx].credential = "secret";
  cfg->ice_servers = &servers[idx];
  cfg->ice_server_count = 1;
  cfg->ice_policy = ACTR_WEBRTC_ICE_RELAY;
}

static void only_relayed(actr_webrtc_pc_t *pc) {
  char *sdp;
  ASSERT_OK(actr_webrtc_pc_local_description(pc, &sdp));
  gchar **lines = g_strsplit(sdp, "\r\n", 0);
  int n = 0;
  for (gchar **l = lines; *l; l++)
    if (g_str_has_prefix(*l, "a=candidate:")) {
      n++;
      if (!strstr(*l, " typ relay"))
        g_error("relay-only policy, yet: %s", *l);
    }
  g_strfreev(lines);
  free(sdp);
  g_assert_cmpint(n, >, 0);
}

static void run(turn_cfg_t *t) {
  if (!coturn_running) {
    g_test_skip("coturn (/usr/bin/turnserver) is not installed");
    return;
  }
  h_world_t w;
  h_world_init(&w, relay_only, t);
  /* Non-trickle: the descriptions carry the relayed candidates. */
  h_negotiate(&w, false, NULL);
  only_relayed(w.peers[0].pc);
  only_relayed(w.peers[1].pc);
  h_chan_t *a = h_open(&w.peers[0], "via-turn", NULL);
  g_assert_true(h_wait_open(a, T_MS));
  h_chan_t *b = h_incoming(&w.peers[1], "via-turn", T_MS);
  g_assert_nonnull(b);
  static const size_t sizes[] = {0, 1, 1200, 65535};
  uint8_t *buf = g_malloc(65535);
  for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
    h_fill(buf, sizes[i], i);
    ASSERT_OK(actr_webrtc_dc_send(a->dc, buf, sizes[i], false));
    h_fill(buf, sizes[i], 10 + i);
    ASSERT_OK(actr_webrtc_dc_send(b->dc, buf, sizes[i], false));
  }
  g_free(buf);
  g_assert_true(h_wait_msgs(b, G_N_ELEMENTS(sizes), T_MS));
  g_assert_true(h_wait_msgs(a, G_N_ELEMENTS(sizes), T_MS));
  for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
    h_msg_t *m = b->msgs->pdata[i];
    g_assert_cmpuint(actr_msg_len(m->msg), ==, sizes[i]);
    g_assert_true(h_check(actr_msg_data(m->msg), sizes[i], i));
    m = a->msgs->pdata[i];
    g_assert_cmpuint(actr_msg_len(m->msg), ==, sizes[i]);
    g_assert_true(h_check(actr_msg_data(m->msg), sizes[i], 10 + i));
  }
  h_world_fini(&w);
}

static void test_udp(void) {
  turn_cfg_t t = {{false, false}};
  run(&t);
}

static void test_tcp(void) {
  turn_cfg_t t = {{true, false}};
  run(&t);
}

/* stun_host: a STUN server configured (coturn answers Binding requests):
 * gathering completes and the connection works.  In a namespace that holds
 * only lo, the server-reflexive address equals the host one, so libnice
 * keeps the host candidate only. */
static actr_webrtc_ice_server_t stun_servers[2];

static void with_stun(int idx, actr_webrtc_config_t *cfg, void *user) {
  stun_servers[idx].url = "stun:127.0.0.1:" TURN_PORT;
  cfg->ice_servers = &stun_servers[idx];
  cfg->ice_server_count = 1;
}

static void test_stun(void) {
  if (!coturn_running) {
    g_test_skip("coturn (/usr/bin/turnserver) is not installed");
    return;
  }
  h_world_t w;
  h_world_init(&w, with_stun, NULL);
  h_negotiate(&w, false, NULL); /* waits for both ends of gathering */
  h_chan_t *a = h_open(&w.peers[0], "stun", NULL);
  g_assert_true(h_wait_open(a, T_MS));
  ASSERT_OK(actr_webrtc_dc_send(a->dc, "x", 1, true));
  h_chan_t *b = h_incoming(&w.peers[1], "stun", T_MS);
  g_assert_true(h_wait_msgs(b, 1, T_MS));
  h_world_fini(&w);
}

static void test_bad_config(void) {
  actr_runtime_t *rt;
  ASSERT_OK(actr_runtime_new(&rt));
  static const char *const bad[] = {"turns:127.0.0.1", "turn:127.0.0.1:0", "turn:127.0.0.1:x",
                                    "stun:", "http://x", "turn:127.0.0.1?transport=sctp",
                                    "turn:[::1", "stun:no-such-host.invalid"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    actr_webrtc_ice_server_t s = {bad[i], "u", "p"};
    actr_webrtc_config_t cfg;
    actr_webrtc_config_init(&cfg);
    cfg.ice_servers = &s;
    cfg.ice_server_count = 1;
    actr_webrtc_pc_t *pc = NULL;
    int rc = actr_webrtc_pc_new(rt, &cfg, &pc);
    if (rc != ACTR_ECONFIGURATION)
      g_error("%s: %s, want CONFIGURATION", bad[i], actr_err_name(rc));
    g_assert_null(pc);
  }
  /* TURN without credentials, relay-only without TURN. */
  actr_webrtc_ice_server_t s = {"turn:127.0.0.1", NULL, NULL};
  actr_webrtc_config_t cfg;
  actr_webrtc_config_init(&cfg);
  cfg.ice_servers = &s;
  cfg.ice_server_count = 1;
  actr_webrtc_pc_t *pc = NULL;
  g_assert_cmpint(actr_webrtc_pc_new(rt, &cfg, &pc), ==, ACTR_ECONFIGURATION);
  actr_webrtc_config_init(&cfg);
  cfg.ice_policy = ACTR_WEBRTC_ICE_RELAY;
  g_assert_cmpint(actr_webrtc_pc_new(rt, &cfg, &pc), ==, ACTR_ECONFIGURATION);
  actr_runtime_unref(rt);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  h_log_init();
  g_test_add_func("/webrtc/turn/config-errors", test_bad_config);
  g_test_add_func("/webrtc/turn/stun-server", test_stun);
  g_test_add_func("/webrtc/turn/udp-relay-only", test_udp);
  g_test_add_func("/webrtc/turn/tcp-relay-only", test_tcp);
  start_coturn();
  int rc = g_test_run();
  stop_coturn();
  return rc;
}
