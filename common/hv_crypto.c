/* End-to-end crypto and key pairs; construction in hv_crypto.h and
 * proto/PROTOCOL.md §4. */
#include "hv_crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define S_SEAL_KDF_CONTEXT "haven/e2e/v1"
#define S_SEAL_SIG_CONTEXT "haven/sig/v2"
#define S_KEY_ID_CONTEXT "haven/key-id/v1"

struct hv_keypair {
    uint8_t sign_seed[HV_SEED_BYTES];                   /* Ed25519 seed */
    uint8_t sign_sk[crypto_sign_ed25519_SECRETKEYBYTES]; /* expanded signing key */
    uint8_t box_sk[HV_SEED_BYTES];                      /* X25519 end-to-end secret */
    uint8_t transport_sk[HV_SEED_BYTES];                /* X25519 CurveZMQ secret */
    hv_pubkeys pub;                                     /* matching public keys */
};

hv_err hv_crypto_init(void) { return sodium_init() < 0 ? HV_ECRYPTO : HV_OK; }

void hv_key_id(const uint8_t sign[32], const uint8_t box[32], const uint8_t transport[32],
               uint8_t out[HV_KEY_ID_BYTES])
{
    crypto_generichash_state st;
    uint8_t h[32];
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *)S_KEY_ID_CONTEXT, sizeof S_KEY_ID_CONTEXT);
    crypto_generichash_update(&st, sign, 32);
    crypto_generichash_update(&st, box, 32);
    crypto_generichash_update(&st, transport, 32);
    crypto_generichash_final(&st, h, sizeof h);
    memcpy(out, h, HV_KEY_ID_BYTES);
}

hv_err hv_keypair_from_seeds(hv_keypair **out, const uint8_t sign_seed[32],
                             const uint8_t box_seed[32], const uint8_t transport_seed[32])
{
    hv_keypair *kp = sodium_malloc(sizeof *kp);
    if (kp == NULL)
        return HV_ENOMEM;
    memcpy(kp->sign_seed, sign_seed, HV_SEED_BYTES);
    memcpy(kp->box_sk, box_seed, HV_SEED_BYTES);
    memcpy(kp->transport_sk, transport_seed, HV_SEED_BYTES);
    crypto_sign_seed_keypair(kp->pub.sign, kp->sign_sk, kp->sign_seed);
    /* X25519 secrets are used as given (clamping happens inside scalarmult),
     * so the box and transport "seeds" are the secret keys themselves. */
    if (crypto_scalarmult_base(kp->pub.box, kp->box_sk) != 0 ||
        crypto_scalarmult_base(kp->pub.transport, kp->transport_sk) != 0) {
        hv_keypair_free(&kp);
        return HV_ECRYPTO;
    }
    hv_key_id(kp->pub.sign, kp->pub.box, kp->pub.transport, kp->pub.key_id);
    *out = kp;
    return HV_OK;
}

hv_err hv_keypair_generate(hv_keypair **out)
{
    uint8_t seeds[3][HV_SEED_BYTES];
    randombytes_buf(seeds, sizeof seeds);
    hv_err err = hv_keypair_from_seeds(out, seeds[0], seeds[1], seeds[2]);
    sodium_memzero(seeds, sizeof seeds);
    return err;
}

void hv_keypair_seeds(const hv_keypair *kp, uint8_t sign_seed[32], uint8_t box_seed[32],
                      uint8_t transport_seed[32])
{
    memcpy(sign_seed, kp->sign_seed, HV_SEED_BYTES);
    memcpy(box_seed, kp->box_sk, HV_SEED_BYTES);
    memcpy(transport_seed, kp->transport_sk, HV_SEED_BYTES);
}

const hv_pubkeys *hv_keypair_public(const hv_keypair *kp) { return &kp->pub; }

void hv_keypair_transport_secret_z85(const hv_keypair *kp, char out[HV_Z85_KEY_LEN + 1])
{
    hv_z85_key(kp->transport_sk, out);
}

