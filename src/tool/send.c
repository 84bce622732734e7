/* send.c — `actr-lane send --url URL [--lane ws] [--type NAME] [--size N]
 * [--count K]` (SPEC §5): send K messages of N bytes with a verifiable
 * pattern to a `serve` peer, check every echo (length, pattern, order),
 * print what was measured.  Exit 0 only if every echo matched; bad
 * arguments, an unreachable peer, a refused handshake: one line on stderr
 * and a non-zero exit, within bounded time.
 *
 * A sender thread keeps the pipe full while the main thread checks echoes;
 * the round-trip time of each message is from its send call to its echo. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <actr/error.h>
#include <actr/websocket.h>

#include "tool.h"

/* How long to wait for each echo (--timeout-ms): a fallback only, since a
 * dead peer ends the lane first (WebSocket ping, WebRTC peer_timeout_ms);
 * a big message over a lossy path may need more. */
static int echo_timeout_ms = 30000;

typedef struct send_run {
  actr_lane_t *lane;
  size_t size;
  uint32_t count;
  double *sent_at;
  int rc;
} send_run_t;

static gpointer sender_main(gpointer p) {
  send_run_t *r = p;
  uint8_t *buf = malloc(r->size ? r->size : 1);
  if (!buf) {
    r->rc = ACTR_ENO_MEMORY;
    return NULL;
  }
  for (uint32_t i = 0; i < r->count; i++) {
    tool_fill_pattern(buf, r->size, i);
    r->sent_at[i] = tool_now_us();
    r->rc = actr_lane_send(r->lane, buf, r->size);
    if (r->rc != ACTR_OK)
      break;
  }
  free(buf);
  return NULL;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out) {
  char *end;
  if (!s || !*s || *s == '-')
    return false;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end || v > max)
    return false;
  *out = v;
  return true;
}

/* send_and_check: the common part of every lane kind: K messages of N bytes
 * from a sender thread, each echo checked here.  Prints the report; returns
 * the exit code. */
int tool_send_and_check(actr_lane_t *lane, const char *kind, actr_payload_type_t type,
                        size_t size, uint32_t count) {
  send_run_t r = {.lane = lane, .size = size, .count = count,
                  .sent_at = g_new0(double, count ? count : 1)};
  tool_report_t rep;
  char name[64];
  snprintf(name, sizeof name, "%s/%s", kind, actr_payload_type_name(type));
  tool_report_init(&rep, name);
  double t0 = tool_now_us();
  GThread *th = g_thread_new("actr-send", sender_main, &r);
  uint32_t bad = 0, got = 0;
  int rrc = ACTR_OK;
  /* Progress on stderr once a run lasts: a line redrawn on a terminal every
   * 200 ms, else a plain line a second. */
  bool tty = isatty(STDERR_FILENO), shown = false;
  double next_progress = t0 + 1e6;
  for (uint32_t i = 0; i < count; i++) {
    actr_msg_t *m;
    rrc = actr_lane_recv(r.lane, echo_timeout_ms, &m);
    if (rrc != ACTR_OK)
      break;
    double now = tool_now_us();
    got++;
    if (now >= next_progress) {
      tool_progress("actr-lane send: %s: %u of %u echoes, %.1f MB/s", name, got, count,
                    (double)got * (double)size / (now - t0));
      shown = true;
      next_progress = now + (tty ? 2e5 : 1e6);
    }
    if (actr_msg_len(m) == size && tool_check_pattern(actr_msg_data(m), size, i)) {
      rep.messages++;
      rep.bytes += size;
      tool_report_add_latency(&rep, now - r.sent_at[i]);
    } else {
      if (bad < 5)
        fprintf(stderr, "actr-lane send: echo %u is wrong (%zu bytes, expected %zu)\n", i,
                actr_msg_len(m), size);
      bad++;
    }
    actr_msg_free(m);
  }
  rep.seconds = (tool_now_us() - t0) / 1e6;
  if (shown && tty)
    fprintf(stderr, "\r\033[K"); /* the report follows on stdout */
  if (rrc != ACTR_OK)
    actr_lane_close(r.lane); /* unblock the sender */
  g_thread_join(th);
  rep.errors = bad + (count - got);
  int exit_code = 0;
  if (rrc != ACTR_OK) {
    fprintf(stderr, "actr-lane send: waiting for echo %u of %u: %s: %s\n", got, count,
            actr_err_name(rrc), actr_err_detail());
    exit_code = 1;
  } else if (r.rc != ACTR_OK) {
    fprintf(stderr, "actr-lane send: %s\n", actr_err_name(r.rc));
    exit_code = 1;
  } else if (bad) {
    exit_code = 1;
  }
  tool_report_print_header();
  tool_report_print(&rep);
  printf("%s: %u sent, %u echoes matched, %u wrong, %u missing\n", exit_code ? "FAIL" : "OK",
         count, got - bad, bad, count - got);
  tool_report_free(&rep);
  g_free(r.sent_at);
  return exit_code;
}

