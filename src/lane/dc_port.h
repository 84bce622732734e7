/* dc_port.h — the internal side of DataChannel lanes over ports (the port
 * interface itself is public: actr/dc_port.h): what links and tests need
 * beyond it.  dc_memport.c implements an in-memory pair for tests. */
#ifndef ACTR_DC_PORT_INTERNAL_H
#define ACTR_DC_PORT_INTERNAL_H

#include <actr/dc_port.h>

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
int actr__dc_mempair_new(actr_payload_type_t type, const actr_lane_dc_config_t *cfg,
                         actr_lane_dc_state_t state, actr_lane_t **a, actr_lane_t **b);
void actr__dc_mempair_set_state(actr_lane_t *a, actr_lane_dc_state_t state);
/* actr__dc_mempair_inject: deliver @len raw bytes to @lane as if its peer
 * had sent them as one DataChannel message (hostile-input tests).  Returns
 * false when refused (queue full). */
bool actr__dc_mempair_inject(actr_lane_t *lane, const void *raw, size_t len);

#endif
