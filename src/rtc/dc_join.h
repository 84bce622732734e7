/* dc_join.h — for the WebRTC link (webrtc_link.c): mark a data channel as
 * the carrier of a DataChannel lane, so that its association joins the
 * consecutive fragments of one lane message as it reads them (sctp.c,
 * "joining"), and the lane hands the message out without a copy. */
#ifndef ACTR_RTC_DC_JOIN_H
#define ACTR_RTC_DC_JOIN_H

#include <actr/webrtc.h>

/* actr__webrtc_dc_join_frames: @dc carries SPEC §1.3 frames from now on;
 * only a DataChannel lane may read what it delivers then (a joined
 * message is one lane frame holding several fragments).  Any thread. */
void actr__webrtc_dc_join_frames(actr_webrtc_dc_t *dc);

#endif
