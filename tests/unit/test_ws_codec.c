/* test_ws_codec.c — the pieces of the WebSocket wire that need no socket:
 * frame headers (RFC 6455 §5.2), masking (§5.3), the incremental reader
 * (fragments, interleaved control frames, limits, direct reads), the 5-byte
 * lane message header (SPEC §1.4), the upgrade handshake (§4) and URLs. */
#include <glib.h>
#include <malloc.h>
#include <string.h>

#include <actr/error.h>

#include "msg_internal.h"
#include "ws_frame.h"
#include "ws_http.h"

/* ---- frames ---- */

static void test_header_lengths(void) {
  static const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 1ull << 32, (1ull << 63) - 1};
  static const size_t want[] = {2, 2, 2, 4, 4, 4, 10, 10, 10};
  for (size_t i = 0; i < G_N_ELEMENTS(lens); i++) {
    for (int m = 0; m < 2; m++) {
      uint8_t buf[ACTR__WS_MAX_HEADER], key[4] = {1, 2, 3, 4};
      size_t n = actr__ws_frame_header_encode(buf, i & 1, ACTR__WS_OP_BINARY, lens[i], m ? key : NULL);
      g_assert_cmpuint(n, ==, want[i] + (m ? 4 : 0));
      g_assert_cmpuint(n, ==, actr__ws_frame_header_size(lens[i], m));
      actr__ws_frame_hdr_t h;
      const char *why = NULL;
      for (size_t k = 0; k < n; k++) /* every prefix asks for more */
        g_assert_cmpint(actr__ws_frame_header_decode(buf, k, &h, &why), ==, 0);
      g_assert_cmpint(actr__ws_frame_header_decode(buf, n, &h, &why), ==, (int)n);
      g_assert_cmpuint(h.payload_len, ==, lens[i]);
      g_assert_cmpint(h.fin, ==, (int)(i & 1));
      g_assert_cmpint(h.masked, ==, m);
      if (m)
        g_assert_cmpmem(h.mask, 4, key, 4);
    }
  }
}

static void test_header_refusals(void) {
  actr__ws_frame_hdr_t h;
  const char *why;
  uint8_t rsv[] = {0xC2, 0x00};
  g_assert_cmpint(actr__ws_frame_header_decode(rsv, 2, &h, &why), ==, -ACTR__WS_CLOSE_PROTOCOL);
  uint8_t op[] = {0x83, 0x00};
  g_assert_cmpint(actr__ws_frame_header_decode(op, 2, &h, &why), ==, -ACTR__WS_CLOSE_PROTOCOL);
  uint8_t frag_ping[] = {0x09, 0x00};
  g_assert_cmpint(actr__ws_frame_header_decode(frag_ping, 2, &h, &why), ==, -ACTR__WS_CLOSE_PROTOCOL);
  uint8_t long_ping[] = {0x89, 0x7E, 0x00, 0x80};
  g_assert_cmpint(actr__ws_frame_header_decode(long_ping, 4, &h, &why), ==, -ACTR__WS_CLOSE_PROTOCOL);
  uint8_t top_bit[] = {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1};
  g_assert_cmpint(actr__ws_frame_header_decode(top_bit, 10, &h, &why), ==, -ACTR__WS_CLOSE_PROTOCOL);
}

static void test_mask_matches_bytewise(void) {
  uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (size_t len = 0; len < 300; len += 7) {
    for (size_t phase = 0; phase < 4; phase++) {
      for (size_t off = 0; off < 3; off++) {
        uint8_t src[320], dst[320], want[320];
        for (size_t i = 0; i < len; i++)
          src[off + i] = (uint8_t)(i * 13 + 1);
        for (size_t i = 0; i < len; i++)
          want[i] = src[off + i] ^ key[(phase + i) & 3];
        actr__ws_mask(dst + off, src + off, len, key, phase);
        g_assert_cmpmem(dst + off, len, want, len);
        actr__ws_mask(src + off, src + off, len, key, phase); /* in place */
        g_assert_cmpmem(src + off, len, want, len);
      }
    }
  }
}

