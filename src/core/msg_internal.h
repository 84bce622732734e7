/* msg_internal.h — how actr_msg_t is built inside libactr.
 *
 * A message is a view (data, len) on storage that is either inline (one
 * allocation holds the struct and the bytes) or owned elsewhere and released
 * by a callback.  A view can be advanced to strip a header without copying. */
#ifndef ACTR_MSG_INTERNAL_H
#define ACTR_MSG_INTERNAL_H

#include <actr/msg.h>

struct actr_msg {
  const uint8_t *data;
  size_t len;
  void (*release)(void *ctx); /* NULL for inline storage */
  void *ctx;
  uint16_t joined; /* DataChannel frames only: see actr__msg_set_joined */
};

/* actr__msg_alloc: a message of @len bytes with inline storage; *@bytes
 * points to it for filling.  The storage starts at a 64-byte boundary plus
 * @align_offset (0..63), so callers can place a payload where a later copy
 * will be fast.  NULL when out of memory. */
actr_msg_t *actr__msg_alloc(size_t len, size_t align_offset, uint8_t **bytes);

/* actr__msg_wrap: a message viewing @len bytes at @data; @release(@ctx) is
 * called when the message is freed (transfer of @ctx to the message). */
actr_msg_t *actr__msg_wrap(const uint8_t *data, size_t len, void (*release)(void *ctx), void *ctx);

/* actr__msg_advance: drop the first @n bytes from the view (n <= len). */
void actr__msg_advance(actr_msg_t *msg, size_t n);

/* actr__msg_set_joined / actr__msg_joined: a DataChannel frame that holds
 * @count >= 2 consecutive fragments of one lane message, joined by the
 * channel as it read them (sctp.c): the first one's header, then their
 * payloads end to end (fragment.h).  Only libactr's own channels set it,
 * and only the DataChannel lane reads it; 0 (the default) is a plain
 * frame. */
void actr__msg_set_joined(actr_msg_t *msg, uint16_t count);
uint16_t actr__msg_joined(const actr_msg_t *msg);

#endif
