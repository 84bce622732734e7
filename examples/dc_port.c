/* dc_port.c — a DataChannel lane over a channel of your own (actr/dc_port.h).
 *
 * Any transport that keeps message boundaries and order can carry
 * DataChannel lanes: libactr brings the fragments, reassembly and flow
 * control; you bring a "port", a few functions over your channel.  Here the
 * channel is a UNIX SOCK_SEQPACKET socket pair.  Each end has a reader
 * thread that hands arriving messages to its lane (and holds back when the
 * lane says its queue is full) and a writer thread that drains a bounded
 * outbound queue (so the port's send never blocks, as the contract asks).
 * Messages of 1 byte, 100 KiB and 2 MiB go from one lane to the other
 * (fragmented on the way, whole at the end) and an answer comes back.
 *
 * Build (installed library):  cc dc_port.c $(pkg-config --cflags --libs actr) -lpthread
 * Run: ./a.out  — prints what it does, exits 0 on success. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <actr/actr.h>

#define check(call)                                                                      \
  do {                                                                                   \
    int rc_ = (call);                                                                    \
    if (rc_ != ACTR_OK) {                                                                \
      fprintf(stderr, "dc_port: %s failed: %s (%s)\n", #call, actr_err_name(rc_),          \
              actr_err_detail());                                                        \
      exit(1);                                                                           \
    }                                                                                    \
  } while (0)

#define LIMIT (4u << 20) /* bytes the outbound queue holds at most */

typedef struct out_frame {
  actr_msg_t *msg;
  struct out_frame *next;
} out_frame_t;

/* One end of the channel: its socket, its threads, and the lane over it. */
typedef struct port {
  int fd;
  actr_lane_t *lane; /* set once the lane exists; the lane owns the port */
  pthread_t reader, writer;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  out_frame_t *head, *tail; /* outbound queue, under mu */
  size_t buffered;          /* its bytes */
  unsigned resumes;         /* counts ops->resume calls, under mu */
  bool closing;
} port_t;

/* ---- the port operations (any thread, never blocking) ---- */

static int port_send(void *p, actr_msg_t *frame) {
  port_t *port = p;
  pthread_mutex_lock(&port->mu);
  int rc = ACTR_OK;
  if (port->closing)
    rc = ACTR_EDATA_CHANNEL_CLOSED;
  else if (port->buffered + actr_msg_len(frame) > LIMIT)
    rc = ACTR_EDATA_CHANNEL; /* the lane keeps within LIMIT: see port_buffer_limit */
  out_frame_t *f = rc == ACTR_OK ? malloc(sizeof *f) : NULL;
  if (rc == ACTR_OK && !f)
    rc = ACTR_ENO_MEMORY;
  if (rc == ACTR_OK) {
    f->msg = frame;
    f->next = NULL;
    if (port->tail)
      port->tail->next = f;
    else
      port->head = f;
    port->tail = f;
    port->buffered += actr_msg_len(frame);
    pthread_cond_broadcast(&port->cond);
  }
  pthread_mutex_unlock(&port->mu);
  if (rc != ACTR_OK)
    actr_msg_free(frame); /* consumed on failure too */
  return rc;
}

static size_t port_buffered_amount(void *p) {
  port_t *port = p;
  pthread_mutex_lock(&port->mu);
  size_t n = port->buffered;
  pthread_mutex_unlock(&port->mu);
  return n;
}

static void port_resume(void *p) {
  port_t *port = p;
  pthread_mutex_lock(&port->mu);
  port->resumes++;
  pthread_cond_broadcast(&port->cond);
  pthread_mutex_unlock(&port->mu);
}

static void port_close(void *p) {
  port_t *port = p;
  pthread_mutex_lock(&port->mu);
  port->closing = true;
  pthread_cond_broadcast(&port->cond);
  pthread_mutex_unlock(&port->mu);
  shutdown(port->fd, SHUT_RDWR); /* the reader sees the end, so does the peer */
}

static void port_release(void *p) {
  port_t *port = p;
  port_close(port);
  pthread_join(port->reader, NULL);
  pthread_join(port->writer, NULL);
  for (out_frame_t *f = port->head, *next; f; f = next) {
    next = f->next;
    actr_msg_free(f->msg);
    free(f);
  }
  close(port->fd);
  pthread_mutex_destroy(&port->mu);
  pthread_cond_destroy(&port->cond);
  free(port);
}

/* No call / on_delivery_thread / buffer_limit: this port offers no push
 * delivery (handlers); recv and send work from any thread. */
static const actr_lane_dc_port_ops_t port_ops = {
  .send = port_send,
  .buffered_amount = port_buffered_amount,
  .resume = port_resume,
  .close = port_close,
  .release = port_release,
};

/* ---- the port's threads ---- */

