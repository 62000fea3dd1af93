/* The referral file: a caseworker's JSON description of a person and of
 * what they need, with their consent. Schema: docs/REFERRAL.md and
 * docs/referral.schema.json.
 *
 * Checking collects every error at once, each with its JSON path, line and
 * column and what was expected, so that a caseworker fixes the file in one
 * pass. A valid file yields the non-identifying summary that the router
 * sees; everything else stays with the intake and the accepting provider. */
#ifndef HV_REFERRAL_H
#define HV_REFERRAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "hv_err.h"
#include "hv_json.h"
#include "hv_msg.h"

#define HV_REFERRAL_SCHEMA "haven-referral/1"
#define HV_REFERRAL_ERRORS_MAX 64

/* One problem in a referral file. */
typedef struct hv_referral_error {
    char path[128];   /* JSON path, e.g. "subject.names[0].given", "" for the whole file */
    uint32_t line;    /* 1-based */
    uint32_t col;     /* 1-based, in bytes */
    char text[200];   /* what is wrong and what was expected */
} hv_referral_error;

/* The outcome of a check. Plain data; lives on the heap (it is large). */
typedef struct hv_referral_check {
    size_t n_errors;                         /* 0 when the file is valid */
    size_t n_more;                           /* errors beyond HV_REFERRAL_ERRORS_MAX */
    hv_referral_error errors[HV_REFERRAL_ERRORS_MAX]; /* in file order */
    hv_summary summary;                      /* valid file: what the router sees */
    bool consent_override;                   /* shared without consent, on the stated basis */
    uint8_t n_share;                         /* consent.share_with: services covered */
    uint8_t share[HV_SUMMARY_LIST_MAX];      /* hv_service values */
    uint8_t n_attachments;                   /* entries in attachments (issue 21) */
    struct {
        char file[256];                      /* path relative to the referral file */
        char title[201];                     /* the caseworker's title, may be "" */
    } attachments[8];                        /* the documents sent with the case */
} hv_referral_check;

/* Checks the text of a referral file at time `now` (Unix seconds; a
 * respond_by in the past is an error). Fills `out`. Returns HV_OK for a
 * valid file, HV_EJSON when there are errors (listed in `out`), HV_ETOOBIG
 * or HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_referral_check_text(const char *text, size_t len, uint64_t now,
                                            hv_referral_check *out);

/* True when the consent recorded in a valid file covers sharing the case
 * with a provider of service `svc`. */
bool hv_referral_consent_covers(const hv_referral_check *c, unsigned svc);

/* The summary as JSON, for displays (`haven pathway show`, the inbox).
 * Caller owns the result; NULL when out of memory. */
json_t *hv_summary_json(const hv_summary *s);

#endif
