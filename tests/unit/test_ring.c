/* test_ring.c — the bounded MPMC ring under contention: several producers
 * and consumers on a small ring, so that both sides park again and again.
 * Built with its own copy of ring.c compiled with ACTR_RING_WIDEN_RACES
 * (yields inside the race windows, see ring.c).  Every wait has a generous
 * limit: a lost wake-up shows as ACTR_ETIMEOUT (nothing else can make a wait
 * on a busy ring run out). */
#include <glib.h>
#include <stdatomic.h>
#include <stdint.h>

#include <actr/error.h>

#include "ring.h"

#define WAIT_MS 10000

typedef struct {
  actr__ring_t *ring;
  uintptr_t first, count;
  int rc;
} side_t;

static gpointer producer(gpointer p) {
  side_t *s = p;
  for (uintptr_t i = 0; i < s->count; i++) {
    s->rc = actr__ring_push(s->ring, (void *)(s->first + i), WAIT_MS);
    if (s->rc != ACTR_OK)
      return NULL;
  }
  return NULL;
}

typedef struct {
  actr__ring_t *ring;
  uintptr_t count;
  uint64_t sum;
  int rc;
} consumer_t;

static gpointer consumer(gpointer p) {
  consumer_t *c = p;
  for (uintptr_t i = 0; i < c->count; i++) {
    void *item;
    c->rc = actr__ring_pop(c->ring, &item, WAIT_MS);
    if (c->rc != ACTR_OK)
      return NULL;
    c->sum += (uintptr_t)item;
  }
  return NULL;
}

/* @producers x @per items through a ring of @cap, @consumers taking an
 * equal share; every item arrives once (checked by the sum of 1..n). */
static void run(uint32_t cap, int producers, int consumers, uintptr_t per) {
  actr__ring_t ring;
  g_assert_cmpint(actr__ring_init(&ring, cap), ==, ACTR_OK);
  side_t ps[4];
  consumer_t cs[4];
  GThread *pt[4], *ct[4];
  uintptr_t total = per * (uintptr_t)producers;
  for (int i = 0; i < consumers; i++) {
    cs[i] = (consumer_t){&ring, total / (uintptr_t)consumers, 0, -1};
    ct[i] = g_thread_new("consumer", consumer, &cs[i]);
  }
  for (int i = 0; i < producers; i++) {
    ps[i] = (side_t){&ring, 1 + (uintptr_t)i * per, per, -1};
    pt[i] = g_thread_new("producer", producer, &ps[i]);
  }
  uint64_t sum = 0;
  for (int i = 0; i < producers; i++) {
    g_thread_join(pt[i]);
    g_assert_cmpstr(actr_err_name(ps[i].rc), ==, "OK");
  }
  for (int i = 0; i < consumers; i++) {
    g_thread_join(ct[i]);
    g_assert_cmpstr(actr_err_name(cs[i].rc), ==, "OK");
    sum += cs[i].sum;
  }
  g_assert_cmpuint(sum, ==, (uint64_t)total * (total + 1) / 2);
  actr__ring_destroy(&ring);
}

/* The bench_inproc hang: the consumer asleep on a ring holding items, the
 * producers asleep on it full.  The consumer raised its flag, a producer's
 * wake-up cleared it and bumped the count, the consumer read the new count,
 * found the cell at its position still unpublished by a slower producer, and
 * slept; that producer's wake-up then saw no flag.  (The counter is now read
 * before the flag goes up.) */
static void test_two_producers_one_consumer(void) { run(4, 2, 1, 300000); }
static void test_three_producers_one_consumer(void) { run(128, 3, 1, 200000); }
static void test_three_producers_two_consumers(void) { run(4, 3, 2, 200000); }
static void test_one_to_one_capacity_two(void) { run(2, 1, 1, 300000); }

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ring/contention/two-producers-one-consumer", test_two_producers_one_consumer);
  g_test_add_func("/ring/contention/three-producers-one-consumer",
                  test_three_producers_one_consumer);
  g_test_add_func("/ring/contention/three-producers-two-consumers",
                  test_three_producers_two_consumers);
  g_test_add_func("/ring/contention/one-to-one-capacity-two", test_one_to_one_capacity_two);
  return g_test_run();
}
