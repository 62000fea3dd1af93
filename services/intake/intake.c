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
 * cancel_requested → cancelled; withdraw_requested → withdrawn. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_history.h"
#include "hv_log.h"
#include "hv_referral.h"
#include "hv_sql.h"
#include "hv_vault.h"
#include "hv_worker.h"

/* How long after respond_by the intake waits for the router's own word. */
#define S_GRACE_S 300

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS referrals (id BLOB PRIMARY KEY, state TEXT NOT NULL,"
    "  service INTEGER NOT NULL, country TEXT NOT NULL, router TEXT NOT NULL,"
    "  provider TEXT NOT NULL DEFAULT '', created_s INTEGER NOT NULL,"
    "  respond_by INTEGER NOT NULL, updated_s INTEGER NOT NULL, case_hash BLOB)"
    "  WITHOUT ROWID;"
    /* Which referral each message we sent belongs to, for broker notices. */
    "CREATE TABLE IF NOT EXISTS sent (id BLOB PRIMARY KEY, referral BLOB NOT NULL,"
    "  type INTEGER NOT NULL, rcpt TEXT NOT NULL) WITHOUT ROWID;";

/* One referral row. */
typedef struct s_ref {
    uint8_t id[16];                     /* referral id */
    char state[24];                     /* current state */
    unsigned service;                   /* hv_service requested */
    char country[3];                    /* destination */
    char router[HV_NODE_ID_MAX + 1];    /* the router asked */
    char provider[HV_NODE_ID_MAX + 1];  /* the matched provider, or "" */
    uint64_t created, respond_by, updated; /* Unix seconds */
    uint8_t case_hash[32];              /* BLAKE2b-256 of the case sent */
} s_ref;

static hv_err s_load(hv_worker *w, const uint8_t id[16], s_ref *r)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT state, service, country, router, provider, created_s, "
                              "respond_by, updated_s, case_hash FROM referrals WHERE id = ?1",
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
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? HV_OK : rc == SQLITE_DONE ? HV_ENOTFOUND : HV_ESTORE;
}

/* Moves the referral to `state` and records why. */
static hv_err s_enter(hv_worker *w, s_ref *r, const char *state, const char *actor,
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

static bool s_is(const s_ref *r, const char *state) { return strcmp(r->state, state) == 0; }

static bool s_terminal(const s_ref *r)
{
    static const char *const final[] = {"completed", "failed", "no_match", "expired",
                                        "cancelled", "withdrawn", NULL};
    for (int i = 0; final[i]; i++)
        if (s_is(r, final[i]))
            return true;
    return false;
}

/* Sends `m` about `r` and remembers which referral the message id belongs
 * to, so that a broker notice about it can be put in the right history.
 * A request lives until its respond_by; everything later lives the
 * protocol's maximum, since a status may come weeks after the match. */
static hv_err s_send(hv_worker *w, const s_ref *r, const char *to, const hv_msg *m,
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

/* ------------------------------------------------------------- submit */

static const hv_node *s_router_for(hv_worker *w, const char *country)
{
    const hv_registry *reg = hv_worker_registry(w);
    uint64_t now = (uint64_t)time(NULL);
    for (size_t i = 0; i < hv_registry_count(reg); i++) {
        const hv_node *n = hv_registry_node(reg, i);
        if (n->role == HV_ROLE_ROUTER && strcmp(n->country, country) == 0 &&
            hv_node_active(n, now))
            return n;
    }
    return NULL;
}

static json_t *s_errors_json(const hv_referral_check *c)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < c->n_errors; i++) {
        const hv_referral_error *e = &c->errors[i];
        json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:s}", "path", e->path, "line",
                                              (int)e->line, "column", (int)e->col, "message",
                                              e->text));
    }
    return json_pack("{s:o, s:I}", "errors", list, "more", (json_int_t)c->n_more);
}

