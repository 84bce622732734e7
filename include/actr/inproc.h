/* actr/inproc.h — the in-process lane (the reference's MpscLane): envelopes
 * pass from thread to thread as pointers, never serialized. */
#ifndef ACTR_INPROC_H
#define ACTR_INPROC_H

#include <actr/lane.h>
#include <actr/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* actr_lane_inproc_new: a lane with room for @capacity envelopes (actr uses
 * 100; rounded up to a power of two, at least 2, so 100 holds 128).  Any
 * number of threads may send; the one receiver may be used through any
 * handle (receives are serialised).  A full lane blocks senders; try
 * variants return ACTR_EWOULD_BLOCK.  After actr_lane_close() senders get
 * ACTR_ECHANNEL_CLOSED ("Mpsc channel closed"); receivers drain what is
 * queued, then get the same.  Raw send/recv return ACTR_EINVALID_OPERATION.
 * *@out is (transfer full).  ACTR_EINVALID_ARGUMENT for a capacity of 0 or
 * above 1<<24, an invalid @type. */
ACTR_API int actr_lane_inproc_new(actr_payload_type_t type, uint32_t capacity,
                                  actr_lane_t **out);

/** actr_lane_inproc_new_on: as actr_lane_inproc_new, on @rt (the lane holds
 * a reference): besides send and recv it offers push delivery
 * (actr_lane_set_envelope_handler), actr_lane_pause / actr_lane_resume and
 * actr_lane_set_writable_handler, all run on @rt's I/O thread.  A send on
 * that thread never waits (a full lane: ACTR_EWOULD_BLOCK), since the
 * handler that would make room runs there too.  A handler takes at most 64
 * envelopes per dispatch, so one busy lane does not starve the rest of the
 * runtime. */
ACTR_API int actr_lane_inproc_new_on(actr_runtime_t *rt, actr_payload_type_t type,
                                     uint32_t capacity, actr_lane_t **out);

#ifdef __cplusplus
}
#endif
#endif
