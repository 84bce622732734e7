/* test_sdp.c — the SDP parser on what Chromium, Firefox and aiortc send
 * (tests/rtc/sdp/), our offers and answers, hostile input, and the
 * certificate fingerprint check. */
#include <glib.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include <actr/error.h>

#include "cert.h"
#include "sdp.h"

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")

static char *load(const char *name) {
  g_autofree char *path = g_build_filename(ACTR_RTC_TEST_DIR, "sdp", name, NULL);
  char *text;
  GError *err = NULL;
  if (!g_file_get_contents(path, &text, NULL, &err))
    g_error("%s: %s", path, err->message);
  return text;
}

static actr__sdp_t *parse_file(const char *name) {
  g_autofree char *text = load(name);
  actr__sdp_t *sdp;
  ASSERT_OK(actr__sdp_parse(text, strlen(text), &sdp));
  return sdp;
}

static void test_chromium(void) {
  actr__sdp_t *sdp = parse_file("chrome_offer.sdp");
  g_assert_cmpuint(sdp->n_media, ==, 1);
  g_assert_cmpint(actr__sdp_datachannel(sdp), ==, 0);
  const actr__sdp_media_t *m = &sdp->media[0];
  g_assert_cmpuint(sdp->session_id, ==, 5573408607040241295u);
  g_assert_cmpstr(sdp->bundle, ==, "0");
  g_assert_true(m->datachannel);
  g_assert_false(m->legacy);
  g_assert_cmpstr(m->proto, ==, "UDP/DTLS/SCTP");
  g_assert_cmpstr(m->mid, ==, "0");
  g_assert_cmpstr(m->ice_ufrag, ==, "0rXS");
  g_assert_cmpstr(m->ice_pwd, ==, "fQ1LpTe8G5QuRTPAntjAE6hA");
  g_assert_true(m->ice_trickle);
  g_assert_cmpuint(m->n_fp, ==, 1);
  g_assert_cmpint(m->fp[0].hash, ==, ACTR__HASH_SHA256);
  g_assert_cmpuint(m->fp[0].bytes[0], ==, 0xE9);
  g_assert_cmpuint(m->fp[0].bytes[31], ==, 0x9D);
  g_assert_cmpint(m->setup, ==, ACTR__SDP_SETUP_ACTPASS);
  g_assert_cmpuint(m->sctp_port, ==, 5000);
  g_assert_true(m->has_max_message_size);
  g_assert_cmpuint(m->max_message_size, ==, 262144);
  g_assert_cmpuint(m->n_candidates, ==, 0);
  actr__sdp_free(sdp);
}

static void test_aiortc_legacy(void) {
  actr__sdp_t *sdp = parse_file("aiortc_offer.sdp");
  const actr__sdp_media_t *m = &sdp->media[0];
  g_assert_true(m->datachannel);
  g_assert_true(m->legacy); /* m=application <port> DTLS/SCTP 5000 + a=sctpmap */
  g_assert_cmpuint(m->sctp_port, ==, 5000);
  g_assert_cmpuint(m->max_message_size, ==, 65536);
  g_assert_cmpuint(m->n_candidates, ==, 1);
  g_assert_true(g_str_has_prefix(m->candidates[0], "candidate:16572de6"));
  g_assert_true(m->end_of_candidates);
  g_assert_false(m->ice_trickle);
  g_assert_cmpstr(m->ice_ufrag, ==, "RfeM");
  g_assert_cmpint(m->setup, ==, ACTR__SDP_SETUP_ACTPASS);
  actr__sdp_free(sdp);
}

static void test_firefox_session_level(void) {
  actr__sdp_t *sdp = parse_file("firefox_offer.sdp");
  const actr__sdp_media_t *m = &sdp->media[0];
  /* a=fingerprint and a=ice-options at session level apply to the section */
  g_assert_cmpuint(m->n_fp, ==, 1);
  g_assert_cmpuint(m->fp[0].bytes[0], ==, 0x0F);
  g_assert_true(m->ice_trickle);
  g_assert_cmpuint(m->max_message_size, ==, 1073741823u);
  g_assert_cmpuint(m->n_candidates, ==, 2);
  g_assert_cmpstr(m->ice_ufrag, ==, "7a9b1c2d");
  actr__sdp_free(sdp);
}