/* A stream of frames to feed a reader. */
static void put_frame(GByteArray *s, bool fin, uint8_t op, const void *p, size_t n, bool mask) {
  uint8_t h[ACTR__WS_MAX_HEADER], key[4] = {9, 8, 7, 6};
  size_t hl = actr__ws_frame_header_encode(h, fin, op, n, mask ? key : NULL);
  g_byte_array_append(s, h, (guint)hl);
  guint at = s->len;
  g_byte_array_set_size(s, s->len + (guint)n);
  if (mask)
    actr__ws_mask(s->data + at, p, n, key, 0);
  else if (n)
    memcpy(s->data + at, p, n);
}

typedef struct events {
  GPtrArray *msgs; /* GBytes */
  int pings, pongs, closes, errors;
  uint16_t code;
} events_t;

static void collect(events_t *e, actr__ws_event_t *ev) {
  switch (ev->kind) {
  case ACTR__WS_EV_MESSAGE:
    g_ptr_array_add(e->msgs, g_bytes_new(actr_msg_data(ev->msg), actr_msg_len(ev->msg)));
    actr_msg_free(ev->msg);
    break;
  case ACTR__WS_EV_PING: e->pings++; break;
  case ACTR__WS_EV_PONG: e->pongs++; break;
  case ACTR__WS_EV_CLOSE: e->closes++; break;
  case ACTR__WS_EV_ERROR: e->errors++; e->code = ev->code; break;
  default: break;
  }
}

/* feed_chunked: the stream in pieces of @chunk bytes (0: all at once). */
static void feed_chunked(actr__ws_reader_t *r, const GByteArray *s, size_t chunk, events_t *e) {
  size_t pos = 0;
  while (pos < s->len && !e->errors) {
    size_t n = chunk ? MIN(chunk, s->len - pos) : s->len - pos;
    size_t used = 0;
    while (used < n && !e->errors) {
      actr__ws_event_t ev;
      used += actr__ws_reader_feed(r, s->data + pos + used, n - used, &ev);
      collect(e, &ev);
    }
    pos += n;
  }
}

/* A fragmented message keeps its bytes, not the doubled buffer it grew
 * in: the queue bounds count what a message shows (16 KiB and 1 byte
 * kept 32 KiB; 5 bytes and an empty last fragment kept 4 KiB). */
static void test_reader_fragmented_keeps_its_bytes(void) {
  static const size_t first[] = {16384, 5, 70000};
  static const size_t last[] = {1, 0, 1};
  for (size_t i = 0; i < G_N_ELEMENTS(first); i++) {
    GByteArray *s = g_byte_array_new();
    uint8_t *a = g_malloc0(first[i]);
    put_frame(s, false, ACTR__WS_OP_BINARY, a, first[i], true);
    put_frame(s, true, ACTR__WS_OP_CONT, "z", last[i], true);
    g_free(a);
    actr__ws_reader_t r;
    actr__ws_reader_init(&r, true, 1 << 20);
    size_t pos = 0;
    actr_msg_t *msg = NULL;
    while (pos < s->len && !msg) {
      actr__ws_event_t ev;
      pos += actr__ws_reader_feed(&r, s->data + pos, s->len - pos, &ev);
      g_assert_cmpint(ev.kind, !=, ACTR__WS_EV_ERROR);
      if (ev.kind == ACTR__WS_EV_MESSAGE)
        msg = ev.msg;
    }
    g_assert_nonnull(msg);
    size_t len = first[i] + last[i];
    g_assert_cmpuint(actr_msg_len(msg), ==, len);
    size_t kept = malloc_usable_size((void *)actr_msg_data(msg));
    g_test_message("%zu + %zu bytes: %zu kept", first[i], last[i], kept);
    /* The allocator's rounding: a few bytes, a page for an mmapped block. */
    g_assert_cmpuint(kept, <, len + (len > 65536 ? 4096 + 64 : 64));
    actr_msg_free(msg);
    actr__ws_reader_clear(&r);
    g_byte_array_unref(s);
  }
}

