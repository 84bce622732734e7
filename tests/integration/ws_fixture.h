/* ws_fixture.h — what the WebSocket integration tests share: a runtime, a
 * server on 127.0.0.1 (any port) whose accepted connections queue up for the
 * test thread, a client connected to it, test certificates made with
 * certtool, and a byte pattern. */
#ifndef ACTR_WS_FIXTURE_H
#define ACTR_WS_FIXTURE_H

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include <actr/error.h>
#include <actr/websocket.h>

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")
#define ASSERT_RC(expr, name) g_assert_cmpstr(actr_err_name(expr), ==, name)

typedef struct ws_fix {
  actr_runtime_t *rt;
  actr_ws_server_t *srv;
  GAsyncQueue *accepted; /* actr_ws_conn_t * */
  char url[96];
} ws_fix_t;

static void fix_on_accept(actr_ws_conn_t *conn, const char *path, void *user) {
  g_async_queue_push(((ws_fix_t *)user)->accepted, conn);
}

static inline void fix_start(ws_fix_t *f, const actr_ws_config_t *server_cfg) {
  memset(f, 0, sizeof *f);
  ASSERT_OK(actr_runtime_new(&f->rt));
  f->accepted = g_async_queue_new();
  ASSERT_OK(actr_ws_server_new(f->rt, "127.0.0.1", 0, server_cfg, fix_on_accept, f, &f->srv));
  snprintf(f->url, sizeof f->url, "%s://127.0.0.1:%u/lane",
           actr_ws_server_is_tls(f->srv) ? "wss" : "ws", actr_ws_server_port(f->srv));
}

/* fix_accepted: the next connection the server accepted (10 s at most). */
static inline actr_ws_conn_t *fix_accepted(ws_fix_t *f) {
  actr_ws_conn_t *c = g_async_queue_timeout_pop(f->accepted, 10 * G_USEC_PER_SEC);
  g_assert_nonnull(c);
  return c;
}

/* fix_pair: a client connection and the server's side of it. */
static inline void fix_pair(ws_fix_t *f, const actr_ws_config_t *client_cfg,
                            actr_ws_conn_t **client, actr_ws_conn_t **server) {
  ASSERT_OK(actr_ws_connect(f->rt, f->url, client_cfg, client));
  *server = fix_accepted(f);
}

static inline void fix_stop(ws_fix_t *f) {
  actr_ws_server_free(f->srv);
  actr_ws_conn_t *c;
  while ((c = g_async_queue_try_pop(f->accepted)))
    actr_ws_conn_unref(c);
  g_async_queue_unref(f->accepted);
  actr_runtime_unref(f->rt);
}

static inline uint8_t *fix_pattern(size_t len, uint32_t seed) {
  uint8_t *b = g_malloc(len ? len : 1);
  for (size_t i = 0; i < len; i++)
    b[i] = (uint8_t)((i * 131u + seed * 17u) ^ (i >> 10) ^ (seed >> 3));
  return b;
}

static inline void fix_check(actr_msg_t *m, size_t len, uint32_t seed) {
  g_assert_nonnull(m);
  uint8_t *want = fix_pattern(len, seed);
  g_assert_cmpmem(actr_msg_data(m), actr_msg_len(m), want, len);
  g_free(want);
  actr_msg_free(m);
}

/* fix_make_certs: a CA and a server certificate for 127.0.0.1 / localhost
 * signed by it, made with certtool in a fresh temporary directory (returned,
 * transfer full; remove with fix_remove_dir).  NULL when certtool is missing. */
static inline bool fix_run(const char *dir, const char *cmd) {
  gchar *full = g_strdup_printf("sh -c 'cd %s && %s'", dir, cmd);
  gint status = -1;
  gchar *out = NULL, *err = NULL;
  gboolean ok = g_spawn_command_line_sync(full, &out, &err, &status, NULL);
  if (!ok || !g_spawn_check_wait_status(status, NULL))
    g_printerr("%s failed: %s\n", cmd, err ? err : "");
  g_free(full);
  g_free(out);
  g_free(err);
  return ok && g_spawn_check_wait_status(status, NULL);
}

static inline char *fix_make_certs(void) {
  gchar *certtool = g_find_program_in_path("certtool");
  if (!certtool)
    return NULL;
  g_free(certtool);
  char *dir = g_dir_make_tmp("actr-ws-tls-XXXXXX", NULL);
  g_assert_nonnull(dir);
  gchar *p = g_build_filename(dir, "ca.tmpl", NULL);
  g_file_set_contents(p, "cn = \"actr test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n", -1, NULL);
  g_free(p);
  p = g_build_filename(dir, "srv.tmpl", NULL);
  g_file_set_contents(p,
                      "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
                      "tls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n",
                      -1, NULL);
  g_free(p);
  bool ok = fix_run(dir, "certtool --generate-privkey --key-type=ecdsa --outfile ca.key 2>/dev/null") &&
            fix_run(dir, "certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem 2>/dev/null") &&
            fix_run(dir, "certtool --generate-privkey --key-type=ecdsa --outfile srv.key 2>/dev/null") &&
            fix_run(dir, "certtool --generate-certificate --load-privkey srv.key --load-ca-certificate ca.pem "
                         "--load-ca-privkey ca.key --template srv.tmpl --outfile srv.pem 2>/dev/null");
  g_assert_true(ok);
  return dir;
}

static inline void fix_remove_dir(char *dir) {
  if (!dir)
    return;
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    gchar *p = g_build_filename(dir, name, NULL);
    g_unlink(p);
    g_free(p);
  }
  if (d)
    g_dir_close(d);
  g_rmdir(dir);
  g_free(dir);
}

#endif
