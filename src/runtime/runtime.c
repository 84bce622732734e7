/* runtime.c — the I/O thread: a GMainContext of its own iterated on a
 * GThread, two ways to hand work to it (fire-and-forget and call-and-wait),
 * and lending: a thread about to wait for the loop's work may run the loop
 * itself while the I/O thread stands aside (parked on lf_cond, the context
 * released), so that the event it waits for wakes it directly.  Only one
 * thread owns the context at a time.  Wake-ups go through the context's own
 * wakeup fd or condition variables: no polling. */
#include "runtime_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "error_internal.h"

struct actr_runtime {
  atomic_int refs;
  GMainContext *ctx;
  actr__hub_t *hub; /* the watches of many connections behind one source (hub.h) */
  actr__slack_t *slack; /* foreign libraries' timers, fired late and together (slack.h) */
  GThread *thread;

  /* Lending the loop (actr__runtime_lend): a thread about to wait for the
   * loop's work runs the loop itself while the I/O thread stands aside. */
  GMutex lf_mu;
  GCond lf_cond;
  atomic_bool lend_wanted; /* a lender asked the I/O thread to stand aside */
  bool io_parked;          /* under lf_mu: the I/O thread has released ctx */
  atomic_bool stopping;
  atomic_bool self_free; /* the last reference went on the I/O thread: it frees */
  bool lend_loop; /* actr_runtime_config_t: lending allowed */
};

static void runtime_free(actr_runtime_t *rt) {
  actr__slack_free(rt->slack);
  actr__hub_free(rt->hub);
  g_main_context_unref(rt->ctx);
  g_mutex_clear(&rt->lf_mu);
  g_cond_clear(&rt->lf_cond);
  free(rt);
}

static gpointer io_thread_main(gpointer data) {
  actr_runtime_t *rt = data;
  g_mutex_lock(&rt->lf_mu);
  for (;;) {
    while (atomic_load(&rt->lend_wanted) && !atomic_load(&rt->stopping)) {
      rt->io_parked = true;
      g_cond_broadcast(&rt->lf_cond);
      g_cond_wait(&rt->lf_cond, &rt->lf_mu);
    }
    rt->io_parked = false;
    if (atomic_load(&rt->stopping))
      break;
    g_mutex_unlock(&rt->lf_mu);
    g_main_context_push_thread_default(rt->ctx);
    while (!atomic_load(&rt->lend_wanted) && !atomic_load(&rt->stopping))
      g_main_context_iteration(rt->ctx, TRUE);
    g_main_context_pop_thread_default(rt->ctx);
    g_mutex_lock(&rt->lf_mu);
  }
  while (atomic_load(&rt->lend_wanted)) /* a lender sees the stop and gives the loop back */
    g_cond_wait(&rt->lf_cond, &rt->lf_mu);
  g_mutex_unlock(&rt->lf_mu);
  /* Drain what was queued before the stop so no invoke is left unrun. */
  g_main_context_push_thread_default(rt->ctx);
  while (g_main_context_iteration(rt->ctx, FALSE))
    ;
  g_main_context_pop_thread_default(rt->ctx);
  if (atomic_load(&rt->self_free)) { /* nobody will join: detach and free */
    g_thread_unref(rt->thread);
    runtime_free(rt);
  }
  return NULL;
}

void actr_runtime_config_init(actr_runtime_config_t *cfg) {
  if (cfg)
    memset(cfg, 0, sizeof *cfg);
}

int actr_runtime_new(actr_runtime_t **out) { return actr_runtime_new_with(NULL, out); }

