/* ws_server.c — the listening side: a listening socket accepted from on the
 * I/O thread (our own loop: out of file descriptors it pauses and sheds,
 * where GSocketService would spin and warn per try), TLS
 * through GTlsServerConnection, our upgrade handshake (ws_conn.c), then the
 * path decides: a raw path's handler, or a lane connection handed to the
 * accept callback.  Handshakes in progress are tracked so close can abort
 * them; accepted connections belong to the callback. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr_key.h"
#include "bounds.h"
#include "error_internal.h"
#include "runtime_internal.h"
#include "ws_http.h"
#include "ws_internal.h"

typedef struct raw_path {
  char *path;
  const actr_ws_message_ops_t *ops;
  void *user;
  uint64_t max_message_bytes;
} raw_path_t;

struct actr_ws_server {
  atomic_int refs; /* the user's (internal holders, if any, add theirs) */
  GCond orphans_cond; /* with mu */
  unsigned orphans;   /* connections made and not yet handed out or freed */
  actr_runtime_t *rt;
  actr_ws_config_t cfg; /* strings owned */
  char *host;
  uint16_t port;
  GTlsCertificate *cert;
  actr_ws_accept_fn on_accept;
  actr_ws_check_fn check; /* under mu */
  void *check_user;
  void *user;
  GMutex mu; /* raw_paths */
  GPtrArray *raw_paths;
  /* counters: connections open (each holds a server reference until its
   * I/O side lets go of the socket), refusals */
  atomic_uint live;
  atomic_uint_fast64_t accepted, refused_busy, refused_check;
  /* I/O thread */
  GSocket *listener;
  GSource *accept_src; /* the listener readable; NULL while paused */
  GSource *resume_src; /* the pause's end */
  int spare_fd;        /* held for shedding when out of descriptors; -1: none */
  bool starved;        /* out of descriptors since the last accept */
  uint64_t shed;       /* connections closed unserved meanwhile */
  GList *handshaking;
  GList *lingering; /* linger_t: refused sockets reading out (refuse_busy) */
  atomic_uint handshakes_now; /* length of handshaking (read by stats) */
  bool closed;
  char *err; /* start failure detail */
};

static void server_unref(struct actr_ws_server *s) {
  if (atomic_fetch_sub(&s->refs, 1) != 1)
    return;
  g_clear_object(&s->cert);
  g_clear_object(&s->listener);
  for (guint i = 0; i < s->raw_paths->len; i++) {
    raw_path_t *r = g_ptr_array_index(s->raw_paths, i);
    g_free(r->path);
    g_free(r);
  }
  g_ptr_array_free(s->raw_paths, TRUE);
  g_mutex_clear(&s->mu);
  g_cond_clear(&s->orphans_cond);
  actr__ws_config_free_strings(&s->cfg);
  g_free(s->host);
  g_free(s->err);
  actr_runtime_t *rt = s->rt;
  g_free(s);
  actr_runtime_unref(rt);
}

static void on_tls_done(GObject *src, GAsyncResult *res, gpointer p) {
  actr_ws_conn_t *c = p;
  GError *err = NULL;
  gboolean ok = g_tls_connection_handshake_finish(G_TLS_CONNECTION(src), res, &err);
  if (atomic_load(&c->state) != WS_CLOSED) {
    if (ok) {
      actr__ws_conn_begin_io(c, c->stream, c->sock, true);
    } else {
      char *why = g_strdup_printf("TLS handshake failed: %s", err->message);
      ACTR__LOG_PEER(ACTR_LOG_INFO, "WebSocket server: %s", why);
      actr__ws_conn_teardown(c, ACTR_ECONNECTION, why);
      g_free(why);
    }
  }
  g_clear_error(&err);
  actr__ws_conn_unref_internal(c); /* the async step's reference */
}

/* Refused plain connections linger a little: the 503 is written, the
 * sending side shut, and what the client sends is read and dropped until it
 * closes or LINGER_MS pass, so our close does not reset the answer away
 * before the client has read it.  At most MAX_LINGER at once; past that a
 * refused socket is closed at once. */
