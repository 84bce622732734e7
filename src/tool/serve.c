/* serve.c — `actr-lane serve --listen HOST:PORT [--cert F --key F]`
 * (SPEC §5): an echo peer.  Every WebSocket path but /signal is an actr lane
 * connection whose messages are sent back unchanged, same payload type, same
 * connection; /signal is WebRTC signaling (rtc_tool.c): the DataChannel
 * lanes the client opens are echoed the same way.  Runs until SIGINT
 * or SIGTERM, then closes every connection and exits 0.
 *
 * Echo on the I/O thread with lane handlers (echo.c): a slow client
 * pushes back on its own connection only, and no thread is made per
 * connection.
 * --max-connections / --max-handshakes set the server's caps (actr_ws_config_t);
 * past them a client gets HTTP 503. */
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <actr/error.h>
#include <actr/signaling.h>
#include <actr/websocket.h>

#include "tool.h"

/* One session per lane connection, all on the I/O thread: an echo per
 * payload type (echo.c); when the connection's outbound queue is full that
 * type is paused, its queue fills, and the connection stops reading (TCP
 * pushes the client back).  No thread per connection. */
typedef struct session {
  actr_ws_conn_t *conn; /* owned handle */
  tool_echo_t *echoes[ACTR_PAYLOAD_TYPE_COUNT];
  struct server_ctx *ctx;
} session_t;

/* The live sessions; stop closes them and waits for their on_closed. */
typedef struct server_ctx {
  GMutex mu;
  GCond cond;
  GList *live; /* session_t */
  bool stopping;
} server_ctx_t;

static void stop_echoes(session_t *s) {
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    tool_echo_stop(s->echoes[t]);
}

static void on_closed(actr_ws_conn_t *conn, void *user) {
  session_t *s = user;
  server_ctx_t *ctx = s->ctx;
  (void)conn;
  stop_echoes(s);
  actr_ws_conn_unref(s->conn); /* on the I/O thread: does not wait */
  g_mutex_lock(&ctx->mu);
  ctx->live = g_list_remove(ctx->live, s);
  g_cond_broadcast(&ctx->cond);
  g_mutex_unlock(&ctx->mu);
  g_free(s);
}

static const actr_ws_conn_callbacks_t session_cbs = {NULL, on_closed};

/* on_accept: I/O thread. */
static void on_accept(actr_ws_conn_t *conn, const char *path, void *user) {
  server_ctx_t *ctx = user;
  (void)path;
  g_mutex_lock(&ctx->mu);
  bool stopping = ctx->stopping;
  session_t *s = NULL;
  if (!stopping) {
    s = g_new0(session_t, 1);
    s->conn = conn;
    s->ctx = ctx;
    ctx->live = g_list_prepend(ctx->live, s);
  }
  g_mutex_unlock(&ctx->mu);
  if (stopping) {
    actr_ws_conn_close(conn);
    actr_ws_conn_unref(conn);
    return;
  }
  int rc = ACTR_OK;
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT && rc == ACTR_OK; t++) {
    actr_lane_t *lane = NULL;
    rc = actr_ws_conn_lane(conn, (actr_payload_type_t)t, &lane);
    if (rc == ACTR_OK)
      rc = tool_echo_start(lane, &s->echoes[t]);
    actr_lane_unref(lane);
  }
  if (rc == ACTR_OK)
    rc = actr_ws_conn_set_callbacks(conn, &session_cbs, s); /* on_closed frees s */
  if (rc != ACTR_OK) {
    fprintf(stderr, "actr-lane serve: connection refused: %s: %s\n", actr_err_name(rc),
            actr_err_detail());
    actr_ws_conn_close_with(conn, 1011, "cannot serve");
    stop_echoes(s);
    g_mutex_lock(&ctx->mu);
    ctx->live = g_list_remove(ctx->live, s);
    g_mutex_unlock(&ctx->mu);
    g_free(s);
    actr_ws_conn_unref(conn);
  }
}

/* parse_listen: HOST:PORT or [V6]:PORT. */
static bool parse_listen(const char *s, char **host, uint16_t *port) {
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s || !colon[1])
    return false;
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535)
    return false;
  if (s[0] == '[') {
    if (colon[-1] != ']')
      return false;
    *host = g_strndup(s + 1, (gsize)(colon - s - 2));
  } else {
    *host = g_strndup(s, (gsize)(colon - s));
  }
  *port = (uint16_t)p;
  return **host != 0;
}

/* parse_count: a positive decimal count that fits 32 bits. */
static bool parse_count(const char *s, uint32_t *out) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || v == 0 || v > UINT32_MAX || s[0] == '-')
    return false;
  *out = (uint32_t)v;
  return true;
}

