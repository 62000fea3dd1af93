/* Evidence in a worker's store; see hv_evidence.h. */
#include "hv_evidence.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_evidence_bundle.h"
#include "hv_db.h"
#include "hv_file.h"
#include "hv_log.h"
#include "hv_registry.h"
#include "hv_sql.h"
#include "hv_text.h"

const char hv_evidence_schema[] =
    "CREATE TABLE IF NOT EXISTS evidence (id BLOB NOT NULL, direction TEXT NOT NULL,"
    " referral BLOB NOT NULL, type INTEGER NOT NULL, sender TEXT NOT NULL,"
    " recipient TEXT NOT NULL, created_at_ms INTEGER NOT NULL, from_kid BLOB NOT NULL,"
    " header BLOB NOT NULL, body_digest BLOB NOT NULL, sig BLOB NOT NULL,"
    " verified_at_ms INTEGER NOT NULL, registry_version INTEGER NOT NULL,"
    " PRIMARY KEY (id, direction)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS evidence_by_referral ON evidence (referral, created_at_ms);"
    "CREATE TABLE IF NOT EXISTS evidence_registry (version INTEGER PRIMARY KEY,"
    " signed BLOB NOT NULL, kept_at_ms INTEGER NOT NULL);";

hv_err hv_evidence_note(sqlite3 *db, bool sent, const hv_envelope *env, uint64_t version,
                        int64_t at_ms)
{
    if (env->header_len > HV_EVIDENCE_HEADER_MAX)
        return HV_EINVAL;
    uint8_t digest[HV_BODY_DIGEST_BYTES];
    hv_body_digest(env->body, env->body_len, digest);
    return hv_sql_exec(db,
                       "INSERT OR IGNORE INTO evidence (id, direction, referral, type, sender,"
                       " recipient, created_at_ms, from_kid, header, body_digest, sig,"
                       " verified_at_ms, registry_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                       " ?8, ?9, ?10, ?11, ?12, ?13)",
                       "rtrittixxxxii", env->id, sent ? "sent" : "received", env->referral,
                       (int64_t)env->type, env->from, env->to, (int64_t)env->created_at_ms,
                       env->from_kid, (size_t)HV_KEY_ID_BYTES, env->header, env->header_len,
                       digest, sizeof digest, env->sig, (size_t)HV_SIG_BYTES, (int64_t)at_ms,
                       (int64_t)version);
}

hv_err hv_evidence_note_sent(sqlite3 *db, const uint8_t *wire, size_t len, uint64_t version,
                             int64_t at_ms)
{
    hv_envelope env;
    hv_err err = hv_envelope_decode(wire, len, &env);
    return err != HV_OK ? err : hv_evidence_note(db, true, &env, version, at_ms);
}

hv_err hv_evidence_keep_registry(sqlite3 *db, const char *path, const uint8_t authority_pk[32],
                                 uint64_t version, hv_errmsg *e)
{
    int64_t have = 0;
    hv_err err = hv_sql_int(db, &have, "SELECT count(*) FROM evidence_registry WHERE version = ?1",
                            "i", (int64_t)version);
    if (err != HV_OK)
        return HV_ESTORE;
    if (have > 0)
        return HV_OK;
    uint8_t *buf = NULL;
    size_t len = 0;
    hv_registry *reg = NULL;
    if ((err = hv_file_read(path, HV_REGISTRY_FILE_MAX, &buf, &len, e)) != HV_OK)
        return err;
    if ((err = hv_registry_load(buf, len, authority_pk, (uint64_t)time(NULL), 0, &reg, e)) !=
        HV_OK)
        goto done;
    if (hv_registry_version(reg) != version) {
        err = hv_fail(e, HV_EPROTO, "%s is version %" PRIu64 " now, not %" PRIu64, path,
                      hv_registry_version(reg), version);
        goto done;
    }
    err = hv_sql_exec(db, "INSERT OR IGNORE INTO evidence_registry (version, signed, kept_at_ms)"
                      " VALUES (?1, ?2, ?3)", "ixi", (int64_t)version, buf, len, hv_now_ms());
done:
    hv_registry_free(&reg);
    free(buf);
    return err;
}

