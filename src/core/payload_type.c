/* payload_type.c — the PayloadType table of SPEC §1.1. */
#include <actr/payload_type.h>
#include <actr/error.h>
#include "error_internal.h"

#include <string.h>

static const struct {
  const char *name;
  actr_payload_type_qos_t qos;
  unsigned lanes;
} table[ACTR_PAYLOAD_TYPE_COUNT] = {
  [ACTR_PAYLOAD_RPC_RELIABLE] = {"RPC_RELIABLE", {true, -1},
    ACTR_LANE_KIND_INPROC | ACTR_LANE_KIND_WEBSOCKET | ACTR_LANE_KIND_DATACHANNEL},
  [ACTR_PAYLOAD_RPC_SIGNAL] = {"RPC_SIGNAL", {true, -1},
    ACTR_LANE_KIND_INPROC | ACTR_LANE_KIND_WEBSOCKET | ACTR_LANE_KIND_DATACHANNEL},
  [ACTR_PAYLOAD_STREAM_RELIABLE] = {"STREAM_RELIABLE", {true, -1},
    ACTR_LANE_KIND_INPROC | ACTR_LANE_KIND_WEBSOCKET | ACTR_LANE_KIND_DATACHANNEL},
  /* Latency first: unordered, at most 3 retransmissions (SPEC §1.1). */
  [ACTR_PAYLOAD_STREAM_LATENCY_FIRST] = {"STREAM_LATENCY_FIRST", {false, 3},
    ACTR_LANE_KIND_INPROC | ACTR_LANE_KIND_WEBSOCKET | ACTR_LANE_KIND_DATACHANNEL},
  /* Media goes over RTP tracks, not a DataChannel; the WebSocket header
   * still accepts the value (as the reference does). */
  [ACTR_PAYLOAD_MEDIA_RTP] = {"MEDIA_RTP", {true, -1},
    ACTR_LANE_KIND_INPROC | ACTR_LANE_KIND_WEBSOCKET},
};

bool actr_payload_type_is_valid(int type) {
  return type >= 0 && type < ACTR_PAYLOAD_TYPE_COUNT;
}

const char *actr_payload_type_name(int type) {
  return actr_payload_type_is_valid(type) ? table[type].name : NULL;
}

int actr_payload_type_from_name(const char *name, actr_payload_type_t *out) {
  if (name)
    for (int i = 0; i < ACTR_PAYLOAD_TYPE_COUNT; i++)
      if (strcmp(name, table[i].name) == 0) {
        if (out)
          *out = (actr_payload_type_t)i;
        return ACTR_OK;
      }
  return actr__fail(ACTR_EINVALID_ARGUMENT, "unknown payload type '%s'", name ? name : "(null)");
}

int actr_payload_type_qos(actr_payload_type_t type, actr_payload_type_qos_t *out) {
  if (!actr_payload_type_is_valid((int)type) || !out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "invalid payload type %d", (int)type);
  if (!(table[type].lanes & ACTR_LANE_KIND_DATACHANNEL))
    return actr__fail(ACTR_ENOT_IMPLEMENTED,
                      "%s is not carried by a DataChannel (media track path)", table[type].name);
  *out = table[type].qos;
  return ACTR_OK;
}

unsigned actr_payload_type_lanes(actr_payload_type_t type) {
  return actr_payload_type_is_valid((int)type) ? table[type].lanes : 0;
}
