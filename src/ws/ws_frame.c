/* ws_frame.c — RFC 6455 frames (§5.2), masking (§5.3), fragmentation with
 * interleaved control frames (§5.4, §5.5), and the 5-byte actr header.
 *
 * Why our own codec: masking is an XOR of every payload byte; done one byte
 * at a time it costs more than the kernel's copy on loopback.  Here it runs
 * on 16-byte vectors, fused with the send path's one copy, and in place on
 * the receive path right after the socket wrote the bytes (they are still in
 * cache).  Not here: sockets, the HTTP upgrade, close-handshake policy. */
#include "ws_frame.h"

#include <stdlib.h>
#include <string.h>

#include "error_internal.h"
#include "msg_internal.h"

size_t actr__ws_frame_header_size(uint64_t payload_len, bool masked) {
  size_t n = payload_len < 126 ? 2 : payload_len <= 0xFFFF ? 4 : 10;
  return n + (masked ? 4 : 0);
}

size_t actr__ws_frame_header_encode(uint8_t *out, bool fin, uint8_t opcode, uint64_t payload_len,
                                    const uint8_t *mask) {
  size_t n = 0;
  out[n++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
  uint8_t m = mask ? 0x80 : 0;
  if (payload_len < 126) {
    out[n++] = (uint8_t)(m | payload_len);
  } else if (payload_len <= 0xFFFF) {
    out[n++] = (uint8_t)(m | 126);
    out[n++] = (uint8_t)(payload_len >> 8);
    out[n++] = (uint8_t)payload_len;
  } else {
    out[n++] = (uint8_t)(m | 127);
    for (int i = 7; i >= 0; i--)
      out[n++] = (uint8_t)(payload_len >> (8 * i));
  }
  if (mask) {
    memcpy(out + n, mask, 4);
    n += 4;
  }
  return n;
}

static bool is_control(uint8_t op) { return op & 0x08; }

int actr__ws_frame_header_decode(const uint8_t *p, size_t n, actr__ws_frame_hdr_t *h,
                                 const char **why) {
  if (n < 2)
    return 0;
  uint8_t b0 = p[0], b1 = p[1];
  /* §5.2: RSV1-3 must be 0 unless an extension was negotiated; we never
   * negotiate one (the handshake answers no Sec-WebSocket-Extensions). */
  if (b0 & 0x70) {
    *why = "reserved bits set";
    return -ACTR__WS_CLOSE_PROTOCOL;
  }
  uint8_t op = b0 & 0x0F;
  if (op != ACTR__WS_OP_CONT && op != ACTR__WS_OP_TEXT && op != ACTR__WS_OP_BINARY &&
      op != ACTR__WS_OP_CLOSE && op != ACTR__WS_OP_PING && op != ACTR__WS_OP_PONG) {
    *why = "reserved opcode";
    return -ACTR__WS_CLOSE_PROTOCOL;
  }
  bool fin = b0 & 0x80, masked = b1 & 0x80;
  uint64_t len = b1 & 0x7F;
  size_t need = 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + (masked ? 4 : 0);
  /* §5.5: control frames are never fragmented and carry at most 125 bytes,
   * so their length always fits the 7-bit field. */
  if (is_control(op) && (!fin || len > ACTR__WS_MAX_CONTROL)) {
    *why = !fin ? "fragmented control frame" : "control frame over 125 bytes";
    return -ACTR__WS_CLOSE_PROTOCOL;
  }
  if (n < need)
    return 0;
  size_t i = 2;
  if (len == 126) {
    len = (uint64_t)p[2] << 8 | p[3];
    i = 4;
  } else if (len == 127) {
    len = 0;
    for (int k = 0; k < 8; k++)
      len = len << 8 | p[2 + k];
    i = 10;
    if (len >> 63) { /* §5.2: the most significant bit MUST be 0 */
      *why = "64-bit length with its top bit set";
      return -ACTR__WS_CLOSE_PROTOCOL;
    }
  }
  h->fin = fin;
  h->opcode = op;
  h->masked = masked;
  h->payload_len = len;
  if (masked)
    memcpy(h->mask, p + i, 4);
  else
    memset(h->mask, 0, 4);
  return (int)need;
}

/* 32-byte vectors through the compiler's generic vector extension: on
 * x86-64 an AVX2 variant is chosen once at run time when the CPU has it
 * (the default variant does the same with SSE2 halves), NEON on arm64, plain
 * words elsewhere.  Loads and stores go through memcpy, so no alignment is
 * assumed. */
typedef uint8_t v32u8 __attribute__((vector_size(32)));

#define MASK_BODY                                                                                  \
  uint8_t pat[32];                                                                                 \
  for (int i = 0; i < 32; i++)                                                                     \
    pat[i] = mask[(phase + (size_t)i) & 3];                                                        \
  size_t i = 0;                                                                                    \
  if (len >= 128) {                                                                                \
    v32u8 k;                                                                                       \
    memcpy(&k, pat, 32);                                                                           \
    for (; i + 128 <= len; i += 128) {                                                             \
      v32u8 a, b, c, d;                                                                            \
      memcpy(&a, src + i, 32);                                                                     \
      memcpy(&b, src + i + 32, 32);                                                                \
      memcpy(&c, src + i + 64, 32);                                                                \
      memcpy(&d, src + i + 96, 32);                                                                \
      a ^= k;                                                                                      \
      b ^= k;                                                                                      \
      c ^= k;                                                                                      \
      d ^= k;                                                                                      \
      memcpy(dst + i, &a, 32);                                                                     \
      memcpy(dst + i + 32, &b, 32);                                                                \
      memcpy(dst + i + 64, &c, 32);                                                                \
      memcpy(dst + i + 96, &d, 32);                                                                \
    }                                                                                              \
  }                                                                                                \
  if (i + 8 <= len) {                                                                              \
    uint64_t k8;                                                                                   \
    memcpy(&k8, pat, 8);                                                                           \
    for (; i + 8 <= len; i += 8) {                                                                 \
      uint64_t w;                                                                                  \
      memcpy(&w, src + i, 8);                                                                      \
      w ^= k8;                                                                                     \
      memcpy(dst + i, &w, 8);                                                                      \
    }                                                                                              \
  }                                                                                                \
  for (; i < len; i++) /* the pattern repeats every 4 bytes */                                     \
    dst[i] = src[i] ^ pat[i & 31];

static void mask_default(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t mask[4],
                         size_t phase) {
  MASK_BODY
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void mask_avx2(uint8_t *dst, const uint8_t *src,
                                                      size_t len, const uint8_t mask[4],
                                                      size_t phase) {
  MASK_BODY
}

void actr__ws_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t mask[4],
                   size_t phase) {
  static int avx2 = -1; /* racy first use is harmless: every thread finds the same */
  if (avx2 < 0) {
    __builtin_cpu_init();
    avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
  }
  if (avx2 && len >= 128)
    mask_avx2(dst, src, len, mask, phase);
  else
    mask_default(dst, src, len, mask, phase);
}
#else
void actr__ws_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t mask[4],
                   size_t phase) {
  mask_default(dst, src, len, mask, phase);
}
#endif

