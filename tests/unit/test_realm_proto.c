/* test_realm_proto.c — the actr realm messages (our .proto files of the
 * actr, signaling and webrtc packages, compiled by protoc-c) against golden
 * vectors encoded by protoc (the .txtpb files of tests/vectors/realm), and the strict
 * decoder (src/core/pbwire.c) against hostile input. */
#include <glib.h>
#include <string.h>

#include <actr/error.h>

#include "actr/actr.pb-c.h"
#include "actr/signaling.pb-c.h"
#include "pbwire.h"

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")
#define ASSERT_RC(expr, name) g_assert_cmpstr(actr_err_name(expr), ==, name)

static GBytes *vector(const char *name) {
  gchar *path = g_strdup_printf("%s/%s.bin", ACTR_REALM_VECTORS_DIR, name);
  gchar *data;
  gsize len;
  GError *err = NULL;
  if (!g_file_get_contents(path, &data, &len, &err))
    g_error("%s: %s", path, err->message);
  g_free(path);
  return g_bytes_new_take(data, len);
}

/* decode_vector: our decoder takes protoc's bytes, and protobuf-c packs
 * them back to the same bytes. */
static ProtobufCMessage *decode_vector(const char *name, const ProtobufCMessageDescriptor *d) {
  GBytes *b = vector(name);
  gsize len;
  const uint8_t *data = g_bytes_get_data(b, &len);
  ProtobufCMessage *m = NULL;
  int rc = actr__pb_decode(d, data, len, NULL, &m);
  if (rc != ACTR_OK)
    g_error("%s: %s", name, actr_err_detail());
  uint8_t *enc;
  size_t elen;
  ASSERT_OK(actr__pb_encode(m, &enc, &elen));
  g_assert_cmpmem(enc, elen, data, len);
  g_free(enc);
  g_bytes_unref(b);
  return m;
}

static void check_id(const Actr__ActrId *id, uint32_t realm, uint64_t serial, const char *name) {
  g_assert_nonnull(id);
  g_assert_cmpuint(id->realm->realm_id, ==, realm);
  g_assert_cmpuint(id->serial_number, ==, serial);
  g_assert_cmpstr(id->type->manufacturer, ==, "acme");
  g_assert_cmpstr(id->type->name, ==, name);
}

