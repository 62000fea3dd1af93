/* haven-intake: the referring NGO's worker (DESIGN §5).
 *
 * Takes a referral file from a caseworker, keeps the case encrypted at
 * rest, sends only the non-identifying summary to the router of the
 * destination country, transfers the case end to end to the provider the
 * router matched (if the person's consent covers it), and records every
 * status that comes back. Each incoming message must come from the party
 * the referral's state expects; anything else is refused and recorded.
 *
 * States: requested → accepted → transferred → received → in_progress ⇄
 * on_hold → completed | failed; requested → no_match | expired;
 * cancel_requested → cancelled (the service is no longer needed: the
 * provider closes the case and keeps it for its retention);
 * withdraw_requested → withdrawn (consent withdrawn: the provider erases
 * the case, then the intake does); completed | failed | cancelled →
 * erasure_requested → withdrawn; withdraw_requested | erasure_requested →
 * legal_hold (the provider must keep the case, and says why) → withdrawn
 * when the hold is released; transferred → transfer_failed (the case
 * expired undelivered, or no receipt came by its deadline;
 * intake_deadline.c has every deadline). A closed case is erased here by
 * the retention or by hand (intake_erase.c); its row stays. A caseworker's
 * referral with a consent override starts in
 * awaiting_authorisation and is sent (→ requested) only when a supervisor
 * authorises it; → withdrawn or expired otherwise.
 *
 * People (the staff socket, docs/OPERATIONS.md "Staff and roles"): a
 * caseworker sees and acts on the referrals they created or are assigned;
 * a supervisor sees all, assigns them and authorises consent overrides;
 * an admin sees none. The role table is s_commands. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_attach.h"
#include "hv_casemsg.h"
#include "hv_history.h"
#include "hv_listq.h"
#include "hv_log.h"
#include "hv_note.h"
#include "hv_referral.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "hv_vault.h"
#include "hv_worker.h"
#include "intake.h"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS referrals (id BLOB PRIMARY KEY, state TEXT NOT NULL,"
    "  service INTEGER NOT NULL, country TEXT NOT NULL, router TEXT NOT NULL,"
    "  provider TEXT NOT NULL DEFAULT '', created_s INTEGER NOT NULL,"
    "  respond_by INTEGER NOT NULL, updated_s INTEGER NOT NULL, case_hash BLOB,"
    "  created_by TEXT NOT NULL DEFAULT '', assigned_to TEXT NOT NULL DEFAULT '',"
    "  reference TEXT NOT NULL DEFAULT '', case_id BLOB, erased_s INTEGER NOT NULL DEFAULT 0,"
    "  erased_why TEXT NOT NULL DEFAULT '', hold_basis TEXT NOT NULL DEFAULT '',"
    "  hold_reason BLOB) WITHOUT ROWID;"
    /* Which referral each message we sent belongs to, for broker notices. */
    "CREATE TABLE IF NOT EXISTS sent (id BLOB PRIMARY KEY, referral BLOB NOT NULL,"
    "  type INTEGER NOT NULL, rcpt TEXT NOT NULL) WITHOUT ROWID;"
    /* Drafts (intake_draft.c): who and when only; the content is sealed
     * in the vault under the draft's id. */
    "CREATE TABLE IF NOT EXISTS drafts (id BLOB PRIMARY KEY, created_by TEXT NOT NULL,"
    "  created_s INTEGER NOT NULL, updated_s INTEGER NOT NULL) WITHOUT ROWID;"
    /* Case messages with the provider (hv_casemsg.h). */
    HV_CASEMSG_SCHEMA
    /* Deadlines passed (intake_deadline.c). */
    IN_DEADLINE_SCHEMA
    /* Offer outcomes from the router (intake_progress.c). */
    IN_PROGRESS_SCHEMA
    /* Documents with a case (hv_attach.h). */
    HV_ATTACH_SCHEMA;

