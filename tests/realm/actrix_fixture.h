/* actrix_fixture.h — what the realm tests share: our test actrix
 * (tests/realm/test_actrix.py, AIS + signaling on 127.0.0.1) started as a
 * child process, its URLs read from its first line, and stopped. */
#ifndef ACTR_ACTRIX_FIXTURE_H
#define ACTR_ACTRIX_FIXTURE_H

#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct actrix {
  GPid pid;
  char ais[128], signaling[160];
} actrix_t;

/* die_with_parent: the child is killed when the test process ends, even
 * by an assertion (before, it kept the pipe meson reads open, and a failed
 * test hung until meson's timeout). */
static inline void die_with_parent(gpointer unused) {
  (void)unused;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* spawn_first_line: start @argv (NULL-terminated) with its stdout on a pipe
 * and read its first line into @line (20 s at most); its pid. */
static inline GPid spawn_first_line(const char *const *argv, char *line, size_t size) {
  GPid pid;
  int out_fd;
  GError *err = NULL;
  if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                die_with_parent, NULL, &pid, NULL, &out_fd, NULL, &err))
    g_error("%s: %s", argv[1], err->message);
  GIOChannel *ch = g_io_channel_unix_new(out_fd);
  g_io_channel_set_close_on_unref(ch, TRUE);
  char *got = NULL;
  for (int i = 0; i < 200 && !got; i++) { /* 20 s */
    GPollFD pfd = {out_fd, G_IO_IN, 0};
    if (g_poll(&pfd, 1, 100) > 0 &&
        g_io_channel_read_line(ch, &got, NULL, NULL, NULL) != G_IO_STATUS_NORMAL)
      break;
  }
  if (!got)
    g_error("%s said nothing", argv[1]);
  snprintf(line, size, "%s", got);
  g_free(got);
  g_io_channel_unref(ch);
  return pid;
}

/* actrix_start: @extra (NULL-terminated, may be NULL) appended to its
 * command line ("--dialect", "0.3", ...). */
static inline void actrix_start(actrix_t *a, const char *const *extra) {
  const char *argv[24] = {"/usr/bin/python3", ACTR_TEST_ACTRIX};
  size_t n = 2;
  for (size_t i = 0; extra && extra[i] && n < 23; i++)
    argv[n++] = extra[i];
  argv[n] = NULL;
  char line[400];
  a->pid = spawn_first_line(argv, line, sizeof line);
  if (sscanf(line, "listening ais=%127s signaling=%159s", a->ais, a->signaling) != 2)
    g_error("test actrix said '%s'", line);
}

static inline void actrix_stop(actrix_t *a) {
  kill(a->pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100; i++) { /* 10 s, then SIGKILL */
    if (waitpid(a->pid, &status, WNOHANG) == a->pid) {
      g_spawn_close_pid(a->pid);
      g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      return;
    }
    g_usleep(100000);
  }
  kill(a->pid, SIGKILL);
  waitpid(a->pid, &status, 0);
  g_error("test actrix did not stop on SIGTERM");
}

#endif
