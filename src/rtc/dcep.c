/* dcep.c — DATA_CHANNEL_OPEN / DATA_CHANNEL_ACK codec (RFC 8832 §5).
 *
 *  OPEN:  u8 type=0x03 | u8 channel type | u16 priority | u32 reliability |
 *         u16 label length | u16 protocol length | label | protocol
 *  ACK:   u8 type=0x02
 * All integers are in network byte order. */
#include "dcep.h"

#include <glib.h>

#include <string.h>

#include "error_internal.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

int actr__dcep_decode(const uint8_t *buf, size_t len, uint8_t *type, actr__dcep_open_t *open) {
  if (!buf || len == 0)
    return actr__fail(ACTR_EPROTOCOL, "DCEP: empty message");
  switch (buf[0]) {
  case ACTR__DCEP_ACK:
    /* RFC 8832 §5.2: the ACK is exactly one byte. */
    if (len != 1)
      return actr__fail(ACTR_EPROTOCOL, "DCEP: ACK of %zu bytes", len);
    *type = ACTR__DCEP_ACK;
    return ACTR_OK;
  case ACTR__DCEP_OPEN:
    break;
  default:
    return actr__fail(ACTR_EPROTOCOL, "DCEP: unknown message type 0x%02x", buf[0]);
  }
  if (len < 12)
    return actr__fail(ACTR_EPROTOCOL, "DCEP: OPEN of %zu bytes (minimum 12)", len);
  uint8_t ct = buf[1];
  switch (ct & 0x7f) {
  case ACTR__DCEP_RELIABLE:
  case ACTR__DCEP_PARTIAL_RELIABLE_REXMIT:
  case ACTR__DCEP_PARTIAL_RELIABLE_TIMED:
    break;
  default:
    return actr__fail(ACTR_EPROTOCOL, "DCEP: unknown channel type 0x%02x", ct);
  }
  uint16_t llen = get16(buf + 8), plen = get16(buf + 10);
  if ((size_t)12 + llen + plen != len)
    return actr__fail(ACTR_EPROTOCOL, "DCEP: OPEN lengths %u + %u do not match %zu bytes", llen,
                      plen, len);
  if (llen > ACTR__DCEP_MAX_STRING || plen > ACTR__DCEP_MAX_STRING)
    return actr__fail(ACTR_EPROTOCOL, "DCEP: label or protocol over %u bytes",
                      ACTR__DCEP_MAX_STRING);
  /* Label and protocol are UTF-8 strings (RFC 8832 §5.1): a NUL would cut
   * "RPC_RELIABLE\0x" down to a real lane's label. */
  if (memchr(buf + 12, 0, (size_t)llen + plen) ||
      !g_utf8_validate((const char *)buf + 12, llen, NULL) ||
      !g_utf8_validate((const char *)buf + 12 + llen, plen, NULL))
    return actr__fail(ACTR_EPROTOCOL, "DCEP: label or protocol is not UTF-8 or holds a NUL");
  memset(open, 0, sizeof *open);
  open->channel_type = ct;
  open->priority = get16(buf + 2);
  /* RFC 8832 §5.1: the reliability parameter is ignored for reliable
   * channels; keep it as sent. */
  open->reliability = get32(buf + 4);
  open->label = buf + 12;
  open->label_len = llen;
  open->protocol = buf + 12 + llen;
  open->protocol_len = plen;
  *type = ACTR__DCEP_OPEN;
  return ACTR_OK;
}

size_t actr__dcep_open_size(size_t label_len, size_t protocol_len) {
  return 12 + label_len + protocol_len;
}

size_t actr__dcep_encode_open(const actr__dcep_open_t *open, uint8_t *buf, size_t cap) {
  if (open->label_len > ACTR__DCEP_MAX_STRING || open->protocol_len > ACTR__DCEP_MAX_STRING)
    return 0;
  size_t n = actr__dcep_open_size(open->label_len, open->protocol_len);
  if (n > cap)
    return 0;
  buf[0] = ACTR__DCEP_OPEN;
  buf[1] = open->channel_type;
  put16(buf + 2, open->priority);
  put32(buf + 4, open->reliability);
  put16(buf + 8, open->label_len);
  put16(buf + 10, open->protocol_len);
  if (open->label_len)
    memcpy(buf + 12, open->label, open->label_len);
  if (open->protocol_len)
    memcpy(buf + 12 + open->label_len, open->protocol, open->protocol_len);
  return n;
}
