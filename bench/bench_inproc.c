/* bench_inproc.c — in-process lane throughput (envelopes/s), 1->1 and 2->1
 * producers, capacity 100 and 1024, 64-byte payloads; beside a plain mutex +
 * condition-variable bounded queue and ZeroMQ inproc PUSH/PULL measured in
 * the same run.
 *
 * What is measured is the hand-over: envelopes are built before the clock
 * starts and the producers send pointers from that pool (the consumer reads
 * each one's payload length and does not free it), as ZeroMQ sends 64-byte
 * messages it holds inline.  Building and freeing envelopes is the
 * application's cost, the same on every lane.  Each figure is the median of
 * three runs. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <actr/error.h>
#include <actr/inproc.h>
#ifdef HAVE_ZMQ
#include <zmq.h>
#endif

#include "bench_common.h"

#define MESSAGES 4000000u
#define POOL 256u
#define RUNS 3

static actr_envelope_t *pool[POOL];

typedef struct {
  void *q;
  unsigned count;
  pthread_barrier_t *start;
} prod_arg_t;

/* ---- libactr in-process lane ---- */

/* Producers copy their arguments to locals first: the argument block sits
 * on the consumer's stack, and re-reading it each iteration would share a
 * cache line with the consumer's own locals (false sharing, -30%). */
static void *lane_producer(void *p) {
  prod_arg_t *a = p;
  actr_lane_t *lane = a->q;
  unsigned count = a->count;
  pthread_barrier_wait(a->start);
  for (unsigned i = 0; i < count; i++)
    if (actr_lane_send_envelope(lane, pool[i & (POOL - 1)]) != ACTR_OK)
      abort();
  return NULL;
}

static double run_lane(int producers, uint32_t cap) {
  actr_lane_t *lane;
  if (actr_lane_inproc_new(ACTR_PAYLOAD_RPC_RELIABLE, cap, &lane) != ACTR_OK)
    abort();
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)producers + 1);
  pthread_t t[2];
  prod_arg_t a = {lane, MESSAGES / (unsigned)producers, &start};
  for (int i = 0; i < producers; i++)
    pthread_create(&t[i], NULL, lane_producer, &a);
  pthread_barrier_wait(&start);
  double t0 = bench_now();
  size_t sum = 0;
  unsigned total = a.count * (unsigned)producers;
  for (unsigned i = 0; i < total; i++) {
    actr_envelope_t *env;
    if (actr_lane_recv_envelope(lane, -1, &env) != ACTR_OK)
      abort();
    const uint8_t *d;
    size_t len;
    actr_envelope_payload(env, &d, &len);
    sum += len;
  }
  double dt = bench_now() - t0;
  for (int i = 0; i < producers; i++)
    pthread_join(t[i], NULL);
  if (sum != (size_t)total * 64)
    abort();
  pthread_barrier_destroy(&start);
  actr_lane_unref(lane);
  return total / dt;
}

/* ---- baseline: mutex + condition variable bounded queue ---- */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  void **items;
  unsigned cap, head, count;
} mcq_t;

static void mcq_push(mcq_t *q, void *item) {
  pthread_mutex_lock(&q->mu);
  while (q->count == q->cap)
    pthread_cond_wait(&q->not_full, &q->mu);
  q->items[(q->head + q->count) % q->cap] = item;
  q->count++;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
}

static void *mcq_pop(mcq_t *q) {
  pthread_mutex_lock(&q->mu);
  while (q->count == 0)
    pthread_cond_wait(&q->not_empty, &q->mu);
  void *item = q->items[q->head];
  q->head = (q->head + 1) % q->cap;
  q->count--;
  pthread_cond_signal(&q->not_full);
  pthread_mutex_unlock(&q->mu);
  return item;
}

static void *mcq_producer(void *p) {
  prod_arg_t *a = p;
  mcq_t *q = a->q;
  unsigned count = a->count;
  pthread_barrier_wait(a->start);
  for (unsigned i = 0; i < count; i++)
    mcq_push(q, pool[i & (POOL - 1)]);
  return NULL;
}

static double run_mcq(int producers, unsigned cap) {
  mcq_t q = {.cap = cap};
  pthread_mutex_init(&q.mu, NULL);
  pthread_cond_init(&q.not_empty, NULL);
  pthread_cond_init(&q.not_full, NULL);
  q.items = calloc(cap, sizeof(void *));
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)producers + 1);
  pthread_t t[2];
  prod_arg_t a = {&q, MESSAGES / 4 / (unsigned)producers, &start};
  for (int i = 0; i < producers; i++)
    pthread_create(&t[i], NULL, mcq_producer, &a);
  pthread_barrier_wait(&start);
  double t0 = bench_now();
  unsigned total = a.count * (unsigned)producers;
  size_t sum = 0;
  for (unsigned i = 0; i < total; i++) {
    const uint8_t *d;
    size_t len;
    actr_envelope_payload(mcq_pop(&q), &d, &len);
    sum += len;
  }
  double dt = bench_now() - t0;
  for (int i = 0; i < producers; i++)
    pthread_join(t[i], NULL);
  if (sum != (size_t)total * 64)
    abort();
  free(q.items);
  pthread_barrier_destroy(&start);
  return total / dt;
}

