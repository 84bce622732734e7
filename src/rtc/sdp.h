/* sdp.h — SDP for a data-only WebRTC session: the parser for what browsers
 * and aiortc send, and the generator of our offers and answers.
 *
 * Syntax per RFC 8866; the data-channel m-section per RFC 8841 (also the
 * pre-standard "DTLS/SCTP <port>" + a=sctpmap form); ICE attributes per
 * RFC 8839; a=fingerprint / a=setup per RFC 8122 and RFC 8842; BUNDLE per
 * RFC 8843.  Not: media negotiation (audio/video sections are parsed only so
 * that an answer can reject them).  Pure code: no I/O, no GLib main loop. */
#ifndef ACTR_RTC_SDP_H
#define ACTR_RTC_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds.  Longer input is refused (ACTR_EPROTOCOL), never truncated. */
#define ACTR__SDP_MAX_TEXT (128u * 1024u)
#define ACTR__SDP_MAX_LINE 4096u
#define ACTR__SDP_MAX_MEDIA 32u
#define ACTR__SDP_MAX_CANDIDATES 64u
#define ACTR__SDP_MAX_FINGERPRINTS 4u
#define ACTR__SDP_DEFAULT_SCTP_PORT 5000u
/* RFC 8841 §6: a peer that says nothing about max-message-size accepts 64 KiB. */
#define ACTR__SDP_DEFAULT_MAX_MESSAGE_SIZE 65536u

typedef enum actr__sdp_setup {
  ACTR__SDP_SETUP_NONE = 0,
  ACTR__SDP_SETUP_ACTPASS,
  ACTR__SDP_SETUP_ACTIVE,
  ACTR__SDP_SETUP_PASSIVE,
  ACTR__SDP_SETUP_HOLDCONN
} actr__sdp_setup_t;

typedef enum actr__hash {
  ACTR__HASH_NONE = 0,
  ACTR__HASH_SHA1,
  ACTR__HASH_SHA224,
  ACTR__HASH_SHA256,
  ACTR__HASH_SHA384,
  ACTR__HASH_SHA512
} actr__hash_t;

/* actr__sdp_fingerprint_t: one a=fingerprint whose hash function we know. */
typedef struct actr__sdp_fingerprint {
  actr__hash_t hash;
  size_t len;
  uint8_t bytes[64];
} actr__sdp_fingerprint_t;

/* actr__sdp_media_t: one m-section.  Strings are owned by the description.
 * Session-level ICE/DTLS attributes are copied into every section that does
 * not set its own. */
typedef struct actr__sdp_media {
  char *media; /* "application", "audio", ... */
  uint16_t port;
  char *proto; /* "UDP/DTLS/SCTP", "DTLS/SCTP", ... */
  char *fmt;   /* the rest of the m= line */
  char *mid;   /* nullable */
  bool datachannel; /* an SCTP data-channel section */
  bool legacy;      /* "DTLS/SCTP <sctp-port>" with a=sctpmap (pre RFC 8841) */
  char *ice_ufrag, *ice_pwd; /* nullable */
  bool ice_trickle;
  actr__sdp_fingerprint_t fp[ACTR__SDP_MAX_FINGERPRINTS];
  size_t n_fp;
  actr__sdp_setup_t setup;
  uint16_t sctp_port; /* 0: not given */
  bool has_max_message_size;
  uint64_t max_message_size; /* 0 means "no limit" (RFC 8841 §6) */
  char **candidates;         /* "candidate:..." values */
  size_t n_candidates;
  bool end_of_candidates;
} actr__sdp_media_t;

typedef struct actr__sdp {
  uint64_t session_id, session_version;
  actr__sdp_media_t *media;
  size_t n_media;
  char *bundle; /* "a=group:BUNDLE" mids, nullable */
} actr__sdp_t;

/* actr__sdp_parse: parse @len bytes of SDP text.  *@out is (transfer full,
 * actr__sdp_free).  ACTR_EPROTOCOL with the line number and reason in
 * actr_err_detail() for anything malformed or over a bound; *@out is then
 * NULL.  Unknown attributes and line types are ignored (RFC 8866 §5). */
int actr__sdp_parse(const char *text, size_t len, actr__sdp_t **out);

void actr__sdp_free(actr__sdp_t *sdp);

/* actr__sdp_datachannel: the index of the first accepted (port != 0)
 * data-channel section, or -1. */
int actr__sdp_datachannel(const actr__sdp_t *sdp);

/* actr__sdp_hash_name / actr__sdp_hash_len: "sha-256" / 32 ... */
const char *actr__sdp_hash_name(actr__hash_t hash);
size_t actr__sdp_hash_len(actr__hash_t hash);

/* actr__sdp_fingerprint_format: "AB:CD:..." upper-case hex of @len bytes into
 * @out (at least 3 * len bytes). */
void actr__sdp_fingerprint_format(const uint8_t *bytes, size_t len, char *out);

/* actr__sdp_local_t: what our description says. */
typedef struct actr__sdp_local {
  uint64_t session_id, session_version;
  const char *ice_ufrag, *ice_pwd;
  const char *fingerprint_sha256; /* "AB:CD:..." */
  actr__sdp_setup_t setup;
  uint16_t sctp_port;
  uint64_t max_message_size;
  const char *const *candidates; /* "candidate:..." values */
  size_t n_candidates;
  bool end_of_candidates;
  /* Answering: mirror the offer's sections (ours for @offer_dc, rejected
   * copies for the others), keep its mid and syntax.  NULL when offering. */
  const actr__sdp_t *offer;
  int offer_dc;
} actr__sdp_local_t;

/* actr__sdp_generate: our offer or answer (transfer full, g_free). */
char *actr__sdp_generate(const actr__sdp_local_t *l);

#endif
