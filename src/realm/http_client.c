/* http_client.c — the one HTTP exchange a node makes outside WebSocket: a
 * POST to AIS (register, renew) with a protobuf body, answered by a
 * protobuf body.  HTTP/1.1 over GIO (TLS for https://), one request per
 * connection ("Connection: close"), blocking on the calling thread with a
 * deadline; bounded head and body; Content-Length, chunked, or read to the
 * end of the connection. */
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>

#include "error_internal.h"
#include "realm_http.h"
#include "ws_http.h"

#define HEAD_MAX (16u * 1024u)

static int io_fail(const char *what, GError *err) {
  int rc = actr__fail(ACTR_ECONNECTION, "HTTP: %s: %s", what, err ? err->message : "?");
  g_clear_error(&err);
  return rc;
}

/* read_some: append what the stream has (up to @want bytes) to @buf. */
static gssize read_some(GInputStream *in, GByteArray *buf, size_t want, GCancellable *cancel,
                        GError **err) {
  guint old = buf->len;
  g_byte_array_set_size(buf, old + (guint)want);
  gssize n = g_input_stream_read(in, buf->data + old, want, cancel, err);
  g_byte_array_set_size(buf, old + (guint)(n > 0 ? n : 0));
  return n;
}

/* find_header: the value of header @name in @head (case-insensitive name,
 * surrounding spaces trimmed) as a new string, or NULL. */
static char *find_header(const char *head, const char *name) {
  size_t nl = strlen(name);
  for (const char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
    const char *l = line + 2;
    if (g_ascii_strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
      const char *v = l + nl + 1, *e = strstr(v, "\r\n");
      if (!e)
        e = v + strlen(v);
      return g_strstrip(g_strndup(v, (gsize)(e - v)));
    }
  }
  return NULL;
}

/* dechunk: the body of a chunked message in @raw (@len bytes) into @out,
 * *@used the bytes it took up to its last chunk's size line; false when
 * malformed or over @max, true otherwise (*@complete when it ended). */
static bool dechunk(const uint8_t *raw, size_t len, size_t max, GByteArray *out, bool *complete,
                    size_t *used) {
  size_t pos = 0;
  *complete = false;
  for (;;) {
    const uint8_t *crlf = memmem(raw + pos, len - pos, "\r\n", 2);
    if (!crlf)
      return true; /* need more */
    char size_line[32];
    size_t sl = (size_t)(crlf - (raw + pos));
    if (sl == 0 || sl >= sizeof size_line)
      return false;
    memcpy(size_line, raw + pos, sl);
    size_line[sl] = '\0';
    char *end;
    unsigned long long n = strtoull(size_line, &end, 16);
    if (end == size_line || (*end && *end != ';'))
      return false;
    pos += sl + 2;
    if (n == 0) {
      *used = pos;
      *complete = true;
      return true;
    }
    if (n > max || out->len + n > max)
      return false;
    if (len - pos < n + 2)
      return true; /* need more */
    g_byte_array_append(out, raw + pos, (guint)n);
    pos += (size_t)n + 2;
  }
}

/* One response parse over everything read so far: the head (bounded), then
 * the body by Content-Length, chunked, or up to the end of the connection.
 * Pure, so that a fuzzer can drive it (fuzz/fuzz_http_response.c). */
