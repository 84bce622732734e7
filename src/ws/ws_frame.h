/* ws_frame.h — the RFC 6455 frame codec (§5) and the actr 5-byte lane
 * message header (SPEC §1.4).  No sockets here: bytes in, events out.
 *
 * The reader is an incremental decoder.  It is fed whatever the socket gave
 * (actr__ws_reader_feed) and, while the payload of a data frame is being
 * read, it can also tell the caller where to put the next payload bytes so
 * that the socket reads straight into the message's final storage
 * (actr__ws_reader_direct): large messages then cost no copy in user space,
 * only the in-place unmasking a server must do.  Control frames may arrive
 * between the fragments of a data message (§5.4).  Every length is checked
 * against the configured maximum before anything is allocated, and storage
 * follows the bytes that came, not the lengths headers declare: exact at the
 * header for a single-frame message up to 4 MiB + 4 KiB, otherwise growing
 * as the bytes come, at most 4 MiB + 4 KiB (or as much again as came) ahead
 * of them. */
#ifndef ACTR_WS_FRAME_H
#define ACTR_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actr/msg.h>
#include <actr/payload_type.h>

enum {
  ACTR__WS_OP_CONT = 0x0,
  ACTR__WS_OP_TEXT = 0x1,
  ACTR__WS_OP_BINARY = 0x2,
  ACTR__WS_OP_CLOSE = 0x8,
  ACTR__WS_OP_PING = 0x9,
  ACTR__WS_OP_PONG = 0xA,
};

/* Close status codes used by libactr (RFC 6455 §7.4.1). */
enum {
  ACTR__WS_CLOSE_NORMAL = 1000,
  ACTR__WS_CLOSE_GOING_AWAY = 1001,
  ACTR__WS_CLOSE_PROTOCOL = 1002,
  ACTR__WS_CLOSE_UNSUPPORTED = 1003,
  ACTR__WS_CLOSE_NO_STATUS = 1005, /* never sent: "no code in the close frame" */
  ACTR__WS_CLOSE_ABNORMAL = 1006,  /* never sent: "no close frame at all" */
  ACTR__WS_CLOSE_INVALID_DATA = 1007,
  ACTR__WS_CLOSE_POLICY = 1008,
  ACTR__WS_CLOSE_TOO_BIG = 1009,
  ACTR__WS_CLOSE_INTERNAL = 1011,
};

#define ACTR__WS_MAX_HEADER 14  /* 2 + 8 (64-bit length) + 4 (mask) */
#define ACTR__WS_MAX_CONTROL 125 /* §5.5 */

typedef struct actr__ws_frame_hdr {
  bool fin;
  uint8_t opcode;
  bool masked;
  uint8_t mask[4];
  uint64_t payload_len;
} actr__ws_frame_hdr_t;

/* actr__ws_frame_header_size: bytes of the header of a frame carrying
 * @payload_len bytes, masked or not. */
size_t actr__ws_frame_header_size(uint64_t payload_len, bool masked);

/* actr__ws_frame_header_encode: write the header into @out (room for
 * ACTR__WS_MAX_HEADER) with the shortest length encoding; @mask NULL for an
 * unmasked frame.  Returns the header size. */
size_t actr__ws_frame_header_encode(uint8_t *out, bool fin, uint8_t opcode, uint64_t payload_len,
                                    const uint8_t *mask);

/* actr__ws_frame_header_decode: parse a header from the @n bytes at @p.
 * Returns its size (> 0), 0 when more bytes are needed, or the negated close
 * code for a header no peer may send (reserved bits or opcodes, a control
 * frame fragmented or over 125 bytes, a 64-bit length with its top bit set);
 * *@why then names the rule. */
int actr__ws_frame_header_decode(const uint8_t *p, size_t n, actr__ws_frame_hdr_t *h,
                                 const char **why);

/* actr__ws_mask: dst[i] = src[i] ^ mask[(phase + i) % 4] for @len bytes,
 * eight or more bytes at a time; @dst may equal @src (in-place unmasking) or
 * be a distinct buffer (masking during the one copy of the send path). */
void actr__ws_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t mask[4],
                   size_t phase);

/* ---- the incremental reader ---- */

