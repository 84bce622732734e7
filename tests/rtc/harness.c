/* harness.c — see harness.h. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "rtc_internal.h"

typedef struct cand {
  int to;
  char *cand; /* NULL: end of candidates */
} cand_t;

/* ---- channel callbacks (I/O threads) ---- */

static void ch_open(actr_webrtc_dc_t *dc, void *user) {
  h_chan_t *c = user;
  g_mutex_lock(&c->peer->w->mu);
  c->opened = true;
  g_cond_broadcast(&c->peer->w->cond);
  g_mutex_unlock(&c->peer->w->mu);
}

static bool ch_message(actr_webrtc_dc_t *dc, actr_msg_t *msg, bool text, void *user) {
  h_chan_t *c = user;
  h_world_t *w = c->peer->w;
  g_mutex_lock(&w->mu);
  if (c->refuse) {
    c->refused++;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->mu);
    return false;
  }
  bool echo = c->echo;
  c->bytes += actr_msg_len(msg);
  if (echo) {
    /* count it, send it back (the message goes with it) */
    g_ptr_array_add(c->msgs, NULL);
  } else {
    h_msg_t *m = g_new(h_msg_t, 1);
    m->msg = msg;
    m->text = text;
    g_ptr_array_add(c->msgs, m);
  }
  g_cond_broadcast(&w->cond);
  g_mutex_unlock(&w->mu);
  if (echo) {
    int rc = actr_webrtc_dc_send_msg(dc, msg, text);
    if (rc)
      g_warning("echo failed: %s (%s)", actr_err_name(rc), actr_err_detail());
  }
  return true;
}

static void ch_low(actr_webrtc_dc_t *dc, void *user) {
  h_chan_t *c = user;
  g_mutex_lock(&c->peer->w->mu);
  c->low_events++;
  g_cond_broadcast(&c->peer->w->cond);
  g_mutex_unlock(&c->peer->w->mu);
}

static void ch_closing(actr_webrtc_dc_t *dc, void *user) {
  h_chan_t *c = user;
  g_mutex_lock(&c->peer->w->mu);
  c->closing = true;
  g_cond_broadcast(&c->peer->w->cond);
  g_mutex_unlock(&c->peer->w->mu);
}

static void ch_close(actr_webrtc_dc_t *dc, int err, void *user) {
  h_chan_t *c = user;
  g_mutex_lock(&c->peer->w->mu);
  c->closed = true;
  c->close_err = err;
  g_cond_broadcast(&c->peer->w->cond);
  g_mutex_unlock(&c->peer->w->mu);
}

static const actr_webrtc_dc_callbacks_t ch_cbs = {ch_open, ch_message, ch_low, ch_closing,
                                                  ch_close};

static h_chan_t *chan_new(h_peer_t *p, const char *label) {
  h_chan_t *c = g_new0(h_chan_t, 1);
  c->peer = p;
  c->label = g_strdup(label);
  c->msgs = g_ptr_array_new();
  return c;
}

static void chan_free(h_chan_t *c) {
  actr_webrtc_dc_free(c->dc);
  for (guint i = 0; i < c->msgs->len; i++) {
    h_msg_t *m = c->msgs->pdata[i];
    if (m) {
      actr_msg_free(m->msg);
      g_free(m);
    }
  }
  g_ptr_array_free(c->msgs, TRUE);
  g_free(c->label);
  g_free(c);
}

/* ---- connection callbacks (I/O threads) ---- */

static void pc_candidate(actr_webrtc_pc_t *pc, const char *cand, const char *mid, void *user) {
  h_peer_t *p = user;
  h_world_t *w = p->w;
  g_mutex_lock(&w->mu);
  if (!cand)
    p->gathering_done = true;
  if (w->trickle) {
    cand_t *c = g_new0(cand_t, 1);
    c->to = 1 - p->idx;
    c->cand = g_strdup(cand);
    g_queue_push_tail(&w->cands, c);
  }
  g_cond_broadcast(&w->cond);
  g_mutex_unlock(&w->mu);
}

static void pc_state(actr_webrtc_pc_t *pc, actr_webrtc_pc_state_t st, int err, void *user) {
  h_peer_t *p = user;
  g_mutex_lock(&p->w->mu);
  p->state = st;
  p->state_err = err;
  g_cond_broadcast(&p->w->cond);
  g_mutex_unlock(&p->w->mu);
}

