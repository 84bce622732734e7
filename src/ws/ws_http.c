/* ws_http.c — the opening handshake (RFC 6455 §4) and ws:// URLs (§3).
 *
 * Strict where the RFC is (§4.2.1: GET, HTTP/1.1, Host, Upgrade: websocket,
 * Connection: Upgrade, a 16-byte base64 key, version 13), tolerant where
 * HTTP is (header names and the Upgrade/Connection tokens compare without
 * case, lines may end in LF alone).  Everything is bounded: the head, the
 * number of headers, the actr headers.  Extensions and subprotocols offered
 * by a client are ignored: the 101 names none, so none is in force. */
#include "ws_http.h"

#include <glib.h>
#include <string.h>
#include <sys/random.h>

#include "error_internal.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

typedef struct hdr {
  const char *name, *value;
  size_t name_len, value_len;
} hdr_t;

typedef struct head {
  const char *line; /* request or status line */
  size_t line_len;
  hdr_t h[ACTR__WS_HTTP_MAX_HEADERS];
  size_t n;
} head_t;

enum { HEAD_OK = 1, HEAD_MORE = 0, HEAD_TOO_LARGE = -1, HEAD_BAD = -2, HEAD_TOO_MANY = -3 };

static bool is_tchar(unsigned char c) {
  /* RFC 7230 §3.2.6 token characters */
  return g_ascii_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool name_is(const hdr_t *h, const char *name) {
  return strlen(name) == h->name_len && g_ascii_strncasecmp(h->name, name, h->name_len) == 0;
}

/* head_ctl: a control byte no head line may hold (HTAB aside; CR and LF
 * end lines and are the caller's). */
static bool head_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

bool actr__ws_http_head_ready(const char *buf, size_t len, size_t *scanned) {
  if (len >= ACTR__WS_HTTP_MAX_HEAD)
    return true;
  size_t i = *scanned > 2 ? *scanned - 2 : 0; /* an ending may straddle two reads */
  *scanned = len;
  for (; i < len; i++) {
    unsigned char c = (unsigned char)buf[i];
    if (head_ctl(c) && c != '\r' && c != '\n')
      return true; /* split_head refuses it */
    if (c == '\n' && i + 1 < len &&
        (buf[i + 1] == '\n' || (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')))
      return true;
  }
  return false;
}

/* split_head: find the end of the head and cut it into lines and headers.
 * Returns a HEAD_* code; *@head_len on HEAD_OK. */
static int split_head(const char *buf, size_t len, size_t *head_len, head_t *hd, const char **why) {
  size_t pos = 0;
  bool first = true;
  hd->n = 0;
  for (;;) {
    if (pos >= ACTR__WS_HTTP_MAX_HEAD) {
      *why = "head too large";
      return HEAD_TOO_LARGE;
    }
    const char *nl = memchr(buf + pos, '\n', len - pos);
    if (!nl) {
      if (len >= ACTR__WS_HTTP_MAX_HEAD) {
        *why = "head too large";
        return HEAD_TOO_LARGE;
      }
      /* The unfinished line is refused now for a byte it may not hold
       * (actr__ws_http_head_ready asks again at once for one). */
      for (size_t i = pos; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (head_ctl(c) && !(c == '\r' && i + 1 == len)) {
          *why = "control character in the head";
          return HEAD_BAD;
        }
      }
      return HEAD_MORE;
    }
    size_t end = (size_t)(nl - buf);
    if (end + 1 > ACTR__WS_HTTP_MAX_HEAD) {
      *why = "head too large";
      return HEAD_TOO_LARGE;
    }
    size_t l = end - pos;
    if (l && buf[pos + l - 1] == '\r')
      l--;
    const char *line = buf + pos;
    pos = end + 1;
    for (size_t i = 0; i < l; i++) {
      if (head_ctl((unsigned char)line[i])) {
        *why = "control character in the head";
        return HEAD_BAD;
      }
    }
    if (first) {
      if (l == 0) {
        *why = "empty start line";
        return HEAD_BAD;
      }
      hd->line = line;
      hd->line_len = l;
      first = false;
      continue;
    }
    if (l == 0) {
      *head_len = pos;
      return HEAD_OK;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      *why = "folded header line"; /* obs-fold, RFC 7230 §3.2.4 */
      return HEAD_BAD;
    }
    const char *colon = memchr(line, ':', l);
    if (!colon || colon == line) {
      *why = "header line without a name";
      return HEAD_BAD;
    }
    size_t nl_len = (size_t)(colon - line);
    for (size_t i = 0; i < nl_len; i++)
      if (!is_tchar((unsigned char)line[i])) {
        *why = "invalid header name";
        return HEAD_BAD;
      }
    if (hd->n == ACTR__WS_HTTP_MAX_HEADERS) {
      *why = "too many headers";
      return HEAD_TOO_MANY;
    }
    const char *v = colon + 1, *ve = line + l;
    while (v < ve && (*v == ' ' || *v == '\t'))
      v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
      ve--;
    hd->h[hd->n++] = (hdr_t){line, v, nl_len, (size_t)(ve - v)};
  }
}


char *actr__ws_http_header(const char *head, size_t head_len, const char *name) {
  head_t hd;
  size_t hl;
  const char *why;
  if (split_head(head, head_len, &hl, &hd, &why) != HEAD_OK)
    return NULL;
  for (size_t i = 0; i < hd.n; i++)
    if (name_is(&hd.h[i], name))
      return g_strndup(hd.h[i].value, hd.h[i].value_len);
  return NULL;
}

/* find: the only header called @name (NULL if none); *@dup when it repeats. */
static const hdr_t *find(const head_t *hd, const char *name, bool *dup) {
  const hdr_t *found = NULL;
  *dup = false;
  for (size_t i = 0; i < hd->n; i++)
    if (name_is(&hd->h[i], name)) {
      if (found)
        *dup = true;
      found = &hd->h[i];
    }
  return found;
}

/* has_token: does any @name header list @token (comma-separated, any case)? */
static bool has_token(const head_t *hd, const char *name, const char *token) {
  size_t tl = strlen(token);
  for (size_t i = 0; i < hd->n; i++) {
    if (!name_is(&hd->h[i], name))
      continue;
    const char *p = hd->h[i].value, *e = p + hd->h[i].value_len;
    while (p < e) {
      const char *c = memchr(p, ',', (size_t)(e - p));
      const char *te = c ? c : e;
      const char *s = p;
      while (s < te && (*s == ' ' || *s == '\t'))
        s++;
      const char *t = te;
      while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
        t--;
      if ((size_t)(t - s) == tl && g_ascii_strncasecmp(s, token, tl) == 0)
        return true;
      p = c ? c + 1 : e;
    }
  }
  return false;
}

static bool value_is(const hdr_t *h, const char *v) {
  return h && h->value_len == strlen(v) && memcmp(h->value, v, h->value_len) == 0;
}

static bool key_valid(const hdr_t *h) {
  /* §4.1: base64 of 16 bytes is exactly 22 characters and "==". */
  if (!h || h->value_len != 24 || h->value[22] != '=' || h->value[23] != '=')
    return false;
  for (size_t i = 0; i < 22; i++) {
    char c = h->value[i];
    if (!g_ascii_isalnum(c) && c != '+' && c != '/')
      return false;
  }
  /* The last character before "==" carries 2 bits: its low 4 must be 0. */
  static const char ok_last[] = "AQgw";
  return strchr(ok_last, h->value[21]) != NULL;
}

void actr__ws_request_clear(actr__ws_request_t *req) {
  g_free(req->target);
  g_free(req->path);
  g_free(req->key);
  g_free(req->source_id);
  g_free(req->credential);
  memset(req, 0, sizeof *req);
}

static int refuse(int *status, int code, const char **why, const char *text) {
  *status = code;
  *why = text;
  return -1;
}

int actr__ws_http_parse_request(const char *buf, size_t len, size_t *head_len,
                                actr__ws_request_t *req, int *status, const char **why) {
  memset(req, 0, sizeof *req);
  *status = 0;
  *why = NULL;
  head_t *hd = g_new(head_t, 1);
  int rc = split_head(buf, len, head_len, hd, why);
  int ret = -1;
  if (rc == HEAD_MORE) {
    ret = 0;
    goto out;
  }
  if (rc == HEAD_TOO_LARGE || rc == HEAD_TOO_MANY) {
    ret = refuse(status, 431, why, *why);
    goto out;
  }
  if (rc == HEAD_BAD) {
    ret = refuse(status, 400, why, *why);
    goto out;
  }
  /* Request line: method SP request-target SP HTTP-version (RFC 7230 §3.1.1). */
  const char *l = hd->line, *le = l + hd->line_len;
  const char *sp1 = memchr(l, ' ', hd->line_len);
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(le - sp1 - 1)) : NULL;
  if (!sp1 || !sp2 || sp2 == sp1 + 1 || sp2 + 1 == le) {
    ret = refuse(status, 400, why, "malformed request line");
    goto out;
  }
  if ((size_t)(sp1 - l) != 3 || memcmp(l, "GET", 3) != 0) {
    ret = refuse(status, 405, why, "method is not GET");
    goto out;
  }
  const char *ver = sp2 + 1;
  size_t ver_len = (size_t)(le - ver);
  /* HTTP/1.1 or a later 1.x (§4.1: "HTTP/1.1 or higher"). */
  if (ver_len != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || ver[7] < '1' || ver[7] > '9') {
    ret = refuse(status, 400, why, "not HTTP/1.1");
    goto out;
  }
  const char *tgt = sp1 + 1;
  size_t tgt_len = (size_t)(sp2 - tgt);
  if (tgt[0] != '/' || memchr(tgt, ' ', tgt_len)) {
    ret = refuse(status, 400, why, "request-target is not a path");
    goto out;
  }
  bool dup;
  const hdr_t *host = find(hd, "Host", &dup);
  if (!host || dup) {
    ret = refuse(status, 400, why, "missing or repeated Host");
    goto out;
  }
  if (!has_token(hd, "Upgrade", "websocket")) {
    ret = refuse(status, 400, why, "no Upgrade: websocket");
    goto out;
  }
  if (!has_token(hd, "Connection", "Upgrade")) {
    ret = refuse(status, 400, why, "no Connection: Upgrade");
    goto out;
  }
  const hdr_t *v = find(hd, "Sec-WebSocket-Version", &dup);
  if (!v || dup || !value_is(v, "13")) {
    ret = refuse(status, 426, why, "Sec-WebSocket-Version is not 13");
    goto out;
  }
  const hdr_t *key = find(hd, "Sec-WebSocket-Key", &dup);
  if (dup || !key_valid(key)) {
    ret = refuse(status, 400, why, "missing or invalid Sec-WebSocket-Key");
    goto out;
  }
  const hdr_t *sid = find(hd, "X-Actr-Source-ID", &dup);
  bool dup2;
  const hdr_t *cred = find(hd, "X-Actr-Credential", &dup2);
  if (dup || dup2) {
    ret = refuse(status, 400, why, "repeated X-Actr header");
    goto out;
  }
  if ((sid && sid->value_len > ACTR__WS_HTTP_MAX_ACTR_HEADER) ||
      (cred && cred->value_len > ACTR__WS_HTTP_MAX_ACTR_HEADER)) {
    ret = refuse(status, 431, why, "X-Actr header too large");
    goto out;
  }
  req->target = g_strndup(tgt, tgt_len);
  size_t path_len = strcspn(req->target, "?#");
  req->path = g_strndup(tgt, path_len);
  req->key = g_strndup(key->value, key->value_len);
  req->source_id = sid ? g_strndup(sid->value, sid->value_len) : NULL;
  req->credential = cred ? g_strndup(cred->value, cred->value_len) : NULL;
  ret = 1;
out:
  g_free(hd);
  return ret;
}

void actr__ws_accept_key(const char *key, char out[29]) {
  GChecksum *sha = g_checksum_new(G_CHECKSUM_SHA1);
  g_checksum_update(sha, (const guchar *)key, (gssize)strlen(key));
  g_checksum_update(sha, (const guchar *)WS_GUID, (gssize)strlen(WS_GUID));
  guint8 digest[20];
  gsize dlen = sizeof digest;
  g_checksum_get_digest(sha, digest, &dlen);
  g_checksum_free(sha);
  gchar *b64 = g_base64_encode(digest, dlen);
  g_strlcpy(out, b64, 29);
  g_free(b64);
}

void actr__ws_new_key(char out[25]) {
  guint8 raw[16];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
    for (size_t i = 0; i < sizeof raw; i++)
      raw[i] = (guint8)g_random_int();
  gchar *b64 = g_base64_encode(raw, sizeof raw);
  g_strlcpy(out, b64, 25);
  g_free(b64);
}

char *actr__ws_http_response_101(const char *key) {
  char accept[29];
  actr__ws_accept_key(key, accept);
  return g_strdup_printf("HTTP/1.1 101 Switching Protocols\r\n"
                         "Upgrade: websocket\r\n"
                         "Connection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: %s\r\n\r\n",
                         accept);
}

static const char *reason_phrase(int status) {
  switch (status) {
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 426: return "Upgrade Required";
  case 431: return "Request Header Fields Too Large";
  case 503: return "Service Unavailable";
  default: return "Error";
  }
}

char *actr__ws_http_response_error(int status, const char *why) {
  return g_strdup_printf("HTTP/1.1 %d %s\r\n"
                         "Connection: close\r\n"
                         "%s"
                         "Content-Type: text/plain\r\n"
                         "Content-Length: %zu\r\n\r\n%s\n",
                         status, reason_phrase(status),
                         status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "", strlen(why) + 1, why);
}

char *actr__ws_http_request(const char *host_header, const char *target, const char *key,
                            const char *source_id, const char *credential) {
  GString *s = g_string_new(NULL);
  g_string_append_printf(s,
                         "GET %s HTTP/1.1\r\n"
                         "Host: %s\r\n"
                         "Upgrade: websocket\r\n"
                         "Connection: Upgrade\r\n"
                         "Sec-WebSocket-Key: %s\r\n"
                         "Sec-WebSocket-Version: 13\r\n",
                         target, host_header, key);
  if (source_id)
    g_string_append_printf(s, "X-Actr-Source-ID: %s\r\n", source_id);
  if (credential)
    g_string_append_printf(s, "X-Actr-Credential: %s\r\n", credential);
  g_string_append(s, "\r\n");
  return g_string_free(s, FALSE);
}

int actr__ws_http_parse_response(const char *buf, size_t len, const char *key,
                                 size_t *head_len, int *status, char **detail) {
  *status = 0;
  *detail = NULL;
  head_t *hd = g_new(head_t, 1);
  const char *why = NULL;
  int rc = split_head(buf, len, head_len, hd, &why);
  int ret = -1;
  if (rc == HEAD_MORE) {
    ret = 0;
    goto out;
  }
  if (rc != HEAD_OK) {
    *detail = g_strdup_printf("malformed handshake response: %s", why);
    goto out;
  }
  /* Status line: HTTP/1.x SP 3DIGIT SP reason-phrase */
  const char *l = hd->line;
  size_t ll = hd->line_len;
  if (ll < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[8] != ' ' || !g_ascii_isdigit(l[9]) ||
      !g_ascii_isdigit(l[10]) || !g_ascii_isdigit(l[11]) || (ll > 12 && l[12] != ' ')) {
    *detail = g_strdup("malformed handshake response: bad status line");
    goto out;
  }
  *status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
  if (*status != 101) {
    *detail = g_strdup_printf("handshake refused: HTTP %.*s", (int)(ll > 9 ? ll - 9 : 0), l + 9);
    goto out;
  }
  bool dup;
  if (!has_token(hd, "Upgrade", "websocket") || !has_token(hd, "Connection", "Upgrade")) {
    *detail = g_strdup("handshake response without Upgrade: websocket / Connection: Upgrade");
    goto out;
  }
  char want[29];
  actr__ws_accept_key(key, want);
  const hdr_t *acc = find(hd, "Sec-WebSocket-Accept", &dup);
  if (!acc || dup || !value_is(acc, want)) {
    *detail = g_strdup("handshake response with a wrong Sec-WebSocket-Accept");
    goto out;
  }
  /* §4.1: we offered no extension and no subprotocol, so the server may
   * select none. */
  const hdr_t *ext = find(hd, "Sec-WebSocket-Extensions", &dup);
  const hdr_t *proto = find(hd, "Sec-WebSocket-Protocol", &dup);
  if ((ext && ext->value_len) || (proto && proto->value_len)) {
    *detail = g_strdup("handshake response selects an extension or subprotocol we did not offer");
    goto out;
  }
  ret = 1;
out:
  g_free(hd);
  return ret;
}

void actr__ws_url_clear(actr__ws_url_t *u) {
  g_free(u->host);
  g_free(u->host_header);
  g_free(u->target);
  memset(u, 0, sizeof *u);
}

/* url_parse: @url with scheme @plain ("ws") or its TLS form @tls ("wss"). */
static int url_parse(const char *url, const char *plain, const char *tls, actr__ws_url_t *out) {
  memset(out, 0, sizeof *out);
  if (!url)
    return actr__fail(ACTR_EURL_PARSE, "URL is NULL");
  const char *p;
  size_t sl = strlen(plain), tl = strlen(tls);
  if (g_ascii_strncasecmp(url, plain, sl) == 0 && strncmp(url + sl, "://", 3) == 0) {
    p = url + sl + 3;
  } else if (g_ascii_strncasecmp(url, tls, tl) == 0 && strncmp(url + tl, "://", 3) == 0) {
    p = url + tl + 3;
    out->tls = true;
  } else {
    return actr__fail(ACTR_EURL_PARSE, "'%s': scheme is not %s:// or %s://", url, plain, tls);
  }
  if (strchr(url, '#'))
    return actr__fail(ACTR_EURL_PARSE, "'%s': fragment not allowed (RFC 6455 §3)", url);
  for (const char *c = url; *c; c++)
    if ((unsigned char)*c <= 0x20 || *c == 0x7F)
      return actr__fail(ACTR_EURL_PARSE, "'%s': space or control character", url);
  size_t auth_len = strcspn(p, "/?");
  const char *auth = p, *rest = p + auth_len;
  if (memchr(auth, '@', auth_len))
    return actr__fail(ACTR_EURL_PARSE, "'%s': user information not supported", url);
  const char *host, *port_s = NULL;
  size_t host_len;
  if (auth_len && auth[0] == '[') {
    const char *rb = memchr(auth, ']', auth_len);
    if (!rb)
      return actr__fail(ACTR_EURL_PARSE, "'%s': unterminated IPv6 literal", url);
    host = auth + 1;
    host_len = (size_t)(rb - host);
    if (rb + 1 < auth + auth_len) {
      if (rb[1] != ':')
        return actr__fail(ACTR_EURL_PARSE, "'%s': junk after IPv6 literal", url);
      port_s = rb + 2;
    }
  } else {
    const char *colon = memchr(auth, ':', auth_len);
    host = auth;
    host_len = colon ? (size_t)(colon - auth) : auth_len;
    if (colon)
      port_s = colon + 1;
  }
  if (host_len == 0)
    return actr__fail(ACTR_EURL_PARSE, "'%s': no host", url);
  unsigned port = out->tls ? 443 : 80;
  if (port_s) {
    size_t pl = (size_t)(auth + auth_len - port_s);
    if (pl == 0 || pl > 5)
      return actr__fail(ACTR_EURL_PARSE, "'%s': invalid port", url);
    port = 0;
    for (size_t i = 0; i < pl; i++) {
      if (!g_ascii_isdigit(port_s[i]))
        return actr__fail(ACTR_EURL_PARSE, "'%s': invalid port", url);
      port = port * 10 + (unsigned)(port_s[i] - '0');
    }
    if (port == 0 || port > 65535)
      return actr__fail(ACTR_EURL_PARSE, "'%s': port out of range", url);
  }
  out->port = (uint16_t)port;
  out->host = g_strndup(host, host_len);
  bool v6 = memchr(host, ':', host_len) != NULL;
  bool default_port = port == (out->tls ? 443u : 80u);
  out->host_header = default_port ? g_strdup_printf(v6 ? "[%s]" : "%s", out->host)
                                  : g_strdup_printf(v6 ? "[%s]:%u" : "%s:%u", out->host, port);
  out->target = rest[0] == '/' ? g_strdup(rest) : g_strdup_printf("/%s", rest);
  return ACTR_OK;
}

int actr__ws_url_parse(const char *url, actr__ws_url_t *out) {
  return url_parse(url, "ws", "wss", out);
}

int actr__http_url_parse(const char *url, actr__ws_url_t *out) {
  return url_parse(url, "http", "https", out);
}
