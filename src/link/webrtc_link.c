/* webrtc_link.c — DataChannel lanes over one WebRTC peer connection: the glue
 * between a signaling endpoint, a peer connection (src/rtc) and one
 * DataChannel lane (src/lane/dc_lane.c) per PayloadType.
 *
 * Each lane talks to an rtc port: the one data channel carrying its label.
 * A later channel with a label already bound is refused (closed): its
 * fragments would share the lane's reassembly, keyed by msg_id alone, and
 * fragments of two different messages would be joined into one.  (Only the
 * offering side opens channels, so a peer that follows the protocol never
 * opens two.)  The link keeps one reference to each lane it made,
 * so channels that arrive before the application asks for their lane are
 * read into it and kept, bounded by the lane's queue.  When that is full:
 * while the application has asked for no lane at all, the channel stops
 * reading and SCTP pushes the peer back; once it reads some lanes, the
 * fragments of a lane nobody asked for are dropped and counted
 * (dropped_unread) rather than pausing the association, which would stall
 * every lane that is read.  A lane asked for always pushes back.
 *
 * Lifetime: the lane owns its port (freed by the port's release op, when
 * the last lane handle goes); the port owns its channel handles and a
 * runtime reference.  Callbacks of the peer connection and channels run on
 * the I/O thread; none runs after actr_webrtc_pc_free returns. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <actr/webrtc_link.h>

#include "clock.h"
#include "dc_join.h"
#include "dc_port.h"
#include "error_internal.h"
#include "runtime_internal.h"

/* One channel per label: see the top of this file. */
#define MAX_CHANNELS_PER_LABEL 1

typedef struct rtc_port {
  actr_runtime_t *rt;
  actr_payload_type_t type;
  actr_lane_t *lane; /* the lane that owns this port */
  size_t low_threshold;
  pthread_mutex_t mu;
  actr_webrtc_dc_t *dcs[MAX_CHANNELS_PER_LABEL]; /* dcs[0] sends */
  int ndc;
  _Atomic(actr_webrtc_dc_t *) primary;
  bool opening; /* the offerer has asked for a channel */
} rtc_port_t;

struct actr_webrtc_link {
  actr_runtime_t *rt;
  actr_signaling_t *sig;
  bool offerer;
  actr_webrtc_link_config_t cfg;
  actr_webrtc_pc_t *pc;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int pc_state;
  int fail_rc;
  char fail_msg[320];
  bool told_end; /* the owner heard FAILED or CLOSED: it hears nothing more */
  /* Held from deciding to tell the owner a state until its on_state returns
   * (recursive: on_state may fail the link).  Without it, a CONNECTED
   * decided on the I/O thread could reach the owner after a FAILED that
   * the signaling thread decided and told meanwhile. */
  pthread_mutex_t tell_mu;
  bool closed;
  bool any_claimed; /* some lane was asked for: the others are "unread" */
  actr_lane_t *lanes[ACTR_PAYLOAD_TYPE_COUNT];
  rtc_port_t *ports[ACTR_PAYLOAD_TYPE_COUNT];
};

/* ---- port ops (any thread) ---- */

static int rtc_port_send(void *p, actr_msg_t *frame) {
  rtc_port_t *port = p;
  actr_webrtc_dc_t *dc = atomic_load(&port->primary);
  if (!dc) {
    actr_msg_free(frame);
    return actr__fail(ACTR_EDATA_CHANNEL_NOT_OPEN, "DataChannel not open: no channel yet");
  }
  return actr_webrtc_dc_send_msg(dc, frame, false);
}

static size_t rtc_port_buffered_amount(void *p) {
  rtc_port_t *port = p;
  actr_webrtc_dc_t *dc = atomic_load(&port->primary);
  return dc ? actr_webrtc_dc_buffered_amount(dc) : 0;
}

