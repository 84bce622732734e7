/* bench_fragment.c — DataChannel fragment + reassemble throughput for
 * 1 KiB, 64 KiB, 1 MiB and 16 MiB messages, beside a plain memcpy of the
 * same bytes measured in the same process.
 *
 * Not a DataChannel benchmark: no SCTP, no lane, no threads.  It measures
 * the cost libactr adds per message on top of the transport: the one copy
 * per fragment on send (into frames allocated as actr_msg_t with the
 * payload at the source chunk's address mod 64, as the lane does), and the
 * one copy per fragment into the reassembled message on receive (none for
 * a single-fragment message).
 *
 * Each frame is pushed into the reassembly buffer as soon as it is built,
 * as a sender and receiver stream them (headline figure, frag.*).  The
 * table also shows a split-everything-then-push-everything variant; it
 * holds every frame at once, so at 16 MiB glibc trims the heap and faults
 * it back in on every round, which is mostly what that column shows.
 *
 *   bench_fragment            every size, each in a fresh process
 *   bench_fragment 1048576    one size in this process
 *
 * Each size runs in its own process because glibc's malloc adapts its
 * mmap and trim thresholds to the sizes it has seen: after a 16 MiB
 * message, a later size would be timed with a different allocator. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <actr/error.h>
#include <actr/lane.h>
#include <actr/msg.h>

#include "bench_common.h"
#include "fragment.h"

#define WARMUP_S 0.2
#define SLICE_S 0.2 /* frag and memcpy alternate in slices: 5 each, ~1 s */
#define SLICES BENCH_GOAL_ROUNDS

static const size_t default_sizes[] = {1024, 64 * 1024, 1024 * 1024, 16 * 1024 * 1024};

static void size_name(size_t size, char *out, size_t cap) {
  if (size >= 1024 * 1024 && size % (1024 * 1024) == 0)
    snprintf(out, cap, "%zum", size / (1024 * 1024));
  else if (size >= 1024 && size % 1024 == 0)
    snprintf(out, cap, "%zuk", size / 1024);
  else
    snprintf(out, cap, "%zu", size);
}

typedef struct {
  const uint8_t *src;
  size_t size;
  uint8_t *dst; /* memcpy baseline destination */
  actr__reassembly_t *r;
  uint32_t msg_id;
  actr_msg_t **frames; /* split-all variant */
} ctx_t;

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_fragment: %s: %s (%s)\n", what, actr_err_name(rc), actr_err_detail());
  exit(1);
}

/* frag_stream: split one message and push each frame as it is built. */
static actr_msg_t *frag_stream(ctx_t *c) {
  actr__frag_splitter_t s;
  int rc = actr__frag_splitter_init(&s, c->src, c->size, c->msg_id++);
  if (rc != ACTR_OK)
    die("split", rc);
  actr_msg_t *out = NULL;
  for (uint16_t i = 0; i < s.total_frags; i++) {
    actr_msg_t *frame = actr__frag_frame_new(&s, i);
    if (!frame)
      die("frame", ACTR_ENO_MEMORY);
    rc = actr__reassembly_push(c->r, frame, 0, &out);
    if (rc != ACTR_OK)
      die("push", rc);
  }
  return out;
}

/* frag_batch: build every frame first, then push them all. */
static actr_msg_t *frag_batch(ctx_t *c) {
  actr__frag_splitter_t s;
  int rc = actr__frag_splitter_init(&s, c->src, c->size, c->msg_id++);
  if (rc != ACTR_OK)
    die("split", rc);
  for (uint16_t i = 0; i < s.total_frags; i++)
    if (!(c->frames[i] = actr__frag_frame_new(&s, i)))
      die("frame", ACTR_ENO_MEMORY);
  actr_msg_t *out = NULL;
  for (uint16_t i = 0; i < s.total_frags; i++)
    if ((rc = actr__reassembly_push(c->r, c->frames[i], 0, &out)) != ACTR_OK)
      die("push", rc);
  return out;
}

typedef enum { RUN_STREAM, RUN_BATCH, RUN_MEMCPY } run_t;

static void run_once(ctx_t *c, run_t what) {
  switch (what) {
  case RUN_STREAM:
    actr_msg_free(frag_stream(c));
    break;
  case RUN_BATCH:
    actr_msg_free(frag_batch(c));
    break;
  case RUN_MEMCPY:
    memcpy(c->dst, c->src, c->size);
    /* Keep the copy observable so it is not optimised away. */
    __asm__ volatile("" : : "r"(c->dst) : "memory");
    break;
  }
}

