/* ring.c — bounded MPMC pointer queue with futex parking (see ring.h).
 *
 * Each cell carries a sequence number: cell i is free for the producer that
 * claims position p when seq == p, and holds an item for the consumer that
 * claims p when seq == p + 1; taking it sets seq to p + capacity.  Claiming
 * is one CAS on head or tail.
 *
 * Parking is an event count per direction: a waiter reads the counter,
 * then raises a "sleeping" flag, re-checks the ring, and sleeps on the
 * counter value it read; the other side, after its operation, issues a full
 * fence and, only if the flag is up, clears it, bumps the counter and wakes
 * everyone.  Either the waiter sees the new state or the other side sees the
 * flag.  The counter is read before the flag goes up: a wake-up that clears
 * the flag of one waiter (several share it) then always bumps the counter
 * after that waiter read it, so the waiter does not sleep with its flag gone
 * (reading it after the flag let two producers sleep on a full-then-drained
 * ring while the consumer slept on the empty one).
 *
 * Blocked senders are woken when the ring has drained to half its size, not
 * at the first free cell: with more threads than cores, waking a sender per
 * item turns every receive into a system call.  A sender parked on a full
 * ring therefore waits for the low-water mark (or close, or its timeout,
 * after which it tries once more). */
#include "ring.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "clock.h"
#include "error_internal.h"

/* ACTR_RING_WIDEN_RACES (tests/unit/test_ring.c only): yield inside the two
 * windows where a lost wake-up used to hide — between claiming a cell and
 * publishing it, and inside a waiter's prepare-to-sleep — so that a test
 * meets them in seconds instead of once in billions of operations. */
#ifdef ACTR_RING_WIDEN_RACES
#include <sched.h>
#define WIDEN(cond)                                                                            \
  do {                                                                                         \
    if (cond)                                                                                  \
      sched_yield();                                                                           \
  } while (0)
#else
#define WIDEN(cond) ((void)0)
#endif

/* Spinning before parking: a parked thread costs two system calls and
 * microseconds of wake-up latency, a spin costs CPU.  The budget adapts per
 * direction: it doubles when a spin ended the wait (a busy stream: keep
 * spinning) and halves when the thread had to park anyway (an idle lane:
 * stop burning CPU). */
#define SPIN_MIN 16
#define SPIN_MAX 8192

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

int actr__ring_init(actr__ring_t *ring, uint32_t capacity) {
  if (capacity == 0 || capacity > (1u << 24))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "ring capacity %u outside 1..16777216", capacity);
  /* At least two cells: with one, "full" (seq == pos + 1) would read as
   * "free" to the next producer (seq == its pos). */
  size_t cap = 2;
  while (cap < capacity)
    cap <<= 1;
  ring->cells = aligned_alloc(64, ((cap * sizeof(actr__ring_cell_t)) + 63) & ~(size_t)63);
  if (!ring->cells)
    return actr__fail(ACTR_ENO_MEMORY, "ring of %zu cells", cap);
  for (size_t i = 0; i < cap; i++) {
    atomic_init(&ring->cells[i].seq, i);
    ring->cells[i].item = NULL;
  }
  ring->mask = cap - 1;
  atomic_init(&ring->head, 0);
  atomic_init(&ring->tail, 0);
  atomic_init(&ring->not_empty_seq, 0);
  atomic_init(&ring->not_empty_waiters, 0);
  atomic_init(&ring->not_full_seq, 0);
  atomic_init(&ring->not_full_waiters, 0);
  atomic_init(&ring->closed, false);
  atomic_init(&ring->push_spin, SPIN_MIN * 4);
  atomic_init(&ring->pop_spin, SPIN_MIN * 4);
  return ACTR_OK;
}

void actr__ring_destroy(actr__ring_t *ring) {
  free(ring->cells);
  ring->cells = NULL;
}

