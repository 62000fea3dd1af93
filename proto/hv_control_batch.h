/* Building BATCH frames (proto/PROTOCOL.md §5.7): commands added one by
 * one, then sent as one frame, so that several SENDs, STOREDs, DELIVERs or
 * ACKs cross CurveZMQ as one message: one encryption, one ZMTP frame, one
 * wake-up instead of one each. A batch of one command is sent as that
 * command alone, so that a quiet link sends exactly what it did before
 * batches. The bytes are those hv_control_encode gives for the same BATCH.
 *
 * The broker keeps one per session, the client one per connection;
 * whoever adds flushes before it waits, and before it sends anything that
 * may not travel in a batch, so that the order of frames is kept. */
#ifndef HV_CONTROL_BATCH_H
#define HV_CONTROL_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_control.h"

/* A batch being filled. Lives inside its owner's struct, so it is
 * exposed; fields are private. All zeros is an empty batch. */
typedef struct hv_control_batch {
    uint8_t *buf;      /* header room, then the elements (bin strings) */
    size_t len;        /* bytes used, header room included */
    size_t cap;        /* bytes allocated */
    uint32_t n;        /* commands added */
    size_t first;      /* offset of the first command's bytes */
    size_t first_len;  /* their length */
} hv_control_batch;

/* Appends `m`, which must be batchable (hv_control_batchable), keeping the
 * frame at most `max_bytes` (at most HV_CONTROL_BATCH_BYTES). Returns HV_OK;
 * HV_ETOOBIG when it does not fit with what is there (flush, then add it
 * again) or would not fit in an empty batch either (send it alone);
 * HV_EINVAL for a command that may not be batched or does not encode;
 * HV_ENOMEM. `m` stays the caller's; its bytes are copied. */
HV_MUST_CHECK hv_err hv_control_batch_add(hv_control_batch *b, const hv_control *m,
                                          size_t max_bytes);

/* Whether nothing was added since the last clear. */
bool hv_control_batch_empty(const hv_control_batch *b);

/* How many commands were added. */
uint32_t hv_control_batch_count(const hv_control_batch *b);

/* The frame to send: a BATCH, or the only command when there is one.
 * Borrowed: valid until the next add, clear or free. The batch must not
 * be empty. */
void hv_control_batch_frame(hv_control_batch *b, const uint8_t **frame, size_t *len);

/* Empties the batch after its frame was sent (or is given up); a buffer
 * grown large is let go so that an idle session holds little memory. */
void hv_control_batch_clear(hv_control_batch *b);

/* Frees the buffer; the batch is empty again. Safe twice. */
void hv_control_batch_free(hv_control_batch *b);

#endif
