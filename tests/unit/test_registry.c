/* The network registry: JSON source, signing, loading, every refusal with
 * its exact error (from the source and from a signed file), lookups. */
#include "hv_test.h"

#include "hv_keys.h"
#include "hv_registry_internal.h"

#define S_NOW 1793491200ull /* 2026-11-01T00:00:00Z */
#define S_DAY 86400ull

static hv_keypair *s_authority, *s_other_authority;
static char s_keys_json[10][400]; /* inline "keys" objects: nodes 0..6, then spares */

static void s_make_keys(void)
{
    for (int i = 0; i < 10; i++) {
        hv_keypair *kp = NULL;
        assert_int_equal(hv_keypair_generate(&kp), HV_OK);
        const hv_pubkeys *p = hv_keypair_public(kp);
        char *s = hvt_hex(p->sign, 32), *b = hvt_hex(p->box, 32), *t = hvt_hex(p->transport, 32);
        snprintf(s_keys_json[i], sizeof s_keys_json[i],
                 "{\"sign\":\"%s\",\"box\":\"%s\",\"transport\":\"%s\"}", s, b, t);
        free(s);
        free(b);
        free(t);
        hv_keypair_free(&kp);
    }
    assert_int_equal(hv_keypair_generate(&s_authority), HV_OK);
    assert_int_equal(hv_keypair_generate(&s_other_authority), HV_OK);
}

/* Node templates; "%K" is replaced by that node's keys object. */
static const char *const s_nodes[] = {
    "{\"id\":\"broker.xa\",\"role\":\"broker\",\"country\":\"XA\",\"organisation\":\"Example A\","
    "\"endpoints\":{\"workers\":\"tcp://127.0.0.1:7101\",\"peers\":\"tcp://127.0.0.1:7102\"},",
    "{\"id\":\"broker.xc\",\"role\":\"broker\",\"country\":\"XC\",\"organisation\":\"Example C\","
    "\"endpoints\":{\"workers\":\"tcp://127.0.0.1:7301\"},",
    "{\"id\":\"ngo.xa\",\"role\":\"intake\",\"country\":\"XA\",\"organisation\":\"Example NGO\","
    "\"home\":\"broker.xa\",",
    "{\"id\":\"router.xc\",\"role\":\"router\",\"country\":\"XC\",\"organisation\":\"Example NRM\","
    "\"home\":\"broker.xc\",",
    "{\"id\":\"shelter.xc\",\"role\":\"provider\",\"country\":\"XC\",\"organisation\":\"Example "
    "Shelter\",\"home\":\"broker.xc\",\"services\":[\"shelter\",\"psychosocial\"],"
    "\"regions\":[\"Example Capital Region\"],\"languages\":[\"en\",\"fr\"],\"capacity\":8,",
    "{\"id\":\"clinic.xc\",\"role\":\"provider\",\"country\":\"XC\",\"organisation\":\"Example "
    "Clinic\",\"home\":\"broker.xc\",\"services\":[\"medical\",\"shelter\"],"
    "\"accepts_minors\":true,\"capacity\":3,\"revoked\":true,",
    "{\"id\":\"legal.xc\",\"role\":\"provider\",\"country\":\"XC\",\"organisation\":\"Example "
    "Legal\",\"home\":\"broker.xc\",\"services\":[\"legal_aid\",\"shelter\"],",
};
#define S_NODE_COUNT 7

/* Builds the source with `version`; `patch` (may be NULL) is a pair of
 * strings: the first occurrence of patch[0] is replaced by patch[1]. */
