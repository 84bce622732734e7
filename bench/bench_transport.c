/* bench_transport.c — figures of the transport above the lanes (issue 11,
 * point 8), in a realm of our test actrix, inside netns-run.sh (only lo;
 * iptables there touches nothing else):
 *   transport.calls.steady          calls/s, 1 KiB RPC_RELIABLE calls, one caller, WebRTC wire up
 *   transport.rebuild.calls         calls/s from the moment the WebRTC wire is torn down until
 *                                   it is up again (calls go over the direct WebSocket meanwhile:
 *                                   the wire discovery's address gave while WebRTC was set up)
 *   transport.rebuild.time          s, that window
 *   transport.link_cut.recovery     s, from the end of a 10 s cut of every packet on lo until
 *                                   the first call completes
 *   transport.destination.webrtc.memory     B, heap of the caller per destination with a
 *   transport.destination.websocket.memory  WebRTC (or direct WebSocket) wire to each of 8
 *                                           `actr-lane node --echo --ws-listen` processes
 * Usage: bench_transport ACTR_LANE_TOOL */
#include <glib.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <actr/error.h>
#include <actr/node.h>

#include "../tests/realm/actrix_fixture.h"
#include "bench_common.h"
#include "realm_internal.h"

#define CHECK(expr)                                                                   \
  do {                                                                                \
    int rc_ = (expr);                                                                 \
    if (rc_ != ACTR_OK) {                                                             \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, actr_err_name(rc_),     \
              actr_err_detail());                                                     \
      exit(1);                                                                        \
    }                                                                                 \
  } while (0)

static const char *const loopback[] = {"127.0.0.1"};

static void echo(actr_node_t *node, const actr_actor_id_t *caller, const actr_envelope_t *req,
                 actr_envelope_t **resp, void *user) {
  (void)node, (void)caller, (void)user;
  const uint8_t *d;
  size_t len;
  if (!actr_envelope_payload(req, &d, &len) ||
      actr_envelope_new(actr_envelope_route_key(req), actr_envelope_request_id(req), 0, resp) != ACTR_OK)
    return;
  actr_envelope_set_payload(*resp, d, len);
}

static actr_node_t *node_new(actr_runtime_t *rt, const actrix_t *a, const char *type, bool ws) {
  actr_node_config_t cfg;
  actr_node_config_init(&cfg);
  cfg.ais_url = a->ais;
  cfg.signaling_url = a->signaling;
  cfg.realm_id = 3;
  CHECK(actr_actor_type_parse(type, &cfg.type));
  cfg.ice_addresses = loopback;
  cfg.ice_address_count = 1;
  if (ws)
    cfg.ws_listen_host = "127.0.0.1";
  actr_node_t *n;
  CHECK(actr_node_new(rt, &cfg, &n));
  return n;
}

static uint8_t payload[1024];

static int call1(actr_node_t *n, const actr_actor_id_t *target, int timeout_ms) {
  actr_envelope_t *resp;
  int rc = actr_node_call(n, target, "bench.Echo", payload, sizeof payload, timeout_ms, &resp);
  if (rc == ACTR_OK) {
    const uint8_t *d;
    size_t len;
    if (!actr_envelope_payload(resp, &d, &len) || len != sizeof payload ||
        memcmp(d, payload, len) != 0) {
      fprintf(stderr, "reply does not match\n");
      exit(1);
    }
    actr_envelope_free(resp);
  }
  return rc;
}

typedef struct caller {
  actr_node_t *n;
  actr_actor_id_t target;
  atomic_bool stop;
  _Atomic double first_ok_after; /* monotonic s of the first success after `mark` */
  _Atomic double mark;
  atomic_uint ok, failed;
} caller_t;

static gpointer caller_main(gpointer data) {
  caller_t *c = data;
  while (!atomic_load(&c->stop)) {
    int rc = call1(c->n, &c->target, 60000);
    double t = bench_now();
    if (rc == ACTR_OK) {
      atomic_fetch_add(&c->ok, 1);
      double m = atomic_load(&c->mark);
      if (m > 0 && t >= m && atomic_load(&c->first_ok_after) == 0)
        atomic_store(&c->first_ok_after, t);
    } else {
      atomic_fetch_add(&c->failed, 1);
      fprintf(stderr, "# call failed: %s: %s\n", actr_err_name(rc), actr_err_detail());
    }
  }
  return NULL;
}

