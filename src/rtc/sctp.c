/* sctp.c — SCTP over DTLS with usrsctp (see sctp.h).
 *
 * Process-wide usrsctp state: initialised once, without threads.  A registry
 * maps association ids (the AF_CONN "address" and the upcall argument) to
 * associations; usrsctp calls back with the id and we look it up under
 * reg_mu, taking a reference, so a callback never reaches freed memory.
 *
 * Timers: usrsctp's timers are process-wide.  A thread of their own
 * ("actr-sctp-timer", started with the first association) drives
 * usrsctp_handle_timers: every 10 ms while any association moved a packet
 * other than heartbeats in the last half second (the delayed SACK timer is
 * 200 ms; every other timer is an RTO, 1 s or more); every 250 ms while
 * some association waits for an answer -- DATA not acknowledged yet (its retransmission timer runs; the
 * smallest RTO is 1 s, so a tick a quarter second late costs little on a
 * link that was silent), or a control chunk with a timer (INIT,
 * COOKIE-ECHO, SHUTDOWN, SHUTDOWN-ACK, RE-CONFIG) that no packet from the
 * peer followed yet; every QUIET_TICK_MS when none does (what is left are
 * heartbeat timers, 30 s); not at all when there is no association.  What
 * an association waits for is read from the packets (track): the highest
 * TSN sent against the peer's cumulative ack.  At worst (a control chunk
 * lost while other chunks of the peer arrive) one retransmission leaves up
 * to QUIET_TICK_MS late.  No runtime's loop carries them, so a busy or
 * blocked runtime stalls nobody else's retransmissions, and an idle process
 * wakes for them once every few seconds.
 * Packets a timer makes go to their association's own thread through a
 * hand-over queue bounded in bytes (4 MiB); one that does not fit is
 * dropped, counted (actr__sctp_handover_drops) and logged once: SCTP
 * retransmits it as it would a packet lost on the network.
 *
 * Locks: reg_mu is never held while calling into usrsctp (usrsctp calls
 * back with its own locks held and the callbacks take reg_mu).  s->out_mu
 * guards only the queue of packets handed over from another thread.
 *
 * Re-entrancy: usrsctp calls the upcall from inside our calls into it.  The
 * upcall only records events; they are processed (reads, notifications,
 * callbacks to the layer above) once control is back in our code: right
 * after an input packet has been handled, or from the association's wake
 * source.
 *
 * Direct sends: actr__sctp_send may also be called from an application
 * thread (the caller serialises that with the end of the association, see
 * pc->direct_mu).  usrsctp locks its own state; the packets it produces
 * inside that call go out on the caller's thread (through DTLS, which
 * serialises its record sends); events it records wake the owner thread.
 * Such a caller touches none of the owner's fields but the atomic ones. */
#include "sctp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <usrsctp.h>

#include <actr/testing.h>

#include "crc32c.h"
#include "dcep.h"
#include "error_internal.h"
#include "fragment.h"
#include "msg_internal.h"
#include "rtc_internal.h"

#define TICK_MS 10
#define IDLE_TICK_MS 250
#define QUIET_TICK_MS 4000
#define IDLE_AFTER_US (500 * 1000)
#define MAX_HANDOVER_BYTES (4u << 20)
#define READ_CHUNK (64 * 1024 + 64)
#define SMALL_MESSAGE 2048

struct actr__sctp {
  atomic_int refs;
  uintptr_t id;
  GMainContext *ctx;
  GSource *wake;
  struct socket *sock;
  actr__sctp_config_t cfg;
  actr__sctp_cbs_t cbs;
  void *user;

  atomic_int events;   /* SCTP_EVENT_* recorded by the upcall */
  int depth;           /* > 0 while inside one of our calls into usrsctp */
  bool processing;
  atomic_bool up, closed, muted, want_write; /* read by direct senders too */
  bool down_reported, paused;

  GMutex out_mu;       /* packets from another thread, sent on ours */
  GQueue out;          /* GBytes */
  atomic_int out_n;    /* its length, read without the lock */
  size_t out_bytes;    /* under out_mu */

  uint8_t *rbuf;       /* the message being read (while joining: the run, then it) */
  size_t rlen, rcap;
  uint16_t rsid;
  uint32_t rppid;
  bool discarding;
  bool rdone;          /* the message read is whole and waits behind the held one */
  /* joining (see "joining a lane message's fragments" below) */
  bool joining, jchecked; /* a run is open; the message read is its next fragment */
  bool jreset;            /* the peer reset the run's stream (handle_notification) */
  uint16_t jsid, jtotal, jnext;
  uint32_t jppid, jmsg;
  size_t jlen;            /* bytes of the run: the header, then the payloads so far */
  uint8_t jsave[8];       /* the run's last 8 bytes, under the next header */

  actr_msg_t *held;    /* refused by the layer above */
  uint16_t hsid;
  uint32_t hppid;

  GArray *resets;      /* uint16_t stream ids waiting to be reset */
  uint16_t out_streams; /* the streams we may send on (from the association's set-up) */
  GSource *reset_retry;

  /* What the association waits for the peer to answer (track): set from
   * any sending thread, cleared on the owner's. */
  atomic_uint tsn_hi;  /* the highest TSN sent */
  atomic_bool tsn_known, data_out, ctl_out;
};

/* ---- the process-wide part ---- */

static GMutex reg_mu;
static GHashTable *assocs; /* id -> actr__sctp_t* (no reference) */
static uintptr_t next_id;
static bool usrsctp_ready;
static bool crc_offload; /* we compute and check CRC32c, not usrsctp */

/* the timer thread (see the top of this file) */
/* close_mu: a timer tick and usrsctp_close never overlap.  A tick holds a
 * reference on the socket of the association whose timer fired and drops
 * it at the end (sctp_timeout_handler's sorele); usrsctp_close on an I/O
 * thread meanwhile freed the socket under it (AddressSanitizer, with usrsctp
 * built from source, in the loss test: heap-use-after-free in sctp_close,
 * the socket freed by the timer thread's sorele). */
static GMutex close_mu;
static GMutex timer_mu;
static GCond timer_cond;
static unsigned timer_assocs; /* under timer_mu: associations alive */
static atomic_llong last_activity_us;
static atomic_bool timer_idle; /* ticking slowly: activity wakes it */
static atomic_int timer_waits; /* data_out and ctl_out flags set, all associations */
static atomic_uint_fast64_t timer_ticks, handover_drops;