int tool_serve(int argc, char **argv) {
  const char *listen = NULL, *cert = NULL, *key = NULL;
  const char *ice[8];
  size_t nice = 0;
  uint32_t max_conns = 0, max_hs = 0; /* 0: the library's defaults */
  int peer_timeout_ms = 0;
  uint32_t connect_timeout_ms = 0; /* 0: the library's default */
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--listen") == 0 && v)
      listen = v, i++;
    else if (strcmp(a, "--cert") == 0 && v)
      cert = v, i++;
    else if (strcmp(a, "--key") == 0 && v)
      key = v, i++;
    else if (strcmp(a, "--ice-address") == 0 && v && nice < 8)
      ice[nice++] = v, i++;
    else if (strcmp(a, "--peer-timeout-ms") == 0 && v) {
      if (!tool_parse_peer_timeout(v, &peer_timeout_ms, &cfg)) {
        fprintf(stderr, "actr-lane serve: bad value for %s: '%s' (1000..3600000)\n", a, v);
        return 2;
      }
      i++;
    } else if (strcmp(a, "--connect-timeout-ms") == 0 && v &&
               parse_count(v, &connect_timeout_ms) && connect_timeout_ms <= 3600000) {
      i++;
    } else if (strcmp(a, "--max-connections") == 0 && v && parse_count(v, &max_conns)) {
      i++;
    } else if (strcmp(a, "--max-handshakes") == 0 && v && parse_count(v, &max_hs)) {
      i++;
    } else {
      fprintf(stderr, "actr-lane serve: unexpected argument '%s' (usage: serve --listen HOST:PORT "
                      "[--cert FILE --key FILE] [--ice-address IP]... [--peer-timeout-ms MS] "
                      "[--connect-timeout-ms MS] [--max-connections N] [--max-handshakes N])\n", a);
      return 2;
    }
  }
  char *host = NULL;
  uint16_t port = 0;
  if (!listen || !parse_listen(listen, &host, &port)) {
    fprintf(stderr, "actr-lane serve: --listen HOST:PORT is required (got '%s')\n",
            listen ? listen : "");
    return 2;
  }
  if (!cert != !key) {
    fprintf(stderr, "actr-lane serve: --cert and --key go together\n");
    g_free(host);
    return 2;
  }
  /* Block the stop signals in every thread (the runtime's included, which
   * inherit the mask); the main thread takes them with sigwait. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  /* A server holds a descriptor per connection: the soft limit (often
   * 1024, the default --max-connections) goes up to the hard one, so the
   * caps are what refuses clients.  Past the hard limit the library sheds
   * clients with 503 (docs/websocket.md). */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  server_ctx_t ctx = {0};
  g_mutex_init(&ctx.mu);
  g_cond_init(&ctx.cond);
  actr_runtime_t *rt = NULL;
  actr_ws_server_t *srv = NULL;
  cfg.cert_file = cert;
  cfg.key_file = key;
  cfg.max_connections = max_conns;
  cfg.max_handshakes = max_hs;
  int rc = actr_runtime_new(&rt);
  if (rc == ACTR_OK)
    rc = actr_ws_server_new(rt, host, port, &cfg, on_accept, &ctx, &srv);
  /* ICE gathers on the --ice-address list; by default on the listening
   * address when it is a specific one (127.0.0.1 keeps WebRTC on loopback),
   * else on every interface. */
  if (nice == 0 && g_hostname_is_ip_address(host) && strcmp(host, "0.0.0.0") != 0 &&
      strcmp(host, "::") != 0)
    ice[nice++] = host;
  tool_rtc_server_t *rtc = NULL;
  if (rc == ACTR_OK)
    rc = tool_rtc_serve_start(rt, srv, ice, nice, peer_timeout_ms, (int)connect_timeout_ms, &rtc);
  if (rc != ACTR_OK) {
    fprintf(stderr, "actr-lane serve: %s: %s\n", actr_err_name(rc), actr_err_detail());
    actr_ws_server_free(srv);
    if (rt)
      actr_runtime_unref(rt);
    g_mutex_clear(&ctx.mu);
    g_cond_clear(&ctx.cond);
    g_free(host);
    return 1;
  }
  bool v6 = strchr(host, ':') != NULL;
  printf("listening %s://%s%s%s:%u\n", actr_ws_server_is_tls(srv) ? "wss" : "ws", v6 ? "[" : "",
         host, v6 ? "]" : "", actr_ws_server_port(srv));
  fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  fprintf(stderr, "actr-lane serve: %s, closing\n", sig == SIGINT ? "SIGINT" : "SIGTERM");

  actr_ws_server_close(srv); /* no accept callback after this */
  tool_rtc_serve_stop(rtc);
  g_mutex_lock(&ctx.mu);
  ctx.stopping = true;
  for (GList *l = ctx.live; l; l = l->next)
    actr_ws_conn_close(((session_t *)l->data)->conn); /* on_closed ends each */
  while (ctx.live)
    g_cond_wait(&ctx.cond, &ctx.mu);
  g_mutex_unlock(&ctx.mu);
  actr_ws_server_free(srv);
  actr_runtime_unref(rt);
  g_mutex_clear(&ctx.mu);
  g_cond_clear(&ctx.cond);
  g_free(host);
  return 0;
}
