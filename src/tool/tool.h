/* tool.h — the pieces of actr-lane shared by its commands. */
#ifndef ACTR_TOOL_H
#define ACTR_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actr/lane.h>
#include <actr/runtime.h>
#include <actr/websocket.h>

/* A fixed-size latency sample set and the counters of one lane's run. */
typedef struct tool_report {
  char lane[64];      /* e.g. "Mpsc/RPC_RELIABLE" */
  uint64_t messages;  /* checked messages */
  uint64_t bytes;     /* payload bytes checked */
  uint64_t errors;    /* failed checks or calls */
  double seconds;     /* wall time of the run */
  double *lat_us;     /* one round trip or one-way latency per message */
  size_t lat_count, lat_cap;
} tool_report_t;

void tool_report_init(tool_report_t *r, const char *lane);
void tool_report_add_latency(tool_report_t *r, double us);
void tool_report_print_header(void);
void tool_report_print(tool_report_t *r);
void tool_report_free(tool_report_t *r);

/* tool_now_us: monotonic microseconds. */
double tool_now_us(void);

/* tool_fill_pattern / tool_check_pattern: a verifiable byte pattern derived
 * from (@seed, offset), so that a wrong, shifted or mixed-up message fails. */
void tool_fill_pattern(uint8_t *buf, size_t len, uint32_t seed);
bool tool_check_pattern(const uint8_t *buf, size_t len, uint32_t seed);

/* tool_progress: one line of progress on stderr (overwritten in place on a tty). */
void tool_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int tool_demo(int argc, char **argv);
int tool_serve(int argc, char **argv); /* serve.c */
int tool_send(int argc, char **argv);  /* send.c */
int tool_node(int argc, char **argv);  /* node.c: options after "node" */
int tool_call(int argc, char **argv);  /* node.c: options after "call" */

/* send.c: K messages of N bytes on @lane from a sender thread, each echo
 * checked; prints the report, returns the exit code. */
int tool_send_and_check(actr_lane_t *lane, const char *kind, actr_payload_type_t type,
                        size_t size, uint32_t count);

/* echo.c: echo every message of @lane back on it, from the lane's I/O
 * thread (handler, pause, writable handler; SPEC §5).  tool_echo_stop: on
 * any thread, the I/O thread included; frees @e. */
typedef struct tool_echo tool_echo_t;
int tool_echo_start(actr_lane_t *lane, tool_echo_t **out);
void tool_echo_stop(tool_echo_t *e);

/* rtc_tool.c: the WebRTC side of serve and send.
 * tool_rtc_serve_start: serve /signal on @srv: answer offers, echo every
 * DataChannel lane message (SPEC §5).  @ice: local addresses for ICE (NULL:
 * every interface).  @connect_timeout_ms: a session not connected by then
 * ends (0: the library's default).  tool_rtc_serve_stop: close every session, wait for
 * them. */
typedef struct tool_rtc_server tool_rtc_server_t;
int tool_rtc_serve_start(actr_runtime_t *rt, actr_ws_server_t *srv, const char *const *ice,
                         size_t nice, int peer_timeout_ms, int connect_timeout_ms,
                         tool_rtc_server_t **out);
void tool_rtc_serve_stop(tool_rtc_server_t *s);
/* tool_send_rtc: `send --lane rtc`: signaling on URL's /signal, offer, one
 * lane of @type, K messages of N bytes checked. */
int tool_send_rtc(const char *url, actr_payload_type_t type, size_t size, uint32_t count,
                  const actr_ws_config_t *cfg, const char *const *ice, size_t nice,
                  int peer_timeout_ms);
/* tool_parse_peer_timeout: --peer-timeout-ms MS (1000 .. 3600000): the
 * WebRTC peer_timeout_ms, and half of it as the WebSocket ping interval
 * (a silent peer is then gone after at most MS on either lane kind). */
bool tool_parse_peer_timeout(const char *s, int *ms, actr_ws_config_t *ws);
#endif
