/* runtime.c — the I/O thread: a GMainContext of its own, a GMainLoop on a
 * GThread, and two ways to hand work to it (fire-and-forget and call-and-
 * wait).  Wake-ups go through the context's own wakeup fd: no polling. */
#include "runtime_internal.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "error_internal.h"

struct actr_runtime {
  atomic_int refs;
  GMainContext *ctx;
  GMainLoop *loop;
  GThread *thread;
};

static gpointer io_thread_main(gpointer data) {
  actr_runtime_t *rt = data;
  g_main_context_push_thread_default(rt->ctx);
  g_main_loop_run(rt->loop);
  /* Drain what was queued before the stop so no invoke is left unrun. */
  while (g_main_context_iteration(rt->ctx, FALSE))
    ;
  g_main_context_pop_thread_default(rt->ctx);
  return NULL;
}

int actr_runtime_new(actr_runtime_t **out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  actr_runtime_t *rt = calloc(1, sizeof *rt);
  if (!rt)
    return actr__fail(ACTR_ENO_MEMORY, "runtime");
  atomic_init(&rt->refs, 1);
  rt->ctx = g_main_context_new();
  rt->loop = g_main_loop_new(rt->ctx, FALSE);
  GError *err = NULL;
  rt->thread = g_thread_try_new("actr-io", io_thread_main, rt, &err);
  if (!rt->thread) {
    int rc = actr__fail(ACTR_EINTERNAL, "cannot start the I/O thread: %s", err->message);
    g_error_free(err);
    g_main_loop_unref(rt->loop);
    g_main_context_unref(rt->ctx);
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

static gboolean quit_cb(gpointer data) {
  g_main_loop_quit(data);
  return G_SOURCE_REMOVE;
}

void actr_runtime_unref(actr_runtime_t *rt) {
  if (!rt || atomic_fetch_sub(&rt->refs, 1) != 1)
    return;
  g_main_context_invoke(rt->ctx, quit_cb, rt->loop);
  g_thread_join(rt->thread);
  g_main_loop_unref(rt->loop);
  g_main_context_unref(rt->ctx);
  free(rt);
}

bool actr_runtime_is_io_thread(const actr_runtime_t *rt) {
  return rt && g_main_context_is_owner(rt->ctx);
}

GMainContext *actr__runtime_context(actr_runtime_t *rt) { return rt->ctx; }

typedef struct invoke {
  void (*fn)(void *);
  void *data;
} invoke_t;

static gboolean invoke_cb(gpointer p) {
  invoke_t *inv = p;
  inv->fn(inv->data);
  return G_SOURCE_REMOVE;
}

void actr__runtime_invoke(actr_runtime_t *rt, void (*fn)(void *data), void *data) {
  if (g_main_context_is_owner(rt->ctx)) {
    fn(data);
    return;
  }
  invoke_t *inv = g_new(invoke_t, 1);
  inv->fn = fn;
  inv->data = data;
  g_main_context_invoke_full(rt->ctx, G_PRIORITY_DEFAULT, invoke_cb, inv, g_free);
}

typedef struct call {
  int (*fn)(void *);
  void *data;
  int rc;
  bool done;
  GMutex mu;
  GCond cond;
} call_t;

static void call_cb(void *p) {
  call_t *c = p;
  int rc = c->fn(c->data);
  g_mutex_lock(&c->mu);
  c->rc = rc;
  c->done = true;
  g_cond_signal(&c->cond);
  g_mutex_unlock(&c->mu);
}

int actr__runtime_call(actr_runtime_t *rt, int (*fn)(void *data), void *data) {
  if (g_main_context_is_owner(rt->ctx))
    return fn(data);
  call_t c = {.fn = fn, .data = data};
  g_mutex_init(&c.mu);
  g_cond_init(&c.cond);
  actr__runtime_invoke(rt, call_cb, &c);
  g_mutex_lock(&c.mu);
  while (!c.done)
    g_cond_wait(&c.cond, &c.mu);
  g_mutex_unlock(&c.mu);
  g_mutex_clear(&c.mu);
  g_cond_clear(&c.cond);
  return c.rc;
}
