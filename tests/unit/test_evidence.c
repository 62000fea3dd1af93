/* Evidence bundles (common/hv_evidence_bundle.h): every rule of offline
 * verification with its exact refusal — the registry's signature and
 * version, the message time within the registry, the signer listed and
 * active, its current, next or previous keys, its role, the signature —
 * and a bundle written as JSON parses back to the same items. */
#include "hv_test.h"

#include "hv_evidence_bundle.h"

#define S_T0 1796083200ull /* 2026-12-01T00:00:00Z, within the registry below */

static hv_keypair *s_auth, *s_ngo, *s_ngo_next, *s_shelter, *s_shelter_old, *s_clinic,
    *s_router;

static void s_keys_obj(const hv_keypair *kp, char *out, size_t cap)
{
    const hv_pubkeys *p = hv_keypair_public(kp);
    char *s = hvt_hex(p->sign, 32), *b = hvt_hex(p->box, 32), *t = hvt_hex(p->transport, 32);
    snprintf(out, cap, "{\"sign\":\"%s\",\"box\":\"%s\",\"transport\":\"%s\"}", s, b, t);
    free(s);
    free(b);
    free(t);
}

/* A signed registry `version` (by `auth`); `with_shelter` false leaves
 * shelter.xc out. Caller frees `*buf`. */
static void s_registry(const hv_keypair *auth, unsigned version, bool with_shelter,
                       uint8_t **buf, size_t *len)
{
    char kb[7][400];
    s_keys_obj(s_router, kb[0], sizeof kb[0]);
    s_keys_obj(s_ngo, kb[1], sizeof kb[1]);
    s_keys_obj(s_ngo_next, kb[2], sizeof kb[2]);
    s_keys_obj(s_shelter, kb[3], sizeof kb[3]);
    s_keys_obj(s_shelter_old, kb[4], sizeof kb[4]);
    s_keys_obj(s_clinic, kb[5], sizeof kb[5]);
    hv_keypair *broker = hvt_keys(90);
    s_keys_obj(broker, kb[6], sizeof kb[6]);
    hv_keypair_free(&broker);
    static const char v[] = "\"valid_from\":\"2026-11-01T00:00:00Z\","
                            "\"valid_until\":\"2027-11-01T00:00:00Z\"";
    char shelter[1600] = "";
    if (with_shelter)
        snprintf(shelter, sizeof shelter,
                 ",{\"id\":\"shelter.xc\",\"role\":\"provider\",\"country\":\"XC\","
                 "\"organisation\":\"Example Shelter\",\"home\":\"broker.xc\",\"services\":"
                 "[\"shelter\"],\"keys\":%s,\"previous_keys\":%s,\"previous_until\":"
                 "\"2026-12-02T00:00:00Z\",%s}",
                 kb[3], kb[4], v);
    char json[8192];
    int n = snprintf(
        json, sizeof json,
        "{\"network\":\"example-evidence\",\"version\":%u,\"issued_at\":\"2026-11-01T00:00:00Z\","
        "\"expires_at\":\"2027-01-01T00:00:00Z\",\"nodes\":["
        "{\"id\":\"broker.xc\",\"role\":\"broker\",\"country\":\"XC\",\"organisation\":"
        "\"Example Broker\",\"endpoints\":{\"workers\":\"tcp://127.0.0.1:7301\"},\"keys\":%s,%s},"
        "{\"id\":\"router.xc\",\"role\":\"router\",\"country\":\"XC\",\"organisation\":"
        "\"Example NRM\",\"home\":\"broker.xc\",\"keys\":%s,%s},"
        "{\"id\":\"ngo.xc\",\"role\":\"intake\",\"country\":\"XC\",\"organisation\":"
        "\"Example NGO\",\"home\":\"broker.xc\",\"keys\":%s,\"next_keys\":%s,%s},"
        "{\"id\":\"clinic.xc\",\"role\":\"provider\",\"country\":\"XC\",\"organisation\":"
        "\"Example Clinic\",\"home\":\"broker.xc\",\"services\":[\"medical\"],\"keys\":%s,"
        "\"revoked\":true,%s}%s]}",
        version, kb[6], v, kb[0], v, kb[1], kb[2], v, kb[5], v, shelter);
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    if (hv_registry_from_json(json, (size_t)n, NULL, &reg, &e) != HV_OK)
        fail_msg("registry: %s", e.text);
    assert_int_equal(hv_registry_sign(reg, auth, buf, len), HV_OK);
    hv_registry_free(&reg);
}