static int send_ws(const char *url, actr_payload_type_t type, size_t size, uint32_t count,
                   const actr_ws_config_t *cfg) {
  actr_runtime_t *rt;
  int rc = actr_runtime_new(&rt);
  if (rc != ACTR_OK) {
    fprintf(stderr, "actr-lane send: %s: %s\n", actr_err_name(rc), actr_err_detail());
    return 1;
  }
  actr_ws_conn_t *conn = NULL;
  rc = actr_ws_connect(rt, url, cfg, &conn);
  if (rc != ACTR_OK) {
    fprintf(stderr, "actr-lane send: %s: %s\n", actr_err_name(rc), actr_err_detail());
    actr_runtime_unref(rt);
    return 1;
  }
  actr_lane_t *lane = NULL;
  actr_ws_conn_lane(conn, type, &lane);
  int exit_code = tool_send_and_check(lane, "WebSocket", type, size, count);
  actr_lane_unref(lane);
  actr_ws_conn_unref(conn);
  actr_runtime_unref(rt);
  return exit_code;
}

int tool_send(int argc, char **argv) {
  const char *url = NULL, *lane = "ws", *type_name = "RPC_RELIABLE";
  uint64_t size = 1024, count = 1;
  const char *ice[8];
  size_t nice = 0;
  int peer_timeout_ms = 0;
  actr_ws_config_t cfg;
  actr_ws_config_init(&cfg);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    bool ok = true;
    if (strcmp(a, "--url") == 0 && v)
      url = v, i++;
    else if (strcmp(a, "--lane") == 0 && v)
      lane = v, i++;
    else if (strcmp(a, "--type") == 0 && v)
      type_name = v, i++;
    else if (strcmp(a, "--size") == 0 && v)
      ok = parse_u64(v, (64u << 20) - 5, &size), i++;
    else if (strcmp(a, "--count") == 0 && v)
      ok = parse_u64(v, 100000000, &count), i++;
    else if (strcmp(a, "--ca") == 0 && v)
      cfg.ca_file = v, i++;
    else if (strcmp(a, "--insecure") == 0)
      cfg.tls_insecure = true;
    else if (strcmp(a, "--ice-address") == 0 && v && nice < 8)
      ice[nice++] = v, i++;
    else if (strcmp(a, "--peer-timeout-ms") == 0 && v)
      ok = tool_parse_peer_timeout(v, &peer_timeout_ms, &cfg), i++;
    else if (strcmp(a, "--timeout-ms") == 0 && v) {
      uint64_t t = 0;
      ok = parse_u64(v, 3600000, &t) && t > 0, i++;
      echo_timeout_ms = (int)t;
    }
    else {
      fprintf(stderr, "actr-lane send: unexpected argument '%s' (usage: send --url URL [--lane ws] "
                      "[--type NAME] [--size N] [--count K] [--ca FILE] [--insecure] [--ice-address IP]... [--peer-timeout-ms MS] [--timeout-ms T])\n", a);
      return 2;
    }
    if (!ok) {
      fprintf(stderr, "actr-lane send: bad value for %s: '%s'\n", a, v);
      return 2;
    }
  }
  if (!url) {
    fprintf(stderr, "actr-lane send: --url is required\n");
    return 2;
  }
  actr_payload_type_t type;
  if (actr_payload_type_from_name(type_name, &type) != ACTR_OK) {
    fprintf(stderr, "actr-lane send: unknown --type '%s' (RPC_RELIABLE, RPC_SIGNAL, "
                    "STREAM_RELIABLE, STREAM_LATENCY_FIRST, MEDIA_RTP)\n", type_name);
    return 2;
  }
  if (strcmp(lane, "ws") == 0)
    return send_ws(url, type, (size_t)size, (uint32_t)count, &cfg);
  if (strcmp(lane, "rtc") == 0) {
    if (nice == 0) { /* a loopback peer: keep ICE on loopback too */
      char *host = NULL;
      if (g_uri_split_network(url, G_URI_FLAGS_NONE, NULL, &host, NULL, NULL) &&
          (g_strcmp0(host, "127.0.0.1") == 0 || g_strcmp0(host, "localhost") == 0))
        ice[nice++] = "127.0.0.1";
      g_free(host);
    }
    if (type == ACTR_PAYLOAD_MEDIA_RTP) {
      fprintf(stderr, "actr-lane send: MEDIA_RTP is not carried by a DataChannel lane\n");
      return 2;
    }
    return tool_send_rtc(url, type, (size_t)size, (uint32_t)count, &cfg, ice, nice,
                         peer_timeout_ms);
  }
  fprintf(stderr, "actr-lane send: unknown --lane '%s' (ws or rtc)\n", lane);
  return 2;
}
