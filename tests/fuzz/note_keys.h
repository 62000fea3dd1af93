/* The fixed parties of the note fuzz target and its seed (make_seeds.c):
 * intake ngo.xa and provider shelter.xc, keys from fixed seeds, one
 * referral id. Test code only. */
#ifndef HV_FUZZ_NOTE_KEYS_H
#define HV_FUZZ_NOTE_KEYS_H

#include <stdlib.h>
#include <string.h>

#include "hv_crypto.h"
#include "hv_keyring.h"
#include "hv_registry.h"

static const uint8_t s_note_referral[16] = {0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                            0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42};

/* A node and the ring of its keys (from seeds base, base+16, base+32). */
static void s_note_party(uint8_t base, const char *id, hv_node *node, hv_keyring **ring)
{
    uint8_t s[3][32];
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 32; i++)
            s[k][i] = (uint8_t)(base + 16 * k + i);
    hv_keypair *kp = NULL;
    if (hv_keypair_from_seeds(&kp, s[0], s[1], s[2]) != HV_OK)
        abort();
    memset(node, 0, sizeof *node);
    snprintf(node->id, sizeof node->id, "%s", id);
    node->keys = *hv_keypair_public(kp);
    if (hv_keyring_from_keypair(ring, &kp) != HV_OK)
        abort();
}

#endif
