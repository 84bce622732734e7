/* lane.c — the generic lane: argument checks, dispatch to the kind's ops
 * table, the reference's InvalidOperation defaults, reference counting. */
#include "lane_ops.h"

#include <stdlib.h>
#include <string.h>

#include "error_internal.h"

void actr__lane_init(actr_lane_t *lane, const actr__lane_ops_t *ops, actr_payload_type_t type) {
  if (!ops || !ops->lane_type || !ops->close || !ops->fini)
    abort(); /* a lane kind without its mandatory slots is a libactr bug */
  lane->ops = ops;
  atomic_init(&lane->refs, 1);
  lane->payload_type = type;
}

static int unsupported(const char *what) {
  return actr__fail(ACTR_EINVALID_OPERATION, "%s not supported on this lane type", what);
}

#define CHECK_LANE(lane)                                                                   \
  do {                                                                                     \
    if (!(lane))                                                                           \
      return actr__fail(ACTR_EINVALID_ARGUMENT, "lane is NULL");                           \
  } while (0)

static int lane_send(actr_lane_t *lane, const void *data, size_t len, int timeout_ms) {
  CHECK_LANE(lane);
  if (!data && len)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "data is NULL with length %zu", len);
  if (!lane->ops->send)
    return unsupported("send(bytes)");
  return lane->ops->send(lane, data, len, timeout_ms < 0 ? -1 : timeout_ms);
}

int actr_lane_send(actr_lane_t *lane, const void *data, size_t len) {
  return lane_send(lane, data, len, -1);
}

int actr_lane_try_send(actr_lane_t *lane, const void *data, size_t len) {
  return lane_send(lane, data, len, 0);
}

int actr_lane_send_timeout(actr_lane_t *lane, const void *data, size_t len, int timeout_ms) {
  return lane_send(lane, data, len, timeout_ms);
}

static int lane_recv(actr_lane_t *lane, int timeout_ms, actr_msg_t **out, const char *what) {
  CHECK_LANE(lane);
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (!lane->ops->recv)
    return unsupported(what);
  return lane->ops->recv(lane, timeout_ms < 0 ? -1 : timeout_ms, out);
}

int actr_lane_recv(actr_lane_t *lane, int timeout_ms, actr_msg_t **out) {
  return lane_recv(lane, timeout_ms, out, "recv()");
}

int actr_lane_try_recv(actr_lane_t *lane, actr_msg_t **out) {
  return lane_recv(lane, 0, out, "try_recv()");
}

static int lane_send_envelope(actr_lane_t *lane, actr_envelope_t *env, int timeout_ms) {
  CHECK_LANE(lane);
  if (!env)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "envelope is NULL");
  if (!lane->ops->send_envelope)
    return unsupported("send_envelope()");
  return lane->ops->send_envelope(lane, env, timeout_ms < 0 ? -1 : timeout_ms);
}

int actr_lane_send_envelope(actr_lane_t *lane, actr_envelope_t *env) {
  return lane_send_envelope(lane, env, -1);
}

int actr_lane_try_send_envelope(actr_lane_t *lane, actr_envelope_t *env) {
  return lane_send_envelope(lane, env, 0);
}

int actr_lane_send_envelope_timeout(actr_lane_t *lane, actr_envelope_t *env, int timeout_ms) {
  return lane_send_envelope(lane, env, timeout_ms);
}

static int lane_recv_envelope(actr_lane_t *lane, int timeout_ms, actr_envelope_t **out) {
  CHECK_LANE(lane);
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (!lane->ops->recv_envelope)
    return unsupported("recv_envelope()");
  return lane->ops->recv_envelope(lane, timeout_ms < 0 ? -1 : timeout_ms, out);
}

int actr_lane_recv_envelope(actr_lane_t *lane, int timeout_ms, actr_envelope_t **out) {
  return lane_recv_envelope(lane, timeout_ms, out);
}

int actr_lane_try_recv_envelope(actr_lane_t *lane, actr_envelope_t **out) {
  return lane_recv_envelope(lane, 0, out);
}

int actr_lane_set_handler(actr_lane_t *lane, actr_lane_handler_fn fn, void *user) {
  CHECK_LANE(lane);
  if (!lane->ops->set_handler)
    return unsupported("set_handler()");
  return lane->ops->set_handler(lane, fn, user);
}

int actr_lane_set_envelope_handler(actr_lane_t *lane, actr_lane_envelope_handler_fn fn,
                                   void *user) {
  CHECK_LANE(lane);
  if (!lane->ops->set_envelope_handler)
    return unsupported("set_envelope_handler()");
  return lane->ops->set_envelope_handler(lane, fn, user);
}

int actr_lane_pause(actr_lane_t *lane) {
  CHECK_LANE(lane);
  if (!lane->ops->set_paused)
    return unsupported("pause()");
  return lane->ops->set_paused(lane, true);
}

int actr_lane_resume(actr_lane_t *lane) {
  CHECK_LANE(lane);
  if (!lane->ops->set_paused)
    return unsupported("resume()");
  return lane->ops->set_paused(lane, false);
}

int actr_lane_set_writable_handler(actr_lane_t *lane, actr_lane_writable_fn fn, void *user) {
  CHECK_LANE(lane);
  if (!lane->ops->set_writable)
    return unsupported("set_writable_handler()");
  return lane->ops->set_writable(lane, fn, user);
}

const char *actr_lane_type(const actr_lane_t *lane) { return lane ? lane->ops->lane_type : NULL; }

actr_payload_type_t actr_lane_payload_type(const actr_lane_t *lane) {
  return lane ? lane->payload_type : ACTR_PAYLOAD_RPC_RELIABLE;
}

bool actr_lane_is_healthy(const actr_lane_t *lane) {
  if (!lane)
    return false;
  return lane->ops->is_healthy ? lane->ops->is_healthy(lane) : true;
}

int actr_lane_stats(const actr_lane_t *lane, actr_lane_stats_t *out) {
  CHECK_LANE(lane);
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  memset(out, 0, sizeof *out);
  if (lane->ops->stats)
    lane->ops->stats(lane, out);
  return ACTR_OK;
}

void actr_lane_close(actr_lane_t *lane) {
  if (lane)
    lane->ops->close(lane);
}

actr_lane_t *actr_lane_ref(actr_lane_t *lane) {
  if (lane)
    atomic_fetch_add_explicit(&lane->refs, 1, memory_order_relaxed);
  return lane;
}

void actr_lane_unref(actr_lane_t *lane) {
  if (!lane)
    return;
  if (atomic_fetch_sub_explicit(&lane->refs, 1, memory_order_acq_rel) != 1)
    return;
  lane->ops->close(lane);
  lane->ops->fini(lane);
}
