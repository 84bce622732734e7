/* bench_io.h — whole reads and writes on a blocking fd, and the frames in
 * which a benchmark and the child it forked pass signaling over a socket
 * pair: a type byte, a 32-bit index (which peer connection), a 32-bit
 * length and the text (at most BENCH_FRAME_MAX bytes). */
#ifndef ACTR_BENCH_IO_H
#define ACTR_BENCH_IO_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_FRAME_MAX (1u << 20)

/* bench_write_all: all @n bytes, or false (the error in errno). */
static inline bool bench_write_all(int fd, const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return false;
    p += k;
    n -= (size_t)k;
  }
  return true;
}

/* bench_read_all: all @n bytes, or false at the end of the stream or an
 * error. */
static inline bool bench_read_all(int fd, void *buf, size_t n) {
  uint8_t *p = buf;
  while (n > 0) {
    ssize_t k = read(fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return false;
    p += k;
    n -= (size_t)k;
  }
  return true;
}

/* bench_frame_send: one frame; callers on several threads hold one lock
 * around it.  False when the fd fails. */
static inline bool bench_frame_send(int fd, char type, uint32_t idx, const char *text) {
  uint32_t len = (uint32_t)strlen(text);
  uint8_t head[9];
  head[0] = (uint8_t)type;
  memcpy(head + 1, &idx, 4);
  memcpy(head + 5, &len, 4);
  return bench_write_all(fd, head, sizeof head) && bench_write_all(fd, text, len);
}

/* bench_frame_recv: the next frame's text (malloc'd, NUL-terminated), its
 * type and index; NULL at the end of the stream, on an error, or for a
 * length over BENCH_FRAME_MAX. */
static inline char *bench_frame_recv(int fd, char *type, uint32_t *idx) {
  uint8_t head[9];
  uint32_t len;
  if (!bench_read_all(fd, head, sizeof head))
    return NULL;
  memcpy(idx, head + 1, 4);
  memcpy(&len, head + 5, 4);
  if (len > BENCH_FRAME_MAX)
    return NULL;
  char *text = malloc((size_t)len + 1);
  if (!text || !bench_read_all(fd, text, len)) {
    free(text);
    return NULL;
  }
  text[len] = 0;
  *type = (char)head[0];
  return text;
}

/* bench_reap: wait up to @timeout_ms for the child @pid to exit, then
 * kill it (SIGKILL) and wait for that. */
static inline void bench_reap(pid_t pid, int timeout_ms) {
  int st;
  const struct timespec tick = {0, 10 * 1000 * 1000};
  for (int waited = 0; waitpid(pid, &st, WNOHANG) == 0; waited += 10) {
    if (waited >= timeout_ms) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return;
    }
    nanosleep(&tick, NULL);
  }
}

#endif