static void test_reader_fragments_and_control(void) {
  for (int masked = 0; masked < 2; masked++) {
    GByteArray *s = g_byte_array_new();
    put_frame(s, true, ACTR__WS_OP_BINARY, "one", 3, masked);
    put_frame(s, false, ACTR__WS_OP_BINARY, "tw", 2, masked);
    put_frame(s, true, ACTR__WS_OP_PING, "p", 1, masked); /* between fragments, §5.4 */
    put_frame(s, false, ACTR__WS_OP_CONT, "o-", 2, masked);
    put_frame(s, true, ACTR__WS_OP_PONG, NULL, 0, masked);
    put_frame(s, true, ACTR__WS_OP_CONT, "two", 3, masked);
    put_frame(s, true, ACTR__WS_OP_BINARY, NULL, 0, masked);
    put_frame(s, true, ACTR__WS_OP_CLOSE, "\x03\xe8", 2, masked);
    static const size_t chunks[] = {0, 1, 2, 3, 5, 13};
    for (size_t c = 0; c < G_N_ELEMENTS(chunks); c++) {
      actr__ws_reader_t r;
      actr__ws_reader_init(&r, masked, 1 << 20);
      events_t e = {.msgs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref)};
      feed_chunked(&r, s, chunks[c], &e);
      g_assert_cmpint(e.errors, ==, 0);
      g_assert_cmpuint(e.msgs->len, ==, 3);
      gsize n;
      const char *d = g_bytes_get_data(e.msgs->pdata[0], &n);
      g_assert_cmpmem(d, n, "one", 3);
      d = g_bytes_get_data(e.msgs->pdata[1], &n);
      g_assert_cmpmem(d, n, "two-two", 7);
      g_assert_cmpuint(g_bytes_get_size(e.msgs->pdata[2]), ==, 0);
      g_assert_cmpint(e.pings, ==, 1);
      g_assert_cmpint(e.pongs, ==, 1);
      g_assert_cmpint(e.closes, ==, 1);
      g_ptr_array_unref(e.msgs);
      actr__ws_reader_clear(&r);
    }
    g_byte_array_unref(s);
  }
}

static void expect_error(const GByteArray *s, bool masked, uint64_t max, uint16_t code) {
  actr__ws_reader_t r;
  actr__ws_reader_init(&r, masked, max);
  events_t e = {.msgs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref)};
  feed_chunked(&r, s, 0, &e);
  g_assert_cmpint(e.errors, ==, 1);
  g_assert_cmpuint(e.code, ==, code);
  g_ptr_array_unref(e.msgs);
  actr__ws_reader_clear(&r);
}

static void test_reader_refusals(void) {
  GByteArray *s = g_byte_array_new();
  put_frame(s, true, ACTR__WS_OP_BINARY, "x", 1, false); /* unmasked to a server */
  expect_error(s, true, 100, ACTR__WS_CLOSE_PROTOCOL);
  expect_error(s, false, 0, ACTR__WS_CLOSE_TOO_BIG); /* over the limit */
  g_byte_array_set_size(s, 0);
  put_frame(s, true, ACTR__WS_OP_CONT, "x", 1, false); /* continuation of nothing */
  expect_error(s, false, 100, ACTR__WS_CLOSE_PROTOCOL);
  g_byte_array_set_size(s, 0);
  put_frame(s, false, ACTR__WS_OP_BINARY, "x", 1, false);
  put_frame(s, true, ACTR__WS_OP_BINARY, "y", 1, false); /* new message inside one */
  expect_error(s, false, 100, ACTR__WS_CLOSE_PROTOCOL);
  g_byte_array_set_size(s, 0);
  uint8_t big[64] = {0};
  put_frame(s, false, ACTR__WS_OP_BINARY, big, 40, false);
  put_frame(s, true, ACTR__WS_OP_CONT, big, 40, false); /* fragments add up over the limit */
  expect_error(s, false, 64, ACTR__WS_CLOSE_TOO_BIG);
  g_byte_array_unref(s);
}

/* The direct path: after the header, the payload is written by the caller
 * straight into the message (as the socket does), spill and all. */
