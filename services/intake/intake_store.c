/* haven-intake: a submitted referral put in the store, apart from the
 * daemon so that bench/hv_bench_intake.c fills a store through the same
 * code (see intake.h). */
#include <string.h>

#include "hv_sql.h"
#include "hv_vault.h"
#include "intake.h"

hv_err in_store_new(sqlite3 *db, const hv_keyring *keys, const in_ref *r, const char *case_text,
                    size_t case_len)
{
    hv_err err = hv_vault_put(db, keys, r->id, (const uint8_t *)case_text, case_len);
    if (err != HV_OK)
        return err;
    return hv_sql_exec(db,
                       "INSERT INTO referrals (id, state, service, country, router, provider, "
                       "created_s, respond_by, updated_s, created_by, assigned_to, reference, "
                       "case_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                       "rtittiiiitttr", r->id, r->state, (int64_t)r->service, r->country,
                       r->router, r->provider, (int64_t)r->created, (int64_t)r->respond_by,
                       (int64_t)(r->updated ? r->updated : r->created), r->created_by,
                       r->assigned_to, r->reference, r->case_id);
}
