/* End-to-end crypto: round trip, tampering, misaddressing, golden vectors. */
#include "hv_test.h"

#include <zmq.h>

#include "hv_crypto.h"
#include "hv_envelope.h"


static const uint8_t s_header[] = "example canonical header bytes";
static const uint8_t s_plain[] = "Synthetic case: Person A, born 2001-01-01, safe contact +000 0000";

typedef struct sealed {
    uint8_t body[256]; /* eph_pk || nonce || ct */
    size_t body_len;   /* bytes used */
    uint8_t sig[64];   /* signature */
} sealed;

static void s_seal(const hv_keypair *from, const hv_keypair *to, sealed *out)
{
    assert_int_equal(hv_seal(from, hv_keypair_public(to)->box, s_header, sizeof s_header, s_plain,
                             sizeof s_plain, out->body, sizeof out->body, &out->body_len,
                             out->sig),
                     HV_OK);
    assert_int_equal(out->body_len, sizeof s_plain + HV_SEAL_OVERHEAD);
}

static hv_err s_open(const hv_keypair *to, const hv_keypair *from, const uint8_t *header,
                     size_t header_len, const sealed *in, uint8_t *pt, size_t *pt_len)
{
    return hv_open(to, hv_keypair_public(from)->sign, header, header_len, in->body, in->body_len,
                   in->sig, pt, 256, pt_len);
}

static void test_round_trip(void **state)
{
    (void)state;
    hv_keypair *a = hvt_keys(1), *b = hvt_keys(100);
    sealed s;
    uint8_t pt[256];
    size_t pt_len = 0;
    s_seal(a, b, &s);
    assert_int_equal(s_open(b, a, s_header, sizeof s_header, &s, pt, &pt_len), HV_OK);
    assert_int_equal(pt_len, sizeof s_plain);
    assert_memory_equal(pt, s_plain, sizeof s_plain);
    /* The plaintext does not appear in the sealed body. */
    assert_null(memmem(s.body, s.body_len, "Person A", 8));
    /* Two seals of the same message differ (fresh ephemeral key and nonce). */
    sealed s2;
    s_seal(a, b, &s2);
    assert_memory_not_equal(s.body, s2.body, s.body_len);
    hv_keypair_free(&a);
    hv_keypair_free(&b);
    hv_keypair_free(&a); /* safe twice */
}

static void test_every_flipped_byte_is_refused(void **state)
{
    (void)state;
    hv_keypair *a = hvt_keys(1), *b = hvt_keys(100);
    sealed s;
    s_seal(a, b, &s);
    uint8_t header[sizeof s_header], pt[256];
    size_t pt_len = 0;
    memcpy(header, s_header, sizeof header);
    /* Header (associated data and signed). */
    for (size_t i = 0; i < sizeof header; i++) {
        header[i] ^= 0x01;
        assert_int_equal(s_open(b, a, header, sizeof header, &s, pt, &pt_len), HV_ECRYPTO);
        header[i] ^= 0x01;
    }
    /* Ephemeral key, nonce and ciphertext: every byte of the body. */
    for (size_t i = 0; i < s.body_len; i++) {
        s.body[i] ^= 0x80;
        assert_int_equal(s_open(b, a, s_header, sizeof s_header, &s, pt, &pt_len), HV_ECRYPTO);
        s.body[i] ^= 0x80;
    }
    /* Signature. */
    for (size_t i = 0; i < sizeof s.sig; i++) {
        s.sig[i] ^= 0x04;
        assert_int_equal(s_open(b, a, s_header, sizeof s_header, &s, pt, &pt_len), HV_ECRYPTO);
        s.sig[i] ^= 0x04;
    }
    /* A body cut short is refused too. */
    sealed cut = s;
    cut.body_len = HV_SEAL_OVERHEAD - 1;
    assert_int_equal(s_open(b, a, s_header, sizeof s_header, &cut, pt, &pt_len), HV_ECRYPTO);
    /* Untouched, it still opens. */
    assert_int_equal(s_open(b, a, s_header, sizeof s_header, &s, pt, &pt_len), HV_OK);
    hv_keypair_free(&a);
    hv_keypair_free(&b);
}

