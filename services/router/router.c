/* haven-router: a country's national referral pathway (DESIGN §5).
 *
 * Sees only the non-identifying summary of a referral. For the requested
 * service it walks the pathway's providers in priority order, skips those
 * that cannot take the person (region, languages, minors, places, the
 * referring organisation's withhold list) with a reason for each, offers
 * to the rest one at a time, falls through declines and offer timeouts,
 * and answers the intake with MATCH or NO_MATCH and the reasons.
 *
 * Referral states here: open → matched | no_match | expired | cancelled.
 * Each candidate: waiting → offered → accepted | declined | timed_out |
 * withdrawn; or skipped (never offered).
 *
 * Need to know (PROTOCOL.md §9.1): the withhold list is applied here and
 * sent to no provider; a decline, a cancel and a withdrawn offer carry
 * codes, and a provider's free-text decline note arrives sealed to the
 * intake, is kept as such and goes on to the intake in NO_MATCH. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_history.h"
#include "hv_db.h"
#include "hv_log.h"
#include "hv_referral.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "hv_worker.h"
#include "router.h"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS referrals (id BLOB PRIMARY KEY, intake TEXT NOT NULL,"
    "  summary BLOB NOT NULL, state TEXT NOT NULL, current TEXT NOT NULL DEFAULT '',"
    "  offer_deadline INTEGER NOT NULL DEFAULT 0, respond_by INTEGER NOT NULL,"
    "  created_s INTEGER NOT NULL, updated_s INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS candidates (referral BLOB NOT NULL, pos INTEGER NOT NULL,"
    "  provider TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',"
    "  note BLOB, PRIMARY KEY (referral, pos)) WITHOUT ROWID;"
    /* A decline stored before PROTOCOL.md §9.1 kept the provider's note in
     * its reason ("no_capacity: full until ..."): the code is kept. */
    "UPDATE candidates SET reason = substr(reason, 1, instr(reason, ':') - 1) "
    "  WHERE outcome = 'declined' AND instr(reason, ':') > 0;"
    RT_CAPACITY_SCHEMA;

/* Added since the first store format. note: a provider's decline note,
 * sealed to the intake; the router only carries it (PROTOCOL.md §9.1). */
static const hv_worker_column s_columns[] = {
    {"candidates", "note", "BLOB"},
    /* answered_ms: when its answer (or the end of the offer) came, Unix ms
     * (router_capacity.c counts the accepts after a publication came). */
    {"candidates", "answered_ms", "INTEGER NOT NULL DEFAULT 0"},
    {NULL, NULL, NULL},
};

/* One referral row. */
typedef struct s_ref {
    uint8_t id[16];                   /* referral id */
    char intake[HV_NODE_ID_MAX + 1];  /* who asked */
    char state[16];                   /* open, matched, ... */
    char current[HV_NODE_ID_MAX + 1]; /* provider holding the offer, or "" */
    uint64_t offer_deadline;          /* Unix seconds */
    uint64_t respond_by;              /* Unix seconds */
    hv_msg *req;                      /* the request with its summary (owned) */
} s_ref;

static void s_ref_free(s_ref *r)
{
    free(r->req);
    r->req = NULL;
}

static hv_err s_load(hv_worker *w, const uint8_t id[16], s_ref *r)
{
    memset(r, 0, sizeof *r);
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT intake, summary, state, current, offer_deadline, "
                              "respond_by FROM referrals WHERE id = ?1",
                              "r", id);
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    hv_err err = rc == SQLITE_ROW ? HV_OK : rc == SQLITE_DONE ? HV_ENOTFOUND : HV_ESTORE;
    if (err == HV_OK) {
        memcpy(r->id, id, 16);
        hv_sql_text(st, 0, r->intake, sizeof r->intake);
        hv_sql_text(st, 2, r->state, sizeof r->state);
        hv_sql_text(st, 3, r->current, sizeof r->current);
        r->offer_deadline = (uint64_t)sqlite3_column_int64(st, 4);
        r->respond_by = (uint64_t)sqlite3_column_int64(st, 5);
        r->req = calloc(1, sizeof *r->req);
        if (r->req == NULL)
            err = HV_ENOMEM;
        else if (hv_msg_decode(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                               HV_MSG_REFERRAL_REQUEST, r->req) != HV_OK)
            err = HV_ESTORE;
    }
    sqlite3_finalize(st);
    if (err != HV_OK)
        s_ref_free(r);
    return err;
}