/* flag_set / flag_clear: a data_out or ctl_out flag, counted in timer_waits. */
static void flag_set(atomic_bool *f) {
  if (!atomic_load_explicit(f, memory_order_relaxed) && !atomic_exchange(f, true))
    atomic_fetch_add(&timer_waits, 1);
}

static void flag_clear(atomic_bool *f) {
  if (atomic_load_explicit(f, memory_order_relaxed) && atomic_exchange(f, false))
    atomic_fetch_sub(&timer_waits, 1);
}

static void sctp_ref(actr__sctp_t *s) { atomic_fetch_add(&s->refs, 1); }

static void sctp_unref(actr__sctp_t *s) {
  if (atomic_fetch_sub(&s->refs, 1) != 1)
    return;
  flag_clear(&s->data_out); /* set by a packet after registry_remove */
  flag_clear(&s->ctl_out);
  GBytes *b;
  while ((b = g_queue_pop_head(&s->out)))
    g_bytes_unref(b);
  g_mutex_clear(&s->out_mu);
  actr__rtc_source_stop(&s->wake);
  actr__rtc_source_stop(&s->reset_retry);
  actr_msg_free(s->held);
  g_free(s->rbuf);
  if (s->resets)
    g_array_free(s->resets, TRUE);
  g_main_context_unref(s->ctx);
  g_free(s);
  actr__rtc_live_add(-1);
}

/* The association this thread is inside a call on (we hold a reference
 * for the duration).  usrsctp calls back synchronously from such calls for
 * the same association most of the time: the id is then matched here
 * without the registry lock. */
static _Thread_local actr__sctp_t *current;
/* The association a direct sender (not the owner thread) is sending on:
 * conn_output sends its packets right away on this thread. */
static _Thread_local actr__sctp_t *direct_out;

#define ENTER(s)                                                                               \
  actr__sctp_t *prev_ = current;                                                               \
  current = (s);                                                                               \
  (s)->depth++
#define LEAVE(s)                                                                               \
  (s)->depth--;                                                                                \
  current = prev_

static actr__sctp_t *lookup(void *addr) {
  actr__sctp_t *c = current;
  if (c && c->id == (uintptr_t)addr) {
    sctp_ref(c);
    return c;
  }
  g_mutex_lock(&reg_mu);
  actr__sctp_t *s = assocs ? g_hash_table_lookup(assocs, addr) : NULL;
  if (s)
    sctp_ref(s);
  g_mutex_unlock(&reg_mu);
  return s;
}

static gpointer timer_main(gpointer unused) {
  (void)unused;
  gint64 last = g_get_monotonic_time();
  g_mutex_lock(&timer_mu);
  for (;;) {
    while (timer_assocs == 0) {
      g_cond_wait(&timer_cond, &timer_mu);
      last = g_get_monotonic_time(); /* nothing to time meanwhile */
    }
    gint64 now = g_get_monotonic_time();
    bool idle = now - atomic_load(&last_activity_us) > IDLE_AFTER_US;
    atomic_store(&timer_idle, idle);
    int tick = !idle ? TICK_MS : atomic_load(&timer_waits) > 0 ? IDLE_TICK_MS : QUIET_TICK_MS;
    g_cond_wait_until(&timer_cond, &timer_mu, now + tick * 1000);
    now = g_get_monotonic_time();
    uint32_t elapsed = (uint32_t)((now - last) / 1000);
    if (!elapsed || timer_assocs == 0)
      continue;
    last += (gint64)elapsed * 1000;
    g_mutex_unlock(&timer_mu);
    g_mutex_lock(&close_mu);
    usrsctp_handle_timers(elapsed);
    g_mutex_unlock(&close_mu);
    atomic_fetch_add(&timer_ticks, 1);
    g_mutex_lock(&timer_mu);
  }
  return NULL;
}

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* note_tsn: DATA with @tsn left: the highest TSN sent (RFC 1982 order). */
static void note_tsn(actr__sctp_t *s, uint32_t tsn) {
  if (!atomic_load(&s->tsn_known)) { /* the first: TSNs start anywhere */
    atomic_store(&s->tsn_hi, tsn);
    atomic_store(&s->tsn_known, true);
  }
  uint32_t hi = atomic_load_explicit(&s->tsn_hi, memory_order_relaxed);
  while ((int32_t)(tsn - hi) > 0 && !atomic_compare_exchange_weak(&s->tsn_hi, &hi, tsn))
    ;
  flag_set(&s->data_out);
}

/* note_ack: the peer acknowledged every TSN up to @cum: nothing waits for
 * a retransmission any more if that is the highest sent.  A sender on
 * another thread raises tsn_hi before it sets data_out: when it moved
 * meanwhile, the flag is set again. */
static void note_ack(actr__sctp_t *s, uint32_t cum) {
  uint32_t hi = atomic_load(&s->tsn_hi);
  if (!atomic_load_explicit(&s->data_out, memory_order_relaxed) || (int32_t)(cum - hi) < 0)
    return;
  flag_clear(&s->data_out);
  if (atomic_load(&s->tsn_hi) != hi)
    flag_set(&s->data_out);
}

/* track: what the packet @buf tells of usrsctp's timers.  Returns whether
 * it carries anything but heartbeats: heartbeats (sent by the peer-timeout
 * check of an idle connection) and their acks need no fine timer; data,
 * SACKs, set-up and stream resets do (retransmission and delayed-SACK
 * timers).  @out: a packet we send (chunk types: RFC 9260 §3.2, RFC 8260
 * I-DATA, RFC 6525 RE-CONFIG). */
static bool track(actr__sctp_t *s, const uint8_t *buf, size_t len, bool out) {
  bool busy = false;
  for (size_t off = 12; off + 4 <= len;) {
    uint8_t type = buf[off];
    size_t clen = (size_t)buf[off + 2] << 8 | buf[off + 3];
    if (clen < 4)
      return true; /* malformed: usrsctp will say; tick as for anything */
    switch (type) {
    case 4: /* HEARTBEAT */
    case 5: /* HEARTBEAT ACK */
      break;
    case 0:  /* DATA */
    case 64: /* I-DATA */
      busy = true;
      if (out && off + 8 <= len)
        note_tsn(s, rd32(buf + off + 4));
      break;
    case 3:  /* SACK */
    case 16: /* NR-SACK */
      busy = true;
      if (!out && off + 8 <= len)
        note_ack(s, rd32(buf + off + 4));
      break;
    case 1:   /* INIT */
    case 10:  /* COOKIE ECHO */
    case 7:   /* SHUTDOWN */
    case 8:   /* SHUTDOWN ACK */
    case 130: /* RE-CONFIG */
      busy = true;
      if (out)
        flag_set(&s->ctl_out);
      break;
    default:
      busy = true;
    }
    off += (clen + 3) & ~(size_t)3;
  }
  if (busy && !out) /* the peer answered something: no control chunk waits */
    flag_clear(&s->ctl_out);
  return busy;
}

