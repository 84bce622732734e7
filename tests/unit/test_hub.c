/* test_hub.c — the runtime's hub (src/runtime/hub.h): socket watches
 * (level-triggered, input and output on one fd, dropped from their own
 * callback), kicks from another thread, periodic timers (never earlier than
 * the coalescing allows), aligned timers started apart firing together, a
 * watch dropped while due, more input watches than GLib polls directly,
 * watches made and dropped on another thread, a direct one dropped there.  The loop is a
 * GMainContext of the test's own, iterated here. */
#include <glib.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hub.h"
#include "loop_spin.h"

typedef struct {
  GMainContext *ctx;
  actr__hub_t *hub;
} fixture_t;

static void setup(fixture_t *f, gconstpointer data) {
  f->ctx = g_main_context_new();
  f->hub = actr__hub_new(f->ctx);
  g_assert_nonnull(f->hub);
}

static void teardown(fixture_t *f, gconstpointer data) {
  while (g_main_context_iteration(f->ctx, FALSE))
    ;
  actr__hub_free(f->hub);
  g_main_context_unref(f->ctx);
}

/* ---- fd watches ---- */

typedef struct {
  int fd;
  atomic_int runs;
  int drain_after; /* read the socket empty on this run */
  actr__watch_t *self;
  bool drop_self;
} fd_case_t;

static void on_readable(void *p) {
  fd_case_t *c = p;
  int n = atomic_fetch_add(&c->runs, 1) + 1;
  if (n == c->drain_after) {
    char buf[64];
    while (read(c->fd, buf, sizeof buf) > 0)
      ;
  }
  if (c->drop_self)
    actr__watch_drop(&c->self);
}

static void test_fd_level(fixture_t *f, gconstpointer data) {
  int sv[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), ==, 0);
  fd_case_t c = {.fd = sv[0], .drain_after = 3};
  atomic_init(&c.runs, 0);
  c.self = actr__watch_fd(f->hub, sv[0], false, on_readable, &c);
  g_assert_nonnull(c.self);
  g_assert_cmpint(write(sv[1], "x", 1), ==, 1);
  /* Level-triggered: it runs again while unread bytes wait. */
  spin(f->ctx, &c.runs, 3);
  while (g_main_context_iteration(f->ctx, FALSE))
    ;
  g_assert_cmpint(atomic_load(&c.runs), ==, 3);
  actr__watch_drop(&c.self);
  g_assert_null(c.self);
  close(sv[0]);
  close(sv[1]);
}

static void test_fd_drop_in_callback(fixture_t *f, gconstpointer data) {
  int sv[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), ==, 0);
  fd_case_t c = {.fd = sv[0], .drop_self = true};
  atomic_init(&c.runs, 0);
  c.self = actr__watch_fd(f->hub, sv[0], false, on_readable, &c);
  g_assert_cmpint(write(sv[1], "x", 1), ==, 1);
  spin(f->ctx, &c.runs, 1);
  while (g_main_context_iteration(f->ctx, FALSE))
    ;
  g_assert_cmpint(atomic_load(&c.runs), ==, 1); /* the byte is still there: dropped, not run */
  g_assert_null(c.self);
  /* The fd can be watched again after its last watch went. */
  c.drop_self = false;
  c.drain_after = 1;
  c.self = actr__watch_fd(f->hub, sv[0], false, on_readable, &c);
  g_assert_nonnull(c.self);
  spin(f->ctx, &c.runs, 2);
  actr__watch_drop(&c.self);
  close(sv[0]);
  close(sv[1]);
}

static void on_count(void *p) { atomic_fetch_add((atomic_int *)p, 1); }

static void test_fd_in_and_out(fixture_t *f, gconstpointer data) {
  int sv[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), ==, 0);
  atomic_int in, out;
  atomic_init(&in, 0);
  atomic_init(&out, 0);
  actr__watch_t *wi = actr__watch_fd(f->hub, sv[0], false, on_count, &in);
  actr__watch_t *wo = actr__watch_fd(f->hub, sv[0], true, on_count, &out);
  g_assert_nonnull(wi);
  g_assert_nonnull(wo);
  g_assert_null(actr__watch_fd(f->hub, sv[0], true, on_count, &out)); /* one per direction */
  spin(f->ctx, &out, 1); /* writable at once */
  g_assert_cmpint(atomic_load(&in), ==, 0);
  actr__watch_drop(&wo);
  g_assert_cmpint(write(sv[1], "x", 1), ==, 1);
  spin(f->ctx, &in, 1); /* the input watch outlived the output one */
  actr__watch_drop(&wi);
  close(sv[0]);
  close(sv[1]);
}

/* ---- kicks ---- */

typedef struct {
  actr__watch_t *w;
  int n;
} kicker_t;

