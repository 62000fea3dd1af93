/* haven-web's store; see hv_web_store.h. */
#include "hv_web_store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hv_db.h"
#include "hv_log.h"
#include "hv_sql.h"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS staff ("
    " name TEXT PRIMARY KEY, role TEXT NOT NULL, pwhash TEXT NOT NULL,"
    " totp BLOB, totp_step INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL DEFAULT 0,"
    " failures INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sessions ("
    " id_hash BLOB PRIMARY KEY, staff TEXT NOT NULL, csrf TEXT NOT NULL,"
    " created INTEGER NOT NULL, last INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS tokens ("
    " id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, scope TEXT NOT NULL,"
    " created_by TEXT NOT NULL, created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
    /* A person's choices in the pages (hv_web_prefs.h); no case content. */
    "CREATE TABLE IF NOT EXISTS prefs ("
    " staff TEXT PRIMARY KEY, lang TEXT NOT NULL DEFAULT '', time_zone TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS addresses ("
    " addr TEXT PRIMARY KEY, failures INTEGER NOT NULL, since INTEGER NOT NULL,"
    " locked_until INTEGER NOT NULL DEFAULT 0);";

struct hv_web_store {
    sqlite3 *db;          /* the file */
    pthread_mutex_t lock; /* one statement sequence at a time */
    hv_db_erase erase;    /* when its WAL is next truncated (under `lock`) */
};

/* What a statement deleted (a session, a token, an account) is overwritten
 * in the file (hv_db_open's secure_delete) and leaves the WAL at most a
 * second after its commit, at the next use of the store (every request
 * looks its session up). */
#define S_ERASE_EVERY_MS 1000
#define S_ERASE_WAIT_MS 20

static void s_unlock(hv_web_store *s)
{
    bool done;
    if (hv_db_erase_tick(s->db, &s->erase, hv_mono_ms(), S_ERASE_WAIT_MS, &done) == HV_ESTORE)
        hv_log(HV_LOG_ERROR, "store_failed", "op=truncate_wal");
    pthread_mutex_unlock(&s->lock);
}

#define LOCK(s) pthread_mutex_lock(&(s)->lock)
#define UNLOCK(s) s_unlock(s)

hv_err hv_web_store_open(hv_web_store **out, const char *path, hv_errmsg *e)
{
    *out = NULL;
    hv_web_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return HV_ENOMEM;
    hv_err err = hv_db_open(&s->db, path, s_schema, e);
    if (err != HV_OK) {
        free(s);
        return err;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->erase.every_ms = S_ERASE_EVERY_MS;
    *out = s;
    return HV_OK;
}

void hv_web_store_close(hv_web_store **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    /* Another process may hold the store (haven staff beside the daemon):
     * then the last to close it checkpoints and deletes the WAL. */
    hv_err ignored = hv_db_truncate_wal((*sp)->db, S_ERASE_WAIT_MS);
    (void)ignored;
    sqlite3_close_v2((*sp)->db);
    pthread_mutex_destroy(&(*sp)->lock);
    free(*sp);
    *sp = NULL;
}

bool hv_web_name_valid(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= HV_WEB_NAME_MAX &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n &&
           strcmp(name, "host-admin") != 0;
}

/* Runs an update that must touch one row: HV_ENOTFOUND when none. */
static hv_err s_update(hv_web_store *s, sqlite3_stmt *st)
{
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return HV_EEXIST;
    if (rc != SQLITE_DONE)
        return HV_ESTORE;
    return sqlite3_changes(s->db) == 1 ? HV_OK : HV_ENOTFOUND;
}

hv_err hv_web_staff_add(hv_web_store *s, const char *name, const char *role, const char *pwhash)
{
    LOCK(s);
    hv_err err = hv_sql_exec(s->db, "INSERT INTO staff(name, role, pwhash, created) "
                             "VALUES (?, ?, ?, ?)", "ttti", name, role, pwhash, hv_now_ms());
    UNLOCK(s);
    return err;
}

hv_err hv_web_staff_get(hv_web_store *s, const char *name, hv_web_staff *out)
{
    memset(out, 0, sizeof *out);
    LOCK(s);
    sqlite3_stmt *st = hv_sql(s->db, "SELECT name, role, pwhash, totp, totp_step, disabled, "
                              "failures, locked_until FROM staff WHERE name = ?", "t", name);
    hv_err err = st == NULL ? HV_ESTORE : HV_ENOTFOUND;
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        hv_sql_text(st, 0, out->name, sizeof out->name);
        hv_sql_text(st, 1, out->role, sizeof out->role);
        hv_sql_text(st, 2, out->pwhash, sizeof out->pwhash);
        if (sqlite3_column_bytes(st, 3) == HV_WEB_TOTP_SECRET_BYTES) {
            memcpy(out->totp, sqlite3_column_blob(st, 3), HV_WEB_TOTP_SECRET_BYTES);
            out->has_totp = true;
        }
        out->totp_step = (uint64_t)sqlite3_column_int64(st, 4);
        out->disabled = sqlite3_column_int(st, 5) != 0;
        out->failures = sqlite3_column_int64(st, 6);
        out->locked_until = sqlite3_column_int64(st, 7);
        err = HV_OK;
    }
    sqlite3_finalize(st);
    UNLOCK(s);
    return err;
}

