/* Fuzz target: the secret key file (v1 and v2) and public key file parsers. */
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
    /* An accepted ring (v1 or v2) holds 1..HV_KEYRING_MAX distinct sets. */
    hv_keyring *ring = NULL;
    if (hv_keys_parse_ring((const char *)data, size, &ring, NULL, &e) == HV_OK) {
        size_t n = hv_keyring_count(ring);
        if (n == 0 || n > HV_KEYRING_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if (hv_keyring_index(ring, hv_keypair_public(hv_keyring_at(ring, i))->key_id) !=
                (int)i)
                abort();
        hv_keyring_free(&ring);
    }
    /* Accepted public keys are always usable ones. */
    if (hv_keys_parse_public((const char *)data, size, &pub, NULL, &e) == HV_OK &&
        !hv_pubkeys_valid(&pub))
        abort();
    return 0;
}
