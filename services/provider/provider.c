/* haven-provider: a receiving agency's worker (DESIGN §5).
 *
 * Keeps an inbox of offers (a non-identifying summary each) that the
 * agency accepts or declines; receives the full case only for an offer it
 * accepted, from the intake the offer named, stores it encrypted at rest
 * and answers with a signed receipt; reports status and outcome; erases
 * the case when consent is withdrawn; exports a case as JSON for the
 * agency's own case-management system.
 *
 * Offer states: offered → accepted | declined | withdrawn | expired;
 * withdrawn or erased once its case is erased.
 * Case states: received → in_progress ⇄ on_hold → completed | failed.
 * A case is erased on withdrawal, and retention_days after it closed. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_history.h"
#include "hv_log.h"
#include "hv_referral.h"
#include "hv_sql.h"
#include "hv_vault.h"
#include "hv_worker.h"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS offers (id BLOB PRIMARY KEY, router TEXT NOT NULL,"
    "  intake TEXT NOT NULL, summary BLOB NOT NULL, respond_by INTEGER NOT NULL,"
    "  state TEXT NOT NULL, received_s INTEGER NOT NULL, updated_s INTEGER NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS cases (id BLOB PRIMARY KEY, intake TEXT NOT NULL,"
    "  state TEXT NOT NULL, case_hash BLOB NOT NULL, received_s INTEGER NOT NULL,"
    "  updated_s INTEGER NOT NULL) WITHOUT ROWID;";

/* An inbox entry: the offer and, once it came, the case. */
typedef struct s_item {
    uint8_t id[16];                   /* referral id */
    char router[HV_NODE_ID_MAX + 1];  /* who offered */
    char intake[HV_NODE_ID_MAX + 1];  /* who will send the case */
    char offer_state[16];             /* offered, accepted, ... */
    uint64_t respond_by;              /* offer deadline */
    uint64_t received;                /* when the offer came */
    hv_msg *offer;                    /* the offer with its summary (owned) */
    bool has_case;                    /* a case row exists */
    char case_state[16];              /* received, in_progress, ... */
} s_item;

static void s_item_free(s_item *it)
{
    free(it->offer);
    it->offer = NULL;
}

static hv_err s_load(hv_worker *w, const uint8_t id[16], s_item *it)
{
    memset(it, 0, sizeof *it);
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT o.router, o.intake, o.summary, o.respond_by, o.state, "
                              "o.received_s, c.state FROM offers o LEFT JOIN cases c ON "
                              "c.id = o.id WHERE o.id = ?1",
                              "r", id);
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    hv_err err = rc == SQLITE_ROW ? HV_OK : rc == SQLITE_DONE ? HV_ENOTFOUND : HV_ESTORE;
    if (err == HV_OK) {
        memcpy(it->id, id, 16);
        hv_sql_text(st, 0, it->router, sizeof it->router);
        hv_sql_text(st, 1, it->intake, sizeof it->intake);
        it->respond_by = (uint64_t)sqlite3_column_int64(st, 3);
        hv_sql_text(st, 4, it->offer_state, sizeof it->offer_state);
        it->received = (uint64_t)sqlite3_column_int64(st, 5);
        it->has_case = sqlite3_column_type(st, 6) != SQLITE_NULL;
        hv_sql_text(st, 6, it->case_state, sizeof it->case_state);
        it->offer = calloc(1, sizeof *it->offer);
        if (it->offer == NULL)
            err = HV_ENOMEM;
        else if (hv_msg_decode(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
                               HV_MSG_OFFER, it->offer) != HV_OK)
            err = HV_ESTORE;
    }
    sqlite3_finalize(st);
    if (err != HV_OK)
        s_item_free(it);
    return err;
}

static hv_err s_offer_state(hv_worker *w, s_item *it, const char *state, const char *actor,
                            const char *detail)
{
    hv_err err = hv_sql_exec(hv_worker_db(w),
                             "UPDATE offers SET state = ?2, updated_s = ?3 WHERE id = ?1", "rti",
                             it->id, state, (int64_t)time(NULL));
    if (err == HV_OK)
        err = hv_history_add(w, it->id, state, actor, detail);
    if (err == HV_OK)
        snprintf(it->offer_state, sizeof it->offer_state, "%s", state);
    return err;
}