/* ---- reader ---- */

void actr__ws_reader_init(actr__ws_reader_t *r, bool expect_masked, uint64_t max_message) {
  memset(r, 0, sizeof *r);
  r->expect_masked = expect_masked;
  r->max_message = max_message;
}

static void drop_message(actr__ws_reader_t *r) {
  if (r->msg)
    actr_msg_free(r->msg);
  else
    free(r->buf);
  r->msg = NULL;
  r->buf = NULL;
  r->len = r->cap = 0;
  r->in_message = false;
}

void actr__ws_reader_clear(actr__ws_reader_t *r) {
  drop_message(r);
  r->in_payload = false;
  r->hhave = 0;
}

static void fail(actr__ws_event_t *ev, uint16_t code, const char *why) {
  ev->kind = ACTR__WS_EV_ERROR;
  ev->msg = NULL;
  ev->ctl_len = 0;
  ev->code = code;
  ev->why = why;
}

static void free_buf(void *p) { free(p); }

/* finish_frame: the current frame's payload is complete. */
static void finish_frame(actr__ws_reader_t *r, actr__ws_event_t *ev) {
  r->in_payload = false;
  uint8_t op = r->h.opcode;
  if (is_control(op)) {
    ev->kind = op == ACTR__WS_OP_PING   ? ACTR__WS_EV_PING
               : op == ACTR__WS_OP_PONG ? ACTR__WS_EV_PONG
                                        : ACTR__WS_EV_CLOSE;
    memcpy(ev->ctl, r->ctl, r->ctl_len);
    ev->ctl_len = r->ctl_len;
    return;
  }
  if (!r->h.fin)
    return; /* more fragments follow */
  actr_msg_t *msg = r->msg;
  if (!msg) {
    /* A fragmented message grew in a malloc buffer (doubling): cut it to
     * its bytes, so that what it keeps is what the queue bounds count
     * (a 16 KiB first fragment and a 1-byte last one kept 32 KiB), then
     * wrap it.  Shrinking does not copy (glibc trims in place, or
     * mremaps a large block). */
    if (r->buf && r->cap > r->len) {
      uint8_t *nb = realloc(r->buf, r->len ? r->len : 1);
      if (nb)
        r->buf = nb;
    }
    /* No byte came (fragments of length 0): nothing was allocated. */
    msg = r->buf ? actr__msg_wrap(r->buf, r->len, free_buf, r->buf) : actr__msg_alloc(0, 0, NULL);
    if (!msg) {
      drop_message(r);
      fail(ev, ACTR__WS_CLOSE_INTERNAL, "out of memory");
      return;
    }
  }
  ev->kind = ACTR__WS_EV_MESSAGE;
  ev->msg = msg;
  ev->text = r->text;
  r->msg = NULL;
  r->buf = NULL;
  r->len = r->cap = 0;
  r->in_message = false;
}

