/* The filters and paging of `referral.list` and `inbox.list` (the staff
 * API's lists): state, service, country, assigned_to, since, until, q,
 * limit, offset. Parsed strictly: an unknown member or a bad value is
 * HV_EINVAL, never ignored. */
#ifndef HV_LISTQ_H
#define HV_LISTQ_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_audit.h"
#include "hv_err.h"

#define HV_LISTQ_LIMIT_MAX 200
#define HV_LISTQ_LIMIT_DEFAULT 50
#define HV_LISTQ_Q_MAX 64

/* A list request. Plain data; "" and -1 mean "any". */
typedef struct hv_listq {
    char state[32];                     /* a state, or "" */
    int service;                        /* an hv_service, or -1 */
    char country[3];                    /* a country code, or "" */
    char assigned_to[HV_STAFF_MAX + 1]; /* a staff name, or "" */
    bool unassigned;                    /* assigned_to was "" (nobody) */
    bool by_assignee;                   /* assigned_to was given */
    uint64_t since, until;              /* created in [since, until); 0 for open */
    char q[HV_LISTQ_Q_MAX + 1];         /* a text in the organisation's reference, or "" */
    int64_t limit, offset;              /* the page */
} hv_listq;

/* Reads `args` (borrowed; members other than the filters above, and the
 * names in `extra` (NULL-terminated, may be NULL), are errors). Dates are
 * "YYYY-MM-DD" (until: that whole day) or "YYYY-MM-DDTHH:MM:SSZ".
 * Returns HV_OK or HV_EINVAL with the reason in `e`. */
HV_MUST_CHECK hv_err hv_listq_parse(const json_t *args, const char *const *extra, hv_listq *out,
                                    hv_errmsg *e);

/* True when `s` may be an organisation's reference: 1..64 bytes, no
 * control characters. */
bool hv_listq_reference_valid(const char *s);

#endif
