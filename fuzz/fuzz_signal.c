/* fuzz_signal.c — libFuzzer target for the JSON signaling decoder: any input
 * either decodes to a message that re-encodes and decodes to the same thing,
 * or is refused with ACTR_ESIGNALING. */
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/signaling.h>

static int same(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  actr_signaling_msg_t m;
  int rc = actr_signaling_msg_parse((const char *)data, size, &m);
  if (rc != ACTR_OK) {
    if (rc != ACTR_ESIGNALING || m.sdp || m.candidate || m.message)
      abort();
    return 0;
  }
  char *json;
  if (actr_signaling_msg_to_json(&m, &json) != ACTR_OK)
    abort();
  actr_signaling_msg_t back;
  if (actr_signaling_msg_parse(json, strlen(json), &back) != ACTR_OK)
    abort();
  if (back.kind != m.kind || !same(back.sdp, m.sdp) || !same(back.sdp_mid, m.sdp_mid) ||
      back.sdp_mline_index != m.sdp_mline_index || !same(back.message, m.message))
    abort();
  free(json);
  actr_signaling_msg_clear(&back);
  actr_signaling_msg_clear(&m);
  return 0;
}
