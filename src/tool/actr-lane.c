/* actr-lane.c — the command-line tool (SPEC §5): demo, serve, send, bench.
 * Bad arguments give a one-line error on stderr and exit 2. */
#include <stdio.h>
#include <string.h>

#include "tool.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: actr-lane [demo]                 run every lane locally and report\n"
          "       actr-lane serve --listen HOST:PORT [--cert FILE --key FILE]\n"
          "                                          echo peer (WebSocket lanes; /signal)\n"
          "       actr-lane send --url URL [--lane ws] [--type NAME] [--size N] [--count K]\n"
          "                      [--ca FILE] [--insecure]\n"
          "                                          send to a serve peer, check every echo\n"
          "       actr-lane help\n");
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "demo";
  if (strcmp(cmd, "demo") == 0)
    return tool_demo(argc > 1 ? argc - 1 : 0, argv + 1);
  if (strcmp(cmd, "serve") == 0)
    return tool_serve(argc - 1, argv + 1);
  if (strcmp(cmd, "send") == 0)
    return tool_send(argc - 1, argv + 1);
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "actr-lane: unknown command '%s' (try 'actr-lane help')\n", cmd);
  return 2;
}
