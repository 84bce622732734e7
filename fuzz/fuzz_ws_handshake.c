/* fuzz_ws_handshake.c — libFuzzer target for the HTTP/1.1 upgrade parsers
 * (RFC 6455 §4, src/ws/ws_http.c).  Input: one byte choosing request (even)
 * or response (odd), then the head.
 *
 * Invariants: never a crash or a read past the input; a complete head lies
 * within the input and re-parsing exactly that head gives the same result;
 * a refusal carries a 4xx status (requests); a valid request carries a key
 * whose 101 answer the response parser accepts; an incomplete head is under
 * the size bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "ws_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  bool response = data[0] & 1;
  /* A private copy of exactly the input, so any over-read is caught. */
  char *buf = malloc(size - 1 ? size - 1 : 1);
  memcpy(buf, data + 1, size - 1);
  size_t n = size - 1, head = 0;
  if (!response) {
    actr__ws_request_t req;
    int status = 0;
    const char *why = NULL;
    int r = actr__ws_http_parse_request(buf, n, &head, &req, &status, &why);
    if (r == 1) {
      if (head > n || !req.path || !req.key || !req.target || req.path[0] != '/')
        abort();
      actr__ws_request_t again;
      size_t head2;
      if (actr__ws_http_parse_request(buf, head, &head2, &again, &status, &why) != 1 || head2 != head)
        abort();
      actr__ws_request_clear(&again);
      /* The check callback's header lookup over the accepted head: the
       * Sec-WebSocket-Key it returns is the one the parser kept. */
      char *key = actr__ws_http_header(buf, head, "sec-websocket-key");
      char *origin = actr__ws_http_header(buf, head, "Origin");
      if (!key || strlen(key) != strlen(req.key))
        abort();
      g_free(key);
      g_free(origin);
      char *resp = actr__ws_http_response_101(req.key);
      size_t rh;
      int st;
      char *detail = NULL;
      if (actr__ws_http_parse_response(resp, strlen(resp), req.key, &rh, &st, &detail) != 1)
        abort();
      g_free(resp);
      actr__ws_request_clear(&req);
    } else if (r == -1) {
      if (status < 400 || status > 499 || !why)
        abort();
    } else if (r == 0) {
      if (n >= ACTR__WS_HTTP_MAX_HEAD)
        abort();
    } else {
      abort();
    }
  } else {
    int status;
    char *detail = NULL;
    int r = actr__ws_http_parse_response(buf, n, "dGhlIHNhbXBsZSBub25jZQ==", &head, &status, &detail);
    if (r == 1 && (head > n || status != 101 || detail))
      abort();
    if (r == -1 && !detail)
      abort();
    if (r == 0 && n >= ACTR__WS_HTTP_MAX_HEAD)
      abort();
    g_free(detail);
  }
  free(buf);
  return 0;
}
