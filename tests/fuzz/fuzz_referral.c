/* Fuzz target: referral file checking. A refusal always lists at least one
 * located error; an acceptance yields a summary the protocol can encode. */
#include <stdint.h>
#include <stdlib.h>

#include "hv_envelope.h"
#include "hv_referral.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hv_referral_check c;
    /* A fixed "now" (2026-11-22) keeps runs reproducible. */
    hv_err rc = hv_referral_check_text((const char *)data, size, 1795305600u, &c);
    if (rc != HV_OK) {
        if (rc != HV_ENOMEM && c.n_errors == 0)
            abort();
        for (size_t i = 0; i < c.n_errors; i++)
            if (c.errors[i].line < 1 || c.errors[i].text[0] == '\0')
                abort();
        return 0;
    }
    hv_msg m = {.type = HV_MSG_REFERRAL_REQUEST, .summary = c.summary};
    uint8_t *body = NULL;
    size_t len = 0;
    if (hv_msg_encode(&m, &body, &len) != HV_OK)
        abort();
    free(body);
    return 0;
}
