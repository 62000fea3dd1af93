/* Notes sealed end to end through a third party; see hv_note.h. */
#include "hv_note.h"

#include <string.h>

#define S_CONTEXT "haven/note/v1"
#define S_HEADER_MAX (sizeof S_CONTEXT - 1 + 16 + 2 * (HV_NODE_ID_MAX + 1) + 2 * HV_KEY_ID_BYTES)

/* The associated data both ends compute; returns its length. */
static size_t s_header(uint8_t out[S_HEADER_MAX], const uint8_t referral[16], const char *from,
                       const char *to, const uint8_t rcpt_kid[HV_KEY_ID_BYTES],
                       const uint8_t sender_kid[HV_KEY_ID_BYTES])
{
    size_t n = 0, f = strlen(from) + 1, t = strlen(to) + 1;
    memcpy(out + n, S_CONTEXT, sizeof S_CONTEXT - 1);
    n += sizeof S_CONTEXT - 1;
    memcpy(out + n, referral, 16);
    n += 16;
    memcpy(out + n, from, f);
    n += f;
    memcpy(out + n, to, t);
    n += t;
    memcpy(out + n, rcpt_kid, HV_KEY_ID_BYTES);
    n += HV_KEY_ID_BYTES;
    memcpy(out + n, sender_kid, HV_KEY_ID_BYTES);
    return n + HV_KEY_ID_BYTES;
}

hv_err hv_note_seal(const hv_keyring *ring, const hv_node *self, const hv_node *to,
                    const uint8_t referral[16], const char *text, uint8_t *out, size_t cap,
                    size_t *len)
{
    *len = 0;
    size_t text_len = strlen(text);
    if (text_len > HV_MSG_TEXT_MAX)
        return HV_EINVAL;
    if (cap < HV_NOTE_OVERHEAD + text_len)
        return HV_ETOOBIG;
    const hv_keypair *kp = hv_keyring_current(ring, self);
    if (kp == NULL || strlen(self->id) > HV_NODE_ID_MAX || strlen(to->id) > HV_NODE_ID_MAX)
        return HV_ECRYPTO;
    const uint8_t *sender_kid = hv_keypair_public(kp)->key_id;
    uint8_t header[S_HEADER_MAX];
    size_t header_len = s_header(header, referral, self->id, to->id, to->keys.key_id, sender_kid);
    uint8_t *p = out;
    memcpy(p, to->keys.key_id, HV_KEY_ID_BYTES);
    memcpy(p + HV_KEY_ID_BYTES, sender_kid, HV_KEY_ID_BYTES);
    uint8_t *sig = p + 2 * HV_KEY_ID_BYTES, *body = sig + HV_SIG_BYTES;
    size_t body_len = 0;
    hv_err err = hv_seal(kp, to->keys.box, header, header_len, (const uint8_t *)text, text_len,
                         body, cap - (size_t)(body - out), &body_len, sig);
    if (err != HV_OK)
        return err;
    *len = (size_t)(body - out) + body_len;
    return HV_OK;
}

hv_err hv_note_open(const hv_keyring *ring, const hv_node *self, const hv_node *from,
                    const uint8_t referral[16], const uint8_t *note, size_t len, uint64_t now,
                    char *out, size_t cap)
{
    if (len < HV_NOTE_OVERHEAD || len > HV_NOTE_SEALED_MAX || cap < HV_MSG_TEXT_MAX + 1)
        return HV_EDECODE;
    const uint8_t *rcpt_kid = note, *sender_kid = note + HV_KEY_ID_BYTES;
    const uint8_t *sig = note + 2 * HV_KEY_ID_BYTES, *body = sig + HV_SIG_BYTES;
    size_t body_len = len - (size_t)(body - note);
    if (body_len - HV_SEAL_OVERHEAD > HV_MSG_TEXT_MAX)
        return HV_EDECODE;
    const hv_keypair *kp = hv_keyring_for_kid(ring, self, rcpt_kid, now);
    const hv_pubkeys *sender = hv_node_keys_by_id(from, sender_kid, now, NULL);
    if (kp == NULL || sender == NULL)
        return HV_ECRYPTO;
    uint8_t header[S_HEADER_MAX];
    size_t header_len = s_header(header, referral, from->id, self->id, rcpt_kid, sender_kid);
    char text[HV_MSG_TEXT_MAX + 1];
    size_t text_len = 0;
    hv_err err = hv_open(kp, sender->sign, header, header_len, body, body_len, sig,
                         (uint8_t *)text, sizeof text - 1, &text_len);
    if (err == HV_OK && memchr(text, '\0', text_len) != NULL)
        err = HV_EINVAL;
    if (err == HV_OK) {
        memcpy(out, text, text_len);
        out[text_len] = '\0';
    }
    hv_memzero(text, sizeof text);
    return err;
}