/* An item: `type` from `from` (signed by `signer`, naming `kid_of`'s key
 * id) to `to`, at `t` seconds, checked against registry `version`. */
static void s_item(hv_evidence_item *it, unsigned type, const char *from,
                   const hv_keypair *kid_of, const hv_keypair *signer, const char *to,
                   uint64_t t, uint64_t version)
{
    hv_envelope env, dec;
    hv_envelope_init(&env, type, from, hv_keypair_public(kid_of), to,
                     hv_keypair_public(s_router));
    env.created_at_ms = t * 1000 + 5;
    memset(env.referral, 0x42, sizeof env.referral);
    uint8_t *wire;
    size_t len;
    static const uint8_t pt[] = "{}";
    assert_int_equal(hv_envelope_seal(&env, signer, hv_keypair_public(s_router), pt, 2, &wire,
                                      &len),
                     HV_OK);
    assert_int_equal(hv_envelope_decode(wire, len, &dec), HV_OK);
    memset(it, 0, sizeof *it);
    it->sent = false;
    memcpy(it->header, dec.header, dec.header_len);
    it->header_len = dec.header_len;
    hv_body_digest(dec.body, dec.body_len, it->body_digest);
    memcpy(it->sig, dec.sig, HV_SIG_BYTES);
    it->verified_at_ms = env.created_at_ms + 100;
    it->registry_version = version;
    assert_int_equal(hv_envelope_decode_header(it->header, it->header_len, &it->hdr), HV_OK);
    it->hdr.header = NULL;
    free(wire);
}

/* A bundle of one registry (v2 by the authority, unless told) and one item. */
typedef struct s_case {
    hv_evidence_bundle b;
    hv_evidence_registry reg;
    hv_evidence_item item;
} s_case;

static void s_case_init(s_case *c, const hv_keypair *auth, unsigned version, unsigned stated)
{
    memset(c, 0, sizeof *c);
    snprintf(c->b.node, sizeof c->b.node, "ngo.xc");
    memset(c->b.referral, 0x42, 16);
    s_registry(auth, version, true, &c->reg.bytes, &c->reg.len);
    c->reg.version = stated;
    c->b.registries = &c->reg;
    c->b.n_registries = 1;
    c->b.items = &c->item;
    c->b.n_items = 1;
}

static hv_key_slot s_seen;
static void s_each(void *ctx, const hv_evidence_checked *c)
{
    (void)ctx;
    s_seen = c->slot;
    assert_int_equal(c->index, 1);
}

/* Verifies `c`; checks the code and, when `text` is not NULL, the message. */
static void s_expect(s_case *c, hv_err want, const char *text)
{
    hv_errmsg e = {""};
    size_t failed = 99;
    s_seen = HV_KEYS_NONE;
    hv_err err = hv_evidence_verify(&c->b, hv_keypair_public(s_auth)->sign, s_each, NULL,
                                    &failed, &e);
    if (err != want)
        fail_msg("verify: %s (%s), wanted %s", hv_errname(err), e.text, hv_errname(want));
    if (text != NULL)
        assert_string_equal(e.text, text);
    free(c->reg.bytes);
    c->reg.bytes = NULL;
}

static void test_keys_of_the_time(void **state)
{
    (void)state;
    s_case c;
    /* Current keys. */
    s_case_init(&c, s_auth, 2, 2);
    s_item(&c.item, HV_MSG_CASE_TRANSFER, "ngo.xc", s_ngo, s_ngo, "shelter.xc", S_T0, 2);
    s_expect(&c, HV_OK, NULL);
    assert_int_equal(s_seen, HV_KEYS_CURRENT);
    /* Next keys, listed ahead of the switch. */
    s_case_init(&c, s_auth, 2, 2);
    s_item(&c.item, HV_MSG_CASE_TRANSFER, "ngo.xc", s_ngo_next, s_ngo_next, "shelter.xc", S_T0,
           2);
    s_expect(&c, HV_OK, NULL);
    assert_int_equal(s_seen, HV_KEYS_NEXT);
    /* Previous keys, before previous_until (2026-12-02) ... */
    s_case_init(&c, s_auth, 2, 2);
    s_item(&c.item, HV_MSG_RECEIPT, "shelter.xc", s_shelter_old, s_shelter_old, "ngo.xc", S_T0,
           2);
    s_expect(&c, HV_OK, NULL);
    assert_int_equal(s_seen, HV_KEYS_PREVIOUS);
    /* ... and not after. */
    s_case_init(&c, s_auth, 2, 2);
    s_item(&c.item, HV_MSG_RECEIPT, "shelter.xc", s_shelter_old, s_shelter_old, "ngo.xc",
           S_T0 + 2 * 86400, 2);
    char want[300], kid[17];
    hv_hex(hv_keypair_public(s_shelter_old)->key_id, 8, kid);
    snprintf(want, sizeof want, "item 1 (RECEIPT shelter.xc \u2192 ngo.xc): key %s is not a key "
             "registry v2 lists for 'shelter.xc' at 2026-12-03T00:00:00Z", kid);
    s_expect(&c, HV_EAUTH, want);
}

