/* demo.c — `actr-lane demo`: every lane kind, every payload type it carries,
 * envelopes and raw messages of several sizes, every byte checked, one
 * readable report.  Exit 0 only if every check passed.
 *
 * A lane kind joins the demo with one demo_kind_t: how to open a pair of
 * connected lanes for a payload type (the sending end and the receiving end,
 * the same handle for in-process lanes) and whether it carries envelopes as
 * objects or as encoded bytes. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actr/error.h>
#include <actr/inproc.h>
#include <actr/webrtc_link.h>
#include <actr/websocket.h>

#include "tool.h"

typedef struct demo_kind {
  const char *name;
  unsigned lane_bit; /* ACTR_LANE_KIND_* */
  bool envelopes_as_objects;
  int (*open_pair)(void *ctx, actr_payload_type_t type, actr_lane_t **tx, actr_lane_t **rx);
  void *ctx;
} demo_kind_t;

typedef struct demo_size {
  size_t bytes;
  unsigned count;
} demo_size_t;

static const demo_size_t demo_sizes[] = {
  {0, 500}, {64, 2000}, {1024, 2000}, {65536, 200}, {1u << 20, 20}, {4u << 20, 4},
};

typedef struct run {
  actr_lane_t *tx, *rx;
  bool objects;
  const demo_size_t *size;
  double *sent_at; /* per message, written before the send */
  int send_rc;
} run_t;

static actr_envelope_t *demo_envelope(size_t size, uint32_t seq) {
  char id[32];
  snprintf(id, sizeof id, "demo-%u", seq);
  actr_envelope_t *env = NULL;
  if (actr_envelope_new("actr.demo.Echo.Call", id, 30000, &env) != ACTR_OK)
    return NULL;
  uint8_t *payload = malloc(size ? size : 1);
  tool_fill_pattern(payload, size, seq);
  int rc = actr_envelope_set_payload(env, payload, size);
  free(payload);
  if (rc == ACTR_OK)
    rc = actr_envelope_add_metadata(env, "demo", "yes");
  if (rc != ACTR_OK) {
    actr_envelope_free(env);
    return NULL;
  }
  return env;
}

static bool check_envelope(const actr_envelope_t *env, size_t size, uint32_t seq) {
  char id[32];
  snprintf(id, sizeof id, "demo-%u", seq);
  const uint8_t *data;
  size_t len;
  return strcmp(actr_envelope_request_id(env), id) == 0 &&
         strcmp(actr_envelope_route_key(env), "actr.demo.Echo.Call") == 0 &&
         actr_envelope_payload(env, &data, &len) && len == size &&
         tool_check_pattern(data, len, seq);
}

static gpointer sender(gpointer data) {
  run_t *r = data;
  for (uint32_t i = 0; i < r->size->count; i++) {
    actr_envelope_t *env = demo_envelope(r->size->bytes, i);
    if (!env) {
      r->send_rc = ACTR_ENO_MEMORY;
      return NULL;
    }
    r->sent_at[i] = tool_now_us();
    int rc;
    if (r->objects) {
      rc = actr_lane_send_envelope(r->tx, env);
      if (rc != ACTR_OK)
        actr_envelope_free(env);
    } else {
      uint8_t *buf;
      size_t len;
      rc = actr_envelope_encode(env, &buf, &len);
      actr_envelope_free(env);
      if (rc == ACTR_OK) {
        rc = actr_lane_send(r->tx, buf, len);
        free(buf);
      }
    }
    if (rc != ACTR_OK) {
      r->send_rc = rc;
      return NULL;
    }
  }
  return NULL;
}

/* receive_one: the next envelope from @r->rx, decoding it on byte lanes. */
static int receive_one(run_t *r, actr_envelope_t **env) {
  if (r->objects)
    return actr_lane_recv_envelope(r->rx, 10000, env);
  actr_msg_t *msg;
  int rc = actr_lane_recv(r->rx, 10000, &msg);
  if (rc != ACTR_OK)
    return rc;
  rc = actr_envelope_decode(actr_msg_data(msg), actr_msg_len(msg), env);
  actr_msg_free(msg);
  return rc;
}

