/* msg.c — actr_msg_t: a view on bytes with inline or borrowed storage. */
#include "msg_internal.h"

#include <stdlib.h>
#include <string.h>

#include <actr/error.h>

static const uint8_t empty_bytes[1];

actr_msg_t *actr__msg_alloc(size_t len, size_t align_offset, uint8_t **bytes) {
  /* The struct sits just before a 64-byte aligned block; the bytes start
   * @align_offset into it.  One allocation, freed with free(msg_base). */
  size_t head = (sizeof(actr_msg_t) + 63) & ~(size_t)63;
  align_offset &= 63;
  if (len > SIZE_MAX - head - 64)
    return NULL;
  uint8_t *base = aligned_alloc(64, (head + align_offset + len + 63) & ~(size_t)63);
  if (!base)
    return NULL;
  actr_msg_t *msg = (actr_msg_t *)(base + head - sizeof(actr_msg_t));
  uint8_t *data = base + head + align_offset;
  msg->data = data;
  msg->len = len;
  msg->release = NULL;
  msg->ctx = base;
  msg->joined = 0;
  if (bytes)
    *bytes = data;
  return msg;
}

actr_msg_t *actr__msg_wrap(const uint8_t *data, size_t len, void (*release)(void *ctx), void *ctx) {
  actr_msg_t *msg = malloc(sizeof *msg);
  if (!msg)
    return NULL;
  *msg = (actr_msg_t){.data = data, .len = len, .release = release, .ctx = ctx};
  return msg;
}

void actr__msg_set_joined(actr_msg_t *msg, uint16_t count) { msg->joined = count; }

uint16_t actr__msg_joined(const actr_msg_t *msg) { return msg ? msg->joined : 0; }

void actr__msg_advance(actr_msg_t *msg, size_t n) {
  if (n > msg->len)
    n = msg->len;
  msg->data += n;
  msg->len -= n;
}

int actr_msg_new_copy(const void *data, size_t len, actr_msg_t **out) {
  if (!out || (!data && len))
    return ACTR_EINVALID_ARGUMENT;
  uint8_t *bytes;
  actr_msg_t *msg = actr__msg_alloc(len, 0, &bytes);
  if (!msg)
    return ACTR_ENO_MEMORY;
  if (len)
    memcpy(bytes, data, len);
  *out = msg;
  return ACTR_OK;
}

const uint8_t *actr_msg_data(const actr_msg_t *msg) {
  return msg && msg->data ? msg->data : empty_bytes;
}

size_t actr_msg_len(const actr_msg_t *msg) { return msg ? msg->len : 0; }

void actr_msg_free(actr_msg_t *msg) {
  if (!msg)
    return;
  if (msg->release) {
    msg->release(msg->ctx);
    free(msg);
  } else {
    free(msg->ctx); /* inline: ctx is the allocation's base */
  }
}
