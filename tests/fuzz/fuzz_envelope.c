/* Fuzz target: the envelope decoder, and the header decoder evidence uses
 * (hv_envelope_decode_header). Anything accepted must re-encode to the
 * very same bytes (the encoding is canonical); an accepted envelope's
 * header decodes alone to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_envelope env, hdr;
    uint8_t *again = NULL;
    size_t len = 0;
    /* The input as a header alone. */
    if (hv_envelope_decode_header(data, size, &hdr) == HV_OK) {
        if (hv_envelope_encode_header(&hdr, &again, &len) != HV_OK || len != size ||
            memcmp(again, data, size) != 0)
            abort();
        free(again);
        again = NULL;
    }
    if (hv_envelope_decode(data, size, &env) != HV_OK)
        return 0;
    if (hv_envelope_encode(&env, &again, &len) != HV_OK || len != size ||
        memcmp(again, data, size) != 0)
        abort();
    free(again);
    if (hv_envelope_decode_header(env.header, env.header_len, &hdr) != HV_OK ||
        hdr.type != env.type || hdr.created_at_ms != env.created_at_ms ||
        memcmp(hdr.id, env.id, sizeof env.id) != 0 || strcmp(hdr.from, env.from) != 0 ||
        strcmp(hdr.to, env.to) != 0 || memcmp(hdr.from_kid, env.from_kid, 8) != 0)
        abort();
    return 0;
}
