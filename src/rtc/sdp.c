/* sdp.c — SDP parser and generator for data-only WebRTC sessions (see
 * sdp.h).  The parser is a decoder of hostile input: every field is checked,
 * every count bounded, and every failure is ACTR_EPROTOCOL with the line
 * number; it never reads past @len and accepts no NUL byte. */
#include "sdp.h"

#include <glib.h>
#include <string.h>

#include "error_internal.h"

/* ---- small strict helpers ---- */

/* parse_u64: digits only (at least one), no sign, no overflow. */
static bool parse_u64(const char *s, size_t n, uint64_t *out) {
  if (n == 0 || n > 20)
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

static bool parse_u16(const char *s, size_t n, uint16_t *out) {
  uint64_t v;
  if (!parse_u64(s, n, &v) || v > 65535)
    return false;
  *out = (uint16_t)v;
  return true;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/" */
static bool ice_chars_ok(const char *s, size_t min, size_t max) {
  size_t n = strlen(s);
  if (n < min || n > max)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '/')
      return false;
  return true;
}

static const struct {
  const char *name;
  actr__hash_t hash;
  size_t len;
} hashes[] = {
  {"sha-1", ACTR__HASH_SHA1, 20},     {"sha-224", ACTR__HASH_SHA224, 28},
  {"sha-256", ACTR__HASH_SHA256, 32}, {"sha-384", ACTR__HASH_SHA384, 48},
  {"sha-512", ACTR__HASH_SHA512, 64},
};

const char *actr__sdp_hash_name(actr__hash_t hash) {
  for (size_t i = 0; i < G_N_ELEMENTS(hashes); i++)
    if (hashes[i].hash == hash)
      return hashes[i].name;
  return "unknown";
}

size_t actr__sdp_hash_len(actr__hash_t hash) {
  for (size_t i = 0; i < G_N_ELEMENTS(hashes); i++)
    if (hashes[i].hash == hash)
      return hashes[i].len;
  return 0;
}

void actr__sdp_fingerprint_format(const uint8_t *bytes, size_t len, char *out) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < len; i++) {
    out[3 * i] = hex[bytes[i] >> 4];
    out[3 * i + 1] = hex[bytes[i] & 15];
    out[3 * i + 2] = i + 1 < len ? ':' : '\0';
  }
  if (len == 0)
    out[0] = '\0';
}

/* ---- the parse state ---- */

typedef struct attrs {
  char *ice_ufrag, *ice_pwd;
  bool ice_trickle;
  actr__sdp_fingerprint_t fp[ACTR__SDP_MAX_FINGERPRINTS];
  size_t n_fp;
  actr__sdp_setup_t setup;
} attrs_t;

typedef struct parser {
  actr__sdp_t *sdp;
  attrs_t session;
  unsigned line_no;
  bool seen_v, seen_o;
} parser_t;

static int bad(const parser_t *p, const char *why) {
  return actr__fail(ACTR_EPROTOCOL, "malformed SDP, line %u: %s", p->line_no, why);
}

static void media_clear(actr__sdp_media_t *m) {
  g_free(m->media);
  g_free(m->proto);
  g_free(m->fmt);
  g_free(m->mid);
  g_free(m->ice_ufrag);
  g_free(m->ice_pwd);
  for (size_t i = 0; i < m->n_candidates; i++)
    g_free(m->candidates[i]);
  g_free(m->candidates);
  memset(m, 0, sizeof *m);
}

void actr__sdp_free(actr__sdp_t *sdp) {
  if (!sdp)
    return;
  for (size_t i = 0; i < sdp->n_media; i++)
    media_clear(&sdp->media[i]);
  g_free(sdp->media);
  g_free(sdp->bundle);
  g_free(sdp);
}

/* parse_fingerprint: "sha-256 AB:CD:..."; unknown hash functions are skipped
 * (*@known = false), a known one with bad hex or length is an error. */
