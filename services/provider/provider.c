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
 * Case states: received → in_progress ⇄ on_hold → completed | failed |
 * cancelled (the intake cancelled: the service is no longer needed).
 * A case is erased on withdrawal of consent, and retention_days after it
 * closed, unless a supervisor placed a legal hold on it
 * (provider_hold.c): then a withdrawal is answered LEGAL_HOLD and waits
 * for the release.
 *
 * People (the staff socket): a caseworker sees the offers and cases
 * assigned to them (all, with [staff] all_caseworkers_see_all) and posts
 * status; a supervisor sees all, accepts and declines offers and assigns
 * them; an admin sees none. The control commands and their role table
 * (s_commands) are in provider_ctl.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_attach.h"
#include "hv_casemsg.h"
#include "hv_events.h"
#include "hv_history.h"
#include "hv_listq.h"
#include "hv_log.h"
#include "hv_referral.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "hv_vault.h"
#include "hv_worker.h"
#include "provider.h"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS offers (id BLOB PRIMARY KEY, router TEXT NOT NULL,"
    "  intake TEXT NOT NULL, summary BLOB NOT NULL, respond_by INTEGER NOT NULL,"
    "  state TEXT NOT NULL, received_s INTEGER NOT NULL, updated_s INTEGER NOT NULL,"
    "  created_by TEXT NOT NULL DEFAULT '', assigned_to TEXT NOT NULL DEFAULT '',"
    "  reference TEXT NOT NULL DEFAULT '', service INTEGER NOT NULL DEFAULT -1,"
    "  erased_s INTEGER NOT NULL DEFAULT 0, scrubbed INTEGER NOT NULL DEFAULT 1,"
    "  people INTEGER NOT NULL DEFAULT 1)"
    "  WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS cases (id BLOB PRIMARY KEY, intake TEXT NOT NULL,"
    "  state TEXT NOT NULL, case_hash BLOB NOT NULL, received_s INTEGER NOT NULL,"
    "  updated_s INTEGER NOT NULL) WITHOUT ROWID;"
    /* Legal holds (provider_hold.c): the basis, the reason sealed. */
    "CREATE TABLE IF NOT EXISTS holds (id BLOB PRIMARY KEY, basis TEXT NOT NULL,"
    "  reason BLOB NOT NULL, placed_by TEXT NOT NULL, placed_s INTEGER NOT NULL,"
    "  erase_asked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    /* Case messages with the intake (hv_casemsg.h). */
    HV_CASEMSG_SCHEMA
    /* Free places published to each router (provider_capacity.c). */
    PV_CAPACITY_SCHEMA
    /* Documents with a case (hv_attach.h). */
    HV_ATTACH_SCHEMA;

/* Added since the first store format; an older store gets them at start
 * (service is filled in from the summary by the first tick). */
static const hv_worker_column s_columns[] = {
    {"offers", "created_by", "TEXT NOT NULL DEFAULT ''"},
    {"offers", "assigned_to", "TEXT NOT NULL DEFAULT ''"},
    {"offers", "reference", "TEXT NOT NULL DEFAULT ''"},
    {"offers", "service", "INTEGER NOT NULL DEFAULT -1"},
    {"offers", "erased_s", "INTEGER NOT NULL DEFAULT 0"},
    /* 0: the summary may hold a withhold list (stored before PROTOCOL.md
     * §9.1); the tick rewrites it without (s_scrub). */
    {"offers", "scrubbed", "INTEGER NOT NULL DEFAULT 0"},
    /* The people of the offer (a family takes a place each: provider_capacity.c). */
    {"offers", "people", "INTEGER NOT NULL DEFAULT 1"},
    {NULL, NULL, NULL},
};

/* An answer is due soon within this many seconds of an offer's deadline. */
#define S_DUE_SOON_S (4 * 3600)

void pv_item_free(pv_item *it)
{
    free(it->offer);
    it->offer = NULL;
}

hv_err pv_load(hv_worker *w, const uint8_t id[16], pv_item *it)
{
    memset(it, 0, sizeof *it);
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT o.router, o.intake, o.summary, o.respond_by, o.state, "
                              "o.received_s, c.state, o.created_by, o.assigned_to, "
                              "o.reference, o.erased_s FROM offers o LEFT JOIN cases c ON "
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
        it->erased = (uint64_t)sqlite3_column_int64(st, 10);
        it->offer = calloc(1, sizeof *it->offer);
        if (it->offer == NULL)
            err = HV_ENOMEM;
        else if (hv_msg_decode_stored(sqlite3_column_blob(st, 2),
                                      (size_t)sqlite3_column_bytes(st, 2), HV_MSG_OFFER,
                                      it->offer) != HV_OK)
            err = HV_ESTORE;
    }
    sqlite3_finalize(st);
    if (err != HV_OK)
        pv_item_free(it);
    return err;
}

