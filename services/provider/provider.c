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
 * A case is erased on withdrawal, and retention_days after it closed.
 *
 * People (the staff socket): a caseworker sees the offers and cases
 * assigned to them (all, with [staff] all_caseworkers_see_all) and posts
 * status; a supervisor sees all, accepts and declines offers and assigns
 * them; an admin sees none. The role table is s_commands. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_events.h"
#include "hv_history.h"
#include "hv_listq.h"
#include "hv_log.h"
#include "hv_referral.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "hv_vault.h"
#include "hv_worker.h"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS offers (id BLOB PRIMARY KEY, router TEXT NOT NULL,"
    "  intake TEXT NOT NULL, summary BLOB NOT NULL, respond_by INTEGER NOT NULL,"
    "  state TEXT NOT NULL, received_s INTEGER NOT NULL, updated_s INTEGER NOT NULL,"
    "  created_by TEXT NOT NULL DEFAULT '', assigned_to TEXT NOT NULL DEFAULT '',"
    "  reference TEXT NOT NULL DEFAULT '', service INTEGER NOT NULL DEFAULT -1)"
    "  WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS cases (id BLOB PRIMARY KEY, intake TEXT NOT NULL,"
    "  state TEXT NOT NULL, case_hash BLOB NOT NULL, received_s INTEGER NOT NULL,"
    "  updated_s INTEGER NOT NULL) WITHOUT ROWID;";

/* Added since the first store format; an older store gets them at start
 * (service is filled in from the summary by the first tick). */
static const hv_worker_column s_columns[] = {
    {"offers", "created_by", "TEXT NOT NULL DEFAULT ''"},
    {"offers", "assigned_to", "TEXT NOT NULL DEFAULT ''"},
    {"offers", "reference", "TEXT NOT NULL DEFAULT ''"},
    {"offers", "service", "INTEGER NOT NULL DEFAULT -1"},
    {NULL, NULL, NULL},
};

/* An answer is due soon within this many seconds of an offer's deadline. */
#define S_DUE_SOON_S (4 * 3600)

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
    char created_by[HV_NODE_ID_MAX + 1];  /* who offered it (the router's id) */
    char assigned_to[HV_STAFF_MAX + 1];   /* the staff member it is assigned to */
    char reference[HV_LISTQ_Q_MAX + 1];   /* the agency's own reference */
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
                              "o.received_s, c.state, o.created_by, o.assigned_to, "
                              "o.reference FROM offers o LEFT JOIN cases c ON "
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
        hv_sql_text(st, 7, it->created_by, sizeof it->created_by);
        hv_sql_text(st, 8, it->assigned_to, sizeof it->assigned_to);
        hv_sql_text(st, 9, it->reference, sizeof it->reference);
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
        err = hv_events_erase(w, it->id);
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
                      "received_s, updated_s, created_by, service) VALUES (?1, ?2, ?3, ?4, ?5, "
                      "'offered', ?6, ?6, ?2, ?7) "
                      "ON CONFLICT(id) DO UPDATE SET summary = excluded.summary, respond_by = "
                      "excluded.respond_by, state = 'offered', updated_s = excluded.updated_s "
                      "WHERE offers.state IN ('withdrawn', 'expired', 'declined') AND NOT "
                      "EXISTS (SELECT 1 FROM cases WHERE cases.id = offers.id)",
                      "rttxiii", env->referral, env->from, m->node, body, len, (int64_t)m->at,
                      now, (int64_t)m->summary.service);
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

/* Who sees an item: a caseworker those assigned to them (or all, by
 * config); everyone the role table lets in at all, the rest. */
static const char s_visible_sql[] = "assigned_to = ?2";

static bool s_sees_all(hv_worker *w, const hv_actor *a)
{
    return a->role != HV_ACTOR_CASEWORKER || hv_worker_cfg(w)->all_caseworkers_see_all;
}

static bool s_sees(hv_worker *w, const hv_actor *a, const s_item *it)
{
    return s_sees_all(w, a) || strcmp(it->assigned_to, a->staff) == 0;
}

static bool s_may_see(hv_worker *w, const hv_actor *a, const uint8_t id[16])
{
    if (a->role == HV_ACTOR_ADMIN)
        return false;
    s_item it;
    if (s_load(w, id, &it) != HV_OK)
        return false;
    bool sees = s_sees(w, a, &it);
    s_item_free(&it);
    return sees;
}

