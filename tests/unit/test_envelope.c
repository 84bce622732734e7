/* test_envelope.c — actr_envelope_t: building, every field round trip, the
 * golden vectors encoded by protoc (tests/vectors), unknown fields, and
 * hostile input to the decoder. */
#include <glib.h>
#include <string.h>

#include <actr/envelope.h>
#include <actr/error.h>

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")
#define ASSERT_RC(expr, name) g_assert_cmpstr(actr_err_name(expr), ==, name)

/* ---- helpers ------------------------------------------------------------ */

static void put_varint(GByteArray *b, uint64_t v) {
  do {
    uint8_t c = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
    g_byte_array_append(b, &c, 1);
    v >>= 7;
  } while (v);
}

static void put_key(GByteArray *b, uint32_t num, unsigned wt) {
  put_varint(b, ((uint64_t)num << 3) | wt);
}

static void put_uint(GByteArray *b, uint32_t num, uint64_t v) {
  put_key(b, num, 0);
  put_varint(b, v);
}

static void put_bytes(GByteArray *b, uint32_t num, const void *data, size_t len) {
  put_key(b, num, 2);
  put_varint(b, len);
  g_byte_array_append(b, data, (guint)len);
}

static void put_str(GByteArray *b, uint32_t num, const char *s) {
  put_bytes(b, num, s, strlen(s));
}

static void put_raw(GByteArray *b, const void *data, size_t len) {
  g_byte_array_append(b, data, (guint)len);
}

/* encode: @env's encoding as a GBytes, checked against encoded_size. */
static GBytes *encode(const actr_envelope_t *env) {
  uint8_t *buf = NULL;
  size_t len = 0;
  ASSERT_OK(actr_envelope_encode(env, &buf, &len));
  g_assert_cmpuint(len, ==, actr_envelope_encoded_size(env));
  GBytes *out = g_bytes_new(buf, len);
  free(buf);
  return out;
}

static actr_envelope_t *decode_ok(const void *data, size_t len) {
  actr_envelope_t *env = NULL;
  int rc = actr_envelope_decode(data, len, &env);
  if (rc != ACTR_OK)
    g_test_message("decode: %s", actr_err_detail());
  ASSERT_OK(rc);
  g_assert_nonnull(env);
  return env;
}

/* decode_fails: @data does not decode; the detail mentions @needle. */
static void decode_fails(const void *data, size_t len, const char *needle) {
  actr_envelope_t *env = (actr_envelope_t *)&env; /* must be reset to NULL */
  ASSERT_RC(actr_envelope_decode(data, len, &env), "DESERIALIZATION");
  g_assert_null(env);
  if (needle && !strstr(actr_err_detail(), needle))
    g_error("last error \"%s\" does not mention \"%s\"", actr_err_detail(), needle);
}

static GByteArray *minimal_bytes(void) {
  GByteArray *b = g_byte_array_new();
  put_str(b, 1, "svc.S.M");
  put_str(b, 102, "r1");
  put_uint(b, 104, 5);
  return b;
}

/* assert_same_fields: every field of @a equals @b's, read through getters. */
static void assert_same_fields(const actr_envelope_t *a, const actr_envelope_t *b) {
  g_assert_cmpstr(actr_envelope_route_key(a), ==, actr_envelope_route_key(b));
  g_assert_cmpstr(actr_envelope_request_id(a), ==, actr_envelope_request_id(b));
  g_assert_cmpint(actr_envelope_timeout_ms(a), ==, actr_envelope_timeout_ms(b));
  const uint8_t *pa, *pb;
  size_t la, lb;
  g_assert_cmpint(actr_envelope_payload(a, &pa, &la), ==, actr_envelope_payload(b, &pb, &lb));
  g_assert_cmpmem(pa, la, pb, lb);
  uint32_t ca, cb;
  const char *ma, *mb;
  g_assert_cmpint(actr_envelope_error(a, &ca, &ma), ==, actr_envelope_error(b, &cb, &mb));
  g_assert_cmpuint(ca, ==, cb);
  g_assert_cmpstr(ma, ==, mb);
  actr_envelope_direction_t da, db;
  g_assert_cmpint(actr_envelope_direction(a, &da), ==, actr_envelope_direction(b, &db));
  g_assert_cmpint(da, ==, db);
  g_assert_cmpstr(actr_envelope_traceparent(a), ==, actr_envelope_traceparent(b));
  g_assert_cmpstr(actr_envelope_tracestate(a), ==, actr_envelope_tracestate(b));
  g_assert_cmpuint(actr_envelope_metadata_count(a), ==, actr_envelope_metadata_count(b));
  for (size_t i = 0; i < actr_envelope_metadata_count(a); i++) {
    const char *ka, *va, *kb, *vb;
    ASSERT_OK(actr_envelope_metadata_at(a, i, &ka, &va));
    ASSERT_OK(actr_envelope_metadata_at(b, i, &kb, &vb));
    g_assert_cmpstr(ka, ==, kb);
    g_assert_cmpstr(va, ==, vb);
  }
  g_assert_true(actr_envelope_equal(a, b));
}