static hv_err s_set(hv_worker *w, s_ref *r, const char *state, const char *current,
                    uint64_t offer_deadline, const char *actor, const char *detail)
{
    hv_err err = hv_sql_exec(hv_worker_db(w),
                             "UPDATE referrals SET state = ?2, current = ?3, offer_deadline = ?4,"
                             " updated_s = ?5 WHERE id = ?1",
                             "rttii", r->id, state, current, (int64_t)offer_deadline,
                             (int64_t)time(NULL));
    if (err == HV_OK && strcmp(state, r->state) != 0)
        err = hv_history_add(w, r->id, state, actor, detail);
    if (err == HV_OK) {
        char ref[33];
        hv_ref_hex(r->id, ref);
        hv_log(HV_LOG_INFO, "referral_state", "referral=%s state=%s current=%s", ref, state,
               current[0] ? current : "-");
        snprintf(r->state, sizeof r->state, "%s", state);
        snprintf(r->current, sizeof r->current, "%s", current);
        r->offer_deadline = offer_deadline;
    }
    return err;
}

static hv_err s_candidate(hv_worker *w, const s_ref *r, const char *provider,
                          const char *outcome, const char *reason)
{
    return hv_sql_exec(hv_worker_db(w),
                       "UPDATE candidates SET outcome = ?3, reason = ?4, answered_ms = CASE WHEN "
                       "?3 = 'offered' THEN 0 ELSE ?5 END WHERE referral = ?1 AND provider = ?2 "
                       "AND outcome IN ('waiting', 'offered')",
                       "rttti", r->id, provider, outcome, reason, hv_now_ms());
}

/* Tells the intake what happened to an offer (PROGRESS, PROTOCOL.md
 * §9 "PROGRESS"): the event, the provider, a code; nothing the provider wrote. */
static hv_err s_progress(hv_worker *w, const s_ref *r, const char *event, const char *provider,
                         const char *reason, uint64_t respond_by)
{
    hv_msg *m = calloc(1, sizeof *m);
    if (m == NULL)
        return HV_ENOMEM;
    m->type = HV_MSG_PROGRESS;
    snprintf(m->code, sizeof m->code, "%s", event);
    snprintf(m->node, sizeof m->node, "%s", provider);
    snprintf(m->reason, sizeof m->reason, "%s", reason);
    m->at = (uint64_t)time(NULL);
    m->respond_by = respond_by;
    hv_err err = hv_worker_send(w, r->intake, r->id, m, HV_TTL_MAX, NULL);
    free(m);
    return err;
}

/* ------------------------------------------------------------- pathway */

/* Splits a [pathway] line into node ids; returns how many (at most max). */
static size_t s_split(const char *line, char out[][HV_NODE_ID_MAX + 1], size_t max)
{
    size_t n = 0;
    const char *p = line;
    while (*p && n < max) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        size_t len = strcspn(p, ", \t");
        if (len == 0)
            break;
        snprintf(out[n++], HV_NODE_ID_MAX + 1, "%.*s", (int)len, p);
        p += len;
    }
    return n;
}

#define S_PATH_MAX 32 /* providers per service in a pathway */

/* Offers pending with `provider` (all of them, for pathway.show). */
static int64_t s_pending(hv_worker *w, const char *provider)
{
    int64_t n = 0;
    if (hv_sql_int(hv_worker_db(w), &n,
                   "SELECT count(*) FROM candidates WHERE provider = ?1 AND outcome = 'offered'",
                   "t", provider) != HV_OK)
        n = 0;
    return n;
}

static bool s_speaks(const hv_node *p, const hv_summary *s)
{
    for (unsigned i = 0; i < s->n_languages; i++)
        for (unsigned k = 0; k < p->n_languages; k++)
            if (strcmp(s->languages[i], p->languages[k]) == 0)
                return true;
    return (p->services & (1u << HV_SVC_INTERPRETATION)) != 0;
}

