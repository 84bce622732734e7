/* addr_key.h — the key under which per-address bounds count a peer: an
 * IPv4 address (an IPv4-mapped IPv6 one as IPv4), or an IPv6 address's /64
 * (one host commonly holds a whole /64, so counting single IPv6 addresses
 * would bound nothing).  Used by the WebSocket server's handshake cap and
 * the node's key-ask buckets. */
#ifndef ACTR_ADDR_KEY_H
#define ACTR_ADDR_KEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ACTR__ADDR_KEY_LEN 16

/* actr__addr_key: the key of the address @b (@len 4: IPv4, 16: IPv6, in
 * network order) into @key (zeroed, then filled). */
static inline void actr__addr_key(const uint8_t *b, size_t len, uint8_t key[ACTR__ADDR_KEY_LEN]) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  memset(key, 0, ACTR__ADDR_KEY_LEN);
  if (len == 4) {
    memcpy(key, b, 4);
  } else if (len == 16 && memcmp(b, mapped, sizeof mapped) == 0) {
    memcpy(key, b + 12, 4);
  } else if (len == 16) {
    memcpy(key, b, 8);
    key[15] = 6; /* not an IPv4 key */
  }
}

#endif
