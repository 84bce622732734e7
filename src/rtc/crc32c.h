/* crc32c.h — CRC32c (Castagnoli, RFC 4960 Appendix B / RFC 3309) of an SCTP
 * packet, with the SSE4.2 crc32 instruction.  usrsctp computes it in
 * portable C; with usrsctp_enable_crc32c_offload() it leaves the field to
 * "the hardware", which is this file (about 20x faster). */
#ifndef ACTR_RTC_CRC32C_H
#define ACTR_RTC_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* actr__crc32c_available: the CPU has the instruction. */
bool actr__crc32c_available(void);

/* actr__sctp_checksum: the checksum of the SCTP packet @pkt (at least 12
 * bytes), computed with the checksum field (bytes 8..11) taken as zero, in
 * the byte order it is written to the packet. */
uint32_t actr__sctp_checksum(const uint8_t *pkt, size_t len);

#endif
