/** @file
 * actr/payload_type.h — the traffic classes (proto2 enum actr.PayloadType)
 * and what each needs of a lane (SPEC §1.1). */
#ifndef ACTR_PAYLOAD_TYPE_H
#define ACTR_PAYLOAD_TYPE_H

#include <stdbool.h>
#include <actr/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_payload_type_t: wire values are fixed by actr.PayloadType. */
typedef enum actr_payload_type {
  ACTR_PAYLOAD_RPC_RELIABLE = 0, /**< the default */
  ACTR_PAYLOAD_RPC_SIGNAL = 1,           /**< reliable, ordered */
  ACTR_PAYLOAD_STREAM_RELIABLE = 2,      /**< reliable, ordered */
  ACTR_PAYLOAD_STREAM_LATENCY_FIRST = 3, /**< unordered, at most 3 retransmissions */
  ACTR_PAYLOAD_MEDIA_RTP = 4             /**< not a DataLane (RTP tracks); in-process
                                              and WebSocket lanes carry it */
} actr_payload_type_t;

/** The number of payload types (valid values are 0 .. count - 1). */
#define ACTR_PAYLOAD_TYPE_COUNT 5

/** actr_payload_type_qos_t: the DataChannel delivery a payload type asks for. */
typedef struct actr_payload_type_qos {
  bool ordered;        /**< messages arrive in the order sent */
  int max_retransmits; /**< -1: reliable (no limit) */
} actr_payload_type_qos_t;

/** Lane kinds, as a bit set (actr_payload_type_lanes). */
enum {
  ACTR_LANE_KIND_INPROC = 1 << 0,     /**< in-process lanes (actr/inproc.h) */
  ACTR_LANE_KIND_WEBSOCKET = 1 << 1,  /**< WebSocket lanes (actr/websocket.h) */
  ACTR_LANE_KIND_DATACHANNEL = 1 << 2 /**< DataChannel lanes (actr/webrtc_link.h) */
};

/** actr_payload_type_name: "RPC_RELIABLE", ... (transfer none, static); NULL
 * for a value outside the enum.  Also the DataChannel label. */
ACTR_API const char *actr_payload_type_name(int type);

/** actr_payload_type_from_name: parse an enum name (exact, case-sensitive).
 * Returns ACTR_OK and sets *@p out, or ACTR_EINVALID_ARGUMENT. */
ACTR_API int actr_payload_type_from_name(const char *name, actr_payload_type_t *out);

/** actr_payload_type_is_valid: true for 0..4. */
ACTR_API bool actr_payload_type_is_valid(int type);

/** actr_payload_type_qos: DataChannel QoS of @p type into *@p out.  MEDIA_RTP is
 * not a DataLane: ACTR_ENOT_IMPLEMENTED.  Invalid: ACTR_EINVALID_ARGUMENT. */
ACTR_API int actr_payload_type_qos(actr_payload_type_t type, actr_payload_type_qos_t *out);

/** actr_payload_type_lanes: the ACTR_LANE_KIND_* bits of lanes that carry
 * @p type (0 for an invalid value).  MEDIA_RTP: in-process and WebSocket only. */
ACTR_API unsigned actr_payload_type_lanes(actr_payload_type_t type);

#ifdef __cplusplus
}
#endif
#endif
