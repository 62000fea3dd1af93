/* Case messages between an intake and its case's provider; see
 * hv_casemsg.h and proto/PROTOCOL.md §9.2. */
#include "hv_casemsg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_events.h"
#include "hv_log.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "hv_vault.h"

/* "intake" or "provider": who wrote a message of direction `dir` here. */
static const char *s_from(hv_worker *w, const char *dir)
{
    bool intake = hv_worker_self(w)->role == HV_ROLE_INTAKE;
    bool out = strcmp(dir, "out") == 0;
    return intake == out ? "intake" : "provider";
}

/* The highest number in direction `dir` of `ref` (0 for none). */
static hv_err s_last(hv_worker *w, const uint8_t ref[16], const char *dir, uint64_t *n)
{
    int64_t v = 0;
    hv_err err = hv_sql_int(hv_worker_db(w), &v,
                            "SELECT coalesce(max(n), 0) FROM case_messages WHERE referral = ?1 "
                            "AND dir = ?2",
                            "rt", ref, dir);
    *n = (uint64_t)v;
    return err;
}

/* Sends a MESSAGE_MARK of `kind` for message `n` to `to`. */
static hv_err s_mark(hv_worker *w, const uint8_t ref[16], const char *to, const char *kind,
                     uint64_t n)
{
    hv_msg m = {.type = HV_MSG_MESSAGE_MARK, .n = n, .at = (uint64_t)time(NULL)};
    snprintf(m.code, sizeof m.code, "%s", kind);
    return hv_worker_send(w, to, ref, &m, HV_TTL_MAX, NULL);
}

/* A message that came: stored sealed (once), answered with a delivered
 * mark. The same number again with the same text (a broker's replay to a
 * store restored from a backup) is delivered again; with other text it is
 * refused. */
static hv_err s_on_text(hv_worker *w, const hv_envelope *env, const hv_msg *m, hv_errmsg *e)
{
    sqlite3 *db = hv_worker_db(w);
    char *text = malloc(m->case_len + 1);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    hv_err err = HV_OK;
    if (text == NULL)
        return HV_ENOMEM;
    memcpy(text, m->case_json, m->case_len);
    text[m->case_len] = '\0';
    sqlite3_stmt *st = hv_sql(db,
                              "SELECT text FROM case_messages WHERE referral = ?1 AND dir = 'in' "
                              "AND n = ?2",
                              "ri", env->referral, (int64_t)m->n);
    if (st == NULL) {
        err = HV_ESTORE;
        goto done;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        char *before = NULL;
        err = hv_vault_open_note(hv_worker_keys(w), env->referral, sqlite3_column_blob(st, 0),
                                 (size_t)sqlite3_column_bytes(st, 0), &before);
        bool same = err == HV_OK && strcmp(before, text) == 0;
        hv_secure_free(before);
        sqlite3_finalize(st);
        if (err != HV_OK)
            goto done;
        err = same ? s_mark(w, env->referral, env->from, "delivered", m->n)
                   : hv_fail(e, HV_EEXIST, "message %llu of this case came before with other "
                             "text", (unsigned long long)m->n);
        goto done;
    }
    sqlite3_finalize(st);
    /* The writer's clock, as written; one far ahead of ours (beyond a day)
     * is taken as now, so that the thread's order stays sensible. */
    uint64_t now = (uint64_t)time(NULL), at = m->at > now + 86400 ? now : m->at;
    if ((err = hv_vault_seal_note(hv_worker_keys(w), env->referral, text, &sealed,
                                  &sealed_len)) != HV_OK)
        goto done;
    err = hv_sql_exec(db,
                      "INSERT INTO case_messages (referral, dir, n, at_s, text, delivered_s, by) "
                      "VALUES (?1, 'in', ?2, ?3, ?4, ?5, ?6)",
                      "riixit", env->referral, (int64_t)m->n, (int64_t)at, sealed, sealed_len,
                      (int64_t)now, env->from);
    if (err == HV_OK)
        err = s_mark(w, env->referral, env->from, "delivered", m->n);
    if (err == HV_OK)
        err = hv_events_add(w, env->referral, "message", "received");
done:
    hv_memzero(text, m->case_len);
    free(text);
    free(sealed);
    return err;
}

/* A mark that came: delivered names one message of ours, read all ours up
 * to its number. A mark for a number this node never sent is refused. */
