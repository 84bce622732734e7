/* test_lane.c — the generic lane: defaults for missing ops (the reference's
 * InvalidOperation messages), argument checks, reference counting. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/lane.h>

#include "lane_ops.h"

/* A lane kind that offers nothing but the mandatory slots. */
typedef struct bare_lane {
  actr_lane_t base;
  int closes;
  int *finis;
} bare_lane_t;

static void bare_close(actr_lane_t *lane) { ((bare_lane_t *)lane)->closes++; }
static void bare_fini(actr_lane_t *lane) {
  bare_lane_t *l = (bare_lane_t *)lane;
  (*l->finis)++;
  free(l);
}
static const actr__lane_ops_t bare_ops = {.lane_type = "Bare", .close = bare_close, .fini = bare_fini};

static actr_lane_t *bare_new(int *finis) {
  bare_lane_t *l = calloc(1, sizeof *l);
  l->finis = finis;
  actr__lane_init(&l->base, &bare_ops, ACTR_PAYLOAD_RPC_SIGNAL);
  return &l->base;
}

static void test_lane_default_ops(void) {
  int finis = 0;
  actr_lane_t *lane = bare_new(&finis);
  actr_msg_t *msg = (actr_msg_t *)0x1;
  actr_envelope_t *env = (actr_envelope_t *)0x1;

  g_assert_cmpstr(actr_err_name(actr_lane_send(lane, "x", 1)), ==, "INVALID_OPERATION");
  g_assert_cmpstr(actr_err_detail(), ==, "send(bytes) not supported on this lane type");
  g_assert_cmpstr(actr_err_name(actr_lane_try_send(lane, "x", 1)), ==, "INVALID_OPERATION");
  g_assert_cmpstr(actr_err_name(actr_lane_recv(lane, 10, &msg)), ==, "INVALID_OPERATION");
  g_assert_cmpstr(actr_err_detail(), ==, "recv() not supported on this lane type");
  g_assert_null(msg);
  g_assert_cmpstr(actr_err_name(actr_lane_try_recv(lane, &msg)), ==, "INVALID_OPERATION");
  g_assert_cmpstr(actr_err_detail(), ==, "try_recv() not supported on this lane type");
  g_assert_cmpstr(actr_err_name(actr_lane_send_envelope(lane, env)), ==, "INVALID_OPERATION");
  g_assert_cmpstr(actr_err_detail(), ==, "send_envelope() not supported on this lane type");
  g_assert_cmpstr(actr_err_name(actr_lane_recv_envelope(lane, 0, &env)), ==, "INVALID_OPERATION");
  g_assert_cmpstr(actr_err_detail(), ==, "recv_envelope() not supported on this lane type");
  g_assert_null(env);
  g_assert_cmpstr(actr_err_name(actr_lane_set_handler(lane, NULL, NULL)), ==, "INVALID_OPERATION");
  g_assert_cmpstr(actr_err_detail(), ==, "set_handler() not supported on this lane type");

  g_assert_cmpstr(actr_lane_type(lane), ==, "Bare");
  g_assert_cmpint(actr_lane_payload_type(lane), ==, ACTR_PAYLOAD_RPC_SIGNAL);
  g_assert_true(actr_lane_is_healthy(lane)); /* default: healthy */
  actr_lane_stats_t st;
  memset(&st, 0xff, sizeof st);
  g_assert_cmpint(actr_lane_stats(lane, &st), ==, ACTR_OK);
  g_assert_cmpuint(st.msgs_sent, ==, 0);
  actr_lane_unref(lane);
  g_assert_cmpint(finis, ==, 1);
}

static void test_lane_refcount(void) {
  int finis = 0;
  actr_lane_t *lane = bare_new(&finis);
  actr_lane_t *clone = actr_lane_ref(lane);
  g_assert_true(clone == lane);
  actr_lane_unref(lane);
  g_assert_cmpint(finis, ==, 0);
  g_assert_cmpint(((bare_lane_t *)clone)->closes, ==, 0);
  actr_lane_close(clone);
  actr_lane_close(clone);
  g_assert_cmpint(((bare_lane_t *)clone)->closes, ==, 2); /* close is the kind's, idempotent there */
  actr_lane_unref(clone);
  g_assert_cmpint(finis, ==, 1);
  actr_lane_unref(NULL);
  actr_lane_close(NULL);
}

static void test_lane_bad_arguments(void) {
  actr_msg_t *msg;
  g_assert_cmpstr(actr_err_name(actr_lane_send(NULL, "x", 1)), ==, "INVALID_ARGUMENT");
  g_assert_cmpstr(actr_err_name(actr_lane_recv(NULL, 0, &msg)), ==, "INVALID_ARGUMENT");
  g_assert_cmpstr(actr_err_name(actr_lane_send_envelope(NULL, NULL)), ==, "INVALID_ARGUMENT");
  g_assert_false(actr_lane_is_healthy(NULL));
  g_assert_null(actr_lane_type(NULL));
  int finis = 0;
  actr_lane_t *lane = bare_new(&finis);
  g_assert_cmpstr(actr_err_name(actr_lane_send(lane, NULL, 3)), ==, "INVALID_ARGUMENT");
  g_assert_cmpstr(actr_err_name(actr_lane_send_envelope(lane, NULL)), ==, "INVALID_ARGUMENT");
  g_assert_cmpstr(actr_err_name(actr_lane_recv(lane, 0, NULL)), ==, "INVALID_ARGUMENT");
  g_assert_cmpstr(actr_err_name(actr_lane_stats(lane, NULL)), ==, "INVALID_ARGUMENT");
  actr_lane_unref(lane);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/lane/default-ops-invalid-operation", test_lane_default_ops);
  g_test_add_func("/lane/refcount-clone", test_lane_refcount);
  g_test_add_func("/lane/bad-arguments", test_lane_bad_arguments);
  return g_test_run();
}
