/* Events for the live stream; see hv_events.h. */
#include "hv_events.h"

#include <string.h>
#include <time.h>

#include "hv_sql.h"

const char hv_events_schema[] =
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at_s INTEGER NOT NULL, kind TEXT NOT NULL, referral BLOB NOT NULL,"
    "  state TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS events_referral ON events(referral);";

hv_err hv_events_add(hv_worker *w, const uint8_t referral[16], const char *kind,
                     const char *state)
{
    return hv_sql_exec(hv_worker_db(w),
                       "INSERT INTO events (at_s, kind, referral, state) VALUES (?1, ?2, ?3, ?4)",
                       "itrt", (int64_t)time(NULL), kind, referral, state);
}

hv_err hv_events_erase(hv_worker *w, const uint8_t referral[16])
{
    return hv_sql_exec(hv_worker_db(w), "DELETE FROM events WHERE referral = ?1", "r", referral);
}

hv_err hv_events_prune(hv_worker *w)
{
    return hv_sql_exec(hv_worker_db(w),
                       "DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?1", "i",
                       (int64_t)HV_EVENTS_KEEP);
}

bool hv_events_has(hv_worker *w, const uint8_t referral[16], const char *kind)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT 1 FROM events WHERE referral = ?1 AND kind = ?2", "rt",
                              referral, kind);
    bool has = st != NULL && sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return has;
}

uint64_t hv_events_last(hv_worker *w)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w), "SELECT coalesce(max(seq), 0) FROM events", "");
    uint64_t last = 0;
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
        last = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return last;
}

json_t *hv_events_after(hv_worker *w, const hv_actor *actor, hv_events_filter may_see,
                        uint64_t after, uint64_t *last)
{
    uint64_t newest = hv_events_last(w);
    *last = after > newest ? newest : after;
    json_t *list = json_array();
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT seq, at_s, kind, referral, state FROM events WHERE seq > ?1 "
                              "ORDER BY seq LIMIT 1000",
                              "i", (int64_t)after);
    if (list == NULL || st == NULL) {
        json_decref(list);
        sqlite3_finalize(st);
        return NULL;
    }
    while (json_array_size(list) < HV_EVENTS_PAGE && sqlite3_step(st) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        *last = seq;
        if (sqlite3_column_bytes(st, 3) != 16)
            continue;
        const uint8_t *ref = sqlite3_column_blob(st, 3);
        if (may_see != NULL && !may_see(w, actor, ref))
            continue;
        char kind[16], state[32], hex[33], at[21];
        hv_sql_text(st, 2, kind, sizeof kind);
        hv_sql_text(st, 4, state, sizeof state);
        hv_ref_hex(ref, hex);
        hv_time_format((uint64_t)sqlite3_column_int64(st, 1), at);
        json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s, s:s}", "seq",
                                              (json_int_t)seq, "kind", kind, "referral", hex,
                                              "state", state, "at", at));
    }
    sqlite3_finalize(st);
    return list;
}
