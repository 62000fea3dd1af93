/* Envelope codec: round trip, canonical form, every truncation, limits,
 * golden bytes, and sealing through the envelope. */
#include "hv_test.h"

#include "hv_envelope.h"
#include "hv_mp.h"


/* A fixed envelope with a fake body, for codec tests. */
static uint8_t s_body[HV_SEAL_OVERHEAD + 5];

static void s_fixed(hv_envelope *env)
{
    memset(env, 0, sizeof *env);
    env->version = HV_PROTO_VERSION;
    env->type = HV_MSG_OFFER;
    for (int i = 0; i < 16; i++) {
        env->id[i] = (uint8_t)i;
        env->referral[i] = (uint8_t)(0xa0 + i);
    }
    strcpy(env->from, "router.xc");
    strcpy(env->to, "shelter.xc");
    env->created_at_ms = 1793491200000ull; /* 2026-11-01T00:00:00Z */
    env->ttl_s = 86400;
    memset(env->from_kid, 0x11, 8);
    memset(env->to_kid, 0x22, 8);
    env->hops = 1;
    for (size_t i = 0; i < sizeof s_body; i++)
        s_body[i] = (uint8_t)(i * 7);
    env->body = s_body;
    env->body_len = sizeof s_body;
    memset(env->sig, 0x5a, 64);
}

static void s_encode(const hv_envelope *env, uint8_t **buf, size_t *len)
{
    assert_int_equal(hv_envelope_encode(env, buf, len), HV_OK);
}

static void test_round_trip_is_canonical(void **state)
{
    (void)state;
    hv_envelope env, dec;
    uint8_t *buf, *again;
    size_t len, again_len;
    s_fixed(&env);
    s_encode(&env, &buf, &len);
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_OK);
    assert_int_equal(dec.type, HV_MSG_OFFER);
    assert_string_equal(dec.from, "router.xc");
    assert_string_equal(dec.to, "shelter.xc");
    assert_int_equal(dec.created_at_ms, env.created_at_ms);
    assert_int_equal(dec.ttl_s, 86400);
    assert_int_equal(dec.hops, 1);
    assert_memory_equal(dec.id, env.id, 16);
    assert_memory_equal(dec.body, s_body, sizeof s_body);
    assert_int_equal(dec.body_len, sizeof s_body);
    /* The decoded header is exactly the separately encoded header. */
    uint8_t *hdr;
    size_t hdr_len;
    assert_int_equal(hv_envelope_encode_header(&env, &hdr, &hdr_len), HV_OK);
    assert_int_equal(dec.header_len, hdr_len);
    assert_memory_equal(dec.header, hdr, hdr_len);
    /* Decode then encode gives the same bytes. */
    s_encode(&dec, &again, &again_len);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, buf, len);
    free(hdr);
    free(buf);
    free(again);
}

/* The header decodes alone (evidence keeps it without the body): the
 * same fields, every truncation refused, nothing may follow it. */
static void test_header_alone(void **state)
{
    (void)state;
    hv_envelope env, dec;
    s_fixed(&env);
    uint8_t *hdr;
    size_t hdr_len;
    assert_int_equal(hv_envelope_encode_header(&env, &hdr, &hdr_len), HV_OK);
    assert_int_equal(hv_envelope_decode_header(hdr, hdr_len, &dec), HV_OK);
    assert_int_equal(dec.type, HV_MSG_OFFER);
    assert_string_equal(dec.from, "router.xc");
    assert_string_equal(dec.to, "shelter.xc");
    assert_int_equal(dec.created_at_ms, env.created_at_ms);
    assert_memory_equal(dec.id, env.id, 16);
    assert_memory_equal(dec.from_kid, env.from_kid, 8);
    assert_ptr_equal(dec.header, hdr);
    assert_int_equal(dec.header_len, hdr_len);
    for (size_t cut = 0; cut < hdr_len; cut++)
        assert_int_equal(hv_envelope_decode_header(hdr, cut, &dec), HV_ETRUNCATED);
    uint8_t *longer = malloc(hdr_len + 1);
    assert_non_null(longer);
    memcpy(longer, hdr, hdr_len);
    longer[hdr_len] = 0x00;
    assert_int_equal(hv_envelope_decode_header(longer, hdr_len + 1, &dec), HV_ETRAILING);
    free(longer);
    free(hdr);
}

static void test_truncation_at_every_byte(void **state)
{
    (void)state;
    hv_envelope env, dec;
    uint8_t *buf;
    size_t len;
    s_fixed(&env);
    s_encode(&env, &buf, &len);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut + 1); /* exact size so ASan sees overreads */
        memcpy(copy, buf, cut);
        assert_int_equal(hv_envelope_decode(copy, cut, &dec), HV_ETRUNCATED);
        free(copy);
    }
    free(buf);
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    hv_envelope env, dec;
    uint8_t *buf;
    size_t len;
    s_fixed(&env);
    s_encode(&env, &buf, &len);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0xc0;
    assert_int_equal(hv_envelope_decode(longer, len + 1, &dec), HV_ETRAILING);
    free(longer);
    free(buf);
}

