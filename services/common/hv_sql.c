/* SQL helpers; see hv_sql.h. */
#include "hv_sql.h"

#include <stdarg.h>
#include <stdio.h>

#include "hv_log.h"

static sqlite3_stmt *s_prepare(sqlite3 *db, const char *sql, const char *types, va_list ap)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        hv_log(HV_LOG_ERROR, "sql_prepare", "error=\"%s\"", sqlite3_errmsg(db));
        return NULL;
    }
    for (int i = 0; types[i] != '\0'; i++) {
        int n = i + 1;
        switch (types[i]) {
        case 't':
            sqlite3_bind_text(st, n, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
            break;
        case 'r':
            sqlite3_bind_blob(st, n, va_arg(ap, const void *), 16, SQLITE_TRANSIENT);
            break;
        case 'x': {
            const void *b = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            sqlite3_bind_blob(st, n, b, (int)len, SQLITE_TRANSIENT);
            break;
        }
        case 'i':
            sqlite3_bind_int64(st, n, va_arg(ap, int64_t));
            break;
        default:
            sqlite3_finalize(st);
            return NULL;
        }
    }
    return st;
}

sqlite3_stmt *hv_sql(sqlite3 *db, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = s_prepare(db, sql, types, ap);
    va_end(ap);
    return st;
}

hv_err hv_sql_exec(sqlite3 *db, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = s_prepare(db, sql, types, ap);
    va_end(ap);
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    /* A constraint is a fact about the data (a second row for one id), not
     * a failing store: retrying would meet it again. */
    if (rc == SQLITE_CONSTRAINT)
        return HV_EEXIST;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        hv_log(HV_LOG_ERROR, "sql_exec", "error=\"%s\"", sqlite3_errmsg(db));
        return HV_ESTORE;
    }
    return HV_OK;
}

hv_err hv_sql_int(sqlite3 *db, int64_t *out, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = s_prepare(db, sql, types, ap);
    va_end(ap);
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? HV_OK : rc == SQLITE_DONE ? HV_ENOTFOUND : HV_ESTORE;
}

void hv_sql_text(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

hv_err hv_sql_ensure_column(sqlite3 *db, const char *table, const char *col, const char *decl)
{
    sqlite3_stmt *st = hv_sql(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", "tt",
                              table, col);
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return HV_OK;
    if (rc != SQLITE_DONE)
        return HV_ESTORE;
    char sql[256];
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", table, col, decl);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        hv_log(HV_LOG_ERROR, "sql_migrate", "table=%s column=%s error=\"%s\"", table, col,
               sqlite3_errmsg(db));
        return HV_ESTORE;
    }
    hv_log(HV_LOG_INFO, "store_column_added", "table=%s column=%s", table, col);
    return HV_OK;
}