static void rtc_port_resume(void *p) {
  rtc_port_t *port = p;
  actr_webrtc_dc_t *dcs[MAX_CHANNELS_PER_LABEL];
  pthread_mutex_lock(&port->mu);
  int n = port->ndc;
  memcpy(dcs, port->dcs, sizeof dcs);
  pthread_mutex_unlock(&port->mu);
  for (int i = 0; i < n; i++)
    actr_webrtc_dc_resume(dcs[i]);
}

static void rtc_port_close(void *p) {
  rtc_port_t *port = p;
  actr_webrtc_dc_t *dc = atomic_load(&port->primary);
  if (dc)
    actr_webrtc_dc_close(dc);
}

static void rtc_port_release(void *p) {
  rtc_port_t *port = p;
  for (int i = 0; i < port->ndc; i++)
    actr_webrtc_dc_free(port->dcs[i]);
  pthread_mutex_destroy(&port->mu);
  actr_runtime_unref(port->rt);
  free(port);
}

/* Push delivery: channel callbacks run on the runtime's I/O thread. */
static int rtc_port_call(void *p, int (*fn)(void *data), void *data) {
  rtc_port_t *port = p;
  return actr_runtime_call(port->rt, fn, data);
}

static bool rtc_port_on_delivery_thread(void *p) {
  rtc_port_t *port = p;
  return actr_runtime_is_io_thread(port->rt);
}

static size_t rtc_port_buffer_limit(void *p) {
  rtc_port_t *port = p;
  return actr_webrtc_dc_buffered_amount_limit(atomic_load(&port->primary));
}

static bool rtc_port_lend(void *p, bool (*done)(void *data), void *data, int timeout_ms) {
  rtc_port_t *port = p;
  return actr__runtime_lend(port->rt, done, data, timeout_ms);
}

static void rtc_port_post(void *p, void (*fn)(void *data), void *data) {
  rtc_port_t *port = p;
  (void)actr_runtime_post(port->rt, fn, data);
}

static void rtc_port_wake(void *p) {
  rtc_port_t *port = p;
  g_main_context_wakeup(actr__runtime_context(port->rt));
}

static const actr_lane_dc_port_ops_t rtc_port_ops = {
  .send = rtc_port_send,
  .buffered_amount = rtc_port_buffered_amount,
  .resume = rtc_port_resume,
  .close = rtc_port_close,
  .release = rtc_port_release,
  .call = rtc_port_call,
  .on_delivery_thread = rtc_port_on_delivery_thread,
  .buffer_limit = rtc_port_buffer_limit,
  .lend = rtc_port_lend,
  .wake = rtc_port_wake,
  .post = rtc_port_post,
};

/* ---- channel callbacks (I/O thread) ---- */

static bool is_primary(rtc_port_t *port, actr_webrtc_dc_t *dc) {
  return atomic_load(&port->primary) == dc;
}

static void dc_on_open(actr_webrtc_dc_t *dc, void *user) {
  rtc_port_t *port = user;
  if (is_primary(port, dc))
    actr_lane_dc_port_state(port->lane, ACTR_LANE_DC_OPEN);
}

static bool dc_on_message(actr_webrtc_dc_t *dc, actr_msg_t *msg, bool is_text, void *user) {
  rtc_port_t *port = user;
  (void)dc;
  (void)is_text; /* the fragment protocol is binary; a string message is read as bytes */
  return actr_lane_dc_port_frame(port->lane, msg);
}

static void dc_on_low(actr_webrtc_dc_t *dc, void *user) {
  rtc_port_t *port = user;
  if (is_primary(port, dc))
    actr_lane_dc_port_drained(port->lane);
}

static void dc_on_closing(actr_webrtc_dc_t *dc, void *user) {
  rtc_port_t *port = user;
  if (is_primary(port, dc))
    actr_lane_dc_port_state(port->lane, ACTR_LANE_DC_CLOSING);
}

static void dc_on_close(actr_webrtc_dc_t *dc, int err, void *user) {
  rtc_port_t *port = user;
  (void)err;
  if (is_primary(port, dc)) {
    actr_lane_dc_port_state(port->lane, ACTR_LANE_DC_CLOSED);
    actr_lane_dc_port_drained(port->lane); /* wake senders waiting for room */
  }
}