static void run_one(const demo_kind_t *kind, actr_payload_type_t type, tool_report_t *rep,
                    bool *ok) {
  for (size_t s = 0; s < G_N_ELEMENTS(demo_sizes); s++) {
    run_t r = {.objects = kind->envelopes_as_objects, .size = &demo_sizes[s]};
    int rc = kind->open_pair(kind->ctx, type, &r.tx, &r.rx);
    if (rc != ACTR_OK) {
      fprintf(stderr, "%s/%s: open failed: %s (%s)\n", kind->name, actr_payload_type_name(type),
              actr_err_name(rc), actr_err_detail());
      rep->errors++;
      *ok = false;
      return;
    }
    tool_progress("%s %s: %u x %zu B", kind->name, actr_payload_type_name(type), r.size->count,
                  r.size->bytes);
    r.sent_at = g_new0(double, r.size->count);
    double t0 = tool_now_us();
    GThread *t = g_thread_new("demo-sender", sender, &r);
    for (uint32_t i = 0; i < r.size->count; i++) {
      actr_envelope_t *env = NULL;
      rc = receive_one(&r, &env);
      if (rc != ACTR_OK) {
        fprintf(stderr, "\n%s/%s: receive %u of %zu B failed: %s (%s)\n", kind->name,
                actr_payload_type_name(type), i, r.size->bytes, actr_err_name(rc),
                actr_err_detail());
        rep->errors++;
        break;
      }
      double now = tool_now_us();
      if (check_envelope(env, r.size->bytes, i)) {
        rep->messages++;
        rep->bytes += r.size->bytes;
        tool_report_add_latency(rep, now - r.sent_at[i]);
      } else {
        fprintf(stderr, "\n%s/%s: message %u of %zu B is wrong\n", kind->name,
                actr_payload_type_name(type), i, r.size->bytes);
        rep->errors++;
      }
      actr_envelope_free(env);
    }
    if (rep->errors) /* unblock a sender stuck on a lane we stopped reading */
      actr_lane_close(r.tx);
    g_thread_join(t);
    rep->seconds += (tool_now_us() - t0) / 1e6;
    if (r.send_rc != ACTR_OK) {
      fprintf(stderr, "\n%s/%s: send failed: %s (%s)\n", kind->name, actr_payload_type_name(type),
              actr_err_name(r.send_rc), actr_err_detail());
      rep->errors++;
    }
    g_free(r.sent_at);
    actr_lane_unref(r.tx);
    if (r.rx != r.tx)
      actr_lane_unref(r.rx);
    if (rep->errors) {
      *ok = false;
      return;
    }
  }
}

static int inproc_open_pair(void *ctx, actr_payload_type_t type, actr_lane_t **tx,
                            actr_lane_t **rx) {
  int rc = actr_lane_inproc_new(type, 100, tx);
  if (rc == ACTR_OK)
    *rx = *tx; /* one lane: any handle sends, the one receiver receives */
  return rc;
}

/* WebSocket: one real connection over loopback (a server on 127.0.0.1, any
 * port, and a client), made on first use; every type's lane rides on it,
 * as in actr.  The sending end is the client, the receiving end the
 * server's side of the same connection. */
typedef struct ws_demo {
  actr_runtime_t *rt;
  actr_ws_server_t *srv;
  GAsyncQueue *accepted;
  actr_ws_conn_t *client, *server;
} ws_demo_t;

static void ws_demo_on_accept(actr_ws_conn_t *conn, const char *path, void *user) {
  g_async_queue_push(((ws_demo_t *)user)->accepted, conn);
}

static int ws_open_pair(void *ctx, actr_payload_type_t type, actr_lane_t **tx, actr_lane_t **rx) {
  ws_demo_t *d = ctx;
  *tx = *rx = NULL;
  if (!d->client) {
    int rc = d->rt ? ACTR_OK : actr_runtime_new(&d->rt);
    if (rc == ACTR_OK && !d->srv) {
      d->accepted = g_async_queue_new();
      rc = actr_ws_server_new(d->rt, "127.0.0.1", 0, NULL, ws_demo_on_accept, d, &d->srv);
    }
    if (rc != ACTR_OK)
      return rc;
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/demo", actr_ws_server_port(d->srv));
    rc = actr_ws_connect(d->rt, url, NULL, &d->client);
    if (rc != ACTR_OK)
      return rc;
    d->server = g_async_queue_timeout_pop(d->accepted, 10 * G_USEC_PER_SEC);
    if (!d->server)
      return ACTR_ETIMEOUT;
  }
  int rc = actr_ws_conn_lane(d->client, type, tx);
  if (rc == ACTR_OK)
    rc = actr_ws_conn_lane(d->server, type, rx);
  if (rc != ACTR_OK) {
    actr_lane_unref(*tx);
    *tx = NULL;
  }
  return rc;
}

