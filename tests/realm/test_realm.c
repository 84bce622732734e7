/* test_realm.c — an actr node's identity: ActrType / ActrId string forms,
 * and registration with AIS (our test actrix, tests/realm/test_actrix.py,
 * on 127.0.0.1) in both dialects, refused and unreachable cases, an
 * HTTP server that answers what AIS never would, and one that drips a TLS
 * record. */
#include <gio/gio.h>
#include <glib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <actr/ais.h>
#include <actr/error.h>
#include <actr/identity.h>

#include "actrix_fixture.h"

#define ASSERT_OK(expr) g_assert_cmpstr(actr_err_name(expr), ==, "OK")
#define ASSERT_RC(expr, name) g_assert_cmpstr(actr_err_name(expr), ==, name)

/* ---- identity ---- */

static void test_type_forms(void) {
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse("acme:echo-service:1.0.0", &t));
  g_assert_cmpstr(t.manufacturer, ==, "acme");
  g_assert_cmpstr(t.name, ==, "echo-service");
  g_assert_cmpstr(t.version, ==, "1.0.0");
  char buf[ACTR_ACTOR_TYPE_STRING_MAX];
  ASSERT_OK(actr_actor_type_format(&t, buf, sizeof buf));
  g_assert_cmpstr(buf, ==, "acme:echo-service:1.0.0");
  ASSERT_RC(actr_actor_type_format(&t, buf, 10), "MESSAGE_TOO_LARGE");
  ASSERT_OK(actr_actor_type_parse("a.b_c-d:X9:v1+build.7", &t));

  static const char *bad[] = {
      "", "acme", "acme:echo", "acme:echo:1:2", ":echo:1", "acme::1", "acme:echo:",
      "1acme:echo:1", "acme-:echo:1", "acme:ec ho:1", "acme:echo!:1", "acme:_echo:1",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:echo:1", /* 33 bytes */
      "acme:echo:1\n", "acme:\xc3\xa9" "cho:1",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    if (actr_actor_type_parse(bad[i], &t) != ACTR_EINVALID_ARGUMENT)
      g_error("accepted ActrType '%s'", bad[i]);
  ASSERT_RC(actr_actor_type_parse("acme:echo", &t), "INVALID_ARGUMENT");
  g_assert_nonnull(strstr(actr_err_detail(), "version required"));
}