/* memory_per_destination: heap of a caller per destination, each with one
 * wire (WebRTC, or with @ws the direct WebSocket) to one of @k echo nodes
 * in other processes; then the destinations dropped, and again, to see
 * what is not given back. */
static int memory_per_destination(actr_runtime_t *rt, const actrix_t *a, actr_actor_id_t *ids,
                                  int k, bool ws) {
  actr_node_config_t cfg;
  actr_node_config_init(&cfg);
  cfg.ais_url = a->ais;
  cfg.signaling_url = a->signaling;
  cfg.realm_id = 3;
  CHECK(actr_actor_type_parse("bench:client:1", &cfg.type));
  cfg.ice_addresses = loopback;
  cfg.ice_address_count = 1;
  cfg.routes[ACTR_PAYLOAD_RPC_RELIABLE].wires[0] = ws ? ACTR_NODE_WIRE_WEBSOCKET : ACTR_NODE_WIRE_WEBRTC;
  cfg.routes[ACTR_PAYLOAD_RPC_RELIABLE].max_attempts = 1;
  actr_node_t *client;
  CHECK(actr_node_new(rt, &cfg, &client));
  actr_actor_type_t type;
  CHECK(actr_actor_type_parse("bench:echo:1", &type));
  actr_actor_id_t found[16];
  unsigned n = 0;
  CHECK(actr_node_discover(client, &type, found, 16, &n)); /* their WebSocket addresses */
  if (n != (unsigned)k) {
    fprintf(stderr, "discovered %u echo nodes of %d\n", n, k);
    return 1;
  }
  for (int i = 0; i < k; i++) { /* the first connections: what is made once is made */
    CHECK(call1(client, &ids[i], 20000));
    CHECK(actr_node_disconnect(client, &ids[i]));
  }
  g_usleep(500000);
  size_t before = mallinfo2().uordblks;
  for (int i = 0; i < k; i++)
    CHECK(call1(client, &ids[i], 20000));
  size_t during = mallinfo2().uordblks;
  for (int i = 0; i < k; i++)
    CHECK(actr_node_disconnect(client, &ids[i]));
  g_usleep(500000);
  size_t after = mallinfo2().uordblks;
  const char *kind = ws ? "websocket" : "webrtc";
  printf("# %s: heap in use %zu before, %zu with %d destinations, %zu after dropping them\n", kind,
         before, during, k, after);
  for (int round = 0; round < 5; round++) { /* again: what is not given back grows, or not */
    for (int i = 0; i < k; i++)
      CHECK(call1(client, &ids[i], 20000));
    for (int i = 0; i < k; i++)
      CHECK(actr_node_disconnect(client, &ids[i]));
    g_usleep(500000);
    printf("# %s: heap in use after %d more rounds: %zu\n", kind, round + 1,
           (size_t)mallinfo2().uordblks);
  }
  /* ACTR_BENCH_SETTLE_S: wait that long and look again (what usrsctp keeps
   * per closed association for its 60 s vtag time-wait is then gone). */
  const char *settle = getenv("ACTR_BENCH_SETTLE_S");
  if (settle && atoi(settle) > 0) {
    g_usleep((gulong)atoi(settle) * G_USEC_PER_SEC);
    actr_node_stats_t st;
    CHECK(actr_node_stats(client, &st));
    printf("# %s: heap in use %s s later: %zu (%u destinations)\n", kind, settle,
           (size_t)mallinfo2().uordblks, st.destinations);
  }
  char name[80];
  snprintf(name, sizeof name, "transport.destination.%s.memory", kind);
  bench_line(name, (double)(during - before) / k, "B");
  actr_node_free(client);
  return 0;
}

