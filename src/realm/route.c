/* route.c — the route table of a node (actr/node.h, issue 11 point 1):
 * actr's defaults (core/hyper/src/transport/route_table.rs, v0.5.4) and
 * the backoff between attempts.  No state: the node keeps its own copy. */
#include <string.h>

#include <actr/node.h>

#include "route_internal.h"

void actr_node_route_default(actr_payload_type_t type, actr_node_route_t *out) {
  if (!out)
    return;
  memset(out, 0, sizeof *out);
  out->max_attempts = 1;
  switch (type) {
  case ACTR_PAYLOAD_RPC_SIGNAL: /* one retry, 500 ms later */
    out->max_attempts = 2;
    out->backoff_initial_ms = out->backoff_max_ms = 500;
    break;
  case ACTR_PAYLOAD_RPC_RELIABLE: /* four retries, 1 s doubling to 5 s */
    out->max_attempts = 5;
    out->backoff_initial_ms = 1000;
    out->backoff_max_ms = 5000;
    break;
  case ACTR_PAYLOAD_STREAM_RELIABLE:
  case ACTR_PAYLOAD_STREAM_LATENCY_FIRST:
    break;
  default: /* MEDIA_RTP is a media track, never a data lane */
    return;
  }
  out->wires[0] = ACTR_NODE_WIRE_WEBRTC;
  out->wires[1] = ACTR_NODE_WIRE_WEBSOCKET;
}

void actr__route_resolve(const actr_node_route_t *given, actr_payload_type_t type,
                         actr_node_route_t *out) {
  static const actr_node_route_t zero;
  if (!given || memcmp(given, &zero, sizeof zero) == 0) {
    actr_node_route_default(type, out);
    return;
  }
  *out = *given;
  if (out->max_attempts == 0)
    out->max_attempts = 1;
  if (out->backoff_max_ms < out->backoff_initial_ms)
    out->backoff_max_ms = out->backoff_initial_ms;
}

unsigned actr__backoff_ms(unsigned initial_ms, unsigned max_ms, unsigned done) {
  unsigned long long d = initial_ms;
  for (unsigned i = 1; i < done && d < max_ms; i++)
    d *= 2;
  return d > max_ms ? max_ms : (unsigned)d;
}