/* Why provider `id` cannot take this referral, or NULL when it can. */
static const char *s_unfit(hv_worker *w, const char *id, const hv_summary *s, char *buf,
                           size_t cap)
{
    const hv_node *p = hv_registry_find(hv_worker_registry(w), id);
    if (p == NULL || p->role != HV_ROLE_PROVIDER || !hv_node_active(p, (uint64_t)time(NULL)))
        return "not an active provider in the registry";
    if (strcmp(p->country, hv_worker_self(w)->country) != 0)
        return "not in this country";
    if (!(p->services & (1u << s->service)))
        return "does not offer this service";
    for (unsigned i = 0; i < s->n_exclude; i++)
        if (strcmp(s->exclude[i], id) == 0)
            return "withheld by the referring organisation";
    /* A group (issue 21) is placed together: a child among them is a
     * minor for this provider as much as a child referred alone. */
    bool minors = s->minor;
    for (unsigned i = 0; i < s->n_bands; i++)
        minors = minors || s->bands[i] <= HV_AGE_12_17;
    if (minors && !p->accepts_minors)
        return s->people > 1 ? "does not take minors (the group has a child)"
                             : "does not take minors";
    if (s->region[0] != '\0') {
        bool serves = false;
        for (unsigned i = 0; i < p->n_regions && !serves; i++)
            serves = strcmp(p->regions[i], s->region) == 0;
        if (!serves) {
            snprintf(buf, cap, "does not serve %s", s->region);
            return buf;
        }
    }
    if (!s_speaks(p, s))
        return "speaks none of the person's languages and offers no interpretation";
    rt_places x;
    int64_t free_places = rt_free_places(w, p, &x);
    if (s->people > 1 && free_places < (int64_t)s->people) {
        /* Keep together: places for every person of the group, or none. */
        const char *by = strcmp(x.basis, "published") == 0  ? "as it published"
                         : strcmp(x.basis, "declined") == 0 ? "since its no_capacity decline"
                                                            : "by the registry's capacity";
        snprintf(buf, cap, "no places for a group of %u (%lld free %s)", s->people,
                 (long long)free_places, by);
        return buf;
    }
    if (free_places < 1) {
        if (strcmp(x.basis, "published") == 0)
            snprintf(buf, cap, "no open places (%lld free as published with %lld offers "
                     "pending, %lld now)", (long long)x.published_free,
                     (long long)x.published_pending, (long long)x.pending);
        else if (strcmp(x.basis, "declined") == 0)
            snprintf(buf, cap, "no open places (declined no_capacity, none published since)");
        else
            snprintf(buf, cap, "no open places (%lld offers pending, capacity %u)",
                     (long long)x.pending, p->capacity);
        return buf;
    }
    return NULL;
}

/* ------------------------------------------------------------ the flow */

static hv_err s_reply(hv_worker *w, const s_ref *r, const hv_msg *m)
{
    return hv_worker_send(w, r->intake, r->id, m, HV_TTL_MAX, NULL);
}

static hv_err s_no_match(hv_worker *w, s_ref *r)
{
    hv_msg *m = calloc(1, sizeof *m);
    uint8_t(*notes)[HV_NOTE_SEALED_MAX] = calloc(HV_REASONS_MAX, sizeof *notes);
    if (m == NULL || notes == NULL) {
        free(m);
        free(notes);
        return HV_ENOMEM;
    }
    m->type = HV_MSG_NO_MATCH;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT provider, outcome, reason, note FROM candidates WHERE "
                              "referral = ?1 ORDER BY pos",
                              "r", r->id);
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW && m->n_reasons < HV_REASONS_MAX) {
        /* The sealed decline note goes on as it came. */
        size_t note_len = (size_t)sqlite3_column_bytes(st, 3);
        if (note_len > 0 && note_len <= HV_NOTE_SEALED_MAX) {
            memcpy(notes[m->n_reasons], sqlite3_column_blob(st, 3), note_len);
            m->reasons[m->n_reasons].note = notes[m->n_reasons];
            m->reasons[m->n_reasons].note_len = note_len;
        }
        hv_reason *x = &m->reasons[m->n_reasons++];
        char outcome[16], reason[HV_REASON_TEXT_MAX - 16];
        hv_sql_text(st, 0, x->node, sizeof x->node);
        hv_sql_text(st, 1, outcome, sizeof outcome);
        hv_sql_text(st, 2, reason, sizeof reason);
        snprintf(x->text, sizeof x->text, "%s%s%s", strcmp(outcome, "skipped") ? outcome : "",
                 strcmp(outcome, "skipped") && reason[0] ? ": " : "", reason);
    }
    sqlite3_finalize(st);
    if (m->n_reasons == 0) {
        snprintf(m->reasons[0].text, sizeof m->reasons[0].text,
                 "the pathway lists no provider for %s", hv_service_name(r->req->summary.service));
        m->n_reasons = 1;
    }
    hv_err err = s_reply(w, r, m);
    free(m);
    free(notes);
    if (err == HV_OK)
        err = s_set(w, r, "no_match", "", 0, hv_worker_cfg(w)->id, "no provider could take it");
    return err;
}