static void test_refusals(void **state)
{
    (void)state;
    s_case c;
    char want[300], kid[17];
    /* Signed by another node with the sender's key id. */
    s_case_init(&c, s_auth, 2, 2);
    s_item(&c.item, HV_MSG_RECEIPT, "shelter.xc", s_shelter, s_router, "ngo.xc", S_T0, 2);
    hv_hex(hv_keypair_public(s_shelter)->key_id, 8, kid);
    snprintf(want, sizeof want, "item 1 (RECEIPT shelter.xc \u2192 ngo.xc): the signature does "
             "not verify with shelter.xc's current key %s in registry v2", kid);
    s_expect(&c, HV_ECRYPTO, want);
    /* One bit of the body digest. */
    s_case_init(&c, s_auth, 2, 2);
    s_item(&c.item, HV_MSG_RECEIPT, "shelter.xc", s_shelter, s_shelter, "ngo.xc", S_T0, 2);
    c.item.body_digest[31] ^= 1;
    s_expect(&c, HV_ECRYPTO, want);
    /* A revoked node. */
    s_case_init(&c, s_auth, 2, 2);
    s_item(&c.item, HV_MSG_RECEIPT, "clinic.xc", s_clinic, s_clinic, "ngo.xc", S_T0, 2);
    s_expect(&c, HV_EAUTH, "item 1 (RECEIPT clinic.xc \u2192 ngo.xc): 'clinic.xc' was not an "
             "active node at 2026-12-01T00:00:00Z in registry v2 (revoked, or outside its "
             "validity)");
    /* A role that may not send the type. */
    s_case_init(&c, s_auth, 2, 2);
    s_item(&c.item, HV_MSG_RECEIPT, "ngo.xc", s_ngo, s_ngo, "router.xc", S_T0, 2);
    s_expect(&c, HV_EFORBIDDEN, "item 1 (RECEIPT ngo.xc \u2192 router.xc): an intake may not "
             "send RECEIPT");
    /* A time outside the registry (it expires 2027-01-01). */
    s_case_init(&c, s_auth, 2, 2);
    s_item(&c.item, HV_MSG_CASE_TRANSFER, "ngo.xc", s_ngo, s_ngo, "shelter.xc",
           S_T0 + 40 * 86400, 2);
    s_expect(&c, HV_EREG_EXPIRED, "item 1 (CASE_TRANSFER ngo.xc \u2192 shelter.xc): sent at "
             "2027-01-10T00:00:00Z, outside registry v2's validity (2026-11-01T00:00:00Z until "
             "2027-01-01T00:00:00Z)");
    /* A registry the bundle does not carry. */
    s_case_init(&c, s_auth, 2, 2);
    s_item(&c.item, HV_MSG_CASE_TRANSFER, "ngo.xc", s_ngo, s_ngo, "shelter.xc", S_T0, 3);
    s_expect(&c, HV_EAUTH, "item 1 (CASE_TRANSFER ngo.xc \u2192 shelter.xc): registry v3 is not "
             "in the bundle");
    /* A registry version that is not the file's. */
    s_case_init(&c, s_auth, 2, 3);
    s_item(&c.item, HV_MSG_CASE_TRANSFER, "ngo.xc", s_ngo, s_ngo, "shelter.xc", S_T0, 3);
    s_expect(&c, HV_EREG_INVALID, "registry v3: the file is version 2");
    /* A registry signed by someone else. */
    hv_keypair *other = hvt_keys(150);
    s_case_init(&c, other, 2, 2);
    s_item(&c.item, HV_MSG_CASE_TRANSFER, "ngo.xc", s_ngo, s_ngo, "shelter.xc", S_T0, 2);
    s_expect(&c, HV_EREG_SIGNATURE, "registry v2: the authority's signature does not verify");
    hv_keypair_free(&other);
    /* The signer left out of the registry. */
    s_case_init(&c, s_auth, 2, 2);
    free(c.reg.bytes);
    s_registry(s_auth, 2, false, &c.reg.bytes, &c.reg.len);
    s_item(&c.item, HV_MSG_RECEIPT, "shelter.xc", s_shelter, s_shelter, "ngo.xc", S_T0, 2);
    s_expect(&c, HV_EAUTH, "item 1 (RECEIPT shelter.xc \u2192 ngo.xc): registry v2 does not "
             "list the signer 'shelter.xc'");
}