static const actr_webrtc_dc_callbacks_t dc_callbacks = {
  .on_open = dc_on_open,
  .on_message = dc_on_message,
  .on_buffered_amount_low = dc_on_low,
  .on_closing = dc_on_closing,
  .on_close = dc_on_close,
};

/* attach: make @dc one of @port's channels.  Returns false when the port
 * has no room (the caller releases @dc). */
static bool attach(rtc_port_t *port, actr_webrtc_dc_t *dc) {
  actr__webrtc_dc_join_frames(dc); /* its fragments may come joined (dc_join.h) */
  pthread_mutex_lock(&port->mu);
  bool ok = port->ndc < MAX_CHANNELS_PER_LABEL;
  bool first = port->ndc == 0;
  if (ok)
    port->dcs[port->ndc++] = dc;
  if (first)
    atomic_store(&port->primary, dc);
  pthread_mutex_unlock(&port->mu);
  if (ok && first) {
    /* "drained" once at most half the high-water mark and half the
     * channel's buffer are used (dc_port.h) */
    size_t half_limit = actr_webrtc_dc_buffered_amount_limit(dc) / 2;
    actr_webrtc_dc_set_buffered_amount_low_threshold(
        dc, port->low_threshold < half_limit ? port->low_threshold : half_limit);
    if (actr_webrtc_dc_state(dc) == ACTR_WEBRTC_DC_OPEN)
      actr_lane_dc_port_state(port->lane, ACTR_LANE_DC_OPEN);
  }
  return ok;
}

/* ---- lanes ---- */

/* entry: the port and lane of @type, made on first use (under link->mu). */
static int entry_locked(actr_webrtc_link_t *link, actr_payload_type_t type, rtc_port_t **out) {
  if (link->ports[type]) {
    *out = link->ports[type];
    return ACTR_OK;
  }
  rtc_port_t *port = calloc(1, sizeof *port);
  if (!port)
    return actr__fail(ACTR_ENO_MEMORY, "rtc port");
  pthread_mutex_init(&port->mu, NULL);
  port->rt = actr_runtime_ref(link->rt);
  port->type = type;
  actr_lane_dc_config_t lc = {
    .inbound_frames = link->cfg.inbound_frames,
    .send_high_water_bytes = link->cfg.send_high_water_bytes,
    .open_timeout_ms = link->cfg.open_timeout_ms,
    .reassembly = link->cfg.reassembly,
  };
  size_t high = lc.send_high_water_bytes ? lc.send_high_water_bytes : (1u << 20);
  port->low_threshold = high / 2;
  int rc = actr_lane_dc_new(type, &rtc_port_ops, port, ACTR_LANE_DC_CONNECTING, &lc, &port->lane);
  if (rc != ACTR_OK) {
    actr_runtime_unref(port->rt);
    pthread_mutex_destroy(&port->mu);
    free(port);
    return rc;
  }
  link->ports[type] = port;
  link->lanes[type] = port->lane;
  if (link->any_claimed) /* actr_webrtc_link_lane claims it right after, if it asks */
    actr__dc_lane_mark_unread(port->lane);
  if (link->closed || link->told_end || link->pc_state == ACTR_WEBRTC_PC_FAILED ||
      link->pc_state == ACTR_WEBRTC_PC_CLOSED)
    actr_lane_dc_port_state(port->lane, ACTR_LANE_DC_CLOSED);
  *out = port;
  return ACTR_OK;
}

int actr_webrtc_link_stats(actr_webrtc_link_t *link, actr_payload_type_t type, actr_lane_stats_t *out) {
  if (!link || !out || !actr_payload_type_is_valid((int)type))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "link, type or out invalid");
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&link->mu);
  actr_lane_t *lane = link->lanes[type] ? actr_lane_ref(link->lanes[type]) : NULL;
  pthread_mutex_unlock(&link->mu);
  int rc = lane ? actr_lane_stats(lane, out) : ACTR_OK;
  actr_lane_unref(lane);
  return rc;
}

