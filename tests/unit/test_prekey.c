/* Prekey bundles (PROTOCOL §4.1): codec round trip, golden bytes, every
 * truncation, trailing byte, wrong version, oversize, times out of order;
 * the checks against the registered keys (wrong signer, old key id, an id
 * for another key); sealing to a prekey and opening with its secret only;
 * the destruction schedule and the TTL cap. */
#include "hv_test.h"

#include "hv_crypto.h"
#include "hv_envelope.h"
#include "hv_mp.h"
#include "hv_prekey.h"

#define S_T0 1764590400ull /* 2025-12-01T12:00:00Z */

static const uint8_t s_header[] = "example canonical header bytes";
static const uint8_t s_plain[] = "Synthetic case: Person B, safe contact +000 0001";

/* A fixed prekey secret and the bundle of node legal.xc for it. */
static void s_bundle(const hv_keypair *node, uint8_t sk[32], hv_prekey_bundle *b)
{
    for (int i = 0; i < 32; i++)
        sk[i] = (uint8_t)(0x40 + i);
    memset(b, 0, sizeof *b);
    strcpy(b->node, "legal.xc");
    memcpy(b->key_id, hv_keypair_public(node)->key_id, HV_KEY_ID_BYTES);
    assert_int_equal(hv_box_public(sk, b->box_pk), HV_OK);
    hv_prekey_id(b->box_pk, b->prekey_id);
    hv_prekey_schedule(S_T0, 7 * 86400, HV_TTL_MAX, &b->not_before, &b->not_after,
                       &b->destroy_at);
    assert_int_equal(hv_prekey_sign(b, node), HV_OK);
}

static void test_round_trip_and_golden_bytes(void **state)
{
    (void)state;
    hv_keypair *node = hvt_keys(7);
    uint8_t sk[32], *buf, *again;
    size_t len, again_len;
    hv_prekey_bundle b, d;
    s_bundle(node, sk, &b);
    assert_int_equal(hv_prekey_encode(&b, &buf, &len), HV_OK);
    assert_true(len <= HV_PREKEY_BUNDLE_MAX);
    assert_int_equal(hv_prekey_decode(buf, len, &d), HV_OK);
    assert_string_equal(d.node, "legal.xc");
    assert_int_equal(d.not_before, S_T0);
    assert_int_equal(d.not_after, S_T0 + 14 * 86400);
    assert_int_equal(d.destroy_at, S_T0 + 14 * 86400 + HV_TTL_MAX);
    assert_int_equal(hv_prekey_verify(&d, hv_keypair_public(node)), HV_OK);
    assert_int_equal(hv_prekey_encode(&d, &again, &again_len), HV_OK);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, buf, len);
    hvt_vectors v;
    hvt_vectors_load(&v, "prekey-v1.txt");
    hvt_vectors_check(&v, "bundle", buf, len);
    /* Sealed to that prekey with a fixed ephemeral key and nonce. */
    uint8_t eph[32], nonce[24], body[256], sig[64];
    size_t body_len;
    hv_keypair *sender = hvt_keys(1);
    for (int i = 0; i < 32; i++)
        eph[i] = (uint8_t)(0x80 + i);
    for (int i = 0; i < 24; i++)
        nonce[i] = (uint8_t)(0xb0 + i);
    assert_int_equal(hv_seal_fixed(sender, b.box_pk, s_header, sizeof s_header, s_plain,
                                   sizeof s_plain, eph, nonce, body, sizeof body, &body_len, sig),
                     HV_OK);
    hvt_vectors_check(&v, "sealed_body", body, body_len);
    hvt_vectors_check(&v, "sealed_sig", sig, sizeof sig);
    hvt_vectors_finish(&v);
    hv_keypair_free(&sender);
    free(again);

    /* Truncation at every byte, a trailing byte, a wrong version. */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(hv_prekey_decode(buf, cut, &d), HV_ETRUNCATED);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(hv_prekey_decode(longer, len + 1, &d), HV_ETRAILING);
    longer[1] = 2; /* the version follows the array header */
    assert_int_equal(hv_prekey_decode(longer, len, &d), HV_EVERSION);
    free(longer);
    static uint8_t big[HV_PREKEY_BUNDLE_MAX + 1];
    assert_int_equal(hv_prekey_decode(big, sizeof big, &d), HV_ETOOBIG);
    free(buf);
    hv_keypair_free(&node);
}

