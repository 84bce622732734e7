/* nfq_delay.c — a packet delayer for the fault tests: the kernel of the test
 * machines has no netem, so packets are sent to NFQUEUE (iptables -j NFQUEUE
 * --queue-num Q) and this program gives each one back (NF_ACCEPT) DELAY_MS
 * after it was queued.  The delay is the same for every packet, so a FIFO of
 * packet ids is all the state there is and packet order is kept.
 *
 * Usage: nfq_delay QUEUE_NUM DELAY_MS — prints "ready" once bound to the
 * queue; runs until killed.  Speaks nfnetlink directly (linux/netfilter
 * headers), so it needs no library beyond libc.  Root (in the test's
 * network namespace). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING 65536u /* packets held at once (the queue's own limit is set to this too) */

static int fd;
static uint16_t queue_num;
static uint32_t ring_id[RING]; /* packet ids, network order, as the kernel gave them */
static int64_t ring_due[RING]; /* monotonic µs at which to accept */
static uint32_t head, tail;    /* head: oldest; tail: next free */
static uint32_t seq;

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* put_attr: append one netlink attribute at @buf + *@off. */
static void put_attr(char *buf, size_t *off, uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = (struct nlattr *)(buf + *off);
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + len);
  memcpy(buf + *off + NLA_HDRLEN, data, len);
  *off += NLA_ALIGN(a->nla_len);
}

/* nfq_msg: start a queue message of @type in @buf; returns the offset of
 * its first attribute. */
static size_t nfq_msg(char *buf, uint16_t type, uint16_t flags) {
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  memset(buf, 0, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
  h->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type);
  h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  h->nlmsg_seq = ++seq;
  struct nfgenmsg *g = NLMSG_DATA(h);
  g->nfgen_family = AF_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = htons(queue_num);
  return NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
}

static int send_msg(char *buf, size_t len) {
  ((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)len;
  struct sockaddr_nl to = {.nl_family = AF_NETLINK};
  return sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)len ? 0 : -1;
}

/* config: one NFQNL_MSG_CONFIG with an ack, checked. */
static int config(uint16_t attr, const void *data, uint16_t len) {
  char buf[256];
  size_t off = nfq_msg(buf, NFQNL_MSG_CONFIG, NLM_F_ACK);
  put_attr(buf, &off, attr, data, len);
  if (send_msg(buf, off) != 0)
    return -1;
  char rb[4096];
  ssize_t n = recv(fd, rb, sizeof rb, 0);
  if (n < (ssize_t)NLMSG_HDRLEN)
    return -1;
  struct nlmsghdr *h = (struct nlmsghdr *)rb;
  if (h->nlmsg_type == NLMSG_ERROR) {
    struct nlmsgerr *e = NLMSG_DATA(h);
    if (e->error) {
      errno = -e->error;
      return -1;
    }
  }
  return 0;
}

static void verdict(uint32_t id_be) {
  char buf[128];
  size_t off = nfq_msg(buf, NFQNL_MSG_VERDICT, 0);
  struct nfqnl_msg_verdict_hdr v = {.verdict = htonl(NF_ACCEPT), .id = id_be};
  put_attr(buf, &off, NFQA_VERDICT_HDR, &v, sizeof v);
  if (send_msg(buf, off) != 0)
    perror("nfq_delay: verdict");
}

/* take: the packets the kernel has queued, each with its due time. */
static void take(int64_t delay_us) {
  static char buf[1 << 16];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ENOBUFS) { /* we fell behind: those packets are gone (loss) */
        fprintf(stderr, "nfq_delay: ENOBUFS\n");
        continue;
      }
      return;
    }
    int64_t due = now_us() + delay_us;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
        continue;
      char *p = (char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
      char *end = (char *)h + h->nlmsg_len;
      while (p + NLA_HDRLEN <= end) {
        struct nlattr *a = (struct nlattr *)p;
        if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
          break;
        if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR) {
          struct nfqnl_msg_packet_hdr ph;
          memcpy(&ph, p + NLA_HDRLEN, sizeof ph);
          if (tail - head == RING) /* cannot happen: the queue holds no more */
            verdict(ph.packet_id);
          else {
            ring_id[tail % RING] = ph.packet_id;
            ring_due[tail % RING] = due;
            tail++;
          }
          break;
        }
        p += NLA_ALIGN(a->nla_len);
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: nfq_delay QUEUE_NUM DELAY_MS\n");
    return 2;
  }
  queue_num = (uint16_t)atoi(argv[1]);
  int64_t delay_us = (int64_t)atoi(argv[2]) * 1000;
  fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
  struct sockaddr_nl me = {.nl_family = AF_NETLINK};
  if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof me) != 0) {
    perror("nfq_delay: netlink socket");
    return 1;
  }
  int rcvbuf = 64 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  struct nfqnl_msg_config_cmd bind_cmd = {.command = NFQNL_CFG_CMD_BIND};
  struct nfqnl_msg_config_params params = {.copy_range = htonl(0),
                                           .copy_mode = NFQNL_COPY_META};
  uint32_t maxlen = htonl(RING);
  if (config(NFQA_CFG_CMD, &bind_cmd, sizeof bind_cmd) != 0 ||
      config(NFQA_CFG_PARAMS, &params, sizeof params) != 0 ||
      config(NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen) != 0) {
    perror("nfq_delay: binding the queue");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int timeout = -1;
    if (head != tail) {
      int64_t wait = ring_due[head % RING] - now_us();
      timeout = wait <= 0 ? 0 : (int)((wait + 999) / 1000);
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    poll(&pfd, 1, timeout);
    take(delay_us);
    int64_t now = now_us();
    while (head != tail && ring_due[head % RING] <= now) {
      verdict(ring_id[head % RING]);
      head++;
    }
  }
}
