#!/bin/sh
# netns-run.sh CMD [ARGS...] — run CMD in a fresh network namespace that holds
# only the loopback interface (up), so ICE sees 127.0.0.1 and nothing else,
# and in a fresh PID namespace (CMD runs under a shell that is its PID 1):
# when CMD exits,
# the kernel kills everything it started (coturn, chromium, python), even
# after a crash.  /proc is mounted anew for the PID namespace (--mount-proc) so
# that tools reading /proc/PID (LeakSanitizer) see the right processes.
# Needs root (or user namespaces).
exec unshare --net --pid --fork --kill-child --mount-proc \
  sh -c 'ip link set lo up && "$@"' netns-run "$@"
