/* The intake's deadlines: every state a referral can wait in has one
 * (docs/REFERRAL.md, "Deadlines"), so that nothing waits unseen.
 *
 *   requested               respond_by + grace      → expired
 *   awaiting_authorisation  respond_by              → expired
 *   accepted, transferred   the provider's receipt within [deadlines]
 *                           receipt_hours of the transfer (the case's
 *                           time to live at the brokers): overdue, and
 *                           after the grace → transfer_failed
 *   transfer_failed         the caseworker's decision: review due after
 *                           review_days
 *   cancel_requested,       the confirmation within confirm_days: overdue
 *   withdraw_requested      (send again, or call the other side)
 *   received, in_progress,  a STATUS within review_days: review due
 *   on_hold
 *
 * Overdue is not a state: the referral stays where it is, one row in
 * `overdue` says since when and why, until the referral moves on. Each
 * new overdue referral is written in its history, logged
 * (referral_overdue), counted (haven_worker_referrals_overdue) and
 * announced to haven-web as a "due_soon" event. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hv_events.h"
#include "hv_history.h"
#include "hv_log.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "intake.h"

static uint64_t s_secs(uint64_t s, uint64_t units, uint64_t unit_s)
{
    return s != 0 ? s : units * unit_s;
}

uint64_t in_deadline_receipt_s(hv_worker *w)
{
    const hv_worker_config *c = hv_worker_cfg(w);
    return s_secs(c->receipt_s, c->receipt_hours, 3600);
}

static uint64_t s_confirm_s(hv_worker *w)
{
    const hv_worker_config *c = hv_worker_cfg(w);
    return s_secs(c->confirm_s, c->confirm_days, 86400);
}

static uint64_t s_review_s(hv_worker *w)
{
    const hv_worker_config *c = hv_worker_cfg(w);
    return s_secs(c->review_s, c->review_days, 86400);
}

uint32_t in_deadline_transfer_ttl(hv_worker *w)
{
    uint64_t s = in_deadline_receipt_s(w);
    return s > HV_TTL_MAX ? HV_TTL_MAX : (uint32_t)s;
}

bool in_deadline_of(hv_worker *w, const in_ref *r, uint64_t *due, const char **what)
{
    if (in_is(r, "requested")) {
        *due = r->respond_by + IN_GRACE_S;
        *what = "an answer from the router";
    } else if (in_is(r, "awaiting_authorisation")) {
        *due = r->respond_by;
        *what = "a supervisor's authorisation";
    } else if (in_is(r, "accepted") || in_is(r, "transferred")) {
        *due = r->updated + in_deadline_receipt_s(w);
        *what = "the provider's receipt for the case";
    } else if (in_is(r, "cancel_requested") || in_is(r, "withdraw_requested")) {
        *due = r->updated + s_confirm_s(w);
        *what = in_is(r, "cancel_requested") ? "the confirmation of the cancellation"
                                             : "the provider's confirmation of the erasure";
    } else if (in_is(r, "received") || in_is(r, "in_progress") || in_is(r, "on_hold") ||
               in_is(r, "transfer_failed")) {
        *due = r->updated + s_review_s(w);
        *what = in_is(r, "transfer_failed") ? "the caseworker's decision (review due)"
                                            : "a status from the provider (review due)";
    } else {
        return false; /* terminal */
    }
    return true;
}

/* What the caseworker can do about an overdue referral in `r`'s state. */
static const char *s_next_step_of(const char *state)
{
    in_ref one;
    snprintf(one.state, sizeof one.state, "%s", state);
    const in_ref *r = &one;
    if (in_is(r, "accepted") || in_is(r, "transferred"))
        return "ask the provider whether the case arrived; if not, withdraw the referral "
               "(haven referral withdraw) and submit it again";
    if (in_is(r, "cancel_requested"))
        return "ask the router to confirm, or withdraw again (haven referral withdraw) to "
               "send the request once more";
    if (in_is(r, "withdraw_requested"))
        return "ask the provider to confirm the erasure, or withdraw again (haven referral "
               "withdraw) to send the request once more; escalate to a supervisor";
    if (in_is(r, "transfer_failed"))
        return "withdraw the referral (haven referral withdraw) and submit it again";
    return "ask the provider for a status, or record a review";
}

static const char *s_next_step(const in_ref *r)
{
    return s_next_step_of(r->state);
}

bool in_overdue_get(hv_worker *w, const uint8_t id[16], uint64_t *since, char *what,
                    size_t cap)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT o.since_s, o.what FROM overdue o JOIN referrals r ON "
                              "r.id = o.id AND r.state = o.state WHERE o.id = ?1",
                              "r", id);
    bool found = st != NULL && sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        *since = (uint64_t)sqlite3_column_int64(st, 0);
        if (what != NULL)
            hv_sql_text(st, 1, what, cap);
    }
    sqlite3_finalize(st);
    return found;
}

