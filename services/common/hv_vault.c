/* Case data at rest; see hv_vault.h. */
#include "hv_vault.h"

#include <stdlib.h>
#include <string.h>

#include "hv_sql.h"

const char hv_vault_schema[] =
    "CREATE TABLE IF NOT EXISTS vault_keys (referral BLOB PRIMARY KEY, wrapped BLOB NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS vault_cases (referral BLOB PRIMARY KEY, sealed BLOB NOT NULL)"
    "  WITHOUT ROWID;";

hv_err hv_vault_put(sqlite3 *db, const hv_keyring *self, const uint8_t referral[16],
                    const uint8_t *pt, size_t len)
{
    int64_t n = 0;
    hv_err err = hv_sql_int(db, &n, "SELECT count(*) FROM vault_keys WHERE referral = ?1", "r",
                            referral);
    if (err != HV_OK)
        return err;
    if (n > 0)
        return HV_EEXIST;
    uint8_t *case_key = hv_secure_alloc(32), *storage = hv_secure_alloc(32);
    uint8_t *wrapped = NULL, *sealed = NULL;
    size_t wrapped_len = 0, sealed_len = 0;
    if (case_key == NULL || storage == NULL) {
        err = HV_ENOMEM;
        goto done;
    }
    hv_random(case_key, 32);
    hv_keyring_storage_key(self, storage);
    if ((err = hv_aead_seal(storage, referral, 16, case_key, 32, &wrapped, &wrapped_len)) !=
            HV_OK ||
        (err = hv_aead_seal(case_key, referral, 16, pt, len, &sealed, &sealed_len)) != HV_OK)
        goto done;
    if ((err = hv_sql_exec(db, "INSERT INTO vault_keys (referral, wrapped) VALUES (?1, ?2)",
                           "rx", referral, wrapped, wrapped_len)) == HV_OK)
        err = hv_sql_exec(db, "INSERT INTO vault_cases (referral, sealed) VALUES (?1, ?2)", "rx",
                          referral, sealed, sealed_len);
done:
    hv_secure_free(case_key);
    hv_secure_free(storage);
    free(wrapped);
    free(sealed);
    return err;
}

/* Reads one blob column for `referral`; caller frees `*out`. */
static hv_err s_blob(sqlite3 *db, const char *sql, const uint8_t referral[16], uint8_t **out,
                     size_t *len)
{
    *out = NULL;
    sqlite3_stmt *st = hv_sql(db, sql, "r", referral);
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    hv_err err = rc == SQLITE_ROW ? HV_OK : rc == SQLITE_DONE ? HV_ENOTFOUND : HV_ESTORE;
    if (err == HV_OK) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        *out = malloc(*len + 1);
        if (*out == NULL)
            err = HV_ENOMEM;
        else
            memcpy(*out, sqlite3_column_blob(st, 0), *len);
    }
    sqlite3_finalize(st);
    return err;
}

hv_err hv_vault_get(sqlite3 *db, const hv_keyring *self, const uint8_t referral[16],
                    uint8_t **pt, size_t *len)
{
    *pt = NULL;
    uint8_t *wrapped = NULL, *sealed = NULL, *case_key = NULL;
    size_t wrapped_len, sealed_len, key_len = 0;
    uint8_t *storage = hv_secure_alloc(32);
    hv_err err = storage == NULL ? HV_ENOMEM : HV_OK;
    if (err == HV_OK)
        err = s_blob(db, "SELECT wrapped FROM vault_keys WHERE referral = ?1", referral,
                     &wrapped, &wrapped_len);
    if (err == HV_OK)
        err = s_blob(db, "SELECT sealed FROM vault_cases WHERE referral = ?1", referral, &sealed,
                     &sealed_len);
    if (err == HV_OK) {
        hv_keyring_storage_key(self, storage);
        err = hv_aead_open(storage, referral, 16, wrapped, wrapped_len, &case_key, &key_len);
    }
    if (err == HV_OK && key_len != 32)
        err = HV_ECRYPTO;
    if (err == HV_OK)
        err = hv_aead_open(case_key, referral, 16, sealed, sealed_len, pt, len);
    hv_secure_free(case_key);
    hv_secure_free(storage);
    free(wrapped);
    free(sealed);
    return err;
}

hv_err hv_vault_erase(sqlite3 *db, const uint8_t referral[16])
{
    hv_err err = hv_sql_exec(db, "DELETE FROM vault_keys WHERE referral = ?1", "r", referral);
    if (err == HV_OK)
        err = hv_sql_exec(db, "DELETE FROM vault_cases WHERE referral = ?1", "r", referral);
    return err;
}

hv_err hv_vault_seal_note(const hv_keyring *self, const uint8_t referral[16], const char *text,
                          uint8_t **out, size_t *len)
{
    uint8_t *storage = hv_secure_alloc(32);
    if (storage == NULL)
        return HV_ENOMEM;
    hv_keyring_storage_key(self, storage);
    hv_err err = hv_aead_seal(storage, referral, 16, (const uint8_t *)text, strlen(text), out,
                              len);
    hv_secure_free(storage);
    return err;
}

hv_err hv_vault_open_note(const hv_keyring *self, const uint8_t referral[16], const uint8_t *in,
                          size_t len, char **out)
{
    *out = NULL;
    uint8_t *storage = hv_secure_alloc(32), *pt = NULL;
    size_t pt_len = 0;
    if (storage == NULL)
        return HV_ENOMEM;
    hv_keyring_storage_key(self, storage);
    hv_err err = hv_aead_open(storage, referral, 16, in, len, &pt, &pt_len);
    hv_secure_free(storage);
    if (err != HV_OK)
        return err;
    /* hv_aead_open leaves one spare byte for exactly this terminator. */
    pt[pt_len] = '\0';
    *out = (char *)pt;
    return HV_OK;
}
