/* The case at the intake (issue 21): a referral file of version 2 asks for
 * up to eight services for one person or family under one consent record.
 * Submission (intake_ctl.c) makes one referral per service, each with its
 * own offer and lifecycle, all under one case id (the referrals' case_id
 * column); this file answers case.show. See docs/CONTROL.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_json.h"
#include "hv_registry.h"
#include "hv_sql.h"
#include "hv_vault.h"
#include "hv_worker.h"
#include "intake.h"

/* The case whose id starts with `prefix` (6 to 32 hex digits) among the
 * referrals `a` may see: another's case is not found, like a missing one. */
static hv_err s_find_case(hv_worker *w, const hv_actor *a, const char *prefix, uint8_t out[16],
                          hv_errmsg *e)
{
    size_t n = prefix ? strlen(prefix) : 0;
    if (n < 6 || n > 32 || strspn(prefix, "0123456789abcdefABCDEF") != n)
        return hv_fail(e, HV_EINVAL, "\"case\" must be a case id (6 to 32 hex digits)");
    char pattern[40];
    snprintf(pattern, sizeof pattern, "%s%%", prefix);
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id, coalesce(case_id, id) FROM referrals WHERE "
                              "hex(coalesce(case_id, id)) LIKE ?1 ORDER BY created_s, id",
                              "t", pattern);
    if (st == NULL)
        return HV_ESTORE;
    unsigned found = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!in_may_see(w, a, sqlite3_column_blob(st, 0)))
            continue;
        const uint8_t *cs = sqlite3_column_blob(st, 1);
        if (found > 0 && memcmp(out, cs, 16) == 0)
            continue;
        if (found++ == 0)
            memcpy(out, cs, 16);
    }
    sqlite3_finalize(st);
    if (found == 0)
        return hv_fail(e, HV_ENOTFOUND, "no case %s here", prefix);
    if (found > 1)
        return hv_fail(e, HV_EINVAL, "'%s' names more than one case: give more digits", prefix);
    return HV_OK;
}

/* The number of people the case's file names (the subject and the family
 * members), read from the sealed file of one of its referrals; 0 when it
 * is gone (erased). */
static unsigned s_people(hv_worker *w, const uint8_t referral[16])
{
    uint8_t *text = NULL;
    size_t len = 0;
    if (hv_vault_get(hv_worker_db(w), hv_worker_keys(w), referral, &text, &len) != HV_OK)
        return 0;
    hv_json *root = NULL;
    hv_json_error jerr;
    unsigned people = 0;
    if (hv_json_parse((const char *)text, len, &root, &jerr) == HV_OK) {
        const hv_json *fm = hv_json_get(root, "family_members");
        people = 1 + (fm && fm->type == HV_JSON_ARRAY ? (unsigned)fm->n : 0);
    }
    hv_json_free(&root);
    hv_secure_free(text);
    return people;
}

hv_err in_case_show(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                    char **text, hv_errmsg *e)
{
    uint8_t cs[16];
    hv_err err = s_find_case(w, a, json_string_value(json_object_get(args, "case")), cs, e);
    if (err != HV_OK)
        return err;
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT id FROM referrals WHERE coalesce(case_id, id) = ?1 "
                              "ORDER BY created_s, id",
                              "r", cs);
    if (st == NULL)
        return HV_ESTORE;
    json_t *services = json_array();
    unsigned people = 0;
    char hex[33];
    hv_ref_hex(cs, hex);
    char body[2048] = "";
    size_t used = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        in_ref r;
        if (!in_may_see(w, a, sqlite3_column_blob(st, 0)) ||
            in_load(w, sqlite3_column_blob(st, 0), &r) != HV_OK)
            continue;
        if (people == 0)
            people = s_people(w, r.id);
        char ref[33], updated[21];
        hv_ref_hex(r.id, ref);
        hv_time_format(r.updated, updated);
        json_array_append_new(services,
                              json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", ref, "service",
                                        hv_service_name(r.service), "state", r.state,
                                        "provider", r.provider, "updated", updated));
        if (used < sizeof body)
            used += (size_t)snprintf(body + used, sizeof body - used,
                                     "  %-32s  %-14s  %-18s  %-14s  %s\n", ref,
                                     hv_service_name(r.service), r.state,
                                     r.provider[0] ? r.provider : "-", updated);
    }
    sqlite3_finalize(st);
    *result = json_pack("{s:s, s:I, s:o}", "case_id", hex, "people", (json_int_t)people,
                        "services", services);
    if (*result == NULL)
        return HV_ENOMEM;
    hv_strcat(text, "case %s: %u %s, %zu service%s\n  %-32s  %-14s  %-18s  %-14s  %s\n%s",
              hex, people, people == 1 ? "person" : "people", json_array_size(services),
              json_array_size(services) == 1 ? "" : "s", "REFERRAL", "SERVICE", "STATE",
              "PROVIDER", "UPDATED", body);
    return HV_OK;
}