/* note_activity: a packet of @s moved; unless it was only heartbeats, tick
 * finely for the next half second. */
static inline void note_activity(actr__sctp_t *s, const uint8_t *buf, size_t len, bool out) {
  if (!track(s, buf, len, out))
    return;
  atomic_store_explicit(&last_activity_us, g_get_monotonic_time(), memory_order_relaxed);
  if (atomic_load_explicit(&timer_idle, memory_order_relaxed) && atomic_exchange(&timer_idle, false)) {
    g_mutex_lock(&timer_mu);
    g_cond_signal(&timer_cond);
    g_mutex_unlock(&timer_mu);
  }
}

uint64_t actr__sctp_timer_ticks(void) { return atomic_load(&timer_ticks); }

uint64_t actr__sctp_handover_drops(void) { return atomic_load(&handover_drops); }

/* conn_output: usrsctp has a packet for the association @addr. */
static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df) {
  actr__sctp_t *s = lookup(addr);
  if (!s)
    return 0;
  if (crc_offload && len >= 12) {
    uint32_t sum = actr__sctp_checksum(buf, len);
    memcpy((uint8_t *)buf + 8, &sum, 4);
  }
  note_activity(s, buf, len, true);
  if (!s->muted) {
    /* Inside one of our calls on @s on this thread (the owner's, or a
     * direct sender's): send here, without asking GLib who owns the loop
     * (a lock per packet). */
    if (current == s || g_main_context_is_owner(s->ctx)) {
      s->cbs.send(s->user, buf, len);
    } else {
      /* A timer fired on another runtime's thread: DTLS and ICE of @s are
       * not thread-safe, so the packet goes to @s's own thread. */
      g_mutex_lock(&s->out_mu);
      bool fits = s->out_bytes + len <= MAX_HANDOVER_BYTES;
      if (fits) {
        g_queue_push_tail(&s->out, g_bytes_new(buf, len));
        s->out_bytes += len;
        atomic_fetch_add(&s->out_n, 1);
      }
      g_mutex_unlock(&s->out_mu);
      if (!fits && atomic_fetch_add(&handover_drops, 1) == 0)
        actr__log(ACTR_LOG_WARN, "sctp: association %u: its thread is not taking the packets "
                  "timers made (%u bytes waiting): dropped, SCTP retransmits them",
                  (unsigned)s->id, MAX_HANDOVER_BYTES);
      actr__wake(s->wake);
    }
  }
  sctp_unref(s);
  return 0;
}

static void upcall(struct socket *sock, void *arg, int flags) {
  actr__sctp_t *s = lookup(arg);
  if (!s)
    return;
  int ev = usrsctp_get_events(sock);
  if (ev > 0)
    atomic_fetch_or(&s->events, ev);
  /* Inside one of our calls on the owner thread the caller processes the
   * events when the call returns; otherwise wake the owner. */
  bool owner_inside = current == s && direct_out != s; /* ENTER: the owner's calls */
  /* usrsctp reports the socket's state, so a writable socket says so on
   * every upcall (each direct send makes one): that alone wakes nobody
   * unless a send is waiting for room (process() would drop it). */
  bool news = ev <= 0 || (ev & ~SCTP_EVENT_WRITE) || atomic_load(&s->want_write);
  if (news && !owner_inside && !(g_main_context_is_owner(s->ctx) && s->depth > 0))
    actr__wake(s->wake);
  sctp_unref(s);
}

static void global_init_locked(void) {
  if (usrsctp_ready)
    return;
  usrsctp_init_nothreads(0, conn_output, NULL);
  /* Neither address changes nor ECN exist on an AF_CONN path. */
  usrsctp_sysctl_set_sctp_asconf_enable(0);
  usrsctp_sysctl_set_sctp_auto_asconf(0);
  usrsctp_sysctl_set_sctp_ecn_enable(0);
  /* The default of 512 chunks per association caps the send queue at about
   * 600 KB of 1200-byte chunks, far below the socket buffer.  The cap counts
   * held received chunks too; what one of them costs is bounded by our
   * usrsctp patch (subprojects/packagefiles/: a small chunk no longer keeps
   * its whole packet), and their number by the receive window. */
  usrsctp_sysctl_set_sctp_max_chunks_on_queue(64 * 1024);
  /* Browsers retransmit INIT/DATA after 1 s, not 3 s (RFC 4960 default). */
  usrsctp_sysctl_set_sctp_rto_initial_default(1000);
  /* The portable CRC32c of usrsctp is a large share of the CPU per packet;
   * the SSE4.2 instruction does it for a fraction (conn_output and
   * actr__sctp_input). */
  if (actr__crc32c_available()) {
    usrsctp_enable_crc32c_offload();
    crc_offload = true;
  }
  assocs = g_hash_table_new(g_direct_hash, g_direct_equal);
  usrsctp_ready = true;
}

/* timer_thread_start: once per process; false when no thread can be made. */
static bool timer_thread_start_locked(void) {
  static GThread *timer_thread;
  if (timer_thread)
    return true;
  GError *err = NULL;
  /* 15 characters at most: the kernel's limit for a thread's name. */
  timer_thread = g_thread_try_new("actr-sctp-timer", timer_main, NULL, &err);
  if (!timer_thread) {
    actr__fail(ACTR_EINTERNAL, "SCTP timer thread: %s", err->message);
    g_error_free(err);
    return false;
  }
  return true;
}

static int registry_add(actr__sctp_t *s) {
  g_mutex_lock(&reg_mu);
  global_init_locked();
  if (!timer_thread_start_locked()) {
    g_mutex_unlock(&reg_mu);
    return ACTR_EINTERNAL;
  }
  do {
    s->id = ++next_id;
  } while (s->id == 0 || g_hash_table_contains(assocs, (void *)s->id));
  g_hash_table_insert(assocs, (void *)s->id, s);
  g_mutex_unlock(&reg_mu);
  g_mutex_lock(&timer_mu);
  if (timer_assocs++ == 0)
    g_cond_signal(&timer_cond);
  g_mutex_unlock(&timer_mu);
  return ACTR_OK;
}

