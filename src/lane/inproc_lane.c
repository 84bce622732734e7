/* inproc_lane.c — the in-process lane (the reference's MpscLane).
 *
 * Envelopes travel as pointers through a bounded ring: no serialization, no
 * copy.  Ownership moves with the pointer: the sender gives it up on success,
 * the receiver gets it.  Raw byte send/recv are not offered (the reference's
 * MpscLane carries envelopes only). */
#include <stdlib.h>
#include <string.h>

#include <actr/inproc.h>

#include "error_internal.h"
#include "lane_ops.h"
#include "ring.h"

typedef struct inproc_lane {
  actr_lane_t base; /* first: the generic code sees only this */
  actr__ring_t ring;
} inproc_lane_t;

static inproc_lane_t *to_inproc(const actr_lane_t *lane) { return (inproc_lane_t *)lane; }

static int inproc_lane_send_envelope(actr_lane_t *lane, actr_envelope_t *env, int timeout_ms) {
  return actr__ring_push(&to_inproc(lane)->ring, env, timeout_ms);
}

static int inproc_lane_recv_envelope(actr_lane_t *lane, int timeout_ms, actr_envelope_t **out) {
  void *item = NULL;
  int rc = actr__ring_pop(&to_inproc(lane)->ring, &item, timeout_ms);
  if (rc == ACTR_OK)
    *out = item;
  return rc;
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
  free(l);
}

static const actr__lane_ops_t inproc_lane_ops = {
  .lane_type = "Mpsc",
  .send_envelope = inproc_lane_send_envelope,
  .recv_envelope = inproc_lane_recv_envelope,
  .stats = inproc_lane_stats,
  .close = inproc_lane_close,
  .fini = inproc_lane_fini,
};

int actr_lane_inproc_new(actr_payload_type_t type, uint32_t capacity, actr_lane_t **out) {
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
  actr__lane_init(&l->base, &inproc_lane_ops, type);
  *out = &l->base;
  return ACTR_OK;
}