static hv_err s_case_state(hv_worker *w, s_item *it, const char *state, const char *actor,
                           const char *detail)
{
    hv_err err = hv_sql_exec(hv_worker_db(w),
                             "UPDATE cases SET state = ?2, updated_s = ?3 WHERE id = ?1", "rti",
                             it->id, state, (int64_t)time(NULL));
    if (err == HV_OK)
        err = hv_history_add(w, it->id, state, actor, detail);
    if (err == HV_OK) {
        char ref[33];
        hv_ref_hex(it->id, ref);
        hv_log(HV_LOG_INFO, "case_state", "referral=%s from=%s to=%s", ref, it->case_state,
               state);
        snprintf(it->case_state, sizeof it->case_state, "%s", state);
    }
    return err;
}

/* Erases the case: its key and ciphertext, its history; keeps a bare
 * record that it was withdrawn, so a late message is answered correctly. */
static hv_err s_erase(hv_worker *w, s_item *it, const char *actor, const char *state,
                      const char *why)
{
    hv_err err = hv_vault_erase(hv_worker_db(w), it->id);
    if (err == HV_OK)
        err = hv_history_erase(w, it->id);
    if (err == HV_OK)
        err = hv_sql_exec(hv_worker_db(w), "DELETE FROM cases WHERE id = ?1", "r", it->id);
    if (err == HV_OK)
        err = s_offer_state(w, it, state, actor, why);
    if (err == HV_OK)
        hv_worker_purge_after_commit(w);
    it->has_case = false;
    return err;
}

/* ------------------------------------------------------------ messages */

static hv_err s_on_offer(hv_worker *w, const hv_envelope *env, const hv_msg *m, hv_errmsg *e)
{
    if (strcmp(m->summary.country, hv_worker_self(w)->country) != 0)
        return hv_fail(e, HV_EUNROUTABLE, "offer for %s reached a provider in %s",
                       m->summary.country, hv_worker_self(w)->country);
    const hv_node *router = hv_registry_find(hv_worker_registry(w), env->from);
    if (router == NULL || strcmp(router->country, hv_worker_self(w)->country) != 0)
        return hv_fail(e, HV_EFORBIDDEN, "only a router of %s may offer referrals here",
                       hv_worker_self(w)->country);
    const hv_node *intake = hv_registry_find(hv_worker_registry(w), m->node);
    if (intake == NULL || intake->role != HV_ROLE_INTAKE)
        return hv_fail(e, HV_EINVAL, "the offer names '%s', which is not an intake", m->node);
    uint8_t *body = NULL;
    size_t len = 0;
    hv_err err = hv_msg_encode(m, &body, &len);
    if (err != HV_OK)
        return err;
    int64_t now = (int64_t)time(NULL);
    /* A second offer for the same referral (the router offered again after
     * a timeout) replaces the first unless a case already came. */
    err = hv_sql_exec(hv_worker_db(w),
                      "INSERT INTO offers (id, router, intake, summary, respond_by, state, "
                      "received_s, updated_s) VALUES (?1, ?2, ?3, ?4, ?5, 'offered', ?6, ?6) "
                      "ON CONFLICT(id) DO UPDATE SET summary = excluded.summary, respond_by = "
                      "excluded.respond_by, state = 'offered', updated_s = excluded.updated_s "
                      "WHERE offers.state IN ('withdrawn', 'expired', 'declined') AND NOT "
                      "EXISTS (SELECT 1 FROM cases WHERE cases.id = offers.id)",
                      "rttxii", env->referral, env->from, m->node, body, len, (int64_t)m->at,
                      now);
    free(body);
    if (err == HV_OK)
        err = hv_history_add(w, env->referral, "offered", env->from, "");
    return err;
}