/* Offers to the next waiting candidate, or answers NO_MATCH. */
static hv_err s_advance(hv_worker *w, s_ref *r, uint64_t now)
{
    char provider[HV_NODE_ID_MAX + 1] = "";
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT provider FROM candidates WHERE referral = ?1 AND "
                              "outcome = 'waiting' ORDER BY pos",
                              "r", r->id);
    if (st == NULL)
        return HV_ESTORE;
    char buf[HV_REASON_TEXT_MAX + 1];
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        char id[HV_NODE_ID_MAX + 1];
        hv_sql_text(st, 0, id, sizeof id);
        /* Fitness is judged again at offer time: places and the registry
         * may have changed since the request came. */
        const char *why = s_unfit(w, id, &r->req->summary, buf, sizeof buf);
        if (why == NULL) {
            snprintf(provider, sizeof provider, "%s", id);
            break;
        }
        err = s_candidate(w, r, id, "skipped", why);
    }
    sqlite3_finalize(st);
    if (err != HV_OK)
        return err;
    if (provider[0] == '\0')
        return s_no_match(w, r);
    uint64_t deadline = now + hv_worker_cfg(w)->offer_timeout_s;
    if (deadline > r->respond_by)
        deadline = r->respond_by;
    hv_msg *m = calloc(1, sizeof *m);
    if (m == NULL)
        return HV_ENOMEM;
    m->type = HV_MSG_OFFER;
    m->summary = r->req->summary;
    /* Applied above (s_unfit); the list itself is a risk signal about the
     * person and goes to no provider. */
    m->summary.n_exclude = 0;
    snprintf(m->node, sizeof m->node, "%s", r->intake);
    m->at = deadline;
    err = hv_worker_send(w, provider, r->id, m, (uint32_t)(deadline - now + 3600), NULL);
    free(m);
    if (err == HV_OK)
        err = s_candidate(w, r, provider, "offered", "");
    if (err == HV_OK)
        err = s_set(w, r, "open", provider, deadline, hv_worker_cfg(w)->id, "");
    if (err == HV_OK)
        err = hv_history_add(w, r->id, "offered", provider, "");
    if (err == HV_OK)
        err = s_progress(w, r, "offered", provider, "", deadline);
    return err;
}