hv_err pv_offer_state(hv_worker *w, pv_item *it, const char *state, const char *actor,
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

hv_err pv_case_state(hv_worker *w, pv_item *it, const char *state, const char *actor,
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

hv_err pv_messages_open(const pv_item *it, hv_errmsg *e)
{
    if (it->has_case)
        return HV_OK;
    if (it->erased != 0)
        return hv_fail(e, HV_EPROTO, "the case of this referral was erased here; its messages "
                       "went with it");
    return hv_fail(e, HV_EPROTO, "no case has been received for this referral (offer is %s); "
                   "case messages are exchanged only about a case held here",
                   it->offer_state);
}

/* Erases the case: its key and ciphertext, its history; keeps a bare
 * record that it was withdrawn, so a late message is answered correctly. */
static hv_err s_erase(hv_worker *w, pv_item *it, const char *actor, const char *state,
                      const char *why)
{
    hv_err err = hv_vault_erase(hv_worker_db(w), it->id);
    if (err == HV_OK)
        err = hv_attach_erase(hv_worker_db(w), it->id);
    if (err == HV_OK)
        err = hv_history_erase(w, it->id);
    if (err == HV_OK)
        err = hv_events_erase(w, it->id);
    if (err == HV_OK)
        err = hv_casemsg_erase(hv_worker_db(w), it->id);
    if (err == HV_OK)
        err = hv_sql_exec(hv_worker_db(w), "DELETE FROM cases WHERE id = ?1", "r", it->id);
    /* When, for the agency's record of what it no longer holds. */
    uint64_t now = (uint64_t)time(NULL);
    if (err == HV_OK)
        err = hv_sql_exec(hv_worker_db(w), "UPDATE offers SET erased_s = ?2 WHERE id = ?1", "ri",
                          it->id, (int64_t)now);
    if (err == HV_OK) {
        it->erased = now;
        err = pv_offer_state(w, it, state, actor, why);
    }
    if (err == HV_OK)
        hv_worker_purge_after_commit(w);
    it->has_case = false;
    return err;
}

hv_err pv_erase_case(hv_worker *w, pv_item *it, const char *actor, const char *state,
                     const char *why)
{
    return s_erase(w, it, actor, state, why);
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
                      "received_s, updated_s, created_by, service, people) VALUES (?1, ?2, ?3, "
                      "?4, ?5, 'offered', ?6, ?6, ?2, ?7, ?8) "
                      "ON CONFLICT(id) DO UPDATE SET summary = excluded.summary, respond_by = "
                      "excluded.respond_by, state = 'offered', updated_s = excluded.updated_s, "
                      "people = excluded.people, erased_s = 0 "
                      "WHERE offers.state IN ('withdrawn', 'expired', 'declined') AND NOT "
                      "EXISTS (SELECT 1 FROM cases WHERE cases.id = offers.id)",
                      "rttxiiii", env->referral, env->from, m->node, body, len, (int64_t)m->at,
                      now, (int64_t)m->summary.service,
                      (int64_t)(m->summary.people > 1 ? m->summary.people : 1));
    free(body);
    if (err == HV_OK)
        err = hv_history_add(w, env->referral, "offered", env->from, "");
    return err;
}

static hv_err s_on_case(hv_worker *w, pv_item *it, const hv_envelope *env, const hv_msg *m,
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
    return pv_case_state(w, it, "received", env->from, "case stored encrypted; receipt sent");
}

/* Consent withdrawn (WITHDRAW), whatever the case's state, also after it
 * closed: the case is erased and WITHDRAWN confirms it, unless a legal
 * hold keeps it (then LEGAL_HOLD says why, and the release erases it). */
static hv_err s_on_withdraw(hv_worker *w, pv_item *it, const hv_envelope *env)
{
    bool held = false;
    hv_err err = it->has_case ? pv_hold_answer(w, it, env->from, &held) : HV_OK;
    if (err != HV_OK || held)
        return err;
    hv_msg ok = {.type = HV_MSG_WITHDRAWN, .at = (uint64_t)time(NULL)};
    if ((err = s_erase(w, it, env->from, "withdrawn", "case erased at the intake's request: "
                       "consent withdrawn")) == HV_OK)
        err = hv_worker_send(w, env->from, it->id, &ok, HV_TTL_MAX, NULL);
    return err;
}

/* The service is no longer needed (CANCEL): an open case closes as
 * cancelled and is kept for the retention period like any closed case; a
 * closed one stays as it is; before the case came, the offer is
 * withdrawn (nothing is held). CANCELLED confirms each. */
static hv_err s_on_cancel(hv_worker *w, pv_item *it, const hv_envelope *env, const hv_msg *m)
{
    hv_msg ok = {.type = HV_MSG_CANCELLED};
    char detail[HV_MSG_TEXT_MAX + HV_MSG_CODE_MAX + 40];
    snprintf(detail, sizeof detail, "cancelled by the intake (%s)%s%s", m->code,
             m->text[0] ? ": " : "", m->text);
    hv_err err = HV_OK;
    if (it->has_case && (strcmp(it->case_state, "received") == 0 ||
                         strcmp(it->case_state, "in_progress") == 0 ||
                         strcmp(it->case_state, "on_hold") == 0)) {
        snprintf(ok.text, sizeof ok.text, "case closed as cancelled");
        err = pv_case_state(w, it, "cancelled", env->from, detail);
    } else if (it->has_case) {
        snprintf(ok.text, sizeof ok.text, "the case had closed already (%s)", it->case_state);
    } else {
        snprintf(ok.text, sizeof ok.text, "no case was held");
        err = s_erase(w, it, env->from, "withdrawn", detail);
    }
    if (err == HV_OK)
        err = hv_worker_send(w, env->from, it->id, &ok, HV_TTL_MAX, NULL);
    return err;
}

/* A chunk of a document of the case (PROTOCOL.md §9.3): as the case
 * itself, only for an offer this agency accepted and from its intake; it
 * may come before the case or after a copy of itself. */
static hv_err s_on_attachment(hv_worker *w, pv_item *it, const hv_envelope *env,
                              const hv_msg *m, hv_errmsg *e)
{
    if (strcmp(it->offer_state, "accepted") != 0)
        return hv_fail(e, HV_EFORBIDDEN, "this agency has not accepted referral (offer is %s)",
                       it->offer_state);
    if (strcmp(env->from, it->intake) != 0)
        return hv_fail(e, HV_EFORBIDDEN, "the offer named %s as the intake, not %s", it->intake,
                       env->from);
    char what[HV_ATTACH_NAME_MAX + 200];
    hv_err err = hv_attach_receive(hv_worker_db(w), hv_worker_keys(w), it->id, &m->attach, what,
                                   sizeof what, e);
    if (err == HV_OK && what[0] != '\0') {
        char ref[33];
        hv_ref_hex(it->id, ref);
        hv_log(HV_LOG_INFO, "document", "referral=%s n=%u outcome=%s", ref, m->attach.n + 1,
               strstr(what, "refused") ? "refused" : "complete");
        err = hv_history_add(w, it->id, it->has_case ? it->case_state : it->offer_state,
                             env->from, what);
    }
    return err;
}

static hv_err s_on_message(hv_worker *w, const hv_envelope *env, const hv_msg *m, hv_errmsg *e)
{
    if (env->type == HV_MSG_OFFER)
        return s_on_offer(w, env, m, e);
    pv_item it;
    hv_err err = pv_load(w, env->referral, &it);
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
            err = pv_offer_state(w, &it, "withdrawn", env->from, m->code);
        break; /* after a decline or once the case is here: nothing to do */
    case HV_MSG_CASE_TRANSFER:
        err = s_on_case(w, &it, env, m, e);
        break;
    case HV_MSG_ATTACHMENT:
        err = s_on_attachment(w, &it, env, m, e);
        break;
    case HV_MSG_WITHDRAW:
        if (!from_intake)
            err = hv_fail(e, HV_EFORBIDDEN, "only %s may withdraw this referral", it.intake);
        else
            err = s_on_withdraw(w, &it, env);
        break;
    case HV_MSG_CANCEL:
        if (!from_intake)
            err = hv_fail(e, HV_EFORBIDDEN, "only %s may cancel this referral", it.intake);
        else
            err = s_on_cancel(w, &it, env, m);
        break;
    case HV_MSG_CASE_MESSAGE:
    case HV_MSG_MESSAGE_MARK:
        if (!from_intake)
            err = hv_fail(e, HV_EFORBIDDEN, "only %s, which referred this case, may write "
                          "about it", it.intake);
        else if ((err = pv_messages_open(&it, e)) == HV_OK)
            err = hv_casemsg_on_message(w, env, m, e);
        break;
    default:
        err = hv_fail(e, HV_EFORBIDDEN, "a provider does not take %s",
                      hv_msg_rule_get(env->type)->name);
    }
    pv_item_free(&it);
    return err;
}

