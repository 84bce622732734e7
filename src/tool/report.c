/* report.c — counters, latency percentiles and the readable report lines of
 * actr-lane; the verifiable payload pattern. */
#include "tool.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double tool_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

void tool_report_init(tool_report_t *r, const char *lane) {
  memset(r, 0, sizeof *r);
  snprintf(r->lane, sizeof r->lane, "%s", lane);
}

void tool_report_add_latency(tool_report_t *r, double us) {
  if (r->lat_count == r->lat_cap) {
    size_t cap = r->lat_cap ? r->lat_cap * 2 : 1024;
    double *n = realloc(r->lat_us, cap * sizeof *n);
    if (!n)
      return; /* a report without every sample is still a report */
    r->lat_us = n;
    r->lat_cap = cap;
  }
  r->lat_us[r->lat_count++] = us;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, size_t n, double p) {
  if (!n)
    return 0;
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return sorted[i < n ? i : n - 1];
}

void tool_report_print_header(void) {
  printf("%-40s %9s %12s %12s %10s %10s %10s %7s\n", "lane", "messages", "bytes", "MB/s",
         "p50 us", "p99 us", "max us", "errors");
}

void tool_report_print(tool_report_t *r) {
  qsort(r->lat_us, r->lat_count, sizeof(double), cmp_double);
  double mbps = r->seconds > 0 ? (double)r->bytes / r->seconds / 1e6 : 0;
  printf("%-40s %9llu %12llu %12.1f %10.1f %10.1f %10.1f %7llu\n", r->lane,
         (unsigned long long)r->messages, (unsigned long long)r->bytes, mbps,
         percentile(r->lat_us, r->lat_count, 0.50), percentile(r->lat_us, r->lat_count, 0.99),
         r->lat_count ? r->lat_us[r->lat_count - 1] : 0.0, (unsigned long long)r->errors);
  fflush(stdout);
}

void tool_report_free(tool_report_t *r) {
  free(r->lat_us);
  r->lat_us = NULL;
}

/* xorshift over (seed, word index): cheap, position-dependent; byte i is
 * byte i % 4 (little-endian) of word i / 4.  A word at a time: a 1 MiB
 * message is filled or checked in well under a millisecond. */
static inline uint32_t pattern_word(uint32_t seed, size_t w) {
  uint32_t x = seed * 2654435761u ^ (uint32_t)w * 40503u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

void tool_fill_pattern(uint8_t *buf, size_t len, uint32_t seed) {
  for (size_t w = 0; w * 4 < len; w++) {
    uint32_t x = pattern_word(seed, w);
    for (size_t b = 0; b < 4 && w * 4 + b < len; b++)
      buf[w * 4 + b] = (uint8_t)(x >> (b * 8));
  }
}

bool tool_check_pattern(const uint8_t *buf, size_t len, uint32_t seed) {
  uint32_t bad = 0;
  size_t w = 0;
  for (; w * 4 + 4 <= len; w++) {
    uint32_t x = pattern_word(seed, w);
    bad |= (uint32_t)buf[w * 4] ^ (x & 0xff);
    bad |= (uint32_t)buf[w * 4 + 1] ^ (x >> 8 & 0xff);
    bad |= (uint32_t)buf[w * 4 + 2] ^ (x >> 16 & 0xff);
    bad |= (uint32_t)buf[w * 4 + 3] ^ (x >> 24);
  }
  for (size_t b = 0; w * 4 + b < len; b++)
    bad |= (uint32_t)buf[w * 4 + b] ^ (pattern_word(seed, w) >> (b * 8) & 0xff);
  return bad == 0;
}

void tool_progress(const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (isatty(STDERR_FILENO))
    fprintf(stderr, "\r\033[K%s", line);
  else
    fprintf(stderr, "%s\n", line);
}