/* Added since the first store format; an older store gets them at start
 * (its referrals were made by the host's administrator: created_by ""). */
/* referral.list (intake_ctl.c) pages in the order of creation, filtered by
 * state or not, and the tick looks for the requested ones: each an index
 * range rather than the whole table. A caseworker's own referrals are two
 * ranges (created by, assigned to). A search in the references reads
 * this narrow index whole rather than the table. The tick's deadlines and
 * retention are ranges of (state, updated_s). Each entry carries the
 * id too (the table's key). Issue 24. */
static const char s_indexes[] =
    "CREATE INDEX IF NOT EXISTS referrals_created ON referrals(created_s);"
    "CREATE INDEX IF NOT EXISTS referrals_state ON referrals(state, created_s);"
    "CREATE INDEX IF NOT EXISTS referrals_assigned ON referrals(assigned_to, created_s);"
    "CREATE INDEX IF NOT EXISTS referrals_creator ON referrals(created_by, created_s);"
    "CREATE INDEX IF NOT EXISTS referrals_reference ON referrals(reference, created_s);"
    /* The tick's deadlines and retention: the referrals of a state last
     * changed before a time (intake_deadline.c, intake_erase.c). */
    "CREATE INDEX IF NOT EXISTS referrals_due ON referrals(state, updated_s);";

static const hv_worker_column s_columns[] = {
    {"referrals", "created_by", "TEXT NOT NULL DEFAULT ''"},
    {"referrals", "assigned_to", "TEXT NOT NULL DEFAULT ''"},
    {"referrals", "reference", "TEXT NOT NULL DEFAULT ''"},
    /* Issue 21: the case a referral is one service of; NULL for a referral
     * made before cases, which is its own case (in_load). */
    {"referrals", "case_id", "BLOB"},

    {"referrals", "erased_s", "INTEGER NOT NULL DEFAULT 0"},
    {"referrals", "erased_why", "TEXT NOT NULL DEFAULT ''"},
    {"referrals", "hold_basis", "TEXT NOT NULL DEFAULT ''"},
    {"referrals", "hold_reason", "BLOB"},
    {NULL, NULL, NULL},
};


hv_err in_load(hv_worker *w, const uint8_t id[16], in_ref *r)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT state, service, country, router, provider, created_s, "
                              "respond_by, updated_s, case_hash, created_by, assigned_to, "
                              "reference, coalesce(case_id, id), erased_s, erased_why, "
                              "hold_basis FROM referrals WHERE id = ?1",
                              "r", id);
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(r, 0, sizeof *r);
        memcpy(r->id, id, 16);
        hv_sql_text(st, 0, r->state, sizeof r->state);
        r->service = (unsigned)sqlite3_column_int(st, 1);
        hv_sql_text(st, 2, r->country, sizeof r->country);
        hv_sql_text(st, 3, r->router, sizeof r->router);
        hv_sql_text(st, 4, r->provider, sizeof r->provider);
        r->created = (uint64_t)sqlite3_column_int64(st, 5);
        r->respond_by = (uint64_t)sqlite3_column_int64(st, 6);
        r->updated = (uint64_t)sqlite3_column_int64(st, 7);
        if (sqlite3_column_bytes(st, 8) == 32)
            memcpy(r->case_hash, sqlite3_column_blob(st, 8), 32);
        hv_sql_text(st, 9, r->created_by, sizeof r->created_by);
        hv_sql_text(st, 10, r->assigned_to, sizeof r->assigned_to);
        hv_sql_text(st, 11, r->reference, sizeof r->reference);
        if (sqlite3_column_bytes(st, 12) == 16)
            memcpy(r->case_id, sqlite3_column_blob(st, 12), 16);
        r->erased = (uint64_t)sqlite3_column_int64(st, 13);
        hv_sql_text(st, 14, r->erased_why, sizeof r->erased_why);
        hv_sql_text(st, 15, r->hold_basis, sizeof r->hold_basis);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? HV_OK : rc == SQLITE_DONE ? HV_ENOTFOUND : HV_ESTORE;
}

