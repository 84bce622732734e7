/* rtc_tool.c — the WebRTC side of `actr-lane serve` and `actr-lane send`
 * (SPEC §5): /signal carries the JSON signaling of one peer connection; the
 * server answers the offer, takes the data channels the client opens (label
 * = PayloadType name) and echoes every lane message on its own lane, which
 * re-fragments with its own msg_id counter.
 *
 * Server sessions, all on the I/O thread, with no thread of their own: each
 * /signal connection gets a session (signaling endpoint + answering link +
 * an echo per DataChannel payload type, echo.c) made in its on_open and
 * torn down in its on_close.  At most MAX_SESSIONS at once; /signal
 * messages are at most ACTR_SIGNALING_MAX_JSON bytes. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/webrtc_link.h>

#include "tool.h"
#include <actr/signaling_ws.h>

#define DC_TYPES 4 /* RPC_RELIABLE .. STREAM_LATENCY_FIRST */
/* Each session costs a peer connection (ICE agent, DTLS, SCTP): at most
 * this many at once; more are refused (close 1013, try again later). */
#define MAX_SESSIONS 64

typedef struct rtc_session {
  struct tool_rtc_server *srv;
  actr_ws_conn_t *conn; /* owned handle */
  actr_signaling_t *sig;
  actr_signaling_ws_t *wsig;
  actr_webrtc_link_t *link;
  tool_echo_t *echoes[DC_TYPES];
} rtc_session_t;

/* The sessions live in by_conn from on_open to on_close; stop closes their
 * connections and waits for the table to empty. */
struct tool_rtc_server {
  actr_runtime_t *rt;
  const char *const *ice;
  size_t nice;
  int peer_timeout_ms;
  int connect_timeout_ms; /* 0: the library's default */
  GMutex mu;
  GCond cond;
  GHashTable *by_conn; /* actr_ws_conn_t * -> rtc_session_t *: the sessions */
  bool stopping;
  gint64 refused_said_us; /* the last "session refused" line (say_refused) */
  unsigned refused_unsaid;
};

/* say_refused (I/O thread): a refused /signal session on stderr, at most a
 * line a second: a flood of clients past the cap must not become a flood
 * of lines, written by the one I/O thread to a stderr that may be a pipe
 * nobody drains.  The next line counts the ones left unsaid, and so does
 * tool_rtc_serve_stop for the last of them: every refusal is counted. */
static void say_refused(tool_rtc_server_t *srv, const char *why, int rc) {
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&srv->mu);
  bool quiet = srv->refused_said_us && now - srv->refused_said_us < G_USEC_PER_SEC;
  unsigned before = quiet ? 0 : srv->refused_unsaid;
  if (quiet) {
    srv->refused_unsaid++;
  } else {
    srv->refused_said_us = now;
    srv->refused_unsaid = 0;
  }
  g_mutex_unlock(&srv->mu);
  if (quiet)
    return;
  if (before)
    fprintf(stderr, "actr-lane serve: /signal session refused: %s (%s); %u more refused before\n",
            why, actr_err_name(rc), before);
  else
    fprintf(stderr, "actr-lane serve: /signal session refused: %s (%s)\n", why, actr_err_name(rc));
}

/* session_free (I/O thread): the echoes, the link (its peer connection
 * and lanes), the signaling endpoint, the connection handle. */
static void session_free(rtc_session_t *s) {
  for (int t = 0; t < DC_TYPES; t++)
    tool_echo_stop(s->echoes[t]);
  actr_webrtc_link_free(s->link);
  actr_signaling_free(s->sig);
  actr_ws_conn_unref(s->conn);
  g_free(s);
}

static actr_webrtc_link_config_t link_config(const char *const *ice, size_t nice,
                                          int peer_timeout_ms) {
  actr_webrtc_link_config_t cfg;
  actr_webrtc_link_config_init(&cfg);
  cfg.webrtc.local_addresses = ice;
  cfg.webrtc.local_address_count = nice;
  cfg.webrtc.peer_timeout_ms = peer_timeout_ms;
  return cfg;
}

bool tool_parse_peer_timeout(const char *s, int *ms, actr_ws_config_t *ws) {
  char *end;
  if (!s || !*s || *s == '-')
    return false;
  unsigned long v = strtoul(s, &end, 10);
  if (*end || v < 1000 || v > 3600000)
    return false;
  *ms = (int)v;
  ws->ping_interval_ms = (int)v / 2;
  return true;
}

/* ---- /signal raw-mode handlers (I/O thread) ---- */

/* A session whose peer connection is over ends with its /signal connection
 * (SPEC §5: an error, then close), so no slot of MAX_SESSIONS is held by
 * a connection that failed, was closed, or never connected (the link's
 * connect_timeout_ms).  The close is posted: on_state runs inside the
 * link, which signal_on_close frees. */
