/* pbwire.h — protobuf wire helpers shared by every decoder of ours
 * (private), and a strict, bounded decoder for any protobuf-c message.
 *
 * protobuf-c unpacks without checking that strings are UTF-8 (or free of
 * NUL, which a C string cannot carry), and keeps every unknown field as a
 * separate allocation: a message of tiny unknown fields costs many times its
 * size.  actr__pb_decode walks the wire against the message's descriptor
 * first, with limits, and only then lets protobuf-c unpack. */
#ifndef ACTR_PBWIRE_H
#define ACTR_PBWIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* actr__utf8_valid: @s[0..@len) is UTF-8 as Rust's str::from_utf8 takes it
 * (no overlong forms, no surrogates, nothing above U+10FFFF) and holds no
 * NUL. */
bool actr__utf8_valid(const uint8_t *s, size_t len);

/* actr__pb_read_varint: a varint of at most @max_bytes bytes at *@p (before
 * @end); advances *@p.  A 10-byte varint's last byte may only carry bit 63
 * (prost's rule; protobuf-c would drop the rest). */
bool actr__pb_read_varint(const uint8_t **p, const uint8_t *end, unsigned max_bytes,
                          uint64_t *v);

/* actr__pb_field_t: one field as the wire has it: its number, wire type and
 * the bytes of its value (for a varint: none, @val just past it). */
typedef struct actr__pb_field {
  uint64_t num;
  unsigned wt;
  const uint8_t *val;
  uint64_t vlen;
} actr__pb_field_t;

/* actr__pb_read_field: the field at *@p (before @end), read as protobuf-c
 * reads it (keys and length prefixes of at most 5 bytes, varints of at most
 * 10), with a field number in 1 .. 2^29 - 1, a wire type protobuf-c knows
 * and its value within @end; advances *@p past it.  Otherwise
 * ACTR_EDESERIALIZATION, the detail naming @what and the offset @at. */
int actr__pb_read_field(const uint8_t **p, const uint8_t *end, const char *what, size_t at,
                        actr__pb_field_t *f);

/* Limits of one decode; zero fields take the defaults in brackets. */
typedef struct actr__pb_limits {
  size_t max_bytes;          /* whole input [1 MiB] */
  unsigned max_depth;        /* nested messages [16] */
  size_t max_unknown_fields; /* over the whole message [64] */
  size_t max_unknown_bytes;  /* [64 KiB] */
  size_t max_elements;       /* repeated elements and nested messages, in all [4096] */
} actr__pb_limits_t;

/* actr__pb_decode: decode @len bytes as a @desc message.  ACTR_OK and
 * *@out (free with actr__pb_free), or ACTR_EDESERIALIZATION with the message
 * and field (or offset) in actr_err_detail(): malformed wire, a string
 * field that is not UTF-8 or holds a NUL, a missing required field, over a
 * limit; ACTR_ENO_MEMORY.  Any thread. */
int actr__pb_decode(const ProtobufCMessageDescriptor *desc, const void *data, size_t len,
                    const actr__pb_limits_t *limits, ProtobufCMessage **out);

/* actr__pb_free: free what actr__pb_decode returned (NULL: no-op). */
void actr__pb_free(ProtobufCMessage *msg);

/* actr__pb_encode: the encoding of @msg in a malloc'ed buffer (*@out,
 * transfer full) of *@len bytes.  ACTR_ENO_MEMORY. */
int actr__pb_encode(const ProtobufCMessage *msg, uint8_t **out, size_t *len);

#endif
