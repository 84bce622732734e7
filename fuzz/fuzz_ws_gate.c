/* fuzz_ws_gate.c — libFuzzer target for the identity check of a direct
 * WebSocket wire (src/realm/ws_gate.c): the X-Actr-Source-ID and
 * X-Actr-Credential header values a stranger sends before the upgrade, and
 * the key id read from the credential before the key is looked up, and the
 * source read alone (actr__ws_gate_source).
 * The input is the two values separated by the first NUL byte (absent: the
 * credential is missing).  Any input is refused with 400/401/403 or
 * accepted; an accepted one has a source (checked by re-formatting it).
 * The key is a fixed public key, so a forged signature never passes:
 * acceptance would abort.  Sanitizers catch the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/identity.h>

#include "realm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 2);
  if (!buf)
    return 0;
  memcpy(buf, data, size);
  buf[size] = buf[size + 1] = '\0';
  size_t first = strlen(buf);
  const char *source = buf, *cred = first < size ? buf + first + 1 : NULL;
  static const uint8_t pub[32] = {0x3b, 0x6a, 0x27, 0xbc, 0xce, 0xb6, 0xa4, 0x2d, 0x62, 0xa3, 0xa8,
                                  0xd0, 0x2a, 0x6f, 0x0d, 0x73, 0x65, 0x32, 0x15, 0x77, 0x1d, 0xe2,
                                  0x43, 0xa6, 0x3a, 0xc0, 0x48, 0xa1, 0x8b, 0x59, 0xda, 0x29};
  actr_actor_id_t id;
  char why[120];
  int status = actr__ws_gate_check(source, cred, 1, pub, sizeof pub, 1700000000, &id, why,
                                   sizeof why);
  if (status != 400 && status != 401 && status != 403)
    abort(); /* nothing signed by that key can be in a fuzzer's input */
  /* The source alone, as read again after a check passed: parsed or 400. */
  int parsed = actr__ws_gate_source(source, &id, why, sizeof why);
  char text[ACTR_ACTOR_ID_STRING_MAX];
  if (parsed != 0 && parsed != 400)
    abort();
  if (parsed == 0 && actr_actor_id_format(&id, text, sizeof text) != ACTR_OK)
    abort();
  uint32_t key_id;
  int rc = actr__ws_gate_key_id(cred, &key_id);
  if (rc != ACTR_OK && rc != ACTR_EDESERIALIZATION && rc != ACTR_ENO_MEMORY)
    abort();
  free(buf);
  return 0;
}