/* roundtrip: encode, decode, same fields, same bytes again. */
static void roundtrip(const actr_envelope_t *env) {
  GBytes *bytes = encode(env);
  actr_envelope_t *back = decode_ok(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
  assert_same_fields(back, env);
  GBytes *again = encode(back);
  g_assert_true(g_bytes_equal(bytes, again));
  g_bytes_unref(again);
  g_bytes_unref(bytes);
  actr_envelope_free(back);
}

/* ---- the golden vectors, built with the C API ------------------------------ */

static actr_envelope_t *build_minimal(void) {
  actr_envelope_t *env = NULL;
  ASSERT_OK(actr_envelope_new("echo.EchoService.Echo", "req-0001", 30000, &env));
  return env;
}

static actr_envelope_t *build_full(void) {
  actr_envelope_t *env = NULL;
  static const uint8_t payload[] = {0, 1, 2, 0xff, 0, 'b', 'i', 'n', 'a', 'r', 'y', 0};
  ASSERT_OK(actr_envelope_new("actr.demo.Calculator.Add", "7d3c1e0a-9b2f-4c51-8a6e-2f0d9c4b1a77",
                              -1, &env));
  ASSERT_OK(actr_envelope_set_payload(env, payload, sizeof payload));
  ASSERT_OK(actr_envelope_set_error(env, 503, "service unavailable"));
  ASSERT_OK(actr_envelope_set_direction(env, ACTR_ENVELOPE_DIRECTION_RESPONSE));
  ASSERT_OK(actr_envelope_set_traceparent(env, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  ASSERT_OK(actr_envelope_set_tracestate(env, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"));
  ASSERT_OK(actr_envelope_add_metadata(env, "x-actr-source", "node-a"));
  ASSERT_OK(actr_envelope_add_metadata(env, "content-type", "application/x-protobuf"));
  ASSERT_OK(actr_envelope_add_metadata(env, "empty", ""));
  return env;
}

static actr_envelope_t *build_unicode(void) {
  actr_envelope_t *env = NULL;
  const char *payload = "ünïcødé bytes";
  ASSERT_OK(actr_envelope_new("日本.Сервис.Méthode", "請求-🆔-42", 5000, &env));
  ASSERT_OK(actr_envelope_set_payload(env, payload, strlen(payload)));
  ASSERT_OK(actr_envelope_set_error(env, 1, "échec — 失败 🚫"));
  ASSERT_OK(actr_envelope_set_traceparent(env, "αβγ"));
  ASSERT_OK(actr_envelope_set_tracestate(env, "ключ=значение"));
  ASSERT_OK(actr_envelope_add_metadata(env, "émoji", "🎉🎊"));
  return env;
}

static actr_envelope_t *build_empty_payload(void) {
  actr_envelope_t *env = NULL;
  ASSERT_OK(actr_envelope_new("svc.Empty.Call", "", 0, &env));
  ASSERT_OK(actr_envelope_set_payload(env, "", 0));
  ASSERT_OK(actr_envelope_set_traceparent(env, ""));
  return env;
}

static actr_envelope_t *build_metadata_many(void) {
  actr_envelope_t *env = NULL;
  ASSERT_OK(actr_envelope_new("svc.Meta.Many", "many", 1000000, &env));
  for (int i = 0; i < 20; i++) {
    char k[16], v[16];
    g_snprintf(k, sizeof k, "key-%d", i);
    g_snprintf(v, sizeof v, "value-%d", i);
    ASSERT_OK(actr_envelope_add_metadata(env, k, v));
  }
  return env;
}

typedef struct vector {
  const char *name;
  actr_envelope_t *(*build)(void);
} vector_t;

static const vector_t vectors[] = {
    {"minimal", build_minimal},         {"full", build_full},
    {"unicode", build_unicode},         {"empty_payload", build_empty_payload},
    {"metadata_many", build_metadata_many},
};

static GBytes *load_vector(const char *name) {
  char *path = g_strdup_printf("%s/%s.bin", ACTR_VECTORS_DIR, name);
  char *data = NULL;
  gsize len = 0;
  GError *err = NULL;
  if (!g_file_get_contents(path, &data, &len, &err))
    g_error("%s: %s (build the golden_vectors targets)", path, err->message);
  g_free(path);
  return g_bytes_new_take(data, len);
}

/* Our encoding of the envelope built with the C API is byte for byte what
 * protoc made of the .txtpb; decoding protoc's bytes gives the same fields. */
static void test_vector(gconstpointer data) {
  const vector_t *v = data;
  GBytes *golden = load_vector(v->name);
  actr_envelope_t *built = v->build();
  GBytes *ours = encode(built);
  g_assert_cmpmem(g_bytes_get_data(ours, NULL), g_bytes_get_size(ours),
                  g_bytes_get_data(golden, NULL), g_bytes_get_size(golden));
  uint8_t buf[1024];
  size_t written = 0;
  ASSERT_OK(actr_envelope_encode_to(built, buf, sizeof buf, &written));
  g_assert_cmpmem(buf, written, g_bytes_get_data(golden, NULL), g_bytes_get_size(golden));

  actr_envelope_t *dec = decode_ok(g_bytes_get_data(golden, NULL), g_bytes_get_size(golden));
  assert_same_fields(dec, built);
  roundtrip(dec);
  actr_envelope_free(dec);
  actr_envelope_free(built);
  g_bytes_unref(ours);
  g_bytes_unref(golden);
}

/* A few fields spelled out, so that a vector and its builder cannot agree on
 * the same mistake. */
static void test_vector_fields(void) {
  GBytes *g = load_vector("full");
  actr_envelope_t *env = decode_ok(g_bytes_get_data(g, NULL), g_bytes_get_size(g));
  const uint8_t *p;
  size_t len;
  g_assert_true(actr_envelope_payload(env, &p, &len));
  g_assert_cmpmem(p, len, "\0\1\2\377\0binary\0", 12);
  uint32_t code;
  const char *msg, *k, *val;
  g_assert_true(actr_envelope_error(env, &code, &msg));
  g_assert_cmpuint(code, ==, 503);
  g_assert_cmpstr(msg, ==, "service unavailable");
  actr_envelope_direction_t dir;
  g_assert_true(actr_envelope_direction(env, &dir));
  g_assert_cmpint(dir, ==, ACTR_ENVELOPE_DIRECTION_RESPONSE);
  g_assert_cmpint(actr_envelope_timeout_ms(env), ==, -1);
  g_assert_cmpuint(actr_envelope_metadata_count(env), ==, 3);
  ASSERT_OK(actr_envelope_metadata_at(env, 2, &k, &val));
  g_assert_cmpstr(k, ==, "empty");
  g_assert_cmpstr(val, ==, "");
  actr_envelope_free(env);
  g_bytes_unref(g);

  g = load_vector("empty_payload");
  env = decode_ok(g_bytes_get_data(g, NULL), g_bytes_get_size(g));
  g_assert_true(actr_envelope_payload(env, &p, &len));
  g_assert_nonnull(p);
  g_assert_cmpuint(len, ==, 0);
  g_assert_cmpstr(actr_envelope_traceparent(env), ==, "");
  g_assert_null(actr_envelope_tracestate(env));
  g_assert_false(actr_envelope_error(env, NULL, NULL));
  g_assert_false(actr_envelope_direction(env, NULL));
  actr_envelope_free(env);
  g_bytes_unref(g);

  g = load_vector("metadata_many");
  env = decode_ok(g_bytes_get_data(g, NULL), g_bytes_get_size(g));
  g_assert_cmpuint(actr_envelope_metadata_count(env), ==, 20);
  ASSERT_OK(actr_envelope_metadata_at(env, 19, &k, &val));
  g_assert_cmpstr(k, ==, "key-19");
  g_assert_cmpstr(val, ==, "value-19");
  actr_envelope_free(env);
  g_bytes_unref(g);
}

/* ---- building and reading -------------------------------------------------- */

static void test_encode_minimal(void) {
  actr_envelope_t *env = NULL;
  ASSERT_OK(actr_envelope_new("svc.S.M", "r1", 5, &env));
  GBytes *b = encode(env);
  GByteArray *want = minimal_bytes();
  g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), want->data, want->len);
  g_assert_false(actr_envelope_payload(env, NULL, NULL));
  g_assert_false(actr_envelope_error(env, NULL, NULL));
  g_assert_false(actr_envelope_direction(env, NULL));
  g_assert_null(actr_envelope_traceparent(env));
  g_assert_null(actr_envelope_tracestate(env));
  g_assert_cmpuint(actr_envelope_metadata_count(env), ==, 0);
  roundtrip(env);
  g_byte_array_unref(want);
  g_bytes_unref(b);
  actr_envelope_free(env);
}

static void test_roundtrip_all_fields(void) {
  actr_envelope_t *env = build_full();
  roundtrip(env);
  /* every direction, and extreme timeouts (10-byte varints) */
  for (int d = ACTR_ENVELOPE_DIRECTION_UNSPECIFIED; d <= ACTR_ENVELOPE_DIRECTION_TELL; d++) {
    ASSERT_OK(actr_envelope_set_direction(env, d));
    roundtrip(env);
  }
  ASSERT_OK(actr_envelope_set_timeout_ms(env, INT64_MIN));
  roundtrip(env);
  ASSERT_OK(actr_envelope_set_timeout_ms(env, INT64_MAX));
  ASSERT_OK(actr_envelope_set_error(env, UINT32_MAX, ""));
  roundtrip(env);
  /* a payload bigger than one fragment */
  size_t big = 200000;
  uint8_t *data = g_malloc(big);
  for (size_t i = 0; i < big; i++)
    data[i] = (uint8_t)(i * 7);
  ASSERT_OK(actr_envelope_set_payload(env, data, big));
  roundtrip(env);
  g_free(data);
  actr_envelope_free(env);
}

static void test_new_invalid(void) {
  actr_envelope_t *env = (actr_envelope_t *)&env;
  ASSERT_RC(actr_envelope_new(NULL, "r", 1, &env), "INVALID_ARGUMENT");
  g_assert_null(env);
  ASSERT_RC(actr_envelope_new("k", NULL, 1, &env), "INVALID_ARGUMENT");
  ASSERT_RC(actr_envelope_new("k", "r", 1, NULL), "INVALID_ARGUMENT");
  ASSERT_RC(actr_envelope_new("\xff", "r", 1, &env), "INVALID_ARGUMENT");
  ASSERT_RC(actr_envelope_new("k", "\xed\xa0\x80", 1, &env), "INVALID_ARGUMENT"); /* surrogate */
  ASSERT_OK(actr_envelope_new("k", "r", 1, &env));
  ASSERT_RC(actr_envelope_set_route_key(env, NULL), "INVALID_ARGUMENT");
  ASSERT_RC(actr_envelope_set_request_id(env, NULL), "INVALID_ARGUMENT");
  ASSERT_RC(actr_envelope_set_traceparent(env, "\xc0\x80"), "INVALID_ARGUMENT"); /* overlong NUL */
  ASSERT_RC(actr_envelope_add_metadata(env, "k", "\xf4\x90\x80\x80"), "INVALID_ARGUMENT");
  ASSERT_RC(actr_envelope_add_metadata(env, NULL, "v"), "INVALID_ARGUMENT");
  ASSERT_RC(actr_envelope_set_error(env, 1, NULL), "INVALID_ARGUMENT");
  g_assert_cmpstr(actr_envelope_route_key(env), ==, "k");
  g_assert_cmpuint(actr_envelope_metadata_count(env), ==, 0);
  /* the current value may be set again */
  ASSERT_OK(actr_envelope_set_route_key(env, actr_envelope_route_key(env)));
  g_assert_cmpstr(actr_envelope_route_key(env), ==, "k");
  ASSERT_OK(actr_envelope_set_request_id(env, "new-id"));
  g_assert_cmpstr(actr_envelope_request_id(env), ==, "new-id");
  actr_envelope_free(env);
  actr_envelope_free(NULL);
  g_assert_null(actr_envelope_route_key(NULL));
  g_assert_cmpuint(actr_envelope_encoded_size(NULL), ==, 0);
}

static void test_optional_set_clear(void) {
  actr_envelope_t *env = build_minimal();
  GBytes *bare = encode(env);
  const uint8_t *p;
  size_t len;

  ASSERT_OK(actr_envelope_set_payload(env, "abc", 3));
  g_assert_true(actr_envelope_payload(env, &p, &len));
  g_assert_cmpmem(p, len, "abc", 3);
  ASSERT_OK(actr_envelope_set_payload(env, "", 0)); /* present, empty */
  g_assert_true(actr_envelope_payload(env, &p, &len));
  g_assert_cmpuint(len, ==, 0);
  ASSERT_OK(actr_envelope_set_payload(env, NULL, 0));
  g_assert_false(actr_envelope_payload(env, &p, &len));
  g_assert_null(p);
  ASSERT_RC(actr_envelope_set_payload(env, NULL, 4), "INVALID_ARGUMENT");

  ASSERT_OK(actr_envelope_set_error(env, 7, "first"));
  ASSERT_OK(actr_envelope_set_error(env, 8, "second"));
  uint32_t code;
  const char *msg;
  g_assert_true(actr_envelope_error(env, &code, &msg));
  g_assert_cmpuint(code, ==, 8);
  g_assert_cmpstr(msg, ==, "second");
  ASSERT_OK(actr_envelope_clear_error(env));
  ASSERT_OK(actr_envelope_clear_error(env));
  g_assert_false(actr_envelope_error(env, &code, &msg));
  g_assert_null(msg);

  actr_envelope_direction_t dir;
  ASSERT_OK(actr_envelope_set_direction(env, ACTR_ENVELOPE_DIRECTION_TELL));
  g_assert_true(actr_envelope_direction(env, &dir));
  g_assert_cmpint(dir, ==, ACTR_ENVELOPE_DIRECTION_TELL);
  ASSERT_RC(actr_envelope_set_direction(env, 4), "INVALID_ARGUMENT");
  ASSERT_RC(actr_envelope_set_direction(env, -1), "INVALID_ARGUMENT");
  g_assert_true(actr_envelope_direction(env, &dir));
  g_assert_cmpint(dir, ==, ACTR_ENVELOPE_DIRECTION_TELL);

  ASSERT_OK(actr_envelope_set_traceparent(env, "tp"));
  ASSERT_OK(actr_envelope_set_tracestate(env, "ts"));
  g_assert_cmpstr(actr_envelope_traceparent(env), ==, "tp");
  g_assert_cmpstr(actr_envelope_tracestate(env), ==, "ts");
  roundtrip(env);
  ASSERT_OK(actr_envelope_set_traceparent(env, NULL));
  ASSERT_OK(actr_envelope_set_tracestate(env, NULL));
  g_assert_null(actr_envelope_traceparent(env));
  g_assert_null(actr_envelope_tracestate(env));

  /* direction has no clear: rebuild without it and compare with the start */
  actr_envelope_t *plain = build_minimal();
  GBytes *now = encode(plain);
  g_assert_true(g_bytes_equal(now, bare));
  g_assert_false(actr_envelope_equal(env, plain)); /* direction still set */
  g_bytes_unref(now);
  g_bytes_unref(bare);
  actr_envelope_free(plain);
  actr_envelope_free(env);
}

static void test_metadata_at_out_of_range(void) {
  actr_envelope_t *env = build_minimal();
  const char *k = "unset", *v = "unset";
  ASSERT_RC(actr_envelope_metadata_at(env, 0, &k, &v), "INVALID_ARGUMENT");
  g_assert_nonnull(strstr(actr_err_detail(), "out of range"));
  ASSERT_OK(actr_envelope_add_metadata(env, "a", "1"));
  ASSERT_OK(actr_envelope_add_metadata(env, "a", "2")); /* repeated keys kept */
  ASSERT_OK(actr_envelope_metadata_at(env, 1, &k, &v));
  g_assert_cmpstr(k, ==, "a");
  g_assert_cmpstr(v, ==, "2");
  ASSERT_OK(actr_envelope_metadata_at(env, 0, NULL, NULL));
  ASSERT_RC(actr_envelope_metadata_at(env, 2, &k, &v), "INVALID_ARGUMENT");
  ASSERT_RC(actr_envelope_metadata_at(env, SIZE_MAX, &k, &v), "INVALID_ARGUMENT");
  ASSERT_RC(actr_envelope_metadata_at(NULL, 0, &k, &v), "INVALID_ARGUMENT");
  actr_envelope_free(env);
}

static void test_encode_to_small_buffer(void) {
  actr_envelope_t *env = build_full();
  size_t need = actr_envelope_encoded_size(env);
  uint8_t *buf = g_malloc(need);
  size_t written = 12345;
  ASSERT_RC(actr_envelope_encode_to(env, buf, need - 1, &written), "MESSAGE_TOO_LARGE");
  g_assert_cmpuint(written, ==, 12345);
  ASSERT_RC(actr_envelope_encode_to(env, NULL, 0, &written), "MESSAGE_TOO_LARGE");
  ASSERT_OK(actr_envelope_encode_to(env, buf, need, &written));
  g_assert_cmpuint(written, ==, need);
  GBytes *b = encode(env);
  g_assert_cmpmem(buf, written, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
  g_bytes_unref(b);
  g_free(buf);
  actr_envelope_free(env);
}

static void test_copy(void) {
  actr_envelope_t *env = build_full(), *copy = NULL;
  ASSERT_OK(actr_envelope_copy(env, &copy));
  g_assert_true(copy != env);
  assert_same_fields(copy, env);
  /* independent: changing the copy leaves the original alone */
  ASSERT_OK(actr_envelope_set_route_key(copy, "other"));
  ASSERT_OK(actr_envelope_add_metadata(copy, "k", "v"));
  ASSERT_OK(actr_envelope_clear_error(copy));
  g_assert_cmpstr(actr_envelope_route_key(env), ==, "actr.demo.Calculator.Add");
  g_assert_cmpuint(actr_envelope_metadata_count(env), ==, 3);
  g_assert_true(actr_envelope_error(env, NULL, NULL));
  g_assert_false(actr_envelope_equal(copy, env));
  actr_envelope_free(copy);
  ASSERT_RC(actr_envelope_copy(NULL, &copy), "INVALID_ARGUMENT");
  g_assert_null(copy);
  actr_envelope_free(env);
}

static void test_equal(void) {
  actr_envelope_t *a = build_full(), *b = build_full();
  g_assert_true(actr_envelope_equal(a, b));
  g_assert_true(actr_envelope_equal(a, a));
  g_assert_false(actr_envelope_equal(a, NULL));
  g_assert_false(actr_envelope_equal(NULL, b));
  g_assert_true(actr_envelope_equal(NULL, NULL));
  ASSERT_OK(actr_envelope_set_timeout_ms(b, -2)); /* same size, other bytes */
  g_assert_cmpuint(actr_envelope_encoded_size(a), ==, actr_envelope_encoded_size(b));
  g_assert_false(actr_envelope_equal(a, b));
  ASSERT_OK(actr_envelope_set_timeout_ms(b, -1));
  ASSERT_OK(actr_envelope_set_payload(b, NULL, 0));
  g_assert_false(actr_envelope_equal(a, b));
  actr_envelope_free(a);
  actr_envelope_free(b);
  /* absent and empty payloads differ */
  a = build_minimal();
  b = build_minimal();
  ASSERT_OK(actr_envelope_set_payload(b, "", 0));
  g_assert_false(actr_envelope_equal(a, b));
  actr_envelope_free(a);
  actr_envelope_free(b);
}

/* ---- unknown fields -------------------------------------------------------- */

/* check_unknown_survive: @bytes decode; the re-encoding holds @unknown
 * (whole, in order) and decodes to an equal envelope; a copy keeps it. */
static void check_unknown_survive(const GByteArray *bytes, const GByteArray *unknown) {
  actr_envelope_t *env = decode_ok(bytes->data, bytes->len);
  GBytes *enc = encode(env);
  gsize len;
  const uint8_t *data = g_bytes_get_data(enc, &len);
  g_assert_cmpuint(len, ==, bytes->len);
  g_assert_nonnull(memmem(data, len, unknown->data, unknown->len));
  actr_envelope_t *again = decode_ok(data, len);
  g_assert_true(actr_envelope_equal(env, again));
  GBytes *enc2 = encode(again);
  g_assert_true(g_bytes_equal(enc, enc2));
  actr_envelope_t *copy = NULL;
  ASSERT_OK(actr_envelope_copy(env, &copy));
  g_assert_true(actr_envelope_equal(env, copy));
  g_assert_cmpuint(actr_envelope_encoded_size(copy), ==, bytes->len);
  actr_envelope_free(copy);
  g_bytes_unref(enc2);
  g_bytes_unref(enc);
  actr_envelope_free(again);
  actr_envelope_free(env);
}

static void test_unknown_top_level(void) {
  GByteArray *unknown = g_byte_array_new();
  put_uint(unknown, 7, 150);
  put_str(unknown, 200, "from a later actr");
  put_key(unknown, 9, 5); /* fixed32 */
  put_raw(unknown, "\1\2\3\4", 4);
  put_key(unknown, 10, 1); /* fixed64 */
  put_raw(unknown, "\0\0\0\0\0\0\0\x80", 8);
  put_uint(unknown, (1u << 29) - 1, 1); /* the largest field number */
  GByteArray *b = minimal_bytes();
  put_raw(b, unknown->data, unknown->len);
  check_unknown_survive(b, unknown);

  /* the known fields are still read */
  actr_envelope_t *env = decode_ok(b->data, b->len);
  g_assert_cmpstr(actr_envelope_route_key(env), ==, "svc.S.M");
  g_assert_cmpint(actr_envelope_timeout_ms(env), ==, 5);
  /* setters keep the unknown fields */
  ASSERT_OK(actr_envelope_set_payload(env, "x", 1));
  GBytes *enc = encode(env);
  g_assert_nonnull(memmem(g_bytes_get_data(enc, NULL), g_bytes_get_size(enc), unknown->data,
                          unknown->len));
  g_bytes_unref(enc);
  actr_envelope_free(env);
  g_byte_array_unref(b);
  g_byte_array_unref(unknown);
}

static void test_unknown_nested(void) {
  GByteArray *err_unknown = g_byte_array_new(), *meta_unknown = g_byte_array_new();
  put_str(err_unknown, 3, "error detail");
  put_uint(meta_unknown, 15, 99);
  GByteArray *err = g_byte_array_new(), *meta = g_byte_array_new();
  put_uint(err, 1, 42);
  put_str(err, 2, "boom");
  put_raw(err, err_unknown->data, err_unknown->len);
  put_str(meta, 1, "k");
  put_str(meta, 2, "v");
  put_raw(meta, meta_unknown->data, meta_unknown->len);

  GByteArray *b = g_byte_array_new();
  put_str(b, 1, "svc.S.M");
  put_bytes(b, 3, err->data, err->len);
  put_str(b, 102, "r1");
  put_bytes(b, 103, meta->data, meta->len);
  put_uint(b, 104, 5);
  check_unknown_survive(b, err_unknown);
  check_unknown_survive(b, meta_unknown);
  actr_envelope_t *env = decode_ok(b->data, b->len);
  uint32_t code;
  const char *msg;
  g_assert_true(actr_envelope_error(env, &code, &msg));
  g_assert_cmpuint(code, ==, 42);
  g_assert_cmpstr(msg, ==, "boom");
  actr_envelope_free(env);
  g_byte_array_unref(b);
  g_byte_array_unref(err);
  g_byte_array_unref(meta);
  g_byte_array_unref(err_unknown);
  g_byte_array_unref(meta_unknown);
}

/* Unknown fields and metadata are bounded in count and bytes: one message
 * of tiny unknown fields must not cost memory out of proportion to it. */
static void test_decode_limits(void) {
  GByteArray *b = minimal_bytes();
  for (unsigned i = 0; i < ACTR_ENVELOPE_MAX_UNKNOWN_FIELDS; i++)
    put_uint(b, 50, i);
  actr_envelope_t *env = decode_ok(b->data, b->len);
  actr_envelope_free(env);
  put_uint(b, 50, 1); /* one more */
  decode_fails(b->data, b->len, "unknown fields");
  g_byte_array_unref(b);

  /* The count is over the whole envelope, nested messages included. */
  b = minimal_bytes();
  for (unsigned i = 0; i < ACTR_ENVELOPE_MAX_UNKNOWN_FIELDS; i++)
    put_uint(b, 50, i);
  GByteArray *meta = g_byte_array_new();
  put_str(meta, 1, "k");
  put_str(meta, 2, "v");
  put_uint(meta, 9, 1);
  put_bytes(b, 103, meta->data, meta->len);
  decode_fails(b->data, b->len, "unknown fields");
  g_byte_array_unref(meta);
  g_byte_array_unref(b);

  /* Bytes: two big unknown fields. */
  b = minimal_bytes();
  size_t half = ACTR_ENVELOPE_MAX_UNKNOWN_BYTES / 2;
  uint8_t *blob = g_malloc0(half);
  put_bytes(b, 60, blob, half - 8);
  env = decode_ok(b->data, b->len);
  actr_envelope_free(env);
  put_bytes(b, 61, blob, half);
  decode_fails(b->data, b->len, "bytes of unknown fields");
  g_free(blob);
  g_byte_array_unref(b);

  /* Metadata entries: the limit decodes, one more does not; the setter
   * refuses to build what a peer would refuse. */
  b = minimal_bytes();
  meta = g_byte_array_new();
  put_str(meta, 1, "k");
  put_str(meta, 2, "v");
  for (unsigned i = 0; i < ACTR_ENVELOPE_MAX_METADATA; i++)
    put_bytes(b, 103, meta->data, meta->len);
  env = decode_ok(b->data, b->len);
  g_assert_cmpuint(actr_envelope_metadata_count(env), ==, ACTR_ENVELOPE_MAX_METADATA);
  ASSERT_RC(actr_envelope_add_metadata(env, "k", "v"), "MESSAGE_TOO_LARGE");
  actr_envelope_free(env);
  put_bytes(b, 103, meta->data, meta->len);
  decode_fails(b->data, b->len, "metadata entries");
  g_byte_array_unref(meta);
  g_byte_array_unref(b);
}

/* A direction value this version has no name for is kept (proto2 enum). */
static void test_unknown_direction(void) {
  GByteArray *b = minimal_bytes();
  put_uint(b, 4, 9);
  actr_envelope_t *env = decode_ok(b->data, b->len);
  actr_envelope_direction_t dir;
  g_assert_true(actr_envelope_direction(env, &dir));
  g_assert_cmpint(dir, ==, 9);
  GBytes *enc = encode(env);
  g_assert_cmpuint(g_bytes_get_size(enc), ==, b->len);
  g_bytes_unref(enc);
  actr_envelope_free(env);
  g_byte_array_unref(b);
}

/* ---- hostile input --------------------------------------------------------- */

static void test_decode_empty(void) {
  decode_fails("", 0, "route_key");
  decode_fails(NULL, 0, "route_key");
  actr_envelope_t *env = NULL;
  ASSERT_RC(actr_envelope_decode(NULL, 3, &env), "INVALID_ARGUMENT");
  ASSERT_RC(actr_envelope_decode("", 0, NULL), "INVALID_ARGUMENT");
}

/* Every prefix of a valid encoding decodes or fails cleanly, never more. */
static void test_decode_truncated(void) {
  for (size_t v = 0; v < G_N_ELEMENTS(vectors); v++) {
    GBytes *g = load_vector(vectors[v].name);
    gsize len;
    const uint8_t *full = g_bytes_get_data(g, &len);
    for (size_t n = 0; n <= len; n++) {
      uint8_t *copy = g_memdup2(full, n); /* exact size: ASan sees any overread */
      actr_envelope_t *env = NULL;
      int rc = actr_envelope_decode(copy, n, &env);
      if (n == len) {
        ASSERT_OK(rc);
      } else if (rc != ACTR_OK) {
        ASSERT_RC(rc, "DESERIALIZATION");
        g_assert_null(env);
        g_assert_cmpstr(actr_err_detail(), !=, "");
      } else {
        roundtrip(env); /* a prefix ending at a field boundary */
      }
      actr_envelope_free(env);
      g_free(copy);
    }
    g_bytes_unref(g);
  }
}

static void test_decode_missing_required(void) {
  static const char *names[] = {"route_key", "request_id", "timeout_ms"};
  for (int skip = 0; skip < 3; skip++) {
    GByteArray *b = g_byte_array_new();
    if (skip != 0)
      put_str(b, 1, "svc.S.M");
    put_bytes(b, 2, "p", 1);
    if (skip != 1)
      put_str(b, 102, "r1");
    if (skip != 2)
      put_uint(b, 104, 5);
    decode_fails(b->data, b->len, names[skip]);
    g_assert_nonnull(strstr(actr_err_detail(), "missing required field"));
    g_byte_array_unref(b);
  }
}

static void test_decode_bad_wire_type(void) {
  GByteArray *b = minimal_bytes();
  put_uint(b, 1, 5); /* route_key as a varint */
  decode_fails(b->data, b->len, "wire type");
  g_byte_array_unref(b);

  b = minimal_bytes();
  put_str(b, 104, "x"); /* timeout_ms length-delimited */
  decode_fails(b->data, b->len, "timeout_ms");
  g_byte_array_unref(b);

  for (unsigned wt = 3; wt <= 7; wt++) {
    if (wt == 5)
      continue;
    b = minimal_bytes();
    put_key(b, 50, wt); /* groups (3, 4) and the undefined 6, 7 */
    put_raw(b, "\0\0\0\0\0\0\0\0", 8);
    decode_fails(b->data, b->len, "wire type");
    g_byte_array_unref(b);
  }
  b = minimal_bytes();
  put_raw(b, "\x00\x01", 2); /* field number 0 */
  decode_fails(b->data, b->len, "field number");
  g_byte_array_unref(b);
  b = minimal_bytes();
  put_raw(b, "\x80\x80\x80\x80\x10\x00", 6); /* field number 2^29 */
  decode_fails(b->data, b->len, "field number");
  g_byte_array_unref(b);
}

static void test_decode_overlong_varint(void) {
  GByteArray *b = g_byte_array_new();
  put_str(b, 1, "svc.S.M");
  put_str(b, 102, "r1");
  put_key(b, 104, 0);
  put_raw(b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11); /* 11 bytes */
  decode_fails(b->data, b->len, "varint");
  g_byte_array_set_size(b, b->len - 2);
  put_raw(b, "\x02", 1); /* 10 bytes, bits above 64 */
  decode_fails(b->data, b->len, "varint");
  g_byte_array_set_size(b, b->len - 1);
  put_raw(b, "\x01", 1); /* 10 bytes, INT64 -1: fine */
  actr_envelope_t *env = decode_ok(b->data, b->len);
  g_assert_cmpint(actr_envelope_timeout_ms(env), ==, -1);
  actr_envelope_free(env);
  g_byte_array_set_size(b, b->len - 1); /* unterminated */
  decode_fails(b->data, b->len, "varint");
  g_byte_array_unref(b);

  b = minimal_bytes();
  put_raw(b, "\xf8\xff\xff\xff\xff\x01", 6); /* 6-byte key */
  decode_fails(b->data, b->len, "key");
  g_byte_array_unref(b);
}

static void test_decode_length_beyond(void) {
  GByteArray *b = g_byte_array_new();
  put_key(b, 1, 2);
  put_varint(b, 100);
  put_raw(b, "abc", 3);
  decode_fails(b->data, b->len, "left");
  g_byte_array_unref(b);
  b = minimal_bytes();
  put_key(b, 2, 2);
  put_raw(b, "\xff\xff\xff\xff\x0f", 5); /* 4 GiB - 1 */
  decode_fails(b->data, b->len, "left");
  g_byte_array_unref(b);
  b = minimal_bytes();
  put_key(b, 2, 2);
  put_raw(b, "\xff\xff\xff\xff\xff\x01", 6); /* length in 6 bytes */
  decode_fails(b->data, b->len, "length");
  g_byte_array_unref(b);
  b = minimal_bytes();
  put_key(b, 9, 1);
  put_raw(b, "\1\2\3", 3); /* fixed64 cut short */
  decode_fails(b->data, b->len, "left");
  g_byte_array_unref(b);
}

static void test_decode_nested_missing(void) {
  struct { uint32_t field; const char *path; const char *missing; } cases[] = {
      {3, "RpcEnvelope.error", "message"},    {3, "RpcEnvelope.error", "code"},
      {103, "RpcEnvelope.metadata[1]", "value"}, {103, "RpcEnvelope.metadata[1]", "key"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    GByteArray *sub = g_byte_array_new(), *b = minimal_bytes();
    bool first = strcmp(cases[i].missing, "code") && strcmp(cases[i].missing, "key");
    if (cases[i].field == 3) {
      if (first) put_uint(sub, 1, 1);
      else put_str(sub, 2, "m");
    } else {
      put_bytes(b, 103, "\x0a\x01k\x12\x01v", 6); /* a good entry first */
      put_str(sub, first ? 1 : 2, "x");
    }
    put_bytes(b, cases[i].field, sub->data, sub->len);
    decode_fails(b->data, b->len, cases[i].path);
    g_assert_nonnull(strstr(actr_err_detail(), cases[i].missing));
    g_byte_array_unref(sub);
    g_byte_array_unref(b);
  }
  /* an error message that is itself malformed */
  GByteArray *b = minimal_bytes();
  put_bytes(b, 3, "\x08\x01\x12\x05m", 4);
  decode_fails(b->data, b->len, "RpcEnvelope.error");
  g_byte_array_unref(b);
}

static void test_decode_bad_strings(void) {
  static const char *bad[] = {"\xff", "a\0b", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                              "\xe2\x82"};
  static const size_t bad_len[] = {1, 3, 2, 3, 4, 2};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    GByteArray *b = minimal_bytes();
    put_bytes(b, 100, bad[i], bad_len[i]);
    decode_fails(b->data, b->len, "traceparent");
    g_byte_array_unref(b);
    b = minimal_bytes(); /* inside a metadata entry */
    GByteArray *m = g_byte_array_new();
    put_str(m, 1, "k");
    put_bytes(m, 2, bad[i], bad_len[i]);
    put_bytes(b, 103, m->data, m->len);
    decode_fails(b->data, b->len, "value");
    g_byte_array_unref(m);
    g_byte_array_unref(b);
  }
  /* payload is bytes: anything goes */
  GByteArray *b = minimal_bytes();
  put_bytes(b, 2, "\xff\0\xc0", 3);
  actr_envelope_t *env = decode_ok(b->data, b->len);
  actr_envelope_free(env);
  g_byte_array_unref(b);
}

/* Repeated scalar fields: the last wins; repeated message fields merge
 * (protobuf semantics); either way the re-encoding is stable. */
static void test_decode_duplicates(void) {
  GByteArray *b = minimal_bytes();
  put_str(b, 1, "second.route");
  put_uint(b, 104, 9);
  put_bytes(b, 3, "\x08\x01\x12\x01" "a", 5);
  put_bytes(b, 3, "\x08\x02\x12\x01" "b", 5);
  actr_envelope_t *env = decode_ok(b->data, b->len);
  g_assert_cmpstr(actr_envelope_route_key(env), ==, "second.route");
  g_assert_cmpint(actr_envelope_timeout_ms(env), ==, 9);
  uint32_t code;
  const char *msg;
  g_assert_true(actr_envelope_error(env, &code, &msg));
  g_assert_cmpuint(code, ==, 2);
  g_assert_cmpstr(msg, ==, "b");
  roundtrip(env);
  actr_envelope_free(env);
  g_byte_array_unref(b);
}

/* Random bytes and random mutations of the vectors: no crash, and whatever
 * decodes re-encodes to something that decodes to the same envelope. */
static void test_decode_random(void) {
  GRand *rand = g_rand_new_with_seed(0xac7);
  GBytes *g = load_vector("full");
  gsize glen;
  const uint8_t *golden = g_bytes_get_data(g, &glen);
  unsigned decoded = 0;
  for (int iter = 0; iter < 20000; iter++) {
    GByteArray *b = g_byte_array_new();
    if (iter % 2) {
      put_raw(b, golden, glen);
      for (int m = g_rand_int_range(rand, 1, 4); m > 0; m--)
        b->data[g_rand_int_range(rand, 0, (gint32)b->len)] = (uint8_t)g_rand_int(rand);
      if (g_rand_boolean(rand))
        g_byte_array_set_size(b, g_rand_int_range(rand, 0, (gint32)b->len));
    } else {
      g_byte_array_set_size(b, g_rand_int_range(rand, 0, 64));
      for (guint i = 0; i < b->len; i++)
        b->data[i] = (uint8_t)g_rand_int(rand);
    }
    uint8_t *exact = g_memdup2(b->data, b->len);
    actr_envelope_t *env = NULL;
    int rc = actr_envelope_decode(exact, b->len, &env);
    if (rc == ACTR_OK) {
      decoded++;
      roundtrip(env);
    } else {
      ASSERT_RC(rc, "DESERIALIZATION");
    }
    actr_envelope_free(env);
    g_free(exact);
    g_byte_array_unref(b);
  }
  g_test_message("%u of 20000 decoded", decoded);
  g_assert_cmpuint(decoded, >, 0);
  g_bytes_unref(g);
  g_rand_free(rand);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/envelope/new/invalid", test_new_invalid);
  g_test_add_func("/envelope/encode/minimal", test_encode_minimal);
  g_test_add_func("/envelope/encode/roundtrip-all-fields", test_roundtrip_all_fields);
  g_test_add_func("/envelope/encode/too-small-buffer", test_encode_to_small_buffer);
  g_test_add_func("/envelope/optional/set-clear", test_optional_set_clear);
  g_test_add_func("/envelope/metadata/at-out-of-range", test_metadata_at_out_of_range);
  g_test_add_func("/envelope/copy", test_copy);
  g_test_add_func("/envelope/decode/limits", test_decode_limits);
  g_test_add_func("/envelope/equal", test_equal);
  for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++) {
    char *path = g_strdup_printf("/envelope/vector/%s", vectors[i].name);
    g_test_add_data_func(path, &vectors[i], test_vector);
    g_free(path);
  }
  g_test_add_func("/envelope/vector/fields", test_vector_fields);
  g_test_add_func("/envelope/unknown/top-level", test_unknown_top_level);
  g_test_add_func("/envelope/unknown/nested", test_unknown_nested);
  g_test_add_func("/envelope/unknown/direction-value", test_unknown_direction);
  g_test_add_func("/envelope/decode/empty", test_decode_empty);
  g_test_add_func("/envelope/decode/truncated", test_decode_truncated);
  g_test_add_func("/envelope/decode/missing-required", test_decode_missing_required);
  g_test_add_func("/envelope/decode/bad-wire-type", test_decode_bad_wire_type);
  g_test_add_func("/envelope/decode/overlong-varint", test_decode_overlong_varint);
  g_test_add_func("/envelope/decode/length-beyond-buffer", test_decode_length_beyond);
  g_test_add_func("/envelope/decode/nested-missing-required", test_decode_nested_missing);
  g_test_add_func("/envelope/decode/bad-strings", test_decode_bad_strings);
  g_test_add_func("/envelope/decode/duplicate-fields", test_decode_duplicates);
  g_test_add_func("/envelope/decode/random", test_decode_random);
  return g_test_run();
}