static void test_ciphertext_moved_to_another_header(void **state)
{
    (void)state;
    hv_keypair *a = hvt_keys(1), *b = hvt_keys(100);
    sealed s;
    s_seal(a, b, &s);
    static const uint8_t other[] = "another envelope's header bytes";
    uint8_t pt[256];
    size_t pt_len = 0;
    /* Body and signature moved under another header: the signature fails. */
    assert_int_equal(s_open(b, a, other, sizeof other, &s, pt, &pt_len), HV_ECRYPTO);
    /* Even re-signed by the genuine sender for the new header, the MAC
     * still binds the ciphertext to the header it was sealed under. */
    sealed resigned = s;
    hv_seal_sign(a, other, sizeof other, resigned.body, resigned.body_len, resigned.sig);
    assert_int_equal(s_open(b, a, other, sizeof other, &resigned, pt, &pt_len), HV_ECRYPTO);
    /* The re-signature itself is valid: the refusal above came from the MAC. */
    hv_seal_sign(a, s_header, sizeof s_header, resigned.body, resigned.body_len, resigned.sig);
    assert_int_equal(s_open(b, a, s_header, sizeof s_header, &resigned, pt, &pt_len), HV_OK);
    hv_keypair_free(&a);
    hv_keypair_free(&b);
}

/* Evidence (issue 20): header, body digest and signature verify without
 * the body, and nothing else does: another header, another digest, a
 * flipped signature byte, another sender's key. */
static void test_signature_outlives_body(void **state)
{
    (void)state;
    hv_keypair *a = hvt_keys(1), *b = hvt_keys(100);
    sealed s;
    s_seal(a, b, &s);
    const uint8_t *pa = hv_keypair_public(a)->sign;
    uint8_t bd[HV_BODY_DIGEST_BYTES];
    hv_body_digest(s.body, s.body_len, bd);
    assert_int_equal(hv_seal_verify_digest(pa, s_header, sizeof s_header, bd, s.sig), HV_OK);
    static const uint8_t other[] = "another envelope's header bytes";
    assert_int_equal(hv_seal_verify_digest(pa, other, sizeof other, bd, s.sig), HV_ECRYPTO);
    for (size_t i = 0; i < sizeof bd; i++) {
        bd[i] ^= 0x01;
        assert_int_equal(hv_seal_verify_digest(pa, s_header, sizeof s_header, bd, s.sig),
                         HV_ECRYPTO);
        bd[i] ^= 0x01;
    }
    s.sig[5] ^= 0x80;
    assert_int_equal(hv_seal_verify_digest(pa, s_header, sizeof s_header, bd, s.sig),
                     HV_ECRYPTO);
    s.sig[5] ^= 0x80;
    assert_int_equal(hv_seal_verify_digest(hv_keypair_public(b)->sign, s_header,
                                           sizeof s_header, bd, s.sig),
                     HV_ECRYPTO);
    /* Signing the digest is signing the body. */
    uint8_t again[HV_SIG_BYTES];
    hv_seal_sign_digest(a, s_header, sizeof s_header, bd, again);
    assert_memory_equal(again, s.sig, HV_SIG_BYTES);
    hv_keypair_free(&a);
    hv_keypair_free(&b);
}

static void test_wrong_recipient_and_sender(void **state)
{
    (void)state;
    hv_keypair *a = hvt_keys(1), *b = hvt_keys(100), *c = hvt_keys(150);
    sealed s;
    s_seal(a, b, &s);
    uint8_t pt[256];
    size_t pt_len = 0;
    /* Another node's keys cannot open it. */
    assert_int_equal(s_open(c, a, s_header, sizeof s_header, &s, pt, &pt_len), HV_ECRYPTO);
    /* Claimed to come from someone else: the signature does not verify. */
    assert_int_equal(s_open(b, c, s_header, sizeof s_header, &s, pt, &pt_len), HV_ECRYPTO);
    /* A low-order recipient key is refused at sealing. */
    uint8_t zero[32] = {0};
    assert_int_equal(hv_seal(a, zero, s_header, sizeof s_header, s_plain, sizeof s_plain, s.body,
                             sizeof s.body, &s.body_len, s.sig),
                     HV_ECRYPTO);
    /* Too small an output buffer. */
    assert_int_equal(hv_seal(a, hv_keypair_public(b)->box, s_header, sizeof s_header, s_plain,
                             sizeof s_plain, s.body, sizeof s_plain, &s.body_len, s.sig),
                     HV_ETOOBIG);
    hv_keypair_free(&a);
    hv_keypair_free(&b);
    hv_keypair_free(&c);
}

