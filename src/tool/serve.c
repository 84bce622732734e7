/* serve.c — `actr-lane serve --listen HOST:PORT [--cert F --key F]`
 * (SPEC §5): an echo peer.  Every WebSocket path but /signal is an actr lane
 * connection whose messages are sent back unchanged, same payload type, same
 * connection; /signal is WebRTC signaling (rtc_tool.c): the DataChannel
 * lanes the client opens are echoed the same way.  Runs until SIGINT
 * or SIGTERM, then closes every connection and exits 0.
 *
 * One thread per connection echoes (actr_ws_conn_recv for any type, then the
 * type's lane send): a slow client pushes back on its own thread only. */
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/signaling.h>
#include <actr/websocket.h>

#include "tool.h"
#include "ws_internal.h"

typedef struct session {
  actr_ws_conn_t *conn;
  GThread *thread;
  struct server_ctx *ctx;
} session_t;

typedef struct server_ctx {
  GMutex mu;
  GList *live;     /* session_t: echoing */
  GList *finished; /* session_t: done, thread to join */
  bool stopping;
} server_ctx_t;

static gpointer echo_main(gpointer p) {
  session_t *s = p;
  actr_lane_t *lanes[ACTR_PAYLOAD_TYPE_COUNT] = {0};
  for (;;) {
    actr_payload_type_t t;
    actr_msg_t *m;
    if (actr_ws_conn_recv(s->conn, -1, &t, &m) != ACTR_OK)
      break; /* closed and drained */
    int rc = lanes[t] ? ACTR_OK : actr_ws_conn_lane(s->conn, t, &lanes[t]);
    if (rc == ACTR_OK)
      rc = actr_lane_send(lanes[t], actr_msg_data(m), actr_msg_len(m));
    actr_msg_free(m);
    if (rc != ACTR_OK)
      break;
  }
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    actr_lane_unref(lanes[t]);
  g_mutex_lock(&s->ctx->mu);
  s->ctx->live = g_list_remove(s->ctx->live, s);
  g_mutex_unlock(&s->ctx->mu);
  actr_ws_conn_unref(s->conn); /* waits for the close handshake */
  g_mutex_lock(&s->ctx->mu);
  s->ctx->finished = g_list_prepend(s->ctx->finished, s);
  g_mutex_unlock(&s->ctx->mu);
  return NULL;
}

static void join_finished(server_ctx_t *ctx) {
  g_mutex_lock(&ctx->mu);
  GList *done = ctx->finished;
  ctx->finished = NULL;
  g_mutex_unlock(&ctx->mu);
  for (GList *l = done; l; l = l->next) {
    session_t *s = l->data;
    g_thread_join(s->thread); /* it has finished its work: returns at once */
    g_free(s);
  }
  g_list_free(done);
}

/* on_accept: I/O thread.  Starting a thread does not block the loop. */
static void on_accept(actr_ws_conn_t *conn, const char *path, void *user) {
  server_ctx_t *ctx = user;
  join_finished(ctx);
  g_mutex_lock(&ctx->mu);
  if (ctx->stopping) {
    g_mutex_unlock(&ctx->mu);
    actr_ws_conn_close(conn);
    actr_ws_conn_unref(conn);
    return;
  }
  session_t *s = g_new0(session_t, 1);
  s->conn = conn;
  s->ctx = ctx;
  ctx->live = g_list_prepend(ctx->live, s);
  s->thread = g_thread_new("actr-echo", echo_main, s);
  g_mutex_unlock(&ctx->mu);
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

int tool_serve(int argc, char **argv) {
  const char *listen = NULL, *cert = NULL, *key = NULL;
  const char *ice[8];
  size_t nice = 0;
  int peer_timeout_ms = 0;
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
    } else {
      fprintf(stderr, "actr-lane serve: unexpected argument '%s' (usage: serve --listen HOST:PORT "
                      "[--cert FILE --key FILE] [--ice-address IP]... [--peer-timeout-ms MS])\n", a);
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

  server_ctx_t ctx = {0};
  g_mutex_init(&ctx.mu);
  actr_runtime_t *rt = NULL;
  actr_ws_server_t *srv = NULL;
  cfg.cert_file = cert;
  cfg.key_file = key;
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
    rc = tool_rtc_serve_start(rt, srv, ice, nice, peer_timeout_ms, &rtc);
  if (rc != ACTR_OK) {
    fprintf(stderr, "actr-lane serve: %s: %s\n", actr_err_name(rc), actr_last_error());
    actr_ws_server_unref(srv);
    if (rt)
      actr_runtime_unref(rt);
    g_mutex_clear(&ctx.mu);
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
  GList *live = g_list_copy(ctx.live);
  for (GList *l = live; l; l = l->next)
    actr_ws_conn_close(((session_t *)l->data)->conn); /* the echo threads see CLOSED */
  g_mutex_unlock(&ctx.mu);
  for (GList *l = live; l; l = l->next)
    g_thread_join(((session_t *)l->data)->thread);
  for (GList *l = live; l; l = l->next) {
    g_mutex_lock(&ctx.mu);
    ctx.finished = g_list_remove(ctx.finished, l->data);
    g_mutex_unlock(&ctx.mu);
    g_free(l->data);
  }
  g_list_free(live);
  join_finished(&ctx);
  actr_ws_server_unref(srv);
  actr_runtime_unref(rt);
  g_mutex_clear(&ctx.mu);
  g_free(host);
  return 0;
}