/* ------------------------------------------------------------ deadlines */

/* Closed cases are kept for the retention period, then erased as on
 * withdrawal (key destroyed, rows deleted); the bare record stays. A case
 * under a legal hold is kept until the hold is released. */
static hv_err s_retention(hv_worker *w, uint64_t now)
{
    int64_t cutoff = (int64_t)now - (int64_t)hv_worker_cfg(w)->retention_days * 86400;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id FROM cases WHERE state IN ('completed', 'failed', "
                              "'cancelled') AND updated_s <= ?1 AND id NOT IN (SELECT id FROM "
                              "holds)",
                              "i", cutoff);
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        pv_item it;
        if ((err = pv_load(w, sqlite3_column_blob(st, 0), &it)) != HV_OK)
            break;
        err = s_erase(w, &it, hv_worker_cfg(w)->id, "erased",
                      "case erased: the retention period ended");
        pv_item_free(&it);
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
        pv_item it;
        if ((err = pv_load(w, sqlite3_column_blob(st, 0), &it)) != HV_OK)
            break;
        err = hv_sql_exec(hv_worker_db(w), "UPDATE offers SET service = ?2 WHERE id = ?1", "ri",
                          it.id, (int64_t)it.offer->summary.service);
        pv_item_free(&it);
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

/* Offers stored before PROTOCOL.md §9.1 hold the withhold list in their
 * summary, which this agency had no need to know: rewritten without it, a
 * hundred a tick (secure_delete wipes the old bytes). */
static hv_err s_scrub(hv_worker *w)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w), "SELECT id FROM offers WHERE scrubbed = 0 LIMIT 100",
                              "");
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        pv_item it;
        if ((err = pv_load(w, sqlite3_column_blob(st, 0), &it)) != HV_OK)
            break;
        uint8_t *body = NULL;
        size_t len = 0;
        if ((err = hv_msg_encode(it.offer, &body, &len)) == HV_OK)
            err = hv_sql_exec(hv_worker_db(w),
                              "UPDATE offers SET summary = ?2, scrubbed = 1 WHERE id = ?1", "rx",
                              it.id, body, len);
        free(body);
        pv_item_free(&it);
    }
    sqlite3_finalize(st);
    return err;
}

