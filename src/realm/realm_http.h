/* realm_http.h — the HTTP POST of the AIS exchange (private). */
#ifndef ACTR_REALM_HTTP_H
#define ACTR_REALM_HTTP_H

#include <gio/gio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* actr__http_post: POST @body_len bytes of @content_type (also sent as
 * Accept) to @url (http:// or https://), with extra request @headers
 * ("Name: value", NULL-terminated list, may be NULL).  Blocks the calling
 * thread for at most about @timeout_ms (a thread of its own cancels the
 * exchange at that deadline, whatever is under way).  On ACTR_OK *@status
 * is the HTTP status (any) and *@resp (malloc'ed, transfer full) /
 * *@resp_len the body, at most @max_body bytes.  Codes: ACTR_EURL_PARSE,
 * ACTR_ECONNECTION (connect, TLS, send or receive failed), ACTR_ETIMEOUT,
 * ACTR_EPROTOCOL (not HTTP, over a bound), ACTR_ENO_MEMORY. */
int actr__http_post(const char *url, const char *const *headers, const char *content_type,
                    const void *body, size_t body_len, int timeout_ms, size_t max_body,
                    int *status, uint8_t **resp, size_t *resp_len);

/* actr__http_thread_stop: the exchanges this thread makes from now on
 * also end (ACTR_ECONNECTION, "cancelled") when @stop is cancelled, even
 * one under way; NULL: none.  The caller keeps @stop alive meanwhile.  A
 * node's AIS thread uses it so that actr_node_free need not wait out an
 * exchange that hangs. */
void actr__http_thread_stop(GCancellable *stop);

/* actr__http_response_parse: parse a response from the @len bytes read so
 * far (@in), @eof when the connection has ended after them.  ACTR_OK with
 * *@complete false: more bytes are needed.  ACTR_OK with *@complete true:
 * *@status (100-599) and *@body (malloc'ed, transfer full; never NULL) /
 * *@body_len, at most @max_body bytes.  ACTR_EPROTOCOL: not HTTP/1.x, head
 * over 16 KiB, bad Content-Length or chunked framing, body over @max_body,
 * or the connection ended first; ACTR_ENO_MEMORY.  Pure: reads nothing
 * else, keeps nothing between calls (call it again with more bytes). */
int actr__http_response_parse(const uint8_t *in, size_t len, bool eof, size_t max_body,
                              bool *complete, int *status, uint8_t **body, size_t *body_len);

#endif
