/* Referral histories; see hv_history.h. */
#include "hv_history.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_events.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "hv_vault.h"

const char hv_history_schema[] =
    "CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  referral BLOB NOT NULL, at_s INTEGER NOT NULL, state TEXT NOT NULL,"
    "  actor TEXT NOT NULL, detail BLOB, kind TEXT NOT NULL DEFAULT 'state');"
    "CREATE INDEX IF NOT EXISTS history_referral ON history(referral, seq);";

hv_err hv_history_upgrade(sqlite3 *db)
{
    return hv_sql_ensure_column(db, "history", "kind", "TEXT NOT NULL DEFAULT 'state'");
}

hv_err hv_history_insert(sqlite3 *db, const hv_keyring *keys, const uint8_t referral[16],
                         const char *kind, const char *state, const char *actor,
                         const char *detail, uint64_t at)
{
    uint8_t *sealed = NULL;
    size_t len = 0;
    hv_err err = HV_OK;
    if (detail != NULL && detail[0] != '\0')
        err = hv_vault_seal_note(keys, referral, detail, &sealed, &len);
    if (err == HV_OK)
        err = hv_sql_exec(db,
                          "INSERT INTO history (referral, at_s, state, actor, detail, kind) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                          "rittxt", referral, (int64_t)at, state, actor, sealed, len, kind);
    free(sealed);
    return err;
}

/* One row of `kind`, its detail sealed, as of now. */
static hv_err s_insert(hv_worker *w, const uint8_t referral[16], const char *kind,
                       const char *state, const char *actor, const char *detail)
{
    return hv_history_insert(hv_worker_db(w), hv_worker_keys(w), referral, kind, state, actor,
                             detail, (uint64_t)time(NULL));
}

hv_err hv_history_add_progress(hv_worker *w, const uint8_t referral[16], const char *event,
                               const char *actor, const char *detail, const char *code)
{
    hv_err err = s_insert(w, referral, "progress", event, actor, detail);
    if (err == HV_OK) {
        char state[2 * HV_MSG_CODE_MAX + 2];
        snprintf(state, sizeof state, "%s%s%s", event, code[0] ? ":" : "", code);
        err = hv_events_add(w, referral, "progress", state);
    }
    return err;
}

hv_err hv_history_add(hv_worker *w, const uint8_t referral[16], const char *state,
                      const char *actor, const char *detail)
{
    hv_err err = s_insert(w, referral, "state", state, actor, detail);
    if (err == HV_OK)
        err = hv_worker_audit(w, referral, state, actor);
    if (err == HV_OK)
        err = hv_events_add(w, referral, strcmp(state, "offered") == 0 ? "offer" : "status",
                            state);
    return err;
}

json_t *hv_history_get(hv_worker *w, const uint8_t referral[16], char **text)
{
    json_t *list = json_array();
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT at_s, state, actor, detail, kind FROM history WHERE "
                              "referral = ?1 ORDER BY seq",
                              "r", referral);
    if (list == NULL || st == NULL) {
        json_decref(list);
        sqlite3_finalize(st);
        return NULL;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint64_t at = (uint64_t)sqlite3_column_int64(st, 0);
        char state[32], actor[HV_BY_MAX + 1], when[24], iso[21];
        hv_sql_text(st, 1, state, sizeof state);
        hv_sql_text(st, 2, actor, sizeof actor);
        char *detail = NULL;
        if (sqlite3_column_bytes(st, 3) > 0 &&
            hv_vault_open_note(hv_worker_keys(w), referral, sqlite3_column_blob(st, 3),
                               (size_t)sqlite3_column_bytes(st, 3), &detail) != HV_OK)
            detail = NULL;
        char kind[16];
        hv_sql_text(st, 4, kind, sizeof kind);
        hv_time_format(at, iso);
        /* The states entered, for programs; the offers' progress has its
         * own list (the intake's referral.show "progress"). */
        if (strcmp(kind, "progress") != 0)
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "at", iso, "state",
                                                  state, "by", actor, "detail",
                                                  detail ? detail : ""));
        if (text != NULL) {
            hv_time_human(at, when);
            hv_strcat(text, "  %s  %-18s by %s%s%s\n", when, state, actor,
                      detail ? ": " : "", detail ? detail : "");
        }
        hv_secure_free(detail);
    }
    sqlite3_finalize(st);
    return list;
}

hv_err hv_history_erase(hv_worker *w, const uint8_t referral[16])
{
    return hv_sql_exec(hv_worker_db(w), "DELETE FROM history WHERE referral = ?1", "r",
                       referral);
}