static hv_err s_on_tick(hv_worker *w, uint64_t now)
{
    hv_err err = s_scrub(w);
    if (err == HV_OK)
        err = s_retention(w, now);
    if (err == HV_OK)
        err = s_due_soon(w, now);
    if (err != HV_OK)
        return err;
    err = pv_capacity_tick(w, now);
    if (err != HV_OK)
        return err;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id FROM offers WHERE state = 'offered' AND respond_by <= ?1",
                              "i", (int64_t)now);
    if (st == NULL)
        return HV_ESTORE;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        pv_item it;
        if ((err = pv_load(w, sqlite3_column_blob(st, 0), &it)) != HV_OK)
            break;
        err = pv_offer_state(w, &it, "expired", hv_worker_cfg(w)->id,
                            "not answered by the offer's deadline");
        pv_item_free(&it);
    }
    sqlite3_finalize(st);
    return err;
}

static hv_err s_on_notice(hv_worker *w, const hv_notice *n)
{
    /* Logged by the shell; a case message not delivered says so in its thread. */
    return hv_casemsg_on_notice(w, n);
}

static const hv_worker_app s_app = {
    .name = "haven-provider",
    .what = "The worker of a receiving agency: offers, cases, status and outcome.",
    .role = HV_ROLE_PROVIDER,
    .schema = s_schema,
    .columns = s_columns,
    .staff_roles = HV_ACTOR_BIT(HV_ACTOR_CASEWORKER) | HV_ACTOR_BIT(HV_ACTOR_SUPERVISOR) |
                   HV_ACTOR_BIT(HV_ACTOR_ADMIN),
    .command_roles = pv_command_roles,
    .may_see = pv_may_see,
    .answer_by = pv_answer_by,
    .on_message = s_on_message,
    .on_control = pv_on_control,
    .on_tick = s_on_tick,
    .on_notice = s_on_notice,
    /* A referral's state here is its case's once received, else its offer's. */
    .metrics_states_sql = "SELECT coalesce(c.state, o.state), count(*) FROM offers o LEFT JOIN "
                          "cases c ON c.id = o.id GROUP BY 1 ORDER BY 1",
    .metrics_offers_sql = "SELECT count(*), min(respond_by) FROM offers WHERE state = 'offered'",
};

int main(int argc, char **argv)
{
    return hv_worker_main(argc, argv, &s_app);
}
