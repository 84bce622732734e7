/* ws_pool.h — a few large buffers kept for reuse.
 *
 * A stream of large messages allocates and frees a buffer per message; glibc
 * hands freed heap tops back to the kernel, so every new buffer faults its
 * pages in again (a fifth of the CPU time at 64 KiB on loopback).  A pool
 * keeps up to ACTR__WS_POOL_SLOTS buffers of at most ACTR__WS_POOL_MAX bytes,
 * ACTR__WS_POOL_IDLE_MAX bytes in all, and is reference-counted: a buffer out in a
 * received message keeps its pool alive after the connection is gone.
 * Lock-free: each slot is taken and filled with one atomic operation. */
#ifndef ACTR_WS_POOL_H
#define ACTR_WS_POOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <actr/msg.h>

#define ACTR__WS_POOL_SLOTS 16
#define ACTR__WS_POOL_MIN (16u * 1024u)     /* smaller buffers: plain malloc */
#define ACTR__WS_POOL_MAX (256u * 1024u)    /* larger ones are not kept */
#define ACTR__WS_POOL_IDLE_MAX (1024u * 1024u) /* idle bytes kept per pool */

typedef struct actr__ws_pool {
  atomic_int refs;
  atomic_size_t idle; /* bytes in the slots */
  _Atomic(void *) slot[ACTR__WS_POOL_SLOTS];
} actr__ws_pool_t;

actr__ws_pool_t *actr__ws_pool_new(void);
void actr__ws_pool_unref(actr__ws_pool_t *p);

/* actr__ws_pool_get: a 64-byte aligned buffer of at least @need bytes
 * (usable from the returned pointer), from the pool when one fits, else
 * fresh; NULL when out of memory.  Takes a pool reference, given back by
 * actr__ws_pool_put. */
void *actr__ws_pool_get(actr__ws_pool_t *p, size_t need);

/* actr__ws_pool_put: return a buffer from actr__ws_pool_get (kept or freed). */
void actr__ws_pool_put(void *buf);

/* actr__ws_pool_msg: a message of @len bytes in a pooled buffer, placed so
 * that the bytes after a @skip-byte header start on a 64-byte boundary;
 * *@bytes is where to write.  Freed back into the pool. */
actr_msg_t *actr__ws_pool_msg(actr__ws_pool_t *p, size_t len, size_t skip, uint8_t **bytes);

#endif