static void registry_remove(actr__sctp_t *s) {
  g_mutex_lock(&reg_mu);
  bool was = g_hash_table_remove(assocs, (void *)s->id);
  g_mutex_unlock(&reg_mu);
  if (was) {
    flag_clear(&s->data_out);
    flag_clear(&s->ctl_out);
    g_mutex_lock(&timer_mu);
    timer_assocs--;
    g_mutex_unlock(&timer_mu);
  }
}

/* ---- reading ---- */

static void try_resets(actr__sctp_t *s);

/* Why the association went down when it was lost (its notification, or
 * check_lost while reading is paused). */
#define LOST_WHY "SCTP association lost or aborted by the peer"

static void report_down(actr__sctp_t *s, int err, const char *why) {
  if (s->down_reported || s->closed)
    return;
  s->down_reported = true;
  s->up = false;
  s->cbs.down(s->user, err, why);
}

static size_t msg_start(const actr__sctp_t *s);

static void handle_notification(actr__sctp_t *s, const uint8_t *buf, size_t len) {
  const union sctp_notification *n = (const void *)buf;
  if (len < sizeof n->sn_header || n->sn_header.sn_length > len)
    return;
  switch (n->sn_header.sn_type) {
  case SCTP_ASSOC_CHANGE: {
    const struct sctp_assoc_change *ac = &n->sn_assoc_change;
    switch (ac->sac_state) {
    case SCTP_COMM_UP:
      if (!s->up && !s->down_reported) {
        s->up = true;
        s->out_streams = ac->sac_outbound_streams;
        s->cbs.up(s->user, ac->sac_outbound_streams, ac->sac_inbound_streams);
        try_resets(s); /* resets asked for before the association was up */
      }
      break;
    case SCTP_COMM_LOST:
      report_down(s, ACTR_ECONNECTION_CLOSED, LOST_WHY);
      break;
    case SCTP_SHUTDOWN_COMP:
      report_down(s, ACTR_ECONNECTION_CLOSED, "SCTP association shut down");
      break;
    case SCTP_CANT_STR_ASSOC:
      report_down(s, ACTR_EWEBRTC, "SCTP association could not be set up");
      break;
    default:
      break;
    }
    break;
  }
  case SCTP_SHUTDOWN_EVENT:
    report_down(s, ACTR_ECONNECTION_CLOSED, "the peer shut the SCTP association down");
    break;
  case SCTP_PARTIAL_DELIVERY_EVENT:
    /* The peer abandoned a message we were reading (PR-SCTP); a run of
     * joined fragments before it stays. */
    s->rlen = msg_start(s);
    s->jchecked = false;
    s->discarding = false;
    break;
  case SCTP_STREAM_RESET_EVENT: {
    const struct sctp_stream_reset_event *ev = &n->sn_strreset_event;
    if (ev->strreset_length < sizeof *ev)
      break;
    size_t count = (ev->strreset_length - sizeof *ev) / sizeof(uint16_t);
    uint16_t flags = ev->strreset_flags;
    /* An empty list resets every stream (RFC 6525 §4.1): each stream we
     * may have is reported (the channel layer ignores ids it does not use). */
    bool all = count == 0;
    if (all)
      count = s->cfg.streams;
    for (size_t i = 0; i < count && !s->closed; i++) {
      uint16_t sid = all ? (uint16_t)i : ev->strreset_stream_list[i];
      if (flags & SCTP_STREAM_RESET_INCOMING_SSN) {
        if (s->joining && sid == s->jsid)
          s->jreset = true; /* the run goes up before anything more is read */
        s->cbs.reset(s->user, sid, true);
      }
      if ((flags & SCTP_STREAM_RESET_OUTGOING_SSN) ||
          (flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)))
        /* Denied or failed: the channel closes all the same (RFC 8831 §6.7
         * has nothing better to offer). */
        s->cbs.reset(s->user, sid, false);
    }
    break;
  }
  default:
    break;
  }
}

static actr_msg_t *take_message(actr__sctp_t *s) {
  actr_msg_t *m;
  if (s->rlen <= SMALL_MESSAGE) {
    uint8_t *p;
    m = actr__msg_alloc(s->rlen, 0, &p);
    if (m && s->rlen)
      memcpy(p, s->rbuf, s->rlen);
  } else {
    /* No copy: the read buffer becomes the message. */
    uint8_t *buf = g_realloc(s->rbuf, s->rlen);
    m = actr__msg_wrap(buf, s->rlen, g_free, buf);
    if (m) {
      s->rcap = READ_CHUNK;
      s->rbuf = g_malloc(s->rcap);
    } else { /* out of memory: the buffer stays the read buffer */
      s->rbuf = buf;
      s->rcap = s->rlen;
    }
  }
  s->rlen = 0;
  return m;
}

/* deliver: true when the layer above took it. */
static bool deliver(actr__sctp_t *s, uint16_t sid, uint32_t ppid, actr_msg_t *m) {
  if (s->cbs.message(s->user, sid, ppid, m))
    return true;
  s->held = m;
  s->hsid = sid;
  s->hppid = ppid;
  s->paused = true;
  return false;
}

/* ---- joining a lane message's fragments as they are read ----
 *
 * On a stream whose channel carries a DataChannel lane (cbs.joinable), the
 * fragments of one message (SPEC §1.3) usually come one after another.
 * Once fragment 0 of a message of 2..JOIN_MAX_FRAGS fragments has been read
 * whole, each next message is read into the read buffer 8 bytes before the
 * end of what is there: its header lands on the last 8 payload bytes read
 * (kept in jsave) and its payload right after them, where it belongs in the
 * whole message.  When the header is the next fragment of that message on
 * that stream, and the fragment has the size SPEC §1.3 gives it, the 8
 * bytes are put back and the run grows; after the last fragment the run,
 * one buffer laid out as header + whole payload, goes up as one frame
 * marked joined (actr__msg_set_joined), which the lane hands out without a
 * copy (reassembly.c).  Anything else (another stream's message, another
 * message's fragment, a notification in between is fine) ends the run:
 * what was read of that message moves to a buffer of its own (its one
 * copy), the 8 bytes are put back, and the run so far goes up, joined, for
 * the lane to place fragment by fragment as before. */
