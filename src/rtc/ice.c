/* ice.c — the libnice agent of one peer connection (see ice.h).
 *
 * libnice runs on the GMainContext we give it (timers, sockets and the
 * receive callback), which is the runtime's I/O thread; it emits its signals
 * there too, outside its own lock.  Everything here runs on that thread,
 * except actr__ice_send, which direct senders (dc.c) call from application
 * threads.  libnice emits the signals it has queued when any thread lets go
 * of its lock, nice_agent_send included: a signal that reaches us on
 * another thread, or inside a send (where SCTP's locks are held), is handled
 * later from the loop instead (defer()). */
#include "ice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <nice/agent.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#include "error_internal.h"
#include "rtc_internal.h"

/* UDP socket buffers of the selected pair: SCTP keeps up to its receive
 * window in flight; when the receiving thread falls behind (loopback), a
 * buffer smaller than the window overflows, and every drop halves SCTP's
 * congestion window.  The kernel counts a 1.2 KB datagram as ~2.3 KB, and
 * doubles what we ask for. */
#define ICE_SOCKET_BUFFER (8 * 1024 * 1024)

/* UDP segmentation offload (Linux 4.18, UDP_SEGMENT) and its receiving
 * half (Linux 5.0, UDP_GRO), here when the libc headers are older. */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
/* One GSO send: at most 64 segments (UDP_MAX_SEGMENTS on older kernels)
 * and a payload that fits one IP packet. */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000

/* The direct path of a batch (actr__ice_send_many): on a pair whose local
 * candidate is our own UDP socket (host, server or peer reflexive: not a
 * TURN relay, whose packets libnice wraps), a batch goes out with one
 * sendmmsg straight on libnice's socket to the selected remote address,
 * each run of equal-sized datagrams as one UDP_SEGMENT (GSO) message: the
 * kernel cuts it into the same datagrams the wire would carry one by one,
 * so the peer sees no difference; on a loopback pair the receiver takes a
 * run in one read (UDP_GRO, fast_path_set; not elsewhere).  libnice keeps
 * owning the socket: it reads it (STUN included), and sends everything
 * else. */
typedef struct fast_path {
  GSocket *sock; /* a reference: NULL when batches go through libnice */
  int fd;
  bool gso; /* false after the kernel refused a UDP_SEGMENT send */
  union {
    struct sockaddr sa;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
  } to;
  socklen_t to_len;
} fast_path_t;

struct actr__ice {
  NiceAgent *agent;
  GMainContext *ctx;
  guint stream;
  actr__ice_cbs_t cbs;
  void *user;
  actr__ice_state_t state;
  bool closed;
  actr__slack_t *slack; /* the runtime's, where libnice's timers are */
  bool precise;         /* holding it precise: gathering, checking, restarting */
  atomic_int deferred; /* signals waiting to be handled from the loop */
  bool free_when_idle; /* closed while some were: the last one frees */
  GMutex fast_mu;      /* fast: set on the I/O thread, read by senders */
  fast_path_t fast;
};

static _Thread_local int in_send; /* > 0 inside nice_agent_send */

/* ---- configuration: URLs and resolution ---- */

void actr__ice_config_clear(actr__ice_config_t *c) {
  for (size_t i = 0; i < c->n_servers; i++) {
    g_free(c->servers[i].ip);
    g_free(c->servers[i].username);
    g_free(c->servers[i].password);
  }
  g_free(c->servers);
  g_strfreev(c->local_addresses);
  memset(c, 0, sizeof *c);
}

static int resolve(const char *host, char **ip) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *res = NULL;
  int grc = getaddrinfo(host, NULL, &hints, &res);
  if (grc != 0 || !res)
    return actr__fail(ACTR_ECONFIGURATION, "ICE server '%s' does not resolve: %s", host,
                      gai_strerror(grc));
  char buf[INET6_ADDRSTRLEN] = "";
  /* Prefer IPv4: it is what every host has. */
  struct addrinfo *pick = res;
  for (struct addrinfo *a = res; a; a = a->ai_next)
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  if (pick->ai_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)pick->ai_addr)->sin_addr, buf, sizeof buf);
  else
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)pick->ai_addr)->sin6_addr, buf, sizeof buf);
  freeaddrinfo(res);
  *ip = g_strdup(buf);
  return ACTR_OK;
}