static void test_sign_contexts(void **state)
{
    (void)state;
    hv_keypair *a = hvt_keys(1);
    uint8_t sig[64];
    static const uint8_t msg[] = "registry payload";
    hv_sign(a, "haven/registry/v1", msg, sizeof msg, sig);
    const uint8_t *pk = hv_keypair_public(a)->sign;
    assert_int_equal(hv_verify(pk, "haven/registry/v1", msg, sizeof msg, sig), HV_OK);
    /* The same signature does not verify for another purpose. */
    assert_int_equal(hv_verify(pk, "haven/receipt/v1", msg, sizeof msg, sig), HV_ECRYPTO);
    assert_int_equal(hv_verify(pk, "haven/registry/v1", msg, sizeof msg - 1, sig), HV_ECRYPTO);
    hv_keypair_free(&a);
}

static void test_key_id_and_z85(void **state)
{
    (void)state;
    hv_keypair *a = hvt_keys(1), *b = hvt_keys(2);
    const hv_pubkeys *pa = hv_keypair_public(a), *pb = hv_keypair_public(b);
    assert_memory_not_equal(pa->key_id, pb->key_id, HV_KEY_ID_BYTES);
    assert_true(hv_pubkeys_valid(pa));
    hv_pubkeys bad = *pa;
    memset(bad.transport, 0, 32);
    assert_false(hv_pubkeys_valid(&bad));
    bad = *pa;
    memset(bad.sign, 0, 32);
    assert_false(hv_pubkeys_valid(&bad));
    /* Our Z85 matches libzmq's. */
    char ours[41], theirs[41];
    hv_z85_key(pa->transport, ours);
    assert_non_null(zmq_z85_encode(theirs, pa->transport, 32));
    assert_string_equal(ours, theirs);
    hv_keypair_free(&a);
    hv_keypair_free(&b);
}

/* Fixed keys, ephemeral key and nonce: the sealed bytes may never change
 * without a new protocol version. */
/* Time ids sort by time (memcmp order) and differ within a millisecond. */
static void test_time_id(void **state)
{
    (void)state;
    uint8_t a[16], b[16], c[16];
    hv_time_id(a, 0x0102030405A6ull);
    const uint8_t prefix[6] = {0x01, 0x02, 0x03, 0x04, 0x05, 0xA6};
    assert_memory_equal(a, prefix, 6);
    hv_time_id(b, 0x0102030405A6ull);
    assert_memory_not_equal(a + 6, b + 6, 10);
    hv_time_id(c, 0x0102030405A7ull);
    assert_true(memcmp(a, c, 16) < 0 && memcmp(b, c, 16) < 0);
    hv_time_id(c, 0x010203040600ull); /* a carry into the fifth byte */
    assert_true(memcmp(b, c, 16) < 0);
}