/* Offsets within the fixed envelope's encoding. */
#define S_OFF_VERSION 2 /* 0x94 0x9a <version> */
#define S_OFF_TYPE 3

static void test_version_and_type(void **state)
{
    (void)state;
    hv_envelope env, dec;
    uint8_t *buf;
    size_t len;
    s_fixed(&env);
    s_encode(&env, &buf, &len);
    assert_int_equal(buf[S_OFF_VERSION], 1);
    buf[S_OFF_VERSION] = 2;
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_EVERSION);
    buf[S_OFF_VERSION] = 1;
    assert_int_equal(buf[S_OFF_TYPE], HV_MSG_OFFER);
    buf[S_OFF_TYPE] = 0;
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_ETYPE);
    buf[S_OFF_TYPE] = HV_MSG_TYPE_MAX + 1;
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_ETYPE);
    buf[S_OFF_TYPE] = HV_MSG_OFFER;
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_OK);
    /* Version is checked before anything else in the header. */
    buf[S_OFF_VERSION] = 9;
    buf[S_OFF_TYPE] = 0x7f;
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_EVERSION);
    free(buf);
}

static void test_oversize_lengths(void **state)
{
    (void)state;
    hv_envelope dec;
    hv_envelope env;
    uint8_t *hdr;
    size_t hdr_len;
    /* A body declared far larger than any type allows: outer array, the
     * header, hops 0, then a bin32 length of 2 GiB. */
    s_fixed(&env);
    assert_int_equal(hv_envelope_encode_header(&env, &hdr, &hdr_len), HV_OK);
    uint8_t *huge = malloc(hdr_len + 7);
    huge[0] = 0x94;
    memcpy(huge + 1, hdr, hdr_len);
    memcpy(huge + 1 + hdr_len, "\x00\xc6\x7f\xff\xff\xff", 6);
    assert_int_equal(hv_envelope_decode(huge, hdr_len + 7, &dec), HV_ETOOBIG);
    free(huge);
    free(hdr);
    /* A node id declared one byte longer than the 64 allowed. */
    memset(env.from, 'a', HV_NODE_ID_MAX);
    env.from[HV_NODE_ID_MAX] = '\0';
    uint8_t *buf;
    size_t len;
    s_encode(&env, &buf, &len);
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_OK);
    uint8_t *tag = memmem(buf, len, "\xd9\x40", 2);
    assert_non_null(tag);
    tag[1] = 0x41;
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_ETOOBIG);
    free(buf);
    /* A whole frame over the maximum is refused before any parsing. */
    uint8_t *big = calloc(1, HV_ENVELOPE_MAX + 1);
    assert_int_equal(hv_envelope_decode(big, HV_ENVELOPE_MAX + 1, &dec), HV_ETOOBIG);
    free(big);
    /* The type's own limit: an OFFER body above 64 KiB of plaintext. */
    s_fixed(&env);
    size_t n = 64 * 1024 + HV_SEAL_OVERHEAD + 1;
    uint8_t *body = calloc(1, n);
    env.body = body;
    env.body_len = n;
    assert_int_equal(hv_envelope_encode(&env, &buf, &len), HV_EINVAL);
    env.type = HV_MSG_CASE_TRANSFER;
    assert_int_equal(hv_envelope_encode(&env, &buf, &len), HV_OK);
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_OK);
    buf[S_OFF_TYPE] = HV_MSG_OFFER;
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_ETOOBIG);
    free(buf);
    free(body);
}

static void test_field_rules(void **state)
{
    (void)state;
    hv_envelope env, dec;
    uint8_t *buf;
    size_t len;
    s_fixed(&env);
    env.ttl_s = 0;
    assert_int_equal(hv_envelope_encode(&env, &buf, &len), HV_EINVAL);
    env.ttl_s = HV_TTL_MAX + 1;
    assert_int_equal(hv_envelope_encode(&env, &buf, &len), HV_EINVAL);
    s_fixed(&env);
    strcpy(env.to, "Upper.Case");
    assert_int_equal(hv_envelope_encode(&env, &buf, &len), HV_EINVAL);
    s_fixed(&env);
    env.hops = HV_HOPS_MAX + 1;
    assert_int_equal(hv_envelope_encode(&env, &buf, &len), HV_EINVAL);
    /* On the wire: a hop count past the maximum. */
    s_fixed(&env);
    env.hops = HV_HOPS_MAX;
    s_encode(&env, &buf, &len);
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_OK);
    size_t hops_at = 1 + dec.header_len; /* after the outer array tag and the header */
    assert_int_equal(buf[hops_at], HV_HOPS_MAX);
    buf[hops_at] = HV_HOPS_MAX + 1;
    assert_int_equal(hv_envelope_decode(buf, len, &dec), HV_ETOOBIG);
    free(buf);
    /* A non-shortest integer form is not canonical: hops 1 written as
     * uint8 (0xcc 0x01) instead of a fixint. */
    s_fixed(&env);
    s_encode(&env, &buf, &len);
    uint8_t *wide = malloc(len + 1);
    memcpy(wide, buf, hops_at);
    wide[hops_at] = 0xcc;
    memcpy(wide + hops_at + 1, buf + hops_at, len - hops_at);
    assert_int_equal(hv_envelope_decode(wide, len + 1, &dec), HV_EDECODE);
    free(wide);
    free(buf);
}

