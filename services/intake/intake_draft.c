/* haven-intake: drafts of referrals, kept for the caseworker who is
 * writing one (the workbench's "save and resume"); see intake.h.
 *
 * A draft is whatever partial form state the pages send, a JSON object
 * of up to a referral file's size. It is sealed in the vault (hv_vault.h)
 * under its own random id, like a case: its own key, wrapped under the
 * node's storage key, so no file holds it in plain text. Saving again
 * replaces the sealed copy under a fresh key; deleting it, or submitting
 * the referral made from it, destroys the key and the rows, and the WAL
 * is truncated after the commit so no page of it lingers there. The
 * `drafts` table (intake.c's schema) holds only who and when.
 *
 * A draft is a person's name and story written down and not yet sent: it
 * is not kept for ever. One not saved for S_DRAFT_KEEP_S is erased at the
 * tick, and a caseworker holds at most S_DRAFTS_MAX at a time. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_json.h"
#include "hv_log.h"
#include "hv_sql.h"
#include "hv_vault.h"
#include "intake.h"

#define S_DRAFT_KEEP_S (30u * 86400) /* a draft not saved for 30 days is erased */
#define S_DRAFTS_MAX 50               /* drafts one person may hold */

/* One draft's row. */
typedef struct s_draft {
    uint8_t id[16];                    /* the draft's id */
    char created_by[HV_STAFF_MAX + 1]; /* who started it */
    uint64_t created, updated;         /* Unix seconds */
} s_draft;

static bool s_sees_all(const hv_actor *a) { return a->role != HV_ACTOR_CASEWORKER; }

/* The draft named by `id` that `a` may see: HV_ENOTFOUND, in the same
 * words, for one that does not exist and one of another caseworker. */
static hv_err s_find(hv_worker *w, const hv_actor *a, const char *id, s_draft *d, hv_errmsg *e)
{
    if (id == NULL || strlen(id) != 32 || hv_ref_parse(id, d->id) != HV_OK)
        return hv_fail(e, HV_EINVAL, "\"id\" must be a draft's id (32 hex digits)");
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT created_by, created_s, updated_s FROM drafts WHERE id = ?1",
                              "r", d->id);
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        hv_sql_text(st, 0, d->created_by, sizeof d->created_by);
        d->created = (uint64_t)sqlite3_column_int64(st, 1);
        d->updated = (uint64_t)sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return HV_ESTORE;
    if (rc == SQLITE_DONE || (!s_sees_all(a) && strcmp(d->created_by, a->staff) != 0))
        return hv_fail(e, HV_ENOTFOUND, "no draft %s here", id);
    return HV_OK;
}

static json_t *s_row_json(const s_draft *d)
{
    char id[33], created[21], updated[21];
    hv_ref_hex(d->id, id);
    hv_time_format(d->created, created);
    hv_time_format(d->updated, updated);
    return json_pack("{s:s, s:s, s:s, s:s}", "id", id, "created_by", d->created_by, "created",
                     created, "updated", updated);
}

/* Destroys the sealed copy and its key; the WAL goes after the commit. */
static hv_err s_shred(hv_worker *w, const uint8_t id[16])
{
    hv_err err = hv_vault_erase(hv_worker_db(w), id);
    if (err == HV_OK)
        hv_worker_purge_after_commit(w);
    return err;
}

hv_err in_draft_save(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                     char **text, hv_errmsg *e)
{
    json_t *content = json_object_get(args, "draft");
    json_t *id = json_object_get(args, "id");
    if (!json_is_object(content))
        return hv_fail(e, HV_EINVAL, "\"draft\" must be a JSON object (the form as it is)");
    if (id != NULL && !json_is_string(id))
        return hv_fail(e, HV_EINVAL, "\"id\" must be a draft's id (32 hex digits)");
    char *plain = json_dumps(content, JSON_COMPACT);
    if (plain == NULL)
        return HV_ENOMEM;
    size_t len = strlen(plain);
    s_draft d;
    memset(&d, 0, sizeof d);
    uint64_t now = (uint64_t)time(NULL);
    hv_err err = HV_OK;
    if (len > HV_JSON_TEXT_MAX) {
        err = hv_fail(e, HV_ETOOBIG, "a draft may be at most %u bytes, as a referral file; "
                      "this one is %zu", HV_JSON_TEXT_MAX, len);
    } else if (id != NULL) {
        if ((err = s_find(w, a, json_string_value(id), &d, e)) == HV_OK &&
            (err = s_shred(w, d.id)) == HV_OK &&
            (err = hv_sql_exec(hv_worker_db(w), "UPDATE drafts SET updated_s = ?2 WHERE id = ?1",
                               "ri", d.id, (int64_t)now)) == HV_OK)
            d.updated = now;
    } else {
        int64_t held = 0;
        if (hv_sql_int(hv_worker_db(w), &held, "SELECT count(*) FROM drafts WHERE created_by = ?1",
                       "t", a->staff) != HV_OK)
            err = HV_ESTORE;
        else if (held >= S_DRAFTS_MAX)
            err = hv_fail(e, HV_EPROTO, "%s already has %d drafts, the most one person may "
                          "keep: submit or delete one first", a->staff, S_DRAFTS_MAX);
    }
    if (err == HV_OK && id == NULL) {
        hv_random(d.id, 16);
        snprintf(d.created_by, sizeof d.created_by, "%s", a->staff);
        d.created = d.updated = now;
        err = hv_sql_exec(hv_worker_db(w),
                          "INSERT INTO drafts (id, created_by, created_s, updated_s) VALUES "
                          "(?1, ?2, ?3, ?3)",
                          "rti", d.id, d.created_by, (int64_t)now);
    }
    if (err == HV_OK)
        err = hv_vault_put(hv_worker_db(w), hv_worker_keys(w), d.id, (const uint8_t *)plain, len);
    hv_memzero(plain, len);
    free(plain);
    if (err != HV_OK)
        return err;
    *result = s_row_json(&d);
    char hex[33];
    hv_ref_hex(d.id, hex);
    hv_strcat(text, "draft %s saved (%zu bytes, sealed)\n", hex, len);
    return HV_OK;
}