static void test_golden_vectors(void **state)
{
    (void)state;
    hvt_vectors v;
    hvt_vectors_load(&v, "seal-v2.txt");
    hv_keypair *a = hvt_keys(1), *b = hvt_keys(100);
    const hv_pubkeys *pa = hv_keypair_public(a), *pb = hv_keypair_public(b);
    uint8_t seeds[3][32];
    hv_keypair_seeds(a, seeds[0], seeds[1], seeds[2]);
    hvt_vectors_check(&v, "sender_sign_seed", seeds[0], 32);
    hvt_vectors_check(&v, "sender_sign_pk", pa->sign, 32);
    hvt_vectors_check(&v, "sender_key_id", pa->key_id, 8);
    hv_keypair_seeds(b, seeds[0], seeds[1], seeds[2]);
    hvt_vectors_check(&v, "recipient_box_secret", seeds[1], 32);
    hvt_vectors_check(&v, "recipient_box_pk", pb->box, 32);
    hvt_vectors_check(&v, "recipient_key_id", pb->key_id, 8);
    hv_memzero(seeds, sizeof seeds);

    uint8_t eph[32], nonce[24];
    for (int i = 0; i < 32; i++)
        eph[i] = (uint8_t)(0xe0 ^ i);
    for (int i = 0; i < 24; i++)
        nonce[i] = (uint8_t)(0x50 + i);
    hvt_vectors_check(&v, "ephemeral_secret", eph, 32);
    hvt_vectors_check(&v, "nonce", nonce, 24);
    hvt_vectors_check(&v, "header", s_header, sizeof s_header);
    hvt_vectors_check(&v, "plaintext", s_plain, sizeof s_plain);
    sealed s;
    assert_int_equal(hv_seal_fixed(a, pb->box, s_header, sizeof s_header, s_plain, sizeof s_plain,
                                   eph, nonce, s.body, sizeof s.body, &s.body_len, s.sig),
                     HV_OK);
    hvt_vectors_check(&v, "body", s.body, s.body_len);
    uint8_t bd[HV_BODY_DIGEST_BYTES];
    hv_body_digest(s.body, s.body_len, bd);
    hvt_vectors_check(&v, "body_digest", bd, sizeof bd);
    hvt_vectors_check(&v, "signature", s.sig, 64);

    /* And the recorded bytes open with the recipient's keys. */
    size_t body_len, sig_len, pt_len;
    uint8_t *body = hvt_vectors_get(&v, "body", &body_len);
    uint8_t *sig = hvt_vectors_get(&v, "signature", &sig_len);
    uint8_t pt[256];
    assert_int_equal(hv_open(b, pa->sign, s_header, sizeof s_header, body, body_len, sig, pt,
                             sizeof pt, &pt_len),
                     HV_OK);
    assert_memory_equal(pt, s_plain, sizeof s_plain);
    /* The recorded signature verifies with the body's digest alone. */
    size_t bd_len;
    uint8_t *rec_bd = hvt_vectors_get(&v, "body_digest", &bd_len);
    assert_int_equal(bd_len, HV_BODY_DIGEST_BYTES);
    assert_int_equal(hv_seal_verify_digest(pa->sign, s_header, sizeof s_header, rec_bd, sig),
                     HV_OK);
    free(rec_bd);
    free(body);
    free(sig);
    hvt_vectors_finish(&v);
    hv_keypair_free(&a);
    hv_keypair_free(&b);
}

/* Argon2id password hashes: the right password passes, any other does
 * not, a hash carries its own salt, and costs outside libsodium's limits
 * and malformed hashes are refused. */
static void test_pwhash(void **state)
{
    (void)state;
    char h1[HV_PWHASH_STR_MAX], h2[HV_PWHASH_STR_MAX];
    const char *pw = "correct horse battery staple";
    assert_int_equal(hv_pwhash(pw, strlen(pw), 1, 8192, h1), HV_OK);
    assert_int_equal(hv_pwhash(pw, strlen(pw), 1, 8192, h2), HV_OK);
    assert_non_null(strstr(h1, "$argon2id$"));
    assert_string_not_equal(h1, h2);
    assert_int_equal(hv_pwhash_verify(h1, pw, strlen(pw)), HV_OK);
    assert_int_equal(hv_pwhash_verify(h1, pw, strlen(pw) - 1), HV_EAUTH);
    assert_int_equal(hv_pwhash_verify(h1, "Correct horse battery staple", strlen(pw)), HV_EAUTH);
    assert_int_equal(hv_pwhash_verify("$argon2id$v=19$m=8192,t=1,p=1$bm9wZQ$bm9wZQ", pw,
                                      strlen(pw)), HV_EAUTH);
    assert_int_equal(hv_pwhash_verify("", pw, strlen(pw)), HV_EAUTH);
    assert_int_equal(hv_pwhash(pw, strlen(pw), 0, 8192, h1), HV_EINVAL);
    assert_int_equal(hv_pwhash(pw, strlen(pw), 1, 1, h1), HV_EINVAL);
}

int main(void)
{
    assert_int_equal(hv_crypto_init(), HV_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_flipped_byte_is_refused),
        cmocka_unit_test(test_ciphertext_moved_to_another_header),
        cmocka_unit_test(test_wrong_recipient_and_sender),
        cmocka_unit_test(test_signature_outlives_body),
        cmocka_unit_test(test_sign_contexts),
        cmocka_unit_test(test_key_id_and_z85),
        cmocka_unit_test(test_time_id),
        cmocka_unit_test(test_golden_vectors),
        cmocka_unit_test(test_pwhash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