static hv_err s_on_request(hv_worker *w, const hv_envelope *env, const hv_msg *m, hv_errmsg *e)
{
    const hv_summary *s = &m->summary;
    uint64_t now = (uint64_t)time(NULL);
    if (strcmp(s->country, hv_worker_self(w)->country) != 0)
        return hv_fail(e, HV_EUNROUTABLE, "this router serves %s, not %s",
                       hv_worker_self(w)->country, s->country);
    int64_t known = 0;
    hv_err err = hv_sql_int(hv_worker_db(w), &known,
                            "SELECT count(*) FROM referrals WHERE id = ?1", "r", env->referral);
    if (err != HV_OK)
        return err;
    if (known > 0)
        return hv_fail(e, HV_EEXIST, "this referral was already requested");
    uint8_t *body = NULL;
    size_t len = 0;
    if ((err = hv_msg_encode(m, &body, &len)) != HV_OK)
        return err;
    err = hv_sql_exec(hv_worker_db(w),
                      "INSERT INTO referrals (id, intake, summary, state, respond_by, created_s,"
                      " updated_s) VALUES (?1, ?2, ?3, 'received', ?4, ?5, ?5)",
                      "rtxii", env->referral, env->from, body, len, (int64_t)s->respond_by,
                      (int64_t)now);
    free(body);
    if (err != HV_OK)
        return err;
    char names[S_PATH_MAX][HV_NODE_ID_MAX + 1];
    size_t n = s_split(hv_worker_cfg(w)->pathway[s->service], names, S_PATH_MAX);
    for (size_t i = 0; err == HV_OK && i < n; i++)
        err = hv_sql_exec(hv_worker_db(w),
                          "INSERT OR IGNORE INTO candidates (referral, pos, provider, outcome) "
                          "VALUES (?1, ?2, ?3, 'waiting')",
                          "rit", env->referral, (int64_t)i, names[i]);
    s_ref r;
    if (err == HV_OK && (err = s_load(w, env->referral, &r)) == HV_OK) {
        err = hv_history_add(w, r.id, "received", env->from, "");
        if (err == HV_OK && s->respond_by <= now) {
            hv_msg x = {.type = HV_MSG_REFERRAL_EXPIRED};
            snprintf(x.text, sizeof x.text, "the request arrived after its respond-by time");
            if ((err = s_reply(w, &r, &x)) == HV_OK)
                err = s_set(w, &r, "expired", "", 0, hv_worker_cfg(w)->id, x.text);
        } else if (err == HV_OK) {
            err = s_advance(w, &r, now);
        }
        s_ref_free(&r);
    }
    return err;
}

static hv_err s_on_answer(hv_worker *w, s_ref *r, const hv_envelope *env, const hv_msg *m,
                          hv_errmsg *e)
{
    /* PROTOCOL §9: the wrong party (a provider never offered it) is
     * HV_EFORBIDDEN; the wrong moment (an offer closed, timed out or
     * answered already) HV_EPROTO. */
    int64_t offered = 0;
    if (hv_sql_int(hv_worker_db(w), &offered,
                   "SELECT count(*) FROM candidates WHERE referral = ?1 AND provider = ?2 AND "
                   "outcome NOT IN ('waiting', 'skipped')",
                   "rt", r->id, env->from) != HV_OK)
        return hv_fail(e, HV_ESTORE, "cannot read the referral's candidates");
    if (offered == 0)
        return hv_fail(e, HV_EFORBIDDEN, "%s was never offered this referral", env->from);
    if (strcmp(r->state, "open") != 0 || strcmp(r->current, env->from) != 0)
        return hv_fail(e, HV_EPROTO, "%s holds no open offer for this referral (it is %s)",
                       env->from, r->state);
    if (env->type == HV_MSG_DECLINE) {
        /* The code is the router's to know; the note is sealed to the
         * intake and kept only as such, for NO_MATCH. */
        hv_err err = s_candidate(w, r, env->from, "declined", m->code);
        if (err == HV_OK && m->sealed_len > 0)
            err = hv_sql_exec(hv_worker_db(w),
                              "UPDATE candidates SET note = ?3 WHERE referral = ?1 AND "
                              "provider = ?2",
                              "rtx", r->id, env->from, m->sealed, m->sealed_len);
        if (err == HV_OK)
            err = hv_history_add(w, r->id, "declined", env->from, m->code);
        /* Its word on its places stands until it publishes again. */
        if (err == HV_OK && strcmp(m->code, "no_capacity") == 0)
            err = rt_capacity_declined(w, env->from);
        if (err == HV_OK)
            err = s_progress(w, r, "declined", env->from, m->code, 0);
        if (err == HV_OK)
            err = s_set(w, r, "open", "", 0, env->from, "");
        return err == HV_OK ? s_advance(w, r, (uint64_t)time(NULL)) : err;
    }
    hv_msg match = {.type = HV_MSG_MATCH};
    snprintf(match.node, sizeof match.node, "%s", env->from);
    hv_err err = s_candidate(w, r, env->from, "accepted", "");
    if (err == HV_OK)
        err = s_reply(w, r, &match);
    if (err == HV_OK)
        err = s_set(w, r, "matched", env->from, 0, env->from, "accepted the offer");
    return err;
}