static hv_err s_submit(hv_worker *w, json_t *args, json_t **result, char **text, hv_errmsg *e)
{
    const char *case_text = json_string_value(json_object_get(args, "case"));
    if (case_text == NULL)
        return hv_fail(e, HV_EINVAL, "\"case\" (the referral file's text) is required");
    size_t case_len = json_string_length(json_object_get(args, "case"));
    uint64_t now = (uint64_t)time(NULL);
    hv_referral_check *c = calloc(1, sizeof *c);
    if (c == NULL)
        return HV_ENOMEM;
    hv_err err = hv_referral_check_text(case_text, case_len, now, c);
    if (err != HV_OK) {
        *result = s_errors_json(c);
        size_t n = c->n_errors + c->n_more;
        free(c);
        return hv_fail(e, err, "the referral file has %zu error%s; nothing was sent", n,
                       n == 1 ? "" : "s");
    }
    s_ref r;
    memset(&r, 0, sizeof r);
    const hv_node *router = s_router_for(w, c->summary.country);
    if (router == NULL) {
        err = hv_fail(e, HV_EUNROUTABLE, "no referral router for country %s in the registry",
                      c->summary.country);
        free(c);
        return err;
    }
    hv_random(r.id, 16);
    snprintf(r.state, sizeof r.state, "new");
    r.service = c->summary.service;
    memcpy(r.country, c->summary.country, 3);
    snprintf(r.router, sizeof r.router, "%s", router->id);
    r.created = now;
    r.respond_by = c->summary.respond_by;
    hv_msg *m = calloc(1, sizeof *m);
    if (m == NULL) {
        free(c);
        return HV_ENOMEM;
    }
    m->type = HV_MSG_REFERRAL_REQUEST;
    m->summary = c->summary;
    uint64_t ttl = r.respond_by - now;
    if ((err = hv_vault_put(hv_worker_db(w), hv_worker_keys(w), r.id,
                            (const uint8_t *)case_text, case_len)) == HV_OK &&
        (err = hv_sql_exec(hv_worker_db(w),
                           "INSERT INTO referrals (id, state, service, country, router, "
                           "created_s, respond_by, updated_s) VALUES (?1, 'new', ?2, ?3, ?4, "
                           "?5, ?6, ?5)",
                           "rittii", r.id, (int64_t)r.service, r.country, r.router,
                           (int64_t)now, (int64_t)r.respond_by)) == HV_OK &&
        (err = s_send(w, &r, router->id, m, ttl > HV_TTL_MAX ? HV_TTL_MAX : (uint32_t)ttl)) ==
            HV_OK)
        err = s_enter(w, &r, "requested", hv_worker_cfg(w)->id, "summary sent to the router");
    free(m);
    free(c);
    if (err != HV_OK)
        return err;
    char ref[33], by[24];
    hv_ref_hex(r.id, ref);
    hv_time_human(r.respond_by, by);
    *result = json_pack("{s:s, s:s, s:s, s:s}", "id", ref, "state", r.state, "router",
                        r.router, "country", r.country);
    hv_strcat(text, "referral %s submitted\n  the summary went to %s (%s); an answer is due "
              "by %s\n  the case stays here, encrypted, until a provider accepts\n",
              ref, r.router, r.country, by);
    return HV_OK;
}

/* ------------------------------------------------------------ messages */

static hv_err s_wrong(hv_errmsg *e, const s_ref *r, const hv_envelope *env)
{
    return hv_fail(e, HV_EPROTO, "referral is %s; %s from %s is not expected now", r->state,
                   hv_msg_rule_get(env->type)->name, env->from);
}

/* The matched provider must be one this case may go to: a registered
 * provider of the requested service in the destination country, not one
 * the person must be kept away from, and covered by their consent. */
static hv_err s_check_match(hv_worker *w, const s_ref *r, const char *provider,
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

static hv_err s_on_match(hv_worker *w, s_ref *r, const hv_envelope *env, const hv_msg *m,
                         hv_errmsg *e)
{
    uint8_t *case_text = NULL;
    size_t case_len = 0;
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
        snprintf(out->text, sizeof out->text, "match refused by the intake: %s", why.text);
        if ((err = s_send(w, r, r->router, out, HV_TTL_MAX)) == HV_OK)
            err = s_enter(w, r, "failed", env->from, out->text);
        goto done;
    }
    char detail[HV_NODE_ID_MAX + 32];
    snprintf(detail, sizeof detail, "matched with %s", m->node);
    if ((err = s_enter(w, r, "accepted", env->from, detail)) != HV_OK)
        goto done;
    out->type = HV_MSG_CASE_TRANSFER;
    out->case_json = (const char *)case_text;
    out->case_len = case_len;
    hv_hash256(case_text, case_len, r->case_hash);
    if ((err = s_send(w, r, m->node, out, HV_TTL_MAX)) == HV_OK &&
        (err = hv_sql_exec(hv_worker_db(w), "UPDATE referrals SET case_hash = ?2 WHERE id = ?1",
                           "rx", r->id, r->case_hash, (size_t)32)) == HV_OK)
        err = s_enter(w, r, "transferred", hv_worker_cfg(w)->id,
                      "case sent end to end to the provider");
done:
    hv_secure_free(case_text);
    free(c);
    free(out);
    return err;
}

