/* fragment.h — the DataChannel fragment header (SPEC §1.3), the splitter and
 * the bounded reassembly buffer.  Internal; used by the DataChannel lane,
 * tests, fuzzers and benchmarks.
 *
 *   [msg_id u32 BE][frag_index u16 BE][total_frags u16 BE][payload]
 */
#ifndef ACTR_FRAGMENT_H
#define ACTR_FRAGMENT_H

#include <stddef.h>
#include <stdint.h>
#include <actr/lane.h>
#include <actr/msg.h>

#define ACTR__DC_MAX_MESSAGE 65535u /* SCTP buffer is u16::MAX */
#define ACTR__FRAG_HEADER 8u
#define ACTR__DC_MAX_PAYLOAD (ACTR__DC_MAX_MESSAGE - ACTR__FRAG_HEADER) /* 65527 */

typedef struct actr__frag_header {
  uint32_t msg_id;
  uint16_t frag_index;
  uint16_t total_frags;
} actr__frag_header_t;

/* actr__frag_header_encode: write 8 bytes at @out. */
void actr__frag_header_encode(uint8_t *out, uint32_t msg_id, uint16_t frag_index,
                              uint16_t total_frags);

/* actr__frag_header_decode: read the header of a raw DataChannel message.
 * ACTR_EDATA_CHANNEL "fragment too short: N bytes (minimum 8)" when @len < 8.
 * Does not validate index/total (see actr__reassembly_push). */
int actr__frag_header_decode(const uint8_t *raw, size_t len, actr__frag_header_t *out);

/* actr__frag_count: number of fragments for a @len-byte message into *@out
 * (1 for len <= 65527, also for 0).  ACTR_EMESSAGE_TOO_LARGE ("message too
 * large: N bytes would require M fragments (max 65535)") above 65535. */
int actr__frag_count(size_t len, uint16_t *out);

/* actr__frag_splitter_t: the frames of one outbound message (SPEC §1.3
 * sender algorithm).  A plain value filled by actr__frag_splitter_init; it
 * borrows @data, which must stay valid while frames are produced.  Frames
 * are addressed by index (0 .. total_frags-1), so a caller can produce them
 * in order, one at a time, or again after a failed send. */
typedef struct actr__frag_splitter {
  const uint8_t *data;
  size_t len;
  uint32_t msg_id;
  uint16_t total_frags;
} actr__frag_splitter_t;

/* actr__frag_splitter_init: prepare to split @len bytes at @data (NULL
 * allowed when @len is 0) as message @msg_id.  ACTR_EMESSAGE_TOO_LARGE as
 * actr__frag_count (nothing is to be sent then). */
int actr__frag_splitter_init(actr__frag_splitter_t *s, const void *data, size_t len,
                             uint32_t msg_id);

/* actr__frag_frame_len: the size of frame @index: 8 + its chunk (65527 for
 * every frame but the last). */
size_t actr__frag_frame_len(const actr__frag_splitter_t *s, uint16_t index);

/* actr__frag_frame_align: the actr__msg_alloc() align_offset (0..63) that
 * puts frame @index's payload (8 bytes into the frame) at the same address
 * modulo 64 as its source chunk, so that the copy is mutually aligned. */
size_t actr__frag_frame_align(const actr__frag_splitter_t *s, uint16_t index);

/* actr__frag_frame_write: write frame @index (header, then its chunk: the
 * one copy) to @out, which holds at least actr__frag_frame_len() bytes.
 * Returns the number of bytes written. */
size_t actr__frag_frame_write(const actr__frag_splitter_t *s, uint16_t index, uint8_t *out);

/* actr__frag_frame_new: frame @index as a new message allocated with
 * actr__frag_frame_align() (transfer full), as a DataChannel would deliver
 * it.  NULL when out of memory. */
actr_msg_t *actr__frag_frame_new(const actr__frag_splitter_t *s, uint16_t index);

typedef struct actr__reassembly actr__reassembly_t;

/* actr__reassembly_new: an empty buffer bounded by @cfg (NULL, or zero
 * fields, take the defaults of actr_reassembly_config_default(RPC_RELIABLE)).
 * Not thread-safe: the owner serialises calls. */
int actr__reassembly_new(const actr_reassembly_config_t *cfg, actr__reassembly_t **out);
void actr__reassembly_free(actr__reassembly_t *r);

/* actr__reassembly_push: feed one raw DataChannel message @frame (header +
 * payload; transfer full, always consumed).  @now_ms is a monotonic clock.
 * On ACTR_OK *@complete is a whole message (transfer full) or NULL when more
 * fragments are needed.  A single-fragment message (total 1, index 0) is
 * returned without copying.  Invalid headers (short, total 0, index >= total,
 * a total that differs from the one known for msg_id, a duplicate index)
 * return ACTR_EDATA_CHANNEL / ACTR_EPROTOCOL, are counted, and leave the
 * message in progress intact.  Every fragment but the last of a message
 * must carry exactly 65527 payload bytes, the last 1..65527 (ACTR_EPROTOCOL
 * otherwise).  A message that cannot fit max_pending_bytes is refused with
 * ACTR_EMESSAGE_TOO_LARGE (counted; if it was in progress it is dropped and
 * counted as evicted for the cap).  Stale and over-cap partial messages are
 * evicted oldest first and counted.  Pending bytes count each partial
 * message's whole output buffer, reserved when its first fragment arrives:
 * the exact size if that fragment is the last, else total * 65527 clipped
 * to the cap. */
int actr__reassembly_push(actr__reassembly_t *r, actr_msg_t *frame, uint64_t now_ms,
                          actr_msg_t **complete);

/* actr__reassembly_stats: fill the reassembly_* fields of @out. */
void actr__reassembly_stats(const actr__reassembly_t *r, actr_lane_stats_t *out);

#endif