hv_err hv_web_staff_set_disabled(hv_web_store *s, const char *name, bool off)
{
    LOCK(s);
    hv_err err = s_update(s, hv_sql(s->db, "UPDATE staff SET disabled = ? WHERE name = ?", "it",
                                    (int64_t)off, name));
    UNLOCK(s);
    return err;
}

hv_err hv_web_staff_set_password(hv_web_store *s, const char *name, const char *pwhash)
{
    LOCK(s);
    hv_err err = s_update(s, hv_sql(s->db, "UPDATE staff SET pwhash = ? WHERE name = ?", "tt",
                                    pwhash, name));
    UNLOCK(s);
    return err;
}

hv_err hv_web_staff_set_role(hv_web_store *s, const char *name, const char *role)
{
    LOCK(s);
    hv_err err = s_update(s, hv_sql(s->db, "UPDATE staff SET role = ? WHERE name = ?", "tt",
                                    role, name));
    UNLOCK(s);
    return err;
}

hv_err hv_web_staff_set_totp(hv_web_store *s, const char *name,
                             const uint8_t secret[HV_WEB_TOTP_SECRET_BYTES])
{
    LOCK(s);
    hv_err err = s_update(s, hv_sql(s->db, "UPDATE staff SET totp = ?, totp_step = 0 "
                                    "WHERE name = ?", "xt", secret,
                                    (size_t)HV_WEB_TOTP_SECRET_BYTES, name));
    UNLOCK(s);
    return err;
}

hv_err hv_web_staff_use_step(hv_web_store *s, const char *name, uint64_t step)
{
    LOCK(s);
    /* One statement decides: two sign-ins racing with one code cannot both
     * move the step forward. */
    hv_err err = s_update(s, hv_sql(s->db, "UPDATE staff SET totp_step = ? WHERE name = ? AND "
                                    "totp_step < ?", "iti", (int64_t)step, name,
                                    (int64_t)step));
    UNLOCK(s);
    return err == HV_ENOTFOUND ? HV_EAUTH : err;
}

hv_err hv_web_staff_failed(hv_web_store *s, const char *name, int64_t max, int64_t lockout_ms,
                           int64_t now, bool *locked_now)
{
    *locked_now = false;
    LOCK(s);
    hv_err err = s_update(s, hv_sql(s->db, "UPDATE staff SET failures = failures + 1 "
                                    "WHERE name = ?", "t", name));
    int64_t n = 0;
    if (err == HV_OK)
        err = hv_sql_int(s->db, &n, "SELECT failures FROM staff WHERE name = ?", "t", name);
    if (err == HV_OK && n >= max) {
        err = s_update(s, hv_sql(s->db, "UPDATE staff SET failures = 0, locked_until = ? "
                                 "WHERE name = ?", "it", now + lockout_ms, name));
        *locked_now = err == HV_OK;
    }
    UNLOCK(s);
    return err;
}

hv_err hv_web_staff_clear(hv_web_store *s, const char *name)
{
    LOCK(s);
    hv_err err = s_update(s, hv_sql(s->db, "UPDATE staff SET failures = 0, locked_until = 0 "
                                    "WHERE name = ?", "t", name));
    UNLOCK(s);
    return err;
}