int actr_runtime_new_with(const actr_runtime_config_t *cfg, actr_runtime_t **out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  actr_runtime_t *rt = calloc(1, sizeof *rt);
  if (!rt)
    return actr__fail(ACTR_ENO_MEMORY, "runtime");
  rt->lend_loop = cfg && cfg->lend_loop;
  atomic_init(&rt->refs, 1);
  atomic_init(&rt->lend_wanted, false);
  atomic_init(&rt->stopping, false);
  g_mutex_init(&rt->lf_mu);
  g_cond_init(&rt->lf_cond);
  rt->ctx = g_main_context_new();
  rt->hub = actr__hub_new(rt->ctx);
  if (!rt->hub) {
    g_main_context_unref(rt->ctx);
    g_mutex_clear(&rt->lf_mu);
    g_cond_clear(&rt->lf_cond);
    free(rt);
    return actr__fail(ACTR_ERESOURCE_EXHAUSTED, "epoll_create1 failed");
  }
  rt->slack = actr__slack_new(rt->ctx);
  GError *err = NULL;
  rt->thread = g_thread_try_new("actr-io", io_thread_main, rt, &err);
  if (!rt->thread) {
    int rc = actr__fail(ACTR_EINTERNAL, "cannot start the I/O thread: %s", err->message);
    g_error_free(err);
    actr__slack_free(rt->slack);
    actr__hub_free(rt->hub);
    g_main_context_unref(rt->ctx);
    g_mutex_clear(&rt->lf_mu);
    g_cond_clear(&rt->lf_cond);
    free(rt);
    return rc;
  }
  *out = rt;
  return ACTR_OK;
}

actr_runtime_t *actr_runtime_ref(actr_runtime_t *rt) {
  if (rt)
    atomic_fetch_add(&rt->refs, 1);
  return rt;
}

void actr_runtime_unref(actr_runtime_t *rt) {
  if (!rt || atomic_fetch_sub(&rt->refs, 1) != 1)
    return;
  /* The last reference given back by a callback on the I/O thread itself
   * (e.g. an object freed there held it): that thread cannot join itself;
   * it finishes the work queued and frees the runtime as it ends. */
  bool self = g_thread_self() == rt->thread;
  atomic_store(&rt->self_free, self);
  g_mutex_lock(&rt->lf_mu);
  atomic_store(&rt->stopping, true);
  g_cond_broadcast(&rt->lf_cond);
  g_mutex_unlock(&rt->lf_mu);
  g_main_context_wakeup(rt->ctx);
  if (self)
    return;
  g_thread_join(rt->thread);
  runtime_free(rt);
}

bool actr_runtime_is_io_thread(const actr_runtime_t *rt) {
  return rt && g_main_context_is_owner(rt->ctx);
}

GMainContext *actr__runtime_context(actr_runtime_t *rt) { return rt->ctx; }

actr__slack_t *actr__runtime_slack(actr_runtime_t *rt) { return rt->slack; }

actr__hub_t *actr__runtime_hub(actr_runtime_t *rt) { return rt->hub; }

typedef struct invoke {
  void (*fn)(void *);
  void *data;
} invoke_t;

static gboolean invoke_cb(gpointer p) {
  invoke_t *inv = p;
  inv->fn(inv->data);
  return G_SOURCE_REMOVE;
}

int actr_runtime_invoke(actr_runtime_t *rt, void (*fn)(void *data), void *data) {
  if (!rt || !fn)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "runtime or function is NULL");
  if (g_main_context_is_owner(rt->ctx)) {
    fn(data);
    return ACTR_OK;
  }
  invoke_t *inv = g_new(invoke_t, 1);
  inv->fn = fn;
  inv->data = data;
  g_main_context_invoke_full(rt->ctx, G_PRIORITY_DEFAULT, invoke_cb, inv, g_free);
  return ACTR_OK;
}

int actr_runtime_post(actr_runtime_t *rt, void (*fn)(void *data), void *data) {
  if (!rt || !fn)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "runtime or function is NULL");
  invoke_t *inv = g_new(invoke_t, 1);
  inv->fn = fn;
  inv->data = data;
  GSource *s = g_idle_source_new();
  g_source_set_priority(s, G_PRIORITY_DEFAULT); /* as sockets: not starved by them */
  g_source_set_callback(s, invoke_cb, inv, g_free);
  g_source_attach(s, rt->ctx);
  g_source_unref(s);
  return ACTR_OK;
}