static void test_reader_direct(void) {
  size_t len = 200000;
  uint8_t *payload = g_malloc(len);
  for (size_t i = 0; i < len; i++)
    payload[i] = (uint8_t)(i * 7 + (i >> 9));
  GByteArray *s = g_byte_array_new();
  put_frame(s, true, ACTR__WS_OP_BINARY, payload, len, true);
  put_frame(s, true, ACTR__WS_OP_BINARY, "tail", 4, true);
  actr__ws_reader_t r;
  actr__ws_reader_init(&r, true, 1 << 20);
  actr__ws_event_t ev;
  size_t used = actr__ws_reader_feed(&r, s->data, 100, &ev); /* header and 86 bytes */
  g_assert_cmpuint(used, ==, 100);
  g_assert_cmpint(ev.kind, ==, ACTR__WS_EV_NONE);
  size_t pos = 100;
  uint8_t *dst;
  size_t want;
  while (actr__ws_reader_direct(&r, 1, &dst, &want)) {
    size_t n = MIN(want, (size_t)7777);
    memcpy(dst, s->data + pos, n);
    pos += n;
    actr__ws_reader_direct_done(&r, n, &ev);
    if (ev.kind == ACTR__WS_EV_MESSAGE)
      break;
  }
  g_assert_cmpint(ev.kind, ==, ACTR__WS_EV_MESSAGE);
  g_assert_cmpmem(actr_msg_data(ev.msg), actr_msg_len(ev.msg), payload, len);
  actr_msg_free(ev.msg);
  g_assert_false(actr__ws_reader_direct(&r, 1, &dst, &want));
  actr__ws_reader_feed(&r, s->data + pos, s->len - pos, &ev);
  g_assert_cmpint(ev.kind, ==, ACTR__WS_EV_MESSAGE);
  g_assert_cmpmem(actr_msg_data(ev.msg), actr_msg_len(ev.msg), "tail", 4);
  actr_msg_free(ev.msg);
  actr__ws_reader_clear(&r);
  g_byte_array_unref(s);
  g_free(payload);
}

/* A header declares its payload's length; the bytes are the peer's to
 * send.  Storage follows the bytes: a header declaring 64 MiB (one frame,
 * or the first of several) holds nothing until bytes come, then at most
 * 4 MiB + 4 KiB (before: 64 MiB at the header); a single-frame message up
 * to that size (a 4 MiB lane message and its 5-byte header) gets its exact
 * storage at the header; a 9 MiB message, one frame or three fragments,
 * read directly and through feed in turns, grows as its bytes come, never
 * more than 4 MiB + 4 KiB or as much again as came ahead of them, and, in
 * one frame, never past its end. */
static void test_reader_storage_follows_bytes(void) {
  const size_t exact = (4u << 20) + 4096;
  actr__ws_reader_t r;
  actr__ws_event_t ev;
  uint8_t h[ACTR__WS_MAX_HEADER], *dst;
  size_t want;
  for (int fin = 0; fin < 2; fin++) {
    actr__ws_reader_init(&r, false, 64u << 20);
    size_t hl = actr__ws_frame_header_encode(h, fin, ACTR__WS_OP_BINARY, 64u << 20, NULL);
    g_assert_cmpuint(actr__ws_reader_feed(&r, h, hl, &ev), ==, hl);
    g_assert_cmpint(ev.kind, ==, ACTR__WS_EV_NONE);
    g_assert_cmpuint(r.cap, ==, 0);
    g_assert_true(actr__ws_reader_direct(&r, 1, &dst, &want));
    g_assert_cmpuint(want, ==, exact);
    g_assert_cmpuint(actr__ws_reader_feed(&r, (const uint8_t *)"x", 1, &ev), ==, 1);
    g_assert_cmpuint(r.cap, ==, exact);
    actr__ws_reader_clear(&r);
  }
  actr__ws_reader_init(&r, false, 64u << 20);
  size_t hl = actr__ws_frame_header_encode(h, true, ACTR__WS_OP_BINARY, (4u << 20) + 5, NULL);
  actr__ws_reader_feed(&r, h, hl, &ev);
  g_assert_nonnull(r.msg); /* inline storage, exact */
  g_assert_cmpuint(r.cap, ==, (4u << 20) + 5);
  actr__ws_reader_clear(&r);

  size_t len = 9u << 20;
  uint8_t *payload = g_malloc(len);
  for (size_t i = 0; i < len; i++)
    payload[i] = (uint8_t)(i * 13 + (i >> 11));
  for (int fragmented = 0; fragmented < 2; fragmented++) {
    GByteArray *s = g_byte_array_new();
    if (fragmented) {
      put_frame(s, false, ACTR__WS_OP_BINARY, payload, 1000, false);
      put_frame(s, false, ACTR__WS_OP_CONT, payload + 1000, len - 2000, false);
      put_frame(s, true, ACTR__WS_OP_CONT, payload + len - 1000, 1000, false);
    } else {
      put_frame(s, true, ACTR__WS_OP_BINARY, payload, len, false);
    }
    actr__ws_reader_init(&r, false, 64u << 20);
    size_t pos = 0;
    ev.kind = ACTR__WS_EV_NONE;
    for (int turn = 0; ev.kind == ACTR__WS_EV_NONE && pos < s->len; turn++) {
      if (turn % 2 && actr__ws_reader_direct(&r, 1, &dst, &want)) {
        g_assert_cmpuint(want, <=, r.cap - r.len);
        size_t n = MIN(want, (size_t)300000);
        memcpy(dst, s->data + pos, n);
        pos += n;
        actr__ws_reader_direct_done(&r, n, &ev);
      } else {
        pos += actr__ws_reader_feed(&r, s->data + pos, MIN(s->len - pos, (size_t)200000), &ev);
      }
      if (ev.kind == ACTR__WS_EV_NONE) {
        g_assert_cmpuint(r.cap, <=, MAX(2 * r.len, r.len + exact));
        if (!fragmented)
          g_assert_cmpuint(r.cap, <=, len);
      }
    }
    g_assert_cmpint(ev.kind, ==, ACTR__WS_EV_MESSAGE);
    g_assert_cmpuint(pos, ==, s->len);
    g_assert_cmpmem(actr_msg_data(ev.msg), actr_msg_len(ev.msg), payload, len);
    actr_msg_free(ev.msg);
    actr__ws_reader_clear(&r);
    g_byte_array_unref(s);
  }
  g_free(payload);
}

