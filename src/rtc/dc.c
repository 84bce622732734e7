/* dc.c — data channels on a peer connection: DCEP (RFC 8832) to open them
 * in-band, the PPIDs of RFC 8831 §8 for string/binary/empty messages,
 * closing by stream reset (RFC 8831 §6.7), and the per-channel send queue
 * with its buffered amount.  Not here: SCTP itself (sctp.c), the
 * connection (pc.c).
 *
 * Threads: send/send_msg and the accessors run on any thread; the queue is
 * guarded by dc->mu (pushed by any thread, popped by the I/O thread), and the
 * state is written under it so a send never queues behind a close.  A send
 * from an application thread that finds nothing queued goes to SCTP itself
 * (a direct send, under pc->direct_mu: no hand-off to the I/O thread, so no
 * wake-up of it on the way out); only when SCTP is full is it queued.
 * Everything else runs on the I/O thread. */
#include <string.h>
#include <actr/testing.h>

#include "dc_join.h"
#include "dcep.h"
#include "error_internal.h"
#include "msg_internal.h"
#include "rtc_internal.h"
#include "sctp.h"

#define DEFAULT_PRIORITY 256 /* RFC 8831 §6.4 "normal" */

/* ---- reference counting ---- */

static void dc_ref(actr_webrtc_dc_t *dc) { atomic_fetch_add(&dc->refs, 1); }

/* actr_testing_set_reset_answers: false makes every channel a peer that
 * never resets its stream in answer to the peer's reset. */
static atomic_bool reset_answers = true;

void actr_testing_set_reset_answers(bool answer) { atomic_store(&reset_answers, answer); }

static void drain_queue(actr_webrtc_dc_t *dc) {
  dc_item_t *it;
  while ((it = g_queue_pop_head(&dc->queue))) {
    actr_msg_free(it->msg);
    g_free(it);
  }
  atomic_store(&dc->buffered, 0);
}

void actr__dc_unref(actr_webrtc_dc_t *dc) {
  if (atomic_fetch_sub(&dc->refs, 1) != 1)
    return;
  drain_queue(dc);
  g_mutex_clear(&dc->mu);
  g_free(dc->label);
  g_free(dc->protocol);
  actr_webrtc_pc_t *pc = dc->pc;
  g_free(dc);
  actr__rtc_live_add(-1);
  actr__pc_unref(pc);
}

static actr_webrtc_dc_t *dc_new(actr_webrtc_pc_t *pc, const char *label, size_t label_len,
                                const char *protocol, size_t protocol_len) {
  actr_webrtc_dc_t *dc = g_new0(actr_webrtc_dc_t, 1);
  actr__rtc_live_add(1);
  atomic_init(&dc->refs, 1);
  actr__pc_ref(pc);
  dc->pc = pc;
  dc->label = g_strndup(label, label_len);
  dc->protocol = g_strndup(protocol ? protocol : "", protocol ? protocol_len : 0);
  dc->ordered = true;
  dc->max_retransmits = -1;
  dc->max_lifetime_ms = -1;
  dc->priority = DEFAULT_PRIORITY;
  atomic_init(&dc->sid, -1);
  atomic_init(&dc->state, ACTR_WEBRTC_DC_CONNECTING);
  atomic_init(&dc->buffered, 0);
  atomic_init(&dc->low_threshold, 0);
  atomic_init(&dc->low_armed, false);
  g_mutex_init(&dc->mu);
  g_queue_init(&dc->queue);
  return dc;
}

/* ---- state (I/O thread) ---- */

static int get_state(const actr_webrtc_dc_t *dc) {
  return atomic_load(&((actr_webrtc_dc_t *)dc)->state);
}

/* set_state: under dc->mu; a closing state also under pc->direct_mu, so a
 * direct send that saw the channel open is in SCTP before the close goes on
 * (the stream reset, the stream id given to another channel). */
static void set_state(actr_webrtc_dc_t *dc, actr_webrtc_dc_state_t st, bool drop_queue) {
  bool fence = st >= ACTR_WEBRTC_DC_CLOSING;
  if (fence)
    g_mutex_lock(&dc->pc->direct_mu);
  g_mutex_lock(&dc->mu);
  atomic_store(&dc->state, st);
  if (drop_queue)
    drain_queue(dc);
  g_mutex_unlock(&dc->mu);
  if (fence)
    g_mutex_unlock(&dc->pc->direct_mu);
}

/* report_closed: CLOSED (its queue dropped) and on_close once; the channel
 * may stay in the connection's tables (close_timer_cb: its stream id still
 * taken). */
