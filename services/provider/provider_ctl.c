/* haven-provider: the control commands, with the role table
 * (s_commands) that the shell enforces; see provider.c. */
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
#include "hv_vault.h"
#include "hv_worker.h"
#include "provider.h"

/* Who sees an item: a caseworker those assigned to them (or all, by
 * config); everyone the role table lets in at all, the rest. */
static const char s_visible_sql[] = "assigned_to = ?2";

static bool s_sees_all(hv_worker *w, const hv_actor *a)
{
    return a->role != HV_ACTOR_CASEWORKER || hv_worker_cfg(w)->all_caseworkers_see_all;
}

static bool s_sees(hv_worker *w, const hv_actor *a, const pv_item *it)
{
    return s_sees_all(w, a) || strcmp(it->assigned_to, a->staff) == 0;
}

bool pv_may_see(hv_worker *w, const hv_actor *a, const uint8_t id[16])
{
    if (a->role == HV_ACTOR_ADMIN)
        return false;
    pv_item it;
    if (pv_load(w, id, &it) != HV_OK)
        return false;
    bool sees = s_sees(w, a, &it);
    pv_item_free(&it);
    return sees;
}

/* An open offer's deadline, for the events that concern it. */
bool pv_answer_by(hv_worker *w, const uint8_t id[16], uint64_t *when)
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
static hv_err s_find(hv_worker *w, const hv_actor *a, json_t *args, pv_item *it, hv_errmsg *e)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    if (id == NULL)
        return hv_fail(e, HV_EINVAL, "\"id\" is required");
    uint8_t rid[16];
    hv_err err = hv_worker_find_visible(w, "offers", id,
                                        s_sees_all(w, a) ? NULL : s_visible_sql, a->staff, rid,
                                        e);
    if (err == HV_OK)
        err = pv_load(w, rid, it);
    if (err == HV_OK && !s_sees(w, a, it)) {
        pv_item_free(it);
        err = hv_fail(e, HV_ENOTFOUND, "no referral %s here", id);
    }
    return err;
}

static hv_err s_accept(hv_worker *w, const hv_actor *a, pv_item *it, json_t *args, char **text,
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
        err = pv_offer_state(w, it, "accepted", a->by, "");
    if (err == HV_OK)
        hv_strcat(text, "accepted; %s will be told, and the case comes from %s\n", it->router,
                  it->intake);
    return err;
}

/* A note longer than a message carries is refused, never cut short. */
static hv_err s_note_fits(const char *note, hv_errmsg *e)
{
    size_t len = note != NULL ? strlen(note) : 0;
    return len <= HV_MSG_TEXT_MAX ? HV_OK
                                  : hv_fail(e, HV_ETOOBIG, "the note is %zu bytes; a note may "
                                            "be at most %u bytes: shorten it", len,
                                            HV_MSG_TEXT_MAX);
}