void hv_keypair_free(hv_keypair **kp)
{
    if (kp == NULL || *kp == NULL)
        return;
    sodium_free(*kp); /* sodium_free wipes before unmapping */
    *kp = NULL;
}

bool hv_pubkeys_valid(const hv_pubkeys *pub)
{
    /* Any fixed scalar will do: libsodium refuses a low-order point because
     * the product would be all zeros. */
    static const uint8_t probe[32] = {9};
    uint8_t out[32];
    bool ok = crypto_core_ed25519_is_valid_point(pub->sign) == 1 &&
              crypto_scalarmult(out, probe, pub->box) == 0 &&
              crypto_scalarmult(out, probe, pub->transport) == 0;
    sodium_memzero(out, sizeof out);
    return ok;
}

/* Derives the sealing key from the X25519 shared secret. */
static hv_err s_seal_key(const uint8_t secret[32], const uint8_t public[32],
                         const uint8_t eph_pk[32], const uint8_t rcpt_pk[32],
                         uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES])
{
    uint8_t shared[crypto_scalarmult_BYTES];
    if (crypto_scalarmult(shared, secret, public) != 0)
        return HV_ECRYPTO; /* low-order point: the result would be all zeros */
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    crypto_generichash_update(&st, (const uint8_t *)S_SEAL_KDF_CONTEXT,
                              sizeof S_SEAL_KDF_CONTEXT);
    crypto_generichash_update(&st, shared, sizeof shared);
    crypto_generichash_update(&st, eph_pk, 32);
    crypto_generichash_update(&st, rcpt_pk, 32);
    crypto_generichash_final(&st, key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    sodium_memzero(shared, sizeof shared);
    sodium_memzero(&st, sizeof st);
    return HV_OK;
}

void hv_body_digest(const uint8_t *body, size_t body_len, uint8_t out[HV_BODY_DIGEST_BYTES])
{
    crypto_generichash(out, HV_BODY_DIGEST_BYTES, body, body_len, NULL, 0);
}

/* The 64-byte digest that a message signature covers: the header and the
 * body's digest, so that the signature outlives the body (PROTOCOL §4). */
static void s_sig_digest(const uint8_t *header, size_t header_len,
                         const uint8_t body_digest[HV_BODY_DIGEST_BYTES], uint8_t digest[64])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 64);
    crypto_generichash_update(&st, (const uint8_t *)S_SEAL_SIG_CONTEXT,
                              sizeof S_SEAL_SIG_CONTEXT);
    crypto_generichash_update(&st, header, header_len);
    crypto_generichash_update(&st, body_digest, HV_BODY_DIGEST_BYTES);
    crypto_generichash_final(&st, digest, 64);
}

void hv_seal_sign_digest(const hv_keypair *sender, const uint8_t *header, size_t header_len,
                         const uint8_t body_digest[HV_BODY_DIGEST_BYTES],
                         uint8_t sig[HV_SIG_BYTES])
{
    uint8_t digest[64];
    s_sig_digest(header, header_len, body_digest, digest);
    crypto_sign_detached(sig, NULL, digest, sizeof digest, sender->sign_sk);
}

void hv_seal_sign(const hv_keypair *sender, const uint8_t *header, size_t header_len,
                  const uint8_t *body, size_t body_len, uint8_t sig[HV_SIG_BYTES])
{
    uint8_t bd[HV_BODY_DIGEST_BYTES];
    hv_body_digest(body, body_len, bd);
    hv_seal_sign_digest(sender, header, header_len, bd, sig);
}

hv_err hv_seal_verify_digest(const uint8_t sender_sign_pk[HV_PK_BYTES], const uint8_t *header,
                             size_t header_len, const uint8_t body_digest[HV_BODY_DIGEST_BYTES],
                             const uint8_t sig[HV_SIG_BYTES])
{
    uint8_t digest[64];
    s_sig_digest(header, header_len, body_digest, digest);
    return crypto_sign_verify_detached(sig, digest, sizeof digest, sender_sign_pk) == 0
               ? HV_OK
               : HV_ECRYPTO;
}