static void report_closed(actr_webrtc_dc_t *dc, int err) {
  actr__rtc_source_stop(&dc->close_timer);
  if (get_state(dc) != ACTR_WEBRTC_DC_CLOSED)
    set_state(dc, ACTR_WEBRTC_DC_CLOSED, true);
  if (!dc->close_reported && !dc->released) {
    dc->close_reported = true;
    if (dc->cbs.on_close)
      dc->cbs.on_close(dc, err, dc->user);
  }
}

/* finish_close: CLOSED, out of the connection's tables, on_close once. */
static void finish_close(actr_webrtc_dc_t *dc, int err) {
  actr_webrtc_pc_t *pc = dc->pc;
  int sid = atomic_load(&dc->sid);
  bool in_table = sid >= 0 && g_hash_table_lookup(pc->by_sid, GINT_TO_POINTER(sid)) == dc;
  if (get_state(dc) == ACTR_WEBRTC_DC_CLOSED && !in_table)
    return; /* finished before (a channel still in the table was only reported closed) */
  set_state(dc, ACTR_WEBRTC_DC_CLOSED, true);
  bool had_ref = in_table ? g_hash_table_remove(pc->by_sid, GINT_TO_POINTER(sid))
                          : g_ptr_array_remove(pc->pending, dc);
  report_closed(dc, err);
  /* A message of this channel may be held by SCTP (refused): let SCTP
   * offer it again so that it is dropped. */
  if (pc->sctp)
    actr__sctp_resume(pc->sctp);
  if (had_ref)
    actr__dc_unref(dc);
}

/* close_timer_cb: the peer did not reset its stream within close_timeout_ms
 * of the channel's CLOSING: CLOSED for the application, the stream id kept
 * (in the table) until the reset comes or the connection ends, so that
 * nothing the peer still sends on it reaches a new channel. */
static gboolean close_timer_cb(gpointer data) {
  actr_webrtc_dc_t *dc = data;
  actr__rtc_source_fired(&dc->close_timer);
  if (get_state(dc) == ACTR_WEBRTC_DC_CLOSING) {
    ACTR__LOG_PEER(ACTR_LOG_WARN, "webrtc: channel '%s': the peer did not close stream %d within "
                   "%d ms: closed, the stream id kept until it does", dc->label,
                   atomic_load(&dc->sid), dc->pc->close_timeout_ms);
    report_closed(dc, actr__fail(ACTR_ETIMEOUT, "the peer did not close its side of the channel"));
    /* What was queued is dropped: our side of the close goes now if it
     * waited for the queue (a peer that takes nothing more). */
    if (!dc->reset_asked && !dc->reset_in_done && dc->pc->sctp && atomic_load(&dc->sid) >= 0) {
      dc->reset_asked = true;
      actr__sctp_reset_stream(dc->pc->sctp, (uint16_t)atomic_load(&dc->sid));
    }
  }
  return G_SOURCE_REMOVE;
}

/* closing: the channel is CLOSING now: wait close_timeout_ms at most for
 * the peer's side of the close. */
static void closing(actr_webrtc_dc_t *dc) {
  if (dc->close_timer || dc->pc->close_timeout_ms < 0)
    return;
  dc->close_timer = g_timeout_source_new((guint)dc->pc->close_timeout_ms);
  dc_ref(dc);
  g_source_set_callback(dc->close_timer, close_timer_cb, dc, (GDestroyNotify)actr__dc_unref);
  g_source_attach(dc->close_timer, dc->pc->ctx);
}

static void check_low(actr_webrtc_dc_t *dc) {
  if (atomic_load(&dc->low_armed) && atomic_load(&dc->buffered) <= atomic_load(&dc->low_threshold)) {
    atomic_store(&dc->low_armed, false);
    if (!dc->released && dc->cbs.on_buffered_amount_low)
      dc->cbs.on_buffered_amount_low(dc, dc->user);
  }
}

/* ---- sending (I/O thread) ---- */

static void qos(const actr_webrtc_dc_t *dc, bool *unordered, actr__sctp_pr_t *pr, uint32_t *val) {
  /* RFC 8832 §6.6: ordered until the peer has acknowledged the OPEN. */
  *unordered = !dc->ordered && dc->acked;
  if (dc->max_retransmits >= 0) {
    *pr = ACTR__SCTP_PR_RTX;
    *val = (uint32_t)dc->max_retransmits;
  } else if (dc->max_lifetime_ms >= 0) {
    *pr = ACTR__SCTP_PR_TTL;
    *val = (uint32_t)dc->max_lifetime_ms;
  } else {
    *pr = ACTR__SCTP_PR_NONE;
    *val = 0;
  }
}

/* sctp_send_payload: on the I/O thread, or as a direct send (@direct,
 * pc->direct_mu held). */