/* run_for: repeat @what for about @seconds; returns bytes per second. */
static double run_for(ctx_t *c, run_t what, double seconds) {
  uint64_t n = 0, batch = 1;
  double t0 = bench_now(), t;
  for (;;) {
    for (uint64_t i = 0; i < batch; i++)
      run_once(c, what);
    n += batch;
    t = bench_now() - t0;
    if (t >= seconds)
      break;
    if (t < seconds / 20)
      batch *= 2; /* check the clock rarely for small messages */
  }
  return (double)n * (double)c->size / t;
}

static void verify(ctx_t *c, actr_msg_t *m) {
  if (!m || actr_msg_len(m) != c->size || memcmp(actr_msg_data(m), c->src, c->size) != 0) {
    fprintf(stderr, "bench_fragment: reassembled message differs from the source\n");
    exit(1);
  }
  actr_msg_free(m);
}

static int bench_size(size_t size) {
  char name[32], line[96];
  size_name(size, name, sizeof name);
  uint16_t total;
  int rc = actr__frag_count(size, &total);
  if (rc != ACTR_OK)
    die("size", rc);

  ctx_t c = {.size = size};
  size_t alloc = (size + 63) & ~(size_t)63;
  uint8_t *src = aligned_alloc(64, alloc ? alloc : 64);
  c.dst = aligned_alloc(64, alloc ? alloc : 64);
  c.frames = calloc(total, sizeof *c.frames);
  if (!src || !c.dst || !c.frames)
    die("alloc", ACTR_ENO_MEMORY);
  for (size_t i = 0; i < size; i++)
    src[i] = (uint8_t)(i * 2654435761u >> 13);
  memset(c.dst, 0, size);
  c.src = src;
  actr_reassembly_config_t cfg;
  actr_reassembly_config_default(ACTR_PAYLOAD_RPC_RELIABLE, &cfg);
  if ((rc = actr__reassembly_new(&cfg, &c.r)) != ACTR_OK)
    die("reassembly", rc);

  verify(&c, frag_stream(&c));
  verify(&c, frag_batch(&c));
  run_for(&c, RUN_STREAM, WARMUP_S);
  run_for(&c, RUN_MEMCPY, WARMUP_S);
  run_for(&c, RUN_BATCH, WARMUP_S / 2);

  double stream[SLICES], copy[SLICES], batch[SLICES], ratio[SLICES];
  for (int i = 0; i < SLICES; i++) {
    stream[i] = run_for(&c, RUN_STREAM, SLICE_S);
    copy[i] = run_for(&c, RUN_MEMCPY, SLICE_S);
    batch[i] = run_for(&c, RUN_BATCH, SLICE_S / 2);
    ratio[i] = stream[i] / copy[i]; /* each slice against the memcpy slice beside it */
  }
  double fs = bench_median(stream, SLICES), mc = bench_median(copy, SLICES),
         fb = bench_median(batch, SLICES);
  verify(&c, frag_stream(&c));

  snprintf(line, sizeof line, "frag.%s.throughput", name);
  bench_line(line, fs, "B/s");
  snprintf(line, sizeof line, "baseline.memcpy.%s.throughput", name);
  bench_line(line, mc, "B/s");
  printf("  %-4s %5u frame%s  fragment+reassemble %7.2f GB/s  (split all, then push: %7.2f "
         "GB/s)  memcpy %7.2f GB/s  ratio %.2fx\n",
         name, (unsigned)total, total == 1 ? " " : "s", fs / 1e9, fb / 1e9, mc / 1e9, fs / mc);
  fflush(stdout);
  /* Issue 13, point 6: fragment + reassemble 1 MiB at >= 0.5x memcpy. */
  if (size == 1024 * 1024)
    bench_goal("frag.1m.vs_memcpy", ratio, SLICES, ">=", 0.5);

  actr__reassembly_free(c.r);
  free(c.frames);
  free(c.dst);
  free(src);
  return 0;
}

/* run_all: each size in a fresh process (see the file comment). */
static int run_all(const char *argv0) {
  int failed = 0;
  for (size_t i = 0; i < sizeof default_sizes / sizeof default_sizes[0]; i++) {
    char arg[32];
    snprintf(arg, sizeof arg, "%zu", default_sizes[i]);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
      perror("bench_fragment: fork");
      return 1;
    }
    if (pid == 0) {
      char *args[] = {(char *)argv0, arg, NULL};
      execv("/proc/self/exe", args);
      perror("bench_fragment: execv /proc/self/exe");
      _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      failed = 1;
  }
  return failed;
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "all") == 0)
    return run_all(argv[0]);
  char *end;
  errno = 0;
  unsigned long long size = strtoull(argv[1], &end, 10);
  /* Zero bytes has no throughput to speak of. */
  if (errno || *end || end == argv[1] || argv[1][0] == '-' || size == 0) {
    fprintf(stderr, "usage: %s [all | SIZE_BYTES]\n", argv[0]);
    return 2;
  }
  return bench_size((size_t)size);
}