/* An open offer's deadline, for the events that concern it. */
static bool s_answer_by(hv_worker *w, const uint8_t id[16], uint64_t *when)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT respond_by FROM offers WHERE id = ?1 AND state = 'offered'",
                              "r", id);
    bool found = st != NULL && sqlite3_step(st) == SQLITE_ROW;
    if (found)
        *when = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return found;
}

/* The item named by args.id that `a` may see; one they may not see is
 * not found, in the same words as one that does not exist. */
static hv_err s_find(hv_worker *w, const hv_actor *a, json_t *args, s_item *it, hv_errmsg *e)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    if (id == NULL)
        return hv_fail(e, HV_EINVAL, "\"id\" is required");
    uint8_t rid[16];
    hv_err err = hv_worker_find_visible(w, "offers", id,
                                        s_sees_all(w, a) ? NULL : s_visible_sql, a->staff, rid,
                                        e);
    if (err == HV_OK)
        err = s_load(w, rid, it);
    if (err == HV_OK && !s_sees(w, a, it)) {
        s_item_free(it);
        err = hv_fail(e, HV_ENOTFOUND, "no referral %s here", id);
    }
    return err;
}

static hv_err s_accept(hv_worker *w, const hv_actor *a, s_item *it, json_t *args, char **text,
                       hv_errmsg *e)
{
    const char *reference = json_string_value(json_object_get(args, "reference"));
    if (json_object_get(args, "reference") != NULL &&
        (reference == NULL || !hv_listq_reference_valid(reference)))
        return hv_fail(e, HV_EINVAL, "\"reference\" (the agency's own) must be 1 to %d "
                       "characters", HV_LISTQ_Q_MAX);
    if (strcmp(it->offer_state, "offered") != 0)
        return hv_fail(e, HV_EPROTO, "the offer is %s; only an open offer can be accepted",
                       it->offer_state);
    if (it->respond_by <= (uint64_t)time(NULL))
        return hv_fail(e, HV_EEXPIRED, "the offer's deadline has passed");
    hv_msg m = {.type = HV_MSG_ACCEPT};
    hv_err err = hv_worker_send(w, it->router, it->id, &m, HV_TTL_MAX, NULL);
    if (err == HV_OK && reference != NULL) {
        err = hv_sql_exec(hv_worker_db(w), "UPDATE offers SET reference = ?2 WHERE id = ?1",
                          "rt", it->id, reference);
        snprintf(it->reference, sizeof it->reference, "%s", reference);
    }
    if (err == HV_OK)
        err = s_offer_state(w, it, "accepted", a->by, "");
    if (err == HV_OK)
        hv_strcat(text, "accepted; %s will be told, and the case comes from %s\n", it->router,
                  it->intake);
    return err;
}

static hv_err s_decline(hv_worker *w, const hv_actor *a, s_item *it, json_t *args, char **text,
                        hv_errmsg *e)
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
        err = s_offer_state(w, it, "declined", a->by, detail);
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

static hv_err s_status(hv_worker *w, const hv_actor *a, s_item *it, json_t *args, char **text,
                       hv_errmsg *e)
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
        err = s_case_state(w, it, state, a->by, m.text);
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
    json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id", ref, "router",
                            it->router, "intake", it->intake, "offer", it->offer_state, "case",
                            it->has_case ? it->case_state : "", "respond_by", by, "offered_at",
                            at, "summary", hv_summary_json(&it->offer->summary));
    if (row != NULL) {
        json_object_set_new(row, "created_by", json_string(it->created_by));
        json_object_set_new(row, "assigned_to", json_string(it->assigned_to));
        json_object_set_new(row, "reference", json_string(it->reference));
    }
    return row;
}

/* The filters of hv_listq in one statement; `state` is the offer's or the
 * case's, dates are when the offer came, the country is this agency's. */
#define S_LIST_WHERE                                                                          \
    " FROM offers o LEFT JOIN cases c ON c.id = o.id WHERE (?1 = '' OR o.state = ?1 OR "       \
    "c.state = ?1) AND (?2 < 0 OR o.service = ?2) AND (?3 = 0) AND (?4 = 0 OR o.assigned_to "  \
    "= ?5) AND (?6 = 0 OR o.received_s >= ?6) AND (?7 = 0 OR o.received_s < ?7) AND (?8 = '' " \
    "OR instr(lower(o.reference), lower(?8)) > 0) AND (?9 = '' OR o.assigned_to = ?9)"
#define S_LIST_ARGS(l, other_country, who)                                                    \
    (l)->state, (int64_t)(l)->service, (int64_t)(other_country), (int64_t)(l)->by_assignee,   \
        (l)->assigned_to, (int64_t)(l)->since, (int64_t)(l)->until, (l)->q, (who)

