/* fuzz_ws_msg.c — libFuzzer target for the 5-byte WebSocket lane message
 * decoder (SPEC §1.4, src/ws/ws_frame.c).  Invariants: a decoded message
 * has a valid type and a data length that fits the input; anything else is
 * DESERIALIZATION (never a crash); a decode agrees with the bytes. */
#include <stdint.h>
#include <stdlib.h>

#include <actr/error.h>

#include "ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  actr_payload_type_t type;
  size_t len = 0;
  int rc = actr__ws_msg_decode(data, size, &type, &len);
  if (rc == ACTR_OK) {
    if (size < 5 || (int)type > 4 || len > size - 5 || type != data[0])
      abort();
    uint8_t h[5];
    actr__ws_msg_header_encode(h, type, (uint32_t)len);
    for (int i = 0; i < 5; i++)
      if (h[i] != data[i])
        abort();
  } else if (rc != ACTR_EDESERIALIZATION) {
    abort();
  } else if (size >= 5 && data[0] <= 4 &&
             ((uint64_t)data[1] << 24 | (uint64_t)data[2] << 16 | (uint64_t)data[3] << 8 | data[4]) <=
                 size - 5) {
    abort(); /* refused a valid message */
  }
  return 0;
}
