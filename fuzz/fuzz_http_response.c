/* fuzz_http_response.c — libFuzzer target for the response of the one HTTP
 * exchange a node makes (AIS register and renew, src/realm/http_client.c):
 * status line, headers, Content-Length, chunked framing, body bounds.
 * The input is what the server sent.  It is parsed whole (the connection
 * ended after it) and at every 97th prefix (more may come), as the client
 * does after each read.  Checks: a complete answer has a status of
 * 100-599 and a body within the bound; the end of the input always decides;
 * a prefix that was decided (complete or refused) is decided the same way
 * by the whole input; nothing is handed out unless complete.  Sanitizers
 * catch the rest. */
#include <stdint.h>
#include <stdlib.h>

#include <actr/error.h>

#include "realm_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODY 4096u

typedef struct {
  int rc, status;
  bool complete;
  size_t body_len;
} result_t;

static result_t parse(const uint8_t *data, size_t size, bool eof) {
  result_t r;
  uint8_t *body = (uint8_t *)&r;
  r.status = -1;
  r.body_len = 1;
  r.rc = actr__http_response_parse(data, size, eof, MAX_BODY, &r.complete, &r.status, &body,
                                   &r.body_len);
  if (r.rc != ACTR_OK && r.rc != ACTR_EPROTOCOL && r.rc != ACTR_ENO_MEMORY)
    abort();
  if (r.rc == ACTR_OK && r.complete) {
    if (!body || r.body_len > MAX_BODY || r.status < 100 || r.status > 599)
      abort();
  } else if (body || r.body_len || r.status) {
    abort(); /* nothing handed out unless complete */
  }
  if (eof && r.rc == ACTR_OK && !r.complete)
    abort(); /* the end of the connection always decides */
  free(body);
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  result_t whole = parse(data, size, true);
  for (size_t cut = 97; cut < size; cut += 97) {
    result_t part = parse(data, cut, false);
    if (part.rc == ACTR_ENO_MEMORY || whole.rc == ACTR_ENO_MEMORY)
      break;
    if (part.rc != ACTR_OK || part.complete) {
      /* Decided before the end: more bytes change nothing. */
      if (part.rc != whole.rc || part.status != whole.status || part.body_len != whole.body_len)
        abort();
      break;
    }
  }
  return 0;
}
