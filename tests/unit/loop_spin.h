/* loop_spin.h — for tests that drive a GMainContext by hand (test_hub.c,
 * test_slack.c). */
#ifndef ACTR_TEST_LOOP_SPIN_H
#define ACTR_TEST_LOOP_SPIN_H

#include <glib.h>
#include <stdatomic.h>

/* spin: iterate @ctx until *@flag reaches @want (30 s at most: a stall fails). */
static inline void spin(GMainContext *ctx, atomic_int *flag, int want) {
  gint64 end = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
  while (atomic_load(flag) < want) {
    g_assert_cmpint(g_get_monotonic_time(), <, end);
    g_main_context_iteration(ctx, TRUE);
  }
}

#endif