static int parse_fingerprint(const parser_t *p, const char *v, actr__sdp_fingerprint_t *fp,
                             bool *known) {
  const char *sp = strchr(v, ' ');
  if (!sp || sp == v)
    return bad(p, "fingerprint: no hash function");
  *known = false;
  size_t nlen = (size_t)(sp - v);
  size_t i;
  for (i = 0; i < G_N_ELEMENTS(hashes); i++)
    if (strlen(hashes[i].name) == nlen && g_ascii_strncasecmp(v, hashes[i].name, nlen) == 0)
      break;
  const char *hex = sp + 1;
  while (*hex == ' ')
    hex++;
  if (*hex == '\0')
    return bad(p, "fingerprint: no value");
  if (i == G_N_ELEMENTS(hashes))
    return ACTR_OK; /* e.g. md5: not usable, not malformed */
  size_t n = 0;
  const char *s = hex;
  for (;;) {
    int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
    if (hi < 0 || lo < 0)
      return bad(p, "fingerprint: bad hex");
    if (n == sizeof fp->bytes)
      return bad(p, "fingerprint: too long");
    fp->bytes[n++] = (uint8_t)(hi << 4 | lo);
    s += 2;
    if (*s == '\0')
      break;
    if (*s != ':')
      return bad(p, "fingerprint: bad separator");
    s++;
  }
  if (n != hashes[i].len)
    return bad(p, "fingerprint: wrong length for its hash function");
  fp->hash = hashes[i].hash;
  fp->len = n;
  *known = true;
  return ACTR_OK;
}

static int parse_setup(const parser_t *p, const char *v, actr__sdp_setup_t *out) {
  if (g_ascii_strcasecmp(v, "actpass") == 0)
    *out = ACTR__SDP_SETUP_ACTPASS;
  else if (g_ascii_strcasecmp(v, "active") == 0)
    *out = ACTR__SDP_SETUP_ACTIVE;
  else if (g_ascii_strcasecmp(v, "passive") == 0)
    *out = ACTR__SDP_SETUP_PASSIVE;
  else if (g_ascii_strcasecmp(v, "holdconn") == 0)
    *out = ACTR__SDP_SETUP_HOLDCONN;
  else
    return bad(p, "setup: unknown role");
  return ACTR_OK;
}

/* An attribute that may sit at session or media level. */
static int parse_common_attr(parser_t *p, attrs_t *a, const char *name, const char *v,
                             bool *handled) {
  *handled = true;
  if (strcmp(name, "ice-ufrag") == 0) {
    if (!v || !ice_chars_ok(v, 4, 256))
      return bad(p, "ice-ufrag: 4 to 256 ice-chars");
    g_free(a->ice_ufrag);
    a->ice_ufrag = g_strdup(v);
  } else if (strcmp(name, "ice-pwd") == 0) {
    if (!v || !ice_chars_ok(v, 22, 256))
      return bad(p, "ice-pwd: 22 to 256 ice-chars");
    g_free(a->ice_pwd);
    a->ice_pwd = g_strdup(v);
  } else if (strcmp(name, "ice-options") == 0) {
    if (!v)
      return bad(p, "ice-options: no value");
    gchar **opts = g_strsplit(v, " ", 0);
    for (gchar **o = opts; *o; o++)
      if (strcmp(*o, "trickle") == 0)
        a->ice_trickle = true;
    g_strfreev(opts);
  } else if (strcmp(name, "fingerprint") == 0) {
    if (!v)
      return bad(p, "fingerprint: no value");
    actr__sdp_fingerprint_t fp = {0};
    bool known = false;
    int rc = parse_fingerprint(p, v, &fp, &known);
    if (rc)
      return rc;
    if (known) {
      if (a->n_fp == ACTR__SDP_MAX_FINGERPRINTS)
        return bad(p, "too many fingerprints");
      a->fp[a->n_fp++] = fp;
    }
  } else if (strcmp(name, "setup") == 0) {
    if (!v)
      return bad(p, "setup: no value");
    return parse_setup(p, v, &a->setup);
  } else {
    *handled = false;
  }
  return ACTR_OK;
}

