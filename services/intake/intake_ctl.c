/* haven-intake: submission and the control commands, with the role
 * table (s_commands) that the shell enforces; see intake.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_attach.h"
#include "hv_casemsg.h"
#include "hv_history.h"
#include "hv_listq.h"
#include "hv_log.h"
#include "hv_referral.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "hv_vault.h"
#include "hv_worker.h"
#include "intake.h"

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

/* Sends the summary of `r` to its router: the referral becomes requested,
 * because of `by`. */
static hv_err s_request(hv_worker *w, in_ref *r, const hv_summary *summary, const char *by,
                        const char *detail)
{
    hv_msg *m = calloc(1, sizeof *m);
    if (m == NULL)
        return HV_ENOMEM;
    m->type = HV_MSG_REFERRAL_REQUEST;
    m->summary = *summary;
    uint64_t now = (uint64_t)time(NULL);
    uint64_t ttl = r->respond_by > now ? r->respond_by - now : 1;
    hv_err err = in_send(w, r, r->router, m, ttl > HV_TTL_MAX ? HV_TTL_MAX : (uint32_t)ttl);
    free(m);
    if (err == HV_OK)
        err = in_enter(w, r, "requested", by, detail);
    return err;
}

/* Checks a referral file as submission does, as of `now`: the file's own
 * rules (hv_referral_check_text) and then this worker's knowledge, a
 * router for the destination country in the registry. On HV_OK `*c`
 * (caller frees) holds the summary and `*router` the router (borrowed);
 * on HV_EJSON `*result` gets the located errors. */
static hv_err s_check(hv_worker *w, json_t *args, uint64_t now, hv_referral_check **c,
                      const hv_node **router, json_t **result, hv_errmsg *e)
{
    *c = NULL;
    json_t *case_j = json_object_get(args, "case");
    const char *case_text = json_string_value(case_j);
    if (case_text == NULL)
        return hv_fail(e, HV_EINVAL, "\"case\" (the referral file's text) is required");
    hv_referral_check *chk = calloc(1, sizeof *chk);
    if (chk == NULL)
        return HV_ENOMEM;
    hv_err err = hv_referral_check_text(case_text, json_string_length(case_j), now, chk);
    if (err != HV_OK) {
        if (err != HV_ENOMEM)
            *result = s_errors_json(chk);
        size_t n = chk->n_errors + chk->n_more;
        free(chk);
        return err == HV_ENOMEM ? err
                                : hv_fail(e, err, "the referral file has %zu error%s; nothing "
                                          "was sent", n, n == 1 ? "" : "s");
    }
    /* A router places a group together (places for all of them, or no
     * offer); placing its people apart is not carried yet (DECISIONS.md). */
    if (!chk->keep_together && chk->people > 1) {
        free(chk);
        return hv_fail(e, HV_EINVAL, "split placement (\"placement\": {\"keep_together\": "
                       "false}) is not supported yet: submit the group together, or one "
                       "referral for each person to be placed apart");
    }
    *router = s_router_for(w, chk->summary.country);
    if (*router == NULL) {
        err = hv_fail(e, HV_EUNROUTABLE, "no referral router for country %s in the registry",
                      chk->summary.country);
        free(chk);
        return err;
    }
    *c = chk;
    return HV_OK;
}

/* referral.check: submission's checks, storing and sending nothing. */
static hv_err s_check_cmd(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                          char **text, hv_errmsg *e)
{
    (void)a;
    hv_referral_check *c = NULL;
    const hv_node *router = NULL;
    hv_err err = s_check(w, args, (uint64_t)time(NULL), &c, &router, result, e);
    if (err != HV_OK)
        return err;
    json_t *services = json_array();
    for (unsigned k = 0; k < c->n_services; k++)
        json_array_append_new(services, json_string(hv_service_name(c->services[k])));
    *result = json_pack("{s:b, s:s, s:s, s:s, s:o, s:i}", "valid", 1, "service",
                        hv_service_name(c->summary.service), "country", c->summary.country,
                        "router", router->id, "services", services, "people", (int)c->people);
    hv_strcat(text, "the referral file is valid; it would go to %s (%s)\n", router->id,
              c->summary.country);
    free(c);
    return HV_OK;
}