static hv_err s_on_case(hv_worker *w, s_item *it, const hv_envelope *env, const hv_msg *m,
                        hv_errmsg *e)
{
    /* Only for an offer this agency accepted, and only from the intake
     * that the router's offer named: a case this agency did not accept
     * must never land here. */
    if (strcmp(it->offer_state, "accepted") != 0)
        return hv_fail(e, HV_EFORBIDDEN, "this agency has not accepted referral (offer is %s)",
                       it->offer_state);
    if (strcmp(env->from, it->intake) != 0)
        return hv_fail(e, HV_EFORBIDDEN, "the offer named %s as the intake, not %s", it->intake,
                       env->from);
    if (it->has_case)
        return hv_fail(e, HV_EEXIST, "the case was already received");
    hv_referral_check *c = calloc(1, sizeof *c);
    if (c == NULL)
        return HV_ENOMEM;
    /* Checked as of when it was sent: its deadline may since have passed. */
    hv_err err = hv_referral_check_text(m->case_json, m->case_len, env->created_at_ms / 1000, c);
    size_t n_errors = c->n_errors;
    free(c);
    if (err != HV_OK)
        return hv_fail(e, err == HV_ENOMEM ? err : HV_EJSON,
                       "the case is not a valid referral file (%zu errors)", n_errors);
    hv_msg receipt = {.type = HV_MSG_RECEIPT};
    hv_hash256((const uint8_t *)m->case_json, m->case_len, receipt.hash);
    receipt.at = (uint64_t)time(NULL);
    if ((err = hv_vault_put(hv_worker_db(w), hv_worker_keys(w), it->id,
                            (const uint8_t *)m->case_json, m->case_len)) != HV_OK ||
        (err = hv_sql_exec(hv_worker_db(w),
                           "INSERT INTO cases (id, intake, state, case_hash, received_s, "
                           "updated_s) VALUES (?1, ?2, 'new', ?3, ?4, ?4)",
                           "rtxi", it->id, env->from, receipt.hash, (size_t)32,
                           (int64_t)receipt.at)) != HV_OK ||
        (err = hv_worker_send(w, env->from, it->id, &receipt, HV_TTL_MAX, NULL)) != HV_OK)
        return err;
    it->has_case = true;
    return s_case_state(w, it, "received", env->from, "case stored encrypted; receipt sent");
}

static hv_err s_on_message(hv_worker *w, const hv_envelope *env, const hv_msg *m, hv_errmsg *e)
{
    if (env->type == HV_MSG_OFFER)
        return s_on_offer(w, env, m, e);
    s_item it;
    hv_err err = s_load(w, env->referral, &it);
    if (err == HV_ENOTFOUND)
        return hv_fail(e, HV_EFORBIDDEN, "this agency was never offered that referral");
    if (err != HV_OK)
        return err;
    bool from_router = strcmp(env->from, it.router) == 0;
    bool from_intake = strcmp(env->from, it.intake) == 0;
    switch (env->type) {
    case HV_MSG_OFFER_WITHDRAWN:
        if (!from_router)
            err = hv_fail(e, HV_EFORBIDDEN, "only %s may withdraw this offer", it.router);
        else if (strcmp(it.offer_state, "offered") == 0 ||
                 (strcmp(it.offer_state, "accepted") == 0 && !it.has_case))
            err = s_offer_state(w, &it, "withdrawn", env->from, m->text);
        break; /* after a decline or once the case is here: nothing to do */
    case HV_MSG_CASE_TRANSFER:
        err = s_on_case(w, &it, env, m, e);
        break;
    case HV_MSG_WITHDRAW:
    case HV_MSG_CANCEL: {
        if (!from_intake) {
            err = hv_fail(e, HV_EFORBIDDEN, "only %s may withdraw this referral", it.intake);
            break;
        }
        hv_msg ok = {.type = env->type == HV_MSG_WITHDRAW ? HV_MSG_WITHDRAWN : HV_MSG_CANCELLED};
        ok.at = (uint64_t)time(NULL);
        snprintf(ok.text, sizeof ok.text, "case erased");
        err = s_erase(w, &it, env->from, "withdrawn", "case erased at the intake's request");
        if (err == HV_OK)
            err = hv_worker_send(w, env->from, it.id, &ok, HV_TTL_MAX, NULL);
        break;
    }
    default:
        err = hv_fail(e, HV_EFORBIDDEN, "a provider does not take %s",
                      hv_msg_rule_get(env->type)->name);
    }
    s_item_free(&it);
    return err;
}

/* -------------------------------------------------------------- control */

static hv_err s_find(hv_worker *w, json_t *args, s_item *it, hv_errmsg *e)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    if (id == NULL)
        return hv_fail(e, HV_EINVAL, "\"id\" is required");
    uint8_t rid[16];
    hv_err err = hv_worker_find(w, "offers", id, rid, e);
    return err == HV_OK ? s_load(w, rid, it) : err;
}

