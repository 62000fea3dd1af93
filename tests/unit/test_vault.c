/* Case data at rest: a case reads back only with the node's own keys and
 * under its own referral id; erasure leaves no row; notes likewise. */
#include "hv_test.h"

#include <sqlite3.h>

#include "hv_crypto.h"
#include "hv_keys.h"
#include "hv_sql.h"
#include "hv_vault.h"

static const char s_case[] = "{\"subject\":{\"names\":[{\"given\":\"Synthetic\"}]}}";

static sqlite3 *s_db(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, hv_vault_schema, NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void test_put_get_erase(void **state)
{
    (void)state;
    sqlite3 *db = s_db();
    hv_keyring *me = hvt_ring(1), *other = hvt_ring(2);
    uint8_t ref[16], ref2[16];
    memset(ref, 0x11, 16);
    memset(ref2, 0x22, 16);
    assert_int_equal(hv_vault_put(db, me, ref, (const uint8_t *)s_case, sizeof s_case - 1), HV_OK);
    assert_int_equal(hv_vault_put(db, me, ref, (const uint8_t *)s_case, sizeof s_case - 1),
                     HV_EEXIST);
    uint8_t *pt = NULL;
    size_t len = 0;
    assert_int_equal(hv_vault_get(db, me, ref, &pt, &len), HV_OK);
    assert_int_equal(len, sizeof s_case - 1);
    assert_memory_equal(pt, s_case, len);
    hv_secure_free(pt);
    /* Another node's keys cannot read it. */
    assert_int_equal(hv_vault_get(db, other, ref, &pt, &len), HV_ECRYPTO);
    assert_null(pt);
    /* Rows copied under another referral id do not open: both the key and
     * the case are bound to their referral. */
    assert_int_equal(hv_sql_exec(db, "INSERT INTO vault_keys SELECT ?1, wrapped FROM vault_keys",
                                 "r", ref2), HV_OK);
    assert_int_equal(hv_sql_exec(db, "INSERT INTO vault_cases SELECT ?1, sealed FROM vault_cases",
                                 "r", ref2), HV_OK);
    assert_int_equal(hv_vault_get(db, me, ref2, &pt, &len), HV_ECRYPTO);
    /* The stored bytes hold no plaintext. */
    int64_t found = 0;
    assert_int_equal(hv_sql_int(db, &found,
                                "SELECT count(*) FROM vault_cases WHERE instr(sealed, ?1) > 0",
                                "t", "Synthetic"), HV_OK);
    assert_int_equal(found, 0);
    /* Erasure. */
    assert_int_equal(hv_vault_erase(db, ref), HV_OK);
    assert_int_equal(hv_vault_get(db, me, ref, &pt, &len), HV_ENOTFOUND);
    assert_int_equal(hv_sql_int(db, &found,
                                "SELECT (SELECT count(*) FROM vault_keys WHERE referral = ?1) + "
                                "(SELECT count(*) FROM vault_cases WHERE referral = ?1)",
                                "r", ref), HV_OK);
    assert_int_equal(found, 0);
    assert_int_equal(hv_vault_erase(db, ref), HV_OK); /* nothing left: still fine */
    hv_keyring_free(&me);
    hv_keyring_free(&other);
    sqlite3_close(db);
}

static void test_notes(void **state)
{
    (void)state;
    hv_keyring *me = hvt_ring(1);
    uint8_t ref[16], ref2[16];
    memset(ref, 0x11, 16);
    memset(ref2, 0x22, 16);
    uint8_t *sealed = NULL;
    size_t len = 0;
    assert_int_equal(hv_vault_seal_note(me, ref, "outcome: placed", &sealed, &len), HV_OK);
    char *text = NULL;
    assert_int_equal(hv_vault_open_note(me, ref, sealed, len, &text), HV_OK);
    assert_string_equal(text, "outcome: placed");
    hv_secure_free(text);
    assert_int_equal(hv_vault_open_note(me, ref2, sealed, len, &text), HV_ECRYPTO);
    sealed[len - 1] ^= 1;
    assert_int_equal(hv_vault_open_note(me, ref, sealed, len, &text), HV_ECRYPTO);
    assert_int_equal(hv_vault_open_note(me, ref, sealed, 10, &text), HV_ECRYPTO);
    free(sealed);
    hv_keyring_free(&me);
}

/* vault_survives_rotation, at the unit level: a case stored under a ring
 * of one set reads back after a new set was added and the old one dropped
 * (its secrets destroyed), and after the ring went through a v2 key file. */
static void test_survives_rotation(void **state)
{
    (void)state;
    sqlite3 *db = s_db();
    hv_keyring *ring = hvt_ring(1);
    uint8_t ref[16];
    memset(ref, 0x33, 16);
    assert_int_equal(hv_vault_put(db, ring, ref, (const uint8_t *)s_case, sizeof s_case - 1),
                     HV_OK);
    hv_keypair *next = hvt_keys(90);
    uint8_t old_kid[HV_KEY_ID_BYTES];
    memcpy(old_kid, hv_keypair_public(hv_keyring_at(ring, 0))->key_id, sizeof old_kid);
    assert_int_equal(hv_keyring_add(ring, &next), HV_OK);
    assert_int_equal(hv_keyring_drop(ring, old_kid), HV_OK);
    assert_int_equal(hv_keyring_count(ring), 1);
    char *dir = hvt_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/ngo.xa.key", dir);
    hv_errmsg e = {""};
    assert_int_equal(hv_keys_write_ring(path, "ngo.xa", ring, &e), HV_OK);
    hv_keyring *loaded = NULL;
    assert_int_equal(hv_keys_load_ring(path, &loaded, NULL, &e), HV_OK);
    uint8_t *pt = NULL;
    size_t len = 0;
    assert_int_equal(hv_vault_get(db, loaded, ref, &pt, &len), HV_OK);
    assert_memory_equal(pt, s_case, sizeof s_case - 1);
    hv_secure_free(pt);
    /* A ring of the new set alone, without the carried storage secret, does not. */
    hv_keyring *bare = hvt_ring(90);
    assert_int_equal(hv_vault_get(db, bare, ref, &pt, &len), HV_ECRYPTO);
    hv_keyring_free(&bare);
    hv_keyring_free(&loaded);
    hv_keyring_free(&ring);
    hvt_rmdir(dir);
    free(dir);
    sqlite3_close(db);
}

int main(void)
{
    if (hv_crypto_init() != HV_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_erase),
        cmocka_unit_test(test_notes),
        cmocka_unit_test(test_survives_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
