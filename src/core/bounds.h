/* bounds.h — two rules of libactr's bounded queues and their settings,
 * written once.  Internal.
 *
 * Zero means "the default": every number of a config struct that the caller
 * left 0 takes its default (docs/NAMING.md, `_config_init`).
 *
 * Resume at half empty: a producer stopped by a full queue (a port whose
 * frame was refused, a socket no longer read, senders blocked on a full
 * ring or outbound queue) is resumed once the consumer has drained the queue
 * to half its bound, not as soon as there is room for one more: the
 * hysteresis makes one resume refill half a queue instead of costing one
 * resume (a wake-up, a dispatch) per item. */
#ifndef ACTR_BOUNDS_H
#define ACTR_BOUNDS_H

#include <stdbool.h>
#include <stdint.h>

/* ACTR__OR_DEFAULT: @value, or @def when @value is 0 (evaluates @value
 * twice). */
#define ACTR__OR_DEFAULT(value, def) ((value) ? (value) : (def))

/* actr__half_empty: a queue holding @used of its bound @bound has drained
 * far enough to resume its producer. */
static inline bool actr__half_empty(uint64_t used, uint64_t bound) {
  return used <= bound / 2;
}

#endif
