/* crc32c.c — SCTP's CRC32c with SSE4.2 (see crc32c.h).  Only called when
 * actr__crc32c_available() said yes; the function carries its own target
 * attribute so the rest of the library stays baseline x86-64. */
#include "crc32c.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

bool actr__crc32c_available(void) { return __builtin_cpu_supports("sse4.2"); }

__attribute__((target("sse4.2"))) static uint32_t crc_update(uint32_t crc, const uint8_t *p,
                                                              size_t n) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  crc = (uint32_t)c;
  while (n--)
    crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

uint32_t actr__sctp_checksum(const uint8_t *pkt, size_t len) {
  static const uint8_t zero[4];
  uint32_t crc = 0xffffffffu;
  crc = crc_update(crc, pkt, 8);
  crc = crc_update(crc, zero, 4);
  crc = crc_update(crc, pkt + 12, len - 12);
  /* RFC 4960 Appendix B: the complement, least significant byte first on
   * the wire — a plain little-endian store on x86. */
  return ~crc;
}
#else
bool actr__crc32c_available(void) { return false; }
uint32_t actr__sctp_checksum(const uint8_t *pkt, size_t len) { return 0; }
#endif