#define LINGER_MS 2000
#define MAX_LINGER 256

/* The answer of a server at a cap (refuse_busy) or out of descriptors (shed_one). */
static const char busy_503[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 20\r\n"
                               "Retry-After: 1\r\n"
                               "Connection: close\r\n\r\n"
                               "server at capacity\r\n";

typedef struct lingering_sock {
  struct actr_ws_server *srv;
  GSocket *sock;
  GSource *src;
  gint64 deadline; /* monotonic: closed then at the latest */
} linger_t;

static void linger_end(linger_t *l) {
  l->srv->lingering = g_list_remove(l->srv->lingering, l);
  g_source_destroy(l->src);
  g_source_unref(l->src);
  g_socket_close(l->sock, NULL);
  g_object_unref(l->sock);
  g_free(l);
}

/* on_linger: readable, or LINGER_MS passed (@cond 0). */
static gboolean on_linger(GSocket *sock, GIOCondition cond, gpointer p) {
  linger_t *l = p;
  char sink[4096];
  /* LINGER_MS is the end whatever the client does: one that keeps sending
   * is not read for ever, nor more than 64 KiB per dispatch. */
  bool late = g_get_monotonic_time() >= l->deadline, ended = false;
  for (int reads = 0; !late && !ended && reads < 16; reads++) {
    if (cond == 0) {
      ended = true;
      break;
    }
    GError *err = NULL;
    gssize n = g_socket_receive(sock, sink, sizeof sink, NULL, &err);
    if (n > 0)
      continue;
    bool again = n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
    g_clear_error(&err);
    if (again)
      return G_SOURCE_CONTINUE;
    ended = true; /* the client closed, or failed */
  }
  if (!late && !ended)
    return G_SOURCE_CONTINUE; /* read its 64 KiB: more on the next dispatch */
  linger_end(l); /* destroys this source: its return value is not used */
  return G_SOURCE_REMOVE;
}

/* refuse_busy: over a cap: answer a plain connection 503 and let it
 * linger (above), close a TLS one; no connection object is made for it. */
static void refuse_busy(struct actr_ws_server *s, GSocketConnection *sc, const char *why) {
  atomic_fetch_add(&s->refused_busy, 1);
  GSocket *sock = g_socket_connection_get_socket(sc);
  g_socket_set_blocking(sock, FALSE);
  ACTR__LOG_PEER(ACTR_LOG_INFO, "WebSocket server: connection refused: %s", why);
  if (s->cert || g_list_length(s->lingering) >= MAX_LINGER) {
    g_socket_close(sock, NULL);
    return;
  }
  g_socket_send(sock, busy_503, sizeof busy_503 - 1, NULL, NULL);
  g_socket_shutdown(sock, FALSE, TRUE, NULL);
  linger_t *l = g_new0(linger_t, 1);
  l->srv = s;
  l->sock = g_object_ref(sock);
  l->src = g_socket_create_source(sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback(l->src, (GSourceFunc)(void (*)(void))on_linger, l, NULL);
  l->deadline = g_get_monotonic_time() + (gint64)LINGER_MS * 1000;
  g_source_set_ready_time(l->src, l->deadline);
  g_source_attach(l->src, actr__runtime_context(s->rt));
  s->lingering = g_list_prepend(s->lingering, l);
}

/* ---- accepting ----
 * The listener's source accepts up to ACCEPT_BATCH connections per dispatch.
 * Out of file descriptors (EMFILE, ENFILE) the backlog cannot shrink and
 * the listener stays readable, so a plain loop would spin: each waiting
 * client is then shed (the spare descriptor let go, the client accepted,
 * told 503 and closed, the spare taken back), and when even that fails the
 * listener is not watched for ACCEPT_PAUSE_MS.  One log line when it
 * starts, one when accepting works again. */
#define ACCEPT_BATCH 64
#define ACCEPT_PAUSE_MS 100

static gboolean on_listener(GSocket *ls, GIOCondition cond, gpointer p);

static void watch_listener(struct actr_ws_server *s) {
  s->accept_src = g_socket_create_source(s->listener, G_IO_IN, NULL);
  g_source_set_callback(s->accept_src, (GSourceFunc)(void (*)(void))on_listener, s, NULL);
  g_source_attach(s->accept_src, actr__runtime_context(s->rt));
}

static void unwatch_listener(struct actr_ws_server *s) {
  if (s->accept_src) {
    g_source_destroy(s->accept_src);
    g_source_unref(s->accept_src);
    s->accept_src = NULL;
  }
  if (s->resume_src) {
    g_source_destroy(s->resume_src);
    g_source_unref(s->resume_src);
    s->resume_src = NULL;
  }
}

static gboolean on_resume(gpointer p) {
  struct actr_ws_server *s = p;
  g_source_unref(s->resume_src);
  s->resume_src = NULL;
  if (!s->closed)
    watch_listener(s);
  return G_SOURCE_REMOVE;
}

/* shed_one: out of descriptors: the spare one makes room to accept one
 * waiting client, which gets its 503 and is closed.  False when that was
 * not possible (no spare, or another thread took its place). */
static bool shed_one(struct actr_ws_server *s) {
  if (s->spare_fd < 0)
    return false;
  close(s->spare_fd);
  s->spare_fd = -1;
  int fd = accept4(g_socket_get_fd(s->listener), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = send(fd, busy_503, sizeof busy_503 - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n; /* best effort: the client is closed either way */
    close(fd);
    s->shed++;
    atomic_fetch_add(&s->refused_busy, 1);
  }
  s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0;
}

static void on_incoming(struct actr_ws_server *s, GSocketConnection *sc);

static gboolean on_listener(GSocket *ls, GIOCondition cond, gpointer p) {
  struct actr_ws_server *s = p;
  (void)cond;
  if (s->closed)
    return G_SOURCE_CONTINUE; /* stop_on_io removes it */
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    GError *err = NULL;
    GSocket *cs = g_socket_accept(ls, NULL, &err);
    if (!cs) {
      if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        g_error_free(err);
        return G_SOURCE_CONTINUE;
      }
      bool starved = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES);
      if (!s->starved)
        actr__log(ACTR_LOG_WARN, "WebSocket server on port %u: cannot accept: %s%s", s->port,
                  err->message, starved ? " (shedding new clients with 503)" : "");
      s->starved = true;
      g_error_free(err);
      if (starved && shed_one(s))
        continue;
      /* Nothing to do about it now: look again a little later. */
      g_source_unref(s->accept_src); /* returning REMOVE destroys it */
      s->accept_src = NULL;
      s->resume_src = g_timeout_source_new(ACCEPT_PAUSE_MS);
      g_source_set_callback(s->resume_src, on_resume, s, NULL);
      g_source_attach(s->resume_src, actr__runtime_context(s->rt));
      return G_SOURCE_REMOVE;
    }
    if (s->starved) {
      actr__log(ACTR_LOG_WARN, "WebSocket server on port %u: accepting again (%llu clients "
                "shed meanwhile)", s->port, (unsigned long long)s->shed);
      s->starved = false;
      s->shed = 0;
    }
    GSocketConnection *sc = g_socket_connection_factory_create_connection(cs);
    g_object_unref(cs);
    on_incoming(s, sc);
    g_object_unref(sc);
  }
  return G_SOURCE_CONTINUE;
}

