/* Fuzz target: application message bodies. The first byte picks the
 * envelope type the body is read as; anything accepted must re-encode to
 * the same bytes (the encoding is canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_envelope.h"
#include "hv_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static hv_msg m;
    /* What a worker reads back from its own store: never more than that. */
    if (hv_msg_decode_stored(data + 1, size - 1, data[0], &m) == HV_OK && m.type == HV_MSG_OFFER &&
        m.summary.n_exclude != 0)
        abort();
    if (hv_msg_decode(data + 1, size - 1, data[0], &m) != HV_OK)
        return 0;
    uint8_t *again = NULL;
    size_t len = 0;
    if (hv_msg_encode(&m, &again, &len) != HV_OK || len != size - 1 ||
        memcmp(again, data + 1, len) != 0)
        abort();
    free(again);
    return 0;
}