static char *s_source(unsigned version, const char *const patch[2])
{
    size_t cap = 16384;
    char *out = malloc(cap);
    int n = snprintf(out, cap,
                     "{\"network\":\"example-route\",\"version\":%u,\"issued_at\":"
                     "\"2026-10-01T00:00:00Z\",\"expires_at\":\"2027-01-01T00:00:00Z\",\"nodes\":[",
                     version);
    for (int i = 0; i < S_NODE_COUNT; i++)
        n += snprintf(out + n, cap - (size_t)n,
                      "%s%s\"keys\":%s,\"valid_from\":\"2026-10-01T00:00:00Z\","
                      "\"valid_until\":\"2027-10-01T00:00:00Z\"}",
                      i ? "," : "", s_nodes[i], s_keys_json[i]);
    snprintf(out + n, cap - (size_t)n, "]}");
    if (patch != NULL) {
        char *at = strstr(out, patch[0]);
        assert_non_null(at);
        size_t old = strlen(patch[0]), neu = strlen(patch[1]);
        char *res = malloc(strlen(out) - old + neu + 1);
        sprintf(res, "%.*s%s%s", (int)(at - out), out, patch[1], at + old);
        free(out);
        out = res;
    }
    return out;
}

static hv_err s_from_json(unsigned version, const char *const patch[2], hv_registry **reg,
                          hv_errmsg *e)
{
    char *src = s_source(version, patch);
    hv_err err = hv_registry_from_json(src, strlen(src), NULL, reg, e);
    free(src);
    return err;
}

/* Signs the registry and loads it back at S_NOW. */
static hv_err s_round(const hv_registry *reg, uint64_t now, uint64_t held, hv_registry **out,
                      hv_errmsg *e)
{
    uint8_t *buf;
    size_t len;
    assert_int_equal(hv_registry_sign(reg, s_authority, &buf, &len), HV_OK);
    hv_err err = hv_registry_load(buf, len, hv_keypair_public(s_authority)->sign, now, held, out,
                                  e);
    free(buf);
    return err;
}

/* Encodes `reg` as it is, without validation, and signs it: what a buggy
 * or hostile authority tool could produce. */
static hv_err s_load_unchecked(const hv_registry *reg, hv_errmsg *e)
{
    uint8_t *payload, *buf;
    size_t plen, len;
    assert_int_equal(hv_registry_encode_payload(reg, &payload, &plen), HV_OK);
    assert_int_equal(hv_registry_sign_payload(payload, plen, s_authority, &buf, &len), HV_OK);
    hv_registry *out = NULL;
    hv_err err = hv_registry_load(buf, len, hv_keypair_public(s_authority)->sign, S_NOW, 0, &out,
                                  e);
    assert_true(err != HV_OK || out != NULL);
    hv_registry_free(&out);
    free(payload);
    free(buf);
    return err;
}