static hv_err s_submit(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                       char **text, hv_errmsg *e)
{
    const char *case_text = json_string_value(json_object_get(args, "case"));
    const char *reference = json_string_value(json_object_get(args, "reference"));
    json_t *draft = json_object_get(args, "draft");
    if (json_object_get(args, "reference") != NULL &&
        (reference == NULL || !hv_listq_reference_valid(reference)))
        return hv_fail(e, HV_EINVAL, "\"reference\" (the organisation's own) must be 1 to %d "
                       "characters", HV_LISTQ_Q_MAX);
    if (draft != NULL && !json_is_string(draft))
        return hv_fail(e, HV_EINVAL, "\"draft\" must be a draft's id (32 hex digits)");
    size_t case_len = json_string_length(json_object_get(args, "case"));
    uint64_t now = (uint64_t)time(NULL);
    hv_referral_check *c = NULL;
    const hv_node *router = NULL;
    hv_err err = s_check(w, args, now, &c, &router, result, e);
    if (err != HV_OK)
        return err;
    /* The draft it was written from goes in the same transaction: gone
     * when the referral is stored, kept when anything fails. */
    if (draft != NULL && (err = in_draft_erase(w, a, json_string_value(draft), e)) != HV_OK) {
        free(c);
        return err;
    }
    /* One case, one referral per service: each has its own id, offer and
     * lifecycle; the case text (one consent record) is sealed under each. */
    uint8_t case_id[16];
    hv_random(case_id, 16);
    bool held = c->consent_override && a->role == HV_ACTOR_CASEWORKER;
    json_t *refs = json_array();
    in_ref r;
    for (unsigned k = 0; err == HV_OK && k < c->n_services; k++) {
        memset(&r, 0, sizeof r);
        hv_random(r.id, 16);
        memcpy(r.case_id, case_id, 16);
        snprintf(r.state, sizeof r.state, "new");
        r.service = c->services[k];
        memcpy(r.country, c->summary.country, 3);
        snprintf(r.router, sizeof r.router, "%s", router->id);
        r.created = now;
        r.respond_by = c->summary.respond_by;
        snprintf(r.created_by, sizeof r.created_by, "%s", a->staff);
        snprintf(r.assigned_to, sizeof r.assigned_to, "%s",
                 a->role == HV_ACTOR_HOST ? "" : a->staff);
        snprintf(r.reference, sizeof r.reference, "%s", reference ? reference : "");
        hv_summary sum = c->summary;
        sum.service = (uint8_t)r.service;
        /* A caseworker prepares a referral without consent; a supervisor
         * authorises it (referral.authorise) before anything leaves. */
        if ((err = in_store_new(hv_worker_db(w), hv_worker_keys(w), &r, case_text,
                                case_len)) == HV_OK &&
            /* The case's documents go with each of its referrals. */
            (err = hv_attach_take(w, a, r.id, c, json_object_get(args, "attachments"),
                                  hv_worker_cfg(w)->attachment_max_mib * 1024 * 1024,
                                  hv_worker_cfg(w)->case_attachments_max_mib * 1024 * 1024,
                                  k + 1 == c->n_services, e)) == HV_OK) {
            if (held)
                err = in_enter(w, &r, "awaiting_authorisation", a->by,
                               "consent override: nothing is sent until a supervisor "
                               "authorises it");
            else
                err = s_request(w, &r, &sum, a->by,
                                c->consent_override ? "consent override authorised at "
                                                      "submission; summary sent to the router"
                                                    : "summary sent to the router");
        }
        char ref[33];
        hv_ref_hex(r.id, ref);
        json_array_append_new(refs, json_pack("{s:s, s:s, s:s}", "id", ref, "service",
                                              hv_service_name(r.service), "state", r.state));
    }
    unsigned people = c->people, n = c->n_services;
    free(c);
    if (err != HV_OK) {
        json_decref(refs);
        return err;
    }
    char ref[33], cs[33], by[24];
    hv_ref_hex(r.id, ref);
    hv_ref_hex(case_id, cs);
    hv_time_human(r.respond_by, by);
    /* "id" is the case's first referral, as before cases. */
    json_t *first = json_array_get(refs, 0);
    *result = json_pack("{s:O, s:s, s:s, s:s, s:s, s:I, s:o}", "id",
                        json_object_get(first, "id"), "state", r.state, "router", r.router,
                        "country", r.country, "case_id", cs, "people", (json_int_t)people,
                        "referrals", refs);
    if (n > 1 || people > 1) {
        hv_strcat(text, "case %s: %u %s, %u service%s\n", cs, people,
                  people == 1 ? "person" : "people", n, n == 1 ? "" : "s");
        for (size_t i = 0; i < json_array_size(refs); i++) {
            json_t *x = json_array_get(refs, i);
            hv_strcat(text, "  referral %s  %-14s  %s\n", json_string_value(json_object_get(x, "id")),
                      json_string_value(json_object_get(x, "service")),
                      json_string_value(json_object_get(x, "state")));
        }
    }
    if (held)
        hv_strcat(text, "%s %s %s awaiting authorisation\n  it was made without consent: "
                  "nothing is sent until a supervisor authorises %s (due by %s)\n",
                  n > 1 ? "the referrals of case" : "referral", n > 1 ? cs : ref,
                  n > 1 ? "are" : "is", n > 1 ? "each" : "it", by);
    else if (n > 1)
        hv_strcat(text, "the summaries went to %s (%s); answers are due by %s\n  the case "
                  "stays here, encrypted, until a provider accepts\n", r.router, r.country, by);
    else
        hv_strcat(text, "referral %s submitted\n  the summary went to %s (%s); an answer is "
                  "due by %s\n  the case stays here, encrypted, until a provider accepts\n",
                  ref, r.router, r.country, by);
    return HV_OK;
}

