/* signaling.c — signaling endpoints: the generic wrapper around a path's ops
 * and the in-process pair. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <actr/signaling.h>

#include "error_internal.h"

struct actr_signaling {
  const actr_signaling_ops_t *ops;
  void *impl;
  pthread_mutex_t mu; /* receiver fields; held while delivering so free waits */
  actr_signaling_recv_fn fn;
  void *user;
  bool closed;
};

int actr_signaling_new(const actr_signaling_ops_t *ops, void *impl, actr_signaling_t **out) {
  if (!ops || !ops->send || !out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "signaling ops without send");
  actr_signaling_t *sig = calloc(1, sizeof *sig);
  if (!sig)
    return actr__fail(ACTR_ENO_MEMORY, "signaling endpoint");
  sig->ops = ops;
  sig->impl = impl;
  pthread_mutex_init(&sig->mu, NULL);
  *out = sig;
  return ACTR_OK;
}

void actr_signaling_set_receiver(actr_signaling_t *sig, actr_signaling_recv_fn fn, void *user) {
  pthread_mutex_lock(&sig->mu);
  sig->fn = fn;
  sig->user = user;
  pthread_mutex_unlock(&sig->mu);
}

int actr_signaling_send(actr_signaling_t *sig, const actr_signaling_msg_t *msg) {
  if (!sig || !msg)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "NULL argument");
  return sig->ops->send(sig->impl, msg);
}

void actr_signaling_deliver(actr_signaling_t *sig, const actr_signaling_msg_t *msg) {
  /* The receiver is user code; it runs under this endpoint's own delivery
   * lock only, so that actr_signaling_free() can wait for it to finish. */
  pthread_mutex_lock(&sig->mu);
  if (!sig->closed && sig->fn)
    sig->fn(msg, sig->user);
  pthread_mutex_unlock(&sig->mu);
}

void actr_signaling_free(actr_signaling_t *sig) {
  if (!sig)
    return;
  pthread_mutex_lock(&sig->mu);
  sig->closed = true;
  pthread_mutex_unlock(&sig->mu);
  if (sig->ops->close)
    sig->ops->close(sig->impl);
  if (sig->ops->free)
    sig->ops->free(sig->impl);
  pthread_mutex_destroy(&sig->mu);
  free(sig);
}

/* ---- in-process pair ----
 *
 * Messages are delivered by the pair's own thread, in order, never on the
 * sender's thread: a receiver may block (a peer connection's set-up waits
 * for its I/O thread) while the other side's I/O thread is sending, and
 * delivering in place would let the two wait for each other. */

typedef struct queued {
  struct queued *next;
  int to; /* side */
  actr_signaling_msg_t msg; /* owned copies */
} queued_t;

/* Signaling is a handful of messages per connection; a sender that queues
 * more than this without the receiver keeping up is refused, not buffered. */
#define PAIR_MAX_QUEUED 1024

typedef struct pair {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  pthread_cond_t delivered; /* delivering went back to -1 */
  int delivering; /* the side a message is being handed to, outside mu; -1: none */
  int refs;
  int queued;
  bool stop;
  actr_signaling_t *end[2];
  queued_t *head, *tail;
  pthread_t thread;
} pair_t;

typedef struct pair_end {
  pair_t *pair;
  int side;
} pair_end_t;

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void *pair_thread(void *p) {
  pair_t *pair = p;
  pthread_mutex_lock(&pair->mu);
  for (;;) {
    while (!pair->head && !pair->stop)
      pthread_cond_wait(&pair->cond, &pair->mu);
    if (!pair->head)
      break;
    queued_t *q = pair->head;
    pair->head = q->next;
    if (!pair->head)
      pair->tail = NULL;
    pair->queued--;
    actr_signaling_t *to = pair->end[q->to];
    /* Marked, so that freeing that end (pair_close) waits until this is
     * over: it must not free the endpoint while it is being locked. */
    pair->delivering = to ? q->to : -1;
    pthread_mutex_unlock(&pair->mu);
    if (to)
      actr_signaling_deliver(to, &q->msg);
    actr_signaling_msg_clear(&q->msg);
    free(q);
    pthread_mutex_lock(&pair->mu);
    pair->delivering = -1;
    pthread_cond_broadcast(&pair->delivered);
  }
  pthread_mutex_unlock(&pair->mu);
  return NULL;
}

