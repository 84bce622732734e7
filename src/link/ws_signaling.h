/* ws_signaling.h — a signaling endpoint over a WebSocket connection in raw
 * mode: the JSON text messages of SPEC §5 (`/signal`).  Internal: used by
 * actr-lane serve (server side) and send --lane rtc (client side). */
#ifndef ACTR_WS_SIGNALING_H
#define ACTR_WS_SIGNALING_H

#include <stdbool.h>
#include <actr/signaling.h>
#include <actr/websocket.h>

typedef struct actr__ws_sig actr__ws_sig_t;

/* actr__ws_sig_new: an endpoint not yet attached to a connection.
 * @strict_peer: a message that does not fit the protocol is answered with an
 * "error" message and the connection is closed (the server's rule); else it
 * is dropped and logged.  *@sig is (transfer full, actr_signaling_free); the
 * endpoint owns @impl. */
int actr__ws_sig_new(bool strict_peer, actr_signaling_t **sig, actr__ws_sig_t **impl);

/* actr__ws_sig_attach: send through @conn from now on (a reference is taken). */
void actr__ws_sig_attach(actr__ws_sig_t *impl, actr_ws_conn_t *conn);

/* actr__ws_sig_feed: one message arrived on the connection (I/O thread). */
void actr__ws_sig_feed(actr__ws_sig_t *impl, bool text, const uint8_t *data, size_t len);

#endif
