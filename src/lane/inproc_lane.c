/* inproc_lane.c — the in-process lane (the reference's MpscLane).
 *
 * Envelopes travel as pointers through a bounded ring: no serialization, no
 * copy.  Ownership moves with the pointer: the sender gives it up on success,
 * the receiver gets it.  Raw byte send/recv are not offered (the reference's
 * MpscLane carries envelopes only).
 *
 * A lane made on a runtime (actr_lane_inproc_new_on) also offers push
 * delivery: a send that finds no drain on its way posts one to the I/O
 * thread, which hands up to DRAIN_BATCH envelopes to the handler and posts
 * itself again while more wait.  Handler, pause and writable handler are
 * changed on the I/O thread (actr_runtime_call), where they are read. */
#include <stdlib.h>
#include <string.h>

#include <actr/inproc.h>

#include "error_internal.h"
#include "lane_ops.h"
#include "ring.h"

#define DRAIN_BATCH 64

typedef struct inproc_lane {
  actr_lane_t base; /* first: the generic code sees only this */
  actr__ring_t ring;
  actr_runtime_t *rt; /* NULL: no push delivery */
  /* I/O thread only (changed there through actr_runtime_call): */
  actr_lane_envelope_handler_fn handler;
  void *handler_user;
  bool paused;
  actr_lane_writable_fn writable;
  void *writable_user;
  /* Any thread: */
  atomic_bool has_handler;   /* sends post drains */
  atomic_bool drain_posted;  /* one drain on its way at a time */
  atomic_bool want_writable; /* a send was refused since the last writable call */
  atomic_bool writable_posted;
} inproc_lane_t;

static inproc_lane_t *to_inproc(const actr_lane_t *lane) { return (inproc_lane_t *)lane; }

static void post_drain(inproc_lane_t *l);
static void post_writable(inproc_lane_t *l);

/* after_pop: a refused sender hears once half the ring is free. */
static void after_pop(inproc_lane_t *l) {
  if (atomic_load_explicit(&l->want_writable, memory_order_relaxed) &&
      actr__ring_count(&l->ring) <= (l->ring.mask + 1) / 2)
    post_writable(l);
}

static int inproc_lane_send_envelope(actr_lane_t *lane, actr_envelope_t *env, int timeout_ms) {
  inproc_lane_t *l = to_inproc(lane);
  if (l->rt && timeout_ms != 0 && actr_runtime_is_io_thread(l->rt))
    timeout_ms = 0; /* the handler that makes room runs on this thread */
  int rc = actr__ring_push(&l->ring, env, timeout_ms);
  if (rc == ACTR_OK) {
    if (atomic_load_explicit(&l->has_handler, memory_order_acquire))
      post_drain(l);
  } else if (rc == ACTR_EWOULD_BLOCK && l->rt) {
    atomic_store(&l->want_writable, true);
    after_pop(l); /* the ring may have emptied since */
  }
  return rc;
}

static int inproc_lane_recv_envelope(actr_lane_t *lane, int timeout_ms, actr_envelope_t **out) {
  inproc_lane_t *l = to_inproc(lane);
  if (atomic_load(&l->has_handler))
    return actr__fail(ACTR_EINVALID_OPERATION, "recv() while a message handler is set");
  void *item = NULL;
  int rc = actr__ring_pop(&l->ring, &item, timeout_ms);
  if (rc == ACTR_OK) {
    *out = item;
    if (l->rt)
      after_pop(l);
  }
  return rc;
}

/* drain (I/O thread): up to DRAIN_BATCH envelopes to the handler; again
 * from a fresh dispatch while more wait. */
static void drain(void *data) {
  inproc_lane_t *l = data;
  atomic_store(&l->drain_posted, false);
  for (int n = 0; n < DRAIN_BATCH && l->handler && !l->paused; n++) {
    void *item;
    if (actr__ring_pop(&l->ring, &item, 0) != ACTR_OK)
      break;
    after_pop(l);
    l->handler(&l->base, item, l->handler_user); /* re-read: it may change itself */
  }
  if (l->handler && !l->paused && actr__ring_count(&l->ring) > 0)
    post_drain(l);
  actr_lane_unref(&l->base);
}

static void post_drain(inproc_lane_t *l) {
  if (atomic_exchange(&l->drain_posted, true))
    return;
  actr_lane_ref(&l->base);
  actr_runtime_post(l->rt, drain, l);
}

static void writable_posted(void *data) {
  inproc_lane_t *l = data;
  atomic_store(&l->writable_posted, false);
  if (l->writable && actr__ring_count(&l->ring) <= (l->ring.mask + 1) / 2 &&
      atomic_exchange(&l->want_writable, false))
    l->writable(&l->base, l->writable_user);
  actr_lane_unref(&l->base);
}

