/* route_internal.h — the route table's helpers inside the realm layer. */
#ifndef ACTR_ROUTE_INTERNAL_H
#define ACTR_ROUTE_INTERNAL_H

#include <actr/node.h>

/* actr__route_resolve: @given as configured (all zero: the default of
 * @type), made consistent, into *@out. */
void actr__route_resolve(const actr_node_route_t *given, actr_payload_type_t type,
                         actr_node_route_t *out);

/* actr__backoff_ms: the wait after the @done-th failed attempt (1, 2, ...):
 * @initial_ms doubling, at most @max_ms. */
unsigned actr__backoff_ms(unsigned initial_ms, unsigned max_ms, unsigned done);

#endif
