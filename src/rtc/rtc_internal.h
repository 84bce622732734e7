/* rtc_internal.h — what the files of the WebRTC wire share: the peer
 * connection and data channel structures (pc.c owns the first, dc.c the
 * second), a wake-up source, and the count of live objects that tests wait
 * on.  Internal: GLib types allowed. */
#ifndef ACTR_RTC_INTERNAL_H
#define ACTR_RTC_INTERNAL_H

#include <glib.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <actr/webrtc.h>

#include "runtime_internal.h"

/* actr__rtc_source_fired: a one-shot timer of ours (*@src) is running its
 * callback: let go of our reference (GLib drops its own when the callback
 * returns G_SOURCE_REMOVE) so that nothing destroys it again. */
static inline void actr__rtc_source_fired(GSource **src) {
  g_source_unref(*src);
  *src = NULL;
}

/* actr__rtc_source_stop: stop a timer of ours (*@src, nullable) that has
 * not fired: destroyed, our reference dropped, *@src NULL. */
static inline void actr__rtc_source_stop(GSource **src) {
  if (*src) {
    g_source_destroy(*src);
    g_source_unref(*src);
    *src = NULL;
  }
}

typedef struct actr__ice actr__ice_t;
typedef struct actr__dtls actr__dtls_t;
typedef struct actr__sctp actr__sctp_t;
typedef struct actr__cert actr__cert_t;
typedef struct actr__sdp actr__sdp_t;
typedef struct actr__ice_config actr__ice_config_t;

/* Streams we ask for in each direction (SCTP INIT).  Stream ids of our
 * channels are below it: RFC 8832 §6 even ids for the DTLS client, odd for
 * the server. */
#define ACTR__RTC_STREAMS 1024u
#define ACTR__RTC_MAX_EARLY_CANDIDATES 64u
#define ACTR__RTC_MAX_EARLY_DATAGRAMS 32u
/* Remote candidates libnice is given per connection (it keeps them all). */
#define ACTR__RTC_MAX_REMOTE_CANDIDATES 128u

/* ---- live objects (tests: no leak, teardown finished) ---- */

/* actr__rtc_live_add: count @delta live objects (peer connections,
 * channels, ICE agents, DTLS sessions, SCTP associations). */
void actr__rtc_live_add(int delta);
/* actr__rtc_live_objects: how many are alive now. */
int actr__rtc_live_objects(void);
/* actr__rtc_wait_idle: wait (on a condition, no polling) until none is
 * alive or @timeout_ms passed; true when none is. */
bool actr__rtc_wait_idle(int timeout_ms);

/* ---- wake-up source ---- */

/* actr__wake_source_new: a source on @ctx that runs @fn(@data) once after
 * each actr__wake (several wakes before it runs make one run).  Transfer
 * full: g_source_destroy + g_source_unref. */
GSource *actr__wake_source_new(GMainContext *ctx, void (*fn)(void *data), void *data);
/* actr__wake: any thread. */
void actr__wake(GSource *src);

/* ---- peer connection ---- */

typedef enum pc_sig {
  PC_SIG_NONE = 0,     /* no description yet */
  PC_SIG_LOCAL_OFFER,  /* we offered */
  PC_SIG_REMOTE_OFFER, /* they offered, we have not answered */
  PC_SIG_STABLE        /* offer and answer done */
} pc_sig_t;

struct actr_webrtc_pc {
  atomic_int refs;
  actr_runtime_t *rt;
  GMainContext *ctx;

  /* configuration (immutable after creation) */
  actr__ice_config_t *ice_cfg;
  actr__cert_t *cert;
  uint32_t max_message_bytes, sctp_buffer_bytes, sctp_mtu;
  size_t max_buffered_bytes;
  int dtls_timeout_ms;
  int peer_timeout_ms; /* <= 0: no dead-peer detection */
  int close_timeout_ms; /* < 0: a closing channel waits for the peer's reset for ever */
  int connect_timeout_ms;      /* <= 0: no limit */
  gint64 connect_deadline_us;  /* monotonic: FAILED if not yet connected by then */
  bool connecting;             /* from init_io until the first CONNECTED */

  /* callbacks: I/O thread; cleared by destroy */
  actr_webrtc_candidate_fn on_candidate;
  actr_webrtc_state_fn on_state;
  actr_webrtc_data_channel_fn on_data_channel;
  void *user;

  _Atomic int state;                /* actr_webrtc_pc_state_t */
  atomic_size_t remote_max_message; /* what send() accepts; 0 before the answer */