void actr__ws_server_conn_gone(struct actr_ws_server *s) {
  atomic_fetch_sub(&s->live, 1);
  server_unref(s);
}

/* peer_key_of: the actr__addr_key of @sc's remote address; false when it
 * has none (not an IP socket). */
static bool peer_key_of(GSocketConnection *sc, uint8_t key[ACTR__ADDR_KEY_LEN]) {
  GSocketAddress *sa = g_socket_connection_get_remote_address(sc, NULL);
  bool ok = sa && G_IS_INET_SOCKET_ADDRESS(sa);
  if (ok) {
    GInetAddress *ia = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(sa));
    actr__addr_key(g_inet_address_to_bytes(ia), g_inet_address_get_native_size(ia), key);
  }
  if (sa)
    g_object_unref(sa);
  return ok;
}

/* handshakes_from: the connections handshaking now from the address of
 * @key (at most max_handshakes to look at; the I/O thread). */
static uint32_t handshakes_from(struct actr_ws_server *s, const uint8_t key[ACTR__ADDR_KEY_LEN]) {
  uint32_t n = 0;
  for (GList *l = s->handshaking; l; l = l->next) {
    actr_ws_conn_t *c = l->data;
    n += c->peer_key_set && memcmp(c->peer_key, key, ACTR__ADDR_KEY_LEN) == 0;
  }
  return n;
}