static gpointer kicker_main(gpointer p) {
  kicker_t *k = p;
  for (int i = 0; i < k->n; i++)
    actr__watch_kick(k->w);
  return NULL;
}

static void test_kick_other_thread(fixture_t *f, gconstpointer data) {
  atomic_int runs;
  atomic_init(&runs, 0);
  actr__watch_t *w = actr__watch_kick_new(f->hub, on_count, &runs);
  kicker_t k = {w, 1};
  GThread *t = g_thread_new("kicker", kicker_main, &k);
  spin(f->ctx, &runs, 1); /* the loop sleeps in poll until the kick wakes it */
  g_thread_join(t);
  /* Kicks before the callback runs are one. */
  actr__watch_kick(w);
  actr__watch_kick(w);
  actr__watch_kick(w);
  spin(f->ctx, &runs, 2);
  while (g_main_context_iteration(f->ctx, FALSE))
    ;
  g_assert_cmpint(atomic_load(&runs), ==, 2);
  /* A dropped kick watch never runs, kicked or not. */
  actr__watch_kick(w);
  actr__watch_drop(&w);
  while (g_main_context_iteration(f->ctx, FALSE))
    ;
  g_assert_cmpint(atomic_load(&runs), ==, 2);
}

/* ---- timers ---- */

typedef struct {
  atomic_int runs;
  gint64 at[8];
} tick_t;

static void on_tick(void *p) {
  tick_t *t = p;
  int i = atomic_load(&t->runs);
  if (i < 8)
    t->at[i] = g_get_monotonic_time();
  atomic_fetch_add(&t->runs, 1);
}

static void test_timer_period(fixture_t *f, gconstpointer data) {
  tick_t t = {0};
  atomic_init(&t.runs, 0);
  const unsigned period_ms = 80; /* grid 10 ms: never more than 5 ms early */
  gint64 t0 = g_get_monotonic_time();
  actr__watch_t *w = actr__watch_every(f->hub, period_ms, on_tick, &t);
  spin(f->ctx, &t.runs, 4);
  actr__watch_drop(&w);
  gint64 early = 5000, p = period_ms * 1000;
  g_assert_cmpint(t.at[0] - t0, >=, p - early);
  for (int i = 1; i < 4; i++)
    g_assert_cmpint(t.at[i] - t.at[i - 1], >=, p - early);
  int n = atomic_load(&t.runs);
  while (g_main_context_iteration(f->ctx, FALSE))
    ;
  g_assert_cmpint(atomic_load(&t.runs), ==, n); /* dropped: no more */
}

/* Aligned timers: on the points of one grid, so two started at different
 * times fire in the same dispatch (the loop's iteration counted here). */
static int iteration;

typedef struct {
  atomic_int runs;
  int it[8];
} aligned_t;

static void on_aligned(void *p) {
  aligned_t *a = p;
  int i = atomic_load(&a->runs);
  if (i < 8)
    a->it[i] = iteration;
  atomic_fetch_add(&a->runs, 1);
}

static void test_timer_aligned(fixture_t *f, gconstpointer data) {
  aligned_t a = {0}, b = {0};
  atomic_init(&a.runs, 0);
  atomic_init(&b.runs, 0);
  actr__watch_t *wa = actr__watch_every_aligned(f->hub, 50, on_aligned, &a);
  g_usleep(20000);
  actr__watch_t *wb = actr__watch_every_aligned(f->hub, 50, on_aligned, &b);
  gint64 end = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
  while (atomic_load(&b.runs) < 3) {
    g_assert_cmpint(g_get_monotonic_time(), <, end);
    g_main_context_iteration(f->ctx, TRUE);
    iteration++;
  }
  actr__watch_drop(&wa);
  actr__watch_drop(&wb);
  /* b's firings are a's: each of b's iterations is one of a's. */
  for (int j = 0; j < 3; j++) {
    bool found = false;
    for (int i = 0; i < 8 && i < atomic_load(&a.runs); i++)
      found |= a.it[i] == b.it[j];
    g_assert_true(found);
  }
}

/* A watch dropped by another watch's callback in the same dispatch does
 * not run after it. */
typedef struct {
  actr__watch_t *victim;
  atomic_int runs;
} dropper_t;

static void on_drop_other(void *p) {
  dropper_t *d = p;
  actr__watch_drop(&d->victim);
  atomic_fetch_add(&d->runs, 1);
}

static void test_drop_while_due(fixture_t *f, gconstpointer data) {
  dropper_t d;
  atomic_init(&d.runs, 0);
  atomic_int victim_runs;
  atomic_init(&victim_runs, 0);
  actr__watch_t *k = actr__watch_kick_new(f->hub, on_drop_other, &d);
  d.victim = actr__watch_kick_new(f->hub, on_count, &victim_runs);
  actr__watch_kick(k);
  actr__watch_kick(d.victim); /* after k in the list: due in the same dispatch */
  spin(f->ctx, &d.runs, 1);
  while (g_main_context_iteration(f->ctx, FALSE))
    ;
  g_assert_cmpint(atomic_load(&victim_runs), ==, 0);
  actr__watch_drop(&k);
}