static int sctp_send_payload(actr_webrtc_dc_t *dc, bool direct, uint32_t ppid, const void *data,
                             size_t len) {
  bool unordered;
  actr__sctp_pr_t pr;
  uint32_t val;
  qos(dc, &unordered, &pr, &val);
  /* RFC 8831 §6.6: an empty message travels as one zero byte with PPID
   * 56 or 57. */
  static const uint8_t zero = 0;
  if (len == 0)
    data = &zero, len = 1;
  actr__sctp_t *sctp = direct ? dc->pc->direct_sctp : dc->pc->sctp;
  return actr__sctp_send(sctp, direct, (uint16_t)atomic_load(&dc->sid), ppid, unordered, pr, val,
                         data, len);
}

/* direct_send: from an application thread, straight to SCTP while the
 * association is up; ACTR_EWOULD_BLOCK when it is not or SCTP is full (the
 * caller queues the message then). */
static int direct_send(actr_webrtc_dc_t *dc, uint32_t ppid, const void *data, size_t len) {
  actr_webrtc_pc_t *pc = dc->pc;
  int rc = ACTR_EWOULD_BLOCK;
  g_mutex_lock(&pc->direct_mu);
  if (pc->direct_sctp && get_state(dc) != ACTR_WEBRTC_DC_OPEN)
    rc = actr__fail(ACTR_EDATA_CHANNEL_CLOSED, "channel '%s' closed", dc->label);
  else if (pc->direct_sctp)
    rc = sctp_send_payload(dc, true, ppid, data, len);
  g_mutex_unlock(&pc->direct_mu);
  return rc;
}

static int send_control(actr_webrtc_dc_t *dc, bool open) {
  uint8_t buf[12 + 2 * ACTR__DCEP_MAX_STRING];
  size_t n;
  if (open) {
    uint8_t type = dc->ordered ? 0 : ACTR__DCEP_UNORDERED;
    uint32_t rel = 0;
    if (dc->max_retransmits >= 0)
      type |= ACTR__DCEP_PARTIAL_RELIABLE_REXMIT, rel = (uint32_t)dc->max_retransmits;
    else if (dc->max_lifetime_ms >= 0)
      type |= ACTR__DCEP_PARTIAL_RELIABLE_TIMED, rel = (uint32_t)dc->max_lifetime_ms;
    actr__dcep_open_t o = {
      .channel_type = type,
      .priority = dc->priority,
      .reliability = rel,
      .label = (const uint8_t *)dc->label,
      .label_len = (uint16_t)strlen(dc->label),
      .protocol = (const uint8_t *)dc->protocol,
      .protocol_len = (uint16_t)strlen(dc->protocol),
    };
    n = actr__dcep_encode_open(&o, buf, sizeof buf);
  } else {
    buf[0] = ACTR__DCEP_ACK;
    n = 1;
  }
  /* DCEP messages are sent ordered and reliable (RFC 8832 §6). */
  return actr__sctp_send(dc->pc->sctp, false, (uint16_t)atomic_load(&dc->sid), ACTR__PPID_DCEP,
                         false, ACTR__SCTP_PR_NONE, 0, buf, n);
}

static bool can_send(const actr_webrtc_dc_t *dc) {
  const actr_webrtc_pc_t *pc = dc->pc;
  return !pc->closed && pc->sctp_up && pc->sctp && atomic_load(&((actr_webrtc_dc_t *)dc)->sid) >= 0;
}

