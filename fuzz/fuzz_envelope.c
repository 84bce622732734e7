/* fuzz_envelope.c — libFuzzer target for actr_envelope_decode (SPEC §1.2).
 * Any input must decode or fail with ACTR_EDESERIALIZATION; whatever decodes
 * must re-encode to bytes that decode to an equal envelope, and encoding is
 * deterministic.  Sanitizers catch the rest (overreads, leaks). */
#include <stdlib.h>
#include <string.h>

#include <actr/envelope.h>
#include <actr/error.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  actr_envelope_t *env = NULL, *again = NULL, *copy = NULL;
  int rc = actr_envelope_decode(data, size, &env);
  if (rc != ACTR_OK) {
    if (rc != ACTR_EDESERIALIZATION || env)
      abort();
    return 0;
  }
  uint8_t *enc = NULL, *enc2 = NULL;
  size_t len = 0, len2 = 0;
  if (actr_envelope_encode(env, &enc, &len) != ACTR_OK || len != actr_envelope_encoded_size(env))
    abort();
  if (actr_envelope_decode(enc, len, &again) != ACTR_OK || !actr_envelope_equal(env, again))
    abort();
  if (actr_envelope_encode(again, &enc2, &len2) != ACTR_OK || len2 != len ||
      memcmp(enc, enc2, len) != 0)
    abort();
  if (actr_envelope_copy(env, &copy) != ACTR_OK || !actr_envelope_equal(env, copy))
    abort();
  free(enc);
  free(enc2);
  actr_envelope_free(copy);
  actr_envelope_free(again);
  actr_envelope_free(env);
  return 0;
}
