/* signal_msg.c — the JSON signaling messages of SPEC §5 (offer, answer,
 * candidate, end of candidates, error): strict decoding with bounds, and
 * encoding.  JSON parsing is json-glib's; what the fields must be is ours. */
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <actr/signaling.h>

#include "error_internal.h"
#include "json_check.h"

/* The longest error message read or written (bytes of UTF-8). */
#define MAX_ERROR_MESSAGE 4096u

/* utf8_ok: @s is valid UTF-8 (JSON text must be, and so must a WebSocket
 * text frame: ws_tx.c refuses one that is not). */
static bool utf8_ok(const char *s) { return g_utf8_validate(s, -1, NULL); }

void actr_signaling_msg_clear(actr_signaling_msg_t *msg) {
  if (!msg)
    return;
  free(msg->sdp);
  free(msg->candidate);
  free(msg->sdp_mid);
  free(msg->message);
  memset(msg, 0, sizeof *msg);
  msg->sdp_mline_index = -1;
}

/* get_string: member @name of @obj as a copied string, bounded by @max.
 * Missing: *@out NULL and ACTR_OK unless @required. */
static int get_string(JsonObject *obj, const char *name, size_t max, bool required, char **out) {
  *out = NULL;
  JsonNode *node = json_object_get_member(obj, name);
  if (!node || JSON_NODE_HOLDS_NULL(node)) {
    if (required)
      return actr__fail(ACTR_ESIGNALING, "signaling: missing \"%s\"", name);
    return ACTR_OK;
  }
  if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
    return actr__fail(ACTR_ESIGNALING, "signaling: \"%s\" must be a string", name);
  const char *s = json_node_get_string(node);
  size_t len = strlen(s);
  if (len > max)
    return actr__fail(ACTR_ESIGNALING, "signaling: \"%s\" is %zu bytes (limit %zu)", name, len, max);
  *out = strdup(s);
  return *out ? ACTR_OK : actr__fail(ACTR_ENO_MEMORY, "signaling string");
}

static int parse_object(JsonObject *obj, actr_signaling_msg_t *out) {
  char *type = NULL;
  int rc = get_string(obj, "type", 32, true, &type);
  if (rc != ACTR_OK)
    return rc;
  if (strcmp(type, "offer") == 0 || strcmp(type, "answer") == 0) {
    out->kind = type[0] == 'o' ? ACTR_SIGNALING_OFFER : ACTR_SIGNALING_ANSWER;
    rc = get_string(obj, "sdp", ACTR_SIGNALING_MAX_SDP, true, &out->sdp);
  } else if (strcmp(type, "candidate") == 0) {
    rc = get_string(obj, "candidate", ACTR_SIGNALING_MAX_CANDIDATE, true, &out->candidate);
    if (rc == ACTR_OK)
      rc = get_string(obj, "sdpMid", 64, false, &out->sdp_mid);
    if (rc == ACTR_OK) {
      JsonNode *idx = json_object_get_member(obj, "sdpMLineIndex");
      if (idx && !JSON_NODE_HOLDS_NULL(idx)) {
        if (!JSON_NODE_HOLDS_VALUE(idx) || json_node_get_value_type(idx) != G_TYPE_INT64 ||
            json_node_get_int(idx) < 0 || json_node_get_int(idx) > 1024)
          rc = actr__fail(ACTR_ESIGNALING, "signaling: \"sdpMLineIndex\" must be an integer 0..1024");
        else
          out->sdp_mline_index = (int)json_node_get_int(idx);
      }
    }
    if (rc == ACTR_OK)
      out->kind = out->candidate[0] ? ACTR_SIGNALING_CANDIDATE : ACTR_SIGNALING_END_OF_CANDIDATES;
  } else if (strcmp(type, "error") == 0) {
    out->kind = ACTR_SIGNALING_ERROR;
    rc = get_string(obj, "message", MAX_ERROR_MESSAGE, true, &out->message);
  } else {
    rc = actr__fail(ACTR_ESIGNALING, "signaling: unknown type \"%.32s\"", type);
  }
  free(type);
  return rc;
}