/* flush: DCEP first, then the queue, until SCTP says "would block". */
static void flush(actr_webrtc_dc_t *dc) {
  if (!can_send(dc) || get_state(dc) == ACTR_WEBRTC_DC_CLOSED)
    return;
  if (dc->open_pending) {
    if (atomic_load(&dc->sid) >= dc->pc->out_streams) {
      finish_close(dc, actr__fail(ACTR_ERESOURCE_EXHAUSTED,
                                  "stream id %d beyond the %u streams of the association",
                                  atomic_load(&dc->sid), dc->pc->out_streams));
      return;
    }
    int rc = send_control(dc, true);
    if (rc == ACTR_EWOULD_BLOCK)
      return;
    if (rc) {
      finish_close(dc, rc);
      return;
    }
    dc->open_pending = false;
    /* W3C: the initiator's channel is open once OPEN is sent (RFC 8832 §6.6
     * lets it send right away). */
    if (get_state(dc) == ACTR_WEBRTC_DC_CONNECTING) {
      set_state(dc, ACTR_WEBRTC_DC_OPEN, false);
      if (!dc->released && dc->cbs.on_open)
        dc->cbs.on_open(dc, dc->user);
      if (get_state(dc) != ACTR_WEBRTC_DC_OPEN && get_state(dc) != ACTR_WEBRTC_DC_CLOSING)
        return;
    }
  }
  if (dc->ack_pending) {
    int rc = send_control(dc, false);
    if (rc == ACTR_EWOULD_BLOCK)
      return;
    dc->ack_pending = false;
  }
  for (;;) {
    g_mutex_lock(&dc->mu);
    dc_item_t *it = g_queue_peek_head(&dc->queue);
    g_mutex_unlock(&dc->mu);
    if (!it)
      break;
    int rc =
        sctp_send_payload(dc, false, it->ppid, actr_msg_data(it->msg), actr_msg_len(it->msg));
    if (rc == ACTR_EWOULD_BLOCK)
      break;
    if (rc)
      ACTR__LOG_PEER(ACTR_LOG_WARN, "webrtc: channel '%s': message of %zu bytes dropped: %s", dc->label,
                actr_msg_len(it->msg), actr_err_detail());
    g_mutex_lock(&dc->mu);
    g_queue_pop_head(&dc->queue);
    atomic_fetch_sub(&dc->buffered, actr_msg_len(it->msg));
    g_mutex_unlock(&dc->mu);
    actr_msg_free(it->msg);
    g_free(it);
  }
  check_low(dc);
  /* RFC 8831 §6.7: close = reset our outgoing stream, after what is
   * queued has gone. */
  if (get_state(dc) == ACTR_WEBRTC_DC_CLOSING && !dc->reset_asked &&
      g_queue_get_length(&dc->queue) == 0) {
    dc->reset_asked = true;
    actr__sctp_reset_stream(dc->pc->sctp, (uint16_t)atomic_load(&dc->sid));
  }
}

static GPtrArray *snapshot(actr_webrtc_pc_t *pc, bool with_pending) {
  GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)actr__dc_unref);
  GHashTableIter iter;
  gpointer k, v;
  g_hash_table_iter_init(&iter, pc->by_sid);
  while (g_hash_table_iter_next(&iter, &k, &v)) {
    dc_ref(v);
    g_ptr_array_add(a, v);
  }
  for (guint i = 0; with_pending && i < pc->pending->len; i++) {
    dc_ref(pc->pending->pdata[i]);
    g_ptr_array_add(a, pc->pending->pdata[i]);
  }
  return a;
}

void actr__dc_flush_all(actr_webrtc_pc_t *pc) {
  GPtrArray *a = snapshot(pc, false);
  for (guint i = 0; i < a->len && !pc->closed; i++)
    flush(a->pdata[i]);
  g_ptr_array_free(a, TRUE);
}

/* ---- stream ids ---- */

static int alloc_sid(actr_webrtc_pc_t *pc) {
  unsigned limit = pc->sctp_up ? pc->out_streams : ACTR__RTC_STREAMS;
  for (unsigned sid = pc->dtls_client ? 0 : 1; sid < limit; sid += 2)
    if (!g_hash_table_contains(pc->by_sid, GUINT_TO_POINTER(sid)))
      return (int)sid;
  return -1;
}

/* place: give @dc (a reference held by pc->pending, or new) a stream id. */
static int place(actr_webrtc_pc_t *pc, actr_webrtc_dc_t *dc) {
  int sid = alloc_sid(pc);
  if (sid < 0)
    return actr__fail(ACTR_ERESOURCE_EXHAUSTED, "no stream id left for channel '%s'", dc->label);
  atomic_store(&dc->sid, sid);
  g_hash_table_insert(pc->by_sid, GINT_TO_POINTER(sid), dc);
  dc->open_pending = true;
  return ACTR_OK;
}

void actr__dc_assign_ids(actr_webrtc_pc_t *pc) {
  GPtrArray *pending = pc->pending;
  pc->pending = g_ptr_array_new();
  for (guint i = 0; i < pending->len; i++) {
    actr_webrtc_dc_t *dc = pending->pdata[i];
    int rc = place(pc, dc);
    if (rc) { /* its reference goes with it */
      g_ptr_array_add(pc->pending, dc);
      finish_close(dc, rc);
    }
  }
  g_ptr_array_free(pending, TRUE);
  if (pc->sctp_up)
    actr__wake(pc->wake);
}

void actr__dc_sctp_up(actr_webrtc_pc_t *pc) { actr__dc_flush_all(pc); }

/* ---- receiving (I/O thread) ---- */

