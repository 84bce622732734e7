/** @file
 * actr/msg.h — a received lane message: an immutable byte buffer.
 *
 * Lanes hand out messages as actr_msg_t so that a payload can point into the
 * buffer it arrived in (no copy to strip a header).  The caller owns each
 * actr_msg_t it receives and releases it with actr_msg_free(). */
#ifndef ACTR_MSG_H
#define ACTR_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <actr/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/** actr_msg_t: a received message (one owner: actr_msg_free). */
typedef struct actr_msg actr_msg_t;

/** actr_msg_new_copy: a message holding a copy of @p len bytes at @p data (@p data
 * may be NULL when @p len is 0).  *@p out is (transfer full).  ACTR_ENO_MEMORY. */
ACTR_API int actr_msg_new_copy(const void *data, size_t len, actr_msg_t **out);

/** actr_msg_data: the bytes (transfer none; valid until actr_msg_free).  Never
 * NULL, even for an empty message. */
ACTR_API const uint8_t *actr_msg_data(const actr_msg_t *msg);

/** actr_msg_len: the number of bytes. */
ACTR_API size_t actr_msg_len(const actr_msg_t *msg);

/** actr_msg_free: release @p msg (NULL is a no-op).  Any thread. */
ACTR_API void actr_msg_free(actr_msg_t *msg);

#ifdef __cplusplus
}
#endif
#endif