static void ws_demo_done(ws_demo_t *d) {
  actr_ws_conn_unref(d->client);
  actr_ws_conn_unref(d->server);
  actr_ws_server_free(d->srv);
  if (d->accepted) {
    actr_ws_conn_t *c;
    while ((c = g_async_queue_try_pop(d->accepted)))
      actr_ws_conn_unref(c);
    g_async_queue_unref(d->accepted);
  }
  if (d->rt)
    actr_runtime_unref(d->rt);
}

/* The DataChannel lanes: two WebRTC peer connections in this process, ICE
 * on 127.0.0.1 only, joined by the in-process signaling pair; one runtime. */
typedef struct rtc_demo {
  actr_runtime_t *rt;
  actr_signaling_t *sa, *sb;
  actr_webrtc_link_t *a, *b;
} rtc_demo_t;

static const char *const demo_loopback[] = {"127.0.0.1"};

static int rtc_open_pair(void *ctx, actr_payload_type_t type, actr_lane_t **tx, actr_lane_t **rx) {
  rtc_demo_t *d = ctx;
  *tx = *rx = NULL;
  int rc = ACTR_OK;
  if (!d->a) {
    actr_webrtc_link_config_t cfg;
    actr_webrtc_link_config_init(&cfg);
    cfg.webrtc.local_addresses = demo_loopback;
    cfg.webrtc.local_address_count = 1;
    if ((rc = actr_runtime_new(&d->rt)) != ACTR_OK ||
        (rc = actr_signaling_pair_new(&d->sa, &d->sb)) != ACTR_OK ||
        (rc = actr_webrtc_link_new(d->rt, &cfg, d->sb, false, &d->b)) != ACTR_OK ||
        (rc = actr_webrtc_link_new(d->rt, &cfg, d->sa, true, &d->a)) != ACTR_OK ||
        (rc = actr_webrtc_link_wait_connected(d->a, 20000)) != ACTR_OK)
      return rc;
  }
  rc = actr_webrtc_link_lane(d->a, type, tx); /* the offering side opens the channel */
  if (rc == ACTR_OK)
    rc = actr_webrtc_link_lane(d->b, type, rx);
  if (rc != ACTR_OK) {
    actr_lane_unref(*tx);
    *tx = NULL;
  }
  return rc;
}

static void rtc_demo_done(rtc_demo_t *d) {
  actr_webrtc_link_free(d->a);
  actr_webrtc_link_free(d->b);
  actr_signaling_free(d->sa);
  actr_signaling_free(d->sb);
  if (d->rt)
    actr_runtime_unref(d->rt);
}

int tool_demo(int argc, char **argv) {
  (void)argc;
  (void)argv;
  ws_demo_t ws = {0};
  rtc_demo_t rtc = {0};
  demo_kind_t kinds[] = {
    {"Mpsc", ACTR_LANE_KIND_INPROC, true, inproc_open_pair, NULL},
    {"WebSocket", ACTR_LANE_KIND_WEBSOCKET, false, ws_open_pair, &ws},
    {"WebRtcDataChannel", ACTR_LANE_KIND_DATACHANNEL, false, rtc_open_pair, &rtc},
  };
  printf("actr-lane demo: every lane kind, every payload type it carries, sizes 0 B .. 4 MiB,\n"
         "each message's bytes checked on arrival; latency is one-way (send call to receipt).\n\n");
  fflush(stdout);
  bool ok = true;
  tool_report_t reports[G_N_ELEMENTS(kinds) * ACTR_PAYLOAD_TYPE_COUNT];
  size_t nrep = 0;
  for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++)
    for (int t = 0; t < ACTR_PAYLOAD_TYPE_COUNT; t++) {
      if (!(actr_payload_type_lanes(t) & kinds[k].lane_bit))
        continue;
      char name[64];
      snprintf(name, sizeof name, "%s/%s", kinds[k].name, actr_payload_type_name(t));
      tool_report_init(&reports[nrep], name);
      run_one(&kinds[k], t, &reports[nrep], &ok);
      nrep++;
    }
  ws_demo_done(&ws);
  rtc_demo_done(&rtc);
  tool_progress("done");
  fprintf(stderr, "\n");
  tool_report_print_header();
  uint64_t msgs = 0, errs = 0;
  for (size_t i = 0; i < nrep; i++) {
    tool_report_print(&reports[i]);
    msgs += reports[i].messages;
    errs += reports[i].errors;
    tool_report_free(&reports[i]);
  }
  printf("\n%s: %llu messages checked, %llu errors\n", ok ? "PASS" : "FAIL",
         (unsigned long long)msgs, (unsigned long long)errs);
  return ok ? 0 : 1;
}