static void test_id_forms(void) {
  actr_actor_id_t id;
  ASSERT_OK(actr_actor_id_parse("1a2b3c@101/acme:echo-service:1.0.0", &id));
  g_assert_cmpuint(id.serial, ==, 0x1a2b3c);
  g_assert_cmpuint(id.realm_id, ==, 101);
  g_assert_cmpstr(id.type.name, ==, "echo-service");
  char buf[ACTR_ACTOR_ID_STRING_MAX];
  ASSERT_OK(actr_actor_id_format(&id, buf, sizeof buf));
  g_assert_cmpstr(buf, ==, "1a2b3c@101/acme:echo-service:1.0.0");
  /* What actr's parser takes: either case, leading zeros, one '+'. */
  actr_actor_id_t same;
  ASSERT_OK(actr_actor_id_parse("+001A2B3C@+0101/acme:echo-service:1.0.0", &same));
  g_assert_true(actr_actor_id_equal(&id, &same));
  ASSERT_OK(actr_actor_id_parse("ffffffffffffffff@4294967295/a:b:c", &id));
  g_assert_cmpuint(id.serial, ==, UINT64_MAX);
  ASSERT_OK(actr_actor_id_format(&id, buf, sizeof buf));
  g_assert_cmpstr(buf, ==, "ffffffffffffffff@4294967295/a:b:c");
  /* The first '@' and the first '/' split: a version may hold '/' and '@'. */
  ASSERT_OK(actr_actor_id_parse("1@2/a:b:v/1@x", &id));
  g_assert_cmpstr(id.type.version, ==, "v/1@x");

  static const char *bad[] = {
      "", "1a", "1a@101", "@101/a:b:c", "1a@/a:b:c", "1g@101/a:b:c", "0x1a@101/a:b:c",
      "10000000000000000@1/a:b:c", "1@4294967296/a:b:c", "1@-1/a:b:c", "++1@1/a:b:c",
      "1@1/a:b", "1@1/a:b:c:d", " 1@1/a:b:c", "1@1 /a:b:c",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    if (actr_actor_id_parse(bad[i], &id) != ACTR_EINVALID_ARGUMENT)
      g_error("accepted ActrId '%s'", bad[i]);
  g_assert_false(actr_actor_id_equal(NULL, &same));
  g_assert_true(actr_actor_id_equal(NULL, NULL));
}

/* ---- AIS ---- */

static actr_actor_type_t type_of(const char *s) {
  actr_actor_type_t t;
  ASSERT_OK(actr_actor_type_parse(s, &t));
  return t;
}

static void test_register_both_dialects(void) {
  for (int d = 0; d < 2; d++) {
    const char *args[] = {"--dialect", d ? "0.3" : "0.5", "--realm-secret", "s3cret", NULL};
    actrix_t a;
    actrix_start(&a, args);
    actr_actor_type_t t = type_of("acme:echo-client:1.0.0");
    actr_ais_options_t opts = {.realm_secret = "s3cret", .timeout_ms = 10000};
    actr_credential_t *c1, *c2;
    ASSERT_OK(actr_ais_register(a.ais, &t, 101, &opts, &c1));
    ASSERT_OK(actr_ais_register(a.ais, &t, 101, &opts, &c2));
    const actr_actor_id_t *id1 = actr_credential_actor_id(c1), *id2 = actr_credential_actor_id(c2);
    g_assert_cmpuint(id1->realm_id, ==, 101);
    g_assert_true(actr_actor_type_equal(&id1->type, &t));
    g_assert_cmpuint(id1->serial, !=, id2->serial);
    g_assert_cmpuint(actr_credential_expires_at(c1), >, (uint64_t)(g_get_real_time() / 1000000));
    g_assert_cmpuint(actr_credential_heartbeat_secs(c1), >, 0);
    const char *user, *pass;
    uint64_t turn_exp;
    actr_credential_turn(c1, &user, &pass, &turn_exp);
    g_assert_nonnull(user);
    g_assert_nonnull(pass);
    if (d == 0) { /* 0.5: a renewal token; renewing keeps the ActrId */
      g_assert_true(actr_credential_can_renew(c1));
      actr_actor_id_t before = *id1;
      ASSERT_OK(actr_ais_renew(a.ais, &opts, c1));
      g_assert_true(actr_actor_id_equal(actr_credential_actor_id(c1), &before));
      /* actr_ais_renew_new: a new credential, the old one untouched and
       * still whole (other threads may be reading it), and renewable. */
      uint64_t exp = actr_credential_expires_at(c1);
      actr_credential_turn(c1, &user, &pass, NULL);
      char *user_before = g_strdup(user);
      actr_credential_t *c4 = (actr_credential_t *)&c4;
      ASSERT_OK(actr_ais_renew_new(a.ais, &opts, c1, &c4));
      g_assert_true(c4 != c1);
      g_assert_true(actr_actor_id_equal(actr_credential_actor_id(c4), &before));
      g_assert_true(actr_actor_id_equal(actr_credential_actor_id(c1), &before));
      g_assert_cmpuint(actr_credential_expires_at(c1), ==, exp);
      actr_credential_turn(c1, &user, &pass, NULL);
      g_assert_cmpstr(user, ==, user_before);
      g_assert_true(actr_credential_can_renew(c4));
      g_free(user_before);
      actr_credential_free(c4);
      c4 = (actr_credential_t *)&c4; /* refused: *out is NULL, nothing to free */
      ASSERT_RC(actr_ais_renew_new(a.ais, &opts, NULL, &c4), "INVALID_ARGUMENT");
      g_assert_null(c4);
    } else { /* 0.3: register again instead */
      g_assert_false(actr_credential_can_renew(c1));
      ASSERT_RC(actr_ais_renew(a.ais, &opts, c1), "INVALID_OPERATION");
      actr_credential_t *c4 = (actr_credential_t *)&c4;
      ASSERT_RC(actr_ais_renew_new(a.ais, &opts, c1, &c4), "INVALID_OPERATION");
      g_assert_null(c4);
    }
    /* A wrong realm secret, and none: refused, nothing returned. */
    actr_credential_t *c3 = (actr_credential_t *)&c3;
    actr_ais_options_t wrong = {.realm_secret = "nope", .timeout_ms = 10000};
    ASSERT_RC(actr_ais_register(a.ais, &t, 101, &wrong, &c3), "PERMISSION_DENIED");
    g_assert_null(c3);
    ASSERT_RC(actr_ais_register(a.ais, &t, 101, NULL, &c3), "PERMISSION_DENIED");
    actr_credential_free(c1);
    actr_credential_free(c2);
    actrix_stop(&a);
  }
}

/* An AIS started with @args answers a register of acme:late:1 in realm 7
 * with a credential we refuse: PROTOCOL, the detail says @why. */
static void expect_refused(const char **args, const char *why) {
  actrix_t a;
  actrix_start(&a, args);
  actr_actor_type_t t = type_of("acme:late:1");
  actr_ais_options_t opts = {.timeout_ms = 10000};
  actr_credential_t *c = (actr_credential_t *)&c;
  ASSERT_RC(actr_ais_register(a.ais, &t, 7, &opts, &c), "PROTOCOL");
  if (!strstr(actr_err_detail(), why))
    g_error("'%s' does not say '%s'", actr_err_detail(), why);
  g_assert_null(c);
  actrix_stop(&a);
}

/* A credential that has expired by the time it arrives (AIS's clock or
 * lifetime gone wrong: here a lifetime of -5 s) is refused with a clear
 * error, in both dialects.  Kept, a 0.3 node registered again at every pass
 * of its control loop, a new ActrId each second. */
static void test_register_expired_refused(void) {
  for (int d = 0; d < 2; d++) {
    const char *args[] = {"--dialect", d ? "0.3" : "0.5", "--credential-ttl-secs", "-5", NULL};
    expect_refused(args, "expired");
  }
}

/* An AIS that registers another type than the one asked for (before: the
 * node took it and served under a type nobody asked it to be). */
static void test_register_other_type_refused(void) {
  const char *args[] = {"--answer-type", "acme:other:1", NULL};
  expect_refused(args, "acme:other:1");
}

static void test_register_unreachable(void) {
  /* A port nobody listens on: a bound socket that is never listened on. */
  GSocket *s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0, NULL);
  GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  GSocketAddress *sa = g_inet_socket_address_new(lo, 0);
  g_assert_true(g_socket_bind(s, sa, FALSE, NULL));
  GInetSocketAddress *bound = G_INET_SOCKET_ADDRESS(g_socket_get_local_address(s, NULL));
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/ais", g_inet_socket_address_get_port(bound));
  actr_actor_type_t t = type_of("acme:echo:1");
  actr_credential_t *c;
  ASSERT_RC(actr_ais_register(url, &t, 1, NULL, &c), "CONNECTION");
  actr_ais_options_t longest = {.timeout_ms = INT_MAX}; /* no overflow in its arithmetic (UBSan) */
  ASSERT_RC(actr_ais_register(url, &t, 1, &longest, &c), "CONNECTION");
  ASSERT_RC(actr_ais_register("ftp://127.0.0.1/ais", &t, 1, NULL, &c), "URL_PARSE");
  actr_actor_type_t bad = t;
  bad.name[0] = '-';
  ASSERT_RC(actr_ais_register(url, &bad, 1, NULL, &c), "INVALID_ARGUMENT");
  g_object_unref(bound);
  g_object_unref(sa);
  g_object_unref(lo);
  g_object_unref(s);
}

