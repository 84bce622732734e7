/** @file
 * actr/envelope.h — RpcEnvelope (proto2 message actr.RpcEnvelope, SPEC §1.2):
 * build, read, encode, decode, free.
 *
 * An actr_envelope_t owns all its strings and bytes.  Setters copy their
 * arguments.  Fields unknown to this version survive decode + encode + copy,
 * at every level (nested error and metadata entries too).  Strings are valid
 * UTF-8 without NUL bytes, both ways: the Rust peer (prost) rejects invalid
 * UTF-8, and a C string cannot carry a NUL.  None of
 * these functions is synchronised: one thread uses an envelope at a time
 * (the in-process lane hands it from one thread to another). */
#ifndef ACTR_ENVELOPE_H
#define ACTR_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <actr/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_envelope_t: an RpcEnvelope (one owner: actr_envelope_free). */
typedef struct actr_envelope actr_envelope_t;

/** actr_envelope_direction_t: field 4 (later actr versions). */
typedef enum actr_envelope_direction {
  ACTR_ENVELOPE_DIRECTION_UNSPECIFIED = 0, /**< not said */
  ACTR_ENVELOPE_DIRECTION_REQUEST = 1,     /**< a request that expects a response */
  ACTR_ENVELOPE_DIRECTION_RESPONSE = 2,    /**< the response to a request */
  ACTR_ENVELOPE_DIRECTION_TELL = 3         /**< a request that is never answered */
} actr_envelope_direction_t;

/** actr_envelope_new: an envelope with the required fields set: @p route_key,
 * @p request_id (both non-NULL, copied) and @p timeout_ms.  Optional fields are
 * absent.  *@p out is (transfer full).  ACTR_EINVALID_ARGUMENT, ACTR_ENO_MEMORY. */
ACTR_API int actr_envelope_new(const char *route_key, const char *request_id,
                               int64_t timeout_ms, actr_envelope_t **out);

/** actr_envelope_copy: a deep copy of @p env (unknown fields included); *@p out
 * is (transfer full).  ACTR_EINVALID_ARGUMENT, ACTR_ENO_MEMORY. */
ACTR_API int actr_envelope_copy(const actr_envelope_t *env, actr_envelope_t **out);

/** actr_envelope_free: release @p env and everything it owns (NULL: no-op). */
ACTR_API void actr_envelope_free(actr_envelope_t *env);

/** @name Setters
 * Setters: copy their arguments; NULL clears an optional field.  Return
 * ACTR_OK, ACTR_EINVALID_ARGUMENT (NULL @p env, NULL for a required field, a
 * string that is not UTF-8, invalid enum) or ACTR_ENO_MEMORY; on failure the
 * envelope is unchanged.  A getter's result may be passed back to a setter. */
/** @{ */
/** actr_envelope_set_route_key: set the route key (required). */
ACTR_API int actr_envelope_set_route_key(actr_envelope_t *env, const char *route_key);
/** actr_envelope_set_request_id: set the request id (required). */
ACTR_API int actr_envelope_set_request_id(actr_envelope_t *env, const char *request_id);
/** actr_envelope_set_timeout_ms: set the timeout (required). */
ACTR_API int actr_envelope_set_timeout_ms(actr_envelope_t *env, int64_t timeout_ms);
/** actr_envelope_set_payload: @p payload may be NULL with @p len 0 to clear; a
 * non-NULL @p payload with @p len 0 sets an empty (present) payload. */
ACTR_API int actr_envelope_set_payload(actr_envelope_t *env, const void *payload, size_t len);
/** actr_envelope_set_error: set (or replace) the error; @p message is required
 * (NULL: ACTR_EINVALID_ARGUMENT); actr_envelope_clear_error() removes it. */
ACTR_API int actr_envelope_set_error(actr_envelope_t *env, uint32_t code, const char *message);
/** actr_envelope_clear_error: remove the error (see actr_envelope_set_error). */
ACTR_API int actr_envelope_clear_error(actr_envelope_t *env);
/** actr_envelope_set_direction: set the direction (optional). */
ACTR_API int actr_envelope_set_direction(actr_envelope_t *env, actr_envelope_direction_t dir);
/** actr_envelope_set_traceparent: set the W3C traceparent (optional). */
ACTR_API int actr_envelope_set_traceparent(actr_envelope_t *env, const char *traceparent);
/** actr_envelope_set_tracestate: set the W3C tracestate (optional). */
ACTR_API int actr_envelope_set_tracestate(actr_envelope_t *env, const char *tracestate);
/** actr_envelope_add_metadata: append one entry (repeated field; order kept);
 * ACTR_EMESSAGE_TOO_LARGE once ACTR_ENVELOPE_MAX_METADATA entries are there. */