static hv_err s_list(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                     char **text, hv_errmsg *e)
{
    hv_listq q;
    hv_err err = hv_listq_parse(args, NULL, &q, e);
    if (err != HV_OK)
        return err;
    const char *who = s_sees_all(w, a) ? "" : a->staff;
    bool other = q.country[0] != '\0' && strcmp(q.country, hv_worker_self(w)->country) != 0;
    int64_t total = 0;
    if (hv_sql_int(hv_worker_db(w), &total, "SELECT count(*)" S_LIST_WHERE, "tiiitiitt",
                   S_LIST_ARGS(&q, other, who)) != HV_OK)
        return HV_ESTORE;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT o.id" S_LIST_WHERE " ORDER BY o.received_s, o.id LIMIT ?10 "
                              "OFFSET ?11",
                              "tiiitiittii", S_LIST_ARGS(&q, other, who), q.limit, q.offset);
    if (st == NULL)
        return HV_ESTORE;
    json_t *list = json_array();
    hv_strcat(text, "%-32s  %-9s  %-11s  %-14s  %-9s  %-14s  %s\n", "REFERRAL", "OFFER", "CASE",
              "SERVICE", "URGENCY", "ASSIGNED", "AGE");
    while (sqlite3_step(st) == SQLITE_ROW) {
        s_item it;
        if (s_load(w, sqlite3_column_blob(st, 0), &it) != HV_OK)
            continue;
        json_array_append_new(list, s_item_json(&it));
        char ref[33];
        hv_ref_hex(it.id, ref);
        const hv_summary *s = &it.offer->summary;
        hv_strcat(text, "%-32s  %-9s  %-11s  %-14s  %-9s  %-14s  %s%s\n", ref, it.offer_state,
                  it.has_case ? it.case_state : "-", hv_service_name(s->service),
                  hv_urgency_name(s->urgency), it.assigned_to[0] ? it.assigned_to : "-",
                  hv_age_band_name(s->age_band), s->minor ? " (minor)" : "");
        s_item_free(&it);
    }
    sqlite3_finalize(st);
    /* "inbox" is the name older clients read; "items" the API's. */
    *result = json_pack("{s:O, s:o, s:I, s:I, s:I}", "inbox", list, "items", list, "total",
                        (json_int_t)total, "limit", (json_int_t)q.limit, "offset",
                        (json_int_t)q.offset);
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

static hv_err s_assign(hv_worker *w, const hv_actor *a, s_item *it, json_t *args, char **text,
                       hv_errmsg *e)
{
    const char *staff = json_string_value(json_object_get(args, "staff"));
    if (staff == NULL || !hv_staff_name_valid(staff) || strcmp(staff, HV_HOST_ADMIN) == 0)
        return hv_fail(e, HV_EINVAL, "\"staff\" must be a staff member's name");
    char detail[HV_STAFF_MAX + 40];
    snprintf(detail, sizeof detail, "assigned to %s", staff);
    hv_err err = hv_sql_exec(hv_worker_db(w),
                             "UPDATE offers SET assigned_to = ?2, updated_s = ?3 WHERE id = ?1",
                             "rti", it->id, staff, (int64_t)time(NULL));
    if (err == HV_OK)
        err = hv_history_add(w, it->id, it->has_case ? it->case_state : it->offer_state, a->by,
                             detail);
    if (err == HV_OK) {
        snprintf(it->assigned_to, sizeof it->assigned_to, "%s", staff);
        hv_strcat(text, "assigned to %s\n", staff);
    }
    return err;
}

/* The role table (the shell enforces it). */
#define R_HOST HV_ACTOR_BIT(HV_ACTOR_HOST)
#define R_CASEWORKER HV_ACTOR_BIT(HV_ACTOR_CASEWORKER)
#define R_SUPERVISOR HV_ACTOR_BIT(HV_ACTOR_SUPERVISOR)

enum s_cmd_id { S_LIST, S_SHOW, S_EXPORT, S_ACCEPT, S_DECLINE, S_STATUS, S_ASSIGN, S_EVENTS };

