/* runtime_internal.h — what wires need of the runtime: its GLib main context
 * and ways to run code on the I/O thread.  Internal (GLib types allowed). */
#ifndef ACTR_RUNTIME_INTERNAL_H
#define ACTR_RUNTIME_INTERNAL_H

#include <glib.h>
#include <actr/runtime.h>

#include "hub.h"
#include "slack.h"

/* actr__runtime_context: the I/O thread's context (transfer none).  Every
 * GSource of every wire is attached here. */
GMainContext *actr__runtime_context(actr_runtime_t *rt);

/* actr__runtime_slack: the runtime's slack (slack.h; transfer none): a
 * child of its context for a foreign library's timers (libnice's), fired
 * late and together so that the timers of many objects wake the I/O thread
 * at once.  The library's sockets stay on actr__runtime_context. */
actr__slack_t *actr__runtime_slack(actr_runtime_t *rt);

/* actr__runtime_hub: the runtime's hub (hub.h; transfer none): sockets,
 * periodic timers and wake-ups of many connections behind one source. */
actr__hub_t *actr__runtime_hub(actr_runtime_t *rt);

/* actr__runtime_lend: the calling thread is about to wait for something the
 * I/O thread will produce: run the loop on this thread instead (the I/O
 * thread stands aside meanwhile), until @done(@data) is true (checked after
 * each loop iteration) or @timeout_ms (-1: no limit) passed, so that what
 * wakes the loop wakes the waiter directly, with no hand-off between two
 * threads.  Every callback of the runtime runs on this thread meanwhile.
 * Returns false at once, having run nothing, when it cannot lend: the
 * runtime was not made with lend_loop, called on the I/O thread (or by a lender), another thread is lending, or the
 * runtime is stopping — the caller then waits its usual way.  Whatever
 * makes @done true from another thread must wake the context. */
bool actr__runtime_lend(actr_runtime_t *rt, bool (*done)(void *data), void *data,
                        int timeout_ms);

#endif
