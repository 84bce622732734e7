/** @file
 * actr/webrtc_link.h — DataChannel lanes between two actors over one WebRTC
 * peer connection (the reference's WebRtcDataLane, SPEC §1.3, §2, §3).
 *
 * A link owns one peer connection (actr/webrtc.h), talks to the peer through
 * a signaling endpoint (actr/signaling.h: offer, answer, trickled
 * candidates), and hands out one lane per PayloadType: a data channel whose
 * label is the type's name (STREAM_LATENCY_FIRST unordered with 3
 * retransmits, the others ordered and reliable; MEDIA_RTP refused with
 * ACTR_ENOT_IMPLEMENTED).  The offering side opens the channels, on demand;
 * the answering side binds each lane to the channel the peer opens with that
 * label, and keeps what arrives before the lane is asked for.  A second
 * channel the peer opens with a label already bound is refused (closed): a
 * lane reads one channel.  A trickled candidate the peer connection cannot
 * take (actr_webrtc_pc_add_remote_candidate fails) is logged and skipped;
 * any other signaling message that cannot be applied fails the link and is
 * answered with an ERROR message, and an ERROR from the peer fails the link
 * (unanswered).
 *
 * Threads: every function may be called from any thread except the
 * runtime's I/O thread (they may wait for it). */
#ifndef ACTR_WEBRTC_LINK_H
#define ACTR_WEBRTC_LINK_H

#include <actr/lane.h>
#include <actr/runtime.h>
#include <actr/signaling.h>
#include <actr/webrtc.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_webrtc_link_t: one DataChannel lane per payload type over a peer
 * connection (one owner: actr_webrtc_link_free). */
typedef struct actr_webrtc_link actr_webrtc_link_t;

/** actr_webrtc_link_config_t: zero fields take the defaults. */
typedef struct actr_webrtc_link_config {
  /** ICE servers, policy, local addresses, ports, certificate, SCTP sizes,
   * dead-peer detection (peer_timeout_ms: 8000 by default; a silent peer
   * fails the link and every lane's blocked send/recv returns
   * ACTR_EDATA_CHANNEL_CLOSED).  Its on_candidate and on_data_channel
   * are the link's and are ignored.  Its on_state (nullable) hears every
   * state of the peer connection with webrtc.user, after the link has
   * acted on it (on the I/O thread), and FAILED when a signaling message
   * fails the link (on the thread that delivered it: the link's lanes
   * close then, as at the connection's FAILED); after FAILED or CLOSED it
   * hears nothing more.  The link tells states one at a time, in the order
   * it decided them: while on_state runs, a state decided on another thread
   * (the I/O thread included) waits for it.  So it must not block, wait for
   * the I/O thread or a thread that delivers signaling, or free the link. */
  actr_webrtc_config_t webrtc;
  /** Per lane: frames waiting for recv (64), the send high-water mark of the
   * channel's buffered amount (1 MiB), how long send waits for the channel
   * to open (10000 ms, the reference's INITIAL_CONNECTION_TIMEOUT). */
  uint32_t inbound_frames;
  size_t send_high_water_bytes; /**< see inbound_frames */
  int open_timeout_ms;          /**< see inbound_frames */
  /** Reassembly bounds; zeros: actr_reassembly_config_default() per type. */
  actr_reassembly_config_t reassembly;
} actr_webrtc_link_config_t;

/** actr_webrtc_link_config_init: zero @p cfg and initialise its webrtc part. */
ACTR_API void actr_webrtc_link_config_init(actr_webrtc_link_config_t *cfg);

/** actr_webrtc_link_new: start a link on @p rt over @p sig (borrowed: it must
 * outlive the link; the link sets its receiver).  @p offerer: this side makes
 * the offer now; otherwise it answers the offer that arrives.  Returns at
 * once; use actr_webrtc_link_wait_connected.  *@p out is (transfer full). */
ACTR_API int actr_webrtc_link_new(actr_runtime_t *rt, const actr_webrtc_link_config_t *cfg,
                               actr_signaling_t *sig, bool offerer, actr_webrtc_link_t **out);

/** actr_webrtc_link_wait_connected: wait up to @p timeout_ms (-1: no limit) for
 * the peer connection to be CONNECTED.  ACTR_ETIMEOUT, or the failure
 * (ACTR_EICE, ACTR_EDTLS, ACTR_EWEBRTC, ACTR_ESIGNALING, ...). */
ACTR_API int actr_webrtc_link_wait_connected(actr_webrtc_link_t *link, int timeout_ms);

/** actr_webrtc_link_state: the peer connection's state now. */
ACTR_API actr_webrtc_pc_state_t actr_webrtc_link_state(const actr_webrtc_link_t *link);

/** actr_webrtc_link_restart_ice: restart ICE on the link's live peer
 * connection (actr_webrtc_pc_restart_ice): the offering side sends the new
 * offer through the signaling endpoint (the answer it gets back completes
 * the restart); the answering side holds its connection for the offer the
 * peer will send (an offer on a live connection with new ICE credentials
 * is taken as a restart and answered, with or without this call).  Lanes
 * and their channels stay.  @p timeout_ms: the restart's time limit, after
 * which the link fails.  Codes of actr_webrtc_pc_restart_ice and
 * actr_signaling_send. */
ACTR_API int actr_webrtc_link_restart_ice(actr_webrtc_link_t *link, int timeout_ms);

/** actr_webrtc_link_lane: the lane of @p type (created on demand and cached):
 * *@p out is a new handle (transfer full, actr_lane_unref).  Its send waits
 * for the channel to open.
 *
 * Types nobody reads: a channel the peer opens before its lane is asked
 * for is read into the lane's queue (inbound_frames).  While no lane of
 * the link has been asked for, a full queue pushes the peer back (SCTP
 * flow control: the whole association waits).  Once some lane has been
 * asked for, a full queue of a lane nobody asked for drops what arrives,
 * counted in its stats (dropped_unread), so it stalls none of the lanes
 * that are read.  A lane asked for always pushes back when full. */
ACTR_API int actr_webrtc_link_lane(actr_webrtc_link_t *link, actr_payload_type_t type,
                                actr_lane_t **out);

/** actr_webrtc_link_stats: the stats of @p type's lane (zeros when there is none
 * yet) without asking for it (so without changing what a full queue does,
 * above).  Any thread. */
ACTR_API int actr_webrtc_link_stats(actr_webrtc_link_t *link, actr_payload_type_t type,
                                 actr_lane_stats_t *out);

/** actr_webrtc_link_free: close every lane (blocked callers get
 * ACTR_EDATA_CHANNEL_CLOSED), close the peer connection, free the link.
 * Lane handles still held stay valid (closed) until unreferenced. */
ACTR_API void actr_webrtc_link_free(actr_webrtc_link_t *link);

#ifdef __cplusplus
}
#endif
#endif
