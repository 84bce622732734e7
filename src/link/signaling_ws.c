/* signaling_ws.c — signaling endpoint over a raw-mode WebSocket connection:
 * each signaling message is one JSON text message (SPEC §5). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error_internal.h"
#include "ws_internal.h"
#include <actr/signaling_ws.h>

struct actr_ws_signaling {
  pthread_mutex_t mu;
  actr_ws_conn_t *conn;
  actr_signaling_t *sig;
  bool strict_peer;
};

static int ws_sig_send(void *p, const actr_signaling_msg_t *msg) {
  actr_signaling_ws_t *w = p;
  char *json;
  int rc = actr_signaling_msg_to_json(msg, &json);
  if (rc != ACTR_OK)
    return rc;
  pthread_mutex_lock(&w->mu);
  actr_ws_conn_t *conn = w->conn ? actr_ws_conn_ref(w->conn) : NULL;
  pthread_mutex_unlock(&w->mu);
  if (!conn)
    rc = actr__fail(ACTR_ESIGNALING, "signaling connection not open");
  else /* never blocks: callers include the I/O thread (ICE candidates) */
    rc = actr_ws_conn_send_message(conn, true, json, strlen(json), 0);
  free(json);
  actr_ws_conn_unref(conn);
  return rc;
}

static void ws_sig_close(void *p) {
  actr_signaling_ws_t *w = p;
  pthread_mutex_lock(&w->mu);
  actr_ws_conn_t *conn = w->conn;
  w->conn = NULL;
  pthread_mutex_unlock(&w->mu);
  actr_ws_conn_unref(conn);
}

static void ws_sig_free(void *p) {
  actr_signaling_ws_t *w = p;
  pthread_mutex_destroy(&w->mu);
  free(w);
}

static const actr_signaling_ops_t ws_sig_ops = {ws_sig_send, ws_sig_close, ws_sig_free};

int actr_signaling_ws_new(bool strict_peer, actr_signaling_t **sig, actr_signaling_ws_t **impl) {
  actr_signaling_ws_t *w = calloc(1, sizeof *w);
  if (!w)
    return actr__fail(ACTR_ENO_MEMORY, "WebSocket signaling");
  pthread_mutex_init(&w->mu, NULL);
  w->strict_peer = strict_peer;
  int rc = actr_signaling_new(&ws_sig_ops, w, &w->sig);
  if (rc != ACTR_OK) {
    ws_sig_free(w);
    return rc;
  }
  *sig = w->sig;
  *impl = w;
  return ACTR_OK;
}

void actr_signaling_ws_attach(actr_signaling_ws_t *w, actr_ws_conn_t *conn) {
  pthread_mutex_lock(&w->mu);
  w->conn = actr_ws_conn_ref(conn);
  pthread_mutex_unlock(&w->mu);
}

void actr_signaling_ws_feed(actr_signaling_ws_t *w, bool text, const uint8_t *data, size_t len) {
  actr_signaling_msg_t msg;
  int rc = text ? actr_signaling_msg_parse((const char *)data, len, &msg)
                : actr__fail(ACTR_ESIGNALING, "signaling: binary message (JSON text expected)");
  if (rc == ACTR_OK) {
    actr_signaling_deliver(w->sig, &msg);
    actr_signaling_msg_clear(&msg);
    return;
  }
  ACTR__LOG_PEER(ACTR_LOG_WARN, "signaling: %s", actr_err_detail());
  if (!w->strict_peer)
    return;
  /* SPEC §5: anything that does not fit gets an error message, then the
   * connection is closed; the server itself keeps running. */
  actr_signaling_msg_t err = {.kind = ACTR_SIGNALING_ERROR, .message = (char *)actr_err_detail(),
                           .sdp_mline_index = -1};
  ws_sig_send(w, &err);
  pthread_mutex_lock(&w->mu);
  actr_ws_conn_t *conn = w->conn ? actr_ws_conn_ref(w->conn) : NULL;
  pthread_mutex_unlock(&w->mu);
  if (conn) {
    actr_ws_conn_close_with(conn, 1008, "bad signaling message");
    actr_ws_conn_unref(conn);
  }
}