static void test_golden_bytes(void **state)
{
    (void)state;
    hvt_vectors v;
    hvt_vectors_load(&v, "envelope-v1.txt");
    hv_envelope env, dec;
    uint8_t *buf, *hdr;
    size_t len, hdr_len;
    s_fixed(&env);
    s_encode(&env, &buf, &len);
    assert_int_equal(hv_envelope_encode_header(&env, &hdr, &hdr_len), HV_OK);
    hvt_vectors_check(&v, "offer_header", hdr, hdr_len);
    hvt_vectors_check(&v, "offer_envelope", buf, len);
    size_t glen;
    uint8_t *golden = hvt_vectors_get(&v, "offer_envelope", &glen);
    assert_int_equal(hv_envelope_decode(golden, glen, &dec), HV_OK);
    assert_string_equal(dec.to, "shelter.xc");
    free(golden);
    free(buf);
    free(hdr);
    hvt_vectors_finish(&v);
}

static void test_seal_and_open(void **state)
{
    (void)state;
    hv_keypair *ngo = hvt_keys(1), *shelter = hvt_keys(50), *clinic = hvt_keys(90);
    hv_envelope env, dec;
    hv_envelope_init(&env, HV_MSG_CASE_TRANSFER, "ngo.xa", hv_keypair_public(ngo), "shelter.xc",
                     hv_keypair_public(shelter));
    static const uint8_t pt[] = "{\"subject\":{\"name\":\"Synthetic Person\"}}";
    uint8_t *wire, *out;
    size_t wire_len, out_len;
    assert_int_equal(hv_envelope_seal(&env, ngo, hv_keypair_public(shelter), pt, sizeof pt,
                                      &wire, &wire_len),
                     HV_OK);
    assert_null(memmem(wire, wire_len, "Synthetic", 9));
    assert_int_equal(hv_envelope_decode(wire, wire_len, &dec), HV_OK);
    assert_int_equal(hv_envelope_open(&dec, "shelter.xc", shelter, hv_keypair_public(ngo)->sign,
                                      &out, &out_len),
                     HV_OK);
    assert_int_equal(out_len, sizeof pt);
    assert_memory_equal(out, pt, sizeof pt);
    free(out);
    /* The hop count is outside the signature: brokers may raise it. */
    dec.hops = 3;
    uint8_t *hopped;
    size_t hopped_len;
    assert_int_equal(hv_envelope_encode(&dec, &hopped, &hopped_len), HV_OK);
    hv_envelope dec2;
    assert_int_equal(hv_envelope_decode(hopped, hopped_len, &dec2), HV_OK);
    assert_int_equal(hv_envelope_open(&dec2, "shelter.xc", shelter,
                                      hv_keypair_public(ngo)->sign, &out, &out_len),
                     HV_OK);
    free(out);
    free(hopped);
    /* Another node cannot open it; the wrong self id is a misaddress. */
    assert_int_equal(hv_envelope_open(&dec, "clinic.xc", clinic, hv_keypair_public(ngo)->sign,
                                      &out, &out_len),
                     HV_ECRYPTO);
    assert_int_equal(hv_envelope_open(&dec, "clinic.xc", shelter, hv_keypair_public(ngo)->sign,
                                      &out, &out_len),
                     HV_EADDRESS);
    /* Rewriting the recipient in the header breaks the signature. */
    size_t to_at = (size_t)((const uint8_t *)memmem(wire, wire_len, "shelter.xc", 10) - wire);
    wire[to_at] = 'x';
    assert_int_equal(hv_envelope_decode(wire, wire_len, &dec), HV_OK);
    assert_int_equal(hv_envelope_open(&dec, "xhelter.xc", shelter,
                                      hv_keypair_public(ngo)->sign, &out, &out_len),
                     HV_ECRYPTO);
    /* Plaintext above the type's maximum is refused before sealing. */
    hv_envelope_init(&env, HV_MSG_STATUS, "shelter.xc", hv_keypair_public(shelter), "ngo.xa",
                     hv_keypair_public(ngo));
    uint8_t *big = calloc(1, 64 * 1024 + 1);
    assert_int_equal(hv_envelope_seal(&env, shelter, hv_keypair_public(ngo), big, 64 * 1024 + 1,
                                      &out, &out_len),
                     HV_ETOOBIG);
    free(big);
    free(wire);
    hv_keypair_free(&ngo);
    hv_keypair_free(&shelter);
    hv_keypair_free(&clinic);
}

