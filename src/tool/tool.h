/* tool.h — the pieces of actr-lane shared by its commands. */
#ifndef ACTR_TOOL_H
#define ACTR_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