static void test_fields_out_of_order_are_refused(void **state)
{
    (void)state;
    hv_keypair *node = hvt_keys(7);
    uint8_t sk[32], *buf;
    size_t len;
    hv_prekey_bundle b;
    s_bundle(node, sk, &b);
    b.not_after = b.not_before; /* empty validity */
    assert_int_equal(hv_prekey_encode(&b, &buf, &len), HV_EINVAL);
    s_bundle(node, sk, &b);
    b.destroy_at = b.not_after - 1; /* destroyed while still to be used */
    assert_int_equal(hv_prekey_encode(&b, &buf, &len), HV_EINVAL);
    /* The same by hand: the decoder refuses it too. */
    hv_mp_writer w;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 9);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_cstr(&w, b.node);
    hv_mp_write_bin(&w, b.key_id, 8);
    hv_mp_write_bin(&w, b.prekey_id, 8);
    hv_mp_write_bin(&w, b.box_pk, 32);
    hv_mp_write_uint(&w, b.not_before);
    hv_mp_write_uint(&w, b.not_after);
    hv_mp_write_uint(&w, b.not_after - 1);
    hv_mp_write_bin(&w, b.sig, 64);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    hv_prekey_bundle d;
    assert_int_equal(hv_prekey_decode(buf, len, &d), HV_EDECODE);
    free(buf);
    /* Eight elements (no signature) is the wrong structure. */
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 8);
    hv_mp_write_uint(&w, 1);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    assert_int_equal(hv_prekey_decode(buf, len, &d), HV_EDECODE);
    free(buf);
    hv_keypair_free(&node);
}

static void test_bundle_signed_by_wrong_key_is_refused(void **state)
{
    (void)state;
    hv_keypair *node = hvt_keys(7), *other = hvt_keys(9);
    uint8_t sk[32];
    hv_prekey_bundle b;
    s_bundle(node, sk, &b);
    /* Signed by another node's key but naming this node's key id. */
    hv_prekey_bundle forged = b;
    assert_int_equal(hv_prekey_sign(&forged, other), HV_OK);
    assert_int_equal(hv_prekey_verify(&forged, hv_keypair_public(node)), HV_ECRYPTO);
    /* Under a key id that is not the node's current one. */
    assert_int_equal(hv_prekey_verify(&b, hv_keypair_public(other)), HV_EADDRESS);
    /* A prekey id that names another key. */
    hv_prekey_bundle moved = b;
    moved.prekey_id[0] ^= 1;
    assert_int_equal(hv_prekey_sign(&moved, node), HV_OK);
    assert_int_equal(hv_prekey_verify(&moved, hv_keypair_public(node)), HV_ECRYPTO);
    /* Every flipped bit of the signature or a signed field. */
    for (int i = 0; i < 64; i++) {
        hv_prekey_bundle t = b;
        t.sig[i] ^= 0x10;
        assert_int_equal(hv_prekey_verify(&t, hv_keypair_public(node)), HV_ECRYPTO);
    }
    hv_prekey_bundle later = b;
    later.not_after += 1;
    assert_int_equal(hv_prekey_verify(&later, hv_keypair_public(node)), HV_ECRYPTO);
    /* A low-order box key, however signed, is refused. */
    hv_prekey_bundle weak = b;
    memset(weak.box_pk, 0, 32);
    hv_prekey_id(weak.box_pk, weak.prekey_id);
    assert_int_equal(hv_prekey_sign(&weak, node), HV_OK);
    assert_int_equal(hv_prekey_verify(&weak, hv_keypair_public(node)), HV_ECRYPTO);
    hv_keypair_free(&node);
    hv_keypair_free(&other);
}