/* Moves the referral to `state` and records why. */
hv_err in_enter(hv_worker *w, in_ref *r, const char *state, const char *actor,
                      const char *detail)
{
    hv_err err = hv_sql_exec(hv_worker_db(w),
                             "UPDATE referrals SET state = ?2, provider = ?3, updated_s = ?4 "
                             "WHERE id = ?1",
                             "rtti", r->id, state, r->provider, (int64_t)time(NULL));
    if (err == HV_OK)
        err = hv_history_add(w, r->id, state, actor, detail);
    if (err == HV_OK) {
        char ref[33];
        hv_ref_hex(r->id, ref);
        hv_log(HV_LOG_INFO, "referral_state", "referral=%s from=%s to=%s", ref, r->state, state);
        snprintf(r->state, sizeof r->state, "%s", state);
    }
    return err;
}

bool in_is(const in_ref *r, const char *state) { return strcmp(r->state, state) == 0; }

bool in_terminal(const in_ref *r)
{
    static const char *const final[] = {"completed", "failed", "no_match", "expired",
                                        "cancelled", "withdrawn", NULL};
    for (int i = 0; final[i]; i++)
        if (in_is(r, final[i]))
            return true;
    return false;
}

hv_err in_messages_open(const in_ref *r, hv_errmsg *e)
{
    static const char *const open[] = {"transferred", "received", "in_progress", "on_hold",
                                        "completed",   "failed",   NULL};
    for (int i = 0; open[i]; i++)
        if (in_is(r, open[i]))
            return HV_OK;
    return hv_fail(e, HV_EPROTO, "referral is %s; case messages are exchanged with the "
                   "provider only once the case was transferred to it, and not after a "
                   "withdrawal",
                   r->state);
}

/* Sends `m` about `r` and remembers which referral the message id belongs
 * to, so that a broker notice about it can be put in the right history.
 * A request lives until its respond_by; everything later lives the
 * protocol's maximum, since a status may come weeks after the match. */
hv_err in_send(hv_worker *w, const in_ref *r, const char *to, const hv_msg *m,
                     uint32_t ttl)
{
    uint8_t id[16];
    hv_err err = hv_worker_send(w, to, r->id, m, ttl, id);
    if (err == HV_OK)
        err = hv_sql_exec(hv_worker_db(w),
                          "INSERT INTO sent (id, referral, type, rcpt) VALUES (?1, ?2, ?3, ?4)",
                          "rrit", id, r->id, (int64_t)m->type, to);
    return err;
}

/* ------------------------------------------------------------ messages */

static hv_err s_wrong(hv_errmsg *e, const in_ref *r, const hv_envelope *env)
{
    return hv_fail(e, HV_EPROTO, "referral is %s; %s from %s is not expected now", r->state,
                   hv_msg_rule_get(env->type)->name, env->from);
}

/* The matched provider must be one this case may go to: a registered
 * provider of the requested service in the destination country, not one
 * the person must be kept away from, and covered by their consent. */
static hv_err s_check_match(hv_worker *w, const in_ref *r, const char *provider,
                            const hv_referral_check *c, hv_errmsg *e)
{
    const hv_node *p = hv_registry_find(hv_worker_registry(w), provider);
    if (p == NULL || p->role != HV_ROLE_PROVIDER || !hv_node_active(p, (uint64_t)time(NULL)))
        return hv_fail(e, HV_EFORBIDDEN, "'%s' is not an active provider", provider);
    if (strcmp(p->country, r->country) != 0)
        return hv_fail(e, HV_EFORBIDDEN, "'%s' is not in %s", provider, r->country);
    if (!(p->services & (1u << r->service)))
        return hv_fail(e, HV_EFORBIDDEN, "'%s' does not offer %s", provider,
                       hv_service_name(r->service));
    for (unsigned i = 0; i < c->summary.n_exclude; i++)
        if (strcmp(c->summary.exclude[i], provider) == 0)
            return hv_fail(e, HV_EFORBIDDEN, "'%s' is on the case's withhold list", provider);
    if (!hv_referral_consent_covers(c, r->service))
        return hv_fail(e, HV_EFORBIDDEN, "consent does not cover %s",
                       hv_service_name(r->service));
    return HV_OK;
}

