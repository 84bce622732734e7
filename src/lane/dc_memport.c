/* dc_memport.c — two DataChannel lanes joined in memory, for tests and the
 * demo: the port of each side delivers straight into the other lane.
 *
 * It behaves like a channel where it matters to the lane: frames refused by
 * a full receiver are held (and count as the sender's buffered amount, so
 * the sender blocks at its high-water mark), delivery resumes in order when
 * the receiver asks, and closing either side closes both.  Everything runs on
 * the callers' threads under one mutex per pair. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "dc_port.h"
#include "error_internal.h"
#include "msg_internal.h"

typedef struct held {
  actr_msg_t *frame;
  struct held *next;
} held_t;

typedef struct mempair mempair_t;

typedef struct memport {
  mempair_t *pair;
  actr_lane_t *lane; /* the lane this port serves; NULL once released */
  struct memport *peer;
  held_t *head, *tail; /* frames for this port's lane, refused so far */
  atomic_size_t held_bytes;
  bool paused;
} memport_t;

struct mempair {
  pthread_mutex_t mu;
  int refs;
  actr_lane_dc_state_t state;
  memport_t side[2];
};

static void hold(memport_t *p, actr_msg_t *frame) {
  held_t *h = malloc(sizeof *h);
  if (!h) {
    actr_msg_free(frame); /* out of memory in a test harness: give up the frame */
    return;
  }
  h->frame = frame;
  h->next = NULL;
  if (p->tail)
    p->tail->next = h;
  else
    p->head = h;
  p->tail = h;
  atomic_fetch_add(&p->held_bytes, actr_msg_len(frame));
  p->paused = true;
}

/* deliver_held: hand held frames to @p's lane in order until one is refused. */
static void deliver_held(memport_t *p) {
  while (p->head && p->lane) {
    held_t *h = p->head;
    size_t len = actr_msg_len(h->frame);
    if (!actr_lane_dc_port_frame(p->lane, h->frame))
      return;
    p->head = h->next;
    if (!p->head)
      p->tail = NULL;
    atomic_fetch_sub(&p->held_bytes, len);
    free(h);
  }
  p->paused = false;
}

static int memport_send(void *port, actr_msg_t *frame) {
  memport_t *p = port;
  mempair_t *pair = p->pair;
  pthread_mutex_lock(&pair->mu);
  int rc = ACTR_OK;
  if (pair->state != ACTR_LANE_DC_OPEN) {
    rc = pair->state == ACTR_LANE_DC_CONNECTING
             ? actr__fail(ACTR_EDATA_CHANNEL_NOT_OPEN, "DataChannel not open")
             : actr__fail(ACTR_EDATA_CHANNEL_CLOSED, "DataChannel closed");
    actr_msg_free(frame);
  } else if (!p->peer->lane) {
    actr_msg_free(frame);
  } else if (p->peer->paused || !actr_lane_dc_port_frame(p->peer->lane, frame)) {
    hold(p->peer, frame);
  }
  pthread_mutex_unlock(&pair->mu);
  return rc;
}

static size_t memport_buffered_amount(void *port) {
  memport_t *p = port;
  return atomic_load(&p->peer->held_bytes);
}

static void memport_resume(void *port) {
  memport_t *p = port;
  pthread_mutex_lock(&p->pair->mu);
  deliver_held(p);
  actr_lane_t *sender = p->peer->lane;
  if (sender)
    actr_lane_dc_port_drained(sender);
  pthread_mutex_unlock(&p->pair->mu);
}

static void set_state_locked(mempair_t *pair, actr_lane_dc_state_t state) {
  pair->state = state;
  for (int i = 0; i < 2; i++)
    if (pair->side[i].lane) {
      actr_lane_dc_port_state(pair->side[i].lane, state);
      actr_lane_dc_port_drained(pair->side[i].lane);
    }
}

static void memport_close(void *port) {
  memport_t *p = port;
  pthread_mutex_lock(&p->pair->mu);
  if (p->pair->state != ACTR_LANE_DC_CLOSED)
    set_state_locked(p->pair, ACTR_LANE_DC_CLOSED);
  pthread_mutex_unlock(&p->pair->mu);
}

static void memport_release(void *port) {
  memport_t *p = port;
  mempair_t *pair = p->pair;
  pthread_mutex_lock(&pair->mu);
  p->lane = NULL;
  bool last = --pair->refs == 0;
  pthread_mutex_unlock(&pair->mu);
  if (!last)
    return;
  for (int i = 0; i < 2; i++)
    while (pair->side[i].head) {
      held_t *h = pair->side[i].head;
      pair->side[i].head = h->next;
      actr_msg_free(h->frame);
      free(h);
    }
  pthread_mutex_destroy(&pair->mu);
  free(pair);
}

static const actr_lane_dc_port_ops_t memport_ops = {
  .send = memport_send,
  .buffered_amount = memport_buffered_amount,
  .resume = memport_resume,
  .close = memport_close,
  .release = memport_release,
};

int actr__dc_mempair_new(actr_payload_type_t type, const actr_lane_dc_config_t *cfg,
                         actr_lane_dc_state_t state, actr_lane_t **a, actr_lane_t **b) {
  *a = *b = NULL;
  mempair_t *pair = calloc(1, sizeof *pair);
  if (!pair)
    return actr__fail(ACTR_ENO_MEMORY, "in-memory channel pair");
  pthread_mutex_init(&pair->mu, NULL);
  pair->state = state;
  for (int i = 0; i < 2; i++) {
    pair->side[i].pair = pair;
    pair->side[i].peer = &pair->side[1 - i];
    atomic_init(&pair->side[i].held_bytes, 0);
  }
  int rc = actr_lane_dc_new(type, &memport_ops, &pair->side[0], state, cfg, a);
  if (rc != ACTR_OK) {
    pthread_mutex_destroy(&pair->mu);
    free(pair);
    return rc;
  }
  pair->refs = 2; /* from here each lane releases its side */
  pair->side[0].lane = *a;
  rc = actr_lane_dc_new(type, &memport_ops, &pair->side[1], state, cfg, b);
  if (rc != ACTR_OK) {
    pair->refs = 1;
    actr_lane_unref(*a);
    *a = NULL;
    return rc;
  }
  pair->side[1].lane = *b;
  return ACTR_OK;
}

void actr__dc_mempair_set_state(actr_lane_t *a, actr_lane_dc_state_t state) {
  memport_t *p = actr__dc_lane_port(a);
  pthread_mutex_lock(&p->pair->mu);
  set_state_locked(p->pair, state);
  pthread_mutex_unlock(&p->pair->mu);
}

bool actr__dc_mempair_inject(actr_lane_t *lane, const void *raw, size_t len) {
  actr_msg_t *frame;
  if (actr_msg_new_copy(raw, len, &frame) != ACTR_OK)
    return false;
  if (actr_lane_dc_port_frame(lane, frame))
    return true;
  actr_msg_free(frame);
  return false;
}