static void test_valid_round_trip_and_lookups(void **state)
{
    (void)state;
    hv_registry *reg = NULL, *loaded = NULL;
    hv_errmsg e = {""};
    assert_int_equal(s_from_json(3, NULL, &reg, &e), HV_OK);
    assert_int_equal(s_round(reg, S_NOW, 0, &loaded, &e), HV_OK);
    assert_string_equal(hv_registry_network(loaded), "example-route");
    assert_int_equal(hv_registry_version(loaded), 3);
    assert_int_equal(hv_registry_count(loaded), S_NODE_COUNT);
    const hv_node *shelter = hv_registry_find(loaded, "shelter.xc");
    assert_non_null(shelter);
    assert_int_equal(shelter->role, HV_ROLE_PROVIDER);
    assert_int_equal(shelter->capacity, 8);
    assert_int_equal(shelter->n_languages, 2);
    assert_string_equal(shelter->languages[1], "fr");
    assert_string_equal(shelter->regions[0], "Example Capital Region");
    assert_ptr_equal(hv_registry_find_by_transport(loaded, shelter->keys.transport), shelter);
    assert_null(hv_registry_find(loaded, "nobody.xc"));
    /* Providers of shelter in XC: the revoked clinic is left out. */
    const hv_node *found[4];
    assert_int_equal(hv_registry_providers(loaded, "XC", HV_SVC_SHELTER, S_NOW, found, 4), 2);
    assert_string_equal(found[0]->id, "shelter.xc");
    assert_string_equal(found[1]->id, "legal.xc");
    assert_int_equal(hv_registry_providers(loaded, "XA", HV_SVC_SHELTER, S_NOW, found, 4), 0);
    assert_int_equal(hv_registry_providers(loaded, "XC", HV_SVC_LEGAL_AID, S_NOW, found, 4), 1);
    /* Validity windows. */
    assert_false(hv_node_active(hv_registry_find(loaded, "clinic.xc"), S_NOW));
    assert_true(hv_node_active(shelter, S_NOW));
    assert_false(hv_node_active(shelter, S_NOW + 400 * S_DAY));
    /* Canonical: the loaded registry encodes to the same payload. */
    uint8_t *p1, *p2;
    size_t l1, l2;
    assert_int_equal(hv_registry_encode_payload(reg, &p1, &l1), HV_OK);
    assert_int_equal(hv_registry_encode_payload(loaded, &p2, &l2), HV_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(p1, p2, l1);
    free(p1);
    free(p2);
    hv_registry_free(&reg);
    hv_registry_free(&loaded);
    hv_registry_free(&loaded);
}

static void test_bad_signature(void **state)
{
    (void)state;
    hv_registry *reg = NULL, *out = NULL;
    hv_errmsg e = {""};
    assert_int_equal(s_from_json(1, NULL, &reg, &e), HV_OK);
    uint8_t *buf;
    size_t len;
    assert_int_equal(hv_registry_sign(reg, s_authority, &buf, &len), HV_OK);
    /* Signed by another key than the pinned one. */
    assert_int_equal(hv_registry_load(buf, len, hv_keypair_public(s_other_authority)->sign, S_NOW,
                                      0, &out, &e),
                     HV_EREG_SIGNATURE);
    assert_null(out);
    assert_string_equal(e.text, "registry signature does not verify with the pinned authority key");
    /* One changed byte in the content (a capacity digit, say). */
    uint8_t *at = memmem(buf, len, "Example Shelter", 15);
    assert_non_null(at);
    at[8] = 'X';
    assert_int_equal(hv_registry_load(buf, len, hv_keypair_public(s_authority)->sign, S_NOW, 0,
                                      &out, &e),
                     HV_EREG_SIGNATURE);
    /* Unsigned: the bare payload is not a signed registry. */
    uint8_t *payload;
    size_t plen;
    assert_int_equal(hv_registry_encode_payload(reg, &payload, &plen), HV_OK);
    assert_int_equal(hv_registry_load(payload, plen, hv_keypair_public(s_authority)->sign, S_NOW,
                                      0, &out, &e),
                     HV_EDECODE);
    assert_string_equal(e.text, "not a Haven signed registry");
    free(payload);
    free(buf);
    hv_registry_free(&reg);
}

static void test_expired_and_not_yet_valid(void **state)
{
    (void)state;
    hv_registry *reg = NULL, *out = NULL;
    hv_errmsg e = {""};
    assert_int_equal(s_from_json(1, NULL, &reg, &e), HV_OK);
    uint64_t expires = hv_registry_expires_at(reg);
    assert_int_equal(s_round(reg, expires, 0, &out, &e), HV_EREG_EXPIRED);
    assert_non_null(strstr(e.text, "until 2027-01-01T00:00:00Z"));
    assert_int_equal(s_round(reg, hv_registry_issued_at(reg) - 1, 0, &out, &e), HV_EREG_EXPIRED);
    assert_int_equal(s_round(reg, expires - 1, 0, &out, &e), HV_OK);
    hv_registry_free(&out);
    hv_registry_free(&reg);
}

static void test_older_version_refused(void **state)
{
    (void)state;
    hv_registry *reg = NULL, *out = NULL;
    hv_errmsg e = {""};
    assert_int_equal(s_from_json(4, NULL, &reg, &e), HV_OK);
    assert_int_equal(s_round(reg, S_NOW, 5, &out, &e), HV_EREG_ROLLBACK);
    assert_string_equal(e.text, "registry version 4 is older than version 5 already held");
    assert_int_equal(s_round(reg, S_NOW, 4, &out, &e), HV_OK); /* the same again is fine */
    hv_registry_free(&out);
    hv_registry_free(&reg);
}

static void test_unknown_role(void **state)
{
    (void)state;
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    static const char *const patch[2] = {"\"role\":\"router\"", "\"role\":\"dispatcher\""};
    assert_int_equal(s_from_json(1, patch, &reg, &e), HV_EREG_ROLE);
    assert_string_equal(e.text, "nodes[3].role: unknown role \"dispatcher\" (expected broker, "
                                "intake, router, provider or operator)");
    assert_int_equal(s_from_json(1, NULL, &reg, &e), HV_OK);
    reg->nodes[3].role = 9;
    assert_int_equal(s_load_unchecked(reg, &e), HV_EREG_ROLE);
    assert_non_null(strstr(e.text, "node router.xc: unknown role 9"));
    hv_registry_free(&reg);
}

static void test_duplicate_id(void **state)
{
    (void)state;
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    static const char *const patch[2] = {"\"id\":\"legal.xc\"", "\"id\":\"shelter.xc\""};
    assert_int_equal(s_from_json(1, patch, &reg, &e), HV_EREG_DUPLICATE);
    assert_string_equal(e.text, "node id shelter.xc appears twice");
    assert_int_equal(s_from_json(1, NULL, &reg, &e), HV_OK);
    strcpy(reg->nodes[6].id, "ngo.xa");
    assert_int_equal(s_load_unchecked(reg, &e), HV_EREG_DUPLICATE);
    /* Two nodes sharing one transport key would share one identity. */
    strcpy(reg->nodes[6].id, "legal.xc");
    memcpy(reg->nodes[6].keys.transport, reg->nodes[5].keys.transport, 32);
    assert_int_equal(s_load_unchecked(reg, &e), HV_EREG_DUPLICATE);
    assert_string_equal(e.text, "nodes clinic.xc and legal.xc share a transport key");
    hv_registry_free(&reg);
}

static void test_malformed_key(void **state)
{
    (void)state;
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    /* Hex too short in the source. */
    char *src = s_source(1, NULL);
    char *sign = strstr(src, "\"sign\":\"");
    assert_non_null(sign);
    memmove(sign + 8, sign + 10, strlen(sign + 10) + 1);
    assert_int_equal(hv_registry_from_json(src, strlen(src), NULL, &reg, &e), HV_EKEYFORMAT);
    assert_string_equal(e.text, "nodes[0]: public keys: 'sign' must be 64 hex digits");
    free(src);
    /* Not a usable key in a signed registry: a low-order transport key. */
    assert_int_equal(s_from_json(1, NULL, &reg, &e), HV_OK);
    memset(reg->nodes[2].keys.transport, 0, 32);
    assert_int_equal(s_load_unchecked(reg, &e), HV_EKEYFORMAT);
    assert_string_equal(e.text, "node ngo.xa: a public key is not a usable key");
    hv_registry_free(&reg);
}

static void test_missing_home_broker(void **state)
{
    (void)state;
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    static const char *const patch[2] = {"\"home\":\"broker.xa\"", "\"home\":\"broker.xb\""};
    assert_int_equal(s_from_json(1, patch, &reg, &e), HV_EREG_HOME);
    assert_string_equal(e.text, "node ngo.xa: home broker 'broker.xb' is not a broker in the "
                                "registry");
    /* A home that names a node which is not a broker. */
    static const char *const patch2[2] = {"\"home\":\"broker.xa\"", "\"home\":\"router.xc\""};
    assert_int_equal(s_from_json(1, patch2, &reg, &e), HV_EREG_HOME);
    /* No home at all. */
    static const char *const patch3[2] = {"\"home\":\"broker.xa\",", ""};
    assert_int_equal(s_from_json(1, patch3, &reg, &e), HV_EREG_HOME);
    assert_int_equal(s_from_json(1, NULL, &reg, &e), HV_OK);
    strcpy(reg->nodes[4].home, "broker.zz");
    assert_int_equal(s_load_unchecked(reg, &e), HV_EREG_HOME);
    hv_registry_free(&reg);
}

static void test_source_errors_are_located(void **state)
{
    (void)state;
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_registry_from_json("{\n  \"network\": ,\n}", 18, NULL, &reg, &e), HV_EJSON);
    assert_non_null(strstr(e.text, "line 2, column"));
    static const char *const typo[2] = {"\"capacity\":8", "\"capacty\":8"};
    assert_int_equal(s_from_json(1, typo, &reg, &e), HV_EREG_INVALID);
    assert_string_equal(e.text, "nodes[4]: unknown field \"capacty\"");
    static const char *const svc[2] = {"\"psychosocial\"", "\"massage\""};
    assert_int_equal(s_from_json(1, svc, &reg, &e), HV_EREG_INVALID);
    assert_non_null(strstr(e.text, "nodes[4].services[1]: unknown service"));
    static const char *const date[2] = {"\"2026-10-01T00:00:00Z\"", "\"2026-02-30T00:00:00Z\""};
    assert_int_equal(s_from_json(1, date, &reg, &e), HV_EREG_INVALID);
    assert_non_null(strstr(e.text, "$.issued_at: expected a UTC time"));
    static const char *const cc[2] = {"\"country\":\"XA\"", "\"country\":\"xa\""};
    assert_int_equal(s_from_json(1, cc, &reg, &e), HV_EREG_INVALID);
    static const char *const svc_on_router[2] = {"\"home\":\"broker.xc\",",
                                                 "\"home\":\"broker.xc\",\"capacity\":1,"};
    assert_int_equal(s_from_json(1, svc_on_router, &reg, &e), HV_EREG_INVALID);
    assert_non_null(strstr(e.text, "node router.xc: services"));
    assert_null(reg);
}

