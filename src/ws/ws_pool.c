/* ws_pool.c — see ws_pool.h. */
#include "ws_pool.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "msg_internal.h"

/* Each buffer starts with this header, padded to 64 bytes. */
typedef struct pool_hdr {
  actr__ws_pool_t *pool;
  size_t cap; /* usable bytes after the header */
} pool_hdr_t;

#define HDR 64

actr__ws_pool_t *actr__ws_pool_new(void) {
  actr__ws_pool_t *p = calloc(1, sizeof *p);
  if (p)
    atomic_init(&p->refs, 1);
  return p;
}

void actr__ws_pool_unref(actr__ws_pool_t *p) {
  if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
    return;
  for (int i = 0; i < ACTR__WS_POOL_SLOTS; i++)
    free(atomic_load(&p->slot[i]));
  free(p);
}

void *actr__ws_pool_get(actr__ws_pool_t *p, size_t need) {
  atomic_fetch_add(&p->refs, 1);
  for (int i = 0; i < ACTR__WS_POOL_SLOTS; i++) {
    if (!atomic_load_explicit(&p->slot[i], memory_order_relaxed))
      continue;
    pool_hdr_t *h = atomic_exchange(&p->slot[i], NULL);
    if (!h)
      continue;
    atomic_fetch_sub(&p->idle, h->cap);
    if (h->cap >= need && h->cap / 2 <= need)
      return (uint8_t *)h + HDR;
    free(h); /* another size class now: let it go */
  }
  size_t cap = (need + 63) & ~(size_t)63;
  pool_hdr_t *h = aligned_alloc(64, HDR + cap);
  if (!h) {
    actr__ws_pool_unref(p);
    return NULL;
  }
  h->pool = p;
  h->cap = cap;
  return (uint8_t *)h + HDR;
}

void actr__ws_pool_put(void *buf) {
  pool_hdr_t *h = (pool_hdr_t *)((uint8_t *)buf - HDR);
  actr__ws_pool_t *p = h->pool;
  bool kept = false;
  /* The idle bound is checked before taking a slot: racing putters may pass
   * it together by a buffer or two, which is fine for a cache. */
  if (h->cap <= ACTR__WS_POOL_MAX && atomic_load(&p->idle) + h->cap <= ACTR__WS_POOL_IDLE_MAX)
    for (int i = 0; i < ACTR__WS_POOL_SLOTS && !kept; i++) {
      void *expect = NULL;
      if (atomic_load_explicit(&p->slot[i], memory_order_relaxed))
        continue;
      kept = atomic_compare_exchange_strong(&p->slot[i], &expect, h);
    }
  if (kept)
    atomic_fetch_add(&p->idle, h->cap);
  else
    free(h);
  actr__ws_pool_unref(p);
}

actr_msg_t *actr__ws_pool_msg(actr__ws_pool_t *p, size_t len, size_t skip, uint8_t **bytes) {
  size_t pad = (64 - (skip & 63)) & 63;
  uint8_t *buf = actr__ws_pool_get(p, pad + len);
  if (!buf)
    return NULL;
  actr_msg_t *m = actr__msg_wrap(buf + pad, len, actr__ws_pool_put, buf);
  if (!m) {
    actr__ws_pool_put(buf);
    return NULL;
  }
  *bytes = buf + pad;
  return m;
}