static bool try_push(actr__ring_t *ring, void *item) {
  size_t pos = atomic_load_explicit(&ring->head, memory_order_relaxed);
  for (;;) {
    actr__ring_cell_t *cell = &ring->cells[pos & ring->mask];
    size_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
    intptr_t dif = (intptr_t)seq - (intptr_t)pos;
    if (dif == 0) {
      if (atomic_compare_exchange_weak_explicit(&ring->head, &pos, pos + 1, memory_order_relaxed,
                                                memory_order_relaxed)) {
        WIDEN((pos & 7) == 0);
        cell->item = item;
        atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
        return true;
      }
    } else if (dif < 0) {
      return false; /* full */
    } else {
      pos = atomic_load_explicit(&ring->head, memory_order_relaxed);
    }
  }
}

static bool try_pop(actr__ring_t *ring, void **item) {
  size_t pos = atomic_load_explicit(&ring->tail, memory_order_relaxed);
  for (;;) {
    actr__ring_cell_t *cell = &ring->cells[pos & ring->mask];
    size_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
    intptr_t dif = (intptr_t)seq - (intptr_t)(pos + 1);
    if (dif == 0) {
      if (atomic_compare_exchange_weak_explicit(&ring->tail, &pos, pos + 1, memory_order_relaxed,
                                                memory_order_relaxed)) {
        *item = cell->item;
        atomic_store_explicit(&cell->seq, pos + ring->mask + 1, memory_order_release);
        return true;
      }
    } else if (dif < 0) {
      return false; /* empty */
    } else {
      pos = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    }
  }
}

/* wake: after an operation that may have ended someone's wait.  The fence
 * pairs with the waiter's seq_cst store of its flag (Dekker): either the
 * waiter's re-check sees our operation, or we see its flag.  Only the waker
 * that clears the flag makes the system call, once per sleep, not once per
 * item. */