typedef struct {
  actr_ws_conn_t *conn; /* owned handle */
  uint16_t code;
  char reason[64];
} session_end_t;

static void session_end_cb(void *data) {
  session_end_t *e = data;
  actr_ws_conn_close_with(e->conn, e->code, e->reason);
  actr_ws_conn_unref(e->conn);
  g_free(e);
}

static void session_on_state(actr_webrtc_pc_t *pc, actr_webrtc_pc_state_t state, int err,
                             void *user) {
  rtc_session_t *s = user;
  (void)pc;
  if (state != ACTR_WEBRTC_PC_FAILED && state != ACTR_WEBRTC_PC_CLOSED)
    return;
  session_end_t *e = g_new0(session_end_t, 1);
  e->conn = actr_ws_conn_ref(s->conn);
  e->code = state == ACTR_WEBRTC_PC_CLOSED ? 1000 : 1011;
  g_snprintf(e->reason, sizeof e->reason, "WebRTC session %s: %s",
             state == ACTR_WEBRTC_PC_CLOSED ? "closed" : "failed", actr_err_name(err));
  actr_runtime_post(s->srv->rt, session_end_cb, e);
}

/* signal_on_open: a slot is taken before anything costly (a DTLS key, an
 * ICE agent) is made, so a flood of /signal connections past the
 * cap costs nothing but its refusal. */
static void signal_on_open(actr_ws_conn_t *conn, void *user) {
  tool_rtc_server_t *srv = user;
  rtc_session_t *s = g_new0(rtc_session_t, 1);
  s->srv = srv;
  s->conn = conn;
  g_mutex_lock(&srv->mu);
  bool busy = srv->stopping || g_hash_table_size(srv->by_conn) >= MAX_SESSIONS;
  if (!busy) /* only this thread feeds sessions: none is fed before it is whole */
    g_hash_table_insert(srv->by_conn, conn, s);
  g_mutex_unlock(&srv->mu);
  int rc = ACTR_OK;
  const char *why = "too many WebRTC sessions";
  if (!busy) {
    actr_webrtc_link_config_t cfg = link_config(srv->ice, srv->nice, srv->peer_timeout_ms);
    cfg.webrtc.connect_timeout_ms = srv->connect_timeout_ms;
    cfg.webrtc.on_state = session_on_state;
    cfg.webrtc.user = s;
    rc = actr_signaling_ws_new(true, &s->sig, &s->wsig);
    if (rc == ACTR_OK) {
      actr_signaling_ws_attach(s->wsig, conn);
      rc = actr_webrtc_link_new(srv->rt, &cfg, s->sig, false, &s->link);
    }
    why = "cannot start a WebRTC session";
  }
  /* The answering side's lanes exist at once; each binds to the channel
   * the client opens with its label. */
  for (int t = 0; t < DC_TYPES && !busy && rc == ACTR_OK; t++) {
    actr_lane_t *lane = NULL;
    rc = actr_webrtc_link_lane(s->link, (actr_payload_type_t)t, &lane);
    if (rc == ACTR_OK)
      rc = tool_echo_start(lane, &s->echoes[t]);
    actr_lane_unref(lane);
  }
  if (!busy && rc == ACTR_OK)
    return; /* signal_on_close ends it */
  g_mutex_lock(&srv->mu);
  if (g_hash_table_lookup(srv->by_conn, conn) == s)
    g_hash_table_remove(srv->by_conn, conn);
  g_cond_broadcast(&srv->cond);
  g_mutex_unlock(&srv->mu);
  say_refused(srv, why, rc);
  actr_ws_conn_close_with(conn, busy ? 1013 : 1011, why);
  session_free(s);
}

static void signal_on_message(actr_ws_conn_t *conn, bool text, const uint8_t *data, size_t len,
                              void *user) {
  tool_rtc_server_t *srv = user;
  g_mutex_lock(&srv->mu);
  rtc_session_t *s = g_hash_table_lookup(srv->by_conn, conn);
  g_mutex_unlock(&srv->mu);
  if (s) /* it lives until signal_on_close, which runs on this thread too */
    actr_signaling_ws_feed(s->wsig, text, data, len);
}

static void signal_on_close(actr_ws_conn_t *conn, int code, const char *reason, void *user) {
  tool_rtc_server_t *srv = user;
  (void)code;
  (void)reason;
  g_mutex_lock(&srv->mu);
  rtc_session_t *s = g_hash_table_lookup(srv->by_conn, conn);
  if (s)
    g_hash_table_remove(srv->by_conn, conn);
  g_mutex_unlock(&srv->mu);
  if (s)
    session_free(s); /* before stop hears the table is empty */
  g_mutex_lock(&srv->mu);
  g_cond_broadcast(&srv->cond);
  g_mutex_unlock(&srv->mu);
}

static const actr_ws_message_ops_t signal_ops = {signal_on_open, signal_on_message, signal_on_close};