static actr__sdp_local_t local_params(void) {
  static const char *const cands[] = {
    "candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ host",
    "candidate:2 1 UDP 1677722111 127.0.0.1 40001 typ relay raddr 127.0.0.1 rport 40000"};
  actr__sdp_local_t l = {
    .session_id = 42,
    .session_version = 2,
    .ice_ufrag = "abcd",
    .ice_pwd = "0123456789012345678901",
    .fingerprint_sha256 = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                          "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
    .setup = ACTR__SDP_SETUP_ACTPASS,
    .sctp_port = 5000,
    .max_message_size = 262144,
    .candidates = cands,
    .n_candidates = 2,
    .end_of_candidates = true,
    .offer = NULL,
    .offer_dc = -1,
  };
  return l;
}

static void test_offer_roundtrip(void) {
  actr__sdp_local_t l = local_params();
  char *text = actr__sdp_generate(&l);
  g_assert_nonnull(strstr(text, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
  g_assert_nonnull(strstr(text, "a=max-message-size:262144\r\n"));
  actr__sdp_t *sdp;
  ASSERT_OK(actr__sdp_parse(text, strlen(text), &sdp));
  const actr__sdp_media_t *m = &sdp->media[0];
  g_assert_cmpuint(sdp->session_id, ==, 42);
  g_assert_cmpstr(sdp->bundle, ==, "0");
  g_assert_cmpstr(m->mid, ==, "0");
  g_assert_cmpstr(m->ice_ufrag, ==, "abcd");
  g_assert_cmpuint(m->fp[0].bytes[10], ==, 0xAA);
  g_assert_cmpint(m->setup, ==, ACTR__SDP_SETUP_ACTPASS);
  g_assert_cmpuint(m->n_candidates, ==, 2);
  g_assert_cmpstr(m->candidates[1], ==, l.candidates[1]);
  g_assert_true(m->end_of_candidates);
  actr__sdp_free(sdp);
  g_free(text);
}

static void test_answer_mirrors(void) {
  /* Chromium with audio and video first: the answer rejects them (port 0,
   * same mid) and bundles only the data section. */
  actr__sdp_t *offer = parse_file("chrome_media_offer.sdp");
  int dc = actr__sdp_datachannel(offer);
  g_assert_cmpint(dc, ==, 2);
  actr__sdp_local_t l = local_params();
  l.offer = offer;
  l.offer_dc = dc;
  l.setup = ACTR__SDP_SETUP_ACTIVE;
  char *text = actr__sdp_generate(&l);
  actr__sdp_t *ans;
  ASSERT_OK(actr__sdp_parse(text, strlen(text), &ans));
  g_assert_cmpuint(ans->n_media, ==, 3);
  g_assert_cmpstr(ans->bundle, ==, "2");
  g_assert_cmpuint(ans->media[0].port, ==, 0);
  g_assert_cmpstr(ans->media[0].media, ==, "audio");
  g_assert_cmpstr(ans->media[0].mid, ==, "0");
  g_assert_cmpuint(ans->media[1].port, ==, 0);
  g_assert_cmpstr(ans->media[1].mid, ==, "1");
  g_assert_cmpint(actr__sdp_datachannel(ans), ==, 2);
  g_assert_cmpstr(ans->media[2].mid, ==, "2");
  g_assert_cmpint(ans->media[2].setup, ==, ACTR__SDP_SETUP_ACTIVE);
  actr__sdp_free(ans);
  g_free(text);
  actr__sdp_free(offer);

  /* aiortc's pre-standard syntax is answered in kind. */
  offer = parse_file("aiortc_offer.sdp");
  l.offer = offer;
  l.offer_dc = 0;
  text = actr__sdp_generate(&l);
  g_assert_nonnull(strstr(text, "m=application 9 DTLS/SCTP 5000\r\n"));
  g_assert_nonnull(strstr(text, "a=sctpmap:5000 webrtc-datachannel 1024\r\n"));
  ASSERT_OK(actr__sdp_parse(text, strlen(text), &ans));
  g_assert_true(ans->media[0].legacy);
  actr__sdp_free(ans);
  g_free(text);
  actr__sdp_free(offer);
}

static const char *base =
    "v=0\r\n"
    "o=- 1 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:0123456789012345678901\r\n"
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:"
    "66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
    "a=setup:actpass\r\n"
    "a=sctp-port:5000\r\n";

static void test_tolerant(void) {
  /* LF line endings, no final newline, blank lines, unknown lines and
   * attributes, a fingerprint with a hash we do not know. */
  const char *ok[] = {
    "v=0\no=- 1 2 IN IP4 0.0.0.0\ns=-\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\r\n",
    "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\nx=whatever\r\nb=AS:30\r\n"
    "m=application 9/2 UDP/DTLS/SCTP webrtc-datachannel\r\na=foo\r\na=bar:baz\r\n"
    "a=fingerprint:md5 00:11\r\na=setup:ACTIVE\r\n",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
    actr__sdp_t *sdp;
    int rc = actr__sdp_parse(ok[i], strlen(ok[i]), &sdp);
    if (rc)
      g_error("refused #%zu: %s", i, actr_err_detail());
    g_assert_cmpint(actr__sdp_datachannel(sdp), ==, 0);
    actr__sdp_free(sdp);
  }
  actr__sdp_t *sdp;
  ASSERT_OK(actr__sdp_parse(ok[2], strlen(ok[2]), &sdp));
  g_assert_cmpuint(sdp->media[0].n_fp, ==, 0); /* md5: skipped */
  g_assert_cmpint(sdp->media[0].setup, ==, ACTR__SDP_SETUP_ACTIVE);
  actr__sdp_free(sdp);
  ASSERT_OK(actr__sdp_parse(base, strlen(base), &sdp));
  actr__sdp_free(sdp);
}

/* with: @base plus @extra lines (replacing nothing). */
static char *with(const char *extra) { return g_strconcat(base, extra, NULL); }

static void test_hostile(void) {
  GPtrArray *bad = g_ptr_array_new_with_free_func(g_free);
  const char *fixed[] = {
    "", "\r\n", "x", "v=1\r\n", "v=0", "v=0\r\nv=0\r\n", "o=- 1 2 IN IP4 0.0.0.0\r\nv=0\r\n",
    "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n", /* no m= */
    "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", /* no o= */
    "v=0\r\no=- 1 2 IN IP4\r\nm=application 9 UDP/DTLS/SCTP x\r\n",
    "v=0\r\no=- x 2 IN IP4 0.0.0.0\r\nm=application 9 UDP/DTLS/SCTP x\r\n",
    "v=0\r\no=- 1 99999999999999999999999 IN IP4 0.0.0.0\r\nm=application 9 UDP/DTLS/SCTP x\r\n",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
    g_ptr_array_add(bad, g_strdup(fixed[i]));
  const char *extras[] = {
    "noequals\r\n", "A=upper\r\n", "=x\r\n", "a=\r\n", "a=:x\r\n",
    "m=application\r\n", "m=application 9\r\n", "m=application x UDP/DTLS/SCTP y\r\n",
    "m=application 70000 UDP/DTLS/SCTP y\r\n", "m=application 9/x UDP y\r\n",
    "a=fingerprint:sha-256\r\n", "a=fingerprint:sha-256 \r\n", "a=fingerprint:sha-256 GG:00\r\n",
    "a=fingerprint:sha-256 00:11:22\r\n", "a=fingerprint:sha-256 00;11\r\n",
    "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22\r\n",
    "a=fingerprint:sha-256 0\r\n", "a=fingerprint\r\n", "a=setup:sideways\r\n", "a=setup\r\n",
    "a=sctp-port:0\r\n", "a=sctp-port:70000\r\n", "a=sctp-port:-1\r\n", "a=sctp-port:\r\n",
    "a=max-message-size:lots\r\n", "a=max-message-size:99999999999999999999999\r\n",
    "a=ice-ufrag:ab\r\n", "a=ice-ufrag:ab cd\r\n", "a=ice-ufrag:\xc3\xa9\xc3\xa9\xc3\xa9\r\n",
    "a=ice-pwd:short\r\n", "a=mid:\r\n", "a=mid:a b\r\n", "a=mid:0123456789012345678901234567890123\r\n",
    "a=sctpmap:x webrtc-datachannel 1\r\n", "a=sctpmap:5000\r\n", "a=candidate:\r\n",
    "a=candidate\r\n",
    /* a control character inside a line: our answer echoes the mid, and a CR
     * in it would end a line of our own SDP */
    "a=mid:0\rX\r\n", "a=mid:0\x01\r\n", "a=ice-ufrag:abcd\rm=x\r\n", "a=x:\x7f\r\n",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(extras); i++)
    g_ptr_array_add(bad, with(extras[i]));
  /* bounds */
  GString *s = g_string_new(base);
  for (int i = 0; i < 65; i++)
    g_string_append_printf(s, "a=candidate:%d 1 udp 1 127.0.0.1 %d typ host\r\n", i, 1000 + i);
  g_ptr_array_add(bad, g_string_free(s, FALSE));
  s = g_string_new(base);
  for (int i = 0; i < 5; i++)
    g_string_append(s, "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                       "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n");
  g_ptr_array_add(bad, g_string_free(s, FALSE));
  s = g_string_new(base);
  for (int i = 0; i < 33; i++)
    g_string_append(s, "m=audio 0 RTP/AVP 0\r\n");
  g_ptr_array_add(bad, g_string_free(s, FALSE));
  s = g_string_new(base);
  g_string_append(s, "a=x:");
  for (int i = 0; i < 5000; i++)
    g_string_append_c(s, 'y');
  g_string_append(s, "\r\n");
  g_ptr_array_add(bad, g_string_free(s, FALSE));
  for (guint i = 0; i < bad->len; i++) {
    const char *t = bad->pdata[i];
    actr__sdp_t *sdp = (void *)1;
    int rc = actr__sdp_parse(t, strlen(t), &sdp);
    if (rc != ACTR_EPROTOCOL)
      g_error("case %u accepted or wrong code (%s): %.120s", i, actr_err_name(rc), t);
    g_assert_null(sdp);
  }
  g_ptr_array_free(bad, TRUE);
  /* A NUL inside, and text over the bound. */
  char nul[] = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\nm=application 9 UDP x\r\n";
  nul[4] = '\0';
  actr__sdp_t *sdp;
  g_assert_cmpint(actr__sdp_parse(nul, sizeof nul - 1, &sdp), ==, ACTR_EPROTOCOL);
  char *big = g_malloc(ACTR__SDP_MAX_TEXT + 1);
  memset(big, 'a', ACTR__SDP_MAX_TEXT + 1);
  g_assert_cmpint(actr__sdp_parse(big, ACTR__SDP_MAX_TEXT + 1, &sdp), ==, ACTR_EPROTOCOL);
  g_free(big);
  g_assert_cmpint(actr__sdp_parse(NULL, 0, &sdp), ==, ACTR_EPROTOCOL);
}

static void test_fingerprint_check(void) {
  actr__cert_t *c;
  ASSERT_OK(actr__cert_generate(&c));
  gnutls_datum_t der;
  g_assert_cmpint(gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER, &der), ==, 0);
  g_autofree char *sdp_text = g_strconcat(
      "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
      "a=fingerprint:sha-256 ", c->fingerprint, "\r\n", NULL);
  actr__sdp_t *sdp;
  ASSERT_OK(actr__sdp_parse(sdp_text, strlen(sdp_text), &sdp));
  actr__sdp_media_t *m = &sdp->media[0];
  g_assert_true(actr__cert_matches(&der, m->fp, m->n_fp));
  m->fp[0].bytes[5] ^= 1;
  g_assert_false(actr__cert_matches(&der, m->fp, m->n_fp));
  m->fp[0].bytes[5] ^= 1;
  /* RFC 8122 §5: the strongest hash decides: a wrong sha-512 line beats a
   * right sha-256 one. */
  m->fp[1].hash = ACTR__HASH_SHA512;
  m->fp[1].len = 64;
  memset(m->fp[1].bytes, 0x42, 64);
  g_assert_false(actr__cert_matches(&der, m->fp, 2));
  g_assert_false(actr__cert_matches(&der, m->fp, 0));
  actr__sdp_free(sdp);
  gnutls_free(der.data);
  /* PEM round trip keeps the fingerprint; a foreign key is refused. */
  char *cp, *kp;
  ASSERT_OK(actr__cert_to_pem(c, &cp, &kp));
  actr__cert_t *back;
  ASSERT_OK(actr__cert_from_pem(cp, kp, &back));
  g_assert_cmpstr(back->fingerprint, ==, c->fingerprint);
  actr__cert_t *other;
  ASSERT_OK(actr__cert_generate(&other));
  char *cp2, *kp2;
  ASSERT_OK(actr__cert_to_pem(other, &cp2, &kp2));
  actr__cert_t *mixed = NULL;
  g_assert_cmpint(actr__cert_from_pem(cp, kp2, &mixed), ==, ACTR_ECONFIGURATION);
  g_assert_cmpint(actr__cert_from_pem("junk", kp, &mixed), ==, ACTR_ECONFIGURATION);
  g_assert_null(mixed);
  g_free(cp), g_free(kp), g_free(cp2), g_free(kp2);
  actr__cert_free(back);
  actr__cert_free(other);
  actr__cert_free(c);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sdp/parse/chromium-offer", test_chromium);
  g_test_add_func("/sdp/parse/aiortc-legacy-sctpmap", test_aiortc_legacy);
  g_test_add_func("/sdp/parse/firefox-session-level", test_firefox_session_level);
  g_test_add_func("/sdp/parse/tolerant", test_tolerant);
  g_test_add_func("/sdp/parse/hostile", test_hostile);
  g_test_add_func("/sdp/generate/offer-roundtrip", test_offer_roundtrip);
  g_test_add_func("/sdp/generate/answer-mirrors-offer", test_answer_mirrors);
  g_test_add_func("/sdp/fingerprint/check", test_fingerprint_check);
  return g_test_run();
}