/* parse_url: RFC 7064 / RFC 7065: stun:host[:port], turn:host[:port][?transport=udp|tcp].
 * stuns:/turns: (TLS) are refused: libnice's TLS relay is not real TLS. */
static int parse_url(const actr_webrtc_ice_server_t *s, actr__ice_server_t *out) {
  const char *url = s->url;
  if (!url)
    return actr__fail(ACTR_ECONFIGURATION, "ICE server without url");
  const char *rest;
  if (g_str_has_prefix(url, "stun:"))
    rest = url + 5;
  else if (g_str_has_prefix(url, "turn:")) {
    rest = url + 5;
    out->turn = true;
  } else
    return actr__fail(ACTR_ECONFIGURATION, "ICE server '%s': want stun: or turn:", url);
  char *hostport = g_strdup(rest);
  char *q = strchr(hostport, '?');
  int rc = ACTR_OK;
  if (q) {
    *q++ = '\0';
    if (!out->turn || (strcmp(q, "transport=udp") != 0 && strcmp(q, "transport=tcp") != 0)) {
      rc = actr__fail(ACTR_ECONFIGURATION, "ICE server '%s': bad query", url);
      goto out;
    }
    out->tcp = strcmp(q, "transport=tcp") == 0;
  }
  char *host = hostport, *port = NULL;
  if (*host == '[') {
    char *end = strchr(host, ']');
    if (!end) {
      rc = actr__fail(ACTR_ECONFIGURATION, "ICE server '%s': bad IPv6 literal", url);
      goto out;
    }
    *end = '\0';
    host++;
    if (end[1] == ':')
      port = end + 2;
    else if (end[1]) {
      rc = actr__fail(ACTR_ECONFIGURATION, "ICE server '%s': junk after address", url);
      goto out;
    }
  } else if ((port = strchr(host, ':'))) {
    *port++ = '\0';
  }
  out->port = 3478;
  if (port) {
    char *end;
    unsigned long p = strtoul(port, &end, 10);
    if (!*port || *end || p == 0 || p > 65535) {
      rc = actr__fail(ACTR_ECONFIGURATION, "ICE server '%s': bad port", url);
      goto out;
    }
    out->port = (uint16_t)p;
  }
  if (!*host) {
    rc = actr__fail(ACTR_ECONFIGURATION, "ICE server '%s': no host", url);
    goto out;
  }
  if (out->turn && (!s->username || !s->credential)) {
    rc = actr__fail(ACTR_ECONFIGURATION, "TURN server '%s' needs username and credential", url);
    goto out;
  }
  rc = resolve(host, &out->ip);
  if (rc == ACTR_OK && out->turn) {
    out->username = g_strdup(s->username);
    out->password = g_strdup(s->credential);
  }
out:
  g_free(hostport);
  return rc;
}

int actr__ice_config_build(const actr_webrtc_config_t *cfg, actr__ice_config_t *out) {
  memset(out, 0, sizeof *out);
  out->relay_only = cfg->ice_policy == ACTR_WEBRTC_ICE_RELAY;
  out->port_min = cfg->port_min;
  out->port_max = cfg->port_max;
  if (cfg->port_min > cfg->port_max)
    return actr__fail(ACTR_ECONFIGURATION, "port range %u..%u", cfg->port_min, cfg->port_max);
  if (cfg->ice_server_count && !cfg->ice_servers)
    return actr__fail(ACTR_ECONFIGURATION, "ice_servers is NULL");
  out->servers = g_new0(actr__ice_server_t, cfg->ice_server_count ? cfg->ice_server_count : 1);
  for (size_t i = 0; i < cfg->ice_server_count; i++) {
    int rc = parse_url(&cfg->ice_servers[i], &out->servers[i]);
    out->n_servers = i + 1;
    if (rc) {
      actr__ice_config_clear(out);
      return rc;
    }
  }
  if (cfg->local_address_count && !cfg->local_addresses) {
    actr__ice_config_clear(out);
    return actr__fail(ACTR_ECONFIGURATION, "local_addresses is NULL");
  }
  if (cfg->local_address_count) {
    out->local_addresses = g_new0(char *, cfg->local_address_count + 1);
    for (size_t i = 0; i < cfg->local_address_count; i++) {
      NiceAddress a;
      if (!cfg->local_addresses[i] || !nice_address_set_from_string(&a, cfg->local_addresses[i])) {
        int rc = actr__fail(ACTR_ECONFIGURATION, "local address '%s' is not an IP address",
                            cfg->local_addresses[i] ? cfg->local_addresses[i] : "(null)");
        actr__ice_config_clear(out);
        return rc;
      }
      out->local_addresses[i] = g_strdup(cfg->local_addresses[i]);
    }
  }
  bool relay = false;
  for (size_t i = 0; i < out->n_servers; i++)
    relay |= out->servers[i].turn;
  if (out->relay_only && !relay) {
    actr__ice_config_clear(out);
    return actr__fail(ACTR_ECONFIGURATION, "relay-only policy without a TURN server");
  }
  return ACTR_OK;
}

