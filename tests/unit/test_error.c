/* test_error.c — error codes, names, classes; the PayloadType table. */
#include <glib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/payload_type.h>

static void test_error_names_unique(void) {
  int codes[] = {
#define XX(name, val, cls, msg) ACTR_E##name,
      ACTR_ERRNO_MAP(XX)
#undef XX
  };
  for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
    g_assert_cmpint(codes[i], <, 0);
    g_assert_cmpstr(actr_err_name(codes[i]), !=, "UNKNOWN");
    g_assert_cmpstr(actr_strerror(codes[i]), !=, "unknown error");
    g_assert_cmpint(actr_err_class(codes[i]), !=, ACTR_CLASS_NONE);
    for (size_t j = i + 1; j < G_N_ELEMENTS(codes); j++) {
      g_assert_cmpint(codes[i], !=, codes[j]);
      g_assert_cmpstr(actr_err_name(codes[i]), !=, actr_err_name(codes[j]));
    }
  }
}

static void test_error_known_values(void) {
  g_assert_cmpstr(actr_err_name(ACTR_OK), ==, "OK");
  g_assert_cmpint(actr_err_class(ACTR_OK), ==, ACTR_CLASS_NONE);
  g_assert_cmpstr(actr_err_name(ACTR_EDATA_CHANNEL_CLOSED), ==, "DATA_CHANNEL_CLOSED");
  g_assert_cmpstr(actr_err_name(ACTR_EWEBSOCKET_CLOSED), ==, "WEBSOCKET_CLOSED");
  g_assert_cmpstr(actr_err_name(ACTR_EWOULD_BLOCK), ==, "WOULD_BLOCK");
  g_assert_cmpint(actr_err_class(ACTR_EDESERIALIZATION), ==, ACTR_CLASS_CORRUPT);
  g_assert_cmpint(actr_err_class(ACTR_EINVALID_OPERATION), ==, ACTR_CLASS_CLIENT);
  g_assert_cmpint(actr_err_class(ACTR_ETIMEOUT), ==, ACTR_CLASS_TRANSIENT);
  g_assert_cmpint(actr_err_class(ACTR_EINTERNAL), ==, ACTR_CLASS_INTERNAL);
  g_assert_cmpstr(actr_err_class_name(ACTR_CLASS_CORRUPT), ==, "corrupt");
  g_assert_cmpstr(actr_err_name(12345), ==, "UNKNOWN");
  g_assert_cmpstr(actr_strerror(12345), ==, "unknown error");
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

  actr_dc_qos_t q;
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

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/error/names-unique", test_error_names_unique);
  g_test_add_func("/error/known-values", test_error_known_values);
  g_test_add_func("/payload-type/table", test_payload_type_table);
  return g_test_run();
}
