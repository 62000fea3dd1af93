/* haven-provider: legal holds (docs/REFERRAL.md "Lifecycle").
 *
 * A supervisor may place a legal hold on a case the agency must keep
 * whatever the person wishes (a legal obligation, legal claims, ...;
 * GDPR art. 17(3)), with a basis code and a reason. While it holds, the
 * retention does not erase the case, and a request to erase it (WITHDRAW:
 * consent withdrawn) is answered with LEGAL_HOLD, the basis and the
 * reason, end to end to the intake; the case stays. When the hold is
 * released after such a request, the case is erased and WITHDRAWN sent, as
 * the request would have had it.
 *
 * The holds table (in provider.c's schema) keeps the basis in clear (a code) and the reason sealed
 * under the node's storage key (hv_vault_seal_note): it may name
 * proceedings that concern the person. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_history.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "hv_vault.h"
#include "provider.h"

hv_err pv_hold_get(hv_worker *w, const uint8_t id[16], pv_hold *h)
{
    memset(h, 0, sizeof *h);
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT basis, reason, placed_by, placed_s, erase_asked FROM holds "
                              "WHERE id = ?1",
                              "r", id);
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    hv_err err = rc == SQLITE_ROW ? HV_OK : rc == SQLITE_DONE ? HV_ENOTFOUND : HV_ESTORE;
    if (err == HV_OK) {
        hv_sql_text(st, 0, h->basis, sizeof h->basis);
        hv_sql_text(st, 2, h->placed_by, sizeof h->placed_by);
        h->placed = (uint64_t)sqlite3_column_int64(st, 3);
        h->erase_asked = sqlite3_column_int(st, 4) != 0;
        char *reason = NULL;
        if (hv_vault_open_note(hv_worker_keys(w), id, sqlite3_column_blob(st, 1),
                               (size_t)sqlite3_column_bytes(st, 1), &reason) == HV_OK)
            snprintf(h->reason, sizeof h->reason, "%s", reason);
        else
            snprintf(h->reason, sizeof h->reason, "(the reason does not open)");
        hv_secure_free(reason);
    }
    sqlite3_finalize(st);
    return err;
}

json_t *pv_hold_json(const pv_hold *h)
{
    char at[21];
    hv_time_format(h->placed, at);
    return json_pack("{s:s, s:s, s:s, s:s, s:b}", "basis", h->basis, "reason", h->reason,
                     "placed_by", h->placed_by, "placed_at", at, "erasure_requested",
                     h->erase_asked);
}

/* The list of bases, for an error. */
static void s_bases(char *out, size_t n)
{
    out[0] = '\0';
    for (int i = 0; hv_hold_bases[i]; i++)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? ", " : "", hv_hold_bases[i]);
}

