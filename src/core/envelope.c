/* envelope.c — actr_envelope_t, the RpcEnvelope message (SPEC §1.2): build,
 * read, encode, decode.
 *
 * protobuf-c (code generated from src/proto/actr/package.proto) packs and unpacks.  A
 * wire check of our own runs before unpacking, for two reasons: protobuf-c
 * only says "failed", and we want the caller to read which field is missing
 * or at which offset the bytes go wrong; and strings must be what the Rust
 * peer (prost) accepts, valid UTF-8, and what a C string can carry, no NUL.
 * This is not a general protobuf library: it knows one schema. */
#include "error_internal.h"
#include "actr/package.pb-c.h"
#include "pbwire.h"

#include <actr/envelope.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An envelope is the generated message itself, so a decoded message becomes
 * an envelope without a copy and protobuf_c_message_free_unpacked() releases
 * both kinds.  Invariant: every pointer in the tree (strings, payload,
 * sub-messages, arrays, unknown fields) comes from malloc(), the allocator
 * we hand protobuf-c (env_malloc), so setters free() and malloc() directly. */
struct actr_envelope {
  Actr__RpcEnvelope pb;
};
_Static_assert(sizeof(struct actr_envelope) == sizeof(Actr__RpcEnvelope),
               "actr_envelope_t must stay the bare generated message");

/* env_malloc: malloc for protobuf-c; records a failure in *@data (when set)
 * so that decode can tell ACTR_ENO_MEMORY from bad bytes. */
static void *env_malloc(void *data, size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p && data)
    *(bool *)data = true;
  return p;
}

static void env_free(void *data, void *p) { free(p); }

static ProtobufCAllocator free_alloc = {env_malloc, env_free, NULL};
static const uint8_t empty_bytes[1]; /* a non-NULL pointer for 0 bytes */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };
enum { K_SCALAR, K_STRING, K_BYTES, K_ERROR, K_METADATA };

/* rule_t: what the wire check knows of one field of a message. */
typedef struct rule {
  uint32_t num;
  uint8_t wire, kind;
  bool required;
  const char *name;
} rule_t;

static const rule_t envelope_rules[] = {
    {1, WT_LEN, K_STRING, true, "route_key"},       {2, WT_LEN, K_BYTES, false, "payload"},
    {3, WT_LEN, K_ERROR, false, "error"},           {4, WT_VARINT, K_SCALAR, false, "direction"},
    {100, WT_LEN, K_STRING, false, "traceparent"},  {101, WT_LEN, K_STRING, false, "tracestate"},
    {102, WT_LEN, K_STRING, true, "request_id"},    {103, WT_LEN, K_METADATA, false, "metadata"},
    {104, WT_VARINT, K_SCALAR, true, "timeout_ms"},
};
static const rule_t error_rules[] = {
    {1, WT_VARINT, K_SCALAR, true, "code"}, {2, WT_LEN, K_STRING, true, "message"}};
static const rule_t metadata_rules[] = {
    {1, WT_LEN, K_STRING, true, "key"}, {2, WT_LEN, K_STRING, true, "value"}};

#define BAD(...) actr__fail(ACTR_EDESERIALIZATION, __VA_ARGS__)
/* ARG: a public entry point's guard on a NULL argument. */
#define ARG(ok, w)                                                                           \
  do { if (!(ok)) return actr__fail(ACTR_EINVALID_ARGUMENT, "%s: NULL %s", __func__, w); } while (0)
#define ENV_ARG(env) ARG(env, "envelope")

/* wire_check: walk one message (@buf, @len, at offset @base of the input)
 * against @rules: keys, lengths, wire types of known fields, UTF-8 of
 * strings, required fields, and the same for nested messages.  @path names
 * the message in errors ("RpcEnvelope.metadata[2]"). */
/* What the whole envelope has used of its limits so far. */
typedef struct tally {
  size_t unknown_fields, unknown_bytes, metadata;
} tally_t;

