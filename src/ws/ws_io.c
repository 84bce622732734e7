/* ws_io.c — a WebSocket connection's socket on the I/O thread: plain
 * GSocket (non-blocking) or the TLS streams, reads and writes that never
 * block, the sources that wait for POLLIN / POLLOUT, and the TCP options.
 * (A sender's direct write to an idle plain socket is in ws_tx.c.) */
#include "ws_conn_io.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "error_internal.h"

#ifndef TCP_RTO_MAX_MS
#define TCP_RTO_MAX_MS 44 /* Linux 6.15 */
#endif

/* io_result: a GSocket call's result as ours: a byte count, IO_WOULD_BLOCK
 * (with *@err cleared) or IO_ERROR (*@err set). */
static gssize io_result(gssize n, GError **err) {
  if (n >= 0)
    return n;
  if (g_error_matches(*err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
    g_clear_error(err);
    return IO_WOULD_BLOCK;
  }
  return IO_ERROR;
}

gssize actr__ws_conn_io_read(actr_ws_conn_t *c, GInputVector *v, int nv, GError **err) {
  gssize n;
  if (c->tls) {
    GInputStream *in = g_io_stream_get_input_stream(c->stream);
    n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(in), v[0].buffer,
                                                 v[0].size, NULL, err);
  } else {
    gint flags = 0;
    n = g_socket_receive_message(c->sock, NULL, v, nv, NULL, NULL, &flags, NULL, err);
  }
  return io_result(n, err);
}

gssize actr__ws_conn_io_write(actr_ws_conn_t *c, GOutputVector *v, int nv, GError **err) {
  if (c->tls) {
    GOutputStream *out = g_io_stream_get_output_stream(c->stream);
    gsize written = 0;
    GPollableReturn r = g_pollable_output_stream_writev_nonblocking(
        G_POLLABLE_OUTPUT_STREAM(out), v, (gsize)nv, &written, NULL, err);
    if (r == G_POLLABLE_RETURN_WOULD_BLOCK)
      return IO_WOULD_BLOCK;
    if (r == G_POLLABLE_RETURN_FAILED)
      return IO_ERROR;
    return (gssize)written;
  }
  return io_result(
      g_socket_send_message(c->sock, NULL, v, nv, NULL, 0, G_SOCKET_MSG_NONE, NULL, err), err);
}

static gboolean on_sock_in(GSocket *s, GIOCondition cond, gpointer p) {
  ws_enter(p);
  actr__ws_conn_process_input(p);
  ws_leave(p);
  return G_SOURCE_CONTINUE;
}

static gboolean on_stream_in(GObject *s, gpointer p) {
  ws_enter(p);
  actr__ws_conn_process_input(p);
  ws_leave(p);
  return G_SOURCE_CONTINUE;
}

void actr__ws_drop_source(GSource **s) {
  if (*s) {
    g_source_destroy(*s);
    g_source_unref(*s);
    *s = NULL;
  }
}

/* A plain socket's input and output are watches of the runtime's hub
 * (runtime/hub.h), not GSources of their own: an idle connection then
 * costs the loop nothing per iteration, however many there are.  TLS
 * streams keep their pollable sources (GnuTLS may hold decrypted bytes the
 * socket does not show). */

bool actr__ws_conn_out_waiting(const actr_ws_conn_t *c) { return c->out_src || c->out_w; }

void actr__ws_conn_unwatch_output(actr_ws_conn_t *c) {
  actr__ws_drop_source(&c->out_src);
  actr__watch_drop(&c->out_w);
}

static gboolean on_writable(actr_ws_conn_t *c) {
  ws_enter(c);
  actr__ws_conn_unwatch_output(c);
  actr__ws_conn_flush(c);
  ws_leave(c);
  return G_SOURCE_REMOVE;
}

static gboolean on_stream_out(GObject *s, gpointer p) { return on_writable(p); }
static void on_sock_in_w(void *p) { on_sock_in(NULL, G_IO_IN, p); }
static void on_sock_out_w(void *p) { on_writable(p); }

void actr__ws_conn_io_watch(actr_ws_conn_t *c, bool out) {
  if (!c->tls) {
    actr__watch_t *w = actr__watch_fd(actr__runtime_hub(c->rt), g_socket_get_fd(c->sock), out,
                                      out ? on_sock_out_w : on_sock_in_w, c);
    if (!w) {
      actr__ws_conn_teardown(c, ACTR_ERESOURCE_EXHAUSTED, "cannot watch the socket (epoll)");
      return;
    }
    *(out ? &c->out_w : &c->in_w) = w;
    return;
  }
  GSource *src;
  if (out) {
    src = g_pollable_output_stream_create_source(
        G_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(c->stream)), NULL);
    g_source_set_callback(src, G_SOURCE_FUNC(on_stream_out), c, NULL);
  } else {
    src = g_pollable_input_stream_create_source(
        G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(c->stream)), NULL);
    g_source_set_callback(src, G_SOURCE_FUNC(on_stream_in), c, NULL);
  }
  g_source_attach(src, c->ctx);
  *(out ? &c->out_src : &c->in_src) = src;
}

void actr__ws_conn_watch_input(actr_ws_conn_t *c) {
  if (!c->in_src && !c->in_w && atomic_load(&c->state) != WS_CLOSED)
    actr__ws_conn_io_watch(c, false);
}

void actr__ws_conn_unwatch_input(actr_ws_conn_t *c) {
  actr__ws_drop_source(&c->in_src);
  actr__watch_drop(&c->in_w);
}

void actr__ws_conn_set_tcp_options(actr_ws_conn_t *c) {
  GError *err = NULL;
  if (!g_socket_set_option(c->sock, IPPROTO_TCP, TCP_NODELAY, 1, &err)) {
    actr__log(ACTR_LOG_DEBUG, "TCP_NODELAY: %s", err->message);
    g_clear_error(&err);
  }
  if (c->cfg.ping_interval_ms > 0) {
    /* Retransmissions and window probes at most an interval apart, where
     * the kernel can (check_tcp). */
    int ms = c->cfg.ping_interval_ms;
    c->rto_capped = ms >= 1000 && ms <= 120000 &&
                    setsockopt(g_socket_get_fd(c->sock), IPPROTO_TCP, TCP_RTO_MAX_MS, &ms,
                               sizeof ms) == 0;
  }
}

