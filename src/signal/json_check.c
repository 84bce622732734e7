/* json_check.c — a strict, non-recursive RFC 8259 syntax check with a
 * nesting bound, run before json-glib sees any input.
 *
 * json-glib 1.6 (Debian 12) recurses once per nesting level with no limit
 * (a frame of '[' overflows the stack) and its scanner accepts what JSON does
 * not (octal escapes such as "\7", which then decode to bytes that are not
 * UTF-8).  This check refuses both before the parser runs, so json-glib only
 * ever sees well-formed JSON of bounded depth. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actr/error.h>

#include "error_internal.h"
#include "json_check.h"

typedef struct {
  const unsigned char *p, *end, *start;
} cur_t;

static int bad(const cur_t *c, const char *what) {
  return actr__fail(ACTR_ESIGNALING, "signaling: not JSON: %s at byte %zu", what,
                    (size_t)(c->p - c->start));
}

static void skip_ws(cur_t *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static int hex4(cur_t *c, unsigned *out) {
  if (c->end - c->p < 4)
    return bad(c, "short \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned char h = c->p[i];
    unsigned d;
    if (h >= '0' && h <= '9')
      d = h - '0';
    else if (h >= 'a' && h <= 'f')
      d = h - 'a' + 10;
    else if (h >= 'A' && h <= 'F')
      d = h - 'A' + 10;
    else
      return bad(c, "bad hex digit in \\u escape");
    v = v << 4 | d;
  }
  c->p += 4;
  *out = v;
  return ACTR_OK;
}

/* One UTF-8 sequence (shortest form, no surrogates, <= U+10FFFF). */
static int utf8_char(cur_t *c) {
  unsigned char b = *c->p;
  size_t n;
  uint32_t cp;
  if (b < 0x80)
    return c->p++, ACTR_OK;
  if (b >= 0xc2 && b <= 0xdf)
    n = 1, cp = b & 0x1f;
  else if (b >= 0xe0 && b <= 0xef)
    n = 2, cp = b & 0x0f;
  else if (b >= 0xf0 && b <= 0xf4)
    n = 3, cp = b & 0x07;
  else
    return bad(c, "invalid UTF-8");
  if ((size_t)(c->end - c->p) <= n)
    return bad(c, "truncated UTF-8");
  for (size_t i = 1; i <= n; i++) {
    if ((c->p[i] & 0xc0) != 0x80)
      return bad(c, "invalid UTF-8");
    cp = cp << 6 | (c->p[i] & 0x3f);
  }
  if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return bad(c, "invalid UTF-8");
  c->p += n + 1;
  return ACTR_OK;
}

static int string(cur_t *c) {
  c->p++; /* the opening quote */
  while (c->p < c->end) {
    unsigned char b = *c->p;
    if (b == '"')
      return c->p++, ACTR_OK;
    if (b < 0x20)
      return bad(c, "control character in string");
    if (b != '\\') {
      int rc = utf8_char(c);
      if (rc != ACTR_OK)
        return rc;
      continue;
    }
    c->p++;
    if (c->p == c->end)
      break;
    switch (*c->p++) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
      break;
    case 'u': {
      unsigned u;
      int rc = hex4(c, &u);
      if (rc != ACTR_OK)
        return rc;
      if (u == 0)
        return bad(c, "\\u0000 in string");
      if (u >= 0xdc00 && u <= 0xdfff)
        return bad(c, "lone low surrogate");
      if (u >= 0xd800 && u <= 0xdbff) {
        if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
          return bad(c, "lone high surrogate");
        c->p += 2;
        if ((rc = hex4(c, &u)) != ACTR_OK)
          return rc;
        if (u < 0xdc00 || u > 0xdfff)
          return bad(c, "high surrogate without low surrogate");
      }
      break;
    }
    default:
      c->p--;
      return bad(c, "invalid escape");
    }
  }
  return bad(c, "unterminated string");
}

static bool digit(const cur_t *c) { return c->p < c->end && *c->p >= '0' && *c->p <= '9'; }

