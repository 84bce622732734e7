/* ws_conn_io.h — what the files of a WebSocket connection's I/O side share:
 * ws_conn.c (lifetime, upgrade handshake, start), ws_io.c (socket and TLS
 * streams), ws_tx.c (outbound queue and writes), ws_rx.c (reads, decoding,
 * inbound queues), ws_close.c (close handshake, teardown), ws_keepalive.c
 * (pings, the TCP check).  Every function here runs on the I/O thread unless
 * it says otherwise.  Internal to src/ws/ (the connection object itself is in
 * ws_internal.h). */
#ifndef ACTR_WS_CONN_IO_H
#define ACTR_WS_CONN_IO_H

#include "runtime_internal.h"
#include "ws_internal.h"

/* Every I/O-thread entry point holds a reference for its duration: a
 * teardown inside it releases the I/O side's reference, and a user thread
 * waiting for that may drop the last handle at once. */
static inline void ws_enter(actr_ws_conn_t *c) { actr__ws_conn_ref_internal(c); }
static inline void ws_leave(actr_ws_conn_t *c) { actr__ws_conn_unref_internal(c); }

/* ---- ws_io.c ---- */

/* What actr__ws_conn_io_read / _io_write return besides a byte count. */
enum { IO_WOULD_BLOCK = -1, IO_ERROR = -2 };

/* actr__ws_conn_io_read: read into @v without blocking (TLS: @v[0] only). */
gssize actr__ws_conn_io_read(actr_ws_conn_t *c, GInputVector *v, int nv, GError **err);
/* actr__ws_conn_io_write: write @v without blocking. */
gssize actr__ws_conn_io_write(actr_ws_conn_t *c, GOutputVector *v, int nv, GError **err);
/* actr__ws_conn_io_watch: wait for the socket to be readable (@out false:
 * reads input) or writable (@out true: flushes): a hub watch for a plain
 * socket, a pollable source for TLS (in_w/out_w, in_src/out_src). */
void actr__ws_conn_io_watch(actr_ws_conn_t *c, bool out);
/* actr__ws_conn_out_waiting: waiting for the socket to take more. */
bool actr__ws_conn_out_waiting(const actr_ws_conn_t *c);
/* actr__ws_conn_unwatch_output: stop waiting for it. */
void actr__ws_conn_unwatch_output(actr_ws_conn_t *c);
/* actr__ws_drop_source: destroy and release *@s, if any. */
void actr__ws_drop_source(GSource **s);
/* actr__ws_conn_watch_input / _unwatch_input: (stop) read when readable. */
void actr__ws_conn_watch_input(actr_ws_conn_t *c);
void actr__ws_conn_unwatch_input(actr_ws_conn_t *c);
/* actr__ws_conn_set_tcp_options: TCP_NODELAY, and the retransmission cap
 * the keepalive relies on (rto_capped). */
void actr__ws_conn_set_tcp_options(actr_ws_conn_t *c);

/* ---- ws_tx.c ---- */

/* actr__ws_conn_tx_open: the connection opened: senders may queue, and the
 * kick source wakes the I/O thread for what they queue. */
void actr__ws_conn_tx_open(actr_ws_conn_t *c);
/* actr__ws_conn_flush: write what is queued until done or the socket is
 * full (then wait for POLLOUT); moves the close handshake on once drained. */
void actr__ws_conn_flush(actr_ws_conn_t *c);
/* actr__ws_conn_queue_ping / _queue_pong / _queue_head: queue a ping (none
 * while one is still unwritten: false then), the pong that answers @payload
 * (replacing an unsent one), or an HTTP head; written before the next data
 * frame, on the next flush. */
bool actr__ws_conn_queue_ping(actr_ws_conn_t *c);
void actr__ws_conn_queue_pong(actr_ws_conn_t *c, const uint8_t *payload, size_t len);
void actr__ws_conn_queue_head(actr_ws_conn_t *c, const char *text);
/* actr__ws_conn_drop_unsent_data: drop the data frames not yet begun and
 * refuse new ones (a frame partly written is kept). */
void actr__ws_conn_drop_unsent_data(actr_ws_conn_t *c);
/* actr__ws_frame_list_free: free a list of queued frames. */
void actr__ws_frame_list_free(tx_frame_t *f);

/* ---- ws_rx.c ---- */

/* actr__ws_conn_process_input: read and handle what the socket holds (at
 * most a budget of reads), then wake the receivers of what was queued. */
void actr__ws_conn_process_input(actr_ws_conn_t *c);

/* ---- ws_conn.c ---- */

/* actr__ws_conn_handshake_input: CONNECTING: the upgrade request (server)
 * or response (client) in rbuf[0..rend).  False to stop reading for now. */
bool actr__ws_conn_handshake_input(actr_ws_conn_t *c);

/* ---- ws_close.c ---- */

/* actr__ws_conn_arm_timer: (re)arm the connection's one timer (handshake or
 * close): in @ms the connection is torn down with @code and @why (static). */
void actr__ws_conn_arm_timer(actr_ws_conn_t *c, int ms, int code, const char *why);
/* actr__ws_conn_fail: a protocol failure: close with @code (or tear down
 * when not open yet), logged. */
void actr__ws_conn_fail(actr_ws_conn_t *c, uint16_t code, const char *why);
/* actr__ws_conn_on_close_frame: the peer's close frame; answers it.  False
 * (stop reading). */
bool actr__ws_conn_on_close_frame(actr_ws_conn_t *c, const actr__ws_event_t *ev);

/* ---- ws_keepalive.c ---- */

/* actr__ws_conn_keepalive_start: the connection opened: start the ping timer
 * (every half ping interval; none when the interval is 0). */
void actr__ws_conn_keepalive_start(actr_ws_conn_t *c);

#endif