/* on_incoming: one accepted connection (@sc borrowed). */
static void on_incoming(struct actr_ws_server *s, GSocketConnection *sc) {
  if (s->closed)
    return;
  if (atomic_load(&s->live) >= s->cfg.max_connections) {
    refuse_busy(s, sc, "too many connections");
    return;
  }
  if (atomic_load(&s->handshakes_now) >= s->cfg.max_handshakes) {
    refuse_busy(s, sc, "too many handshakes in progress");
    return;
  }
  uint8_t key[ACTR__ADDR_KEY_LEN];
  bool keyed = s->cfg.max_handshakes_per_address && peer_key_of(sc, key);
  if (keyed && handshakes_from(s, key) >= s->cfg.max_handshakes_per_address) {
    refuse_busy(s, sc, "too many handshakes in progress from one address");
    return;
  }
  actr_ws_conn_t *c = actr__ws_conn_new(s->rt, true, &s->cfg);
  if (keyed) {
    memcpy(c->peer_key, key, sizeof key);
    c->peer_key_set = true;
  }
  atomic_fetch_add(&s->live, 1);
  atomic_fetch_add(&s->refs, 1); /* the connection's, until its I/O side ends */
  c->counted_by = s;
  g_mutex_lock(&s->mu);
  s->orphans++;
  g_mutex_unlock(&s->mu);
  c->orphan_of = s;
  c->server = s;
  s->handshaking = g_list_prepend(s->handshaking, c);
  atomic_fetch_add(&s->handshakes_now, 1);
  actr__ws_conn_ref_internal(c); /* the I/O side, released by teardown */
  c->io_done = false;
  c->cancel = g_cancellable_new();
  actr__ws_conn_arm_handshake_timer(c);
  GSocket *sock = g_object_ref(g_socket_connection_get_socket(sc));
  if (!s->cert) {
    actr__ws_conn_begin_io(c, G_IO_STREAM(g_object_ref(sc)), sock, false);
    return;
  }
  GError *err = NULL;
  c->sock = sock;
  GIOStream *tls = g_tls_server_connection_new(G_IO_STREAM(sc), s->cert, &err);
  if (!tls) {
    char *why = g_strdup_printf("TLS: %s", err->message);
    g_clear_error(&err);
    actr__ws_conn_teardown(c, ACTR_ECONFIGURATION, why);
    g_free(why);
    return;
  }
  c->stream = tls;
  actr__ws_conn_ref_internal(c);
  g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT, c->cancel,
                                   on_tls_done, c);
}

void actr__ws_server_orphan_gone(struct actr_ws_server *s) {
  /* Nothing of @s is touched after the unlock: close may free it then. */
  g_mutex_lock(&s->mu);
  s->orphans--;
  g_cond_broadcast(&s->orphans_cond);
  g_mutex_unlock(&s->mu);
}