int actr_webrtc_link_lane(actr_webrtc_link_t *link, actr_payload_type_t type, actr_lane_t **out) {
  if (!link || !out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "NULL argument");
  *out = NULL;
  actr_payload_type_qos_t qos;
  int rc = actr_payload_type_qos(type, &qos); /* MEDIA_RTP: NOT_IMPLEMENTED */
  if (rc != ACTR_OK)
    return rc;
  pthread_mutex_lock(&link->mu);
  rtc_port_t *port;
  rc = entry_locked(link, type, &port);
  bool open_now = false;
  if (rc == ACTR_OK) {
    pthread_mutex_lock(&port->mu);
    open_now = link->offerer && !link->closed && port->ndc == 0 && !port->opening;
    if (open_now)
      port->opening = true;
    pthread_mutex_unlock(&port->mu);
    actr__dc_lane_claim(port->lane);
    if (!link->any_claimed) { /* lanes nobody asked for now stall no one */
      link->any_claimed = true;
      for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
        if (link->ports[t])
          actr__dc_lane_mark_unread(link->ports[t]->lane);
    }
    *out = actr_lane_ref(port->lane);
  }
  pthread_mutex_unlock(&link->mu);
  if (rc != ACTR_OK || !open_now)
    return rc;
  /* The offering side opens the channel: label = type name, QoS by type. */
  actr_webrtc_dc_options_t opts;
  actr_webrtc_dc_options_init(&opts);
  opts.unordered = !qos.ordered;
  opts.max_retransmits = qos.max_retransmits;
  actr_webrtc_dc_t *dc;
  rc = actr_webrtc_pc_create_data_channel(link->pc, actr_payload_type_name(type), &opts,
                                          &dc_callbacks, port, &dc);
  if (rc == ACTR_OK && !attach(port, dc))
    actr_webrtc_dc_free(dc);
  if (rc != ACTR_OK) {
    pthread_mutex_lock(&port->mu);
    port->opening = false; /* a later call may try again */
    pthread_mutex_unlock(&port->mu);
    actr_lane_unref(*out);
    *out = NULL;
  }
  return rc;
}

/* ---- peer connection callbacks (I/O thread) ---- */

static void close_all_lanes(actr_webrtc_link_t *link) {
  actr_lane_t *lanes[ACTR_PAYLOAD_TYPE_COUNT];
  pthread_mutex_lock(&link->mu);
  memcpy(lanes, link->lanes, sizeof lanes);
  pthread_mutex_unlock(&link->mu);
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    if (lanes[t]) {
      actr_lane_dc_port_state(lanes[t], ACTR_LANE_DC_CLOSED);
      actr_lane_dc_port_drained(lanes[t]);
    }
}

/* link_fail: a signaling message failed the link: its lanes close, as at
 * the peer connection's FAILED, and the owner hears FAILED, once: not
 * again, nor any later state, when the peer connection ends too. */
static void link_fail(actr_webrtc_link_t *link, int rc, const char *why) {
  pthread_mutex_lock(&link->tell_mu);
  pthread_mutex_lock(&link->mu);
  if (!link->fail_rc) {
    link->fail_rc = rc;
    snprintf(link->fail_msg, sizeof link->fail_msg, "%s", why);
  }
  bool tell = !link->told_end;
  link->told_end = true;
  pthread_cond_broadcast(&link->cond);
  pthread_mutex_unlock(&link->mu);
  close_all_lanes(link);
  /* transport (issue 11): the owner hears of the failure as a state. */
  if (tell && link->cfg.webrtc.on_state)
    link->cfg.webrtc.on_state(link->pc, ACTR_WEBRTC_PC_FAILED, rc, link->cfg.webrtc.user);
  pthread_mutex_unlock(&link->tell_mu);
}

