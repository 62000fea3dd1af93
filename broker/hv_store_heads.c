/* The broker's witnessed audit heads; see hv_store_heads.h. */
#include "hv_store_heads.h"

#include <string.h>
#include <sys/stat.h>

#include "hv_db.h"
#include "hv_store_internal.h"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS audit_heads (node TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL, head BLOB NOT NULL, PRIMARY KEY (node, seq)) WITHOUT ROWID";

/* The table exists once asked for: stores made before it gain it here. */
static sqlite3_stmt *s_prep(hv_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(s->db, s_schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

hv_err hv_store_head_put(hv_store *s, const char *node, uint64_t seq, int64_t at_ms,
                         const uint8_t *head, size_t len)
{
    if (hv_store_begin(s) != HV_OK)
        return HV_ESTORE;
    sqlite3_stmt *st = s_prep(s, "INSERT OR REPLACE INTO audit_heads (node, seq, at_ms, head) "
                                 "VALUES (?1, ?2, ?3, ?4)");
    if (st == NULL)
        return HV_ESTORE;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    sqlite3_bind_int64(st, 3, at_ms);
    sqlite3_bind_blob(st, 4, head, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return HV_ESTORE;
    st = s_prep(s, "DELETE FROM audit_heads WHERE node = ?1 AND seq < (SELECT min(seq) FROM "
                   "(SELECT seq FROM audit_heads WHERE node = ?1 ORDER BY seq DESC LIMIT ?2))");
    if (st == NULL)
        return HV_ESTORE;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, HV_STORE_HEADS_KEEP);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? HV_OK : HV_ESTORE;
}

hv_err hv_store_head_latest(hv_store *s, const char *node, uint8_t *out, size_t cap,
                            size_t *len)
{
    *len = 0;
    sqlite3_stmt *st = s_prep(s, "SELECT head FROM audit_heads WHERE node = ?1 "
                                 "ORDER BY seq DESC LIMIT 1");
    if (st == NULL)
        return HV_ESTORE;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hv_err err = rc == SQLITE_ROW ? HV_OK : rc == SQLITE_DONE ? HV_ENOTFOUND : HV_ESTORE;
    if (err == HV_OK) {
        int n = sqlite3_column_bytes(st, 0);
        if (n <= 0 || (size_t)n > cap) {
            err = HV_ESTORE;
        } else {
            memcpy(out, sqlite3_column_blob(st, 0), (size_t)n);
            *len = (size_t)n;
        }
    }
    sqlite3_finalize(st);
    return err;
}

hv_err hv_store_heads_read(const char *path, const char *node, hv_store_head_fn fn, void *arg,
                           size_t *n, hv_errmsg *e)
{
    *n = 0;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return hv_fail(e, HV_ENOTFOUND, "%s: no such store", path);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    hv_err err = HV_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        err = hv_fail(e, HV_ESTORE, "%s: cannot open the store: %s", path,
                      db ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(db, HV_DB_BUSY_MS);
    int rc = sqlite3_prepare_v2(db, "SELECT seq, head FROM audit_heads WHERE node = ?1 "
                                    "ORDER BY seq", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        if (strstr(sqlite3_errmsg(db), "no such table") == NULL)
            err = hv_fail(e, HV_ESTORE, "%s: cannot read the audit heads: %s", path,
                          sqlite3_errmsg(db));
        goto done; /* a store from before the table: no head */
    }
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int len = sqlite3_column_bytes(st, 1);
        const uint8_t *head = sqlite3_column_blob(st, 1);
        (*n)++;
        if (len <= 0 || head == NULL ||
            fn(arg, (uint64_t)sqlite3_column_int64(st, 0), head, (size_t)len) != 0) {
            err = hv_fail(e, HV_ESTORE, "%s: the head of %s at record %lld cannot be read",
                          path, node, (long long)sqlite3_column_int64(st, 0));
            goto done;
        }
    }
    if (rc != SQLITE_DONE)
        err = hv_fail(e, HV_ESTORE, "%s: cannot read the audit heads: %s", path,
                      sqlite3_errmsg(db));
done:
    sqlite3_finalize(st);
    sqlite3_close_v2(db);
    return err;
}