static int parse_m_line(parser_t *p, const char *v) {
  actr__sdp_t *sdp = p->sdp;
  if (sdp->n_media == ACTR__SDP_MAX_MEDIA)
    return bad(p, "too many m= sections");
  gchar **tok = g_strsplit(v, " ", 4);
  int rc = ACTR_OK;
  if (g_strv_length(tok) < 3 || !*tok[0] || !*tok[1] || !*tok[2]) {
    rc = bad(p, "m=: want <media> <port> <proto> <fmt>");
    goto out;
  }
  /* port may carry "/<count>" (RFC 8866 §5.14) */
  const char *slash = strchr(tok[1], '/');
  size_t plen = slash ? (size_t)(slash - tok[1]) : strlen(tok[1]);
  uint16_t port;
  uint64_t cnt;
  if (!parse_u16(tok[1], plen, &port) || (slash && !parse_u64(slash + 1, strlen(slash + 1), &cnt))) {
    rc = bad(p, "m=: bad port");
    goto out;
  }
  actr__sdp_media_t *m = &sdp->media[sdp->n_media++];
  memset(m, 0, sizeof *m);
  m->media = g_strdup(tok[0]);
  m->port = port;
  m->proto = g_strdup(tok[2]);
  m->fmt = g_strdup(tok[3] ? tok[3] : "");
  if (strcmp(m->media, "application") == 0) {
    if (strstr(m->proto, "SCTP") && strstr(m->fmt, "webrtc-datachannel"))
      m->datachannel = true;
    else if (strcmp(m->proto, "DTLS/SCTP") == 0) {
      uint16_t sp;
      gchar **f = g_strsplit(m->fmt, " ", 2);
      if (f[0] && parse_u16(f[0], strlen(f[0]), &sp)) {
        m->datachannel = true;
        m->legacy = true;
        m->sctp_port = sp;
      }
      g_strfreev(f);
    }
  }
out:
  g_strfreev(tok);
  return rc;
}

static int parse_media_attr(parser_t *p, actr__sdp_media_t *m, attrs_t *ma, const char *name,
                            const char *v) {
  bool handled;
  int rc = parse_common_attr(p, ma, name, v, &handled);
  if (rc || handled)
    return rc;
  if (strcmp(name, "mid") == 0) {
    if (!v || !*v || strlen(v) > 32 || strchr(v, ' '))
      return bad(p, "mid: 1 to 32 characters, no space");
    g_free(m->mid);
    m->mid = g_strdup(v);
  } else if (strcmp(name, "sctp-port") == 0) {
    uint16_t port;
    if (!v || !parse_u16(v, strlen(v), &port) || port == 0)
      return bad(p, "sctp-port: 1 to 65535");
    m->sctp_port = port;
  } else if (strcmp(name, "max-message-size") == 0) {
    uint64_t n;
    if (!v || !parse_u64(v, strlen(v), &n))
      return bad(p, "max-message-size: not a number");
    m->has_max_message_size = true;
    m->max_message_size = n;
  } else if (strcmp(name, "sctpmap") == 0) {
    /* "5000 webrtc-datachannel 1024" (draft-ietf-mmusic-sctp-sdp-05) */
    uint16_t port;
    const char *sp = v ? strchr(v, ' ') : NULL;
    if (!sp || !parse_u16(v, (size_t)(sp - v), &port) || port == 0)
      return bad(p, "sctpmap: bad port");
    if (m->legacy)
      m->sctp_port = port;
  } else if (strcmp(name, "candidate") == 0) {
    if (!v || !*v)
      return bad(p, "candidate: empty");
    if (m->n_candidates == ACTR__SDP_MAX_CANDIDATES)
      return bad(p, "too many candidates");
    m->candidates = g_renew(char *, m->candidates, m->n_candidates + 1);
    m->candidates[m->n_candidates++] = g_strconcat("candidate:", v, NULL);
  } else if (strcmp(name, "end-of-candidates") == 0) {
    m->end_of_candidates = true;
  }
  return ACTR_OK;
}

/* finish_media: give @m its own attributes, else the session's. */
static void finish_media(parser_t *p, actr__sdp_media_t *m, attrs_t *ma) {
  attrs_t *s = &p->session;
  m->ice_ufrag = ma->ice_ufrag ? ma->ice_ufrag : g_strdup(s->ice_ufrag);
  m->ice_pwd = ma->ice_pwd ? ma->ice_pwd : g_strdup(s->ice_pwd);
  m->ice_trickle = ma->ice_trickle || s->ice_trickle;
  if (ma->n_fp) {
    memcpy(m->fp, ma->fp, sizeof m->fp);
    m->n_fp = ma->n_fp;
  } else {
    memcpy(m->fp, s->fp, sizeof m->fp);
    m->n_fp = s->n_fp;
  }
  m->setup = ma->setup ? ma->setup : s->setup;
  memset(ma, 0, sizeof *ma);
}