static int pair_send(void *impl, const actr_signaling_msg_t *msg) {
  pair_end_t *e = impl;
  pair_t *pair = e->pair;
  queued_t *q = calloc(1, sizeof *q);
  if (!q)
    return actr__fail(ACTR_ENO_MEMORY, "signaling message");
  q->to = 1 - e->side;
  q->msg.kind = msg->kind;
  q->msg.sdp_mline_index = msg->sdp_mline_index;
  q->msg.sdp = dup_or_null(msg->sdp);
  q->msg.candidate = dup_or_null(msg->candidate);
  q->msg.sdp_mid = dup_or_null(msg->sdp_mid);
  q->msg.message = dup_or_null(msg->message);
  if ((msg->sdp && !q->msg.sdp) || (msg->candidate && !q->msg.candidate) ||
      (msg->sdp_mid && !q->msg.sdp_mid) || (msg->message && !q->msg.message)) {
    actr_signaling_msg_clear(&q->msg);
    free(q);
    return actr__fail(ACTR_ENO_MEMORY, "signaling message");
  }
  pthread_mutex_lock(&pair->mu);
  if (!pair->end[q->to]) {
    pthread_mutex_unlock(&pair->mu);
    actr_signaling_msg_clear(&q->msg);
    free(q);
    return actr__fail(ACTR_ESIGNALING, "signaling peer is gone");
  }
  if (pair->queued >= PAIR_MAX_QUEUED) {
    pthread_mutex_unlock(&pair->mu);
    actr_signaling_msg_clear(&q->msg);
    free(q);
    return actr__fail(ACTR_ERESOURCE_EXHAUSTED, "signaling pair: %d messages already queued",
                      PAIR_MAX_QUEUED);
  }
  pair->queued++;
  if (pair->tail)
    pair->tail->next = q;
  else
    pair->head = q;
  pair->tail = q;
  pthread_cond_signal(&pair->cond);
  pthread_mutex_unlock(&pair->mu);
  return ACTR_OK;
}

/* pair_close: from actr_signaling_free (not from this end's receiver):
 * nothing is handed to this end any more once it returns. */
static void pair_close(void *impl) {
  pair_end_t *e = impl;
  pair_t *pair = e->pair;
  pthread_mutex_lock(&pair->mu);
  pair->end[e->side] = NULL;
  while (pair->delivering == e->side)
    pthread_cond_wait(&pair->delivered, &pair->mu);
  pthread_mutex_unlock(&pair->mu);
}

static void pair_free(void *impl) {
  pair_end_t *e = impl;
  pair_t *pair = e->pair;
  free(e);
  pthread_mutex_lock(&pair->mu);
  bool last = --pair->refs == 0;
  if (last) {
    pair->stop = true;
    pthread_cond_signal(&pair->cond);
  }
  pthread_mutex_unlock(&pair->mu);
  if (!last)
    return;
  pthread_join(pair->thread, NULL); /* delivers nothing more: both ends are gone */
  while (pair->head) {
    queued_t *q = pair->head;
    pair->head = q->next;
    actr_signaling_msg_clear(&q->msg);
    free(q);
  }
  pthread_mutex_destroy(&pair->mu);
  pthread_cond_destroy(&pair->cond);
  pthread_cond_destroy(&pair->delivered);
  free(pair);
}

static const actr_signaling_ops_t pair_ops = {pair_send, pair_close, pair_free};

int actr_signaling_pair_new(actr_signaling_t **a, actr_signaling_t **b) {
  if (!a || !b)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "NULL argument");
  pair_t *pair = calloc(1, sizeof *pair);
  pair_end_t *ea = calloc(1, sizeof *ea), *eb = calloc(1, sizeof *eb);
  if (!pair || !ea || !eb) {
    free(pair);
    free(ea);
    free(eb);
    return actr__fail(ACTR_ENO_MEMORY, "signaling pair");
  }
  pthread_mutex_init(&pair->mu, NULL);
  pthread_cond_init(&pair->cond, NULL);
  pthread_cond_init(&pair->delivered, NULL);
  pair->delivering = -1;
  pair->refs = 2;
  *ea = (pair_end_t){pair, 0};
  *eb = (pair_end_t){pair, 1};
  /* Both ends before the thread: it may read them as soon as it runs. */
  int rc = actr_signaling_new(&pair_ops, ea, &pair->end[0]);
  if (rc == ACTR_OK)
    rc = actr_signaling_new(&pair_ops, eb, &pair->end[1]);
  if (rc == ACTR_OK && pthread_create(&pair->thread, NULL, pair_thread, pair) != 0)
    rc = actr__fail(ACTR_EINTERNAL, "cannot start the signaling pair's thread");
  if (rc != ACTR_OK) {
    for (int i = 0; i < 2; i++)
      if (pair->end[i]) {
        pthread_mutex_destroy(&pair->end[i]->mu);
        free(pair->end[i]);
      }
    pthread_mutex_destroy(&pair->mu);
    pthread_cond_destroy(&pair->cond);
    pthread_cond_destroy(&pair->delivered);
    free(pair);
    free(ea);
    free(eb);
    return rc;
  }
  *a = pair->end[0];
  *b = pair->end[1];
  return ACTR_OK;
}
