/* A worker's metrics (issue 23): what an operator needs to see that an
 * intake's outbox has not drained for hours, that a provider has offers
 * waiting for an answer, that messages are being refused. Served in the
 * Prometheus text format on a loopback HTTP endpoint of the worker's own
 * ([metrics] bind = 127.0.0.1:PORT, off by default; a token is required
 * for any other address, as for the broker's [http]), from a snapshot the
 * worker's loop makes once a second (common/hv_httpd.h).
 *
 * Families (labels node and role on each; docs/OPERATIONS.md lists them):
 *   haven_worker_broker_up, haven_worker_outbox_depth,
 *   haven_worker_outbox_oldest_age_seconds, haven_worker_referrals{state},
 *   haven_worker_offers_pending, haven_worker_offer_answer_by_seconds,
 *   haven_worker_erasures_total, haven_worker_errors_total{kind},
 *   haven_build_info, process_*.
 * No case content and no person in any label: node ids are organisations,
 * states and kinds are fixed words.
 *
 * The shell (hv_worker.c) owns the one hv_worker_metrics and reports to it;
 * one thread, nothing locked but the HTTP snapshot. */
#ifndef HV_WORKER_METRICS_H
#define HV_WORKER_METRICS_H

#include <sqlite3.h>
#include <stdint.h>

#include "hv_client.h"
#include "hv_err.h"
#include "hv_httpguard.h"
#include "hv_registry.h"

/* What went wrong, for haven_worker_errors_total{kind}. Every kind is
 * always exported, at 0 until it happens. */
typedef enum hv_worker_error {
    HV_WERR_MESSAGE_REFUSED = 0, /* a message refused (NACK): bad sender, signature, body... */
    HV_WERR_MESSAGE_DEFERRED,    /* a message left for redelivery: the store or memory failed */
    HV_WERR_UNDELIVERABLE,       /* the broker's notice: a message we sent expired or died */
    HV_WERR_CONTROL_REFUSED,     /* a control request refused (any code) */
    HV_WERR_STORE,               /* a store commit failed (the worker stops) */
    HV_WERR_AUDIT,               /* an audit record could not be written */
    HV_WERR_COUNT
} hv_worker_error;

typedef struct hv_worker_metrics hv_worker_metrics;

/* What the snapshot reads; borrowed for the call. */
typedef struct hv_worker_metrics_src {
    const char *node;        /* this worker's node id */
    const char *role;        /* its role's name */
    const char *program;     /* e.g. "haven-intake" */
    sqlite3 *db;             /* its store */
    const hv_client *client; /* its broker connection and outbox */
    const char *states_sql;  /* rows (state, count) of its referrals, or NULL */
    const char *offers_sql;  /* one row (count, soonest answer-by in Unix s), or NULL */
    const hv_registry *reg;  /* the registry in use, for /healthz; NULL: not told */
    const char *overdue_sql; /* one row (count of referrals past a deadline), or NULL */
} hv_worker_metrics_src;

/* Checks [metrics] `bind`, `token` and `limits` (NULL: the defaults)
 * without binding (-n); "" bind is off and valid. Returns HV_OK or
 * HV_ECONFIG. */
HV_MUST_CHECK hv_err hv_worker_metrics_check(const char *bind, const char *token,
                                             const hv_http_limits *limits, hv_errmsg *e);

/* Makes the counters and, when `bind` is not "", starts serving within
 * `limits` (borrowed for the call; NULL: the defaults). Caller owns
 * `*out`. Returns HV_OK, HV_ECONFIG, HV_ENOMEM, HV_EIO. */
HV_MUST_CHECK hv_err hv_worker_metrics_open(hv_worker_metrics **out, const char *bind,
                                            const char *token, const hv_http_limits *limits,
                                            hv_errmsg *e);

/* Counts one error of `kind`; safe on NULL. */
void hv_worker_metrics_error(hv_worker_metrics *m, hv_worker_error kind);

/* Counts `n` erasures (a case's or a draft's key destroyed and its rows
 * deleted) that were committed; safe on NULL. */
void hv_worker_metrics_erased(hv_worker_metrics *m, unsigned n);

/* The Prometheus text now; the caller owns it (NULL when out of memory). */
char *hv_worker_metrics_text(hv_worker_metrics *m, const hv_worker_metrics_src *src);

/* Hands the HTTP thread a fresh snapshot once a second (monotonic `now`
 * ms) and tells /healthz the registry in `src->reg`, so that a worker's
 * /healthz degrades and fails on the registry's expiry as the broker's
 * does (common/hv_httpd.h); does nothing when not serving. */
void hv_worker_metrics_publish(hv_worker_metrics *m, const hv_worker_metrics_src *src,
                               int64_t now);

/* Stops serving and frees; safe on NULL and twice. */
void hv_worker_metrics_close(hv_worker_metrics **m);

#endif