/* ---- SPEC §1.4 ---- */

static void test_msg_header(void) {
  uint8_t m[16];
  actr__ws_msg_header_encode(m, ACTR_PAYLOAD_STREAM_RELIABLE, 3);
  g_assert_cmpmem(m, 5, "\x02\x00\x00\x00\x03", 5);
  memcpy(m + 5, "abcXYZ", 6);
  actr_payload_type_t t;
  size_t len;
  g_assert_cmpint(actr__ws_msg_decode(m, 8, &t, &len), ==, ACTR_OK);
  g_assert_cmpint(t, ==, ACTR_PAYLOAD_STREAM_RELIABLE);
  g_assert_cmpuint(len, ==, 3);
  g_assert_cmpint(actr__ws_msg_decode(m, 11, &t, &len), ==, ACTR_OK); /* trailing bytes ignored */
  g_assert_cmpint(actr__ws_msg_decode(m, 4, &t, &len), ==, ACTR_EDESERIALIZATION);
  g_assert_cmpint(actr__ws_msg_decode(m, 7, &t, &len), ==, ACTR_EDESERIALIZATION);
  m[0] = 5;
  g_assert_cmpint(actr__ws_msg_decode(m, 8, &t, &len), ==, ACTR_EDESERIALIZATION);
  m[0] = 4; /* MEDIA_RTP is valid on a WebSocket */
  g_assert_cmpint(actr__ws_msg_decode(m, 8, &t, &len), ==, ACTR_OK);
}

/* ---- handshake ---- */

