/* dc_port.h — what the DataChannel lane (dc_lane.c) needs of a data
 * channel, and what the channel tells the lane.  The WebRTC wire implements
 * a port per channel; dc_memport.c implements an in-memory pair for tests.
 *
 * Port operations (all callable from any thread, none blocks):
 *   send             queue one frame (transfer full: consumed even on
 *                    failure).  ACTR_EDATA_CHANNEL_CLOSED once closing or
 *                    closed, ACTR_EDATA_CHANNEL_NOT_OPEN while connecting,
 *                    ACTR_EDATA_CHANNEL for anything else.
 *   buffered_amount  bytes accepted by send and not yet handed to the
 *                    transport (a lock-free read).
 *   resume           deliver again after actr__dc_lane_port_frame refused a
 *                    frame; the port redelivers the refused frame first.
 *   close            start closing the channel.
 *   release          the lane drops its reference to the port.
 * Optional, all three or none (push delivery, actr_lane_set_handler):
 *   call             run @fn(@data) on the port's delivery thread (the one
 *                    that calls actr__dc_lane_port_frame) and wait for it;
 *                    inline when called there.
 *   on_delivery_thread  true on that thread (where sends must not wait).
 *   buffer_limit     the most bytes the channel holds (sends beyond fail).
 * Optional:
 *   lend             a receiver is about to wait: run the port's delivery
 *                    loop on its thread until @done(@data) or @timeout_ms
 *                    (see actr__runtime_lend); false when it cannot (the
 *                    receiver then waits on the ring).
 *   wake             make that loop look again (the lane closed under a
 *                    receiver running it).
 *   post             run @fn(@data) on the delivery thread later, never
 *                    inline (actr_lane_resume, the writable handler; without
 *                    it the lane offers no writable handler).
 * Notifications to the lane (from the port's thread, no port lock held
 * except where said): actr__dc_lane_port_state, actr__dc_lane_port_frame,
 * actr__dc_lane_port_drained (each time buffered_amount falls to at most
 * half the lane's high-water mark and half of buffer_limit, after it was
 * above). */
#ifndef ACTR_DC_PORT_H
#define ACTR_DC_PORT_H

#include <stdbool.h>
#include <stddef.h>

#include <actr/lane.h>

typedef enum actr__dc_state {
  ACTR__DC_CONNECTING = 0,
  ACTR__DC_OPEN,
  ACTR__DC_CLOSING,
  ACTR__DC_CLOSED
} actr__dc_state_t;

typedef struct actr__dc_port_ops {
  int (*send)(void *port, actr_msg_t *frame);
  size_t (*buffered_amount)(void *port);
  void (*resume)(void *port);
  void (*close)(void *port);
  void (*release)(void *port);
  int (*call)(void *port, int (*fn)(void *data), void *data);
  bool (*on_delivery_thread)(void *port);
  size_t (*buffer_limit)(void *port);
  bool (*lend)(void *port, bool (*done)(void *data), void *data, int timeout_ms);
  void (*wake)(void *port);
  void (*post)(void *port, void (*fn)(void *data), void *data);
} actr__dc_port_ops_t;

/* actr__dc_lane_config_t: bounds of one DataChannel lane. */
typedef struct actr__dc_lane_config {
  uint32_t inbound_frames;        /* frames queued for recv (default 64) */
  size_t send_high_water_bytes;   /* send waits while buffered_amount is above (default 1 MiB) */
  int open_timeout_ms;            /* INITIAL_CONNECTION_TIMEOUT (default 10000) */
  actr_reassembly_config_t reassembly; /* zeros: actr_reassembly_config_default(type) */
} actr__dc_lane_config_t;

/* actr__dc_lane_new: a lane over @port (the lane takes one reference to it,
 * given back through ops->release).  @cfg may be NULL.  The lane starts in
 * @state. */
int actr__dc_lane_new(actr_payload_type_t type, const actr__dc_port_ops_t *ops, void *port,
                      actr__dc_state_t state, const actr__dc_lane_config_t *cfg,
                      actr_lane_t **out);

/* actr__dc_lane_port_state: the channel's state changed. */
void actr__dc_lane_port_state(actr_lane_t *lane, actr__dc_state_t state);

/* actr__dc_lane_port_frame: one whole DataChannel message arrived.  Returns
 * true when the lane took it (transfer full); false when the lane's inbound
 * queue is full: the port keeps the frame, stops delivering, and delivers it
 * again after ops->resume.  Never blocks; with a handler set it runs the
 * handler (on the port's delivery thread) for what the frame completes. */
bool actr__dc_lane_port_frame(actr_lane_t *lane, actr_msg_t *frame);

/* actr__dc_lane_port_drained: buffered_amount fell (wake blocked senders,
 * tell a writable handler). */
void actr__dc_lane_port_drained(actr_lane_t *lane);

/* A lane made by a link for a channel nobody has asked for yet pushes back
 * like any other when its ring is full.  actr__dc_lane_mark_unread (the link:
 * other lanes are read, this one not) makes a full ring drop frames
 * instead, counted (dropped_unread), so it stalls nobody else;
 * actr__dc_lane_claim (someone asked for the lane) ends that for good. */
void actr__dc_lane_mark_unread(actr_lane_t *lane);
void actr__dc_lane_claim(actr_lane_t *lane);

/* actr__dc_lane_port: the port a DataChannel lane was created over. */
void *actr__dc_lane_port(actr_lane_t *lane);

/* actr__dc_mempair_new: two lanes of @type joined in memory (what one sends
 * the other receives), both in @state.  Flow control is real: a lane that is not
 * read refuses frames, the other's buffered amount grows, its sender blocks.
 * actr__dc_mempair_set_state() moves both lanes to @state (as a channel
 * would: CONNECTING then OPEN, or CLOSED). */
int actr__dc_mempair_new(actr_payload_type_t type, const actr__dc_lane_config_t *cfg,
                         actr__dc_state_t state, actr_lane_t **a, actr_lane_t **b);
void actr__dc_mempair_set_state(actr_lane_t *a, actr__dc_state_t state);
/* actr__dc_mempair_inject: deliver @len raw bytes to @lane as if its peer
 * had sent them as one DataChannel message (hostile-input tests).  Returns
 * false when refused (queue full). */
bool actr__dc_mempair_inject(actr_lane_t *lane, const void *raw, size_t len);

#endif
