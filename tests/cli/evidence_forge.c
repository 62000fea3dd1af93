/* A test tool, built only with the tests: re-signs one item of an evidence
 * bundle (common/hv_evidence_bundle.h) with another node's signing key, as
 * a node that wanted to put words in another's mouth would.
 *   evidence_forge BUNDLE ITEM KEY_FILE OUT
 * ITEM is 1-based; the item's header and body digest are left as they are
 * (they still name the genuine sender), its signature becomes KEY_FILE's
 * over them. Writes the bundle to OUT. Exit: 0 written, 2 usage or error. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_crypto.h"
#include "hv_evidence_bundle.h"
#include "hv_keys.h"

int main(int argc, char **argv)
{
    if (argc != 5 || hv_crypto_init() != HV_OK) {
        fprintf(stderr, "usage: evidence_forge BUNDLE ITEM KEY_FILE OUT\n");
        return 2;
    }
    hv_keypair *kp = NULL;
    hv_errmsg e = {""};
    json_error_t je;
    json_t *b = json_load_file(argv[1], JSON_DECODE_ANY, &je);
    long n = strtol(argv[2], NULL, 10);
    json_t *it = b ? json_array_get(json_object_get(b, "items"), (size_t)(n - 1)) : NULL;
    if (it == NULL || hv_keys_load_secret(argv[3], &kp, NULL, &e) != HV_OK) {
        fprintf(stderr, "evidence_forge: %s\n", it == NULL ? "no such item" : e.text);
        json_decref(b);
        return 2;
    }
    const char *hex = json_string_value(json_object_get(it, "header"));
    const char *bd_hex = json_string_value(json_object_get(it, "body_digest"));
    uint8_t header[HV_EVIDENCE_HEADER_MAX], bd[HV_BODY_DIGEST_BYTES], sig[HV_SIG_BYTES];
    size_t hlen = hex ? strlen(hex) / 2 : 0;
    int rc = 2;
    if (hlen == 0 || hlen > sizeof header || hv_unhex(hex, header, hlen) != HV_OK ||
        bd_hex == NULL || hv_unhex(bd_hex, bd, sizeof bd) != HV_OK) {
        fprintf(stderr, "evidence_forge: item %ld has no header or digest\n", n);
        goto done;
    }
    hv_seal_sign_digest(kp, header, hlen, bd, sig);
    char sig_hex[2 * HV_SIG_BYTES + 1];
    hv_hex(sig, sizeof sig, sig_hex);
    json_object_set_new(it, "signature", json_string(sig_hex));
    if (json_dump_file(b, argv[4], JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        fprintf(stderr, "evidence_forge: cannot write %s\n", argv[4]);
        goto done;
    }
    rc = 0;
done:
    hv_keypair_free(&kp);
    json_decref(b);
    return rc;
}