static bool s_status_allowed(const s_ref *r, const char *to)
{
    if (!(s_is(r, "received") || s_is(r, "in_progress") || s_is(r, "on_hold")))
        return false;
    return strcmp(r->state, to) != 0;
}

static hv_err s_on_message(hv_worker *w, const hv_envelope *env, const hv_msg *m, hv_errmsg *e)
{
    s_ref r;
    hv_err err = s_load(w, env->referral, &r);
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
        if (!s_is(&r, "requested"))
            return s_wrong(e, &r, env);
        return s_on_match(w, &r, env, m, e);
    case HV_MSG_NO_MATCH: {
        if (!from_router)
            return hv_fail(e, HV_EFORBIDDEN, "only %s may answer this referral", r.router);
        if (!s_is(&r, "requested"))
            return s_wrong(e, &r, env);
        char *reasons = NULL;
        for (unsigned i = 0; i < m->n_reasons; i++)
            hv_strcat(&reasons, "%s%s%s%s", i ? "; " : "", m->reasons[i].node,
                      m->reasons[i].node[0] ? ": " : "", m->reasons[i].text);
        err = s_enter(w, &r, "no_match", env->from, reasons ? reasons : "no reasons given");
        free(reasons);
        return err;
    }
    case HV_MSG_REFERRAL_EXPIRED:
        if (!from_router)
            return hv_fail(e, HV_EFORBIDDEN, "only %s may expire this referral", r.router);
        if (!s_is(&r, "requested") && !s_is(&r, "cancel_requested"))
            return s_wrong(e, &r, env);
        return s_enter(w, &r, "expired", env->from, m->text);
    case HV_MSG_CANCELLED:
        if (!from_router && !from_provider)
            return hv_fail(e, HV_EFORBIDDEN, "not a party to this referral");
        if (s_terminal(&r))
            return HV_OK; /* both may confirm; the first one counts */
        if (!s_is(&r, "cancel_requested"))
            return s_wrong(e, &r, env);
        return s_enter(w, &r, "cancelled", env->from, m->text);
    case HV_MSG_RECEIPT:
        if (!from_provider)
            return hv_fail(e, HV_EFORBIDDEN, "only %s may acknowledge this case",
                           r.provider[0] ? r.provider : "the matched provider");
        /* The same receipt again: the provider was restored from a backup
         * and its broker replayed the case (proto/PROTOCOL.md §5.2). The
         * case was received already; nothing changes. */
        if (s_is(&r, "received") && memcmp(m->hash, r.case_hash, 32) == 0)
            return HV_OK;
        if (!s_is(&r, "transferred"))
            return s_wrong(e, &r, env);
        if (memcmp(m->hash, r.case_hash, 32) != 0)
            return hv_fail(e, HV_ECRYPTO, "the receipt is for other content than the case sent");
        return s_enter(w, &r, "received", env->from, "signed receipt for the case");
    case HV_MSG_STATUS:
        if (!from_provider)
            return hv_fail(e, HV_EFORBIDDEN, "only %s may report on this case",
                           r.provider[0] ? r.provider : "the matched provider");
        if (!s_status_allowed(&r, m->code))
            return hv_fail(e, HV_EPROTO, "referral is %s; it cannot become %s", r.state,
                           m->code);
        return s_enter(w, &r, m->code, env->from, m->text);
    case HV_MSG_WITHDRAWN:
        if (!from_provider)
            return hv_fail(e, HV_EFORBIDDEN, "only %s holds this case", r.provider);
        if (!s_is(&r, "withdraw_requested"))
            return s_wrong(e, &r, env);
        snprintf(detail, sizeof detail, "the provider confirmed erasing the case");
        return s_enter(w, &r, "withdrawn", env->from, detail);
    }
    return hv_fail(e, HV_EFORBIDDEN, "an intake does not take %s",
                   hv_msg_rule_get(env->type)->name);
}

/* -------------------------------------------------------------- control */