/* A supervisor's authorisation of a consent override sends the referral
 * as submission would have, checked again as of now. */
static hv_err s_authorise(hv_worker *w, const hv_actor *a, in_ref *r, char **text,
                          hv_errmsg *e)
{
    if (!in_is(r, "awaiting_authorisation"))
        return hv_fail(e, HV_EPROTO, "referral is %s; only one awaiting authorisation can be "
                       "authorised", r->state);
    uint8_t *case_text = NULL;
    size_t case_len = 0;
    hv_err err = hv_vault_get(hv_worker_db(w), hv_worker_keys(w), r->id, &case_text, &case_len);
    if (err != HV_OK)
        return err;
    hv_referral_check *c = calloc(1, sizeof *c);
    if (c == NULL) {
        hv_secure_free(case_text);
        return HV_ENOMEM;
    }
    err = hv_referral_check_text((const char *)case_text, case_len, (uint64_t)time(NULL), c);
    hv_secure_free(case_text);
    const hv_node *router = hv_registry_find(hv_worker_registry(w), r->router);
    if (err == HV_ENOMEM)
        ;
    else if (err != HV_OK)
        err = hv_fail(e, HV_EPROTO, "the referral no longer passes its checks (is its "
                      "respond-by past?): withdraw it and submit it again");
    else if (router == NULL || !hv_node_active(router, (uint64_t)time(NULL)))
        err = hv_fail(e, HV_EUNROUTABLE, "router %s is no longer active", r->router);
    else
        err = s_request(w, r, &c->summary, a->by,
                        "consent override authorised; summary sent to the router");
    free(c);
    if (err == HV_OK) {
        char ref[33];
        hv_ref_hex(r->id, ref);
        hv_strcat(text, "referral %s authorised; the summary went to %s\n", ref, r->router);
    }
    return err;
}

/* -------------------------------------------------------------- control */

/* Who sees a referral: a caseworker the ones they created or are
 * assigned; everyone the role table lets in at all, the rest. */
static const char s_visible_sql[] = "created_by = ?2 OR assigned_to = ?2";

static bool s_sees_all(const hv_actor *a) { return a->role != HV_ACTOR_CASEWORKER; }

static bool s_sees(const hv_actor *a, const in_ref *r)
{
    return s_sees_all(a) || strcmp(r->created_by, a->staff) == 0 ||
           strcmp(r->assigned_to, a->staff) == 0;
}

bool in_may_see(hv_worker *w, const hv_actor *a, const uint8_t id[16])
{
    in_ref r;
    return a->role != HV_ACTOR_ADMIN && in_load(w, id, &r) == HV_OK && s_sees(a, &r);
}

/* The referral named by args.id that `a` may see; one they may not see
 * is not found, in the same words as one that does not exist. */
static hv_err s_find(hv_worker *w, const hv_actor *a, json_t *args, in_ref *r, hv_errmsg *e)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    if (id == NULL)
        return hv_fail(e, HV_EINVAL, "\"id\" is required");
    uint8_t rid[16];
    hv_err err = hv_worker_find_visible(w, "referrals", id, s_sees_all(a) ? NULL : s_visible_sql,
                                        a->staff, rid, e);
    if (err == HV_OK)
        err = in_load(w, rid, r);
    if (err == HV_OK && !s_sees(a, r))
        err = hv_fail(e, HV_ENOTFOUND, "no referral %s here", id);
    return err;
}

/* The code list of `codes` without `skip` (NULL: none), for an error. */
static void s_codes(char *list, size_t n, const char *skip1, const char *skip2)
{
    list[0] = '\0';
    for (int i = 0; hv_cancel_codes[i]; i++) {
        const char *c = hv_cancel_codes[i];
        if ((skip1 && strcmp(c, skip1) == 0) || (skip2 && strcmp(c, skip2) == 0))
            continue;
        snprintf(list + strlen(list), n - strlen(list), "%s%s", list[0] ? ", " : "", c);
    }
}

static hv_err s_reason_fits(const char *reason, hv_errmsg *e)
{
    return reason == NULL || strlen(reason) <= HV_MSG_TEXT_MAX
               ? HV_OK
               : hv_fail(e, HV_ETOOBIG, "the reason is %zu bytes; it may be at most %u bytes: "
                         "shorten it", strlen(reason), HV_MSG_TEXT_MAX);
}

/* The answer of withdraw and cancel. */
static void s_moved(const in_ref *r, const char *waiting_for, json_t **result, char **text)
{
    char ref[33];
    hv_ref_hex(r->id, ref);
    *result = json_pack("{s:s, s:s}", "id", ref, "state", r->state);
    if (waiting_for == NULL)
        hv_strcat(text, "referral %s: %s (it had not been sent)%s\n", ref, r->state,
                  r->erased ? "; the case is erased here" : "");
    else
        hv_strcat(text, "referral %s: %s (waiting for %s to confirm)\n", ref, r->state,
                  waiting_for);
}