#define JOIN_MAX_FRAGS 64u /* a run holds at most ~4 MiB (64 x 65527 + 8) */
#define FRAG_HEADER ACTR__FRAG_HEADER
#define FRAG_PAYLOAD ACTR__DC_MAX_PAYLOAD

/* actr_testing_set_join_fragments: false starts no run (bench_dc_lane). */
static atomic_bool join_fragments = true;

void actr_testing_set_join_fragments(bool join) { atomic_store(&join_fragments, join); }

static size_t msg_start(const actr__sctp_t *s) { return s->joining ? s->jlen - FRAG_HEADER : 0; }

/* join_read_next: the next message is read 8 bytes before the run's end
 * (its header over them: they wait in jsave). */
static void join_read_next(actr__sctp_t *s) {
  memcpy(s->jsave, s->rbuf + s->jlen - FRAG_HEADER, FRAG_HEADER);
  s->rlen = s->jlen - FRAG_HEADER;
}

/* join_emit: the run so far goes up (marked joined when it holds more than
 * one fragment); the read buffer is @next (@next_len bytes of the message
 * being read, room @next_cap). */
static void join_emit(actr__sctp_t *s, uint8_t *next, size_t next_len, size_t next_cap) {
  uint8_t *run = g_realloc(s->rbuf, s->jlen);
  actr_msg_t *m = actr__msg_wrap(run, s->jlen, g_free, run);
  uint16_t sid = s->jsid, count = s->jnext;
  uint32_t ppid = s->jppid;
  s->joining = s->jchecked = false;
  s->rbuf = next;
  s->rlen = next_len;
  s->rcap = next_cap;
  if (!m) {
    g_free(run);
    actr__log(ACTR_LOG_ERROR, "sctp: out of memory for a message");
    return;
  }
  if (count >= 2)
    actr__msg_set_joined(m, count);
  deliver(s, sid, ppid, m);
}

/* join_break: the message being read is not the run's next fragment: it
 * moves to a read buffer of its own and the run goes up. */
static void join_break(actr__sctp_t *s) {
  size_t start = msg_start(s), have = s->rlen - start;
  /* One past what we advertise is dropped anyway (read_all): not copied. */
  size_t keep = have > s->cfg.max_message ? 0 : have;
  size_t cap = MAX((size_t)READ_CHUNK, keep + 1024);
  uint8_t *next = g_malloc(cap);
  memcpy(next, s->rbuf + start, keep);
  memcpy(s->rbuf + start, s->jsave, FRAG_HEADER);
  join_emit(s, next, keep, cap);
  if (keep < have)
    s->discarding = true; /* the rest of it is read and dropped */
}

/* join_check: after a read while joining, is the message being read still
 * the run's next fragment?  Ends the run when not. */
static void join_check(actr__sctp_t *s) {
  size_t start = msg_start(s), have = s->rlen - start;
  if (!s->jchecked && have >= FRAG_HEADER) {
    actr__frag_header_t h;
    actr__frag_header_decode(s->rbuf + start, have, &h);
    if (s->rsid != s->jsid || s->rppid != s->jppid || h.msg_id != s->jmsg ||
        h.frag_index != s->jnext || h.total_frags != s->jtotal) {
      join_break(s);
      return;
    }
    s->jchecked = true;
  }
  if (s->jchecked && have > FRAG_HEADER + FRAG_PAYLOAD)
    join_break(s);
}

/* join_complete: the message being read while joining ended (EOR).  True
 * when it was the run's next fragment and joined it. */
static bool join_complete(actr__sctp_t *s) {
  size_t start = msg_start(s), plen = s->rlen - start - (s->jchecked ? FRAG_HEADER : 0);
  bool last = s->jnext == s->jtotal - 1;
  if (!s->jchecked || (last ? plen == 0 : plen != FRAG_PAYLOAD)) {
    join_break(s);
    return false;
  }
  memcpy(s->rbuf + start, s->jsave, FRAG_HEADER);
  s->jlen += plen;
  s->jnext++;
  s->jchecked = false;
  if (s->jnext == s->jtotal) { /* whole: up it goes */
    join_emit(s, g_malloc(READ_CHUNK), 0, READ_CHUNK);
    return true;
  }
  join_read_next(s);
  return true;
}

/* join_start: the whole message just read is fragment 0 of a lane
 * message that a run can hold, on a joinable stream: begin a run with it.
 * False when it is not. */
static bool join_start(actr__sctp_t *s) {
  if (!s->cbs.joinable || s->rppid != ACTR__PPID_BINARY || s->rlen != FRAG_HEADER + FRAG_PAYLOAD ||
      !atomic_load_explicit(&join_fragments, memory_order_relaxed))
    return false;
  actr__frag_header_t h;
  actr__frag_header_decode(s->rbuf, s->rlen, &h);
  if (h.frag_index != 0 || h.total_frags < 2 || h.total_frags > JOIN_MAX_FRAGS ||
      !s->cbs.joinable(s->user, s->rsid))
    return false;
  size_t cap = FRAG_HEADER + (size_t)h.total_frags * FRAG_PAYLOAD + READ_CHUNK;
  if (s->rcap < cap) {
    s->rbuf = g_realloc(s->rbuf, cap);
    s->rcap = cap;
  }
  s->joining = true;
  s->jchecked = false;
  s->jsid = s->rsid;
  s->jppid = s->rppid;
  s->jmsg = h.msg_id;
  s->jtotal = h.total_frags;
  s->jnext = 1;
  s->jlen = s->rlen;
  join_read_next(s);
  return true;
}

/* message_done: the message in the read buffer is whole: up it goes (or
 * into a run). */
static void message_done(actr__sctp_t *s) {
  if (s->joining && join_complete(s))
    return;
  if (s->paused) { /* a run that went up just now was refused: this one waits behind it */
    s->rdone = true;
    return;
  }
  /* RFC 8831 §6.6: an empty message goes as one byte under PPID 56/57.
   * Whatever else such a message carries is no one's: only that byte is
   * taken (its view is emptied above us), the rest stays read buffer, not
   * held by a message that says it is empty. */
  if ((s->rppid == ACTR__PPID_STRING_EMPTY || s->rppid == ACTR__PPID_BINARY_EMPTY) && s->rlen > 1)
    s->rlen = 1;
  if (join_start(s))
    return;
  actr_msg_t *m = take_message(s);
  if (!m) {
    actr__log(ACTR_LOG_ERROR, "sctp: out of memory for a message");
    return;
  }
  deliver(s, s->rsid, s->rppid, m);
}

