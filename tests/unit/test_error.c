/* test_error.c — error codes, names, classes; the PayloadType table. */
#include <glib.h>
#include <stdatomic.h>
#include <string.h>

#include <actr/error.h>
#include <actr/payload_type.h>

#include "error_internal.h"

static void test_error_names_unique(void) {
  int codes[] = {
#define XX(name, val, cls, msg) ACTR_E##name,
      ACTR_ERRNO_MAP(XX)
#undef XX
  };
  for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
    g_assert_cmpint(codes[i], <, 0);
    g_assert_cmpstr(actr_err_name(codes[i]), !=, "UNKNOWN");
    g_assert_cmpstr(actr_err_message(codes[i]), !=, "unknown error");
    g_assert_cmpint(actr_err_class(codes[i]), !=, ACTR_ERR_CLASS_NONE);
    for (size_t j = i + 1; j < G_N_ELEMENTS(codes); j++) {
      g_assert_cmpint(codes[i], !=, codes[j]);
      g_assert_cmpstr(actr_err_name(codes[i]), !=, actr_err_name(codes[j]));
    }
  }
}

static void test_error_known_values(void) {
  g_assert_cmpstr(actr_err_name(ACTR_OK), ==, "OK");
  g_assert_cmpint(actr_err_class(ACTR_OK), ==, ACTR_ERR_CLASS_NONE);
  g_assert_cmpstr(actr_err_name(ACTR_EDATA_CHANNEL_CLOSED), ==, "DATA_CHANNEL_CLOSED");
  g_assert_cmpstr(actr_err_name(ACTR_EWEBSOCKET_CLOSED), ==, "WEBSOCKET_CLOSED");
  g_assert_cmpstr(actr_err_name(ACTR_EWOULD_BLOCK), ==, "WOULD_BLOCK");
  g_assert_cmpint(actr_err_class(ACTR_EDESERIALIZATION), ==, ACTR_ERR_CLASS_CORRUPT);
  g_assert_cmpint(actr_err_class(ACTR_EINVALID_OPERATION), ==, ACTR_ERR_CLASS_CLIENT);
  g_assert_cmpint(actr_err_class(ACTR_ETIMEOUT), ==, ACTR_ERR_CLASS_TRANSIENT);
  g_assert_cmpint(actr_err_class(ACTR_EINTERNAL), ==, ACTR_ERR_CLASS_INTERNAL);
  g_assert_cmpstr(actr_err_class_name(ACTR_ERR_CLASS_CORRUPT), ==, "corrupt");
  g_assert_cmpstr(actr_err_name(12345), ==, "UNKNOWN");
  g_assert_cmpstr(actr_err_message(12345), ==, "unknown error");
}

static void test_payload_type_table(void) {
  static const char *names[] = {"RPC_RELIABLE", "RPC_SIGNAL", "STREAM_RELIABLE",
                                "STREAM_LATENCY_FIRST", "MEDIA_RTP"};
  for (int i = 0; i < ACTR_PAYLOAD_TYPE_COUNT; i++) {
    g_assert_cmpstr(actr_payload_type_name(i), ==, names[i]);
    actr_payload_type_t t;
    g_assert_cmpint(actr_payload_type_from_name(names[i], &t), ==, ACTR_OK);
    g_assert_cmpint(t, ==, i);
    g_assert_true(actr_payload_type_lanes(t) & ACTR_LANE_KIND_WEBSOCKET);
    g_assert_true(actr_payload_type_lanes(t) & ACTR_LANE_KIND_INPROC);
  }
  g_assert_null(actr_payload_type_name(5));
  g_assert_null(actr_payload_type_name(-1));
  actr_payload_type_t t;
  g_assert_cmpint(actr_payload_type_from_name("rpc_reliable", &t), ==, ACTR_EINVALID_ARGUMENT);
  g_assert_cmpint(actr_payload_type_from_name(NULL, &t), ==, ACTR_EINVALID_ARGUMENT);

  actr_payload_type_qos_t q;
  for (int i = 0; i <= ACTR_PAYLOAD_STREAM_RELIABLE; i++) {
    g_assert_cmpint(actr_payload_type_qos(i, &q), ==, ACTR_OK);
    g_assert_true(q.ordered);
    g_assert_cmpint(q.max_retransmits, ==, -1);
  }
  g_assert_cmpint(actr_payload_type_qos(ACTR_PAYLOAD_STREAM_LATENCY_FIRST, &q), ==, ACTR_OK);
  g_assert_false(q.ordered);
  g_assert_cmpint(q.max_retransmits, ==, 3);
  g_assert_cmpstr(actr_err_name(actr_payload_type_qos(ACTR_PAYLOAD_MEDIA_RTP, &q)), ==,
                  "NOT_IMPLEMENTED");
  g_assert_false(actr_payload_type_lanes(ACTR_PAYLOAD_MEDIA_RTP) & ACTR_LANE_KIND_DATACHANNEL);
  g_assert_cmpint(actr_payload_type_qos(9, &q), ==, ACTR_EINVALID_ARGUMENT);
}

