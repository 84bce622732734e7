/* hub.h — many watches, one GSource (issue 13, point 5: scale).
 *
 * A GMainContext polls every file descriptor of every source on each
 * iteration and prepares and checks every source: with one socket source,
 * one timer and one wake-up source per connection, an iteration of a loop
 * holding 10,000 idle WebSocket connections cost milliseconds (perf: poll()
 * walking every socket, GLib walking every source), so a round trip of the
 * one busy client took 25 times its usual time.  The hub puts all of a
 * runtime's watches behind one source: sockets in one epoll set (only the
 * ready ones cost anything; the first few input watches are polled by GLib
 * directly instead, which spares an epoll_wait per wake-up: hub.c's
 * DIRECT_IN), periodic timers in one heap (the source's ready
 * time is the earliest deadline), wake-ups ("kicks") in one list.  Idle
 * connections then cost nothing per iteration.
 *
 * Timers are coalesced: a timer of period P fires within [P - G/2, P + G/2)
 * of its last firing, on a grid of G = min(P/8, 250 ms) of the monotonic
 * clock, so that timers of many connections fire together (a process
 * holding 10,000 connections with 2 s keepalive ticks wakes for them at
 * most 4 times a second, not 5,000).  A timer never fires more than G/2
 * early; the average period is P.
 *
 * Threads: callbacks run where the context is dispatched (the I/O thread,
 * or a thread lending the loop).  actr__watch_kick and actr__watch_drop may
 * be called from any thread; once drop returns, the watch's callback is not
 * started again (one already started may still be running, as with
 * g_source_destroy).  Internal (GLib types allowed). */
#ifndef ACTR_RUNTIME_HUB_H
#define ACTR_RUNTIME_HUB_H

#include <glib.h>
#include <stdbool.h>

typedef struct actr__hub actr__hub_t;
typedef struct actr__watch actr__watch_t;
typedef void (*actr__watch_fn)(void *user);

actr__hub_t *actr__hub_new(GMainContext *ctx);
/* actr__hub_free: after the context's last dispatch; no watch may be left. */
void actr__hub_free(actr__hub_t *h);

/* actr__watch_fd: @fn(@user) while @fd is readable (@out false: or hung
 * up, or in error) or writable (@out true: or in error).  Level-triggered:
 * it runs again on the next dispatch while the condition holds.  One input
 * and one output watch at most per fd.  NULL when the kernel refuses. */
actr__watch_t *actr__watch_fd(actr__hub_t *h, int fd, bool out, actr__watch_fn fn, void *user);

/* actr__watch_every: @fn(@user) about every @period_ms (coalesced, above). */
actr__watch_t *actr__watch_every(actr__hub_t *h, unsigned period_ms, actr__watch_fn fn, void *user);

/* actr__watch_every_aligned: @fn(@user) on every point of a grid of the
 * monotonic clock whose step is the power of two microseconds nearest to
 * @period_ms (1000 ms: 2^20 µs, the idle grid of slack.h).  All such
 * timers of about the same period, of every runtime, fire at the same
 * instants, and with the idle timers of the slack: for checks of idle
 * objects whose period may be up to 1.41 times longer or shorter. */
actr__watch_t *actr__watch_every_aligned(actr__hub_t *h, unsigned period_ms, actr__watch_fn fn,
                                         void *user);

/* actr__watch_kick_new: @fn(@user) on the next dispatch after each
 * actr__watch_kick (kicks before it runs are one). */
actr__watch_t *actr__watch_kick_new(actr__hub_t *h, actr__watch_fn fn, void *user);
void actr__watch_kick(actr__watch_t *w);

/* actr__watch_drop: end *@w (NULL: nothing) and set it to NULL. */
void actr__watch_drop(actr__watch_t **w);

#endif
