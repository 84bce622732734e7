/** @file
 * actr/identity.h — who an actor is in an actr realm: its type
 * (ActrType, "manufacturer:name:version") and its id (ActrId,
 * "<serial hex>@<realm>/<manufacturer>:<name>:<version>"), as values with
 * their string forms (docs/actr-realm.md §2).
 *
 * Plain values: no allocation, copy them with `=`.  Every function may be
 * called from any thread. */
#ifndef ACTR_IDENTITY_H
#define ACTR_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <actr/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Bounds: a manufacturer or a name is 1..32 bytes (actr's rule); a version
 * is 1..ACTR_ACTOR_VERSION_MAX bytes (actr has no bound; ours fits the
 * value type). */
#define ACTR_ACTOR_NAME_MAX 32
/** The longest version of an ActrType, in bytes (see the bounds above). */
#define ACTR_ACTOR_VERSION_MAX 64
/** The longest string form of an ActrId, with its NUL. */
#define ACTR_ACTOR_ID_STRING_MAX (16 + 1 + 10 + 1 + 2 * ACTR_ACTOR_NAME_MAX + 2 + ACTR_ACTOR_VERSION_MAX + 1)
/** The longest string form of an ActrType, with its NUL. */
#define ACTR_ACTOR_TYPE_STRING_MAX (2 * ACTR_ACTOR_NAME_MAX + 2 + ACTR_ACTOR_VERSION_MAX + 1)

/** actr_actor_type_t: ActrType.  manufacturer and name: ASCII letters,
 * digits, '-', '_', '.', beginning with a letter and ending with a letter
 * or digit (actr also takes non-ASCII letters; libactr refuses them).
 * version: any UTF-8 without ':' or control characters. */
typedef struct actr_actor_type {
  char manufacturer[ACTR_ACTOR_NAME_MAX + 1]; /**< e.g. "acme" (NUL-terminated) */
  char name[ACTR_ACTOR_NAME_MAX + 1];         /**< e.g. "echo" (NUL-terminated) */
  char version[ACTR_ACTOR_VERSION_MAX + 1];   /**< e.g. "1.0" (NUL-terminated) */
} actr_actor_type_t;

/** actr_actor_id_t: ActrId, given by AIS at registration. */
typedef struct actr_actor_id {
  uint32_t realm_id;      /**< the realm the actor registered in */
  uint64_t serial;        /**< the serial number AIS gave, unique in the realm */
  actr_actor_type_t type; /**< what the actor is */
} actr_actor_id_t;

/** actr_actor_type_parse: "manufacturer:name:version" into *@p out.
 * ACTR_EINVALID_ARGUMENT with the reason in actr_err_detail(): not three
 * parts ("version required" for two), a part empty, too long or with a
 * character the rules above refuse. */
ACTR_API int actr_actor_type_parse(const char *s, actr_actor_type_t *out);

/** actr_actor_type_format: the string form into @p buf of @p size bytes
 * (ACTR_ACTOR_TYPE_STRING_MAX is always enough).  ACTR_EINVALID_ARGUMENT
 * when @p t is not valid, ACTR_EMESSAGE_TOO_LARGE when @p buf is too small. */
ACTR_API int actr_actor_type_format(const actr_actor_type_t *t, char *buf, size_t size);

/** actr_actor_id_parse: "<serial>@<realm>/<type>" into *@p out.  The serial is
 * hexadecimal (either case, leading zeros and one leading '+' accepted, as
 * actr does), the realm decimal; the first '@' and the first '/' split.
 * ACTR_EINVALID_ARGUMENT with the reason. */
ACTR_API int actr_actor_id_parse(const char *s, actr_actor_id_t *out);

/** actr_actor_id_format: the canonical string form (lowercase hex serial
 * without padding, e.g. "1a@101/acme:echo:1.0") into @p buf
 * (ACTR_ACTOR_ID_STRING_MAX is always enough).  Codes as
 * actr_actor_type_format. */
ACTR_API int actr_actor_id_format(const actr_actor_id_t *id, char *buf, size_t size);

/** actr_actor_type_equal / actr_actor_id_equal: same value (NULL equals only
 * NULL). */
ACTR_API bool actr_actor_type_equal(const actr_actor_type_t *a, const actr_actor_type_t *b);
/** actr_actor_id_equal: see actr_actor_type_equal. */
ACTR_API bool actr_actor_id_equal(const actr_actor_id_t *a, const actr_actor_id_t *b);

#ifdef __cplusplus
}
#endif
#endif