typedef enum actr__ws_ev_kind {
  ACTR__WS_EV_NONE = 0,
  ACTR__WS_EV_MESSAGE, /* a whole data message: msg (transfer full), text */
  ACTR__WS_EV_PING,    /* ctl / ctl_len: the payload to echo in the pong */
  ACTR__WS_EV_PONG,
  ACTR__WS_EV_CLOSE,   /* the peer's close frame: ctl / ctl_len raw */
  ACTR__WS_EV_ERROR,   /* the stream is broken: code to close with, why */
} actr__ws_ev_kind_t;

typedef struct actr__ws_event {
  actr__ws_ev_kind_t kind;
  actr_msg_t *msg;
  bool text;
  uint8_t ctl[ACTR__WS_MAX_CONTROL];
  size_t ctl_len;
  uint16_t code;
  const char *why; /* static text */
} actr__ws_event_t;

/* actr__ws_alloc_fn: storage for a single-frame message of @len bytes
 * (*@bytes: where to write); NULL when out of memory. */
typedef actr_msg_t *(*actr__ws_alloc_fn)(void *user, size_t len, uint8_t **bytes);

typedef struct actr__ws_reader {
  bool expect_masked;    /* a server reads masked frames, a client unmasked (§5.1) */
  uint64_t max_message;  /* payload bytes of one message, all fragments */
  actr__ws_alloc_fn alloc; /* NULL: actr__msg_alloc */
  void *alloc_user;
  bool binary_only;      /* a text message is refused (1003) at its first frame header */
  /* the frame being read */
  uint8_t hbuf[ACTR__WS_MAX_HEADER];
  size_t hhave;
  bool in_payload;
  actr__ws_frame_hdr_t h;
  uint64_t got; /* payload bytes of this frame already taken */
  /* the data message being assembled */
  bool in_message;
  bool text;
  actr_msg_t *msg; /* single-frame message: inline storage, exact size */
  uint8_t *buf;    /* into msg's storage, or a growing malloc buffer */
  size_t len, cap;
  size_t ctl_len;
  uint8_t ctl[ACTR__WS_MAX_CONTROL];
} actr__ws_reader_t;

void actr__ws_reader_init(actr__ws_reader_t *r, bool expect_masked, uint64_t max_message);

/* actr__ws_reader_clear: free a partly assembled message. */
void actr__ws_reader_clear(actr__ws_reader_t *r);

/* actr__ws_reader_feed: consume bytes from @p (@n of them) until one event is
 * ready or the input is used up.  Returns the bytes consumed; *@ev is set
 * (kind NONE when no event is ready).  After an ERROR the reader must not be
 * fed again. */
size_t actr__ws_reader_feed(actr__ws_reader_t *r, const uint8_t *p, size_t n,
                            actr__ws_event_t *ev);

/* actr__ws_reader_direct: when the payload of a data frame is being read and
 * at least @min bytes of it remain, where they go (*@dst) and how many
 * (*@want: the frame's rest, or less while the storage grows as the bytes
 * come); false otherwise, also when growing it failed (feed reports that).
 * The caller reads at most *@want bytes there and reports them with
 * actr__ws_reader_direct_done. */
bool actr__ws_reader_direct(actr__ws_reader_t *r, size_t min, uint8_t **dst, size_t *want);

/* actr__ws_reader_direct_done: @n bytes were written at the direct
 * destination; unmask them and maybe complete the message (*@ev). */
void actr__ws_reader_direct_done(actr__ws_reader_t *r, size_t n, actr__ws_event_t *ev);

/* ---- the actr lane message (SPEC §1.4) ---- */

#define ACTR__WS_MSG_HEADER 5

/* actr__ws_msg_header_encode: [type][len u32 BE]. */
void actr__ws_msg_header_encode(uint8_t out[ACTR__WS_MSG_HEADER], actr_payload_type_t type,
                                uint32_t data_len);

/* actr__ws_msg_decode: the header of a received lane message of @n bytes.
 * ACTR_OK with *@type and *@data_len (bytes after 5 + data_len are to be
 * ignored), or ACTR_EDESERIALIZATION (too short, type above 4, truncated)
 * with the detail in actr_err_detail(). */
int actr__ws_msg_decode(const uint8_t *p, size_t n, actr_payload_type_t *type,
                        size_t *data_len);

#endif