static void test_signaling_vectors(void) {
  const ProtobufCMessageDescriptor *d = &signaling__signaling_envelope__descriptor;
  Signaling__SignalingEnvelope *e;

  e = (Signaling__SignalingEnvelope *)decode_vector("heartbeat", d);
  g_assert_cmpuint(e->envelope_version, ==, 1);
  g_assert_cmpint(e->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_TO_SERVER);
  g_assert_cmpint(e->timestamp->seconds, ==, 1796159142);
  g_assert_cmpint(e->timestamp->nanos, ==, 500000000);
  check_id(e->actr_to_server->source, 101, 26, "echo-client");
  g_assert_cmpuint(e->actr_to_server->credential->key_id, ==, 1);
  g_assert_cmpuint(e->actr_to_server->credential->signature.len, ==, 64);
  g_assert_cmpint(e->actr_to_server->payload_case, ==, SIGNALING__ACTR_TO_SIGNALING__PAYLOAD_PING);
  g_assert_cmpfloat(e->actr_to_server->ping->power_reserve, ==, 0.75f);
  actr__pb_free(&e->base);

  e = (Signaling__SignalingEnvelope *)decode_vector("pong", d);
  g_assert_cmpstr(e->reply_for, ==, "3f1c2a9e-8b7d-4e6f-9a01-23456789abcd");
  g_assert_cmpuint(e->server_to_actr->pong->seq, ==, 7);
  g_assert_true(e->server_to_actr->pong->has_suggest_interval_secs);
  actr__pb_free(&e->base);

  e = (Signaling__SignalingEnvelope *)decode_vector("relay_offer", d);
  g_assert_cmpint(e->flow_case, ==, SIGNALING__SIGNALING_ENVELOPE__FLOW_ACTR_RELAY);
  check_id(e->actr_relay->target, 101, 4096, "echo");
  Webrtc__SessionDescription *sd = e->actr_relay->session_description;
  g_assert_cmpint(sd->type, ==, WEBRTC__SESSION_DESCRIPTION__TYPE__OFFER);
  g_assert_true(g_str_has_prefix(sd->sdp, "v=0\r\n"));
  g_assert_cmpstr(sd->sdp_exchange_id, ==, "5b0c2f4e-1d3a-4c5b-9e6f-7a8b9c0d1e2f");
  g_assert_nonnull(e->traceparent);
  actr__pb_free(&e->base);

  e = (Signaling__SignalingEnvelope *)decode_vector("relay_candidate", d);
  Webrtc__IceCandidate *c = e->actr_relay->ice_candidate;
  g_assert_null(c->sdp_mid);
  g_assert_true(c->has_sdp_mline_index);
  g_assert_cmpuint(c->sdp_mline_index, ==, 0);
  g_assert_cmpstr(c->username_fragment, ==, "aB3d");
  actr__pb_free(&e->base);

  e = (Signaling__SignalingEnvelope *)decode_vector("role", d);
  g_assert_cmpint(e->actr_relay->payload_case, ==, SIGNALING__ACTR_RELAY__PAYLOAD_ROLE_NEGOTIATION);
  check_id(e->actr_relay->role_negotiation->from, 101, 26, "echo-client");
  g_assert_cmpuint(e->actr_relay->role_negotiation->realm_id, ==, 101);
  actr__pb_free(&e->base);

  e = (Signaling__SignalingEnvelope *)decode_vector("discovery", d);
  Actr__RouteCandidatesResponse *rc = e->server_to_actr->route_candidates_response;
  g_assert_cmpint(rc->result_case, ==, ACTR__ROUTE_CANDIDATES_RESPONSE__RESULT_SUCCESS);
  g_assert_cmpuint(rc->success->n_candidates, ==, 1);
  check_id(rc->success->candidates[0], 101, 4096, "echo");
  g_assert_cmpstr(rc->success->ws_address_map[0]->ws_address, ==, "ws://127.0.0.1:9100");
  actr__pb_free(&e->base);

  e = (Signaling__SignalingEnvelope *)decode_vector("error_401", d);
  g_assert_cmpuint(e->server_to_actr->error->code, ==, 401);
  actr__pb_free(&e->base);
}

static void test_ais_vectors(void) {
  Actr__RegisterResponse *r =
      (Actr__RegisterResponse *)decode_vector("register_ok", &actr__register_response__descriptor);
  g_assert_cmpint(r->result_case, ==, ACTR__REGISTER_RESPONSE__RESULT_SUCCESS);
  check_id(r->success->actr_id, 101, 26, "echo-client");
  g_assert_cmpuint(r->success->signaling_heartbeat_interval_secs, ==, 30);
  g_assert_cmpuint(r->success->signing_pubkey.len, ==, 32);
  g_assert_true(r->success->has_renewal_token);
  g_assert_cmpuint(r->success->turn_credential->expires_at, ==, 1796162742);
  actr__pb_free(&r->base);

  Actr__RegisterRequest *q =
      (Actr__RegisterRequest *)decode_vector("register_request", &actr__register_request__descriptor);
  g_assert_cmpuint(q->realm->realm_id, ==, 101);
  g_assert_cmpint(q->auth_mode, ==, ACTR__REGISTER_AUTH_MODE__REGISTER_AUTH_MODE_LINKED);
  actr__pb_free(&q->base);
}

/* Hostile input: every cut of a valid envelope, strings that are not
 * UTF-8, floods of unknown fields or repeated elements, over the size. */
static void put_varint(GByteArray *b, uint64_t v) {
  do {
    uint8_t c = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v)
      c |= 0x80;
    g_byte_array_append(b, &c, 1);
  } while (v);
}