/* ---- libnice signals ---- */

/* set_precise: libnice's timers pace and retransmit connectivity checks
 * while the agent connects (20 ms Ta, RTOs from 100 ms): they must fire on
 * time then.  Once the pair is nominated (READY) what is left are
 * keepalives and ticks that find nothing to do: fired on the idle grid. */
static void set_precise(actr__ice_t *ice, bool on) {
  if (ice->precise == on)
    return;
  ice->precise = on;
  actr__slack_precise(ice->slack, on);
  actr__log(ACTR_LOG_DEBUG, "ice: libnice's timers %s", on ? "precise" : "on the idle grid");
}

static void set_state(actr__ice_t *ice, actr__ice_state_t st) {
  if (ice->state == st || ice->closed)
    return;
  ice->state = st;
  ice->cbs.state(ice->user, st);
}

/* ---- signals that arrive off the loop ---- */

typedef enum { DEF_CANDIDATE, DEF_GATHERED, DEF_PAIR, DEF_STATE } def_kind_t;

typedef struct deferred {
  actr__ice_t *ice;
  def_kind_t kind;
  guint stream, state;
  NiceCandidate *a, *b;
} deferred_t;

static void ice_free(actr__ice_t *ice);
static void handle_new_candidate(actr__ice_t *ice, NiceCandidate *cand);
static void handle_gathering_done(actr__ice_t *ice, guint stream);
static void handle_selected_pair(actr__ice_t *ice, guint stream, NiceCandidate *l,
                                 NiceCandidate *r);
static void handle_component_state(actr__ice_t *ice, guint stream, guint state);

/* must_defer: off the loop, inside a send, or behind signals deferred
 * before (they are handled first in, first out). */
static bool must_defer(const actr__ice_t *ice) {
  return in_send > 0 || !g_main_context_is_owner(ice->ctx) ||
         atomic_load(&((actr__ice_t *)ice)->deferred) > 0;
}

static gboolean run_deferred(gpointer p) {
  deferred_t *d = p;
  actr__ice_t *ice = d->ice;
  switch (d->kind) {
  case DEF_CANDIDATE:
    handle_new_candidate(ice, d->a);
    break;
  case DEF_GATHERED:
    handle_gathering_done(ice, d->stream);
    break;
  case DEF_PAIR:
    handle_selected_pair(ice, d->stream, d->a, d->b);
    break;
  case DEF_STATE:
    handle_component_state(ice, d->stream, d->state);
    break;
  }
  return G_SOURCE_REMOVE;
}

/* deferred_done: the idle ran or was destroyed. */
static void deferred_done(gpointer p) {
  deferred_t *d = p;
  actr__ice_t *ice = d->ice;
  if (d->a)
    nice_candidate_free(d->a);
  if (d->b)
    nice_candidate_free(d->b);
  g_free(d);
  /* Nothing is deferred once closed (the handlers are disconnected and no
   * send reaches libnice), so the count only falls from here on. */
  if (atomic_fetch_sub(&ice->deferred, 1) == 1 && ice->free_when_idle)
    ice_free(ice);
}

