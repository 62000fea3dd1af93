/* Fuzz target: the broker control message decoder, the envelope inside
 * SEND and DELIVER, and the commands inside a BATCH as its receivers take
 * them out. Anything accepted must re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_one(const uint8_t *data, size_t size, int depth);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_one(data, size, 0);
    return 0;
}

static void s_one(const uint8_t *data, size_t size, int depth)
{
    hv_control msg;
    if (hv_control_decode(data, size, &msg) != HV_OK)
        return;
    uint8_t *again = NULL;
    size_t len = 0;
    if (hv_control_encode(&msg, &again, &len) != HV_OK || len != size ||
        memcmp(again, data, size) != 0)
        abort();
    free(again);
    if (msg.envelope != NULL) {
        hv_envelope env;
        uint8_t *inner = NULL;
        if (hv_envelope_decode(msg.envelope, msg.envelope_len, &env) == HV_OK) {
            if (hv_envelope_encode(&env, &inner, &len) != HV_OK || len != msg.envelope_len ||
                memcmp(inner, msg.envelope, len) != 0)
                abort();
            free(inner);
        }
    }
    if (msg.cmd == HV_CMD_BATCH) {
        /* The cursor must walk exactly n_parts elements; a receiver decodes
         * each (one level deep: a BATCH inside is refused there). */
        hv_control_parts it;
        const uint8_t *part;
        size_t part_len;
        uint32_t n = 0;
        hv_control_parts_init(&it, &msg);
        while (hv_control_parts_next(&it, &part, &part_len)) {
            n++;
            if (depth == 0)
                s_one(part, part_len, 1);
        }
        if (n != msg.n_parts)
            abort();
    }
}
