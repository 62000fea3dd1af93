/* BATCH frames, built in place; see hv_control_batch.h and
 * proto/PROTOCOL.md §5.7. */
#include "hv_control_batch.h"

#include <stdlib.h>
#include <string.h>

/* Room kept before the elements for the longest header: fixarray of 3,
 * the version, the command (positive fixints) and an array16 of parts. */
#define S_HEAD 6
/* A buffer larger than this is freed at clear rather than kept. */
#define S_KEEP 16384

/* Length of the shortest msgpack bin header for `len` bytes. */
static size_t s_bin_head(size_t len)
{
    return len <= 0xff ? 2 : len <= 0xffff ? 3 : 5;
}

static void s_put_bin_head(uint8_t *p, size_t len)
{
    if (len <= 0xff) {
        p[0] = 0xc4;
        p[1] = (uint8_t)len;
    } else if (len <= 0xffff) {
        p[0] = 0xc5;
        p[1] = (uint8_t)(len >> 8);
        p[2] = (uint8_t)len;
    } else {
        p[0] = 0xc6;
        p[1] = (uint8_t)(len >> 24);
        p[2] = (uint8_t)(len >> 16);
        p[3] = (uint8_t)(len >> 8);
        p[4] = (uint8_t)len;
    }
}

hv_err hv_control_batch_add(hv_control_batch *b, const hv_control *m, size_t max_bytes)
{
    if (!hv_control_batchable(m->cmd))
        return HV_EINVAL;
    if (max_bytes > HV_CONTROL_BATCH_BYTES)
        max_bytes = HV_CONTROL_BATCH_BYTES;
    uint8_t *enc;
    size_t enc_len;
    hv_err err = hv_control_encode(m, &enc, &enc_len);
    if (err != HV_OK)
        return err;
    size_t used = b->len > 0 ? b->len : S_HEAD;
    size_t need = used + s_bin_head(enc_len) + enc_len;
    if (need > max_bytes || b->n == HV_CONTROL_BATCH_MAX) {
        free(enc);
        return HV_ETOOBIG;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *grown = realloc(b->buf, cap);
        if (grown == NULL) {
            free(enc);
            return HV_ENOMEM;
        }
        b->buf = grown;
        b->cap = cap;
    }
    s_put_bin_head(b->buf + used, enc_len);
    memcpy(b->buf + used + s_bin_head(enc_len), enc, enc_len);
    if (b->n == 0) {
        b->first = used + s_bin_head(enc_len);
        b->first_len = enc_len;
    }
    b->len = need;
    b->n++;
    free(enc);
    return HV_OK;
}

bool hv_control_batch_empty(const hv_control_batch *b) { return b->n == 0; }

uint32_t hv_control_batch_count(const hv_control_batch *b) { return b->n; }

void hv_control_batch_frame(hv_control_batch *b, const uint8_t **frame, size_t *len)
{
    if (b->n == 1) {
        *frame = b->buf + b->first;
        *len = b->first_len;
        return;
    }
    /* [version, BATCH, [parts...]]: the header ends where the parts begin. */
    size_t head = b->n <= 15 ? 4 : 6;
    uint8_t *p = b->buf + S_HEAD - head;
    p[0] = 0x93;
    p[1] = HV_PROTO_VERSION;
    p[2] = HV_CMD_BATCH;
    if (b->n <= 15) {
        p[3] = (uint8_t)(0x90 | b->n);
    } else {
        p[3] = 0xdc;
        p[4] = (uint8_t)(b->n >> 8);
        p[5] = (uint8_t)b->n;
    }
    *frame = p;
    *len = b->len - (S_HEAD - head);
}

void hv_control_batch_clear(hv_control_batch *b)
{
    if (b->cap > S_KEEP) {
        hv_control_batch_free(b);
        return;
    }
    b->len = 0;
    b->n = 0;
}

void hv_control_batch_free(hv_control_batch *b)
{
    free(b->buf);
    memset(b, 0, sizeof *b);
}