static void on_dcep(actr_webrtc_pc_t *pc, uint16_t sid, actr_msg_t *msg) {
  uint8_t type;
  actr__dcep_open_t open;
  if (actr__dcep_decode(actr_msg_data(msg), actr_msg_len(msg), &type, &open)) {
    ACTR__LOG_PEER(ACTR_LOG_WARN, "webrtc: stream %u: %s", sid, actr_err_detail());
    return;
  }
  actr_webrtc_dc_t *dc = g_hash_table_lookup(pc->by_sid, GUINT_TO_POINTER(sid));
  if (type == ACTR__DCEP_ACK) {
    if (dc && !dc->remote)
      dc->acked = true;
    return;
  }
  /* RFC 8832 §6: the peer opens on its own parity (DTLS client even). */
  if ((sid % 2 == 0) == pc->dtls_client || dc) {
    ACTR__LOG_PEER(ACTR_LOG_WARN, "webrtc: DATA_CHANNEL_OPEN on stream %u refused (%s)", sid,
              dc ? "in use" : "our parity");
    return;
  }
  if (sid >= pc->out_streams) { /* its ACK and our messages could never go */
    ACTR__LOG_PEER(ACTR_LOG_WARN, "webrtc: DATA_CHANNEL_OPEN on stream %u refused (we may send "
                   "on %u streams)", sid, pc->out_streams);
    return;
  }
  if (pc->detached || !pc->on_data_channel) {
    actr__sctp_reset_stream(pc->sctp, sid); /* nobody takes channels: refuse it */
    return;
  }
  dc = dc_new(pc, (const char *)open.label, open.label_len, (const char *)open.protocol,
              open.protocol_len);
  dc->remote = true;
  dc->acked = true;
  dc->ordered = !(open.channel_type & ACTR__DCEP_UNORDERED);
  switch (open.channel_type & 0x7f) {
  case ACTR__DCEP_PARTIAL_RELIABLE_REXMIT:
    dc->max_retransmits = (int32_t)(open.reliability > INT32_MAX ? INT32_MAX : open.reliability);
    break;
  case ACTR__DCEP_PARTIAL_RELIABLE_TIMED:
    dc->max_lifetime_ms = (int32_t)(open.reliability > INT32_MAX ? INT32_MAX : open.reliability);
    break;
  default:
    break;
  }
  dc->priority = open.priority;
  atomic_store(&dc->sid, sid);
  atomic_store(&dc->state, ACTR_WEBRTC_DC_OPEN);
  g_hash_table_insert(pc->by_sid, GUINT_TO_POINTER(sid), dc); /* the table's reference */
  dc->ack_pending = true;
  flush(dc); /* DATA_CHANNEL_ACK */
  dc_ref(dc); /* the application's reference */
  actr__log(ACTR_LOG_INFO, "webrtc: the peer opened channel '%s' on stream %u", dc->label, sid);
  dc_ref(dc); /* ours, across the callbacks: the application may free the
               * channel and close the connection in them */
  pc->on_data_channel(pc, dc, pc->user);
  if (get_state(dc) == ACTR_WEBRTC_DC_OPEN && !dc->released && dc->cbs.on_open)
    dc->cbs.on_open(dc, dc->user);
  actr__dc_unref(dc);
}

bool actr__dc_on_message(actr_webrtc_pc_t *pc, uint16_t sid, uint32_t ppid, actr_msg_t *msg) {
  if (ppid == ACTR__PPID_DCEP) {
    on_dcep(pc, sid, msg);
    actr_msg_free(msg);
    return true;
  }
  actr_webrtc_dc_t *dc = g_hash_table_lookup(pc->by_sid, GUINT_TO_POINTER(sid));
  int st = dc ? get_state(dc) : ACTR_WEBRTC_DC_CLOSED;
  bool text;
  switch (ppid) {
  case ACTR__PPID_STRING:
  case ACTR__PPID_STRING_EMPTY:
    text = true;
    break;
  case ACTR__PPID_BINARY:
  case ACTR__PPID_BINARY_EMPTY:
    text = false;
    break;
  default: /* 52, 54 (deprecated partial messages) and unknown PPIDs */
    ACTR__LOG_PEER(ACTR_LOG_WARN, "webrtc: stream %u: message with PPID %u dropped", sid, ppid);
    actr_msg_free(msg);
    return true;
  }
  if (!dc || dc->released || (st != ACTR_WEBRTC_DC_OPEN && st != ACTR_WEBRTC_DC_CLOSING)) {
    actr_msg_free(msg);
    return true;
  }
  if (!dc->remote)
    dc->acked = true; /* RFC 8832 §6.6: data implies the OPEN arrived */
  if (ppid == ACTR__PPID_STRING_EMPTY || ppid == ACTR__PPID_BINARY_EMPTY)
    actr__msg_advance(msg, actr_msg_len(msg)); /* its one byte (sctp.c kept no more) */
  if (!dc->cbs.on_message)
    return false; /* waits for a handler */
  dc_ref(dc);
  bool taken = dc->cbs.on_message(dc, msg, text, dc->user);
  actr__dc_unref(dc);
  return taken;
}