static void read_all(actr__sctp_t *s) {
  while (!s->closed && !s->paused) {
    if (s->held) { /* refused before: it goes first */
      actr_msg_t *m = s->held;
      s->held = NULL;
      deliver(s, s->hsid, s->hppid, m);
      continue;
    }
    if (s->rdone) { /* whole, behind the held one */
      s->rdone = false;
      message_done(s);
      continue;
    }
    size_t start = msg_start(s);
    if (s->rcap - s->rlen < 1024) { /* rlen stays within max_message: it always grows */
      s->rcap = MIN(s->rcap * 2, start + s->cfg.max_message + READ_CHUNK);
      s->rbuf = g_realloc(s->rbuf, s->rcap);
    }
    struct sctp_rcvinfo info;
    memset(&info, 0, sizeof info);
    socklen_t ilen = sizeof info;
    unsigned itype = 0;
    int flags = 0;
    struct sockaddr_conn from;
    socklen_t flen = sizeof from;
    ssize_t n = usrsctp_recvv(s->sock, s->rbuf + s->rlen, s->rcap - s->rlen,
                              (struct sockaddr *)&from, &flen, &info, &ilen, &itype, &flags);
    if (n < 0) {
      if (errno != EWOULDBLOCK && errno != EAGAIN && errno != ENOTCONN)
        actr__log(ACTR_LOG_DEBUG, "sctp: recv: %s", g_strerror(errno));
      break;
    }
    if (n == 0 && !(flags & MSG_EOR))
      break; /* end of stream: the notification says why */
    if (flags & MSG_NOTIFICATION) {
      /* Notifications are small and come whole (our buffer has room).
       * Read past the message being read, they touch none of it (while
       * joining, the bytes under its header are in jsave). */
      if (flags & MSG_EOR) {
        /* While joining, the read position is anywhere in the run: a
         * notification is read there and handled from an aligned copy. */
        const uint8_t *at = s->rbuf + s->rlen;
        uint8_t *copy = (uintptr_t)at % 8 ? g_memdup2(at, (gsize)n) : NULL;
        handle_notification(s, copy ? copy : at, (size_t)n);
        g_free(copy);
      }
      if (s->jreset) { /* the run's stream was reset by the peer: its channel closes */
        s->jreset = false;
        if (s->joining)
          join_break(s);
      }
      continue;
    }
    if (flags & MSG_TRUNC) {
      /* The peer abandoned it (PR-SCTP) after a part of it was handed to
       * us (a partial delivery): what was read is no message. */
      ACTR__LOG_PEER(ACTR_LOG_DEBUG, "sctp: a message abandoned in the middle (%zu bytes read) "
                     "dropped on stream %u", s->rlen - start + (size_t)n, s->rsid);
      s->rlen = start;
      s->jchecked = false;
      s->discarding = false;
      continue;
    }
    if (s->rlen == start && !s->discarding && itype == SCTP_RECVV_RCVINFO) {
      s->rsid = info.rcv_sid;
      s->rppid = ntohl(info.rcv_ppid);
    }
    if (!s->discarding) {
      s->rlen += (size_t)n;
      if (s->joining)
        join_check(s); /* may end the run: the message then starts at 0 */
      start = msg_start(s);
      if (s->rlen - start > s->cfg.max_message) {
        s->discarding = true; /* past what we advertise: the rest of it is read and dropped */
        s->rlen = start;
      }
    }
    if (s->discarding) {
      if (flags & MSG_EOR) {
        s->discarding = false;
        ACTR__LOG_PEER(ACTR_LOG_WARN, "sctp: dropped a message over %zu bytes on stream %u",
                  s->cfg.max_message, s->rsid);
      }
      continue;
    }
    if (flags & MSG_EOR)
      message_done(s);
  }
}

/* check_lost: reading is paused (a refused message waits), so the
 * notification that the association is gone (an ABORT, or the peer silent
 * past SCTP's retransmissions) waits behind that message, unread: with
 * peer_timeout_ms < 0 the connection stayed CONNECTED until the message was
 * taken.  The socket's error says so at once (usrsctp sets it on a
 * one-to-one socket when the association is lost). */