static void pc_channel(actr_webrtc_pc_t *pc, actr_webrtc_dc_t *dc, void *user) {
  h_peer_t *p = user;
  h_chan_t *c = chan_new(p, actr_webrtc_dc_label(dc));
  c->dc = dc;
  g_mutex_lock(&p->w->mu);
  c->echo = p->w->echo_incoming;
  c->opened = actr_webrtc_dc_state(dc) == ACTR_WEBRTC_DC_OPEN;
  g_ptr_array_add(p->incoming, c);
  g_cond_broadcast(&p->w->cond);
  g_mutex_unlock(&p->w->mu);
  actr_webrtc_dc_set_callbacks(dc, &ch_cbs, c); /* on the I/O thread: at once */
}

/* ---- world ---- */

static void world_init(h_world_t *w, int n, h_config_fn fn, void *user) {
  memset(w, 0, sizeof *w);
  g_mutex_init(&w->mu);
  g_cond_init(&w->cond);
  g_queue_init(&w->cands);
  g_queue_init(&w->work);
  w->trickle = true;
  static const char *const lo[] = {"127.0.0.1"};
  for (int i = 0; i < n; i++) {
    h_peer_t *p = &w->peers[i];
    p->w = w;
    p->idx = i;
    p->incoming = g_ptr_array_new();
    p->local = g_ptr_array_new();
    ASSERT_OK(actr_runtime_new(&p->rt));
    actr_webrtc_config_t cfg;
    actr_webrtc_config_init(&cfg);
    cfg.local_addresses = lo;
    cfg.local_address_count = 1;
    cfg.on_candidate = pc_candidate;
    cfg.on_state = pc_state;
    cfg.on_data_channel = pc_channel;
    cfg.user = p;
    /* ACTR_TEST_SCTP_MTU: run the same tests with larger SCTP packets. */
    if (g_getenv("ACTR_TEST_SCTP_MTU"))
      cfg.sctp_mtu = (uint32_t)atoi(g_getenv("ACTR_TEST_SCTP_MTU"));
    if (fn)
      fn(i, &cfg, user);
    ASSERT_OK(actr_webrtc_pc_new(p->rt, &cfg, &p->pc));
  }
}

void h_world_init(h_world_t *w, h_config_fn fn, void *user) { world_init(w, 2, fn, user); }
void h_world_init_one(h_world_t *w, h_config_fn fn, void *user) { world_init(w, 1, fn, user); }

void h_post(h_world_t *w, void (*fn)(h_world_t *w, void *data), void *data) {
  h_work_t *k = g_new(h_work_t, 1);
  k->fn = fn;
  k->data = data;
  g_mutex_lock(&w->mu);
  g_queue_push_tail(&w->work, k);
  g_cond_broadcast(&w->cond);
  g_mutex_unlock(&w->mu);
}

void h_desc_sent(h_world_t *w, int idx) {
  g_mutex_lock(&w->mu);
  w->desc_sent[idx] = true;
  g_cond_broadcast(&w->cond);
  g_mutex_unlock(&w->mu);
}

void h_world_fini(h_world_t *w) {
  /* Both connections go first: until destroy returns, a connection's
   * callbacks may still run and add to its peer's channel lists (an open
   * that was on its way), so the lists are freed only after. */
  for (int i = 0; i < 2; i++)
    if (w->peers[i].local)
      actr_webrtc_pc_free(w->peers[i].pc);
  for (int i = 0; i < 2; i++) {
    h_peer_t *p = &w->peers[i];
    if (!p->local)
      continue;
    for (guint j = 0; j < p->local->len; j++)
      chan_free(p->local->pdata[j]);
    for (guint j = 0; j < p->incoming->len; j++)
      chan_free(p->incoming->pdata[j]);
    g_ptr_array_free(p->local, TRUE);
    g_ptr_array_free(p->incoming, TRUE);
  }
  if (!actr__rtc_wait_idle(10000))
    g_error("%d WebRTC objects still alive after teardown", actr__rtc_live_objects());
  for (int i = 0; i < 2; i++)
    if (w->peers[i].rt)
      actr_runtime_unref(w->peers[i].rt);
  h_work_t *k;
  while ((k = g_queue_pop_head(&w->work)))
    g_free(k);
  cand_t *c;
  while ((c = g_queue_pop_head(&w->cands))) {
    g_free(c->cand);
    g_free(c);
  }
  g_mutex_clear(&w->mu);
  g_cond_clear(&w->cond);
}