/* referral.withdraw: the person withdrew consent. The case is erased at
 * the provider that holds it (WITHDRAW; confirmed by WITHDRAWN, or
 * answered LEGAL_HOLD) and then here, also after the case closed. Before
 * a match the router is told to cancel (with the code, consent_withdrawn
 * unless said otherwise). */
static hv_err s_withdraw(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                         char **text, hv_errmsg *e)
{
    const char *reason = json_string_value(json_object_get(args, "reason"));
    const char *code = json_string_value(json_object_get(args, "code"));
    if (reason == NULL || reason[0] == '\0')
        return hv_fail(e, HV_EINVAL, "\"id\" and a \"reason\" are required");
    if (s_reason_fits(reason, e) != HV_OK)
        return HV_ETOOBIG;
    if (code == NULL || code[0] == '\0')
        code = "consent_withdrawn";
    if (!hv_cancel_code_valid(code) || strcmp(code, "match_refused") == 0) {
        char list[200];
        s_codes(list, sizeof list, "match_refused", NULL);
        return hv_fail(e, HV_EINVAL, "the code is one of: %s", list);
    }
    in_ref r;
    hv_err err = s_find(w, a, args, &r, e);
    if (err != HV_OK)
        return err;
    /* PROTOCOL §9.1: the reason in words goes to the provider that holds
     * the case, end to end, and to no one else; a router is told the code. */
    hv_msg m = {.type = HV_MSG_WITHDRAW};
    snprintf(m.text, sizeof m.text, "%s", reason);
    char detail[HV_MSG_TEXT_MAX + HV_MSG_CODE_MAX + 4];
    snprintf(detail, sizeof detail, "%s: %s", code, reason);
    const char *next, *waiting_for = r.provider;
    bool closed_with_provider = r.provider[0] != '\0' && r.erased == 0 &&
                                (in_is(&r, "completed") || in_is(&r, "failed") ||
                                 in_is(&r, "cancelled"));
    if (in_is(&r, "awaiting_authorisation")) {
        next = "withdrawn"; /* nothing was sent: nobody to tell */
        waiting_for = NULL;
    } else if (in_is(&r, "requested")) {
        m.type = HV_MSG_CANCEL;
        snprintf(m.code, sizeof m.code, "%s", code);
        m.text[0] = '\0';
        err = in_send(w, &r, r.router, &m, HV_TTL_MAX);
        next = "cancel_requested";
        waiting_for = r.router;
    } else if (in_is(&r, "accepted") || in_is(&r, "transferred") || in_is(&r, "received") ||
               in_is(&r, "in_progress") || in_is(&r, "on_hold") ||
               in_is(&r, "transfer_failed") || in_is(&r, "withdraw_requested")) {
        err = in_send(w, &r, r.provider, &m, HV_TTL_MAX);
        next = "withdraw_requested";
    } else if (closed_with_provider) {
        /* After completion: the provider keeps a closed case for its
         * retention; consent withdrawn asks it to erase it now. */
        err = in_send(w, &r, r.provider, &m, HV_TTL_MAX);
        next = "erasure_requested";
    } else if (in_is(&r, "legal_hold")) {
        return hv_fail(e, HV_EPROTO, "referral is legal_hold: %s keeps the case under a legal "
                       "hold and erases it when the hold is released", r.provider);
    } else {
        return hv_fail(e, HV_EPROTO, "referral is %s; there is nothing to withdraw%s", r.state,
                       r.erased ? " (its case is erased)" : "");
    }
    if (err == HV_OK)
        err = in_enter(w, &r, next, a->by, detail);
    if (err == HV_OK && in_is(&r, "withdrawn"))
        err = in_erase(w, &r, a->by, IN_ERASED_CONSENT);
    if (err != HV_OK)
        return err;
    s_moved(&r, waiting_for, result, text);
    return HV_OK;
}

/* referral.cancel: the service is no longer needed (the person moved on,
 * found another place). Whoever was asked confirms (CANCELLED): the router
 * before a match, the provider after it, which closes the case as
 * cancelled and keeps it for its own retention. Nothing is erased. */
