/* Fuzz target: a decline note sealed to the intake (services/common/
 * hv_note.h), as the intake opens one carried in a NO_MATCH. Whatever the
 * bytes, opening fails cleanly or yields a bounded text without a NUL. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_note.h"
#include "note_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hv_node intake, provider;
    static hv_keyring *ring, *provider_ring;
    if (ring == NULL) {
        if (hv_crypto_init() != HV_OK)
            abort();
        s_note_party(1, "ngo.xa", &intake, &ring);
        s_note_party(60, "shelter.xc", &provider, &provider_ring);
    }
    char text[HV_MSG_TEXT_MAX + 1];
    if (hv_note_open(ring, &intake, &provider, s_note_referral, data, size, 1795305600u, text,
                     sizeof text) != HV_OK)
        return 0;
    if (strlen(text) > HV_MSG_TEXT_MAX || size != HV_NOTE_OVERHEAD + strlen(text))
        abort();
    return 0;
}
