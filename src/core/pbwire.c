/* pbwire.c — protobuf wire helpers and the strict decoder (pbwire.h). */
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>

#include "bounds.h"
#include "error_internal.h"
#include "pbwire.h"

bool actr__utf8_valid(const uint8_t *s, size_t len) {
  for (size_t i = 0; i < len;) {
    uint8_t c = s[i++];
    if (c < 0x80) {
      if (!c)
        return false;
      continue;
    }
    /* @n continuation bytes; [lo, hi] bounds the first one (RFC 3629 §4) */
    size_t n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
    uint8_t lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    uint8_t hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (c < 0xc2 || c > 0xf4 || len - i < n || s[i] < lo || s[i] > hi)
      return false;
    for (size_t k = 1; k < n; k++)
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
    i += n;
  }
  return true;
}

bool actr__pb_read_varint(const uint8_t **p, const uint8_t *end, unsigned max_bytes,
                          uint64_t *v) {
  uint64_t r = 0;
  for (unsigned i = 0; i < max_bytes && *p + i < end; i++) {
    uint8_t b = (*p)[i];
    if (i == 9 && b > 1)
      return false;
    r |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *p += i + 1;
      *v = r;
      return true;
    }
  }
  return false;
}

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };
/* Larger field numbers are invalid (encoding spec; prost rejects them). */
#define FIELD_NUMBER_MAX ((1u << 29) - 1)
#define BAD(...) actr__fail(ACTR_EDESERIALIZATION, __VA_ARGS__)

int actr__pb_read_field(const uint8_t **p, const uint8_t *end, const char *what, size_t at,
                        actr__pb_field_t *f) {
  uint64_t key, v;
  /* protobuf-c reads keys and length prefixes of at most 5 bytes; so do
   * we, so that what passes here unpacks. */
  if (!actr__pb_read_varint(p, end, 5, &key))
    return BAD("%s: truncated or overlong field key at offset %zu", what, at);
  unsigned long long num = key >> 3; /* for printf */
  unsigned wt = key & 7;
  if (num == 0 || num > FIELD_NUMBER_MAX)
    return BAD("%s: invalid field number %llu at offset %zu", what, num, at);
  uint64_t vlen = 0; /* bytes of value after the key (and length) */
  bool ok = true;
  switch (wt) {
  case WT_VARINT: ok = actr__pb_read_varint(p, end, 10, &v); break;
  case WT_LEN: ok = actr__pb_read_varint(p, end, 5, &vlen); break;
  case WT_I64: vlen = 8; break;
  case WT_I32: vlen = 4; break;
  default:
    return BAD("%s: field %llu at offset %zu: unsupported wire type %u", what, num, at, wt);
  }
  if (!ok)
    return BAD("%s: field %llu at offset %zu: truncated or overlong %s", what, num, at,
               wt == WT_LEN ? "length" : "varint");
  if (vlen > (uint64_t)(end - *p))
    return BAD("%s: field %llu at offset %zu: needs %llu bytes, %zu left", what, num, at,
               (unsigned long long)vlen, (size_t)(end - *p));
  f->num = num;
  f->wt = wt;
  f->val = *p;
  f->vlen = vlen;
  *p += vlen;
  return ACTR_OK;
}

/* ---- the strict decoder ---- */

typedef struct scan {
  actr__pb_limits_t lim;
  const uint8_t *start; /* of the whole input, for offsets */
  size_t unknown_fields, unknown_bytes, elements;
} scan_t;

/* wire_type_of: the wire type a field of @type is written with (a packed
 * repeated scalar arrives as WT_LEN: accepted for any scalar). */
static unsigned wire_type_of(ProtobufCType type) {
  switch (type) {
  case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
    return WT_I64;
  case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
    return WT_I32;
  case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE:
    return WT_LEN;
  default:
    return WT_VARINT;
  }
}