static hv_err s_cancel(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                       char **text, hv_errmsg *e)
{
    const char *code = json_string_value(json_object_get(args, "code"));
    const char *reason = json_string_value(json_object_get(args, "reason"));
    if (code == NULL || !hv_cancel_code_valid(code) || strcmp(code, "match_refused") == 0 ||
        strcmp(code, "consent_withdrawn") == 0) {
        char list[200];
        s_codes(list, sizeof list, "match_refused", "consent_withdrawn");
        return hv_fail(e, HV_EINVAL, "a \"code\" is required, one of: %s (consent withdrawn "
                       "is referral.withdraw, which erases the case)", list);
    }
    if (s_reason_fits(reason, e) != HV_OK)
        return HV_ETOOBIG;
    in_ref r;
    hv_err err = s_find(w, a, args, &r, e);
    if (err != HV_OK)
        return err;
    /* The router is told the code; the provider, which holds the case,
     * the reason in words too (PROTOCOL §9.1). */
    hv_msg m = {.type = HV_MSG_CANCEL};
    snprintf(m.code, sizeof m.code, "%s", code);
    char detail[HV_MSG_TEXT_MAX + HV_MSG_CODE_MAX + 4];
    snprintf(detail, sizeof detail, "%s%s%s", code, reason && reason[0] ? ": " : "",
             reason ? reason : "");
    const char *next = "cancel_requested", *waiting_for = r.provider;
    if (in_is(&r, "awaiting_authorisation")) {
        next = "cancelled";
        waiting_for = NULL;
    } else if (in_is(&r, "requested")) {
        err = in_send(w, &r, r.router, &m, HV_TTL_MAX);
        waiting_for = r.router;
    } else if (in_is(&r, "accepted") || in_is(&r, "transferred") || in_is(&r, "received") ||
               in_is(&r, "in_progress") || in_is(&r, "on_hold")) {
        snprintf(m.text, sizeof m.text, "%s", reason ? reason : "");
        err = in_send(w, &r, r.provider, &m, HV_TTL_MAX);
    } else {
        return hv_fail(e, HV_EPROTO, "referral is %s; only an open referral can be cancelled",
                       r.state);
    }
    if (err == HV_OK)
        err = in_enter(w, &r, next, a->by, detail);
    if (err != HV_OK)
        return err;
    s_moved(&r, waiting_for, result, text);
    return HV_OK;
}

static json_t *s_row_json(hv_worker *w, const in_ref *r);

static hv_err s_erase_cmd(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                          char **text, hv_errmsg *e)
{
    in_ref r;
    hv_err err = s_find(w, a, args, &r, e);
    if (err == HV_OK)
        err = in_erase_cmd(w, a, &r, args, text, e);
    if (err == HV_OK)
        *result = s_row_json(w, &r);
    return err;
}

/* The provider's legal hold on `r` ({basis, reason}) in `row`. */
static void s_hold_json(hv_worker *w, const in_ref *r, json_t *row)
{
    char *reason = NULL;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w), "SELECT hold_reason FROM referrals WHERE id = ?1",
                              "r", r->id);
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) > 0 &&
        hv_vault_open_note(hv_worker_keys(w), r->id, sqlite3_column_blob(st, 0),
                           (size_t)sqlite3_column_bytes(st, 0), &reason) != HV_OK)
        reason = NULL;
    sqlite3_finalize(st);
    json_object_set_new(row, "legal_hold",
                        json_pack("{s:s, s:s}", "basis", r->hold_basis, "reason",
                                  reason ? reason : ""));
    hv_secure_free(reason);
}

/* The deadline of a referral's state (intake_deadline.c): "due" (when)
 * and "due_for" (what is awaited), and "overdue" {since, what} once it
 * has passed, what saying the next step. None for a terminal state. */
static void s_deadline_json(hv_worker *w, const in_ref *r, json_t *row)
{
    uint64_t due, since;
    const char *what;
    char at[21], overdue_what[600];
    if (!in_deadline_of(w, r, &due, &what))
        return;
    hv_time_format(due, at);
    json_object_set_new(row, "due", json_string(at));
    json_object_set_new(row, "due_for", json_string(what));
    if (in_overdue_get(w, r->id, &since, overdue_what, sizeof overdue_what)) {
        hv_time_format(since, at);
        json_object_set_new(row, "overdue",
                            json_pack("{s:s, s:s}", "since", at, "what", overdue_what));
    }
}

/* A referral's row; `outbox` says whether a message about it still waits
 * in the outbox for the broker ("waiting") or none does ("sent"). */
static json_t *s_row_json(hv_worker *w, const in_ref *r)
{
    char ref[33], created[21], by[21];
    hv_ref_hex(r->id, ref);
    hv_time_format(r->created, created);
    hv_time_format(r->respond_by, by);
    json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", ref, "state",
                            r->state, "service", hv_service_name(r->service), "country",
                            r->country, "router", r->router, "provider", r->provider,
                            "created", created, "respond_by", by);
    if (row != NULL) {
        char updated[21];
        hv_time_format(r->updated, updated);
        json_object_set_new(row, "updated", json_string(updated)); /* the last change */
        json_object_set_new(row, "created_by", json_string(r->created_by));
        json_object_set_new(row, "assigned_to", json_string(r->assigned_to));
        json_object_set_new(row, "reference", json_string(r->reference));
        char cs[33];
        hv_ref_hex(r->case_id, cs);
        json_object_set_new(row, "case_id", json_string(cs)); /* case.show */
        json_object_set_new(row, "outbox",
                            json_string(hv_worker_outbox_waiting(w, r->id) ? "waiting" : "sent"));
        /* An erased case says when and why, in place of the case. */
        if (r->erased != 0) {
            char at[21];
            hv_time_format(r->erased, at);
            json_object_set_new(row, "erased_at", json_string(at));
            json_object_set_new(row, "erased_reason", json_string(r->erased_why));
        }
        if (in_is(r, "legal_hold"))
            s_hold_json(w, r, row);
        s_deadline_json(w, r, row);
    }
    return row;
}