static void wake(atomic_uint *seq, atomic_uint *sleeping) {
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(sleeping, memory_order_relaxed) == 0 ||
      atomic_exchange_explicit(sleeping, 0, memory_order_seq_cst) == 0)
    return;
  atomic_fetch_add_explicit(seq, 1, memory_order_seq_cst);
  syscall(SYS_futex, seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* park: sleep on @seq while it still equals @key; false once @deadline
 * (absolute CLOCK_MONOTONIC, NULL = none) has passed. */
static bool park(atomic_uint *seq, unsigned key, const struct timespec *deadline) {
  long rc = syscall(SYS_futex, seq, FUTEX_WAIT_BITSET_PRIVATE, key, deadline, NULL,
                    FUTEX_BITSET_MATCH_ANY);
  return !(rc == -1 && errno == ETIMEDOUT);
}

/* wait_for: the shared slow path of push and pop.  @attempt retries the
 * operation; @seq/@waiters are the event count of the state we wait for. */
static int wait_for(actr__ring_t *ring, bool (*attempt)(actr__ring_t *, void **), void **arg,
                    atomic_uint *seq, atomic_uint *waiters, atomic_uint *spin_budget, bool is_pop,
                    int timeout_ms) {
  unsigned budget = atomic_load_explicit(spin_budget, memory_order_relaxed);
  /* Probe less and less often: each failed probe reads the very cell the
   * other side is working on, and pulling its cache line away slows the
   * other side down. */
  unsigned gap = 1;
  for (unsigned i = 0; i < budget; i += gap) {
    for (unsigned j = 0; j < gap; j++)
      cpu_relax();
    if (gap < 64)
      gap *= 2;
    if (attempt(ring, arg)) {
      if (budget < SPIN_MAX)
        atomic_store_explicit(spin_budget, budget * 2, memory_order_relaxed);
      return ACTR_OK;
    }
  }
  if (budget > SPIN_MIN)
    atomic_store_explicit(spin_budget, budget / 2, memory_order_relaxed);
  struct timespec deadline, *dl = NULL;
  if (timeout_ms > 0) {
    actr__deadline_after(&deadline, timeout_ms);
    dl = &deadline;
  }
  for (;;) {
    unsigned key = atomic_load_explicit(seq, memory_order_seq_cst);
    WIDEN(1);
    atomic_store_explicit(waiters, 1, memory_order_seq_cst);
    /* The re-check's cell load is only acquire: keep it after the flag
     * store (the waker's side has its fence too). */
    atomic_thread_fence(memory_order_seq_cst);
    if (attempt(ring, arg))
      return ACTR_OK;
    if (atomic_load_explicit(&ring->closed, memory_order_acquire)) {
      /* A closed ring still hands out what it holds. */
      if (is_pop && attempt(ring, arg))
        return ACTR_OK;
      return actr__fail(ACTR_ECHANNEL_CLOSED, "Mpsc channel closed");
    }
    if (!park(seq, key, dl)) {
      if (attempt(ring, arg))
        return ACTR_OK;
      return actr__fail(ACTR_ETIMEOUT, "timed out after %d ms", timeout_ms);
    }
  }
}

static bool attempt_push(actr__ring_t *ring, void **item) { return try_push(ring, *item); }

int actr__ring_push(actr__ring_t *ring, void *item, int timeout_ms) {
  if (atomic_load_explicit(&ring->closed, memory_order_acquire))
    return actr__fail(ACTR_ECHANNEL_CLOSED, "Mpsc channel closed");
  int rc = ACTR_OK;
  if (!try_push(ring, item)) {
    if (timeout_ms == 0)
      return actr__fail(ACTR_EWOULD_BLOCK, "lane full");
    rc = wait_for(ring, attempt_push, &item, &ring->not_full_seq, &ring->not_full_waiters,
                  &ring->push_spin, false,
                  timeout_ms);
    if (rc != ACTR_OK)
      return rc;
  }
  wake(&ring->not_empty_seq, &ring->not_empty_waiters);
  return ACTR_OK;
}

int actr__ring_pop(actr__ring_t *ring, void **item, int timeout_ms) {
  if (!try_pop(ring, item)) {
    if (atomic_load_explicit(&ring->closed, memory_order_acquire)) {
      if (try_pop(ring, item))
        goto popped;
      return actr__fail(ACTR_ECHANNEL_CLOSED, "Mpsc channel closed");
    }
    if (timeout_ms == 0)
      return actr__fail(ACTR_EWOULD_BLOCK, "lane empty");
    int rc = wait_for(ring, try_pop, item, &ring->not_empty_seq, &ring->not_empty_waiters,
                      &ring->pop_spin, true,
                      timeout_ms);
    if (rc != ACTR_OK)
      return rc;
  }
popped:
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(&ring->not_full_waiters, memory_order_relaxed) &&
      actr__ring_half_empty(ring))
    wake(&ring->not_full_seq, &ring->not_full_waiters);
  return ACTR_OK;
}

void actr__ring_close(actr__ring_t *ring) {
  if (atomic_exchange_explicit(&ring->closed, true, memory_order_acq_rel))
    return;
  atomic_fetch_add_explicit(&ring->not_empty_seq, 1, memory_order_seq_cst);
  atomic_fetch_add_explicit(&ring->not_full_seq, 1, memory_order_seq_cst);
  syscall(SYS_futex, &ring->not_empty_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
  syscall(SYS_futex, &ring->not_full_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

bool actr__ring_is_closed(const actr__ring_t *ring) {
  return atomic_load_explicit(&ring->closed, memory_order_acquire);
}

bool actr__ring_half_empty(const actr__ring_t *ring) {
  return actr__half_empty(actr__ring_count(ring), ring->mask + 1);
}

size_t actr__ring_count(const actr__ring_t *ring) {
  size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
  size_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
  return head > tail ? head - tail : 0;
}

void actr__ring_totals(const actr__ring_t *ring, uint64_t *pushed, uint64_t *popped) {
  *pushed = atomic_load_explicit(&ring->head, memory_order_acquire);
  *popped = atomic_load_explicit(&ring->tail, memory_order_acquire);
}
