/* websocket.c — WebSocket lanes (actr/websocket.h): a server and a client
 * in one process, on 127.0.0.1 with a port the system picks.
 *
 * One WebSocket connection carries every traffic class; a lane per
 * PayloadType is made on demand over it.  The client sends a message on its
 * STREAM_RELIABLE lane, the server echoes it back on its own, and both sides
 * shut down cleanly (close handshake, then release).
 *
 * Build (installed library):  cc websocket.c $(pkg-config --cflags --libs actr)
 * Run: ./a.out  — prints what it does, exits 0 on success. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <actr/actr.h>

#define check(call)                                                               \
  do {                                                                            \
    int rc_ = (call);                                                             \
    if (rc_ != ACTR_OK) {                                                         \
      fprintf(stderr, "websocket: %s failed: %s (%s)\n", #call, actr_err_name(rc_), \
              actr_err_detail());                                                 \
      return 1;                                                                   \
    }                                                                             \
  } while (0)

/* The server's accept callback runs on the runtime's I/O thread and must not
 * block: it only hands the new connection to the main thread. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static actr_ws_conn_t *accepted; /* under mu */

static void on_accept(actr_ws_conn_t *conn, const char *path, void *user) {
  (void)user;
  printf("server: accepted a connection on %s\n", path);
  pthread_mutex_lock(&mu);
  if (accepted == NULL)
    accepted = conn; /* (transfer full): main releases it */
  else
    actr_ws_conn_unref(conn); /* one client is all this example expects */
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&mu);
}

/* wait_accepted: the server side of the connection, or NULL after 5 s. */
static actr_ws_conn_t *wait_accepted(void) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  pthread_mutex_lock(&mu);
  while (accepted == NULL && pthread_cond_timedwait(&cond, &mu, &until) == 0)
    ;
  actr_ws_conn_t *conn = accepted;
  pthread_mutex_unlock(&mu);
  return conn;
}

int main(void) {
  /* 1. A runtime: the I/O thread that owns every socket made on it. */
  actr_runtime_t *rt = NULL;
  check(actr_runtime_new(&rt));

  /* 2. A server on 127.0.0.1, port 0 = any free port (NULL config =
   *    defaults).  Every path serves actr lane connections. */
  actr_ws_server_t *srv = NULL;
  check(actr_ws_server_new(rt, "127.0.0.1", 0, NULL, on_accept, NULL, &srv));
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%u/lane", (unsigned)actr_ws_server_port(srv));
  printf("server: listening on %s\n", url);

  /* 3. The client connects; this blocks until the upgrade is done. */
  actr_ws_conn_t *client = NULL;
  check(actr_ws_connect(rt, url, NULL, &client));
  printf("client: connected\n");
  actr_ws_conn_t *server_side = wait_accepted();
  if (server_side == NULL) {
    fprintf(stderr, "websocket: the server never accepted\n");
    return 1;
  }

  /* 4. One lane per traffic class on each side of the connection. */
  actr_lane_t *client_lane = NULL, *server_lane = NULL;
  check(actr_ws_conn_lane(client, ACTR_PAYLOAD_STREAM_RELIABLE, &client_lane));
  check(actr_ws_conn_lane(server_side, ACTR_PAYLOAD_STREAM_RELIABLE, &server_lane));

  /* 5. Client -> server: send copies the bytes; recv waits up to 5 s and
   *    hands us an actr_msg_t we must free. */
  const char hello[] = "hello over WebSocket";
  check(actr_lane_send(client_lane, hello, sizeof hello));
  actr_msg_t *msg = NULL;
  check(actr_lane_recv(server_lane, 5000, &msg));
  printf("server: received %zu bytes: \"%s\"\n", actr_msg_len(msg),
         (const char *)actr_msg_data(msg));

  /* 6. Server -> client: echo it back on the same traffic class. */
  int rc = actr_lane_send(server_lane, actr_msg_data(msg), actr_msg_len(msg));
  actr_msg_free(msg);
  check(rc);
  check(actr_lane_recv(client_lane, 5000, &msg));
  int same = actr_msg_len(msg) == sizeof hello && memcmp(actr_msg_data(msg), hello, sizeof hello) == 0;
  printf("client: echo %s\n", same ? "matches" : "DIFFERS");
  actr_msg_free(msg);

  /* 7. Shut down: the client starts the close handshake; the server side
   *    then sees the connection closed (recv returns the closed code). */
  actr_ws_conn_close(client);
  rc = actr_lane_recv(server_lane, 5000, &msg);
  printf("server: recv after the client closed: %s\n", actr_err_name(rc));
  if (rc == ACTR_OK)
    actr_msg_free(msg);

  /* 8. Release lanes and connections, then the server, then the runtime
   *    (it must outlive everything made on it). */
  actr_lane_unref(client_lane);
  actr_lane_unref(server_lane);
  actr_ws_conn_unref(client);
  actr_ws_conn_unref(server_side);
  actr_ws_server_free(srv);
  actr_runtime_unref(rt);

  int ok = same && rc == ACTR_EWEBSOCKET_CLOSED;
  printf(ok ? "websocket: OK\n" : "websocket: FAILED\n");
  return ok ? 0 : 1;
}