static void *reader_main(void *p) {
  port_t *port = p;
  static __thread uint8_t buf[128 * 1024]; /* a fragment is at most 64 KiB + 8 */
  for (;;) {
    ssize_t n = recv(port->fd, buf, sizeof buf, 0);
    if (n <= 0)
      break; /* the channel ended */
    actr_msg_t *frame;
    if (actr_msg_new_copy(buf, (size_t)n, &frame) != ACTR_OK)
      break;
    /* The lane refuses a frame when its queue is full: keep it, wait for
     * resume, offer it again.  The socket fills meanwhile: the sender waits.
     * The resume may come before this thread waits: count them. */
    for (;;) {
      pthread_mutex_lock(&port->mu);
      unsigned seen = port->resumes;
      pthread_mutex_unlock(&port->mu);
      if (actr_lane_dc_port_frame(port->lane, frame))
        break;
      pthread_mutex_lock(&port->mu);
      while (port->resumes == seen && !port->closing)
        pthread_cond_wait(&port->cond, &port->mu);
      bool closing = port->closing;
      pthread_mutex_unlock(&port->mu);
      if (closing) {
        actr_msg_free(frame);
        goto out;
      }
    }
  }
out:
  actr_lane_dc_port_state(port->lane, ACTR_LANE_DC_CLOSED);
  return NULL;
}

static void *writer_main(void *p) {
  port_t *port = p;
  pthread_mutex_lock(&port->mu);
  for (;;) {
    while (!port->head && !port->closing)
      pthread_cond_wait(&port->cond, &port->mu);
    if (port->closing)
      break;
    out_frame_t *f = port->head;
    pthread_mutex_unlock(&port->mu);
    ssize_t n = send(port->fd, actr_msg_data(f->msg), actr_msg_len(f->msg), MSG_NOSIGNAL);
    pthread_mutex_lock(&port->mu);
    if (n < 0)
      break;
    size_t before = port->buffered;
    port->head = f->next;
    if (!port->head)
      port->tail = NULL;
    port->buffered -= actr_msg_len(f->msg);
    actr_msg_free(f->msg);
    free(f);
    /* Tell the lane when the queue falls to half its high-water mark
     * (512 KiB of the default 1 MiB): senders waiting for room go on. */
    if (before > 512 * 1024 && port->buffered <= 512 * 1024) {
      pthread_mutex_unlock(&port->mu);
      actr_lane_dc_port_drained(port->lane);
      pthread_mutex_lock(&port->mu);
    }
  }
  pthread_mutex_unlock(&port->mu);
  return NULL;
}

static actr_lane_t *lane_over(int fd) {
  port_t *port = calloc(1, sizeof *port);
  if (!port)
    exit(1);
  port->fd = fd;
  pthread_mutex_init(&port->mu, NULL);
  pthread_cond_init(&port->cond, NULL);
  /* The socket is connected already: the lane starts OPEN. */
  check(actr_lane_dc_new(ACTR_PAYLOAD_RPC_RELIABLE, &port_ops, port, ACTR_LANE_DC_OPEN, NULL,
                         &port->lane));
  pthread_create(&port->reader, NULL, reader_main, port);
  pthread_create(&port->writer, NULL, writer_main, port);
  return port->lane;
}

/* ---- the program ---- */

typedef struct job {
  actr_lane_t *lane;
  size_t sizes[3];
} job_t;

static void *sender_main(void *p) {
  job_t *job = p;
  for (int i = 0; i < 3; i++) {
    uint8_t *data = malloc(job->sizes[i]);
    for (size_t k = 0; k < job->sizes[i]; k++)
      data[k] = (uint8_t)(k * 7 + i);
    check(actr_lane_send(job->lane, data, job->sizes[i]));
    free(data);
  }
  return NULL;
}

int main(void) {
  int fds[2];
  /* Big socket buffers: a 64 KiB fragment fits in one datagram. */
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) != 0) {
    perror("socketpair");
    return 1;
  }
  for (int i = 0; i < 2; i++) {
    int sz = 1 << 20;
    setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  }
  actr_lane_t *a = lane_over(fds[0]);
  actr_lane_t *b = lane_over(fds[1]);
  printf("two DataChannel lanes (%s) over a SOCK_SEQPACKET pair\n", actr_lane_type(a));

  job_t job = {a, {1, 100 * 1024, 2u << 20}};
  pthread_t sender;
  pthread_create(&sender, NULL, sender_main, &job);
  for (int i = 0; i < 3; i++) {
    actr_msg_t *m;
    check(actr_lane_recv(b, 10000, &m));
    bool same = actr_msg_len(m) == job.sizes[i];
    const uint8_t *d = actr_msg_data(m);
    for (size_t k = 0; same && k < actr_msg_len(m); k++)
      same = d[k] == (uint8_t)(k * 7 + i);
    printf("b received %zu bytes: %s\n", actr_msg_len(m), same ? "intact" : "DAMAGED");
    actr_msg_free(m);
    if (!same)
      return 1;
  }
  pthread_join(sender, NULL);

  check(actr_lane_send(b, "thanks", 6));
  actr_msg_t *reply;
  check(actr_lane_recv(a, 10000, &reply));
  printf("a received \"%.*s\"\n", (int)actr_msg_len(reply), (const char *)actr_msg_data(reply));
  actr_msg_free(reply);

  actr_lane_stats_t st;
  check(actr_lane_stats(b, &st));
  printf("b: %llu messages, %llu bytes received, %llu invalid\n",
         (unsigned long long)st.msgs_received, (unsigned long long)st.bytes_received,
         (unsigned long long)st.dropped_invalid);
  actr_lane_unref(a); /* closes the lane, then releases its port */
  actr_lane_unref(b);
  printf("done\n");
  return 0;
}