static hv_err s_withdraw(hv_worker *w, json_t *args, json_t **result, char **text,
                         hv_errmsg *e)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    const char *reason = json_string_value(json_object_get(args, "reason"));
    if (id == NULL || reason == NULL || reason[0] == '\0')
        return hv_fail(e, HV_EINVAL, "\"id\" and a \"reason\" are required");
    uint8_t rid[16];
    s_ref r;
    hv_err err = hv_worker_find(w, "referrals", id, rid, e);
    if (err == HV_OK)
        err = s_load(w, rid, &r);
    if (err != HV_OK)
        return err;
    hv_msg m = {.type = HV_MSG_WITHDRAW};
    snprintf(m.text, sizeof m.text, "%s", reason);
    const char *next;
    if (s_is(&r, "requested")) {
        m.type = HV_MSG_CANCEL;
        err = s_send(w, &r, r.router, &m, HV_TTL_MAX);
        next = "cancel_requested";
    } else if (s_is(&r, "accepted") || s_is(&r, "transferred") || s_is(&r, "received") ||
               s_is(&r, "in_progress") || s_is(&r, "on_hold")) {
        err = s_send(w, &r, r.provider, &m, HV_TTL_MAX);
        next = "withdraw_requested";
    } else {
        return hv_fail(e, HV_EPROTO, "referral is %s; there is nothing to withdraw", r.state);
    }
    if (err == HV_OK)
        err = s_enter(w, &r, next, hv_worker_cfg(w)->id, reason);
    if (err != HV_OK)
        return err;
    char ref[33];
    hv_ref_hex(r.id, ref);
    *result = json_pack("{s:s, s:s}", "id", ref, "state", r.state);
    hv_strcat(text, "referral %s: %s (waiting for %s to confirm)\n", ref, r.state,
              s_is(&r, "cancel_requested") ? r.router : r.provider);
    return HV_OK;
}

static json_t *s_row_json(const s_ref *r)
{
    char ref[33], created[21], by[21];
    hv_ref_hex(r->id, ref);
    hv_time_format(r->created, created);
    hv_time_format(r->respond_by, by);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", ref, "state", r->state,
                     "service", hv_service_name(r->service), "country", r->country, "router",
                     r->router, "provider", r->provider, "created", created, "respond_by", by);
}

static hv_err s_list(hv_worker *w, json_t **result, char **text)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id FROM referrals ORDER BY created_s, id", "");
    if (st == NULL)
        return HV_ESTORE;
    json_t *list = json_array();
    hv_strcat(text, "%-32s  %-18s  %-14s  %-7s  %s\n", "REFERRAL", "STATE", "SERVICE",
              "COUNTRY", "PROVIDER");
    while (sqlite3_step(st) == SQLITE_ROW) {
        s_ref r;
        if (s_load(w, sqlite3_column_blob(st, 0), &r) != HV_OK)
            continue;
        json_array_append_new(list, s_row_json(&r));
        char ref[33];
        hv_ref_hex(r.id, ref);
        hv_strcat(text, "%-32s  %-18s  %-14s  %-7s  %s\n", ref, r.state,
                  hv_service_name(r.service), r.country, r.provider[0] ? r.provider : "-");
    }
    sqlite3_finalize(st);
    *result = json_pack("{s:o}", "referrals", list);
    return HV_OK;
}

/* The subject's names as the caseworker wrote them, for `show` only. */
static void s_subject_line(const char *case_text, size_t len, char **text)
{
    hv_json *root = NULL;
    hv_json_error jerr;
    if (hv_json_parse(case_text, len, &root, &jerr) != HV_OK)
        return;
    const hv_json *names = hv_json_get(hv_json_get(root, "subject"), "names");
    for (size_t i = 0; names && names->type == HV_JSON_ARRAY && i < names->n; i++) {
        const hv_json *g = hv_json_get(names->items[i], "given");
        const hv_json *f = hv_json_get(names->items[i], "family");
        hv_strcat(text, "%s%s%s%s", i ? ", " : "  subject:  ", g ? g->str : "",
                  f ? " " : "", f ? f->str : "");
    }
    if (names != NULL)
        hv_strcat(text, "\n");
    hv_json_free(&root);
}