static void test_sealed_to_prekey_opens_only_with_its_secret(void **state)
{
    (void)state;
    hv_keypair *node = hvt_keys(7), *sender = hvt_keys(1);
    uint8_t sk[32], body[256], sig[64], pt[256];
    size_t body_len, pt_len = 0;
    hv_prekey_bundle b;
    s_bundle(node, sk, &b);
    assert_int_equal(hv_seal(sender, b.box_pk, s_header, sizeof s_header, s_plain,
                             sizeof s_plain, body, sizeof body, &body_len, sig),
                     HV_OK);
    assert_int_equal(hv_open_box(sk, b.box_pk, hv_keypair_public(sender)->sign, s_header,
                                 sizeof s_header, body, body_len, sig, pt, sizeof pt, &pt_len),
                     HV_OK);
    assert_int_equal(pt_len, sizeof s_plain);
    assert_memory_equal(pt, s_plain, sizeof s_plain);
    /* The node's long-term box key does not open it. */
    assert_int_equal(hv_open(node, hv_keypair_public(sender)->sign, s_header, sizeof s_header,
                             body, body_len, sig, pt, sizeof pt, &pt_len),
                     HV_ECRYPTO);
    /* Nor another prekey of the same node. */
    uint8_t sk2[32], pk2[32];
    hv_box_keypair_generate(sk2, pk2);
    assert_int_equal(hv_open_box(sk2, pk2, hv_keypair_public(sender)->sign, s_header,
                                 sizeof s_header, body, body_len, sig, pt, sizeof pt, &pt_len),
                     HV_ECRYPTO);
    /* Nor the right secret under the wrong public key (the KDF binds it). */
    assert_int_equal(hv_open_box(sk, pk2, hv_keypair_public(sender)->sign, s_header,
                                 sizeof s_header, body, body_len, sig, pt, sizeof pt, &pt_len),
                     HV_ECRYPTO);
    hv_keypair_free(&node);
    hv_keypair_free(&sender);
}

static void test_schedule_and_ttl_cap(void **state)
{
    (void)state;
    uint64_t nb, na, da;
    hv_prekey_schedule(S_T0, 7 * 86400, HV_TTL_MAX, &nb, &na, &da);
    assert_int_equal(nb, S_T0);
    assert_int_equal(na, S_T0 + 14 * 86400);
    assert_int_equal(da, S_T0 + 14 * 86400 + 30 * 86400);
    /* keep_s is never more than the longest TTL. */
    hv_prekey_schedule(S_T0, 10, 10 * HV_TTL_MAX, &nb, &na, &da);
    assert_int_equal(da, na + HV_TTL_MAX);
    hv_prekey_bundle b;
    memset(&b, 0, sizeof b);
    hv_prekey_schedule(S_T0, 3, 10, &b.not_before, &b.not_after, &b.destroy_at);
    assert_true(hv_prekey_usable(&b, S_T0));
    assert_true(hv_prekey_usable(&b, S_T0 + 5));
    assert_false(hv_prekey_usable(&b, S_T0 + 6));
    assert_false(hv_prekey_usable(&b, S_T0 - 1));
    /* With the defaults a 30-day TTL is never shortened while usable. */
    hv_prekey_bundle d;
    memset(&d, 0, sizeof d);
    hv_prekey_schedule(S_T0, 7 * 86400, HV_TTL_MAX, &d.not_before, &d.not_after,
                       &d.destroy_at);
    assert_int_equal(hv_prekey_cap_ttl(&d, (d.not_after - 1) * 1000, HV_TTL_MAX), HV_TTL_MAX);
    /* Short keep: the envelope ends before the secret does. */
    assert_int_equal(hv_prekey_cap_ttl(&b, S_T0 * 1000, 3600), 15);
    assert_int_equal(hv_prekey_cap_ttl(&b, S_T0 * 1000 + 999, 3600), 15);
    assert_int_equal(hv_prekey_cap_ttl(&b, S_T0 * 1000, 5), 5);
    assert_int_equal(hv_prekey_cap_ttl(&b, (S_T0 + 15) * 1000, 3600), 0);
}

int main(void)
{
    if (hv_crypto_init() != HV_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_golden_bytes),
        cmocka_unit_test(test_fields_out_of_order_are_refused),
        cmocka_unit_test(test_bundle_signed_by_wrong_key_is_refused),
        cmocka_unit_test(test_sealed_to_prekey_opens_only_with_its_secret),
        cmocka_unit_test(test_schedule_and_ttl_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
