/* inproc.c — the in-process lane (actr/inproc.h), step by step.
 *
 * An in-process lane carries RpcEnvelope objects from thread to thread as
 * pointers: nothing is serialized.  Here a producer thread sends a few
 * requests and the main thread receives them, then the lane is closed and
 * the receiver drains it.
 *
 * Build (installed library):  cc inproc.c $(pkg-config --cflags --libs actr)
 * Run: ./a.out  — prints what it does, exits 0 on success. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <actr/actr.h> /* the whole public API; actr/inproc.h alone would do */

#define COUNT 5

/* check: every libactr call returns ACTR_OK (0) or a negative ACTR_E* code;
 * actr_err_detail() has the details of the last failure on this thread. */
#define check(call)                                                            \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_ != ACTR_OK) {                                                      \
      fprintf(stderr, "inproc: %s failed: %s (%s)\n", #call, actr_err_name(rc_), \
              actr_err_detail());                                              \
      return 1;                                                                \
    }                                                                          \
  } while (0)

/* The producer runs on its own thread with its own handle to the lane. */
static void *producer(void *arg) {
  actr_lane_t *lane = arg;
  for (int i = 0; i < COUNT; i++) {
    char id[32];
    snprintf(id, sizeof id, "req-%d", i);
    /* An envelope needs a route key, a request id and a timeout. */
    actr_envelope_t *env = NULL;
    if (actr_envelope_new("echo.Echo.Say", id, 30000, &env) != ACTR_OK ||
        actr_envelope_set_payload(env, "hello", 5) != ACTR_OK) {
      actr_envelope_free(env);
      return (void *)1;
    }
    /* On success the lane owns the envelope; on failure we still do.  A
     * full lane would block here until the receiver makes room. */
    int rc = actr_lane_send_envelope(lane, env);
    if (rc != ACTR_OK) {
      fprintf(stderr, "inproc: send: %s\n", actr_err_name(rc));
      actr_envelope_free(env);
      return (void *)1;
    }
  }
  actr_lane_unref(lane); /* this thread's handle */
  return NULL;
}

int main(void) {
  /* 1. A lane for the RPC_RELIABLE traffic class with room for 100
   *    envelopes (what actr uses; rounded up to 128). */
  actr_lane_t *lane = NULL;
  check(actr_lane_inproc_new(ACTR_PAYLOAD_RPC_RELIABLE, 100, &lane));
  printf("created a %s lane for %s\n", actr_lane_type(lane),
         actr_payload_type_name(actr_lane_payload_type(lane)));

  /* 2. A second handle for the producer thread (shared sender). */
  pthread_t thread;
  actr_lane_t *for_producer = actr_lane_ref(lane);
  if (pthread_create(&thread, NULL, producer, for_producer) != 0) {
    fprintf(stderr, "inproc: cannot start a thread\n");
    actr_lane_unref(for_producer);
    actr_lane_unref(lane);
    return 1;
  }

  /* 3. Receive: wait at most 5 s for each envelope; we own what we get. */
  int status = 0;
  for (int i = 0; i < COUNT && status == 0; i++) {
    actr_envelope_t *env = NULL;
    int rc = actr_lane_recv_envelope(lane, 5000, &env);
    const uint8_t *data = NULL;
    size_t len = 0;
    if (rc != ACTR_OK) {
      fprintf(stderr, "inproc: recv: %s (%s)\n", actr_err_name(rc), actr_err_detail());
      status = 1;
    } else if (!actr_envelope_payload(env, &data, &len) || len != 5 ||
               memcmp(data, "hello", 5) != 0) {
      fprintf(stderr, "inproc: unexpected payload\n");
      status = 1;
    } else {
      printf("received %s route %s payload \"%.*s\"\n", actr_envelope_request_id(env),
             actr_envelope_route_key(env), (int)len, (const char *)data);
    }
    actr_envelope_free(env);
  }
  void *thread_result = NULL;
  pthread_join(thread, &thread_result);
  if (thread_result != NULL)
    status = 1;

  /* 4. Stats count envelopes (not bytes: nothing was serialized). */
  actr_lane_stats_t st;
  check(actr_lane_stats(lane, &st));
  printf("stats: %llu sent, %llu received\n", (unsigned long long)st.msgs_sent,
         (unsigned long long)st.msgs_received);
  if (st.msgs_sent != COUNT || st.msgs_received != COUNT)
    status = 1;

  /* 5. Close: senders now fail, and a receiver gets the closed code once
   *    the lane is drained (it is empty here). */
  actr_lane_close(lane);
  actr_envelope_t *late = NULL;
  int rc = actr_lane_recv_envelope(lane, 0, &late);
  printf("recv after close: %s\n", actr_err_name(rc));
  if (rc != ACTR_ECHANNEL_CLOSED)
    status = 1;
  actr_envelope_free(late);

  actr_lane_unref(lane); /* the last handle frees the lane */
  printf(status == 0 ? "inproc: OK\n" : "inproc: FAILED\n");
  return status;
}
