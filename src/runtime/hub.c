/* hub.c — many watches behind one GSource (see hub.h).
 *
 * Memory: a dropped watch (and a socket's record once it has no watch) is
 * not freed at once but kept on a graveyard freed at the start of the next
 * dispatch: an epoll_wait of the dispatch in progress, or the list of due
 * watches it collected, may still name it; each is skipped by its `dead`
 * flag.  Dispatches never overlap (one context owner at a time, and GLib
 * does not recurse into a source), so the next one starts after every use. */
#include "hub.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <unistd.h>

enum { W_IN, W_OUT, W_TIMER, W_KICK };
enum { EVENTS_PER_DISPATCH = 128 };

/* DIRECT_IN: input watches polled by GLib itself, as unix fds of the hub's
 * source, rather than through the epoll set.  An input watch in the epoll
 * set costs an epoll_wait per wake-up on top of GLib's poll (one syscall,
 * ~1.4 µs on the bench VM: two per WebSocket round trip, 3% of it); a few
 * fds more in GLib's poll cost next to nothing per iteration.  The first
 * DIRECT_IN input watches alive are direct; later ones go to epoll, so an
 * iteration still costs the same however many connections are idle.
 *
 * A source's unix fds may change only on the thread that owns the context:
 * GLib reads their list unlocked (g_source_query_unix_fd, in check and
 * dispatch), so a change from another thread races with it.  A watch made
 * elsewhere therefore goes to epoll, and one dropped elsewhere leaves its
 * fd in GLib's poll set (a *stale* record: in_tag set, no W_IN) until the
 * next dispatch, which it asks for, takes it out; a new input watch of the
 * same fd meanwhile takes the stale entry over. */
enum { DIRECT_IN = 4 };

typedef struct fd_rec {
  int fd;
  actr__watch_t *w[2]; /* W_IN, W_OUT */
  gpointer in_tag;     /* polled directly (DIRECT_IN): its unix fd tag; on h->direct */
  bool in_epoll;       /* in the epoll set (with the events of rec_events) */
  struct fd_rec *grave_next;
} fd_rec_t;

struct actr__watch {
  actr__hub_t *hub;
  int kind;
  actr__watch_fn fn;
  void *user;
  atomic_bool dead;
  fd_rec_t *rec;               /* W_IN, W_OUT */
  gint64 period, grid, due;    /* W_TIMER, microseconds */
  int heap_idx;                /* W_TIMER: index in the heap, -1 while firing */
  bool kicked;                 /* W_KICK: in the kick list */
  actr__watch_t *next;         /* kick list, then graveyard */
};

typedef struct hub_source {
  GSource src;
  actr__hub_t *hub;
} hub_source_t;

struct actr__hub {
  GMutex mu;
  int epfd;
  GSource *src;
  GMainContext *ctx;
  gpointer epfd_tag;
  GHashTable *fds; /* fd -> fd_rec_t */
  fd_rec_t *direct[DIRECT_IN]; /* records with an in_tag (stale ones too) */
  int n_direct;
  actr__watch_t **heap;
  size_t heap_len, heap_cap;
  actr__watch_t *kick_head, *kick_tail;
  actr__watch_t *grave;
  fd_rec_t *grave_recs;
  /* What prepare and check read on every loop iteration, without mu (a
   * mutex there cost the WebRTC loops, which iterate once per packet):
   * whether kicks wait, the earliest timer's due time (G_MAXINT64: none).
   * Written under mu. */
  atomic_bool kicks_waiting;
  _Atomic gint64 first_due;
  GPtrArray *due; /* dispatch only, outermost */
  int depth;      /* dispatches in progress (a callback may iterate the loop) */
};

/* ---- the timer heap (under mu) ---- */

static void heap_set(actr__hub_t *h, size_t i, actr__watch_t *w) {
  h->heap[i] = w;
  w->heap_idx = (int)i;
}

static void sift_up(actr__hub_t *h, size_t i) {
  actr__watch_t *w = h->heap[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (h->heap[p]->due <= w->due)
      break;
    heap_set(h, i, h->heap[p]);
    i = p;
  }
  heap_set(h, i, w);
}

static void sift_down(actr__hub_t *h, size_t i) {
  actr__watch_t *w = h->heap[i];
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    gint64 best = w->due;
    if (l < h->heap_len && h->heap[l]->due < best)
      m = l, best = h->heap[l]->due;
    if (l + 1 < h->heap_len && h->heap[l + 1]->due < best)
      m = l + 1;
    if (m == i)
      break;
    heap_set(h, i, h->heap[m]);
    i = m;
  }
  heap_set(h, i, w);
}

