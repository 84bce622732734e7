/* realm_http.h — the HTTP POST of the AIS exchange (private). */
#ifndef ACTR_REALM_HTTP_H
#define ACTR_REALM_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* actr__http_post: POST @body_len bytes of @content_type (also sent as
 * Accept) to @url (http:// or https://), with extra request @headers
 * ("Name: value", NULL-terminated list, may be NULL).  Blocks the calling
 * thread for at most about @timeout_ms.  On ACTR_OK *@status is the HTTP
 * status (any) and *@resp (malloc'ed, transfer full) / *@resp_len the body,
 * at most @max_body bytes.  Codes: ACTR_EURL_PARSE, ACTR_ECONNECTION
 * (connect, TLS, send or receive failed), ACTR_ETIMEOUT, ACTR_EPROTOCOL (not
 * HTTP, over a bound), ACTR_ENO_MEMORY. */
int actr__http_post(const char *url, const char *const *headers, const char *content_type,
                    const void *body, size_t body_len, int timeout_ms, size_t max_body,
                    int *status, uint8_t **resp, size_t *resp_len);

#endif