static hv_err s_decline(hv_worker *w, const hv_actor *a, pv_item *it, json_t *args, char **text,
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
    if (s_note_fits(note, e) != HV_OK)
        return HV_ETOOBIG;
    if (strcmp(it->offer_state, "offered") != 0)
        return hv_fail(e, HV_EPROTO, "the offer is %s; only an open offer can be declined",
                       it->offer_state);
    /* PROTOCOL §9.1: the router is told the code; the note is sealed to
     * the intake the offer named, which alone reads it. Not kept here
     * either: this agency declined, so it keeps nothing about the person. */
    hv_msg m = {.type = HV_MSG_DECLINE, .at = (uint64_t)time(NULL)};
    snprintf(m.code, sizeof m.code, "%s", code);
    uint8_t sealed[HV_NOTE_SEALED_MAX];
    hv_err err = HV_OK;
    if (note != NULL && note[0] != '\0') {
        const hv_node *intake = hv_registry_find(hv_worker_registry(w), it->intake);
        if (intake == NULL)
            return hv_fail(e, HV_EUNROUTABLE, "%s, the offer's intake, is not in the registry: "
                           "decline without a note", it->intake);
        err = hv_note_seal(hv_worker_keys(w), hv_worker_self(w), intake, it->id, note, sealed,
                           sizeof sealed, &m.sealed_len);
        if (err != HV_OK)
            return hv_fail(e, err, "cannot seal the note to %s", it->intake);
        m.sealed = sealed;
    }
    err = hv_worker_send(w, it->router, it->id, &m, HV_TTL_MAX, NULL);
    hv_memzero(sealed, sizeof sealed);
    char detail[HV_MSG_CODE_MAX + 48];
    snprintf(detail, sizeof detail, "%s%s", code,
             m.sealed_len > 0 ? " (note sealed to the intake)" : "");
    if (err == HV_OK)
        err = pv_offer_state(w, it, "declined", a->by, detail);
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

static hv_err s_status(hv_worker *w, const hv_actor *a, pv_item *it, json_t *args, char **text,
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
    if (s_note_fits(note, e) != HV_OK)
        return HV_ETOOBIG;
    if (!s_status_allowed(it->case_state, state))
        return hv_fail(e, HV_EPROTO, "the case is %s; it cannot become %s", it->case_state,
                       state);
    pv_hold h;
    if (pv_hold_get(w, it->id, &h) == HV_OK && h.erase_asked)
        return hv_fail(e, HV_EPROTO, "consent was withdrawn: the case is kept only under the "
                       "legal hold (%s), and no more is reported on it", h.basis);
    hv_msg m = {.type = HV_MSG_STATUS, .at = (uint64_t)time(NULL)};
    snprintf(m.code, sizeof m.code, "%s", state);
    snprintf(m.text, sizeof m.text, "%s", note ? note : "");
    hv_err err = hv_worker_send(w, it->intake, it->id, &m, HV_TTL_MAX, NULL);
    if (err == HV_OK)
        err = pv_case_state(w, it, state, a->by, m.text);
    if (err == HV_OK)
        hv_strcat(text, "status %s sent to %s\n", state, it->intake);
    return err;
}

/* An inbox entry's row; `outbox` says whether a message about it (an
 * answer, a receipt, a status) still waits in the outbox for the broker
 * ("waiting") or none does ("sent"). */
static json_t *s_item_json(hv_worker *w, const pv_item *it)
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
        json_object_set_new(row, "outbox",
                            json_string(hv_worker_outbox_waiting(w, it->id) ? "waiting" : "sent"));
    }
    pv_hold h;
    if (row != NULL && pv_hold_get(w, it->id, &h) == HV_OK)
        json_object_set_new(row, "hold", pv_hold_json(&h));
    /* A withdrawn or expired case says what is gone and when, in place of
     * the case. */
    if (row != NULL && it->erased != 0) {
        char erased_at[21];
        hv_time_format(it->erased, erased_at);
        json_error_t jerr;
        json_object_set_new(row, "erased_at", json_string(erased_at));
        json_object_set_new(row, "erased", json_loads(PV_ERASED_JSON, 0, &jerr));
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
        pv_item it;
        if (pv_load(w, sqlite3_column_blob(st, 0), &it) != HV_OK)
            continue;
        json_array_append_new(list, s_item_json(w, &it));
        char ref[33];
        hv_ref_hex(it.id, ref);
        const hv_summary *s = &it.offer->summary;
        hv_strcat(text, "%-32s  %-9s  %-11s  %-14s  %-9s  %-14s  %s%s\n", ref, it.offer_state,
                  it.has_case ? it.case_state : "-", hv_service_name(s->service),
                  hv_urgency_name(s->urgency), it.assigned_to[0] ? it.assigned_to : "-",
                  hv_age_band_name(s->age_band), s->minor ? " (minor)" : "");
        if (s->people > 1)
            hv_strcat(text, "%-32s  group of %u\n", "", s->people);
        pv_item_free(&it);
    }
    sqlite3_finalize(st);
    /* "inbox" is the name older clients read; "items" the API's. */
    *result = json_pack("{s:O, s:o, s:I, s:I, s:I}", "inbox", list, "items", list, "total",
                        (json_int_t)total, "limit", (json_int_t)q.limit, "offset",
                        (json_int_t)q.offset);
    return HV_OK;
}