static void defer(actr__ice_t *ice, def_kind_t kind, guint stream, guint state, NiceCandidate *a,
                  NiceCandidate *b) {
  deferred_t *d = g_new0(deferred_t, 1);
  *d = (deferred_t){ice, kind, stream, state, a ? nice_candidate_copy(a) : NULL,
                    b ? nice_candidate_copy(b) : NULL};
  atomic_fetch_add(&ice->deferred, 1);
  GSource *idle = g_idle_source_new();
  /* As soon as the loop is back, not after everything else it has to do. */
  g_source_set_priority(idle, G_PRIORITY_DEFAULT);
  g_source_set_callback(idle, run_deferred, d, deferred_done);
  g_source_attach(idle, ice->ctx);
  g_source_unref(idle);
}

/* ---- signals ---- */

static void on_new_candidate(NiceAgent *agent, NiceCandidate *cand, gpointer data) {
  actr__ice_t *ice = data;
  (void)agent;
  if (must_defer(ice))
    defer(ice, DEF_CANDIDATE, 0, 0, cand, NULL);
  else
    handle_new_candidate(ice, cand);
}

static void handle_new_candidate(actr__ice_t *ice, NiceCandidate *cand) {
  if (ice->closed || cand->stream_id != ice->stream)
    return;
  gchar *sdp = nice_agent_generate_local_candidate_sdp(ice->agent, cand);
  if (!sdp)
    return;
  const char *v = g_str_has_prefix(sdp, "a=") ? sdp + 2 : sdp;
  ice->cbs.candidate(ice->user, v);
  g_free(sdp);
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data) {
  actr__ice_t *ice = data;
  (void)agent;
  if (must_defer(ice))
    defer(ice, DEF_GATHERED, stream, 0, NULL, NULL);
  else
    handle_gathering_done(ice, stream);
}

static void handle_gathering_done(actr__ice_t *ice, guint stream) {
  if (!ice->closed && stream == ice->stream)
    ice->cbs.candidate(ice->user, NULL);
}

static void enlarge_buffers(actr__ice_t *ice) {
  GSocket *sock = nice_agent_get_selected_socket(ice->agent, ice->stream, 1);
  if (!sock)
    return;
  int fd = g_socket_get_fd(sock), sz = ICE_SOCKET_BUFFER;
  /* Best effort: without CAP_NET_ADMIN the kernel caps it at
   * net.core.[rw]mem_max. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  int got = 0;
  socklen_t gl = sizeof got;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
  actr__log(ACTR_LOG_DEBUG, "ice: UDP receive buffer %d bytes", got);
  g_object_unref(sock);
}

/* fast_path_off: batches go through libnice again; the socket stops
 * taking coalesced reads (libnice's TURN client on it must see one
 * datagram per read). */
static void fast_path_off(actr__ice_t *ice) {
  g_mutex_lock(&ice->fast_mu);
  GSocket *old = ice->fast.sock;
  int fd = ice->fast.fd;
  ice->fast.sock = NULL;
  g_mutex_unlock(&ice->fast_mu);
  if (old) {
    int off = 0;
    if (!g_socket_is_closed(old))
      (void)setsockopt(fd, IPPROTO_UDP, UDP_GRO, &off, sizeof off);
    g_object_unref(old);
  }
}

/* sockaddr_is_loopback: 127.0.0.0/8 or ::1. */
static bool sockaddr_is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6)
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
  return false;
}

static bool local_is_loopback(const NiceCandidate *l) {
  struct sockaddr_storage ss;
  nice_address_copy_to_sockaddr(&l->addr, (struct sockaddr *)&ss);
  return sockaddr_is_loopback((const struct sockaddr *)&ss);
}

/* fast_path_set: the selected pair is @l -> @r: use the direct path when
 * @l is a UDP socket of ours. */
