/* A worker's prekeys in its store (services/common/hv_prekeys.c): made on
 * schedule, each secret deleted at its destroy_at and not before; a body
 * sealed to a prekey opens while its secret exists, and after its
 * destruction opens with nothing the node still holds (HV_ECRYPTO), while
 * one sealed to a later prekey, or to the long-term key, still opens. */
#include "hv_test.h"

#include <sqlite3.h>

#include "hv_crypto.h"
#include "hv_envelope.h"
#include "hv_prekeys.h"
#include "hv_sql.h"

#define S_L 10 /* lifetime_s */
#define S_K 5  /* keep_s */

static const uint8_t s_case[] = "Synthetic case: Person C, no real data";

static sqlite3 *s_db(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, hv_prekeys_schema, NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static int64_t s_count(sqlite3 *db)
{
    int64_t n = -1;
    assert_int_equal(hv_sql_int(db, &n, "SELECT count(*) FROM prekey_own", ""), HV_OK);
    return n;
}

/* The box key of the prekey made at `not_before`. */
static void s_prekey_pk(sqlite3 *db, uint64_t not_before, uint8_t pk[32])
{
    sqlite3_stmt *st = hv_sql(db, "SELECT box_pk FROM prekey_own WHERE not_before = ?1", "i",
                              (int64_t)not_before);
    assert_non_null(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), 32);
    memcpy(pk, sqlite3_column_blob(st, 0), 32);
    sqlite3_finalize(st);
}

/* Seals s_case from `from` to legal.xc (`to`) under `box_pk`. */
static uint8_t *s_seal(const hv_keypair *from, const hv_keypair *to, const uint8_t box_pk[32],
                       size_t *len)
{
    hv_envelope env;
    hv_envelope_init(&env, HV_MSG_CASE_TRANSFER, "ngo.xc", hv_keypair_public(from), "legal.xc",
                     hv_keypair_public(to));
    memset(env.referral, 0x5a, 16);
    hv_pubkeys seal_to = *hv_keypair_public(to);
    memcpy(seal_to.box, box_pk, 32);
    uint8_t *wire = NULL;
    assert_int_equal(hv_envelope_seal(&env, from, &seal_to, s_case, sizeof s_case, &wire, len),
                     HV_OK);
    return wire;
}

/* The registry entry of the node holding `kp`, as the worker hands it over. */
static hv_node s_node_of(const hv_keypair *kp)
{
    hv_node n;
    memset(&n, 0, sizeof n);
    snprintf(n.id, sizeof n.id, "legal.xc");
    n.role = HV_ROLE_PROVIDER;
    n.keys = *hv_keypair_public(kp);
    return n;
}

static hv_err s_open(hv_prekeys *p, const hv_keypair *me, const hv_keypair *from,
                     const uint8_t *wire, size_t len)
{
    hv_envelope env;
    assert_int_equal(hv_envelope_decode(wire, len, &env), HV_OK);
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    hv_err err = hv_prekeys_open(p, &env, me, hv_keypair_public(from)->sign, &pt, &pt_len);
    if (err == HV_OK) {
        assert_int_equal(pt_len, sizeof s_case);
        assert_memory_equal(pt, s_case, pt_len);
        free(pt);
    }
    return err;
}