hv_err in_draft_list(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                     char **text, hv_errmsg *e)
{
    if (json_object_size(args) != 0)
        return hv_fail(e, HV_EINVAL, "draft.list takes no arguments");
    const char *who = s_sees_all(a) ? "" : a->staff;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id, created_by, created_s, updated_s FROM drafts WHERE "
                              "?1 = '' OR created_by = ?1 ORDER BY updated_s DESC, id",
                              "t", who);
    if (st == NULL)
        return HV_ESTORE;
    json_t *items = json_array();
    hv_strcat(text, "%-32s  %-20s  %s\n", "DRAFT", "UPDATED", "BY");
    while (items != NULL && sqlite3_step(st) == SQLITE_ROW) {
        s_draft d;
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        memcpy(d.id, sqlite3_column_blob(st, 0), 16);
        hv_sql_text(st, 1, d.created_by, sizeof d.created_by);
        d.created = (uint64_t)sqlite3_column_int64(st, 2);
        d.updated = (uint64_t)sqlite3_column_int64(st, 3);
        json_t *row = s_row_json(&d);
        hv_strcat(text, "%s  %s  %s\n", json_string_value(json_object_get(row, "id")),
                  json_string_value(json_object_get(row, "updated")), d.created_by);
        json_array_append_new(items, row);
    }
    sqlite3_finalize(st);
    if (items == NULL)
        return HV_ENOMEM;
    *result = json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)json_array_size(items));
    return HV_OK;
}

hv_err in_draft_show(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                     char **text, hv_errmsg *e)
{
    s_draft d;
    hv_err err = s_find(w, a, json_string_value(json_object_get(args, "id")), &d, e);
    if (err != HV_OK)
        return err;
    uint8_t *plain = NULL;
    size_t len = 0;
    if ((err = hv_vault_get(hv_worker_db(w), hv_worker_keys(w), d.id, &plain, &len)) != HV_OK)
        return hv_fail(e, err, "the draft cannot be read from the store");
    json_error_t jerr;
    json_t *content = json_loadb((const char *)plain, len, 0, &jerr);
    hv_secure_free(plain);
    if (content == NULL)
        return hv_fail(e, HV_ESTORE, "the stored draft is not JSON");
    json_t *row = s_row_json(&d);
    json_object_set_new(row, "draft", content);
    *result = row;
    hv_strcat(text, "draft %s by %s, last saved %s\n",
              json_string_value(json_object_get(row, "id")), d.created_by,
              json_string_value(json_object_get(row, "updated")));
    return HV_OK;
}

hv_err in_draft_erase(hv_worker *w, const hv_actor *a, const char *id, hv_errmsg *e)
{
    s_draft d;
    hv_err err = s_find(w, a, id, &d, e);
    if (err == HV_OK && (err = s_shred(w, d.id)) == HV_OK)
        err = hv_sql_exec(hv_worker_db(w), "DELETE FROM drafts WHERE id = ?1", "r", d.id);
    if (err == HV_OK)
        hv_log(HV_LOG_INFO, "draft_erased", "draft=%s by=%s", id, a->by);
    return err;
}

hv_err in_draft_delete(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                       char **text, hv_errmsg *e)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    hv_err err = in_draft_erase(w, a, id, e);
    if (err != HV_OK)
        return err;
    *result = json_pack("{s:s, s:b}", "id", id, "deleted", 1);
    hv_strcat(text, "draft %s deleted (erased from the store)\n", id);
    return HV_OK;
}

hv_err in_drafts_expire(hv_worker *w, uint64_t now)
{
    if (now < S_DRAFT_KEEP_S)
        return HV_OK;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w), "SELECT id FROM drafts WHERE updated_s < ?1",
                              "i", (int64_t)(now - S_DRAFT_KEEP_S));
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        uint8_t id[16];
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        memcpy(id, sqlite3_column_blob(st, 0), 16);
        char hex[33];
        hv_ref_hex(id, hex);
        if ((err = s_shred(w, id)) == HV_OK &&
            (err = hv_sql_exec(hv_worker_db(w), "DELETE FROM drafts WHERE id = ?1", "r", id)) ==
                HV_OK)
            hv_log(HV_LOG_INFO, "draft_erased", "draft=%s by=%s reason=not_saved_for_30_days",
                   hex, hv_worker_cfg(w)->id);
    }
    sqlite3_finalize(st);
    return err;
}