/* What of a withhold reason a provider is sent in its place: which
 * organisations to keep the person from is its to know, why is not
 * (PROTOCOL.md §9.1). */
#define S_WITHHELD_REASON "(kept by the referring organisation)"

/* The case as the matched provider receives it: the referral file with
 * every risk.withhold_from[].reason replaced by S_WITHHELD_REASON, so that
 * the reasons never leave this intake. Caller frees `*out` (free()).
 * HV_OK, HV_EJSON (not a file this parser reads), HV_ENOMEM. */
static hv_err s_case_for_provider(const uint8_t *text, size_t len, char **out, size_t *out_len)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return HV_EJSON;
    json_t *list = json_object_get(json_object_get(root, "risk"), "withhold_from");
    hv_err err = HV_OK;
    for (size_t i = 0; err == HV_OK && i < json_array_size(list); i++)
        if (json_object_get(json_array_get(list, i), "reason") != NULL &&
            json_object_set_new(json_array_get(list, i), "reason",
                                json_string(S_WITHHELD_REASON)) != 0)
            err = HV_ENOMEM;
    if (err == HV_OK && (*out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
        err = HV_ENOMEM;
    json_decref(root);
    if (err == HV_OK)
        *out_len = strlen(*out);
    return err;
}

static hv_err s_on_match(hv_worker *w, in_ref *r, const hv_envelope *env, const hv_msg *m,
                         hv_errmsg *e)
{
    uint8_t *case_text = NULL;
    size_t case_len = 0, sent_len = 0;
    char *sent_text = NULL; /* the case as sent (s_case_for_provider) */
    hv_err err = hv_vault_get(hv_worker_db(w), hv_worker_keys(w), r->id, &case_text, &case_len);
    if (err != HV_OK)
        return err == HV_ENOTFOUND ? hv_fail(e, HV_EPROTO, "the case is no longer held") : err;
    hv_referral_check *c = calloc(1, sizeof *c);
    hv_msg *out = calloc(1, sizeof *out);
    if (c == NULL || out == NULL) {
        err = HV_ENOMEM;
        goto done;
    }
    /* Checked as of its submission: only the consent and withhold list matter now. */
    if (hv_referral_check_text((const char *)case_text, case_len, r->created, c) == HV_ENOMEM) {
        err = HV_ENOMEM;
        goto done;
    }
    snprintf(r->provider, sizeof r->provider, "%s", m->node);
    hv_errmsg why = {""};
    if (s_check_match(w, r, m->node, c, &why) != HV_OK) {
        /* Not the router's to override: the case does not go, the router
         * is told, and the caseworker sees why. */
        out->type = HV_MSG_CANCEL;
        snprintf(out->code, sizeof out->code, "match_refused"); /* a code only: §9.1 */
        char detail[HV_MSG_TEXT_MAX + 40];
        snprintf(detail, sizeof detail, "match refused by the intake: %s", why.text);
        if ((err = in_send(w, r, r->router, out, HV_TTL_MAX)) == HV_OK)
            err = in_enter(w, r, "failed", env->from, detail);
        goto done;
    }
    char detail[HV_NODE_ID_MAX + 32];
    snprintf(detail, sizeof detail, "matched with %s", m->node);
    if ((err = in_enter(w, r, "accepted", env->from, detail)) != HV_OK)
        goto done;
    if ((err = s_case_for_provider(case_text, case_len, &sent_text, &sent_len)) != HV_OK)
        goto done;
    if (sent_len > HV_PLAINTEXT_MAX - 64) {
        err = hv_fail(e, HV_ETOOBIG, "the case is too large to send");
        goto done;
    }
    out->type = HV_MSG_CASE_TRANSFER;
    out->case_json = sent_text;
    out->case_len = sent_len;
    hv_hash256((const uint8_t *)sent_text, sent_len, r->case_hash);
    /* The case lives as long as its receipt may take: past that the
     * brokers expire it and the notice makes the referral transfer_failed. */
    if ((err = in_send(w, r, m->node, out, in_deadline_transfer_ttl(w))) == HV_OK &&
        (err = hv_sql_exec(hv_worker_db(w), "UPDATE referrals SET case_hash = ?2 WHERE id = ?1",
                           "rx", r->id, r->case_hash, (size_t)32)) == HV_OK)
        err = in_enter(w, r, "transferred", hv_worker_cfg(w)->id,
                      "case sent end to end to the provider");
done:
    hv_secure_free(case_text);
    if (sent_text != NULL)
        hv_memzero(sent_text, sent_len);
    free(sent_text);
    free(c);
    free(out);
    return err;
}

/* The NO_MATCH reasons for the caseworker, with each provider's decline
 * note opened: sealed to this intake by the provider, carried by the
 * router unread (PROTOCOL.md §9.1). One that does not open is said so.
 * Caller frees; NULL when there are none. */
static char *s_reasons_text(hv_worker *w, const in_ref *r, const hv_msg *m)
{
    char *out = NULL;
    char note[HV_MSG_TEXT_MAX + 1];
    for (unsigned i = 0; i < m->n_reasons; i++) {
        const hv_reason *x = &m->reasons[i];
        hv_strcat(&out, "%s%s%s%s", i ? "; " : "", x->node, x->node[0] ? ": " : "", x->text);
        if (x->note_len == 0)
            continue;
        const hv_node *from = hv_registry_find(hv_worker_registry(w), x->node);
        hv_err err = from == NULL ? HV_ENOTFOUND
                                  : hv_note_open(hv_worker_keys(w), hv_worker_self(w), from, r->id,
                                                 x->note, x->note_len, (uint64_t)time(NULL), note,
                                                 sizeof note);
        if (err == HV_OK)
            hv_strcat(&out, " (note: %s)", note);
        else
            hv_strcat(&out, " (a note that does not open: %s)", hv_errname(err));
        hv_memzero(note, sizeof note);
    }
    return out;
}

static bool s_status_allowed(const in_ref *r, const char *to)
{
    /* The provider closed the case before the cancel reached it: the
     * outcome counts (its CANCELLED, later, is then ignored). */
    if (in_is(r, "cancel_requested") && r->provider[0] != '\0')
        return strcmp(to, "completed") == 0 || strcmp(to, "failed") == 0;
    if (!(in_is(r, "received") || in_is(r, "in_progress") || in_is(r, "on_hold")))
        return false;
    return strcmp(r->state, to) != 0;
}

/* The provider keeps the case under a legal hold: its basis (a code) and
 * reason are shown to the caseworker; the reason is sealed at rest. */
static hv_err s_on_legal_hold(hv_worker *w, in_ref *r, const hv_envelope *env, const hv_msg *m)
{
    uint8_t *sealed = NULL;
    size_t len = 0;
    hv_err err = hv_vault_seal_note(hv_worker_keys(w), r->id, m->text, &sealed, &len);
    if (err == HV_OK)
        err = hv_sql_exec(hv_worker_db(w),
                          "UPDATE referrals SET hold_basis = ?2, hold_reason = ?3 WHERE id = ?1",
                          "rtx", r->id, m->code, sealed, len);
    free(sealed);
    char detail[HV_MSG_TEXT_MAX + HV_MSG_CODE_MAX + 80];
    snprintf(detail, sizeof detail, "the provider keeps the case under a legal hold (%s): %s",
             m->code, m->text);
    if (err == HV_OK) {
        snprintf(r->hold_basis, sizeof r->hold_basis, "%s", m->code);
        err = in_enter(w, r, "legal_hold", env->from, detail);
    }
    hv_memzero(detail, sizeof detail);
    return err;
}

static hv_err s_on_message(hv_worker *w, const hv_envelope *env, const hv_msg *m, hv_errmsg *e)
{
    in_ref r;
    hv_err err = in_load(w, env->referral, &r);
    if (err == HV_ENOTFOUND)
        return hv_fail(e, HV_ENOTFOUND, "no such referral was sent by this intake");
    if (err != HV_OK)
        return err;
    bool from_router = strcmp(env->from, r.router) == 0;
    bool from_provider = r.provider[0] != '\0' && strcmp(env->from, r.provider) == 0;
    char detail[HV_MSG_TEXT_MAX + 64];
    switch (env->type) {
    case HV_MSG_MATCH:
        if (!from_router)
            return hv_fail(e, HV_EFORBIDDEN, "only %s may match this referral", r.router);
        if (!in_is(&r, "requested"))
            return s_wrong(e, &r, env);
        return s_on_match(w, &r, env, m, e);
    case HV_MSG_NO_MATCH: {
        if (!from_router)
            return hv_fail(e, HV_EFORBIDDEN, "only %s may answer this referral", r.router);
        if (!in_is(&r, "requested"))
            return s_wrong(e, &r, env);
        char *reasons = s_reasons_text(w, &r, m);
        err = in_enter(w, &r, "no_match", env->from, reasons ? reasons : "no reasons given");
        free(reasons);
        return err;
    }
    case HV_MSG_REFERRAL_EXPIRED:
        if (!from_router)
            return hv_fail(e, HV_EFORBIDDEN, "only %s may expire this referral", r.router);
        if (!in_is(&r, "requested") && !in_is(&r, "cancel_requested"))
            return s_wrong(e, &r, env);
        return in_enter(w, &r, "expired", env->from, m->text);
    case HV_MSG_CANCELLED:
        if (!from_router && !from_provider)
            return hv_fail(e, HV_EFORBIDDEN, "not a party to this referral");
        if (in_terminal(&r))
            return HV_OK; /* both may confirm; the first one counts */
        if (!in_is(&r, "cancel_requested"))
            return s_wrong(e, &r, env);
        return in_enter(w, &r, "cancelled", env->from, m->text);
    case HV_MSG_RECEIPT:
        if (!from_provider)
            return hv_fail(e, HV_EFORBIDDEN, "only %s may acknowledge this case",
                           r.provider[0] ? r.provider : "the matched provider");
        /* The same receipt again: the provider was restored from a backup
         * and its broker replayed the case (proto/PROTOCOL.md §5.2). The
         * case was received already; nothing changes. */
        if (in_is(&r, "received") && memcmp(m->hash, r.case_hash, 32) == 0)
            return HV_OK;
        /* A receipt after transfer_failed: the case did arrive, just
         * before its time to live ran out; the receipt decides. */
        if (!in_is(&r, "transferred") && !in_is(&r, "transfer_failed"))
            return s_wrong(e, &r, env);
        if (memcmp(m->hash, r.case_hash, 32) != 0)
            return hv_fail(e, HV_ECRYPTO, "the receipt is for other content than the case sent");
        return in_enter(w, &r, "received", env->from, "signed receipt for the case");
    case HV_MSG_STATUS:
        if (!from_provider)
            return hv_fail(e, HV_EFORBIDDEN, "only %s may report on this case",
                           r.provider[0] ? r.provider : "the matched provider");
        if (!s_status_allowed(&r, m->code))
            return hv_fail(e, HV_EPROTO, "referral is %s; it cannot become %s", r.state,
                           m->code);
        return in_enter(w, &r, m->code, env->from, m->text);
    case HV_MSG_PROGRESS:
        return in_progress_on_message(w, &r, env, m, e);
    case HV_MSG_WITHDRAWN:
        if (!from_provider)
            return hv_fail(e, HV_EFORBIDDEN, "only %s holds this case", r.provider);
        if (!in_is(&r, "withdraw_requested") && !in_is(&r, "erasure_requested") &&
            !in_is(&r, "legal_hold"))
            return s_wrong(e, &r, env);
        /* The provider erased it: consent is withdrawn, and the intake
         * erases its own copy in the same transaction. */
        snprintf(detail, sizeof detail, "the provider confirmed erasing the case");
        if ((err = in_enter(w, &r, "withdrawn", env->from, detail)) != HV_OK)
            return err;
        return in_erase(w, &r, env->from, IN_ERASED_CONSENT);
    case HV_MSG_LEGAL_HOLD:
        if (!from_provider)
            return hv_fail(e, HV_EFORBIDDEN, "only %s holds this case", r.provider);
        if (!in_is(&r, "withdraw_requested") && !in_is(&r, "erasure_requested"))
            return s_wrong(e, &r, env);
        return s_on_legal_hold(w, &r, env, m);
    case HV_MSG_CASE_MESSAGE:
    case HV_MSG_MESSAGE_MARK:
        if (!from_provider)
            return hv_fail(e, HV_EFORBIDDEN, "only %s, which accepted this case, may write "
                           "about it", r.provider[0] ? r.provider : "the matched provider");
        if ((err = in_messages_open(&r, e)) != HV_OK)
            return err;
        return hv_casemsg_on_message(w, env, m, e);
    }
    return hv_fail(e, HV_EFORBIDDEN, "an intake does not take %s",
                   hv_msg_rule_get(env->type)->name);
}

/* ------------------------------------------------------- time, notices */

/* Chunks queued for one case at a time, and only when the broker has
 * taken custody of everything queued before about that case: a small
 * message from any case waits behind at most this many chunks. */
#define S_CHUNKS_PER_ROUND 2

/* Sends the next chunks of the documents of every case the provider
 * holds (after the CASE_TRANSFER; PROTOCOL.md §9.3). */
static hv_err s_send_documents(hv_worker *w)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT DISTINCT d.referral FROM attach_docs d JOIN referrals r ON "
                              "r.id = d.referral WHERE d.sent < d.chunks AND r.state IN "
                              "('transferred', 'received', 'in_progress', 'on_hold')", "");
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        in_ref r;
        if ((err = in_load(w, sqlite3_column_blob(st, 0), &r)) != HV_OK)
            break;
        if (hv_worker_outbox_waiting(w, r.id))
            continue;
        for (int i = 0; err == HV_OK && i < S_CHUNKS_PER_ROUND; i++) {
            hv_msg *m = calloc(1, sizeof *m);
            uint8_t *buf = NULL;
            if (m == NULL)
                err = HV_ENOMEM;
            else if ((err = hv_attach_next(hv_worker_db(w), hv_worker_keys(w), r.id, m,
                                           &buf)) == HV_OK)
                err = in_send(w, &r, r.provider, m, HV_TTL_MAX);
            hv_secure_free(buf);
            free(m);
        }
        if (err == HV_ENOTFOUND)
            err = HV_OK;
    }
    sqlite3_finalize(st);
    return err;
}