/* A server that answers every connection with one canned reply. */
typedef struct canned {
  GSocketService *svc;
  const char *reply;
  size_t reply_len;
  guint16 port;
  GMainContext *ctx;
  GMainLoop *loop;
  GThread *thread;
} canned_t;

static gboolean on_incoming(GSocketService *svc, GSocketConnection *conn, GObject *src,
                            gpointer user) {
  canned_t *c = user;
  GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
  char buf[4096];
  gssize n = g_input_stream_read(in, buf, sizeof buf, NULL, NULL); /* the request (small) */
  (void)n;
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
  g_output_stream_write_all(out, c->reply, c->reply_len, NULL, NULL, NULL);
  /* The end of the reply; then read what is left of the request until the
   * client closes: closing with it unread would reset the connection, and
   * the client would see a reset instead of the end of a cut-short reply. */
  g_socket_shutdown(g_socket_connection_get_socket(conn), FALSE, TRUE, NULL);
  while (g_input_stream_read(in, buf, sizeof buf, NULL, NULL) > 0)
    ;
  g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
  return TRUE;
}

static gpointer canned_main(gpointer p) {
  canned_t *c = p;
  g_main_context_push_thread_default(c->ctx);
  g_main_loop_run(c->loop);
  g_main_context_pop_thread_default(c->ctx);
  return NULL;
}

