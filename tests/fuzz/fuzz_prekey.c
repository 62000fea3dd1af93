/* Fuzz target: the prekey bundle decoder (PROTOCOL §4.1), and the checks
 * a broker and a sender make of a decoded bundle. Anything accepted must
 * re-encode to the same bytes; verification against a fixed key must
 * never crash (a forged bundle fails, it does not read out of bounds). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_prekey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_prekey_bundle b;
    if (hv_prekey_decode(data, size, &b) != HV_OK)
        return 0;
    uint8_t *again = NULL;
    size_t len = 0;
    if (hv_prekey_encode(&b, &again, &len) != HV_OK || len != size ||
        memcmp(again, data, size) != 0)
        abort();
    free(again);
    static hv_pubkeys keys; /* all zero: no valid signing key */
    memcpy(keys.key_id, b.key_id, sizeof keys.key_id);
    if (hv_crypto_init() != HV_OK || hv_prekey_verify(&b, &keys) == HV_OK)
        abort();
    (void)hv_prekey_usable(&b, b.not_before);
    (void)hv_prekey_cap_ttl(&b, b.not_before * 1000, 3600);
    return 0;
}