ACTR_API int actr_envelope_add_metadata(actr_envelope_t *env, const char *key, const char *value);
/** @} */

/** @name Getters
 * Getters: (transfer none), valid until the field is changed or @p env freed. */
/** @{ */
/** actr_envelope_route_key: the route key. */
ACTR_API const char *actr_envelope_route_key(const actr_envelope_t *env);
/** actr_envelope_request_id: the request id. */
ACTR_API const char *actr_envelope_request_id(const actr_envelope_t *env);
/** actr_envelope_timeout_ms: the timeout. */
ACTR_API int64_t actr_envelope_timeout_ms(const actr_envelope_t *env);
/** actr_envelope_payload: true if present; *@p data / *@p len set (may be NULL).
 * A present empty payload gives a non-NULL *@p data and *@p len 0. */
ACTR_API bool actr_envelope_payload(const actr_envelope_t *env, const uint8_t **data, size_t *len);
/** actr_envelope_error: true if present; *@p code / *@p message set (may be NULL). */
ACTR_API bool actr_envelope_error(const actr_envelope_t *env, uint32_t *code, const char **message);
/** actr_envelope_direction: true if present; *@p dir set (may be NULL).  A
 * decoded value may be one this version has no name for (proto2 enum). */
ACTR_API bool actr_envelope_direction(const actr_envelope_t *env, actr_envelope_direction_t *dir);
/** actr_envelope_traceparent: NULL when absent. */
ACTR_API const char *actr_envelope_traceparent(const actr_envelope_t *env);
/** actr_envelope_tracestate: NULL when absent. */
ACTR_API const char *actr_envelope_tracestate(const actr_envelope_t *env);
/** actr_envelope_metadata_count: the number of metadata entries. */
ACTR_API size_t actr_envelope_metadata_count(const actr_envelope_t *env);
/** actr_envelope_metadata_at: entry @p i (< count); ACTR_EINVALID_ARGUMENT past the end. */
ACTR_API int actr_envelope_metadata_at(const actr_envelope_t *env, size_t i,
                                       const char **key, const char **value);
/** @} */

/** actr_envelope_encoded_size: the exact protobuf size of @p env. */
ACTR_API size_t actr_envelope_encoded_size(const actr_envelope_t *env);

/** actr_envelope_encode_to: write the protobuf encoding into @p buf of @p cap
 * bytes; *@p written gets the length.  ACTR_EMESSAGE_TOO_LARGE if @p cap is
 * smaller than actr_envelope_encoded_size(). */
ACTR_API int actr_envelope_encode_to(const actr_envelope_t *env, uint8_t *buf, size_t cap,
                                     size_t *written);

/** actr_envelope_encode: a malloc'd buffer (transfer full, release with free())
 * holding the encoding; *@p len its size. */
ACTR_API int actr_envelope_encode(const actr_envelope_t *env, uint8_t **out, size_t *len);

/** What a decoded envelope may hold beyond its known scalar fields, so that
 * memory stays in proportion to the bytes received (64 MiB of 2-byte unknown
 * fields would otherwise cost gigabytes of bookkeeping).  Unknown fields are
 * counted over the whole envelope, nested messages included. */
#define ACTR_ENVELOPE_MAX_UNKNOWN_FIELDS 64u
#define ACTR_ENVELOPE_MAX_UNKNOWN_BYTES (64u * 1024u) /**< bytes of unknown fields (see above) */
#define ACTR_ENVELOPE_MAX_METADATA 1024u              /**< metadata entries (see above) */

/** actr_envelope_decode: parse @p len bytes.  Malformed bytes, a missing
 * required field (nested messages included), a string field that is not
 * UTF-8 or holds a NUL, more unknown fields or metadata entries than the
 * limits above give ACTR_EDESERIALIZATION with the field and offset in
 * actr_err_detail(), never a crash; ACTR_ENO_MEMORY.  *@p out is (transfer
 * full), NULL on failure. */
ACTR_API int actr_envelope_decode(const void *data, size_t len, actr_envelope_t **out);

/** actr_envelope_equal: true if both encode to the same bytes (both NULL:
 * true; one NULL: false). */
ACTR_API bool actr_envelope_equal(const actr_envelope_t *a, const actr_envelope_t *b);

#ifdef __cplusplus
}
#endif
#endif