static void pc_on_state(actr_webrtc_pc_t *pc, actr_webrtc_pc_state_t state, int err, void *user) {
  actr_webrtc_link_t *link = user;
  (void)pc;
  bool end = state == ACTR_WEBRTC_PC_FAILED || state == ACTR_WEBRTC_PC_CLOSED;
  pthread_mutex_lock(&link->tell_mu);
  pthread_mutex_lock(&link->mu);
  link->pc_state = (int)state;
  if (state == ACTR_WEBRTC_PC_FAILED && !link->fail_rc) {
    link->fail_rc = err ? err : ACTR_EWEBRTC;
    snprintf(link->fail_msg, sizeof link->fail_msg, "peer connection failed: %s",
             actr_err_name(link->fail_rc));
  }
  bool tell = !link->told_end;
  link->told_end = link->told_end || end;
  pthread_cond_broadcast(&link->cond);
  pthread_mutex_unlock(&link->mu);
  if (end)
    close_all_lanes(link);
  if (tell && link->cfg.webrtc.on_state) /* transport (issue 11): forwarded to the owner */
    link->cfg.webrtc.on_state(pc, state, err, link->cfg.webrtc.user);
  pthread_mutex_unlock(&link->tell_mu);
}

static void pc_on_candidate(actr_webrtc_pc_t *pc, const char *candidate, const char *mid,
                            void *user) {
  actr_webrtc_link_t *link = user;
  (void)pc;
  actr_signaling_msg_t m = {.kind = candidate ? ACTR_SIGNALING_CANDIDATE : ACTR_SIGNALING_END_OF_CANDIDATES,
                         .candidate = (char *)candidate,
                         .sdp_mid = (char *)mid,
                         .sdp_mline_index = candidate ? 0 : -1};
  int rc = actr_signaling_send(link->sig, &m);
  if (rc != ACTR_OK)
    actr__log(ACTR_LOG_WARN, "rtc link: candidate not sent: %s", actr_err_name(rc));
}

static void pc_on_data_channel(actr_webrtc_pc_t *pc, actr_webrtc_dc_t *dc, void *user) {
  actr_webrtc_link_t *link = user;
  (void)pc;
  actr_payload_type_t type;
  actr_payload_type_qos_t qos;
  if (actr_payload_type_from_name(actr_webrtc_dc_label(dc), &type) != ACTR_OK ||
      actr_payload_type_qos(type, &qos) != ACTR_OK) {
    ACTR__LOG_PEER(ACTR_LOG_WARN, "rtc link: channel '%s' is not a lane: closed",
              actr_webrtc_dc_label(dc));
    actr_webrtc_dc_free(dc);
    return;
  }
  /* The lane sends with the channel's delivery: a peer's other settings
   * (e.g. RPC_RELIABLE with no retransmission) would lose what its send
   * reported sent, and its window assumes order. */
  if (actr_webrtc_dc_ordered(dc) != qos.ordered ||
      actr_webrtc_dc_max_retransmits(dc) != qos.max_retransmits ||
      actr_webrtc_dc_max_packet_lifetime_ms(dc) != -1) {
    ACTR__LOG_PEER(ACTR_LOG_WARN, "rtc link: channel '%s' refused (closed): %s, max_retransmits %d, "
              "max_packet_lifetime %d ms where the lane type asks for %s, max_retransmits %d",
              actr_webrtc_dc_label(dc), actr_webrtc_dc_ordered(dc) ? "ordered" : "unordered",
              (int)actr_webrtc_dc_max_retransmits(dc), (int)actr_webrtc_dc_max_packet_lifetime_ms(dc),
              qos.ordered ? "ordered" : "unordered", qos.max_retransmits);
    actr_webrtc_dc_free(dc);
    return;
  }
  pthread_mutex_lock(&link->mu);
  rtc_port_t *port = NULL;
  int rc = link->closed ? ACTR_ECHANNEL_CLOSED : entry_locked(link, type, &port);
  pthread_mutex_unlock(&link->mu);
  if (rc != ACTR_OK) {
    actr_webrtc_dc_free(dc);
    return;
  }
  actr_webrtc_dc_set_callbacks(dc, &dc_callbacks, port);
  if (!attach(port, dc)) {
    ACTR__LOG_PEER(ACTR_LOG_WARN, "rtc link: a second channel '%s' refused (closed): a lane reads "
              "one channel", actr_webrtc_dc_label(dc));
    actr_webrtc_dc_free(dc);
  }
}

