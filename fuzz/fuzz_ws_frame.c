/* fuzz_ws_frame.c — libFuzzer target for the RFC 6455 frame reader
 * (src/ws/ws_frame.c): header decoding, unmasking, fragmentation with
 * control frames in between, limits, and the direct-read path.
 *
 * Input: one config byte (bit 0: expect masked frames, as a server; bits
 * 1-3: the chunking of the stream; the others unused), then the byte
 * stream.  The stream is
 * decoded twice — once fed in chunks, once using the direct path wherever
 * it is offered (as the socket layer does for large payloads) — and both
 * must produce the same events, byte for byte.  Messages never exceed the
 * limit; after an error nothing more is read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg_internal.h"
#include "ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGE 65536
#define MAX_EVENTS 4096

typedef struct ev_log {
  int kind[MAX_EVENTS];
  uint64_t hash[MAX_EVENTS];
  size_t len[MAX_EVENTS];
  size_t n;
  int error;
} ev_log_t;

static uint64_t fnv(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static void record(ev_log_t *log, actr__ws_event_t *ev) {
  if (ev->kind == ACTR__WS_EV_NONE)
    return;
  if (ev->kind == ACTR__WS_EV_ERROR) {
    log->error = 1;
    if (ev->code < 1000 || !ev->why)
      abort();
  }
  const uint8_t *p = ev->ctl;
  size_t n = ev->kind == ACTR__WS_EV_ERROR ? 0 : ev->ctl_len; /* errors carry no payload */
  if (ev->kind == ACTR__WS_EV_MESSAGE) {
    p = actr_msg_data(ev->msg);
    n = actr_msg_len(ev->msg);
    if (n > MAX_MESSAGE)
      abort();
  } else if (n > ACTR__WS_MAX_CONTROL) {
    abort();
  }
  if (log->n < MAX_EVENTS) {
    log->kind[log->n] = ev->kind * 2 + (ev->kind == ACTR__WS_EV_MESSAGE && ev->text);
    log->hash[log->n] = fnv(p, n);
    log->len[log->n] = n;
    log->n++;
  }
  if (ev->kind == ACTR__WS_EV_MESSAGE)
    actr_msg_free(ev->msg);
}

static void run_chunked(const uint8_t *s, size_t n, bool masked, size_t chunk, ev_log_t *log) {
  actr__ws_reader_t r;
  actr__ws_reader_init(&r, masked, MAX_MESSAGE);
  size_t pos = 0;
  while (pos < n && !log->error) {
    size_t k = n - pos < chunk ? n - pos : chunk;
    size_t used = 0;
    while (used < k && !log->error) {
      actr__ws_event_t ev;
      size_t u = actr__ws_reader_feed(&r, s + pos + used, k - used, &ev);
      if (u == 0 && ev.kind == ACTR__WS_EV_NONE)
        abort(); /* no progress and no event */
      used += u;
      record(log, &ev);
    }
    pos += k;
  }
  actr__ws_reader_clear(&r);
}

static void run_direct(const uint8_t *s, size_t n, bool masked, ev_log_t *log) {
  actr__ws_reader_t r;
  actr__ws_reader_init(&r, masked, MAX_MESSAGE);
  size_t pos = 0;
  while (pos < n && !log->error) {
    uint8_t *dst;
    size_t want;
    actr__ws_event_t ev;
    if (actr__ws_reader_direct(&r, 1, &dst, &want)) {
      size_t k = n - pos < want ? n - pos : want;
      if (k > 3)
        k -= k / 3; /* partial reads too */
      memcpy(dst, s + pos, k);
      pos += k;
      actr__ws_reader_direct_done(&r, k, &ev);
    } else {
      pos += actr__ws_reader_feed(&r, s + pos, 1, &ev);
    }
    record(log, &ev);
  }
  actr__ws_reader_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  bool masked = data[0] & 1;
  static const size_t chunks[] = {1, 2, 3, 7, 14, 100, 4096, SIZE_MAX};
  size_t chunk = chunks[(data[0] >> 1) & 7];
  static ev_log_t a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  run_chunked(data + 1, size - 1, masked, chunk, &a);
  run_direct(data + 1, size - 1, masked, &b);
  if (a.n != b.n || a.error != b.error)
    abort();
  for (size_t i = 0; i < a.n; i++)
    if (a.kind[i] != b.kind[i] || a.hash[i] != b.hash[i] || a.len[i] != b.len[i])
      abort();
  return 0;
}