static int wire_check(const uint8_t *buf, size_t len, size_t base, const rule_t *rules,
                      size_t n_rules, const char *path, tally_t *t) {
  const uint8_t *p = buf, *end = buf + len;
  uint32_t seen = 0;
  while (p < end) {
    size_t at = base + (size_t)(p - buf);
    actr__pb_field_t fld;
    int frc = actr__pb_read_field(&p, end, path, at, &fld);
    if (frc != ACTR_OK)
      return frc;
    uint64_t num = fld.num, vlen = fld.vlen;
    unsigned wt = fld.wt;
    const uint8_t *val = fld.val;
    size_t r = 0;
    while (r < n_rules && rules[r].num != num)
      r++;
    if (r == n_rules) { /* unknown: protobuf-c keeps it as is, within limits */
      t->unknown_bytes += (size_t)(p - buf) - (at - base);
      if (++t->unknown_fields > ACTR_ENVELOPE_MAX_UNKNOWN_FIELDS)
        return BAD("%s: more than %u unknown fields (offset %zu)", path,
                   ACTR_ENVELOPE_MAX_UNKNOWN_FIELDS, at);
      if (t->unknown_bytes > ACTR_ENVELOPE_MAX_UNKNOWN_BYTES)
        return BAD("%s: more than %u bytes of unknown fields (offset %zu)", path,
                   ACTR_ENVELOPE_MAX_UNKNOWN_BYTES, at);
      continue;
    }
    const rule_t *rule = &rules[r];
    if (wt != rule->wire)
      return BAD("%s: field %s at offset %zu has wire type %u, expected %u", path,
                 rule->name, at, wt, rule->wire);
    seen |= 1u << r;
    char sub[64];
    int rc = ACTR_OK;
    size_t sub_base = base + (size_t)(val - buf);
    if (rule->kind == K_STRING && !actr__utf8_valid(val, vlen))
      return BAD("%s: field %s at offset %zu is not valid UTF-8 or contains NUL", path,
                 rule->name, at);
    if (rule->kind == K_ERROR)
      rc = wire_check(val, vlen, sub_base, error_rules, 2, "RpcEnvelope.error", t);
    if (rule->kind == K_METADATA) {
      if (t->metadata == ACTR_ENVELOPE_MAX_METADATA)
        return BAD("%s: more than %u metadata entries (offset %zu)", path,
                   ACTR_ENVELOPE_MAX_METADATA, at);
      snprintf(sub, sizeof sub, "RpcEnvelope.metadata[%zu]", t->metadata++);
      rc = wire_check(val, vlen, sub_base, metadata_rules, 2, sub, t);
    }
    if (rc != ACTR_OK)
      return rc;
  }
  for (size_t r = 0; r < n_rules; r++)
    if (rules[r].required && !(seen & (1u << r)))
      return BAD("%s: missing required field %s", path, rules[r].name);
  return ACTR_OK;
}

/* tree_complete: the required pointers protobuf-c promises are there. */
static bool tree_complete(const Actr__RpcEnvelope *pb) {
  if (!pb->route_key || !pb->request_id || (pb->error && !pb->error->message) ||
      (pb->n_metadata && !pb->metadata))
    return false;
  for (size_t i = 0; i < pb->n_metadata; i++)
    if (!pb->metadata[i] || !pb->metadata[i]->key || !pb->metadata[i]->value)
      return false;
  return true;
}

/* unpack: protobuf-c's half of decode and copy. */
static int unpack(const uint8_t *data, size_t len, actr_envelope_t **out) {
  bool oom = false;
  ProtobufCAllocator a = {env_malloc, env_free, &oom};
  Actr__RpcEnvelope *pb = actr__rpc_envelope__unpack(&a, len, data);
  if (!pb)
    return oom ? actr__fail(ACTR_ENO_MEMORY, "RpcEnvelope: out of memory decoding %zu bytes", len)
               : BAD("RpcEnvelope: malformed bytes (%zu bytes rejected by protobuf-c)", len);
  if (!tree_complete(pb)) {
    protobuf_c_message_free_unpacked(&pb->base, &free_alloc);
    return BAD("RpcEnvelope: required field missing after unpack");
  }
  *out = (actr_envelope_t *)pb;
  return ACTR_OK;
}