static void fast_path_set(actr__ice_t *ice, const NiceCandidate *l, const NiceCandidate *r) {
  fast_path_off(ice);
  if (l->type == NICE_CANDIDATE_TYPE_RELAYED || l->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
      r->transport != NICE_CANDIDATE_TRANSPORT_UDP)
    return;
  GSocket *sock = nice_agent_get_selected_socket(ice->agent, ice->stream, 1);
  if (!sock)
    return;
  if (g_socket_get_socket_type(sock) != G_SOCKET_TYPE_DATAGRAM) {
    g_object_unref(sock);
    return;
  }
  fast_path_t f = {.sock = sock, .fd = g_socket_get_fd(sock), .gso = true};
  nice_address_copy_to_sockaddr(&r->addr, &f.to.sa);
  f.to_len = f.to.sa.sa_family == AF_INET6 ? sizeof f.to.sin6 : sizeof f.to.sin;
  /* Reads of runs sent with GSO come whole: libnice hands them to us as
   * one buffer of DTLS records, which actr__dtls_feed takes apart.  Only
   * on a loopback pair: there a run is only ever what one sendmsg of the
   * peer made.  On a real interface the kernel's GRO would also merge a
   * shorter datagram of the same flow onto the end of a run -- a STUN
   * consent check, which libnice would then never see -- so there the
   * kernel cuts runs into datagrams again (best effort either way). */
  int on = 1;
  if (sockaddr_is_loopback(&f.to.sa) &&
      local_is_loopback(l) && setsockopt(f.fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on) < 0)
    actr__log(ACTR_LOG_DEBUG, "ice: UDP_GRO: %s", g_strerror(errno));
  g_mutex_lock(&ice->fast_mu);
  ice->fast = f;
  g_mutex_unlock(&ice->fast_mu);
}

static void on_selected_pair(NiceAgent *agent, guint stream, guint comp, NiceCandidate *l,
                             NiceCandidate *r, gpointer data) {
  actr__ice_t *ice = data;
  (void)agent;
  if (must_defer(ice))
    defer(ice, DEF_PAIR, stream, 0, l, r);
  else
    handle_selected_pair(ice, stream, l, r);
}

static void handle_selected_pair(actr__ice_t *ice, guint stream, NiceCandidate *l,
                                 NiceCandidate *r) {
  if (ice->closed || stream != ice->stream)
    return;
  char la[NICE_ADDRESS_STRING_LEN], ra[NICE_ADDRESS_STRING_LEN];
  nice_address_to_string(&l->addr, la);
  nice_address_to_string(&r->addr, ra);
  actr__log(ACTR_LOG_INFO, "ice: selected pair %s:%u -> %s:%u", la, nice_address_get_port(&l->addr),
            ra, nice_address_get_port(&r->addr));
  enlarge_buffers(ice);
  fast_path_set(ice, l, r);
}

static void on_component_state(NiceAgent *agent, guint stream, guint comp, guint state,
                               gpointer data) {
  actr__ice_t *ice = data;
  (void)agent;
  if (must_defer(ice))
    defer(ice, DEF_STATE, stream, state, NULL, NULL);
  else
    handle_component_state(ice, stream, state);
}

static void handle_component_state(actr__ice_t *ice, guint stream, guint state) {
  if (ice->closed || stream != ice->stream)
    return;
  switch (state) {
  case NICE_COMPONENT_STATE_CONNECTING:
    if (ice->state == ACTR__ICE_NEW)
      set_state(ice, ACTR__ICE_CHECKING);
    break;
  case NICE_COMPONENT_STATE_CONNECTED:
    set_state(ice, ACTR__ICE_CONNECTED);
    break;
  case NICE_COMPONENT_STATE_READY:
    set_precise(ice, false);
    set_state(ice, ACTR__ICE_CONNECTED);
    break;
  case NICE_COMPONENT_STATE_FAILED:
    fast_path_off(ice);
    set_precise(ice, false);
    set_state(ice, ACTR__ICE_FAILED);
    break;
  case NICE_COMPONENT_STATE_DISCONNECTED:
    if (ice->state == ACTR__ICE_CONNECTED)
      set_state(ice, ACTR__ICE_DISCONNECTED);
    break;
  default:
    break;
  }
}

static void on_recv(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf,
                    gpointer data) {
  actr__ice_t *ice = data;
  if (!ice->closed)
    ice->cbs.recv(ice->user, (const uint8_t *)buf, len);
}

/* ---- the agent ---- */

