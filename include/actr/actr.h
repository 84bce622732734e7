/* actr/actr.h — the whole public API of libactr in one include. */
#ifndef ACTR_ACTR_H
#define ACTR_ACTR_H

#include <actr/error.h>
#include <actr/payload_type.h>
#include <actr/msg.h>
#include <actr/envelope.h>
#include <actr/lane.h>
#include <actr/inproc.h>
#include <actr/runtime.h>
#include <actr/signaling.h>
#include <actr/websocket.h>
#include <actr/signaling_ws.h>
#include <actr/webrtc.h>
#include <actr/webrtc_link.h>
#include <actr/dc_port.h>
#include <actr/identity.h>
#include <actr/ais.h>
#include <actr/node.h>

#endif
