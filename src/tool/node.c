/* node.c — `actr-lane node` and `actr-lane call` (SPEC §5): an actr node on
 * the public API only (actr/node.h). */
#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/node.h>

#include "tool.h"

#define MAX_ICE 8

typedef struct node_args {
  const char *ais, *signaling, *type, *target, *route, *secret, *turn, *ws_listen;
  uint32_t realm;
  bool echo, realm_set;
  actr_node_dialect_t dialect;
  size_t size;
  uint32_t count;
  int timeout_ms, interval_ms;
  const char *ice[MAX_ICE];
  size_t nice;
} node_args_t;

static int bad(const char *cmd, const char *what) {
  fprintf(stderr, "actr-lane %s: %s\n", cmd, what);
  return 2;
}

static bool parse_u32(const char *s, uint32_t *out) {
  char *e;
  unsigned long long v = strtoull(s, &e, 10);
  if (!*s || *e || v > UINT32_MAX || s[0] == '-')
    return false;
  *out = (uint32_t)v;
  return true;
}

/* parse: the options of both commands; 0, or the exit code on a bad one. */
static int parse(const char *cmd, int argc, char **argv, node_args_t *a) {
  memset(a, 0, sizeof *a);
  a->count = 1;
  a->timeout_ms = 30000;
  for (int i = 0; i < argc; i++) {
    const char *o = argv[i];
    if (strcmp(o, "--echo") == 0) {
      a->echo = true;
      continue;
    }
    if (i + 1 >= argc)
      return bad(cmd, "an option without its value (see actr-lane help)");
    const char *v = argv[++i];
    uint32_t u;
    if (strcmp(o, "--ais") == 0)
      a->ais = v;
    else if (strcmp(o, "--signaling") == 0)
      a->signaling = v;
    else if (strcmp(o, "--type") == 0)
      a->type = v;
    else if (strcmp(o, "--target") == 0)
      a->target = v;
    else if (strcmp(o, "--route") == 0)
      a->route = v;
    else if (strcmp(o, "--realm-secret") == 0)
      a->secret = v;
    else if (strcmp(o, "--turn") == 0)
      a->turn = v;
    else if (strcmp(o, "--realm") == 0 && parse_u32(v, &a->realm))
      a->realm_set = true;
    else if (strcmp(o, "--size") == 0 && parse_u32(v, &u) && u <= (64u << 20))
      a->size = u;
    else if (strcmp(o, "--count") == 0 && parse_u32(v, &u) && u > 0)
      a->count = u;
    else if (strcmp(o, "--timeout-ms") == 0 && parse_u32(v, &u) && u > 0 && u <= INT32_MAX)
      a->timeout_ms = (int)u;
    else if (strcmp(o, "--interval-ms") == 0 && parse_u32(v, &u) && u <= INT32_MAX)
      a->interval_ms = (int)u;
    else if (strcmp(o, "--actr-version") == 0 && (strcmp(v, "0.5") == 0 || strcmp(v, "0.3") == 0))
      a->dialect = v[2] == '3' ? ACTR_NODE_DIALECT_03 : ACTR_NODE_DIALECT_05;
    else if (strcmp(o, "--ws-listen") == 0) /* direct WebSocket wire (issue 11) */
      a->ws_listen = v;
    else if (strcmp(o, "--ice-address") == 0 && a->nice < MAX_ICE)
      a->ice[a->nice++] = v;
    else {
      fprintf(stderr, "actr-lane %s: bad option or value: %s %s\n", cmd, o, v);
      return 2;
    }
  }
  if (!a->ais || !a->signaling || !a->type || !a->realm_set)
    return bad(cmd, "--ais, --signaling, --realm and --type are required");
  return 0;
}

/* start: the node of @a, or NULL after a one-line error. */
static actr_node_t *start(const char *cmd, const node_args_t *a, actr_runtime_t **rt) {
  actr_node_config_t cfg;
  actr_node_config_init(&cfg);
  int rc = actr_actor_type_parse(a->type, &cfg.type);
  if (rc != ACTR_OK) {
    fprintf(stderr, "actr-lane %s: --type: %s\n", cmd, actr_err_detail());
    return NULL;
  }
  cfg.ais_url = a->ais;
  cfg.signaling_url = a->signaling;
  cfg.realm_id = a->realm;
  cfg.realm_secret = a->secret;
  cfg.turn_url = a->turn; /* with the TURN credential AIS gives */
  cfg.dialect = a->dialect;
  cfg.ws_listen_host = a->ws_listen; /* any free port, registered with AIS */
  /* ICE on the given addresses; with none, on 127.0.0.1 when actrix is on
   * loopback (as `send` does for its URL), else on every interface. */
  static const char *const lo[] = {"127.0.0.1"};
  if (a->nice) {
    cfg.ice_addresses = a->ice;
    cfg.ice_address_count = a->nice;
  } else if (strstr(a->signaling, "://127.") || strstr(a->signaling, "://localhost")) {
    cfg.ice_addresses = lo;
    cfg.ice_address_count = 1;
  }
  actr_node_t *node = NULL;
  rc = actr_runtime_new(rt);
  if (rc == ACTR_OK)
    rc = actr_node_new(*rt, &cfg, &node);
  if (rc != ACTR_OK) {
    fprintf(stderr, "actr-lane %s: %s: %s\n", cmd, actr_err_name(rc), actr_err_detail());
    if (*rt)
      actr_runtime_unref(*rt);
    *rt = NULL;
    return NULL;
  }
  return node;
}

