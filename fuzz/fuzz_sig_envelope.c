/* fuzz_sig_envelope.c — libFuzzer target for the decoder of actrix
 * signaling frames: one binary WebSocket message = one
 * signaling.SignalingEnvelope (src/proto/actr/signaling.proto), decoded by
 * the strict decoder (src/core/pbwire.c).  Any input decodes or is refused
 * with ACTR_EDESERIALIZATION (nothing returned); what decodes re-encodes to
 * bytes that decode again and re-encode to the same bytes (unknown fields
 * included), and every string in it is valid UTF-8 (checked by the second
 * decode, which would refuse it).  Sanitizers catch the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>

#include "actr/signaling.pb-c.h"
#include "pbwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const ProtobufCMessageDescriptor *d = &signaling__signaling_envelope__descriptor;
  ProtobufCMessage *m = (ProtobufCMessage *)&d; /* must be reset */
  int rc = actr__pb_decode(d, data, size, NULL, &m);
  if (rc != ACTR_OK) {
    if ((rc != ACTR_EDESERIALIZATION && rc != ACTR_ENO_MEMORY) || m)
      abort();
    return 0;
  }
  uint8_t *a, *b;
  size_t alen, blen;
  ProtobufCMessage *again;
  if (actr__pb_encode(m, &a, &alen) != ACTR_OK)
    abort();
  if (actr__pb_decode(d, a, alen, NULL, &again) != ACTR_OK)
    abort();
  if (actr__pb_encode(again, &b, &blen) != ACTR_OK || blen != alen || memcmp(a, b, alen) != 0)
    abort();
  free(a);
  free(b);
  actr__pb_free(again);
  actr__pb_free(m);
  return 0;
}