static void test_decoder_limits(void **state)
{
    (void)state;
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    assert_int_equal(s_from_json(1, NULL, &reg, &e), HV_OK);
    uint8_t *payload;
    size_t len;
    assert_int_equal(hv_registry_encode_payload(reg, &payload, &len), HV_OK);
    hv_registry *out = NULL;
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(hv_registry_decode_payload(payload, cut, &out, &e), HV_ETRUNCATED);
    assert_int_equal(hv_registry_decode_payload(payload, len, &out, &e), HV_OK);
    hv_registry_free(&out);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, payload, len);
    longer[len] = 0;
    assert_int_equal(hv_registry_decode_payload(longer, len + 1, &out, &e), HV_ETRAILING);
    longer[1] = 3; /* format version */
    assert_int_equal(hv_registry_decode_payload(longer, len, &out, &e), HV_EVERSION);
    free(longer);
    free(payload);
    hv_registry_free(&reg);
}

/* Rotation: next and previous key sets travel signed and are found by key
 * id (previous only before previous_until) and, for the door, by transport
 * key (current and next, never previous); scope belongs to operators. */
static void test_rotation_key_sets(void **state)
{
    (void)state;
    hv_registry *reg = NULL, *loaded = NULL;
    hv_errmsg e = {""};
    char patched[1200];
    snprintf(patched, sizeof patched,
             "\"id\":\"legal.xc\",\"next_keys\":%s,\"previous_keys\":%s,"
             "\"previous_until\":\"2026-11-08T00:00:00Z\",",
             s_keys_json[7], s_keys_json[8]);
    const char *const rotate[2] = {"\"id\":\"legal.xc\",", patched};
    assert_int_equal(s_from_json(4, rotate, &reg, &e), HV_OK);
    assert_int_equal(s_round(reg, S_NOW, 0, &loaded, &e), HV_OK);
    const hv_node *legal = hv_registry_find(loaded, "legal.xc");
    assert_true(legal->has_next && legal->has_previous);
    assert_int_equal(legal->previous_until, S_NOW + 7 * S_DAY);
    hv_key_slot slot;
    assert_ptr_equal(hv_node_keys_by_id(legal, legal->keys.key_id, S_NOW, &slot), &legal->keys);
    assert_int_equal(slot, HV_KEYS_CURRENT);
    assert_ptr_equal(hv_node_keys_by_id(legal, legal->next_keys.key_id, S_NOW, &slot),
                     &legal->next_keys);
    assert_int_equal(slot, HV_KEYS_NEXT);
    assert_ptr_equal(hv_node_keys_by_id(legal, legal->previous_keys.key_id, S_NOW, &slot),
                     &legal->previous_keys);
    assert_int_equal(slot, HV_KEYS_PREVIOUS);
    /* The grace period over, the previous key id names nothing. */
    assert_null(hv_node_keys_by_id(legal, legal->previous_keys.key_id, S_NOW + 7 * S_DAY,
                                   &slot));
    assert_int_equal(slot, HV_KEYS_NONE);
    /* At the door: current and next transport keys, not the previous one. */
    assert_ptr_equal(hv_registry_find_by_transport(loaded, legal->next_keys.transport), legal);
    assert_null(hv_registry_find_by_transport(loaded, legal->previous_keys.transport));
    hv_registry_free(&loaded);
    hv_registry_free(&reg);

    /* A key set that repeats the current keys is refused. */
    snprintf(patched, sizeof patched, "\"id\":\"legal.xc\",\"next_keys\":%s,",
             s_keys_json[6]);
    const char *const same[2] = {"\"id\":\"legal.xc\",", patched};
    assert_int_equal(s_from_json(4, same, &reg, &e), HV_EREG_INVALID);
    assert_non_null(strstr(e.text, "next_keys repeats a key"));
    /* Another node's transport key in a next key set is a duplicate. */
    snprintf(patched, sizeof patched, "\"id\":\"legal.xc\",\"next_keys\":%s,",
             s_keys_json[0]);
    const char *const stolen[2] = {"\"id\":\"legal.xc\",", patched};
    assert_int_equal(s_from_json(4, stolen, &reg, &e), HV_EREG_DUPLICATE);
    /* previous_keys without previous_until. */
    snprintf(patched, sizeof patched, "\"id\":\"legal.xc\",\"previous_keys\":%s,",
             s_keys_json[8]);
    const char *const no_until[2] = {"\"id\":\"legal.xc\",", patched};
    assert_int_equal(s_from_json(4, no_until, &reg, &e), HV_EREG_INVALID);
    assert_non_null(strstr(e.text, "previous_keys and previous_until go together"));
    /* Scope on a provider, and a scope entry that is no country. */
    const char *const scope_provider[2] = {"\"id\":\"legal.xc\",",
                                           "\"id\":\"legal.xc\",\"scope\":[\"XA\"],"};
    assert_int_equal(s_from_json(4, scope_provider, &reg, &e), HV_EREG_INVALID);
    assert_non_null(strstr(e.text, "scope belongs to operators only"));
    assert_null(reg);
}

