/* ws_http.h — the HTTP/1.1 upgrade handshake of RFC 6455 §4 and ws:// URLs.
 * Pure functions over byte buffers (no sockets), so they can be fuzzed. */
#ifndef ACTR_WS_HTTP_H
#define ACTR_WS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of a handshake head (request or response line plus headers).  A
 * longer head is refused (431 for a request), never truncated. */
#define ACTR__WS_HTTP_MAX_HEAD 16384
#define ACTR__WS_HTTP_MAX_HEADERS 64
#define ACTR__WS_HTTP_MAX_ACTR_HEADER 4096 /* X-Actr-Source-ID / X-Actr-Credential */

/* actr__ws_request_t: what the server keeps of a valid upgrade request
 * (strings owned, free with actr__ws_request_clear). */
typedef struct actr__ws_request {
  char *target;     /* request-target as sent, e.g. "/lane?x=1" */
  char *path;       /* its path part, e.g. "/lane" */
  char *key;        /* Sec-WebSocket-Key */
  char *source_id;  /* X-Actr-Source-ID, NULL when absent */
  char *credential; /* X-Actr-Credential, NULL when absent */
} actr__ws_request_t;

void actr__ws_request_clear(actr__ws_request_t *req);

/* actr__ws_http_head_ready: whether parsing buf[0..@len) may now say more
 * than "need more": it holds the empty line that ends a head, a byte no head
 * may hold (refused at once), or ACTR__WS_HTTP_MAX_HEAD bytes.  Looks only
 * at the bytes after *@scanned (then set to @len; start at 0), so a head
 * that comes a byte at a time costs time linear in its length, not
 * quadratic as parsing it again at every read would. */
bool actr__ws_http_head_ready(const char *buf, size_t len, size_t *scanned);

/* actr__ws_http_parse_request: look for a whole request head in the @len
 * bytes at @buf.  Returns
 *    1  a valid upgrade request: *@head_len bytes form the head, *@req is set;
 *    0  the head is not complete yet (and is still under the size bound);
 *   -1  refused: *@status is the 4xx to answer (400 malformed, 405 not GET,
 *       426 wrong Sec-WebSocket-Version, 431 head too large) and *@why says
 *       why (static text). */
int actr__ws_http_parse_request(const char *buf, size_t len, size_t *head_len,
                                actr__ws_request_t *req, int *status, const char **why);

/* actr__ws_http_header: the value of the first header called @name (any
 * case) in a head parse_request accepted (@head_len bytes), or NULL
 * (transfer full, g_free). */
char *actr__ws_http_header(const char *head, size_t head_len, const char *name);

/* actr__ws_accept_key: base64(SHA-1(key + GUID)) into @out (29 bytes with
 * the NUL), RFC 6455 §4.2.2 step 5.4. */
void actr__ws_accept_key(const char *key, char out[29]);

/* actr__ws_new_key: a fresh Sec-WebSocket-Key (16 random bytes, base64)
 * into @out (25 bytes with the NUL). */
void actr__ws_new_key(char out[25]);

/* The heads we send (transfer full, g_free). */
char *actr__ws_http_response_101(const char *key);
char *actr__ws_http_response_error(int status, const char *why);
char *actr__ws_http_request(const char *host_header, const char *target, const char *key,
                            const char *source_id, const char *credential);

/* actr__ws_http_parse_response: as parse_request, for the server's answer
 * to a request that sent @key.  1: a valid 101 (head is *@head_len bytes);
 * 0: incomplete; -1: refused or invalid: *@status is the HTTP status (0 if
 * the head is malformed) and *@detail a message (transfer full, g_free). */
int actr__ws_http_parse_response(const char *buf, size_t len, const char *key,
                                 size_t *head_len, int *status, char **detail);

/* actr__ws_url_t: a parsed ws:// or wss:// URL (strings owned). */
typedef struct actr__ws_url {
  bool tls;
  char *host;        /* without brackets for IPv6 literals */
  uint16_t port;     /* 80 / 443 when absent */
  char *host_header; /* value for the Host header */
  char *target;      /* path and query, "/" when absent */
} actr__ws_url_t;

/* actr__ws_url_parse: ACTR_OK or ACTR_EURL_PARSE (detail set).
 * actr__http_url_parse: the same for http:// and https:// (AIS). */
int actr__ws_url_parse(const char *url, actr__ws_url_t *out);
int actr__http_url_parse(const char *url, actr__ws_url_t *out);
void actr__ws_url_clear(actr__ws_url_t *u);

#endif