void actr__dc_on_reset(actr_webrtc_pc_t *pc, uint16_t sid, bool incoming) {
  actr_webrtc_dc_t *dc = g_hash_table_lookup(pc->by_sid, GUINT_TO_POINTER(sid));
  if (!dc)
    return;
  dc_ref(dc);
  if (incoming) {
    dc->reset_in_done = true;
    if (get_state(dc) == ACTR_WEBRTC_DC_OPEN || get_state(dc) == ACTR_WEBRTC_DC_CONNECTING) {
      /* The peer closed: what we still had queued has nowhere to go. */
      set_state(dc, ACTR_WEBRTC_DC_CLOSING, true);
      closing(dc);
      if (!dc->released && dc->cbs.on_closing)
        dc->cbs.on_closing(dc, dc->user);
    }
    if (!dc->reset_asked && get_state(dc) == ACTR_WEBRTC_DC_CLOSING &&
        atomic_load(&reset_answers)) {
      dc->reset_asked = true;
      actr__sctp_reset_stream(pc->sctp, sid);
    }
  } else {
    dc->reset_out_done = true;
  }
  if (dc->reset_in_done && dc->reset_out_done)
    finish_close(dc, ACTR_OK);
  actr__dc_unref(dc);
}

void actr__dc_close_all(actr_webrtc_pc_t *pc, int err) {
  GPtrArray *a = snapshot(pc, true);
  for (guint i = 0; i < a->len; i++)
    finish_close(a->pdata[i], err);
  g_ptr_array_free(a, TRUE);
}

/* ---- public API ---- */

void actr_webrtc_dc_options_init(actr_webrtc_dc_options_t *o) {
  if (!o)
    return;
  memset(o, 0, sizeof *o);
  o->max_retransmits = -1;
  o->max_packet_lifetime_ms = -1;
  o->priority = DEFAULT_PRIORITY;
}

static int create_io(void *data) {
  actr_webrtc_dc_t *dc = data;
  actr_webrtc_pc_t *pc = dc->pc;
  if (pc->closed)
    return actr__fail(ACTR_EINVALID_OPERATION, "peer connection closed");
  if (pc->role_known) {
    int rc = place(pc, dc);
    if (rc)
      return rc;
    actr__wake(pc->wake); /* opens it from the loop, after this call returns */
  } else {
    g_ptr_array_add(pc->pending, dc);
  }
  dc_ref(dc); /* the connection's reference */
  return ACTR_OK;
}

int actr_webrtc_pc_create_data_channel(actr_webrtc_pc_t *pc, const char *label,
                                       const actr_webrtc_dc_options_t *opts,
                                       const actr_webrtc_dc_callbacks_t *cbs, void *user,
                                       actr_webrtc_dc_t **out) {
  if (!pc || !label || !out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "pc, label and out are required");
  *out = NULL;
  actr_webrtc_dc_options_t def;
  actr_webrtc_dc_options_init(&def);
  if (!opts)
    opts = &def;
  const char *proto = opts->protocol ? opts->protocol : "";
  if (strlen(label) > ACTR__DCEP_MAX_STRING || strlen(proto) > ACTR__DCEP_MAX_STRING)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "label or protocol over %u bytes",
                      ACTR__DCEP_MAX_STRING);
  if (opts->max_retransmits >= 0 && opts->max_packet_lifetime_ms >= 0)
    return actr__fail(ACTR_EINVALID_ARGUMENT,
                      "max_retransmits and max_packet_lifetime_ms are exclusive (W3C)");
  actr_webrtc_dc_t *dc = dc_new(pc, label, strlen(label), proto, strlen(proto));
  dc->ordered = !opts->unordered;
  dc->max_retransmits = opts->max_retransmits < 0 ? -1 : opts->max_retransmits;
  dc->max_lifetime_ms = opts->max_packet_lifetime_ms < 0 ? -1 : opts->max_packet_lifetime_ms;
  dc->priority = opts->priority ? opts->priority : DEFAULT_PRIORITY;
  if (cbs)
    dc->cbs = *cbs;
  dc->user = user;
  int rc = actr_runtime_call(pc->rt, create_io, dc);
  if (rc) {
    dc->released = true;
    actr__dc_unref(dc);
    return rc;
  }
  *out = dc;
  return ACTR_OK;
}

typedef struct cbs_call {
  actr_webrtc_dc_t *dc;
  actr_webrtc_dc_callbacks_t cbs;
  void *user;
} cbs_call_t;

static int set_callbacks_io(void *data) {
  cbs_call_t *c = data;
  actr_webrtc_dc_t *dc = c->dc;
  if (dc->released)
    return ACTR_OK;
  dc->cbs = c->cbs;
  dc->user = c->user;
  if (dc->cbs.on_message && dc->pc->sctp)
    actr__sctp_resume(dc->pc->sctp); /* messages that waited for a handler */
  return ACTR_OK;
}