static hv_err s_on_mark(hv_worker *w, const hv_envelope *env, const hv_msg *m, hv_errmsg *e)
{
    uint64_t last = 0;
    hv_err err = s_last(w, env->referral, "out", &last);
    if (err != HV_OK)
        return err;
    if (m->n > last)
        return hv_fail(e, HV_ENOTFOUND, "a %s mark for message %llu, but %llu %s sent", m->code,
                       (unsigned long long)m->n, (unsigned long long)last,
                       last == 1 ? "was" : "were");
    bool read = strcmp(m->code, "read") == 0;
    err = read ? hv_sql_exec(hv_worker_db(w),
                             "UPDATE case_messages SET read_s = ?3, delivered_s = CASE WHEN "
                             "delivered_s = 0 THEN ?3 ELSE delivered_s END WHERE referral = ?1 "
                             "AND dir = 'out' AND n <= ?2 AND read_s = 0",
                             "rii", env->referral, (int64_t)m->n, (int64_t)m->at)
               : hv_sql_exec(hv_worker_db(w),
                             "UPDATE case_messages SET delivered_s = ?3 WHERE referral = ?1 AND "
                             "dir = 'out' AND n = ?2 AND delivered_s = 0",
                             "rii", env->referral, (int64_t)m->n, (int64_t)m->at);
    if (err == HV_OK)
        err = hv_events_add(w, env->referral, "message", m->code);
    return err;
}

hv_err hv_casemsg_on_message(hv_worker *w, const hv_envelope *env, const hv_msg *m,
                             hv_errmsg *e)
{
    if (env->type == HV_MSG_CASE_MESSAGE)
        return s_on_text(w, env, m, e);
    if (env->type == HV_MSG_MESSAGE_MARK)
        return s_on_mark(w, env, m, e);
    return hv_fail(e, HV_EINVAL, "not a case message");
}

/* ------------------------------------------------------------ commands */

static hv_err s_send(hv_worker *w, const uint8_t id[16], const char *peer, const char *by,
                     json_t *args, json_t **result, char **text, hv_errmsg *e)
{
    json_t *t = json_object_get(args, "text");
    const char *s = json_string_value(t);
    size_t len = s != NULL ? json_string_length(t) : 0;
    if (s == NULL)
        return hv_fail(e, HV_EINVAL, "\"text\" (the message) is required");
    if (len == 0 || strlen(s) != len)
        return hv_fail(e, HV_EINVAL, "the message is empty%s: write something to send",
                       len == 0 ? "" : " or holds a NUL character");
    if (len > HV_CASE_TEXT_MAX)
        return hv_fail(e, HV_ETOOBIG, "the message is %zu bytes; a message may be at most %u "
                       "bytes: shorten it or send it in two", len, HV_CASE_TEXT_MAX);
    uint64_t n = 0;
    hv_err err = s_last(w, id, "out", &n);
    if (err != HV_OK)
        return err;
    n++;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    hv_msg m = {.type = HV_MSG_CASE_MESSAGE, .n = n, .at = (uint64_t)time(NULL),
                .case_json = s, .case_len = len};
    if ((err = hv_vault_seal_note(hv_worker_keys(w), id, s, &sealed, &sealed_len)) != HV_OK)
        return err;
    uint8_t envelope[16];
    err = hv_worker_send(w, peer, id, &m, HV_TTL_MAX, envelope);
    if (err != HV_OK) {
        free(sealed);
        return hv_fail(e, err, "cannot send the message to %s", peer);
    }
    err = hv_sql_exec(hv_worker_db(w),
                      "INSERT INTO case_messages (referral, dir, n, at_s, text, by, envelope) "
                      "VALUES (?1, 'out', ?2, ?3, ?4, ?5, ?6)",
                      "riixtr", id, (int64_t)n, (int64_t)m.at, sealed, sealed_len, by, envelope);
    free(sealed);
    if (err == HV_OK)
        err = hv_events_add(w, id, "message", "sent");
    if (err != HV_OK)
        return err;
    char ref[33];
    hv_ref_hex(id, ref);
    hv_log(HV_LOG_INFO, "case_message_sent", "referral=%s n=%llu to=%s", ref,
           (unsigned long long)n, peer);
    *result = json_pack("{s:I}", "n", (json_int_t)n);
    hv_strcat(text, "message %llu sent to %s\n", (unsigned long long)n, peer);
    return *result != NULL ? HV_OK : HV_ENOMEM;
}

/* "" for 0, else the machine time stamp. */
static json_t *s_when(uint64_t t)
{
    char at[21] = "";
    if (t != 0)
        hv_time_format(t, at);
    return json_string(at);
}

