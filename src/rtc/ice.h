/* ice.h — ICE for one peer connection: a libnice agent with one stream of
 * one component (BUNDLE + rtcp-mux: everything on one transport), bound to
 * the runtime's GMainContext.  What libnice does (gathering, checks,
 * STUN/TURN, keepalives) stays in libnice; this file configures it, turns
 * SDP candidate lines into libnice candidates and back, and reports events.
 * I/O thread only (except actr__ice_parse_servers). */
#ifndef ACTR_RTC_ICE_H
#define ACTR_RTC_ICE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include <actr/webrtc.h>

#include "slack.h"

typedef enum actr__ice_state {
  ACTR__ICE_NEW = 0,
  ACTR__ICE_CHECKING,
  ACTR__ICE_CONNECTED,
  ACTR__ICE_DISCONNECTED,
  ACTR__ICE_FAILED
} actr__ice_state_t;

/* actr__ice_server_t: a STUN or TURN server with its address resolved. */
typedef struct actr__ice_server {
  bool turn;
  bool tcp; /* TURN over TCP */
  char *ip;
  uint16_t port;
  char *username, *password;
} actr__ice_server_t;

typedef struct actr__ice_config {
  actr__ice_server_t *servers;
  size_t n_servers;
  bool relay_only;
  char **local_addresses; /* NULL-terminated, nullable */
  uint16_t port_min, port_max;
} actr__ice_config_t;

/* actr__ice_parse_servers: check and resolve @cfg's ICE servers into
 * @out (owned strings; actr__ice_config_clear).  Blocks for DNS.  Any
 * thread.  ACTR_ECONFIGURATION for a bad URL or a name that does not
 * resolve. */
int actr__ice_config_build(const actr_webrtc_config_t *cfg, actr__ice_config_t *out);
void actr__ice_config_clear(actr__ice_config_t *cfg);

typedef struct actr__ice_cbs {
  /* candidate: a local candidate, "candidate:..."; NULL: gathering done. */
  void (*candidate)(void *user, const char *candidate);
  void (*state)(void *user, actr__ice_state_t state);
  /* recv: one datagram from the peer (transfer none). */
  void (*recv)(void *user, const uint8_t *buf, size_t len);
} actr__ice_cbs_t;

typedef struct actr__ice actr__ice_t;

/* actr__ice_new: an agent whose sockets and callbacks are on @ctx and
 * whose timers are on @slack's context (the runtime's: it fires them late
 * and together, runtime/slack.h); the agent holds @slack precise while it
 * gathers, checks or restarts. */
int actr__ice_new(GMainContext *ctx, actr__slack_t *slack, const actr__ice_config_t *cfg,
                  const actr__ice_cbs_t *cbs, void *user, actr__ice_t **out);
void actr__ice_local_credentials(actr__ice_t *ice, char **ufrag, char **pwd);
void actr__ice_set_controlling(actr__ice_t *ice, bool controlling);
int actr__ice_gather(actr__ice_t *ice);
int actr__ice_set_remote_credentials(actr__ice_t *ice, const char *ufrag, const char *pwd);
/* actr__ice_add_remote_candidate: "candidate:..." or "a=candidate:...".
 * ACTR_OK also for candidates we skip (TCP, mDNS names, other component);
 * ACTR_EPROTOCOL when libnice cannot parse it. */
int actr__ice_add_remote_candidate(actr__ice_t *ice, const char *candidate);
void actr__ice_remote_gathering_done(actr__ice_t *ice);
/* actr__ice_send: one datagram on the selected pair; false when there is
 * none yet or the socket refused it (a datagram loss: DTLS and SCTP
 * retransmit). */
bool actr__ice_send(actr__ice_t *ice, const void *buf, size_t len);
/* actr__ice_send_many: @n datagrams on the selected pair, in order, in as
 * few system calls as libnice makes of them (sendmmsg on a UDP socket).
 * Those the socket refuses are lost (as with actr__ice_send).  Thread-safe
 * like actr__ice_send. */
void actr__ice_send_many(actr__ice_t *ice, const uint8_t *const *bufs, const size_t *lens, size_t n);
/* actr__ice_restart: an ICE restart (RFC 8445 §9) of the stream, in place:
 * new local ufrag/pwd (actr__ice_local_credentials), the remote candidates
 * forgotten (those of the next description follow), the local ones and
 * the selected pair kept (sends go on over it meanwhile).  The next
 * CONNECTED is reported even if libnice never said it lost the pair.
 * Transport (issue 11). */
int actr__ice_restart(actr__ice_t *ice);
/* actr__ice_close: no callback after this; libnice releases its TURN
 * allocations in the background, then the agent and @ice are freed. */
void actr__ice_close(actr__ice_t *ice);

#endif