hv_err pv_hold_place(hv_worker *w, const hv_actor *a, pv_item *it, json_t *args, char **text,
                     hv_errmsg *e)
{
    const char *basis = json_string_value(json_object_get(args, "basis"));
    const char *reason = json_string_value(json_object_get(args, "reason"));
    if (basis == NULL || !hv_hold_basis_valid(basis)) {
        char list[160];
        s_bases(list, sizeof list);
        return hv_fail(e, HV_EINVAL, "a basis is required, one of: %s", list);
    }
    if (reason == NULL || reason[0] == '\0')
        return hv_fail(e, HV_EINVAL, "a reason is required: what obliges the agency to keep "
                       "the case");
    if (strlen(reason) > HV_MSG_TEXT_MAX)
        return hv_fail(e, HV_ETOOBIG, "the reason is %zu bytes; it may be at most %u bytes: "
                       "shorten it", strlen(reason), HV_MSG_TEXT_MAX);
    if (!it->has_case)
        return hv_fail(e, HV_EPROTO, "no case is held for this referral%s",
                       it->erased ? " (it was erased)" : "");
    pv_hold h;
    hv_err err = pv_hold_get(w, it->id, &h);
    if (err == HV_OK)
        return hv_fail(e, HV_EEXIST, "the case is already under a legal hold (%s, placed by "
                       "%s): release it first to change it", h.basis, h.placed_by);
    if (err != HV_ENOTFOUND)
        return err;
    uint8_t *sealed = NULL;
    size_t len = 0;
    if ((err = hv_vault_seal_note(hv_worker_keys(w), it->id, reason, &sealed, &len)) != HV_OK)
        return err;
    err = hv_sql_exec(hv_worker_db(w),
                      "INSERT INTO holds (id, basis, reason, placed_by, placed_s) VALUES "
                      "(?1, ?2, ?3, ?4, ?5)",
                      "rtxti", it->id, basis, sealed, len, a->by, (int64_t)time(NULL));
    free(sealed);
    char detail[HV_MSG_TEXT_MAX + 64];
    snprintf(detail, sizeof detail, "legal hold placed (%s): %s", basis, reason);
    if (err == HV_OK)
        err = hv_history_add(w, it->id, "legal_hold", a->by, detail);
    if (err == HV_OK)
        hv_strcat(text, "legal hold placed (%s); the case is kept until it is released\n",
                  basis);
    return err;
}

hv_err pv_hold_release(hv_worker *w, const hv_actor *a, pv_item *it, char **text, hv_errmsg *e)
{
    pv_hold h;
    hv_err err = pv_hold_get(w, it->id, &h);
    if (err == HV_ENOTFOUND)
        return hv_fail(e, HV_ENOTFOUND, "the case is not under a legal hold");
    if (err != HV_OK)
        return err;
    if ((err = hv_sql_exec(hv_worker_db(w), "DELETE FROM holds WHERE id = ?1", "r", it->id)) !=
            HV_OK ||
        (err = hv_history_add(w, it->id, "hold_released", a->by, "legal hold released")) !=
            HV_OK)
        return err;
    if (!h.erase_asked) {
        hv_strcat(text, "legal hold released; the case's retention applies again\n");
        return HV_OK;
    }
    /* The person's withdrawal waited for the hold: it is carried out now. */
    if ((err = pv_erase_case(w, it, a->by, "withdrawn",
                             "case erased: the legal hold was released and the intake had "
                             "asked for erasure")) != HV_OK)
        return err;
    hv_msg ok = {.type = HV_MSG_WITHDRAWN, .at = (uint64_t)time(NULL)};
    if ((err = hv_worker_send(w, it->intake, it->id, &ok, HV_TTL_MAX, NULL)) == HV_OK)
        hv_strcat(text, "legal hold released; the case was erased, as %s had asked, and "
                  "WITHDRAWN sent\n", it->intake);
    return err;
}

hv_err pv_hold_answer(hv_worker *w, pv_item *it, const char *from, bool *held)
{
    pv_hold h;
    hv_err err = pv_hold_get(w, it->id, &h);
    *held = err == HV_OK;
    if (err == HV_ENOTFOUND)
        return HV_OK;
    if (err != HV_OK)
        return err;
    hv_msg m = {.type = HV_MSG_LEGAL_HOLD, .at = (uint64_t)time(NULL)};
    snprintf(m.code, sizeof m.code, "%s", h.basis);
    snprintf(m.text, sizeof m.text, "%s", h.reason);
    if ((err = hv_sql_exec(hv_worker_db(w), "UPDATE holds SET erase_asked = 1 WHERE id = ?1",
                           "r", it->id)) == HV_OK &&
        (err = hv_worker_send(w, from, it->id, &m, HV_TTL_MAX, NULL)) == HV_OK)
        err = hv_history_add(w, it->id, "erasure_held", from,
                             "erasure asked for (consent withdrawn); kept under the legal hold, "
                             "which the intake was told");
    hv_memzero(&m, sizeof m);
    hv_memzero(&h, sizeof h);
    return err;
}