hv_err hv_evidence_find(sqlite3 *db, const char *prefix, uint8_t out[16], hv_errmsg *e)
{
    size_t n = strlen(prefix);
    if (n < 6 || n > 32 || strspn(prefix, "0123456789abcdefABCDEF") != n)
        return hv_fail(e, HV_EINVAL, "'%.40s' is not a referral id (6 to 32 hex digits)",
                       prefix);
    char pattern[40];
    snprintf(pattern, sizeof pattern, "%s%%", prefix);
    for (char *p = pattern; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    sqlite3_stmt *st = hv_sql(db, "SELECT DISTINCT referral FROM evidence"
                              " WHERE hex(referral) LIKE ?1 LIMIT 2", "t", pattern);
    if (st == NULL)
        return HV_ESTORE;
    int found = 0;
    while (sqlite3_step(st) == SQLITE_ROW && found < 2)
        if (found++ == 0 && sqlite3_column_bytes(st, 0) == 16)
            memcpy(out, sqlite3_column_blob(st, 0), 16);
    sqlite3_finalize(st);
    if (found == 0)
        return hv_fail(e, HV_ENOTFOUND, "no evidence of referral %s here", prefix);
    if (found > 1)
        return hv_fail(e, HV_EINVAL, "'%s' matches more than one referral: give more digits",
                       prefix);
    return HV_OK;
}

/* Reads the current row of s_items into `it`. */
static bool s_row(sqlite3_stmt *st, hv_evidence_item *it)
{
    memset(it, 0, sizeof *it);
    size_t hl = (size_t)sqlite3_column_bytes(st, 1);
    if (hl == 0 || hl > HV_EVIDENCE_HEADER_MAX ||
        sqlite3_column_bytes(st, 2) != HV_BODY_DIGEST_BYTES ||
        sqlite3_column_bytes(st, 3) != HV_SIG_BYTES)
        return false;
    it->sent = strcmp((const char *)sqlite3_column_text(st, 0), "sent") == 0;
    memcpy(it->header, sqlite3_column_blob(st, 1), hl);
    it->header_len = hl;
    memcpy(it->body_digest, sqlite3_column_blob(st, 2), HV_BODY_DIGEST_BYTES);
    memcpy(it->sig, sqlite3_column_blob(st, 3), HV_SIG_BYTES);
    it->verified_at_ms = (uint64_t)sqlite3_column_int64(st, 4);
    it->registry_version = (uint64_t)sqlite3_column_int64(st, 5);
    return hv_envelope_decode_header(it->header, it->header_len, &it->hdr) == HV_OK;
}

static sqlite3_stmt *s_items(sqlite3 *db, const uint8_t referral[16])
{
    return hv_sql(db, "SELECT direction, header, body_digest, sig, verified_at_ms,"
                  " registry_version FROM evidence WHERE referral = ?1"
                  " ORDER BY created_at_ms, id, direction DESC", "r", referral);
}

hv_err hv_evidence_show(sqlite3 *db, const uint8_t referral[16], json_t **result, char **text,
                        hv_errmsg *e)
{
    sqlite3_stmt *st = s_items(db, referral);
    if (st == NULL)
        return HV_ESTORE;
    char ref[33];
    hv_ref_hex(referral, ref);
    json_t *items = json_array();
    char *out = NULL;
    hv_err err = items == NULL ? HV_ENOMEM : HV_OK;
    int rc;
    while (err == HV_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        hv_evidence_item *it = malloc(sizeof *it);
        if (it == NULL || !s_row(st, it)) {
            err = it == NULL ? HV_ENOMEM : hv_fail(e, HV_ESTORE, "an evidence row is damaged");
            free(it);
            break;
        }
        json_t *j = hv_evidence_item_json(it);
        if (j != NULL) {
            json_object_del(j, "header");
            json_object_del(j, "body_digest");
            json_object_del(j, "signature");
        }
        if (j == NULL || json_array_append_new(items, j) != 0)
            err = HV_ENOMEM;
        char at[21], kid[17];
        hv_time_format(it->hdr.created_at_ms / 1000, at);
        hv_hex(it->hdr.from_kid, sizeof it->hdr.from_kid, kid);
        hv_strcat(&out, "%s  %-8s  %-16s  %s \u2192 %s  signer key %s  verified against "
                  "registry v%" PRIu64 "\n", at, it->sent ? "sent" : "received",
                  hv_msg_rule_get(it->hdr.type)->name, it->hdr.from, it->hdr.to, kid,
                  it->registry_version);
        free(it);
    }
    sqlite3_finalize(st);
    if (err == HV_OK && json_array_size(items) == 0)
        err = hv_fail(e, HV_ENOTFOUND, "no evidence of referral %s here", ref);
    if (err == HV_OK && (*result = json_pack("{s:s, s:O}", "referral", ref, "items", items)) ==
                            NULL)
        err = HV_ENOMEM;
    json_decref(items);
    if (err != HV_OK) {
        free(out);
        return err;
    }
    *text = out;
    return HV_OK;
}

/* Adds registry `version` to `regs` unless it is there already. */
static hv_err s_add_registry(sqlite3 *db, json_t *regs, uint64_t version, hv_errmsg *e)
{
    size_t i;
    json_t *r;
    json_array_foreach(regs, i, r)
    {
        if ((uint64_t)json_integer_value(json_object_get(r, "version")) == version)
            return HV_OK;
    }
    if (json_array_size(regs) >= HV_EVIDENCE_REGISTRIES_MAX)
        return hv_fail(e, HV_ETOOBIG, "the evidence names more than %d registries",
                       HV_EVIDENCE_REGISTRIES_MAX);
    sqlite3_stmt *st = hv_sql(db, "SELECT signed FROM evidence_registry WHERE version = ?1", "i",
                              (int64_t)version);
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    if (sqlite3_step(st) != SQLITE_ROW)
        err = hv_fail(e, HV_ENOTFOUND, "registry v%" PRIu64 " is not kept in this store",
                      version);
    else if (json_array_append_new(regs, hv_evidence_registry_json(
                                             version, sqlite3_column_blob(st, 0),
                                             (size_t)sqlite3_column_bytes(st, 0))) != 0)
        err = HV_ENOMEM;
    sqlite3_finalize(st);
    return err;
}

hv_err hv_evidence_export(sqlite3 *db, const char *node, const uint8_t referral[16],
                          json_t **bundle, hv_errmsg *e)
{
    sqlite3_stmt *st = s_items(db, referral);
    if (st == NULL)
        return HV_ESTORE;
    char ref[33];
    hv_ref_hex(referral, ref);
    json_t *items = json_array(), *regs = json_array();
    hv_err err = items == NULL || regs == NULL ? HV_ENOMEM : HV_OK;
    hv_evidence_item *it = malloc(sizeof *it);
    if (it == NULL)
        err = HV_ENOMEM;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        if (!s_row(st, it)) {
            err = hv_fail(e, HV_ESTORE, "an evidence row is damaged");
            break;
        }
        if (json_array_size(items) >= HV_EVIDENCE_ITEMS_MAX) {
            err = hv_fail(e, HV_ETOOBIG, "more than %d messages", HV_EVIDENCE_ITEMS_MAX);
            break;
        }
        if (json_array_append_new(items, hv_evidence_item_json(it)) != 0)
            err = HV_ENOMEM;
        else
            err = s_add_registry(db, regs, it->registry_version, e);
    }
    free(it);
    sqlite3_finalize(st);
    if (err == HV_OK && json_array_size(items) == 0)
        err = hv_fail(e, HV_ENOTFOUND, "no evidence of referral %s here", ref);
    if (err == HV_OK &&
        (*bundle = json_pack("{s:s, s:s, s:s, s:I, s:O, s:O}", "format", HV_EVIDENCE_FORMAT,
                             "node", node, "referral", ref, "exported_at",
                             (json_int_t)time(NULL), "registries", regs, "items", items)) ==
            NULL)
        err = HV_ENOMEM;
    json_decref(items);
    json_decref(regs);
    return err;
}

hv_err hv_evidence_control(sqlite3 *db, const char *node, const char *cmd, json_t *args,
                           json_t **result, char **text, hv_errmsg *e)
{
    const char *prefix = json_string_value(json_object_get(args, "referral"));
    bool show = strcmp(cmd, "evidence.show") == 0;
    if (!show && strcmp(cmd, "evidence.export") != 0)
        return hv_fail(e, HV_EINVAL, "unknown command '%s'", cmd);
    if (prefix == NULL)
        return hv_fail(e, HV_EINVAL, "%s needs a referral id", cmd);
    uint8_t ref[16];
    hv_err err = hv_evidence_find(db, prefix, ref, e);
    if (err != HV_OK)
        return err;
    return show ? hv_evidence_show(db, ref, result, text, e)
                : hv_evidence_export(db, node, ref, result, e);
}