int actr_envelope_decode(const void *data, size_t len, actr_envelope_t **out) {
  ARG(out, "out");
  *out = NULL;
  ARG(data || !len, "data");
  if (!len)
    data = empty_bytes; /* no arithmetic on NULL */
  tally_t t = {0};
  int rc = wire_check(data, len, 0, envelope_rules, sizeof envelope_rules / sizeof *envelope_rules,
                      "RpcEnvelope", &t);
  return rc != ACTR_OK ? rc : unpack(data, len, out);
}

/* check_string: a string argument the encoding can carry. */
static int check_string(const char *name, const char *s) {
  if (!s)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "RpcEnvelope: %s is NULL", name);
  if (!actr__utf8_valid((const uint8_t *)s, strlen(s)))
    return actr__fail(ACTR_EINVALID_ARGUMENT, "RpcEnvelope: %s is not valid UTF-8", name);
  return ACTR_OK;
}

static int no_memory(void) { return actr__fail(ACTR_ENO_MEMORY, "RpcEnvelope: out of memory"); }

/* set_string: replace *@slot by a copy of @s (NULL clears, unless
 * @required).  The copy is made before the old value goes, so @s may be
 * the current value. */
static int set_string(char **slot, const char *name, const char *s, bool required) {
  char *copy = NULL;
  if (s || required) {
    int rc = check_string(name, s);
    if (rc != ACTR_OK)
      return rc;
    if (!(copy = strdup(s)))
      return no_memory();
  }
  free(*slot);
  *slot = copy;
  return ACTR_OK;
}

int actr_envelope_new(const char *route_key, const char *request_id, int64_t timeout_ms,
                      actr_envelope_t **out) {
  ARG(out, "out");
  *out = NULL;
  int rc = check_string("route_key", route_key);
  if (rc != ACTR_OK || (rc = check_string("request_id", request_id)) != ACTR_OK)
    return rc;
  actr_envelope_t *env = malloc(sizeof *env);
  if (!env)
    return no_memory();
  actr__rpc_envelope__init(&env->pb);
  env->pb.timeout_ms = timeout_ms;
  if (!(env->pb.route_key = strdup(route_key)) || !(env->pb.request_id = strdup(request_id))) {
    actr_envelope_free(env);
    return no_memory();
  }
  *out = env;
  return ACTR_OK;
}

int actr_envelope_copy(const actr_envelope_t *env, actr_envelope_t **out) {
  ARG(out, "out");
  *out = NULL;
  ENV_ARG(env);
  /* Through the encoding: a deep copy, unknown fields included at every
   * level, without walking the tree. */
  uint8_t *buf;
  size_t len;
  int rc = actr_envelope_encode(env, &buf, &len);
  if (rc != ACTR_OK)
    return rc;
  rc = unpack(buf, len, out);
  free(buf);
  if (rc == ACTR_EDESERIALIZATION) /* our own bytes: cannot happen */
    rc = actr__fail(ACTR_EINTERNAL, "actr_envelope_copy: own encoding did not decode");
  return rc;
}

void actr_envelope_free(actr_envelope_t *env) {
  if (env)
    protobuf_c_message_free_unpacked(&env->pb.base, &free_alloc);
}

int actr_envelope_set_route_key(actr_envelope_t *env, const char *route_key) {
  ENV_ARG(env);
  return set_string(&env->pb.route_key, "route_key", route_key, true);
}
int actr_envelope_set_request_id(actr_envelope_t *env, const char *request_id) {
  ENV_ARG(env);
  return set_string(&env->pb.request_id, "request_id", request_id, true);
}
int actr_envelope_set_traceparent(actr_envelope_t *env, const char *traceparent) {
  ENV_ARG(env);
  return set_string(&env->pb.traceparent, "traceparent", traceparent, false);
}
int actr_envelope_set_tracestate(actr_envelope_t *env, const char *tracestate) {
  ENV_ARG(env);
  return set_string(&env->pb.tracestate, "tracestate", tracestate, false);
}

