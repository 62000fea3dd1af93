/* haven-intake: erasure of a case at the intake (docs/REFERRAL.md
 * "Lifecycle", "Erasure at the intake").
 *
 * A case is erased here after the provider confirmed its own erasure
 * (WITHDRAWN: the person withdrew consent), by the retention
 * ([intake] retention_days after a terminal state; 0 keeps a closed case
 * until it is erased by hand), or by hand (referral.erase, a supervisor's
 * or the host's, with a reason).
 *
 * What goes: the case and its key (hv_vault_erase: crypto-shredding), the
 * detail of every history row (status notes, outcomes, decline notes,
 * reasons: sealed notes that may carry case text), the legal hold's
 * reason, the events of the live stream, and whatever other modules keep
 * about the case (s_erasers). What stays: the referral's row (state,
 * service, country, router, provider, dates, who made and holds it), the
 * history's states, times and actors, the ids of the messages sent, and
 * the evidence (hv_evidence: signed headers and digests, no content).
 * A draft the referral was written from is erased already, when it was
 * submitted (referral.submit's `draft`). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_attach.h"
#include "hv_casemsg.h"
#include "hv_events.h"
#include "hv_history.h"
#include "hv_log.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "hv_vault.h"
#include "intake.h"

/* Other modules' case data at the intake, keyed by the referral id
 * (issue 21's contract: hv_err X_erase(sqlite3 *db, const uint8_t
 * referral[16])). Each module that keeps case data here adds its eraser
 * to this list, and only here:
 *   - case messages (hv_casemsg.c): hv_casemsg_erase
 *   - attachments (hv_attach*.c): hv_attach_erase */
typedef hv_err (*s_eraser_fn)(sqlite3 *db, const uint8_t referral[16]);
static const struct s_eraser {
    const char *what;
    s_eraser_fn erase;
} s_erasers[] = {
    {"case messages", hv_casemsg_erase},
    {"offer progress", in_progress_erase},
    {"documents", hv_attach_erase},
    {NULL, NULL},
};

/* The code of `why` ("CODE" or "CODE: words"), at most HV_IN_ERASED_WHY_MAX. */
static void s_code(const char *why, char *code, size_t n)
{
    size_t len = strcspn(why, ":");
    if (len >= n)
        len = n - 1;
    memcpy(code, why, len);
    code[len] = '\0';
}

hv_err in_erase(hv_worker *w, in_ref *r, const char *actor, const char *why)
{
    sqlite3 *db = hv_worker_db(w);
    char code[sizeof r->erased_why];
    s_code(why, code, sizeof code);
    uint64_t now = (uint64_t)time(NULL);
    hv_err err = hv_vault_erase(db, r->id);
    for (size_t i = 0; err == HV_OK && s_erasers[i].erase != NULL; i++)
        err = s_erasers[i].erase(db, r->id);
    if (err == HV_OK)
        err = hv_sql_exec(db, "UPDATE history SET detail = NULL WHERE referral = ?1", "r", r->id);
    if (err == HV_OK)
        err = hv_events_erase(w, r->id);
    if (err == HV_OK)
        err = hv_sql_exec(db,
                          "UPDATE referrals SET erased_s = ?2, erased_why = ?3, hold_reason = "
                          "NULL WHERE id = ?1",
                          "rit", r->id, (int64_t)now, code);
    /* The one row the erasure adds: who erased and why (audited as
     * case_erased by `actor`). */
    if (err == HV_OK)
        err = hv_history_add(w, r->id, "case_erased", actor, why);
    if (err != HV_OK)
        return err;
    r->erased = now;
    snprintf(r->erased_why, sizeof r->erased_why, "%s", code);
    char ref[33];
    hv_ref_hex(r->id, ref);
    hv_log(HV_LOG_INFO, "case_erased", "referral=%s reason=%s", ref, code);
    hv_worker_purge_after_commit(w); /* the WAL too, once this commits */
    return HV_OK;
}

const char *in_erased_words(const char *code)
{
    if (strcmp(code, IN_ERASED_CONSENT) == 0)
        return "consent withdrawn, erased at the provider too";
    if (strcmp(code, IN_ERASED_RETENTION) == 0)
        return "the retention period ended";
    if (strcmp(code, IN_ERASED_BY_HAND) == 0)
        return "erased by hand";
    return code;
}

/* Terminal states, after which the retention runs. */
#define S_TERMINAL "('completed', 'failed', 'no_match', 'expired', 'cancelled', 'withdrawn')"

hv_err in_retention(hv_worker *w, uint64_t now)
{
    uint64_t days = hv_worker_cfg(w)->intake_retention_days;
    if (days == 0)
        return HV_OK; /* kept until erased by hand */
    int64_t cutoff = (int64_t)now - (int64_t)days * 86400;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id FROM referrals WHERE erased_s = 0 AND state IN "
                              S_TERMINAL " AND updated_s <= ?1 LIMIT 100",
                              "i", cutoff);
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        in_ref r;
        if ((err = in_load(w, sqlite3_column_blob(st, 0), &r)) == HV_OK)
            err = in_erase(w, &r, hv_worker_cfg(w)->id, IN_ERASED_RETENTION);
    }
    sqlite3_finalize(st);
    return err;
}

hv_err in_erase_cmd(hv_worker *w, const hv_actor *a, in_ref *r, json_t *args, char **text,
                    hv_errmsg *e)
{
    const char *reason = json_string_value(json_object_get(args, "reason"));
    if (reason == NULL || reason[0] == '\0')
        return hv_fail(e, HV_EINVAL, "a \"reason\" is required: why the case is erased now");
    if (strlen(reason) > HV_MSG_TEXT_MAX)
        return hv_fail(e, HV_ETOOBIG, "the reason is %zu bytes; it may be at most %u bytes: "
                       "shorten it", strlen(reason), HV_MSG_TEXT_MAX);
    if (r->erased != 0) {
        char at[24];
        hv_time_human(r->erased, at);
        return hv_fail(e, HV_EEXIST, "the case was erased already, %s", at);
    }
    if (!in_terminal(r))
        return hv_fail(e, HV_EPROTO, "referral is %s; only a closed referral (completed, "
                       "failed, no_match, expired, cancelled, withdrawn) is erased by hand: "
                       "withdraw or cancel it first", r->state);
    char why[HV_MSG_TEXT_MAX + 16];
    snprintf(why, sizeof why, "%s: %s", IN_ERASED_BY_HAND, reason);
    hv_err err = in_erase(w, r, a->by, why);
    if (err == HV_OK) {
        char ref[33];
        hv_ref_hex(r->id, ref);
        hv_strcat(text, "referral %s: the case is erased here; its state, dates and evidence "
                  "stay\n", ref);
    }
    return err;
}
