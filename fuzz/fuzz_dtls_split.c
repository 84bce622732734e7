/* fuzz_dtls_split.c — libFuzzer target for the DTLS record splitter
 * (actr__dtls_record_len, src/rtc/dtls.c), which takes apart a coalesced
 * UDP read (UDP_GRO) of hostile bytes: every record it finds lies within
 * the input, starts with a DTLS content type and carries its own length;
 * walking the input never goes past its end. */
#include <stdlib.h>

#include "dtls.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  size_t off = 0;
  while (off < size) {
    size_t n = actr__dtls_record_len(data + off, size - off);
    if (n == 0)
      break;
    if (n < 13 || n > size - off || data[off] < 20 || data[off] > 63 ||
        n != 13 + ((size_t)data[off + 11] << 8 | data[off + 12]))
      abort();
    off += n;
  }
  if (off > size)
    abort();
  return 0;
}