int actr__ice_new(GMainContext *ctx, actr__slack_t *slack, const actr__ice_config_t *cfg,
                  const actr__ice_cbs_t *cbs, void *user, actr__ice_t **out) {
  actr__ice_t *ice = g_new0(actr__ice_t, 1);
  g_mutex_init(&ice->fast_mu);
  ice->ctx = g_main_context_ref(ctx);
  ice->cbs = *cbs;
  ice->user = user;
  /* RFC 8445 with trickle (RFC 8838): the agent does not conclude failure
   * before the peer said it has no more candidates. */
  /* The agent's own context carries only its timers (keepalives, consent,
   * pacing, retransmissions): those of all agents of a runtime fire
   * together there (runtime/slack.h).  Its sockets and every callback are
   * on @ctx (nice_agent_attach_recv below). */
  ice->slack = slack;
  set_precise(ice, true);
  ice->agent = nice_agent_new_full(actr__slack_context(slack), NICE_COMPATIBILITY_RFC5245,
                                   NICE_AGENT_OPTION_ICE_TRICKLE);
  if (!ice->agent) {
    set_precise(ice, false);
    g_main_context_unref(ice->ctx);
    g_mutex_clear(&ice->fast_mu);
    g_free(ice);
    return actr__fail(ACTR_EICE, "libnice agent");
  }
  actr__rtc_live_add(1);
  g_object_set(ice->agent, "ice-tcp", FALSE, "keepalive-conncheck", TRUE, "force-relay",
               (gboolean)cfg->relay_only, NULL);
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice->agent), "upnp"))
    g_object_set(ice->agent, "upnp", FALSE, NULL);
  for (size_t i = 0; cfg->local_addresses && cfg->local_addresses[i]; i++) {
    NiceAddress a;
    nice_address_init(&a);
    if (nice_address_set_from_string(&a, cfg->local_addresses[i]))
      nice_agent_add_local_address(ice->agent, &a);
  }
  bool stun_set = false;
  for (size_t i = 0; i < cfg->n_servers; i++)
    if (!cfg->servers[i].turn && !stun_set) {
      /* libnice takes one STUN server; further ones are ignored. */
      g_object_set(ice->agent, "stun-server", cfg->servers[i].ip, "stun-server-port",
                   (guint)cfg->servers[i].port, NULL);
      stun_set = true;
    }
  ice->stream = nice_agent_add_stream(ice->agent, 1);
  if (!ice->stream) {
    actr__ice_close(ice);
    return actr__fail(ACTR_EICE, "libnice stream");
  }
  nice_agent_set_stream_name(ice->agent, ice->stream, "application");
  if (cfg->port_min || cfg->port_max)
    nice_agent_set_port_range(ice->agent, ice->stream, 1, cfg->port_min, cfg->port_max);
  for (size_t i = 0; i < cfg->n_servers; i++) {
    const actr__ice_server_t *s = &cfg->servers[i];
    if (s->turn &&
        !nice_agent_set_relay_info(ice->agent, ice->stream, 1, s->ip, s->port, s->username,
                                   s->password,
                                   s->tcp ? NICE_RELAY_TYPE_TURN_TCP : NICE_RELAY_TYPE_TURN_UDP)) {
      actr__ice_close(ice);
      return actr__fail(ACTR_ECONFIGURATION, "TURN server %s:%u refused by libnice", s->ip,
                        s->port);
    }
  }
  g_signal_connect(ice->agent, "new-candidate-full", G_CALLBACK(on_new_candidate), ice);
  g_signal_connect(ice->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), ice);
  g_signal_connect(ice->agent, "component-state-changed", G_CALLBACK(on_component_state), ice);
  g_signal_connect(ice->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), ice);
  nice_agent_attach_recv(ice->agent, ice->stream, 1, ctx, on_recv, ice);
  *out = ice;
  return ACTR_OK;
}

void actr__ice_local_credentials(actr__ice_t *ice, char **ufrag, char **pwd) {
  nice_agent_get_local_credentials(ice->agent, ice->stream, ufrag, pwd);
}

void actr__ice_set_controlling(actr__ice_t *ice, bool controlling) {
  g_object_set(ice->agent, "controlling-mode", (gboolean)controlling, NULL);
}

int actr__ice_gather(actr__ice_t *ice) {
  if (!nice_agent_gather_candidates(ice->agent, ice->stream))
    return actr__fail(ACTR_EICE, "candidate gathering failed to start (no usable local address "
                                 "or port range?)");
  return ACTR_OK;
}

int actr__ice_set_remote_credentials(actr__ice_t *ice, const char *ufrag, const char *pwd) {
  if (!nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag, pwd))
    return actr__fail(ACTR_EICE, "remote ICE credentials refused");
  return ACTR_OK;
}