/* Withdraws the open offer, telling its provider by `code` (one of
 * hv_withdrawn_codes); `why` is the router's own words for its records. */
static hv_err s_withdraw_offer(hv_worker *w, s_ref *r, const char *outcome, const char *code,
                               const char *why)
{
    if (r->current[0] == '\0')
        return HV_OK;
    hv_msg m = {.type = HV_MSG_OFFER_WITHDRAWN};
    snprintf(m.code, sizeof m.code, "%s", code);
    hv_err err = hv_worker_send(w, r->current, r->id, &m, HV_TTL_MAX, NULL);
    if (err == HV_OK)
        err = s_candidate(w, r, r->current, outcome, why);
    if (err == HV_OK)
        err = hv_history_add(w, r->id, outcome, r->current, why);
    if (err == HV_OK)
        err = strcmp(outcome, "timed_out") == 0
                  ? s_progress(w, r, "not_answered", r->current, "", 0)
                  : s_progress(w, r, "withdrawn_offer", r->current, code, 0);
    return err;
}

static hv_err s_on_cancel(hv_worker *w, s_ref *r, const hv_envelope *env, const hv_msg *m,
                          hv_errmsg *e)
{
    if (strcmp(env->from, r->intake) != 0)
        return hv_fail(e, HV_EFORBIDDEN, "only %s may cancel this referral", r->intake);
    /* PROTOCOL §9.1: why a referral is cancelled may say much about the
     * person; the router is told a code and nothing more. */
    if (m->text[0] != '\0')
        return hv_fail(e, HV_EINVAL, "a cancel to the router carries a reason code only");
    hv_err err = HV_OK;
    if (strcmp(r->state, "open") == 0 || strcmp(r->state, "matched") == 0)
        err = s_withdraw_offer(w, r, "withdrawn", "cancelled",
                               "the referring organisation cancelled");
    hv_msg ok = {.type = HV_MSG_CANCELLED};
    snprintf(ok.text, sizeof ok.text, "cancelled at the router");
    if (err == HV_OK)
        err = s_reply(w, r, &ok);
    if (err == HV_OK && strcmp(r->state, "cancelled") != 0)
        err = s_set(w, r, "cancelled", "", 0, env->from, m->code);
    return err;
}

static hv_err s_on_message(hv_worker *w, const hv_envelope *env, const hv_msg *m, hv_errmsg *e)
{
    if (env->type == HV_MSG_REFERRAL_REQUEST)
        return s_on_request(w, env, m, e);
    if (env->type == HV_MSG_CAPACITY) /* about no referral */
        return rt_capacity_on_message(w, env, m, e);
    s_ref r;
    hv_err err = s_load(w, env->referral, &r);
    if (err == HV_ENOTFOUND)
        return hv_fail(e, HV_ENOTFOUND, "this router holds no such referral");
    if (err != HV_OK)
        return err;
    switch (env->type) {
    case HV_MSG_ACCEPT:
    case HV_MSG_DECLINE:
        err = s_on_answer(w, &r, env, m, e);
        break;
    case HV_MSG_CANCEL:
        err = s_on_cancel(w, &r, env, m, e);
        break;
    default:
        err = hv_fail(e, HV_EFORBIDDEN, "a router does not take %s",
                      hv_msg_rule_get(env->type)->name);
    }
    s_ref_free(&r);
    return err;
}

/* -------------------------------------------------------------- deadlines */