static void test_schedule_and_destruction(void **state)
{
    (void)state;
    sqlite3 *db = s_db();
    hv_keypair *me = hvt_keys(7), *sender = hvt_keys(1);
    hv_keyring *ring = hvt_ring(7);
    hv_node self = s_node_of(me);
    hv_prekeys *p = NULL;
    bool destroyed = true;
    assert_int_equal(hv_prekeys_new(&p, db, NULL, "legal.xc", S_L, S_K), HV_OK);
    hv_prekeys_registry(p, NULL, ring, &self);
    /* The first tick makes one; the next ones only after a lifetime. */
    assert_int_equal(hv_prekeys_tick(p, 1000, &destroyed), HV_OK);
    assert_false(destroyed);
    assert_int_equal(s_count(db), 1);
    assert_int_equal(hv_prekeys_tick(p, 1000 + S_L - 1, &destroyed), HV_OK);
    assert_int_equal(s_count(db), 1);
    uint8_t pk1[32], pk2[32];
    s_prekey_pk(db, 1000, pk1);
    size_t len1, len_lt;
    uint8_t *sealed1 = s_seal(sender, me, pk1, &len1);
    uint8_t *sealed_lt = s_seal(sender, me, hv_keypair_public(me)->box, &len_lt);
    assert_int_equal(s_open(p, me, sender, sealed1, len1), HV_OK);
    assert_int_equal(hv_prekeys_tick(p, 1000 + S_L, &destroyed), HV_OK);
    assert_int_equal(s_count(db), 2);
    s_prekey_pk(db, 1000 + S_L, pk2);
    size_t len2;
    uint8_t *sealed2 = s_seal(sender, me, pk2, &len2);
    /* The first prekey's secret lives until not_after (2 lifetimes) + keep. */
    uint64_t destroy1 = 1000 + 2 * S_L + S_K;
    assert_int_equal(hv_prekeys_tick(p, destroy1 - 1, &destroyed), HV_OK);
    assert_false(destroyed);
    assert_int_equal(s_open(p, me, sender, sealed1, len1), HV_OK);
    assert_int_equal(hv_prekeys_tick(p, destroy1, &destroyed), HV_OK);
    assert_true(destroyed);
    /* Made at 1000, 1010 and 1024 (the first tick after 1020); the first is gone. */
    assert_int_equal(s_count(db), 2);
    assert_int_equal(s_open(p, me, sender, sealed1, len1), HV_ECRYPTO);
    assert_int_equal(s_open(p, me, sender, sealed2, len2), HV_OK);
    assert_int_equal(s_open(p, me, sender, sealed_lt, len_lt), HV_OK);
    /* A secret in the store is sealed: another node's storage key (a
     * store copied without this node's key file) opens nothing. */
    hv_prekeys *thief = NULL;
    hv_keypair *other = hvt_keys(9);
    hv_keyring *other_ring = hvt_ring(9);
    hv_node other_self = s_node_of(other);
    assert_int_equal(hv_prekeys_new(&thief, db, NULL, "legal.xc", S_L, S_K), HV_OK);
    hv_prekeys_registry(thief, NULL, other_ring, &other_self);
    hv_envelope env;
    assert_int_equal(hv_envelope_decode(sealed2, len2, &env), HV_OK);
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    assert_int_equal(hv_prekeys_open(thief, &env, other, hv_keypair_public(sender)->sign, &pt,
                                     &pt_len),
                     HV_ECRYPTO);
    hv_prekeys_free(&thief);
    hv_prekeys_free(&thief); /* safe twice */
    /* The keys rotate: the next tick signs a new prekey with the new
     * current set at once, though the newest is young. */
    hv_keypair *next = hvt_keys(11);
    hv_node rotated = s_node_of(next);
    assert_int_equal(hv_keyring_add(ring, &next), HV_OK);
    hv_prekeys_registry(p, NULL, ring, &rotated);
    int64_t before = s_count(db);
    assert_int_equal(hv_prekeys_tick(p, destroy1 + 1, &destroyed), HV_OK);
    assert_int_equal(s_count(db), before + 1);
    sqlite3_stmt *st = hv_sql(db, "SELECT bundle FROM prekey_own ORDER BY not_before DESC "
                              "LIMIT 1", "");
    hv_prekey_bundle newest;
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(hv_prekey_decode(sqlite3_column_blob(st, 0),
                                      (size_t)sqlite3_column_bytes(st, 0), &newest),
                     HV_OK);
    sqlite3_finalize(st);
    assert_memory_equal(newest.key_id, rotated.keys.key_id, HV_KEY_ID_BYTES);
    assert_int_equal(hv_prekey_verify_node(&newest, &rotated, destroy1 + 1), HV_OK);
    assert_int_equal(hv_prekeys_tick(p, destroy1 + 2, &destroyed), HV_OK);
    assert_int_equal(s_count(db), before + 1); /* and only once */
    hv_keyring_free(&ring);
    hv_keyring_free(&other_ring);
    free(sealed1);
    free(sealed2);
    free(sealed_lt);
    hv_prekeys_free(&p);
    hv_keypair_free(&me);
    hv_keypair_free(&sender);
    hv_keypair_free(&other);
    sqlite3_close(db);
}

int main(void)
{
    if (hv_crypto_init() != HV_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_and_destruction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
