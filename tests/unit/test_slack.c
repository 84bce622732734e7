/* test_slack.c — the slack (src/runtime/slack.h): a child context driven
 * from its parent's loop.  Its timers fire, never early, held precise or
 * not; a source attached from another thread while the parent sleeps wakes
 * it; the child's file descriptors are polled by the parent.  The loop is
 * a GMainContext of the test's own, iterated here. */
#include <glib-unix.h>
#include <glib.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "slack.h"
#include "loop_spin.h"

typedef struct {
  GMainContext *ctx;
  actr__slack_t *slack;
} fixture_t;

static void setup(fixture_t *f, gconstpointer data) {
  f->ctx = g_main_context_new();
  f->slack = actr__slack_new(f->ctx);
  g_assert_nonnull(f->slack);
}

static void teardown(fixture_t *f, gconstpointer data) {
  while (g_main_context_iteration(f->ctx, FALSE))
    ;
  actr__slack_free(f->slack);
  g_main_context_unref(f->ctx);
}

typedef struct {
  atomic_int runs;
  gint64 at;
} hit_t;

static gboolean on_hit(gpointer p) {
  hit_t *h = p;
  h->at = g_get_monotonic_time();
  atomic_fetch_add(&h->runs, 1);
  return G_SOURCE_REMOVE;
}

/* A timer of the child fires through the parent's loop, never before its
 * time: idle (on the idle grid), then held precise. */
static void test_timer(fixture_t *f, gconstpointer data) {
  for (int precise = 0; precise < 2; precise++) {
    if (precise)
      actr__slack_precise(f->slack, true);
    hit_t h = {0};
    atomic_init(&h.runs, 0);
    gint64 t0 = g_get_monotonic_time();
    GSource *s = g_timeout_source_new(50);
    g_source_set_callback(s, on_hit, &h, NULL);
    g_source_attach(s, actr__slack_context(f->slack));
    g_source_unref(s);
    spin(f->ctx, &h.runs, 1);
    g_assert_cmpint(h.at - t0, >=, 50000);
    if (precise)
      actr__slack_precise(f->slack, false);
  }
}

static gpointer attach_idle(gpointer p) {
  fixture_t *f = ((void **)p)[0];
  hit_t *h = ((void **)p)[1];
  g_usleep(50000); /* the parent is asleep in its poll by now, most likely */
  GSource *s = g_idle_source_new();
  g_source_set_callback(s, on_hit, h, NULL);
  g_source_attach(s, actr__slack_context(f->slack));
  g_source_unref(s);
  return NULL;
}

/* A source attached to the child from another thread wakes the parent and
 * runs at once (an idle source: due now). */
static void test_attach_other_thread(fixture_t *f, gconstpointer data) {
  hit_t h = {0};
  atomic_init(&h.runs, 0);
  void *arg[2] = {f, &h};
  GThread *t = g_thread_new("attach", attach_idle, arg);
  spin(f->ctx, &h.runs, 1);
  g_thread_join(t);
}

static gboolean on_fd(gint fd, GIOCondition cond, gpointer p) {
  char buf[8];
  g_assert_cmpint(read(fd, buf, sizeof buf), ==, 1);
  atomic_fetch_add(&((hit_t *)p)->runs, 1);
  return G_SOURCE_REMOVE;
}

/* A file descriptor source of the child is polled by the parent. */
static void test_fd(fixture_t *f, gconstpointer data) {
  int sv[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
  hit_t h = {0};
  atomic_init(&h.runs, 0);
  GSource *s = g_unix_fd_source_new(sv[0], G_IO_IN);
  g_source_set_callback(s, (GSourceFunc)(void (*)(void))on_fd, &h, NULL);
  g_source_attach(s, actr__slack_context(f->slack));
  g_source_unref(s);
  while (g_main_context_iteration(f->ctx, FALSE)) /* the proxy learns the fd */
    ;
  g_assert_cmpint(write(sv[1], "x", 1), ==, 1);
  spin(f->ctx, &h.runs, 1);
  close(sv[0]);
  close(sv[1]);
}

/* The precise grid: at most a quarter of the time left, a power of two. */
static void test_grid(void) {
  g_assert_cmpint(actr__slack_grid_us(0), ==, 1);
  g_assert_cmpint(actr__slack_grid_us(20000), ==, 4096);
  g_assert_cmpint(actr__slack_grid_us(5000000), ==, ACTR__IDLE_GRID_US);
  for (gint64 left = 1; left < 100000000; left = left * 3 + 1) {
    gint64 g = actr__slack_grid_us(left);
    g_assert_cmpint(g & (g - 1), ==, 0);
    g_assert_true(g == 1 || g <= left / 4);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/slack/grid", test_grid);
  g_test_add("/slack/timer/never-early", fixture_t, NULL, setup, test_timer, teardown);
  g_test_add("/slack/attach/other-thread", fixture_t, NULL, setup, test_attach_other_thread,
             teardown);
  g_test_add("/slack/fd/polled-by-parent", fixture_t, NULL, setup, test_fd, teardown);
  return g_test_run();
}