static int scan_message(scan_t *s, const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
                        size_t len, unsigned depth) {
  if (depth > s->lim.max_depth)
    return BAD("%s: nested deeper than %u messages (offset %zu)", desc->name, s->lim.max_depth,
               (size_t)(buf - s->start));
  const uint8_t *p = buf, *end = buf + len;
  while (p < end) {
    size_t at = (size_t)(p - s->start);
    actr__pb_field_t fld;
    int frc = actr__pb_read_field(&p, end, desc->name, at, &fld);
    if (frc != ACTR_OK)
      return frc;
    uint64_t num = fld.num, vlen = fld.vlen;
    unsigned wt = fld.wt;
    const uint8_t *val = fld.val;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, (unsigned)num);
    if (!f) {
      s->unknown_bytes += (size_t)(p - s->start) - at;
      if (++s->unknown_fields > s->lim.max_unknown_fields ||
          s->unknown_bytes > s->lim.max_unknown_bytes)
        return BAD("%s: too many unknown fields (limits %zu fields, %zu bytes; offset %zu)",
                   desc->name, s->lim.max_unknown_fields, s->lim.max_unknown_bytes, at);
      continue;
    }
    unsigned want = wire_type_of(f->type);
    bool packed = wt == WT_LEN && want != WT_LEN && f->label == PROTOBUF_C_LABEL_REPEATED;
    if (wt != want && !packed)
      return BAD("%s.%s at offset %zu: wire type %u, expected %u", desc->name, f->name, at, wt,
                 want);
    /* Each element of a repeated field or a packed run, and each nested
     * message, costs an allocation or a slot: bounded in all. */
    size_t n = packed ? (size_t)vlen : 1; /* a packed run: at most one element per byte */
    if (f->label == PROTOBUF_C_LABEL_REPEATED || f->type == PROTOBUF_C_TYPE_MESSAGE) {
      s->elements += n;
      if (s->elements > s->lim.max_elements)
        return BAD("%s.%s at offset %zu: more than %zu repeated elements or messages",
                   desc->name, f->name, at, s->lim.max_elements);
    }
    if (f->type == PROTOBUF_C_TYPE_STRING && !actr__utf8_valid(val, (size_t)vlen))
      return BAD("%s.%s at offset %zu is not valid UTF-8 or holds a NUL", desc->name, f->name,
                 at);
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      int rc = scan_message(s, f->descriptor, val, (size_t)vlen, depth + 1);
      if (rc != ACTR_OK)
        return rc;
    }
  }
  return ACTR_OK;
}

static void *pb_malloc(void *data, size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p && data)
    *(bool *)data = true;
  return p;
}

static void pb_free(void *data, void *p) { free(p); }

int actr__pb_decode(const ProtobufCMessageDescriptor *desc, const void *data, size_t len,
                    const actr__pb_limits_t *limits, ProtobufCMessage **out) {
  if (!out || !desc || (!data && len))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "pb decode: NULL argument");
  *out = NULL;
  static const uint8_t empty[1];
  if (!len)
    data = empty;
  scan_t s = {.start = data};
  if (limits)
    s.lim = *limits;
  s.lim.max_bytes = ACTR__OR_DEFAULT(s.lim.max_bytes, 1u << 20);
  s.lim.max_depth = ACTR__OR_DEFAULT(s.lim.max_depth, 16);
  s.lim.max_unknown_fields = ACTR__OR_DEFAULT(s.lim.max_unknown_fields, 64);
  s.lim.max_unknown_bytes = ACTR__OR_DEFAULT(s.lim.max_unknown_bytes, 64u * 1024);
  s.lim.max_elements = ACTR__OR_DEFAULT(s.lim.max_elements, 4096);
  if (len > s.lim.max_bytes)
    return BAD("%s: %zu bytes (limit %zu)", desc->name, len, s.lim.max_bytes);
  int rc = scan_message(&s, desc, data, len, 0);
  if (rc != ACTR_OK)
    return rc;
  bool oom = false;
  ProtobufCAllocator a = {pb_malloc, pb_free, &oom};
  ProtobufCMessage *m = protobuf_c_message_unpack(desc, &a, len, data);
  if (!m)
    return oom ? actr__fail(ACTR_ENO_MEMORY, "%s: out of memory decoding %zu bytes", desc->name,
                            len)
               : BAD("%s: malformed (a required field missing, or a value protobuf-c refused)",
                     desc->name);
  *out = m;
  return ACTR_OK;
}

void actr__pb_free(ProtobufCMessage *msg) {
  static ProtobufCAllocator a = {pb_malloc, pb_free, NULL};
  if (msg)
    protobuf_c_message_free_unpacked(msg, &a);
}

int actr__pb_encode(const ProtobufCMessage *msg, uint8_t **out, size_t *len) {
  if (!msg || !out || !len)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "pb encode: NULL argument");
  size_t n = protobuf_c_message_get_packed_size(msg);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf)
    return actr__fail(ACTR_ENO_MEMORY, "%s: %zu bytes", msg->descriptor->name, n);
  *len = protobuf_c_message_pack(msg, buf);
  *out = buf;
  return ACTR_OK;
}