/* The filters of hv_listq as SQL: only those given are written, each a
 * plain comparison on a column, so that an index answers it (a term such
 * as `(?1 = '' OR state = ?1)` hides every index from SQLite's planner,
 * and each page read the whole table). The arguments keep their numbers
 * whichever terms are written; ?9, the caseworker whose own referrals
 * these are ("" for all), is always there. A search in the references
 * cannot use an index's order (a text anywhere in them): it reads the
 * narrow index of references whole, which is its only linear part. */
static void s_list_where(const hv_listq *q, bool all, char *out, size_t cap)
{
    snprintf(out, cap, " FROM referrals%s WHERE %s%s%s%s%s%s%s%s",
             q->q[0] ? " INDEXED BY referrals_reference" : "",
             all ? "?9 = ''" : "(created_by = ?9 OR assigned_to = ?9)",
             q->state[0] ? " AND state = ?1" : "", q->service >= 0 ? " AND service = ?2" : "",
             q->country[0] ? " AND country = ?3" : "",
             q->by_assignee ? " AND assigned_to = ?5" : "",
             q->since ? " AND created_s >= ?6" : "", q->until ? " AND created_s < ?7" : "",
             q->q[0] ? " AND instr(lower(reference), lower(?8)) > 0" : "");
}
#define S_LIST_ARGS(l, who)                                                                   \
    (l)->state, (int64_t)(l)->service, (l)->country, (int64_t)(l)->by_assignee,               \
        (l)->assigned_to, (int64_t)(l)->since, (int64_t)(l)->until, (l)->q, (who)

/* The ids of the page: `n` rows from `offset` in the order of creation.
 * A page in the second half is read from the end backwards, so that the
 * last page costs what the first does (OFFSET walks the rows it skips);
 * `ids` (capacity n * 16) gets them in the page's order. Returns the
 * count read, or -1 when the store fails. */
static int64_t s_list_ids(hv_worker *w, const char *where, const hv_listq *q, const char *who,
                          int64_t total, uint8_t *ids)
{
    int64_t n = q->limit, offset = q->offset;
    if (offset >= total)
        return 0;
    if (n > total - offset)
        n = total - offset;
    bool backwards = offset + n / 2 > total / 2;
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT id%s ORDER BY created_s %s, id %s LIMIT ?10 OFFSET ?11",
             where, backwards ? "DESC" : "ASC", backwards ? "DESC" : "ASC");
    sqlite3_stmt *st = hv_sql(hv_worker_db(w), sql, "tititiittii", S_LIST_ARGS(q, who), n,
                              backwards ? total - offset - n : offset);
    if (st == NULL)
        return -1;
    int64_t got = 0;
    while (got < n && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        memcpy(ids + 16 * (backwards ? n - 1 - got : got), sqlite3_column_blob(st, 0), 16);
        got++;
    }
    sqlite3_finalize(st);
    if (backwards && got < n) /* the store changed under the count: keep the page dense */
        memmove(ids, ids + 16 * (n - got), (size_t)(16 * got));
    return got;
}