/* Written as JSON, a bundle parses back to the same items and verifies;
 * a field for people that disagrees with the header is refused. */
static void test_json_round_trip(void **state)
{
    (void)state;
    uint8_t *reg;
    size_t reg_len;
    s_registry(s_auth, 2, true, &reg, &reg_len);
    hv_evidence_item it;
    s_item(&it, HV_MSG_WITHDRAWN, "shelter.xc", s_shelter, s_shelter, "ngo.xc", S_T0, 2);
    it.sent = true;
    json_t *items = json_array(), *regs = json_array();
    json_array_append_new(items, hv_evidence_item_json(&it));
    json_array_append_new(regs, hv_evidence_registry_json(2, reg, reg_len));
    json_t *b = json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "format", HV_EVIDENCE_FORMAT,
                          "node", "shelter.xc", "referral", "42424242424242424242424242424242",
                          "exported_at", 1796090000, "registries", regs, "items", items);
    char *text = json_dumps(b, JSON_PRESERVE_ORDER);
    hv_evidence_bundle *got = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_evidence_parse((const uint8_t *)text, strlen(text), &got, &e), HV_OK);
    assert_string_equal(got->node, "shelter.xc");
    assert_int_equal(got->exported_at, 1796090000);
    assert_int_equal(got->n_items, 1);
    assert_true(got->items[0].sent);
    assert_int_equal(got->items[0].header_len, it.header_len);
    assert_memory_equal(got->items[0].header, it.header, it.header_len);
    assert_memory_equal(got->items[0].sig, it.sig, HV_SIG_BYTES);
    assert_int_equal(got->items[0].verified_at_ms, it.verified_at_ms);
    assert_int_equal(got->registries[0].len, reg_len);
    assert_int_equal(hv_evidence_verify(got, hv_keypair_public(s_auth)->sign, NULL, NULL, NULL,
                                        &e),
                     HV_OK);
    hv_evidence_bundle_free(&got);
    free(text);
    /* Another "to" than the header's. */
    json_object_set_new(json_array_get(json_object_get(b, "items"), 0), "to",
                        json_string("router.xc"));
    text = json_dumps(b, JSON_PRESERVE_ORDER);
    assert_int_equal(hv_evidence_parse((const uint8_t *)text, strlen(text), &got, &e),
                     HV_EDECODE);
    assert_string_equal(e.text, "items[0]: 'to' differs from its signed header");
    assert_null(got);
    free(text);
    /* Another referral than the bundle's. */
    json_object_set_new(json_array_get(json_object_get(b, "items"), 0), "to",
                        json_string("ngo.xc"));
    json_object_set_new(b, "referral", json_string("43424242424242424242424242424242"));
    text = json_dumps(b, JSON_PRESERVE_ORDER);
    assert_int_equal(hv_evidence_parse((const uint8_t *)text, strlen(text), &got, &e),
                     HV_EDECODE);
    assert_string_equal(e.text, "items[0]: 'referral' differs from its signed header");
    free(text);
    /* A member the format does not have. */
    json_object_set_new(b, "referral", json_string("42424242424242424242424242424242"));
    json_object_set_new(b, "case", json_string("anything"));
    text = json_dumps(b, JSON_PRESERVE_ORDER);
    assert_int_equal(hv_evidence_parse((const uint8_t *)text, strlen(text), &got, &e),
                     HV_EDECODE);
    assert_string_equal(e.text, "the bundle: unknown member 'case'");
    free(text);
    json_decref(b);
    free(reg);
}

int main(void)
{
    assert_int_equal(hv_crypto_init(), HV_OK);
    s_auth = hvt_keys(10);
    s_ngo = hvt_keys(20);
    s_ngo_next = hvt_keys(30);
    s_shelter = hvt_keys(40);
    s_shelter_old = hvt_keys(50);
    s_clinic = hvt_keys(60);
    s_router = hvt_keys(70);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_of_the_time),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_json_round_trip),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    hv_keypair_free(&s_auth);
    hv_keypair_free(&s_ngo);
    hv_keypair_free(&s_ngo_next);
    hv_keypair_free(&s_shelter);
    hv_keypair_free(&s_shelter_old);
    hv_keypair_free(&s_clinic);
    hv_keypair_free(&s_router);
    return rc;
}
