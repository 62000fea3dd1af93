/* Fuzz target: the signed registry container and its payload decoder (the
 * signature check would stop random input before the payload, so the
 * payload decoder is driven directly too). An accepted payload must
 * re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready)
        ready = hv_crypto_init() == HV_OK;
    hv_registry *reg = NULL;
    hv_errmsg e;
    if (hv_registry_decode_unverified(data, size, &reg, &e) == HV_OK)
        hv_registry_free(&reg);
    if (hv_registry_decode_payload(data, size, &reg, &e) != HV_OK)
        return 0;
    uint8_t *again = NULL;
    size_t len = 0;
    if (hv_registry_encode_payload(reg, &again, &len) != HV_OK || len != size ||
        memcmp(again, data, size) != 0)
        abort();
    free(again);
    for (size_t i = 0; i < hv_registry_count(reg); i++) {
        const hv_node *n = hv_registry_node(reg, i);
        if (hv_registry_find(reg, n->id) == NULL)
            abort();
    }
    hv_registry_free(&reg);
    return 0;
}