void actr_webrtc_dc_set_callbacks(actr_webrtc_dc_t *dc, const actr_webrtc_dc_callbacks_t *cbs,
                                  void *user) {
  if (!dc)
    return;
  cbs_call_t c = {.dc = dc, .user = user};
  if (cbs)
    c.cbs = *cbs;
  actr_runtime_call(dc->pc->rt, set_callbacks_io, &c);
}

const char *actr_webrtc_dc_label(const actr_webrtc_dc_t *dc) { return dc ? dc->label : ""; }
const char *actr_webrtc_dc_protocol(const actr_webrtc_dc_t *dc) { return dc ? dc->protocol : ""; }
bool actr_webrtc_dc_ordered(const actr_webrtc_dc_t *dc) { return dc && dc->ordered; }
int32_t actr_webrtc_dc_max_retransmits(const actr_webrtc_dc_t *dc) {
  return dc ? dc->max_retransmits : -1;
}
int32_t actr_webrtc_dc_max_packet_lifetime_ms(const actr_webrtc_dc_t *dc) {
  return dc ? dc->max_lifetime_ms : -1;
}
int actr_webrtc_dc_id(const actr_webrtc_dc_t *dc) {
  return dc ? atomic_load(&((actr_webrtc_dc_t *)dc)->sid) : -1;
}
actr_webrtc_dc_state_t actr_webrtc_dc_state(const actr_webrtc_dc_t *dc) {
  return dc ? (actr_webrtc_dc_state_t)get_state(dc) : ACTR_WEBRTC_DC_CLOSED;
}
size_t actr_webrtc_dc_max_message_size(const actr_webrtc_dc_t *dc) {
  return dc ? atomic_load(&dc->pc->remote_max_message) : 0;
}
size_t actr_webrtc_dc_buffered_amount(const actr_webrtc_dc_t *dc) {
  return dc ? atomic_load(&((actr_webrtc_dc_t *)dc)->buffered) : 0;
}
size_t actr_webrtc_dc_buffered_amount_limit(const actr_webrtc_dc_t *dc) {
  return dc ? dc->pc->max_buffered_bytes : 0;
}
void actr_webrtc_dc_set_buffered_amount_low_threshold(actr_webrtc_dc_t *dc, size_t bytes) {
  if (!dc)
    return;
  atomic_store(&dc->low_threshold, bytes);
  /* W3C: the event fires when the amount falls to the threshold from
   * above, whenever the threshold was set. */
  if (atomic_load(&dc->buffered) > bytes)
    atomic_store(&dc->low_armed, true);
}

static uint32_t ppid_of(size_t len, bool text) {
  if (text)
    return len ? ACTR__PPID_STRING : ACTR__PPID_STRING_EMPTY;
  return len ? ACTR__PPID_BINARY : ACTR__PPID_BINARY_EMPTY;
}

/* do_send: @data/@len, or @msg (transfer full) when non-NULL. */
static int do_send(actr_webrtc_dc_t *dc, const void *data, size_t len, actr_msg_t *msg,
                   bool text) {
  actr_webrtc_pc_t *pc = dc->pc;
  bool io = actr_runtime_is_io_thread(pc->rt);
  uint32_t ppid = ppid_of(len, text);
  int rc = ACTR_OK;
  g_mutex_lock(&dc->mu);
  int st = get_state(dc);
  size_t max = atomic_load(&pc->remote_max_message);
  size_t buffered = atomic_load(&dc->buffered);
  if (st == ACTR_WEBRTC_DC_CONNECTING)
    rc = actr__fail(ACTR_EDATA_CHANNEL_NOT_OPEN, "channel '%s' is not open yet", dc->label);
  else if (st != ACTR_WEBRTC_DC_OPEN)
    rc = actr__fail(ACTR_EDATA_CHANNEL_CLOSED, "channel '%s' is %s", dc->label,
                    actr_webrtc_dc_state_name(st));
  else if (len > max)
    rc = actr__fail(ACTR_EMESSAGE_TOO_LARGE,
                    "message of %zu bytes over the peer's %zu (its a=max-message-size)", len, max);
  else if (buffered + len > pc->max_buffered_bytes)
    rc = actr__fail(ACTR_ERESOURCE_EXHAUSTED, "channel '%s': %zu bytes buffered, limit %zu",
                    dc->label, buffered, pc->max_buffered_bytes);
  if (rc) {
    g_mutex_unlock(&dc->mu);
    actr_msg_free(msg);
    return rc;
  }
  /* Nothing queued: straight to SCTP, no copy — on the I/O thread, or as a
   * direct send from any other (in order: what a thread queued earlier is
   * in SCTP before the queue reads empty). */
  if (g_queue_get_length(&dc->queue) == 0 && !dc->open_pending && !dc->ack_pending &&
      (!io || can_send(dc))) {
    g_mutex_unlock(&dc->mu);
    const void *p = msg ? actr_msg_data(msg) : data;
    rc = io ? sctp_send_payload(dc, false, ppid, p, len) : direct_send(dc, ppid, p, len);
    if (rc != ACTR_EWOULD_BLOCK) {
      actr_msg_free(msg);
      return rc;
    }
    g_mutex_lock(&dc->mu);
    if (get_state(dc) != ACTR_WEBRTC_DC_OPEN) { /* closed by a callback meanwhile */
      g_mutex_unlock(&dc->mu);
      actr_msg_free(msg);
      return actr__fail(ACTR_EDATA_CHANNEL_CLOSED, "channel '%s' closed", dc->label);
    }
  }
  if (!msg && actr_msg_new_copy(data, len, &msg) != ACTR_OK) {
    g_mutex_unlock(&dc->mu);
    return actr__fail(ACTR_ENO_MEMORY, "message of %zu bytes", len);
  }
  dc_item_t *it = g_new(dc_item_t, 1);
  it->msg = msg;
  it->ppid = ppid;
  g_queue_push_tail(&dc->queue, it);
  size_t now = atomic_fetch_add(&dc->buffered, len) + len;
  if (now > atomic_load(&dc->low_threshold))
    atomic_store(&dc->low_armed, true);
  g_mutex_unlock(&dc->mu);
  if (!io)
    actr__wake(pc->wake);
  return ACTR_OK;
}

