/* slack.c — a child context dispatched late and together (see slack.h).
 *
 * The child is driven the way GLib documents for integrating a context
 * into another loop: prepare, query (its timeout and poll fds), check with
 * the fds' results, dispatch.  The proxy source in the parent holds copies
 * of the child's poll fds (the parent's poll fills their revents) and the
 * rounded-up deadline; its prepare and check read only those, so a parent
 * that iterates once per packet pays nothing more per iteration. */
#include "slack.h"

#include <stdatomic.h>

#define MAX_GRID_US ACTR__IDLE_GRID_US

typedef struct slack_source {
  GSource src;
  GMainContext *child;
  gint64 due;     /* monotonic µs; G_MAXINT64: no timer */
  GPollFD *polls; /* registered with the source (g_source_add_poll) */
  gint n_polls;
  GPollFD *q;     /* what the child's query returns */
  gint q_cap;
  atomic_int precise; /* holds (actr__slack_precise) */
} slack_source_t;

struct actr__slack {
  GMainContext *child;
  GSource *src;
};

gint64 actr__slack_grid_us(gint64 left_us) {
  gint64 g = 1;
  while (g < MAX_GRID_US && 8 * g <= left_us)
    g <<= 1;
  return g;
}

static gboolean slack_prepare(GSource *s, gint *timeout) {
  slack_source_t *ss = (slack_source_t *)s;
  *timeout = -1;
  if (ss->due == G_MAXINT64)
    return FALSE;
  gint64 left = ss->due - g_source_get_time(s);
  if (left <= 0) {
    *timeout = 0;
    return TRUE;
  }
  *timeout = (gint)MIN((left + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean slack_check(GSource *s) {
  slack_source_t *ss = (slack_source_t *)s;
  if (ss->due <= g_source_get_time(s))
    return TRUE;
  for (gint i = 0; i < ss->n_polls; i++)
    if (ss->polls[i].revents)
      return TRUE;
  return FALSE;
}

/* query: the child's poll fds into ss->q and its timeout (ms, -1: none). */
static gint query(slack_source_t *ss, gint prio, gint *timeout) {
  for (;;) {
    gint n = g_main_context_query(ss->child, prio, timeout, ss->q, ss->q_cap);
    if (n <= ss->q_cap)
      return n;
    ss->q_cap = n;
    ss->q = g_renew(GPollFD, ss->q, n);
  }
}

/* track: poll what the child polls (usually its wakeup fd alone). */
static void track(slack_source_t *ss, gint n) {
  bool same = n == ss->n_polls;
  for (gint i = 0; same && i < n; i++)
    same = ss->q[i].fd == ss->polls[i].fd && ss->q[i].events == ss->polls[i].events;
  if (same)
    return;
  for (gint i = 0; i < ss->n_polls; i++)
    g_source_remove_poll(&ss->src, &ss->polls[i]);
  g_free(ss->polls);
  ss->polls = g_new0(GPollFD, n ? n : 1);
  ss->n_polls = n;
  for (gint i = 0; i < n; i++) {
    ss->polls[i].fd = ss->q[i].fd;
    ss->polls[i].events = ss->q[i].events;
    g_source_add_poll(&ss->src, &ss->polls[i]);
  }
}

static gboolean slack_dispatch(GSource *s, GSourceFunc cb, gpointer data) {
  (void)cb;
  (void)data;
  slack_source_t *ss = (slack_source_t *)s;
  if (!g_main_context_acquire(ss->child)) {
    /* Cannot happen (only the parent's owner takes it); try again soon
     * rather than spin. */
    ss->due = g_get_monotonic_time() + 10000;
    for (gint j = 0; j < ss->n_polls; j++)
      ss->polls[j].revents = 0;
    return G_SOURCE_CONTINUE;
  }
  gint prio, timeout;
  g_main_context_prepare(ss->child, &prio);
  gint n = query(ss, prio, &timeout);
  /* What the parent's poll saw, for the fds the child still polls. */
  for (gint i = 0; i < n; i++) {
    ss->q[i].revents = 0;
    for (gint j = 0; j < ss->n_polls; j++)
      if (ss->polls[j].fd == ss->q[i].fd)
        ss->q[i].revents = ss->polls[j].revents & ss->q[i].events;
  }
  for (gint j = 0; j < ss->n_polls; j++)
    ss->polls[j].revents = 0;
  if (g_main_context_check(ss->child, prio, ss->q, n))
    g_main_context_dispatch(ss->child);
  /* The next deadline, with what the dispatch attached. */
  g_main_context_prepare(ss->child, &prio);
  n = query(ss, prio, &timeout);
  track(ss, n);
  g_main_context_release(ss->child);
  if (timeout < 0) {
    ss->due = G_MAXINT64;
  } else {
    gint64 now = g_get_monotonic_time();
    gint64 left = (gint64)timeout * 1000;
    gint64 g = !left ? 1 : atomic_load(&ss->precise) > 0 ? actr__slack_grid_us(left)
                                                        : ACTR__IDLE_GRID_US;
    ss->due = (now + left + g - 1) / g * g;
  }
  return G_SOURCE_CONTINUE;
}

static void slack_finalize(GSource *s) {
  slack_source_t *ss = (slack_source_t *)s;
  g_free(ss->polls);
  g_free(ss->q);
  g_main_context_unref(ss->child);
}

static GSourceFuncs slack_funcs = {slack_prepare, slack_check, slack_dispatch, slack_finalize,
                                   NULL, NULL};

actr__slack_t *actr__slack_new(GMainContext *parent) {
  actr__slack_t *sl = g_new0(actr__slack_t, 1);
  /* Ownerless polling: every source attached to the child signals its
   * wakeup fd, which the proxy polls, so a timer armed from a callback of
   * the parent (libnice answering a packet) is seen at once. */
  sl->child = g_main_context_new_with_flags(G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
  sl->src = g_source_new(&slack_funcs, sizeof(slack_source_t));
  slack_source_t *ss = (slack_source_t *)sl->src;
  ss->child = g_main_context_ref(sl->child);
  ss->due = 0; /* a first dispatch learns the child's fds */
  g_source_set_name(sl->src, "actr slack");
  g_source_attach(sl->src, parent);
  return sl;
}

GMainContext *actr__slack_context(actr__slack_t *sl) { return sl->child; }

void actr__slack_precise(actr__slack_t *sl, bool on) {
  slack_source_t *ss = (slack_source_t *)sl->src;
  if (atomic_fetch_add(&ss->precise, on ? 1 : -1) == 0 && on)
    g_main_context_wakeup(sl->child); /* the proxy computes its deadline anew */
}

void actr__slack_free(actr__slack_t *sl) {
  if (!sl)
    return;
  g_source_destroy(sl->src);
  g_source_unref(sl->src);
  g_main_context_unref(sl->child);
  g_free(sl);
}