typedef struct call {
  int (*fn)(void *);
  void *data;
  int rc;
  char *detail; /* the I/O thread's error detail, for the caller's thread */
  bool done;
  GMutex mu;
  GCond cond;
} call_t;

static void call_cb(void *p) {
  call_t *c = p;
  int rc = c->fn(c->data);
  char *detail = rc != ACTR_OK ? g_strdup(actr_err_detail()) : NULL;
  g_mutex_lock(&c->mu);
  c->rc = rc;
  c->detail = detail;
  c->done = true;
  g_cond_signal(&c->cond);
  g_mutex_unlock(&c->mu);
}

int actr_runtime_call(actr_runtime_t *rt, int (*fn)(void *data), void *data) {
  if (!rt || !fn)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "runtime or function is NULL");
  if (g_main_context_is_owner(rt->ctx))
    return fn(data);
  call_t c = {.fn = fn, .data = data};
  g_mutex_init(&c.mu);
  g_cond_init(&c.cond);
  actr_runtime_invoke(rt, call_cb, &c);
  g_mutex_lock(&c.mu);
  while (!c.done)
    g_cond_wait(&c.cond, &c.mu);
  g_mutex_unlock(&c.mu);
  g_mutex_clear(&c.mu);
  g_cond_clear(&c.cond);
  if (c.rc != ACTR_OK) /* the detail is per thread: the caller's is set here */
    actr__fail(c.rc, "%s", c.detail ? c.detail : "");
  g_free(c.detail);
  return c.rc;
}

static gboolean lend_deadline_cb(gpointer data) {
  *(bool *)data = true;
  return G_SOURCE_REMOVE;
}

bool actr__runtime_lend(actr_runtime_t *rt, bool (*done)(void *data), void *data,
                        int timeout_ms) {
  if (!rt->lend_loop)
    return false; /* not asked for: callbacks stay on the runtime's thread */
  if (g_main_context_is_owner(rt->ctx))
    return false; /* the I/O thread itself, or a lender already */
  g_mutex_lock(&rt->lf_mu);
  if (atomic_load(&rt->lend_wanted) || atomic_load(&rt->stopping)) {
    g_mutex_unlock(&rt->lf_mu); /* another thread runs the loop: wait as usual */
    return false;
  }
  atomic_store(&rt->lend_wanted, true);
  g_main_context_wakeup(rt->ctx);
  /* The I/O thread stands aside after the callback it is running: wait for
   * that no longer than the caller would have waited at all. */
  gint64 until = timeout_ms >= 0 ? g_get_monotonic_time() + (gint64)timeout_ms * 1000 : -1;
  while (!rt->io_parked && !atomic_load(&rt->stopping))
    if (until < 0)
      g_cond_wait(&rt->lf_cond, &rt->lf_mu);
    else if (!g_cond_wait_until(&rt->lf_cond, &rt->lf_mu, until))
      break;
  bool ok = rt->io_parked;
  g_mutex_unlock(&rt->lf_mu);
  if (ok) {
    g_main_context_push_thread_default(rt->ctx);
    bool expired = false;
    GSource *timer = NULL;
    if (until >= 0) {
      gint64 left_ms = (until - g_get_monotonic_time()) / 1000;
      timer = g_timeout_source_new(left_ms > 0 ? (guint)left_ms : 0);
      g_source_set_callback(timer, lend_deadline_cb, &expired, NULL);
      g_source_attach(timer, rt->ctx);
    }
    while (!done(data) && !expired && !atomic_load(&rt->stopping))
      g_main_context_iteration(rt->ctx, TRUE);
    if (timer) {
      g_source_destroy(timer);
      g_source_unref(timer);
    }
    g_main_context_pop_thread_default(rt->ctx);
  }
  g_mutex_lock(&rt->lf_mu);
  atomic_store(&rt->lend_wanted, false);
  g_cond_broadcast(&rt->lf_cond);
  g_mutex_unlock(&rt->lf_mu);
  return ok;
}