int actr__ice_add_remote_candidate(actr__ice_t *ice, const char *candidate) {
  if (g_str_has_prefix(candidate, "a="))
    candidate += 2;
  if (!g_str_has_prefix(candidate, "candidate:"))
    return actr__fail(ACTR_EPROTOCOL, "ICE candidate does not start with 'candidate:'");
  if (strlen(candidate) > 1024)
    return actr__fail(ACTR_EPROTOCOL, "ICE candidate over 1024 bytes");
  /* Fields: foundation component transport priority address port "typ" type */
  gchar **tok = g_strsplit(candidate, " ", 10);
  guint n = g_strv_length(tok);
  int rc = ACTR_OK;
  if (n < 8 || strcmp(tok[6], "typ") != 0) {
    rc = actr__fail(ACTR_EPROTOCOL, "ICE candidate: want <foundation> <component> <transport> "
                                    "<priority> <address> <port> typ <type>");
    goto out;
  }
  /* Skipped, not errors: other components (no rtcp-mux needed with
   * BUNDLE), TCP candidates (ICE-TCP is off), mDNS names (RFC 8828 hides
   * addresses behind .local names we cannot resolve). */
  if (strcmp(tok[1], "1") != 0 || g_ascii_strcasecmp(tok[2], "udp") != 0 ||
      g_str_has_suffix(tok[4], ".local"))
    goto out;
  gchar *line = g_strconcat("a=", candidate, NULL);
  NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(ice->agent, ice->stream, line);
  g_free(line);
  if (!c) {
    rc = actr__fail(ACTR_EPROTOCOL, "ICE candidate not understood: %.200s", candidate);
    goto out;
  }
  GSList *list = g_slist_append(NULL, c);
  if (nice_agent_set_remote_candidates(ice->agent, ice->stream, 1, list) < 0)
    ACTR__LOG_PEER(ACTR_LOG_WARN, "ice: remote candidate refused: %.200s", candidate);
  g_slist_free(list);
  nice_candidate_free(c);
out:
  g_strfreev(tok);
  return rc;
}

void actr__ice_remote_gathering_done(actr__ice_t *ice) {
  nice_agent_peer_candidate_gathering_done(ice->agent, ice->stream);
}

bool actr__ice_send(actr__ice_t *ice, const void *buf, size_t len) {
  if (ice->closed)
    return false;
  in_send++;
  bool ok = nice_agent_send(ice->agent, ice->stream, 1, (guint)len, buf) == (gint)len;
  in_send--;
  return ok;
}

/* send_direct: @n datagrams (at most 64) with one sendmmsg on the fast
 * path, each run of equal sizes (the last of a run may be shorter, as GSO
 * allows) as one UDP_SEGMENT message.  Called with fast_mu held.  Returns
 * how many datagrams the kernel took or dropped (a full buffer is a loss,
 * as for any datagram); fewer only when GSO was refused (then off). */