static hv_err s_list(hv_worker *w, const uint8_t id[16], json_t **result, char **text)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT dir, n, at_s, text, delivered_s, read_s, by, failed FROM "
                              "case_messages WHERE referral = ?1 ORDER BY at_s, rowid",
                              "r", id);
    json_t *items = json_array();
    if (st == NULL || items == NULL) {
        sqlite3_finalize(st);
        json_decref(items);
        return st == NULL ? HV_ESTORE : HV_ENOMEM;
    }
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        char dir[4], by[HV_BY_MAX + 1];
        hv_sql_text(st, 0, dir, sizeof dir);
        hv_sql_text(st, 6, by, sizeof by);
        char *body = NULL;
        if ((err = hv_vault_open_note(hv_worker_keys(w), id, sqlite3_column_blob(st, 3),
                                      (size_t)sqlite3_column_bytes(st, 3), &body)) != HV_OK)
            break;
        char failed[300];
        hv_sql_text(st, 7, failed, sizeof failed);
        json_t *it = json_pack("{s:I, s:s, s:s, s:o, s:s, s:o, s:o, s:s}", "n",
                               (json_int_t)sqlite3_column_int64(st, 1), "from", s_from(w, dir),
                               "by", by, "at", s_when((uint64_t)sqlite3_column_int64(st, 2)),
                               "text", body, "delivered_at",
                               s_when((uint64_t)sqlite3_column_int64(st, 4)), "read_at",
                               s_when((uint64_t)sqlite3_column_int64(st, 5)), "failed", failed);
        hv_secure_free(body);
        if (it == NULL || json_array_append_new(items, it) != 0)
            err = HV_ENOMEM;
    }
    sqlite3_finalize(st);
    if (err != HV_OK) {
        json_decref(items);
        return err;
    }
    hv_strcat(text, "%zu message%s\n", json_array_size(items),
              json_array_size(items) == 1 ? "" : "s");
    *result = json_pack("{s:o}", "items", items);
    return *result != NULL ? HV_OK : HV_ENOMEM;
}

static hv_err s_read(hv_worker *w, const uint8_t id[16], const char *peer, json_t *args,
                     json_t **result, char **text, hv_errmsg *e)
{
    json_t *nj = json_object_get(args, "n");
    if (!json_is_integer(nj) || json_integer_value(nj) < 1)
        return hv_fail(e, HV_EINVAL, "\"n\" (the number of the last message read) must be a "
                       "whole number from 1");
    uint64_t n = (uint64_t)json_integer_value(nj), last = 0;
    hv_err err = s_last(w, id, "in", &last);
    if (err != HV_OK)
        return err;
    if (n > last)
        return hv_fail(e, HV_ENOTFOUND, "no message %llu has come from %s (%llu so far)",
                       (unsigned long long)n, peer, (unsigned long long)last);
    err = hv_sql_exec(hv_worker_db(w),
                      "UPDATE case_messages SET read_s = ?3 WHERE referral = ?1 AND dir = 'in' "
                      "AND n <= ?2 AND read_s = 0",
                      "rii", id, (int64_t)n, (int64_t)time(NULL));
    int marked = err == HV_OK ? sqlite3_changes(hv_worker_db(w)) : 0;
    /* Nothing newly read: the other side was told already. */
    if (err == HV_OK && marked > 0 && (err = s_mark(w, id, peer, "read", n)) == HV_OK)
        err = hv_events_add(w, id, "message", "read");
    if (err != HV_OK)
        return err;
    *result = json_pack("{s:I, s:i}", "n", (json_int_t)n, "marked", marked);
    if (marked > 0)
        hv_strcat(text, "marked read up to message %llu; %s will be told\n",
                  (unsigned long long)n, peer);
    else
        hv_strcat(text, "messages up to %llu were read already\n", (unsigned long long)n);
    return *result != NULL ? HV_OK : HV_ENOMEM;
}

hv_err hv_casemsg_on_notice(hv_worker *w, const hv_notice *n)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT referral FROM case_messages WHERE envelope = ?1", "r",
                              n->id);
    if (st == NULL)
        return HV_ESTORE;
    uint8_t ref[16];
    bool found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 16;
    if (found)
        memcpy(ref, sqlite3_column_blob(st, 0), 16);
    sqlite3_finalize(st);
    if (!found)
        return HV_OK;
    char why[300];
    snprintf(why, sizeof why, "%s (%s)", n->text, hv_errname((hv_err)n->code));
    hv_err err = hv_sql_exec(hv_worker_db(w),
                             "UPDATE case_messages SET failed = ?2 WHERE envelope = ?1", "rt",
                             n->id, why);
    return err == HV_OK ? hv_events_add(w, ref, "message", "failed") : err;
}

bool hv_casemsg_is_command(const char *cmd)
{
    return strcmp(cmd, "message.send") == 0 || strcmp(cmd, "message.list") == 0 ||
           strcmp(cmd, "message.read") == 0;
}

hv_err hv_casemsg_control(hv_worker *w, const char *cmd, const uint8_t id[16], const char *peer,
                          const char *by, json_t *args, json_t **result, char **text,
                          hv_errmsg *e)
{
    if (strcmp(cmd, "message.send") == 0)
        return s_send(w, id, peer, by, args, result, text, e);
    if (strcmp(cmd, "message.list") == 0)
        return s_list(w, id, result, text);
    if (strcmp(cmd, "message.read") == 0)
        return s_read(w, id, peer, args, result, text, e);
    return hv_fail(e, HV_EINVAL, "'%s' is not a message command", cmd);
}

hv_err hv_casemsg_erase(sqlite3 *db, const uint8_t referral[16])
{
    return hv_sql_exec(db, "DELETE FROM case_messages WHERE referral = ?1", "r", referral);
}
