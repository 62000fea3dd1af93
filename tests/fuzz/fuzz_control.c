/* Fuzz target: the broker control message decoder, and the envelope inside
 * SEND and DELIVER. Anything accepted must re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_control msg;
    if (hv_control_decode(data, size, &msg) != HV_OK)
        return 0;
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
    return 0;
}