/* ---- signaling (the endpoint's delivery thread) ---- */

/* send_error: tell the peer why (actr_signaling_msg_to_json cuts it to
 * valid UTF-8). */
static void send_error(actr_webrtc_link_t *link, const char *why) {
  actr_signaling_msg_t m = {.kind = ACTR_SIGNALING_ERROR, .message = (char *)why,
                            .sdp_mline_index = -1};
  actr_signaling_send(link->sig, &m);
}

static void on_signal(const actr_signaling_msg_t *m, void *user) {
  actr_webrtc_link_t *link = user;
  int rc = ACTR_OK;
  char *sdp = NULL;
  char why[300];
  switch (m->kind) {
  case ACTR_SIGNALING_OFFER:
    if (link->offerer) {
      rc = actr__fail(ACTR_ESIGNALING, "an offer arrived at the offering side");
      break;
    }
    rc = actr_webrtc_pc_set_remote_description(link->pc, true, m->sdp);
    if (rc == ACTR_OK)
      rc = actr_webrtc_pc_create_answer(link->pc, &sdp);
    if (rc == ACTR_OK) {
      actr_signaling_msg_t a = {.kind = ACTR_SIGNALING_ANSWER, .sdp = sdp, .sdp_mline_index = -1};
      rc = actr_signaling_send(link->sig, &a);
    }
    free(sdp);
    break;
  case ACTR_SIGNALING_ANSWER:
    rc = link->offerer ? actr_webrtc_pc_set_remote_description(link->pc, false, m->sdp)
                       : actr__fail(ACTR_ESIGNALING, "an answer arrived at the answering side");
    break;
  case ACTR_SIGNALING_CANDIDATE:
  case ACTR_SIGNALING_END_OF_CANDIDATES:
    /* A candidate we cannot take (not understood, a host name, past the
     * bound of 128) is skipped, as a browser's addIceCandidate failure
     * leaves its connection be: the others may still connect, and a
     * connection that is up stays up. */
    if (actr_webrtc_pc_add_remote_candidate(link->pc, m->candidate, m->sdp_mid) != ACTR_OK) {
      ACTR__LOG_PEER(ACTR_LOG_WARN, "rtc link: remote candidate skipped: %s", actr_err_detail());
    }
    return;
  case ACTR_SIGNALING_ERROR:
    snprintf(why, sizeof why, "peer reported: %.200s", m->message ? m->message : "");
    link_fail(link, ACTR_ESIGNALING, why);
    return;
  }
  if (rc != ACTR_OK) {
    snprintf(why, sizeof why, "%s: %.200s", actr_err_name(rc), actr_err_detail());
    ACTR__LOG_PEER(ACTR_LOG_WARN, "rtc link: signaling: %s", why);
    link_fail(link, rc, why);
    send_error(link, why);
  }
}

/* ---- the link ---- */

void actr_webrtc_link_config_init(actr_webrtc_link_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  actr_webrtc_config_init(&cfg->webrtc);
}