static hv_err s_show(hv_worker *w, pv_item *it, json_t *args, json_t **result, char **text,
                     bool export_case, hv_errmsg *e)
{
    (void)args;
    json_t *row = s_item_json(w, it);
    const hv_summary *s = &it->offer->summary;
    char ref[33], by[24];
    hv_ref_hex(it->id, ref);
    hv_time_human(it->respond_by, by);
    if (!export_case) {
        hv_strcat(text, "referral %s\n  offer:    %s (answer by %s)\n  case:     %s\n"
                  "  from:     %s via %s\n  service:  %s, urgency %s\n  person:   %s, %s%s, "
                  "speaks",
                  ref, it->offer_state, by,
                  it->has_case ? it->case_state : it->erased ? "erased" : "not received",
                  it->intake, it->router, hv_service_name(s->service),
                  hv_urgency_name(s->urgency), hv_sex_name(s->sex), hv_age_band_name(s->age_band),
                  s->minor ? " (minor)" : "");
        for (unsigned i = 0; i < s->n_languages; i++)
            hv_strcat(text, " %s", s->languages[i]);
        hv_strcat(text, "%s\n  region:   %s\n", s->interpreter ? ", needs an interpreter" : "",
                  s->region[0] ? s->region : "any");
        if (s->people > 1) { /* issue 21: placed together, sizes and bands only */
            hv_strcat(text, "  people:   group of %u (", s->people);
            for (unsigned i = 0; i < s->n_bands; i++)
                hv_strcat(text, "%s%s", i ? ", " : "", hv_age_band_name(s->bands[i]));
            hv_strcat(text, ")\n");
        }
        if (it->erased != 0) {
            char at[24];
            hv_time_human(it->erased, at);
            hv_strcat(text, "  erased:   the case file, its history and events, %s\n", at);
        }
        pv_hold h;
        if (pv_hold_get(w, it->id, &h) == HV_OK) {
            char at[24];
            hv_time_human(h.placed, at);
            hv_strcat(text, "  hold:     %s, placed %s by %s: %s%s\n", h.basis, at, h.placed_by,
                      h.reason, h.erase_asked ? "\n            (consent was withdrawn: "
                      "erased when the hold is released)" : "");
        }
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
        if (it->erased != 0)
            return hv_fail(e, HV_ENOTFOUND, "the case of referral %s was erased %s", ref,
                           strcmp(it->offer_state, "withdrawn") == 0
                               ? "on withdrawal"
                               : "at the end of its retention period");
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

static hv_err s_assign(hv_worker *w, const hv_actor *a, pv_item *it, json_t *args, char **text,
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

/* attachment.list {"id"}: the case's documents as they arrived. */
static hv_err s_attach_list(hv_worker *w, pv_item *it, json_t **result, char **text)
{
    if ((*result = hv_attach_list(hv_worker_db(w), it->id, false)) == NULL)
        return HV_ENOMEM;
    json_t *items = json_object_get(*result, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *d = json_array_get(items, i);
        const char *state = json_string_value(json_object_get(d, "state"));
        hv_strcat(text, "%lld  %s  %s  %lld bytes  %s", (long long)json_integer_value(
                      json_object_get(d, "n")), json_string_value(json_object_get(d, "name")),
                  json_string_value(json_object_get(d, "type")),
                  (long long)json_integer_value(json_object_get(d, "size")), state);
        if (strcmp(state, "incomplete") == 0)
            hv_strcat(text, " (chunks %lld of %lld)",
                      (long long)json_integer_value(json_object_get(d, "have")),
                      (long long)json_integer_value(json_object_get(d, "chunks")));
        const char *title = json_string_value(json_object_get(d, "title"));
        hv_strcat(text, "%s%s\n", title[0] ? "  " : "", title);
    }
    if (json_array_size(items) == 0)
        hv_strcat(text, "no documents\n");
    return HV_OK;
}

/* attachment.read {"id", "n", "offset", "length"}: up to 1 MiB of a
 * complete document, base64. */
static hv_err s_attach_read(hv_worker *w, pv_item *it, json_t *args, json_t **result,
                            hv_errmsg *e)
{
    json_t *n_j = json_object_get(args, "n"), *off_j = json_object_get(args, "offset");
    json_t *len_j = json_object_get(args, "length");
    if (!json_is_integer(n_j) || json_integer_value(n_j) < 1 ||
        json_integer_value(n_j) > HV_ATTACH_PER_CASE || !json_is_integer(off_j) ||
        json_integer_value(off_j) < 0 || !json_is_integer(len_j) ||
        json_integer_value(len_j) < 1 || json_integer_value(len_j) > HV_ATTACH_READ_MAX)
        return hv_fail(e, HV_EINVAL, "\"n\" (1 to %d), \"offset\" and \"length\" (1 to %u "
                       "bytes) are required", HV_ATTACH_PER_CASE, HV_ATTACH_READ_MAX);
    unsigned n = (unsigned)json_integer_value(n_j) - 1;
    uint8_t *buf = NULL;
    size_t len = 0;
    hv_err err = hv_attach_read(hv_worker_db(w), hv_worker_keys(w), it->id, n,
                                (uint64_t)json_integer_value(off_j),
                                (uint64_t)json_integer_value(len_j), &buf, &len);
    if (err == HV_ENOTFOUND)
        return hv_fail(e, HV_ENOTFOUND, "the case has no complete document %u", n + 1);
    if (err == HV_EINVAL)
        return hv_fail(e, HV_EINVAL, "the offset is past the end of document %u", n + 1);
    if (err != HV_OK)
        return err;
    char *b64 = hv_b64_encode(buf, len);
    hv_secure_free(buf);
    if (b64 == NULL)
        return HV_ENOMEM;
    *result = json_pack("{s:s, s:I}", "data", b64, "length", (json_int_t)len);
    hv_memzero(b64, strlen(b64));
    free(b64);
    return *result ? HV_OK : HV_ENOMEM;
}

/* The role table (the shell enforces it). */
#define R_HOST HV_ACTOR_BIT(HV_ACTOR_HOST)
#define R_CASEWORKER HV_ACTOR_BIT(HV_ACTOR_CASEWORKER)
#define R_SUPERVISOR HV_ACTOR_BIT(HV_ACTOR_SUPERVISOR)

enum s_cmd_id {
    S_LIST, S_SHOW, S_EXPORT, S_ACCEPT, S_DECLINE, S_STATUS, S_ASSIGN, S_EVENTS,
    S_HOLD, S_RELEASE, S_MESSAGE, S_ATTACH_LIST, S_ATTACH_READ,
};

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
    {"case.hold", R_HOST | R_SUPERVISOR, S_HOLD},
    {"case.release", R_HOST | R_SUPERVISOR, S_RELEASE},
    {"message.send", R_HOST | R_CASEWORKER | R_SUPERVISOR, S_MESSAGE},
    {"message.list", R_HOST | R_CASEWORKER | R_SUPERVISOR, S_MESSAGE},
    {"message.read", R_HOST | R_CASEWORKER | R_SUPERVISOR, S_MESSAGE},
    {"attachment.list", R_HOST | R_CASEWORKER | R_SUPERVISOR, S_ATTACH_LIST},
    {"attachment.read", R_HOST | R_CASEWORKER | R_SUPERVISOR, S_ATTACH_READ},
};

static const struct s_command *s_command(const char *cmd)
{
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(s_commands[i].name, cmd) == 0)
            return &s_commands[i];
    return NULL;
}

unsigned pv_command_roles(const char *cmd)
{
    const struct s_command *c = s_command(cmd);
    return c ? c->roles : 0;
}

hv_err pv_on_control(hv_worker *w, const hv_actor *a, const char *cmd, json_t *args,
                           json_t **result, char **text, hv_errmsg *e)
{
    const struct s_command *c = s_command(cmd);
    if (c == NULL || c->id == S_EVENTS || !(c->roles & HV_ACTOR_BIT(a->role)))
        return hv_fail(e, HV_EFORBIDDEN, "'%s' is not for a %s here", cmd,
                       hv_actor_role_name(a->role)); /* the shell checked already */
    if (c->id == S_LIST)
        return s_list(w, a, args, result, text, e);
    pv_item it;
    hv_err err = s_find(w, a, args, &it, e);
    if (err != HV_OK)
        return err;
    switch (c->id) {
    case S_SHOW: err = s_show(w, &it, args, result, text, false, e); break;
    case S_EXPORT: err = s_show(w, &it, args, result, text, true, e); break;
    case S_ACCEPT: err = s_accept(w, a, &it, args, text, e); break;
    case S_DECLINE: err = s_decline(w, a, &it, args, text, e); break;
    case S_STATUS: err = s_status(w, a, &it, args, text, e); break;
    case S_HOLD: err = pv_hold_place(w, a, &it, args, text, e); break;
    case S_RELEASE: err = pv_hold_release(w, a, &it, text, e); break;
    case S_MESSAGE: /* hv_casemsg.h: with the intake, about a case held here */
        if ((err = pv_messages_open(&it, e)) == HV_OK)
            err = hv_casemsg_control(w, cmd, it.id, it.intake, a->by, args, result, text, e);
        break;
    case S_ATTACH_LIST: err = s_attach_list(w, &it, result, text); break;
    case S_ATTACH_READ: err = s_attach_read(w, &it, args, result, e); break;
    default: err = s_assign(w, a, &it, args, text, e); break;
    }
    if (err == HV_OK && *result == NULL)
        *result = s_item_json(w, &it);
    pv_item_free(&it);
    return err;
}