static void test_hostile(void) {
  const ProtobufCMessageDescriptor *d = &signaling__signaling_envelope__descriptor;
  GBytes *v = vector("relay_offer");
  gsize len;
  const uint8_t *data = g_bytes_get_data(v, &len);
  ProtobufCMessage *m;
  for (gsize cut = 0; cut < len; cut++) {
    int rc = actr__pb_decode(d, data, cut, NULL, &m);
    if (rc == ACTR_OK) { /* a cut at a field boundary may still be whole */
      actr__pb_free(m);
      continue;
    }
    ASSERT_RC(rc, "DESERIALIZATION");
    g_assert_null(m);
  }
  /* A byte of the SDP replaced by an invalid UTF-8 byte, then by a NUL. */
  const uint8_t *sdp = memmem(data, len, "v=0", 3);
  g_assert_nonnull(sdp);
  uint8_t *copy = g_memdup2(data, len);
  for (int k = 0; k < 2; k++) {
    copy[sdp - data + 1] = k ? 0x00 : 0xff;
    ASSERT_RC(actr__pb_decode(d, copy, len, NULL, &m), "DESERIALIZATION");
    g_assert_nonnull(strstr(actr_err_detail(), "UTF-8"));
  }
  g_free(copy);

  /* Unknown fields: 64 pass, 65 do not. */
  GByteArray *b = g_byte_array_new();
  g_byte_array_append(b, data, len);
  for (int i = 0; i < 64; i++) {
    put_varint(b, 900u << 3); /* field 900, varint */
    put_varint(b, 1);
  }
  ASSERT_OK(actr__pb_decode(d, b->data, b->len, NULL, &m));
  actr__pb_free(m);
  put_varint(b, 900u << 3);
  put_varint(b, 1);
  ASSERT_RC(actr__pb_decode(d, b->data, b->len, NULL, &m), "DESERIALIZATION");
  g_assert_nonnull(strstr(actr_err_detail(), "unknown"));
  g_byte_array_unref(b);

  /* Repeated elements: a discovery answer with more candidates than the
   * limit is refused before protobuf-c allocates them. */
  GBytes *dv = vector("discovery");
  gsize dlen;
  const uint8_t *dd = g_bytes_get_data(dv, &dlen);
  ProtobufCMessage *dm;
  ASSERT_OK(actr__pb_decode(d, dd, dlen, NULL, &dm));
  actr__pb_free(dm);
  actr__pb_limits_t lim = {.max_elements = 3};
  ASSERT_RC(actr__pb_decode(d, dd, dlen, &lim, &dm), "DESERIALIZATION");
  g_assert_nonnull(strstr(actr_err_detail(), "repeated"));
  lim = (actr__pb_limits_t){.max_bytes = dlen - 1};
  ASSERT_RC(actr__pb_decode(d, dd, dlen, &lim, &dm), "DESERIALIZATION");
  g_bytes_unref(dv);

  /* A required field missing (the encoding without its first field,
   * envelope_version): protobuf-c refuses it. */
  Signaling__SignalingEnvelope e = SIGNALING__SIGNALING_ENVELOPE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  e.envelope_version = 1;
  e.envelope_id = "x";
  e.timestamp = &ts;
  uint8_t *enc;
  size_t elen;
  ASSERT_OK(actr__pb_encode(&e.base, &enc, &elen));
  ASSERT_OK(actr__pb_decode(d, enc, elen, NULL, &m));
  actr__pb_free(m);
  g_assert_cmpuint(enc[0], ==, 0x08); /* field 1, varint: 2 bytes */
  ASSERT_RC(actr__pb_decode(d, enc + 2, elen - 2, NULL, &m), "DESERIALIZATION");
  g_free(enc);
  g_bytes_unref(v);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/realm-proto/signaling-vectors", test_signaling_vectors);
  g_test_add_func("/realm-proto/ais-vectors", test_ais_vectors);
  g_test_add_func("/realm-proto/hostile", test_hostile);
  return g_test_run();
}