static int number(cur_t *c) {
  if (*c->p == '-')
    c->p++;
  if (!digit(c))
    return bad(c, "invalid number");
  if (*c->p == '0')
    c->p++;
  else
    while (digit(c))
      c->p++;
  if (c->p < c->end && *c->p == '.') {
    c->p++;
    if (!digit(c))
      return bad(c, "invalid number");
    while (digit(c))
      c->p++;
  }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
    c->p++;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
      c->p++;
    if (!digit(c))
      return bad(c, "invalid number");
    while (digit(c))
      c->p++;
  }
  return ACTR_OK;
}

static int literal(cur_t *c, const char *word, size_t n) {
  if ((size_t)(c->end - c->p) < n)
    return bad(c, "unexpected end");
  for (size_t i = 0; i < n; i++)
    if (c->p[i] != (unsigned char)word[i])
      return bad(c, "unexpected character");
  c->p += n;
  return ACTR_OK;
}

/* A member name and its colon; the cursor is just past '{' or ','. */
static int member_name(cur_t *c) {
  skip_ws(c);
  if (c->p == c->end || *c->p != '"')
    return bad(c, "expected a member name");
  int rc = string(c);
  if (rc != ACTR_OK)
    return rc;
  skip_ws(c);
  if (c->p == c->end || *c->p != ':')
    return bad(c, "expected ':'");
  c->p++;
  return ACTR_OK;
}

/* next_member: count an object member against @max, then read its name. */
static int next_member(cur_t *c, unsigned *members, unsigned max) {
  if (++*members > max)
    return actr__fail(ACTR_ESIGNALING, "signaling: JSON with more than %u object members", max);
  return member_name(c);
}

int actr__json_check(const char *text, size_t len, unsigned max_depth, unsigned max_members) {
  cur_t c = {(const unsigned char *)text, (const unsigned char *)text + len,
             (const unsigned char *)text};
  /* The open containers, one bit each (1 = object): no recursion, and
   * nothing allocated whatever the input. */
  uint64_t kinds = 0;
  unsigned depth = 0, members = 0;
  if (max_depth > 64)
    max_depth = 64;
  bool want_value = true;
  int rc;
  for (;;) {
    skip_ws(&c);
    if (c.p == c.end) {
      if (want_value || depth)
        return bad(&c, "unexpected end");
      return ACTR_OK;
    }
    unsigned char ch = *c.p;
    if (want_value) {
      if (ch == '{' || ch == '[') {
        if (depth == max_depth)
          return actr__fail(ACTR_ESIGNALING, "signaling: JSON nested deeper than %u levels",
                            max_depth);
        kinds = (kinds << 1) | (ch == '{');
        depth++;
        c.p++;
        skip_ws(&c);
        if (c.p < c.end && *c.p == (ch == '{' ? '}' : ']')) {
          c.p++;
          kinds >>= 1;
          depth--;
          want_value = false;
        } else if (ch == '{' && (rc = next_member(&c, &members, max_members)) != ACTR_OK) {
          return rc;
        }
        continue;
      }
      if (ch == '"')
        rc = string(&c);
      else if (ch == '-' || (ch >= '0' && ch <= '9'))
        rc = number(&c);
      else if (ch == 't')
        rc = literal(&c, "true", 4);
      else if (ch == 'f')
        rc = literal(&c, "false", 5);
      else if (ch == 'n')
        rc = literal(&c, "null", 4);
      else
        rc = bad(&c, "unexpected character");
      if (rc != ACTR_OK)
        return rc;
      want_value = false;
      continue;
    }
    /* After a value: a separator, the end of the container, or the end. */
    if (depth == 0)
      return bad(&c, "trailing bytes after the value");
    bool in_object = kinds & 1;
    if (ch == ',') {
      c.p++;
      if (in_object && (rc = next_member(&c, &members, max_members)) != ACTR_OK)
        return rc;
      want_value = true;
    } else if (ch == (in_object ? '}' : ']')) {
      c.p++;
      kinds >>= 1;
      depth--;
    } else {
      return bad(&c, in_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
}