/* The echo: every request answered with its payload unchanged. */
static void echo(actr_node_t *node, const actr_actor_id_t *caller, const actr_envelope_t *req,
                 actr_envelope_t **resp, void *user) {
  const uint8_t *data = NULL;
  size_t len = 0;
  actr_envelope_payload(req, &data, &len);
  if (actr_envelope_new(actr_envelope_route_key(req), actr_envelope_request_id(req), 0, resp) !=
      ACTR_OK)
    return;
  if (actr_envelope_set_payload(*resp, data, len) != ACTR_OK) {
    actr_envelope_free(*resp);
    *resp = NULL;
  }
}

int tool_node(int argc, char **argv) {
  node_args_t a;
  int bad_rc = parse("node", argc, argv, &a);
  if (bad_rc)
    return bad_rc;
  /* SIGINT/SIGTERM are taken by sigwait below (threads inherit the mask). */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  actr_runtime_t *rt = NULL;
  actr_node_t *node = start("node", &a, &rt);
  if (!node)
    return 1;
  if (a.echo)
    actr_node_serve(node, echo, NULL);
  char id[ACTR_ACTOR_ID_STRING_MAX];
  actr_actor_id_format(actr_node_id(node), id, sizeof id);
  printf("registered %s\n", id);
  fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  actr_node_stats_t st;
  actr_node_stats(node, &st);
  fprintf(stderr,
          "actr-lane node: %s, closing: %llu requests (%llu answered, %llu duplicate, %llu "
          "dropped), %llu peer connections\n",
          sig == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)st.requests_received,
          (unsigned long long)st.requests_answered, (unsigned long long)st.requests_duplicate,
          (unsigned long long)st.requests_dropped, (unsigned long long)st.peers_connected);
  actr_node_free(node); /* closes peers, unregisters */
  actr_runtime_unref(rt);
  return 0;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

int tool_call(int argc, char **argv) {
  node_args_t a;
  int bad_rc = parse("call", argc, argv, &a);
  if (bad_rc)
    return bad_rc;
  if (!a.target || !a.route)
    return bad("call", "--target and --route are required");
  actr_actor_type_t target_type;
  if (actr_actor_type_parse(a.target, &target_type) != ACTR_OK) {
    fprintf(stderr, "actr-lane call: --target: %s\n", actr_err_detail());
    return 2;
  }
  actr_runtime_t *rt = NULL;
  actr_node_t *node = start("call", &a, &rt);
  if (!node)
    return 1;
  /* Discovery: the target may still be registering; ask for 10 s. */
  actr_actor_id_t target;
  unsigned found = 0;
  int rc = ACTR_OK;
  for (int i = 0; i < 20 && rc == ACTR_OK && !found; i++) {
    rc = actr_node_discover(node, &target_type, &target, 1, &found);
    if (rc == ACTR_OK && !found)
      g_usleep(500 * 1000);
  }
  if (rc != ACTR_OK || !found) {
    fprintf(stderr, "actr-lane call: no actor of type %s: %s\n", a.target,
            rc != ACTR_OK ? actr_err_detail() : "none registered");
    actr_node_free(node);
    actr_runtime_unref(rt);
    return 1;
  }
  uint8_t *buf = malloc(a.size ? a.size : 1);
  double *rtt = calloc(a.count, sizeof *rtt);
  uint32_t ok = 0, failed = 0;
  GRand *rand = g_rand_new();
  double t0 = tool_now_us();
  for (uint32_t i = 0; i < a.count && buf && rtt; i++) {
    for (size_t k = 0; k < a.size; k++)
      buf[k] = (uint8_t)g_rand_int(rand);
    actr_envelope_t *resp = NULL;
    double s = tool_now_us();
    rc = actr_node_call(node, &target, a.route, buf, a.size, a.timeout_ms, &resp);
    rtt[i] = tool_now_us() - s;
    const uint8_t *got;
    size_t glen;
    uint32_t ecode;
    const char *emsg;
    if (rc != ACTR_OK) {
      fprintf(stderr, "actr-lane call: call %u: %s: %s\n", i, actr_err_name(rc), actr_err_detail());
      failed++;
    } else if (actr_envelope_error(resp, &ecode, &emsg)) {
      fprintf(stderr, "actr-lane call: call %u: error %u %s\n", i, ecode, emsg);
      failed++;
    } else if (!actr_envelope_payload(resp, &got, &glen) || glen != a.size ||
               (a.size && memcmp(got, buf, a.size) != 0)) {
      fprintf(stderr, "actr-lane call: call %u: the reply differs from the request\n", i);
      failed++;
    } else {
      ok++;
    }
    actr_envelope_free(resp);
    if (a.interval_ms && i + 1 < a.count)
      g_usleep((gulong)a.interval_ms * 1000);
  }
  double secs = (tool_now_us() - t0) / 1e6;
  char tid[ACTR_ACTOR_ID_STRING_MAX];
  actr_actor_id_format(&target, tid, sizeof tid);
  if (rtt && a.count) {
    qsort(rtt, a.count, sizeof *rtt, cmp_double);
    printf("call %s %s: %u of %u replies matched, %.1f calls/s, %.2f MB/s, round trip p50 %.0f us "
           "p99 %.0f us\n",
           tid, a.route, ok, a.count, secs > 0 ? a.count / secs : 0,
           secs > 0 ? 2.0 * a.size * ok / secs / 1e6 : 0, rtt[a.count / 2],
           rtt[(a.count * 99) / 100 < a.count ? (a.count * 99) / 100 : a.count - 1]);
  }
  g_rand_free(rand);
  free(buf);
  free(rtt);
  actr_node_free(node);
  actr_runtime_unref(rt);
  return failed == 0 && ok == a.count ? 0 : 1;
}