static void test_accept_key_rfc_example(void) {
  char out[29];
  actr__ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out); /* RFC 6455 §1.3 */
  g_assert_cmpstr(out, ==, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

#define REQ(extra)                                                                                 \
  "GET /lane?x=1 HTTP/1.1\r\nHost: h:1\r\nupgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n" \
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n" extra "\r\n"

static int parse(const char *text, int *status, actr__ws_request_t *req) {
  size_t head;
  const char *why;
  int r = actr__ws_http_parse_request(text, strlen(text), &head, req, status, &why);
  if (r == 1)
    g_assert_cmpuint(head, ==, strlen(text));
  return r;
}

static void test_request_valid(void) {
  actr__ws_request_t req;
  int status;
  g_assert_cmpint(parse(REQ("X-Actr-Source-ID: 0a1b\r\nX-ACTR-CREDENTIAL: Zm9v\r\n"), &status, &req), ==, 1);
  g_assert_cmpstr(req.path, ==, "/lane");
  g_assert_cmpstr(req.target, ==, "/lane?x=1");
  g_assert_cmpstr(req.source_id, ==, "0a1b");
  g_assert_cmpstr(req.credential, ==, "Zm9v");
  actr__ws_request_clear(&req);
  g_assert_cmpint(parse(REQ(""), &status, &req), ==, 1);
  g_assert_null(req.source_id);
  actr__ws_request_clear(&req);
  /* Every proper prefix is incomplete. */
  const char *full = REQ("");
  for (size_t i = 0; i < strlen(full); i++) {
    size_t head;
    const char *why;
    g_assert_cmpint(actr__ws_http_parse_request(full, i, &head, &req, &status, &why), ==, 0);
  }
}

/* A head that comes a byte at a time is parsed once, when its empty line
 * is there (CRLF or bare LF), not again at every byte; a byte no head may
 * hold, or the size bound, lets the parser refuse at once. */
static void test_head_ready(void) {
  const char *full = REQ("");
  size_t scanned = 0, n = strlen(full);
  for (size_t i = 1; i < n; i++)
    g_assert_false(actr__ws_http_head_ready(full, i, &scanned));
  g_assert_true(actr__ws_http_head_ready(full, n, &scanned));
  const char *lf = "GET / HTTP/1.1\nHost: x\n\n";
  scanned = 0;
  for (size_t i = 1; i < strlen(lf); i++)
    g_assert_false(actr__ws_http_head_ready(lf, i, &scanned));
  g_assert_true(actr__ws_http_head_ready(lf, strlen(lf), &scanned));
  scanned = 0;
  g_assert_false(actr__ws_http_head_ready("GET / HT", 8, &scanned));
  g_assert_true(actr__ws_http_head_ready("GET / HT\x16", 9, &scanned)); /* TLS to ws:// */
  /* ... and the parser then refuses it, unfinished line or not, so it is
   * not asked again at every byte that follows. */
  actr__ws_request_t req;
  int status;
  size_t head;
  const char *why;
  g_assert_cmpint(actr__ws_http_parse_request("GET / HT\x16", 9, &head, &req, &status, &why), ==,
                  -1);
  g_assert_cmpint(status, ==, 400);
  const char *late = "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\x01";
  g_assert_cmpint(actr__ws_http_parse_request(late, strlen(late), &head, &req, &status, &why), ==,
                  -1);
  g_assert_cmpint(actr__ws_http_parse_request(late, strlen(late) - 1, &head, &req, &status, &why),
                  ==, 0);
  g_assert_cmpint(actr__ws_http_parse_request("GET / H\r", 8, &head, &req, &status, &why), ==, 0);
  char *big = g_malloc0(ACTR__WS_HTTP_MAX_HEAD);
  memset(big, 'a', ACTR__WS_HTTP_MAX_HEAD);
  scanned = 0;
  g_assert_false(actr__ws_http_head_ready(big, ACTR__WS_HTTP_MAX_HEAD - 1, &scanned));
  g_assert_true(actr__ws_http_head_ready(big, ACTR__WS_HTTP_MAX_HEAD, &scanned));
  g_free(big);
}

static void test_request_refused(void) {
  static const struct {
    const char *text;
    int status;
  } cases[] = {
    {"POST / HTTP/1.1\r\nHost: h\r\n\r\n", 405},
    {"GET / HTTP/1.0\r\nHost: h\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", 426},
    {"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: short==\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
    {"GET http://x/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    actr__ws_request_t req;
    int status = 0;
    g_assert_cmpint(parse(cases[i].text, &status, &req), ==, -1);
    g_assert_cmpint(status, ==, cases[i].status);
  }
  /* A head over the bound, complete or not. */
  GString *big = g_string_new("GET / HTTP/1.1\r\n");
  while (big->len < ACTR__WS_HTTP_MAX_HEAD + 10)
    g_string_append(big, "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
  actr__ws_request_t req;
  int status;
  size_t head;
  const char *why;
  g_assert_cmpint(actr__ws_http_parse_request(big->str, big->len, &head, &req, &status, &why), ==, -1);
  g_assert_cmpint(status, ==, 431);
  g_string_free(big, TRUE);
}

static void test_response_roundtrip(void) {
  char key[25];
  actr__ws_new_key(key);
  char *resp = actr__ws_http_response_101(key);
  size_t head;
  int status;
  char *detail;
  g_assert_cmpint(actr__ws_http_parse_response(resp, strlen(resp), key, &head, &status, &detail), ==, 1);
  g_assert_cmpuint(head, ==, strlen(resp));
  g_assert_cmpint(actr__ws_http_parse_response(resp, strlen(resp), "dGhlIHNhbXBsZSBub25jZQ==", &head,
                                               &status, &detail), ==, -1);
  g_free(detail);
  g_free(resp);
  resp = actr__ws_http_response_error(404, "no such lane");
  g_assert_cmpint(actr__ws_http_parse_response(resp, strlen(resp), key, &head, &status, &detail), ==, -1);
  g_assert_cmpint(status, ==, 404);
  g_assert_nonnull(strstr(detail, "404"));
  g_free(detail);
  g_free(resp);
  char *req = actr__ws_http_request("h:1", "/x", key, "ab", NULL);
  actr__ws_request_t r;
  const char *why;
  g_assert_cmpint(actr__ws_http_parse_request(req, strlen(req), &head, &r, &status, &why), ==, 1);
  g_assert_cmpstr(r.key, ==, key);
  g_assert_cmpstr(r.source_id, ==, "ab");
  actr__ws_request_clear(&r);
  g_free(req);
}

static void test_url(void) {
  actr__ws_url_t u;
  g_assert_cmpint(actr__ws_url_parse("ws://127.0.0.1:8080/lane?x", &u), ==, ACTR_OK);
  g_assert_false(u.tls);
  g_assert_cmpstr(u.host, ==, "127.0.0.1");
  g_assert_cmpuint(u.port, ==, 8080);
  g_assert_cmpstr(u.target, ==, "/lane?x");
  g_assert_cmpstr(u.host_header, ==, "127.0.0.1:8080");
  actr__ws_url_clear(&u);
  g_assert_cmpint(actr__ws_url_parse("WSS://[::1]", &u), ==, ACTR_OK);
  g_assert_true(u.tls);
  g_assert_cmpstr(u.host, ==, "::1");
  g_assert_cmpuint(u.port, ==, 443);
  g_assert_cmpstr(u.target, ==, "/");
  g_assert_cmpstr(u.host_header, ==, "[::1]");
  actr__ws_url_clear(&u);
  static const char *bad[] = {"http://x/", "ws://", "ws://x:0/", "ws://x:65536/", "ws://x:1a/",
                              "ws://u@x/", "ws://x/#f", "ws://[::1/", "ws://x /"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    g_assert_cmpint(actr__ws_url_parse(bad[i], &u), ==, ACTR_EURL_PARSE);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ws/frame/header-lengths", test_header_lengths);
  g_test_add_func("/ws/frame/header-refusals", test_header_refusals);
  g_test_add_func("/ws/frame/mask-matches-bytewise", test_mask_matches_bytewise);
  g_test_add_func("/ws/reader/fragments-and-control", test_reader_fragments_and_control);
  g_test_add_func("/ws/reader/fragmented-keeps-its-bytes", test_reader_fragmented_keeps_its_bytes);
  g_test_add_func("/ws/reader/refusals", test_reader_refusals);
  g_test_add_func("/ws/reader/direct", test_reader_direct);
  g_test_add_func("/ws/reader/storage-follows-bytes", test_reader_storage_follows_bytes);
  g_test_add_func("/ws/msg/header", test_msg_header);
  g_test_add_func("/ws/handshake/accept-key-rfc-example", test_accept_key_rfc_example);
  g_test_add_func("/ws/handshake/request-valid", test_request_valid);
  g_test_add_func("/ws/handshake/request-refused", test_request_refused);
  g_test_add_func("/ws/handshake/head-ready", test_head_ready);
  g_test_add_func("/ws/handshake/response-roundtrip", test_response_roundtrip);
  g_test_add_func("/ws/url", test_url);
  return g_test_run();
}
