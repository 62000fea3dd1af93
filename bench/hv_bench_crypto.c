/* Micro-benchmark (not a test): envelope seal, open, encode and decode per
 * second, beside the raw libsodium primitives that sealing and opening are
 * made of, all measured in the same run. The "primitive floor" is the rate
 * of the primitives alone, called back to back; seal/open as a fraction of
 * it shows what our construction and codec add.
 *
 * This program includes sodium.h to time the primitives directly; Haven's
 * own code keeps that include in common/hv_crypto.c only.
 *
 * usage: hv-bench-crypto [SECONDS_PER_FIGURE]   (default 0.5) */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_envelope.h"

static double s_seconds = 0.5;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs `fn` repeatedly for about s_seconds and returns calls per second. */
#define S_RATE(result, body)                                                                    \
    do {                                                                                        \
        unsigned long n_ = 0;                                                                   \
        double t0_ = s_now(), t_;                                                               \
        do {                                                                                    \
            for (int k_ = 0; k_ < 16; k_++) {                                                   \
                body;                                                                           \
            }                                                                                   \
            n_ += 16;                                                                           \
            t_ = s_now();                                                                       \
        } while (t_ - t0_ < s_seconds);                                                         \
        (result) = (double)n_ / (t_ - t0_);                                                     \
    } while (0)

static hv_keypair *s_keys(void)
{
    hv_keypair *kp = NULL;
    if (hv_keypair_generate(&kp) != HV_OK)
        exit(1);
    return kp;
}

static void s_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "hv-bench-crypto: %s failed\n", what);
        exit(1);
    }
}

static void s_size(size_t size)
{
    hv_keypair *a = s_keys(), *b = s_keys();
    const hv_pubkeys *pa = hv_keypair_public(a), *pb = hv_keypair_public(b);
    uint8_t *pt = malloc(size), *wire = NULL, *out = NULL;
    randombytes_buf(pt, size);
    size_t wire_len = 0, out_len = 0;
    hv_envelope env, dec;
    hv_envelope_init(&env, HV_MSG_CASE_TRANSFER, "ngo.xa", pa, "shelter.xc", pb);
    s_check(hv_envelope_seal(&env, a, pb, pt, size, &wire, &wire_len) == HV_OK, "seal");
    s_check(hv_envelope_decode(wire, wire_len, &dec) == HV_OK, "decode");

    double seal, open, encode, decode;
    S_RATE(seal, {
        uint8_t *w;
        size_t l;
        s_check(hv_envelope_seal(&env, a, pb, pt, size, &w, &l) == HV_OK, "seal");
        free(w);
    });
    S_RATE(open, {
        s_check(hv_envelope_open(&dec, "shelter.xc", b, pa->sign, &out, &out_len) == HV_OK,
                "open");
        free(out);
    });
    S_RATE(decode, { s_check(hv_envelope_decode(wire, wire_len, &dec) == HV_OK, "decode"); });
    S_RATE(encode, {
        uint8_t *w;
        size_t l;
        s_check(hv_envelope_encode(&dec, &w, &l) == HV_OK, "encode");
        free(w);
    });

    /* The primitives alone, on the same sizes. */
    uint8_t eph_sk[32], eph_pk[32], shared[32], key[32], nonce[24], sig[64], digest[64];
    uint8_t sign_pk[32], sign_sk[64];
    uint8_t *ct = malloc(size + 16);
    randombytes_buf(eph_sk, 32);
    randombytes_buf(key, 32);
    randombytes_buf(nonce, 24);
    crypto_sign_keypair(sign_pk, sign_sk);
    crypto_scalarmult_base(eph_pk, eph_sk);
    double x_base, x_mult, aead_enc, aead_dec, b2, sign, verify;
    S_RATE(x_base, crypto_scalarmult_base(eph_pk, eph_sk));
    S_RATE(x_mult, s_check(crypto_scalarmult(shared, eph_sk, pb->box) == 0, "x25519"));
    S_RATE(aead_enc, crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, pt, size, digest, 64,
                                                                NULL, nonce, key));
    S_RATE(aead_dec, s_check(crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct,
                                                                        size + 16, digest, 64,
                                                                        nonce, key) == 0,
                             "aead"));
    S_RATE(b2, crypto_generichash(digest, 64, ct, size + 16, NULL, 0));
    S_RATE(sign, crypto_sign_detached(sig, NULL, digest, 64, sign_sk));
    S_RATE(verify, s_check(crypto_sign_verify_detached(sig, digest, 64, sign_pk) == 0, "verify"));

    /* Seal needs: X25519 base + X25519 + AEAD encrypt + a BLAKE2b pass over
     * the body + Ed25519 sign. Open needs: BLAKE2b + verify + X25519 +
     * AEAD decrypt. The floor is the rate of that sequence. */
    double seal_floor = 1.0 / (1 / x_base + 1 / x_mult + 1 / aead_enc + 1 / b2 + 1 / sign);
    double open_floor = 1.0 / (1 / b2 + 1 / verify + 1 / x_mult + 1 / aead_dec);

    printf("\nplaintext %zu bytes (envelope %zu bytes)\n", size, wire_len);
    printf("  %-34s %12.0f /s   %5.1f%% of %.0f /s floor\n", "haven seal (encrypt+sign+encode)",
           seal, 100 * seal / seal_floor, seal_floor);
    printf("  %-34s %12.0f /s   %5.1f%% of %.0f /s floor\n", "haven open (verify+decrypt)", open,
           100 * open / open_floor, open_floor);
    printf("  %-34s %12.0f /s   %9.1f MB/s\n", "haven envelope encode", encode,
           encode * (double)wire_len / 1e6);
    printf("  %-34s %12.0f /s   (zero-copy: the body is borrowed, not read)\n",
           "haven envelope decode", decode);
    printf("  raw libsodium: X25519 base %.0f /s, X25519 %.0f /s, Ed25519 sign %.0f /s, "
           "verify %.0f /s,\n                 XChaCha20-Poly1305 enc %.0f /s, dec %.0f /s, "
           "BLAKE2b-512 %.0f /s\n",
           x_base, x_mult, sign, verify, aead_enc, aead_dec, b2);
    free(ct);
    free(pt);
    free(wire);
    hv_keypair_free(&a);
    hv_keypair_free(&b);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        s_seconds = atof(argv[1]);
    if (s_seconds <= 0 || hv_crypto_init() != HV_OK) {
        fprintf(stderr, "usage: hv-bench-crypto [SECONDS_PER_FIGURE]\n");
        return 2;
    }
    printf("Haven crypto and codec micro-benchmark, %.2f s per figure, one core\n", s_seconds);
    static const size_t sizes[] = {256, 2048, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        s_size(sizes[i]);
    return 0;
}
