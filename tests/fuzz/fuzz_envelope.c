/* Fuzz target: the envelope decoder. Anything accepted must re-encode to
 * the very same bytes (the encoding is canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_envelope env;
    if (hv_envelope_decode(data, size, &env) != HV_OK)
        return 0;
    uint8_t *again = NULL;
    size_t len = 0;
    if (hv_envelope_encode(&env, &again, &len) != HV_OK || len != size ||
        memcmp(again, data, size) != 0)
        abort();
    free(again);
    return 0;
}