static void heap_changed(actr__hub_t *h) {
  atomic_store(&h->first_due, h->heap_len ? h->heap[0]->due : G_MAXINT64);
}

static void heap_push(actr__hub_t *h, actr__watch_t *w) {
  if (h->heap_len == h->heap_cap) {
    h->heap_cap = h->heap_cap ? 2 * h->heap_cap : 16;
    h->heap = g_renew(actr__watch_t *, h->heap, h->heap_cap);
  }
  heap_set(h, h->heap_len++, w);
  sift_up(h, h->heap_len - 1);
  heap_changed(h);
}

static void heap_remove(actr__hub_t *h, actr__watch_t *w) {
  size_t i = (size_t)w->heap_idx;
  w->heap_idx = -1;
  actr__watch_t *last = h->heap[--h->heap_len];
  if (i < h->heap_len) {
    heap_set(h, i, last);
    sift_down(h, i);
    sift_up(h, (size_t)last->heap_idx);
  }
  heap_changed(h);
}

/* next_due: the grid point at or after now + period - grid/2. */
static gint64 next_due(const actr__watch_t *w, gint64 now) {
  gint64 x = now + w->period - w->grid / 2;
  return (x + w->grid - 1) / w->grid * w->grid;
}

/* Nothing calls into GLib with mu held (prepare and check take no lock,
 * they read two atomics); a kick or a new timer from another thread wakes
 * the context after letting mu go.  No ready time is set: that would
 * wake the loop from its own thread after every dispatch (GLib signals its
 * wakeup fd on every g_source_set_ready_time), one extra iteration and two
 * syscalls per message. */

/* hub_prepare / hub_check: ready when kicked or a timer is due; the poll's
 * timeout is the earliest timer's.  The readiness of the epoll fd and of
 * direct input fds GLib sees by itself (unix fds of the source: a source
 * with one of them ready is dispatched whatever check says). */
