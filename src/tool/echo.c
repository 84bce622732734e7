/* echo.c — the echo of `serve` on one lane of any kind (SPEC §5), run on
 * the lane's I/O thread with a handler: each message goes back with a send
 * that never waits; a refused one is kept, the lane paused (its queue fills,
 * then the wire pushes the client back) until the lane's writable handler
 * says it may go, then sent and the lane resumed.  No thread. */
#include <glib.h>

#include <actr/error.h>

#include "tool.h"

struct tool_echo {
  actr_lane_t *lane; /* owned handle */
  actr_msg_t *held;  /* refused by a full lane, sent first once writable */
};

static void echo_on_message(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  tool_echo_t *e = user;
  int rc = actr_lane_try_send(lane, actr_msg_data(msg), actr_msg_len(msg));
  if (rc == ACTR_EWOULD_BLOCK) {
    e->held = msg;
    actr_lane_pause(lane); /* no message until resume */
    return;
  }
  actr_msg_free(msg); /* sent, or the lane is closing */
}

static void echo_on_writable(actr_lane_t *lane, void *user) {
  tool_echo_t *e = user;
  if (!e->held)
    return;
  int rc = actr_lane_try_send(lane, actr_msg_data(e->held), actr_msg_len(e->held));
  if (rc == ACTR_EWOULD_BLOCK)
    return; /* told again when there is room */
  actr_msg_free(e->held);
  e->held = NULL;
  actr_lane_resume(lane);
}

int tool_echo_start(actr_lane_t *lane, tool_echo_t **out) {
  tool_echo_t *e = g_new0(tool_echo_t, 1);
  e->lane = actr_lane_ref(lane);
  int rc = actr_lane_set_writable_handler(lane, echo_on_writable, e);
  if (rc == ACTR_OK)
    rc = actr_lane_set_handler(lane, echo_on_message, e);
  if (rc != ACTR_OK) {
    tool_echo_stop(e);
    return rc;
  }
  *out = e;
  return ACTR_OK;
}

void tool_echo_stop(tool_echo_t *e) {
  if (!e)
    return;
  actr_lane_set_handler(e->lane, NULL, NULL);
  actr_lane_set_writable_handler(e->lane, NULL, NULL);
  actr_msg_free(e->held);
  actr_lane_unref(e->lane);
  g_free(e);
}