int actr_signaling_msg_parse(const char *json, size_t len, actr_signaling_msg_t *out) {
  if (!out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "out is NULL");
  memset(out, 0, sizeof *out);
  out->sdp_mline_index = -1;
  if (!json)
    return actr__fail(ACTR_ESIGNALING, "signaling: no message");
  if (len > ACTR_SIGNALING_MAX_JSON)
    return actr__fail(ACTR_ESIGNALING, "signaling: message of %zu bytes (limit %u)", len,
                      ACTR_SIGNALING_MAX_JSON);
  if (memchr(json, '\0', len))
    return actr__fail(ACTR_ESIGNALING, "signaling: NUL byte in message");
  /* Before json-glib: it recurses per nesting level, accepts escapes JSON
   * does not have, and takes time quadratic in an object's members. */
  int checked = actr__json_check(json, len, ACTR__SIGNAL_MAX_DEPTH, ACTR__SIGNAL_MAX_MEMBERS);
  if (checked != ACTR_OK)
    return checked;
  JsonParser *parser = json_parser_new_immutable();
  GError *err = NULL;
  int rc;
  if (!json_parser_load_from_data(parser, json, (gssize)len, &err)) {
    rc = actr__fail(ACTR_ESIGNALING, "signaling: not JSON: %s", err->message);
    g_error_free(err);
  } else {
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
      rc = actr__fail(ACTR_ESIGNALING, "signaling: message is not a JSON object");
    else
      rc = parse_object(json_node_get_object(root), out);
  }
  g_object_unref(parser);
  if (rc != ACTR_OK)
    actr_signaling_msg_clear(out);
  return rc;
}

int actr_signaling_msg_to_json(const actr_signaling_msg_t *msg, char **out) {
  if (!msg || !out)
    return actr__fail(ACTR_EINVALID_ARGUMENT, "NULL argument");
  *out = NULL;
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  int rc = ACTR_OK;
  switch (msg->kind) {
  case ACTR_SIGNALING_OFFER:
  case ACTR_SIGNALING_ANSWER:
    if (!msg->sdp || !utf8_ok(msg->sdp)) {
      rc = actr__fail(ACTR_EINVALID_ARGUMENT, "offer/answer without sdp, or not UTF-8");
      break;
    }
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, msg->kind == ACTR_SIGNALING_OFFER ? "offer" : "answer");
    json_builder_set_member_name(b, "sdp");
    json_builder_add_string_value(b, msg->sdp);
    break;
  case ACTR_SIGNALING_CANDIDATE:
  case ACTR_SIGNALING_END_OF_CANDIDATES:
    if (msg->kind == ACTR_SIGNALING_CANDIDATE && (!msg->candidate || !msg->candidate[0])) {
      rc = actr__fail(ACTR_EINVALID_ARGUMENT, "candidate message without candidate");
      break;
    }
    if ((msg->kind == ACTR_SIGNALING_CANDIDATE && !utf8_ok(msg->candidate)) ||
        (msg->sdp_mid && !utf8_ok(msg->sdp_mid))) {
      rc = actr__fail(ACTR_EINVALID_ARGUMENT, "candidate or sdpMid not UTF-8");
      break;
    }
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, "candidate");
    json_builder_set_member_name(b, "candidate");
    json_builder_add_string_value(b, msg->kind == ACTR_SIGNALING_CANDIDATE ? msg->candidate : "");
    if (msg->sdp_mid) {
      json_builder_set_member_name(b, "sdpMid");
      json_builder_add_string_value(b, msg->sdp_mid);
    }
    if (msg->sdp_mline_index >= 0) {
      json_builder_set_member_name(b, "sdpMLineIndex");
      json_builder_add_int_value(b, msg->sdp_mline_index);
    }
    break;
  case ACTR_SIGNALING_ERROR: {
    /* The message is often an error detail that quotes the peer, cut by a
     * %.Ns inside a character: it goes out cut to its longest valid UTF-8
     * prefix (and to MAX_ERROR_MESSAGE bytes), so that the error still
     * reaches the peer. */
    const char *m = msg->message ? msg->message : "";
    const char *valid_end;
    g_utf8_validate(m, (gssize)strnlen(m, MAX_ERROR_MESSAGE), &valid_end);
    gchar *cut = g_strndup(m, (gsize)(valid_end - m));
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, "error");
    json_builder_set_member_name(b, "message");
    json_builder_add_string_value(b, cut);
    g_free(cut);
    break;
  }
  default:
    rc = actr__fail(ACTR_EINVALID_ARGUMENT, "unknown signaling kind %d", (int)msg->kind);
  }
  if (rc == ACTR_OK) {
    json_builder_end_object(b);
    JsonGenerator *gen = json_generator_new();
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    gchar *text = json_generator_to_data(gen, NULL);
    *out = strdup(text);
    g_free(text);
    json_node_unref(root);
    g_object_unref(gen);
    if (!*out)
      rc = actr__fail(ACTR_ENO_MEMORY, "signaling JSON");
  }
  g_object_unref(b);
  return rc;
}
