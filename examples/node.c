/* node.c — a C program as actors of an actr realm (actr/node.h).
 *
 * Usage: node AIS_URL SIGNALING_URL [REALM_ID]
 *   e.g. node http://127.0.0.1:8081/ais ws://127.0.0.1:8081/signaling/ws 101
 *
 * Two nodes in one process: an "echo" actor that answers every request with
 * its payload, and a "caller" actor that finds it through actrix (discovery),
 * connects to it over WebRTC (offer/answer relayed by actrix signaling) and
 * calls it with RpcEnvelope requests.  Each node registered with AIS first.
 * tests/realm/test_actrix.py is a test actrix (AIS + signaling) to try it.
 *
 * Build (installed library):  cc node.c $(pkg-config --cflags --libs actr)
 * Prints what it does, exits 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <actr/actr.h>

#define check(call)                                                          \
  do {                                                                       \
    int rc_ = (call);                                                        \
    if (rc_ != ACTR_OK) {                                                    \
      fprintf(stderr, "node: %s failed: %s (%s)\n", #call, actr_err_name(rc_), \
              actr_err_detail());                                            \
      return 1;                                                              \
    }                                                                        \
  } while (0)

/* The echo actor's request handler.  It runs on the runtime's I/O thread:
 * it must not block.  The node fills in route key, request id, direction
 * and timeout of the response; we give its payload. */
static void echo(actr_node_t *node, const actr_actor_id_t *caller, const actr_envelope_t *req,
                 actr_envelope_t **resp, void *user) {
  (void)node, (void)caller, (void)user;
  const uint8_t *data = NULL;
  size_t len = 0;
  actr_envelope_payload(req, &data, &len);
  if (actr_envelope_new(actr_envelope_route_key(req), actr_envelope_request_id(req), 0, resp) !=
      ACTR_OK)
    return; /* no response: the caller sees an error or a timeout */
  if (actr_envelope_set_payload(*resp, data, len) != ACTR_OK) {
    actr_envelope_free(*resp);
    *resp = NULL;
  }
}

/* start: register an actor of @type in the realm and connect it to actrix. */
static int start(actr_runtime_t *rt, const char *ais, const char *signaling, uint32_t realm,
                 const char *type, actr_node_t **out) {
  static const char *const loopback[] = {"127.0.0.1"};
  actr_node_config_t cfg;
  actr_node_config_init(&cfg);
  cfg.ais_url = ais;
  cfg.signaling_url = signaling;
  cfg.realm_id = realm;
  int rc = actr_actor_type_parse(type, &cfg.type); /* manufacturer:name:version */
  if (rc != ACTR_OK)
    return rc;
  /* ICE: with actrix on loopback (a test), gather on 127.0.0.1 only;
   * otherwise on every interface (NULL). */
  if (strstr(signaling, "://127.0.0.1")) {
    cfg.ice_addresses = loopback;
    cfg.ice_address_count = 1;
  }
  rc = actr_node_new(rt, &cfg, out); /* blocks: AIS, then signaling */
  if (rc == ACTR_OK) {
    char id[ACTR_ACTOR_ID_STRING_MAX];
    actr_actor_id_format(actr_node_id(*out), id, sizeof id);
    printf("registered %s\n", id);
  }
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s AIS_URL SIGNALING_URL [REALM_ID]\n", argv[0]);
    return 2;
  }
  uint32_t realm = argc == 4 ? (uint32_t)strtoul(argv[3], NULL, 10) : 101;

  /* 1. One runtime (the I/O thread) for both nodes. */
  actr_runtime_t *rt = NULL;
  check(actr_runtime_new(&rt));

  /* 2. The echo actor: registered, then serving requests. */
  actr_node_t *echo_node = NULL, *caller = NULL;
  check(start(rt, argv[1], argv[2], realm, "acme:echo:1.0", &echo_node));
  check(actr_node_serve(echo_node, echo, NULL));

  /* 3. The caller actor finds an actor of type acme:echo:1.0 (asking
   *    again for a few seconds: registration may still be spreading). */
  check(start(rt, argv[1], argv[2], realm, "acme:caller:1.0", &caller));
  actr_actor_type_t echo_type;
  check(actr_actor_type_parse("acme:echo:1.0", &echo_type));
  actr_actor_id_t target;
  unsigned found = 0;
  for (int i = 0; i < 20 && !found; i++) {
    check(actr_node_discover(caller, &echo_type, &target, 1, &found));
    if (!found)
      nanosleep(&(struct timespec){0, 500 * 1000 * 1000}, NULL);
  }
  if (!found) {
    fprintf(stderr, "node: no actor of type acme:echo:1.0 found\n");
    return 1;
  }
  char tid[ACTR_ACTOR_ID_STRING_MAX];
  check(actr_actor_id_format(&target, tid, sizeof tid));
  printf("discovered %s\n", tid);

  /* 4. Calls: the first one sets up the WebRTC peer connection (through
   *    actrix), the next ones reuse it.  Each waits at most 20 s. */
  int ok = 1;
  for (int i = 0; i < 3 && ok; i++) {
    char payload[64];
    int len = snprintf(payload, sizeof payload, "hello %d from the caller", i);
    actr_envelope_t *resp = NULL;
    check(actr_node_call(caller, &target, "echo.Echo.Say", payload, (size_t)len, 20000, &resp));
    const uint8_t *got = NULL;
    size_t glen = 0;
    uint32_t code;
    const char *emsg;
    if (actr_envelope_error(resp, &code, &emsg)) {
      fprintf(stderr, "node: the call failed remotely: %u %s\n", code, emsg);
      ok = 0;
    } else if (!actr_envelope_payload(resp, &got, &glen) || glen != (size_t)len ||
               memcmp(got, payload, glen) != 0) {
      fprintf(stderr, "node: the reply differs from the request\n");
      ok = 0;
    } else {
      printf("reply: \"%.*s\"\n", (int)glen, (const char *)got);
    }
    actr_envelope_free(resp);
  }

  /* 5. What the echo actor saw, then shut down: each node closes its peer
   *    connections, unregisters and disconnects; the runtime goes last. */
  actr_node_stats_t st;
  check(actr_node_stats(echo_node, &st));
  printf("echo: %llu requests, %llu answered\n", (unsigned long long)st.requests_received,
         (unsigned long long)st.requests_answered);
  actr_node_free(caller);
  actr_node_free(echo_node);
  actr_runtime_unref(rt);
  ok = ok && st.requests_answered == 3;
  printf(ok ? "node: OK\n" : "node: FAILED\n");
  return ok ? 0 : 1;
}