int actr__http_response_parse(const uint8_t *in, size_t len, bool eof, size_t max_body,
                              bool *complete, int *status, uint8_t **body, size_t *body_len) {
  *complete = false;
  *status = 0;
  *body = NULL;
  *body_len = 0;
  const uint8_t *eoh = len ? memmem(in, len, "\r\n\r\n", 4) : NULL;
  if (!eoh || (size_t)(eoh - in) + 4 > HEAD_MAX) {
    if (len >= HEAD_MAX)
      return actr__fail(ACTR_EPROTOCOL, "HTTP: response head over %u bytes", HEAD_MAX);
    if (eof)
      return actr__fail(ACTR_EPROTOCOL, "HTTP: connection closed before the response head");
    return ACTR_OK;
  }
  size_t head_len = (size_t)(eoh - in) + 4;
  char *head = g_strndup((const char *)in, head_len);
  int code = 0;
  if (sscanf(head, "HTTP/1.%*1[01] %3d", &code) != 1 || code < 100 || code > 599) {
    int rc = actr__fail(ACTR_EPROTOCOL, "HTTP: malformed status line '%.60s'", head);
    g_free(head);
    return rc;
  }
  char *cl = find_header(head, "Content-Length");
  char *te = find_header(head, "Transfer-Encoding");
  g_free(head);
  bool chunked = te && g_ascii_strcasecmp(te, "chunked") == 0;
  long long want = -1;
  if (cl && !chunked) {
    char *e;
    want = strtoll(cl, &e, 10);
    if (e == cl || *e || want < 0)
      want = -2;
  }
  g_free(cl);
  g_free(te);
  if (want == -2 || (want > 0 && (size_t)want > max_body))
    return actr__fail(ACTR_EPROTOCOL, "HTTP: bad or too large Content-Length (limit %zu)",
                      max_body);
  const uint8_t *raw = in + head_len;
  size_t raw_len = len - head_len;
  GByteArray *dechunked = NULL;
  if (chunked) {
    bool done;
    size_t used = 0;
    dechunked = g_byte_array_new();
    if (!dechunk(raw, raw_len, max_body, dechunked, &done, &used)) {
      g_byte_array_unref(dechunked);
      return actr__fail(ACTR_EPROTOCOL, "HTTP: malformed or too large chunked body");
    }
    /* The framing may add as much as the body and 4 KiB more (chunks of 6
     * bytes and up): a bound that does not depend on where the reads ended
     * (a finished body is measured where it finished). */
    if ((done ? used : raw_len) > 2 * max_body + 4096) {
      g_byte_array_unref(dechunked);
      return actr__fail(ACTR_EPROTOCOL, "HTTP: chunked response body over %zu bytes", max_body);
    }
    if (!done) {
      g_byte_array_unref(dechunked);
      if (eof)
        return actr__fail(ACTR_EPROTOCOL, "HTTP: connection closed in the middle of the body");
      return ACTR_OK;
    }
    raw = dechunked->data;
    raw_len = dechunked->len;
  } else if (want >= 0 && raw_len >= (size_t)want) {
    raw_len = (size_t)want;
  } else if (raw_len > max_body) {
    return actr__fail(ACTR_EPROTOCOL, "HTTP: response body over %zu bytes", max_body);
  } else if (!eof) {
    return ACTR_OK;
  } else if (want >= 0) {
    return actr__fail(ACTR_EPROTOCOL, "HTTP: connection closed in the middle of the body");
  } /* else: no length, the body is what came before the end */
  int rc = ACTR_OK;
  *body = malloc(raw_len ? raw_len : 1);
  if (!*body) {
    rc = actr__fail(ACTR_ENO_MEMORY, "HTTP body");
  } else {
    memcpy(*body, raw, raw_len);
    *body_len = raw_len;
    *status = code;
    *complete = true;
  }
  if (dechunked)
    g_byte_array_unref(dechunked);
  return rc;
}

/* The exchange's watchdog: a thread that cancels the exchange at its
 * deadline.  Checking the deadline between reads is not enough: over TLS a
 * read waits for a whole record, and GIO's socket timeout restarts with
 * every byte, so a server dripping one byte a second held a read (and the
 * node's control thread behind it) for as long as it liked. */
typedef struct watchdog {
  GMutex mu;
  GCond cond;
  bool done;
  gint64 deadline; /* monotonic, µs */
  GCancellable *cancel;
  GThread *thread;
} watchdog_t;

static gpointer watchdog_main(gpointer p) {
  watchdog_t *w = p;
  g_mutex_lock(&w->mu);
  while (!w->done && g_cond_wait_until(&w->cond, &w->mu, w->deadline))
    ; /* woken early (done, or spuriously): look again */
  if (!w->done)
    g_cancellable_cancel(w->cancel);
  g_mutex_unlock(&w->mu);
  return NULL;
}

static void watchdog_start(watchdog_t *w, GCancellable *cancel, gint64 deadline) {
  g_mutex_init(&w->mu);
  g_cond_init(&w->cond);
  w->done = false;
  w->deadline = deadline;
  w->cancel = cancel;
  /* Without a thread (none to be had), the deadline is still checked
   * between reads. */
  w->thread = g_thread_try_new("actr-http-deadline", watchdog_main, w, NULL);
}

static void watchdog_stop(watchdog_t *w) {
  g_mutex_lock(&w->mu);
  w->done = true;
  g_cond_signal(&w->cond);
  g_mutex_unlock(&w->mu);
  if (w->thread)
    g_thread_join(w->thread);
  g_cond_clear(&w->cond);
  g_mutex_clear(&w->mu);
}

