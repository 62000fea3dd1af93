/* Fuzz target: the registry's JSON source reader (keys_file references are
 * refused here: no file access from fuzz input). */
#include <stdint.h>
#include <stdlib.h>

#include "hv_registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready)
        ready = hv_crypto_init() == HV_OK;
    hv_registry *reg = NULL;
    hv_errmsg e;
    if (hv_registry_from_json((const char *)data, size, NULL, &reg, &e) == HV_OK) {
        uint8_t *payload = NULL;
        size_t len = 0;
        hv_registry *again = NULL;
        /* What the source reader accepts, the signed form must carry. */
        if (hv_registry_encode_payload(reg, &payload, &len) != HV_OK ||
            hv_registry_decode_payload(payload, len, &again, &e) != HV_OK)
            abort();
        free(payload);
        hv_registry_free(&again);
    }
    hv_registry_free(&reg);
    return 0;
}
