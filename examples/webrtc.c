/* webrtc.c — DataChannel lanes over WebRTC (actr/webrtc_link.h), signaled
 * through a WebSocket endpoint (actr/signaling_ws.h), server and client in
 * one process on 127.0.0.1.
 *
 * The server serves /signal in "message mode": each connection there gets a
 * signaling endpoint and an answering link.  The client connects to /signal,
 * makes its own endpoint and an offering link; offer, answer and ICE
 * candidates go through the WebSocket as JSON; then the lanes run over
 * DTLS/SCTP data channels, one per traffic class.  ICE is restricted to
 * 127.0.0.1 (run it in a namespace with only `lo`, as the tests do).
 *
 * Build (installed library):  cc webrtc.c $(pkg-config --cflags --libs actr)
 * Run: ./a.out  — prints what it does, exits 0 on success. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <actr/actr.h>

#define check(call)                                                            \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_ != ACTR_OK) {                                                      \
      fprintf(stderr, "webrtc: %s failed: %s (%s)\n", #call, actr_err_name(rc_), \
              actr_err_detail());                                              \
      return 1;                                                                \
    }                                                                          \
  } while (0)

static const char *const loopback[] = {"127.0.0.1"};

/* link_config: defaults, with ICE gathering on 127.0.0.1 only. */
static actr_webrtc_link_config_t link_config(void) {
  actr_webrtc_link_config_t cfg;
  actr_webrtc_link_config_init(&cfg);
  cfg.webrtc.local_addresses = loopback;
  cfg.webrtc.local_address_count = 1;
  return cfg;
}

/* ---- server side: one /signal session, made by its callbacks ----
 * The callbacks run on the runtime's I/O thread and must not block; they
 * hand the session to the main thread under `mu`. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct {
  actr_runtime_t *rt;
  actr_ws_conn_t *conn;      /* our handle to the /signal connection */
  actr_signaling_t *sig;     /* the endpoint the link talks through */
  actr_signaling_ws_t *wsig; /* its WebSocket side, fed by on_message */
  actr_webrtc_link_t *link;     /* the answering link */
  int rc;                    /* how starting the session went */
  int ready, closed;
} server;

static void server_on_open(actr_ws_conn_t *conn, void *user) {
  (void)user;
  actr_webrtc_link_config_t cfg = link_config();
  /* strict: a peer that breaks the protocol gets an error and is closed. */
  int rc = actr_signaling_ws_new(true, &server.sig, &server.wsig);
  if (rc == ACTR_OK) {
    actr_signaling_ws_attach(server.wsig, conn);
    rc = actr_webrtc_link_new(server.rt, &cfg, server.sig, false /* answer */, &server.link);
  }
  pthread_mutex_lock(&mu);
  server.conn = conn; /* (transfer full) */
  server.rc = rc;
  server.ready = 1;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&mu);
}

static void server_on_message(actr_ws_conn_t *conn, bool text, const uint8_t *data, size_t len,
                              void *user) {
  (void)conn, (void)user;
  if (server.wsig) /* set in on_open, which ran before on this thread */
    actr_signaling_ws_feed(server.wsig, text, data, len);
}

static void server_on_close(actr_ws_conn_t *conn, int code, const char *reason, void *user) {
  (void)conn, (void)reason, (void)user;
  printf("server: /signal closed (%d)\n", code);
  pthread_mutex_lock(&mu);
  server.closed = 1; /* the last callback for this connection */
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&mu);
}

static const actr_ws_message_ops_t server_ops = {server_on_open, server_on_message,
                                                  server_on_close};

/* wait_for: wait (5 s at most) until *flag is set under mu. */
static int wait_for(int *flag) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  pthread_mutex_lock(&mu);
  while (!*flag && pthread_cond_timedwait(&cond, &mu, &until) == 0)
    ;
  int set = *flag;
  pthread_mutex_unlock(&mu);
  return set;
}

/* ---- client side: what /signal sends us goes to our endpoint ---- */
static void client_on_message(actr_ws_conn_t *conn, bool text, const uint8_t *data, size_t len,
                              void *user) {
  (void)conn;
  actr_signaling_ws_feed(user, text, data, len);
}
static const actr_ws_message_ops_t client_ops = {NULL, client_on_message, NULL};