int actr_webrtc_link_new(actr_runtime_t *rt, const actr_webrtc_link_config_t *cfg,
                      actr_signaling_t *sig, bool offerer, actr_webrtc_link_t **out) {
  if (!rt || !sig || !out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "NULL argument");
  *out = NULL;
  actr_webrtc_link_t *link = calloc(1, sizeof *link);
  if (!link)
    return actr__fail(ACTR_ENO_MEMORY, "rtc link");
  if (cfg)
    link->cfg = *cfg;
  else
    actr_webrtc_link_config_init(&link->cfg);
  link->rt = actr_runtime_ref(rt);
  link->sig = sig;
  link->offerer = offerer;
  pthread_mutex_init(&link->mu, NULL);
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&link->tell_mu, &ma);
  pthread_mutexattr_destroy(&ma);
  actr__cond_init_monotonic(&link->cond);

  actr_webrtc_config_t wc = link->cfg.webrtc;
  wc.on_candidate = pc_on_candidate;
  wc.on_state = pc_on_state;
  wc.on_data_channel = pc_on_data_channel;
  wc.user = link;
  int rc = actr_webrtc_pc_new(rt, &wc, &link->pc);
  if (rc != ACTR_OK) {
    actr_runtime_unref(link->rt);
    pthread_mutex_destroy(&link->mu);
    pthread_mutex_destroy(&link->tell_mu);
    pthread_cond_destroy(&link->cond);
    free(link);
    return rc;
  }
  actr_signaling_set_receiver(sig, on_signal, link);
  if (offerer) {
    char *sdp = NULL;
    rc = actr_webrtc_pc_create_offer(link->pc, &sdp);
    if (rc == ACTR_OK) {
      actr_signaling_msg_t m = {.kind = ACTR_SIGNALING_OFFER, .sdp = sdp, .sdp_mline_index = -1};
      rc = actr_signaling_send(sig, &m);
    }
    free(sdp);
    if (rc != ACTR_OK) {
      int keep = rc;
      actr_webrtc_link_free(link);
      return keep;
    }
  }
  *out = link;
  return ACTR_OK;
}

int actr_webrtc_link_restart_ice(actr_webrtc_link_t *link, int timeout_ms) {
  if (!link)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "link is NULL");
  char *sdp = NULL;
  int rc = actr_webrtc_pc_restart_ice(link->pc, timeout_ms, &sdp);
  if (rc == ACTR_OK && sdp) { /* the offering side: the new offer */
    actr_signaling_msg_t m = {.kind = ACTR_SIGNALING_OFFER, .sdp = sdp, .sdp_mline_index = -1};
    rc = actr_signaling_send(link->sig, &m);
  }
  free(sdp);
  return rc;
}

actr_webrtc_pc_state_t actr_webrtc_link_state(const actr_webrtc_link_t *link) {
  return actr_webrtc_pc_state(link->pc);
}

int actr_webrtc_link_wait_connected(actr_webrtc_link_t *link, int timeout_ms) {
  struct timespec dl;
  actr__deadline_after(&dl, timeout_ms >= 0 ? timeout_ms : 0);
  int rc = ACTR_OK, wrc = 0;
  pthread_mutex_lock(&link->mu);
  for (;;) {
    if (link->pc_state == ACTR_WEBRTC_PC_CONNECTED)
      break;
    if (link->fail_rc) {
      rc = actr__fail(link->fail_rc, "%s", link->fail_msg);
      break;
    }
    if (link->pc_state == ACTR_WEBRTC_PC_CLOSED || link->closed) {
      rc = actr__fail(ACTR_ECONNECTION_CLOSED, "peer connection closed");
      break;
    }
    if (wrc) {
      rc = actr__fail(ACTR_ETIMEOUT, "not connected within %d ms (state %s)", timeout_ms,
                      actr_webrtc_pc_state_name(link->pc_state));
      break;
    }
    wrc = timeout_ms < 0 ? pthread_cond_wait(&link->cond, &link->mu)
                         : pthread_cond_timedwait(&link->cond, &link->mu, &dl);
  }
  pthread_mutex_unlock(&link->mu);
  return rc;
}

void actr_webrtc_link_free(actr_webrtc_link_t *link) {
  if (!link)
    return;
  actr_signaling_set_receiver(link->sig, NULL, NULL);
  pthread_mutex_lock(&link->mu);
  link->closed = true;
  pthread_cond_broadcast(&link->cond);
  pthread_mutex_unlock(&link->mu);
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    if (link->lanes[t])
      actr_lane_close(link->lanes[t]);
  actr_webrtc_pc_free(link->pc); /* no callback runs after this */
  for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++)
    actr_lane_unref(link->lanes[t]);
  actr_runtime_unref(link->rt);
  pthread_mutex_destroy(&link->mu);
  pthread_mutex_destroy(&link->tell_mu);
  pthread_cond_destroy(&link->cond);
  free(link);
}