static hv_err s_show(hv_worker *w, json_t *args, json_t **result, char **text, hv_errmsg *e)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    if (id == NULL)
        return hv_fail(e, HV_EINVAL, "\"id\" is required");
    uint8_t rid[16];
    s_ref r;
    hv_err err = hv_worker_find(w, "referrals", id, rid, e);
    if (err == HV_OK)
        err = s_load(w, rid, &r);
    if (err != HV_OK)
        return err;
    json_t *row = s_row_json(&r);
    char ref[33], created[24], by[24];
    hv_ref_hex(r.id, ref);
    hv_time_human(r.created, created);
    hv_time_human(r.respond_by, by);
    hv_strcat(text, "referral %s\n  state:    %s\n  service:  %s in %s\n  router:   %s\n"
              "  provider: %s\n  created:  %s\n  due by:   %s\n",
              ref, r.state, hv_service_name(r.service), r.country, r.router,
              r.provider[0] ? r.provider : "-", created, by);
    uint8_t *case_text = NULL;
    size_t case_len = 0;
    if (hv_vault_get(hv_worker_db(w), hv_worker_keys(w), r.id, &case_text, &case_len) == HV_OK) {
        s_subject_line((const char *)case_text, case_len, text);
        if (json_is_true(json_object_get(args, "case")))
            json_object_set_new(row, "case", json_stringn((const char *)case_text, case_len));
    }
    hv_secure_free(case_text);
    hv_strcat(text, "history:\n");
    json_t *history = hv_history_get(w, r.id, text);
    json_object_set_new(row, "history", history ? history : json_array());
    *result = row;
    return HV_OK;
}

static hv_err s_on_control(hv_worker *w, const char *cmd, json_t *args, json_t **result,
                           char **text, hv_errmsg *e)
{
    if (strcmp(cmd, "referral.submit") == 0)
        return s_submit(w, args, result, text, e);
    if (strcmp(cmd, "referral.list") == 0)
        return s_list(w, result, text);
    if (strcmp(cmd, "referral.show") == 0)
        return s_show(w, args, result, text, e);
    if (strcmp(cmd, "referral.withdraw") == 0)
        return s_withdraw(w, args, result, text, e);
    return hv_fail(e, HV_EINVAL, "an intake does not know the command '%s'", cmd);
}

/* ------------------------------------------------------- time, notices */

static hv_err s_on_tick(hv_worker *w, uint64_t now)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id FROM referrals WHERE state = 'requested' AND "
                              "respond_by + ?1 < ?2",
                              "ii", (int64_t)S_GRACE_S, (int64_t)now);
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        s_ref r;
        if ((err = s_load(w, sqlite3_column_blob(st, 0), &r)) == HV_OK)
            err = s_enter(w, &r, "expired", hv_worker_cfg(w)->id,
                          "no answer from the router by the deadline");
    }
    sqlite3_finalize(st);
    return err;
}

static hv_err s_on_notice(hv_worker *w, const hv_notice *n)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT referral, type, rcpt FROM sent WHERE id = ?1", "r", n->id);
    if (st == NULL)
        return HV_ESTORE;
    hv_err err = HV_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        s_ref r;
        unsigned type = (unsigned)sqlite3_column_int(st, 1);
        char rcpt[HV_NODE_ID_MAX + 1], detail[400];
        hv_sql_text(st, 2, rcpt, sizeof rcpt);
        snprintf(detail, sizeof detail, "%s to %s not delivered: %s (%s)",
                 hv_msg_rule_get(type) ? hv_msg_rule_get(type)->name : "message", rcpt, n->text,
                 hv_errname(n->code));
        if ((err = s_load(w, sqlite3_column_blob(st, 0), &r)) == HV_OK) {
            /* A request or a case that could not be delivered ends the
             * referral; anything else is recorded for the caseworker. */
            const char *next = r.state;
            if (type == HV_MSG_REFERRAL_REQUEST && s_is(&r, "requested"))
                next = n->code == HV_EEXPIRED ? "expired" : "failed";
            else if (type == HV_MSG_CASE_TRANSFER && s_is(&r, "transferred"))
                next = "failed";
            err = strcmp(next, r.state) != 0 ? s_enter(w, &r, next, rcpt, detail)
                                             : hv_history_add(w, r.id, r.state, rcpt, detail);
        }
    }
    sqlite3_finalize(st);
    return err == HV_ENOTFOUND ? HV_OK : err;
}

static const hv_worker_app s_app = {
    .name = "haven-intake",
    .role = HV_ROLE_INTAKE,
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