hv_err hv_seal_fixed(const hv_keypair *sender, const uint8_t rcpt_box_pk[32],
                     const uint8_t *header, size_t header_len, const uint8_t *pt, size_t pt_len,
                     const uint8_t eph_seed[32], const uint8_t nonce[HV_NONCE_BYTES],
                     uint8_t *body, size_t body_cap, size_t *body_len, uint8_t sig[HV_SIG_BYTES])
{
    if (pt_len > body_cap || body_cap - pt_len < HV_SEAL_OVERHEAD)
        return HV_ETOOBIG;
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    uint8_t *eph_pk = body;
    uint8_t *body_nonce = body + HV_PK_BYTES;
    uint8_t *ct = body_nonce + HV_NONCE_BYTES;
    hv_err err = HV_ECRYPTO;

    if (crypto_scalarmult_base(eph_pk, eph_seed) != 0)
        goto done;
    if ((err = s_seal_key(eph_seed, rcpt_box_pk, eph_pk, rcpt_box_pk, key)) != HV_OK)
        goto done;
    memcpy(body_nonce, nonce, HV_NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, pt, pt_len, header, header_len, NULL,
                                               body_nonce, key);
    *body_len = HV_SEAL_OVERHEAD + pt_len;

    hv_seal_sign(sender, header, header_len, body, *body_len, sig);
    err = HV_OK;
done:
    sodium_memzero(key, sizeof key);
    return err;
}

hv_err hv_seal(const hv_keypair *sender, const uint8_t rcpt_box_pk[32], const uint8_t *header,
               size_t header_len, const uint8_t *pt, size_t pt_len, uint8_t *body,
               size_t body_cap, size_t *body_len, uint8_t sig[HV_SIG_BYTES])
{
    uint8_t eph_sk[32], nonce[HV_NONCE_BYTES];
    randombytes_buf(eph_sk, sizeof eph_sk);
    randombytes_buf(nonce, sizeof nonce);
    hv_err err = hv_seal_fixed(sender, rcpt_box_pk, header, header_len, pt, pt_len, eph_sk,
                               nonce, body, body_cap, body_len, sig);
    sodium_memzero(eph_sk, sizeof eph_sk);
    return err;
}

hv_err hv_open(const hv_keypair *rcpt, const uint8_t sender_sign_pk[32], const uint8_t *header,
               size_t header_len, const uint8_t *body, size_t body_len,
               const uint8_t sig[HV_SIG_BYTES], uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
    return hv_open_box(rcpt->box_sk, rcpt->pub.box, sender_sign_pk, header, header_len, body,
                       body_len, sig, pt, pt_cap, pt_len);
}

void hv_box_keypair_generate(uint8_t box_sk[HV_SEED_BYTES], uint8_t box_pk[HV_PK_BYTES])
{
    do
        randombytes_buf(box_sk, HV_SEED_BYTES);
    while (crypto_scalarmult_base(box_pk, box_sk) != 0);
}

hv_err hv_box_public(const uint8_t box_sk[HV_SEED_BYTES], uint8_t box_pk[HV_PK_BYTES])
{
    return crypto_scalarmult_base(box_pk, box_sk) == 0 ? HV_OK : HV_ECRYPTO;
}

bool hv_box_pk_valid(const uint8_t box_pk[HV_PK_BYTES])
{
    static const uint8_t probe[32] = {9};
    uint8_t out[32];
    bool ok = crypto_scalarmult(out, probe, box_pk) == 0;
    sodium_memzero(out, sizeof out);
    return ok;
}

