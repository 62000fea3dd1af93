/* Prekey bundle codec and checks; proto/PROTOCOL.md §4.1. */
#include "hv_prekey.h"

#include <stdlib.h>
#include <string.h>

#include "hv_envelope.h"
#include "hv_mp.h"
#include "hv_registry.h"

#define S_FIELDS 9 /* the array, signature included */
#define S_PREKEY_ID_CONTEXT "haven/prekey-id/v1"

void hv_prekey_id(const uint8_t box_pk[HV_PK_BYTES], uint8_t out[HV_PREKEY_ID_BYTES])
{
    uint8_t in[sizeof S_PREKEY_ID_CONTEXT + HV_PK_BYTES], h[32];
    memcpy(in, S_PREKEY_ID_CONTEXT, sizeof S_PREKEY_ID_CONTEXT);
    memcpy(in + sizeof S_PREKEY_ID_CONTEXT, box_pk, HV_PK_BYTES);
    hv_hash256(in, sizeof in, h);
    memcpy(out, h, HV_PREKEY_ID_BYTES);
}

static bool s_valid(const hv_prekey_bundle *b)
{
    return hv_node_id_valid_cstr(b->node) && b->not_before < b->not_after &&
           b->not_after <= b->destroy_at && b->destroy_at <= HV_PREKEY_TIME_MAX;
}

/* Writes the signed part (the first eight elements) or, with `sig`, the
 * whole bundle. */
static hv_err s_write(const hv_prekey_bundle *b, bool sig, uint8_t **out, size_t *len)
{
    if (!s_valid(b))
        return HV_EINVAL;
    hv_mp_writer w;
    hv_err err = hv_mp_writer_init(&w);
    if (err != HV_OK)
        return err;
    hv_mp_write_array(&w, sig ? S_FIELDS : S_FIELDS - 1);
    hv_mp_write_uint(&w, HV_PREKEY_VERSION);
    hv_mp_write_cstr(&w, b->node);
    hv_mp_write_bin(&w, b->key_id, HV_KEY_ID_BYTES);
    hv_mp_write_bin(&w, b->prekey_id, HV_PREKEY_ID_BYTES);
    hv_mp_write_bin(&w, b->box_pk, HV_PK_BYTES);
    hv_mp_write_uint(&w, b->not_before);
    hv_mp_write_uint(&w, b->not_after);
    hv_mp_write_uint(&w, b->destroy_at);
    if (sig)
        hv_mp_write_bin(&w, b->sig, HV_SIG_BYTES);
    return hv_mp_writer_take(&w, out, len);
}

hv_err hv_prekey_sign(hv_prekey_bundle *b, const hv_keypair *kp)
{
    uint8_t *tbs = NULL;
    size_t len = 0;
    hv_err err = s_write(b, false, &tbs, &len);
    if (err != HV_OK)
        return err;
    hv_sign(kp, HV_PREKEY_CONTEXT, tbs, len, b->sig);
    free(tbs);
    return HV_OK;
}

hv_err hv_prekey_encode(const hv_prekey_bundle *b, uint8_t **out, size_t *len)
{
    return s_write(b, true, out, len);
}

hv_err hv_prekey_decode(const uint8_t *buf, size_t len, hv_prekey_bundle *out)
{
    if (len > HV_PREKEY_BUNDLE_MAX)
        return HV_ETOOBIG;
    hv_mp_reader r;
    hv_mp_reader_init(&r, buf, len);
    uint32_t n;
    uint64_t v;
    hv_err err;
    memset(out, 0, sizeof *out);
#define S_TRY(expr)                                                                            \
    do {                                                                                       \
        if ((err = (expr)) != HV_OK)                                                           \
            return err;                                                                        \
    } while (0)
    S_TRY(hv_mp_read_array(&r, &n));
    if (n < 1)
        return HV_EDECODE;
    S_TRY(hv_mp_read_uint(&r, &v));
    if (v != HV_PREKEY_VERSION)
        return HV_EVERSION;
    if (n != S_FIELDS)
        return HV_EDECODE;
    S_TRY(hv_mp_read_cstr(&r, out->node, sizeof out->node));
    if (!hv_node_id_valid_cstr(out->node))
        return HV_EDECODE;
    S_TRY(hv_mp_read_bin_exact(&r, out->key_id, HV_KEY_ID_BYTES));
    S_TRY(hv_mp_read_bin_exact(&r, out->prekey_id, HV_PREKEY_ID_BYTES));
    S_TRY(hv_mp_read_bin_exact(&r, out->box_pk, HV_PK_BYTES));
    S_TRY(hv_mp_read_uint_max(&r, HV_PREKEY_TIME_MAX, &out->not_before));
    S_TRY(hv_mp_read_uint_max(&r, HV_PREKEY_TIME_MAX, &out->not_after));
    S_TRY(hv_mp_read_uint_max(&r, HV_PREKEY_TIME_MAX, &out->destroy_at));
    S_TRY(hv_mp_read_bin_exact(&r, out->sig, HV_SIG_BYTES));
    S_TRY(hv_mp_read_end(&r));
#undef S_TRY
    return s_valid(out) ? HV_OK : HV_EDECODE;
}

hv_err hv_prekey_verify(const hv_prekey_bundle *b, const hv_pubkeys *node_keys)
{
    if (memcmp(b->key_id, node_keys->key_id, HV_KEY_ID_BYTES) != 0)
        return HV_EADDRESS;
    uint8_t *tbs = NULL;
    size_t len = 0;
    hv_err err = s_write(b, false, &tbs, &len);
    if (err != HV_OK)
        return HV_ECRYPTO;
    err = hv_verify(node_keys->sign, HV_PREKEY_CONTEXT, tbs, len, b->sig);
    free(tbs);
    if (err != HV_OK)
        return HV_ECRYPTO;
    uint8_t id[HV_PREKEY_ID_BYTES];
    hv_prekey_id(b->box_pk, id);
    if (memcmp(id, b->prekey_id, sizeof id) != 0 || !hv_box_pk_valid(b->box_pk))
        return HV_ECRYPTO;
    return HV_OK;
}

bool hv_prekey_usable(const hv_prekey_bundle *b, uint64_t now)
{
    return b->not_before <= now && now < b->not_after;
}

void hv_prekey_schedule(uint64_t now, uint64_t lifetime_s, uint64_t keep_s,
                        uint64_t *not_before, uint64_t *not_after, uint64_t *destroy_at)
{
    if (lifetime_s == 0)
        lifetime_s = 1;
    if (keep_s > HV_TTL_MAX)
        keep_s = HV_TTL_MAX;
    *not_before = now;
    *not_after = now + 2 * lifetime_s;
    *destroy_at = *not_after + keep_s;
}

uint32_t hv_prekey_cap_ttl(const hv_prekey_bundle *b, uint64_t now_ms, uint32_t ttl_s)
{
    /* The broker expires an envelope at created_at + ttl; the secret must
     * outlive that by at least a second of rounding. */
    uint64_t now_s = now_ms / 1000 + 1;
    if (b->destroy_at <= now_s)
        return 0;
    uint64_t room = b->destroy_at - now_s;
    return room < ttl_s ? (uint32_t)room : ttl_s;
}

hv_err hv_prekey_verify_node(const hv_prekey_bundle *b, const hv_node *n, uint64_t now)
{
    const hv_pubkeys *keys = hv_node_keys_by_id(n, b->key_id, now, NULL);
    return hv_prekey_verify(b, keys != NULL ? keys : &n->keys);
}