  /* I/O thread only from here */
  pc_sig_t sig;
  bool answerer, dtls_client, role_known;
  uint64_t session_id, session_version;
  char *ufrag, *pwd, *mid;
  actr__sdp_t *remote;
  int remote_dc;
  uint16_t remote_sctp_port;
  GPtrArray *local_candidates; /* char*, bounded by ACTR__SDP_MAX_CANDIDATES */
  bool gathering_done, in_create, done_during_create;
  GPtrArray *early_candidates; /* remote candidates before the remote description */
  unsigned n_remote_candidates;
  bool early_done;

  actr__ice_t *ice;
  actr__dtls_t *dtls;
  actr__sctp_t *sctp;
  bool ice_connected, dtls_started, sctp_up;
  gint64 last_rx_us;  /* monotonic time of the last datagram from the peer */
  actr__watch_t *alive_w; /* the dead-peer check, once connected (a hub timer: coalesced) */
  GQueue early_out; /* GBytes: DTLS datagrams sent before ICE had a pair */
  /* What the datagrams of one loop iteration make leaves as one batch
   * (pc.c, "one batch per loop iteration"). */
  GSource *rx_flush;
  bool rx_corked;
  /* ICE restart in place (transport, issue 11; pc.c "ICE restart") */
  bool restarting;            /* under way: dead-peer detection waits for it ... */
  gint64 restart_deadline_us; /* ... until this (monotonic), then FAILED */
  bool quiet;                 /* DISCONNECTED reported for silence (half peer_timeout_ms) */
  uint16_t out_streams;

  GHashTable *by_sid; /* stream id -> actr_webrtc_dc_t* (a reference each) */
  GPtrArray *pending; /* channels without a stream id yet (a reference each) */
  GSource *wake;      /* flushes the channels' send queues */
  bool closed, detached;

  /* Direct sends (dc.c): an application thread hands a message to SCTP
   * itself, holding direct_mu, while direct_sctp is set (from SCTP up to the
   * end of the connection: pc_end clears it under direct_mu, before the
   * teardown of any layer under it is even scheduled). */
  GMutex direct_mu;
  actr__sctp_t *direct_sctp;
};

void actr__pc_ref(actr_webrtc_pc_t *pc);
void actr__pc_unref(actr_webrtc_pc_t *pc);

/* ---- data channel ---- */

typedef struct dc_item {
  actr_msg_t *msg;
  uint32_t ppid;
} dc_item_t;

struct actr_webrtc_dc {
  atomic_int refs;
  actr_webrtc_pc_t *pc; /* a reference */
  char *label, *protocol;
  bool ordered;
  int32_t max_retransmits, max_lifetime_ms;
  uint16_t priority;
  _Atomic int sid;   /* -1 until assigned */
  _Atomic int state; /* actr_webrtc_dc_state_t; written under mu */

  /* I/O thread */
  bool remote;       /* opened by the peer */
  /* written on the I/O thread, read by direct senders too */
  atomic_bool acked;        /* RFC 8832 §6.6: ordered sends until the peer acknowledged */
  atomic_bool open_pending; /* DATA_CHANNEL_OPEN not yet taken by SCTP */
  atomic_bool ack_pending;  /* DATA_CHANNEL_ACK not yet taken by SCTP */
  atomic_bool join_frames;  /* carries a lane's frames: see actr__webrtc_dc_join_frames */
  bool released, close_reported;
  bool reset_asked, reset_out_done, reset_in_done;
  GSource *close_timer; /* CLOSING: the wait for the peer's reset (close_timeout_ms) */
  actr_webrtc_dc_callbacks_t cbs;
  void *user;

  /* send queue: any thread pushes, the I/O thread pops */
  GMutex mu;
  GQueue queue; /* dc_item_t* */
  atomic_size_t buffered;
  atomic_size_t low_threshold;
  atomic_bool low_armed;
};

/* dc.c, for pc.c (I/O thread) */
void actr__dc_unref(actr_webrtc_dc_t *dc);
/* actr__dc_assign_ids: give stream ids to the channels created before the
 * DTLS role was known. */
void actr__dc_assign_ids(actr_webrtc_pc_t *pc);
/* actr__dc_sctp_up: open our channels (DCEP OPEN) and flush. */
void actr__dc_sctp_up(actr_webrtc_pc_t *pc);
/* actr__dc_flush_all: send what the channels have queued. */
void actr__dc_flush_all(actr_webrtc_pc_t *pc);
/* actr__dc_on_message: a message from SCTP (see actr__sctp_cbs_t.message). */
bool actr__dc_on_message(actr_webrtc_pc_t *pc, uint16_t sid, uint32_t ppid, actr_msg_t *msg);
/* actr__dc_on_reset: a stream reset (see actr__sctp_cbs_t.reset). */
void actr__dc_on_reset(actr_webrtc_pc_t *pc, uint16_t sid, bool incoming);
/* actr__dc_close_all: the connection ends: every channel is CLOSED with @err. */
void actr__dc_close_all(actr_webrtc_pc_t *pc, int err);

#endif