hv_err hv_open_box(const uint8_t box_sk[HV_SEED_BYTES], const uint8_t box_pk[HV_PK_BYTES],
                   const uint8_t sender_sign_pk[32], const uint8_t *header, size_t header_len,
                   const uint8_t *body, size_t body_len, const uint8_t sig[HV_SIG_BYTES],
                   uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
    if (body_len < HV_SEAL_OVERHEAD)
        return HV_ECRYPTO;
    if (body_len - HV_SEAL_OVERHEAD > pt_cap)
        return HV_ETOOBIG;

    uint8_t bd[HV_BODY_DIGEST_BYTES];
    hv_body_digest(body, body_len, bd);
    if (hv_seal_verify_digest(sender_sign_pk, header, header_len, bd, sig) != HV_OK)
        return HV_ECRYPTO;

    const uint8_t *eph_pk = body;
    const uint8_t *nonce = body + HV_PK_BYTES;
    const uint8_t *ct = nonce + HV_NONCE_BYTES;
    size_t ct_len = body_len - HV_PK_BYTES - HV_NONCE_BYTES;
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    hv_err err = s_seal_key(box_sk, eph_pk, eph_pk, box_pk, key);
    if (err != HV_OK)
        return err;
    unsigned long long n = 0;
    /* libsodium verifies the tag before it writes any plaintext. */
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &n, NULL, ct, ct_len, header,
                                                        header_len, nonce, key);
    sodium_memzero(key, sizeof key);
    if (rc != 0)
        return HV_ECRYPTO;
    *pt_len = (size_t)n;
    return HV_OK;
}

/* Domain-separated signing input: BLAKE2b-512(context || 0 || msg). */
static void s_context_digest(const char *context, const uint8_t *msg, size_t len,
                             uint8_t digest[64])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 64);
    crypto_generichash_update(&st, (const uint8_t *)context, strlen(context) + 1);
    crypto_generichash_update(&st, msg, len);
    crypto_generichash_final(&st, digest, 64);
}

void hv_sign(const hv_keypair *kp, const char *context, const uint8_t *msg, size_t len,
             uint8_t sig[HV_SIG_BYTES])
{
    uint8_t digest[64];
    s_context_digest(context, msg, len, digest);
    crypto_sign_detached(sig, NULL, digest, sizeof digest, kp->sign_sk);
}

hv_err hv_verify(const uint8_t sign_pk[32], const char *context, const uint8_t *msg, size_t len,
                 const uint8_t sig[HV_SIG_BYTES])
{
    uint8_t digest[64];
    s_context_digest(context, msg, len, digest);
    return crypto_sign_verify_detached(sig, digest, sizeof digest, sign_pk) == 0 ? HV_OK
                                                                                  : HV_ECRYPTO;
}

void *hv_secure_alloc(size_t len) { return sodium_malloc(len); }

void hv_secure_free(void *p)
{
    if (p != NULL)
        sodium_free(p);
}

void hv_random(void *buf, size_t len) { randombytes_buf(buf, len); }

void hv_time_id(uint8_t id[16], uint64_t unix_ms)
{
    for (int i = 0; i < 6; i++)
        id[i] = (uint8_t)(unix_ms >> (8 * (5 - i)));
    randombytes_buf(id + 6, 10);
}

void hv_memzero(void *p, size_t len) { sodium_memzero(p, len); }

void hv_hex(const uint8_t *bin, size_t len, char *out) { sodium_bin2hex(out, 2 * len + 1, bin, len); }

hv_err hv_unhex(const char *hex, uint8_t *out, size_t len)
{
    size_t got = 0;
    const char *end = NULL;
    if (strlen(hex) != 2 * len)
        return HV_EKEYFORMAT;
    if (sodium_hex2bin(out, len, hex, 2 * len, NULL, &got, &end) != 0 || got != len)
        return HV_EKEYFORMAT;
    return HV_OK;
}

void hv_z85_key(const uint8_t key[32], char out[HV_Z85_KEY_LEN + 1])
{
    /* Z85 (ZeroMQ RFC 32), written here so that only zmq-using modules need
     * libzmq; the alphabet is the RFC's. */
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";
    size_t o = 0;
    for (size_t i = 0; i < 32; i += 4) {
        uint32_t v = ((uint32_t)key[i] << 24) | ((uint32_t)key[i + 1] << 16) |
                     ((uint32_t)key[i + 2] << 8) | key[i + 3];
        for (int d = 4; d >= 0; d--) {
            out[o + (size_t)d] = alphabet[v % 85];
            v /= 85;
        }
        o += 5;
    }
    out[o] = '\0';
}

