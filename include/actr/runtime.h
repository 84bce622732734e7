/** @file
 * actr/runtime.h — the I/O runtime: one event loop that owns every socket
 * of every network lane (WebSocket, WebRTC) created on it, run by a thread
 * of its own.
 *
 * Lane calls are thread-safe from any thread; they hand work to the loop and
 * wake it (no polling).  Callbacks registered on network objects run on the
 * I/O thread unless their documentation says otherwise, one at a time.
 *
 * "The I/O thread" is the runtime's own thread; with lending (below) it is
 * whichever thread runs the loop at that moment.  actr_runtime_is_io_thread()
 * is true on that thread while it runs the loop; the rules for the I/O thread
 * (do not block, do not wait for the loop) apply to callbacks wherever they
 * run.
 *
 * Lending the loop (opt-in, actr_runtime_config_t.lend_loop): an
 * application thread waiting in actr_lane_recv on a network lane
 * (DataChannel or WebSocket) of this runtime runs the loop itself while it
 * waits (the runtime's thread stands aside meanwhile), so that the message
 * it waits for wakes it directly instead of being handed over between
 * threads: a round trip is shorter (docs/ARCHITECTURE.md has the figures).
 * The price: while it waits, that thread runs every callback of the runtime
 * (other lanes' handlers, accept and signaling callbacks, TLS completions)
 * with whatever locks it holds.  Turn it on only when no thread waits in
 * recv while holding a lock that a callback of the same runtime may take.
 * Off by default: callbacks then run on the runtime's own thread only. */
#ifndef ACTR_RUNTIME_H
#define ACTR_RUNTIME_H

#include <stdbool.h>
#include <actr/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_runtime_t: one I/O thread and its event loop (shared:
 * actr_runtime_ref / actr_runtime_unref). */
typedef struct actr_runtime actr_runtime_t;

/** actr_runtime_config_t: how a runtime runs (copied at creation). */
typedef struct actr_runtime_config {
  bool lend_loop; /**< receivers may run the loop while they wait (above): false */
} actr_runtime_config_t;

/** actr_runtime_config_init: fill *@p cfg with the defaults. */
ACTR_API void actr_runtime_config_init(actr_runtime_config_t *cfg);

/** actr_runtime_new: start the I/O thread, with the defaults.  *@p out is
 * (transfer full).  ACTR_ENO_MEMORY, ACTR_EINTERNAL if the thread cannot
 * start.  Any thread. */
ACTR_API int actr_runtime_new(actr_runtime_t **out);

/** actr_runtime_new_with: actr_runtime_new with @p cfg (NULL: the defaults). */
ACTR_API int actr_runtime_new_with(const actr_runtime_config_t *cfg, actr_runtime_t **out);

/** actr_runtime_ref: another reference (objects created on a runtime hold one). */
ACTR_API actr_runtime_t *actr_runtime_ref(actr_runtime_t *rt);

/** actr_runtime_unref: release a reference; the last one stops the I/O thread
 * (after the work already queued to it has run) and joins it.  When the
 * last one is given back on the I/O thread itself (a callback freeing an
 * object that held the runtime), it returns at once and the I/O thread
 * frees the runtime as it ends. */
ACTR_API void actr_runtime_unref(actr_runtime_t *rt);

/** actr_runtime_invoke: run @p fn(@p data) on @p rt's I/O thread soon (at once,
 * inline, when called on it); returns without waiting.  @p fn runs with the
 * rules of the I/O thread (do not block) and may use every socket object
 * of the runtime directly.  Codes: ACTR_EINVALID_ARGUMENT.  Any thread. */
ACTR_API int actr_runtime_invoke(actr_runtime_t *rt, void (*fn)(void *data), void *data);

/** actr_runtime_post: run @p fn(@p data) on @p rt's I/O thread later, from a
 * dispatch of its own -- never inline, even when called on the I/O thread.
 * For a callback that must not run inside the code that calls it (e.g. a
 * handler resuming delivery).  Work posted before the last
 * actr_runtime_unref still runs.  Codes: ACTR_EINVALID_ARGUMENT.  Any
 * thread. */
ACTR_API int actr_runtime_post(actr_runtime_t *rt, void (*fn)(void *data), void *data);

/** actr_runtime_call: run @p fn(@p data) on @p rt's I/O thread and wait for it;
 * returns what @p fn returns (inline when called on the I/O thread), and
 * when that is an error, actr_err_detail() on the calling thread says what
 * it said on the I/O thread.  For set-up and tear-down steps, not for the
 * data path.  Hold your runtime reference during the call.
 * ACTR_EINVALID_ARGUMENT for a NULL argument. */
ACTR_API int actr_runtime_call(actr_runtime_t *rt, int (*fn)(void *data), void *data);

/** actr_runtime_is_io_thread: true when called from the thread that runs
 * @p rt's loop now (its own thread, or a receiver lending itself). */
ACTR_API bool actr_runtime_is_io_thread(const actr_runtime_t *rt);

#ifdef __cplusplus
}
#endif
#endif
