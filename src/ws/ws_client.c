/* ws_client.c — actr_ws_connect: TCP through GSocketClient, TLS through
 * GTlsClientConnection (glib-networking), then our upgrade request.  The
 * caller waits on a condition variable for the one outcome the I/O thread
 * reports (success, failure, or the connect timer); no polling. */
#include <string.h>

#include "error_internal.h"
#include "runtime_internal.h"
#include "ws_dial.h"
#include "ws_http.h"
#include "ws_internal.h"

typedef struct start {
  actr_ws_conn_t *conn;
  actr__ws_url_t url;
  GTlsDatabase *db; /* NULL: the system store */
  bool insecure;
} start_t;

static void start_free(start_t *st) {
  actr__ws_url_clear(&st->url);
  g_clear_object(&st->db);
  actr_ws_conn_t *c = st->conn;
  g_free(st);
  actr__ws_conn_unref_internal(c); /* the async step's reference */
}

static gboolean accept_any_certificate(GTlsConnection *conn, GTlsCertificate *cert,
                                       GTlsCertificateFlags errors, gpointer user) {
  return TRUE; /* cfg->tls_insecure: an explicit opt-out for tests */
}

static void on_tls_done(GObject *src, GAsyncResult *res, gpointer p) {
  start_t *st = p;
  actr_ws_conn_t *c = st->conn;
  GError *err = NULL;
  gboolean ok = g_tls_connection_handshake_finish(G_TLS_CONNECTION(src), res, &err);
  if (atomic_load(&c->state) == WS_CLOSED) {
    g_clear_error(&err);
  } else if (!ok) {
    char *why = g_strdup_printf("TLS handshake with %s:%u failed: %s", st->url.host, st->url.port,
                                err->message);
    g_clear_error(&err);
    actr__ws_conn_teardown(c, ACTR_ECONNECTION, why);
    g_free(why);
  } else {
    actr__ws_conn_begin_io(c, c->stream, c->sock, true);
  }
  start_free(st);
}

static void on_connected(GObject *src, GAsyncResult *res, gpointer p) {
  start_t *st = p;
  actr_ws_conn_t *c = st->conn;
  GError *err = NULL;
  GSocketConnection *sc = g_socket_client_connect_finish(G_SOCKET_CLIENT(src), res, &err);
  if (atomic_load(&c->state) == WS_CLOSED) {
    g_clear_error(&err);
    g_clear_object(&sc);
    start_free(st);
    return;
  }
  if (!sc) {
    char *why = g_strdup_printf("cannot connect to %s:%u: %s", st->url.host, st->url.port,
                                err->message);
    int code = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? ACTR_ETIMEOUT
                                                                      : ACTR_ECONNECTION;
    g_clear_error(&err);
    actr__ws_conn_teardown(c, code, why);
    g_free(why);
    start_free(st);
    return;
  }
  GSocket *sock = g_object_ref(g_socket_connection_get_socket(sc));
  if (!st->url.tls) {
    actr__ws_conn_begin_io(c, G_IO_STREAM(sc), sock, false);
    start_free(st);
    return;
  }
  GSocketConnectable *id = g_network_address_new(st->url.host, st->url.port);
  GIOStream *tls = g_tls_client_connection_new(G_IO_STREAM(sc), id, &err);
  g_object_unref(id);
  g_object_unref(sc); /* the TLS connection holds the base stream */
  c->sock = sock;
  if (!tls) {
    char *why = g_strdup_printf("TLS: %s", err->message);
    g_clear_error(&err);
    actr__ws_conn_teardown(c, ACTR_ECONFIGURATION, why);
    g_free(why);
    start_free(st);
    return;
  }
  c->stream = tls;
  if (st->db)
    g_tls_connection_set_database(G_TLS_CONNECTION(tls), st->db);
  if (st->insecure)
    g_signal_connect(tls, "accept-certificate", G_CALLBACK(accept_any_certificate), NULL);
  g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT, c->cancel,
                                   on_tls_done, st);
}

static void start_on_io(void *p) {
  start_t *st = p;
  actr_ws_conn_t *c = st->conn;
  c->cancel = g_cancellable_new();
  actr__ws_conn_arm_handshake_timer(c);
  GSocketClient *client = g_socket_client_new();
  GSocketConnectable *addr = g_network_address_new(st->url.host, st->url.port);
  g_socket_client_connect_async(client, addr, c->cancel, on_connected, st);
  g_object_unref(addr);
  g_object_unref(client);
}

static bool header_safe(const char *v) {
  for (const char *p = v; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7F)
      return false;
  return strlen(v) <= ACTR__WS_HTTP_MAX_ACTR_HEADER;
}

/* connect_common: dial @url; with @done, return at once (actr__ws_dial),
 * else wait for the handshake's outcome. */
