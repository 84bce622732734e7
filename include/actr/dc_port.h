/** @file actr/dc_port.h — a DataChannel lane over a data channel of your own.
 *
 * The DataChannel lane (fragments of SPEC §1.3, reassembly, flow control,
 * push delivery) does not need libactr's WebRTC stack: it talks to a
 * *port*, a table of functions over any message transport that keeps
 * message boundaries and order the way a data channel does (a browser's
 * RTCDataChannel through a binding, another WebRTC stack, a SEQPACKET
 * socket, a test double).  actr/webrtc_link.h builds its lanes over ports of
 * libactr's own channels; examples/dc_port.c builds one over a UNIX socket.
 *
 * The lane calls the port's operations from any thread; none may block.
 * The port tells the lane what happens on its side with the
 * actr_lane_dc_port_* notifications, from its own thread (the "delivery
 * thread"), holding none of its locks that its operations take. */
#ifndef ACTR_DC_PORT_H
#define ACTR_DC_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actr/export.h>
#include <actr/lane.h>
#include <actr/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_lane_dc_state_t: the channel's state as the lane sees it (the W3C
 * RTCDataChannelState values).  States only move forward. */
typedef enum actr_lane_dc_state {
  ACTR_LANE_DC_CONNECTING = 0, /**< not open yet: sends wait (open_timeout_ms) */
  ACTR_LANE_DC_OPEN,           /**< frames flow */
  ACTR_LANE_DC_CLOSING,        /**< closing: sends fail, what is queued can be read */
  ACTR_LANE_DC_CLOSED          /**< closed */
} actr_lane_dc_state_t;

/** actr_lane_dc_port_ops_t: what the lane needs of a channel.  Mandatory:
 * send, buffered_amount, resume, close, release.  call, on_delivery_thread
 * and buffer_limit go together (all or none): with them the lane offers
 * push delivery (actr_lane_set_handler, actr_lane_pause); post adds
 * actr_lane_resume and the writable handler.  lend and wake are
 * optional. */
typedef struct actr_lane_dc_port_ops {
  /** Queue one frame (one data channel message) for the peer.  @p frame is
   * (transfer full): consumed even on failure.  ACTR_EDATA_CHANNEL_CLOSED
   * once closing or closed, ACTR_EDATA_CHANNEL_NOT_OPEN while connecting,
   * ACTR_EMESSAGE_TOO_LARGE for a frame over what the peer takes (the lane
   * passes it on), ACTR_EDATA_CHANNEL for anything else.  Never blocks. */
  int (*send)(void *port, actr_msg_t *frame);
  /** Bytes accepted by send and not yet handed to the transport (read
   * without a lock: called often). */
  size_t (*buffered_amount)(void *port);
  /** Deliver again: actr_lane_dc_port_frame refused a frame (the lane's
   * queue was full); the port kept it and stopped delivering.  Deliver
   * the kept frame first, from the delivery thread. */
  void (*resume)(void *port);
  /** Start closing the channel. */
  void (*close)(void *port);
  /** The lane's last reference to the port is gone: free it.  No other
   * operation follows. */
  void (*release)(void *port);
  /** Run @p fn(@p data) on the delivery thread and wait for it; inline when
   * called there.  Returns what @p fn returns. */
  int (*call)(void *port, int (*fn)(void *data), void *data);
  /** True on the delivery thread (where the lane's sends never wait). */
  bool (*on_delivery_thread)(void *port);
  /** The most bytes the channel holds queued (sends beyond it fail). */
  size_t (*buffer_limit)(void *port);
  /** Optional: a receiver is about to wait for a message: run the
   * delivery loop on its thread until @p done(@p data) is true (check it
   * after each step) or @p timeout_ms (-1: no limit) passed.  Return false
   * at once when it cannot; the receiver then waits its usual way. */
  bool (*lend)(void *port, bool (*done)(void *data), void *data, int timeout_ms);
  /** Optional: make a loop running for lend look at @p done again (the lane
   * closed under the waiting receiver). */
  void (*wake)(void *port);
  /** Optional: run @p fn(@p data) on the delivery thread later, from a
   * dispatch of its own: never inline, not even on that thread. */
  void (*post)(void *port, void (*fn)(void *data), void *data);
} actr_lane_dc_port_ops_t;

/** actr_lane_dc_config_t: bounds of one DataChannel lane; zeros take the
 * defaults. */
typedef struct actr_lane_dc_config {
  uint32_t inbound_frames;      /**< frames queued for recv (default 64) */
  size_t send_high_water_bytes; /**< send waits while buffered_amount is above (default 1 MiB) */
  int open_timeout_ms;          /**< how long a send waits for the channel to open (default 10000) */
  actr_reassembly_config_t reassembly; /**< zeros: actr_reassembly_config_default() of the type */
} actr_lane_dc_config_t;

/** actr_lane_dc_config_init: zero @p cfg (the defaults everywhere). */
ACTR_API void actr_lane_dc_config_init(actr_lane_dc_config_t *cfg);

/** actr_lane_dc_new: a DataChannel lane of @p type over @p port (your channel;
 * the lane holds it until ops->release), starting in @p state.  @p ops must
 * outlive the lane; @p cfg may be NULL.  *@p out is (transfer full,
 * actr_lane_unref).  The lane speaks SPEC §1.3 to the peer: any DataChannel
 * lane (libactr's, actr's Rust lanes) reads what it sends.  Codes:
 * ACTR_EINVALID_ARGUMENT (a mandatory op missing, call /
 * on_delivery_thread / buffer_limit not all or none, an invalid @p type),
 * ACTR_ENOT_IMPLEMENTED (MEDIA_RTP), ACTR_ENO_MEMORY. */
ACTR_API int actr_lane_dc_new(actr_payload_type_t type, const actr_lane_dc_port_ops_t *ops,
                              void *port, actr_lane_dc_state_t state,
                              const actr_lane_dc_config_t *cfg, actr_lane_t **out);

/** actr_lane_dc_port_state: the channel moved to @p state (earlier states
 * are ignored).  Wakes senders waiting for the channel to open. */
ACTR_API void actr_lane_dc_port_state(actr_lane_t *lane, actr_lane_dc_state_t state);

/** actr_lane_dc_port_frame: one whole channel message arrived.  Returns
 * true when the lane took it (transfer full); false when its queue is
 * full: the port keeps @p frame, delivers nothing more, and delivers @p frame
 * again after ops->resume.  Never blocks; with a handler set, the handler
 * runs inside this call for the messages @p frame completes. */
ACTR_API bool actr_lane_dc_port_frame(actr_lane_t *lane, actr_msg_t *frame);

/** actr_lane_dc_port_drained: buffered_amount fell to at most half the
 * lane's high-water mark and half of buffer_limit, after it was above:
 * wakes senders waiting for room and tells a writable handler.  Call it
 * each time the amount crosses down (more often is harmless). */
ACTR_API void actr_lane_dc_port_drained(actr_lane_t *lane);

#ifdef __cplusplus
}
#endif
#endif