static size_t send_direct(fast_path_t *f, const uint8_t *const *bufs, const size_t *lens,
                          size_t n) {
  struct iovec iov[64];
  struct mmsghdr mm[64];
  size_t first[64]; /* the first datagram of each message */
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[64];
  size_t nm = 0;
  for (size_t i = 0; i < n && i < 64; i++) {
    iov[i].iov_base = (void *)bufs[i];
    iov[i].iov_len = lens[i];
  }
  n = MIN(n, 64);
  for (size_t i = 0; i < n;) {
    size_t seg = lens[i], j = i + 1, bytes = seg;
    if (f->gso)
      while (j < n && j - i < GSO_MAX_SEGMENTS && lens[j] <= seg && bytes + lens[j] <= GSO_MAX_BYTES) {
        bytes += lens[j];
        if (lens[j++] < seg)
          break; /* a shorter one ends the run */
      }
    struct msghdr *h = &mm[nm].msg_hdr;
    memset(&mm[nm], 0, sizeof mm[nm]);
    h->msg_name = &f->to;
    h->msg_namelen = f->to_len;
    h->msg_iov = &iov[i];
    h->msg_iovlen = j - i;
    if (j - i > 1) {
      memset(&ctl[nm], 0, sizeof ctl[nm]);
      h->msg_control = ctl[nm].buf;
      h->msg_controllen = sizeof ctl[nm].buf;
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = IPPROTO_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t gso = (uint16_t)seg;
      memcpy(CMSG_DATA(c), &gso, sizeof gso);
    }
    first[nm++] = i;
    i = j;
  }
  size_t done = 0;
  while (done < nm) {
    int r = sendmmsg(f->fd, &mm[done], (unsigned)(nm - done), MSG_DONTWAIT);
    if (r > 0) {
      done += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && f->gso && mm[done].msg_hdr.msg_controllen &&
        (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
      /* No GSO on this path (a device without checksum offload, an old
       * kernel): plain datagrams from now on, through libnice. */
      actr__log(ACTR_LOG_INFO, "ice: UDP GSO refused (%s): batches go datagram by datagram",
                g_strerror(errno));
      f->gso = false;
      return first[done];
    }
    break; /* a full buffer or a gone route: lost datagrams, SCTP repairs */
  }
  return n;
}

void actr__ice_send_many(actr__ice_t *ice, const uint8_t *const *bufs, const size_t *lens,
                         size_t n) {
  if (ice->closed || n == 0)
    return;
  g_mutex_lock(&ice->fast_mu);
  while (ice->fast.sock && ice->fast.gso && n > 0) {
    size_t k = send_direct(&ice->fast, bufs, lens, n);
    bufs += k;
    lens += k;
    n -= k;
  }
  g_mutex_unlock(&ice->fast_mu);
  if (n == 0)
    return;
  if (n == 1) {
    actr__ice_send(ice, bufs[0], lens[0]);
    return;
  }
  GOutputVector vec[64];
  NiceOutputMessage msgs[64];
  in_send++;
  for (size_t done = 0; done < n;) {
    size_t k = MIN(n - done, G_N_ELEMENTS(msgs));
    for (size_t i = 0; i < k; i++) {
      vec[i].buffer = bufs[done + i];
      vec[i].size = lens[done + i];
      msgs[i].buffers = &vec[i];
      msgs[i].n_buffers = 1;
    }
    /* One call: libnice's UDP socket sends them with one sendmmsg. */
    (void)nice_agent_send_messages_nonblocking(ice->agent, ice->stream, 1, msgs, (guint)k, NULL,
                                               NULL);
    done += k;
  }
  in_send--;
}

static void ice_free(actr__ice_t *ice) {
  if (ice->fast.sock)
    g_object_unref(ice->fast.sock);
  g_mutex_clear(&ice->fast_mu);
  g_object_unref(ice->agent);
  g_main_context_unref(ice->ctx);
  g_free(ice);
  actr__rtc_live_add(-1);
}

static void close_done(GObject *src, GAsyncResult *res, gpointer data) {
  actr__ice_t *ice = data;
  if (atomic_load(&ice->deferred) > 0)
    ice->free_when_idle = true; /* the last deferred signal frees it */
  else
    ice_free(ice);
}

void actr__ice_close(actr__ice_t *ice) {
  if (!ice || ice->closed)
    return;
  ice->closed = true;
  fast_path_off(ice);
  set_precise(ice, false);
  g_signal_handlers_disconnect_by_data(ice->agent, ice);
  if (ice->stream)
    nice_agent_attach_recv(ice->agent, ice->stream, 1, ice->ctx, NULL, NULL);
  /* Releases TURN allocations (Refresh with lifetime 0), then calls back on
   * this thread's default context — the runtime's, since we are on it. */
  nice_agent_close_async(ice->agent, close_done, ice);
}

/* ---- ICE restart in place (transport, issue 11) ---- */

int actr__ice_restart(actr__ice_t *ice) {
  if (ice->closed)
    return actr__fail(ACTR_EINVALID_OPERATION, "ICE agent closed");
  set_precise(ice, true); /* checks are paced again, until READY */
  if (!nice_agent_restart_stream(ice->agent, ice->stream))
    return actr__fail(ACTR_EICE, "libnice refused to restart the stream");
  /* Checks start over: the pair they select is a CONNECTED to report. */
  ice->state = ACTR__ICE_CHECKING;
  return ACTR_OK;
}