void actr__ws_server_handshake_done(struct actr_ws_server *s, actr_ws_conn_t *c, bool ok) {
  s->handshaking = g_list_remove(s->handshaking, c);
  atomic_fetch_sub(&s->handshakes_now, 1);
  c->server = NULL;
  if (ok && !s->closed) {
    atomic_fetch_add(&s->accepted, 1);
    actr__ws_conn_add_handle(c); /* transfer full to the handler */
    c->orphan_of = NULL;
    actr__ws_server_orphan_gone(s);
    if (c->raw) {
      if (c->raw_ops->on_open)
        c->raw_ops->on_open(c, c->raw_user);
      else
        actr_ws_conn_unref(c);
    } else if (s->on_accept) {
      s->on_accept(c, c->path, s->user);
    } else {
      actr_ws_conn_unref(c);
    }
  } else if (ok) {
    actr_ws_conn_close_with(c, ACTR__WS_CLOSE_GOING_AWAY, "server closed");
  }
}

struct actr_ws_request {
  const char *target, *path;
  const char *head;
  size_t head_len;
  GPtrArray *values; /* header values handed out, freed after the call */
  GSocket *sock;     /* the connection's (transfer none) */
};

const char *actr_ws_request_target(const actr_ws_request_t *req) { return req ? req->target : NULL; }

const char *actr_ws_request_path(const actr_ws_request_t *req) { return req ? req->path : NULL; }

const char *actr_ws_request_header(const actr_ws_request_t *req, const char *name) {
  if (!req || !name)
    return NULL;
  char *v = actr__ws_http_header(req->head, req->head_len, name);
  if (v)
    g_ptr_array_add(req->values, v);
  return v;
}

int actr_ws_request_peer(const actr_ws_request_t *req, char *host, size_t host_size,
                         uint16_t *port) {
  if (!req || !host || !host_size)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "actr_ws_request_peer: req and host are needed");
  host[0] = '\0';
  GError *err = NULL;
  GSocketAddress *a = req->sock ? g_socket_get_remote_address(req->sock, &err) : NULL;
  if (!G_IS_INET_SOCKET_ADDRESS(a)) {
    int rc = actr__fail(ACTR_EIO, "the request's peer address: %s",
                        err ? err->message : "not an internet socket");
    g_clear_error(&err);
    g_clear_object(&a);
    return rc;
  }
  GInetSocketAddress *ia = G_INET_SOCKET_ADDRESS(a);
  char *s = g_inet_address_to_string(g_inet_socket_address_get_address(ia));
  int rc = ACTR_OK;
  size_t n = strlen(s);
  if (n >= host_size)
    rc = actr__fail(ACTR_EINVALID_ARGUMENT, "actr_ws_request_peer: %zu bytes hold no %s",
                    host_size, s);
  else
    memcpy(host, s, n + 1);
  if (port)
    *port = g_inet_socket_address_get_port(ia);
  g_free(s);
  g_object_unref(a);
  return rc;
}

int actr_ws_server_set_check(actr_ws_server_t *s, actr_ws_check_fn fn, void *user) {
  if (!s)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "server is NULL");
  g_mutex_lock(&s->mu);
  s->check = fn;
  s->check_user = user;
  g_mutex_unlock(&s->mu);
  return ACTR_OK;
}

int actr__ws_server_check(struct actr_ws_server *s, GSocket *sock, const char *target,
                          const char *path, const char *head, size_t head_len) {
  g_mutex_lock(&s->mu);
  actr_ws_check_fn fn = s->check;
  void *user = s->check_user;
  g_mutex_unlock(&s->mu);
  if (!fn)
    return 0;
  actr_ws_request_t req = {target, path, head, head_len, g_ptr_array_new_with_free_func(g_free),
                           sock};
  int status = fn(&req, user);
  g_ptr_array_free(req.values, TRUE);
  if (status != 0) {
    atomic_fetch_add(&s->refused_check, 1);
    if (status < 400 || status > 599)
      status = 500;
  }
  return status;
}