/* An operator acts in its own country and in those its scope lists. */
static void test_operator_scope(void **state)
{
    (void)state;
    hv_node op;
    memset(&op, 0, sizeof op);
    op.role = HV_ROLE_OPERATOR;
    strcpy(op.country, "XC");
    assert_true(hv_node_in_scope(&op, "XC"));
    assert_false(hv_node_in_scope(&op, "XA"));
    strcpy(op.scope[0], "XB");
    op.n_scope = 1;
    assert_true(hv_node_in_scope(&op, "XB"));
    assert_false(hv_node_in_scope(&op, "XA"));
    strcpy(op.scope[1], "*");
    op.n_scope = 2;
    assert_true(hv_node_in_scope(&op, "XA"));
}

int main(void)
{
    assert_int_equal(hv_crypto_init(), HV_OK);
    s_make_keys();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_round_trip_and_lookups),
        cmocka_unit_test(test_rotation_key_sets),
        cmocka_unit_test(test_operator_scope),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_expired_and_not_yet_valid),
        cmocka_unit_test(test_older_version_refused),
        cmocka_unit_test(test_unknown_role),
        cmocka_unit_test(test_duplicate_id),
        cmocka_unit_test(test_malformed_key),
        cmocka_unit_test(test_missing_home_broker),
        cmocka_unit_test(test_source_errors_are_located),
        cmocka_unit_test(test_decoder_limits),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    hv_keypair_free(&s_authority);
    hv_keypair_free(&s_other_authority);
    return rc;
}
