/* actr-lane.c — the command-line tool (SPEC §5): demo, serve, send, bench.
 * Bad arguments give a one-line error on stderr and exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <actr/error.h>

#include "tool.h"

/* libactr prints nothing by itself; the tool shows its warnings on stderr
 * (dropped fragments, refused messages, signaling errors).  ACTR_LOG=debug
 * or info shows more, ACTR_LOG=off nothing. */
static void log_to_stderr(actr_log_level_t level, const char *msg, void *user) {
  static const char *names[] = {"error", "warning", "info", "debug"};
  fprintf(stderr, "actr-lane: %s: %s\n", names[level], msg);
  (void)user;
}

static void setup_logging(void) {
  const char *env = getenv("ACTR_LOG");
  if (env && strcmp(env, "off") == 0)
    return;
  actr_log_level_t max = ACTR_LOG_WARN;
  if (env && strcmp(env, "info") == 0)
    max = ACTR_LOG_INFO;
  else if (env && strcmp(env, "debug") == 0)
    max = ACTR_LOG_DEBUG;
  actr_log_set_handler(log_to_stderr, max, NULL);
}

/* The long-running commands (serve, node) move messages of up to 64 MiB
 * through a thread per connection or channel.  glibc raises its mmap
 * threshold to the size of the largest mmapped block freed (up to 32 MiB),
 * so after the first multi-MiB message such buffers come from the malloc
 * arenas, and it gives threads up to 8 arenas per core; each arena keeps
 * the pages freed below its top.  Under `make soak` serve's RSS climbed to
 * 150-200 MiB with under 1 MiB of heap in use (malloc_trim(0) gave it all
 * back).  A fixed threshold keeps blocks of 256 KiB and more mmapped, given
 * back to the system when freed (it also fixes the trim threshold), and 4
 * arenas bound what the others would keep. */
static void bound_malloc_retention(void) {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_ARENA_MAX, 4);
#endif
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: actr-lane [demo]                 run every lane locally and report\n"
          "       actr-lane serve --listen HOST:PORT [--cert FILE --key FILE] [--ice-address IP]...\n"
          "                      [--peer-timeout-ms MS] [--connect-timeout-ms MS]\n"
          "                      [--max-connections N] [--max-handshakes N]\n"
          "                                          echo peer (WebSocket lanes; /signal)\n"
          "       actr-lane send --url URL [--lane ws|rtc] [--type NAME] [--size N] [--count K]\n"
          "                      [--ca FILE] [--insecure] [--ice-address IP]...\n"
          "                      [--peer-timeout-ms MS] [--timeout-ms T]\n"
          "                                          send to a serve peer, check every echo\n"
          "       actr-lane node --ais URL --signaling URL --realm N --type MFR:NAME:VERSION --echo\n"
          "                      [--actr-version 0.3|0.5] [--realm-secret S] [--ice-address IP]...\n"
          "                      [--turn turn:HOST:PORT] [--ws-listen HOST]\n"
          "                                          an actr node answering every request\n"
          "       actr-lane call --ais URL --signaling URL --realm N --type MFR:NAME:VERSION\n"
          "                      --target MFR:NAME:VERSION --route KEY --size BYTES --count N\n"
          "                      [--timeout-ms T] [--interval-ms M] [--actr-version 0.3|0.5]\n"
          "                                          call an actor N times, check every reply\n"
          "       actr-lane help\n"
          "Environment: ACTR_LOG=off|info|debug (default: warnings on stderr).\n");
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "demo";
  setup_logging();
  if (strcmp(cmd, "demo") == 0)
    return tool_demo(argc > 1 ? argc - 1 : 0, argv + 1);
  if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "node") == 0)
    bound_malloc_retention();
  if (strcmp(cmd, "serve") == 0)
    return tool_serve(argc - 1, argv + 1);
  if (strcmp(cmd, "send") == 0)
    return tool_send(argc - 1, argv + 1);
  if (strcmp(cmd, "node") == 0)
    return tool_node(argc - 2, argv + 2);
  if (strcmp(cmd, "call") == 0)
    return tool_call(argc - 2, argv + 2);
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "actr-lane: unknown command '%s' (try 'actr-lane help')\n", cmd);
  return 2;
}