static const struct s_command {
    const char *name; /* the command */
    unsigned roles;   /* who may run it; an admin may run none */
    enum s_cmd_id id; /* which */
} s_commands[] = {
    {"inbox.list", R_HOST | R_CASEWORKER | R_SUPERVISOR, S_LIST},
    {"inbox.show", R_HOST | R_CASEWORKER | R_SUPERVISOR, S_SHOW},
    {"inbox.export", R_HOST | R_CASEWORKER | R_SUPERVISOR, S_EXPORT},
    {"inbox.accept", R_HOST | R_SUPERVISOR, S_ACCEPT},
    {"inbox.decline", R_HOST | R_SUPERVISOR, S_DECLINE},
    {"inbox.status", R_HOST | R_CASEWORKER | R_SUPERVISOR, S_STATUS},
    {"inbox.assign", R_HOST | R_SUPERVISOR, S_ASSIGN},
    {"events.wait", R_HOST | R_CASEWORKER | R_SUPERVISOR, S_EVENTS},
};

static const struct s_command *s_command(const char *cmd)
{
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(s_commands[i].name, cmd) == 0)
            return &s_commands[i];
    return NULL;
}

static unsigned s_command_roles(const char *cmd)
{
    const struct s_command *c = s_command(cmd);
    return c ? c->roles : 0;
}

static hv_err s_on_control(hv_worker *w, const hv_actor *a, const char *cmd, json_t *args,
                           json_t **result, char **text, hv_errmsg *e)
{
    const struct s_command *c = s_command(cmd);
    if (c == NULL || c->id == S_EVENTS || !(c->roles & HV_ACTOR_BIT(a->role)))
        return hv_fail(e, HV_EFORBIDDEN, "'%s' is not for a %s here", cmd,
                       hv_actor_role_name(a->role)); /* the shell checked already */
    if (c->id == S_LIST)
        return s_list(w, a, args, result, text, e);
    s_item it;
    hv_err err = s_find(w, a, args, &it, e);
    if (err != HV_OK)
        return err;
    switch (c->id) {
    case S_SHOW: err = s_show(w, &it, args, result, text, false, e); break;
    case S_EXPORT: err = s_show(w, &it, args, result, text, true, e); break;
    case S_ACCEPT: err = s_accept(w, a, &it, args, text, e); break;
    case S_DECLINE: err = s_decline(w, a, &it, args, text, e); break;
    case S_STATUS: err = s_status(w, a, &it, args, text, e); break;
    default: err = s_assign(w, a, &it, args, text, e); break;
    }
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

/* An open offer whose answer is due within S_DUE_SOON_S: one event, for
 * haven-web's live stream. Offers stored before the service column had
 * one get theirs from the summary here. */
static hv_err s_due_soon(hv_worker *w, uint64_t now)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id FROM offers WHERE service < 0 LIMIT 100", "");
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        s_item it;
        if ((err = s_load(w, sqlite3_column_blob(st, 0), &it)) != HV_OK)
            break;
        err = hv_sql_exec(hv_worker_db(w), "UPDATE offers SET service = ?2 WHERE id = ?1", "ri",
                          it.id, (int64_t)it.offer->summary.service);
        s_item_free(&it);
    }
    sqlite3_finalize(st);
    st = hv_sql(hv_worker_db(w),
                "SELECT id FROM offers o WHERE state = 'offered' AND respond_by <= ?1 AND NOT "
                "EXISTS (SELECT 1 FROM events e WHERE e.referral = o.id AND e.kind = "
                "'due_soon')",
                "i", (int64_t)(now + S_DUE_SOON_S));
    if (err != HV_OK || st == NULL) {
        sqlite3_finalize(st);
        return err != HV_OK ? err : HV_ESTORE;
    }
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW)
        if (sqlite3_column_bytes(st, 0) == 16)
            err = hv_events_add(w, sqlite3_column_blob(st, 0), "due_soon", "offered");
    sqlite3_finalize(st);
    return err;
}

static hv_err s_on_tick(hv_worker *w, uint64_t now)
{
    hv_err err = s_retention(w, now);
    if (err == HV_OK)
        err = s_due_soon(w, now);
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
    .columns = s_columns,
    .staff_roles = HV_ACTOR_BIT(HV_ACTOR_CASEWORKER) | HV_ACTOR_BIT(HV_ACTOR_SUPERVISOR) |
                   HV_ACTOR_BIT(HV_ACTOR_ADMIN),
    .command_roles = s_command_roles,
    .may_see = s_may_see,
    .answer_by = s_answer_by,
    .on_message = s_on_message,
    .on_control = s_on_control,
    .on_tick = s_on_tick,
    .on_notice = s_on_notice,
};

int main(int argc, char **argv)
{
    return hv_worker_main(argc, argv, &s_app);
}
