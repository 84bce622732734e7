/* sctp.h — one SCTP association over DTLS (RFC 8261) with usrsctp: an
 * AF_CONN one-to-one socket whose packets go out through a callback (to
 * DTLS) and come in through actr__sctp_input (from DTLS).
 *
 * usrsctp runs without threads of its own (usrsctp_init_nothreads): its
 * timers are driven by usrsctp_handle_timers from a GLib timeout on one
 * runtime's context.  usrsctp's callbacks (packet out, socket upcall) carry an
 * opaque association id, looked up under a lock — never a pointer.  A
 * callback that runs on another thread than the association's (the timer
 * thread) hands the work over to the association's context.
 *
 * Messages are read only when the layer above accepts them: a refused
 * message is kept and reading stops until actr__sctp_resume, so the peer is
 * pushed back by the SCTP receive window.  I/O thread of the owning
 * context only, except where said. */
#ifndef ACTR_RTC_SCTP_H
#define ACTR_RTC_SCTP_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actr/msg.h>

typedef enum actr__sctp_pr {
  ACTR__SCTP_PR_NONE = 0,
  ACTR__SCTP_PR_RTX, /* value: retransmissions */
  ACTR__SCTP_PR_TTL  /* value: lifetime in ms */
} actr__sctp_pr_t;

typedef struct actr__sctp_cbs {
  /* send: one SCTP packet to the peer (through DTLS). */
  void (*send)(void *user, const void *buf, size_t len);
  /* batch: @begin: the packets usrsctp makes from now on may be kept and
   * sent together; !@begin: the matching end, send what was kept.  Pairs
   * nest and come from the owner thread or a direct sender. */
  void (*batch)(void *user, bool begin);
  /* up: the association is established (both directions' stream counts). */
  void (*up)(void *user, uint16_t out_streams, uint16_t in_streams);
  /* down: the association is gone (lost, aborted, shut down, or could not
   * start); @err ACTR_ECONNECTION_CLOSED or ACTR_EWEBRTC.  Once. */
  void (*down)(void *user, int err, const char *why);
  /* message: one whole message on stream @sid.  Return true to take @msg
   * (transfer full); false to refuse it: the association keeps it, stops
   * reading, and offers it again after actr__sctp_resume. */
  bool (*message)(void *user, uint16_t sid, uint32_t ppid, actr_msg_t *msg);
  /* writable: a send that returned ACTR_EWOULD_BLOCK may be retried. */
  void (*writable)(void *user);
  /* reset: @incoming: the peer reset its outgoing stream @sid (RFC 6525);
   * else our outgoing reset of @sid is done. */
  void (*reset)(void *user, uint16_t sid, bool incoming);
  /* joinable (optional): stream @sid carries a DataChannel lane's frames
   * (SPEC §1.3), so consecutive fragments of one message may come up
   * joined, as one message marked so (sctp.c, actr__msg_set_joined). */
  bool (*joinable)(void *user, uint16_t sid);
} actr__sctp_cbs_t;

typedef struct actr__sctp_config {
  uint16_t local_port, remote_port;
  uint32_t buffer_bytes; /* SO_SNDBUF and SO_RCVBUF */
  uint32_t mtu;          /* SCTP packet size */
  uint16_t streams;      /* inbound and outbound streams we ask for */
  size_t max_message;    /* larger incoming messages are dropped */
} actr__sctp_config_t;

typedef struct actr__sctp actr__sctp_t;

int actr__sctp_new(GMainContext *ctx, const actr__sctp_config_t *cfg, const actr__sctp_cbs_t *cbs,
                   void *user, actr__sctp_t **out);
/* actr__sctp_connect: send INIT (both ends do: RFC 8841 §9.3, the INIT
 * collision is resolved by SCTP). */
int actr__sctp_connect(actr__sctp_t *s);
/* actr__sctp_input: one packet from DTLS.  Callbacks run inside. */
void actr__sctp_input(actr__sctp_t *s, const uint8_t *buf, size_t len);
/* actr__sctp_send: one whole message, on the owner thread, or from another
 * thread with @direct (a direct send: the caller keeps the association from
 * ending meanwhile, see sctp.c).  ACTR_OK; ACTR_EWOULD_BLOCK when the send
 * buffer is full (then the writable callback follows);
 * ACTR_EMESSAGE_TOO_LARGE; ACTR_ESEND.  Never runs a callback inside. */
int actr__sctp_send(actr__sctp_t *s, bool direct, uint16_t sid, uint32_t ppid, bool unordered,
                    actr__sctp_pr_t pr, uint32_t pr_value, const void *data, size_t len);
/* actr__sctp_reset_stream: reset our outgoing stream @sid once what is
 * queued on it is sent (RFC 8831 §6.7); the reset callback follows. */
void actr__sctp_reset_stream(actr__sctp_t *s, uint16_t sid);
/* actr__sctp_resume: offer a refused message again and read on. */
void actr__sctp_resume(actr__sctp_t *s);
/* actr__sctp_heartbeat: send a HEARTBEAT now (the peer answers it even when
 * its receive window is closed): a liveness probe.  I/O thread; no-op before
 * the association is up or once closed. */
void actr__sctp_heartbeat(actr__sctp_t *s);
/* actr__sctp_close: abort the association (SCTP ABORT goes out through the
 * send callback now); no callback after; frees @s. */
void actr__sctp_close(actr__sctp_t *s);

/* actr__sctp_timer_ticks: times the timer thread has run usrsctp's timers
 * (process-wide; tests count wake-ups with it). */
uint64_t actr__sctp_timer_ticks(void);

/* actr__sctp_handover_drops: packets made by a timer dropped because their
 * association's thread had 4 MiB of them waiting already. */
uint64_t actr__sctp_handover_drops(void);

#endif