static hv_err s_accept(hv_worker *w, s_item *it, json_t *args, char **text, hv_errmsg *e)
{
    (void)args;
    if (strcmp(it->offer_state, "offered") != 0)
        return hv_fail(e, HV_EPROTO, "the offer is %s; only an open offer can be accepted",
                       it->offer_state);
    if (it->respond_by <= (uint64_t)time(NULL))
        return hv_fail(e, HV_EEXPIRED, "the offer's deadline has passed");
    hv_msg m = {.type = HV_MSG_ACCEPT};
    hv_err err = hv_worker_send(w, it->router, it->id, &m, HV_TTL_MAX, NULL);
    if (err == HV_OK)
        err = s_offer_state(w, it, "accepted", hv_worker_cfg(w)->id, "");
    if (err == HV_OK)
        hv_strcat(text, "accepted; %s will be told, and the case comes from %s\n", it->router,
                  it->intake);
    return err;
}

static hv_err s_decline(hv_worker *w, s_item *it, json_t *args, char **text, hv_errmsg *e)
{
    const char *code = json_string_value(json_object_get(args, "reason"));
    const char *note = json_string_value(json_object_get(args, "note"));
    if (code == NULL || !hv_decline_code_valid(code)) {
        char list[160] = "";
        for (int i = 0; hv_decline_codes[i]; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     hv_decline_codes[i]);
        return hv_fail(e, HV_EINVAL, "a reason is required, one of: %s", list);
    }
    if (strcmp(it->offer_state, "offered") != 0)
        return hv_fail(e, HV_EPROTO, "the offer is %s; only an open offer can be declined",
                       it->offer_state);
    hv_msg m = {.type = HV_MSG_DECLINE, .at = (uint64_t)time(NULL)};
    snprintf(m.code, sizeof m.code, "%s", code);
    snprintf(m.text, sizeof m.text, "%s", note ? note : "");
    hv_err err = hv_worker_send(w, it->router, it->id, &m, HV_TTL_MAX, NULL);
    char detail[HV_MSG_TEXT_MAX + 40];
    snprintf(detail, sizeof detail, "%s%s%s", code, note ? ": " : "", note ? note : "");
    if (err == HV_OK)
        err = s_offer_state(w, it, "declined", hv_worker_cfg(w)->id, detail);
    if (err == HV_OK)
        hv_strcat(text, "declined (%s); %s will offer it elsewhere\n", code, it->router);
    return err;
}

static bool s_status_allowed(const char *from, const char *to)
{
    if (strcmp(from, "received") == 0)
        return strcmp(to, "in_progress") == 0 || strcmp(to, "on_hold") == 0 ||
               strcmp(to, "failed") == 0;
    if (strcmp(from, "in_progress") == 0)
        return strcmp(to, "in_progress") != 0;
    if (strcmp(from, "on_hold") == 0)
        return strcmp(to, "on_hold") != 0;
    return false;
}

static hv_err s_status(hv_worker *w, s_item *it, json_t *args, char **text, hv_errmsg *e)
{
    const char *state = json_string_value(json_object_get(args, "state"));
    const char *note = json_string_value(json_object_get(args, "note"));
    if (!it->has_case)
        return hv_fail(e, HV_EPROTO, "no case has been received for this referral");
    if (state == NULL || !hv_status_state_valid(state))
        return hv_fail(e, HV_EINVAL,
                       "state must be one of in_progress, on_hold, completed, failed");
    if ((strcmp(state, "completed") == 0 || strcmp(state, "failed") == 0) &&
        (note == NULL || note[0] == '\0'))
        return hv_fail(e, HV_EINVAL, "%s needs a note: the %s", state,
                       state[0] == 'c' ? "outcome" : "reason");
    if (!s_status_allowed(it->case_state, state))
        return hv_fail(e, HV_EPROTO, "the case is %s; it cannot become %s", it->case_state,
                       state);
    hv_msg m = {.type = HV_MSG_STATUS, .at = (uint64_t)time(NULL)};
    snprintf(m.code, sizeof m.code, "%s", state);
    snprintf(m.text, sizeof m.text, "%s", note ? note : "");
    hv_err err = hv_worker_send(w, it->intake, it->id, &m, HV_TTL_MAX, NULL);
    if (err == HV_OK)
        err = s_case_state(w, it, state, hv_worker_cfg(w)->id, m.text);
    if (err == HV_OK)
        hv_strcat(text, "status %s sent to %s\n", state, it->intake);
    return err;
}