static void canned_start(canned_t *c, const char *reply, size_t len) {
  memset(c, 0, sizeof *c);
  c->reply = reply;
  c->reply_len = len;
  c->ctx = g_main_context_new();
  c->loop = g_main_loop_new(c->ctx, FALSE);
  g_main_context_push_thread_default(c->ctx);
  c->svc = g_socket_service_new();
  GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  GSocketAddress *sa = g_inet_socket_address_new(lo, 0), *eff = NULL;
  g_assert_true(g_socket_listener_add_address(G_SOCKET_LISTENER(c->svc), sa, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, NULL, &eff, NULL));
  c->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(eff));
  g_signal_connect(c->svc, "incoming", G_CALLBACK(on_incoming), c);
  g_socket_service_start(c->svc);
  g_main_context_pop_thread_default(c->ctx);
  g_object_unref(eff);
  g_object_unref(sa);
  g_object_unref(lo);
  c->thread = g_thread_new("canned", canned_main, c);
}

static void canned_stop(canned_t *c) {
  g_main_loop_quit(c->loop);
  g_thread_join(c->thread);
  g_socket_service_stop(c->svc);
  g_socket_listener_close(G_SOCKET_LISTENER(c->svc));
  g_object_unref(c->svc);
  g_main_loop_unref(c->loop);
  g_main_context_unref(c->ctx);
}

static void test_register_hostile_answers(void) {
  static const struct {
    const char *reply;
    const char *code;
    const char *detail; /* in actr_err_detail(), when set */
  } cases[] = {
      {"", "PROTOCOL", NULL},
      {"SSH-2.0-OpenSSH\r\n\r\n", "PROTOCOL", NULL},
      {"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", "CONNECTION", NULL},
      {"HTTP/1.1 403 No\r\nContent-Length: 0\r\n\r\n", "PERMISSION_DENIED", NULL},
      {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", "PROTOCOL", NULL},
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "PROTOCOL", NULL}, /* cut short */
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n\xff\xff\xff", "PROTOCOL", NULL},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "PROTOCOL", NULL},
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "PROTOCOL", NULL}, /* no result */
      {"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "PROTOCOL", "Content-Length"},
      {"HTTP/1.1 200 OK\r\n\r\n", "PROTOCOL", "no result"}, /* read to the end: empty */
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "PROTOCOL",
       "middle of the body"},
      /* RegisterResponse{error{code 401, message "expired"}}, chunked. */
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
       "4\r\n\x12\x0c\x08\x91\r\na\r\n\x03\x12\x07" "expired\r\n0\r\n\r\n", "AUTHENTICATION", NULL},
  };
  actr_actor_type_t t = type_of("acme:echo:1");
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    canned_t c;
    canned_start(&c, cases[i].reply, strlen(cases[i].reply)); /* no NUL in any reply */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/ais/", c.port);
    actr_credential_t *cred = (actr_credential_t *)&cred;
    actr_ais_options_t opts = {.timeout_ms = 5000};
    int rc = actr_ais_register(url, &t, 1, &opts, &cred);
    if (strcmp(actr_err_name(rc), cases[i].code) != 0)
      g_error("case %zu: %s (%s), expected %s", i, actr_err_name(rc), actr_err_detail(),
              cases[i].code);
    if (cases[i].detail && !strstr(actr_err_detail(), cases[i].detail))
      g_error("case %zu: '%s' does not say '%s'", i, actr_err_detail(), cases[i].detail);
    g_assert_null(cred);
    canned_stop(&c);
  }
}