hv_err hv_web_staff_list(hv_web_store *s, int64_t now, json_t **out)
{
    *out = json_array();
    if (*out == NULL)
        return HV_ENOMEM;
    LOCK(s);
    sqlite3_stmt *st = hv_sql(s->db, "SELECT name, role, disabled, totp IS NOT NULL, "
                              "locked_until FROM staff ORDER BY name", "");
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(
            *out, json_pack("{s:s, s:s, s:b, s:b, s:b}", "name", sqlite3_column_text(st, 0),
                            "role", sqlite3_column_text(st, 1), "disabled",
                            sqlite3_column_int(st, 2), "totp", sqlite3_column_int(st, 3),
                            "locked", sqlite3_column_int64(st, 4) > now));
    hv_err err = st == NULL ? HV_ESTORE : HV_OK;
    sqlite3_finalize(st);
    UNLOCK(s);
    return err;
}

hv_err hv_web_addr_failed(hv_web_store *s, const char *addr, int64_t max, int64_t lockout_ms,
                          int64_t now, bool *locked_now)
{
    *locked_now = false;
    LOCK(s);
    /* A count older than the lockout period starts again. */
    hv_err err = hv_sql_exec(s->db,
                             "INSERT INTO addresses(addr, failures, since) VALUES (?, 1, ?) "
                             "ON CONFLICT(addr) DO UPDATE SET failures = CASE WHEN since < ? "
                             "THEN 1 ELSE failures + 1 END, since = CASE WHEN since < ? THEN "
                             "excluded.since ELSE since END",
                             "tiii", addr, now, now - lockout_ms, now - lockout_ms);
    int64_t n = 0;
    if (err == HV_OK)
        err = hv_sql_int(s->db, &n, "SELECT failures FROM addresses WHERE addr = ?", "t", addr);
    if (err == HV_OK && n >= max) {
        err = hv_sql_exec(s->db, "UPDATE addresses SET failures = 0, since = ?, "
                          "locked_until = ? WHERE addr = ?", "iit", now, now + lockout_ms,
                          addr);
        *locked_now = err == HV_OK;
    }
    UNLOCK(s);
    return err;
}

bool hv_web_addr_locked(hv_web_store *s, const char *addr, int64_t now)
{
    int64_t until = 0;
    LOCK(s);
    hv_err err = hv_sql_int(s->db, &until, "SELECT locked_until FROM addresses WHERE addr = ?",
                            "t", addr);
    UNLOCK(s);
    return err == HV_OK && until > now;
}

hv_err hv_web_addr_clear(hv_web_store *s, const char *addr)
{
    LOCK(s);
    hv_err err = s_update(s, hv_sql(s->db, "DELETE FROM addresses WHERE addr = ?", "t", addr));
    UNLOCK(s);
    return err;
}

hv_err hv_web_session_put(hv_web_store *s, const uint8_t id_hash[32], const char *staff,
                          const char *csrf, int64_t now)
{
    LOCK(s);
    hv_err err = hv_sql_exec(s->db, "INSERT INTO sessions(id_hash, staff, csrf, created, last) "
                             "VALUES (?, ?, ?, ?, ?)", "xttii", id_hash, (size_t)32, staff,
                             csrf, now, now);
    UNLOCK(s);
    return err;
}

hv_err hv_web_session_get(hv_web_store *s, const uint8_t id_hash[32], hv_web_session *out)
{
    memset(out, 0, sizeof *out);
    LOCK(s);
    sqlite3_stmt *st = hv_sql(s->db, "SELECT s.staff, f.role, s.csrf, s.created, s.last FROM "
                              "sessions s JOIN staff f ON f.name = s.staff WHERE s.id_hash = ? "
                              "AND f.disabled = 0", "x", id_hash, (size_t)32);
    hv_err err = st == NULL ? HV_ESTORE : HV_ENOTFOUND;
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        hv_sql_text(st, 0, out->staff, sizeof out->staff);
        hv_sql_text(st, 1, out->role, sizeof out->role);
        hv_sql_text(st, 2, out->csrf, sizeof out->csrf);
        out->created_ms = sqlite3_column_int64(st, 3);
        out->last_ms = sqlite3_column_int64(st, 4);
        err = HV_OK;
    }
    sqlite3_finalize(st);
    UNLOCK(s);
    return err;
}

hv_err hv_web_session_touch(hv_web_store *s, const uint8_t id_hash[32], int64_t now)
{
    LOCK(s);
    hv_err err = s_update(s, hv_sql(s->db, "UPDATE sessions SET last = ? WHERE id_hash = ?",
                                    "ix", now, id_hash, (size_t)32));
    UNLOCK(s);
    return err;
}