int main(void) {
  /* 1. The runtime and a WebSocket server whose /signal path is ours (no
   *    lane paths here: accept callback NULL). */
  check(actr_runtime_new(&server.rt));
  actr_ws_server_t *srv = NULL;
  check(actr_ws_server_new(server.rt, "127.0.0.1", 0, NULL, NULL, NULL, &srv));
  check(actr_ws_server_add_message_path(srv, "/signal", &server_ops, NULL, ACTR_SIGNALING_MAX_JSON));
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%u/signal", (unsigned)actr_ws_server_port(srv));
  printf("server: signaling on %s\n", url);

  /* 2. The client: an endpoint (lenient), the /signal connection feeding
   *    it, and an offering link over it. */
  actr_signaling_t *sig = NULL;
  actr_signaling_ws_t *wsig = NULL;
  check(actr_signaling_ws_new(false, &sig, &wsig));
  actr_ws_conn_t *conn = NULL;
  check(actr_ws_connect_messages(server.rt, url, NULL, &client_ops, wsig, &conn));
  actr_signaling_ws_attach(wsig, conn);
  actr_webrtc_link_config_t cfg = link_config();
  actr_webrtc_link_t *link = NULL;
  check(actr_webrtc_link_new(server.rt, &cfg, sig, true /* offer */, &link));
  if (!wait_for(&server.ready) || server.rc != ACTR_OK) {
    fprintf(stderr, "webrtc: the server session did not start\n");
    return 1;
  }

  /* 3. The offerer opens the channel of a lane when it asks for it; the
   *    answerer's lane binds to the channel of the same label. */
  actr_lane_t *lane = NULL, *server_lane = NULL;
  check(actr_webrtc_link_lane(link, ACTR_PAYLOAD_RPC_RELIABLE, &lane));
  check(actr_webrtc_link_wait_connected(link, 15000));
  printf("client: peer connection up (ICE, DTLS, SCTP)\n");
  check(actr_webrtc_link_lane(server.link, ACTR_PAYLOAD_RPC_RELIABLE, &server_lane));

  /* 4. A message of 200 000 bytes: sent as fragments of at most 64 KiB,
   *    reassembled whole on the other side. */
  size_t size = 200000;
  unsigned char *buf = malloc(size);
  if (!buf)
    return 1;
  for (size_t i = 0; i < size; i++)
    buf[i] = (unsigned char)(i * 7);
  check(actr_lane_send(lane, buf, size));
  actr_msg_t *msg = NULL;
  check(actr_lane_recv(server_lane, 10000, &msg));
  printf("server: received %zu bytes on %s\n", actr_msg_len(msg), actr_lane_type(server_lane));

  /* 5. The server echoes it; the client checks it byte for byte. */
  int rc = actr_lane_send(server_lane, actr_msg_data(msg), actr_msg_len(msg));
  actr_msg_free(msg);
  check(rc);
  check(actr_lane_recv(lane, 10000, &msg));
  int same = actr_msg_len(msg) == size && memcmp(actr_msg_data(msg), buf, size) == 0;
  printf("client: echo %s\n", same ? "matches" : "DIFFERS");
  actr_msg_free(msg);
  free(buf);

  /* 6. Shut down the client: lanes, link (closes the peer connection),
   *    the /signal connection, the endpoint. */
  actr_lane_unref(lane);
  actr_webrtc_link_free(link);
  actr_ws_conn_close(conn);
  actr_ws_conn_unref(conn);
  actr_signaling_free(sig);

  /* 7. The server sees /signal close (no callback after that), then
   *    releases its session the same way. */
  int closed = wait_for(&server.closed);
  actr_lane_unref(server_lane);
  actr_webrtc_link_free(server.link);
  actr_signaling_free(server.sig); /* also drops its handle on the connection */
  actr_ws_conn_unref(server.conn);
  actr_ws_server_free(srv);
  actr_runtime_unref(server.rt);

  int ok = same && closed;
  printf(ok ? "webrtc: OK\n" : "webrtc: FAILED\n");
  return ok ? 0 : 1;
}