/* The log handler changes while other threads log: a handler is never
 * called with another handler's user pointer, and after the switch to NULL
 * returns (and the lines in flight are done) nothing is called. */
static atomic_int wrong_user, calls;
static atomic_bool logging_done;
static int user_a, user_b;

static void handler_a(actr_log_level_t level, const char *msg, void *user) {
  if (user != &user_a)
    atomic_fetch_add(&wrong_user, 1);
  atomic_fetch_add(&calls, 1);
}

static void handler_b(actr_log_level_t level, const char *msg, void *user) {
  if (user != &user_b)
    atomic_fetch_add(&wrong_user, 1);
  atomic_fetch_add(&calls, 1);
}

static gpointer logger_main(gpointer p) {
  while (!atomic_load(&logging_done))
    actr__log(ACTR_LOG_WARN, "line %d", 1);
  return NULL;
}

static void test_log_handler_switch(void) {
  GThread *th[3];
  for (int i = 0; i < 3; i++)
    th[i] = g_thread_new("logger", logger_main, NULL);
  for (int i = 0; i < 20000; i++) {
    if (i % 2)
      actr_log_set_handler(handler_a, ACTR_LOG_WARN, &user_a);
    else
      actr_log_set_handler(handler_b, ACTR_LOG_WARN, &user_b);
  }
  actr_log_set_handler(NULL, ACTR_LOG_WARN, NULL);
  atomic_store(&logging_done, true);
  for (int i = 0; i < 3; i++)
    g_thread_join(th[i]);
  int before = atomic_load(&calls);
  actr__log(ACTR_LOG_WARN, "after");
  g_assert_cmpint(atomic_load(&calls), ==, before); /* no handler any more */
  g_assert_cmpint(atomic_load(&wrong_user), ==, 0);
  g_test_message("%d lines logged during the switches", before);
}

/* Lines a peer can cause: a call site sends ACTR__LOG_SITE_BURST per
 * window, then holds lines back and says how many with its next line in a
 * later window; control bytes never reach the handler. */
static GPtrArray *lines;

static void keep_line(actr_log_level_t level, const char *msg, void *user) {
  g_ptr_array_add(lines, g_strdup(msg));
}

static void test_log_peer_limit(void) {
  lines = g_ptr_array_new_with_free_func(g_free);
  actr_log_set_handler(keep_line, ACTR_LOG_WARN, NULL);
  for (int i = 0; i < 1000; i++)
    ACTR__LOG_PEER(ACTR_LOG_WARN, "bad frame %d", i);
  g_assert_cmpuint(lines->len, ==, ACTR__LOG_SITE_BURST);
  g_assert_cmpstr(lines->pdata[0], ==, "bad frame 0");

  actr__log_site_t site = {0};
  for (int i = 0; i < 25; i++)
    actr__log_site(&site, ACTR_LOG_WARN, "dropped %d", i);
  g_assert_cmpuint(lines->len, ==, 2 * ACTR__LOG_SITE_BURST);
  site.window_start_ms -= ACTR__LOG_SITE_WINDOW_MS; /* the window is over */
  actr__log_site(&site, ACTR_LOG_WARN, "dropped again");
  g_assert_cmpstr(lines->pdata[lines->len - 1], ==, "dropped again (and 15 more like it, not logged)");
  actr__log_site(&site, ACTR_LOG_WARN, "next");
  g_assert_cmpstr(lines->pdata[lines->len - 1], ==, "next");

  actr__log(ACTR_LOG_WARN, "peer said: %s", "a\001b\nc\177\303\251");
  g_assert_cmpstr(lines->pdata[lines->len - 1], ==, "peer said: a?b?c?\303\251");
  actr_log_set_handler(NULL, ACTR_LOG_WARN, NULL);
  g_ptr_array_free(lines, TRUE);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/error/names-unique", test_error_names_unique);
  g_test_add_func("/error/log-handler-switch", test_log_handler_switch);
  g_test_add_func("/error/known-values", test_error_known_values);
  g_test_add_func("/error/log-peer-limit", test_log_peer_limit);
  g_test_add_func("/payload-type/table", test_payload_type_table);
  return g_test_run();
}