hv_err hv_web_session_delete(hv_web_store *s, const uint8_t id_hash[32])
{
    LOCK(s);
    hv_err err = s_update(s, hv_sql(s->db, "DELETE FROM sessions WHERE id_hash = ?", "x",
                                    id_hash, (size_t)32));
    UNLOCK(s);
    return err;
}

hv_err hv_web_session_delete_staff(hv_web_store *s, const char *staff)
{
    LOCK(s);
    hv_err err = hv_sql_exec(s->db, "DELETE FROM sessions WHERE staff = ?", "t", staff);
    UNLOCK(s);
    return err;
}

hv_err hv_web_token_put(hv_web_store *s, const char *id, const uint8_t hash[32],
                        const char *scope, const char *created_by, int64_t now)
{
    LOCK(s);
    hv_err err = hv_sql_exec(s->db, "INSERT INTO tokens(id, hash, scope, created_by, created) "
                             "VALUES (?, ?, ?, ?, ?)", "txtti", id, hash, (size_t)32, scope,
                             created_by, now);
    UNLOCK(s);
    return err;
}

hv_err hv_web_token_get(hv_web_store *s, const uint8_t hash[32], hv_web_token *out)
{
    memset(out, 0, sizeof *out);
    LOCK(s);
    sqlite3_stmt *st = hv_sql(s->db, "SELECT id, scope, created_by, revoked FROM tokens "
                              "WHERE hash = ?", "x", hash, (size_t)32);
    hv_err err = st == NULL ? HV_ESTORE : HV_ENOTFOUND;
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        hv_sql_text(st, 0, out->id, sizeof out->id);
        hv_sql_text(st, 1, out->scope, sizeof out->scope);
        hv_sql_text(st, 2, out->created_by, sizeof out->created_by);
        out->revoked = sqlite3_column_int(st, 3) != 0;
        err = HV_OK;
    }
    sqlite3_finalize(st);
    UNLOCK(s);
    return err;
}

hv_err hv_web_token_revoke(hv_web_store *s, const char *id)
{
    LOCK(s);
    hv_err err = s_update(s, hv_sql(s->db, "UPDATE tokens SET revoked = 1 WHERE id = ?", "t",
                                    id));
    UNLOCK(s);
    return err;
}

hv_err hv_web_token_list(hv_web_store *s, json_t **out)
{
    *out = json_array();
    if (*out == NULL)
        return HV_ENOMEM;
    LOCK(s);
    sqlite3_stmt *st = hv_sql(s->db, "SELECT id, scope, created_by, created, revoked FROM "
                              "tokens ORDER BY created", "");
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(
            *out, json_pack("{s:s, s:s, s:s, s:I, s:b}", "id", sqlite3_column_text(st, 0),
                            "scope", sqlite3_column_text(st, 1), "created_by",
                            sqlite3_column_text(st, 2), "created_ms",
                            (json_int_t)sqlite3_column_int64(st, 3), "revoked",
                            sqlite3_column_int(st, 4)));
    hv_err err = st == NULL ? HV_ESTORE : HV_OK;
    sqlite3_finalize(st);
    UNLOCK(s);
    return err;
}

hv_err hv_web_prefs_get(hv_web_store *s, const char *staff, char lang[8], char tz[72])
{
    lang[0] = tz[0] = '\0';
    LOCK(s);
    sqlite3_stmt *st = hv_sql(s->db, "SELECT lang, time_zone FROM prefs WHERE staff = ?", "t",
                              staff);
    hv_err err = st == NULL ? HV_ESTORE : HV_ENOTFOUND;
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        hv_sql_text(st, 0, lang, 8);
        hv_sql_text(st, 1, tz, 72);
        err = HV_OK;
    }
    sqlite3_finalize(st);
    UNLOCK(s);
    return err;
}

hv_err hv_web_prefs_put(hv_web_store *s, const char *staff, const char *lang, const char *tz)
{
    LOCK(s);
    hv_err err = hv_sql_exec(s->db, "INSERT INTO prefs (staff, lang, time_zone) VALUES (?1, "
                             "coalesce(?2, ''), coalesce(?3, '')) ON CONFLICT (staff) DO UPDATE "
                             "SET lang = coalesce(?2, lang), time_zone = coalesce(?3, time_zone)",
                             "ttt", staff, lang, tz);
    UNLOCK(s);
    return err;
}