#define S_STORAGE_CONTEXT "haven/at-rest/v1"

void hv_keypair_storage_key(const hv_keypair *kp, uint8_t key[32])
{
    crypto_generichash(key, 32, (const uint8_t *)S_STORAGE_CONTEXT, sizeof S_STORAGE_CONTEXT,
                       kp->box_sk, sizeof kp->box_sk);
}

hv_err hv_aead_seal(const uint8_t key[32], const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                    size_t pt_len, uint8_t **out, size_t *out_len)
{
    *out = malloc(pt_len + HV_AEAD_OVERHEAD);
    if (*out == NULL)
        return HV_ENOMEM;
    randombytes_buf(*out, HV_NONCE_BYTES);
    unsigned long long ct_len;
    crypto_aead_xchacha20poly1305_ietf_encrypt(*out + HV_NONCE_BYTES, &ct_len, pt, pt_len, ad,
                                               ad_len, NULL, *out, key);
    *out_len = HV_NONCE_BYTES + (size_t)ct_len;
    return HV_OK;
}

hv_err hv_aead_open(const uint8_t key[32], const uint8_t *ad, size_t ad_len, const uint8_t *in,
                    size_t in_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (in_len < HV_AEAD_OVERHEAD)
        return HV_ECRYPTO;
    size_t pt_cap = in_len - HV_AEAD_OVERHEAD;
    uint8_t *pt = sodium_malloc(pt_cap + 1); /* +1: never a zero-size allocation */
    if (pt == NULL)
        return HV_ENOMEM;
    unsigned long long pt_len;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &pt_len, NULL, in + HV_NONCE_BYTES,
                                                   in_len - HV_NONCE_BYTES, ad, ad_len, in,
                                                   key) != 0) {
        sodium_free(pt);
        return HV_ECRYPTO;
    }
    *out = pt;
    *out_len = (size_t)pt_len;
    return HV_OK;
}

void hv_hash256(const uint8_t *buf, size_t len, uint8_t out[32])
{
    crypto_generichash(out, 32, buf, len, NULL, 0);
}

int hv_memcmp_ct(const uint8_t *a, const uint8_t *b, size_t len)
{
    return sodium_memcmp(a, b, len);
}

hv_err hv_pwhash(const char *password, size_t len, uint64_t ops, uint64_t mem_kib,
                 char out[HV_PWHASH_STR_MAX])
{
    _Static_assert(crypto_pwhash_STRBYTES <= HV_PWHASH_STR_MAX, "hash string capacity");
    if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_MAX ||
        mem_kib < crypto_pwhash_MEMLIMIT_MIN / 1024 || mem_kib > (SIZE_MAX >> 11))
        return HV_EINVAL;
    if (crypto_pwhash_str_alg(out, password, len, ops, (size_t)mem_kib * 1024,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return HV_ENOMEM;
    return HV_OK;
}

hv_err hv_pwhash_verify(const char *hash, const char *password, size_t len)
{
    if (strnlen(hash, HV_PWHASH_STR_MAX) >= HV_PWHASH_STR_MAX)
        return HV_EAUTH;
    return crypto_pwhash_str_verify(hash, password, len) == 0 ? HV_OK : HV_EAUTH;
}

char *hv_b64_encode(const uint8_t *buf, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(cap);
    if (out != NULL)
        sodium_bin2base64(out, cap, buf, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

hv_err hv_b64_decode(const char *text, size_t text_len, uint8_t *out, size_t cap, size_t *len)
{
    const char *end = NULL;
    if (sodium_base642bin(out, cap, text, text_len, NULL, len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text + text_len)
        return HV_EDECODE;
    return HV_OK;
}