int actr_envelope_set_timeout_ms(actr_envelope_t *env, int64_t timeout_ms) {
  ENV_ARG(env);
  env->pb.timeout_ms = timeout_ms;
  return ACTR_OK;
}

int actr_envelope_set_payload(actr_envelope_t *env, const void *payload, size_t len) {
  ENV_ARG(env);
  ARG(payload || !len, "payload");
  uint8_t *copy = NULL;
  /* An empty payload is present with no buffer, as protobuf-c decodes it. */
  if (len && !(copy = malloc(len)))
    return no_memory();
  if (copy)
    memcpy(copy, payload, len);
  free(env->pb.payload.data);
  env->pb.payload.data = copy;
  env->pb.payload.len = len;
  env->pb.has_payload = payload != NULL;
  return ACTR_OK;
}

int actr_envelope_set_error(actr_envelope_t *env, uint32_t code, const char *message) {
  ENV_ARG(env);
  int rc = check_string("error message", message);
  if (rc != ACTR_OK)
    return rc;
  Actr__ErrorResponse *e = malloc(sizeof *e);
  char *copy = strdup(message);
  if (!e || !copy) {
    free(e);
    free(copy);
    return no_memory();
  }
  actr__error_response__init(e);
  e->code = code;
  e->message = copy;
  actr_envelope_clear_error(env); /* old value and its unknown fields */
  env->pb.error = e;
  return ACTR_OK;
}

int actr_envelope_clear_error(actr_envelope_t *env) {
  ENV_ARG(env);
  if (env->pb.error)
    protobuf_c_message_free_unpacked(&env->pb.error->base, &free_alloc);
  env->pb.error = NULL;
  return ACTR_OK;
}

int actr_envelope_set_direction(actr_envelope_t *env, actr_envelope_direction_t dir) {
  ENV_ARG(env);
  if ((int)dir < ACTR_ENVELOPE_DIRECTION_UNSPECIFIED || dir > ACTR_ENVELOPE_DIRECTION_TELL)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "RpcEnvelope: invalid direction %d", (int)dir);
  env->pb.has_direction = 1;
  env->pb.direction = (Actr__Direction)dir;
  return ACTR_OK;
}

int actr_envelope_add_metadata(actr_envelope_t *env, const char *key, const char *value) {
  ENV_ARG(env);
  int rc = check_string("metadata key", key);
  if (rc != ACTR_OK || (rc = check_string("metadata value", value)) != ACTR_OK)
    return rc;
  size_t n = env->pb.n_metadata;
  if (n >= ACTR_ENVELOPE_MAX_METADATA) /* a peer's decoder would refuse it */
    return actr__fail(ACTR_EMESSAGE_TOO_LARGE, "RpcEnvelope: more than %u metadata entries",
                      ACTR_ENVELOPE_MAX_METADATA);
  Actr__MetadataEntry **arr = realloc(env->pb.metadata, (n + 1) * sizeof *arr);
  if (!arr)
    return no_memory();
  env->pb.metadata = arr; /* still n entries: valid whatever fails below */
  Actr__MetadataEntry *m = malloc(sizeof *m);
  if (!m)
    return no_memory();
  actr__metadata_entry__init(m);
  if (!(m->key = strdup(key)) || !(m->value = strdup(value))) {
    free(m->key);
    free(m);
    return no_memory();
  }
  arr[n] = m;
  env->pb.n_metadata = n + 1;
  return ACTR_OK;
}

const char *actr_envelope_route_key(const actr_envelope_t *env) {
  return env ? env->pb.route_key : NULL;
}
const char *actr_envelope_request_id(const actr_envelope_t *env) {
  return env ? env->pb.request_id : NULL;
}
int64_t actr_envelope_timeout_ms(const actr_envelope_t *env) {
  return env ? env->pb.timeout_ms : 0;
}