/* Storage follows the bytes that came, not the lengths headers declare: a
 * header declaring 64 MiB followed by a trickle must not hold 64 MiB.  A
 * single-frame message up to EXACT_MAX gets its exact storage at its header
 * (the common sizes, lane messages of 4 MiB and their 5-byte header
 * included); anything else grows as its bytes come, doubling, never more
 * than EXACT_MAX ahead of them, and never past the end of a final frame, so
 * a large single-frame message ends exactly full (nothing to cut back). */
#define EXACT_MAX (((size_t)4 << 20) + 4096)

/* room: make the growing buffer (r->msg NULL) hold more of the current data
 * frame's payload; called when it is full and bytes remain.  false when out
 * of memory. */
static bool room(actr__ws_reader_t *r) {
  uint64_t rest = r->h.payload_len - r->got; /* > 0; within max_message - len */
  size_t cap = r->cap > SIZE_MAX / 2 ? SIZE_MAX : r->cap * 2;
  size_t step = rest < EXACT_MAX ? (size_t)rest : EXACT_MAX;
  if (cap < r->len + step)
    cap = r->len + step;
  if (cap < 4096)
    cap = 4096;
  if (r->h.fin && cap > r->len + rest)
    cap = r->len + (size_t)rest; /* the message's last frame: its end is known */
  if (cap > r->max_message)
    cap = (size_t)r->max_message;
  uint8_t *nb = realloc(r->buf, cap);
  if (!nb)
    return false;
  r->buf = nb;
  r->cap = cap;
  return true;
}

/* start_frame: a header was decoded; check it against the message state
 * (§5.4).  May finish an empty frame. */
