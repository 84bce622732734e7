/* dcep.h — the Data Channel Establishment Protocol (RFC 8832): the two
 * messages a peer sends on an SCTP stream to open a data channel in-band,
 * and the PPIDs of RFC 8831 §8.  Pure codec: no I/O. */
#ifndef ACTR_RTC_DCEP_H
#define ACTR_RTC_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 8831 §8 / RFC 8832 §8.1: SCTP payload protocol identifiers. */
enum {
  ACTR__PPID_DCEP = 50,
  ACTR__PPID_STRING = 51,
  ACTR__PPID_BINARY = 53,
  ACTR__PPID_STRING_EMPTY = 56,
  ACTR__PPID_BINARY_EMPTY = 57,
};

/* RFC 8832 §5: message types. */
enum { ACTR__DCEP_ACK = 0x02, ACTR__DCEP_OPEN = 0x03 };

/* RFC 8832 §5.1: channel types (0x80 set = unordered). */
enum {
  ACTR__DCEP_RELIABLE = 0x00,
  ACTR__DCEP_PARTIAL_RELIABLE_REXMIT = 0x01,
  ACTR__DCEP_PARTIAL_RELIABLE_TIMED = 0x02,
  ACTR__DCEP_UNORDERED = 0x80,
};

/* Bound on label and protocol (each is a u16 length on the wire; we refuse
 * more than this rather than hold 64 KiB strings per channel). */
#define ACTR__DCEP_MAX_STRING 1024u

/* actr__dcep_open_t: a DATA_CHANNEL_OPEN.  @label and @protocol point into
 * the decoded buffer (not NUL-terminated; use the lengths). */
typedef struct actr__dcep_open {
  uint8_t channel_type;
  uint16_t priority;
  uint32_t reliability; /* retransmissions or lifetime in ms, per type */
  const uint8_t *label;
  uint16_t label_len;
  const uint8_t *protocol;
  uint16_t protocol_len;
} actr__dcep_open_t;

/* actr__dcep_decode: decode one PPID-50 message.  Returns ACTR_OK and sets
 * *@type to ACTR__DCEP_ACK (nothing else filled) or ACTR__DCEP_OPEN (@open
 * filled); ACTR_EPROTOCOL for anything else: empty, unknown type, an ACK
 * with trailing bytes, a short OPEN, lengths that do not add up to the
 * message size, an unknown channel type, strings over the bound. */
int actr__dcep_decode(const uint8_t *buf, size_t len, uint8_t *type, actr__dcep_open_t *open);

/* actr__dcep_open_size: the encoded size of an OPEN. */
size_t actr__dcep_open_size(size_t label_len, size_t protocol_len);

/* actr__dcep_encode_open: write an OPEN into @buf (actr__dcep_open_size
 * bytes).  Returns the size, or 0 when a string is over the bound. */
size_t actr__dcep_encode_open(const actr__dcep_open_t *open, uint8_t *buf, size_t cap);

#endif