bool actr_envelope_payload(const actr_envelope_t *env, const uint8_t **data, size_t *len) {
  bool has = env && env->pb.has_payload;
  if (data) /* never NULL when present, so callers may memcmp it */
    *data = !has ? NULL : env->pb.payload.data ? env->pb.payload.data : empty_bytes;
  if (len)
    *len = has ? env->pb.payload.len : 0;
  return has;
}
bool actr_envelope_error(const actr_envelope_t *env, uint32_t *code, const char **message) {
  const Actr__ErrorResponse *e = env ? env->pb.error : NULL;
  if (code)
    *code = e ? e->code : 0;
  if (message)
    *message = e ? e->message : NULL;
  return e != NULL;
}
bool actr_envelope_direction(const actr_envelope_t *env, actr_envelope_direction_t *dir) {
  bool has = env && env->pb.has_direction;
  if (dir) /* a decoded value may be one this version has no name for */
    *dir = has ? (actr_envelope_direction_t)env->pb.direction : ACTR_ENVELOPE_DIRECTION_UNSPECIFIED;
  return has;
}
const char *actr_envelope_traceparent(const actr_envelope_t *env) {
  return env ? env->pb.traceparent : NULL;
}
const char *actr_envelope_tracestate(const actr_envelope_t *env) {
  return env ? env->pb.tracestate : NULL;
}
size_t actr_envelope_metadata_count(const actr_envelope_t *env) {
  return env ? env->pb.n_metadata : 0;
}

int actr_envelope_metadata_at(const actr_envelope_t *env, size_t i, const char **key,
                              const char **value) {
  ENV_ARG(env);
  if (i >= env->pb.n_metadata)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "RpcEnvelope: metadata index %zu out of range (%zu)",
                      i, env->pb.n_metadata);
  if (key)
    *key = env->pb.metadata[i]->key;
  if (value)
    *value = env->pb.metadata[i]->value;
  return ACTR_OK;
}

size_t actr_envelope_encoded_size(const actr_envelope_t *env) {
  return env ? protobuf_c_message_get_packed_size(&env->pb.base) : 0;
}

int actr_envelope_encode_to(const actr_envelope_t *env, uint8_t *buf, size_t cap,
                            size_t *written) {
  ENV_ARG(env);
  size_t need = actr_envelope_encoded_size(env);
  if (cap < need)
    return actr__fail(ACTR_EMESSAGE_TOO_LARGE, "RpcEnvelope needs %zu bytes, buffer has %zu",
                      need, cap);
  ARG(buf, "buf");
  size_t n = protobuf_c_message_pack(&env->pb.base, buf);
  if (written)
    *written = n;
  return ACTR_OK;
}

int actr_envelope_encode(const actr_envelope_t *env, uint8_t **out, size_t *len) {
  ARG(out, "out");
  *out = NULL;
  ENV_ARG(env);
  size_t need = actr_envelope_encoded_size(env), n;
  if (!(*out = malloc(need ? need : 1)))
    return no_memory();
  n = protobuf_c_message_pack(&env->pb.base, *out);
  if (len)
    *len = n;
  return ACTR_OK;
}

bool actr_envelope_equal(const actr_envelope_t *a, const actr_envelope_t *b) {
  if (!a || !b || a == b)
    return a == b;
  size_t n = actr_envelope_encoded_size(a);
  if (n != actr_envelope_encoded_size(b))
    return false;
  uint8_t *buf = malloc(2 * n + 1);
  if (!buf)
    return false; /* cannot tell: not equal is the safe answer */
  protobuf_c_message_pack(&a->pb.base, buf);
  protobuf_c_message_pack(&b->pb.base, buf + n);
  bool eq = memcmp(buf, buf + n, n) == 0;
  free(buf);
  return eq;
}