/* A server that takes the TLS ClientHello, announces a record of 16 KiB
 * and then sends one byte of it every 100 ms, for at most 30 s: each byte
 * restarts the client's socket timeout. */
typedef struct drip {
  GSocket *listener;
  guint16 port;
  gboolean client_left; /* the client closed first (before the 30 s) */
  GThread *thread;
} drip_t;

static gpointer drip_main(gpointer p) {
  drip_t *d = p;
  GSocket *s = g_socket_accept(d->listener, NULL, NULL);
  g_assert_nonnull(s);
  char hello[4096];
  g_assert_cmpint(g_socket_receive(s, hello, sizeof hello, NULL, NULL), >, 0);
  static const char head[] = {0x16, 0x03, 0x03, 0x40, 0x00}; /* handshake, 16384 bytes */
  g_assert_cmpint(g_socket_send(s, head, sizeof head, NULL, NULL), ==, sizeof head);
  for (int i = 0; i < 300; i++) {
    if (g_socket_condition_timed_wait(s, G_IO_IN, 100 * 1000, NULL, NULL)) {
      d->client_left = TRUE; /* its close (or a TLS alert before it) */
      break;
    }
    if (g_socket_send(s, "", 1, NULL, NULL) != 1) {
      d->client_left = TRUE;
      break;
    }
  }
  g_socket_close(s, NULL);
  g_object_unref(s);
  return NULL;
}

static void test_register_https_drip(void) {
  drip_t d = {0};
  d.listener = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0, NULL);
  GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  GSocketAddress *sa = g_inet_socket_address_new(lo, 0);
  g_assert_true(g_socket_bind(d.listener, sa, FALSE, NULL));
  g_assert_true(g_socket_listen(d.listener, NULL));
  GInetSocketAddress *bound =
      G_INET_SOCKET_ADDRESS(g_socket_get_local_address(d.listener, NULL));
  d.port = g_inet_socket_address_get_port(bound);
  d.thread = g_thread_new("drip", drip_main, &d);
  char url[64];
  snprintf(url, sizeof url, "https://127.0.0.1:%u/ais/", d.port);
  actr_actor_type_t t = type_of("acme:echo:1");
  actr_credential_t *cred = (actr_credential_t *)&cred;
  actr_ais_options_t opts = {.timeout_ms = 1000};
  /* Before the watchdog: the handshake's read waited for the whole record,
   * so the call returned (ECONNECTION) only when the server gave up. */
  ASSERT_RC(actr_ais_register(url, &t, 1, &opts, &cred), "TIMEOUT");
  g_assert_null(cred);
  g_thread_join(d.thread);
  g_assert_true(d.client_left);
  g_object_unref(bound);
  g_object_unref(sa);
  g_object_unref(lo);
  g_socket_close(d.listener, NULL);
  g_object_unref(d.listener);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/realm/identity/type-forms", test_type_forms);
  g_test_add_func("/realm/identity/id-forms", test_id_forms);
  g_test_add_func("/realm/ais/register-both-dialects", test_register_both_dialects);
  g_test_add_func("/realm/ais/expired-refused", test_register_expired_refused);
  g_test_add_func("/realm/ais/other-type-refused", test_register_other_type_refused);
  g_test_add_func("/realm/ais/unreachable", test_register_unreachable);
  g_test_add_func("/realm/ais/hostile-answers", test_register_hostile_answers);
  g_test_add_func("/realm/ais/https-drip", test_register_https_drip);
  return g_test_run();
}
