/* ring.h — a bounded multi-producer multi-consumer queue of pointers that
 * parks threads only when it is empty (receivers) or full (senders).
 *
 * Lock-free on the fast path (one CAS and one release store per operation,
 * after D. Vyukov's bounded MPMC queue); waiting uses Linux futexes on event
 * counters, so nobody sleeps in a loop or polls.  It is not a channel with
 * ownership rules: it moves void pointers; the lane on top decides what they
 * are and frees what is left at the end. */
#ifndef ACTR_RING_H
#define ACTR_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct actr__ring_cell {
  atomic_size_t seq;
  void *item;
} actr__ring_cell_t;

typedef struct actr__ring {
  _Alignas(64) atomic_size_t head; /* next position to fill */
  _Alignas(64) atomic_size_t tail; /* next position to take */
  _Alignas(64) atomic_uint not_empty_seq;
  atomic_uint not_empty_waiters; /* a receiver is (about to be) asleep */
  _Alignas(64) atomic_uint not_full_seq;
  atomic_uint not_full_waiters; /* a sender is (about to be) asleep */
  _Alignas(64) atomic_bool closed;
  atomic_uint push_spin, pop_spin; /* adaptive spin budgets (ring.c) */
  size_t mask;
  actr__ring_cell_t *cells;
} actr__ring_t;

/* actr__ring_init: room for @capacity items (rounded up to a power of two, at
 * least 2; @capacity 1 ... 1<<24).  ACTR_EINVALID_ARGUMENT / ACTR_ENO_MEMORY. */
int actr__ring_init(actr__ring_t *ring, uint32_t capacity);

/* actr__ring_destroy: free the cells; items still queued are the caller's
 * to drain first (actr__ring_pop with timeout 0). */
void actr__ring_destroy(actr__ring_t *ring);

/* actr__ring_push: queue @item.  @timeout_ms: 0 never waits
 * (ACTR_EWOULD_BLOCK), -1 waits without limit, else ACTR_ETIMEOUT.
 * ACTR_ECHANNEL_CLOSED once closed (the item is not queued). */
int actr__ring_push(actr__ring_t *ring, void *item, int timeout_ms);

/* actr__ring_pop: take the oldest item into *@item, waiting as push does.
 * After close, queued items are still returned; then ACTR_ECHANNEL_CLOSED. */
int actr__ring_pop(actr__ring_t *ring, void **item, int timeout_ms);

/* actr__ring_close: refuse further pushes and wake every waiter. */
void actr__ring_close(actr__ring_t *ring);

bool actr__ring_is_closed(const actr__ring_t *ring);

/* actr__ring_count: items queued now (a snapshot). */
size_t actr__ring_count(const actr__ring_t *ring);

/* actr__ring_half_empty: the ring has drained to half its capacity (a
 * snapshot): the point at which a stopped producer is resumed (bounds.h). */
bool actr__ring_half_empty(const actr__ring_t *ring);

/* actr__ring_totals: items ever pushed and popped (snapshots). */
void actr__ring_totals(const actr__ring_t *ring, uint64_t *pushed, uint64_t *popped);

#endif