bool h_wait(h_world_t *w, bool (*pred)(h_world_t *w, void *arg), void *arg, int timeout_ms) {
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  g_mutex_lock(&w->mu);
  for (;;) {
    if (pred(w, arg)) {
      g_mutex_unlock(&w->mu);
      return true;
    }
    /* Hand over the first candidate whose sender's description is there. */
    cand_t *c = NULL;
    for (GList *l = w->cands.head; l; l = l->next) {
      cand_t *x = l->data;
      if (w->desc_sent[1 - x->to]) {
        c = x;
        g_queue_delete_link(&w->cands, l);
        break;
      }
    }
    h_work_t *k = c ? NULL : g_queue_pop_head(&w->work);
    if (k) {
      g_mutex_unlock(&w->mu);
      k->fn(w, k->data);
      g_free(k);
      g_mutex_lock(&w->mu);
      continue;
    }
    if (c && c->to == 1 && w->remote_candidate) {
      g_mutex_unlock(&w->mu);
      w->remote_candidate(w, c->cand, w->remote_user);
      g_free(c->cand);
      g_free(c);
      g_mutex_lock(&w->mu);
      continue;
    }
    if (c) {
      g_mutex_unlock(&w->mu); /* never call libactr with mu held */
      int rc = actr_webrtc_pc_add_remote_candidate(w->peers[c->to].pc, c->cand, "0");
      if (rc)
        g_error("add_remote_candidate(%s): %s (%s)", c->cand ? c->cand : "(end)",
                actr_err_name(rc), actr_err_detail());
      g_free(c->cand);
      g_free(c);
      g_mutex_lock(&w->mu);
      continue;
    }
    if (!g_cond_wait_until(&w->cond, &w->mu, end)) {
      bool ok = pred(w, arg);
      g_mutex_unlock(&w->mu);
      return ok;
    }
  }
}

static bool gathered(h_world_t *w, void *arg) {
  return w->peers[GPOINTER_TO_INT(arg)].gathering_done;
}

bool h_wait_gathered(h_world_t *w, int idx, int timeout_ms) {
  return h_wait(w, gathered, GINT_TO_POINTER(idx), timeout_ms);
}

void h_negotiate(h_world_t *w, bool trickle, char *(*mangle)(const char *sdp)) {
  h_peer_t *a = &w->peers[0], *b = &w->peers[1];
  g_mutex_lock(&w->mu);
  w->trickle = trickle;
  g_mutex_unlock(&w->mu);
  char *offer, *answer;
  ASSERT_OK(actr_webrtc_pc_create_offer(a->pc, &offer));
  if (!trickle) {
    g_assert_true(h_wait(w, gathered, GINT_TO_POINTER(0), 10000));
    free(offer);
    ASSERT_OK(actr_webrtc_pc_local_description(a->pc, &offer));
    g_assert_nonnull(strstr(offer, "a=candidate:"));
    g_assert_nonnull(strstr(offer, "a=end-of-candidates"));
  }
  char *given = mangle ? mangle(offer) : offer;
  ASSERT_OK(actr_webrtc_pc_set_remote_description(b->pc, true, given));
  g_mutex_lock(&w->mu);
  w->desc_sent[0] = true;
  g_cond_broadcast(&w->cond);
  g_mutex_unlock(&w->mu);
  ASSERT_OK(actr_webrtc_pc_create_answer(b->pc, &answer));
  if (!trickle) {
    g_assert_true(h_wait(w, gathered, GINT_TO_POINTER(1), 10000));
    free(answer);
    ASSERT_OK(actr_webrtc_pc_local_description(b->pc, &answer));
  }
  ASSERT_OK(actr_webrtc_pc_set_remote_description(a->pc, false, answer));
  g_mutex_lock(&w->mu);
  w->desc_sent[1] = true;
  g_cond_broadcast(&w->cond);
  g_mutex_unlock(&w->mu);
  if (given != offer)
    g_free(given);
  free(offer);
  free(answer);
}

typedef struct state_arg {
  int idx;
  actr_webrtc_pc_state_t st;
} state_arg_t;

static bool reached(h_world_t *w, void *arg) {
  state_arg_t *s = arg;
  return w->peers[s->idx].state == s->st;
}

bool h_wait_state(h_world_t *w, int idx, actr_webrtc_pc_state_t st, int timeout_ms) {
  state_arg_t a = {idx, st};
  return h_wait(w, reached, &a, timeout_ms);
}

h_chan_t *h_open(h_peer_t *p, const char *label, const actr_webrtc_dc_options_t *opts) {
  h_chan_t *c = chan_new(p, label);
  ASSERT_OK(actr_webrtc_pc_create_data_channel(p->pc, label, opts, &ch_cbs, c, &c->dc));
  g_ptr_array_add(p->local, c);
  return c;
}

typedef struct in_arg {
  h_peer_t *p;
  const char *label;
  h_chan_t *found;
} in_arg_t;

static bool has_incoming(h_world_t *w, void *arg) {
  in_arg_t *a = arg;
  for (guint i = 0; i < a->p->incoming->len; i++) {
    h_chan_t *c = a->p->incoming->pdata[i];
    if (strcmp(c->label, a->label) == 0) {
      a->found = c;
      return true;
    }
  }
  return false;
}