static int connect_common(actr_runtime_t *rt, const char *url, const actr_ws_config_t *cfg,
                          const actr_ws_message_ops_t *raw, void *user, actr__ws_dial_fn done,
                          void *done_user, actr_ws_conn_t **out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (!rt || !url)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "runtime or url is NULL");
  if (actr_runtime_is_io_thread(rt))
    return actr__fail(ACTR_EINVALID_OPERATION, "actr_ws_connect blocks: not on the I/O thread");
  if (cfg && ((cfg->source_id && !header_safe(cfg->source_id)) ||
              (cfg->credential && !header_safe(cfg->credential))))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "X-Actr header value with control characters or too long");
  start_t *st = g_new0(start_t, 1);
  int rc = actr__ws_url_parse(url, &st->url);
  if (rc != ACTR_OK) {
    g_free(st);
    return rc;
  }
  if (st->url.tls) {
    if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
      actr__ws_url_clear(&st->url);
      g_free(st);
      return actr__fail(ACTR_ECONFIGURATION, "no TLS backend (install glib-networking)");
    }
    if (cfg && cfg->ca_file) {
      GError *err = NULL;
      st->db = g_tls_file_database_new(cfg->ca_file, &err);
      if (!st->db) {
        rc = actr__fail(ACTR_ECONFIGURATION, "CA file %s: %s", cfg->ca_file, err->message);
        g_error_free(err);
        actr__ws_url_clear(&st->url);
        g_free(st);
        return rc;
      }
    }
    st->insecure = cfg && cfg->tls_insecure;
  }
  actr_ws_conn_t *c = actr__ws_conn_new(rt, false, cfg);
  c->path = g_strndup(st->url.target, strcspn(st->url.target, "?"));
  if (raw) {
    c->raw = true;
    c->raw_ops = raw;
    c->raw_user = user;
  }
  actr__ws_new_key(c->key);
  c->request = actr__ws_http_request(st->url.host_header, st->url.target, c->key, c->source_id,
                                     c->credential);
  actr__ws_conn_add_handle(c);
  c->io_done = false;
  actr__ws_conn_ref_internal(c); /* the I/O side, released by teardown */
  actr__ws_conn_ref_internal(c); /* the async steps (start_free) */
  st->conn = c;
  c->dial_done = done;
  c->dial_user = done_user;
  actr_runtime_invoke(rt, start_on_io, st);
  if (done) {
    *out = c;
    return ACTR_OK;
  }
  g_mutex_lock(&c->done_mu);
  while (!c->handshake_done)
    g_cond_wait(&c->done_cond, &c->done_mu);
  int code = c->fail_code;
  char *detail = g_strdup(c->fail_detail);
  g_mutex_unlock(&c->done_mu);
  if (code != ACTR_OK) {
    rc = actr__fail(code, "%s: %s", url, detail ? detail : actr_err_message(code));
    g_free(detail);
    actr_ws_conn_unref(c);
    return rc;
  }
  g_free(detail);
  *out = c;
  return ACTR_OK;
}

int actr_ws_connect(actr_runtime_t *rt, const char *url, const actr_ws_config_t *cfg,
                    actr_ws_conn_t **out) {
  return connect_common(rt, url, cfg, NULL, NULL, NULL, NULL, out);
}

int actr_ws_connect_messages(actr_runtime_t *rt, const char *url, const actr_ws_config_t *cfg,
                         const actr_ws_message_ops_t *ops, void *user, actr_ws_conn_t **out) {
  if (!ops)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "ops is NULL");
  return connect_common(rt, url, cfg, ops, user, NULL, NULL, out);
}

int actr__ws_dial(actr_runtime_t *rt, const char *url, const actr_ws_config_t *cfg,
                  actr__ws_dial_fn done, void *user, actr_ws_conn_t **out) {
  if (!done)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "done is NULL");
  return connect_common(rt, url, cfg, NULL, NULL, done, user, out);
}

void actr__ws_conn_dial_report(actr_ws_conn_t *c) {
  g_mutex_lock(&c->done_mu);
  actr__ws_dial_fn fn = c->dial_done;
  c->dial_done = NULL; /* once */
  c->dial_running = fn != NULL;
  int code = c->fail_code;
  char *detail = fn ? g_strdup(c->fail_detail) : NULL;
  g_mutex_unlock(&c->done_mu);
  if (!fn)
    return; /* a blocking connect, or forgotten */
  fn(c, code, detail, c->dial_user);
  g_free(detail);
  g_mutex_lock(&c->done_mu);
  c->dial_running = false;
  g_cond_broadcast(&c->done_cond);
  g_mutex_unlock(&c->done_mu);
}

void actr__ws_dial_forget(actr_ws_conn_t *c) {
  if (!c)
    return;
  g_mutex_lock(&c->done_mu);
  c->dial_done = NULL;
  while (c->dial_running)
    g_cond_wait(&c->done_cond, &c->done_mu);
  g_mutex_unlock(&c->done_mu);
}