const actr_ws_message_ops_t *actr__ws_server_route(struct actr_ws_server *s, const char *path,
                                                void **user, uint64_t *max_message_bytes) {
  const actr_ws_message_ops_t *ops = NULL;
  g_mutex_lock(&s->mu);
  for (guint i = 0; i < s->raw_paths->len; i++) {
    raw_path_t *r = g_ptr_array_index(s->raw_paths, i);
    if (strcmp(r->path, path) == 0) {
      ops = r->ops;
      *user = r->user;
      *max_message_bytes = r->max_message_bytes;
      break;
    }
  }
  g_mutex_unlock(&s->mu);
  return ops;
}

int actr_ws_server_add_message_path(actr_ws_server_t *s, const char *path,
                                 const actr_ws_message_ops_t *ops, void *user,
                                 uint64_t max_message_bytes) {
  if (!s || !path || !ops || path[0] != '/')
    return actr__fail(ACTR_EINVALID_ARGUMENT, "server, path (starting with /) and ops needed");
  raw_path_t *r = g_new0(raw_path_t, 1);
  r->path = g_strdup(path);
  r->ops = ops;
  r->user = user;
  r->max_message_bytes = max_message_bytes;
  g_mutex_lock(&s->mu);
  g_ptr_array_add(s->raw_paths, r);
  g_mutex_unlock(&s->mu);
  return ACTR_OK;
}

static int start_on_io(void *p) {
  struct actr_ws_server *s = p;
  GError *err = NULL;
  GInetAddress *addr = g_inet_address_new_from_string(s->host);
  if (!addr) {
    GResolver *res = g_resolver_get_default();
    GList *list = g_resolver_lookup_by_name(res, s->host, NULL, &err);
    g_object_unref(res);
    if (!list) {
      s->err = g_strdup_printf("cannot resolve %s: %s", s->host, err->message);
      g_error_free(err);
      return ACTR_EIO;
    }
    addr = g_object_ref(list->data);
    g_resolver_free_addresses(list);
  }
  GSocketAddress *sa = g_inet_socket_address_new(addr, s->port);
  g_object_unref(addr);
  /* Our own listening socket (on_listener): the backlog is 1024, where
   * GLib's listener has 10, so a burst of clients is not dropped by the
   * kernel before any cap of ours could answer them. */
  GSocket *ls = g_socket_new(g_socket_address_get_family(sa), G_SOCKET_TYPE_STREAM,
                             G_SOCKET_PROTOCOL_TCP, &err);
  if (ls) {
    g_socket_set_blocking(ls, FALSE); /* accept says WOULD_BLOCK, never waits */
    g_socket_set_listen_backlog(ls, 1024);
    if (!g_socket_bind(ls, sa, TRUE, &err) || !g_socket_listen(ls, &err))
      g_clear_object(&ls);
  }
  g_object_unref(sa);
  GSocketAddress *eff = ls ? g_socket_get_local_address(ls, &err) : NULL;
  if (!eff) {
    s->err = g_strdup_printf("cannot listen on %s:%u: %s", s->host, s->port, err->message);
    g_error_free(err);
    g_clear_object(&ls);
    return ACTR_EIO;
  }
  s->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(eff));
  g_object_unref(eff);
  s->listener = ls;
  s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  watch_listener(s);
  return ACTR_OK;
}