static void check_lost(actr__sctp_t *s) {
  int err = 0;
  socklen_t len = sizeof err;
  if (s->sock && usrsctp_getsockopt(s->sock, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
    report_down(s, ACTR_ECONNECTION_CLOSED, LOST_WHY);
}

static void process(actr__sctp_t *s) {
  if (s->processing || s->closed)
    return;
  s->processing = true;
  sctp_ref(s);
  ENTER(s);
  while (!s->closed) {
    GBytes *b;
    while (atomic_load(&s->out_n) > 0) {
      g_mutex_lock(&s->out_mu);
      b = g_queue_pop_head(&s->out);
      if (b) {
        atomic_fetch_sub(&s->out_n, 1);
        s->out_bytes -= g_bytes_get_size(b);
      }
      g_mutex_unlock(&s->out_mu);
      if (!b)
        break;
      gsize n;
      const void *p = g_bytes_get_data(b, &n);
      if (!s->muted)
        s->cbs.send(s->user, p, n);
      g_bytes_unref(b);
    }
    int ev = atomic_exchange(&s->events, 0);
    if (!ev)
      break;
    if (ev & (SCTP_EVENT_READ | SCTP_EVENT_ERROR)) {
      read_all(s);
      if (s->paused && (ev & SCTP_EVENT_ERROR) && !s->closed)
        check_lost(s);
    }
    if ((ev & SCTP_EVENT_WRITE) && s->want_write && !s->closed) {
      s->want_write = false;
      s->cbs.writable(s->user);
    }
  }
  LEAVE(s);
  s->processing = false;
  sctp_unref(s);
}

static void wake_cb(void *data) { process(data); }

/* ---- the association ---- */

static int setopt(actr__sctp_t *s, int level, int opt, const void *v, socklen_t n, const char *what) {
  if (usrsctp_setsockopt(s->sock, level, opt, v, n) < 0)
    return actr__fail(ACTR_EWEBRTC, "SCTP %s: %s", what, g_strerror(errno));
  return ACTR_OK;
}

int actr__sctp_new(GMainContext *ctx, const actr__sctp_config_t *cfg, const actr__sctp_cbs_t *cbs,
                   void *user, actr__sctp_t **out) {
  actr__sctp_t *s = g_new0(actr__sctp_t, 1);
  atomic_init(&s->refs, 1);
  s->ctx = g_main_context_ref(ctx);
  s->cfg = *cfg;
  s->cbs = *cbs;
  s->user = user;
  g_mutex_init(&s->out_mu);
  g_queue_init(&s->out);
  s->rcap = READ_CHUNK;
  s->rbuf = g_malloc(s->rcap);
  s->resets = g_array_new(FALSE, FALSE, sizeof(uint16_t));
  s->wake = actr__wake_source_new(ctx, wake_cb, s);
  actr__rtc_live_add(1);
  int rrc = registry_add(s);
  if (rrc != ACTR_OK) {
    sctp_unref(s);
    return rrc;
  }
  usrsctp_register_address((void *)s->id);

  s->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
  if (!s->sock) {
    int rc = actr__fail(ACTR_EWEBRTC, "SCTP socket: %s", g_strerror(errno));
    actr__sctp_close(s);
    return rc;
  }
  usrsctp_set_non_blocking(s->sock, 1);
  usrsctp_set_upcall(s->sock, upcall, (void *)s->id);

  int rc;
  struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close = ABORT, no lingering state */
  int one = 1;
  int buf = (int)cfg->buffer_bytes;
  /* usrsctp hands a message over in pieces once it passes this point (at
   * socket creation, half the default buffer: ~113 KB).  Half our buffer
   * puts the point past the default max_message_bytes, so a message we
   * take is whole before any of it is read: one the peer abandons midway
   * (PR-SCTP) is never half read.  Past the point, read_all drops an
   * ordered one (MSG_TRUNC, our usrsctp patch); an unordered one still
   * stalls usrsctp's reading (docs/webrtc.md, Known limits). */
  uint32_t pd_point = cfg->buffer_bytes / 2;
  struct sctp_assoc_value av = {.assoc_id = SCTP_ALL_ASSOC,
                                .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
  struct sctp_initmsg init = {.sinit_num_ostreams = cfg->streams,
                              .sinit_max_instreams = cfg->streams};
  struct sctp_paddrparams pp;
  memset(&pp, 0, sizeof pp);
  pp.spp_assoc_id = SCTP_FUTURE_ASSOC;
  pp.spp_flags = SPP_PMTUD_DISABLE; /* RFC 8261 §5: the path MTU is ours to pick */
  pp.spp_pathmtu = cfg->mtu;
  if ((rc = setopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg, "SO_LINGER")) ||
      (rc = setopt(s, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf, "SO_SNDBUF")) ||
      (rc = setopt(s, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf, "SO_RCVBUF")) ||
      (rc = setopt(s, IPPROTO_SCTP, SCTP_PARTIAL_DELIVERY_POINT, &pd_point, sizeof pd_point,
                   "partial delivery point")) ||
      (rc = setopt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof av, "stream reset")) ||
      (rc = setopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &one, sizeof one, "RECVRCVINFO")) ||
      (rc = setopt(s, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof one, "NODELAY")) ||
      (rc = setopt(s, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init, "INITMSG")) ||
      (rc = setopt(s, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp, "path MTU"))) {
    actr__sctp_close(s);
    return rc;
  }
  static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_SHUTDOWN_EVENT,
                                    SCTP_PARTIAL_DELIVERY_EVENT, SCTP_STREAM_RESET_EVENT};
  for (size_t i = 0; i < G_N_ELEMENTS(events); i++) {
    struct sctp_event ev = {.se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i], .se_on = 1};
    if ((rc = setopt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev, "event subscription"))) {
      actr__sctp_close(s);
      return rc;
    }
  }
  struct sockaddr_conn sc;
  memset(&sc, 0, sizeof sc);
  sc.sconn_family = AF_CONN;
  sc.sconn_port = htons(cfg->local_port);
  sc.sconn_addr = (void *)s->id;
  if (usrsctp_bind(s->sock, (struct sockaddr *)&sc, sizeof sc) < 0) {
    rc = actr__fail(ACTR_EWEBRTC, "SCTP bind: %s", g_strerror(errno));
    actr__sctp_close(s);
    return rc;
  }
  *out = s;
  return ACTR_OK;
}

int actr__sctp_connect(actr__sctp_t *s) {
  struct sockaddr_conn sc;
  memset(&sc, 0, sizeof sc);
  sc.sconn_family = AF_CONN;
  sc.sconn_port = htons(s->cfg.remote_port);
  sc.sconn_addr = (void *)s->id;
  ENTER(s);
  int r = usrsctp_connect(s->sock, (struct sockaddr *)&sc, sizeof sc);
  int e = errno;
  LEAVE(s);
  if (r < 0 && e != EINPROGRESS)
    return actr__fail(ACTR_EWEBRTC, "SCTP connect: %s", g_strerror(e));
  actr__wake(s->wake);
  return ACTR_OK;
}

void actr__sctp_input(actr__sctp_t *s, const uint8_t *buf, size_t len) {
  if (s->closed || len < 12)
    return;
  note_activity(s, buf, len, false);
  if (crc_offload) {
    uint32_t sum;
    memcpy(&sum, buf + 8, 4);
    if (sum != actr__sctp_checksum(buf, len)) {
      actr__log(ACTR_LOG_DEBUG, "sctp: packet of %zu bytes with a bad checksum dropped", len);
      return;
    }
  }
  ENTER(s);
  s->cbs.batch(s->user, true);
  usrsctp_conninput((void *)s->id, buf, len, 0);
  s->cbs.batch(s->user, false);
  LEAVE(s);
  if (s->depth == 0)
    process(s);
}

