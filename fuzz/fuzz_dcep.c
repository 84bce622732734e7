/* fuzz_dcep.c — libFuzzer target for the DCEP decoder (src/rtc/dcep.c):
 * any input is refused with ACTR_EPROTOCOL or decoded; a decoded OPEN
 * encodes back to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>

#include "dcep.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  uint8_t type;
  actr__dcep_open_t open;
  int rc = actr__dcep_decode(data, size, &type, &open);
  if (rc != ACTR_OK) {
    if (rc != ACTR_EPROTOCOL)
      abort();
    return 0;
  }
  if (type == ACTR__DCEP_ACK) {
    if (size != 1)
      abort();
    return 0;
  }
  if (type != ACTR__DCEP_OPEN || open.label + open.label_len > data + size ||
      open.protocol + open.protocol_len != data + size)
    abort();
  uint8_t *buf = malloc(size);
  if (actr__dcep_encode_open(&open, buf, size) != size || memcmp(buf, data, size) != 0)
    abort();
  free(buf);
  return 0;
}