/* More input watches than GLib polls directly (hub.c's DIRECT_IN, 4): the
 * first ones are unix fds of the hub's source, the rest in the epoll set;
 * every one fires, direct ones dropped and replaced still do, an output
 * watch beside a direct input one works, and an fd the kernel does not know
 * is refused as epoll_ctl would refuse it. */
enum { MANY = 10 };

static void test_fd_many(fixture_t *f, gconstpointer data) {
  int sv[MANY][2];
  fd_case_t c[MANY];
  for (int i = 0; i < MANY; i++) {
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]), ==, 0);
    c[i] = (fd_case_t){.fd = sv[i][0], .drain_after = 1};
    atomic_init(&c[i].runs, 0);
    c[i].self = actr__watch_fd(f->hub, sv[i][0], false, on_readable, &c[i]);
    g_assert_nonnull(c[i].self);
  }
  for (int i = 0; i < MANY; i++)
    g_assert_cmpint(write(sv[i][1], "x", 1), ==, 1);
  for (int i = 0; i < MANY; i++)
    spin(f->ctx, &c[i].runs, 1);
  /* Drop two of the first (direct) ones and one of the rest; watch them
   * again (taking whichever kind is free now): all fire once more. */
  int again[] = {0, 2, MANY - 1};
  for (size_t k = 0; k < G_N_ELEMENTS(again); k++)
    actr__watch_drop(&c[again[k]].self);
  for (size_t k = 0; k < G_N_ELEMENTS(again); k++) {
    fd_case_t *x = &c[again[k]];
    x->self = actr__watch_fd(f->hub, x->fd, false, on_readable, x);
    g_assert_nonnull(x->self);
    x->drain_after = 2;
  }
  for (int i = 0; i < MANY; i++) {
    c[i].drain_after = atomic_load(&c[i].runs) + 1;
    g_assert_cmpint(write(sv[i][1], "y", 1), ==, 1);
  }
  for (int i = 0; i < MANY; i++)
    spin(f->ctx, &c[i].runs, c[i].drain_after);
  /* An output watch beside the input one of a direct fd. */
  atomic_int out;
  atomic_init(&out, 0);
  actr__watch_t *wo = actr__watch_fd(f->hub, sv[1][0], true, on_count, &out);
  g_assert_nonnull(wo);
  spin(f->ctx, &out, 1);
  actr__watch_drop(&wo);
  c[1].drain_after = atomic_load(&c[1].runs) + 1;
  g_assert_cmpint(write(sv[1][1], "z", 1), ==, 1);
  spin(f->ctx, &c[1].runs, c[1].drain_after);
  for (int i = 0; i < MANY; i++) {
    actr__watch_drop(&c[i].self);
    close(sv[i][0]);
    close(sv[i][1]);
  }
  /* Every kind free again: a closed fd is refused, direct or not. */
  int dead[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, dead), ==, 0);
  close(dead[0]);
  close(dead[1]);
  g_assert_null(actr__watch_fd(f->hub, dead[0], false, on_count, &out));
  g_assert_null(actr__watch_fd(f->hub, dead[0], true, on_count, &out));
}

/* Input watches made and dropped on another thread while this one runs the
 * loop on a socket that stays readable (each add and drop changes GLib's
 * poll set under its feet): no callback after its drop returned, no crash. */
typedef struct {
  actr__hub_t *hub;
  int fd;
  atomic_int runs, stop;
} churn_t;

static void on_churn(void *p) {
  churn_t *ch = p;
  g_assert_cmpint(atomic_load(&ch->stop), ==, 0);
  atomic_fetch_add(&ch->runs, 1);
}

static gpointer churn_main(gpointer p) {
  churn_t *ch = p;
  for (int i = 0; i < 2000; i++) {
    actr__watch_t *w = actr__watch_fd(ch->hub, ch->fd, false, on_churn, ch);
    g_assert_nonnull(w);
    if (i % 8 == 0)
      g_usleep(100); /* now and then, let the loop see it */
    actr__watch_drop(&w);
  }
  atomic_store(&ch->stop, 1);
  return NULL;
}

static void test_fd_churn_other_thread(fixture_t *f, gconstpointer data) {
  int sv[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), ==, 0);
  g_assert_cmpint(write(sv[1], "x", 1), ==, 1);
  churn_t ch = {.hub = f->hub, .fd = sv[0]};
  atomic_init(&ch.runs, 0);
  atomic_init(&ch.stop, 0);
  GThread *t = g_thread_new("churn", churn_main, &ch);
  while (!atomic_load(&ch.stop))
    g_main_context_iteration(f->ctx, FALSE);
  g_thread_join(t);
  while (g_main_context_iteration(f->ctx, FALSE))
    ;
  close(sv[0]);
  close(sv[1]);
}