static hv_err s_list(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                     char **text, hv_errmsg *e)
{
    hv_listq q;
    hv_err err = hv_listq_parse(args, NULL, &q, e);
    if (err != HV_OK)
        return err;
    const char *who = s_sees_all(a) ? "" : a->staff;
    char where[600], sql[700];
    s_list_where(&q, s_sees_all(a), where, sizeof where);
    snprintf(sql, sizeof sql, "SELECT count(*)%s", where);
    int64_t total = 0;
    if (hv_sql_int(hv_worker_db(w), &total, sql, "tititiitt", S_LIST_ARGS(&q, who)) != HV_OK)
        return HV_ESTORE;
    uint8_t ids[HV_LISTQ_LIMIT_MAX * 16];
    int64_t got = s_list_ids(w, where, &q, who, total, ids);
    if (got < 0)
        return HV_ESTORE;
    json_t *list = json_array();
    hv_strcat(text, "%-32s  %-18s  %-14s  %-7s  %-14s  %-14s  %s\n", "REFERRAL", "STATE",
              "SERVICE", "COUNTRY", "ASSIGNED", "PROVIDER", "DUE");
    for (int64_t i = 0; i < got; i++) {
        in_ref r;
        if (in_load(w, ids + 16 * i, &r) != HV_OK)
            continue;
        json_array_append_new(list, s_row_json(w, &r));
        char ref[33];
        hv_ref_hex(r.id, ref);
        uint64_t since;
        hv_strcat(text, "%-32s  %-18s  %-14s  %-7s  %-14s  %-14s  %s\n", ref, r.state,
                  hv_service_name(r.service), r.country, r.assigned_to[0] ? r.assigned_to : "-",
                  r.provider[0] ? r.provider : "-",
                  in_overdue_get(w, r.id, &since, NULL, 0) ? "OVERDUE" : "-");
    }
    /* "referrals" is the name older clients read; "items" the API's. */
    *result = json_pack("{s:O, s:o, s:I, s:I, s:I}", "referrals", list, "items", list, "total",
                        (json_int_t)total, "limit", (json_int_t)q.limit, "offset",
                        (json_int_t)q.offset);
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

static hv_err s_show(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                     char **text, hv_errmsg *e)
{
    in_ref r;
    hv_err err = s_find(w, a, args, &r, e);
    if (err != HV_OK)
        return err;
    json_t *row = s_row_json(w, &r);
    char ref[33], created[24], by[24];
    hv_ref_hex(r.id, ref);
    hv_time_human(r.created, created);
    hv_time_human(r.respond_by, by);
    hv_strcat(text, "referral %s\n  state:    %s\n  service:  %s in %s\n  router:   %s\n"
              "  provider: %s\n  created:  %s%s%s\n  assigned: %s\n  due by:   %s\n",
              ref, r.state, hv_service_name(r.service), r.country, r.router,
              r.provider[0] ? r.provider : "-", created, r.created_by[0] ? " by " : "",
              r.created_by, r.assigned_to[0] ? r.assigned_to : "-", by);
    if (r.reference[0] != '\0')
        hv_strcat(text, "  reference: %s\n", r.reference);
    char cs[33];
    hv_ref_hex(r.case_id, cs);
    hv_strcat(text, "  case:     %s\n", cs);
    json_t *hold = json_object_get(row, "legal_hold");
    if (hold != NULL)
        hv_strcat(text, "  legal hold: %s keeps the case (%s): %s\n              it is erased "
                  "there, and here, when the hold is released\n", r.provider,
                  json_string_value(json_object_get(hold, "basis")),
                  json_string_value(json_object_get(hold, "reason")));
    uint64_t due, since;
    const char *due_for;
    char what[600], at[24];
    if (r.erased != 0) {
        hv_time_human(r.erased, at);
        hv_strcat(text, "  case erased on %s (%s)\n", at, in_erased_words(r.erased_why));
    }
    if (in_deadline_of(w, &r, &due, &due_for)) {
        hv_time_human(due, at);
        hv_strcat(text, "  next:     %s by %s\n", due_for, at);
    }
    if (in_overdue_get(w, r.id, &since, what, sizeof what)) {
        hv_time_human(since, at);
        hv_strcat(text, "  OVERDUE since %s: %s\n", at, what);
    }
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
    json_t *progress = in_progress_json(w, r.id);
    json_object_set_new(row, "progress", progress ? progress : json_array());
    *result = row;
    return HV_OK;
}

static hv_err s_assign(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                       char **text, hv_errmsg *e)
{
    const char *staff = json_string_value(json_object_get(args, "staff"));
    if (staff == NULL || !hv_staff_name_valid(staff) || strcmp(staff, HV_HOST_ADMIN) == 0)
        return hv_fail(e, HV_EINVAL, "\"staff\" must be a staff member's name");
    in_ref r;
    hv_err err = s_find(w, a, args, &r, e);
    if (err != HV_OK)
        return err;
    char detail[HV_STAFF_MAX + 40];
    snprintf(detail, sizeof detail, "assigned to %s", staff);
    if ((err = hv_sql_exec(hv_worker_db(w),
                           "UPDATE referrals SET assigned_to = ?2, updated_s = ?3 WHERE id = ?1",
                           "rti", r.id, staff, (int64_t)time(NULL))) != HV_OK ||
        (err = hv_history_add(w, r.id, r.state, a->by, detail)) != HV_OK)
        return err;
    snprintf(r.assigned_to, sizeof r.assigned_to, "%s", staff);
    char ref[33];
    hv_ref_hex(r.id, ref);
    hv_strcat(text, "referral %s is assigned to %s\n", ref, staff);
    *result = s_row_json(w, &r);
    return HV_OK;
}

static hv_err s_authorise_cmd(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                              char **text, hv_errmsg *e)
{
    in_ref r;
    hv_err err = s_find(w, a, args, &r, e);
    if (err == HV_OK)
        err = s_authorise(w, a, &r, text, e);
    if (err == HV_OK)
        *result = s_row_json(w, &r);
    return err;
}

/* message.send, .list, .read (hv_casemsg.h): with the provider that
 * accepted the case, once it was transferred. */
static hv_err s_message(hv_worker *w, const hv_actor *a, const char *cmd, json_t *args,
                        json_t **result, char **text, hv_errmsg *e)
{
    in_ref r;
    hv_err err = s_find(w, a, args, &r, e);
    if (err == HV_OK)
        err = in_messages_open(&r, e);
    if (err == HV_OK)
        err = hv_casemsg_control(w, cmd, r.id, r.provider, a->by, args, result, text, e);
    return err;
}

static hv_err s_message_send(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                             char **text, hv_errmsg *e)
{
    return s_message(w, a, "message.send", args, result, text, e);
}

static hv_err s_message_list(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                             char **text, hv_errmsg *e)
{
    return s_message(w, a, "message.list", args, result, text, e);
}

static hv_err s_message_read(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                             char **text, hv_errmsg *e)
{
    return s_message(w, a, "message.read", args, result, text, e);
}

/* attachment.list {"id"}: the case's documents and how far each went. */
static hv_err s_attach_list(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                            char **text, hv_errmsg *e)
{
    in_ref r;
    hv_err err = s_find(w, a, args, &r, e);
    if (err != HV_OK)
        return err;
    if ((*result = hv_attach_list(hv_worker_db(w), r.id, true)) == NULL)
        return HV_ENOMEM;
    json_t *items = json_object_get(*result, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        hv_strcat(text, "%lld  %s  %s  %lld bytes  %s (%lld of %lld chunks)\n",
                  (long long)json_integer_value(json_object_get(it, "n")),
                  json_string_value(json_object_get(it, "name")),
                  json_string_value(json_object_get(it, "type")),
                  (long long)json_integer_value(json_object_get(it, "size")),
                  json_string_value(json_object_get(it, "state")),
                  (long long)json_integer_value(json_object_get(it, "have")),
                  (long long)json_integer_value(json_object_get(it, "chunks")));
    }
    if (json_array_size(items) == 0)
        hv_strcat(text, "no documents\n");
    return HV_OK;
}

/* The role table: who may run which command (the shell enforces it). */
#define R_HOST HV_ACTOR_BIT(HV_ACTOR_HOST)
#define R_CASEWORKER HV_ACTOR_BIT(HV_ACTOR_CASEWORKER)
#define R_SUPERVISOR HV_ACTOR_BIT(HV_ACTOR_SUPERVISOR)

typedef hv_err (*s_command_fn)(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                               char **text, hv_errmsg *e);

static const struct s_command {
    const char *name;  /* the command */
    unsigned roles;    /* who may run it; an admin may run none */
    s_command_fn run;  /* NULL: the shell's own (events.wait) */
} s_commands[] = {
    {"referral.submit", R_HOST | R_CASEWORKER | R_SUPERVISOR, s_submit},
    {"referral.check", R_HOST | R_CASEWORKER | R_SUPERVISOR, s_check_cmd},
    {"draft.save", R_HOST | R_CASEWORKER | R_SUPERVISOR, in_draft_save},
    {"draft.list", R_HOST | R_CASEWORKER | R_SUPERVISOR, in_draft_list},
    {"draft.show", R_HOST | R_CASEWORKER | R_SUPERVISOR, in_draft_show},
    {"draft.delete", R_HOST | R_CASEWORKER | R_SUPERVISOR, in_draft_delete},
    {"referral.list", R_HOST | R_CASEWORKER | R_SUPERVISOR, s_list},
    {"referral.show", R_HOST | R_CASEWORKER | R_SUPERVISOR, s_show},
    {"referral.withdraw", R_HOST | R_CASEWORKER | R_SUPERVISOR, s_withdraw},
    {"referral.assign", R_HOST | R_SUPERVISOR, s_assign},
    {"referral.authorise", R_HOST | R_SUPERVISOR, s_authorise_cmd},
    {"events.wait", R_HOST | R_CASEWORKER | R_SUPERVISOR, NULL},
    {"case.show", R_HOST | R_CASEWORKER | R_SUPERVISOR, in_case_show},

    {"referral.cancel", R_HOST | R_CASEWORKER | R_SUPERVISOR, s_cancel},
    {"referral.erase", R_HOST | R_SUPERVISOR, s_erase_cmd},
    {"message.send", R_HOST | R_CASEWORKER | R_SUPERVISOR, s_message_send},
    {"message.list", R_HOST | R_CASEWORKER | R_SUPERVISOR, s_message_list},
    {"message.read", R_HOST | R_CASEWORKER | R_SUPERVISOR, s_message_read},
    {"attachment.put", R_HOST | R_CASEWORKER | R_SUPERVISOR, hv_attach_put},
    {"attachment.list", R_HOST | R_CASEWORKER | R_SUPERVISOR, s_attach_list},
};

static const struct s_command *s_command(const char *cmd)
{
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(s_commands[i].name, cmd) == 0)
            return &s_commands[i];
    return NULL;
}

unsigned in_command_roles(const char *cmd)
{
    const struct s_command *c = s_command(cmd);
    return c ? c->roles : 0;
}

hv_err in_on_control(hv_worker *w, const hv_actor *a, const char *cmd, json_t *args,
                           json_t **result, char **text, hv_errmsg *e)
{
    const struct s_command *c = s_command(cmd);
    if (c == NULL || c->run == NULL || !(c->roles & HV_ACTOR_BIT(a->role)))
        return hv_fail(e, HV_EFORBIDDEN, "'%s' is not for a %s here", cmd,
                       hv_actor_role_name(a->role)); /* the shell checked already */
    return c->run(w, a, args, result, text, e);
}
