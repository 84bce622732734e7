/** @file
 * actr/error.h — error codes, their names, messages and retry classes.
 *
 * Every libactr call returns an int: ACTR_OK (0) or one of the negative codes
 * below.  The codes cover the kinds of the reference implementation's
 * NetworkError plus the finer ones later actr versions use.  The text of the
 * last failure on the calling thread (with the details: sizes, indices, peer
 * reasons) is kept in thread-local storage and returned by actr_err_detail().
 */
#ifndef ACTR_ERROR_H
#define ACTR_ERROR_H

#include <actr/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ACTR_ERRNO_MAP: the one list of codes.  XX(NAME, value, class, message). */
#define ACTR_ERRNO_MAP(XX)                                                         \
  XX(CONNECTION,          -1, TRANSIENT, "connection error")                       \
  XX(SIGNALING,           -2, TRANSIENT, "signaling error")                        \
  XX(WEBRTC,              -3, TRANSIENT, "WebRTC error")                           \
  XX(PROTOCOL,            -4, CORRUPT,   "protocol error")                         \
  XX(SERIALIZATION,       -5, INTERNAL,  "serialization error")                    \
  XX(DESERIALIZATION,     -6, CORRUPT,   "deserialization error")                  \
  XX(TIMEOUT,             -7, TRANSIENT, "timed out")                              \
  XX(DATA_CHANNEL_CLOSED, -8, TRANSIENT, "data channel closed")                    \
  XX(DATA_CHANNEL_NOT_OPEN,-9, TRANSIENT, "data channel not open")                 \
  XX(DATA_CHANNEL,        -10, TRANSIENT, "data channel error")                    \
  XX(ICE,                 -11, TRANSIENT, "ICE error")                             \
  XX(DTLS,                -12, TRANSIENT, "DTLS error")                            \
  XX(WEBSOCKET_CLOSED,    -13, TRANSIENT, "WebSocket closed")                      \
  XX(WEBSOCKET,           -14, TRANSIENT, "WebSocket error")                       \
  XX(CHANNEL_CLOSED,      -15, TRANSIENT, "channel closed")                        \
  XX(CONNECTION_CLOSED,   -16, TRANSIENT, "connection closed")                     \
  XX(SEND,                -17, TRANSIENT, "send failed")                           \
  XX(INVALID_OPERATION,   -18, CLIENT,    "invalid operation")                     \
  XX(INVALID_ARGUMENT,    -19, CLIENT,    "invalid argument")                      \
  XX(NOT_IMPLEMENTED,     -20, CLIENT,    "not implemented")                       \
  XX(RESOURCE_EXHAUSTED,  -21, TRANSIENT, "resource exhausted")                    \
  XX(IO,                  -22, TRANSIENT, "I/O error")                             \
  XX(NO_MEMORY,           -23, INTERNAL,  "out of memory")                         \
  XX(WOULD_BLOCK,         -24, TRANSIENT, "operation would block")                 \
  XX(MESSAGE_TOO_LARGE,   -25, CLIENT,    "message too large")                     \
  XX(CONFIGURATION,       -26, CLIENT,    "configuration error")                   \
  XX(AUTHENTICATION,      -27, CLIENT,    "authentication failed")                 \
  XX(PERMISSION_DENIED,   -28, CLIENT,    "permission denied")                     \
  XX(NO_ROUTE,            -29, CLIENT,    "no route")                              \
  XX(NAT_TRAVERSAL,       -30, TRANSIENT, "NAT traversal failed")                  \
  XX(URL_PARSE,           -31, CLIENT,    "malformed URL")                         \
  XX(INTERNAL,            -32, INTERNAL,  "internal error")

/** actr_err_t: ACTR_OK or a negative ACTR_E* code. */
typedef enum actr_err {
  ACTR_OK = 0, /**< success */
#define ACTR__ERR_ENUM(name, val, cls, msg) ACTR_E##name = (val),
  ACTR_ERRNO_MAP(ACTR__ERR_ENUM)
#undef ACTR__ERR_ENUM
} actr_err_t;

/** actr_err_class_t: how a caller should react to a failure (actr ErrorKind). */
typedef enum actr_err_class {
  ACTR_ERR_CLASS_NONE = 0,  /**< not an error (ACTR_OK) */
  ACTR_ERR_CLASS_TRANSIENT, /**< retrying later may succeed */
  ACTR_ERR_CLASS_CLIENT,    /**< the caller's request is wrong; do not retry */
  ACTR_ERR_CLASS_CORRUPT,   /**< the data received is damaged; drop it */
  ACTR_ERR_CLASS_INTERNAL   /**< a bug or resource failure inside libactr */
} actr_err_class_t;

/** actr_err_message: a short English message for @p err (transfer none, static).
 * Unknown values give "unknown error".  Any thread. */
ACTR_API const char *actr_err_message(int err);

/** actr_err_name: the code's name without prefix, e.g. "DATA_CHANNEL_CLOSED"
 * (transfer none, static).  Unknown values give "UNKNOWN".  Any thread. */
ACTR_API const char *actr_err_name(int err);

/** actr_err_class: the retry class of @p err.  Any thread. */
ACTR_API actr_err_class_t actr_err_class(int err);

/** actr_err_class_name: "transient", "client", "corrupt", "internal" or "none". */
ACTR_API const char *actr_err_class_name(actr_err_class_t cls);

/** actr_err_detail: the detailed message of the last failing libactr call on
 * the calling thread, e.g. "fragment too short: 5 bytes (minimum 8)"
 * (transfer none; valid until the next failing call on this thread).  Returns
 * "" if no call on this thread has failed yet. */
ACTR_API const char *actr_err_detail(void);

/** actr_log_level_t: severity passed to the log handler. */
typedef enum actr_log_level {
  ACTR_LOG_ERROR = 0, /**< a failure libactr could not handle */
  ACTR_LOG_WARN,      /**< something went wrong and was handled (a peer dropped, data refused) */
  ACTR_LOG_INFO,      /**< a notable event */
  ACTR_LOG_DEBUG      /**< details for debugging */
} actr_log_level_t;

/** actr_log_fn: receives every log line libactr produces.  May be called from
 * any libactr thread (the I/O thread included); must not call back into a
 * blocking libactr function.  @p msg holds no control bytes (a peer's text
 * in it has them as '?').  A line a peer can cause once per message (a
 * dropped frame, a refused fragment) comes at most 10 times per 10 s from
 * each place in libactr; the next one after says how many were not logged
 * (the lanes' stats count every one). */
typedef void (*actr_log_fn)(actr_log_level_t level, const char *msg, void *user);

/** actr_log_set_handler: route libactr's log lines to @p fn (NULL: discard, the
 * default — libactr prints nothing on its own).  Lines above @p max_level are
 * not formatted at all.  Any thread, any time: the handler and its @p user
 * change together for every later line; a line being written on another
 * thread meanwhile may still go to the previous handler. */
ACTR_API void actr_log_set_handler(actr_log_fn fn, actr_log_level_t max_level, void *user);

#ifdef __cplusplus
}
#endif
#endif