static void post_writable(inproc_lane_t *l) {
  if (atomic_exchange(&l->writable_posted, true))
    return;
  actr_lane_ref(&l->base);
  actr_runtime_post(l->rt, writable_posted, l);
}

typedef struct change {
  inproc_lane_t *l;
  int what; /* 0 handler, 1 paused, 2 writable */
  actr_lane_envelope_handler_fn handler;
  actr_lane_writable_fn writable;
  bool paused;
  void *user;
} change_t;

static int change_on_io(void *data) {
  change_t *c = data;
  inproc_lane_t *l = c->l;
  switch (c->what) {
  case 0:
    l->handler = c->handler;
    l->handler_user = c->user;
    atomic_store_explicit(&l->has_handler, c->handler != NULL, memory_order_release);
    break;
  case 1:
    l->paused = c->paused;
    break;
  default:
    l->writable = c->writable;
    l->writable_user = c->user;
    return ACTR_OK;
  }
  /* What waits goes to the handler from a dispatch of its own. */
  if (l->handler && !l->paused && actr__ring_count(&l->ring) > 0)
    post_drain(l);
  return ACTR_OK;
}

static int change(inproc_lane_t *l, change_t *c, const char *what) {
  if (!l->rt)
    return actr__fail(ACTR_EINVALID_OPERATION, "%s: in-process lane without a runtime "
                      "(make it with actr_lane_inproc_new_on)", what);
  c->l = l;
  return actr_runtime_call(l->rt, change_on_io, c);
}

static int inproc_lane_set_envelope_handler(actr_lane_t *lane, actr_lane_envelope_handler_fn fn,
                                            void *user) {
  change_t c = {.what = 0, .handler = fn, .user = user};
  return change(to_inproc(lane), &c, "set_envelope_handler()");
}

static int inproc_lane_set_paused(actr_lane_t *lane, bool paused) {
  change_t c = {.what = 1, .paused = paused};
  return change(to_inproc(lane), &c, paused ? "pause()" : "resume()");
}

static int inproc_lane_set_writable(actr_lane_t *lane, actr_lane_writable_fn fn, void *user) {
  change_t c = {.what = 2, .writable = fn, .user = user};
  return change(to_inproc(lane), &c, "set_writable_handler()");
}

static void inproc_lane_stats(const actr_lane_t *lane, actr_lane_stats_t *out) {
  /* The ring's positions are the counters: nothing extra on the hot path. */
  actr__ring_totals(&to_inproc(lane)->ring, &out->msgs_sent, &out->msgs_received);
}

static void inproc_lane_close(actr_lane_t *lane) { actr__ring_close(&to_inproc(lane)->ring); }

static void inproc_lane_fini(actr_lane_t *lane) {
  inproc_lane_t *l = to_inproc(lane);
  void *item;
  while (actr__ring_pop(&l->ring, &item, 0) == ACTR_OK)
    actr_envelope_free(item);
  actr__ring_destroy(&l->ring);
  if (l->rt)
    actr_runtime_unref(l->rt); /* never the last one on its I/O thread: a lane holds one */
  free(l);
}

static const actr__lane_ops_t inproc_lane_ops = {
  .lane_type = "Mpsc",
  .send_envelope = inproc_lane_send_envelope,
  .recv_envelope = inproc_lane_recv_envelope,
  .set_envelope_handler = inproc_lane_set_envelope_handler,
  .set_paused = inproc_lane_set_paused,
  .set_writable = inproc_lane_set_writable,
  .stats = inproc_lane_stats,
  .close = inproc_lane_close,
  .fini = inproc_lane_fini,
};

int actr_lane_inproc_new_on(actr_runtime_t *rt, actr_payload_type_t type, uint32_t capacity,
                            actr_lane_t **out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (!actr_payload_type_is_valid((int)type))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "invalid payload type %d", (int)type);
  /* The ring's counters are 64-byte aligned to keep producers and the
   * consumer off each other's cache lines; calloc only promises 16. */
  inproc_lane_t *l = aligned_alloc(64, (sizeof *l + 63) & ~(size_t)63);
  if (l)
    memset(l, 0, sizeof *l);
  if (!l)
    return actr__fail(ACTR_ENO_MEMORY, "in-process lane");
  int rc = actr__ring_init(&l->ring, capacity);
  if (rc != ACTR_OK) {
    free(l);
    return rc;
  }
  l->rt = rt ? actr_runtime_ref(rt) : NULL;
  actr__lane_init(&l->base, &inproc_lane_ops, type);
  *out = &l->base;
  return ACTR_OK;
}

int actr_lane_inproc_new(actr_payload_type_t type, uint32_t capacity, actr_lane_t **out) {
  return actr_lane_inproc_new_on(NULL, type, capacity, out);
}
