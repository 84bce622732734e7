/* identity.c — ActrType and ActrId values, their string forms
 * (actr/identity.h) and their protobuf messages (realm_internal.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/identity.h>

#include "error_internal.h"
#include "pbwire.h"
#include "realm_internal.h"

#define BAD(...) actr__fail(ACTR_EINVALID_ARGUMENT, __VA_ARGS__)

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

/* check_name: a manufacturer or a name of @len bytes at @s. */
static int check_name(const char *what, const char *s, size_t len) {
  if (len == 0)
    return BAD("ActrType: %s is empty", what);
  if (len > ACTR_ACTOR_NAME_MAX)
    return BAD("ActrType: %s is %zu bytes (limit %d)", what, len, ACTR_ACTOR_NAME_MAX);
  if (!is_alpha(s[0]))
    return BAD("ActrType: %s must begin with a letter", what);
  if (!is_alnum(s[len - 1]))
    return BAD("ActrType: %s must end with a letter or digit", what);
  for (size_t i = 0; i < len; i++)
    if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return BAD("ActrType: %s has '%c' (letters, digits, '-', '_', '.' only)", what, s[i]);
  return ACTR_OK;
}

static int check_version(const char *s, size_t len) {
  if (len == 0)
    return BAD("ActrType: version is empty");
  if (len > ACTR_ACTOR_VERSION_MAX)
    return BAD("ActrType: version is %zu bytes (limit %d)", len, ACTR_ACTOR_VERSION_MAX);
  for (size_t i = 0; i < len; i++)
    if (s[i] == ':' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return BAD("ActrType: version has a ':' or a control character");
  if (!actr__utf8_valid((const uint8_t *)s, len))
    return BAD("ActrType: version is not UTF-8");
  return ACTR_OK;
}

static int check_type(const actr_actor_type_t *t) {
  int rc = check_name("manufacturer", t->manufacturer,
                      strnlen(t->manufacturer, sizeof t->manufacturer));
  if (rc == ACTR_OK)
    rc = check_name("name", t->name, strnlen(t->name, sizeof t->name));
  if (rc == ACTR_OK)
    rc = check_version(t->version, strnlen(t->version, sizeof t->version));
  return rc;
}

/* parse_type: @len bytes at @s. */
static int parse_type(const char *s, size_t len, actr_actor_type_t *out) {
  const char *end = s + len;
  const char *c1 = memchr(s, ':', len);
  if (!c1)
    return BAD("ActrType '%.*s': expected manufacturer:name:version", (int)len, s);
  const char *c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
  if (!c2)
    return BAD("ActrType '%.*s': version required", (int)len, s);
  if (memchr(c2 + 1, ':', (size_t)(end - c2 - 1)))
    return BAD("ActrType '%.*s': more than three parts", (int)len, s);
  size_t ml = (size_t)(c1 - s), nl = (size_t)(c2 - c1 - 1), vl = (size_t)(end - c2 - 1);
  int rc = check_name("manufacturer", s, ml);
  if (rc == ACTR_OK)
    rc = check_name("name", c1 + 1, nl);
  if (rc == ACTR_OK)
    rc = check_version(c2 + 1, vl);
  if (rc != ACTR_OK)
    return rc;
  memset(out, 0, sizeof *out);
  memcpy(out->manufacturer, s, ml);
  memcpy(out->name, c1 + 1, nl);
  memcpy(out->version, c2 + 1, vl);
  return ACTR_OK;
}

int actr_actor_type_parse(const char *s, actr_actor_type_t *out) {
  if (!s || !out)
    return BAD("actr_actor_type_parse: NULL argument");
  return parse_type(s, strlen(s), out);
}

int actr_actor_type_format(const actr_actor_type_t *t, char *buf, size_t size) {
  if (!t || !buf)
    return BAD("actr_actor_type_format: NULL argument");
  int rc = check_type(t);
  if (rc != ACTR_OK)
    return rc;
  int n = snprintf(buf, size, "%s:%s:%s", t->manufacturer, t->name, t->version);
  if (n < 0 || (size_t)n >= size)
    return actr__fail(ACTR_EMESSAGE_TOO_LARGE, "ActrType: buffer of %zu bytes too small", size);
  return ACTR_OK;
}

/* parse_number: @len bytes at @s in @base (16 or 10), as Rust's
 * from_str_radix takes them: one optional '+', digits only, no overflow
 * past @max. */
static bool parse_number(const char *s, size_t len, unsigned base, uint64_t max, uint64_t *out) {
  if (len && s[0] == '+')
    s++, len--;
  if (!len)
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    unsigned d;
    if (is_digit(c))
      d = (unsigned)(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = (unsigned)(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = (unsigned)(c - 'A' + 10);
    else
      return false;
    if (v > (max - d) / base)
      return false;
    v = v * base + d;
  }
  *out = v;
  return true;
}

int actr_actor_id_parse(const char *s, actr_actor_id_t *out) {
  if (!s || !out)
    return BAD("actr_actor_id_parse: NULL argument");
  const char *at = strchr(s, '@');
  if (!at)
    return BAD("ActrId '%.200s': no '@'", s);
  const char *slash = strchr(at + 1, '/');
  if (!slash)
    return BAD("ActrId '%.200s': no '/' after the realm", s);
  uint64_t serial, realm;
  if (!parse_number(s, (size_t)(at - s), 16, UINT64_MAX, &serial))
    return BAD("ActrId '%.200s': the serial is not a 64-bit hexadecimal number", s);
  if (!parse_number(at + 1, (size_t)(slash - at - 1), 10, UINT32_MAX, &realm))
    return BAD("ActrId '%.200s': the realm is not a 32-bit decimal number", s);
  actr_actor_id_t id = {.realm_id = (uint32_t)realm, .serial = serial};
  int rc = parse_type(slash + 1, strlen(slash + 1), &id.type);
  if (rc != ACTR_OK)
    return rc;
  *out = id;
  return ACTR_OK;
}

int actr_actor_id_format(const actr_actor_id_t *id, char *buf, size_t size) {
  if (!id || !buf)
    return BAD("actr_actor_id_format: NULL argument");
  int rc = check_type(&id->type);
  if (rc != ACTR_OK)
    return rc;
  int n = snprintf(buf, size, "%" PRIx64 "@%" PRIu32 "/%s:%s:%s", id->serial, id->realm_id,
                   id->type.manufacturer, id->type.name, id->type.version);
  if (n < 0 || (size_t)n >= size)
    return actr__fail(ACTR_EMESSAGE_TOO_LARGE, "ActrId: buffer of %zu bytes too small", size);
  return ACTR_OK;
}

bool actr_actor_type_equal(const actr_actor_type_t *a, const actr_actor_type_t *b) {
  if (!a || !b)
    return a == b;
  return strcmp(a->manufacturer, b->manufacturer) == 0 && strcmp(a->name, b->name) == 0 &&
         strcmp(a->version, b->version) == 0;
}

bool actr_actor_id_equal(const actr_actor_id_t *a, const actr_actor_id_t *b) {
  if (!a || !b)
    return a == b;
  return a->realm_id == b->realm_id && a->serial == b->serial &&
         actr_actor_type_equal(&a->type, &b->type);
}

/* ---- protobuf (realm_internal.h) ---- */

int actr__actor_type_from_pb(const Actr__ActrType *pb, actr_actor_type_t *out) {
  if (!pb || !pb->manufacturer || !pb->name || !pb->version)
    return actr__fail(ACTR_EPROTOCOL, "ActrType: missing field");
  size_t ml = strlen(pb->manufacturer), nl = strlen(pb->name), vl = strlen(pb->version);
  int rc = check_name("manufacturer", pb->manufacturer, ml);
  if (rc == ACTR_OK)
    rc = check_name("name", pb->name, nl);
  if (rc == ACTR_OK)
    rc = check_version(pb->version, vl);
  if (rc != ACTR_OK) {
    char why[300]; /* actr__fail writes where actr_err_detail() reads */
    snprintf(why, sizeof why, "%s", actr_err_detail());
    return actr__fail(ACTR_EPROTOCOL, "%s", why);
  }
  memset(out, 0, sizeof *out);
  memcpy(out->manufacturer, pb->manufacturer, ml);
  memcpy(out->name, pb->name, nl);
  memcpy(out->version, pb->version, vl);
  return ACTR_OK;
}

int actr__actor_id_from_pb(const Actr__ActrId *pb, actr_actor_id_t *out) {
  if (!pb || !pb->realm || !pb->type)
    return actr__fail(ACTR_EPROTOCOL, "ActrId: missing field");
  actr_actor_id_t id = {.realm_id = pb->realm->realm_id, .serial = pb->serial_number};
  int rc = actr__actor_type_from_pb(pb->type, &id.type);
  if (rc == ACTR_OK)
    *out = id;
  return rc;
}

void actr__actor_type_to_pb(const actr_actor_type_t *t, Actr__ActrType *pb) {
  actr__actr_type__init(pb);
  pb->manufacturer = (char *)t->manufacturer;
  pb->name = (char *)t->name;
  pb->version = (char *)t->version;
}

void actr__actor_id_to_pb(const actr_actor_id_t *id, actr__actor_id_pb_t *pb) {
  actr__actr_id__init(&pb->id);
  actr__realm__init(&pb->realm);
  pb->realm.realm_id = id->realm_id;
  actr__actor_type_to_pb(&id->type, &pb->type);
  pb->id.realm = &pb->realm;
  pb->id.serial_number = id->serial;
  pb->id.type = &pb->type;
}