hv_err in_deadline_mark(hv_worker *w, const in_ref *r, const char *why, uint64_t now)
{
    char what[600];
    snprintf(what, sizeof what, "%s; next step: %s", why, s_next_step(r));
    hv_err err = hv_sql_exec(hv_worker_db(w),
                             "INSERT OR REPLACE INTO overdue (id, state, since_s, what) VALUES "
                             "(?1, ?2, ?3, ?4)",
                             "rtit", r->id, r->state, (int64_t)now, what);
    char detail[700];
    snprintf(detail, sizeof detail, "overdue: %s", what);
    if (err == HV_OK)
        err = hv_history_add(w, r->id, r->state, hv_worker_cfg(w)->id, detail);
    if (err == HV_OK)
        err = hv_events_add(w, r->id, "due_soon", r->state);
    if (err == HV_OK) {
        char ref[33];
        hv_ref_hex(r->id, ref);
        hv_log(HV_LOG_WARN, "referral_overdue", "referral=%s state=%s", ref, r->state);
    }
    return err;
}

/* A transfer whose receipt did not come by its deadline and the grace
 * after it: the case's time to live has passed at the brokers, so it will
 * not arrive; the caseworker decides what next. */
static hv_err s_transfer_failed(hv_worker *w, in_ref *r)
{
    char detail[400];
    snprintf(detail, sizeof detail, "no receipt from %s by the deadline; the case was not "
             "delivered; next step: %s", r->provider, s_next_step_of("transfer_failed"));
    return in_enter(w, r, "transfer_failed", hv_worker_cfg(w)->id, detail);
}

hv_err in_deadline_tick(hv_worker *w, uint64_t now)
{
    /* What moved on is no longer overdue, nor what entered its state
     * again since (a request sent once more). */
    hv_err err = hv_sql_exec(hv_worker_db(w),
                             "DELETE FROM overdue WHERE NOT EXISTS (SELECT 1 FROM referrals r "
                             "WHERE r.id = overdue.id AND r.state = overdue.state AND "
                             "r.updated_s <= overdue.since_s)",
                             "");
    if (err != HV_OK)
        return err;
    /* The candidates: past the deadline of their own state, not yet
     * marked (a transfer stays a candidate, marked, until its grace has
     * passed too). A tick handles at most 100, the next one the rest. */
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              /* Each branch a range of the index on (state,
                               * updated_s): the overdue ones, not every
                               * referral every tick (issue 24). */
                              "SELECT id FROM referrals r WHERE (state IN ('accepted', "
                              "'transferred') AND updated_s <= ?4 - ?1) OR (state IN "
                              "('cancel_requested', 'withdraw_requested') AND updated_s <= "
                              "?4 - ?2 AND NOT EXISTS (SELECT 1 FROM overdue o WHERE o.id = "
                              "r.id AND o.state = r.state)) OR (state IN ('received', "
                              "'in_progress', 'on_hold', 'transfer_failed') AND updated_s <= "
                              "?4 - ?3 AND NOT EXISTS (SELECT 1 FROM overdue o WHERE o.id = "
                              "r.id AND o.state = r.state)) LIMIT 100",
                              "iiii", (int64_t)in_deadline_receipt_s(w), (int64_t)s_confirm_s(w),
                              (int64_t)s_review_s(w), (int64_t)now);
    if (st == NULL)
        return HV_ESTORE;
    uint8_t ids[100][16];
    size_t n = 0;
    while (n < 100 && sqlite3_step(st) == SQLITE_ROW)
        if (sqlite3_column_bytes(st, 0) == 16)
            memcpy(ids[n++], sqlite3_column_blob(st, 0), 16);
    sqlite3_finalize(st);
    for (size_t i = 0; err == HV_OK && i < n; i++) {
        in_ref r;
        uint64_t due, since;
        const char *what;
        if ((err = in_load(w, ids[i], &r)) != HV_OK || !in_deadline_of(w, &r, &due, &what) ||
            now < due)
            continue;
        bool marked = in_overdue_get(w, r.id, &since, NULL, 0);
        if ((in_is(&r, "accepted") || in_is(&r, "transferred")) && now >= due + IN_GRACE_S) {
            err = s_transfer_failed(w, &r);
            continue;
        }
        if (marked)
            continue;
        char why[300], at[24];
        hv_time_human(due, at);
        snprintf(why, sizeof why, "%s was due by %s", what, at);
        err = in_deadline_mark(w, &r, why, now);
    }
    return err;
}