int actr__sdp_parse(const char *text, size_t len, actr__sdp_t **out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  if (!text)
    return actr__fail(ACTR_EPROTOCOL, "malformed SDP: no text");
  if (len > ACTR__SDP_MAX_TEXT)
    return actr__fail(ACTR_EPROTOCOL, "SDP too long: %zu bytes (maximum %u)", len,
                      ACTR__SDP_MAX_TEXT);
  if (memchr(text, '\0', len))
    return actr__fail(ACTR_EPROTOCOL, "malformed SDP: NUL byte");

  parser_t p = {0};
  p.sdp = g_new0(actr__sdp_t, 1);
  p.sdp->media = g_new0(actr__sdp_media_t, ACTR__SDP_MAX_MEDIA);
  attrs_t ma = {0};
  char line[ACTR__SDP_MAX_LINE + 1];
  int rc = ACTR_OK;
  size_t pos = 0;

  while (pos < len && rc == ACTR_OK) {
    const char *start = text + pos;
    const char *nl = memchr(start, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - start) : len - pos;
    pos += n + (nl ? 1 : 0);
    p.line_no++;
    while (n > 0 && (start[n - 1] == '\r' || start[n - 1] == ' ' || start[n - 1] == '\t'))
      n--;
    if (n == 0)
      continue; /* blank lines (a trailing one is common) */
    if (n > ACTR__SDP_MAX_LINE) {
      rc = bad(&p, "line too long");
      break;
    }
    memcpy(line, start, n);
    line[n] = '\0';
    /* No control character inside a line (a CR in a value would end the
     * line in every SDP we write from it: our answer echoes the mid). */
    bool ctl = false;
    for (size_t i = 0; i < n && !ctl; i++)
      ctl = ((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f;
    if (ctl) {
      rc = bad(&p, "control character in a line");
      break;
    }
    if (n < 2 || line[1] != '=' || !g_ascii_islower(line[0])) {
      rc = bad(&p, "not <type>=<value>");
      break;
    }
    char type = line[0];
    char *v = line + 2;
    if (!p.seen_v) {
      if (type != 'v' || strcmp(v, "0") != 0) {
        rc = bad(&p, "must start with v=0");
        break;
      }
      p.seen_v = true;
      continue;
    }
    actr__sdp_media_t *m = p.sdp->n_media ? &p.sdp->media[p.sdp->n_media - 1] : NULL;
    switch (type) {
    case 'v':
      rc = bad(&p, "second v= line");
      break;
    case 'o': {
      /* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <addr> */
      gchar **tok = g_strsplit(v, " ", 0);
      if (g_strv_length(tok) != 6 || !parse_u64(tok[1], strlen(tok[1]), &p.sdp->session_id) ||
          !parse_u64(tok[2], strlen(tok[2]), &p.sdp->session_version))
        rc = bad(&p, "o=: want 6 fields with numeric session id and version");
      g_strfreev(tok);
      p.seen_o = true;
      break;
    }
    case 'm':
      if (m)
        finish_media(&p, m, &ma);
      rc = parse_m_line(&p, v);
      break;
    case 'a': {
      char *colon = strchr(v, ':');
      const char *value = NULL;
      if (colon) {
        *colon = '\0';
        value = colon + 1;
      }
      if (!*v) {
        rc = bad(&p, "a=: empty attribute name");
        break;
      }
      if (m) {
        rc = parse_media_attr(&p, m, &ma, v, value);
      } else if (strcmp(v, "group") == 0) {
        if (value && g_str_has_prefix(value, "BUNDLE")) {
          g_free(p.sdp->bundle);
          p.sdp->bundle = g_strdup(g_strstrip((char *)value + 6));
        }
      } else {
        bool handled;
        rc = parse_common_attr(&p, &p.session, v, value, &handled);
      }
      break;
    }
    default:
      break; /* s=, t=, c=, b=, ...: not needed for a data channel */
    }
  }
  if (rc == ACTR_OK && !p.seen_v)
    rc = actr__fail(ACTR_EPROTOCOL, "malformed SDP: empty");
  if (rc == ACTR_OK && !p.seen_o)
    rc = actr__fail(ACTR_EPROTOCOL, "malformed SDP: no o= line");
  if (rc == ACTR_OK && p.sdp->n_media == 0)
    rc = actr__fail(ACTR_EPROTOCOL, "malformed SDP: no m= section");
  if (rc == ACTR_OK)
    finish_media(&p, &p.sdp->media[p.sdp->n_media - 1], &ma);
  g_free(ma.ice_ufrag);
  g_free(ma.ice_pwd);
  g_free(p.session.ice_ufrag);
  g_free(p.session.ice_pwd);
  if (rc) {
    actr__sdp_free(p.sdp);
    return rc;
  }
  *out = p.sdp;
  return ACTR_OK;
}

int actr__sdp_datachannel(const actr__sdp_t *sdp) {
  for (size_t i = 0; sdp && i < sdp->n_media; i++)
    if (sdp->media[i].datachannel && sdp->media[i].port != 0)
      return (int)i;
  return -1;
}

/* ---- generation ---- */

static const char *setup_name(actr__sdp_setup_t s) {
  switch (s) {
  case ACTR__SDP_SETUP_ACTIVE:
    return "active";
  case ACTR__SDP_SETUP_PASSIVE:
    return "passive";
  case ACTR__SDP_SETUP_HOLDCONN:
    return "holdconn";
  default:
    return "actpass";
  }
}

static void gen_datachannel(GString *s, const actr__sdp_local_t *l, const char *mid, bool legacy) {
  uint16_t sctp_port = l->sctp_port ? l->sctp_port : ACTR__SDP_DEFAULT_SCTP_PORT;
  if (legacy)
    g_string_append_printf(s, "m=application 9 DTLS/SCTP %u\r\n", sctp_port);
  else
    g_string_append(s, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
  g_string_append(s, "c=IN IP4 0.0.0.0\r\n");
  g_string_append_printf(s, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", l->ice_ufrag, l->ice_pwd);
  g_string_append(s, "a=ice-options:trickle\r\n");
  g_string_append_printf(s, "a=fingerprint:sha-256 %s\r\n", l->fingerprint_sha256);
  g_string_append_printf(s, "a=setup:%s\r\n", setup_name(l->setup));
  if (mid)
    g_string_append_printf(s, "a=mid:%s\r\n", mid);
  if (legacy)
    g_string_append_printf(s, "a=sctpmap:%u webrtc-datachannel 1024\r\n", sctp_port);
  else
    g_string_append_printf(s, "a=sctp-port:%u\r\n", sctp_port);
  g_string_append_printf(s, "a=max-message-size:%" G_GUINT64_FORMAT "\r\n", l->max_message_size);
  for (size_t i = 0; i < l->n_candidates; i++)
    g_string_append_printf(s, "a=%s\r\n", l->candidates[i]);
  if (l->end_of_candidates)
    g_string_append(s, "a=end-of-candidates\r\n");
}

char *actr__sdp_generate(const actr__sdp_local_t *l) {
  GString *s = g_string_sized_new(1024);
  g_string_append(s, "v=0\r\n");
  g_string_append_printf(s, "o=- %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " IN IP4 127.0.0.1\r\n",
                         l->session_id, l->session_version);
  g_string_append(s, "s=-\r\nt=0 0\r\n");
  if (!l->offer) {
    g_string_append(s, "a=group:BUNDLE 0\r\n");
    gen_datachannel(s, l, "0", false);
    return g_string_free(s, FALSE);
  }
  const actr__sdp_media_t *dc = &l->offer->media[l->offer_dc];
  if (dc->mid)
    g_string_append_printf(s, "a=group:BUNDLE %s\r\n", dc->mid);
  for (size_t i = 0; i < l->offer->n_media; i++) {
    const actr__sdp_media_t *m = &l->offer->media[i];
    if ((int)i == l->offer_dc) {
      gen_datachannel(s, l, m->mid, m->legacy);
      continue;
    }
    /* RFC 8866 §5.14 / RFC 3264 §6: a rejected section has port 0. */
    g_string_append_printf(s, "m=%s 0 %s%s%s\r\nc=IN IP4 0.0.0.0\r\n", m->media, m->proto,
                           *m->fmt ? " " : "", m->fmt);
    if (m->mid)
      g_string_append_printf(s, "a=mid:%s\r\n", m->mid);
  }
  return g_string_free(s, FALSE);
}