static hv_err s_on_tick(hv_worker *w, uint64_t now)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id FROM referrals WHERE state = 'open' AND "
                              "(offer_deadline <= ?1 OR respond_by <= ?1)",
                              "i", (int64_t)now);
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        s_ref r;
        if ((err = s_load(w, sqlite3_column_blob(st, 0), &r)) != HV_OK)
            break;
        if (r.respond_by <= now) {
            hv_msg x = {.type = HV_MSG_REFERRAL_EXPIRED};
            snprintf(x.text, sizeof x.text, "no provider accepted by the respond-by time");
            err = s_withdraw_offer(w, &r, "withdrawn", "deadline_passed",
                                   "the referral's deadline passed");
            if (err == HV_OK)
                err = s_reply(w, &r, &x);
            if (err == HV_OK)
                err = s_set(w, &r, "expired", "", 0, hv_worker_cfg(w)->id, x.text);
        } else {
            err = s_withdraw_offer(w, &r, "timed_out", "timed_out",
                                   "no answer by the offer's deadline");
            if (err == HV_OK)
                err = s_set(w, &r, "open", "", 0, hv_worker_cfg(w)->id, "");
            if (err == HV_OK)
                err = s_advance(w, &r, now);
        }
        s_ref_free(&r);
    }
    sqlite3_finalize(st);
    return err;
}

static hv_err s_on_notice(hv_worker *w, const hv_notice *n)
{
    (void)w;
    (void)n; /* logged by the shell; an undelivered offer times out by itself */
    return HV_OK;
}

/* -------------------------------------------------------------- control */

static json_t *s_provider_json(hv_worker *w, const char *id)
{
    const hv_node *p = hv_registry_find(hv_worker_registry(w), id);
    if (p == NULL)
        return json_pack("{s:s, s:b}", "id", id, "registered", 0);
    json_t *regions = json_array(), *langs = json_array(), *svcs = json_array();
    for (unsigned i = 0; i < p->n_regions; i++)
        json_array_append_new(regions, json_string(p->regions[i]));
    for (unsigned i = 0; i < p->n_languages; i++)
        json_array_append_new(langs, json_string(p->languages[i]));
    for (unsigned i = 0; i < HV_SVC_COUNT; i++)
        if (p->services & (1u << i))
            json_array_append_new(svcs, json_string(hv_service_name(i)));
    /* Places still open, as offering counts them (router_capacity.c). */
    int64_t pending = s_pending(w, id);
    int64_t open = rt_free_places(w, p, NULL);
    return json_pack("{s:s, s:b, s:s, s:o, s:o, s:o, s:b, s:i, s:I, s:I, s:b, s:o}", "id", id,
                     "registered", 1, "organisation", p->organisation, "services", svcs,
                     "regions", regions, "languages", langs, "accepts_minors", p->accepts_minors,
                     "capacity", (int)p->capacity, "offers_pending", (json_int_t)pending,
                     "places_open", (json_int_t)open, "active",
                     hv_node_active(p, (uint64_t)time(NULL)), "places",
                     rt_capacity_json(w, id));
}

static hv_err s_show(hv_worker *w, json_t **result, char **text)
{
    json_t *pathway = json_object();
    hv_strcat(text, "pathway of %s (%s)\n", hv_worker_cfg(w)->id, hv_worker_self(w)->country);
    for (unsigned svc = 0; svc < HV_SVC_COUNT; svc++) {
        char names[S_PATH_MAX][HV_NODE_ID_MAX + 1];
        size_t n = s_split(hv_worker_cfg(w)->pathway[svc], names, S_PATH_MAX);
        if (n == 0)
            continue;
        json_t *list = json_array();
        hv_strcat(text, "  %s:\n", hv_service_name(svc));
        for (size_t i = 0; i < n; i++) {
            json_t *p = s_provider_json(w, names[i]);
            json_array_append_new(list, p);
            const hv_node *node = hv_registry_find(hv_worker_registry(w), names[i]);
            char places[128] = "";
            if (node != NULL)
                rt_capacity_text(w, node, places, sizeof places);
            hv_strcat(text, "    %zu. %-14s %s, capacity %u, %lld pending%s%s\n", i + 1, names[i],
                      node ? node->organisation : "(not in the registry)",
                      node ? node->capacity : 0, (long long)s_pending(w, names[i]), places,
                      node && node->accepts_minors ? ", takes minors" : "");
        }
        json_object_set_new(pathway, hv_service_name(svc), list);
    }
    json_t *refs = json_array(), *open = json_array();
    sqlite3_stmt *st = hv_sql(hv_worker_db(w), "SELECT id FROM referrals ORDER BY created_s", "");
    hv_strcat(text, "referrals:\n");
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        s_ref r;
        if (s_load(w, sqlite3_column_blob(st, 0), &r) != HV_OK)
            continue;
        char ref[33];
        hv_ref_hex(r.id, ref);
        char respond_by[21], answer_by[21];
        hv_time_format(r.respond_by, respond_by);
        hv_time_format(r.offer_deadline, answer_by);
        /* answer_by: when the provider holding the offer must answer. */
        json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", ref, "intake", r.intake,
                                "state", r.state, "current", r.current, "respond_by",
                                respond_by, "summary", hv_summary_json(&r.req->summary));
        bool offered = strcmp(r.state, "open") == 0 && r.current[0] != '\0' &&
                       r.offer_deadline != 0;
        json_object_set_new(row, "answer_by", offered ? json_string(answer_by) : json_null());
        json_array_append_new(refs, row);
        if (offered)
            json_array_append_new(open, json_pack("{s:s, s:s, s:s, s:s, s:s}", "referral", ref,
                                                  "provider", r.current, "service",
                                                  hv_service_name(r.req->summary.service),
                                                  "answer_by", answer_by, "respond_by",
                                                  respond_by));
        hv_strcat(text, "  %s  %-9s %-14s from %s%s%s\n", ref, r.state,
                  hv_service_name(r.req->summary.service), r.intake,
                  r.current[0] ? ", offer with " : "", r.current);
        s_ref_free(&r);
    }
    sqlite3_finalize(st);
    *result = json_pack("{s:s, s:s, s:o, s:o, s:o}", "router", hv_worker_cfg(w)->id, "country",
                        hv_worker_self(w)->country, "pathway", pathway, "referrals", refs,
                        "open_offers", open);
    return HV_OK;
}

