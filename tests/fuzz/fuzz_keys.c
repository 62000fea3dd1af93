/* Fuzz target: the secret key file and public key file parsers. */
#include <stdint.h>
#include <stdlib.h>

#include "hv_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready)
        ready = hv_crypto_init() == HV_OK;
    hv_keypair *kp = NULL;
    hv_pubkeys pub;
    char id[65];
    hv_errmsg e = {""};
    if (hv_keys_parse_secret((const char *)data, size, &kp, id, &e) == HV_OK)
        hv_keypair_free(&kp);
    /* Accepted public keys are always usable ones. */
    if (hv_keys_parse_public((const char *)data, size, &pub, NULL, &e) == HV_OK &&
        !hv_pubkeys_valid(&pub))
        abort();
    return 0;
}
