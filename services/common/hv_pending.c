/* Messages pending in the outbox, by referral; see hv_pending.h. */
#include "hv_pending.h"

#include <string.h>

#include "hv_sql.h"

#define S_PRUNE_MAX 512 /* notes looked at per tick */

const char hv_pending_schema[] =
    "CREATE TABLE IF NOT EXISTS outbox_referral (id BLOB PRIMARY KEY, referral BLOB NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS outbox_referral_by ON outbox_referral(referral);";

hv_err hv_pending_note(sqlite3 *db, const uint8_t msg[16], const uint8_t referral[16])
{
    return hv_sql_exec(db, "INSERT OR IGNORE INTO outbox_referral (id, referral) VALUES (?1, ?2)",
                       "rr", msg, referral);
}

bool hv_pending_waiting(sqlite3 *db, const hv_client *c, const uint8_t referral[16])
{
    sqlite3_stmt *st = hv_sql(db, "SELECT id FROM outbox_referral WHERE referral = ?1", "r",
                              referral);
    bool waiting = false;
    while (st != NULL && !waiting && sqlite3_step(st) == SQLITE_ROW)
        waiting = sqlite3_column_bytes(st, 0) == 16 &&
                  hv_client_outbox_has(c, sqlite3_column_blob(st, 0));
    sqlite3_finalize(st);
    return waiting;
}

hv_err hv_pending_prune(sqlite3 *db, const hv_client *c)
{
    static uint8_t gone[S_PRUNE_MAX][16]; /* the worker's loop thread only */
    size_t n = 0;
    sqlite3_stmt *st = hv_sql(db, "SELECT id FROM outbox_referral LIMIT ?1", "i",
                              (int64_t)S_PRUNE_MAX);
    if (st == NULL)
        return HV_ESTORE;
    /* Collected first: rows are not deleted under a running SELECT. */
    while (n < S_PRUNE_MAX && sqlite3_step(st) == SQLITE_ROW)
        if (sqlite3_column_bytes(st, 0) == 16 &&
            !hv_client_outbox_has(c, sqlite3_column_blob(st, 0)))
            memcpy(gone[n++], sqlite3_column_blob(st, 0), 16);
    sqlite3_finalize(st);
    hv_err err = HV_OK;
    for (size_t i = 0; err == HV_OK && i < n; i++)
        err = hv_sql_exec(db, "DELETE FROM outbox_referral WHERE id = ?1", "r", gone[i]);
    return err;
}
