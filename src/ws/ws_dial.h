/* ws_dial.h — actr_ws_connect without waiting, for libactr's own layers
 * (the realm node dials peers' direct WebSocket listeners from its control
 * thread, which must not sit in a connect a peer can slow). */
#ifndef ACTR_WS_DIAL_H
#define ACTR_WS_DIAL_H

#include <actr/websocket.h>

/* The outcome of a dial, once, on the runtime's I/O thread: ACTR_OK when
 * the upgrade handshake succeeded (the connection is open), else the code
 * actr_ws_connect would return and @detail (transfer none) saying why.  It
 * must hand the outcome over and return: no call into @conn but
 * actr_ws_conn_ref (a handle to go with the outcome). */
typedef void (*actr__ws_dial_fn)(actr_ws_conn_t *conn, int code, const char *detail, void *user);

/* actr__ws_dial: actr_ws_connect's dial, without waiting: *@out (transfer
 * full) is the connection being made, and @done tells how it went (it may
 * have run already when this returns).  Errors found before dialing (URL,
 * configuration: the codes of actr_ws_connect) come back here and @done
 * never runs.  Not on the I/O thread. */
int actr__ws_dial(actr_runtime_t *rt, const char *url, const actr_ws_config_t *cfg,
                  actr__ws_dial_fn done, void *user, actr_ws_conn_t **out);

/* actr__ws_dial_forget: @conn's done never runs after this returns (one
 * running now is waited for).  Not from the done callback.  Then close or
 * unref @conn as any connection. */
void actr__ws_dial_forget(actr_ws_conn_t *conn);

#endif
