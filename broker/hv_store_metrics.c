/* The store's numbers for metrics (hv_store.h, "For metrics"): queue ages
 * and dead letters by reason. Read-only queries, prepared per call: they
 * run twice a second at most, for the HTTP snapshot. */
#include <sqlite3.h>

#include "hv_store_internal.h"

static hv_err s_each(hv_store *s, const char *sql, void (*row)(void *, sqlite3_stmt *),
                     void *arg)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return HV_ESTORE;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        row(arg, st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? HV_OK : HV_ESTORE;
}

struct s_age_ctx {
    hv_store_age_visit fn; /* the caller's */
    void *arg;             /* and its argument */
};

static void s_age_row(void *arg, sqlite3_stmt *st)
{
    struct s_age_ctx *c = arg;
    c->fn(c->arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
          sqlite3_column_int64(st, 2));
}

hv_err hv_store_queue_ages(hv_store *s, hv_store_age_visit fn, void *arg)
{
    struct s_age_ctx c = {fn, arg};
    return s_each(s, "SELECT recipient, count(*), min(stored_ms) FROM queue GROUP BY recipient "
                     "ORDER BY recipient", s_age_row, &c);
}

struct s_reason_ctx {
    hv_store_reason_visit fn; /* the caller's */
    void *arg;                /* and its argument */
};

static void s_reason_row(void *arg, sqlite3_stmt *st)
{
    struct s_reason_ctx *c = arg;
    c->fn(c->arg, (unsigned)sqlite3_column_int(st, 0), sqlite3_column_int64(st, 1));
}

hv_err hv_store_dead_reasons(hv_store *s, hv_store_reason_visit fn, void *arg)
{
    struct s_reason_ctx c = {fn, arg};
    return s_each(s, "SELECT code, count(*) FROM dead_letters GROUP BY code ORDER BY code",
                  s_reason_row, &c);
}