void actr__webrtc_dc_join_frames(actr_webrtc_dc_t *dc) { atomic_store(&dc->join_frames, true); }

int actr_webrtc_dc_send(actr_webrtc_dc_t *dc, const void *data, size_t len, bool is_text) {
  if (!dc || (!data && len))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "dc is NULL or data is NULL");
  return do_send(dc, data, len, NULL, is_text);
}

int actr_webrtc_dc_send_msg(actr_webrtc_dc_t *dc, actr_msg_t *msg, bool is_text) {
  if (!dc || !msg) {
    actr_msg_free(msg);
    return actr__fail(ACTR_EINVALID_ARGUMENT, "dc or msg is NULL");
  }
  return do_send(dc, NULL, actr_msg_len(msg), msg, is_text);
}

static void resume_io(void *data) {
  actr_webrtc_dc_t *dc = data;
  if (dc->pc->sctp)
    actr__sctp_resume(dc->pc->sctp);
  actr__dc_unref(dc);
}

void actr_webrtc_dc_resume(actr_webrtc_dc_t *dc) {
  if (!dc)
    return;
  dc_ref(dc);
  actr_runtime_invoke(dc->pc->rt, resume_io, dc);
}

static void close_now(actr_webrtc_dc_t *dc) {
  int st = get_state(dc);
  if (st == ACTR_WEBRTC_DC_CLOSING || st == ACTR_WEBRTC_DC_CLOSED)
    return;
  if (st == ACTR_WEBRTC_DC_CONNECTING && (dc->open_pending || atomic_load(&dc->sid) < 0)) {
    finish_close(dc, ACTR_OK); /* the peer never heard of it */
    return;
  }
  set_state(dc, ACTR_WEBRTC_DC_CLOSING, false);
  closing(dc);
  if (!dc->released && dc->cbs.on_closing)
    dc->cbs.on_closing(dc, dc->user);
  if (can_send(dc))
    flush(dc); /* sends what is queued, then resets the stream */
  else if (dc->pc->closed)
    finish_close(dc, ACTR_OK);
}

static void close_io(void *data) {
  actr_webrtc_dc_t *dc = data;
  close_now(dc);
  actr__dc_unref(dc);
}

void actr_webrtc_dc_close(actr_webrtc_dc_t *dc) {
  if (!dc)
    return;
  dc_ref(dc);
  actr_runtime_invoke(dc->pc->rt, close_io, dc);
}

static int release_io(void *data) {
  actr_webrtc_dc_t *dc = data;
  dc->released = true;
  memset(&dc->cbs, 0, sizeof dc->cbs);
  dc->user = NULL;
  close_now(dc);
  if (dc->pc->sctp)
    actr__sctp_resume(dc->pc->sctp); /* drop what it held for this channel */
  return ACTR_OK;
}

void actr_webrtc_dc_free(actr_webrtc_dc_t *dc) {
  if (!dc)
    return;
  actr_runtime_call(dc->pc->rt, release_io, dc);
  actr__dc_unref(dc);
}
