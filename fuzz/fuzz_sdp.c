/* fuzz_sdp.c — libFuzzer target for the SDP parser (src/rtc/sdp.c): any
 * input is either refused with ACTR_EPROTOCOL (and nothing returned) or
 * parsed; a parsed description with a data-channel section is answered,
 * and our answer must parse again and keep the offer's mid and syntax. */
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>

#include "sdp.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  actr__sdp_t *sdp = (actr__sdp_t *)1;
  int rc = actr__sdp_parse((const char *)data, size, &sdp);
  if (rc != ACTR_OK) {
    if (rc != ACTR_EPROTOCOL || sdp)
      abort();
    return 0;
  }
  int dc = actr__sdp_datachannel(sdp);
  if (dc >= 0) {
    static const char *const cands[] = {"candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ host"};
    actr__sdp_local_t l = {
      .session_id = 1,
      .session_version = 2,
      .ice_ufrag = "abcd",
      .ice_pwd = "0123456789012345678901",
      .fingerprint_sha256 = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                            "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
      .setup = ACTR__SDP_SETUP_ACTIVE,
      .sctp_port = 5000,
      .max_message_size = 262144,
      .candidates = cands,
      .n_candidates = 1,
      .offer = sdp,
      .offer_dc = dc,
    };
    char *answer = actr__sdp_generate(&l);
    /* Every line of our answer ends with CRLF and holds no other control
     * character (nothing of the offer may break a line). */
    for (const char *c = answer; *c; c++)
      if ((*c == '\r' && c[1] != '\n') || (*c == '\n' && (c == answer || c[-1] != '\r')) ||
          ((unsigned char)*c < 0x20 && *c != '\r' && *c != '\n' && *c != '\t'))
        abort();
    actr__sdp_t *back;
    if (actr__sdp_parse(answer, strlen(answer), &back) != ACTR_OK)
      abort();
    if (back->n_media != sdp->n_media || actr__sdp_datachannel(back) != dc ||
        back->media[dc].legacy != sdp->media[dc].legacy)
      abort();
    actr__sdp_free(back);
    free(answer);
  }
  actr__sdp_free(sdp);
  return 0;
}