int tool_rtc_serve_start(actr_runtime_t *rt, actr_ws_server_t *ws, const char *const *ice,
                         size_t nice, int peer_timeout_ms, int connect_timeout_ms,
                         tool_rtc_server_t **out) {
  tool_rtc_server_t *srv = g_new0(tool_rtc_server_t, 1);
  srv->rt = rt;
  srv->peer_timeout_ms = peer_timeout_ms;
  srv->connect_timeout_ms = connect_timeout_ms;
  srv->ice = ice;
  srv->nice = nice;
  g_mutex_init(&srv->mu);
  g_cond_init(&srv->cond);
  srv->by_conn = g_hash_table_new(g_direct_hash, g_direct_equal);
  int rc = actr_ws_server_add_message_path(ws, "/signal", &signal_ops, srv,
                                        ACTR_SIGNALING_MAX_JSON);
  if (rc != ACTR_OK) {
    tool_rtc_serve_stop(srv);
    return rc;
  }
  *out = srv;
  return ACTR_OK;
}

void tool_rtc_serve_stop(tool_rtc_server_t *srv) {
  if (!srv)
    return;
  g_mutex_lock(&srv->mu);
  srv->stopping = true;
  GHashTableIter it;
  gpointer conn;
  g_hash_table_iter_init(&it, srv->by_conn);
  while (g_hash_table_iter_next(&it, &conn, NULL))
    actr_ws_conn_close(conn); /* signal_on_close ends each session */
  while (g_hash_table_size(srv->by_conn))
    g_cond_wait(&srv->cond, &srv->mu);
  unsigned unsaid = srv->refused_unsaid;
  g_mutex_unlock(&srv->mu);
  if (unsaid)
    fprintf(stderr, "actr-lane serve: %u more /signal sessions refused\n", unsaid);
  g_hash_table_destroy(srv->by_conn);
  g_mutex_clear(&srv->mu);
  g_cond_clear(&srv->cond);
  g_free(srv);
}

/* ---- client: send --lane rtc ---- */

typedef struct client {
  actr_signaling_ws_t *wsig;
} client_t;

static void client_on_message(actr_ws_conn_t *conn, bool text, const uint8_t *data, size_t len,
                              void *user) {
  client_t *c = user;
  (void)conn;
  actr_signaling_ws_feed(c->wsig, text, data, len);
}

/* A signaling connection that closes early shows up as the link failing to
 * connect (actr_webrtc_link_wait_connected's time limit); nothing else waits on it. */
static const actr_ws_message_ops_t client_ops = {NULL, client_on_message, NULL};

/* signal_url: @url with its path replaced by /signal (transfer full). */
static char *signal_url(const char *url) {
  const char *scheme_end = strstr(url, "://");
  const char *host = scheme_end ? scheme_end + 3 : url;
  const char *path = strchr(host, '/');
  size_t base = path ? (size_t)(path - url) : strlen(url);
  return g_strdup_printf("%.*s/signal", (int)base, url);
}

int tool_send_rtc(const char *url, actr_payload_type_t type, size_t size, uint32_t count,
                  const actr_ws_config_t *wcfg, const char *const *ice, size_t nice,
                  int peer_timeout_ms) {
  actr_runtime_t *rt = NULL;
  actr_signaling_t *sig = NULL;
  actr_ws_conn_t *conn = NULL;
  actr_webrtc_link_t *link = NULL;
  actr_lane_t *lane = NULL;
  client_t c = {0};
  char *surl = signal_url(url);
  int exit_code = 1;
  int rc = actr_runtime_new(&rt);
  if (rc == ACTR_OK)
    rc = actr_signaling_ws_new(false, &sig, &c.wsig);
  if (rc == ACTR_OK)
    rc = actr_ws_connect_messages(rt, surl, wcfg, &client_ops, &c, &conn);
  if (rc == ACTR_OK) {
    actr_signaling_ws_attach(c.wsig, conn);
    actr_webrtc_link_config_t cfg = link_config(ice, nice, peer_timeout_ms);
    rc = actr_webrtc_link_new(rt, &cfg, sig, true, &link);
  }
  if (rc == ACTR_OK)
    rc = actr_webrtc_link_lane(link, type, &lane); /* opens the channel */
  if (rc == ACTR_OK)
    rc = actr_webrtc_link_wait_connected(link, 15000);
  if (rc != ACTR_OK)
    fprintf(stderr, "actr-lane send: %s: %s\n", actr_err_name(rc), actr_err_detail());
  else
    exit_code = tool_send_and_check(lane, "WebRtcDataChannel", type, size, count);
  actr_lane_unref(lane);
  actr_webrtc_link_free(link);
  if (conn) {
    actr_ws_conn_close(conn);
    actr_ws_conn_unref(conn);
  }
  actr_signaling_free(sig);
  if (rt)
    actr_runtime_unref(rt);
  g_free(surl);
  return exit_code;
}