int actr__sctp_send(actr__sctp_t *s, bool direct, uint16_t sid, uint32_t ppid, bool unordered,
                    actr__sctp_pr_t pr, uint32_t pr_value, const void *data, size_t len) {
  if (s->closed || !s->up)
    return actr__fail(ACTR_ESEND, "SCTP association not up");
  struct sctp_sendv_spa spa;
  memset(&spa, 0, sizeof spa);
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = sid;
  spa.sendv_sndinfo.snd_ppid = htonl(ppid);
  spa.sendv_sndinfo.snd_flags = unordered ? SCTP_UNORDERED : 0;
  if (pr != ACTR__SCTP_PR_NONE) {
    spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    spa.sendv_prinfo.pr_policy = pr == ACTR__SCTP_PR_RTX ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
    spa.sendv_prinfo.pr_value = pr_value;
  }
  ssize_t n;
  int e;
  if (!direct) {
    ENTER(s);
    s->cbs.batch(s->user, true);
    n = usrsctp_sendv(s->sock, data, len, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
    e = errno;
    s->cbs.batch(s->user, false);
    LEAVE(s);
    if (s->depth == 0 && atomic_load(&s->events))
      actr__wake(s->wake); /* processed from the loop: this call runs no callback */
  } else {
    /* A direct sender: usrsctp's upcall wakes the owner for what it
     * records; the packets go out from here. */
    actr__sctp_t *prev = current;
    current = s;
    direct_out = s;
    s->cbs.batch(s->user, true);
    n = usrsctp_sendv(s->sock, data, len, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
    e = errno;
    s->cbs.batch(s->user, false);
    direct_out = NULL;
    current = prev;
  }
  if (n >= 0)
    return ACTR_OK;
  if (e == EWOULDBLOCK || e == EAGAIN) {
    s->want_write = true;
    return ACTR_EWOULD_BLOCK;
  }
  if (e == EMSGSIZE)
    return actr__fail(ACTR_EMESSAGE_TOO_LARGE, "SCTP: message of %zu bytes", len);
  return actr__fail(ACTR_ESEND, "SCTP send on stream %u: %s", sid, g_strerror(e));
}

void actr__sctp_heartbeat(actr__sctp_t *s) {
  if (s->closed || !s->up)
    return;
  struct sctp_paddrparams pp;
  memset(&pp, 0, sizeof pp);
  /* usrsctp sends a heartbeat on demand only for a given path: the peer's
   * address, as actr__sctp_connect gave it. */
  struct sockaddr_conn peer = {.sconn_family = AF_CONN,
                               .sconn_port = htons(s->cfg.remote_port),
                               .sconn_addr = (void *)s->id};
  memcpy(&pp.spp_address, &peer, sizeof peer);
  pp.spp_assoc_id = SCTP_CURRENT_ASSOC;
  pp.spp_flags = SPP_HB_DEMAND;
  ENTER(s);
  int r = usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp);
  int e = errno;
  LEAVE(s);
  if (r != 0)
    actr__log(ACTR_LOG_WARN, "sctp: heartbeat: %s", g_strerror(e));
}

static gboolean reset_retry_cb(gpointer data) {
  actr__sctp_t *s = data;
  actr__rtc_source_fired(&s->reset_retry);
  try_resets(s);
  return G_SOURCE_REMOVE;
}

/* resets_done: each id of @ids reported reset (outgoing) to the layer
 * above, which closes its channel; frees @ids. */
static void resets_done(actr__sctp_t *s, GArray *ids) {
  for (guint i = 0; i < ids->len && !s->closed; i++)
    s->cbs.reset(s->user, g_array_index(ids, uint16_t, i), false);
  g_array_free(ids, TRUE);
}

static void try_resets(actr__sctp_t *s) {
  if (s->closed || !s->up || s->resets->len == 0)
    return;
  /* A stream past those we may send on never carried anything of ours:
   * nothing to reset, and usrsctp refuses a whole request with one in it. */
  GArray *past = g_array_new(FALSE, FALSE, sizeof(uint16_t));
  for (guint i = 0; i < s->resets->len;) {
    uint16_t sid = g_array_index(s->resets, uint16_t, i);
    if (sid < s->out_streams) {
      i++;
      continue;
    }
    g_array_append_val(past, sid);
    g_array_remove_index(s->resets, i);
  }
  size_t n = s->resets->len;
  int r = 0, e = 0;
  if (n > 0) {
    size_t sz = sizeof(struct sctp_reset_streams) + n * sizeof(uint16_t);
    struct sctp_reset_streams *rs = g_malloc0(sz);
    rs->srs_assoc_id = SCTP_ALL_ASSOC;
    rs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    rs->srs_number_streams = (uint16_t)n;
    memcpy(rs->srs_stream_list, s->resets->data, n * sizeof(uint16_t));
    ENTER(s);
    r = usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, rs, (socklen_t)sz);
    e = errno;
    LEAVE(s);
    g_free(rs);
  }
  if (n > 0 && r == 0) {
    g_array_set_size(s->resets, 0);
  } else if (n > 0 && (e == EALREADY || e == EBUSY || e == EAGAIN)) {
    /* A reset request is outstanding: RFC 6525 allows one at a time. */
    if (!s->reset_retry) {
      s->reset_retry = g_timeout_source_new(20);
      g_source_set_callback(s->reset_retry, reset_retry_cb, s, NULL);
      g_source_attach(s->reset_retry, s->ctx);
    }
  } else if (n > 0) {
    /* The peer did not negotiate stream resets (RFC 6525): the channels
     * close all the same. */
    ACTR__LOG_PEER(ACTR_LOG_WARN, "sctp: stream reset: %s", g_strerror(e));
    GArray *failed = s->resets;
    s->resets = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    resets_done(s, failed);
  }
  resets_done(s, past);
  if (s->depth == 0 && atomic_load(&s->events))
    actr__wake(s->wake);
}

void actr__sctp_reset_stream(actr__sctp_t *s, uint16_t sid) {
  if (s->closed)
    return;
  for (guint i = 0; i < s->resets->len; i++)
    if (g_array_index(s->resets, uint16_t, i) == sid)
      return;
  g_array_append_val(s->resets, sid);
  try_resets(s);
}

void actr__sctp_resume(actr__sctp_t *s) {
  if (s->closed || !s->paused)
    return;
  /* From the loop, not from here: the caller may be in the middle of
   * something the redelivered message would disturb. */
  s->paused = false;
  atomic_fetch_or(&s->events, SCTP_EVENT_READ);
  actr__wake(s->wake);
}

void actr__sctp_close(actr__sctp_t *s) {
  if (!s || s->closed)
    return;
  s->closed = true;
  if (s->sock) {
    g_mutex_lock(&close_mu); /* no timer tick meanwhile (see close_mu) */
    ENTER(s);
    usrsctp_close(s->sock); /* SO_LINGER 0: ABORT goes out now */
    LEAVE(s);
    g_mutex_unlock(&close_mu);
    s->sock = NULL;
  }
  s->muted = true;
  /* Our loop sources end here, on the loop's thread: the last reference may
   * go on a usrsctp timer thread, and GLib does not wait for a source that
   * is running when another thread destroys it (pc.c, teardown_cb). */
  g_source_destroy(s->wake);
  if (s->reset_retry)
    g_source_destroy(s->reset_retry);
  usrsctp_deregister_address((void *)s->id);
  registry_remove(s);
  sctp_unref(s);
}