/* ---- baseline: ZeroMQ inproc PUSH/PULL, 64-byte messages ---- */
#ifdef HAVE_ZMQ
typedef struct {
  void *ctx;
  unsigned count;
  pthread_barrier_t *start;
  const char *ep;
} zarg_t;

static void *zmq_producer(void *p) {
  zarg_t *a = p;
  unsigned count = a->count;
  void *s = zmq_socket(a->ctx, ZMQ_PUSH);
  zmq_connect(s, a->ep);
  pthread_barrier_wait(a->start);
  uint8_t payload[64] = {1};
  for (unsigned i = 0; i < count; i++) {
    zmq_msg_t m;
    zmq_msg_init_size(&m, sizeof payload);
    memcpy(zmq_msg_data(&m), payload, sizeof payload);
    if (zmq_msg_send(&m, s, 0) < 0)
      abort();
  }
  int linger = -1;
  zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
  zmq_close(s);
  return NULL;
}

static double run_zmq(int producers) {
  void *ctx = zmq_ctx_new();
  void *pull = zmq_socket(ctx, ZMQ_PULL);
  const char *ep = "inproc://bench";
  zmq_bind(pull, ep);
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)producers + 1);
  zarg_t a = {ctx, MESSAGES / (unsigned)producers, &start, ep};
  pthread_t t[2];
  for (int i = 0; i < producers; i++)
    pthread_create(&t[i], NULL, zmq_producer, &a);
  pthread_barrier_wait(&start);
  double t0 = bench_now();
  unsigned total = a.count * (unsigned)producers;
  size_t sum = 0;
  for (unsigned i = 0; i < total; i++) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, pull, 0) < 0)
      abort();
    sum += zmq_msg_size(&m);
    zmq_msg_close(&m);
  }
  double dt = bench_now() - t0;
  for (int i = 0; i < producers; i++)
    pthread_join(t[i], NULL);
  if (sum != (size_t)total * 64)
    abort();
  zmq_close(pull);
  zmq_ctx_term(ctx);
  pthread_barrier_destroy(&start);
  return total / dt;
}
#endif

static double median_of(double (*fn)(int, uint32_t), int producers, uint32_t cap) {
  double v[RUNS];
  for (int i = 0; i < RUNS; i++)
    v[i] = fn(producers, cap);
  return bench_median(v, RUNS);
}

static double mcq_adapter(int p, uint32_t cap) { return run_mcq(p, cap); }
#ifdef HAVE_ZMQ
static double zmq_adapter(int p, uint32_t cap) { (void)cap; return run_zmq(p); }
#endif

int main(void) {
  uint8_t payload[64];
  memset(payload, 0x5a, sizeof payload);
  for (unsigned i = 0; i < POOL; i++) {
    if (actr_envelope_new("bench.Service.Method", "bench", 30000, &pool[i]) != ACTR_OK ||
        actr_envelope_set_payload(pool[i], payload, sizeof payload) != ACTR_OK)
      abort();
  }
  printf("# in-process lane, 64-byte envelopes, %u messages a run, median of %d runs\n",
         MESSAGES, RUNS);
  static const struct { int producers; uint32_t cap; const char *tag; } cfg[] = {
    {1, 100, "1to1.cap100"}, {1, 1024, "1to1.cap1024"},
    {2, 100, "2to1.cap100"}, {2, 1024, "2to1.cap1024"},
  };
  for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
    char name[96];
    double lane = median_of(run_lane, cfg[i].producers, cfg[i].cap);
    snprintf(name, sizeof name, "lane.mpsc.%s", cfg[i].tag);
    bench_line(name, lane, "msg/s");
    double mcq = median_of(mcq_adapter, cfg[i].producers, cfg[i].cap);
    snprintf(name, sizeof name, "baseline.mutexcond.%s", cfg[i].tag);
    bench_line(name, mcq, "msg/s");
    printf("# %-14s lane %.2f M/s, mutex+cond %.2f M/s (%.1fx)\n", cfg[i].tag, lane / 1e6,
           mcq / 1e6, lane / mcq);
  }
#ifdef HAVE_ZMQ
  for (int p = 1; p <= 2; p++) {
    double z = median_of(zmq_adapter, p, 0);
    char name[64];
    snprintf(name, sizeof name, "baseline.zmq.inproc.%dto1", p);
    bench_line(name, z, "msg/s");
    printf("# zmq inproc %dto1 %.2f M/s\n", p, z / 1e6);
  }
#endif
  for (unsigned i = 0; i < POOL; i++)
    actr_envelope_free(pool[i]);
  return 0;
}