int actr_ws_server_new(actr_runtime_t *rt, const char *host, uint16_t port,
                       const actr_ws_config_t *cfg, actr_ws_accept_fn on_accept, void *user,
                       actr_ws_server_t **out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (!rt || !host)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "runtime or host is NULL");
  if (actr_runtime_is_io_thread(rt))
    return actr__fail(ACTR_EINVALID_OPERATION, "actr_ws_server_new blocks: not on the I/O thread");
  if (cfg && (!cfg->cert_file != !cfg->key_file))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "cert_file and key_file go together");
  struct actr_ws_server *s = g_new0(struct actr_ws_server, 1);
  s->spare_fd = -1;
  atomic_init(&s->refs, 1);
  s->rt = actr_runtime_ref(rt);
  actr_ws_config_init(&s->cfg);
  if (cfg)
    s->cfg = *cfg;
  actr__ws_config_own_strings(&s->cfg);
  actr_ws_config_t d;
  actr_ws_config_init(&d);
  s->cfg.max_connections = ACTR__OR_DEFAULT(s->cfg.max_connections, d.max_connections);
  s->cfg.max_handshakes = ACTR__OR_DEFAULT(s->cfg.max_handshakes, d.max_handshakes);
  s->host = g_strdup(host);
  s->port = port;
  s->on_accept = on_accept;
  s->user = user;
  s->check = s->cfg.check; /* before the listener starts: none passes unchecked */
  s->check_user = s->cfg.check_user;
  g_mutex_init(&s->mu);
  g_cond_init(&s->orphans_cond);
  s->raw_paths = g_ptr_array_new();
  if (s->cfg.cert_file) {
    GError *err = NULL;
    if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
      server_unref(s);
      return actr__fail(ACTR_ECONFIGURATION, "no TLS backend (install glib-networking)");
    }
    s->cert = g_tls_certificate_new_from_files(s->cfg.cert_file, s->cfg.key_file, &err);
    if (!s->cert) {
      int rc = actr__fail(ACTR_ECONFIGURATION, "certificate %s / key %s: %s", s->cfg.cert_file,
                          s->cfg.key_file, err->message);
      g_error_free(err);
      server_unref(s);
      return rc;
    }
  }
  int rc = actr_runtime_call(rt, start_on_io, s);
  if (rc != ACTR_OK) {
    rc = actr__fail(rc, "%s", s->err ? s->err : "cannot listen");
    server_unref(s);
    return rc;
  }
  *out = s;
  return ACTR_OK;
}

int actr_ws_server_stats(const actr_ws_server_t *s, actr_ws_server_stats_t *out) {
  if (!s || !out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "server or out is NULL");
  struct actr_ws_server *m = (struct actr_ws_server *)s; /* atomics: loads only */
  memset(out, 0, sizeof *out);
  out->connections = atomic_load(&m->live);
  out->handshakes = atomic_load(&m->handshakes_now);
  out->accepted = atomic_load(&m->accepted);
  out->refused_busy = atomic_load(&m->refused_busy);
  out->refused_check = atomic_load(&m->refused_check);
  return ACTR_OK;
}

uint16_t actr_ws_server_port(const actr_ws_server_t *s) { return s ? s->port : 0; }

bool actr_ws_server_is_tls(const actr_ws_server_t *s) { return s && s->cert; }

static int stop_on_io(void *p) {
  struct actr_ws_server *s = p;
  if (s->closed)
    return ACTR_OK;
  s->closed = true;
  unwatch_listener(s);
  if (s->listener) {
    g_socket_close(s->listener, NULL);
    g_clear_object(&s->listener);
  }
  if (s->spare_fd >= 0) {
    close(s->spare_fd);
    s->spare_fd = -1;
  }
  while (s->lingering)
    linger_end(s->lingering->data);
  GList *copy = g_list_copy(s->handshaking);
  for (GList *l = copy; l; l = l->next)
    actr__ws_conn_ref_internal(l->data);
  for (GList *l = copy; l; l = l->next) {
    actr__ws_conn_teardown(l->data, ACTR_EWEBSOCKET_CLOSED, "server closed");
    actr__ws_conn_unref_internal(l->data);
  }
  g_list_free(copy);
  return ACTR_OK;
}

void actr_ws_server_close(actr_ws_server_t *s) {
  if (!s)
    return;
  actr_runtime_call(s->rt, stop_on_io, s);
  /* Connections aborted in their handshake may still have a GIO step to
   * finish (a cancelled TLS handshake); they are freed on the I/O thread. */
  g_mutex_lock(&s->mu);
  while (s->orphans)
    g_cond_wait(&s->orphans_cond, &s->mu);
  g_mutex_unlock(&s->mu);
}

void actr_ws_server_free(actr_ws_server_t *s) {
  if (!s)
    return;
  actr_ws_server_close(s);
  server_unref(s);
}