/* An input watch made on the loop's thread (polled by GLib directly) and
 * dropped on another: its fd stays in GLib's poll set until the next
 * dispatch takes it out (hub.c, DIRECT_IN), but its callback never runs
 * again; a new watch of the fd made elsewhere meanwhile takes that entry
 * over and fires. */
typedef struct {
  actr__hub_t *hub;
  int fd;
  atomic_int runs, made;
  actr__watch_t *w;
  bool rewatch; /* other_drop: watch the fd again right after the drop */
} elsewhere_t;

static void on_elsewhere(void *p) {
  elsewhere_t *e = p;
  atomic_fetch_add(&e->runs, 1);
  char buf[64];
  while (read(e->fd, buf, sizeof buf) > 0)
    ;
}

static void make_on_loop(void *p) { /* a kick: runs on the loop's thread */
  elsewhere_t *e = p;
  e->w = actr__watch_fd(e->hub, e->fd, false, on_elsewhere, e);
  g_assert_nonnull(e->w);
  atomic_fetch_add(&e->made, 1);
}

static void on_stale_count(void *p) { atomic_fetch_add((atomic_int *)p, 1); }

static gpointer other_drop(gpointer p) {
  elsewhere_t *e = p;
  actr__watch_drop(&e->w);
  if (e->rewatch) {
    e->w = actr__watch_fd(e->hub, e->fd, false, on_elsewhere, e);
    g_assert_nonnull(e->w);
  }
  return NULL;
}

static void test_fd_direct_dropped_elsewhere(fixture_t *f, gconstpointer data) {
  int sv[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), ==, 0);
  elsewhere_t e = {.hub = f->hub, .fd = sv[0]};
  atomic_init(&e.runs, 0);
  atomic_init(&e.made, 0);
  actr__watch_t *k = actr__watch_kick_new(f->hub, make_on_loop, &e);
  for (int round = 0; round < 200; round++) {
    e.rewatch = round % 2;
    actr__watch_kick(k);
    spin(f->ctx, &e.made, round + 1);
    GThread *t = g_thread_new("other", other_drop, &e); /* the loop is idle meanwhile */
    g_thread_join(t);
    int before = atomic_load(&e.runs);
    g_assert_cmpint(write(sv[1], "x", 1), ==, 1);
    if (e.rewatch) {
      spin(f->ctx, &e.runs, before + 1); /* the new watch, through the stale entry */
      actr__watch_drop(&e.w);
    } else {
      /* The stale entry is polled (the byte is there) and taken out; the
       * dropped watch does not run.  A second watch proves the loop went
       * round: it sees the same byte. */
      atomic_int seen;
      atomic_init(&seen, 0);
      actr__watch_t *w2 = actr__watch_fd(f->hub, sv[0], false, on_stale_count, &seen);
      g_assert_nonnull(w2);
      spin(f->ctx, &seen, 3);
      g_assert_cmpint(atomic_load(&e.runs), ==, before);
      actr__watch_drop(&w2);
      char buf[8];
      g_assert_cmpint(read(sv[0], buf, sizeof buf), ==, 1);
    }
  }
  actr__watch_drop(&k);
  close(sv[0]);
  close(sv[1]);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add("/hub/fd/level-triggered", fixture_t, NULL, setup, test_fd_level, teardown);
  g_test_add("/hub/fd/drop-in-callback", fixture_t, NULL, setup, test_fd_drop_in_callback,
             teardown);
  g_test_add("/hub/fd/in-and-out", fixture_t, NULL, setup, test_fd_in_and_out, teardown);
  g_test_add("/hub/fd/many", fixture_t, NULL, setup, test_fd_many, teardown);
  g_test_add("/hub/fd/direct-dropped-elsewhere", fixture_t, NULL, setup,
             test_fd_direct_dropped_elsewhere, teardown);
  g_test_add("/hub/fd/churn-other-thread", fixture_t, NULL, setup, test_fd_churn_other_thread,
             teardown);
  g_test_add("/hub/kick/other-thread", fixture_t, NULL, setup, test_kick_other_thread, teardown);
  g_test_add("/hub/timer/never-early", fixture_t, NULL, setup, test_timer_period, teardown);
  g_test_add("/hub/timer/aligned-together", fixture_t, NULL, setup, test_timer_aligned,
             teardown);
  g_test_add("/hub/drop/while-due", fixture_t, NULL, setup, test_drop_while_due, teardown);
  return g_test_run();
}