static hv_err s_on_tick(hv_worker *w, uint64_t now)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id FROM referrals WHERE (state = 'requested' AND "
                              "respond_by + ?1 < ?2) OR (state = 'awaiting_authorisation' AND "
                              "respond_by < ?2)",
                              "ii", (int64_t)IN_GRACE_S, (int64_t)now);
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        in_ref r;
        if ((err = in_load(w, sqlite3_column_blob(st, 0), &r)) == HV_OK)
            err = in_enter(w, &r, "expired", hv_worker_cfg(w)->id,
                          in_is(&r, "requested") ? "no answer from the router by the deadline"
                                                : "not authorised by the deadline");
    }
    sqlite3_finalize(st);
    if (err == HV_OK)
        err = in_retention(w, now);
    if (err == HV_OK)
        err = in_deadline_tick(w, now);
    if (err == HV_OK)
        err = in_drafts_expire(w, now);
    if (err == HV_OK)
        err = hv_attach_expire_uploads(hv_worker_db(w), now);
    return err == HV_OK ? s_send_documents(w) : err;
}

static hv_err s_on_notice(hv_worker *w, const hv_notice *n)
{
    if (hv_casemsg_on_notice(w, n) != HV_OK)
        return HV_ESTORE;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT referral, type, rcpt FROM sent WHERE id = ?1", "r", n->id);
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        in_ref r;
        unsigned type = (unsigned)sqlite3_column_int(st, 1);
        char rcpt[HV_NODE_ID_MAX + 1], detail[400];
        hv_sql_text(st, 2, rcpt, sizeof rcpt);
        snprintf(detail, sizeof detail, "%s to %s not delivered: %s (%s)",
                 hv_msg_rule_get(type) ? hv_msg_rule_get(type)->name : "message", rcpt, n->text,
                 hv_errname(n->code));
        if ((err = in_load(w, sqlite3_column_blob(st, 0), &r)) == HV_OK) {
            /* A request that could not be delivered ends the referral; a
             * case that could not be delivered waits for the caseworker's
             * decision (transfer_failed); a cancellation or withdrawal
             * not delivered is overdue at once, with its next step;
             * anything else is recorded for the caseworker. */
            const char *next = r.state;
            bool asked = (type == HV_MSG_WITHDRAW || type == HV_MSG_CANCEL) &&
                         (in_is(&r, "withdraw_requested") || in_is(&r, "cancel_requested"));
            if (type == HV_MSG_REFERRAL_REQUEST && in_is(&r, "requested"))
                next = n->code == HV_EEXPIRED ? "expired" : "failed";
            else if (type == HV_MSG_CASE_TRANSFER &&
                     (in_is(&r, "transferred") || in_is(&r, "accepted")))
                next = "transfer_failed";
            if (strcmp(next, "transfer_failed") == 0)
                snprintf(detail + strlen(detail), sizeof detail - strlen(detail),
                         "; next step: withdraw the referral (haven referral withdraw) and "
                         "submit it again");
            err = strcmp(next, r.state) != 0 ? in_enter(w, &r, next, rcpt, detail)
                                             : hv_history_add(w, r.id, r.state, rcpt, detail);
            if (err == HV_OK && asked)
                err = in_deadline_mark(w, &r, detail, (uint64_t)time(NULL));
        }
    }
    sqlite3_finalize(st);
    return err == HV_ENOTFOUND ? HV_OK : err;
}

static const hv_worker_app s_app = {
    .name = "haven-intake",
    .what = "The worker of a referring organisation: checks, submits and follows referrals.",
    .role = HV_ROLE_INTAKE,
    .schema = s_schema,
    .columns = s_columns,
    .indexes = s_indexes,
    .staff_roles = HV_ACTOR_BIT(HV_ACTOR_CASEWORKER) | HV_ACTOR_BIT(HV_ACTOR_SUPERVISOR) |
                   HV_ACTOR_BIT(HV_ACTOR_ADMIN),
    .command_roles = in_command_roles,
    .may_see = in_may_see,
    .on_message = s_on_message,
    .on_control = in_on_control,
    .on_tick = s_on_tick,
    .on_notice = s_on_notice,
    .metrics_states_sql = "SELECT state, count(*) FROM referrals GROUP BY state ORDER BY state",
    .metrics_overdue_sql = IN_OVERDUE_SQL,
};

int main(int argc, char **argv)
{
    return hv_worker_main(argc, argv, &s_app);
}
