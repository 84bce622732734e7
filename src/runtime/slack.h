/* slack.h — a child GMainContext whose timers fire late and together
 * (issue 13, point 5: an idle process wakes a few times a second).
 *
 * A library that keeps timers of its own per object, at jittered times,
 * wakes an idle loop once per object per period.  libnice, per agent: a
 * keepalive (RFC 7675 consent check) every 4–6 s chosen at random, a tick
 * 20 ms after each, and its connectivity-check tick every 20 ms for as long
 * as checks come in -- the peer's keepalives are such checks, so it never
 * stops; 200 idle agents woke a process ~200 times a second.  Such a
 * library is given the slack's context for its timers instead of the
 * runtime's; the slack drives it from one source in the runtime's context,
 * which polls the child's file descriptors (its wakeup fd among them,
 * signalled whenever a source is attached to it: the child is made with
 * G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING) and dispatches it when its
 * earliest timer is due, rounded up to a grid of the monotonic clock:
 *   - while some object holds the slack *precise* (an ICE agent that is
 *     gathering, checking or restarting: its pacing and retransmissions
 *     shape how fast it connects), the largest power of two microseconds
 *     not above a quarter of the time left: a 20 ms tick fires at most
 *     4 ms late, a 5 s keepalive at most ~1 s;
 *   - otherwise on ACTR__IDLE_GRID_US (2^20 µs, ~1.05 s): every timer of
 *     every idle object fires at the same instants, shared by every runtime
 *     and by the hub's idle ticks (the dead-peer check), so an idle runtime
 *     wakes about once a second for all of them.
 * Whatever is ready when the child is dispatched runs then, early ones
 * included: the loop is awake anyway.  A timer due now (an idle source)
 * runs at once in both modes.
 *
 * Threads: the child is dispatched on the thread that runs the parent (the
 * I/O thread or a thread lending the loop), acquired for the time of each
 * dispatch.  Sources may be attached to the child, and holds taken, from
 * any thread.  Internal (GLib types allowed). */
#ifndef ACTR_RUNTIME_SLACK_H
#define ACTR_RUNTIME_SLACK_H

#include <glib.h>
#include <stdbool.h>

typedef struct actr__slack actr__slack_t;

/* actr__slack_new: a child context driven from @parent. */
actr__slack_t *actr__slack_new(GMainContext *parent);

/* actr__slack_context: the child (transfer none). */
GMainContext *actr__slack_context(actr__slack_t *sl);

/* ACTR__IDLE_GRID_US: the grid idle timers fire on (above). */
#define ACTR__IDLE_GRID_US (G_GINT64_CONSTANT(1) << 20)

/* actr__slack_grid_us: the grid a timer due in @left_us is rounded up to
 * while the slack is held precise. */
gint64 actr__slack_grid_us(gint64 left_us);

/* actr__slack_precise: @on true takes a hold (timers fire at most a
 * quarter of their delay late), false gives one back. */
void actr__slack_precise(actr__slack_t *sl, bool on);

/* actr__slack_free: after the parent's last dispatch.  Sources still
 * attached to the child stay there, never dispatched again. */
void actr__slack_free(actr__slack_t *sl);

#endif