h_chan_t *h_incoming(h_peer_t *p, const char *label, int timeout_ms) {
  in_arg_t a = {p, label, NULL};
  h_wait(p->w, has_incoming, &a, timeout_ms);
  return a.found;
}

static bool is_open(h_world_t *w, void *arg) { return ((h_chan_t *)arg)->opened; }
static bool is_closed(h_world_t *w, void *arg) { return ((h_chan_t *)arg)->closed; }

bool h_wait_open(h_chan_t *c, int timeout_ms) { return h_wait(c->peer->w, is_open, c, timeout_ms); }
bool h_wait_closed(h_chan_t *c, int timeout_ms) {
  return h_wait(c->peer->w, is_closed, c, timeout_ms);
}

typedef struct n_arg {
  h_chan_t *c;
  guint n;
} n_arg_t;

static bool has_n(h_world_t *w, void *arg) {
  n_arg_t *a = arg;
  return a->c->msgs->len >= a->n;
}

bool h_wait_msgs(h_chan_t *c, guint n, int timeout_ms) {
  n_arg_t a = {c, n};
  return h_wait(c->peer->w, has_n, &a, timeout_ms);
}

void h_fill(uint8_t *buf, size_t len, unsigned seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < len; i++) {
    x = x * 1103515245u + 12345u;
    buf[i] = (uint8_t)(x >> 16);
  }
}

bool h_check(const uint8_t *buf, size_t len, unsigned seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < len; i++) {
    x = x * 1103515245u + 12345u;
    if (buf[i] != (uint8_t)(x >> 16))
      return false;
  }
  return true;
}

static void log_line(actr_log_level_t level, const char *msg, void *user) {
  static const char *const names[] = {"E", "W", "I", "D"};
  gint64 t = g_get_monotonic_time();
  fprintf(stderr, "[%" G_GINT64_FORMAT ".%06d %s] %s\n", t / 1000000, (int)(t % 1000000),
          names[level], msg);
}

void h_log_init(void) {
  const char *v = g_getenv("ACTR_LOG");
  if (v && *v)
    actr_log_set_handler(log_line, atoi(v) >= 2 ? ACTR_LOG_DEBUG : ACTR_LOG_INFO, NULL);
}

/* ---- child processes ---- */

static gpointer proc_reader(gpointer data) {
  h_proc_t *p = data;
  FILE *f = fdopen(p->out_fd, "r");
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) >= 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    p->on_line(g_strdup(line), p->user);
  }
  free(line);
  fclose(f); /* closes out_fd */
  g_mutex_lock(&p->mu);
  p->eof = true;
  g_cond_broadcast(&p->cond);
  g_mutex_unlock(&p->mu);
  return NULL;
}

void h_proc_start(h_proc_t *p, const char *const *argv, bool merge_stderr,
                  void (*on_line)(char *line, void *user), void *user) {
  memset(p, 0, sizeof *p);
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
    g_error("pipe: %s", g_strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  if (merge_stderr)
    posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (rc != 0)
    g_error("cannot start %s: %s", argv[0], g_strerror(rc));
  p->pid = pid;
  p->in_fd = in[1];
  p->out_fd = out[0];
  p->on_line = on_line;
  p->user = user;
  g_mutex_init(&p->mu);
  g_cond_init(&p->cond);
  signal(SIGPIPE, SIG_IGN); /* a dead child shows as a write error */
  p->reader = g_thread_new("child-reader", proc_reader, p);
}

void h_proc_write_line(h_proc_t *p, const char *line) {
  size_t n = strlen(line);
  char *buf = g_strconcat(line, "\n", NULL);
  const char *q = buf;
  size_t left = n + 1;
  while (left > 0) {
    ssize_t w = write(p->in_fd, q, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      g_error("writing to the child: %s", g_strerror(errno));
    q += w;
    left -= (size_t)w;
  }
  g_free(buf);
}

int h_proc_stop(h_proc_t *p, int sig, int timeout_ms) {
  if (p->in_fd >= 0) {
    close(p->in_fd);
    p->in_fd = -1;
  }
  if (sig)
    kill(p->pid, sig);
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  g_mutex_lock(&p->mu);
  while (!p->eof)
    if (!g_cond_wait_until(&p->cond, &p->mu, end))
      break;
  bool done = p->eof;
  g_mutex_unlock(&p->mu);
  if (!done)
    kill(p->pid, SIGKILL); /* its stdout closes with it */
  g_thread_join(p->reader);
  int status = 0;
  while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
    ;
  g_mutex_clear(&p->mu);
  g_cond_clear(&p->cond);
  return status;
}
