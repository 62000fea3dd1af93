/* Fuzz target: the evidence bundle's parser and verifier
 * (common/hv_evidence_bundle.h). An accepted bundle is verified with the
 * authority key of make_seeds (its "verifies" seed passes), and every item
 * it accepted must write back the header bytes it was read from. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_evidence_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hv_keypair *authority;
    if (authority == NULL) {
        uint8_t s[3][32];
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 32; i++)
                s[k][i] = (uint8_t)(180 + 16 * k + i); /* make_seeds' authority */
        if (hv_crypto_init() != HV_OK ||
            hv_keypair_from_seeds(&authority, s[0], s[1], s[2]) != HV_OK)
            abort();
    }
    hv_evidence_bundle *b = NULL;
    hv_errmsg e;
    if (hv_evidence_parse(data, size, &b, &e) != HV_OK)
        return 0;
    for (size_t i = 0; i < b->n_items; i++) {
        json_t *j = hv_evidence_item_json(&b->items[i]);
        char hex[2 * HV_EVIDENCE_HEADER_MAX + 1];
        hv_hex(b->items[i].header, b->items[i].header_len, hex);
        if (j == NULL || strcmp(json_string_value(json_object_get(j, "header")), hex) != 0)
            abort();
        json_decref(j);
    }
    size_t failed = 0;
    hv_err err = hv_evidence_verify(b, hv_keypair_public(authority)->sign, NULL, NULL, &failed,
                                    &e);
    if (err == HV_OK && failed != 0)
        abort();
    hv_evidence_bundle_free(&b);
    return 0;
}