static json_t *s_item_json(const s_item *it)
{
    char ref[33], by[21], at[21];
    hv_ref_hex(it->id, ref);
    hv_time_format(it->respond_by, by);
    hv_time_format(it->received, at);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id", ref, "router",
                     it->router, "intake", it->intake, "offer", it->offer_state, "case",
                     it->has_case ? it->case_state : "", "respond_by", by, "offered_at", at,
                     "summary", hv_summary_json(&it->offer->summary));
}

static hv_err s_list(hv_worker *w, json_t **result, char **text)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w), "SELECT id FROM offers ORDER BY received_s", "");
    if (st == NULL)
        return HV_ESTORE;
    json_t *list = json_array();
    hv_strcat(text, "%-32s  %-9s  %-11s  %-14s  %-9s  %s\n", "REFERRAL", "OFFER", "CASE",
              "SERVICE", "URGENCY", "AGE");
    while (sqlite3_step(st) == SQLITE_ROW) {
        s_item it;
        if (s_load(w, sqlite3_column_blob(st, 0), &it) != HV_OK)
            continue;
        json_array_append_new(list, s_item_json(&it));
        char ref[33];
        hv_ref_hex(it.id, ref);
        const hv_summary *s = &it.offer->summary;
        hv_strcat(text, "%-32s  %-9s  %-11s  %-14s  %-9s  %s%s\n", ref, it.offer_state,
                  it.has_case ? it.case_state : "-", hv_service_name(s->service),
                  hv_urgency_name(s->urgency), hv_age_band_name(s->age_band),
                  s->minor ? " (minor)" : "");
        s_item_free(&it);
    }
    sqlite3_finalize(st);
    *result = json_pack("{s:o}", "inbox", list);
    return HV_OK;
}

