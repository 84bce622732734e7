/* echo.c — the echo of `serve` on one lane of any kind (SPEC §5), run on
 * the lane's I/O thread with a handler: each message goes back with a send
 * that never waits; a refused one is kept, the lane paused (its queue fills,
 * then the wire pushes the client back) until the lane's writable handler
 * says it may go, then sent and the lane resumed.
 *
 * A message the lane could never send without waiting (a DataChannel
 * message above half its channel's buffer: ACTR_EMESSAGE_TOO_LARGE from
 * try_send) goes back from a thread of our own that may wait, as the
 * library asks: the lane stays paused until that send is over, so the
 * echoes keep their order and at most one such message is held.  That
 * thread is joined only once it has resumed the lane; when the echo stops
 * (on the I/O thread) while it still sends, it is let go instead, never
 * joined there: its send and its resume may be waiting for the I/O thread. */
#include <glib.h>
#include <stdio.h>

#include <actr/error.h>

#include "tool.h"

struct tool_echo {
  actr_lane_t *lane; /* owned handle */
  actr_msg_t *held;  /* refused by a full lane, sent first once writable */
  GThread *big;      /* sending one message that cannot go without waiting */
};

/* big_send (its own thread): the message with a send that may wait for as
 * long as the client takes to read it (it ends when the lane closes), then
 * the lane's deliveries again.  Owns @msg. */
typedef struct {
  actr_lane_t *lane; /* owned handle */
  actr_msg_t *msg;
} big_job_t;

static gpointer big_send(gpointer p) {
  big_job_t *j = p;
  int rc = actr_lane_send_timeout(j->lane, actr_msg_data(j->msg), actr_msg_len(j->msg), -1);
  if (rc != ACTR_OK && actr_lane_is_healthy(j->lane))
    fprintf(stderr, "actr-lane serve: echo of %zu bytes not sent: %s\n", actr_msg_len(j->msg),
            actr_err_name(rc));
  actr_msg_free(j->msg);
  actr_lane_resume(j->lane);
  actr_lane_unref(j->lane);
  g_free(j);
  return NULL;
}

/* join_big: only once the lane was resumed (a message was delivered since):
 * what is left of big_send then needs no other thread. */
static void join_big(tool_echo_t *e) {
  if (e->big)
    g_thread_join(e->big);
  e->big = NULL;
}

static void echo_on_message(actr_lane_t *lane, actr_msg_t *msg, void *user) {
  tool_echo_t *e = user;
  int rc = actr_lane_try_send(lane, actr_msg_data(msg), actr_msg_len(msg));
  if (rc == ACTR_EWOULD_BLOCK) {
    e->held = msg;
    actr_lane_pause(lane); /* no message until resume */
    return;
  }
  if (rc == ACTR_EMESSAGE_TOO_LARGE) {
    join_big(e); /* the previous one resumed the lane on its way out */
    big_job_t *j = g_new(big_job_t, 1);
    j->lane = actr_lane_ref(lane);
    j->msg = msg;
    actr_lane_pause(lane);
    e->big = g_thread_try_new("echo-big", big_send, j, NULL);
    if (e->big)
      return;
    fprintf(stderr, "actr-lane serve: no thread for an echo of %zu bytes\n", actr_msg_len(msg));
    actr_lane_resume(lane);
    actr_lane_unref(j->lane);
    g_free(j);
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
  if (e->big) {
    /* The session ends: the close wakes the waiting send.  Not joined: this
     * runs on the I/O thread, which that send (a frame at a time) and the
     * resume after it call into, so a join would wait for itself.  The
     * thread owns its lane reference and message. */
    actr_lane_close(e->lane);
    g_thread_unref(e->big);
    e->big = NULL;
  }
  actr_msg_free(e->held);
  actr_lane_unref(e->lane);
  g_free(e);
}