static GPrivate thread_stop; /* GCancellable *, not owned */

void actr__http_thread_stop(GCancellable *stop) { g_private_set(&thread_stop, stop); }

/* chain_cancel: the thread's stop was cancelled: so is the exchange. */
static void chain_cancel(GCancellable *stop, gpointer exchange) {
  (void)stop;
  g_cancellable_cancel(exchange);
}

int actr__http_post(const char *url, const char *const *headers, const char *content_type,
                    const void *body, size_t body_len, int timeout_ms, size_t max_body,
                    int *status, uint8_t **resp, size_t *resp_len) {
  *resp = NULL;
  *resp_len = 0;
  *status = 0;
  actr__ws_url_t u;
  int rc = actr__http_url_parse(url, &u);
  if (rc != ACTR_OK)
    return rc;
  GSocketClient *client = g_socket_client_new();
  g_socket_client_set_tls(client, u.tls);
  /* The deadline bounds the exchange (the watchdog cancels whatever is
   * under way when it passes), GIO's timeout each operation (in whole
   * seconds). */
  guint op_secs = (guint)(((gint64)timeout_ms + 999) / 1000); /* no int overflow near INT_MAX */
  g_socket_client_set_timeout(client, op_secs ? op_secs : 1);
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  GCancellable *cancel = g_cancellable_new();
  GCancellable *stop = g_private_get(&thread_stop);
  /* Already cancelled: chain_cancel runs now and 0 comes back. */
  gulong stop_handler = stop ? g_cancellable_connect(stop, G_CALLBACK(chain_cancel), cancel, NULL)
                             : 0;
  GError *err = NULL;
  GSocketConnection *conn = NULL;
  GByteArray *in = g_byte_array_new();
  char *req = NULL;
  watchdog_t dog;
  watchdog_start(&dog, cancel, deadline);

  conn = g_socket_client_connect_to_host(client, u.host_header, u.port, cancel, &err);
  if (!conn) {
    rc = io_fail("connect", err);
    goto done;
  }
  GString *r = g_string_new(NULL);
  g_string_append_printf(r,
                         "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nAccept: %s\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\nUser-Agent: libactr\r\n",
                         u.target, u.host_header, content_type, content_type, body_len);
  for (size_t i = 0; headers && headers[i]; i++)
    g_string_append_printf(r, "%s\r\n", headers[i]);
  g_string_append(r, "\r\n");
  req = g_string_free(r, FALSE);
  GOutputStream *os = g_io_stream_get_output_stream(G_IO_STREAM(conn));
  if (!g_output_stream_write_all(os, req, strlen(req), NULL, cancel, &err) ||
      (body_len && !g_output_stream_write_all(os, body, body_len, NULL, cancel, &err))) {
    rc = io_fail("send", err);
    goto done;
  }
  GInputStream *is = g_io_stream_get_input_stream(G_IO_STREAM(conn));
  for (bool eof = false;;) {
    bool complete;
    rc = actr__http_response_parse(in->data, in->len, eof, max_body, &complete, status, resp,
                                   resp_len);
    if (rc != ACTR_OK || complete)
      goto done;
    if (g_get_monotonic_time() > deadline) {
      rc = actr__fail(ACTR_ETIMEOUT, "HTTP: response not complete within %d ms", timeout_ms);
      goto done;
    }
    gssize n = read_some(is, in, 16384, cancel, &err);
    if (n < 0) {
      rc = io_fail("receive", err);
      goto done;
    }
    eof = n == 0;
  }
done:
  watchdog_stop(&dog);
  if (stop_handler) /* waits for a chain_cancel under way on another thread */
    g_cancellable_disconnect(stop, stop_handler);
  if (rc == ACTR_ECONNECTION && stop && g_cancellable_is_cancelled(stop))
    rc = actr__fail(ACTR_ECONNECTION, "HTTP: exchange cancelled");
  else if (rc == ACTR_ECONNECTION && g_cancellable_is_cancelled(cancel))
    rc = actr__fail(ACTR_ETIMEOUT, "HTTP: exchange not complete within %d ms", timeout_ms);
  if (conn) { /* cancelled: TLS's close_notify is not waited for either */
    g_io_stream_close(G_IO_STREAM(conn), cancel, NULL);
    g_object_unref(conn);
  }
  g_free(req);
  g_byte_array_unref(in);
  g_object_unref(cancel);
  g_object_unref(client);
  actr__ws_url_clear(&u);
  return rc;
}