static hv_err s_show(hv_worker *w, s_item *it, json_t *args, json_t **result, char **text,
                     bool export_case, hv_errmsg *e)
{
    (void)args;
    json_t *row = s_item_json(it);
    const hv_summary *s = &it->offer->summary;
    char ref[33], by[24];
    hv_ref_hex(it->id, ref);
    hv_time_human(it->respond_by, by);
    if (!export_case) {
        hv_strcat(text, "referral %s\n  offer:    %s (answer by %s)\n  case:     %s\n"
                  "  from:     %s via %s\n  service:  %s, urgency %s\n  person:   %s, %s%s, "
                  "speaks",
                  ref, it->offer_state, by, it->has_case ? it->case_state : "not received",
                  it->intake, it->router, hv_service_name(s->service),
                  hv_urgency_name(s->urgency), hv_sex_name(s->sex), hv_age_band_name(s->age_band),
                  s->minor ? " (minor)" : "");
        for (unsigned i = 0; i < s->n_languages; i++)
            hv_strcat(text, " %s", s->languages[i]);
        hv_strcat(text, "%s\n  region:   %s\n", s->interpreter ? ", needs an interpreter" : "",
                  s->region[0] ? s->region : "any");
    }
    if (it->has_case) {
        uint8_t *pt = NULL;
        size_t len = 0;
        hv_err err = hv_vault_get(hv_worker_db(w), hv_worker_keys(w), it->id, &pt, &len);
        if (err != HV_OK) {
            json_decref(row);
            return hv_fail(e, err, "the case cannot be read from the store");
        }
        json_error_t jerr;
        json_t *c = json_loadb((const char *)pt, len, 0, &jerr);
        if (c != NULL && !export_case) {
            char *pretty = json_dumps(c, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            hv_strcat(text, "case:\n%s\n", pretty ? pretty : "");
            free(pretty);
        }
        json_object_set_new(row, "case_file", c ? c : json_null());
        hv_secure_free(pt);
    } else if (export_case) {
        json_decref(row);
        return hv_fail(e, HV_ENOTFOUND, "no case has been received for referral %s", ref);
    }
    if (!export_case)
        hv_strcat(text, "history:\n");
    json_t *history = hv_history_get(w, it->id, export_case ? NULL : text);
    json_object_set_new(row, "history", history ? history : json_array());
    if (export_case) {
        char now[21];
        hv_time_format((uint64_t)time(NULL), now);
        json_object_set_new(row, "format", json_string("haven-case-export/1"));
        json_object_set_new(row, "exported_at", json_string(now));
        json_object_set_new(row, "provider", json_string(hv_worker_cfg(w)->id));
        char ref_audit[33];
        hv_ref_hex(it->id, ref_audit);
        hv_log(HV_LOG_INFO, "case_exported", "referral=%s", ref_audit);
    }
    *result = row;
    return HV_OK;
}

static hv_err s_on_control(hv_worker *w, const char *cmd, json_t *args, json_t **result,
                           char **text, hv_errmsg *e)
{
    if (strcmp(cmd, "inbox.list") == 0)
        return s_list(w, result, text);
    s_item it;
    hv_err err;
    if (strcmp(cmd, "inbox.show") != 0 && strcmp(cmd, "inbox.accept") != 0 &&
        strcmp(cmd, "inbox.decline") != 0 && strcmp(cmd, "inbox.status") != 0 &&
        strcmp(cmd, "inbox.export") != 0)
        return hv_fail(e, HV_EINVAL, "a provider does not know the command '%s'", cmd);
    if ((err = s_find(w, args, &it, e)) != HV_OK)
        return err;
    if (strcmp(cmd, "inbox.show") == 0)
        err = s_show(w, &it, args, result, text, false, e);
    else if (strcmp(cmd, "inbox.export") == 0)
        err = s_show(w, &it, args, result, text, true, e);
    else if (strcmp(cmd, "inbox.accept") == 0)
        err = s_accept(w, &it, args, text, e);
    else if (strcmp(cmd, "inbox.decline") == 0)
        err = s_decline(w, &it, args, text, e);
    else
        err = s_status(w, &it, args, text, e);
    if (err == HV_OK && *result == NULL)
        *result = s_item_json(&it);
    s_item_free(&it);
    return err;
}

/* ------------------------------------------------------------ deadlines */

/* Closed cases are kept for the retention period, then erased as on
 * withdrawal (key destroyed, rows deleted); the bare record stays. */
static hv_err s_retention(hv_worker *w, uint64_t now)
{
    int64_t cutoff = (int64_t)now - (int64_t)hv_worker_cfg(w)->retention_days * 86400;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id FROM cases WHERE state IN ('completed', 'failed') AND "
                              "updated_s <= ?1",
                              "i", cutoff);
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        s_item it;
        if ((err = s_load(w, sqlite3_column_blob(st, 0), &it)) != HV_OK)
            break;
        err = s_erase(w, &it, hv_worker_cfg(w)->id, "erased",
                      "case erased: the retention period ended");
        s_item_free(&it);
    }
    sqlite3_finalize(st);
    return err;
}

static hv_err s_on_tick(hv_worker *w, uint64_t now)
{
    hv_err err = s_retention(w, now);
    if (err != HV_OK)
        return err;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id FROM offers WHERE state = 'offered' AND respond_by <= ?1",
                              "i", (int64_t)now);
    if (st == NULL)
        return HV_ESTORE;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        s_item it;
        if ((err = s_load(w, sqlite3_column_blob(st, 0), &it)) != HV_OK)
            break;
        err = s_offer_state(w, &it, "expired", hv_worker_cfg(w)->id,
                            "not answered by the offer's deadline");
        s_item_free(&it);
    }
    sqlite3_finalize(st);
    return err;
}

static hv_err s_on_notice(hv_worker *w, const hv_notice *n)
{
    (void)w;
    (void)n; /* logged by the shell */
    return HV_OK;
}

static const hv_worker_app s_app = {
    .name = "haven-provider",
    .what = "The worker of a receiving agency: offers, cases, status and outcome.",
    .role = HV_ROLE_PROVIDER,
    .schema = s_schema,
    .on_message = s_on_message,
    .on_control = s_on_control,
    .on_tick = s_on_tick,
    .on_notice = s_on_notice,
};

int main(int argc, char **argv)
{
    return hv_worker_main(argc, argv, &s_app);
}