static gboolean hub_prepare(GSource *s, gint *timeout) {
  actr__hub_t *h = ((hub_source_t *)s)->hub;
  *timeout = -1;
  if (atomic_load(&h->kicks_waiting)) {
    *timeout = 0;
    return TRUE;
  }
  gint64 due = atomic_load(&h->first_due);
  if (due == G_MAXINT64)
    return FALSE;
  gint64 left = due - g_source_get_time(s);
  if (left <= 0) {
    *timeout = 0;
    return TRUE;
  }
  *timeout = (gint)MIN((left + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean hub_check(GSource *s) {
  actr__hub_t *h = ((hub_source_t *)s)->hub;
  if (atomic_load(&h->kicks_waiting) || atomic_load(&h->first_due) <= g_source_get_time(s))
    return TRUE;
  return (g_source_query_unix_fd(s, h->epfd_tag) & G_IO_IN) != 0;
}

/* wake: another thread changed what prepare would answer. */
static void wake(actr__hub_t *h) {
  if (!g_main_context_is_owner(h->ctx))
    g_main_context_wakeup(h->ctx);
}

/* ---- dispatch ---- */

static void bury_graveyard(actr__hub_t *h) {
  actr__watch_t *w = h->grave;
  fd_rec_t *r = h->grave_recs;
  h->grave = NULL;
  h->grave_recs = NULL;
  while (w) {
    actr__watch_t *n = w->next;
    g_free(w);
    w = n;
  }
  while (r) {
    fd_rec_t *n = r->grave_next;
    g_free(r);
    r = n;
  }
}

static void run(actr__watch_t *w) {
  if (w && !atomic_load(&w->dead))
    w->fn(w->user);
}

static void direct_remove(actr__hub_t *h, fd_rec_t *r);

static gboolean hub_dispatch(GSource *s, GSourceFunc cb, gpointer data) {
  (void)cb;
  (void)data;
  actr__hub_t *h = ((hub_source_t *)s)->hub;
  /* A callback iterating the loop dispatches this source again (it may
   * recurse, see actr__hub_new): the inner one uses its own list and frees
   * no graveyard, whose watches the outer one may still name. */
  GPtrArray *due = h->depth++ ? g_ptr_array_new() : h->due;
  g_mutex_lock(&h->mu);
  if (h->depth == 1)
    bury_graveyard(h);
  gint64 now = g_get_monotonic_time();
  for (actr__watch_t *w = h->kick_head; w; w = w->next) {
    w->kicked = false;
    g_ptr_array_add(due, w);
  }
  h->kick_head = h->kick_tail = NULL;
  atomic_store(&h->kicks_waiting, false);
  while (h->heap_len && h->heap[0]->due <= now) {
    actr__watch_t *w = h->heap[0];
    heap_remove(h, w);
    g_ptr_array_add(due, w);
  }

  /* Stale direct fds out (this thread owns the context), then the direct
   * input fds that GLib's poll saw ready (hung up, in error or closed under
   * us count: the watch's read finds out). */
  for (int i = h->n_direct - 1; i >= 0; i--)
    if (!h->direct[i]->w[W_IN])
      direct_remove(h, h->direct[i]);
  actr__watch_t *direct[DIRECT_IN];
  int nd = 0;
  for (int i = 0; i < h->n_direct; i++)
    if (g_source_query_unix_fd(s, h->direct[i]->in_tag) &
        (G_IO_IN | G_IO_HUP | G_IO_ERR | G_IO_NVAL))
      direct[nd++] = h->direct[i]->w[W_IN];
  g_mutex_unlock(&h->mu);

  for (int i = 0; i < nd; i++)
    run(direct[i]); /* dropped since: run checks (freed only at the next dispatch) */
  struct epoll_event ev[EVENTS_PER_DISPATCH];
  /* Only when the poll saw the epoll fd readable: a dispatch for a kick,
   * a timer or a direct fd alone makes no syscall. */
  int n = g_source_query_unix_fd(s, h->epfd_tag) & G_IO_IN
              ? epoll_wait(h->epfd, ev, EVENTS_PER_DISPATCH, 0)
              : 0;
  for (int i = 0; i < n; i++) {
    fd_rec_t *r = ev[i].data.ptr;
    uint32_t e = ev[i].events;
    g_mutex_lock(&h->mu);
    /* (A direct input ran above: hang-ups on its output watch are not its.) */
    actr__watch_t *in = !r->in_tag && e & (EPOLLIN | EPOLLHUP | EPOLLERR) ? r->w[W_IN] : NULL;
    actr__watch_t *out = e & (EPOLLOUT | EPOLLHUP | EPOLLERR) ? r->w[W_OUT] : NULL;
    g_mutex_unlock(&h->mu);
    run(in); /* may drop @out: run checks */
    run(out);
  }

  for (guint i = 0; i < due->len; i++)
    run(g_ptr_array_index(due, i));
  g_mutex_lock(&h->mu);
  now = g_get_monotonic_time();
  for (guint i = 0; i < due->len; i++) {
    actr__watch_t *w = g_ptr_array_index(due, i);
    if (w->kind == W_TIMER && !atomic_load(&w->dead) && w->heap_idx < 0) {
      w->due = next_due(w, now);
      heap_push(h, w);
    }
  }
  g_mutex_unlock(&h->mu);
  if (due == h->due)
    g_ptr_array_set_size(due, 0);
  else
    g_ptr_array_free(due, TRUE);
  h->depth--;
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs hub_funcs = {hub_prepare, hub_check, hub_dispatch, NULL, NULL, NULL};

actr__hub_t *actr__hub_new(GMainContext *ctx) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0)
    return NULL;
  actr__hub_t *h = g_new0(actr__hub_t, 1);
  g_mutex_init(&h->mu);
  h->epfd = epfd;
  h->fds = g_hash_table_new(g_direct_hash, g_direct_equal);
  h->due = g_ptr_array_new();
  atomic_init(&h->kicks_waiting, false);
  atomic_init(&h->first_due, G_MAXINT64);
  h->ctx = ctx;
  h->src = g_source_new(&hub_funcs, sizeof(hub_source_t));
  ((hub_source_t *)h->src)->hub = h;
  g_source_set_name(h->src, "actr hub");
  h->epfd_tag = g_source_add_unix_fd(h->src, epfd, G_IO_IN);
  /* GLib blocks a source that cannot recurse while it dispatches: it takes
   * its fds out of the poll set and puts them back, and each of the two
   * signals the context's wakeup fd -- two eventfd writes and one more
   * loop iteration per dispatch, i.e. per message.  This one may recurse
   * (hub_dispatch allows it), so it is never blocked. */
  g_source_set_can_recurse(h->src, TRUE);
  g_source_attach(h->src, ctx);
  return h;
}

void actr__hub_free(actr__hub_t *h) {
  if (!h)
    return;
  g_source_destroy(h->src);
  g_source_unref(h->src);
  bury_graveyard(h);
  /* Only stale records can be left (their watches are gone). */
  GHashTableIter it;
  gpointer rec;
  g_hash_table_iter_init(&it, h->fds);
  while (g_hash_table_iter_next(&it, NULL, &rec))
    g_free(rec);
  g_hash_table_destroy(h->fds);
  g_ptr_array_free(h->due, TRUE);
  g_free(h->heap);
  close(h->epfd);
  g_mutex_clear(&h->mu);
  g_free(h);
}

/* ---- watches ---- */

static actr__watch_t *watch_new(actr__hub_t *h, int kind, actr__watch_fn fn, void *user) {
  actr__watch_t *w = g_new0(actr__watch_t, 1);
  w->hub = h;
  w->kind = kind;
  w->fn = fn;
  w->user = user;
  w->heap_idx = -1;
  atomic_init(&w->dead, false);
  return w;
}

static uint32_t rec_events(const fd_rec_t *r) {
  return (r->w[W_IN] && !r->in_tag ? EPOLLIN : 0u) | (r->w[W_OUT] ? EPOLLOUT : 0u);
}

/* rec_sync: mu held: the epoll set as @r's watches want it (not in it when
 * it wants nothing there: a direct input alone).  -1 when the kernel
 * refuses (errno); a removal's errors are ignored (the fd may be closed
 * already: epoll forgot it then). */
static int rec_sync(actr__hub_t *h, fd_rec_t *r) {
  uint32_t want = rec_events(r);
  if (!want) {
    if (r->in_epoll)
      epoll_ctl(h->epfd, EPOLL_CTL_DEL, r->fd, NULL);
    r->in_epoll = false;
    return 0;
  }
  struct epoll_event ev = {.events = want, .data.ptr = r};
  if (epoll_ctl(h->epfd, r->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, r->fd, &ev) != 0)
    return -1;
  r->in_epoll = true;
  return 0;
}

/* direct_add / direct_remove: mu held: @r's input watch polled by GLib (a
 * unix fd of the hub's source; GLib wakes the loop to poll it) / no more. */
static void direct_add(actr__hub_t *h, fd_rec_t *r) {
  r->in_tag = g_source_add_unix_fd(h->src, r->fd, G_IO_IN);
  h->direct[h->n_direct++] = r;
}

static void rec_forget(actr__hub_t *h, fd_rec_t *r);

/* direct_remove: also forgets @r when nothing else keeps it. */
static void direct_remove(actr__hub_t *h, fd_rec_t *r) {
  g_source_remove_unix_fd(h->src, r->in_tag);
  r->in_tag = NULL;
  for (int i = 0; i < h->n_direct; i++)
    if (h->direct[i] == r) {
      h->direct[i] = h->direct[--h->n_direct];
      break;
    }
  if (!r->w[W_IN] && !r->w[W_OUT])
    rec_forget(h, r);
}

/* rec_forget: mu held, @r has no watch and no unix fd: out of the table,
 * freed at the next dispatch (one in progress may still name it). */
static void rec_forget(actr__hub_t *h, fd_rec_t *r) {
  g_hash_table_remove(h->fds, GINT_TO_POINTER(r->fd));
  r->grave_next = h->grave_recs;
  h->grave_recs = r;
}

actr__watch_t *actr__watch_fd(actr__hub_t *h, int fd, bool out, actr__watch_fn fn, void *user) {
  int k = out ? W_OUT : W_IN;
  g_mutex_lock(&h->mu);
  fd_rec_t *r = g_hash_table_lookup(h->fds, GINT_TO_POINTER(fd));
  bool fresh = r == NULL;
  if (fresh) {
    r = g_new0(fd_rec_t, 1);
    r->fd = fd;
  } else if (r->w[k]) {
    g_mutex_unlock(&h->mu);
    return NULL;
  }
  /* Direct (DIRECT_IN) on the context's owner, or taking a stale entry of
   * this fd over.  GLib's poll takes any fd: make sure the kernel knows
   * it, as epoll_ctl would have. */
  bool added = false;
  if (k == W_IN && (r->in_tag || (h->n_direct < DIRECT_IN && g_main_context_is_owner(h->ctx)))) {
    if (fcntl(fd, F_GETFD) < 0) {
      if (fresh)
        g_free(r);
      g_mutex_unlock(&h->mu);
      return NULL;
    }
    if (!r->in_tag) {
      direct_add(h, r);
      added = true;
    }
  }
  actr__watch_t *w = watch_new(h, k, fn, user);
  w->rec = r;
  r->w[k] = w;
  if (rec_sync(h, r) != 0) {
    if (added) /* (on the owner; @r still holds the new watch: not forgotten) */
      direct_remove(h, r);
    r->w[k] = NULL;
    g_free(w);
    if (fresh)
      g_free(r);
    else
      rec_sync(h, r);
    g_mutex_unlock(&h->mu);
    return NULL;
  }
  if (fresh)
    g_hash_table_insert(h->fds, GINT_TO_POINTER(fd), r);
  g_mutex_unlock(&h->mu);
  return w;
}

static actr__watch_t *every(actr__hub_t *h, gint64 period, gint64 grid, actr__watch_fn fn,
                            void *user) {
  actr__watch_t *w = watch_new(h, W_TIMER, fn, user);
  w->period = period;
  w->grid = grid;
  g_mutex_lock(&h->mu);
  w->due = next_due(w, g_get_monotonic_time());
  heap_push(h, w);
  g_mutex_unlock(&h->mu);
  wake(h);
  return w;
}

actr__watch_t *actr__watch_every(actr__hub_t *h, unsigned period_ms, actr__watch_fn fn, void *user) {
  gint64 period = (gint64)(period_ms ? period_ms : 1) * 1000;
  return every(h, period, MAX(MIN(period / 8, 250000), 1), fn, user);
}

actr__watch_t *actr__watch_every_aligned(actr__hub_t *h, unsigned period_ms, actr__watch_fn fn,
                                         void *user) {
  gint64 period = (gint64)(period_ms ? period_ms : 1) * 1000, grid = 1;
  while (grid * 3 / 2 < period) /* the nearest power of two (within 1.5x) */
    grid <<= 1;
  /* Fired on every grid point: the period is the grid's step. */
  return every(h, grid, grid, fn, user);
}

actr__watch_t *actr__watch_kick_new(actr__hub_t *h, actr__watch_fn fn, void *user) {
  return watch_new(h, W_KICK, fn, user);
}

void actr__watch_kick(actr__watch_t *w) {
  actr__hub_t *h = w->hub;
  bool first = false;
  g_mutex_lock(&h->mu);
  if (!w->kicked && !atomic_load(&w->dead)) {
    w->kicked = true;
    w->next = NULL;
    first = h->kick_head == NULL; /* else a wake-up is on its way already */
    if (h->kick_tail)
      h->kick_tail->next = w;
    else
      h->kick_head = w;
    h->kick_tail = w;
    atomic_store(&h->kicks_waiting, true);
  }
  g_mutex_unlock(&h->mu);
  if (first)
    wake(h);
}

void actr__watch_drop(actr__watch_t **wp) {
  actr__watch_t *w = *wp;
  if (!w)
    return;
  *wp = NULL;
  actr__hub_t *h = w->hub;
  bool stale = false;
  g_mutex_lock(&h->mu);
  atomic_store(&w->dead, true);
  switch (w->kind) {
  case W_IN:
  case W_OUT: {
    fd_rec_t *r = w->rec;
    r->w[w->kind] = NULL;
    rec_sync(h, r); /* errors ignored: the fd may be closed already */
    if (w->kind == W_IN && r->in_tag) {
      if (g_main_context_is_owner(h->ctx)) {
        direct_remove(h, r); /* forgets @r if nothing else keeps it */
      } else { /* stale: the next dispatch takes it out (see DIRECT_IN) */
        atomic_store(&h->kicks_waiting, true);
        stale = true;
      }
    } else if (!r->w[W_IN] && !r->w[W_OUT] && !r->in_tag) {
      rec_forget(h, r);
    }
    break;
  }
  case W_TIMER:
    if (w->heap_idx >= 0)
      heap_remove(h, w);
    break;
  case W_KICK:
    if (w->kicked) { /* unlink from the kick list */
      actr__watch_t *prev = NULL;
      for (actr__watch_t *k = h->kick_head; k; prev = k, k = k->next)
        if (k == w) {
          if (prev)
            prev->next = k->next;
          else
            h->kick_head = k->next;
          if (h->kick_tail == k)
            h->kick_tail = prev;
          atomic_store(&h->kicks_waiting, h->kick_head != NULL);
          break;
        }
      w->kicked = false;
    }
    break;
  }
  /* A timer or kick taken for the dispatch in progress is still in its
   * list: only the flag stops it; it is freed at the next dispatch. */
  w->next = h->grave;
  h->grave = w;
  g_mutex_unlock(&h->mu);
  if (stale)
    wake(h);
}