/* The body is sealed in place (hv_envelope_seal writes around it): the
 * bytes are the canonical encoding of the sealed envelope, whichever length
 * form the body's bin takes (8, 16 and 32 bits), and it opens. */
static void test_seal_in_place_is_canonical(void **state)
{
    (void)state;
    hv_keypair *ngo = hvt_keys(1), *shelter = hvt_keys(50);
    static const size_t sizes[] = {0, 1, 255 - HV_SEAL_OVERHEAD, 256 - HV_SEAL_OVERHEAD,
                                   65535 - HV_SEAL_OVERHEAD, 65536 - HV_SEAL_OVERHEAD, 200000};
    uint8_t *pt = malloc(200000);
    for (size_t i = 0; i < 200000; i++)
        pt[i] = (uint8_t)(i * 13);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        hv_envelope env, dec;
        hv_envelope_init(&env, HV_MSG_CASE_TRANSFER, "ngo.xa", hv_keypair_public(ngo),
                         "shelter.xc", hv_keypair_public(shelter));
        uint8_t *wire, *again, *out;
        size_t wire_len, again_len, out_len;
        assert_int_equal(hv_envelope_seal(&env, ngo, hv_keypair_public(shelter), pt, sizes[k],
                                          &wire, &wire_len),
                         HV_OK);
        assert_int_equal(hv_envelope_decode(wire, wire_len, &dec), HV_OK);
        assert_int_equal(dec.body_len, sizes[k] + HV_SEAL_OVERHEAD);
        assert_int_equal(hv_envelope_encode(&dec, &again, &again_len), HV_OK);
        assert_int_equal(again_len, wire_len);
        assert_memory_equal(again, wire, wire_len);
        assert_int_equal(hv_envelope_open(&dec, "shelter.xc", shelter,
                                          hv_keypair_public(ngo)->sign, &out, &out_len),
                         HV_OK);
        assert_int_equal(out_len, sizes[k]);
        if (sizes[k] > 0)
            assert_memory_equal(out, pt, sizes[k]);
        free(out);
        free(again);
        free(wire);
    }
    free(pt);
    hv_keypair_free(&ngo);
    hv_keypair_free(&shelter);
}

static void test_type_rules(void **state)
{
    (void)state;
    for (unsigned t = 1; t <= HV_MSG_TYPE_MAX; t++) {
        const hv_msg_rule *r = hv_msg_rule_get(t);
        assert_non_null(r);
        assert_int_equal(hv_msg_type_from_name(r->name), t);
        assert_true(r->sender_roles != 0 && r->rcpt_roles != 0);
    }
    assert_null(hv_msg_rule_get(0));
    assert_null(hv_msg_rule_get(HV_MSG_TYPE_MAX + 1));
    /* Only a router sends OFFER; only an intake sends CASE_TRANSFER. */
    assert_int_equal(hv_msg_rule_get(HV_MSG_OFFER)->sender_roles, HV_ROLE_BIT(HV_ROLE_ROUTER));
    assert_int_equal(hv_msg_rule_get(HV_MSG_CASE_TRANSFER)->sender_roles,
                     HV_ROLE_BIT(HV_ROLE_INTAKE));
    /* Only a provider answers an erasure with a legal hold, and only to an intake. */
    assert_int_equal(hv_msg_rule_get(HV_MSG_LEGAL_HOLD)->sender_roles,
                     HV_ROLE_BIT(HV_ROLE_PROVIDER));
    assert_int_equal(hv_msg_rule_get(HV_MSG_LEGAL_HOLD)->rcpt_roles, HV_ROLE_BIT(HV_ROLE_INTAKE));
    assert_int_equal(hv_msg_type_from_name("LEGAL_HOLD"), HV_MSG_LEGAL_HOLD);
}

int main(void)
{
    assert_int_equal(hv_crypto_init(), HV_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_is_canonical),
        cmocka_unit_test(test_header_alone),
        cmocka_unit_test(test_truncation_at_every_byte),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_version_and_type),
        cmocka_unit_test(test_oversize_lengths),
        cmocka_unit_test(test_field_rules),
        cmocka_unit_test(test_golden_bytes),
        cmocka_unit_test(test_seal_and_open),
        cmocka_unit_test(test_seal_in_place_is_canonical),
        cmocka_unit_test(test_type_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