static void start_frame(actr__ws_reader_t *r, actr__ws_event_t *ev) {
  actr__ws_frame_hdr_t *h = &r->h;
  if (h->masked != r->expect_masked) {
    /* §5.1: a server closes on an unmasked frame, a client on a masked one. */
    fail(ev, ACTR__WS_CLOSE_PROTOCOL, h->masked ? "masked frame from a server"
                                                : "unmasked frame from a client");
    return;
  }
  r->got = 0;
  r->in_payload = true;
  if (is_control(h->opcode)) {
    r->ctl_len = (size_t)h->payload_len;
  } else if (h->opcode == ACTR__WS_OP_CONT) {
    if (!r->in_message) {
      fail(ev, ACTR__WS_CLOSE_PROTOCOL, "continuation frame without a message");
      return;
    }
    if (h->payload_len > r->max_message - r->len) {
      fail(ev, ACTR__WS_CLOSE_TOO_BIG, "message over the size limit");
      return;
    }
  } else { /* TEXT or BINARY: a new message */
    if (r->in_message) {
      fail(ev, ACTR__WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
      return;
    }
    if (h->payload_len > r->max_message) {
      fail(ev, ACTR__WS_CLOSE_TOO_BIG, "message over the size limit");
      return;
    }
    if (r->binary_only && h->opcode == ACTR__WS_OP_TEXT) {
      /* Before its payload is read, let alone assembled (up to max_message). */
      fail(ev, ACTR__WS_CLOSE_UNSUPPORTED, "text message on an actr lane connection");
      return;
    }
    r->text = h->opcode == ACTR__WS_OP_TEXT;
    r->len = 0;
    r->msg = NULL;
    r->buf = NULL;
    r->cap = 0;
    if (h->fin && h->payload_len <= EXACT_MAX) {
      /* The common case: one frame, one message.  Its exact size is known,
       * so it goes into a message with inline storage, placed so that the
       * data after the 5-byte actr header starts on a 64-byte boundary. */
      r->msg = r->alloc ? r->alloc(r->alloc_user, (size_t)h->payload_len, &r->buf)
                        : actr__msg_alloc((size_t)h->payload_len, 64 - ACTR__WS_MSG_HEADER, &r->buf);
      if (!r->buf) {
        r->msg = NULL;
        fail(ev, ACTR__WS_CLOSE_INTERNAL, "out of memory");
        return;
      }
      r->cap = (size_t)h->payload_len;
    } /* else a buffer that grows as the bytes come (room) */
    r->in_message = true;
  }
  if (h->payload_len == 0)
    finish_frame(r, ev);
}

/* take: up to @n payload bytes of the current frame from @src into place;
 * returns how many (0: out of memory). */
static size_t take(actr__ws_reader_t *r, const uint8_t *src, size_t n) {
  bool control = is_control(r->h.opcode);
  if (!control) {
    if (r->len == r->cap && !room(r))
      return 0;
    if (n > r->cap - r->len)
      n = r->cap - r->len;
  }
  uint8_t *dst = control ? r->ctl + r->got : r->buf + r->len;
  if (r->h.masked)
    actr__ws_mask(dst, src, n, r->h.mask, (size_t)(r->got & 3));
  else
    memcpy(dst, src, n);
  r->got += n;
  if (!control)
    r->len += n;
  return n;
}

size_t actr__ws_reader_feed(actr__ws_reader_t *r, const uint8_t *p, size_t n,
                            actr__ws_event_t *ev) {
  ev->kind = ACTR__WS_EV_NONE;
  size_t used = 0;
  while (used < n && ev->kind == ACTR__WS_EV_NONE) {
    if (!r->in_payload) {
      const char *why = NULL;
      int hl;
      if (r->hhave == 0) {
        hl = actr__ws_frame_header_decode(p + used, n - used, &r->h, &why);
        if (hl > 0) {
          used += (size_t)hl;
        } else if (hl == 0) {
          size_t k = n - used; /* < 14: a header split across reads */
          memcpy(r->hbuf, p + used, k);
          r->hhave = k;
          used = n;
          break;
        }
      } else {
        size_t k = n - used;
        if (k > ACTR__WS_MAX_HEADER - r->hhave)
          k = ACTR__WS_MAX_HEADER - r->hhave;
        memcpy(r->hbuf + r->hhave, p + used, k);
        size_t before = r->hhave;
        hl = actr__ws_frame_header_decode(r->hbuf, before + k, &r->h, &why);
        if (hl > 0) {
          used += (size_t)hl - before;
          r->hhave = 0;
        } else if (hl == 0) {
          r->hhave += k;
          used += k;
          break;
        }
      }
      if (hl < 0) {
        fail(ev, (uint16_t)-hl, why);
        return used;
      }
      start_frame(r, ev);
      continue;
    }
    uint64_t rest = r->h.payload_len - r->got;
    size_t k = n - used;
    if (k > rest)
      k = (size_t)rest;
    if ((k = take(r, p + used, k)) == 0) {
      fail(ev, ACTR__WS_CLOSE_INTERNAL, "out of memory");
      return used;
    }
    used += k;
    if (r->got == r->h.payload_len)
      finish_frame(r, ev);
  }
  return used;
}

bool actr__ws_reader_direct(actr__ws_reader_t *r, size_t min, uint8_t **dst, size_t *want) {
  if (!r->in_payload || is_control(r->h.opcode))
    return false;
  uint64_t rest = r->h.payload_len - r->got;
  if (rest < min || rest == 0)
    return false;
  if (r->len == r->cap && !room(r))
    return false; /* read through feed, which reports it */
  *dst = r->buf + r->len;
  *want = r->cap - r->len < rest ? r->cap - r->len : (size_t)rest;
  return true;
}

void actr__ws_reader_direct_done(actr__ws_reader_t *r, size_t n, actr__ws_event_t *ev) {
  ev->kind = ACTR__WS_EV_NONE;
  if (n == 0)
    return;
  uint8_t *at = r->buf + r->len;
  if (r->h.masked) /* while the bytes just read are in the cache */
    actr__ws_mask(at, at, n, r->h.mask, (size_t)(r->got & 3));
  r->got += n;
  r->len += n;
  if (r->got == r->h.payload_len)
    finish_frame(r, ev);
}

/* ---- SPEC §1.4 ---- */

void actr__ws_msg_header_encode(uint8_t out[ACTR__WS_MSG_HEADER], actr_payload_type_t type,
                                uint32_t data_len) {
  out[0] = (uint8_t)type;
  out[1] = (uint8_t)(data_len >> 24);
  out[2] = (uint8_t)(data_len >> 16);
  out[3] = (uint8_t)(data_len >> 8);
  out[4] = (uint8_t)data_len;
}

int actr__ws_msg_decode(const uint8_t *p, size_t n, actr_payload_type_t *type,
                        size_t *data_len) {
  if (n < ACTR__WS_MSG_HEADER)
    return actr__fail(ACTR_EDESERIALIZATION, "WebSocket lane message too short: %zu bytes (minimum 5)",
                      n);
  if (p[0] > ACTR_PAYLOAD_MEDIA_RTP)
    return actr__fail(ACTR_EDESERIALIZATION, "WebSocket lane message with invalid payload type %u",
                      p[0]);
  uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
  if ((uint64_t)len > n - ACTR__WS_MSG_HEADER)
    return actr__fail(ACTR_EDESERIALIZATION,
                      "WebSocket lane message truncated: header says %u data bytes, %zu present",
                      len, n - ACTR__WS_MSG_HEADER);
  *type = (actr_payload_type_t)p[0];
  *data_len = len;
  return ACTR_OK;
}
