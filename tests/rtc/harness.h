/* harness.h — shared by the WebRTC tests: two peer connections on two
 * runtimes (as two processes would be), in-process signaling, and channel
 * recorders.  Waiting is on one condition variable signalled by every
 * callback; candidates are handed over on the test thread (never from one
 * I/O thread into the other runtime, which could deadlock). */
#ifndef ACTR_TEST_RTC_HARNESS_H
#define ACTR_TEST_RTC_HARNESS_H

#include <glib.h>
#include <stdbool.h>

#include <actr/error.h>
#include <actr/msg.h>
#include <actr/runtime.h>
#include <actr/webrtc.h>

#define ASSERT_OK(expr)                                                                        \
  do {                                                                                         \
    int rc_ = (expr);                                                                          \
    if (rc_ != ACTR_OK)                                                                        \
      g_error("%s: %s (%s)", #expr, actr_err_name(rc_), actr_err_detail());                    \
  } while (0)

typedef struct h_world h_world_t;
typedef struct h_peer h_peer_t;

typedef struct h_msg {
  actr_msg_t *msg;
  bool text;
} h_msg_t;

/* h_chan_t: one channel as seen by one peer. */
typedef struct h_chan {
  actr_webrtc_dc_t *dc;
  h_peer_t *peer;
  char *label;
  bool opened, closing, closed;
  int close_err;
  GPtrArray *msgs; /* h_msg_t* */
  size_t bytes;
  bool refuse;     /* on_message refuses (backpressure) while set */
  unsigned refused;
  bool echo;       /* send every message back (from the I/O thread) */
  unsigned low_events;
} h_chan_t;

struct h_peer {
  h_world_t *w;
  int idx;
  actr_runtime_t *rt;
  actr_webrtc_pc_t *pc;
  actr_webrtc_pc_state_t state;
  int state_err;
  bool gathering_done;
  GPtrArray *incoming; /* h_chan_t* opened by the other side */
  GPtrArray *local;    /* h_chan_t* we opened */
};

typedef struct h_work {
  void (*fn)(h_world_t *w, void *data);
  void *data;
} h_work_t;

struct h_world {
  GMutex mu;
  GCond cond;
  h_peer_t peers[2];
  GQueue work;         /* h_work_t*: run by h_wait on the test thread */
  GQueue cands;        /* pending hand-overs */
  bool trickle;        /* hand candidates over */
  bool desc_sent[2];   /* candidates of peer i wait until its description was delivered */
  bool echo_incoming;  /* new incoming channels echo */
  /* When set, candidates for peer 1 go here instead (an out-of-process
   * peer); NULL @cand: end of candidates.  Called on the test thread. */
  void (*remote_candidate)(h_world_t *w, const char *cand, void *user);
  void *remote_user;
};

/* h_config_fn: adjust a peer's configuration before creation. */
typedef void (*h_config_fn)(int idx, actr_webrtc_config_t *cfg, void *user);

void h_world_init(h_world_t *w, h_config_fn fn, void *user);
/* h_world_init_one: only peer 0 is a libactr peer (the other one lives in
 * another process: see remote_candidate). */
void h_world_init_one(h_world_t *w, h_config_fn fn, void *user);
/* h_post: run @fn(@w, @data) on the test thread, from h_wait.  Any thread,
 * w->mu not held. */
void h_post(h_world_t *w, void (*fn)(h_world_t *w, void *data), void *data);
/* h_desc_sent: peer @idx's description reached the other side: its
 * candidates may follow. */
void h_desc_sent(h_world_t *w, int idx);
/* h_world_fini: destroy, release, and check that every object is gone. */
void h_world_fini(h_world_t *w);

/* h_wait: wait until @pred(@arg) holds (checked under w->mu), handing
 * candidates over meanwhile; false after @timeout_ms. */
bool h_wait(h_world_t *w, bool (*pred)(h_world_t *w, void *arg), void *arg, int timeout_ms);

/* h_negotiate: peer 0 offers, peer 1 answers; with @trickle candidates
 * travel one by one, else the descriptions carry them (non-trickle).
 * @mangle (nullable) may rewrite the offer before peer 1 sees it. */
void h_negotiate(h_world_t *w, bool trickle, char *(*mangle)(const char *sdp));

/* h_wait_gathered: wait for peer @idx's end of candidates. */
bool h_wait_gathered(h_world_t *w, int idx, int timeout_ms);

/* h_wait_state: wait for peer @idx to reach @state. */
bool h_wait_state(h_world_t *w, int idx, actr_webrtc_pc_state_t state, int timeout_ms);

h_chan_t *h_open(h_peer_t *p, const char *label, const actr_webrtc_dc_options_t *opts);
/* h_incoming: wait for the channel @label the other side opened. */
h_chan_t *h_incoming(h_peer_t *p, const char *label, int timeout_ms);
bool h_wait_open(h_chan_t *c, int timeout_ms);
bool h_wait_closed(h_chan_t *c, int timeout_ms);
bool h_wait_msgs(h_chan_t *c, guint n, int timeout_ms);

/* ---- child processes (posix_spawn: no GLib worker thread) ---- */

typedef struct h_proc {
  int pid;
  int in_fd;  /* the child's stdin, -1 once closed */
  int out_fd; /* the child's stdout (and stderr when merged) */
  GThread *reader;
  void (*on_line)(char *line, void *user); /* reader thread; owns @line */
  void *user;
  GMutex mu;
  GCond cond;
  bool eof;
} h_proc_t;

/* h_proc_start: run @argv with its stdin and stdout on pipes (stderr
 * inherited, or merged into stdout); every line of its stdout goes to
 * @on_line on a reader thread.  Aborts the test if it cannot start. */
void h_proc_start(h_proc_t *p, const char *const *argv, bool merge_stderr,
                  void (*on_line)(char *line, void *user), void *user);
/* h_proc_write_line: @line and a newline to the child's stdin. */
void h_proc_write_line(h_proc_t *p, const char *line);
/* h_proc_stop: close its stdin, send @sig (0: none), wait up to
 * @timeout_ms for it to close its stdout, then SIGKILL if it has not;
 * reap it.  Returns its wait status. */
int h_proc_stop(h_proc_t *p, int sig, int timeout_ms);

/* h_log_init: with ACTR_LOG=1 (or 2 for debug) in the environment, print
 * libactr's log lines on stderr. */
void h_log_init(void);

/* h_fill: a recognisable pattern of @len bytes for message @seed. */
void h_fill(uint8_t *buf, size_t len, unsigned seed);
bool h_check(const uint8_t *buf, size_t len, unsigned seed);

#endif
