/** @file
 * actr/signaling_ws.h — a signaling endpoint (actr/signaling.h) over a
 * message-mode WebSocket connection (actr/websocket.h): each signaling
 * message travels as one JSON text message (SPEC §5, the /signal path of
 * actr-lane serve).  Give the endpoint to actr_webrtc_link_new (or a peer
 * connection of your own) and feed it what the connection receives.
 *
 * Server side: a message path (actr_ws_server_add_message_path) whose
 * on_open makes an endpoint with @p strict_peer, attaches the connection and
 * starts a link; its on_message calls actr_signaling_ws_feed.  Client side:
 * the same over actr_ws_connect_messages.  actr-lane's serve and send --lane
 * rtc (src/tool/rtc_tool.c) are complete examples. */
#ifndef ACTR_SIGNALING_WS_H
#define ACTR_SIGNALING_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <actr/export.h>
#include <actr/signaling.h>
#include <actr/websocket.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_signaling_ws_t: a signaling endpoint over a message-mode WebSocket
 * connection (one owner: actr_signaling_ws_free). */
typedef struct actr_ws_signaling actr_signaling_ws_t;

/** actr_signaling_ws_new: an endpoint not yet attached to a connection
 * (sends fail with ACTR_ESIGNALING until actr_signaling_ws_attach).
 * @p strict_peer: a message that does not fit SPEC §5 is answered with an
 * "error" message and the connection is closed with 1008 (the server's
 * rule); otherwise it is dropped and logged.  *@p sig is (transfer full:
 * actr_signaling_free, which also releases the connection); @p ws belongs to
 * *@p sig and is valid as long as it.  Codes: ACTR_ENO_MEMORY. */
ACTR_API int actr_signaling_ws_new(bool strict_peer, actr_signaling_t **sig,
                                   actr_signaling_ws_t **ws);

/** actr_signaling_ws_attach: send through @p conn from now on (a handle is
 * taken, released by actr_signaling_free).  Any thread. */
ACTR_API void actr_signaling_ws_attach(actr_signaling_ws_t *ws, actr_ws_conn_t *conn);

/** actr_signaling_ws_feed: one message arrived on the connection: parse it
 * and deliver it to the endpoint's receiver (a strict endpoint answers a bad
 * one, above).  Called from the connection's on_message (the I/O thread). */
ACTR_API void actr_signaling_ws_feed(actr_signaling_ws_t *ws, bool text, const uint8_t *data,
                                     size_t len);

#ifdef __cplusplus
}
#endif
#endif