/* The role table (the shell enforces it): a coordinator sees the pathway
 * and the open offers, which hold no content; an admin none of it. */
static const struct s_command {
    const char *name; /* the command */
    unsigned roles;   /* who may run it (HV_ACTOR_BIT) */
} s_commands[] = {
    {"pathway.show", HV_ACTOR_BIT(HV_ACTOR_HOST) | HV_ACTOR_BIT(HV_ACTOR_COORDINATOR)},
    {"events.wait", HV_ACTOR_BIT(HV_ACTOR_HOST) | HV_ACTOR_BIT(HV_ACTOR_COORDINATOR)},
};

static unsigned s_command_roles(const char *cmd)
{
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(s_commands[i].name, cmd) == 0)
            return s_commands[i].roles;
    return 0;
}

static bool s_may_see(hv_worker *w, const hv_actor *a, const uint8_t referral[16])
{
    (void)w;
    (void)referral;
    return a->role != HV_ACTOR_ADMIN;
}

static hv_err s_on_control(hv_worker *w, const hv_actor *a, const char *cmd, json_t *args,
                           json_t **result, char **text, hv_errmsg *e)
{
    (void)args;
    (void)a; /* s_commands let it in */
    if (strcmp(cmd, "pathway.show") == 0)
        return s_show(w, result, text);
    return hv_fail(e, HV_EINVAL, "a router does not know the command '%s'", cmd);
}

static const hv_worker_app s_app = {
    .name = "haven-router",
    .what = "The worker of a national referral pathway: offers a referral along it.",
    .role = HV_ROLE_ROUTER,
    .schema = s_schema,
    .columns = s_columns,
    .on_message = s_on_message,
    .staff_roles = HV_ACTOR_BIT(HV_ACTOR_COORDINATOR) | HV_ACTOR_BIT(HV_ACTOR_ADMIN),
    .command_roles = s_command_roles,
    .may_see = s_may_see,
    .on_control = s_on_control,
    .on_tick = s_on_tick,
    .on_notice = s_on_notice,
    .metrics_states_sql = "SELECT state, count(*) FROM referrals GROUP BY state ORDER BY state",
    /* An offer waits while its candidate is 'offered'; the referral holds
     * when the provider's answer is due. */
    .metrics_offers_sql = "SELECT count(*), min(r.offer_deadline) FROM candidates c JOIN "
                          "referrals r ON r.id = c.referral WHERE c.outcome = 'offered'",
};

int main(int argc, char **argv)
{
    return hv_worker_main(argc, argv, &s_app);
}
