/* test_dcep.c — the DCEP codec (RFC 8832 §5): byte layout, round trips,
 * and hostile messages. */
#include <glib.h>
#include <string.h>

#include <actr/error.h>

#include "dcep.h"

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")

static void test_layout(void) {
  /* DATA_CHANNEL_OPEN: unordered, 3 retransmissions, priority 256,
   * label "ab", protocol "p" — written out by hand from RFC 8832 §5.1. */
  static const uint8_t wire[] = {0x03, 0x81, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03,
                                 0x00, 0x02, 0x00, 0x01, 'a',  'b',  'p'};
  actr__dcep_open_t o = {.channel_type = ACTR__DCEP_UNORDERED | ACTR__DCEP_PARTIAL_RELIABLE_REXMIT,
                         .priority = 256,
                         .reliability = 3,
                         .label = (const uint8_t *)"ab",
                         .label_len = 2,
                         .protocol = (const uint8_t *)"p",
                         .protocol_len = 1};
  uint8_t buf[64];
  g_assert_cmpuint(actr__dcep_open_size(2, 1), ==, sizeof wire);
  g_assert_cmpuint(actr__dcep_encode_open(&o, buf, sizeof buf), ==, sizeof wire);
  g_assert_cmpmem(buf, sizeof wire, wire, sizeof wire);
  uint8_t type;
  actr__dcep_open_t d;
  ASSERT_OK(actr__dcep_decode(wire, sizeof wire, &type, &d));
  g_assert_cmpuint(type, ==, ACTR__DCEP_OPEN);
  g_assert_cmpuint(d.channel_type, ==, 0x81);
  g_assert_cmpuint(d.priority, ==, 256);
  g_assert_cmpuint(d.reliability, ==, 3);
  g_assert_cmpmem(d.label, d.label_len, "ab", 2);
  g_assert_cmpmem(d.protocol, d.protocol_len, "p", 1);
  static const uint8_t ack[] = {0x02};
  ASSERT_OK(actr__dcep_decode(ack, 1, &type, &d));
  g_assert_cmpuint(type, ==, ACTR__DCEP_ACK);
  /* the smallest OPEN: reliable, empty label and protocol */
  static const uint8_t min[] = {0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  ASSERT_OK(actr__dcep_decode(min, sizeof min, &type, &d));
  g_assert_cmpuint(d.label_len, ==, 0);
  /* too small a buffer, too long a label */
  g_assert_cmpuint(actr__dcep_encode_open(&o, buf, 5), ==, 0);
  o.label_len = ACTR__DCEP_MAX_STRING + 1;
  g_assert_cmpuint(actr__dcep_encode_open(&o, buf, sizeof buf), ==, 0);
}

static void test_roundtrip(void) {
  static const uint8_t types[] = {0x00, 0x80, 0x01, 0x81, 0x02, 0x82};
  char label[ACTR__DCEP_MAX_STRING], proto[40];
  memset(label, 'L', sizeof label);
  memset(proto, 'P', sizeof proto);
  uint8_t buf[12 + ACTR__DCEP_MAX_STRING + 40];
  for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
    actr__dcep_open_t o = {types[i], (uint16_t)(i * 100), (uint32_t)(i * 1000 + 7),
                           (const uint8_t *)label, (uint16_t)(i * 200), (const uint8_t *)proto,
                           (uint16_t)(i * 8)};
    size_t n = actr__dcep_encode_open(&o, buf, sizeof buf);
    g_assert_cmpuint(n, ==, 12 + o.label_len + o.protocol_len);
    uint8_t type;
    actr__dcep_open_t d;
    ASSERT_OK(actr__dcep_decode(buf, n, &type, &d));
    g_assert_cmpuint(d.channel_type, ==, types[i]);
    g_assert_cmpuint(d.priority, ==, o.priority);
    g_assert_cmpuint(d.reliability, ==, o.reliability);
    g_assert_cmpuint(d.label_len, ==, o.label_len);
    g_assert_cmpuint(d.protocol_len, ==, o.protocol_len);
  }
}

static void test_hostile(void) {
  struct {
    const char *what;
    uint8_t bytes[24];
    size_t len;
  } bad[] = {
    {"empty", {0}, 0},
    {"unknown type", {0x04}, 1},
    {"type zero", {0x00}, 1},
    {"ACK with a trailing byte", {0x02, 0x00}, 2},
    {"OPEN of 11 bytes", {0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 11},
    {"label longer than the message", {0x03, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 'a'}, 13},
    {"protocol longer than the message", {0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 'a'}, 13},
    {"trailing bytes", {0x03, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 'a', 'b'}, 14},
    {"lengths that wrap", {0x03, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 12},
    {"channel type 0x03", {0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 12},
    {"channel type 0x7f", {0x03, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 12},
    {"channel type 0x83", {0x03, 0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 12},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    uint8_t type = 0xee;
    actr__dcep_open_t d;
    int rc = actr__dcep_decode(bad[i].bytes, bad[i].len, &type, &d);
    if (rc != ACTR_EPROTOCOL)
      g_error("%s: %s, want PROTOCOL", bad[i].what, actr_err_name(rc));
  }
  uint8_t type;
  actr__dcep_open_t d;
  g_assert_cmpint(actr__dcep_decode(NULL, 0, &type, &d), ==, ACTR_EPROTOCOL);
  /* a label over our bound, lengths consistent */
  size_t n = 12 + ACTR__DCEP_MAX_STRING + 1;
  uint8_t *big = g_malloc0(n);
  big[0] = 0x03;
  big[8] = (uint8_t)((ACTR__DCEP_MAX_STRING + 1) >> 8);
  big[9] = (uint8_t)(ACTR__DCEP_MAX_STRING + 1);
  g_assert_cmpint(actr__dcep_decode(big, n, &type, &d), ==, ACTR_EPROTOCOL);
  g_free(big);
}

/* A label must be a UTF-8 string: a NUL would cut "RPC_RELIABLE\0x" down
 * to a real lane's label, so the OPEN is refused. */
static void test_label_strings(void) {
  static const char *const labels[][2] = {
      {"RPC_RELIABLE\0x", "label with a NUL"}, {"\xff\xfe", "invalid UTF-8"}};
  for (size_t i = 0; i < G_N_ELEMENTS(labels); i++) {
    size_t ll = i == 0 ? 14 : 2;
    uint8_t buf[64];
    actr__dcep_open_t o = {.channel_type = 0, .label = (const uint8_t *)labels[i][0], .label_len = ll};
    size_t n = actr__dcep_encode_open(&o, buf, sizeof buf);
    g_assert_cmpuint(n, >, 0);
    uint8_t type;
    actr__dcep_open_t d;
    if (actr__dcep_decode(buf, n, &type, &d) != ACTR_EPROTOCOL)
      g_error("accepted a label with %s", labels[i][1]);
    /* The same in the protocol field. */
    o = (actr__dcep_open_t){.protocol = (const uint8_t *)labels[i][0], .protocol_len = ll};
    n = actr__dcep_encode_open(&o, buf, sizeof buf);
    g_assert_cmpint(actr__dcep_decode(buf, n, &type, &d), ==, ACTR_EPROTOCOL);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dcep/open/layout", test_layout);
  g_test_add_func("/dcep/open/roundtrip", test_roundtrip);
  g_test_add_func("/dcep/decode/hostile", test_hostile);
  g_test_add_func("/dcep/decode/label-strings", test_label_strings);
  return g_test_run();
}
