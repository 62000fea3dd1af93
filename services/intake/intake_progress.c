/* What the intake is told about each offer of its referrals (PROGRESS,
 * PROTOCOL.md §9 "PROGRESS"): offered to a provider, declined with a reason code,
 * not answered by the offer's deadline, an offer withdrawn. Each one goes
 * into the referral's history in the order it came, between the states,
 * so that `haven referral show` reads as the referral went, and into the
 * table below for programs (referral.show "progress"). Codes and node
 * ids only: the router never holds more. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hv_history.h"
#include "hv_log.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "intake.h"

/* For people: what each decline code means. */
static const struct {
    const char *code; /* hv_decline_codes */
    const char *text; /* what the caseworker reads */
} s_declines[] = {
    {"no_capacity", "no places"},
    {"not_suitable", "not suitable for the person"},
    {"language", "no common language"},
    {"region", "does not serve the region"},
    {"minors", "does not take minors"},
    {"other", "another reason"},
};

static const char *s_decline_text(const char *code)
{
    for (size_t i = 0; i < sizeof s_declines / sizeof s_declines[0]; i++)
        if (strcmp(s_declines[i].code, code) == 0)
            return s_declines[i].text;
    return "a reason";
}

hv_err in_progress_on_message(hv_worker *w, const in_ref *r, const hv_envelope *env,
                              const hv_msg *m, hv_errmsg *e)
{
    if (strcmp(env->from, r->router) != 0)
        return hv_fail(e, HV_EFORBIDDEN, "only %s may report this referral's offers", r->router);
    char detail[HV_NODE_ID_MAX + 160], by[21];
    if (strcmp(m->code, "offered") == 0) {
        hv_time_format(m->respond_by, by);
        snprintf(detail, sizeof detail, "offered to %s, answer due by %s", m->node, by);
    } else if (strcmp(m->code, "declined") == 0) {
        snprintf(detail, sizeof detail, "declined by %s: %s (%s)", m->node,
                 s_decline_text(m->reason), m->reason);
    } else if (strcmp(m->code, "not_answered") == 0) {
        snprintf(detail, sizeof detail, "not answered by %s by the offer's deadline", m->node);
    } else {
        snprintf(detail, sizeof detail, "offer to %s withdrawn (%s)", m->node, m->reason);
    }
    /* After the referral ended (a late report, a withdrawal at cancel)
     * it is recorded all the same: it is what happened. */
    hv_err err = hv_sql_exec(hv_worker_db(w),
                             "INSERT INTO progress (referral, at_s, event, provider, code, "
                             "respond_by, received_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                             "ritttii", r->id, (int64_t)m->at,
                             m->code, m->node, m->reason, (int64_t)m->respond_by,
                             (int64_t)time(NULL));
    if (err == HV_OK)
        err = hv_history_add_progress(w, r->id, m->code, env->from, detail, m->reason);
    if (err == HV_OK) {
        char ref[33];
        hv_ref_hex(r->id, ref);
        hv_log(HV_LOG_INFO, "referral_progress", "referral=%s event=%s provider=%s code=%s",
               ref, m->code, m->node, m->reason[0] ? m->reason : "-");
    }
    return err;
}

json_t *in_progress_json(hv_worker *w, const uint8_t referral[16])
{
    json_t *list = json_array();
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT at_s, event, provider, code, respond_by FROM progress "
                              "WHERE referral = ?1 ORDER BY seq",
                              "r", referral);
    while (list != NULL && st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        char at[21], by[21], event[HV_MSG_CODE_MAX + 1], code[HV_MSG_CODE_MAX + 1],
            provider[HV_NODE_ID_MAX + 1];
        hv_time_format((uint64_t)sqlite3_column_int64(st, 0), at);
        hv_sql_text(st, 1, event, sizeof event);
        hv_sql_text(st, 2, provider, sizeof provider);
        hv_sql_text(st, 3, code, sizeof code);
        uint64_t respond_by = (uint64_t)sqlite3_column_int64(st, 4);
        hv_time_format(respond_by, by);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:o, s:o}", "at", at, "event",
                                              event, "provider", provider, "code",
                                              code[0] ? json_string(code) : json_null(),
                                              "respond_by",
                                              respond_by ? json_string(by) : json_null()));
    }
    sqlite3_finalize(st);
    return list;
}

hv_err in_progress_erase(sqlite3 *db, const uint8_t referral[16])
{
    return hv_sql_exec(db, "DELETE FROM progress WHERE referral = ?1", "r", referral);
}