static int run(const char *tool) {
  for (size_t i = 0; i < sizeof payload; i++)
    payload[i] = (uint8_t)(i * 13 + 1);
  actrix_t a;
  actrix_start(&a, NULL);
  actr_runtime_t *rt;
  CHECK(actr_runtime_new(&rt));
  actr_node_t *server = node_new(rt, &a, "bench:server:1", true);
  CHECK(actr_node_serve(server, echo, NULL));
  actr_node_t *client = node_new(rt, &a, "bench:client:1", false);
  actr_actor_id_t target;
  unsigned found = 0;
  CHECK(actr_node_discover(client, &actr_node_id(server)->type, &target, 1, &found));
  if (found != 1) {
    fprintf(stderr, "server not discovered\n");
    return 1;
  }
  CHECK(call1(client, &target, 20000));

  /* Steady: one caller, 2 s. */
  unsigned k = 0;
  double t0 = bench_now();
  while (bench_now() - t0 < 2.0) {
    CHECK(call1(client, &target, 20000));
    k++;
  }
  double steady = k / (bench_now() - t0);
  printf("# steady: %u calls in 2 s over the WebRTC wire\n", k);
  bench_line("transport.calls.steady", steady, "msg/s");

  /* A rebuild: the WebRTC wire torn down; calls until it is up again. */
  actr_node_stats_t st;
  CHECK(actr_node_stats(client, &st));
  uint64_t up_before = st.wires_up, ws_before = st.ws_wires_up;
  uint64_t lost_before = st.wires_lost;
  CHECK(actr__node_kill_wire(client, &target, false));
  while (st.wires_lost == lost_before) { /* torn down (by the control thread) */
    g_usleep(1000);
    CHECK(actr_node_stats(client, &st));
  }
  t0 = bench_now();
  k = 0;
  double first_call = 0;
  for (;;) {
    double c0 = bench_now();
    CHECK(call1(client, &target, 20000));
    if (!k)
      first_call = bench_now() - c0;
    k++;
    CHECK(actr_node_stats(client, &st));
    if (st.wires_up - st.ws_wires_up > up_before - ws_before)
      break; /* a WebRTC wire came up again */
    if (bench_now() - t0 > 60) {
      fprintf(stderr, "the WebRTC wire did not come back in 60 s\n");
      return 1;
    }
  }
  double window = bench_now() - t0;
  printf("# rebuild: %u calls in %.3f s while the WebRTC wire was built again (over the direct\n"
         "# WebSocket wire, %s); the first took %.3f s\n", k, window,
         st.ws_wires_up > ws_before ? "built meanwhile" : "open since the first calls", first_call);
  bench_line("transport.rebuild.calls", k / window, "msg/s");
  bench_line_f("transport.rebuild.time", window, "s");

  /* A 10 s cut of every packet on lo, a caller calling all along. */
  caller_t c = {.n = client, .target = target};
  GThread *th = g_thread_new("caller", caller_main, &c);
  g_usleep(500000);
  if (system("iptables -I INPUT 1 -i lo -j DROP") != 0)
    return 1;
  g_usleep(10 * G_USEC_PER_SEC);
  if (system("iptables -D INPUT -i lo -j DROP") != 0)
    return 1;
  double back = bench_now();
  atomic_store(&c.mark, back);
  while (atomic_load(&c.first_ok_after) == 0 && bench_now() - back < 90)
    g_usleep(20000);
  atomic_store(&c.stop, true);
  g_thread_join(th);
  if (atomic_load(&c.first_ok_after) == 0 || atomic_load(&c.failed)) {
    fprintf(stderr, "calls did not come back after the cut (%u failed)\n", atomic_load(&c.failed));
    return 1;
  }
  printf("# link cut: %u calls ok, none failed\n", atomic_load(&c.ok));
  bench_line_f("transport.link_cut.recovery", atomic_load(&c.first_ok_after) - back, "s");
  actr_node_free(client);
  actr_node_free(server);

  /* Memory per destination: 8 echo nodes in their own processes. */
  enum { K = 8 };
  GPid pids[K];
  actr_actor_id_t ids[K];
  for (int i = 0; i < K; i++) {
    char realm[] = "3";
    const char *argv[] = {tool, "node", "--ais", a.ais, "--signaling", a.signaling, "--realm",
                          realm, "--type", "bench:echo:1", "--echo", "--ws-listen", "127.0.0.1",
                          NULL};
    char line[400];
    pids[i] = spawn_first_line(argv, line, sizeof line);
    char id[300];
    if (sscanf(line, "registered %299s", id) != 1 || actr_actor_id_parse(id, &ids[i]) != ACTR_OK) {
      fprintf(stderr, "echo node said '%s'\n", line);
      return 1;
    }
  }
  for (int ws = 0; ws < 2; ws++)
    if (memory_per_destination(rt, &a, ids, K, ws) != 0)
      return 1;
  for (int i = 0; i < K; i++) {
    kill(pids[i], SIGTERM);
    waitpid(pids[i], NULL, 0);
    g_spawn_close_pid(pids[i]);
  }
  actr_runtime_unref(rt);
  actrix_stop(&a);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: bench_transport ACTR_LANE_TOOL\n");
    return 2;
  }
  return run(argv[1]);
}
